/*
 * test_checksum: the CRCs against their catalogue check values and a
 * bit-at-a-time reference (every length, alignment and split), the EVP
 * digests, base64 verification (match, mismatch, malformed), and the values
 * real clients sent for a captured body (tests/data/awschunked).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "proxy/checksum.h"
#include "tests/unit/testlib.h"

static const char *
data_dir(void)
{
	const char *d = getenv("S3GATE_AWSCHUNKED_DATA");

	return d != NULL && *d != '\0' ? d : "tests/data/awschunked";
}

static char *
slurp(const char *name, size_t *lenp)
{
	char path[1024];

	snprintf(path, sizeof(path), "%s/%s", data_dir(), name);
	return testlib_slurp(path, lenp);
}

/* Bit-at-a-time references, straight from the definitions. */
static uint32_t
ref_crc32(uint32_t poly, const unsigned char *p, size_t len)
{
	uint32_t c = 0xffffffffu;
	int k;

	while (len-- > 0) {
		c ^= *p++;
		for (k = 0; k < 8; k++)
			c = (c & 1) ? (c >> 1) ^ poly : c >> 1;
	}
	return ~c;
}

static uint64_t
ref_crc64(const unsigned char *p, size_t len)
{
	uint64_t c = ~0ull;
	int k;

	while (len-- > 0) {
		c ^= *p++;
		for (k = 0; k < 8; k++)
			c = (c & 1) ? (c >> 1) ^ 0x9a6c9329ac4bc9b5ull : c >> 1;
	}
	return ~c;
}

static const char *
b64_of(enum checksum_alg alg, const void *data, size_t len)
{
	static char out[CHECKSUM_BASE64_MAX];
	struct checksum c;

	if (checksum_init(&c, alg) == -1)
		return "(init failed)";
	checksum_update(&c, data, len);
	checksum_final_base64(&c, out);
	checksum_free(&c);
	return out;
}

static enum checksum_verdict
verify_of(enum checksum_alg alg, const void *data, size_t len, const char *b64)
{
	struct checksum c;
	enum checksum_verdict v;

	if (checksum_init(&c, alg) == -1)
		return CHECKSUM_MALFORMED;
	checksum_update(&c, data, len);
	v = checksum_verify(&c, b64, strlen(b64));
	checksum_free(&c);
	return v;
}

static void
test_check_values(void)
{
	static const char nine[] = "123456789";

	T_OK(checksum_crc32(0, nine, 9) == 0xcbf43926u, "crc32(\"123456789\") = cbf43926");
	T_OK(checksum_crc32c(0, nine, 9) == 0xe3069283u, "crc32c(\"123456789\") = e3069283");
	T_OK(checksum_crc64nvme(0, nine, 9) == 0xae8b14860a799888ull,
	    "crc64nvme(\"123456789\") = ae8b14860a799888");
	T_OK(checksum_crc32(0, "", 0) == 0 && checksum_crc32c(0, "", 0) == 0 &&
	    checksum_crc64nvme(0, "", 0) == 0, "CRCs of nothing are 0");
	T_OK(checksum_crc32c(0, "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0"
	    "\0\0\0\0\0\0\0\0", 32) == 0x8a9136aau, "crc32c(32 zero bytes) = 8a9136aa (RFC 3720)");

	T_STREQ(b64_of(CHECKSUM_CRC32, nine, 9), "y/Q5Jg==", "base64 crc32");
	T_STREQ(b64_of(CHECKSUM_CRC32C, nine, 9), "4waSgw==", "base64 crc32c");
	T_STREQ(b64_of(CHECKSUM_CRC64NVME, nine, 9), "rosUhgp5mIg=", "base64 crc64nvme");
	T_STREQ(b64_of(CHECKSUM_SHA1, nine, 9), "98O8HYCOBHMq32eZZczDTKeuNEE=", "base64 sha1");
	T_STREQ(b64_of(CHECKSUM_SHA256, nine, 9),
	    "FeKw08M4keuw8e9gnsQZQgwg4yDOlMZfvIwzEkSOsiU=", "base64 sha256");
	T_STREQ(b64_of(CHECKSUM_MD5, nine, 9), "JfnnlDI7RTiF9RgfG2JNCw==", "base64 md5");
	T_STREQ(b64_of(CHECKSUM_MD5, "", 0), "1B2M2Y8AsgTpgAmY7PhCfg==", "base64 md5 of nothing");
	T_STREQ(b64_of(CHECKSUM_CRC32, "", 0), "AAAAAA==", "base64 crc32 of nothing");
}

static void
test_against_reference(void)
{
	unsigned char buf[1100];
	size_t len, off, cut, bad32 = 0, bad32c = 0, bad64 = 0, badsplit = 0;
	uint32_t a;
	uint64_t q;

	srand(7);
	for (len = 0; len < sizeof(buf); len++)
		buf[len] = (unsigned char)rand();
	for (off = 0; off < 8; off++)
		for (len = 0; len + off <= 300; len++) {
			if (checksum_crc32(0, buf + off, len) !=
			    ref_crc32(0xedb88320u, buf + off, len))
				bad32++;
			if (checksum_crc32c(0, buf + off, len) !=
			    ref_crc32(0x82f63b78u, buf + off, len))
				bad32c++;
			if (checksum_crc64nvme(0, buf + off, len) != ref_crc64(buf + off, len))
				bad64++;
		}
	T_OK(bad32 == 0, "crc32 slicing-by-8 = bitwise reference, lengths 0..300 x 8 alignments");
	T_OK(bad32c == 0, "crc32c (table or SSE4.2) = bitwise reference");
	T_OK(bad64 == 0, "crc64nvme slicing-by-8 = bitwise reference");
	for (cut = 0; cut <= sizeof(buf); cut += 13) {
		a = checksum_crc32(checksum_crc32(0, buf, cut), buf + cut, sizeof(buf) - cut);
		if (a != checksum_crc32(0, buf, sizeof(buf)))
			badsplit++;
		a = checksum_crc32c(checksum_crc32c(0, buf, cut), buf + cut, sizeof(buf) - cut);
		if (a != checksum_crc32c(0, buf, sizeof(buf)))
			badsplit++;
		q = checksum_crc64nvme(checksum_crc64nvme(0, buf, cut), buf + cut,
		    sizeof(buf) - cut);
		if (q != checksum_crc64nvme(0, buf, sizeof(buf)))
			badsplit++;
	}
	T_OK(badsplit == 0, "chained CRCs equal one-shot CRCs at every split");
}

static void
test_verify(void)
{
	static const char nine[] = "123456789";
	struct checksum c;
	unsigned char md[CHECKSUM_DIGEST_MAX];

	T_OK(verify_of(CHECKSUM_CRC32, nine, 9, "y/Q5Jg==") == CHECKSUM_MATCH, "verify crc32 match");
	T_OK(verify_of(CHECKSUM_CRC32, nine, 8, "y/Q5Jg==") == CHECKSUM_MISMATCH,
	    "verify crc32 mismatch (one byte short)");
	T_OK(verify_of(CHECKSUM_CRC32, nine, 9, "y/Q5Jw==") == CHECKSUM_MISMATCH,
	    "verify crc32 mismatch (other value)");
	T_OK(verify_of(CHECKSUM_CRC32, nine, 9, "y/Q5Jg=") == CHECKSUM_MALFORMED,
	    "verify crc32: short value is malformed");
	T_OK(verify_of(CHECKSUM_CRC32, nine, 9, "y/Q5Jg==y") == CHECKSUM_MALFORMED,
	    "verify crc32: long value is malformed");
	T_OK(verify_of(CHECKSUM_CRC32, nine, 9, "y/Q5J!==") == CHECKSUM_MALFORMED,
	    "verify crc32: bad character is malformed");
	T_OK(verify_of(CHECKSUM_CRC32, nine, 9, "y/Q5Jg=A") == CHECKSUM_MALFORMED,
	    "verify crc32: bad padding is malformed");
	T_OK(verify_of(CHECKSUM_SHA256, nine, 9, "y/Q5Jg==") == CHECKSUM_MALFORMED,
	    "verify sha256 with a crc32-sized value is malformed");
	T_OK(verify_of(CHECKSUM_SHA256, nine, 9,
	    "FeKw08M4keuw8e9gnsQZQgwg4yDOlMZfvIwzEkSOsiU=") == CHECKSUM_MATCH, "verify sha256 match");
	T_OK(verify_of(CHECKSUM_SHA1, nine, 9, "98O8HYCOBHMq32eZZczDTKeuNEE=") == CHECKSUM_MATCH,
	    "verify sha1 match");
	T_OK(verify_of(CHECKSUM_CRC64NVME, nine, 9, "rosUhgp5mIg=") == CHECKSUM_MATCH,
	    "verify crc64nvme match");
	T_OK(verify_of(CHECKSUM_MD5, nine, 9, "JfnnlDI7RTiF9RgfG2JNCw==") == CHECKSUM_MATCH,
	    "verify Content-MD5 match");

	T_OK(checksum_init(&c, CHECKSUM_NONE) == -1, "init NONE refused");
	checksum_free(&c);
	T_OK(checksum_init(&c, CHECKSUM_SHA256) == 0 && checksum_final(&c, md) == 32 &&
	    checksum_final(&c, md) == 0, "final once only");
	checksum_update(&c, "x", 1);	/* ignored after final */
	checksum_free(&c);
	checksum_free(&c);	/* idempotent */
	T_OK(1, "checksum_free idempotent");
}

static void
test_names(void)
{
	T_OK(checksum_alg_from_name("crc32", 5) == CHECKSUM_CRC32 &&
	    checksum_alg_from_name("CRC32C", 6) == CHECKSUM_CRC32C &&
	    checksum_alg_from_name("CRC64NVME", 9) == CHECKSUM_CRC64NVME &&
	    checksum_alg_from_name("SHA1", 4) == CHECKSUM_SHA1 &&
	    checksum_alg_from_name("sha256", 6) == CHECKSUM_SHA256 &&
	    checksum_alg_from_name("CRC3", 4) == CHECKSUM_NONE &&
	    checksum_alg_from_name("CRC32CX", 7) == CHECKSUM_NONE, "algorithm names");
	T_OK(checksum_alg_from_header("X-Amz-Checksum-CRC32", 20) == CHECKSUM_CRC32 &&
	    checksum_alg_from_header("x-amz-checksum-crc32c", 21) == CHECKSUM_CRC32C &&
	    checksum_alg_from_header("x-amz-checksum-crc64nvme", 24) == CHECKSUM_CRC64NVME &&
	    checksum_alg_from_header("Content-MD5", 11) == CHECKSUM_MD5 &&
	    checksum_alg_from_header("x-amz-checksum-md5", 18) == CHECKSUM_NONE,
	    "header names");
	T_STREQ(checksum_header_name(CHECKSUM_SHA1), "x-amz-checksum-sha1", "header of SHA1");
	T_STREQ(checksum_alg_name(CHECKSUM_CRC64NVME), "CRC64NVME", "name of CRC64NVME");
	T_OK(checksum_header_name(CHECKSUM_NONE) == NULL && checksum_digest_len(CHECKSUM_NONE) == 0,
	    "NONE has no name");
}

/* A header's value in a captured head, or NULL. */
static const char *
head_value(const char *head, const char *name, char *out, size_t outlen)
{
	const char *p = head, *e;
	size_t nlen = strlen(name), vlen;

	while ((p = strstr(p, "\r\n")) != NULL) {
		p += 2;
		if (strncasecmp(p, name, nlen) == 0 && p[nlen] == ':') {
			p += nlen + 1;
			while (*p == ' ')
				p++;
			if ((e = strstr(p, "\r\n")) == NULL)
				return NULL;
			vlen = (size_t)(e - p);
			if (vlen >= outlen)
				return NULL;
			memcpy(out, p, vlen);
			out[vlen] = '\0';
			return out;
		}
	}
	return NULL;
}

/* Plain (not aws-chunked) uploads real clients sent, with their checksum header. */
static void
test_captures(void)
{
	static const struct {
		const char	*head, *original, *header;
	} caps[] = {
		{ "awscli1-http-crc32.head", "file70k.bin", "x-amz-checksum-crc32" },
		{ "awscli2-https-md5.head", "file70k.bin", "content-md5" },
	};
	char value[128];
	char *head, *data;
	size_t i, hlen, dlen;
	enum checksum_alg alg;

	for (i = 0; i < sizeof(caps) / sizeof(caps[0]); i++) {
		head = slurp(caps[i].head, &hlen);
		data = slurp(caps[i].original, &dlen);
		if (head == NULL || data == NULL) {
			T_SKIP("capture %s: data not found under %s", caps[i].head, data_dir());
			free(head);
			free(data);
			continue;
		}
		alg = checksum_alg_from_header(caps[i].header, strlen(caps[i].header));
		T_OK(head_value(head, caps[i].header, value, sizeof(value)) != NULL &&
		    verify_of(alg, data, dlen, value) == CHECKSUM_MATCH,
		    "capture %s: %s verifies over the body", caps[i].head, caps[i].header);
		T_OK(verify_of(alg, data, dlen - 1, value) == CHECKSUM_MISMATCH,
		    "capture %s: one byte less is a mismatch", caps[i].head);
		free(head);
		free(data);
	}
}

int
main(void)
{
	test_check_values();
	test_against_reference();
	test_verify();
	test_names();
	test_captures();
	return T_DONE();
}
