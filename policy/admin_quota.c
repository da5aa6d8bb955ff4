/*
 * admin_quota: quota show, set and clear -- a principal's overrides of the
 * config's default quotas (admin.c's rules hold here; admin_int.h).
 */
#include <stddef.h>
#include <string.h>

#include <jansson.h>

#include "policy/admin_int.h"
#include "policy/model.h"
#include "policy/storage.h"
#include "proxy/quota.h"

/* ---- quota ---------------------------------------------------------------- */

/*
 * PRINCIPAL's quotas, as show, set and clear print them: the overrides the
 * store holds (on workspace W, NULL when none) and the figures that apply,
 * the config's defaults where there is no override; 0 is "no limit".
 * {"principal","workspace","overrides":{"request_rate","bandwidth",
 * "connections"} (those set),"effective":{the three}}.
 */
static void
admin_quota_print(struct admin *a, const char *principal, const struct model_workspace *w)
{
	static const char *const names[3] = { "request_rate", "bandwidth", "connections" };
	static const unsigned bits[3] = { POLICY_QUOTA_RATE, POLICY_QUOTA_BANDWIDTH,
	    POLICY_QUOTA_CONNECTIONS };
	const struct quota_limits defaults = { (double)a->conf->quota_request_rate,
	    (double)a->conf->quota_bandwidth, a->conf->quota_connections, 0 };
	const struct policy_quota *q = w != NULL ? &w->quota : NULL;
	struct quota_limits eff;
	struct sbuf line = SBUF_INIT;
	json_t *over = json_object(), *all = json_object();
	unsigned long long v[3];
	int i, set;

	quota_limits_merge(&eff, &defaults, q);
	v[0] = (unsigned long long)eff.request_rate;
	v[1] = (unsigned long long)eff.bandwidth;
	v[2] = eff.connections;
	sbuf_appendf(&line, "quota %s%s%s%s:", principal, w ? " (" : "", w ? w->name : "",
	    w ? ")" : "");
	for (i = 0; i < 3; i++) {
		set = q != NULL && (q->set & bits[i]);
		if (set)
			json_object_set_new(over, names[i], json_integer((json_int_t)v[i]));
		json_object_set_new(all, names[i], json_integer((json_int_t)v[i]));
		sbuf_appendf(&line, "%s %s %llu%s (%s)", i ? "," : "", names[i], v[i],
		    v[i] == 0 ? " = no limit" : "", set ? "override" : "default");
	}
	admin_text(a, "%s", line.data);
	json_object_set_new(a->doc, "principal", json_string(principal));
	json_object_set_new(a->doc, "workspace", w ? json_string(w->name) : json_null());
	json_object_set_new(a->doc, "overrides", over);
	json_object_set_new(a->doc, "effective", all);
	sbuf_free(&line);
}

/*
 * One option of quota set into Q: VALUE "default" unsets BIT, else a number
 * within bounds (a size for the bandwidth).  -1 after saying why.
 */
static int
admin_quota_option(struct admin *a, const char *opt, const char *value, unsigned bit,
    struct policy_quota *q)
{
	int bad;

	if (value == NULL)
		return 0;
	if (strcmp(value, "default") == 0) {
		q->set &= ~bit;
		return 0;
	}
	if (bit == POLICY_QUOTA_BANDWIDTH)
		bad = storage_parse_size(value, &q->bandwidth) == -1;
	else if (bit == POLICY_QUOTA_RATE)
		bad = storage_parse_count(value, POLICY_QUOTA_MAX_RATE, &q->request_rate) == -1;
	else
		bad = storage_parse_count(value, POLICY_QUOTA_MAX_CONNECTIONS,
		    &q->connections) == -1;
	if (bad) {
		admin_fail(a, "%s %s: write %s, 0 for no limit, or default", opt, value,
		    bit == POLICY_QUOTA_BANDWIDTH ? "bytes per second like 20971520, 20M or 20Mi" :
		    bit == POLICY_QUOTA_RATE ? "a whole number up to 10000000" :
		    "a whole number up to 1000000");
		return -1;
	}
	q->set |= bit;
	return 0;
}

/*
 * Where PRINCIPAL's quotas stand: the workspace that holds them, else the
 * first workspace it owns that the CLI may rewrite, else the first it owns
 * (refused by admin_check_owned() with its file).  NULL if it owns none.
 */
static struct model_workspace *
admin_quota_home(struct admin *a, const char *principal)
{
	struct model_workspace *w;
	size_t i;

	if ((w = model_quota_workspace(a->model, principal)) != NULL)
		return w;
	for (i = 0; i < a->model->nworkspaces; i++) {
		w = &a->model->workspaces[i];
		if (strcmp(w->principal, principal) == 0 && w->source != NULL &&
		    strcmp(w->source, a->state_path) == 0)
			return w;
	}
	return model_workspace_of(a->model, principal);
}

/* quota show|set|clear PRINCIPAL: only the operator's CLI; the API never runs these. */
int
admin_quota(struct admin *a, const char *sub, struct admin_args *args)
{
	struct model_workspace *w;
	struct policy_quota q;
	int rc, change = strcmp(sub, "show") != 0;

	if (strcmp(sub, "show") != 0 && strcmp(sub, "set") != 0 && strcmp(sub, "clear") != 0)
		return admin_fail(a, "unknown command \"quota %s\"; see s3gate-admin -h", sub);
	if (args->npos != 1 || (strcmp(sub, "set") == 0) != (args->rate != NULL ||
	    args->bandwidth != NULL || args->connections != NULL))
		return admin_fail(a, "usage: quota show|clear PRINCIPAL, or quota set PRINCIPAL "
		    "[--rate N] [--bandwidth SIZE] [--connections N]");
	if (!storage_principal_valid(args->pos[0]))
		return admin_fail(a, "\"%s\" is not a valid principal name", args->pos[0]);
	/* checked before the lock: nothing is loaded for a typo */
	memset(&q, 0, sizeof(q));
	if (admin_quota_option(a, "--rate", args->rate, POLICY_QUOTA_RATE, &q) == -1 ||
	    admin_quota_option(a, "--bandwidth", args->bandwidth, POLICY_QUOTA_BANDWIDTH, &q) == -1 ||
	    admin_quota_option(a, "--connections", args->connections, POLICY_QUOTA_CONNECTIONS,
	    &q) == -1)
		return 1;
	if ((rc = admin_load(a)) != 0)
		return rc;
	w = strcmp(sub, "set") == 0 ? admin_quota_home(a, args->pos[0]) :
	    model_quota_workspace(a->model, args->pos[0]);
	if (strcmp(sub, "set") == 0 && w == NULL)
		return admin_fail(a, "%s owns no workspace; quotas stand on the principal's "
		    "Storage resource (spec.quotas): sync one first", args->pos[0]);
	if (strcmp(sub, "clear") == 0 && w == NULL)
		return admin_fail(a, "%s has no quota overrides", args->pos[0]);
	if (change && (rc = admin_check_owned(a, w)) != 0)
		return rc;
	if (strcmp(sub, "set") == 0) {
		/* the options given replace theirs; the others stay as they were */
		(void)admin_quota_option(a, "--rate", args->rate, POLICY_QUOTA_RATE, &w->quota);
		(void)admin_quota_option(a, "--bandwidth", args->bandwidth,
		    POLICY_QUOTA_BANDWIDTH, &w->quota);
		(void)admin_quota_option(a, "--connections", args->connections,
		    POLICY_QUOTA_CONNECTIONS, &w->quota);
	} else if (strcmp(sub, "clear") == 0)
		memset(&w->quota, 0, sizeof(w->quota));
	if (change && (rc = admin_commit(a, ADMIN_STATE)) != 0)
		return rc;
	admin_quota_print(a, args->pos[0], w != NULL && w->quota.set != 0 ? w : NULL);
	return 0;
}
