/*
 * conn_answer: the backend's answer (conn_int.h).  Its head, read by
 * conn_backend.c, is framed for the client and relayed with what came of
 * its body; an error answer, and the one success answer s3gate changes,
 * is read whole first and judged.  conn.c's rules hold here.
 */
#include <sys/types.h>

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "proxy/accesslog.h"
#include "proxy/auth.h"
#include "proxy/conn.h"
#include "proxy/conn_int.h"
#include "proxy/errbody.h"
#include "proxy/respbody.h"
#include "proxy/forward.h"
#include "proxy/log.h"
#include "proxy/server.h"

/* The whole object's size from a 200 (Content-Length) or 206 (Content-Range "a-b/total"). */
static uint64_t
conn_object_size(const struct http_head *r)
{
	const struct http_header *h;
	char buf[64], *slash;

	if (r->status == 200 && r->has_content_length)
		return r->content_length;
	if (r->status == 206 && (h = httpmsg_header_find(r, "content-range")) != NULL &&
	    h->value_len < sizeof(buf)) {
		memcpy(buf, h->value, h->value_len);
		buf[h->value_len] = '\0';
		if ((slash = strchr(buf, '/')) != NULL && slash[1] != '*')
			return strtoull(slash + 1, NULL, 10);
	}
	return 0;
}

/*
 * s3gate changes the backend's framing: the relayed head's
 * Transfer-Encoding header becomes NAME: VALUE (strings that outlive the
 * head's building), or goes (NAME NULL).  The header array is c->resp's,
 * so the head is rewritten before it is built, at no cost to the heads
 * that are relayed as they came.
 */
static void
conn_resp_reframe(struct conn *c, const char *name, const char *value)
{
	struct http_head *r = &c->resp;
	size_t i;

	for (i = 0; i < r->nheaders; i++) {
		struct http_header *h = &r->headers[i];
		if (h->name_len != 17 || strncasecmp(h->name, "transfer-encoding", 17) != 0)
			continue;
		if (name == NULL) {
			memmove(h, h + 1, (r->nheaders - i - 1) * sizeof(*h));
			r->nheaders--;
			i--;
			continue;
		}
		h->name = name;
		h->name_len = strlen(name);
		h->value = value;
		h->value_len = strlen(value);
		name = NULL;	/* a repeated one goes */
	}
}

/* Decides how the response's body is framed, from the backend's head. */
static void
conn_resp_framing(struct conn *c)
{
	const struct http_head *r = &c->resp;

	c->resp_status = r->status;
	if (accesslog_enabled()) {
		const struct http_header *id = httpmsg_header_find(r, "x-amz-request-id");
		if (id != NULL)
			snprintf(c->backend_request_id, sizeof(c->backend_request_id), "%.*s",
			    (int)id->value_len, id->value);
	}
	if (c->link_usage != NULL)
		server_link_learn_size(c->link_usage, conn_object_size(r));
	if (c->is_head_method || r->status == 204 || r->status == 304 ||
	    (r->status >= 100 && r->status < 200)) {
		c->resp_has_body = 0;
	} else if (r->chunked) {
		c->resp_has_body = 1;
		c->resp_framing = STREAM_CHUNKED;
		httpmsg_body_tracker_init(&c->tracker);
	} else if (r->has_content_length) {
		c->resp_has_body = r->content_length > 0;
		c->resp_framing = STREAM_LENGTH;
		c->resp_length = r->content_length;
	} else {
		c->resp_has_body = 1;
		c->resp_framing = STREAM_UNTIL_EOF;
		c->closing = 1;
		c->abort_backend = 1;
	}
	if (!r->keep_alive)
		c->abort_backend = 1;	/* not reusable; closing it is enough */
	if (c->head.http_minor == 0 && c->resp_has_body && c->resp_framing == STREAM_CHUNKED) {
		/*
		 * An HTTP/1.0 client cannot read chunked framing: it gets the
		 * chunks' data, and the connection's close marks the end.
		 */
		c->resp_framing = STREAM_DECHUNKED;
		c->closing = 1;
		conn_resp_reframe(c, NULL, NULL);
	}
}

/* Builds the client's response head from the backend's, framed by conn_resp_framing(). */
static void
conn_build_resp_head(struct conn *c)
{
	const struct http_head *r = &c->resp;
	const struct http_header *conn = forward_response_connection(r);
	size_t i;

	sbuf_reset(&c->out);
	c->out_off = 0;
	sbuf_appends(&c->out, "HTTP/1.1 ");
	sbuf_append_u64(&c->out, (uint64_t)r->status);
	sbuf_appendc(&c->out, ' ');
	sbuf_appends(&c->out, s3err_reason_phrase(r->status));
	sbuf_appends(&c->out, "\r\n");
	for (i = 0; i < r->nheaders; i++) {
		const struct http_header *h = &r->headers[i];
		if (forward_response_header_dropped(h, conn, r->status))
			continue;
		sbuf_append(&c->out, h->name, h->name_len);
		sbuf_appends(&c->out, ": ");
		sbuf_append(&c->out, h->value, h->value_len);
		sbuf_appends(&c->out, "\r\n");
	}
	if (c->closing)
		sbuf_appends(&c->out, "Connection: close\r\n");
	sbuf_appends(&c->out, "\r\n");
	/*
	 * The body bytes read with the head go out in the head's write: a
	 * small object then costs one send(2), and no stream at all.
	 */
	c->resp_with_head = 0;
	c->resp_with_head_paid = 0;
	c->resp_consumed = r->head_len;
	if (c->resp_has_body && c->resp_framing == STREAM_LENGTH) {
		size_t have = c->backend.len - r->head_len;
		c->resp_with_head = have < c->resp_length ? have : (size_t)c->resp_length;
		sbuf_append(&c->out, c->backend.buf + r->head_len, c->resp_with_head);
		c->resp_consumed += c->resp_with_head;
	} else if (c->resp_has_body) {
		/* the stream takes all of it (chunked: bytes past the end are an error there) */
		c->resp_consumed = c->backend.len;
	}
	/* a body follows the head's write: MSG_MORE, then the stream (SEND_RESP_HEAD) */
	c->out_more = c->resp_has_body &&
	    (c->resp_framing != STREAM_LENGTH || c->resp_with_head < c->resp_length);
}

/* The backend's answer is framed: its head (and what came of its body) goes to the client. Returns 1. */
static int
conn_relay_resp_head(struct conn *c)
{
	conn_build_resp_head(c);
	conn_side_want(&c->backend, 0, 0);
	conn_set_state(c, CONN_SEND_RESP_HEAD);
	conn_timer_set(c, c->conf->body_timeout_ms);
	return 1;
}

/* ------------------------------------------------------------------ */
/* answers read whole: errors judged, CompleteMultipartUpload's changed */

/*
 * The body is in backend.buf after the head: RAW bytes as they came, of
 * which the first LEN are the body itself (decoded, if it came chunked).
 * A withheld answer becomes s3gate's own 502, and the operator is told
 * why -- with the backend's code, never the body, which may hold the key
 * id and the signing material.  Another is relayed with the same body
 * bytes (CompleteMultipartUpload's with its <Location> changed), with a
 * Content-Length when it came chunked.
 */

/* Whether the answer is the one success answer s3gate changes (respbody.h). */
static int
conn_resp_changed(const struct conn *c)
{
	return c->resp_status == 200 && c->op_valid && c->op.action != NULL &&
	    strcmp(c->op.action, "CompleteMultipartUpload") == 0;
}

/* The Content-Length of a body read whole: LEN, in place of what framed it. */
static void
conn_resp_set_length(struct conn *c, size_t len)
{
	struct http_head *r = &c->resp;
	size_t i;

	snprintf(c->resp_length_text, sizeof(c->resp_length_text), "%zu", len);
	if (r->chunked) {
		conn_resp_reframe(c, "Content-Length", c->resp_length_text);
		return;
	}
	for (i = 0; i < r->nheaders; i++) {
		struct http_header *h = &r->headers[i];
		if (h->name_len == 14 && strncasecmp(h->name, "content-length", 14) == 0) {
			h->value = c->resp_length_text;
			h->value_len = strlen(c->resp_length_text);
		}
	}
	/* a close-delimited body has none, and stays so: the connection closes after it */
}

/*
 * CompleteMultipartUpload's answer (LEN bytes after the head, RAW as they
 * came): its <Location> names the URL the client addressed -- its scheme,
 * its Host, its path -- instead of the backend's.  The new body replaces
 * the old one in backend.buf and *RAW and *LEN become its length.  0, or
 * -1 when it cannot be changed (logged; nothing is relayed of it).
 */
static int
conn_resp_set_location(struct conn *c, size_t *raw, size_t *len)
{
	const struct http_header *host = httpmsg_header_find(&c->head, "host");
	struct sbuf url = SBUF_INIT, body = SBUF_INIT;
	size_t head = c->resp.head_len;
	int n;

	if (host != NULL) {
		/*
		 * Behind an ingress that ends TLS the listener is plain and the
		 * client's URL is https: public_url says so.
		 */
		sbuf_appends(&url, c->client.ssl != NULL || (c->conf->public_url != NULL &&
		    strncasecmp(c->conf->public_url, "https://", 8) == 0) ? "https://" : "http://");
		sbuf_append(&url, host->value, host->value_len);
	}
	sbuf_append(&url, c->addr.raw_path, c->addr.raw_path_len);
	n = respbody_set_location(c->backend.buf + head, *len, url.data, url.len, &body);
	sbuf_free(&url);
	if (n == -1 || (n > 0 && conn_side_grow(&c->backend, head + body.len, head + body.len,
	    head + body.len) == -1)) {
		log_warnx("request %s: the backend's CompleteMultipartUpload answer %s; "
		    "withheld, the client gets 502", c->request_id, n == -1 ?
		    "has a <Location> not closed" : "does not fit in memory");
		sbuf_free(&body);
		return -1;
	}
	if (n > 0) {
		if (c->backend.len != head + *raw)
			c->abort_backend = 1;	/* bytes past the answer: overwritten, not reused */
		memcpy(c->backend.buf + head, body.data, body.len);
		c->backend.len = head + body.len;
		*raw = *len = body.len;
	}
	sbuf_free(&body);
	return 0;
}

/*
 * A backend error answer read whole (resp_consumed set) that is not to be
 * relayed, for reason V: s3gate's 502, and a log line with the backend's
 * status and CODE ("" if none), never its head or body.
 */
static int
conn_errbody_withhold(struct conn *c, enum errbody_verdict v, const char *code)
{
	c->srv->stats->backend_errors++;
	c->resp_complete = 1;	/* read whole: the connection may be pooled */
	if (v == ERRBODY_SIGNATURE_REFUSED) {
		log_warnx("request %s: the backend refused the gateway's signature (%d %s); "
		    "check backend_access_key_id, its secret, the region and the clock; "
		    "the client gets 502", c->request_id, c->resp.status, code);
		return conn_fail(c, S3ERR_BACKEND_REFUSED_SIGNATURE, NULL);
	}
	log_warnx("request %s: the backend's error answer (%d %s) names the gateway's "
	    "credentials or signing; withheld, the client gets 502", c->request_id,
	    c->resp.status, code[0] ? code : "-");
	return conn_fail(c, S3ERR_BACKEND_ERROR_WITHHELD, NULL);
}

static int
conn_resp_whole_judged(struct conn *c, size_t raw, size_t len)
{
	const struct conf *cf = c->conf;
	char code[ERRBODY_CODE_MAX];
	enum errbody_verdict v;

	/* backend.buf may have moved as it grew: the head is read again from it */
	if (httpmsg_parse_head(c->backend.buf, c->backend.len, 1, &conn_resp_limits, &c->resp) !=
	    HTTP_PARSE_DONE) {
		log_warnx("request %s: a response head parsed once does not parse again", c->request_id);
		c->abort_backend = 1;
		return conn_fail(c, S3ERR_INTERNAL, NULL);
	}
	v = errbody_judge(c->backend.buf + c->resp.head_len, len, cf->backend_access_key_id,
	    cf->backend_secret, code);
	if (v == ERRBODY_RELAY && errbody_names_credentials(c->backend.buf, c->resp.head_len,
	    cf->backend_access_key_id, cf->backend_secret))
		v = ERRBODY_NAMES_CREDENTIALS;
	c->resp_consumed = c->resp.head_len + raw;
	if (v != ERRBODY_RELAY)
		return conn_errbody_withhold(c, v, code);
	if (conn_resp_changed(c)) {
		if (conn_resp_set_location(c, &raw, &len) == -1) {
			c->srv->stats->backend_errors++;
			c->abort_backend = 1;
			return conn_fail(c, S3ERR_BACKEND_BAD_RESPONSE, NULL);
		}
		/* backend.buf may have moved: its head is read again */
		if (httpmsg_parse_head(c->backend.buf, c->backend.len, 1, &conn_resp_limits,
		    &c->resp) != HTTP_PARSE_DONE) {
			c->abort_backend = 1;
			return conn_fail(c, S3ERR_INTERNAL, NULL);
		}
	}
	/* decoded whole, or changed: the Content-Length of its data */
	conn_resp_set_length(c, len);
	/* a close-delimited one stays so: the client's connection closes after it (framing) */
	c->resp_framing = STREAM_LENGTH;
	c->resp_length = len;
	(void)conn_relay_resp_head(c);
	c->resp_consumed = c->resp.head_len + raw;	/* the body as it came, not as decoded */
	return 1;
}

/*
 * An error body that cannot be judged (WHY: over ERRBODY_MAX, or encoded):
 * withheld whole, unread (the backend connection is not kept).
 */
static int
conn_errbody_unjudged(struct conn *c, const char *why)
{
	log_warnx("request %s: the backend's %d answer has %s; withheld, the client gets 502",
	    c->request_id, c->resp.status, why);
	c->srv->stats->backend_errors++;
	c->abort_backend = 1;
	return conn_fail(c, S3ERR_BACKEND_ERROR_WITHHELD, NULL);
}

static int
conn_errbody_too_large(struct conn *c)
{
	char why[64];

	snprintf(why, sizeof(why), "a body over %d bytes", ERRBODY_MAX);
	return conn_errbody_unjudged(c, why);
}

/*
 * Whether the body comes with a Content-Encoding (gzip, br, ...): a
 * backend, or a proxy in front of it, may compress an error body when the
 * client asks (the client's Accept-Encoding is forwarded), and its bytes
 * then hide the key id from the search and show it to the client.
 */
static int
conn_resp_encoded(const struct http_head *r)
{
	size_t i;

	for (i = 0; i < r->nheaders; i++) {
		const struct http_header *h = &r->headers[i];
		if (h->name_len == 16 && strncasecmp(h->name, "content-encoding", 16) == 0 &&
		    !(h->value_len == 8 && strncasecmp(h->value, "identity", 8) == 0))
			return 1;
	}
	return 0;
}

/*
 * The backend answered >= 300 with a body (conn_resp_framing), or
 * CompleteMultipartUpload's 200: read it whole first.
 */
static int
conn_resp_whole_start(struct conn *c)
{
	if (conn_resp_encoded(&c->resp))
		return conn_errbody_unjudged(c, "an encoded body (Content-Encoding)");
	if (c->resp_framing == STREAM_LENGTH && c->resp_length > ERRBODY_MAX)
		return conn_errbody_too_large(c);
	/*
	 * An early answer in WAIT_CONTINUE came under the 1 s wait for a 100,
	 * not under backend_timeout: its body gets what its head would have.
	 */
	if (c->state == CONN_WAIT_CONTINUE)
		conn_timer_set(c, c->conf->backend_timeout_ms);
	c->resp_body_raw = 0;
	conn_set_state(c, CONN_READ_RESP_WHOLE);
	return 1;
}

/*
 * Reads the body into backend.buf after the head, at most ERRBODY_MAX
 * bytes as received (chunked framing included), and judges it once it is
 * whole.  The read timeout stays READ_RESP_HEAD's (after WAIT_CONTINUE,
 * backend_timeout from the head): the backend has that long for its whole
 * error answer.  CompleteMultipartUpload's gets backend_timeout from each
 * read: S3 and MinIO answer 200 at once and send blanks every few seconds
 * while they assemble the object, which may take minutes.
 */
int
conn_do_read_resp_whole(struct conn *c)
{
	size_t head = c->resp.head_len, have;
	ssize_t n;

	for (;;) {
		have = c->backend.len - head;
		if (c->resp_framing == STREAM_LENGTH && have >= c->resp_length)
			return conn_resp_whole_judged(c, (size_t)c->resp_length, (size_t)c->resp_length);
		if (c->resp.chunked && have > c->resp_body_raw) {
			long used = httpmsg_body_tracker_feed(&c->tracker,
			    c->backend.buf + head + c->resp_body_raw, have - c->resp_body_raw);
			size_t len;
			if (used < 0)
				break;
			c->resp_body_raw += (size_t)used;
			if (c->tracker.complete) {
				/* framed right: decoded in place, the data bytes at the body's start */
				httpmsg_body_tracker_init(&c->tracker);
				(void)httpmsg_body_tracker_decode(&c->tracker, c->backend.buf + head,
				    c->resp_body_raw, &len);
				return conn_resp_whole_judged(c, c->resp_body_raw, len);
			}
		}
		if (have > ERRBODY_MAX)
			return conn_errbody_too_large(c);
		n = conn_side_read(&c->backend, CONN_RESP_INITIAL, head + ERRBODY_MAX + 1);
		if (n > 0) {
			if (conn_resp_changed(c))
				conn_timer_set(c, c->conf->backend_timeout_ms);
			continue;
		}
		if (n == -1 && (errno == EAGAIN || errno == EINTR)) {
			conn_side_wait_io(&c->backend);
			return 0;
		}
		if (n == 0 && c->resp_framing == STREAM_UNTIL_EOF)
			return conn_resp_whole_judged(c, have, have);
		break;
	}
	log_warnx("request %s: the backend broke off its %d answer's body (%s after %zu bytes)",
	    c->request_id, c->resp.status, c->resp.chunked &&
	    c->backend.len - head > c->resp_body_raw ? "bad chunked framing" : "closed", have);
	c->srv->stats->backend_errors++;
	c->abort_backend = 1;
	return conn_fail(c, S3ERR_BACKEND_BAD_RESPONSE, NULL);
}

int
conn_do_read_resp_head(struct conn *c)
{
	for (;;) {
		switch (conn_backend_read_head(c)) {
		case HEAD_READ_WAIT:
			conn_side_wait_io(&c->backend);
			return 0;
		case HEAD_READ_BAD:
			/*
			 * Not HTTP: the gateway's failure (HAProxy's observe
			 * layer7 counts an invalid header), sent again as after
			 * a close when it may be: nothing went to the client.
			 */
			if (conn_backend_retry(c, UPSTREAM_FAIL_INVALID, c->resp.error,
			    conn_retry_safe(c)))
				return 1;
			/* FALLTHROUGH */
		case HEAD_READ_TOO_LARGE:
			log_warnx("request %s: bad response head from backend: %s",
			    c->request_id, c->resp.error);
			c->srv->stats->backend_errors++;
			c->abort_backend = 1;
			c->closing = 1;
			return conn_fail(c, S3ERR_BACKEND_BAD_RESPONSE, NULL);
		case HEAD_READ_CLOSED: {
			/*
			 * The whole head went out: the backend may have acted on it
			 * before closing, unless it still waited for the body
			 * (Expect: 100-continue): none of it went, and what the
			 * client sent of it is still unread.
			 */
			int err = errno;

			if (conn_backend_retry(c, UPSTREAM_FAIL_RESET, err == 0 ? "closed before an answer" :
			    strerror(err), c->backend.len == 0 &&
			    (conn_retry_safe(c) || c->state == CONN_WAIT_CONTINUE)))
				return 1;
			log_warnx("request %s: backend closed before a response (%s)", c->request_id,
			    err == 0 ? "EOF" : strerror(err));
			c->srv->stats->backend_errors++;
			c->abort_backend = 1;
			c->closing = 1;
			return conn_fail(c, S3ERR_BACKEND_BAD_RESPONSE, NULL);
		}
		case HEAD_READ_DONE:
			break;
		}
		if (c->resp.status == 100 && c->state == CONN_WAIT_CONTINUE) {
			/* the backend wants the body: tell the client */
			conn_skip_interim(c);
			conn_send_continue(c);
			return 1;
		}
		if (c->resp.status >= 100 && c->resp.status < 200) {
			/* other interim responses are not passed on */
			conn_skip_interim(c);
			continue;
		}
		conn_backend_rate_answer(c);
		if (c->state == CONN_WAIT_CONTINUE ||
		    (c->req_body_len > 0 && !c->req_body_done)) {
			/* a final answer before the body: it will not be sent */
			c->closing = 1;
			c->abort_backend = 1;
		}
		conn_resp_framing(c);
		if (c->preflight && c->resp_status != 200) {
			/* not the backend's 403 or 404: whether the bucket exists stays unsaid */
			c->abort_backend = 1;
			c->decision.allow = 0;
			snprintf(c->decision.reason, sizeof(c->decision.reason),
			    "CORS preflight: the bucket's rules refuse it");
			c->srv->stats->denied++;
			return auth_preflight_refuse(c);
		}
		if (c->preflight)
			c->srv->stats->allowed++;
		/*
		 * S3's redirects are errors too (PermanentRedirect,
		 * TemporaryRedirect: an <Error> body), judged as the others: a
		 * 301 naming the service key id was relayed.
		 */
		if (c->resp_has_body && (c->resp_status >= 300 || conn_resp_changed(c)))
			return conn_resp_whole_start(c);
		if (c->resp_status >= 300 && errbody_names_credentials(c->backend.buf,
		    c->resp.head_len, c->conf->backend_access_key_id, c->conf->backend_secret)) {
			/* no body to judge (HEAD, Content-Length: 0), but a head that names them */
			c->resp_consumed = c->resp.head_len;
			return conn_errbody_withhold(c, ERRBODY_NAMES_CREDENTIALS, "");
		}
		if (!conn_link_reserve(c))
			return 1;
		return conn_relay_resp_head(c);
	}
}
