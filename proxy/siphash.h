/*
 * siphash: SipHash-2-4 (Aumasson and Bernstein, 2012), a keyed 64-bit hash.
 * For tables whose keys a client chooses (its address, names): without the
 * key nobody can pick inputs that pile into one bucket.  Pure.
 */
#ifndef S3GATE_SIPHASH_H
#define S3GATE_SIPHASH_H

#include <stddef.h>
#include <stdint.h>

/* The hash of LEN bytes at DATA under the 16-byte KEY. */
uint64_t	siphash24(const unsigned char key[16], const void *data, size_t len);

#endif
