/*
 * redisstore_cache: the Redis store's proxy side (redisstore.c says what
 * is where; redisstore_int.h).
 *
 * Proxy side.  Two hiredis async connections on the proxy's event loop:
 * DATA for lookups (one command per miss) and SUB, SUBSCRIBEd to the
 * invalidation channel.  A 100 ms tick reconnects with backoff, enforces
 * the connect and command timeouts (hiredis 0.14 has none of its own for
 * async contexts) and sends a heartbeat: a PUBLISH of "ping TOKEN SEQ" on
 * DATA that SUB must hear back, which proves both connections and the
 * channel alive end to end.
 *
 * The cache is a chained hash table of entries keyed by (kind, key):
 * credentials by access key id, access by (principal, bucket), bucket lists
 * by principal.  An entry remembers when Redis last confirmed it.  A hit
 * (confirmed within the TTL and the invalidation channel up) is answered
 * synchronously without allocation (credentials excepted: their OUT owns
 * copies, per store.h).  A miss starts one fetch per key (concurrent misses
 * wait on the same one); the reply fills every waiter's OUT, then calls its
 * callback.  Any invalidation bumps a generation counter: a reply to a
 * command sent before the bump answers its waiters but is not trusted as
 * confirmed (it may predate the change).
 *
 * Fail closed.  With DATA down, or right after a failed fetch, an entry is
 * served only while Redis confirmed it less than policy_max_staleness ago;
 * everything else is PSTORE_UNAVAILABLE.  A fetch that fails answers its
 * waiters with the stale entry under the same bound, else with "not found"
 * (a denial) and marks the key failed for a second, so that a caller that
 * repeats the call (store.h) gets PSTORE_UNAVAILABLE.
 */
#include <sys/queue.h>
#include <sys/time.h>

#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>
#include <hiredis/hiredis.h>
#include <hiredis/async.h>
#include <hiredis/adapters/libevent.h>
#include <openssl/rand.h>

#include "policy/redisstore.h"
#include "policy/redisstore_int.h"
#include "proxy/log.h"
#include "proxy/sbuf.h"
#include "proxy/siphash.h"

#define RS_TICK_MS		100
#define RS_CONNECT_TIMEOUT_MS	1000
#define RS_COMMAND_TIMEOUT_MS	1000
#define RS_HEARTBEAT_MS		1000
#define RS_NEGATIVE_TTL_MS	1000	/* unknown keys and buckets: creation shows within 1 s */
#define RS_FAILED_MS		1000	/* after a failed fetch, misses answer UNAVAILABLE */
#define RS_BACKOFF_MIN_MS	100
#define RS_BACKOFF_MAX_MS	2000
#define RS_SWEEP_MS		1000
#define RS_MAX_ENTRIES		(1u << 20)
#define RS_NEVER		(LLONG_MIN / 4)

/* ---- proxy side: the cache ------------------------------------------------------- */

enum rs_kind { RS_CRED, RS_ACCESS, RS_LIST };

struct rs_fetch;

struct rs_entry {
	struct rs_entry		*next;		/* hash chain */
	uint64_t		 hash;
	enum rs_kind		 kind;
	char			*key;		/* A, or A '\0' B (principal, bucket) */
	size_t			 alen, blen;
	int			 in_table;
	int			 has_data;
	int			 negative;	/* "no such key / bucket" */
	long long		 confirmed_ms;	/* when Redis last gave this answer */
	long long		 failed_ms;	/* when a fetch for it last failed */
	struct rs_fetch		*fetch;		/* in flight, or NULL */

	struct policy_credential cred;		/* RS_CRED */
	struct {				/* RS_ACCESS */
		int		 discoverable;
		enum policy_via	 via;
		enum policy_perm perm;
		char		*prefix;
		time_t		 expires_at;
	}			 acc;
	struct model_bucket_access *items;	/* RS_LIST, sorted by bucket */
	size_t			 nitems;
};

struct rs_waiter {
	TAILQ_ENTRY(rs_waiter)	 fentry;	/* in its fetch */
	TAILQ_ENTRY(rs_waiter)	 all;		/* in the store, for pstore_cancel */
	struct rs_fetch		*fetch;
	pstore_cb		*cb;
	void			*arg;
	void			*out;
	time_t			 now;
};

struct redisstore;

struct rs_fetch {
	TAILQ_ENTRY(rs_fetch)	 entry;		/* the store's, oldest first */
	struct redisstore	*rs;
	struct rs_entry		*e;
	uint64_t		 gen;		/* invalidation generation when sent */
	long long		 sent_ms;
	TAILQ_HEAD(, rs_waiter)	 waiters;
};

struct rs_conn {
	struct redisstore	*rs;
	redisAsyncContext	*ac;
	const char		*name;
	int			 is_sub;
	int			 ready;		/* answered its setup (PING / SUBSCRIBE) */
	int			 was_up;	/* for logging transitions once */
	long long		 started_ms;
	long long		 retry_ms;
	int			 backoff_ms;
	const char		*kill_why;	/* set in a hiredis callback, done by the tick */
	/* Sentinel: AC is a sentinel's while ASKING; the master it named, once */
	int			 asking;
	int			 sentinel_next;	/* the one to ask next, round the list */
	int			 master_named;	/* MASTER_HOST:PORT is the answer to use */
	char			 master_host[256];
	int			 master_port;
};

struct redisstore {
	struct event_base	*base;
	struct event		*tick;
	struct rs_addr		 addr;
	char			*url;
	unsigned char		 key[REDISSTORE_KEY_LEN];
	unsigned char		 hash_key[16];	/* rs_hash's, random per process */
	long long		 ttl_ms, neg_ttl_ms, staleness_ms;
	struct rs_conn		 data, sub;
	uint64_t		 gen;

	struct rs_entry		**table;
	size_t			 nbuckets;	/* a power of two */
	size_t			 count;
	TAILQ_HEAD(, rs_fetch)	 fetches;
	TAILQ_HEAD(, rs_waiter)	 waiters;

	char			 token[33];	/* this instance's heartbeat id */
	unsigned long		 ping_seq;	/* last sent */
	unsigned long		 ping_heard_seq;	/* last heard back on SUB */
	unsigned long		 ping_check_seq;	/* acknowledged by Redis, awaited on SUB */
	long long		 ping_check_ms;
	long long		 ping_sent_ms;
	int			 ping_pending;
	long long		 sweep_ms;
	long long		 data_up_ms;	/* when DATA last became ready */
	long long		 version_seen;	/* {s3gate}:version at the last heartbeat, -1: none yet */
	int			 closing;
	struct pstore_stats	 stats;
};

/* A fetch failed on the current connection less than RS_FAILED_MS ago. */
static int
rs_failed_recently(const struct redisstore *rs, const struct rs_entry *e, long long now)
{
	return e->failed_ms >= rs->data_up_ms && now - e->failed_ms < RS_FAILED_MS;
}

/*
 * The keys are chosen by clients (an outsider's access key id comes here
 * before any signature is checked): keyed, so that nobody can pick keys
 * that pile into one chain (an unkeyed FNV-1a table let 2^15 chosen keys
 * share a bucket, each lookup walking them all; t_bypass14.sh).
 */
static uint64_t
rs_hash(const struct redisstore *rs, enum rs_kind kind, const char *a, size_t alen,
    const char *b, size_t blen)
{
	uint64_t h = siphash24(rs->hash_key, a, alen) ^ (uint64_t)kind;

	if (b != NULL)
		h = h * 0x9e3779b97f4a7c15ULL ^ siphash24(rs->hash_key, b, blen);
	return h;
}

static struct rs_entry *
rs_find(struct redisstore *rs, uint64_t h, enum rs_kind kind, const char *a, size_t alen,
    const char *b, size_t blen)
{
	struct rs_entry *e;

	for (e = rs->table[h & (rs->nbuckets - 1)]; e != NULL; e = e->next)
		if (e->hash == h && e->kind == kind && e->alen == alen && e->blen == blen &&
		    memcmp(e->key, a, alen) == 0 &&
		    (b == NULL || memcmp(e->key + alen + 1, b, blen) == 0))
			return e;
	return NULL;
}

static void
rs_grow(struct redisstore *rs)
{
	struct rs_entry **t, *e, *next;
	size_t n = rs->nbuckets * 2, i;

	if ((t = calloc(n, sizeof(*t))) == NULL)
		abort();
	for (i = 0; i < rs->nbuckets; i++)
		for (e = rs->table[i]; e != NULL; e = next) {
			next = e->next;
			e->next = t[e->hash & (n - 1)];
			t[e->hash & (n - 1)] = e;
		}
	free(rs->table);
	rs->table = t;
	rs->nbuckets = n;
}

static struct rs_entry *
rs_insert(struct redisstore *rs, uint64_t h, enum rs_kind kind, const char *a, size_t alen,
    const char *b, size_t blen)
{
	struct rs_entry *e;

	if (rs->count >= rs->nbuckets)
		rs_grow(rs);
	if ((e = calloc(1, sizeof(*e))) == NULL || (e->key = malloc(alen + blen + 2)) == NULL)
		abort();
	memcpy(e->key, a, alen);
	e->key[alen] = '\0';
	if (b != NULL)
		memcpy(e->key + alen + 1, b, blen);
	e->key[alen + 1 + blen] = '\0';
	e->alen = alen;
	e->blen = blen;
	e->hash = h;
	e->kind = kind;
	e->confirmed_ms = RS_NEVER;
	e->failed_ms = RS_NEVER;
	e->in_table = 1;
	e->next = rs->table[h & (rs->nbuckets - 1)];
	rs->table[h & (rs->nbuckets - 1)] = e;
	rs->count++;
	return e;
}

static void
rs_entry_clear(struct rs_entry *e)
{
	policy_credential_clear(&e->cred);
	free(e->acc.prefix);
	e->acc.prefix = NULL;
	model_bucket_list_free(e->items, e->nitems);
	e->items = NULL;
	e->nitems = 0;
	e->has_data = 0;
	e->negative = 0;
}

static void
rs_entry_free(struct rs_entry *e)
{
	rs_entry_clear(e);
	free(e->key);
	free(e);
}

/*
 * Takes E out of the table.  An entry with a fetch in flight lives on
 * until the fetch completes (which then frees it); others go now.
 */
static void
rs_unlink(struct redisstore *rs, struct rs_entry **pp)
{
	struct rs_entry *e = *pp;

	*pp = e->next;
	e->next = NULL;
	e->in_table = 0;
	rs->count--;
	if (e->fetch == NULL)
		rs_entry_free(e);
}

typedef int rs_match_fn(const struct rs_entry *, const char *what, size_t len);

/* Drops the entries MATCH accepts (NULL: all). */
static void
rs_drop(struct redisstore *rs, rs_match_fn *match, const char *what, size_t len)
{
	struct rs_entry **pp;
	size_t i;

	for (i = 0; i < rs->nbuckets; i++) {
		pp = &rs->table[i];
		while (*pp != NULL) {
			if (match == NULL || match(*pp, what, len))
				rs_unlink(rs, pp);
			else
				pp = &(*pp)->next;
		}
	}
}

static int
rs_match_cred(const struct rs_entry *e, const char *what, size_t len)
{
	return e->kind == RS_CRED && e->alen == len && memcmp(e->key, what, len) == 0;
}

static int
rs_match_principal(const struct rs_entry *e, const char *what, size_t len)
{
	return e->kind != RS_CRED && e->alen == len && memcmp(e->key, what, len) == 0;
}

static int
rs_match_bucket(const struct rs_entry *e, const char *what, size_t len)
{
	if (e->kind == RS_LIST)
		return 1;	/* a list shows the bucket's workspace */
	return e->kind == RS_ACCESS && e->blen == len &&
	    memcmp(e->key + e->alen + 1, what, len) == 0;
}

/* One message of the invalidation channel. */
static void
rs_invalidate(struct redisstore *rs, const char *msg, size_t len)
{
	rs->stats.invalidations++;
	rs->gen++;
	if (len > 5 && memcmp(msg, "cred ", 5) == 0)
		rs_drop(rs, rs_match_cred, msg + 5, len - 5);
	else if (len > 7 && memcmp(msg, "access ", 7) == 0)
		rs_drop(rs, rs_match_principal, msg + 7, len - 7);
	else if (len > 7 && memcmp(msg, "bucket ", 7) == 0)
		rs_drop(rs, rs_match_bucket, msg + 7, len - 7);
	else {
		/* "all", or a message a newer writer speaks: drop everything */
		if (!(len == 3 && memcmp(msg, "all", 3) == 0))
			log_info("policy store: invalidation \"%.*s\" not understood; "
			    "dropping the whole cache", (int)(len > 64 ? 64 : len), msg);
		rs_drop(rs, NULL, NULL, 0);
	}
}

/* ---- proxy side: answering from an entry ---------------------------------------- */

static void
rs_fill_cred(const struct rs_entry *e, struct policy_credential *out, int usable)
{
	memset(out, 0, sizeof(*out));
	if (!usable || e->negative || !e->has_data)
		return;
	model_credential_copy(out, &e->cred);
}

static void
rs_fill_access(const struct rs_entry *e, struct policy_access *out, int usable)
{
	size_t n;

	out->bucket_exists = 0;
	out->discoverable = 0;
	out->via = VIA_NONE;
	out->perm = PERM_NONE;
	out->prefix[0] = '\0';
	out->expires_at = 0;
	if (!usable || e->negative || !e->has_data)
		return;
	out->bucket_exists = 1;
	out->discoverable = e->acc.discoverable;
	n = e->acc.prefix != NULL ? strlen(e->acc.prefix) : 0;
	if (n >= sizeof(out->prefix))
		return;		/* never cut (rs_parse_access refuses it): no access */
	out->via = e->acc.via;
	out->perm = e->acc.perm;
	out->expires_at = e->acc.expires_at;
	if (e->acc.prefix != NULL)
		memcpy(out->prefix, e->acc.prefix, n + 1);
}

static void
rs_fill_list(const struct rs_entry *e, struct pstore_bucket_list *out, time_t now, int usable)
{
	const struct model_bucket_access *s;
	struct model_bucket_access *d;
	size_t i;

	out->items = NULL;
	out->count = 0;
	if (!usable || !e->has_data || e->nitems == 0)
		return;
	if ((out->items = calloc(e->nitems, sizeof(*out->items))) == NULL)
		abort();
	for (i = 0; i < e->nitems; i++) {
		s = &e->items[i];
		if (s->via == VIA_GRANT && s->expires_at != 0 && s->expires_at <= now)
			continue;
		d = &out->items[out->count++];
		*d = *s;
		d->bucket = sbuf_strdup(s->bucket);
		d->workspace = sbuf_strdup(s->workspace);
		d->prefix = sbuf_strdup(s->prefix);
	}
	if (out->count == 0) {
		free(out->items);
		out->items = NULL;
	}
}

static void
rs_fill(const struct rs_entry *e, void *out, time_t now, int usable)
{
	switch (e->kind) {
	case RS_CRED:
		rs_fill_cred(e, out, usable);
		break;
	case RS_ACCESS:
		rs_fill_access(e, out, usable);
		break;
	case RS_LIST:
		rs_fill_list(e, out, now, usable);
		break;
	}
}

/* ---- proxy side: parsing replies into an entry ------------------------------------ */

static const char *
rs_reply_str(const redisReply *r)
{
	return r != NULL && (r->type == REDIS_REPLY_STRING || r->type == REDIS_REPLY_STATUS) ?
	    r->str : NULL;
}

/* HGETALL {s3gate}:cred:AKID */
static int
rs_parse_cred(struct redisstore *rs, struct rs_entry *e, const redisReply *r)
{
	struct sbuf aad = SBUF_INIT, key = SBUF_INIT;
	struct policy_credential c;
	const char *f, *v;
	size_t i;
	int rc = -1;

	if (r->type != REDIS_REPLY_ARRAY || r->elements % 2 != 0)
		return -1;
	rs_entry_clear(e);
	if (r->elements == 0) {
		e->negative = 1;
		e->has_data = 1;
		return 0;
	}
	memset(&c, 0, sizeof(c));
	sbuf_appendf(&key, REDISSTORE_PREFIX "cred:%s", e->key);
	for (i = 0; i < r->elements; i += 2) {
		if ((f = rs_reply_str(r->element[i])) == NULL ||
		    (v = rs_reply_str(r->element[i + 1])) == NULL)
			goto out;
		if (strcmp(f, "principal") == 0) {
			free(c.principal);
			c.principal = sbuf_strdup(v);
		} else if (strcmp(f, "secret") == 0 || strcmp(f, "session_token") == 0) {
			char **slot = strcmp(f, "secret") == 0 ? &c.secret : &c.session_token;

			rs_aad(&aad, key.data, f);
			rs_free_secret(*slot);
			if ((*slot = redisstore_unseal(rs->key, aad.data, v)) == NULL) {
				log_warnx("policy store: %s field %s does not unseal with "
				    "policy_secret_key (another key, or tampered with); refusing it",
				    key.data, f);
				goto out;
			}
		} else if (strcmp(f, "expires_at") == 0) {
			if (rs_parse_time(v, &c.expires_at) == -1)
				goto out;
		} else if (strcmp(f, "quota") == 0) {
			/* a limit misread as "none" would lift it: refuse instead */
			if (rs_quota_parse(v, &c.quota) == -1) {
				log_warnx("policy store: %s field quota \"%.64s\" is malformed; "
				    "refusing it", key.data, v);
				goto out;
			}
		} else if (rs_parse_link_field(f, v, &c) == -1) {
			log_warnx("policy store: %s field %s is malformed; refusing it", key.data, f);
			goto out;
		}
	}
	if (c.principal == NULL || c.secret == NULL || !rs_link_complete(&c)) {
		log_warnx("policy store: %s lacks principal, secret or part of its link scope; "
		    "refusing it", key.data);
		goto out;
	}
	c.access_key_id = sbuf_strdup(e->key);
	e->cred = c;
	memset(&c, 0, sizeof(c));
	e->has_data = 1;
	rc = 0;
out:
	policy_credential_clear(&c);
	sbuf_free(&aad);
	sbuf_free(&key);
	return rc;
}

/* HMGET {s3gate}:bucket:B discoverable p:P */
static int
rs_parse_access(struct redisstore *rs, struct rs_entry *e, const redisReply *r)
{
	char *copy, *fld[4];
	const char *disc, *val;
	enum policy_via via;
	enum policy_perm perm;
	time_t exp;

	if (r->type != REDIS_REPLY_ARRAY || r->elements != 2)
		return -1;
	rs_entry_clear(e);
	if ((disc = rs_reply_str(r->element[0])) == NULL) {
		e->negative = 1;	/* no such bucket */
		e->has_data = 1;
		return 0;
	}
	e->acc.discoverable = strcmp(disc, "1") == 0;
	e->acc.via = VIA_NONE;
	e->acc.perm = PERM_NONE;
	if ((val = rs_reply_str(r->element[1])) != NULL) {
		copy = sbuf_strdup(val);
		/* a prefix policy_access cannot hold whole would be cut, and so widened */
		if (rs_split(copy, fld, 4) == -1 ||
		    rs_via_perm_parse(fld[0], fld[1], &via, &perm) == -1 ||
		    rs_parse_time(fld[2], &exp) == -1 || strlen(fld[3]) > MODEL_MAX_PREFIX) {
			log_warnx("policy store: bucket %s: access of %s is malformed (\"%.80s\"); "
			    "refusing it", e->key + e->alen + 1, e->key, val);
			free(copy);
			return -1;
		}
		e->acc.via = via;
		e->acc.perm = perm;
		e->acc.expires_at = exp;
		e->acc.prefix = sbuf_strdup(fld[3]);
		free(copy);
	}
	e->has_data = 1;
	return 0;
}

static int
rs_item_cmp(const void *a, const void *b)
{
	return strcmp(((const struct model_bucket_access *)a)->bucket,
	    ((const struct model_bucket_access *)b)->bucket);
}

/* HGETALL {s3gate}:access:P */
static int
rs_parse_list(struct redisstore *rs, struct rs_entry *e, const redisReply *r)
{
	struct model_bucket_access *items, *it;
	char *copy, *fld[6];
	const char *b, *v;
	size_t i, n = 0;

	if (r->type != REDIS_REPLY_ARRAY || r->elements % 2 != 0)
		return -1;
	rs_entry_clear(e);
	if ((items = calloc(r->elements / 2 + 1, sizeof(*items))) == NULL)
		abort();
	for (i = 0; i < r->elements; i += 2) {
		if ((b = rs_reply_str(r->element[i])) == NULL ||
		    (v = rs_reply_str(r->element[i + 1])) == NULL)
			continue;
		it = &items[n];
		copy = sbuf_strdup(v);
		if (rs_split(copy, fld, 6) == -1 ||
		    rs_via_perm_parse(fld[0], fld[1], &it->via, &it->perm) == -1 ||
		    rs_parse_time(fld[2], &it->expires_at) == -1 ||
		    rs_parse_time(fld[3], &it->created_at) == -1) {
			log_warnx("policy store: access of %s to %s is malformed; left out",
			    e->key, b);
			free(copy);
			continue;
		}
		it->bucket = sbuf_strdup(b);
		it->workspace = sbuf_strdup(fld[4]);
		it->prefix = sbuf_strdup(fld[5]);
		free(copy);
		n++;
	}
	if (n > 1)
		qsort(items, n, sizeof(*items), rs_item_cmp);
	e->items = items;
	e->nitems = n;
	e->has_data = 1;
	return 0;
}

/* ---- proxy side: fetches ---------------------------------------------------------- */

static void
rs_fetch_done(struct rs_fetch *f, redisReply *reply)
{
	struct redisstore *rs = f->rs;
	struct rs_entry *e = f->e;
	struct rs_waiter *w;
	long long now = rs_now_ms();
	int ok = 0, usable;

	TAILQ_REMOVE(&rs->fetches, f, entry);
	e->fetch = NULL;
	if (rs->closing) {
		while ((w = TAILQ_FIRST(&f->waiters)) != NULL) {
			TAILQ_REMOVE(&f->waiters, w, fentry);
			TAILQ_REMOVE(&rs->waiters, w, all);
			free(w);
		}
		if (!e->in_table)
			rs_entry_free(e);
		free(f);
		return;
	}
	if (reply == NULL)
		rs->data.ready = 0;	/* the connection is going away */
	else if (reply->type == REDIS_REPLY_ERROR)
		log_warnx("policy store: Redis answered an error: %.200s", reply->str);
	else {
		switch (e->kind) {
		case RS_CRED:
			ok = rs_parse_cred(rs, e, reply) == 0;
			break;
		case RS_ACCESS:
			ok = rs_parse_access(rs, e, reply) == 0;
			break;
		case RS_LIST:
			ok = rs_parse_list(rs, e, reply) == 0;
			break;
		}
	}
	if (ok) {
		/* an invalidation since the command was sent: answer, but do not trust */
		e->confirmed_ms = f->gen == rs->gen ? now : RS_NEVER;
		e->failed_ms = RS_NEVER;
		usable = 1;
	} else {
		e->failed_ms = now;
		usable = e->has_data && now - e->confirmed_ms <= rs->staleness_ms;
	}
	while ((w = TAILQ_FIRST(&f->waiters)) != NULL) {
		TAILQ_REMOVE(&f->waiters, w, fentry);
		TAILQ_REMOVE(&rs->waiters, w, all);
		rs_fill(e, w->out, w->now, usable);
		w->cb(w->arg);
		free(w);
	}
	if (!e->in_table)
		rs_entry_free(e);
	free(f);
}

static void
rs_fetch_cb(redisAsyncContext *ac, void *reply, void *privdata)
{
	rs_fetch_done(privdata, reply);
}

static int
rs_fetch_start(struct redisstore *rs, struct rs_entry *e)
{
	struct rs_fetch *f;
	redisAsyncContext *ac = rs->data.ac;
	int rc = REDIS_ERR;

	if ((f = calloc(1, sizeof(*f))) == NULL)
		abort();
	f->rs = rs;
	f->e = e;
	f->gen = rs->gen;
	f->sent_ms = rs_now_ms();
	TAILQ_INIT(&f->waiters);
	switch (e->kind) {
	case RS_CRED:
		rc = redisAsyncCommand(ac, rs_fetch_cb, f, "HGETALL " REDISSTORE_PREFIX "cred:%b",
		    e->key, e->alen);
		break;
	case RS_ACCESS:
		rc = redisAsyncCommand(ac, rs_fetch_cb, f,
		    "HMGET " REDISSTORE_PREFIX "bucket:%b discoverable p:%b",
		    e->key + e->alen + 1, e->blen, e->key, e->alen);
		break;
	case RS_LIST:
		rc = redisAsyncCommand(ac, rs_fetch_cb, f, "HGETALL " REDISSTORE_PREFIX "access:%b",
		    e->key, e->alen);
		break;
	}
	if (rc != REDIS_OK) {
		free(f);
		return -1;
	}
	e->fetch = f;
	TAILQ_INSERT_TAIL(&rs->fetches, f, entry);
	return 0;
}

/*
 * The one lookup path.  B is NULL but for RS_ACCESS.  See the file comment
 * for when an entry is served.
 */
static enum pstore_result
rs_lookup(struct redisstore *rs, enum rs_kind kind, const char *a, const char *b, void *out,
    time_t now, pstore_cb *cb, void *arg)
{
	size_t alen = strlen(a), blen = b != NULL ? strlen(b) : 0;
	uint64_t h = rs_hash(rs, kind, a, alen, b, blen);
	struct rs_entry *e = rs_find(rs, h, kind, a, alen, b, blen);
	struct rs_waiter *w;
	long long now_ms = rs_now_ms(), age;

	if (e != NULL && e->has_data) {
		age = now_ms - e->confirmed_ms;
		/*
		 * A hit needs both connections up: a Redis that stopped answering
		 * (hung, paused, partitioned without a reset) leaves the subscriber's
		 * socket open and silent, and only the lookup connection's
		 * timeouts notice it.  Past that, entries are stale: served up to
		 * policy_max_staleness, not up to the TTL.
		 */
		if (age <= (e->negative ? rs->neg_ttl_ms : rs->ttl_ms) && rs->sub.ready &&
		    rs->data.ready) {
			rs->stats.hits++;
			rs_fill(e, out, now, 1);
			return PSTORE_DONE;
		}
		if (!rs->data.ready || rs_failed_recently(rs, e, now_ms)) {
			if (age > rs->staleness_ms) {
				rs->stats.unavailable++;
				return PSTORE_UNAVAILABLE;
			}
			rs->stats.stale_hits++;
			rs_fill(e, out, now, 1);
			return PSTORE_DONE;
		}
	} else if (e != NULL && e->fetch == NULL && rs_failed_recently(rs, e, now_ms)) {
		rs->stats.unavailable++;
		return PSTORE_UNAVAILABLE;
	}
	if (!rs->data.ready) {
		rs->stats.unavailable++;
		return PSTORE_UNAVAILABLE;
	}
	rs->stats.misses++;
	if (e == NULL)
		e = rs_insert(rs, h, kind, a, alen, b, blen);
	if (e->fetch == NULL && rs_fetch_start(rs, e) == -1)
		return PSTORE_UNAVAILABLE;
	/* no callback: the fetch warms the cache; the caller cannot wait */
	if (cb == NULL)
		return PSTORE_PENDING;
	if ((w = calloc(1, sizeof(*w))) == NULL)
		abort();
	w->fetch = e->fetch;
	w->cb = cb;
	w->arg = arg;
	w->out = out;
	w->now = now;
	TAILQ_INSERT_TAIL(&e->fetch->waiters, w, fentry);
	TAILQ_INSERT_TAIL(&rs->waiters, w, all);
	return PSTORE_PENDING;
}

/* ---- proxy side: connections -------------------------------------------------------- */

static void
rs_conn_down(struct rs_conn *c, const char *why)
{
	struct redisstore *rs = c->rs;

	c->ready = 0;
	if (c->asking) {
		c->asking = 0;
		if (c->master_named) {		/* asked and answered: on to the master at once */
			c->retry_ms = 0;	/* in this very tick (rs_tick) */
			return;
		}
		c->sentinel_next = (c->sentinel_next + 1) % rs->addr.nsentinels;
	} else
		c->master_named = 0;		/* the next connection asks the sentinels again */
	if (!c->is_sub)
		rs->ping_pending = 0;
	if (c->was_up && !rs->closing)
		log_warnx("policy store %s: %s connection lost (%s); reconnecting", rs->url,
		    c->name, why);
	c->was_up = 0;
	c->retry_ms = rs_now_ms() + c->backoff_ms;
	c->backoff_ms = c->backoff_ms * 2 > RS_BACKOFF_MAX_MS ? RS_BACKOFF_MAX_MS : c->backoff_ms * 2;
}

/* Tears the connection down now.  Never from inside one of its callbacks. */
static void
rs_conn_kill(struct rs_conn *c, const char *why)
{
	redisAsyncContext *ac = c->ac;

	c->kill_why = NULL;
	if (ac == NULL)
		return;
	c->ac = NULL;
	ac->data = NULL;	/* its disconnect callback is ours no more */
	rs_conn_down(c, why);
	redisAsyncFree(ac);	/* pending callbacks run with a NULL reply */
}

static void
rs_on_connect(const redisAsyncContext *ac, int status)
{
	struct rs_conn *c = ac->data;

	if (c == NULL || status == REDIS_OK)
		return;
	/* hiredis frees the context after this */
	c->ac = NULL;
	if (c->asking && c->backoff_ms == RS_BACKOFF_MIN_MS)
		log_warnx("policy store %s: sentinel %s:%d: %s; asking the next", c->rs->url,
		    c->rs->addr.sentinels[c->sentinel_next].host,
		    c->rs->addr.sentinels[c->sentinel_next].port, ac->errstr);
	else if (!c->asking && (c->backoff_ms == RS_BACKOFF_MIN_MS || c->was_up))
		log_warnx("policy store %s: %s connection failed: %s; retrying", c->rs->url,
		    c->name, ac->errstr);
	rs_conn_down(c, ac->errstr);
}

static void
rs_on_disconnect(const redisAsyncContext *ac, int status)
{
	struct rs_conn *c = ac->data;

	if (c == NULL)
		return;
	c->ac = NULL;
	rs_conn_down(c, status == REDIS_OK ? "closed" : ac->errstr);
}

/* AUTH / SELECT / the final PING of the lookup connection. */
static void
rs_setup_cb(redisAsyncContext *ac, void *r, void *privdata)
{
	struct rs_conn *c = ac->data;
	redisReply *reply = r;

	if (c == NULL || reply == NULL || c->rs->closing)
		return;
	if (reply->type == REDIS_REPLY_ERROR) {
		log_warnx("policy store %s: %s connection setup refused: %.200s", c->rs->url,
		    c->name, reply->str);
		c->kill_why = "setup refused";
		return;
	}
	if (privdata != NULL && !c->ready && c->kill_why == NULL) {	/* the PING */
		c->ready = 1;
		c->backoff_ms = RS_BACKOFF_MIN_MS;
		c->was_up = 1;
		c->rs->data_up_ms = rs_now_ms();
		log_info("policy store %s: %s connection ready", c->rs->url, c->name);
	}
}

static void
rs_sub_cb(redisAsyncContext *ac, void *r, void *privdata)
{
	struct redisstore *rs = privdata;
	struct rs_conn *c = ac->data;
	redisReply *reply = r, *kind, *msg;
	unsigned long seq;
	size_t tl;

	if (c == NULL || reply == NULL || rs->closing || reply->type != REDIS_REPLY_ARRAY ||
	    reply->elements < 3)
		return;
	kind = reply->element[0];
	msg = reply->element[2];
	if (kind->type != REDIS_REPLY_STRING)
		return;
	if (strcmp(kind->str, "subscribe") == 0) {
		if (c->kill_why != NULL)	/* ROLE said: not the master */
			return;
		/* messages may have been missed while not subscribed */
		rs->gen++;
		rs_drop(rs, NULL, NULL, 0);
		c->ready = 1;
		c->backoff_ms = RS_BACKOFF_MIN_MS;
		c->was_up = 1;
		rs->ping_heard_seq = rs->ping_check_seq = rs->ping_seq;
		log_info("policy store %s: subscribed to " REDISSTORE_CHANNEL, rs->url);
		return;
	}
	if (strcmp(kind->str, "message") != 0 || msg->type != REDIS_REPLY_STRING)
		return;
	if (msg->len > 5 && memcmp(msg->str, "ping ", 5) == 0) {
		tl = strlen(rs->token);
		if ((size_t)msg->len > 5 + tl + 1 && memcmp(msg->str + 5, rs->token, tl) == 0 &&
		    msg->str[5 + tl] == ' ' && (seq = strtoul(msg->str + 6 + tl, NULL, 10)) >
		    rs->ping_heard_seq)
			rs->ping_heard_seq = seq;
		return;
	}
	rs_invalidate(rs, msg->str, (size_t)msg->len);
}

/* A sentinel's answer: the master's address, or why not (the tick moves on). */
static void
rs_sentinel_cb(redisAsyncContext *ac, void *r, void *privdata)
{
	struct rs_conn *c = ac->data;
	struct redisstore *rs;
	const struct rs_hostport *sentinel;
	redisReply *reply = r;

	if (c == NULL || reply == NULL || c->rs->closing)
		return;
	rs = c->rs;
	sentinel = &rs->addr.sentinels[c->sentinel_next];
	if (rs_sentinel_reply_master(reply, c->master_host, sizeof(c->master_host),
	    &c->master_port) == 0) {
		c->master_named = 1;
		rs_master_note(rs->url, sentinel, rs->addr.master_name, c->master_host,
		    c->master_port);
		c->kill_why = "asked";
		return;
	}
	if (c->backoff_ms == RS_BACKOFF_MIN_MS)
		log_warnx("policy store %s: sentinel %s:%d names no master %s: %.200s", rs->url,
		    sentinel->host, sentinel->port, rs->addr.master_name, rs_sentinel_reply_why(reply));
	c->kill_why = "no master named";
}

/* ROLE on a master a sentinel named: a replica (a stale answer) is left at once. */
static void
rs_role_cb(redisAsyncContext *ac, void *r, void *privdata)
{
	struct rs_conn *c = ac->data;

	if (c == NULL || r == NULL || c->rs->closing || rs_role_is_master(r))
		return;
	log_warnx("policy store %s: %s:%d, named master of %s, is not the master now; "
	    "asking the sentinels again", c->rs->url, c->master_host, c->master_port,
	    c->rs->addr.master_name);
	c->kill_why = "not the master";
}

/*
 * Connects C: to the next sentinel first, if the store is behind Sentinel
 * and no master has been named for this connection (rs_sentinel_cb hears
 * the answer), else to the server.
 */
static void
rs_conn_start(struct rs_conn *c)
{
	struct redisstore *rs = c->rs;
	const struct rs_hostport *sentinel = NULL;
	redisAsyncContext *ac;

	c->ready = 0;
	c->kill_why = NULL;
	c->started_ms = rs_now_ms();
	if ((c->asking = rs->addr.nsentinels > 0 && !c->master_named))
		sentinel = &rs->addr.sentinels[c->sentinel_next];
	/* a host name is resolved here (blocking): configure an address */
	if (rs->addr.path[0] != '\0')
		ac = redisAsyncConnectUnix(rs->addr.path);
	else if (sentinel != NULL)
		ac = redisAsyncConnect(sentinel->host, sentinel->port);
	else if (rs->addr.nsentinels > 0)
		ac = redisAsyncConnect(c->master_host, c->master_port);
	else
		ac = redisAsyncConnect(rs->addr.host, rs->addr.port);
	if (ac == NULL)
		abort();
	if (ac->err) {
		if (c->backoff_ms == RS_BACKOFF_MIN_MS && sentinel != NULL)
			log_warnx("policy store %s: sentinel %s:%d: %s; asking the next", rs->url,
			    sentinel->host, sentinel->port, ac->errstr);
		else if (c->backoff_ms == RS_BACKOFF_MIN_MS)
			log_warnx("policy store %s: %s connection failed: %s; retrying", rs->url,
			    c->name, ac->errstr);
		redisAsyncFree(ac);
		rs_conn_down(c, "connect failed");
		return;
	}
	ac->data = c;
	c->ac = ac;
	if (redisLibeventAttach(ac, rs->base) != REDIS_OK)
		abort();
	redisAsyncSetConnectCallback(ac, rs_on_connect);
	redisAsyncSetDisconnectCallback(ac, rs_on_disconnect);
	if (sentinel != NULL) {
		/*
		 * Sentinels that require a password have the master's (Bitnami's
		 * chart, and most setups); AUTH to one that has none fails
		 * harmlessly, and one that wants another says NOAUTH to SENTINEL.
		 */
		if (rs->addr.password[0] != '\0')
			redisAsyncCommand(ac, NULL, NULL, "AUTH %s", rs->addr.password);
		redisAsyncCommand(ac, rs_sentinel_cb, NULL, "SENTINEL get-master-addr-by-name %s",
		    rs->addr.master_name);
		return;
	}
	if (rs->addr.password[0] != '\0')
		redisAsyncCommand(ac, rs_setup_cb, NULL, "AUTH %s", rs->addr.password);
	if (rs->addr.nsentinels > 0)
		redisAsyncCommand(ac, rs_role_cb, NULL, "ROLE");
	if (c->is_sub)
		redisAsyncCommand(ac, rs_sub_cb, rs, "SUBSCRIBE " REDISSTORE_CHANNEL);
	else {
		if (rs->addr.db != 0)
			redisAsyncCommand(ac, rs_setup_cb, NULL, "SELECT %d", rs->addr.db);
		redisAsyncCommand(ac, rs_setup_cb, c, "PING");
	}
}

static void
rs_ping_cb(redisAsyncContext *ac, void *r, void *privdata)
{
	struct redisstore *rs = privdata;
	redisReply *reply = r;

	if (reply == NULL || rs->closing || ac->data == NULL)
		return;
	rs->ping_pending = 0;
	/* one check at a time: a new one starts once the last was heard */
	if (reply->type == REDIS_REPLY_INTEGER && rs->ping_heard_seq >= rs->ping_check_seq) {
		rs->ping_check_seq = rs->ping_seq;
		rs->ping_check_ms = rs_now_ms();
	}
}

/*
 * GET {s3gate}:version with each heartbeat.  Every admin write increments
 * it; a value that goes back (FLUSHALL, FLUSHDB, a restart without
 * persistence or from an older snapshot, a failover to a replica behind)
 * means the store lost writes that no invalidation message will ever
 * announce: cached allows would otherwise live on until the TTL.  The
 * whole cache goes, as on a resubscription.
 */
static void
rs_version_cb(redisAsyncContext *ac, void *r, void *privdata)
{
	struct redisstore *rs = privdata;
	redisReply *reply = r;
	long long v;

	if (reply == NULL || rs->closing || ac->data == NULL)
		return;
	if (reply->type == REDIS_REPLY_NIL)
		v = 0;
	else if (reply->type == REDIS_REPLY_STRING)
		v = strtoll(reply->str, NULL, 10);
	else
		return;
	if (rs->version_seen >= 0 && v < rs->version_seen) {
		log_warnx("policy store %s: " REDISSTORE_PREFIX "version went back from %lld to %lld "
		    "(flushed, or restarted from older data); dropping the whole cache", rs->url,
		    rs->version_seen, v);
		rs->gen++;
		rs_drop(rs, NULL, NULL, 0);
	}
	rs->version_seen = v;
}

/*
 * Frees the entries past use: answers kept a second beyond the longer of
 * the TTL and the staleness bound, "no such key / bucket" a second beyond
 * their own TTL.  Those cost an outsider nothing to make (any access key
 * id it likes, ~20 000 a second a worker) and are refusals served stale
 * or not (a miss while Redis is down is UNAVAILABLE, refused too): kept
 * for the staleness bound they held ~400 bytes each for a minute, up to
 * RS_MAX_ENTRIES (~400 MB a worker).
 */
static void
rs_sweep(struct redisstore *rs, long long now)
{
	long long keep = (rs->ttl_ms > rs->staleness_ms ? rs->ttl_ms : rs->staleness_ms) + 1000;
	long long keep_negative = rs->neg_ttl_ms + 1000;
	struct rs_entry **pp, *e;
	size_t i;

	for (i = 0; i < rs->nbuckets; i++) {
		pp = &rs->table[i];
		while ((e = *pp) != NULL) {
			if (e->fetch == NULL &&
			    now - e->confirmed_ms > (e->negative ? keep_negative : keep) &&
			    now - e->failed_ms > RS_FAILED_MS)
				rs_unlink(rs, pp);
			else
				pp = &e->next;
		}
	}
	if (rs->count > RS_MAX_ENTRIES) {
		log_warnx("policy store: cache holds %zu entries; dropping it", rs->count);
		rs_drop(rs, NULL, NULL, 0);
	}
}

static void
rs_tick(evutil_socket_t fd, short events, void *arg)
{
	struct redisstore *rs = arg;
	struct rs_conn *conns[2] = { &rs->data, &rs->sub }, *c;
	struct rs_fetch *oldest;
	long long now = rs_now_ms();
	int i;

	for (i = 0; i < 2; i++) {
		c = conns[i];
		if (c->kill_why != NULL)
			rs_conn_kill(c, c->kill_why);
		if (c->ac == NULL && now >= c->retry_ms)
			rs_conn_start(c);
		else if (c->ac != NULL && !c->ready && now - c->started_ms > RS_CONNECT_TIMEOUT_MS)
			rs_conn_kill(c, "connect timed out");
	}
	if (rs->data.ac != NULL && rs->data.ready) {
		oldest = TAILQ_FIRST(&rs->fetches);
		if (oldest != NULL && now - oldest->sent_ms > RS_COMMAND_TIMEOUT_MS)
			rs_conn_kill(&rs->data, "command timed out");
		else if (rs->ping_pending && now - rs->ping_sent_ms > RS_COMMAND_TIMEOUT_MS)
			rs_conn_kill(&rs->data, "heartbeat timed out");
		else if (!rs->ping_pending && now - rs->ping_sent_ms >= RS_HEARTBEAT_MS) {
			char msg[64];

			snprintf(msg, sizeof(msg), "ping %s %lu", rs->token, ++rs->ping_seq);
			if (redisAsyncCommand(rs->data.ac, rs_ping_cb, rs, "PUBLISH "
			    REDISSTORE_CHANNEL " %s", msg) == REDIS_OK) {
				rs->ping_pending = 1;
				rs->ping_sent_ms = now;
				(void)redisAsyncCommand(rs->data.ac, rs_version_cb, rs,
				    "GET " REDISSTORE_PREFIX "version");
			}
		}
	}
	/* Redis took a heartbeat over a second ago and the subscriber never heard it */
	if (rs->sub.ready && rs->ping_heard_seq < rs->ping_check_seq &&
	    now - rs->ping_check_ms > RS_HEARTBEAT_MS) {
		rs->ping_heard_seq = rs->ping_check_seq;
		rs_conn_kill(&rs->sub, "heartbeat not heard");
	}
	if (now - rs->sweep_ms >= RS_SWEEP_MS) {
		rs->sweep_ms = now;
		rs_sweep(rs, now);
	}
}

/* ---- proxy side: the ops ------------------------------------------------------------ */

static void *
redisstore_open(const struct conf *conf, struct event_base *base, struct sbuf *errors)
{
	struct redisstore *rs;
	unsigned char rnd[16];
	struct sbuf tok = SBUF_INIT;
	struct timeval tv = { 0, RS_TICK_MS * 1000 };

	if (conf->store_secret_key == NULL) {
		sbuf_appendf(errors, "policy_store redis needs policy_secret_key FILE: secrets in "
		    "Redis are sealed with it (make one: openssl rand -hex 32 > FILE; "
		    "chmod 600 FILE)\n");
		return NULL;
	}
	if (base == NULL) {
		sbuf_appendf(errors, "policy_store redis: needs the proxy's event loop; "
		    "s3gate-admin reads Redis with redisstore_model_load()\n");
		return NULL;
	}
	if ((rs = calloc(1, sizeof(*rs))) == NULL)
		abort();
	if (redisstore_parse_key(conf->store_secret_key, rs->key) == -1) {
		sbuf_appendf(errors, "policy_secret_key: not 64 hex digits\n");
		free(rs);
		return NULL;
	}
	if (rs_addr_conf(conf, &rs->addr, errors) == -1) {
		explicit_bzero(rs, sizeof(*rs));
		free(rs);
		return NULL;
	}
	{
		char shown[512];	/* only ever logged: without its password */
		rs->url = sbuf_strdup(redisstore_url_shown(conf->store_path, shown, sizeof(shown)));
	}
	rs->base = base;
	rs->ttl_ms = conf->policy_cache_ttl_ms;
	rs->neg_ttl_ms = rs->ttl_ms < RS_NEGATIVE_TTL_MS ? rs->ttl_ms : RS_NEGATIVE_TTL_MS;
	rs->staleness_ms = conf->policy_max_staleness_ms;
	rs->nbuckets = 1024;
	if ((rs->table = calloc(rs->nbuckets, sizeof(*rs->table))) == NULL)
		abort();
	TAILQ_INIT(&rs->fetches);
	TAILQ_INIT(&rs->waiters);
	if (RAND_bytes(rs->hash_key, sizeof(rs->hash_key)) != 1 || RAND_bytes(rnd, sizeof(rnd)) != 1)
		abort();
	rs_hex(&tok, rnd, sizeof(rnd));
	memcpy(rs->token, tok.data, 32);
	sbuf_free(&tok);
	rs->data.rs = rs->sub.rs = rs;
	rs->data.name = "lookup";
	rs->sub.name = "invalidation";
	rs->sub.is_sub = 1;
	rs->data.backoff_ms = rs->sub.backoff_ms = RS_BACKOFF_MIN_MS;
	rs->sweep_ms = rs_now_ms();
	rs->version_seen = -1;
	if ((rs->tick = event_new(base, -1, EV_PERSIST, rs_tick, rs)) == NULL ||
	    event_add(rs->tick, &tv) == -1)
		abort();
	/* connect now; lookups answer UNAVAILABLE until both are ready */
	rs_conn_start(&rs->data);
	rs_conn_start(&rs->sub);
	return rs;
}

static enum pstore_result
redisstore_credential(void *impl, const char *akid, struct policy_credential *out,
    pstore_cb *cb, void *arg)
{
	return rs_lookup(impl, RS_CRED, akid, NULL, out, time(NULL), cb, arg);
}

static enum pstore_result
redisstore_access(void *impl, const char *principal, const char *bucket, time_t now,
    struct policy_access *out, pstore_cb *cb, void *arg)
{
	return rs_lookup(impl, RS_ACCESS, principal, bucket, out, now, cb, arg);
}

static enum pstore_result
redisstore_list_buckets(void *impl, const char *principal, time_t now,
    struct pstore_bucket_list *out, pstore_cb *cb, void *arg)
{
	return rs_lookup(impl, RS_LIST, principal, NULL, out, now, cb, arg);
}

static void
redisstore_cancel(void *impl, void *arg)
{
	struct redisstore *rs = impl;
	struct rs_waiter *w, *next;

	for (w = TAILQ_FIRST(&rs->waiters); w != NULL; w = next) {
		next = TAILQ_NEXT(w, all);
		if (w->arg != arg)
			continue;
		TAILQ_REMOVE(&w->fetch->waiters, w, fentry);
		TAILQ_REMOVE(&rs->waiters, w, all);
		free(w);
	}
}

/* SIGHUP: nothing to reread but the cache, which is dropped. */
static int
redisstore_reload(void *impl, struct sbuf *errors)
{
	struct redisstore *rs = impl;

	rs->gen++;
	rs_drop(rs, NULL, NULL, 0);
	return 0;
}

static int
redisstore_ready(void *impl)
{
	struct redisstore *rs = impl;

	return rs->data.ready && rs->sub.ready;
}

static void
redisstore_free(void *impl)
{
	struct redisstore *rs = impl;

	rs->closing = 1;
	rs_conn_kill(&rs->data, "closing");
	rs_conn_kill(&rs->sub, "closing");
	rs_drop(rs, NULL, NULL, 0);
	event_free(rs->tick);
	free(rs->table);
	free(rs->url);
	explicit_bzero(rs, sizeof(*rs));
	free(rs);
}

static void
redisstore_stats(void *impl, struct pstore_stats *st)
{
	const struct redisstore *rs = impl;
	int connected = st->connected;

	*st = rs->stats;
	st->connected = connected;
}

const struct pstore_ops redisstore_ops = {
	.name = "redis",
	.open = redisstore_open,
	.credential = redisstore_credential,
	.access = redisstore_access,
	.list_buckets = redisstore_list_buckets,
	.cancel = redisstore_cancel,
	.reload = redisstore_reload,
	.free = redisstore_free,
	.ready = redisstore_ready,
	.stats = redisstore_stats,
};
