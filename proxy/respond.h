/*
 * respond: responses s3gate writes itself — S3 errors, ListBuckets, the
 * JSON of its own API.  Pure builders into an sbuf.
 */
#ifndef S3GATE_RESPOND_H
#define S3GATE_RESPOND_H

#include <stddef.h>

#include "proxy/sbuf.h"

struct http_head;
struct pstore_bucket_list;

/*
 * Appends a whole response: status line, Content-Type, Content-Length,
 * x-amz-request-id, Date, Connection: close when CLOSE, EXTRA_HEADERS
 * (each "Name: value\r\n", may be NULL), then the body unless HEAD_ONLY.
 */
void	 respond_build(struct sbuf *out, int status, const char *content_type,
	    const char *body, size_t body_len, int head_only, int close,
	    const char *request_id, const char *extra_headers);

/*
 * CORS on the error answers s3gate makes itself (cors_errors, default on),
 * so that a web page's fetch() reads their status and S3 error code
 * (AccessDenied, an expired link, SlowDown, ...) instead of an opaque
 * "TypeError: Failed to fetch".  Answers that come from the backend are
 * relayed as they came: RGW applies the bucket's CORS rules to them.
 *
 * "*", not the request's Origin echoed: no browser request to s3gate
 * carries ambient credentials (SigV4 is computed by the page, s3gate sets
 * no cookies and reads none), and nothing s3gate decides depends on where
 * a request comes from (max_connections_per_ip refuses a connection, never
 * answers), so an error answer is what curl from anywhere reads.  Never
 * Access-Control-Allow-Credentials: a credentialed fetch stays opaque.
 *
 * Exposed besides the CORS-safelisted headers: x-amz-request-id (what an
 * operator asks a user for), Retry-After (SlowDown) and Date (the clock an
 * SDK corrects its skew by after RequestTimeTooSkewed).
 *
 * Vary: Origin on every such answer, with Origin or without: the headers
 * depend on whether it was sent, and a cache that kept an answer without
 * them must not hand it to a page (Fetch standard, "CORS protocol and HTTP
 * caches").
 *
 * Nothing on an answer to an OPTIONS request: a refused preflight (auth.c,
 * auth_preflight_refuse) is the one 403 CORSResponse whatever the cause,
 * and a browser reads no preflight answer but a 2xx anyway.
 */
#define RESPOND_CORS_VARY	"Vary: Origin\r\n"
#define RESPOND_CORS_ALLOW	"Access-Control-Allow-Origin: *\r\n" \
	"Access-Control-Expose-Headers: x-amz-request-id, Retry-After, Date\r\n" \
	RESPOND_CORS_VARY

/*
 * The CORS header lines ("Name: value\r\n"..., a constant, "" for none)
 * for an error answer to REQ, whose head may be malformed (what was
 * parsed of it counts; no method: not OPTIONS) or empty (a head that
 * never ended: conn.c keeps nothing of it); ON is cors_errors.  Looks through REQ's headers for Origin: on the error path
 * only, no cost to a request that succeeds.
 */
const char	*respond_cors_headers(const struct http_head *req, int on);

/* ListAllMyBucketsResult for PRINCIPAL. */
void	 respond_list_buckets(struct sbuf *body, const char *principal,
	    const struct pstore_bucket_list *);

#endif
