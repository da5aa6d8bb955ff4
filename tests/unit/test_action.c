/*
 * test_action: the S3 action table, one row per operation s3gate maps.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy/policy.h"
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
	{ "GET", B, K, "uploadId=a&uploadId=b", NULL, "Unknown", NEED_DENY, 0, 0, 0, 0, 0, 0 },
	{ "PATCH", B, K, "", NULL, "Unknown", NEED_DENY, 0, 0, 0, 0, 0, 0 },
	{ "OPTIONS", B, NULL, "", NULL, "Unknown", NEED_DENY, 0, 0, 0, 0, 0, 0 },
	{ "GET", B, NULL, "session", NULL, "Unknown", NEED_DENY, 0, 0, 0, 0, 0, 0 },
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

int
main(void)
{
	struct http_head *head;
	struct query_list q;
	struct s3_op op;
	char buf[512];
	size_t i;
	int rc;

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
		T_OK(rc == r->rc && op.need == r->need && op.acl_op == r->acl_op &&
		    strcmp(op.action, r->action) == 0, "%s -> %s need %d", name, r->action,
		    r->need);
		if (rc != r->rc || op.need != r->need || strcmp(op.action, r->action) != 0)
			printf("#   got %s need %d rc %d (%s)\n", op.action, op.need, rc,
			    op.deny_reason ? op.deny_reason : "");
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
	free(head);
	return T_DONE();
}
