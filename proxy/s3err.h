/*
 * s3err: every failure s3gate answers itself is one enum value; one table
 * maps it to the HTTP status, the S3 error code clients understand and a
 * default message.  The connection stores the value and the error is
 * logged once, at the end of the request.
 */
#ifndef S3GATE_S3ERR_H
#define S3GATE_S3ERR_H

#include "proxy/sbuf.h"

enum s3err {
	S3ERR_NONE = 0,
	S3ERR_BAD_REQUEST,		/* 400 malformed HTTP, smuggling shapes */
	S3ERR_HEAD_TOO_LARGE,		/* 431 */
	S3ERR_URI_TOO_LONG,		/* 414 */
	S3ERR_INVALID_URI,		/* 400 InvalidURI: bad escapes, NUL */
	S3ERR_INVALID_BUCKET_NAME,	/* 400 */
	S3ERR_ACCESS_DENIED,		/* 403 */
	S3ERR_ANONYMOUS,		/* 403 AccessDenied, no credentials */
	S3ERR_INVALID_ACCESS_KEY,	/* 403 InvalidAccessKeyId */
	S3ERR_SIGNATURE_MISMATCH,	/* 403 SignatureDoesNotMatch */
	S3ERR_AUTH_HEADER_MALFORMED,	/* 400 AuthorizationHeaderMalformed */
	S3ERR_AUTH_QUERY_MALFORMED,	/* 400 AuthorizationQueryParametersError */
	S3ERR_TIME_SKEWED,		/* 403 RequestTimeTooSkewed */
	S3ERR_EXPIRED,			/* 403 AccessDenied "Request has expired" */
	S3ERR_EXPIRED_TOKEN,		/* 400 ExpiredToken */
	S3ERR_INVALID_TOKEN,		/* 400 InvalidToken */
	S3ERR_MISSING_SECURITY_HEADER,	/* 400 */
	S3ERR_INVALID_REQUEST,		/* 400 InvalidRequest */
	S3ERR_INVALID_ARGUMENT,		/* 400 */
	S3ERR_MISSING_CONTENT_LENGTH,	/* 411 */
	S3ERR_NOT_IMPLEMENTED,		/* 501 */
	S3ERR_METHOD_NOT_ALLOWED,	/* 405 */
	S3ERR_NO_SUCH_BUCKET,		/* 404 */
	S3ERR_NOT_FOUND,		/* 404 for /_s3gate/ paths */
	S3ERR_BUCKET_EXISTS,		/* 409 BucketAlreadyExists */
	S3ERR_BUCKET_OWNED,		/* 409 BucketAlreadyOwnedByYou */
	S3ERR_REQUEST_TIMEOUT,		/* 400 RequestTimeout (body too slow) */
	S3ERR_INCOMPLETE_BODY,		/* 400 IncompleteBody */
	S3ERR_BAD_DIGEST,		/* 400 BadDigest */
	S3ERR_MALFORMED_XML,		/* 400 MalformedXML */
	S3ERR_ENTITY_TOO_LARGE,		/* 400 EntityTooLarge */
	S3ERR_SLOW_DOWN,		/* 503 SlowDown */
	S3ERR_POLICY_UNAVAILABLE,	/* 503 ServiceUnavailable */
	S3ERR_BACKEND_UNAVAILABLE,	/* 503 ServiceUnavailable */
	S3ERR_BACKEND_BAD_RESPONSE,	/* 502 BadGateway */
	S3ERR_BACKEND_TIMEOUT,		/* 504 GatewayTimeout */
	S3ERR_BACKEND_REFUSED_SIGNATURE,	/* 502 BadGateway: the backend refused s3gate's
					   own credentials or signature (errbody.h) */
	S3ERR_BACKEND_ERROR_WITHHELD,	/* 502 BadGateway: an error body naming the service
					   credentials, or too large to be checked */
	S3ERR_INTERNAL,			/* 500 InternalError */
	S3ERR_SHUTTING_DOWN,		/* 503 ServiceUnavailable */
	S3ERR_TOO_MANY_CONNECTIONS,	/* 503 SlowDown */
	S3ERR_TOO_MANY_BUCKETS,		/* 400 TooManyBuckets (a workspace's most) */
	S3ERR__COUNT
};

struct s3err_info {
	int		 status;
	const char	*code;
	const char	*message;	/* default; never empty (aws-cli v1 crashes on empty) */
};

const struct s3err_info *s3err_info(enum s3err);
const char	*s3err_reason_phrase(int status);

/*
 * Appends a complete S3 XML error body.  MESSAGE overrides the default when
 * not NULL; RESOURCE (the path) and REQUEST_ID are included.
 */
void	 s3err_xml(struct sbuf *, enum s3err, const char *message,
	    const char *resource, const char *request_id);

#endif
