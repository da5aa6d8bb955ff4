/*
 * fuzz_s3addr: s3addr_parse on hostile targets and Host headers.  The
 * input is split at the first '\n': target before, Host after (no '\n':
 * no Host).  Properties checked (abort() on violation):
 *   - an accepted bucket is a valid bucket name, and never internal;
 *   - internal only for a raw path starting "/_s3gate/";
 *   - the backend path decodes to exactly "/" bucket "/" key: the policy
 *     decision is made on what the backend gets.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proxy/s3addr.h"
#include "proxy/sbuf.h"
#include "proxy/uri.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static char *const fuzz_domains[] = { "s3.example.org", "localhost", "a.b" };

static void
fuzz_check(const char *target, size_t target_len, const struct s3addr *a)
{
	struct sbuf sb = SBUF_INIT, want = SBUF_INIT;
	char *dec;
	long n;

	if (a->raw_path != target || a->raw_path_len > target_len)
		abort();
	if (a->internal) {
		if (a->bucket != NULL || a->key != NULL || a->internal_path == NULL ||
		    a->raw_path_len < strlen(S3ADDR_INTERNAL_PREFIX) ||
		    memcmp(target, S3ADDR_INTERNAL_PREFIX, strlen(S3ADDR_INTERNAL_PREFIX)) != 0)
			abort();
		return;
	}
	if (a->bucket != NULL && !s3addr_bucket_valid(a->bucket))
		abort();
	if (a->key != NULL && (a->bucket == NULL || a->key[0] == '\0'))
		abort();
	s3addr_backend_path(a, &sb);
	if ((dec = malloc(sb.len + 1)) == NULL)
		abort();
	n = uri_decode(dec, sb.data, sb.len, 0);
	sbuf_appendc(&want, '/');
	if (a->bucket != NULL) {
		sbuf_appends(&want, a->bucket);
		if (a->key != NULL) {
			sbuf_appendc(&want, '/');
			sbuf_appends(&want, a->key);
		}
	}
	if (n < 0 || (size_t)n != want.len || memcmp(dec, want.data, want.len) != 0)
		abort();
	free(dec);
	sbuf_free(&sb);
	sbuf_free(&want);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *nl;
	char *target, *host = NULL;
	size_t tlen, hlen = 0;
	struct s3addr a;
	enum s3err err;

	if (size > 16384)
		return 0;
	nl = memchr(data, '\n', size);
	tlen = nl ? (size_t)(nl - data) : size;
	/* exact-size copies, not NUL-terminated: reads past them are bugs */
	if ((target = malloc(tlen ? tlen : 1)) == NULL)
		abort();
	memcpy(target, data, tlen);
	if (nl != NULL) {
		hlen = size - tlen - 1;
		if ((host = malloc(hlen ? hlen : 1)) == NULL)
			abort();
		memcpy(host, nl + 1, hlen);
	}
	if (s3addr_parse(target, tlen, host, hlen, fuzz_domains, 3, &a, &err) == 0) {
		fuzz_check(target, tlen, &a);
		s3addr_free(&a);
	} else if (err != S3ERR_INVALID_URI && err != S3ERR_INVALID_BUCKET_NAME)
		abort();
	free(target);
	free(host);
	return 0;
}
