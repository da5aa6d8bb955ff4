/*
 * test_httpmsg: request and response heads (proxy/httpmsg.h) under strict limits,
 * smuggling shapes, and the chunked body tracker.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proxy/httpmsg.h"
#include "tests/unit/testlib.h"


static const struct http_limits limits = { 32768, 8192, 100 };

#define REQ	0
#define RESP	1
#define ANY	(-1)

/*
 * One head and what parsing it must give.  Fields left at ANY (or NULL)
 * are not checked; for heads that must fail, only the status is.
 */
static const struct {
	const char	*name;
	int		 is_response;
	const char	*in;
	size_t		 body_bytes;	/* trailing bytes of IN after the head */
	enum http_parse_status want;
	const char	*method;
	const char	*target;
	int		 status;
	int		 http_minor;
	int		 keep_alive;
	int		 chunked;
	long long	 content_length;	/* -1: no Content-Length expected */
	int		 expect_continue;
	int		 nheaders;
} cases[] = {
#define NOFIELDS NULL, NULL, 0, 0, 0, 0, 0, 0, 0
	{ "simple GET", REQ, "GET /bucket/key HTTP/1.1\r\nHost: s3.example.org\r\n\r\n", 0,
	  HTTP_PARSE_DONE, "GET", "/bucket/key", ANY, 1, 1, 0, -1, 0, 1 },
	{ "GET with query, body bytes after head", REQ,
	  "GET /b/k?list-type=2&prefix=a%2F HTTP/1.1\r\nHost: h\r\n\r\nXYZ", 3,
	  HTTP_PARSE_DONE, "GET", "/b/k?list-type=2&prefix=a%2F", ANY, 1, 1, 0, -1, 0, 1 },
	{ "PUT with Content-Length", REQ,
	  "PUT /b/k HTTP/1.1\r\nHost: h\r\nContent-Length: 5368709120000\r\n\r\n", 0,
	  HTTP_PARSE_DONE, "PUT", "/b/k", ANY, 1, 1, 0, 5368709120000LL, 0, 2 },
	{ "PUT chunked", REQ,
	  "PUT /b/k HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n", 0,
	  HTTP_PARSE_DONE, "PUT", "/b/k", ANY, 1, 1, 1, -1, 0, 2 },
	{ "Transfer-Encoding: CHUNKED (case)", REQ,
	  "PUT /b/k HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: CHUNKED\r\n\r\n", 0,
	  HTTP_PARSE_DONE, "PUT", NULL, ANY, 1, 1, 1, -1, 0, 2 },
	{ "Connection: close", REQ,
	  "GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n", 0,
	  HTTP_PARSE_DONE, "GET", "/", ANY, 1, 0, 0, -1, 0, 2 },
	{ "HTTP/1.0 is not keep-alive", REQ, "GET / HTTP/1.0\r\n\r\n", 0,
	  HTTP_PARSE_DONE, "GET", "/", ANY, 0, 0, 0, -1, 0, 0 },
	{ "HTTP/1.0 with Connection: keep-alive", REQ,
	  "GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", 0,
	  HTTP_PARSE_DONE, "GET", "/", ANY, 0, 1, 0, -1, 0, 1 },
	{ "Expect: 100-continue", REQ,
	  "PUT /b/k HTTP/1.1\r\nHost: h\r\nContent-Length: 10\r\nExpect: 100-continue\r\n\r\n", 0,
	  HTTP_PARSE_DONE, "PUT", "/b/k", ANY, 1, 1, 0, 10, 1, 3 },
	{ "Expect: 100-Continue (case)", REQ,
	  "PUT /b/k HTTP/1.1\r\nHost: h\r\nContent-Length: 10\r\nexpect: 100-Continue\r\n\r\n", 0,
	  HTTP_PARSE_DONE, NULL, NULL, ANY, 1, 1, 0, 10, 1, 3 },
	{ "Expect: something else", REQ,
	  "PUT /b/k HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\nExpect: 200-ok\r\n\r\n", 0,
	  HTTP_PARSE_DONE, NULL, NULL, ANY, 1, ANY, 0, 1, 0, 3 },
	{ "HEAD, DELETE, POST methods", REQ, "DELETE /b/k?uploadId=x HTTP/1.1\r\nHost: h\r\n\r\n", 0,
	  HTTP_PARSE_DONE, "DELETE", "/b/k?uploadId=x", ANY, 1, 1, 0, -1, 0, 1 },
	{ "empty header value", REQ, "GET / HTTP/1.1\r\nHost: h\r\nX-Empty:\r\n\r\n", 0,
	  HTTP_PARSE_DONE, "GET", "/", ANY, 1, 1, 0, -1, 0, 2 },
	/* smuggling shapes */
	{ "CL + TE", REQ,
	  "POST /b/k HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n", 0,
	  HTTP_PARSE_BAD, NOFIELDS },
	{ "TE + CL", REQ,
	  "POST /b/k HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n", 0,
	  HTTP_PARSE_BAD, NOFIELDS },
	{ "two Content-Length, same value", REQ,
	  "PUT /b/k HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\n", 0,
	  HTTP_PARSE_BAD, NOFIELDS },
	{ "two Content-Length, different values", REQ,
	  "PUT /b/k HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\ncontent-length: 6\r\n\r\n", 0,
	  HTTP_PARSE_BAD, NOFIELDS },
	{ "Content-Length list", REQ,
	  "PUT /b/k HTTP/1.1\r\nHost: h\r\nContent-Length: 5, 5\r\n\r\n", 0, HTTP_PARSE_BAD, NOFIELDS },
	{ "Content-Length not a number", REQ,
	  "PUT /b/k HTTP/1.1\r\nHost: h\r\nContent-Length: 0x10\r\n\r\n", 0, HTTP_PARSE_BAD, NOFIELDS },
	{ "Content-Length negative", REQ,
	  "PUT /b/k HTTP/1.1\r\nHost: h\r\nContent-Length: -1\r\n\r\n", 0, HTTP_PARSE_BAD, NOFIELDS },
	{ "Content-Length overflow", REQ,
	  "PUT /b/k HTTP/1.1\r\nHost: h\r\nContent-Length: 99999999999999999999999\r\n\r\n", 0,
	  HTTP_PARSE_BAD, NOFIELDS },
	{ "obs-fold with space", REQ,
	  "GET / HTTP/1.1\r\nHost: h\r\nX-A: a\r\n b\r\n\r\n", 0, HTTP_PARSE_BAD, NOFIELDS },
	{ "obs-fold with tab", REQ,
	  "GET / HTTP/1.1\r\nHost: h\r\nX-A: a\r\n\tb\r\n\r\n", 0, HTTP_PARSE_BAD, NOFIELDS },
	{ "first header line starts with space", REQ,
	  "GET / HTTP/1.1\r\n Host: h\r\n\r\n", 0, HTTP_PARSE_BAD, NOFIELDS },
	{ "bare LF everywhere", REQ, "GET / HTTP/1.1\nHost: h\n\n", 0, HTTP_PARSE_BAD, NOFIELDS },
	{ "bare LF in one header line", REQ,
	  "GET / HTTP/1.1\r\nHost: h\nX-A: b\r\n\r\n", 0, HTTP_PARSE_BAD, NOFIELDS },
	{ "bare CR", REQ, "GET / HTTP/1.1\r\nHost: h\rX-A: b\r\n\r\n", 0, HTTP_PARSE_BAD, NOFIELDS },
	{ "control byte in value", REQ,
	  "GET / HTTP/1.1\r\nHost: h\r\nX-A: a\x01" "b\r\n\r\n", 0, HTTP_PARSE_BAD, NOFIELDS },
	{ "DEL in value", REQ,
	  "GET / HTTP/1.1\r\nHost: h\r\nX-A: a\x7f\r\n\r\n", 0, HTTP_PARSE_BAD, NOFIELDS },
	{ "ESC in target", REQ, "GET /b/\x1b HTTP/1.1\r\nHost: h\r\n\r\n", 0, HTTP_PARSE_BAD, NOFIELDS },
	{ "Transfer-Encoding: gzip, chunked", REQ,
	  "POST /b/k HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", 0,
	  HTTP_PARSE_BAD, NOFIELDS },
	{ "Transfer-Encoding: chunked, chunked", REQ,
	  "POST /b/k HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked, chunked\r\n\r\n", 0,
	  HTTP_PARSE_BAD, NOFIELDS },
	{ "Transfer-Encoding: identity", REQ,
	  "POST /b/k HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: identity\r\n\r\n", 0,
	  HTTP_PARSE_BAD, NOFIELDS },
	{ "two Transfer-Encoding lines", REQ,
	  "POST /b/k HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: gzip\r\n\r\n",
	  0, HTTP_PARSE_BAD, NOFIELDS },
	{ "space before colon", REQ,
	  "GET / HTTP/1.1\r\nHost: h\r\nContent-Length : 5\r\n\r\n", 0, HTTP_PARSE_BAD, NOFIELDS },
	{ "header without colon", REQ, "GET / HTTP/1.1\r\nHost h\r\n\r\n", 0, HTTP_PARSE_BAD, NOFIELDS },
	{ "HTTP/2.0 request line", REQ, "GET / HTTP/2.0\r\n\r\n", 0, HTTP_PARSE_BAD, NOFIELDS },
	{ "HTTP/2 connection preface", REQ, "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 0, HTTP_PARSE_BAD,
	  NOFIELDS },
	{ "HTTP/2 connection preface, its first line only", REQ, "PRI * HTTP/2.0\r\n\r\n", 0,
	  HTTP_PARSE_BAD, NOFIELDS },
	{ "not HTTP at all", REQ, "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 0, HTTP_PARSE_BAD, NOFIELDS },
	{ "lower-case method", REQ, "get / HTTP/1.1\r\n\r\n", 0, HTTP_PARSE_BAD, NOFIELDS },
	/* responses */
	{ "200 with Content-Length", RESP,
	  "HTTP/1.1 200 OK\r\nContent-Length: 12\r\nETag: \"x\"\r\n\r\n", 0,
	  HTTP_PARSE_DONE, NULL, NULL, 200, 1, 1, 0, 12, 0, 2 },
	{ "100 Continue", RESP, "HTTP/1.1 100 Continue\r\n\r\n", 0,
	  HTTP_PARSE_DONE, NULL, NULL, 100, 1, ANY, 0, -1, 0, 0 },
	{ "100 Continue then the final response", RESP,
	  "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
	  strlen("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"),
	  HTTP_PARSE_DONE, NULL, NULL, 100, 1, ANY, 0, -1, 0, 0 },
	{ "chunked response", RESP,
	  "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", 0,
	  HTTP_PARSE_DONE, NULL, NULL, 200, 1, 1, 1, -1, 0, 1 },
	{ "204 No Content", RESP, "HTTP/1.1 204 No Content\r\n\r\n", 0,
	  HTTP_PARSE_DONE, NULL, NULL, 204, 1, 1, 0, -1, 0, 0 },
	{ "response Connection: close", RESP,
	  "HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 3\r\n\r\nabc", 3,
	  HTTP_PARSE_DONE, NULL, NULL, 404, 1, 0, 0, 3, 0, 2 },
	{ "HTTP/1.0 response", RESP, "HTTP/1.0 200 OK\r\nContent-Length: 1\r\n\r\n", 0,
	  HTTP_PARSE_DONE, NULL, NULL, 200, 0, 0, 0, 1, 0, 1 },
	{ "response CL + TE", RESP,
	  "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n", 0,
	  HTTP_PARSE_BAD, NOFIELDS },
	{ "response two Content-Length", RESP,
	  "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n", 0, HTTP_PARSE_BAD, NOFIELDS },
	{ "response obs-fold", RESP,
	  "HTTP/1.1 200 OK\r\nX-A: a\r\n b\r\nContent-Length: 0\r\n\r\n", 0, HTTP_PARSE_BAD, NOFIELDS },
	{ "response bare LF", RESP, "HTTP/1.1 200 OK\nContent-Length: 0\n\n", 0, HTTP_PARSE_BAD, NOFIELDS },
	{ "request parsed as a response", RESP, "GET / HTTP/1.1\r\n\r\n", 0, HTTP_PARSE_BAD, NOFIELDS },
	/* RGW folds '_' into '-': x_amz_copy_source would act as x-amz-copy-source there */
	{ "header name with '_'", REQ,
	  "PUT /b/k HTTP/1.1\r\nHost: h\r\nx_amz_copy_source: other/secret\r\nContent-Length: 0\r\n\r\n", 0,
	  HTTP_PARSE_BAD, NOFIELDS },
	{ "header name with a space before the colon", REQ,
	  "GET /b/k HTTP/1.1\r\nHost: h\r\nHost : other\r\n\r\n", 0, HTTP_PARSE_BAD, NOFIELDS },
	{ "header name with a space inside", REQ,
	  "GET /b/k HTTP/1.1\r\nHost: h\r\nx-amz-copy source: /v/s\r\n\r\n", 0, HTTP_PARSE_BAD, NOFIELDS },
	{ "a response header with '_' is the backend's business", RESP,
	  "HTTP/1.1 200 OK\r\nX_Backend: 1\r\nContent-Length: 0\r\n\r\n", 0,
	  HTTP_PARSE_DONE, NULL, NULL, 200, 1, 1, 0, 0, 0, 2 },
	/*
	 * s3gate rebuilds the client's head from the backend's names and
	 * values: a name that is not a token went on as it came ("Set-Cookie :
	 * a=b", which a lenient parser in front of s3gate may read as a
	 * Set-Cookie).  llhttp itself refuses it for the names it frames by.
	 */
	{ "a response header name with a space before the colon", RESP,
	  "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nSet-Cookie : a=b\r\n\r\n", 0,
	  HTTP_PARSE_BAD, NOFIELDS },
	{ "a response Transfer-Encoding with a space before the colon", RESP,
	  "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding : chunked\r\n\r\n", 0,
	  HTTP_PARSE_BAD, NOFIELDS },
	{ "a response header name with a space inside", RESP,
	  "HTTP/1.1 200 OK\r\nX Injected: 1\r\nContent-Length: 0\r\n\r\n", 0, HTTP_PARSE_BAD, NOFIELDS },
	{ "a response header with an empty name", RESP,
	  "HTTP/1.1 200 OK\r\n: v\r\nContent-Length: 0\r\n\r\n", 0, HTTP_PARSE_BAD, NOFIELDS },
	{ "a request header with an empty name", REQ,
	  "GET /b/k HTTP/1.1\r\nHost: h\r\n: v\r\n\r\n", 0, HTTP_PARSE_BAD, NOFIELDS },
	{ "Transfer-Encoding: chunked twice in a response (\"chunked, chunked\")", RESP,
	  "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n", 0,
	  HTTP_PARSE_BAD, NOFIELDS },
	/* s3gate never asks for an upgrade: what follows a 101 is not HTTP */
	{ "101 Switching Protocols", RESP,
	  "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: upgrade\r\n\r\n", 0,
	  HTTP_PARSE_BAD, NOFIELDS },
	{ "a two-digit status", RESP, "HTTP/1.1 20 OK\r\nContent-Length: 0\r\n\r\n", 0,
	  HTTP_PARSE_BAD, NOFIELDS },
	{ "a status over 599", RESP, "HTTP/1.1 999 X\r\nContent-Length: 0\r\n\r\n", 0,
	  HTTP_PARSE_BAD, NOFIELDS },
	{ "two spaces before the status (llhttp reads status 0)", RESP,
	  "HTTP/1.1  200 OK\r\nContent-Length: 0\r\n\r\n", 0, HTTP_PARSE_BAD, NOFIELDS },
	{ "103 Early Hints is an interim answer", RESP,
	  "HTTP/1.1 103 Early Hints\r\nLink: </a>; rel=preload\r\n\r\n", 0,
	  HTTP_PARSE_DONE, NULL, NULL, 103, 1, ANY, 0, -1, 0, 1 },
	{ "599 is a status", RESP, "HTTP/1.1 599 X\r\nContent-Length: 0\r\n\r\n", 0,
	  HTTP_PARSE_DONE, NULL, NULL, 599, 1, 1, 0, 0, 0, 1 },
	{ "token characters in a name are fine", REQ,
	  "GET / HTTP/1.1\r\nHost: h\r\nX-A.b!c#$%&'*+^`|~9: v\r\n\r\n", 0,
	  HTTP_PARSE_DONE, "GET", "/", ANY, 1, 1, 0, -1, 0, 2 },
	/* s3gate frames and signs what it forwards: these may not be made hop-by-hop */
	{ "Connection naming Content-Length", REQ,
	  "PUT /b/k HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nConnection: keep-alive, Content-Length\r\n\r\n", 0,
	  HTTP_PARSE_BAD, NOFIELDS },
	{ "Connection naming an x-amz-* header", REQ,
	  "PUT /b/k HTTP/1.1\r\nHost: h\r\nConnection: X-Amz-Copy-Source\r\n\r\n", 0,
	  HTTP_PARSE_BAD, NOFIELDS },
	{ "Connection naming Host, Expect, Transfer-Encoding or Content-MD5", REQ,
	  "PUT /b/k HTTP/1.1\r\nHost: h\r\nConnection: close,expect , host,transfer-encoding,content-md5\r\n\r\n", 0,
	  HTTP_PARSE_BAD, NOFIELDS },
	/* one value each: the policy and the backend must read the same one */
	{ "x-amz-copy-source twice", REQ,
	  "PUT /b/k HTTP/1.1\r\nHost: h\r\nx-amz-copy-source: b/pub\r\nX-Amz-Copy-Source: v/secret\r\n\r\n", 0,
	  HTTP_PARSE_BAD, NOFIELDS },
	{ "x-amz-meta-a twice", REQ,
	  "PUT /b/k HTTP/1.1\r\nHost: h\r\nx-amz-meta-a: 1\r\nx-amz-meta-a: 2\r\nContent-Length: 0\r\n\r\n", 0,
	  HTTP_PARSE_BAD, NOFIELDS },
	{ "Content-MD5 twice", REQ,
	  "PUT /b/k HTTP/1.1\r\nHost: h\r\nContent-MD5: a\r\ncontent-md5: b\r\nContent-Length: 0\r\n\r\n", 0,
	  HTTP_PARSE_BAD, NOFIELDS },
	{ "Range twice", REQ,
	  "GET /b/k HTTP/1.1\r\nHost: h\r\nRange: bytes=0-1\r\nRange: bytes=5-9\r\n\r\n", 0,
	  HTTP_PARSE_BAD, NOFIELDS },
	{ "a header S3 may repeat (Accept) twice", REQ,
	  "GET /b/k HTTP/1.1\r\nHost: h\r\nAccept: a\r\nAccept: b\r\n\r\n", 0,
	  HTTP_PARSE_DONE, "GET", "/b/k", ANY, 1, 1, 0, -1, 0, 3 },
	{ "Connection naming a custom hop-by-hop header", REQ,
	  "GET / HTTP/1.1\r\nHost: h\r\nConnection: keep-alive, X-Hop\r\nX-Hop: 1\r\n\r\n", 0,
	  HTTP_PARSE_DONE, "GET", "/", ANY, 1, 1, 0, -1, 0, 3 },
};

static void
test_cases(void)
{
	struct http_head *h = malloc(sizeof(*h));
	size_t i, len;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		enum http_parse_status st;
		const char *n = cases[i].name;

		len = strlen(cases[i].in);
		if (cases[i].in[0] == '\x16')
			len = 11;
		st = httpmsg_parse_head(cases[i].in, len, cases[i].is_response, &limits, h);
		T_OK(st == cases[i].want, "%s: status %d (want %d%s%s)", n, st, cases[i].want,
		    h->error ? ", error: " : "", h->error ? h->error : "");
		if (st != HTTP_PARSE_DONE || cases[i].want != HTTP_PARSE_DONE) {
			if (cases[i].want != HTTP_PARSE_DONE)
				T_OK(h->error != NULL && h->error[0] != '\0', "%s: error says why", n);
			continue;
		}
		T_OK(h->head_len == len - cases[i].body_bytes, "%s: head_len %zu", n, h->head_len);
		T_OK(h->is_response == cases[i].is_response, "%s: is_response", n);
		if (cases[i].method != NULL) {
			T_OK(h->method_len == strlen(cases[i].method) &&
			    memcmp(h->method, cases[i].method, h->method_len) == 0, "%s: method", n);
		}
		if (cases[i].target != NULL) {
			T_OK(h->target_len == strlen(cases[i].target) &&
			    memcmp(h->target, cases[i].target, h->target_len) == 0,
			    "%s: target \"%.*s\"", n, (int)h->target_len, h->target);
		}
		if (cases[i].status != ANY)
			T_OK(h->status == cases[i].status, "%s: status code %d", n, h->status);
		T_OK(h->http_minor == cases[i].http_minor, "%s: HTTP/1.%d", n, h->http_minor);
		if (cases[i].keep_alive != ANY)
			T_OK(!!h->keep_alive == cases[i].keep_alive, "%s: keep_alive %d", n, h->keep_alive);
		T_OK(!!h->chunked == cases[i].chunked, "%s: chunked %d", n, h->chunked);
		if (cases[i].content_length == -1)
			T_OK(!h->has_content_length, "%s: no Content-Length", n);
		else
			T_OK(h->has_content_length && h->content_length == (uint64_t)cases[i].content_length,
			    "%s: Content-Length %llu", n, (unsigned long long)h->content_length);
		T_OK(!!h->expect_continue == cases[i].expect_continue, "%s: expect_continue", n);
		T_OK(h->nheaders == (size_t)cases[i].nheaders, "%s: %zu headers", n, h->nheaders);
	}
	free(h);
}

/* Every proper prefix of a valid head needs more; the whole head is DONE. */
static void
test_incremental(void)
{
	static const struct {
		const char *in;
		int is_response;
	} heads[] = {
		{ "PUT /bkt/a%20b?uploadId=1&partNumber=2 HTTP/1.1\r\nHost: bkt.s3.example.org\r\n"
		  "Content-Length: 42\r\nX-Amz-Meta-A: \tv  v \r\nExpect: 100-continue\r\n\r\n", 0 },
		{ "GET / HTTP/1.0\r\n\r\n", 0 },
		{ "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nETag: \"abc\"\r\n\r\n", 1 },
		{ "HTTP/1.1 100 Continue\r\n\r\n", 1 },
	};
	struct http_head *h = malloc(sizeof(*h));
	size_t i, k, len, bad;

	for (i = 0; i < sizeof(heads) / sizeof(heads[0]); i++) {
		len = strlen(heads[i].in);
		bad = 0;
		for (k = 0; k < len; k++) {
			/* a copy of exactly K bytes, so ASan sees any overread */
			char *p = malloc(k ? k : 1);
			memcpy(p, heads[i].in, k);
			if (httpmsg_parse_head(p, k, heads[i].is_response, &limits, h) != HTTP_PARSE_MORE) {
				if (bad++ == 0)
					printf("# prefix of %zu bytes: %s\n", k, h->error ? h->error : "(no error)");
			}
			free(p);
		}
		T_OK(bad == 0, "head %zu: every proper prefix (%zu) gives MORE", i, len);
		T_OK(httpmsg_parse_head(heads[i].in, len, heads[i].is_response, &limits, h) ==
		    HTTP_PARSE_DONE && h->head_len == len, "head %zu: whole head gives DONE", i);
	}
	free(h);
}

static void
test_headers(void)
{
	static const char in[] =
	    "PUT /b/k HTTP/1.1\r\n"
	    "Host: s3.example.org:8443\r\n"
	    "x-note-Color:  blue green \r\n"
	    "Content-Type: text/plain\r\n"
	    "X-Note-Color: red\r\n"
	    "Range: bytes=0-9\r\n"
	    "\r\n";
	struct http_head *h = malloc(sizeof(*h));
	const struct http_header *hd;

	T_OK(httpmsg_parse_head(in, strlen(in), 0, &limits, h) == HTTP_PARSE_DONE, "headers: parse");
	T_OK(h->nheaders == 5, "headers: 5 collected");
	T_OK(h->headers[0].name_len == 4 && memcmp(h->headers[0].name, "Host", 4) == 0,
	    "headers: first name as sent");
	T_OK(h->headers[0].value_len == 19 && memcmp(h->headers[0].value, "s3.example.org:8443", 19) == 0,
	    "headers: first value");
	hd = httpmsg_header_find(h, "X-NOTE-COLOR");
	T_OK(hd == &h->headers[1], "headers: find is case-insensitive and returns the first");
	/* llhttp strips leading OWS; trailing OWS is left for callers (SigV4 trims) */
	T_OK(hd != NULL && hd->value_len >= 10 && memcmp(hd->value, "blue green", 10) == 0,
	    "headers: value without leading whitespace");
	T_OK(httpmsg_header_find(h, "range") != NULL &&
	    httpmsg_header_find(h, "range")->value_len == 9, "headers: Range");
	T_OK(httpmsg_header_find(h, "x-amz-date") == NULL, "headers: absent header is NULL");
	T_OK(httpmsg_header_find(h, "Hos") == NULL, "headers: no prefix match");
	free(h);
}

/* NUL bytes cannot be in the table (strlen): explicit lengths here. */
static void
test_nul(void)
{
	static const char in_value[] = "GET / HTTP/1.1\r\nHost: h\r\nX-A: a\0b\r\n\r\n";
	static const char in_target[] = "GET /b/k\0x HTTP/1.1\r\nHost: h\r\n\r\n";
	static const char in_name[] = "GET / HTTP/1.1\r\nHo\0st: h\r\n\r\n";
	static const char in_body[] = "PUT /b/k HTTP/1.1\r\nContent-Length: 3\r\n\r\n\0\0\0";
	struct http_head *h = malloc(sizeof(*h));

	T_OK(httpmsg_parse_head(in_value, sizeof(in_value) - 1, 0, &limits, h) == HTTP_PARSE_BAD,
	    "NUL byte in a header value is BAD");
	T_OK(httpmsg_parse_head(in_target, sizeof(in_target) - 1, 0, &limits, h) == HTTP_PARSE_BAD,
	    "NUL byte in the target is BAD");
	T_OK(httpmsg_parse_head(in_name, sizeof(in_name) - 1, 0, &limits, h) == HTTP_PARSE_BAD,
	    "NUL byte in a header name is BAD");
	T_OK(httpmsg_parse_head(in_value, 33, 0, &limits, h) == HTTP_PARSE_BAD,
	    "NUL byte is BAD before the head is complete");
	T_OK(httpmsg_parse_head(in_body, sizeof(in_body) - 1, 0, &limits, h) == HTTP_PARSE_DONE &&
	    h->head_len == sizeof(in_body) - 4, "NUL bytes in the body after the head are fine");
	free(h);
}

static char *
make_head(size_t target_len, size_t nheaders, size_t pad)
{
	struct { char *p; size_t len, cap; } b = { NULL, 0, 0 };
	size_t i, need = target_len + nheaders * 32 + pad + 128;

	b.p = malloc(need);
	b.len = (size_t)sprintf(b.p, "GET /");
	for (i = 1; i < target_len; i++)
		b.p[b.len++] = 'a';
	b.len += (size_t)sprintf(b.p + b.len, " HTTP/1.1\r\nHost: h\r\n");
	for (i = 1; i < nheaders; i++)
		b.len += (size_t)sprintf(b.p + b.len, "X-H%zu: v\r\n", i);
	if (pad > 0) {
		b.len += (size_t)sprintf(b.p + b.len, "X-Pad: ");
		for (i = 0; i < pad; i++)
			b.p[b.len++] = 'p';
		b.len += (size_t)sprintf(b.p + b.len, "\r\n");
	}
	b.len += (size_t)sprintf(b.p + b.len, "\r\n");
	b.p[b.len] = '\0';
	return b.p;
}

static void
test_limits(void)
{
	struct http_head *h = malloc(sizeof(*h));
	struct http_limits small = { 1024, 256, 8 };
	char *p;

	p = make_head(256, 8, 0);
	T_OK(httpmsg_parse_head(p, strlen(p), 0, &small, h) == HTTP_PARSE_DONE,
	    "limits: URI of max_uri and max_headers headers pass");
	free(p);

	p = make_head(257, 1, 0);
	T_OK(httpmsg_parse_head(p, strlen(p), 0, &small, h) == HTTP_PARSE_TOO_LARGE,
	    "limits: URI over max_uri is TOO_LARGE");
	/* a long URI still arriving is refused before the line ends */
	T_OK(httpmsg_parse_head(p, 270, 0, &small, h) == HTTP_PARSE_TOO_LARGE,
	    "limits: URI over max_uri refused before its end");
	free(p);

	p = make_head(10, 9, 0);
	T_OK(httpmsg_parse_head(p, strlen(p), 0, &small, h) == HTTP_PARSE_TOO_LARGE,
	    "limits: more than max_headers headers is TOO_LARGE");
	free(p);

	p = make_head(10, 1, 1100);
	T_OK(httpmsg_parse_head(p, strlen(p), 0, &small, h) == HTTP_PARSE_TOO_LARGE,
	    "limits: complete head over max_head is TOO_LARGE");
	T_OK(httpmsg_parse_head(p, 1024, 0, &small, h) == HTTP_PARSE_TOO_LARGE,
	    "limits: incomplete head at max_head is TOO_LARGE (no waiting for more)");
	T_OK(httpmsg_parse_head(p, 1023, 0, &small, h) == HTTP_PARSE_MORE,
	    "limits: incomplete head under max_head needs MORE");
	free(p);

	/* the head limit counts the head only, not body bytes already read */
	p = make_head(10, 1, 900);
	{
		size_t hl = strlen(p);
		char *q = malloc(hl + 4000);
		memcpy(q, p, hl);
		memset(q + hl, 'B', 4000);
		T_OK(hl < 1024 && httpmsg_parse_head(q, hl + 4000, 0, &small, h) == HTTP_PARSE_DONE &&
		    h->head_len == hl, "limits: body bytes after the head do not count");
		free(q);
	}
	free(p);

	/* HTTP_MAX_HEADERS caps max_headers */
	{
		struct http_limits big = { 1048576, 8192, 100000 };
		p = make_head(10, HTTP_MAX_HEADERS + 1, 0);
		T_OK(httpmsg_parse_head(p, strlen(p), 0, &big, h) == HTTP_PARSE_TOO_LARGE,
		    "limits: more than HTTP_MAX_HEADERS whatever max_headers says");
		free(p);
	}
	free(h);
}

/* A chunked body fed in pieces of every size from 1 to its length. */
static void
test_body_tracker(void)
{
	static const char body[] =
	    "5\r\nhello\r\n"
	    "1a;ext=1\r\nabcdefghijklmnopqrstuvwxyz\r\n"
	    "0\r\n"
	    "x-amz-checksum-crc32: AAAAAA==\r\n"
	    "\r\n";
	static const char extra[] = "HTTP/1.1 200 OK\r\n";
	struct http_body_tracker t;
	size_t blen = strlen(body), piece, off;
	int ok_all = 1, ok_extra = 1;

	for (piece = 1; piece <= blen; piece++) {
		long total = 0, r;
		httpmsg_body_tracker_init(&t);
		for (off = 0; off < blen; off += piece) {
			size_t n = blen - off < piece ? blen - off : piece;
			if (t.complete && off < blen) {
				ok_all = 0;
				printf("# piece %zu: complete too early at %zu\n", piece, off);
				break;
			}
			r = httpmsg_body_tracker_feed(&t, body + off, n);
			if (r != (long)n) {
				ok_all = 0;
				printf("# piece %zu at %zu: fed %zu, got %ld\n", piece, off, n, r);
				break;
			}
			total += r;
		}
		if (!t.complete || total != (long)blen) {
			if (ok_all)
				printf("# piece %zu: complete %d, total %ld\n", piece, t.complete, total);
			ok_all = 0;
		}
	}
	T_OK(ok_all, "tracker: chunked body in pieces of 1..%zu bytes ends exactly at its end", blen);

	/* the last piece holds the next response too: only the body is counted */
	for (piece = 1; piece <= blen && ok_extra; piece++) {
		char *buf = malloc(blen + sizeof(extra));
		size_t last;
		long r = 0;

		memcpy(buf, body, blen);
		memcpy(buf + blen, extra, sizeof(extra) - 1);
		httpmsg_body_tracker_init(&t);
		last = blen - piece;
		if (last > 0 && httpmsg_body_tracker_feed(&t, buf, last) != (long)last)
			ok_extra = 0;
		if (ok_extra) {
			r = httpmsg_body_tracker_feed(&t, buf + last, piece + sizeof(extra) - 1);
			if (r != (long)piece || !t.complete) {
				printf("# tail piece %zu: got %ld, complete %d\n", piece, r, t.complete);
				ok_extra = 0;
			}
		}
		if (ok_extra && httpmsg_body_tracker_feed(&t, extra, sizeof(extra) - 1) != 0)
			ok_extra = 0;
		free(buf);
	}
	T_OK(ok_extra, "tracker: bytes after the body are not counted, feeding after the end gives 0");

	{
		static const char *const bad[] = {
			"zz\r\nhello\r\n0\r\n\r\n",
			"-1\r\n",
			"5 \r\nhello\r\n0\r\n\r\n",
			"ffffffffffffffffff\r\n",
			"5\nhello\r\n0\r\n\r\n",
		};
		size_t i;
		for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			long r;
			httpmsg_body_tracker_init(&t);
			r = httpmsg_body_tracker_feed(&t, bad[i], strlen(bad[i]));
			T_OK(r == -1, "tracker: broken chunk framing %zu is -1 (got %ld)", i, r);
		}
		/* llhttp 8.1 skips the two bytes after chunk data; our tracker does not */
		httpmsg_body_tracker_init(&t);
		T_OK(httpmsg_body_tracker_feed(&t, "5\r\nhelloXX0\r\n\r\n", 15) == -1,
		    "tracker: chunk data not followed by CRLF is -1");
		httpmsg_body_tracker_init(&t);
		T_OK(httpmsg_body_tracker_feed(&t, "1\r\nZ\n\n0\r\n\r\n", 12) == -1,
		    "tracker: chunk data followed by LF LF is -1");
	}

	/* the tracker frames chunked bodies only: Content-Length bodies are counted by stream.c */
}

/* A control byte anywhere in the head is BAD, whatever its offset in a 16-byte step. */
static void
test_screen_positions(void)
{
	static const char in[] = "GET /b/k?x=1 HTTP/1.1\r\nHost: h\r\n"
	    "X-Amz-Meta-Note: a value long enough to span a few steps\r\n\r\n";
	static const unsigned char ctl[] = { 0x00, 0x01, 0x08, 0x0b, 0x1f, 0x7f };
	struct http_head *h = malloc(sizeof(*h));
	size_t len = sizeof(in) - 1, i, k, missed = 0, value;
	char buf[sizeof(in)];

	for (i = 0; i < len - 4; i++) {
		if (in[i] == '\r' || in[i] == '\n')
			continue;
		for (k = 0; k < sizeof(ctl); k++) {
			memcpy(buf, in, len);
			buf[i] = (char)ctl[k];
			if (httpmsg_parse_head(buf, len, 0, &limits, h) != HTTP_PARSE_BAD) {
				if (missed++ < 3)
					printf("# 0x%02x at %zu not refused\n", ctl[k], i);
			}
		}
	}
	T_OK(missed == 0, "screen: a control byte or DEL at each offset of a head is BAD");
	/* obs-text (0x80-0xff) is allowed in a field value */
	value = (size_t)(strstr(in, "a value") - in);
	missed = 0;
	for (i = value; i < value + 20; i++) {
		memcpy(buf, in, len);
		buf[i] = (char)0xe9;
		if (httpmsg_parse_head(buf, len, 0, &limits, h) != HTTP_PARSE_DONE)
			missed++;
	}
	T_OK(missed == 0, "screen: a byte 0x80-0xff in a field value at 20 offsets passes");
	free(h);
}

/*
 * Everything httpmsg_parse_head sets in A and B is the same.  A refused
 * head's error is all that counts: where llhttp stopped reporting the
 * target depends on how it was fed.
 */
static int
same_head(enum http_parse_status st, const struct http_head *a, const struct http_head *b)
{
	if (st == HTTP_PARSE_BAD || st == HTTP_PARSE_TOO_LARGE)
		return a->error != NULL && b->error != NULL && strcmp(a->error, b->error) == 0;
	/* the prefix was zeroed first, padding included; headers[] is set up to nheaders */
	return memcmp(a, b, offsetof(struct http_head, headers)) == 0 &&
	    memcmp(a->headers, b->headers, a->nheaders * sizeof(a->headers[0])) == 0 &&
	    (a->error == b->error || (a->error != NULL && b->error != NULL &&
	    strcmp(a->error, b->error) == 0));
}

/* A random request head whose target mixes plain runs with every byte llhttp treats apart. */
static size_t
random_request(char *buf, size_t cap, unsigned int *seed)
{
	static const char *const methods[] = { "GET", "HEAD", "PUT", "CONNECT", "OPTIONS", "G@T", "" };
	static const char *const starts[] = { "/", "/", "/b/k", "*", "http://h:80/", "h:443", "?", "#" };
	static const char special[] = "?#%/ \t\r\n\x01\x7f\x80\xff=&+";
	/* per mille of bytes that are not plain: none, a few, many */
	static const int rates[] = { 0, 2, 5, 20, 150 };
	size_t len = 0, n, i;
	int rate = rates[rand_r(seed) % 5];

	len += (size_t)snprintf(buf, cap, "%s %s", methods[rand_r(seed) % 7], starts[rand_r(seed) % 8]);
	n = (size_t)rand_r(seed) % 600;
	for (i = 0; i < n && len < cap - 64; i++) {
		if (rand_r(seed) % 1000 >= rate)
			buf[len++] = (char)(0x21 + rand_r(seed) % 94);
		else
			buf[len++] = special[rand_r(seed) % (sizeof(special) - 1)];
	}
	len += (size_t)snprintf(buf + len, cap - len, "%s",
	    rand_r(seed) % 10 ? " HTTP/1.1\r\nHost: h\r\nX-A: b\r\n\r\n" : "\r\n\r\n");
	return len;
}

/*
 * httpmsg steps over the target's plain runs without llhttp (httpmsg.c):
 * on random request heads, and on every prefix of some, both ways give the
 * same head, status and error.
 */
static void
test_url_skip(void)
{
	struct http_head *a = malloc(sizeof(*a)), *b = malloc(sizeof(*b));
	static const struct http_limits small = { 4096, 256, 100 };
	unsigned int seed = 20261126;
	char buf[1024];
	size_t i, k, len, differ = 0, done = 0, bad = 0, cuts = 0;
	enum http_parse_status sa, sb;

	T_OK(httpmsg_url_skip(-1), "url skip: on by default with this llhttp");
	for (i = 0; i < 20000; i++) {
		const struct http_limits *lim = i % 3 ? &limits : &small;

		len = random_request(buf, sizeof(buf), &seed);
		/* a third are cut short: MORE, or an early error */
		if (i % 3 == 0 && len > 0) {
			len = (size_t)rand_r(&seed) % len;
			cuts++;
		}
		httpmsg_url_skip(1);
		sa = httpmsg_parse_head(buf, len, 0, lim, a);
		httpmsg_url_skip(0);
		sb = httpmsg_parse_head(buf, len, 0, lim, b);
		if (sa != sb || !same_head(sa, a, b)) {
			if (differ++ < 3)
				printf("# differ on %zu bytes \"%.*s\": %d (%s) / %d (%s)\n", len, (int)len,
				    buf, sa, a->error ? a->error : "-", sb, b->error ? b->error : "-");
		}
		done += sa == HTTP_PARSE_DONE;
		bad += sa == HTTP_PARSE_BAD;
	}
	httpmsg_url_skip(1);
	T_OK(differ == 0, "url skip: 20000 random request heads (%zu DONE, %zu BAD, %zu cut) parse "
	    "the same with and without it (%zu differ)", done, bad, cuts, differ);
	T_OK(done > 2000 && bad > 2000, "url skip: the random heads reach both DONE and BAD");

	/* a presigned GET, every prefix */
	len = (size_t)snprintf(buf, sizeof(buf), "GET /bucket/some/key.bin?X-Amz-Algorithm=AWS4-HMAC-SHA256"
	    "&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%%2F20261126%%2Fus-east-1%%2Fs3%%2Faws4_request"
	    "&X-Amz-Date=20261126T231700Z&X-Amz-Expires=3600&X-Amz-SignedHeaders=host&X-Amz-Signature="
	    "aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404 HTTP/1.1\r\n"
	    "Host: 127.0.0.1:8080\r\n\r\n");
	differ = 0;
	for (k = 0; k <= len; k++) {
		char *p = malloc(k ? k : 1);	/* exactly K bytes: ASan sees any overread */

		memcpy(p, buf, k);
		httpmsg_url_skip(1);
		sa = httpmsg_parse_head(p, k, 0, &limits, a);
		httpmsg_url_skip(0);
		sb = httpmsg_parse_head(p, k, 0, &limits, b);
		if (sa != sb || !same_head(sa, a, b) || (k < len && sa != HTTP_PARSE_MORE))
			differ++;
		free(p);
	}
	httpmsg_url_skip(1);
	T_OK(differ == 0 && sa == HTTP_PARSE_DONE &&
	    a->target_len == (size_t)(strstr(buf, " HTTP/1.1") - buf) - 4,
	    "url skip: every prefix of a presigned GET parses the same both ways, and the whole "
	    "target is %zu bytes", a->target_len);

	/* the target's length is checked before the head is complete, skipped or not */
	memset(buf, 'a', 400);
	memcpy(buf, "GET /", 5);
	T_OK(httpmsg_parse_head(buf, 400, 0, &small, a) == HTTP_PARSE_TOO_LARGE,
	    "url skip: a target over max_uri is refused before its line ends");
	free(a);
	free(b);
}

/* Elements of a comma-separated value, as Connection lists header names. */
static void
test_list(void)
{
	static const struct { const char *value, *want; } v[] = {
		{ "", "" }, { " , ,\t,", "" }, { "close", "close|" },
		{ " keep-alive ,X-A,\tx-b\t, ,", "keep-alive|X-A|x-b|" },
		{ "a b,c", "a b|c|" }, { ",,a,,", "a|" },
	};
	size_t i;

	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		char got[64] = "";
		const char *p = v[i].value, *tok;
		size_t len;
		while ((tok = httpmsg_list_next(&p, v[i].value + strlen(v[i].value), &len)) != NULL)
			snprintf(got + strlen(got), sizeof(got) - strlen(got), "%.*s|", (int)len, tok);
		T_OK(strcmp(got, v[i].want) == 0, "list \"%s\": \"%s\" (want \"%s\")",
		    v[i].value, got, v[i].want);
	}
	struct http_header conn = { "Connection", 10, "close, X-Hop", 12 };
	T_OK(httpmsg_connection_lists(&conn, "x-hop", 5) && !httpmsg_connection_lists(&conn, "X-Ho", 4) &&
	    !httpmsg_connection_lists(&conn, "X-Hop2", 6) && !httpmsg_connection_lists(NULL, "close", 5),
	    "httpmsg_connection_lists: whole names, any case, NULL lists nothing");
}

int
main(void)
{
	test_cases();
	test_incremental();
	test_headers();
	test_nul();
	test_limits();
	test_url_skip();
	test_screen_positions();
	test_body_tracker();
	test_list();
	return T_DONE();
}
