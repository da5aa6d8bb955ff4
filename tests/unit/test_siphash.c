/*
 * test_siphash: SipHash-2-4 against the reference vectors (key 00..0f,
 * message 00 01 02 ... of each length), the paper's worked example
 * (15 bytes) among them, and against OpenSSL's SIPHASH for lengths 0..63.
 */
#include <openssl/evp.h>
#include <openssl/core_names.h>

#include <stdio.h>
#include <string.h>

#include "proxy/siphash.h"
#include "tests/unit/testlib.h"

/* OpenSSL's SipHash-2-4 (8-byte output) of LEN bytes, as a little-endian word. */
static uint64_t
openssl_siphash(const unsigned char key[16], const unsigned char *msg, size_t len)
{
	EVP_MAC *mac = EVP_MAC_fetch(NULL, "SIPHASH", NULL);
	EVP_MAC_CTX *ctx = mac != NULL ? EVP_MAC_CTX_new(mac) : NULL;
	size_t outlen = 8, got = 0;
	unsigned char out[8] = { 0 };
	uint64_t w = 0;
	OSSL_PARAM params[2];
	int i;

	params[0] = OSSL_PARAM_construct_size_t(OSSL_MAC_PARAM_SIZE, &outlen);
	params[1] = OSSL_PARAM_construct_end();
	if (ctx == NULL || EVP_MAC_init(ctx, key, 16, params) != 1 ||
	    EVP_MAC_update(ctx, msg, len) != 1 || EVP_MAC_final(ctx, out, &got, sizeof(out)) != 1)
		got = 0;
	EVP_MAC_CTX_free(ctx);
	EVP_MAC_free(mac);
	for (i = 7; i >= 0; i--)
		w = (w << 8) | out[i];
	return got == 8 ? w : 0;
}

int
main(void)
{
	unsigned char key[16], msg[64], other[16];
	int i, agree = 0;

	for (i = 0; i < 16; i++)
		key[i] = (unsigned char)i;
	for (i = 0; i < 64; i++)
		msg[i] = (unsigned char)i;
	T_OK(siphash24(key, msg, 0) == 0x726fdb47dd0e0e31ULL, "empty message");
	T_OK(siphash24(key, msg, 1) == 0x74f839c593dc67fdULL, "one byte");
	T_OK(siphash24(key, msg, 8) == 0x93f5f5799a932462ULL, "one whole word");
	T_OK(siphash24(key, msg, 15) == 0xa129ca6149be45e5ULL, "the paper's example (15 bytes)");
	for (i = 0; i < 64; i++)
		agree += siphash24(key, msg, (size_t)i) == openssl_siphash(key, msg, (size_t)i);
	T_OK(agree == 64, "OpenSSL's SIPHASH agrees for lengths 0..63 (%d of 64)", agree);
	memcpy(other, key, 16);
	other[15] ^= 1;
	T_OK(siphash24(other, msg, 15) != siphash24(key, msg, 15), "another key, another hash");
	return T_DONE();
}
