/*
 * uri: percent-encoding as S3 does it (see uri.h).
 *
 * Everything here runs on hostile input before authentication: lengths are
 * explicit, nothing relies on NUL termination of the input, and a decoded
 * NUL is refused because names and values are handed on as C strings.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proxy/uri.h"

static const char uri_hex_upper[] = "0123456789ABCDEF";

/*
 * Byte classes, one table lookup per byte on the hot paths: bit 1 marks
 * the unreserved set A-Z a-z 0-9 - . _ ~ (RFC 3986, the only bytes S3
 * keeps); bit 2 the bytes uri_decode() must look at ('%', '+', NUL).
 */
#define URI_UNRESERVED	0x01
#define URI_DECODE_STOP	0x02

static const unsigned char uri_class[256] = {
	['\0'] = URI_DECODE_STOP, ['%'] = URI_DECODE_STOP, ['+'] = URI_DECODE_STOP,
	['-'] = URI_UNRESERVED, ['.'] = URI_UNRESERVED, ['_'] = URI_UNRESERVED,
	['~'] = URI_UNRESERVED,
	['0'] = URI_UNRESERVED, ['1'] = URI_UNRESERVED, ['2'] = URI_UNRESERVED,
	['3'] = URI_UNRESERVED, ['4'] = URI_UNRESERVED, ['5'] = URI_UNRESERVED,
	['6'] = URI_UNRESERVED, ['7'] = URI_UNRESERVED, ['8'] = URI_UNRESERVED,
	['9'] = URI_UNRESERVED,
	['A'] = URI_UNRESERVED, ['B'] = URI_UNRESERVED, ['C'] = URI_UNRESERVED,
	['D'] = URI_UNRESERVED, ['E'] = URI_UNRESERVED, ['F'] = URI_UNRESERVED,
	['G'] = URI_UNRESERVED, ['H'] = URI_UNRESERVED, ['I'] = URI_UNRESERVED,
	['J'] = URI_UNRESERVED, ['K'] = URI_UNRESERVED, ['L'] = URI_UNRESERVED,
	['M'] = URI_UNRESERVED, ['N'] = URI_UNRESERVED, ['O'] = URI_UNRESERVED,
	['P'] = URI_UNRESERVED, ['Q'] = URI_UNRESERVED, ['R'] = URI_UNRESERVED,
	['S'] = URI_UNRESERVED, ['T'] = URI_UNRESERVED, ['U'] = URI_UNRESERVED,
	['V'] = URI_UNRESERVED, ['W'] = URI_UNRESERVED, ['X'] = URI_UNRESERVED,
	['Y'] = URI_UNRESERVED, ['Z'] = URI_UNRESERVED,
	['a'] = URI_UNRESERVED, ['b'] = URI_UNRESERVED, ['c'] = URI_UNRESERVED,
	['d'] = URI_UNRESERVED, ['e'] = URI_UNRESERVED, ['f'] = URI_UNRESERVED,
	['g'] = URI_UNRESERVED, ['h'] = URI_UNRESERVED, ['i'] = URI_UNRESERVED,
	['j'] = URI_UNRESERVED, ['k'] = URI_UNRESERVED, ['l'] = URI_UNRESERVED,
	['m'] = URI_UNRESERVED, ['n'] = URI_UNRESERVED, ['o'] = URI_UNRESERVED,
	['p'] = URI_UNRESERVED, ['q'] = URI_UNRESERVED, ['r'] = URI_UNRESERVED,
	['s'] = URI_UNRESERVED, ['t'] = URI_UNRESERVED, ['u'] = URI_UNRESERVED,
	['v'] = URI_UNRESERVED, ['w'] = URI_UNRESERVED, ['x'] = URI_UNRESERVED,
	['y'] = URI_UNRESERVED, ['z'] = URI_UNRESERVED,
};

/* Hex digit values plus one; 0 for anything else. */
static const unsigned char uri_hex_val1[256] = {
	['0'] = 1, ['1'] = 2, ['2'] = 3, ['3'] = 4, ['4'] = 5,
	['5'] = 6, ['6'] = 7, ['7'] = 8, ['8'] = 9, ['9'] = 10,
	['A'] = 11, ['B'] = 12, ['C'] = 13, ['D'] = 14, ['E'] = 15, ['F'] = 16,
	['a'] = 11, ['b'] = 12, ['c'] = 13, ['d'] = 14, ['e'] = 15, ['f'] = 16,
};

/*
 * Writes the S3 encoding of SRC to DST (room for 3 * LEN bytes, no NUL);
 * returns the bytes written.
 */
static size_t
uri_encode_to(char *dst, const char *src, size_t len, int keep_slash)
{
	const unsigned char *s = (const unsigned char *)src;
	char *d = dst;
	size_t i;

	for (i = 0; i < len; i++) {
		if ((uri_class[s[i]] & URI_UNRESERVED) || (s[i] == '/' && keep_slash)) {
			*d++ = (char)s[i];
			continue;
		}
		d[0] = '%';
		d[1] = uri_hex_upper[s[i] >> 4];
		d[2] = uri_hex_upper[s[i] & 0x0f];
		d += 3;
	}
	return (size_t)(d - dst);
}

void
uri_encode(struct sbuf *sb, const char *src, size_t len, int keep_slash)
{
	/* Worst case triples the length; one reservation, no regrowth. */
	if (len > ((size_t)-1 - 1) / 3 - sb->len)
		abort();
	sbuf_reserve(sb, len * 3);
	sb->len += uri_encode_to(sb->data + sb->len, src, len, keep_slash);
	sb->data[sb->len] = '\0';
}

#define URI_ONES	0x0101010101010101ULL
#define URI_HIGHS	0x8080808080808080ULL
#define URI_HAS_ZERO(v)	(((v) - URI_ONES) & ~(v) & URI_HIGHS)

/*
 * How many bytes at the start of SRC, in whole 8-byte words, hold no '%',
 * no NUL and (with plus_is_space) no '+': eight bytes a step.
 */
static size_t
uri_plain_words(const char *src, size_t len, int plus_is_space)
{
	uint64_t v;
	size_t i;

	for (i = 0; len - i >= 8; i += 8) {
		memcpy(&v, src + i, sizeof(v));
		if (URI_HAS_ZERO(v) || URI_HAS_ZERO(v ^ (URI_ONES * '%')) ||
		    (plus_is_space && URI_HAS_ZERO(v ^ (URI_ONES * '+'))))
			break;
	}
	return i;
}

long
uri_decode(char *dst, const char *src, size_t len, int plus_is_space)
{
	const unsigned char *s = (const unsigned char *)src;
	size_t i = 0, run, n = 0;
	int hi, lo;
	unsigned char c;

	while (i < len) {
		/* Runs of plain bytes are copied whole (DST may be SRC). */
		run = i + uri_plain_words(src + i, len - i, plus_is_space);
		for (; run < len && !(uri_class[s[run]] & URI_DECODE_STOP); run++)
			;
		if (run > i) {
			memmove(dst + n, src + i, run - i);
			n += run - i;
			i = run;
			if (i == len)
				break;
		}
		c = s[i];
		if (c == '%') {
			if (len - i < 3)
				return -1;
			if ((hi = uri_hex_val1[s[i + 1]] - 1) == -1 ||
			    (lo = uri_hex_val1[s[i + 2]] - 1) == -1)
				return -1;
			c = (unsigned char)(hi << 4 | lo);
			i += 2;
		} else if (c == '+' && plus_is_space)
			c = ' ';
		/* A NUL, raw or decoded, would cut the C string handed on. */
		if (c == '\0')
			return -1;
		dst[n++] = (char)c;
		i++;
	}
	dst[n] = '\0';
	return (long)n;
}

/*
 * One allocation per list: the parameter array, then every name and value
 * (decoded, NUL-terminated) after it.  Decoding never lengthens, so LEN
 * bytes plus two NULs per parameter always suffice.
 */
int
query_parse(const char *raw, size_t len, size_t max_params, struct query_list *ql)
{
	const char *seg, *end, *amp, *eq;
	struct query_param *qp;
	size_t n = 0, cap = 0;
	char *str;
	long r;

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
	if ((ql->params = malloc(cap * sizeof(*ql->params) + len + 2 * cap)) == NULL)
		abort();
	str = (char *)(ql->params + cap);

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
		qp->name = str;
		if ((r = uri_decode(str, seg, (size_t)(eq - seg), 0)) == -1)
			goto fail;
		str += r + 1;
		qp->value = str;
		if (qp->has_value) {
			if ((r = uri_decode(str, eq + 1, (size_t)(amp - eq - 1), 0)) == -1)
				goto fail;
			str += r + 1;
		} else
			*str++ = '\0';
		n++;
		if (amp == end)
			break;
	}
	ql->count = n;
	return 0;

 fail:
	/* What was decoded may hold a secret (a security token). */
	explicit_bzero(ql->params, cap * sizeof(*ql->params) + len + 2 * cap);
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

	/* Values may be security tokens or signatures; names and values share one block. */
	for (i = 0; i < ql->count; i++)
		explicit_bzero(ql->params[i].value, strlen(ql->params[i].value));
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

/* Most queries are short: their scratch space lives on the stack. */
#define QUERY_STACK_PARAMS	16
#define QUERY_STACK_BYTES	2048

void
query_canonical(struct sbuf *sb, const struct query_list *ql,
    const char *const *exclude)
{
	struct query_enc_sort vstack[QUERY_STACK_PARAMS], *v = vstack, tmp;
	char sstack[QUERY_STACK_BYTES], *scratch = sstack;
	size_t i, j, n = 0, need = 0, used = 0, out = 0, nlen, vlen;
	const struct query_param *qp;

	if (ql->count == 0)
		return;
	for (i = 0; i < ql->count; i++)
		need += 3 * (strlen(ql->params[i].name) + strlen(ql->params[i].value));
	if (ql->count > QUERY_STACK_PARAMS && (v = calloc(ql->count, sizeof(*v))) == NULL)
		abort();
	if (need > sizeof(sstack) && (scratch = malloc(need)) == NULL)
		abort();
	/* Sorting is on the encoded forms, so encode everything first. */
	for (i = 0; i < ql->count; i++) {
		qp = &ql->params[i];
		if (query_is_excluded(qp->name, exclude))
			continue;
		nlen = strlen(qp->name);
		vlen = strlen(qp->value);
		v[n].base = scratch;
		v[n].enc.name_off = used;
		v[n].enc.name_len = uri_encode_to(scratch + used, qp->name, nlen, 0);
		used += v[n].enc.name_len;
		v[n].enc.value_off = used;
		v[n].enc.value_len = uri_encode_to(scratch + used, qp->value, vlen, 0);
		used += v[n].enc.value_len;
		out += v[n].enc.name_len + v[n].enc.value_len + 2;
		n++;
	}
	/* Insertion sort for the usual handful; equal entries are identical. */
	if (n <= QUERY_STACK_PARAMS) {
		for (i = 1; i < n; i++) {
			tmp = v[i];
			for (j = i; j > 0 && query_cmp_enc(&v[j - 1], &tmp) > 0; j--)
				v[j] = v[j - 1];
			v[j] = tmp;
		}
	} else
		qsort(v, n, sizeof(*v), query_cmp_enc);
	if (n > 0)
		sbuf_reserve(sb, out);
	for (i = 0; i < n; i++) {
		if (i > 0)
			sbuf_appendc(sb, '&');
		sbuf_append(sb, scratch + v[i].enc.name_off, v[i].enc.name_len);
		sbuf_appendc(sb, '=');
		sbuf_append(sb, scratch + v[i].enc.value_off, v[i].enc.value_len);
	}
	explicit_bzero(scratch, used);
	if (scratch != sstack)
		free(scratch);
	if (v != vstack)
		free(v);
}
