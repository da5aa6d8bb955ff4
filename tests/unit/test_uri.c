/*
 * test_uri: S3 percent-encoding, decoding and query canonicalisation.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proxy/uri.h"
#include "tests/unit/testlib.h"

static const struct {
	const char	*in;
	size_t		 len;	/* 0: strlen */
	int		 keep_slash;
	const char	*want;
} encode_cases[] = {
	{ "-._~AZaz09", 0, 0, "-._~AZaz09" },
	{ "a b", 0, 0, "a%20b" },
	{ "a+b", 0, 0, "a%2Bb" },
	{ "100%", 0, 0, "100%25" },
	{ "a/b", 0, 0, "a%2Fb" },
	{ "a/b", 0, 1, "a/b" },
	{ "//x/../y/./", 0, 1, "//x/../y/./" },
	{ "\xc3\xbc\xe2\x82\xac", 0, 1, "%C3%BC%E2%82%AC" },
	{ "!*'();:@&=$,?#[]", 0, 1, "%21%2A%27%28%29%3B%3A%40%26%3D%24%2C%3F%23%5B%5D" },
	{ "a\0b", 3, 0, "a%00b" },
	{ "\x7f\xff", 0, 0, "%7F%FF" },
	{ "", 0, 0, "" },
};

static const struct {
	const char	*in;
	int		 plus_is_space;
	const char	*want;	/* NULL: refused */
} decode_cases[] = {
	{ "a%20b", 0, "a b" },
	{ "a%2fb%2F", 0, "a/b/" },
	{ "a+b", 0, "a+b" },
	{ "a+b", 1, "a b" },
	{ "%2B", 1, "+" },
	{ "%C3%BC", 0, "\xc3\xbc" },
	{ "%e2%82%ac", 0, "\xe2\x82\xac" },
	{ "%41%4a%7e", 0, "AJ~" },
	{ "", 0, "" },
	{ "%", 0, NULL },
	{ "a%", 0, NULL },
	{ "a%2", 0, NULL },
	{ "%zz", 0, NULL },
	{ "%2g", 0, NULL },
	{ "%g2", 0, NULL },
	{ "% 2", 0, NULL },
	{ "%00", 0, NULL },
	{ "a%00b", 0, NULL },
	{ "%%41", 0, NULL },
	{ "%-1", 0, NULL },
};

static void
test_encode(void)
{
	struct sbuf sb = SBUF_INIT;
	size_t i, len;

	for (i = 0; i < sizeof(encode_cases) / sizeof(encode_cases[0]); i++) {
		sbuf_reset(&sb);
		len = encode_cases[i].len ? encode_cases[i].len :
		    strlen(encode_cases[i].in);
		uri_encode(&sb, encode_cases[i].in, len, encode_cases[i].keep_slash);
		T_STREQ(sb.data ? sb.data : "", encode_cases[i].want,
		    "uri_encode case %zu (keep_slash %d)", i,
		    encode_cases[i].keep_slash);
	}
	sbuf_free(&sb);
}

/* The definition, a byte at a time: what uri_encode must give. */
static size_t
ref_encode(char *out, const unsigned char *in, size_t len, int keep_slash)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t i, n = 0;

	for (i = 0; i < len; i++) {
		unsigned char c = in[i];
		if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		    c == '-' || c == '.' || c == '_' || c == '~' || (keep_slash && c == '/')) {
			out[n++] = (char)c;
		} else {
			out[n++] = '%';
			out[n++] = hex[c >> 4];
			out[n++] = hex[c & 15];
		}
	}
	out[n] = '\0';
	return n;
}

/*
 * uri_encode against the definition: every byte value at every offset of
 * a 40-byte run, and random strings of every length up to 100, with and
 * without keep_slash.
 */
static void
test_encode_exhaustive(void)
{
	struct sbuf sb = SBUF_INIT;
	unsigned char in[100];
	char want[301];
	unsigned int seed = 11, pos, b, len, k, n;
	size_t bad = 0;
	int ks;

	for (ks = 0; ks <= 1; ks++) {
		for (b = 0; b < 256; b++) {
			for (pos = 0; pos < 40; pos++) {
				memset(in, 'a', 40);
				in[pos] = (unsigned char)b;
				sbuf_reset(&sb);
				uri_encode(&sb, (const char *)in, 40, ks);
				ref_encode(want, in, 40, ks);
				if (strcmp(sb.data, want) != 0 && bad++ < 3)
					printf("# byte 0x%02x at %u: %s\n", b, pos, sb.data);
			}
		}
		for (n = 0; n < 3000; n++) {
			len = n % 101;
			for (k = 0; k < len; k++)	/* mostly kept bytes, as in real names */
				in[k] = rand_r(&seed) % 8 ? (unsigned char)("aZ09-._~/"[rand_r(&seed) % 9]) :
				    (unsigned char)rand_r(&seed);
			sbuf_reset(&sb);
			uri_encode(&sb, (const char *)in, len, ks);
			ref_encode(want, in, len, ks);
			if (strcmp(sb.data ? sb.data : "", want) != 0 && bad++ < 3)
				printf("# random string of %u bytes: %s\n", len, sb.data);
		}
	}
	T_OK(bad == 0, "uri_encode: each byte at 40 offsets and 6000 random strings match the definition");
	sbuf_free(&sb);
}

static void
test_decode(void)
{
	char out[64];
	size_t i;
	long n;

	for (i = 0; i < sizeof(decode_cases) / sizeof(decode_cases[0]); i++) {
		memset(out, 'X', sizeof(out));
		n = uri_decode(out, decode_cases[i].in, strlen(decode_cases[i].in),
		    decode_cases[i].plus_is_space);
		if (decode_cases[i].want == NULL)
			T_OK(n == -1, "uri_decode refuses \"%s\"", decode_cases[i].in);
		else {
			T_OK(n == (long)strlen(decode_cases[i].want),
			    "uri_decode \"%s\" length", decode_cases[i].in);
			T_STREQ(n >= 0 ? out : NULL, decode_cases[i].want,
			    "uri_decode \"%s\"", decode_cases[i].in);
		}
	}
	/* A raw NUL inside the counted input is refused too. */
	T_OK(uri_decode(out, "a\0b", 3, 0) == -1, "uri_decode refuses a raw NUL");
	/* Not NUL-terminated input: only LEN bytes are read. */
	T_OK(uri_decode(out, "ab%41", 2, 0) == 2 && strcmp(out, "ab") == 0,
	    "uri_decode reads only LEN bytes");
	T_OK(uri_decode(out, "ab%4", 4, 0) == -1,
	    "uri_decode: a truncated escape at LEN is refused");
}

static void
test_query_parse(void)
{
	struct query_list ql;
	const struct query_param *qp;
	const char *q = "a=1&b&c=&d=%2F";

	T_OK(query_parse(q, strlen(q), 16, &ql) == 0, "query_parse \"%s\"", q);
	T_OK(ql.count == 4, "four parameters");
	if (ql.count == 4) {
		T_STREQ(ql.params[0].name, "a", "a name");
		T_STREQ(ql.params[0].value, "1", "a value");
		T_OK(ql.params[0].has_value, "a has '='");
		T_STREQ(ql.params[1].name, "b", "b name");
		T_STREQ(ql.params[1].value, "", "b value empty");
		T_OK(!ql.params[1].has_value, "b has no '='");
		T_STREQ(ql.params[2].value, "", "c value empty");
		T_OK(ql.params[2].has_value, "c has '='");
		T_STREQ(ql.params[3].value, "/", "d decoded to '/'");
		T_OK(ql.params[0].name_len == 1 && ql.params[0].value_len == 1 &&
		    ql.params[1].value_len == 0 && ql.params[2].value_len == 0 &&
		    ql.params[3].value_len == 1, "lengths are the decoded lengths");
	}
	qp = query_find(&ql, "c");
	T_OK(qp != NULL && qp == &ql.params[2], "query_find c");
	T_OK(query_find(&ql, "A") == NULL, "query_find is case-sensitive");
	T_OK(query_find(&ql, "e") == NULL, "query_find absent");
	query_free(&ql);
	T_OK(ql.params == NULL && ql.count == 0, "query_free empties the list");
	query_free(&ql);

	q = "p=a+b&%E1%88%B4=x%3Dy=z";
	T_OK(query_parse(q, strlen(q), 16, &ql) == 0 && ql.count == 2,
	    "query_parse '+' and '=' in values");
	if (ql.count == 2) {
		T_STREQ(ql.params[0].value, "a+b", "'+' stays '+' in a query");
		T_STREQ(ql.params[1].name, "\xe1\x88\xb4", "UTF-8 name");
		T_STREQ(ql.params[1].value, "x=y=z", "value holds '='");
		T_OK(ql.params[1].name_len == 3 && ql.params[1].value_len == 5,
		    "decoded UTF-8 name and value lengths");
	}
	query_free(&ql);

	q = "&&a=1&&";
	T_OK(query_parse(q, strlen(q), 1, &ql) == 0 && ql.count == 1,
	    "empty segments are skipped (and not counted against the bound)");
	query_free(&ql);

	T_OK(query_parse("", 0, 4, &ql) == 0 && ql.count == 0, "empty query");
	T_OK(query_parse(NULL, 0, 4, &ql) == 0 && ql.count == 0, "NULL query");
	T_OK(query_parse("a&b&c", 5, 2, &ql) == -1 && ql.count == 0 &&
	    ql.params == NULL, "more than max_params refused");
	T_OK(query_parse("a=1&b=%zz", 9, 8, &ql) == -1 && ql.params == NULL,
	    "malformed escape in a value refused");
	T_OK(query_parse("a=1&%2=b", 8, 8, &ql) == -1, "malformed escape in a name");
	T_OK(query_parse("a=%00", 5, 8, &ql) == -1, "decoded NUL refused");
	T_OK(query_parse("a=1&bX", 5, 8, &ql) == 0 && ql.count == 2 &&
	    strcmp(ql.params[1].name, "b") == 0, "only LEN bytes are read");
	query_free(&ql);
}

static void
check_canonical(const char *raw, const char *const *exclude, const char *want)
{
	struct query_list ql;
	struct sbuf sb = SBUF_INIT;

	if (query_parse(raw, strlen(raw), 64, &ql) == -1) {
		T_OK(0, "query_canonical \"%s\": parse", raw);
		return;
	}
	query_canonical(&sb, &ql, exclude);
	T_STREQ(sb.data ? sb.data : "", want, "query_canonical \"%s\"", raw);
	query_free(&ql);
	sbuf_free(&sb);
}

static void
test_query_canonical(void)
{
	static const char *const excl[] = { "X-Amz-Signature", NULL };

	check_canonical("a=1&b&c=&d=%2F", NULL, "a=1&b=&c=&d=%2F");
	check_canonical("acl", NULL, "acl=");
	check_canonical("uploads", NULL, "uploads=");
	check_canonical("prefix=&delimiter=/", NULL, "delimiter=%2F&prefix=");
	check_canonical("b=2&a=1&a=0", NULL, "a=0&a=1&b=2");
	check_canonical("Param2=value2&Param1=value1", NULL,
	    "Param1=value1&Param2=value2");
	check_canonical("Param-3=Value3&Param=Value2&%E1%88%B4=Value1", NULL,
	    "%E1%88%B4=Value1&Param=Value2&Param-3=Value3");
	/* Sorted on the encoded form: '%' (0x25) sorts before '-' (0x2d). */
	check_canonical("a-b=1&a%20b=2", NULL, "a%20b=2&a-b=1");
	check_canonical("prefix=a+b", NULL, "prefix=a%2Bb");
	check_canonical("prefix=a%20b", NULL, "prefix=a%20b");
	check_canonical("prefix=a%2bb%2fc", NULL, "prefix=a%2Bb%2Fc");
	check_canonical("k=%7e%41", NULL, "k=~A");
	check_canonical("x=1&X-Amz-Signature=abc&X-Amz-Date=2", excl,
	    "X-Amz-Date=2&x=1");
	check_canonical("X-Amz-Signature=abc", excl, "");
	check_canonical("", NULL, "");
	check_canonical("=v", NULL, "=v");
	/* in order, but a name that encoding changes: sorted all the same */
	check_canonical("a=1&b%21=2&b-=3", NULL, "a=1&b%21=2&b-=3");
	check_canonical("a=1&b%7E=2&b%80=3", NULL, "a=1&b%80=3&b~=2");
	/* in order with the same name twice: sorted by value */
	check_canonical("a=2&a=1", NULL, "a=1&a=2");
	/* a security token in a list that turns out unsorted is not left behind */
	check_canonical("X-Amz-Security-Token=t%2Bk&b=1&a=2", NULL,
	    "X-Amz-Security-Token=t%2Bk&a=2&b=1");
}

/* The canonical form of RAW (LEN bytes) with EXCLUDE, or NULL if it does not parse. */
static char *
canonical_of(const char *raw, const char *const *exclude)
{
	struct query_list ql;
	struct sbuf sb = SBUF_INIT;

	if (query_parse(raw, strlen(raw), 64, &ql) == -1)
		return NULL;
	query_canonical(&sb, &ql, exclude);
	query_free(&ql);
	sbuf_appends(&sb, "");	/* "" rather than NULL for an empty form */
	return sbuf_steal(&sb);
}

/* One encoded "name=value" of the reference below, and where its '=' is. */
struct ref_param {
	char	*text;
	size_t	 name_len;
};

static int
ref_cmp(const void *va, const void *vb)
{
	const struct ref_param *a = va, *b = vb;
	size_t n = a->name_len < b->name_len ? a->name_len : b->name_len;
	int r = memcmp(a->text, b->text, n);

	if (r != 0 || a->name_len != b->name_len)
		return r != 0 ? r : (a->name_len > b->name_len) - (a->name_len < b->name_len);
	return strcmp(a->text + a->name_len + 1, b->text + b->name_len + 1);
}

/* The canonical query as SigV4 defines it, the plain way: encode all, sort, join. */
static char *
reference_canonical(const char *raw, const char *const *exclude)
{
	struct ref_param v[64];
	struct query_list ql;
	struct sbuf sb = SBUF_INIT, one;
	size_t i, k, n = 0;

	if (query_parse(raw, strlen(raw), 64, &ql) == -1)
		return NULL;
	for (i = 0; i < ql.count; i++) {
		for (k = 0; exclude != NULL && exclude[k] != NULL; k++)
			if (strcmp(exclude[k], ql.params[i].name) == 0)
				break;
		if (exclude != NULL && exclude[k] != NULL)
			continue;
		one = (struct sbuf)SBUF_INIT;
		uri_encode(&one, ql.params[i].name, strlen(ql.params[i].name), 0);
		v[n].name_len = one.len;
		sbuf_appendc(&one, '=');
		uri_encode(&one, ql.params[i].value, strlen(ql.params[i].value), 0);
		v[n++].text = sbuf_steal(&one);
	}
	qsort(v, n, sizeof(v[0]), ref_cmp);
	sbuf_appends(&sb, "");
	for (i = 0; i < n; i++) {
		if (i > 0)
			sbuf_appendc(&sb, '&');
		sbuf_appends(&sb, v[i].text);
		free(v[i].text);
	}
	query_free(&ql);
	return sbuf_steal(&sb);
}

/*
 * query_canonical takes a short way for the usual query (plain, distinct
 * names: sorted as they are, values encoded straight out) and the long
 * way otherwise: both must give what the definition gives.  Random
 * queries over names and values chosen to hit both ways and every edge
 * between them (names encoding changes, names repeated, escapes in either
 * case, '+', '/', parameters without '='), in random order.
 */
static void
test_query_canonical_random(void)
{
	static const char *const names[] = { "a", "b", "X-Amz-Date", "X-Amz-Signature",
	    "X-Amz-Security-Token", "list-type", "a%20b", "a-b", "%7E", "~", "a+", "",
	    "Z", "prefix", "%C3%BC", "b%7e", "b%80" };
	static const char *const values[] = { "", "1", "a%2Fb", "a/b", "a+b", "%e2%82%ac",
	    "~x", "A", "%41", "2" };
	static const char *const excl[] = { "X-Amz-Signature", "a", NULL };
	char raw[512], *got, *want;
	int iter, i, n, bad = 0;

	srandom(11);
	for (iter = 0; iter < 5000; iter++) {
		n = 1 + (int)(random() % 8);
		raw[0] = '\0';
		for (i = 0; i < n; i++) {
			if (i > 0)
				strcat(raw, "&");
			strcat(raw, names[random() % (sizeof(names) / sizeof(names[0]))]);
			if (random() % 5 != 0) {
				strcat(raw, "=");
				strcat(raw, values[random() % (sizeof(values) / sizeof(values[0]))]);
			}
		}
		got = canonical_of(raw, iter % 2 ? excl : NULL);
		want = reference_canonical(raw, iter % 2 ? excl : NULL);
		if (got == NULL || want == NULL || strcmp(got, want) != 0) {
			if (bad++ < 5)
				printf("#   \"%s\": got \"%s\", want \"%s\"\n", raw,
				    got ? got : "(null)", want ? want : "(null)");
		}
		free(got);
		free(want);
	}
	T_OK(bad == 0, "query_canonical: 5000 random queries, as the definition gives");
}

/*
 * A connection parses each request's query into the same list: the block
 * is used again for a query that fits, replaced for a longer one, and
 * nothing of the previous request's values is left to read.
 */
static void
test_parse_again(void)
{
	struct query_list ql = { NULL, 0, 0, 0 };
	const char *long_q = "X-Amz-Security-Token=0123456789abcdef0123456789abcdef&a=1&b=2&c=3";
	void *block;
	size_t cap;

	T_OK(query_parse_again(long_q, strlen(long_q), 16, &ql) == 0 && ql.count == 4 &&
	    ql.cap >= ql.size && ql.size > 0, "parse_again: a first query allocates its block");
	block = ql.params;
	cap = ql.cap;
	query_clear(&ql);
	T_OK(ql.count == 0 && ql.size == 0 && ql.params == block && ql.cap == cap,
	    "parse_again: query_clear keeps the block, empties the list");
	T_OK(memmem(block, cap, "0123456789abcdef", 16) == NULL,
	    "parse_again: query_clear wipes the values (a token is no longer in the block)");
	T_OK(query_parse_again("acl", 3, 16, &ql) == 0 && ql.params == block && ql.count == 1 &&
	    strcmp(ql.params[0].name, "acl") == 0 && !ql.params[0].has_value,
	    "parse_again: a shorter query reuses the block");
	query_clear(&ql);
	T_OK(query_parse_again(NULL, 0, 16, &ql) == 0 && ql.count == 0 && ql.params == block,
	    "parse_again: no query, an empty list, the block kept");
	T_OK(query_parse_again(long_q, strlen(long_q), 2, &ql) == -1 && ql.count == 0,
	    "parse_again: over max_params refused");
	T_OK(query_parse_again("a=%zz", 5, 16, &ql) == -1 && ql.params == NULL && ql.cap == 0,
	    "parse_again: a malformed escape frees the block (it may hold a token)");
	T_OK(query_parse_again(long_q, strlen(long_q), 16, &ql) == 0 && ql.count == 4 &&
	    strcmp(ql.params[3].value, "3") == 0, "parse_again: parses again after a failure");
	query_free(&ql);
	T_OK(ql.params == NULL && ql.cap == 0 && ql.count == 0, "parse_again: query_free releases it");
}

int
main(void)
{
	test_encode();
	test_encode_exhaustive();
	test_parse_again();
	test_decode();
	test_query_parse();
	test_query_canonical();
	test_query_canonical_random();
	return T_DONE();
}
