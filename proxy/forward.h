/*
 * forward: the request head s3gate sends to the backend.  Pure: the
 * caller passes the clock and the signing key.
 *
 * The client's own authentication (Authorization, X-Amz-* query auth,
 * x-amz-date, x-amz-security-token) is stripped, and so are hop-by-hop
 * headers; the path is the canonical "/bucket/key" from the decoded
 * address, the query the canonical query; the request is signed with the
 * service credentials over host, x-amz-content-sha256 and x-amz-date.  The
 * client's x-amz-content-sha256 is kept: for a hex hash the backend checks
 * the body against what the client signed.
 */
#ifndef S3GATE_FORWARD_H
#define S3GATE_FORWARD_H

#include <time.h>

#include "proxy/httpmsg.h"
#include "proxy/s3addr.h"
#include "proxy/sbuf.h"
#include "proxy/sigv4.h"
#include "proxy/uri.h"

/*
 * The strings forward_build_head() builds on the way (the backend path, the
 * canonical query, the Authorization value): owned by the caller, kept from
 * one request to the next so that a warm worker allocates none of them,
 * wiped after each use.  Free with forward_scratch_free().
 */
struct forward_scratch {
	struct sbuf	path;
	struct sbuf	query;
	struct sbuf	auth;
};

void	 forward_scratch_free(struct forward_scratch *);

struct forward_target {
	const char		*host;		/* Host header for the backend */
	const char		*region;
	const char		*access_key_id;
	const unsigned char	*signing_key;	/* SIGV4_KEY_LEN bytes for today */
	/*
	 * An aws-chunked body that s3gate decodes and verifies on the way: the
	 * backend gets a plain body of decoded_length bytes, UNSIGNED-PAYLOAD,
	 * and none of the aws-chunked headers.
	 */
	int			 decoded;
	uint64_t		 decoded_length;
	struct forward_scratch	*scratch;	/* NULL: allocated and freed per call */
	/*
	 * The body's length as s3gate frames it (it streams exactly that many
	 * bytes), sent as Content-Length when has_length.  The client's own
	 * Content-Length is never copied: the framing the backend sees must be
	 * the one s3gate relays, whatever else the client's head says.
	 */
	int			 has_length;
	uint64_t		 length;
};

/*
 * Appends the whole request head (request line, headers, blank line).
 * PAYLOAD_HASH is what the client signed (hex, UNSIGNED-PAYLOAD...).
 * Returns 0.
 */
int	 forward_build_head(struct sbuf *out, const char *method, const struct s3addr *,
	    const struct query_list *, const struct http_head *client_head,
	    const char *payload_hash, const struct forward_target *, time_t now);

/* Whether a header never crosses the proxy (hop-by-hop or client auth). */
int	 forward_header_dropped(const char *name, size_t len);

/*
 * Whether response header H of an answer with status STATUS is not passed
 * to the client: hop-by-hop (also by the answer's own Connection header
 * CONN, NULL if none; the framing headers excepted), RGW's own (x-rgw-*),
 * a Location naming a host, or framing a 204 must not carry.
 */
int	 forward_response_header_dropped(const struct http_header *h,
	    const struct http_header *conn, int status);
/*
 * The answer R's Connection header if it names a header to drop (anything
 * but "keep-alive", dropped anyway, and "close"), else NULL: what to pass
 * forward_response_header_dropped() as CONN, looked at once per answer.
 */
const struct http_header *forward_response_connection(const struct http_head *r);

#endif
