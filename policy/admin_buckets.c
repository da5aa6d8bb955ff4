/*
 * admin_buckets: bucket create, retired and release -- buckets made under
 * the bucket_create pattern, and those syncs retired (admin.c's rules hold
 * here; admin_int.h).
 */
#include <fnmatch.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "policy/admin.h"
#include "policy/admin_int.h"
#include "policy/model.h"
#include "policy/storage.h"

int
admin_bucket_pattern_match(const char *pattern, const char *principal, const char *bucket)
{
	struct sbuf want = SBUF_INIT;
	const char *p, *q;
	int ok;

	if (pattern == NULL || principal == NULL || bucket == NULL)
		return 0;
	for (p = pattern; *p != '\0'; ) {
		if (strncmp(p, "{principal}", 11) == 0) {
			/* the principal's name is literal: "a*" names ws-a*-x, not ws-anything */
			for (q = principal; *q != '\0'; q++) {
				if (strchr("*?[]\\", *q) != NULL)
					sbuf_appendc(&want, '\\');
				sbuf_appendc(&want, *q);
			}
			p += 11;
		} else
			sbuf_appendc(&want, *p++);
	}
	ok = want.data != NULL && fnmatch(want.data, bucket, FNM_PERIOD) == 0;
	sbuf_free(&want);
	return ok;
}

/*
 * Whether another principal than PRINCIPAL has a better claim to BUCKET
 * under bucket_create: with ws-{principal}-*, ws-anna-* (anna's names)
 * also matches ws-anna-lena-x, which is one of anna-lena's.  Bucket names
 * leave no separator that principal names lack ('-' and '.' are in both),
 * so the most specific claim wins: among the principals the store knows
 * (owners, members, grantees, requesters, key holders), one whose names
 * include BUCKET and whose name is at least as long as PRINCIPAL's (or
 * PRINCIPAL's names do not include BUCKET) takes it from PRINCIPAL.  A
 * name taken before its principal was known stays with whoever took it.
 * Returns that principal, or NULL.
 */
static const char *
admin_bucket_claimant(struct admin *a, const char *principal, const char *bucket)
{
	const struct model *m = a->model;
	const char *pattern = a->conf->bucket_create;
	size_t i, j, mine;

	if (pattern == NULL)
		return NULL;
	mine = admin_bucket_pattern_match(pattern, principal, bucket) ? strlen(principal) : 0;
#define ADMIN_CLAIMS(q) (strcmp((q), principal) != 0 && strlen(q) >= mine && \
	    admin_bucket_pattern_match(pattern, (q), bucket))
	for (i = 0; i < m->nworkspaces; i++) {
		if (ADMIN_CLAIMS(m->workspaces[i].principal))
			return m->workspaces[i].principal;
		for (j = 0; j < m->workspaces[i].nmembers; j++)
			if (ADMIN_CLAIMS(m->workspaces[i].members[j]))
				return m->workspaces[i].members[j];
	}
	for (i = 0; i < m->ngrants; i++)
		if (ADMIN_CLAIMS(m->grants[i].grantee))
			return m->grants[i].grantee;
	for (i = 0; i < m->nrequests; i++)
		if (ADMIN_CLAIMS(m->requests[i].requester))
			return m->requests[i].requester;
	for (i = 0; i < m->ncredentials; i++)
		if (ADMIN_CLAIMS(m->credentials[i].principal))
			return m->credentials[i].principal;
#undef ADMIN_CLAIMS
	return NULL;
}

/*
 * Retired buckets (struct model_retired): sync never deletes a bucket, so
 * one it drops keeps its objects at the backend, and a resource listing
 * the name later would otherwise be given them (sync adopts a bucket the
 * backend has).  So a bucket goes to a workspace other than the one that
 * held it (or to that one under another owner) only after the operator's
 * "bucket release".  The one that held it takes it back by listing it.
 */

/*
 * Whether WS (owned by PRINCIPAL) may list BUCKET, whose retired record
 * is R: only the workspace that held it, under the same owner.
 */
int
admin_retired_allows(const struct model_retired *r, const char *ws, const char *principal)
{
	return r == NULL || (strcmp(r->workspace, ws) == 0 && strcmp(r->principal, principal) == 0);
}

/* Appends to WHY how R (held by WS, owned by PRINCIPAL) was retired and how to hand it over. */
void
admin_retired_why(struct sbuf *why, const char *bucket, const char *ws, const char *principal,
    time_t t)
{
	char when[32];

	admin_time(t, when, sizeof(when));
	sbuf_appendf(why, "bucket %s held data of workspace %s (owner %s), removed %.10s: "
	    "`s3gate-admin bucket release %s` hands it over", bucket, ws, principal,
	    t != 0 ? when : "earlier", bucket);
}

static size_t
admin_workspace_nbuckets(const struct model *m, const char *ws)
{
	size_t i, n = 0;

	for (i = 0; i < m->nbuckets; i++)
		n += strcmp(m->buckets[i].workspace, ws) == 0;
	return n;
}

/*
 * bucket create PRINCIPAL BUCKET: a bucket the principal may create under
 * the operator's bucket_create pattern (the proxy checks the pattern; here,
 * that no other principal has a better claim to the name) joins the
 * principal's workspace -- only if this call creates it at the backend.  A
 * bucket that is already there (one sync dropped from the policy, another
 * owner's) is refused like one already in the policy, with the words S3
 * uses ("not available"): the self-service API passes them on.
 */
int
admin_bucket_create(struct admin *a, struct admin_args *args)
{
	struct sbuf err = SBUF_INIT;
	struct model_workspace *w;
	const struct model_bucket *b;
	const struct model_retired *r;
	int rc;

	if (args->npos != 2)
		return admin_fail(a, "usage: bucket create PRINCIPAL BUCKET");
	if (!storage_principal_valid(args->pos[0]))
		return admin_fail(a, "\"%s\" is not a valid principal name", args->pos[0]);
	if (!storage_bucket_name_valid(args->pos[1]))
		return admin_fail(a, "\"%s\" is not a valid bucket name", args->pos[1]);
	if ((rc = admin_load(a)) != 0)
		return rc;
	if ((w = model_workspace_of(a->model, args->pos[0])) == NULL)
		return admin_fail_kind(a, ADMIN_ERR_DENIED, "%s owns no workspace; the bucket would "
		    "belong to nobody", args->pos[0]);
	if ((rc = admin_check_owned(a, w)) != 0)
		return rc;
	if ((b = model_bucket_find(a->model, args->pos[1])) != NULL)
		return admin_fail_kind(a, ADMIN_ERR_UNAVAILABLE, "bucket %s is not available: it is "
		    "in the policy already (workspace %s)", args->pos[1], b->workspace);
	/* a retired name (gone from the backend since, or this would refuse it anyway) */
	if (!admin_retired_allows((r = model_retired_find(a->model, args->pos[1])), w->name,
	    w->principal)) {
		admin_retired_why(&err, args->pos[1], r->workspace, r->principal, r->retired_at);
		rc = admin_fail_kind(a, ADMIN_ERR_UNAVAILABLE, "bucket %s is not available: %s",
		    args->pos[1], err.data);
		sbuf_free(&err);
		return rc;
	}
	if (admin_workspace_nbuckets(a->model, w->name) >= STORAGE_MAX_BUCKETS)
		return admin_fail_kind(a, ADMIN_ERR_LIMIT, "bucket %s is not available: "
		    "workspace %s has %d buckets, the most a workspace may have", args->pos[1], w->name, STORAGE_MAX_BUCKETS);
	if (admin_bucket_claimant(a, args->pos[0], args->pos[1]) != NULL)
		return admin_fail_kind(a, ADMIN_ERR_DENIED, "CreateBucket: %s may not create %s: "
		    "under bucket_create, the name is another principal's", args->pos[0], args->pos[1]);
	/* the backend first: a policy entry for a bucket that is not there helps nobody */
	switch (admin_backend_ensure(a, args->pos[1], &err)) {
	case 1:
		break;
	case 0:
		sbuf_appendf(&err, "it is on the backend already; a bucket joins a workspace "
		    "only when created here (sync adds existing ones)");
		/* FALLTHROUGH */
	case ADMIN_BACKEND_TAKEN:
		rc = admin_fail_kind(a, ADMIN_ERR_UNAVAILABLE, "bucket %s is not available: %s",
		    args->pos[1], err.data);
		sbuf_free(&err);
		return rc;
	default:
		rc = admin_fail_kind(a, ADMIN_ERR_INTERNAL, "cannot create bucket %s at the "
		    "backend: %s", args->pos[1], err.data ? err.data : "?");
		sbuf_free(&err);
		return rc;
	}
	sbuf_free(&err);
	model_add_bucket(a->model, args->pos[1], w->name, 0, a->state_path, 0);
	(void)model_remove_retired(a->model, args->pos[1]);	/* its own again */
	if ((rc = admin_commit(a, ADMIN_STATE)) == 0) {
		admin_text(a, "+ bucket %s (workspace %s)", args->pos[1], w->name);
		json_object_set_new(a->doc, "bucket", json_string(args->pos[1]));
		json_object_set_new(a->doc, "workspace", json_string(w->name));
	}
	return rc;
}

/* One retired record as the listing and the release print it. */
static json_t *
admin_retired_json(const struct model_retired *r)
{
	char when[32];

	admin_time(r->retired_at, when, sizeof(when));
	return json_pack("{s:s,s:s,s:s,s:o}", "bucket", r->bucket, "workspace", r->workspace,
	    "principal", r->principal, "retired_at", r->retired_at ? json_string(when) :
	    json_null());
}

/*
 * who BUCKET of a retired bucket: nobody may use it, whose it was and since
 * when, and the way out (exit 0: that is the answer to "who").
 */
int
admin_who_retired(struct admin *a, const struct model_retired *r)
{
	json_t *o = admin_retired_json(r);
	const char *since = json_string_value(json_object_get(o, "retired_at"));

	admin_text(a, "%s is retired (workspace %s, owner %s%s%s): nobody may use it; "
	    "`s3gate-admin bucket release %s` hands it over", r->bucket, r->workspace,
	    r->principal, since != NULL ? ", since " : "", since != NULL ? since : "", r->bucket);
	json_object_set_new(a->doc, "bucket", json_string(r->bucket));
	json_object_set_new(a->doc, "workspace", json_null());
	json_object_set_new(a->doc, "principals", json_array());
	json_object_set_new(a->doc, "retired", o);
	return 0;
}

static int
admin_retired_cmp(const void *x, const void *y)
{
	return strcmp((*(const struct model_retired *const *)x)->bucket,
	    (*(const struct model_retired *const *)y)->bucket);
}

/* bucket retired: the buckets syncs dropped that no workspace may list until released. */
int
admin_bucket_retired(struct admin *a, struct admin_args *args)
{
	const struct model_retired **v;
	const char *since;
	json_t *list, *o;
	size_t i;
	int rc;

	if (args->npos != 0)
		return admin_fail(a, "usage: bucket retired");
	if ((rc = admin_load(a)) != 0)
		return rc;
	if ((v = calloc(a->model->nretired + 1, sizeof(*v))) == NULL)
		abort();
	for (i = 0; i < a->model->nretired; i++)
		v[i] = &a->model->retired[i];
	qsort(v, a->model->nretired, sizeof(*v), admin_retired_cmp);
	list = json_array();
	for (i = 0; i < a->model->nretired; i++) {
		o = admin_retired_json(v[i]);
		since = json_string_value(json_object_get(o, "retired_at"));
		admin_text(a, "%s workspace %s owner %s since %s", v[i]->bucket, v[i]->workspace,
		    v[i]->principal, since != NULL ? since : "-");
		json_array_append_new(list, o);
	}
	json_object_set_new(a->doc, "retired", list);
	free(v);
	return 0;
}

/*
 * bucket release BUCKET: the operator's hand-over of a retired bucket --
 * after emptying it, or on purpose with its objects.  The next sync gives
 * it to a resource that lists it, as any bucket the backend has.
 */
int
admin_bucket_release(struct admin *a, struct admin_args *args)
{
	const struct model_retired *r;
	json_t *o;
	int rc;

	if (args->npos != 1)
		return admin_fail(a, "usage: bucket release BUCKET");
	if (!storage_bucket_name_valid(args->pos[0]))
		return admin_fail(a, "\"%s\" is not a valid bucket name", args->pos[0]);
	if ((rc = admin_load(a)) != 0)
		return rc;
	if ((r = model_retired_find(a->model, args->pos[0])) == NULL)
		return admin_fail(a, "bucket %s is not retired (bucket retired lists those that "
		    "are)", args->pos[0]);
	o = admin_retired_json(r);
	(void)model_remove_retired(a->model, args->pos[0]);
	if ((rc = admin_commit(a, ADMIN_STATE)) == 0) {
		admin_text(a, "- retired %s (workspace %s, owner %s): a resource that lists it "
		    "gets it with what it holds", args->pos[0],
		    json_string_value(json_object_get(o, "workspace")),
		    json_string_value(json_object_get(o, "principal")));
		json_object_set_new(a->doc, "released", o);
		o = NULL;
	}
	json_decref(o);
	return rc;
}
