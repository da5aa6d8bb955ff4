/*
 * server: one event loop and what it owns — listeners, the current
 * config, the policy store, the backend pool, counters, the admin
 * listener and the signals.  One per worker process.
 */
#ifndef S3GATE_SERVER_H
#define S3GATE_SERVER_H

#include <sys/queue.h>
#include <sys/socket.h>

#include <stdint.h>
#include <time.h>

#include <event2/event.h>
#include <event2/listener.h>

#include "proxy/conf.h"
#include "proxy/forward.h"
#include "proxy/quota.h"

struct conn;
struct pstore;
struct server_admin_conn;
struct quotasync;
struct quotashm;
struct sigv4_keycache;

struct tls_server;

/*
 * A connection to the backend.  It is lent to one conn at a time and
 * waits in the idle pool between requests.  Its events go with it and
 * stay registered with epoll across both, so a pooled request costs no
 * epoll_ctl(2): their callback hands them to the borrower, or, while the
 * connection is idle, closes it (the backend closed it or sent stray
 * bytes).  While lent, the conn's side (conn.h) mirrors fd, ssl, events
 * and the read registration, and gives them back when it is done.
 */
struct backend_conn {
	TAILQ_ENTRY(backend_conn) entry;	/* idle pool */
	struct server		*srv;
	struct conn		*conn;		/* borrower; NULL: in the pool, or being made */
	int			 pooled;	/* in srv->idle */
	int			 fd;
	struct ssl_st		*ssl;		/* https backends */
	struct event		*ev_read;	/* EV_PERSIST; server_backend_cb */
	struct event		*ev_write;
	int			 reading;	/* ev_read is added */
	struct event		*idle_timer;	/* closes it after BACKEND_IDLE_SECONDS unused */
	int			 addr;		/* the address it goes to: srv->upstream.addr[addr] */
	unsigned int		 addr_gen;	/* ... of srv->upstream_gen */
};

#define BACKEND_IDLE_SECONDS	30
#define SERVER_TRIM_EVERY	1024	/* closed connections between two malloc_trim(0) */

struct quotashm_link;

/*
 * Bytes a --max-uses link has served (this worker's count).  Found by
 * server_link_usage, which takes a reference for the request; freed a
 * while after the link ended, once no request holds it (server_link_put).
 */
struct link_usage {
	struct link_usage	*next;
	char			 id[32];
	time_t			 expires_at;	/* the link's end; 0 never */
	unsigned		 refs;		/* requests holding it */
	uint64_t		 object_size;	/* server_link_learn_size(); 0 unknown */
	uint64_t		 served;	/* by this worker */
	uint64_t		 reserved;	/* reserved here, not yet served (no shared slot) */
	/* every worker's count of this s3gate (quotashm.h); NULL: none free */
	struct quotashm_link	*shared;
	/* with quota_shared and Redis: every instance's count (quotasync.c) */
	uint64_t		 served_global;	/* the total as last synced */
	uint64_t		 pending;	/* served here since the last sync */
	long long		 synced_ms;	/* monotonic ms of the last sync */
	int			 touched;
};

/* Open connections of one client address (max_connections_per_ip). */
struct peer_count {
	struct peer_count	*next;
	unsigned char		 addr[16];
	int			 count;
};

#define SERVER_MAX_ACTIONS	192	/* see server_stats.actions */

struct server_stats {
	uint64_t	 requests;
	uint64_t	 status_class[6];	/* 1xx..5xx by first digit */
	uint64_t	 allowed;
	uint64_t	 denied;
	uint64_t	 bytes_in;
	uint64_t	 bytes_out;
	uint64_t	 bytes_spliced;
	uint64_t	 bytes_copied;
	uint64_t	 connections_total;
	uint64_t	 backend_connects;
	uint64_t	 backend_reuses;
	uint64_t	 backend_errors;
	/* an address skipped for backend_fail_timeout, by what it failed at (upstream.h) */
	uint64_t	 backend_marked_down[UPSTREAM_FAIL__N];
	uint64_t	 auth_failures;
	uint64_t	 client_aborts;
	uint64_t	 slow_clients;		/* closed under body_min_rate */
	uint64_t	 refused_connections;	/* over max_connections or per address */
	uint64_t	 admin_refused;		/* admin connections over SERVER_ADMIN_MAX_CONNS */
	uint64_t	 throttled_requests;	/* SlowDown: request rate or concurrency */
	uint64_t	 throttle_waits;	/* body paused by a bandwidth quota */
	/*
	 * Gauges: what the slot's process holds now.  connections_open is
	 * updated atomically, as balancing and max_connections read it from
	 * the other workers; the parent zeroes both when the process ends.
	 */
	uint64_t	 connections_open;
	uint64_t	 backend_idle;
	uint64_t	 latency_bucket[12];	/* request duration histogram */
	uint64_t	 ttfb_bucket[12];	/* time to the response head */
	uint64_t	 ttfb_count;
	uint64_t	 quota_syncs;		/* shared quota batches answered by Redis */
	uint64_t	 quota_sync_failures;	/* ... failed or timed out: per instance meanwhile */
	uint64_t	 link_uncounted;	/* budgeted link requests refused: no shared count */
	uint64_t	 accept_empty;		/* woken for a new connection, took none (a peer's) */
	/*
	 * Requests by action and decision; slots claimed by name on first use.
	 * Room for every action name s3gate has (policy/action.c's table, about
	 * 90, and the API's 8): with 64, any principal's 64 cheap denied calls
	 * (?analytics, ?metrics, ...) took every slot, and PutObject, DeleteObject
	 * and the rest were counted nowhere from then on.
	 */
	struct server_action_count {
		uint64_t	 allow;
		uint64_t	 deny;
		uint64_t	 other;		/* no decision: auth failures, errors */
		char		 name[48];
	}		 actions[SERVER_MAX_ACTIONS];
	double		 latency_sum;		/* the doubles last: summed apart */
	double		 ttfb_sum;
};

struct server {
	struct event_base	*base;
	struct conf		*conf;		/* current; connections hold refs */
	struct pstore		*store;
	struct sigv4_keycache	*keycache;	/* client signing keys */
	unsigned char		 backend_key[32];	/* service signing key for backend_key_day */
	time_t			 backend_key_day;	/* UTC days since 1970; -1: none */
	struct forward_scratch	 forward_scratch;	/* every re-signed head's strings */

	struct upstream		 upstream;	/* the backend's addresses, which are up */
	unsigned int		 upstream_gen;	/* counts reloads and new lookups: indexes into upstream
						   from before mean nothing */
	struct event		*resolve_timer;	/* the backend's host resolved again (server_resolve_*) */
	int			 resolve_pending;	/* a lookup is on the jobs thread */

	struct server_listener {
		struct server		*srv;
		struct event		*ev;
		int			 fd;
		int			 tls;
		int			 proxy_protocol;	/* a PROXY header first (proxyproto.h) */
		int			 paused;	/* out of the event loop (server_accept_pause) */
	}			 listeners[CONF_MAX_LISTEN];
	int			 nlisteners;
	struct event		*accept_pause;	/* accepting resumes (deferred to a peer, or out of fds) */
	struct event		*ticket_timer;	/* the TLS ticket keys move on (tls_ticket_advance) */
	uint64_t		 accept_peers_total;	/* the peers' accepted connections when it paused */
	int			 accept_quiet;	/* pauses in a row in which the peers accepted none */
	int			 loop_epfd;	/* the event loop's epoll, holding the listeners
						   EPOLLEXCLUSIVE (server_listen_exclusive); -1: as
						   libevent registered them */
	struct tls_server	*tls;		/* client-side certificates; rebuilt on reload */
	struct ssl_ctx_st	*backend_tls;	/* https backends */

	TAILQ_HEAD(, conn)	 conns;
	int			 nconns;
	int			 closed_since_trim;	/* connections closed since the last malloc_trim */
	TAILQ_HEAD(backend_idle_head, backend_conn) idle;
	int			 nidle;
	/*
	 * Whether the backend's answer is worth reading for right after the
	 * request went out, before epoll says so (conn_await_answer): a score
	 * of how often it was there, and a counter that tries now and then
	 * while the score says no.
	 */
	unsigned int		 answer_ready_score;
	unsigned int		 answer_probe;

	int			 draining;
	struct event		*drain_timer;
	struct event		*sig_hup, *sig_term, *sig_int, *sig_usr1;
	struct evhttp		*admin;
	/*
	 * The admin listener's connections (server.c, server_admin_conn_new):
	 * SERVER_ADMIN_MAX_CONNS served at once, those over it refused.
	 */
	TAILQ_HEAD(, server_admin_conn) admin_conns;
	int			 nadmin_conns;	/* served: those refused not counted */
	uint64_t		 admin_refused_burst;	/* refused since one was last served */
	/*
	 * The backend probe /readyz reports (worker 0, with the admin
	 * listener): a non-blocking connect every SERVER_PROBE_INTERVAL_S
	 * (and, to an https backend, a TLS handshake), completed by the event
	 * loop.  backend_reachable: 1, 0, -1 unknown.
	 */
	struct event		*probe_timer;
	struct event		*probe_ev;	/* the connect under way; NULL between probes */
	int			 probe_fd;
	struct ssl_st		*probe_ssl;	/* its TLS handshake under way, or NULL */
	int			 probe_addr;	/* the address dialled (upstream.h) */
	unsigned int		 probe_gen;	/* ... of upstream_gen */
	unsigned int		 probe_tried;	/* this probe's dialled addresses, a bit each */
	int			 backend_reachable;

	struct peer_count	*peers[1024];	/* open connections per client address */
	unsigned char		 peer_hash_key[16];	/* their chains' SipHash key, random */
	struct quota_table	 quotas;	/* per principal */
	struct link_usage	*link_usage[256];
	struct quota_limits	 quota_defaults;	/* the config's whole limits; shared: synced through Redis now */
	struct quotasync	*qsync;		/* quota_shared with policy_store redis; else NULL */
	struct quotashm		*quota_shm;	/* several workers: their shared windows; else NULL */
	struct event		*quota_shm_tick;
	struct server_stats	*stats;		/* this worker's slot in all_stats */
	struct server_stats	*all_stats;	/* nslots, shared by the workers (MAP_SHARED) */
	int			 nslots;
	int			 slot;		/* this worker's: its stats, its quotashm column */
	int			*peer_slots;	/* the generation's slots, by worker */
	int			 worker;	/* in the generation; 0 serves the admin listener */
	int			 nworkers;	/* in the generation */
	uint64_t		 next_conn_id;
	uint32_t		 request_id_seed;
};

extern const double server_latency_bounds_ms[12];
/* Counts a duration of MS milliseconds into a cumulative histogram. */
void		 server_histogram_add(uint64_t buckets[12], double ms);

/*
 * Where a worker process stands (main.c hands it out).  Every process,
 * draining or serving, counts into a slot of its own: its server_stats in
 * ALL_STATS (worker 0's /metrics sums them all, those of processes gone
 * too: counters never go back) and its column of QUOTA_SHM's in-flight
 * counts.  SLOTS are the slots of the generation's workers, by index.
 */
struct server_place {
	int			 worker;	/* index in the generation */
	int			 nworkers;
	const int		*slots;
	struct server_stats	*all_stats;
	int			 nslots;
	struct quotashm		*quota_shm;
};

struct server	*server_new(struct conf *, const struct server_place *,
		    const int *listen_fds, struct sbuf *errors);
int		 server_bind_listeners(const struct conf *, int *fds, struct sbuf *errors);
void		 server_close_listeners(int *fds, int n);
int		 server_run(struct server *);
void		 server_free(struct server *);

/*
 * The count of the --max-uses link ID (ending at EXPIRES_AT), with a
 * reference for the caller; NULL without memory.  With several workers its
 * shared slot (->shared) may be NULL: the workers' table is full.
 */
struct link_usage *server_link_usage(struct server *, const char *id, time_t expires_at);
/* U counts what every worker serves: it has a shared slot, or there is one worker. */
int		 server_link_counted(const struct server *, const struct link_usage *u);
/* The caller's reference to a link's count is given back. */
void		 server_link_put(struct link_usage *);
/* N more bytes LINK served. */
void		 server_link_count(struct link_usage *, uint64_t n);
/* LINK's object is SIZE bytes (from a response): its budget is known from now on. */
void		 server_link_learn_size(struct link_usage *, uint64_t size);
/*
 * Bytes LINK may still serve under a budget of MAX_USES downloads: 0 used
 * up; -1 while no worker has seen its object's size.
 */
int64_t		 server_link_budget_left(struct link_usage *, uint32_t max_uses);
/*
 * A body of N bytes is about to go out under LINK's budget of MAX_USES
 * downloads: reserved if some of the budget is left beside what was served
 * and what the downloads under way still reserve (this s3gate's workers
 * together), so that downloads started side by side cannot each take what
 * is left; the last one admitted may run past the budget by its own length.
 * Returns 1 if reserved, 0 if refused (nothing reserved).  Each
 * byte served then gives back one reserved (server_link_release), and a
 * download that ends early gives back the rest.
 */
int		 server_link_reserve(struct link_usage *, uint32_t max_uses, uint64_t n);
void		 server_link_release(struct link_usage *, uint64_t n);
struct server_action_count *server_action_slot(struct server_stats *, const char *action);

/*
 * Recomputes the quota defaults from the config (at start, on reload, when
 * quotasync goes up or down).  Each principal's entry merges its overrides
 * over them and takes this worker's part (quota_set_limits): the whole
 * rate and bandwidth while they are shared (quotasync up, or the workers'
 * quotashm), else 1/nworkers of them.
 */
void		 server_quota_limits(struct server *);
/* Whether the workers of this instance share their quota windows (quotashm.h). */
int		 server_quota_shm_active(const struct server *);
/* A principal has a quota: the exchange through quotashm runs from now on. */
void		 server_quota_shm_wake(struct server *);

/* The service signing key for today (derived once a day). */
const unsigned char *server_backend_key(struct server *, time_t now);

/* Backend keep-alive pool. */
/* A new connection (connect(2) under way) around FD, which it now owns, to address ADDR. */
struct backend_conn *server_backend_new(struct server *, int fd, int addr);
/*
 * An idle connection, or NULL if none.  One the backend closed or sent
 * stray bytes on is closed, never lent: the event loop watches idle
 * connections whose read event is added; the others, and every one lent to
 * a request that is not RETRY_SAFE (conn_backend.c, conn_retry_safe), are probed
 * first (one recv(2) with MSG_PEEK).
 */
struct backend_conn *server_backend_take(struct server *, int retry_safe);
/*
 * Back to the pool when done with (closed if the pool is full or draining,
 * or if its address is down or no longer the backend's).
 */
void		 server_backend_give(struct server *, struct backend_conn *);
/* Closes it (RESET: with RST, so the backend drops a partial request) and frees it. */
void		 server_backend_close(struct backend_conn *, int reset);
void		 server_backend_flush(struct server *);
/* Closes the idle connections to address I of srv->upstream (it went down). */
void		 server_backend_flush_addr(struct server *, int i);

/* Called by conn when a connection ends. */
void		 server_conn_closed(struct server *, struct conn *);
/* Counts a client address in (1) or out (-1); 0 if over max_connections_per_ip. */
int		 server_peer_count(struct server *, const struct sockaddr *, int delta);

#endif
