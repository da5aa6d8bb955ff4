/*
 * gateapi: see gateapi.h.  One struct gateapi_request per API call, owned by its
 * connection; the job it may start is disowned (job->owner = NULL) when
 * the connection goes first, and then frees itself when it comes back.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "policy/admin.h"
#include "policy/storage.h"
#include "policy/store.h"
#include "proxy/gateapi.h"
#include "proxy/conn.h"
#include "proxy/jobs.h"
#include "proxy/log.h"
#include "proxy/quotashm.h"
#include "proxy/server.h"
#include "proxy/sigv4.h"
#include "proxy/tls.h"

enum gateapi_route {
	API_ACCESS,		/* GET /_s3gate/access */
	API_PRESIGN,		/* POST /_s3gate/presign */
	API_PRESIGN_REVOKE,	/* DELETE /_s3gate/presign/ID */
	API_REQUEST,		/* POST /_s3gate/requests */
	API_REQUESTS,		/* GET /_s3gate/requests */
	API_GRANT,		/* POST /_s3gate/grants */
	API_REVOKE,		/* DELETE /_s3gate/grants/BUCKET/PRINCIPAL */
	API_CREATE_BUCKET,	/* PUT /BUCKET under bucket_create (an S3 call, answered here) */
};

enum gateapi_stage {
	API_STAGE_START,
	API_STAGE_OWNER,	/* store: is the caller the bucket's owner? */
	API_STAGE_JOB,		/* an admin command on the jobs thread */
	API_STAGE_JOB_WAIT,
};

#define API_MAX_ARGS	24	/* the longest: presign with every option, 18 */

struct gateapi_job {
	struct job	 job;
	int		 argc;
	char		*argv[API_MAX_ARGS];
	char		*out;		/* the command's stdout (--json) */
	size_t		 out_len;
	char		*err;
	size_t		 err_len;
	int		 rc;
	enum admin_error kind;		/* what kind of failure rc 1 was */
	struct gateapi_busy *busy;	/* its principal's count of commands under way */
	struct server	*shared;	/* counted in the workers' shared table too; else NULL */
};

/*
 * Admin commands under way (queued or running), per principal.  A worker
 * runs them one at a time on its jobs thread, and a connection waiting
 * for its command reads nothing, so a client that sent calls and hung up
 * at once left every one of them queued: 4000 such POST /_s3gate/requests
 * of one principal took a worker from 8 to 90 MiB and kept every other
 * principal's calls waiting for seconds.  So a principal has at most
 * GATEAPI_MAX_JOBS_PER_PRINCIPAL under way, a worker GATEAPI_MAX_JOBS;
 * more are answered 503 SlowDown at once.  The counts live on the event
 * loop (start and done() run there); a command is counted until it is
 * back, also when its connection went first.  With several workers a
 * principal's commands are also counted in the table they share
 * (quotashm.h, under a name no principal can have), so the bound holds
 * per s3gate, not per worker; should that table have no slot near the
 * name, the worker's own count is the bound.
 */
#define GATEAPI_MAX_JOBS_PER_PRINCIPAL	4
#define GATEAPI_MAX_JOBS		64

struct gateapi_busy {
	char			*principal;
	int			 n;
	struct gateapi_busy	*next;
};
static struct gateapi_busy	*gateapi_busy_list;
static int			 gateapi_jobs_under_way;

/* PRINCIPAL's count; NULL if none of its commands is under way. */
static struct gateapi_busy *
gateapi_busy_find(const char *principal)
{
	struct gateapi_busy *b;

	for (b = gateapi_busy_list; b != NULL; b = b->next)
		if (strcmp(b->principal, principal) == 0)
			return b;
	return NULL;
}

/* The name PRINCIPAL's commands are counted under in the shared table; 0 if too long. */
static int
gateapi_shared_name(char *name, size_t size, const char *principal)
{
	int n = snprintf(name, size, "\001api %s", principal);

	return n > 0 && (size_t)n < size;
}

/* A command of J's principal is back: counted off, and its count freed at 0. */
static void
gateapi_busy_done(struct gateapi_job *j)
{
	struct gateapi_busy **pp, *b = j->busy;
	char name[512];

	if (j->shared != NULL && gateapi_shared_name(name, sizeof(name), b->principal))
		quotashm_leave(j->shared->quota_shm, name, j->shared->slot);
	gateapi_jobs_under_way--;
	if (--b->n > 0)
		return;
	for (pp = &gateapi_busy_list; *pp != NULL; pp = &(*pp)->next)
		if (*pp == b) {
			*pp = b->next;
			break;
		}
	free(b->principal);
	free(b);
}

struct gateapi_request {
	enum gateapi_route	 route;
	enum gateapi_stage	 stage;
	const char	*action;	/* for the access log */
	struct sbuf	 body;
	json_t		*json;		/* the parsed body */
	char		*arg1;		/* path arguments: link id, bucket */
	char		*arg2;		/* principal */
	struct policy_access access;
	struct gateapi_job	*job;		/* running; NULL when none */
	const char	*log_bucket;	/* the bucket named, for the access log (into json) */
	int		 success_status;
};

static void
gateapi_job_free(struct gateapi_job *j)
{
	int i;

	for (i = 0; i < j->argc; i++)
		free(j->argv[i]);
	free(j->out);
	free(j->err);
	free(j);
}

/* Jobs thread: the admin command, its output captured. */
static void
gateapi_job_run(struct job *job)
{
	struct gateapi_job *j = (struct gateapi_job *)job;
	FILE *out, *err;

	out = open_memstream(&j->out, &j->out_len);
	err = open_memstream(&j->err, &j->err_len);
	if (out == NULL || err == NULL) {
		j->rc = -1;
		j->kind = ADMIN_ERR_INTERNAL;
		if (out != NULL)
			fclose(out);
		if (err != NULL)
			fclose(err);
		return;
	}
	j->rc = admin_run_kind(j->argc, j->argv, out, err, &j->kind);
	fclose(out);
	fclose(err);
}

/* Event loop: the job is back. */
static void
gateapi_job_done(struct job *job)
{
	struct gateapi_job *j = (struct gateapi_job *)job;
	struct conn *c = job->owner;

	gateapi_busy_done(j);
	if (c == NULL) {
		gateapi_job_free(j);	/* its connection went away meanwhile */
		return;
	}
	c->api->stage = API_STAGE_JOB;	/* gateapi_step reads the result */
	if (j->rc == 0 && c->conf->store_kind == CONF_STORE_FILE) {
		/* this worker sees its own write at once; the others within their poll */
		struct sbuf errors = SBUF_INIT;
		(void)pstore_reload(c->srv->store, &errors);
		sbuf_free(&errors);
	}
	conn_resume(c);
}

/*
 * Runs "s3gate-admin -c CONF --json ARGS..." (NULL-terminated) on the jobs
 * thread.  What a caller sent goes after a "--" among ARGS, where admin's
 * parser takes nothing for an option; the routes check it first as well.
 */
static int
gateapi_job_start(struct conn *c, int status, ...)
{
	struct gateapi_request *a = c->api;
	struct gateapi_busy *busy;
	struct gateapi_job *j;
	const char *arg;
	char name[512];
	int admitted, shared = -1;
	va_list ap;

	busy = gateapi_busy_find(c->cred.principal);
	admitted = (busy == NULL || busy->n < GATEAPI_MAX_JOBS_PER_PRINCIPAL) &&
	    gateapi_jobs_under_way < GATEAPI_MAX_JOBS;
	if (admitted && c->srv->quota_shm != NULL &&
	    gateapi_shared_name(name, sizeof(name), c->cred.principal))
		/* -1: no slot free near the name; this worker's count alone bounds it */
		admitted = (shared = quotashm_admit(c->srv->quota_shm, name, c->srv->slot,
		    GATEAPI_MAX_JOBS_PER_PRINCIPAL, (int64_t)time(NULL))) != 0;
	if (!admitted) {
		c->decided = 1;
		snprintf(c->decision.reason, sizeof(c->decision.reason), "API calls under way");
		c->retry_after = 1;
		return conn_reply_error(c, S3ERR_SLOW_DOWN, "Too many of your s3gate API calls are "
		    "under way; wait for their answers.");
	}
	if (busy == NULL) {
		if ((busy = calloc(1, sizeof(*busy))) == NULL ||
		    (busy->principal = strdup(c->cred.principal)) == NULL)
			abort();
		busy->next = gateapi_busy_list;
		gateapi_busy_list = busy;
	}
	busy->n++;
	gateapi_jobs_under_way++;
	if ((j = calloc(1, sizeof(*j))) == NULL)
		abort();
	j->busy = busy;
	j->shared = shared == 1 ? c->srv : NULL;
	j->job.run = gateapi_job_run;
	j->job.done = gateapi_job_done;
	j->job.owner = c;
	j->argv[j->argc++] = strdup("s3gate-admin");
	j->argv[j->argc++] = strdup("-c");
	j->argv[j->argc++] = strdup(c->conf->file);
	j->argv[j->argc++] = strdup("--json");
	va_start(ap, status);
	while ((arg = va_arg(ap, const char *)) != NULL && j->argc < API_MAX_ARGS - 1)
		j->argv[j->argc++] = strdup(arg);
	va_end(ap);
	a->job = j;
	a->success_status = status;
	a->stage = API_STAGE_JOB_WAIT;
	c->store_pending = 1;	/* conn_drive waits; gateapi_job_done resumes */
	jobs_submit(&j->job);
	return 0;
}

/*
 * The admin command's failure as the S3 error a client understands: by
 * its kind, not its words (a message that names a bucket "access-x" or a
 * permission "needs" was AccessDenied).  Its first line is the Message,
 * and the log's reason.
 */
static int
gateapi_job_error(struct conn *c, struct gateapi_job *j)
{
	char msg[512];
	const char *m = j->err ? j->err : "";

	if (strncmp(m, "s3gate-admin: ", 14) == 0)
		m += 14;
	snprintf(msg, sizeof(msg), "%s", *m ? m : "The request could not be carried out.");
	msg[strcspn(msg, "\n")] = '\0';
	c->decided = 1;
	c->decision.allow = 0;
	snprintf(c->decision.reason, sizeof(c->decision.reason), "%.90s", msg);
	switch (j->kind) {
	case ADMIN_ERR_UNAVAILABLE:
		/* CreateBucket: S3's own words, whatever the cause (in the policy, on the backend, whose) */
		return conn_reply_error(c, S3ERR_BUCKET_EXISTS, NULL);
	case ADMIN_ERR_LIMIT:
		/* S3's words for it (CreateBucket past the most a workspace may have) */
		return conn_reply_error(c, S3ERR_TOO_MANY_BUCKETS, msg);
	case ADMIN_ERR_NO_SUCH_BUCKET:
		return conn_reply_error(c, S3ERR_NO_SUCH_BUCKET, msg);
	case ADMIN_ERR_NOT_FOUND:
		return conn_reply_error(c, S3ERR_NOT_FOUND, msg);
	case ADMIN_ERR_DENIED:
		return conn_reply_error(c, S3ERR_ACCESS_DENIED, msg);
	case ADMIN_ERR_UNCONFIGURED:
		/* not the caller's fault: the operator's choice (the message names the config file) */
		return conn_reply_error(c, S3ERR_NOT_IMPLEMENTED, c->api->route == API_PRESIGN ?
		    "Presigned URLs are not available here: s3gate's operator has not set "
		    "public_url, the base URL they carry." : "s3gate's operator has not "
		    "configured what this call needs.");
	case ADMIN_ERR_INTERNAL:
		/* the store's or the backend's words (paths, addresses) are for the log */
		log_warnx("%s for %s: %s", c->api->action, c->cred.principal, msg);
		return conn_reply_error(c, S3ERR_INTERNAL, NULL);
	case ADMIN_ERR_NONE:
	case ADMIN_ERR_INVALID:
		break;
	}
	return conn_reply_error(c, S3ERR_INVALID_ARGUMENT, msg);
}

static const char *
gateapi_str(json_t *o, const char *name)
{
	json_t *v = json_object_get(o, name);

	return json_is_string(v) ? json_string_value(v) : NULL;
}

/*
 * The fields the routes read as strings; gateapi_str() takes any other
 * type for "not given", so {"prefix": ["in/"]} granted the whole bucket
 * and {"expires": 3600} a grant without end.  A field of another type
 * (null aside: "none") is refused; the name of the first in *NAME.
 */
static int
gateapi_fields_are_strings(json_t *o, const char **name)
{
	static const char *const fields[] = { "bucket", "key", "method", "expires", "reason",
	    "principal", "permission", "prefix" };
	json_t *v;
	size_t i;

	for (i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
		v = json_object_get(o, fields[i]);
		if (v != NULL && !json_is_string(v) && !json_is_null(v)) {
			*name = fields[i];
			return 0;
		}
	}
	return 1;
}

/* A link id as admin_presign() makes them: "SGL" + 17 of A-Z 0-9. */
static int
gateapi_link_id_valid(const char *id)
{
	size_t i;

	if (strlen(id) != 20 || strncmp(id, "SGL", 3) != 0)
		return 0;
	for (i = 3; i < 20; i++)
		if (!((id[i] >= 'A' && id[i] <= 'Z') || (id[i] >= '0' && id[i] <= '9')))
			return 0;
	return 1;
}

/* "expires" (NULL: none given): a duration such as 90s or 7d, which admin then bounds. */
static int
gateapi_duration_ok(const char *s)
{
	return s == NULL || (s[0] >= '0' && s[0] <= '9');
}

/* A bucket name that cannot exist: answered as one that does not (hidden = missing). */
static int
gateapi_no_such_bucket(struct conn *c, const char *bucket)
{
	char msg[160];

	snprintf(msg, sizeof(msg), "no such bucket: %.100s", bucket);
	return conn_reply_error(c, S3ERR_NO_SUCH_BUCKET, msg);
}

/* Splits "/_s3gate/" paths: the decoded rest is in c->addr.internal_path. */
static int
gateapi_route_of(struct conn *c, struct gateapi_request *a)
{
	const char *p = c->addr.internal_path, *m = c->head.method, *slash;

	if (strcmp(p, "access") == 0 && strcmp(m, "GET") == 0) {
		a->route = API_ACCESS;
		a->action = "s3gate:GetAccess";
	} else if (strcmp(p, "presign") == 0 && strcmp(m, "POST") == 0) {
		a->route = API_PRESIGN;
		a->action = "s3gate:CreatePresignedURL";
	} else if (strncmp(p, "presign/", 8) == 0 && p[8] != '\0' && strchr(p + 8, '/') == NULL &&
	    strcmp(m, "DELETE") == 0) {
		a->route = API_PRESIGN_REVOKE;
		a->action = "s3gate:RevokePresignedURL";
		a->arg1 = strdup(p + 8);
	} else if (strcmp(p, "requests") == 0 && strcmp(m, "POST") == 0) {
		a->route = API_REQUEST;
		a->action = "s3gate:RequestAccess";
	} else if (strcmp(p, "requests") == 0 && strcmp(m, "GET") == 0) {
		a->route = API_REQUESTS;
		a->action = "s3gate:ListRequests";
	} else if (strcmp(p, "grants") == 0 && strcmp(m, "POST") == 0) {
		a->route = API_GRANT;
		a->action = "s3gate:Grant";
	} else if (strncmp(p, "grants/", 7) == 0 && (slash = strchr(p + 7, '/')) != NULL &&
	    slash > p + 7 && slash[1] != '\0' && strchr(slash + 1, '/') == NULL &&
	    strcmp(m, "DELETE") == 0) {
		a->route = API_REVOKE;
		a->action = "s3gate:Revoke";
		a->arg1 = strndup(p + 7, (size_t)(slash - p - 7));
		a->arg2 = strdup(slash + 1);
		c->gateapi_bucket = a->arg1;
	} else
		return -1;
	return 0;
}

/* The connection's API call state, owned by c->api (freed by gateapi_free). */
static struct gateapi_request *
gateapi_request_new(struct conn *c)
{
	if ((c->api = calloc(1, sizeof(*c->api))) == NULL)
		abort();
	return c->api;
}

int
gateapi_begin(struct conn *c)
{
	struct gateapi_request *a = gateapi_request_new(c);

	if (gateapi_route_of(c, a) == -1)
		return conn_reply_error(c, S3ERR_NOT_FOUND, "No such s3gate API endpoint: see "
		    "GET /_s3gate/access, /_s3gate/requests, /_s3gate/grants, /_s3gate/presign.");
	c->gateapi_action = a->action;
	if (a->route == API_PRESIGN || a->route == API_REQUEST || a->route == API_GRANT) {
		if (c->req_chunked)
			return conn_reply_error(c, S3ERR_MISSING_CONTENT_LENGTH,
			    "Send the JSON body with a Content-Length (at most 64 KiB), not chunked.");
		if (c->req_body_len > GATEAPI_MAX_BODY)
			return conn_reply_error(c, S3ERR_INVALID_ARGUMENT,
			    "The JSON body is larger than 64 KiB.");
		if (c->req_body_len == 0)
			return conn_reply_error(c, S3ERR_INVALID_ARGUMENT, "A JSON body is required.");
		sbuf_append(&a->body, c->client.buf + c->head.head_len, c->body_prefix);
		conn_continue_small_body(c);	/* curl waits a second for it otherwise */
		conn_set_state(c, CONN_API_BODY);
		conn_small_body_timer(c);
		return 1;
	}
	c->auth_stage = AUTH_STAGE_API;
	return 1;
}

int
gateapi_read_body(struct conn *c)
{
	struct gateapi_request *a = c->api;
	json_error_t jerr;
	const char *field;
	char want[65];
	int r;

	if ((r = conn_read_small_body(c, &a->body)) <= 0)
		return r < 0;
	c->body_prefix = (size_t)c->req_body_len < c->client.len - c->head.head_len ?
	    (size_t)c->req_body_len : c->client.len - c->head.head_len;
	/* the body is not forwarded anywhere that would check it: check the signed hash here */
	if (strlen(c->auth.payload_hash) == 64) {
		sigv4_sha256_hex(a->body.data, a->body.len, want);
		if (sigv4_ct_compare(want, c->auth.payload_hash, 64) != 0)
			return conn_reply_error(c, S3ERR_SIGNATURE_MISMATCH,
			    "The body does not match x-amz-content-sha256.");
	} else if (strcmp(c->auth.payload_hash, SIGV4_UNSIGNED_PAYLOAD) != 0 && !c->sigv2)
		return conn_reply_error(c, S3ERR_INVALID_REQUEST,
		    "Send the JSON body with a hex x-amz-content-sha256 or UNSIGNED-PAYLOAD.");
	if ((a->json = json_loadb(a->body.data, a->body.len, 0, &jerr)) == NULL ||
	    !json_is_object(a->json)) {
		char msg[256];
		snprintf(msg, sizeof(msg), "The body is not a JSON object (line %d: %s).",
		    jerr.line, jerr.text);
		return conn_reply_error(c, S3ERR_INVALID_ARGUMENT, msg);
	}
	/*
	 * Logged only if it can be a bucket's name: 64 KiB of "bucket" made
	 * each such call a 64 KiB access-log line (routes refuse the name later).
	 */
	if ((a->log_bucket = gateapi_str(a->json, "bucket")) != NULL &&
	    storage_bucket_name_valid(a->log_bucket))
		c->gateapi_bucket = a->log_bucket;
	if (!gateapi_fields_are_strings(a->json, &field)) {
		char msg[128];
		snprintf(msg, sizeof(msg), "\"%s\" must be a string.", field);
		return conn_reply_error(c, S3ERR_INVALID_ARGUMENT, msg);
	}
	conn_set_state(c, CONN_AUTH_WAIT);
	c->auth_stage = AUTH_STAGE_API;
	return 1;
}

static int
gateapi_reply_json(struct conn *c, int status, const char *json_text)
{
	return conn_reply(c, status, "application/json", json_text, json_text ? strlen(json_text) : 0);
}

/* GET /_s3gate/access, from the store's cached, async interface. */
static int
gateapi_access(struct conn *c)
{
	struct pstore_bucket_list *list = &c->bucket_list;
	json_t *root, *arr;
	char *text, when[32];
	size_t i;
	int w, r;

	pstore_bucket_list_free(list);
	memset(list, 0, sizeof(*list));
	w = conn_store_wait(c, pstore_list_buckets(c->srv->store, c->cred.principal, time(NULL),
	    list, conn_store_cb, c));
	if (w >= 0)
		return w;
	root = json_object();
	arr = json_array();
	for (i = 0; i < list->count; i++) {
		const struct model_bucket_access *it = &list->items[i];
		json_t *o = json_object();
		json_object_set_new(o, "bucket", json_string(it->bucket));
		json_object_set_new(o, "via", json_string(policy_via_str(it->via)));
		json_object_set_new(o, "permission", json_string(policy_perm_str(it->perm)));
		json_object_set_new(o, "prefix", it->prefix && *it->prefix ? json_string(it->prefix) :
		    json_null());
		if (it->expires_at != 0) {
			storage_format_time(it->expires_at, when, sizeof(when));
			json_object_set_new(o, "expires_at", json_string(when));
		} else
			json_object_set_new(o, "expires_at", json_null());
		json_array_append_new(arr, o);
	}
	json_object_set_new(root, "buckets", arr);
	pstore_bucket_list_free(list);
	memset(list, 0, sizeof(*list));
	text = json_dumps(root, JSON_COMPACT);
	json_decref(root);
	c->decided = 1;
	c->decision.allow = 1;
	snprintf(c->decision.reason, sizeof(c->decision.reason), "own access");
	r = gateapi_reply_json(c, 200, text);
	free(text);
	return r;
}

/* POST /_s3gate/grants and DELETE /_s3gate/grants/B/P: only the owner of B's workspace. */
static int
gateapi_owner_check(struct conn *c, const char *bucket)
{
	struct gateapi_request *a = c->api;
	char msg[512];
	int w;

	w = conn_store_wait(c, pstore_access(c->srv->store, c->cred.principal, bucket, time(NULL),
	    &a->access, conn_store_cb, c));
	if (w >= 0)
		return w;
	c->decided = 1;
	if (a->access.via == VIA_OWNER) {
		c->decision.allow = 1;
		snprintf(c->decision.reason, sizeof(c->decision.reason), "owner");
		return -1;
	}
	c->decision.allow = 0;
	/* a bucket the caller may not discover is answered like one that does not exist */
	if (!a->access.bucket_exists || (!a->access.discoverable && a->access.via == VIA_NONE)) {
		snprintf(c->decision.reason, sizeof(c->decision.reason), "no such bucket");
		snprintf(msg, sizeof(msg), "no such bucket: %s", bucket);
		return conn_reply_error(c, S3ERR_NO_SUCH_BUCKET, msg);
	}
	snprintf(c->decision.reason, sizeof(c->decision.reason), "not the owner");
	snprintf(msg, sizeof(msg), "Only the owner of the workspace of bucket %s can grant or "
	    "revoke access to it.", bucket);
	return conn_reply_error(c, S3ERR_ACCESS_DENIED, msg);
}

/*
 * Starts the route's admin command.  What the caller sent is checked here
 * first (link ids, bucket and principal names, methods, prefix length) and
 * passed after "--", so that no value of theirs is read as an option
 * (DELETE /_s3gate/presign/--ttl once swallowed the --principal that
 * limits revocation to one's own links).
 */
static int
gateapi_start_route(struct conn *c)
{
	struct gateapi_request *a = c->api;
	const char *bucket, *key, *method, *expires, *reason, *principal, *perm, *prefix;
	char target[2048], uses[32];
	json_t *mu;
	int r;

	switch (a->route) {
	case API_ACCESS:
		return gateapi_access(c);
	case API_PRESIGN:
		bucket = gateapi_str(a->json, "bucket");
		key = gateapi_str(a->json, "key");
		method = gateapi_str(a->json, "method");
		expires = gateapi_str(a->json, "expires");
		if (bucket == NULL || key == NULL || *key == '\0')
			return conn_reply_error(c, S3ERR_INVALID_ARGUMENT,
			    "Give \"bucket\" and \"key\" (and optionally \"method\", \"expires\", \"max_uses\").");
		if (!storage_bucket_name_valid(bucket))
			return conn_reply_error(c, S3ERR_INVALID_BUCKET_NAME, NULL);
		if (method != NULL && strcmp(method, "GET") != 0 && strcmp(method, "PUT") != 0)
			return conn_reply_error(c, S3ERR_INVALID_ARGUMENT,
			    "\"method\" is GET or PUT: a link is for a download or an upload.");
		if (!gateapi_duration_ok(expires))
			return conn_reply_error(c, S3ERR_INVALID_ARGUMENT,
			    "\"expires\" is a duration like 90s, 15m, 8h or 7d.");
		if (snprintf(target, sizeof(target), "s3://%s/%s", bucket, key) >= (int)sizeof(target))
			return conn_reply_error(c, S3ERR_INVALID_ARGUMENT, "The key is too long.");
		mu = json_object_get(a->json, "max_uses");
		if (mu != NULL && !json_is_null(mu)) {
			if (!json_is_integer(mu))
				return conn_reply_error(c, S3ERR_INVALID_ARGUMENT,
				    "\"max_uses\" must be a whole number.");
			snprintf(uses, sizeof(uses), "%lld", (long long)json_integer_value(mu));
			return gateapi_job_start(c, 200, "presign", "--principal", c->cred.principal,
			    "--credential", c->cred.access_key_id,
			    "--method", method ? method : "GET", "--expires", expires ? expires : "1h",
			    "--max-uses", uses, "--", target, (char *)NULL);
		}
		return gateapi_job_start(c, 200, "presign", "--principal", c->cred.principal,
		    "--credential", c->cred.access_key_id,
		    "--method", method ? method : "GET", "--expires", expires ? expires : "1h",
		    "--", target, (char *)NULL);
	case API_PRESIGN_REVOKE:
		if (!gateapi_link_id_valid(a->arg1))
			return conn_reply_error(c, S3ERR_NOT_FOUND, "no such link");
		return gateapi_job_start(c, 204, "presign", "revoke", "--principal",
		    c->cred.principal, "--", a->arg1, (char *)NULL);
	case API_REQUEST:
		bucket = gateapi_str(a->json, "bucket");
		reason = gateapi_str(a->json, "reason");
		if (bucket == NULL)
			return conn_reply_error(c, S3ERR_INVALID_ARGUMENT, "Give \"bucket\" (and \"reason\").");
		if (!storage_bucket_name_valid(bucket))
			return gateapi_no_such_bucket(c, bucket);
		if (reason != NULL && strncmp(reason, "--", 2) == 0)
			return conn_reply_error(c, S3ERR_INVALID_ARGUMENT,
			    "\"reason\" may not begin with \"--\".");
		return gateapi_job_start(c, 201, "request", "--reason", reason ? reason : "", "--",
		    bucket, c->cred.principal, (char *)NULL);
	case API_REQUESTS:
		return gateapi_job_start(c, 200, "requests", "--", c->cred.principal, (char *)NULL);
	case API_GRANT:
		bucket = gateapi_str(a->json, "bucket");
		principal = gateapi_str(a->json, "principal");
		perm = gateapi_str(a->json, "permission");
		prefix = gateapi_str(a->json, "prefix");
		expires = gateapi_str(a->json, "expires");
		if (bucket == NULL || principal == NULL || perm == NULL)
			return conn_reply_error(c, S3ERR_INVALID_ARGUMENT,
			    "Give \"bucket\", \"principal\" and \"permission\" (and optionally \"prefix\", \"expires\").");
		if (!storage_bucket_name_valid(bucket))
			return gateapi_no_such_bucket(c, bucket);
		if ((r = gateapi_owner_check(c, bucket)) >= 0)
			return r;
		if (!storage_principal_valid(principal))
			return conn_reply_error(c, S3ERR_INVALID_ARGUMENT,
			    "\"principal\" is not a valid principal name.");
		if (prefix != NULL && strlen(prefix) > MODEL_MAX_PREFIX)
			return conn_reply_error(c, S3ERR_INVALID_ARGUMENT,
			    "\"prefix\" is longer than 1023 bytes.");
		if (!gateapi_duration_ok(expires))
			return conn_reply_error(c, S3ERR_INVALID_ARGUMENT,
			    "\"expires\" is a duration like 90s, 15m, 8h or 7d.");
		if (prefix != NULL && *prefix != '\0')
			snprintf(target, sizeof(target), "%s/%s", bucket, prefix);
		else
			snprintf(target, sizeof(target), "%s", bucket);
		/* --owner: checked again under the store's lock (ownership may change meanwhile) */
		if (expires != NULL)
			return gateapi_job_start(c, 200, "grant", "--owner", c->cred.principal,
			    "--expires", expires, "--", target, principal, perm, (char *)NULL);
		return gateapi_job_start(c, 200, "grant", "--owner", c->cred.principal, "--",
		    target, principal, perm, (char *)NULL);
	case API_REVOKE:
		if (!storage_bucket_name_valid(a->arg1))
			return gateapi_no_such_bucket(c, a->arg1);
		if ((r = gateapi_owner_check(c, a->arg1)) >= 0)
			return r;
		if (!storage_principal_valid(a->arg2))
			return conn_reply_error(c, S3ERR_NOT_FOUND, "no grant for that principal");
		return gateapi_job_start(c, 204, "revoke", "--owner", c->cred.principal, "--",
		    a->arg1, a->arg2, (char *)NULL);
	case API_CREATE_BUCKET:
		return gateapi_job_start(c, 200, "bucket", "create", "--", c->cred.principal,
		    c->addr.bucket, (char *)NULL);
	}
	return conn_reply_error(c, S3ERR_INTERNAL, NULL);
}

int
gateapi_step(struct conn *c)
{
	struct gateapi_request *a = c->api;
	struct gateapi_job *j;
	int r;

	switch (a->stage) {
	case API_STAGE_START:
	case API_STAGE_OWNER:
		return gateapi_start_route(c);
	case API_STAGE_JOB_WAIT:
		return 0;
	case API_STAGE_JOB:
		j = a->job;
		a->job = NULL;
		if (j->rc != 0)
			r = gateapi_job_error(c, j);
		else if (a->route == API_CREATE_BUCKET) {
			char loc[300];
			c->decided = 1;
			c->decision.allow = 1;
			snprintf(loc, sizeof(loc), "/%s", c->addr.bucket);
			r = conn_reply_location(c, loc);
		} else {
			c->decided = 1;
			c->decision.allow = 1;
			if (c->decision.reason[0] == '\0')
				snprintf(c->decision.reason, sizeof(c->decision.reason), "self-service");
			r = gateapi_reply_json(c, a->success_status,
			    a->success_status == 204 ? NULL : j->out);
		}
		gateapi_job_free(j);
		return r;
	}
	return 0;
}

int
gateapi_bucket_create_allowed(const struct conn *c)
{
	if (c->conf->bucket_create == NULL || c->addr.bucket == NULL ||
	    c->cred.link_method != NULL)
		return 0;
	return admin_bucket_pattern_match(c->conf->bucket_create, c->cred.principal,
	    c->addr.bucket);
}

/*
 * CreateBucket (PUT /BUCKET), allowed by the operator's bucket_create
 * pattern: the bucket joins the caller's workspace and is created at the
 * backend by the admin command, on the jobs thread -- if the command
 * creates it there and no other principal has a better claim to the name.
 */
int
gateapi_create_bucket(struct conn *c)
{
	struct gateapi_request *a = gateapi_request_new(c);

	a->route = API_CREATE_BUCKET;
	a->action = "CreateBucket";
	c->auth_stage = AUTH_STAGE_API;
	snprintf(c->decision.reason, sizeof(c->decision.reason), "bucket_create pattern");
	return 1;
}

void
gateapi_free(struct conn *c)
{
	struct gateapi_request *a = c->api;

	c->gateapi_bucket = NULL;
	if (a == NULL)
		return;
	if (a->job != NULL)
		a->job->job.owner = NULL;	/* it frees itself when it comes back */
	sbuf_free(&a->body);
	if (a->json != NULL)
		json_decref(a->json);
	free(a->arg1);
	free(a->arg2);
	free(a);
	c->api = NULL;
}
