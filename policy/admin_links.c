/*
 * admin_links: presign -- links (credentials scoped to one object and
 * method) issued, listed and revoked (admin.c's rules hold here;
 * admin_int.h).
 */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "policy/admin.h"
#include "policy/admin_int.h"
#include "policy/model.h"
#include "policy/storage.h"
#include "proxy/sigv4.h"

#define ADMIN_LINK_DEFAULT_EXPIRES 3600	/* seconds: presign without --expires */
/*
 * Links one principal may have alive at once.  Each is a credential in the
 * policy store (the file store is rewritten for every new one), and a
 * budgeted one takes a slot of the workers' shared link table
 * (QUOTASHM_LINKS, 65 536): unbounded, one user could mint them by the
 * thousand through POST /_s3gate/presign and fill it for everyone.
 */
#define ADMIN_MAX_LIVE_LINKS	1000
/* --max-uses bound: N x 5 TiB (S3's largest object) stays within 64 bits */
#define ADMIN_LINK_MAX_USES	1000000

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
int
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
int
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
int
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
