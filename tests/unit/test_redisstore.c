/*
 * test_redisstore: the Redis store against a real redis-server this test
 * starts on a free loopback port (no persistence, in a temporary folder)
 * and stops at the end.  Includes redisstore.c and its two other files to
 * look at its cache.
 *
 *   sealing: round trip, tamper, wrong key, wrong record
 *   admin side: save then load gives the same model; a second save writes nothing
 *   proxy side: a miss is one async fetch, then hits are synchronous and fast;
 *   cancel; coalescing; an invalidation (revoke + PUBLISH) reaches the cache;
 *   Redis stopped: cached entries until policy_max_staleness, then
 *   UNAVAILABLE; uncached at once UNAVAILABLE
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <netinet/in.h>
#include <signal.h>

#include "policy/redisstore.c"
#include "policy/redisstore_cache.c"
#include "policy/redisstore_model.c"
#include "tests/unit/testlib.h"

#define T_KEY "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"
#define T_KEY2 "ffeeddccbbaa99887766554433221100ffeeddccbbaa99887766554433221100"

static pid_t redis_pid = -1;
static char tmpdir[64];

static int
free_port(void)
{
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);
	int fd = socket(AF_INET, SOCK_STREAM, 0), port;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd == -1 || bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == -1 ||
	    getsockname(fd, (struct sockaddr *)&sin, &len) == -1)
		return -1;
	port = ntohs(sin.sin_port);
	close(fd);
	return port;
}

static int
have_redis_server(void)
{
	return system("command -v redis-server >/dev/null 2>&1") == 0;
}

/* Starts redis-server on PORT; waits until it answers PING (5 s). */
static int
redis_start(int port)
{
	char ports[16], log[128];
	redisContext *c;
	redisReply *r;
	int i, ok;

	snprintf(ports, sizeof(ports), "%d", port);
	snprintf(log, sizeof(log), "%s/redis.log", tmpdir);
	if ((redis_pid = fork()) == 0) {
		execlp("redis-server", "redis-server", "--port", ports, "--bind", "127.0.0.1",
		    "--save", "", "--appendonly", "no", "--dir", tmpdir, "--daemonize", "no",
		    "--logfile", log, (char *)NULL);
		_exit(127);
	}
	for (i = 0; i < 100; i++) {
		struct timeval tv = { 0, 200000 };

		c = redisConnectWithTimeout("127.0.0.1", port, tv);
		ok = 0;
		if (c != NULL && c->err == 0 && (r = redisCommand(c, "PING")) != NULL) {
			ok = r->type == REDIS_REPLY_STATUS;
			freeReplyObject(r);
		}
		if (c != NULL)
			redisFree(c);
		if (ok)
			return 0;
		usleep(50000);
	}
	return -1;
}

static void
redis_stop(void)
{
	if (redis_pid > 0) {
		kill(redis_pid, SIGKILL);
		waitpid(redis_pid, NULL, 0);
	}
	redis_pid = -1;
}

/* A blocking connection for looking at and poking Redis directly. */
static redisReply *
cmd(struct conf *cf, const char *fmt, const char *arg)
{
	struct rs_admin a;
	struct sbuf err = SBUF_INIT;
	redisReply *r = NULL;

	if (rs_admin_open(&a, cf, &err) == 0) {
		r = redisCommand(a.c, fmt, arg);
		rs_admin_close(&a);
	}
	sbuf_free(&err);
	return r;
}

/* ---- sealing ------------------------------------------------------------------ */

static void
test_seal(void)
{
	unsigned char k1[32], k2[32];
	struct sbuf s = SBUF_INIT;
	char *p, *bad;

	T_OK(redisstore_parse_key(T_KEY, k1) == 0 && redisstore_parse_key(T_KEY2, k2) == 0,
	    "seal: keys parse");
	T_OK(redisstore_parse_key("abc", k1) == -1 && redisstore_parse_key(NULL, k1) == -1,
	    "seal: a short key is refused");
	redisstore_parse_key(T_KEY, k1);
	redisstore_seal(k1, "{s3gate}:cred:AK\nsecret", "s3cr3t value", &s);
	T_OK(strncmp(s.data, "v1:", 3) == 0 && strstr(s.data, "s3cr3t") == NULL,
	    "seal: v1 format, no plaintext");
	p = redisstore_unseal(k1, "{s3gate}:cred:AK\nsecret", s.data);
	T_STREQ(p, "s3cr3t value", "seal: round trip");
	free(p);
	T_OK(redisstore_unseal(k2, "{s3gate}:cred:AK\nsecret", s.data) == NULL,
	    "seal: another key does not open it");
	T_OK(redisstore_unseal(k1, "{s3gate}:cred:OTHER\nsecret", s.data) == NULL,
	    "seal: moved to another record, it does not open");
	bad = sbuf_strdup(s.data);
	bad[3 + 24 + 1] = bad[3 + 24 + 1] == '0' ? '1' : '0';	/* first ciphertext digit */
	T_OK(redisstore_unseal(k1, "{s3gate}:cred:AK\nsecret", bad) == NULL,
	    "seal: a flipped ciphertext bit is detected");
	free(bad);
	bad = sbuf_strdup(s.data);
	bad[strlen(bad) - 1] = bad[strlen(bad) - 1] == '0' ? '1' : '0';
	T_OK(redisstore_unseal(k1, "{s3gate}:cred:AK\nsecret", bad) == NULL,
	    "seal: a changed tag is detected");
	free(bad);
	T_OK(redisstore_unseal(k1, "x", "plain") == NULL &&
	    redisstore_unseal(k1, "x", "v1:00:00:00") == NULL, "seal: malformed values refused");
	sbuf_reset(&s);
	redisstore_seal(k1, "a", "", &s);
	p = redisstore_unseal(k1, "a", s.data);
	T_STREQ(p, "", "seal: empty value round trip");
	free(p);
	sbuf_free(&s);
}

static void
test_url(void)
{
	struct sbuf e = SBUF_INIT;
	struct rs_addr a;

	T_OK(rs_addr_parse("redis://127.0.0.1:6380/3", &a, &e) == 0 &&
	    strcmp(a.host, "127.0.0.1") == 0 && a.port == 6380 && a.db == 3, "url: host:port/db");
	T_OK(rs_addr_parse("redis://:pw@h", &a, &e) == 0 && strcmp(a.password, "pw") == 0 &&
	    a.port == 6379 && strcmp(a.host, "h") == 0, "url: password, default port");
	T_OK(rs_addr_parse("redis://[::1]:7000", &a, &e) == 0 && strcmp(a.host, "::1") == 0 &&
	    a.port == 7000, "url: IPv6");
	T_OK(rs_addr_parse("unix:/run/redis.sock?db=2", &a, &e) == 0 &&
	    strcmp(a.path, "/run/redis.sock") == 0 && a.db == 2, "url: unix socket");
	T_OK(rs_addr_parse("redis://h:0", &a, &e) == -1 && rs_addr_parse("http://h", &a, &e) == -1,
	    "url: malformed refused");
	T_OK(rs_addr_parse("redis+sentinel://10.0.0.1,10.0.0.2:26380,[fd00::3]/mymaster/2", &a,
	    &e) == 0 && a.nsentinels == 3 && strcmp(a.sentinels[0].host, "10.0.0.1") == 0 &&
	    a.sentinels[0].port == 26379 && strcmp(a.sentinels[1].host, "10.0.0.2") == 0 &&
	    a.sentinels[1].port == 26380 && strcmp(a.sentinels[2].host, "fd00::3") == 0 &&
	    a.sentinels[2].port == 26379 && strcmp(a.master_name, "mymaster") == 0 && a.db == 2 &&
	    a.host[0] == '\0' && a.password[0] == '\0',
	    "url: sentinels (default port 26379, IPv6), the master's name, db");
	T_OK(rs_addr_parse("redis+sentinel://:pw@s1:1/m", &a, &e) == 0 && a.nsentinels == 1 &&
	    strcmp(a.password, "pw") == 0 && a.db == 0 && strcmp(a.master_name, "m") == 0,
	    "url: sentinel with the master's password, db 0 by default");
	T_OK(rs_addr_parse("redis+sentinel://s1", &a, &e) == -1 &&
	    rs_addr_parse("redis+sentinel://s1/", &a, &e) == -1 &&
	    rs_addr_parse("redis+sentinel:///m", &a, &e) == -1 &&
	    rs_addr_parse("redis+sentinel://s1,/m", &a, &e) == -1 &&
	    rs_addr_parse("redis+sentinel://s1:99999/m", &a, &e) == -1 &&
	    rs_addr_parse("redis+sentinel://s1/m/x", &a, &e) == -1 &&
	    rs_addr_parse("redis+sentinel://1,2,3,4,5,6,7,8,9/m", &a, &e) == -1,
	    "url: sentinel without a master name, an empty or bad address, a bad db, over 8: refused");
	sbuf_reset(&e);
	(void)rs_addr_parse("redis+sentinel://:secretpw@s1/", &a, &e);
	T_OK(e.data != NULL && strstr(e.data, "secretpw") == NULL && strstr(e.data, "***@s1") != NULL,
	    "url: a refused sentinel URL is shown without its password");
	sbuf_free(&e);
}

/* Replies built by hand: SENTINEL get-master-addr-by-name's and ROLE's. */
static void
test_sentinel_replies(void)
{
	redisReply host = { .type = REDIS_REPLY_STRING, .str = "10.0.0.7", .len = 8 };
	redisReply port = { .type = REDIS_REPLY_STRING, .str = "6380", .len = 4 };
	redisReply bad_port = { .type = REDIS_REPLY_STRING, .str = "6380x", .len = 5 };
	redisReply zero_port = { .type = REDIS_REPLY_STRING, .str = "0", .len = 1 };
	redisReply nil = { .type = REDIS_REPLY_NIL };
	redisReply master = { .type = REDIS_REPLY_STRING, .str = "master", .len = 6 };
	redisReply slave = { .type = REDIS_REPLY_STRING, .str = "slave", .len = 5 };
	redisReply *ok_el[] = { &host, &port }, *bad_el[] = { &host, &bad_port },
	    *zero_el[] = { &host, &zero_port }, *m_el[] = { &master }, *s_el[] = { &slave };
	redisReply ok = { .type = REDIS_REPLY_ARRAY, .elements = 2, .element = ok_el };
	redisReply bad = { .type = REDIS_REPLY_ARRAY, .elements = 2, .element = bad_el };
	redisReply zero = { .type = REDIS_REPLY_ARRAY, .elements = 2, .element = zero_el };
	redisReply one = { .type = REDIS_REPLY_ARRAY, .elements = 1, .element = ok_el };
	redisReply role_m = { .type = REDIS_REPLY_ARRAY, .elements = 1, .element = m_el };
	redisReply role_s = { .type = REDIS_REPLY_ARRAY, .elements = 1, .element = s_el };
	char h[256] = "unchanged";
	int p = 1;

	T_OK(rs_sentinel_reply_master(&ok, h, sizeof(h), &p) == 0 && strcmp(h, "10.0.0.7") == 0 &&
	    p == 6380, "sentinel: [host, port] names the master");
	strcpy(h, "unchanged");
	p = 1;
	T_OK(rs_sentinel_reply_master(&nil, h, sizeof(h), &p) == -1 &&
	    rs_sentinel_reply_master(&bad, h, sizeof(h), &p) == -1 &&
	    rs_sentinel_reply_master(&zero, h, sizeof(h), &p) == -1 &&
	    rs_sentinel_reply_master(&one, h, sizeof(h), &p) == -1 &&
	    rs_sentinel_reply_master(&host, h, sizeof(h), &p) == -1 &&
	    rs_sentinel_reply_master(NULL, h, sizeof(h), &p) == -1 &&
	    rs_sentinel_reply_master(&ok, h, 8, &p) == -1 &&
	    strcmp(h, "unchanged") == 0 && p == 1,
	    "sentinel: nil (no such master), a bad or zero port, a short array, a host too long: "
	    "no master, nothing written");
	T_OK(rs_role_is_master(&role_m) && !rs_role_is_master(&role_s) && !rs_role_is_master(&nil) &&
	    !rs_role_is_master(NULL) && !rs_role_is_master(&master),
	    "role: only [\"master\", ...] is the master");
}

/* The one-field form of a principal's quota overrides (cred:AKID quota). */
static void
test_quota_field(void)
{
	static const struct {
		const char	*in;
		int		 ok;
		unsigned	 set;
		uint32_t	 rate;
		uint64_t	 bandwidth;
		uint32_t	 connections;
	} cases[] = {
		{ "50 10485760 8", 1, 7, 50, 10485760, 8 },
		{ "50 - -", 1, POLICY_QUOTA_RATE, 50, 0, 0 },
		{ "- 0 -", 1, POLICY_QUOTA_BANDWIDTH, 0, 0, 0 },
		{ "- - 0", 1, POLICY_QUOTA_CONNECTIONS, 0, 0, 0 },
		{ "- - -", 1, 0, 0, 0, 0 },
		{ "10000000 9223372036854775807 1000000", 1, 7, 10000000, 9223372036854775807ULL,
		    1000000 },
		{ "10000001 - -", 0, 0, 0, 0, 0 },
		{ "- 9223372036854775808 -", 0, 0, 0, 0, 0 },
		{ "- 20M -", 0, 0, 0, 0, 0 },	/* bytes only, as written */
		{ "- - 1000001", 0, 0, 0, 0, 0 },
		{ "50 -", 0, 0, 0, 0, 0 },
		{ "50 - - -", 0, 0, 0, 0, 0 },
		{ "50  -", 0, 0, 0, 0, 0 },
		{ "-5 - -", 0, 0, 0, 0, 0 },
		{ "", 0, 0, 0, 0, 0 },
	};
	struct sbuf out = SBUF_INIT;
	struct policy_quota q;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int rc = rs_quota_parse(cases[i].in, &q);

		T_OK(cases[i].ok ? rc == 0 && q.set == cases[i].set &&
		    q.request_rate == cases[i].rate && q.bandwidth == cases[i].bandwidth &&
		    q.connections == cases[i].connections : rc == -1,
		    "quota field \"%s\" %s", cases[i].in, cases[i].ok ? "parses" : "refused");
		if (rc == 0) {
			rs_quota_format(&out, &q);
			T_STREQ(out.data, cases[i].in, "quota field \"%s\" written back the same",
			    cases[i].in);
		}
	}
	sbuf_free(&out);
}

/* ---- the model -------------------------------------------------------------------- */

static struct model *
make_model(time_t now)
{
	struct model *m = model_new();
	struct model_workspace *w;
	struct policy_credential c;
	struct sbuf e = SBUF_INIT;

	w = model_add_workspace(m, "ws-frank", "frank", NULL, 0);
	w->created_at = now - 1000;
	w->quota.set = POLICY_QUOTA_RATE | POLICY_QUOTA_BANDWIDTH;
	w->quota.request_rate = 50;
	w->quota.bandwidth = 10485760;
	model_workspace_add_member(m, w, "alice");
	model_add_workspace(m, "ws-bob", "bob", NULL, 0);
	model_add_workspace(m, "ws-carol", "carol", NULL, 0);
	model_add_bucket(m, "ws-frank", "ws-frank", 0, NULL, 0);
	model_add_bucket(m, "ws-frank-stagein", "ws-frank", 1, NULL, 0);
	model_add_bucket(m, "ws-bob", "ws-bob", 0, NULL, 0);
	model_add_bucket(m, "ws-carol", "ws-carol", 1, NULL, 0);
	model_add_grant(m, "ws-frank-stagein", "bob", PERM_READWRITE, "in/ with space", now - 10,
	    now + 3600, NULL, 0);
	model_add_grant(m, "ws-carol", "bob", PERM_READONLY, "", now - 5, 0, NULL, 0);
	model_add_request(m, "ws-frank", "carol", "ws-carol", "need the data", now - 20, NULL, 0);
	/* a bucket a sync dropped (ws-old's): kept beside the model, no bucket:* key */
	model_add_retired(m, "ws-old-data", "ws-old", "olga", now - 30);
	memset(&c, 0, sizeof(c));
	c.access_key_id = "SGFRANK";
	c.secret = "frank-secret-0123456789";
	c.principal = "frank";
	model_add_credential(m, &c);
	c.access_key_id = "SGBOBSESSION";
	c.secret = "bob-secret";
	c.principal = "bob";
	c.session_token = "tok-123";
	c.expires_at = now + 600;
	model_add_credential(m, &c);
	/* a presigned link: a credential scoped to one object */
	memset(&c, 0, sizeof(c));
	c.access_key_id = "SGLFRANKLINK00000000";
	c.secret = "link-secret-0123456789";
	c.principal = "frank";
	c.expires_at = now + 3600;
	c.link_bucket = "ws-frank";
	c.link_key = "data/model v2.bin";
	c.link_method = "GET";
	c.link_max_bytes = 5368709120ULL;
	c.link_max_uses = 2;
	model_add_credential(m, &c);
	if (model_index(m, &e) == -1)
		printf("# model_index: %s\n", e.data);
	sbuf_free(&e);
	return m;
}

static int
kvs_equal(const struct model *a, const struct model *b)
{
	struct rs_kvs x = { NULL, 0, 0 }, y = { NULL, 0, 0 };
	size_t i;
	int eq;

	rs_model_kvs(a, &x);
	rs_model_kvs(b, &y);
	eq = x.n == y.n;
	for (i = 0; eq && i < x.n; i++)
		if (rs_kv_cmp(&x.v[i], &y.v[i]) != 0 || strcmp(x.v[i].value, y.v[i].value) != 0) {
			printf("# differs: %s %s: %s | %s %s: %s\n", x.v[i].key, x.v[i].field,
			    x.v[i].value, y.v[i].key, y.v[i].field, y.v[i].value);
			eq = 0;
		}
	rs_kvs_free(&x);
	rs_kvs_free(&y);
	return eq;
}

static long long
version(struct conf *cf)
{
	redisReply *r = cmd(cf, "GET %s", REDISSTORE_PREFIX "version");
	long long v = -1;

	if (r != NULL) {
		v = r->type == REDIS_REPLY_STRING ? atoll(r->str) : 0;
		freeReplyObject(r);
	}
	return v;
}

static void
test_admin(struct conf *cf, time_t now)
{
	struct sbuf e = SBUF_INIT;
	struct model *m = make_model(now), *got = NULL;
	const struct policy_credential *c;
	const struct model_grant *g;
	redisReply *r;
	long long v1;

	T_OK(redisstore_model_save(cf, NULL, m, NULL, &e) == 0, "admin: save %s", e.data ? e.data : "");
	T_OK(redisstore_model_load(cf, &got, &e) == 0 && got != NULL, "admin: load %s",
	    e.data ? e.data : "");
	if (got == NULL)
		goto out;
	T_OK(kvs_equal(m, got), "admin: load gives the model saved");
	T_OK(got->nworkspaces == 3 && got->nbuckets == 4 && got->ngrants == 2 &&
	    got->nrequests == 1 && got->ncredentials == 3, "admin: every record back");
	c = model_credential(got, "SGLFRANKLINK00000000");
	T_OK(c != NULL && strcmp(c->secret, "link-secret-0123456789") == 0 && c->link_method &&
	    strcmp(c->link_method, "GET") == 0 && c->link_bucket &&
	    strcmp(c->link_bucket, "ws-frank") == 0 && c->link_key &&
	    strcmp(c->link_key, "data/model v2.bin") == 0 && c->link_max_bytes == 5368709120ULL &&
	    c->link_max_uses == 2 && c->expires_at == now + 3600,
	    "admin: a link credential with its scope round-trips");
	c = model_credential(got, "SGFRANK");
	T_OK(c != NULL && c->link_method == NULL && c->link_bucket == NULL && c->link_key == NULL &&
	    c->link_max_bytes == 0 && c->link_max_uses == 0,
	    "admin: an ordinary credential has no link scope");
	r = cmd(cf, "HGET %s link_key", REDISSTORE_PREFIX "cred:SGLFRANKLINK00000000");
	T_OK(r != NULL && r->type == REDIS_REPLY_STRING && strcmp(r->str, "data/model v2.bin") == 0,
	    "admin: link fields are cred hash fields");
	if (r)
		freeReplyObject(r);
	c = model_credential(got, "SGBOBSESSION");
	T_OK(c != NULL && strcmp(c->secret, "bob-secret") == 0 && c->session_token != NULL &&
	    strcmp(c->session_token, "tok-123") == 0 && c->expires_at == now + 600,
	    "admin: session credential with secret and token");
	g = model_grant_find(got, "ws-frank-stagein", "bob");
	T_OK(g != NULL && g->perm == PERM_READWRITE && strcmp(g->prefix, "in/ with space") == 0 &&
	    g->expires_at == now + 3600 && g->granted_at == now - 10,
	    "admin: grant with prefix and expiry");
	T_OK(model_workspace_find(got, "ws-frank")->nmembers == 1,
	    "admin: members");
	{
		const struct model_retired *rt = model_retired_find(got, "ws-old-data");

		T_OK(got->nretired == 1 && rt != NULL && strcmp(rt->workspace, "ws-old") == 0 &&
		    strcmp(rt->principal, "olga") == 0 && rt->retired_at == now - 30 &&
		    model_bucket_find(got, "ws-old-data") == NULL,
		    "admin: a retired bucket's record round-trips, and is no bucket");
	}
	r = cmd(cf, "HGET %s ws-old-data", REDISSTORE_PREFIX "retired");
	T_OK(r != NULL && r->type == REDIS_REPLY_STRING && strstr(r->str, "\"ws-old\"") != NULL,
	    "admin: retired records are fields of " REDISSTORE_PREFIX "retired");
	if (r)
		freeReplyObject(r);
	r = cmd(cf, "EXISTS %s", REDISSTORE_PREFIX "bucket:ws-old-data");
	T_OK(r != NULL && r->type == REDIS_REPLY_INTEGER && r->integer == 0,
	    "admin: the proxy finds no bucket:ws-old-data");
	if (r)
		freeReplyObject(r);
	{
		const struct policy_quota *q = model_quota(got, "frank");

		T_OK(q != NULL && q->set == (POLICY_QUOTA_RATE | POLICY_QUOTA_BANDWIDTH) &&
		    q->request_rate == 50 && q->bandwidth == 10485760 && model_quota(got, "bob") == NULL,
		    "admin: frank's quota overrides round-trip on his workspace");
	}
	r = cmd(cf, "HGET %s quota", REDISSTORE_PREFIX "cred:SGLFRANKLINK00000000");
	T_OK(r != NULL && r->type == REDIS_REPLY_STRING && strcmp(r->str, "50 10485760 -") == 0,
	    "admin: every credential of frank (his link too) has the quota field");
	if (r)
		freeReplyObject(r);
	r = cmd(cf, "HGET %s quota", REDISSTORE_PREFIX "cred:SGBOBSESSION");
	T_OK(r != NULL && r->type == REDIS_REPLY_NIL, "admin: bob's credential has none");
	if (r)
		freeReplyObject(r);
	T_STREQ(got->workspaces[0].source, cf->store_path, "admin: records' source is the URL");
	r = cmd(cf, "HGET %s secret", REDISSTORE_PREFIX "cred:SGFRANK");
	T_OK(r != NULL && r->type == REDIS_REPLY_STRING && strncmp(r->str, "v1:", 3) == 0 &&
	    strstr(r->str, "frank-secret") == NULL, "admin: secret sealed at rest");
	if (r)
		freeReplyObject(r);
	v1 = version(cf);
	T_OK(redisstore_model_save(cf, got, got, NULL, &e) == 0 && version(cf) == v1,
	    "admin: saving the same model writes nothing");
	r = cmd(cf, "HSET " REDISSTORE_PREFIX "bucket:ws-frank p:%s junk", "mallory");
	if (r)
		freeReplyObject(r);
	T_OK(redisstore_model_save(cf, NULL, got, NULL, &e) == 0 && version(cf) == v1 + 1,
	    "admin: a stray field is repaired");
	r = cmd(cf, "HGET " REDISSTORE_PREFIX "bucket:ws-frank p:%s", "mallory");
	T_OK(r != NULL && r->type == REDIS_REPLY_NIL, "admin: the stray field is gone");
	if (r)
		freeReplyObject(r);
	{
		struct conf other = *cf;
		struct model *x = NULL;

		other.store_secret_key = T_KEY2;
		sbuf_reset(&e);
		T_OK(redisstore_model_load(&other, &x, &e) == -1 && x == NULL &&
		    strstr(e.data, "policy_secret_key") != NULL,
		    "admin: load with another key fails clearly");
		other.store_secret_key = NULL;
		sbuf_reset(&e);
		T_OK(redisstore_model_load(&other, &x, &e) == -1 &&
		    strstr(e.data, "policy_secret_key") != NULL, "admin: no key, no load");
	}
	{
		/* a grant prefix longer than the proxy's policy_access holds: refused, not cut */
		char prefix[1025], json[1200];
		struct model *x = NULL;

		memset(prefix, 'p', 1024);
		prefix[1024] = '\0';
		snprintf(json, sizeof(json), "{\"perm\":\"ReadOnly\",\"prefix\":\"%s\","
		    "\"granted_at\":0,\"expires_at\":0}", prefix);
		r = cmd(cf, "HSET " REDISSTORE_PREFIX "grants ws-frank/zed %s", json);
		if (r)
			freeReplyObject(r);
		sbuf_reset(&e);
		T_OK(redisstore_model_load(cf, &x, &e) == -1 && x == NULL && e.data != NULL &&
		    strstr(e.data, "prefix is 1024 bytes") != NULL,
		    "admin: a grant prefix of 1024 bytes is refused at load: %s", e.data ? e.data : "");
		model_free(x);
		r = cmd(cf, "HDEL " REDISSTORE_PREFIX "grants %s", "ws-frank/zed");
		if (r)
			freeReplyObject(r);
	}
	{
		struct redisstore_lock *l1, *l2;

		sbuf_reset(&e);
		l1 = redisstore_lock(cf, &e);
		T_OK(l1 != NULL, "admin: lock taken");
		redisstore_unlock(l1);
		l2 = redisstore_lock(cf, &e);
		T_OK(l2 != NULL, "admin: lock released and taken again");
		redisstore_unlock(l2);
	}
	{
		/*
		 * A command whose lock went (held past its 60 s: here deleted, as
		 * the expiry would) while another took it and granted: saving the
		 * model loaded before would undo that grant.  Nothing is written.
		 */
		struct redisstore_lock *l1, *l2;
		struct model *stale = NULL, *other = NULL;
		const struct model_grant *zg;

		sbuf_reset(&e);
		l1 = redisstore_lock(cf, &e);
		T_OK(l1 != NULL && redisstore_model_load(cf, &stale, &e) == 0,
		    "admin: command 1 locks and loads");
		r = cmd(cf, "DEL %s", REDISSTORE_PREFIX "lock");
		if (r)
			freeReplyObject(r);
		l2 = redisstore_lock(cf, &e);
		T_OK(l2 != NULL && redisstore_model_load(cf, &other, &e) == 0 &&
		    model_add_grant(other, "ws-frank", "zoe", PERM_READONLY, "", now, 0,
		    cf->store_path, 0) != NULL &&
		    model_index(other, &e) == 0 &&
		    redisstore_model_save(cf, NULL, other, l2, &e) == 0,
		    "admin: command 2 takes the lapsed lock and grants ws-frank to zoe: %s",
		    e.data ? e.data : "");
		redisstore_unlock(l2);
		sbuf_reset(&e);
		T_OK(stale != NULL && redisstore_model_save(cf, NULL, stale, l1, &e) == -1 &&
		    e.data != NULL && strstr(e.data, "lock was lost") != NULL,
		    "admin: command 1's save, its lock lost, is refused: %s", e.data ? e.data : "");
		redisstore_unlock(l1);
		model_free(other);
		other = NULL;
		T_OK(redisstore_model_load(cf, &other, &e) == 0 &&
		    (zg = model_grant_find(other, "ws-frank", "zoe")) != NULL,
		    "admin: zoe's grant stands");
		/* back as it was, for what follows */
		if (other != NULL && model_remove_grant(other, "ws-frank", "zoe") == 0 &&
		    model_index(other, &e) == 0)
			(void)redisstore_model_save(cf, NULL, other, NULL, &e);
		model_free(stale);
		model_free(other);
	}
out:
	model_free(m);
	model_free(got);
	sbuf_free(&e);
}

/* ---- the proxy side ------------------------------------------------------------------- */

struct t_wait {
	int	 called;
};

static void
t_cb(void *arg)
{
	((struct t_wait *)arg)->called++;
}

static void
t_run(struct event_base *base, int *flag, int ms)
{
	long long end = rs_now_ms() + ms;

	while ((flag == NULL || !*flag) && rs_now_ms() < end)
		event_base_loop(base, EVLOOP_ONCE);
}

/*
 * Access key ids an outsider sends (no credential needed: the lookup comes
 * before the signature can be checked).  Each of the 64 keys made of one
 * block of each pair below leaves FNV-1a (the offset basis, unkeyed) in
 * states equal in their low 45 bits (t_bypass14.sh, helpers/exhaust.py):
 * an unkeyed FNV table put them all in one chain, every lookup walking it.
 * Unknown keys are remembered for a second (RS_NEGATIVE_TTL_MS), not for
 * the TTL: each costs ~400 bytes, and an outsider makes ~20 000 a second.
 */
static void
test_proxy_flood(struct event_base *base, struct pstore *ps, struct redisstore *rs)
{
	static const char *const pairs[][2] = {
		{ "F1TONU", "6AFX91" }, { "WSFZ95", "GCPINQ" }, { "QMOCI0", "3JEZVO" },
		{ "IFASEL", "7Y7AJ8" }, { "JSFW8T", "ZCTFQ0" }, { "2TLJSK", "TOH5T4" },
	};
	struct policy_credential c[64], bob;
	struct t_wait w[64], wb = { 0 };
	char akid[64][40];
	size_t before = rs->count, longest = 0, len, i;
	int k, b, all;
	struct rs_entry *e;

	memset(c, 0, sizeof(c));
	memset(w, 0, sizeof(w));
	for (k = 0; k < 64; k++) {
		akid[k][0] = '\0';
		for (b = 0; b < 6; b++)
			strcat(akid[k], pairs[b][(k >> b) & 1]);
		if (pstore_credential(ps, akid[k], &c[k], t_cb, &w[k]) != PSTORE_PENDING)
			w[k].called = 1;
	}
	for (long long end = rs_now_ms() + 3000; rs_now_ms() < end; ) {
		for (all = 1, k = 0; k < 64; k++)
			all &= w[k].called > 0;
		if (all)
			break;
		t_run(base, NULL, 20);
	}
	for (all = 1, k = 0; k < 64; k++) {
		all &= w[k].called == 1 && c[k].principal == NULL;
		policy_credential_clear(&c[k]);
	}
	T_OK(all && rs->count == before + 64, "proxy: 64 unknown keys: denied, 64 entries cached");
	for (i = 0; i < rs->nbuckets; i++) {
		for (len = 0, e = rs->table[i]; e != NULL; e = e->next)
			len++;
		if (len > longest)
			longest = len;
	}
	T_OK(longest <= 8, "proxy: 64 keys that collide under unkeyed FNV-1a: longest chain %zu "
	    "(%zu buckets)", longest, rs->nbuckets);
	rs_sweep(rs, rs_now_ms() + rs->neg_ttl_ms + 1001);
	for (len = 0, i = 0; i < rs->nbuckets; i++)
		for (e = rs->table[i]; e != NULL; e = e->next)
			len += e->alen == 36 && (strncmp(e->key, pairs[0][0], 6) == 0 ||
			    strncmp(e->key, pairs[0][1], 6) == 0);
	memset(&bob, 0, sizeof(bob));
	T_OK(len == 0 && pstore_credential(ps, "SGBOBSESSION", &bob, t_cb, &wb) == PSTORE_DONE &&
	    bob.principal != NULL, "proxy: unknown keys dropped %lld ms after their answer (%zu of "
	    "64 left), a known key still a hit", rs->neg_ttl_ms + 1001, len);
	policy_credential_clear(&bob);
}

static int
t_ready(struct event_base *base, struct redisstore *rs, int want, int ms)
{
	long long end = rs_now_ms() + ms;

	while (redisstore_ready(rs) != want && rs_now_ms() < end)
		event_base_loop(base, EVLOOP_ONCE);
	return redisstore_ready(rs) == want;
}

/* An access lookup, waiting for the store if it must. */
static enum pstore_result
t_access(struct event_base *base, struct pstore *ps, const char *p, const char *b,
    struct policy_access *out, int *pending)
{
	struct t_wait w = { 0 };
	enum pstore_result r;

	memset(out, 0, sizeof(*out));
	r = pstore_access(ps, p, b, time(NULL), out, t_cb, &w);
	if (pending)
		*pending = r == PSTORE_PENDING;
	if (r == PSTORE_PENDING) {
		t_run(base, &w.called, 3000);
		return w.called == 1 ? PSTORE_DONE : PSTORE_UNAVAILABLE;
	}
	return r;
}

static void
test_proxy(struct conf *cf, time_t now)
{
	struct event_base *base = event_base_new();
	struct sbuf e = SBUF_INIT;
	struct pstore *ps;
	struct redisstore *rs;
	struct policy_access a;
	struct policy_credential c;
	struct pstore_bucket_list list;
	struct t_wait w1 = { 0 }, w2 = { 0 }, w3 = { 0 };
	struct model *m = NULL;
	struct timespec t0, t1;
	enum pstore_result r;
	int pending, i, n;
	double ns;

	if ((ps = pstore_open(cf, base, &e)) == NULL) {
		T_OK(0, "proxy: open: %s", e.data);
		goto out;
	}
	rs = *(struct redisstore **)((char *)ps + sizeof(void *));	/* struct pstore { ops; impl } */
	T_OK(t_ready(base, rs, 1, 3000), "proxy: connected and subscribed");
	T_OK(pstore_ready(ps) == 1, "proxy: pstore_ready");

	/* a miss, then a hit */
	r = t_access(base, ps, "bob", "ws-frank-stagein", &a, &pending);
	T_OK(r == PSTORE_DONE && pending, "proxy: a miss is answered through the callback");
	T_OK(a.bucket_exists && a.discoverable && a.via == VIA_GRANT && a.perm == PERM_READWRITE &&
	    strcmp(a.prefix, "in/ with space") == 0 && a.expires_at == now + 3600,
	    "proxy: the callback filled OUT (grant ReadWrite, prefix, expiry)");
	memset(&a, 0, sizeof(a));
	r = pstore_access(ps, "bob", "ws-frank-stagein", time(NULL), &a, t_cb, &w1);
	T_OK(r == PSTORE_DONE && a.via == VIA_GRANT && w1.called == 0,
	    "proxy: then a hit answers synchronously");
	n = 1000000;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (i = 0; i < n; i++)
		(void)pstore_access(ps, "bob", "ws-frank-stagein", now, &a, t_cb, &w1);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ns = ((t1.tv_sec - t0.tv_sec) * 1e9 + (t1.tv_nsec - t0.tv_nsec)) / n;
	T_OK(ns < 1000, "proxy: a hit costs %.0f ns (< 1 us)", ns);
	printf("# access hit: %.0f ns\n", ns);

	r = t_access(base, ps, "frank", "ws-frank", &a, NULL);
	T_OK(r == PSTORE_DONE && a.via == VIA_OWNER && a.perm == PERM_FULL, "proxy: owner");
	r = t_access(base, ps, "alice", "ws-frank-stagein", &a, NULL);
	T_OK(r == PSTORE_DONE && a.via == VIA_MEMBER, "proxy: member");
	r = t_access(base, ps, "eve", "ws-frank", &a, NULL);
	T_OK(r == PSTORE_DONE && a.bucket_exists && a.via == VIA_NONE && !a.discoverable,
	    "proxy: no access to an existing bucket");
	r = t_access(base, ps, "eve", "no-such-bucket", &a, NULL);
	T_OK(r == PSTORE_DONE && !a.bucket_exists, "proxy: unknown bucket");
	{
		/* a p: field whose prefix would not fit policy_access.prefix: denied, not cut */
		char val[1200];
		redisReply *rr;

		snprintf(val, sizeof(val), "grant ReadWrite 0 ");
		memset(val + strlen(val), 'p', 1100);
		val[18 + 1100] = '\0';
		rr = cmd(cf, "HSET " REDISSTORE_PREFIX "bucket:ws-frank p:zed %s", val);
		if (rr)
			freeReplyObject(rr);
		r = t_access(base, ps, "zed", "ws-frank", &a, NULL);
		T_OK(r == PSTORE_DONE && a.via == VIA_NONE && a.perm == PERM_NONE &&
		    a.prefix[0] == '\0', "proxy: a stored prefix too long to hold is no access, not a "
		    "cut (wider) grant");
		rr = cmd(cf, "HDEL " REDISSTORE_PREFIX "bucket:ws-frank %s", "p:zed");
		if (rr)
			freeReplyObject(rr);
	}

	/* credentials */
	memset(&c, 0, sizeof(c));
	r = pstore_credential(ps, "SGBOBSESSION", &c, t_cb, &w2);
	T_OK(r == PSTORE_PENDING, "proxy: credential miss pending");
	t_run(base, &w2.called, 3000);
	T_OK(w2.called == 1 && c.principal != NULL && strcmp(c.principal, "bob") == 0 &&
	    strcmp(c.secret, "bob-secret") == 0 && strcmp(c.session_token, "tok-123") == 0 &&
	    c.expires_at == now + 600 && strcmp(c.access_key_id, "SGBOBSESSION") == 0,
	    "proxy: credential unsealed into OUT");
	policy_credential_clear(&c);
	r = pstore_credential(ps, "SGBOBSESSION", &c, t_cb, &w2);
	T_OK(r == PSTORE_DONE && c.principal != NULL && c.link_method == NULL,
	    "proxy: credential hit");
	policy_credential_clear(&c);
	test_proxy_flood(base, ps, rs);
	w2.called = 0;
	r = pstore_credential(ps, "SGLFRANKLINK00000000", &c, t_cb, &w2);
	if (r == PSTORE_PENDING) {
		t_run(base, &w2.called, 3000);	/* the callback filled C */
		r = w2.called == 1 ? PSTORE_DONE : PSTORE_PENDING;
	}
	T_OK(r == PSTORE_DONE && c.principal && strcmp(c.principal, "frank") == 0 &&
	    c.link_method && strcmp(c.link_method, "GET") == 0 && c.link_bucket &&
	    strcmp(c.link_bucket, "ws-frank") == 0 && c.link_key &&
	    strcmp(c.link_key, "data/model v2.bin") == 0 && c.link_max_bytes == 5368709120ULL &&
	    c.link_max_uses == 2 && c.expires_at == now + 3600,
	    "proxy: a link credential comes with its scope");
	policy_credential_clear(&c);
	r = pstore_credential(ps, "SGLFRANKLINK00000000", &c, t_cb, &w2);
	T_OK(r == PSTORE_DONE && c.link_key && strcmp(c.link_key, "data/model v2.bin") == 0,
	    "proxy: a link credential hit keeps its scope");
	policy_credential_clear(&c);
	w2.called = 0;
	r = pstore_credential(ps, "SGNOSUCHKEY", &c, t_cb, &w2);
	t_run(base, &w2.called, 3000);
	T_OK(r == PSTORE_PENDING && w2.called == 1 && c.principal == NULL,
	    "proxy: unknown access key: not found");
	r = pstore_credential(ps, "SGNOSUCHKEY", &c, t_cb, &w2);
	T_OK(r == PSTORE_DONE && c.principal == NULL, "proxy: unknown access key cached (negative)");

	/* lists */
	memset(&list, 0, sizeof(list));
	w3.called = 0;
	r = pstore_list_buckets(ps, "bob", time(NULL), &list, t_cb, &w3);
	if (r == PSTORE_PENDING)
		t_run(base, &w3.called, 3000);
	T_OK(list.count == 3 && strcmp(list.items[0].bucket, "ws-bob") == 0 &&
	    strcmp(list.items[1].bucket, "ws-carol") == 0 &&
	    strcmp(list.items[2].bucket, "ws-frank-stagein") == 0 &&
	    list.items[2].via == VIA_GRANT && strcmp(list.items[2].workspace, "ws-frank") == 0 &&
	    list.items[2].created_at == now - 10, "proxy: ListBuckets: own and granted, sorted");
	pstore_bucket_list_free(&list);
	r = pstore_list_buckets(ps, "bob", now + 7200, &list, t_cb, &w3);
	T_OK(r == PSTORE_DONE && list.count == 2, "proxy: an expired grant is not listed");
	pstore_bucket_list_free(&list);

	/* cancel and coalescing */
	w1.called = w2.called = 0;
	r = pstore_access(ps, "carol", "ws-frank", time(NULL), &a, t_cb, &w1);
	T_OK(r == PSTORE_PENDING, "proxy: miss for carol");
	pstore_cancel(ps, &w1);
	{
		struct policy_access a2, a3;
		struct t_wait wa = { 0 }, wb = { 0 };
		int nf = 0;
		struct rs_fetch *f;

		r = pstore_access(ps, "carol", "ws-carol", time(NULL), &a2, t_cb, &wa);
		(void)pstore_access(ps, "carol", "ws-carol", time(NULL), &a3, t_cb, &wb);
		TAILQ_FOREACH(f, &rs->fetches, entry)
			nf++;
		T_OK(r == PSTORE_PENDING && nf == 2, "proxy: two misses on one key share a fetch");
		t_run(base, &wb.called, 3000);
		T_OK(wa.called == 1 && wb.called == 1 && a2.via == VIA_OWNER && a3.via == VIA_OWNER,
		    "proxy: both waiters answered");
	}
	t_run(base, NULL, 200);
	T_OK(w1.called == 0, "proxy: a cancelled waiter is never called back");

	/* invalidation: revoke bob's grant; the save PUBLISHes */
	if (redisstore_model_load(cf, &m, &e) == 0) {
		long long t_rev;

		model_remove_grant(m, "ws-frank-stagein", "bob");
		model_index(m, &e);
		T_OK(redisstore_model_save(cf, NULL, m, NULL, &e) == 0, "proxy: revoke saved");
		t_rev = rs_now_ms();
		do {
			t_run(base, NULL, 20);
			r = t_access(base, ps, "bob", "ws-frank-stagein", &a, NULL);
		} while (r == PSTORE_DONE && a.via == VIA_GRANT && rs_now_ms() - t_rev < 2000);
		T_OK(r == PSTORE_DONE && a.via == VIA_NONE && rs_now_ms() - t_rev < 1000,
		    "proxy: revocation seen within %lld ms (cache TTL is 30 s)",
		    rs_now_ms() - t_rev);
		r = pstore_list_buckets(ps, "bob", time(NULL), &list, t_cb, &w3);
		T_OK(r == PSTORE_PENDING, "proxy: bob's bucket list was dropped too");
		t_run(base, NULL, 100);
		pstore_bucket_list_free(&list);
	}
	{
		redisReply *rr = cmd(cf, "PUBLISH " REDISSTORE_CHANNEL " %s", "all");

		if (rr)
			freeReplyObject(rr);
		t_run(base, NULL, 300);
		T_OK(rs->count == 0, "proxy: \"all\" drops every entry");
	}

	/* quota overrides come with the credential; a change reaches the cache at once */
	{
		struct model *qm = NULL;
		struct t_wait wq = { 0 };
		long long t_set;

		r = pstore_credential(ps, "SGFRANK", &c, t_cb, &wq);
		if (r == PSTORE_PENDING) {
			t_run(base, &wq.called, 3000);
			r = wq.called == 1 ? PSTORE_DONE : PSTORE_UNAVAILABLE;
		}
		T_OK(r == PSTORE_DONE && c.principal != NULL && c.quota.set ==
		    (POLICY_QUOTA_RATE | POLICY_QUOTA_BANDWIDTH) && c.quota.request_rate == 50 &&
		    c.quota.bandwidth == 10485760, "proxy: frank's credential carries his quotas");
		policy_credential_clear(&c);
		r = pstore_credential(ps, "SGFRANK", &c, t_cb, &wq);
		T_OK(r == PSTORE_DONE && c.quota.request_rate == 50, "proxy: and a hit keeps them");
		policy_credential_clear(&c);
		if (redisstore_model_load(cf, &qm, &e) == 0) {
			struct model_workspace *qw = model_workspace_find(qm, "ws-frank");

			qw->quota.request_rate = 5;
			qw->quota.set |= POLICY_QUOTA_CONNECTIONS;
			qw->quota.connections = 2;
			model_index(qm, &e);
			T_OK(redisstore_model_save(cf, NULL, qm, NULL, &e) == 0, "proxy: quota change saved");
			t_set = rs_now_ms();
			do {
				t_run(base, NULL, 20);
				wq.called = 0;
				r = pstore_credential(ps, "SGFRANK", &c, t_cb, &wq);
				if (r == PSTORE_PENDING) {
					t_run(base, &wq.called, 3000);
					r = wq.called == 1 ? PSTORE_DONE : PSTORE_UNAVAILABLE;
				}
				if (c.quota.request_rate == 5)
					break;
				policy_credential_clear(&c);
			} while (rs_now_ms() - t_set < 2000);
			T_OK(r == PSTORE_DONE && c.quota.request_rate == 5 && c.quota.connections == 2 &&
			    c.quota.bandwidth == 10485760 && rs_now_ms() - t_set < 1000,
			    "proxy: a quota change seen within %lld ms (cache TTL is 30 s)",
			    rs_now_ms() - t_set);
			policy_credential_clear(&c);
		}
		/* a quota field that does not parse: the credential is refused, never unlimited */
		{
			redisReply *rr = cmd(cf, "HSET " REDISSTORE_PREFIX "cred:SGFRANK quota %s",
			    "lots");

			if (rr)
				freeReplyObject(rr);
			rr = cmd(cf, "PUBLISH " REDISSTORE_CHANNEL " %s", "cred SGFRANK");
			if (rr)
				freeReplyObject(rr);
			t_run(base, NULL, 200);
			wq.called = 0;
			r = pstore_credential(ps, "SGFRANK", &c, t_cb, &wq);
			if (r == PSTORE_PENDING)
				t_run(base, &wq.called, 3000);
			T_OK(c.principal == NULL, "proxy: a malformed quota field: credential refused");
			policy_credential_clear(&c);
			if (qm != NULL)
				T_OK(redisstore_model_save(cf, NULL, qm, NULL, &e) == 0,
				    "proxy: the next save repairs it");
		}
		model_free(qm);
	}

	/*
	 * A write to the model hashes alone, which no proxy reads (bucket
	 * release: a retired record goes), publishes nothing: every cache
	 * stays.  A marker published after it says when the write's messages,
	 * had there been any, were read.  A stray key's change still drops
	 * everything (a newer writer's key, which newer proxies may read).
	 */
	{
		struct model *rm = NULL;
		redisReply *rr;
		unsigned long long inv;
		size_t cached;
		long long t_pub;

		r = t_access(base, ps, "alice", "ws-frank-stagein", &a, NULL);
		cached = rs->count;
		inv = rs->stats.invalidations;
		if (redisstore_model_load(cf, &rm, &e) == 0 &&
		    model_remove_retired(rm, "ws-old-data") == 0 && model_index(rm, &e) == 0)
			T_OK(redisstore_model_save(cf, NULL, rm, NULL, &e) == 0,
			    "proxy: bucket release saved");
		else
			T_OK(0, "proxy: the model with a retired record loads: %s", e.data);
		rr = cmd(cf, "HEXISTS " REDISSTORE_PREFIX "retired %s", "ws-old-data");
		T_OK(rr != NULL && rr->type == REDIS_REPLY_INTEGER && rr->integer == 0,
		    "proxy: the release removed the record from " REDISSTORE_PREFIX "retired");
		if (rr)
			freeReplyObject(rr);
		if ((rr = cmd(cf, "PUBLISH " REDISSTORE_CHANNEL " %s", "cred SGZZMARKER")) != NULL)
			freeReplyObject(rr);
		t_pub = rs_now_ms();
		while (rs->stats.invalidations == inv && rs_now_ms() - t_pub < 3000)
			t_run(base, NULL, 20);
		T_OK(r == PSTORE_DONE && cached > 0 && rs->stats.invalidations == inv + 1 &&
		    rs->count == cached, "proxy: a release (only " REDISSTORE_PREFIX "retired "
		    "changed) publishes nothing: the cache keeps its %zu entries (%zu; %llu "
		    "messages, the marker's the only one)", cached, rs->count,
		    rs->stats.invalidations - inv);

		inv = rs->stats.invalidations;
		if ((rr = cmd(cf, "HSET " REDISSTORE_PREFIX "zz-newer f %s", "v")) != NULL)
			freeReplyObject(rr);
		if (rm != NULL)
			T_OK(redisstore_model_save(cf, NULL, rm, NULL, &e) == 0,
			    "proxy: a save deleting a stray key");
		t_pub = rs_now_ms();
		while (rs->stats.invalidations == inv && rs_now_ms() - t_pub < 3000)
			t_run(base, NULL, 20);
		T_OK(rs->stats.invalidations > inv && rs->count == 0,
		    "proxy: a stray key's change still drops the whole cache (%zu entries left)",
		    rs->count);
		model_free(rm);
	}

	/*
	 * FLUSHALL publishes nothing: the heartbeat's look at {s3gate}:version,
	 * which went back, drops the cache (it served the member for the TTL)
	 */
	{
		struct model *fm;
		redisReply *rr;

		t_run(base, NULL, 1200);	/* a heartbeat has read the version */
		r = t_access(base, ps, "alice", "ws-frank-stagein", &a, NULL);
		T_OK(r == PSTORE_DONE && a.via == VIA_MEMBER, "proxy: alice cached before a FLUSHALL");
		if ((rr = cmd(cf, "FLUSHALL", NULL)) != NULL)
			freeReplyObject(rr);
		t_run(base, NULL, 1300);
		r = t_access(base, ps, "alice", "ws-frank-stagein", &a, NULL);
		T_OK(r == PSTORE_DONE && !a.bucket_exists && a.via == VIA_NONE,
		    "proxy: Redis flushed: the cached member entry is gone within 1.3 s");
		fm = make_model(now);
		T_OK(redisstore_model_save(cf, NULL, fm, NULL, &e) == 0, "proxy: the policy saved again");
		model_free(fm);
		t_run(base, NULL, 300);
		r = t_access(base, ps, "alice", "ws-frank-stagein", &a, NULL);
		T_OK(r == PSTORE_DONE && a.via == VIA_MEMBER, "proxy: after the flush, alice again");
	}

	/* Redis hung (SIGSTOP): the command timeout answers, fail closed */
	{
		struct t_wait wh = { 0 };
		long long t_hang;

		r = t_access(base, ps, "alice", "ws-frank-stagein", &a, NULL);
		T_OK(r == PSTORE_DONE && a.via == VIA_MEMBER, "proxy: alice cached before Redis hangs");
		kill(redis_pid, SIGSTOP);
		t_hang = rs_now_ms();
		memset(&a, 0xff, sizeof(a));
		r = pstore_access(ps, "dave", "ws-frank", time(NULL), &a, t_cb, &wh);
		t_run(base, &wh.called, 3000);
		T_OK(r == PSTORE_PENDING && wh.called == 1 && !a.bucket_exists && a.via == VIA_NONE,
		    "proxy: Redis hung: the waiter is answered \"not found\" after %lld ms",
		    rs_now_ms() - t_hang);
		r = pstore_access(ps, "dave", "ws-frank", time(NULL), &a, t_cb, &wh);
		T_OK(r == PSTORE_UNAVAILABLE, "proxy: Redis hung: asking again is UNAVAILABLE");
		/*
		 * the subscriber's socket stays open and silent: alice's entry,
		 * well within the TTL (30 s), must end with policy_max_staleness
		 */
		t_run(base, NULL, (int)(t_hang + cf->policy_max_staleness_ms + 200 - rs_now_ms()));
		r = pstore_access(ps, "alice", "ws-frank-stagein", time(NULL), &a, t_cb, &wh);
		T_OK(r == PSTORE_UNAVAILABLE,
		    "proxy: Redis hung: a cached entry past policy_max_staleness is UNAVAILABLE, "
		    "not a hit until the TTL");
		kill(redis_pid, SIGCONT);
		T_OK(t_ready(base, rs, 1, 4000), "proxy: Redis back: reconnected and resubscribed");
		r = t_access(base, ps, "dave", "ws-frank", &a, NULL);
		T_OK(r == PSTORE_DONE && a.bucket_exists, "proxy: Redis back: answers again");
	}

	/* Redis stopped: stale until policy_max_staleness, then fail closed */
	r = t_access(base, ps, "frank", "ws-frank", &a, NULL);
	T_OK(r == PSTORE_DONE && a.via == VIA_OWNER, "proxy: frank cached before the outage");
	{
		long long t_warm = rs_now_ms();

		redis_stop();
		T_OK(t_ready(base, rs, 0, 2000), "proxy: Redis stopped: not ready");
		T_OK(pstore_ready(ps) == 0, "proxy: pstore_ready says so");
		memset(&a, 0, sizeof(a));
		r = pstore_access(ps, "frank", "ws-frank", time(NULL), &a, t_cb, &w1);
		T_OK(r == PSTORE_DONE && a.via == VIA_OWNER,
		    "proxy: cached entry served while Redis is down (age %lld ms)",
		    rs_now_ms() - t_warm);
		r = pstore_access(ps, "alice", "ws-frank", time(NULL), &a, t_cb, &w1);
		T_OK(r == PSTORE_UNAVAILABLE, "proxy: uncached: UNAVAILABLE at once");
		r = pstore_credential(ps, "SGFRANK", &c, t_cb, &w1);
		T_OK(r == PSTORE_UNAVAILABLE, "proxy: uncached credential: UNAVAILABLE");
		t_run(base, NULL, (int)(t_warm + cf->policy_max_staleness_ms + 100 - rs_now_ms()));
		r = pstore_access(ps, "frank", "ws-frank", time(NULL), &a, t_cb, &w1);
		T_OK(r == PSTORE_UNAVAILABLE, "proxy: past policy_max_staleness: UNAVAILABLE");
		T_OK(w1.called == 0, "proxy: no callback for an UNAVAILABLE answer");
	}
	pstore_free(ps);
out:
	model_free(m);
	sbuf_free(&e);
	event_base_free(base);
}

static void
test_refuse_without_key(struct conf *cf)
{
	struct event_base *base = event_base_new();
	struct conf other = *cf;
	struct sbuf e = SBUF_INIT;

	other.store_secret_key = NULL;
	T_OK(pstore_open(&other, base, &e) == NULL && e.data != NULL &&
	    strstr(e.data, "policy_secret_key") != NULL,
	    "open: refused without policy_secret_key");
	sbuf_free(&e);
	event_base_free(base);
}

int
main(void)
{
	struct conf cf;
	char url[64];
	time_t now = time(NULL);
	int port;
	{
		/* what logs and error messages show of the store's URL */
		static const char *const urls[][2] = {
			{ "redis://:hunter2@127.0.0.1:6379/0", "redis://***@127.0.0.1:6379/0" },
			{ "redis://user:pw@[::1]:6380", "redis://***@[::1]:6380" },
			{ "redis://127.0.0.1:6379/2", "redis://127.0.0.1:6379/2" },
			{ "redis://h/0@x", "redis://h/0@x" },
			{ "unix:/run/redis.sock?db=1", "unix:/run/redis.sock?db=1" },
		};
		char shown[512];
		size_t u;

		for (u = 0; u < sizeof(urls) / sizeof(urls[0]); u++)
			T_STREQ(redisstore_url_shown(urls[u][0], shown, sizeof(shown)), urls[u][1],
			    "URL shown without its password: %s", urls[u][1]);
	}

	alarm(100);
	signal(SIGPIPE, SIG_IGN);
	log_open("stderr", LOG_LEVEL_ERROR);
	test_seal();
	test_url();
	test_sentinel_replies();
	test_quota_field();

	memset(&cf, 0, sizeof(cf));
	cf.store_kind = CONF_STORE_REDIS;
	cf.store_secret_key = T_KEY;
	cf.policy_cache_ttl_ms = 30000;
	cf.policy_max_staleness_ms = 1500;
	test_refuse_without_key(&cf);

	if (!have_redis_server()) {
		T_SKIP("redis store against a real server # redis-server missing (make deps-test)");
		return T_DONE();
	}
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/test_redisstore.XXXXXX");
	if (mkdtemp(tmpdir) == NULL || (port = free_port()) == -1 || redis_start(port) == -1) {
		T_OK(0, "redis-server starts");
		redis_stop();
		return T_DONE();
	}
	snprintf(url, sizeof(url), "redis://127.0.0.1:%d/0", port);
	cf.store_path = url;
	test_admin(&cf, now);
	test_proxy(&cf, now);
	redis_stop();
	{
		char rm[128];

		snprintf(rm, sizeof(rm), "rm -rf %s", tmpdir);
		if (system(rm) != 0)
			printf("# could not remove %s\n", tmpdir);
	}
	return T_DONE();
}
