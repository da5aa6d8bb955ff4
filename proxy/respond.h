/*
 * respond: responses s3gate writes itself — S3 errors, ListBuckets, the
 * JSON of its own API.  Pure builders into an sbuf.
 */
#ifndef S3GATE_RESPOND_H
#define S3GATE_RESPOND_H

#include <stddef.h>

#include "proxy/sbuf.h"

struct pstore_bucket_list;

/*
 * Appends a whole response: status line, Content-Type, Content-Length,
 * x-amz-request-id, Date, Connection: close when CLOSE, EXTRA_HEADERS
 * (each "Name: value\r\n", may be NULL), then the body unless HEAD_ONLY.
 */
void	 respond_build(struct sbuf *out, int status, const char *content_type,
	    const char *body, size_t body_len, int head_only, int close,
	    const char *request_id, const char *extra_headers);

/* ListAllMyBucketsResult for PRINCIPAL. */
void	 respond_list_buckets(struct sbuf *body, const char *principal,
	    const struct pstore_bucket_list *);

#endif
