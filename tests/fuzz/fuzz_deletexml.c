/*
 * fuzz_deletexml: deletexml_keys on hostile DeleteObjects bodies.  The
 * first input byte picks a prefix (none, or one of a few), the rest is the
 * body.  Properties checked (abort() on violation):
 *   - the key count does not depend on the prefix: the prefix only picks
 *     which key is reported, never what is parsed;
 *   - a reported key really lies outside the prefix, and is reported only
 *     when some key was read;
 *   - with no prefix no key is outside.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proxy/deletexml.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static const char *const fuzz_prefixes[] = { "docs/", "a", "&", "\xc3\xa9/" };

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct deletexml_check all = { "", NULL }, some = { NULL, NULL };
	char *body;
	int n_all, n_some;

	if (size < 1 || size > 65536)
		return 0;
	some.prefix = fuzz_prefixes[data[0] % (sizeof(fuzz_prefixes) / sizeof(fuzz_prefixes[0]))];
	data++;
	size--;
	if ((body = malloc(size + 1)) == NULL)
		abort();
	memcpy(body, data, size);
	body[size] = '\0';

	n_all = deletexml_keys(body, size, &all);
	n_some = deletexml_keys(body, size, &some);
	if (n_all != n_some || all.outside != NULL)
		abort();
	if (some.outside != NULL &&
	    strncmp(some.outside, some.prefix, strlen(some.prefix)) == 0)
		abort();
	if (n_some == 0 && some.outside != NULL)
		abort();
	free(some.outside);
	free(body);
	return 0;
}
