#include <stdio.h>
#include <string.h>
#include <time.h>

#include "policy/store.h"
#include "proxy/httpmsg.h"
#include "proxy/respond.h"
#include "proxy/s3err.h"

void
respond_build(struct sbuf *out, int status, const char *content_type, const char *body,
    size_t body_len, int head_only, int close, const char *request_id,
    const char *extra_headers)
{
	char date[64];
	struct tm tm;
	time_t now = time(NULL);

	gmtime_r(&now, &tm);
	strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S GMT", &tm);
	sbuf_reset(out);
	sbuf_appendf(out, "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
	    "x-amz-request-id: %s\r\nDate: %s\r\nServer: s3gate\r\n",
	    status, s3err_reason_phrase(status), content_type, body_len,
	    request_id ? request_id : "", date);
	if (close)
		sbuf_appends(out, "Connection: close\r\n");
	if (extra_headers != NULL)
		sbuf_appends(out, extra_headers);
	sbuf_appends(out, "\r\n");
	if (!head_only && body_len > 0)
		sbuf_append(out, body, body_len);
}

const char *
respond_cors_headers(const struct http_head *req, int on)
{
	if (!on || (req->method != NULL && strcmp(req->method, "OPTIONS") == 0))
		return "";
	return httpmsg_header_find(req, "origin") != NULL ? RESPOND_CORS_ALLOW : RESPOND_CORS_VARY;
}

void
respond_list_buckets(struct sbuf *b, const char *principal, const struct pstore_bucket_list *list)
{
	size_t i;

	sbuf_appends(b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
	    "<ListAllMyBucketsResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
	    "<Owner><ID>");
	sbuf_append_xml(b, principal, strlen(principal));
	sbuf_appends(b, "</ID><DisplayName>");
	sbuf_append_xml(b, principal, strlen(principal));
	sbuf_appends(b, "</DisplayName></Owner><Buckets>");
	for (i = 0; i < list->count; i++) {
		sbuf_appends(b, "<Bucket><Name>");
		const struct model_bucket_access *it = &list->items[i];
		char when[32] = "2025-01-01T00:00:00.000Z";
		struct tm tm;

		if (it->created_at != 0 && gmtime_r(&it->created_at, &tm) != NULL)
			strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S.000Z", &tm);
		sbuf_append_xml(b, it->bucket, strlen(it->bucket));
		sbuf_appends(b, "</Name><CreationDate>");
		sbuf_appends(b, when);
		sbuf_appends(b, "</CreationDate></Bucket>");
	}
	sbuf_appends(b, "</Buckets></ListAllMyBucketsResult>\n");
}
