/*
 * fuzz_httpmsg: httpmsg_parse_head on hostile bytes, as a request and as a
 * response, under small limits, then the body tracker on what follows a
 * complete head.  Properties checked (abort() on violation):
 *   - DONE means head_len <= len and <= max_head, every header points
 *     inside the head, and no header count over the limit;
 *   - parsing is prefix-stable: every prefix of a DONE head is MORE, BAD
 *     or TOO_LARGE, never a DONE of another length;
 *   - the tracker never claims more bytes than it was fed;
 *   - decoding in place (request bodies) claims the same bytes as tracking,
 *     produces no more than it claimed, and leaves the bytes past the
 *     body's end as they were: s3gate keeps them as the client's next,
 *     pipelined request;
 *   - a request parses the same whether httpmsg steps over the target's
 *     plain runs or llhttp reads every byte (httpmsg_url_skip): same status,
 *     same error, and for DONE and MORE the same head.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proxy/httpmsg.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void
fuzz_check_head(const char *buf, size_t len, const struct http_limits *lim,
    const struct http_head *h)
{
	size_t i;

	if (h->head_len == 0 || h->head_len > len || h->head_len > lim->max_head)
		abort();
	if (h->nheaders > lim->max_headers)
		abort();
	for (i = 0; i < h->nheaders; i++) {
		const struct http_header *hd = &h->headers[i];
		if (hd->name < buf || hd->name + hd->name_len > buf + h->head_len)
			abort();
		if (hd->value == NULL || hd->value < buf || hd->value + hd->value_len > buf + h->head_len)
			abort();
	}
	if (!h->is_response && (h->target == NULL || h->target_len > lim->max_uri ||
	    h->target < buf || h->target + h->target_len > buf + h->head_len))
		abort();
	if (h->has_content_length && h->chunked)
		abort();	/* CL + TE must never be DONE */
}

static void
fuzz_body(const char *buf, size_t len, const struct http_head *h, int is_response)
{
	struct http_body_tracker t, td;
	size_t off = h->head_len, piece, produced;
	long r, rd;
	char *copy;

	httpmsg_body_tracker_init(&t);
	httpmsg_body_tracker_init(&td);
	/* feed the rest in pieces whose size comes from the first body byte */
	piece = off < len ? ((unsigned char)buf[off] % 7) + 1 : 1;
	while (off < len) {
		size_t n = len - off < piece ? len - off : piece;
		r = httpmsg_body_tracker_feed(&t, buf + off, n);
		if ((copy = malloc(n)) == NULL)
			abort();
		memcpy(copy, buf + off, n);
		rd = httpmsg_body_tracker_decode(&td, copy, n, &produced);
		if (rd != r || td.complete != t.complete)
			abort();
		if (r >= 0 && (produced > (size_t)r ||
		    memcmp(copy + r, buf + off + r, n - (size_t)r) != 0))
			abort();
		free(copy);
		if (r < 0)
			return;
		if ((size_t)r > n)
			abort();
		if ((size_t)r < n && !t.complete)
			abort();
		off += n;
		if (t.complete)
			break;
	}
}

static void
fuzz_same_without_skip(const char *buf, size_t len, const struct http_limits *lim,
    enum http_parse_status st, const struct http_head *h, struct http_head *h2)
{
	enum http_parse_status st2;

	httpmsg_url_skip(0);
	st2 = httpmsg_parse_head(buf, len, 0, lim, h2);
	httpmsg_url_skip(1);
	if (st2 != st || (h->error == NULL) != (h2->error == NULL) ||
	    (h->error != NULL && strcmp(h->error, h2->error) != 0))
		abort();
	if (st == HTTP_PARSE_BAD || st == HTTP_PARSE_TOO_LARGE)
		return;
	if (memcmp(h, h2, offsetof(struct http_head, headers)) != 0 ||
	    memcmp(h->headers, h2->headers, h->nheaders * sizeof(h->headers[0])) != 0)
		abort();
}

static void
fuzz_one(const char *buf, size_t len, int is_response)
{
	static const struct http_limits lim = { 2048, 512, 16 };
	struct http_head *h, *h2;
	enum http_parse_status st;
	size_t k;

	if ((h = malloc(sizeof(*h))) == NULL || (h2 = malloc(sizeof(*h2))) == NULL)
		abort();
	st = httpmsg_parse_head(buf, len, is_response, &lim, h);
	if (!is_response)
		fuzz_same_without_skip(buf, len, &lim, st, h, h2);
	if (st == HTTP_PARSE_DONE) {
		fuzz_check_head(buf, len, &lim, h);
		/* a shorter prefix is never DONE with a different length */
		for (k = h->head_len > 64 ? h->head_len - 64 : 0; k < h->head_len; k++) {
			if (httpmsg_parse_head(buf, k, is_response, &lim, h2) == HTTP_PARSE_DONE)
				abort();
		}
		fuzz_body(buf, len, h, is_response);
	} else if (st != HTTP_PARSE_MORE && h->error == NULL)
		abort();
	free(h);
	free(h2);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf;

	if (size > 16384)
		return 0;
	/* an exact-size copy: ASan catches any read past the end */
	if ((buf = malloc(size ? size : 1)) == NULL)
		abort();
	memcpy(buf, data, size);
	fuzz_one(buf, size, 0);
	fuzz_one(buf, size, 1);
	free(buf);
	return 0;
}
