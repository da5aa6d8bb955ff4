/*
 * model: records in arrays, indexes in open-addressing hash tables of
 * string -> array position, rebuilt whole by model_index().
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy/model.h"
#include "proxy/sbuf.h"

struct model_map {
	char	**keys;		/* owned; NULL = empty slot */
	size_t	 *values;
	size_t	  cap;		/* power of two, at least twice the entries */
};

struct model_index {
	struct model_map	 workspaces;
	struct model_map	 buckets;
	struct model_map	 grants;	/* "bucket/grantee": bucket names hold no '/' */
	struct model_map	 requests;	/* "bucket/requester" */
	struct model_map	 credentials;
	struct model_map	 quotas;	/* principal -> the workspace setting its quotas */
	struct model_map	 retired;
};

static void *
model_xcalloc(size_t n, size_t size)
{
	void *p;

	if ((p = calloc(n ? n : 1, size)) == NULL)
		abort();
	return p;
}

/* Grows *ARRAY (of SIZE-byte records, *N used) by one zeroed record. */
static void *
model_grow(void *array, size_t *n, size_t size)
{
	char *p;

	if ((p = reallocarray(array, *n + 1, size)) == NULL)
		abort();
	memset(p + *n * size, 0, size);
	(*n)++;
	return p;
}

static uint64_t
model_hash(const char *s)
{
	uint64_t h = 1469598103934665603ULL;

	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 1099511628211ULL;
	}
	return h;
}

static void
model_map_init(struct model_map *map, size_t entries)
{
	map->cap = 16;
	while (map->cap < entries * 2)
		map->cap *= 2;
	map->keys = model_xcalloc(map->cap, sizeof(*map->keys));
	map->values = model_xcalloc(map->cap, sizeof(*map->values));
}

static void
model_map_free(struct model_map *map)
{
	size_t i;

	for (i = 0; map->keys && i < map->cap; i++)
		free(map->keys[i]);
	free(map->keys);
	free(map->values);
	memset(map, 0, sizeof(*map));
}

/* Inserts KEY -> VALUE; returns -1 (and keeps the first) if KEY is there. */
static int
model_map_put(struct model_map *map, const char *key, size_t value, size_t *first)
{
	size_t i = model_hash(key) & (map->cap - 1);

	while (map->keys[i] != NULL) {
		if (strcmp(map->keys[i], key) == 0) {
			*first = map->values[i];
			return -1;
		}
		i = (i + 1) & (map->cap - 1);
	}
	map->keys[i] = sbuf_strdup(key);
	map->values[i] = value;
	return 0;
}

static int
model_map_get(const struct model_map *map, const char *key, size_t *value)
{
	size_t i = model_hash(key) & (map->cap - 1);

	while (map->keys[i] != NULL) {
		if (strcmp(map->keys[i], key) == 0) {
			*value = map->values[i];
			return 0;
		}
		i = (i + 1) & (map->cap - 1);
	}
	return -1;
}

static void
model_index_free(struct model_index *ix)
{
	if (ix == NULL)
		return;
	model_map_free(&ix->workspaces);
	model_map_free(&ix->buckets);
	model_map_free(&ix->grants);
	model_map_free(&ix->requests);
	model_map_free(&ix->credentials);
	model_map_free(&ix->quotas);
	model_map_free(&ix->retired);
	free(ix);
}

static void
model_stale(struct model *m)
{
	model_index_free(m->index);
	m->index = NULL;
}

struct model *
model_new(void)
{
	return model_xcalloc(1, sizeof(struct model));
}

static void
model_workspace_clear(struct model_workspace *w)
{
	size_t i;

	for (i = 0; i < w->nmembers; i++)
		free(w->members[i]);
	free(w->members);
	free(w->name);
	free(w->principal);
	free(w->source);
}

static void
model_bucket_clear(struct model_bucket *b)
{
	free(b->name);
	free(b->workspace);
	free(b->source);
}

static void
model_grant_clear(struct model_grant *g)
{
	free(g->bucket);
	free(g->grantee);
	free(g->prefix);
	free(g->source);
}

static void
model_request_clear(struct model_request *r)
{
	free(r->bucket);
	free(r->requester);
	free(r->workspace);
	free(r->reason);
	free(r->source);
}

static void
model_retired_clear(struct model_retired *r)
{
	free(r->bucket);
	free(r->workspace);
	free(r->principal);
}

void
model_free(struct model *m)
{
	size_t i;

	if (m == NULL)
		return;
	model_stale(m);
	for (i = 0; i < m->nretired; i++)
		model_retired_clear(&m->retired[i]);
	free(m->retired);
	for (i = 0; i < m->nlink_issuers; i++) {
		free(m->link_issuers[i].link);
		free(m->link_issuers[i].issuer);
	}
	free(m->link_issuers);
	for (i = 0; i < m->ncredentials; i++)
		policy_credential_clear(&m->credentials[i]);
	free(m->credentials);
	for (i = 0; i < m->nrequests; i++)
		model_request_clear(&m->requests[i]);
	free(m->requests);
	for (i = 0; i < m->ngrants; i++)
		model_grant_clear(&m->grants[i]);
	free(m->grants);
	for (i = 0; i < m->nbuckets; i++)
		model_bucket_clear(&m->buckets[i]);
	free(m->buckets);
	for (i = 0; i < m->nworkspaces; i++)
		model_workspace_clear(&m->workspaces[i]);
	free(m->workspaces);
	free(m);
}

struct model_workspace *
model_add_workspace(struct model *m, const char *name, const char *principal,
    const char *source, int line)
{
	struct model_workspace *w;

	model_stale(m);
	m->workspaces = model_grow(m->workspaces, &m->nworkspaces, sizeof(*w));
	w = &m->workspaces[m->nworkspaces - 1];
	w->name = sbuf_strdup(name);
	w->principal = sbuf_strdup(principal);
	w->source = sbuf_strdup(source);
	w->line = line;
	return w;
}

void
model_workspace_add_member(struct model *m, struct model_workspace *w, const char *principal)
{
	size_t i;

	for (i = 0; i < w->nmembers; i++)
		if (strcmp(w->members[i], principal) == 0)
			return;
	if ((w->members = reallocarray(w->members, w->nmembers + 1, sizeof(char *))) == NULL)
		abort();
	w->members[w->nmembers++] = sbuf_strdup(principal);
}

int
model_workspace_remove_member(struct model *m, struct model_workspace *w, const char *principal)
{
	size_t i;

	for (i = 0; i < w->nmembers; i++)
		if (strcmp(w->members[i], principal) == 0) {
			free(w->members[i]);
			memmove(&w->members[i], &w->members[i + 1],
			    (w->nmembers - i - 1) * sizeof(char *));
			w->nmembers--;
			return 0;
		}
	return -1;
}

struct model_bucket *
model_add_bucket(struct model *m, const char *name, const char *workspace, int discoverable,
    const char *source, int line)
{
	struct model_bucket *b;

	model_stale(m);
	m->buckets = model_grow(m->buckets, &m->nbuckets, sizeof(*b));
	b = &m->buckets[m->nbuckets - 1];
	b->name = sbuf_strdup(name);
	b->workspace = sbuf_strdup(workspace);
	b->discoverable = discoverable;
	b->source = sbuf_strdup(source);
	b->line = line;
	return b;
}

struct model_grant *
model_add_grant(struct model *m, const char *bucket, const char *grantee, enum policy_perm perm,
    const char *prefix, time_t granted_at, time_t expires_at, const char *source, int line)
{
	struct model_grant *g;

	model_stale(m);
	m->grants = model_grow(m->grants, &m->ngrants, sizeof(*g));
	g = &m->grants[m->ngrants - 1];
	g->bucket = sbuf_strdup(bucket);
	g->grantee = sbuf_strdup(grantee);
	g->perm = perm;
	g->prefix = sbuf_strdup(prefix ? prefix : "");
	g->granted_at = granted_at;
	g->expires_at = expires_at;
	g->source = sbuf_strdup(source);
	g->line = line;
	return g;
}

struct model_request *
model_add_request(struct model *m, const char *bucket, const char *requester,
    const char *workspace, const char *reason, time_t requested_at, const char *source, int line)
{
	struct model_request *r;

	model_stale(m);
	m->requests = model_grow(m->requests, &m->nrequests, sizeof(*r));
	r = &m->requests[m->nrequests - 1];
	r->bucket = sbuf_strdup(bucket);
	r->requester = sbuf_strdup(requester);
	r->workspace = sbuf_strdup(workspace);
	r->reason = sbuf_strdup(reason ? reason : "");
	r->requested_at = requested_at;
	r->source = sbuf_strdup(source);
	r->line = line;
	return r;
}

void
model_add_credential(struct model *m, const struct policy_credential *c)
{
	struct policy_credential *n;

	model_stale(m);
	m->credentials = model_grow(m->credentials, &m->ncredentials, sizeof(*n));
	n = &m->credentials[m->ncredentials - 1];
	model_credential_copy(n, c);
}

void
model_credential_copy(struct policy_credential *dst, const struct policy_credential *src)
{
	const char *from[] = { src->access_key_id, src->secret, src->principal,
	    src->session_token, src->link_bucket, src->link_key, src->link_method };
	char **to[] = { &dst->access_key_id, &dst->secret, &dst->principal,
	    &dst->session_token, &dst->link_bucket, &dst->link_key, &dst->link_method };
	size_t len[sizeof(from) / sizeof(from[0])], i, size = 0;
	char *p;

	memset(dst, 0, sizeof(*dst));
	for (i = 0; i < sizeof(from) / sizeof(from[0]); i++)
		if (from[i] != NULL)
			size += (len[i] = strlen(from[i]) + 1);
	if (size > 0) {
		if ((dst->block = malloc(size)) == NULL)
			abort();
		dst->block_size = size;
	}
	for (p = dst->block, i = 0; i < sizeof(from) / sizeof(from[0]); i++) {
		if (from[i] != NULL) {
			memcpy(p, from[i], len[i]);
			*to[i] = p;
			p += len[i];
		}
	}
	dst->expires_at = src->expires_at;
	dst->link_max_bytes = src->link_max_bytes;
	dst->link_max_uses = src->link_max_uses;
	dst->quota = src->quota;
}

int
model_remove_grant(struct model *m, const char *bucket, const char *grantee)
{
	struct model_grant *g;
	size_t i;

	if ((g = model_grant_find(m, bucket, grantee)) == NULL)
		return -1;
	i = (size_t)(g - m->grants);
	model_stale(m);
	model_grant_clear(g);
	memmove(g, g + 1, (m->ngrants - i - 1) * sizeof(*g));
	m->ngrants--;
	return 0;
}

int
model_remove_request(struct model *m, const char *bucket, const char *requester)
{
	struct model_request *r;
	size_t i;

	if ((r = model_request_find(m, bucket, requester)) == NULL)
		return -1;
	i = (size_t)(r - m->requests);
	model_stale(m);
	model_request_clear(r);
	memmove(r, r + 1, (m->nrequests - i - 1) * sizeof(*r));
	m->nrequests--;
	return 0;
}

void
model_set_link_issuer(struct model *m, const char *link, const char *issuer)
{
	struct model_link_issuer *li;
	size_t i;

	for (i = 0; i < m->nlink_issuers; i++)
		if (strcmp(m->link_issuers[i].link, link) == 0) {
			free(m->link_issuers[i].issuer);
			m->link_issuers[i].issuer = sbuf_strdup(issuer);
			return;
		}
	m->link_issuers = model_grow(m->link_issuers, &m->nlink_issuers, sizeof(*li));
	li = &m->link_issuers[m->nlink_issuers - 1];
	li->link = sbuf_strdup(link);
	li->issuer = sbuf_strdup(issuer);
}

const char *
model_link_issuer(const struct model *m, const char *link)
{
	size_t i;

	for (i = 0; i < m->nlink_issuers; i++)
		if (strcmp(m->link_issuers[i].link, link) == 0)
			return m->link_issuers[i].issuer;
	return NULL;
}

static void
model_remove_link_issuer(struct model *m, const char *link)
{
	size_t i;

	for (i = 0; i < m->nlink_issuers; i++)
		if (strcmp(m->link_issuers[i].link, link) == 0) {
			free(m->link_issuers[i].link);
			free(m->link_issuers[i].issuer);
			memmove(&m->link_issuers[i], &m->link_issuers[i + 1],
			    (m->nlink_issuers - i - 1) * sizeof(m->link_issuers[0]));
			m->nlink_issuers--;
			return;
		}
}

int
model_remove_credential(struct model *m, const char *akid)
{
	size_t i;

	model_remove_link_issuer(m, akid);
	for (i = 0; i < m->ncredentials; i++)
		if (strcmp(m->credentials[i].access_key_id, akid) == 0) {
			model_stale(m);
			policy_credential_clear(&m->credentials[i]);
			memmove(&m->credentials[i], &m->credentials[i + 1],
			    (m->ncredentials - i - 1) * sizeof(m->credentials[0]));
			m->ncredentials--;
			return 0;
		}
	return -1;
}

void
model_add_retired(struct model *m, const char *bucket, const char *workspace,
    const char *principal, time_t t)
{
	struct model_retired *r;

	model_stale(m);
	m->retired = model_grow(m->retired, &m->nretired, sizeof(*r));
	r = &m->retired[m->nretired - 1];
	r->bucket = sbuf_strdup(bucket);
	r->workspace = sbuf_strdup(workspace);
	r->principal = sbuf_strdup(principal);
	r->retired_at = t;
}

int
model_remove_retired(struct model *m, const char *bucket)
{
	struct model_retired *r;
	size_t i;

	if ((r = model_retired_find(m, bucket)) == NULL)
		return -1;
	i = (size_t)(r - m->retired);
	model_stale(m);
	model_retired_clear(r);
	memmove(r, r + 1, (m->nretired - i - 1) * sizeof(*r));
	m->nretired--;
	return 0;
}

void
model_truncate(struct model *m, size_t nworkspaces, size_t nbuckets, size_t ngrants,
    size_t nrequests)
{
	model_stale(m);
	while (m->nrequests > nrequests)
		model_request_clear(&m->requests[--m->nrequests]);
	while (m->ngrants > ngrants)
		model_grant_clear(&m->grants[--m->ngrants]);
	while (m->nbuckets > nbuckets)
		model_bucket_clear(&m->buckets[--m->nbuckets]);
	while (m->nworkspaces > nworkspaces)
		model_workspace_clear(&m->workspaces[--m->nworkspaces]);
}

static void
model_where(struct sbuf *errors, const char *source, int line)
{
	if (line > 0)
		sbuf_appendf(errors, "%s:%d: ", source ? source : "-", line);
	else
		sbuf_appendf(errors, "%s: ", source ? source : "-");
}

static void
model_where_str(char *buf, size_t len, const char *source, int line)
{
	if (line > 0)
		snprintf(buf, len, "%s:%d", source ? source : "-", line);
	else
		snprintf(buf, len, "%s", source ? source : "-");
}

int
model_index(struct model *m, struct sbuf *errors)
{
	struct model_index *ix;
	char key[512], where[512];
	size_t i, first;
	int bad = 0;

	model_stale(m);
	ix = model_xcalloc(1, sizeof(*ix));
	model_map_init(&ix->workspaces, m->nworkspaces);
	model_map_init(&ix->buckets, m->nbuckets);
	model_map_init(&ix->grants, m->ngrants);
	model_map_init(&ix->requests, m->nrequests);
	model_map_init(&ix->credentials, m->ncredentials);
	model_map_init(&ix->quotas, m->nworkspaces);
	model_map_init(&ix->retired, m->nretired);

	for (i = 0; i < m->nworkspaces; i++) {
		struct model_workspace *w = &m->workspaces[i];

		if (model_map_put(&ix->workspaces, w->name, i, &first) == -1) {
			model_where_str(where, sizeof(where), m->workspaces[first].source,
			    m->workspaces[first].line);
			model_where(errors, w->source, w->line);
			sbuf_appendf(errors, "workspace %s is defined twice (first at %s); "
			    "keep one Storage resource per workspace\n", w->name, where);
			bad = 1;
		}
		/* two sets of figures for one principal: which would apply is a guess */
		if (w->quota.set != 0 &&
		    model_map_put(&ix->quotas, w->principal, i, &first) == -1) {
			model_where_str(where, sizeof(where), m->workspaces[first].source,
			    m->workspaces[first].line);
			model_where(errors, w->source, w->line);
			sbuf_appendf(errors, "quotas for %s are set on workspaces %s and %s "
			    "(first at %s); set them on one\n", w->principal,
			    m->workspaces[first].name, w->name, where);
			bad = 1;
		}
	}
	for (i = 0; i < m->nbuckets; i++) {
		struct model_bucket *b = &m->buckets[i];

		if (model_map_put(&ix->buckets, b->name, i, &first) == -1) {
			model_where_str(where, sizeof(where), m->buckets[first].source,
			    m->buckets[first].line);
			model_where(errors, b->source, b->line);
			sbuf_appendf(errors, "bucket %s is claimed by workspaces %s and %s "
			    "(first at %s); a bucket belongs to one workspace\n", b->name,
			    m->buckets[first].workspace, b->workspace, where);
			bad = 1;
		}
	}
	for (i = 0; i < m->ngrants; i++) {
		struct model_grant *g = &m->grants[i];

		if (strlen(g->prefix) > MODEL_MAX_PREFIX) {
			model_where(errors, g->source, g->line);
			sbuf_appendf(errors, "grant of bucket %s to %s: the prefix is %zu bytes; "
			    "the longest is %d\n", g->bucket, g->grantee, strlen(g->prefix),
			    MODEL_MAX_PREFIX);
			bad = 1;
		}
		snprintf(key, sizeof(key), "%s/%s", g->bucket, g->grantee);
		if (model_map_put(&ix->grants, key, i, &first) == -1) {
			model_where(errors, g->source, g->line);
			sbuf_appendf(errors, "a second grant of bucket %s to %s; "
			    "keep one grant per bucket and grantee\n", g->bucket, g->grantee);
			bad = 1;
		}
	}
	for (i = 0; i < m->nrequests; i++) {
		struct model_request *r = &m->requests[i];

		snprintf(key, sizeof(key), "%s/%s", r->bucket, r->requester);
		if (model_map_put(&ix->requests, key, i, &first) == -1) {
			model_where(errors, r->source, r->line);
			sbuf_appendf(errors, "%s requests bucket %s twice; keep one request\n",
			    r->requester, r->bucket);
			bad = 1;
		}
	}
	for (i = 0; i < m->ncredentials; i++) {
		if (model_map_put(&ix->credentials, m->credentials[i].access_key_id, i,
		    &first) == -1) {
			sbuf_appendf(errors, "credentials: access key id %s is used twice; "
			    "delete one\n", m->credentials[i].access_key_id);
			bad = 1;
		}
	}
	for (i = 0; i < m->nretired; i++) {
		if (model_map_put(&ix->retired, m->retired[i].bucket, i, &first) == -1) {
			sbuf_appendf(errors, "bucket %s is retired twice; keep one record\n",
			    m->retired[i].bucket);
			bad = 1;
		}
	}
	m->index = ix;
	/* needs the bucket index */
	for (i = 0; i < m->ngrants; i++) {
		if (model_bucket_find(m, m->grants[i].bucket) == NULL) {
			model_where(errors, m->grants[i].source, m->grants[i].line);
			sbuf_appendf(errors, "grant on bucket %s, which no workspace owns; "
			    "grant only buckets listed in spec.buckets\n", m->grants[i].bucket);
			bad = 1;
		}
	}
	for (i = 0; i < m->nbuckets; i++) {
		if (model_workspace_find(m, m->buckets[i].workspace) == NULL) {
			model_where(errors, m->buckets[i].source, m->buckets[i].line);
			sbuf_appendf(errors, "bucket %s belongs to unknown workspace %s\n",
			    m->buckets[i].name, m->buckets[i].workspace);
			bad = 1;
		}
	}
	return bad ? -1 : 0;
}

struct model_workspace *
model_workspace_find(const struct model *m, const char *name)
{
	size_t i;

	if (m->index != NULL)
		return model_map_get(&m->index->workspaces, name, &i) == 0 ?
		    &m->workspaces[i] : NULL;
	for (i = 0; i < m->nworkspaces; i++)
		if (strcmp(m->workspaces[i].name, name) == 0)
			return &m->workspaces[i];
	return NULL;
}

struct model_workspace *
model_workspace_of(const struct model *m, const char *principal)
{
	size_t i;

	for (i = 0; i < m->nworkspaces; i++)
		if (strcmp(m->workspaces[i].principal, principal) == 0)
			return &m->workspaces[i];
	return NULL;
}

struct model_bucket *
model_bucket_find(const struct model *m, const char *name)
{
	size_t i;

	if (m->index != NULL)
		return model_map_get(&m->index->buckets, name, &i) == 0 ? &m->buckets[i] : NULL;
	for (i = 0; i < m->nbuckets; i++)
		if (strcmp(m->buckets[i].name, name) == 0)
			return &m->buckets[i];
	return NULL;
}

struct model_grant *
model_grant_find(const struct model *m, const char *bucket, const char *grantee)
{
	char key[512];
	size_t i;

	if (m->index != NULL) {
		if ((size_t)snprintf(key, sizeof(key), "%s/%s", bucket, grantee) >= sizeof(key))
			return NULL;
		return model_map_get(&m->index->grants, key, &i) == 0 ? &m->grants[i] : NULL;
	}
	for (i = 0; i < m->ngrants; i++)
		if (strcmp(m->grants[i].bucket, bucket) == 0 &&
		    strcmp(m->grants[i].grantee, grantee) == 0)
			return &m->grants[i];
	return NULL;
}

struct model_request *
model_request_find(const struct model *m, const char *bucket, const char *requester)
{
	char key[512];
	size_t i;

	if (m->index != NULL) {
		if ((size_t)snprintf(key, sizeof(key), "%s/%s", bucket, requester) >= sizeof(key))
			return NULL;
		return model_map_get(&m->index->requests, key, &i) == 0 ? &m->requests[i] : NULL;
	}
	for (i = 0; i < m->nrequests; i++)
		if (strcmp(m->requests[i].bucket, bucket) == 0 &&
		    strcmp(m->requests[i].requester, requester) == 0)
			return &m->requests[i];
	return NULL;
}

const struct policy_credential *
model_credential(const struct model *m, const char *akid)
{
	size_t i;

	if (m->index != NULL)
		return model_map_get(&m->index->credentials, akid, &i) == 0 ?
		    &m->credentials[i] : NULL;
	for (i = 0; i < m->ncredentials; i++)
		if (strcmp(m->credentials[i].access_key_id, akid) == 0)
			return &m->credentials[i];
	return NULL;
}

struct model_retired *
model_retired_find(const struct model *m, const char *bucket)
{
	size_t i;

	if (m->index != NULL)
		return model_map_get(&m->index->retired, bucket, &i) == 0 ? &m->retired[i] : NULL;
	for (i = 0; i < m->nretired; i++)
		if (strcmp(m->retired[i].bucket, bucket) == 0)
			return &m->retired[i];
	return NULL;
}

struct model_workspace *
model_quota_workspace(const struct model *m, const char *principal)
{
	size_t i;

	if (m->index != NULL)
		return model_map_get(&m->index->quotas, principal, &i) == 0 ?
		    &m->workspaces[i] : NULL;
	for (i = 0; i < m->nworkspaces; i++)
		if (m->workspaces[i].quota.set != 0 &&
		    strcmp(m->workspaces[i].principal, principal) == 0)
			return &m->workspaces[i];
	return NULL;
}

const struct policy_quota *
model_quota(const struct model *m, const char *principal)
{
	const struct model_workspace *w = model_quota_workspace(m, principal);

	return w != NULL ? &w->quota : NULL;
}

int
model_access(const struct model *m, const char *principal, const char *bucket, time_t now,
    struct policy_access *out)
{
	const struct model_bucket *b;
	const struct model_workspace *w;
	const struct model_grant *g;
	size_t i;

	memset(out, 0, sizeof(*out));
	if ((b = model_bucket_find(m, bucket)) == NULL)
		return 0;
	out->bucket_exists = 1;
	out->discoverable = b->discoverable;
	if ((w = model_workspace_find(m, b->workspace)) != NULL) {
		if (strcmp(w->principal, principal) == 0) {
			out->via = VIA_OWNER;
			out->perm = PERM_FULL;
			return 0;
		}
		for (i = 0; i < w->nmembers; i++)
			if (strcmp(w->members[i], principal) == 0) {
				out->via = VIA_MEMBER;
				out->perm = PERM_FULL;
				return 0;
			}
	}
	/* a prefix OUT cannot hold whole would be cut, and so widened: no access (fail closed) */
	if ((g = model_grant_find(m, bucket, principal)) != NULL &&
	    strlen(g->prefix) < sizeof(out->prefix)) {
		out->via = VIA_GRANT;
		out->perm = g->perm;
		memcpy(out->prefix, g->prefix, strlen(g->prefix) + 1);
		out->expires_at = g->expires_at;
	}
	return 0;
}

static int
model_bucket_access_cmp(const void *a, const void *b)
{
	return strcmp(((const struct model_bucket_access *)a)->bucket,
	    ((const struct model_bucket_access *)b)->bucket);
}

size_t
model_list_buckets(const struct model *m, const char *principal, time_t now,
    struct model_bucket_access **out)
{
	struct model_bucket_access *list = NULL, *e;
	struct policy_access a;
	const struct model_workspace *w;
	const struct model_grant *g;
	size_t i, n = 0;

	for (i = 0; i < m->nbuckets; i++) {
		model_access(m, principal, m->buckets[i].name, now, &a);
		if (a.via == VIA_NONE || (a.via == VIA_GRANT && a.expires_at != 0 &&
		    a.expires_at <= now))
			continue;
		list = model_grow(list, &n, sizeof(*list));
		e = &list[n - 1];
		e->bucket = sbuf_strdup(m->buckets[i].name);
		e->workspace = sbuf_strdup(m->buckets[i].workspace);
		e->via = a.via;
		e->perm = a.perm;
		e->prefix = sbuf_strdup(a.prefix);
		e->expires_at = a.expires_at;
		if (a.via == VIA_GRANT && (g = model_grant_find(m, m->buckets[i].name,
		    principal)) != NULL)
			e->created_at = g->granted_at;
		else if ((w = model_workspace_find(m, m->buckets[i].workspace)) != NULL)
			e->created_at = w->created_at;
	}
	if (n > 1)
		qsort(list, n, sizeof(*list), model_bucket_access_cmp);
	*out = list;
	return n;
}

void
model_bucket_list_free(struct model_bucket_access *list, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		free(list[i].bucket);
		free(list[i].workspace);
		free(list[i].prefix);
	}
	free(list);
}
