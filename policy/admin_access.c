/*
 * admin_access: who may use which bucket -- member add and remove,
 * request, requests, approve, grant, revoke; and the answers to access
 * (a principal's buckets) and who (a bucket's principals).  admin.c's
 * rules hold here (admin_int.h).
 */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "policy/admin.h"
#include "policy/admin_int.h"
#include "policy/model.h"
#include "policy/storage.h"

#define ADMIN_MAX_REASON	1024	/* bytes of a request's reason */

/*
 * --owner P (the self-service API's caller): the proxy checked that P owns
 * the bucket's workspace from its cached view, before the job waited for
 * the store's lock; a sync or a change taken meanwhile may have given the
 * workspace to someone else.  So the check is made again here, under the
 * lock, on the model the change is made to.
 */
static int
admin_check_caller(struct admin *a, const struct model_workspace *w, const char *owner,
    const char *bucket)
{
	if (owner == NULL || strcmp(w->principal, owner) == 0)
		return 0;
	return admin_fail_kind(a, ADMIN_ERR_DENIED, "Only the owner of the workspace of bucket %s can grant or revoke "
	    "access to it.", bucket);
}

static const struct model_workspace *
admin_bucket_workspace(struct admin *a, const char *bucket)
{
	const struct model_bucket *b;

	if ((b = model_bucket_find(a->model, bucket)) == NULL)
		return NULL;
	return model_workspace_find(a->model, b->workspace);
}

/* ---- member, request, approve, grant, revoke ------------------------------ */

int
admin_member(struct admin *a, struct admin_args *args, int add)
{
	struct model_workspace *w;
	int rc;

	if (args->npos != 2)
		return admin_fail(a, "usage: member add|remove WORKSPACE PRINCIPAL");
	if (!storage_principal_valid(args->pos[1]))
		return admin_fail(a, "\"%s\" is not a valid principal name", args->pos[1]);
	if ((rc = admin_load(a)) != 0)
		return rc;
	if ((w = model_workspace_find(a->model, args->pos[0])) == NULL)
		return admin_fail(a, "no workspace %s", args->pos[0]);
	if ((rc = admin_check_owned(a, w)) != 0)
		return rc;
	if (add && w->nmembers >= STORAGE_MAX_MEMBERS)
		return admin_fail(a, "%s has %zu members; a workspace has at most %d", w->name,
		    w->nmembers, STORAGE_MAX_MEMBERS);
	if (add)
		model_workspace_add_member(a->model, w, args->pos[1]);
	else if (model_workspace_remove_member(a->model, w, args->pos[1]) == -1)
		return admin_fail(a, "%s is not a member of %s", args->pos[1], args->pos[0]);
	if ((rc = admin_commit(a, ADMIN_STATE)) == 0) {
		admin_text(a, "%c member %s %s", add ? '+' : '-', args->pos[0], args->pos[1]);
		json_object_set_new(a->doc, "workspace", json_string(args->pos[0]));
		json_object_set_new(a->doc, "member", json_string(args->pos[1]));
		json_object_set_new(a->doc, "added", json_boolean(add));
	}
	return rc;
}

/* A request as the API returns it: {"bucket","principal","reason","requested_at"}. */
static json_t *
admin_request_json(const struct model_request *r)
{
	char when[32];

	admin_time(r->requested_at, when, sizeof(when));
	return json_pack("{s:s,s:s,s:s,s:s}", "bucket", r->bucket, "principal", r->requester,
	    "reason", r->reason ? r->reason : "", "requested_at", when);
}

/* Whether S holds no control character (C0, DEL); UTF-8 and spaces are fine. */
static int
admin_text_printable(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return 0;
	return 1;
}

/*
 * PRINCIPAL asks for access to BUCKET.  A bucket PRINCIPAL may not discover
 * (not discoverable and no grant) is refused with exactly the words used
 * for a bucket that does not exist: the self-service API passes this
 * message on, and it must not tell the two apart.
 */
int
admin_request(struct admin *a, struct admin_args *args)
{
	struct model_workspace *w;
	struct model_request *r;
	struct policy_access acc;
	const struct model_bucket *b;
	const char *bucket, *who;
	int rc, existed = 0;

	if (args->npos != 2)
		return admin_fail(a, "usage: request BUCKET PRINCIPAL [--reason TEXT]");
	bucket = args->pos[0];
	who = args->pos[1];
	if (!storage_principal_valid(who))
		return admin_fail(a, "\"%s\" is not a valid principal name", who);
	if (args->reason != NULL && strlen(args->reason) > ADMIN_MAX_REASON)
		return admin_fail(a, "the reason is longer than %d bytes", ADMIN_MAX_REASON);
	/*
	 * The requester's free text is printed as it is to the owner's and the
	 * operator's terminals (requests, who, sync): an ESC sequence would
	 * act there, a newline forge a line.
	 */
	if (args->reason != NULL && !admin_text_printable(args->reason))
		return admin_fail(a, "the reason holds a control character (a newline, tab or ESC); "
		    "write it on one line");
	if ((rc = admin_load(a)) != 0)
		return rc;
	b = model_bucket_find(a->model, bucket);
	model_access(a->model, who, bucket, a->now, &acc);
	if (b == NULL || (!b->discoverable && acc.via == VIA_NONE))
		return admin_fail_kind(a, ADMIN_ERR_NO_SUCH_BUCKET, "no such bucket: %s", bucket);
	if (acc.via == VIA_OWNER || acc.via == VIA_MEMBER)
		return admin_fail(a, "%s already has access to %s (%s)", who, bucket,
		    policy_via_str(acc.via));
	/* a request stands on the requester's own Storage resource */
	if ((w = model_workspace_of(a->model, who)) == NULL)
		return admin_fail_kind(a, ADMIN_ERR_DENIED, "%s owns no workspace to hold the request",
		    who);
	if ((rc = admin_check_owned(a, w)) != 0)
		return rc;
	if ((r = model_request_find(a->model, bucket, who)) != NULL) {
		char *reason;

		existed = 1;

		if ((reason = strdup(args->reason ? args->reason : r->reason)) == NULL)
			abort();
		free(r->reason);
		r->reason = reason;
		r->requested_at = a->now;	/* asked again: pending again from now */
	} else
		r = model_add_request(a->model, bucket, who, w->name,
		    args->reason ? args->reason : "requesting access", a->now, a->state_path, 0);
	if ((rc = admin_commit(a, ADMIN_STATE)) != 0)
		return rc;
	admin_text(a, "%c request %s %s", existed ? '~' : '+', bucket, who);
	json_decref(a->doc);
	a->doc = admin_request_json(r);
	return 0;
}

/*
 * Whether R is still pending: not answered by a grant given at or after it
 * (approve, grant), and the requester is neither owner nor member.
 */
static int
admin_request_pending(struct admin *a, const struct model_request *r)
{
	const struct model_grant *g;
	struct policy_access acc;

	model_access(a->model, r->requester, r->bucket, a->now, &acc);
	if (!acc.bucket_exists || acc.via == VIA_OWNER || acc.via == VIA_MEMBER)
		return 0;
	g = model_grant_find(a->model, r->bucket, r->requester);
	return g == NULL || g->granted_at < r->requested_at;
}

static int
admin_request_cmp(const void *x, const void *y)
{
	const struct model_request *p = *(const struct model_request *const *)x;
	const struct model_request *q = *(const struct model_request *const *)y;
	int c;

	if (p->requested_at != q->requested_at)
		return p->requested_at < q->requested_at ? -1 : 1;
	if ((c = strcmp(p->bucket, q->bucket)) != 0)
		return c;
	return strcmp(p->requester, q->requester);
}

/*
 * requests PRINCIPAL: the pending requests PRINCIPAL should see -- those on
 * buckets of the workspaces PRINCIPAL owns (owners decide; members do not
 * see them), and PRINCIPAL's own -- oldest first.  A request is pending
 * until a grant is given at or after it (approve or grant answer it; a
 * request made again later, e.g. for more, is pending again); revoke
 * removes the request with the grant, so that it does not come back.
 */
int
admin_requests(struct admin *a, struct admin_args *args)
{
	const struct model_request **list = NULL;
	const struct model_request *r;
	const struct model_workspace *w;
	json_t *arr;
	char when[32];
	size_t i, n = 0;
	int rc;

	if (args->npos != 1)
		return admin_fail(a, "usage: requests PRINCIPAL");
	if ((rc = admin_load(a)) != 0)
		return rc;
	for (i = 0; i < a->model->nrequests; i++) {
		r = &a->model->requests[i];
		w = admin_bucket_workspace(a, r->bucket);
		if (strcmp(r->requester, args->pos[0]) != 0 &&
		    (w == NULL || strcmp(w->principal, args->pos[0]) != 0))
			continue;
		if (!admin_request_pending(a, r))
			continue;
		if ((list = reallocarray(list, n + 1, sizeof(*list))) == NULL)
			abort();
		list[n++] = r;
	}
	if (n > 1)
		qsort(list, n, sizeof(*list), admin_request_cmp);
	arr = json_array();
	for (i = 0; i < n; i++) {
		admin_time(list[i]->requested_at, when, sizeof(when));
		admin_text(a, "%s %s %s \"%s\"", list[i]->bucket, list[i]->requester, when,
		    list[i]->reason ? list[i]->reason : "");
		json_array_append_new(arr, admin_request_json(list[i]));
	}
	free(list);
	json_object_set_new(a->doc, "requests", arr);
	return 0;
}

/* Sets (adds or replaces) the grant of BUCKET to WHO. */
static int
admin_set_grant(struct admin *a, const char *bucket, const char *prefix, const char *who,
    const char *perm_s, const char *expires_s, const char *owner)
{
	const struct model_workspace *w;
	enum policy_perm perm;
	long long secs = 0;
	time_t expires = 0;
	char when[32];
	int rc, existed;

	if (policy_perm_parse(perm_s, &perm) == -1)
		return admin_fail(a, "unknown permission \"%s\"; use ReadOnly, ReadWrite or "
		    "WriteOnly", perm_s);
	if (expires_s != NULL) {
		if ((secs = admin_lifetime(a, "--expires", expires_s)) == -1)
			return 1;
		expires = a->now + (time_t)secs;
	}
	if (!storage_principal_valid(who))
		return admin_fail(a, "\"%s\" is not a valid principal name", who);
	if ((w = admin_bucket_workspace(a, bucket)) == NULL)
		return admin_fail_kind(a, ADMIN_ERR_NO_SUCH_BUCKET, "no bucket %s", bucket);
	if ((rc = admin_check_owned(a, w)) != 0 ||
	    (rc = admin_check_caller(a, w, owner, bucket)) != 0)
		return rc;
	existed = model_remove_grant(a->model, bucket, who) == 0;
	model_add_grant(a->model, bucket, who, perm, prefix, a->now, expires, a->state_path, 0);
	if ((rc = admin_commit(a, ADMIN_STATE)) != 0)
		return rc;
	when[0] = '\0';
	if (expires)
		admin_time(expires, when, sizeof(when));
	admin_text(a, "%c grant %s %s %s%s%s%s%s", existed ? '~' : '+', bucket, who,
	    policy_perm_str(perm), prefix[0] ? " prefix " : "", prefix,
	    expires ? " until " : "", when);
	json_object_set_new(a->doc, "bucket", json_string(bucket));
	json_object_set_new(a->doc, "principal", json_string(who));
	json_object_set_new(a->doc, "permission", json_string(policy_perm_str(perm)));
	json_object_set_new(a->doc, "prefix", json_string(prefix));
	json_object_set_new(a->doc, "expires_at", expires ? json_string(when) : json_null());
	return 0;
}

int
admin_approve(struct admin *a, struct admin_args *args)
{
	int rc;

	if (args->npos != 2)
		return admin_fail(a, "usage: approve BUCKET PRINCIPAL [--permission P] "
		    "[--expires D]");
	if ((rc = admin_load(a)) != 0)
		return rc;
	if (model_request_find(a->model, args->pos[0], args->pos[1]) == NULL)
		return admin_fail(a, "%s has not requested %s; use grant to give access "
		    "without a request", args->pos[1], args->pos[0]);
	/* the request stays listed (as on the platform); the grant is what counts */
	return admin_set_grant(a, args->pos[0], "", args->pos[1],
	    args->permission ? args->permission : "ReadOnly", args->expires, args->owner);
}

int
admin_grant(struct admin *a, struct admin_args *args)
{
	char bucket[64];
	const char *slash, *prefix = "";
	size_t len;
	int rc;

	if (args->npos != 3)
		return admin_fail(a, "usage: grant BUCKET[/PREFIX] PRINCIPAL P [--expires D]");
	len = strlen(args->pos[0]);
	if ((slash = strchr(args->pos[0], '/')) != NULL) {
		len = (size_t)(slash - args->pos[0]);
		prefix = slash + 1;
	}
	if (len >= sizeof(bucket) || strlen(prefix) >= sizeof(((struct policy_access *)0)->prefix))
		return admin_fail(a, "bucket name or prefix too long");
	memcpy(bucket, args->pos[0], len);
	bucket[len] = '\0';
	if ((rc = admin_load(a)) != 0)
		return rc;
	return admin_set_grant(a, bucket, prefix, args->pos[1], args->pos[2], args->expires,
	    args->owner);
}

int
admin_revoke(struct admin *a, struct admin_args *args)
{
	const struct model_workspace *w;
	const struct model_request *r;
	int rc, request_removed = 0;

	if (args->npos != 2)
		return admin_fail(a, "usage: revoke BUCKET PRINCIPAL");
	if ((rc = admin_load(a)) != 0)
		return rc;
	if ((w = admin_bucket_workspace(a, args->pos[0])) == NULL)
		return admin_fail_kind(a, ADMIN_ERR_NO_SUCH_BUCKET, "no bucket %s", args->pos[0]);
	if ((rc = admin_check_owned(a, w)) != 0 ||
	    (rc = admin_check_caller(a, w, args->owner, args->pos[0])) != 0)
		return rc;
	if (model_remove_grant(a->model, args->pos[0], args->pos[1]) == -1)
		return admin_fail_kind(a, ADMIN_ERR_NOT_FOUND, "%s holds no grant on %s", args->pos[1], args->pos[0]);
	/* the owner has answered the request: it must not show as pending again */
	if ((r = model_request_find(a->model, args->pos[0], args->pos[1])) != NULL &&
	    r->source != NULL && strcmp(r->source, a->state_path) == 0 &&
	    model_remove_request(a->model, args->pos[0], args->pos[1]) == 0)
		request_removed = 1;
	if ((rc = admin_commit(a, ADMIN_STATE)) == 0) {
		admin_text(a, "- grant %s %s", args->pos[0], args->pos[1]);
		if (request_removed)
			admin_text(a, "- request %s %s", args->pos[0], args->pos[1]);
		json_object_set_new(a->doc, "bucket", json_string(args->pos[0]));
		json_object_set_new(a->doc, "principal", json_string(args->pos[1]));
	}
	return rc;
}

/* ---- access, who ---------------------------------------------------------- */

/*
 * One entry of access ("bucket" set: INTERFACE.md's GET /_s3gate/access,
 * {"bucket","via","permission","prefix","expires_at"}) or of who
 * ("principal" set; adds "expired" to a grant with an end).
 */
static json_t *
admin_access_json(const char *bucket, const char *principal, enum policy_via via,
    enum policy_perm perm, const char *prefix, time_t expires, time_t now)
{
	json_t *o = json_object();
	char when[32];

	if (bucket != NULL)
		json_object_set_new(o, "bucket", json_string(bucket));
	if (principal != NULL)
		json_object_set_new(o, "principal", json_string(principal));
	json_object_set_new(o, "via", json_string(policy_via_str(via)));
	json_object_set_new(o, "permission", json_string(policy_perm_str(perm)));
	json_object_set_new(o, "prefix", json_string(prefix ? prefix : ""));
	if (expires) {
		admin_time(expires, when, sizeof(when));
		json_object_set_new(o, "expires_at", json_string(when));
		if (principal != NULL)
			json_object_set_new(o, "expired", json_boolean(expires <= now));
	} else
		json_object_set_new(o, "expires_at", json_null());
	return o;
}

static void
admin_access_text(struct admin *a, const char *name, enum policy_via via, enum policy_perm perm,
    const char *prefix, time_t expires)
{
	char when[32] = "";

	if (expires)
		admin_time(expires, when, sizeof(when));
	admin_text(a, "%s %s %s%s%s%s%s", name, policy_via_str(via), policy_perm_str(perm),
	    prefix && prefix[0] ? " prefix " : "", prefix ? prefix : "",
	    expires ? (expires <= a->now ? " expired " : " until ") : "", when);
}

int
admin_access(struct admin *a, struct admin_args *args)
{
	struct model_bucket_access *list;
	json_t *arr = json_array();
	size_t i, n;
	int rc;

	if (args->npos != 1) {
		json_decref(arr);
		return admin_fail(a, "usage: access PRINCIPAL");
	}
	if ((rc = admin_load(a)) != 0) {
		json_decref(arr);
		return rc;
	}
	n = model_list_buckets(a->model, args->pos[0], a->now, &list);
	for (i = 0; i < n; i++) {
		admin_access_text(a, list[i].bucket, list[i].via, list[i].perm, list[i].prefix,
		    list[i].expires_at);
		json_array_append_new(arr, admin_access_json(list[i].bucket, NULL, list[i].via,
		    list[i].perm, list[i].prefix, list[i].expires_at, a->now));
	}
	model_bucket_list_free(list, n);
	json_object_set_new(a->doc, "buckets", arr);
	return 0;
}

int
admin_who(struct admin *a, struct admin_args *args)
{
	const struct model_workspace *w;
	const struct model_retired *r;
	const struct model_grant *g;
	json_t *arr = json_array();
	size_t i;
	int rc;

	if (args->npos != 1) {
		json_decref(arr);
		return admin_fail(a, "usage: who BUCKET");
	}
	if ((rc = admin_load(a)) != 0) {
		json_decref(arr);
		return rc;
	}
	if ((w = admin_bucket_workspace(a, args->pos[0])) == NULL) {
		json_decref(arr);
		if (model_bucket_find(a->model, args->pos[0]) == NULL &&
		    (r = model_retired_find(a->model, args->pos[0])) != NULL)
			return admin_who_retired(a, r);
		return admin_fail(a, "no bucket %s", args->pos[0]);
	}
	admin_access_text(a, w->principal, VIA_OWNER, PERM_FULL, "", 0);
	json_array_append_new(arr, admin_access_json(NULL, w->principal, VIA_OWNER, PERM_FULL,
	    "", 0, a->now));
	for (i = 0; i < w->nmembers; i++) {
		admin_access_text(a, w->members[i], VIA_MEMBER, PERM_FULL, "", 0);
		json_array_append_new(arr, admin_access_json(NULL, w->members[i], VIA_MEMBER,
		    PERM_FULL, "", 0, a->now));
	}
	for (i = 0; i < a->model->ngrants; i++) {
		g = &a->model->grants[i];
		if (strcmp(g->bucket, args->pos[0]) != 0)
			continue;
		admin_access_text(a, g->grantee, VIA_GRANT, g->perm, g->prefix, g->expires_at);
		json_array_append_new(arr, admin_access_json(NULL, g->grantee, VIA_GRANT, g->perm,
		    g->prefix, g->expires_at, a->now));
	}
	json_object_set_new(a->doc, "bucket", json_string(args->pos[0]));
	json_object_set_new(a->doc, "workspace", json_string(w->name));
	json_object_set_new(a->doc, "principals", arr);
	return 0;
}
