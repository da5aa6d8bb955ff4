/*
 * stream: the body relay.  See stream.h for the contract.
 *
 * Pipes come from a small pool: creating one costs two syscalls plus
 * F_SETPIPE_SZ, and most requests (GET of an object) need one.  A pipe that
 * still holds bytes (aborted transfer) is closed, never pooled.
 */
#include <sys/socket.h>

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "proxy/stream.h"
#include "proxy/tls.h"

#define STREAM_PIPE_POOL	32
/* The smallest copy buffer: one TLS record */
#define STREAM_BUF_MIN		(16 * 1024)

static int	stream_pipe_pool[STREAM_PIPE_POOL][2];
static size_t	stream_pipe_pool_size[STREAM_PIPE_POOL];
static int	stream_pipe_pooled;

static int
stream_pipe_get(int fds[2], size_t want_size, size_t *got_size)
{
	int sz;

	if (stream_pipe_pooled > 0) {
		stream_pipe_pooled--;
		fds[0] = stream_pipe_pool[stream_pipe_pooled][0];
		fds[1] = stream_pipe_pool[stream_pipe_pooled][1];
		*got_size = stream_pipe_pool_size[stream_pipe_pooled];
		return 0;
	}
	if (pipe2(fds, O_NONBLOCK | O_CLOEXEC) == -1)
		return -1;
	/* The kernel may cap the size (pipe-max-size); use what it gave. */
	if ((sz = fcntl(fds[1], F_SETPIPE_SZ, (int)want_size)) == -1)
		sz = fcntl(fds[1], F_GETPIPE_SZ);
	*got_size = sz > 0 ? (size_t)sz : 65536;
	return 0;
}

static void
stream_pipe_put(int fds[2], size_t size, int dirty)
{
	if (dirty || stream_pipe_pooled == STREAM_PIPE_POOL) {
		close(fds[0]);
		close(fds[1]);
	} else {
		stream_pipe_pool[stream_pipe_pooled][0] = fds[0];
		stream_pipe_pool[stream_pipe_pooled][1] = fds[1];
		stream_pipe_pool_size[stream_pipe_pooled] = size;
		stream_pipe_pooled++;
	}
	fds[0] = fds[1] = -1;
}

void
stream_init(struct stream *s, int src_fd, SSL *src_ssl, int dst_fd, SSL *dst_ssl,
    enum stream_framing framing,
    uint64_t length, const char *prefix, size_t prefix_len, int use_splice,
    size_t pipe_size, size_t buf_size, struct http_body_tracker *tracker)
{
	memset(s, 0, sizeof(*s));
	s->src_fd = src_fd;
	s->dst_fd = dst_fd;
	s->src_ssl = src_ssl;
	s->dst_ssl = dst_ssl;
	s->framing = framing;
	s->remaining = length;
	s->prefix = prefix;
	s->prefix_len = prefix_len;
	s->pipe_fd[0] = s->pipe_fd[1] = -1;
	s->budget = UINT64_MAX;
	s->pipe_size = pipe_size;
	s->buf_cap = buf_size;
	s->tracker = tracker;
	if (framing == STREAM_LENGTH) {
		/* prefix bytes count against the length */
		if (prefix_len > length)
			s->prefix_len = prefix_len = (size_t)length;
		s->remaining = length - prefix_len;
	}
	s->use_splice = use_splice && framing == STREAM_LENGTH && src_ssl == NULL && dst_ssl == NULL;
	if (framing == STREAM_AWSCHUNKED && tracker != NULL) {
		/* chunked transfer: the outer framing says where the body ends */
		s->remaining = UINT64_MAX;
	} else if (framing == STREAM_AWSCHUNKED) {
		/* prefix bytes are encoded body: they count against the encoded length */
		if (prefix_len > length)
			s->prefix_len = prefix_len = (size_t)length;
		s->remaining = length - prefix_len;
	}
	/*
	 * A body of known length smaller than the buffer gets a buffer of its
	 * size: a large copy_buffer_size costs only the transfers that use it.
	 */
	if ((framing == STREAM_LENGTH || (framing == STREAM_AWSCHUNKED && tracker == NULL)) &&
	    s->remaining < s->buf_cap)
		s->buf_cap = s->remaining > STREAM_BUF_MIN ? (size_t)s->remaining : STREAM_BUF_MIN;
	if (s->buf_cap > buf_size)
		s->buf_cap = buf_size;
	/*
	 * An aws-chunked or de-chunked body is decoded in the buffer, the bytes
	 * that came with the head first, in one piece: they must fit, whatever
	 * the body's length or copy_buffer_size (the head's limit bounds them).
	 */
	if ((framing == STREAM_AWSCHUNKED || framing == STREAM_DECHUNKED) && s->buf_cap < prefix_len)
		s->buf_cap = prefix_len;
	if (framing == STREAM_CHUNKED && prefix_len > 0) {
		/* the prefix is body too: track it before it is written */
		long keep = httpmsg_body_tracker_feed(tracker, prefix, prefix_len);
		if (keep < 0 || (size_t)keep < prefix_len)
			s->bad_prefix = 1;
	}
}

/* Writes the prefix; 1 when it is all out. */
static int
stream_write_prefix(struct stream *s, enum stream_result *res)
{
	ssize_t n;
	int want;

	while (s->prefix_len > 0) {
		n = sockio_send(s->dst_fd, s->dst_ssl, s->prefix, s->prefix_len, 0, &want);
		if (n == -1) {
			if (errno == EAGAIN || errno == EINTR) {
				s->dst_want = want;
				*res = STREAM_WAIT;
				return 0;
			}
			s->err = errno;
			*res = STREAM_DST_ERROR;
			return 0;
		}
		s->prefix += n;
		s->prefix_len -= (size_t)n;
		s->moved += (uint64_t)n;
	}
	return 1;
}

static enum stream_result
stream_run_splice(struct stream *s)
{
	ssize_t n;
	size_t want;

	if (s->pipe_fd[0] == -1 && stream_pipe_get(s->pipe_fd, s->pipe_size, &s->pipe_size) == -1) {
		s->use_splice = 0;
		return STREAM_WAIT;	/* caller falls back to copying */
	}
	/*
	 * A splice that moves less than asked found the source drained or the
	 * destination full: that side is not tried again in this run (the
	 * events are level-triggered, so nothing is missed), which spares a
	 * splice that would only say EAGAIN.  What to wait for is decided once,
	 * after the loop.
	 */
	int src_drained = 0, dst_full = 0;

	for (;;) {
		int progress = 0;

		if (s->in_pipe > 0 && !dst_full) {
			size_t asked = s->in_pipe;
			n = splice(s->pipe_fd[0], NULL, s->dst_fd, NULL, s->in_pipe,
			    SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
			if (n > 0) {
				s->in_pipe -= (size_t)n;
				s->moved += (uint64_t)n;
				s->spliced += (uint64_t)n;
				progress = 1;
				if ((size_t)n < asked)
					dst_full = 1;
			} else if (n == -1 && errno != EAGAIN && errno != EINTR) {
				s->err = errno;
				return STREAM_DST_ERROR;
			}
		}
		if (s->remaining > 0 && s->in_pipe < s->pipe_size && s->budget > 0 && !src_drained) {
			want = s->pipe_size - s->in_pipe;
			if (want > s->remaining)
				want = (size_t)s->remaining;
			if (want > s->budget)
				want = (size_t)s->budget;
			n = splice(s->src_fd, NULL, s->pipe_fd[1], NULL, want,
			    SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
			if (n > 0) {
				s->in_pipe += (size_t)n;
				s->remaining -= (uint64_t)n;
				s->read_bytes += (uint64_t)n;
				if (s->budget != UINT64_MAX)
					s->budget -= (uint64_t)n;
				progress = 1;
				if ((size_t)n < want && s->remaining > 0)
					src_drained = 1;
			} else if (n == 0)
				return STREAM_SRC_EOF;
			else if (errno == EINVAL || errno == ENOSYS) {
				if (s->in_pipe == 0 && s->moved == 0) {
					s->use_splice = 0;	/* copy instead */
					return STREAM_WAIT;
				}
				s->err = errno;
				return STREAM_SRC_ERROR;
			} else if (errno != EAGAIN && errno != EINTR) {
				s->err = errno;
				return STREAM_SRC_ERROR;
			}
		}
		if (s->remaining == 0 && s->in_pipe == 0)
			return STREAM_DONE;
		if (s->budget == 0 && s->in_pipe == 0)
			return STREAM_THROTTLED;
		if (!progress)
			break;
	}
	/*
	 * Backpressure as a bare relay does it: while the pipe holds bytes,
	 * wait only for the destination; the source is read again when they
	 * are out.  Waiting on both wakes the loop for every few kilobytes the
	 * source sends while the destination is still full (measured: ~1 100
	 * wake-ups per GiB, against ~70 this way).
	 */
	if (s->in_pipe > 0) {
		s->src_want = 0;
		s->dst_want = SOCKIO_WANT_WRITE;
	} else {
		s->src_want = SOCKIO_WANT_READ;
		s->dst_want = 0;
	}
	return STREAM_WAIT;
}

/* Sends what the buffer holds; STREAM_DONE once it is empty (and reset). */
static enum stream_result
stream_flush(struct stream *s)
{
	ssize_t n;
	int io_want;

	while (s->buf_off < s->buf_len) {
		n = sockio_send(s->dst_fd, s->dst_ssl, s->buf + s->buf_off,
		    s->buf_len - s->buf_off, 0, &io_want);
		if (n == -1) {
			if (errno == EAGAIN || errno == EINTR) {
				s->dst_want = io_want;
				return STREAM_WAIT;
			}
			s->err = errno;
			return STREAM_DST_ERROR;
		}
		s->buf_off += (size_t)n;
		s->moved += (uint64_t)n;
	}
	s->buf_off = s->buf_len = 0;
	return STREAM_DONE;
}

/*
 * Reads at most WANT bytes (and the byte budget) into the empty buffer:
 * STREAM_DONE with *N > 0, or STREAM_WAIT / STREAM_SRC_EOF / STREAM_SRC_ERROR.
 */
static enum stream_result
stream_read(struct stream *s, size_t want, ssize_t *n)
{
	int io_want;

	if (want > s->budget)
		want = (size_t)s->budget;
	*n = sockio_recv(s->src_fd, s->src_ssl, s->buf, want, &io_want);
	if (*n > 0) {
		s->read_bytes += (uint64_t)*n;
		if (s->budget != UINT64_MAX)
			s->budget -= (uint64_t)*n;
		return STREAM_DONE;
	}
	if (*n == 0)
		return STREAM_SRC_EOF;
	if (errno == EAGAIN || errno == EINTR) {
		s->src_want = io_want;
		return STREAM_WAIT;
	}
	s->err = errno;
	return STREAM_SRC_ERROR;
}

/*
 * Feeds N bytes read into the buffer to the chunk tracker; with
 * STREAM_DECHUNKED only their data bytes stay, at the buffer's start.
 * Returns the bytes to send, or -1 if the framing broke or bytes came past
 * the message's end.
 */
static ssize_t
stream_track_chunks(struct stream *s, size_t n)
{
	size_t plain = n;
	long keep;

	if (s->framing == STREAM_DECHUNKED)
		keep = httpmsg_body_tracker_decode(s->tracker, s->buf, n, &plain);
	else
		keep = httpmsg_body_tracker_feed(s->tracker, s->buf, n);
	if (keep < 0 || (size_t)keep < n)
		return -1;
	return (ssize_t)plain;
}

/* The copy buffer, made at the first byte to copy: 0, or -1 (err ENOMEM). */
static int
stream_buf_alloc(struct stream *s)
{
	if (s->buf == NULL && (s->buf = malloc(s->buf_cap)) == NULL) {
		s->err = ENOMEM;
		return -1;
	}
	return 0;
}

/*
 * Sums the LEN body bytes at the buffer's start; the body's last byte (the
 * source has no more: remaining is 0) is held back from them.
 */
static void
stream_verify_feed(struct stream *s)
{
	checksum_update(&s->sum, s->buf, s->buf_len);
	if (s->remaining == 0 && s->buf_len > 0) {
		s->held = s->buf[--s->buf_len];
		s->holding = 1;
	}
}

/*
 * The copy engine.  Under stream_verify_body the body is summed on the way
 * and its last byte sent only once the sum matched: Ceph before reef
 * ignores x-amz-checksum-*, the backend would store whatever came.
 */
static enum stream_result
stream_run_copy(struct stream *s)
{
	enum stream_result res;
	ssize_t n;
	size_t want;

	if (stream_buf_alloc(s) == -1)
		return STREAM_SRC_ERROR;
	if (s->prefix_len > 0) {
		/* STREAM_DECHUNKED or verifying: the bytes that came with the head first */
		memcpy(s->buf, s->prefix, s->prefix_len);
		n = (ssize_t)s->prefix_len;
		if (!s->verifying && (n = stream_track_chunks(s, s->prefix_len)) < 0)
			return STREAM_BAD_FRAMING;
		s->prefix_len = 0;
		s->buf_len = (size_t)n;
		s->buf_off = 0;
		if (s->verifying)
			stream_verify_feed(s);
	}
	for (int drained = 0;; ) {
		if ((res = stream_flush(s)) != STREAM_DONE)
			return res;
		if (s->framing == STREAM_LENGTH && s->remaining == 0) {
			if (!s->holding)
				return STREAM_DONE;
			if (checksum_verify(&s->sum, s->sum_want, s->sum_want_len) != CHECKSUM_MATCH)
				return STREAM_BAD_DIGEST;
			s->buf[0] = s->held;	/* verified: the last byte completes the object */
			s->buf_len = 1;
			s->holding = 0;
			continue;
		}
		if ((s->framing == STREAM_CHUNKED || s->framing == STREAM_DECHUNKED) &&
		    s->tracker->complete)
			return STREAM_DONE;
		if (s->budget == 0)
			return STREAM_THROTTLED;
		if (drained) {
			/* a short read drained the socket: wait rather than read EAGAIN */
			s->src_want = SOCKIO_WANT_READ;
			return STREAM_WAIT;
		}
		want = s->buf_cap;
		if (s->framing == STREAM_LENGTH && want > s->remaining)
			want = (size_t)s->remaining;
		if ((res = stream_read(s, want, &n)) != STREAM_DONE)
			return res == STREAM_SRC_EOF && s->framing == STREAM_UNTIL_EOF ? STREAM_DONE : res;
		if (s->framing == STREAM_LENGTH)
			s->remaining -= (uint64_t)n;
		/* (TLS reads return one record at a time: short says nothing there) */
		drained = s->src_ssl == NULL && (size_t)n < want;
		s->buf_len = (size_t)n;
		if (s->verifying)
			stream_verify_feed(s);
		if (s->framing == STREAM_CHUNKED || s->framing == STREAM_DECHUNKED) {
			ssize_t plain = stream_track_chunks(s, (size_t)n);
			if (plain < 0)
				return STREAM_BAD_FRAMING;	/* broken, or bytes past the message's end */
			s->buf_len = (size_t)plain;
		}
	}
}

/*
 * Decodes LEN bytes at BUF in place; the decoded bytes are buf[0, *out).
 * The body's very last data byte is moved to s->held instead.
 */
static int
stream_decode(struct stream *s, char *buf, size_t len, size_t *out)
{
	enum awschunked_status st;
	size_t consumed, produced;
	int64_t total = s->decoder->decoded_length;

	st = awschunked_feed(s->decoder, buf, len, &consumed, buf, len, &produced);
	if (st == AWSCHUNKED_ERROR)
		return -1;
	if (st == AWSCHUNKED_DONE)
		s->decoded_done = 1;
	if (produced > 0 && total >= 0 &&
	    awschunked_decoded(s->decoder) == (uint64_t)total) {
		s->held = buf[produced - 1];
		s->holding = 1;
		produced--;
	}
	*out = produced;
	return 0;
}

/*
 * Takes the outer chunked framing off N bytes at BUF, in place (the chunks'
 * data to BUF's start, *PLAIN bytes of it).  Bytes past the framing's end
 * (the next request) stay where they were, after the bytes it used:
 * returns how many, or -1 if the framing broke or they are more than
 * rest_max (err ENOBUFS).  The caller then decodes BUF's first *PLAIN
 * bytes in place, which never reaches them.
 */
static ssize_t
stream_unframe(struct stream *s, char *buf, size_t n, size_t *plain)
{
	long used = httpmsg_body_tracker_decode(s->tracker, buf, n, plain);
	size_t past;

	if (used < 0)
		return -1;
	if (s->tracker->complete)
		s->remaining = 0;
	past = n - (size_t)used;
	if (past > s->rest_max) {
		if (s->rest_max > 0)
			s->err = ENOBUFS;
		return -1;
	}
	return (ssize_t)past;
}

static enum stream_result
stream_run_decode(struct stream *s)
{
	enum stream_result res;
	ssize_t n;
	size_t want, out;

	if (stream_buf_alloc(s) == -1)
		return STREAM_SRC_ERROR;
	if (s->prefix_len > 0) {
		size_t plen = s->prefix_len;
		memcpy(s->buf, s->prefix, plen);
		if (s->tracker != NULL) {
			/* past the end: the next request, still in the caller's prefix */
			ssize_t past = stream_unframe(s, s->buf, plen, &plen);
			if (past < 0)
				return STREAM_BAD_FRAMING;
			s->prefix_rest = (size_t)past;
		}
		if (stream_decode(s, s->buf, plen, &out) == -1)
			return STREAM_BAD_FRAMING;
		s->prefix_len = 0;
		s->buf_len = out;
		s->buf_off = 0;
	}
	for (;;) {
		if ((res = stream_flush(s)) != STREAM_DONE)
			return res;
		/* the body ends by the outer chunked framing, or by Content-Length */
		if (s->tracker != NULL ? s->tracker->complete : s->remaining == 0) {
			if (!s->decoded_done && awschunked_finish(s->decoder) != AWSCHUNKED_DONE)
				return STREAM_BAD_FRAMING;
			if (s->holding) {
				/* verified: the last byte completes the object */
				s->buf[0] = s->held;
				s->buf_len = 1;
				s->holding = 0;
				continue;
			}
			return STREAM_DONE;
		}
		if (s->budget == 0)
			return STREAM_THROTTLED;
		want = s->buf_cap;
		if (want > s->remaining)
			want = (size_t)s->remaining;
		if ((res = stream_read(s, want, &n)) != STREAM_DONE)
			return res;
		if (s->tracker != NULL) {
			/*
			 * Transfer-Encoding: chunked around the aws-chunked body.
			 * Past its end: the next request, left at the buffer's end
			 * (the held byte goes to buf[0], before them); not body
			 * bytes, for the bandwidth quota either.
			 */
			size_t plain;
			ssize_t past = stream_unframe(s, s->buf, (size_t)n, &plain);
			if (past < 0)
				return STREAM_BAD_FRAMING;
			if (past > 0) {
				s->rest = s->buf + (n - past);
				s->rest_len = (size_t)past;
				s->read_bytes -= (uint64_t)past;
			}
			n = (ssize_t)plain;
		} else
			s->remaining -= (uint64_t)n;
		if (stream_decode(s, s->buf, (size_t)n, &out) == -1)
			return STREAM_BAD_FRAMING;
		s->buf_len = out;
	}
}

void
stream_verify_body(struct stream *s, enum checksum_alg alg, const char *want, size_t want_len)
{
	if (checksum_init(&s->sum, alg) == -1)
		return;		/* only with an OpenSSL failure: the backend then decides */
	s->verifying = 1;
	s->use_splice = 0;
	s->sum_want = want;
	s->sum_want_len = want_len;
	/*
	 * The bytes that came with the head are summed in the buffer, in one
	 * piece: they must fit, though the rest of the body be short (the
	 * head's limit bounds them, as for aws-chunked).
	 */
	if (s->buf_cap < s->prefix_len)
		s->buf_cap = s->prefix_len;
}

enum stream_result
stream_run(struct stream *s)
{
	enum stream_result res;

	s->src_want = s->dst_want = 0;
	if (s->bad_prefix)
		return STREAM_BAD_FRAMING;
	if (s->framing == STREAM_AWSCHUNKED)
		return stream_run_decode(s);
	if (s->framing == STREAM_DECHUNKED)
		return stream_run_copy(s);	/* the prefix is decoded there */
	if (s->verifying)
		return stream_run_copy(s);	/* the prefix is summed there */
	if (!stream_write_prefix(s, &res))
		return res;
	if (s->use_splice) {
		res = stream_run_splice(s);
		if (s->use_splice || res != STREAM_WAIT)
			return res;
		/* splice refused: fall through to copying */
	}
	return stream_run_copy(s);
}

int
stream_client_too_slow(const struct stream *s, int client_is_src, uint64_t moved,
    int64_t window_ms, uint64_t min_rate)
{
	int client_want = client_is_src ? s->src_want : s->dst_want;
	int backend_want = client_is_src ? s->dst_want : s->src_want;

	if (min_rate == 0 || window_ms <= 0 || client_want == 0 || backend_want != 0)
		return 0;
	/* moved / (window_ms / 1000) < min_rate, without division or overflow */
	return moved < UINT64_MAX / 1000 && moved * 1000 < min_rate * (uint64_t)window_ms;
}

void
stream_release(struct stream *s)
{
	if (s->pipe_fd[0] != -1)
		stream_pipe_put(s->pipe_fd, s->pipe_size, s->in_pipe > 0);
	free(s->buf);
	s->buf = NULL;
	checksum_free(&s->sum);
}
