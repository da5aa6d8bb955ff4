/*
 * test_forward: the head s3gate sends to the backend (proxy/forward.h).
 *
 * Each case goes the way a request does: the client head is parsed
 * (httpmsg_parse_head), addressed (s3addr_parse, query_parse) and re-built by
 * forward_build_head().  The built head is then parsed back and its
 * signature checked by the inbound verifier (sigv4_parse, sigv4_check,
 * sigv4_verify) with the service key: what is signed is what is sent.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "proxy/forward.h"
#include "proxy/httpmsg.h"
#include "proxy/s3addr.h"
#include "proxy/sbuf.h"
#include "proxy/sigv4.h"
#include "proxy/uri.h"
#include "tests/unit/testlib.h"


#define NOW		((time_t)1700000000)	/* 2023-11-14T22:13:20Z */
#define BACKEND_HOST	"rgw.internal:7480"
#define REGION		"us-east-1"
#define SVC_KEY_ID	"SVCACCESSKEY"
#define SVC_SECRET	"svc/secret+key=="
#define EMPTY_SHA256	"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

static char *const domains[] = { "s3.example.org" };
static const struct http_limits limits = { 65536, 8192, 100 };

static const struct {
	const char	*name;
	const char	*client;	/* the client's head */
	const char	*payload_hash;
	const char	*request_line;	/* what the backend must get */
	const char	*kept[6];	/* "Name: value" lines that must be sent as they came */
	const char	*gone[6];	/* header names that must not be sent (but ours) */
	int		 has_amz_extra;	/* carries x-amz-* headers besides ours */
} cases[] = {
	{ "GET with client header auth",
	  "GET /bucket/key HTTP/1.1\r\n"
	  "Host: s3.example.org\r\n"
	  "Authorization: AWS4-HMAC-SHA256 Credential=AKIDCLIENT/20231114/us-east-1/s3/aws4_request, "
	  "SignedHeaders=host;x-amz-content-sha256;x-amz-date, Signature=0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\r\n"
	  "X-Amz-Date: 20231114T221000Z\r\n"
	  "X-Amz-Content-SHA256: " EMPTY_SHA256 "\r\n"
	  "X-Amz-Security-Token: client-session-token\r\n"
	  "Connection: keep-alive\r\n"
	  "Keep-Alive: timeout=5\r\n"
	  "Range: bytes=100-199\r\n"
	  "If-None-Match: \"abc\"\r\n"
	  "User-Agent: aws-cli/2.13\r\n"
	  "\r\n",
	  EMPTY_SHA256,
	  "GET /bucket/key HTTP/1.1",
	  { "Range: bytes=100-199", "If-None-Match: \"abc\"", "User-Agent: aws-cli/2.13" },
	  { "Connection", "Keep-Alive", "X-Amz-Security-Token" }, 0 },
	{ "PUT with body headers",
	  "PUT /bucket/dir/file.bin HTTP/1.1\r\n"
	  "Host: s3.example.org:8443\r\n"
	  "Content-Length: 1048576\r\n"
	  "Content-Type: application/octet-stream\r\n"
	  "Content-MD5: 1B2M2Y8AsgTpgAmY7PhCfg==\r\n"
	  "Expect: 100-continue\r\n"
	  "TE: trailers\r\n"
	  "Upgrade: h2c\r\n"
	  "Proxy-Authorization: Basic eDp5\r\n"
	  "\r\n",
	  "UNSIGNED-PAYLOAD",
	  "PUT /bucket/dir/file.bin HTTP/1.1",
	  { "Content-Length: 1048576", "Content-Type: application/octet-stream",
	    "Content-MD5: 1B2M2Y8AsgTpgAmY7PhCfg==", "Expect: 100-continue" },
	  { "TE", "Upgrade", "Proxy-Authorization" }, 0 },
	{ "key with spaces, '+', unicode and '//'",
	  "PUT /bucket/a%20b+c/%C3%A9t%c3%a9//x%2By/%7E%21 HTTP/1.1\r\n"
	  "Host: s3.example.org\r\n"
	  "Content-Length: 0\r\n"
	  "\r\n",
	  EMPTY_SHA256,
	  "PUT /bucket/a%20b%2Bc/%C3%A9t%C3%A9//x%2By/~%21 HTTP/1.1",
	  { "Content-Length: 0" }, { NULL }, 0 },
	{ "key with '..', '.' and '%2F'",
	  "GET /bucket/../a/./b%2Fc/.. HTTP/1.1\r\nHost: s3.example.org\r\n\r\n",
	  EMPTY_SHA256,
	  "GET /bucket/../a/./b/c/.. HTTP/1.1", { NULL }, { NULL }, 0 },
	{ "virtual-hosted request goes path style",
	  "GET /some/key.txt?versionId=v1 HTTP/1.1\r\nHost: bucket.s3.example.org\r\n\r\n",
	  EMPTY_SHA256,
	  "GET /bucket/some/key.txt?versionId=v1 HTTP/1.1", { NULL }, { NULL }, 0 },
	{ "presigned: X-Amz-* query params dropped, others canonical",
	  "GET /bucket/key?X-Amz-Algorithm=AWS4-HMAC-SHA256"
	  "&X-Amz-Credential=AKIDCLIENT%2F20231114%2Fus-east-1%2Fs3%2Faws4_request"
	  "&X-Amz-Date=20231114T221000Z&X-Amz-Expires=3600&X-Amz-SignedHeaders=host"
	  "&X-Amz-Security-Token=tok&response-content-type=text%2Fplain"
	  "&response-content-disposition=attachment%3B%20filename%3D%22a%20b.txt%22"
	  "&X-Amz-Signature=0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef HTTP/1.1\r\n"
	  "Host: s3.example.org\r\n\r\n",
	  "UNSIGNED-PAYLOAD",
	  "GET /bucket/key?response-content-disposition=attachment%3B%20filename%3D%22a%20b.txt%22"
	  "&response-content-type=text%2Fplain HTTP/1.1", { NULL }, { NULL }, 0 },
	{ "presigned SigV2: its auth params and session token dropped",
	  "GET /bucket/key?AWSAccessKeyId=AKIDCLIENT&Expires=1700003600"
	  "&Signature=0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	  "&x-amz-security-token=client-session-token&versionId=v1 HTTP/1.1\r\n"
	  "Host: s3.example.org\r\n\r\n",
	  "UNSIGNED-PAYLOAD",
	  "GET /bucket/key?versionId=v1 HTTP/1.1", { NULL }, { NULL }, 0 },
	{ "list: query sorted and S3-encoded",
	  "GET /bucket?prefix=a%2Fb%20c&list-type=2&delimiter=/&max-keys=10&encoding-type=url HTTP/1.1\r\n"
	  "Host: s3.example.org\r\n\r\n",
	  EMPTY_SHA256,
	  "GET /bucket?delimiter=%2F&encoding-type=url&list-type=2&max-keys=10&prefix=a%2Fb%20c HTTP/1.1",
	  { NULL }, { NULL }, 0 },
	{ "subresource without value",
	  "POST /bucket/key?uploads HTTP/1.1\r\nHost: s3.example.org\r\nContent-Length: 0\r\n\r\n",
	  EMPTY_SHA256,
	  "POST /bucket/key?uploads= HTTP/1.1", { "Content-Length: 0" }, { NULL }, 0 },
	{ "ListBuckets",
	  "GET / HTTP/1.1\r\nHost: s3.example.org\r\n\r\n",
	  EMPTY_SHA256, "GET / HTTP/1.1", { NULL }, { NULL }, 0 },
	{ "x-amz-meta-* and x-amz-copy-source kept",
	  "PUT /bucket/copy HTTP/1.1\r\n"
	  "Host: s3.example.org\r\n"
	  "Content-Length: 0\r\n"
	  "x-amz-meta-owner: frank\r\n"
	  "X-Amz-Meta-Note: two  spaces\r\n"
	  "x-amz-copy-source: /bucket/src%20key\r\n"
	  "x-amz-storage-class: STANDARD\r\n"
	  "\r\n",
	  EMPTY_SHA256,
	  "PUT /bucket/copy HTTP/1.1",
	  { "x-amz-meta-owner: frank", "X-Amz-Meta-Note: two  spaces",
	    "x-amz-copy-source: /bucket/src%20key", "x-amz-storage-class: STANDARD" },
	  { NULL }, 1 },
};

/* The lines of HEAD (CRLF-separated, up to the blank line) equal to LINE. */
static int
count_line(const char *head, const char *line)
{
	const char *p = head, *e;
	size_t n = strlen(line);
	int count = 0;

	while ((e = strstr(p, "\r\n")) != NULL && e != p) {
		if ((size_t)(e - p) == n && memcmp(p, line, n) == 0)
			count++;
		p = e + 2;
	}
	return count;
}

/* The header lines of HEAD named NAME (case-insensitive). */
static int
count_header(const struct http_head *h, const char *name)
{
	size_t i, n = strlen(name);
	int count = 0;

	for (i = 0; i < h->nheaders; i++)
		if (h->headers[i].name_len == n && strncasecmp(h->headers[i].name, name, n) == 0)
			count++;
	return count;
}

static int
header_is(const struct http_head *h, const char *name, const char *value)
{
	const struct http_header *hd = httpmsg_header_find(h, name);

	return hd != NULL && hd->value_len == strlen(value) && memcmp(hd->value, value, hd->value_len) == 0;
}

static void
run_case(size_t ci, const unsigned char key[SIGV4_KEY_LEN], struct forward_scratch *scratch)
{
	const char *n = cases[ci].name, *client = cases[ci].client;
	struct http_head *ch = calloc(1, sizeof(*ch)), *bh = calloc(1, sizeof(*bh));
	const struct http_header *host;
	struct forward_target t = { BACKEND_HOST, REGION, SVC_KEY_ID, key, 0, 0, scratch, 0, 0 };
	struct query_list ql = { NULL, 0, 0, 0 };
	struct sigv4_request req;
	struct sigv4_auth auth;
	struct sbuf out = SBUF_INIT;
	struct s3addr a;
	enum sigv4_status st;
	enum s3err err;
	const char *q;
	size_t i;

	if (httpmsg_parse_head(client, strlen(client), 0, &limits, ch) != HTTP_PARSE_DONE) {
		T_OK(0, "%s: client head parses (%s)", n, ch->error);
		goto out;
	}
	host = httpmsg_header_find(ch, "host");
	if (s3addr_parse(ch->target, ch->target_len, host->value, host->value_len, domains, 1, &a,
	    &err) == -1) {
		T_OK(0, "%s: client target addressed (err %d)", n, err);
		goto out;
	}
	if (a.raw_query != NULL && query_parse(a.raw_query, a.raw_query_len, 100, &ql) == -1) {
		T_OK(0, "%s: client query parses", n);
		goto out_addr;
	}
	/* as conn_backend_start: the length s3gate relays */
	t.has_length = ch->has_content_length;
	t.length = ch->content_length;
	T_OK(forward_build_head(&out, ch->method, &a, &ql, ch, cases[ci].payload_hash, &t, NOW) == 0,
	    "%s: built", n);

	/* the request line, exactly */
	T_OK(strncmp(out.data, cases[ci].request_line, strlen(cases[ci].request_line)) == 0 &&
	    strncmp(out.data + strlen(cases[ci].request_line), "\r\n", 2) == 0, "%s: request line", n);
	if (strncmp(out.data, cases[ci].request_line, strlen(cases[ci].request_line)) != 0)
		printf("#   got:  %.*s\n#   want: %s\n", (int)strcspn(out.data, "\r"), out.data,
		    cases[ci].request_line);

	/* it parses back as one whole head */
	if (httpmsg_parse_head(out.data, out.len, 0, &limits, bh) != HTTP_PARSE_DONE || bh->head_len != out.len) {
		T_OK(0, "%s: built head parses back (%s)", n, bh->error ? bh->error : "incomplete");
		goto out_query;
	}
	T_OK(1, "%s: built head parses back", n);

	/* headers: ours once each, the client's auth and hop-by-hop gone, the rest kept */
	T_OK(count_header(bh, "host") == 1 && header_is(bh, "host", BACKEND_HOST), "%s: Host is the backend's", n);
	T_OK(count_header(bh, "authorization") == 1, "%s: one Authorization", n);
	{
		const struct http_header *az = httpmsg_header_find(bh, "authorization");
		const char *pfx = "AWS4-HMAC-SHA256 Credential=" SVC_KEY_ID "/20231114/" REGION "/s3/aws4_request, ";
		T_OK(az != NULL && az->value_len > strlen(pfx) && memcmp(az->value, pfx, strlen(pfx)) == 0,
		    "%s: Authorization is for the service key", n);
	}
	T_OK(count_header(bh, "x-amz-date") == 1 && header_is(bh, "x-amz-date", "20231114T221320Z"),
	    "%s: x-amz-date is now", n);
	T_OK(count_header(bh, "x-amz-content-sha256") == 1 &&
	    header_is(bh, "x-amz-content-sha256", cases[ci].payload_hash),
	    "%s: x-amz-content-sha256 is the payload hash passed", n);
	for (i = 0; i < 6 && cases[ci].kept[i] != NULL; i++)
		T_OK(count_line(out.data, cases[ci].kept[i]) == 1, "%s: kept \"%s\"", n, cases[ci].kept[i]);
	for (i = 0; i < 6 && cases[ci].gone[i] != NULL; i++)
		T_OK(count_header(bh, cases[ci].gone[i]) == 0, "%s: dropped %s", n, cases[ci].gone[i]);
	T_OK(strstr(out.data, "AKIDCLIENT") == NULL && strstr(out.data, "client-session-token") == NULL &&
	    strstr(out.data, "0123456789abcdef0123456789abcdef") == NULL && strstr(out.data, "X-Amz-Credential") == NULL &&
	    strstr(out.data, "X-Amz-Signature") == NULL && strstr(out.data, "X-Amz-Security-Token") == NULL,
	    "%s: nothing of the client's auth is sent", n);
	T_OK(strstr(out.data, SVC_SECRET) == NULL, "%s: the service secret is not sent", n);

	/* the inbound verifier accepts what was sent, with the service key */
	memset(&req, 0, sizeof(req));
	req.method = bh->method;
	req.method_len = bh->method_len;
	req.path = bh->target;
	q = memchr(bh->target, '?', bh->target_len);
	req.path_len = q ? (size_t)(q - bh->target) : bh->target_len;
	if (q != NULL) {
		req.query = q + 1;
		req.query_len = bh->target_len - req.path_len - 1;
	}
	req.headers = bh->headers;
	req.nheaders = bh->nheaders;
	st = sigv4_parse(&req, &auth);
	if (cases[ci].has_amz_extra)
		T_OK(st == SIGV4_OK, "%s: every forwarded x-amz-* header is signed (sigv4_parse %d: %s)", n, st,
		    sigv4_status_str(st));
	else
		T_OK(st == SIGV4_OK, "%s: sigv4_parse of the built head (%s)", n, sigv4_status_str(st));
	if (st != SIGV4_OK && st != SIGV4_HEADERS_NOT_SIGNED)
		goto out_query;
	T_STREQ(auth.access_key_id, SVC_KEY_ID, "%s: signed by the service key", n);
	T_OK(sigv4_check(&auth, NOW, REGION) == SIGV4_OK, "%s: sigv4_check", n);
	T_OK(sigv4_verify(&req, &auth, key) == SIGV4_OK, "%s: sigv4_verify with the service key", n);
	{
		unsigned char other[SIGV4_KEY_LEN];
		sigv4_signing_key("wrong", 5, "20231114", REGION, "s3", other);
		T_OK(sigv4_verify(&req, &auth, other) == SIGV4_MISMATCH, "%s: another key does not verify", n);
	}
	T_OK(strstr(auth.signed_headers, "host") != NULL &&
	    strstr(auth.signed_headers, "x-amz-content-sha256") != NULL &&
	    strstr(auth.signed_headers, "x-amz-date") != NULL, "%s: host, x-amz-content-sha256, x-amz-date signed", n);
out_query:
	query_free(&ql);
out_addr:
	s3addr_free(&a);
out:
	sbuf_free(&out);
	free(ch);
	free(bh);
}

/* A changed byte anywhere in what is signed breaks the signature. */
static void
test_tamper(const unsigned char key[SIGV4_KEY_LEN])
{
	static const char client[] = "GET /bucket/a%20b?versionId=1 HTTP/1.1\r\nHost: s3.example.org\r\n\r\n";
	static const char *const swaps[][2] = {
		{ "/bucket/a%20b", "/bucket/a%20c" },
		{ "versionId=1", "versionId=2" },
		{ "Host: " BACKEND_HOST, "Host: rgw.internal:7481" },
		{ "x-amz-date: 20231114T221320Z", "x-amz-date: 20231114T221321Z" },
		{ "GET /", "PUT /" },
	};
	struct http_head *ch = calloc(1, sizeof(*ch)), *bh = calloc(1, sizeof(*bh));
	struct forward_target t = { BACKEND_HOST, REGION, SVC_KEY_ID, key, 0, 0, NULL, 0, 0 };
	struct query_list ql;
	struct s3addr a;
	enum s3err err;
	size_t i;

	httpmsg_parse_head(client, strlen(client), 0, &limits, ch);
	s3addr_parse(ch->target, ch->target_len, NULL, 0, domains, 1, &a, &err);
	query_parse(a.raw_query, a.raw_query_len, 100, &ql);
	for (i = 0; i < sizeof(swaps) / sizeof(swaps[0]); i++) {
		struct sbuf out = SBUF_INIT;
		struct sigv4_request req;
		struct sigv4_auth auth;
		char *p;
		const char *q;

		forward_build_head(&out, ch->method, &a, &ql, ch, EMPTY_SHA256, &t, NOW);
		p = strstr(out.data, swaps[i][0]);
		if (p == NULL || strlen(swaps[i][0]) != strlen(swaps[i][1])) {
			T_OK(0, "tamper %zu: \"%s\" in the built head", i, swaps[i][0]);
			sbuf_free(&out);
			continue;
		}
		memcpy(p, swaps[i][1], strlen(swaps[i][1]));
		httpmsg_parse_head(out.data, out.len, 0, &limits, bh);
		memset(&req, 0, sizeof(req));
		req.method = bh->method;
		req.method_len = bh->method_len;
		req.path = bh->target;
		q = memchr(bh->target, '?', bh->target_len);
		req.path_len = q ? (size_t)(q - bh->target) : bh->target_len;
		req.query = q ? q + 1 : NULL;
		req.query_len = q ? bh->target_len - req.path_len - 1 : 0;
		req.headers = bh->headers;
		req.nheaders = bh->nheaders;
		T_OK(sigv4_parse(&req, &auth) == SIGV4_OK && sigv4_verify(&req, &auth, key) == SIGV4_MISMATCH,
		    "tamper: \"%s\" -> \"%s\" breaks the signature", swaps[i][0], swaps[i][1]);
		sbuf_free(&out);
	}
	query_free(&ql);
	s3addr_free(&a);
	free(ch);
	free(bh);
}

static void
test_dropped(void)
{
	static const struct { const char *name; int req, resp; } v[] = {
		{ "Authorization", 1, 0 }, { "authorization", 1, 0 }, { "Host", 1, 0 },
		{ "X-Amz-Date", 1, 0 }, { "x-amz-security-token", 1, 0 }, { "X-Amz-Content-Sha256", 1, 0 },
		{ "Connection", 1, 1 }, { "Keep-Alive", 1, 1 }, { "Proxy-Connection", 1, 1 },
		{ "TE", 1, 1 }, { "Upgrade", 1, 1 }, { "Transfer-Encoding", 1, 0 },
		{ "Proxy-Authorization", 1, 0 }, { "Trailer", 1, 0 },
		{ "Content-Length", 0, 0 }, { "Content-Type", 0, 0 }, { "Range", 0, 0 }, { "Expect", 0, 0 },
		{ "x-amz-meta-a", 0, 0 }, { "ETag", 0, 0 }, { "x-amz-request-id", 0, 0 },
		{ "Authorizatio", 0, 0 }, { "Hostx", 0, 0 },
		/* RGW's statistics of the whole bucket and the service account's quotas */
		{ "X-RGW-Object-Count", 0, 1 }, { "x-rgw-bytes-used", 0, 1 },
		{ "X-RGW-Quota-User-Size", 0, 1 }, { "x-rgw-object-type", 0, 1 },
		{ "x-rgw", 0, 0 }, { "x-rgwx", 0, 0 }, { "x-amz-rgw-x", 0, 0 },
	};
	size_t i;

	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		struct http_header h = { v[i].name, strlen(v[i].name), "x", 1 };
		T_OK(forward_header_dropped(v[i].name, strlen(v[i].name)) == v[i].req,
		    "forward_header_dropped(%s) == %d", v[i].name, v[i].req);
		T_OK(forward_response_header_dropped(&h, NULL, 200) == v[i].resp,
		    "forward_response_header_dropped(%s) == %d", v[i].name, v[i].resp);
	}
	/* a Location naming a host is the backend's; a path is the client's too */
	static const struct { const char *value; int dropped; } loc[] = {
		{ "http://10.0.0.7:7480/b/k", 1 }, { "HTTPS://rgw.internal/b", 1 },
		{ "//rgw.internal/b", 1 }, { "rgw.internal/b", 1 }, { "", 1 },
		{ "/b", 0 }, { "/b/a://c", 0 }, { "/", 0 },
	};
	for (i = 0; i < sizeof(loc) / sizeof(loc[0]); i++) {
		struct http_header h = { "Location", 8, loc[i].value, strlen(loc[i].value) };
		T_OK(forward_response_header_dropped(&h, NULL, 301) == loc[i].dropped,
		    "forward_response_header_dropped(Location: %s) == %d", loc[i].value, loc[i].dropped);
	}
}

/*
 * The backend's answer: what its Connection header names stays on its hop
 * (RFC 9110 7.6.1) but the framing, which s3gate relays as the backend
 * framed it; a 204 carries no framing header at all (RFC 9110 8.6).
 */
static void
test_response_hop_by_hop(void)
{
	static const char conn_value[] = " keep-alive ,, X-Hop\t, content-length,Transfer-Encoding ,ETag";
	struct http_header conn = { "Connection", 10, conn_value, strlen(conn_value) };
	static const struct { const char *name; int status, dropped; } v[] = {
		{ "X-Hop", 200, 1 }, { "x-hop", 200, 1 }, { "ETag", 200, 1 }, { "X-Ho", 200, 0 },
		{ "X-Hop2", 200, 0 }, { "Content-Type", 200, 0 }, { "x-amz-request-id", 200, 0 },
		{ "Content-Length", 200, 0 }, { "Transfer-Encoding", 200, 0 },
		{ "Content-Length", 204, 1 }, { "transfer-encoding", 204, 1 },
		{ "Content-Length", 304, 0 }, { "Content-Length", 206, 0 },
	};
	size_t i;

	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		struct http_header h = { v[i].name, strlen(v[i].name), "1", 1 };
		T_OK(forward_response_header_dropped(&h, &conn, v[i].status) == v[i].dropped,
		    "a %d answer's %s, Connection:%s: %s", v[i].status, v[i].name, conn_value,
		    v[i].dropped ? "dropped" : "relayed");
	}
	struct http_header etag = { "ETag", 4, "\"x\"", 3 };
	T_OK(!forward_response_header_dropped(&etag, NULL, 200), "no Connection header: ETag relayed");

	/* the Connection header worth looking at per header: one naming another than keep-alive, close */
	static const struct { const char *value; int named; } cv[] = {
		{ "keep-alive", 0 }, { "Keep-Alive", 0 }, { "close", 0 }, { " close , keep-alive ,", 0 },
		{ "", 0 }, { "keep-alive, X-Hop", 1 }, { "upgrade", 1 }, { "closed", 1 },
	};
	for (i = 0; i < sizeof(cv) / sizeof(cv[0]); i++) {
		struct http_head *r = calloc(1, sizeof(*r));
		r->headers[0] = (struct http_header){ "Connection", 10, cv[i].value, strlen(cv[i].value) };
		r->nheaders = 1;
		T_OK((forward_response_connection(r) != NULL) == cv[i].named,
		    "Connection: %s %s", cv[i].value, cv[i].named ? "names a header" : "names none");
		free(r);
	}
}

/* RFC 9110 7.6.1: headers named in Connection are hop-by-hop too. */
static void
test_connection_named(const unsigned char key[SIGV4_KEY_LEN])
{
	static const char client[] =
	    "GET /bucket/k HTTP/1.1\r\nHost: s3.example.org\r\nConnection: keep-alive, X-Hop\r\n"
	    "X-Hop: secret-to-this-hop\r\n\r\n";
	struct http_head *ch = calloc(1, sizeof(*ch));
	struct forward_target t = { BACKEND_HOST, REGION, SVC_KEY_ID, key, 0, 0, NULL, 0, 0 };
	struct query_list ql = { NULL, 0, 0, 0 };
	struct sbuf out = SBUF_INIT;
	struct s3addr a;
	enum s3err err;

	httpmsg_parse_head(client, strlen(client), 0, &limits, ch);
	s3addr_parse(ch->target, ch->target_len, NULL, 0, domains, 1, &a, &err);
	forward_build_head(&out, ch->method, &a, &ql, ch, EMPTY_SHA256, &t, NOW);
	T_OK(strstr(out.data, "X-Hop") == NULL, "a header named in Connection is not forwarded");
	sbuf_free(&out);
	s3addr_free(&a);
	free(ch);
}

/*
 * The backend's framing is s3gate's: the Content-Length sent is the length
 * s3gate relays, once, never a copy of the client's header (httpmsg refuses
 * a Connection header naming Content-Length, the way a client could once
 * drop it and leave the body to be read as a request of its own).
 */
static void
test_length_is_ours(const unsigned char key[SIGV4_KEY_LEN])
{
	static const char client[] =
	    "PUT /bucket/k HTTP/1.1\r\nHost: s3.example.org\r\nContent-Length: 49\r\n"
	    "Connection: keep-alive, X-Hop\r\n\r\n";
	struct http_head *ch = calloc(1, sizeof(*ch)), *bh = calloc(1, sizeof(*bh));
	struct forward_target t = { BACKEND_HOST, REGION, SVC_KEY_ID, key, 0, 0, NULL, 1, 7 };
	struct query_list ql = { NULL, 0, 0, 0 };
	struct sbuf out = SBUF_INIT;
	struct s3addr a;
	enum s3err err;

	if (httpmsg_parse_head(client, strlen(client), 0, &limits, ch) != HTTP_PARSE_DONE ||
	    s3addr_parse(ch->target, ch->target_len, NULL, 0, domains, 1, &a, &err) == -1) {
		T_OK(0, "length: the client head parses");
		free(ch);
		free(bh);
		return;
	}
	forward_build_head(&out, ch->method, &a, &ql, ch, "UNSIGNED-PAYLOAD", &t, NOW);
	T_OK(httpmsg_parse_head(out.data, out.len, 0, &limits, bh) == HTTP_PARSE_DONE &&
	    count_header(bh, "content-length") == 1 && bh->content_length == 7,
	    "the Content-Length sent is the length s3gate relays, not the client's header");
	sbuf_reset(&out);
	t.has_length = 0;
	forward_build_head(&out, ch->method, &a, &ql, ch, "UNSIGNED-PAYLOAD", &t, NOW);
	T_OK(httpmsg_parse_head(out.data, out.len, 0, &limits, bh) == HTTP_PARSE_DONE &&
	    count_header(bh, "content-length") == 0,
	    "no length to relay: no Content-Length, whatever the client sent");
	sbuf_free(&out);
	s3addr_free(&a);
	free(ch);
	free(bh);
}

int
main(void)
{
	struct forward_scratch scratch = { SBUF_INIT, SBUF_INIT, SBUF_INIT };
	unsigned char key[SIGV4_KEY_LEN];
	size_t i;

	sigv4_signing_key(SVC_SECRET, strlen(SVC_SECRET), "20231114", REGION, "s3", key);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		run_case(i, key, NULL);
	/*
	 * Again through one scratch, as a worker builds every head: nothing a
	 * case left there may show in the next one's head or signature.
	 */
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		run_case(i, key, &scratch);
	T_OK(scratch.auth.data != NULL && scratch.auth.len == 0 &&
	    scratch.auth.data[0] == '\0' && scratch.path.len == 0 && scratch.query.len == 0,
	    "the scratch is kept, and left empty");
	forward_scratch_free(&scratch);
	test_tamper(key);
	test_dropped();
	test_response_hop_by_hop();
	test_connection_named(key);
	test_length_is_ours(key);
	return T_DONE();
}
