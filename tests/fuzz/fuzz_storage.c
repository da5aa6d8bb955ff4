/*
 * fuzz_storage: libFuzzer target for Storage documents (JSON and YAML):
 * storage_parse() and the cross-record checks of model_index() must never
 * crash, leak or read out of bounds, whatever the input.
 */
#include <stddef.h>
#include <stdint.h>

#include "policy/model.h"
#include "policy/storage.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sbuf errors = SBUF_INIT, out = SBUF_INIT;
	struct model *m = model_new();

	if (storage_parse(m, "fuzz", (const char *)data, size, &errors) == 0 &&
	    model_index(m, &errors) == 0)
		storage_write(m, NULL, &out, NULL);
	model_free(m);
	sbuf_free(&errors);
	sbuf_free(&out);
	return 0;
}
