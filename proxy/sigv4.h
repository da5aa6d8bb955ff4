/*
 * sigv4: AWS Signature Version 4 for S3, both directions.  Pure functions:
 * no I/O, no clock (callers pass "now"), no globals but the signing-key
 * cache the caller owns and per-thread scratch that never outlives a call
 * in meaning (HMAC pad states, the buffers of verify and sign; sigv4.c).
 *
 * Inbound: sigv4_parse() reads the Authorization header or the presigned
 * query (X-Amz-Algorithm ...), sigv4_check() checks algorithm, scope,
 * region, clock skew and presign expiry, sigv4_verify() rebuilds the
 * canonical request and compares signatures in constant time.
 *
 * S3 canonicalisation: the canonical URI is the request path decoded once
 * and S3-encoded again (uri_encode keep_slash) — never normalised, never
 * double-encoded; "//", ".", "..", spaces, '+', '%' and UTF-8 are data.  The
 * canonical query comes from query_canonical().  Header values are trimmed
 * and inner runs of spaces squeezed; repeated headers are joined with ','.
 *
 * Outbound: sigv4_sign() signs a request s3gate builds itself (canonical
 * path and query already, so what is signed is exactly what is sent).
 */
#ifndef S3GATE_SIGV4_H
#define S3GATE_SIGV4_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "proxy/httpmsg.h"
#include "proxy/sbuf.h"
#include "proxy/uri.h"

#define SIGV4_ALGORITHM		"AWS4-HMAC-SHA256"
#define SIGV4_MAX_SKEW		(15 * 60)
#define SIGV4_MAX_EXPIRES	(7 * 24 * 3600)
#define SIGV4_UNSIGNED_PAYLOAD	"UNSIGNED-PAYLOAD"
#define SIGV4_KEY_LEN		32
/* Query parameters sigv4 parses at most; more is SIGV4_QUERY_MALFORMED. */
#define SIGV4_MAX_QUERY_PARAMS	1000

enum sigv4_status {
	SIGV4_OK = 0,
	SIGV4_ANONYMOUS,	/* neither header nor query auth: AccessDenied */
	SIGV4_V2,		/* "AWS AKID:sig" or Signature= query: refused, InvalidRequest */
	SIGV4_HEADER_MALFORMED,	/* AuthorizationHeaderMalformed */
	SIGV4_QUERY_MALFORMED,	/* AuthorizationQueryParametersError */
	SIGV4_BAD_ALGORITHM,	/* not AWS4-HMAC-SHA256 */
	SIGV4_MISSING_DATE,	/* no x-amz-date (nor Date): AccessDenied / MissingSecurityHeader */
	SIGV4_MISSING_CONTENT_SHA256, /* header auth without x-amz-content-sha256: InvalidRequest */
	SIGV4_BAD_CONTENT_SHA256,	/* not 64 hex, UNSIGNED-PAYLOAD or STREAMING-*: InvalidArgument */
	SIGV4_HOST_NOT_SIGNED,	/* "host" missing from SignedHeaders */
	SIGV4_WRONG_REGION,	/* scope region is not ours: AuthorizationHeaderMalformed */
	SIGV4_WRONG_SERVICE,	/* scope service is not "s3" */
	SIGV4_SCOPE_DATE,	/* scope date differs from the request date */
	SIGV4_SKEWED,		/* header auth, |now - date| > 15 min: RequestTimeTooSkewed */
	SIGV4_NOT_YET_VALID,	/* presigned, date more than 15 min ahead: AccessDenied */
	SIGV4_EXPIRED,		/* presigned, date + expires < now: AccessDenied "Request has expired" */
	SIGV4_EXPIRES_TOO_LONG,	/* X-Amz-Expires > 7 days or < 1: AuthorizationQueryParametersError */
	SIGV4_MISMATCH,		/* SignatureDoesNotMatch */
	/* Added: an x-amz-* header is present but not in SignedHeaders, which
	   S3 refuses: AccessDenied "There were headers present in the request
	   which were not signed". */
	SIGV4_HEADERS_NOT_SIGNED,
};

/* A short English description of a status, for S3 error messages. */
const char *sigv4_status_str(enum sigv4_status);

/* The request as received; everything points into the head buffer. */
struct sigv4_request {
	const char			*method;
	size_t				 method_len;
	const char			*path;		/* raw, before '?', still encoded */
	size_t				 path_len;
	const char			*query;		/* raw, after '?'; NULL if none */
	size_t				 query_len;
	const struct http_header	*headers;
	size_t				 nheaders;
	/* optional: QUERY already parsed by the caller (s3gate parses it once per
	   request); NULL makes sigv4 parse it itself */
	const struct query_list		*parsed_query;
};

/* What sigv4_parse() found.  Fixed-size: no allocation, bounded input. */
struct sigv4_auth {
	int		presigned;
	char		access_key_id[129];
	char		scope_date[9];		/* YYYYMMDD */
	char		region[64];
	char		service[16];
	char		amz_date[17];		/* YYYYMMDDTHHMMSSZ */
	time_t		request_time;		/* amz_date as UTC seconds */
	long		expires;		/* presigned: X-Amz-Expires; else 0 */
	char		signed_headers[1024];	/* as given: "host;x-amz-date" */
	char		signature[65];		/* lower-case hex */
	char		payload_hash[80];	/* x-amz-content-sha256, or UNSIGNED-PAYLOAD
						   for presigned without that header */
	const char	*security_token;	/* x-amz-security-token / X-Amz-Security-Token, */
	size_t		 security_token_len;	/* points into the request; NULL if absent */
	int		 security_token_encoded; /* 1: from the query, still percent-encoded
						   (uri_decode it); 0: header value */
};

enum sigv4_status sigv4_parse(const struct sigv4_request *, struct sigv4_auth *);

/*
 * The Authorization-header part of sigv4_parse(): reads VALUE ("AWS4-HMAC-
 * SHA256 Credential=..., SignedHeaders=..., Signature=...") into AUTH's
 * access_key_id, scope, signed_headers and signature only; the rest of AUTH
 * is left alone.  Returns SIGV4_OK, SIGV4_V2, SIGV4_BAD_ALGORITHM,
 * SIGV4_HEADER_MALFORMED or SIGV4_HOST_NOT_SIGNED.  Exposed for tests and
 * fuzzing (e.g. the generic AWS vectors, which carry no
 * x-amz-content-sha256 and so fail sigv4_parse's S3 rules).
 */
enum sigv4_status sigv4_parse_authorization(const char *value, size_t len,
	    struct sigv4_auth *);

/*
 * Checks what can be checked before the secret is known: algorithm, scope
 * (region must equal REGION, service "s3", scope date = request date), clock
 * skew against NOW (header auth), expiry and the 7-day bound (presigned).
 */
enum sigv4_status sigv4_check(const struct sigv4_auth *, time_t now, const char *region);

/* HMAC chain "AWS4"+secret -> date -> region -> service -> "aws4_request". */
void	 sigv4_signing_key(const char *secret, size_t secret_len, const char *date,
	    const char *region, const char *service, unsigned char key[SIGV4_KEY_LEN]);

/*
 * Rebuilds the canonical request of REQ under AUTH, signs it with KEY and
 * compares with AUTH's signature in constant time.  Returns SIGV4_OK or
 * SIGV4_MISMATCH.  If the decoded-and-re-encoded path does not match, the
 * raw path as sent is tried too (clients that sign the path as they send
 * it); both stand for the same decoded path, which is what s3gate acts on.
 */
enum sigv4_status sigv4_verify(const struct sigv4_request *, const struct sigv4_auth *,
	    const unsigned char key[SIGV4_KEY_LEN]);

/* The canonical request and string to sign sigv4_verify() uses (tests, debug). */
void	 sigv4_canonical_request(const struct sigv4_request *, const struct sigv4_auth *,
	    int raw_path, struct sbuf *out);
void	 sigv4_string_to_sign(const struct sigv4_auth *, const char *canonical_request,
	    size_t len, struct sbuf *out);

/*
 * Outbound signing.  CANON_PATH and CANON_QUERY are already canonical (and
 * are sent as they are); HEADERS are the headers to sign, names lower-case,
 * values trimmed, sorted by name, no duplicates; they must include host,
 * x-amz-date and x-amz-content-sha256.  Appends the Authorization value.
 * CANON_QUERY may be NULL (no query).
 */
void	 sigv4_sign(const char *method, const char *canon_path, const char *canon_query,
	    const struct http_header *headers, size_t nheaders, const char *payload_hash,
	    const char *amz_date, const char *region, const char *access_key_id,
	    const unsigned char key[SIGV4_KEY_LEN], struct sbuf *authorization);

/*
 * Presigning (for URLs s3gate issues): appends to OUT the full query string
 * (EXTRA_QUERY canonical params first if any, then X-Amz-*, then
 * X-Amz-Signature) for METHOD on CANON_PATH with host HOST.
 */
void	 sigv4_presign(const char *method, const char *host, const char *canon_path,
	    const struct query_list *extra_query, time_t now, long expires,
	    const char *region, const char *access_key_id, const char *secret,
	    struct sbuf *out);

/* Formats T as YYYYMMDDTHHMMSSZ (17 bytes with NUL). */
void	 sigv4_format_date(time_t t, char out[17]);

/* IN as lower-case hex into OUT (2 * LEN + 1 bytes with NUL). */
void	 sigv4_hex(const unsigned char *in, size_t len, char *out);

/* Hex SHA-256 of DATA (65 bytes with NUL). */
void	 sigv4_sha256_hex(const void *data, size_t len, char out[65]);

/*
 * The signature of the string to sign STS under a derived signing KEY
 * (the chain's last key), as 64 lower-case hex.  The hash states after the
 * pad blocks of the calling thread's last two keys are kept, so a run of
 * signatures under one key (a request's, an aws-chunked body's chunks)
 * costs two compressions fewer each, and nothing is allocated.
 */
void	 sigv4_signature_hex(const unsigned char key[SIGV4_KEY_LEN], const char *sts,
	    size_t len, char out[65]);

/*
 * Signing-key cache: keys are derived once per (access key, date, region)
 * and reused; the secret is kept to notice rotation (compared in constant
 * time).  Fixed number of slots, no growth; wiped on free.  Not locked:
 * one cache per worker thread.  sigv4_keycache_new() returns NULL if SLOTS
 * is 0 or memory is short; sigv4_keycache_get() on a NULL cache derives the
 * key every time.
 */
struct sigv4_keycache;
struct sigv4_keycache *sigv4_keycache_new(size_t slots);
void	 sigv4_keycache_free(struct sigv4_keycache *);
void	 sigv4_keycache_get(struct sigv4_keycache *, const char *access_key_id,
	    const char *secret, const char *date, const char *region,
	    unsigned char key[SIGV4_KEY_LEN]);

/* Constant-time comparison of equal-length buffers; 0 if equal. */
int	 sigv4_ct_compare(const void *, const void *, size_t);

#endif
