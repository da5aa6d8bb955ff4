/*
 * test_respond: the answers s3gate makes itself (proxy/respond.h).  Which
 * CORS headers an error answer carries, decided from the request head as
 * far as it was parsed (whole, malformed, too large, still coming); and a
 * whole error answer built with them reads back as one head with each
 * header once.
 */
#include <stdio.h>
#include <string.h>

#include "proxy/httpmsg.h"
#include "proxy/respond.h"
#include "proxy/sbuf.h"
#include "tests/unit/testlib.h"

#define ALLOW	RESPOND_CORS_ALLOW
#define VARY	RESPOND_CORS_VARY

static const struct {
	const char	*name;
	const char	*head;
	int		 on;		/* cors_errors */
	const char	*want;
} cases[] = {
	{ "a page's GET with Origin", "GET /b/k HTTP/1.1\r\nHost: s3\r\nOrigin: https://app.example\r\n\r\n",
	  1, ALLOW },
	{ "Origin in any case", "GET /b/k HTTP/1.1\r\nHost: s3\r\noRIGIN: https://app.example\r\n\r\n", 1, ALLOW },
	{ "Origin: null (a sandboxed frame, a file: page)", "GET /b/k HTTP/1.1\r\nHost: s3\r\nOrigin: null\r\n\r\n",
	  1, ALLOW },
	{ "a signed PUT with Origin among many headers",
	  "PUT /b/k HTTP/1.1\r\nHost: s3\r\nContent-Length: 0\r\nx-amz-date: 20260101T000000Z\r\n"
	  "Authorization: AWS4-HMAC-SHA256 Credential=x\r\nOrigin: https://app.example\r\n\r\n", 1, ALLOW },
	{ "no Origin (curl, aws-cli): Vary only", "GET /b/k HTTP/1.1\r\nHost: s3\r\n\r\n", 1, VARY },
	{ "a header that ends in Origin is not Origin", "GET /b/k HTTP/1.1\r\nHost: s3\r\nX-Origin: a\r\n\r\n",
	  1, VARY },
	{ "cors_errors off: nothing, Origin or not",
	  "GET /b/k HTTP/1.1\r\nHost: s3\r\nOrigin: https://app.example\r\n\r\n", 0, "" },
	{ "cors_errors off, no Origin", "GET /b/k HTTP/1.1\r\nHost: s3\r\n\r\n", 0, "" },
	{ "a preflight's refusal stays bare",
	  "OPTIONS /b/k HTTP/1.1\r\nHost: s3\r\nOrigin: https://app.example\r\n"
	  "Access-Control-Request-Method: PUT\r\n\r\n", 1, "" },
	{ "any OPTIONS stays bare", "OPTIONS /b/k HTTP/1.1\r\nHost: s3\r\nOrigin: https://app.example\r\n\r\n",
	  1, "" },
	{ "OPTIONS without Origin", "OPTIONS /b/k HTTP/1.1\r\nHost: s3\r\n\r\n", 1, "" },
	/* heads s3gate refuses before they are whole: what was parsed counts */
	{ "malformed (Content-Length twice), Origin before it",
	  "PUT /b/k HTTP/1.1\r\nHost: s3\r\nOrigin: https://app.example\r\nContent-Length: 1\r\n"
	  "Content-Length: 2\r\n\r\n", 1, ALLOW },
	{ "malformed, no Origin", "PUT /b/k HTTP/1.1\r\nHost: s3\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
	  1, VARY },
	/* (conn.c keeps no partial parse: a head timeout's answer sees an empty head, Vary only) */
	{ "a partial parse, Origin already there",
	  "GET /b/k HTTP/1.1\r\nHost: s3\r\nOrigin: https://app.example\r\nx-amz-da", 1, ALLOW },
	{ "nothing parsed yet", "GET /b/k HT", 1, VARY },
};

/* Parses HEAD as s3gate does (limits as in the default config) into *H. */
static enum http_parse_status
parse(const char *head, struct http_head *h)
{
	static const struct http_limits lim = { 32768, 8192, 100 };

	return httpmsg_parse_head(head, strlen(head), 0, &lim, h);
}

static void
test_decision(void)
{
	static struct http_head h;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		(void)parse(cases[i].head, &h);
		T_STREQ(respond_cors_headers(&h, cases[i].on), cases[i].want, "%s", cases[i].name);
	}
}

/* A head too large to parse whole (431): an Origin in what was parsed counts. */
static void
test_too_large(void)
{
	static const struct http_limits lim = { 1024, 8192, 100 };
	static struct http_head h;
	char head[4096];
	size_t n;

	n = (size_t)snprintf(head, sizeof(head), "GET /b/k HTTP/1.1\r\nHost: s3\r\nOrigin: https://app.example\r\n"
	    "x-amz-meta-a: %02000d\r\n\r\n", 0);
	T_OK(httpmsg_parse_head(head, n, 0, &lim, &h) == HTTP_PARSE_TOO_LARGE, "too large: refused");
	T_STREQ(respond_cors_headers(&h, 1), ALLOW, "too large: the Origin before the limit counts");
}

/* Each of NAME's occurrences in H; VALUE gets the last one's value. */
static int
count_header(const struct http_head *h, const char *name, char *value, size_t size)
{
	size_t i, len = strlen(name);
	int n = 0;

	for (i = 0; i < h->nheaders; i++)
		if (h->headers[i].name_len == len && strncasecmp(h->headers[i].name, name, len) == 0) {
			n++;
			snprintf(value, size, "%.*s", (int)h->headers[i].value_len, h->headers[i].value);
		}
	return n;
}

/* A SlowDown answer built as conn.c builds it: Retry-After, then the CORS lines; one head. */
static void
test_built_answer(void)
{
	static struct http_head req, resp;
	static const struct http_limits lim = { 32768, 8192, 100 };
	struct sbuf out = SBUF_INIT;
	const char body[] = "<Error><Code>SlowDown</Code></Error>";
	char extra[256], v[128];

	(void)parse("GET /b/k HTTP/1.1\r\nHost: s3\r\nOrigin: https://app.example\r\n\r\n", &req);
	snprintf(extra, sizeof(extra), "Retry-After: 1\r\n%s", respond_cors_headers(&req, 1));
	respond_build(&out, 503, "application/xml", body, sizeof(body) - 1, 0, 0, "R1", extra);
	T_OK(httpmsg_parse_head(out.data, out.len, 1, &lim, &resp) == HTTP_PARSE_DONE && resp.status == 503,
	    "built answer: one whole 503 head");
	T_OK(out.len == resp.head_len + sizeof(body) - 1 &&
	    memcmp(out.data + resp.head_len, body, sizeof(body) - 1) == 0, "built answer: the body after it");
	T_OK(count_header(&resp, "access-control-allow-origin", v, sizeof(v)) == 1 && strcmp(v, "*") == 0,
	    "built answer: Access-Control-Allow-Origin: * once");
	T_OK(count_header(&resp, "access-control-expose-headers", v, sizeof(v)) == 1 &&
	    strcmp(v, "x-amz-request-id, Retry-After, Date") == 0,
	    "built answer: the request id, Retry-After and Date exposed");
	T_OK(count_header(&resp, "vary", v, sizeof(v)) == 1 && strcmp(v, "Origin") == 0, "built answer: Vary: Origin");
	T_OK(count_header(&resp, "retry-after", v, sizeof(v)) == 1 && strcmp(v, "1") == 0,
	    "built answer: Retry-After kept");
	T_OK(count_header(&resp, "access-control-allow-credentials", v, sizeof(v)) == 0,
	    "built answer: never Access-Control-Allow-Credentials");
	sbuf_free(&out);
}

int
main(void)
{
	test_decision();
	test_too_large();
	test_built_answer();
	return T_DONE();
}
