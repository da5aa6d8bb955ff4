/*
 * stream: moves one message body from one socket to another, bounded.
 *
 * Two engines, chosen per body: splice(2) through a pipe (plain sockets on
 * both sides, body not inspected) and recv/send through one buffer (TLS,
 * or framing that must be tracked such as chunked responses).  Either way
 * at most pipe_size or buffer_size bytes are in flight: the source is read
 * only while there is room, so a slow reader stops the writer (backpressure)
 * and memory per connection is independent of the object size.
 *
 * stream_run() does as much as the sockets allow without blocking and says
 * which events it waits for; the caller re-runs it when one fires.
 */
#ifndef S3GATE_STREAM_H
#define S3GATE_STREAM_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/ssl.h>

#include "proxy/awschunked.h"
#include "proxy/checksum.h"
#include "proxy/httpmsg.h"

enum stream_framing {
	STREAM_LENGTH,		/* exactly `remaining` bytes */
	STREAM_CHUNKED,		/* HTTP/1.1 chunked: tracked, passed through as is */
	STREAM_DECHUNKED,	/* HTTP/1.1 chunked: tracked, and only the chunks' data
				   passed on (for an HTTP/1.0 reader, the end marked by
				   closing the connection) */
	STREAM_UNTIL_EOF,	/* response without length: until the source closes */
	STREAM_AWSCHUNKED,	/* `remaining` bytes of aws-chunked body, decoded and
				   verified on the way (decoder), plain bytes sent */
};

enum stream_result {
	STREAM_DONE,		/* the whole body moved */
	STREAM_WAIT,		/* wait for want_read on src / want_write on dst */
	STREAM_SRC_EOF,		/* the source closed before the end of the body */
	STREAM_SRC_ERROR,	/* reading the source failed (errno saved in err) */
	STREAM_DST_ERROR,	/* writing the destination failed */
	STREAM_THROTTLED,	/* the byte budget is spent: run again later */
	STREAM_BAD_FRAMING,	/* chunked framing broken, or the aws-chunked decoder
				   refused the body (decoder's error says why) */
	STREAM_BAD_DIGEST,	/* a plain body's x-amz-checksum-* did not match
				   (stream_verify_body): its last byte never went */
};

struct stream {
	int			 src_fd;
	int			 dst_fd;
	SSL			*src_ssl;	/* NULL: plain socket */
	SSL			*dst_ssl;
	enum stream_framing	 framing;
	uint64_t		 remaining;	/* STREAM_LENGTH: bytes still to read */
	uint64_t		 moved;		/* bytes written to dst */
	uint64_t		 spliced;	/* of which through splice */
	uint64_t		 read_bytes;	/* read from src (what a bandwidth quota counts) */
	uint64_t		 budget;	/* bytes src may still be read from in this run
						   (set by the caller; UINT64_MAX: no limit) */

	/* bytes already read with the head: written first */
	const char		*prefix;
	size_t			 prefix_len;

	/* splice engine */
	int			 use_splice;
	int			 pipe_fd[2];
	size_t			 pipe_size;
	size_t			 in_pipe;

	/* copy engine */
	char			*buf;
	size_t			 buf_cap;
	size_t			 buf_len;
	size_t			 buf_off;

	struct http_body_tracker *tracker;	/* STREAM_CHUNKED, STREAM_DECHUNKED */
	struct awschunked	*decoder;	/* STREAM_AWSCHUNKED */
	char			 held;		/* the body's last decoded byte, held back
						   until the decoder verified everything, so
						   the backend never completes a bad object */
	int			 holding;
	int			 decoded_done;
	/* stream_verify_body: the running sum of a plain body, and what it must be */
	int			 verifying;
	struct checksum		 sum;
	const char		*sum_want;	/* base64, as the client sent it */
	size_t			 sum_want_len;
	int			 bad_prefix;	/* the prefix already broke framing */

	/*
	 * Bytes past the end of a chunked request body (STREAM_AWSCHUNKED with
	 * a tracker) are the client's next request, pipelined: kept, at most
	 * rest_max of them (set by the caller after stream_init); more is
	 * STREAM_BAD_FRAMING with err ENOBUFS.  0 (as for every response, and
	 * for the copy engine always): any is STREAM_BAD_FRAMING.  On STREAM_DONE,
	 * prefix_rest says how many of the prefix's last bytes are past the
	 * end (they stay where the caller has them), and rest / rest_len are
	 * those read from src past the end (in the buffer, valid until
	 * stream_release); at most one of the two is non-zero.
	 */
	size_t			 rest_max;
	size_t			 prefix_rest;
	const char		*rest;
	size_t			 rest_len;

	/* on STREAM_WAIT: what each socket waits for (SOCKIO_WANT_READ|_WRITE);
	   with TLS a read may wait for writability and the reverse */
	int			 src_want;
	int			 dst_want;
	int			 err;		/* errno of the failure */
};

/*
 * Prepares S to move a body.  use_splice asks for the splice engine; it is
 * used only for STREAM_LENGTH between plain sockets and falls back to copying quietly where the
 * kernel refuses.  The pipe comes from a small process-wide pool.
 */
void	 stream_init(struct stream *, int src_fd, SSL *src_ssl, int dst_fd, SSL *dst_ssl,
	    enum stream_framing,
	    uint64_t length, const char *prefix, size_t prefix_len, int use_splice,
	    size_t pipe_size, size_t buf_size, struct http_body_tracker *);
/*
 * A STREAM_LENGTH body whose checksum the client gave (x-amz-checksum-ALG:
 * WANT, base64, WANT_LEN bytes, kept by the caller until stream_release):
 * copied, never spliced, summed on the way, and its last byte held back
 * until the sum matches; else STREAM_BAD_DIGEST.  After stream_init.
 */
void	 stream_verify_body(struct stream *, enum checksum_alg alg, const char *want,
	    size_t want_len);
enum stream_result stream_run(struct stream *);
/*
 * body_min_rate's judgement at the end of a window of WINDOW_MS in which
 * the body moved MOVED bytes: 1 if that is under MIN_RATE bytes a second
 * and the stream waits on the client alone (CLIENT_IS_SRC: an upload,
 * the client is the source; else a download, the destination).  A
 * stream that waits on the backend, or on both sides, is not the
 * client's doing: 0, as for MIN_RATE 0 (off).  Pure.
 */
int	 stream_client_too_slow(const struct stream *, int client_is_src, uint64_t moved,
	    int64_t window_ms, uint64_t min_rate);
/* Returns the pipe to the pool (or closes it if it holds bytes); frees the buffer. */
void	 stream_release(struct stream *);

#endif
