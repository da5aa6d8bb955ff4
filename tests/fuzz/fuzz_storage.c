/*
 * fuzz_storage: libFuzzer target for Storage documents (JSON and YAML):
 * storage_parse() and the cross-record checks of model_index() must never
 * crash, leak or read out of bounds, whatever the input (read as any file and
 * as the CLI's state file, with its retiredBuckets); nor sync's
 * storage_parse_each(), which drops a bad resource's records (and those of
 * the resources it is told to skip: here, the first it refused).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "policy/model.h"
#include "policy/storage.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sbuf errors = SBUF_INIT, out = SBUF_INIT;
	struct model *m = model_new();
	char **refused = NULL, **again = NULL;
	size_t n = 0, nagain = 0, i;

	if (storage_parse(m, "fuzz", (const char *)data, size, &errors) == 0 &&
	    model_index(m, &errors) == 0)
		storage_write(m, NULL, &out, NULL);
	model_free(m);
	/* as the CLI's state file: retiredBuckets too */
	m = model_new();
	if (storage_parse_state(m, "fuzz", (const char *)data, size, &errors) == 0 &&
	    model_index(m, &errors) == 0)
		storage_write(m, NULL, &out, NULL);
	model_free(m);
	m = model_new();
	if (storage_parse_each(m, "fuzz", (const char *)data, size, &errors, NULL, 0, &refused,
	    &n) == 0 && n > 0) {
		model_free(m);
		m = model_new();
		(void)storage_parse_each(m, "fuzz", (const char *)data, size, &errors, refused, 1,
		    &again, &nagain);
	}
	(void)model_index(m, &errors);
	model_free(m);
	for (i = 0; i < n; i++)
		free(refused[i]);
	free(refused);
	for (i = 0; i < nagain; i++)
		free(again[i]);
	free(again);
	sbuf_free(&errors);
	sbuf_free(&out);
	return 0;
}
