/*
 * test_awschunked: the aws-chunked decoder through its public API.
 *
 * - AWS's worked examples (sigv4-streaming: signed chunks; sigv4-streaming-
 *   trailers: signed chunks + signed crc32c trailer), fed whole and in
 *   random 1..7-byte pieces with a randomly small OUT, and in place;
 * - tampering: a data byte, a chunk signature, chunk order, truncation,
 *   bytes after the end, long lines, hex overflow, lying lengths, framing;
 * - STREAMING-UNSIGNED-PAYLOAD-TRAILER with every checksum, good and bad;
 * - real captures from aws-cli v1/v2 and @aws-sdk/client-s3
 *   (tests/data/awschunked/captures.txt) decode to the uploaded file.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "proxy/awschunked.h"
#include "proxy/checksum.h"
#include "proxy/sigv4.h"
#include "tests/unit/testlib.h"

#define SECRET		"wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
#define DATE		"20130524T000000Z"
#define SCOPE		"20130524/us-east-1/s3/aws4_request"
/* sigv4-streaming example: 64 KiB + 1 KiB of 'a'. */
#define SEED		"4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9"
#define SIG1		"ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648"
#define SIG2		"0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497"
#define SIG3		"b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9"
/* sigv4-streaming-trailers example: the same data, x-amz-checksum-crc32c. */
#define TSEED		"106e2a8a18243abcf37539882f36619c00e2dfc72633413f02d3b74544bfeb8e"
#define TSIG1		"b474d8862b1487a5145d686f57f013e54db672cee1c953b3010fb58501ef5aa2"
#define TSIG2		"1c1344b170168f8e65b41376b44b20fe354e373826ccbbe2c1d40a8cae51e5c7"
#define TSIG3		"2ca2aba2005185cf7159c6277faf83795951dd77a3a99e6e65d5c9f85863f992"
#define TTRAILER_SIG	"d81f82fc3505edab99d459891051a732e8730629a2e4a59689829ca17fe2e435"
#define EXAMPLE_LEN	66560

static unsigned char key[SIGV4_KEY_LEN];

/* A growable byte string for building bodies. */
struct buf {
	char	*p;
	size_t	 len, cap;
};

static void
buf_add(struct buf *b, const void *data, size_t len)
{
	if (b->len + len + 1 > b->cap) {
		b->cap = (b->len + len + 1) * 2;
		if ((b->p = realloc(b->p, b->cap)) == NULL)
			abort();
	}
	memcpy(b->p + b->len, data, len);
	b->len += len;
	b->p[b->len] = '\0';
}

static void
buf_str(struct buf *b, const char *s)
{
	buf_add(b, s, strlen(s));
}

static void
buf_fill(struct buf *b, int ch, size_t n)
{
	char tmp[4096];
	size_t k;

	memset(tmp, ch, sizeof(tmp));
	while (n > 0) {
		k = n < sizeof(tmp) ? n : sizeof(tmp);
		buf_add(b, tmp, k);
		n -= k;
	}
}

/* The sigv4-streaming example body, with chunk signatures S1..S3. */
static struct buf
example_body(const char *s1, const char *s2, const char *s3, const char *after_final)
{
	struct buf b = { 0 };

	buf_str(&b, "10000;chunk-signature=");
	buf_str(&b, s1);
	buf_str(&b, "\r\n");
	buf_fill(&b, 'a', 65536);
	buf_str(&b, "\r\n400;chunk-signature=");
	buf_str(&b, s2);
	buf_str(&b, "\r\n");
	buf_fill(&b, 'a', 1024);
	buf_str(&b, "\r\n0;chunk-signature=");
	buf_str(&b, s3);
	buf_str(&b, "\r\n");
	buf_str(&b, after_final);
	return b;
}

struct result {
	enum awschunked_status	 status;	/* after the last feed (and finish) */
	enum awschunked_error	 error;
	struct buf		 out;
	size_t			 consumed;
};

/*
 * Decodes BODY with AC (initialised): PIECE 0 feeds it whole with a big OUT;
 * otherwise in random pieces of 1..PIECE bytes with a random OUT of 1..PIECE
 * (PIECE < 0: in place, OUT = the piece itself).  FINISH: call
 * awschunked_finish() at the end.  Frees AC.
 */
static struct result
decode(struct awschunked *ac, const char *body, size_t len, int piece, int finish)
{
	struct result r = { AWSCHUNKED_MORE, AWSCHUNKED_OK, { 0 }, 0 };
	char *out, *copy = NULL;
	size_t off = 0, n, cap, used, made;

	if ((out = malloc(len + 1)) == NULL)
		abort();
	if (piece < 0 && (copy = malloc(len + 1)) == NULL)
		abort();
	if (copy != NULL)
		memcpy(copy, body, len);
	while (r.status == AWSCHUNKED_MORE && off < len) {
		if (piece == 0) {
			n = len - off;
			cap = len;
		} else {
			int p = piece < 0 ? -piece : piece;

			n = 1 + (size_t)(rand() % p);
			if (n > len - off)
				n = len - off;
			cap = 1 + (size_t)(rand() % p);
		}
		if (copy != NULL) {
			/* In place: decode the piece into itself. */
			cap = n;
			r.status = awschunked_feed(ac, copy + off, n, &used,
			    copy + off, n, &made);
			buf_add(&r.out, copy + off, made);
		} else {
			r.status = awschunked_feed(ac, body + off, n, &used, out, cap, &made);
			buf_add(&r.out, out, made);
		}
		if (used > n || made > cap || made > used)
			abort();
		off += used;
	}
	if (finish && r.status == AWSCHUNKED_MORE)
		r.status = awschunked_finish(ac);
	r.error = awschunked_error(ac);
	r.consumed = off;
	if (r.status == AWSCHUNKED_ERROR && getenv("VERBOSE") != NULL)
		printf("#   %s: %s\n", awschunked_error_s3code(r.error),
		    awschunked_error_message(ac));
	awschunked_free(ac);
	free(out);
	free(copy);
	return r;
}

static int
all_a(const struct buf *b, size_t len)
{
	size_t i;

	if (b->len != len)
		return 0;
	for (i = 0; i < len; i++)
		if (b->p[i] != 'a')
			return 0;
	return 1;
}

static struct result
run_signed(const char *body, size_t len, int piece, int64_t decoded_length, const char *seed)
{
	struct awschunked ac;

	if (awschunked_init(&ac, AWSCHUNKED_SIGNED, key, DATE, SCOPE, seed, NULL,
	    decoded_length) == -1)
		abort();
	return decode(&ac, body, len, piece, 1);
}

static struct result
run_signed_trailer(const char *body, size_t len, int piece)
{
	struct awschunked ac;

	if (awschunked_init(&ac, AWSCHUNKED_SIGNED_TRAILER, key, DATE, SCOPE, TSEED,
	    "x-amz-checksum-crc32c", EXAMPLE_LEN) == -1)
		abort();
	return decode(&ac, body, len, piece, 1);
}

static void
result_free(struct result *r)
{
	free(r->out.p);
}

static void
test_aws_example(void)
{
	struct buf b = example_body(SIG1, SIG2, SIG3, "\r\n");
	struct result r;
	int i, ok = 1;

	r = run_signed(b.p, b.len, 0, EXAMPLE_LEN, SEED);
	T_OK(r.status == AWSCHUNKED_DONE && all_a(&r.out, EXAMPLE_LEN) && r.consumed == b.len,
	    "AWS signed example, one piece: DONE, 66560 x 'a'");
	result_free(&r);
	for (i = 0; i < 20; i++) {
		r = run_signed(b.p, b.len, 7, EXAMPLE_LEN, SEED);
		ok &= r.status == AWSCHUNKED_DONE && all_a(&r.out, EXAMPLE_LEN);
		result_free(&r);
	}
	T_OK(ok, "AWS signed example, random 1..7-byte pieces and OUT sizes (20 runs): DONE, same output");
	r = run_signed(b.p, b.len, -5, EXAMPLE_LEN, SEED);
	T_OK(r.status == AWSCHUNKED_DONE && all_a(&r.out, EXAMPLE_LEN),
	    "AWS signed example, decoded in place");
	result_free(&r);
	r = run_signed(b.p, b.len, 0, -1, SEED);
	T_OK(r.status == AWSCHUNKED_DONE && all_a(&r.out, EXAMPLE_LEN),
	    "AWS signed example without x-amz-decoded-content-length");
	result_free(&r);
	free(b.p);
}

static void
test_aws_trailer_example(void)
{
	struct buf b = example_body(TSIG1, TSIG2, TSIG3,
	    "x-amz-checksum-crc32c:sOO8/Q==\r\n"
	    "x-amz-trailer-signature:" TTRAILER_SIG "\r\n\r\n");
	struct awschunked ac;
	struct result r;
	enum checksum_alg alg = CHECKSUM_NONE;
	char *p;
	size_t made0;
	int i, ok = 1;

	if (awschunked_init(&ac, AWSCHUNKED_SIGNED_TRAILER, key, DATE, SCOPE, TSEED,
	    "x-amz-checksum-crc32c", EXAMPLE_LEN) == -1)
		abort();
	r.status = awschunked_feed(&ac, b.p, b.len, &r.consumed, NULL, 0, &made0);
	T_OK(r.status == AWSCHUNKED_MORE && r.consumed < 100 && made0 == 0,
	    "OUT of 0 bytes: stops at the first data byte");
	awschunked_free(&ac);

	r = run_signed_trailer(b.p, b.len, 0);
	T_OK(r.status == AWSCHUNKED_DONE && all_a(&r.out, EXAMPLE_LEN),
	    "AWS signed-trailer example (crc32c sOO8/Q==, trailer signature d81f82fc...): DONE");
	result_free(&r);
	for (i = 0; i < 20; i++) {
		r = run_signed_trailer(b.p, b.len, 7);
		ok &= r.status == AWSCHUNKED_DONE && all_a(&r.out, EXAMPLE_LEN);
		result_free(&r);
	}
	T_OK(ok, "AWS signed-trailer example in random pieces (20 runs)");

	if (awschunked_init(&ac, AWSCHUNKED_SIGNED_TRAILER, key, DATE, SCOPE, TSEED,
	    "x-amz-checksum-crc32c", EXAMPLE_LEN) == -1)
		abort();
	{
		char *out = malloc(b.len);
		size_t used, made;

		T_OK(awschunked_feed(&ac, b.p, b.len, &used, out, b.len, &made) ==
		    AWSCHUNKED_DONE && awschunked_checksum(&ac, &alg) != NULL &&
		    strcmp(awschunked_checksum(&ac, &alg), "sOO8/Q==") == 0 &&
		    alg == CHECKSUM_CRC32C && awschunked_decoded(&ac) == EXAMPLE_LEN,
		    "awschunked_checksum() gives the verified crc32c after DONE");
		free(out);
	}
	awschunked_free(&ac);

	/* The trailer value is covered by the trailer signature. */
	p = strstr(b.p, "sOO8/Q==");
	p[6] = 'A';
	r = run_signed_trailer(b.p, b.len, 0);
	T_OK(r.status == AWSCHUNKED_ERROR && r.error == AWSCHUNKED_ERR_TRAILER_SIGNATURE,
	    "signed trailer: a changed checksum value breaks the trailer signature");
	result_free(&r);
	p[6] = 'Q';
	p = strstr(b.p, TTRAILER_SIG);
	p[0] = 'e';
	r = run_signed_trailer(b.p, b.len, 0);
	T_OK(r.status == AWSCHUNKED_ERROR && r.error == AWSCHUNKED_ERR_TRAILER_SIGNATURE,
	    "signed trailer: a changed trailer signature is refused");
	result_free(&r);
	free(b.p);

	b = example_body(TSIG1, TSIG2, TSIG3, "x-amz-checksum-crc32c:sOO8/Q==\r\n\r\n");
	r = run_signed_trailer(b.p, b.len, 0);
	T_OK(r.status == AWSCHUNKED_ERROR && r.error == AWSCHUNKED_ERR_TRAILER_SIGNATURE,
	    "signed trailer: missing x-amz-trailer-signature is refused");
	result_free(&r);
	free(b.p);

	b = example_body(TSIG1, TSIG2, TSIG3,
	    "x-amz-trailer-signature:" TTRAILER_SIG "\r\nx-amz-checksum-crc32c:sOO8/Q==\r\n\r\n");
	r = run_signed_trailer(b.p, b.len, 0);
	T_OK(r.status == AWSCHUNKED_ERROR && r.error == AWSCHUNKED_ERR_FRAMING,
	    "signed trailer: a trailer after the trailer signature is refused");
	result_free(&r);
	free(b.p);
}

static void
test_tampering(void)
{
	struct buf b = example_body(SIG1, SIG2, SIG3, "\r\n"), c = { 0 };
	struct result r;
	char *p, save;
	size_t hdr1, chunk1_end;

	hdr1 = strlen("10000;chunk-signature=" SIG1 "\r\n");
	chunk1_end = hdr1 + 65536 + 2;

	/* A data byte. */
	b.p[hdr1 + 100] = 'b';
	r = run_signed(b.p, b.len, 0, EXAMPLE_LEN, SEED);
	T_OK(r.status == AWSCHUNKED_ERROR && r.error == AWSCHUNKED_ERR_CHUNK_SIGNATURE &&
	    r.out.len == 65536, "tampered data byte in chunk 1: SignatureDoesNotMatch, "
	    "nothing of chunk 2 produced");
	T_STREQ(awschunked_error_s3code(r.error), "SignatureDoesNotMatch", "its S3 code");
	T_OK(awschunked_error_http_status(r.error) == 403, "its HTTP status 403");
	result_free(&r);
	b.p[hdr1 + 100] = 'a';
	b.p[chunk1_end + strlen("400;chunk-signature=" SIG2 "\r\n") + 1023] = 'b';
	r = run_signed(b.p, b.len, 3, EXAMPLE_LEN, SEED);
	T_OK(r.status == AWSCHUNKED_ERROR && r.error == AWSCHUNKED_ERR_CHUNK_SIGNATURE &&
	    r.out.len == EXAMPLE_LEN, "tampered last data byte: refused before DONE");
	result_free(&r);
	free(b.p);

	/* A chunk signature. */
	b = example_body(SIG1, SIG2, SIG3, "\r\n");
	p = strstr(b.p, SIG2);
	p[10] = p[10] == '0' ? '1' : '0';
	r = run_signed(b.p, b.len, 0, EXAMPLE_LEN, SEED);
	T_OK(r.status == AWSCHUNKED_ERROR && r.error == AWSCHUNKED_ERR_CHUNK_SIGNATURE,
	    "tampered chunk signature: refused");
	result_free(&r);
	free(b.p);

	/* The final chunk's signature. */
	b = example_body(SIG1, SIG2, SIG2, "\r\n");
	r = run_signed(b.p, b.len, 0, EXAMPLE_LEN, SEED);
	T_OK(r.status == AWSCHUNKED_ERROR && r.error == AWSCHUNKED_ERR_CHUNK_SIGNATURE,
	    "wrong final-chunk signature: refused");
	result_free(&r);
	free(b.p);

	/* Wrong seed. */
	b = example_body(SIG1, SIG2, SIG3, "\r\n");
	r = run_signed(b.p, b.len, 0, EXAMPLE_LEN, TSEED);
	T_OK(r.status == AWSCHUNKED_ERROR && r.error == AWSCHUNKED_ERR_CHUNK_SIGNATURE &&
	    r.out.len == 65536, "another request's seed signature: chunk 1 refused");
	result_free(&r);

	/* Chunk reordering: chunk 2 (with its signature) first. */
	buf_add(&c, b.p + chunk1_end, b.len - chunk1_end - strlen("0;chunk-signature=" SIG3
	    "\r\n\r\n"));
	buf_add(&c, b.p, chunk1_end);
	buf_str(&c, "0;chunk-signature=" SIG3 "\r\n\r\n");
	r = run_signed(c.p, c.len, 0, EXAMPLE_LEN, SEED);
	T_OK(r.status == AWSCHUNKED_ERROR && r.error == AWSCHUNKED_ERR_CHUNK_SIGNATURE &&
	    r.out.len == 1024, "chunks reordered: refused at the first chunk");
	result_free(&r);
	free(c.p);

	/* Truncation, at several places. */
	{
		static const size_t cuts[] = { 1, 2, 3, 50, 1100, 60000 };
		size_t i;
		int ok = 1;

		for (i = 0; i < sizeof(cuts) / sizeof(cuts[0]); i++) {
			r = run_signed(b.p, b.len - cuts[i], 5, EXAMPLE_LEN, SEED);
			ok &= r.status == AWSCHUNKED_ERROR && r.error == AWSCHUNKED_ERR_TRUNCATED;
			result_free(&r);
		}
		T_OK(ok, "truncated body (6 places): IncompleteBody at finish");
		T_STREQ(awschunked_error_s3code(AWSCHUNKED_ERR_TRUNCATED), "IncompleteBody",
		    "truncation's S3 code");
	}

	/* Extra bytes after the final chunk. */
	free(b.p);
	b = example_body(SIG1, SIG2, SIG3, "\r\nX");
	r = run_signed(b.p, b.len, 0, EXAMPLE_LEN, SEED);
	T_OK(r.status == AWSCHUNKED_ERROR && r.error == AWSCHUNKED_ERR_FRAMING,
	    "a byte after the final chunk: refused");
	result_free(&r);
	r = run_signed(b.p, b.len, 4, EXAMPLE_LEN, SEED);
	T_OK(r.status == AWSCHUNKED_ERROR && r.error == AWSCHUNKED_ERR_FRAMING,
	    "a byte after the final chunk, fed in pieces: refused");
	result_free(&r);
	free(b.p);
	b = example_body(SIG1, SIG2, SIG3, "0;chunk-signature=" SIG3 "\r\n\r\n");
	r = run_signed(b.p, b.len, 0, EXAMPLE_LEN, SEED);
	T_OK(r.status == AWSCHUNKED_ERROR && r.error == AWSCHUNKED_ERR_FRAMING,
	    "a second final chunk instead of CRLF: refused");
	result_free(&r);
	free(b.p);

	/* Lying x-amz-decoded-content-length. */
	b = example_body(SIG1, SIG2, SIG3, "\r\n");
	r = run_signed(b.p, b.len, 0, EXAMPLE_LEN + 1, SEED);
	T_OK(r.status == AWSCHUNKED_ERROR && r.error == AWSCHUNKED_ERR_DECODED_LENGTH &&
	    r.out.len == EXAMPLE_LEN, "decoded length 66561 for 66560: refused at the final chunk");
	result_free(&r);
	r = run_signed(b.p, b.len, 0, EXAMPLE_LEN - 1, SEED);
	T_OK(r.status == AWSCHUNKED_ERROR && r.error == AWSCHUNKED_ERR_DECODED_LENGTH &&
	    r.out.len == 65536, "decoded length 66559 for 66560: refused before chunk 2's data");
	result_free(&r);
	T_STREQ(awschunked_error_s3code(AWSCHUNKED_ERR_DECODED_LENGTH), "IncompleteBody",
	    "length lie's S3 code");

	/* Framing: a bare LF after data, missing CRLF, upper-case signature. */
	b.p[hdr1 + 65536] = '\n';
	r = run_signed(b.p, b.len, 0, EXAMPLE_LEN, SEED);
	T_OK(r.status == AWSCHUNKED_ERROR && r.error == AWSCHUNKED_ERR_FRAMING,
	    "LF instead of CR after chunk data: refused");
	result_free(&r);
	b.p[hdr1 + 65536] = '\r';
	save = b.p[hdr1 - 2];
	b.p[hdr1 - 2] = ' ';
	r = run_signed(b.p, b.len, 0, EXAMPLE_LEN, SEED);
	T_OK(r.status == AWSCHUNKED_ERROR && r.error == AWSCHUNKED_ERR_FRAMING,
	    "chunk header ended by bare LF: refused");
	result_free(&r);
	b.p[hdr1 - 2] = save;
	p = strstr(b.p, SIG1);
	p[0] = 'A';	/* 'a' -> 'A' */
	r = run_signed(b.p, b.len, 0, EXAMPLE_LEN, SEED);
	T_OK(r.status == AWSCHUNKED_ERROR && r.error == AWSCHUNKED_ERR_FRAMING,
	    "upper-case hex chunk signature: refused");
	result_free(&r);
	free(b.p);
}

/* One signed chunk-header line LINE, then nothing: the error it gets. */
static enum awschunked_error
header_error(enum awschunked_mode mode, const char *line, int64_t decoded_length)
{
	struct awschunked ac;
	struct result r;

	if (awschunked_init(&ac, mode, key, DATE, SCOPE, SEED,
	    mode == AWSCHUNKED_SIGNED ? NULL : "x-amz-checksum-crc32", decoded_length) == -1)
		abort();
	r = decode(&ac, line, strlen(line), 0, 0);
	result_free(&r);
	return r.status == AWSCHUNKED_ERROR ? r.error : AWSCHUNKED_OK;
}

static void
test_headers(void)
{
	struct buf b = { 0 };

	T_OK(header_error(AWSCHUNKED_SIGNED,
	    "10000000000000000;chunk-signature=" SIG1 "\r\n", -1) == AWSCHUNKED_ERR_CHUNK_SIZE,
	    "17 hex digits: chunk too large");
	T_OK(header_error(AWSCHUNKED_SIGNED,
	    "00000000000000001;chunk-signature=" SIG1 "\r\n", -1) == AWSCHUNKED_ERR_CHUNK_SIZE,
	    "17 hex digits with leading zeros: refused");
	T_OK(header_error(AWSCHUNKED_SIGNED,
	    "ffffffffffffffff;chunk-signature=" SIG1 "\r\n", -1) == AWSCHUNKED_ERR_CHUNK_SIZE,
	    "2^64-1 bytes: over the 5 GiB object limit");
	T_STREQ(awschunked_error_s3code(AWSCHUNKED_ERR_CHUNK_SIZE), "EntityTooLarge",
	    "oversize chunk's S3 code");
	T_OK(header_error(AWSCHUNKED_SIGNED,
	    "140000001;chunk-signature=" SIG1 "\r\n", -1) == AWSCHUNKED_ERR_CHUNK_SIZE,
	    "5 GiB + 1 in one chunk: refused");
	T_OK(header_error(AWSCHUNKED_SIGNED,
	    "10001;chunk-signature=" SIG1 "\r\n", 65536) == AWSCHUNKED_ERR_DECODED_LENGTH,
	    "a chunk bigger than x-amz-decoded-content-length: refused at its header");
	T_OK(header_error(AWSCHUNKED_SIGNED,
	    "10000;chunk-signature=" SIG1 "\r\n", 65536) == AWSCHUNKED_OK,
	    "a chunk of exactly x-amz-decoded-content-length: fine");
	T_OK(header_error(AWSCHUNKED_SIGNED, "10000\r\n", -1) == AWSCHUNKED_ERR_FRAMING,
	    "signed mode, no chunk-signature: refused");
	T_OK(header_error(AWSCHUNKED_SIGNED, "10000;foo=bar;chunk-signature=" SIG1 "\r\n", -1) ==
	    AWSCHUNKED_ERR_FRAMING, "signed mode, another chunk extension: refused");
	T_OK(header_error(AWSCHUNKED_SIGNED, "10000;chunk-signature=" SIG1 ";x=y\r\n", -1) ==
	    AWSCHUNKED_ERR_FRAMING, "signed mode, extension after the signature: refused");
	T_OK(header_error(AWSCHUNKED_SIGNED, "10000;chunk-signature=abc\r\n", -1) ==
	    AWSCHUNKED_ERR_FRAMING, "signed mode, short signature: refused");
	T_OK(header_error(AWSCHUNKED_SIGNED, " 10000;chunk-signature=" SIG1 "\r\n", -1) ==
	    AWSCHUNKED_ERR_FRAMING, "leading space: refused");
	T_OK(header_error(AWSCHUNKED_SIGNED, ";chunk-signature=" SIG1 "\r\n", -1) ==
	    AWSCHUNKED_ERR_FRAMING, "no size: refused");
	T_OK(header_error(AWSCHUNKED_SIGNED, "\r\n", -1) == AWSCHUNKED_ERR_FRAMING,
	    "empty chunk header: refused");
	T_OK(header_error(AWSCHUNKED_UNSIGNED_TRAILER, "10000;chunk-signature=" SIG1 "\r\n", -1) ==
	    AWSCHUNKED_ERR_FRAMING, "unsigned mode, chunk-signature: refused");
	T_OK(header_error(AWSCHUNKED_UNSIGNED_TRAILER, "10000;x=y\r\n", -1) ==
	    AWSCHUNKED_ERR_FRAMING, "unsigned mode, chunk extension: refused");
	T_OK(header_error(AWSCHUNKED_UNSIGNED_TRAILER, "1\r0\r\n", -1) ==
	    AWSCHUNKED_ERR_FRAMING, "CR inside a line: refused");
	T_OK(header_error(AWSCHUNKED_UNSIGNED_TRAILER, "10\r\n", -1) == AWSCHUNKED_OK &&
	    header_error(AWSCHUNKED_UNSIGNED_TRAILER, "aBcD\r\n", -1) == AWSCHUNKED_OK,
	    "unsigned mode, hex sizes either case: fine");

	buf_str(&b, "10000;");
	buf_fill(&b, 'x', AWSCHUNKED_LINE_MAX);
	T_OK(header_error(AWSCHUNKED_SIGNED, b.p, -1) == AWSCHUNKED_ERR_LINE_TOO_LONG,
	    "chunk header line over %d bytes, no LF yet: refused", AWSCHUNKED_LINE_MAX);
	free(b.p);
}

static void
test_init(void)
{
	struct awschunked ac;
	enum awschunked_mode mode;
	int rc;

	rc = awschunked_init(&ac, AWSCHUNKED_UNSIGNED_TRAILER, NULL, NULL, NULL, NULL, NULL, -1);
	T_OK(rc == -1 && awschunked_error(&ac) == AWSCHUNKED_ERR_ARGS,
	    "trailer mode without x-amz-trailer: refused");
	awschunked_free(&ac);
	rc = awschunked_init(&ac, AWSCHUNKED_UNSIGNED_TRAILER, NULL, NULL, NULL, NULL,
	    "content-md5", -1);
	T_OK(rc == -1, "x-amz-trailer: content-md5 refused");
	awschunked_free(&ac);
	rc = awschunked_init(&ac, AWSCHUNKED_UNSIGNED_TRAILER, NULL, NULL, NULL, NULL,
	    "x-amz-checksum-crc32,x-amz-checksum-sha1", -1);
	T_OK(rc == -1, "x-amz-trailer naming two trailers: refused");
	awschunked_free(&ac);
	rc = awschunked_init(&ac, AWSCHUNKED_UNSIGNED_TRAILER, NULL, NULL, NULL, NULL,
	    " X-Amz-Checksum-CRC32 ", -1);
	T_OK(rc == 0, "x-amz-trailer is case-insensitive and trimmed");
	awschunked_free(&ac);
	rc = awschunked_init(&ac, AWSCHUNKED_SIGNED, key, DATE, SCOPE, SEED,
	    "x-amz-checksum-crc32", -1);
	T_OK(rc == -1, "x-amz-trailer with STREAMING-AWS4-HMAC-SHA256-PAYLOAD: refused");
	awschunked_free(&ac);
	rc = awschunked_init(&ac, AWSCHUNKED_SIGNED, key, DATE, SCOPE,
	    "4F232C4386841EF735655705268965C44A0E4690BAA4ADEA153F7DB9FA80A0A9", NULL, -1);
	T_OK(rc == -1, "upper-case seed signature refused");
	awschunked_free(&ac);
	rc = awschunked_init(&ac, AWSCHUNKED_SIGNED, key, "20130524", SCOPE, SEED, NULL, -1);
	T_OK(rc == -1, "short amz date refused");
	awschunked_free(&ac);
	rc = awschunked_init(&ac, AWSCHUNKED_SIGNED, key, DATE, SCOPE, SEED, NULL,
	    (int64_t)(6ull << 30));
	T_OK(rc == -1, "x-amz-decoded-content-length over 5 GiB refused");
	awschunked_free(&ac);
	awschunked_free(&ac);
	T_OK(1, "awschunked_free is idempotent");

	T_OK(awschunked_mode_from_content_sha256("STREAMING-UNSIGNED-PAYLOAD-TRAILER", 34,
	    &mode) == 0 && mode == AWSCHUNKED_UNSIGNED_TRAILER &&
	    awschunked_mode_from_content_sha256("STREAMING-AWS4-HMAC-SHA256-PAYLOAD", 34,
	    &mode) == 0 && mode == AWSCHUNKED_SIGNED &&
	    awschunked_mode_from_content_sha256("STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER",
	    42, &mode) == 0 && mode == AWSCHUNKED_SIGNED_TRAILER &&
	    awschunked_mode_from_content_sha256("UNSIGNED-PAYLOAD", 16, &mode) == -1 &&
	    awschunked_mode_from_content_sha256("STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD",
	    40, &mode) == -1, "modes from x-amz-content-sha256");
}

/* An unsigned-trailer body of DATA in chunks of CHUNK bytes, then TRAILERS. */
static struct buf
unsigned_body(const char *data, size_t len, size_t chunk, const char *trailers)
{
	struct buf b = { 0 };
	char line[32];
	size_t off, n;

	for (off = 0; off < len; off += n) {
		n = len - off < chunk ? len - off : chunk;
		snprintf(line, sizeof(line), "%zx\r\n", n);
		buf_str(&b, line);
		buf_add(&b, data + off, n);
		buf_str(&b, "\r\n");
	}
	buf_str(&b, "0\r\n");
	buf_str(&b, trailers);
	return b;
}

static struct result
run_unsigned(const struct buf *b, const char *trailer, int64_t decoded_length, int piece)
{
	struct awschunked ac;

	if (awschunked_init(&ac, AWSCHUNKED_UNSIGNED_TRAILER, NULL, NULL, NULL, NULL,
	    trailer, decoded_length) == -1)
		abort();
	return decode(&ac, b->p, b->len, piece, 1);
}

static void
test_unsigned_trailer(void)
{
	static const struct {
		const char	*header, *good, *bad;
	} algs[] = {
		{ "x-amz-checksum-crc32", "y/Q5Jg==", "y/Q5Jw==" },
		{ "x-amz-checksum-crc32c", "4waSgw==", "4waSgA==" },
		{ "x-amz-checksum-crc64nvme", "rosUhgp5mIg=", "rosUhgp5mIA=" },
		{ "x-amz-checksum-sha1", "98O8HYCOBHMq32eZZczDTKeuNEE=",
		  "98O8HYCOBHMq32eZZczDTKeuNEA=" },
		{ "x-amz-checksum-sha256", "FeKw08M4keuw8e9gnsQZQgwg4yDOlMZfvIwzEkSOsiU=",
		  "FeKw08M4keuw8e9gnsQZQgwg4yDOlMZfvIwzEkSOsiA=" },
	};
	static const char nine[] = "123456789";
	char trailers[256];
	struct buf b;
	struct result r;
	size_t i;

	for (i = 0; i < sizeof(algs) / sizeof(algs[0]); i++) {
		snprintf(trailers, sizeof(trailers), "%s:%s\r\n\r\n", algs[i].header, algs[i].good);
		b = unsigned_body(nine, 9, 4, trailers);
		r = run_unsigned(&b, algs[i].header, 9, 0);
		T_OK(r.status == AWSCHUNKED_DONE && r.out.len == 9 &&
		    memcmp(r.out.p, nine, 9) == 0, "unsigned trailer %s good: DONE", algs[i].header);
		result_free(&r);
		r = run_unsigned(&b, algs[i].header, -1, 3);
		T_OK(r.status == AWSCHUNKED_DONE, "unsigned trailer %s good, in pieces, no length: DONE",
		    algs[i].header);
		result_free(&r);
		free(b.p);

		snprintf(trailers, sizeof(trailers), "%s:%s\r\n\r\n", algs[i].header, algs[i].bad);
		b = unsigned_body(nine, 9, 4, trailers);
		r = run_unsigned(&b, algs[i].header, 9, 2);
		T_OK(r.status == AWSCHUNKED_ERROR && r.error == AWSCHUNKED_ERR_CHECKSUM,
		    "unsigned trailer %s wrong value: BadDigest", algs[i].header);
		result_free(&r);
		free(b.p);
	}
	T_STREQ(awschunked_error_s3code(AWSCHUNKED_ERR_CHECKSUM), "BadDigest",
	    "checksum mismatch's S3 code");

	b = unsigned_body(nine, 9, 4, "\r\n");
	r = run_unsigned(&b, "x-amz-checksum-crc32", 9, 0);
	T_OK(r.status == AWSCHUNKED_ERROR && r.error == AWSCHUNKED_ERR_MISSING_CHECKSUM,
	    "unsigned trailer missing: refused");
	T_STREQ(awschunked_error_s3code(r.error), "InvalidRequest", "missing trailer's S3 code");
	result_free(&r);
	free(b.p);

	b = unsigned_body(nine, 9, 4, "x-amz-checksum-crc32c:4waSgw==\r\n\r\n");
	r = run_unsigned(&b, "x-amz-checksum-crc32", 9, 0);
	T_OK(r.status == AWSCHUNKED_ERROR && r.error == AWSCHUNKED_ERR_TRAILER,
	    "a trailer other than the declared one: refused");
	result_free(&r);
	free(b.p);

	b = unsigned_body(nine, 9, 4, "x-amz-checksum-crc32:y/Q5Jg==\r\n"
	    "x-amz-checksum-crc32:y/Q5Jg==\r\n\r\n");
	r = run_unsigned(&b, "x-amz-checksum-crc32", 9, 0);
	T_OK(r.status == AWSCHUNKED_ERROR && r.error == AWSCHUNKED_ERR_TRAILER,
	    "the checksum trailer twice: refused");
	result_free(&r);
	free(b.p);

	b = unsigned_body(nine, 9, 4, "x-amz-checksum-crc32:y/Q5Jg\r\n\r\n");
	r = run_unsigned(&b, "x-amz-checksum-crc32", 9, 0);
	T_OK(r.status == AWSCHUNKED_ERROR && r.error == AWSCHUNKED_ERR_TRAILER,
	    "a malformed checksum value: InvalidRequest");
	result_free(&r);
	free(b.p);

	b = unsigned_body(nine, 9, 4, "x-amz-checksum-crc32:y/Q5Jg==\r\n"
	    "x-amz-trailer-signature:" SIG1 "\r\n\r\n");
	r = run_unsigned(&b, "x-amz-checksum-crc32", 9, 0);
	T_OK(r.status == AWSCHUNKED_ERROR && r.error == AWSCHUNKED_ERR_TRAILER,
	    "a trailer signature in an unsigned body: refused");
	result_free(&r);
	free(b.p);

	b = unsigned_body(nine, 9, 4, "X-Amz-Checksum-CRC32: y/Q5Jg== \r\n\r\n");
	r = run_unsigned(&b, "x-amz-checksum-crc32", 9, 0);
	T_OK(r.status == AWSCHUNKED_DONE, "trailer name case-insensitive, value trimmed");
	result_free(&r);
	free(b.p);

	b = unsigned_body(nine, 9, 4, "x-amz-checksum-crc32 y/Q5Jg==\r\n\r\n");
	r = run_unsigned(&b, "x-amz-checksum-crc32", 9, 0);
	T_OK(r.status == AWSCHUNKED_ERROR && r.error == AWSCHUNKED_ERR_FRAMING,
	    "a trailer line without a colon: refused");
	result_free(&r);
	free(b.p);

	b = unsigned_body(nine, 9, 4, "x-amz-checksum-crc32:y/Q5Jg==\r\n");
	r = run_unsigned(&b, "x-amz-checksum-crc32", 9, 0);
	T_OK(r.status == AWSCHUNKED_ERROR && r.error == AWSCHUNKED_ERR_TRUNCATED,
	    "no empty line after the trailers: IncompleteBody at finish");
	result_free(&r);
	free(b.p);

	b = unsigned_body(nine, 9, 4, "x-amz-checksum-crc32:y/Q5Jg==\r\n\r\n");
	r = run_unsigned(&b, "x-amz-checksum-crc32", 10, 0);
	T_OK(r.status == AWSCHUNKED_ERROR && r.error == AWSCHUNKED_ERR_DECODED_LENGTH,
	    "decoded length 10 for 9 bytes: refused");
	result_free(&r);
	free(b.p);
}

/* A header's value in a captured head, or NULL. */
static const char *
head_value(const char *head, const char *name, char *out, size_t outlen)
{
	const char *p = head, *e;
	size_t nlen = strlen(name), vlen;

	while ((p = strstr(p, "\r\n")) != NULL) {
		p += 2;
		if (strncasecmp(p, name, nlen) == 0 && p[nlen] == ':') {
			p += nlen + 1;
			while (*p == ' ')
				p++;
			if ((e = strstr(p, "\r\n")) == NULL)
				return NULL;
			vlen = (size_t)(e - p);
			if (vlen >= outlen)
				return NULL;
			memcpy(out, p, vlen);
			out[vlen] = '\0';
			return out;
		}
	}
	return NULL;
}

static const char *
data_dir(void)
{
	const char *d = getenv("S3GATE_AWSCHUNKED_DATA");

	return d != NULL && *d != '\0' ? d : "tests/data/awschunked";
}

static char *
slurp(const char *name, size_t *lenp)
{
	char path[1024];

	snprintf(path, sizeof(path), "%s/%s", data_dir(), name);
	return testlib_slurp(path, lenp);
}

static void
test_one_capture(const char *name, const char *original)
{
	char path[256], sha[80], trailer[80], dlen[32], *head, *body, *orig;
	size_t hlen, blen, olen;
	enum awschunked_mode mode;
	struct awschunked ac;
	struct result r;
	int ok;

	snprintf(path, sizeof(path), "%s.head", name);
	head = slurp(path, &hlen);
	snprintf(path, sizeof(path), "%s.body", name);
	body = slurp(path, &blen);
	orig = slurp(original, &olen);
	if (head == NULL || body == NULL || orig == NULL) {
		T_SKIP("capture %s: files missing under %s", name, data_dir());
		goto out;
	}
	if (head_value(head, "x-amz-content-sha256", sha, sizeof(sha)) == NULL ||
	    awschunked_mode_from_content_sha256(sha, strlen(sha), &mode) == -1 ||
	    head_value(head, "x-amz-decoded-content-length", dlen, sizeof(dlen)) == NULL) {
		T_OK(0, "capture %s: an aws-chunked head", name);
		goto out;
	}
	T_OK(head_value(head, "content-encoding", path, sizeof(path)) != NULL &&
	    strcmp(path, "aws-chunked") == 0, "capture %s: Content-Encoding: aws-chunked", name);
	if (awschunked_init(&ac, mode, key, DATE, SCOPE, SEED,
	    head_value(head, "x-amz-trailer", trailer, sizeof(trailer)),
	    strtoll(dlen, NULL, 10)) == -1) {
		T_OK(0, "capture %s: init: %s", name, awschunked_error_message(&ac));
		awschunked_free(&ac);
		goto out;
	}
	r = decode(&ac, body, blen, 0, 1);
	T_OK(r.status == AWSCHUNKED_DONE && r.out.len == olen &&
	    memcmp(r.out.p, orig, olen) == 0,
	    "capture %s (%s, %s): decodes to %s, checksum verified", name, sha, trailer, original);
	result_free(&r);

	if (awschunked_init(&ac, mode, key, DATE, SCOPE, SEED, trailer,
	    strtoll(dlen, NULL, 10)) == -1)
		abort();
	r = decode(&ac, body, blen, 7, 1);
	ok = r.status == AWSCHUNKED_DONE && r.out.len == olen && memcmp(r.out.p, orig, olen) == 0;
	result_free(&r);
	T_OK(ok, "capture %s in random pieces: same", name);

	/* One data byte changed: the trailing checksum must catch it. */
	body[blen / 2] ^= 0x01;
	if (awschunked_init(&ac, mode, key, DATE, SCOPE, SEED, trailer,
	    strtoll(dlen, NULL, 10)) == -1)
		abort();
	r = decode(&ac, body, blen, 0, 1);
	T_OK(r.status == AWSCHUNKED_ERROR && r.error == AWSCHUNKED_ERR_CHECKSUM,
	    "capture %s with one bit flipped: BadDigest", name);
	result_free(&r);
out:
	free(head);
	free(body);
	free(orig);
}

static void
test_captures(void)
{
	char *list, *line, *save = NULL, name[128], original[128];
	size_t len;
	int n = 0;

	if ((list = slurp("captures.txt", &len)) == NULL) {
		T_SKIP("captures: %s/captures.txt not found", data_dir());
		return;
	}
	for (line = strtok_r(list, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save)) {
		if (line[0] == '#' || sscanf(line, "%127s %127s", name, original) != 2)
			continue;
		test_one_capture(name, original);
		n++;
	}
	T_OK(n >= 6, "captures.txt lists %d captures", n);
	free(list);
}

/* A signed body with an x-amz-checksum-* header: checked at its end (the backend ignores it). */
static void
test_header_checksum(void)
{
	struct buf b = example_body(SIG1, SIG2, SIG3, "\r\n");
	struct awschunked ac;
	struct checksum sum;
	struct result r;
	char good[CHECKSUM_BASE64_MAX], *as = malloc(EXAMPLE_LEN);

	if (as == NULL || checksum_init(&sum, CHECKSUM_CRC32) == -1)
		abort();
	memset(as, 'a', EXAMPLE_LEN);
	checksum_update(&sum, as, EXAMPLE_LEN);
	checksum_final_base64(&sum, good);
	checksum_free(&sum);
	free(as);

	if (awschunked_init(&ac, AWSCHUNKED_SIGNED, key, DATE, SCOPE, SEED, NULL, EXAMPLE_LEN) == -1 ||
	    awschunked_expect_checksum(&ac, CHECKSUM_CRC32, good, strlen(good)) == -1)
		abort();
	r = decode(&ac, b.p, b.len, 7, 1);
	T_OK(r.status == AWSCHUNKED_DONE && all_a(&r.out, EXAMPLE_LEN),
	    "signed body, its right x-amz-checksum-crc32 header: DONE");
	result_free(&r);
	if (awschunked_init(&ac, AWSCHUNKED_SIGNED, key, DATE, SCOPE, SEED, NULL, EXAMPLE_LEN) == -1 ||
	    awschunked_expect_checksum(&ac, CHECKSUM_CRC32, "AAAAAA==", 8) == -1)
		abort();
	r = decode(&ac, b.p, b.len, 0, 1);
	T_OK(r.status == AWSCHUNKED_ERROR && r.error == AWSCHUNKED_ERR_CHECKSUM,
	    "signed body, an x-amz-checksum-crc32 header of other bytes: BadDigest");
	result_free(&r);
	if (awschunked_init(&ac, AWSCHUNKED_SIGNED, key, DATE, SCOPE, SEED, NULL, EXAMPLE_LEN) == -1 ||
	    awschunked_expect_checksum(&ac, CHECKSUM_CRC32, "not-base64", 10) == -1)
		abort();
	r = decode(&ac, b.p, b.len, 0, 1);
	T_OK(r.status == AWSCHUNKED_ERROR && r.error == AWSCHUNKED_ERR_TRAILER,
	    "signed body, a malformed x-amz-checksum-crc32 header: InvalidRequest");
	result_free(&r);
	if (awschunked_init(&ac, AWSCHUNKED_SIGNED, key, DATE, SCOPE, SEED, NULL, EXAMPLE_LEN) == -1 ||
	    awschunked_expect_checksum(&ac, CHECKSUM_CRC32, good, strlen(good)) == -1)
		abort();
	T_OK(awschunked_expect_checksum(&ac, CHECKSUM_SHA256, good, strlen(good)) == -1 &&
	    awschunked_error(&ac) == AWSCHUNKED_ERR_ARGS, "two x-amz-checksum-* headers: refused");
	awschunked_free(&ac);
	if (awschunked_init(&ac, AWSCHUNKED_UNSIGNED_TRAILER, NULL, NULL, NULL, NULL,
	    "x-amz-checksum-crc32", 9) == -1)
		abort();
	T_OK(awschunked_expect_checksum(&ac, CHECKSUM_CRC32, good, strlen(good)) == -1 &&
	    awschunked_error(&ac) == AWSCHUNKED_ERR_TRAILER,
	    "a trailer mode with an x-amz-checksum-* header too: refused");
	awschunked_free(&ac);
	free(b.p);
}

int
main(void)
{
	srand(20130524);
	sigv4_signing_key(SECRET, strlen(SECRET), "20130524", "us-east-1", "s3", key);
	test_aws_example();
	test_aws_trailer_example();
	test_tampering();
	test_headers();
	test_init();
	test_unsigned_trailer();
	test_header_checksum();
	test_captures();
	return T_DONE();
}
