/*
 * checksum: S3 integrity checksums; see checksum.h.
 *
 * The CRC tables (slicing-by-8: eight 256-entry tables per CRC, so eight
 * input bytes cost eight lookups and no data-dependent loop) and the CPU
 * feature flags are set once per process under pthread_once; workers may
 * be threads.  The table paths are the reference the tests hold the
 * instruction paths to.
 */
#include <ctype.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#if defined(__x86_64__)
#include <nmmintrin.h>
#include <smmintrin.h>
#include <wmmintrin.h>
#endif

#include "proxy/checksum.h"

/* Reflected polynomials. */
#define CRC32_POLY	0xedb88320u		/* 0x04c11db7 */
#define CRC32C_POLY	0x82f63b78u		/* 0x1edc6f41 */
#define CRC64NVME_POLY	0x9a6c9329ac4bc9b5ull	/* 0xad93d23594c93659 */

static uint32_t	crc32_tab[8][256];
static uint32_t	crc32c_tab[8][256];
static uint64_t	crc64_tab[8][256];
static int	crc32c_hw;	/* SSE4.2 crc32 instruction */
static int	crc32_clmul;	/* PCLMULQDQ + SSE4.1 */
static pthread_once_t crc_once = PTHREAD_ONCE_INIT;

static void
checksum_tables_build(void)
{
	uint32_t c, d;
	uint64_t q;
	int i, k, s;

	for (i = 0; i < 256; i++) {
		c = d = (uint32_t)i;
		q = (uint64_t)i;
		for (k = 0; k < 8; k++) {
			c = (c & 1) ? (c >> 1) ^ CRC32_POLY : c >> 1;
			d = (d & 1) ? (d >> 1) ^ CRC32C_POLY : d >> 1;
			q = (q & 1) ? (q >> 1) ^ CRC64NVME_POLY : q >> 1;
		}
		crc32_tab[0][i] = c;
		crc32c_tab[0][i] = d;
		crc64_tab[0][i] = q;
	}
	for (i = 0; i < 256; i++)
		for (s = 1; s < 8; s++) {
			crc32_tab[s][i] = (crc32_tab[s - 1][i] >> 8) ^
			    crc32_tab[0][crc32_tab[s - 1][i] & 0xff];
			crc32c_tab[s][i] = (crc32c_tab[s - 1][i] >> 8) ^
			    crc32c_tab[0][crc32c_tab[s - 1][i] & 0xff];
			crc64_tab[s][i] = (crc64_tab[s - 1][i] >> 8) ^
			    crc64_tab[0][crc64_tab[s - 1][i] & 0xff];
		}
#if defined(__x86_64__)
	__builtin_cpu_init();
	crc32c_hw = __builtin_cpu_supports("sse4.2");
	crc32_clmul = __builtin_cpu_supports("pclmul") && __builtin_cpu_supports("sse4.1");
#endif
}

static void
checksum_tables(void)
{
	if (pthread_once(&crc_once, checksum_tables_build) != 0)
		abort();
}

static inline uint32_t
checksum_le32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	    (uint32_t)p[3] << 24;
}

static inline uint64_t
checksum_le64(const unsigned char *p)
{
	return (uint64_t)checksum_le32(p) | (uint64_t)checksum_le32(p + 4) << 32;
}

/* Slicing-by-8 over a reflected 32-bit CRC; CRC is the raw register. */
static uint32_t
checksum_crc32_sliced(uint32_t (*t)[256], uint32_t crc, const unsigned char *p,
    size_t len)
{
	uint32_t a, b;

	for (; len >= 8; p += 8, len -= 8) {
		a = crc ^ checksum_le32(p);
		b = checksum_le32(p + 4);
		crc = t[7][a & 0xff] ^ t[6][(a >> 8) & 0xff] ^
		    t[5][(a >> 16) & 0xff] ^ t[4][a >> 24] ^
		    t[3][b & 0xff] ^ t[2][(b >> 8) & 0xff] ^
		    t[1][(b >> 16) & 0xff] ^ t[0][b >> 24];
	}
	while (len-- > 0)
		crc = t[0][(crc ^ *p++) & 0xff] ^ (crc >> 8);
	return crc;
}

#if defined(__x86_64__)
__attribute__((target("sse4.2")))
static uint32_t
checksum_crc32c_sse42(uint32_t crc, const unsigned char *p, size_t len)
{
	uint64_t c = crc;

	for (; len >= 8; p += 8, len -= 8)
		c = _mm_crc32_u64(c, checksum_le64(p));
	crc = (uint32_t)c;
	while (len-- > 0)
		crc = _mm_crc32_u8(crc, *p++);
	return crc;
}
#endif

#if defined(__x86_64__)
/*
 * CRC-32 (reflected 0xedb88320) by carry-less multiplication: fold four
 * 128-bit lanes 64 bytes at a time, fold them into one, reduce 128 -> 64
 * bits, then Barrett-reduce to 32 (Gopal et al., "Fast CRC Computation for
 * Generic Polynomials Using PCLMULQDQ Instruction", Intel, 2009; the
 * constants are x^n mod P for the fold distances, bit-reflected, and
 * floor(x^64 / P)).  About ten times the table's speed; the default
 * checksum of current SDKs, so it is on every upload's path.  LEN >= 64 and
 * a multiple of 16; CRC is the raw register.
 */
__attribute__((target("pclmul,sse4.1")))
static uint32_t
checksum_crc32_clmul(uint32_t crc, const unsigned char *p, size_t len)
{
	const __m128i k512 = _mm_set_epi64x(0x1c6e41596, 0x154442bd4);
	const __m128i k128 = _mm_set_epi64x(0x0ccaa009e, 0x1751997d0);
	const __m128i k64 = _mm_set_epi64x(0, 0x163cd6124);
	const __m128i barrett = _mm_set_epi64x(0x1f7011641, 0x1db710641);
	const __m128i low32 = _mm_setr_epi32(-1, 0, -1, 0);
	__m128i a, b, c, d, t, u;

	a = _mm_xor_si128(_mm_loadu_si128((const __m128i *)p),
	    _mm_cvtsi32_si128((int)crc));
	b = _mm_loadu_si128((const __m128i *)(p + 16));
	c = _mm_loadu_si128((const __m128i *)(p + 32));
	d = _mm_loadu_si128((const __m128i *)(p + 48));
	for (p += 64, len -= 64; len >= 64; p += 64, len -= 64) {
#define CLMUL_FOLD(x, k, next) \
		(x) = _mm_xor_si128(_mm_xor_si128(_mm_clmulepi64_si128((x), (k), 0x00), \
		    _mm_clmulepi64_si128((x), (k), 0x11)), (next))
		CLMUL_FOLD(a, k512, _mm_loadu_si128((const __m128i *)p));
		CLMUL_FOLD(b, k512, _mm_loadu_si128((const __m128i *)(p + 16)));
		CLMUL_FOLD(c, k512, _mm_loadu_si128((const __m128i *)(p + 32)));
		CLMUL_FOLD(d, k512, _mm_loadu_si128((const __m128i *)(p + 48)));
	}
	CLMUL_FOLD(a, k128, b);
	CLMUL_FOLD(a, k128, c);
	CLMUL_FOLD(a, k128, d);
	for (; len >= 16; p += 16, len -= 16)
		CLMUL_FOLD(a, k128, _mm_loadu_si128((const __m128i *)p));
#undef CLMUL_FOLD

	/* 128 -> 64 bits. */
	t = _mm_clmulepi64_si128(a, k128, 0x10);
	a = _mm_xor_si128(_mm_srli_si128(a, 8), t);
	t = _mm_srli_si128(a, 4);
	a = _mm_xor_si128(_mm_clmulepi64_si128(_mm_and_si128(a, low32), k64, 0x00), t);

	/* Barrett reduction to 32 bits. */
	u = _mm_clmulepi64_si128(_mm_and_si128(a, low32), barrett, 0x10);
	u = _mm_clmulepi64_si128(_mm_and_si128(u, low32), barrett, 0x00);
	a = _mm_xor_si128(a, u);
	return (uint32_t)_mm_extract_epi32(a, 1);
}
#endif

uint32_t
checksum_crc32(uint32_t crc, const void *data, size_t len)
{
	const unsigned char *p = data;

	checksum_tables();
	crc = ~crc;
#if defined(__x86_64__)
	if (crc32_clmul && len >= 64) {
		size_t n = len & ~(size_t)15;

		crc = checksum_crc32_clmul(crc, p, n);
		p += n;
		len -= n;
	}
#endif
	return ~checksum_crc32_sliced(crc32_tab, crc, p, len);
}

uint32_t
checksum_crc32c(uint32_t crc, const void *data, size_t len)
{
	checksum_tables();
#if defined(__x86_64__)
	if (crc32c_hw)
		return ~checksum_crc32c_sse42(~crc, data, len);
#endif
	return ~checksum_crc32_sliced(crc32c_tab, ~crc, data, len);
}

uint64_t
checksum_crc64nvme(uint64_t crc, const void *data, size_t len)
{
	const unsigned char *p = data;
	uint64_t a;

	checksum_tables();
	crc = ~crc;
	for (; len >= 8; p += 8, len -= 8) {
		a = crc ^ checksum_le64(p);
		crc = crc64_tab[7][a & 0xff] ^ crc64_tab[6][(a >> 8) & 0xff] ^
		    crc64_tab[5][(a >> 16) & 0xff] ^ crc64_tab[4][(a >> 24) & 0xff] ^
		    crc64_tab[3][(a >> 32) & 0xff] ^ crc64_tab[2][(a >> 40) & 0xff] ^
		    crc64_tab[1][(a >> 48) & 0xff] ^ crc64_tab[0][a >> 56];
	}
	while (len-- > 0)
		crc = crc64_tab[0][(crc ^ *p++) & 0xff] ^ (crc >> 8);
	return ~crc;
}

/* ---- algorithms by name ---- */

static const struct {
	enum checksum_alg	 alg;
	const char		*name;
	const char		*header;
	size_t			 len;
} checksum_algs[] = {
	{ CHECKSUM_CRC32,	"CRC32",	"x-amz-checksum-crc32",		4 },
	{ CHECKSUM_CRC32C,	"CRC32C",	"x-amz-checksum-crc32c",	4 },
	{ CHECKSUM_CRC64NVME,	"CRC64NVME",	"x-amz-checksum-crc64nvme",	8 },
	{ CHECKSUM_SHA1,	"SHA1",		"x-amz-checksum-sha1",		20 },
	{ CHECKSUM_SHA256,	"SHA256",	"x-amz-checksum-sha256",	32 },
	{ CHECKSUM_MD5,		"MD5",		"content-md5",			16 },
};
#define CHECKSUM_NALGS	(sizeof(checksum_algs) / sizeof(checksum_algs[0]))

enum checksum_alg
checksum_alg_from_name(const char *name, size_t len)
{
	size_t i;

	for (i = 0; i < CHECKSUM_NALGS; i++)
		if (strlen(checksum_algs[i].name) == len &&
		    strncasecmp(checksum_algs[i].name, name, len) == 0)
			return checksum_algs[i].alg;
	return CHECKSUM_NONE;
}

enum checksum_alg
checksum_alg_from_header(const char *name, size_t len)
{
	size_t i;

	for (i = 0; i < CHECKSUM_NALGS; i++)
		if (strlen(checksum_algs[i].header) == len &&
		    strncasecmp(checksum_algs[i].header, name, len) == 0)
			return checksum_algs[i].alg;
	return CHECKSUM_NONE;
}

static size_t
checksum_index(enum checksum_alg alg)
{
	size_t i;

	for (i = 0; i < CHECKSUM_NALGS; i++)
		if (checksum_algs[i].alg == alg)
			return i;
	return CHECKSUM_NALGS;
}

const char *
checksum_alg_name(enum checksum_alg alg)
{
	size_t i = checksum_index(alg);

	return i < CHECKSUM_NALGS ? checksum_algs[i].name : NULL;
}

const char *
checksum_header_name(enum checksum_alg alg)
{
	size_t i = checksum_index(alg);

	return i < CHECKSUM_NALGS ? checksum_algs[i].header : NULL;
}

size_t
checksum_digest_len(enum checksum_alg alg)
{
	size_t i = checksum_index(alg);

	return i < CHECKSUM_NALGS ? checksum_algs[i].len : 0;
}

/* ---- running checksums ---- */

static const EVP_MD *
checksum_evp(enum checksum_alg alg)
{
	switch (alg) {
	case CHECKSUM_SHA1:
		return EVP_sha1();
	case CHECKSUM_SHA256:
		return EVP_sha256();
	case CHECKSUM_MD5:
		return EVP_md5();
	default:
		return NULL;
	}
}

int
checksum_init(struct checksum *c, enum checksum_alg alg)
{
	const EVP_MD *md;

	memset(c, 0, sizeof(*c));
	if (checksum_index(alg) == CHECKSUM_NALGS)
		return -1;
	checksum_tables();
	if ((md = checksum_evp(alg)) != NULL) {
		if ((c->md = EVP_MD_CTX_new()) == NULL)
			return -1;
		if (EVP_DigestInit_ex(c->md, md, NULL) != 1) {
			EVP_MD_CTX_free(c->md);
			c->md = NULL;
			return -1;
		}
	}
	c->alg = alg;
	return 0;
}

void
checksum_update(struct checksum *c, const void *data, size_t len)
{
	if (c->finished || len == 0)
		return;
	switch (c->alg) {
	case CHECKSUM_CRC32:
		c->crc = checksum_crc32((uint32_t)c->crc, data, len);
		break;
	case CHECKSUM_CRC32C:
		c->crc = checksum_crc32c((uint32_t)c->crc, data, len);
		break;
	case CHECKSUM_CRC64NVME:
		c->crc = checksum_crc64nvme(c->crc, data, len);
		break;
	case CHECKSUM_SHA1:
	case CHECKSUM_SHA256:
	case CHECKSUM_MD5:
		/* Fails only on a broken provider: same policy as sigv4. */
		if (EVP_DigestUpdate(c->md, data, len) != 1)
			abort();
		break;
	case CHECKSUM_NONE:
		break;
	}
}

size_t
checksum_final(struct checksum *c, unsigned char out[CHECKSUM_DIGEST_MAX])
{
	unsigned int mdlen = 0;
	size_t len, i;

	if (c->finished || c->alg == CHECKSUM_NONE)
		return 0;
	c->finished = 1;
	len = checksum_digest_len(c->alg);
	switch (c->alg) {
	case CHECKSUM_CRC32:
	case CHECKSUM_CRC32C:
	case CHECKSUM_CRC64NVME:
		for (i = 0; i < len; i++)
			out[i] = (unsigned char)(c->crc >> (8 * (len - 1 - i)));
		return len;
	default:
		if (EVP_DigestFinal_ex(c->md, out, &mdlen) != 1 || mdlen != len)
			abort();
		return len;
	}
}

void
checksum_final_base64(struct checksum *c, char out[CHECKSUM_BASE64_MAX])
{
	unsigned char md[CHECKSUM_DIGEST_MAX];
	size_t len;

	out[0] = '\0';
	if ((len = checksum_final(c, md)) == 0)
		return;
	(void)EVP_EncodeBlock((unsigned char *)out, md, (int)len);
}

static int
checksum_b64char(int ch)
{
	return isascii(ch) && (isalnum(ch) || ch == '+' || ch == '/');
}

enum checksum_verdict
checksum_verify(struct checksum *c, const char *expected, size_t len)
{
	char got[CHECKSUM_BASE64_MAX];
	size_t want_len, want_pad, i, pad;

	checksum_final_base64(c, got);
	want_len = strlen(got);
	if (want_len == 0)
		return CHECKSUM_MISMATCH;
	/* Shape first, so that a value of the wrong size is "invalid", as S3 says. */
	if (len != want_len)
		return CHECKSUM_MALFORMED;
	for (pad = 0; pad < len && expected[len - 1 - pad] == '='; pad++)
		;
	for (i = 0; i < len - pad; i++)
		if (!checksum_b64char((unsigned char)expected[i]))
			return CHECKSUM_MALFORMED;
	for (want_pad = 0; want_pad < want_len &&
	    got[want_len - 1 - want_pad] == '='; want_pad++)
		;
	if (pad != want_pad)
		return CHECKSUM_MALFORMED;
	return CRYPTO_memcmp(got, expected, len) == 0 ? CHECKSUM_MATCH :
	    CHECKSUM_MISMATCH;
}

void
checksum_free(struct checksum *c)
{
	EVP_MD_CTX_free(c->md);
	c->md = NULL;
	c->alg = CHECKSUM_NONE;
}
