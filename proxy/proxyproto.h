/*
 * proxyproto: the PROXY protocol header (HAProxy's, versions 1 and 2) that
 * a load balancer passing TCP through sends first on each connection, to
 * say whose connection it is: s3gate's per-address caps and its access log
 * then count and name the client, not the balancer.  Pure.
 *
 * v1: "PROXY TCP4|TCP6 SRC DST SPORT DPORT\r\n" or "PROXY UNKNOWN...\r\n",
 *     at most 107 bytes.
 * v2: a 12-byte signature, version and command, family and protocol, a
 *     16-bit length, then the addresses and TLVs (ignored).
 * A v2 LOCAL command (the balancer's own health check) and v1 UNKNOWN carry
 * no client: the socket's address stays.
 */
#ifndef S3GATE_PROXYPROTO_H
#define S3GATE_PROXYPROTO_H

#include <stddef.h>
#include <sys/socket.h>

/* The longest header taken: v1's 107 bytes, or v2's 16 and up to 1008 of addresses and TLVs. */
#define PROXYPROTO_MAX	1024

enum proxyproto_result {
	PROXYPROTO_MORE,	/* a header's beginning: read on */
	PROXYPROTO_DONE,
	PROXYPROTO_BAD,		/* not a PROXY header, or one s3gate does not take: close */
};

struct proxyproto_header {
	size_t			 len;		/* bytes of the header: what to consume */
	int			 local;		/* no client named: keep the socket's address */
	struct sockaddr_storage	 src;		/* the client (unless local) */
	socklen_t		 src_len;
};

/*
 * Parses the header at the start of BUF (LEN bytes read so far).  DONE fills
 * OUT; BAD sets *WHY (static text, for a log line).
 */
enum proxyproto_result proxyproto_parse(const unsigned char *buf, size_t len,
	    struct proxyproto_header *out, const char **why);

#endif
