/*
 * conn_backend: the backend side of the connection state machine
 * (conn_int.h).  Dialling a backend address or borrowing a pooled
 * connection, the aws-chunked decoder and checksum a request body gets,
 * the re-signed head and the body sent, retries and addresses marked
 * down, the object lock probe, and reading the answer's head.  What is
 * done with the answer is conn_answer.c's; conn.c's rules hold here.
 */
#include <sys/socket.h>
#include <sys/types.h>

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "proxy/auth.h"
#include "proxy/conn.h"
#include "proxy/conn_int.h"
#include "proxy/forward.h"
#include "proxy/quota.h"
#include "proxy/log.h"
#include "proxy/server.h"
#include "proxy/tls.h"

#include <openssl/err.h>

#define CONN_CONTINUE_WAIT_MS	1000	/* then s3gate says 100 Continue itself */
/* An empty aws-chunked body is read whole first: a signature and a trailer fit */
#define CONN_EMPTY_AWSCHUNKED_MAX	(64 * 1024)

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
int
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
void
conn_backend_addr_failed(struct conn *c, enum upstream_fail why, const char *what)
{
	struct server *srv = c->srv;
	const char *text = "?";
	int down = 0;

	if (why == UPSTREAM_FAIL_CONNECT)
		srv->stats->backend_errors++;
	if (c->backend_addr_gen == srv->upstream_gen) {
		text = srv->upstream.addr[c->backend_addr].text;
		down = upstream_failed(&srv->upstream, c->backend_addr, why, conn_now_ms(),
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
int
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
 * Whether no answer to C's request within backend_timeout is its
 * gateway's failure: the head not all taken, or a request a working
 * gateway answers at once, a GET or HEAD of an object (the lock probe's
 * GET too).  Not a PUT, POST or DELETE a gateway may take long over (a
 * copy, a CompleteMultipartUpload of many parts), nor a listing (a bucket
 * of many versions or delete markers to skip): any tenant may send one,
 * and one tenant's request must not take a gateway every tenant shares
 * out of turn.
 */
static int
conn_timeout_counts(const struct conn *c)
{
	return c->state == CONN_SEND_HEAD || c->lock_probe ||
	    (conn_retry_safe(c) && c->addr.key != NULL);
}

/*
 * The backend connection failed before an answer (WHY: UPSTREAM_FAIL_RESET,
 * _TIMEOUT or _INVALID; WHAT says how, for the log).  On a connection made
 * for this request that is its gateway's failure (upstream.h): the
 * address is marked down.  A pooled connection's is not: a keep-alive connection may
 * have been closed by the backend meanwhile, or dropped by anything in
 * between.  Nor is a timeout, but of a request a working gateway answers
 * at once (conn_timeout_counts).
 *
 * RESEND says the request may go again: its head did not all go out, or
 * it is safe to repeat (conn_retry_safe; the lock probe's GET).  It goes
 * once more on a new connection after a pooled one closed, as before; after
 * a new connection failed, to an address this request has not tried (none
 * left: the caller answers the error, as with one address).  A pooled
 * connection that timed out is not tried again: the wait would double.
 * Returns 1 if the request went again.
 */
int
conn_backend_retry(struct conn *c, enum upstream_fail why, const char *what, int resend)
{
	int fresh = !c->backend_reused;

	if (fresh && (why != UPSTREAM_FAIL_TIMEOUT || (resend && conn_timeout_counts(c))))
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
void
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

int
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

int
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
int
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

void
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

int
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

int
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
 * HEAD_READ_BAD: not HTTP, or not an answer httpmsg takes (c->resp.error);
 * HEAD_READ_TOO_LARGE: past CONN_RESP_HEAD_MAX (an object's metadata, its
 * owner's choice, may make one so: never the gateway's failure);
 * HEAD_READ_CLOSED: EOF or an error before a head (errno saved, 0 for EOF).
 */
const struct http_limits conn_resp_limits = {
	CONN_RESP_HEAD_MAX, CONN_RESP_HEAD_MAX, HTTP_MAX_HEADERS
};

enum conn_head_read
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
				return HEAD_READ_BAD;
			case HTTP_PARSE_TOO_LARGE:
				return HEAD_READ_TOO_LARGE;
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
int
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
		case HEAD_READ_TOO_LARGE:
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
int
conn_do_lock_probe(struct conn *c)
{
	const struct http_head *r = &c->resp;
	unsigned lock = 0;
	int status;
	enum conn_head_read rd = conn_backend_read_head(c);

	switch (rd) {
	case HEAD_READ_WAIT:
		conn_side_want(&c->backend, 1, 0);
		return 0;
	case HEAD_READ_CLOSED:
	case HEAD_READ_BAD:
	case HEAD_READ_TOO_LARGE:
		if (rd == HEAD_READ_CLOSED && conn_backend_retry(c, UPSTREAM_FAIL_RESET,
		    errno == 0 ? "closed before an answer" : strerror(errno), 1))
			return 1;
		if (rd == HEAD_READ_BAD && conn_backend_retry(c, UPSTREAM_FAIL_INVALID, r->error, 1))
			return 1;
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
