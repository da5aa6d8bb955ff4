#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>
#include <hiredis/hiredis.h>
#include <hiredis/async.h>

#include "policy/redisstore.h"
#include "proxy/log.h"
#include "proxy/quota.h"
#include "proxy/quotashm.h"
#include "proxy/quotasync.h"
#include "proxy/server.h"

#define QS_TIMEOUT_MS		1000	/* a batch (or the connect) longer than this: down */
#define QS_IDLE_PING_MS		1000
#define QS_BACKOFF_MIN_MS	100
#define QS_BACKOFF_MAX_MS	2000
#define QS_CMDS_PER_ITEM	3	/* INCRBY, EXPIRE, GET */

static const char *const qs_kind_names[QUOTA_NKINDS] = { "req", "in", "out" };

/* One principal and kind in a batch: what was added and the totals read back. */
struct qs_item {
	struct quota_entry	*q;	/* lives as long as the server's table */
	struct link_usage	*link;	/* or a link's download budget (then q is NULL) */
	enum quota_kind		 kind;
	long long		 cur, prev;
};

struct qs_batch {
	struct quotasync	*qs;
	struct qs_item		*items;
	size_t			 nitems;
	size_t			 expect;	/* replies due */
	size_t			 replies;	/* replies in */
	int			 failed;
	double			 frac;		/* into WINDOW when sent */
	long long		 sent_ms;
};

struct quotasync {
	struct server		*srv;
	char			 url[512];	/* the store's, for the log: without its password */
	redisAsyncContext	*ac;
	struct event		*tick;
	struct qs_batch		*batch;		/* in flight, or NULL */
	int			 up;
	int			 closing;
	long long		 retry_ms;
	int			 backoff_ms;
	long long		 ping_ms;	/* last idle PING */
	const char		*kill_why;	/* set in a reply callback, done by the tick */
};

static long long
qs_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static double
qs_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
qs_set_up(struct quotasync *qs, int up)
{
	struct quota_entry *q;
	double now;
	int i;

	if (qs->up == up)
		return;
	qs->up = up;
	if (up)
		log_info("quota sync: shared quotas through %s", qs->url);
	else
		log_warnx("quota sync: %s unreachable; quotas per %s until it answers",
		    qs->url, server_quota_shm_active(qs->srv) ? "instance" : "process");
	server_quota_limits(qs->srv);
	/* transfers under way switch too: the whole limits, or this worker's share */
	now = qs_now();
	for (i = 0; i < QUOTA_SLOTS; i++)
		for (q = qs->srv->quotas.slots[i]; q != NULL; q = q->next) {
			struct quota_limits whole = q->whole;	/* not aliased with what it sets */

			quota_set_limits(q, &whole, qs->srv->nworkers, qs->srv->quota_defaults.shared, now);
		}
}

static void
qs_batch_done(struct qs_batch *b)
{
	struct quotasync *qs = b->qs;
	double now;
	size_t i;

	qs->batch = NULL;
	if (!qs->closing) {
		if (b->failed) {
			qs->srv->stats->quota_sync_failures++;
			qs_set_up(qs, 0);
		} else {
			now = qs_now();
			for (i = 0; i < b->nitems; i++) {
				struct qs_item *it = &b->items[i];

				if (it->link != NULL) {
					/* every instance's bytes; pending kept what came since */
					it->link->served_global = (uint64_t)it->cur;
					if (it->link->shared != NULL)	/* for this s3gate's other workers */
						quotashm_link_instances(it->link->shared, (uint64_t)it->cur);
					continue;
				}
				quota_sync_apply(it->q, it->kind, quota_window_allowance(
				    quota_kind_limit(it->q, it->kind), (double)it->cur, (double)it->prev,
				    b->frac), now);
			}
			qs->srv->stats->quota_syncs++;
			qs->backoff_ms = QS_BACKOFF_MIN_MS;
			qs_set_up(qs, 1);
		}
	}
	free(b->items);
	free(b);
}

/* Replies come in the order sent: the Nth is item N / 3, command N % 3. */
static void
qs_reply_cb(redisAsyncContext *ac, void *r, void *privdata)
{
	struct qs_batch *b = privdata;
	redisReply *reply = r;
	size_t n = b->replies++;
	struct qs_item *it;

	if (reply == NULL || reply->type == REDIS_REPLY_ERROR) {
		b->failed = 1;
		/*
		 * A replica: the master changed (a Sentinel failover) and this
		 * connection was not closed; the next one goes to the master.
		 */
		if (reply != NULL && strncmp(reply->str, "READONLY", 8) == 0)
			b->qs->kill_why = "the server is a read-only replica now";
	} else if (b->nitems > 0 && n / QS_CMDS_PER_ITEM < b->nitems) {
		it = &b->items[n / QS_CMDS_PER_ITEM];
		switch (n % QS_CMDS_PER_ITEM) {
		case 0:
			if (reply->type != REDIS_REPLY_INTEGER)
				b->failed = 1;
			else
				it->cur = reply->integer;
			break;
		case 2:
			if (it->link != NULL)
				break;		/* a link's third command is a PING */
			if (reply->type == REDIS_REPLY_STRING)
				it->prev = strtoll(reply->str, NULL, 10);
			else if (reply->type != REDIS_REPLY_NIL)
				b->failed = 1;
			break;
		}
	}
	if (b->replies == b->expect)
		qs_batch_done(b);
}

static void
qs_on_connect(const redisAsyncContext *ac, int status)
{
	struct quotasync *qs = ac->data;

	if (qs == NULL || status == REDIS_OK)
		return;
	qs->ac = NULL;		/* hiredis frees it after this */
	if (qs->backoff_ms == QS_BACKOFF_MIN_MS)
		log_warnx("quota sync: connect to %s failed: %s", qs->url, ac->errstr);
}

static void
qs_on_disconnect(const redisAsyncContext *ac, int status)
{
	struct quotasync *qs = ac->data;

	if (qs != NULL)
		qs->ac = NULL;
}

static void
qs_down(struct quotasync *qs)
{
	qs->retry_ms = qs_now_ms() + qs->backoff_ms;
	qs->backoff_ms = qs->backoff_ms * 2 > QS_BACKOFF_MAX_MS ? QS_BACKOFF_MAX_MS : qs->backoff_ms * 2;
}

/* Drops the connection now; never from inside one of its callbacks. */
static void
qs_kill(struct quotasync *qs, const char *why)
{
	redisAsyncContext *ac = qs->ac;

	if (ac == NULL)
		return;
	if (!qs->closing)
		log_warnx("quota sync: %s: %s; reconnecting", qs->url, why);
	qs->ac = NULL;
	ac->data = NULL;
	qs_down(qs);
	redisAsyncFree(ac);	/* an in-flight batch completes, failed */
}

static void
qs_connect(struct quotasync *qs)
{
	struct sbuf errors = SBUF_INIT;

	if ((qs->ac = redisstore_async_connect(qs->srv->conf, qs->srv->base,
	    &errors)) == NULL) {
		/* nothing said: behind Sentinel, no master named yet (redisstore.h) */
		if (qs->backoff_ms == QS_BACKOFF_MIN_MS && errors.len > 0)
			log_warnx("quota sync: %.*s", (int)errors.len - 1, errors.data);
		sbuf_free(&errors);
		qs_down(qs);
		qs->srv->stats->quota_sync_failures++;
		qs_set_up(qs, 0);
		return;
	}
	sbuf_free(&errors);
	qs->ac->data = qs;
	redisAsyncSetConnectCallback(qs->ac, qs_on_connect);
	redisAsyncSetDisconnectCallback(qs->ac, qs_on_disconnect);
}

/* What the table spent since the last batch is not shared: forget it. */
static void
qs_forget(struct quotasync *qs)
{
	struct quota_entry *q;
	int i;

	for (i = 0; i < QUOTA_SLOTS; i++)
		for (q = qs->srv->quotas.slots[i]; q != NULL; q = q->next) {
			memset(q->sync_used, 0, sizeof(q->sync_used));
			q->touched = 0;
		}
}

/* A new zeroed item at the end of B's items (*CAP: their allocated count). */
static struct qs_item *
qs_item_add(struct qs_batch *b, size_t *cap)
{
	struct qs_item *it;

	if (b->nitems == *cap) {
		*cap = *cap ? *cap * 2 : 16;
		if ((b->items = reallocarray(b->items, *cap, sizeof(*b->items))) == NULL)
			abort();
	}
	it = &b->items[b->nitems++];
	memset(it, 0, sizeof(*it));
	return it;
}

static void
qs_send(struct quotasync *qs, long long now_ms)
{
	struct qs_batch *b;
	struct quota_entry *q;
	struct timespec wall;
	size_t cap = 0;
	long long window;
	int i, k, rc;

	if ((b = calloc(1, sizeof(*b))) == NULL)
		abort();
	b->qs = qs;
	clock_gettime(CLOCK_REALTIME, &wall);
	window = (long long)wall.tv_sec;
	b->frac = (double)wall.tv_nsec / 1e9;
	b->sent_ms = now_ms;
	for (i = 0; i < QUOTA_SLOTS; i++) {
		for (q = qs->srv->quotas.slots[i]; q != NULL; q = q->next) {
			if (!q->touched)
				continue;
			q->touched = 0;
			for (k = 0; k < QUOTA_NKINDS; k++) {
				struct qs_item *it;

				if (quota_kind_limit(q, (enum quota_kind)k) <= 0)
					continue;
				it = qs_item_add(b, &cap);
				it->q = q;
				it->kind = (enum quota_kind)k;
				rc = redisAsyncCommand(qs->ac, qs_reply_cb, b, "INCRBY " REDISSTORE_PREFIX
				    "q:%s:%s:%lld %llu", q->principal, qs_kind_names[k], window,
				    (unsigned long long)q->sync_used[k]);
				rc |= redisAsyncCommand(qs->ac, qs_reply_cb, b, "EXPIRE " REDISSTORE_PREFIX
				    "q:%s:%s:%lld 2", q->principal, qs_kind_names[k], window);
				rc |= redisAsyncCommand(qs->ac, qs_reply_cb, b, "GET " REDISSTORE_PREFIX
				    "q:%s:%s:%lld", q->principal, qs_kind_names[k], window - 1);
				q->sync_used[k] = 0;
				if (rc != REDIS_OK) {
					/* the context is going away: its callbacks will not come */
					b->failed = 1;
					b->nitems--;
					goto out;
				}
				b->expect += QS_CMDS_PER_ITEM;
			}
		}
	}
	/*
	 * Links with a download budget (--max-uses): one cumulative counter per
	 * link, kept a little longer than the longest link lives (7 days).
	 */
	for (i = 0; i < 256; i++) {
		struct link_usage *u;

		for (u = qs->srv->link_usage[i]; u != NULL; u = u->next) {
			struct qs_item *it;

			/* a link this worker served from: read back what the others
			   served too, every half second even when idle here, while
			   the link lasts */
			if (!u->touched && (now_ms - u->synced_ms < 500 ||
			    (u->expires_at != 0 && u->expires_at < (time_t)window)))
				continue;
			u->touched = 0;
			u->synced_ms = now_ms;
			it = qs_item_add(b, &cap);
			it->link = u;
			rc = redisAsyncCommand(qs->ac, qs_reply_cb, b, "INCRBY " REDISSTORE_PREFIX
			    "link:%s:served %llu", u->id, (unsigned long long)u->pending);
			rc |= redisAsyncCommand(qs->ac, qs_reply_cb, b, "EXPIRE " REDISSTORE_PREFIX
			    "link:%s:served 691200", u->id);
			rc |= redisAsyncCommand(qs->ac, qs_reply_cb, b, "PING");
			u->pending = 0;
			if (rc != REDIS_OK) {
				b->failed = 1;
				b->nitems--;
				goto out;
			}
			b->expect += QS_CMDS_PER_ITEM;
		}
	}
	if (b->nitems == 0 && now_ms - qs->ping_ms >= QS_IDLE_PING_MS) {
		qs->ping_ms = now_ms;
		if (redisAsyncCommand(qs->ac, qs_reply_cb, b, "PING") == REDIS_OK)
			b->expect = 1;
		else
			b->failed = 1;
	}
out:
	if (b->expect == 0 && !b->failed) {	/* nothing to say */
		free(b->items);
		free(b);
		return;
	}
	qs->batch = b;
	if (b->replies == b->expect)
		qs_batch_done(b);
}

static void
qs_tick(evutil_socket_t fd, short what, void *arg)
{
	struct quotasync *qs = arg;
	long long now = qs_now_ms();

	if (qs->kill_why != NULL && qs->batch == NULL) {
		qs_kill(qs, qs->kill_why);
		qs->kill_why = NULL;
	}
	if (qs->batch != NULL) {
		if (now - qs->batch->sent_ms > QS_TIMEOUT_MS)
			qs_kill(qs, "no answer within a second");	/* completes the batch, failed */
		return;
	}
	if (qs->ac == NULL) {
		if (!server_quota_shm_active(qs->srv))
			qs_forget(qs);	/* else the workers' shared windows take what was spent */
		if (now < qs->retry_ms)
			return;
		qs_connect(qs);
		if (qs->ac == NULL)
			return;
	}
	qs_send(qs, now);
}

struct quotasync *
quotasync_new(struct server *srv, struct sbuf *errors)
{
	struct quotasync *qs;
	struct timeval tv = { 0, QUOTA_SYNC_MS * 1000 };

	if ((qs = calloc(1, sizeof(*qs))) == NULL)
		abort();
	qs->srv = srv;
	redisstore_url_shown(srv->conf->store_path, qs->url, sizeof(qs->url));
	qs->backoff_ms = QS_BACKOFF_MIN_MS;
	if ((qs->tick = event_new(srv->base, -1, EV_PERSIST, qs_tick, qs)) == NULL ||
	    event_add(qs->tick, &tv) == -1)
		abort();
	qs_connect(qs);
	return qs;
}

int
quotasync_up(const struct quotasync *qs)
{
	return qs != NULL && qs->up;
}

int
quotasync_busy(const struct quotasync *qs)
{
	return qs != NULL && qs->batch != NULL;
}

void
quotasync_free(struct quotasync *qs)
{
	if (qs == NULL)
		return;
	qs->closing = 1;
	qs_kill(qs, "closing");
	if (qs->batch != NULL) {	/* its replies were never to come */
		free(qs->batch->items);
		free(qs->batch);
	}
	event_free(qs->tick);
	free(qs);
}
