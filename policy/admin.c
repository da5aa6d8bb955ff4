/*
 * admin: the s3gate-admin commands.  Every command runs the same way:
 * admin_load() (the store's lock, then its state as a model), changes
 * through model_*(), admin_commit() (the store persists what changed).
 * Text for people by default, one JSON document with --json.
 *
 * This file: the command line (usage, options, the dispatch in
 * admin_run_kind()), output and failures, the store loaded and committed.
 * The commands are in the other admin_*.c (admin_int.h says which).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "policy/admin.h"
#include "policy/admin_int.h"
#include "policy/filestore.h"
#include "policy/redisstore.h"
#include "policy/model.h"
#include "policy/storage.h"
#include "proxy/conf.h"
#include "proxy/utf8.h"

/*
 * The longest --expires (grants) and --ttl (session credentials): 10 years.
 * Longer than a research project's funding and its data's usual retention
 * (10 years), so an end further off is "never" (leave --expires out); and
 * every time written stays within the four-digit years that Storage
 * resources are read with (an unbounded "3000000d" was written as the year
 * 10240, and no command could load the store after it).
 */
#define ADMIN_MAX_EXPIRES	(3650LL * 86400)
#define ADMIN_MAX_EXPIRES_STR	"3650d"

static const char *const admin_usage =
    "usage: s3gate-admin -c FILE [--json] COMMAND ...\n"
    "  check   (the store loads, the backend takes the service credentials, clocks,\n"
    "          certificates)\n"
    "  sync FILE|-\n"
    "  cred create PRINCIPAL [--ttl D] | cred list [PRINCIPAL] | cred delete ACCESS_KEY_ID\n"
    "  member add|remove WORKSPACE PRINCIPAL\n"
    "  bucket create PRINCIPAL BUCKET | bucket retired | bucket release BUCKET\n"
    "  request BUCKET PRINCIPAL [--reason TEXT]\n"
    "  requests PRINCIPAL\n"
    "  approve BUCKET PRINCIPAL [--permission P] [--expires D] [--owner P]\n"
    "  grant BUCKET[/PREFIX] PRINCIPAL P [--expires D] [--owner P]\n"
    "  revoke BUCKET PRINCIPAL [--owner P]\n"
    "  access PRINCIPAL\n"
    "  who BUCKET\n"
    "  presign --principal P [--credential AKID] [--method GET|PUT] [--expires D] [--max-uses N]\n"
    "          s3://BUCKET/KEY\n"
    "  presign list [--principal P] | presign revoke ID [--principal P]\n"
    "  quota show PRINCIPAL | quota clear PRINCIPAL\n"
    "  quota set PRINCIPAL [--rate N] [--bandwidth SIZE] [--connections N]"
    "  (0: no limit; default: the config's)\n";

/*
 * One line on OUT: PREFIX, then FMT formatted with its control characters
 * escaped (utf8_append_printable): the names printed came from users and
 * the store, and may hold anything an S3 key may.
 */
static void
admin_line(FILE *out, const char *prefix, const char *fmt, va_list ap)
{
	struct sbuf text = SBUF_INIT, shown = SBUF_INIT;

	sbuf_vappendf(&text, fmt, ap);
	sbuf_appends(&shown, prefix);
	utf8_append_printable(&shown, text.data != NULL ? text.data : "");
	sbuf_appendc(&shown, '\n');
	fwrite(shown.data, 1, shown.len, out);
	sbuf_free(&text);
	sbuf_free(&shown);
}

/* One line on the error sink, a failure of KIND (the first one counts); returns 1. */
static int
admin_vfail(struct admin *a, enum admin_error kind, const char *fmt, va_list ap)
{
	if (a->error == ADMIN_ERR_NONE)
		a->error = kind;
	admin_line(a->err, "s3gate-admin: ", fmt, ap);
	return 1;
}

/*
 * A failure of another kind than the arguments (admin_fail): those the
 * self-service API answers otherwise than InvalidArgument (admin.h).
 */
int
admin_fail_kind(struct admin *a, enum admin_error kind, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	(void)admin_vfail(a, kind, fmt, ap);
	va_end(ap);
	return 1;
}

/* One line on the error sink, the arguments' fault; returns the exit status 1. */
int
admin_fail(struct admin *a, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	(void)admin_vfail(a, ADMIN_ERR_INVALID, fmt, ap);
	va_end(ap);
	return 1;
}

/* Multi-line errors of KIND (one per problem), each prefixed. */
int
admin_fail_errors(struct admin *a, enum admin_error kind, const char *what,
    struct sbuf *errors)
{
	char *line, *save = NULL;

	if (errors->data == NULL || errors->len == 0)
		return admin_fail_kind(a, kind, "%s", what);
	for (line = strtok_r(errors->data, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save))
		(void)admin_fail_kind(a, kind, "%s", line);
	return 1;
}

void
admin_text(struct admin *a, const char *fmt, ...)
{
	va_list ap;

	if (a->json)
		return;
	va_start(ap, fmt);
	admin_line(a->out, "", fmt, ap);
	va_end(ap);
}

void
admin_time(time_t t, char *buf, size_t len)
{
	storage_format_time(t, buf, len);
}

/* "90s", "15m", "8h", "7d" -> seconds, > 0; -1 if malformed. */
long long
admin_duration(const char *s)
{
	int64_t ms = conf_parse_duration_ms(s);

	if (ms < 1000)
		return -1;
	return ms / 1000;
}

/* OPT's VALUE (--expires, --ttl) -> seconds, 1 to ADMIN_MAX_EXPIRES; -1 after saying why. */
long long
admin_lifetime(struct admin *a, const char *opt, const char *value)
{
	long long secs;

	if ((secs = admin_duration(value)) == -1) {
		admin_fail(a, "%s %s: write a duration like 90s, 15m, 8h or 7d", opt, value);
		return -1;
	}
	if (secs > ADMIN_MAX_EXPIRES) {
		admin_fail(a, "%s %s: the longest is " ADMIN_MAX_EXPIRES_STR " (10 years); for no end, "
		    "leave %s out", opt, value, opt);
		return -1;
	}
	return secs;
}

/*
 * Options and positional arguments, in any order until "--"; after it,
 * only positional ones (the self-service API puts what callers send
 * there).  An option's value may not look like an option: "--ttl
 * --principal P" would otherwise swallow --principal.
 */
static int
admin_parse_args(struct admin *a, int argc, char **argv, struct admin_args *args)
{
	static const struct {
		const char	*name;
		size_t		 offset;
	} opts[] = {
		{ "--ttl", offsetof(struct admin_args, ttl) },
		{ "--reason", offsetof(struct admin_args, reason) },
		{ "--permission", offsetof(struct admin_args, permission) },
		{ "--expires", offsetof(struct admin_args, expires) },
		{ "--principal", offsetof(struct admin_args, principal) },
		{ "--credential", offsetof(struct admin_args, credential) },
		{ "--method", offsetof(struct admin_args, method) },
		{ "--max-uses", offsetof(struct admin_args, max_uses) },
		{ "--rate", offsetof(struct admin_args, rate) },
		{ "--bandwidth", offsetof(struct admin_args, bandwidth) },
		{ "--connections", offsetof(struct admin_args, connections) },
		{ "--owner", offsetof(struct admin_args, owner) },
	};
	size_t o;
	int i, options = 1;

	memset(args, 0, sizeof(*args));
	for (i = 0; i < argc; i++) {
		if (options && strcmp(argv[i], "--") == 0) {
			options = 0;
			continue;
		}
		if (options && strcmp(argv[i], "--json") == 0) {
			a->json = 1;
			continue;
		}
		if (options && argv[i][0] == '-' && argv[i][1] == '-') {
			for (o = 0; o < sizeof(opts) / sizeof(opts[0]); o++)
				if (strcmp(argv[i], opts[o].name) == 0)
					break;
			if (o == sizeof(opts) / sizeof(opts[0])) {
				admin_fail(a, "unknown option %s", argv[i]);
				return -1;
			}
			if (i + 1 >= argc || strncmp(argv[i + 1], "--", 2) == 0) {
				admin_fail(a, "%s needs a value%s%s%s", argv[i],
				    i + 1 < argc ? " (not the option \"" : "",
				    i + 1 < argc ? argv[i + 1] : "", i + 1 < argc ? "\")" : "");
				return -1;
			}
			*(const char **)((char *)args + opts[o].offset) = argv[++i];
			continue;
		}
		if (args->npos == ADMIN_MAX_POS) {
			admin_fail(a, "too many arguments at \"%s\"", argv[i]);
			return -1;
		}
		args->pos[args->npos++] = argv[i];
	}
	return 0;
}

/* ---- the store: load and commit (the part a Redis store replaces) ------- */

int
admin_load(struct admin *a)
{
	struct sbuf errors = SBUF_INIT;
	int rc;

	if (a->conf->store_kind == CONF_STORE_REDIS) {
		if ((a->rlock = redisstore_lock(a->conf, &errors)) == NULL ||
		    redisstore_model_load(a->conf, &a->model, &errors) == -1) {
			rc = admin_fail_errors(a, ADMIN_ERR_INTERNAL, "cannot load the policy store", &errors);
			sbuf_free(&errors);
			return rc;
		}
	} else if ((a->lockfd = filestore_lock(a->dir, &errors)) == -1 ||
	    (a->model = filestore_load(a->dir, &errors)) == NULL) {
		rc = admin_fail_errors(a, ADMIN_ERR_INTERNAL, "cannot load the policy store", &errors);
		sbuf_free(&errors);
		return rc;
	}
	sbuf_free(&errors);
	return 0;
}

/*
 * Removes the links (credentials with a link scope) that expired before NOW,
 * and those whose issuing key is gone (model_link_issuer()): every admin
 * write collects them, so the store does not grow with every link ever
 * issued, and no link outlives the key it was issued with.  Returns how
 * many went.
 */
size_t
admin_gc_links(struct model *m, time_t now)
{
	const char *issuer;
	size_t i = 0, n = 0;

	while (i < m->ncredentials) {
		const struct policy_credential *c = &m->credentials[i];

		if (c->link_method != NULL && ((c->expires_at != 0 && c->expires_at <= now) ||
		    ((issuer = model_link_issuer(m, c->access_key_id)) != NULL &&
		    model_credential(m, issuer) == NULL)) &&
		    model_remove_credential(m, c->access_key_id) == 0) {
			n++;
			continue;
		}
		i++;
	}
	return n;
}

/*
 * Checks the changed model whole, then persists WHAT (and expired links'
 * removal).  The file store writes a file only if the folder loads with it
 * (filestore_save_state()): a change that would not load back is refused
 * and the store stays as it was.
 */
int
admin_commit(struct admin *a, int what)
{
	struct sbuf errors = SBUF_INIT;
	int rc = 0;

	if (admin_gc_links(a->model, a->now) > 0)
		what |= ADMIN_CREDENTIALS;

	if (a->conf->store_kind == CONF_STORE_REDIS) {
		if (model_index(a->model, &errors) == -1 ||
		    redisstore_model_save(a->conf, NULL, a->model, a->rlock, &errors) == -1)
			rc = admin_fail_errors(a, ADMIN_ERR_INTERNAL, "cannot save the policy store", &errors);
	} else if (model_index(a->model, &errors) == -1 ||
	    ((what & ADMIN_STATE) && filestore_save_state(a->dir, a->model, &errors) == -1) ||
	    ((what & ADMIN_CREDENTIALS) &&
	    filestore_save_credentials(a->dir, a->model, &errors) == -1))
		rc = admin_fail_errors(a, ADMIN_ERR_INTERNAL, "cannot save the policy store", &errors);
	sbuf_free(&errors);
	return rc;
}

/* The CLI rewrites only its own file: hand-written ones stay as written. */
int
admin_check_owned(struct admin *a, const struct model_workspace *w)
{
	if (w->source != NULL && strcmp(w->source, a->state_path) == 0)
		return 0;
	return admin_fail(a, "workspace %s is defined in %s, which s3gate-admin does not "
	    "rewrite; change it there, or sync it", w->name, w->source ? w->source : "-");
}

/* ---- main ------------------------------------------------------------------ */

int
admin_run(int argc, char **argv, FILE *out, FILE *err)
{
	return admin_run_kind(argc, argv, out, err, NULL);
}

int
admin_run_kind(int argc, char **argv, FILE *out, FILE *err, enum admin_error *kind)
{
	struct admin a;
	struct admin_args args;
	struct sbuf errors = SBUF_INIT;
	const char *conf_file = NULL, *cmd, *sub = NULL;
	enum admin_error ignored;
	char *text;
	int i, rc;

	if (kind == NULL)
		kind = &ignored;
	*kind = ADMIN_ERR_INVALID;	/* until the command line is read */
	memset(&a, 0, sizeof(a));
	a.lockfd = -1;
	a.out = out;
	a.err = err;
	a.now = time(NULL);
	for (i = 1; i < argc && argv[i][0] == '-'; i++) {
		if (strcmp(argv[i], "-c") == 0 && i + 1 < argc)
			conf_file = argv[++i];
		else if (strcmp(argv[i], "--json") == 0)
			a.json = 1;
		else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
			fputs(admin_usage, out);
			fflush(out);
			*kind = ADMIN_ERR_NONE;
			return 0;
		} else {
			fputs(admin_usage, err);
			fflush(err);
			return 1;
		}
	}
	if (conf_file == NULL || i >= argc) {
		fputs(admin_usage, err);
		fflush(err);
		return 1;
	}
	cmd = argv[i++];
	if (strcmp(cmd, "cred") == 0 || strcmp(cmd, "member") == 0 || strcmp(cmd, "bucket") == 0 ||
	    strcmp(cmd, "quota") == 0) {
		if (i >= argc) {
			rc = admin_fail(&a, "%s needs a subcommand", cmd);
			fflush(err);
			return rc;
		}
		sub = argv[i++];
	} else if (strcmp(cmd, "presign") == 0) {
		/* "presign revoke ID", "presign list"; otherwise presign issues a link */
		sub = "";
		if (i < argc && (strcmp(argv[i], "revoke") == 0 || strcmp(argv[i], "list") == 0))
			sub = argv[i++];
	}
	if (admin_parse_args(&a, argc - i, argv + i, &args) == -1) {
		fflush(err);
		return 1;
	}

	if ((a.conf = conf_load(conf_file, 0, &errors)) == NULL) {
		rc = admin_fail_errors(&a, ADMIN_ERR_INTERNAL, "bad configuration", &errors);
		sbuf_free(&errors);
		fflush(err);
		*kind = a.error;
		return rc;
	}
	sbuf_free(&errors);
	s3addr_set_reserved(a.conf->reserved_names, a.conf->nreserved);
	a.dir = a.conf->store_path;
	/* Redis: every record is the CLI's own; redisstore_model_load() tags them with the URL */
	if (a.conf->store_kind == CONF_STORE_REDIS) {
		if ((a.state_path = strdup(a.conf->store_path)) == NULL)
			abort();
	} else
		a.state_path = filestore_path(a.dir, FILESTORE_STATE);
	a.doc = json_object();

	if (strcmp(cmd, "sync") == 0)
		rc = admin_sync(&a, &args);
	else if (strcmp(cmd, "cred") == 0 && strcmp(sub, "create") == 0)
		rc = admin_cred_create(&a, &args);
	else if (strcmp(cmd, "cred") == 0 && strcmp(sub, "list") == 0)
		rc = admin_cred_list(&a, &args);
	else if (strcmp(cmd, "cred") == 0 && strcmp(sub, "delete") == 0)
		rc = admin_cred_delete(&a, &args);
	else if (strcmp(cmd, "member") == 0 && strcmp(sub, "add") == 0)
		rc = admin_member(&a, &args, 1);
	else if (strcmp(cmd, "member") == 0 && strcmp(sub, "remove") == 0)
		rc = admin_member(&a, &args, 0);
	else if (strcmp(cmd, "bucket") == 0 && strcmp(sub, "create") == 0)
		rc = admin_bucket_create(&a, &args);
	else if (strcmp(cmd, "bucket") == 0 && strcmp(sub, "release") == 0)
		rc = admin_bucket_release(&a, &args);
	else if (strcmp(cmd, "bucket") == 0 && strcmp(sub, "retired") == 0)
		rc = admin_bucket_retired(&a, &args);
	else if (strcmp(cmd, "request") == 0)
		rc = admin_request(&a, &args);
	else if (strcmp(cmd, "requests") == 0)
		rc = admin_requests(&a, &args);
	else if (strcmp(cmd, "approve") == 0)
		rc = admin_approve(&a, &args);
	else if (strcmp(cmd, "grant") == 0)
		rc = admin_grant(&a, &args);
	else if (strcmp(cmd, "revoke") == 0)
		rc = admin_revoke(&a, &args);
	else if (strcmp(cmd, "access") == 0)
		rc = admin_access(&a, &args);
	else if (strcmp(cmd, "who") == 0)
		rc = admin_who(&a, &args);
	else if (strcmp(cmd, "presign") == 0 && strcmp(sub, "revoke") == 0)
		rc = admin_presign_revoke(&a, &args);
	else if (strcmp(cmd, "presign") == 0 && strcmp(sub, "list") == 0)
		rc = admin_presign_list(&a, &args);
	else if (strcmp(cmd, "presign") == 0)
		rc = admin_presign(&a, &args);
	else if (strcmp(cmd, "quota") == 0)
		rc = admin_quota(&a, sub, &args);
	else if (strcmp(cmd, "check") == 0)
		rc = admin_check(&a, &args);
	else
		rc = admin_fail(&a, "unknown command \"%s%s%s\"; see s3gate-admin -h", cmd,
		    sub ? " " : "", sub ? sub : "");

	/*
	 * check's report is printed whatever it found; so is a sync's once it
	 * applied (its refused resources and the buckets it could not create
	 * are what exit 1 is about)
	 */
	if ((rc == 0 || strcmp(cmd, "check") == 0 || (strcmp(cmd, "sync") == 0 &&
	    json_object_get(a.doc, "changes") != NULL)) && a.json) {
		if ((text = json_dumps(a.doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER)) == NULL)
			abort();
		fputs(text, out);
		fputc('\n', out);
		/* cred create's document holds the secret */
		explicit_bzero(text, strlen(text));
		free(text);
	}
	if (a.doc != NULL) {
		const char *k;
		json_t *v;

		json_object_foreach(a.doc, k, v)
			if (json_is_string(v))
				explicit_bzero((char *)json_string_value(v), json_string_length(v));
		json_decref(a.doc);
	}
	fflush(out);
	fflush(err);
	model_free(a.model);
	if (a.lockfd != -1)
		close(a.lockfd);
	redisstore_unlock(a.rlock);
	free(a.state_path);
	conf_unref(a.conf);
	/* a failure that said nothing (check's, or one that should not happen) is ours */
	*kind = rc == 0 ? ADMIN_ERR_NONE : a.error != ADMIN_ERR_NONE ? a.error : ADMIN_ERR_INTERNAL;
	return rc;
}

int
admin_main(int argc, char **argv)
{
	return admin_run(argc, argv, stdout, stderr);
}
