/*
 * test_decide: policy_decide() over owner, member, grants and discovery.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy/policy.h"
#include "proxy/httpmsg.h"
#include "proxy/uri.h"
#include "tests/unit/testlib.h"

#define NOW	1760000000

static struct s3_op
op_of(const char *action, enum s3_need need, const char *list_prefix)
{
	struct s3_op op;

	memset(&op, 0, sizeof(op));
	op.action = action;
	op.need = need;
	op.list_prefix = list_prefix ? list_prefix : "";
	return op;
}

static struct policy_access
access_of(int exists, int discoverable, enum policy_via via, enum policy_perm perm,
    const char *prefix, time_t expires)
{
	struct policy_access a;

	memset(&a, 0, sizeof(a));
	a.bucket_exists = exists;
	a.discoverable = discoverable;
	a.via = via;
	a.perm = perm;
	snprintf(a.prefix, sizeof(a.prefix), "%s", prefix ? prefix : "");
	a.expires_at = expires;
	return a;
}

/* Replaces every occurrence of WHAT in S by "B". */
static void
mask(char *s, const char *what)
{
	char *p;
	size_t n = strlen(what);

	while ((p = strstr(s, what)) != NULL) {
		*p = 'B';
		memmove(p + 1, p + n, strlen(p + n) + 1);
	}
}

/*
 * Whole requests, classified (s3op_classify) then decided as auth.c does:
 * what a grantee, owner or member may do with headers that set ACLs or
 * object lock, under the operator's bucket_config_ops and allow_bucket_acl.
 */
static const struct {
	const char	*name;
	const char	*method;
	const char	*target;	/* "/ws-frank/k?..." */
	const char	*headers;	/* "Name: value\r\n"... */
	enum policy_via	 via;
	enum policy_perm perm;
	const char	*config_ops;	/* NULL: the default */
	int		 allow_acl;
	int		 allow;
	const char	*in_message;	/* NULL, or a part of the denial's message */
} requests[] = {
	{ "ReadWrite grantee puts public-read", "PUT", "/ws-frank/k", "x-amz-acl: public-read\r\n",
	  VIA_GRANT, PERM_READWRITE, NULL, 0, 0, "x-amz-acl" },
	{ "ReadWrite grantee puts private (rclone's default)", "PUT", "/ws-frank/k",
	  "X-Amz-Acl: private\r\n", VIA_GRANT, PERM_READWRITE, NULL, 0, 1, NULL },
	{ "ReadWrite grantee puts bucket-owner-full-control", "PUT", "/ws-frank/k",
	  "x-amz-acl: bucket-owner-full-control\r\n", VIA_GRANT, PERM_READWRITE, NULL, 0, 1, NULL },
	{ "ReadWrite grantee copies with x-amz-grant-read", "PUT", "/ws-frank/k",
	  "x-amz-copy-source: ws-frank/a\r\nx-amz-grant-read: uri=AllUsers\r\n", VIA_GRANT,
	  PERM_READWRITE, NULL, 0, 0, NULL },
	{ "WriteOnly drop box grants itself full control", "PUT", "/ws-frank/k",
	  "x-amz-grant-full-control: id=bob\r\n", VIA_GRANT, PERM_WRITEONLY, NULL, 0, 0, NULL },
	{ "WriteOnly drop box starts an upload with x-amz-grant-read", "POST",
	  "/ws-frank/k?uploads", "x-amz-grant-read: id=bob\r\n", VIA_GRANT, PERM_WRITEONLY, NULL, 0,
	  0, NULL },
	{ "WriteOnly drop box puts private", "PUT", "/ws-frank/k", "x-amz-acl: private\r\n",
	  VIA_GRANT, PERM_WRITEONLY, NULL, 0, 1, NULL },
	/* a conditional write answers 412 by what the key holds: a read in effect */
	{ "WriteOnly drop box puts If-None-Match: * (does k exist?)", "PUT", "/ws-frank/k",
	  "If-None-Match: *\r\n", VIA_GRANT, PERM_WRITEONLY, NULL, 0, 0, "If-None-Match" },
	{ "WriteOnly drop box puts If-Match: an ETag (does k hold these bytes?)", "PUT",
	  "/ws-frank/k", "if-match: \"d41d8cd98f00b204e9800998ecf8427e\"\r\n", VIA_GRANT,
	  PERM_WRITEONLY, NULL, 0, 0, "If-Match" },
	{ "WriteOnly drop box completes an upload If-None-Match", "POST", "/ws-frank/k?uploadId=u",
	  "If-None-Match: *\r\n", VIA_GRANT, PERM_WRITEONLY, NULL, 0, 0, "WriteOnly" },
	{ "ReadWrite grantee puts If-None-Match: * (it may read anyway)", "PUT", "/ws-frank/k",
	  "If-None-Match: *\r\n", VIA_GRANT, PERM_READWRITE, NULL, 0, 1, NULL },
	{ "WriteOnly drop box puts If-Modified-Since (not a condition S3 applies to a PUT)", "PUT",
	  "/ws-frank/k", "If-Modified-Since: Wed, 21 Oct 2015 07:28:00 GMT\r\n", VIA_GRANT,
	  PERM_WRITEONLY, NULL, 0, 1, NULL },
	{ "ReadWrite grantee puts public-read, ACLs enabled: owner or member only", "PUT",
	  "/ws-frank/k", "x-amz-acl: public-read\r\n", VIA_GRANT, PERM_READWRITE, NULL, 1, 0,
	  "x-amz-acl" },
	{ "ReadWrite grantee locks an object, every config op allowed", "PUT", "/ws-frank/k",
	  "x-amz-object-lock-mode: COMPLIANCE\r\n"
	  "x-amz-object-lock-retain-until-date: 2099-01-01T00:00:00Z\r\n", VIA_GRANT,
	  PERM_READWRITE, "all", 0, 0, "object lock" },
	{ "ReadWrite grantee sets a legal hold", "PUT", "/ws-frank/k",
	  "x-amz-object-lock-legal-hold: ON\r\n", VIA_GRANT, PERM_READWRITE, "all", 0, 0, NULL },
	{ "ReadWrite grantee deletes bypassing governance", "DELETE", "/ws-frank/k?versionId=v",
	  "x-amz-bypass-governance-retention: true\r\n", VIA_GRANT, PERM_READWRITE, "all", 0, 0,
	  NULL },
	{ "ReadWrite grantee puts with x-amz-acl in the query", "PUT",
	  "/ws-frank/k?x-amz-acl=public-read", "", VIA_GRANT, PERM_READWRITE, NULL, 0, 0,
	  "x-amz-acl" },
	{ "owner puts public-read, ACLs off", "PUT", "/ws-frank/k", "x-amz-acl: public-read\r\n",
	  VIA_OWNER, PERM_FULL, "all", 0, 0, NULL },
	{ "owner puts public-read, ACLs on", "PUT", "/ws-frank/k", "x-amz-acl: public-read\r\n",
	  VIA_OWNER, PERM_FULL, NULL, 1, 1, NULL },
	{ "owner locks an object, retention not allowed", "PUT", "/ws-frank/k",
	  "x-amz-object-lock-mode: GOVERNANCE\r\n", VIA_OWNER, PERM_FULL, NULL, 0, 0,
	  "object lock" },
	{ "member locks an object, retention allowed", "PUT", "/ws-frank/k",
	  "x-amz-object-lock-mode: GOVERNANCE\r\n", VIA_MEMBER, PERM_FULL, "retention", 0, 1,
	  NULL },
	{ "owner puts a plain object", "PUT", "/ws-frank/k", "x-amz-meta-a: b\r\n", VIA_OWNER,
	  PERM_FULL, NULL, 0, 1, NULL },
};

static void
test_requests(void)
{
	static const struct http_limits lim = { 8192, 4096, 50 };
	struct http_head *head = calloc(1, sizeof(*head));
	struct policy_decision d;
	struct policy_access a;
	struct query_list q;
	struct s3_op op;
	char raw[1024];
	size_t i;

	for (i = 0; i < sizeof(requests) / sizeof(requests[0]); i++) {
		const char *target = requests[i].target, *qm = strchr(target, '?');
		char key[64] = "";
		int rc;

		snprintf(raw, sizeof(raw), "%s %s HTTP/1.1\r\nHost: s3\r\n%s\r\n", requests[i].method,
		    target, requests[i].headers);
		memset(&q, 0, sizeof(q));
		if (httpmsg_parse_head(raw, strlen(raw), 0, &lim, head) != HTTP_PARSE_DONE ||
		    (qm != NULL && query_parse(qm + 1, strlen(qm + 1), 100, &q) == -1)) {
			T_OK(0, "%s: parses", requests[i].name);
			continue;
		}
		/* "/ws-frank/KEY[?...]" */
		snprintf(key, sizeof(key), "%.*s", (int)((qm ? qm : target + strlen(target)) -
		    (target + 10)), target + 10);
		rc = s3op_classify(requests[i].method, "ws-frank", key, &q, head, &op);
		a = access_of(1, 1, requests[i].via, requests[i].perm, NULL, 0);
		policy_decide(&a, &op, "ws-frank", key, NOW, s3op_config_permitted(&op,
		    requests[i].config_ops, requests[i].allow_acl), &d);
		T_OK(rc == 0 && d.allow == requests[i].allow, "%s: %s (%s; %s)", requests[i].name,
		    requests[i].allow ? "allowed" : "denied", d.reason, d.message);
		if (requests[i].in_message != NULL)
			T_OK(strstr(d.message, requests[i].in_message) != NULL,
			    "%s: the message says why (%s)", requests[i].name, requests[i].in_message);
		s3op_free(&op);
		query_free(&q);
	}
	free(head);
}

/*
 * Which denials are answered 501 NotImplemented (policy_decision.
 * not_implemented) rather than 403: the ACL reads (s3cmd cp, mv, modify and
 * info read the source's ACL first and go on without one only on a 501) and
 * POST Object -- and only while s3gate refuses them outright: with ACLs
 * enabled a grantee's refusal is about its grant (403).
 */
static void
test_not_implemented(void)
{
	static const struct {
		const char	*method, *key, *query;
		int		 allow_acl;
		enum policy_via	 via;
		int		 allow, not_implemented;
	} cases[] = {
		{ "GET", "k", "acl", 0, VIA_OWNER, 0, 1 },		/* GetObjectAcl */
		{ "GET", NULL, "acl", 0, VIA_OWNER, 0, 1 },		/* GetBucketAcl */
		{ "GET", "k", "acl", 0, VIA_GRANT, 0, 1 },
		{ "GET", "k", "acl", 1, VIA_OWNER, 1, 0 },
		{ "GET", "k", "acl", 1, VIA_GRANT, 0, 0 },
		{ "PUT", "k", "acl", 0, VIA_OWNER, 0, 0 },		/* PutObjectAcl: 403 */
		{ "PUT", NULL, "acl", 0, VIA_OWNER, 0, 0 },
		{ "GET", NULL, "policy", 0, VIA_OWNER, 0, 0 },
		{ "POST", NULL, "", 0, VIA_OWNER, 0, 1 },		/* PostObject */
		{ "GET", "k", "torrent", 0, VIA_OWNER, 0, 0 },
		{ "GET", "k", "", 0, VIA_GRANT, 1, 0 },
	};
	static const struct http_limits lim = { 8192, 4096, 50 };
	struct http_head *head = calloc(1, sizeof(*head));
	struct policy_decision d;
	struct policy_access a;
	struct query_list q;
	struct s3_op op;
	size_t i;

	if (head == NULL || httpmsg_parse_head("GET / HTTP/1.1\r\nHost: s3\r\n\r\n", 29, 0, &lim,
	    head) != HTTP_PARSE_DONE) {
		T_OK(0, "not_implemented: a head parses");
		free(head);
		return;
	}
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		memset(&q, 0, sizeof(q));
		T_OK(query_parse(cases[i].query, strlen(cases[i].query), 100, &q) == 0 &&
		    s3op_classify(cases[i].method, "ws-frank", cases[i].key, &q, head, &op) == 0,
		    "%s %s?%s classifies", cases[i].method, cases[i].key ? "/b/k" : "/b",
		    cases[i].query);
		a = access_of(1, 1, cases[i].via, cases[i].via == VIA_GRANT ? PERM_READWRITE :
		    PERM_FULL, NULL, 0);
		policy_decide(&a, &op, "ws-frank", cases[i].key, NOW, s3op_config_permitted(&op,
		    NULL, cases[i].allow_acl), &d);
		T_OK(d.allow == cases[i].allow && d.not_implemented == cases[i].not_implemented,
		    "%s %s %s?%s (ACLs %s, %s): %s, %s (%s)", op.action, cases[i].method,
		    cases[i].key ? "/b/k" : "/b", cases[i].query, cases[i].allow_acl ? "on" : "off",
		    policy_via_str(cases[i].via), d.allow ? "allowed" : "denied",
		    d.not_implemented ? "501" : "403", d.message);
		s3op_free(&op);
		query_free(&q);
	}
	free(head);
}

int
main(void)
{
	struct policy_decision d, d2;
	struct policy_access a;
	struct s3_op get = op_of("GetObject", NEED_READ, NULL);
	struct s3_op put = op_of("PutObject", NEED_WRITE, NULL);
	struct s3_op del = op_of("DeleteObject", NEED_WRITE, NULL);
	struct s3_op upart = op_of("UploadPart", NEED_WRITE, NULL);
	struct s3_op head = op_of("HeadObject", NEED_READ, NULL);
	struct s3_op cfg = op_of("PutBucketVersioning", NEED_BUCKET_CONFIG, NULL);
	struct s3_op acl = op_of("PutBucketPolicy", NEED_DENY, NULL);
	struct s3_op unk = op_of("Unknown", NEED_DENY, NULL);
	struct s3_op delbucket = op_of("DeleteBucket", NEED_PROXY, NULL);
	struct s3_op dels = op_of("DeleteObjects", NEED_WRITE, NULL);
	struct s3_op hb = op_of("HeadBucket", NEED_READ, NULL);
	char m1[512], m2[512];

	acl.acl_op = 1;
	acl.deny_reason = "bucket policies and ACLs are managed by s3gate";
	unk.deny_reason = "s3gate does not know this S3 operation";

	/* owner and member */
	a = access_of(1, 1, VIA_OWNER, PERM_FULL, NULL, 0);
	policy_decide(&a, &get, "ws-frank", "k", NOW, 0, &d);
	T_OK(d.allow && strcmp(d.reason, "owner") == 0, "owner reads");
	policy_decide(&a, &del, "ws-frank", "k", NOW, 0, &d);
	T_OK(d.allow, "owner deletes");
	policy_decide(&a, &cfg, "ws-frank", NULL, NOW, 1, &d);
	T_OK(d.allow, "owner config call allowed by operator");
	policy_decide(&a, &cfg, "ws-frank", NULL, NOW, 0, &d);
	T_OK(!d.allow && strstr(d.message, "PutBucketVersioning") != NULL,
	    "owner config call not allowed by operator: %s", d.message);
	policy_decide(&a, &acl, "ws-frank", NULL, NOW, 0, &d);
	T_OK(!d.allow && strstr(d.message, "PutBucketPolicy") != NULL, "policy refused: %s",
	    d.message);
	policy_decide(&a, &acl, "ws-frank", NULL, NOW, 1, &d);
	T_OK(d.allow, "policy allowed to owner when the operator enables ACLs");
	policy_decide(&a, &unk, "ws-frank", "k", NOW, 1, &d);
	T_OK(!d.allow && strcmp(d.reason, "unknown action") == 0, "unknown refused to owner");
	policy_decide(&a, &delbucket, "ws-frank", NULL, NOW, 0, &d);
	T_OK(d.allow, "owner may DeleteBucket (proxy-answered)");
	a = access_of(1, 0, VIA_MEMBER, PERM_FULL, NULL, 0);
	policy_decide(&a, &put, "ws-frank", "k", NOW, 0, &d);
	T_OK(d.allow && strcmp(d.reason, "member") == 0, "member writes");
	policy_decide(&a, &cfg, "ws-frank", NULL, NOW, 1, &d);
	T_OK(d.allow, "member config call");

	/* ReadOnly */
	a = access_of(1, 1, VIA_GRANT, PERM_READONLY, NULL, 0);
	policy_decide(&a, &get, "ws-frank", "k", NOW, 0, &d);
	T_OK(d.allow && strcmp(d.reason, "grant ReadOnly") == 0, "ReadOnly reads");
	policy_decide(&a, &put, "ws-frank", "k", NOW, 0, &d);
	T_OK(!d.allow && strcmp(d.reason, "read-only grant") == 0 &&
	    strstr(d.message, "PutObject") && strstr(d.message, "ws-frank") &&
	    strstr(d.message, "ReadOnly"), "ReadOnly write denied: %s", d.message);
	policy_decide(&a, &cfg, "ws-frank", NULL, NOW, 1, &d);
	T_OK(!d.allow, "grant holders make no config calls");
	policy_decide(&a, &delbucket, "ws-frank", NULL, NOW, 1, &d);
	T_OK(!d.allow, "grant holders may not DeleteBucket");

	/* ReadWrite */
	a = access_of(1, 1, VIA_GRANT, PERM_READWRITE, NULL, 0);
	policy_decide(&a, &put, "ws-frank", "k", NOW, 0, &d);
	T_OK(d.allow, "ReadWrite writes");
	policy_decide(&a, &del, "ws-frank", "k", NOW, 0, &d);
	T_OK(d.allow, "ReadWrite deletes");
	policy_decide(&a, &get, "ws-frank", "k", NOW, 0, &d);
	T_OK(d.allow, "ReadWrite reads");

	/* WriteOnly */
	a = access_of(1, 1, VIA_GRANT, PERM_WRITEONLY, NULL, 0);
	policy_decide(&a, &put, "ws-frank", "k", NOW, 0, &d);
	T_OK(d.allow, "WriteOnly puts");
	policy_decide(&a, &upart, "ws-frank", "k", NOW, 0, &d);
	T_OK(d.allow, "WriteOnly uploads parts");
	policy_decide(&a, &get, "ws-frank", "k", NOW, 0, &d);
	T_OK(!d.allow && strcmp(d.reason, "write-only grant") == 0, "WriteOnly get denied: %s",
	    d.message);
	policy_decide(&a, &head, "ws-frank", "k", NOW, 0, &d);
	T_OK(!d.allow, "WriteOnly head denied");
	policy_decide(&a, &del, "ws-frank", "k", NOW, 0, &d);
	T_OK(!d.allow, "WriteOnly delete denied");
	{
		struct s3_op list = op_of("ListObjectsV2", NEED_LIST, "");

		policy_decide(&a, &list, "ws-frank", NULL, NOW, 0, &d);
		T_OK(!d.allow, "WriteOnly list denied");
	}

	/* prefix grants */
	a = access_of(1, 1, VIA_GRANT, PERM_READWRITE, "in/", 0);
	policy_decide(&a, &put, "ws-frank", "in/x", NOW, 0, &d);
	T_OK(d.allow, "prefix grant: key inside");
	policy_decide(&a, &put, "ws-frank", "out/x", NOW, 0, &d);
	T_OK(!d.allow && strcmp(d.reason, "prefix outside grant") == 0 &&
	    strstr(d.message, "in/") != NULL, "prefix grant: key outside: %s", d.message);
	policy_decide(&a, &get, "ws-frank", "i", NOW, 0, &d);
	T_OK(!d.allow, "prefix grant: key shorter than the prefix");
	{
		struct s3_op in = op_of("ListObjectsV2", NEED_LIST, "in/sub/");
		struct s3_op out = op_of("ListObjectsV2", NEED_LIST, "");
		struct s3_op other = op_of("ListObjects", NEED_LIST, "inx");

		policy_decide(&a, &in, "ws-frank", NULL, NOW, 0, &d);
		T_OK(d.allow, "list prefix inside the grant");
		policy_decide(&a, &out, "ws-frank", NULL, NOW, 0, &d);
		T_OK(!d.allow, "list of the whole bucket outside the grant");
		policy_decide(&a, &other, "ws-frank", NULL, NOW, 0, &d);
		T_OK(!d.allow, "list prefix outside the grant");
	}
	policy_decide(&a, &hb, "ws-frank", NULL, NOW, 0, &d);
	T_OK(d.allow, "prefix grant: HeadBucket allowed");
	policy_decide(&a, &dels, "ws-frank", NULL, NOW, 0, &d);
	T_OK(d.allow && d.check_body_keys,
	    "prefix grant: DeleteObjects allowed only on condition that every key is checked");
	{
		struct policy_access full = a;
		full.prefix[0] = '\0';
		policy_decide(&full, &dels, "ws-frank", NULL, NOW, 0, &d);
		T_OK(d.allow && !d.check_body_keys, "whole-bucket grant: DeleteObjects needs no key check");
	}

	/* expiry */
	a = access_of(1, 1, VIA_GRANT, PERM_READWRITE, NULL, NOW);
	policy_decide(&a, &get, "ws-frank", "k", NOW, 0, &d);
	T_OK(!d.allow && strcmp(d.reason, "grant expired") == 0, "grant expiring now denied");
	a.expires_at = NOW + 1;
	policy_decide(&a, &get, "ws-frank", "k", NOW, 0, &d);
	T_OK(d.allow, "grant expiring later allowed");

	/* no grant: discoverable says how to ask; hidden looks like missing */
	a = access_of(1, 1, VIA_NONE, PERM_NONE, NULL, 0);
	policy_decide(&a, &get, "ws-frank", "k", NOW, 0, &d);
	T_OK(!d.allow && strcmp(d.reason, "no grant") == 0 &&
	    strstr(d.message, "POST /_s3gate/requests") != NULL &&
	    strstr(d.message, "GetObject") && strstr(d.message, "ws-frank"),
	    "no grant on discoverable: %s", d.message);
	a = access_of(1, 0, VIA_NONE, PERM_NONE, NULL, 0);
	policy_decide(&a, &get, "ws-hidden", "k", NOW, 0, &d);
	a = access_of(0, 0, VIA_NONE, PERM_NONE, NULL, 0);
	policy_decide(&a, &get, "ws-nothere", "k", NOW, 0, &d2);
	T_OK(!d.allow && !d2.allow && strstr(d.message, "_s3gate") == NULL,
	    "hidden bucket: no hint: %s", d.message);
	T_OK(strcmp(d2.reason, "no such bucket") == 0, "unknown bucket reason for the log");
	snprintf(m1, sizeof(m1), "%s", d.message);
	snprintf(m2, sizeof(m2), "%s", d2.message);
	mask(m1, "ws-hidden");
	mask(m2, "ws-nothere");
	T_STREQ(m1, m2, "hidden and missing buckets: same message but the name");
	policy_decide(NULL, &put, "ws-nothere", "k", NOW, 0, &d);
	T_OK(!d.allow, "no access record at all is a denial");

	/*
	 * The service (no bucket) but ListBuckets: auth.c decides these with
	 * no access record and no bucket name (the stores look buckets up by
	 * name; GET /?usage with a NULL one crashed the worker).
	 */
	{
		static const char *const svc[][2] = {
			{ "GET", "usage" }, { "GET", "acl" }, { "HEAD", NULL }, { "PUT", NULL },
			{ "POST", NULL }, { "DELETE", NULL }, { "OPTIONS", NULL },
		};
		struct query_list q;
		struct s3_op op;
		size_t i;

		for (i = 0; i < sizeof(svc) / sizeof(svc[0]); i++) {
			const char *raw = svc[i][1];

			T_OK(query_parse(raw, raw ? strlen(raw) : 0, 16, &q) == 0, "parse ?%s",
			    raw ? raw : "");
			s3op_classify(svc[i][0], NULL, NULL, &q, NULL, &op);
			policy_decide(NULL, &op, NULL, NULL, NOW, 0, &d);
			T_OK(!d.allow && op.need == NEED_DENY &&
			    strstr(d.message, "is not allowed through s3gate") != NULL,
			    "service %s /%s%s: refused without a bucket: %s", svc[i][0],
			    raw ? "?" : "", raw ? raw : "", d.message);
			s3op_free(&op);
			query_free(&q);
		}
	}

	/* names */
	{
		enum policy_perm p;

		T_OK(policy_perm_parse("WriteOnly", &p) == 0 && p == PERM_WRITEONLY, "parse WriteOnly");
		T_OK(policy_perm_parse("readonly", &p) == -1, "permissions are case-sensitive");
		T_OK(policy_perm_parse("Full", &p) == -1, "Full is not grantable");
		T_STREQ(policy_via_str(VIA_MEMBER), "member", "via member");
		T_STREQ(policy_perm_str(PERM_READWRITE), "ReadWrite", "perm ReadWrite");
	}

	test_requests();
	test_not_implemented();
	return T_DONE();
}
