/*
 * conn: the connection state machine.  See conn.h for the states.  What
 * happens in AUTH_WAIT -- who the client is and whether it may make the
 * request -- is auth.c's; this file moves bytes and keeps the states.
 * Here: the client side, the request's start and end, conn_drive(), the
 * timers, the sides' sockets and buffers, errors answered; the backend
 * side is conn_backend.c's, what becomes of its answer conn_answer.c's
 * (conn_int.h).
 *
 * Rules kept throughout (in all three files):
 *  - a handler returns 1 when it changed state (drive again) and 0 when it
 *    waits for an event it has asked for;
 *  - nothing touches the connection after conn_drive() has freed it: only
 *    conn_drive() frees, at its end;
 *  - the request body is never buffered beyond one stream's bound; a body
 *    that is cut short resets the backend connection, so the backend never
 *    commits a truncated object.
 */
#include <sys/socket.h>
#include <sys/types.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "policy/store.h"
#include "proxy/accesslog.h"
#include "proxy/auth.h"
#include "proxy/gateapi.h"
#include "proxy/conn.h"
#include "proxy/conn_int.h"
#include "proxy/proxyproto.h"
#include "proxy/quota.h"
#include "proxy/quotashm.h"
#include "proxy/log.h"
#include "proxy/respond.h"
#include "proxy/server.h"
#include "proxy/tls.h"

#include <openssl/err.h>

#define CONN_HEAD_INITIAL	4096
#define CONN_MAX_QUERY_PARAMS	100
#define CONN_LINGER_MS		2000
#define CONN_LINGER_BYTES	(1024 * 1024)

static const char *const conn_state_names[CONN__NSTATES] = {
	[CONN_PROXY_HEADER] = "proxy-header",
	[CONN_TLS_HANDSHAKE] = "tls-handshake",
	[CONN_READ_HEAD] = "read-head",
	[CONN_AUTH_WAIT] = "auth-wait",
	[CONN_BACKEND_CONNECT] = "backend-connect",
	[CONN_BACKEND_TLS] = "backend-tls",
	[CONN_SEND_HEAD] = "send-head",
	[CONN_WAIT_CONTINUE] = "wait-continue",
	[CONN_SEND_CONTINUE] = "send-continue",
	[CONN_REQ_BODY] = "req-body",
	[CONN_READ_RESP_HEAD] = "read-resp-head",
	[CONN_READ_RESP_WHOLE] = "read-resp-whole",
	[CONN_SEND_RESP_HEAD] = "send-resp-head",
	[CONN_RESP_BODY] = "resp-body",
	[CONN_API_BODY] = "api-body",
	[CONN_READ_BODY] = "read-body",
	[CONN_LOCAL_RESPONSE] = "local-response",
	[CONN_LINGER] = "linger",
	[CONN_LOCK_PROBE] = "lock-probe",
	[CONN_CLOSED] = "closed",
};

static void	conn_drive(struct conn *);
static void	conn_io_cb(evutil_socket_t, short, void *);
static void	conn_timer_cb(evutil_socket_t, short, void *);

const char *
conn_state_name(enum conn_state s)
{
	return (unsigned)s < CONN__NSTATES ? conn_state_names[s] : "?";
}

void
conn_set_state(struct conn *c, enum conn_state next)
{
	log_debug("conn %llu: %s -> %s", (unsigned long long)c->id,
	    conn_state_name(c->state), conn_state_name(next));
	c->state = next;
}

/*
 * Connection timers are lazy.  A request moves its connection's deadline
 * several times (head, backend, idle), and arming a libevent timer is a
 * removal from and an insertion into the heap of every connection's timers.
 * So conn_timer_set() records the deadline and arms the timer only when
 * the deadline comes earlier than the one it is armed for; a timer that
 * fires before the deadline (which moved later meanwhile) is armed again
 * for the rest.  A keep-alive connection's timer fires about once per idle
 * timeout, whatever the number of requests.
 */
#define CONN_TIMER_SLACK_MS	10	/* a timer this close to its deadline has expired */

int64_t
conn_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);	/* vDSO, no syscall */
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The timer wakes for the state's deadline or the end of a body_min_rate window. */
static int64_t
conn_wake_ms(const struct conn *c)
{
	int64_t pace_end = c->pace_since_ms + c->conf->body_timeout_ms;

	return c->pace_since_ms != 0 && pace_end < c->deadline_ms ? pace_end : c->deadline_ms;
}

static void
conn_timer_arm(struct conn *c, int64_t now)
{
	int64_t wake = conn_wake_ms(c), ms = wake - now;
	struct timeval tv;

	if (ms < 0)
		ms = 0;
	tv.tv_sec = (time_t)(ms / 1000);
	tv.tv_usec = (suseconds_t)(ms % 1000) * 1000;
	event_add(c->timer, &tv);
	c->armed_ms = wake;
}

void
conn_timer_set(struct conn *c, int ms)
{
	int64_t now = conn_now_ms();

	c->deadline_ms = now + ms;
	if (c->armed_ms == 0 || conn_wake_ms(c) < c->armed_ms)
		conn_timer_arm(c, now);
}

/*
 * body_min_rate: a body of any length (an upload, a download) must move
 * body_min_rate bytes a second, judged over each body_timeout-long window,
 * while s3gate waits on the client.  body_timeout alone bounds silence, and
 * a client moving a byte per body_timeout would keep its connection and a
 * backend connection as long as it likes.  A window ending while the
 * stream waits on the backend, or is paused by the principal's bandwidth
 * quota, is not the client's doing: a new one begins.
 */
void
conn_pace_start(struct conn *c)
{
	c->pace_since_ms = c->conf->body_min_rate > 0 ? conn_now_ms() : 0;
	c->pace_mark = c->stream.moved;
}

/* At a window's end: 1 if the client is too slow; else a new window began. */
static int
conn_pace_too_slow(struct conn *c, int64_t now)
{
	int upload = c->state == CONN_REQ_BODY;
	uint64_t moved = c->stream.moved - c->pace_mark;
	int64_t window = now - c->pace_since_ms;

	if (!c->streaming || (!upload && c->state != CONN_RESP_BODY)) {
		c->pace_since_ms = 0;
		return 0;
	}
	if ((c->throttle == NULL || !evtimer_pending(c->throttle, NULL)) &&
	    stream_client_too_slow(&c->stream, upload, moved, window, c->conf->body_min_rate)) {
		log_info("request %s: %llu body bytes in %lld ms, under body_min_rate %llu bytes/s; closing",
		    c->request_id, (unsigned long long)moved, (long long)window,
		    (unsigned long long)c->conf->body_min_rate);
		c->srv->stats->slow_clients++;
		return 1;
	}
	conn_pace_start(c);
	return 0;
}

/*
 * Asks for the events a state waits for on one side.  Read interest is
 * dropped lazily: ev_read stays registered when a state stops wanting
 * reads, and is removed only if it fires while unwanted (conn_io_cb).  A
 * keep-alive client is quiet while its request is served, so a request
 * costs no epoll_ctl(2) on the client's socket.  Write interest is
 * dropped at once: a socket is nearly always writable.
 */
void
conn_side_want(struct conn_side *s, int rd, int wr)
{
	if (s->fd == -1)
		return;
	s->want_read = rd;
	if (rd && !s->reading) {
		event_add(s->ev_read, NULL);
		s->reading = 1;
	}
	if (wr != s->writing) {
		if (wr)
			event_add(s->ev_write, NULL);
		else
			event_del(s->ev_write);
		s->writing = wr;
	}
}

/* Waits for what the last I/O on the side said it needs. */
void
conn_side_wait_io(struct conn_side *s)
{
	conn_side_want(s, (s->io_want & SOCKIO_WANT_READ) != 0, (s->io_want & SOCKIO_WANT_WRITE) != 0);
}

static void
conn_side_attach(struct conn *c, struct conn_side *s, int fd)
{
	s->fd = fd;
	s->ev_read = event_new(c->srv->base, fd, EV_READ | EV_PERSIST, conn_io_cb, c);
	s->ev_write = event_new(c->srv->base, fd, EV_WRITE | EV_PERSIST, conn_io_cb, c);
	if (s->ev_read == NULL || s->ev_write == NULL)
		fatalx("event_new failed");
	s->reading = s->writing = s->want_read = 0;
	s->ssl = NULL;
}

/* The backend side borrows BC: its socket, TLS state and events, registered as they are. */
void
conn_side_lend(struct conn *c, struct conn_side *s, struct backend_conn *bc)
{
	bc->conn = c;
	s->bc = bc;
	s->fd = bc->fd;
	s->ssl = bc->ssl;
	s->ev_read = bc->ev_read;
	s->ev_write = bc->ev_write;
	s->reading = bc->reading;
	s->writing = s->want_read = 0;
}

/* Gives the borrowed connection its state back and forgets it. */
static struct backend_conn *
conn_side_return(struct conn_side *s)
{
	struct backend_conn *bc = s->bc;

	if (s->writing)
		event_del(s->ev_write);
	bc->ssl = s->ssl;
	bc->reading = s->reading;
	s->bc = NULL;
	s->ev_read = s->ev_write = NULL;
	s->ssl = NULL;
	s->fd = -1;
	s->reading = s->writing = s->want_read = 0;
	return bc;
}

/* Closes the side's socket; RESET sends RST so the peer drops a partial request. */
void
conn_side_close(struct conn_side *s, int reset)
{
	if (s->fd == -1)
		return;
	if (s->bc != NULL) {
		server_backend_close(conn_side_return(s), reset);
		return;
	}
	event_free(s->ev_read);
	event_free(s->ev_write);
	s->ev_read = s->ev_write = NULL;
	if (s->ssl != NULL) {
		if (reset)
			SSL_free(s->ssl);	/* no close_notify: the peer must see a failure */
		else
			sockio_ssl_close(s->ssl);
		s->ssl = NULL;
	}
	if (reset) {
		struct linger lg = { 1, 0 };
		(void)setsockopt(s->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	}
	close(s->fd);
	s->fd = -1;
	s->reading = s->writing = s->want_read = 0;
}

/* Gives an idle backend connection back to the pool, events and all. */
void
conn_side_release(struct conn *c, struct conn_side *s)
{
	s->len = 0;
	server_backend_give(c->srv, conn_side_return(s));
}

/*
 * Makes the side's buffer hold at least NEED bytes: INITIAL at first, then
 * doubling, never more than LIMIT.  0, or -1 with errno ENOBUFS (over
 * LIMIT) or ENOMEM.  Moves the buffer: nothing may point into it.
 */
int
conn_side_grow(struct conn_side *s, size_t need, size_t initial, size_t limit)
{
	size_t cap = s->cap ? s->cap : initial;
	char *p;

	while (cap < need && cap < limit)
		cap *= 2;
	if (cap > limit)
		cap = limit;
	if (cap < need) {
		errno = ENOBUFS;
		return -1;
	}
	if (cap == s->cap)
		return 0;
	if ((p = realloc(s->buf, cap)) == NULL) {
		errno = ENOMEM;
		return -1;
	}
	s->buf = p;
	s->cap = cap;
	return 0;
}

/*
 * Reads into the side's buffer (INITIAL bytes at first), growing it up to
 * LIMIT.  Returns bytes, 0 EOF, -1 again/error.
 */
ssize_t
conn_side_read(struct conn_side *s, size_t initial, size_t limit)
{
	ssize_t n;

	if (s->len == s->cap && conn_side_grow(s, s->len + 1, initial, limit) == -1)
		return -1;
	n = sockio_recv(s->fd, s->ssl, s->buf + s->len, s->cap - s->len, &s->io_want);
	if (n > 0)
		s->len += (size_t)n;
	return n;
}

/* ------------------------------------------------------------------ */
/* request lifecycle                                                    */

static void
conn_request_reset(struct conn *c)
{
	if (c->quota_active)
		c->quota->active--;
	c->quota_active = 0;
	if (c->quota_shm_active)
		quotashm_leave(c->srv->quota_shm, c->quota->principal, c->srv->slot);
	c->quota_shm_active = 0;
	c->quota = NULL;
	c->retry_after = 0;
	if (c->link_usage != NULL && c->link_reserved > 0)
		server_link_release(c->link_usage, c->link_reserved);	/* ended early */
	c->link_reserved = 0;
	server_link_put(c->link_usage);
	c->link_usage = NULL;
	if (c->throttle != NULL)
		event_del(c->throttle);
	gateapi_free(c);
	c->gateapi_action = NULL;
	s3addr_clear(&c->addr);		/* their blocks serve the next request */
	query_clear(&c->query);
	if (c->op_valid)
		s3op_free(&c->op);
	c->op_valid = 0;
	policy_credential_clear(&c->cred);
	pstore_bucket_list_free(&c->bucket_list);
	memset(&c->bucket_list, 0, sizeof(c->bucket_list));
	free(c->error_message);
	c->error_message = NULL;
	/* the header arrays are rewritten by httpmsg_parse_head; the rest is cleared */
	memset(&c->head, 0, offsetof(struct http_head, headers));
	memset(&c->resp, 0, offsetof(struct http_head, headers));
	memset(&c->auth, 0, sizeof(c->auth));
	memset(&c->access, 0, sizeof(c->access));
	memset(&c->decision, 0, sizeof(c->decision));
	c->decided = 0;
	c->sigv2 = 0;
	c->error = S3ERR_NONE;
	c->auth_stage = AUTH_STAGE_PARSE;
	c->body_prefix = 0;
	c->req_body_len = c->req_body_sent = 0;
	c->body_sum_alg = CHECKSUM_NONE;
	c->is_head_method = 0;
	c->resp_status = 0;
	c->resp_has_body = 0;
	c->resp_read_ahead = 0;
	c->resp_consumed = 0;
	c->resp_complete = 0;
	c->bytes_in = c->bytes_out = 0;
	c->pace_since_ms = 0;
	c->backend_request_id[0] = '\0';
	c->backend_retried = 0;
	c->backend_tried = 0;
	c->backend_readable = 0;
	c->copy_lock_missing = 0;
	c->lock_probe = 0;
	c->preflight = 0;
	c->req_chunked = 0;
	c->req_body_done = 0;
	c->req_body_read = 0;
	c->prebody_ready = 0;
	c->continue_sent = 0;
	sbuf_reset(&c->prebody);
	c->request_id[0] = '\0';
	if (c->streaming) {
		stream_release(&c->stream);
		c->streaming = 0;
	}
	if (c->decoder != NULL) {
		awschunked_free(c->decoder);
		free(c->decoder);
		c->decoder = NULL;
	}
	sbuf_reset(&c->out);
	c->out_off = 0;
	c->out_more = 0;
}

/* Milliseconds since the request began. */
static double
conn_elapsed_ms(const struct conn *c)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - c->started.tv_sec) * 1e3 +
	    (double)(now.tv_nsec - c->started.tv_nsec) / 1e6;
}

/* Counts a finished body by the engine that moved it. */
void
conn_count_body(struct conn *c)
{
	c->srv->stats->bytes_spliced += c->stream.spliced;
	c->srv->stats->bytes_copied += c->stream.moved - c->stream.spliced;
}

/* N response body bytes went to the client: a link's byte budget counts them. */
static void
conn_count_out_body(struct conn *c, uint64_t n)
{
	uint64_t back = n < c->link_reserved ? n : c->link_reserved;

	if (c->link_usage != NULL && n > 0) {
		server_link_count(c->link_usage, n);
		server_link_release(c->link_usage, back);
		c->link_reserved -= back;
	}
}

/*
 * A --max-uses link's body is reserved against its budget before its
 * first byte goes (server_link_reserve): downloads started side by side
 * were each admitted while the budget was not spent, and must not each
 * take what is left.  One that does not fit, or whose length is not
 * known ahead, is refused (the backend's body is not read: its
 * connection closes).  Returns 1 to relay the answer, else 0 after
 * answering.
 */
int
conn_link_reserve(struct conn *c)
{
	if (c->link_usage == NULL || !c->resp_has_body)
		return 1;
	if (c->resp_framing == STREAM_LENGTH &&
	    server_link_reserve(c->link_usage, c->cred.link_max_uses, c->resp_length)) {
		c->link_reserved = c->resp_length;
		return 1;
	}
	c->decision.allow = 0;
	snprintf(c->decision.reason, sizeof(c->decision.reason), "link budget spent");
	c->srv->stats->denied++;
	c->abort_backend = 1;
	(void)conn_reply_error(c, S3ERR_ACCESS_DENIED, "This link has been used as many times as it "
	    "allows; ask the person who shared it for a new one.");
	return 0;
}

/* The upload is given up (the backend answered early or stopped taking it): read its answer. */
void
conn_abandon_upload(struct conn *c)
{
	c->closing = 1;
	c->abort_backend = 1;
	stream_release(&c->stream);
	c->streaming = 0;
	conn_side_want(&c->client, 0, 0);
	conn_set_state(c, CONN_READ_RESP_HEAD);
}

/* s3gate tells the client to send its body (the backend said so, or stayed silent). */
void
conn_send_continue(struct conn *c)
{
	sbuf_reset(&c->out);
	c->out_off = 0;
	c->out_more = 0;
	sbuf_appends(&c->out, "HTTP/1.1 100 Continue\r\n\r\n");
	conn_side_want(&c->backend, 0, 0);
	conn_set_state(c, CONN_SEND_CONTINUE);
}

/* Drops an interim (1xx) response the backend sent from its buffer. */
void
conn_skip_interim(struct conn *c)
{
	memmove(c->backend.buf, c->backend.buf + c->resp.head_len, c->backend.len - c->resp.head_len);
	c->backend.len -= c->resp.head_len;
}

/* The request's access-log line (accesslog.h). */
static void
conn_access_log(struct conn *c, double ms)
{
	struct accesslog_entry e;
	const struct http_header *ua;
	char ua_buf[256] = "", akid[130] = "";

	memset(&e, 0, sizeof(e));
	e.request_id = c->request_id;
	e.remote = c->peer;
	e.method = c->head.method;
	e.principal = c->cred.principal;
	if (c->auth.access_key_id[0] != '\0') {
		snprintf(akid, sizeof(akid), "%s", c->auth.access_key_id);
		e.access_key_id = akid;
	}
	e.link_budget_left = -1;
	if (c->cred.link_method != NULL) {
		e.presign_id = c->cred.access_key_id;	/* the principal is the link's issuer */
		if (c->link_usage != NULL)
			e.link_budget_left = server_link_budget_left(c->link_usage,
			    c->cred.link_max_uses);
	}
	if (c->decided && c->decision.allow && c->access.via != VIA_NONE) {
		e.via = policy_via_str(c->access.via);
		e.permission = policy_perm_str(c->access.perm);
		e.grant_prefix = c->access.prefix;
		e.grant_expires_at = c->access.expires_at;
	}
	e.bucket = c->addr.bucket != NULL ? c->addr.bucket : c->gateapi_bucket;
	e.key = c->addr.key;
	e.action = c->op_valid ? c->op.action : c->gateapi_action;
	e.decision = c->decided ? (c->decision.allow ? "allow" : "deny") : "-";
	e.reason = c->decided ? c->decision.reason : NULL;
	e.status = c->resp_status;
	e.error_code = c->error != S3ERR_NONE ? s3err_info(c->error)->code : NULL;
	e.backend_request_id = c->backend_request_id;
	if ((ua = httpmsg_header_find(&c->head, "user-agent")) != NULL) {
		snprintf(ua_buf, sizeof(ua_buf), "%.*s", (int)ua->value_len, ua->value);
		e.user_agent = ua_buf;
	}
	e.bytes_in = c->bytes_in;
	e.bytes_out = c->bytes_out;
	e.duration_ms = ms;
	accesslog_write(&e);
}

static void
conn_log_request(struct conn *c)
{
	struct server *srv = c->srv;
	const char *action = c->op_valid ? c->op.action : c->gateapi_action;
	double ms;
	int cls;

	if (c->request_id[0] == '\0')
		return;
	ms = conn_elapsed_ms(c);
	if (accesslog_enabled())
		conn_access_log(c, ms);
	srv->stats->requests++;
	cls = c->resp_status / 100;
	if (cls >= 1 && cls <= 5)
		srv->stats->status_class[cls]++;
	srv->stats->bytes_in += c->bytes_in;
	srv->stats->bytes_out += c->bytes_out;
	srv->stats->latency_sum += ms / 1e3;
	if (action != NULL) {
		struct server_action_count *ac = server_action_slot(srv->stats, action);
		if (ac != NULL) {
			if (!c->decided)
				ac->other++;
			else if (c->decision.allow)
				ac->allow++;
			else
				ac->deny++;
		}
	}
	server_histogram_add(srv->stats->latency_bucket, ms);
	if (c->error != S3ERR_NONE)
		log_debug("request %s: %s %s", c->request_id, s3err_info(c->error)->code,
		    c->error_message ? c->error_message : "");
	c->request_id[0] = '\0';
}

/*
 * Are there request body bytes on the client connection that nobody read?
 * Then s3gate cannot tell where the next request begins: an answer it
 * makes itself must close the connection (after lingering), or the body
 * would be parsed as a request of its own -- one that never went through
 * the checks its sender meant it to (request smuggling).  What came with
 * the head (body_prefix) is dropped with it.
 */
static int
conn_body_unread(const struct conn *c)
{
	if (c->req_body_read || c->req_body_done)
		return 0;
	if (c->req_chunked)
		return 1;	/* only the chunked framing says where it ends, and nobody followed it */
	return c->req_body_len > c->body_prefix;
}

/*
 * Answers with an S3 error.  Whether the client connection survives depends
 * on whether its body was consumed; an unread body means closing.
 */
int
conn_fail(struct conn *c, enum s3err err, const char *message)
{
	struct sbuf body = SBUF_INIT;
	struct sbuf resource = SBUF_INIT;

	c->error = err;
	if (c->api != NULL && !c->decided) {
		/* an API call refused before any decision: logged as a denial with its cause */
		c->decided = 1;
		c->decision.allow = 0;
		snprintf(c->decision.reason, sizeof(c->decision.reason), "%s", s3err_info(err)->code);
	}
	if (message != NULL && c->error_message == NULL)
		c->error_message = strdup(message);
	if (conn_body_unread(c))
		c->closing = 1;
	if (c->addr.bucket != NULL) {
		sbuf_appendf(&resource, "/%s", c->addr.bucket);
		if (c->addr.key != NULL)
			sbuf_appendf(&resource, "/%s", c->addr.key);
	}
	s3err_xml(&body, err, message, resource.data, c->request_id);
	c->resp_status = s3err_info(err)->status;
	{
		char extra[64 + sizeof(RESPOND_CORS_ALLOW)] = "";
		int n = 0;

		if (c->retry_after > 0)
			n = snprintf(extra, sizeof(extra), "Retry-After: %d\r\n", c->retry_after);
		/* readable by a web page (respond.h); the backend's answers are relayed as they came */
		snprintf(extra + n, sizeof(extra) - (size_t)n, "%s",
		    respond_cors_headers(&c->head, c->conf->cors_errors));
		respond_build(&c->out, c->resp_status, "application/xml", body.data, body.len,
		    c->is_head_method, c->closing, c->request_id, extra[0] ? extra : NULL);
	}
	sbuf_free(&body);
	sbuf_free(&resource);
	if (c->streaming) {
		stream_release(&c->stream);
		c->streaming = 0;
	}
	c->out_off = 0;
	conn_side_want(&c->backend, 0, 0);
	conn_set_state(c, CONN_LOCAL_RESPONSE);
	conn_timer_set(c, c->conf->body_timeout_ms);
	return 1;
}

int
conn_reply_error(struct conn *c, enum s3err err, const char *message)
{
	return conn_fail(c, err, message);
}

/*
 * A response s3gate made itself, written in LOCAL_RESPONSE; with a body
 * left unread (ListBuckets, a body-less API call that got one anyway), the
 * connection closes after it.  Returns 1.
 */
static int
conn_reply_extra(struct conn *c, int status, const char *content_type, const char *body,
    size_t len, const char *extra_headers)
{
	if (conn_body_unread(c))
		c->closing = 1;
	c->resp_status = status;
	respond_build(&c->out, status, content_type, body, len, c->is_head_method, c->closing,
	    c->request_id, extra_headers);
	c->out_off = 0;
	conn_set_state(c, CONN_LOCAL_RESPONSE);
	conn_timer_set(c, c->conf->body_timeout_ms);
	return 1;
}

int
conn_reply(struct conn *c, int status, const char *content_type, const char *body, size_t len)
{
	return conn_reply_extra(c, status, content_type, body, len, NULL);
}

/* 200 with an empty body and a Location header (CreateBucket). */
int
conn_reply_location(struct conn *c, const char *location)
{
	char extra[400];

	snprintf(extra, sizeof(extra), "Location: %s\r\n", location);
	return conn_reply_extra(c, 200, "application/xml", "", 0, extra);
}

void
conn_resume(struct conn *c)
{
	c->store_pending = 0;
	conn_drive(c);
}

/*
 * "%08X%08llX" of SEED and the worker's request count, written out by
 * hand: snprintf's parsing of its format cost more than the rest of this.
 */
static void
conn_request_id(char out[24], uint32_t seed, uint64_t count)
{
	static const char hexd[] = "0123456789ABCDEF";
	char *p = out;
	int i;

	for (i = 28; i >= 0; i -= 4)
		*p++ = hexd[(seed >> i) & 15];
	/* the count's own width when it needs more than 8 digits, as %08llX */
	for (i = 60; i > 28 && (count >> i) == 0; i -= 4)
		;
	for (; i >= 0; i -= 4)
		*p++ = hexd[(count >> i) & 15];
	*p = '\0';
}

/* Parses what the request names; fills addr, query, framing. */
static int
conn_request_start(struct conn *c)
{
	const struct http_header *host;
	enum s3err err;

	c->srv->request_id_seed = c->srv->request_id_seed * 1103515245u + 12345u;
	conn_request_id(c->request_id, c->srv->request_id_seed, c->srv->stats->requests + 1);
	clock_gettime(CLOCK_MONOTONIC, &c->started);
	c->is_head_method = strcmp(c->head.method, "HEAD") == 0;
	c->body_prefix = c->client.len - c->head.head_len;
	c->req_chunked = c->head.chunked;
	if (c->head.has_content_length) {
		c->req_body_len = c->head.content_length;
		if (c->body_prefix > c->req_body_len)
			c->body_prefix = (size_t)c->req_body_len;	/* the rest is pipelined */
	} else if (c->req_chunked) {
		/* only aws-chunked bodies may come chunked (checked once authenticated);
		   the chunked framing, not a length, says where the body ends */
		c->req_body_len = UINT64_MAX;
	} else
		c->body_prefix = 0;
	if (!c->head.keep_alive)
		c->closing = 1;
	/*
	 * A draining s3gate (SIGTERM, or the old generation after a reload)
	 * finishes the requests under way but starts no new one: a head that
	 * came whole only now would be decided under the configuration a
	 * reload replaced (a client that held a half-sent head across a reload
	 * got a PutBucketAcl through after allow_bucket_acl was turned off).
	 * 503 and close: clients retry on a new connection, which the new
	 * generation (or another instance) takes.
	 */
	if (c->srv->draining) {
		c->closing = 1;
		c->retry_after = 1;
		return conn_fail(c, S3ERR_BACKEND_UNAVAILABLE, "s3gate is restarting or shutting "
		    "down; retry on a new connection.");
	}
	if ((host = httpmsg_header_find(&c->head, "host")) == NULL && c->head.http_minor >= 1)
		return conn_fail(c, S3ERR_BAD_REQUEST, "HTTP/1.1 requests need a Host header.");
	if (s3addr_parse_again(c->head.target, c->head.target_len, host ? host->value : NULL,
	    host ? host->value_len : 0, c->conf->service_domains, c->conf->ndomains,
	    &c->addr, &err) == -1)
		return conn_fail(c, err, NULL);
	if (c->addr.raw_query != NULL &&
	    query_parse_again(c->addr.raw_query, c->addr.raw_query_len, CONN_MAX_QUERY_PARAMS,
	    &c->query) == -1)
		return conn_fail(c, S3ERR_INVALID_URI, "The query string is malformed.");
	conn_set_state(c, CONN_AUTH_WAIT);
	return auth_run(c);
}

/* The store could not answer: fail closed, 503, never an unchecked allow. */
static int
conn_store_unavailable(struct conn *c)
{
	c->decided = 1;
	c->decision.allow = 0;
	snprintf(c->decision.reason, sizeof(c->decision.reason), "store unavailable");
	return conn_fail(c, S3ERR_POLICY_UNAVAILABLE, NULL);
}

/*
 * What a store answer means for the stage that asked: DONE goes on (-1),
 * PENDING waits for conn_store_cb, which re-runs the same stage (the store
 * then answers from its cache), UNAVAILABLE fails closed.
 */
int
conn_store_wait(struct conn *c, enum pstore_result r)
{
	switch (r) {
	case PSTORE_DONE:
		return -1;
	case PSTORE_PENDING:
		c->store_pending = 1;
		return 0;
	case PSTORE_UNAVAILABLE:
		break;
	}
	return conn_store_unavailable(c);
}

void
conn_store_cb(void *arg)
{
	struct conn *c = arg;

	/* the stage that asked runs again from conn_drive(); the store answers from its cache */
	c->store_pending = 0;
	conn_drive(c);
}

/* Seconds on the monotonic clock: what quotas count in. */
double
conn_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A body paused by the bandwidth quota resumes when the timer fires. */
static void
conn_throttle_cb(evutil_socket_t fd, short what, void *arg)
{
	conn_drive(arg);
}

/* Both sides rest WAIT seconds for the principal's byte bucket to refill. */
static void
conn_throttle_pause(struct conn *c, double wait)
{
	c->srv->stats->throttle_waits++;
	conn_side_want(&c->client, 0, 0);
	conn_side_want(&c->backend, 0, 0);
	if (c->throttle == NULL && (c->throttle = evtimer_new(c->srv->base, conn_throttle_cb, c)) == NULL)
		fatalx("evtimer_new failed");
	{
		struct timeval tv = { (time_t)wait, (suseconds_t)((wait - (double)(time_t)wait) * 1e6) };
		event_add(c->throttle, &tv);
	}
	conn_timer_set(c, c->conf->body_timeout_ms);	/* pausing is not idling */
}

/*
 * Body bytes that move outside the stream's reads -- a small object's
 * whole body in the response head's write, the request body read with its
 * head -- are bytes of the bandwidth quota in DIR like the stream's: N of
 * them wait while the byte bucket is empty, then are counted once (*PAID).
 * Many small transfers went out unshaped.  Returns 1 when they may go, 0
 * while they rest.
 */
int
conn_quota_pay(struct conn *c, enum quota_dir dir, uint64_t n, int *paid)
{
	double wait = 0.01;

	if (n == 0 || *paid || c->quota == NULL || c->quota->limits.bandwidth <= 0)
		return 1;
	if (quota_bytes_allowed(c->quota, dir, conn_now(), &wait) == 0) {
		conn_throttle_pause(c, wait);
		return 0;
	}
	quota_bytes_used(c->quota, dir, n);
	*paid = 1;
	return 1;
}

/*
 * Runs the body relay within the principal's bandwidth quota: the source
 * is read only as far as the byte bucket allows, then both sides rest
 * until it has refilled.
 */
enum stream_result
conn_stream_run(struct conn *c, enum quota_dir dir)
{
	enum stream_result r;
	uint64_t before = c->stream.read_bytes;
	double wait = 0.01;

	c->stream.budget = UINT64_MAX;
	if (c->quota != NULL && c->quota->limits.bandwidth > 0) {
		c->stream.budget = quota_bytes_allowed(c->quota, dir, conn_now(), &wait);
		if (c->stream.budget == 0)
			goto pause;
	}
	r = stream_run(&c->stream);
	if (c->quota != NULL)
		quota_bytes_used(c->quota, dir, c->stream.read_bytes - before);
	if (r != STREAM_THROTTLED)
		return r;
	if (quota_bytes_allowed(c->quota, dir, conn_now(), &wait) > 0)
		wait = 0.001;
pause:
	conn_throttle_pause(c, wait);
	return STREAM_THROTTLED;
}

/*
 * Reads the rest of a small request body (Content-Length, bounded by the
 * caller) into INTO: 1 when it is all there, 0 to wait, -1 after answering
 * IncompleteBody (the client went away).
 */
int
conn_read_small_body(struct conn *c, struct sbuf *into)
{
	ssize_t n;
	int io_want;

	while (into->len < c->req_body_len) {
		size_t room = (size_t)c->req_body_len - into->len;
		if (room > 65536)
			room = 65536;
		sbuf_reserve(into, room);
		n = sockio_recv(c->client.fd, c->client.ssl, into->data + into->len, room, &io_want);
		if (n > 0) {
			into->len += (size_t)n;
			into->data[into->len] = '\0';
			continue;
		}
		if (n == -1 && (errno == EAGAIN || errno == EINTR)) {
			c->client.io_want = io_want;
			conn_side_wait_io(&c->client);
			return 0;
		}
		c->closing = 1;
		(void)conn_fail(c, S3ERR_INCOMPLETE_BODY, NULL);
		return -1;
	}
	c->req_body_read = 1;
	c->bytes_in = into->len;
	conn_side_want(&c->client, 0, 0);
	return 1;
}

/*
 * The body is in memory and goes to the backend right after the head: the
 * client's Expect: 100-continue (answered by s3gate already) must not make
 * the backend hold it back or send a 100 of its own mid-body.  The head was
 * authenticated already; the backend's head is re-signed without it.
 */
static void
conn_head_drop_expect(struct conn *c)
{
	size_t i = 0;

	while (i < c->head.nheaders) {
		const struct http_header *h = &c->head.headers[i];
		if (h->name_len == 6 && strncasecmp(h->name, "expect", 6) == 0) {
			memmove(&c->head.headers[i], &c->head.headers[i + 1],
			    (c->head.nheaders - i - 1) * sizeof(c->head.headers[0]));
			c->head.nheaders--;
		} else
			i++;
	}
}

/* CONN_READ_BODY: a body the policy must see (DeleteObjects), then back to AUTH_WAIT. */
static int
conn_do_read_body(struct conn *c)
{
	int r = conn_read_small_body(c, &c->prebody);

	if (r <= 0)
		return r < 0;
	conn_head_drop_expect(c);
	c->prebody_ready = 1;
	conn_set_state(c, CONN_AUTH_WAIT);
	return 1;
}

void
conn_continue_small_body(struct conn *c)
{
	if (c->head.expect_continue && c->body_prefix < c->req_body_len && !c->continue_sent) {
		/* 25 bytes on a connection with nothing else to send: the socket buffer takes them */
		static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
		int want;
		(void)sockio_send(c->client.fd, c->client.ssl, cont, sizeof(cont) - 1, 0, &want);
		c->continue_sent = 1;
	}
}

void
conn_small_body_timer(struct conn *c)
{
	conn_timer_set(c, c->conf->body_timeout_ms);
}

/*
 * The policy must see the body first (auth.c, DeleteObjects): what came
 * with the head goes into c->prebody, the rest is read in CONN_READ_BODY
 * (the caller has bounded its length).  Returns 1.
 */
int
conn_read_prebody(struct conn *c)
{
	sbuf_reset(&c->prebody);
	sbuf_append(&c->prebody, c->client.buf + c->head.head_len, c->body_prefix);
	conn_continue_small_body(c);
	conn_set_state(c, CONN_READ_BODY);
	conn_timer_set(c, c->conf->body_timeout_ms);
	return 1;
}

/*
 * Only a backend connection whose whole answer was relayed, and nothing
 * more, may go back to the pool: bytes past the response (a body on a 204,
 * bytes beyond Content-Length, a second response) would otherwise be read
 * as the next borrower's answer -- another user's.  Marks it for closing
 * otherwise.
 */
static void
conn_backend_check_reusable(struct conn *c)
{
	if (c->backend.fd == -1 || c->abort_backend)
		return;
	if (!c->resp_complete) {
		c->abort_backend = 1;
		return;
	}
	if (c->backend.len != c->resp_consumed) {
		log_info("request %s: backend sent %zu bytes past its response; connection closed, "
		    "not reused", c->request_id, c->backend.len - c->resp_consumed);
		c->srv->stats->backend_errors++;
		c->abort_backend = 1;
	}
}

/*
 * The answer is out and the client's body was not read: closing now would
 * reset the connection (close(2) with unread bytes sends RST), and a reset
 * can overtake the answer still in flight, so the client would see
 * "connection reset" instead of it.  So the write side is shut, and what
 * the client still sends is read and dropped, at most CONN_LINGER_BYTES
 * within CONN_LINGER_MS (as nginx's lingering_close).
 */
static void
conn_linger_start(struct conn *c)
{
	if (c->client.ssl != NULL) {
		ERR_clear_error();
		(void)SSL_shutdown(c->client.ssl);
	}
	(void)shutdown(c->client.fd, SHUT_WR);
	c->linger_left = CONN_LINGER_BYTES;
	conn_side_want(&c->client, 1, 0);
	conn_set_state(c, CONN_LINGER);
	conn_timer_set(c, CONN_LINGER_MS);
}

/* The request is over: log it, then keep or close each side. */
static int
conn_finish(struct conn *c)
{
	size_t consumed;

	conn_backend_check_reusable(c);
	conn_log_request(c);
	if (c->streaming) {
		stream_release(&c->stream);
		c->streaming = 0;
	}
	if (c->backend.fd != -1) {
		if (c->abort_backend || c->srv->draining)
			conn_side_close(&c->backend, c->abort_backend);
		else
			conn_side_release(c, &c->backend);
	}
	c->abort_backend = 0;
	c->backend.len = 0;
	if (c->closing || c->srv->draining) {
		/*
		 * An unread body (after s3gate's answer or a backend's early
		 * one), or a head refused or never finished (too large, bad,
		 * head_timeout: head_len 0) whose rest may still come: closed
		 * now, the client would lose what it had not read yet, the
		 * answers to the requests it pipelined before this one too
		 * (t_chaos.sh, t_bypass16.sh).  So is any answer that ends the
		 * connection (HTTP/1.0, Connection: close, framed by the
		 * close, or a keep-alive one while s3gate drains): requests
		 * the client pipelined after it, come or still coming, would
		 * reset it, the answer cut (t_chaos.sh)
		 */
		conn_linger_start(c);
		return 1;
	}
	/* keep what was read past this request: a pipelined next one */
	consumed = c->head.head_len + c->body_prefix;
	if (consumed < c->client.len)
		memmove(c->client.buf, c->client.buf + consumed, c->client.len - consumed);
	c->client.len -= consumed;
	if (c->req_rest.len > 0) {
		/* read past a chunked body (conn_keep_rest); rest_max kept it within the limit */
		if (conn_side_grow(&c->client, c->client.len + c->req_rest.len, CONN_HEAD_INITIAL,
		    CONN_HEAD_BUF_MAX(c)) == -1) {
			conn_set_state(c, CONN_CLOSED);
			return 1;
		}
		memcpy(c->client.buf + c->client.len, c->req_rest.data, c->req_rest.len);
		c->client.len += c->req_rest.len;
		sbuf_free(&c->req_rest);
	}
	conn_request_reset(c);
	conn_side_want(&c->client, 1, 0);
	conn_set_state(c, CONN_READ_HEAD);
	conn_timer_set(c, c->client.len ? c->conf->head_timeout_ms : c->conf->idle_timeout_ms);
	/*
	 * Nothing buffered: wait for the next request rather than try a read
	 * that would almost always say EAGAIN.  ev_read is level-triggered,
	 * so bytes already in the socket wake us at once.
	 */
	return c->client.len > 0 || (c->client.ssl != NULL && SSL_has_pending(c->client.ssl));
}

/* The client as an address and as text (c->peer, for logs). */
static void
conn_set_peer(struct conn *c, const struct sockaddr *sa, socklen_t salen)
{
	char host[INET6_ADDRSTRLEN] = "?";

	if (sa->sa_family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, host, sizeof(host));
	else if (sa->sa_family == AF_INET6)
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr, host, sizeof(host));
	snprintf(c->peer, sizeof(c->peer), "%s", host);
	if (salen <= sizeof(c->peer_addr))
		memcpy(&c->peer_addr, sa, salen);
}

/*
 * CONN_PROXY_HEADER: the balancer's PROXY header (proxyproto.h), taken
 * without a byte past it -- what follows is the client's TLS handshake or
 * request, which OpenSSL or READ_HEAD reads from the socket: what has come
 * is peeked at, and only the header's bytes are taken (while it comes in
 * pieces, they gather in client.buf).  Then the client it names is the
 * connection's peer, counted against max_connections_per_ip as any other;
 * a LOCAL header (the balancer's health check) leaves the balancer's.
 */
static int
conn_do_proxy_header(struct conn *c)
{
	unsigned char peek[PROXYPROTO_MAX];
	struct proxyproto_header h;
	enum proxyproto_result r;
	size_t have = c->client.len;
	const char *why;
	ssize_t n;

	n = recv(c->client.fd, peek, sizeof(peek) - have, MSG_PEEK);
	if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
		conn_side_want(&c->client, 1, 0);
		return 0;
	}
	if (n <= 0 || conn_side_grow(&c->client, have + (size_t)n, PROXYPROTO_MAX,
	    PROXYPROTO_MAX) == -1) {
		conn_set_state(c, CONN_CLOSED);
		return 1;
	}
	memcpy(c->client.buf + have, peek, (size_t)n);
	r = proxyproto_parse((const unsigned char *)c->client.buf, have + (size_t)n, &h, &why);
	if (r == PROXYPROTO_BAD) {
		log_info("conn %llu from %s: %s; closing", (unsigned long long)c->id, c->peer, why);
		conn_set_state(c, CONN_CLOSED);
		return 1;
	}
	/* take what is the header's: all that came, or up to its end */
	if (r == PROXYPROTO_MORE)
		h.len = have + (size_t)n;
	if (recv(c->client.fd, peek, h.len - have, 0) != (ssize_t)(h.len - have)) {
		conn_set_state(c, CONN_CLOSED);
		return 1;
	}
	if (r == PROXYPROTO_MORE) {
		c->client.len = h.len;
		conn_side_want(&c->client, 1, 0);
		return 0;
	}
	c->client.len = 0;
	if (!h.local)
		conn_set_peer(c, (const struct sockaddr *)&h.src, h.src_len);
	if (!server_peer_count(c->srv, (const struct sockaddr *)&c->peer_addr, 1)) {
		c->srv->stats->refused_connections++;
		conn_set_state(c, CONN_CLOSED);
		return 1;
	}
	c->peer_counted = 1;
	conn_set_state(c, c->client.ssl != NULL ? CONN_TLS_HANDSHAKE : CONN_READ_HEAD);
	conn_timer_set(c, c->client.ssl != NULL ? c->conf->head_timeout_ms : c->conf->idle_timeout_ms);
	return 1;
}

static int
conn_do_tls_handshake(struct conn *c)
{
	int r = sockio_handshake(c->client.ssl, &c->client.io_want);

	if (r == 0) {
		conn_side_wait_io(&c->client);
		return 0;
	}
	if (r == -1) {
		log_debug("conn %llu: TLS handshake with %s failed", (unsigned long long)c->id, c->peer);
		ERR_clear_error();
		conn_set_state(c, CONN_CLOSED);
		return 1;
	}
	conn_side_want(&c->client, 1, 0);
	conn_set_state(c, CONN_READ_HEAD);
	conn_timer_set(c, c->conf->idle_timeout_ms);
	return 1;
}

/*
 * A reload (SIGHUP) of a single-process s3gate applies to every request
 * that comes after it, also on connections opened before: what the
 * operator turned off (allow_bucket_acl, bucket_config_ops, sigv2,
 * bucket_create, a service domain) must not go on for a client that
 * keeps its connection alive.  (A new generation of workers gets the
 * same by the old ones closing their connections after their request.)
 * Taken between requests only, when nothing of one is under way.
 */
static void
conn_take_conf(struct conn *c)
{
	if (c->conf == c->srv->conf)
		return;
	conf_unref(c->conf);
	c->conf = c->srv->conf;
	conf_ref(c->conf);
}

static int
conn_do_read_head(struct conn *c)
{
	struct http_limits lim;
	ssize_t n;

	conn_take_conf(c);
	lim.max_head = c->conf->max_head_size;
	lim.max_uri = c->conf->max_uri_size;
	lim.max_headers = c->conf->max_headers;
	for (;;) {
		if (c->client.len > 0) {
			switch (httpmsg_parse_head(c->client.buf, c->client.len, 0, &lim, &c->head)) {
			case HTTP_PARSE_DONE:
				conn_side_want(&c->client, 0, 0);
				return conn_request_start(c);
			case HTTP_PARSE_BAD:
				c->closing = 1;
				/* not a request (a complete head may be refused too): its answer lingers */
				c->head.head_len = 0;
				snprintf(c->request_id, sizeof(c->request_id), "bad-%llu",
				    (unsigned long long)c->id);
				clock_gettime(CLOCK_MONOTONIC, &c->started);
				return conn_fail(c, S3ERR_BAD_REQUEST, c->head.error);
			case HTTP_PARSE_TOO_LARGE:
				c->closing = 1;
				c->head.head_len = 0;
				snprintf(c->request_id, sizeof(c->request_id), "big-%llu",
				    (unsigned long long)c->id);
				clock_gettime(CLOCK_MONOTONIC, &c->started);
				return conn_fail(c, strstr(c->head.error, "target") ?
				    S3ERR_URI_TOO_LONG : S3ERR_HEAD_TOO_LARGE, c->head.error);
			case HTTP_PARSE_MORE:
				/*
				 * What was parsed points into client.buf, which the read
				 * below may move (realloc): not kept, or the 400
				 * RequestTimeout of a head that never ends would read
				 * freed memory (its CORS lines, the access log's
				 * user agent; t_bypass15.sh).
				 */
				memset(&c->head, 0, offsetof(struct http_head, headers));
				break;
			}
		}
		n = conn_side_read(&c->client, CONN_HEAD_INITIAL, CONN_HEAD_BUF_MAX(c));
		if (n > 0) {
			if (c->client.len == (size_t)n)
				conn_timer_set(c, c->conf->head_timeout_ms);
			continue;
		}
		if (n == -1 && (errno == EAGAIN || errno == EINTR)) {
			conn_side_wait_io(&c->client);
			return 0;
		}
		/* EOF or error between requests is the normal end of keep-alive */
		conn_set_state(c, CONN_CLOSED);
		return 1;
	}
}

/* Time to the first byte of the response: the head is out. */
static void
conn_record_ttfb(struct conn *c)
{
	double ms = conn_elapsed_ms(c);

	c->srv->stats->ttfb_count++;
	c->srv->stats->ttfb_sum += ms / 1e3;
	server_histogram_add(c->srv->stats->ttfb_bucket, ms);
}

static int
conn_do_local_response(struct conn *c)
{
	int r = conn_write_out(c, &c->client);

	if (r == 0)
		return 0;
	if (r == -1) {
		conn_log_request(c);
		conn_set_state(c, CONN_CLOSED);
		return 1;
	}
	c->bytes_out += c->out.len;
	return conn_finish(c);
}

static int
conn_do_linger(struct conn *c)
{
	char sink[16384];
	ssize_t n;

	for (;;) {
		n = recv(c->client.fd, sink, sizeof(sink), 0);
		if (n > 0 && (uint64_t)n < c->linger_left) {
			c->linger_left -= (uint64_t)n;
			continue;
		}
		if (n == -1 && (errno == EAGAIN || errno == EINTR))
			return 0;
		conn_set_state(c, CONN_CLOSED);
		return 1;
	}
}

static int
conn_do_resp_body(struct conn *c)
{
	enum stream_result r;
	uint64_t before = c->stream.moved;

	r = conn_stream_run(c, QUOTA_OUT);
	c->bytes_out += c->stream.moved - before;
	conn_count_out_body(c, c->stream.moved - before);
	if (c->stream.moved != before)
		conn_timer_set(c, c->conf->body_timeout_ms);
	switch (r) {
	case STREAM_DONE:
		conn_count_body(c);
		c->resp_complete = 1;
		return conn_finish(c);
	case STREAM_THROTTLED:
		return 0;
	case STREAM_WAIT:
		conn_side_want(&c->backend, (c->stream.src_want & SOCKIO_WANT_READ) != 0,
		    (c->stream.src_want & SOCKIO_WANT_WRITE) != 0);
		conn_side_want(&c->client, (c->stream.dst_want & SOCKIO_WANT_READ) != 0,
		    (c->stream.dst_want & SOCKIO_WANT_WRITE) != 0);
		return 0;
	case STREAM_SRC_EOF:
	case STREAM_SRC_ERROR:
	case STREAM_BAD_FRAMING:
	case STREAM_BAD_DIGEST:		/* (uploads only) */
		/* cut the client off: a short body must not pass for a complete one */
		log_warnx("request %s: backend broke off the response body after %llu bytes",
		    c->request_id, (unsigned long long)c->stream.moved);
		c->srv->stats->backend_errors++;
		break;
	case STREAM_DST_ERROR:
		c->srv->stats->client_aborts++;
		break;
	}
	c->abort_backend = 1;
	c->closing = 1;
	conn_log_request(c);
	conn_set_state(c, CONN_CLOSED);
	return 1;
}

/* Runs the state machine until it must wait; frees the connection when closed. */
static void
conn_drive(struct conn *c)
{
	int again = 1, r;

	while (again && c->state != CONN_CLOSED) {
		switch (c->state) {
		case CONN_PROXY_HEADER:
			again = conn_do_proxy_header(c);
			break;
		case CONN_TLS_HANDSHAKE:
			again = conn_do_tls_handshake(c);
			break;
		case CONN_BACKEND_TLS:
			again = conn_do_backend_tls(c);
			break;
		case CONN_READ_HEAD:
			again = conn_do_read_head(c);
			break;
		case CONN_AUTH_WAIT:
			again = c->store_pending ? 0 : auth_run(c);
			break;
		case CONN_BACKEND_CONNECT:
			again = conn_do_backend_connect(c);
			break;
		case CONN_SEND_HEAD:
			again = conn_do_send_head(c);
			break;
		case CONN_WAIT_CONTINUE:
			again = conn_do_read_resp_head(c);
			break;
		case CONN_SEND_CONTINUE:
			r = conn_write_out(c, &c->client);
			if (r == 0) {
				again = 0;
				break;
			}
			if (r == -1) {
				c->abort_backend = 1;
				conn_set_state(c, CONN_CLOSED);
				break;
			}
			conn_side_want(&c->client, 0, 0);
			conn_stream_start(c, 1);
			conn_set_state(c, CONN_REQ_BODY);
			conn_timer_set(c, c->conf->body_timeout_ms);
			break;
		case CONN_REQ_BODY:
			if (c->backend_readable) {
				c->backend_readable = 0;
				if (conn_backend_early_answer(c)) {
					/* the backend answered (or closed) before the body was done */
					conn_abandon_upload(c);
					break;
				}
			}
			again = conn_do_req_body(c);
			break;
		case CONN_READ_RESP_HEAD:
			again = conn_do_read_resp_head(c);
			break;
		case CONN_READ_RESP_WHOLE:
			again = conn_do_read_resp_whole(c);
			break;
		case CONN_LOCK_PROBE:
			again = conn_do_lock_probe(c);
			break;
		case CONN_SEND_RESP_HEAD:
			if (!conn_quota_pay(c, QUOTA_OUT, c->resp_with_head, &c->resp_with_head_paid)) {
				again = 0;
				break;
			}
			r = conn_write_out(c, &c->client);
			if (r == 0) {
				again = 0;
				break;
			}
			if (r == -1) {
				c->abort_backend = 1;
				conn_log_request(c);
				conn_set_state(c, CONN_CLOSED);
				break;
			}
			c->bytes_out += c->out.len;
			conn_count_out_body(c, c->resp_with_head);
			c->srv->stats->bytes_copied += c->resp_with_head;
			conn_record_ttfb(c);
			conn_side_want(&c->client, 0, 0);
			if (c->out_more) {
				conn_stream_start(c, 0);
				conn_set_state(c, CONN_RESP_BODY);
			} else {
				c->resp_complete = 1;
				again = conn_finish(c);
			}
			break;
		case CONN_RESP_BODY:
			again = conn_do_resp_body(c);
			break;
		case CONN_API_BODY:
			again = gateapi_read_body(c);
			break;
		case CONN_READ_BODY:
			again = conn_do_read_body(c);
			break;
		case CONN_LOCAL_RESPONSE:
			again = conn_do_local_response(c);
			break;
		case CONN_LINGER:
			again = conn_do_linger(c);
			break;
		case CONN_CLOSED:
		case CONN__NSTATES:
			again = 0;
			break;
		}
	}
	if (c->state == CONN_CLOSED)
		conn_abort(c);
}

/* During an upload: has the backend sent a response (or closed)? */
static int
conn_backend_answered(struct conn *c)
{
	char b;
	int n;

	if (c->backend.ssl == NULL)
		return recv(c->backend.fd, &b, 1, MSG_PEEK | MSG_DONTWAIT) >= 0;
	/* TLS records that carry no data (tickets, key updates) are not an answer */
	ERR_clear_error();
	if ((n = SSL_peek(c->backend.ssl, &b, 1)) > 0)
		return 1;
	switch (SSL_get_error(c->backend.ssl, n)) {
	case SSL_ERROR_WANT_READ:
	case SSL_ERROR_WANT_WRITE:
		return 0;
	default:
		return 1;
	}
}

static void
conn_side_event(struct conn *c, struct conn_side *s, short what)
{
	if (what == EV_READ && !s->want_read) {
		/* registered lazily (conn_side_want) and not wanted now */
		event_del(s->ev_read);
		s->reading = 0;
		return;
	}
	if (c->state == CONN_REQ_BODY && s == &c->backend && (what & EV_READ))
		c->backend_readable = conn_backend_answered(c);
	conn_drive(c);
}

static void
conn_io_cb(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;

	conn_side_event(c, &c->client, what);
}

void
conn_backend_event(struct conn *c, short what)
{
	conn_side_event(c, &c->backend, what);
}

/*
 * A body or an answer stopped moving (or crawls under body_min_rate): the
 * backend's request is reset, so an upload stores nothing, and the client
 * closed; an answer had begun or the client is not reading, so none is sent.
 */
static void
conn_body_stalled(struct conn *c)
{
	c->error = S3ERR_REQUEST_TIMEOUT;
	c->abort_backend = 1;
	conn_log_request(c);
	conn_set_state(c, CONN_CLOSED);
}

static void
conn_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;
	int64_t now = conn_now_ms();

	c->armed_ms = 0;
	if (conn_wake_ms(c) - now > CONN_TIMER_SLACK_MS) {
		conn_timer_arm(c, now);	/* the deadline moved on since it was armed */
		return;
	}
	if (c->deadline_ms - now > CONN_TIMER_SLACK_MS) {
		/* not the state's deadline: a body_min_rate window's end */
		if (!conn_pace_too_slow(c, now)) {
			conn_timer_arm(c, now);
			return;
		}
		conn_body_stalled(c);
		conn_drive(c);
		return;
	}
	switch (c->state) {
	case CONN_PROXY_HEADER:
		log_info("conn %llu from %s: no PROXY header within %d ms; closing",
		    (unsigned long long)c->id, c->peer, c->conf->head_timeout_ms);
		conn_set_state(c, CONN_CLOSED);
		break;
	case CONN_READ_HEAD:
		if (c->client.len == 0) {
			conn_set_state(c, CONN_CLOSED);	/* idle keep-alive */
		} else {
			c->closing = 1;
			snprintf(c->request_id, sizeof(c->request_id), "slow-%llu", (unsigned long long)c->id);
			clock_gettime(CLOCK_MONOTONIC, &c->started);
			(void)conn_fail(c, S3ERR_REQUEST_TIMEOUT, "The request head did not arrive in time.");
		}
		break;
	case CONN_WAIT_CONTINUE:
		/* no 100 from the backend within a second: say it ourselves */
		conn_send_continue(c);
		conn_timer_set(c, c->conf->body_timeout_ms);
		break;
	case CONN_BACKEND_CONNECT:
		/* the address is down, or too busy to take one: the next one, if any */
		conn_backend_addr_failed(c, UPSTREAM_FAIL_CONNECT, strerror(ETIMEDOUT));
		conn_side_close(&c->backend, 0);
		(void)conn_backend_dial(c, "The object store did not accept a connection in time.");
		break;
	case CONN_BACKEND_TLS:
		/* as a connect not taken in time: the next address, if any */
		conn_backend_addr_failed(c, UPSTREAM_FAIL_CONNECT, "TLS handshake timed out");
		conn_side_close(&c->backend, 0);
		(void)conn_backend_dial(c, "The object store did not accept a connection in time.");
		break;
	case CONN_SEND_HEAD:
	case CONN_READ_RESP_HEAD:
	case CONN_LOCK_PROBE:
		/* no answer in time (on a new connection: its gateway's failure, upstream.h) */
		if (conn_backend_retry(c, UPSTREAM_FAIL_TIMEOUT, "no answer within backend_timeout",
		    c->state == CONN_SEND_HEAD ||
		    (c->backend.len == 0 && (c->lock_probe || conn_retry_safe(c)))))
			break;
		/* FALLTHROUGH */
	case CONN_READ_RESP_WHOLE:
		log_warnx("request %s: backend timed out (%s)", c->request_id, conn_state_name(c->state));
		c->srv->stats->backend_errors++;
		c->abort_backend = 1;
		c->closing = 1;
		conn_side_close(&c->backend, 1);
		(void)conn_fail(c, S3ERR_BACKEND_TIMEOUT, NULL);
		break;
	case CONN_READ_BODY:
	case CONN_API_BODY:
		/*
		 * A body s3gate reads whole itself (DeleteObjects under a prefix
		 * grant, an API call): nothing went to the backend and no answer
		 * began, so the client is told, as S3 tells it, before the close.
		 */
		log_info("request %s: the body did not come within %d ms; closing", c->request_id,
		    c->conf->body_timeout_ms);
		c->closing = 1;
		(void)conn_fail(c, S3ERR_REQUEST_TIMEOUT, "The request body did not arrive in time.");
		break;
	case CONN_AUTH_WAIT:
		if (c->store_pending)
			pstore_cancel(c->srv->store, c);
		c->store_pending = 0;
		(void)conn_fail(c, S3ERR_POLICY_UNAVAILABLE, NULL);
		break;
	default:
		/* no progress on a body or a write within body_timeout */
		log_info("request %s: no progress for %d ms in %s; closing", c->request_id,
		    c->conf->body_timeout_ms, conn_state_name(c->state));
		conn_body_stalled(c);
		break;
	}
	conn_drive(c);
}

struct conn *
conn_new(struct server *srv, int fd, SSL *ssl, const struct sockaddr *sa, socklen_t salen,
    int proxy_protocol)
{
	struct conn *c;
	int one = 1;

	if ((c = calloc(1, sizeof(*c))) == NULL) {
		close(fd);
		return NULL;
	}
	c->srv = srv;
	c->conf = srv->conf;
	conf_ref(c->conf);
	c->id = ++srv->next_conn_id;
	c->client.fd = c->backend.fd = -1;
	conn_set_peer(c, sa, salen);
	c->peer_counted = !proxy_protocol;	/* server_accept_one counted it */
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	conn_side_attach(c, &c->client, fd);
	c->client.ssl = ssl;
	if ((c->timer = evtimer_new(srv->base, conn_timer_cb, c)) == NULL)
		fatalx("evtimer_new failed");
	c->state = proxy_protocol ? CONN_PROXY_HEADER : ssl != NULL ? CONN_TLS_HANDSHAKE : CONN_READ_HEAD;
	c->auth_stage = AUTH_STAGE_PARSE;
	TAILQ_INSERT_TAIL(&srv->conns, c, entry);
	srv->nconns++;
	__atomic_add_fetch(&srv->stats->connections_open, 1, __ATOMIC_RELAXED);
	/* read by the peer workers (server_peers_accepted) */
	__atomic_add_fetch(&srv->stats->connections_total, 1, __ATOMIC_RELAXED);
	conn_side_want(&c->client, 1, 0);
	conn_timer_set(c, ssl != NULL || proxy_protocol ? c->conf->head_timeout_ms :
	    c->conf->idle_timeout_ms);
	return c;
}

/* The one destructor: children in reverse order, secrets wiped. */
void
conn_abort(struct conn *c)
{
	if (c->store_pending) {
		pstore_cancel(c->srv->store, c);
		c->store_pending = 0;
	}
	conn_log_request(c);
	if (c->streaming) {
		stream_release(&c->stream);
		c->streaming = 0;
	}
	conn_side_close(&c->backend, c->abort_backend);
	conn_side_close(&c->client, 0);
	if (c->timer != NULL)
		event_free(c->timer);
	c->timer = NULL;
	if (c->throttle != NULL)
		event_free(c->throttle);
	c->throttle = NULL;
	conn_request_reset(c);
	s3addr_free(&c->addr);
	query_free(&c->query);
	sbuf_free(&c->out);
	sbuf_free(&c->prebody);
	sbuf_free(&c->req_rest);
	free(c->client.buf);
	free(c->backend.buf);
	server_conn_closed(c->srv, c);
	conf_unref(c->conf);
	free(c);
}
