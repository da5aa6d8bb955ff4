#include <string.h>
#include <strings.h>

#include "proxy/forward.h"

/* Query parameters of presigned (query) authentication. */
static const char *const forward_auth_params[] = {
	"X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Date", "X-Amz-Expires",
	"X-Amz-SignedHeaders", "X-Amz-Signature", "X-Amz-Security-Token",
	NULL
};

static int
forward_name_is(const char *name, size_t len, const char *want)
{
	return strlen(want) == len && strncasecmp(name, want, len) == 0;
}

int
forward_header_dropped(const char *name, size_t len)
{
	static const char *const dropped[] = {
		"host", "authorization", "x-amz-date", "x-amz-security-token",
		"x-amz-content-sha256", "connection", "keep-alive", "proxy-connection",
		"proxy-authorization", "te", "trailer", "upgrade", "transfer-encoding",
		NULL
	};
	size_t i;

	for (i = 0; dropped[i] != NULL; i++)
		if (forward_name_is(name, len, dropped[i]))
			return 1;
	return 0;
}

int
forward_response_header_dropped(const char *name, size_t len)
{
	static const char *const dropped[] = {
		"connection", "keep-alive", "proxy-connection", "te", "upgrade", NULL
	};
	size_t i;

	for (i = 0; dropped[i] != NULL; i++)
		if (forward_name_is(name, len, dropped[i]))
			return 1;
	return 0;
}

int
forward_build_head(struct sbuf *out, const char *method, const struct s3addr *addr,
    const struct query_list *query, const struct http_head *h,
    const char *payload_hash, const struct forward_target *t, time_t now)
{
	struct sbuf path = SBUF_INIT, canon_query = SBUF_INIT, auth = SBUF_INIT;
	struct http_header signed_hdrs[3];
	char amz_date[17];
	size_t i;

	s3addr_backend_path(addr, &path);
	query_canonical(&canon_query, query, forward_auth_params);
	sigv4_format_date(now, amz_date);

	/* sorted by name: host, x-amz-content-sha256, x-amz-date */
	signed_hdrs[0] = (struct http_header){ "host", 4, t->host, strlen(t->host) };
	signed_hdrs[1] = (struct http_header){ "x-amz-content-sha256", 20, payload_hash,
	    strlen(payload_hash) };
	signed_hdrs[2] = (struct http_header){ "x-amz-date", 10, amz_date, 16 };
	sigv4_sign(method, path.data, canon_query.data, signed_hdrs, 3, payload_hash,
	    amz_date, t->region, t->access_key_id, t->signing_key, &auth);

	sbuf_appendf(out, "%s %s%s%s HTTP/1.1\r\nHost: %s\r\n", method, path.data,
	    canon_query.len ? "?" : "", canon_query.len ? canon_query.data : "", t->host);
	for (i = 0; i < h->nheaders; i++) {
		const struct http_header *hd = &h->headers[i];
		if (forward_header_dropped(hd->name, hd->name_len))
			continue;
		sbuf_append(out, hd->name, hd->name_len);
		sbuf_appends(out, ": ");
		sbuf_append(out, hd->value, hd->value_len);
		sbuf_appends(out, "\r\n");
	}
	sbuf_appendf(out, "x-amz-content-sha256: %s\r\nx-amz-date: %s\r\nAuthorization: %s\r\n\r\n",
	    payload_hash, amz_date, auth.data);
	sbuf_free(&path);
	sbuf_free(&canon_query);
	sbuf_free(&auth);
	return 0;
}
