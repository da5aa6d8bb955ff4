/*
 * upstream: the addresses s3gate connects to for the backend, and which of
 * them to take for the next new connection.
 *
 * An object store runs several gateways (RGW daemons on several hosts,
 * the pods behind a headless Kubernetes service): the backend URL's host
 * may resolve to all of them, or backend_addresses lists them.  New
 * connections go round the addresses in turn; an address that refused a
 * connection, or did not take one within backend_connect_timeout, is
 * skipped for backend_fail_timeout (nginx's max_fails=1 fail_timeout), and
 * the request is dialled to the next address at once: nothing was sent
 * yet, so any request may go again.  When every address is down, the one
 * down longest is tried anyway: a backend that was away for a moment is
 * not refused for the rest of the timeout.  Pooled connections are reused
 * whatever their address (every gateway serves every request).
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

struct upstream_addr {
	struct sockaddr_storage	 ss;
	socklen_t		 len;
	char			 text[64];	/* "10.0.0.7:7480", "[fd00::7]:7480": logs, metrics */
	int64_t			 down_until_ms;	/* 0: up; else skipped until then */
	int64_t			 down_since_ms;	/* when it went down (0: up): the longest down goes first */
};

struct upstream {
	struct upstream_addr	 addr[UPSTREAM_MAX];
	int			 n;
	unsigned int		 next;		/* where the turn goes on */
};

/* Adds an address (a repeat is ignored): 0, or -1 when UPSTREAM_MAX are there. */
int	upstream_add(struct upstream *, const struct sockaddr *, socklen_t);
/*
 * The index of the address for a new connection: the next in turn that is
 * up and not in TRIED (a bit per index: those this request tried); if none
 * of the untried is up, the untried one down longest.  -1: all tried.
 */
int	upstream_pick(struct upstream *, int64_t now_ms, unsigned int tried);
/*
 * Address I failed to take a connection at NOW_MS: down for FAIL_TIMEOUT_MS
 * (0: never marked down).  Returns 1 if it was up until now.
 */
int	upstream_failed(struct upstream *, int i, int64_t now_ms, int64_t fail_timeout_ms);
/* Address I took a connection: up again. */
void	upstream_ok(struct upstream *, int i);
/* Whether address I is up at NOW_MS. */
int	upstream_is_up(const struct upstream *, int i, int64_t now_ms);
/*
 * U takes the addresses of FRESH (the host resolved anew), in FRESH's
 * order, an address in both keeping its down time.  Returns 1 if the set
 * changed (indexes into U from before mean nothing then); 0 if it is the
 * same set, U left as it was.
 */
int	upstream_merge(struct upstream *u, const struct upstream *fresh);

#endif
