/*
 * auth: who is making a request, and may they make it.  The stages run in
 * order from CONN_AUTH_WAIT (auth_run); a stage that asks the policy store
 * may get PENDING, and the connection then waits in AUTH_WAIT until
 * conn_store_cb() drives it again and the same stage re-runs (the store
 * answers from its cache the second time).  The store is asked only from
 * the event loop, never blocking it, so every stage that needs it may wait:
 *
 *   PARSE         the signature's form (SigV4, or SigV2 if allowed), clock
 *                 skew and expiry -- before any secret is looked up;
 *   PREFLIGHT     a CORS preflight instead (unsigned): store: is the bucket
 *                 known at all; then DONE, the backend's CORS rules decide;
 *   CREDENTIAL    store: the access key id's credential (secret, principal,
 *                 session token, link scope, quota overrides);
 *   VERIFY        signature, session token, expiry, quota admission, link
 *                 scope and budget; then what the request does (s3op);
 *                 /_s3gate/ calls go to gateapi.c (stage API);
 *   LIST_BUCKETS  store: the principal's buckets; answered here;
 *   ACCESS        store: what the principal holds on the bucket; the policy
 *                 decides; a DeleteObjects under a prefix grant first reads
 *                 its body (CONN_READ_BODY) for BODY_KEYS;
 *   BODY_KEYS     every key of that body inside the prefix (deletexml.h);
 *   COPY_ACCESS   store: read on a copy's source bucket; for a CopyObject,
 *                 the object lock the principal may not set (RGW copies
 *                 the source's: whether the source's bucket has object
 *                 lock enabled is asked first, conn_lock_probe_start,
 *                 auth_copy_lock_verdict);
 *   DONE          allowed: conn_backend_start().
 *
 * A refusal answers through conn_reply_error(); the stage is not re-run.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "policy/store.h"
#include "proxy/auth.h"
#include "proxy/conn.h"
#include "proxy/deletexml.h"
#include "proxy/gateapi.h"
#include "proxy/log.h"
#include "proxy/quotasync.h"
#include "proxy/quota.h"
#include "proxy/quotashm.h"
#include "proxy/respond.h"
#include "proxy/server.h"

/* The S3 error a SigV4 form, time or signature failure is answered with. */
static enum s3err
auth_sigv4_error(enum sigv4_status st)
{
	switch (st) {
	case SIGV4_OK: return S3ERR_NONE;
	case SIGV4_ANONYMOUS: return S3ERR_ANONYMOUS;
	case SIGV4_V2: return S3ERR_INVALID_REQUEST;
	case SIGV4_HEADER_MALFORMED: return S3ERR_AUTH_HEADER_MALFORMED;
	case SIGV4_QUERY_MALFORMED: return S3ERR_AUTH_QUERY_MALFORMED;
	case SIGV4_BAD_ALGORITHM: return S3ERR_AUTH_HEADER_MALFORMED;
	case SIGV4_MISSING_DATE: return S3ERR_MISSING_SECURITY_HEADER;
	case SIGV4_MISSING_CONTENT_SHA256: return S3ERR_INVALID_REQUEST;
	case SIGV4_BAD_CONTENT_SHA256: return S3ERR_INVALID_ARGUMENT;
	case SIGV4_HOST_NOT_SIGNED: return S3ERR_AUTH_HEADER_MALFORMED;
	case SIGV4_HEADERS_NOT_SIGNED: return S3ERR_ACCESS_DENIED;
	case SIGV4_WRONG_REGION: return S3ERR_AUTH_HEADER_MALFORMED;
	case SIGV4_WRONG_SERVICE: return S3ERR_AUTH_HEADER_MALFORMED;
	case SIGV4_SCOPE_DATE: return S3ERR_AUTH_HEADER_MALFORMED;
	case SIGV4_SKEWED: return S3ERR_TIME_SKEWED;
	case SIGV4_NOT_YET_VALID: return S3ERR_ACCESS_DENIED;
	case SIGV4_EXPIRED: return S3ERR_EXPIRED;
	case SIGV4_EXPIRES_TOO_LONG: return S3ERR_AUTH_QUERY_MALFORMED;
	case SIGV4_MISMATCH: return S3ERR_SIGNATURE_MISMATCH;
	}
	return S3ERR_ACCESS_DENIED;
}

/*
 * Refuses with AccessDenied (NotImplemented for what s3gate does not do at
 * all: policy_decision.not_implemented) and the decision's message;
 * counted as a denial.
 */
static int
auth_deny(struct conn *c)
{
	c->srv->stats->denied++;
	if (c->decision.message[0] == '\0')
		snprintf(c->decision.message, sizeof(c->decision.message), "Access Denied.");
	return conn_reply_error(c, c->decision.not_implemented ? S3ERR_NOT_IMPLEMENTED :
	    S3ERR_ACCESS_DENIED, c->decision.message);
}

/* The request as the signature checks see it: as the client sent it. */
static void
auth_sigv4_request(struct conn *c, struct sigv4_request *sreq)
{
	memset(sreq, 0, sizeof(*sreq));
	sreq->method = c->head.method;
	sreq->method_len = c->head.method_len;
	sreq->path = c->addr.raw_path;
	sreq->path_len = c->addr.raw_path_len;
	sreq->query = c->addr.raw_query;
	sreq->query_len = c->addr.raw_query_len;
	sreq->headers = c->head.headers;
	sreq->nheaders = c->head.nheaders;
	sreq->parsed_query = &c->query;	/* parsed once, in conn_request_start */
}

/* The session token sent (decoded if it came in a presigned query) is the credential's. */
static int
auth_token_matches(struct conn *c)
{
	size_t want = strlen(c->cred.session_token);
	char *tok;
	long n;
	int ok;

	if (c->auth.security_token == NULL)
		return 0;
	if ((tok = malloc(c->auth.security_token_len + 1)) == NULL)
		return 0;
	if (c->auth.security_token_encoded)
		n = uri_decode(tok, c->auth.security_token, c->auth.security_token_len, 0);
	else {
		memcpy(tok, c->auth.security_token, c->auth.security_token_len);
		n = (long)c->auth.security_token_len;
	}
	ok = n >= 0 && (size_t)n == want && sigv4_ct_compare(tok, c->cred.session_token, want) == 0;
	explicit_bzero(tok, c->auth.security_token_len + 1);
	free(tok);
	return ok;
}

static int
auth_too_many_at_once(struct conn *c)
{
	c->srv->stats->throttled_requests++;
	c->retry_after = 1;
	(void)conn_reply_error(c, S3ERR_SLOW_DOWN, "Too many requests at once for your account; "
	    "please retry.");
	return 0;
}

/*
 * Per-principal request rate and concurrency (quota.h) for PRINCIPAL with
 * its OVERRIDES (NULL: the defaults alone).  Returns 1 to go on, 0 after
 * answering SlowDown, which S3 clients back off and retry on.
 */
static int
auth_quota_admit(struct conn *c, const char *principal, const struct policy_quota *overrides)
{
	const struct quota_limits *defaults = &c->srv->quota_defaults, *l;
	static const struct policy_quota none;
	struct quota_limits whole;
	double now, retry = 1;

	/* the principal's overrides came with the credential, fresh from the store */
	quota_limits_merge(&whole, defaults, overrides != NULL ? overrides : &none);
	if (!quota_limits_any(&whole))
		return 1;
	now = conn_now();
	if ((c->quota = quota_get(&c->srv->quotas, principal, now)) == NULL)
		return 1;
	server_quota_shm_wake(c->srv);
	/* shared through the workers' table only while it holds the principal */
	quota_set_limits(c->quota, &whole, c->srv->nworkers, defaults->shared &&
	    !(c->quota->no_shared_slot && !quotasync_up(c->srv->qsync)), now);
	l = &c->quota->limits;
	if (whole.connections > 0 && server_quota_shm_active(c->srv)) {
		/* every worker's requests in flight, counted together */
		switch (quotashm_admit(c->srv->quota_shm, c->quota->principal, c->srv->slot,
		    whole.connections, (int64_t)time(NULL))) {
		case 0:
			return auth_too_many_at_once(c);
		case 1:
			c->quota_shm_active = 1;
			break;
		default:
			break;	/* no slot: this worker's share below */
		}
	}
	if (!c->quota_shm_active && l->connections > 0 && c->quota->active >= l->connections)
		return auth_too_many_at_once(c);
	if (!quota_take_request(c->quota, now, &retry)) {
		if (c->quota_shm_active)
			quotashm_leave(c->srv->quota_shm, c->quota->principal, c->srv->slot);
		c->quota_shm_active = 0;
		c->srv->stats->throttled_requests++;
		c->retry_after = retry < 1 ? 1 : (int)(retry + 0.999);
		(void)conn_reply_error(c, S3ERR_SLOW_DOWN, "Please reduce your request rate.");
		return 0;
	}
	c->quota->active++;
	c->quota_active = 1;
	return 1;
}

/*
 * A link s3gate issued is a credential scoped to one object and method
 * (GET links serve HEAD too, for clients that look before they fetch).
 */
static int
auth_link_matches(struct conn *c)
{
	const char *m = c->head.method, *lm = c->cred.link_method;

	if (!(strcmp(m, lm) == 0 || (strcmp(lm, "GET") == 0 && strcmp(m, "HEAD") == 0)))
		return 0;
	return c->addr.bucket != NULL && c->addr.key != NULL && c->cred.link_bucket != NULL &&
	    c->cred.link_key != NULL && strcmp(c->addr.bucket, c->cred.link_bucket) == 0 &&
	    strcmp(c->addr.key, c->cred.link_key) == 0;
}

/*
 * A --max-uses link's downloads are counted where every worker adds to the
 * same count (quotashm.h).  Should that table be full, a count per worker
 * would let each serve the whole budget: the request is refused instead
 * (SlowDown: clients retry), and said once a minute in the log.
 */
static int
auth_link_counted(struct conn *c)
{
	static time_t said;
	time_t now;

	c->link_usage = server_link_usage(c->srv, c->cred.access_key_id, c->cred.expires_at);
	if (server_link_counted(c->srv, c->link_usage))
		return 1;
	c->srv->stats->link_uncounted++;
	now = time(NULL);
	if (now - said >= 60) {
		said = now;
		log_warnx("the workers' table of link download counts is full (%d slots): "
		    "downloads of --max-uses links refused with SlowDown until some end",
		    QUOTASHM_LINKS);
	}
	return 0;
}

/*
 * A browser form upload (POST Object): its signature is a form field, so
 * it comes unsigned as far as headers and query go.  s3gate does not do
 * them (action.c: PostObject); it says so rather than "not signed".
 */
static int
auth_is_form_upload(const struct conn *c)
{
	const struct http_header *h;

	if (strcmp(c->head.method, "POST") != 0 || c->addr.internal || c->addr.bucket == NULL ||
	    c->addr.key != NULL || c->addr.raw_query_len != 0)
		return 0;
	h = httpmsg_header_find(&c->head, "content-type");
	return h != NULL && h->value_len >= 19 && strncasecmp(h->value, "multipart/form-data", 19) == 0;
}

/* Whom quotas count CORS preflights as: no principal's name has a space. */
#define AUTH_PREFLIGHT_PRINCIPAL	"(CORS preflights)"

/* How many headers named NAME the head has. */
static size_t
auth_header_count(const struct http_head *h, const char *name)
{
	size_t i, n = 0, len = strlen(name);

	for (i = 0; i < h->nheaders; i++)
		n += h->headers[i].name_len == len && strncasecmp(h->headers[i].name, name, len) == 0;
	return n;
}

/*
 * A CORS preflight: what a browser sends on its own before a cross-origin
 * request that is not "simple" -- an upload to a presigned PUT link with a
 * Content-Type, any x-amz-* header -- and the request waits for its answer.
 * OPTIONS on a bucket or object with Origin and
 * Access-Control-Request-Method, never signed (a browser has nothing to
 * sign it with) and without a body.  S3 answers it from the bucket's CORS
 * rules, which its owner sets (bucket_config_ops cors): the backend
 * decides (conn_preflight_start).  Anything else with OPTIONS -- a header
 * twice, a body, no bucket -- goes the signed way, and is refused there.
 */
static int
auth_is_preflight(const struct conn *c)
{
	return strcmp(c->head.method, "OPTIONS") == 0 && !c->addr.internal &&
	    c->addr.bucket != NULL && c->req_body_len == 0 && !c->req_chunked &&
	    auth_header_count(&c->head, "origin") == 1 &&
	    auth_header_count(&c->head, "access-control-request-method") == 1 &&
	    auth_header_count(&c->head, "access-control-request-headers") <= 1;
}

int
auth_preflight_refuse(struct conn *c)
{
	return conn_reply_error(c, S3ERR_ACCESS_DENIED, "CORSResponse: This CORS request is not "
	    "allowed: the bucket's CORS rules do not allow this Origin, method "
	    "(Access-Control-Request-Method) or headers (Access-Control-Request-Headers), or "
	    "the bucket has none.");
}

/*
 * Stage PREFLIGHT: only buckets the policy knows are asked about, so that
 * the backend's other buckets stay out of sight; an unknown bucket gets
 * the refusal a known one without a matching rule gets (conn_answer.c turns every
 * backend answer but a 200 into it), and nobody learns which buckets exist
 * but from a rule an owner wrote for browsers.
 */
static int
auth_preflight(struct conn *c, time_t now)
{
	int w;

	/*
	 * Unsigned, yet asked of the store and the backend: all preflights
	 * together are one principal to the default quotas (quota_request_rate,
	 * quota_connections), a name no workspace can have.  Once: the stage
	 * runs again when the store answers.
	 */
	if (!c->quota_active && auth_quota_admit(c, AUTH_PREFLIGHT_PRINCIPAL, NULL) == 0)
		return 1;
	/* no principal: "" holds nothing anywhere, and the answer still says whether the bucket is known */
	w = conn_store_wait(c, pstore_access(c->srv->store, "", c->addr.bucket, now, &c->access,
	    conn_store_cb, c));
	if (w >= 0)
		return w;
	memset(&c->op, 0, offsetof(struct s3_op, detail));
	c->op.action = "PreflightRequest";
	c->op.list_prefix = "";
	c->op_valid = 1;
	c->decided = 1;
	if (!c->access.bucket_exists) {
		snprintf(c->decision.reason, sizeof(c->decision.reason), "CORS preflight: no such bucket");
		c->srv->stats->denied++;
		return auth_preflight_refuse(c);
	}
	c->decision.allow = 1;
	snprintf(c->decision.reason, sizeof(c->decision.reason), "CORS preflight: backend decides");
	c->preflight = 1;
	c->auth_stage = AUTH_STAGE_DONE;
	return 1;
}

/*
 * Stage PARSE: the signature's form and time, before any secret is known.
 * Signature Version 2 (links from aws-cli v1 and boto3) is parsed here too;
 * the fields the later stages need are copied into c->auth.
 */
static int
auth_parse(struct conn *c, time_t now)
{
	struct sigv4_request sreq;
	enum sigv4_status st;
	enum sigv2_status st2;

	if (auth_is_preflight(c)) {
		c->auth_stage = AUTH_STAGE_PREFLIGHT;
		return 1;
	}
	auth_sigv4_request(c, &sreq);
	st = sigv4_parse(&sreq, &c->auth);
	if (st == SIGV4_V2 && c->conf->sigv2) {
		c->sigv2 = 1;
		if ((st2 = sigv2_parse(&sreq, &c->auth2)) != SIGV2_OK ||
		    (st2 = sigv2_check(&c->auth2, now)) != SIGV2_OK) {
			c->srv->stats->auth_failures++;
			return conn_reply_error(c, st2 == SIGV2_EXPIRED ? S3ERR_EXPIRED : st2 == SIGV2_SKEWED ?
			    S3ERR_TIME_SKEWED : S3ERR_ACCESS_DENIED, sigv2_status_str(st2));
		}
		memset(&c->auth, 0, sizeof(c->auth));
		memcpy(c->auth.access_key_id, c->auth2.access_key_id, sizeof(c->auth.access_key_id));
		c->auth.presigned = c->auth2.presigned;
		c->auth.security_token = c->auth2.security_token;
		c->auth.security_token_len = c->auth2.security_token_len;
		c->auth.security_token_encoded = c->auth2.security_token_encoded;
		/* V2 signs no body hash: the backend gets UNSIGNED-PAYLOAD (Content-MD5 is kept) */
		snprintf(c->auth.payload_hash, sizeof(c->auth.payload_hash), "%s", SIGV4_UNSIGNED_PAYLOAD);
	} else if (st != SIGV4_OK || (st = sigv4_check(&c->auth, now, c->conf->region)) != SIGV4_OK) {
		c->srv->stats->auth_failures++;
		if (st == SIGV4_ANONYMOUS && auth_is_form_upload(c))
			return conn_reply_error(c, S3ERR_NOT_IMPLEMENTED, "PostObject is not allowed "
			    "through s3gate: browser form uploads (POST Object, boto3 "
			    "generate_presigned_post) are not supported by s3gate; upload with PUT (a "
			    "presigned PUT URL).");
		if (st == SIGV4_V2)
			return conn_reply_error(c, S3ERR_INVALID_REQUEST, "Signature Version 2 is not "
			    "accepted here; sign with AWS4-HMAC-SHA256 (aws-cli v1: aws configure set "
			    "default.s3.signature_version s3v4; boto3: Config(signature_version='s3v4')).");
		return conn_reply_error(c, auth_sigv4_error(st), sigv4_status_str(st));
	}
	c->auth_stage = AUTH_STAGE_CREDENTIAL;
	return 1;
}

/* Stage VERIFY: the credential is known; check it and the signature. */
static int
auth_verify(struct conn *c, time_t now)
{
	struct sigv4_request sreq;
	unsigned char key[SIGV4_KEY_LEN];
	int ok;

	if (c->cred.principal == NULL) {
		c->srv->stats->auth_failures++;
		/* links s3gate issues have "SGL" ids: say what an outsider needs to know */
		if (c->auth.presigned && strncmp(c->auth.access_key_id, "SGL", 3) == 0)
			return conn_reply_error(c, S3ERR_ACCESS_DENIED, "This link was revoked or does not "
			    "exist; ask the person who shared it for a new one.");
		return conn_reply_error(c, S3ERR_INVALID_ACCESS_KEY, NULL);
	}
	auth_sigv4_request(c, &sreq);
	/*
	 * A link s3gate issued for GET serves HEAD too (auth_link_matches), for
	 * clients that look before they fetch (download managers, curl -I):
	 * its signature covers "GET", so a HEAD is checked as that GET.  Only
	 * the answer's body differs, and a HEAD has none.
	 */
	if (c->cred.link_method != NULL && strcmp(c->cred.link_method, "GET") == 0 &&
	    strcmp(c->head.method, "HEAD") == 0) {
		sreq.method = "GET";
		sreq.method_len = 3;
	}
	if (c->sigv2) {
		ok = sigv2_verify(&sreq, &c->auth2, c->addr.virtual_host ? c->addr.bucket : NULL,
		    c->cred.secret) == SIGV2_OK;
	} else {
		sigv4_keycache_get(c->srv->keycache, c->auth.access_key_id, c->cred.secret,
		    c->auth.scope_date, c->auth.region, key);
		ok = sigv4_verify(&sreq, &c->auth, key) == SIGV4_OK;
		explicit_bzero(key, sizeof(key));
	}
	if (!ok) {
		c->srv->stats->auth_failures++;
		return conn_reply_error(c, S3ERR_SIGNATURE_MISMATCH, NULL);
	}
	/* only a correctly signed request learns that its credentials expired */
	if (c->cred.expires_at != 0 && c->cred.expires_at <= now)
		return conn_reply_error(c, S3ERR_EXPIRED_TOKEN, NULL);
	if (c->cred.session_token != NULL && !auth_token_matches(c))
		return conn_reply_error(c, S3ERR_INVALID_TOKEN, c->auth.security_token == NULL ?
		    "These are session credentials: send the session token (x-amz-security-token, "
		    "AWS_SESSION_TOKEN)." : "The session token does not belong to these credentials.");
	if (auth_quota_admit(c, c->cred.principal, &c->cred.quota) == 0)
		return 1;
	if (c->cred.link_method != NULL && !auth_link_matches(c))
		return conn_reply_error(c, S3ERR_ACCESS_DENIED, "This link is for another object or method.");
	if (c->cred.link_method != NULL && c->cred.link_max_uses > 0) {
		if (!auth_link_counted(c))
			return conn_reply_error(c, S3ERR_SLOW_DOWN, "s3gate cannot count this link's "
			    "downloads just now; try again in a few minutes.");
		if (server_link_budget_left(c->link_usage, c->cred.link_max_uses) == 0)
			return conn_reply_error(c, S3ERR_ACCESS_DENIED, "This link has been used as many "
			    "times as it allows; ask the person who shared it for a new one.");
	}
	if (c->addr.internal) {
		if (c->cred.link_method != NULL)
			return conn_reply_error(c, S3ERR_ACCESS_DENIED, "A presigned link cannot call the s3gate API.");
		return gateapi_begin(c);
	}
	if (s3op_classify(c->head.method, c->addr.bucket, c->addr.key, &c->query,
	    &c->head, &c->op) == -1) {
		c->op_valid = 1;
		return conn_reply_error(c, S3ERR_INVALID_ARGUMENT, c->op.deny_reason);
	}
	c->op_valid = 1;
	if (c->op.need == NEED_PROXY) {
		if (strcmp(c->op.action, "ListBuckets") == 0) {
			c->auth_stage = AUTH_STAGE_LIST_BUCKETS;
			return 1;
		}
		if (strcmp(c->op.action, "CreateBucket") == 0 && gateapi_bucket_create_allowed(c))
			return gateapi_create_bucket(c);
		/* a bucket the caller may already use: auth_create_existing */
		if (strcmp(c->op.action, "CreateBucket") == 0) {
			c->auth_stage = AUTH_STAGE_ACCESS;
			return 1;
		}
		c->decided = 1;
		snprintf(c->decision.reason, sizeof(c->decision.reason), "bucket creation not allowed");
		return conn_reply_error(c, S3ERR_ACCESS_DENIED, strcmp(c->op.action, "CreateBucket") == 0 ?
		    "CreateBucket: this name is not one you may create (ask your platform for the "
		    "naming rule); buckets are otherwise created by the workspace platform." :
		    "DeleteBucket: buckets are deleted by the workspace platform, not through this endpoint.");
	}
	c->auth_stage = AUTH_STAGE_ACCESS;
	return 1;
}

/* Stage LIST_BUCKETS: ListBuckets is answered by s3gate from the policy. */
static int
auth_list_buckets(struct conn *c, time_t now)
{
	struct sbuf body = SBUF_INIT;
	int w;

	pstore_bucket_list_free(&c->bucket_list);
	memset(&c->bucket_list, 0, sizeof(c->bucket_list));
	w = conn_store_wait(c, pstore_list_buckets(c->srv->store, c->cred.principal, now,
	    &c->bucket_list, conn_store_cb, c));
	if (w >= 0)
		return w;
	respond_list_buckets(&body, c->cred.principal, &c->bucket_list);
	pstore_bucket_list_free(&c->bucket_list);
	memset(&c->bucket_list, 0, sizeof(c->bucket_list));
	c->decided = 1;
	c->decision.allow = 1;
	snprintf(c->decision.reason, sizeof(c->decision.reason), "own, member and granted buckets");
	c->auth_stage = AUTH_STAGE_DONE;
	(void)conn_reply(c, 200, "application/xml", body.data, body.len);
	sbuf_free(&body);
	return 1;
}

/*
 * CreateBucket of a name the caller may not create (bucket_create): a
 * bucket it may already use is answered as S3 answers a re-create, 409
 * BucketAlreadyOwnedByYou (owner, member) or BucketAlreadyExists (a
 * grant), and nothing is done.  rclone, by default (no check_bucket
 * option set), creates the bucket before its first upload and goes on on
 * either code; a 403 stopped every upload.  Anything else -- no access, an
 * expired grant, no such bucket, a hidden one -- keeps the one refusal, so
 * the answer tells nobody without access that the bucket exists.
 */
static int
auth_create_existing(struct conn *c, time_t now)
{
	const struct policy_access *a = &c->access;

	c->decided = 1;
	c->decision.allow = 0;
	if (!a->bucket_exists || a->via == VIA_NONE ||
	    (a->via == VIA_GRANT && a->expires_at != 0 && a->expires_at <= now)) {
		snprintf(c->decision.reason, sizeof(c->decision.reason), "bucket creation not allowed");
		return conn_reply_error(c, S3ERR_ACCESS_DENIED, "CreateBucket: this name is not one "
		    "you may create (ask your platform for the naming rule); buckets are otherwise "
		    "created by the workspace platform.");
	}
	snprintf(c->decision.reason, sizeof(c->decision.reason), "bucket exists (%s)",
	    policy_via_str(a->via));
	snprintf(c->decision.message, sizeof(c->decision.message), "CreateBucket: bucket %s "
	    "already exists and you %s; nothing was changed.", c->addr.bucket,
	    a->via == VIA_GRANT ? "have a grant on it" : "may use it");
	return conn_reply_error(c, a->via == VIA_GRANT ? S3ERR_BUCKET_EXISTS : S3ERR_BUCKET_OWNED,
	    c->decision.message);
}

/* Stage ACCESS: what the principal holds on the bucket, and the decision. */
static int
auth_access(struct conn *c, time_t now)
{
	int w;

	/*
	 * The service (no bucket): every operation but ListBuckets is unknown
	 * there, and the stores look buckets up by name (a NULL one crashed
	 * the worker).  Decided with no access at all: refused.
	 */
	if (c->addr.bucket == NULL) {
		policy_decide(NULL, &c->op, NULL, NULL, now, 0, &c->decision);
		c->decided = 1;
		return auth_deny(c);
	}
	w = conn_store_wait(c, pstore_access(c->srv->store, c->cred.principal, c->addr.bucket, now,
	    &c->access, conn_store_cb, c));
	if (w >= 0)
		return w;
	if (c->op.need == NEED_PROXY && strcmp(c->op.action, "CreateBucket") == 0)
		return auth_create_existing(c, now);
	policy_decide(&c->access, &c->op, c->addr.bucket, c->addr.key, now,
	    s3op_config_permitted(&c->op, c->conf->bucket_config_ops, c->conf->allow_bucket_acl),
	    &c->decision);
	c->decided = 1;
	if (!c->decision.allow)
		return auth_deny(c);
	if (c->decision.check_body_keys) {
		if (c->req_chunked || !c->head.has_content_length)
			return conn_reply_error(c, S3ERR_MISSING_CONTENT_LENGTH, NULL);
		/*
		 * The keys are read from the body as it is sent: an aws-chunked
		 * encoding would have to be decoded and verified first, and its
		 * Content-Length is not the length forwarded (fail closed).
		 */
		if (strncmp(c->auth.payload_hash, "STREAMING-", 10) == 0)
			return conn_reply_error(c, S3ERR_NOT_IMPLEMENTED, "Under a prefix grant the "
			    "DeleteObjects body must be sent plain (not aws-chunked).");
		if (c->req_body_len > DELETEXML_MAX_BODY)
			return conn_reply_error(c, S3ERR_INVALID_REQUEST, "The DeleteObjects body is too large.");
		c->auth_stage = AUTH_STAGE_BODY_KEYS;
		return conn_read_prebody(c);
	}
	c->auth_stage = c->op.copy_bucket != NULL ? AUTH_STAGE_COPY_ACCESS : AUTH_STAGE_DONE;
	return 1;
}

/*
 * Stage BODY_KEYS: every key of a DeleteObjects body must lie inside the
 * prefix grant; one outside refuses the whole request (S3 would otherwise
 * delete the others and report the rest key by key), and so does a body
 * that is not the plain structure (fail closed).
 */
static int
auth_body_keys(struct conn *c)
{
	struct deletexml_check chk = { c->access.prefix, NULL };
	int nkeys;

	if (c->prebody.data == NULL ||
	    (nkeys = deletexml_keys(c->prebody.data, c->prebody.len, &chk)) == -1) {
		free(chk.outside);
		c->decision.allow = 0;
		snprintf(c->decision.reason, sizeof(c->decision.reason), "body not checkable");
		return conn_reply_error(c, S3ERR_MALFORMED_XML, "Under a prefix grant the DeleteObjects body "
		    "must be the plain <Delete><Object><Key>... structure (no comments, CDATA or "
		    "attributes); nothing was deleted.");
	}
	if (chk.outside != NULL) {
		c->decision.allow = 0;
		snprintf(c->decision.reason, sizeof(c->decision.reason), "prefix outside grant");
		snprintf(c->decision.message, sizeof(c->decision.message),
		    "DeleteObjects on bucket %s: key \"%.200s\" is outside your grant's prefix "
		    "\"%.160s\"; nothing was deleted.", c->addr.bucket, chk.outside, chk.prefix);
		free(chk.outside);
		return auth_deny(c);
	}
	if (nkeys == 0)
		return conn_reply_error(c, S3ERR_MALFORMED_XML, "The DeleteObjects body names no key.");
	c->auth_stage = AUTH_STAGE_DONE;
	return 1;
}

static unsigned	auth_copy_lock_missing(struct conn *, time_t);

/*
 * A copy with x-amz-metadata-directive: REPLACE (RGW compares it in any
 * case): the backend gives the destination none of the source's
 * attributes, its object lock included.
 */
static int
auth_copy_replaces(const struct conn *c)
{
	const struct http_header *h = httpmsg_header_find(&c->head, "x-amz-metadata-directive");

	return h != NULL && h->value_len == 7 && strncasecmp(h->value, "REPLACE", 7) == 0;
}

/* Stage COPY_ACCESS: the source of a copy needs read, decided like a GetObject. */
static int
auth_copy_access(struct conn *c, time_t now)
{
	struct policy_decision d;
	struct s3_op get;
	int w;

	w = conn_store_wait(c, pstore_access(c->srv->store, c->cred.principal, c->op.copy_bucket,
	    now, &c->copy_access, conn_store_cb, c));
	if (w >= 0)
		return w;
	memset(&get, 0, sizeof(get));
	get.action = "GetObject";
	get.need = NEED_READ;
	policy_decide(&c->copy_access, &get, c->op.copy_bucket, c->op.copy_key, now, 0, &d);
	if (!d.allow) {
		c->decision = d;
		snprintf(c->decision.reason, sizeof(c->decision.reason), "copy source: %.80s", d.reason);
		return auth_deny(c);
	}
	c->copy_lock_missing = strcmp(c->op.action, "CopyObject") == 0 && !auth_copy_replaces(c) ?
	    auth_copy_lock_missing(c, now) : 0;
	c->auth_stage = AUTH_STAGE_DONE;
	return 1;
}

/*
 * Ceph RGW (16 at least) gives a CopyObject's destination the source's
 * retention and legal hold (x-amz-metadata-directive COPY, the default;
 * AWS S3 does not): a copy of a held or retained object is a new object
 * under that lock, which its bucket's owner cannot delete -- COMPLIANCE:
 * nobody can -- until the date or until someone lifts the hold.  So a copy
 * needs, for what its source may carry, what PutObjectRetention and
 * PutObjectLegalHold need on the destination (owner or member, and the
 * operator's bucket_config_ops).  Returns the COPY_LOCK_* the principal
 * lacks; the source's bucket is then asked whether it has object lock
 * enabled before the copy is sent (conn_lock_probe_start: the source
 * object's own lock may change between a look and the copy).
 */
static unsigned
auth_copy_lock_missing(struct conn *c, time_t now)
{
	static const char *const acts[2] = { "PutObjectRetention", "PutObjectLegalHold" };
	static const unsigned bits[2] = { COPY_LOCK_RETENTION, COPY_LOCK_LEGAL_HOLD };
	struct policy_decision d;
	struct s3_op op;
	unsigned missing = 0;
	size_t i;

	for (i = 0; i < 2; i++) {
		memset(&op, 0, sizeof(op));
		op.action = acts[i];
		op.need = NEED_BUCKET_CONFIG;
		op.config_actions[0] = acts[i];
		policy_decide(&c->access, &op, c->addr.bucket, c->addr.key, now,
		    s3op_config_permitted(&op, c->conf->bucket_config_ops, c->conf->allow_bucket_acl), &d);
		if (!d.allow)
			missing |= bits[i];
	}
	return missing;
}

int
auth_copy_lock_verdict(struct conn *c, unsigned lock)
{
	const char *what;

	if ((lock & c->copy_lock_missing) == 0)
		return conn_backend_start(c);
	what = (lock & COPY_LOCK_UNSEEN) ? "whether the source's bucket has object lock enabled is "
	    "not known (the backend did not say)" : "the source's bucket has object lock enabled (an "
	    "object there may be under a retention period or a legal hold when the backend copies it)";
	c->srv->stats->allowed--;	/* counted at AUTH_STAGE_DONE */
	c->decision.allow = 0;
	snprintf(c->decision.reason, sizeof(c->decision.reason), "copy source locked");
	snprintf(c->decision.message, sizeof(c->decision.message),
	    "Access Denied: CopyObject on bucket %s: %s, and the backend gives a copy the source's "
	    "object lock; that needs what PutObjectRetention and PutObjectLegalHold need (owner or "
	    "member rights, allowed by the operator). Copy with x-amz-metadata-directive: REPLACE, "
	    "or ask the bucket's owner.", c->addr.bucket, what);
	return auth_deny(c);
}

/* See auth.h; the connection stays in AUTH_WAIT while a stage waits for the store. */
int
auth_run(struct conn *c)
{
	time_t now = time(NULL);
	int r = 1;

	while (r == 1 && c->state == CONN_AUTH_WAIT) {
		switch (c->auth_stage) {
		case AUTH_STAGE_PARSE:
			r = auth_parse(c, now);
			break;
		case AUTH_STAGE_PREFLIGHT:
			r = auth_preflight(c, now);
			break;
		case AUTH_STAGE_CREDENTIAL:
			/* a store may have filled it already before a PENDING answer */
			policy_credential_clear(&c->cred);
			r = conn_store_wait(c, pstore_credential(c->srv->store, c->auth.access_key_id,
			    &c->cred, conn_store_cb, c));
			if (r < 0) {
				c->auth_stage = AUTH_STAGE_VERIFY;
				r = 1;
			}
			break;
		case AUTH_STAGE_VERIFY:
			r = auth_verify(c, now);
			break;
		case AUTH_STAGE_LIST_BUCKETS:
			r = auth_list_buckets(c, now);
			break;
		case AUTH_STAGE_ACCESS:
			r = auth_access(c, now);
			break;
		case AUTH_STAGE_COPY_ACCESS:
			r = auth_copy_access(c, now);
			break;
		case AUTH_STAGE_API:
			r = gateapi_step(c);
			break;
		case AUTH_STAGE_BODY_KEYS:
			r = auth_body_keys(c);
			break;
		case AUTH_STAGE_DONE:
			/* a preflight is counted when the backend's rules have answered (conn_answer.c) */
			if (!c->preflight)
				c->srv->stats->allowed++;
			if (c->copy_lock_missing)
				return conn_lock_probe_start(c);
			return conn_backend_start(c);
		}
	}
	return r;
}
