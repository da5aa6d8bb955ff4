/*
 * test_errbody: which backend error bodies may reach a client.  AWS's own
 * answers to a bad signature (with the key id, the string to sign, the
 * canonical request) are withheld; the refusal codes are withheld whatever
 * the body holds; the service key id or secret anywhere withholds the
 * body; ordinary errors (NoSuchKey, AccessDenied on an object) are relayed.
 */
#include <stdio.h>
#include <string.h>

#include "proxy/errbody.h"
#include "tests/unit/testlib.h"

#define AKID	"AKIASERVICE0KEY0ID00"
#define SECRET	"service/secret+KEY0000000000000000000000"
#define XML	"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"

static const struct {
	const char		*name;
	const char		*body;
	enum errbody_verdict	 want;
	const char		*code;	/* what is reported for the log */
} cases[] = {
	/* AWS S3's answers, abridged as AWS sends them */
	{ "AWS SignatureDoesNotMatch with the key id and the signing material",
	  XML "<Error><Code>SignatureDoesNotMatch</Code><Message>The request signature we calculated "
	  "does not match the signature you provided. Check your key and signing method.</Message>"
	  "<AWSAccessKeyId>" AKID "</AWSAccessKeyId><StringToSign>AWS4-HMAC-SHA256\n20260101T000000Z\n"
	  "20260101/us-east-1/s3/aws4_request\nabc</StringToSign><SignatureProvided>0123</SignatureProvided>"
	  "<StringToSignBytes>41 57 53</StringToSignBytes><CanonicalRequest>GET\n/b/k\n</CanonicalRequest>"
	  "<CanonicalRequestBytes>47 45 54</CanonicalRequestBytes><RequestId>R</RequestId>"
	  "<HostId>H</HostId></Error>",
	  ERRBODY_SIGNATURE_REFUSED, "SignatureDoesNotMatch" },
	{ "AWS InvalidAccessKeyId echoing the key id",
	  XML "<Error><Code>InvalidAccessKeyId</Code><Message>The AWS Access Key Id you provided does not "
	  "exist in our records.</Message><AWSAccessKeyId>" AKID "</AWSAccessKeyId><RequestId>R</RequestId>"
	  "</Error>", ERRBODY_SIGNATURE_REFUSED, "InvalidAccessKeyId" },
	{ "RequestTimeTooSkewed: the gateway's clock",
	  XML "<Error><Code>RequestTimeTooSkewed</Code><Message>The difference between the request time "
	  "and the current time is too large.</Message><RequestTime>20260101T000000Z</RequestTime></Error>",
	  ERRBODY_SIGNATURE_REFUSED, "RequestTimeTooSkewed" },
	{ "AuthorizationHeaderMalformed: the gateway's region",
	  "<Error><Code>AuthorizationHeaderMalformed</Code><Message>the region 'us-east-1' is wrong; "
	  "expecting 'eu-west-1'</Message><Region>eu-west-1</Region></Error>",
	  ERRBODY_SIGNATURE_REFUSED, "AuthorizationHeaderMalformed" },
	{ "a refusal code without anything secret is still withheld",
	  "<Error><Code>SignatureDoesNotMatch</Code></Error>", ERRBODY_SIGNATURE_REFUSED,
	  "SignatureDoesNotMatch" },
	{ "blanks around the code", "<Error><Code>\n  InvalidAccessKeyId \n</Code></Error>",
	  ERRBODY_SIGNATURE_REFUSED, "InvalidAccessKeyId" },
	{ "ExpiredToken", "<Error><Code>ExpiredToken</Code></Error>", ERRBODY_SIGNATURE_REFUSED,
	  "ExpiredToken" },

	/* the key id or signing material under another code */
	{ "AccessDenied naming the service key id",
	  "<Error><Code>AccessDenied</Code><Message>User " AKID " is not allowed</Message></Error>",
	  ERRBODY_NAMES_CREDENTIALS, "AccessDenied" },
	{ "the key id with no code at all", "denied for " AKID, ERRBODY_NAMES_CREDENTIALS, "" },
	/* the code is logged (proxy) and printed (s3gate-admin check): never the key id or secret */
	{ "the key id as the code", "<Error><Code>" AKID "</Code></Error>",
	  ERRBODY_NAMES_CREDENTIALS, "" },
	{ "the key id inside the code", "<Error><Code>Bad" AKID "Key</Code></Error>",
	  ERRBODY_NAMES_CREDENTIALS, "" },

	{ "the key id as the last bytes", "<Error><Code>X</Code></Error>" AKID,
	  ERRBODY_NAMES_CREDENTIALS, "X" },
	{ "the secret anywhere", "<Error><Code>InternalError</Code><Message>" SECRET "</Message></Error>",
	  ERRBODY_NAMES_CREDENTIALS, "InternalError" },
	{ "a StringToSign under another code",
	  "<Error><Code>AccessDenied</Code><StringToSign>x</StringToSign></Error>",
	  ERRBODY_NAMES_CREDENTIALS, "AccessDenied" },
	{ "a CanonicalRequest under another code",
	  "<Error><Code>InvalidRequest</Code><CanonicalRequest>x</CanonicalRequest></Error>",
	  ERRBODY_NAMES_CREDENTIALS, "InvalidRequest" },
	{ "a SignatureProvided under another code",
	  "<Error><Code>InvalidRequest</Code><SignatureProvided>x</SignatureProvided></Error>",
	  ERRBODY_NAMES_CREDENTIALS, "InvalidRequest" },
	{ "an AWSAccessKeyId element with another key id",
	  "<Error><Code>Foo</Code><AWSAccessKeyId>AKIAOTHER</AWSAccessKeyId></Error>",
	  ERRBODY_NAMES_CREDENTIALS, "Foo" },

	/* relayed as they are */
	{ "NoSuchKey",
	  XML "<Error><Code>NoSuchKey</Code><Message>The specified key does not exist.</Message>"
	  "<Key>a/b</Key><RequestId>R</RequestId><HostId>H</HostId></Error>", ERRBODY_RELAY, "NoSuchKey" },
	{ "RGW NoSuchBucket",
	  XML "<Error><Code>NoSuchBucket</Code><BucketName>b</BucketName>"
	  "<RequestId>tx0</RequestId><HostId>h</HostId></Error>", ERRBODY_RELAY, "NoSuchBucket" },
	{ "AccessDenied on an object", "<Error><Code>AccessDenied</Code><Message>Access Denied</Message>"
	  "</Error>", ERRBODY_RELAY, "AccessDenied" },
	{ "an HTML 503 page", "<html><body>Service Unavailable</body></html>", ERRBODY_RELAY, "" },
	{ "empty", "", ERRBODY_RELAY, "" },
	{ "a refusal code's prefix is another code", "<Error><Code>SignatureDoesNotMatchX</Code></Error>",
	  ERRBODY_RELAY, "SignatureDoesNotMatchX" },
	{ "codes are case-sensitive", "<Error><Code>signaturedoesnotmatch</Code></Error>", ERRBODY_RELAY,
	  "signaturedoesnotmatch" },
	{ "a part of the key id is not the key id", "<Error><Code>X</Code>AKIASERVICE0KEY0ID0</Error>",
	  ERRBODY_RELAY, "X" },
	{ "an unterminated code is not reported", "<Error><Code>NoSuchKey", ERRBODY_RELAY, "" },
	{ "a code with markup inside is not reported", "<Code>No<b>Such</b></Code>", ERRBODY_RELAY, "" },
	{ "a code with odd bytes is not reported", "<Code>No Such\x01Key</Code>", ERRBODY_RELAY, "" },
	{ "only the first code counts", "<Error><Code>NoSuchKey</Code><Code>SignatureDoesNotMatch</Code>",
	  ERRBODY_RELAY, "NoSuchKey" },
};

static void
test_cases(void)
{
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char code[ERRBODY_CODE_MAX];
		enum errbody_verdict v;

		memset(code, 'x', sizeof(code));
		v = errbody_judge(cases[i].body, strlen(cases[i].body), AKID, SECRET, code);
		T_OK(v == cases[i].want, "%s: verdict %d", cases[i].name, (int)v);
		T_STREQ(code, cases[i].code, "%s: code", cases[i].name);
	}
}

/* The body is a length, not a string: a NUL inside it hides nothing. */
static void
test_binary(void)
{
	static const char body[] = "<Error><Code>NoSuchKey</Code>\0" AKID "</Error>";
	char code[ERRBODY_CODE_MAX];

	T_OK(errbody_judge(body, sizeof(body) - 1, AKID, SECRET, code) == ERRBODY_NAMES_CREDENTIALS,
	    "a NUL before the key id hides nothing");
	/* and nothing past LEN is read */
	T_OK(errbody_judge(body, 30, AKID, SECRET, code) == ERRBODY_RELAY,
	    "bytes past the length are not searched");
}

static void
test_credentials(void)
{
	char code[ERRBODY_CODE_MAX];
	static const char body[] = "<Error><Code>NoSuchKey</Code></Error>";
	char longcode[ERRBODY_CODE_MAX + 40];

	T_OK(errbody_judge(body, sizeof(body) - 1, NULL, NULL, code) == ERRBODY_RELAY,
	    "no credentials configured: nothing searched for");
	T_OK(errbody_judge(body, sizeof(body) - 1, "", "", code) == ERRBODY_RELAY,
	    "empty credentials are not found everywhere");
	T_OK(errbody_names_credentials("x-amz-meta: " AKID "\r\n", 32, AKID, NULL),
	    "a head naming the key id");
	T_OK(!errbody_names_credentials("x-amz-request-id: R\r\n", 21, AKID, SECRET),
	    "a head without it");

	/* a code too long to be one is not reported (and not overrun) */
	memcpy(longcode, "<Code>", 6);
	memset(longcode + 6, 'A', ERRBODY_CODE_MAX);
	memcpy(longcode + 6 + ERRBODY_CODE_MAX, "</Code>", 8);
	T_OK(errbody_judge(longcode, strlen(longcode), AKID, SECRET, code) == ERRBODY_RELAY &&
	    code[0] == '\0', "a code of %d bytes is not reported", ERRBODY_CODE_MAX);

	/* a secret that is a plain token (RGW's are 40 letters and digits) as the code: not reported */
	T_OK(errbody_judge("<Code>SvcSecret0000000000000000000000000000</Code>", 50, AKID,
	    "SvcSecret0000000000000000000000000000", code) == ERRBODY_NAMES_CREDENTIALS &&
	    code[0] == '\0', "the secret as the code is not reported");
}

int
main(void)
{
	test_cases();
	test_binary();
	test_credentials();
	return T_DONE();
}
