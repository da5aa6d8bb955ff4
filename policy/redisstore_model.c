/*
 * redisstore_model: the Redis store's admin side, blocking, for
 * s3gate-admin (redisstore.h): the whole model read and written at once
 * (a write is one MULTI/EXEC of the keys that changed, under WATCH of the
 * version key, the invalidations PUBLISHed inside it), and the admin
 * CLI's lock.  redisstore.c says what is where (redisstore_int.h).
 */
#include <sys/time.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <hiredis/hiredis.h>
#include <jansson.h>
#include <openssl/rand.h>

#include "policy/redisstore.h"
#include "policy/redisstore_int.h"
#include "proxy/sbuf.h"

#define RS_MAX_PUBLISH		64	/* more invalidations than this: one "all" */

/* ---- admin side: blocking access ------------------------------------------------------ */

#define RS_ADMIN_CONNECT_S	5
#define RS_ADMIN_COMMAND_S	60
#define RS_ADMIN_RETRIES	5

struct rs_admin {
	redisContext	*c;
	unsigned char	 key[REDISSTORE_KEY_LEN];
	char		 url[512];	/* for messages: without its password */
};

static void
rs_admin_close(struct rs_admin *a)
{
	if (a->c != NULL)
		redisFree(a->c);
	a->c = NULL;
	explicit_bzero(a->key, sizeof(a->key));
}

/* One command; the reply, or NULL (an error reply included) with the reason in ERRORS. */
static redisReply *
rs_admin_reply(struct rs_admin *a, redisReply *r, const char *what, struct sbuf *errors)
{
	if (r == NULL) {
		sbuf_appendf(errors, "policy_store %s: %s: %s\n", a->url, what,
		    a->c->errstr[0] ? a->c->errstr : "no reply");
		return NULL;
	}
	if (r->type == REDIS_REPLY_ERROR) {
		sbuf_appendf(errors, "policy_store %s: %s: %s\n", a->url, what, r->str);
		freeReplyObject(r);
		return NULL;
	}
	return r;
}

/*
 * Sentinel, for the admin: asks the sentinels in the URL's order which
 * server is the master of ADDR's name; the first to name one is believed
 * (ADDR's host and port set).  Each is given TV to connect and to answer.
 */
static int
rs_admin_ask_sentinels(struct rs_admin *a, struct rs_addr *addr, struct timeval tv,
    struct sbuf *errors)
{
	struct sbuf why = SBUF_INIT;
	redisContext *sc;
	redisReply *r;
	int i;

	for (i = 0; i < addr->nsentinels; i++) {
		const struct rs_hostport *sentinel = &addr->sentinels[i];

		sc = redisConnectWithTimeout(sentinel->host, sentinel->port, tv);
		if (sc == NULL || sc->err) {
			sbuf_appendf(&why, "; sentinel %s:%d: %s", sentinel->host, sentinel->port,
			    sc ? sc->errstr : "out of memory");
			if (sc != NULL)
				redisFree(sc);
			continue;
		}
		(void)redisSetTimeout(sc, tv);
		if (addr->password[0] != '\0' &&	/* as the proxy does: redisstore_cache.c */
		    (r = redisCommand(sc, "AUTH %s", addr->password)) != NULL)
			freeReplyObject(r);
		r = redisCommand(sc, "SENTINEL get-master-addr-by-name %s", addr->master_name);
		if (rs_sentinel_reply_master(r, addr->host, sizeof(addr->host), &addr->port) == 0) {
			freeReplyObject(r);
			redisFree(sc);
			sbuf_free(&why);
			return 0;
		}
		sbuf_appendf(&why, "; sentinel %s:%d: %.200s", sentinel->host, sentinel->port,
		    r == NULL ? (sc->errstr[0] ? sc->errstr : "no reply") : rs_sentinel_reply_why(r));
		if (r != NULL)
			freeReplyObject(r);
		redisFree(sc);
	}
	sbuf_appendf(errors, "policy_store %s: no sentinel named the master %s%s; check the "
	    "sentinels' addresses and the name their \"sentinel monitor\" line gives\n", a->url,
	    addr->master_name, why.data ? why.data : "");
	sbuf_free(&why);
	return -1;
}

static int
rs_admin_open(struct rs_admin *a, const struct conf *conf, struct sbuf *errors)
{
	struct rs_addr addr;
	struct timeval tv = { RS_ADMIN_CONNECT_S, 0 }, ctv = { RS_ADMIN_COMMAND_S, 0 };
	redisReply *r;

	memset(a, 0, sizeof(*a));
	redisstore_url_shown(conf->store_path, a->url, sizeof(a->url));
	if (conf->store_secret_key == NULL) {
		sbuf_appendf(errors, "policy_store redis needs policy_secret_key FILE: secrets in "
		    "Redis are sealed with it (make one: openssl rand -hex 32 > FILE; "
		    "chmod 600 FILE)\n");
		return -1;
	}
	if (redisstore_parse_key(conf->store_secret_key, a->key) == -1) {
		sbuf_appendf(errors, "policy_secret_key: not 64 hex digits\n");
		return -1;
	}
	if (rs_addr_conf(conf, &addr, errors) == -1)
		return -1;
	if (addr.nsentinels > 0 && rs_admin_ask_sentinels(a, &addr, tv, errors) == -1) {
		explicit_bzero(&addr, sizeof(addr));
		return -1;
	}
	if (addr.path[0] != '\0')
		a->c = redisConnectUnixWithTimeout(addr.path, tv);
	else
		a->c = redisConnectWithTimeout(addr.host, addr.port, tv);
	if (a->c == NULL || a->c->err) {
		sbuf_appendf(errors, "policy_store %s: cannot connect: %s; is Redis running?\n",
		    a->url, a->c ? a->c->errstr : "out of memory");
		goto fail;
	}
	(void)redisSetTimeout(a->c, ctv);
	if (addr.password[0] != '\0') {
		if ((r = rs_admin_reply(a, redisCommand(a->c, "AUTH %s", addr.password), "AUTH",
		    errors)) == NULL)
			goto fail;
		freeReplyObject(r);
	}
	if (addr.db != 0) {
		if ((r = rs_admin_reply(a, redisCommand(a->c, "SELECT %d", addr.db), "SELECT",
		    errors)) == NULL)
			goto fail;
		freeReplyObject(r);
	}
	if (addr.nsentinels > 0) {
		/* a sentinel's answer may be stale: writes must go to the master */
		if ((r = rs_admin_reply(a, redisCommand(a->c, "ROLE"), "ROLE", errors)) == NULL)
			goto fail;
		if (!rs_role_is_master(r)) {
			sbuf_appendf(errors, "policy_store %s: %s:%d, named master of %s by the "
			    "sentinels, is not the master (a failover under way?); try again\n",
			    a->url, addr.host, addr.port, addr.master_name);
			freeReplyObject(r);
			goto fail;
		}
		freeReplyObject(r);
	}
	explicit_bzero(&addr, sizeof(addr));
	return 0;
fail:
	explicit_bzero(&addr, sizeof(addr));
	rs_admin_close(a);
	return -1;
}

/* ---- admin side: the model as (key, field, value) ------------------------------------- */

struct rs_kv {
	char	*key;
	char	*field;
	char	*value;		/* plaintext */
	int	 sealed;	/* stored sealed */
};

struct rs_kvs {
	struct rs_kv	*v;
	size_t		 n, cap;
};

static void
rs_kv_add(struct rs_kvs *l, const char *key, const char *field, const char *value, int sealed)
{
	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 256;
		if ((l->v = reallocarray(l->v, l->cap, sizeof(*l->v))) == NULL)
			abort();
	}
	l->v[l->n].key = sbuf_strdup(key);
	l->v[l->n].field = sbuf_strdup(field);
	l->v[l->n].value = sbuf_strdup(value);
	l->v[l->n].sealed = sealed;
	l->n++;
}

static void
rs_kvs_free(struct rs_kvs *l)
{
	size_t i;

	for (i = 0; i < l->n; i++) {
		free(l->v[i].key);
		free(l->v[i].field);
		if (l->v[i].sealed)
			rs_free_secret(l->v[i].value);
		else
			free(l->v[i].value);
	}
	free(l->v);
	memset(l, 0, sizeof(*l));
}

static int
rs_kv_cmp(const void *x, const void *y)
{
	const struct rs_kv *a = x, *b = y;
	int c;

	if ((c = strcmp(a->key, b->key)) != 0)
		return c;
	return strcmp(a->field, b->field);
}

/* Sorts L and drops repeated (key, field) pairs (the first is kept). */
static void
rs_kvs_sort(struct rs_kvs *l)
{
	size_t i, j = 0;

	if (l->n > 1)
		qsort(l->v, l->n, sizeof(*l->v), rs_kv_cmp);
	for (i = 0; i < l->n; i++) {
		if (j > 0 && rs_kv_cmp(&l->v[j - 1], &l->v[i]) == 0) {
			free(l->v[i].key);
			free(l->v[i].field);
			rs_free_secret(l->v[i].value);
			continue;
		}
		l->v[j++] = l->v[i];
	}
	l->n = j;
}

static void
rs_kv_json(struct rs_kvs *l, const char *key, const char *field, json_t *o)
{
	char *text;

	if ((text = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS)) == NULL)
		abort();
	rs_kv_add(l, key, field, text, 0);
	free(text);
	json_decref(o);
}

/* What PRINCIPAL holds on bucket B, into bucket:B and access:P. */
static void
rs_kvs_access(struct rs_kvs *l, const struct model *m, const struct model_bucket *b,
    const struct model_workspace *w, const char *principal, struct sbuf *key,
    struct sbuf *field, struct sbuf *val)
{
	const struct model_grant *g;
	struct policy_access a;
	time_t created = 0;

	model_access(m, principal, b->name, 0, &a);
	if (a.via == VIA_NONE)
		return;
	sbuf_reset(key);
	sbuf_appendf(key, REDISSTORE_PREFIX "bucket:%s", b->name);
	sbuf_reset(field);
	sbuf_appendf(field, "p:%s", principal);
	rs_access_format(val, &a);
	rs_kv_add(l, key->data, field->data, val->data, 0);
	if (a.via == VIA_GRANT && (g = model_grant_find(m, b->name, principal)) != NULL)
		created = g->granted_at;
	else if (w != NULL)
		created = w->created_at;
	sbuf_reset(key);
	sbuf_appendf(key, REDISSTORE_PREFIX "access:%s", principal);
	rs_item_format(val, a.via, a.perm, a.expires_at, created, b->workspace, a.prefix);
	rs_kv_add(l, key->data, b->name, val->data, 0);
}

/* Every field M is stored as, sorted. */
static void
rs_model_kvs(const struct model *m, struct rs_kvs *l)
{
	struct sbuf key = SBUF_INIT, field = SBUF_INIT, val = SBUF_INIT;
	const struct model_workspace *w;
	const struct model_bucket *b;
	const struct model_grant *g;
	const struct model_request *r;
	const struct policy_credential *c;
	const struct policy_quota *q;
	const char *issuer;
	json_t *o, *arr;
	size_t i, j;
	char num[32];

	for (i = 0; i < m->nworkspaces; i++) {
		w = &m->workspaces[i];
		arr = json_array();
		for (j = 0; j < w->nmembers; j++)
			json_array_append_new(arr, json_string(w->members[j]));
		o = json_pack("{s:s,s:I,s:o}", "principal", w->principal, "created_at",
		    (json_int_t)w->created_at, "members", arr);
		if (w->quota.set != 0) {
			rs_quota_format(&val, &w->quota);
			json_object_set_new(o, "quota", json_string(val.data));
		}
		rs_kv_json(l, REDISSTORE_PREFIX "workspaces", w->name, o);
	}
	for (i = 0; i < m->nbuckets; i++) {
		b = &m->buckets[i];
		o = json_pack("{s:s,s:b}", "workspace", b->workspace, "discoverable",
		    b->discoverable != 0);
		rs_kv_json(l, REDISSTORE_PREFIX "buckets", b->name, o);
		sbuf_reset(&key);
		sbuf_appendf(&key, REDISSTORE_PREFIX "bucket:%s", b->name);
		rs_kv_add(l, key.data, "workspace", b->workspace, 0);
		rs_kv_add(l, key.data, "discoverable", b->discoverable ? "1" : "0", 0);
		w = model_workspace_find(m, b->workspace);
		if (w != NULL) {
			rs_kvs_access(l, m, b, w, w->principal, &key, &field, &val);
			for (j = 0; j < w->nmembers; j++)
				rs_kvs_access(l, m, b, w, w->members[j], &key, &field, &val);
		}
	}
	for (i = 0; i < m->ngrants; i++) {
		g = &m->grants[i];
		sbuf_reset(&field);
		sbuf_appendf(&field, "%s/%s", g->bucket, g->grantee);
		o = json_pack("{s:s,s:s,s:I,s:I}", "perm", policy_perm_str(g->perm), "prefix",
		    g->prefix ? g->prefix : "", "granted_at", (json_int_t)g->granted_at,
		    "expires_at", (json_int_t)g->expires_at);
		rs_kv_json(l, REDISSTORE_PREFIX "grants", field.data, o);
		if ((b = model_bucket_find(m, g->bucket)) != NULL)
			rs_kvs_access(l, m, b, model_workspace_find(m, b->workspace), g->grantee,
			    &key, &field, &val);
	}
	for (i = 0; i < m->nrequests; i++) {
		r = &m->requests[i];
		sbuf_reset(&field);
		sbuf_appendf(&field, "%s/%s", r->bucket, r->requester);
		o = json_pack("{s:s,s:s,s:I}", "workspace", r->workspace ? r->workspace : "",
		    "reason", r->reason ? r->reason : "", "requested_at",
		    (json_int_t)r->requested_at);
		rs_kv_json(l, REDISSTORE_PREFIX "requests", field.data, o);
	}
	for (i = 0; i < m->nretired; i++) {
		o = json_pack("{s:s,s:s,s:I}", "workspace", m->retired[i].workspace, "principal",
		    m->retired[i].principal, "retired_at", (json_int_t)m->retired[i].retired_at);
		rs_kv_json(l, REDISSTORE_PREFIX "retired", m->retired[i].bucket, o);
	}
	for (i = 0; i < m->ncredentials; i++) {
		c = &m->credentials[i];
		rs_kv_add(l, REDISSTORE_PREFIX "creds", c->access_key_id, c->principal, 0);
		sbuf_reset(&key);
		sbuf_appendf(&key, REDISSTORE_PREFIX "cred:%s", c->access_key_id);
		rs_kv_add(l, key.data, "principal", c->principal, 0);
		rs_kv_add(l, key.data, "secret", c->secret, 1);
		if (c->session_token != NULL)
			rs_kv_add(l, key.data, "session_token", c->session_token, 1);
		snprintf(num, sizeof(num), "%lld", (long long)c->expires_at);
		rs_kv_add(l, key.data, "expires_at", num, 0);
		/* on every credential of the principal, so that the proxy's one
		   HGETALL per miss brings it, and a change invalidates "cred AKID" */
		if ((q = model_quota(m, c->principal)) != NULL) {
			rs_quota_format(&val, q);
			rs_kv_add(l, key.data, "quota", val.data, 0);
		}
		if (c->link_method != NULL) {
			rs_kv_add(l, key.data, "link_bucket", c->link_bucket ? c->link_bucket : "", 0);
			rs_kv_add(l, key.data, "link_key", c->link_key ? c->link_key : "", 0);
			rs_kv_add(l, key.data, "link_method", c->link_method, 0);
			snprintf(num, sizeof(num), "%llu", (unsigned long long)c->link_max_bytes);
			rs_kv_add(l, key.data, "link_max_bytes", num, 0);
			snprintf(num, sizeof(num), "%lu", (unsigned long)c->link_max_uses);
			rs_kv_add(l, key.data, "link_max_uses", num, 0);
			if ((issuer = model_link_issuer(m, c->access_key_id)) != NULL)
				rs_kv_add(l, key.data, "link_issuer", issuer, 0);
		}
	}
	sbuf_free(&key);
	sbuf_free(&field);
	sbuf_free(&val);
	rs_kvs_sort(l);
}

/* Keys that are not model hashes. */
static int
rs_key_is_meta(const char *key)
{
	return strcmp(key, REDISSTORE_PREFIX "version") == 0 ||
	    strcmp(key, REDISSTORE_PREFIX "lock") == 0;
}

static int
rs_field_is_sealed(const char *key, const char *field)
{
	return strncmp(key, REDISSTORE_PREFIX "cred:", sizeof(REDISSTORE_PREFIX "cred:") - 1) == 0 &&
	    (strcmp(field, "secret") == 0 || strcmp(field, "session_token") == 0);
}

/*
 * Everything Redis holds under the prefix, as (key, field, plaintext),
 * sorted.  A sealed field that does not unseal reads as "" (it will be
 * rewritten, or the load that needs it fails).
 */
static int
rs_redis_kvs(struct rs_admin *a, struct rs_kvs *l, struct sbuf *errors)
{
	struct sbuf aad = SBUF_INIT;
	redisReply *r, *h;
	char **keys = NULL, cursor[32] = "0", *plain;
	size_t nkeys = 0, i, j;
	int rc = -1;

	do {
		if ((r = rs_admin_reply(a, redisCommand(a->c, "SCAN %s MATCH %s COUNT 1000",
		    cursor, REDISSTORE_PREFIX "*"), "SCAN", errors)) == NULL)
			goto out;
		if (r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
		    r->element[0]->type != REDIS_REPLY_STRING ||
		    r->element[1]->type != REDIS_REPLY_ARRAY) {
			sbuf_appendf(errors, "policy_store %s: SCAN: unexpected reply\n", a->url);
			freeReplyObject(r);
			goto out;
		}
		snprintf(cursor, sizeof(cursor), "%s", r->element[0]->str);
		for (i = 0; i < r->element[1]->elements; i++) {
			const char *k = r->element[1]->element[i]->str;

			if (k == NULL || rs_key_is_meta(k))
				continue;
			if ((keys = reallocarray(keys, nkeys + 1, sizeof(*keys))) == NULL)
				abort();
			keys[nkeys++] = sbuf_strdup(k);
		}
		freeReplyObject(r);
	} while (strcmp(cursor, "0") != 0);

	/* pipelined: one round trip per batch, not per key */
	for (i = 0; i < nkeys; i++)
		if (redisAppendCommand(a->c, "HGETALL %s", keys[i]) != REDIS_OK)
			abort();
	for (i = 0; i < nkeys; i++) {
		if (redisGetReply(a->c, (void **)&h) != REDIS_OK || h == NULL) {
			sbuf_appendf(errors, "policy_store %s: HGETALL: %s\n", a->url, a->c->errstr);
			goto out;
		}
		if (h->type == REDIS_REPLY_ERROR) {
			/* a key of another type under our prefix: not ours to read */
			freeReplyObject(h);
			continue;
		}
		for (j = 0; h->type == REDIS_REPLY_ARRAY && j + 1 < h->elements; j += 2) {
			const char *f = h->element[j]->str, *v = h->element[j + 1]->str;

			if (f == NULL || v == NULL)
				continue;
			if (rs_field_is_sealed(keys[i], f)) {
				rs_aad(&aad, keys[i], f);
				plain = redisstore_unseal(a->key, aad.data, v);
				rs_kv_add(l, keys[i], f, plain ? plain : "", 1);
				rs_free_secret(plain);
			} else
				rs_kv_add(l, keys[i], f, v, 0);
		}
		freeReplyObject(h);
	}
	rs_kvs_sort(l);
	rc = 0;
out:
	for (i = 0; i < nkeys; i++)
		free(keys[i]);
	free(keys);
	sbuf_free(&aad);
	return rc;
}

/* ---- admin side: load -------------------------------------------------------------- */

static const struct rs_kv *
rs_kv_get(const struct rs_kvs *l, const char *key, const char *field)
{
	struct rs_kv probe = { (char *)key, (char *)field, NULL, 0 };

	return bsearch(&probe, l->v, l->n, sizeof(*l->v), rs_kv_cmp);
}

static json_int_t
rs_json_int(json_t *o, const char *name)
{
	json_t *v = json_object_get(o, name);

	return json_is_integer(v) ? json_integer_value(v) : 0;
}

static const char *
rs_json_str(json_t *o, const char *name)
{
	const char *s = json_string_value(json_object_get(o, name));

	return s ? s : "";
}

#define RS_IS(kv, name) (strcmp((kv)->key, REDISSTORE_PREFIX name) == 0)

/* A field of the model's hashes: what s3gate-admin loads, and no proxy reads. */
static int
rs_kv_in_model(const struct rs_kv *kv)
{
	return RS_IS(kv, "workspaces") || RS_IS(kv, "buckets") || RS_IS(kv, "grants") ||
	    RS_IS(kv, "requests") || RS_IS(kv, "creds") || RS_IS(kv, "retired");
}

/* Builds a model from KVS; -1 with the reasons in ERRORS. */
static int
rs_kvs_model(const struct rs_kvs *l, struct model *m, const char *source, struct sbuf *errors)
{
	static const char *const linkf[] = { "link_bucket", "link_key", "link_method",
	    "link_max_bytes", "link_max_uses" };
	const size_t nlinkf = sizeof(linkf) / sizeof(linkf[0]);
	struct sbuf key = SBUF_INIT;
	struct policy_credential c, link;
	struct model_workspace *w;
	const struct rs_kv *kv, *x;
	json_error_t jerr;
	json_t *o, *v;
	enum policy_perm perm;
	const char *slash;
	char *bucket;
	size_t i, j;
	int bad = 0;

	for (i = 0; i < l->n; i++) {
		kv = &l->v[i];
		if (!rs_kv_in_model(kv))
			continue;
		if (RS_IS(kv, "creds")) {
			memset(&c, 0, sizeof(c));
			memset(&link, 0, sizeof(link));
			sbuf_reset(&key);
			sbuf_appendf(&key, REDISSTORE_PREFIX "cred:%s", kv->field);
			c.access_key_id = kv->field;
			c.principal = (x = rs_kv_get(l, key.data, "principal")) ? x->value : NULL;
			c.secret = (x = rs_kv_get(l, key.data, "secret")) ? x->value : NULL;
			c.session_token = (x = rs_kv_get(l, key.data, "session_token")) ? x->value : NULL;
			if ((x = rs_kv_get(l, key.data, "expires_at")) != NULL &&
			    rs_parse_time(x->value, &c.expires_at) == -1)
				c.expires_at = 0;
			if (c.principal == NULL || c.secret == NULL || c.secret[0] == '\0' ||
			    (c.session_token != NULL && c.session_token[0] == '\0')) {
				sbuf_appendf(errors, "policy_store %s: %s: missing, or sealed under "
				    "another policy_secret_key; delete it (cred delete %s) or "
				    "restore the key\n", source, key.data, kv->field);
				bad = 1;
				continue;
			}
			for (j = 0; j < nlinkf; j++)
				if ((x = rs_kv_get(l, key.data, linkf[j])) != NULL &&
				    rs_parse_link_field(linkf[j], x->value, &link) == -1)
					break;
			if (j < nlinkf || !rs_link_complete(&link)) {
				sbuf_appendf(errors, "policy_store %s: %s: malformed link scope; "
				    "delete it (presign revoke %s)\n", source, key.data, kv->field);
				policy_credential_clear(&link);
				bad = 1;
				continue;
			}
			c.link_bucket = link.link_bucket;
			c.link_key = link.link_key;
			c.link_method = link.link_method;
			c.link_max_bytes = link.link_max_bytes;
			c.link_max_uses = link.link_max_uses;
			model_add_credential(m, &c);
			policy_credential_clear(&link);
			if (c.link_method != NULL &&
			    (x = rs_kv_get(l, key.data, "link_issuer")) != NULL && x->value[0] != '\0')
				model_set_link_issuer(m, kv->field, x->value);
			continue;
		}
		if ((o = json_loads(kv->value, 0, &jerr)) == NULL || !json_is_object(o)) {
			sbuf_appendf(errors, "policy_store %s: %s field %s: bad JSON\n", source,
			    kv->key, kv->field);
			json_decref(o);
			bad = 1;
			continue;
		}
		if (RS_IS(kv, "workspaces")) {
			w = model_add_workspace(m, kv->field, rs_json_str(o, "principal"), source, 0);
			w->created_at = (time_t)rs_json_int(o, "created_at");
			json_array_foreach(json_object_get(o, "members"), j, v)
				if (json_is_string(v))
					model_workspace_add_member(m, w, json_string_value(v));
			if (json_object_get(o, "quota") != NULL &&
			    rs_quota_parse(rs_json_str(o, "quota"), &w->quota) == -1) {
				sbuf_appendf(errors, "policy_store %s: workspace %s: malformed quota "
				    "\"%s\"; set it again (quota set %s ...)\n", source, kv->field,
				    rs_json_str(o, "quota"), w->principal);
				bad = 1;
			}
		} else if (RS_IS(kv, "buckets")) {
			model_add_bucket(m, kv->field, rs_json_str(o, "workspace"),
			    json_is_true(json_object_get(o, "discoverable")), source, 0);
		} else if (RS_IS(kv, "retired")) {
			/* one without its holder stays retired, nobody's to take back */
			model_add_retired(m, kv->field, rs_json_str(o, "workspace")[0] != '\0' ?
			    rs_json_str(o, "workspace") : "-", rs_json_str(o, "principal")[0] != '\0' ?
			    rs_json_str(o, "principal") : "-", (time_t)rs_json_int(o, "retired_at"));
		} else if ((slash = strchr(kv->field, '/')) == NULL) {
			sbuf_appendf(errors, "policy_store %s: %s field %s is not BUCKET/PRINCIPAL\n",
			    source, kv->key, kv->field);
			bad = 1;
		} else if (RS_IS(kv, "grants")) {
			bucket = sbuf_strndup(kv->field, (size_t)(slash - kv->field));
			if (policy_perm_parse(rs_json_str(o, "perm"), &perm) == -1) {
				sbuf_appendf(errors, "policy_store %s: grant %s: unknown permission "
				    "\"%s\"\n", source, kv->field, rs_json_str(o, "perm"));
				bad = 1;
			} else if (strlen(rs_json_str(o, "prefix")) > MODEL_MAX_PREFIX) {
				sbuf_appendf(errors, "policy_store %s: grant %s: the prefix is %zu bytes; "
				    "the longest is %d: revoke it and grant a shorter one\n", source,
				    kv->field, strlen(rs_json_str(o, "prefix")), MODEL_MAX_PREFIX);
				bad = 1;
			} else
				model_add_grant(m, bucket, slash + 1, perm, rs_json_str(o, "prefix"),
				    (time_t)rs_json_int(o, "granted_at"),
				    (time_t)rs_json_int(o, "expires_at"), source, 0);
			free(bucket);
		} else {
			bucket = sbuf_strndup(kv->field, (size_t)(slash - kv->field));
			model_add_request(m, bucket, slash + 1, rs_json_str(o, "workspace"),
			    rs_json_str(o, "reason"), (time_t)rs_json_int(o, "requested_at"),
			    source, 0);
			free(bucket);
		}
		json_decref(o);
	}
	sbuf_free(&key);
	return bad ? -1 : 0;
}

int
redisstore_model_load(const struct conf *conf, struct model **out, struct sbuf *errors)
{
	struct rs_admin a;
	struct rs_kvs l = { NULL, 0, 0 };
	struct model *m;
	int rc = -1;

	*out = NULL;
	if (rs_admin_open(&a, conf, errors) == -1)
		return -1;
	if (rs_redis_kvs(&a, &l, errors) == -1)
		goto out;
	m = model_new();
	if (rs_kvs_model(&l, m, a.url, errors) == -1 || model_index(m, errors) == -1) {
		model_free(m);
		goto out;
	}
	*out = m;
	rc = 0;
out:
	rs_kvs_free(&l);
	rs_admin_close(&a);
	return rc;
}

/* ---- admin side: save ---------------------------------------------------------------- */

/* The admin CLI's lock (redisstore_lock()): the save checks it still holds it. */
#define RS_LOCK_TTL_MS		60000
#define RS_LOCK_WAIT_MS		10000

struct redisstore_lock {
	struct rs_admin	 a;
	char		 token[33];
};

/* The invalidation a changed field needs; NULL for index-only fields. */
static char *
rs_kv_invalidation(const struct rs_kv *kv)
{
	const char *k = kv->key + sizeof(REDISSTORE_PREFIX) - 1;
	char *msg = NULL;

	if (strncmp(k, "cred:", 5) == 0) {
		if (asprintf(&msg, "cred %s", k + 5) == -1)
			abort();
	} else if (strncmp(k, "access:", 7) == 0) {
		if (asprintf(&msg, "access %s", k + 7) == -1)
			abort();
	} else if (strncmp(k, "bucket:", 7) == 0) {
		if (strncmp(kv->field, "p:", 2) == 0) {
			if (asprintf(&msg, "access %s", kv->field + 2) == -1)
				abort();
		} else if (asprintf(&msg, "bucket %s", k + 7) == -1)
			abort();
	}
	return msg;
}

static int
rs_str_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* One attempt: 1 done, 0 someone else wrote in between (retry), -1 error. */
static int
rs_save_once(struct rs_admin *a, const struct rs_kvs *want, const char *token,
    struct sbuf *errors)
{
	struct rs_kvs cur = { NULL, 0, 0 };
	struct sbuf aad = SBUF_INIT, sealed = SBUF_INIT;
	redisReply *r;
	char **msgs = NULL;
	size_t i = 0, j = 0, k, nmsgs = 0, ncmds = 0, u;
	const struct rs_kv *kv;
	int c, rc = -1, ok, stray = 0;

	if ((r = rs_admin_reply(a, redisCommand(a->c, "WATCH " REDISSTORE_PREFIX "version "
	    REDISSTORE_PREFIX "lock"), "WATCH", errors)) == NULL)
		return -1;
	freeReplyObject(r);
	/*
	 * The model was loaded under the lock: once the lock is gone (held past
	 * its 60 s, deleted by hand, Redis restarted) another command may have
	 * written since, and this model, written now, would undo that write.
	 * The lock is WATCHed: it cannot go between this look and the EXEC.
	 */
	if (token != NULL) {
		if ((r = rs_admin_reply(a, redisCommand(a->c, "GET " REDISSTORE_PREFIX "lock"),
		    "GET lock", errors)) == NULL)
			return -1;
		ok = r->type == REDIS_REPLY_STRING && strcmp(r->str, token) == 0;
		freeReplyObject(r);
		if (!ok) {
			sbuf_appendf(errors, "policy_store %s: this command's " REDISSTORE_PREFIX
			    "lock was lost (held over %d s, or deleted) and another may have "
			    "written since; nothing written: run the command again\n", a->url,
			    RS_LOCK_TTL_MS / 1000);
			if ((r = redisCommand(a->c, "UNWATCH")) != NULL)
				freeReplyObject(r);
			return -1;
		}
	}
	if (rs_redis_kvs(a, &cur, errors) == -1)
		goto out;

	if (redisAppendCommand(a->c, "MULTI") != REDIS_OK)
		abort();
	ncmds++;
	while (i < cur.n || j < want->n) {
		if (i == cur.n)
			c = 1;
		else if (j == want->n)
			c = -1;
		else
			c = rs_kv_cmp(&cur.v[i], &want->v[j]);
		if (c < 0) {
			kv = &cur.v[i++];
			if (redisAppendCommand(a->c, "HDEL %s %s", kv->key, kv->field) != REDIS_OK)
				abort();
		} else {
			kv = &want->v[j++];
			if (c == 0 && strcmp(cur.v[i++].value, kv->value) == 0)
				continue;
			if (kv->sealed) {
				rs_aad(&aad, kv->key, kv->field);
				sbuf_reset(&sealed);
				redisstore_seal(a->key, aad.data, kv->value, &sealed);
			}
			if (redisAppendCommand(a->c, "HSET %s %s %s", kv->key, kv->field,
			    kv->sealed ? sealed.data : kv->value) != REDIS_OK)
				abort();
		}
		ncmds++;
		if ((msgs = reallocarray(msgs, nmsgs + 1, sizeof(*msgs))) == NULL)
			abort();
		if ((msgs[nmsgs] = rs_kv_invalidation(kv)) != NULL)
			nmsgs++;
		else if (!rs_kv_in_model(kv))
			stray = 1;
	}
	if (ncmds == 1) {
		/* nothing to change: no write, no invalidation */
		r = NULL;
		(void)redisGetReply(a->c, (void **)&r);	/* MULTI */
		if (r != NULL)
			freeReplyObject(r);
		r = redisCommand(a->c, "DISCARD");
		if (r != NULL)
			freeReplyObject(r);
		rc = 1;
		goto out;
	}
	if (nmsgs > 1)
		qsort(msgs, nmsgs, sizeof(*msgs), rs_str_cmp);
	for (k = 0, u = 0; k < nmsgs; k++)
		if (u == 0 || strcmp(msgs[u - 1], msgs[k]) != 0)
			msgs[u++] = msgs[k];
		else
			free(msgs[k]);
	nmsgs = u;
	if (redisAppendCommand(a->c, "INCR " REDISSTORE_PREFIX "version") != REDIS_OK)
		abort();
	ncmds++;
	/*
	 * A change to the model's hashes alone (a request, a released retired
	 * record) is nothing a proxy caches: no message.  One to a key of no
	 * known kind (a newer writer's, that newer proxies may read) drops
	 * everything.
	 */
	if (nmsgs > RS_MAX_PUBLISH || (nmsgs == 0 && stray)) {
		if (redisAppendCommand(a->c, "PUBLISH " REDISSTORE_CHANNEL " all") != REDIS_OK)
			abort();
		ncmds++;
	} else
		for (k = 0; k < nmsgs; k++) {
			if (redisAppendCommand(a->c, "PUBLISH " REDISSTORE_CHANNEL " %s",
			    msgs[k]) != REDIS_OK)
				abort();
			ncmds++;
		}
	if (redisAppendCommand(a->c, "EXEC") != REDIS_OK)
		abort();
	/* MULTI and each queued command: +OK / +QUEUED; then EXEC */
	ok = 1;
	for (k = 0; k < ncmds; k++) {
		if (redisGetReply(a->c, (void **)&r) != REDIS_OK || r == NULL) {
			sbuf_appendf(errors, "policy_store %s: write: %s\n", a->url, a->c->errstr);
			goto out;
		}
		if (r->type == REDIS_REPLY_ERROR) {
			if (ok)
				sbuf_appendf(errors, "policy_store %s: write refused: %s\n", a->url,
				    r->str);
			ok = 0;
		}
		freeReplyObject(r);
	}
	if (redisGetReply(a->c, (void **)&r) != REDIS_OK || r == NULL) {
		sbuf_appendf(errors, "policy_store %s: EXEC: %s\n", a->url, a->c->errstr);
		goto out;
	}
	if (!ok || r->type == REDIS_REPLY_ERROR) {
		if (ok)
			sbuf_appendf(errors, "policy_store %s: EXEC: %s\n", a->url, r->str);
		freeReplyObject(r);
		goto out;
	}
	rc = r->type == REDIS_REPLY_NIL ? 0 : 1;	/* nil: the WATCHed version moved */
	freeReplyObject(r);
out:
	for (k = 0; k < nmsgs; k++)
		free(msgs[k]);
	free(msgs);
	rs_kvs_free(&cur);
	sbuf_free(&aad);
	sbuf_free(&sealed);
	if (rc != 1 && a->c != NULL && a->c->err == 0 &&
	    (r = redisCommand(a->c, "UNWATCH")) != NULL)
		freeReplyObject(r);
	return rc;
}

int
redisstore_model_save(const struct conf *conf, const struct model *old,
    const struct model *new, const struct redisstore_lock *lock, struct sbuf *errors)
{
	struct rs_admin a;
	struct rs_kvs want = { NULL, 0, 0 };
	int rc = -1, i;

	if (rs_admin_open(&a, conf, errors) == -1)
		return -1;
	rs_model_kvs(new, &want);
	for (i = 0; i < RS_ADMIN_RETRIES; i++)
		if ((rc = rs_save_once(&a, &want, lock != NULL ? lock->token : NULL, errors)) != 0)
			break;
	if (rc == 0)
		sbuf_appendf(errors, "policy_store %s: the policy kept changing under this write "
		    "(%d attempts); run the command again\n", a.url, RS_ADMIN_RETRIES);
	rs_kvs_free(&want);
	rs_admin_close(&a);
	return rc == 1 ? 0 : -1;
}

/* ---- admin side: the lock ------------------------------------------------------------ */

struct redisstore_lock *
redisstore_lock(const struct conf *conf, struct sbuf *errors)
{
	struct redisstore_lock *l;
	struct sbuf tok = SBUF_INIT;
	unsigned char rnd[16];
	redisReply *r;
	long long deadline = rs_now_ms() + RS_LOCK_WAIT_MS;
	int got;

	if ((l = calloc(1, sizeof(*l))) == NULL)
		abort();
	if (rs_admin_open(&l->a, conf, errors) == -1) {
		free(l);
		return NULL;
	}
	if (RAND_bytes(rnd, sizeof(rnd)) != 1)
		abort();
	rs_hex(&tok, rnd, sizeof(rnd));
	memcpy(l->token, tok.data, 32);
	sbuf_free(&tok);
	for (;;) {
		if ((r = rs_admin_reply(&l->a, redisCommand(l->a.c, "SET " REDISSTORE_PREFIX
		    "lock %s NX PX %d", l->token, RS_LOCK_TTL_MS), "SET lock", errors)) == NULL)
			break;
		got = r->type == REDIS_REPLY_STATUS;
		freeReplyObject(r);
		if (got)
			return l;
		if (rs_now_ms() > deadline) {
			sbuf_appendf(errors, "policy_store %s: another s3gate-admin holds "
			    REDISSTORE_PREFIX "lock; retry (it expires %d s after it was taken)\n",
			    l->a.url, RS_LOCK_TTL_MS / 1000);
			break;
		}
		usleep(100 * 1000);
	}
	rs_admin_close(&l->a);
	free(l);
	return NULL;
}

void
redisstore_unlock(struct redisstore_lock *l)
{
	redisReply *r;

	if (l == NULL)
		return;
	if (l->a.c != NULL && (r = redisCommand(l->a.c,
	    "EVAL %s 1 " REDISSTORE_PREFIX "lock %s",
	    "if redis.call('get', KEYS[1]) == ARGV[1] then "
	    "return redis.call('del', KEYS[1]) else return 0 end", l->token)) != NULL)
		freeReplyObject(r);
	rs_admin_close(&l->a);
	free(l);
}
