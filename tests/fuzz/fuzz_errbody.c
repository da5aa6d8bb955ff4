/*
 * fuzz_errbody: errbody_judge on hostile backend error bodies.  The input
 * is the body.  Properties checked (abort() on violation):
 *   - the code reported is "" or a token of letters, digits, '.', '-', '_'
 *     shorter than ERRBODY_CODE_MAX (it goes into a log line);
 *   - a body holding the service key id or secret is never relayed;
 *   - a body holding an element of signing material is never relayed;
 *   - the verdict and the code are the same on a second look;
 * and respbody_set_location (CompleteMultipartUpload's answer, read the
 * same way) on the same body:
 *   - no element: the body comes out unchanged;
 *   - otherwise every <Location> that comes out holds the URL given,
 *     escaped, and nothing else (the backend's address never survives).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proxy/errbody.h"
#include "proxy/respbody.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

#define FUZZ_AKID	"AKIAFUZZ"
#define FUZZ_SECRET	"fuzz/secret"

#define FUZZ_URL	"http://h/b/k&<"
#define FUZZ_URL_XML	"<Location>http://h/b/k&amp;&lt;</Location>"

/* respbody_set_location's properties, above */
static void
fuzz_location(const char *body, size_t size)
{
	struct sbuf out = SBUF_INIT;
	const char *p, *end;
	int n;

	n = respbody_set_location(body, size, FUZZ_URL, sizeof(FUZZ_URL) - 1, &out);
	if (n == 0 && (out.len != size || memcmp(out.data, body, size) != 0))
		abort();
	if (n > 0) {
		int seen = 0;
		for (p = out.data, end = out.data + out.len;
		    (p = memmem(p, (size_t)(end - p), "<Location>", 10)) != NULL; p += 10) {
			if ((size_t)(end - p) < sizeof(FUZZ_URL_XML) - 1 ||
			    memcmp(p, FUZZ_URL_XML, sizeof(FUZZ_URL_XML) - 1) != 0)
				abort();
			seen++;
		}
		if (seen != n)
			abort();
	}
	sbuf_free(&out);
}

static int
fuzz_holds(const char *buf, size_t len, const char *s)
{
	return memmem(buf, len, s, strlen(s)) != NULL;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const signing[] = {
		"<AWSAccessKeyId", "<StringToSign", "<SignatureProvided", "<CanonicalRequest",
	};
	char *body, code[ERRBODY_CODE_MAX], again[ERRBODY_CODE_MAX];
	enum errbody_verdict v;
	size_t i, n;

	if (size > ERRBODY_MAX)
		return 0;
	/* an exact-size copy: ASan sees any read past the length */
	if ((body = malloc(size ? size : 1)) == NULL)
		abort();
	memcpy(body, data, size);

	v = errbody_judge(body, size, FUZZ_AKID, FUZZ_SECRET, code);
	n = strnlen(code, sizeof(code));
	if (n == sizeof(code))
		abort();
	for (i = 0; i < n; i++) {
		char c = code[i];
		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		    c == '.' || c == '-' || c == '_'))
			abort();
	}
	if (v == ERRBODY_RELAY) {
		if (fuzz_holds(body, size, FUZZ_AKID) || fuzz_holds(body, size, FUZZ_SECRET))
			abort();
		for (i = 0; i < sizeof(signing) / sizeof(signing[0]); i++)
			if (fuzz_holds(body, size, signing[i]))
				abort();
	}
	if (errbody_judge(body, size, FUZZ_AKID, FUZZ_SECRET, again) != v || strcmp(code, again) != 0)
		abort();
	fuzz_location(body, size);
	free(body);
	return 0;
}
