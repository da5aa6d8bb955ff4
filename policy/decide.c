/*
 * decide: the decision.  Pure: what a principal holds on a bucket (struct
 * policy_access, from a store) + the classified action + the key + now ->
 * allow or deny, a short reason for the access log and the S3 error message
 * for the client.
 *
 * Discovery: for a bucket that does not exist and for one the caller may
 * not discover and holds nothing on, the message is the same text, byte for
 * byte, apart from the bucket name; only the log reason tells them apart.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy/policy.h"

static const char *const decide_request_hint =
    " You can request access with POST /_s3gate/requests.";

const char *
policy_via_str(enum policy_via via)
{
	switch (via) {
	case VIA_OWNER:
		return "owner";
	case VIA_MEMBER:
		return "member";
	case VIA_GRANT:
		return "grant";
	default:
		return "none";
	}
}

const char *
policy_perm_str(enum policy_perm perm)
{
	switch (perm) {
	case PERM_READONLY:
		return "ReadOnly";
	case PERM_READWRITE:
		return "ReadWrite";
	case PERM_WRITEONLY:
		return "WriteOnly";
	case PERM_FULL:
		return "Full";
	default:
		return "None";
	}
}

int
policy_perm_parse(const char *s, enum policy_perm *out)
{
	if (strcmp(s, "ReadOnly") == 0)
		*out = PERM_READONLY;
	else if (strcmp(s, "ReadWrite") == 0)
		*out = PERM_READWRITE;
	else if (strcmp(s, "WriteOnly") == 0)
		*out = PERM_WRITEONLY;
	else
		return -1;
	return 0;
}

void
policy_credential_clear(struct policy_credential *c)
{
	if (c->block != NULL) {
		/* model_credential_copy's: every string is in the one block */
		explicit_bzero(c->block, c->block_size);
		free(c->block);
	} else {
		if (c->secret != NULL) {
			explicit_bzero(c->secret, strlen(c->secret));
			free(c->secret);
		}
		if (c->session_token != NULL) {
			explicit_bzero(c->session_token, strlen(c->session_token));
			free(c->session_token);
		}
		free(c->access_key_id);
		free(c->principal);
		free(c->link_bucket);
		free(c->link_key);
		free(c->link_method);
	}
	memset(c, 0, sizeof(*c));
}

static const char *
decide_need_str(enum s3_need need)
{
	switch (need) {
	case NEED_READ:
		return "read access";
	case NEED_LIST:
		return "list access";
	case NEED_WRITE:
		return "write access";
	case NEED_BUCKET_CONFIG:
		return "owner or member rights";
	case NEED_PROXY:
		return "owner or member rights";
	default:
		return "an operation s3gate allows";
	}
}

/*
 * A, then B (may be empty) into DST of SIZE bytes, cut to fit: every
 * request's decision gets one, and snprintf's format parsing cost more.
 */
static void
decide_set(char *dst, size_t size, const char *a, const char *b)
{
	size_t alen = strnlen(a, size - 1), blen = strnlen(b, size - 1 - alen);

	memcpy(dst, a, alen);
	memcpy(dst + alen, b, blen);
	dst[alen + blen] = '\0';
}

static void
decide_allow(struct policy_decision *d, const char *reason, const char *more)
{
	d->allow = 1;
	decide_set(d->reason, sizeof(d->reason), reason, more);
	d->message[0] = '\0';
}

/* A denial: REASON for the log; WHAT is missing, for the client. */
static void
decide_deny(struct policy_decision *d, const struct policy_access *a, const struct s3_op *op,
    const char *bucket, const char *reason, const char *what)
{
	d->allow = 0;
	snprintf(d->reason, sizeof(d->reason), "%s", reason);
	snprintf(d->message, sizeof(d->message), "Access Denied: %s on bucket %s %s.%s",
	    op->action, bucket ? bucket : "(none)", what,
	    a != NULL && a->bucket_exists && a->discoverable ? decide_request_hint : "");
}

/* " (WHY)" when OP's headers raised what it needs (ACLs, object lock), else "". */
static const char *
decide_header_why(const struct s3_op *op, char *buf, size_t size)
{
	if (op->header_reason == NULL)
		return "";
	snprintf(buf, size, " (%s)", op->header_reason);
	return buf;
}

static int
decide_has_prefix(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

void
policy_decide(const struct policy_access *a, const struct s3_op *op, const char *bucket,
    const char *key, time_t now, int bucket_config_allowed, struct policy_decision *d)
{
	enum s3_need need = op->need;
	char what[384], why[256], reason[96];

	memset(d, 0, sizeof(*d));

	/* policies and ACLs, if the operator lets owners manage them */
	if (need == NEED_DENY && op->acl_op && bucket_config_allowed)
		need = NEED_BUCKET_CONFIG;
	if (need == NEED_DENY) {
		d->allow = 0;
		snprintf(d->reason, sizeof(d->reason), "%s",
		    op->acl_op ? "policy/ACL refused" : "unknown action");
		snprintf(d->message, sizeof(d->message), "%s is not allowed through s3gate: %s.",
		    op->action, op->deny_reason ? op->deny_reason : "unknown operation");
		d->not_implemented = op->not_implemented;
		return;
	}

	/* A bucket the caller may not discover looks exactly like a missing one. */
	if (a == NULL || !a->bucket_exists || a->via == VIA_NONE) {
		decide_deny(d, a, op, bucket,
		    a == NULL || !a->bucket_exists ? "no such bucket" : "no grant",
		    "needs access you do not have");
		return;
	}

	if (a->via == VIA_OWNER || a->via == VIA_MEMBER) {
		if (need == NEED_BUCKET_CONFIG && !bucket_config_allowed) {
			snprintf(what, sizeof(what), "is a bucket configuration call the operator does "
			    "not allow%s", decide_header_why(op, why, sizeof(why)));
			decide_deny(d, a, op, bucket, "bucket config not allowed", what);
			return;
		}
		decide_allow(d, policy_via_str(a->via), "");
		return;
	}

	/* a grant */
	if (a->expires_at != 0 && a->expires_at <= now) {
		decide_deny(d, a, op, bucket, "grant expired", "needs access: your grant has expired");
		return;
	}
	if (need == NEED_BUCKET_CONFIG || need == NEED_PROXY) {
		snprintf(what, sizeof(what), "needs %s%s; a %s grant does not give them",
		    decide_need_str(need), decide_header_why(op, why, sizeof(why)),
		    policy_perm_str(a->perm));
		decide_deny(d, a, op, bucket, "owner or member only", what);
		return;
	}
	switch (a->perm) {
	case PERM_READONLY:
		if (need == NEED_WRITE) {
			decide_deny(d, a, op, bucket, "read-only grant",
			    "needs write access; your grant is ReadOnly");
			return;
		}
		break;
	case PERM_READWRITE:
		break;
	case PERM_WRITEONLY:
		if (!s3op_is_writeonly(op->action)) {
			decide_deny(d, a, op, bucket, "write-only grant",
			    "is not allowed by a WriteOnly grant (uploads only)");
			return;
		}
		if (op->conditional_write) {
			decide_deny(d, a, op, bucket, "write-only grant",
			    "with If-Match or If-None-Match would tell whether the object exists "
			    "and what it holds; a WriteOnly grant gives uploads only (send it "
			    "without them)");
			return;
		}
		break;
	default:
		decide_deny(d, a, op, bucket, "no grant", "needs access you do not have");
		return;
	}

	if (a->prefix[0] != '\0') {
		int inside;

		if (need == NEED_LIST)
			inside = decide_has_prefix(op->list_prefix ? op->list_prefix : "", a->prefix);
		else if (key != NULL && *key != '\0')
			inside = decide_has_prefix(key, a->prefix);
		else if (strcmp(op->action, "DeleteObjects") == 0) {
			/*
			 * DeleteObjects names its keys in the body: allowed here on
			 * the condition that the proxy reads the body and finds every
			 * key inside the prefix (check_body_keys), else refuses all.
			 */
			inside = 1;
			d->check_body_keys = 1;
		} else
			/*
			 * bucket-level: HeadBucket and GetBucketLocation say nothing of
			 * the keys (RGW's counts of the whole bucket, X-RGW-Object-Count
			 * and -Bytes-Used, never reach the client: forward.c)
			 */
			inside = need == NEED_READ;
		if (!inside) {
			snprintf(what, sizeof(what), "%s outside your grant's prefix \"%.*s\"",
			    need == NEED_LIST ? "lists keys" : "names keys", 160, a->prefix);
			decide_deny(d, a, op, bucket, "prefix outside grant", what);
			return;
		}
	}
	decide_set(reason, sizeof(reason), "grant ", policy_perm_str(a->perm));
	decide_allow(d, reason, a->prefix[0] ? " prefix" : "");
}
