/*
 * conn: the connection state machine.  See conn.h for the states.  What
 * happens in AUTH_WAIT -- who the client is and whether it may make the
 * request -- is auth.c's; this file moves bytes and keeps the states.
 *
 * Rules kept throughout:
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
#include "proxy/errbody.h"
#include "proxy/respbody.h"
#include "proxy/forward.h"
#include "proxy/proxyproto.h"
#include "proxy/quota.h"
#include "proxy/quotashm.h"
#include "proxy/log.h"
#include "proxy/respond.h"
#include "proxy/server.h"
#include "proxy/tls.h"

#include <openssl/err.h>

#define CONN_HEAD_INITIAL	4096
/*
 * The client's head buffer holds one byte more than a head may have (so
 * that a head too large is seen as such); it is also all that is kept of
 * pipelined requests while one is served.
 */
#define CONN_HEAD_BUF_MAX(c)	((size_t)(c)->conf->max_head_size + 1)
/* A response head is read with room for a small body: sent on with the head in one write */
#define CONN_RESP_INITIAL	(16 * 1024)
#define CONN_RESP_HEAD_MAX	(64 * 1024)
#define CONN_MAX_QUERY_PARAMS	100
#define CONN_CONTINUE_WAIT_MS	1000	/* then s3gate says 100 Continue itself */
#define CONN_LINGER_MS		2000
#define CONN_LINGER_BYTES	(1024 * 1024)
/* An empty aws-chunked body is read whole first: a signature and a trailer fit */
#define CONN_EMPTY_AWSCHUNKED_MAX	(64 * 1024)

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

static int	conn_backend_dial(struct conn *, const char *why);

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

static void
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
static void
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
static void
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
static void
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
static void
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
static int
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
static ssize_t
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
	s3addr_free(&c->addr);
	query_free(&c->query);
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
static void
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
static int
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
static void
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
static void
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
static void
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
static int
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
int
conn_reply(struct conn *c, int status, const char *content_type, const char *body, size_t len)
{
	if (conn_body_unread(c))
		c->closing = 1;
	c->resp_status = status;
	respond_build(&c->out, status, content_type, body, len, c->is_head_method, c->closing,
	    c->request_id, NULL);
	c->out_off = 0;
	conn_set_state(c, CONN_LOCAL_RESPONSE);
	conn_timer_set(c, c->conf->body_timeout_ms);
	return 1;
}

/* 200 with an empty body and a Location header (CreateBucket). */
int
conn_reply_location(struct conn *c, const char *location)
{
	char extra[400];

	snprintf(extra, sizeof(extra), "Location: %s\r\n", location);
	if (conn_body_unread(c))
		c->closing = 1;
	c->resp_status = 200;
	respond_build(&c->out, 200, "application/xml", "", 0, c->is_head_method, c->closing,
	    c->request_id, extra);
	c->out_off = 0;
	conn_set_state(c, CONN_LOCAL_RESPONSE);
	conn_timer_set(c, c->conf->body_timeout_ms);
	return 1;
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
	if (s3addr_parse(c->head.target, c->head.target_len, host ? host->value : NULL,
	    host ? host->value_len : 0, c->conf->service_domains, c->conf->ndomains,
	    &c->addr, &err) == -1)
		return conn_fail(c, err, NULL);
	if (c->addr.raw_query != NULL &&
	    query_parse(c->addr.raw_query, c->addr.raw_query_len, CONN_MAX_QUERY_PARAMS, &c->query) == -1)
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
static int
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
static enum stream_result
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

/* ------------------------------------------------------------------ */
/* backend                                                              */

/*
 * A request that can be sent again on a new connection once its pooled
 * one turns out closed after the whole head went out: the backend may have
 * acted on it before closing.  Only GET and HEAD (safe, RFC 9110 9.2.1)
 * without a body.  PUT and DELETE are idempotent by RFC 9110 9.2.2, but
 * not on S3 between two users: a DELETE sent again after someone else
 * wrote the key deletes their new object (and adds a second delete marker
 * in a versioned bucket), a body-less PUT (CopyObject) sent again
 * overwrites what was written in between.  POST (?uploads, ?delete,
 * complete) is not idempotent at all.  Those get an error instead, which
 * the client's own retry logic may act on knowingly.
 */
static int
conn_retry_safe(const struct conn *c)
{
	return c->req_body_len == 0 && !c->req_chunked &&
	    (c->is_head_method || strcmp(c->head.method, "GET") == 0);
}

static int
conn_backend_connect(struct conn *c)
{
	struct server *srv = c->srv;
	struct backend_conn *bc;

	if ((bc = server_backend_take(srv, conn_retry_safe(c))) != NULL) {
		c->backend_reused = 1;
		c->backend_addr = bc->addr;
		c->backend_addr_gen = bc->addr_gen;
		srv->stats->backend_reuses++;
		conn_side_lend(c, &c->backend, bc);
		conn_set_state(c, CONN_SEND_HEAD);
		conn_timer_set(c, c->conf->backend_timeout_ms);
		return 1;
	}
	c->backend_reused = 0;
	return conn_backend_dial(c, NULL);
}

/*
 * The address of C's backend connection failed (WHY; WHAT says how, for
 * the log): skipped for backend_fail_timeout (upstream.h), its idle
 * connections closed, unless the addresses were renewed meanwhile.  A
 * failed connect is counted and logged here, each time; any other failure
 * is logged here only when it marks the address down: the request's own
 * error is logged and counted where it is answered.
 */
static void
conn_backend_addr_failed(struct conn *c, enum upstream_fail why, const char *what)
{
	struct server *srv = c->srv;
	const char *text = "?";
	int down = 0;

	if (why == UPSTREAM_FAIL_CONNECT)
		srv->stats->backend_errors++;
	if (c->backend_addr_gen == srv->upstream_gen) {
		text = srv->upstream.addr[c->backend_addr].text;
		down = upstream_failed(&srv->upstream, c->backend_addr, conn_now_ms(),
		    c->conf->backend_fail_timeout_ms);
	}
	if (down) {
		srv->stats->backend_marked_down[why]++;
		server_backend_flush_addr(srv, c->backend_addr);
		log_warnx("request %s: backend %s: %s; not dialled for %d ms", c->request_id, text,
		    what, c->conf->backend_fail_timeout_ms);
	} else if (why == UPSTREAM_FAIL_CONNECT)
		log_warnx("request %s: backend %s: %s", c->request_id, text, what);
}

/*
 * A new connection to the next backend address in turn that this request
 * has not dialled (upstream.h); one that fails at once is skipped for the
 * next: nothing was sent yet.  503 when every address failed.
 */
static int
conn_backend_dial(struct conn *c, const char *why)
{
	struct server *srv = c->srv;
	int i, fd, one = 1;

	while ((i = upstream_pick(&srv->upstream, conn_now_ms(), c->backend_tried)) != -1) {
		const struct upstream_addr *a = &srv->upstream.addr[i];

		c->backend_tried |= 1u << i;
		c->backend_addr = i;
		c->backend_addr_gen = srv->upstream_gen;
		fd = socket(a->ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (fd == -1) {
			log_warn("request %s: socket", c->request_id);
			return conn_fail(c, S3ERR_BACKEND_UNAVAILABLE, NULL);
		}
		(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		srv->stats->backend_connects++;
		if (connect(fd, (const struct sockaddr *)&a->ss, a->len) == -1 && errno != EINPROGRESS) {
			int err = errno;
			close(fd);
			conn_backend_addr_failed(c, UPSTREAM_FAIL_CONNECT, strerror(err));
			continue;
		}
		conn_side_lend(c, &c->backend, server_backend_new(srv, fd, i));
		conn_set_state(c, CONN_BACKEND_CONNECT);
		conn_timer_set(c, c->conf->backend_connect_timeout_ms);
		return 1;
	}
	return conn_fail(c, S3ERR_BACKEND_UNAVAILABLE, why);
}

/*
 * The first chunk's size, when it came with the head, is checked before the
 * backend is contacted: an absurd size never costs a backend request.  (The
 * decoder checks every chunk anyway as the body flows.)  -1 if refused.
 */
static int
conn_awschunked_precheck(struct conn *c, int64_t decoded)
{
	const char *p = c->client.buf + c->head.head_len, *end = p + c->body_prefix, *eol;
	uint64_t size = 0;
	int digits = 0;

	if (c->req_chunked) {
		/* the outer HTTP chunk's size line comes first */
		if ((eol = memmem(p, (size_t)(end - p), "\r\n", 2)) == NULL)
			return 0;
		p = eol + 2;
	}
	if ((eol = memmem(p, (size_t)(end - p), "\r\n", 2)) == NULL)
		return 0;	/* not here yet: the decoder will see it */
	for (; p < eol && *p != ';'; p++, digits++) {
		int v = uri_hexval((unsigned char)*p);
		if (v < 0 || digits >= 16)
			return -1;
		size = size * 16 + (uint64_t)v;
	}
	return digits == 0 || size > (uint64_t)decoded ? -1 : 0;
}

/* The S3 error for a body the aws-chunked decoder refused. */
static enum s3err
conn_decoder_error(struct conn *c)
{
	const char *code = awschunked_error_s3code(awschunked_error(c->decoder));

	if (code == NULL)
		return S3ERR_INVALID_REQUEST;
	if (strcmp(code, "SignatureDoesNotMatch") == 0)
		return S3ERR_SIGNATURE_MISMATCH;
	if (strcmp(code, "BadDigest") == 0)
		return S3ERR_BAD_DIGEST;
	if (strcmp(code, "IncompleteBody") == 0)
		return S3ERR_INCOMPLETE_BODY;
	if (strcmp(code, "EntityTooLarge") == 0)
		return S3ERR_ENTITY_TOO_LARGE;
	return S3ERR_INVALID_REQUEST;
}

/*
 * An empty aws-chunked body, read whole (conn_read_prebody), is verified
 * here before the backend is contacted.  Its encoded form leaves
 * c->prebody: the backend gets Content-Length: 0 and nothing else.
 * Returns -1 when verified, else a conn handler's result.
 */
static int
conn_decoder_verify_empty(struct conn *c)
{
	size_t consumed = 0, produced = 0;
	enum awschunked_status st = AWSCHUNKED_MORE;

	if (c->prebody.len > 0)
		st = awschunked_feed(c->decoder, c->prebody.data, c->prebody.len, &consumed,
		    c->prebody.data, c->prebody.len, &produced);
	if (st != AWSCHUNKED_ERROR && st != AWSCHUNKED_DONE)
		st = awschunked_finish(c->decoder);
	if (st != AWSCHUNKED_DONE || produced != 0) {
		log_info("request %s: empty aws-chunked body refused: %s", c->request_id,
		    awschunked_error_message(c->decoder));
		return conn_fail(c, conn_decoder_error(c), awschunked_error_message(c->decoder));
	}
	sbuf_reset(&c->prebody);
	return -1;
}

/*
 * The request's x-amz-checksum-ALG header, Content-MD5 aside (the backend
 * checks that one), in *FOUND and *ALG (*FOUND NULL: none).  Returns -1 to
 * go on, else a refusal of two (S3 takes one) as a conn handler's result.
 */
static int
conn_checksum_header(struct conn *c, const struct http_header **found, enum checksum_alg *alg)
{
	const struct http_header *h;
	enum checksum_alg a;
	size_t i;

	*found = NULL;
	for (i = 0; i < c->head.nheaders; i++) {
		h = &c->head.headers[i];
		if ((a = checksum_alg_from_header(h->name, h->name_len)) == CHECKSUM_NONE ||
		    a == CHECKSUM_MD5)
			continue;
		if (*found != NULL)
			return conn_fail(c, S3ERR_INVALID_REQUEST, "Expecting a single "
			    "x-amz-checksum- header. Multiple checksum Types are not allowed.");
		*found = h;
		*alg = a;
	}
	return -1;
}

/*
 * An aws-chunked body (what SDKs send over HTTPS): s3gate checks every
 * chunk signature and the trailing checksum itself and hands the backend
 * the plain body.  Returns -1 when set up, else a conn handler's result.
 */
static int
conn_decoder_start(struct conn *c)
{
	const struct http_header *h;
	enum awschunked_mode mode;
	unsigned char key[SIGV4_KEY_LEN];
	char scope[128], len_text[32], trailer[64] = "";
	int64_t decoded = -1;
	enum checksum_alg alg = CHECKSUM_NONE;
	char *end;
	int rc;

	if (c->decoder != NULL)
		return conn_decoder_verify_empty(c);	/* back from reading it (below) */
	if (awschunked_mode_from_content_sha256(c->auth.payload_hash,
	    strlen(c->auth.payload_hash), &mode) == -1)
		return conn_fail(c, S3ERR_NOT_IMPLEMENTED, "This x-amz-content-sha256 payload mode "
		    "is not supported; use UNSIGNED-PAYLOAD, a hex SHA-256 or "
		    "STREAMING-(AWS4-HMAC-SHA256|UNSIGNED)-PAYLOAD(-TRAILER).");
	if ((h = httpmsg_header_find(&c->head, "x-amz-decoded-content-length")) != NULL &&
	    h->value_len > 0 && h->value_len < sizeof(len_text)) {
		memcpy(len_text, h->value, h->value_len);
		len_text[h->value_len] = '\0';
		decoded = strtoll(len_text, &end, 10);
		if (*end != '\0' || decoded < 0)
			decoded = -1;
	}
	if (decoded < 0 || (!c->head.has_content_length && !c->req_chunked))
		return conn_fail(c, S3ERR_MISSING_CONTENT_LENGTH, "An aws-chunked body needs "
		    "x-amz-decoded-content-length, and Content-Length or chunked transfer.");
	if ((h = httpmsg_header_find(&c->head, "x-amz-trailer")) != NULL) {
		if (h->value_len >= sizeof(trailer))
			return conn_fail(c, S3ERR_INVALID_REQUEST, "x-amz-trailer is too long.");
		memcpy(trailer, h->value, h->value_len);
		trailer[h->value_len] = '\0';
	}
	if (conn_awschunked_precheck(c, decoded) == -1 && (c->closing = 1))
		return conn_fail(c, S3ERR_ENTITY_TOO_LARGE, "The first aws-chunked chunk is larger than "
		    "x-amz-decoded-content-length, or its size is not a hex number.");
	snprintf(scope, sizeof(scope), "%s/%s/%s/aws4_request", c->auth.scope_date,
	    c->auth.region, c->auth.service);
	if (mode != AWSCHUNKED_UNSIGNED_TRAILER)
		sigv4_keycache_get(c->srv->keycache, c->auth.access_key_id, c->cred.secret,
		    c->auth.scope_date, c->auth.region, key);
	if ((c->decoder = calloc(1, sizeof(*c->decoder))) == NULL)
		return conn_fail(c, S3ERR_INTERNAL, NULL);
	rc = awschunked_init(c->decoder, mode, mode == AWSCHUNKED_UNSIGNED_TRAILER ? NULL : key,
	    c->auth.amz_date, scope, c->auth.signature, trailer[0] ? trailer : NULL, decoded);
	explicit_bzero(key, sizeof(key));
	if (rc == -1)
		return conn_fail(c, conn_decoder_error(c), awschunked_error_message(c->decoder));
	/*
	 * An x-amz-checksum-* header beside the chunks: relayed, Ceph before
	 * reef ignores it, so the decoder checks it against the decoded body
	 * (a trailer mode's checksum is its trailer: a header too is refused).
	 */
	if ((rc = conn_checksum_header(c, &h, &alg)) >= 0)
		return rc;
	if (h != NULL && awschunked_expect_checksum(c->decoder, alg, h->value, h->value_len) == -1)
		return conn_fail(c, conn_decoder_error(c), awschunked_error_message(c->decoder));
	if (decoded == 0) {
		/*
		 * No last byte to hold back: a backend given Content-Length: 0
		 * commits at once, before the final chunk's signature or the
		 * trailer was checked.  So the whole (small) body is read and
		 * verified first, and the backend is contacted after.
		 */
		if (c->req_chunked || c->req_body_len > CONN_EMPTY_AWSCHUNKED_MAX)
			return conn_fail(c, S3ERR_INVALID_REQUEST, "An aws-chunked body with "
			    "x-amz-decoded-content-length: 0 must come with a Content-Length "
			    "of at most 64 KiB.");
		return conn_read_prebody(c);
	}
	return -1;
}

/* 400 BadDigest: the body is not the one whose ALG checksum the client gave. */
static int
conn_bad_digest(struct conn *c, enum checksum_alg alg)
{
	char why[96];

	snprintf(why, sizeof(why), "The %s you specified did not match the calculated checksum.",
	    checksum_alg_name(alg));
	log_info("request %s: body refused: %s", c->request_id, why);
	return conn_fail(c, S3ERR_BAD_DIGEST, why);
}

/*
 * A plain body (not aws-chunked) with an x-amz-checksum-ALG header, as SDKs
 * send since 2025: Ceph before reef ignores the header and would store a
 * body that does not match it, where S3 answers 400 BadDigest.  So s3gate
 * checks it: a body already in memory (or none) here, before the backend
 * is asked; a streamed one on the way (stream_verify_body), its last byte
 * held back until the sum matched.  Returns -1 to go on, else a conn
 * handler's result.
 */
static int
conn_body_checksum_start(struct conn *c)
{
	const struct http_header *found;
	enum checksum_alg alg = CHECKSUM_NONE;
	struct checksum sum;
	int r;

	/*
	 * A PUT's body (objects, parts, configurations), or DeleteObjects'
	 * (read whole already under a prefix grant, else streamed like a
	 * PUT's; SDKs send its CRC32 in place of Content-MD5).  Not
	 * CompleteMultipartUpload's: its x-amz-checksum-* is the whole
	 * object's, not the XML's.
	 */
	if (strcmp(c->head.method, "PUT") != 0 &&
	    !(strcmp(c->head.method, "POST") == 0 && c->op_valid && c->op.action != NULL &&
	    strcmp(c->op.action, "DeleteObjects") == 0))
		return -1;
	if ((r = conn_checksum_header(c, &found, &alg)) >= 0 || found == NULL)
		return r;
	if (found->value_len >= sizeof(c->body_sum_want))
		goto malformed;
	memcpy(c->body_sum_want, found->value, found->value_len);
	c->body_sum_want[found->value_len] = '\0';
	c->body_sum_want_len = found->value_len;
	if (c->prebody_ready || c->req_body_len == 0) {
		if (checksum_init(&sum, alg) == -1)
			return -1;	/* OpenSSL failed: the backend decides */
		if (c->prebody_ready)
			checksum_update(&sum, c->prebody.data, c->prebody.len);
		switch (checksum_verify(&sum, c->body_sum_want, c->body_sum_want_len)) {
		case CHECKSUM_MATCH:
			checksum_free(&sum);
			return -1;
		case CHECKSUM_MISMATCH:
			checksum_free(&sum);
			return conn_bad_digest(c, alg);
		case CHECKSUM_MALFORMED:
			checksum_free(&sum);
			goto malformed;
		}
	}
	c->body_sum_alg = alg;
	return -1;
malformed:
	{
		char why[96];

		snprintf(why, sizeof(why), "Value for %s header is invalid.", checksum_header_name(alg));
		return conn_fail(c, S3ERR_INVALID_REQUEST, why);
	}
}

/* Where and as whom a request is re-signed at NOW: the backend, the service key. */
static void
conn_forward_target(struct conn *c, struct forward_target *t, time_t now)
{
	memset(t, 0, sizeof(*t));
	t->host = c->conf->backend_host;
	t->region = c->conf->backend_region;
	t->access_key_id = c->conf->backend_access_key_id;
	t->signing_key = server_backend_key(c->srv, now);
	t->scratch = &c->srv->forward_scratch;
}

/*
 * A request to the backend that carries no body of the client's (a CORS
 * preflight, a lock probe): its head, signed with the service credentials
 * (UNSIGNED-PAYLOAD: there is none), is what goes out on the connection.
 */
static int
conn_backend_bodyless_start(struct conn *c, const char *method, const struct s3addr *addr,
    const struct query_list *q, const struct http_head *head, const struct forward_target *t,
    time_t now)
{
	sbuf_reset(&c->out);
	c->out_off = 0;
	forward_build_head(&c->out, method, addr, q, head, SIGV4_UNSIGNED_PAYLOAD, t, now);
	return conn_backend_connect(c);
}

/*
 * A CORS preflight (auth.c) goes to the backend with its three CORS
 * headers and nothing else of the client's: it is unsigned, so nothing the
 * client chose may reach the backend under the service signature but what
 * the CORS rules are matched against.  No query: a presigned link's
 * parameters mean nothing to a preflight.
 */
static int
conn_preflight_start(struct conn *c, const struct forward_target *t, time_t now)
{
	static const char *const cors[] = {
		"origin", "access-control-request-method", "access-control-request-headers",
	};
	const struct http_header *h;
	struct http_head pf;
	struct query_list none;
	size_t i;

	memset(&pf, 0, offsetof(struct http_head, headers));
	for (i = 0; i < sizeof(cors) / sizeof(cors[0]); i++)
		if ((h = httpmsg_header_find(&c->head, cors[i])) != NULL)
			pf.headers[pf.nheaders++] = *h;
	memset(&none, 0, sizeof(none));
	return conn_backend_bodyless_start(c, "OPTIONS", &c->addr, &none, &pf, t, now);
}

/* The request is allowed: builds the re-signed head and connects (see conn.h). */
int
conn_backend_start(struct conn *c)
{
	struct forward_target t;
	time_t now = time(NULL);

	conn_forward_target(c, &t, now);
	if (c->preflight)
		return conn_preflight_start(c, &t, now);
	if (strncmp(c->auth.payload_hash, "STREAMING-", 10) == 0) {
		int r = conn_decoder_start(c);
		if (r >= 0)
			return r;
		t.decoded = 1;
		t.decoded_length = (uint64_t)c->decoder->decoded_length;
	} else if (c->req_chunked) {
		/* the backend needs a length, and so does a policy on what is stored */
		return conn_fail(c, S3ERR_MISSING_CONTENT_LENGTH, "Chunked request bodies are "
		    "accepted only in aws-chunked form; send Content-Length.");
	} else {
		int r = conn_body_checksum_start(c);
		if (r >= 0)
			return r;
	}
	/* the length of what s3gate will relay, never a copy of the client's header */
	t.has_length = c->head.has_content_length || c->prebody_ready;
	t.length = c->prebody_ready ? c->prebody.len : c->req_body_len;
	sbuf_reset(&c->out);
	c->out_off = 0;
	forward_build_head(&c->out, c->head.method, &c->addr, &c->query, &c->head,
	    c->auth.payload_hash, &t, now);
	return conn_backend_connect(c);
}

/*
 * The backend connection failed before an answer (WHY: UPSTREAM_FAIL_RESET
 * or _TIMEOUT; WHAT says how, for the log).  On a connection made for this
 * request that is its gateway's failure (upstream.h): the address is
 * marked down.  A pooled connection's is not: a keep-alive connection may
 * have been closed by the backend meanwhile, or dropped by anything in
 * between.
 *
 * RESEND says the request may go again: its head did not all go out, or
 * it is safe to repeat (conn_retry_safe; the lock probe's GET).  It goes
 * once more on a new connection after a pooled one closed, as before; after
 * a new connection failed, to an address this request has not tried (none
 * left: the caller answers the error, as with one address).  A pooled
 * connection that timed out is not tried again: the wait would double.
 * Returns 1 if the request went again.
 */
static int
conn_backend_retry(struct conn *c, enum upstream_fail why, const char *what, int resend)
{
	int fresh = !c->backend_reused;

	if (fresh)
		conn_backend_addr_failed(c, why, what);
	if (!resend || c->req_body_sent > 0)
		return 0;
	if (fresh && !upstream_untried(&c->srv->upstream, c->backend_tried))
		return 0;
	if (!fresh && (c->backend_retried || why != UPSTREAM_FAIL_RESET))
		return 0;
	if (fresh) {
		/* the client never sees this one: counted here */
		c->srv->stats->backend_errors++;
		log_info("request %s: backend %s: %s; sent to the next address", c->request_id,
		    c->backend_addr_gen == c->srv->upstream_gen ?
		    c->srv->upstream.addr[c->backend_addr].text : "?", what);
	} else {
		log_debug("request %s: pooled backend connection was closed, reconnecting",
		    c->request_id);
		c->backend_retried = 1;
	}
	/* a gateway that failed gets a reset: nothing of this request may still be acted on */
	conn_side_close(&c->backend, fresh);
	c->backend.len = 0;
	c->out_off = 0;
	if (fresh)
		(void)conn_backend_dial(c, NULL);
	else
		(void)conn_backend_connect(c);
	return 1;
}

/*
 * The backend answered (c->resp, a final status).  A status
 * backend_fail_status names is its gateway's failure (HAProxy's observe
 * layer7), on any connection: the address is marked down, and the answer
 * still goes to the client (the request was sent: it does not go again).
 * Any other answer on a connection made for this request says the address
 * works: up again if it was down.  Two comparisons on a pooled connection.
 */
static void
conn_backend_rate_answer(struct conn *c)
{
	int status = c->resp.status;
	char what[32];

	if (status >= 500 && status <= 599 && c->conf->backend_fail_status[status - 500]) {
		snprintf(what, sizeof(what), "answered %d", status);
		conn_backend_addr_failed(c, UPSTREAM_FAIL_STATUS, what);
	} else if (!c->backend_reused && c->backend_addr_gen == c->srv->upstream_gen)
		upstream_ok(&c->srv->upstream, c->backend_addr);
}

/* Whether FD's non-blocking connect has not completed yet. */
static int
conn_backend_connecting(int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	return getpeername(fd, (struct sockaddr *)&ss, &len) == -1 && errno == ENOTCONN;
}

static int
conn_do_backend_connect(struct conn *c)
{
	int err = 0;
	socklen_t len = sizeof(err);

	if (getsockopt(c->backend.fd, SOL_SOCKET, SO_ERROR, &err, &len) == -1)
		err = errno;
	/*
	 * SO_ERROR is 0 while the connect is under way too: only a peer name
	 * says it is done.  Taken for connected, a connect that never
	 * completes waited for backend_timeout in the write of the request,
	 * not for backend_connect_timeout (an address that drops SYNs).
	 */
	if (err == 0 && conn_backend_connecting(c->backend.fd))
		err = EINPROGRESS;
	if (err == EINPROGRESS || err == EALREADY) {
		conn_side_want(&c->backend, 0, 1);
		return 0;
	}
	if (err == 0) {
		/* writable without error: connected (or the write will say why) */
		if (c->conf->backend_tls) {
			c->backend.ssl = tls_backend_connect(c->srv->backend_tls, c->backend.fd,
			    c->conf->backend_connect_host);
			if (c->backend.ssl == NULL) {
				conn_side_close(&c->backend, 0);
				return conn_fail(c, S3ERR_INTERNAL, NULL);
			}
			conn_set_state(c, CONN_BACKEND_TLS);
			return 1;
		}
		conn_set_state(c, CONN_SEND_HEAD);
		conn_timer_set(c, c->conf->backend_timeout_ms);
		return 1;
	}
	conn_backend_addr_failed(c, UPSTREAM_FAIL_CONNECT, strerror(err));
	conn_side_close(&c->backend, 0);
	return conn_backend_dial(c, NULL);
}

static int
conn_do_backend_tls(struct conn *c)
{
	int r = sockio_handshake(c->backend.ssl, &c->backend.io_want);

	if (r == 0) {
		conn_side_wait_io(&c->backend);
		return 0;
	}
	if (r == -1) {
		/*
		 * Nothing of the request went yet: like a refused connect, the
		 * address is skipped (a gateway that speaks no TLS, a broken
		 * one) and the request dialled to the next.  A certificate
		 * refused is usually every gateway's: each is tried once, then
		 * 503, and the log says why.
		 */
		long v = SSL_get_verify_result(c->backend.ssl);
		char what[160];

		snprintf(what, sizeof(what), "TLS handshake failed%s%s", v != X509_V_OK ? ": " : "",
		    v != X509_V_OK ? X509_verify_cert_error_string(v) : "");
		ERR_clear_error();
		conn_backend_addr_failed(c, UPSTREAM_FAIL_CONNECT, what);
		conn_side_close(&c->backend, 1);
		return conn_backend_dial(c, "The object store's TLS certificate or handshake was refused.");
	}
	conn_side_want(&c->backend, 0, 0);
	conn_set_state(c, CONN_SEND_HEAD);
	conn_timer_set(c, c->conf->backend_timeout_ms);
	return 1;
}

/* Writes c->out to FD from out_off.  1 done, 0 wait, -1 error. */
static int
conn_write_out(struct conn *c, struct conn_side *s)
{
	ssize_t n;

	while (c->out_off < c->out.len) {
		n = sockio_send(s->fd, s->ssl, c->out.data + c->out_off, c->out.len - c->out_off,
		    c->out_more, &s->io_want);
		if (n == -1) {
			if (errno == EAGAIN || errno == EINTR) {
				conn_side_wait_io(s);
				return 0;
			}
			return -1;
		}
		c->out_off += (size_t)n;
	}
	return 1;
}

static void
conn_stream_start(struct conn *c, int upload)
{
	const struct conf *cf = c->conf;

	c->req_prefix_paid = 0;
	if (upload && c->prebody_ready) {
		/* the body is in memory already: written from there */
		stream_init(&c->stream, -1, NULL, c->backend.fd, c->backend.ssl, STREAM_LENGTH,
		    c->prebody.len, c->prebody.data, c->prebody.len, 0, cf->pipe_size,
		    cf->copy_buffer_size, NULL);
	} else if (upload) {
		stream_init(&c->stream, c->client.fd, c->client.ssl, c->backend.fd, c->backend.ssl,
		    c->decoder != NULL ? STREAM_AWSCHUNKED : STREAM_LENGTH, c->req_body_len,
		    c->client.buf + c->head.head_len, c->body_prefix,
		    (cf->splice & CONF_SPLICE_UPLOAD) != 0, cf->pipe_size,
		    cf->copy_buffer_size, NULL);
		c->stream.decoder = c->decoder;
		if (c->body_sum_alg != CHECKSUM_NONE)
			stream_verify_body(&c->stream, c->body_sum_alg, c->body_sum_want,
			    c->body_sum_want_len);
		if (c->req_chunked) {
			httpmsg_body_tracker_init(&c->req_tracker);
			c->stream.tracker = &c->req_tracker;
			c->stream.remaining = UINT64_MAX;
			/*
			 * A stream read may take in the client's next request with
			 * the body's end: kept for after the answer, as much as the
			 * head buffer may hold (conn_finish puts it there).  More
			 * -- a pipelined body, say -- is refused (400, close) rather
			 * than buffered: such a client is exotic, and memory per
			 * connection stays bounded.
			 */
			c->stream.rest_max = CONN_HEAD_BUF_MAX(c);
		}
	} else {
		size_t skip = c->resp.head_len + c->resp_with_head;
		stream_init(&c->stream, c->backend.fd, c->backend.ssl, c->client.fd, c->client.ssl,
		    c->resp_framing, c->resp_length - c->resp_with_head,
		    c->backend.buf + skip, c->backend.len - skip,
		    (cf->splice & CONF_SPLICE_DOWNLOAD) != 0, cf->pipe_size,
		    cf->copy_buffer_size, &c->tracker);
	}
	c->streaming = 1;
	if (upload && c->prebody_ready)
		c->pace_since_ms = 0;	/* a body in memory needs nothing of the client */
	else
		conn_pace_start(c);
}

/*
 * The request is out: wait for the answer.  Reading at once saves a trip
 * through epoll when the backend answers within the microseconds the
 * request took to leave (an idle origin on loopback: nearly always), and
 * costs a recv(2) that says EAGAIN when it does not (a busy origin: at 64
 * connections, one wasted recv per request).  So each worker keeps score
 * of how often the answer was there, and reads at once only while that
 * pays, trying one request in CONN_ANSWER_PROBE regardless so that the
 * score can climb back.
 */
#define CONN_ANSWER_SCORE_MAX	16
#define CONN_ANSWER_PROBE	16

static int
conn_await_answer(struct conn *c)
{
	struct server *srv = c->srv;

	conn_set_state(c, CONN_READ_RESP_HEAD);
	conn_timer_set(c, c->conf->backend_timeout_ms);
	if (srv->answer_ready_score > 0 || ++srv->answer_probe % CONN_ANSWER_PROBE == 0) {
		c->resp_read_ahead = 1;
		return 1;
	}
	conn_side_want(&c->backend, 1, 0);
	return 0;
}

/* A read ahead of epoll (conn_await_answer) found the answer there, or not. */
static void
conn_answer_scored(struct conn *c, int there)
{
	struct server *srv = c->srv;

	c->resp_read_ahead = 0;
	if (there && srv->answer_ready_score < CONN_ANSWER_SCORE_MAX)
		srv->answer_ready_score++;
	else if (!there && srv->answer_ready_score > 0)
		srv->answer_ready_score--;
}

static int
conn_do_send_head(struct conn *c)
{
	int r = conn_write_out(c, &c->backend);

	if (r == 0)
		return 0;
	if (r == -1) {
		/* the head did not all go out: the backend cannot have acted on it */
		int err = errno;

		if (conn_backend_retry(c, UPSTREAM_FAIL_RESET, strerror(err), 1))
			return 1;
		errno = err;
		log_warn("request %s: writing to backend", c->request_id);
		c->srv->stats->backend_errors++;
		c->abort_backend = 1;
		return conn_fail(c, S3ERR_BACKEND_UNAVAILABLE, NULL);
	}
	conn_side_want(&c->backend, 0, 0);
	c->backend.len = 0;
	if (c->lock_probe) {
		/* the object lock probe of a copy's source bucket: its own answer (conn_do_lock_probe) */
		conn_set_state(c, CONN_LOCK_PROBE);
		conn_timer_set(c, c->conf->backend_timeout_ms);
		conn_side_want(&c->backend, 1, 0);
		return 0;
	}
	if (c->req_body_len > 0 && c->head.expect_continue && !c->continue_sent &&
	    !c->prebody_ready) {
		conn_set_state(c, CONN_WAIT_CONTINUE);
		conn_timer_set(c, CONN_CONTINUE_WAIT_MS);
	} else if (c->req_body_len > 0) {
		conn_stream_start(c, 1);
		conn_set_state(c, CONN_REQ_BODY);
		conn_timer_set(c, c->conf->body_timeout_ms);
	} else
		return conn_await_answer(c);
	return 1;
}

/*
 * The upload stream is done: what it found past the end of a chunked body
 * is the client's next request, kept as conn_finish keeps one after a
 * Content-Length body.  The prefix's bytes past the end stay in client.buf
 * (body_prefix stops short of them); those read later are copied out of
 * the stream's buffer, which goes with stream_release, to be put into
 * client.buf by conn_finish (it still holds this request's head now).
 * Bounded by rest_max; allocates only when there are any.
 */
static void
conn_keep_rest(struct conn *c)
{
	c->body_prefix -= c->stream.prefix_rest;
	if (c->stream.rest_len > 0)
		sbuf_append(&c->req_rest, c->stream.rest, c->stream.rest_len);
}

static int
conn_do_req_body(struct conn *c)
{
	enum stream_result r;
	uint64_t before = c->stream.moved;

	if (!conn_quota_pay(c, QUOTA_IN, c->stream.prefix_len, &c->req_prefix_paid))
		return 0;
	r = conn_stream_run(c, QUOTA_IN);
	c->bytes_in += c->stream.moved - before;
	c->req_body_sent = c->stream.moved;
	if (c->stream.moved != before)
		conn_timer_set(c, c->conf->body_timeout_ms);
	switch (r) {
	case STREAM_DONE:
		conn_count_body(c);
		conn_keep_rest(c);
		c->req_body_done = 1;
		stream_release(&c->stream);
		c->streaming = 0;
		conn_side_want(&c->client, 0, 0);
		return conn_await_answer(c);
	case STREAM_THROTTLED:
		return 0;
	case STREAM_WAIT:
		/* the backend may answer early (an error): watch it too */
		conn_side_want(&c->client, (c->stream.src_want & SOCKIO_WANT_READ) != 0,
		    (c->stream.src_want & SOCKIO_WANT_WRITE) != 0);
		conn_side_want(&c->backend, 1, (c->stream.dst_want & SOCKIO_WANT_WRITE) != 0);
		return 0;
	case STREAM_SRC_EOF:
	case STREAM_SRC_ERROR:
		/* the client went away mid-upload: reset the backend so nothing is stored */
		log_info("request %s: client closed after %llu of %llu body bytes; backend request aborted",
		    c->request_id, (unsigned long long)c->req_body_sent,
		    (unsigned long long)c->req_body_len);
		c->srv->stats->client_aborts++;
		c->error = S3ERR_INCOMPLETE_BODY;
		c->resp_status = 400;
		c->abort_backend = 1;
		conn_set_state(c, CONN_CLOSED);
		return 1;
	case STREAM_BAD_FRAMING:
		if (c->decoder != NULL) {
			/* a bad chunk signature or checksum: the backend never gets the last byte */
			int outer = awschunked_error(c->decoder) == AWSCHUNKED_OK;
			const char *why = !outer ? awschunked_error_message(c->decoder) :
			    c->stream.err == ENOBUFS ? "Too many bytes of pipelined requests came "
			    "right after the chunked body; send them after its answer." :
			    "The chunked transfer framing of the body is broken.";
			log_info("request %s: aws-chunked body refused: %s", c->request_id, why);
			c->abort_backend = 1;
			c->closing = 1;
			conn_side_close(&c->backend, 1);
			return conn_fail(c, outer ? S3ERR_INVALID_REQUEST : conn_decoder_error(c), why);
		}
		break;
	case STREAM_BAD_DIGEST:
		/* the body's last byte never went: the backend stores nothing */
		c->abort_backend = 1;
		c->closing = 1;
		conn_side_close(&c->backend, 1);
		return conn_bad_digest(c, c->body_sum_alg);
	case STREAM_DST_ERROR:
		break;
	}
	/* the backend stopped taking the body: perhaps it answered; read that */
	conn_abandon_upload(c);
	conn_timer_set(c, c->conf->backend_timeout_ms);
	return 1;
}

/*
 * Reads from the backend until backend.buf starts with a whole response
 * head (parsed into c->resp; interim ones included, the caller decides).
 * HEAD_READ_WAIT: not all there yet and the socket is drained;
 * HEAD_READ_CLOSED: EOF or an error before a head (errno saved, 0 for EOF).
 */
enum conn_head_read { HEAD_READ_DONE, HEAD_READ_WAIT, HEAD_READ_BAD, HEAD_READ_CLOSED };

static const struct http_limits conn_resp_limits = {
	CONN_RESP_HEAD_MAX, CONN_RESP_HEAD_MAX, HTTP_MAX_HEADERS
};

static enum conn_head_read
conn_backend_read_head(struct conn *c)
{
	ssize_t n;

	for (;;) {
		if (c->backend.len > 0) {
			switch (httpmsg_parse_head(c->backend.buf, c->backend.len, 1, &conn_resp_limits,
			    &c->resp)) {
			case HTTP_PARSE_MORE:
				break;
			case HTTP_PARSE_BAD:
			case HTTP_PARSE_TOO_LARGE:
				return HEAD_READ_BAD;
			case HTTP_PARSE_DONE:
				return HEAD_READ_DONE;
			}
		}
		n = conn_side_read(&c->backend, CONN_RESP_INITIAL, CONN_RESP_HEAD_MAX);
		if (c->resp_read_ahead)
			conn_answer_scored(c, n != -1 || (errno != EAGAIN && errno != EINTR));
		if (n > 0)
			continue;
		if (n == -1 && (errno == EAGAIN || errno == EINTR))
			return HEAD_READ_WAIT;
		if (n == 0)
			errno = 0;
		return HEAD_READ_CLOSED;
	}
}

/*
 * The backend became readable while the body is still going up.  An
 * interim response (a 100 Continue that came after s3gate's own, sent
 * when the backend stayed silent for CONN_CONTINUE_WAIT_MS) is consumed and
 * the body goes on; a final answer, or the connection closing, ends the
 * upload (READ_RESP_HEAD reads it from backend.buf).  Returns 1 for the
 * latter, 0 to go on streaming (a partial head stays in backend.buf).
 */
static int
conn_backend_early_answer(struct conn *c)
{
	for (;;) {
		switch (conn_backend_read_head(c)) {
		case HEAD_READ_WAIT:
			return 0;
		case HEAD_READ_DONE:
			if (c->resp.status >= 100 && c->resp.status < 200) {
				log_debug("request %s: interim %d from the backend during the body",
				    c->request_id, c->resp.status);
				conn_skip_interim(c);
				continue;
			}
			return 1;
		case HEAD_READ_BAD:
		case HEAD_READ_CLOSED:
			return 1;	/* READ_RESP_HEAD says why */
		}
	}
}

/*
 * CopyObject by a principal who may not set object lock (auth.c): whether
 * the source's bucket has object lock enabled goes first, asked with the
 * service credentials (GET ?object-lock); CONN_LOCK_PROBE reads the answer.
 * Not the source object's own lock: its owner may set a legal hold or a
 * retention (or put a new version under one) between a look at the object
 * and the copy, and RGW copies what the source carries when it copies.  A
 * bucket's object lock, once enabled, stays so.
 */
int
conn_lock_probe_start(struct conn *c)
{
	struct forward_target t;
	struct query_param qp;
	struct query_list q;
	struct http_head none;
	struct s3addr src;
	time_t now = time(NULL);

	conn_forward_target(c, &t, now);
	memset(&src, 0, sizeof(src));
	src.bucket = c->op.copy_bucket;
	qp = (struct query_param){ "object-lock", "", 0, 11, 0 };
	memset(&q, 0, sizeof(q));
	q.params = &qp;
	q.count = 1;
	memset(&none, 0, offsetof(struct http_head, headers));
	c->lock_probe = 1;
	return conn_backend_bodyless_start(c, "GET", &src, &q, &none, &t, now);
}

/*
 * CONN_LOCK_PROBE: the source bucket's object lock configuration.  A 200
 * says object lock is enabled there: any of its objects may carry a
 * retention or a legal hold by the time RGW copies it, so the copy counts
 * as carrying both.  A 404 (ObjectLockConfigurationNotFoundError, or no
 * such bucket: the copy fails the same way) says none can.  Another 4xx
 * tells nothing, and is taken as both locks; anything else refuses the
 * copy (503).  A connection whose answer is wholly in the buffer and
 * nothing more (a Content-Length body) goes back to the pool, so the copy
 * itself usually goes out on it; any other is closed, and the copy starts
 * over on another.
 */
static int
conn_do_lock_probe(struct conn *c)
{
	const struct http_head *r = &c->resp;
	unsigned lock = 0;
	int status;

	switch (conn_backend_read_head(c)) {
	case HEAD_READ_WAIT:
		conn_side_want(&c->backend, 1, 0);
		return 0;
	case HEAD_READ_CLOSED:
		if (conn_backend_retry(c, UPSTREAM_FAIL_RESET, errno == 0 ? "closed before an answer" :
		    strerror(errno), 1))
			return 1;
		/* FALLTHROUGH */
	case HEAD_READ_BAD:
		log_warnx("request %s: no answer to the object lock probe of the copy's source bucket",
		    c->request_id);
		c->srv->stats->backend_errors++;
		conn_side_close(&c->backend, 1);
		c->lock_probe = 0;
		return conn_fail(c, S3ERR_BACKEND_UNAVAILABLE, NULL);
	case HEAD_READ_DONE:
		break;
	}
	conn_backend_rate_answer(c);
	status = r->status;
	if (status == 200)
		lock = COPY_LOCK_RETENTION | COPY_LOCK_LEGAL_HOLD;
	if (r->keep_alive && !r->chunked && r->has_content_length && !c->srv->draining &&
	    c->backend.len == r->head_len + r->content_length)
		conn_side_release(c, &c->backend);
	else
		conn_side_close(&c->backend, 0);
	c->backend.len = 0;
	memset(&c->resp, 0, offsetof(struct http_head, headers));
	c->backend_retried = 0;
	c->backend_tried = 0;
	c->lock_probe = 0;
	if (status != 200 && status != 404 && status >= 400 && status <= 499)
		lock = COPY_LOCK_RETENTION | COPY_LOCK_LEGAL_HOLD | COPY_LOCK_UNSEEN;
	else if (status != 200 && status != 404) {
		log_warnx("request %s: the object lock probe of the copy's source bucket answered %d",
		    c->request_id, status);
		c->srv->stats->backend_errors++;
		return conn_fail(c, S3ERR_BACKEND_UNAVAILABLE, NULL);
	}
	return auth_copy_lock_verdict(c, lock);
}

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
static int
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

static int
conn_do_read_resp_head(struct conn *c)
{
	for (;;) {
		switch (conn_backend_read_head(c)) {
		case HEAD_READ_WAIT:
			conn_side_wait_io(&c->backend);
			return 0;
		case HEAD_READ_BAD:
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
	sbuf_free(&c->out);
	sbuf_free(&c->prebody);
	sbuf_free(&c->req_rest);
	free(c->client.buf);
	free(c->backend.buf);
	server_conn_closed(c->srv, c);
	conf_unref(c->conf);
	free(c);
}
