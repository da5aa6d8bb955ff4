/*
 * server: listeners, signals, reload, drain, the backend pool and the
 * admin listener (health, readiness, metrics) of one worker.
 */
#include <sys/epoll.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <malloc.h>
#include <netdb.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/http.h>
#include <event2/listener.h>

#include <openssl/err.h>

#include "policy/store.h"
#include "proxy/accesslog.h"
#include "proxy/conn.h"
#include "proxy/jobs.h"
#include "proxy/log.h"
#include "proxy/quotashm.h"
#include "proxy/quotasync.h"
#include "proxy/s3addr.h"
#include "proxy/siphash.h"
#include "proxy/server.h"
#include "proxy/sigv4.h"
#include "proxy/tls.h"

const double server_latency_bounds_ms[12] = {
	1, 2.5, 5, 10, 25, 50, 100, 250, 500, 1000, 5000, 1e300
};


void
server_histogram_add(uint64_t buckets[12], double ms)
{
	int i;

	for (i = 0; i < 12; i++)
		if (ms <= server_latency_bounds_ms[i])
			buckets[i]++;
}

/*
 * The backend's addresses into U: resolved at start and reload (the loop
 * waits then, as it does for the rest of the file), later on the jobs
 * thread (server_resolve_*), never in a request.
 */
static int
server_resolve_backend(const struct conf *cf, struct upstream *u, struct sbuf *errors)
{
	int rc;

	if ((rc = conf_backend_resolve(cf, u)) != 0) {
		sbuf_appendf(errors, "%s: backend %s: %s; check the host name\n", cf->file,
		    cf->backend_url, gai_strerror(rc));
		return -1;
	}
	return 0;
}

/*
 * Bytes a link has served as far as this worker knows: the largest of its
 * own count, its s3gate's workers' together and all instances' (Redis: as
 * this worker last read it plus what it served since, or as any worker of
 * this s3gate last read it, which a worker new to the link has not).
 */
static uint64_t
server_link_served(const struct link_usage *u)
{
	uint64_t most = u->served, v[3];
	int i;

	v[0] = u->served_global + u->pending;
	v[1] = u->shared != NULL ? quotashm_link_add(u->shared, 0) : 0;
	v[2] = u->shared != NULL ? quotashm_link_instances(u->shared, 0) : 0;
	for (i = 0; i < 3; i++)
		if (v[i] > most)
			most = v[i];
	return most;
}

void
server_link_count(struct link_usage *u, uint64_t n)
{
	u->served += n;
	u->pending += n;
	u->touched = 1;		/* quotasync shares it through Redis */
	if (u->shared != NULL)
		quotashm_link_add(u->shared, n);
}

void
server_link_learn_size(struct link_usage *u, uint64_t size)
{
	if (u->object_size == 0)
		u->object_size = u->shared != NULL ? quotashm_link_size(u->shared, size) : size;
}

int64_t
server_link_budget_left(struct link_usage *u, uint32_t max_uses)
{
	uint64_t budget, served;

	server_link_learn_size(u, 0);	/* another worker may have learned it */
	if (u->object_size == 0)
		return -1;
	budget = (uint64_t)max_uses * u->object_size;
	served = server_link_served(u);
	return served >= budget ? 0 : (int64_t)(budget - served);
}

int
server_link_reserve(struct link_usage *u, uint32_t max_uses, uint64_t n)
{
	uint64_t budget, ahead;

	server_link_learn_size(u, 0);
	if (u->object_size == 0)
		return 1;	/* no budget known (an empty object) */
	budget = (uint64_t)max_uses * u->object_size;
	if (u->shared != NULL)
		ahead = quotashm_link_reserve(u->shared, n);
	else
		ahead = u->reserved += n;
	/*
	 * Admitted while some of the budget is neither served nor claimed by a
	 * download under way (AHEAD counts this one's N too): downloads started
	 * side by side cannot each take what is left, and a link serves at most
	 * one answer past its N x size -- so the bytes an interrupted download
	 * lost in flight do not cost its holder the next whole download.
	 */
	if (server_link_served(u) + ahead - n < budget)
		return 1;
	server_link_release(u, n);
	return 0;
}

void
server_link_release(struct link_usage *u, uint64_t n)
{
	if (u->shared != NULL)
		quotashm_link_release(u->shared, n);
	else
		u->reserved -= n < u->reserved ? n : u->reserved;
}

/*
 * The counts of links that ended over a day ago in CHAIN, unless a request
 * or a Redis batch in flight holds them.  Expired links are refused before
 * their count is looked up, so only downloads begun in time hold one; the
 * day matches the shared slot's (QUOTASHM_LINK_GRACE), which a download
 * holding this count may still add to.
 */
static void
server_link_sweep(struct server *srv, struct link_usage **chain, time_t now)
{
	struct link_usage **up = chain, *u;

	if (quotasync_busy(srv->qsync))
		return;
	while ((u = *up) != NULL) {
		if (u->refs == 0 && u->expires_at != 0 &&
		    u->expires_at + QUOTASHM_LINK_GRACE < now) {
			*up = u->next;
			free(u);
			continue;
		}
		up = &u->next;
	}
}

struct link_usage *
server_link_usage(struct server *srv, const char *id, time_t expires_at)
{
	uint32_t h = 2166136261u;
	const unsigned char *p;
	struct link_usage *u;
	time_t now = time(NULL);

	for (p = (const unsigned char *)id; *p; p++)
		h = (h ^ *p) * 16777619u;
	for (u = srv->link_usage[h % 256]; u != NULL; u = u->next)
		if (strcmp(u->id, id) == 0)
			break;
	if (u == NULL) {
		/* each new count sweeps its chain: the ended ones stay few */
		server_link_sweep(srv, &srv->link_usage[h % 256], now);
		if ((u = calloc(1, sizeof(*u))) == NULL)
			return NULL;
		snprintf(u->id, sizeof(u->id), "%s", id);
		u->expires_at = expires_at;
		u->next = srv->link_usage[h % 256];
		srv->link_usage[h % 256] = u;
	}
	/* a table full when this worker first met the link may have room now */
	if (u->shared == NULL && srv->quota_shm != NULL)
		u->shared = quotashm_link(srv->quota_shm, id, (int64_t)expires_at, (int64_t)now);
	u->refs++;
	return u;
}

int
server_link_counted(const struct server *srv, const struct link_usage *u)
{
	return u != NULL && (u->shared != NULL || !server_quota_shm_active(srv));
}

void
server_link_put(struct link_usage *u)
{
	if (u != NULL && u->refs > 0)
		u->refs--;
}

/* The counter slot of ACTION in ST (claimed on first use); NULL when all 64 are taken. */
struct server_action_count *
server_action_slot(struct server_stats *st, const char *action)
{
	int i;

	for (i = 0; i < SERVER_MAX_ACTIONS; i++) {
		if (st->actions[i].name[0] == '\0') {
			snprintf(st->actions[i].name, sizeof(st->actions[i].name), "%s", action);
			return &st->actions[i];
		}
		if (strcmp(st->actions[i].name, action) == 0)
			return &st->actions[i];
	}
	return NULL;
}

void
server_quota_limits(struct server *srv)
{
	const struct conf *cf = srv->conf;

	srv->quota_defaults.request_rate = (double)cf->quota_request_rate;
	srv->quota_defaults.bandwidth = (double)cf->quota_bandwidth;
	srv->quota_defaults.connections = cf->quota_connections;
	srv->quota_defaults.shared = quotasync_up(srv->qsync) || server_quota_shm_active(srv);
}

int
server_quota_shm_active(const struct server *srv)
{
	return srv->quota_shm != NULL && srv->nworkers > 1;
}

/*
 * Every QUOTA_SHM_SYNC_MS, unless Redis shares the quotas (quotasync up): what
 * each principal spent here goes into the workers' shared windows, and what
 * is left of its budget comes back (quotashm.h).
 */
static void
server_quota_shm_cb(evutil_socket_t fd, short what, void *arg)
{
	struct server *srv = arg;
	struct quota_entry *q;
	struct timespec wall;
	double now, frac;
	int i, k;

	if (quotasync_up(srv->qsync))
		return;
	clock_gettime(CLOCK_REALTIME, &wall);
	frac = (double)wall.tv_nsec / 1e9;
	now = conn_now();
	for (i = 0; i < QUOTA_SLOTS; i++) {
		for (q = srv->quotas.slots[i]; q != NULL; q = q->next) {
			if (!q->touched)
				continue;
			q->touched = 0;
			for (k = 0; k < QUOTA_NKINDS; k++) {
				double limit = quota_kind_limit(q, (enum quota_kind)k);
				uint64_t cur, prev;

				if (limit <= 0)
					continue;
				if (quotashm_exchange(srv->quota_shm, q->principal, (enum quota_kind)k,
				    (int64_t)wall.tv_sec, q->sync_used[k], &cur, &prev) == -1) {
					quota_shared_slot(q, 0, srv->nworkers, now);
					break;
				}
				quota_shared_slot(q, 1, srv->nworkers, now);
				q->sync_used[k] = 0;
				quota_sync_apply(q, (enum quota_kind)k,
				    quota_window_allowance(limit, (double)cur, (double)prev, frac), now);
			}
		}
	}
}

/* Starts the exchange at the first principal with a quota: until then a worker sleeps. */
void
server_quota_shm_wake(struct server *srv)
{
	struct timeval tv = { 0, QUOTA_SHM_SYNC_MS * 1000 };

	if (srv->quota_shm_tick != NULL || !server_quota_shm_active(srv))
		return;
	if ((srv->quota_shm_tick = event_new(srv->base, -1, EV_PERSIST, server_quota_shm_cb, srv)) == NULL ||
	    event_add(srv->quota_shm_tick, &tv) == -1)
		fatalx("event_new failed");
}

/* Shares the quotas through Redis when the config asks (quota_shared on, policy_store redis). */
static void
server_quota_sync_start(struct server *srv)
{
	const struct conf *cf = srv->conf;
	struct sbuf errors = SBUF_INIT;
	int want = cf->quota_shared && cf->store_kind == CONF_STORE_REDIS;

	if (!want && srv->qsync != NULL) {
		quotasync_free(srv->qsync);
		srv->qsync = NULL;
	} else if (want && srv->qsync == NULL &&
	    (srv->qsync = quotasync_new(srv, &errors)) == NULL)
		log_warnx("quota_shared: %s; quotas per process", errors.data);
	sbuf_free(&errors);
}

const unsigned char *
server_backend_key(struct server *srv, time_t now)
{
	char amz_date[17];

	/* the key changes with the UTC day: formatted only then, not per request */
	if (now / 86400 != srv->backend_key_day) {
		sigv4_format_date(now, amz_date);
		amz_date[8] = '\0';
		sigv4_signing_key(srv->conf->backend_secret, strlen(srv->conf->backend_secret),
		    amz_date, srv->conf->backend_region, "s3", srv->backend_key);
		srv->backend_key_day = now / 86400;
	}
	return srv->backend_key;
}

/* ---- backend keep-alive pool ---------------------------------------- */

static void
server_backend_unpool(struct server *srv, struct backend_conn *bc)
{
	TAILQ_REMOVE(&srv->idle, bc, entry);
	bc->pooled = 0;
	srv->nidle--;
	srv->stats->backend_idle--;
	evtimer_del(bc->idle_timer);
}

static void
server_backend_cb(evutil_socket_t fd, short what, void *arg)
{
	struct backend_conn *bc = arg;

	if (bc->conn != NULL)
		conn_backend_event(bc->conn, what);
	else
		server_backend_close(bc, 0);	/* idle: closed by the backend, or stray bytes */
}

/* An idle connection unused for BACKEND_IDLE_SECONDS. */
static void
server_backend_idle_cb(evutil_socket_t fd, short what, void *arg)
{
	server_backend_close(arg, 0);
}

struct backend_conn *
server_backend_new(struct server *srv, int fd, int addr)
{
	struct backend_conn *bc;

	if ((bc = calloc(1, sizeof(*bc))) == NULL)
		fatal("calloc");
	bc->srv = srv;
	bc->fd = fd;
	bc->addr = addr;
	bc->addr_gen = srv->upstream_gen;
	bc->ev_read = event_new(srv->base, fd, EV_READ | EV_PERSIST, server_backend_cb, bc);
	bc->ev_write = event_new(srv->base, fd, EV_WRITE | EV_PERSIST, server_backend_cb, bc);
	bc->idle_timer = evtimer_new(srv->base, server_backend_idle_cb, bc);
	if (bc->ev_read == NULL || bc->ev_write == NULL || bc->idle_timer == NULL)
		fatalx("event_new failed");
	return bc;
}

void
server_backend_close(struct backend_conn *bc, int reset)
{
	struct server *srv = bc->srv;

	if (bc->pooled)
		server_backend_unpool(srv, bc);
	event_free(bc->ev_read);
	event_free(bc->ev_write);
	event_free(bc->idle_timer);
	if (bc->ssl != NULL) {
		if (reset)
			SSL_free(bc->ssl);	/* no close_notify: the peer must see a failure */
		else
			sockio_ssl_close(bc->ssl);
	}
	if (reset) {
		struct linger lg = { 1, 0 };
		(void)setsockopt(bc->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	}
	close(bc->fd);
	free(bc);
}

struct backend_conn *
server_backend_take(struct server *srv, int retry_safe)
{
	struct backend_conn *bc;
	char byte;

	while ((bc = TAILQ_LAST(&srv->idle, backend_idle_head)) != NULL) {
		server_backend_unpool(srv, bc);
		/*
		 * Closed meanwhile, or stray bytes?  Either makes it unusable:
		 * bytes an idle connection holds would be read as the next
		 * request's answer.  While its read event is added, the loop has
		 * been watching it (server_backend_cb closes it on either), as
		 * nginx watches its idle upstream connections; what could have
		 * arrived since this turn's epoll_wait is an EOF that a request
		 * safe to send again (a body-less GET or HEAD) survives by its
		 * retry.  Anything else, or an unwatched connection, is probed:
		 * one recv(2), which would cost a HEAD ~5% of its CPU.
		 */
		if (retry_safe && bc->reading)
			return bc;
		if (recv(bc->fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT) == -1 &&
		    (errno == EAGAIN || errno == EWOULDBLOCK))
			return bc;
		server_backend_close(bc, 0);
	}
	return NULL;
}

/*
 * Whether BC's address is still the backend's and up: no request should
 * take a connection to a gateway known to fail, or to one the addresses
 * left (a reload, a new lookup).  The clock is read only for an address
 * that went down since it last answered.
 */
static int
server_backend_addr_usable(struct server *srv, const struct backend_conn *bc)
{
	return bc->addr_gen == srv->upstream_gen &&
	    (srv->upstream.addr[bc->addr].down_until_ms == 0 ||
	    upstream_is_up(&srv->upstream, bc->addr, conn_now_ms()));
}

void
server_backend_give(struct server *srv, struct backend_conn *bc)
{
	struct timeval tv = { BACKEND_IDLE_SECONDS, 0 };

	bc->conn = NULL;
	/* A TLS connection with data pending in OpenSSL is not idle: drop it. */
	if (srv->nidle >= srv->conf->backend_pool_size || srv->draining ||
	    (bc->ssl != NULL && SSL_has_pending(bc->ssl)) || !server_backend_addr_usable(srv, bc)) {
		server_backend_close(bc, 0);
		return;
	}
	/*
	 * The borrower gives back only a connection with nothing left unread
	 * (conn.c, conn_backend_check_reusable).  ev_read stays as the last
	 * borrower left it: if added, it notices the backend closing the idle
	 * connection or sending stray bytes; if not, the probe of the next
	 * borrower does (server_backend_take).
	 */
	evtimer_add(bc->idle_timer, &tv);
	bc->pooled = 1;
	TAILQ_INSERT_TAIL(&srv->idle, bc, entry);
	srv->nidle++;
	srv->stats->backend_idle++;
}

void
server_backend_flush(struct server *srv)
{
	struct backend_conn *bc;

	while ((bc = TAILQ_FIRST(&srv->idle)) != NULL)
		server_backend_close(bc, 0);
}

void
server_backend_flush_addr(struct server *srv, int i)
{
	struct backend_conn *bc, *next;

	for (bc = TAILQ_FIRST(&srv->idle); bc != NULL; bc = next) {
		next = TAILQ_NEXT(bc, entry);
		if (bc->addr == i && bc->addr_gen == srv->upstream_gen)
			server_backend_close(bc, 0);
	}
}

/*
 * The backend's addresses changed (a new lookup; REMAP: upstream_merge's,
 * old index to new): an idle connection follows its address, or is closed
 * with it.  The lent ones are closed when given back (their generation).
 */
static void
server_backend_remap(struct server *srv, const int remap[UPSTREAM_MAX])
{
	struct backend_conn *bc, *next;

	for (bc = TAILQ_FIRST(&srv->idle); bc != NULL; bc = next) {
		next = TAILQ_NEXT(bc, entry);
		if (bc->addr_gen + 1 != srv->upstream_gen || remap[bc->addr] == -1) {
			server_backend_close(bc, 0);
			continue;
		}
		bc->addr = remap[bc->addr];
		bc->addr_gen = srv->upstream_gen;
	}
}

/* ---- per-address connection counts ---------------------------------- */

/*
 * The key an address is counted under: an IPv4 address (also written
 * ::ffff:a.b.c.d) by itself; an IPv6 address by its /64, the prefix one
 * host or site is given (SLAAC, privacy addresses), so one client cannot
 * spread over its 2^64 addresses to pass max_connections_per_ip.  Byte 8
 * marks a /64 key: it never equals an IPv4 one (12 zero bytes first).
 */
static void
server_peer_key(const struct sockaddr *sa, unsigned char key[16])
{
	const struct in6_addr *a6;

	memset(key, 0, 16);
	if (sa->sa_family == AF_INET)
		memcpy(key + 12, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, 4);
	else if (sa->sa_family == AF_INET6) {
		a6 = &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr;
		if (IN6_IS_ADDR_V4MAPPED(a6))
			memcpy(key + 12, &a6->s6_addr[12], 4);
		else {
			memcpy(key, a6->s6_addr, 8);
			key[8] = 6;
		}
	}
}

/*
 * With several workers, an address's connections are counted once per
 * s3gate, in the table the workers share (quotashm.h), under a name no
 * principal can have.  Should that table have no slot free near it, the
 * connection is let in uncounted: the cap is a guard against one client
 * hoarding connections, not an authorization.
 */
static int
server_peer_count_shared(struct server *srv, const unsigned char key[16], int delta)
{
	static const char hexd[] = "0123456789abcdef";
	char name[3 + 32 + 1] = "\001ip";
	int i;

	for (i = 0; i < 16; i++) {
		name[3 + 2 * i] = hexd[key[i] >> 4];
		name[3 + 2 * i + 1] = hexd[key[i] & 15];
	}
	name[3 + 32] = '\0';
	if (delta < 0) {
		quotashm_leave(srv->quota_shm, name, srv->slot);
		return 1;
	}
	return quotashm_admit(srv->quota_shm, name, srv->slot,
	    (uint32_t)srv->conf->max_connections_per_ip, (int64_t)time(NULL)) != 0;
}

int
server_peer_count(struct server *srv, const struct sockaddr *sa, int delta)
{
	unsigned char key[16];
	struct peer_count **pp, *p;
	uint64_t h;
	int limit = srv->conf->max_connections_per_ip;

	server_peer_key(sa, key);
	if (limit > 0 && srv->nworkers > 1 && srv->quota_shm != NULL)
		return server_peer_count_shared(srv, key, delta);
	/* keyed: a client with many /64s cannot line them up in one chain */
	h = siphash24(srv->peer_hash_key, key, sizeof(key));
	pp = &srv->peers[h % (sizeof(srv->peers) / sizeof(srv->peers[0]))];
	for (p = *pp; p != NULL; pp = &p->next, p = p->next)
		if (memcmp(p->addr, key, 16) == 0)
			break;
	if (delta > 0) {
		if (p == NULL) {
			if ((p = calloc(1, sizeof(*p))) == NULL)
				return 0;
			memcpy(p->addr, key, 16);
			p->next = srv->peers[h % (sizeof(srv->peers) / sizeof(srv->peers[0]))];
			srv->peers[h % (sizeof(srv->peers) / sizeof(srv->peers[0]))] = p;
		}
		if (limit > 0 && p->count >= limit)
			return 0;
		p->count++;
		return 1;
	}
	if (p != NULL && --p->count <= 0) {
		*pp = p->next;
		free(p);
	}
	return 1;
}

/* ---- listeners ------------------------------------------------------- */

/*
 * Workers of one generation share the listening sockets (inherited from
 * the parent) and all wake for a new connection.  Each takes its fair
 * share of what is open and queued, as HAProxy's threads balance theirs:
 * so a new TLS handshake goes to the worker that is free, and a burst of
 * keep-alive connections is spread evenly.  (SO_REUSEPORT's hash spreads
 * evenly too, but blind to load: with two workers, a new handshake waited
 * for the other's about half the time.)
 *
 * The share is counted on every wake: the connections the workers hold
 * plus those in the listen queue, divided among the workers, plus one (a
 * peer's connection that has just closed is not counted out yet).  Taking
 * one connection per wake instead drained a queued burst of 1024 at a few
 * per event loop turn, and a turn serving 500 connections lasts ~10 ms:
 * wrk's last connections waited half a second for their first answer.
 * A worker whose share is taken pauses accepting for
 * SERVER_ACCEPT_DEFER_US, then takes at least one; after
 * SERVER_ACCEPT_QUIET pauses in a row in which its peers accepted nothing
 * (busy), it takes a whole batch: a connection waits at most that long
 * on a busy peer.
 *
 * Where the listeners are registered EPOLLEXCLUSIVE (server_listen_exclusive)
 * only one worker wakes, the first in the socket's wait queue that sleeps in
 * epoll_wait: a free one, so a new handshake still goes where it is served
 * at once.  A woken worker whose share is taken serves that one connection
 * (its peer was not woken for it) and then pauses, which puts it at the back
 * of the queue: the next connections go to its peer.
 */
#define SERVER_ACCEPT_BATCH	64
#define SERVER_ACCEPT_DEFER_US	1000
#define SERVER_ACCEPT_QUIET	3

static void server_accept_cb(evutil_socket_t, short, void *);

/* Connections the process of stats slot SLOT holds (its gauge, shared). */
static uint64_t
server_slot_conns(const struct server *srv, int slot)
{
	return __atomic_load_n(&srv->all_stats[slot].connections_open, __ATOMIC_RELAXED);
}

/* Connections the other workers of the generation have accepted so far. */
static uint64_t
server_peers_accepted(const struct server *srv)
{
	uint64_t n = 0;
	int w;

	for (w = 0; w < srv->nworkers; w++)
		if (w != srv->worker)
			n += __atomic_load_n(&srv->all_stats[srv->peer_slots[w]].connections_total,
			    __ATOMIC_RELAXED);
	return n;
}

/*
 * Connections in the listen queue of LFD (TCP_INFO of a listening socket
 * reports its accept queue in tcpi_unacked); 1 if it cannot be asked.
 */
static uint64_t
server_listen_queued(int lfd)
{
	struct tcp_info ti;
	socklen_t len = sizeof(ti);

	if (getsockopt(lfd, IPPROTO_TCP, TCP_INFO, &ti, &len) == -1 ||
	    len < offsetof(struct tcp_info, tcpi_unacked) + sizeof(ti.tcpi_unacked))
		return 1;
	return ti.tcpi_unacked;
}

/* How many connections this worker may take now: its share (above) less what it holds. */
static int
server_accept_share(const struct server *srv, int lfd)
{
	uint64_t total = server_listen_queued(lfd), share;
	int w;

	for (w = 0; w < srv->nworkers; w++)	/* this worker's gauge is its nconns */
		total += server_slot_conns(srv, srv->peer_slots[w]);
	share = (total + (uint64_t)srv->nworkers - 1) / (uint64_t)srv->nworkers + 1;
	if (share <= (uint64_t)srv->nconns)
		return 0;
	share -= (uint64_t)srv->nconns;
	return share < SERVER_ACCEPT_BATCH ? (int)share : SERVER_ACCEPT_BATCH;
}

/*
 * A listener leaves the event loop and comes back.  Registered exclusive,
 * it is taken out of the loop's epoll and put back by hand (libevent's
 * event_add would register it again without EPOLLEXCLUSIVE; its event
 * stays added meanwhile, and libevent's EPOLL_CTL_DEL of it when it is
 * freed passes over ENOENT).  Coming back puts this worker at the back of
 * the socket's wait queue.
 */
static void
server_listener_off(struct server_listener *sl)
{
	/*
	 * Once: two listeners woken in one turn of the loop each pause them
	 * all, and the second EPOLL_CTL_DEL found none (ENOENT, logged).
	 */
	if (sl->paused)
		return;
	sl->paused = 1;
	if (sl->srv->loop_epfd == -1)
		event_del(sl->ev);
	else if (epoll_ctl(sl->srv->loop_epfd, EPOLL_CTL_DEL, sl->fd, NULL) == -1)
		log_warn("epoll_ctl DEL listener");
}

static void
server_listener_on(struct server_listener *sl)
{
	struct epoll_event ee = { .events = EPOLLIN | EPOLLEXCLUSIVE, .data.fd = sl->fd };
	struct server *srv = sl->srv;
	int i;

	if (!sl->paused)
		return;
	sl->paused = 0;
	if (srv->loop_epfd == -1) {
		event_add(sl->ev, NULL);
		return;
	}
	if (epoll_ctl(srv->loop_epfd, EPOLL_CTL_ADD, sl->fd, &ee) == 0)
		return;
	/* (out of kernel memory?) libevent adds every listener again, as its own */
	log_warn("epoll_ctl ADD listener; every worker wakes from now on");
	srv->loop_epfd = -1;
	for (i = 0; i < srv->nlisteners; i++) {
		event_del(srv->listeners[i].ev);
		event_add(srv->listeners[i].ev, NULL);
	}
}

/* Stops accepting for USEC; then the listeners are tried once whoever else is free. */
static void
server_accept_pause(struct server *srv, long usec)
{
	struct timeval tv = { usec / 1000000, usec % 1000000 };
	int i;

	for (i = 0; i < srv->nlisteners; i++)
		server_listener_off(&srv->listeners[i]);
	evtimer_add(srv->accept_pause, &tv);
}

static void
server_accept_resume_cb(evutil_socket_t fd, short what, void *arg)
{
	struct server *srv = arg;
	int i;

	for (i = 0; i < srv->nlisteners; i++)
		server_listener_on(&srv->listeners[i]);
	/* one listener's accept may pause them all again: the others wait for that */
	for (i = 0; i < srv->nlisteners && !evtimer_pending(srv->accept_pause, NULL); i++)
		server_accept_cb(srv->listeners[i].fd, EV_TIMEOUT, &srv->listeners[i]);
}

/* Connections open in this s3gate: every worker's, draining ones' too. */
static uint64_t
server_conns_open(const struct server *srv)
{
	uint64_t n = 0;
	int slot;

	if (srv->nslots == 1)
		return (uint64_t)srv->nconns;
	for (slot = 0; slot < srv->nslots; slot++)
		n += server_slot_conns(srv, slot);
	return n;
}

static void
server_accept_one(struct server_listener *sl, int fd, struct sockaddr *sa, socklen_t salen)
{
	struct server *srv = sl->srv;
	SSL *ssl = NULL;

	/*
	 * Behind a balancer that sends PROXY headers every connection comes
	 * from its address: the client's is counted once the header names it
	 * (conn_do_proxy_header).
	 */
	if (srv->draining || server_conns_open(srv) >= (uint64_t)srv->conf->max_connections ||
	    (!sl->proxy_protocol && !server_peer_count(srv, sa, 1))) {
		/* over a cap: refuse cheaply rather than queue without bound */
		srv->stats->refused_connections++;
		close(fd);
		return;
	}
	if (sl->proxy_protocol && !conf_proxy_from_allows(srv->conf, sa)) {
		/* not a balancer named by proxy_protocol_from: its header would be believed */
		log_debug("a connection to a proxy_protocol listener from an address not in "
		    "proxy_protocol_from; closed");
		srv->stats->refused_connections++;
		close(fd);
		return;
	}
	if (sl->tls && (ssl = tls_server_accept(srv->tls, fd)) == NULL) {
		log_warnx("TLS: cannot set up a connection");
		if (!sl->proxy_protocol)
			server_peer_count(srv, sa, -1);
		close(fd);
		return;
	}
	(void)conn_new(srv, fd, ssl, sa, salen, sl->proxy_protocol);
}

/* WHAT is EV_TIMEOUT for the retry after a pause: then at least one is taken. */
static void
server_accept_cb(evutil_socket_t lfd, short what, void *arg)
{
	struct server_listener *sl = arg;
	struct server *srv = sl->srv;
	struct sockaddr_storage ss;
	socklen_t salen;
	int fd, n, take = SERVER_ACCEPT_BATCH;

	if (srv->nworkers > 1) {
		take = server_accept_share(srv, lfd);
		if (what != EV_TIMEOUT) {
			if (take == 0) {
				srv->accept_peers_total = server_peers_accepted(srv);
				server_accept_pause(srv, SERVER_ACCEPT_DEFER_US);
				if (srv->loop_epfd == -1) {
					srv->stats->accept_empty++;
					return;	/* the peers woke for it too */
				}
				take = 1;	/* only this worker woke: it serves the one */
			} else
				srv->accept_quiet = 0;	/* the pauses in a row end here */
		} else {
			/* after a pause: at least one, a batch if the peers have long accepted nothing */
			if (server_peers_accepted(srv) != srv->accept_peers_total)
				srv->accept_quiet = 0;
			else
				srv->accept_quiet++;
			if (srv->accept_quiet >= SERVER_ACCEPT_QUIET)
				take = SERVER_ACCEPT_BATCH;
			else if (take == 0)
				take = 1;
		}
	}
	for (n = 0; n < take; n++) {
		salen = sizeof(ss);
		fd = accept4(lfd, (struct sockaddr *)&ss, &salen, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd == -1) {
			if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
				/* out of descriptors or memory: rest rather than spin */
				log_warn("accept");
				server_accept_pause(srv, 100 * 1000);
			} else if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
				log_warn("accept");
			else if (n == 0 && what != EV_TIMEOUT)
				srv->stats->accept_empty++;
			return;
		}
		server_accept_one(sl, fd, (struct sockaddr *)&ss, salen);
	}
}

/*
 * Binds the configuration's client listeners into FDS (non-blocking,
 * SO_REUSEPORT, so that a new generation binds beside a draining one).
 * The backlog is max_connections, as HAProxy's is its maxconn (the kernel
 * caps it at net.core.somaxconn): a burst the workers have room for is
 * queued rather than dropped for the clients to retry their SYN a second
 * later.
 */
int
server_bind_listeners(const struct conf *cf, int *fds, struct sbuf *errors)
{
	int i, one = 1;

	for (i = 0; i < cf->nlisten; i++) {
		const struct conf_listen *cl = &cf->listen[i];
		int fd = socket(cl->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

		if (fd == -1 ||
		    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) == -1 ||
		    setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) == -1 ||
		    bind(fd, (const struct sockaddr *)&cl->addr, cl->addr_len) == -1 ||
		    listen(fd, cf->max_connections) == -1) {
			sbuf_appendf(errors, "%s: listen %s: %s; is another process using the port?\n",
			    cf->file, cl->text, strerror(errno));
			if (fd != -1)
				close(fd);
			server_close_listeners(fds, i);
			return -1;
		}
		fds[i] = fd;
	}
	return 0;
}

void
server_close_listeners(int *fds, int n)
{
	int i;

	for (i = 0; i < n; i++)
		if (fds[i] != -1)
			close(fds[i]);
}

/*
 * At each ticket period's start the worker moves its TLS ticket keys on
 * (tls_ticket_advance), so that it never holds a key older than the
 * previous period even when no handshake asks for one.
 */
static void
server_ticket_timer_arm(struct server *srv)
{
	long long ms = tls_ticket_next_ms();
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };

	evtimer_add(srv->ticket_timer, &tv);
}

static void
server_ticket_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	tls_ticket_advance();
	server_ticket_timer_arm(arg);
}

/*
 * Workers share the listening sockets, and libevent 2.1 adds them to its
 * epoll without EPOLLEXCLUSIVE (it has no way to ask for it): every idle
 * worker woke for every new connection and all but one found nothing to
 * accept (two workers, connections one at a time: 30 of 40 wake-ups were
 * for nothing; more workers, more of them).  nginx adds its listeners
 * exclusive.  So each worker finds its loop's epoll, the
 * eventpoll descriptor from which the listener libevent has just added can
 * be deleted, and adds the listeners again itself, EPOLLEXCLUSIVE, under
 * the same descriptor (data.fd: libevent dispatches by it).  Where a step
 * fails the listeners stay as libevent added them and every worker wakes.
 * (An epoll of s3gate's own nested in libevent's would not do: the
 * exclusive wake-up stops only at an epoll that a thread sleeps on.)
 */
static int
server_loop_epoll(int lfd)
{
	char path[64], target[32];
	struct dirent *de;
	ssize_t n;
	DIR *dir;
	int fd, found = -1;

	if ((dir = opendir("/proc/self/fd")) == NULL)
		return -1;
	while (found == -1 && (de = readdir(dir)) != NULL) {
		if (de->d_name[0] < '0' || de->d_name[0] > '9' || (fd = atoi(de->d_name)) == dirfd(dir))
			continue;
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
		if ((n = readlink(path, target, sizeof(target) - 1)) <= 0)
			continue;
		target[n] = '\0';
		if (strcmp(target, "anon_inode:[eventpoll]") == 0 &&
		    epoll_ctl(fd, EPOLL_CTL_DEL, lfd, NULL) == 0)
			found = fd;
	}
	closedir(dir);
	return found;
}

static void
server_listen_exclusive(struct server *srv)
{
	struct epoll_event ee = { .events = EPOLLIN };
	int epfd, i, j;

	if (srv->nworkers < 2 || srv->nlisteners == 0 ||
	    strcmp(event_base_get_method(srv->base), "epoll") != 0 ||
	    (epfd = server_loop_epoll(srv->listeners[0].fd)) == -1)
		return;
	for (i = 0; i < srv->nlisteners; i++) {
		ee.events = EPOLLIN | EPOLLEXCLUSIVE;
		ee.data.fd = srv->listeners[i].fd;
		if ((i == 0 || epoll_ctl(epfd, EPOLL_CTL_DEL, ee.data.fd, NULL) == 0) &&
		    epoll_ctl(epfd, EPOLL_CTL_ADD, ee.data.fd, &ee) == 0)
			continue;
		/* a kernel without EPOLLEXCLUSIVE (before 4.5): back as libevent had them */
		log_warn("listeners cannot be registered EPOLLEXCLUSIVE; every worker wakes");
		for (j = 0; j <= i; j++) {
			ee.events = EPOLLIN;
			ee.data.fd = srv->listeners[j].fd;
			if (j < i)
				(void)epoll_ctl(epfd, EPOLL_CTL_DEL, ee.data.fd, NULL);
			if (epoll_ctl(epfd, EPOLL_CTL_ADD, ee.data.fd, &ee) == -1 && errno != EEXIST)
				fatal("epoll_ctl ADD listener");
		}
		return;
	}
	srv->loop_epfd = epfd;
	log_debug("listeners registered EPOLLEXCLUSIVE in epoll %d", epfd);
}

/* Serves the listeners FDS (inherited from the parent, shared with the other workers), or binds its own. */
static int
server_listen(struct server *srv, const int *fds, struct sbuf *errors)
{
	const struct conf *cf = srv->conf;
	int own[CONF_MAX_LISTEN], i;

	if (fds == NULL) {
		if (server_bind_listeners(cf, own, errors) == -1)
			return -1;
		fds = own;
	}
	if ((srv->accept_pause = evtimer_new(srv->base, server_accept_resume_cb, srv)) == NULL ||
	    (srv->ticket_timer = evtimer_new(srv->base, server_ticket_timer_cb, srv)) == NULL)
		fatalx("evtimer_new failed");
	tls_ticket_advance();	/* forked after a boundary the master had not woken for yet */
	server_ticket_timer_arm(srv);
	for (i = 0; i < cf->nlisten; i++) {
		struct server_listener *sl = &srv->listeners[i];

		sl->srv = srv;
		sl->tls = cf->listen[i].tls;
		sl->proxy_protocol = cf->listen[i].proxy_protocol;
		sl->fd = fds[i];	/* a worker's inherited copy is its own to close */
		if ((sl->ev = event_new(srv->base, sl->fd, EV_READ | EV_PERSIST, server_accept_cb, sl)) == NULL)
			fatalx("event_new failed");
		event_add(sl->ev, NULL);
		srv->nlisteners++;
		log_info("listening on %s%s%s", cf->listen[i].text, cf->listen[i].tls ? " (tls)" : "",
		    cf->listen[i].proxy_protocol ? " (PROXY protocol)" : "");
	}
	server_listen_exclusive(srv);
	return 0;
}

/* Stops accepting: the worker's listening sockets are closed. */
static void
server_unlisten(struct server *srv)
{
	int i;

	for (i = 0; i < srv->nlisteners; i++) {
		event_free(srv->listeners[i].ev);
		close(srv->listeners[i].fd);
	}
	srv->nlisteners = 0;
	if (srv->accept_pause != NULL) {
		event_free(srv->accept_pause);
		srv->accept_pause = NULL;
	}
	if (srv->ticket_timer != NULL) {
		event_free(srv->ticket_timer);
		srv->ticket_timer = NULL;
	}
	/* no more handshakes here (draining may last shutdown_timeout): no ticket keys either */
	tls_ticket_wipe();
}

/* ---- signals ---------------------------------------------------------- */

/*
 * Whether PATH ("stderr", "off" or a file) can be opened for appending,
 * without creating it (a reload that fails leaves no file behind): an
 * existing file is opened, else its folder must be writable.  -1 with errno.
 */
static int
server_log_writable(const char *path)
{
	char dir[PATH_MAX];
	const char *slash;
	int fd;

	if (path == NULL || strcmp(path, "stderr") == 0 || strcmp(path, "off") == 0)
		return 0;
	if ((fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC)) != -1) {
		close(fd);
		return 0;
	}
	if (errno != ENOENT)
		return -1;
	if ((slash = strrchr(path, '/')) == NULL)
		snprintf(dir, sizeof(dir), ".");
	else
		snprintf(dir, sizeof(dir), "%.*s", slash == path ? 1 : (int)(slash - path), path);
	return access(dir, W_OK | X_OK);
}

static int
server_str_differs(const char *a, const char *b)
{
	return (a == NULL) != (b == NULL) || (a != NULL && strcmp(a, b) != 0);
}

/* Whether NC listens where OC does, each socket as it is bound (proxy_protocol aside). */
static int
server_listen_same(const struct conf *oc, const struct conf *nc)
{
	int i, same = oc->nlisten == nc->nlisten;

	for (i = 0; same && i < oc->nlisten; i++)
		same = oc->listen[i].tls == nc->listen[i].tls &&
		    oc->listen[i].addr_len == nc->listen[i].addr_len &&
		    memcmp(&oc->listen[i].addr, &nc->listen[i].addr, oc->listen[i].addr_len) == 0;
	return same;
}

/*
 * The directives a single-process s3gate keeps from its start (its
 * listeners are bound, its store open, its user taken), named in WHICH
 * when NC changes them.  A parent of workers starts a new generation
 * instead, which takes them all but `workers` (main.c).
 */
static void
server_reload_kept(const struct conf *oc, const struct conf *nc, struct sbuf *which)
{
	if (!server_listen_same(oc, nc))
		sbuf_appendf(which, " listen");
	if (server_str_differs(oc->admin_listen, nc->admin_listen))
		sbuf_appendf(which, " admin_listen");
	if (oc->store_kind != nc->store_kind || server_str_differs(oc->store_path, nc->store_path))
		sbuf_appendf(which, " policy_store");
	if (server_str_differs(oc->store_secret_key, nc->store_secret_key))
		sbuf_appendf(which, " policy_secret_key");
	if (server_str_differs(oc->store_password, nc->store_password))
		sbuf_appendf(which, " policy_store_password");
	if (server_str_differs(oc->user, nc->user))
		sbuf_appendf(which, " user");
	if (oc->workers != nc->workers)
		sbuf_appendf(which, " workers");
}

/*
 * The backend's host is resolved again every backend_resolve_interval, on
 * the jobs thread (getaddrinfo blocks; jobs.h): the pods behind a headless
 * service come and go with new addresses.  A lookup that fails keeps the
 * addresses as they are; one that brings the same set changes nothing.
 * Not for IP literals or backend_addresses, which no lookup changes.
 */
struct server_resolve_job {
	struct job	 job;
	struct conf	*conf;		/* a reference: the host and port asked */
	struct upstream	 fresh;
	int		 rc;		/* getaddrinfo's */
};

static void
server_resolve_run(struct job *job)
{
	struct server_resolve_job *r = (struct server_resolve_job *)job;

	r->rc = conf_backend_resolve(r->conf, &r->fresh);
}

/* Arms the next lookup if the configuration asks for them. */
static void
server_resolve_schedule(struct server *srv)
{
	const struct conf *cf = srv->conf;
	struct in6_addr any;
	struct timeval tv;

	if (srv->resolve_timer == NULL || srv->draining || cf->backend_resolve_interval_ms == 0 ||
	    cf->nbackend_addrs > 0 || inet_pton(AF_INET, cf->backend_connect_host, &any) == 1 ||
	    inet_pton(AF_INET6, cf->backend_connect_host, &any) == 1)
		return;
	tv.tv_sec = cf->backend_resolve_interval_ms / 1000;
	tv.tv_usec = (cf->backend_resolve_interval_ms % 1000) * 1000;
	evtimer_add(srv->resolve_timer, &tv);
}

static void
server_resolve_done(struct job *job)
{
	struct server_resolve_job *r = (struct server_resolve_job *)job;
	struct server *srv = job->owner;
	struct sbuf list = SBUF_INIT;
	int i, remap[UPSTREAM_MAX];

	if (srv != NULL) {
		srv->resolve_pending = 0;
		if (r->conf != srv->conf) {
			/* a reload resolved the host meanwhile, maybe another one */
		} else if (r->rc != 0) {
			log_warnx("backend %s: resolving %s again: %s; keeping its %d address(es)",
			    srv->conf->backend_url, srv->conf->backend_connect_host, gai_strerror(r->rc),
			    srv->upstream.n);
		} else if (upstream_merge(&srv->upstream, &r->fresh, remap)) {
			srv->upstream_gen++;
			server_backend_remap(srv, remap);
			for (i = 0; i < srv->upstream.n; i++)
				sbuf_appendf(&list, "%s%s", i ? ", " : "", srv->upstream.addr[i].text);
			log_info("backend %s: %s now resolves to %s", srv->conf->backend_url,
			    srv->conf->backend_connect_host, list.data);
			sbuf_free(&list);
		}
		server_resolve_schedule(srv);
	}
	conf_unref(r->conf);
	free(r);
}

static void
server_resolve_start(evutil_socket_t unused, short what, void *arg)
{
	struct server *srv = arg;
	struct server_resolve_job *r;

	if (srv->resolve_pending || srv->draining)
		return;
	if ((r = calloc(1, sizeof(*r))) == NULL) {
		server_resolve_schedule(srv);
		return;
	}
	conf_ref(srv->conf);
	r->conf = srv->conf;
	r->job.run = server_resolve_run;
	r->job.done = server_resolve_done;
	r->job.owner = srv;
	srv->resolve_pending = 1;
	jobs_submit(&r->job);
}

/*
 * SIGHUP in a single-process s3gate: the new file is checked whole (its
 * backend resolved, its certificates and CA loaded, its logs opened)
 * before anything of it is applied, so a file that fails changes nothing.
 */
static void
server_reload(struct server *srv)
{
	struct sbuf errors = SBUF_INIT, kept = SBUF_INIT;
	struct upstream upstream;
	struct tls_server *ts = NULL;
	SSL_CTX *bctx = NULL;
	struct conf *nc;

	log_info("reloading %s", srv->conf->file);
	if ((nc = conf_load(srv->conf->file, 1, &errors)) == NULL)
		goto fail;
	if (server_resolve_backend(nc, &upstream, &errors) == -1)
		goto fail;
	if (nc->ncerts > 0 && (ts = tls_server_new(nc, &errors)) == NULL)
		goto fail;
	if (nc->backend_tls && (bctx = tls_backend_ctx_new(nc, &errors)) == NULL)
		goto fail;
	if (server_log_writable(nc->access_log) == -1)
		sbuf_appendf(&errors, "%s: access_log %s: %s; fix the path or its permissions\n",
		    nc->file, nc->access_log, strerror(errno));
	if (server_log_writable(nc->error_log) == -1)
		sbuf_appendf(&errors, "%s: error_log %s: %s; fix the path or its permissions\n",
		    nc->file, nc->error_log, strerror(errno));
	if (errors.len != 0)
		goto fail;
	/*
	 * The policy must load under the new configuration, as a new worker's
	 * must (main.c): a bucket of the store that the new
	 * backend_reserved_names name would otherwise stop every later policy
	 * load, revocations included, while the reload looked applied.
	 */
	s3addr_set_reserved(nc->reserved_names, nc->nreserved);
	if (pstore_reload(srv->store, &errors) == -1) {
		s3addr_set_reserved(srv->conf->reserved_names, srv->conf->nreserved);
		goto fail;
	}

	/* everything passed: apply */
	server_reload_kept(srv->conf, nc, &kept);
	/*
	 * A kept socket takes the new proxy_protocol: each connection reads it
	 * when accepted.  Left as it was, a listener the operator had opened
	 * to clients straight, no balancer in front, went on taking a PROXY
	 * line from anyone (an address of their choosing, logged and counted
	 * by max_connections_per_ip as theirs), and the log said "reloaded".
	 */
	if (server_listen_same(srv->conf, nc)) {
		int i;

		for (i = 0; i < srv->nlisteners && i < nc->nlisten; i++)
			if (srv->listeners[i].proxy_protocol != nc->listen[i].proxy_protocol) {
				srv->listeners[i].proxy_protocol = nc->listen[i].proxy_protocol;
				log_info("listening on %s%s", nc->listen[i].text,
				    nc->listen[i].proxy_protocol ? " (PROXY protocol)" : " (no PROXY header)");
			}
	}
	if (accesslog_open(nc->access_log) == -1)
		log_warn("access_log %s", nc->access_log);
	if (log_open(nc->error_log, (enum log_level)nc->log_level) == -1)
		log_warn("error_log %s", nc->error_log);
	srv->upstream = upstream;	/* what was down is tried again */
	srv->upstream_gen++;
	if (ts != NULL) {
		/* new handshakes use the new certificates; open connections keep theirs (tls.h) */
		tls_server_free(srv->tls);
		srv->tls = ts;
	}
	server_backend_flush(srv);
	if (bctx != NULL) {
		if (srv->backend_tls != NULL)
			SSL_CTX_free(srv->backend_tls);
		srv->backend_tls = bctx;
	}
	conf_unref(srv->conf);
	srv->conf = nc;
	if (srv->resolve_timer != NULL)
		evtimer_del(srv->resolve_timer);
	server_resolve_schedule(srv);
	server_quota_sync_start(srv);
	server_quota_limits(srv);
	srv->backend_key_day = -1;
	if (kept.len != 0)
		log_warnx("reloaded, but these directives keep their values from the start until s3gate "
		    "restarts (one process: its sockets, store and user are set up once):%s", kept.data);
	else
		log_info("reloaded");
	sbuf_free(&kept);
	sbuf_free(&errors);
	return;
fail:
	log_warnx("reload failed, keeping the running configuration:\n%s", errors.data);
	tls_server_free(ts);
	if (bctx != NULL)
		SSL_CTX_free(bctx);
	conf_unref(nc);
	sbuf_free(&errors);
}

static void
server_drain_check(struct server *srv)
{
	if (srv->draining && srv->nconns == 0)
		event_base_loopexit(srv->base, NULL);
}

static void
server_drain_timeout_cb(evutil_socket_t fd, short what, void *arg)
{
	struct server *srv = arg;
	struct conn *c;

	log_warnx("shutdown timeout: closing %d connections", srv->nconns);
	while ((c = TAILQ_FIRST(&srv->conns)) != NULL)
		conn_abort(c);
	event_base_loopexit(srv->base, NULL);
}

static void
server_signal_cb(evutil_socket_t sig, short what, void *arg)
{
	struct server *srv = arg;
	struct timeval tv;
	struct conn *c, *next;

	switch (sig) {
	case SIGHUP:
		server_reload(srv);
		break;
	case SIGUSR1:
		log_reopen();
		accesslog_reopen();
		break;
	case SIGTERM:
	case SIGINT:
		if (srv->draining)
			break;
		log_info("draining %d connections (up to %d ms)", srv->nconns,
		    srv->conf->shutdown_timeout_ms);
		srv->draining = 1;
		server_unlisten(srv);
		server_backend_flush(srv);
		/* idle keep-alive clients can go now */
		for (c = TAILQ_FIRST(&srv->conns); c != NULL; c = next) {
			next = TAILQ_NEXT(c, entry);
			if (c->state == CONN_READ_HEAD && c->client.len == 0)
				conn_abort(c);
		}
		tv.tv_sec = srv->conf->shutdown_timeout_ms / 1000;
		tv.tv_usec = (srv->conf->shutdown_timeout_ms % 1000) * 1000;
		srv->drain_timer = evtimer_new(srv->base, server_drain_timeout_cb, srv);
		event_add(srv->drain_timer, &tv);
		server_drain_check(srv);
		break;
	}
}

void
server_conn_closed(struct server *srv, struct conn *c)
{
	TAILQ_REMOVE(&srv->conns, c, entry);
	srv->nconns--;
	__atomic_sub_fetch(&srv->stats->connections_open, 1, __ATOMIC_RELAXED);
	if (c->peer_counted)
		server_peer_count(srv, (const struct sockaddr *)&c->peer_addr, -1);
	/*
	 * A connection holds ~30 KiB of heap; after a storm of them (10 000
	 * idle clients) malloc keeps the freed memory.  Hand it back to the
	 * system now and then: one malloc_trim per SERVER_TRIM_EVERY closes,
	 * or when the last of many has gone.
	 */
	if (++srv->closed_since_trim >= SERVER_TRIM_EVERY ||
	    (srv->nconns == 0 && srv->closed_since_trim >= SERVER_TRIM_EVERY / 16)) {
		srv->closed_since_trim = 0;
		malloc_trim(0);
	}
	server_drain_check(srv);
}

/* ---- admin listener ----------------------------------------------------- */

#define SERVER_ADMIN_MAX_HEAD	8192	/* bytes: request line and headers */
#define SERVER_ADMIN_MAX_BODY	1024	/* GET and HEAD only: no body expected */
/*
 * Seconds without progress (evhttp's timeout, which every byte restarts),
 * and for a whole request head, from the connection's opening or its last
 * answer (server_admin_head_deadline): a probe's or a scraper's head is one
 * packet.  A keep-alive client asking more often than this keeps its
 * connection; Prometheus, scraping every 15 s or more, opens a new one.
 */
#define SERVER_ADMIN_TIMEOUT_S	5
/*
 * Connections served at once; more are closed as they come.  Probes and
 * scrapers hold one or two each: 64 leaves room for several Prometheus
 * replicas, the kubelet and people with curl, and bounds what the admin
 * port can take from worker 0, whose fds and loop serve clients too.
 */
#define SERVER_ADMIN_MAX_CONNS	64

/*
 * One admin connection, from evhttp's bevcb (server_admin_conn_new) to its
 * closecb.  libevent 2.1's evhttp has no cap on connections
 * (evhttp_set_max_connections came in 2.2) and its timeout restarts with
 * every byte, so a client opening many, or dripping a header line every few
 * seconds, held them and their fds for ever.  Knowing each connection from
 * its first moment to its close is enough to count them and to give each
 * request head a deadline: both act by shutting the socket down
 * (server_admin_conn_shut), after which evhttp frees the connection on its
 * own path and calls the closecb.
 *
 * (bufferevent_filter_new's free callback would tell the close too, but
 * through a filter an answer after which evhttp closes the connection —
 * Connection: close, HTTP/1.0, the kubelet's probes — is lost: evhttp
 * shuts the socket down once the filter has passed the answer on, before
 * the socket under it has sent a byte.)
 *
 * The server's list owns it; server_admin_conn_free is its one destructor.
 */
struct server_admin_conn {
	TAILQ_ENTRY(server_admin_conn) entry;
	struct server		*srv;
	struct bufferevent	*bev;		/* evhttp's; until attached also ours (a reference) */
	struct evhttp_connection *evcon;	/* NULL until attached (server_admin_conn_timer) */
	struct event		*timer;		/* first the attach, then the head deadline */
	int			 refused;	/* over SERVER_ADMIN_MAX_CONNS: shut down once attached */
};

static void
server_admin_conn_free(struct server_admin_conn *ac)
{
	struct server *srv = ac->srv;

	TAILQ_REMOVE(&srv->admin_conns, ac, entry);
	if (!ac->refused)
		srv->nadmin_conns--;
	if (ac->evcon == NULL)
		bufferevent_decref(ac->bev);
	event_free(ac->timer);
	free(ac);
}

/* evhttp's closecb: the connection and its bufferevent are going. */
static void
server_admin_conn_closed(struct evhttp_connection *evcon, void *arg)
{
	server_admin_conn_free(arg);
}

/* evhttp then reads EOF (or fails to write), frees the connection and calls the closecb. */
static void
server_admin_conn_shut(struct server_admin_conn *ac)
{
	evutil_socket_t fd = bufferevent_getfd(ac->bev);

	if (fd != -1)
		shutdown(fd, SHUT_RDWR);
}

/* AC has SERVER_ADMIN_TIMEOUT_S from now for a whole request head. */
static void
server_admin_head_deadline(struct server_admin_conn *ac)
{
	struct timeval tv = { SERVER_ADMIN_TIMEOUT_S, 0 };

	evtimer_add(ac->timer, &tv);
}

/*
 * The timer's first run attaches: server_admin_conn_new activated it, so it
 * runs as soon as evhttp has made the connection, before any I/O on it.
 * evhttp passes its evhttp_connection as the argument of the callbacks of
 * the bufferevent it is given (http.c, evhttp_connection_base_bufferevent_new)
 * — the one way to reach it before a request arrives; none means evhttp
 * has freed it already (it fails so only for want of memory).  Each later
 * run is a head deadline passed.
 */
static void
server_admin_conn_timer(evutil_socket_t unused, short what, void *arg)
{
	struct server_admin_conn *ac = arg;
	void *evcon = NULL;
	char *peer;
	ev_uint16_t port;

	if (ac->evcon != NULL) {
		evhttp_connection_get_peer(ac->evcon, &peer, &port);
		log_debug("admin listener: %s:%u sent no whole request head within %d s; closing",
		    peer, (unsigned)port, SERVER_ADMIN_TIMEOUT_S);
		server_admin_conn_shut(ac);
		return;
	}
	bufferevent_getcb(ac->bev, NULL, NULL, NULL, &evcon);
	if (evcon == NULL) {
		server_admin_conn_free(ac);
		return;
	}
	ac->evcon = evcon;
	evhttp_connection_set_closecb(ac->evcon, server_admin_conn_closed, ac);
	bufferevent_decref(ac->bev);	/* evhttp's reference holds it from here */
	if (ac->refused)
		server_admin_conn_shut(ac);
	else
		server_admin_head_deadline(ac);
}

/*
 * evhttp's bevcb: the bufferevent of a connection just accepted (no fd yet:
 * evhttp sets it), as evhttp would make it.  Our reference keeps it until
 * the attach, in case evhttp frees it first.  Over SERVER_ADMIN_MAX_CONNS
 * the connection is refused, counted, and logged once for each run of
 * refusals.
 */
static struct bufferevent *
server_admin_conn_new(struct event_base *base, void *arg)
{
	struct server *srv = arg;
	struct server_admin_conn *ac;

	if ((ac = calloc(1, sizeof(*ac))) == NULL)
		abort();
	ac->srv = srv;
	if ((ac->bev = bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE)) == NULL)
		fatalx("bufferevent_socket_new failed");
	if ((ac->timer = evtimer_new(base, server_admin_conn_timer, ac)) == NULL)
		fatalx("evtimer_new failed");
	bufferevent_incref(ac->bev);
	if (srv->nadmin_conns >= SERVER_ADMIN_MAX_CONNS) {
		ac->refused = 1;
		srv->stats->admin_refused++;
		if (srv->admin_refused_burst++ == 0)
			log_warnx("admin listener: %d connections open; refusing more until one closes",
			    SERVER_ADMIN_MAX_CONNS);
	} else {
		srv->nadmin_conns++;
		if (srv->admin_refused_burst > 0) {
			log_info("admin listener: serving again after refusing %llu connections",
			    (unsigned long long)srv->admin_refused_burst);
			srv->admin_refused_burst = 0;
		}
	}
	TAILQ_INSERT_TAIL(&srv->admin_conns, ac, entry);
	event_active(ac->timer, EV_TIMEOUT, 1);
	return ac->bev;
}

/*
 * Sends REQ's answer (BODY freed) and gives its connection a new head
 * deadline for the next request.  Every answer after which evhttp keeps
 * the connection comes through here: its own (400, 404, 413, 501) close it.
 */
static void
server_admin_reply(struct server *srv, struct evhttp_request *req, int code, const char *reason,
    struct evbuffer *body)
{
	struct bufferevent *bev = evhttp_connection_get_bufferevent(evhttp_request_get_connection(req));
	struct server_admin_conn *ac;

	TAILQ_FOREACH(ac, &srv->admin_conns, entry)
		if (ac->bev == bev) {
			server_admin_head_deadline(ac);
			break;
		}
	evhttp_send_reply(req, code, reason, body);
	evbuffer_free(body);
}

static void
server_admin_healthz(struct evhttp_request *req, void *arg)
{
	struct evbuffer *b = evbuffer_new();

	evbuffer_add_printf(b, "ok\n");
	server_admin_reply(arg, req, 200, "OK", b);
}

/*
 * The backend probe behind /readyz.  The admin listener runs in worker 0's
 * event loop, which serves clients too: nothing here blocks (a blocking
 * connect(2) in the handler held the loop for up to a second per request).
 */
#define SERVER_PROBE_INTERVAL_S	2
#define SERVER_PROBE_TIMEOUT_S	1

static int	server_probe_dial(struct server *);

/*
 * The dial to PROBE_ADDR ended, connected (ERR 0) or not (ERR says why):
 * a failure marks the address down as a request's dial does (upstream.h),
 * and the next one is dialled at once; a connect brings back only an
 * address that failed a connect (upstream_connected), not one that took
 * connections and failed requests on them.  The backend is unreachable
 * when every address failed.
 */
static void
server_probe_done(struct server *srv, int err)
{
	int connected = err == 0;

	struct timeval tv = { SERVER_PROBE_INTERVAL_S, 0 };

	if (srv->probe_ev != NULL) {
		event_free(srv->probe_ev);
		srv->probe_ev = NULL;
	}
	if (srv->probe_ssl != NULL) {
		SSL_free(srv->probe_ssl);
		srv->probe_ssl = NULL;
	}
	if (srv->probe_fd != -1) {
		close(srv->probe_fd);
		srv->probe_fd = -1;
	}
	if (srv->probe_tried != 0 && srv->probe_gen == srv->upstream_gen) {
		if (connected)
			(void)upstream_connected(&srv->upstream, srv->probe_addr);
		else if (upstream_failed(&srv->upstream, srv->probe_addr, UPSTREAM_FAIL_CONNECT,
		    conn_now_ms(), srv->conf->backend_fail_timeout_ms)) {
			srv->stats->backend_marked_down[UPSTREAM_FAIL_CONNECT]++;
			server_backend_flush_addr(srv, srv->probe_addr);
			log_warnx("readiness probe: backend %s: %s; not dialled for %d ms",
			    srv->upstream.addr[srv->probe_addr].text,
			    err == EPROTO ? "TLS handshake failed" : strerror(err),
			    srv->conf->backend_fail_timeout_ms);
		}
	}
	if (!connected && server_probe_dial(srv))
		return;
	srv->backend_reachable = connected;
	evtimer_add(srv->probe_timer, &tv);
}

static void	server_probe_cb(evutil_socket_t, short, void *);

/*
 * Waits for the probe's socket (WANT: SOCKIO_WANT_*) for at most
 * SERVER_PROBE_TIMEOUT_S: each step of the connect and the handshake has
 * that long.
 */
static void
server_probe_wait(struct server *srv, int want)
{
	struct timeval tv = { SERVER_PROBE_TIMEOUT_S, 0 };

	if (srv->probe_ev != NULL)
		event_free(srv->probe_ev);
	if ((srv->probe_ev = event_new(srv->base, srv->probe_fd,
	    want == SOCKIO_WANT_READ ? EV_READ : EV_WRITE, server_probe_cb, srv)) == NULL) {
		server_probe_done(srv, ENOMEM);
		return;
	}
	event_add(srv->probe_ev, &tv);
}

/*
 * The probe's handshake with an https backend, begun or continued: a
 * gateway that takes connections but whose TLS fails (one that speaks no
 * TLS, a certificate refused) fails every request, and so the probe.
 */
static void
server_probe_tls(struct server *srv)
{
	int r, want = 0;

	if (srv->probe_ssl == NULL &&
	    (srv->probe_ssl = tls_backend_connect(srv->backend_tls, srv->probe_fd,
	    srv->conf->backend_connect_host)) == NULL) {
		server_probe_done(srv, EPROTO);
		return;
	}
	if ((r = sockio_handshake(srv->probe_ssl, &want)) == 0)
		server_probe_wait(srv, want);
	else {
		ERR_clear_error();
		server_probe_done(srv, r == -1 ? EPROTO : 0);
	}
}

/* The probe's socket connected: done, or the TLS handshake next. */
static void
server_probe_connected(struct server *srv)
{
	if (srv->conf->backend_tls && srv->backend_tls != NULL)
		server_probe_tls(srv);
	else
		server_probe_done(srv, 0);
}

static void
server_probe_cb(evutil_socket_t fd, short what, void *arg)
{
	struct server *srv = arg;
	socklen_t len = sizeof(int);
	int err = 0;

	if (what & EV_TIMEOUT)
		err = ETIMEDOUT;
	else if (srv->probe_ssl != NULL) {
		server_probe_tls(srv);
		return;
	} else if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == -1)
		err = errno;
	if (err == 0)
		server_probe_connected(srv);
	else
		server_probe_done(srv, err);
}

/* Dials the next address this probe has not: 1, or 0 when none is left. */
static int
server_probe_dial(struct server *srv)
{
	const struct upstream_addr *a;
	int i, fd;

	if ((i = upstream_pick(&srv->upstream, conn_now_ms(), srv->probe_tried)) == -1)
		return 0;
	a = &srv->upstream.addr[i];
	srv->probe_tried |= 1u << i;
	srv->probe_addr = i;
	srv->probe_gen = srv->upstream_gen;
	if ((fd = socket(a->ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) == -1) {
		server_probe_done(srv, errno);
		return 1;
	}
	srv->probe_fd = fd;
	if (connect(fd, (const struct sockaddr *)&a->ss, a->len) == 0)
		server_probe_connected(srv);
	else if (errno != EINPROGRESS)
		server_probe_done(srv, errno);
	else
		server_probe_wait(srv, SOCKIO_WANT_WRITE);
	return 1;
}

static void
server_probe_start(evutil_socket_t unused, short what, void *arg)
{
	struct server *srv = arg;

	if (srv->probe_ev != NULL || srv->draining)
		return;
	srv->probe_tried = 0;
	if (!server_probe_dial(srv))
		server_probe_done(srv, EHOSTUNREACH);	/* no address at all */
}

/* /readyz: the last backend probe, the store, draining; answered at once. */
static void
server_admin_readyz(struct evhttp_request *req, void *arg)
{
	struct server *srv = arg;
	struct evbuffer *b = evbuffer_new();
	int ok_backend = srv->backend_reachable == 1, ok_store;

	ok_store = srv->store != NULL && pstore_ready(srv->store);
	evbuffer_add_printf(b, "backend %s\npolicy_store %s\n", ok_backend ? "ok" :
	    srv->backend_reachable == -1 ? "unknown (first probe under way)" : "unreachable",
	    ok_store ? "ok" : "unavailable");
	if (srv->draining)
		evbuffer_add_printf(b, "draining\n");
	server_admin_reply(srv, req, ok_backend && ok_store && !srv->draining ? 200 : 503,
	    ok_backend && ok_store ? "OK" : "Service Unavailable", b);
}

/* One histogram of server_latency_bounds_ms in Prometheus text format. */
static void
server_metrics_histogram(struct evbuffer *b, const char *name, const uint64_t buckets[12],
    double sum, uint64_t count)
{
	int i;

	evbuffer_add_printf(b, "# TYPE %s histogram\n", name);
	for (i = 0; i < 11; i++)
		evbuffer_add_printf(b, "%s_bucket{le=\"%g\"} %llu\n", name,
		    server_latency_bounds_ms[i] / 1000, (unsigned long long)buckets[i]);
	evbuffer_add_printf(b, "%s_bucket{le=\"+Inf\"} %llu\n%s_sum %.6f\n%s_count %llu\n",
	    name, (unsigned long long)buckets[11], name, sum, name, (unsigned long long)count);
}

/*
 * When each certificate of the TLS listeners ends (the ones handshakes use
 * now: a reload's), for an alert well before clients refuse it; labelled
 * by its file, escaped as Prometheus label values are.
 */
static void
server_metrics_certificates(const struct server *srv, struct evbuffer *b)
{
	const struct conf *cf = srv->conf;
	struct sbuf label = SBUF_INIT;
	const char *p;
	time_t t;
	int i;

	if (cf->ncerts == 0)
		return;
	evbuffer_add_printf(b, "# HELP s3gate_tls_certificate_not_after_seconds When a TLS "
	    "listener's certificate expires (Unix time).\n"
	    "# TYPE s3gate_tls_certificate_not_after_seconds gauge\n");
	for (i = 0; i < cf->ncerts; i++) {
		if (tls_server_not_after(srv->tls, i, &t) == -1)
			continue;
		sbuf_reset(&label);
		for (p = cf->certs[i].cert_file; *p != '\0'; p++) {
			if (*p == '"' || *p == '\\' || *p == '\n')
				sbuf_append(&label, "\\", 1);
			sbuf_append(&label, *p == '\n' ? "n" : p, 1);
		}
		evbuffer_add_printf(b, "s3gate_tls_certificate_not_after_seconds{certificate=\"%s\"} %lld\n",
		    label.data, (long long)t);
	}
	sbuf_free(&label);
}

static void
server_admin_metrics(struct evhttp_request *req, void *arg)
{
	struct server *srv = arg;
	struct server_stats sum, *st = &sum;
	struct evbuffer *b = evbuffer_new();
	int i, w;

	evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
	    "text/plain; version=0.0.4");

	/*
	 * Every process's slot summed, those of processes gone too: counters
	 * are monotonic, a torn read is harmless.
	 */
	memset(&sum, 0, sizeof(sum));
	for (w = 0; w < srv->nslots; w++) {
		const struct server_stats *ws = &srv->all_stats[w];
		const uint64_t *from = (const uint64_t *)(const void *)ws;
		uint64_t *to = (uint64_t *)(void *)&sum;
		int k;

		for (i = 0; i < (int)(offsetof(struct server_stats, actions) / sizeof(uint64_t)); i++)
			to[i] += from[i];
		for (k = 0; k < SERVER_MAX_ACTIONS && ws->actions[k].name[0] != '\0'; k++) {
			struct server_action_count *ac = server_action_slot(&sum, ws->actions[k].name);
			if (ac == NULL)
				break;
			ac->allow += ws->actions[k].allow;
			ac->deny += ws->actions[k].deny;
			ac->other += ws->actions[k].other;
		}
		sum.latency_sum += ws->latency_sum;
		sum.ttfb_sum += ws->ttfb_sum;
	}
	evbuffer_add_printf(b, "# HELP s3gate_requests_total Requests answered, by status class.\n"
	    "# TYPE s3gate_requests_total counter\n");
	for (i = 1; i <= 5; i++)
		evbuffer_add_printf(b, "s3gate_requests_total{status=\"%dxx\"} %llu\n", i,
		    (unsigned long long)st->status_class[i]);
	evbuffer_add_printf(b, "# TYPE s3gate_decisions_total counter\n"
	    "s3gate_decisions_total{decision=\"allow\"} %llu\n"
	    "s3gate_decisions_total{decision=\"deny\"} %llu\n",
	    (unsigned long long)st->allowed, (unsigned long long)st->denied);
	evbuffer_add_printf(b, "# TYPE s3gate_auth_failures_total counter\ns3gate_auth_failures_total %llu\n",
	    (unsigned long long)st->auth_failures);
	evbuffer_add_printf(b, "# TYPE s3gate_bytes_total counter\n"
	    "s3gate_bytes_total{direction=\"in\"} %llu\ns3gate_bytes_total{direction=\"out\"} %llu\n",
	    (unsigned long long)st->bytes_in, (unsigned long long)st->bytes_out);
	evbuffer_add_printf(b, "# HELP s3gate_body_bytes_total Body bytes by relay engine.\n"
	    "# TYPE s3gate_body_bytes_total counter\n"
	    "s3gate_body_bytes_total{engine=\"splice\"} %llu\ns3gate_body_bytes_total{engine=\"copy\"} %llu\n",
	    (unsigned long long)st->bytes_spliced, (unsigned long long)st->bytes_copied);
	evbuffer_add_printf(b, "# TYPE s3gate_connections gauge\ns3gate_connections %d\n"
	    "# TYPE s3gate_connections_total counter\ns3gate_connections_total %llu\n",
	    (int)st->connections_open, (unsigned long long)st->connections_total);
	/* this generation's workers one by one: how the accept balancing spread the clients */
	evbuffer_add_printf(b, "# TYPE s3gate_worker_connections gauge\n");
	for (w = 0; w < srv->nworkers; w++)
		evbuffer_add_printf(b, "s3gate_worker_connections{worker=\"%d\"} %llu\n", w,
		    (unsigned long long)server_slot_conns(srv, srv->peer_slots[w]));
	evbuffer_add_printf(b, "# TYPE s3gate_backend_connections_total counter\n"
	    "s3gate_backend_connections_total{kind=\"new\"} %llu\n"
	    "s3gate_backend_connections_total{kind=\"reused\"} %llu\n"
	    "# TYPE s3gate_backend_errors_total counter\ns3gate_backend_errors_total %llu\n"
	    "# TYPE s3gate_backend_idle gauge\ns3gate_backend_idle %d\n"
	    "# HELP s3gate_backend_marked_down_total Backend addresses skipped for backend_fail_timeout, "
	    "by what failed: connect (refused or not taken in time), reset (a new connection closed "
	    "before an answer), timeout (no answer to an object's GET or HEAD within backend_timeout), status "
	    "(an answer backend_fail_status names), invalid (an answer head that is not HTTP).\n# TYPE s3gate_backend_marked_down_total counter\n",
	    (unsigned long long)st->backend_connects, (unsigned long long)st->backend_reuses,
	    (unsigned long long)st->backend_errors, (int)st->backend_idle);
	for (i = 0; i < UPSTREAM_FAIL__N; i++)
		evbuffer_add_printf(b, "s3gate_backend_marked_down_total{reason=\"%s\"} %llu\n",
		    upstream_fail_name((enum upstream_fail)i),
		    (unsigned long long)st->backend_marked_down[i]);
	/* the backend's addresses as the worker answering sees them (each worker learns on its own) */
	evbuffer_add_printf(b, "# HELP s3gate_backend_address_up Whether a backend address is dialled "
	    "(0: skipped after a failure), as the worker answering sees it.\n"
	    "# TYPE s3gate_backend_address_up gauge\n");
	for (w = 0; w < srv->upstream.n; w++)
		evbuffer_add_printf(b, "s3gate_backend_address_up{address=\"%s\"} %d\n",
		    srv->upstream.addr[w].text, upstream_is_up(&srv->upstream, w, conn_now_ms()));
	evbuffer_add_printf(b, "# TYPE s3gate_client_aborts_total counter\ns3gate_client_aborts_total %llu\n"
	    "# HELP s3gate_slow_clients_total Bodies closed for moving under body_min_rate.\n"
	    "# TYPE s3gate_slow_clients_total counter\ns3gate_slow_clients_total %llu\n",
	    (unsigned long long)st->client_aborts, (unsigned long long)st->slow_clients);
	evbuffer_add_printf(b, "# HELP s3gate_accept_empty_wakeups_total Wake-ups of a worker for a new "
	    "connection that another worker took.\n# TYPE s3gate_accept_empty_wakeups_total counter\n"
	    "s3gate_accept_empty_wakeups_total %llu\n", (unsigned long long)st->accept_empty);
	evbuffer_add_printf(b, "# HELP s3gate_refused_connections_total Connections refused over "
	    "max_connections or max_connections_per_ip.\n# TYPE s3gate_refused_connections_total counter\n"
	    "s3gate_refused_connections_total %llu\n", (unsigned long long)st->refused_connections);
	evbuffer_add_printf(b, "# HELP s3gate_admin_connections Connections open to the admin "
	    "listener.\n# TYPE s3gate_admin_connections gauge\ns3gate_admin_connections %d\n"
	    "# HELP s3gate_admin_connections_refused_total Admin listener connections refused over "
	    "its cap of %d.\n# TYPE s3gate_admin_connections_refused_total counter\n"
	    "s3gate_admin_connections_refused_total %llu\n", srv->nadmin_conns, SERVER_ADMIN_MAX_CONNS,
	    (unsigned long long)st->admin_refused);
	evbuffer_add_printf(b, "# HELP s3gate_throttled_requests_total Requests answered SlowDown "
	    "(quota_request_rate, quota_connections).\n# TYPE s3gate_throttled_requests_total counter\n"
	    "s3gate_throttled_requests_total %llu\n"
	    "# HELP s3gate_throttle_waits_total Body transfers paused by quota_bandwidth.\n"
	    "# TYPE s3gate_throttle_waits_total counter\ns3gate_throttle_waits_total %llu\n",
	    (unsigned long long)st->throttled_requests, (unsigned long long)st->throttle_waits);
	evbuffer_add_printf(b, "# HELP s3gate_quota_syncs_total Shared quota batches exchanged with "
	    "Redis (quota_shared).\n# TYPE s3gate_quota_syncs_total counter\n"
	    "s3gate_quota_syncs_total %llu\n"
	    "# HELP s3gate_quota_sync_failures_total Shared quota batches that failed (per process "
	    "quotas meanwhile).\n# TYPE s3gate_quota_sync_failures_total counter\n"
	    "s3gate_quota_sync_failures_total %llu\n",
	    (unsigned long long)st->quota_syncs, (unsigned long long)st->quota_sync_failures);
	evbuffer_add_printf(b, "# HELP s3gate_link_uncounted_total Downloads of --max-uses links "
	    "refused (503 SlowDown) because the workers' shared table of link counts was full.\n"
	    "# TYPE s3gate_link_uncounted_total counter\ns3gate_link_uncounted_total %llu\n",
	    (unsigned long long)st->link_uncounted);
	server_metrics_histogram(b, "s3gate_request_duration_seconds", st->latency_bucket,
	    st->latency_sum, st->requests);
	server_metrics_histogram(b, "s3gate_time_to_first_byte_seconds", st->ttfb_bucket,
	    st->ttfb_sum, st->ttfb_count);
	{
		/* this worker's store (worker 0 serves /metrics) */
		struct pstore_stats ps;
		pstore_get_stats(srv->store, &ps);
		evbuffer_add_printf(b, "# HELP s3gate_policy_cache_total Policy lookups by outcome "
		    "(worker 0's store).\n# TYPE s3gate_policy_cache_total counter\n"
		    "s3gate_policy_cache_total{outcome=\"hit\"} %llu\n"
		    "s3gate_policy_cache_total{outcome=\"stale_hit\"} %llu\n"
		    "s3gate_policy_cache_total{outcome=\"miss\"} %llu\n"
		    "s3gate_policy_cache_total{outcome=\"unavailable\"} %llu\n"
		    "# TYPE s3gate_policy_invalidations_total counter\n"
		    "s3gate_policy_invalidations_total %llu\n"
		    "# TYPE s3gate_policy_reloads_total counter\ns3gate_policy_reloads_total %llu\n"
		    "# TYPE s3gate_policy_store_up gauge\ns3gate_policy_store_up %d\n",
		    ps.hits, ps.stale_hits, ps.misses, ps.unavailable, ps.invalidations, ps.reloads,
		    ps.connected);
	}
	server_metrics_certificates(srv, b);
	evbuffer_add_printf(b, "# HELP s3gate_actions_total Requests by S3 action and decision.\n"
	    "# TYPE s3gate_actions_total counter\n");
	for (i = 0; i < SERVER_MAX_ACTIONS && st->actions[i].name[0] != '\0'; i++) {
		evbuffer_add_printf(b, "s3gate_actions_total{action=\"%s\",decision=\"allow\"} %llu\n"
		    "s3gate_actions_total{action=\"%s\",decision=\"deny\"} %llu\n"
		    "s3gate_actions_total{action=\"%s\",decision=\"none\"} %llu\n",
		    st->actions[i].name, (unsigned long long)st->actions[i].allow,
		    st->actions[i].name, (unsigned long long)st->actions[i].deny,
		    st->actions[i].name, (unsigned long long)st->actions[i].other);
	}
	server_admin_reply(srv, req, 200, "OK", b);
}

/* Binds admin_listen (parsed by conf.c) in worker 0; -1 with ERRORS if it cannot. */
static int
server_admin_start(struct server *srv, struct sbuf *errors)
{
	const struct conf *cf = srv->conf;
	struct evconnlistener *l;

	if (cf->admin_addr_len == 0)
		return 0;	/* off */
	if ((srv->admin = evhttp_new(srv->base)) == NULL)
		fatalx("evhttp_new");
	/*
	 * It shares worker 0's event loop with the clients: libevent's
	 * defaults (no limit on a header line or a body, no timeout, no cap on
	 * connections) let one admin client take hundreds of MiB, the loop's
	 * CPU and the worker's fds.  A request head of SERVER_ADMIN_MAX_HEAD
	 * at most, within SERVER_ADMIN_TIMEOUT_S; no body; at most
	 * SERVER_ADMIN_MAX_CONNS connections (server_admin_conn_new).
	 */
	evhttp_set_max_headers_size(srv->admin, SERVER_ADMIN_MAX_HEAD);
	evhttp_set_max_body_size(srv->admin, SERVER_ADMIN_MAX_BODY);
	evhttp_set_timeout(srv->admin, SERVER_ADMIN_TIMEOUT_S);
	evhttp_set_bevcb(srv->admin, server_admin_conn_new, srv);
	evhttp_set_allowed_methods(srv->admin, EVHTTP_REQ_GET | EVHTTP_REQ_HEAD);
	evhttp_set_cb(srv->admin, "/healthz", server_admin_healthz, srv);
	evhttp_set_cb(srv->admin, "/readyz", server_admin_readyz, srv);
	evhttp_set_cb(srv->admin, "/metrics", server_admin_metrics, srv);
	/* SO_REUSEPORT: a new generation's worker binds while the old one drains */
	l = evconnlistener_new_bind(srv->base, NULL, NULL, LEV_OPT_CLOSE_ON_FREE |
	    LEV_OPT_CLOSE_ON_EXEC | LEV_OPT_REUSEABLE | LEV_OPT_REUSEABLE_PORT, 128,
	    (const struct sockaddr *)&cf->admin_addr, (int)cf->admin_addr_len);
	if (l == NULL || evhttp_bind_listener(srv->admin, l) == NULL) {
		sbuf_appendf(errors, "%s: admin_listen %s: %s; is another process using the port?\n",
		    cf->file, cf->admin_listen, strerror(errno));
		if (l != NULL)
			evconnlistener_free(l);
		return -1;
	}
	if ((srv->probe_timer = evtimer_new(srv->base, server_probe_start, srv)) == NULL)
		fatalx("evtimer_new");
	server_probe_start(-1, 0, srv);
	log_info("admin listener on %s", cf->admin_listen);
	return 0;
}

/* ---- life cycle ---------------------------------------------------------- */

struct server *
server_new(struct conf *cf, const struct server_place *place, const int *listen_fds,
    struct sbuf *errors)
{
	struct server *srv;
	int w;

	if ((srv = calloc(1, sizeof(*srv))) == NULL ||
	    (srv->peer_slots = calloc((size_t)place->nworkers, sizeof(int))) == NULL)
		abort();
	srv->conf = cf;
	if (getrandom(srv->peer_hash_key, sizeof(srv->peer_hash_key), 0) !=
	    (ssize_t)sizeof(srv->peer_hash_key))
		memset(srv->peer_hash_key, 0, sizeof(srv->peer_hash_key));	/* unkeyed, still correct */
	srv->backend_key_day = -1;
	srv->probe_fd = -1;
	srv->backend_reachable = -1;
	srv->worker = place->worker;
	srv->loop_epfd = -1;
	srv->nworkers = place->nworkers;
	for (w = 0; w < place->nworkers; w++)
		srv->peer_slots[w] = place->slots[w];
	srv->slot = place->slots[place->worker];
	srv->all_stats = place->all_stats;
	srv->nslots = place->nslots;
	srv->stats = &place->all_stats[srv->slot];
	srv->quota_shm = place->quota_shm;
	server_quota_limits(srv);
	TAILQ_INIT(&srv->conns);
	TAILQ_INIT(&srv->idle);
	TAILQ_INIT(&srv->admin_conns);
	srv->request_id_seed = (uint32_t)getpid() ^ (uint32_t)time(NULL);
	if ((srv->base = event_base_new()) == NULL)
		fatalx("event_base_new");
	if (server_resolve_backend(cf, &srv->upstream, errors) == -1)
		goto fail;
	if ((srv->store = pstore_open(cf, srv->base, errors)) == NULL)
		goto fail;
	if (srv->quota_shm != NULL && srv->nworkers > 1)
		pstore_share_changes(srv->store, &srv->quota_shm->policy_changes);
	server_quota_sync_start(srv);
	srv->keycache = sigv4_keycache_new(1024);
	if (cf->ncerts > 0 && (srv->tls = tls_server_new(cf, errors)) == NULL)
		goto fail;
	if (cf->backend_tls && (srv->backend_tls = tls_backend_ctx_new(cf, errors)) == NULL)
		goto fail;
	if (server_listen(srv, listen_fds, errors) == -1)
		goto fail;
	if (jobs_init(srv->base) == -1) {
		sbuf_appendf(errors, "cannot start the jobs thread\n");
		goto fail;
	}
	if ((srv->resolve_timer = evtimer_new(srv->base, server_resolve_start, srv)) == NULL)
		fatalx("evtimer_new");
	server_resolve_schedule(srv);
	if (srv->worker == 0 && server_admin_start(srv, errors) == -1)
		goto fail;
	signal(SIGPIPE, SIG_IGN);
	srv->sig_hup = evsignal_new(srv->base, SIGHUP, server_signal_cb, srv);
	srv->sig_term = evsignal_new(srv->base, SIGTERM, server_signal_cb, srv);
	srv->sig_int = evsignal_new(srv->base, SIGINT, server_signal_cb, srv);
	srv->sig_usr1 = evsignal_new(srv->base, SIGUSR1, server_signal_cb, srv);
	evsignal_add(srv->sig_hup, NULL);
	evsignal_add(srv->sig_term, NULL);
	evsignal_add(srv->sig_int, NULL);
	evsignal_add(srv->sig_usr1, NULL);
	return srv;
fail:
	server_free(srv);
	return NULL;
}

int
server_run(struct server *srv)
{
	event_base_dispatch(srv->base);
	log_info("stopped");
	return 0;
}

void
server_free(struct server *srv)
{
	struct server_admin_conn *ac;
	struct conn *c;
	int i;

	if (srv == NULL)
		return;
	while ((c = TAILQ_FIRST(&srv->conns)) != NULL)
		conn_abort(c);
	if (srv->resolve_timer != NULL) {
		event_free(srv->resolve_timer);
		srv->resolve_timer = NULL;	/* a lookup handed back now schedules none */
	}
	jobs_shutdown();
	server_backend_flush(srv);
	server_unlisten(srv);
	tls_server_free(srv->tls);
	if (srv->backend_tls != NULL)
		SSL_CTX_free(srv->backend_tls);
	if (srv->admin != NULL)
		evhttp_free(srv->admin);	/* each connection's closecb frees its server_admin_conn */
	while ((ac = TAILQ_FIRST(&srv->admin_conns)) != NULL)
		server_admin_conn_free(ac);	/* not attached yet: the loop stopped first */
	if (srv->probe_ev != NULL)
		event_free(srv->probe_ev);
	if (srv->probe_ssl != NULL)
		SSL_free(srv->probe_ssl);
	if (srv->probe_fd != -1)
		close(srv->probe_fd);
	if (srv->probe_timer != NULL)
		event_free(srv->probe_timer);
	if (srv->drain_timer != NULL)
		event_free(srv->drain_timer);
	if (srv->quota_shm_tick != NULL)
		event_free(srv->quota_shm_tick);
	if (srv->sig_hup != NULL) {
		event_free(srv->sig_hup);
		event_free(srv->sig_term);
		event_free(srv->sig_int);
		event_free(srv->sig_usr1);
	}
	if (srv->keycache != NULL)
		sigv4_keycache_free(srv->keycache);
	quotasync_free(srv->qsync);	/* before the table its batches point into */
	if (srv->store != NULL)
		pstore_free(srv->store);
	for (i = 0; i < (int)(sizeof(srv->peers) / sizeof(srv->peers[0])); i++) {
		struct peer_count *p, *next;
		for (p = srv->peers[i]; p != NULL; p = next) {
			next = p->next;
			free(p);
		}
	}
	quota_table_free(&srv->quotas);
	for (i = 0; i < 256; i++) {
		struct link_usage *u, *un;
		for (u = srv->link_usage[i]; u != NULL; u = un) {
			un = u->next;
			free(u);
		}
	}
	forward_scratch_free(&srv->forward_scratch);
	explicit_bzero(srv->backend_key, sizeof(srv->backend_key));
	conf_unref(srv->conf);
	if (srv->base != NULL)
		event_base_free(srv->base);
	free(srv->peer_slots);
	free(srv);
}
