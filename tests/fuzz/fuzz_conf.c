/*
 * fuzz_conf: conf_load on hostile files.  The input is written to a temp
 * file and loaded without file checks; a result is either a conf or a
 * list of errors, each line "FILE:LINE: ..." (abort() otherwise).
 * The process works in an empty temp directory, and an input with an
 * include line naming anything outside it ('/' in the line) is skipped:
 * "include /dev/*" would read /dev/zero for ever, which says nothing about
 * the parser.  Secret files the input names are opened as a config would.
 */
#include <stddef.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "proxy/conf.h"
#include "proxy/sbuf.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static char fuzz_dir[64];
static char fuzz_path[80];

/* Whether a line that mentions include also holds a '/'. */
static int
fuzz_include_escapes(const uint8_t *data, size_t size)
{
	size_t i = 0, j;

	while (i < size) {
		const uint8_t *nl = memchr(data + i, '\n', size - i);
		size_t end = nl ? (size_t)(nl - data) : size;
		int inc = 0, slash = 0;

		for (j = i; j < end; j++) {
			if (data[j] == '/')
				slash = 1;
			if (end - j >= 7 && memcmp(data + j, "include", 7) == 0)
				inc = 1;
		}
		if (inc && slash)
			return 1;
		i = end + 1;
	}
	return 0;
}

static int
fuzz_errors_well_formed(const struct sbuf *errors)
{
	const char *p = errors->data, *nl;
	size_t plen = strlen(fuzz_path);

	if (p == NULL || *p == '\0')
		return 0;
	for (; *p != '\0'; p = nl + 1) {
		if ((nl = strchr(p, '\n')) == NULL)
			return 0;
		/* lines from included files name those; ours name the fuzz file */
		if (strncmp(p, fuzz_path, plen) == 0 && p[plen] != ':')
			return 0;
	}
	return 1;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sbuf errors = SBUF_INIT;
	struct conf *c;
	FILE *fp;
	int fd;

	if (size > 8192 || fuzz_include_escapes(data, size))
		return 0;
	if (fuzz_dir[0] == '\0') {
		const char *tmp = getenv("TMPDIR");
		snprintf(fuzz_dir, sizeof(fuzz_dir), "%s/s3gate-fuzz-conf-XXXXXX",
		    tmp != NULL && tmp[0] == '/' && strlen(tmp) < 32 ? tmp : "/tmp");
		if (mkdtemp(fuzz_dir) == NULL || chdir(fuzz_dir) == -1)
			abort();
		snprintf(fuzz_path, sizeof(fuzz_path), "%s/fuzz.conf", fuzz_dir);
		if ((fd = open(fuzz_path, O_WRONLY | O_CREAT | O_TRUNC, 0600)) == -1)
			abort();
		close(fd);
	}
	if ((fp = fopen(fuzz_path, "w")) == NULL)
		abort();
	if (size > 0 && fwrite(data, 1, size, fp) != size)
		abort();
	fclose(fp);
	c = conf_load(fuzz_path, 0, &errors);
	if (c == NULL) {
		if (!fuzz_errors_well_formed(&errors))
			abort();
	} else {
		if (c->nlisten < 1 || c->backend_url == NULL || c->region == NULL ||
		    c->backend_region == NULL || c->refcount != 1)
			abort();
		conf_ref(c);
		conf_unref(c);
		conf_unref(c);
	}
	sbuf_free(&errors);
	return 0;
}
