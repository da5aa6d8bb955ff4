/*
 * quotashm: the quota windows the workers of one s3gate share, in memory
 * mapped by the parent before they fork.
 *
 * With several workers, each runs its principals' buckets at the whole
 * rate and bandwidth and, every QUOTA_SHM_SYNC_MS, adds what it spent to the
 * principal's per-second counters here and reads the totals back: the
 * exchange quotasync.c makes with Redis (quota_shared), with the same
 * overshoot bound (quota.h), but in memory and at once.  So a principal's
 * single download gets its whole bandwidth whichever worker serves it, and
 * two of its downloads on two workers share it.  Redis sharing, when up,
 * spans instances and takes precedence for rate and bandwidth.
 *
 * Concurrency (quota_connections) is counted here exactly: each slot holds
 * the requests in flight per worker column, admitted under the slot's lock.
 * A worker that dies with requests in flight has its column cleared by the
 * parent (quotashm_forget_worker), so its counts do not outlive it.
 *
 * Links with a download budget (s3gate-admin presign --max-uses) count the
 * bytes they served here too, one counter per link that every worker adds
 * to as the bytes go out: a link allowed two downloads gets two per s3gate,
 * not two per worker, and keeps its count across a reload (the table
 * outlives the generations of workers).
 *
 * Two more things the workers count here, though they are not quotas:
 * each client address's open connections (max_connections_per_ip, under a
 * name no principal can have, server.c) and the file store's last
 * fingerprint (pstore_share_changes), so that a policy change one worker
 * finds is seen by all.
 *
 * Slots are found by a keyed 64-bit hash (SipHash) of the principal, address
 * or link id (open addressing, a short probe); a principal's slot nobody
 * counted in for two seconds is taken over, a link's a day after the link
 * expired.
 * Each slot has a spin lock held for a few instructions with no syscall
 * inside; should a worker die holding it, the others take it over after
 * QUOTASHM_SPIN_MAX tries rather than wait forever.
 */
#ifndef S3GATE_QUOTASHM_H
#define S3GATE_QUOTASHM_H

#include <stdint.h>

#include "proxy/quota.h"

/*
 * Principals with a quota and client addresses with connections open (one
 * slot per address or /64 under max_connections_per_ip: up to
 * max_connections, 10 000 by default) share the slots: 16 384 of 208 bytes,
 * 3.3 MiB of address space, touched as they are claimed.
 */
#define QUOTASHM_SLOTS		16384
#define QUOTASHM_PROBE		16
#define QUOTASHM_SPIN_MAX	100000
#define QUOTASHM_COLUMNS	64	/* workers beyond share columns (worker % 64) */

struct quotashm_slot {
	uint64_t	 key;		/* the principal's hash; 0: free */
	uint32_t	 lock;
	int64_t		 window[2];	/* the wall-clock second each row counts */
	uint64_t	 count[2][QUOTA_NKINDS];
	uint16_t	 active[QUOTASHM_COLUMNS];	/* requests in flight, per worker */
};

/*
 * Links: every budgeted link used in the last 8 days (7 of life at most and
 * a day's grace) holds a slot, 56 bytes: 3.5 MiB of address space, touched
 * as links come.  A principal has at most 1000 live links (ADMIN_MAX_LIVE_LINKS);
 * when no slot is free near a link's hash, its downloads are refused
 * (auth.c) rather than counted per worker.
 */
#define QUOTASHM_LINKS		65536
#define QUOTASHM_LINK_PROBE	64
#define QUOTASHM_LINK_GRACE	86400	/* seconds a link's count outlives the link */

struct quotashm_link {
	uint64_t	 key;		/* the link id's hash; 0: free */
	uint32_t	 lock;		/* held to claim, not to count */
	int64_t		 expires_at;	/* the link's end (wall clock) */
	uint64_t	 served;	/* bytes, added atomically */
	uint64_t	 object_size;	/* as the first response told; 0 unknown */
	uint64_t	 instances;	/* every instance's bytes, as a worker last read them from Redis */
	uint64_t	 reserved;	/* bytes of downloads under way not yet served (quotashm_link_reserve) */
};

struct quotashm {
	struct quotashm_slot	 slots[QUOTASHM_SLOTS];
	struct quotashm_link	 links[QUOTASHM_LINKS];
	/* not a quota: the workers' word for policy changes (pstore_share_changes) */
	uint64_t		 policy_changes;
	unsigned char		 hash_key[16];	/* quotashm_hash's, random */
};

/* A zeroed table in shared anonymous memory; NULL if it cannot be mapped. */
struct quotashm	*quotashm_new(void);
void		 quotashm_free(struct quotashm *);
/*
 * Adds ADD to PRINCIPAL's count of KIND in second WINDOW; *CUR is that
 * count after the add, *PREV the count of WINDOW - 1 (0 if none).  -1 when
 * no slot is free near the principal's (then nothing is shared for it).
 */
int		 quotashm_exchange(struct quotashm *, const char *principal,
		    enum quota_kind kind, int64_t window, uint64_t add,
		    uint64_t *cur, uint64_t *prev);
/*
 * WORKER below is the worker process's slot (server_place), unique among
 * the processes alive, draining ones included.
 *
 * Admits one more request of PRINCIPAL in flight on WORKER if all workers
 * together hold fewer than LIMIT: 1 admitted (counted), 0 refused, -1 when
 * no slot is free (then the caller counts it alone).  NOW: the wall-clock
 * second, to tell idle slots.
 */
int		 quotashm_admit(struct quotashm *, const char *principal, int worker,
		    uint32_t limit, int64_t now);
/* The request admitted on WORKER has ended. */
void		 quotashm_leave(struct quotashm *, const char *principal, int worker);
/* WORKER died: the requests it held in flight are forgotten. */
void		 quotashm_forget_worker(struct quotashm *, int worker);
/*
 * The shared byte count of link ID (ending at EXPIRES_AT; 0: never), claimed if
 * there is none yet; NULL when no slot is free near its hash (then, with
 * several workers, the link's downloads are refused).  NOW: the wall-clock second, to tell slots of
 * links long expired.
 */
struct quotashm_link *quotashm_link(struct quotashm *, const char *id, int64_t expires_at,
		    int64_t now);
/* Adds N served bytes to L; returns its total after the add (N 0: reads it). */
uint64_t	 quotashm_link_add(struct quotashm_link *, uint64_t n);
/*
 * The size of L's object: SIZE if none was known yet (0 learns nothing), the
 * size the first worker to learn it stored otherwise.
 */
uint64_t	 quotashm_link_size(struct quotashm_link *, uint64_t size);
/*
 * Every instance's bytes for L (quota_shared): raised to TOTAL, which one
 * worker just read from Redis, so that its peers know it too; returns the
 * highest known (TOTAL 0: reads it).
 */
uint64_t	 quotashm_link_instances(struct quotashm_link *, uint64_t total);
/*
 * Bytes of L's downloads under way that are not served yet: N more
 * reserved; returns the total after the add.  quotashm_link_release gives
 * back N (at most what is reserved).
 */
uint64_t	 quotashm_link_reserve(struct quotashm_link *, uint64_t n);
void		 quotashm_link_release(struct quotashm_link *, uint64_t n);

#endif
