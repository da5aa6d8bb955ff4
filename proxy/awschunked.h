/*
 * awschunked: a pure, streaming decoder for S3's aws-chunked request bodies
 * (Content-Encoding: aws-chunked), verifying chunk signatures, the trailer
 * signature and the trailing checksum as the bytes flow.  No I/O, no clock,
 * no allocation but the OpenSSL digest contexts; bounded state.
 *
 * Modes, by the request's x-amz-content-sha256:
 *   STREAMING-AWS4-HMAC-SHA256-PAYLOAD           "HEX;chunk-signature=SIG\r\n"
 *	DATA "\r\n" ... "0;chunk-signature=SIG\r\n" "\r\n"
 *   STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER   the same chunks, but after the
 *	final "0;chunk-signature=SIG\r\n" come "x-amz-checksum-ALG:B64\r\n"
 *	"x-amz-trailer-signature:SIG\r\n" "\r\n"
 *   STREAMING-UNSIGNED-PAYLOAD-TRAILER           "HEX\r\n" DATA "\r\n" ...
 *	"0\r\n" "x-amz-checksum-ALG:B64\r\n" "\r\n"
 *
 * Chunk signature = HMAC(key, "AWS4-HMAC-SHA256-PAYLOAD\n" date "\n" scope
 * "\n" previous-signature "\n" hex(sha256("")) "\n" hex(sha256(data))),
 * chained from the seed signature (the request's Authorization signature).
 * Trailer signature = HMAC(key, "AWS4-HMAC-SHA256-TRAILER\n" date "\n" scope
 * "\n" final-chunk-signature "\n" hex(sha256("x-amz-checksum-ALG:B64\n"))).
 *
 * Ordering the proxy relies on: data bytes are produced as they arrive (a
 * chunk is never buffered whole), and a chunk's signature is checked as soon
 * as its last data byte is consumed, before any byte of the next chunk is
 * produced.  So a caller that holds back the last decoded byte until DONE
 * never lets the backend complete an object that fails verification.
 *
 * Framing is strict: CRLF exactly, 1 to 16 hex digits, lower-case 64-hex
 * signatures, no chunk extension but chunk-signature (and none at all
 * unsigned), lines at most AWSCHUNKED_LINE_MAX, only the declared trailer
 * (plus x-amz-trailer-signature when signed, last), nothing after the end.
 */
#ifndef S3GATE_AWSCHUNKED_H
#define S3GATE_AWSCHUNKED_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/sha.h>

#include "proxy/checksum.h"

#define AWSCHUNKED_CONTENT_ENCODING	"aws-chunked"
#define AWSCHUNKED_SHA256_SIGNED		"STREAMING-AWS4-HMAC-SHA256-PAYLOAD"
#define AWSCHUNKED_SHA256_SIGNED_TRAILER	"STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER"
#define AWSCHUNKED_SHA256_UNSIGNED_TRAILER	"STREAMING-UNSIGNED-PAYLOAD-TRAILER"

/*
 * A chunk header or trailer line, CRLF included, longer than this is an
 * error.  Real ones are under 100 bytes ("10000;chunk-signature=" + 64 hex,
 * "x-amz-checksum-sha256:" + 44 base64); the bound keeps the state small.
 */
#define AWSCHUNKED_LINE_MAX		1024
/* S3's largest single PUT (and part): 5 GiB.  More decoded data is refused. */
#define AWSCHUNKED_DECODED_MAX		(5ull << 30)
/* "YYYYMMDD/region/service/aws4_request": date 8 + region <= 63 + ... */
#define AWSCHUNKED_SCOPE_MAX		127

enum awschunked_mode {
	AWSCHUNKED_SIGNED,		/* STREAMING-AWS4-HMAC-SHA256-PAYLOAD */
	AWSCHUNKED_SIGNED_TRAILER,	/* STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER */
	AWSCHUNKED_UNSIGNED_TRAILER,	/* STREAMING-UNSIGNED-PAYLOAD-TRAILER */
};

enum awschunked_status {
	AWSCHUNKED_MORE,	/* feed more (or, with OUT full, call again) */
	AWSCHUNKED_DONE,	/* final chunk and trailers verified, lengths matched */
	AWSCHUNKED_ERROR,	/* see awschunked_error(); sticky */
};

enum awschunked_error {
	AWSCHUNKED_OK = 0,
	AWSCHUNKED_ERR_ARGS,		/* awschunked_init: bad key/date/scope/seed/trailer */
	AWSCHUNKED_ERR_FRAMING,		/* bad chunk line, CRLF, trailer line, bytes after end */
	AWSCHUNKED_ERR_LINE_TOO_LONG,	/* a line over AWSCHUNKED_LINE_MAX */
	AWSCHUNKED_ERR_CHUNK_SIZE,	/* more than 16 hex digits, or over AWSCHUNKED_DECODED_MAX */
	AWSCHUNKED_ERR_CHUNK_SIGNATURE,	/* a chunk signature does not match */
	AWSCHUNKED_ERR_TRAILER_SIGNATURE, /* trailer signature missing or not matching */
	AWSCHUNKED_ERR_TRAILER,		/* undeclared or repeated trailer, malformed value */
	AWSCHUNKED_ERR_MISSING_CHECKSUM, /* the x-amz-trailer checksum never came */
	AWSCHUNKED_ERR_CHECKSUM,	/* trailing checksum does not match the data */
	AWSCHUNKED_ERR_DECODED_LENGTH,	/* data differs from x-amz-decoded-content-length */
	AWSCHUNKED_ERR_TRUNCATED,	/* awschunked_finish() before the end */
};

/* Decoder state.  Fixed size; owns two OpenSSL contexts (awschunked_free). */
struct awschunked {
	enum awschunked_mode	 mode;
	int			 state;
	enum awschunked_error	 error;
	char			 message[160];

	int64_t			 decoded_length;	/* -1: unknown */
	uint64_t		 decoded;		/* data bytes so far */
	uint64_t		 chunk_left;		/* of the current chunk */
	uint64_t		 nchunks;		/* chunks begun, the final one included */

	size_t			 line_len;
	char			 line[AWSCHUNKED_LINE_MAX + 1];

	/* Signed modes. */
	unsigned char		 key[32];
	char			 amz_date[17];
	char			 scope[AWSCHUNKED_SCOPE_MAX + 1];
	char			 prev_signature[65];	/* seed, then each chunk's */
	char			 chunk_signature[65];	/* as sent for the current chunk */
	SHA256_CTX		 chunk_sha;		/* the current chunk's data */

	/* Trailer modes: the one checksum x-amz-trailer declares. */
	struct checksum		 checksum;
	char			 trailer_name[32];	/* "x-amz-checksum-crc32" */
	char			 trailer_value[64];	/* base64 as received */
	int			 trailer_seen;
	char			 trailer_signature[65];
	int			 trailer_signature_seen;
	int			 header_checksum;	/* AWSCHUNKED_SIGNED: checksum/trailer_value from a header */
};

/*
 * Mode from an x-amz-content-sha256 value: 0 and *MODE, or -1 if it is not
 * one of the three streaming values this decoder handles (e.g. the ECDSA
 * ones, UNSIGNED-PAYLOAD, a hex hash).
 */
int	awschunked_mode_from_content_sha256(const char *value, size_t len,
	    enum awschunked_mode *mode);

/*
 * Prepares AC.  KEY is the SigV4 signing key, AMZ_DATE the request's
 * x-amz-date, SCOPE "20130524/us-east-1/s3/aws4_request", SEED_SIGNATURE
 * the Authorization signature (64 lower-case hex); all three are ignored,
 * and may be NULL, in AWSCHUNKED_UNSIGNED_TRAILER.  TRAILER_HEADER is the
 * x-amz-trailer value: required in the trailer modes, naming one checksum
 * ("x-amz-checksum-crc32", -crc32c, -crc64nvme, -sha1, -sha256); must be
 * NULL in AWSCHUNKED_SIGNED.  DECODED_LENGTH is x-amz-decoded-content-length
 * or -1 if absent.  Returns 0, or -1 with the error set (AWSCHUNKED_ERR_ARGS,
 * or AWSCHUNKED_ERR_CHUNK_SIZE for a decoded length over 5 GiB); either way
 * awschunked_free() must be called.
 */
int	awschunked_init(struct awschunked *ac, enum awschunked_mode mode,
	    const unsigned char key[32], const char *amz_date, const char *scope,
	    const char *seed_signature, const char *trailer_header,
	    int64_t decoded_length);

/*
 * Consumes encoded bytes from IN and writes decoded data into OUT (at most
 * OUT_CAP); *CONSUMED and *PRODUCED say how much.  Stops early, returning
 * MORE with *CONSUMED < IN_LEN, only when OUT is full: call again with the
 * rest.  Never produces more than it consumes, so OUT may be IN itself
 * (in-place decoding).  DONE as soon as the last byte of the body is
 * consumed; any byte after it is an error.  After an error, returns ERROR.
 */
/*
 * The request's x-amz-checksum-ALG header (VALUE, LEN bytes): the decoded
 * body must match it, checked at its end as a trailer is (the backend,
 * Ceph before reef, ignores the header).  Only in AWSCHUNKED_SIGNED: a
 * trailer mode carries its checksum in the trailer, and a second one in a
 * header is refused (S3: a single x-amz-checksum- header).  0, or -1 with
 * the error set.
 */
int	awschunked_expect_checksum(struct awschunked *ac, enum checksum_alg alg,
	    const char *value, size_t len);

enum awschunked_status awschunked_feed(struct awschunked *ac, const char *in,
	    size_t in_len, size_t *consumed, char *out, size_t out_cap,
	    size_t *produced);

/*
 * The body ended (EOF, or Content-Length reached): DONE if the decoder had
 * seen the whole body, else ERROR with AWSCHUNKED_ERR_TRUNCATED (or the
 * error already set).
 */
enum awschunked_status awschunked_finish(struct awschunked *ac);

/* The error (AWSCHUNKED_OK if none) and an English message for it. */
enum awschunked_error awschunked_error(const struct awschunked *ac);
const char	*awschunked_error_message(const struct awschunked *ac);

/*
 * The S3 answer for an error: "SignatureDoesNotMatch" (403), "BadDigest",
 * "IncompleteBody", "InvalidRequest", "EntityTooLarge" (400).
 */
const char	*awschunked_error_s3code(enum awschunked_error);
int		 awschunked_error_http_status(enum awschunked_error);

/* Decoded data bytes so far. */
uint64_t	 awschunked_decoded(const struct awschunked *ac);

/*
 * After DONE in a trailer mode: the verified checksum's algorithm and
 * base64 value (to echo in the response, or log); NULL before, or in
 * AWSCHUNKED_SIGNED.
 */
const char	*awschunked_checksum(const struct awschunked *ac, enum checksum_alg *alg);

/* Frees the digest contexts and wipes the key; idempotent. */
void		 awschunked_free(struct awschunked *ac);

#endif
