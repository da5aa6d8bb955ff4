/*
 * respbody: CompleteMultipartUpload's <Location> as the client addressed
 * it (respbody.h says why).
 *
 * The body is searched, not parsed: the element's text is escaped XML, so
 * "<Location>" within a key or an ETag is written "&lt;Location&gt;" and
 * the first literal "<Location>" is the element's.  An element with
 * attributes or a namespace prefix is not S3's and is not looked for.
 */
#include <string.h>

#include "proxy/respbody.h"

#define OPEN	"<Location>"
#define CLOSE	"</Location>"

int
respbody_set_location(const char *body, size_t len, const char *url, size_t url_len,
    struct sbuf *out)
{
	const char *p = body, *end = body + len, *open, *close;
	int replaced = 0;

	while ((open = memmem(p, (size_t)(end - p), OPEN, sizeof(OPEN) - 1)) != NULL) {
		open += sizeof(OPEN) - 1;
		if ((close = memmem(open, (size_t)(end - open), CLOSE, sizeof(CLOSE) - 1)) == NULL)
			return -1;
		sbuf_append(out, p, (size_t)(open - p));
		sbuf_append_xml(out, url, url_len);
		p = close;
		replaced++;
	}
	sbuf_append(out, p, (size_t)(end - p));
	return replaced;
}
