/*
 * test_storage: Storage resources (YAML and kubectl JSON List) into the
 * model, the checks with file:line, and what the seeds give each principal.
 * Run from the repository root (make unit does).
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "policy/model.h"
#include "policy/storage.h"
#include "proxy/s3addr.h"
#include "tests/unit/testlib.h"

#define NOW	1760000000	/* 2025-10-09 */

static struct model *
load(const char *path)
{
	struct sbuf errors = SBUF_INIT;
	struct model *m = model_new();

	if (storage_load_file(m, path, &errors) == -1 || model_index(m, &errors) == -1) {
		printf("# %s: %s", path, errors.data ? errors.data : "?");
		model_free(m);
		m = NULL;
	}
	sbuf_free(&errors);
	return m;
}

/* Parses TEXT as SOURCE; expects a failure whose errors hold WANT. */
static void
expect_error(const char *name, const char *source, const char *text, const char *want)
{
	struct sbuf errors = SBUF_INIT;
	struct model *m = model_new();
	int rc;

	rc = storage_parse(m, source, text, strlen(text), &errors);
	if (rc == 0)
		rc = model_index(m, &errors);
	T_OK(rc == -1 && errors.data != NULL && strstr(errors.data, want) != NULL,
	    "%s: error names \"%s\"", name, want);
	if (errors.data != NULL)
		printf("#   %s", errors.data);
	model_free(m);
	sbuf_free(&errors);
}

static void
check_seeds(const char *what, struct model *m)
{
	struct policy_access a;
	struct model_bucket_access *list;
	size_t n;

	T_OK(m != NULL, "%s: loads", what);
	if (m == NULL)
		return;
	T_OK(m->nworkspaces == 4 && m->nbuckets == 9 && m->ngrants == 4 && m->nrequests == 4,
	    "%s: 4 workspaces, 9 buckets, 4 grants, 4 requests", what);
	model_access(m, "frank", "ws-frank-stagein", NOW, &a);
	T_OK(a.bucket_exists && a.via == VIA_OWNER && a.perm == PERM_FULL,
	    "%s: frank owns ws-frank-stagein", what);
	model_access(m, "bob", "ws-frank-stagein", NOW, &a);
	T_OK(a.via == VIA_GRANT && a.perm == PERM_READWRITE && a.prefix[0] == '\0' &&
	    a.expires_at == 0, "%s: bob ReadWrite on ws-frank-stagein", what);
	model_access(m, "alice", "ws-frank", NOW, &a);
	T_OK(a.bucket_exists && a.discoverable && a.via == VIA_NONE,
	    "%s: alice nothing on ws-frank", what);
	model_access(m, "eric", "ws-alice-3", NOW, &a);
	T_OK(a.via == VIA_GRANT && a.perm == PERM_READWRITE, "%s: eric grant on ws-alice-3", what);
	model_access(m, "eric", "ws-alice-2", NOW, &a);
	T_OK(a.via == VIA_NONE, "%s: eric nothing on ws-alice-2", what);
	model_access(m, "frank", "ws-nope", NOW, &a);
	T_OK(!a.bucket_exists, "%s: unknown bucket", what);
	T_OK(model_request_find(m, "ws-frank-stagein", "bob") != NULL &&
	    strcmp(model_request_find(m, "ws-frank-stagein", "bob")->workspace, "ws-bob") == 0,
	    "%s: bob's request stands on ws-bob", what);
	T_OK(model_grant_find(m, "ws-eric-shared", "frank")->granted_at == 1760970742,
	    "%s: grantedAt with fraction and offset", what);

	n = model_list_buckets(m, "frank", NOW, &list);
	T_OK(n == 4 && strcmp(list[0].bucket, "ws-eric-shared") == 0 &&
	    strcmp(list[1].bucket, "ws-frank") == 0 &&
	    strcmp(list[2].bucket, "ws-frank-publish") == 0 &&
	    strcmp(list[3].bucket, "ws-frank-stagein") == 0 && list[0].via == VIA_GRANT &&
	    list[1].via == VIA_OWNER, "%s: frank lists his 3 + ws-eric-shared, sorted", what);
	model_bucket_list_free(list, n);
	n = model_list_buckets(m, "nobody", NOW, &list);
	T_OK(n == 0 && list == NULL, "%s: a stranger lists nothing", what);
}

/*
 * Times are written as storage_parse_time() reads them, or refused: a time
 * written that does not read back froze the file store (an expiry in the
 * year 10240 was written, and no load succeeded after it).
 */
static void
test_time_symmetry(void)
{
	static const struct {
		long long	 t;
		int		 writable;
	} cases[] = {
		{ 0, 1 }, { 1, 1 }, { 951782400, 1 },	/* 2000-02-29 */
		{ 1760429350, 1 }, { 4102444800LL, 1 },	/* 2100-01-01 */
		{ 253402300799LL, 1 },			/* 9999-12-31T23:59:59Z */
		{ 253402300800LL, 0 },			/* 10000-01-01: five digits */
		{ 261046901106LL, 0 },			/* year 10242: "3000000d" from 2026 */
		{ 8000000000000LL, 0 }, { -1, 0 }, { -86400LL * 365 * 100, 0 },
	};
	char buf[32];
	time_t back;
	size_t i;
	int ok;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		memset(buf, 'x', sizeof(buf));
		storage_format_time((time_t)cases[i].t, buf, sizeof(buf));
		back = 0;
		if (cases[i].writable)
			ok = storage_parse_time(buf, &back) == 0 && back == (time_t)cases[i].t;
		else	/* refused: the placeholder, never a date that does not read back */
			ok = strcmp(buf, "-") == 0;
		T_OK(ok, "time %lld is %s (\"%s\")", cases[i].t, cases[i].writable ?
		    "written and read back" : "refused", buf);
	}
	/* the reader takes digits only where the writer puts them */
	T_OK(storage_parse_time("2025-+1-14T08:09:10Z", &back) == -1 &&
	    storage_parse_time("2025-10- 4T08:09:10Z", &back) == -1 &&
	    storage_parse_time("+2025-10-14T08:09:10Z", &back) == -1 &&
	    storage_parse_time("10240-08-17T05:05:06Z", &back) == -1 &&
	    storage_parse_time("2025-10-14T08:09:10+", &back) == -1 &&
	    storage_parse_time("9999-12-31T23:59:59-01:00", &back) == -1 &&
	    storage_parse_time("1970-01-01T00:00:00+01:00", &back) == -1,
	    "time: signs, spaces, five-digit years, cut offsets and times past the bounds refused");
}

/*
 * A grant prefix longer than struct policy_access holds must never be cut
 * (a cut prefix is a wider grant): refused at import, and denied by
 * model_access() if it got in some other way.
 */
static void
test_long_prefix(void)
{
	struct sbuf text = SBUF_INIT;
	struct policy_access a;
	struct model *m;
	char prefix[1100];

	memset(prefix, 'p', sizeof(prefix));
	prefix[1024] = '\0';
	sbuf_appendf(&text, "apiVersion: pkg.internal/v1beta1\nkind: Storage\n"
	    "metadata: {name: ws-a}\nspec:\n  principal: a\n  buckets: [{bucketName: ws-a}]\n"
	    "  bucketAccessGrants:\n  - {bucketName: ws-a, grantee: b, permission: ReadOnly, "
	    "prefix: %s}\n", prefix);
	expect_error("prefix of 1024 bytes", "p.yaml", text.data,
	    "p.yaml:8: the grant's prefix is 1024 bytes; the longest is 1023");
	sbuf_free(&text);

	m = model_new();
	model_add_workspace(m, "ws-a", "a", NULL, 0);
	model_add_bucket(m, "ws-a", "ws-a", 1, NULL, 0);
	model_add_grant(m, "ws-a", "b", PERM_READWRITE, prefix, NOW, 0, NULL, 0);
	prefix[1023] = '\0';
	model_add_grant(m, "ws-a", "c", PERM_READWRITE, prefix, NOW, 0, NULL, 0);
	model_access(m, "b", "ws-a", NOW, &a);
	T_OK(a.bucket_exists && a.via == VIA_NONE && a.perm == PERM_NONE && a.prefix[0] == '\0',
	    "model_access: a prefix too long to hold is no access (fail closed), not a cut one");
	model_access(m, "c", "ws-a", NOW, &a);
	T_OK(a.via == VIA_GRANT && strlen(a.prefix) == 1023,
	    "model_access: a 1023-byte prefix is held whole");
	model_free(m);
}

/*
 * storage_write groups each workspace's records out of arrays where they
 * are interleaved (as sync and the CLI add them), each group in the order
 * the records were added; a grant stands in its bucket's workspace.
 */
static void
check_write_groups(void)
{
	struct model *m = model_new(), *r = model_new();
	struct sbuf out = SBUF_INIT, errors = SBUF_INIT;

	model_add_workspace(m, "ws-b", "bea", NULL, 0);
	model_add_workspace(m, "ws-a", "abe", NULL, 0);
	model_add_bucket(m, "ws-a-2", "ws-a", 1, NULL, 0);
	model_add_bucket(m, "ws-b-9", "ws-b", 1, NULL, 0);
	model_add_bucket(m, "ws-a-1", "ws-a", 0, NULL, 0);
	model_add_bucket(m, "ws-b-1", "ws-b", 1, NULL, 0);
	model_add_grant(m, "ws-b-1", "abe", PERM_READONLY, "", 1700000000, 0, NULL, 0);
	model_add_grant(m, "ws-a-2", "bea", PERM_READWRITE, "", 1700000000, 0, NULL, 0);
	model_add_grant(m, "ws-b-9", "cy", PERM_READONLY, "", 1700000000, 0, NULL, 0);
	model_add_request(m, "ws-b-1", "abe", "ws-a", "z", 1700000000, NULL, 0);
	model_add_request(m, "ws-a-1", "bea", "ws-b", "y", 1700000000, NULL, 0);
	model_add_request(m, "ws-a-2", "bea", "ws-b", "x", 1700000000, NULL, 0);
	T_OK(model_index(m, &errors) == 0, "groups: the model indexes");
	T_OK(storage_write(m, NULL, &out, &errors) == 0 &&
	    storage_parse(r, "written", out.data, out.len, &errors) == 0 &&
	    model_index(r, &errors) == 0, "groups: written and read again");
	T_OK(r->nworkspaces == 2 && strcmp(r->workspaces[0].name, "ws-b") == 0 &&
	    strcmp(r->workspaces[1].name, "ws-a") == 0, "groups: workspaces in their order");
	T_OK(r->nbuckets == 4 && strcmp(r->buckets[0].name, "ws-b-9") == 0 &&
	    strcmp(r->buckets[1].name, "ws-b-1") == 0 && strcmp(r->buckets[2].name, "ws-a-2") == 0 &&
	    strcmp(r->buckets[3].name, "ws-a-1") == 0 && !r->buckets[3].discoverable,
	    "groups: each workspace's buckets, in the order added");
	T_OK(r->ngrants == 3 && strcmp(r->grants[0].bucket, "ws-b-1") == 0 &&
	    strcmp(r->grants[1].bucket, "ws-b-9") == 0 && strcmp(r->grants[2].bucket, "ws-a-2") == 0 &&
	    r->grants[2].perm == PERM_READWRITE, "groups: grants in their bucket's workspace, in order");
	T_OK(r->nrequests == 3 && strcmp(r->requests[0].reason, "y") == 0 &&
	    strcmp(r->requests[1].reason, "x") == 0 && strcmp(r->requests[2].reason, "z") == 0 &&
	    strcmp(r->requests[2].workspace, "ws-a") == 0,
	    "groups: requests in the requester's workspace, in order");
	if (errors.len > 0)
		printf("# %s\n", errors.data);
	model_free(m);
	model_free(r);
	sbuf_free(&out);
	sbuf_free(&errors);
}

/*
 * The seventeenth audit: YAML aliases are expanded into copies, so a value
 * named many times costs its size each time.  A 1 MiB value aliased 80
 * times (80 MiB of copies from a 1 MiB document; 2 000 times a 4 MiB one
 * took 4 GB and aborted) is refused as too large; named a few times, it
 * loads.
 */
static void
check_alias_budget(void)
{
	struct sbuf doc = SBUF_INIT, errors = SBUF_INIT;
	struct model *m;
	size_t i;
	int rc;

	sbuf_appends(&doc, "apiVersion: pkg.internal/v1beta1\nkind: Storage\n"
	    "metadata: {name: ws-al}\nspec:\n  principal: al\n  x: &big \"");
	for (i = 0; i < 1024 * 1024; i++)
		sbuf_appendc(&doc, 'a');
	sbuf_appends(&doc, "\"\n  members: [*big");
	for (i = 1; i < 80; i++)
		sbuf_appends(&doc, ", *big");
	sbuf_appends(&doc, "]\n");
	m = model_new();
	rc = storage_parse(m, "al.yaml", doc.data, doc.len, &errors);
	T_OK(rc == -1 && errors.data != NULL && strstr(errors.data, "too deep or too large") != NULL,
	    "aliases: 80 copies of a 1 MiB value are refused (too large)");
	model_free(m);
	/* an anchor named a few times: a document like any other */
	sbuf_reset(&doc);
	sbuf_reset(&errors);
	sbuf_appends(&doc, "apiVersion: pkg.internal/v1beta1\nkind: Storage\n"
	    "metadata: {name: ws-al}\nspec:\n  principal: al\n  buckets: [{bucketName: ws-al}]\n"
	    "  bucketAccessGrants:\n    - {bucketName: ws-al, grantee: &g gina, "
	    "permission: ReadOnly}\n  members: [*g, *g]\n");
	m = model_new();
	rc = storage_parse(m, "al.yaml", doc.data, doc.len, &errors);
	T_OK(rc == 0 && m->nworkspaces == 1 && m->workspaces[0].nmembers == 1 &&
	    strcmp(m->workspaces[0].members[0], "gina") == 0,
	    "aliases: an anchor named twice loads (gina once a member)");
	model_free(m);
	sbuf_free(&doc);
	sbuf_free(&errors);
}

/*
 * The seventeenth audit: what one workspace's resource may hold is bounded
 * (members, buckets), and the checks that span records cost a lookup each,
 * not a pass over every record (20 000 grants on 20 000 buckets took 3.3 s,
 * 20 000 requests 1.5 s, 20 000 members 0.7 s, growing with the square).
 */
static void
check_sizes(void)
{
	struct sbuf doc = SBUF_INIT, errors = SBUF_INIT;
	struct model *m;
	size_t i;
	int rc;

	/* 1 000 buckets, 1 000 members and 5 000 grants: the bounds, allowed */
	sbuf_appends(&doc, "apiVersion: pkg.internal/v1beta1\nkind: Storage\n"
	    "metadata: {name: ws-s}\nspec:\n  principal: s\n  members:\n");
	for (i = 0; i < STORAGE_MAX_MEMBERS; i++)
		sbuf_appendf(&doc, "  - m%zu\n", i);
	sbuf_appends(&doc, "  buckets:\n");
	for (i = 0; i < STORAGE_MAX_BUCKETS; i++)
		sbuf_appendf(&doc, "  - {bucketName: ws-s-%zu}\n", i);
	sbuf_appends(&doc, "  bucketAccessGrants:\n");
	for (i = 0; i < 5000; i++)
		sbuf_appendf(&doc, "  - {bucketName: ws-s-%zu, grantee: g%zu, permission: ReadOnly}\n",
		    (i * 7) % STORAGE_MAX_BUCKETS, i);
	sbuf_appends(&doc, "  - {bucketName: ws-t-1, grantee: g, permission: ReadOnly}\n");
	m = model_new();
	rc = storage_parse(m, "s.yaml", doc.data, doc.len, &errors);
	T_OK(rc == -1 && m->nbuckets == STORAGE_MAX_BUCKETS && m->ngrants == 5000 &&
	    m->workspaces[0].nmembers == STORAGE_MAX_MEMBERS && errors.data != NULL &&
	    strstr(errors.data, "grant on bucket ws-t-1, which workspace ws-s does not own") != NULL &&
	    strstr(errors.data, "at most") == NULL,
	    "sizes: 1000 members, 1000 buckets, 5000 grants on them read; a grant on another "
	    "bucket refused");
	model_free(m);
	sbuf_reset(&doc);
	sbuf_appends(&doc, "apiVersion: pkg.internal/v1beta1\nkind: Storage\n"
	    "metadata: {name: ws-s}\nspec:\n  principal: s\n  members: [m0");
	for (i = 1; i <= STORAGE_MAX_MEMBERS; i++)
		sbuf_appendf(&doc, ", m%zu", i);
	sbuf_appends(&doc, "]\n");
	expect_error("sizes: 1001 members", "s.yaml", doc.data,
	    "s.yaml:6: spec.members has 1001 entries; a workspace has at most 1000 members");
	sbuf_reset(&doc);
	sbuf_appends(&doc, "apiVersion: pkg.internal/v1beta1\nkind: Storage\n"
	    "metadata: {name: ws-s}\nspec:\n  principal: s\n  buckets:\n");
	for (i = 0; i <= STORAGE_MAX_BUCKETS; i++)
		sbuf_appendf(&doc, "  - {bucketName: ws-s-%zu}\n", i);
	expect_error("sizes: 1001 buckets", "s.yaml", doc.data,
	    "s.yaml:7: spec.buckets has 1001 entries; a workspace has at most 1000 buckets");
	/* one principal's two workspaces ask for one bucket: found by model_index() */
	expect_error("a request twice, from two workspaces of one principal", "rq.yaml",
	    "apiVersion: pkg.internal/v1beta1\nkind: Storage\nmetadata: {name: ws-a}\n"
	    "spec:\n  principal: a\n  bucketAccessRequests: [{bucketName: ws-z}]\n---\n"
	    "apiVersion: pkg.internal/v1beta1\nkind: Storage\nmetadata: {name: ws-a2}\n"
	    "spec:\n  principal: a\n  bucketAccessRequests: [{bucketName: ws-z}]\n",
	    "rq.yaml:13: a requests bucket ws-z twice; keep one request");
	sbuf_free(&doc);
	sbuf_free(&errors);
}

int
main(void)
{
	struct model *m, *j;
	struct sbuf out = SBUF_INIT, errors = SBUF_INIT;
	struct policy_access a;
	struct model_bucket_access *list;
	time_t t;
	size_t n;

	check_write_groups();
	check_alias_budget();
	check_sizes();
	m = load("tests/data/policy/storage-example.yaml");
	check_seeds("yaml", m);
	j = load("tests/data/policy/storage-example.json");
	check_seeds("json list", j);
	if (j != NULL)
		T_OK(model_workspace_find(j, "ws-frank")->created_at == 1759276803,
		    "json: metadata.creationTimestamp kept");

	/* written back and read again: the same */
	if (m != NULL) {
		struct model *r = model_new();

		storage_write(m, NULL, &out, NULL);
		T_OK(storage_parse(r, "written", out.data, out.len, &errors) == 0 &&
		    model_index(r, &errors) == 0, "written JSON parses");
		check_seeds("round trip", r);
		model_free(r);
	}

	/*
	 * The state file's retiredBuckets: read from it alone (another file,
	 * or sync's input, cannot make or lift a record), written back sorted.
	 */
	{
		const char *doc = "{\"apiVersion\": \"v1\", \"kind\": \"List\", \"items\": [], "
		    "\"retiredBuckets\": [{\"bucketName\": \"ws-z\", \"workspace\": \"ws-zed\", "
		    "\"principal\": \"zed\", \"retiredAt\": \"2026-11-28T12:00:00Z\"}, "
		    "{\"bucketName\": \"ws-a\", \"workspace\": \"ws-al\", \"principal\": \"al\", "
		    "\"retiredAt\": \"2026-11-27T12:00:00Z\"}]}";
		const char *bad = "{\"kind\": \"List\", \"items\": [], \"retiredBuckets\": "
		    "[{\"bucketName\": \"WS-Z\", \"workspace\": \"ws-zed\", \"principal\": \"zed\"}, "
		    "{\"bucketName\": \"ws-y\"}]}";
		struct model *x = model_new(), *r = model_new(), *h = model_new();
		const struct model_retired *rt;

		sbuf_reset(&errors);
		T_OK(storage_parse_state(x, "s3gate-state.json", doc, strlen(doc), &errors) == 0 &&
		    model_index(x, &errors) == 0 && x->nretired == 2 &&
		    (rt = model_retired_find(x, "ws-z")) != NULL &&
		    strcmp(rt->workspace, "ws-zed") == 0 && strcmp(rt->principal, "zed") == 0 &&
		    rt->retired_at == 1795867200, "retired: the state file's records read");
		T_OK(storage_parse(h, "hand.json", doc, strlen(doc), &errors) == 0 &&
		    h->nretired == 0, "retired: another file's are not read");
		sbuf_reset(&out);
		T_OK(storage_write(x, NULL, &out, NULL) == 0 &&
		    strstr(out.data, "\"retiredBuckets\"") != NULL &&
		    strstr(out.data, "ws-a") < strstr(out.data, "ws-z") &&
		    storage_parse_state(r, "written", out.data, out.len, &errors) == 0 &&
		    model_index(r, &errors) == 0 && r->nretired == 2 &&
		    model_retired_find(r, "ws-a") != NULL &&
		    model_retired_find(r, "ws-a")->retired_at == 1795780800,
		    "retired: written sorted and read back the same");
		model_free(x);
		model_free(r);
		model_free(h);
		x = model_new();
		sbuf_reset(&errors);
		T_OK(storage_parse_state(x, "s3gate-state.json", bad, strlen(bad), &errors) == -1 &&
		    errors.data != NULL && strstr(errors.data, "retiredBuckets[0]") != NULL &&
		    strstr(errors.data, "retiredBuckets[].workspace is missing") != NULL,
		    "retired: a record that does not read is an error of the file");
		model_free(x);
		x = model_new();
		sbuf_reset(&errors);
		model_add_retired(x, "ws-y", "ws-a", "a", 1);
		model_add_retired(x, "ws-y", "ws-b", "b", 2);
		T_OK(model_index(x, &errors) == -1 && errors.data != NULL &&
		    strstr(errors.data, "bucket ws-y is retired twice") != NULL,
		    "retired: a bucket retired twice is an error");
		model_free(x);
	}

	/* members, prefixes, expiry */
	{
		const char *doc =
		    "apiVersion: pkg.internal/v1beta1\nkind: Storage\nmetadata: {name: ws-x}\n"
		    "spec:\n  principal: xavier\n  members: [yves]\n"
		    "  buckets:\n    - {bucketName: ws-x, discoverable: false}\n"
		    "  bucketAccessGrants:\n"
		    "    - {bucketName: ws-x, grantee: zoe, permission: WriteOnly, prefix: in/,"
		    " expiresAt: \"2025-10-09T08:00:00Z\"}\n";
		struct model *x = model_new();

		T_OK(storage_parse(x, "x.yaml", doc, strlen(doc), &errors) == 0 &&
		    model_index(x, &errors) == 0, "flow-style YAML with members and prefix");
		model_access(x, "yves", "ws-x", NOW, &a);
		T_OK(a.via == VIA_MEMBER && !a.discoverable, "yves is a member");
		model_access(x, "zoe", "ws-x", NOW, &a);
		T_OK(a.via == VIA_GRANT && a.perm == PERM_WRITEONLY && strcmp(a.prefix, "in/") == 0 &&
		    a.expires_at == 1759996800, "zoe WriteOnly in/ until 08:00");
		n = model_list_buckets(x, "zoe", 1759996800, &list);
		T_OK(n == 0, "an expired grant is not listed");
		model_bucket_list_free(list, n);
		n = model_list_buckets(x, "zoe", 1759996799, &list);
		T_OK(n == 1 && strcmp(list[0].prefix, "in/") == 0, "an unexpired grant is listed");
		model_bucket_list_free(list, n);
		model_free(x);
	}

	/* spec.quotas: the owner's overrides; absent fields keep the defaults */
	{
		const char *doc =
		    "apiVersion: pkg.internal/v1beta1\nkind: Storage\nmetadata: {name: ws-q}\n"
		    "spec:\n  principal: quinn\n  members: [yves]\n"
		    "  quotas:\n    requestRate: 50\n    bandwidth: 20Mi\n    connections: 0\n"
		    "  buckets: [{bucketName: ws-q}]\n---\n"
		    "apiVersion: pkg.internal/v1beta1\nkind: Storage\nmetadata: {name: ws-r}\n"
		    "spec:\n  principal: rita\n  quotas: {bandwidth: 10485760, requestRate: ~}\n---\n"
		    "apiVersion: pkg.internal/v1beta1\nkind: Storage\nmetadata: {name: ws-r2}\n"
		    "spec: {principal: rita}\n";
		struct model *x = model_new(), *r = model_new();
		const struct policy_quota *q;

		sbuf_reset(&errors);
		T_OK(storage_parse(x, "q.yaml", doc, strlen(doc), &errors) == 0 &&
		    model_index(x, &errors) == 0, "quotas: YAML with spec.quotas loads");
		q = model_quota(x, "quinn");
		T_OK(q != NULL && q->set == (POLICY_QUOTA_RATE | POLICY_QUOTA_BANDWIDTH |
		    POLICY_QUOTA_CONNECTIONS) && q->request_rate == 50 && q->bandwidth == 20971520 &&
		    q->connections == 0, "quotas: quinn 50 req/s, 20Mi = 20971520 B/s, connections 0 "
		    "(no limit, explicitly)");
		q = model_quota(x, "rita");
		T_OK(q != NULL && q->set == POLICY_QUOTA_BANDWIDTH && q->bandwidth == 10485760,
		    "quotas: rita bandwidth only (null requestRate = the default)");
		T_OK(model_quota_workspace(x, "rita") != NULL &&
		    strcmp(model_quota_workspace(x, "rita")->name, "ws-r") == 0,
		    "quotas: found on the workspace that sets them, not the principal's other one");
		T_OK(model_quota(x, "yves") == NULL && model_quota(x, "nobody") == NULL,
		    "quotas: a member does not get the owner's; nobody has none");
		sbuf_reset(&out);
		storage_write(x, NULL, &out, NULL);
		T_OK(strstr(out.data, "\"quotas\": {\n") != NULL &&
		    storage_parse(r, "written", out.data, out.len, &errors) == 0 &&
		    model_index(r, &errors) == 0 && (q = model_quota(r, "quinn")) != NULL &&
		    q->request_rate == 50 && q->bandwidth == 20971520 && q->connections == 0 &&
		    q->set == model_quota(x, "quinn")->set && model_quota(r, "rita")->set ==
		    POLICY_QUOTA_BANDWIDTH, "quotas: written as spec.quotas and read back the same");
		model_free(x);
		model_free(r);
	}
	{
		static const struct {
			const char	*in;
			long long	 want;	/* -1: refused */
		} sizes[] = {
			{ "20971520", 20971520 }, { "20M", 20971520 }, { "20Mi", 20971520 },
			{ "20MiB", 20971520 }, { "20MB", 20971520 }, { "1Gi", 1073741824 },
			{ "512Ki", 524288 }, { "0", 0 }, { "20i", -1 }, { "Mi", -1 }, { "-1", -1 },
			{ "20 Mi", -1 }, { "2.5M", -1 }, { "20Xi", -1 }, { "", -1 },
			{ "99999999999999999999", -1 },
		};
		uint64_t v;
		uint32_t count;
		size_t i;

		for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
			int rc = storage_parse_size(sizes[i].in, &v);

			T_OK(sizes[i].want == -1 ? rc == -1 : rc == 0 && v == (uint64_t)sizes[i].want,
			    "size \"%s\" -> %lld", sizes[i].in, sizes[i].want);
		}
		T_OK(storage_parse_count("10000000", POLICY_QUOTA_MAX_RATE, &count) == 0 && count == 10000000 &&
		    storage_parse_count("10000001", POLICY_QUOTA_MAX_RATE, &count) == -1 &&
		    storage_parse_count("1e3", POLICY_QUOTA_MAX_RATE, &count) == -1 &&
		    storage_parse_count("", POLICY_QUOTA_MAX_RATE, &count) == -1 &&
		    storage_parse_count("99999999999999999999999", POLICY_QUOTA_MAX_RATE, &count) == -1,
		    "counts: digits only, within the bound");
	}
	/* YAML's "\0" would end a name early: another workspace's bucket, say */
	expect_error("a NUL byte in a value", "n.yaml",
	    "apiVersion: pkg.internal/v1beta1\nkind: Storage\nmetadata: {name: ws-a}\n"
	    "spec:\n  principal: a\n  buckets:\n  - bucketName: \"ws-a-1\\0-mine\"\n",
	    "n.yaml:7: spec.buckets[].bucketName holds a NUL byte (\"ws-a-1\\0...\"); remove it");
	expect_error("a NUL byte in a key", "n.yaml",
	    "apiVersion: pkg.internal/v1beta1\nkind: Storage\nmetadata: {name: ws-a}\n"
	    "spec:\n  principal: a\n  \"buckets\\0x\": []\n",
	    "n.yaml:6: spec.buckets holds a NUL byte");
	expect_error("quotas: unknown key", "q.yaml",
	    "apiVersion: pkg.internal/v1beta1\nkind: Storage\nmetadata: {name: ws-a}\n"
	    "spec:\n  principal: a\n  quotas:\n    requestRate: 5\n    bandwith: 20Mi\n",
	    "q.yaml:8: spec.quotas.bandwith is not a quota; use requestRate, bandwidth or connections");
	expect_error("quotas: rate not a number", "q.yaml",
	    "apiVersion: pkg.internal/v1beta1\nkind: Storage\nmetadata: {name: ws-a}\n"
	    "spec:\n  principal: a\n  quotas:\n    requestRate: fast\n",
	    "q.yaml:7: spec.quotas.requestRate \"fast\" is not a whole number from 0 (no limit) "
	    "to 10000000");
	expect_error("quotas: negative connections", "q.yaml",
	    "apiVersion: pkg.internal/v1beta1\nkind: Storage\nmetadata: {name: ws-a}\n"
	    "spec:\n  principal: a\n  quotas:\n    connections: -1\n",
	    "q.yaml:7: spec.quotas.connections \"-1\" is not a whole number");
	expect_error("quotas: connections over the bound", "q.yaml",
	    "apiVersion: pkg.internal/v1beta1\nkind: Storage\nmetadata: {name: ws-a}\n"
	    "spec:\n  principal: a\n  quotas: {connections: 1000001}\n",
	    "q.yaml:6: spec.quotas.connections \"1000001\" is not a whole number from 0 (no limit) "
	    "to 1000000");
	expect_error("quotas: bad size", "q.yaml",
	    "apiVersion: pkg.internal/v1beta1\nkind: Storage\nmetadata: {name: ws-a}\n"
	    "spec:\n  principal: a\n  quotas:\n\n    bandwidth: 20 megabytes\n",
	    "q.yaml:8: spec.quotas.bandwidth \"20 megabytes\" is not a size");
	expect_error("quotas: a list", "q.yaml",
	    "apiVersion: pkg.internal/v1beta1\nkind: Storage\nmetadata: {name: ws-a}\n"
	    "spec:\n  principal: a\n  quotas:\n    - requestRate: 5\n",
	    "q.yaml:7: spec.quotas must be a mapping");
	expect_error("quotas: a value that is a mapping", "q.yaml",
	    "apiVersion: pkg.internal/v1beta1\nkind: Storage\nmetadata: {name: ws-a}\n"
	    "spec:\n  principal: a\n  quotas:\n    requestRate: {value: 5}\n",
	    "q.yaml:7: spec.quotas.requestRate must be a number");
	expect_error("quotas: a key twice", "q.yaml",
	    "apiVersion: pkg.internal/v1beta1\nkind: Storage\nmetadata: {name: ws-a}\n"
	    "spec:\n  principal: a\n  quotas:\n    requestRate: 5\n    requestRate: 500\n",
	    "q.yaml:8: spec.quotas.requestRate is given twice");
	expect_error("quotas: set on two workspaces of one principal", "two.yaml",
	    "apiVersion: pkg.internal/v1beta1\nkind: Storage\nmetadata: {name: ws-a}\n"
	    "spec: {principal: a, quotas: {requestRate: 5}}\n---\n"
	    "apiVersion: pkg.internal/v1beta1\nkind: Storage\nmetadata: {name: ws-a2}\n"
	    "spec: {principal: a, quotas: {connections: 2}}\n",
	    "two.yaml:6: quotas for a are set on workspaces ws-a and ws-a2 (first at two.yaml:1)");
	expect_error("quotas: JSON real refused", "q.json",
	    "{\"apiVersion\":\"pkg.internal/v1beta1\",\"kind\":\"Storage\",\"metadata\":"
	    "{\"name\":\"ws-a\"},\"spec\":{\"principal\":\"a\",\"quotas\":{\"requestRate\":2.5}}}",
	    "q.json: item 1 (ws-a): spec.quotas.requestRate \"2.5\" is not a whole number");

	/* malformed documents: errors with file:line, and the parse fails */
	expect_error("unknown permission", "bad.yaml",
	    "apiVersion: pkg.internal/v1beta1\nkind: Storage\nmetadata:\n  name: ws-a\n"
	    "spec:\n  principal: a\n  buckets:\n    - bucketName: ws-a\n"
	    "  bucketAccessGrants:\n    - bucketName: ws-a\n      grantee: b\n"
	    "      permission: FullControl\n",
	    "bad.yaml:12: unknown permission \"FullControl\"");
	expect_error("missing principal", "bad.yaml",
	    "apiVersion: pkg.internal/v1beta1\nkind: Storage\nmetadata:\n  name: ws-a\n"
	    "spec:\n  buckets: []\n", "bad.yaml:6: spec.principal is missing");
	expect_error("bucket claimed twice", "dup.yaml",
	    "apiVersion: pkg.internal/v1beta1\nkind: Storage\nmetadata: {name: ws-a}\n"
	    "spec: {principal: a, buckets: [{bucketName: shared-b}]}\n---\n"
	    "apiVersion: pkg.internal/v1beta1\nkind: Storage\nmetadata: {name: ws-b}\n"
	    "spec: {principal: b, buckets: [{bucketName: shared-b}]}\n",
	    "dup.yaml:9: bucket shared-b is claimed by workspaces ws-a and ws-b (first at dup.yaml:4)");
	expect_error("bad YAML", "broken.yaml",
	    "apiVersion: pkg.internal/v1beta1\nkind: Storage\nmetadata:\n  name: [ws-a\n"
	    "spec: {}\n", "broken.yaml:");
	expect_error("wrong apiVersion", "v.yaml",
	    "apiVersion: pkg.internal/v2\nkind: Storage\nmetadata: {name: ws-a}\n"
	    "spec: {principal: a}\n", "v.yaml:1: apiVersion is \"pkg.internal/v2\"");
	expect_error("wrong kind", "k.yaml",
	    "apiVersion: pkg.internal/v1beta1\nkind: Secret\nmetadata: {name: ws-a}\n"
	    "spec: {principal: a}\n", "k.yaml:2: kind is \"Secret\"");
	expect_error("bad bucket name", "n.yaml",
	    "apiVersion: pkg.internal/v1beta1\nkind: Storage\nmetadata: {name: ws-a}\n"
	    "spec:\n  principal: a\n  buckets:\n  - bucketName: Bad_Name\n",
	    "n.yaml:7: \"Bad_Name\" is not a valid S3 bucket name");
	expect_error("a bucket name the backend keeps for its admin API", "r.yaml",
	    "apiVersion: pkg.internal/v1beta1\nkind: Storage\nmetadata: {name: ws-a}\n"
	    "spec:\n  principal: a\n  buckets:\n  - bucketName: admin\n",
	    "r.yaml:7: \"admin\" is not a valid S3 bucket name; use 3-63 lower-case letters, digits, "
	    "'-' and '.' (the backend routes that name to another of its APIs: backend_reserved_names)");
	{
		char *mine[] = { "rgw-admin" };

		s3addr_set_reserved(mine, 1);
		expect_error("a name the config reserves (backend_reserved_names)", "r2.yaml",
		    "apiVersion: pkg.internal/v1beta1\nkind: Storage\nmetadata: {name: ws-a}\n"
		    "spec:\n  principal: a\n  buckets:\n  - bucketName: rgw-admin\n",
		    "r2.yaml:7: \"rgw-admin\" is not a valid S3 bucket name");
		s3addr_set_reserved(NULL, -1);
	}
	expect_error("grant on a bucket not owned", "g.yaml",
	    "apiVersion: pkg.internal/v1beta1\nkind: Storage\nmetadata: {name: ws-a}\n"
	    "spec:\n  principal: a\n  buckets: [{bucketName: ws-a}]\n"
	    "  bucketAccessGrants:\n  - {bucketName: ws-other, grantee: b, permission: ReadOnly}\n",
	    "g.yaml:8: grant on bucket ws-other, which workspace ws-a does not own");
	expect_error("JSON unknown permission", "list.json",
	    "{\"kind\":\"List\",\"items\":[{\"apiVersion\":\"pkg.internal/v1beta1\","
	    "\"kind\":\"Storage\",\"metadata\":{\"name\":\"ws-a\"},\"spec\":{\"principal\":\"a\","
	    "\"buckets\":[{\"bucketName\":\"ws-a\"}],\"bucketAccessGrants\":[{\"bucketName\":"
	    "\"ws-a\",\"grantee\":\"b\",\"permission\":\"Admin\"}]}}]}",
	    "list.json: item 1 (ws-a): unknown permission \"Admin\"");
	expect_error("bad JSON", "b.json", "{\"kind\": \"List\",\n \"items\": [}",
	    "b.json:2: bad JSON");
	expect_error("duplicate workspace", "w.yaml",
	    "apiVersion: pkg.internal/v1beta1\nkind: Storage\nmetadata: {name: ws-a}\n"
	    "spec: {principal: a}\n---\n"
	    "apiVersion: pkg.internal/v1beta1\nkind: Storage\nmetadata: {name: ws-a}\n"
	    "spec: {principal: b}\n", "workspace ws-a is defined twice");

	/* times and names */
	T_OK(storage_parse_time("2025-10-14T08:09:10.817000+00:00", &t) == 0 && t == 1760429350,
	    "RFC 3339 with fraction");
	T_OK(storage_parse_time("2025-10-14T10:09:10+02:00", &t) == 0 && t == 1760429350,
	    "RFC 3339 with offset");
	T_OK(storage_parse_time("2025-10-14 08:09", &t) == -1, "malformed time refused");
	T_OK(storage_bucket_name_valid("ws-frank") && !storage_bucket_name_valid("ab") &&
	    !storage_bucket_name_valid("a..b") && !storage_bucket_name_valid("192.168.1.1") &&
	    !storage_bucket_name_valid("-abc") && !storage_bucket_name_valid("ABC"),
	    "bucket name rules");

	test_time_symmetry();
	test_long_prefix();

	model_free(m);
	model_free(j);
	sbuf_free(&out);
	sbuf_free(&errors);
	return T_DONE();
}
