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

/*
 * Byte classes, one table lookup per byte on the hot paths: the unreserved
 * set A-Z a-z 0-9 - . _ ~ (RFC 3986, the only bytes S3 keeps), '/' (kept
 * in paths), and the bytes uri_decode() must look at ('%', '+', NUL).
 */
#define URI_UNRESERVED	0x01
#define URI_DECODE_STOP	0x02
#define URI_SLASH	0x04	/* kept in paths */

static const unsigned char uri_class[256] = {
	['\0'] = URI_DECODE_STOP, ['%'] = URI_DECODE_STOP, ['+'] = URI_DECODE_STOP,
	['/'] = URI_SLASH,
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

int
uri_hexval(int c)
{
	return (int)uri_hex_val1[(unsigned char)c] - 1;
}

/*
 * Writes the S3 encoding of SRC to DST (room for 3 * LEN bytes, no NUL);
 * returns the bytes written.
 */
static size_t
uri_encode_to(char *dst, const char *src, size_t len, int keep_slash)
{
	const unsigned char *s = (const unsigned char *)src;
	unsigned char keep = keep_slash ? URI_UNRESERVED | URI_SLASH : URI_UNRESERVED;
	char *d = dst;
	size_t i;

	for (i = 0; i < len; i++) {
		if (uri_class[s[i]] & keep) {
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

long
uri_decode(char *dst, const char *src, size_t len, int plus_is_space)
{
	const unsigned char *s = (const unsigned char *)src;
	const char *pct;
	size_t i = 0, run, n = 0;
	int hi, lo;
	unsigned char c;

	while (i < len) {
		/*
		 * Runs of plain bytes are copied whole (DST may be SRC): up to
		 * the next '%' with memchr, or byte by byte when '+' matters.
		 */
		if (!plus_is_space) {
			pct = memchr(src + i, '%', len - i);
			run = pct != NULL ? (size_t)(pct - src) : len;
			/* A NUL, raw or decoded, would cut the C string handed on. */
			if (memchr(src + i, '\0', run - i) != NULL)
				return -1;
		} else
			for (run = i; run < len && !(uri_class[s[run]] & URI_DECODE_STOP); run++)
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
		if (c == '\0')
			return -1;
		dst[n++] = (char)c;
		i++;
	}
	dst[n] = '\0';
	return (long)n;
}

int
query_parse(const char *raw, size_t len, size_t max_params, struct query_list *ql)
{
	ql->params = NULL;
	ql->cap = 0;
	return query_parse_again(raw, len, max_params, ql);
}

/*
 * One block per list, kept from one request of a connection to the next
 * (allocated again only for a longer query): the parameter array, then
 * every name and value (decoded, NUL-terminated) after it.  Decoding never
 * lengthens, so LEN bytes plus two NULs per parameter always suffice.
 */
int
query_parse_again(const char *raw, size_t len, size_t max_params, struct query_list *ql)
{
	const char *seg, *end, *amp, *eq;
	struct query_param *qp;
	size_t n = 0, cap = 0;
	char *str;
	long r;

	ql->count = 0;
	ql->size = 0;
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
	ql->size = cap * sizeof(*ql->params) + len + 2 * cap;
	if (ql->cap < ql->size) {
		free(ql->params);
		if ((ql->params = malloc(ql->size)) == NULL)
			abort();
		ql->cap = ql->size;
	}
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
		qp->name_len = (size_t)r;
		str += r + 1;
		qp->value = str;
		qp->value_len = 0;
		if (qp->has_value) {
			if ((r = uri_decode(str, eq + 1, (size_t)(amp - eq - 1), 0)) == -1)
				goto fail;
			qp->value_len = (size_t)r;
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
	query_free(ql);		/* what was decoded may hold a secret (a security token) */
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

/* Empties QL for query_parse_again, its block kept but wiped. */
void
query_clear(struct query_list *ql)
{
	/* Values may be security tokens or signatures; names and values share one block. */
	if (ql->params != NULL)
		explicit_bzero(ql->params, ql->size);
	ql->count = 0;
	ql->size = 0;
}

void
query_free(struct query_list *ql)
{
	query_clear(ql);
	free(ql->params);
	ql->params = NULL;
	ql->cap = 0;
}

/* One encoded parameter, pointing into the scratch buffer of query_canonical. */
struct query_enc {
	size_t	name_off, name_len;
	size_t	value_off, value_len;
	size_t	param;		/* index in the list */
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

/* The excluded names and their lengths, so most names are told apart by length. */
#define QUERY_MAX_EXCLUDE	16

struct query_exclude {
	const char *const	*names;
	size_t			 len[QUERY_MAX_EXCLUDE];
	size_t			 n;	/* > QUERY_MAX_EXCLUDE: lengths not kept */
};

static void
query_exclude_init(struct query_exclude *ex, const char *const *exclude)
{
	ex->names = exclude;
	ex->n = 0;
	for (; exclude != NULL && exclude[ex->n] != NULL; ex->n++)
		if (ex->n < QUERY_MAX_EXCLUDE)
			ex->len[ex->n] = strlen(exclude[ex->n]);
}

static int
query_is_excluded(const char *name, size_t len, const struct query_exclude *ex)
{
	size_t i;

	for (i = 0; i < ex->n; i++) {
		if (ex->n <= QUERY_MAX_EXCLUDE ? ex->len[i] == len &&
		    memcmp(name, ex->names[i], len) == 0 : strcmp(name, ex->names[i]) == 0)
			return 1;
	}
	return 0;
}

/* Most queries are short: their scratch space lives on the stack. */
#define QUERY_STACK_PARAMS	16
#define QUERY_STACK_BYTES	2048

/* Whether S3 encoding leaves SRC as it is: unreserved bytes only. */
static int
uri_is_unreserved(const char *src, size_t len)
{
	const unsigned char *s = (const unsigned char *)src;
	size_t i;

	for (i = 0; i < len; i++)
		if (!(uri_class[s[i]] & URI_UNRESERVED))
			return 0;
	return 1;
}

/* A parameter of query_canonical_plain: its name, and where it is in the list. */
struct query_plain {
	const char	*name;
	size_t		 name_len;
	size_t		 param;
};

/*
 * The usual query's names are plain (unreserved bytes, which encoding
 * keeps, so that they sort as they are) and distinct: they are sorted
 * as they are, and only the values are encoded, straight into SB.
 * Returns 0, having appended nothing, for any other list: a name that
 * encoding changes, the same name twice (sorted by value then), or more
 * parameters than fit on the stack.
 */
static int
query_canonical_plain(struct sbuf *sb, const struct query_list *ql,
    const struct query_exclude *ex)
{
	struct query_plain v[QUERY_STACK_PARAMS];
	size_t i, j, n = 0, nlen;
	const struct query_param *value;
	const char *name;
	int r;

	if (ql->count > QUERY_STACK_PARAMS)
		return 0;
	for (i = 0; i < ql->count; i++) {
		name = ql->params[i].name;
		nlen = ql->params[i].name_len;
		if (query_is_excluded(name, nlen, ex))
			continue;
		if (!uri_is_unreserved(name, nlen))
			return 0;
		/* insertion sort: a handful of names */
		for (j = n; j > 0; j--) {
			r = query_cmp_part(v[j - 1].name, v[j - 1].name_len, name, nlen);
			if (r == 0)
				return 0;
			if (r < 0)
				break;
			v[j] = v[j - 1];
		}
		v[j] = (struct query_plain){ name, nlen, i };
		n++;
	}
	for (i = 0; i < n; i++) {
		if (i > 0)
			sbuf_appendc(sb, '&');
		sbuf_append(sb, v[i].name, v[i].name_len);
		sbuf_appendc(sb, '=');
		value = &ql->params[v[i].param];
		uri_encode(sb, value->value, value->value_len, 0);
	}
	return 1;
}

void
query_canonical(struct sbuf *sb, const struct query_list *ql,
    const char *const *exclude)
{
	struct query_enc_sort vstack[QUERY_STACK_PARAMS], *v = vstack, tmp;
	struct query_exclude ex;
	char sstack[QUERY_STACK_BYTES], *scratch = sstack;
	size_t i, j, n = 0, need = 0, used = 0, out = 0, nlen;
	const struct query_param *qp;

	if (ql->count == 0)
		return;
	query_exclude_init(&ex, exclude);
	if (query_canonical_plain(sb, ql, &ex))
		return;
	if (ql->count > QUERY_STACK_PARAMS && (v = calloc(ql->count, sizeof(*v))) == NULL)
		abort();
	/* Sorting is on the encoded forms, so encode everything first. */
	for (i = 0; i < ql->count; i++) {
		qp = &ql->params[i];
		nlen = qp->name_len;
		if (query_is_excluded(qp->name, nlen, &ex))
			continue;
		/* the raw lengths, until encoded below */
		v[n].enc.param = i;
		v[n].enc.name_len = nlen;
		v[n].enc.value_len = qp->value_len;
		need += 3 * (nlen + v[n].enc.value_len);
		n++;
	}
	if (need > sizeof(sstack) && (scratch = malloc(need)) == NULL)
		abort();
	for (i = 0; i < n; i++) {
		qp = &ql->params[v[i].enc.param];
		v[i].base = scratch;
		v[i].enc.name_off = used;
		used += uri_encode_to(scratch + used, qp->name, v[i].enc.name_len, 0);
		v[i].enc.value_off = used;
		used += uri_encode_to(scratch + used, qp->value, v[i].enc.value_len, 0);
		v[i].enc.name_len = v[i].enc.value_off - v[i].enc.name_off;
		v[i].enc.value_len = used - v[i].enc.value_off;
		out += used - v[i].enc.name_off + 2;
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
