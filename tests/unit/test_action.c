/*
 * test_action: the S3 action table, one row per operation s3gate maps.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy/policy.h"
#include "proxy/sbuf.h"
#include "tests/unit/testlib.h"

struct row {
	const char	*method;
	const char	*bucket;
	const char	*key;
	const char	*query;		/* "a=1&b" (no decoding needed here) */
	const char	*copy;		/* x-amz-copy-source or NULL */
	const char	*action;
	enum s3_need	 need;
	int		 rc;
	const char	*copy_bucket;
	const char	*copy_key;
	const char	*copy_version;
	const char	*list_prefix;
	int		 acl_op;
};

#define B "bkt"
#define K "dir/file.txt"

static const struct row rows[] = {
	{ "GET", NULL, NULL, "", NULL, "ListBuckets", NEED_PROXY, 0, 0, 0, 0, 0, 0 },
	{ "PUT", NULL, NULL, "", NULL, "Unknown", NEED_DENY, 0, 0, 0, 0, 0, 0 },
	{ "HEAD", B, NULL, "", NULL, "HeadBucket", NEED_READ, 0, 0, 0, 0, 0, 0 },
	{ "GET", B, NULL, "", NULL, "ListObjects", NEED_LIST, 0, 0, 0, 0, "", 0 },
	{ "GET", B, NULL, "prefix=a/b/&delimiter=/", NULL, "ListObjects", NEED_LIST, 0, 0, 0, 0,
	    "a/b/", 0 },
	{ "GET", B, NULL, "list-type=2&prefix=x/&max-keys=10", NULL, "ListObjectsV2", NEED_LIST,
	    0, 0, 0, 0, "x/", 0 },
	{ "GET", B, NULL, "list-type=3", NULL, "Unknown", NEED_DENY, 0, 0, 0, 0, 0, 0 },
	{ "GET", B, NULL, "versions&prefix=p", NULL, "ListObjectVersions", NEED_LIST, 0, 0, 0,
	    0, "p", 0 },
	{ "GET", B, NULL, "uploads", NULL, "ListMultipartUploads", NEED_LIST, 0, 0, 0, 0, "", 0 },
	{ "GET", B, NULL, "location", NULL, "GetBucketLocation", NEED_READ, 0, 0, 0, 0, 0, 0 },
	{ "POST", B, NULL, "delete", NULL, "DeleteObjects", NEED_WRITE, 0, 0, 0, 0, 0, 0 },
	{ "PUT", B, NULL, "", NULL, "CreateBucket", NEED_PROXY, 0, 0, 0, 0, 0, 0 },
	{ "DELETE", B, NULL, "", NULL, "DeleteBucket", NEED_PROXY, 0, 0, 0, 0, 0, 0 },
	{ "GET", B, NULL, "acl", NULL, "GetBucketAcl", NEED_DENY, 0, 0, 0, 0, 0, 1 },
	{ "PUT", B, NULL, "acl", NULL, "PutBucketAcl", NEED_DENY, 0, 0, 0, 0, 0, 1 },
	{ "GET", B, NULL, "policy", NULL, "GetBucketPolicy", NEED_DENY, 0, 0, 0, 0, 0, 1 },
	{ "PUT", B, NULL, "policy", NULL, "PutBucketPolicy", NEED_DENY, 0, 0, 0, 0, 0, 1 },
	{ "DELETE", B, NULL, "policy", NULL, "DeleteBucketPolicy", NEED_DENY, 0, 0, 0, 0, 0, 1 },
	{ "GET", B, NULL, "policyStatus", NULL, "GetBucketPolicyStatus", NEED_DENY, 0, 0, 0, 0,
	    0, 1 },
	{ "PUT", B, NULL, "publicAccessBlock", NULL, "PutPublicAccessBlock", NEED_DENY, 0, 0, 0,
	    0, 0, 1 },
	{ "PUT", B, NULL, "ownershipControls", NULL, "PutBucketOwnershipControls", NEED_DENY, 0,
	    0, 0, 0, 0, 1 },
	{ "GET", B, NULL, "versioning", NULL, "GetBucketVersioning", NEED_BUCKET_CONFIG, 0, 0, 0,
	    0, 0, 0 },
	{ "PUT", B, NULL, "versioning", NULL, "PutBucketVersioning", NEED_BUCKET_CONFIG, 0, 0, 0,
	    0, 0, 0 },
	{ "GET", B, NULL, "lifecycle", NULL, "GetBucketLifecycleConfiguration",
	    NEED_BUCKET_CONFIG, 0, 0, 0, 0, 0, 0 },
	{ "PUT", B, NULL, "lifecycle", NULL, "PutBucketLifecycleConfiguration",
	    NEED_BUCKET_CONFIG, 0, 0, 0, 0, 0, 0 },
	{ "DELETE", B, NULL, "lifecycle", NULL, "DeleteBucketLifecycle", NEED_BUCKET_CONFIG, 0,
	    0, 0, 0, 0, 0 },
	{ "GET", B, NULL, "cors", NULL, "GetBucketCors", NEED_BUCKET_CONFIG, 0, 0, 0, 0, 0, 0 },
	{ "PUT", B, NULL, "cors", NULL, "PutBucketCors", NEED_BUCKET_CONFIG, 0, 0, 0, 0, 0, 0 },
	{ "DELETE", B, NULL, "cors", NULL, "DeleteBucketCors", NEED_BUCKET_CONFIG, 0, 0, 0, 0, 0,
	    0 },
	{ "GET", B, NULL, "tagging", NULL, "GetBucketTagging", NEED_BUCKET_CONFIG, 0, 0, 0, 0, 0,
	    0 },
	{ "PUT", B, NULL, "tagging", NULL, "PutBucketTagging", NEED_BUCKET_CONFIG, 0, 0, 0, 0, 0,
	    0 },
	{ "DELETE", B, NULL, "tagging", NULL, "DeleteBucketTagging", NEED_BUCKET_CONFIG, 0, 0, 0,
	    0, 0, 0 },
	{ "PUT", B, NULL, "encryption", NULL, "PutBucketEncryption", NEED_BUCKET_CONFIG, 0, 0, 0,
	    0, 0, 0 },
	{ "GET", B, NULL, "website", NULL, "GetBucketWebsite", NEED_BUCKET_CONFIG, 0, 0, 0, 0, 0,
	    0 },
	{ "PUT", B, NULL, "logging", NULL, "PutBucketLogging", NEED_BUCKET_CONFIG, 0, 0, 0, 0, 0,
	    0 },
	{ "GET", B, NULL, "notification", NULL, "GetBucketNotificationConfiguration",
	    NEED_BUCKET_CONFIG, 0, 0, 0, 0, 0, 0 },
	{ "PUT", B, NULL, "replication", NULL, "PutBucketReplication", NEED_BUCKET_CONFIG, 0, 0,
	    0, 0, 0, 0 },
	{ "GET", B, NULL, "requestPayment", NULL, "GetBucketRequestPayment", NEED_BUCKET_CONFIG,
	    0, 0, 0, 0, 0, 0 },
	{ "PUT", B, NULL, "accelerate", NULL, "PutBucketAccelerateConfiguration",
	    NEED_BUCKET_CONFIG, 0, 0, 0, 0, 0, 0 },
	{ "GET", B, NULL, "object-lock", NULL, "GetObjectLockConfiguration", NEED_BUCKET_CONFIG,
	    0, 0, 0, 0, 0, 0 },
	{ "GET", B, NULL, "analytics&id=a", NULL, "GetBucketAnalyticsConfiguration",
	    NEED_BUCKET_CONFIG, 0, 0, 0, 0, 0, 0 },
	{ "PUT", B, NULL, "metrics&id=m", NULL, "PutBucketMetricsConfiguration",
	    NEED_BUCKET_CONFIG, 0, 0, 0, 0, 0, 0 },
	{ "DELETE", B, NULL, "inventory&id=i", NULL, "DeleteBucketInventoryConfiguration",
	    NEED_BUCKET_CONFIG, 0, 0, 0, 0, 0, 0 },
	{ "GET", B, NULL, "intelligent-tiering", NULL,
	    "GetBucketIntelligentTieringConfiguration", NEED_BUCKET_CONFIG, 0, 0, 0, 0, 0, 0 },
	{ "POST", B, NULL, "", NULL, "PostObject", NEED_DENY, 0, 0, 0, 0, 0, 0 },

	{ "GET", B, K, "", NULL, "GetObject", NEED_READ, 0, 0, 0, 0, 0, 0 },
	{ "GET", B, K, "versionId=v1&response-content-type=text/plain", NULL, "GetObject",
	    NEED_READ, 0, 0, 0, 0, 0, 0 },
	{ "GET", B, K, "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Signature=ab&x-id=GetObject",
	    NULL, "GetObject", NEED_READ, 0, 0, 0, 0, 0, 0 },
	{ "GET", B, K, "partNumber=2", NULL, "GetObject", NEED_READ, 0, 0, 0, 0, 0, 0 },
	{ "HEAD", B, K, "", NULL, "HeadObject", NEED_READ, 0, 0, 0, 0, 0, 0 },
	{ "GET", B, K, "tagging", NULL, "GetObjectTagging", NEED_READ, 0, 0, 0, 0, 0, 0 },
	{ "GET", B, K, "attributes", NULL, "GetObjectAttributes", NEED_READ, 0, 0, 0, 0, 0, 0 },
	{ "GET", B, K, "retention", NULL, "GetObjectRetention", NEED_READ, 0, 0, 0, 0, 0, 0 },
	{ "GET", B, K, "legal-hold", NULL, "GetObjectLegalHold", NEED_READ, 0, 0, 0, 0, 0, 0 },
	{ "GET", B, K, "uploadId=u1", NULL, "ListParts", NEED_READ, 0, 0, 0, 0, 0, 0 },
	{ "POST", B, K, "select&select-type=2", NULL, "SelectObjectContent", NEED_READ, 0, 0, 0,
	    0, 0, 0 },
	{ "PUT", B, K, "", NULL, "PutObject", NEED_WRITE, 0, 0, 0, 0, 0, 0 },
	{ "PUT", B, K, "", "src-bucket/a/b%20c.txt", "CopyObject", NEED_WRITE, 0, "src-bucket",
	    "a/b c.txt", NULL, 0, 0 },
	{ "PUT", B, K, "", "/src/k%3Fq?versionId=3%2F4", "CopyObject", NEED_WRITE, 0, "src",
	    "k?q", "3/4", 0, 0 },
	{ "PUT", B, K, "", "/src/%E2%9C%93+x", "CopyObject", NEED_WRITE, 0, "src", "\xe2\x9c\x93+x",
	    NULL, 0, 0 },
	{ "PUT", B, K, "", "nobucketslash", "CopyObject", NEED_DENY, -1, 0, 0, 0, 0, 0 },
	{ "PUT", B, K, "", "/src/", "CopyObject", NEED_DENY, -1, 0, 0, 0, 0, 0 },
	{ "PUT", B, K, "", "/src/k%zz", "CopyObject", NEED_DENY, -1, 0, 0, 0, 0, 0 },
	{ "PUT", B, K, "", "/src/k?acl", "CopyObject", NEED_DENY, -1, 0, 0, 0, 0, 0 },
	{ "PUT", B, K, "partNumber=1&uploadId=u1", NULL, "UploadPart", NEED_WRITE, 0, 0, 0, 0, 0,
	    0 },
	{ "PUT", B, K, "uploadId=u1&partNumber=1", "src/obj?versionId=9", "UploadPartCopy",
	    NEED_WRITE, 0, "src", "obj", "9", 0, 0 },
	/*
	 * RGW decodes an UploadPartCopy source twice ("p%2541/x" reads "pA/x")
	 * and looks for "?versionId=" after the first: refused.  CopyObject
	 * decodes once, as s3gate does.
	 */
	{ "PUT", B, K, "uploadId=u1&partNumber=1", "src/p%2541/x", "UploadPartCopy", NEED_DENY,
	    -1, 0, 0, 0, 0, 0 },
	{ "PUT", B, K, "uploadId=u1&partNumber=1", "src/a%3FversionId%3D1", "UploadPartCopy",
	    NEED_DENY, -1, 0, 0, 0, 0, 0 },
	{ "PUT", B, K, "uploadId=u1&partNumber=1", "src/100%25", "UploadPartCopy", NEED_DENY, -1,
	    0, 0, 0, 0, 0 },
	{ "PUT", B, K, "uploadId=u1&partNumber=1", "src/a%3Fb?versionId=9", "UploadPartCopy",
	    NEED_WRITE, 0, "src", "a?b", "9", 0, 0 },
	{ "PUT", B, K, "", "src/p%2541/x", "CopyObject", NEED_WRITE, 0, "src", "p%41/x", NULL, 0,
	    0 },
	{ "PUT", B, K, "uploadId=u1", NULL, "Unknown", NEED_DENY, 0, 0, 0, 0, 0, 0 },
	{ "DELETE", B, K, "", NULL, "DeleteObject", NEED_WRITE, 0, 0, 0, 0, 0, 0 },
	{ "DELETE", B, K, "versionId=v", NULL, "DeleteObject", NEED_WRITE, 0, 0, 0, 0, 0, 0 },
	{ "POST", B, K, "uploads", NULL, "CreateMultipartUpload", NEED_WRITE, 0, 0, 0, 0, 0, 0 },
	{ "POST", B, K, "uploadId=u1", NULL, "CompleteMultipartUpload", NEED_WRITE, 0, 0, 0, 0, 0,
	    0 },
	{ "DELETE", B, K, "uploadId=u1", NULL, "AbortMultipartUpload", NEED_WRITE, 0, 0, 0, 0, 0,
	    0 },
	{ "PUT", B, K, "tagging", NULL, "PutObjectTagging", NEED_WRITE, 0, 0, 0, 0, 0, 0 },
	{ "DELETE", B, K, "tagging", NULL, "DeleteObjectTagging", NEED_WRITE, 0, 0, 0, 0, 0, 0 },
	{ "PUT", B, K, "retention", NULL, "PutObjectRetention", NEED_BUCKET_CONFIG, 0, 0, 0, 0, 0,
	    0 },
	{ "PUT", B, K, "legal-hold", NULL, "PutObjectLegalHold", NEED_BUCKET_CONFIG, 0, 0, 0, 0,
	    0, 0 },
	{ "GET", B, K, "acl", NULL, "GetObjectAcl", NEED_DENY, 0, 0, 0, 0, 0, 1 },
	{ "PUT", B, K, "acl", NULL, "PutObjectAcl", NEED_DENY, 0, 0, 0, 0, 0, 1 },
	{ "GET", B, K, "torrent", NULL, "GetObjectTorrent", NEED_DENY, 0, 0, 0, 0, 0, 0 },
	{ "POST", B, K, "restore", NULL, "RestoreObject", NEED_DENY, 0, 0, 0, 0, 0, 0 },

	/* refused: unknown parameters, two subresources, repeats, unknown methods */
	{ "GET", B, K, "frobnicate", NULL, "Unknown", NEED_DENY, 0, 0, 0, 0, 0, 0 },
	{ "PUT", B, K, "tagging&acl", NULL, "Unknown", NEED_DENY, 0, 0, 0, 0, 0, 0 },
	{ "GET", B, K, "uploadId=a&uploadId=b", NULL, NULL, NEED_DENY, -1, 0, 0, 0, 0, 0 },
	{ "PATCH", B, K, "", NULL, "Unknown", NEED_DENY, 0, 0, 0, 0, 0, 0 },
	{ "OPTIONS", B, NULL, "", NULL, "Unknown", NEED_DENY, 0, 0, 0, 0, 0, 0 },
	{ "GET", B, NULL, "session", NULL, "Unknown", NEED_DENY, 0, 0, 0, 0, 0, 0 },
};

/*
 * What a request's headers and repeated or unknown query parameters do to
 * its classification: each case is one request.  RC -1 is a 400
 * InvalidArgument; REASON, when set, must appear in deny_reason.
 */
struct hcase {
	const char	*name;
	const char	*method;
	const char	*bucket;
	const char	*key;
	const char	*query;
	const char	*headers[4];	/* "Name: value"; NULL ends */
	int		 rc;
	const char	*action;
	enum s3_need	 need;
	int		 acl_op;
	const char	*reason;
};

#define NOH	{ NULL }

static const struct hcase hcases[] = {
	/* 1. a repeated query parameter: the backend may use another value than the policy */
	{ "repeated prefix on a listing", "GET", B, NULL, "list-type=2&prefix=pub/&prefix=zzz/",
	  NOH, -1, NULL, NEED_DENY, 0, "\"prefix\"" },
	{ "repeated prefix, same value", "GET", B, NULL, "prefix=a&prefix=a", NOH, -1,
	  NULL, NEED_DENY, 0, "\"prefix\"" },
	{ "repeated prefix, one without '='", "GET", B, NULL, "prefix&prefix=x", NOH, -1,
	  NULL, NEED_DENY, 0, "prefix" },
	{ "repeated delimiter", "GET", B, NULL, "delimiter=/&delimiter=x", NOH, -1, NULL,
	  NEED_DENY, 0, "delimiter" },
	{ "repeated list-type", "GET", B, NULL, "list-type=2&list-type=1", NOH, -1, NULL,
	  NEED_DENY, 0, "list-type" },
	{ "repeated versionId", "GET", B, K, "versionId=1&versionId=2", NOH, -1, NULL,
	  NEED_DENY, 0, "versionId" },
	{ "repeated response override", "GET", B, K,
	  "response-content-type=a&response-content-type=b", NOH, -1, NULL, NEED_DENY, 0,
	  "response-content-type" },
	/* 1. a response override holding a control character (decoded): it would be a header line */
	{ "response-content-type with CR LF", "GET", B, K,
	  "response-content-type=text/plain\r\nSet-Cookie: a=b", NOH, -1, NULL, NEED_DENY, 0,
	  "response-content-type" },
	{ "response-content-disposition with a bare LF", "GET", B, K,
	  "response-content-disposition=a\nb", NOH, -1, NULL, NEED_DENY, 0, "control character" },
	{ "response-expires with a tab", "GET", B, K, "response-expires=a\tb", NOH, -1, NULL,
	  NEED_DENY, 0, "response-expires" },
	{ "response-cache-control with DEL", "GET", B, K, "response-cache-control=a\x7f" "b", NOH, -1,
	  NULL, NEED_DENY, 0, "response-cache-control" },
	{ "response-content-disposition with UTF-8 and spaces is fine", "GET", B, K,
	  "response-content-disposition=attachment; filename=\"r\xc3\xa9sum\xc3\xa9.pdf\"", NOH,
	  0, "GetObject", NEED_READ, 0, NULL },
	{ "a prefix with LF is a key's (listings)", "GET", B, NULL, "prefix=a\nb", NOH, 0,
	  "ListObjects", NEED_LIST, 0, NULL },
	{ "repeated auth parameter, two spellings", "GET", B, K,
	  "X-Amz-Security-Token=a&x-amz-security-token=b", NOH, -1, NULL, NEED_DENY, 0,
	  "x-amz-security-token" },
	{ "distinct parameters are fine", "GET", B, NULL,
	  "list-type=2&prefix=p/&delimiter=/&max-keys=5&start-after=p/a&encoding-type=url", NOH,
	  0, "ListObjectsV2", NEED_LIST, 0, NULL },
	/* 1. a repeated x-amz-copy-source header */
	{ "two copy sources", "PUT", B, K, "", { "x-amz-copy-source: src/a",
	  "X-Amz-Copy-Source: other/b", NULL }, -1, NULL, NEED_DENY, 0,
	  "x-amz-copy-source" },
	/* a ranged CopyObject: RGW copies it as UploadPartCopy, decoding the source twice */
	{ "ranged CopyObject of a key with an escape", "PUT", B, K, "",
	  { "x-amz-copy-source: src/p%2541/x", "x-amz-copy-source-range: bytes=0-9", NULL }, -1,
	  "CopyObject", NEED_DENY, 0, "decode" },
	{ "ranged CopyObject of a plain key", "PUT", B, K, "",
	  { "x-amz-copy-source: src/p/x", "X-Amz-Copy-Source-Range: bytes=0-9", NULL }, 0,
	  "CopyObject", NEED_WRITE, 0, NULL },

	/* 2. ACLs in headers: as ?acl, nobody's unless the operator enables them */
	{ "PutObject x-amz-acl public-read", "PUT", B, K, "", { "x-amz-acl: public-read", NULL },
	  0, "PutObject", NEED_DENY, 1, "x-amz-acl" },
	{ "PutObject x-amz-acl authenticated-read", "PUT", B, K, "",
	  { "X-Amz-Acl: authenticated-read", NULL }, 0, "PutObject", NEED_DENY, 1, NULL },
	{ "PutObject x-amz-acl Private (canned ACLs are lower-case)", "PUT", B, K, "",
	  { "x-amz-acl: Private", NULL }, 0, "PutObject", NEED_DENY, 1, NULL },
	{ "PutObject x-amz-acl private", "PUT", B, K, "", { "x-amz-acl: private", NULL }, 0,
	  "PutObject", NEED_WRITE, 0, NULL },
	{ "PutObject x-amz-acl private, blanks", "PUT", B, K, "", { "x-amz-acl:  private ", NULL },
	  0, "PutObject", NEED_WRITE, 0, NULL },
	{ "PutObject x-amz-acl bucket-owner-full-control", "PUT", B, K, "",
	  { "x-amz-acl: bucket-owner-full-control", NULL }, 0, "PutObject", NEED_WRITE, 0, NULL },
	{ "PutObject x-amz-acl private and public-read", "PUT", B, K, "",
	  { "x-amz-acl: private", "x-amz-acl: public-read", NULL }, 0, "PutObject", NEED_DENY, 1,
	  NULL },
	{ "PutObject x-amz-grant-read", "PUT", B, K, "",
	  { "x-amz-grant-read: uri=\"http://acs.amazonaws.com/groups/global/AllUsers\"", NULL },
	  0, "PutObject", NEED_DENY, 1, "x-amz-grant" },
	{ "PutObject x-amz-grant-full-control", "PUT", B, K, "",
	  { "X-AMZ-GRANT-FULL-CONTROL: id=someone", NULL }, 0, "PutObject", NEED_DENY, 1, NULL },
	{ "PutObject x-amz-grant-write-acp", "PUT", B, K, "", { "x-amz-grant-write-acp: id=x", NULL },
	  0, "PutObject", NEED_DENY, 1, NULL },
	{ "CopyObject x-amz-acl public-read-write", "PUT", B, K, "",
	  { "x-amz-copy-source: src/a", "x-amz-acl: public-read-write", NULL }, 0, "CopyObject",
	  NEED_DENY, 1, NULL },
	{ "CopyObject x-amz-acl private", "PUT", B, K, "",
	  { "x-amz-copy-source: src/a", "x-amz-acl: private", NULL }, 0, "CopyObject", NEED_WRITE,
	  0, NULL },
	{ "CreateMultipartUpload x-amz-grant-read-acp", "POST", B, K, "uploads",
	  { "x-amz-grant-read-acp: id=x", NULL }, 0, "CreateMultipartUpload", NEED_DENY, 1, NULL },
	{ "CreateMultipartUpload x-amz-acl private", "POST", B, K, "uploads",
	  { "x-amz-acl: private", NULL }, 0, "CreateMultipartUpload", NEED_WRITE, 0, NULL },
	{ "UploadPart x-amz-grant-write", "PUT", B, K, "partNumber=1&uploadId=u",
	  { "x-amz-grant-write: id=x", NULL }, 0, "UploadPart", NEED_DENY, 1, NULL },
	{ "other x-amz headers change nothing", "PUT", B, K, "",
	  { "x-amz-meta-a: b", "x-amz-storage-class: STANDARD", "x-amz-tagging: a=b", NULL }, 0,
	  "PutObject", NEED_WRITE, 0, NULL },
	{ "PutObjectAcl stays an ACL call", "PUT", B, K, "acl", { "x-amz-acl: private", NULL }, 0,
	  "PutObjectAcl", NEED_DENY, 1, NULL },

	/* 2. object lock in headers: as PUT ?retention / ?legal-hold, owner or member */
	{ "PutObject with a retention", "PUT", B, K, "", { "x-amz-object-lock-mode: GOVERNANCE",
	  "x-amz-object-lock-retain-until-date: 2030-01-01T00:00:00Z", NULL }, 0, "PutObject",
	  NEED_BUCKET_CONFIG, 0, "x-amz-object-lock" },
	{ "PutObject with a retain-until date alone", "PUT", B, K, "",
	  { "x-amz-object-lock-retain-until-date: 2030-01-01T00:00:00Z", NULL }, 0, "PutObject",
	  NEED_BUCKET_CONFIG, 0, NULL },
	{ "PutObject with a legal hold", "PUT", B, K, "",
	  { "x-amz-object-lock-legal-hold: ON", NULL }, 0, "PutObject", NEED_BUCKET_CONFIG, 0,
	  NULL },
	{ "CopyObject with a retention", "PUT", B, K, "",
	  { "x-amz-copy-source: src/a", "x-amz-object-lock-mode: COMPLIANCE", NULL }, 0,
	  "CopyObject", NEED_BUCKET_CONFIG, 0, NULL },
	{ "CreateMultipartUpload with a legal hold", "POST", B, K, "uploads",
	  { "x-amz-object-lock-legal-hold: ON", NULL }, 0, "CreateMultipartUpload",
	  NEED_BUCKET_CONFIG, 0, NULL },
	{ "DeleteObject bypassing governance", "DELETE", B, K, "versionId=v",
	  { "x-amz-bypass-governance-retention: true", NULL }, 0, "DeleteObject",
	  NEED_BUCKET_CONFIG, 0, "x-amz-bypass-governance-retention" },
	{ "DeleteObjects bypassing governance", "POST", B, NULL, "delete",
	  { "x-amz-bypass-governance-retention: TRUE", NULL }, 0, "DeleteObjects",
	  NEED_BUCKET_CONFIG, 0, NULL },
	{ "bypass-governance-retention false changes nothing", "DELETE", B, K, "",
	  { "x-amz-bypass-governance-retention: false", NULL }, 0, "DeleteObject", NEED_WRITE, 0,
	  NULL },
	{ "ACL and retention together", "PUT", B, K, "",
	  { "x-amz-acl: public-read", "x-amz-object-lock-mode: GOVERNANCE", NULL }, 0,
	  "PutObject", NEED_DENY, 1, NULL },

	/* 2. a KMS key of the writer's choosing: as PUT ?encryption */
	{ "PutObject choosing a KMS key", "PUT", B, K, "", { "x-amz-server-side-encryption: aws:kms",
	  "x-amz-server-side-encryption-aws-kms-key-id: other-workspace-key", NULL }, 0,
	  "PutObject", NEED_BUCKET_CONFIG, 0, "KMS key" },
	{ "PutObject with an encryption context", "PUT", B, K, "",
	  { "X-Amz-Server-Side-Encryption-Context: e30=", NULL }, 0, "PutObject",
	  NEED_BUCKET_CONFIG, 0, NULL },
	{ "CopyObject choosing a KMS key", "PUT", B, K, "", { "x-amz-copy-source: src/a",
	  "x-amz-server-side-encryption-aws-kms-key-id: k", NULL }, 0, "CopyObject",
	  NEED_BUCKET_CONFIG, 0, NULL },
	{ "CreateMultipartUpload choosing a KMS key", "POST", B, K, "uploads",
	  { "x-amz-server-side-encryption-aws-kms-key-id: k", NULL }, 0, "CreateMultipartUpload",
	  NEED_BUCKET_CONFIG, 0, NULL },
	{ "SSE-S3 and aws:kms without a key choose nothing", "PUT", B, K, "",
	  { "x-amz-server-side-encryption: aws:kms", "x-amz-server-side-encryption: AES256",
	  NULL }, 0, "PutObject", NEED_WRITE, 0, NULL },
	{ "a config call with retention, legal hold and a KMS key (four config actions)", "PUT",
	  B, NULL, "versioning", { "x-amz-object-lock-mode: GOVERNANCE",
	  "x-amz-object-lock-legal-hold: ON", "x-amz-server-side-encryption-aws-kms-key-id: k",
	  NULL }, 0, "PutBucketVersioning", NEED_BUCKET_CONFIG, 0, NULL },

	/* 2. CreateBucket: s3gate creates buckets private, without object lock */
	{ "CreateBucket", "PUT", B, NULL, "", { "x-amz-acl: private", NULL }, 0, "CreateBucket",
	  NEED_PROXY, 0, NULL },
	{ "CreateBucket public-read", "PUT", B, NULL, "", { "x-amz-acl: public-read", NULL }, 0,
	  "CreateBucket", NEED_DENY, 0, "x-amz-acl" },
	{ "CreateBucket x-amz-grant-full-control", "PUT", B, NULL, "",
	  { "x-amz-grant-full-control: id=x", NULL }, 0, "CreateBucket", NEED_DENY, 0, NULL },
	{ "CreateBucket with object lock", "PUT", B, NULL, "",
	  { "x-amz-bucket-object-lock-enabled: true", NULL }, 0, "CreateBucket", NEED_DENY, 0,
	  "object lock" },
	{ "CreateBucket object lock false", "PUT", B, NULL, "",
	  { "x-amz-bucket-object-lock-enabled: false", NULL }, 0, "CreateBucket", NEED_PROXY, 0,
	  NULL },
	{ "CreateBucket with a KMS key", "PUT", B, NULL, "",
	  { "x-amz-server-side-encryption-aws-kms-key-id: k", NULL }, 0, "CreateBucket",
	  NEED_DENY, 0, "KMS key" },

	/* 3. x-amz-* query parameters: the auth ones and checksums only */
	{ "SigV4 query auth", "GET", B, K, "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=c&"
	  "X-Amz-Date=d&X-Amz-Expires=60&X-Amz-SignedHeaders=host&X-Amz-Signature=s&"
	  "X-Amz-Security-Token=t", NOH, 0, "GetObject", NEED_READ, 0, NULL },
	{ "SigV2 query auth", "GET", B, K, "AWSAccessKeyId=a&Expires=1&Signature=s&"
	  "x-amz-security-token=t", NOH, 0, "GetObject", NEED_READ, 0, NULL },
	{ "JS SDK presigned PutObject", "PUT", B, K, "X-Amz-Content-Sha256=UNSIGNED-PAYLOAD&"
	  "x-amz-checksum-crc32=AAAAAA%3D%3D&x-amz-sdk-checksum-algorithm=CRC32&x-id=PutObject",
	  NOH, 0, "PutObject", NEED_WRITE, 0, NULL },
	{ "x-amz-acl in the query", "PUT", B, K, "x-amz-acl=public-read", NOH, 0, "Unknown",
	  NEED_DENY, 0, "x-amz-acl" },
	{ "X-Amz-Acl in the query", "PUT", B, K, "X-Amz-Acl=public-read", NOH, 0, "Unknown",
	  NEED_DENY, 0, NULL },
	{ "x-amz-copy-source in the query", "PUT", B, K, "x-amz-copy-source=other/k", NOH, 0,
	  "Unknown", NEED_DENY, 0, NULL },
	{ "x-amz-grant-read in the query", "PUT", B, K, "x-amz-grant-read=id%3Dx", NOH, 0,
	  "Unknown", NEED_DENY, 0, NULL },
	{ "x-amz-object-lock-mode in the query", "PUT", B, K, "x-amz-object-lock-mode=COMPLIANCE",
	  NOH, 0, "Unknown", NEED_DENY, 0, NULL },
	{ "x-amz-bypass-governance-retention in the query", "DELETE", B, K,
	  "x-amz-bypass-governance-retention=true", NOH, 0, "Unknown", NEED_DENY, 0, NULL },
	{ "an auth parameter in another case", "GET", B, K, "x-amz-date=20300101T000000Z", NOH, 0,
	  "Unknown", NEED_DENY, 0, NULL },
	{ "x-amz-meta in the query", "PUT", B, K, "x-amz-meta-a=b", NOH, 0, "Unknown", NEED_DENY,
	  0, NULL },
	{ "the response overrides S3 defines", "GET", B, K, "response-cache-control=no-cache&"
	  "response-content-disposition=attachment&response-content-encoding=gzip&"
	  "response-content-language=en&response-content-type=text/plain&response-expires=0",
	  NOH, 0, "GetObject", NEED_READ, 0, NULL },
	{ "a response override S3 does not define", "GET", B, K, "response-x-amz-acl=public-read",
	  NOH, 0, "Unknown", NEED_DENY, 0, "response-x-amz-acl" },
};

/* Whether the operator's settings let an owner or member make the call. */
static const struct {
	const char	*name;
	const char	*method;
	const char	*key;
	const char	*query;
	const char	*headers[4];
	const char	*config_ops;	/* NULL: the default list */
	int		 allow_acl;
	int		 want;
} pcases[] = {
	{ "x-amz-acl public-read: allow_bucket_acl off", "PUT", K, "",
	  { "x-amz-acl: public-read", NULL }, "all", 0, 0 },
	{ "x-amz-acl public-read: allow_bucket_acl on", "PUT", K, "",
	  { "x-amz-acl: public-read", NULL }, NULL, 1, 1 },
	{ "retention header: not in the default list", "PUT", K, "",
	  { "x-amz-object-lock-mode: GOVERNANCE", NULL }, NULL, 0, 0 },
	{ "retention header: group retention", "PUT", K, "",
	  { "x-amz-object-lock-mode: GOVERNANCE", NULL }, "versioning, retention", 0, 1 },
	{ "retention header: action PutObjectRetention", "PUT", K, "",
	  { "x-amz-object-lock-mode: GOVERNANCE", NULL }, "PutObjectRetention", 0, 1 },
	{ "retention header: all", "PUT", K, "",
	  { "x-amz-object-lock-mode: GOVERNANCE", NULL }, "all", 0, 1 },
	{ "retention header: PutObject is not a config action", "PUT", K, "",
	  { "x-amz-object-lock-mode: GOVERNANCE", NULL }, "PutObject", 0, 0 },
	{ "KMS key header: not in the default list", "PUT", K, "",
	  { "x-amz-server-side-encryption-aws-kms-key-id: k", NULL }, NULL, 0, 0 },
	{ "KMS key header: group encryption", "PUT", K, "",
	  { "x-amz-server-side-encryption-aws-kms-key-id: k", NULL }, "versioning,encryption", 0, 1 },
	{ "KMS key and retention headers: encryption is not enough", "PUT", K, "",
	  { "x-amz-server-side-encryption-aws-kms-key-id: k", "x-amz-object-lock-mode: GOVERNANCE",
	  NULL }, "encryption", 0, 0 },
	{ "four config actions: all", "PUT", NULL, "versioning",
	  { "x-amz-object-lock-mode: GOVERNANCE", "x-amz-object-lock-legal-hold: ON",
	  "x-amz-server-side-encryption-aws-kms-key-id: k", NULL }, "all", 0, 1 },
	{ "legal-hold header: retention is not enough", "PUT", K, "",
	  { "x-amz-object-lock-legal-hold: ON", NULL }, "retention", 0, 0 },
	{ "legal-hold header: group legal-hold", "PUT", K, "",
	  { "x-amz-object-lock-legal-hold: ON", NULL }, "legal-hold", 0, 1 },
	{ "both lock headers: one group is not enough", "PUT", K, "",
	  { "x-amz-object-lock-mode: GOVERNANCE", "x-amz-object-lock-legal-hold: ON", NULL },
	  "legal-hold", 0, 0 },
	{ "both lock headers: both groups", "PUT", K, "",
	  { "x-amz-object-lock-mode: GOVERNANCE", "x-amz-object-lock-legal-hold: ON", NULL },
	  "retention,legal-hold", 0, 1 },
	{ "ACL and retention: the ACL switch alone is not enough", "PUT", K, "",
	  { "x-amz-acl: public-read", "x-amz-object-lock-mode: GOVERNANCE", NULL }, NULL, 1, 0 },
	{ "ACL and retention: both allowed", "PUT", K, "",
	  { "x-amz-acl: public-read", "x-amz-object-lock-mode: GOVERNANCE", NULL }, "retention",
	  1, 1 },
	{ "bypass governance: retention", "DELETE", K, "",
	  { "x-amz-bypass-governance-retention: true", NULL }, "retention", 0, 1 },
	{ "PutObjectRetention bypassing governance: retention", "PUT", K, "retention",
	  { "x-amz-bypass-governance-retention: true", NULL }, "retention", 0, 1 },
	{ "PutBucketVersioning with a grant header: also an ACL call", "PUT", NULL, "versioning",
	  { "x-amz-grant-read: id=x", NULL }, "all", 0, 0 },
	{ "plain PutObject is no config call", "PUT", K, "", { NULL }, "all", 1, 0 },
};

/* Splits "a=1&b" into a query_list (values as written). */
static void
make_query(const char *raw, struct query_list *q, char *buf, size_t len)
{
	char *p, *save = NULL, *eq;

	snprintf(buf, len, "%s", raw);
	q->params = calloc(16, sizeof(*q->params));
	q->count = 0;
	for (p = strtok_r(buf, "&", &save); p != NULL && q->count < 16;
	    p = strtok_r(NULL, "&", &save)) {
		q->params[q->count].name = p;
		if ((eq = strchr(p, '=')) != NULL) {
			*eq = '\0';
			q->params[q->count].value = eq + 1;
			q->params[q->count].has_value = 1;
		} else
			q->params[q->count].value = "";
		q->params[q->count].name_len = strlen(p);
		q->params[q->count].value_len = strlen(q->params[q->count].value);
		q->count++;
	}
}

/* Fills HEAD from "Name: value" strings (pointing into them). */
static void
make_head(struct http_head *head, const char *const *lines)
{
	size_t i;

	head->nheaders = 0;
	for (i = 0; lines[i] != NULL; i++) {
		const char *colon = strchr(lines[i], ':'), *v = colon + 1;

		head->headers[i].name = lines[i];
		head->headers[i].name_len = (size_t)(colon - lines[i]);
		while (*v == ' ')
			v++;
		head->headers[i].value = v;
		head->headers[i].value_len = strlen(v);
		head->nheaders++;
	}
}

static void
test_headers_and_repeats(struct http_head *head)
{
	struct query_list q;
	struct s3_op op;
	char buf[512];
	size_t i;
	int rc;

	for (i = 0; i < sizeof(hcases) / sizeof(hcases[0]); i++) {
		const struct hcase *h = &hcases[i];

		make_query(h->query, &q, buf, sizeof(buf));
		make_head(head, h->headers);
		rc = s3op_classify(h->method, h->bucket, h->key, &q, head, &op);
		/* a request refused as malformed (-1) is not classified: no action */
		T_OK(rc == h->rc && op.need == h->need && op.acl_op == h->acl_op &&
		    (h->action == NULL ? op.action == NULL : strcmp(op.action, h->action) == 0),
		    "%s -> %s need %d acl %d rc %d", h->name, h->action ? h->action : "(none)",
		    h->need, h->acl_op, h->rc);
		if (rc != h->rc || op.need != h->need || op.acl_op != h->acl_op)
			printf("#   got %s need %d acl %d rc %d (%s)\n", op.action ? op.action : "(none)",
			    op.need, op.acl_op, rc, op.deny_reason ? op.deny_reason : "");
		if (h->need == NEED_DENY || h->need == NEED_BUCKET_CONFIG)
			T_OK(op.deny_reason != NULL && op.deny_reason[0] != '\0',
			    "%s: reason given (%s)", h->name, op.deny_reason ? op.deny_reason : "");
		if (h->reason != NULL)
			T_OK(op.deny_reason != NULL && strstr(op.deny_reason, h->reason) != NULL,
			    "%s: the reason names %s", h->name, h->reason);
		s3op_free(&op);
		free(q.params);
	}

	for (i = 0; i < sizeof(pcases) / sizeof(pcases[0]); i++) {
		make_query(pcases[i].query, &q, buf, sizeof(buf));
		make_head(head, pcases[i].headers);
		rc = s3op_classify(pcases[i].method, B, pcases[i].key, &q, head, &op);
		T_OK(rc == 0 && s3op_config_permitted(&op, pcases[i].config_ops,
		    pcases[i].allow_acl) == pcases[i].want, "%s: %s", pcases[i].name,
		    pcases[i].want ? "permitted" : "not permitted");
		s3op_free(&op);
		free(q.params);
	}
	head->nheaders = 0;
}

/* The parameters as query_parse decodes them: names are compared decoded. */
static void
test_decoded_query(void)
{
	static const struct {
		const char	*raw;
		int		 rc;
		enum s3_need	 need;
		const char	*reason;
	} dq[] = {
		{ "list-type=2&pre%66ix=pub/&prefix=zzz/", -1, NEED_DENY, "\"prefix\"" },
		{ "list-type=2&prefix=pub%2F", 0, NEED_LIST, NULL },
		{ "%78-amz-acl=public-read", 0, NEED_DENY, "x-amz-acl" },
		{ "list-type=2&prefix=a&%70refix=b&delimiter=%2F", -1, NEED_DENY, "prefix" },
		/* a name that is no text is not echoed as it is */
		{ "list-type=2&%01%FF=a&%01%FF=b", 0, NEED_DENY, NULL },
	};
	struct query_list q;
	struct s3_op op;
	size_t i;
	int rc;

	for (i = 0; i < sizeof(dq) / sizeof(dq[0]); i++) {
		memset(&q, 0, sizeof(q));
		if (query_parse(dq[i].raw, strlen(dq[i].raw), 100, &q) == -1) {
			T_OK(0, "%s: query_parse", dq[i].raw);
			continue;
		}
		rc = s3op_classify("GET", B, NULL, &q, NULL, &op);
		T_OK(rc == dq[i].rc && op.need == dq[i].need, "decoded %s -> rc %d need %d",
		    dq[i].raw, dq[i].rc, dq[i].need);
		if (dq[i].reason != NULL)
			T_OK(op.deny_reason != NULL && strstr(op.deny_reason, dq[i].reason) != NULL,
			    "decoded %s: the reason names %s (%s)", dq[i].raw, dq[i].reason,
			    op.deny_reason ? op.deny_reason : "");
		if (op.deny_reason != NULL) {
			const char *p;
			int printable = 1;

			for (p = op.deny_reason; *p != '\0'; p++)
				if ((unsigned char)*p < 0x20 || (unsigned char)*p >= 0x7f)
					printable = 0;
			T_OK(printable, "decoded %s: the reason is printable text", dq[i].raw);
		}
		s3op_free(&op);
		query_free(&q);
	}
}

/* Many unknown parameters: refused at the first, none compared with another. */
static void
test_many_params(void)
{
	struct sbuf raw = SBUF_INIT;
	struct query_list q;
	struct s3_op op;
	int i;

	for (i = 0; i < 900; i++)
		sbuf_appendf(&raw, "%sp%d=x", i ? "&" : "", i);
	memset(&q, 0, sizeof(q));
	T_OK(query_parse(raw.data, raw.len, 1000, &q) == 0, "900 parameters parse");
	T_OK(s3op_classify("GET", B, K, &q, NULL, &op) == 0 && op.need == NEED_DENY,
	    "900 unknown parameters are refused");
	s3op_free(&op);
	query_free(&q);
	sbuf_free(&raw);
}

int
main(void)
{
	struct http_head *head;
	struct query_list q;
	struct s3_op op;
	char buf[512];
	size_t i;
	int rc, same;

	head = calloc(1, sizeof(*head));
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		const struct row *r = &rows[i];
		char name[256];

		snprintf(name, sizeof(name), "%s /%s%s%s?%s%s%s", r->method, r->bucket ? r->bucket :
		    "", r->key ? "/" : "", r->key ? r->key : "", r->query, r->copy ? " copy " : "",
		    r->copy ? r->copy : "");
		make_query(r->query, &q, buf, sizeof(buf));
		head->nheaders = 0;
		if (r->copy != NULL) {
			head->headers[0].name = "X-Amz-Copy-Source";
			head->headers[0].name_len = strlen("X-Amz-Copy-Source");
			head->headers[0].value = r->copy;
			head->headers[0].value_len = strlen(r->copy);
			head->nheaders = 1;
		}
		rc = s3op_classify(r->method, r->bucket, r->key, &q, head, &op);
		same = op.action != NULL && r->action != NULL ? strcmp(op.action, r->action) == 0 :
		    op.action == r->action;
		T_OK(rc == r->rc && op.need == r->need && op.acl_op == r->acl_op && same,
		    "%s -> %s need %d", name, r->action ? r->action : "(none)", r->need);
		if (rc != r->rc || op.need != r->need || !same)
			printf("#   got %s need %d rc %d (%s)\n", op.action ? op.action : "(none)",
			    op.need, rc, op.deny_reason ? op.deny_reason : "");
		if (r->need == NEED_DENY)
			T_OK(op.deny_reason != NULL && op.deny_reason[0] != '\0',
			    "%s: deny reason given", name);
		if (r->copy_bucket != NULL) {
			T_STREQ(op.copy_bucket, r->copy_bucket, "%s: copy bucket", name);
			T_STREQ(op.copy_key, r->copy_key, "%s: copy key", name);
			T_STREQ(op.copy_version, r->copy_version, "%s: copy version", name);
		}
		if (r->list_prefix != NULL)
			T_STREQ(op.list_prefix, r->list_prefix, "%s: list prefix", name);
		s3op_free(&op);
		free(q.params);
	}

	/* bucket configuration allow-list */
	T_OK(s3op_config_allowed("PutBucketVersioning", NULL), "versioning allowed by default");
	T_OK(s3op_config_allowed("GetBucketCors", NULL), "cors allowed by default");
	T_OK(!s3op_config_allowed("PutBucketReplication", NULL), "replication not by default");
	T_OK(!s3op_config_allowed("PutBucketPolicy", NULL), "policy not by default");
	T_OK(s3op_config_allowed("PutBucketReplication", "cors, replication"), "listed group");
	T_OK(s3op_config_allowed("GetBucketWebsite", "GetBucketWebsite"), "listed action");
	T_OK(!s3op_config_allowed("PutBucketWebsite", "GetBucketWebsite"), "other action");
	T_OK(s3op_config_allowed("PutBucketEncryption", "all"), "all");
	T_OK(!s3op_config_allowed("GetObject", "all"), "not a config action");
	memset(&op, 0, sizeof(op));
	op.action = "PutBucketPolicy";
	op.need = NEED_DENY;
	op.acl_op = 1;
	T_OK(!s3op_config_permitted(&op, "all", 0) && s3op_config_permitted(&op, NULL, 1),
	    "acl ops follow allow_bucket_acl only");
	T_OK(s3op_is_writeonly("UploadPart") && !s3op_is_writeonly("GetObject") &&
	    !s3op_is_writeonly("DeleteObject"), "WriteOnly action list");

	test_headers_and_repeats(head);
	test_decoded_query();
	test_many_params();
	free(head);
	return T_DONE();
}
