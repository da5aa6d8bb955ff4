/*
 * fuzz_uri: uri_decode, uri_encode, query_parse and query_canonical on
 * hostile bytes, with one property: whatever decodes, encoding it again
 * and decoding gives it back (what canonicalisation relies on).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proxy/uri.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void
fuzz_round_trip(const char *s, size_t len, int keep_slash)
{
	struct sbuf enc = SBUF_INIT;
	char *back;
	long n;

	uri_encode(&enc, s, len, keep_slash);
	if ((back = malloc(enc.len + 1)) == NULL)
		abort();
	n = uri_decode(back, enc.data, enc.len, 0);
	if (n != (long)len || memcmp(back, s, len) != 0)
		abort();
	free(back);
	sbuf_free(&enc);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const exclude[] = { "X-Amz-Signature", NULL };
	struct query_list ql;
	struct sbuf sb = SBUF_INIT;
	char *buf, *dec;
	long n;
	size_t i;

	if (size > 65536)
		return 0;
	if ((buf = malloc(size ? size : 1)) == NULL ||
	    (dec = malloc(size + 1)) == NULL)
		abort();
	memcpy(buf, data, size);

	if ((n = uri_decode(dec, buf, size, 0)) >= 0) {
		if (memchr(dec, '\0', (size_t)n) != NULL)
			abort();
		fuzz_round_trip(dec, (size_t)n, 0);
		fuzz_round_trip(dec, (size_t)n, 1);
	}
	(void)uri_decode(dec, buf, size, 1);
	uri_encode(&sb, buf, size, 1);
	sbuf_reset(&sb);

	if (query_parse(buf, size, 64, &ql) == 0) {
		for (i = 0; i < ql.count; i++)
			if (query_find(&ql, ql.params[i].name) == NULL)
				abort();
		query_canonical(&sb, &ql, NULL);
		sbuf_reset(&sb);
		query_canonical(&sb, &ql, exclude);
		query_free(&ql);
	}
	sbuf_free(&sb);
	free(dec);
	free(buf);
	return 0;
}
