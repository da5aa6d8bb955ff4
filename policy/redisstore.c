/*
 * redisstore: the Redis policy store (contract in redisstore.h, keys in
 * policy/README.md "Redis keys"), in three files (redisstore_int.h
 * between them):
 *
 *   redisstore.c        what both sides share: the URL (and Sentinel's
 *                       replies), secrets sealed at rest, the values'
 *                       text (grants, quotas, links)
 *   redisstore_cache.c  the proxy side: the cache, its two connections,
 *                       the fetches, invalidations and heartbeat; the ops
 *   redisstore_model.c  the admin side: the model loaded and saved, the lock
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <hiredis/hiredis.h>
#include <hiredis/async.h>
#include <hiredis/adapters/libevent.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "policy/redisstore.h"
#include "policy/redisstore_int.h"
#include "policy/storage.h"
#include "proxy/log.h"
#include "proxy/sbuf.h"
#include "proxy/uri.h"

#define RS_NONCE_LEN		12
#define RS_TAG_LEN		16

/* ---- small helpers ---------------------------------------------------------- */

long long
rs_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void
rs_free_secret(char *s)
{
	if (s != NULL) {
		explicit_bzero(s, strlen(s));
		free(s);
	}
}

/* Decodes LEN hex digits at S into OUT (LEN/2 bytes); -1 if not hex. */
static int
rs_unhex(const char *s, size_t len, unsigned char *out)
{
	size_t i;
	int hi, lo;

	if (len % 2 != 0)
		return -1;
	for (i = 0; i < len; i += 2) {
		if ((hi = uri_hexval((unsigned char)s[i])) == -1 ||
		    (lo = uri_hexval((unsigned char)s[i + 1])) == -1)
			return -1;
		out[i / 2] = (unsigned char)(hi << 4 | lo);
	}
	return 0;
}

void
rs_hex(struct sbuf *out, const unsigned char *p, size_t len)
{
	static const char digits[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < len; i++) {
		sbuf_appendc(out, digits[p[i] >> 4]);
		sbuf_appendc(out, digits[p[i] & 15]);
	}
}

/* ---- secrets at rest ---------------------------------------------------------- */

int
redisstore_parse_key(const char *hex, unsigned char key[REDISSTORE_KEY_LEN])
{
	if (hex == NULL || strlen(hex) != 2 * REDISSTORE_KEY_LEN)
		return -1;
	return rs_unhex(hex, 2 * REDISSTORE_KEY_LEN, key);
}

void
redisstore_seal(const unsigned char key[REDISSTORE_KEY_LEN], const char *aad,
    const char *plain, struct sbuf *out)
{
	unsigned char nonce[RS_NONCE_LEN], tag[RS_TAG_LEN], *ct;
	size_t n = strlen(plain);
	EVP_CIPHER_CTX *ctx;
	int len, fin;

	if (n > INT_MAX / 2 || RAND_bytes(nonce, sizeof(nonce)) != 1)
		abort();
	if ((ct = malloc(n + 16)) == NULL || (ctx = EVP_CIPHER_CTX_new()) == NULL)
		abort();
	if (EVP_EncryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, NULL, NULL) != 1 ||
	    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, RS_NONCE_LEN, NULL) != 1 ||
	    EVP_EncryptInit_ex(ctx, NULL, NULL, key, nonce) != 1 ||
	    EVP_EncryptUpdate(ctx, NULL, &len, (const unsigned char *)aad, (int)strlen(aad)) != 1 ||
	    EVP_EncryptUpdate(ctx, ct, &len, (const unsigned char *)plain, (int)n) != 1 ||
	    EVP_EncryptFinal_ex(ctx, ct + len, &fin) != 1 ||
	    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, RS_TAG_LEN, tag) != 1)
		abort();
	EVP_CIPHER_CTX_free(ctx);
	sbuf_appends(out, "v1:");
	rs_hex(out, nonce, sizeof(nonce));
	sbuf_appendc(out, ':');
	rs_hex(out, ct, (size_t)(len + fin));
	sbuf_appendc(out, ':');
	rs_hex(out, tag, sizeof(tag));
	free(ct);
}

char *
redisstore_unseal(const unsigned char key[REDISSTORE_KEY_LEN], const char *aad,
    const char *text)
{
	unsigned char nonce[RS_NONCE_LEN], tag[RS_TAG_LEN], *ct = NULL, *pt = NULL;
	const char *p1, *p2, *p3;
	EVP_CIPHER_CTX *ctx = NULL;
	size_t ctlen;
	int len, fin, ok = 0;

	if (text == NULL || strncmp(text, "v1:", 3) != 0)
		return NULL;
	p1 = text + 3;
	if ((p2 = strchr(p1, ':')) == NULL || (p3 = strchr(p2 + 1, ':')) == NULL)
		return NULL;
	ctlen = (size_t)(p3 - p2 - 1);
	if ((size_t)(p2 - p1) != 2 * RS_NONCE_LEN || strlen(p3 + 1) != 2 * RS_TAG_LEN ||
	    ctlen % 2 != 0 || ctlen / 2 > INT_MAX / 2)
		return NULL;
	ctlen /= 2;
	if ((ct = malloc(ctlen + 1)) == NULL || (pt = malloc(ctlen + 17)) == NULL)
		abort();
	if (rs_unhex(p1, 2 * RS_NONCE_LEN, nonce) == -1 ||
	    rs_unhex(p2 + 1, 2 * ctlen, ct) == -1 ||
	    rs_unhex(p3 + 1, 2 * RS_TAG_LEN, tag) == -1)
		goto out;
	if ((ctx = EVP_CIPHER_CTX_new()) == NULL)
		abort();
	if (EVP_DecryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, NULL, NULL) != 1 ||
	    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, RS_NONCE_LEN, NULL) != 1 ||
	    EVP_DecryptInit_ex(ctx, NULL, NULL, key, nonce) != 1 ||
	    EVP_DecryptUpdate(ctx, NULL, &len, (const unsigned char *)aad, (int)strlen(aad)) != 1 ||
	    EVP_DecryptUpdate(ctx, pt, &len, ct, (int)ctlen) != 1 ||
	    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, RS_TAG_LEN, tag) != 1 ||
	    EVP_DecryptFinal_ex(ctx, pt + len, &fin) != 1)
		goto out;
	pt[len + fin] = '\0';
	/* a NUL inside would truncate a secret silently */
	ok = memchr(pt, '\0', (size_t)(len + fin)) == NULL;
out:
	EVP_CIPHER_CTX_free(ctx);
	free(ct);
	if (!ok) {
		explicit_bzero(pt, ctlen + 17);
		free(pt);
		return NULL;
	}
	return (char *)pt;
}

/* The additional data a sealed field is bound to: its key and field name. */
void
rs_aad(struct sbuf *out, const char *key, const char *field)
{
	sbuf_reset(out);
	sbuf_appendf(out, "%s\n%s", key, field);
}

/* ---- the URL ------------------------------------------------------------------ */

#define RS_SENTINEL_PORT	26379

/*
 * The master a sentinel named last in this process (the proxy's event loop
 * only), for the quota sync's connection: it follows the store's, which
 * asks again on every reconnect.
 */
static struct rs_hostport rs_master_seen;

/* HOST[:PORT] or [IPV6][:PORT] between P and END; *PORT kept when absent. */
static int
rs_hostport_parse(const char *p, const char *end, char *host, size_t host_size, int *port)
{
	const char *colon;
	char *e;
	long v;

	if (p < end && *p == '[') {
		const char *rb = memchr(p, ']', (size_t)(end - p));

		if (rb == NULL || (size_t)(rb - p - 1) >= host_size || rb == p + 1)
			return -1;
		memcpy(host, p + 1, (size_t)(rb - p - 1));
		host[rb - p - 1] = '\0';
		colon = rb + 1 < end && rb[1] == ':' ? rb + 1 : NULL;
		if (colon == NULL && rb + 1 != end)
			return -1;
	} else {
		colon = memchr(p, ':', (size_t)(end - p));
		if ((size_t)((colon ? colon : end) - p) >= host_size || (colon ? colon : end) == p)
			return -1;
		memcpy(host, p, (size_t)((colon ? colon : end) - p));
		host[(colon ? colon : end) - p] = '\0';
	}
	if (colon != NULL) {
		if (colon + 1 == end || !isdigit((unsigned char)colon[1]))
			return -1;
		v = strtol(colon + 1, &e, 10);
		if (e != end || v < 1 || v > 65535)
			return -1;
		*port = (int)v;
	}
	return 0;
}

/* "/DB" at P (or nothing): *DB. */
static int
rs_db_parse(const char *p, int *db)
{
	char *e;
	long v;

	if (*p == '\0' || (p[0] == '/' && p[1] == '\0'))
		return 0;
	if (p[0] != '/' || !isdigit((unsigned char)p[1]))
		return -1;
	v = strtol(p + 1, &e, 10);
	if (*e != '\0' || v < 0 || v > 65535)
		return -1;
	*db = (int)v;
	return 0;
}

/*
 * redis://[[USER]:PASSWORD@]HOST[:PORT][/DB]  (HOST may be [IPv6])
 * redis+sentinel://[[USER]:PASSWORD@]HOST[:PORT][,HOST[:PORT]...]/MASTER[/DB]
 *     (the sentinels, port 26379 by default; the password is the master's)
 * unix:/PATH[?db=N]
 */
static int
rs_addr_parse(const char *url, struct rs_addr *a, struct sbuf *errors)
{
	const char *p, *at, *end, *colon, *comma, *name;
	int sentinel = 0;
	char *e;
	long v;

	memset(a, 0, sizeof(*a));
	a->port = 6379;
	if (strncmp(url, "unix:", 5) == 0) {
		p = url + 5;
		end = strchr(p, '?');
		if (end == NULL)
			end = p + strlen(p);
		if (p[0] != '/' || (size_t)(end - p) >= sizeof(a->path))
			goto bad;
		memcpy(a->path, p, (size_t)(end - p));
		if (*end == '?') {
			if (strncmp(end, "?db=", 4) != 0)
				goto bad;
			v = strtol(end + 4, &e, 10);
			if (*e != '\0' || v < 0 || v > 65535)
				goto bad;
			a->db = (int)v;
		}
		return 0;
	}
	if (strncmp(url, "redis+sentinel://", 17) == 0) {
		sentinel = 1;
		p = url + 17;
	} else if (strncmp(url, "redis://", 8) == 0)
		p = url + 8;
	else
		goto bad;
	end = p + strcspn(p, "/");
	if ((at = memchr(p, '@', (size_t)(end - p))) != NULL) {
		if ((colon = memchr(p, ':', (size_t)(at - p))) == NULL ||
		    (size_t)(at - colon - 1) >= sizeof(a->password))
			goto bad;
		memcpy(a->password, colon + 1, (size_t)(at - colon - 1));
		p = at + 1;
	}
	if (!sentinel) {
		if (rs_hostport_parse(p, end, a->host, sizeof(a->host), &a->port) == -1 ||
		    rs_db_parse(end, &a->db) == -1)
			goto bad;
		return 0;
	}
	for (;; p = comma + 1) {	/* every comma-separated address, none empty */
		struct rs_hostport *s = &a->sentinels[a->nsentinels];

		if (a->nsentinels == RS_MAX_SENTINELS)
			goto bad;
		if ((comma = memchr(p, ',', (size_t)(end - p))) == NULL)
			comma = end;
		s->port = RS_SENTINEL_PORT;
		if (rs_hostport_parse(p, comma, s->host, sizeof(s->host), &s->port) == -1)
			goto bad;
		a->nsentinels++;
		if (comma == end)
			break;
	}
	/* /MASTER[/DB]: a master's name is what sentinel.conf's "monitor" line gave */
	if (a->nsentinels == 0 || *end != '/')
		goto bad;
	name = end + 1;
	end = name + strcspn(name, "/");
	if (end == name || (size_t)(end - name) >= sizeof(a->master_name) ||
	    strcspn(name, " \t\r\n") < (size_t)(end - name) || rs_db_parse(end, &a->db) == -1)
		goto bad;
	memcpy(a->master_name, name, (size_t)(end - name));
	a->host[0] = '\0';	/* until a sentinel names the master */
	a->port = 0;
	return 0;
bad:
	{
		char shown[512];
		sbuf_appendf(errors, "policy_store redis \"%s\": not a Redis URL; write "
		    "redis://[:PASSWORD@]HOST[:PORT][/DB], "
		    "redis+sentinel://[:PASSWORD@]HOST[:PORT][,HOST[:PORT]...]/MASTER[/DB] "
		    "or unix:/PATH[?db=N]\n",
		    redisstore_url_shown(url, shown, sizeof(shown)));
	}
	return -1;
}

int
redisstore_url_check(const char *url, struct sbuf *errors)
{
	struct rs_addr a;
	int r = rs_addr_parse(url, &a, errors);

	explicit_bzero(&a, sizeof(a));
	return r;
}

const char *
redisstore_url_shown(const char *url, char *buf, size_t size)
{
	const char *auth, *at;

	if (strncmp(url, "redis://", 8) == 0 && (auth = url + 8) != NULL &&
	    (at = memchr(auth, '@', strcspn(auth, "/"))) != NULL)
		snprintf(buf, size, "redis://***@%s", at + 1);
	else if (strncmp(url, "redis+sentinel://", 17) == 0 && (auth = url + 17) != NULL &&
	    (at = memchr(auth, '@', strcspn(auth, "/"))) != NULL)
		snprintf(buf, size, "redis+sentinel://***@%s", at + 1);
	else
		snprintf(buf, size, "%s", url);
	return buf;
}

/* CONF's Redis address: its policy_store URL, with policy_store_password's password if set. */
int
rs_addr_conf(const struct conf *conf, struct rs_addr *a, struct sbuf *errors)
{
	if (rs_addr_parse(conf->store_path, a, errors) == -1)
		return -1;
	if (conf->store_password != NULL)
		snprintf(a->password, sizeof(a->password), "%s", conf->store_password);
	return 0;
}

redisAsyncContext *
redisstore_async_connect(const struct conf *conf, struct event_base *base, struct sbuf *errors)
{
	struct rs_addr a;
	redisAsyncContext *ac;
	char shown[512];

	if (rs_addr_conf(conf, &a, errors) == -1)
		return NULL;
	if (a.nsentinels > 0) {
		/* the master the store's connections were last told of: none yet at start */
		if (rs_master_seen.port == 0) {
			explicit_bzero(&a, sizeof(a));
			return NULL;
		}
		snprintf(a.host, sizeof(a.host), "%s", rs_master_seen.host);
		a.port = rs_master_seen.port;
	}
	if (a.path[0] != '\0')
		ac = redisAsyncConnectUnix(a.path);
	else
		ac = redisAsyncConnect(a.host, a.port);	/* a host name resolves here: use an address */
	if (ac == NULL)
		abort();
	if (ac->err) {
		sbuf_appendf(errors, "%s: %s\n",
		    redisstore_url_shown(conf->store_path, shown, sizeof(shown)), ac->errstr);
		redisAsyncFree(ac);
		explicit_bzero(&a, sizeof(a));
		return NULL;
	}
	if (redisLibeventAttach(ac, base) != REDIS_OK)
		abort();
	if (a.password[0] != '\0')
		redisAsyncCommand(ac, NULL, NULL, "AUTH %s", a.password);
	if (a.db != 0)
		redisAsyncCommand(ac, NULL, NULL, "SELECT %d", a.db);
	explicit_bzero(&a, sizeof(a));
	return ac;
}

/* ---- values: what one principal holds on one bucket ------------------------------ */

static const char *const rs_via_names[] = { "none", "owner", "member", "grant" };
static const char *const rs_perm_names[] = { "None", "ReadOnly", "ReadWrite", "WriteOnly", "Full" };

static int
rs_name_index(const char *const *names, size_t n, const char *s)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strcmp(names[i], s) == 0)
			return (int)i;
	return -1;
}

/*
 * Splits S in place at the first N-1 spaces into FIELDS; the last field
 * keeps the rest (a prefix may hold spaces).  -1 if there are fewer.
 */
int
rs_split(char *s, char **fields, int n)
{
	int i;

	for (i = 0; i < n - 1; i++) {
		fields[i] = s;
		if ((s = strchr(s, ' ')) == NULL)
			return -1;
		*s++ = '\0';
	}
	fields[n - 1] = s;
	return 0;
}

int
rs_parse_time(const char *s, time_t *out)
{
	char *e;
	long long v;

	errno = 0;
	v = strtoll(s, &e, 10);
	if (e == s || *e != '\0' || errno != 0 || v < 0)
		return -1;
	*out = (time_t)v;
	return 0;
}

/* A link field of a cred hash (link_bucket, link_key, link_method,
   link_max_bytes, link_max_uses) into C; 0, 1 if FIELD is not one, -1 if bad. */
int
rs_parse_link_field(const char *field, const char *v, struct policy_credential *c)
{
	unsigned long long n;
	char *e, **slot = NULL;

	if (strcmp(field, "link_bucket") == 0)
		slot = &c->link_bucket;
	else if (strcmp(field, "link_key") == 0)
		slot = &c->link_key;
	else if (strcmp(field, "link_method") == 0) {
		if (strcmp(v, "GET") != 0 && strcmp(v, "PUT") != 0)
			return -1;
		slot = &c->link_method;
	}
	if (slot != NULL) {
		free(*slot);
		*slot = sbuf_strdup(v);
		return 0;
	}
	if (strcmp(field, "link_max_bytes") != 0 && strcmp(field, "link_max_uses") != 0)
		return 1;
	errno = 0;
	n = strtoull(v, &e, 10);
	if (e == v || *e != '\0' || errno != 0 || v[0] == '-')
		return -1;
	if (strcmp(field, "link_max_bytes") == 0)
		c->link_max_bytes = (uint64_t)n;
	else if (n > UINT32_MAX)
		return -1;
	else
		c->link_max_uses = (uint32_t)n;
	return 0;
}

/* A link needs all three of bucket, key and method, or none. */
int
rs_link_complete(const struct policy_credential *c)
{
	int n = (c->link_bucket != NULL) + (c->link_key != NULL) + (c->link_method != NULL);

	return n == 0 || n == 3;
}

/*
 * A principal's quota overrides as one field (cred:AKID quota, and the
 * workspace JSON's "quota"): "RATE BANDWIDTH CONNECTIONS", each a decimal
 * number or "-" for "not set: the config's default" (e.g. "50 - 8").
 */
void
rs_quota_format(struct sbuf *out, const struct policy_quota *q)
{
	sbuf_reset(out);
	if (q->set & POLICY_QUOTA_RATE)
		sbuf_appendf(out, "%lu ", (unsigned long)q->request_rate);
	else
		sbuf_appends(out, "- ");
	if (q->set & POLICY_QUOTA_BANDWIDTH)
		sbuf_appendf(out, "%llu ", (unsigned long long)q->bandwidth);
	else
		sbuf_appends(out, "- ");
	if (q->set & POLICY_QUOTA_CONNECTIONS)
		sbuf_appendf(out, "%lu", (unsigned long)q->connections);
	else
		sbuf_appends(out, "-");
}

/* The reverse of rs_quota_format(); -1 if malformed or out of bounds. */
int
rs_quota_parse(const char *s, struct policy_quota *q)
{
	char buf[96], *fld[3];

	memset(q, 0, sizeof(*q));
	if (strlen(s) >= sizeof(buf))
		return -1;
	memcpy(buf, s, strlen(s) + 1);
	if (rs_split(buf, fld, 3) == -1 || strchr(fld[2], ' ') != NULL)
		return -1;
	if (strcmp(fld[0], "-") != 0) {
		if (storage_parse_count(fld[0], POLICY_QUOTA_MAX_RATE, &q->request_rate) == -1)
			return -1;
		q->set |= POLICY_QUOTA_RATE;
	}
	if (strcmp(fld[1], "-") != 0) {
		/* bytes only: digits, within INT64_MAX */
		if (strspn(fld[1], "0123456789") != strlen(fld[1]) ||
		    storage_parse_size(fld[1], &q->bandwidth) == -1)
			return -1;
		q->set |= POLICY_QUOTA_BANDWIDTH;
	}
	if (strcmp(fld[2], "-") != 0) {
		if (storage_parse_count(fld[2], POLICY_QUOTA_MAX_CONNECTIONS,
		    &q->connections) == -1)
			return -1;
		q->set |= POLICY_QUOTA_CONNECTIONS;
	}
	return 0;
}

/* bucket:B field p:P = "VIA PERM EXPIRES PREFIX" */
void
rs_access_format(struct sbuf *out, const struct policy_access *a)
{
	sbuf_reset(out);
	sbuf_appendf(out, "%s %s %lld %s", rs_via_names[a->via], rs_perm_names[a->perm],
	    (long long)a->expires_at, a->prefix);
}

/* access:P field B = "VIA PERM EXPIRES CREATED WORKSPACE PREFIX" */
void
rs_item_format(struct sbuf *out, enum policy_via via, enum policy_perm perm,
    time_t expires_at, time_t created_at, const char *workspace, const char *prefix)
{
	sbuf_reset(out);
	sbuf_appendf(out, "%s %s %lld %lld %s %s", rs_via_names[via], rs_perm_names[perm],
	    (long long)expires_at, (long long)created_at, workspace, prefix);
}

int
rs_via_perm_parse(const char *via_s, const char *perm_s, enum policy_via *via,
    enum policy_perm *perm)
{
	int v, p;

	if ((v = rs_name_index(rs_via_names, 4, via_s)) <= 0 ||
	    (p = rs_name_index(rs_perm_names, 5, perm_s)) <= 0)
		return -1;
	*via = (enum policy_via)v;
	*perm = (enum policy_perm)p;
	return 0;
}

/* ---- Sentinel ------------------------------------------------------------------------ */

/*
 * SENTINEL get-master-addr-by-name's reply: [HOST, PORT], or nil when the
 * sentinel monitors no master of that name.  0 and HOST, *PORT set, or -1.
 */
int
rs_sentinel_reply_master(const redisReply *r, char *host, size_t host_size, int *port)
{
	const redisReply *h, *p;
	char *e;
	long v;

	if (r == NULL || r->type != REDIS_REPLY_ARRAY || r->elements != 2)
		return -1;
	h = r->element[0];
	p = r->element[1];
	if (h->type != REDIS_REPLY_STRING || p->type != REDIS_REPLY_STRING || h->len == 0 ||
	    (size_t)h->len >= host_size || memchr(h->str, '\0', (size_t)h->len) != NULL)
		return -1;
	v = strtol(p->str, &e, 10);
	if (e == p->str || *e != '\0' || v < 1 || v > 65535)
		return -1;
	memcpy(host, h->str, (size_t)h->len);
	host[h->len] = '\0';
	*port = (int)v;
	return 0;
}

/* Why R (not NULL) names no master: the sentinel's error, or what came instead. */
const char *
rs_sentinel_reply_why(const redisReply *r)
{
	if (r->type == REDIS_REPLY_ERROR)
		return r->str;
	return r->type == REDIS_REPLY_NIL ? "it monitors no master of that name" :
	    "a reply not understood";
}

/*
 * ROLE's reply names the server's role first: "master", "slave" or
 * "sentinel".  A sentinel's answer may be stale (a failover under way),
 * so the server it names is asked too, as Sentinel's client guide says.
 */
int
rs_role_is_master(const redisReply *r)
{
	return r != NULL && r->type == REDIS_REPLY_ARRAY && r->elements >= 1 &&
	    r->element[0]->type == REDIS_REPLY_STRING && strcmp(r->element[0]->str, "master") == 0;
}

void
rs_master_note(const char *url, const struct rs_hostport *sentinel, const char *name,
    const char *host, int port)
{
	if (strcmp(rs_master_seen.host, host) == 0 && rs_master_seen.port == port)
		return;
	log_info("policy store %s: sentinel %s:%d names %s:%d the master of %s", url,
	    sentinel->host, sentinel->port, host, port, name);
	snprintf(rs_master_seen.host, sizeof(rs_master_seen.host), "%s", host);
	rs_master_seen.port = port;
}
