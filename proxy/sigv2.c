#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "proxy/sigv2.h"
#include "proxy/uri.h"

#define SIGV2_MAX_AHEAD	(7 * 24 * 3600)

/* Sub-resources that are part of the V2 canonical resource, sorted. */
static const char *const sigv2_subresources[] = {
	"acl", "cors", "delete", "lifecycle", "location", "logging", "notification",
	"partNumber", "policy", "requestPayment", "response-cache-control",
	"response-content-disposition", "response-content-encoding",
	"response-content-language", "response-content-type", "response-expires",
	"restore", "tagging", "torrent", "uploadId", "uploads", "versionId",
	"versioning", "versions", "website", NULL
};

/*
 * Every other query parameter is unsigned in V2, so a V2 request may carry
 * only a few more.  A presigned link, which its holder may edit: its own
 * authentication, nothing else -- else a link to GET one object could be
 * turned into ?retention, ?legal-hold or ?attributes, or a listing link
 * into one of another prefix or kind (list-type).  aws-cli v1's and
 * boto3's V2 links carry only these and signed sub-resources.
 */
static const char *const sigv2_query_auth[] = {
	"AWSAccessKeyId", "Expires", "Signature", "x-amz-security-token", NULL
};

/*
 * A request signed in the Authorization header is its signer's own (it
 * can be replayed for 15 minutes, not edited into another operation):
 * the listing parameters V2 clients send unsigned too -- aws-cli v1 and
 * boto3 with signature_version s3 list with list-type=2, s3cmd with
 * signature_v2 with prefix, delimiter and marker.  list-type changes
 * ListObjects into ListObjectsV2, the same listing.
 */
static const char *const sigv2_query_listing[] = {
	"continuation-token", "delimiter", "encoding-type", "fetch-owner", "key-marker",
	"list-type", "marker", "max-keys", "max-parts", "max-uploads", "part-number-marker",
	"prefix", "start-after", "upload-id-marker", "version-id-marker", NULL
};

const char *
sigv2_status_str(enum sigv2_status st)
{
	switch (st) {
	case SIGV2_OK: return "OK";
	case SIGV2_NONE: return "No Signature Version 2 authentication.";
	case SIGV2_MALFORMED: return "The Signature Version 2 authentication is malformed.";
	case SIGV2_EXPIRED: return "Request has expired.";
	case SIGV2_EXPIRES_TOO_LONG: return "Expires is more than 7 days ahead.";
	case SIGV2_SKEWED: return "The difference between the request time and the current time is too large.";
	case SIGV2_MISMATCH: return "The request signature we calculated does not match the signature you provided.";
	case SIGV2_UNSIGNED_PARAM: return "This request carries query parameters that Signature Version 2 "
	    "does not sign (a presigned link may carry only its signed sub-resources, such as "
	    "versionId and response-*; other V2 requests listing parameters as well); sign with "
	    "AWS4-HMAC-SHA256 (SigV4).";
	}
	return "?";
}

static const struct http_header *
sigv2_header(const struct sigv4_request *r, const char *name)
{
	size_t i, n = strlen(name);

	for (i = 0; i < r->nheaders; i++)
		if (r->headers[i].name_len == n && strncasecmp(r->headers[i].name, name, n) == 0)
			return &r->headers[i];
	return NULL;
}

static int
sigv2_listed(const char *const *list, const char *name)
{
	for (; *list != NULL; list++)
		if (strcmp(*list, name) == 0)
			return 1;
	return 0;
}

/* Whether every parameter of R's query is one a V2 request (PRESIGNED or not) may carry. */
static enum sigv2_status
sigv2_check_query(const struct sigv4_request *r, int presigned)
{
	struct query_list own = { NULL, 0, 0, 0 };
	const struct query_list *q = r->parsed_query;
	enum sigv2_status st = SIGV2_OK;
	const char *name;
	size_t i;

	if (q == NULL) {
		if (r->query == NULL)
			return SIGV2_OK;
		if (query_parse(r->query, r->query_len, SIGV4_MAX_QUERY_PARAMS, &own) == -1)
			return SIGV2_MALFORMED;
		q = &own;
	}
	for (i = 0; i < q->count && st == SIGV2_OK; i++) {
		name = q->params[i].name;
		if (!sigv2_listed(sigv2_subresources, name) &&
		    !sigv2_listed(presigned ? sigv2_query_auth : sigv2_query_listing, name))
			st = SIGV2_UNSIGNED_PARAM;
	}
	query_free(&own);
	return st;
}

static int
sigv2_b64_decode(const char *in, size_t len, unsigned char out[20])
{
	unsigned char buf[64];
	int n;

	if (len != 28 || in[27] != '=')
		return -1;
	n = EVP_DecodeBlock(buf, (const unsigned char *)in, (int)len);
	if (n != 21)	/* 28 chars decode to 21 bytes, the last one padding */
		return -1;
	memcpy(out, buf, 20);
	return 0;
}

enum sigv2_status
sigv2_parse(const struct sigv4_request *r, struct sigv2_auth *a)
{
	const struct http_header *h;
	struct query_list q = { NULL, 0, 0, 0 };
	const struct query_param *p;
	char *end;

	memset(a, 0, sizeof(*a));
	if ((h = sigv2_header(r, "authorization")) != NULL) {
		const char *colon, *v = h->value;
		size_t vl = h->value_len;
		if (vl < 4 || strncmp(v, "AWS ", 4) != 0)
			return SIGV2_NONE;
		v += 4;
		vl -= 4;
		if ((colon = memchr(v, ':', vl)) == NULL || colon == v ||
		    (size_t)(colon - v) >= sizeof(a->access_key_id))
			return SIGV2_MALFORMED;
		memcpy(a->access_key_id, v, (size_t)(colon - v));
		if (sigv2_b64_decode(colon + 1, vl - (size_t)(colon - v) - 1, a->signature) == -1)
			return SIGV2_MALFORMED;
		if ((h = sigv2_header(r, "x-amz-security-token")) != NULL) {
			a->security_token = h->value;
			a->security_token_len = h->value_len;
		}
		/* the date: x-amz-date if present, else Date */
		if ((h = sigv2_header(r, "x-amz-date")) == NULL)
			h = sigv2_header(r, "date");
		if (h != NULL) {
			char date[64];
			struct tm tm;
			memset(&tm, 0, sizeof(tm));
			snprintf(date, sizeof(date), "%.*s", (int)h->value_len, h->value);
			if (strptime(date, "%a, %d %b %Y %H:%M:%S GMT", &tm) != NULL)
				a->date = timegm(&tm);
		}
		if (a->date == 0)
			return SIGV2_MALFORMED;
		return sigv2_check_query(r, 0);
	}
	if (r->query == NULL || query_parse(r->query, r->query_len, SIGV4_MAX_QUERY_PARAMS, &q) == -1)
		return SIGV2_NONE;
	if (query_find(&q, "AWSAccessKeyId") == NULL || query_find(&q, "Signature") == NULL) {
		query_free(&q);
		return SIGV2_NONE;
	}
	a->presigned = 1;
	p = query_find(&q, "AWSAccessKeyId");
	if (strlen(p->value) == 0 || strlen(p->value) >= sizeof(a->access_key_id))
		goto malformed;
	strcpy(a->access_key_id, p->value);
	p = query_find(&q, "Signature");
	if (sigv2_b64_decode(p->value, strlen(p->value), a->signature) == -1)
		goto malformed;
	if ((p = query_find(&q, "Expires")) == NULL || !isdigit((unsigned char)p->value[0]))
		goto malformed;
	a->expires = (time_t)strtoll(p->value, &end, 10);
	if (*end != '\0')
		goto malformed;
	query_free(&q);
	/* the token, still encoded, from the raw query */
	{
		const char *t = r->query, *qe = r->query + r->query_len;
		while (t < qe) {
			const char *amp = memchr(t, '&', (size_t)(qe - t));
			const char *seg_end = amp ? amp : qe;
			if ((size_t)(seg_end - t) > 21 && strncmp(t, "x-amz-security-token=", 21) == 0) {
				a->security_token = t + 21;
				a->security_token_len = (size_t)(seg_end - t - 21);
				a->security_token_encoded = 1;
			}
			t = amp ? amp + 1 : qe;
		}
	}
	return sigv2_check_query(r, 1);
malformed:
	query_free(&q);
	return SIGV2_MALFORMED;
}

enum sigv2_status
sigv2_check(const struct sigv2_auth *a, time_t now)
{
	if (a->presigned) {
		if (a->expires < now)
			return SIGV2_EXPIRED;
		if (a->expires - now > SIGV2_MAX_AHEAD)
			return SIGV2_EXPIRES_TOO_LONG;
		return SIGV2_OK;
	}
	if (a->date > now + SIGV4_MAX_SKEW || a->date < now - SIGV4_MAX_SKEW)
		return SIGV2_SKEWED;
	return SIGV2_OK;
}

static int
sigv2_cmp_header(const void *x, const void *y)
{
	return strcmp(*(char *const *)x, *(char *const *)y);
}

void
sigv2_string_to_sign(const struct sigv4_request *r, const struct sigv2_auth *a,
    const char *vhost_bucket, struct sbuf *out)
{
	const struct http_header *h;
	struct query_list q = { NULL, 0, 0, 0 };
	char *amz[HTTP_MAX_HEADERS];
	size_t namz = 0, i, j;
	int first = 1;

	sbuf_append(out, r->method, r->method_len);
	sbuf_appendc(out, '\n');
	if ((h = sigv2_header(r, "content-md5")) != NULL)
		sbuf_append(out, h->value, h->value_len);
	sbuf_appendc(out, '\n');
	if ((h = sigv2_header(r, "content-type")) != NULL)
		sbuf_append(out, h->value, h->value_len);
	sbuf_appendc(out, '\n');
	if (a->presigned)
		sbuf_appendf(out, "%lld", (long long)a->expires);
	else if (sigv2_header(r, "x-amz-date") == NULL && (h = sigv2_header(r, "date")) != NULL)
		sbuf_append(out, h->value, h->value_len);
	sbuf_appendc(out, '\n');

	/* x-amz-* headers: lower-case names, sorted, repeated ones joined */
	for (i = 0; i < r->nheaders && namz < HTTP_MAX_HEADERS; i++) {
		const struct http_header *x = &r->headers[i];
		struct sbuf line = SBUF_INIT;
		if (x->name_len < 6 || strncasecmp(x->name, "x-amz-", 6) != 0)
			continue;
		for (j = 0; j < x->name_len; j++)
			sbuf_appendc(&line, (char)tolower((unsigned char)x->name[j]));
		sbuf_appendc(&line, ':');
		{
			const char *v = x->value, *ve = x->value + x->value_len;
			while (v < ve && (*v == ' ' || *v == '\t'))
				v++;
			while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t'))
				ve--;
			sbuf_append(&line, v, (size_t)(ve - v));
		}
		amz[namz++] = sbuf_steal(&line);
	}
	qsort(amz, namz, sizeof(amz[0]), sigv2_cmp_header);
	for (i = 0; i < namz; i++) {
		size_t nl = strcspn(amz[i], ":");
		if (i > 0 && strncmp(amz[i - 1], amz[i], nl + 1) == 0) {
			/* same name as the previous line: join the values */
			out->len--;	/* drop the '\n' */
			sbuf_appendc(out, ',');
			sbuf_appends(out, amz[i] + nl + 1);
		} else
			sbuf_appends(out, amz[i]);
		sbuf_appendc(out, '\n');
	}
	for (i = 0; i < namz; i++)
		free(amz[i]);

	if (vhost_bucket != NULL) {
		sbuf_appendc(out, '/');
		sbuf_appends(out, vhost_bucket);
	}
	sbuf_append(out, r->path, r->path_len);
	/* a bucket-level resource is "/bucket/" (what S3 and botocore sign) */
	if (vhost_bucket == NULL && r->path_len > 1 && memchr(r->path + 1, '/', r->path_len - 1) == NULL)
		sbuf_appendc(out, '/');
	if (r->query != NULL && query_parse(r->query, r->query_len, SIGV4_MAX_QUERY_PARAMS, &q) == 0) {
		for (i = 0; sigv2_subresources[i] != NULL; i++) {
			const struct query_param *p = query_find(&q, sigv2_subresources[i]);
			if (p == NULL)
				continue;
			sbuf_appendc(out, first ? '?' : '&');
			first = 0;
			sbuf_appends(out, p->name);
			if (p->has_value) {
				sbuf_appendc(out, '=');
				sbuf_appends(out, p->value);
			}
		}
	}
	query_free(&q);
}

enum sigv2_status
sigv2_verify(const struct sigv4_request *r, const struct sigv2_auth *a, const char *vhost_bucket,
    const char *secret)
{
	struct sbuf sts = SBUF_INIT;
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned int maclen = 0;
	int ok;

	sigv2_string_to_sign(r, a, vhost_bucket, &sts);
	HMAC(EVP_sha1(), secret, (int)strlen(secret), (const unsigned char *)sts.data, sts.len,
	    mac, &maclen);
	sbuf_free(&sts);
	ok = maclen == 20 && sigv4_ct_compare(mac, a->signature, 20) == 0;
	explicit_bzero(mac, sizeof(mac));
	return ok ? SIGV2_OK : SIGV2_MISMATCH;
}
