/*
 * testlib: the unit tests' tiny harness.  Each test program prints one line
 * per check -- "ok - NAME", "not ok - NAME: why", "skip - NAME # why" --
 * and exits non-zero if any failed.  tests/unit/run.sh counts the lines.
 */
#ifndef S3GATE_TESTLIB_H
#define S3GATE_TESTLIB_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int testlib_failed;

#define T_OK(cond, ...) do {						\
	if (cond) {							\
		printf("ok - ");					\
		printf(__VA_ARGS__);					\
		printf("\n");						\
	} else {							\
		testlib_failed++;					\
		printf("not ok - ");					\
		printf(__VA_ARGS__);					\
		printf(" (%s:%d: %s)\n", __FILE__, __LINE__, #cond);	\
	}								\
} while (0)

#define T_STREQ(got, want, ...) do {					\
	const char *t_g_ = (got), *t_w_ = (want);			\
	int t_eq_ = (t_g_ && t_w_) ? strcmp(t_g_, t_w_) == 0 : t_g_ == t_w_; \
	T_OK(t_eq_, __VA_ARGS__);					\
	if (!t_eq_)							\
		printf("#   got:  \"%s\"\n#   want: \"%s\"\n",		\
		    t_g_ ? t_g_ : "(null)", t_w_ ? t_w_ : "(null)");	\
} while (0)

#define T_SKIP(...) do {						\
	printf("skip - ");						\
	printf(__VA_ARGS__);						\
	printf("\n");							\
} while (0)

#define T_DONE() (testlib_failed ? 1 : 0)

/*
 * The whole of file PATH, NUL-terminated, its length in *LENP (if not
 * NULL); NULL if it cannot be read.  The caller frees it.
 */
static inline char *
testlib_slurp(const char *path, size_t *lenp)
{
	FILE *f;
	char *buf;
	long n;

	if ((f = fopen(path, "rb")) == NULL)
		return NULL;
	if (fseek(f, 0, SEEK_END) == -1 || (n = ftell(f)) < 0 ||
	    fseek(f, 0, SEEK_SET) == -1 || (buf = malloc((size_t)n + 1)) == NULL) {
		fclose(f);
		return NULL;
	}
	if (fread(buf, 1, (size_t)n, f) != (size_t)n) {
		free(buf);
		fclose(f);
		return NULL;
	}
	buf[n] = '\0';
	fclose(f);
	if (lenp != NULL)
		*lenp = (size_t)n;
	return buf;
}

#endif
