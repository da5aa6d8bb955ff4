/*
 * fuzz_awschunked: the aws-chunked decoder on hostile bytes.
 *
 * The first input byte picks the mode (and trailer checksum), the second
 * seeds the split: the rest is fed to awschunked_feed() in pieces of
 * random size with OUT buffers of random, exact size (heap, so that ASan
 * sees any write past them), or decoded in place.  Properties: no crash,
 * no over-read or over-write, consumed <= piece, produced <= min(OUT,
 * consumed), ERROR is sticky, DONE only at the end of a piece.
 *
 * With the top bit of the first byte set, the rest is instead the DATA of a
 * valid body that the target signs itself (chunk sizes from the data): it
 * must decode to DONE and to the same bytes, whatever the split.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "proxy/awschunked.h"
#include "proxy/checksum.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

#define F_DATE	"20130524T000000Z"
#define F_SCOPE	"20130524/us-east-1/s3/aws4_request"
#define F_SEED	"4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9"
#define F_EMPTY	"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

static const unsigned char f_key[32] = { 1, 2, 3, 4, 5, 6, 7, 8, 9 };

static const char *const f_trailers[] = {
	"x-amz-checksum-crc32", "x-amz-checksum-crc32c", "x-amz-checksum-crc64nvme",
	"x-amz-checksum-sha1", "x-amz-checksum-sha256",
};

static uint32_t f_rng;

static size_t
f_rand(size_t max)
{
	f_rng = f_rng * 1103515245u + 12345u;
	return 1 + (f_rng >> 8) % max;
}

static void
f_hex(const unsigned char *md, char out[65])
{
	static const char d[] = "0123456789abcdef";
	int i;

	for (i = 0; i < 32; i++) {
		out[2 * i] = d[md[i] >> 4];
		out[2 * i + 1] = d[md[i] & 0xf];
	}
	out[64] = '\0';
}

static void
f_sign(const char *alg, const char *prev, const char *h1, const char *h2, char out[65])
{
	char sts[512];
	unsigned char md[32];
	unsigned int mdlen = sizeof(md);
	int n;

	n = snprintf(sts, sizeof(sts), "%s\n%s\n%s\n%s\n%s%s%s", alg, F_DATE, F_SCOPE,
	    prev, h1, h2 ? "\n" : "", h2 ? h2 : "");
	if (HMAC(EVP_sha256(), f_key, sizeof(f_key), (unsigned char *)sts, (size_t)n,
	    md, &mdlen) == NULL)
		abort();
	f_hex(md, out);
}

static void
f_add(char **buf, size_t *len, size_t *cap, const void *p, size_t n)
{
	if (*len + n > *cap) {
		*cap = (*len + n) * 2 + 64;
		if ((*buf = realloc(*buf, *cap)) == NULL)
			abort();
	}
	memcpy(*buf + *len, p, n);
	*len += n;
}

/* A valid body for DATA in MODE, chunk sizes drawn from the data. */
static char *
f_build(enum awschunked_mode mode, const char *trailer, const uint8_t *data, size_t len,
    size_t *outlen)
{
	char *b = NULL, line[128], prev[65], hash[65], sig[65], b64[CHECKSUM_BASE64_MAX];
	unsigned char md[32];
	size_t blen = 0, cap = 0, off = 0, n;
	struct checksum ck;
	int is_signed = mode != AWSCHUNKED_UNSIGNED_TRAILER;

	memcpy(prev, F_SEED, 65);
	if (trailer != NULL && checksum_init(&ck, checksum_alg_from_header(trailer,
	    strlen(trailer))) == -1)
		abort();
	for (;;) {
		n = off < len ? 1 + data[off] % 97 : 0;
		if (n > len - off)
			n = len - off;
		if (is_signed) {
			if (EVP_Digest(data + off, n, md, NULL, EVP_sha256(), NULL) != 1)
				abort();
			f_hex(md, hash);
			f_sign("AWS4-HMAC-SHA256-PAYLOAD", prev, F_EMPTY, hash, sig);
			memcpy(prev, sig, 65);
			snprintf(line, sizeof(line), "%zx;chunk-signature=%s\r\n", n, sig);
		} else
			snprintf(line, sizeof(line), "%zx\r\n", n);
		f_add(&b, &blen, &cap, line, strlen(line));
		if (n == 0)
			break;
		f_add(&b, &blen, &cap, data + off, n);
		f_add(&b, &blen, &cap, "\r\n", 2);
		if (trailer != NULL)
			checksum_update(&ck, data + off, n);
		off += n;
	}
	if (trailer != NULL) {
		checksum_final_base64(&ck, b64);
		checksum_free(&ck);
		snprintf(line, sizeof(line), "%s:%s\n", trailer, b64);
		if (is_signed) {
			if (EVP_Digest(line, strlen(line), md, NULL, EVP_sha256(), NULL) != 1)
				abort();
			f_hex(md, hash);
			f_sign("AWS4-HMAC-SHA256-TRAILER", prev, hash, NULL, sig);
		}
		snprintf(line, sizeof(line), "%s:%s\r\n", trailer, b64);
		f_add(&b, &blen, &cap, line, strlen(line));
		if (is_signed) {
			snprintf(line, sizeof(line), "x-amz-trailer-signature:%s\r\n", sig);
			f_add(&b, &blen, &cap, line, strlen(line));
		}
	}
	f_add(&b, &blen, &cap, "\r\n", 2);
	*outlen = blen;
	return b;
}

/* Feeds BODY in random pieces; returns the final status, output in *OUT. */
static enum awschunked_status
f_decode(struct awschunked *ac, const char *body, size_t len, int in_place,
    char **out, size_t *outlen)
{
	enum awschunked_status st = AWSCHUNKED_MORE, again;
	size_t off = 0, n, cap, used, made;
	char *piece, *o;

	*out = NULL;
	*outlen = 0;
	while (off < len) {
		n = f_rand(len - off < 64 ? len - off : 64);
		cap = in_place ? n : f_rand(64) - 1;
		/* Exact-size heap copies: ASan catches any access past them. */
		if ((piece = malloc(n)) == NULL || (o = malloc(cap ? cap : 1)) == NULL)
			abort();
		memcpy(piece, body + off, n);
		st = awschunked_feed(ac, piece, n, &used, in_place ? piece : o, cap, &made);
		if (used > n || made > cap || made > used)
			abort();
		if ((*out = realloc(*out, *outlen + made + 1)) == NULL)
			abort();
		memcpy(*out + *outlen, in_place ? piece : o, made);
		*outlen += made;
		free(piece);
		free(o);
		off += used;
		if (st == AWSCHUNKED_ERROR) {
			again = awschunked_feed(ac, body, len, &used, NULL, 0, &made);
			if (again != AWSCHUNKED_ERROR || used != 0 || made != 0)
				abort();	/* sticky */
			break;
		}
		if (st == AWSCHUNKED_DONE && off < len) {
			st = awschunked_feed(ac, body + off, len - off, &used, NULL, 0, &made);
			if (st != AWSCHUNKED_ERROR)
				abort();
			break;
		}
		if (used == 0 && cap != 0 && st == AWSCHUNKED_MORE)
			abort();	/* no progress with room to write */
	}
	if (st == AWSCHUNKED_MORE)
		st = awschunked_finish(ac);
	if (st == AWSCHUNKED_ERROR && (awschunked_error(ac) == AWSCHUNKED_OK ||
	    awschunked_error_s3code(awschunked_error(ac)) == NULL))
		abort();
	return st;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct awschunked ac;
	enum awschunked_mode mode;
	const char *trailer;
	char *body, *out;
	size_t blen, olen;
	int roundtrip;

	if (size < 2 || size > 65536)
		return 0;
	mode = (enum awschunked_mode)(data[0] % 3);
	trailer = mode == AWSCHUNKED_SIGNED ? NULL : f_trailers[(data[0] >> 2) % 5];
	roundtrip = (data[0] & 0x80) != 0;
	f_rng = data[1];
	data += 2;
	size -= 2;

	if (awschunked_init(&ac, mode, f_key, F_DATE, F_SCOPE, F_SEED, trailer,
	    roundtrip && (data[-2] & 0x40) ? (int64_t)size : -1) == -1)
		abort();
	if (roundtrip) {
		body = f_build(mode, trailer, data, size, &blen);
		if (f_decode(&ac, body, blen, data[-2] & 0x20, &out, &olen) != AWSCHUNKED_DONE ||
		    olen != size || (size > 0 && memcmp(out, data, size) != 0)) {
			fprintf(stderr, "round trip failed: %s\n", awschunked_error_message(&ac));
			abort();
		}
		free(body);
	} else
		(void)f_decode(&ac, (const char *)data, size, data[-2] & 0x20, &out, &olen);
	free(out);
	awschunked_free(&ac);
	return 0;
}
