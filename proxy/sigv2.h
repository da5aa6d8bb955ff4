/*
 * sigv2: AWS Signature Version 2 (HMAC-SHA1) for S3, inbound only.  Pure.
 *
 * SigV4 is what s3gate speaks; SigV2 is accepted (unless `sigv2 off`)
 * because aws-cli v1's `aws s3 presign` and boto3's generate_presigned_url
 * in us-east-1 still make SigV2 links by default, and those links are what
 * workspace users hand to collaborators.  Header form: "Authorization: AWS
 * AKID:SIG"; query form: AWSAccessKeyId, Expires, Signature.
 *
 * StringToSign = METHOD \n Content-MD5 \n Content-Type \n (Date | Expires) \n
 *                CanonicalizedAmzHeaders CanonicalizedResource
 * CanonicalizedResource is the path as sent ("/bucket" prefixed for
 * virtual-hosted requests) plus the S3 sub-resources, sorted.
 */
#ifndef S3GATE_SIGV2_H
#define S3GATE_SIGV2_H

#include <stddef.h>
#include <time.h>

#include "proxy/httpmsg.h"
#include "proxy/sbuf.h"
#include "proxy/sigv4.h"

enum sigv2_status {
	SIGV2_OK = 0,
	SIGV2_NONE,		/* not a SigV2 request */
	SIGV2_MALFORMED,
	SIGV2_EXPIRED,		/* query: Expires in the past */
	SIGV2_EXPIRES_TOO_LONG,	/* query: Expires more than 7 days ahead */
	SIGV2_SKEWED,		/* header: Date/x-amz-date more than 15 min off */
	SIGV2_MISMATCH,
	SIGV2_UNSIGNED_PARAM,	/* a query parameter V2 does not sign, and the form may not carry */
};

struct sigv2_auth {
	int		 presigned;
	char		 access_key_id[129];
	unsigned char	 signature[20];
	time_t		 expires;	/* query form */
	time_t		 date;		/* header form */
	const char	*security_token;	/* x-amz-security-token header or query; raw */
	size_t		 security_token_len;
	int		 security_token_encoded;
};

/*
 * Parses REQ's SigV2 authentication, and refuses (SIGV2_UNSIGNED_PARAM) a
 * query parameter V2 leaves unsigned unless the form may carry it: a
 * presigned link only its authentication (AWSAccessKeyId, Expires,
 * Signature, x-amz-security-token), a header-signed request the listing
 * parameters (prefix, delimiter, list-type, ...); both the signed
 * sub-resources.
 */
enum sigv2_status sigv2_parse(const struct sigv4_request *, struct sigv2_auth *);
enum sigv2_status sigv2_check(const struct sigv2_auth *, time_t now);
/*
 * VHOST_BUCKET is the bucket named by a virtual-hosted Host (NULL for path
 * style): it prefixes the resource.  Appends the string to sign (exposed
 * for tests).
 */
void	 sigv2_string_to_sign(const struct sigv4_request *, const struct sigv2_auth *,
	    const char *vhost_bucket, struct sbuf *out);
enum sigv2_status sigv2_verify(const struct sigv4_request *, const struct sigv2_auth *,
	    const char *vhost_bucket, const char *secret);
const char *sigv2_status_str(enum sigv2_status);

#endif
