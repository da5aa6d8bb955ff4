/*
 * awschunked: streaming aws-chunked decoder; see awschunked.h.
 *
 * One explicit state per position in the grammar.  Lines (chunk headers,
 * trailers) are collected into a fixed buffer; data bytes go straight from
 * IN to OUT, through the chunk's SHA-256 (signed modes) and the trailing
 * checksum (trailer modes): the per-byte cost is those two passes and a
 * memmove.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* SHA256_Init() and friends, as in sigv4.c: no allocation per chunk */
#define OPENSSL_SUPPRESS_DEPRECATED
#include <openssl/crypto.h>
#include <openssl/sha.h>

#include "proxy/awschunked.h"
#include "proxy/sigv4.h"
#include "proxy/uri.h"

enum awschunked_state {
	AC_HEADER = 0,	/* collecting "HEX[;chunk-signature=SIG]\r\n" */
	AC_DATA,	/* chunk_left data bytes to go */
	AC_DATA_CR,	/* the CRLF after a chunk's data */
	AC_DATA_LF,
	AC_TRAILER,	/* after the final chunk: trailer lines, then "\r\n" */
	AC_DONE,
	AC_ERROR,
};

#define AC_EMPTY_SHA256 \
	"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
#define AC_CHUNK_SIG_EXT	";chunk-signature="
#define AC_TRAILER_SIG		"x-amz-trailer-signature"
#define AC_PAYLOAD_ALGORITHM	"AWS4-HMAC-SHA256-PAYLOAD"
#define AC_TRAILER_ALGORITHM	"AWS4-HMAC-SHA256-TRAILER"

static const struct {
	const char	*s3code;
	int		 status;
	const char	*what;
} awschunked_errors[] = {
	[AWSCHUNKED_OK] =		{ NULL, 200, "no error" },
	[AWSCHUNKED_ERR_ARGS] =		{ "InvalidRequest", 400, "bad streaming parameters" },
	[AWSCHUNKED_ERR_FRAMING] =	{ "InvalidRequest", 400, "malformed aws-chunked body" },
	[AWSCHUNKED_ERR_LINE_TOO_LONG] = { "InvalidRequest", 400, "aws-chunked line too long" },
	[AWSCHUNKED_ERR_CHUNK_SIZE] =	{ "EntityTooLarge", 400, "chunk too large" },
	[AWSCHUNKED_ERR_CHUNK_SIGNATURE] = { "SignatureDoesNotMatch", 403, "chunk signature mismatch" },
	[AWSCHUNKED_ERR_TRAILER_SIGNATURE] = { "SignatureDoesNotMatch", 403, "trailer signature mismatch" },
	[AWSCHUNKED_ERR_TRAILER] =	{ "InvalidRequest", 400, "bad trailer" },
	[AWSCHUNKED_ERR_MISSING_CHECKSUM] = { "InvalidRequest", 400, "missing trailing checksum" },
	[AWSCHUNKED_ERR_CHECKSUM] =	{ "BadDigest", 400, "checksum mismatch" },
	[AWSCHUNKED_ERR_DECODED_LENGTH] = { "IncompleteBody", 400, "decoded length mismatch" },
	[AWSCHUNKED_ERR_TRUNCATED] =	{ "IncompleteBody", 400, "truncated body" },
};
#define AC_NERRORS	(sizeof(awschunked_errors) / sizeof(awschunked_errors[0]))

__attribute__((format(printf, 3, 4)))
static enum awschunked_status
awschunked_fail(struct awschunked *ac, enum awschunked_error err, const char *fmt, ...)
{
	va_list ap;

	if (ac->state == AC_ERROR)
		return AWSCHUNKED_ERROR;
	ac->state = AC_ERROR;
	ac->error = err;
	va_start(ap, fmt);
	(void)vsnprintf(ac->message, sizeof(ac->message), fmt, ap);
	va_end(ap);
	return AWSCHUNKED_ERROR;
}

static int
awschunked_is_lowhex(const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return 1;
}

int
awschunked_mode_from_content_sha256(const char *value, size_t len,
    enum awschunked_mode *mode)
{
	static const struct {
		const char		*value;
		enum awschunked_mode	 mode;
	} modes[] = {
		{ AWSCHUNKED_SHA256_SIGNED,		AWSCHUNKED_SIGNED },
		{ AWSCHUNKED_SHA256_SIGNED_TRAILER,	AWSCHUNKED_SIGNED_TRAILER },
		{ AWSCHUNKED_SHA256_UNSIGNED_TRAILER,	AWSCHUNKED_UNSIGNED_TRAILER },
	};
	size_t i;

	for (i = 0; i < sizeof(modes) / sizeof(modes[0]); i++)
		if (strlen(modes[i].value) == len &&
		    memcmp(modes[i].value, value, len) == 0) {
			*mode = modes[i].mode;
			return 0;
		}
	return -1;
}

static int
awschunked_signed(const struct awschunked *ac)
{
	return ac->mode == AWSCHUNKED_SIGNED || ac->mode == AWSCHUNKED_SIGNED_TRAILER;
}

/* Sums the body with ALG, the header named for it: the sum a trailer or a header gives. */
static int
awschunked_sum_start(struct awschunked *ac, enum checksum_alg alg)
{
	if (checksum_init(&ac->checksum, alg) == -1) {
		(void)awschunked_fail(ac, AWSCHUNKED_ERR_ARGS, "out of memory");
		return -1;
	}
	(void)snprintf(ac->trailer_name, sizeof(ac->trailer_name), "%s",
	    checksum_header_name(alg));
	return 0;
}

int
awschunked_init(struct awschunked *ac, enum awschunked_mode mode,
    const unsigned char key[32], const char *amz_date, const char *scope,
    const char *seed_signature, const char *trailer_header, int64_t decoded_length)
{
	const char *t, *end;
	enum checksum_alg alg;

	memset(ac, 0, sizeof(*ac));
	ac->mode = mode;
	ac->state = AC_HEADER;
	ac->decoded_length = decoded_length < 0 ? -1 : decoded_length;
	if (mode != AWSCHUNKED_SIGNED && mode != AWSCHUNKED_SIGNED_TRAILER &&
	    mode != AWSCHUNKED_UNSIGNED_TRAILER) {
		(void)awschunked_fail(ac, AWSCHUNKED_ERR_ARGS, "unknown mode");
		return -1;
	}
	if (decoded_length >= 0 && (uint64_t)decoded_length > AWSCHUNKED_DECODED_MAX) {
		(void)awschunked_fail(ac, AWSCHUNKED_ERR_CHUNK_SIZE,
		    "x-amz-decoded-content-length exceeds the maximum allowed object size");
		return -1;
	}

	if (awschunked_signed(ac)) {
		if (key == NULL || amz_date == NULL || scope == NULL ||
		    seed_signature == NULL || strlen(amz_date) != 16 ||
		    strlen(scope) > AWSCHUNKED_SCOPE_MAX ||
		    strlen(seed_signature) != 64 ||
		    !awschunked_is_lowhex(seed_signature, 64)) {
			(void)awschunked_fail(ac, AWSCHUNKED_ERR_ARGS,
			    "bad signing parameters for a signed aws-chunked body");
			return -1;
		}
		memcpy(ac->key, key, sizeof(ac->key));
		memcpy(ac->amz_date, amz_date, 17);
		(void)strcpy(ac->scope, scope);
		memcpy(ac->prev_signature, seed_signature, 65);
		SHA256_Init(&ac->chunk_sha);
	}

	if (mode == AWSCHUNKED_SIGNED) {
		if (trailer_header != NULL) {
			(void)awschunked_fail(ac, AWSCHUNKED_ERR_ARGS,
			    "x-amz-trailer is not allowed with " AWSCHUNKED_SHA256_SIGNED);
			return -1;
		}
		return 0;
	}

	/* Trailer modes: exactly one checksum trailer, e.g. "x-amz-checksum-crc32". */
	if (trailer_header == NULL) {
		(void)awschunked_fail(ac, AWSCHUNKED_ERR_ARGS,
		    "x-amz-trailer is required with a trailer payload");
		return -1;
	}
	for (t = trailer_header; *t == ' ' || *t == '\t'; t++)
		;
	for (end = t + strlen(t); end > t && (end[-1] == ' ' || end[-1] == '\t'); end--)
		;
	alg = checksum_alg_from_header(t, (size_t)(end - t));
	if (alg == CHECKSUM_NONE || alg == CHECKSUM_MD5) {
		(void)awschunked_fail(ac, AWSCHUNKED_ERR_ARGS,
		    "x-amz-trailer must name one x-amz-checksum-* header");
		return -1;
	}
	return awschunked_sum_start(ac, alg);
}

int
awschunked_expect_checksum(struct awschunked *ac, enum checksum_alg alg,
    const char *value, size_t len)
{
	if (ac->mode != AWSCHUNKED_SIGNED) {
		(void)awschunked_fail(ac, AWSCHUNKED_ERR_TRAILER, "Expecting a single "
		    "x-amz-checksum- header: this body's checksum is its trailer");
		return -1;
	}
	if (alg == CHECKSUM_NONE || alg == CHECKSUM_MD5 || ac->header_checksum) {
		(void)awschunked_fail(ac, AWSCHUNKED_ERR_ARGS, "Expecting a single "
		    "x-amz-checksum- header. Multiple checksum Types are not allowed.");
		return -1;
	}
	if (len >= sizeof(ac->trailer_value)) {
		(void)awschunked_fail(ac, AWSCHUNKED_ERR_TRAILER, "Value for %s header is invalid",
		    checksum_header_name(alg));
		return -1;
	}
	if (awschunked_sum_start(ac, alg) == -1)
		return -1;
	memcpy(ac->trailer_value, value, len);
	ac->trailer_value[len] = '\0';
	ac->header_checksum = 1;
	return 0;
}

/*
 * HMAC(key, ALGORITHM "\n" date "\n" scope "\n" previous "\n" H1 ["\n" H2])
 * as 64 lower-case hex.
 */
static void
awschunked_sign(const struct awschunked *ac, const char *algorithm,
    const char *h1, const char *h2, char out[65])
{
	char sts[512];
	int n;

	n = snprintf(sts, sizeof(sts), "%s\n%s\n%s\n%s\n%s%s%s", algorithm,
	    ac->amz_date, ac->scope, ac->prev_signature, h1, h2 ? "\n" : "",
	    h2 ? h2 : "");
	if (n < 0 || (size_t)n >= sizeof(sts))
		abort();	/* bounded by init's checks */
	sigv4_signature_hex(ac->key, sts, (size_t)n, out);
}

/* Checks the current chunk's signature over the data hashed so far. */
static enum awschunked_status
awschunked_chunk_verify(struct awschunked *ac)
{
	unsigned char md[32];
	char hash[65], sig[65];

	SHA256_Final(md, &ac->chunk_sha);
	SHA256_Init(&ac->chunk_sha);
	sigv4_hex(md, sizeof(md), hash);
	awschunked_sign(ac, AC_PAYLOAD_ALGORITHM, AC_EMPTY_SHA256, hash, sig);
	if (CRYPTO_memcmp(sig, ac->chunk_signature, 64) != 0)
		return awschunked_fail(ac, AWSCHUNKED_ERR_CHUNK_SIGNATURE,
		    "The chunk signature of chunk %llu does not match",
		    (unsigned long long)ac->nchunks);
	memcpy(ac->prev_signature, sig, sizeof(sig));
	return AWSCHUNKED_MORE;
}

/* A complete chunk header line S (CRLF stripped). */
static enum awschunked_status
awschunked_chunk_line(struct awschunked *ac, const char *s, size_t len)
{
	const size_t extlen = sizeof(AC_CHUNK_SIG_EXT) - 1;
	uint64_t size = 0;
	size_t i;
	int v;

	for (i = 0; i < len && (v = uri_hexval((unsigned char)s[i])) >= 0; i++) {
		if (i == 16)
			return awschunked_fail(ac, AWSCHUNKED_ERR_CHUNK_SIZE,
			    "chunk %llu: size has more than 16 hex digits",
			    (unsigned long long)ac->nchunks + 1);
		size = size << 4 | (uint64_t)v;
	}
	if (i == 0)
		return awschunked_fail(ac, AWSCHUNKED_ERR_FRAMING,
		    "chunk %llu: no hex size", (unsigned long long)ac->nchunks + 1);
	if (awschunked_signed(ac)) {
		if (len - i != extlen + 64 ||
		    memcmp(s + i, AC_CHUNK_SIG_EXT, extlen) != 0 ||
		    !awschunked_is_lowhex(s + i + extlen, 64))
			return awschunked_fail(ac, AWSCHUNKED_ERR_FRAMING,
			    "chunk %llu: expected \"SIZE;chunk-signature=SIGNATURE\"",
			    (unsigned long long)ac->nchunks + 1);
		memcpy(ac->chunk_signature, s + i + extlen, 64);
		ac->chunk_signature[64] = '\0';
	} else if (i != len)
		return awschunked_fail(ac, AWSCHUNKED_ERR_FRAMING,
		    "chunk %llu: expected a hex size alone",
		    (unsigned long long)ac->nchunks + 1);

	ac->nchunks++;
	if (size > AWSCHUNKED_DECODED_MAX - ac->decoded)
		return awschunked_fail(ac, AWSCHUNKED_ERR_CHUNK_SIZE,
		    "Your proposed upload exceeds the maximum allowed object size");
	if (ac->decoded_length >= 0 &&
	    size > (uint64_t)ac->decoded_length - ac->decoded)
		return awschunked_fail(ac, AWSCHUNKED_ERR_DECODED_LENGTH,
		    "chunk %llu goes past x-amz-decoded-content-length %lld",
		    (unsigned long long)ac->nchunks, (long long)ac->decoded_length);
	if (size > 0) {
		ac->chunk_left = size;
		ac->state = AC_DATA;
		return AWSCHUNKED_MORE;
	}

	/* The final chunk. */
	if (ac->decoded_length >= 0 && ac->decoded != (uint64_t)ac->decoded_length)
		return awschunked_fail(ac, AWSCHUNKED_ERR_DECODED_LENGTH,
		    "decoded %llu bytes, x-amz-decoded-content-length says %lld",
		    (unsigned long long)ac->decoded, (long long)ac->decoded_length);
	if (awschunked_signed(ac) && awschunked_chunk_verify(ac) == AWSCHUNKED_ERROR)
		return AWSCHUNKED_ERROR;
	ac->state = AC_TRAILER;
	return AWSCHUNKED_MORE;
}

/* The decoded body's sum against the one given in the WHERE ("header", "trailing header"). */
static enum awschunked_status
awschunked_check_sum(struct awschunked *ac, const char *where)
{
	switch (checksum_verify(&ac->checksum, ac->trailer_value, strlen(ac->trailer_value))) {
	case CHECKSUM_MATCH:
		break;
	case CHECKSUM_MALFORMED:
		return awschunked_fail(ac, AWSCHUNKED_ERR_TRAILER, "Value for %s %s is invalid",
		    ac->trailer_name, where);
	case CHECKSUM_MISMATCH:
		return awschunked_fail(ac, AWSCHUNKED_ERR_CHECKSUM,
		    "The %s you specified did not match the calculated checksum",
		    checksum_alg_name(ac->checksum.alg));
	}
	ac->state = AC_DONE;
	return AWSCHUNKED_DONE;
}

/* The empty line that ends the body: checks the trailers as a whole. */
static enum awschunked_status
awschunked_trailer_end(struct awschunked *ac)
{
	char canon[sizeof(ac->trailer_name) + sizeof(ac->trailer_value) + 2];
	char hash[65], sig[65];
	int n;

	if (ac->mode == AWSCHUNKED_SIGNED) {
		if (ac->header_checksum)
			return awschunked_check_sum(ac, "header");
		ac->state = AC_DONE;
		return AWSCHUNKED_DONE;
	}
	if (ac->mode == AWSCHUNKED_SIGNED_TRAILER) {
		if (!ac->trailer_signature_seen)
			return awschunked_fail(ac, AWSCHUNKED_ERR_TRAILER_SIGNATURE,
			    "x-amz-trailer-signature is missing");
		n = snprintf(canon, sizeof(canon), "%s%s%s%s",
		    ac->trailer_seen ? ac->trailer_name : "",
		    ac->trailer_seen ? ":" : "", ac->trailer_value,
		    ac->trailer_seen ? "\n" : "");
		if (n < 0 || (size_t)n >= sizeof(canon))
			abort();
		sigv4_sha256_hex(canon, (size_t)n, hash);
		awschunked_sign(ac, AC_TRAILER_ALGORITHM, hash, NULL, sig);
		if (CRYPTO_memcmp(sig, ac->trailer_signature, 64) != 0)
			return awschunked_fail(ac, AWSCHUNKED_ERR_TRAILER_SIGNATURE,
			    "The trailer signature does not match");
	}
	if (!ac->trailer_seen)
		return awschunked_fail(ac, AWSCHUNKED_ERR_MISSING_CHECKSUM,
		    "x-amz-trailer declares %s but the body does not carry it",
		    ac->trailer_name);
	return awschunked_check_sum(ac, "trailing header");
}

/* A complete trailer line S (CRLF stripped), or the final empty line. */
static enum awschunked_status
awschunked_trailer_line(struct awschunked *ac, const char *s, size_t len)
{
	const char *colon, *v, *end;
	size_t namelen, vlen;

	if (len == 0)
		return awschunked_trailer_end(ac);
	if (ac->mode == AWSCHUNKED_SIGNED)
		return awschunked_fail(ac, AWSCHUNKED_ERR_FRAMING,
		    "expected CRLF after the final chunk");
	if (ac->trailer_signature_seen)
		return awschunked_fail(ac, AWSCHUNKED_ERR_FRAMING,
		    "a trailer after x-amz-trailer-signature");
	if ((colon = memchr(s, ':', len)) == NULL || colon == s)
		return awschunked_fail(ac, AWSCHUNKED_ERR_FRAMING,
		    "malformed trailer line");
	namelen = (size_t)(colon - s);
	for (v = colon + 1, end = s + len; v < end && (*v == ' ' || *v == '\t'); v++)
		;
	while (end > v && (end[-1] == ' ' || end[-1] == '\t'))
		end--;
	vlen = (size_t)(end - v);

	if (namelen == sizeof(AC_TRAILER_SIG) - 1 &&
	    strncasecmp(s, AC_TRAILER_SIG, namelen) == 0) {
		if (ac->mode != AWSCHUNKED_SIGNED_TRAILER)
			return awschunked_fail(ac, AWSCHUNKED_ERR_TRAILER,
			    "x-amz-trailer-signature in an unsigned payload");
		if (vlen != 64 || !awschunked_is_lowhex(v, 64))
			return awschunked_fail(ac, AWSCHUNKED_ERR_TRAILER_SIGNATURE,
			    "malformed x-amz-trailer-signature");
		memcpy(ac->trailer_signature, v, 64);
		ac->trailer_signature[64] = '\0';
		ac->trailer_signature_seen = 1;
		return AWSCHUNKED_MORE;
	}
	if (namelen != strlen(ac->trailer_name) ||
	    strncasecmp(s, ac->trailer_name, namelen) != 0)
		return awschunked_fail(ac, AWSCHUNKED_ERR_TRAILER,
		    "trailer %.*s was not declared in x-amz-trailer",
		    (int)(namelen > 64 ? 64 : namelen), s);
	if (ac->trailer_seen)
		return awschunked_fail(ac, AWSCHUNKED_ERR_TRAILER,
		    "trailer %s repeated", ac->trailer_name);
	if (vlen >= sizeof(ac->trailer_value))
		return awschunked_fail(ac, AWSCHUNKED_ERR_TRAILER,
		    "Value for %s trailing header is invalid", ac->trailer_name);
	memcpy(ac->trailer_value, v, vlen);
	ac->trailer_value[vlen] = '\0';
	ac->trailer_seen = 1;
	return AWSCHUNKED_MORE;
}

/*
 * Collects a line from P; *USED says how much was taken.  1 when the line
 * is complete (then in ac->line, CRLF stripped, NUL-terminated, length in
 * ac->line_len), 0 if more is needed, -1 on error (set).
 */
static int
awschunked_line_take(struct awschunked *ac, const char *p, size_t len, size_t *used)
{
	const char *lf = memchr(p, '\n', len);
	size_t n = lf != NULL ? (size_t)(lf - p) + 1 : len, i;

	*used = n;
	if (n > AWSCHUNKED_LINE_MAX - ac->line_len) {
		(void)awschunked_fail(ac, AWSCHUNKED_ERR_LINE_TOO_LONG,
		    "a chunk or trailer line is longer than %d bytes",
		    AWSCHUNKED_LINE_MAX);
		return -1;
	}
	memcpy(ac->line + ac->line_len, p, n);
	ac->line_len += n;
	if (lf == NULL)
		return 0;
	if (ac->line_len < 2 || ac->line[ac->line_len - 2] != '\r') {
		(void)awschunked_fail(ac, AWSCHUNKED_ERR_FRAMING, "a line not ended by CRLF");
		return -1;
	}
	ac->line_len -= 2;
	for (i = 0; i < ac->line_len; i++)
		if ((unsigned char)ac->line[i] < 0x20 || (unsigned char)ac->line[i] >= 0x7f) {
			(void)awschunked_fail(ac, AWSCHUNKED_ERR_FRAMING,
			    "a control or non-ASCII byte in a chunk or trailer line");
			return -1;
		}
	ac->line[ac->line_len] = '\0';
	return 1;
}

enum awschunked_status
awschunked_feed(struct awschunked *ac, const char *in, size_t in_len,
    size_t *consumed, char *out, size_t out_cap, size_t *produced)
{
	enum awschunked_status st = AWSCHUNKED_MORE;
	size_t i = 0, o = 0, n;
	int r;

	while (i < in_len && st != AWSCHUNKED_ERROR) {
		switch (ac->state) {
		case AC_HEADER:
		case AC_TRAILER:
			if ((r = awschunked_line_take(ac, in + i, in_len - i, &n)) == -1) {
				st = AWSCHUNKED_ERROR;
				break;
			}
			i += n;
			if (r == 0)
				break;
			n = ac->line_len;
			ac->line_len = 0;
			st = ac->state == AC_HEADER ?
			    awschunked_chunk_line(ac, ac->line, n) :
			    awschunked_trailer_line(ac, ac->line, n);
			break;
		case AC_DATA:
			if (o == out_cap)
				goto out;
			n = in_len - i;
			if (n > out_cap - o)
				n = out_cap - o;
			if (n > ac->chunk_left)
				n = (size_t)ac->chunk_left;
			memmove(out + o, in + i, n);
			if (awschunked_signed(ac))
				SHA256_Update(&ac->chunk_sha, out + o, n);
			checksum_update(&ac->checksum, out + o, n);
			i += n;
			o += n;
			ac->chunk_left -= n;
			ac->decoded += n;
			if (ac->chunk_left > 0)
				break;
			/* The chunk is complete: verified before anything further. */
			if (awschunked_signed(ac) &&
			    (st = awschunked_chunk_verify(ac)) == AWSCHUNKED_ERROR)
				break;
			ac->state = AC_DATA_CR;
			break;
		case AC_DATA_CR:
		case AC_DATA_LF:
			if (in[i] != (ac->state == AC_DATA_CR ? '\r' : '\n')) {
				st = awschunked_fail(ac, AWSCHUNKED_ERR_FRAMING,
				    "chunk %llu: data not followed by CRLF",
				    (unsigned long long)ac->nchunks);
				break;
			}
			i++;
			ac->state = ac->state == AC_DATA_CR ? AC_DATA_LF : AC_HEADER;
			break;
		case AC_DONE:
			st = awschunked_fail(ac, AWSCHUNKED_ERR_FRAMING,
			    "bytes after the end of the aws-chunked body");
			break;
		case AC_ERROR:
		default:
			st = AWSCHUNKED_ERROR;
			break;
		}
	}
out:
	*consumed = i;
	*produced = o;
	if (ac->state == AC_ERROR)
		return AWSCHUNKED_ERROR;
	return ac->state == AC_DONE ? AWSCHUNKED_DONE : AWSCHUNKED_MORE;
}

enum awschunked_status
awschunked_finish(struct awschunked *ac)
{
	if (ac->state == AC_DONE)
		return AWSCHUNKED_DONE;
	if (ac->state == AC_ERROR)
		return AWSCHUNKED_ERROR;
	return awschunked_fail(ac, AWSCHUNKED_ERR_TRUNCATED,
	    "The body ended early, in chunk %llu after %llu decoded bytes",
	    (unsigned long long)ac->nchunks, (unsigned long long)ac->decoded);
}

enum awschunked_error
awschunked_error(const struct awschunked *ac)
{
	return ac->error;
}

const char *
awschunked_error_message(const struct awschunked *ac)
{
	if (ac->error == AWSCHUNKED_OK)
		return awschunked_errors[AWSCHUNKED_OK].what;
	return ac->message[0] != '\0' ? ac->message :
	    awschunked_errors[ac->error].what;
}

const char *
awschunked_error_s3code(enum awschunked_error err)
{
	if ((size_t)err >= AC_NERRORS)
		return "InternalError";
	return awschunked_errors[err].s3code;
}

int
awschunked_error_http_status(enum awschunked_error err)
{
	if ((size_t)err >= AC_NERRORS)
		return 500;
	return awschunked_errors[err].status;
}

uint64_t
awschunked_decoded(const struct awschunked *ac)
{
	return ac->decoded;
}

const char *
awschunked_checksum(const struct awschunked *ac, enum checksum_alg *alg)
{
	if (ac->state != AC_DONE || ac->mode == AWSCHUNKED_SIGNED)
		return NULL;
	if (alg != NULL)
		*alg = ac->checksum.alg;
	return ac->trailer_value;
}

void
awschunked_free(struct awschunked *ac)
{
	explicit_bzero(&ac->chunk_sha, sizeof(ac->chunk_sha));
	checksum_free(&ac->checksum);
	explicit_bzero(ac->key, sizeof(ac->key));
}
