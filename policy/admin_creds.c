/*
 * admin_creds: cred create, list and delete -- a principal's access keys
 * (admin.c's rules hold here; admin_int.h).
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <openssl/rand.h>

#include "policy/admin.h"
#include "policy/admin_int.h"
#include "policy/model.h"
#include "policy/storage.h"

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

int
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

int
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
int
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
