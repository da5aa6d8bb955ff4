/*
 * storage: Storage resources in and out.  Both JSON (jansson) and YAML
 * (libyaml's document loader) are first turned into one small tree of
 * nodes, so the checks are written once; YAML nodes keep their line.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>
#include <yaml.h>

#include "policy/storage.h"
#include "proxy/conf.h"
#include "proxy/s3addr.h"

#define STORAGE_MAX_FILE	(64 * 1024 * 1024)
/* bytes of keys and values in one input once YAML aliases are expanded */
#define STORAGE_MAX_TEXT	STORAGE_MAX_FILE
#define STORAGE_MAX_ERRORS	50

enum snode_type { SN_NULL, SN_SCALAR, SN_SEQ, SN_MAP };

struct snode {
	enum snode_type	 type;
	char		*text;		/* SN_SCALAR */
	char		**keys;		/* SN_MAP: n keys */
	struct snode	**items;	/* SN_SEQ, SN_MAP: n values */
	size_t		 n;
	int		 line;		/* 1-based; 0 = unknown (JSON) */
	int		 nul;		/* its text, or its key, held a NUL byte: cut short there */
};

struct storage_ctx {
	struct model	*m;
	const char	*source;
	struct sbuf	*errors;
	int		 nerrors;
	size_t		 nodes;
	size_t		 text;		/* bytes of keys and values copied */
	int		 item;		/* resources seen in this file */
	const char	*name;		/* metadata.name of the current one */
	int		 lenient;	/* storage_parse_each(): a bad resource is dropped */
	int		 forgiven;	/* errors of the resources dropped */
	char		***refused;	/* their names */
	size_t		*nrefused;
	char *const	*skip;		/* sorted: resources to drop without a word */
	size_t		 nskip;
	int		 state;		/* the CLI's state file: its List may hold retiredBuckets */
};

static void
snode_free(struct snode *n)
{
	size_t i;

	if (n == NULL)
		return;
	for (i = 0; i < n->n; i++) {
		snode_free(n->items[i]);
		if (n->keys != NULL)
			free(n->keys[i]);
	}
	free(n->items);
	free(n->keys);
	free(n->text);
	free(n);
}

static struct snode *
snode_new(struct storage_ctx *c, enum snode_type type, int line)
{
	struct snode *n;

	if (++c->nodes > STORAGE_MAX_NODES)
		return NULL;
	if ((n = calloc(1, sizeof(*n))) == NULL)
		abort();
	n->type = type;
	n->line = line;
	return n;
}

static void
snode_push(struct snode *parent, const char *key, struct snode *child)
{
	if ((parent->items = reallocarray(parent->items, parent->n + 1,
	    sizeof(*parent->items))) == NULL)
		abort();
	if (parent->type == SN_MAP) {
		if ((parent->keys = reallocarray(parent->keys, parent->n + 1,
		    sizeof(*parent->keys))) == NULL || (parent->keys[parent->n] =
		    strdup(key)) == NULL)
			abort();
	}
	parent->items[parent->n++] = child;
}

static const struct snode *
snode_get(const struct snode *map, const char *key)
{
	size_t i;

	if (map == NULL || map->type != SN_MAP)
		return NULL;
	for (i = 0; i < map->n; i++)
		if (strcmp(map->keys[i], key) == 0)
			return map->items[i];
	return NULL;
}

/* ---- errors -------------------------------------------------------------- */

static void storage_err(struct storage_ctx *, const struct snode *, const char *, ...)
    __attribute__((format(printf, 3, 4)));

/* One line: "SOURCE:LINE: msg" (YAML) or "SOURCE: item N (NAME): msg" (JSON). */
static void
storage_err(struct storage_ctx *c, const struct snode *at, const char *fmt, ...)
{
	va_list ap;

	if (++c->nerrors > STORAGE_MAX_ERRORS)
		return;
	if (at != NULL && at->line > 0)
		sbuf_appendf(c->errors, "%s:%d: ", c->source, at->line);
	else if (c->item > 0)
		sbuf_appendf(c->errors, "%s: item %d%s%s%s: ", c->source, c->item,
		    c->name ? " (" : "", c->name ? c->name : "", c->name ? ")" : "");
	else
		sbuf_appendf(c->errors, "%s: ", c->source);
	va_start(ap, fmt);
	sbuf_vappendf(c->errors, fmt, ap);
	va_end(ap);
	sbuf_appendc(c->errors, '\n');
}

/* ---- JSON and YAML into nodes ------------------------------------------- */

static struct snode *
storage_from_json(struct storage_ctx *c, json_t *j, int depth)
{
	struct snode *n, *kid;
	const char *key;
	json_t *v;
	size_t i;
	char num[64];

	if (depth > STORAGE_MAX_DEPTH)
		return NULL;
	switch (json_typeof(j)) {
	case JSON_OBJECT:
		if ((n = snode_new(c, SN_MAP, 0)) == NULL)
			return NULL;
		json_object_foreach(j, key, v) {
			if ((kid = storage_from_json(c, v, depth + 1)) == NULL) {
				snode_free(n);
				return NULL;
			}
			snode_push(n, key, kid);
		}
		return n;
	case JSON_ARRAY:
		if ((n = snode_new(c, SN_SEQ, 0)) == NULL)
			return NULL;
		json_array_foreach(j, i, v) {
			if ((kid = storage_from_json(c, v, depth + 1)) == NULL) {
				snode_free(n);
				return NULL;
			}
			snode_push(n, NULL, kid);
		}
		return n;
	case JSON_NULL:
		return snode_new(c, SN_NULL, 0);
	default:
		if ((n = snode_new(c, SN_SCALAR, 0)) == NULL)
			return NULL;
		if (json_is_string(j)) {
			n->text = strndup(json_string_value(j), json_string_length(j));
			n->nul = memchr(json_string_value(j), '\0', json_string_length(j)) != NULL;
		}
		else if (json_is_true(j))
			n->text = strdup("true");
		else if (json_is_false(j))
			n->text = strdup("false");
		else if (json_is_integer(j)) {
			snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT, json_integer_value(j));
			n->text = strdup(num);
		} else {
			snprintf(num, sizeof(num), "%g", json_real_value(j));
			n->text = strdup(num);
		}
		if (n->text == NULL)
			abort();
		return n;
	}
}

static struct snode *
storage_from_yaml(struct storage_ctx *c, yaml_document_t *doc, yaml_node_t *y, int depth)
{
	struct snode *n, *kid;
	yaml_node_item_t *it;
	yaml_node_pair_t *pair;
	yaml_node_t *k, *v;
	int line = (int)y->start_mark.line + 1;

	if (depth > STORAGE_MAX_DEPTH)
		return NULL;
	switch (y->type) {
	case YAML_SCALAR_NODE:
		/* a plain "~", "null" or nothing is YAML's null */
		if (y->data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
		    (y->data.scalar.length == 0 || strcmp((char *)y->data.scalar.value, "~") == 0 ||
		    strcmp((char *)y->data.scalar.value, "null") == 0))
			return snode_new(c, SN_NULL, line);
		/* an alias is its node again: a big value named a thousand times is a thousand copies */
		if ((c->text += y->data.scalar.length) > STORAGE_MAX_TEXT ||
		    (n = snode_new(c, SN_SCALAR, line)) == NULL)
			return NULL;
		if ((n->text = strndup((char *)y->data.scalar.value, y->data.scalar.length)) == NULL)
			abort();
		n->nul = memchr(y->data.scalar.value, '\0', y->data.scalar.length) != NULL;
		return n;
	case YAML_SEQUENCE_NODE:
		if ((n = snode_new(c, SN_SEQ, line)) == NULL)
			return NULL;
		for (it = y->data.sequence.items.start; it < y->data.sequence.items.top; it++) {
			if ((v = yaml_document_get_node(doc, *it)) == NULL ||
			    (kid = storage_from_yaml(c, doc, v, depth + 1)) == NULL) {
				snode_free(n);
				return NULL;
			}
			snode_push(n, NULL, kid);
		}
		return n;
	case YAML_MAPPING_NODE:
		if ((n = snode_new(c, SN_MAP, line)) == NULL)
			return NULL;
		for (pair = y->data.mapping.pairs.start; pair < y->data.mapping.pairs.top; pair++) {
			k = yaml_document_get_node(doc, pair->key);
			v = yaml_document_get_node(doc, pair->value);
			if (k == NULL || v == NULL || k->type != YAML_SCALAR_NODE) {
				storage_err(c, n, "mapping keys must be plain strings");
				snode_free(n);
				return NULL;
			}
			if ((c->text += k->data.scalar.length) > STORAGE_MAX_TEXT) {
				snode_free(n);
				return NULL;
			}
			if ((kid = storage_from_yaml(c, doc, v, depth + 1)) == NULL) {
				snode_free(n);
				return NULL;
			}
			if (memchr(k->data.scalar.value, '\0', k->data.scalar.length) != NULL)
				kid->nul = 1;	/* read under a name cut short */
			snode_push(n, (char *)k->data.scalar.value, kid);
		}
		return n;
	default:
		return NULL;
	}
}

/* ---- field access ------------------------------------------------------- */

/*
 * Whether V held a NUL byte (YAML's "\0", JSON's "\u0000"), said as an
 * error of its resource: its text ends there, another name than was
 * written ("ws-a-1\0-mine" would be the bucket ws-a-1).
 */
static int
storage_nul(struct storage_ctx *c, const struct snode *v, const char *path, const char *key)
{
	if (v == NULL || !v->nul)
		return 0;
	storage_err(c, v, "%s%s holds a NUL byte (\"%s\\0...\"); remove it", path, key,
	    v->text != NULL ? v->text : "");
	return 1;
}

/* A scalar field: its text, or NULL (with an error if REQUIRED or not a scalar). */
static const char *
storage_str(struct storage_ctx *c, const struct snode *map, const char *key,
    const char *path, int required)
{
	const struct snode *v = snode_get(map, key);

	if (v == NULL || v->type == SN_NULL) {
		if (required)
			storage_err(c, map, "%s%s is missing; it is required", path, key);
		return NULL;
	}
	if (storage_nul(c, v, path, key))
		return NULL;
	if (v->type != SN_SCALAR) {
		storage_err(c, v, "%s%s must be a string", path, key);
		return NULL;
	}
	if (required && v->text[0] == '\0') {
		storage_err(c, v, "%s%s is empty; it is required", path, key);
		return NULL;
	}
	return v->text;
}

/* A list field: the node, NULL when absent or null; sets *BAD if not a list. */
static const struct snode *
storage_seq(struct storage_ctx *c, const struct snode *map, const char *key,
    const char *path, int *bad)
{
	const struct snode *v = snode_get(map, key);

	if (v == NULL || v->type == SN_NULL)
		return NULL;
	if (storage_nul(c, v, path, key)) {
		*bad = 1;
		return NULL;
	}
	if (v->type != SN_SEQ) {
		storage_err(c, v, "%s%s must be a list", path, key);
		*bad = 1;
		return NULL;
	}
	return v;
}

static int
storage_bool(struct storage_ctx *c, const struct snode *map, const char *key,
    const char *path, int dflt)
{
	const struct snode *v = snode_get(map, key);

	if (v == NULL || v->type == SN_NULL || storage_nul(c, v, path, key))
		return dflt;
	if (v->type == SN_SCALAR) {
		if (strcasecmp(v->text, "true") == 0 || strcasecmp(v->text, "yes") == 0)
			return 1;
		if (strcasecmp(v->text, "false") == 0 || strcasecmp(v->text, "no") == 0)
			return 0;
	}
	storage_err(c, v, "%s%s must be true or false", path, key);
	return dflt;
}

static time_t
storage_time(struct storage_ctx *c, const struct snode *map, const char *key, const char *path)
{
	const char *s = storage_str(c, map, key, path, 0);
	time_t t;

	if (s == NULL || *s == '\0')
		return 0;
	if (storage_parse_time(s, &t) == -1) {
		storage_err(c, snode_get(map, key), "%s%s \"%s\" is not an RFC 3339 time "
		    "from 1970 to 9999; write e.g. 2025-10-14T08:09:10Z", path, key, s);
		return 0;
	}
	return t;
}

/* ---- validation --------------------------------------------------------- */

int
storage_parse_size(const char *s, uint64_t *out)
{
	char buf[32];
	size_t n = strlen(s);
	int64_t v;

	if (n >= sizeof(buf))
		return -1;
	memcpy(buf, s, n + 1);
	/* Kubernetes' binary suffixes ("20Mi", "20MiB") are the config's "20M" */
	if (n >= 3 && buf[n - 1] == 'i' && isalpha((unsigned char)buf[n - 2]))
		buf[n - 1] = '\0';
	else if (n >= 4 && buf[n - 2] == 'i' && buf[n - 1] == 'B' &&
	    isalpha((unsigned char)buf[n - 3])) {
		buf[n - 2] = 'B';
		buf[n - 1] = '\0';
	}
	if ((v = conf_parse_size(buf)) < 0)
		return -1;
	*out = (uint64_t)v;
	return 0;
}

int
storage_parse_count(const char *s, uint32_t max, uint32_t *out)
{
	unsigned long long v = 0;

	if (*s == '\0')
		return -1;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		v = v * 10 + (unsigned long long)(*s - '0');
		if (v > max)
			return -1;
	}
	*out = (uint32_t)v;
	return 0;
}

int
storage_bucket_name_valid(const char *s)
{
	size_t i, len = strlen(s);
	int dots = 0, digits_only = 1;

	if (len < 3 || len > 63)
		return 0;
	for (i = 0; i < len; i++) {
		char ch = s[i];

		if (ch == '.') {
			dots++;
			if (i > 0 && s[i - 1] == '.')
				return 0;
		} else if (ch >= '0' && ch <= '9') {
			;
		} else if ((ch >= 'a' && ch <= 'z') || ch == '-') {
			digits_only = 0;
		} else
			return 0;
	}
	if (!((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= '0' && s[0] <= '9')) ||
	    !((s[len - 1] >= 'a' && s[len - 1] <= 'z') || (s[len - 1] >= '0' && s[len - 1] <= '9')))
		return 0;
	if (dots == 3 && digits_only)	/* 192.168.5.4 */
		return 0;
	return !s3addr_bucket_reserved(s);
}

int
storage_principal_valid(const char *s)
{
	size_t len = strlen(s);

	if (len == 0 || len > 128)
		return 0;
	for (; *s; s++)
		if ((unsigned char)*s <= ' ' || *s == '/' || *s == 0x7f || *s == '"' || *s == '\\')
			return 0;
	return 1;
}

/* N decimal digits at S (no sign, no space, as storage_format_time() writes them). */
static int
storage_digits(const char *s, int n)
{
	int v = 0;

	for (; n > 0; n--, s++) {
		if (*s < '0' || *s > '9')
			return -1;
		v = v * 10 + (*s - '0');
	}
	return v;
}

int
storage_parse_time(const char *s, time_t *out)
{
	struct tm tm;
	int y, mo, d, h, mi, sec, oh, om;
	time_t t;

	/* "YYYY-MM-DDTHH:MM:SS": exactly what storage_format_time() writes, then more */
	if (strlen(s) < 20 || s[4] != '-' || s[7] != '-' || strchr("Tt ", s[10]) == NULL ||
	    s[13] != ':' || s[16] != ':')
		return -1;
	y = storage_digits(s, 4);
	mo = storage_digits(s + 5, 2);
	d = storage_digits(s + 8, 2);
	h = storage_digits(s + 11, 2);
	mi = storage_digits(s + 14, 2);
	sec = storage_digits(s + 17, 2);
	if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > 31 || h < 0 || h > 23 || mi < 0 ||
	    mi > 59 || sec < 0 || sec > 60)
		return -1;
	s += 19;
	if (*s == '.') {
		s++;
		if (*s < '0' || *s > '9')
			return -1;
		while (*s >= '0' && *s <= '9')
			s++;
	}
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec;
	if ((t = timegm(&tm)) == -1)
		return -1;
	if (*s == 'Z' || *s == 'z') {
		s++;
	} else if ((*s == '+' || *s == '-') && (oh = storage_digits(s + 1, 2)) >= 0 && s[3] == ':' &&
	    (om = storage_digits(s + 4, 2)) >= 0 && oh <= 23 && om <= 59) {
		t -= (*s == '+' ? 1 : -1) * (oh * 3600 + om * 60);
		s += 6;
	} else
		return -1;
	/* only times storage_format_time() writes back (an offset may cross a bound) */
	if (*s != '\0' || t < 0 || t > STORAGE_MAX_TIME)
		return -1;
	*out = t;
	return 0;
}

int
storage_format_time(time_t t, char *buf, size_t len)
{
	struct tm tm;

	/* four digits of year, as storage_parse_time() reads them: nothing else is written */
	if (t < 0 || t > STORAGE_MAX_TIME || gmtime_r(&t, &tm) == NULL ||
	    strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm) != 20) {
		snprintf(buf, len, "-");
		return -1;
	}
	return 0;
}

/* ---- resources -------------------------------------------------------------- */

static int
storage_strp_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int
storage_grant_cmp(const void *a, const void *b, void *grants)
{
	const struct model_grant *x = &((const struct model_grant *)grants)[*(const size_t *)a];
	const struct model_grant *y = &((const struct model_grant *)grants)[*(const size_t *)b];
	int r = strcmp(x->bucket, y->bucket);

	return r != 0 ? r : strcmp(x->grantee, y->grantee);
}

/*
 * Two grants of one bucket to one grantee in the resource (from FIRST on):
 * an error of this resource (sync refuses it alone), not only of the
 * whole input (model_index()).
 */
static void
storage_grants_twice(struct storage_ctx *c, size_t first)
{
	size_t i, n = c->m->ngrants - first, *ix;

	if (n < 2)
		return;
	if ((ix = calloc(n, sizeof(*ix))) == NULL)
		abort();
	for (i = 0; i < n; i++)
		ix[i] = first + i;
	qsort_r(ix, n, sizeof(*ix), storage_grant_cmp, c->m->grants);
	for (i = 1; i < n; i++)
		if (storage_grant_cmp(&ix[i - 1], &ix[i], c->m->grants) == 0)
			storage_err(c, NULL, "a second grant of bucket %s to %s; keep one grant "
			    "per bucket and grantee", c->m->grants[ix[i]].bucket,
			    c->m->grants[ix[i]].grantee);
	free(ix);
}

static void
storage_grants(struct storage_ctx *c, const struct snode *seq, const char *ws, size_t first_bucket)
{
	const struct snode *g;
	const char *bucket, *grantee, *perm, *prefix, **own;
	enum policy_perm p;
	time_t granted, expires;
	size_t i, nown = c->m->nbuckets - first_bucket, first = c->m->ngrants;

	/* the workspace's bucket names, sorted: a grant is looked up, not compared with each */
	if ((own = calloc(nown > 0 ? nown : 1, sizeof(*own))) == NULL)
		abort();
	for (i = 0; i < nown; i++)
		own[i] = c->m->buckets[first_bucket + i].name;
	qsort(own, nown, sizeof(*own), storage_strp_cmp);
	for (i = 0; seq != NULL && i < seq->n; i++) {
		g = seq->items[i];
		if (g->type != SN_MAP) {
			storage_err(c, g, "spec.bucketAccessGrants[%zu] must be a mapping", i);
			continue;
		}
		bucket = storage_str(c, g, "bucketName", "spec.bucketAccessGrants[].", 1);
		grantee = storage_str(c, g, "grantee", "spec.bucketAccessGrants[].", 1);
		perm = storage_str(c, g, "permission", "spec.bucketAccessGrants[].", 1);
		prefix = storage_str(c, g, "prefix", "spec.bucketAccessGrants[].", 0);
		granted = storage_time(c, g, "grantedAt", "spec.bucketAccessGrants[].");
		expires = storage_time(c, g, "expiresAt", "spec.bucketAccessGrants[].");
		if (bucket == NULL || grantee == NULL || perm == NULL)
			continue;
		if (!storage_principal_valid(grantee)) {
			storage_err(c, snode_get(g, "grantee"), "grantee \"%s\" is not a valid "
			    "principal name", grantee);
			continue;
		}
		if (policy_perm_parse(perm, &p) == -1) {
			storage_err(c, snode_get(g, "permission"), "unknown permission \"%s\"; "
			    "use ReadOnly, ReadWrite or WriteOnly", perm);
			continue;
		}
		/* cut to what the proxy holds, a prefix would be a wider grant */
		if (prefix != NULL && strlen(prefix) > MODEL_MAX_PREFIX) {
			storage_err(c, snode_get(g, "prefix"), "the grant's prefix is %zu bytes; the "
			    "longest is %d", strlen(prefix), MODEL_MAX_PREFIX);
			continue;
		}
		if (bsearch(&bucket, own, nown, sizeof(*own), storage_strp_cmp) == NULL) {
			storage_err(c, snode_get(g, "bucketName"), "grant on bucket %s, which "
			    "workspace %s does not own; a grant stands on the owner's resource",
			    bucket, ws);
			continue;
		}
		model_add_grant(c->m, bucket, grantee, p, prefix, granted, expires, c->source,
		    g->line);
	}
	free(own);
	storage_grants_twice(c, first);
}

static void
storage_requests(struct storage_ctx *c, const struct snode *seq, const char *ws,
    const char *principal)
{
	const struct snode *r;
	const char *bucket, *reason;
	time_t at;
	size_t i;

	for (i = 0; seq != NULL && i < seq->n; i++) {
		r = seq->items[i];
		if (r->type != SN_MAP) {
			storage_err(c, r, "spec.bucketAccessRequests[%zu] must be a mapping", i);
			continue;
		}
		bucket = storage_str(c, r, "bucketName", "spec.bucketAccessRequests[].", 1);
		reason = storage_str(c, r, "reason", "spec.bucketAccessRequests[].", 0);
		at = storage_time(c, r, "requestedAt", "spec.bucketAccessRequests[].");
		if (bucket == NULL)
			continue;
		if (!storage_bucket_name_valid(bucket)) {
			storage_err(c, snode_get(r, "bucketName"), "\"%s\" is not a valid S3 "
			    "bucket name", bucket);
			continue;
		}
		model_add_request(c->m, bucket, principal, ws, reason, at, c->source, r->line);
	}
}

/*
 * spec.quotas: {requestRate: N, bandwidth: SIZE, connections: N}, each
 * optional (absent or null: the config's default; 0: no limit), into OUT.
 * Anything else is an error: a misspelt key must not pass for a default.
 */
static void
storage_quotas(struct storage_ctx *c, const struct snode *q, struct policy_quota *out)
{
	const struct snode *v;
	const char *k;
	unsigned bit;
	size_t i;
	int bad;

	memset(out, 0, sizeof(*out));
	if (q == NULL || q->type == SN_NULL)
		return;
	if (q->type != SN_MAP) {
		storage_err(c, q, "spec.quotas must be a mapping of requestRate, bandwidth and "
		    "connections");
		return;
	}
	for (i = 0; i < q->n; i++) {
		k = q->keys[i];
		v = q->items[i];
		if (strcmp(k, "requestRate") == 0)
			bit = POLICY_QUOTA_RATE;
		else if (strcmp(k, "bandwidth") == 0)
			bit = POLICY_QUOTA_BANDWIDTH;
		else if (strcmp(k, "connections") == 0)
			bit = POLICY_QUOTA_CONNECTIONS;
		else {
			storage_err(c, v, "spec.quotas.%s is not a quota; use requestRate, "
			    "bandwidth or connections", k);
			continue;
		}
		if (v->type == SN_NULL)
			continue;
		if (out->set & bit) {
			storage_err(c, v, "spec.quotas.%s is given twice; keep one", k);
			continue;
		}
		if (storage_nul(c, v, "spec.quotas.", k))
			continue;
		if (v->type != SN_SCALAR) {
			storage_err(c, v, "spec.quotas.%s must be a number", k);
			continue;
		}
		if (bit == POLICY_QUOTA_RATE)
			bad = storage_parse_count(v->text, POLICY_QUOTA_MAX_RATE,
			    &out->request_rate) == -1;
		else if (bit == POLICY_QUOTA_CONNECTIONS)
			bad = storage_parse_count(v->text, POLICY_QUOTA_MAX_CONNECTIONS,
			    &out->connections) == -1;
		else
			bad = storage_parse_size(v->text, &out->bandwidth) == -1;
		if (bad && bit == POLICY_QUOTA_BANDWIDTH)
			storage_err(c, v, "spec.quotas.bandwidth \"%s\" is not a size; write bytes "
			    "per second like 20971520, 20Mi or 20M (binary units), 0 for no limit",
			    v->text);
		else if (bad)
			storage_err(c, v, "spec.quotas.%s \"%s\" is not a whole number from 0 (no "
			    "limit) to %u", k, v->text,
			    bit == POLICY_QUOTA_RATE ? POLICY_QUOTA_MAX_RATE :
			    POLICY_QUOTA_MAX_CONNECTIONS);
		else
			out->set |= bit;
	}
}

/* One resource into C->m; *OKNAME = its metadata.name once that is valid. */
static void
storage_resource_one(struct storage_ctx *c, const struct snode *r, const char **okname)
{
	const struct snode *meta, *spec, *seq, *b;
	const char *api, *kind, *name, *principal, *bname, *member;
	struct model_workspace *w;
	size_t i, first_bucket;
	int bad = 0, before = c->nerrors;

	c->item++;
	c->name = NULL;
	if (r->type != SN_MAP) {
		storage_err(c, r, "a Storage resource must be a mapping");
		return;
	}
	if ((meta = snode_get(r, "metadata")) != NULL && meta->type == SN_MAP &&
	    (name = storage_str(c, meta, "name", "metadata.", 0)) != NULL)
		c->name = name;
	api = storage_str(c, r, "apiVersion", "", 1);
	kind = storage_str(c, r, "kind", "", 1);
	if (api != NULL && strcmp(api, STORAGE_API_VERSION) != 0)
		storage_err(c, snode_get(r, "apiVersion"), "apiVersion is \"%s\"; "
		    "s3gate reads %s", api, STORAGE_API_VERSION);
	if (kind != NULL && strcmp(kind, STORAGE_KIND) != 0)
		storage_err(c, snode_get(r, "kind"), "kind is \"%s\"; s3gate reads %s (or a List "
		    "of them)", kind, STORAGE_KIND);
	if (meta == NULL || meta->type != SN_MAP) {
		storage_err(c, r, "metadata is missing; it names the workspace");
		return;
	}
	if ((name = storage_str(c, meta, "name", "metadata.", 1)) == NULL)
		return;
	if (!storage_principal_valid(name)) {
		storage_err(c, snode_get(meta, "name"), "metadata.name \"%s\" is not a valid "
		    "workspace name", name);
		return;
	}
	*okname = name;
	if ((spec = snode_get(r, "spec")) == NULL || spec->type != SN_MAP) {
		storage_err(c, spec ? spec : r, "spec is missing or not a mapping");
		return;
	}
	if ((principal = storage_str(c, spec, "principal", "spec.", 1)) == NULL)
		return;
	if (!storage_principal_valid(principal)) {
		storage_err(c, snode_get(spec, "principal"), "spec.principal \"%s\" is not a valid "
		    "principal name", principal);
		return;
	}
	if (c->nerrors != before)
		return;

	w = model_add_workspace(c->m, name, principal, c->source, r->line);
	w->created_at = storage_time(c, meta, "creationTimestamp", "metadata.");
	storage_quotas(c, snode_get(spec, "quotas"), &w->quota);
	if ((seq = storage_seq(c, spec, "members", "spec.", &bad)) != NULL &&
	    seq->n > STORAGE_MAX_MEMBERS)
		storage_err(c, seq, "spec.members has %zu entries; a workspace has at most %d "
		    "members", seq->n, STORAGE_MAX_MEMBERS);
	else if (seq != NULL) {
		for (i = 0; i < seq->n; i++) {
			member = seq->items[i]->type == SN_SCALAR ? seq->items[i]->text : NULL;
			if (storage_nul(c, seq->items[i], "spec.members[]", ""))
				continue;
			if (member == NULL || !storage_principal_valid(member))
				storage_err(c, seq->items[i], "spec.members[%zu] must be a "
				    "principal name", i);
			else
				model_workspace_add_member(c->m, w, member);
		}
	}

	first_bucket = c->m->nbuckets;
	if ((seq = storage_seq(c, spec, "buckets", "spec.", &bad)) != NULL &&
	    seq->n > STORAGE_MAX_BUCKETS) {
		storage_err(c, seq, "spec.buckets has %zu entries; a workspace has at most %d "
		    "buckets", seq->n, STORAGE_MAX_BUCKETS);
		seq = NULL;
	}
	for (i = 0; seq != NULL && i < seq->n; i++) {
		b = seq->items[i];
		if (b->type != SN_MAP) {
			storage_err(c, b, "spec.buckets[%zu] must be a mapping", i);
			continue;
		}
		if ((bname = storage_str(c, b, "bucketName", "spec.buckets[].", 1)) == NULL)
			continue;
		if (!storage_bucket_name_valid(bname)) {
			storage_err(c, snode_get(b, "bucketName"), "\"%s\" is not a valid S3 bucket "
			    "name; use 3-63 lower-case letters, digits, '-' and '.'%s", bname,
			    s3addr_bucket_reserved(bname) ? " (the backend routes that name to another "
			    "of its APIs: backend_reserved_names)" : "");
			continue;
		}
		model_add_bucket(c->m, bname, name,
		    storage_bool(c, b, "discoverable", "spec.buckets[].", 0), c->source, b->line);
	}
	storage_grants(c, storage_seq(c, spec, "bucketAccessGrants", "spec.", &bad), name,
	    first_bucket);
	storage_requests(c, storage_seq(c, spec, "bucketAccessRequests", "spec.", &bad), name,
	    principal);
}

/*
 * One resource.  Lenient (storage_parse_each()), a resource with errors
 * that has a valid name adds nothing, and its name is kept in C->refused.
 */
static void
storage_resource(struct storage_ctx *c, const struct snode *r)
{
	size_t nw = c->m->nworkspaces, nb = c->m->nbuckets, ng = c->m->ngrants;
	size_t nr = c->m->nrequests;
	const char *name = NULL;
	int before = c->nerrors;

	storage_resource_one(c, r, &name);
	if (name != NULL && c->nskip > 0 &&
	    bsearch(&name, c->skip, c->nskip, sizeof(*c->skip), storage_strp_cmp) != NULL) {
		model_truncate(c->m, nw, nb, ng, nr);
		c->forgiven += c->nerrors - before;
		return;
	}
	if (!c->lenient || c->nerrors == before || name == NULL)
		return;
	model_truncate(c->m, nw, nb, ng, nr);
	c->forgiven += c->nerrors - before;
	if ((*c->refused = reallocarray(*c->refused, *c->nrefused + 1, sizeof(char *))) == NULL ||
	    ((*c->refused)[*c->nrefused] = strdup(name)) == NULL)
		abort();
	(*c->nrefused)++;
}

/*
 * The state file's "retiredBuckets" (model_retired): [{bucketName,
 * workspace, principal, retiredAt}].  The CLI writes it; an entry that
 * does not read is an error of the file, so that no bucket it names
 * becomes claimable by a misread.
 */
static void
storage_retired(struct storage_ctx *c, const struct snode *seq)
{
	const struct snode *r;
	const char *bucket, *ws, *principal;
	time_t at;
	size_t i;

	for (i = 0; i < seq->n; i++) {
		r = seq->items[i];
		if (r->type != SN_MAP) {
			storage_err(c, r, "retiredBuckets[%zu] must be a mapping", i);
			continue;
		}
		bucket = storage_str(c, r, "bucketName", "retiredBuckets[].", 1);
		ws = storage_str(c, r, "workspace", "retiredBuckets[].", 1);
		principal = storage_str(c, r, "principal", "retiredBuckets[].", 1);
		at = storage_time(c, r, "retiredAt", "retiredBuckets[].");
		if (bucket == NULL || ws == NULL || principal == NULL)
			continue;
		if (!storage_bucket_name_valid(bucket) || !storage_principal_valid(ws) ||
		    !storage_principal_valid(principal)) {
			storage_err(c, r, "retiredBuckets[%zu]: \"%s\" of workspace \"%s\" (owner "
			    "\"%s\") is not a bucket, workspace and principal name", i, bucket, ws,
			    principal);
			continue;
		}
		model_add_retired(c->m, bucket, ws, principal, at);
	}
}

/* A document: one resource, a List of them, or a bare sequence of them. */
static void
storage_document(struct storage_ctx *c, const struct snode *doc)
{
	const struct snode *items;
	const char *kind;
	size_t i;

	if (doc == NULL || doc->type == SN_NULL)
		return;
	if (doc->type == SN_SEQ)
		items = doc;
	else if (doc->type == SN_MAP && (kind = snode_get(doc, "kind") ?
	    snode_get(doc, "kind")->text : NULL) != NULL &&
	    (strcmp(kind, "List") == 0 || strcmp(kind, "StorageList") == 0)) {
		if (c->state) {
			int bad = 0;
			const struct snode *retired = storage_seq(c, doc, "retiredBuckets", "", &bad);

			if (retired != NULL)
				storage_retired(c, retired);
		}
		items = snode_get(doc, "items");
		if (items == NULL || items->type == SN_NULL)
			return;
		if (items->type != SN_SEQ) {
			storage_err(c, items, "items must be a list");
			return;
		}
	} else {
		storage_resource(c, doc);
		c->name = NULL;
		return;
	}
	for (i = 0; i < items->n; i++)
		storage_resource(c, items->items[i]);
	c->name = NULL;		/* it pointed into DOC */
}

static void
storage_parse_json(struct storage_ctx *c, const char *data, size_t len)
{
	json_error_t jerr;
	json_t *root;
	struct snode *doc;

	/* a "\u0000" is the error of its resource (storage_nul), not of the whole input */
	if ((root = json_loadb(data, len, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &jerr)) == NULL) {
		c->nerrors++;
		sbuf_appendf(c->errors, "%s:%d: bad JSON: %s\n", c->source, jerr.line, jerr.text);
		return;
	}
	if ((doc = storage_from_json(c, root, 0)) == NULL)
		storage_err(c, NULL, "document too deep or too large");
	else
		storage_document(c, doc);
	snode_free(doc);
	json_decref(root);
}

static void
storage_parse_yaml(struct storage_ctx *c, const char *data, size_t len)
{
	yaml_parser_t parser;
	yaml_document_t ydoc;
	yaml_node_t *root;
	struct snode *doc;

	if (!yaml_parser_initialize(&parser))
		abort();
	yaml_parser_set_input_string(&parser, (const unsigned char *)data, len);
	for (;;) {
		if (!yaml_parser_load(&parser, &ydoc)) {
			if (++c->nerrors <= STORAGE_MAX_ERRORS)
				sbuf_appendf(c->errors, "%s:%zu: bad YAML: %s%s%s\n", c->source,
				    parser.problem_mark.line + 1,
				    parser.problem ? parser.problem : "syntax error",
				    parser.context ? " " : "", parser.context ? parser.context : "");
			break;
		}
		if ((root = yaml_document_get_root_node(&ydoc)) == NULL) {
			yaml_document_delete(&ydoc);	/* end of the stream */
			break;
		}
		if ((doc = storage_from_yaml(c, &ydoc, root, 0)) == NULL)
			storage_err(c, NULL, "document at line %zu too deep or too large",
			    root->start_mark.line + 1);
		else
			storage_document(c, doc);
		snode_free(doc);
		yaml_document_delete(&ydoc);
		if (c->nodes > STORAGE_MAX_NODES || c->text > STORAGE_MAX_TEXT)
			break;
	}
	yaml_parser_delete(&parser);
}

static int
storage_parse_ctx(struct storage_ctx *cp, struct model *m, const char *source, const char *data,
    size_t len, struct sbuf *errors)
{
	struct storage_ctx c = *cp;
	size_t i;

	c.m = m;
	c.source = source;
	c.errors = errors;
	for (i = 0; i < len && (data[i] == ' ' || data[i] == '\t' || data[i] == '\r' ||
	    data[i] == '\n'); i++)
		;
	if (i < len && (data[i] == '{' || data[i] == '['))
		storage_parse_json(&c, data, len);
	else
		storage_parse_yaml(&c, data, len);
	if (c.nerrors > STORAGE_MAX_ERRORS)
		sbuf_appendf(errors, "%s: %d more errors\n", source,
		    c.nerrors - STORAGE_MAX_ERRORS);
	return c.nerrors > c.forgiven ? -1 : 0;
}

int
storage_parse(struct model *m, const char *source, const char *data, size_t len,
    struct sbuf *errors)
{
	struct storage_ctx c;

	memset(&c, 0, sizeof(c));
	return storage_parse_ctx(&c, m, source, data, len, errors);
}

int
storage_parse_state(struct model *m, const char *source, const char *data, size_t len,
    struct sbuf *errors)
{
	struct storage_ctx c;

	memset(&c, 0, sizeof(c));
	c.state = 1;
	return storage_parse_ctx(&c, m, source, data, len, errors);
}

int
storage_parse_each(struct model *m, const char *source, const char *data, size_t len,
    struct sbuf *errors, char *const *skip, size_t nskip, char ***refused, size_t *nrefused)
{
	struct storage_ctx c;

	memset(&c, 0, sizeof(c));
	c.lenient = 1;
	c.skip = skip;
	c.nskip = nskip;
	c.refused = refused;
	c.nrefused = nrefused;
	*refused = NULL;
	*nrefused = 0;
	return storage_parse_ctx(&c, m, source, data, len, errors);
}

static int storage_load(struct model *, const char *, int, struct sbuf *);

int
storage_load_file(struct model *m, const char *path, struct sbuf *errors)
{
	return storage_load(m, path, 0, errors);
}

int
storage_load_state(struct model *m, const char *path, struct sbuf *errors)
{
	return storage_load(m, path, 1, errors);
}

/* Reads PATH and parses it (STATE: as the CLI's state file). */
static int
storage_load(struct model *m, const char *path, int state, struct sbuf *errors)
{
	struct stat st;
	char *data;
	ssize_t n;
	size_t got = 0;
	int fd, rc;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		sbuf_appendf(errors, "%s: %s\n", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode) || st.st_size > STORAGE_MAX_FILE) {
		sbuf_appendf(errors, "%s: not a regular file of at most %d bytes\n", path,
		    STORAGE_MAX_FILE);
		close(fd);
		return -1;
	}
	if ((data = malloc((size_t)st.st_size + 1)) == NULL)
		abort();
	while (got < (size_t)st.st_size) {
		if ((n = read(fd, data + got, (size_t)st.st_size - got)) == -1) {
			if (errno == EINTR)
				continue;
			sbuf_appendf(errors, "%s: %s\n", path, strerror(errno));
			free(data);
			close(fd);
			return -1;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	close(fd);
	data[got] = '\0';
	rc = state ? storage_parse_state(m, path, data, got, errors) :
	    storage_parse(m, path, data, got, errors);
	free(data);
	return rc;
}

/* ---- writing ------------------------------------------------------------ */

/*
 * Sets OBJ.KEY to T (nothing for 0).  A time storage_format_time() refuses
 * is reported in ERRORS, naming WHAT, and makes the document unwritable.
 */
static int
storage_set_time(json_t *obj, const char *key, time_t t, struct sbuf *errors,
    const char *what)
{
	char buf[32];

	if (t == 0)
		return 0;
	if (storage_format_time(t, buf, sizeof(buf)) == -1) {
		if (errors != NULL)
			sbuf_appendf(errors, "%s: %s %lld is not a time s3gate can write (1970 to "
			    "9999); nothing written\n", what, key, (long long)t);
		return -1;
	}
	json_object_set_new(obj, key, json_string(buf));
	return 0;
}

json_t *
storage_quota_json(const struct policy_quota *q)
{
	json_t *o = json_object();

	if (q->set & POLICY_QUOTA_RATE)
		json_object_set_new(o, "requestRate", json_integer(q->request_rate));
	if (q->set & POLICY_QUOTA_BANDWIDTH)
		json_object_set_new(o, "bandwidth", json_integer((json_int_t)q->bandwidth));
	if (q->set & POLICY_QUOTA_CONNECTIONS)
		json_object_set_new(o, "connections", json_integer(q->connections));
	return o;
}

/*
 * The records of one kind, grouped by the workspace they stand in, each
 * group in the records' own order: storage_write() takes a workspace's
 * records from one run of this array instead of looking at every record
 * for every workspace (10 000 workspaces took 12 s that way).
 */
struct storage_by {
	const char	*name;		/* the workspace (or, for storage_bucket_owner, the bucket) */
	const char	*workspace;	/* storage_bucket_owner: the bucket's workspace */
	size_t		 index;		/* the record's */
};

static int
storage_by_cmp(const void *a, const void *b)
{
	const struct storage_by *x = a, *y = b;
	int c = strcmp(x->name, y->name);

	return c != 0 ? c : (x->index > y->index) - (x->index < y->index);
}

static struct storage_by *
storage_by_new(size_t n)
{
	struct storage_by *v = calloc(n > 0 ? n : 1, sizeof(*v));

	if (v == NULL)
		abort();
	return v;
}

/* The first entry of V (N, sorted) whose name is NAME, or N. */
static size_t
storage_by_first(const struct storage_by *v, size_t n, const char *name)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (strcmp(v[mid].name, name) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < n && strcmp(v[lo].name, name) == 0 ? lo : n;
}

/* The workspace of bucket NAME in BUCKETS (N, sorted by bucket name); NULL if none. */
static const char *
storage_bucket_owner(const struct storage_by *buckets, size_t n, const char *name)
{
	size_t i = storage_by_first(buckets, n, name);

	return i < n ? buckets[i].workspace : NULL;
}

static int
storage_retired_cmp(const void *a, const void *b)
{
	const struct model_retired *x = *(const struct model_retired *const *)a;
	const struct model_retired *y = *(const struct model_retired *const *)b;

	return strcmp(x->bucket, y->bucket);
}

/*
 * M's retired buckets as ROOT's "retiredBuckets", sorted by name; -1 if a
 * time cannot be written.
 */
static int
storage_write_retired(const struct model *m, json_t *root, struct sbuf *errors)
{
	const struct model_retired **v;
	json_t *arr = json_array(), *o;
	char what[128];
	size_t i;
	int bad = 0;

	if ((v = calloc(m->nretired, sizeof(*v))) == NULL)
		abort();
	for (i = 0; i < m->nretired; i++)
		v[i] = &m->retired[i];
	qsort(v, m->nretired, sizeof(*v), storage_retired_cmp);
	for (i = 0; i < m->nretired; i++) {
		o = json_object();
		json_object_set_new(o, "bucketName", json_string(v[i]->bucket));
		json_object_set_new(o, "workspace", json_string(v[i]->workspace));
		json_object_set_new(o, "principal", json_string(v[i]->principal));
		snprintf(what, sizeof(what), "retired bucket %s", v[i]->bucket);
		bad |= storage_set_time(o, "retiredAt", v[i]->retired_at, errors, what);
		json_array_append_new(arr, o);
	}
	json_object_set_new(root, "retiredBuckets", arr);
	free(v);
	return bad;
}

int
storage_write(const struct model *m, const char *source, struct sbuf *out, struct sbuf *errors)
{
	json_t *root, *items, *res, *meta, *spec, *arr, *o;
	const struct model_workspace *w;
	const struct model_bucket *b;
	struct storage_by *bk, *by_name, *gr, *rq;
	char *text, what[512];
	size_t i, j, ngr = 0;
	int bad = 0;

	bk = storage_by_new(m->nbuckets);
	by_name = storage_by_new(m->nbuckets);
	for (i = 0; i < m->nbuckets; i++) {
		bk[i] = (struct storage_by){ m->buckets[i].workspace, NULL, i };
		by_name[i] = (struct storage_by){ m->buckets[i].name, m->buckets[i].workspace, i };
	}
	qsort(bk, m->nbuckets, sizeof(*bk), storage_by_cmp);
	qsort(by_name, m->nbuckets, sizeof(*by_name), storage_by_cmp);
	gr = storage_by_new(m->ngrants);
	for (i = 0; i < m->ngrants; i++) {
		const char *ws = storage_bucket_owner(by_name, m->nbuckets, m->grants[i].bucket);
		if (ws != NULL)		/* a grant on no bucket stands nowhere */
			gr[ngr++] = (struct storage_by){ ws, NULL, i };
	}
	qsort(gr, ngr, sizeof(*gr), storage_by_cmp);
	rq = storage_by_new(m->nrequests);
	for (i = 0; i < m->nrequests; i++)
		rq[i] = (struct storage_by){ m->requests[i].workspace, NULL, i };
	qsort(rq, m->nrequests, sizeof(*rq), storage_by_cmp);

	root = json_object();
	json_object_set_new(root, "apiVersion", json_string("v1"));
	json_object_set_new(root, "kind", json_string("List"));
	items = json_array();
	for (i = 0; i < m->nworkspaces; i++) {
		w = &m->workspaces[i];
		if (source != NULL && (w->source == NULL || strcmp(w->source, source) != 0))
			continue;
		res = json_object();
		json_object_set_new(res, "apiVersion", json_string(STORAGE_API_VERSION));
		json_object_set_new(res, "kind", json_string(STORAGE_KIND));
		meta = json_object();
		json_object_set_new(meta, "name", json_string(w->name));
		snprintf(what, sizeof(what), "workspace %s", w->name);
		bad |= storage_set_time(meta, "creationTimestamp", w->created_at, errors, what);
		json_object_set_new(res, "metadata", meta);
		spec = json_object();
		json_object_set_new(spec, "principal", json_string(w->principal));
		if (w->nmembers > 0) {
			arr = json_array();
			for (j = 0; j < w->nmembers; j++)
				json_array_append_new(arr, json_string(w->members[j]));
			json_object_set_new(spec, "members", arr);
		}
		if (w->quota.set != 0)
			json_object_set_new(spec, "quotas", storage_quota_json(&w->quota));
		arr = json_array();
		for (j = storage_by_first(bk, m->nbuckets, w->name);
		    j < m->nbuckets && strcmp(bk[j].name, w->name) == 0; j++) {
			b = &m->buckets[bk[j].index];
			o = json_object();
			json_object_set_new(o, "bucketName", json_string(b->name));
			json_object_set_new(o, "discoverable", json_boolean(b->discoverable));
			json_array_append_new(arr, o);
		}
		json_object_set_new(spec, "buckets", arr);
		arr = json_array();
		for (j = storage_by_first(gr, ngr, w->name);
		    j < ngr && strcmp(gr[j].name, w->name) == 0; j++) {
			const struct model_grant *g = &m->grants[gr[j].index];

			o = json_object();
			json_object_set_new(o, "bucketName", json_string(g->bucket));
			json_object_set_new(o, "grantee", json_string(g->grantee));
			json_object_set_new(o, "permission", json_string(policy_perm_str(g->perm)));
			snprintf(what, sizeof(what), "grant of %s to %s", g->bucket, g->grantee);
			bad |= storage_set_time(o, "grantedAt", g->granted_at, errors, what);
			if (g->prefix[0] != '\0')
				json_object_set_new(o, "prefix", json_string(g->prefix));
			bad |= storage_set_time(o, "expiresAt", g->expires_at, errors, what);
			json_array_append_new(arr, o);
		}
		json_object_set_new(spec, "bucketAccessGrants", arr);
		arr = json_array();
		for (j = storage_by_first(rq, m->nrequests, w->name);
		    j < m->nrequests && strcmp(rq[j].name, w->name) == 0; j++) {
			const struct model_request *r = &m->requests[rq[j].index];

			o = json_object();
			json_object_set_new(o, "bucketName", json_string(r->bucket));
			json_object_set_new(o, "reason", json_string(r->reason));
			snprintf(what, sizeof(what), "request of %s by %s", r->bucket, r->requester);
			bad |= storage_set_time(o, "requestedAt", r->requested_at, errors, what);
			json_array_append_new(arr, o);
		}
		json_object_set_new(spec, "bucketAccessRequests", arr);
		json_object_set_new(res, "spec", spec);
		json_array_append_new(items, res);
	}
	json_object_set_new(root, "items", items);
	if (m->nretired > 0)
		bad |= storage_write_retired(m, root, errors);
	free(bk);
	free(by_name);
	free(gr);
	free(rq);
	if ((text = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER)) == NULL)
		abort();
	if (!bad) {
		sbuf_appends(out, text);
		sbuf_appendc(out, '\n');
	}
	free(text);
	json_decref(root);
	return bad ? -1 : 0;
}
