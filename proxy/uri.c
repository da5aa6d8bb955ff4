/*
 * uri: percent-encoding as S3 does it (see uri.h).
 *
 * Everything here runs on hostile input before authentication: lengths are
 * explicit, nothing relies on NUL termination of the input, and a decoded
 * NUL is refused because names and values are handed on as C strings.
 */
#include <stdlib.h>
#include <string.h>

#include "proxy/uri.h"

static const char uri_hex_upper[] = "0123456789ABCDEF";

/* A-Z a-z 0-9 - . _ ~ : RFC 3986 unreserved, the only bytes S3 keeps. */
static int
uri_is_unreserved(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	    (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' ||
	    c == '~';
}

static int
uri_hex_value(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

void
uri_encode(struct sbuf *sb, const char *src, size_t len, int keep_slash)
{
	size_t i;
	unsigned char c;
	char esc[3];

	/* Worst case triples the length; one reservation, no regrowth. */
	if (len <= ((size_t)-1 - 1) / 3)
		sbuf_reserve(sb, len * 3);
	for (i = 0; i < len; i++) {
		c = (unsigned char)src[i];
		if (uri_is_unreserved(c) || (c == '/' && keep_slash)) {
			sbuf_appendc(sb, (char)c);
			continue;
		}
		esc[0] = '%';
		esc[1] = uri_hex_upper[c >> 4];
		esc[2] = uri_hex_upper[c & 0x0f];
		sbuf_append(sb, esc, sizeof(esc));
	}
}

long
uri_decode(char *dst, const char *src, size_t len, int plus_is_space)
{
	size_t i, n = 0;
	int hi, lo;
	unsigned char c;

	for (i = 0; i < len; i++) {
		c = (unsigned char)src[i];
		if (c == '%') {
			if (len - i < 3)
				return -1;
			if ((hi = uri_hex_value((unsigned char)src[i + 1])) == -1 ||
			    (lo = uri_hex_value((unsigned char)src[i + 2])) == -1)
				return -1;
			c = (unsigned char)(hi << 4 | lo);
			i += 2;
		} else if (c == '+' && plus_is_space)
			c = ' ';
		/* A NUL, raw or decoded, would cut the C string handed on. */
		if (c == '\0')
			return -1;
		dst[n++] = (char)c;
	}
	dst[n] = '\0';
	return (long)n;
}

/*
 * Decodes LEN bytes of SRC into a new NUL-terminated string; NULL on a
 * malformed escape.
 */
static char *
query_decode_part(const char *src, size_t len)
{
	char *p;

	if ((p = malloc(len + 1)) == NULL)
		abort();
	if (uri_decode(p, src, len, 0) == -1) {
		free(p);
		return NULL;
	}
	return p;
}

int
query_parse(const char *raw, size_t len, size_t max_params, struct query_list *ql)
{
	const char *seg, *end, *amp, *eq;
	struct query_param *qp;
	size_t n = 0, cap = 0, i;

	ql->params = NULL;
	ql->count = 0;
	if (raw == NULL)
		return 0;

	/* Count first so the array is sized once and the bound holds. */
	end = raw + len;
	for (seg = raw; seg < end; seg = amp + 1) {
		if ((amp = memchr(seg, '&', (size_t)(end - seg))) == NULL)
			amp = end;
		if (amp > seg)
			cap++;
		if (amp == end)
			break;
	}
	if (cap > max_params)
		return -1;
	if (cap == 0)
		return 0;
	if ((ql->params = calloc(cap, sizeof(*ql->params))) == NULL)
		abort();

	/*
	 * Empty segments ("a=1&&b", a trailing '&') carry no parameter and
	 * are skipped.  A segment without '=' is a parameter with an empty
	 * value ("?acl", "?uploads"), which S3 signs as "name=".
	 */
	for (seg = raw; seg < end; seg = amp + 1) {
		if ((amp = memchr(seg, '&', (size_t)(end - seg))) == NULL)
			amp = end;
		if (amp == seg)
			continue;
		qp = &ql->params[n];
		eq = memchr(seg, '=', (size_t)(amp - seg));
		qp->has_value = eq != NULL;
		if (eq == NULL)
			eq = amp;
		if ((qp->name = query_decode_part(seg, (size_t)(eq - seg))) == NULL)
			goto fail;
		qp->value = qp->has_value ?
		    query_decode_part(eq + 1, (size_t)(amp - eq - 1)) :
		    query_decode_part("", 0);
		if (qp->value == NULL) {
			free(qp->name);
			goto fail;
		}
		n++;
		if (amp == end)
			break;
	}
	ql->count = n;
	return 0;

 fail:
	for (i = 0; i < n; i++) {
		free(ql->params[i].name);
		free(ql->params[i].value);
	}
	free(ql->params);
	ql->params = NULL;
	ql->count = 0;
	return -1;
}

const struct query_param *
query_find(const struct query_list *ql, const char *name)
{
	size_t i;

	for (i = 0; i < ql->count; i++)
		if (strcmp(ql->params[i].name, name) == 0)
			return &ql->params[i];
	return NULL;
}

void
query_free(struct query_list *ql)
{
	size_t i;

	for (i = 0; i < ql->count; i++) {
		/* Values may be security tokens or signatures. */
		explicit_bzero(ql->params[i].value, strlen(ql->params[i].value));
		free(ql->params[i].name);
		free(ql->params[i].value);
	}
	free(ql->params);
	ql->params = NULL;
	ql->count = 0;
}

/* One encoded parameter, pointing into the scratch buffer of query_canonical. */
struct query_enc {
	size_t	name_off, name_len;
	size_t	value_off, value_len;
};

/* qsort has no context argument: the scratch buffer is passed through this. */
struct query_enc_sort {
	struct query_enc	 enc;
	const char		*base;
};

static int
query_cmp_part(const char *a, size_t alen, const char *b, size_t blen)
{
	int r;

	if ((r = memcmp(a, b, alen < blen ? alen : blen)) != 0)
		return r;
	return (alen > blen) - (alen < blen);
}

static int
query_cmp_enc(const void *va, const void *vb)
{
	const struct query_enc_sort *a = va, *b = vb;
	int r;

	r = query_cmp_part(a->base + a->enc.name_off, a->enc.name_len,
	    b->base + b->enc.name_off, b->enc.name_len);
	if (r != 0)
		return r;
	return query_cmp_part(a->base + a->enc.value_off, a->enc.value_len,
	    b->base + b->enc.value_off, b->enc.value_len);
}

static int
query_is_excluded(const char *name, const char *const *exclude)
{
	if (exclude == NULL)
		return 0;
	for (; *exclude != NULL; exclude++)
		if (strcmp(name, *exclude) == 0)
			return 1;
	return 0;
}

void
query_canonical(struct sbuf *sb, const struct query_list *ql,
    const char *const *exclude)
{
	struct sbuf scratch = SBUF_INIT;
	struct query_enc_sort *v;
	size_t i, n = 0;
	const struct query_param *qp;

	if (ql->count == 0)
		return;
	if ((v = calloc(ql->count, sizeof(*v))) == NULL)
		abort();
	/* Sorting is on the encoded forms, so encode everything first. */
	for (i = 0; i < ql->count; i++) {
		qp = &ql->params[i];
		if (query_is_excluded(qp->name, exclude))
			continue;
		v[n].enc.name_off = scratch.len;
		uri_encode(&scratch, qp->name, strlen(qp->name), 0);
		v[n].enc.name_len = scratch.len - v[n].enc.name_off;
		v[n].enc.value_off = scratch.len;
		uri_encode(&scratch, qp->value, strlen(qp->value), 0);
		v[n].enc.value_len = scratch.len - v[n].enc.value_off;
		n++;
	}
	for (i = 0; i < n; i++)
		v[i].base = scratch.data;
	qsort(v, n, sizeof(*v), query_cmp_enc);
	for (i = 0; i < n; i++) {
		if (i > 0)
			sbuf_appendc(sb, '&');
		sbuf_append(sb, scratch.data + v[i].enc.name_off, v[i].enc.name_len);
		sbuf_appendc(sb, '=');
		sbuf_append(sb, scratch.data + v[i].enc.value_off, v[i].enc.value_len);
	}
	sbuf_free(&scratch);
	free(v);
}
