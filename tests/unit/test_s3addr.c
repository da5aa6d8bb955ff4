/*
 * test_s3addr: which bucket and key a request names (proxy/s3addr.h).
 *
 * The rule under test: the decision is made on exactly what the backend
 * gets.  For every accepted address, s3addr_backend_path() decoded once
 * must give back "/" + bucket + "/" + key, byte for byte.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proxy/s3addr.h"
#include "proxy/sbuf.h"
#include "proxy/uri.h"
#include "tests/unit/testlib.h"

static char *const domains[] = { "s3.example.org", "s3.eu.example.org", "localhost" };
#define NDOMAINS	((int)(sizeof(domains) / sizeof(domains[0])))

#define OK_	S3ERR_NONE
#define NOFIELDS NULL, NULL, 0, NULL, 0, NULL, NULL

static const struct {
	const char	*target;
	const char	*host;		/* NULL: no Host header */
	enum s3err	 want_err;	/* S3ERR_NONE: accepted */
	const char	*bucket;	/* NULL: none */
	const char	*key;		/* NULL: none */
	int		 internal;
	const char	*internal_path;
	int		 virtual_host;
	const char	*query;		/* NULL: no '?' */
	const char	*backend_path;	/* NULL: not checked */
} cases[] = {
	/* path style */
	{ "/", "s3.example.org", OK_, NULL, NULL, 0, NULL, 0, NULL, "/" },
	{ "/bucket", "s3.example.org", OK_, "bucket", NULL, 0, NULL, 0, NULL, "/bucket" },
	{ "/bucket/", "s3.example.org", OK_, "bucket", NULL, 0, NULL, 0, NULL, "/bucket" },
	{ "/bucket/key", "s3.example.org", OK_, "bucket", "key", 0, NULL, 0, NULL, "/bucket/key" },
	{ "/bucket/a/b/c.txt", NULL, OK_, "bucket", "a/b/c.txt", 0, NULL, 0, NULL, "/bucket/a/b/c.txt" },
	{ "/ws-frank-stagein/data.csv", "127.0.0.1:8080", OK_, "ws-frank-stagein", "data.csv", 0, NULL, 0,
	  NULL, NULL },
	{ "/my.bucket.1/k", "s3.example.org", OK_, "my.bucket.1", "k", 0, NULL, 0, NULL, NULL },
	/* keys are data: no normalisation */
	{ "/bucket//key", NULL, OK_, "bucket", "/key", 0, NULL, 0, NULL, "/bucket//key" },
	{ "/bucket/a//b//", NULL, OK_, "bucket", "a//b//", 0, NULL, 0, NULL, "/bucket/a//b//" },
	{ "/bucket/../x", NULL, OK_, "bucket", "../x", 0, NULL, 0, NULL, "/bucket/../x" },
	{ "/bucket/./a/../b/.", NULL, OK_, "bucket", "./a/../b/.", 0, NULL, 0, NULL, NULL },
	{ "/bucket/..", NULL, OK_, "bucket", "..", 0, NULL, 0, NULL, "/bucket/.." },
	{ "/bucket/a%2Fb", NULL, OK_, "bucket", "a/b", 0, NULL, 0, NULL, "/bucket/a/b" },
	{ "/bucket/a%2fb%2F%2F", NULL, OK_, "bucket", "a/b//", 0, NULL, 0, NULL, NULL },
	/* decoding happens before the split: "%2F" may end the bucket name */
	{ "/bucket%2Fkey", NULL, OK_, "bucket", "key", 0, NULL, 0, NULL, "/bucket/key" },
	{ "/a%2Fb", NULL, S3ERR_INVALID_BUCKET_NAME, NOFIELDS },
	{ "/bucket/a+b", NULL, OK_, "bucket", "a+b", 0, NULL, 0, NULL, "/bucket/a%2Bb" },
	{ "/bucket/a%2Bb", NULL, OK_, "bucket", "a+b", 0, NULL, 0, NULL, "/bucket/a%2Bb" },
	{ "/bucket/a%20b", NULL, OK_, "bucket", "a b", 0, NULL, 0, NULL, "/bucket/a%20b" },
	{ "/bucket/%25", NULL, OK_, "bucket", "%", 0, NULL, 0, NULL, "/bucket/%25" },
	{ "/bucket/%2525", NULL, OK_, "bucket", "%25", 0, NULL, 0, NULL, "/bucket/%2525" },
	{ "/bucket/%C3%A9t%C3%A9/%E2%82%AC", NULL, OK_, "bucket", "\xc3\xa9t\xc3\xa9/\xe2\x82\xac", 0,
	  NULL, 0, NULL, "/bucket/%C3%A9t%C3%A9/%E2%82%AC" },
	{ "/bucket/%c3%a9", NULL, OK_, "bucket", "\xc3\xa9", 0, NULL, 0, NULL, "/bucket/%C3%A9" },
	{ "/bucket/~a_b-c.d", NULL, OK_, "bucket", "~a_b-c.d", 0, NULL, 0, NULL, "/bucket/~a_b-c.d" },
	{ "/bucket/a;b=c,d@e:f", NULL, OK_, "bucket", "a;b=c,d@e:f", 0, NULL, 0, NULL,
	  "/bucket/a%3Bb%3Dc%2Cd%40e%3Af" },
	/* query */
	{ "/bucket?list-type=2&prefix=a%2F", NULL, OK_, "bucket", NULL, 0, NULL, 0,
	  "list-type=2&prefix=a%2F", "/bucket" },
	{ "/bucket/key?uploads", NULL, OK_, "bucket", "key", 0, NULL, 0, "uploads", NULL },
	{ "/bucket/key?", NULL, OK_, "bucket", "key", 0, NULL, 0, "", NULL },
	{ "/?x-id=ListBuckets", NULL, OK_, NULL, NULL, 0, NULL, 0, "x-id=ListBuckets", "/" },
	{ "/bucket/a%3Fb?c", NULL, OK_, "bucket", "a?b", 0, NULL, 0, "c", "/bucket/a%3Fb" },
	{ "/bucket/k?%zz", NULL, OK_, "bucket", "k", 0, NULL, 0, "%zz", NULL },	/* query is not ours */
	/* virtual-hosted style */
	{ "/", "bucket.s3.example.org", OK_, "bucket", NULL, 0, NULL, 1, NULL, "/bucket" },
	{ "/key", "bucket.s3.example.org", OK_, "bucket", "key", 0, NULL, 1, NULL, "/bucket/key" },
	{ "/a/b", "bucket.s3.example.org:8443", OK_, "bucket", "a/b", 0, NULL, 1, NULL, NULL },
	{ "/k", "Bucket.S3.Example.ORG", OK_, "bucket", "k", 0, NULL, 1, NULL, NULL },
	{ "/k", "bucket.s3.example.org.", OK_, "bucket", "k", 0, NULL, 1, NULL, NULL },
	{ "/k", "bucket.s3.example.org.:443", OK_, "bucket", "k", 0, NULL, 1, NULL, NULL },
	{ "/k", "my.dotted.bucket.s3.eu.example.org", OK_, "my.dotted.bucket", "k", 0, NULL, 1, NULL, NULL },
	{ "/k", "bucket.localhost:8080", OK_, "bucket", "k", 0, NULL, 1, NULL, NULL },
	{ "//k", "bucket.s3.example.org", OK_, "bucket", "/k", 0, NULL, 1, NULL, "/bucket//k" },
	{ "/other/k", "bucket.s3.example.org", OK_, "bucket", "other/k", 0, NULL, 1, NULL,
	  "/bucket/other/k" },
	{ "/k?versionId=3", "bucket.s3.example.org", OK_, "bucket", "k", 0, NULL, 1, "versionId=3", NULL },
	{ "/k", "Bad_Bucket.s3.example.org", S3ERR_INVALID_BUCKET_NAME, NOFIELDS },
	{ "/k", "ab.s3.example.org", S3ERR_INVALID_BUCKET_NAME, NOFIELDS },
	/* not a service domain: path style */
	{ "/bucket/k", "s3.example.org:8080", OK_, "bucket", "k", 0, NULL, 0, NULL, NULL },
	{ "/bucket/k", "bucket.example.com", OK_, "bucket", "k", 0, NULL, 0, NULL, NULL },
	{ "/bucket/k", "bucket.xs3.example.org", OK_, "bucket", "k", 0, NULL, 0, NULL, NULL },
	{ "/bucket/k", "s3.example.org.evil.com", OK_, "bucket", "k", 0, NULL, 0, NULL, NULL },
	{ "/bucket/k", "[::1]:8080", OK_, "bucket", "k", 0, NULL, 0, NULL, NULL },
	{ "/bucket/k", "", OK_, "bucket", "k", 0, NULL, 0, NULL, NULL },
	{ "/bucket/k", ".s3.example.org", OK_, "bucket", "k", 0, NULL, 0, NULL, NULL },
	/* bad escapes and NUL */
	{ "/bucket/%00", NULL, S3ERR_INVALID_URI, NOFIELDS },
	{ "/bucket/a%00b", NULL, S3ERR_INVALID_URI, NOFIELDS },
	{ "/bucket/%", NULL, S3ERR_INVALID_URI, NOFIELDS },
	{ "/bucket/%2", NULL, S3ERR_INVALID_URI, NOFIELDS },
	{ "/bucket/%zz", NULL, S3ERR_INVALID_URI, NOFIELDS },
	{ "/bucket/%G0", NULL, S3ERR_INVALID_URI, NOFIELDS },
	{ "/bu%", NULL, S3ERR_INVALID_URI, NOFIELDS },
	/* invalid bucket names */
	{ "/Bucket/k", NULL, S3ERR_INVALID_BUCKET_NAME, NOFIELDS },
	{ "/BUCKET", NULL, S3ERR_INVALID_BUCKET_NAME, NOFIELDS },
	{ "/ab/k", NULL, S3ERR_INVALID_BUCKET_NAME, NOFIELDS },
	{ "/a/k", NULL, S3ERR_INVALID_BUCKET_NAME, NOFIELDS },
	{ "/-bucket/k", NULL, S3ERR_INVALID_BUCKET_NAME, NOFIELDS },
	{ "/bucket-/k", NULL, S3ERR_INVALID_BUCKET_NAME, NOFIELDS },
	{ "/.bucket/k", NULL, S3ERR_INVALID_BUCKET_NAME, NOFIELDS },
	{ "/my..bucket/k", NULL, S3ERR_INVALID_BUCKET_NAME, NOFIELDS },
	{ "/../k", NULL, S3ERR_INVALID_BUCKET_NAME, NOFIELDS },
	{ "/./k", NULL, S3ERR_INVALID_BUCKET_NAME, NOFIELDS },
	{ "/..", NULL, S3ERR_INVALID_BUCKET_NAME, NOFIELDS },
	{ "/buc_ket/k", NULL, S3ERR_INVALID_BUCKET_NAME, NOFIELDS },
	{ "/buc%20ket/k", NULL, S3ERR_INVALID_BUCKET_NAME, NOFIELDS },
	{ "/b%C3%BCcket/k", NULL, S3ERR_INVALID_BUCKET_NAME, NOFIELDS },
	{ "//bucket/k", NULL, S3ERR_INVALID_BUCKET_NAME, NOFIELDS },	/* empty bucket name */
	/* names RGW routes to its admin and Swift APIs */
	{ "/admin/user", NULL, S3ERR_INVALID_BUCKET_NAME, NOFIELDS },
	{ "/admin", NULL, S3ERR_INVALID_BUCKET_NAME, NOFIELDS },
	{ "/swift/v1", NULL, S3ERR_INVALID_BUCKET_NAME, NOFIELDS },
	{ "/auth/1.0", NULL, S3ERR_INVALID_BUCKET_NAME, NOFIELDS },
	{ "/user", "admin.s3.example.org", S3ERR_INVALID_BUCKET_NAME, NOFIELDS },
	{ "/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa/k", NULL,
	  S3ERR_INVALID_BUCKET_NAME, NOFIELDS },	/* 64 */
	{ "/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa/k", NULL, OK_,
	  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "k", 0, NULL, 0, NULL,
	  NULL },	/* 63 */
	/* the proxy's namespace: decided on the raw path */
	{ "/_s3gate/presign", NULL, OK_, NULL, NULL, 1, "presign", 0, NULL, NULL },
	{ "/_s3gate/presign/abc%2Fdef", NULL, OK_, NULL, NULL, 1, "presign/abc/def", 0, NULL, NULL },
	{ "/_s3gate/access?x=1", "bucket.s3.example.org", OK_, NULL, NULL, 1, "access", 0, "x=1", NULL },
	{ "/_s3gate/", NULL, OK_, NULL, NULL, 1, "", 0, NULL, NULL },
	{ "/%5Fs3gate/x", NULL, S3ERR_INVALID_BUCKET_NAME, NOFIELDS },
	{ "/%5fs3gate/presign", NULL, S3ERR_INVALID_BUCKET_NAME, NOFIELDS },
	{ "/_s3gate%2Fpresign", NULL, S3ERR_INVALID_BUCKET_NAME, NOFIELDS },
	{ "/_s3gate", NULL, S3ERR_INVALID_BUCKET_NAME, NOFIELDS },
	{ "/_S3GATE/presign", NULL, S3ERR_INVALID_BUCKET_NAME, NOFIELDS },
	{ "/_s3gate/%00", NULL, S3ERR_INVALID_URI, NOFIELDS },
	/* request-target forms that are not S3 */
	{ "http://s3.example.org/bucket/key", NULL, S3ERR_INVALID_URI, NOFIELDS },
	{ "https://bucket.s3.example.org/key", "bucket.s3.example.org", S3ERR_INVALID_URI, NOFIELDS },
	{ "*", NULL, S3ERR_INVALID_URI, NOFIELDS },
	{ "s3.example.org:443", NULL, S3ERR_INVALID_URI, NOFIELDS },
	{ "", NULL, S3ERR_INVALID_URI, NOFIELDS },
	{ "bucket/key", NULL, S3ERR_INVALID_URI, NOFIELDS },
};

/* What the backend gets, decoded once: "/bucket/key" of the address. */
static int
backend_roundtrip(const struct s3addr *a, char **backend, char **why)
{
	struct sbuf sb = SBUF_INIT, want = SBUF_INIT;
	char *dec;
	long n;
	int ok;

	s3addr_backend_path(a, &sb);
	*backend = strdup(sb.data);
	dec = malloc(sb.len + 1);
	n = uri_decode(dec, sb.data, sb.len, 0);
	sbuf_appendc(&want, '/');
	if (a->bucket != NULL) {
		sbuf_appends(&want, a->bucket);
		if (a->key != NULL) {
			sbuf_appendc(&want, '/');
			sbuf_appends(&want, a->key);
		}
	}
	ok = n >= 0 && (size_t)n == want.len && memcmp(dec, want.data, want.len) == 0;
	*why = ok ? NULL : strdup(want.data);
	free(dec);
	sbuf_free(&sb);
	sbuf_free(&want);
	return ok;
}

static void
test_cases(void)
{
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct s3addr a;
		enum s3err err = S3ERR_NONE;
		const char *t = cases[i].target, *host = cases[i].host;
		char *backend, *why;
		int rc;

		rc = s3addr_parse(t, strlen(t), host, host ? strlen(host) : 0, domains, NDOMAINS, &a, &err);
		if (cases[i].want_err != S3ERR_NONE) {
			T_OK(rc == -1 && err == cases[i].want_err, "\"%s\" (Host %s): error %d (got rc %d, %d)",
			    t, host ? host : "-", cases[i].want_err, rc, err);
			if (rc == 0)
				s3addr_free(&a);
			continue;
		}
		T_OK(rc == 0, "\"%s\" (Host %s): accepted (err %d)", t, host ? host : "-", err);
		if (rc != 0)
			continue;
		T_STREQ(a.bucket, cases[i].bucket, "\"%s\": bucket", t);
		T_STREQ(a.key, cases[i].key, "\"%s\": key", t);
		T_OK(!!a.internal == cases[i].internal, "\"%s\": internal %d", t, a.internal);
		T_STREQ(a.internal_path, cases[i].internal_path, "\"%s\": internal path", t);
		if (!cases[i].internal)
			T_OK(!!a.virtual_host == cases[i].virtual_host, "\"%s\": virtual_host %d", t,
			    a.virtual_host);
		if (cases[i].query == NULL)
			T_OK(a.raw_query == NULL, "\"%s\": no query", t);
		else
			T_OK(a.raw_query != NULL && a.raw_query_len == strlen(cases[i].query) &&
			    memcmp(a.raw_query, cases[i].query, a.raw_query_len) == 0, "\"%s\": query", t);
		T_OK(a.raw_path == t && a.raw_path_len ==
		    (cases[i].query ? strlen(t) - strlen(cases[i].query) - 1 : strlen(t)),
		    "\"%s\": raw_path points into the target", t);
		if (!cases[i].internal) {
			int ok = backend_roundtrip(&a, &backend, &why);
			T_OK(ok, "\"%s\": backend path \"%s\" decodes to what the policy sees", t, backend);
			if (!ok)
				printf("#   want decoded: \"%s\"\n", why);
			if (cases[i].backend_path != NULL)
				T_STREQ(backend, cases[i].backend_path, "\"%s\": backend path", t);
			free(backend);
			free(why);
		}
		s3addr_free(&a);
		s3addr_free(&a);	/* idempotent */
	}
}

/* Raw UTF-8 and other bytes that llhttp may pass are kept as data. */
static void
test_raw_bytes(void)
{
	static const char t[] = "/bucket/\xc3\xa9 t\xe2\x82\xac";
	struct s3addr a;
	enum s3err err;
	char *backend, *why;

	T_OK(s3addr_parse(t, strlen(t), NULL, 0, domains, NDOMAINS, &a, &err) == 0, "raw UTF-8: accepted");
	T_STREQ(a.key, "\xc3\xa9 t\xe2\x82\xac", "raw UTF-8: key");
	T_OK(backend_roundtrip(&a, &backend, &why), "raw UTF-8: backend path round trip");
	T_STREQ(backend, "/bucket/%C3%A9%20t%E2%82%AC", "raw UTF-8: backend path encoded");
	free(backend);
	free(why);
	s3addr_free(&a);

	/* the target length is respected: no reading past it, no NUL needed */
	{
		char *p = malloc(11);
		memcpy(p, "/bucket/key", 11);
		T_OK(s3addr_parse(p, 11, "bucket.s3.example.org", 13, domains, NDOMAINS, &a, &err) == 0 &&
		    a.virtual_host == 0 && strcmp(a.key, "key") == 0,
		    "unterminated target and Host prefix \"bucket.s3.exa\": path style");
		s3addr_free(&a);
		T_OK(s3addr_parse(p, 7, NULL, 0, domains, NDOMAINS, &a, &err) == 0 &&
		    strcmp(a.bucket, "bucket") == 0 && a.key == NULL, "target length 7: just the bucket");
		s3addr_free(&a);
		free(p);
	}
}

static void
test_bucket_valid(void)
{
	static const struct { const char *b; int ok; } v[] = {
		{ "abc", 1 }, { "ws-frank", 1 }, { "a.b.c", 1 }, { "0bucket9", 1 }, { "ws-frank-stagein", 1 },
		{ "ab", 0 }, { "", 0 }, { "Abc", 0 }, { "abC", 0 }, { "-abc", 0 }, { "abc-", 0 },
		{ ".abc", 0 }, { "abc.", 0 }, { "a..b", 0 }, { "a_b", 0 }, { "a b", 0 }, { "_s3gate", 0 },
		{ "a/b", 0 },
	};
	size_t i;

	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++)
		T_OK(s3addr_bucket_valid(v[i].b) == v[i].ok, "bucket_valid(\"%s\") == %d", v[i].b, v[i].ok);
}

/* backend_reserved_names: a backend configured otherwise than RGW's defaults */
static void
test_reserved(void)
{
	char *mine[] = { "rgw-admin", "objswift" };
	struct s3addr a;
	enum s3err err = S3ERR_NONE;

	T_OK(s3addr_bucket_reserved("admin") && s3addr_bucket_reserved("auth") &&
	    s3addr_bucket_reserved("swift") && !s3addr_bucket_reserved("rgw-admin"),
	    "RGW's defaults until the config names others");
	s3addr_set_reserved(mine, 2);
	T_OK(!s3addr_bucket_valid("rgw-admin") && !s3addr_bucket_valid("objswift") &&
	    s3addr_bucket_valid("admin") && s3addr_bucket_valid("swift"),
	    "the config's names replace the defaults");
	T_OK(s3addr_parse("/rgw-admin/user", 15, NULL, 0, NULL, 0, &a, &err) == -1 &&
	    err == S3ERR_INVALID_BUCKET_NAME, "a request to a configured name is refused (InvalidBucketName)");
	s3addr_set_reserved(NULL, 0);
	T_OK(s3addr_bucket_valid("admin") && s3addr_bucket_valid("rgw-admin"), "none: every name is a bucket's");
	s3addr_set_reserved(NULL, -1);
	T_OK(!s3addr_bucket_valid("admin") && s3addr_bucket_valid("rgw-admin"), "and back to the defaults");
}

/*
 * In s3gate the target and the Host point into the head buffer: nothing
 * after them is a NUL.  Exactly-sized buffers without a terminator make
 * ASan catch a parser that reads past the lengths it was given.
 */
static void
test_unterminated(void)
{
	static const char host_s[] = "ws-x.s3.example.org:8080", target_s[] = "/dir/key?list-type=2";
	char *host = malloc(sizeof(host_s) - 1), *target = malloc(sizeof(target_s) - 1);
	struct s3addr a;
	enum s3err err;

	memcpy(host, host_s, sizeof(host_s) - 1);
	memcpy(target, target_s, sizeof(target_s) - 1);
	T_OK(s3addr_parse(target, sizeof(target_s) - 1, host, sizeof(host_s) - 1, domains, NDOMAINS,
	    &a, &err) == 0 && a.bucket != NULL && strcmp(a.bucket, "ws-x") == 0 &&
	    a.key != NULL && strcmp(a.key, "dir/key") == 0,
	    "unterminated Host and target: bucket and key within the given lengths");
	s3addr_free(&a);
	free(host);
	free(target);
}

/*
 * A connection parses each request's address into the same s3addr: its
 * block is used again for a path that fits and replaced for a longer one.
 */
static void
test_parse_again(void)
{
	struct s3addr a;
	enum s3err err;
	const char *t1 = "/bucket-one/a/long/key/name.bin", *t2 = "/bb2/k", *t3 = "/k?x=1";
	const char *h3 = "vhost.s3.example.org";
	void *block;

	memset(&a, 0, sizeof(a));
	T_OK(s3addr_parse_again(t1, strlen(t1), NULL, 0, domains, 3, &a, &err) == 0 &&
	    strcmp(a.bucket, "bucket-one") == 0 && strcmp(a.key, "a/long/key/name.bin") == 0,
	    "parse_again: path style");
	block = a.storage;
	s3addr_clear(&a);
	T_OK(a.storage == block && a.bucket == NULL && a.key == NULL && a.raw_path == NULL,
	    "parse_again: s3addr_clear keeps the block, forgets the address");
	T_OK(s3addr_parse_again(t2, strlen(t2), NULL, 0, domains, 3, &a, &err) == 0 &&
	    a.storage == block && strcmp(a.bucket, "bb2") == 0 && strcmp(a.key, "k") == 0,
	    "parse_again: a shorter address reuses the block");
	s3addr_clear(&a);
	T_OK(s3addr_parse_again(t3, strlen(t3), h3, strlen(h3), domains, 3, &a, &err) == 0 &&
	    a.virtual_host && strcmp(a.bucket, "vhost") == 0 && strcmp(a.key, "k") == 0 &&
	    a.raw_query != NULL && a.raw_query_len == 3, "parse_again: virtual-hosted after path style");
	s3addr_clear(&a);
	T_OK(s3addr_parse_again("/Bad_Bucket/k", 13, NULL, 0, domains, 3, &a, &err) == -1 &&
	    err == S3ERR_INVALID_BUCKET_NAME && a.storage == NULL && a.storage_size == 0,
	    "parse_again: a refused address frees the block");
	T_OK(s3addr_parse_again(t1, strlen(t1), NULL, 0, domains, 3, &a, &err) == 0 &&
	    strcmp(a.key, "a/long/key/name.bin") == 0, "parse_again: parses again after a refusal");
	s3addr_free(&a);
	T_OK(a.storage == NULL && a.storage_size == 0, "parse_again: s3addr_free releases it");
}

int
main(void)
{
	test_cases();
	test_unterminated();
	test_raw_bytes();
	test_bucket_valid();
	test_reserved();
	test_parse_again();
	return T_DONE();
}
