/*
 * awschunked_bench: decoding rate of a signed aws-chunked body
 * (STREAMING-AWS4-HMAC-SHA256-PAYLOAD) by proxy/awschunked.c: framing,
 * each chunk's SHA-256 and signature.  Builds a 64 MiB body of CHUNK-byte
 * chunks, then decodes it REPEAT times, fed 256 KiB at a time as the
 * proxy feeds it.
 *
 *   gcc -O2 -std=c17 -D_GNU_SOURCE -I. -I/usr/share/include/llhttp \
 *       bench/awschunked_bench.c \
 *       build/libs3gate.a -lssl -lcrypto -lpthread -o /tmp/awschunked_bench
 *   /tmp/awschunked_bench [CHUNK [REPEAT]]     (default 65536 10)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "proxy/awschunked.h"
#include "proxy/sigv4.h"

#define BODY_BYTES	((size_t)64 << 20)
#define FEED_BYTES	((size_t)256 << 10)
#define AMZ_DATE	"20130524T000000Z"
#define SCOPE		"20130524/us-east-1/s3/aws4_request"
#define EMPTY_SHA256	"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

/* The encoded body: CHUNK-byte chunks of 'x', each signed, then the final one. */
static char *
encode(const unsigned char key[32], const char *seed, size_t chunk, size_t *len)
{
	char prev[65], hash[65], sig[65], sts[512];
	char *body, *data, *p;
	size_t off, n;
	int stslen;

	if ((body = malloc(BODY_BYTES + (BODY_BYTES / chunk + 1) * 128)) == NULL ||
	    (data = malloc(chunk)) == NULL)
		abort();
	memset(data, 'x', chunk);
	memcpy(prev, seed, sizeof(prev));
	for (off = 0, p = body;; off += n) {
		n = off < BODY_BYTES ? chunk : 0;
		sigv4_sha256_hex(data, n, hash);
		stslen = snprintf(sts, sizeof(sts), "AWS4-HMAC-SHA256-PAYLOAD\n%s\n%s\n%s\n%s\n%s",
		    AMZ_DATE, SCOPE, prev, EMPTY_SHA256, hash);
		sigv4_signature_hex(key, sts, (size_t)stslen, sig);
		p += sprintf(p, "%zx;chunk-signature=%s\r\n", n, sig);
		memcpy(p, data, n);
		p += n;
		memcpy(p, "\r\n", 2);
		p += 2;
		memcpy(prev, sig, sizeof(prev));
		if (n == 0)
			break;
	}
	free(data);
	*len = (size_t)(p - body);
	return body;
}

int
main(int argc, char **argv)
{
	size_t chunk = argc > 1 ? strtoul(argv[1], NULL, 0) : 65536;
	int repeat = argc > 2 ? atoi(argv[2]) : 10, r;
	unsigned char key[32];
	char seed[65], *body, *out;
	size_t body_len, i, used, made;
	struct timespec t0, t1;
	struct awschunked ac;
	double s;

	if (chunk < 1024 || chunk > BODY_BYTES || repeat < 1) {
		fprintf(stderr, "usage: awschunked_bench [CHUNK>=1024 [REPEAT]]\n");
		return 2;
	}
	memset(key, 7, sizeof(key));
	memset(seed, 'a', 64);
	seed[64] = '\0';
	body = encode(key, seed, chunk, &body_len);
	if ((out = malloc(FEED_BYTES)) == NULL)
		abort();

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (r = 0; r < repeat; r++) {
		memset(&ac, 0, sizeof(ac));
		if (awschunked_init(&ac, AWSCHUNKED_SIGNED, key, AMZ_DATE, SCOPE, seed,
		    NULL, (int64_t)BODY_BYTES) == -1)
			goto fail;
		for (i = 0; i < body_len; i += used) {
			size_t n = body_len - i < FEED_BYTES ? body_len - i : FEED_BYTES;

			if (awschunked_feed(&ac, body + i, n, &used, out, FEED_BYTES,
			    &made) == AWSCHUNKED_ERROR)
				goto fail;
		}
		if (awschunked_finish(&ac) != AWSCHUNKED_DONE)
			goto fail;
		awschunked_free(&ac);
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	s = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	printf("chunk %zu bytes: %.3f GB/s decoded, %.2f us per chunk\n", chunk,
	    (double)BODY_BYTES * repeat / s / 1e9,
	    s * 1e6 / ((double)repeat * (double)(BODY_BYTES / chunk)));
	free(out);
	free(body);
	return 0;
fail:
	fprintf(stderr, "awschunked_bench: %s\n", awschunked_error_message(&ac));
	return 1;
}
