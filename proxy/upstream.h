/*
 * upstream: the addresses s3gate connects to for the backend, and which of
 * them to take for the next new connection.
 *
 * An object store runs several gateways (RGW daemons on several hosts,
 * the pods behind a headless Kubernetes service): the backend URL's host
 * may resolve to all of them, or backend_addresses lists them.  New
 * connections go round the addresses in turn; an address that fails is
 * skipped for backend_fail_timeout (nginx's max_fails=1 fail_timeout).
 * What counts as its failure (enum upstream_fail) is what nginx's
 * proxy_next_upstream counts always (error, timeout) and HAProxy's
 * "observe layer4": a connect refused or not taken in time (with an https
 * backend: its TLS handshake too); on a connection
 * s3gate made for the request, no answer (closed or reset before one, a
 * head that is not HTTP, or
 * none within backend_timeout to a GET or HEAD of an object, or to a head
 * not all taken; a PUT, POST, DELETE or listing may be slow at a working
 * gateway, and any tenant may send one); and, opted into
 * (backend_fail_status), an answer
 * of a gateway's own failure (layer7).  A pooled connection that closed is
 * not the gateway's failure: it may have been idle too long for it, or for
 * anything in between.  After a failure the request goes to the next
 * address when it may go again (conn_backend.c, conn_backend_retry): always after
 * a failed connect, since nothing was sent yet.  When every address is
 * down, the one down longest is tried anyway: a backend that was away for a
 * moment is not refused for the rest of the timeout.  An address is up
 * again when its time is over, or when it answered (one that failed only a
 * connect: when it takes one, the readiness probe's).  Pooled connections
 * are reused whatever their address (every gateway serves every request),
 * but none to an address that is down or gone (server.c).
 *
 * Per process: each worker learns on its own (its first failed connect).
 * A host name is resolved again every backend_resolve_interval (server.c,
 * on the jobs thread): the pods behind a headless service come and go.
 * Pure: the caller passes the time; no I/O but the address's text.
 */
#ifndef S3GATE_UPSTREAM_H
#define S3GATE_UPSTREAM_H

#include <stdint.h>
#include <sys/socket.h>

#define UPSTREAM_MAX	16

/* What an address failed at: s3gate_backend_marked_down_total's reason label. */
enum upstream_fail {
	UPSTREAM_FAIL_CONNECT,	/* refused, or not taken within backend_connect_timeout,
				   or the TLS handshake failed or did not end in it */
	UPSTREAM_FAIL_RESET,	/* a new connection closed or reset before any answer */
	UPSTREAM_FAIL_TIMEOUT,	/* ... no answer within backend_timeout (to an object's GET, HEAD) */
	UPSTREAM_FAIL_STATUS,	/* an answer backend_fail_status names (502, 503, 504) */
	UPSTREAM_FAIL_INVALID,	/* ... an answer head that is not HTTP (httpmsg refuses it) */
	UPSTREAM_FAIL__N
};

struct upstream_addr {
	struct sockaddr_storage	 ss;
	socklen_t		 len;
	char			 text[64];	/* "10.0.0.7:7480", "[fd00::7]:7480": logs, metrics */
	int64_t			 down_until_ms;	/* 0: up; else skipped until then */
	int64_t			 down_since_ms;	/* when it went down (0: up): the longest down goes first */
	enum upstream_fail	 down_why;	/* what it failed at last, while down */
};

struct upstream {
	struct upstream_addr	 addr[UPSTREAM_MAX];
	int			 n;
	unsigned int		 next;		/* where the turn goes on */
};

/* "connect", "reset", "timeout", "status", "invalid" */
const char	*upstream_fail_name(enum upstream_fail);

/* Adds an address (a repeat is ignored): 0, or -1 when UPSTREAM_MAX are there. */
int	upstream_add(struct upstream *, const struct sockaddr *, socklen_t);
/*
 * The index of the address for a new connection: the next in turn that is
 * up and not in TRIED (a bit per index: those this request tried); if none
 * of the untried is up, the untried one down longest.  -1: all tried.
 */
int	upstream_pick(struct upstream *, int64_t now_ms, unsigned int tried);
/*
 * Address I failed at WHY at NOW_MS: down for FAIL_TIMEOUT_MS (0: never
 * marked down).  Returns 1 if it was up until now.
 */
int	upstream_failed(struct upstream *, int i, enum upstream_fail why, int64_t now_ms,
	    int64_t fail_timeout_ms);
/* Address I answered a request: up again. */
void	upstream_ok(struct upstream *, int i);
/*
 * Address I took a connection (the readiness probe's): up again if what it
 * last failed at was a connect.  A gateway that took the connection and
 * then failed the request (reset, timeout, status) showed nothing new by
 * taking one: it stays down until it answers or its time is over.
 * Returns 1 if it came up.
 */
int	upstream_connected(struct upstream *, int i);
/* Whether address I is up at NOW_MS. */
int	upstream_is_up(const struct upstream *, int i, int64_t now_ms);
/* Whether an address is left that TRIED (as for upstream_pick) has not. */
int	upstream_untried(const struct upstream *, unsigned int tried);
/*
 * U takes the addresses of FRESH (the host resolved anew), in FRESH's
 * order, an address in both keeping its down time.  Returns 1 if the set
 * changed: indexes into U from before mean nothing then, but REMAP (NULL:
 * not asked) says where each went, -1 for an address gone.  0 if it is the
 * same set, U and REMAP left as they were.
 */
int	upstream_merge(struct upstream *u, const struct upstream *fresh, int remap[UPSTREAM_MAX]);

#endif
