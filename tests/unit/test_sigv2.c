/*
 * test_sigv2: Signature Version 2 -- the forms it is parsed from, and the
 * query parameters a V2 request may carry.  V2 signs the path and only its
 * classic sub-resources, so any other parameter could be added to a link
 * after it was signed: a GET link turned into ?retention, ?attributes or a
 * listing of another prefix.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "proxy/sigv2.h"
#include "tests/unit/testlib.h"

#define SECRET	"wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
#define SIG28	"bWq2s1WEIj%2BYdj0vQ697zp%2BIXMU%3D"	/* 20 bytes, base64, encoded */

/* The link's own query; a case appends its extras. */
#define LINK	"AWSAccessKeyId=AKIAIOSFODNN7EXAMPLE&Expires=2000000000&Signature=" SIG28

static const struct {
	const char	*name;
	int		 presigned;	/* query form, else header form */
	const char	*query;		/* what follows the auth parameters ("" or "&...") */
	int		 ok;
} cases[] = {
	/* presigned links: the auth parameters and the signed sub-resources only */
	{ "a plain link", 1, "", 1 },
	{ "a link with a response override", 1, "&response-content-disposition=attachment", 1 },
	{ "a link to a version", 1, "&versionId=3", 1 },
	{ "a link with a session token", 1, "&x-amz-security-token=tok", 1 },
	{ "a link to a part", 1, "&partNumber=2", 1 },
	{ "a link turned into ?retention", 1, "&retention", 0 },
	{ "a link turned into ?legal-hold", 1, "&legal-hold", 0 },
	{ "a link turned into ?attributes", 1, "&attributes", 0 },
	{ "a link turned into a listing", 1, "&list-type=2", 0 },
	{ "a link with another prefix", 1, "&prefix=private/", 0 },
	{ "a link with an object-lock query", 1, "&object-lock", 0 },
	{ "a link with x-amz-acl", 1, "&x-amz-acl=public-read", 0 },
	{ "a link with the SigV4 token name", 1, "&X-Amz-Security-Token=tok", 0 },
	{ "a link with x-id", 1, "&x-id=GetObject", 0 },
	/* header form: the signer's own request; listing parameters as clients send them */
	{ "a header request", 0, "", 1 },
	{ "a header request listing", 0, "list-type=2&prefix=a/&delimiter=/&max-keys=10", 1 },
	{ "a header request, ListObjects v1", 0, "prefix=a/&marker=a/b&encoding-type=url", 1 },
	{ "a header request to ?acl", 0, "acl", 1 },
	{ "a header request listing uploads", 0, "uploads&key-marker=k&upload-id-marker=u", 1 },
	{ "a header request to ?retention", 0, "retention", 0 },
	{ "a header request to ?attributes", 0, "attributes", 0 },
	{ "a header request with x-amz-acl", 0, "x-amz-acl=public-read", 0 },
	{ "a header request with the link's parameters", 0, "AWSAccessKeyId=AK", 0 },
};

static void
request_of(struct sigv4_request *r, struct http_header *h, size_t *nh, const char *query)
{
	memset(r, 0, sizeof(*r));
	r->method = "GET";
	r->method_len = 3;
	r->path = "/bkt/key";
	r->path_len = 8;
	r->query = query[0] ? query : NULL;
	r->query_len = strlen(query);
	r->headers = h;
	r->nheaders = *nh;
}

static void
test_cases(void)
{
	struct http_header h[2];
	struct sigv4_request r;
	struct sigv2_auth a;
	enum sigv2_status st;
	char query[512];
	size_t i, nh;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		nh = 0;
		if (cases[i].presigned)
			snprintf(query, sizeof(query), "%s%s", LINK, cases[i].query);
		else {
			snprintf(query, sizeof(query), "%s", cases[i].query);
			h[nh++] = (struct http_header){ "Authorization", 13,
			    "AWS AKIAIOSFODNN7EXAMPLE:bWq2s1WEIj+Ydj0vQ697zp+IXMU=", 53 };
			h[nh++] = (struct http_header){ "Date", 4, "Tue, 27 Mar 2007 19:36:42 GMT", 29 };
		}
		request_of(&r, h, &nh, query);
		st = sigv2_parse(&r, &a);
		if (cases[i].ok)
			T_OK(st == SIGV2_OK, "%s: parsed (%s)", cases[i].name, sigv2_status_str(st));
		else
			T_OK(st != SIGV2_OK && strstr(sigv2_status_str(st), "Signature Version 2") != NULL,
			    "%s: refused (%s)", cases[i].name, sigv2_status_str(st));
	}
}

/* A link signed here with the secret verifies: the allowed parameters are signed ones. */
static void
test_roundtrip(void)
{
	static const char *const extras[] = { "", "&response-content-type=text/plain&versionId=7" };
	struct sbuf sts = SBUF_INIT, query = SBUF_INIT;
	unsigned char mac[EVP_MAX_MD_SIZE], b64[64];
	unsigned int maclen = 0;
	struct sigv4_request r;
	struct sigv2_auth a;
	size_t i, nh = 0;

	for (i = 0; i < sizeof(extras) / sizeof(extras[0]); i++) {
		/* the string to sign does not depend on the signature: sign with any, then the real one */
		sbuf_reset(&query);
		sbuf_appendf(&query, "%s%s", LINK, extras[i]);
		request_of(&r, NULL, &nh, query.data);
		T_OK(sigv2_parse(&r, &a) == SIGV2_OK, "round trip %zu: parsed", i);
		sbuf_reset(&sts);
		sigv2_string_to_sign(&r, &a, NULL, &sts);
		HMAC(EVP_sha1(), SECRET, (int)strlen(SECRET), (const unsigned char *)sts.data, sts.len,
		    mac, &maclen);
		EVP_EncodeBlock(b64, mac, (int)maclen);
		sbuf_reset(&query);
		sbuf_appendf(&query, "AWSAccessKeyId=AKIAIOSFODNN7EXAMPLE&Expires=2000000000&"
		    "Signature=%s%s", (char *)b64, extras[i]);
		/* base64 '+', '/' and '=' left as they are: query_parse keeps '+' and decodes none */
		request_of(&r, NULL, &nh, query.data);
		T_OK(sigv2_parse(&r, &a) == SIGV2_OK &&
		    sigv2_verify(&r, &a, NULL, SECRET) == SIGV2_OK, "round trip %zu: verifies", i);
		T_OK(sigv2_verify(&r, &a, NULL, "another secret") == SIGV2_MISMATCH,
		    "round trip %zu: another secret does not", i);
	}
	sbuf_free(&sts);
	sbuf_free(&query);
}

int
main(void)
{
	test_cases();
	test_roundtrip();
	return T_DONE();
}
