#include <stddef.h>
#include <string.h>

#include "proxy/s3err.h"

static const struct s3err_info s3err_table[S3ERR__COUNT] = {
	[S3ERR_NONE] = { 200, "OK", "OK" },
	[S3ERR_BAD_REQUEST] = { 400, "BadRequest", "The request could not be parsed as HTTP/1.1." },
	[S3ERR_HEAD_TOO_LARGE] = { 431, "RequestHeaderSectionTooLarge",
	    "The request head is larger than this server accepts." },
	[S3ERR_URI_TOO_LONG] = { 414, "KeyTooLongError", "The request URI is longer than this server accepts." },
	[S3ERR_INVALID_URI] = { 400, "InvalidURI", "Couldn't parse the specified URI." },
	[S3ERR_INVALID_BUCKET_NAME] = { 400, "InvalidBucketName", "The specified bucket is not valid." },
	[S3ERR_ACCESS_DENIED] = { 403, "AccessDenied", "Access Denied." },
	[S3ERR_ANONYMOUS] = { 403, "AccessDenied",
	    "Anonymous requests are not allowed: sign the request with your access key." },
	[S3ERR_INVALID_ACCESS_KEY] = { 403, "InvalidAccessKeyId",
	    "The AWS Access Key Id you provided does not exist in our records." },
	[S3ERR_SIGNATURE_MISMATCH] = { 403, "SignatureDoesNotMatch",
	    "The request signature we calculated does not match the signature you provided. "
	    "Check your key and signing method." },
	[S3ERR_AUTH_HEADER_MALFORMED] = { 400, "AuthorizationHeaderMalformed",
	    "The authorization header is malformed." },
	[S3ERR_AUTH_QUERY_MALFORMED] = { 400, "AuthorizationQueryParametersError",
	    "The query-string authentication parameters are malformed." },
	[S3ERR_TIME_SKEWED] = { 403, "RequestTimeTooSkewed",
	    "The difference between the request time and the current time is too large." },
	[S3ERR_EXPIRED] = { 403, "AccessDenied", "Request has expired." },
	[S3ERR_EXPIRED_TOKEN] = { 400, "ExpiredToken", "The provided token has expired." },
	[S3ERR_INVALID_TOKEN] = { 400, "InvalidToken", "The provided token is malformed or otherwise invalid." },
	[S3ERR_MISSING_SECURITY_HEADER] = { 400, "MissingSecurityHeader",
	    "Your request was missing a required header." },
	[S3ERR_INVALID_REQUEST] = { 400, "InvalidRequest", "Invalid request." },
	[S3ERR_INVALID_ARGUMENT] = { 400, "InvalidArgument", "Invalid argument." },
	[S3ERR_MISSING_CONTENT_LENGTH] = { 411, "MissingContentLength",
	    "You must provide the Content-Length HTTP header." },
	[S3ERR_NOT_IMPLEMENTED] = { 501, "NotImplemented",
	    "A header or operation you provided implies functionality that is not implemented." },
	[S3ERR_METHOD_NOT_ALLOWED] = { 405, "MethodNotAllowed",
	    "The specified method is not allowed against this resource." },
	[S3ERR_NO_SUCH_BUCKET] = { 404, "NoSuchBucket", "The specified bucket does not exist." },
	[S3ERR_NOT_FOUND] = { 404, "NotFound", "No such resource." },
	[S3ERR_BUCKET_EXISTS] = { 409, "BucketAlreadyExists", "The requested bucket name is not available." },
	[S3ERR_BUCKET_OWNED] = { 409, "BucketAlreadyOwnedByYou",
	    "The bucket you tried to create already exists, and you own it." },
	[S3ERR_REQUEST_TIMEOUT] = { 400, "RequestTimeout",
	    "Your socket connection to the server was not read from or written to within the timeout period." },
	[S3ERR_INCOMPLETE_BODY] = { 400, "IncompleteBody",
	    "You did not provide the number of bytes specified by the Content-Length HTTP header." },
	[S3ERR_BAD_DIGEST] = { 400, "BadDigest",
	    "The checksum you specified did not match what we received." },
	[S3ERR_MALFORMED_XML] = { 400, "MalformedXML",
	    "The XML you provided was not well-formed or did not validate against our published schema." },
	[S3ERR_ENTITY_TOO_LARGE] = { 400, "EntityTooLarge",
	    "Your proposed upload exceeds the maximum allowed size." },
	[S3ERR_SLOW_DOWN] = { 503, "SlowDown", "Please reduce your request rate." },
	[S3ERR_POLICY_UNAVAILABLE] = { 503, "ServiceUnavailable",
	    "The access policy cannot be checked right now (policy store unreachable); try again later." },
	[S3ERR_BACKEND_UNAVAILABLE] = { 503, "ServiceUnavailable",
	    "The object store behind this proxy cannot be reached; try again later." },
	[S3ERR_BACKEND_BAD_RESPONSE] = { 502, "BadGateway",
	    "The object store behind this proxy sent an invalid response." },
	[S3ERR_BACKEND_TIMEOUT] = { 504, "GatewayTimeout",
	    "The object store behind this proxy did not answer in time." },
	/*
	 * 502, not the backend's 403: the refusal is of s3gate's service
	 * credentials, never the client's, and a 403 SignatureDoesNotMatch
	 * would send users to check keys that are fine.  Nor 500: s3gate
	 * itself did nothing wrong; the answer from upstream is unusable (RFC
	 * 9110 15.6.3), and SDKs retry a 502 a few times, which is harmless.
	 */
	[S3ERR_BACKEND_REFUSED_SIGNATURE] = { 502, "BadGateway",
	    "The object store behind this proxy refused the proxy's own credentials "
	    "(not yours); the operator has been told." },
	[S3ERR_BACKEND_ERROR_WITHHELD] = { 502, "BadGateway",
	    "The object store behind this proxy sent an error answer this proxy does not pass on; "
	    "the operator has been told." },
	[S3ERR_INTERNAL] = { 500, "InternalError", "We encountered an internal error. Please try again." },
	[S3ERR_SHUTTING_DOWN] = { 503, "ServiceUnavailable", "The server is shutting down; try again." },
	[S3ERR_TOO_MANY_CONNECTIONS] = { 503, "SlowDown", "Too many connections; please reduce your request rate." },
	[S3ERR_TOO_MANY_BUCKETS] = { 400, "TooManyBuckets",
	    "You have attempted to create more buckets than allowed." },
};

const struct s3err_info *
s3err_info(enum s3err e)
{
	if ((unsigned)e >= S3ERR__COUNT)
		e = S3ERR_INTERNAL;
	return &s3err_table[e];
}

const char *
s3err_reason_phrase(int status)
{
	switch (status) {
	case 100: return "Continue";
	case 200: return "OK";
	case 201: return "Created";
	case 204: return "No Content";
	case 206: return "Partial Content";
	case 304: return "Not Modified";
	case 400: return "Bad Request";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 409: return "Conflict";
	case 411: return "Length Required";
	case 414: return "URI Too Long";
	case 416: return "Range Not Satisfiable";
	case 431: return "Request Header Fields Too Large";
	case 500: return "Internal Server Error";
	case 501: return "Not Implemented";
	case 502: return "Bad Gateway";
	case 503: return "Service Unavailable";
	case 504: return "Gateway Timeout";
	default: return "Unknown";
	}
}

void
s3err_xml(struct sbuf *sb, enum s3err e, const char *message, const char *resource,
    const char *request_id)
{
	const struct s3err_info *info = s3err_info(e);

	if (message == NULL || *message == '\0')
		message = info->message;
	sbuf_appends(sb, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>");
	sbuf_appends(sb, info->code);
	sbuf_appends(sb, "</Code><Message>");
	sbuf_append_xml(sb, message, strlen(message));
	sbuf_appends(sb, "</Message>");
	if (resource != NULL) {
		sbuf_appends(sb, "<Resource>");
		sbuf_append_xml(sb, resource, strlen(resource));
		sbuf_appends(sb, "</Resource>");
	}
	sbuf_appends(sb, "<RequestId>");
	sbuf_appends(sb, request_id ? request_id : "");
	sbuf_appends(sb, "</RequestId></Error>\n");
}
