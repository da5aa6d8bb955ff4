/*
 * test_filestore: the file store in a temporary folder, driven through
 * s3gate-admin's admin_main() and read through the pstore interface.
 * Run from the repository root (make unit does).
 */
#include <sys/stat.h>

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "policy/admin.h"
#include "policy/filestore.h"
#include "policy/store.h"
#include "tests/unit/testlib.h"

static char dir[256], pol[300], conffile[300];

static void
write_file(const char *path, const char *text, mode_t mode)
{
	FILE *f = fopen(path, "w");

	fputs(text, f);
	fclose(f);
	chmod(path, mode);
}

static int
admin(const char *a1, const char *a2, const char *a3, const char *a4, const char *a5)
{
	char *argv[10];
	int argc = 0;

	argv[argc++] = "s3gate-admin";
	argv[argc++] = "-c";
	argv[argc++] = conffile;
	if (a1) argv[argc++] = (char *)a1;
	if (a2) argv[argc++] = (char *)a2;
	if (a3) argv[argc++] = (char *)a3;
	if (a4) argv[argc++] = (char *)a4;
	if (a5) argv[argc++] = (char *)a5;
	argv[argc] = NULL;
	fflush(stdout);
	return admin_main(argc, argv);
}

/* s3gate-admin -c CONF ARGS... (NULL-terminated); its stdout into OUT if not NULL. */
static int
adminv(struct sbuf *out, const char *first, ...)
{
	char *argv[16], *text = NULL;
	size_t len = 0;
	va_list ap;
	FILE *o;
	int argc = 0, rc;

	argv[argc++] = "s3gate-admin";
	argv[argc++] = "-c";
	argv[argc++] = conffile;
	va_start(ap, first);
	for (argv[argc] = (char *)first; argv[argc] != NULL && argc < 15;
	    argv[++argc] = va_arg(ap, char *))
		;
	va_end(ap);
	argv[argc] = NULL;
	if ((o = open_memstream(&text, &len)) == NULL)
		abort();
	rc = admin_run(argc, argv, o, stderr);
	fclose(o);
	if (out != NULL) {
		sbuf_reset(out);
		sbuf_append(out, text, len);
	}
	free(text);
	return rc;
}

/* The quota overrides the store gives with AKID's credential. */
static struct policy_quota
cred_quota(struct pstore *ps, const char *akid)
{
	struct policy_credential c;
	struct policy_quota q;

	memset(&q, 0xff, sizeof(q));
	if (pstore_credential(ps, akid, &c, NULL, NULL) == PSTORE_DONE && c.principal != NULL)
		q = c.quota;
	policy_credential_clear(&c);
	return q;
}

static enum policy_via
via(struct pstore *ps, const char *principal, const char *bucket)
{
	struct policy_access a;

	T_OK(pstore_access(ps, principal, bucket, time(NULL), &a, NULL, NULL) == PSTORE_DONE,
	    "access answered synchronously");
	return a.via;
}

static ino_t
inode(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 ? st.st_ino : 0;
}

int
main(void)
{
	struct sbuf errors = SBUF_INIT;
	struct conf conf;
	struct pstore *ps;
	struct model *m;
	struct policy_credential cred;
	struct pstore_bucket_list list;
	char path[400], state[400], creds[400], cmd[1024], *p;
	FILE *f;
	char frank[32] = "", hugo[32] = "", bob[32] = "";
	int rc;
	ino_t ino;

	snprintf(dir, sizeof(dir), "/tmp/s3gate-test-filestore.XXXXXX");
	if (mkdtemp(dir) == NULL)
		return 1;
	snprintf(pol, sizeof(pol), "%s/policy", dir);
	mkdir(pol, 0755);
	snprintf(conffile, sizeof(conffile), "%s/s3gate.conf", dir);
	snprintf(path, sizeof(path), "%s/secret", dir);
	write_file(path, "backendsecret\n", 0600);
	snprintf(cmd, sizeof(cmd), "listen 127.0.0.1:1\nbackend http://127.0.0.1:1\n"
	    "backend_credentials SVC %s\npolicy_store file %s\n", path, pol);
	write_file(conffile, cmd, 0644);
	snprintf(state, sizeof(state), "%s/%s", pol, FILESTORE_STATE);
	snprintf(creds, sizeof(creds), "%s/%s", pol, FILESTORE_CREDENTIALS);

	/* a hand-written file beside the state the CLI owns */
	snprintf(path, sizeof(path), "%s/hand.yaml", pol);
	write_file(path, "apiVersion: pkg.internal/v1beta1\nkind: Storage\n"
	    "metadata: {name: ws-hand}\nspec:\n  principal: hugo\n  quotas: {connections: 3}\n"
	    "  buckets: [{bucketName: ws-hand, discoverable: true}]\n", 0644);

	/* sync: the backend is unreachable, so exit 1, but the policy is applied */
	rc = admin("sync", "tests/data/policy/storage-example.yaml", NULL, NULL, NULL);
	T_OK(rc == 1, "sync with the backend down exits 1");
	T_OK(access(state, F_OK) == 0, "sync wrote %s", FILESTORE_STATE);
	ino = inode(state);
	rc = admin("sync", "tests/data/policy/storage-example.json", NULL, NULL, NULL);
	T_OK(inode(state) == ino, "second sync of the same resources (as JSON) changes nothing");

	memset(&conf, 0, sizeof(conf));
	conf.store_kind = CONF_STORE_FILE;
	conf.store_path = pol;
	ps = pstore_open(&conf, NULL, &errors);
	T_OK(ps != NULL, "pstore_open file: %s", errors.data ? errors.data : "");
	if (ps == NULL)
		return T_DONE();
	T_OK(via(ps, "bob", "ws-frank-stagein") == VIA_GRANT, "bob's grant synced");
	T_OK(via(ps, "hugo", "ws-hand") == VIA_OWNER, "hand-written workspace loaded too");
	T_OK(pstore_list_buckets(ps, "frank", time(NULL), &list, NULL, NULL) == PSTORE_DONE &&
	    list.count == 4, "frank lists 4 buckets");
	pstore_bucket_list_free(&list);

	/* credentials */
	rc = admin("cred", "create", "frank", NULL, NULL);
	T_OK(rc == 0, "cred create");
	{
		struct stat st;

		T_OK(stat(creds, &st) == 0 && (st.st_mode & 0777) == 0600, "credentials file 0600");
	}
	m = filestore_load(pol, &errors);
	T_OK(m != NULL && m->ncredentials == 1 && strlen(m->credentials[0].access_key_id) == 20 &&
	    strncmp(m->credentials[0].access_key_id, "SG", 2) == 0 &&
	    strlen(m->credentials[0].secret) == 40, "a 20-char SG key id and a 40-char secret");
	T_OK(pstore_reload(ps, &errors) == 0, "reload");
	if (m != NULL) {
		T_OK(pstore_credential(ps, m->credentials[0].access_key_id, &cred, NULL, NULL) ==
		    PSTORE_DONE && cred.principal && strcmp(cred.principal, "frank") == 0 &&
		    strcmp(cred.secret, m->credentials[0].secret) == 0, "credential looked up");
		policy_credential_clear(&cred);
	}
	T_OK(pstore_credential(ps, "SGNOSUCHKEY", &cred, NULL, NULL) == PSTORE_DONE &&
	    cred.access_key_id == NULL, "unknown key: DONE, empty");
	model_free(m);

	chmod(creds, 0644);
	sbuf_reset(&errors);
	m = filestore_load(pol, &errors);
	T_OK(m == NULL && errors.data && strstr(errors.data, "chmod 600") != NULL,
	    "credentials readable by others refused: %s", errors.data ? errors.data : "");
	T_OK(pstore_reload(ps, &errors) == -1 && via(ps, "bob", "ws-frank-stagein") == VIA_GRANT,
	    "a failed reload keeps the old policy");
	chmod(creds, 0600);
	model_free(m);

	/* admin changes: persisted, and seen by the store within a second */
	T_OK(admin("grant", "ws-frank/in/", "alice", "WriteOnly", NULL) == 0, "grant with prefix");
	T_OK(admin("member", "add", "ws-frank", "carol", NULL) == 0, "member add");
	T_OK(admin("member", "add", "ws-hand", "carol", NULL) == 1,
	    "member add refused on a hand-written workspace");
	T_OK(admin("request", "ws-alice", "frank", "--reason", "need data") == 0, "request");
	T_OK(admin("approve", "ws-alice", "frank", "--permission", "ReadOnly") == 0, "approve");
	T_OK(admin("approve", "ws-alice", "bob", NULL, NULL) == 1, "approve without request fails");
	T_OK(admin("grant", "ws-frank", "dave", "Owner", NULL) == 1, "unknown permission refused");
	T_OK(admin("revoke", "ws-frank-stagein", "bob", NULL, NULL) == 0, "revoke");
	usleep(1100 * 1000);
	T_OK(via(ps, "bob", "ws-frank-stagein") == VIA_NONE, "revocation seen after a second");
	T_OK(via(ps, "carol", "ws-frank-publish") == VIA_MEMBER, "new member seen");
	T_OK(via(ps, "frank", "ws-alice") == VIA_GRANT, "approved request is a grant");
	{
		struct policy_access a;

		pstore_access(ps, "alice", "ws-frank", time(NULL), &a, NULL, NULL);
		T_OK(a.via == VIA_GRANT && a.perm == PERM_WRITEONLY && strcmp(a.prefix, "in/") == 0,
		    "prefix grant persisted");
	}
	T_OK(admin("revoke", "ws-frank-stagein", "bob", NULL, NULL) == 1, "second revoke fails");

	/*
	 * Workers sharing a change word: the one whose poll interval is over
	 * sees a change; the other, a quarter second into its own, looks at
	 * once.  A third store that does not share still has the old policy.
	 */
	{
		struct pstore *w1, *w2, *w3;
		uint64_t word = 0;

		w1 = pstore_open(&conf, NULL, &errors);
		if (w1 != NULL)
			pstore_share_changes(w1, &word);
		T_OK(w1 != NULL && via(w1, "erin", "ws-frank") == VIA_NONE, "worker 1: erin is nobody");
		usleep(300 * 1000);
		w2 = pstore_open(&conf, NULL, &errors);
		w3 = pstore_open(&conf, NULL, &errors);
		if (w2 != NULL)
			pstore_share_changes(w2, &word);
		T_OK(w2 != NULL && w3 != NULL && via(w2, "erin", "ws-frank") == VIA_NONE &&
		    via(w3, "erin", "ws-frank") == VIA_NONE, "workers 2 and 3, 0.3 s later: the same");
		T_OK(admin("member", "add", "ws-frank", "erin", NULL) == 0, "member add erin");
		usleep(250 * 1000);
		T_OK(w1 != NULL && via(w1, "erin", "ws-frank") == VIA_MEMBER,
		    "worker 1, past its poll interval, sees the new member");
		T_OK(w2 != NULL && via(w2, "erin", "ws-frank") == VIA_MEMBER,
		    "worker 2, inside its interval, sees it at once: worker 1 told it");
		T_OK(w3 != NULL && via(w3, "erin", "ws-frank") == VIA_NONE,
		    "a store that does not share waits for its own interval");
		/* a worker that writes a change itself (the self-service API) reloads and tells */
		T_OK(admin("member", "remove", "ws-frank", "erin", NULL) == 0 && w1 != NULL &&
		    pstore_reload(w1, &errors) == 0, "member remove erin, worker 1 reloads");
		T_OK(w2 != NULL && via(w2, "erin", "ws-frank") == VIA_NONE,
		    "worker 2 sees the removal at once: the reload told it");
		if (w1 != NULL)
			pstore_free(w1);
		if (w2 != NULL)
			pstore_free(w2);
		if (w3 != NULL)
			pstore_free(w3);
	}
	/*
	 * A hand-written file changed in place is read once it has been left
	 * alone a quarter second: one still being written (here cut before its
	 * grant's prefix line, a grant of the whole bucket so far) is not.
	 */
	{
		static const char head[] = "apiVersion: pkg.internal/v1beta1\nkind: Storage\n"
		    "metadata: {name: ws-hand}\nspec:\n  principal: hugo\n  quotas: {connections: 3}\n"
		    "  buckets: [{bucketName: ws-hand, discoverable: true}]\n"
		    "  bucketAccessGrants:\n  - bucketName: ws-hand\n    grantee: ida\n"
		    "    permission: ReadOnly\n";
		struct policy_access a;
		char text[1024];

		snprintf(path, sizeof(path), "%s/hand.yaml", pol);
		usleep(600 * 1000);	/* past the poll interval */
		write_file(path, head, 0644);
		T_OK(via(ps, "ida", "ws-hand") == VIA_NONE,
		    "a hand-written file changed just now is not read yet");
		usleep(100 * 1000);
		T_OK(via(ps, "ida", "ws-hand") == VIA_NONE, "nor 0.1 s later");
		snprintf(text, sizeof(text), "%s    prefix: in/\n", head);
		write_file(path, text, 0644);
		usleep(150 * 1000);
		T_OK(via(ps, "ida", "ws-hand") == VIA_NONE, "nor 0.15 s after the writer's last write");
		usleep(200 * 1000);
		pstore_access(ps, "ida", "ws-hand", time(NULL), &a, NULL, NULL);
		T_OK(a.via == VIA_GRANT && strcmp(a.prefix, "in/") == 0,
		    "read whole once left alone 0.25 s: the grant has its prefix");
	}
	/*
	 * Only a change of the hand-written files waits: a Storage file copied
	 * in a moment ago and loaded since (a proxy just started) holds back no
	 * credential the CLI creates after it.
	 */
	{
		static const char doc[] = "apiVersion: pkg.internal/v1beta1\nkind: Storage\n"
		    "metadata: {name: ws-fresh}\nspec:\n  principal: fred\n"
		    "  buckets: [{bucketName: ws-fresh}]\n";
		struct policy_credential c;
		struct pstore *w;
		struct sbuf out = SBUF_INIT;
		char akid[64] = "";

		snprintf(path, sizeof(path), "%s/fresh.yaml", pol);
		write_file(path, doc, 0644);
		w = pstore_open(&conf, NULL, &errors);
		T_OK(w != NULL && adminv(&out, "cred", "create", "fred", NULL) == 0 && out.data != NULL &&
		    sscanf(out.data, "%63s", akid) == 1, "a Storage file copied in, a proxy started, a credential made");
		usleep(150 * 1000);	/* past the missing-key poll, within the file's 0.25 s */
		memset(&c, 0, sizeof(c));
		T_OK(w != NULL && pstore_credential(w, akid, &c, NULL, NULL) == PSTORE_DONE &&
		    c.principal != NULL && strcmp(c.principal, "fred") == 0,
		    "the new credential is known at once, not held back by the file copied in 0.15 s before");
		policy_credential_clear(&c);
		sbuf_free(&out);
		if (w != NULL)
			pstore_free(w);
	}
	T_OK(admin("--json", "who", "ws-frank", NULL, NULL) == 0, "who --json");
	T_OK(admin("access", "frank", NULL, NULL, NULL) == 0, "access");
	T_OK(admin("presign", "x", NULL, NULL, NULL) == 1, "presign not yet implemented");

	/* quota overrides: set on the principal's workspace, carried with its credentials */
	{
		struct sbuf out = SBUF_INIT;
		struct policy_quota q;
		size_t i;

		T_OK(admin("cred", "create", "hugo", NULL, NULL) == 0 &&
		    admin("cred", "create", "bob", NULL, NULL) == 0, "cred create hugo, bob");
		m = filestore_load(pol, &errors);
		for (i = 0; m != NULL && i < m->ncredentials; i++) {
			const struct policy_credential *c = &m->credentials[i];
			char *slot = strcmp(c->principal, "frank") == 0 ? frank :
			    strcmp(c->principal, "hugo") == 0 ? hugo : bob;

			snprintf(slot, 32, "%s", c->access_key_id);
		}
		model_free(m);
		T_OK(pstore_reload(ps, &errors) == 0, "reload");
		q = cred_quota(ps, hugo);
		T_OK(q.set == POLICY_QUOTA_CONNECTIONS && q.connections == 3,
		    "quota: hugo's from his hand-written spec.quotas comes with his credential");
		q = cred_quota(ps, frank);
		T_OK(q.set == 0, "quota: frank has none yet");
		T_OK(adminv(&out, "quota", "set", "frank", "--rate", "50", "--connections", "0",
		    NULL) == 0 && strstr(out.data, "quota frank (ws-frank): request_rate 50 (override), "
		    "bandwidth 0 = no limit (default), connections 0 = no limit (override)") != NULL,
		    "quota set frank --rate 50 --connections 0: %s", out.data ? out.data : "");
		T_OK(pstore_reload(ps, &errors) == 0, "reload");
		q = cred_quota(ps, frank);
		T_OK(q.set == (POLICY_QUOTA_RATE | POLICY_QUOTA_CONNECTIONS) && q.request_rate == 50 &&
		    q.connections == 0, "quota: frank's credential carries rate 50, connections 0");
		q = cred_quota(ps, bob);
		T_OK(q.set == 0, "quota: another principal keeps the defaults");
		T_OK(adminv(NULL, "quota", "set", "frank", "--bandwidth", "10Mi", NULL) == 0 &&
		    pstore_reload(ps, &errors) == 0, "quota set frank --bandwidth 10Mi");
		q = cred_quota(ps, frank);
		T_OK(q.set == (POLICY_QUOTA_RATE | POLICY_QUOTA_BANDWIDTH | POLICY_QUOTA_CONNECTIONS) &&
		    q.request_rate == 50 && q.bandwidth == 10485760,
		    "quota: set changes only the fields given");
		T_OK(adminv(NULL, "quota", "set", "frank", "--rate", "default", NULL) == 0 &&
		    pstore_reload(ps, &errors) == 0 && cred_quota(ps, frank).set ==
		    (POLICY_QUOTA_BANDWIDTH | POLICY_QUOTA_CONNECTIONS),
		    "quota set --rate default: back to the config's rate");
		T_OK(adminv(&out, "--json", "quota", "show", "frank", NULL) == 0 && out.data &&
		    strstr(out.data, "\"overrides\": {\n    \"bandwidth\": 10485760,\n"
		    "    \"connections\": 0\n  }") != NULL &&
		    strstr(out.data, "\"workspace\": \"ws-frank\"") != NULL,
		    "quota show --json: the overrides and the workspace");
		if (out.data)
			printf("# %s", out.data);
		T_OK(adminv(NULL, "quota", "set", "hugo", "--rate", "5", NULL) == 1,
		    "quota set refused on a hand-written workspace");
		T_OK(adminv(NULL, "quota", "set", "nobody", "--rate", "5", NULL) == 1,
		    "quota set refused for a principal without a workspace");
		T_OK(adminv(NULL, "quota", "set", "frank", "--rate", "fast", NULL) == 1 &&
		    adminv(NULL, "quota", "set", "frank", "--rate", "10000001", NULL) == 1 &&
		    adminv(NULL, "quota", "set", "frank", "--bandwidth", "lots", NULL) == 1 &&
		    adminv(NULL, "quota", "set", "frank", NULL) == 1 &&
		    adminv(NULL, "quota", "show", "frank", "--rate", "5", NULL) == 1 &&
		    adminv(NULL, "quota", "drop", "frank", NULL) == 1,
		    "quota: bad values and usage refused");
		T_OK(pstore_reload(ps, &errors) == 0 && cred_quota(ps, frank).bandwidth == 10485760,
		    "quota: a refused change changes nothing");
		T_OK(adminv(NULL, "quota", "clear", "frank", NULL) == 0 &&
		    pstore_reload(ps, &errors) == 0 && cred_quota(ps, frank).set == 0,
		    "quota clear: frank back to the defaults");
		T_OK(adminv(NULL, "quota", "clear", "frank", NULL) == 1,
		    "quota clear without overrides fails");
		T_OK(adminv(NULL, "quota", "set", "frank", "--rate", "7", NULL) == 0,
		    "quota set frank --rate 7 (sync will remove it)");
		sbuf_free(&out);
	}

	/* sync is a full reconcile: a grant no longer in the input disappears */
	snprintf(path, sizeof(path), "%s/less.yaml", dir);
	snprintf(cmd, sizeof(cmd), "tests/data/policy/storage-example.yaml");
	if ((f = fopen(cmd, "r")) != NULL) {
		char buf[8192];
		size_t n = fread(buf, 1, sizeof(buf) - 1, f);

		buf[n] = '\0';
		fclose(f);
		/* drop ws-eric's grant to frank (3 lines) */
		if ((p = strstr(buf, "    - bucketName: ws-eric-shared\n      grantee: frank")) != NULL) {
			char *end = strstr(p, "grantedAt");

			end = strchr(end, '\n') + 1;
			memmove(p, end, strlen(end) + 1);
		}
		/* and give bob quotas */
		if ((p = strstr(buf, "  principal: bob\n")) != NULL &&
		    strlen(buf) + 32 < sizeof(buf)) {
			p += strlen("  principal: bob\n");
			memmove(p + 28, p, strlen(p) + 1);
			memcpy(p, "  quotas: {requestRate: 9}\n", 28);
		}
		write_file(path, buf, 0644);
	}
	T_OK(via(ps, "frank", "ws-eric-shared") == VIA_GRANT, "frank's grant before the sync");
	{
		struct sbuf out = SBUF_INIT;

		adminv(&out, "sync", path, NULL);
		T_OK(out.data && strstr(out.data, "+ quota bob\n") && strstr(out.data, "- quota frank\n"),
		    "sync reports + quota bob, - quota frank");
		sbuf_free(&out);
	}
	T_OK(pstore_reload(ps, &errors) == 0, "reload after sync");
	T_OK(cred_quota(ps, bob).set == POLICY_QUOTA_RATE && cred_quota(ps, bob).request_rate == 9,
	    "sync: spec.quotas in the input reaches bob's credential");
	T_OK(cred_quota(ps, frank).set == 0, "sync: a quota set with the CLI, not in the input, is gone");
	T_OK(cred_quota(ps, hugo).connections == 3, "sync: the hand-written quota stays");
	T_OK(via(ps, "frank", "ws-eric-shared") == VIA_NONE, "removed grant disappeared");
	T_OK(via(ps, "carol", "ws-frank") == VIA_NONE, "CLI member not in the input is gone");
	T_OK(via(ps, "hugo", "ws-hand") == VIA_OWNER, "hand-written file untouched by sync");
	ino = inode(state);
	admin("sync", path, NULL, NULL, NULL);
	T_OK(inode(state) == ino, "sync of the same input again: nothing rewritten");

	/*
	 * A resource that claims a hand-written bucket: refused alone (exit 1),
	 * the rest applied -- here the same as before, so nothing rewritten.
	 */
	if ((f = fopen(path, "r")) != NULL) {
		char buf[8192];
		size_t n = fread(buf, 1, sizeof(buf) - 1, f);

		buf[n] = '\0';
		fclose(f);
		snprintf(path, sizeof(path), "%s/conflict.yaml", dir);
		snprintf(cmd, sizeof(cmd), "\n---\napiVersion: pkg.internal/v1beta1\nkind: Storage\n"
		    "metadata: {name: ws-z}\nspec:\n  principal: z\n  buckets: [{bucketName: "
		    "ws-hand}]\n");
		if (strlen(buf) + strlen(cmd) < sizeof(buf))
			strcat(buf, cmd);
		write_file(path, buf, 0644);
	}
	T_OK(admin("sync", path, NULL, NULL, NULL) == 1 && inode(state) == ino,
	    "sync: a resource claiming a hand-written bucket refused alone (exit 1), the rest "
	    "(unchanged) applied: nothing rewritten");
	T_OK(pstore_reload(ps, &errors) == 0 && via(ps, "z", "ws-hand") == VIA_NONE &&
	    via(ps, "hugo", "ws-hand") == VIA_OWNER, "sync: ws-hand stays hugo's, ws-z is not added");

	T_OK(admin("cred", "delete", "SGNOSUCHKEY", NULL, NULL) == 1, "cred delete unknown fails");

	/*
	 * What would not load back is not written: an expiry s3gate cannot
	 * write as a time, a credential without a principal.  Each once froze
	 * the folder (every later load, command and proxy start failed).
	 */
	m = filestore_load(pol, &errors);
	T_OK(m != NULL && m->ngrants > 0, "the folder loads before the bad saves");
	if (m != NULL && m->ngrants > 0) {
		struct policy_credential bad;
		size_t i;

		for (i = 0; i < m->ngrants; i++)
			if (m->grants[i].source != NULL && strcmp(m->grants[i].source, state) == 0)
				break;
		ino = inode(state);
		if (i < m->ngrants)
			m->grants[i].expires_at = (time_t)261046901106LL;	/* year 10242 */
		sbuf_reset(&errors);
		T_OK(i < m->ngrants && filestore_save_state(pol, m, &errors) == -1 &&
		    inode(state) == ino && errors.data != NULL &&
		    strstr(errors.data, "9999") != NULL,
		    "save_state: an expiry after 9999 is refused, the old state kept: %s",
		    errors.data ? errors.data : "");
		if (i < m->ngrants)
			m->grants[i].expires_at = 0;
		memset(&bad, 0, sizeof(bad));
		bad.access_key_id = "SGNOPRINCIPAL0000000";
		bad.secret = "0123456789012345678901234567890123456789";
		bad.principal = "";
		model_add_credential(m, &bad);
		ino = inode(creds);
		sbuf_reset(&errors);
		T_OK(filestore_save_credentials(pol, m, &errors) == -1 && inode(creds) == ino &&
		    errors.data != NULL && strstr(errors.data, "principal") != NULL,
		    "save_credentials: a file that would not load back is refused: %s",
		    errors.data ? errors.data : "");
		model_free(m);
		sbuf_reset(&errors);
		m = filestore_load(pol, &errors);
		T_OK(m != NULL, "the folder still loads: %s", errors.data ? errors.data : "");
	}
	model_free(m);

	/* what the parent checks before starting workers: the folder loads, or what to fix */
	T_OK(filestore_check(&conf, &errors) == 0, "filestore_check: a good folder");
	snprintf(path, sizeof(path), "%s/broken.yaml", pol);
	write_file(path, "apiVersion: pkg.internal/v1beta1\nkind: Storage\nmetadata: {name: ws-b}\n"
	    "spec:\n  principal: b\n  buckets: [{bucketName: ws-b}]\n  bucketAccessGrants:\n"
	    "  - {bucketName: ws-b, grantee: c, permission: ReadOnly, "
	    "expiresAt: \"10240-08-17T05:05:06Z\"}\n", 0644);
	sbuf_reset(&errors);
	T_OK(filestore_check(&conf, &errors) == -1 && errors.data != NULL &&
	    strstr(errors.data, "broken.yaml:8: ") != NULL &&
	    strstr(errors.data, "write e.g.") != NULL,
	    "filestore_check: a folder that does not load: -1, the file, line and fix: %s",
	    errors.data ? errors.data : "");
	unlink(path);
	{
		struct conf redis = conf;

		redis.store_kind = CONF_STORE_REDIS;
		T_OK(filestore_check(&redis, &errors) == 0, "filestore_check: not the file store: 0");
	}

	pstore_free(ps);
	sbuf_free(&errors);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		printf("# could not remove %s\n", dir);
	return T_DONE();
}
