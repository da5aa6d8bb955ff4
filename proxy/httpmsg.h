/*
 * httpmsg: HTTP/1.1 message heads, parsed with llhttp under strict limits.
 *
 * A head is parsed in place: struct http_head points into the caller's head
 * buffer, which must outlive it.  Only the head is parsed here; bodies are
 * framed by the caller from content_length / chunked (see proxy/stream.h).
 */
#ifndef S3GATE_HTTPMSG_H
#define S3GATE_HTTPMSG_H

#include <stddef.h>
#include <stdint.h>

#include <llhttp.h>

/* One header field as received; name and value point into the head buffer. */
struct http_header {
	const char	*name;
	size_t		 name_len;
	const char	*value;
	size_t		 value_len;
};

#define HTTP_MAX_HEADERS	128

enum http_parse_status {
	HTTP_PARSE_DONE,	/* a whole head; head_len says how many bytes */
	HTTP_PARSE_MORE,	/* need more bytes */
	HTTP_PARSE_BAD,		/* malformed or smuggling shape: 400 and close */
	HTTP_PARSE_TOO_LARGE,	/* head, URI or header count over limits: 431/414 */
};

struct http_limits {
	size_t	max_head;	/* bytes of request line + headers */
	size_t	max_uri;
	size_t	max_headers;	/* <= HTTP_MAX_HEADERS */
};

struct http_head {
	int			 is_response;
	/* request */
	const char		*method;	/* llhttp's name for it: static, NUL-terminated */
	size_t			 method_len;
	const char		*target;	/* raw request-target as received */
	size_t			 target_len;
	/* response */
	int			 status;
	int			 http_minor;	/* HTTP/1.x */
	int			 keep_alive;	/* per llhttp_should_keep_alive */
	int			 chunked;	/* Transfer-Encoding: chunked */
	int			 has_content_length;
	uint64_t		 content_length;
	int			 expect_continue;
	size_t			 head_len;	/* bytes of head including the blank line */
	size_t			 nheaders;
	struct http_header	 headers[HTTP_MAX_HEADERS];
	const char		*error;		/* why HTTP_PARSE_BAD / TOO_LARGE */
};

/*
 * Parses the head at the start of BUF (LEN bytes so far).  Stateless: the
 * caller calls again with the grown buffer until DONE; the cost of re-parsing
 * is bounded by max_head.  is_response selects the grammar; for a response
 * to HEAD, the caller knows there is no body whatever the headers say.
 */
enum http_parse_status httpmsg_parse_head(const char *buf, size_t len, int is_response,
    const struct http_limits *, struct http_head *);

/*
 * Whether httpmsg_parse_head steps over plain runs of the request target
 * itself instead of handing them to llhttp a byte at a time (httpmsg.c,
 * "the request target").  On by default where the llhttp linked in allows
 * it.  ON = 0 turns it off, 1 back on, -1 only asks; returns whether it is
 * on now.  For the tests and the fuzz target, which compare both ways.
 */
int	httpmsg_url_skip(int on);

/*
 * Tracks where a chunked body ends, for bodies passed through as they are.
 * Strict (our own, not llhttp's lenient chunk parser): hex sizes of at most
 * 16 digits, CRLF exactly after sizes and data, bounded extensions and
 * trailers.
 */
struct http_body_tracker {
	int		 state;
	uint64_t	 remaining;	/* data bytes left in the current chunk */
	int		 digits;
	size_t		 line_len;	/* extension or trailer bytes on this line */
	size_t		 trailer_len;
	int		 complete;
};

/* Starts tracking a body at its first byte. */
void	 httpmsg_body_tracker_init(struct http_body_tracker *);
/*
 * Feeds LEN body bytes; returns how many belong to this message (fewer than
 * LEN once it is complete), or -1 if the framing is broken.
 */
long	 httpmsg_body_tracker_feed(struct http_body_tracker *, const char *buf, size_t len);
/*
 * The same, and the chunks' data bytes are moved to the start of BUF (in
 * place); *PRODUCED says how many.  For request bodies s3gate decodes.
 */
long	 httpmsg_body_tracker_decode(struct http_body_tracker *, char *buf, size_t len,
	    size_t *produced);

/* Case-insensitive lookup; returns the first match or NULL. */
const struct http_header *httpmsg_header_find(const struct http_head *, const char *name);
/*
 * The next element of a comma-separated header value (RFC 9110 5.6.1) from
 * *P up to END, optional whitespace trimmed, empty elements skipped: its
 * start, *LEN its length, and *P moved past it; NULL at the end.
 */
const char *httpmsg_list_next(const char **p, const char *end, size_t *len);
/* Whether Connection header CONN (NULL: none) lists NAME: hop-by-hop by declaration. */
int	 httpmsg_connection_lists(const struct http_header *conn, const char *name, size_t len);

#endif
