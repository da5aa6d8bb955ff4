/*
 * respbody: a backend's success answer that s3gate changes before the
 * client sees it.  Pure: no I/O, no connection (conn_answer.c reads the body
 * whole, READ_RESP_WHOLE, as it reads error bodies).
 *
 * Only one: CompleteMultipartUpload's <Location>.  The backend writes the
 * URL it was addressed by -- s3gate's backend address, http://RGW:PORT/B/K,
 * a host and port on the operator's network that no client should learn
 * and none can use.  The client gets the URL it addressed instead, as S3
 * answers it (https when it came over TLS, or when public_url is https:
 * behind an ingress that ends TLS).
 */
#ifndef S3GATE_RESPBODY_H
#define S3GATE_RESPBODY_H

#include <stddef.h>

#include "proxy/sbuf.h"

/*
 * Writes BODY (LEN bytes, not necessarily NUL-terminated) to OUT with the
 * text of every <Location> element replaced by URL (URL_LEN raw bytes,
 * XML-escaped on the way).  Returns the number of elements replaced (0:
 * OUT holds BODY unchanged), or -1 if a <Location> is not closed (OUT then
 * holds nothing of what followed it).
 */
int	respbody_set_location(const char *body, size_t len, const char *url, size_t url_len,
	    struct sbuf *out);

#endif
