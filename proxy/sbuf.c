#include <stdio.h>
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

void
sbuf_append(struct sbuf *sb, const void *data, size_t len)
{
	sbuf_reserve(sb, len);
	if (len > 0)
		memcpy(sb->data + sb->len, data, len);
	sb->len += len;
	sb->data[sb->len] = '\0';
}

void
sbuf_appends(struct sbuf *sb, const char *str)
{
	sbuf_append(sb, str, strlen(str));
}

void
sbuf_appendc(struct sbuf *sb, char c)
{
	sbuf_append(sb, &c, 1);
}

void
sbuf_vappendf(struct sbuf *sb, const char *fmt, va_list ap)
{
	va_list ap2;
	int n;

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
