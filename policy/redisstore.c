/*
 * redisstore: the Redis policy store (contract in redisstore.h, keys in
 * policy/README.md "Redis keys").
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

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <hiredis/hiredis.h>
#include <hiredis/async.h>
#include <hiredis/adapters/libevent.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "policy/redisstore.h"
#include "policy/storage.h"
#include "proxy/log.h"
#include "proxy/sbuf.h"
#include "proxy/siphash.h"
#include "proxy/uri.h"

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
#define RS_MAX_PUBLISH		64	/* more invalidations than this: one "all" */
#define RS_NEVER		(LLONG_MIN / 4)

#define RS_NONCE_LEN		12
#define RS_TAG_LEN		16

/* ---- small helpers ---------------------------------------------------------- */

static long long
rs_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
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

static void
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
static void
rs_aad(struct sbuf *out, const char *key, const char *field)
{
	sbuf_reset(out);
	sbuf_appendf(out, "%s\n%s", key, field);
}

/* ---- the URL ------------------------------------------------------------------ */

#define RS_MAX_SENTINELS	8
#define RS_SENTINEL_PORT	26379

struct rs_hostport {
	char	 host[256];
	int	 port;
};

struct rs_addr {
	char	 host[256];	/* the server; with Sentinel, the master it named last */
	int	 port;
	char	 path[256];	/* unix socket; "" for TCP */
	int	 db;
	char	 password[256];	/* "" for none */
	/* redis+sentinel://: whom to ask which server is the master of what */
	struct rs_hostport sentinels[RS_MAX_SENTINELS];
	int	 nsentinels;	/* 0: not Sentinel */
	char	 master_name[128];
};

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
static int
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
		/* the master the store's connections were last told of */
		if (rs_master_seen.port == 0) {
			sbuf_appendf(errors, "%s: no sentinel has named the master %s yet\n",
			    redisstore_url_shown(conf->store_path, shown, sizeof(shown)),
			    a.master_name);
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
static int
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

static int
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
static int
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
static int
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
static void
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
static int
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
static void
rs_access_format(struct sbuf *out, const struct policy_access *a)
{
	sbuf_reset(out);
	sbuf_appendf(out, "%s %s %lld %s", rs_via_names[a->via], rs_perm_names[a->perm],
	    (long long)a->expires_at, a->prefix);
}

/* access:P field B = "VIA PERM EXPIRES CREATED WORKSPACE PREFIX" */
static void
rs_item_format(struct sbuf *out, enum policy_via via, enum policy_perm perm,
    time_t expires_at, time_t created_at, const char *workspace, const char *prefix)
{
	sbuf_reset(out);
	sbuf_appendf(out, "%s %s %lld %lld %s %s", rs_via_names[via], rs_perm_names[perm],
	    (long long)expires_at, (long long)created_at, workspace, prefix);
}

static int
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

/* ---- Sentinel ------------------------------------------------------------------------ */

/*
 * SENTINEL get-master-addr-by-name's reply: [HOST, PORT], or nil when the
 * sentinel monitors no master of that name.  0 and HOST, *PORT set, or -1.
 */
static int
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

/*
 * ROLE's reply names the server's role first: "master", "slave" or
 * "sentinel".  A sentinel's answer may be stale (a failover under way),
 * so the server it names is asked too, as Sentinel's client guide says.
 */
static int
rs_role_is_master(const redisReply *r)
{
	return r != NULL && r->type == REDIS_REPLY_ARRAY && r->elements >= 1 &&
	    r->element[0]->type == REDIS_REPLY_STRING && strcmp(r->element[0]->str, "master") == 0;
}

static void
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

/* ---- proxy side: connections -------------------------------------------------------- */

static void
rs_conn_down(struct rs_conn *c, const char *why)
{
	struct redisstore *rs = c->rs;

	c->ready = 0;
	if (c->asking) {
		c->asking = 0;
		if (c->master_named) {		/* asked and answered: on to the master at once */
			c->retry_ms = rs_now_ms();
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
		    sentinel->host, sentinel->port, rs->addr.master_name,
		    reply->type == REDIS_REPLY_ERROR ? reply->str :
		    reply->type == REDIS_REPLY_NIL ? "it monitors none of that name" : "a reply not understood");
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
		r = redisCommand(sc, "SENTINEL get-master-addr-by-name %s", addr->master_name);
		if (rs_sentinel_reply_master(r, addr->host, sizeof(addr->host), &addr->port) == 0) {
			freeReplyObject(r);
			redisFree(sc);
			sbuf_free(&why);
			return 0;
		}
		sbuf_appendf(&why, "; sentinel %s:%d: %.200s", sentinel->host, sentinel->port,
		    r == NULL ? (sc->errstr[0] ? sc->errstr : "no reply") :
		    r->type == REDIS_REPLY_ERROR ? r->str :
		    r->type == REDIS_REPLY_NIL ? "monitors no master of that name" : "a reply not understood");
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
