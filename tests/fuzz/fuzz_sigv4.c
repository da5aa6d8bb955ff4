/*
 * fuzz_sigv4: sigv4_parse (Authorization header and presigned query forms),
 * sigv4_check, the canonical request and sigv4_verify on hostile heads;
 * and SigV2 on the same heads (sigv2_parse, header and query forms,
 * sigv2_check, the string to sign, sigv2_verify), with a property: a head
 * signed with the string sigv2_string_to_sign gives verifies, path style
 * and virtual-hosted alike (the string is a function of the head alone).
 *
 * Input: a request head as text, "METHOD TARGET ...\n" then "Name: value"
 * lines ('\n' or "\r\n"); TARGET is split at the first '?'.  The whole
 * input is also fed to sigv4_parse_authorization as a header value.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "proxy/sigv2.h"
#include "proxy/sigv4.h"

#define FUZZ_MAX_HEADERS	64

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void
fuzz_split_head(const char *p, size_t len, struct sigv4_request *req,
    struct http_header *hdrs)
{
	const char *end = p + len, *eol, *sp, *q, *colon, *vend;

	memset(req, 0, sizeof(*req));
	req->headers = hdrs;
	if ((eol = memchr(p, '\n', len)) == NULL)
		eol = end;
	if ((sp = memchr(p, ' ', (size_t)(eol - p))) == NULL)
		sp = eol;
	req->method = p;
	req->method_len = (size_t)(sp - p);
	if (sp < eol) {
		req->path = sp + 1;
		/* Up to the next space (the HTTP version) or the line's end. */
		if ((q = memchr(req->path, ' ', (size_t)(eol - req->path))) == NULL)
			q = eol;
		req->path_len = (size_t)(q - req->path);
		if ((q = memchr(req->path, '?', req->path_len)) != NULL) {
			req->query = q + 1;
			req->query_len = req->path_len - (size_t)(q + 1 - req->path);
			req->path_len = (size_t)(q - req->path);
		}
	}
	for (p = eol + (eol < end); p < end && req->nheaders < FUZZ_MAX_HEADERS;
	    p = eol + 1) {
		if ((eol = memchr(p, '\n', (size_t)(end - p))) == NULL)
			eol = end;
		vend = eol > p && eol[-1] == '\r' ? eol - 1 : eol;
		if ((colon = memchr(p, ':', (size_t)(vend - p))) != NULL) {
			/* Values without their surrounding blanks, as httpmsg gives them. */
			for (q = colon + 1; q < vend && (*q == ' ' || *q == '\t'); q++)
				;
			while (vend > q && (vend[-1] == ' ' || vend[-1] == '\t'))
				vend--;
			hdrs[req->nheaders].name = p;
			hdrs[req->nheaders].name_len = (size_t)(colon - p);
			hdrs[req->nheaders].value = q;
			hdrs[req->nheaders].value_len = (size_t)(vend - q);
			req->nheaders++;
		}
		if (eol == end)
			break;
	}
}

/* SigV2 on a head that sigv2_parse took; aborts if the property fails. */
static void
fuzz_sigv2(const struct sigv4_request *req, struct sigv2_auth *v2, const char *secret)
{
	static const char *const vhost[] = { NULL, "bkt" };
	struct sbuf sts = SBUF_INIT;
	unsigned int maclen = 0;
	size_t i;

	if (memchr(v2->access_key_id, '\0', sizeof(v2->access_key_id)) == NULL)
		abort();
	(void)sigv2_check(v2, v2->presigned ? v2->expires : v2->date);
	for (i = 0; i < sizeof(vhost) / sizeof(vhost[0]); i++) {
		sbuf_reset(&sts);
		sigv2_string_to_sign(req, v2, vhost[i], &sts);
		if (HMAC(EVP_sha1(), secret, (int)strlen(secret), (const unsigned char *)sts.data,
		    sts.len, v2->signature, &maclen) == NULL || maclen != 20)
			abort();
		if (sigv2_verify(req, v2, vhost[i], secret) != SIGV2_OK)
			abort();
		v2->signature[0] ^= 1;
		if (sigv2_verify(req, v2, vhost[i], secret) != SIGV2_MISMATCH)
			abort();
	}
	sbuf_free(&sts);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char secret[] = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
	struct http_header hdrs[FUZZ_MAX_HEADERS];
	struct sigv4_request req;
	struct sigv4_auth auth;
	struct sigv2_auth v2;
	struct sbuf cr = SBUF_INIT, sts = SBUF_INIT;
	unsigned char key[SIGV4_KEY_LEN];
	char *buf;

	if (size > 65536)
		return 0;
	/* An exact-size copy, so ASan sees any read past the end. */
	if ((buf = malloc(size ? size : 1)) == NULL)
		return 0;
	memcpy(buf, data, size);

	memset(&auth, 0, sizeof(auth));
	(void)sigv4_parse_authorization(buf, size, &auth);

	fuzz_split_head(buf, size, &req, hdrs);
	if (sigv4_parse(&req, &auth) == SIGV4_OK) {
		/* Every copied field is NUL-terminated within its array. */
		if (memchr(auth.access_key_id, '\0', sizeof(auth.access_key_id)) == NULL ||
		    memchr(auth.signed_headers, '\0', sizeof(auth.signed_headers)) == NULL ||
		    strlen(auth.signature) != 64 || strlen(auth.amz_date) != 16)
			abort();
		(void)sigv4_check(&auth, auth.request_time, "us-east-1");
		sigv4_canonical_request(&req, &auth, 0, &cr);
		sigv4_canonical_request(&req, &auth, 1, &cr);
		sigv4_string_to_sign(&auth, cr.data, cr.len, &sts);
		sigv4_signing_key(secret, sizeof(secret) - 1, auth.scope_date,
		    auth.region, auth.service, key);
		(void)sigv4_verify(&req, &auth, key);
	}
	memset(&v2, 0, sizeof(v2));
	if (sigv2_parse(&req, &v2) == SIGV2_OK)
		fuzz_sigv2(&req, &v2, secret);
	sbuf_free(&cr);
	sbuf_free(&sts);
	free(buf);
	return 0;
}
