/*
 * fuzz_proxyproto: proxyproto_parse on hostile bytes, with properties: a
 * header that parses is no longer than the input nor PROXYPROTO_MAX; every
 * cut of it asks for more (a header read in pieces parses only whole);
 * what follows it changes nothing; a refusal says why.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proxy/proxyproto.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct proxyproto_header h, again;
	enum proxyproto_result r;
	unsigned char *buf;
	const char *why;
	size_t cut;

	if (size > 2 * PROXYPROTO_MAX)
		return 0;
	/* an exact-size copy, so ASan sees any read past the end */
	if ((buf = malloc(size ? size : 1)) == NULL)
		return 0;
	memcpy(buf, data, size);
	r = proxyproto_parse(buf, size, &h, &why);
	if (r == PROXYPROTO_BAD && why == NULL)
		abort();
	if (r == PROXYPROTO_DONE) {
		if (h.len == 0 || h.len > size || h.len > PROXYPROTO_MAX)
			abort();
		if (!h.local && h.src_len == 0)
			abort();
		for (cut = 0; cut < h.len; cut++)
			if (proxyproto_parse(buf, cut, &again, &why) != PROXYPROTO_MORE)
				abort();
		/* the header alone: the same */
		if (proxyproto_parse(buf, h.len, &again, &why) != PROXYPROTO_DONE ||
		    again.len != h.len || again.local != h.local || again.src_len != h.src_len ||
		    memcmp(&again.src, &h.src, sizeof(h.src)) != 0)
			abort();
	}
	free(buf);
	return 0;
}
