/*
 * checksum: the integrity checksums S3 requests carry, computed over a body
 * as it streams.  x-amz-checksum-crc32 / -crc32c / -crc64nvme / -sha1 /
 * -sha256 (as a header or an aws-chunked trailer) and Content-MD5; the value
 * on the wire is the base64 of the big-endian digest.
 *
 * The CRCs are computed here, no dependency on zlib: slicing-by-8 tables,
 * with CPU help where there is some (CRC32 by PCLMULQDQ folding, CRC32C by
 * the SSE4.2 instruction; CRC64NVME table only).  SHA-1, SHA-256 and MD5
 * come from OpenSSL EVP, which is why a context must be freed.
 *
 * Typical use:  checksum_init(&c, alg); checksum_update(&c, ...) per piece;
 * checksum_verify(&c, value, len) at the end; checksum_free(&c).
 */
#ifndef S3GATE_CHECKSUM_H
#define S3GATE_CHECKSUM_H

#include <stddef.h>
#include <stdint.h>

enum checksum_alg {
	CHECKSUM_NONE = 0,
	CHECKSUM_CRC32,		/* x-amz-checksum-crc32: zlib/IEEE CRC-32, 4 bytes */
	CHECKSUM_CRC32C,	/* x-amz-checksum-crc32c: Castagnoli, 4 bytes */
	CHECKSUM_CRC64NVME,	/* x-amz-checksum-crc64nvme: CRC-64/NVME, 8 bytes */
	CHECKSUM_SHA1,		/* x-amz-checksum-sha1: 20 bytes */
	CHECKSUM_SHA256,	/* x-amz-checksum-sha256: 32 bytes */
	CHECKSUM_MD5,		/* Content-MD5: 16 bytes */
};

#define CHECKSUM_DIGEST_MAX	32	/* SHA-256 */
#define CHECKSUM_BASE64_MAX	45	/* base64 of 32 bytes, with NUL */

/* One running checksum.  Plain data except MD, which checksum_free() frees. */
struct checksum {
	enum checksum_alg	 alg;
	uint64_t		 crc;	/* CRCs: running value (see checksum_crc32) */
	struct evp_md_ctx_st	*md;	/* SHA-1, SHA-256, MD5: OpenSSL context */
	int			 finished;
};

/*
 * Algorithm by name, case-insensitive: "CRC32", "CRC32C", "CRC64NVME",
 * "SHA1", "SHA256" (x-amz-checksum-algorithm, x-amz-sdk-checksum-algorithm)
 * and "MD5".  CHECKSUM_NONE if unknown.
 */
enum checksum_alg checksum_alg_from_name(const char *name, size_t len);

/*
 * Algorithm by header name, case-insensitive: "x-amz-checksum-crc32" ...
 * "x-amz-checksum-sha256" and "content-md5".  CHECKSUM_NONE if unknown.
 */
enum checksum_alg checksum_alg_from_header(const char *name, size_t len);

/* "CRC32" ...; "x-amz-checksum-crc32" ... / "content-md5"; NULL for NONE. */
const char	*checksum_alg_name(enum checksum_alg);
const char	*checksum_header_name(enum checksum_alg);

/* Digest length in bytes (4, 8, 20, 32, 16); 0 for NONE. */
size_t		 checksum_digest_len(enum checksum_alg);

/* 0, or -1 if ALG is NONE/unknown or OpenSSL failed.  C is then inert. */
int		 checksum_init(struct checksum *c, enum checksum_alg alg);
void		 checksum_update(struct checksum *c, const void *data, size_t len);

/*
 * Finishes C (once; later calls are refused with 0) and writes the digest,
 * big-endian for the CRCs.  Returns its length.
 */
size_t		 checksum_final(struct checksum *c, unsigned char out[CHECKSUM_DIGEST_MAX]);

/* Finishes C and writes the base64 digest, NUL-terminated; "" on failure. */
void		 checksum_final_base64(struct checksum *c, char out[CHECKSUM_BASE64_MAX]);

enum checksum_verdict {
	CHECKSUM_MATCH = 0,
	CHECKSUM_MISMATCH,	/* S3: BadDigest */
	CHECKSUM_MALFORMED,	/* not the base64 of a digest of this size: InvalidRequest */
};

/*
 * Finishes C and compares with the base64 value EXPECTED (as sent, exactly
 * one canonical padded base64 digest) in constant time.
 */
enum checksum_verdict checksum_verify(struct checksum *c, const char *expected, size_t len);

/* Idempotent; C may be zeroed or failed-init. */
void		 checksum_free(struct checksum *c);

/*
 * One-shot and chained CRCs, zlib-style: start from 0, pass the previous
 * result to continue (crc(crc(0, a), b) == crc(0, ab)).
 */
uint32_t	 checksum_crc32(uint32_t crc, const void *data, size_t len);
uint32_t	 checksum_crc32c(uint32_t crc, const void *data, size_t len);
uint64_t	 checksum_crc64nvme(uint64_t crc, const void *data, size_t len);

#endif
