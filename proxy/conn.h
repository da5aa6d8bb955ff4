/*
 * conn: one client connection and the request it is serving, as one
 * explicit state machine (memcached's drive_machine, relayd's rsession).
 *
 * The two ends are symmetric sides (client, backend).  Every transition
 * goes through conn_set_state(), which logs old -> new at debug level.
 * Events on either side and policy-store answers all enter conn_drive();
 * a connection is freed only there, at the end, never under a caller.
 *
 *   [TLS_HANDSHAKE] -> READ_HEAD -> AUTH_WAIT (auth.c's stages; the store may be waited
 *       for, and a body the decision needs read in [READ_BODY] or [API_BODY])
 *     -> LOCAL_RESPONSE (errors, ListBuckets) -> READ_HEAD | LINGER | closed
 *     -> BACKEND_CONNECT -> [BACKEND_TLS] -> SEND_HEAD -> [WAIT_CONTINUE] -> [REQ_BODY]
 *     -> READ_RESP_HEAD -> [READ_RESP_WHOLE] -> SEND_RESP_HEAD -> [RESP_BODY] -> READ_HEAD | closed
 *
 * LOCK_PROBE: a CopyObject by a principal who may not set object lock
 * first asks the backend whether the source's bucket has object lock
 * enabled (GET ?object-lock; BACKEND_CONNECT .. SEND_HEAD
 * with that head), reads its answer there, and then starts over with the
 * copy itself, or refuses it (auth_copy_lock_verdict).
 *
 * READ_RESP_WHOLE: an error answer (status >= 400) with a body is read
 * whole, bounded (errbody.h), and judged before anything goes to the
 * client; one that refuses or names the service credentials becomes
 * s3gate's own error (LOCAL_RESPONSE).  The one success answer s3gate
 * changes, CompleteMultipartUpload's (respbody.h), is read and judged the
 * same way.  Every other success answer is streamed.
 */
#ifndef S3GATE_CONN_H
#define S3GATE_CONN_H

#include <sys/queue.h>
#include <sys/socket.h>

#include <stdint.h>
#include <time.h>

#include <event2/event.h>
#include <openssl/ssl.h>

#include "policy/policy.h"
#include "policy/store.h"
#include "proxy/auth.h"
#include "proxy/httpmsg.h"
#include "proxy/s3addr.h"
#include "proxy/s3err.h"
#include "proxy/sbuf.h"
#include "proxy/sigv2.h"
#include "proxy/sigv4.h"
#include "proxy/stream.h"
#include "proxy/uri.h"

struct server;
struct gateapi_request;

enum conn_state {
	CONN_PROXY_HEADER,	/* client: the PROXY header a balancer sends first */
	CONN_TLS_HANDSHAKE,	/* client: TLS handshake */
	CONN_READ_HEAD,		/* client: reading a request head */
	CONN_AUTH_WAIT,		/* waiting for the policy store */
	CONN_BACKEND_CONNECT,	/* backend: connect(2) in progress */
	CONN_BACKEND_TLS,	/* backend: TLS handshake (https backends) */
	CONN_SEND_HEAD,		/* backend: writing the re-signed head */
	CONN_WAIT_CONTINUE,	/* Expect: 100-continue: waiting for the backend's 100 */
	CONN_SEND_CONTINUE,	/* client: writing "100 Continue" */
	CONN_REQ_BODY,		/* client -> backend body */
	CONN_READ_RESP_HEAD,	/* backend: reading the response head */
	CONN_READ_RESP_WHOLE,	/* backend: reading an answer's body whole, to judge or change it */
	CONN_SEND_RESP_HEAD,	/* client: writing the response head */
	CONN_RESP_BODY,		/* backend -> client body */
	CONN_API_BODY,		/* client: reading the JSON body of an /_s3gate/ call */
	CONN_READ_BODY,		/* client: reading a small body the policy must see */
	CONN_LOCAL_RESPONSE,	/* client: writing a response s3gate made */
	CONN_LINGER,		/* client: discarding an unread body before closing */
	CONN_LOCK_PROBE,	/* backend: whether a copy's source bucket has object lock enabled */
	CONN_CLOSED,
	CONN__NSTATES
};

struct conn_side {
	struct backend_conn *bc;	/* backend side: the lent connection (server.h) */
	int		 fd;
	SSL		*ssl;		/* NULL: plain socket */
	int		 io_want;	/* SOCKIO_WANT_* of the last read or write that waited */
	struct event	*ev_read;
	struct event	*ev_write;
	int		 reading;	/* ev_read is added */
	int		 want_read;	/* the state waits for reads (ev_read may stay added without) */
	int		 writing;	/* ev_write is added */
	char		*buf;		/* head buffer; holds what was read past the head too */
	size_t		 cap;
	size_t		 len;
};

struct conn {
	TAILQ_ENTRY(conn)	 entry;
	struct server		*srv;
	struct conf		*conf;		/* referenced for the connection's life */
	uint64_t		 id;
	enum conn_state		 state;
	struct conn_side	 client;
	struct conn_side	 backend;
	int			 backend_reused;
	int			 backend_retried;
	unsigned int		 backend_tried;	/* upstream.h: addresses dialled for this request, a bit each */
	int			 backend_addr;	/* the one dialled last */
	unsigned int		 backend_addr_gen;	/* ... of srv->upstream as it was then (a reload renews it) */
	int			 backend_readable;	/* readable during REQ_BODY: an interim response,
						   or an early answer (conn_backend_early_answer) */
	struct event		*timer;
	int64_t			 deadline_ms;	/* when the state's timeout expires (CLOCK_MONOTONIC_COARSE) */
	int64_t			 armed_ms;	/* the deadline the timer is armed for; 0: not armed */
	int64_t			 pace_since_ms;	/* body_min_rate: the window's start; 0: none */
	uint64_t		 pace_mark;	/* stream.moved at pace_since_ms */
	struct event		*throttle;	/* resumes a body paused by a bandwidth quota */
	struct quota_entry	*quota;		/* the principal's quotas; NULL: none apply */
	int			 quota_active;	/* counted in quota->active */
	int			 quota_shm_active;	/* counted in the workers' quotashm slot */
	int			 retry_after;	/* seconds, for SlowDown */
	struct link_usage	*link_usage;	/* a --max-uses link's budget, counted */
	uint64_t		 link_reserved;	/* of it, for this response's bytes yet to go */
	char			 peer[64];
	struct sockaddr_storage	 peer_addr;	/* the client: the socket's, or a PROXY header's */
	int			 peer_counted;	/* peer_addr holds one of max_connections_per_ip */
	int			 closing;	/* close the client after this response */
	int			 abort_backend;	/* reset, do not pool */
	int			 store_pending;

	/* the request being served */
	char			 request_id[24];
	char			 backend_request_id[64];	/* the backend answer's x-amz-request-id (access log) */
	struct timespec		 started;
	struct http_head	 head;		/* into client.buf */
	size_t			 body_prefix;	/* body bytes read with the head */
	uint64_t		 req_body_len;
	uint64_t		 req_body_sent;
	int			 is_head_method;
	struct s3addr		 addr;
	struct query_list	 query;
	struct s3_op		 op;
	int			 op_valid;
	struct sigv4_auth	 auth;		/* SigV4, or the SigV2 fields copied in */
	struct sigv2_auth	 auth2;
	int			 sigv2;		/* authenticated with Signature Version 2 */
	struct policy_credential cred;
	struct policy_access	 access;
	struct policy_access	 copy_access;
	/*
	 * CopyObject: the object lock the principal may not set on the
	 * destination (COPY_LOCK_*, auth.c), which the source must not carry;
	 * lock_probe while the probe of the source's bucket is under way.
	 */
	unsigned		 copy_lock_missing;
	int			 lock_probe;
	/*
	 * A CORS preflight (auth.c: OPTIONS with Origin and
	 * Access-Control-Request-Method, unsigned as browsers send it): the
	 * backend gets only its CORS headers, and any answer but 200 becomes
	 * one 403, the same for every bucket.
	 */
	int			 preflight;
	struct pstore_bucket_list bucket_list;	/* ListBuckets, GET /_s3gate/access; the store
						   may fill it after a PENDING answer */
	struct policy_decision	 decision;
	struct gateapi_request	*api;		/* /_s3gate/ calls (gateapi.c) */
	const char		*gateapi_action;	/* their name in the access log */
	const char		*gateapi_bucket;	/* the bucket an API call names, for the log */
	enum auth_stage		 auth_stage;	/* auth.h; AUTH_WAIT runs from here */
	int			 decided;	/* decision filled */
	enum s3err		 error;
	char			*error_message;

	/* writing heads: to the backend, to the client, or a local response */
	struct sbuf		 out;
	size_t			 out_off;
	int			 out_more;	/* a body follows: MSG_MORE */

	/* the response */
	struct http_head	 resp;		/* into backend.buf */
	int			 resp_read_ahead;	/* reading before epoll said so (conn_await_answer) */
	int			 resp_status;
	enum stream_framing	 resp_framing;
	int			 resp_has_body;
	uint64_t		 resp_length;
	size_t			 resp_with_head;	/* body bytes sent in the same write as the head */
	int			 resp_with_head_paid;	/* counted in the bandwidth quota */
	int			 req_prefix_paid;	/* the upload stream's prefix, likewise */
	size_t			 resp_consumed;	/* bytes of backend.buf the response is made of;
						   more in the buffer: the connection is not reusable */
	int			 resp_complete;	/* the whole response went to the client (or was
						   read whole and withheld: READ_RESP_WHOLE) */
	size_t			 resp_body_raw;	/* READ_RESP_WHOLE: body bytes as received, framing
						   included, known to belong to the response */
	char			 resp_length_text[24];	/* the Content-Length of a body read whole */
	struct http_body_tracker tracker;
	struct stream		 stream;
	struct awschunked	*decoder;	/* aws-chunked request body, decoded on the way */
	int			 req_chunked;	/* Transfer-Encoding: chunked request body */
	int			 req_body_done;	/* the whole request body went to the backend */
	int			 req_body_read;	/* the whole request body was read by s3gate itself
						   (conn_read_small_body: DeleteObjects, API calls) */
	struct sbuf		 prebody;	/* a body read before forwarding (DeleteObjects) */
	int			 prebody_ready;
	/* a plain body's x-amz-checksum-ALG (CHECKSUM_NONE: none), checked on the way */
	enum checksum_alg	 body_sum_alg;
	char			 body_sum_want[CHECKSUM_BASE64_MAX];
	size_t			 body_sum_want_len;
	int			 continue_sent;	/* s3gate said 100 Continue itself */
	struct http_body_tracker req_tracker;
	struct sbuf		 req_rest;	/* read past a chunked request body: the next
						   request's start, for conn_finish */
	int			 streaming;
	uint64_t		 bytes_in;
	uint64_t		 bytes_out;
	uint64_t		 linger_left;
};

/* Takes ownership of FD (accepted, non-blocking) and of SSL (NULL: plain). */
/* PROXY_PROTOCOL: the listener's clients send a PROXY header first (proxyproto.h). */
struct conn	*conn_new(struct server *, int fd, SSL *, const struct sockaddr *, socklen_t,
	    int proxy_protocol);
/* For auth.c and gateapi.c: answering, waiting and resuming (see conn.c for contracts). */
int		 conn_reply_error(struct conn *, enum s3err, const char *message);
int		 conn_reply(struct conn *, int status, const char *content_type,
		    const char *body, size_t len);
void		 conn_resume(struct conn *);
int		 conn_reply_location(struct conn *, const char *location);
int		 conn_read_small_body(struct conn *, struct sbuf *);
void		 conn_set_state(struct conn *, enum conn_state);
void		 conn_side_want(struct conn_side *, int rd, int wr);
void		 conn_side_wait_io(struct conn_side *);
int		 conn_store_wait(struct conn *, enum pstore_result);
void		 conn_store_cb(void *);
/* Reads the body into c->prebody (CONN_READ_BODY), then back to AUTH_WAIT. Returns 1. */
int		 conn_read_prebody(struct conn *);
/*
 * A body s3gate reads itself (DeleteObjects, API calls) and the client
 * waits to send (Expect: 100-continue): 100 Continue, once.
 */
void		 conn_continue_small_body(struct conn *);
/* Such a body must come whole within body_timeout (then 400 RequestTimeout). */
void		 conn_small_body_timer(struct conn *);
/* The request is allowed: re-signs it and sends it to the backend. Returns like a handler. */
int		 conn_backend_start(struct conn *);
/*
 * The request is allowed but a copy whose source may carry object lock
 * (c->copy_lock_missing): asks the backend whether the source's bucket has
 * object lock enabled first (CONN_LOCK_PROBE), then auth_copy_lock_verdict().  Returns like a handler.
 */
int		 conn_lock_probe_start(struct conn *);
/* Seconds on the monotonic clock, as quotas count them. */
double		 conn_now(void);
/* Milliseconds on the coarse monotonic clock (timers, upstream.h's down times). */
int64_t		 conn_now_ms(void);

/* An event on the backend connection C has borrowed (server.c's callback). */
void		 conn_backend_event(struct conn *, short what);
/* Ends the connection at once (shutdown timeout). */
void		 conn_abort(struct conn *);
const char	*conn_state_name(enum conn_state);

#endif
