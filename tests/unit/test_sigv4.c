/*
 * test_sigv4: SigV4 for S3 against the AWS test suite, the S3 examples in
 * the AWS documentation, heads captured from real clients (aws-cli v1 and
 * v2, boto3, curl --aws-sigv4) and S3's own rules.
 *
 * Data is read at run time from $S3GATE_SIGV4_DATA, by default
 * tests/data/sigv4 (tests run from the repository root).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "proxy/sigv4.h"
#include "tests/unit/testlib.h"

#define AKID		"AKIAIOSFODNN7EXAMPLE"
#define SECRET		"wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
#define REGION		"us-east-1"
#define T_20130524	((time_t)1369353600)	/* 2013-05-24T00:00:00Z */
#define EMPTY_SHA256	"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
#define MAX_TEST_HEADERS 64

/* A request parsed from text, in the shape sigv4 takes. */
struct treq {
	char			*buf;
	struct http_header	 hdrs[MAX_TEST_HEADERS];
	struct sigv4_request	 req;
	const char		*body;
	size_t			 body_len;
};

static const char *
data_dir(void)
{
	const char *d = getenv("S3GATE_SIGV4_DATA");

	return d != NULL && *d != '\0' ? d : "tests/data/sigv4";
}

static char *
slurp(const char *sub, const char *name, size_t *lenp)
{
	char path[1024];

	snprintf(path, sizeof(path), "%s/%s/%s", data_dir(), sub, name);
	return testlib_slurp(path, lenp);
}

static void
chomp(char *s)
{
	size_t n = strlen(s);

	while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == '\r'))
		s[--n] = '\0';
}

/* The string value of "KEY": "..." in a small flat JSON file; NULL if absent. */
static char *
json_str(const char *json, const char *key)
{
	char pat[128], *out;
	const char *p, *e;

	snprintf(pat, sizeof(pat), "\"%s\"", key);
	if ((p = strstr(json, pat)) == NULL)
		return NULL;
	p += strlen(pat);
	while (*p == ' ' || *p == ':')
		p++;
	if (*p != '"' || (e = strchr(p + 1, '"')) == NULL)
		return NULL;
	out = strndup(p + 1, (size_t)(e - p - 1));
	return out;
}

/*
 * Parses "METHOD TARGET HTTP/1.1" (TARGET may hold spaces, as in the AWS
 * suite), header lines (a line starting with white space continues the
 * previous value, which then spans the line break) and the body.  Takes
 * ownership of BUF.
 */
static int
treq_parse(struct treq *t, char *buf, size_t len)
{
	char *p = buf, *end = buf + len, *eol, *sp1, *sp2, *colon, *q;
	struct http_header *h;

	memset(t, 0, sizeof(*t));
	t->buf = buf;
	t->req.headers = t->hdrs;
	if ((eol = memchr(p, '\n', (size_t)(end - p))) == NULL)
		return -1;
	if ((sp1 = memchr(p, ' ', (size_t)(eol - p))) == NULL)
		return -1;
	for (sp2 = eol; sp2 > sp1 && *sp2 != ' '; sp2--)
		;
	if (sp2 == sp1)
		return -1;
	t->req.method = p;
	t->req.method_len = (size_t)(sp1 - p);
	t->req.path = sp1 + 1;
	t->req.path_len = (size_t)(sp2 - sp1 - 1);
	if ((q = memchr(t->req.path, '?', t->req.path_len)) != NULL) {
		t->req.query = q + 1;
		t->req.query_len = t->req.path_len - (size_t)(q + 1 - t->req.path);
		t->req.path_len = (size_t)(q - t->req.path);
	}
	for (p = eol + 1; p < end; p = eol + 1) {
		if ((eol = memchr(p, '\n', (size_t)(end - p))) == NULL)
			eol = end;
		q = eol > p && eol[-1] == '\r' ? eol - 1 : eol;
		if (q == p) {
			t->body = eol < end ? eol + 1 : end;
			t->body_len = (size_t)(end - t->body);
			break;
		}
		if (*p == ' ' || *p == '\t') {
			if (t->req.nheaders == 0)
				return -1;
			h = &t->hdrs[t->req.nheaders - 1];
			h->value_len = (size_t)(q - h->value);
		} else {
			if (t->req.nheaders == MAX_TEST_HEADERS ||
			    (colon = memchr(p, ':', (size_t)(q - p))) == NULL)
				return -1;
			h = &t->hdrs[t->req.nheaders++];
			h->name = p;
			h->name_len = (size_t)(colon - p);
			h->value = colon + 1;
			h->value_len = (size_t)(q - colon - 1);
		}
		if (eol == end)
			break;
	}
	if (t->body == NULL)
		t->body = end;
	return 0;
}

static int
treq_from_str(struct treq *t, const char *s)
{
	return treq_parse(t, strdup(s), strlen(s));
}

static void
treq_free(struct treq *t)
{
	free(t->buf);
	t->buf = NULL;
}

static const struct http_header *
treq_header(const struct treq *t, const char *name)
{
	size_t i;

	for (i = 0; i < t->req.nheaders; i++)
		if (t->hdrs[i].name_len == strlen(name) &&
		    strncasecmp(t->hdrs[i].name, name, t->hdrs[i].name_len) == 0)
			return &t->hdrs[i];
	return NULL;
}

static int
is_signed(const struct sigv4_auth *auth, const struct http_header *h)
{
	const char *p = auth->signed_headers;
	size_t n;

	for (;;) {
		n = strcspn(p, ";");
		if (n == h->name_len && strncasecmp(p, h->name, n) == 0)
			return 1;
		if (p[n] == '\0')
			return 0;
		p += n + 1;
	}
}

/*
 * Every signed part changed in turn must break the signature; an added
 * unsigned header must not.
 */
static void
check_tampering(const char *what, const struct sigv4_request *req,
    const struct sigv4_auth *auth, const unsigned char key[SIGV4_KEY_LEN])
{
	struct sigv4_request r;
	struct http_header hdrs[MAX_TEST_HEADERS + 1];
	struct sbuf q = SBUF_INIT;
	size_t i, j;
	int ok = 1;

	r = *req;
	r.method = req->method_len == 3 && memcmp(req->method, "GET", 3) == 0 ?
	    "PUT" : "GET";
	r.method_len = 3;
	T_OK(sigv4_verify(&r, auth, key) == SIGV4_MISMATCH, "%s: method tampered", what);

	r = *req;
	r.path = "/tampered";
	r.path_len = strlen(r.path);
	T_OK(sigv4_verify(&r, auth, key) == SIGV4_MISMATCH, "%s: path tampered", what);

	r = *req;
	if (req->query != NULL) {
		sbuf_append(&q, req->query, req->query_len);
		sbuf_appendc(&q, '&');
	}
	sbuf_appends(&q, "tampered=1");
	r.query = q.data;
	r.query_len = q.len;
	T_OK(sigv4_verify(&r, auth, key) == SIGV4_MISMATCH, "%s: query tampered", what);
	sbuf_free(&q);

	for (i = 0; i < req->nheaders; i++) {
		if (!is_signed(auth, &req->headers[i]))
			continue;
		memcpy(hdrs, req->headers, req->nheaders * sizeof(hdrs[0]));
		r = *req;
		r.headers = hdrs;
		hdrs[i].value = "tampered";
		hdrs[i].value_len = strlen(hdrs[i].value);
		if (sigv4_verify(&r, auth, key) != SIGV4_MISMATCH) {
			ok = 0;
			printf("#   %s: header %.*s changed, still verifies\n", what,
			    (int)hdrs[i].name_len, hdrs[i].name);
		}
		/* Removed (the others shifted down). */
		for (j = i; j + 1 < req->nheaders; j++)
			hdrs[j] = req->headers[j + 1];
		r.nheaders = req->nheaders - 1;
		if (sigv4_verify(&r, auth, key) != SIGV4_MISMATCH) {
			ok = 0;
			printf("#   %s: header %.*s removed, still verifies\n", what,
			    (int)req->headers[i].name_len, req->headers[i].name);
		}
	}
	T_OK(ok, "%s: each signed header changed or removed", what);

	memcpy(hdrs, req->headers, req->nheaders * sizeof(hdrs[0]));
	hdrs[req->nheaders] = (struct http_header){ "X-Unsigned", 10, "1", 1 };
	r = *req;
	r.headers = hdrs;
	r.nheaders = req->nheaders + 1;
	T_OK(sigv4_verify(&r, auth, key) == SIGV4_OK,
	    "%s: an added unsigned header does not matter", what);
}

/* ---- the AWS SigV4 test suite ---- */

static const char *const suite_cases[] = {
	"get-header-key-duplicate", "get-header-value-multiline",
	"get-header-value-order", "get-header-value-trim",
	"get-relative-normalized", "get-relative-relative-normalized",
	"get-relative-relative-unnormalized", "get-relative-unnormalized",
	"get-slash-dot-slash-normalized", "get-slash-dot-slash-unnormalized",
	"get-slash-normalized", "get-slash-pointless-dot-normalized",
	"get-slash-pointless-dot-unnormalized", "get-slash-unnormalized",
	"get-slashes-normalized", "get-slashes-unnormalized",
	"get-space-normalized", "get-space-unnormalized", "get-unreserved",
	"get-utf8", "get-vanilla", "get-vanilla-empty-query-key",
	"get-vanilla-query", "get-vanilla-query-order-encoded",
	"get-vanilla-query-order-key-case", "get-vanilla-query-unreserved",
	"get-vanilla-utf8-query", "get-vanilla-with-session-token",
	"post-header-key-case", "post-header-key-sort", "post-header-value-case",
	"post-sts-header-after", "post-sts-header-before", "post-vanilla",
	"post-vanilla-empty-query-value", "post-vanilla-query",
	"post-x-www-form-urlencoded", "post-x-www-form-urlencoded-parameters",
};

static void
suite_case(const char *name, const char *form)
{
	char sub[256], file[64], what[300];
	char *ctx, *secret = NULL, *region = NULL, *service = NULL;
	char *signed_req, *want_cr = NULL, *want_sts = NULL, *want_sig = NULL;
	size_t len;
	struct treq t;
	struct sigv4_auth auth;
	struct sbuf cr = SBUF_INIT, sts = SBUF_INIT;
	const struct http_header *h;
	unsigned char key[SIGV4_KEY_LEN];
	enum sigv4_status st;
	int header_form = strcmp(form, "header") == 0;

	snprintf(sub, sizeof(sub), "aws/%s", name);
	snprintf(what, sizeof(what), "aws %s (%s)", name, form);
	snprintf(file, sizeof(file), "%s-signed-request.txt", form);
	if ((ctx = slurp(sub, "context.json", NULL)) == NULL ||
	    (signed_req = slurp(sub, file, &len)) == NULL) {
		T_OK(0, "%s: test data missing under %s", what, data_dir());
		free(ctx);
		return;
	}
	secret = json_str(ctx, "secret_access_key");
	region = json_str(ctx, "region");
	service = json_str(ctx, "service");
	snprintf(file, sizeof(file), "%s-canonical-request.txt", form);
	want_cr = slurp(sub, file, NULL);
	snprintf(file, sizeof(file), "%s-string-to-sign.txt", form);
	want_sts = slurp(sub, file, NULL);
	snprintf(file, sizeof(file), "%s-signature.txt", form);
	want_sig = slurp(sub, file, NULL);
	if (secret == NULL || region == NULL || service == NULL ||
	    want_cr == NULL || want_sts == NULL || want_sig == NULL ||
	    treq_parse(&t, signed_req, len) == -1) {
		T_OK(0, "%s: test data unreadable", what);
		goto out;
	}
	chomp(want_sig);

	st = sigv4_parse(&t.req, &auth);
	if (header_form) {
		/*
		 * The generic suite sends no x-amz-content-sha256, which S3
		 * requires; take the Authorization header apart directly.
		 */
		T_OK(st == SIGV4_OK || st == SIGV4_MISSING_CONTENT_SHA256,
		    "%s: sigv4_parse (status %d)", what, st);
		memset(&auth, 0, sizeof(auth));
		h = treq_header(&t, "authorization");
		st = h ? sigv4_parse_authorization(h->value, h->value_len, &auth) :
		    SIGV4_ANONYMOUS;
		T_OK(st == SIGV4_OK, "%s: sigv4_parse_authorization", what);
		h = treq_header(&t, "x-amz-date");
		if (h != NULL && h->value_len == 16)
			memcpy(auth.amz_date, h->value, 16);
	} else {
		T_OK(st == SIGV4_OK, "%s: sigv4_parse (status %d)", what, st);
		T_OK(auth.presigned && auth.expires == 3600, "%s: presigned, expires",
		    what);
		T_STREQ(auth.payload_hash, SIGV4_UNSIGNED_PAYLOAD,
		    "%s: S3 presigned payload hash", what);
	}
	/* The generic service signs the body hash, in both forms. */
	sigv4_sha256_hex(t.body, t.body_len, auth.payload_hash);

	sigv4_canonical_request(&t.req, &auth, 0, &cr);
	T_STREQ(cr.data, want_cr, "%s: canonical request", what);
	sigv4_string_to_sign(&auth, cr.data, cr.len, &sts);
	T_STREQ(sts.data, want_sts, "%s: string to sign", what);
	T_STREQ(auth.signature, want_sig, "%s: signature as sent", what);
	sigv4_signing_key(secret, strlen(secret), auth.scope_date, region, service, key);
	T_OK(sigv4_verify(&t.req, &auth, key) == SIGV4_OK, "%s: sigv4_verify", what);
	check_tampering(what, &t.req, &auth, key);
	T_OK(sigv4_check(&auth, T_20130524, region) == SIGV4_WRONG_SERVICE,
	    "%s: service \"%s\" is not s3", what, service);
	treq_free(&t);
 out:
	sbuf_free(&cr);
	sbuf_free(&sts);
	free(ctx);
	free(secret);
	free(region);
	free(service);
	free(want_cr);
	free(want_sts);
	free(want_sig);
}

static void
test_suite(void)
{
	size_t i, n;
	const char *name;

	for (i = 0; i < sizeof(suite_cases) / sizeof(suite_cases[0]); i++) {
		name = suite_cases[i];
		n = strlen(name);
		if (n > 11 && strcmp(name + n - 11, "-normalized") == 0) {
			T_SKIP("aws %s # S3 does not normalise paths", name);
			continue;
		}
		suite_case(name, "header");
		if (strcmp(name, "post-sts-header-after") == 0) {
			T_SKIP("aws %s (query) # the token is added to the query "
			    "after signing; S3 signs every query parameter but "
			    "X-Amz-Signature", name);
			continue;
		}
		suite_case(name, "query");
	}
}

/* ---- S3 examples from the AWS documentation (sigv4-header-based-auth) ---- */

static void
check_head(const char *what, const char *head, time_t now,
    enum sigv4_status want_parse, enum sigv4_status want_check,
    enum sigv4_status want_verify)
{
	struct treq t;
	struct sigv4_auth auth;
	unsigned char key[SIGV4_KEY_LEN];
	enum sigv4_status st;

	if (treq_from_str(&t, head) == -1) {
		T_OK(0, "%s: test head unreadable", what);
		return;
	}
	st = sigv4_parse(&t.req, &auth);
	T_OK(st == want_parse, "%s: sigv4_parse %d (want %d)", what, st, want_parse);
	if (st == SIGV4_OK && want_parse == SIGV4_OK) {
		st = sigv4_check(&auth, now, REGION);
		T_OK(st == want_check, "%s: sigv4_check %d (want %d)", what, st,
		    want_check);
		sigv4_signing_key(SECRET, strlen(SECRET), auth.scope_date, REGION,
		    "s3", key);
		st = sigv4_verify(&t.req, &auth, key);
		T_OK(st == want_verify, "%s: sigv4_verify %d (want %d)", what, st,
		    want_verify);
		if (st == SIGV4_OK)
			check_tampering(what, &t.req, &auth, key);
	}
	treq_free(&t);
}

#define DOC_GET_SIG "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41"
#define DOC_PRESIGN_Q \
	"X-Amz-Algorithm=AWS4-HMAC-SHA256" \
	"&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request" \
	"&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host" \
	"&X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404"

static const char doc_get[] =
    "GET /test.txt HTTP/1.1\n"
    "Host: examplebucket.s3.amazonaws.com\n"
    "Authorization: AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,SignedHeaders=host;range;x-amz-content-sha256;x-amz-date,Signature=" DOC_GET_SIG "\n"
    "Range: bytes=0-9\n"
    "x-amz-content-sha256:" EMPTY_SHA256 "\n"
    "x-amz-date: 20130524T000000Z\n"
    "\n";

static void
test_doc_examples(void)
{
	unsigned char key[SIGV4_KEY_LEN];
	struct sbuf sb = SBUF_INIT;
	struct http_header h[4] = {
		{ "host", 4, "examplebucket.s3.amazonaws.com", 30 },
		{ "range", 5, "bytes=0-9", 9 },
		{ "x-amz-content-sha256", 20, EMPTY_SHA256, 64 },
		{ "x-amz-date", 10, "20130524T000000Z", 16 },
	};

	check_head("S3 doc GET /test.txt", doc_get, T_20130524,
	    SIGV4_OK, SIGV4_OK, SIGV4_OK);
	check_head("S3 doc PUT test$file.text",
	    "PUT /test%24file.text HTTP/1.1\n"
	    "Host: examplebucket.s3.amazonaws.com\n"
	    "Date: Fri, 24 May 2013 00:00:00 GMT\n"
	    "Authorization: AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,SignedHeaders=date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class,Signature=98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd\n"
	    "x-amz-date: 20130524T000000Z\n"
	    "x-amz-storage-class: REDUCED_REDUNDANCY\n"
	    "x-amz-content-sha256: 44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072\n"
	    "\n", T_20130524, SIGV4_OK, SIGV4_OK, SIGV4_OK);
	check_head("S3 doc GET ?lifecycle",
	    "GET /?lifecycle HTTP/1.1\n"
	    "Host: examplebucket.s3.amazonaws.com\n"
	    "Authorization: AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,SignedHeaders=host;x-amz-content-sha256;x-amz-date,Signature=fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543\n"
	    "x-amz-date: 20130524T000000Z\n"
	    "x-amz-content-sha256: " EMPTY_SHA256 "\n"
	    "\n", T_20130524, SIGV4_OK, SIGV4_OK, SIGV4_OK);
	check_head("S3 doc GET ?max-keys=2&prefix=J",
	    "GET /?max-keys=2&prefix=J HTTP/1.1\n"
	    "Host: examplebucket.s3.amazonaws.com\n"
	    "Authorization: AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,SignedHeaders=host;x-amz-content-sha256;x-amz-date,Signature=34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7\n"
	    "x-amz-date: 20130524T000000Z\n"
	    "x-amz-content-sha256: " EMPTY_SHA256 "\n"
	    "\n", T_20130524, SIGV4_OK, SIGV4_OK, SIGV4_OK);
	check_head("S3 doc presigned GET /test.txt",
	    "GET /test.txt?" DOC_PRESIGN_Q " HTTP/1.1\n"
	    "Host: examplebucket.s3.amazonaws.com\n"
	    "\n", T_20130524, SIGV4_OK, SIGV4_OK, SIGV4_OK);

	/* Outbound: sigv4_sign reproduces the documented header. */
	sigv4_signing_key(SECRET, strlen(SECRET), "20130524", REGION, "s3", key);
	sigv4_sign("GET", "/test.txt", "", h, 4, EMPTY_SHA256, "20130524T000000Z",
	    REGION, AKID, key, &sb);
	T_STREQ(sb.data, "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/"
	    "us-east-1/s3/aws4_request, SignedHeaders=host;range;x-amz-content-sha256;"
	    "x-amz-date, Signature=" DOC_GET_SIG, "sigv4_sign: S3 doc GET /test.txt");
	sbuf_reset(&sb);
	sigv4_presign("GET", "examplebucket.s3.amazonaws.com", "/test.txt", NULL,
	    T_20130524, 86400, REGION, AKID, SECRET, &sb);
	T_STREQ(sb.data, DOC_PRESIGN_Q, "sigv4_presign: S3 doc presigned GET /test.txt");
	sbuf_free(&sb);
}

/* ---- S3 round trips: sigv4_sign -> sigv4_parse/check/verify ---- */

static const struct {
	const char	*method;
	const char	*path;		/* as sent */
	const char	*query;		/* as sent; NULL if none */
	const char	*canon_path;	/* what the signer signs */
	const char	*canon_query;
	enum sigv4_status want;
} s3_cases[] = {
	{ "GET", "/bkt/a%20b", NULL, "/bkt/a%20b", "", SIGV4_OK },
	{ "GET", "/bkt/a%2Bb", NULL, "/bkt/a%2Bb", "", SIGV4_OK },
	{ "GET", "/bkt/a+b", NULL, "/bkt/a%2Bb", "", SIGV4_OK },
	{ "GET", "/bkt/a+b", NULL, "/bkt/a+b", "", SIGV4_OK },	/* raw signer */
	{ "GET", "/bkt/100%25", NULL, "/bkt/100%25", "", SIGV4_OK },
	{ "GET", "/bkt/%C3%BC%E2%82%AC.txt", NULL, "/bkt/%C3%BC%E2%82%AC.txt", "", SIGV4_OK },
	{ "GET", "/bkt/%c3%bc", NULL, "/bkt/%C3%BC", "", SIGV4_OK },
	{ "GET", "/bkt//a//b", NULL, "/bkt//a//b", "", SIGV4_OK },
	{ "GET", "/bkt/x/../y/./z", NULL, "/bkt/x/../y/./z", "", SIGV4_OK },
	{ "GET", "/bkt/%2E%2E/a", NULL, "/bkt/../a", "", SIGV4_OK },
	{ "GET", "/bkt/a%2Fb", NULL, "/bkt/a/b", "", SIGV4_OK },
	{ "GET", "/bkt/~u/(x)!", NULL, "/bkt/~u/%28x%29%21", "", SIGV4_OK },
	{ "GET", "/", NULL, "/", "", SIGV4_OK },
	{ "GET", "/bkt", "acl", "/bkt", "acl=", SIGV4_OK },
	{ "POST", "/bkt/k", "uploads", "/bkt/k", "uploads=", SIGV4_OK },
	{ "GET", "/bkt", "prefix=&delimiter=%2F", "/bkt", "delimiter=%2F&prefix=", SIGV4_OK },
	{ "GET", "/bkt", "delimiter=/&prefix=", "/bkt", "delimiter=%2F&prefix=", SIGV4_OK },
	{ "GET", "/bkt", "list-type=2&prefix=a%20b%2Bc&encoding-type=url", "/bkt",
	    "encoding-type=url&list-type=2&prefix=a%20b%2Bc", SIGV4_OK },
	{ "GET", "/bkt", "prefix=a+b", "/bkt", "prefix=a%2Bb", SIGV4_OK },
	{ "PUT", "/bkt/k", "uploadId=a%2Fb%3D%3D&partNumber=1", "/bkt/k",
	    "partNumber=1&uploadId=a%2Fb%3D%3D", SIGV4_OK },
	/* Not normalised, not double-encoded, '+' is not a space. */
	{ "GET", "/bkt/a/./b", NULL, "/bkt/a/b", "", SIGV4_MISMATCH },
	{ "GET", "/bkt//a", NULL, "/bkt/a", "", SIGV4_MISMATCH },
	{ "GET", "/bkt/x/../y", NULL, "/bkt/y", "", SIGV4_MISMATCH },
	{ "GET", "/bkt/a%20b", NULL, "/bkt/a%2520b", "", SIGV4_MISMATCH },
	{ "GET", "/bkt/a+b", NULL, "/bkt/a%20b", "", SIGV4_MISMATCH },
	{ "GET", "/bkt", "prefix=a+b", "/bkt", "prefix=a%20b", SIGV4_MISMATCH },
	{ "GET", "/bkt", "acl", "/bkt", "acl", SIGV4_MISMATCH },
	/* A path that does not decode names no key: refused even if signed raw. */
	{ "GET", "/bkt/a%zz", NULL, "/bkt/a%zz", "", SIGV4_MISMATCH },
	{ "GET", "/bkt/a%00", NULL, "/bkt/a%00", "", SIGV4_MISMATCH },
};

static void
test_s3_round_trips(void)
{
	struct sbuf authz = SBUF_INIT, head = SBUF_INIT;
	struct http_header h[3] = {
		{ "host", 4, "s3.example.org", 14 },
		{ "x-amz-content-sha256", 20, SIGV4_UNSIGNED_PAYLOAD, 16 },
		{ "x-amz-date", 10, "20130524T000000Z", 16 },
	};
	unsigned char key[SIGV4_KEY_LEN];
	char what[256];
	size_t i;

	sigv4_signing_key(SECRET, strlen(SECRET), "20130524", REGION, "s3", key);
	for (i = 0; i < sizeof(s3_cases) / sizeof(s3_cases[0]); i++) {
		sbuf_reset(&authz);
		sbuf_reset(&head);
		sigv4_sign(s3_cases[i].method, s3_cases[i].canon_path,
		    s3_cases[i].canon_query, h, 3, SIGV4_UNSIGNED_PAYLOAD,
		    "20130524T000000Z", REGION, AKID, key, &authz);
		sbuf_appendf(&head, "%s %s%s%s HTTP/1.1\nHost: s3.example.org\n"
		    "X-Amz-Content-SHA256: UNSIGNED-PAYLOAD\n"
		    "X-Amz-Date: 20130524T000000Z\nAuthorization: %s\n\n",
		    s3_cases[i].method, s3_cases[i].path,
		    s3_cases[i].query ? "?" : "",
		    s3_cases[i].query ? s3_cases[i].query : "", authz.data);
		snprintf(what, sizeof(what), "S3 %s %s%s%s signed as %s?%s",
		    s3_cases[i].method, s3_cases[i].path,
		    s3_cases[i].query ? "?" : "",
		    s3_cases[i].query ? s3_cases[i].query : "",
		    s3_cases[i].canon_path, s3_cases[i].canon_query);
		check_head(what, head.data, T_20130524, SIGV4_OK, SIGV4_OK,
		    s3_cases[i].want);
	}
	sbuf_free(&authz);
	sbuf_free(&head);
}

/* ---- statuses ---- */

/*
 * The parsed request is kept until the next call: struct sigv4_auth points
 * into it (the security token), as it points into the head buffer in s3gate.
 */
static enum sigv4_status
parse_str(const char *head, struct sigv4_auth *auth)
{
	static struct treq t;
	static int have;

	if (have)
		treq_free(&t);
	have = 0;
	if (treq_from_str(&t, head) == -1)
		return (enum sigv4_status)-1;
	have = 1;
	return sigv4_parse(&t.req, auth);
}

static enum sigv4_status
check_str(const char *head, time_t now, const char *region)
{
	struct sigv4_auth auth;
	enum sigv4_status st;

	if ((st = parse_str(head, &auth)) != SIGV4_OK)
		return st;
	return sigv4_check(&auth, now, region);
}

/* A GET with header auth, AUTHZ and EXTRA (header lines) spliced in. */
static char *
make_head(const char *authz, const char *extra)
{
	struct sbuf sb = SBUF_INIT;

	sbuf_appendf(&sb, "GET /bkt/k HTTP/1.1\nHost: s3.example.org\n"
	    "%s%s%s", authz ? "Authorization: " : "", authz ? authz : "",
	    authz ? "\n" : "");
	sbuf_appends(&sb, extra ? extra : "x-amz-date: 20130524T000000Z\n"
	    "x-amz-content-sha256: UNSIGNED-PAYLOAD\n");
	sbuf_appends(&sb, "\n");
	return sbuf_steal(&sb);
}

#define SIG64	"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define GOOD_AUTHZ \
	"AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, " \
	"SignedHeaders=host;x-amz-content-sha256;x-amz-date, Signature=" SIG64

static void
t_authz(const char *authz, enum sigv4_status want, const char *what)
{
	struct sigv4_auth auth;
	char *head = make_head(authz, NULL);
	enum sigv4_status st = parse_str(head, &auth);

	T_OK(st == want, "Authorization %s: %d (want %d)", what, st, want);
	free(head);
}

static void
test_authorization_forms(void)
{
	struct sbuf sb = SBUF_INIT;
	char big[300];

	t_authz(GOOD_AUTHZ, SIGV4_OK, "well-formed");
	t_authz("AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,"
	    "SignedHeaders=host;x-amz-content-sha256;x-amz-date,Signature=" SIG64,
	    SIGV4_OK, "no spaces after commas");
	t_authz("AWS4-HMAC-SHA256   Signature=" SIG64 " ,  SignedHeaders=host;x-amz-content-sha256;x-amz-date ,"
	    "Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request  ",
	    SIGV4_OK, "any order, extra spaces");
	t_authz("AWS AKIAIOSFODNN7EXAMPLE:frJIUN8DYpKDtOLCwo//yllqDzg=", SIGV4_V2, "SigV2");
	t_authz("AWS4-ECDSA-P256-SHA256 Credential=x", SIGV4_BAD_ALGORITHM, "SigV4a");
	t_authz("Bearer abc", SIGV4_BAD_ALGORITHM, "Bearer");
	t_authz("", SIGV4_HEADER_MALFORMED, "empty");
	t_authz("AWS4-HMAC-SHA256", SIGV4_HEADER_MALFORMED, "algorithm only");
	t_authz("AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, "
	    "SignedHeaders=host;x-amz-content-sha256;x-amz-date", SIGV4_HEADER_MALFORMED, "no Signature");
	t_authz(GOOD_AUTHZ ",", SIGV4_HEADER_MALFORMED, "trailing comma");
	t_authz(GOOD_AUTHZ ", Signature=" SIG64, SIGV4_HEADER_MALFORMED, "Signature twice");
	t_authz(GOOD_AUTHZ ", Foo=bar", SIGV4_HEADER_MALFORMED, "unknown component");
	t_authz("AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, "
	    "SignedHeaders=host;x-amz-content-sha256;x-amz-date, Signature=" SIG64 "0",
	    SIGV4_HEADER_MALFORMED, "65-char signature");
	t_authz("AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, "
	    "SignedHeaders=host;x-amz-content-sha256;x-amz-date, Signature="
	    "0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef",
	    SIGV4_HEADER_MALFORMED, "upper-case signature");
	t_authz("AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3, "
	    "SignedHeaders=host, Signature=" SIG64, SIGV4_HEADER_MALFORMED, "short credential");
	t_authz("AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request/x, "
	    "SignedHeaders=host, Signature=" SIG64, SIGV4_HEADER_MALFORMED, "long credential");
	t_authz("AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/2013052/us-east-1/s3/aws4_request, "
	    "SignedHeaders=host, Signature=" SIG64, SIGV4_HEADER_MALFORMED, "7-digit scope date");
	t_authz("AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws5_request, "
	    "SignedHeaders=host, Signature=" SIG64, SIGV4_HEADER_MALFORMED, "bad terminator");
	t_authz("AWS4-HMAC-SHA256 Credential=/20130524/us-east-1/s3/aws4_request, "
	    "SignedHeaders=host, Signature=" SIG64, SIGV4_HEADER_MALFORMED, "empty access key");
	t_authz("AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, "
	    "SignedHeaders=x-amz-date;host, Signature=" SIG64, SIGV4_HEADER_MALFORMED, "unsorted SignedHeaders");
	t_authz("AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, "
	    "SignedHeaders=host;host, Signature=" SIG64, SIGV4_HEADER_MALFORMED, "repeated SignedHeaders");
	t_authz("AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, "
	    "SignedHeaders=Host, Signature=" SIG64, SIGV4_HEADER_MALFORMED, "upper-case SignedHeaders");
	t_authz("AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, "
	    "SignedHeaders=host;;x, Signature=" SIG64, SIGV4_HEADER_MALFORMED, "empty SignedHeaders name");
	t_authz("AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, "
	    "SignedHeaders=x-amz-content-sha256;x-amz-date, Signature=" SIG64, SIGV4_HOST_NOT_SIGNED,
	    "host not signed");

	/* Field bounds: the longest that fits passes, one more is refused. */
	memset(big, 'A', sizeof(big));
	sbuf_appendf(&sb, "AWS4-HMAC-SHA256 Credential=%.128s/20130524/us-east-1/s3/aws4_request, "
	    "SignedHeaders=host;x-amz-content-sha256;x-amz-date, Signature=" SIG64, big);
	t_authz(sb.data, SIGV4_OK, "128-byte access key");
	sbuf_reset(&sb);
	sbuf_appendf(&sb, "AWS4-HMAC-SHA256 Credential=%.129s/20130524/us-east-1/s3/aws4_request, "
	    "SignedHeaders=host;x-amz-content-sha256;x-amz-date, Signature=" SIG64, big);
	t_authz(sb.data, SIGV4_HEADER_MALFORMED, "129-byte access key");
	sbuf_reset(&sb);
	sbuf_appendf(&sb, "AWS4-HMAC-SHA256 Credential=AKID/20130524/%.64s/s3/aws4_request, "
	    "SignedHeaders=host;x-amz-content-sha256;x-amz-date, Signature=" SIG64, big);
	t_authz(sb.data, SIGV4_HEADER_MALFORMED, "64-byte region");
	sbuf_reset(&sb);
	sbuf_appendf(&sb, "AWS4-HMAC-SHA256 Credential=AKID/20130524/r/%.16s/aws4_request, "
	    "SignedHeaders=host;x-amz-content-sha256;x-amz-date, Signature=" SIG64, big);
	t_authz(sb.data, SIGV4_HEADER_MALFORMED, "16-byte service");
	sbuf_reset(&sb);
	sbuf_appends(&sb, "AWS4-HMAC-SHA256 Credential=AKID/20130524/r/s3/aws4_request, "
	    "SignedHeaders=host");
	while (sb.len < 1200)
		sbuf_appends(&sb, ";x-amz-meta-aaaaaaaaaaaaaaaaaaaaa");
	sbuf_appends(&sb, ", Signature=" SIG64);
	t_authz(sb.data, SIGV4_HEADER_MALFORMED, "SignedHeaders over 1023 bytes");
	sbuf_free(&sb);
}

static void
test_statuses(void)
{
	struct sigv4_auth auth;
	char *h;

	/* Which mechanism. */
	h = make_head(NULL, NULL);
	T_OK(parse_str(h, &auth) == SIGV4_ANONYMOUS, "no auth: anonymous");
	free(h);
	T_OK(parse_str("GET /bkt/k?AWSAccessKeyId=AKID&Expires=1&Signature=abc HTTP/1.1\n"
	    "Host: h\n\n", &auth) == SIGV4_V2, "V2 query: refused as V2");
	T_OK(parse_str("GET /bkt/k?" DOC_PRESIGN_Q " HTTP/1.1\nHost: h\n"
	    "Authorization: " GOOD_AUTHZ "\nx-amz-date: 20130524T000000Z\n"
	    "x-amz-content-sha256: UNSIGNED-PAYLOAD\n\n", &auth) ==
	    SIGV4_HEADER_MALFORMED, "header and query auth together refused");
	T_OK(parse_str("GET /bkt/k HTTP/1.1\nHost: h\nAuthorization: " GOOD_AUTHZ "\n"
	    "Authorization: " GOOD_AUTHZ "\nx-amz-date: 20130524T000000Z\n"
	    "x-amz-content-sha256: UNSIGNED-PAYLOAD\n\n", &auth) ==
	    SIGV4_HEADER_MALFORMED, "two Authorization headers refused");
	T_OK(parse_str("GET /bkt/k?a=%zz HTTP/1.1\nHost: h\n\n", &auth) ==
	    SIGV4_QUERY_MALFORMED, "malformed query escape");

	/* Dates. */
	h = make_head(GOOD_AUTHZ, "x-amz-content-sha256: UNSIGNED-PAYLOAD\n");
	T_OK(parse_str(h, &auth) == SIGV4_MISSING_DATE, "no date at all");
	free(h);
	h = make_head(GOOD_AUTHZ, "x-amz-date: 20130524T000000\n"
	    "x-amz-content-sha256: UNSIGNED-PAYLOAD\n");
	T_OK(parse_str(h, &auth) == SIGV4_MISSING_DATE, "x-amz-date without Z");
	free(h);
	h = make_head(GOOD_AUTHZ, "x-amz-date: 20130231T000000Z\n"
	    "x-amz-content-sha256: UNSIGNED-PAYLOAD\n");
	T_OK(parse_str(h, &auth) == SIGV4_MISSING_DATE, "x-amz-date on 31 February");
	free(h);
	h = make_head(GOOD_AUTHZ, "Date: Fri, 24 May 2013 00:00:00 GMT\n"
	    "x-amz-content-sha256: UNSIGNED-PAYLOAD\n");
	T_OK(parse_str(h, &auth) == SIGV4_OK && strcmp(auth.amz_date,
	    "20130524T000000Z") == 0 && auth.request_time == T_20130524,
	    "Date header (RFC 1123) as fallback");
	free(h);
	h = make_head(GOOD_AUTHZ, "Date: Friday, 24-May-13 00:00:00 GMT\n"
	    "x-amz-content-sha256: UNSIGNED-PAYLOAD\n");
	T_OK(parse_str(h, &auth) == SIGV4_MISSING_DATE, "RFC 850 Date refused");
	free(h);

	/* x-amz-content-sha256. */
	h = make_head(GOOD_AUTHZ, "x-amz-date: 20130524T000000Z\n");
	T_OK(parse_str(h, &auth) == SIGV4_MISSING_CONTENT_SHA256,
	    "header auth without x-amz-content-sha256");
	free(h);
	{
		static const char *const good[] = {
			EMPTY_SHA256, "UNSIGNED-PAYLOAD",
			"STREAMING-AWS4-HMAC-SHA256-PAYLOAD",
			"STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER",
			"STREAMING-UNSIGNED-PAYLOAD-TRAILER",
			"STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD",
			"STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD-TRAILER",
		};
		static const char *const bad[] = {
			"E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855",
			"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b85",
			"unsigned-payload", "STREAMING-PAYLOAD", "", "UNSIGNED-PAYLOAD-X",
		};
		char extra[256];
		size_t i;

		for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
			snprintf(extra, sizeof(extra), "x-amz-date: 20130524T000000Z\n"
			    "x-amz-content-sha256:  %s \n", good[i]);
			h = make_head(GOOD_AUTHZ, extra);
			T_OK(parse_str(h, &auth) == SIGV4_OK &&
			    strcmp(auth.payload_hash, good[i]) == 0,
			    "x-amz-content-sha256 %s accepted", good[i]);
			free(h);
		}
		for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			snprintf(extra, sizeof(extra), "x-amz-date: 20130524T000000Z\n"
			    "x-amz-content-sha256: %s\n", bad[i]);
			h = make_head(GOOD_AUTHZ, extra);
			T_OK(parse_str(h, &auth) == SIGV4_BAD_CONTENT_SHA256,
			    "x-amz-content-sha256 \"%s\" refused", bad[i]);
			free(h);
		}
	}
	h = make_head(GOOD_AUTHZ, "x-amz-date: 20130524T000000Z\n"
	    "x-amz-content-sha256: UNSIGNED-PAYLOAD\nx-amz-meta-a: b\n");
	T_OK(parse_str(h, &auth) == SIGV4_HEADERS_NOT_SIGNED,
	    "an unsigned x-amz-* header is refused");
	free(h);
	h = make_head(GOOD_AUTHZ, "x-amz-date: 20130524T000000Z\n"
	    "x-amz-content-sha256: UNSIGNED-PAYLOAD\nX-Amzn-Trace-Id: b\n");
	T_OK(parse_str(h, &auth) == SIGV4_OK, "x-amzn-* need not be signed");
	free(h);

	/* Clock skew (header auth). */
	h = make_head(GOOD_AUTHZ, NULL);
	T_OK(check_str(h, T_20130524, REGION) == SIGV4_OK, "skew 0");
	T_OK(check_str(h, T_20130524 + 900, REGION) == SIGV4_OK, "skew +900");
	T_OK(check_str(h, T_20130524 - 900, REGION) == SIGV4_OK, "skew -900");
	T_OK(check_str(h, T_20130524 + 901, REGION) == SIGV4_SKEWED, "skew +901");
	T_OK(check_str(h, T_20130524 - 901, REGION) == SIGV4_SKEWED, "skew -901");
	T_OK(check_str(h, T_20130524, "eu-west-1") == SIGV4_WRONG_REGION,
	    "wrong region");
	free(h);
	h = make_head("AWS4-HMAC-SHA256 Credential=AKID/20130524/us-east-1/ec2/aws4_request, "
	    "SignedHeaders=host;x-amz-content-sha256;x-amz-date, Signature=" SIG64, NULL);
	T_OK(check_str(h, T_20130524, REGION) == SIGV4_WRONG_SERVICE, "wrong service");
	free(h);
	h = make_head("AWS4-HMAC-SHA256 Credential=AKID/20130523/us-east-1/s3/aws4_request, "
	    "SignedHeaders=host;x-amz-content-sha256;x-amz-date, Signature=" SIG64, NULL);
	T_OK(check_str(h, T_20130524, REGION) == SIGV4_SCOPE_DATE,
	    "scope date differs from x-amz-date");
	free(h);
}

static void
t_presigned(const char *expires, time_t now, enum sigv4_status want, const char *what)
{
	char head[1024];

	snprintf(head, sizeof(head), "GET /test.txt?X-Amz-Algorithm=AWS4-HMAC-SHA256"
	    "&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%%2F20130524%%2Fus-east-1%%2Fs3%%2Faws4_request"
	    "&X-Amz-Date=20130524T000000Z&X-Amz-Expires=%s&X-Amz-SignedHeaders=host"
	    "&X-Amz-Signature=" SIG64 " HTTP/1.1\nHost: h\n\n", expires);
	T_OK(check_str(head, now, REGION) == want, "presigned %s", what);
}

static void
test_presigned_statuses(void)
{
	struct sigv4_auth auth;
	const char *q;
	char head[1024];

	t_presigned("86400", T_20130524, SIGV4_OK, "valid");
	t_presigned("86400", T_20130524 + 86400, SIGV4_OK, "at expiry");
	t_presigned("86400", T_20130524 + 86401, SIGV4_EXPIRED, "expired");
	t_presigned("86400", T_20130524 - 900, SIGV4_OK, "15 min early");
	t_presigned("86400", T_20130524 - 901, SIGV4_NOT_YET_VALID, "not yet valid");
	t_presigned("604800", T_20130524, SIGV4_OK, "7 days");
	t_presigned("604801", T_20130524, SIGV4_EXPIRES_TOO_LONG, "7 days + 1 s");
	t_presigned("0", T_20130524, SIGV4_EXPIRES_TOO_LONG, "expires 0");
	t_presigned("99999999999999999999999", T_20130524, SIGV4_EXPIRES_TOO_LONG,
	    "huge expires");
	t_presigned("-1", T_20130524, SIGV4_QUERY_MALFORMED, "negative expires");
	t_presigned("", T_20130524, SIGV4_QUERY_MALFORMED, "empty expires");
	t_presigned("1e3", T_20130524, SIGV4_QUERY_MALFORMED, "non-digit expires");

	/* Each required parameter missing, then doubled. */
	{
		static const char *const names[] = {
			"X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Date",
			"X-Amz-Expires", "X-Amz-SignedHeaders", "X-Amz-Signature",
		};
		static const char base[] = DOC_PRESIGN_Q;
		struct sbuf sb = SBUF_INIT;
		const char *p, *amp;
		size_t i;

		for (i = 0; i < 6; i++) {
			sbuf_reset(&sb);
			sbuf_appends(&sb, "GET /test.txt?");
			/* Copy every parameter but NAMES[i]. */
			for (p = base; *p != '\0'; p = *amp ? amp + 1 : amp) {
				amp = p + strcspn(p, "&");
				if (strncmp(p, names[i], strlen(names[i])) == 0 &&
				    p[strlen(names[i])] == '=')
					continue;
				if (sb.data[sb.len - 1] != '?')
					sbuf_appendc(&sb, '&');
				sbuf_append(&sb, p, (size_t)(amp - p));
			}
			sbuf_appends(&sb, " HTTP/1.1\nHost: h\n\n");
			T_OK(parse_str(sb.data, &auth) == SIGV4_QUERY_MALFORMED,
			    "presigned without %s", names[i]);
			sbuf_reset(&sb);
			sbuf_appendf(&sb, "GET /test.txt?%s&%s=x HTTP/1.1\nHost: h\n\n",
			    base, names[i]);
			T_OK(parse_str(sb.data, &auth) == SIGV4_QUERY_MALFORMED,
			    "presigned with %s twice", names[i]);
		}
		sbuf_free(&sb);
	}
	q = "GET /t?X-Amz-Algorithm=AWS4-HMAC-SHA1&X-Amz-Credential=AKID%2F20130524"
	    "%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20130524T000000Z&X-Amz-Expires=1"
	    "&X-Amz-SignedHeaders=host&X-Amz-Signature=" SIG64 " HTTP/1.1\nHost: h\n\n";
	T_OK(parse_str(q, &auth) == SIGV4_BAD_ALGORITHM, "presigned with another algorithm");
	q = "GET /t?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKID%2F20130524"
	    "%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20130524T000000Z&X-Amz-Expires=1"
	    "&X-Amz-SignedHeaders=x-amz-date&X-Amz-Signature=" SIG64 " HTTP/1.1\nHost: h\n\n";
	T_OK(parse_str(q, &auth) == SIGV4_HOST_NOT_SIGNED, "presigned without host signed");

	/* Presigned with a signed x-amz-content-sha256 header uses it. */
	snprintf(head, sizeof(head), "GET /t?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential="
	    "AKID%%2F20130524%%2Fus-east-1%%2Fs3%%2Faws4_request&X-Amz-Date=20130524T000000Z"
	    "&X-Amz-Expires=1&X-Amz-SignedHeaders=host%%3Bx-amz-content-sha256"
	    "&X-Amz-Security-Token=a%%2Fb%%2B&X-Amz-Signature=" SIG64 " HTTP/1.1\nHost: h\n"
	    "x-amz-content-sha256: %s\n\n", EMPTY_SHA256);
	T_OK(parse_str(head, &auth) == SIGV4_OK &&
	    strcmp(auth.payload_hash, EMPTY_SHA256) == 0,
	    "presigned: signed x-amz-content-sha256 is the payload hash");
	T_OK(auth.security_token != NULL && auth.security_token_len == 8 &&
	    memcmp(auth.security_token, "a%2Fb%2B", 8) == 0,
	    "presigned: security token points at the raw query value");
	T_OK(auth.security_token_encoded == 1, "presigned: token marked encoded");
	snprintf(head, sizeof(head), "GET /t?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential="
	    "AKID%%2F20130524%%2Fus-east-1%%2Fs3%%2Faws4_request&X-Amz-Date=20130524T000000Z"
	    "&X-Amz-Expires=1&X-Amz-SignedHeaders=host&X-Amz-Signature=" SIG64 " HTTP/1.1\n"
	    "Host: h\nx-amz-content-sha256: %s\n\n", EMPTY_SHA256);
	T_OK(parse_str(head, &auth) == SIGV4_HEADERS_NOT_SIGNED,
	    "presigned: unsigned x-amz-content-sha256 header refused");
}

/* ---- real clients ---- */

static const struct {
	const char		*file;
	enum sigv4_status	 parse;
	enum sigv4_status	 verify;
} client_cases[] = {
	{ "awscli1-get-object-special-key.http", SIGV4_OK, SIGV4_OK },
	{ "awscli1-list-objects-v2-prefix.http", SIGV4_OK, SIGV4_OK },
	{ "awscli1-put-object.http", SIGV4_OK, SIGV4_OK },
	{ "awscli1-get-object-acl.http", SIGV4_OK, SIGV4_OK },
	{ "awscli1-create-multipart-upload.http", SIGV4_OK, SIGV4_OK },
	{ "awscli1-presign.http", SIGV4_OK, SIGV4_OK },
	{ "awscli1-presign-curl-normalised-path.http", SIGV4_OK, SIGV4_MISMATCH },
	{ "awscli1-presign-v2.http", SIGV4_V2, SIGV4_OK },
	{ "awscli2-get-object-special-key.http", SIGV4_OK, SIGV4_OK },
	{ "awscli2-list-objects-v2-prefix.http", SIGV4_OK, SIGV4_OK },
	{ "awscli2-put-object.http", SIGV4_OK, SIGV4_OK },
	{ "awscli2-presign.http", SIGV4_OK, SIGV4_OK },
	{ "boto3-get-object-range-token.http", SIGV4_OK, SIGV4_OK },
	{ "boto3-presign-token-response-type.http", SIGV4_OK, SIGV4_OK },
	{ "curl-get-query.http", SIGV4_OK, SIGV4_OK },
	{ "curl-put.http", SIGV4_OK, SIGV4_OK },
	{ "curl-dotdot-meta.http", SIGV4_OK, SIGV4_OK },
	/*
	 * curl 7.88 signs the query as sent: unsorted, and "acl" without
	 * '='.  S3 refuses these too; they work once the URL's query is
	 * already canonical (the two cases above).
	 */
	{ "curl-unsorted-query.http", SIGV4_OK, SIGV4_MISMATCH },
	{ "curl-query-without-equals.http", SIGV4_OK, SIGV4_MISMATCH },
};

static void
test_clients(void)
{
	struct sigv4_keycache *kc = sigv4_keycache_new(8);
	struct sigv4_auth auth;
	struct treq t;
	unsigned char key[SIGV4_KEY_LEN];
	enum sigv4_status st;
	char *buf;
	size_t i, len;

	for (i = 0; i < sizeof(client_cases) / sizeof(client_cases[0]); i++) {
		if ((buf = slurp("clients", client_cases[i].file, &len)) == NULL ||
		    treq_parse(&t, buf, len) == -1) {
			T_OK(0, "client %s: test data missing", client_cases[i].file);
			free(buf);
			continue;
		}
		st = sigv4_parse(&t.req, &auth);
		T_OK(st == client_cases[i].parse, "client %s: sigv4_parse %d",
		    client_cases[i].file, st);
		if (st == SIGV4_OK) {
			/* Verified at the moment it was made. */
			st = sigv4_check(&auth, auth.request_time + 5, REGION);
			T_OK(st == SIGV4_OK, "client %s: sigv4_check %d",
			    client_cases[i].file, st);
			sigv4_keycache_get(kc, auth.access_key_id, SECRET,
			    auth.scope_date, auth.region, key);
			st = sigv4_verify(&t.req, &auth, key);
			T_OK(st == client_cases[i].verify, "client %s: sigv4_verify %d",
			    client_cases[i].file, st);
			if (st == SIGV4_OK)
				check_tampering(client_cases[i].file, &t.req, &auth, key);
		}
		treq_free(&t);
	}
	sigv4_keycache_free(kc);
}

/* ---- outbound and helpers ---- */

#define PRESIGN_EXTRA "response-content-type=text%2Fplain%3B%20charset%3Dutf-8" \
	"&versionId=a%2Bb%2Fc&X-Amz-Algorithm="

static void
test_presign_round_trip(void)
{
	char n1[] = "response-content-type", v1[] = "text/plain; charset=utf-8";
	char n2[] = "versionId", v2[] = "a+b/c";
	struct query_param extra[2] = {
		{ .name = n2, .value = v2, .has_value = 1, .name_len = 9, .value_len = 5 },
		{ .name = n1, .value = v1, .has_value = 1, .name_len = 21, .value_len = 25 },
	};
	struct query_list ql = { extra, 2, 0, 0 };
	struct sbuf q = SBUF_INIT, head = SBUF_INIT;

	sigv4_presign("GET", "pub.example.org", "/bkt/dir/a%20b%2Bc", &ql,
	    T_20130524 + 3600, 600, REGION, AKID, SECRET, &q);
	T_OK(strncmp(q.data, PRESIGN_EXTRA, strlen(PRESIGN_EXTRA)) == 0,
	    "sigv4_presign puts the extra parameters first, encoded");
	sbuf_appendf(&head, "GET /bkt/dir/a%%20b%%2Bc?%s HTTP/1.1\nHost: pub.example.org\n\n",
	    q.data);
	check_head("sigv4_presign round trip", head.data, T_20130524 + 3600,
	    SIGV4_OK, SIGV4_OK, SIGV4_OK);
	sbuf_free(&q);
	sbuf_free(&head);
}

static void
test_keycache(void)
{
	struct sigv4_keycache *kc = sigv4_keycache_new(4);
	unsigned char k1[SIGV4_KEY_LEN], k2[SIGV4_KEY_LEN], want[SIGV4_KEY_LEN];
	char longid[200];
	int i;

	T_OK(kc != NULL, "sigv4_keycache_new");
	T_OK(sigv4_keycache_new(0) == NULL, "sigv4_keycache_new(0) refused");
	sigv4_signing_key(SECRET, strlen(SECRET), "20130524", REGION, "s3", want);
	sigv4_keycache_get(kc, AKID, SECRET, "20130524", REGION, k1);
	sigv4_keycache_get(kc, AKID, SECRET, "20130524", REGION, k2);
	T_OK(memcmp(k1, want, sizeof(want)) == 0 && memcmp(k2, want, sizeof(want)) == 0,
	    "keycache: derived key, then the cached one");
	sigv4_keycache_get(kc, AKID, "rotated-secret", "20130524", REGION, k1);
	sigv4_signing_key("rotated-secret", 14, "20130524", REGION, "s3", want);
	T_OK(memcmp(k1, want, sizeof(want)) == 0, "keycache: rotated secret, new key");
	sigv4_keycache_get(kc, AKID, SECRET, "20130525", REGION, k1);
	sigv4_signing_key(SECRET, strlen(SECRET), "20130525", REGION, "s3", want);
	T_OK(memcmp(k1, want, sizeof(want)) == 0, "keycache: next day, new key");
	/* More entries than slots: collisions replace, answers stay right. */
	for (i = 0; i < 20; i++) {
		snprintf(longid, sizeof(longid), "AKID%d", i);
		sigv4_keycache_get(kc, longid, SECRET, "20130524", REGION, k1);
	}
	sigv4_keycache_get(kc, AKID, SECRET, "20130524", "eu-west-1", k1);
	sigv4_signing_key(SECRET, strlen(SECRET), "20130524", "eu-west-1", "s3", want);
	T_OK(memcmp(k1, want, sizeof(want)) == 0, "keycache: after collisions");
	memset(longid, 'A', sizeof(longid) - 1);
	longid[sizeof(longid) - 1] = '\0';
	sigv4_keycache_get(kc, longid, SECRET, "20130524", REGION, k1);
	sigv4_signing_key(SECRET, strlen(SECRET), "20130524", REGION, "s3", want);
	T_OK(memcmp(k1, want, sizeof(want)) == 0, "keycache: oversize id, uncached");
	sigv4_keycache_free(kc);
	sigv4_keycache_free(NULL);
}

static void
test_helpers(void)
{
	char out[65], date[17];

	sigv4_sha256_hex("", 0, out);
	T_STREQ(out, EMPTY_SHA256, "sha256 of nothing");
	sigv4_format_date(T_20130524, date);
	T_STREQ(date, "20130524T000000Z", "sigv4_format_date");
	sigv4_format_date((time_t)951782400 + 86399, date);
	T_STREQ(date, "20000229T235959Z", "sigv4_format_date leap day");
	T_OK(sigv4_ct_compare("abc", "abc", 3) == 0 &&
	    sigv4_ct_compare("abc", "abd", 3) != 0, "sigv4_ct_compare");
	T_STREQ(sigv4_status_str(SIGV4_EXPIRED), "Request has expired", "status string");
	T_OK(sigv4_status_str((enum sigv4_status)1000) != NULL, "unknown status string");
}

int
main(void)
{
	test_helpers();
	test_suite();
	test_doc_examples();
	test_s3_round_trips();
	test_authorization_forms();
	test_statuses();
	test_presigned_statuses();
	test_clients();
	test_presign_round_trip();
	test_keycache();
	return T_DONE();
}
