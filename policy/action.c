/*
 * action: the S3 action table.  A request is classified by its method,
 * whether it names a bucket and a key, the subresource parameters of its
 * query and the presence of x-amz-copy-source; then the headers that set
 * ACLs or object lock raise what it needs.  Everything not in the table
 * is refused: a query parameter that is neither a known subresource nor a
 * known modifier (prefix, versionId, the signature's X-Amz-*, ...) makes
 * the request unknown, and a repeated one makes it malformed, because the
 * backend would act on it with the service credentials while the policy
 * had decided on something else.
 */
#include <ctype.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "policy/policy.h"

enum s3op_scope { SCOPE_SERVICE, SCOPE_BUCKET, SCOPE_OBJECT, SCOPE__COUNT };
enum s3op_copy { COPY_ANY, COPY_NO, COPY_YES };

#define OPF_ACL		0x01	/* policy / ACL: refused unless the operator enables them */
#define OPF_PREFIX	0x02	/* NEED_LIST: list_prefix from the "prefix" parameter */
#define OPF_CREATE	0x04	/* CreateBucket: s3gate creates the bucket itself (gateapi.c) */
#define OPF_NOTIMPL	0x08	/* refused as 501 NotImplemented (s3_op.not_implemented) */

struct s3op_row {
	const char	*method;
	enum s3op_scope	 scope;
	const char	*sub;		/* required subresource; NULL: none at all */
	const char	*sub2;		/* a second required one (partNumber+uploadId) */
	const char	*value;		/* required value of SUB, or NULL */
	enum s3op_copy	 copy;
	const char	*action;
	enum s3_need	 need;
	int		 flags;
	const char	*deny_reason;
};

#define R(m, sc, sub, act, need)	{ m, sc, sub, NULL, NULL, COPY_ANY, act, need, 0, NULL }
#define ACL(m, sc, sub, act)		{ m, sc, sub, NULL, NULL, COPY_ANY, act, NEED_DENY, OPF_ACL, \
	"bucket policies and ACLs are managed by s3gate, not by the backend" }
/*
 * ACL reads: refused as 501 NotImplemented, the answer of an S3 server
 * without ACLs.  s3cmd reads the source's ACL before cp, mv and modify
 * (to copy it) and in info, and goes on without one on a 501; a 403
 * stopped every server-side copy it makes.
 */
#define ACLGET(sc, act)			{ "GET", sc, "acl", NULL, NULL, COPY_ANY, act, NEED_DENY, \
	OPF_ACL | OPF_NOTIMPL, "bucket policies and ACLs are managed by s3gate, not by the backend" }
#define NO(m, sc, sub, act, why)	{ m, sc, sub, NULL, NULL, COPY_ANY, act, NEED_DENY, 0, why }
#define LST(m, sc, sub, act)		{ m, sc, sub, NULL, NULL, COPY_ANY, act, NEED_LIST, OPF_PREFIX, NULL }
#define CFG(m, sub, act)		R(m, SCOPE_BUCKET, sub, act, NEED_BUCKET_CONFIG)

/*
 * First match wins; a row matches when the method and scope match, its
 * SUB/SUB2 are present and no other subresource is, and the copy header
 * condition holds.
 */
static const struct s3op_row s3op_table[] = {
	/* the service */
	R("GET", SCOPE_SERVICE, NULL, "ListBuckets", NEED_PROXY),

	/* bucket: reads and listings */
	R("HEAD", SCOPE_BUCKET, NULL, "HeadBucket", NEED_READ),
	LST("GET", SCOPE_BUCKET, NULL, "ListObjects"),
	{ "GET", SCOPE_BUCKET, "list-type", NULL, "2", COPY_ANY, "ListObjectsV2", NEED_LIST,
	    OPF_PREFIX, NULL },
	LST("GET", SCOPE_BUCKET, "versions", "ListObjectVersions"),
	LST("GET", SCOPE_BUCKET, "uploads", "ListMultipartUploads"),
	R("GET", SCOPE_BUCKET, "location", "GetBucketLocation", NEED_READ),
	R("POST", SCOPE_BUCKET, "delete", "DeleteObjects", NEED_WRITE),

	/* bucket: answered by the proxy */
	{ "PUT", SCOPE_BUCKET, NULL, NULL, NULL, COPY_ANY, "CreateBucket", NEED_PROXY, OPF_CREATE,
	    NULL },
	R("DELETE", SCOPE_BUCKET, NULL, "DeleteBucket", NEED_PROXY),

	/* bucket: policies and ACLs */
	ACLGET(SCOPE_BUCKET, "GetBucketAcl"),
	ACL("PUT", SCOPE_BUCKET, "acl", "PutBucketAcl"),
	ACL("GET", SCOPE_BUCKET, "policy", "GetBucketPolicy"),
	ACL("PUT", SCOPE_BUCKET, "policy", "PutBucketPolicy"),
	ACL("DELETE", SCOPE_BUCKET, "policy", "DeleteBucketPolicy"),
	ACL("GET", SCOPE_BUCKET, "policyStatus", "GetBucketPolicyStatus"),
	ACL("GET", SCOPE_BUCKET, "publicAccessBlock", "GetPublicAccessBlock"),
	ACL("PUT", SCOPE_BUCKET, "publicAccessBlock", "PutPublicAccessBlock"),
	ACL("DELETE", SCOPE_BUCKET, "publicAccessBlock", "DeletePublicAccessBlock"),
	ACL("GET", SCOPE_BUCKET, "ownershipControls", "GetBucketOwnershipControls"),
	ACL("PUT", SCOPE_BUCKET, "ownershipControls", "PutBucketOwnershipControls"),
	ACL("DELETE", SCOPE_BUCKET, "ownershipControls", "DeleteBucketOwnershipControls"),

	/* bucket: configuration (which ones: operator policy, bucket_config_ops) */
	CFG("GET", "versioning", "GetBucketVersioning"),
	CFG("PUT", "versioning", "PutBucketVersioning"),
	CFG("GET", "lifecycle", "GetBucketLifecycleConfiguration"),
	CFG("PUT", "lifecycle", "PutBucketLifecycleConfiguration"),
	CFG("DELETE", "lifecycle", "DeleteBucketLifecycle"),
	CFG("GET", "cors", "GetBucketCors"),
	CFG("PUT", "cors", "PutBucketCors"),
	CFG("DELETE", "cors", "DeleteBucketCors"),
	CFG("GET", "tagging", "GetBucketTagging"),
	CFG("PUT", "tagging", "PutBucketTagging"),
	CFG("DELETE", "tagging", "DeleteBucketTagging"),
	CFG("GET", "encryption", "GetBucketEncryption"),
	CFG("PUT", "encryption", "PutBucketEncryption"),
	CFG("DELETE", "encryption", "DeleteBucketEncryption"),
	CFG("GET", "website", "GetBucketWebsite"),
	CFG("PUT", "website", "PutBucketWebsite"),
	CFG("DELETE", "website", "DeleteBucketWebsite"),
	CFG("GET", "logging", "GetBucketLogging"),
	CFG("PUT", "logging", "PutBucketLogging"),
	CFG("GET", "notification", "GetBucketNotificationConfiguration"),
	CFG("PUT", "notification", "PutBucketNotificationConfiguration"),
	CFG("GET", "replication", "GetBucketReplication"),
	CFG("PUT", "replication", "PutBucketReplication"),
	CFG("DELETE", "replication", "DeleteBucketReplication"),
	CFG("GET", "requestPayment", "GetBucketRequestPayment"),
	CFG("PUT", "requestPayment", "PutBucketRequestPayment"),
	CFG("GET", "accelerate", "GetBucketAccelerateConfiguration"),
	CFG("PUT", "accelerate", "PutBucketAccelerateConfiguration"),
	CFG("GET", "object-lock", "GetObjectLockConfiguration"),
	CFG("PUT", "object-lock", "PutObjectLockConfiguration"),
	CFG("GET", "analytics", "GetBucketAnalyticsConfiguration"),
	CFG("PUT", "analytics", "PutBucketAnalyticsConfiguration"),
	CFG("DELETE", "analytics", "DeleteBucketAnalyticsConfiguration"),
	CFG("GET", "metrics", "GetBucketMetricsConfiguration"),
	CFG("PUT", "metrics", "PutBucketMetricsConfiguration"),
	CFG("DELETE", "metrics", "DeleteBucketMetricsConfiguration"),
	CFG("GET", "inventory", "GetBucketInventoryConfiguration"),
	CFG("PUT", "inventory", "PutBucketInventoryConfiguration"),
	CFG("DELETE", "inventory", "DeleteBucketInventoryConfiguration"),
	CFG("GET", "intelligent-tiering", "GetBucketIntelligentTieringConfiguration"),
	CFG("PUT", "intelligent-tiering", "PutBucketIntelligentTieringConfiguration"),
	CFG("DELETE", "intelligent-tiering", "DeleteBucketIntelligentTieringConfiguration"),
	{ "POST", SCOPE_BUCKET, NULL, NULL, NULL, COPY_ANY, "PostObject", NEED_DENY, OPF_NOTIMPL,
	    "browser form uploads (POST Object, boto3 generate_presigned_post) are not supported "
	    "by s3gate; upload with PUT (a presigned PUT URL)" },

	/* object: reads */
	R("GET", SCOPE_OBJECT, NULL, "GetObject", NEED_READ),
	R("GET", SCOPE_OBJECT, "partNumber", "GetObject", NEED_READ),
	R("HEAD", SCOPE_OBJECT, NULL, "HeadObject", NEED_READ),
	R("HEAD", SCOPE_OBJECT, "partNumber", "HeadObject", NEED_READ),
	R("GET", SCOPE_OBJECT, "tagging", "GetObjectTagging", NEED_READ),
	R("GET", SCOPE_OBJECT, "attributes", "GetObjectAttributes", NEED_READ),
	R("GET", SCOPE_OBJECT, "retention", "GetObjectRetention", NEED_READ),
	R("GET", SCOPE_OBJECT, "legal-hold", "GetObjectLegalHold", NEED_READ),
	R("GET", SCOPE_OBJECT, "uploadId", "ListParts", NEED_READ),
	/* S3 Select reads the object and returns a filtered stream: a read */
	{ "POST", SCOPE_OBJECT, "select", "select-type", NULL, COPY_ANY, "SelectObjectContent",
	    NEED_READ, 0, NULL },

	/* object: writes */
	{ "PUT", SCOPE_OBJECT, NULL, NULL, NULL, COPY_NO, "PutObject", NEED_WRITE, 0, NULL },
	{ "PUT", SCOPE_OBJECT, NULL, NULL, NULL, COPY_YES, "CopyObject", NEED_WRITE, 0, NULL },
	{ "PUT", SCOPE_OBJECT, "partNumber", "uploadId", NULL, COPY_NO, "UploadPart", NEED_WRITE,
	    0, NULL },
	{ "PUT", SCOPE_OBJECT, "partNumber", "uploadId", NULL, COPY_YES, "UploadPartCopy",
	    NEED_WRITE, 0, NULL },
	R("DELETE", SCOPE_OBJECT, NULL, "DeleteObject", NEED_WRITE),
	R("POST", SCOPE_OBJECT, "uploads", "CreateMultipartUpload", NEED_WRITE),
	R("POST", SCOPE_OBJECT, "uploadId", "CompleteMultipartUpload", NEED_WRITE),
	R("DELETE", SCOPE_OBJECT, "uploadId", "AbortMultipartUpload", NEED_WRITE),
	R("PUT", SCOPE_OBJECT, "tagging", "PutObjectTagging", NEED_WRITE),
	R("DELETE", SCOPE_OBJECT, "tagging", "DeleteObjectTagging", NEED_WRITE),

	/* object: governance, ACLs, the unsupported */
	R("PUT", SCOPE_OBJECT, "retention", "PutObjectRetention", NEED_BUCKET_CONFIG),
	R("PUT", SCOPE_OBJECT, "legal-hold", "PutObjectLegalHold", NEED_BUCKET_CONFIG),
	ACLGET(SCOPE_OBJECT, "GetObjectAcl"),
	ACL("PUT", SCOPE_OBJECT, "acl", "PutObjectAcl"),
	NO("GET", SCOPE_OBJECT, "torrent", "GetObjectTorrent",
	    "torrents are not supported by s3gate"),
	/* restores from archive tiers cost money and time: an operator's call */
	NO("POST", SCOPE_OBJECT, "restore", "RestoreObject",
	    "restoring archived objects is not supported by s3gate"),
};

/*
 * Parameters that only modify an operation; they may come with any row.
 * Sorted (strcmp) for bsearch; s3op_build() checks.
 */
static const char *const s3op_modifiers[] = {
	"AWSAccessKeyId", "Expires", "Signature",	/* SigV2 query authentication */
	"allow-unordered", "continuation-token", "delimiter", "encoding-type",
	"fetch-owner", "id", "key-marker", "marker", "max-keys", "max-parts",
	"max-uploads", "part-number-marker", "prefix",
	/* the response header overrides S3 defines (GetObject, HeadObject) */
	"response-cache-control", "response-content-disposition", "response-content-encoding",
	"response-content-language", "response-content-type", "response-expires",
	"start-after", "upload-id-marker", "version-id-marker", "versionId", "x-id",
};

/*
 * x-amz-* query parameters.  Some backends (AWS S3 among them) take an
 * x-amz-* header sent in the query string of a presigned request as that
 * header: x-amz-acl=public-read, x-amz-copy-source=..., x-amz-object-lock-
 * mode=... would reach the backend, signed with the service credentials,
 * while the policy had decided on a plain write.  Only two kinds are let
 * through.  First the query authentication, spelled exactly as sigv4.c
 * reads and forward.c strips them, and SigV2's x-amz-security-token
 * (sigv2.c); s3gate's own links use nothing else.
 */
struct s3op_name {
	const char	*name;
	size_t		 len;
};
#define S3OP_NAME(s)	{ s, sizeof(s) - 1 }

static const struct s3op_name s3op_amz_query_auth[] = {
	S3OP_NAME("X-Amz-Algorithm"), S3OP_NAME("X-Amz-Credential"), S3OP_NAME("X-Amz-Date"),
	S3OP_NAME("X-Amz-Expires"), S3OP_NAME("X-Amz-SignedHeaders"),
	S3OP_NAME("X-Amz-Signature"), S3OP_NAME("X-Amz-Security-Token"),
	S3OP_NAME("x-amz-security-token"),
};

/*
 * Then headers that presigners hoist into the query and that only make
 * the backend check the body harder (compared in any case: they are header
 * names).  The JavaScript SDK v3 puts X-Amz-Content-Sha256=UNSIGNED-PAYLOAD
 * in every presigned URL, and with its default checksums
 * x-amz-sdk-checksum-algorithm and x-amz-checksum-crc32 in presigned
 * PutObject URLs; botocore and aws-cli hoist nothing.  (As headers,
 * x-amz-checksum-* of a plain body are checked by s3gate itself, since
 * Ceph pacific ignores them: conn_body_checksum_start.  In the query they
 * are relayed: the SDK signs the sum of an empty body into every such URL,
 * whatever is then uploaded.)
 */
static const struct s3op_name s3op_amz_query_hoisted[] = {
	S3OP_NAME("x-amz-checksum-algorithm"), S3OP_NAME("x-amz-checksum-crc32"),
	S3OP_NAME("x-amz-checksum-crc32c"), S3OP_NAME("x-amz-checksum-crc64nvme"),
	S3OP_NAME("x-amz-checksum-mode"), S3OP_NAME("x-amz-checksum-sha1"),
	S3OP_NAME("x-amz-checksum-sha256"), S3OP_NAME("x-amz-checksum-type"),
	S3OP_NAME("x-amz-content-sha256"), S3OP_NAME("x-amz-sdk-checksum-algorithm"),
};

/*
 * Headers that change what a request does beyond its action.  ACLs and
 * object lock travel as headers on PutObject, CopyObject and
 * CreateMultipartUpload (and CreateBucket) as well as in calls of their
 * own (?acl, ?retention, ?legal-hold): a ReadWrite or WriteOnly grantee
 * must not get through a write what the table refuses them as a call.
 */
#define HSET_ACL		0x01	/* an ACL: like ?acl */
#define HSET_RETENTION		0x02	/* like PutObjectRetention */
#define HSET_LEGAL_HOLD		0x04	/* like PutObjectLegalHold */
#define HSET_BUCKET_LOCK	0x08	/* CreateBucket with object lock */
#define HSET_COPY		0x10	/* x-amz-copy-source: counted (of two, the backend uses either) */
#define HSET_COPY_RANGE		0x20	/* x-amz-copy-source-range: a copy the backend decodes twice */
#define HSET_KMS_KEY		0x40	/* the backend's KMS key chosen: like PutBucketEncryption */

/*
 * Canned ACLs a write may carry: "private" is what S3 does anyway, and
 * "bucket-owner-full-control" gives the bucket's owner -- the service
 * account, which owns every object behind s3gate -- nothing it lacks.
 * Clients send them unasked: rclone (acl private by default: "X-Amz-Acl:
 * private" on every upload, copy and CreateBucket), Hadoop s3a and the
 * cross-account scripts of aws s3 cp --acl bucket-owner-full-control.
 * aws-cli, boto3 and s3cmd send no x-amz-acl unless told to (s3cmd -P:
 * public-read).  Canned ACL names are lower-case in S3 and RGW.
 */
static const char *const s3op_acl_harmless[] = { "private", "bucket-owner-full-control", NULL };
static const char *const s3op_false[] = { "false", NULL };

#define S3OP_HDR(name, prefix, set, unless, nocase)	\
	{ name, sizeof(name) - 1, prefix, set, unless, nocase }

static const struct s3op_hdr {
	const char		*name;		/* lower-case */
	size_t			 len;
	int			 prefix;	/* every header name starting with NAME */
	unsigned		 set;		/* HSET_* */
	const char *const	*unless;	/* values that set nothing; NULL: none */
	int			 nocase;	/* UNLESS compared in any case */
} s3op_headers[] = {
	S3OP_HDR("x-amz-copy-source", 0, HSET_COPY, NULL, 0),
	S3OP_HDR("x-amz-copy-source-range", 0, HSET_COPY_RANGE, NULL, 0),
	S3OP_HDR("x-amz-acl", 0, HSET_ACL, s3op_acl_harmless, 0),
	S3OP_HDR("x-amz-grant-", 1, HSET_ACL, NULL, 0),
	S3OP_HDR("x-amz-object-lock-mode", 0, HSET_RETENTION, NULL, 0),
	S3OP_HDR("x-amz-object-lock-retain-until-date", 0, HSET_RETENTION, NULL, 0),
	S3OP_HDR("x-amz-object-lock-legal-hold", 0, HSET_LEGAL_HOLD, NULL, 0),
	S3OP_HDR("x-amz-bypass-governance-retention", 0, HSET_RETENTION, s3op_false, 1),
	S3OP_HDR("x-amz-bucket-object-lock-enabled", 0, HSET_BUCKET_LOCK, s3op_false, 1),
	/*
	 * SSE-KMS with a key of the writer's choosing.  The backend uses the
	 * key as the service account, which may use every workspace's key:
	 * a grantee could encrypt the objects of the bucket it writes to
	 * under a key of someone else's, which its owner may later disable.
	 * Plain x-amz-server-side-encryption (AES256, or aws:kms with the
	 * bucket's key) chooses nothing and passes.
	 */
	S3OP_HDR("x-amz-server-side-encryption-aws-kms-key-id", 0, HSET_KMS_KEY, NULL, 0),
	S3OP_HDR("x-amz-server-side-encryption-context", 0, HSET_KMS_KEY, NULL, 0),
};

static const char s3op_reason_acl_headers[] =
    "x-amz-acl (other than private or bucket-owner-full-control) and x-amz-grant-* headers "
    "set ACLs; bucket policies and ACLs are managed by s3gate, not by the backend";
static const char s3op_reason_lock_headers[] =
    "x-amz-object-lock-* and x-amz-bypass-governance-retention headers set or bypass object "
    "lock, as PutObjectRetention and PutObjectLegalHold do";
static const char s3op_reason_kms_headers[] =
    "x-amz-server-side-encryption-aws-kms-key-id and -context choose the backend's KMS key, "
    "as PutBucketEncryption does";
static const char s3op_reason_create_headers[] =
    "s3gate creates buckets private, without object lock and with the backend's default "
    "encryption: x-amz-acl (other than private), x-amz-grant-*, "
    "x-amz-bucket-object-lock-enabled and KMS key headers are refused";

/* Subresources known only to be refused by name (no row needs them). */
static const char *const s3op_other_subresources[] = {
	"session", "website-redirect", "object-lambda", "mfa-delete",
};

const char *const s3op_bucket_config_default = "versioning,lifecycle,cors,tagging";

static const char *const s3op_writeonly_actions[] = {
	"PutObject", "CopyObject", "CreateMultipartUpload", "UploadPart", "UploadPartCopy",
	"CompleteMultipartUpload", "AbortMultipartUpload",
};

static int
s3op_strcmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

#define S3OP_COUNT(a)	(sizeof(a) / sizeof((a)[0]))

/*
 * x-amz-* in any case: header names, in a query or a head.  No subresource
 * looks so.  Spelled out: every parameter and header of a request asks.
 */
static inline int
s3op_is_amz(const char *name, size_t len)
{
	return len >= 6 && (name[0] | 0x20) == 'x' && name[1] == '-' &&
	    (name[2] | 0x20) == 'a' && (name[3] | 0x20) == 'm' && (name[4] | 0x20) == 'z' &&
	    name[5] == '-';
}

/*
 * Built once from the table, so that nothing can drift apart from it:
 *  - every subresource name (the table's SUB and SUB2, and the refused-
 *    only ones), sorted and unique, looked up with bsearch;
 *  - a number for every query parameter name s3gate accepts
 *    (s3op_param_id), so that a repeat is found in a bitmap instead of by
 *    comparing every pair: the subresources', then the modifiers', then
 *    the x-amz-* ones' -- two x-amz-* names that differ only in case share
 *    one (they are header names, and RGW lower-cases X-Amz-* query names);
 *  - the table's row numbers grouped by scope and method, in table order
 *    within a group: s3op_classify tries only its request's group.  The
 *    whole table is some 90 rows of 80 bytes, cold by the next request:
 *    walking it was most of s3op_classify's cache misses.
 */
#define S3OP_NROWS	(sizeof(s3op_table) / sizeof(s3op_table[0]))
#define S3OP_NOTHER	(sizeof(s3op_other_subresources) / sizeof(s3op_other_subresources[0]))

static const char *const s3op_methods[] = { "GET", "HEAD", "PUT", "POST", "DELETE" };
#define S3OP_NMETHODS	(sizeof(s3op_methods) / sizeof(s3op_methods[0]))
#define S3OP_NGROUPS	(SCOPE__COUNT * S3OP_NMETHODS)	/* scope * S3OP_NMETHODS + method */

static const char	*s3op_subresources[2 * S3OP_NROWS + S3OP_NOTHER];
static size_t		 s3op_nsubresources;
static int		 s3op_amz_auth_id[S3OP_COUNT(s3op_amz_query_auth)];
static uint32_t		 s3op_header_firsts;	/* bit c - 'a': a rule's name has c after "x-amz-" */
#define S3OP_MAX_IDS	256	/* bits of s3op_classify's bitmap */
static unsigned short	 s3op_group_rows[S3OP_NROWS];
static size_t		 s3op_group_start[S3OP_NGROUPS + 1];	/* into s3op_group_rows */
static pthread_once_t	 s3op_build_once = PTHREAD_ONCE_INIT;

/* The index of METHOD in s3op_methods; -1 if no row has it. */
static int
s3op_method_index(const char *method)
{
	size_t i;

	for (i = 0; i < S3OP_NMETHODS; i++)
		if (strcmp(method, s3op_methods[i]) == 0)
			return (int)i;
	return -1;
}

static void
s3op_build_groups(void)
{
	size_t i, g, fill[S3OP_NGROUPS] = { 0 };
	int m;

	for (i = 0; i < S3OP_NROWS; i++) {
		if ((m = s3op_method_index(s3op_table[i].method)) == -1)
			abort();	/* a row with a method s3op_methods lacks */
		s3op_group_start[s3op_table[i].scope * S3OP_NMETHODS + (size_t)m + 1]++;
	}
	for (g = 0; g < S3OP_NGROUPS; g++)
		s3op_group_start[g + 1] += s3op_group_start[g];
	for (i = 0; i < S3OP_NROWS; i++) {
		g = s3op_table[i].scope * S3OP_NMETHODS + (size_t)s3op_method_index(s3op_table[i].method);
		s3op_group_rows[s3op_group_start[g] + fill[g]++] = (unsigned short)i;
	}
}

static void
s3op_build(void)
{
	size_t i, n = 0, j, k;

	s3op_build_groups();

	for (i = 0; i < S3OP_NROWS; i++) {
		if (s3op_table[i].sub != NULL)
			s3op_subresources[n++] = s3op_table[i].sub;
		if (s3op_table[i].sub2 != NULL)
			s3op_subresources[n++] = s3op_table[i].sub2;
	}
	for (i = 0; i < S3OP_NOTHER; i++)
		s3op_subresources[n++] = s3op_other_subresources[i];
	/* s3op_classify() looks x-amz-* names up elsewhere; bsearch needs sorted lists */
	for (i = 0; i < n; i++)
		if (s3op_is_amz(s3op_subresources[i], strlen(s3op_subresources[i])))
			abort();
	for (i = 1; i < S3OP_COUNT(s3op_modifiers); i++)
		if (strcmp(s3op_modifiers[i - 1], s3op_modifiers[i]) >= 0)
			abort();
	for (i = 0; i < S3OP_COUNT(s3op_headers); i++) {
		if (s3op_headers[i].name[6] < 'a' || s3op_headers[i].name[6] > 'z')
			abort();
		s3op_header_firsts |= UINT32_C(1) << (s3op_headers[i].name[6] - 'a');
	}
	/* the x-amz-* numbers follow the subresources' and the modifiers' */
	for (i = 0; i < S3OP_COUNT(s3op_amz_query_auth); i++) {
		for (k = 0; strcasecmp(s3op_amz_query_auth[k].name, s3op_amz_query_auth[i].name); k++)
			;
		s3op_amz_auth_id[i] = (int)k;
	}
	qsort(s3op_subresources, n, sizeof(s3op_subresources[0]), s3op_strcmp);
	for (i = j = 0; i < n; i++)
		if (j == 0 || strcmp(s3op_subresources[j - 1], s3op_subresources[i]) != 0)
			s3op_subresources[j++] = s3op_subresources[i];
	s3op_nsubresources = j;
	if (j + S3OP_COUNT(s3op_modifiers) + S3OP_COUNT(s3op_amz_query_auth) +
	    S3OP_COUNT(s3op_amz_query_hoisted) > S3OP_MAX_IDS)
		abort();
}

#define S3OP_ID_UNKNOWN		(-1)	/* a name s3gate does not know */
#define S3OP_ID_AMZ_REFUSED	(-2)	/* an x-amz-* name (a header) it does not let through */

/*
 * The number of query parameter NAME (LEN bytes): below s3op_nsubresources
 * for a subresource.  S3OP_ID_UNKNOWN or S3OP_ID_AMZ_REFUSED for a name
 * not accepted.
 */
static int
s3op_param_id(const char *name, size_t len)
{
	const char *const *hit;
	size_t i, base;

	base = s3op_nsubresources + S3OP_COUNT(s3op_modifiers);
	if (s3op_is_amz(name, len)) {
		for (i = 0; i < S3OP_COUNT(s3op_amz_query_auth); i++)
			if (s3op_amz_query_auth[i].len == len &&
			    memcmp(name, s3op_amz_query_auth[i].name, len) == 0)
				return (int)(base + (size_t)s3op_amz_auth_id[i]);
		base += S3OP_COUNT(s3op_amz_query_auth);
		for (i = 0; i < S3OP_COUNT(s3op_amz_query_hoisted); i++)
			if (s3op_amz_query_hoisted[i].len == len &&
			    strncasecmp(name, s3op_amz_query_hoisted[i].name, len) == 0)
				return (int)(base + i);
		return S3OP_ID_AMZ_REFUSED;
	}
	if ((hit = bsearch(&name, s3op_subresources, s3op_nsubresources,
	    sizeof(s3op_subresources[0]), s3op_strcmp)) != NULL)
		return (int)(hit - s3op_subresources);
	if ((hit = bsearch(&name, s3op_modifiers, S3OP_COUNT(s3op_modifiers),
	    sizeof(s3op_modifiers[0]), s3op_strcmp)) != NULL)
		return (int)(s3op_nsubresources + (size_t)(hit - s3op_modifiers));
	return S3OP_ID_UNKNOWN;
}

static const struct query_param *
s3op_param(const struct query_list *q, const char *name)
{
	size_t i;

	if (q == NULL)
		return NULL;
	for (i = 0; i < q->count; i++)
		if (strcmp(q->params[i].name, name) == 0)
			return &q->params[i];
	return NULL;
}

/* Whether H's value, blanks around it cut, is in LIST (NULL: none); NOCASE: in any case. */
static int
s3op_value_in(const struct http_header *h, const char *const *list, int nocase)
{
	const char *v = h->value;
	size_t len = h->value_len;

	while (len > 0 && (*v == ' ' || *v == '\t'))
		v++, len--;
	while (len > 0 && (v[len - 1] == ' ' || v[len - 1] == '\t'))
		len--;
	for (; list != NULL && *list != NULL; list++)
		if (strlen(*list) == len &&
		    (nocase ? strncasecmp(v, *list, len) : strncmp(v, *list, len)) == 0)
			return 1;
	return 0;
}

struct s3op_head_scan {
	const struct http_header	*copy;		/* the first x-amz-copy-source */
	size_t				 ncopy;
	unsigned			 set;		/* HSET_* but HSET_COPY */
};

/* One pass over HEAD's x-amz-* headers (HEAD may be NULL). */
static void
s3op_scan_head(const struct http_head *head, struct s3op_head_scan *hs)
{
	const struct http_header *h;
	const struct s3op_hdr *r;
	size_t i, k;
	unsigned c;

	memset(hs, 0, sizeof(*hs));
	for (i = 0; head != NULL && i < head->nheaders; i++) {
		h = &head->headers[i];
		/* the byte after "x-amz-" first: most x-amz-* headers match no rule */
		if (h->name_len < 7 || !s3op_is_amz(h->name, h->name_len) ||
		    (c = (unsigned char)(h->name[6] | 0x20) - 'a') >= 26 ||
		    !(s3op_header_firsts & (UINT32_C(1) << c)))
			continue;
		for (k = 0; k < S3OP_COUNT(s3op_headers); k++) {
			r = &s3op_headers[k];
			if (h->name_len < r->len || (h->name[6] | 0x20) != r->name[6] ||
			    (!r->prefix && h->name_len != r->len) ||
			    strncasecmp(h->name + 7, r->name + 7, r->len - 7) != 0)
				continue;
			if (r->set == HSET_COPY) {
				if (hs->ncopy++ == 0)
					hs->copy = h;
			} else if (!s3op_value_in(h, r->unless, r->nocase))
				hs->set |= r->set;
			break;
		}
	}
}

static void
s3op_add_config(struct s3_op *op, const char *action)
{
	size_t i;

	for (i = 0; i < S3OP_MAX_CONFIG; i++) {
		if (op->config_actions[i] == NULL) {
			op->config_actions[i] = action;
			return;
		}
		if (strcmp(op->config_actions[i], action) == 0)
			return;
	}
	abort();	/* S3OP_MAX_CONFIG is too small for what s3op_apply_head adds */
}

/*
 * What the headers in SET (HSET_*) make of OP, classified from ROW: an ACL
 * makes it an ACL call (nobody's, unless the operator enables them), object
 * lock a bucket configuration call of the retention or legal-hold group, a
 * KMS key one of the encryption group.
 * CreateBucket is made by s3gate, which applies neither: refused.
 */
static void
s3op_apply_head(const struct s3op_row *row, unsigned set, struct s3_op *op)
{
	if (set == 0)
		return;
	if (row->flags & OPF_CREATE) {
		op->need = NEED_DENY;
		op->deny_reason = op->header_reason = s3op_reason_create_headers;
		return;
	}
	/* refused whatever the headers (unknown, unsupported), or answered by s3gate */
	if ((row->need == NEED_DENY && !(row->flags & OPF_ACL)) || row->need == NEED_PROXY)
		return;
	if ((set & HSET_ACL) && !op->acl_op) {
		op->acl_op = 1;
		op->need = NEED_DENY;
		op->deny_reason = op->header_reason = s3op_reason_acl_headers;
	}
	if (set & (HSET_RETENTION | HSET_LEGAL_HOLD)) {
		if (set & HSET_RETENTION)
			s3op_add_config(op, "PutObjectRetention");
		if (set & HSET_LEGAL_HOLD)
			s3op_add_config(op, "PutObjectLegalHold");
		if (!op->acl_op)
			op->need = NEED_BUCKET_CONFIG;
		if (op->header_reason == NULL)
			op->deny_reason = op->header_reason = s3op_reason_lock_headers;
	}
	if (set & HSET_KMS_KEY) {
		s3op_add_config(op, "PutBucketEncryption");
		if (!op->acl_op)
			op->need = NEED_BUCKET_CONFIG;
		if (op->header_reason == NULL)
			op->deny_reason = op->header_reason = s3op_reason_kms_headers;
	}
}

/*
 * OP's deny_reason, in OP->detail: BEFORE, the query parameter's NAME
 * (cut short, and with anything but printable ASCII shown as '?': it goes
 * into an XML error and a log line), AFTER.
 */
static void
s3op_deny_param(struct s3_op *op, const char *before, const struct query_param *p,
    const char *after)
{
	char name[52];
	size_t i, n = p->name_len < 48 ? p->name_len : 48;

	for (i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)p->name[i];
		name[i] = ch < 0x20 || ch >= 0x7f || ch == '"' || ch == '\\' ? '?' : (char)ch;
	}
	if (n < p->name_len)
		name[n++] = '.', name[n++] = '.', name[n++] = '.';
	name[n] = '\0';
	snprintf(op->detail, sizeof(op->detail), "%s\"%s\"%s", before, name, after);
	op->deny_reason = op->detail;
}

static int
s3op_hex(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower(c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* Percent-decodes SRC[0..LEN) into a new string; NULL on a bad escape or NUL. */
static char *
s3op_decode(const char *src, size_t len)
{
	char *dst, *p;
	size_t i;
	int hi, lo;

	if ((dst = malloc(len + 1)) == NULL)
		return NULL;
	for (i = 0, p = dst; i < len; i++) {
		if (src[i] != '%') {
			*p++ = src[i];
			continue;
		}
		if (i + 2 >= len) {
			free(dst);
			return NULL;
		}
		if ((hi = s3op_hex((unsigned char)src[i + 1])) == -1 ||
		    (lo = s3op_hex((unsigned char)src[i + 2])) == -1 || (hi == 0 && lo == 0)) {
			free(dst);
			return NULL;
		}
		*p++ = (char)(hi << 4 | lo);
		i += 2;
	}
	*p = '\0';
	return dst;
}

/*
 * x-amz-copy-source: "[/]BUCKET/KEY[?versionId=V]", URL-encoded.  The '?'
 * is looked for before decoding: a '?' in a key arrives as %3F.
 */
static int
s3op_copy_source(const struct http_header *h, struct s3_op *op)
{
	const char *v = h->value, *q, *slash;
	size_t len = h->value_len;
	char *path;

	while (len > 0 && (*v == ' ' || *v == '\t'))
		v++, len--;
	while (len > 0 && (v[len - 1] == ' ' || v[len - 1] == '\t'))
		len--;
	if (len > 0 && *v == '/')
		v++, len--;
	if ((q = memchr(v, '?', len)) != NULL) {
		size_t qlen = len - (size_t)(q - v) - 1;

		if (qlen <= 10 || strncmp(q + 1, "versionId=", 10) != 0 ||
		    memchr(q + 1, '&', qlen) != NULL) {
			op->deny_reason = "x-amz-copy-source: only ?versionId= may follow the key";
			return -1;
		}
		if ((op->copy_version = s3op_decode(q + 11, qlen - 10)) == NULL) {
			op->deny_reason = "x-amz-copy-source: malformed versionId";
			return -1;
		}
		len = (size_t)(q - v);
	}
	if ((path = s3op_decode(v, len)) == NULL) {
		op->deny_reason = "x-amz-copy-source: malformed percent-encoding";
		return -1;
	}
	if ((slash = strchr(path, '/')) == NULL || slash == path || slash[1] == '\0') {
		free(path);
		op->deny_reason = "x-amz-copy-source must be BUCKET/KEY";
		return -1;
	}
	op->copy_bucket = strndup(path, (size_t)(slash - path));
	op->copy_key = strdup(slash + 1);
	free(path);
	if (op->copy_bucket == NULL || op->copy_key == NULL)
		abort();
	return 0;
}

/*
 * A copy the backend may read from another key than OP->COPY_KEY.  Ceph
 * RGW parses x-amz-copy-source twice over when it copies through its
 * PutObject path -- UploadPartCopy, and CopyObject with
 * x-amz-copy-source-range -- decoding the whole value, then the key again,
 * and looking for "?versionId=" in between: "p%2541/x" is read as "pA/x",
 * "a%3FversionId%3D1" as version 1 of "a".  The source's read access was
 * decided on the key decoded once, so a prefix grant "p%41/" gave "pA/".
 * Such a source is refused; backends that decode once never see it
 * otherwise, and RGW would copy another object.  Returns -1 with
 * OP->deny_reason set, else 0.
 */
static int
s3op_copy_twice_decoded(const struct s3op_row *row, unsigned set, struct s3_op *op)
{
	if (strcmp(row->action, "UploadPartCopy") != 0 && !(set & HSET_COPY_RANGE))
		return 0;
	if (strchr(op->copy_key, '%') == NULL && strstr(op->copy_key, "?versionId=") == NULL)
		return 0;
	op->deny_reason = "x-amz-copy-source: UploadPartCopy and ranged copies (x-amz-copy-source-"
	    "range) of a key with '%' or \"?versionId=\" in its name are refused: backends "
	    "differ in how often they decode it";
	return -1;
}

/*
 * Whether V holds a control character.  The response-* overrides become
 * headers of the backend's answer: RGW broke off an answer whose override
 * held CR LF (a 502 and a warning in the log, at the client's will), and a
 * backend that wrote the value as it came would let whoever makes a link
 * add headers (Set-Cookie, another Content-Length) to an answer from
 * s3gate's origin.
 */
static int
s3op_has_ctl(const char *v, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if ((unsigned char)v[i] < 0x20 || (unsigned char)v[i] == 0x7f)
			return 1;
	return 0;
}

int
s3op_classify(const char *method, const char *bucket, const char *key,
    const struct query_list *query, const struct http_head *head, struct s3_op *op)
{
	const struct s3op_row *row = NULL;
	const struct query_param *p;
	struct s3op_head_scan hs;
	enum s3op_scope scope;
	uint64_t seen[S3OP_MAX_IDS / 64] = { 0 };	/* s3op_param_id's of the query */
	size_t i, nsub = 0, want, g, end = 0;
	unsigned bit;
	int m, id;

	memset(op, 0, offsetof(struct s3_op, detail));	/* DETAIL: filled when used */
	op->detail[0] = '\0';
	op->action = "Unknown";
	op->need = NEED_DENY;
	op->list_prefix = "";

	if (bucket == NULL || *bucket == '\0')
		scope = SCOPE_SERVICE;
	else if (key == NULL || *key == '\0')
		scope = SCOPE_BUCKET;
	else
		scope = SCOPE_OBJECT;

	if (pthread_once(&s3op_build_once, s3op_build) != 0)
		abort();
	/* every parameter known, none twice */
	for (i = 0; query != NULL && i < query->count; i++) {
		p = &query->params[i];
		if ((id = s3op_param_id(p->name, p->name_len)) == S3OP_ID_AMZ_REFUSED) {
			s3op_deny_param(op, "the query parameter ", p, " is a header in the query "
			    "string; only the signature's x-amz-* parameters may be there");
			return 0;
		}
		if (id == S3OP_ID_UNKNOWN) {
			s3op_deny_param(op, "the query has a parameter s3gate does not know: ", p, "");
			return 0;
		}
		bit = (unsigned)id;
		if (seen[bit >> 6] & (UINT64_C(1) << (bit & 63))) {
			s3op_deny_param(op, "the query parameter ", p, " is repeated; S3 servers "
			    "differ in which value they use, so s3gate takes neither");
			op->action = NULL;	/* refused before it was classified */
			return -1;
		}
		seen[bit >> 6] |= UINT64_C(1) << (bit & 63);
		nsub += bit < s3op_nsubresources;
		if (strncmp(p->name, "response-", 9) == 0 && s3op_has_ctl(p->value, p->value_len)) {
			s3op_deny_param(op, "the query parameter ", p, " holds a control character "
			    "(CR, LF, ...), and its value would be a header of the answer");
			op->action = NULL;	/* refused before it was classified */
			return -1;
		}
	}
	s3op_scan_head(head, &hs);
	if (hs.ncopy > 1) {
		op->deny_reason = "x-amz-copy-source is repeated; send one copy source";
		op->action = NULL;
		return -1;
	}

	/* the rows of the request's scope and method; none for another method */
	i = 0;
	if ((m = s3op_method_index(method)) != -1) {
		g = scope * S3OP_NMETHODS + (size_t)m;
		i = s3op_group_start[g];
		end = s3op_group_start[g + 1];
	}
	for (; i < end; i++) {
		row = &s3op_table[s3op_group_rows[i]];
		want = (row->sub != NULL) + (row->sub2 != NULL);
		if (want != nsub)
			continue;
		if (row->sub && ((p = s3op_param(query, row->sub)) == NULL ||
		    (row->value && strcmp(p->value, row->value) != 0)))
			continue;
		if (row->sub2 && s3op_param(query, row->sub2) == NULL)
			continue;
		if ((row->copy == COPY_YES && hs.copy == NULL) ||
		    (row->copy == COPY_NO && hs.copy != NULL))
			continue;
		break;
	}
	if (i == end) {
		op->deny_reason = scope == SCOPE_SERVICE ?
		    "s3gate supports only ListBuckets (GET /) on the service" :
		    "s3gate does not know this S3 operation";
		return 0;
	}

	op->action = row->action;
	op->need = row->need;
	op->deny_reason = row->deny_reason;
	op->acl_op = (row->flags & OPF_ACL) != 0;
	op->not_implemented = (row->flags & OPF_NOTIMPL) != 0;
	if (row->need == NEED_BUCKET_CONFIG)
		op->config_actions[0] = row->action;
	if ((row->flags & OPF_PREFIX) && (p = s3op_param(query, "prefix")) != NULL)
		op->list_prefix = p->value;
	/* (If-* are no x-amz-* headers: s3op_scan_head does not see them) */
	op->conditional_write = row->need == NEED_WRITE && head != NULL &&
	    (httpmsg_header_find(head, "if-match") != NULL ||
	    httpmsg_header_find(head, "if-none-match") != NULL);
	s3op_apply_head(row, hs.set & ~HSET_COPY_RANGE, op);
	if (row->copy == COPY_YES && (s3op_copy_source(hs.copy, op) == -1 ||
	    s3op_copy_twice_decoded(row, hs.set, op) == -1)) {
		s3op_free(op);
		op->need = NEED_DENY;
		return -1;
	}
	return 0;
}

void
s3op_free(struct s3_op *op)
{
	free(op->copy_bucket);
	free(op->copy_key);
	free(op->copy_version);
	op->copy_bucket = op->copy_key = op->copy_version = NULL;
}

int
s3op_config_allowed(const char *action, const char *list)
{
	const char *group = NULL, *p, *end;
	size_t i, len;

	for (i = 0; i < sizeof(s3op_table) / sizeof(s3op_table[0]); i++)
		if (strcmp(s3op_table[i].action, action) == 0 &&
		    (s3op_table[i].need == NEED_BUCKET_CONFIG || (s3op_table[i].flags & OPF_ACL))) {
			group = s3op_table[i].sub;
			break;
		}
	if (group == NULL)
		return 0;
	if (list == NULL)
		list = s3op_bucket_config_default;
	for (p = list; *p != '\0'; p = *end ? end + 1 : end) {
		while (*p == ' ' || *p == '\t')
			p++;
		if ((end = strchr(p, ',')) == NULL)
			end = p + strlen(p);
		len = (size_t)(end - p);
		while (len > 0 && (p[len - 1] == ' ' || p[len - 1] == '\t'))
			len--;
		if (len == 0)
			continue;
		if ((len == 3 && strncmp(p, "all", 3) == 0) ||
		    (strlen(group) == len && strncmp(p, group, len) == 0) ||
		    (strlen(action) == len && strncmp(p, action, len) == 0))
			return 1;
	}
	return 0;
}

int
s3op_config_permitted(const struct s3_op *op, const char *config_ops, int allow_acl)
{
	size_t i;

	if (op->acl_op ? !allow_acl : op->need != NEED_BUCKET_CONFIG)
		return 0;
	/* an s3_op made by hand names no config action: its own */
	if (!op->acl_op && op->config_actions[0] == NULL)
		return s3op_config_allowed(op->action, config_ops);
	for (i = 0; i < S3OP_MAX_CONFIG && op->config_actions[i] != NULL; i++)
		if (!s3op_config_allowed(op->config_actions[i], config_ops))
			return 0;
	return 1;
}

int
s3op_is_writeonly(const char *action)
{
	size_t i;

	for (i = 0; i < sizeof(s3op_writeonly_actions) / sizeof(s3op_writeonly_actions[0]); i++)
		if (strcmp(s3op_writeonly_actions[i], action) == 0)
			return 1;
	return 0;
}
