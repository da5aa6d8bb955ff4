/*
 * test_admin: s3gate-admin driven through admin_run() with memstream sinks,
 * as the proxy's self-service API drives it, on a file store in a temporary
 * folder.  Run from the repository root (make unit does).
 *
 *   presign: JSON shape; the URL verifies (sigv4_parse/check/verify) with
 *   the link's secret read back through pstore_credential(), at the
 *   public_url's host, and not for another key or method; link scope in
 *   the store; 8 days refused, 7 accepted; an issuer without read (or with
 *   WriteOnly) refused for GET; no public_url; --max-uses; list; revoke
 *   (by its issuer only); expired links collected by the next write
 *   request / requests / approve / revoke; access JSON; the same message
 *   for a bucket that is hidden and one that does not exist
 *   admin_run from several threads at once
 *   expiries: --expires and --ttl at most 10 years, so every time written
 *   reads back
 *   options: "--" ends them, a value that is an option is refused
 *   bucket create: only a bucket this call creates joins the workspace
 *   (against a small stand-in backend on loopback), and not a name under
 *   another principal's bucket_create names
 *   links issued with a session key end with it and go when it is deleted
 *   sync and retired buckets: one a sync dropped goes to no other workspace
 *   (nor by a move within one sync) until "bucket release"; its own takes
 *   it back; a first sync adopts
 */
#include <sys/socket.h>
#include <sys/stat.h>

#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "policy/admin.h"
#include "policy/filestore.h"
#include "policy/storage.h"
#include "policy/store.h"
#include "proxy/sigv4.h"
#include "tests/unit/testlib.h"

#define PUBLIC_HOST	"s3.example.org"

static char dir[256], pol[300], conffile[300], noconf[300];

/* One admin_run: its exit status, stdout and stderr (allocated). */
struct run {
	int	 rc;
	enum admin_error kind;	/* admin_run_kind()'s */
	char	*out;
	char	*err;
	json_t	*json;		/* out parsed, if it is JSON */
};

static void
write_file(const char *path, const char *text, mode_t mode)
{
	FILE *f = fopen(path, "w");

	fputs(text, f);
	fclose(f);
	chmod(path, mode);
}

static void
run_free(struct run *r)
{
	free(r->out);
	free(r->err);
	json_decref(r->json);
	memset(r, 0, sizeof(*r));
}

/* Runs ARGV (ARGC of them, argv[0] the program's name) as the proxy does. */
static struct run
run_argv(int argc, char **argv)
{
	struct run r;
	size_t outlen = 0, errlen = 0;
	FILE *out, *err;

	memset(&r, 0, sizeof(r));
	out = open_memstream(&r.out, &outlen);
	err = open_memstream(&r.err, &errlen);
	r.rc = admin_run_kind(argc, argv, out, err, &r.kind);
	fclose(out);
	fclose(err);
	r.json = json_loads(r.out, 0, NULL);
	return r;
}

/* Runs "s3gate-admin -c CONF ARGS..." (NULL-terminated). */
static struct run
run_conf(const char *conf, const char *first, ...)
{
	char *argv[24];
	const char *s;
	va_list ap;
	int argc = 0;

	argv[argc++] = "s3gate-admin";
	argv[argc++] = "-c";
	argv[argc++] = (char *)conf;
	va_start(ap, first);
	for (s = first; s != NULL && argc < 23; s = va_arg(ap, const char *))
		argv[argc++] = (char *)s;
	va_end(ap);
	argv[argc] = NULL;
	return run_argv(argc, argv);
}

#define RUN(...) run_conf(conffile, __VA_ARGS__, (const char *)NULL)

static const char *
jstr(json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

/* Whether O has exactly the keys in KEYS (NULL-terminated), in that order. */
static int
has_keys(json_t *o, const char *const *keys)
{
	const char *k;
	json_t *v;
	size_t i = 0;

	if (!json_is_object(o))
		return 0;
	json_object_foreach(o, k, v) {
		if (keys[i] == NULL || strcmp(k, keys[i]) != 0)
			return 0;
		i++;
	}
	return keys[i] == NULL;
}

/*
 * Verifies URL as the proxy would: METHOD with Host HOST, the link's secret
 * from the store.  Returns the sigv4 status (SIGV4_OK), or -1 if the URL
 * does not have the shape of one.
 */
static int
verify_url(struct pstore *ps, const char *url, const char *method, const char *host,
    const char *path_override)
{
	struct sigv4_request req;
	struct sigv4_auth auth;
	struct http_header h;
	struct policy_credential c;
	unsigned char key[SIGV4_KEY_LEN];
	const char *p, *q;
	enum sigv4_status st;
	char base[64];

	snprintf(base, sizeof(base), "https://%s/", PUBLIC_HOST);
	if (strncmp(url, base, strlen(base)) != 0 || (q = strchr(url, '?')) == NULL)
		return -1;
	p = url + strlen(base) - 1;
	memset(&req, 0, sizeof(req));
	req.method = method;
	req.method_len = strlen(method);
	req.path = path_override ? path_override : p;
	req.path_len = path_override ? strlen(path_override) : (size_t)(q - p);
	req.query = q + 1;
	req.query_len = strlen(q + 1);
	h = (struct http_header){ "host", 4, host, strlen(host) };
	req.headers = &h;
	req.nheaders = 1;
	if ((st = sigv4_parse(&req, &auth)) != SIGV4_OK)
		return st;
	if ((st = sigv4_check(&auth, time(NULL), "us-east-1")) != SIGV4_OK)
		return st;
	if (pstore_credential(ps, auth.access_key_id, &c, NULL, NULL) != PSTORE_DONE ||
	    c.secret == NULL) {
		policy_credential_clear(&c);
		return SIGV4_MISMATCH;
	}
	sigv4_signing_key(c.secret, strlen(c.secret), auth.scope_date, "us-east-1", "s3", key);
	policy_credential_clear(&c);
	return sigv4_verify(&req, &auth, key);
}

static void
reload(struct pstore *ps)
{
	struct sbuf e = SBUF_INIT;

	if (pstore_reload(ps, &e) == -1)
		printf("# reload: %s\n", e.data ? e.data : "");
	sbuf_free(&e);
}

static const char storage_yaml[] =
    "apiVersion: pkg.internal/v1beta1\nkind: Storage\nmetadata: {name: ws-eric}\n"
    "spec:\n  principal: eric\n  buckets:\n"
    "    - {bucketName: ws-eric-shared, discoverable: true}\n"
    "    - {bucketName: ws-eric-hidden, discoverable: false}\n"
    "  bucketAccessGrants:\n"
    "    - {bucketName: ws-eric-shared, grantee: dora, permission: WriteOnly,"
    " grantedAt: \"2025-01-01T00:00:00Z\"}\n"
    "---\n"
    "apiVersion: pkg.internal/v1beta1\nkind: Storage\nmetadata: {name: ws-alice}\n"
    "spec:\n  principal: alice\n  buckets: [{bucketName: ws-alice}]\n"
    "---\n"
    "apiVersion: pkg.internal/v1beta1\nkind: Storage\nmetadata: {name: ws-dora}\n"
    "spec:\n  principal: dora\n  buckets: [{bucketName: ws-dora}]\n";

static void
test_presign(struct pstore *ps)
{
	static const char *const keys[] = { "url", "expires_at", "id", NULL };
	struct policy_credential c;
	struct run r;
	const char *url, *id;
	char when[32], *idcopy = NULL;
	time_t before = time(NULL);

	r = RUN("--json", "presign", "--principal", "eric", "s3://ws-eric-shared/dir/a b+c ü.txt");
	T_OK(r.rc == 0 && r.err[0] == '\0', "presign: exit 0, nothing on stderr (%s)", r.err);
	T_OK(has_keys(r.json, keys), "presign --json: exactly {url, expires_at, id}");
	url = jstr(r.json, "url");
	id = jstr(r.json, "id");
	T_OK(id != NULL && strlen(id) == 20 && strncmp(id, "SGL", 3) == 0,
	    "presign: the id is SGL + 17");
	T_OK(url != NULL && strncmp(url, "https://" PUBLIC_HOST "/ws-eric-shared/dir/a%20b%2Bc%20"
	    "%C3%BC.txt?", strlen("https://" PUBLIC_HOST "/ws-eric-shared/dir/a%20b%2Bc%20"
	    "%C3%BC.txt?")) == 0, "presign: path-style URL under public_url, key S3-encoded");
	T_OK(url != NULL && strstr(url, "X-Amz-Expires=3600&") != NULL,
	    "presign: default expiry 1h");
	storage_format_time(before + 3600, when, sizeof(when));
	{
		char when2[32];

		storage_format_time(before + 3601, when2, sizeof(when2));
		T_OK(jstr(r.json, "expires_at") != NULL &&
		    (strcmp(jstr(r.json, "expires_at"), when) == 0 ||
		    strcmp(jstr(r.json, "expires_at"), when2) == 0),
		    "presign: expires_at is an hour from now, RFC 3339 UTC");
	}
	reload(ps);
	if (url != NULL) {
		T_OK(verify_url(ps, url, "GET", PUBLIC_HOST, NULL) == SIGV4_OK,
		    "presign: the URL verifies with the link's secret at the public host");
		T_OK(verify_url(ps, url, "PUT", PUBLIC_HOST, NULL) == SIGV4_MISMATCH,
		    "presign: not for another method");
		T_OK(verify_url(ps, url, "GET", PUBLIC_HOST, "/ws-eric-shared/other") ==
		    SIGV4_MISMATCH, "presign: not for another key");
		T_OK(verify_url(ps, url, "GET", "127.0.0.1:8080", NULL) == SIGV4_MISMATCH,
		    "presign: not at another host");
	}
	if (id != NULL && (idcopy = strdup(id)) != NULL) {
		memset(&c, 0, sizeof(c));
		T_OK(pstore_credential(ps, idcopy, &c, NULL, NULL) == PSTORE_DONE &&
		    c.principal && strcmp(c.principal, "eric") == 0 && c.link_method &&
		    strcmp(c.link_method, "GET") == 0 && c.link_bucket &&
		    strcmp(c.link_bucket, "ws-eric-shared") == 0 && c.link_key &&
		    strcmp(c.link_key, "dir/a b+c ü.txt") == 0 && c.link_max_uses == 0 &&
		    c.link_max_bytes == 0 && c.expires_at >= before + 3600 &&
		    c.expires_at <= time(NULL) + 3600 && c.session_token == NULL,
		    "presign: the store returns the link credential with its scope");
		policy_credential_clear(&c);
	}
	run_free(&r);

	r = RUN("presign", "--principal", "eric", "s3://ws-eric-shared/k");
	T_OK(r.rc == 0 && strncmp(r.out, "https://" PUBLIC_HOST "/ws-eric-shared/k?", 37) == 0 &&
	    strchr(r.out, '\n') == r.out + strlen(r.out) - 1, "presign: text is the URL alone");
	run_free(&r);

	r = RUN("presign", "--principal", "eric", "--expires", "8d", "s3://ws-eric-shared/k");
	T_OK(r.rc == 1, "presign: 8 days refused");
	T_STREQ(r.err, "s3gate-admin: expiry is more than 7 days; the longest is 7d\n",
	    "presign: 8 days: the message");
	run_free(&r);
	r = RUN("--json", "presign", "--principal", "eric", "--expires", "7d",
	    "s3://ws-eric-shared/k");
	T_OK(r.rc == 0 && strstr(jstr(r.json, "url") ? jstr(r.json, "url") : "",
	    "X-Amz-Expires=604800&") != NULL, "presign: 7 days accepted");
	run_free(&r);

	r = RUN("presign", "--principal", "alice", "s3://ws-eric-shared/k");
	T_OK(r.rc == 1 && strstr(r.err, "Access Denied: GetObject on bucket ws-eric-shared") != NULL,
	    "presign: an issuer without read is refused with the decision's message (%s)",
	    r.err);
	run_free(&r);
	r = RUN("presign", "--principal", "alice", "s3://ws-eric-hidden/k");
	T_OK(r.rc == 1 && strstr(r.err, "Access Denied") != NULL && strstr(r.err, "request") ==
	    NULL, "presign: a hidden bucket: denied, no hint it exists");
	run_free(&r);
	r = RUN("presign", "--principal", "dora", "s3://ws-eric-shared/k");
	T_OK(r.rc == 1, "presign: a WriteOnly grantee cannot issue a GET link");
	run_free(&r);
	r = RUN("presign", "--principal", "dora", "--method", "PUT", "s3://ws-eric-shared/drop");
	T_OK(r.rc == 0, "presign: a WriteOnly grantee can issue a PUT link");
	run_free(&r);
	r = RUN("presign", "--principal", "eric", "--method", "DELETE", "s3://ws-eric-shared/k");
	T_OK(r.rc == 1 && strstr(r.err, "GET or PUT") != NULL, "presign: only GET and PUT");
	run_free(&r);
	r = RUN("presign", "--principal", "eric", "s3://ws-eric-shared");
	T_OK(r.rc == 1 && strstr(r.err, "s3://BUCKET/KEY") != NULL, "presign: needs a key");
	run_free(&r);

	r = RUN("--json", "presign", "--principal", "eric", "--max-uses", "2",
	    "s3://ws-eric-shared/big");
	T_OK(r.rc == 0, "presign --max-uses 2");
	if (jstr(r.json, "id") != NULL) {
		memset(&c, 0, sizeof(c));
		reload(ps);
		T_OK(pstore_credential(ps, jstr(r.json, "id"), &c, NULL, NULL) == PSTORE_DONE &&
		    c.link_max_uses == 2 && c.link_max_bytes == 0,
		    "presign --max-uses: stored as link_max_uses (bytes on first use)");
		policy_credential_clear(&c);
	}
	run_free(&r);
	r = RUN("presign", "--principal", "eric", "--max-uses", "0", "s3://ws-eric-shared/big");
	T_OK(r.rc == 1, "presign --max-uses 0 refused");
	run_free(&r);

	r = run_conf(noconf, "presign", "--principal", "eric", "s3://ws-eric-shared/k",
	    (const char *)NULL);
	T_OK(r.rc == 1 && strstr(r.err, "public_url is not set in ") != NULL &&
	    strstr(r.err, "; set it to the base URL outsiders use") != NULL,
	    "presign: no public_url: says so (%s)", r.err);
	run_free(&r);

	/* list and revoke */
	r = RUN("--json", "presign", "list", "--principal", "eric");
	{
		static const char *const lk[] = { "id", "principal", "method", "bucket", "key",
		    "expires_at", "max_uses", NULL };
		json_t *links = json_object_get(r.json, "links");

		T_OK(r.rc == 0 && json_array_size(links) == 4 &&
		    has_keys(json_array_get(links, 0), lk),
		    "presign list --principal eric: eric's 4 links, each {id, principal, method, "
		    "bucket, key, expires_at, max_uses}");
	}
	run_free(&r);
	if (idcopy != NULL) {
		r = RUN("presign", "revoke", idcopy, "--principal", "alice");
		T_OK(r.rc == 1 && strstr(r.err, "no such link") != NULL,
		    "presign revoke: not by another principal");
		run_free(&r);
		r = RUN("presign", "revoke", "SGLNOSUCHLINK0000000", "--principal", "eric");
		T_OK(r.rc == 1 && strstr(r.err, "no such link") != NULL,
		    "presign revoke: an unknown id");
		run_free(&r);
		r = RUN("--json", "presign", "revoke", idcopy, "--principal", "eric");
		T_OK(r.rc == 0 && jstr(r.json, "revoked") &&
		    strcmp(jstr(r.json, "revoked"), idcopy) == 0, "presign revoke by its issuer");
		run_free(&r);
		reload(ps);
		memset(&c, 0, sizeof(c));
		T_OK(pstore_credential(ps, idcopy, &c, NULL, NULL) == PSTORE_DONE &&
		    c.access_key_id == NULL, "presign revoke: the credential is gone");
		policy_credential_clear(&c);
		r = RUN("cred", "delete", idcopy);
		T_OK(r.rc == 1, "presign revoke: really gone");
		run_free(&r);
	}
	free(idcopy);
}

/*
 * At most 1000 live links per principal: eric's links are topped up to
 * 999 straight in the store (minting 1000 took 44 s under ASan), then one
 * more is minted and the next refused.  Run last: it leaves eric 1000.
 */
static void
test_link_cap(void)
{
	struct sbuf e = SBUF_INIT;
	struct policy_credential c;
	struct model *m;
	struct run r;
	char id[32], *last = NULL;
	size_t i;
	int live = 0;

	m = filestore_load(pol, &e);
	T_OK(m != NULL, "link cap: load %s", e.data ? e.data : "");
	if (m == NULL)
		return;
	for (i = 0; i < m->ncredentials; i++)
		if (m->credentials[i].link_method != NULL &&
		    strcmp(m->credentials[i].principal, "eric") == 0 &&
		    m->credentials[i].expires_at > time(NULL))
			live++;
	memset(&c, 0, sizeof(c));
	c.secret = "0123456789012345678901234567890123456789";
	c.principal = "eric";
	c.link_bucket = "ws-eric-shared";
	c.link_key = "k";
	c.link_method = "GET";
	for (i = 0; live < 999; i++, live++) {
		snprintf(id, sizeof(id), "SGLCAP%014zu", i);
		c.access_key_id = id;
		c.expires_at = time(NULL) + 3600;
		model_add_credential(m, &c);
	}
	c.access_key_id = "SGLCAPEXPIRED0000000";	/* an expired one does not count */
	c.expires_at = time(NULL) - 10;
	model_add_credential(m, &c);
	T_OK(filestore_save_credentials(pol, m, &e) == 0, "link cap: eric has 999 live links");
	model_free(m);

	r = RUN("--json", "presign", "--principal", "eric", "s3://ws-eric-shared/k");
	T_OK(r.rc == 0 && jstr(r.json, "id") != NULL, "presign: the 1000th live link is minted");
	last = jstr(r.json, "id") ? strdup(jstr(r.json, "id")) : NULL;
	run_free(&r);
	r = RUN("presign", "--principal", "eric", "s3://ws-eric-shared/k");
	T_OK(r.rc == 1 && strstr(r.err, "eric has 1000 links not yet expired, the most one "
	    "principal may have; revoke some (presign list, presign revoke ID)") != NULL,
	    "presign: the 1001st is refused, and says what to do (%s)", r.err);
	run_free(&r);
	r = RUN("presign", "--principal", "dora", "--method", "PUT", "s3://ws-eric-shared/drop2");
	T_OK(r.rc == 0, "another principal still mints links");
	run_free(&r);
	if (last != NULL) {
		r = RUN("presign", "revoke", last, "--principal", "eric");
		run_free(&r);
		r = RUN("presign", "--principal", "eric", "s3://ws-eric-shared/k");
		T_OK(r.rc == 0, "one revoked: eric mints one again");
		run_free(&r);
	}
	free(last);
	sbuf_free(&e);
}

/* An expired link written straight into the store goes with the next write. */
static void
test_gc(void)
{
	struct sbuf e = SBUF_INIT;
	struct policy_credential c;
	struct model *m;
	struct run r;
	size_t before;

	m = filestore_load(pol, &e);
	T_OK(m != NULL, "gc: load %s", e.data ? e.data : "");
	if (m == NULL)
		return;
	memset(&c, 0, sizeof(c));
	c.access_key_id = "SGLEXPIREDLINK000000";
	c.secret = "0123456789012345678901234567890123456789";
	c.principal = "eric";
	c.expires_at = time(NULL) - 10;
	c.link_bucket = "ws-eric-shared";
	c.link_key = "old";
	c.link_method = "GET";
	model_add_credential(m, &c);
	c.access_key_id = "SGSESSIONEXPIRED0000";	/* not a link: kept */
	c.link_bucket = c.link_key = c.link_method = NULL;
	c.session_token = "tok";
	model_add_credential(m, &c);
	T_OK(filestore_save_credentials(pol, m, &e) == 0, "gc: expired link written");
	before = m->ncredentials;
	model_free(m);
	r = RUN("cred", "create", "zoe");
	T_OK(r.rc == 0, "gc: a write");
	run_free(&r);
	m = filestore_load(pol, &e);
	T_OK(m != NULL && model_credential(m, "SGLEXPIREDLINK000000") == NULL &&
	    model_credential(m, "SGSESSIONEXPIRED0000") != NULL && m->ncredentials == before,
	    "gc: the expired link is gone, other credentials stay");
	model_free(m);
	sbuf_free(&e);
}

static void
test_requests(void)
{
	static const char *const rk[] = { "bucket", "principal", "reason", "requested_at", NULL };
	static const char *const gk[] = { "bucket", "principal", "permission", "prefix",
	    "expires_at", NULL };
	static const char *const ak[] = { "bucket", "via", "permission", "prefix", "expires_at",
	    NULL };
	struct run r, r2;
	json_t *list;
	const char *e1, *e2;

	/* hidden and missing: the same words, apart from the name */
	r = RUN("--json", "request", "ws-eric-hidden", "alice", "--reason", "x");
	r2 = RUN("--json", "request", "ws-nosuch-bukt", "alice", "--reason", "x");
	T_OK(r.rc == 1 && r2.rc == 1, "request: a hidden bucket and a missing one are refused");
	T_STREQ(r.err, "s3gate-admin: no such bucket: ws-eric-hidden\n",
	    "request: a hidden bucket: \"no such bucket\"");
	T_STREQ(r2.err, "s3gate-admin: no such bucket: ws-nosuch-bukt\n",
	    "request: a missing bucket: the same message");
	T_OK(r.out[0] == '\0' && r2.out[0] == '\0', "request: nothing on stdout when refused");
	run_free(&r);
	run_free(&r2);
	r = RUN("request", "ws-eric-shared", "eric");
	T_OK(r.rc == 1 && strstr(r.err, "already has access") != NULL,
	    "request: the owner needs none");
	run_free(&r);

	{
		/* the reason reaches terminals as it is: no ESC, newline, tab or DEL */
		static const char *const bad[] = { "\033]0;owned\007", "x\"\nws-eric bob 2026 \"y",
		    "a\tb", "del\177" };
		size_t i;
		for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			r = RUN("--json", "request", "ws-eric-shared", "alice", "--reason", bad[i]);
			T_OK(r.rc == 1 && strstr(r.err, "control character") != NULL,
			    "request: a reason with a control character is refused (%zu)", i);
			run_free(&r);
		}
		r = RUN("--json", "requests", "eric");
		T_OK(r.rc == 0 && json_array_size(json_object_get(r.json, "requests")) == 0,
		    "request: nothing stored by the refused ones");
		run_free(&r);
		r = RUN("--json", "request", "ws-eric-shared", "alice", "--reason", "r\xc3\xa9sum\xc3\xa9");
		T_OK(r.rc == 0, "request: a reason in UTF-8 is taken");
		run_free(&r);
	}
	r = RUN("--json", "request", "ws-eric-shared", "alice", "--reason", "for the paper");
	T_OK(r.rc == 0 && has_keys(r.json, rk) && strcmp(jstr(r.json, "reason"),
	    "for the paper") == 0 && strcmp(jstr(r.json, "principal"), "alice") == 0,
	    "request --json: {bucket, principal, reason, requested_at}");
	run_free(&r);

	r = RUN("--json", "requests", "eric");
	list = json_object_get(r.json, "requests");
	T_OK(r.rc == 0 && json_array_size(list) == 1 && has_keys(json_array_get(list, 0), rk) &&
	    strcmp(jstr(json_array_get(list, 0), "principal"), "alice") == 0,
	    "requests eric: alice's request on eric's bucket");
	run_free(&r);
	r = RUN("--json", "requests", "alice");
	list = json_object_get(r.json, "requests");
	T_OK(r.rc == 0 && json_array_size(list) == 1, "requests alice: her own");
	run_free(&r);
	r = RUN("--json", "requests", "dora");
	list = json_object_get(r.json, "requests");
	T_OK(r.rc == 0 && json_is_array(list) && json_array_size(list) == 0,
	    "requests dora: none ({\"requests\": []})");
	run_free(&r);

	r = RUN("--json", "approve", "ws-eric-shared", "alice", "--expires", "1h");
	T_OK(r.rc == 0 && has_keys(r.json, gk) && strcmp(jstr(r.json, "permission"), "ReadOnly")
	    == 0 && jstr(r.json, "expires_at") != NULL,
	    "approve --json: {bucket, principal, permission, prefix, expires_at}");
	run_free(&r);
	r = RUN("--json", "requests", "eric");
	T_OK(r.rc == 0 && json_array_size(json_object_get(r.json, "requests")) == 0,
	    "requests: an approved request is no longer pending");
	run_free(&r);

	r = RUN("--json", "access", "alice");
	list = json_object_get(r.json, "buckets");
	T_OK(r.rc == 0 && json_object_size(r.json) == 1 && json_array_size(list) == 2 &&
	    has_keys(json_array_get(list, 0), ak) && has_keys(json_array_get(list, 1), ak),
	    "access --json: exactly {\"buckets\":[{bucket, via, permission, prefix, expires_at}]}");
	e1 = jstr(json_array_get(list, 1), "bucket");
	e2 = jstr(json_array_get(list, 1), "via");
	T_OK(e1 && e2 && strcmp(e1, "ws-eric-shared") == 0 && strcmp(e2, "grant") == 0 &&
	    jstr(json_array_get(list, 1), "expires_at") != NULL &&
	    json_is_null(json_object_get(json_array_get(list, 0), "expires_at")),
	    "access --json: the grant with its end, the owned bucket without");
	run_free(&r);

	r = RUN("--json", "grant", "ws-eric-shared/pub/", "carl", "ReadWrite");
	T_OK(r.rc == 0 && has_keys(r.json, gk) && strcmp(jstr(r.json, "prefix"), "pub/") == 0 &&
	    json_is_null(json_object_get(r.json, "expires_at")), "grant --json: the grant");
	run_free(&r);

	/* a prefix may hold what a key may: shown escaped, never as it is */
	r = RUN("grant", "ws-eric-shared/x\x1b]0;owned\x07\r\n+ grant forged\xc2\x9b/", "zed", "ReadOnly");
	T_OK(r.rc == 0 && strstr(r.out, "x\\x1B]0;owned\\x07\\x0D\\x0A+ grant forged\\xC2\\x9B/") != NULL &&
	    strchr(r.out, '\x1b') == NULL && strchr(r.out, '\r') == NULL &&
	    strchr(r.out, '\n') == r.out + strlen(r.out) - 1,
	    "grant: a prefix with ESC, BEL, CR LF and U+009B is printed escaped, on one line");
	run_free(&r);
	r = RUN("who", "ws-eric-shared");
	T_OK(r.rc == 0 && strstr(r.out, "\\x1B]0;owned") != NULL && strchr(r.out, '\x1b') == NULL &&
	    strchr(r.out, '\r') == NULL && strstr(r.out, "\n+ grant forged") == NULL,
	    "who: the same prefix escaped, no forged line");
	run_free(&r);
	r = RUN("--json", "access", "zed");
	T_OK(r.rc == 0 && strstr(r.out, "\\u001B]0;owned") != NULL,
	    "access --json: the prefix as JSON escapes it");
	run_free(&r);
	/* --owner (the API's caller): checked under the lock, on the model changed */
	r = RUN("grant", "--owner", "alice", "--", "ws-eric-shared", "mal", "ReadWrite");
	T_OK(r.rc == 1 && strstr(r.err, "Only the owner") != NULL,
	    "grant --owner: not by a principal that does not own the workspace");
	run_free(&r);
	r = RUN("--json", "access", "mal");
	T_OK(r.rc == 0 && json_array_size(json_object_get(r.json, "buckets")) == 0,
	    "grant --owner: nothing granted");
	run_free(&r);
	r = RUN("revoke", "--owner", "alice", "--", "ws-eric-shared", "zed");
	T_OK(r.rc == 1 && strstr(r.err, "Only the owner") != NULL,
	    "revoke --owner: not by a principal that does not own the workspace");
	run_free(&r);
	r = RUN("grant", "--owner", "eric", "--", "ws-eric-shared", "mal", "ReadOnly");
	T_OK(r.rc == 0, "grant --owner: by the owner");
	run_free(&r);
	r = RUN("revoke", "--owner", "eric", "--", "ws-eric-shared", "mal");
	T_OK(r.rc == 0, "revoke --owner: by the owner");
	run_free(&r);

	r = RUN("revoke", "ws-eric-shared", "zed");
	T_OK(r.rc == 0, "revoke zed's grant");
	run_free(&r);

	r = RUN("--json", "revoke", "ws-eric-shared", "alice");
	T_OK(r.rc == 0 && strcmp(jstr(r.json, "bucket"), "ws-eric-shared") == 0,
	    "revoke --json");
	run_free(&r);
	r = RUN("--json", "requests", "eric");
	T_OK(r.rc == 0 && json_array_size(json_object_get(r.json, "requests")) == 0,
	    "requests: revoke answered the request for good");
	run_free(&r);
}

/* The id of the link a --json presign printed (static buffer), or "". */
static const char *
link_id(struct run *r)
{
	static char id[32];

	snprintf(id, sizeof(id), "%s", jstr(r->json, "id") ? jstr(r->json, "id") : "");
	return id;
}

/*
 * --expires and --ttl: at most ADMIN_MAX_EXPIRES (3650d).  "3000000d" was
 * accepted, written as the year 10240, and then no command could load the
 * store again.
 */
static void
test_expiry_cap(void)
{
	struct sbuf e = SBUF_INIT;
	struct model *m;
	struct run r;

	r = RUN("grant", "ws-eric-shared", "carl", "ReadOnly", "--expires", "3000000d");
	T_OK(r.rc == 1 && strstr(r.err, "3650d") != NULL,
	    "grant --expires 3000000d refused, the longest named (%s)", r.err);
	run_free(&r);
	r = RUN("grant", "ws-eric-shared", "carl", "ReadOnly", "--expires", "3651d");
	T_OK(r.rc == 1, "grant --expires 3651d refused");
	run_free(&r);
	r = RUN("request", "ws-eric-shared", "alice");
	run_free(&r);
	r = RUN("approve", "ws-eric-shared", "alice", "--expires", "99999999d");
	T_OK(r.rc == 1 && strstr(r.err, "3650d") != NULL, "approve --expires 99999999d refused");
	run_free(&r);
	r = RUN("cred", "create", "carl", "--ttl", "3000000d");
	T_OK(r.rc == 1 && strstr(r.err, "3650d") != NULL, "cred create --ttl 3000000d refused");
	run_free(&r);
	r = RUN("--json", "grant", "ws-eric-shared", "carl", "ReadOnly", "--expires", "3650d");
	T_OK(r.rc == 0 && jstr(r.json, "expires_at") != NULL &&
	    strlen(jstr(r.json, "expires_at")) == 20, "grant --expires 3650d accepted (%s)",
	    jstr(r.json, "expires_at") ? jstr(r.json, "expires_at") : r.err);
	run_free(&r);
	m = filestore_load(pol, &e);
	T_OK(m != NULL, "the store loads after the longest grant: %s", e.data ? e.data : "");
	model_free(m);
	r = RUN("revoke", "ws-eric-shared", "carl");
	T_OK(r.rc == 0, "and the next command works (%s)", r.err);
	run_free(&r);
	sbuf_free(&e);
}

/*
 * Option parsing: the self-service API puts what callers send after "--",
 * and a value that is itself an option is refused, so a link id "--ttl"
 * cannot swallow the --principal that limits revocation to one's own links.
 */
static void
test_options(void)
{
	struct run r;
	char id[32];

	r = RUN("--json", "presign", "--principal", "eric", "s3://ws-eric-shared/opt");
	snprintf(id, sizeof(id), "%s", link_id(&r));
	T_OK(r.rc == 0 && id[0] != '\0', "options: a link to revoke");
	run_free(&r);
	r = RUN("presign", "revoke", "--ttl", "--principal", "alice");
	T_OK(r.rc == 1 && strstr(r.err, "--ttl needs a value") != NULL,
	    "options: \"--ttl --principal\" is refused, not read as --ttl=--principal (%s)", r.err);
	run_free(&r);
	r = RUN("presign", "revoke", "--principal", "alice", "--", id);
	T_OK(r.rc == 1 && strstr(r.err, "no such link") != NULL,
	    "options: after \"--\", the owner check still holds (%s)", r.err);
	run_free(&r);
	r = RUN("presign", "revoke", "--principal", "alice", "--", "--principal");
	T_OK(r.rc == 1 && strstr(r.err, "no such link: --principal") != NULL,
	    "options: after \"--\", \"--principal\" is an id like any other (%s)", r.err);
	run_free(&r);
	r = RUN("request", "ws-eric-shared", "alice", "--reason", "--json");
	T_OK(r.rc == 1 && strstr(r.err, "--reason needs a value") != NULL,
	    "options: a value that is an option is refused (%s)", r.err);
	run_free(&r);
	r = RUN("--json", "presign", "revoke", "--principal", "eric", "--", id);
	T_OK(r.rc == 0 && jstr(r.json, "revoked") && strcmp(jstr(r.json, "revoked"), id) == 0,
	    "options: presign revoke --principal eric -- ID revokes eric's link (%s)", r.err);
	run_free(&r);
}

/* Whether the credentials file holds TEXT. */
static int
creds_hold(const char *text)
{
	char path[400], buf[65536];
	size_t n;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", pol, FILESTORE_CREDENTIALS);
	if ((f = fopen(path, "r")) == NULL)
		return 0;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	return strstr(buf, text) != NULL;
}

/*
 * A link issued with a session credential (--credential AKID, as the
 * self-service API does) ends no later than the session, records the key,
 * and goes when the key is deleted.
 */
static void
test_link_issuer(struct pstore *ps)
{
	struct policy_credential c;
	struct run r;
	char sess[32], perm[32], l1[32], l2[32], l3[32], want[64], *x;
	time_t sess_end = 0, t;
	const char *url;

	r = RUN("--json", "cred", "create", "eric", "--ttl", "30s");
	snprintf(sess, sizeof(sess), "%s", jstr(r.json, "access_key_id") ?
	    jstr(r.json, "access_key_id") : "");
	T_OK(r.rc == 0 && sess[0] != '\0' && jstr(r.json, "expires_at") != NULL &&
	    storage_parse_time(jstr(r.json, "expires_at"), &sess_end) == 0,
	    "issuer: a 30 s session for eric");
	run_free(&r);
	r = RUN("--json", "cred", "create", "eric");
	snprintf(perm, sizeof(perm), "%s", jstr(r.json, "access_key_id") ?
	    jstr(r.json, "access_key_id") : "");
	run_free(&r);

	r = RUN("--json", "presign", "--principal", "eric", "--credential", sess, "--expires", "1h",
	    "s3://ws-eric-shared/sess");
	snprintf(l1, sizeof(l1), "%s", link_id(&r));
	url = jstr(r.json, "url");
	T_OK(r.rc == 0 && jstr(r.json, "expires_at") != NULL &&
	    storage_parse_time(jstr(r.json, "expires_at"), &t) == 0 && t == sess_end,
	    "issuer: a 1h link from a 30 s session ends with the session (%s)",
	    r.rc == 0 ? jstr(r.json, "expires_at") : r.err);
	T_OK(url != NULL && (x = strstr(url, "X-Amz-Expires=")) != NULL && atol(x + 14) >= 1 &&
	    atol(x + 14) <= 30, "issuer: and its URL says so (X-Amz-Expires %ld)",
	    url && (x = strstr(url, "X-Amz-Expires=")) ? atol(x + 14) : -1L);
	snprintf(want, sizeof(want), "\"issuer\": \"%s\"", sess);
	T_OK(creds_hold(want), "issuer: the link records the key that issued it");
	run_free(&r);
	r = RUN("--json", "presign", "--principal", "eric", "--credential", sess,
	    "s3://ws-eric-shared/sess2");
	snprintf(l2, sizeof(l2), "%s", link_id(&r));
	T_OK(r.rc == 0 && l2[0] != '\0', "issuer: a second link from the session");
	run_free(&r);
	r = RUN("--json", "presign", "--principal", "eric", "--credential", perm, "--expires", "2h",
	    "s3://ws-eric-shared/perm");
	snprintf(l3, sizeof(l3), "%s", link_id(&r));
	T_OK(r.rc == 0 && jstr(r.json, "expires_at") != NULL &&
	    storage_parse_time(jstr(r.json, "expires_at"), &t) == 0 && t >= time(NULL) + 7100,
	    "issuer: a key without an end leaves the link's 2h as asked");
	run_free(&r);
	r = RUN("presign", "--principal", "alice", "--credential", sess, "s3://ws-alice/x");
	T_OK(r.rc == 1, "issuer: another principal's key is refused (%s)", r.err);
	run_free(&r);
	r = RUN("presign", "--principal", "eric", "--credential", "SGNOSUCHKEY000000000",
	    "s3://ws-eric-shared/x");
	T_OK(r.rc == 1, "issuer: an unknown key is refused (%s)", r.err);
	run_free(&r);

	r = RUN("cred", "delete", sess);
	T_OK(r.rc == 0 && strstr(r.out, l1) != NULL && strstr(r.out, l2) != NULL &&
	    strstr(r.out, l3) == NULL, "issuer: cred delete of the session deletes its two links: %s",
	    r.out);
	run_free(&r);
	reload(ps);
	memset(&c, 0, sizeof(c));
	T_OK(pstore_credential(ps, l1, &c, NULL, NULL) == PSTORE_DONE && c.access_key_id == NULL,
	    "issuer: the session's link no longer authenticates");
	policy_credential_clear(&c);
	T_OK(pstore_credential(ps, l3, &c, NULL, NULL) == PSTORE_DONE && c.access_key_id != NULL,
	    "issuer: the other key's link stays");
	policy_credential_clear(&c);
	r = RUN("cred", "delete", perm);
	T_OK(r.rc == 0, "issuer: cred delete of the other key");
	run_free(&r);
}

/* ---- bucket create, against a stand-in for the backend --------------------- */

/*
 * A backend that knows some buckets: HEAD /B answers 200 (ours), 403
 * (another owner's) or 404; PUT /B creates it.  One request per connection,
 * as admin_backend_call() sends them.  Every request line is logged.
 */
static struct {
	int		 fd;
	int		 port;
	char		 buckets[16][64];
	int		 status[16];
	int		 n;
	char		 log[4096];
	pthread_mutex_t	 lock;
} fb = { .fd = -1, .lock = PTHREAD_MUTEX_INITIALIZER };

static void
fb_add(const char *bucket, int status)
{
	pthread_mutex_lock(&fb.lock);
	snprintf(fb.buckets[fb.n], sizeof(fb.buckets[0]), "%s", bucket);
	fb.status[fb.n++] = status;
	pthread_mutex_unlock(&fb.lock);
}

static void *
fb_serve(void *arg)
{
	char req[2048], method[16], path[256], resp[128];
	int c, i, st;
	ssize_t n;

	while ((c = accept(fb.fd, NULL, NULL)) != -1) {
		n = read(c, req, sizeof(req) - 1);
		req[n > 0 ? n : 0] = '\0';
		st = 400;
		if (sscanf(req, "%15s %255s", method, path) == 2) {
			pthread_mutex_lock(&fb.lock);
			snprintf(fb.log + strlen(fb.log), sizeof(fb.log) - strlen(fb.log), "%s %s\n",
			    method, path);
			for (i = 0; i < fb.n && strcmp(fb.buckets[i], path + 1) != 0; i++)
				;
			if (strcmp(method, "HEAD") == 0)
				st = i < fb.n ? fb.status[i] : 404;
			else if (strcmp(method, "PUT") == 0 && i < fb.n)
				st = 409;
			else if (strcmp(method, "PUT") == 0 && fb.n < 16) {
				snprintf(fb.buckets[fb.n], sizeof(fb.buckets[0]), "%.63s", path + 1);
				fb.status[fb.n++] = 200;
				st = 200;
			}
			pthread_mutex_unlock(&fb.lock);
		}
		snprintf(resp, sizeof(resp), "HTTP/1.1 %d X\r\nContent-Length: 0\r\n"
		    "Connection: close\r\n\r\n", st);
		if (write(c, resp, strlen(resp)) == -1)
			perror("stand-in backend: write");
		close(c);
	}
	return NULL;
}

static int
fb_start(void)
{
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);
	pthread_t th;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((fb.fd = socket(AF_INET, SOCK_STREAM, 0)) == -1 ||
	    bind(fb.fd, (struct sockaddr *)&sin, sizeof(sin)) == -1 || listen(fb.fd, 16) == -1 ||
	    getsockname(fb.fd, (struct sockaddr *)&sin, &len) == -1)
		return -1;
	fb.port = ntohs(sin.sin_port);
	if (pthread_create(&th, NULL, fb_serve, NULL) != 0)
		return -1;
	pthread_detach(th);
	return 0;
}

/* Whether the stand-in backend saw LINE ("HEAD /b"). */
static int
fb_saw(const char *line)
{
	char want[300];
	int yes;

	snprintf(want, sizeof(want), "%s\n", line);
	pthread_mutex_lock(&fb.lock);
	yes = strstr(fb.log, want) != NULL;
	pthread_mutex_unlock(&fb.lock);
	return yes;
}

/* The proxy's bucket_create check: {principal} literal, the rest a shell pattern. */
static void
test_bucket_pattern(void)
{
	static const struct {
		const char	*pattern, *principal, *bucket;
		int		 match;
	} cases[] = {
		{ "ws-{principal}-*", "anna", "ws-anna-x", 1 },
		{ "ws-{principal}-*", "anna", "ws-anna", 0 },
		{ "ws-{principal}-*", "anna", "ws-bob-x", 0 },
		{ "ws-{principal}-*", "a*", "ws-anna-x", 0 },		/* '*' in a name is a '*' */
		{ "ws-{principal}-*", "a*", "ws-a*-x", 1 },
		{ "ws-{principal}-*", "ann?", "ws-anna-x", 0 },
		{ "ws-{principal}-*", "[a-z]nna", "ws-anna-x", 0 },
		{ "ws-{principal}-*", "an\\na", "ws-anna-x", 0 },
		{ "{principal}.scratch", "bob", "bob.scratch", 1 },
		{ "{principal}.scratch", "bob", "bobo.scratch", 0 },
		{ "lab-*", "bob", "lab-1", 1 },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		T_OK(admin_bucket_pattern_match(cases[i].pattern, cases[i].principal,
		    cases[i].bucket) == cases[i].match, "bucket_create %s for %s: %s %s",
		    cases[i].pattern, cases[i].principal, cases[i].bucket,
		    cases[i].match ? "matches" : "does not match");
}

/*
 * A file store of its own under DIR/SUB: *SDIR (the folder), *SPOL (the
 * policy folder) and *SCONF (its config: BACKEND, then EXTRA), each 300
 * bytes.
 */
static void
store_dir(const char *sub, const char *backend, const char *extra, char *sdir, char *spol,
    char *sconf)
{
	char text[1024];

	snprintf(sdir, 300, "%s/%s", dir, sub);
	snprintf(spol, 300, "%s/policy", sdir);
	mkdir(sdir, 0755);
	mkdir(spol, 0755);
	snprintf(sconf, 300, "%s/s3gate.conf", sdir);
	snprintf(text, sizeof(text), "listen 127.0.0.1:1\nbackend %s\n"
	    "backend_credentials SVC %s/secret\npolicy_store file %s\n%s", backend, dir, spol,
	    extra);
	write_file(sconf, text, 0644);
}

static void
test_bucket_create(void)
{
	static const struct {
		const char	*principal, *bucket;
		const char	*err;		/* NULL: created */
		enum admin_error kind;		/* the API answers by it */
		const char	*what;
	} cases[] = {
		{ "anna", "ws-anna-old", "not available", ADMIN_ERR_UNAVAILABLE,
		    "a bucket already on the backend is not adopted" },
		{ "anna", "ws-anna-foreign", "not available", ADMIN_ERR_UNAVAILABLE,
		    "nor another owner's (HEAD 403)" },
		{ "anna", "ws-anna-new", NULL, ADMIN_ERR_NONE, "a new bucket: created, joins ws-anna" },
		{ "anna", "ws-anna-new", "not available", ADMIN_ERR_UNAVAILABLE,
		    "the same name again: not available" },
		{ "anna", "ws-anna-lena-data", "may not", ADMIN_ERR_DENIED,
		    "anna may not take a name under anna-lena's ws-anna-lena-*" },
		{ "anna-lena", "ws-anna-lena-data", NULL, ADMIN_ERR_NONE, "anna-lena may" },
	};
	char bdir[300], bpol[300], bconf[300], yaml[420], text[1024];
	struct sbuf e = SBUF_INIT;
	struct model *m;
	struct run r;
	size_t i;

	if (fb_start() == -1) {
		T_OK(0, "bucket create: the stand-in backend starts");
		return;
	}
	snprintf(text, sizeof(text), "http://127.0.0.1:%d", fb.port);
	store_dir("bucket", text, "bucket_create ws-{principal}-*\n", bdir, bpol, bconf);
	snprintf(yaml, sizeof(yaml), "%s/ws.yaml", bdir);
	write_file(yaml, "apiVersion: pkg.internal/v1beta1\nkind: Storage\nmetadata: {name: ws-anna}\n"
	    "spec: {principal: anna, buckets: [{bucketName: ws-anna}]}\n---\n"
	    "apiVersion: pkg.internal/v1beta1\nkind: Storage\nmetadata: {name: ws-anna-lena}\n"
	    "spec: {principal: anna-lena, buckets: [{bucketName: ws-anna-lena}]}\n", 0644);
	/* on the backend, not in the policy: one sync dropped, one of another owner */
	fb_add("ws-anna-old", 200);
	fb_add("ws-anna-foreign", 403);
	r = run_conf(bconf, "sync", yaml, (const char *)NULL);
	T_OK(r.rc == 0, "bucket create: sync anna and anna-lena (%s)", r.err);
	run_free(&r);

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		r = run_conf(bconf, "bucket", "create", cases[i].principal, cases[i].bucket,
		    (const char *)NULL);
		T_OK(r.rc == (cases[i].err != NULL) && (cases[i].err == NULL ||
		    strstr(r.err, cases[i].err) != NULL) && r.kind == cases[i].kind,
		    "bucket create %s %s: %s (kind %d: %s)", cases[i].principal, cases[i].bucket,
		    cases[i].what, (int)r.kind, r.err);
		run_free(&r);
	}
	T_OK(fb_saw("HEAD /ws-anna-new") && fb_saw("PUT /ws-anna-new") &&
	    fb_saw("HEAD /ws-anna-old") && !fb_saw("PUT /ws-anna-old") &&
	    !fb_saw("PUT /ws-anna-foreign"), "bucket create: HEAD, then PUT only on a 404");
	m = filestore_load(bpol, &e);
	T_OK(m != NULL && model_bucket_find(m, "ws-anna-old") == NULL &&
	    model_bucket_find(m, "ws-anna-foreign") == NULL &&
	    model_bucket_find(m, "ws-anna-new") != NULL &&
	    strcmp(model_bucket_find(m, "ws-anna-new")->workspace, "ws-anna") == 0 &&
	    model_bucket_find(m, "ws-anna-lena-data") != NULL &&
	    strcmp(model_bucket_find(m, "ws-anna-lena-data")->workspace, "ws-anna-lena") == 0,
	    "bucket create: the policy holds exactly the buckets created, each in its creator's "
	    "workspace");
	model_free(m);
	sbuf_free(&e);
}

/*
 * The kind of each failure the self-service API's commands can have
 * (admin_run_kind), which the API answers by -- not by the words: a
 * permission "needs" or "access" was answered AccessDenied because the
 * message quoting it held the word.  On the main store: eric owns
 * ws-eric-shared (discoverable; dora holds WriteOnly) and ws-eric-hidden.
 */
static void
test_error_kinds(void)
{
	static const struct {
		const char	*args[12];
		enum admin_error kind;
		const char	*what;
	} cases[] = {
		{ { "request", "ws-nosuch-bukt", "alice" }, ADMIN_ERR_NO_SUCH_BUCKET,
		    "request: a missing bucket" },
		{ { "request", "ws-eric-hidden", "alice" }, ADMIN_ERR_NO_SUCH_BUCKET,
		    "request: a hidden bucket, as a missing one" },
		{ { "request", "ws-eric-shared", "eric" }, ADMIN_ERR_INVALID,
		    "request: the owner's own bucket (\"already has access\": was denied by the word)" },
		{ { "request", "--reason", "a\tb", "--", "ws-eric-shared", "alice" },
		    ADMIN_ERR_INVALID, "request: a reason with a control character" },
		{ { "grant", "--owner", "alice", "--", "ws-eric-shared", "zed", "ReadOnly" },
		    ADMIN_ERR_DENIED, "grant: another's bucket" },
		{ { "grant", "--owner", "eric", "--", "ws-eric-shared", "zed", "needs" },
		    ADMIN_ERR_INVALID, "grant: a permission \"needs\" (was denied by the word)" },
		{ { "grant", "--owner", "eric", "--", "ws-eric-shared", "zed", "access" },
		    ADMIN_ERR_INVALID, "grant: a permission \"access\" (was denied by the word)" },
		{ { "grant", "--owner", "eric", "--expires", "3000000d", "--", "ws-eric-shared", "zed",
		    "ReadOnly" }, ADMIN_ERR_INVALID, "grant: an expiry past 10 years" },
		{ { "grant", "--owner", "eric", "--", "ws-nosuch-bukt", "zed", "ReadOnly" },
		    ADMIN_ERR_NO_SUCH_BUCKET, "grant: a missing bucket (was InvalidArgument)" },
		{ { "revoke", "--owner", "alice", "--", "ws-eric-shared", "dora" }, ADMIN_ERR_DENIED,
		    "revoke: another's bucket" },
		{ { "revoke", "--owner", "eric", "--", "ws-nosuch-bukt", "dora" },
		    ADMIN_ERR_NO_SUCH_BUCKET, "revoke: a missing bucket (was InvalidArgument)" },
		{ { "revoke", "--owner", "eric", "--", "ws-eric-shared", "zed" }, ADMIN_ERR_NOT_FOUND,
		    "revoke: no grant to revoke" },
		{ { "presign", "revoke", "--principal", "alice", "--", "SGLAAAAAAAAAAAAAAAAA" },
		    ADMIN_ERR_NOT_FOUND, "presign revoke: no such link" },
		{ { "presign", "--principal", "alice", "--", "s3://ws-eric-hidden/k" },
		    ADMIN_ERR_DENIED, "presign: a bucket the issuer cannot read" },
		{ { "presign", "--principal", "alice", "--credential", "SGNOSUCHKEY000000000", "--",
		    "s3://ws-alice/k" }, ADMIN_ERR_NOT_FOUND, "presign: an issuing key not there" },
		{ { "presign", "--principal", "alice", "--expires", "8d", "--", "s3://ws-alice/k" },
		    ADMIN_ERR_INVALID, "presign: more than 7 days" },
		{ { "bucket", "create", "alice", "ws-eric-shared" }, ADMIN_ERR_UNAVAILABLE,
		    "bucket create: a bucket in the policy" },
		{ { "bucket", "create", "alice", "ws-alice-new" }, ADMIN_ERR_INTERNAL,
		    "bucket create: the backend unreachable" },
		{ { "request", "ws-eric-shared", "nobody1" }, ADMIN_ERR_DENIED,
		    "request: a requester who owns no workspace (was InvalidArgument)" },
		{ { "bucket", "create", "nobody1", "ws-nobody1-x" }, ADMIN_ERR_DENIED,
		    "bucket create: a principal who owns no workspace (was InvalidArgument)" },
		{ { "requests", "eric" }, ADMIN_ERR_NONE, "requests: exit 0" },
		{ { "nosuchcommand" }, ADMIN_ERR_INVALID, "an unknown command" },
		{ { "bucket" }, ADMIN_ERR_INVALID, "a command without its subcommand" },
	};
	static char *usage[] = { "s3gate-admin", "requests", "eric", NULL };
	static char *help[] = { "s3gate-admin", "-h", NULL };
	char *argv[16], sdir[300], spol[300], sconf[300];
	struct run r;
	size_t i, n;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		argv[0] = "s3gate-admin";
		argv[1] = "-c";
		argv[2] = conffile;
		for (n = 0; cases[i].args[n] != NULL; n++)
			argv[3 + n] = (char *)cases[i].args[n];
		argv[3 + n] = NULL;
		r = run_argv(3 + (int)n, argv);
		T_OK(r.rc == (cases[i].kind != ADMIN_ERR_NONE) && r.kind == cases[i].kind,
		    "kinds: %s: exit %d, kind %d (%s)", cases[i].what, r.rc, (int)r.kind, r.err);
		run_free(&r);
	}
	r = run_argv(3, usage);
	T_OK(r.rc == 1 && r.kind == ADMIN_ERR_INVALID, "kinds: no -c: the usage, INVALID");
	run_free(&r);
	r = run_argv(2, help);
	T_OK(r.rc == 0 && r.kind == ADMIN_ERR_NONE, "kinds: -h: exit 0, NONE");
	run_free(&r);
	r = run_conf(noconf, "presign", "--principal", "eric", "--", "s3://ws-eric-shared/k",
	    (const char *)NULL);
	T_OK(r.rc == 1 && r.kind == ADMIN_ERR_UNCONFIGURED,
	    "kinds: presign without public_url: UNCONFIGURED (was InvalidArgument) (%s)", r.err);
	run_free(&r);
	snprintf(sconf, sizeof(sconf), "%s/nosuch.conf", dir);
	r = run_conf(sconf, "requests", "eric", (const char *)NULL);
	T_OK(r.rc == 1 && r.kind == ADMIN_ERR_INTERNAL,
	    "kinds: a configuration that does not load: INTERNAL (%s)", r.err);
	run_free(&r);
	/* a store folder that is a file: it cannot be locked or loaded */
	store_dir("kinds", "http://127.0.0.1:1", "", sdir, spol, sconf);
	rmdir(spol);
	write_file(spol, "not a folder\n", 0644);
	r = run_conf(sconf, "requests", "eric", (const char *)NULL);
	T_OK(r.rc == 1 && r.kind == ADMIN_ERR_INTERNAL,
	    "kinds: a store that does not load: INTERNAL (%s)", r.err);
	run_free(&r);
}

/*
 * sync with one hostile or broken resource among the others (the
 * seventeenth audit): refused alone, its workspace keeps what it had, the
 * others' changes (a revocation) apply, whatever the order; what two claim
 * stays with its holder, or goes to nobody.  Before, any of these failed
 * the whole sync: nothing applied, a revoked grant kept.
 */
#define SY_WS(name, spec) "apiVersion: pkg.internal/v1beta1\nkind: Storage\n" \
	"metadata: {name: " name "}\nspec: " spec "\n---\n"

static struct model *
sync_model(const char *conf, const char *yaml, const char *text, struct run *r, const char *spol)
{
	struct sbuf e = SBUF_INIT;
	struct model *m;

	write_file(yaml, text, 0644);
	*r = run_conf(conf, "sync", yaml, (const char *)NULL);
	m = filestore_load(spol, &e);
	sbuf_free(&e);
	return m;
}

static int
sync_via(const struct model *m, const char *who, const char *bucket)
{
	struct policy_access a;

	if (m == NULL)
		return -1;
	model_access(m, who, bucket, 1760000000, &a);
	return a.bucket_exists ? (int)a.via : -1;
}

static void
test_sync_isolation(void)
{
	char sdir[300], spol[300], conf[300], yaml[340];
	const char *frank = SY_WS("ws-frank", "{principal: frank, quotas: {requestRate: 50}, "
	    "buckets: [{bucketName: ws-frank}], bucketAccessGrants: [{bucketName: ws-frank, "
	    "grantee: bob, permission: ReadWrite}]}");
	const char *frank_revokes = SY_WS("ws-frank", "{principal: frank, quotas: "
	    "{requestRate: 50}, buckets: [{bucketName: ws-frank}]}");
	const char *eric = SY_WS("ws-eric", "{principal: eric, buckets: [{bucketName: ws-eric}], "
	    "bucketAccessGrants: [{bucketName: ws-eric, grantee: alice, permission: ReadOnly}]}");
	const char *bob = SY_WS("ws-bob", "{principal: bob, buckets: [{bucketName: ws-bob}]}");
	const char *bob_claims = SY_WS("ws-bob", "{principal: bob, buckets: [{bucketName: "
	    "ws-bob}, {bucketName: ws-frank}], bucketAccessGrants: [{bucketName: ws-frank, "
	    "grantee: bob, permission: ReadWrite}]}");
	struct sbuf in = SBUF_INIT;
	struct model *m;
	struct run r;
	int order;

	store_dir("sync", "http://127.0.0.1:1", "", sdir, spol, conf);
	snprintf(yaml, sizeof(yaml), "%s/in.yaml", sdir);

	for (order = 0; order < 2; order++) {
		sbuf_reset(&in);
		sbuf_appendf(&in, "%s%s%s", frank, eric, bob);
		m = sync_model(conf, yaml, in.data, &r, spol);
		T_OK(sync_via(m, "bob", "ws-frank") == VIA_GRANT &&
		    sync_via(m, "alice", "ws-eric") == VIA_GRANT,
		    "sync isolation (order %d): bob's grant on ws-frank, alice's on ws-eric", order);
		run_free(&r);
		model_free(m);

		/* bob claims ws-frank (and grants himself), frank revokes bob, eric breaks */
		sbuf_reset(&in);
		if (order == 0)
			sbuf_appendf(&in, "%s%s%s", bob_claims, frank_revokes, eric);
		else
			sbuf_appendf(&in, "%s%s%s", eric, frank_revokes, bob_claims);
		sbuf_appends(&in, SY_WS("ws-new", "{principal: nell, buckets: [{bucketName: ws-new}]}"));
		sbuf_appends(&in, SY_WS("ws-new2", "{principal: nora, buckets: [{bucketName: ws-new}]}"));
		/* eric's resource now has a permission s3gate does not know */
		{
			char *p = strstr(in.data, "permission: ReadOnly");

			if (p != NULL)
				memcpy(p, "permission: Admin   ", 20);
		}
		m = sync_model(conf, yaml, in.data, &r, spol);
		T_OK(r.rc == 1 && strstr(r.err, "workspace ws-bob: bucket ws-frank is claimed by "
		    "another workspace too") != NULL && strstr(r.err, "unknown permission \"Admin\"") &&
		    strstr(r.err, "workspace ws-eric: its resource is not applied") != NULL &&
		    strstr(r.err, "workspace ws-new: bucket ws-new is claimed twice") != NULL &&
		    strstr(r.err, "workspace ws-new2: its resource is not applied (the errors above); "
		    "it is not added") != NULL, "sync isolation (order %d): exit 1, each refusal "
		    "named (%s)", order, r.err);
		T_OK(sync_via(m, "bob", "ws-frank") == VIA_NONE &&
		    sync_via(m, "frank", "ws-frank") == VIA_OWNER,
		    "sync isolation (order %d): frank's revocation applied, bob gets nothing of "
		    "ws-frank", order);
		T_OK(sync_via(m, "alice", "ws-eric") == VIA_GRANT && sync_via(m, "bob", "ws-bob") ==
		    VIA_OWNER, "sync isolation (order %d): a broken resource revokes nothing (alice's "
		    "grant on ws-eric kept; ws-bob as it was)", order);
		T_OK(sync_via(m, "nell", "ws-new") == -1 && m != NULL &&
		    model_workspace_find(m, "ws-new") == NULL &&
		    model_workspace_find(m, "ws-new2") == NULL,
		    "sync isolation (order %d): a new bucket two new resources claim goes to nobody",
		    order);
		run_free(&r);
		model_free(m);
	}

	/* --json: the document, "refused" and all, though the exit status is 1 */
	sbuf_reset(&in);
	sbuf_appendf(&in, "%s%s%s", bob_claims, frank, eric);
	write_file(yaml, in.data, 0644);
	r = run_conf(conf, "--json", "sync", yaml, (const char *)NULL);
	T_OK(r.rc == 1 && json_array_size(json_object_get(r.json, "refused")) == 1 &&
	    strcmp(json_string_value(json_array_get(json_object_get(r.json, "refused"), 0)),
	    "ws-bob") == 0 && json_is_array(json_object_get(r.json, "changes")) &&
	    json_array_size(json_object_get(r.json, "bucket_errors")) > 0,
	    "sync --json: exit 1, and the document says ws-bob was refused and which buckets "
	    "were not made (%s)", r.out);
	run_free(&r);

	/* bob names frank as his principal, with quotas: frank's stay frank's */
	sbuf_reset(&in);
	sbuf_appendf(&in, "%s%s%s", frank, eric, SY_WS("ws-bob", "{principal: frank, quotas: "
	    "{requestRate: 1}, buckets: [{bucketName: ws-bob}]}"));
	m = sync_model(conf, yaml, in.data, &r, spol);
	T_OK(r.rc == 1 && strstr(r.err, "workspace ws-bob: quotas for frank is claimed by another "
	    "workspace too") != NULL && m != NULL && model_quota(m, "frank") != NULL &&
	    model_quota(m, "frank")->request_rate == 50 && sync_via(m, "bob", "ws-bob") == VIA_OWNER,
	    "sync isolation: another's principal with quotas refused, frank keeps 50/s (%s)", r.err);
	run_free(&r);
	model_free(m);
	/* eric has no quotas of his own: bob's on eric's name are still not bob's to set */
	sbuf_reset(&in);
	sbuf_appendf(&in, "%s%s%s", frank, eric, SY_WS("ws-bob", "{principal: eric, quotas: "
	    "{requestRate: 1}, buckets: [{bucketName: ws-bob}]}"));
	m = sync_model(conf, yaml, in.data, &r, spol);
	T_OK(r.rc == 1 && strstr(r.err, "workspace ws-bob: quotas for eric, whose workspace it was "
	    "not") != NULL && m != NULL && model_quota(m, "eric") == NULL &&
	    sync_via(m, "bob", "ws-bob") == VIA_OWNER,
	    "sync isolation: quotas on another principal with a workspace refused (%s)", r.err);
	run_free(&r);
	model_free(m);
	/*
	 * Contested requests are reported in the order of "BUCKET/REQUESTER"
	 * (the claims' keys were such strings): ws-ab-c/rosa before
	 * ws-ab/rita, '-' being before '/'.  Two workspaces of one principal
	 * asking for one bucket: neither keeps the request.
	 */
	{
		char qdir[300], qpol[300], qconf[300], qyaml[340];
		const char *p1, *p2;

		store_dir("sync-req", "http://127.0.0.1:1", "", qdir, qpol, qconf);
		snprintf(qyaml, sizeof(qyaml), "%s/in.yaml", qdir);
		sbuf_reset(&in);
		sbuf_appends(&in, SY_WS("ws-olga", "{principal: olga, buckets: [{bucketName: ws-ab, "
		    "discoverable: true}, {bucketName: ws-ab-c, discoverable: true}]}"));
		sbuf_appends(&in, SY_WS("ws-ra1", "{principal: rita, bucketAccessRequests: "
		    "[{bucketName: ws-ab}]}"));
		sbuf_appends(&in, SY_WS("ws-ra2", "{principal: rita, bucketAccessRequests: "
		    "[{bucketName: ws-ab}]}"));
		sbuf_appends(&in, SY_WS("ws-rb1", "{principal: rosa, bucketAccessRequests: "
		    "[{bucketName: ws-ab-c}]}"));
		sbuf_appends(&in, SY_WS("ws-rb2", "{principal: rosa, bucketAccessRequests: "
		    "[{bucketName: ws-ab-c}]}"));
		m = sync_model(qconf, qyaml, in.data, &r, qpol);
		p1 = strstr(r.err, "workspace ws-rb1: request ws-ab-c/rosa is claimed twice; nobody "
		    "gets it while it is contested");
		p2 = strstr(r.err, "workspace ws-ra1: request ws-ab/rita is claimed twice");
		T_OK(r.rc == 1 && p1 != NULL && p2 != NULL && p1 < p2 &&
		    strstr(r.err, "workspace ws-ra2: request ws-ab/rita") != NULL &&
		    strstr(r.err, "workspace ws-rb2: request ws-ab-c/rosa") != NULL &&
		    m != NULL && m->nrequests == 0,
		    "sync isolation: contested requests refused, reported as BUCKET/REQUESTER in "
		    "that order (%s)", r.err);
		run_free(&r);
		model_free(m);
	}

	/*
	 * A NUL byte in one resource's bucket name (YAML "\0"; "\u0000" in the
	 * JSON kubectl prints): that resource is refused alone, never read as
	 * the name it was cut to (ws-frank), and the others apply.
	 */
	{
		static const char *const inputs[] = {
			SY_WS("ws-bob", "{principal: bob, buckets: [{bucketName: ws-bob}, "
			    "{bucketName: \"ws-frank\\0x\"}]}"),
			"{\"kind\": \"List\", \"items\": [{\"apiVersion\": \"pkg.internal/v1beta1\", "
			    "\"kind\": \"Storage\", \"metadata\": {\"name\": \"ws-bob\"}, \"spec\": "
			    "{\"principal\": \"bob\", \"buckets\": [{\"bucketName\": \"ws-bob\"}, "
			    "{\"bucketName\": \"ws-frank\\u0000x\"}]}}, {\"apiVersion\": "
			    "\"pkg.internal/v1beta1\", \"kind\": \"Storage\", \"metadata\": {\"name\": "
			    "\"ws-eric\"}, \"spec\": {\"principal\": \"eric\", \"buckets\": "
			    "[{\"bucketName\": \"ws-eric\"}, {\"bucketName\": \"ws-eric-2\"}]}}]}\n",
		};
		size_t k;

		for (k = 0; k < 2; k++) {
			sbuf_reset(&in);
			if (k == 0)
				sbuf_appendf(&in, "%s%s%s", frank, inputs[0], SY_WS("ws-eric",
				    "{principal: eric, buckets: [{bucketName: ws-eric}, {bucketName: ws-eric-2}]}"));
			else
				sbuf_appends(&in, inputs[1]);
			snprintf(yaml, sizeof(yaml), "%s/in.%s", sdir, k == 0 ? "yaml" : "json");
			m = sync_model(conf, yaml, in.data, &r, spol);
			T_OK(r.rc == 1 && strstr(r.err, "holds a NUL byte") != NULL &&
			    strstr(r.err, "workspace ws-bob: its resource is not applied") != NULL &&
			    m != NULL && sync_via(m, "eric", "ws-eric-2") == VIA_OWNER &&
			    sync_via(m, "bob", "ws-frank") != VIA_OWNER,
			    "sync: a NUL byte in a bucket name (%s) refuses that resource alone (%s)",
			    k == 0 ? "YAML" : "JSON", r.err);
			run_free(&r);
			model_free(m);
		}
		snprintf(yaml, sizeof(yaml), "%s/in.yaml", sdir);
	}
	/* the CLI adds no member or bucket past what an import allows */
	{
		struct sbuf big = SBUF_INIT;
		size_t i;

		sbuf_appends(&big, "apiVersion: pkg.internal/v1beta1\nkind: Storage\n"
		    "metadata: {name: ws-big}\nspec:\n  principal: big\n  members: [m0");
		for (i = 1; i < STORAGE_MAX_MEMBERS; i++)
			sbuf_appendf(&big, ", m%zu", i);
		sbuf_appends(&big, "]\n  buckets:\n");
		for (i = 0; i < STORAGE_MAX_BUCKETS; i++)
			sbuf_appendf(&big, "  - {bucketName: ws-big-%zu}\n", i);
		m = sync_model(conf, yaml, big.data, &r, spol);
		T_OK(m != NULL && model_workspace_find(m, "ws-big") != NULL &&
		    model_workspace_find(m, "ws-big")->nmembers == STORAGE_MAX_MEMBERS,
		    "sizes: a workspace with 1000 members and 1000 buckets syncs (%s)", r.err);
		run_free(&r);
		model_free(m);
		r = run_conf(conf, "member", "add", "ws-big", "one-more", (const char *)NULL);
		T_OK(r.rc == 1 && strstr(r.err, "ws-big has 1000 members; a workspace has at most "
		    "1000") != NULL, "sizes: member add past 1000 refused (%s)", r.err);
		run_free(&r);
		r = run_conf(conf, "bucket", "create", "big", "ws-big-x", (const char *)NULL);
		T_OK(r.rc == 1 && strstr(r.err, "workspace ws-big has 1000 buckets") != NULL &&
		    r.kind == ADMIN_ERR_LIMIT,
		    "sizes: bucket create past 1000 refused, a limit (kind %d: %s)", (int)r.kind, r.err);
		run_free(&r);
		sbuf_free(&big);
	}
	/* a workspace of a principal new to the policy may carry quotas */
	sbuf_reset(&in);
	sbuf_appendf(&in, "%s%s%s%s", frank, eric, bob, SY_WS("ws-quinn", "{principal: quinn, "
	    "quotas: {requestRate: 5}}"));
	m = sync_model(conf, yaml, in.data, &r, spol);
	T_OK(strstr(r.err, "not applied") == NULL &&
	    m != NULL && model_quota(m, "quinn") != NULL, "sync: a new principal's quotas apply (%s)",
	    r.err);
	run_free(&r);
	model_free(m);
	sbuf_free(&in);
}

/*
 * A bucket a sync dropped keeps its objects at the backend, so the store
 * keeps a record of it (written with the drop), and sync gives it to no
 * other workspace -- nor to its own under another owner, nor by a move
 * within one sync -- until "bucket release"; the workspace that held it
 * takes it back by listing it.  A store without records (a first sync)
 * adopts what the backend has, as before.
 */
static void
test_sync_retired(void)
{
	char sdir[300], spol[300], conf[300], yaml[340], text[1024], *state;
	const char *olga = SY_WS("ws-old", "{principal: olga, buckets: [{bucketName: ws-old-data}]}");
	const char *bob = SY_WS("ws-bob", "{principal: bob, buckets: [{bucketName: ws-bob}]}");
	const char *bob_old = SY_WS("ws-bob", "{principal: bob, buckets: [{bucketName: ws-bob}, "
	    "{bucketName: ws-old-data}]}");
	const char *bob_carl = SY_WS("ws-bob", "{principal: bob, buckets: [{bucketName: ws-bob}, "
	    "{bucketName: ws-carl}]}");
	const char *carl = SY_WS("ws-carl", "{principal: carl, buckets: [{bucketName: ws-carl}]}");
	const struct model_retired *rt;
	struct sbuf in = SBUF_INIT, e = SBUF_INIT;
	struct model *m;
	struct run r;
	json_t *refused;
	FILE *f;
	long len;

	if (fb.port == 0 && fb_start() == -1) {
		T_OK(0, "retired: the stand-in backend starts");
		return;
	}
	snprintf(text, sizeof(text), "http://127.0.0.1:%d", fb.port);
	store_dir("retired", text, "", sdir, spol, conf);
	snprintf(yaml, sizeof(yaml), "%s/in.yaml", sdir);

	sbuf_appendf(&in, "%s%s%s", olga, bob, carl);
	m = sync_model(conf, yaml, in.data, &r, spol);
	T_OK(r.rc == 0 && sync_via(m, "olga", "ws-old-data") == VIA_OWNER && m->nretired == 0,
	    "retired: olga's ws-old-data synced, nothing retired (%s)", r.err);
	run_free(&r);
	model_free(m);

	/* ws-old's resource deleted: the bucket leaves the policy, its record comes */
	sbuf_reset(&in);
	sbuf_appendf(&in, "%s%s", bob, carl);
	m = sync_model(conf, yaml, in.data, &r, spol);
	rt = m != NULL ? model_retired_find(m, "ws-old-data") : NULL;
	T_OK(r.rc == 0 && strstr(r.out, "- bucket ws-old-data\n") != NULL &&
	    strstr(r.out, "+ retired ws-old-data\n") != NULL &&
	    sync_via(m, "olga", "ws-old-data") == -1 && rt != NULL &&
	    strcmp(rt->workspace, "ws-old") == 0 && strcmp(rt->principal, "olga") == 0 &&
	    rt->retired_at != 0, "retired: a sync drops ws-old-data and records it retired from "
	    "ws-old (%s%s)", r.out, r.err);
	run_free(&r);
	model_free(m);
	snprintf(text, sizeof(text), "%s/" FILESTORE_STATE, spol);
	state = NULL;
	if ((f = fopen(text, "r")) != NULL && fseek(f, 0, SEEK_END) == 0 && (len = ftell(f)) > 0 &&
	    fseek(f, 0, SEEK_SET) == 0 && (state = calloc(1, (size_t)len + 1)) != NULL &&
	    fread(state, 1, (size_t)len, f) != (size_t)len) {
		free(state);
		state = NULL;
	}
	if (f != NULL)
		fclose(f);
	T_OK(state != NULL && strstr(state, "\"retiredBuckets\"") != NULL &&
	    strstr(state, "\"bucketName\": \"ws-old-data\"") != NULL,
	    "retired: the record is in " FILESTORE_STATE ", written with the drop");
	free(state);

	/* bob lists it: refused alone (--json: in "refused"), carl's change applies */
	sbuf_reset(&in);
	sbuf_appendf(&in, "%s%s", bob_old, SY_WS("ws-carl", "{principal: carl, members: [dora], "
	    "buckets: [{bucketName: ws-carl}]}"));
	write_file(yaml, in.data, 0644);
	r = run_conf(conf, "--json", "sync", yaml, (const char *)NULL);
	m = filestore_load(spol, &e);
	refused = json_object_get(r.json, "refused");
	T_OK(r.rc == 1 && strstr(r.err, "workspace ws-bob: bucket ws-old-data held data of "
	    "workspace ws-old (owner olga), removed 20") != NULL && strstr(r.err,
	    "`s3gate-admin bucket release ws-old-data` hands it over") != NULL &&
	    strstr(r.err, "workspace ws-bob: its resource is not applied") != NULL,
	    "retired: ws-bob listing ws-old-data is refused, naming its holder and the release "
	    "(%s)", r.err);
	T_OK(json_array_size(refused) == 1 &&
	    strcmp(json_string_value(json_array_get(refused, 0)), "ws-bob") == 0,
	    "retired: sync --json prints its document with exit 1, ws-bob in \"refused\" (%s)",
	    r.out);
	T_OK(sync_via(m, "bob", "ws-old-data") == -1 && sync_via(m, "bob", "ws-bob") == VIA_OWNER &&
	    sync_via(m, "dora", "ws-carl") == VIA_MEMBER && model_retired_find(m, "ws-old-data"),
	    "retired: bob gets nothing and keeps ws-bob; carl's new member applies; the record "
	    "stays");
	run_free(&r);
	model_free(m);

	/* ws-old again, under another owner: not the holder */
	sbuf_reset(&in);
	sbuf_appendf(&in, "%s%s%s", bob, carl, SY_WS("ws-old", "{principal: mallory, buckets: "
	    "[{bucketName: ws-old-data}]}"));
	m = sync_model(conf, yaml, in.data, &r, spol);
	T_OK(r.rc == 1 && strstr(r.err, "workspace ws-old: bucket ws-old-data held data of "
	    "workspace ws-old (owner olga)") != NULL && sync_via(m, "mallory", "ws-old-data") == -1 &&
	    model_workspace_find(m, "ws-old") == NULL, "retired: ws-old re-created for mallory "
	    "does not take olga's bucket (%s)", r.err);
	run_free(&r);
	model_free(m);

	/*
	 * A move in one sync (carl's resource gone, bob listing ws-carl: what a
	 * tenant who listed it in advance gets when carl leaves) is a hand-over
	 * too: bob refused, ws-carl retired from ws-carl.
	 */
	sbuf_reset(&in);
	sbuf_appendf(&in, "%s", bob_carl);
	m = sync_model(conf, yaml, in.data, &r, spol);
	rt = m != NULL ? model_retired_find(m, "ws-carl") : NULL;
	T_OK(r.rc == 1 && strstr(r.err, "workspace ws-bob: bucket ws-carl holds data of workspace "
	    "ws-carl (owner carl), whose resource no longer lists it") != NULL &&
	    sync_via(m, "bob", "ws-carl") == -1 && rt != NULL && strcmp(rt->workspace, "ws-carl") == 0,
	    "retired: bob listing ws-carl as carl leaves: refused, ws-carl retired (%s)", r.err);
	run_free(&r);
	model_free(m);

	/* who: nobody may use a retired bucket; whose it was, since when, the way out */
	r = run_conf(conf, "who", "ws-carl", (const char *)NULL);
	T_OK(r.rc == 0 && strncmp(r.out, "ws-carl is retired (workspace ws-carl, owner carl, "
	    "since 20", 59) == 0 && strstr(r.out, "Z): nobody may use it; `s3gate-admin bucket "
	    "release ws-carl` hands it over\n") != NULL && strchr(r.out, '\n') ==
	    r.out + strlen(r.out) - 1, "retired: who ws-carl says it is retired, whose, since "
	    "when, and bucket release (%s%s)", r.out, r.err);
	run_free(&r);
	r = run_conf(conf, "--json", "who", "ws-carl", (const char *)NULL);
	{
		json_t *rj = json_object_get(r.json, "retired");

		T_OK(r.rc == 0 && json_is_null(json_object_get(r.json, "workspace")) &&
		    json_array_size(json_object_get(r.json, "principals")) == 0 &&
		    jstr(r.json, "bucket") != NULL && strcmp(jstr(r.json, "bucket"), "ws-carl") == 0 &&
		    jstr(rj, "workspace") != NULL && strcmp(jstr(rj, "workspace"), "ws-carl") == 0 &&
		    jstr(rj, "principal") != NULL && strcmp(jstr(rj, "principal"), "carl") == 0 &&
		    jstr(rj, "retired_at") != NULL && strlen(jstr(rj, "retired_at")) == 20,
		    "retired: who --json ws-carl: no workspace, no principals, \"retired\" "
		    "{workspace, principal, retired_at} (%s%s)", r.out, r.err);
	}
	run_free(&r);

	/* bucket retired lists both; bucket release hands ws-carl over */
	r = run_conf(conf, "--json", "bucket", "retired", (const char *)NULL);
	T_OK(r.rc == 0 && json_array_size(json_object_get(r.json, "retired")) == 2 &&
	    strcmp(jstr(json_array_get(json_object_get(r.json, "retired"), 0), "bucket"),
	    "ws-carl") == 0 && strcmp(jstr(json_array_get(json_object_get(r.json, "retired"), 1),
	    "workspace"), "ws-old") == 0, "retired: bucket retired lists ws-carl and ws-old-data "
	    "(%s%s)", r.out, r.err);
	run_free(&r);
	r = run_conf(conf, "bucket", "release", "ws-carl", (const char *)NULL);
	T_OK(r.rc == 0 && strstr(r.out, "- retired ws-carl (workspace ws-carl, owner carl)") != NULL,
	    "retired: bucket release ws-carl (%s%s)", r.out, r.err);
	run_free(&r);
	r = run_conf(conf, "bucket", "release", "ws-carl", (const char *)NULL);
	T_OK(r.rc == 1 && strstr(r.err, "bucket ws-carl is not retired") != NULL,
	    "retired: released once, not twice (%s)", r.err);
	run_free(&r);
	r = run_conf(conf, "who", "ws-carl", (const char *)NULL);
	T_OK(r.rc == 1 && strstr(r.err, "no bucket ws-carl") != NULL && r.out[0] == '\0',
	    "retired: released, who ws-carl: no bucket (%s%s)", r.out, r.err);
	run_free(&r);
	sbuf_reset(&in);
	sbuf_appendf(&in, "%s", bob_carl);
	m = sync_model(conf, yaml, in.data, &r, spol);
	T_OK(r.rc == 0 && sync_via(m, "bob", "ws-carl") == VIA_OWNER &&
	    model_retired_find(m, "ws-carl") == NULL,
	    "retired: released, the next sync gives ws-carl to bob (%s)", r.err);
	run_free(&r);
	model_free(m);

	/* the workspace that held it takes it back; the record goes */
	sbuf_reset(&in);
	sbuf_appendf(&in, "%s%s", olga, bob);
	m = sync_model(conf, yaml, in.data, &r, spol);
	T_OK(r.rc == 0 && sync_via(m, "olga", "ws-old-data") == VIA_OWNER &&
	    model_retired_find(m, "ws-old-data") == NULL && strstr(r.out, "- retired ws-old-data\n"),
	    "retired: ws-old (olga) lists ws-old-data again and takes it back (%s%s)", r.out, r.err);
	T_OK(model_retired_find(m, "ws-carl") != NULL &&
	    strcmp(model_retired_find(m, "ws-carl")->workspace, "ws-bob") == 0,
	    "retired: ws-carl, dropped from ws-bob, is now retired from ws-bob");
	run_free(&r);
	model_free(m);

	/* bucket create of a retired name by another workspace: not available */
	r = run_conf(conf, "bucket", "create", "olga", "ws-carl", (const char *)NULL);
	T_OK(r.rc == 1 && strstr(r.err, "bucket ws-carl is not available: bucket ws-carl held "
	    "data of workspace ws-bob") != NULL, "retired: bucket create of a retired name by "
	    "another workspace refused (%s)", r.err);
	run_free(&r);

	/* a store without records adopts what the backend has (a first sync) */
	snprintf(text, sizeof(text), "http://127.0.0.1:%d", fb.port);
	store_dir("retired-first", text, "", sdir, spol, conf);
	snprintf(yaml, sizeof(yaml), "%s/in.yaml", sdir);
	sbuf_reset(&in);
	sbuf_appendf(&in, "%s", bob_old);
	m = sync_model(conf, yaml, in.data, &r, spol);
	T_OK(r.rc == 0 && sync_via(m, "bob", "ws-old-data") == VIA_OWNER &&
	    strstr(r.out, "+ backend bucket ws-old-data") == NULL,
	    "retired: a first sync into a new store adopts ws-old-data, on the backend (%s)", r.err);
	run_free(&r);
	model_free(m);
	sbuf_free(&in);
	sbuf_free(&e);
}

struct thread_arg {
	int	 rc;
	char	 id[32];
};

static void *
thread_presign(void *p)
{
	struct thread_arg *t = p;
	struct run r;

	r = RUN("--json", "presign", "--principal", "eric", "s3://ws-eric-shared/t");
	t->rc = r.rc;
	snprintf(t->id, sizeof(t->id), "%s", jstr(r.json, "id") ? jstr(r.json, "id") : "");
	run_free(&r);
	return NULL;
}

/* Four commands at once, each in its own thread: the store lock serialises them. */
static void
test_threads(void)
{
	struct sbuf e = SBUF_INIT;
	struct thread_arg t[4];
	pthread_t th[4];
	struct model *m;
	int i, ok = 1;

	memset(t, 0, sizeof(t));
	for (i = 0; i < 4; i++)
		pthread_create(&th[i], NULL, thread_presign, &t[i]);
	for (i = 0; i < 4; i++)
		pthread_join(th[i], NULL);
	m = filestore_load(pol, &e);
	for (i = 0; i < 4; i++)
		if (t[i].rc != 0 || m == NULL || model_credential(m, t[i].id) == NULL)
			ok = 0;
	T_OK(ok, "threads: four presigns at once, all four links stored");
	model_free(m);
	sbuf_free(&e);
}

/*
 * quota show|set|clear --json with config defaults (100 req/s, 20M, 8):
 * the document's shape, overrides replacing defaults field by field, 0 as
 * "no limit" and "default" going back.
 */
static void
test_quota(void)
{
	static const char *const keys[] = { "principal", "workspace", "overrides", "effective",
	    NULL };
	static const char *const three[] = { "request_rate", "bandwidth", "connections", NULL };
	char qconf[400], text[1024], *c;
	json_t *eff, *over;
	struct run r;
	FILE *f;

	/* the test's config plus defaults */
	snprintf(qconf, sizeof(qconf), "%s/quota.conf", dir);
	f = fopen(conffile, "r");
	text[f ? fread(text, 1, sizeof(text) - 200, f) : 0] = '\0';
	if (f)
		fclose(f);
	c = text + strlen(text);
	snprintf(c, 200, "quota_request_rate 100\nquota_bandwidth 20M\nquota_connections 8\n");
	write_file(qconf, text, 0644);

	r = run_conf(qconf, "--json", "quota", "show", "alice", (const char *)NULL);
	eff = json_object_get(r.json, "effective");
	T_OK(r.rc == 0 && has_keys(r.json, keys) && has_keys(eff, three) &&
	    json_is_null(json_object_get(r.json, "workspace")) &&
	    json_object_size(json_object_get(r.json, "overrides")) == 0 &&
	    json_integer_value(json_object_get(eff, "request_rate")) == 100 &&
	    json_integer_value(json_object_get(eff, "bandwidth")) == 20971520 &&
	    json_integer_value(json_object_get(eff, "connections")) == 8,
	    "quota show --json: no overrides, the config's defaults in effect");
	run_free(&r);
	r = run_conf(qconf, "--json", "quota", "set", "alice", "--bandwidth", "10M",
	    "--connections", "0", (const char *)NULL);
	eff = json_object_get(r.json, "effective");
	over = json_object_get(r.json, "overrides");
	T_OK(r.rc == 0 && strcmp(jstr(r.json, "workspace") ? jstr(r.json, "workspace") : "",
	    "ws-alice") == 0 && json_object_size(over) == 2 &&
	    json_integer_value(json_object_get(over, "bandwidth")) == 10485760 &&
	    json_integer_value(json_object_get(over, "connections")) == 0 &&
	    json_integer_value(json_object_get(eff, "request_rate")) == 100 &&
	    json_integer_value(json_object_get(eff, "bandwidth")) == 10485760 &&
	    json_integer_value(json_object_get(eff, "connections")) == 0,
	    "quota set --json: bandwidth and connections overridden (0: no limit), rate the default");
	if (r.rc != 0)
		printf("# %s%s", r.out, r.err);
	run_free(&r);
	r = run_conf(qconf, "quota", "set", "alice", "--bandwidth", "default", (const char *)NULL);
	T_OK(r.rc == 0 && strcmp(r.out, "quota alice (ws-alice): request_rate 100 (default), "
	    "bandwidth 20971520 (default), connections 0 = no limit (override)\n") == 0,
	    "quota set --bandwidth default: text line");
	printf("# %s", r.out);
	run_free(&r);
	r = run_conf(qconf, "--json", "quota", "clear", "alice", (const char *)NULL);
	T_OK(r.rc == 0 && json_is_null(json_object_get(r.json, "workspace")) &&
	    json_integer_value(json_object_get(json_object_get(r.json, "effective"),
	    "connections")) == 8, "quota clear --json: defaults again");
	run_free(&r);
}

int
main(void)
{
	struct sbuf errors = SBUF_INIT;
	struct conf conf;
	struct pstore *ps;
	struct run r;
	char path[400], text[1024];

	alarm(60);
	snprintf(dir, sizeof(dir), "/tmp/s3gate-test-admin.XXXXXX");
	if (mkdtemp(dir) == NULL)
		return 1;
	snprintf(pol, sizeof(pol), "%s/policy", dir);
	mkdir(pol, 0755);
	snprintf(path, sizeof(path), "%s/secret", dir);
	write_file(path, "backendsecret\n", 0600);
	snprintf(conffile, sizeof(conffile), "%s/s3gate.conf", dir);
	snprintf(text, sizeof(text), "listen 127.0.0.1:1\nbackend http://127.0.0.1:1\n"
	    "backend_credentials SVC %s\npolicy_store file %s\n"
	    "public_url https://S3.Example.org:443/\n", path, pol);
	write_file(conffile, text, 0644);
	snprintf(noconf, sizeof(noconf), "%s/nopublic.conf", dir);
	snprintf(text, sizeof(text), "listen 127.0.0.1:1\nbackend http://127.0.0.1:1\n"
	    "backend_credentials SVC %s\npolicy_store file %s\n", path, pol);
	write_file(noconf, text, 0644);
	snprintf(path, sizeof(path), "%s/storage.yaml", dir);
	write_file(path, storage_yaml, 0644);

	/* the backend is unreachable: sync exits 1, but the policy is applied */
	r = RUN("sync", path);
	T_OK(r.rc == 1 && strstr(r.out, "+ workspace ws-eric") != NULL &&
	    strstr(r.err, "not created on the backend") != NULL,
	    "sync: applied, and the output went to the sinks");
	run_free(&r);
	r = RUN("--json", "nosuchcommand");
	T_OK(r.rc == 1 && r.out[0] == '\0' && strstr(r.err, "unknown command") != NULL,
	    "an unknown command: exit 1, the reason on the error sink");
	run_free(&r);

	memset(&conf, 0, sizeof(conf));
	conf.store_kind = CONF_STORE_FILE;
	conf.store_path = pol;
	if ((ps = pstore_open(&conf, NULL, &errors)) == NULL) {
		T_OK(0, "pstore_open: %s", errors.data ? errors.data : "");
		return T_DONE();
	}
	test_presign(ps);
	test_gc();
	test_requests();
	test_threads();
	test_quota();
	test_expiry_cap();
	test_options();
	test_error_kinds();
	test_sync_isolation();
	test_link_issuer(ps);
	test_bucket_pattern();
	test_bucket_create();
	test_sync_retired();
	test_link_cap();
	pstore_free(ps);
	sbuf_free(&errors);

	snprintf(text, sizeof(text), "rm -rf %s", dir);
	if (system(text) != 0)
		printf("# could not remove %s\n", dir);
	return T_DONE();
}
