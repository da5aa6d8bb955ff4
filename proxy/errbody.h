/*
 * errbody: whether a backend's error answer may be relayed to the client.
 * Pure: no I/O, no connection (conn_answer.c reads the body, READ_RESP_WHOLE).
 *
 * s3gate re-signs every request with the service credentials, so a
 * backend that refuses a signature refuses s3gate's, and some S3
 * implementations say so at length: AWS S3 answers SignatureDoesNotMatch
 * with <AWSAccessKeyId> (the service key id), <StringToSign>,
 * <SignatureProvided> and <CanonicalRequest> (the re-signed request), and
 * InvalidAccessKeyId echoes the key id.  Such an answer is the operator's
 * problem, never the client's, and it must not carry the service
 * credentials to a client: it is withheld.  Every other error body (NoSuchKey,
 * AccessDenied on an object, ...) is relayed as it came.
 *
 * The body is not parsed as XML: it is searched.  A withheld answer is one
 * that names the service key id or secret anywhere, holds one of the
 * elements that carry signing material, or whose first <Code> is one of the
 * codes by which a backend refuses the requester's credentials or
 * signature (errbody.c lists them and why).
 */
#ifndef S3GATE_ERRBODY_H
#define S3GATE_ERRBODY_H

#include <stddef.h>

/*
 * The largest error body s3gate reads to judge; a larger one is withheld
 * whole.  S3 error bodies are well under 2 KiB; AWS's SignatureDoesNotMatch
 * with its hex dumps of the string to sign and the canonical request is
 * the largest, about 4 times the signed head.  64 KiB holds that for any
 * ordinary head, and is what a response head may already take (conn_int.h):
 * an error answer costs a connection at most twice that, once, while it
 * is read.
 */
#define ERRBODY_MAX		(64 * 1024)

/* Room for the backend's <Code> as logged: S3 codes are under 40 characters. */
#define ERRBODY_CODE_MAX	64

enum errbody_verdict {
	ERRBODY_RELAY,			/* nothing of s3gate's own: relay it unchanged */
	ERRBODY_SIGNATURE_REFUSED,	/* the backend refused s3gate's credentials or
					   signature (code says which) */
	ERRBODY_NAMES_CREDENTIALS,	/* another answer that names the service
					   credentials or carries signing material */
};

/*
 * Judges BODY (LEN bytes, not necessarily NUL-terminated) against the
 * service credentials AKID and SECRET (NUL-terminated; NULL or "" are not
 * searched for).  CODE receives the body's first <Code> value when it is
 * a plain token (letters, digits, '.', '-', '_', at most
 * ERRBODY_CODE_MAX - 1 bytes) that holds neither credential, else "": it
 * is safe to log.
 */
enum errbody_verdict errbody_judge(const char *body, size_t len, const char *akid,
	    const char *secret, char code[ERRBODY_CODE_MAX]);

/* Whether BUF (LEN bytes) holds AKID or SECRET (as in errbody_judge): for the head too. */
int	errbody_names_credentials(const char *buf, size_t len, const char *akid,
	    const char *secret);

#endif
