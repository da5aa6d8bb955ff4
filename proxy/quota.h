/*
 * quota: per-principal limits — request rate (token bucket), bandwidth per
 * direction (token bucket of bytes, enforced by pausing reads, never by
 * counting after the fact), concurrent requests.  Defaults come from the
 * config (quota_request_rate, quota_bandwidth, quota_connections; 0 = none);
 * the operator may override any of them per principal in the policy store
 * (struct policy_quota, carried with each credential lookup).  Each entry
 * holds the limits of its principal's latest request (quota_set_limits()),
 * so a changed override applies from that principal's next request on.
 *
 * Each worker keeps its own buckets.  Alone, it enforces the whole limits;
 * with other workers it shares rate and bandwidth with them through the
 * windows of quotashm.h (the same protocol as Redis's, below, in memory),
 * where the requests in flight are counted across workers too (auth.c); a
 * principal quotashm has no slot for gets each worker's share of every
 * limit.  Pure: callers pass the clock.
 *
 * Shared mode (quota_shared, policy_store redis; quotasync.c): request rate
 * and bandwidth are one budget for every worker of every instance.  Each
 * worker then runs its buckets at the full limits, counts what it spends
 * (sync_used), and every QUOTA_SYNC_MS adds that to per-second counters in
 * Redis and reads back the totals; quota_window_allowance() turns them into
 * what is left (allow), which gates the buckets until the next sync.
 * Overshoot bound: between two syncs each worker may spend past the shared
 * budget at most what it spends in one sync interval (plus the reply's
 * latency), which its own bucket caps at the limit's rate, or its burst for
 * an entry not yet synced.  A sliding estimate over two one-second windows
 * keeps any one-second span near the limit.  When Redis cannot be reached,
 * the workers fall back to the per-process share: quotas fail open.
 */
#ifndef S3GATE_QUOTA_H
#define S3GATE_QUOTA_H

#include <stdint.h>

struct policy_quota;

enum quota_dir { QUOTA_IN = 0, QUOTA_OUT = 1 };
/* What is shared: requests, bytes in, bytes out (QUOTA_KIND_BYTES + dir). */
enum quota_kind { QUOTA_KIND_REQ = 0, QUOTA_KIND_BYTES = 1, QUOTA_NKINDS = 3 };

#define QUOTA_SYNC_MS		100	/* shared mode: a batch to Redis this often per worker */
#define QUOTA_SHM_SYNC_MS	25	/* several workers: their shared windows this often (quotashm.h) */
/* a body whose shared allowance is out looks again this soon: a sync may have freed some */
#define QUOTA_GATED_WAIT_MS	25
#define QUOTA_SYNC_STALE	0.35	/* s: an entry's allowance older than this no longer gates */

struct quota_limits {
	double		 request_rate;	/* requests per second; 0: none */
	double		 bandwidth;	/* bytes per second and direction; 0: none */
	uint32_t	 connections;	/* concurrent requests; 0: none */
	int		 shared;	/* 1: rate and bandwidth are the whole budget, gated by allow[] */
};

struct quota_entry {
	struct quota_entry	*next;
	char			*principal;
	double			 req_tokens;
	double			 byte_tokens[2];
	double			 last;		/* seconds, monotonic */
	uint32_t		 active;	/* requests in flight */
	/* the principal's whole limits (config defaults, its overrides in their
	   place) as of its latest request; shared mode's budget */
	struct quota_limits	 whole;
	struct quota_limits	 limits;	/* what this worker enforces: WHOLE or its share */
	/* shared mode */
	uint64_t		 sync_used[QUOTA_NKINDS];	/* spent since the last batch was sent */
	double			 allow[QUOTA_NKINDS];	/* left of the shared budget at the last sync */
	double			 synced;	/* monotonic s of the last applied sync; 0 never */
	int			 touched;	/* used or asked for since the last batch */
	/*
	 * The workers' shared table had no slot for it at the last exchange:
	 * until one is found, this worker enforces its share, never the whole
	 * (else each worker would allow the whole, workers times over).
	 */
	int			 no_shared_slot;
};

#define QUOTA_SLOTS	1024

struct quota_table {
	struct quota_entry	*slots[QUOTA_SLOTS];
};

/*
 * OUT = DEFAULTS (the config's whole figures) with each field OVERRIDE sets
 * in its place (NULL: none).  OUT->shared is DEFAULTS'.
 */
void		 quota_limits_merge(struct quota_limits *out, const struct quota_limits *defaults,
		    const struct policy_quota *override);
/*
 * Whether the workers' shared table had a slot for Q at the last exchange
 * (FOUND): without one Q falls back to this worker's share of its whole
 * limits (no_shared_slot), with one it goes back to the shared budget.
 */
void		 quota_shared_slot(struct quota_entry *q, int found, int nworkers, double now);
/* 1 if L limits anything. */
int		 quota_limits_any(const struct quota_limits *);
/*
 * This worker's share of WHOLE: all of the rate and bandwidth when SHARED
 * (the budget is one for every worker, quotasync.c), else 1/NWORKERS of
 * them; concurrency always 1/NWORKERS, rounded up.
 */
void		 quota_limits_share(struct quota_limits *out, const struct quota_limits *whole,
		    int nworkers, int shared);

/* PRINCIPAL's entry, created with no limits (NULL if out of memory). */
struct quota_entry *quota_get(struct quota_table *, const char *principal, double now);
/*
 * Q's limits from now on: WHOLE, and this worker's share of it.  Tokens
 * gathered under the old limits are kept up to the new burst; a limit that
 * was none starts with a full burst.
 */
void		 quota_set_limits(struct quota_entry *, const struct quota_limits *whole,
		    int nworkers, int shared, double now);
/* 1 if a request may start now; else 0 and *retry_after (seconds) is set. */
int		 quota_take_request(struct quota_entry *, double now, double *retry_after);
/* Bytes that may move now in DIR (UINT64_MAX: no limit); 0 sets *wait (seconds). */
uint64_t	 quota_bytes_allowed(struct quota_entry *, enum quota_dir, double now, double *wait);
void		 quota_bytes_used(struct quota_entry *, enum quota_dir, uint64_t n);
void		 quota_table_free(struct quota_table *);

/* The whole budget per second of Q's principal for KIND (requests or bytes), overrides included. */
double		 quota_kind_limit(const struct quota_entry *, enum quota_kind);
/*
 * Shared mode: what may still be spent of LIMIT per second, given the
 * shared totals of this second (CUR, what was just added included) and of
 * the one before (PREV), FRAC (0..1) into this second: LIMIT minus the
 * sliding estimate CUR + PREV * (1 - FRAC), never below 0.
 */
double		 quota_window_allowance(double limit, double cur, double prev, double frac);
/*
 * Applies a sync's ALLOWANCE for KIND to Q at NOW: what was spent since
 * the batch left (sync_used) is already counted against it.
 */
void		 quota_sync_apply(struct quota_entry *, enum quota_kind, double allowance, double now);

#endif
