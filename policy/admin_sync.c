/*
 * admin_sync: sync FILE|- -- a resource file applied to the store: what it
 * holds compared with what the store holds (the diff printed), contested
 * and refused resources, buckets retired and created (admin.c's rules hold
 * here; admin_int.h).
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "policy/admin.h"
#include "policy/admin_int.h"
#include "policy/filestore.h"
#include "policy/redisstore.h"
#include "policy/model.h"
#include "policy/storage.h"
#include "proxy/conf.h"

#define ADMIN_MAX_INPUT		(64 * 1024 * 1024)

/* ---- sync ----------------------------------------------------------------- */

/* Copies the records of SRC whose source is (KEEP) or is not (!KEEP) SOURCE. */
static void
admin_copy(struct model *dst, const struct model *src, const char *source, int keep,
    const char *new_source)
{
	const struct model_workspace *w;
	struct model_workspace *nw;
	size_t i, j;

#define ADMIN_PICK(s) (source == NULL || (((s) != NULL && strcmp((s), source) == 0) == keep))
#define ADMIN_SRC(s) (new_source ? new_source : (s))
	for (i = 0; i < src->nworkspaces; i++) {
		w = &src->workspaces[i];
		if (!ADMIN_PICK(w->source))
			continue;
		nw = model_add_workspace(dst, w->name, w->principal, ADMIN_SRC(w->source), w->line);
		nw->created_at = w->created_at;
		nw->quota = w->quota;
		for (j = 0; j < w->nmembers; j++)
			model_workspace_add_member(dst, nw, w->members[j]);
	}
	for (i = 0; i < src->nbuckets; i++)
		if (ADMIN_PICK(src->buckets[i].source))
			model_add_bucket(dst, src->buckets[i].name, src->buckets[i].workspace,
			    src->buckets[i].discoverable, ADMIN_SRC(src->buckets[i].source),
			    src->buckets[i].line);
	for (i = 0; i < src->ngrants; i++) {
		const struct model_grant *g = &src->grants[i];

		if (ADMIN_PICK(g->source))
			model_add_grant(dst, g->bucket, g->grantee, g->perm, g->prefix,
			    g->granted_at, g->expires_at, ADMIN_SRC(g->source), g->line);
	}
	for (i = 0; i < src->nrequests; i++) {
		const struct model_request *r = &src->requests[i];

		if (ADMIN_PICK(r->source))
			model_add_request(dst, r->bucket, r->requester, r->workspace, r->reason,
			    r->requested_at, ADMIN_SRC(r->source), r->line);
	}
#undef ADMIN_PICK
#undef ADMIN_SRC
}

/* One comparable fact of a model, for sync's report. */
struct admin_fact {
	int	 rank;		/* workspaces first, then what they hold */
	char	*key;		/* "grant ws-frank-stagein bob" */
	char	*value;		/* "ReadWrite since 2025-10-20T14:01:49Z" */
};

static void
admin_fact_add(struct admin_fact **facts, size_t *n, int rank, char *key, char *value)
{
	if ((*facts = reallocarray(*facts, *n + 1, sizeof(**facts))) == NULL)
		abort();
	(*facts)[*n].rank = rank;
	(*facts)[*n].key = key;
	(*facts)[*n].value = value;
	(*n)++;
}

static int
admin_fact_cmp(const void *x, const void *y)
{
	const struct admin_fact *a = x, *b = y;

	if (a->rank != b->rank)
		return a->rank - b->rank;
	return strcmp(a->key, b->key);
}

/* The facts of M's records from SOURCE (NULL: all), sorted. */
static struct admin_fact *
admin_facts(const struct model *m, const char *source, size_t *n)
{
	struct admin_fact *f = NULL;
	char *k, *v, t1[32], t2[32];
	size_t i, j;

#define ADMIN_FROM(s) (source == NULL || ((s) != NULL && strcmp((s), source) == 0))
	*n = 0;
	for (i = 0; i < m->nworkspaces; i++) {
		const struct model_workspace *w = &m->workspaces[i];

		if (!ADMIN_FROM(w->source))
			continue;
		if (asprintf(&k, "workspace %s", w->name) == -1 ||
		    asprintf(&v, "owner %s", w->principal) == -1)
			abort();
		admin_fact_add(&f, n, 0, k, v);
		if (w->quota.set != 0) {
			json_t *o = storage_quota_json(&w->quota);

			if (asprintf(&k, "quota %s", w->principal) == -1 ||
			    (v = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS)) == NULL)
				abort();
			json_decref(o);
			admin_fact_add(&f, n, 1, k, v);
		}
		for (j = 0; j < w->nmembers; j++) {
			if (asprintf(&k, "member %s %s", w->name, w->members[j]) == -1 ||
			    (v = strdup("")) == NULL)
				abort();
			admin_fact_add(&f, n, 1, k, v);
		}
	}
	for (i = 0; i < m->nbuckets; i++) {
		const struct model_bucket *b = &m->buckets[i];

		if (!ADMIN_FROM(b->source))
			continue;
		if (asprintf(&k, "bucket %s", b->name) == -1 || asprintf(&v, "of %s, %s",
		    b->workspace, b->discoverable ? "discoverable" : "not discoverable") == -1)
			abort();
		admin_fact_add(&f, n, 2, k, v);
	}
	for (i = 0; i < m->ngrants; i++) {
		const struct model_grant *g = &m->grants[i];

		if (!ADMIN_FROM(g->source))
			continue;
		storage_format_time(g->granted_at, t1, sizeof(t1));
		storage_format_time(g->expires_at, t2, sizeof(t2));
		if (asprintf(&k, "grant %s %s", g->bucket, g->grantee) == -1 ||
		    asprintf(&v, "%s%s%s since %s%s%s", policy_perm_str(g->perm),
		    g->prefix[0] ? " prefix " : "", g->prefix, g->granted_at ? t1 : "-",
		    g->expires_at ? " until " : "", g->expires_at ? t2 : "") == -1)
			abort();
		admin_fact_add(&f, n, 3, k, v);
	}
	for (i = 0; i < m->nrequests; i++) {
		const struct model_request *r = &m->requests[i];

		if (!ADMIN_FROM(r->source))
			continue;
		storage_format_time(r->requested_at, t1, sizeof(t1));
		if (asprintf(&k, "request %s %s", r->bucket, r->requester) == -1 ||
		    asprintf(&v, "\"%s\" at %s", r->reason, r->requested_at ? t1 : "-") == -1)
			abort();
		admin_fact_add(&f, n, 4, k, v);
	}
	/* the store's own, whatever SOURCE: what sync keeps beside the resources */
	for (i = 0; i < m->nretired; i++) {
		const struct model_retired *r = &m->retired[i];

		storage_format_time(r->retired_at, t1, sizeof(t1));
		if (asprintf(&k, "retired %s", r->bucket) == -1 ||
		    asprintf(&v, "of %s (owner %s) since %s", r->workspace, r->principal,
		    r->retired_at ? t1 : "-") == -1)
			abort();
		admin_fact_add(&f, n, 5, k, v);
	}
#undef ADMIN_FROM
	if (*n > 1)
		qsort(f, *n, sizeof(*f), admin_fact_cmp);
	return f;
}

static void
admin_facts_free(struct admin_fact *f, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		free(f[i].key);
		free(f[i].value);
	}
	free(f);
}

/* Appends "+ KEY", "- KEY", "~ KEY: OLD -> NEW" to CHANGES; returns their count. */
static size_t
admin_diff(const struct model *old, const char *old_source, const struct model *new,
    json_t *changes)
{
	struct admin_fact *o, *n;
	size_t no, nn, i = 0, j = 0, count = 0;
	char *line;
	int c;

	o = admin_facts(old, old_source, &no);
	n = admin_facts(new, NULL, &nn);
	while (i < no || j < nn) {
		if (i == no)
			c = 1;
		else if (j == nn)
			c = -1;
		else
			c = admin_fact_cmp(&o[i], &n[j]);
		line = NULL;
		if (c < 0) {
			if (asprintf(&line, "- %s", o[i].key) == -1)
				abort();
			i++;
		} else if (c > 0) {
			if (asprintf(&line, "+ %s", n[j].key) == -1)
				abort();
			j++;
		} else {
			if (strcmp(o[i].value, n[j].value) != 0 && asprintf(&line, "~ %s: %s -> %s",
			    o[i].key, o[i].value, n[j].value) == -1)
				abort();
			i++;
			j++;
		}
		if (line != NULL) {
			json_array_append_new(changes, json_string(line));
			free(line);
			count++;
		}
	}
	admin_facts_free(o, no);
	admin_facts_free(n, nn);
	return count;
}

static int
admin_ws_name_cmp(const void *x, const void *y)
{
	return strcmp((*(const struct model_workspace *const *)x)->name,
	    (*(const struct model_workspace *const *)y)->name);
}

static char *
admin_read_input(struct admin *a, const char *name, size_t *len)
{
	FILE *f;
	char *buf = NULL;
	size_t cap = 0, n;

	*len = 0;
	if (strcmp(name, "-") == 0)
		f = stdin;
	else if ((f = fopen(name, "r")) == NULL) {
		admin_fail(a, "%s: %s", name, strerror(errno));
		return NULL;
	}
	for (;;) {
		if (*len + 65536 + 1 > cap) {
			cap = cap ? cap * 2 : 131072;
			if ((buf = realloc(buf, cap)) == NULL)
				abort();
		}
		n = fread(buf + *len, 1, cap - *len - 1, f);
		*len += n;
		if (n == 0 || *len > ADMIN_MAX_INPUT)
			break;
	}
	if (ferror(f) || *len > ADMIN_MAX_INPUT) {
		admin_fail(a, "%s: %s", name, ferror(f) ? strerror(errno) : "input too large");
		free(buf);
		buf = NULL;
	} else
		buf[*len] = '\0';
	if (f != stdin)
		fclose(f);
	return buf;
}

/*
 * sync and one tenant's resource.  A resource a tenant can write must not
 * stop everyone's changes (revocations included) nor revoke its own
 * workspace's records by a mistake: a resource with errors, and one that
 * claims what another holds, is refused alone, and its workspace keeps
 * what it had (or is not added).  What two resources claim (a bucket, a
 * principal's quotas, a request, a workspace name, a grant) stays with a
 * hand-written file, else with the workspace that held it before; a claim
 * nobody held before goes to nobody while it is contested.
 */
enum admin_claim_kind {		/* in the order claims are sorted (and reported) in */
	ADMIN_CLAIM_BUCKET,
	ADMIN_CLAIM_QUOTA,		/* a principal's quotas */
	ADMIN_CLAIM_REQUEST,		/* a principal's request for a bucket */
	ADMIN_CLAIM_WORKSPACE,		/* a workspace name */
};

struct admin_claim {
	enum admin_claim_kind kind;
	const char	*name;		/* the bucket, the principal (quotas), the workspace */
	const char	*requester;	/* ADMIN_CLAIM_REQUEST's; else NULL */
	const char	*ws;		/* the claimant */
	int		 origin;	/* ADMIN_FROM_* */
};

#define ADMIN_FROM_INPUT	0
#define ADMIN_FROM_KEPT		1	/* a refused workspace's records as they were */
#define ADMIN_FROM_HAND		2	/* a hand-written file */

/*
 * Which records of a model admin_claims() and admin_sync_keep() take: by
 * the file they come from and whether their workspace was refused.
 */
struct admin_select {
	const char	*source;	/* NULL: from any file */
	int		 from_source;	/* 1: from SOURCE; 0: from any other file */
	char *const	*refused;	/* sorted */
	size_t		 nrefused;
	int		 refused_ws;	/* 1: of the workspaces in REFUSED; 0: of others; -1: any */
};

static int
admin_strp_cmp(const void *x, const void *y)
{
	return strcmp(*(char *const *)x, *(char *const *)y);
}

/*
 * Claims of the same thing compare equal but for their claimant, which
 * orders them last.  A request's bucket and requester compare as
 * "BUCKET/REQUESTER" did when the claims were such strings.
 */
static int
admin_claim_cmp(const void *x, const void *y)
{
	const struct admin_claim *p = x, *q = y;
	const char *a = p->name, *b = q->name;
	int c;

	if (p->kind != q->kind)
		return p->kind < q->kind ? -1 : 1;
	if (p->kind == ADMIN_CLAIM_REQUEST) {
		for (; *a != '\0' && *a == *b; a++, b++)
			;
		/* as strings "B/P": "ab-c/y" before "ab/x" ('/' is after '-' and '.') */
		c = (unsigned char)(*a != '\0' ? *a : '/') - (unsigned char)(*b != '\0' ? *b : '/');
		if (c == 0 && *a == '\0' && *b == '\0')
			c = strcmp(p->requester, q->requester);
	} else
		c = strcmp(a, b);
	return c != 0 ? c : strcmp(p->ws, q->ws);
}

/* Whether P and Q are claims of the same thing. */
static int
admin_claim_same(const struct admin_claim *p, const struct admin_claim *q)
{
	return p->kind == q->kind && strcmp(p->name, q->name) == 0 &&
	    (p->kind != ADMIN_CLAIM_REQUEST || strcmp(p->requester, q->requester) == 0);
}

static int
admin_refused(char *const *refused, size_t n, const char *ws)
{
	return n > 0 && bsearch(&ws, refused, n, sizeof(*refused), admin_strp_cmp) != NULL;
}

/* Whether SEL takes a record from the file SOURCE of the workspace WS. */
static int
admin_select(const struct admin_select *sel, const char *source, const char *ws)
{
	if (sel->source != NULL &&
	    (source != NULL && strcmp(source, sel->source) == 0) != sel->from_source)
		return 0;
	return sel->refused_ws == -1 ||
	    admin_refused(sel->refused, sel->nrefused, ws) == sel->refused_ws;
}

static void
admin_claim_add(struct admin_claim **v, size_t *n, enum admin_claim_kind kind,
    const char *name, const char *requester, const char *ws, int origin)
{
	if ((*v = reallocarray(*v, *n + 1, sizeof(**v))) == NULL)
		abort();
	(*v)[*n].kind = kind;
	(*v)[*n].name = name;
	(*v)[*n].requester = requester;
	(*v)[*n].ws = ws;
	(*v)[*n].origin = origin;
	(*n)++;
}

/* The claims of M's records that SEL takes, as ORIGIN; they point into M. */
static void
admin_claims(struct admin_claim **v, size_t *n, const struct model *m,
    const struct admin_select *sel, int origin)
{
	size_t i;

	for (i = 0; i < m->nworkspaces; i++) {
		const struct model_workspace *w = &m->workspaces[i];

		if (!admin_select(sel, w->source, w->name))
			continue;
		admin_claim_add(v, n, ADMIN_CLAIM_WORKSPACE, w->name, NULL, w->name, origin);
		if (w->quota.set != 0)
			admin_claim_add(v, n, ADMIN_CLAIM_QUOTA, w->principal, NULL, w->name,
			    origin);
	}
	for (i = 0; i < m->nbuckets; i++)
		if (admin_select(sel, m->buckets[i].source, m->buckets[i].workspace))
			admin_claim_add(v, n, ADMIN_CLAIM_BUCKET, m->buckets[i].name, NULL,
			    m->buckets[i].workspace, origin);
	for (i = 0; i < m->nrequests; i++)
		if (admin_select(sel, m->requests[i].source, m->requests[i].workspace))
			admin_claim_add(v, n, ADMIN_CLAIM_REQUEST, m->requests[i].bucket,
			    m->requests[i].requester, m->requests[i].workspace, origin);
	/*
	 * No grants: one stands on its bucket's resource (storage.c), so two
	 * grants of one bucket are two claims of the bucket, or one
	 * resource's error.
	 */
}

/* Who held what C claims before (a workspace of CUR), or NULL. */
static const char *
admin_claim_holder(const struct model *cur, const struct admin_claim *c)
{
	const struct model_bucket *b;
	const struct model_workspace *w;
	const struct model_request *r;

	switch (c->kind) {
	case ADMIN_CLAIM_BUCKET:
		return (b = model_bucket_find(cur, c->name)) != NULL ? b->workspace : NULL;
	case ADMIN_CLAIM_QUOTA:
		return (w = model_quota_workspace(cur, c->name)) != NULL ? w->name : NULL;
	case ADMIN_CLAIM_REQUEST:
		return (r = model_request_find(cur, c->name, c->requester)) != NULL ?
		    r->workspace : NULL;
	case ADMIN_CLAIM_WORKSPACE:	/* a workspace twice: nobody's */
		break;
	}
	return NULL;
}

/*
 * Quotas and requests are a principal's: claimed by two workspaces and
 * held by neither, they go to the one that was the principal's before (a
 * tenant who names another's principal in their resource does not block
 * that principal's own).
 */
static const char *
admin_claim_principal(const struct model *cur, const struct admin_claim *v, size_t n)
{
	const struct model_workspace *w;
	const char *who, *found = NULL;
	size_t k;

	if (v[0].kind == ADMIN_CLAIM_REQUEST)
		who = v[0].requester;
	else if (v[0].kind == ADMIN_CLAIM_QUOTA)
		who = v[0].name;
	else
		return NULL;
	for (k = 0; k < n; k++) {
		if ((w = model_workspace_find(cur, v[k].ws)) == NULL ||
		    strcmp(w->principal, who) != 0)
			continue;
		if (found != NULL)
			return NULL;
		found = v[k].ws;
	}
	return found;
}

static int
admin_has_credential(const struct model *m, const char *principal)
{
	size_t i;

	for (i = 0; i < m->ncredentials; i++)
		if (strcmp(m->credentials[i].principal, principal) == 0)
			return 1;
	return 0;
}

/* Adds WS to *REFUSED, kept sorted. */
static void
admin_refuse(char ***refused, size_t *nrefused, const char *ws)
{
	size_t lo = 0, hi = *nrefused, mid;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (strcmp((*refused)[mid], ws) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	if ((*refused = reallocarray(*refused, *nrefused + 1, sizeof(char *))) == NULL)
		abort();
	memmove(&(*refused)[lo + 1], &(*refused)[lo], (*nrefused - lo) * sizeof(char *));
	if (((*refused)[lo] = strdup(ws)) == NULL)
		abort();
	(*nrefused)++;
}

/*
 * Adds to *REFUSED (sorted) the input's workspaces that claim what another
 * record claims and may not keep it; returns how many were added.
 */
static size_t
admin_sync_contested(const struct model *in, const struct model *cur, const char *state,
    char ***refused, size_t *nrefused, struct sbuf *why)
{
	static const char *const what[] = { "bucket", "quotas for", "request", "workspace" };
	/* the input's not yet refused; the state's of the refused (kept); hand-written files' */
	const struct admin_select input = { NULL, 1, *refused, *nrefused, 0 },
	    kept = { state, 1, *refused, *nrefused, 1 }, hand = { state, 0, NULL, 0, -1 };
	struct admin_claim *v = NULL;
	const char *keeper, *holder;
	size_t n = 0, i, j, k, added = 0;

	admin_claims(&v, &n, in, &input, ADMIN_FROM_INPUT);
	admin_claims(&v, &n, cur, &kept, ADMIN_FROM_KEPT);
	admin_claims(&v, &n, cur, &hand, ADMIN_FROM_HAND);
	if (n > 1)
		qsort(v, n, sizeof(*v), admin_claim_cmp);
	for (i = 0; i < n; i = j) {
		for (j = i + 1; j < n && admin_claim_same(&v[j], &v[i]); j++)
			;
		if (j - i == 1)
			continue;
		keeper = NULL;
		holder = admin_claim_holder(cur, &v[i]);
		for (k = i; k < j; k++)
			if (v[k].origin != ADMIN_FROM_INPUT)
				keeper = v[k].ws;
		/* the one who held it before, if it claims it once */
		for (k = i; keeper == NULL && holder != NULL && k < j; k++)
			if (strcmp(v[k].ws, holder) == 0 && (k + 1 == j ||
			    strcmp(v[k + 1].ws, holder) != 0) && (k == i ||
			    strcmp(v[k - 1].ws, holder) != 0))
				keeper = holder;
		if (keeper == NULL)
			keeper = admin_claim_principal(cur, v + i, j - i);
		for (k = i; k < j; k++) {
			if (v[k].origin != ADMIN_FROM_INPUT ||
			    (keeper != NULL && strcmp(v[k].ws, keeper) == 0) ||
			    admin_refused(*refused, *nrefused, v[k].ws))
				continue;
			sbuf_appendf(why, "workspace %s: %s %s%s%s is claimed %s; %s\n", v[k].ws,
			    what[v[i].kind], v[i].name, v[i].requester != NULL ? "/" : "",
			    v[i].requester != NULL ? v[i].requester : "",
			    keeper != NULL ? "by another workspace too" : "twice",
			    keeper != NULL ? "it stays where it is" :
			    "nobody gets it while it is contested");
			admin_refuse(refused, nrefused, v[k].ws);
			added++;
		}
	}
	/*
	 * Quotas limit spec.principal: set on a workspace that was not that
	 * principal's, while the principal had one, they are another tenant's
	 * say over the principal (a rate of 1 request a second).
	 */
	for (i = 0; i < in->nworkspaces; i++) {
		const struct model_workspace *w = &in->workspaces[i], *was;

		if (w->quota.set == 0 || admin_refused(*refused, *nrefused, w->name) ||
		    ((was = model_workspace_find(cur, w->name)) != NULL &&
		    strcmp(was->principal, w->principal) == 0) ||
		    (model_workspace_of(cur, w->principal) == NULL &&
		    !admin_has_credential(cur, w->principal)))
			continue;
		sbuf_appendf(why, "workspace %s: quotas for %s, whose workspace it was not (%s "
		    "has a workspace or keys of their own); set them there\n", w->name,
		    w->principal, w->principal);
		admin_refuse(refused, nrefused, w->name);
		added++;
	}
	free(v);
	return added;
}

/* Adds to DST the records CUR's workspaces in REFUSED (sorted) have from SOURCE (the state). */
static void
admin_sync_keep(struct model *dst, const struct model *cur, const char *source,
    char *const *refused, size_t nrefused)
{
	const struct admin_select ours = { source, 1, refused, nrefused, 1 };
	const struct model_workspace *w;
	const struct model_bucket *b;
	struct model_workspace *nw;
	size_t i, j;

	for (i = 0; i < cur->nworkspaces; i++) {
		w = &cur->workspaces[i];
		if (!admin_select(&ours, w->source, w->name))
			continue;
		nw = model_add_workspace(dst, w->name, w->principal, w->source, w->line);
		nw->created_at = w->created_at;
		nw->quota = w->quota;
		for (j = 0; j < w->nmembers; j++)
			model_workspace_add_member(dst, nw, w->members[j]);
	}
	for (i = 0; i < cur->nbuckets; i++) {
		b = &cur->buckets[i];
		if (admin_select(&ours, b->source, b->workspace))
			model_add_bucket(dst, b->name, b->workspace, b->discoverable, b->source,
			    b->line);
	}
	for (i = 0; i < cur->ngrants; i++) {
		const struct model_grant *g = &cur->grants[i];

		if ((b = model_bucket_find(cur, g->bucket)) != NULL &&
		    admin_select(&ours, g->source, b->workspace))
			model_add_grant(dst, g->bucket, g->grantee, g->perm, g->prefix,
			    g->granted_at, g->expires_at, g->source, g->line);
	}
	for (i = 0; i < cur->nrequests; i++) {
		const struct model_request *r = &cur->requests[i];

		if (admin_select(&ours, r->source, r->workspace))
			model_add_request(dst, r->bucket, r->requester, r->workspace, r->reason,
			    r->requested_at, r->source, r->line);
	}
}

/*
 * Adds to *REFUSED (sorted) the input's workspaces that list a bucket
 * another workspace held: one a sync retired (CUR's records), or one CUR
 * holds from STATE for a workspace whose resource lists it no more (this
 * sync or the next retires it: a bucket moves only through "bucket
 * release").  A claim of a bucket its holder still lists, or keeps, is
 * admin_sync_contested()'s, which runs first.  Returns how many were added.
 */
static size_t
admin_sync_retired(const struct model *in, const struct model *cur, const char *state,
    char ***refused, size_t *nrefused, struct sbuf *why)
{
	const struct model_workspace **ws, *key, *const *found, *held;
	const struct model_bucket *b, *cb;
	const struct model_retired *r;
	struct model_workspace probe;
	size_t i, added = 0;

	if ((ws = calloc(in->nworkspaces + 1, sizeof(*ws))) == NULL)
		abort();
	for (i = 0; i < in->nworkspaces; i++)
		ws[i] = &in->workspaces[i];
	qsort(ws, in->nworkspaces, sizeof(*ws), admin_ws_name_cmp);
	for (i = 0; i < in->nbuckets; i++) {
		b = &in->buckets[i];
		if (admin_refused(*refused, *nrefused, b->workspace))
			continue;
		probe.name = b->workspace;
		key = &probe;
		if ((found = bsearch(&key, ws, in->nworkspaces, sizeof(*ws),
		    admin_ws_name_cmp)) == NULL)
			continue;	/* no such workspace: model_index() says so */
		r = model_retired_find(cur, b->name);
		if (!admin_retired_allows(r, b->workspace, (*found)->principal)) {
			sbuf_appendf(why, "workspace %s: ", b->workspace);
			admin_retired_why(why, b->name, r->workspace, r->principal, r->retired_at);
			sbuf_appendc(why, '\n');
		} else if (r == NULL && (cb = model_bucket_find(cur, b->name)) != NULL &&
		    cb->source != NULL && strcmp(cb->source, state) == 0 &&
		    strcmp(cb->workspace, b->workspace) != 0) {
			held = model_workspace_find(cur, cb->workspace);
			sbuf_appendf(why, "workspace %s: bucket %s holds data of workspace %s "
			    "(owner %s), whose resource no longer lists it: once a sync has "
			    "dropped it, `s3gate-admin bucket release %s` hands it over\n",
			    b->workspace, b->name, cb->workspace, held != NULL ? held->principal : "-",
			    b->name);
		} else
			continue;
		admin_refuse(refused, nrefused, b->workspace);
		added++;
	}
	free(ws);
	return added;
}

/*
 * The retired records the sync leaves, into IN (indexed; the input as it
 * is applied, refused workspaces' records kept): CUR's, but those IN's
 * workspaces took back, and one for each bucket CUR held from STATE that
 * IN drops, dated NOW.  They are saved with the drop in one write (one
 * file renamed, one MULTI/EXEC): no moment holds the drop without the
 * record.
 */
static void
admin_sync_retire(struct model *in, const struct model *cur, const char *state, time_t now)
{
	struct admin_retiring {
		const char	*bucket, *ws, *principal;
		time_t		 at;
	} *v;
	const struct model_workspace *w;
	const struct model_bucket *b, *cb;
	const struct model_retired *r;
	size_t i, n = 0;

	if ((v = calloc(cur->nretired + cur->nbuckets + 1, sizeof(*v))) == NULL)
		abort();
	for (i = 0; i < cur->nretired; i++) {
		r = &cur->retired[i];
		if ((b = model_bucket_find(in, r->bucket)) != NULL &&
		    (w = model_workspace_find(in, b->workspace)) != NULL &&
		    admin_retired_allows(r, w->name, w->principal))
			continue;	/* taken back */
		if ((cb = model_bucket_find(cur, r->bucket)) != NULL && cb->source != NULL &&
		    strcmp(cb->source, state) == 0 && b == NULL)
			continue;	/* dropped again below */
		v[n++] = (struct admin_retiring){ r->bucket, r->workspace, r->principal,
		    r->retired_at };
	}
	for (i = 0; i < cur->nbuckets; i++) {
		cb = &cur->buckets[i];
		if (cb->source == NULL || strcmp(cb->source, state) != 0 ||
		    model_bucket_find(in, cb->name) != NULL)
			continue;
		w = model_workspace_find(cur, cb->workspace);
		v[n++] = (struct admin_retiring){ cb->name, cb->workspace,
		    w != NULL ? w->principal : "-", now };
	}
	for (i = 0; i < n; i++)
		model_add_retired(in, v[i].bucket, v[i].ws, v[i].principal, v[i].at);
	free(v);
}

int
admin_sync(struct admin *a, struct admin_args *args)
{
	struct sbuf errors = SBUF_INIT, berr = SBUF_INIT, scratch = SBUF_INIT;
	struct model *in = NULL, *next = NULL;
	json_t *changes = json_array(), *created = json_array(), *failed = json_array();
	json_t *jrefused = json_array();
	const char *label;
	char *data, **refused = NULL, **again = NULL;
	size_t len, i, nchanges, ngc, nrefused = 0, nagain = 0, added;
	int rc = 1, r;

	if (args->npos != 1) {
		rc = admin_fail(a, "usage: sync FILE|-");
		goto out;
	}
	label = strcmp(args->pos[0], "-") == 0 ? "stdin" : args->pos[0];
	if ((data = admin_read_input(a, args->pos[0], &len)) == NULL)
		goto out;
	in = model_new();
	if (storage_parse_each(in, label, data, len, &errors, NULL, 0, &refused,
	    &nrefused) == -1) {
		free(data);
		rc = admin_fail_errors(a, ADMIN_ERR_INVALID, "bad input", &errors);
		goto out;
	}
	if (nrefused > 1)
		qsort(refused, nrefused, sizeof(*refused), admin_strp_cmp);
	if ((rc = admin_load(a)) != 0) {
		free(data);
		goto out;
	}
	/*
	 * One resource's errors and claims are its own: refused, it keeps what
	 * it had, and the others are applied (admin_sync_contested()).
	 */
	do {
		added = admin_sync_contested(in, a->model, a->state_path, &refused, &nrefused,
		    &errors);
		/* after: a claim its holder still lists or keeps is refused as contested */
		added += admin_sync_retired(in, a->model, a->state_path, &refused, &nrefused,
		    &errors);
	} while (added > 0);
	if (nrefused > 0) {
		model_free(in);
		in = model_new();
		(void)storage_parse_each(in, label, data, len, &scratch, refused, nrefused,
		    &again, &nagain);
		for (i = 0; i < nagain; i++)
			free(again[i]);
		free(again);
		admin_sync_keep(in, a->model, a->state_path, refused, nrefused);
	}
	free(data);
	if (model_index(in, &errors) == -1) {
		rc = admin_fail_errors(a, ADMIN_ERR_INVALID, "bad input", &errors);
		goto out;
	}
	admin_sync_retire(in, a->model, a->state_path, a->now);
	if (model_index(in, &errors) == -1) {
		rc = admin_fail_errors(a, ADMIN_ERR_INVALID, "bad input", &errors);
		goto out;
	}

	/* hand-written files + the input as the new state file + credentials */
	next = model_new();
	admin_copy(next, a->model, a->state_path, 0, NULL);
	admin_copy(next, in, NULL, 1, a->state_path);
	for (i = 0; i < a->model->ncredentials; i++)
		model_add_credential(next, &a->model->credentials[i]);
	for (i = 0; i < a->model->nlink_issuers; i++)
		model_set_link_issuer(next, a->model->link_issuers[i].link,
		    a->model->link_issuers[i].issuer);
	for (i = 0; i < in->nretired; i++)
		model_add_retired(next, in->retired[i].bucket, in->retired[i].workspace,
		    in->retired[i].principal, in->retired[i].retired_at);
	if (model_index(next, &errors) == -1) {
		rc = admin_fail_errors(a, ADMIN_ERR_INVALID, "the input conflicts with the policy folder", &errors);
		goto out;
	}
	nchanges = admin_diff(a->model, a->state_path, in, changes);
	ngc = admin_gc_links(next, a->now);
	/* idempotent: an unchanged state is not rewritten, so proxies do not reload */
	if (a->conf->store_kind == CONF_STORE_REDIS ?
	    (nchanges > 0 || ngc > 0) &&
	    redisstore_model_save(a->conf, NULL, next, a->rlock, &errors) == -1 :
	    (nchanges > 0 && filestore_save_state(a->dir, next, &errors) == -1) ||
	    (ngc > 0 && filestore_save_credentials(a->dir, next, &errors) == -1)) {
		rc = admin_fail_errors(a, ADMIN_ERR_INTERNAL, "cannot save the policy store", &errors);
		goto out;
	}
	for (i = 0; i < json_array_size(changes); i++)
		admin_text(a, "%s", json_string_value(json_array_get(changes, i)));
	if (nchanges == 0)
		admin_text(a, "no changes");
	/* the refused resources' errors, and what their workspaces are now */
	if (nrefused > 0)
		(void)admin_fail_errors(a, ADMIN_ERR_INVALID, "", &errors);
	for (i = 0; i < nrefused; i++) {
		const struct model_workspace *w = model_workspace_find(in, refused[i]);

		(void)admin_fail(a, "workspace %s: its resource is not applied (the errors above); "
		    "%s", refused[i], w != NULL ? "it keeps what it had" : "it is not added");
		json_array_append_new(jrefused, json_string(refused[i]));
	}

	/*
	 * The policy is applied first: a backend that is down must not hold
	 * back a revocation.  Missing buckets are reported and the exit
	 * status is 1; running sync again retries them.
	 */
	rc = 0;
	for (i = 0; i < in->nbuckets; i++) {
		sbuf_reset(&berr);
		if ((r = admin_backend_ensure(a, in->buckets[i].name, &berr)) == 1) {
			admin_text(a, "+ backend bucket %s", in->buckets[i].name);
			json_array_append_new(created, json_string(in->buckets[i].name));
		} else if (r < 0) {
			(void)admin_fail(a, "bucket %s not created on the backend: %s",
			    in->buckets[i].name, berr.data ? berr.data : "error");
			json_array_append_new(failed, json_pack("{s:s,s:s}", "bucket",
			    in->buckets[i].name, "error", berr.data ? berr.data : "error"));
			rc = 1;
			if (strstr(berr.data ? berr.data : "", "unreachable") != NULL ||
			    strstr(berr.data ? berr.data : "", "TLS handshake failed") != NULL)
				break;	/* the same for every bucket */
		}
	}
	if (nrefused > 0)
		rc = 1;
	json_object_set_new(a->doc, "changes", changes);
	json_object_set_new(a->doc, "buckets_created", created);
	json_object_set_new(a->doc, "bucket_errors", failed);
	json_object_set_new(a->doc, "refused", jrefused);
	changes = created = failed = jrefused = NULL;
out:
	json_decref(changes);
	json_decref(created);
	json_decref(failed);
	json_decref(jrefused);
	for (i = 0; i < nrefused; i++)
		free(refused[i]);
	free(refused);
	model_free(in);
	model_free(next);
	sbuf_free(&errors);
	sbuf_free(&berr);
	sbuf_free(&scratch);
	return rc;
}
