/*
 * sigv4: AWS Signature Version 4 for S3 (see sigv4.h).
 *
 * Everything that reads the request runs before the caller is known and
 * will be fuzzed: input is (pointer, length), never assumed NUL-terminated;
 * every field copied into struct sigv4_auth is length-checked and refused
 * when too long, never truncated.  Secrets and derived keys are wiped
 * after use.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

/* SHA256_Init() and friends: see "hashing" below */
#define OPENSSL_SUPPRESS_DEPRECATED
#include <openssl/crypto.h>
#include <openssl/sha.h>

#include "proxy/sigv4.h"

#define SIGV4_TERMINATOR	"aws4_request"
#define SIGV4_SERVICE_S3	"s3"

static const char *const sigv4_status_strs[] = {
	[SIGV4_OK] = "OK",
	[SIGV4_ANONYMOUS] = "Request is not signed",
	[SIGV4_V2] = "Signature Version 2 is not supported; use AWS4-HMAC-SHA256",
	[SIGV4_HEADER_MALFORMED] = "The authorization header is malformed",
	[SIGV4_QUERY_MALFORMED] = "The authorization query parameters are malformed",
	[SIGV4_BAD_ALGORITHM] = "The authorization mechanism is not supported; use AWS4-HMAC-SHA256",
	[SIGV4_MISSING_DATE] = "AWS authentication requires a valid Date or x-amz-date header",
	[SIGV4_MISSING_CONTENT_SHA256] = "Missing required header for this request: x-amz-content-sha256",
	[SIGV4_BAD_CONTENT_SHA256] = "x-amz-content-sha256 must be UNSIGNED-PAYLOAD, STREAMING-* or a hex SHA-256",
	[SIGV4_HOST_NOT_SIGNED] = "The host header must be signed",
	[SIGV4_WRONG_REGION] = "The authorization region is wrong for this endpoint",
	[SIGV4_WRONG_SERVICE] = "The authorization service must be s3",
	[SIGV4_SCOPE_DATE] = "The credential scope date does not match the request date",
	[SIGV4_SKEWED] = "The difference between the request time and the current time is too large",
	[SIGV4_NOT_YET_VALID] = "Request is not valid yet",
	[SIGV4_EXPIRED] = "Request has expired",
	[SIGV4_EXPIRES_TOO_LONG] = "X-Amz-Expires must be between 1 and 604800 seconds",
	[SIGV4_MISMATCH] = "The request signature we calculated does not match the signature you provided",
	[SIGV4_HEADERS_NOT_SIGNED] = "There were headers present in the request which were not signed",
};

const char *
sigv4_status_str(enum sigv4_status st)
{
	if ((size_t)st >= sizeof(sigv4_status_strs) / sizeof(sigv4_status_strs[0]) ||
	    sigv4_status_strs[st] == NULL)
		return "Unknown signature error";
	return sigv4_status_strs[st];
}

/* ---- small helpers on (pointer, length) strings ---- */

static int
sigv4_is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static void
sigv4_trim(const char **s, size_t *len)
{
	while (*len > 0 && sigv4_is_space(**s)) {
		(*s)++;
		(*len)--;
	}
	while (*len > 0 && sigv4_is_space((*s)[*len - 1]))
		(*len)--;
}

static int
sigv4_lower(int c)
{
	return c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c;
}

/* Case-insensitive equality of a counted string with a lower-case C string. */
static int
sigv4_name_eq(const char *s, size_t len, const char *lower)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (lower[i] == '\0' || sigv4_lower((unsigned char)s[i]) != lower[i])
			return 0;
	return lower[len] == '\0';
}

static int
sigv4_eq(const char *s, size_t len, const char *lit)
{
	return strlen(lit) == len && memcmp(s, lit, len) == 0;
}

/*
 * Copies LEN bytes into DST of SIZE bytes with a NUL.  Refuses (-1) an
 * empty field, one that does not fit, or one with bytes outside 0x21-0x7e:
 * these fields end up in logs and in the string to sign.
 */
static int
sigv4_copy_field(char *dst, size_t size, const char *src, size_t len)
{
	size_t i;

	if (len == 0 || len >= size)
		return -1;
	for (i = 0; i < len; i++)
		if ((unsigned char)src[i] < 0x21 || (unsigned char)src[i] > 0x7e)
			return -1;
	memcpy(dst, src, len);
	dst[len] = '\0';
	return 0;
}

static int
sigv4_all_digits(const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (s[i] < '0' || s[i] > '9')
			return 0;
	return 1;
}

/* 1 for 0-9 a-f. */
static const unsigned char sigv4_lower_hex_class[256] = {
	['0'] = 1, ['1'] = 1, ['2'] = 1, ['3'] = 1, ['4'] = 1,
	['5'] = 1, ['6'] = 1, ['7'] = 1, ['8'] = 1, ['9'] = 1,
	['a'] = 1, ['b'] = 1, ['c'] = 1, ['d'] = 1, ['e'] = 1, ['f'] = 1,
};

static int
sigv4_is_lower_hex(const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (!sigv4_lower_hex_class[(unsigned char)s[i]])
			return 0;
	return 1;
}

/* Lower-case hex of every byte value, two characters each. */
static const char sigv4_hex_pairs[] =
	"000102030405060708090a0b0c0d0e0f"
	"101112131415161718191a1b1c1d1e1f"
	"202122232425262728292a2b2c2d2e2f"
	"303132333435363738393a3b3c3d3e3f"
	"404142434445464748494a4b4c4d4e4f"
	"505152535455565758595a5b5c5d5e5f"
	"606162636465666768696a6b6c6d6e6f"
	"707172737475767778797a7b7c7d7e7f"
	"808182838485868788898a8b8c8d8e8f"
	"909192939495969798999a9b9c9d9e9f"
	"a0a1a2a3a4a5a6a7a8a9aaabacadaeaf"
	"b0b1b2b3b4b5b6b7b8b9babbbcbdbebf"
	"c0c1c2c3c4c5c6c7c8c9cacbcccdcecf"
	"d0d1d2d3d4d5d6d7d8d9dadbdcdddedf"
	"e0e1e2e3e4e5e6e7e8e9eaebecedeeef"
	"f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff";

void
sigv4_hex(const unsigned char *in, size_t len, char *out)
{
	size_t i;

	for (i = 0; i < len; i++)
		memcpy(out + 2 * i, sigv4_hex_pairs + 2 * in[i], 2);
	out[2 * len] = '\0';
}

/* ---- dates ---- */

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm). */
static long
sigv4_days_from_civil(long y, long m, long d)
{
	long era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static long
sigv4_num(const char *s, size_t len)
{
	long n = 0;
	size_t i;

	for (i = 0; i < len; i++)
		n = n * 10 + (s[i] - '0');
	return n;
}

static int
sigv4_make_time(long y, long mo, long d, long h, long mi, long s, time_t *out)
{
	static const int mdays[] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	int leap;

	if (y < 1970 || y > 9999 || mo < 1 || mo > 12 || d < 1 || h > 23 ||
	    mi > 59 || s > 59)
		return -1;
	leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
	if (d > mdays[mo - 1] || (mo == 2 && d == 29 && !leap))
		return -1;
	*out = (time_t)sigv4_days_from_civil(y, mo, d) * 86400 + h * 3600 +
	    mi * 60 + s;
	return 0;
}

/* YYYYMMDDTHHMMSSZ, strictly. */
static int
sigv4_parse_amz_date(const char *s, size_t len, char amz_date[17], time_t *t)
{
	if (len != 16 || !sigv4_all_digits(s, 8) || s[8] != 'T' ||
	    !sigv4_all_digits(s + 9, 6) || s[15] != 'Z')
		return -1;
	if (sigv4_make_time(sigv4_num(s, 4), sigv4_num(s + 4, 2),
	    sigv4_num(s + 6, 2), sigv4_num(s + 9, 2), sigv4_num(s + 11, 2),
	    sigv4_num(s + 13, 2), t) == -1)
		return -1;
	memcpy(amz_date, s, 16);
	amz_date[16] = '\0';
	return 0;
}

/* RFC 1123, as the HTTP Date header: "Sun, 06 Nov 1994 08:49:37 GMT". */
static int
sigv4_parse_http_date(const char *s, size_t len, time_t *t)
{
	static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
	static const char wkdays[] = "SunMonTueWedThuFriSat";
	long mo;

	if (len != 29 || s[3] != ',' || s[4] != ' ' || s[7] != ' ' ||
	    s[11] != ' ' || s[16] != ' ' || s[19] != ':' || s[22] != ':' ||
	    memcmp(s + 25, " GMT", 4) != 0 ||
	    !sigv4_all_digits(s + 5, 2) || !sigv4_all_digits(s + 12, 4) ||
	    !sigv4_all_digits(s + 17, 2) || !sigv4_all_digits(s + 20, 2) ||
	    !sigv4_all_digits(s + 23, 2))
		return -1;
	for (mo = 0; mo < 7; mo++)
		if (memcmp(s, wkdays + 3 * mo, 3) == 0)
			break;
	if (mo == 7)
		return -1;
	for (mo = 0; mo < 12; mo++)
		if (memcmp(s + 8, months + 3 * mo, 3) == 0)
			break;
	if (mo == 12)
		return -1;
	return sigv4_make_time(sigv4_num(s + 12, 4), mo + 1, sigv4_num(s + 5, 2),
	    sigv4_num(s + 17, 2), sigv4_num(s + 20, 2), sigv4_num(s + 23, 2), t);
}

/* Civil date of a day count since 1970-01-01 (H. Hinnant's algorithm). */
static void
sigv4_civil_from_days(long z, long *y, long *m, long *d)
{
	long era, doe, yoe, doy, mp;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = doy - (153 * mp + 2) / 5 + 1;
	*m = mp < 10 ? mp + 3 : mp - 9;
	*y = yoe + era * 400 + (*m <= 2);
}

static void
sigv4_put_digits(char *out, long v, int n)
{
	while (n-- > 0) {
		out[n] = (char)('0' + v % 10);
		v /= 10;
	}
}

/* Without gmtime_r/strftime: this runs for every request, twice. */
void
sigv4_format_date(time_t t, char out[17])
{
	long y, mo, d, secs;

	/* Outside years 1970-9999 the 16 characters cannot hold it: clamp. */
	if (t < 0)
		t = 0;
	if (t > (time_t)253402300799LL)
		t = (time_t)253402300799LL;
	sigv4_civil_from_days((long)(t / 86400), &y, &mo, &d);
	secs = (long)(t % 86400);
	sigv4_put_digits(out, y, 4);
	sigv4_put_digits(out + 4, mo, 2);
	sigv4_put_digits(out + 6, d, 2);
	out[8] = 'T';
	sigv4_put_digits(out + 9, secs / 3600, 2);
	sigv4_put_digits(out + 11, secs / 60 % 60, 2);
	sigv4_put_digits(out + 13, secs % 60, 2);
	out[15] = 'Z';
	out[16] = '\0';
}

/* ---- hashing ---- */

/*
 * SHA-256 through OpenSSL's low-level interface (deprecated in OpenSSL 3,
 * kept through 3.x; the deprecation is silenced for this file only).  Its
 * state is a plain struct that is copied by assignment; the EVP interface
 * allocates and frees on every context copy, and HMAC with cached pad
 * states copies twice per signature: 8 allocations per proxied request
 * (bench/callgrind.sh).  Both dispatch to the same assembly (SHA-NI where
 * the CPU has it).  HMAC (RFC 2104) is built on it.
 *
 * Signatures (sigv4_hmac_sha256) keep, per thread, the hash states after the
 * ipad and opad blocks of the last two signing keys (the client's and the
 * backend's, typically): two compressions fewer per signature.  Those
 * states are worth the key itself, so they are held like the signing-key
 * cache holds keys: in memory owned by the thread, wiped when the thread
 * ends.  The key derivation chain never goes through this cache.
 */
#define SIGV4_HMAC_BLOCK	64	/* SHA-256's block size */
#define SIGV4_HMAC_SLOTS	2

struct sigv4_hmac_slot {
	int		 used;
	unsigned char	 key[SIGV4_KEY_LEN];
	SHA256_CTX	 inner;		/* state after (key ^ ipad) */
	SHA256_CTX	 outer;		/* state after (key ^ opad) */
};

struct sigv4_thread {
	struct sigv4_hmac_slot	 slots[SIGV4_HMAC_SLOTS];
	unsigned int		 next;	/* slot to replace next */
	/*
	 * Scratch for the canonical request and the string to sign of
	 * sigv4_verify() and sigv4_sign(): kept from one request to the next,
	 * so that signing allocates nothing once warm; wiped after each use
	 * (a canonical request may hold a session token).
	 */
	struct sbuf		 cr;
	struct sbuf		 sts;
};

static pthread_key_t	 sigv4_thread_key;
static pthread_once_t	 sigv4_thread_once = PTHREAD_ONCE_INIT;

static void
sigv4_thread_free(void *arg)
{
	struct sigv4_thread *t = arg;

	sbuf_free(&t->cr);
	sbuf_free(&t->sts);
	explicit_bzero(t, sizeof(*t));
	free(t);
}

static void
sigv4_thread_init(void)
{
	if (pthread_key_create(&sigv4_thread_key, sigv4_thread_free) != 0)
		abort();
}

/* The calling thread's state; aborts only when memory is short. */
static struct sigv4_thread *
sigv4_thread(void)
{
	struct sigv4_thread *t;

	if (pthread_once(&sigv4_thread_once, sigv4_thread_init) != 0)
		abort();
	if ((t = pthread_getspecific(sigv4_thread_key)) == NULL) {
		if ((t = calloc(1, sizeof(*t))) == NULL ||
		    pthread_setspecific(sigv4_thread_key, t) != 0)
			abort();
	}
	return t;
}

/* SHA-256 of the concatenation of A and B (B may be empty) into OUT. */
static void
sigv4_sha256_2(const void *a, size_t alen, const void *b, size_t blen,
    unsigned char out[SHA256_DIGEST_LENGTH])
{
	SHA256_CTX ctx;

	SHA256_Init(&ctx);
	SHA256_Update(&ctx, a, alen);
	if (blen > 0)
		SHA256_Update(&ctx, b, blen);
	SHA256_Final(out, &ctx);
	explicit_bzero(&ctx, sizeof(ctx));
}

void
sigv4_sha256_hex(const void *data, size_t len, char out[65])
{
	unsigned char md[SHA256_DIGEST_LENGTH];

	sigv4_sha256_2(data, len, NULL, 0, md);
	sigv4_hex(md, sizeof(md), out);
}

/* KEY (at most one block; longer keys are hashed first) XOR 0x36, padded. */
static void
sigv4_hmac_ipad(const void *key, size_t keylen, unsigned char pad[SIGV4_HMAC_BLOCK])
{
	size_t i;

	memset(pad, 0, SIGV4_HMAC_BLOCK);
	if (keylen > SIGV4_HMAC_BLOCK)
		sigv4_sha256_2(key, keylen, NULL, 0, pad);
	else if (keylen > 0)
		memcpy(pad, key, keylen);
	for (i = 0; i < SIGV4_HMAC_BLOCK; i++)
		pad[i] ^= 0x36;
}

/* The ipad block turned into the opad block, in place. */
static void
sigv4_hmac_opad(unsigned char pad[SIGV4_HMAC_BLOCK])
{
	size_t i;

	for (i = 0; i < SIGV4_HMAC_BLOCK; i++)
		pad[i] ^= 0x36 ^ 0x5c;
}

static void
sigv4_hmac(const void *key, size_t keylen, const void *data, size_t len,
    unsigned char out[SIGV4_KEY_LEN])
{
	unsigned char pad[SIGV4_HMAC_BLOCK], inner[SHA256_DIGEST_LENGTH];

	sigv4_hmac_ipad(key, keylen, pad);
	sigv4_sha256_2(pad, sizeof(pad), data, len, inner);
	sigv4_hmac_opad(pad);
	sigv4_sha256_2(pad, sizeof(pad), inner, sizeof(inner), out);
	explicit_bzero(pad, sizeof(pad));
	explicit_bzero(inner, sizeof(inner));
}

/* The slot holding KEY's pad states, set up if there is none yet. */
static struct sigv4_hmac_slot *
sigv4_hmac_slot(struct sigv4_thread *t, const unsigned char key[SIGV4_KEY_LEN])
{
	struct sigv4_hmac_slot *sl;
	unsigned char pad[SIGV4_HMAC_BLOCK];
	size_t i;

	for (i = 0; i < SIGV4_HMAC_SLOTS; i++) {
		sl = &t->slots[i];
		if (sl->used && sigv4_ct_compare(sl->key, key, SIGV4_KEY_LEN) == 0)
			return sl;
	}
	sl = &t->slots[t->next];
	t->next = (t->next + 1) % SIGV4_HMAC_SLOTS;
	sigv4_hmac_ipad(key, SIGV4_KEY_LEN, pad);
	SHA256_Init(&sl->inner);
	SHA256_Update(&sl->inner, pad, sizeof(pad));
	sigv4_hmac_opad(pad);
	SHA256_Init(&sl->outer);
	SHA256_Update(&sl->outer, pad, sizeof(pad));
	explicit_bzero(pad, sizeof(pad));
	memcpy(sl->key, key, SIGV4_KEY_LEN);
	sl->used = 1;
	return sl;
}

/* HMAC-SHA256 under a signing key: sigv4_hmac() with cached pad states. */
static void
sigv4_hmac_sha256(const unsigned char key[SIGV4_KEY_LEN], const void *data, size_t len,
    unsigned char out[SIGV4_KEY_LEN])
{
	struct sigv4_hmac_slot *sl = sigv4_hmac_slot(sigv4_thread(), key);
	unsigned char inner[SHA256_DIGEST_LENGTH];
	SHA256_CTX ctx;

	ctx = sl->inner;
	SHA256_Update(&ctx, data, len);
	SHA256_Final(inner, &ctx);
	ctx = sl->outer;
	SHA256_Update(&ctx, inner, sizeof(inner));
	SHA256_Final(out, &ctx);
	explicit_bzero(&ctx, sizeof(ctx));
	explicit_bzero(inner, sizeof(inner));
}

void
sigv4_signing_key(const char *secret, size_t secret_len, const char *date,
    const char *region, const char *service, unsigned char key[SIGV4_KEY_LEN])
{
	unsigned char k[SIGV4_KEY_LEN];
	char *ksecret;

	if ((ksecret = malloc(secret_len + 4)) == NULL)
		abort();
	memcpy(ksecret, "AWS4", 4);
	memcpy(ksecret + 4, secret, secret_len);
	sigv4_hmac(ksecret, secret_len + 4, date, strlen(date), k);
	explicit_bzero(ksecret, secret_len + 4);
	free(ksecret);
	sigv4_hmac(k, sizeof(k), region, strlen(region), k);
	sigv4_hmac(k, sizeof(k), service, strlen(service), k);
	sigv4_hmac(k, sizeof(k), SIGV4_TERMINATOR, strlen(SIGV4_TERMINATOR), key);
	explicit_bzero(k, sizeof(k));
}

/*
 * Eight bytes a step; every byte is looked at whatever the data, no branch
 * depends on it (as OpenBSD's timingsafe_bcmp).
 */
int
sigv4_ct_compare(const void *a, const void *b, size_t len)
{
	const unsigned char *x = a, *y = b;
	uint64_t acc = 0, u, v;
	size_t i;

	for (i = 0; len - i >= 8; i += 8) {
		memcpy(&u, x + i, sizeof(u));
		memcpy(&v, y + i, sizeof(v));
		acc |= u ^ v;
	}
	for (; i < len; i++)
		acc |= (uint64_t)(x[i] ^ y[i]);
	return acc != 0;
}

/* ---- parsing ---- */

/*
 * The request headers named NAME (lower-case); returns how many there are
 * and the first in *FIRST.
 */
static size_t
sigv4_header_find(const struct sigv4_request *req, const char *name,
    const struct http_header **first)
{
	size_t i, n = 0;

	*first = NULL;
	for (i = 0; i < req->nheaders; i++) {
		if (!sigv4_name_eq(req->headers[i].name, req->headers[i].name_len, name))
			continue;
		if (n++ == 0)
			*first = &req->headers[i];
	}
	return n;
}

/* "AKID/YYYYMMDD/REGION/SERVICE/aws4_request" into AUTH. */
static int
sigv4_parse_credential(const char *s, size_t len, struct sigv4_auth *auth)
{
	const char *part[5], *end = s + len, *slash;
	size_t plen[5];
	int i;

	for (i = 0; i < 5; i++) {
		slash = memchr(s, '/', (size_t)(end - s));
		if (i < 4 && slash == NULL)
			return -1;
		if (i == 4) {
			if (slash != NULL)
				return -1;
			slash = end;
		}
		part[i] = s;
		plen[i] = (size_t)(slash - s);
		s = slash + (i < 4);
	}
	if (sigv4_copy_field(auth->access_key_id, sizeof(auth->access_key_id),
	    part[0], plen[0]) == -1 ||
	    plen[1] != 8 || !sigv4_all_digits(part[1], 8) ||
	    sigv4_copy_field(auth->scope_date, sizeof(auth->scope_date),
	    part[1], plen[1]) == -1 ||
	    sigv4_copy_field(auth->region, sizeof(auth->region),
	    part[2], plen[2]) == -1 ||
	    sigv4_copy_field(auth->service, sizeof(auth->service),
	    part[3], plen[3]) == -1 ||
	    !sigv4_eq(part[4], plen[4], SIGV4_TERMINATOR))
		return -1;
	return 0;
}

/* An RFC 9110 token character, lower-case only. */
static int
sigv4_is_header_char(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	    (c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

/*
 * SignedHeaders: lower-case names joined by ';', strictly ascending (so
 * the canonical form is unique), no empty names.  Returns 0, -1 if
 * malformed, -2 if well-formed but without "host".
 */
static int
sigv4_parse_signed_headers(const char *s, size_t len, struct sigv4_auth *auth)
{
	const char *name, *prev = NULL, *end = s + len;
	size_t nlen, prevlen = 0, i;
	int has_host = 0, r;

	if (len == 0 || len >= sizeof(auth->signed_headers))
		return -1;
	for (name = s; name <= end; name += nlen + 1) {
		for (nlen = 0; name + nlen < end && name[nlen] != ';'; nlen++)
			if (!sigv4_is_header_char((unsigned char)name[nlen]))
				return -1;
		if (nlen == 0)
			return -1;
		if (prev != NULL) {
			i = prevlen < nlen ? prevlen : nlen;
			r = memcmp(prev, name, i);
			if (r > 0 || (r == 0 && prevlen >= nlen))
				return -1;
		}
		if (sigv4_eq(name, nlen, "host"))
			has_host = 1;
		prev = name;
		prevlen = nlen;
		if (name + nlen == end)
			break;
	}
	memcpy(auth->signed_headers, s, len);
	auth->signed_headers[len] = '\0';
	return has_host ? 0 : -2;
}

/* Whether lower-case NAME (counted) is one of AUTH's signed headers. */
static int
sigv4_is_signed(const struct sigv4_auth *auth, const char *name, size_t len)
{
	const char *p = auth->signed_headers, *semi;
	size_t plen;

	for (;;) {
		semi = strchr(p, ';');
		plen = semi ? (size_t)(semi - p) : strlen(p);
		if (plen == len && strncasecmp(p, name, len) == 0)
			return 1;
		if (semi == NULL)
			return 0;
		p = semi + 1;
	}
}

static int
sigv4_parse_signature(const char *s, size_t len, struct sigv4_auth *auth)
{
	if (len != 64 || !sigv4_is_lower_hex(s, len))
		return -1;
	memcpy(auth->signature, s, 64);
	auth->signature[64] = '\0';
	return 0;
}

static int
sigv4_valid_payload_hash(const char *s, size_t len)
{
	static const char *const modes[] = {
		SIGV4_UNSIGNED_PAYLOAD,
		"STREAMING-AWS4-HMAC-SHA256-PAYLOAD",
		"STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER",
		"STREAMING-UNSIGNED-PAYLOAD-TRAILER",
		"STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD",
		"STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD-TRAILER",
	};
	size_t i;

	if (len == 64 && sigv4_is_lower_hex(s, len))
		return 1;
	for (i = 0; i < sizeof(modes) / sizeof(modes[0]); i++)
		if (sigv4_eq(s, len, modes[i]))
			return 1;
	return 0;
}

enum sigv4_status
sigv4_parse_authorization(const char *value, size_t len, struct sigv4_auth *auth)
{
	const char *p, *end, *comma, *eq, *comp, *v;
	size_t clen, vlen, slen;
	int seen_cred = 0, seen_sh = 0, seen_sig = 0, r = 0;

	sigv4_trim(&value, &len);
	end = value + len;
	for (slen = 0; slen < len && value[slen] != ' ' && value[slen] != '\t'; slen++)
		;
	if (slen == 0)
		return SIGV4_HEADER_MALFORMED;
	if (sigv4_eq(value, slen, "AWS"))
		return SIGV4_V2;
	if (!sigv4_eq(value, slen, SIGV4_ALGORITHM))
		return SIGV4_BAD_ALGORITHM;

	/* "Credential=..., SignedHeaders=..., Signature=...", in any order. */
	/*
	 * No "p < end" bound: an empty component (nothing after the
	 * algorithm, ",,", a trailing ',') has no '=' and is refused.
	 */
	for (p = value + slen;; p = comma + 1) {
		if ((comma = memchr(p, ',', (size_t)(end - p))) == NULL)
			comma = end;
		comp = p;
		clen = (size_t)(comma - p);
		sigv4_trim(&comp, &clen);
		if ((eq = memchr(comp, '=', clen)) == NULL)
			return SIGV4_HEADER_MALFORMED;
		v = eq + 1;
		vlen = clen - (size_t)(v - comp);
		if (sigv4_eq(comp, (size_t)(eq - comp), "Credential")) {
			if (seen_cred++ || sigv4_parse_credential(v, vlen, auth) == -1)
				return SIGV4_HEADER_MALFORMED;
		} else if (sigv4_eq(comp, (size_t)(eq - comp), "SignedHeaders")) {
			if (seen_sh++ ||
			    (r = sigv4_parse_signed_headers(v, vlen, auth)) == -1)
				return SIGV4_HEADER_MALFORMED;
		} else if (sigv4_eq(comp, (size_t)(eq - comp), "Signature")) {
			if (seen_sig++ || sigv4_parse_signature(v, vlen, auth) == -1)
				return SIGV4_HEADER_MALFORMED;
		} else
			return SIGV4_HEADER_MALFORMED;
		if (comma == end)
			break;
	}
	if (!seen_cred || !seen_sh || !seen_sig)
		return SIGV4_HEADER_MALFORMED;
	if (r == -2)
		return SIGV4_HOST_NOT_SIGNED;
	return SIGV4_OK;
}

/*
 * The raw (still encoded) value of the first parameter named NAME exactly
 * as sent, or NULL: security tokens are handed on as they are in the
 * request, without a copy.
 */
static const char *
sigv4_raw_query_value(const char *q, size_t len, const char *name, size_t *vlen)
{
	const char *seg, *end = q + len, *amp;
	size_t nlen = strlen(name);

	for (seg = q; seg < end; seg = amp + 1) {
		if ((amp = memchr(seg, '&', (size_t)(end - seg))) == NULL)
			amp = end;
		if ((size_t)(amp - seg) > nlen && memcmp(seg, name, nlen) == 0 &&
		    seg[nlen] == '=') {
			*vlen = (size_t)(amp - seg) - nlen - 1;
			return seg + nlen + 1;
		}
		if (amp == end)
			break;
	}
	return NULL;
}

/* The query parameters authentication looks at, counted in one pass. */
enum sigv4_qa {
	QA_ALGORITHM, QA_CREDENTIAL, QA_DATE, QA_EXPIRES, QA_SIGNED_HEADERS,
	QA_SIGNATURE, QA_SECURITY_TOKEN,	/* the X-Amz-* ones: first, in this order */
	QA_V2_SIGNATURE, QA_V2_ACCESS_KEY,
	QA_COUNT
};

static const char *const sigv4_qa_names[QA_COUNT] = {
	"X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Date", "X-Amz-Expires",
	"X-Amz-SignedHeaders", "X-Amz-Signature", "X-Amz-Security-Token",
	"Signature", "AWSAccessKeyId",
};

struct sigv4_query_auth {
	size_t				 count[QA_COUNT];
	const struct query_param	*first[QA_COUNT];
};

/* Names are compared exactly (case matters), as S3 does. */
static void
sigv4_query_auth_scan(const struct query_list *ql, struct sigv4_query_auth *qa)
{
	const char *name;
	size_t i, k, lo, hi, off;

	memset(qa, 0, sizeof(*qa));
	for (i = 0; i < ql->count; i++) {
		name = ql->params[i].name;
		if (strncmp(name, "X-Amz-", 6) == 0) {
			lo = QA_ALGORITHM;
			hi = QA_SECURITY_TOKEN;
			off = 6;
		} else {
			lo = QA_V2_SIGNATURE;
			hi = QA_V2_ACCESS_KEY;
			off = 0;
		}
		for (k = lo; k <= hi; k++) {
			/* the first byte after the common prefix tells most names apart */
			if (name[off] != sigv4_qa_names[k][off] ||
			    strcmp(name + off, sigv4_qa_names[k] + off) != 0)
				continue;
			if (qa->count[k]++ == 0)
				qa->first[k] = &ql->params[i];
			break;
		}
	}
}

static enum sigv4_status
sigv4_parse_presigned(const struct sigv4_request *req, const struct sigv4_query_auth *qa,
    struct sigv4_auth *auth)
{
	const struct query_param *qp[6], *tok;
	size_t i, len;
	long expires = 0;
	int r;

	/* A repeated auth parameter would make "which one" ambiguous. */
	for (i = 0; i < 6; i++) {
		if (qa->count[QA_ALGORITHM + i] != 1)
			return SIGV4_QUERY_MALFORMED;
		qp[i] = qa->first[QA_ALGORITHM + i];
	}
	if (qa->count[QA_SECURITY_TOKEN] > 1)
		return SIGV4_QUERY_MALFORMED;
	tok = qa->first[QA_SECURITY_TOKEN];
	if (strcmp(qp[0]->value, SIGV4_ALGORITHM) != 0)
		return SIGV4_BAD_ALGORITHM;
	if (sigv4_parse_credential(qp[1]->value, qp[1]->value_len, auth) == -1 ||
	    sigv4_parse_amz_date(qp[2]->value, qp[2]->value_len, auth->amz_date,
	    &auth->request_time) == -1)
		return SIGV4_QUERY_MALFORMED;

	/* Saturates: anything above the 7-day bound is refused by sigv4_check. */
	len = qp[3]->value_len;
	if (len == 0 || !sigv4_all_digits(qp[3]->value, len))
		return SIGV4_QUERY_MALFORMED;
	for (i = 0; i < len; i++) {
		expires = expires * 10 + (qp[3]->value[i] - '0');
		if (expires > 100L * SIGV4_MAX_EXPIRES) {
			expires = 100L * SIGV4_MAX_EXPIRES;
			break;
		}
	}
	auth->expires = expires;

	if ((r = sigv4_parse_signed_headers(qp[4]->value, qp[4]->value_len,
	    auth)) == -1)
		return SIGV4_QUERY_MALFORMED;
	if (r == -2)
		return SIGV4_HOST_NOT_SIGNED;
	if (sigv4_parse_signature(qp[5]->value, qp[5]->value_len, auth) == -1)
		return SIGV4_QUERY_MALFORMED;
	if (tok != NULL) {
		auth->security_token = sigv4_raw_query_value(req->query,
		    req->query_len, "X-Amz-Security-Token", &auth->security_token_len);
		auth->security_token_encoded = 1;
	}
	auth->presigned = 1;
	return SIGV4_OK;
}

/*
 * x-amz-content-sha256: required for header auth; for presigned requests
 * used only when present and signed, else UNSIGNED-PAYLOAD.
 */
static enum sigv4_status
sigv4_parse_payload_hash(const struct sigv4_request *req, struct sigv4_auth *auth)
{
	const struct http_header *h;
	const char *v;
	size_t n, vlen;

	n = sigv4_header_find(req, "x-amz-content-sha256", &h);
	if (n > 1)
		return auth->presigned ? SIGV4_QUERY_MALFORMED : SIGV4_HEADER_MALFORMED;
	if (n == 0 || (auth->presigned &&
	    !sigv4_is_signed(auth, "x-amz-content-sha256", 20))) {
		if (auth->presigned) {
			memcpy(auth->payload_hash, SIGV4_UNSIGNED_PAYLOAD,
			    sizeof(SIGV4_UNSIGNED_PAYLOAD));
			return SIGV4_OK;
		}
		return SIGV4_MISSING_CONTENT_SHA256;
	}
	v = h->value;
	vlen = h->value_len;
	sigv4_trim(&v, &vlen);
	if (!sigv4_valid_payload_hash(v, vlen) ||
	    sigv4_copy_field(auth->payload_hash, sizeof(auth->payload_hash),
	    v, vlen) == -1)
		return SIGV4_BAD_CONTENT_SHA256;
	return SIGV4_OK;
}

static enum sigv4_status
sigv4_parse_header_auth(const struct sigv4_request *req,
    const struct http_header *authz, struct sigv4_auth *auth)
{
	const struct http_header *h;
	const char *v;
	size_t n, vlen;
	enum sigv4_status st;

	if ((st = sigv4_parse_authorization(authz->value, authz->value_len,
	    auth)) != SIGV4_OK)
		return st;

	/* x-amz-date, else the HTTP Date header, as SigV4 allows. */
	if ((n = sigv4_header_find(req, "x-amz-date", &h)) > 1)
		return SIGV4_HEADER_MALFORMED;
	if (n == 1) {
		v = h->value;
		vlen = h->value_len;
		sigv4_trim(&v, &vlen);
		if (sigv4_parse_amz_date(v, vlen, auth->amz_date,
		    &auth->request_time) == -1)
			return SIGV4_MISSING_DATE;
	} else {
		if (sigv4_header_find(req, "date", &h) != 1)
			return SIGV4_MISSING_DATE;
		v = h->value;
		vlen = h->value_len;
		sigv4_trim(&v, &vlen);
		if (sigv4_parse_http_date(v, vlen, &auth->request_time) == -1)
			return SIGV4_MISSING_DATE;
		sigv4_format_date(auth->request_time, auth->amz_date);
	}

	if ((n = sigv4_header_find(req, "x-amz-security-token", &h)) > 1)
		return SIGV4_HEADER_MALFORMED;
	if (n == 1) {
		v = h->value;
		vlen = h->value_len;
		sigv4_trim(&v, &vlen);
		auth->security_token = v;
		auth->security_token_len = vlen;
	}
	return SIGV4_OK;
}

/* S3 refuses x-amz-* headers left out of the signature. */
static int
sigv4_all_amz_signed(const struct sigv4_request *req, const struct sigv4_auth *auth)
{
	const struct http_header *h;
	size_t i;

	for (i = 0; i < req->nheaders; i++) {
		h = &req->headers[i];
		if (h->name_len >= 6 && strncasecmp(h->name, "x-amz-", 6) == 0 &&
		    !sigv4_is_signed(auth, h->name, h->name_len))
			return 0;
	}
	return 1;
}

enum sigv4_status
sigv4_parse(const struct sigv4_request *req, struct sigv4_auth *auth)
{
	const struct http_header *authz;
	struct sigv4_query_auth qa;
	struct query_list ql;
	size_t nauthz;
	int query_v4, query_v2;
	enum sigv4_status st;

	memset(auth, 0, sizeof(*auth));
	if ((nauthz = sigv4_header_find(req, "authorization", &authz)) > 1)
		return SIGV4_HEADER_MALFORMED;
	if (req->parsed_query != NULL)
		ql = *req->parsed_query;	/* borrowed: not freed here */
	else if (query_parse(req->query, req->query ? req->query_len : 0,
	    SIGV4_MAX_QUERY_PARAMS, &ql) == -1)
		return SIGV4_QUERY_MALFORMED;
	sigv4_query_auth_scan(&ql, &qa);
	query_v4 = qa.count[QA_ALGORITHM] > 0 || qa.count[QA_CREDENTIAL] > 0 ||
	    qa.count[QA_SIGNATURE] > 0;
	query_v2 = qa.count[QA_V2_SIGNATURE] > 0 || qa.count[QA_V2_ACCESS_KEY] > 0;

	if (nauthz == 1 && query_v4)
		st = SIGV4_HEADER_MALFORMED;	/* S3: only one auth mechanism */
	else if (nauthz == 1)
		st = sigv4_parse_header_auth(req, authz, auth);
	else if (query_v4)
		st = sigv4_parse_presigned(req, &qa, auth);
	else if (query_v2)
		st = SIGV4_V2;
	else
		st = SIGV4_ANONYMOUS;
	if (req->parsed_query == NULL)
		query_free(&ql);
	if (st != SIGV4_OK)
		return st;
	if ((st = sigv4_parse_payload_hash(req, auth)) != SIGV4_OK)
		return st;
	if (!sigv4_all_amz_signed(req, auth))
		return SIGV4_HEADERS_NOT_SIGNED;
	return SIGV4_OK;
}

enum sigv4_status
sigv4_check(const struct sigv4_auth *auth, time_t now, const char *region)
{
	if (strcmp(auth->service, SIGV4_SERVICE_S3) != 0)
		return SIGV4_WRONG_SERVICE;
	if (strcmp(auth->region, region) != 0)
		return SIGV4_WRONG_REGION;
	if (strlen(auth->amz_date) != 16 ||
	    memcmp(auth->scope_date, auth->amz_date, 8) != 0)
		return SIGV4_SCOPE_DATE;
	if (auth->presigned) {
		if (auth->expires < 1 || auth->expires > SIGV4_MAX_EXPIRES)
			return SIGV4_EXPIRES_TOO_LONG;
		if (auth->request_time > now + SIGV4_MAX_SKEW)
			return SIGV4_NOT_YET_VALID;
		if (auth->request_time + auth->expires < now)
			return SIGV4_EXPIRED;
		return SIGV4_OK;
	}
	if (auth->request_time > now + SIGV4_MAX_SKEW ||
	    now > auth->request_time + SIGV4_MAX_SKEW)
		return SIGV4_SKEWED;
	return SIGV4_OK;
}

/* ---- canonical request ---- */

/* Paths up to this long are decoded on the stack. */
#define SIGV4_PATH_STACK	1024

/*
 * The canonical URI: the path decoded once and S3-encoded again, or with
 * RAW_PATH the path exactly as sent.  -1 (raw path appended) if it does not
 * decode.
 */
static int
sigv4_canonical_uri(const struct sigv4_request *req, int raw_path, struct sbuf *out)
{
	char stack[SIGV4_PATH_STACK], *dec = stack;
	long n;

	if (req->path == NULL || req->path_len == 0) {
		sbuf_appendc(out, '/');
		return 0;
	}
	if (raw_path) {
		sbuf_append(out, req->path, req->path_len);
		return 0;
	}
	if (req->path_len >= sizeof(stack) && (dec = malloc(req->path_len + 1)) == NULL)
		abort();
	if ((n = uri_decode(dec, req->path, req->path_len, 0)) == -1)
		sbuf_append(out, req->path, req->path_len);
	else
		uri_encode(out, dec, (size_t)n, 1);
	if (dec != stack)
		free(dec);
	return n == -1 ? -1 : 0;
}

/*
 * Appends "name:v1,v2\n" for signed header NAME; values trimmed and inner
 * runs of white space squeezed to one space.  -1 if the request has none.
 */
static int
sigv4_canonical_header(const struct sigv4_request *req, const char *name,
    size_t nlen, struct sbuf *out)
{
	const struct http_header *h;
	const char *v;
	size_t i, j, k, vlen;
	int found = 0;

	sbuf_append(out, name, nlen);
	sbuf_appendc(out, ':');
	for (i = 0; i < req->nheaders; i++) {
		h = &req->headers[i];
		if (h->name_len != nlen || strncasecmp(h->name, name, nlen) != 0)
			continue;
		if (found++)
			sbuf_appendc(out, ',');
		v = h->value;
		vlen = h->value_len;
		sigv4_trim(&v, &vlen);
		/* Trimmed: every run of blanks is followed by a non-blank. */
		for (j = 0; j < vlen; j = k) {
			for (k = j; k < vlen && !sigv4_is_space(v[k]); k++)
				;
			sbuf_append(out, v + j, k - j);
			if (k == vlen)
				break;
			sbuf_appendc(out, ' ');
			while (k < vlen && sigv4_is_space(v[k]))
				k++;
		}
	}
	sbuf_appendc(out, '\n');
	return found ? 0 : -1;
}

/*
 * Builds the canonical request with the query QL (already parsed; NULL if
 * it did not parse); -1 if it cannot stand for REQ (see callers).
 */
static int
sigv4_build_canonical(const struct sigv4_request *req, const struct sigv4_auth *auth,
    int raw_path, const struct query_list *ql, struct sbuf *out)
{
	static const char *const exclude[] = { "X-Amz-Signature", NULL };
	const char *p, *semi;
	size_t plen, i, est;
	int rc = 0;

	/* One allocation: everything below fits in this (it is an upper bound). */
	est = req->method_len + 3 * (req->path_len + (req->query ? req->query_len : 0)) +
	    3 * strlen(auth->signed_headers) + strlen(auth->payload_hash) + 16;
	for (i = 0; i < req->nheaders; i++)
		est += req->headers[i].value_len + 1;
	sbuf_reserve(out, est);

	sbuf_append(out, req->method, req->method_len);
	sbuf_appendc(out, '\n');
	if (sigv4_canonical_uri(req, raw_path, out) == -1)
		rc = -1;
	sbuf_appendc(out, '\n');
	if (ql == NULL)
		rc = -1;
	else
		query_canonical(out, ql, auth->presigned ? exclude : NULL);
	sbuf_appendc(out, '\n');
	for (p = auth->signed_headers; *p != '\0'; p = semi + 1) {
		semi = strchr(p, ';');
		plen = semi ? (size_t)(semi - p) : strlen(p);
		if (sigv4_canonical_header(req, p, plen, out) == -1)
			rc = -1;
		if (semi == NULL)
			break;
	}
	sbuf_appendc(out, '\n');
	sbuf_appends(out, auth->signed_headers);
	sbuf_appendc(out, '\n');
	sbuf_appends(out, auth->payload_hash);
	return rc;
}

/* The query of REQ parsed into QL; returns QL, or NULL if it does not parse. */
static const struct query_list *
sigv4_request_query(const struct sigv4_request *req, struct query_list *ql)
{
	if (req->parsed_query != NULL) {
		*ql = *req->parsed_query;
		return req->parsed_query;
	}
	if (query_parse(req->query, req->query ? req->query_len : 0,
	    SIGV4_MAX_QUERY_PARAMS, ql) == -1)
		return NULL;
	return ql;
}

void
sigv4_canonical_request(const struct sigv4_request *req,
    const struct sigv4_auth *auth, int raw_path, struct sbuf *out)
{
	struct query_list ql;
	const struct query_list *q = sigv4_request_query(req, &ql);

	(void)sigv4_build_canonical(req, auth, raw_path, q, out);
	if (q == &ql)
		query_free(&ql);
}

static void
sigv4_sts(const char *amz_date, const char *scope_date, const char *region,
    const char *service, const char *cr, size_t len, struct sbuf *out)
{
	size_t rlen = strlen(region), slen = strlen(service);
	char hash[65];

	sigv4_sha256_hex(cr, len, hash);
	/* "ALG\nDATE\nYYYYMMDD/REGION/SERVICE/aws4_request\nHASH" */
	sbuf_reserve(out, sizeof(SIGV4_ALGORITHM) + strlen(amz_date) + 8 + rlen + slen +
	    sizeof(SIGV4_TERMINATOR) + 64 + 6);
	sbuf_append(out, SIGV4_ALGORITHM "\n", sizeof(SIGV4_ALGORITHM));
	sbuf_appends(out, amz_date);
	sbuf_appendc(out, '\n');
	sbuf_append(out, scope_date, strnlen(scope_date, 8));
	sbuf_appendc(out, '/');
	sbuf_append(out, region, rlen);
	sbuf_appendc(out, '/');
	sbuf_append(out, service, slen);
	sbuf_append(out, "/" SIGV4_TERMINATOR "\n", sizeof(SIGV4_TERMINATOR) + 1);
	sbuf_append(out, hash, 64);
}

void
sigv4_string_to_sign(const struct sigv4_auth *auth, const char *canonical_request,
    size_t len, struct sbuf *out)
{
	sigv4_sts(auth->amz_date, auth->scope_date, auth->region, auth->service,
	    canonical_request, len, out);
}

void
sigv4_signature_hex(const unsigned char key[SIGV4_KEY_LEN], const char *sts,
    size_t len, char out[65])
{
	unsigned char mac[SIGV4_KEY_LEN];

	sigv4_hmac_sha256(key, sts, len, mac);
	sigv4_hex(mac, sizeof(mac), out);
	explicit_bzero(mac, sizeof(mac));
}

/*
 * Signs the canonical request in CR under AUTH; 0 if the signature matches.
 * STS is scratch space.
 */
static int
sigv4_try(const struct sigv4_auth *auth, const struct sbuf *cr,
    const unsigned char key[SIGV4_KEY_LEN], struct sbuf *sts)
{
	char sig[65];
	int r;

	sbuf_reset(sts);
	sigv4_string_to_sign(auth, cr->data, cr->len, sts);
	sigv4_signature_hex(key, sts->data, sts->len, sig);
	r = sigv4_ct_compare(sig, auth->signature, 64);
	explicit_bzero(sig, sizeof(sig));
	return r;
}

enum sigv4_status
sigv4_verify(const struct sigv4_request *req, const struct sigv4_auth *auth,
    const unsigned char key[SIGV4_KEY_LEN])
{
	struct sigv4_thread *t;
	struct sbuf uri = SBUF_INIT;
	enum sigv4_status st = SIGV4_MISMATCH;
	struct query_list ql;
	const struct query_list *q;

	if (strlen(auth->signature) != 64)
		return SIGV4_MISMATCH;
	t = sigv4_thread();
	q = sigv4_request_query(req, &ql);
	/*
	 * A path that does not decode stands for no key s3gate could act on,
	 * so neither form may pass.
	 */
	if (sigv4_build_canonical(req, auth, 0, q, &t->cr) == -1)
		goto done;
	if (sigv4_try(auth, &t->cr, key, &t->sts) == 0) {
		st = SIGV4_OK;
		goto done;
	}
	(void)sigv4_canonical_uri(req, 0, &uri);
	if (req->path_len > 0 && (uri.len != req->path_len ||
	    memcmp(uri.data, req->path, uri.len) != 0)) {
		sbuf_wipe(&t->cr);
		if (sigv4_build_canonical(req, auth, 1, q, &t->cr) == 0 &&
		    sigv4_try(auth, &t->cr, key, &t->sts) == 0)
			st = SIGV4_OK;
	}
 done:
	if (q == &ql)
		query_free(&ql);
	sbuf_wipe(&t->sts);
	sbuf_wipe(&t->cr);
	sbuf_free(&uri);
	return st;
}

/* ---- outbound ---- */

void
sigv4_sign(const char *method, const char *canon_path, const char *canon_query,
    const struct http_header *headers, size_t nheaders, const char *payload_hash,
    const char *amz_date, const char *region, const char *access_key_id,
    const unsigned char key[SIGV4_KEY_LEN], struct sbuf *authorization)
{
	struct sigv4_thread *t = sigv4_thread();
	struct sbuf *cr = &t->cr, *sts = &t->sts;
	size_t i, shlen = 0, hlen = 0, sh_off;
	char sig[65];

	if (canon_query == NULL)
		canon_query = "";
	for (i = 0; i < nheaders; i++) {
		shlen += headers[i].name_len + (i > 0);
		hlen += headers[i].name_len + headers[i].value_len + 2;
	}
	/*
	 * "METHOD\nPATH\nQUERY\n" headers "\n" SIGNED-HEADERS "\n" HASH, in one
	 * allocation; the signed-header list is kept where it is built.
	 */
	sbuf_reserve(cr, strlen(method) + strlen(canon_path) + strlen(canon_query) +
	    hlen + shlen + strlen(payload_hash) + 5);
	sbuf_appends(cr, method);
	sbuf_appendc(cr, '\n');
	sbuf_appends(cr, canon_path);
	sbuf_appendc(cr, '\n');
	sbuf_appends(cr, canon_query);
	sbuf_appendc(cr, '\n');
	for (i = 0; i < nheaders; i++) {
		sbuf_append(cr, headers[i].name, headers[i].name_len);
		sbuf_appendc(cr, ':');
		sbuf_append(cr, headers[i].value, headers[i].value_len);
		sbuf_appendc(cr, '\n');
	}
	sbuf_appendc(cr, '\n');
	sh_off = cr->len;
	for (i = 0; i < nheaders; i++) {
		if (i > 0)
			sbuf_appendc(cr, ';');
		sbuf_append(cr, headers[i].name, headers[i].name_len);
	}
	sbuf_appendc(cr, '\n');
	sbuf_appends(cr, payload_hash);
	sigv4_sts(amz_date, amz_date, region, SIGV4_SERVICE_S3, cr->data, cr->len, sts);
	sigv4_signature_hex(key, sts->data, sts->len, sig);

	/* "ALG Credential=AKID/DATE/REGION/s3/aws4_request, SignedHeaders=SH, Signature=SIG" */
	sbuf_reserve(authorization, sizeof(SIGV4_ALGORITHM) + strlen(access_key_id) +
	    strlen(region) + shlen + 64 + 80);
	sbuf_append(authorization, SIGV4_ALGORITHM " Credential=", sizeof(SIGV4_ALGORITHM) + 11);
	sbuf_appends(authorization, access_key_id);
	sbuf_appendc(authorization, '/');
	sbuf_append(authorization, amz_date, strnlen(amz_date, 8));
	sbuf_appendc(authorization, '/');
	sbuf_appends(authorization, region);
	sbuf_appends(authorization, "/" SIGV4_SERVICE_S3 "/" SIGV4_TERMINATOR ", SignedHeaders=");
	sbuf_append(authorization, cr->data + sh_off, shlen);
	sbuf_appends(authorization, ", Signature=");
	sbuf_append(authorization, sig, 64);
	sbuf_wipe(sts);
	sbuf_wipe(cr);
}

static struct query_param
sigv4_query_param(char *name, char *value)
{
	return (struct query_param){ .name = name, .value = value, .has_value = 1,
	    .name_len = strlen(name), .value_len = strlen(value) };
}

void
sigv4_presign(const char *method, const char *host, const char *canon_path,
    const struct query_list *extra_query, time_t now, long expires,
    const char *region, const char *access_key_id, const char *secret,
    struct sbuf *out)
{
	char n_alg[] = "X-Amz-Algorithm", n_cred[] = "X-Amz-Credential";
	char n_date[] = "X-Amz-Date", n_exp[] = "X-Amz-Expires";
	char n_sh[] = "X-Amz-SignedHeaders", v_alg[] = SIGV4_ALGORITHM;
	char v_sh[] = "host", v_date[17], v_scope[9], v_exp[24];
	struct query_param amz[5];
	struct query_param *all;
	struct query_list amz_list = { amz, 5, 0, 0 }, all_list;
	struct sbuf cred = SBUF_INIT, cr = SBUF_INIT, sts = SBUF_INIT;
	unsigned char key[SIGV4_KEY_LEN];
	char sig[65];
	size_t nextra = extra_query ? extra_query->count : 0, i;

	sigv4_format_date(now, v_date);
	snprintf(v_exp, sizeof(v_exp), "%ld", expires);
	sbuf_appendf(&cred, "%s/%.8s/%s/%s/%s", access_key_id, v_date, region,
	    SIGV4_SERVICE_S3, SIGV4_TERMINATOR);
	amz[0] = sigv4_query_param(n_alg, v_alg);
	amz[1] = sigv4_query_param(n_cred, cred.data);
	amz[2] = sigv4_query_param(n_date, v_date);
	amz[3] = sigv4_query_param(n_exp, v_exp);
	amz[4] = sigv4_query_param(n_sh, v_sh);

	/* The canonical query sorts extras and X-Amz-* together. */
	if ((all = calloc(nextra + 5, sizeof(*all))) == NULL)
		abort();
	for (i = 0; i < nextra; i++)
		all[i] = extra_query->params[i];
	memcpy(all + nextra, amz, sizeof(amz));
	all_list.params = all;
	all_list.count = nextra + 5;
	all_list.size = 0;

	sbuf_appendf(&cr, "%s\n%s\n", method, canon_path);
	query_canonical(&cr, &all_list, NULL);
	sbuf_appendf(&cr, "\nhost:%s\n\nhost\n%s", host, SIGV4_UNSIGNED_PAYLOAD);
	sigv4_sts(v_date, v_date, region, SIGV4_SERVICE_S3, cr.data, cr.len, &sts);
	memcpy(v_scope, v_date, 8);
	v_scope[8] = '\0';
	sigv4_signing_key(secret, strlen(secret), v_scope, region, SIGV4_SERVICE_S3,
	    key);
	sigv4_signature_hex(key, sts.data, sts.len, sig);
	explicit_bzero(key, sizeof(key));

	if (nextra > 0) {
		query_canonical(out, extra_query, NULL);
		sbuf_appendc(out, '&');
	}
	query_canonical(out, &amz_list, NULL);
	sbuf_appendf(out, "&X-Amz-Signature=%s", sig);
	free(all);
	sbuf_free(&sts);
	sbuf_free(&cr);
	sbuf_free(&cred);
}

/* ---- signing-key cache ---- */

struct sigv4_keycache_slot {
	int		 used;
	char		 access_key_id[129];
	char		 date[9];
	char		 region[64];
	char		*secret;
	size_t		 secret_len;
	unsigned char	 key[SIGV4_KEY_LEN];
};

struct sigv4_keycache {
	size_t				 nslots;
	struct sigv4_keycache_slot	*slots;
};

struct sigv4_keycache *
sigv4_keycache_new(size_t slots)
{
	struct sigv4_keycache *kc;

	if (slots == 0)
		return NULL;
	if ((kc = calloc(1, sizeof(*kc))) == NULL)
		return NULL;
	if ((kc->slots = calloc(slots, sizeof(*kc->slots))) == NULL) {
		free(kc);
		return NULL;
	}
	kc->nslots = slots;
	return kc;
}

static void
sigv4_keycache_clear(struct sigv4_keycache_slot *s)
{
	if (s->secret != NULL) {
		explicit_bzero(s->secret, s->secret_len);
		free(s->secret);
	}
	explicit_bzero(s, sizeof(*s));
}

void
sigv4_keycache_free(struct sigv4_keycache *kc)
{
	size_t i;

	if (kc == NULL)
		return;
	for (i = 0; i < kc->nslots; i++)
		sigv4_keycache_clear(&kc->slots[i]);
	free(kc->slots);
	free(kc);
}

/* FNV-1a over the three parts, each followed by a separator. */
static size_t
sigv4_keycache_hash(const char *akid, const char *date, const char *region)
{
	const char *parts[3] = { akid, date, region };
	const unsigned char *p;
	uint64_t h = 1469598103934665603ULL;
	int i;

	for (i = 0; i < 3; i++) {
		for (p = (const unsigned char *)parts[i]; *p != '\0'; p++) {
			h ^= *p;
			h *= 1099511628211ULL;
		}
		h ^= 0xff;
		h *= 1099511628211ULL;
	}
	return (size_t)h;
}

void
sigv4_keycache_get(struct sigv4_keycache *kc, const char *access_key_id,
    const char *secret, const char *date, const char *region,
    unsigned char key[SIGV4_KEY_LEN])
{
	struct sigv4_keycache_slot *s;
	size_t secret_len = strlen(secret);

	/* Names too long for a slot are derived every time, never truncated. */
	if (kc == NULL || strlen(access_key_id) >= sizeof(s->access_key_id) ||
	    strlen(date) >= sizeof(s->date) || strlen(region) >= sizeof(s->region)) {
		sigv4_signing_key(secret, secret_len, date, region,
		    SIGV4_SERVICE_S3, key);
		return;
	}
	s = &kc->slots[sigv4_keycache_hash(access_key_id, date, region) % kc->nslots];
	/* A changed secret (rotation) must not reuse the old key. */
	if (s->used && strcmp(s->access_key_id, access_key_id) == 0 &&
	    strcmp(s->date, date) == 0 && strcmp(s->region, region) == 0 &&
	    s->secret_len == secret_len &&
	    sigv4_ct_compare(s->secret, secret, secret_len) == 0) {
		memcpy(key, s->key, SIGV4_KEY_LEN);
		return;
	}
	sigv4_keycache_clear(s);
	sigv4_signing_key(secret, secret_len, date, region, SIGV4_SERVICE_S3, s->key);
	if ((s->secret = malloc(secret_len + 1)) == NULL)
		abort();
	memcpy(s->secret, secret, secret_len + 1);
	s->secret_len = secret_len;
	strcpy(s->access_key_id, access_key_id);
	strcpy(s->date, date);
	strcpy(s->region, region);
	s->used = 1;
	memcpy(key, s->key, SIGV4_KEY_LEN);
}
