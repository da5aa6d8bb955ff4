#include <stddef.h>
#include <string.h>

#include "proxy/errbody.h"

/*
 * The codes by which a backend refuses the requester's credentials or
 * signature.  The requester is always s3gate (the client's own auth is
 * stripped and the request re-signed), so each of these is the operator's
 * to fix -- the service key (SignatureDoesNotMatch, InvalidAccessKeyId,
 * InvalidClientTokenId, InvalidSecurity), the region in the signing scope
 * (AuthorizationHeaderMalformed), the host's clock (RequestTimeTooSkewed,
 * RequestExpired), a session token s3gate would have sent (InvalidToken,
 * ExpiredToken, TokenRefreshRequired), the service account itself
 * (AccountProblem, NotSignedUp) -- and relaying one would tell a client its
 * own keys are wrong when they are not.  AWS's answers to the first ones
 * echo the key id and the signing material besides.
 */
static const char *const errbody_refusal_codes[] = {
	"AccountProblem",
	"AuthorizationHeaderMalformed",
	"AuthorizationQueryParametersError",
	"ExpiredToken",
	"IncompleteSignature",
	"InvalidAccessKeyId",
	"InvalidClientTokenId",
	"InvalidSecurity",
	"InvalidToken",
	"MissingAuthenticationToken",
	"NotSignedUp",
	"RequestExpired",
	"RequestTimeTooSkewed",
	"SignatureDoesNotMatch",
	"TokenRefreshRequired",
};

/*
 * Elements that carry what s3gate signed or signed with (AWS's
 * SignatureDoesNotMatch; the *Bytes variants share the prefixes): whatever
 * the code, an answer holding one describes s3gate's signing, not the
 * client's request.
 */
static const char *const errbody_signing_elements[] = {
	"<AWSAccessKeyId",
	"<StringToSign",
	"<SignatureProvided",
	"<CanonicalRequest",
};

static int
errbody_holds(const char *buf, size_t len, const char *needle)
{
	size_t n;

	if (needle == NULL || (n = strlen(needle)) == 0)
		return 0;
	return memmem(buf, len, needle, n) != NULL;
}

int
errbody_names_credentials(const char *buf, size_t len, const char *akid, const char *secret)
{
	return errbody_holds(buf, len, akid) || errbody_holds(buf, len, secret);
}

static int
errbody_code_char(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	    c == '.' || c == '-' || c == '_';
}

static int
errbody_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* The first <Code>'s value into CODE if it is a plain token up to </Code> (blanks around it allowed), else "". */
static void
errbody_code(const char *body, size_t len, char code[ERRBODY_CODE_MAX])
{
	static const char open[] = "<Code>", close[] = "</Code>";
	const char *p, *end = body + len, *start;
	size_t n;

	code[0] = '\0';
	if ((p = memmem(body, len, open, sizeof(open) - 1)) == NULL)
		return;
	p += sizeof(open) - 1;
	while (p < end && errbody_blank(*p))
		p++;
	start = p;
	while (p < end && errbody_code_char(*p))
		p++;
	n = (size_t)(p - start);
	while (p < end && errbody_blank(*p))
		p++;
	if (n == 0 || n >= ERRBODY_CODE_MAX || (size_t)(end - p) < sizeof(close) - 1 ||
	    memcmp(p, close, sizeof(close) - 1) != 0)
		return;
	memcpy(code, start, n);
	code[n] = '\0';
}

enum errbody_verdict
errbody_judge(const char *body, size_t len, const char *akid, const char *secret,
    char code[ERRBODY_CODE_MAX])
{
	size_t i;

	errbody_code(body, len, code);
	/* the code is logged and printed (s3gate-admin check): never one that names them */
	if (errbody_names_credentials(code, strlen(code), akid, secret))
		code[0] = '\0';
	for (i = 0; i < sizeof(errbody_refusal_codes) / sizeof(errbody_refusal_codes[0]); i++)
		if (strcmp(code, errbody_refusal_codes[i]) == 0)
			return ERRBODY_SIGNATURE_REFUSED;
	if (errbody_names_credentials(body, len, akid, secret))
		return ERRBODY_NAMES_CREDENTIALS;
	for (i = 0; i < sizeof(errbody_signing_elements) / sizeof(errbody_signing_elements[0]); i++)
		if (errbody_holds(body, len, errbody_signing_elements[i]))
			return ERRBODY_NAMES_CREDENTIALS;
	return ERRBODY_RELAY;
}
