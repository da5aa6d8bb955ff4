/*
 * admin: the s3gate-admin commands.  Every command runs the same way:
 * admin_load() (the store's lock, then its state as a model), changes
 * through model_*(), admin_commit() (the store persists what changed).
 * Text for people by default, one JSON document with --json.
 */
#include <sys/socket.h>
#include <sys/time.h>

#include <errno.h>
#include <fnmatch.h>
#include <netdb.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "policy/admin.h"
#include "proxy/errbody.h"
#include "policy/filestore.h"
#include "policy/redisstore.h"
#include "policy/model.h"
#include "policy/storage.h"
#include "proxy/conf.h"
#include "proxy/quota.h"
#include "proxy/sigv4.h"
#include "proxy/tls.h"
#include "proxy/utf8.h"

#define ADMIN_MAX_INPUT		(64 * 1024 * 1024)
#define ADMIN_MAX_POS		4
#define ADMIN_BACKEND_TIMEOUT	10	/* seconds, per connect and per read */
#define ADMIN_BACKEND_DEADLINE	30	/* seconds for a whole answer, however it drips */
#define ADMIN_MAX_REASON	1024	/* bytes of a request's reason */
#define ADMIN_LINK_DEFAULT_EXPIRES 3600	/* seconds: presign without --expires */
/*
 * Links one principal may have alive at once.  Each is a credential in the
 * policy store (the file store is rewritten for every new one), and a
 * budgeted one takes a slot of the workers' shared link table
 * (QUOTASHM_LINKS, 65 536): unbounded, one user could mint them by the
 * thousand through POST /_s3gate/presign and fill it for everyone.
 */
#define ADMIN_MAX_LIVE_LINKS	1000
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
/* --max-uses bound: N x 5 TiB (S3's largest object) stays within 64 bits */
#define ADMIN_LINK_MAX_USES	1000000

struct admin {
	struct conf	*conf;
	const char	*dir;
	char		*state_path;	/* the records the CLI owns come from here */
	int		 json;
	int		 lockfd;
	struct redisstore_lock *rlock;	/* policy_store redis */
	struct model	*model;
	json_t		*doc;		/* --json: printed at the end */
	FILE		*out;		/* every output goes to these two: the */
	FILE		*err;		/* proxy runs commands with memstreams */
	time_t		 now;
	enum admin_error error;		/* the first failure's kind */
};

struct admin_args {
	const char	*pos[ADMIN_MAX_POS];
	int		 npos;
	const char	*ttl;
	const char	*reason;
	const char	*permission;
	const char	*expires;
	const char	*principal;	/* presign */
	const char	*credential;	/* presign: the access key id issuing the link */
	const char	*method;
	const char	*max_uses;
	const char	*rate;		/* quota set */
	const char	*bandwidth;
	const char	*connections;
	const char	*owner;		/* grant, revoke: the caller the API checked */
};

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

static int admin_fail(struct admin *, const char *, ...) __attribute__((format(printf, 2, 3)));
static int admin_fail_kind(struct admin *, enum admin_error, const char *, ...)
    __attribute__((format(printf, 3, 4)));

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
static int
admin_fail_kind(struct admin *a, enum admin_error kind, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	(void)admin_vfail(a, kind, fmt, ap);
	va_end(ap);
	return 1;
}

/* One line on the error sink, the arguments' fault; returns the exit status 1. */
static int
admin_fail(struct admin *a, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	(void)admin_vfail(a, ADMIN_ERR_INVALID, fmt, ap);
	va_end(ap);
	return 1;
}

/* Multi-line errors of KIND (one per problem), each prefixed. */
static int
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

static void
admin_text(struct admin *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
admin_text(struct admin *a, const char *fmt, ...)
{
	va_list ap;

	if (a->json)
		return;
	va_start(ap, fmt);
	admin_line(a->out, "", fmt, ap);
	va_end(ap);
}

static void
admin_time(time_t t, char *buf, size_t len)
{
	storage_format_time(t, buf, len);
}

/* "90s", "15m", "8h", "7d" -> seconds, > 0; -1 if malformed. */
static long long
admin_duration(const char *s)
{
	int64_t ms = conf_parse_duration_ms(s);

	if (ms < 1000)
		return -1;
	return ms / 1000;
}

/* OPT's VALUE (--expires, --ttl) -> seconds, 1 to ADMIN_MAX_EXPIRES; -1 after saying why. */
static long long
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

static int
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

#define ADMIN_STATE		0x01
#define ADMIN_CREDENTIALS	0x02

/*
 * Removes the links (credentials with a link scope) that expired before NOW,
 * and those whose issuing key is gone (model_link_issuer()): every admin
 * write collects them, so the store does not grow with every link ever
 * issued, and no link outlives the key it was issued with.  Returns how
 * many went.
 */
static size_t
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
static int
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
static int
admin_check_owned(struct admin *a, const struct model_workspace *w)
{
	if (w->source != NULL && strcmp(w->source, a->state_path) == 0)
		return 0;
	return admin_fail(a, "workspace %s is defined in %s, which s3gate-admin does not "
	    "rewrite; change it there, or sync it", w->name, w->source ? w->source : "-");
}

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

/* ---- cred ----------------------------------------------------------------- */

static void
admin_random(char *out, size_t len, const char *alphabet)
{
	size_t n = strlen(alphabet), i = 0, j;
	unsigned int limit = 256 - 256 % (unsigned int)n;	/* no modulo bias */
	unsigned char buf[64];

	while (i < len) {
		if (RAND_bytes(buf, sizeof(buf)) != 1)
			abort();
		for (j = 0; j < sizeof(buf) && i < len; j++)
			if (buf[j] < limit)
				out[i++] = alphabet[buf[j] % n];
	}
	explicit_bzero(buf, sizeof(buf));
	out[len] = '\0';
}

static const char admin_upper[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
static const char admin_alnum[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

void
admin_keygen(char akid[21], char secret[41])
{
	akid[0] = 'S';
	akid[1] = 'G';
	admin_random(akid + 2, 18, admin_upper);
	admin_random(secret, 40, admin_alnum);
}

static int
admin_cred_create(struct admin *a, struct admin_args *args)
{
	struct policy_credential c;
	char akid[21], secret[41], token[65], when[32];
	long long ttl = 0;
	int rc;

	if (args->npos != 1)
		return admin_fail(a, "usage: cred create PRINCIPAL [--ttl D]");
	if (!storage_principal_valid(args->pos[0]))
		return admin_fail(a, "\"%s\" is not a valid principal name", args->pos[0]);
	if (args->ttl != NULL && (ttl = admin_lifetime(a, "--ttl", args->ttl)) == -1)
		return 1;
	if ((rc = admin_load(a)) != 0)
		return rc;
	do
		admin_keygen(akid, secret);
	while (model_credential(a->model, akid) != NULL);
	memset(&c, 0, sizeof(c));
	c.access_key_id = akid;
	c.secret = secret;
	c.principal = (char *)args->pos[0];
	if (ttl > 0) {
		admin_random(token, 64, admin_alnum);
		c.session_token = token;
		c.expires_at = a->now + (time_t)ttl;
	}
	model_add_credential(a->model, &c);
	if ((rc = admin_commit(a, ADMIN_CREDENTIALS)) == 0) {
		if (a->json) {
			json_object_set_new(a->doc, "access_key_id", json_string(akid));
			json_object_set_new(a->doc, "secret_access_key", json_string(secret));
			json_object_set_new(a->doc, "principal", json_string(args->pos[0]));
			if (ttl > 0) {
				admin_time(c.expires_at, when, sizeof(when));
				json_object_set_new(a->doc, "session_token", json_string(token));
				json_object_set_new(a->doc, "expires_at", json_string(when));
			}
		} else if (ttl > 0)
			fprintf(a->out, "%s %s %s\n", akid, secret, token);
		else
			fprintf(a->out, "%s %s\n", akid, secret);
	}
	explicit_bzero(secret, sizeof(secret));
	explicit_bzero(token, sizeof(token));
	return rc;
}

static int
admin_cred_list(struct admin *a, struct admin_args *args)
{
	const struct policy_credential *c;
	json_t *list = json_array(), *o;
	char when[32];
	size_t i;
	int rc;

	if (args->npos > 1)
		return admin_fail(a, "usage: cred list [PRINCIPAL]");
	if ((rc = admin_load(a)) != 0) {
		json_decref(list);
		return rc;
	}
	for (i = 0; i < a->model->ncredentials; i++) {
		c = &a->model->credentials[i];
		if (args->npos == 1 && strcmp(c->principal, args->pos[0]) != 0)
			continue;
		when[0] = '\0';
		if (c->expires_at != 0)
			admin_time(c->expires_at, when, sizeof(when));
		o = json_object();
		json_object_set_new(o, "access_key_id", json_string(c->access_key_id));
		json_object_set_new(o, "principal", json_string(c->principal));
		json_object_set_new(o, "session", json_boolean(c->session_token != NULL));
		json_object_set_new(o, "expires_at", c->expires_at ? json_string(when) : json_null());
		json_object_set_new(o, "expired", json_boolean(c->expires_at != 0 &&
		    c->expires_at <= a->now));
		/* a presigned link s3gate issued: its scope (presign list shows more) */
		if (c->link_method != NULL)
			json_object_set_new(o, "link", json_pack("{s:s,s:s,s:s}", "method",
			    c->link_method, "bucket", c->link_bucket ? c->link_bucket : "",
			    "key", c->link_key ? c->link_key : ""));
		json_array_append_new(list, o);
		if (c->link_method != NULL)
			admin_text(a, "%s %s link %s s3://%s/%s%s%s", c->access_key_id,
			    c->principal, c->link_method, c->link_bucket ? c->link_bucket : "",
			    c->link_key ? c->link_key : "", c->expires_at ? " expires " : "", when);
		else
			admin_text(a, "%s %s%s%s%s", c->access_key_id, c->principal,
			    c->session_token ? " session" : "", c->expires_at ? " expires " : "",
			    when);
	}
	json_object_set_new(a->doc, "credentials", list);
	return 0;
}

/* cred delete AKID: the key, and the links issued with it (model_link_issuer()). */
static int
admin_cred_delete(struct admin *a, struct admin_args *args)
{
	json_t *links;
	char *id;
	size_t i;
	int rc;

	if (args->npos != 1)
		return admin_fail(a, "usage: cred delete ACCESS_KEY_ID");
	if ((rc = admin_load(a)) != 0)
		return rc;
	if (model_remove_credential(a->model, args->pos[0]) == -1)
		return admin_fail(a, "no access key %s", args->pos[0]);
	links = json_array();
	i = 0;
	while (i < a->model->nlink_issuers) {
		if (strcmp(a->model->link_issuers[i].issuer, args->pos[0]) != 0) {
			i++;
			continue;
		}
		/* removes the issuer record too, whether or not the link is there */
		id = sbuf_strdup(a->model->link_issuers[i].link);
		if (model_remove_credential(a->model, id) == 0)
			json_array_append_new(links, json_string(id));
		free(id);
	}
	if ((rc = admin_commit(a, ADMIN_CREDENTIALS)) == 0) {
		admin_text(a, "- credential %s", args->pos[0]);
		for (i = 0; i < json_array_size(links); i++)
			admin_text(a, "- link %s", json_string_value(json_array_get(links, i)));
		json_object_set_new(a->doc, "deleted", json_string(args->pos[0]));
		json_object_set_new(a->doc, "links_deleted", links);
	} else
		json_decref(links);
	return rc;
}

/* ---- member, request, approve, grant, revoke ------------------------------ */

static int
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
static int
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
static int
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

static int
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

static int
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

static int
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
static int
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

/* ---- presign ------------------------------------------------------------- */

/*
 * conf public_url -> BASE ("scheme://host[:port]", lower-case, no default
 * port, no trailing slash) and HOST (what the outsider's client sends as
 * Host, and so what is signed).  A path is refused: links are path-style
 * /BUCKET/KEY at the host, signed for exactly that path.
 */
static int
admin_public_base(struct admin *a, struct sbuf *base, struct sbuf *host)
{
	const char *u = a->conf->public_url, *auth, *end, *p;
	const char *deflt;
	size_t len, i;

	if (u == NULL || u[0] == '\0')
		return admin_fail_kind(a, ADMIN_ERR_UNCONFIGURED, "public_url is not set in %s; "
		    "set it to the base URL outsiders use", a->conf->file ? a->conf->file :
		    "the configuration");
	if (strncasecmp(u, "https://", 8) == 0) {
		auth = u + 8;
		deflt = ":443";
	} else if (strncasecmp(u, "http://", 7) == 0) {
		auth = u + 7;
		deflt = ":80";
	} else
		return admin_fail(a, "public_url %s: write http://HOST[:PORT] or "
		    "https://HOST[:PORT]", u);
	end = auth + strcspn(auth, "/?#");
	if ((*end == '/' && end[1] != '\0') || *end == '?' || *end == '#')
		return admin_fail(a, "public_url %s has a path or query; links are signed for "
		    "/BUCKET/KEY at the host: write scheme://HOST[:PORT]", u);
	len = (size_t)(end - auth);
	for (p = auth; p < end; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9') || strchr("-.:[]", *p) != NULL))
			return admin_fail(a, "public_url %s: \"%.*s\" is not a host[:port]", u,
			    (int)len, auth);
	if (len == 0)
		return admin_fail(a, "public_url %s has no host", u);
	if (len > strlen(deflt) && strncmp(end - strlen(deflt), deflt, strlen(deflt)) == 0)
		len -= strlen(deflt);
	for (i = 0; i < len; i++)
		sbuf_appendc(host, (char)(auth[i] >= 'A' && auth[i] <= 'Z' ? auth[i] + 32 : auth[i]));
	sbuf_appendf(base, "%s://%s", deflt[1] == '4' ? "https" : "http", host->data);
	return 0;
}

/* "s3://BUCKET/KEY" -> BUCKET (at most 63 bytes) and KEY (1-1024 bytes). */
static int
admin_parse_s3_url(struct admin *a, const char *url, char bucket[64], const char **key)
{
	const char *b, *slash;
	size_t n;

	if (strncmp(url, "s3://", 5) != 0)
		return admin_fail(a, "%s: write the object as s3://BUCKET/KEY", url);
	b = url + 5;
	if ((slash = strchr(b, '/')) == NULL || slash == b || slash[1] == '\0')
		return admin_fail(a, "%s: write the object as s3://BUCKET/KEY (a link is for one "
		    "object)", url);
	if ((n = (size_t)(slash - b)) > 63)
		return admin_fail(a, "%s: the bucket name is longer than 63 bytes", url);
	if (strlen(slash + 1) > 1024)
		return admin_fail(a, "%s: the key is longer than 1024 bytes", url);
	memcpy(bucket, b, n);
	bucket[n] = '\0';
	*key = slash + 1;
	return 0;
}

static json_t *
admin_link_json(const struct policy_credential *c)
{
	char when[32];
	json_t *o;

	admin_time(c->expires_at, when, sizeof(when));
	o = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s}", "id", c->access_key_id,
	    "principal", c->principal, "method", c->link_method,
	    "bucket", c->link_bucket ? c->link_bucket : "", "key", c->link_key ? c->link_key : "",
	    "expires_at", when);
	json_object_set_new(o, "max_uses", c->link_max_uses ? json_integer(c->link_max_uses) :
	    json_null());
	return o;
}

/* Whether C is a link not yet expired, issued by PRINCIPAL (NULL: by anyone). */
static int
admin_link_live(const struct admin *a, const struct policy_credential *c, const char *principal)
{
	return c->link_method != NULL && (c->expires_at == 0 || c->expires_at > a->now) &&
	    (principal == NULL || strcmp(c->principal, principal) == 0);
}

/* The links PRINCIPAL issued that have not expired. */
static int
admin_live_links(const struct admin *a, const char *principal)
{
	size_t i;
	int n = 0;

	for (i = 0; i < a->model->ncredentials; i++)
		n += admin_link_live(a, &a->model->credentials[i], principal);
	return n;
}

/*
 * presign --principal P [--credential AKID] [--method GET|PUT] [--expires D]
 * [--max-uses N] s3://BUCKET/KEY: a link is a credential scoped to one
 * object and method (policy.h), principal P, and an ordinary SigV4
 * presigned URL signed with it under public_url.  P must hold what the
 * link grants now; the proxy checks again, as P, at every use.
 *
 * --credential names the key the link is issued with (the self-service
 * API passes the caller's): it must be P's; the link ends no later than
 * it, and is deleted with it (cred delete, model_link_issuer()).
 */
static int
admin_presign(struct admin *a, struct admin_args *args)
{
	struct policy_credential c;
	struct policy_access acc;
	struct policy_decision dec;
	struct s3_op op;
	struct sbuf base = SBUF_INIT, host = SBUF_INIT, path = SBUF_INIT, query = SBUF_INIT;
	const struct policy_credential *issuer;
	char bucket[64], id[21], secret[41], when[32], *end;
	const char *key = NULL, *method = args->method ? args->method : "GET";
	long long secs = ADMIN_LINK_DEFAULT_EXPIRES;
	unsigned long uses = 0;
	int rc = 1;

	if (args->npos != 1 || args->principal == NULL)
		return admin_fail(a, "usage: presign --principal P [--credential AKID] "
		    "[--method GET|PUT] [--expires D] [--max-uses N] s3://BUCKET/KEY");
	if (!storage_principal_valid(args->principal))
		return admin_fail(a, "\"%s\" is not a valid principal name", args->principal);
	if (strcmp(method, "GET") != 0 && strcmp(method, "PUT") != 0)
		return admin_fail(a, "--method %s: a link is for GET or PUT", method);
	if (args->expires != NULL && (secs = admin_duration(args->expires)) == -1)
		return admin_fail(a, "--expires %s: write a duration like 90s, 15m, 8h or 7d",
		    args->expires);
	if (secs > SIGV4_MAX_EXPIRES)
		return admin_fail(a, "expiry is more than 7 days; the longest is 7d");
	if (args->max_uses != NULL) {
		errno = 0;
		uses = strtoul(args->max_uses, &end, 10);
		if (args->max_uses[0] < '0' || args->max_uses[0] > '9' || *end != '\0' ||
		    errno != 0 || uses < 1 || uses > ADMIN_LINK_MAX_USES)
			return admin_fail(a, "--max-uses %s: write a whole number from 1 to %d",
			    args->max_uses, ADMIN_LINK_MAX_USES);
		if (strcmp(method, "GET") != 0)
			return admin_fail(a, "--max-uses counts downloads: it applies to GET links "
			    "only");
	}
	if (admin_parse_s3_url(a, args->pos[0], bucket, &key) != 0)
		return 1;
	if (admin_public_base(a, &base, &host) != 0)
		goto out;
	if ((rc = admin_load(a)) != 0)
		goto out;
	if (args->credential != NULL) {
		/* not another principal's key, not a link, not one that has ended */
		issuer = model_credential(a->model, args->credential);
		if (issuer == NULL || issuer->link_method != NULL ||
		    strcmp(issuer->principal, args->principal) != 0) {
			rc = admin_fail_kind(a, ADMIN_ERR_NOT_FOUND, "--credential %s: %s has no such "
			    "access key", args->credential, args->principal);
			goto out;
		}
		if (issuer->expires_at != 0 && issuer->expires_at <= a->now) {
			rc = admin_fail_kind(a, ADMIN_ERR_DENIED, "--credential %s has expired",
			    args->credential);
			goto out;
		}
		if (issuer->expires_at != 0 && issuer->expires_at - a->now < secs)
			secs = issuer->expires_at - a->now;
	}

	if (admin_live_links(a, args->principal) >= ADMIN_MAX_LIVE_LINKS) {
		rc = admin_fail(a, "%s has %d links not yet expired, the most one principal may "
		    "have; revoke some (presign list, presign revoke ID) or let them expire",
		    args->principal, ADMIN_MAX_LIVE_LINKS);
		goto out;
	}
	/* the issuer must hold what the link grants, now */
	memset(&op, 0, sizeof(op));
	op.action = strcmp(method, "GET") == 0 ? "GetObject" : "PutObject";
	op.need = strcmp(method, "GET") == 0 ? NEED_READ : NEED_WRITE;
	model_access(a->model, args->principal, bucket, a->now, &acc);
	policy_decide(&acc, &op, bucket, key, a->now, 0, &dec);
	if (!dec.allow) {
		rc = admin_fail_kind(a, ADMIN_ERR_DENIED, "%s", dec.message);
		goto out;
	}

	do {
		admin_keygen(id, secret);
		id[2] = 'L';	/* "SGL" + 17 */
	} while (model_credential(a->model, id) != NULL);
	memset(&c, 0, sizeof(c));
	c.access_key_id = id;
	c.secret = secret;
	c.principal = (char *)args->principal;
	c.expires_at = a->now + (time_t)secs;
	c.link_bucket = bucket;
	c.link_key = (char *)key;
	c.link_method = (char *)method;
	c.link_max_uses = (uint32_t)uses;
	model_add_credential(a->model, &c);
	if (args->credential != NULL)
		model_set_link_issuer(a->model, id, args->credential);

	sbuf_appendc(&path, '/');
	uri_encode(&path, bucket, strlen(bucket), 0);
	sbuf_appendc(&path, '/');
	uri_encode(&path, key, strlen(key), 1);
	sigv4_presign(method, host.data, path.data, NULL, a->now, (long)secs, a->conf->region,
	    id, secret, &query);
	explicit_bzero(secret, sizeof(secret));

	if ((rc = admin_commit(a, ADMIN_CREDENTIALS)) != 0)
		goto out;
	admin_time(c.expires_at, when, sizeof(when));
	sbuf_appendf(&base, "%s?%s", path.data, query.data);
	admin_text(a, "%s", base.data);
	json_object_set_new(a->doc, "url", json_string(base.data));
	json_object_set_new(a->doc, "expires_at", json_string(when));
	json_object_set_new(a->doc, "id", json_string(id));
out:
	explicit_bzero(secret, sizeof(secret));
	sbuf_free(&base);
	sbuf_free(&host);
	sbuf_free(&path);
	sbuf_free(&query);
	return rc;
}

/* presign list [--principal P]: the links not yet expired, by expiry. */
static int
admin_presign_list(struct admin *a, struct admin_args *args)
{
	const struct policy_credential *c;
	json_t *arr;
	char when[32];
	size_t i;
	int rc;

	if (args->npos != 0)
		return admin_fail(a, "usage: presign list [--principal P]");
	if ((rc = admin_load(a)) != 0)
		return rc;
	arr = json_array();
	for (i = 0; i < a->model->ncredentials; i++) {
		c = &a->model->credentials[i];
		if (!admin_link_live(a, c, args->principal))
			continue;
		admin_time(c->expires_at, when, sizeof(when));
		if (c->link_max_uses)
			admin_text(a, "%s %s %s s3://%s/%s until %s max-uses %lu", c->access_key_id,
			    c->principal, c->link_method, c->link_bucket, c->link_key, when,
			    (unsigned long)c->link_max_uses);
		else
			admin_text(a, "%s %s %s s3://%s/%s until %s", c->access_key_id,
			    c->principal, c->link_method, c->link_bucket, c->link_key, when);
		json_array_append_new(arr, admin_link_json(c));
	}
	json_object_set_new(a->doc, "links", arr);
	return 0;
}

/*
 * presign revoke ID [--principal P]: deletes the link's credential, so the
 * next use is InvalidAccessKeyId on every s3gate (the stores' invalidation).
 * With --principal (the self-service API), only P's own links: anything
 * else is "no such link", as for an id that does not exist.
 */
static int
admin_presign_revoke(struct admin *a, struct admin_args *args)
{
	const struct policy_credential *c;
	int rc;

	if (args->npos != 1)
		return admin_fail(a, "usage: presign revoke ID [--principal P]");
	if ((rc = admin_load(a)) != 0)
		return rc;
	c = model_credential(a->model, args->pos[0]);
	if (c == NULL || c->link_method == NULL ||
	    (args->principal != NULL && strcmp(c->principal, args->principal) != 0))
		return admin_fail_kind(a, ADMIN_ERR_NOT_FOUND, "no such link: %s", args->pos[0]);
	if (model_remove_credential(a->model, args->pos[0]) == -1 ||
	    (rc = admin_commit(a, ADMIN_CREDENTIALS)) != 0)
		return rc ? rc : 1;
	admin_text(a, "- link %s", args->pos[0]);
	json_object_set_new(a->doc, "revoked", json_string(args->pos[0]));
	return 0;
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

static int
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

static int	admin_who_retired(struct admin *, const struct model_retired *);

static int
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

/*
 * An https backend's TLS session on the connected FD, the certificate
 * checked as the proxy checks it (backend_ca_file, or the system's CAs;
 * the name of the backend URL); NULL with the reason in ERR.
 */
static SSL *
admin_backend_tls(struct admin *a, int fd, struct sbuf *err)
{
	const struct conf *c = a->conf;
	struct sbuf why = SBUF_INIT;
	SSL_CTX *ctx;
	SSL *ssl = NULL;
	long verify;

	if ((ctx = tls_backend_ctx_new(c, &why)) == NULL) {
		sbuf_appendf(err, "backend %s: TLS: %s", c->backend_url,
		    why.len > 0 ? why.data : "cannot set up");
		sbuf_free(&why);
		return NULL;
	}
	if ((ssl = tls_backend_connect(ctx, fd, c->backend_connect_host)) != NULL &&
	    SSL_connect(ssl) != 1) {
		verify = SSL_get_verify_result(ssl);
		sbuf_appendf(err, "backend %s: TLS handshake failed%s%s", c->backend_url,
		    verify != X509_V_OK ? ": certificate: " : "",
		    verify != X509_V_OK ? X509_verify_cert_error_string(verify) : "");
		SSL_free(ssl);
		ssl = NULL;
	} else if (ssl == NULL)
		sbuf_appendf(err, "backend %s: TLS: out of memory", c->backend_url);
	SSL_CTX_free(ctx);	/* the session holds its own reference */
	return ssl;
}

/*
 * One signed request for PATH (as it goes on the wire: "/" or "/BUCKET")
 * to the backend with an empty body; returns the HTTP status, or -1 with
 * the reason in ERR.  RESP (RESPSZ bytes, NUL-terminated) gets what came:
 * the head, and with WANT_BODY the start of the body.  Blocking, bounded
 * by timeouts: a CLI, not the event loop.  http:// or https:// as the
 * proxy reaches it.
 */
static int
admin_backend_request(struct admin *a, const char *method, const char *path, int want_body,
    char *resp, size_t respsz, struct sbuf *err)
{
	const struct conf *c = a->conf;
	struct upstream u;
	struct timeval tv = { ADMIN_BACKEND_TIMEOUT, 0 };
	struct http_header h[3];
	struct sbuf auth = SBUF_INIT, req = SBUF_INIT;
	unsigned char key[SIGV4_KEY_LEN];
	char amz_date[17], date[9], hash[65];
	const char *region;
	size_t got = 0, off = 0;
	ssize_t n;
	int fd = -1, status = -1, gai, major, minor, i;
	SSL *ssl = NULL;
	time_t started;

	if (c->backend_access_key_id == NULL || c->backend_secret == NULL) {
		sbuf_appendf(err, "no backend_credentials in %s", c->file);
		return -1;
	}
	/* the addresses the proxy dials (backend_addresses, or the URL's host), in order */
	if ((gai = conf_backend_resolve(c, &u)) != 0) {
		sbuf_appendf(err, "backend %s: %s", c->backend_url, gai_strerror(gai));
		return -1;
	}
	for (i = 0; i < u.n; i++) {
		if ((fd = socket(u.addr[i].ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
			continue;
		(void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
		(void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		if (connect(fd, (const struct sockaddr *)&u.addr[i].ss, u.addr[i].len) == 0)
			break;
		close(fd);
		fd = -1;
	}
	if (fd == -1) {
		sbuf_appendf(err, "backend %s unreachable: %s", c->backend_url, strerror(errno));
		return -1;
	}
	if (c->backend_tls && (ssl = admin_backend_tls(a, fd, err)) == NULL) {
		close(fd);
		return -1;
	}

	region = c->backend_region ? c->backend_region : c->region;
	sigv4_format_date(a->now, amz_date);
	memcpy(date, amz_date, 8);
	date[8] = '\0';
	sigv4_sha256_hex("", 0, hash);
	h[0] = (struct http_header){ "host", 4, c->backend_host, strlen(c->backend_host) };
	h[1] = (struct http_header){ "x-amz-content-sha256", 20, hash, 64 };
	h[2] = (struct http_header){ "x-amz-date", 10, amz_date, 16 };
	sigv4_signing_key(c->backend_secret, strlen(c->backend_secret), date, region, "s3", key);
	sigv4_sign(method, path, "", h, 3, hash, amz_date, region, c->backend_access_key_id,
	    key, &auth);
	explicit_bzero(key, sizeof(key));
	sbuf_appendf(&req, "%s %s HTTP/1.1\r\nHost: %s\r\nx-amz-content-sha256: %s\r\n"
	    "x-amz-date: %s\r\nAuthorization: %s\r\nContent-Length: 0\r\n"
	    "Connection: close\r\n\r\n", method, path, c->backend_host, hash, amz_date,
	    auth.data);
	while (off < req.len) {
		if (ssl != NULL)
			n = SSL_write(ssl, req.data + off, (int)(req.len - off)) > 0 ?
			    (ssize_t)(req.len - off) : -1;	/* whole, or failed (no partial writes) */
		else
			n = write(fd, req.data + off, req.len - off);
		if (n == -1) {
			if (errno == EINTR && ssl == NULL)
				continue;
			sbuf_appendf(err, "backend %s: %s", c->backend_url,
			    ssl != NULL ? "TLS write failed" : strerror(errno));
			goto out;
		}
		off += (size_t)n;
	}
	resp[0] = '\0';
	started = time(NULL);
	while (got < respsz - 1 && time(NULL) - started < ADMIN_BACKEND_DEADLINE) {
		if (ssl != NULL)
			n = SSL_read(ssl, resp + got, (int)(respsz - 1 - got));
		else
			n = read(fd, resp + got, respsz - 1 - got);
		if (n == -1 && ssl == NULL && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
		resp[got] = '\0';
		if (!want_body && strstr(resp, "\r\n\r\n") != NULL)
			break;
	}
	resp[got] = '\0';
	if (sscanf(resp, "HTTP/%d.%d %d", &major, &minor, &status) != 3) {
		sbuf_appendf(err, "backend %s: no HTTP answer to %s %s", c->backend_url, method,
		    path);
		status = -1;
	}
out:
	if (ssl != NULL) {
		(void)SSL_shutdown(ssl);
		SSL_free(ssl);
	}
	close(fd);
	sbuf_free(&auth);
	sbuf_free(&req);
	return status;
}

/* admin_backend_request() for /BUCKET, its answer's head only. */
static int
admin_backend_call(struct admin *a, const char *method, const char *bucket, struct sbuf *err)
{
	char path[80], resp[1024];

	snprintf(path, sizeof(path), "/%s", bucket);
	return admin_backend_request(a, method, path, 0, resp, sizeof(resp), err);
}

/*
 * Creates BUCKET on the backend if it lacks it: 1 created here, 0 there and
 * the service's (HEAD 200), ADMIN_BACKEND_TAKEN there and someone else's
 * (HEAD 403, or PUT 409), -1 another error; ERR says why for the last two.
 * HEAD and PUT run under the store's lock, so no other s3gate command on
 * this store creates the bucket between them; something else using the
 * service credentials could (a PUT of a bucket the service already owns
 * may answer 200): nothing here can tell that apart.
 */
#define ADMIN_BACKEND_TAKEN	(-2)
static int
admin_backend_ensure(struct admin *a, const char *bucket, struct sbuf *err)
{
	int st;

	if ((st = admin_backend_call(a, "HEAD", bucket, err)) == -1)
		return -1;
	if (st == 200)
		return 0;
	if (st == 403) {
		sbuf_appendf(err, "HEAD /%s answered 403: the bucket exists and belongs to "
		    "someone else", bucket);
		return ADMIN_BACKEND_TAKEN;
	}
	if (st != 404) {
		sbuf_appendf(err, "HEAD /%s answered %d", bucket, st);
		return -1;
	}
	if ((st = admin_backend_call(a, "PUT", bucket, err)) == -1)
		return -1;
	if (st == 409) {
		sbuf_appendf(err, "PUT /%s answered 409: the bucket was created meanwhile", bucket);
		return ADMIN_BACKEND_TAKEN;
	}
	if (st != 200) {
		sbuf_appendf(err, "PUT /%s answered %d", bucket, st);
		return -1;
	}
	return 1;
}

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

static int
admin_ws_name_cmp(const void *x, const void *y)
{
	return strcmp((*(const struct model_workspace *const *)x)->name,
	    (*(const struct model_workspace *const *)y)->name);
}

/*
 * Whether WS (owned by PRINCIPAL) may list BUCKET, whose retired record
 * is R: only the workspace that held it, under the same owner.
 */
static int
admin_retired_allows(const struct model_retired *r, const char *ws, const char *principal)
{
	return r == NULL || (strcmp(r->workspace, ws) == 0 && strcmp(r->principal, principal) == 0);
}

/* Appends to WHY how R (held by WS, owned by PRINCIPAL) was retired and how to hand it over. */
static void
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
static int
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
static int
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
static int
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
static int
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

static int
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

/* ---- main ------------------------------------------------------------------ */

/* ---- check ---------------------------------------------------------------- */

/*
 * What an operator asks before trusting a deployment, each checked live:
 * the policy store loads, the backend takes the service credentials (a
 * signed ListBuckets), the two clocks agree within the 15 minutes
 * signatures allow, and the TLS certificates are not about to expire.
 * s3gate -t checks the configuration's text; this checks the world it
 * names.  A wrong service secret otherwise shows first as every client's
 * 502.
 */
enum admin_check_level { ADMIN_CHECK_OK, ADMIN_CHECK_WARN, ADMIN_CHECK_FAIL };

#define ADMIN_CHECK_SKEW_WARN	60		/* seconds */
#define ADMIN_CHECK_SKEW_FAIL	(15 * 60)	/* SigV4's allowance: beyond it every request fails */
#define ADMIN_CHECK_CERT_DAYS	14

struct admin_check {
	json_t	*results;
	int	 count[3];
};

static void
admin_check_report(struct admin *a, struct admin_check *ck, enum admin_check_level level,
    const char *what, const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* One line of the report, "ok   WHAT: DETAIL" (warn, FAIL), and its JSON object. */
static void
admin_check_report(struct admin *a, struct admin_check *ck, enum admin_check_level level,
    const char *what, const char *fmt, ...)
{
	static const char *const shown[] = { "ok  ", "warn", "FAIL" };
	static const char *const word[] = { "ok", "warn", "fail" };
	struct sbuf detail = SBUF_INIT;
	va_list ap;

	va_start(ap, fmt);
	sbuf_vappendf(&detail, fmt, ap);
	va_end(ap);
	admin_text(a, "%s %s: %s", shown[level], what, detail.data);
	json_array_append_new(ck->results, json_pack("{s:s,s:s,s:s}", "check", what,
	    "result", word[level], "detail", detail.data));
	ck->count[level]++;
	sbuf_free(&detail);
}

static void
admin_check_store(struct admin *a, struct admin_check *ck)
{
	const struct model *m;

	if (admin_load(a) != 0) {
		admin_check_report(a, ck, ADMIN_CHECK_FAIL, "policy store",
		    "does not load (the reason is above)");
		return;
	}
	m = a->model;
	admin_check_report(a, ck, ADMIN_CHECK_OK, "policy store", "%s: %zu workspaces, "
	    "%zu buckets, %zu grants, %zu requests, %zu credentials",
	    a->conf->store_kind == CONF_STORE_REDIS ? "redis" : a->dir, m->nworkspaces,
	    m->nbuckets, m->ngrants, m->nrequests, m->ncredentials);
}

/* The Date header of the head in RESP, or -1. */
static time_t
admin_check_date(const char *resp)
{
	const char *p = resp, *end = strstr(resp, "\r\n\r\n");
	struct tm tm;

	while ((p = strstr(p, "\r\n")) != NULL && (end == NULL || p < end)) {
		p += 2;
		if (strncasecmp(p, "date:", 5) != 0)
			continue;
		for (p += 5; *p == ' ' || *p == '\t'; p++)
			;
		memset(&tm, 0, sizeof(tm));
		if (strptime(p, "%a, %d %b %Y %H:%M:%S GMT", &tm) == NULL)
			return -1;
		return timegm(&tm);
	}
	return -1;
}

static void
admin_check_backend(struct admin *a, struct admin_check *ck)
{
	const struct conf *c = a->conf;
	struct sbuf err = SBUF_INIT;
	char resp[4096], code[ERRBODY_CODE_MAX] = "";
	const char *body;
	time_t date;
	long long skew;
	int status;

	status = admin_backend_request(a, "GET", "/", 1, resp, sizeof(resp), &err);
	if (status == -1) {
		admin_check_report(a, ck, ADMIN_CHECK_FAIL, "backend", "%s", err.data);
		sbuf_free(&err);
		return;
	}
	sbuf_free(&err);
	if (status == 200)
		admin_check_report(a, ck, ADMIN_CHECK_OK, "backend", "%s takes the service "
		    "credentials (a signed ListBuckets: 200)", c->backend_url);
	else {
		/* the code only: a body may echo the key id (errbody.h) */
		if ((body = strstr(resp, "\r\n\r\n")) != NULL)
			(void)errbody_judge(body + 4, strlen(body + 4), c->backend_access_key_id,
			    c->backend_secret, code);
		admin_check_report(a, ck, ADMIN_CHECK_FAIL, "backend", "%s refuses the service "
		    "credentials (a signed ListBuckets: %d %s): check backend_credentials (the key "
		    "id and its secret) and region in %s", c->backend_url, status,
		    code[0] ? code : "-", c->file);
	}
	if ((date = admin_check_date(resp)) == -1) {
		admin_check_report(a, ck, ADMIN_CHECK_WARN, "clock", "the backend's answer has no "
		    "Date to compare s3gate's clock with");
		return;
	}
	skew = (long long)(time(NULL) - date);
	admin_check_report(a, ck, llabs(skew) >= ADMIN_CHECK_SKEW_FAIL ? ADMIN_CHECK_FAIL :
	    llabs(skew) >= ADMIN_CHECK_SKEW_WARN ? ADMIN_CHECK_WARN : ADMIN_CHECK_OK, "clock",
	    "this host's clock is %lld s %s the backend's%s", llabs(skew),
	    skew >= 0 ? "ahead of" : "behind", llabs(skew) >= ADMIN_CHECK_SKEW_WARN ?
	    " (signatures are refused beyond 15 min): run NTP on both" : "");
}

static void
admin_check_certificates(struct admin *a, struct admin_check *ck)
{
	const struct conf *c = a->conf;
	char what[64], until[32];
	struct tm tm;
	int i, days, secs;

	for (i = 0; i < c->ncerts; i++) {
		const char *file = c->certs[i].cert_file;
		FILE *f = fopen(file, "r");
		X509 *x = f != NULL ? PEM_read_X509(f, NULL, NULL, NULL) : NULL;

		if (f != NULL)
			fclose(f);
		snprintf(what, sizeof(what), "certificate %d", i + 1);
		if (x == NULL || ASN1_TIME_diff(&days, &secs, NULL, X509_get0_notAfter(x)) != 1 ||
		    ASN1_TIME_to_tm(X509_get0_notAfter(x), &tm) != 1) {
			admin_check_report(a, ck, ADMIN_CHECK_FAIL, what, "%s (%s): not a PEM "
			    "certificate s3gate can read", file, c->certs[i].where);
			X509_free(x);
			continue;
		}
		strftime(until, sizeof(until), "%Y-%m-%d %H:%M UTC", &tm);
		if (days < 0 || secs < 0)
			admin_check_report(a, ck, ADMIN_CHECK_FAIL, what, "%s expired on %s: clients "
			    "refuse it; renew it and reload", file, until);
		else
			admin_check_report(a, ck, days < ADMIN_CHECK_CERT_DAYS ? ADMIN_CHECK_WARN :
			    ADMIN_CHECK_OK, what, "%s is valid until %s (%d days)%s", file, until, days,
			    days < ADMIN_CHECK_CERT_DAYS ? ": renew it soon" : "");
		X509_free(x);
	}
}

static int
admin_check(struct admin *a, struct admin_args *args)
{
	struct admin_check ck = { json_array(), { 0, 0, 0 } };

	if (args->npos != 0) {
		json_decref(ck.results);
		return admin_fail(a, "usage: check");
	}
	admin_check_report(a, &ck, ADMIN_CHECK_OK, "configuration", "%s loads", a->conf->file);
	admin_check_store(a, &ck);
	admin_check_backend(a, &ck);
	admin_check_certificates(a, &ck);
	admin_text(a, "%d ok, %d warnings, %d failed", ck.count[ADMIN_CHECK_OK],
	    ck.count[ADMIN_CHECK_WARN], ck.count[ADMIN_CHECK_FAIL]);
	json_object_set_new(a->doc, "checks", ck.results);
	return ck.count[ADMIN_CHECK_FAIL] > 0 ? 1 : 0;
}

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
