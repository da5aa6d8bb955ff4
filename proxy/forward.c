#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "proxy/forward.h"

/*
 * Query parameters of presigned (query) authentication, SigV4's and SigV2's:
 * the client's, never forwarded (action.c accepts these names only as auth
 * parameters, so nothing else is lost).
 */
static const char *const forward_auth_params[] = {
	"X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Date", "X-Amz-Expires",
	"X-Amz-SignedHeaders", "X-Amz-Signature", "X-Amz-Security-Token",
	"AWSAccessKeyId", "Signature", "Expires", "x-amz-security-token",
	NULL
};

static int
forward_name_is(const char *name, size_t len, const char *want)
{
	return strlen(want) == len && strncasecmp(name, want, len) == 0;
}

/* A header name with its length: the lists below are scanned for every header. */
struct forward_name {
	const char	*name;
	size_t		 len;
};
#define FORWARD_NAME(s)	{ s, sizeof(s) - 1 }

static int
forward_name_listed(const char *name, size_t len, const struct forward_name *list, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (list[i].len == len && strncasecmp(name, list[i].name, len) == 0)
			return 1;
	return 0;
}

/* Headers that describe an aws-chunked encoding s3gate removed. */
static int
forward_chunked_header(const struct http_header *h)
{
	return forward_name_is(h->name, h->name_len, "content-length") ||
	    forward_name_is(h->name, h->name_len, "x-amz-decoded-content-length") ||
	    forward_name_is(h->name, h->name_len, "x-amz-trailer") ||
	    (forward_name_is(h->name, h->name_len, "content-encoding") &&
	    h->value_len == 11 && strncasecmp(h->value, "aws-chunked", 11) == 0);
}

int
forward_header_dropped(const char *name, size_t len)
{
	static const struct forward_name dropped[] = {
		FORWARD_NAME("host"), FORWARD_NAME("authorization"), FORWARD_NAME("x-amz-date"),
		FORWARD_NAME("x-amz-security-token"), FORWARD_NAME("x-amz-content-sha256"),
		FORWARD_NAME("connection"), FORWARD_NAME("keep-alive"),
		FORWARD_NAME("proxy-connection"), FORWARD_NAME("proxy-authorization"),
		FORWARD_NAME("te"), FORWARD_NAME("trailer"), FORWARD_NAME("upgrade"),
		FORWARD_NAME("transfer-encoding"),
	};

	return forward_name_listed(name, len, dropped, sizeof(dropped) / sizeof(dropped[0]));
}

int
forward_response_header_dropped(const struct http_header *h, const struct http_header *conn, int status)
{
	const char *name = h->name, *value = h->value;
	size_t len = h->name_len, value_len = h->value_len;
	static const struct forward_name dropped[] = {
		FORWARD_NAME("connection"), FORWARD_NAME("keep-alive"),
		FORWARD_NAME("proxy-connection"), FORWARD_NAME("te"), FORWARD_NAME("upgrade"),
	};

	/*
	 * Ceph RGW's own headers speak of the backend, not of what the caller
	 * was granted: HeadBucket's X-RGW-Object-Count and X-RGW-Bytes-Used
	 * count the whole bucket (a grantee of a prefix saw every object
	 * outside it come and go, and its size), X-RGW-Quota-* are the service
	 * account's quotas.  No S3 client reads them.
	 */
	if (len >= 6 && strncasecmp(name, "x-rgw-", 6) == 0)
		return 1;
	/*
	 * Headers the backend's own Connection header names are for its hop
	 * alone (RFC 9110 7.6.1), but for the framing, which s3gate relays as
	 * the backend framed the answer.  A 204 carries neither framing header
	 * (RFC 9110 8.6, RFC 9112 6.1): it has no body, whatever a backend
	 * says, and s3gate sends none after it.
	 */
	if (forward_name_is(name, len, "content-length") ||
	    forward_name_is(name, len, "transfer-encoding"))
		return status == 204;
	if (httpmsg_connection_lists(conn, name, len))
		return 1;
	/*
	 * A Location that names a host is the backend's: its address on the
	 * operator's network (a redirect to another zonegroup's endpoint, a
	 * created bucket's URL), which clients would follow around s3gate.
	 * A path (CreateBucket's "/bucket") is the same behind s3gate: only
	 * a value that begins with one '/' goes on ("//host/..." names one).
	 */
	if (forward_name_is(name, len, "location") &&
	    !(value_len >= 1 && value[0] == '/' && (value_len == 1 || value[1] != '/')))
		return 1;
	return forward_name_listed(name, len, dropped, sizeof(dropped) / sizeof(dropped[0]));
}

const struct http_header *
forward_response_connection(const struct http_head *r)
{
	const struct http_header *conn = httpmsg_header_find(r, "connection");
	const char *p, *tok;
	size_t len;

	if (conn == NULL)
		return NULL;
	for (p = conn->value; (tok = httpmsg_list_next(&p, conn->value + conn->value_len, &len)) != NULL; )
		if (!forward_name_is(tok, len, "keep-alive") && !forward_name_is(tok, len, "close"))
			return conn;
	return NULL;
}

struct forward_signed {
	char	*name;		/* lower-case */
	char	*value;		/* trimmed; repeated headers joined with ',' */
};

static int
forward_signed_cmp(const void *a, const void *b)
{
	return strcmp(((const struct forward_signed *)a)->name, ((const struct forward_signed *)b)->name);
}

/*
 * Every x-amz-* header that is forwarded is signed too: S3 (and OBS) refuse
 * a request carrying an unsigned x-amz-* header, and signing them means
 * nothing between s3gate and the backend can change them.
 */
static size_t
forward_collect_signed(const struct http_head *h, const struct http_header *conn, int decoded,
    struct forward_signed *out, size_t max)
{
	size_t i, j, n = 0;

	for (i = 0; i < h->nheaders; i++) {
		const struct http_header *hd = &h->headers[i];
		const char *v = hd->value, *ve = hd->value + hd->value_len;
		struct sbuf name = SBUF_INIT;

		if (hd->name_len < 6 || strncasecmp(hd->name, "x-amz-", 6) != 0 ||
		    forward_header_dropped(hd->name, hd->name_len) ||
		    (decoded && forward_chunked_header(hd)) ||
		    httpmsg_connection_lists(conn, hd->name, hd->name_len))
			continue;
		for (j = 0; j < hd->name_len; j++)
			sbuf_appendc(&name, (char)tolower((unsigned char)hd->name[j]));
		while (v < ve && (*v == ' ' || *v == '\t'))
			v++;
		while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t'))
			ve--;
		for (j = 0; j < n; j++) {
			if (strcmp(out[j].name, name.data) == 0) {
				struct sbuf joined = SBUF_INIT;
				sbuf_appends(&joined, out[j].value);
				sbuf_appendc(&joined, ',');
				sbuf_append(&joined, v, (size_t)(ve - v));
				free(out[j].value);
				out[j].value = sbuf_steal(&joined);
				break;
			}
		}
		if (j < n || n == max) {
			sbuf_free(&name);
			continue;
		}
		out[n].name = sbuf_steal(&name);
		{
			/* SigV4 canonical value: inner runs of blanks squeezed to one space */
			struct sbuf val = SBUF_INIT;
			for (; v < ve; v++) {
				if ((*v == ' ' || *v == '\t') && val.len > 0 &&
				    val.data[val.len - 1] == ' ')
					continue;
				sbuf_appendc(&val, *v == '\t' ? ' ' : *v);
			}
			if (val.data == NULL)
				sbuf_reserve(&val, 0);
			out[n].value = sbuf_steal(&val);
		}
		n++;
	}
	qsort(out, n, sizeof(out[0]), forward_signed_cmp);
	return n;
}

void
forward_scratch_free(struct forward_scratch *s)
{
	sbuf_free(&s->path);
	sbuf_free(&s->query);
	sbuf_free(&s->auth);
}

int
forward_build_head(struct sbuf *out, const char *method, const struct s3addr *addr,
    const struct query_list *query, const struct http_head *h,
    const char *payload_hash, const struct forward_target *t, time_t now)
{
	struct forward_scratch own = { SBUF_INIT, SBUF_INIT, SBUF_INIT };
	struct forward_scratch *s = t->scratch != NULL ? t->scratch : &own;
	const struct http_header *conn;
	struct forward_signed amz[HTTP_MAX_HEADERS];
	struct http_header signed_hdrs[HTTP_MAX_HEADERS + 3];
	char amz_date[17];
	size_t i, namz, ns = 0;

	s3addr_backend_path(addr, &s->path);
	query_canonical(&s->query, query, forward_auth_params);
	sigv4_format_date(now, amz_date);
	if (t->decoded)
		payload_hash = SIGV4_UNSIGNED_PAYLOAD;	/* s3gate verified the chunks itself */
	conn = httpmsg_header_find(h, "connection");
	namz = forward_collect_signed(h, conn, t->decoded, amz, HTTP_MAX_HEADERS);

	/* sorted by name: host, then x-amz-* (ours and the client's) in order */
	signed_hdrs[ns++] = (struct http_header){ "host", 4, t->host, strlen(t->host) };
	for (i = 0; i <= namz; i++) {
		/* x-amz-content-sha256 and x-amz-date slot in at their sorted places */
		if (i == namz || strcmp(amz[i].name, "x-amz-content-sha256") > 0) {
			if (ns == 1 || strcmp(signed_hdrs[ns - 1].name, "x-amz-content-sha256") < 0) {
				signed_hdrs[ns++] = (struct http_header){ "x-amz-content-sha256", 20,
				    payload_hash, strlen(payload_hash) };
			}
		}
		if (i == namz || strcmp(amz[i].name, "x-amz-date") > 0) {
			if (strcmp(signed_hdrs[ns - 1].name, "x-amz-date") < 0)
				signed_hdrs[ns++] = (struct http_header){ "x-amz-date", 10, amz_date, 16 };
		}
		if (i < namz)
			signed_hdrs[ns++] = (struct http_header){ amz[i].name, strlen(amz[i].name),
			    amz[i].value, strlen(amz[i].value) };
	}
	sigv4_sign(method, s->path.data, s->query.data, signed_hdrs, ns, payload_hash,
	    amz_date, t->region, t->access_key_id, t->signing_key, &s->auth);

	sbuf_appends(out, method);
	sbuf_appendc(out, ' ');
	sbuf_append(out, s->path.data, s->path.len);
	if (s->query.len > 0) {
		sbuf_appendc(out, '?');
		sbuf_append(out, s->query.data, s->query.len);
	}
	sbuf_appends(out, " HTTP/1.1\r\nHost: ");
	sbuf_appends(out, t->host);
	sbuf_appends(out, "\r\n");
	for (i = 0; i < h->nheaders; i++) {
		const struct http_header *hd = &h->headers[i];
		if (forward_header_dropped(hd->name, hd->name_len) ||
		    forward_name_is(hd->name, hd->name_len, "content-length") ||
		    httpmsg_connection_lists(conn, hd->name, hd->name_len) ||
		    (t->decoded && forward_chunked_header(hd)))
			continue;
		sbuf_append(out, hd->name, hd->name_len);
		sbuf_appends(out, ": ");
		sbuf_append(out, hd->value, hd->value_len);
		sbuf_appends(out, "\r\n");
	}
	if (t->decoded || t->has_length) {
		sbuf_appends(out, "Content-Length: ");
		sbuf_append_u64(out, t->decoded ? t->decoded_length : t->length);
		sbuf_appends(out, "\r\n");
	}
	sbuf_appends(out, "x-amz-content-sha256: ");
	sbuf_appends(out, payload_hash);
	sbuf_appends(out, "\r\nx-amz-date: ");
	sbuf_appends(out, amz_date);
	sbuf_appends(out, "\r\nAuthorization: ");
	sbuf_append(out, s->auth.data, s->auth.len);
	sbuf_appends(out, "\r\n\r\n");
	for (i = 0; i < namz; i++) {
		free(amz[i].name);
		free(amz[i].value);
	}
	sbuf_wipe(&s->path);
	sbuf_wipe(&s->query);
	sbuf_wipe(&s->auth);
	if (s == &own)
		forward_scratch_free(&own);
	return 0;
}
