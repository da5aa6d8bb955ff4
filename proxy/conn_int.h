/*
 * conn's insides, shared by its three files and by nothing else (conn.h
 * is the module's interface):
 *
 *   conn.c         the lifecycle: client side, request start and end,
 *                  conn_drive(), timers, sides and buffers, errors
 *   conn_backend.c the backend side: dialling and pooled connections,
 *                  retries and addresses marked down, the request's head
 *                  and body sent, the lock probe, the answer's head read
 *   conn_answer.c  the answer: framed, relayed, or read whole and judged
 *
 * Every function here keeps the contract its definition's comment states.
 */
#ifndef S3GATE_CONN_INT_H
#define S3GATE_CONN_INT_H

#include <sys/types.h>

#include <stddef.h>
#include <stdint.h>

#include "proxy/conn.h"
#include "proxy/httpmsg.h"
#include "proxy/quota.h"
#include "proxy/s3err.h"
#include "proxy/server.h"
#include "proxy/stream.h"
#include "proxy/upstream.h"

/*
 * The client's head buffer holds one byte more than a head may have (so
 * that a head too large is seen as such); it is also all that is kept of
 * pipelined requests while one is served.
 */
#define CONN_HEAD_BUF_MAX(c)	((size_t)(c)->conf->max_head_size + 1)
/* A response head is read with room for a small body: sent on with the head in one write */
#define CONN_RESP_INITIAL	(16 * 1024)
#define CONN_RESP_HEAD_MAX	(64 * 1024)

/* What conn_backend_read_head() found (conn_backend.c). */
enum conn_head_read { HEAD_READ_DONE, HEAD_READ_WAIT, HEAD_READ_BAD, HEAD_READ_TOO_LARGE, HEAD_READ_CLOSED };

/* The bounds a backend's response head is parsed within. */
extern const struct http_limits conn_resp_limits;

/* conn.c */

/* Moves the connection's deadline to MS from now. */
void		 conn_timer_set(struct conn *, int ms);
/* Starts a body_min_rate window. */
void		 conn_pace_start(struct conn *);
/* The backend side borrows a pooled or new backend connection. */
void		 conn_side_lend(struct conn *, struct conn_side *, struct backend_conn *);
/* Closes the side's socket; RESET sends RST. */
void		 conn_side_close(struct conn_side *, int reset);
/* Gives an idle backend connection back to the pool. */
void		 conn_side_release(struct conn *, struct conn_side *);
/* Grows the side's buffer to hold NEED bytes, within LIMIT. */
int		 conn_side_grow(struct conn_side *, size_t need, size_t initial, size_t limit);
/* Reads into the side's buffer, growing it up to LIMIT. */
ssize_t		 conn_side_read(struct conn_side *, size_t initial, size_t limit);
/* Counts a finished body by the engine that moved it. */
void		 conn_count_body(struct conn *);
/* Reserves a --max-uses link's body against its budget, or refuses it. */
int		 conn_link_reserve(struct conn *);
/* Gives up the upload and reads the backend's answer. */
void		 conn_abandon_upload(struct conn *);
/* Tells the client to send its body (100 Continue). */
void		 conn_send_continue(struct conn *);
/* Drops an interim (1xx) response from the backend's buffer. */
void		 conn_skip_interim(struct conn *);
/* Answers with an S3 error (LOCAL_RESPONSE). */
int		 conn_fail(struct conn *, enum s3err, const char *message);
/* Pays the bandwidth quota for body bytes moved outside the stream. */
int		 conn_quota_pay(struct conn *, enum quota_dir, uint64_t n, int *paid);
/* Runs the body relay within the principal's bandwidth quota. */
enum stream_result conn_stream_run(struct conn *, enum quota_dir);

/* conn_backend.c */

/* Whether the request may be sent again on a new connection. */
int		 conn_retry_safe(const struct conn *);
/* The backend address failed: counted, logged, perhaps marked down. */
void		 conn_backend_addr_failed(struct conn *, enum upstream_fail, const char *what);
/* Dials the next backend address not tried yet; 503 when none is left. */
int		 conn_backend_dial(struct conn *, const char *why);
/* The backend connection failed before an answer: dial again or answer. */
int		 conn_backend_retry(struct conn *, enum upstream_fail, const char *what, int resend);
/* Marks the address down when its answer's status says the gateway failed. */
void		 conn_backend_rate_answer(struct conn *);
/* CONN_BACKEND_CONNECT's handler. */
int		 conn_do_backend_connect(struct conn *);
/* CONN_BACKEND_TLS's handler. */
int		 conn_do_backend_tls(struct conn *);
/* Writes c->out to the side.  1 done, 0 wait, -1 error. */
int		 conn_write_out(struct conn *, struct conn_side *);
/* Starts the body stream: the request's (UPLOAD) or the response's. */
void		 conn_stream_start(struct conn *, int upload);
/* CONN_SEND_HEAD's handler. */
int		 conn_do_send_head(struct conn *);
/* CONN_REQ_BODY's handler. */
int		 conn_do_req_body(struct conn *);
/* Reads from the backend until its buffer starts with a whole response head. */
enum conn_head_read conn_backend_read_head(struct conn *);
/* The backend became readable while the body is still going up. */
int		 conn_backend_early_answer(struct conn *);
/* CONN_LOCK_PROBE's handler. */
int		 conn_do_lock_probe(struct conn *);

/* conn_answer.c */

/* CONN_READ_RESP_WHOLE's handler. */
int		 conn_do_read_resp_whole(struct conn *);
/* CONN_READ_RESP_HEAD's handler. */
int		 conn_do_read_resp_head(struct conn *);

#endif
