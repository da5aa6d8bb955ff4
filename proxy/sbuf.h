/*
 * sbuf: a growable byte string for building things that are small and
 * bounded by the caller (canonical requests, XML errors, JSON documents,
 * request heads).  Never used for bodies: bodies are streamed.
 *
 * The data is always NUL-terminated.  On allocation failure the process
 * aborts: these strings are bounded by request limits, so running out of
 * memory here means the machine is gone anyway.
 */
#ifndef S3GATE_SBUF_H
#define S3GATE_SBUF_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

struct sbuf {
	char	*data;
	size_t	 len;
	size_t	 cap;
};

#define SBUF_INIT { NULL, 0, 0 }

void	 sbuf_reserve(struct sbuf *, size_t extra);
/* The decimal form of V. */
void	 sbuf_append_u64(struct sbuf *, uint64_t v);
void	 sbuf_appendf(struct sbuf *, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
void	 sbuf_vappendf(struct sbuf *, const char *fmt, va_list);
/* Append with XML escaping of & < > " '. */
void	 sbuf_append_xml(struct sbuf *, const char *str, size_t len);
void	 sbuf_reset(struct sbuf *);
/*
 * Wipes the contents (they may hold a secret) and empties the sbuf, keeping
 * its memory: for scratch strings reused from one request to the next,
 * wiped after every use.
 */
void	 sbuf_wipe(struct sbuf *);
/* Wipes the contents (they may hold a secret) and frees. Idempotent. */
void	 sbuf_free(struct sbuf *);
/*
 * strdup that aborts on OOM, like the sbuf itself (NULL stays NULL); and a
 * copy of exactly N bytes of S, NUL-terminated (S need not be).
 */
char	*sbuf_strdup(const char *);
char	*sbuf_strndup(const char *, size_t);

/* Hands over the NUL-terminated data; the sbuf is empty afterwards. */
char	*sbuf_steal(struct sbuf *);

/*
 * Inline, as are the two below: canonical requests and heads are built of
 * a hundred short appends per request, and a literal's length is then
 * known when compiling.
 */
static inline void
sbuf_append(struct sbuf *sb, const void *data, size_t len)
{
	if (sb->cap - sb->len <= len)	/* cap >= len + 1 when allocated */
		sbuf_reserve(sb, len);
	if (len > 0)
		memcpy(sb->data + sb->len, data, len);
	sb->len += len;
	sb->data[sb->len] = '\0';
}

static inline void
sbuf_appendc(struct sbuf *sb, char c)
{
	if (sb->len + 2 > sb->cap)
		sbuf_reserve(sb, 1);
	sb->data[sb->len++] = c;
	sb->data[sb->len] = '\0';
}

static inline void
sbuf_appends(struct sbuf *sb, const char *str)
{
	sbuf_append(sb, str, strlen(str));
}

#endif
