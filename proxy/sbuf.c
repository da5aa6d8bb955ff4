#include <stdio.h>
#include <sys/types.h>
#include <stdlib.h>
#include <string.h>

#include "proxy/sbuf.h"

void
sbuf_reserve(struct sbuf *sb, size_t extra)
{
	size_t need = sb->len + extra + 1;
	size_t cap;
	char *p;

	if (need <= sb->cap)
		return;
	cap = sb->cap ? sb->cap : 64;
	while (cap < need)
		cap *= 2;
	if ((p = realloc(sb->data, cap)) == NULL)
		abort();
	sb->data = p;
	sb->cap = cap;
}

/* Appends the decimal form of V, with a '-' when NEG. */
static void
sbuf_append_num(struct sbuf *sb, unsigned long long v, int neg, int base)
{
	static const char digits[] = "0123456789abcdef";
	char tmp[24], *p = tmp + sizeof(tmp);

	do {
		*--p = digits[v % (unsigned)base];
		v /= (unsigned)base;
	} while (v != 0);
	if (neg)
		*--p = '-';
	sbuf_append(sb, p, (size_t)(tmp + sizeof(tmp) - p));
}

void
sbuf_append_u64(struct sbuf *sb, uint64_t v)
{
	sbuf_append_num(sb, v, 0, 10);
}

/*
 * The formats hot paths use, without vsnprintf: %%, %c, %s, %.Ns, %.*s and
 * %d %i %u %x with no, l, ll or z length.  Returns -1, having consumed part
 * of AP, at anything else (flags, widths, other conversions): the caller
 * then formats the whole string again with vsnprintf.
 */
static int
sbuf_fast_format(struct sbuf *sb, const char *fmt, va_list ap)
{
	const char *p = fmt, *pct, *s;
	unsigned long long u;
	long long d;
	size_t prec;
	int has_prec, lmod, n;

	for (;;) {
		if ((pct = strchr(p, '%')) == NULL) {
			sbuf_appends(sb, p);
			return 0;
		}
		if (pct > p)
			sbuf_append(sb, p, (size_t)(pct - p));
		p = pct + 1;
		has_prec = 0;
		prec = 0;
		if (*p == '.') {
			p++;
			has_prec = 1;
			if (*p == '*') {
				if ((n = va_arg(ap, int)) < 0)
					has_prec = 0;	/* as printf: a negative precision is none */
				prec = (size_t)n;
				p++;
			} else {
				if (*p < '0' || *p > '9')
					return -1;
				for (; *p >= '0' && *p <= '9'; p++) {
					if (prec > 100000)
						return -1;
					prec = prec * 10 + (size_t)(*p - '0');
				}
			}
			if (*p != 's')
				return -1;
		}
		lmod = 0;
		if (*p == 'l') {
			lmod = 1;
			if (*++p == 'l') {
				lmod = 2;
				p++;
			}
		} else if (*p == 'z') {
			lmod = 3;
			p++;
		}
		switch (*p) {
		case '%':
			if (lmod)
				return -1;
			sbuf_appendc(sb, '%');
			break;
		case 'c':
			if (lmod)
				return -1;
			sbuf_appendc(sb, (char)va_arg(ap, int));
			break;
		case 's':
			if (lmod)
				return -1;
			if ((s = va_arg(ap, const char *)) == NULL)
				return -1;	/* printf's "(null)" rules */
			sbuf_append(sb, s, has_prec ? strnlen(s, prec) : strlen(s));
			break;
		case 'd':
		case 'i':
			switch (lmod) {
			case 0: d = va_arg(ap, int); break;
			case 1: d = va_arg(ap, long); break;
			case 2: d = va_arg(ap, long long); break;
			default: d = (long long)va_arg(ap, ssize_t); break;
			}
			u = d < 0 ? 0ULL - (unsigned long long)d : (unsigned long long)d;
			sbuf_append_num(sb, u, d < 0, 10);
			break;
		case 'u':
		case 'x':
			switch (lmod) {
			case 0: u = va_arg(ap, unsigned int); break;
			case 1: u = va_arg(ap, unsigned long); break;
			case 2: u = va_arg(ap, unsigned long long); break;
			default: u = va_arg(ap, size_t); break;
			}
			sbuf_append_num(sb, u, 0, *p == 'x' ? 16 : 10);
			break;
		default:
			return -1;
		}
		p++;
	}
}

void
sbuf_vappendf(struct sbuf *sb, const char *fmt, va_list ap)
{
	va_list ap2;
	size_t start = sb->len;
	int n, r;

	va_copy(ap2, ap);
	r = sbuf_fast_format(sb, fmt, ap2);
	va_end(ap2);
	if (r == 0)
		return;
	/* Not a format the fast path knows: start over with vsnprintf. */
	sb->len = start;
	if (sb->data != NULL)
		sb->data[start] = '\0';
	va_copy(ap2, ap);
	n = vsnprintf(NULL, 0, fmt, ap2);
	va_end(ap2);
	if (n < 0)
		abort();
	sbuf_reserve(sb, (size_t)n);
	vsnprintf(sb->data + sb->len, (size_t)n + 1, fmt, ap);
	sb->len += (size_t)n;
}

void
sbuf_appendf(struct sbuf *sb, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	sbuf_vappendf(sb, fmt, ap);
	va_end(ap);
}

void
sbuf_append_xml(struct sbuf *sb, const char *str, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++) {
		switch (str[i]) {
		case '&':  sbuf_appends(sb, "&amp;"); break;
		case '<':  sbuf_appends(sb, "&lt;"); break;
		case '>':  sbuf_appends(sb, "&gt;"); break;
		case '"':  sbuf_appends(sb, "&quot;"); break;
		case '\'': sbuf_appends(sb, "&apos;"); break;
		default:   sbuf_appendc(sb, str[i]); break;
		}
	}
}

void
sbuf_reset(struct sbuf *sb)
{
	sb->len = 0;
	if (sb->data)
		sb->data[0] = '\0';
}

void
sbuf_wipe(struct sbuf *sb)
{
	if (sb->data != NULL)
		explicit_bzero(sb->data, sb->len);
	sbuf_reset(sb);
}

void
sbuf_free(struct sbuf *sb)
{
	if (sb->data != NULL) {
		explicit_bzero(sb->data, sb->cap);
		free(sb->data);
	}
	sb->data = NULL;
	sb->len = sb->cap = 0;
}

char *
sbuf_steal(struct sbuf *sb)
{
	char *p;

	if (sb->data == NULL)
		sbuf_reserve(sb, 0);
	p = sb->data;
	sb->data = NULL;
	sb->len = sb->cap = 0;
	return p;
}

char *
sbuf_strdup(const char *s)
{
	char *p;

	if (s == NULL)
		return NULL;
	if ((p = strdup(s)) == NULL)
		abort();
	return p;
}

char *
sbuf_strndup(const char *s, size_t n)
{
	char *p;

	/* exactly N bytes: S points into buffers that are not NUL-terminated */
	if ((p = malloc(n + 1)) == NULL)
		abort();
	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}
