/*
 * test_stream: the copy engine's buffer (proxy/stream.h).  A body of known
 * length smaller than copy_buffer_size gets a buffer of its size (16 KiB at
 * least, never more than configured); a larger or unknown one gets the
 * whole buffer.  And bodies cross a pair of local sockets whole through
 * each size: smaller than the buffer, several buffers' worth, with a prefix.
 * A chunked body relayed de-chunked (for HTTP/1.0 clients) arrives as its
 * data alone, whatever part of it came with the head; broken framing, or
 * bytes past its end, stop it.  An aws-chunked request body framed with
 * Transfer-Encoding: chunked may be followed by the client's next request
 * (pipelined): those bytes are kept and exposed exactly, whether they came
 * with the head or in a later read, within rest_max; a broken body still
 * stops with its last byte held back.  A plain body under its
 * x-amz-checksum (stream_verify_body) crosses whole; under another sum it
 * stops with its last byte held back.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "proxy/awschunked.h"
#include "proxy/checksum.h"
#include "proxy/sbuf.h"
#include "proxy/stream.h"
#include "proxy/tls.h"
#include "tests/unit/testlib.h"

#define MiB	(1024 * 1024)

static size_t
cap_for(enum stream_framing framing, uint64_t length, size_t buf_size)
{
	struct stream s;
	size_t cap;

	stream_init(&s, -1, NULL, -1, NULL, framing, length, NULL, 0, 0, MiB, buf_size, NULL);
	cap = s.buf_cap;
	stream_release(&s);
	return cap;
}

static int
nonblocking(int fd)
{
	return fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
}

/*
 * Two non-blocking socket pairs: the test writes into IN[0] what the
 * stream reads from IN[1], and reads from OUT[1] what it writes to OUT[0].
 * -1 if they could not be made (close_pairs closes what was).
 */
static int
open_pairs(int in[2], int out[2])
{
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, in) == -1 || socketpair(AF_UNIX, SOCK_STREAM, 0, out) == -1)
		return -1;
	for (int i = 0; i < 2; i++) {
		(void)nonblocking(in[i]);
		(void)nonblocking(out[i]);
	}
	return 0;
}

/* Closes the two socket pairs a test relayed through (-1: not opened). */
static void
close_pairs(int in[2], int out[2])
{
	for (int i = 0; i < 2; i++) {
		if (in[i] != -1)
			close(in[i]);
		if (out[i] != -1)
			close(out[i]);
	}
}

enum sum_case { SUM_NONE, SUM_RIGHT, SUM_WRONG };

/*
 * Moves a LEN-byte body (PREFIX_LEN of it given as the prefix) from one
 * socket pair to another through the copy engine with BUF_SIZE; 1 if every
 * byte arrived in order and nothing more.  With SUM, under
 * stream_verify_body with the body's CRC32 (SUM_RIGHT), or another
 * (SUM_WRONG: 1 if it stopped with STREAM_BAD_DIGEST and all but the last
 * byte arrived).
 */
static int
copy_through(size_t len, size_t prefix_len, size_t buf_size, size_t *cap, enum sum_case sum)
{
	int in[2] = { -1, -1 }, out[2] = { -1, -1 }, ok = 0;
	char *body = malloc(len), *got = malloc(len + 1), want[CHECKSUM_BASE64_MAX];
	size_t sent = prefix_len, recvd = 0, i;
	enum stream_result r = STREAM_WAIT;
	struct stream s;
	ssize_t n;

	if (body == NULL || got == NULL || open_pairs(in, out) == -1)
		goto done;
	for (i = 0; i < len; i++)
		body[i] = (char)(i * 7 + i / 251);
	stream_init(&s, in[1], NULL, out[0], NULL, STREAM_LENGTH, len, body, prefix_len, 0,
	    MiB, buf_size, NULL);
	if (sum != SUM_NONE) {
		struct checksum ck;

		checksum_init(&ck, CHECKSUM_CRC32);
		checksum_update(&ck, body, len - (sum == SUM_WRONG));
		checksum_final_base64(&ck, want);
		stream_verify_body(&s, CHECKSUM_CRC32, want, strlen(want));
	}
	*cap = s.buf_cap;
	/* the test is both ends: feed the source, drain the destination, run in between */
	for (int rounds = 0; rounds < 100000 && r != STREAM_DONE; rounds++) {
		if (sent < len && (n = write(in[0], body + sent, len - sent)) > 0)
			sent += (size_t)n;
		r = stream_run(&s);
		if (r != STREAM_DONE && r != STREAM_WAIT)
			break;
		while ((n = read(out[1], got + recvd, len + 1 - recvd)) > 0)
			recvd += (size_t)n;
	}
	while ((n = read(out[1], got + recvd, len + 1 - recvd)) > 0)
		recvd += (size_t)n;
	if (sum == SUM_WRONG)
		ok = r == STREAM_BAD_DIGEST && recvd == len - 1 && memcmp(body, got, len - 1) == 0;
	else
		ok = r == STREAM_DONE && recvd == len && s.moved == len && memcmp(body, got, len) == 0;
	stream_release(&s);
 done:
	close_pairs(in, out);
	free(body);
	free(got);
	return ok;
}

/*
 * Appends DATA as an aws-chunked body (STREAMING-UNSIGNED-PAYLOAD-TRAILER,
 * one chunk, a CRC32 trailer; a wrong one with BAD_CRC) to ENC, and readies
 * AC to decode it.  -1 if the decoder would not start.
 */
static int
awschunked_encode(struct sbuf *enc, struct awschunked *ac, const char *data, size_t len,
    int bad_crc)
{
	struct checksum ck;
	char b64[CHECKSUM_BASE64_MAX];

	checksum_init(&ck, checksum_alg_from_name("crc32", 5));
	checksum_update(&ck, data, len);
	checksum_final_base64(&ck, b64);
	if (bad_crc)
		b64[0] = b64[0] == 'A' ? 'B' : 'A';
	sbuf_appendf(enc, "%zx\r\n", len);
	sbuf_append(enc, data, len);
	sbuf_appendf(enc, "\r\n0\r\nx-amz-checksum-crc32:%s\r\n\r\n", b64);
	return awschunked_init(ac, AWSCHUNKED_UNSIGNED_TRAILER, NULL, NULL, NULL, NULL,
	    "x-amz-checksum-crc32", (int64_t)len);
}

/*
 * An aws-chunked body that came whole with the head (the prefix, up to
 * max_head_size) is decoded in the stream's buffer in one piece: the buffer
 * must hold it even when the body's length or BUF_SIZE is smaller.  1 if
 * the decoded body arrives whole.  (Under ASan an undersized buffer is a
 * heap overflow here, as it was before the fix.)
 */
static int
awschunked_prefix_through(size_t data_len, size_t buf_size, size_t *cap)
{
	struct awschunked ac;
	struct sbuf enc = SBUF_INIT;
	char *data = malloc(data_len), *got = malloc(data_len + 1);
	int out[2] = { -1, -1 }, ok = 0;
	enum stream_result r = STREAM_WAIT;
	struct stream s;
	size_t recvd = 0, i;
	ssize_t n;

	memset(&ac, 0, sizeof(ac));
	if (data == NULL || got == NULL || socketpair(AF_UNIX, SOCK_STREAM, 0, out) == -1)
		goto done;
	for (i = 0; i < data_len; i++)
		data[i] = (char)('a' + i % 26);
	if (awschunked_encode(&enc, &ac, data, data_len, 0) == -1)
		goto done;
	(void)nonblocking(out[0]);
	(void)nonblocking(out[1]);
	stream_init(&s, -1, NULL, out[0], NULL, STREAM_AWSCHUNKED, enc.len, enc.data, enc.len, 0,
	    MiB, buf_size, NULL);
	s.decoder = &ac;
	*cap = s.buf_cap;
	for (int rounds = 0; rounds < 1000 && r == STREAM_WAIT; rounds++) {
		r = stream_run(&s);
		while ((n = read(out[1], got + recvd, data_len + 1 - recvd)) > 0)
			recvd += (size_t)n;
	}
	while ((n = read(out[1], got + recvd, data_len + 1 - recvd)) > 0)
		recvd += (size_t)n;
	ok = r == STREAM_DONE && recvd == data_len && memcmp(data, got, data_len) == 0;
	stream_release(&s);
 done:
	awschunked_free(&ac);
	for (i = 0; i < 2; i++)
		if (out[i] != -1)
			close(out[i]);
	sbuf_free(&enc);
	free(data);
	free(got);
	return ok;
}

/*
 * Relays the chunked body ENC (PREFIX_LEN of it given as the prefix) with
 * STREAM_DECHUNKED through a BUF_SIZE buffer; the result, and in GOT (of
 * GOT_CAP bytes) what arrived, *GOT_LEN bytes.
 */
static enum stream_result
dechunk_through(const char *enc, size_t enc_len, size_t prefix_len, size_t buf_size, char *got,
    size_t got_cap, size_t *got_len)
{
	int in[2] = { -1, -1 }, out[2] = { -1, -1 };
	struct http_body_tracker trk;
	enum stream_result r = STREAM_SRC_ERROR;
	size_t sent = prefix_len;
	struct stream s;
	ssize_t n;

	*got_len = 0;
	if (open_pairs(in, out) == -1)
		goto done;
	httpmsg_body_tracker_init(&trk);
	stream_init(&s, in[1], NULL, out[0], NULL, STREAM_DECHUNKED, 0, enc, prefix_len, 1,
	    MiB, buf_size, &trk);
	r = STREAM_WAIT;
	for (int rounds = 0; rounds < 100000 && r == STREAM_WAIT; rounds++) {
		/* a few bytes at a time: chunk lines split across reads */
		if (sent < enc_len && (n = write(in[0], enc + sent, enc_len - sent < 7 ? enc_len - sent : 7)) > 0)
			sent += (size_t)n;
		r = stream_run(&s);
		while ((n = read(out[1], got + *got_len, got_cap - *got_len)) > 0)
			*got_len += (size_t)n;
	}
	while ((n = read(out[1], got + *got_len, got_cap - *got_len)) > 0)
		*got_len += (size_t)n;
	stream_release(&s);
 done:
	close_pairs(in, out);
	return r;
}

static void
test_dechunked(void)
{
	static const char enc[] = "5\r\nhello\r\n6;ext=1\r\n world\r\nf\r\n, and 15 bytes.\r\n"
	    "0\r\nX-Trailer: t\r\n\r\n";
	static const char want[] = "hello world, and 15 bytes.";
	char got[256];
	size_t got_len, prefix;

	for (prefix = 0; prefix <= sizeof(enc) - 1; prefix += 9) {
		enum stream_result r = dechunk_through(enc, sizeof(enc) - 1, prefix, 4096, got,
		    sizeof(got), &got_len);
		T_OK(r == STREAM_DONE && got_len == sizeof(want) - 1 && memcmp(got, want, got_len) == 0,
		    "a chunked body de-chunked, %zu bytes of it with the head: its data alone (%d, %zu)",
		    prefix, (int)r, got_len);
	}
	T_OK(dechunk_through(enc, sizeof(enc) - 1, sizeof(enc) - 1, 4096, got, sizeof(got),
	    &got_len) == STREAM_DONE && got_len == sizeof(want) - 1,
	    "... all of it with the head");
	T_OK(dechunk_through("5\r\nhello\r\nzz\r\n", 16, 0, 4096, got, sizeof(got), &got_len) ==
	    STREAM_BAD_FRAMING, "broken framing: BAD_FRAMING");
	T_OK(dechunk_through("5\r\nhello\r\n0\r\n\r\nX", 16, 16, 4096, got, sizeof(got), &got_len) ==
	    STREAM_BAD_FRAMING, "a byte past the end with the head: BAD_FRAMING");
	T_OK(dechunk_through("5\r\nhello\r\n0\r\n\r\nX", 16, 0, 4096, got, sizeof(got), &got_len) ==
	    STREAM_BAD_FRAMING, "a byte past the end in a later read: BAD_FRAMING (answers stay strict)");
	{
		/* a prefix larger than copy_buffer_size still fits the buffer */
		char big[9000], out[9000];
		size_t n = (size_t)snprintf(big, sizeof(big), "%x\r\n", 8000);
		memset(big + n, 'q', 8000);
		memcpy(big + n + 8000, "\r\n0\r\n\r\n", 7);
		T_OK(dechunk_through(big, n + 8007, n + 8007, 4096, out, sizeof(out), &got_len) ==
		    STREAM_DONE && got_len == 8000 && out[7999] == 'q',
		    "an 8000-byte chunked body that came with the head, copy_buffer_size 4k (%zu)", got_len);
	}
}

/* What a pipelined run saw: te_through's result. */
struct te_run {
	enum stream_result r;
	int		 err;
	size_t		 got_len;	/* decoded bytes the destination received */
	int		 got_data;	/* ... and they are the data's first got_len bytes */
	size_t		 prefix_rest;
	size_t		 rest_len;
	uint64_t	 read_bytes;
	char		 past[256];	/* the prefix's bytes past the end, then rest, then
					   what stayed unread in the socket */
	size_t		 past_len;
};

#define TE_DATA_LEN	3000
#define TE_OUTER	1000	/* HTTP chunks of the aws-chunked body */
#define TE_BUF		4096

/*
 * An aws-chunked body of TE_DATA_LEN bytes (a wrong CRC32 with BAD_CRC) in
 * HTTP chunks of TE_OUTER bytes (the first one's CRLF broken with
 * BAD_OUTER), then TAIL: the first PREFIX_LEN bytes of it all are the
 * prefix, the rest goes through a socket STEP bytes a write (0: in one),
 * run with REST_MAX.  The run's outcome in *RES.
 */
static void
te_through(int bad_crc, int bad_outer, const char *tail, size_t prefix_len, size_t step,
    size_t rest_max, struct te_run *res)
{
	struct awschunked ac;
	struct http_body_tracker trk;
	struct sbuf inner = SBUF_INIT, msg = SBUF_INIT;
	char data[TE_DATA_LEN], got[TE_DATA_LEN + 1];
	int in[2] = { -1, -1 }, out[2] = { -1, -1 };
	size_t sent, i;
	struct stream s;
	ssize_t n;

	memset(res, 0, sizeof(*res));
	res->r = STREAM_SRC_ERROR;
	memset(&ac, 0, sizeof(ac));
	for (i = 0; i < sizeof(data); i++)
		data[i] = (char)('A' + i % 51);
	if (awschunked_encode(&inner, &ac, data, sizeof(data), bad_crc) == -1)
		goto done;
	for (i = 0; i < inner.len; i += TE_OUTER) {
		size_t part = inner.len - i < TE_OUTER ? inner.len - i : TE_OUTER;
		sbuf_appendf(&msg, "%zx\r\n", part);
		sbuf_append(&msg, inner.data + i, part);
		sbuf_appends(&msg, bad_outer && i == 0 ? "XX" : "\r\n");
	}
	sbuf_appends(&msg, "0\r\n\r\n");
	sbuf_appends(&msg, tail);
	if (prefix_len > msg.len)
		prefix_len = msg.len;
	if (open_pairs(in, out) == -1)
		goto done;
	httpmsg_body_tracker_init(&trk);
	/* as conn_backend.c starts a chunked request body */
	stream_init(&s, in[1], NULL, out[0], NULL, STREAM_AWSCHUNKED, UINT64_MAX, msg.data,
	    prefix_len, 0, MiB, TE_BUF, NULL);
	s.decoder = &ac;
	s.tracker = &trk;
	s.remaining = UINT64_MAX;
	s.rest_max = rest_max;
	sent = prefix_len;
	res->r = STREAM_WAIT;
	for (int rounds = 0; rounds < 100000 && res->r == STREAM_WAIT; rounds++) {
		size_t want = step == 0 || msg.len - sent < step ? msg.len - sent : step;
		if (want > 0 && (n = write(in[0], msg.data + sent, want)) > 0)
			sent += (size_t)n;
		res->r = stream_run(&s);
		while ((n = read(out[1], got + res->got_len, sizeof(got) - res->got_len)) > 0)
			res->got_len += (size_t)n;
	}
	while ((n = read(out[1], got + res->got_len, sizeof(got) - res->got_len)) > 0)
		res->got_len += (size_t)n;
	res->err = s.err;
	res->got_data = res->got_len <= sizeof(data) && memcmp(got, data, res->got_len) == 0;
	res->read_bytes = s.read_bytes;
	if (res->r == STREAM_DONE) {
		res->prefix_rest = s.prefix_rest;
		res->rest_len = s.rest_len;
		if (s.prefix_rest <= prefix_len && s.prefix_rest + s.rest_len < sizeof(res->past)) {
			memcpy(res->past, msg.data + prefix_len - s.prefix_rest, s.prefix_rest);
			if (s.rest_len > 0)
				memcpy(res->past + s.prefix_rest, s.rest, s.rest_len);
			res->past_len = s.prefix_rest + s.rest_len;
		}
		/* what the test wrote that the stream did not read */
		while (sent < msg.len && (n = write(in[0], msg.data + sent, msg.len - sent)) > 0)
			sent += (size_t)n;
		while (res->past_len < sizeof(res->past) && (n = read(in[1], res->past + res->past_len,
		    sizeof(res->past) - res->past_len)) > 0)
			res->past_len += (size_t)n;
	}
	stream_release(&s);
 done:
	awschunked_free(&ac);
	close_pairs(in, out);
	sbuf_free(&inner);
	sbuf_free(&msg);
}

/* Did RES end with the whole body delivered and exactly TAIL past it? */
static int
te_done_with(const struct te_run *res, const char *tail)
{
	return res->r == STREAM_DONE && res->got_len == TE_DATA_LEN && res->got_data &&
	    res->past_len == strlen(tail) && memcmp(res->past, tail, res->past_len) == 0;
}

static void
test_pipelined(void)
{
	static const char next[] = "GET /b/next HTTP/1.1\r\nHost: s3.local\r\n\r\n";
	size_t body_len, n_ok = 0, n_cases = 0, prefix;
	struct te_run res;

	te_through(0, 0, "", 0, 0, 0, &res);
	T_OK(res.r == STREAM_DONE && res.got_len == TE_DATA_LEN && res.got_data &&
	    res.prefix_rest == 0 && res.rest_len == 0 && res.past_len == 0,
	    "an aws-chunked body in HTTP chunks, nothing after it: DONE, the data, nothing past it "
	    "(%d, %zu)", (int)res.r, res.got_len);
	body_len = (size_t)res.read_bytes;	/* all of it came through the socket */

	te_through(0, 0, next, body_len + sizeof(next) - 1, 0, 65536, &res);
	T_OK(te_done_with(&res, next) && res.prefix_rest == sizeof(next) - 1 && res.rest_len == 0 &&
	    res.read_bytes == 0,
	    "... the next request after it, all with the head: DONE, prefix_rest is exactly the "
	    "request (%d, %zu, %zu)", (int)res.r, res.prefix_rest, res.past_len);
	te_through(0, 0, next, body_len + 10, 0, 65536, &res);
	T_OK(te_done_with(&res, next) && res.prefix_rest == 10 && res.rest_len == 0 &&
	    res.read_bytes == 0,
	    "... 10 bytes of it with the head: DONE, those 10 past the end, the rest never read "
	    "(%d, %zu)", (int)res.r, res.prefix_rest);
	te_through(0, 0, next, 100, 0, 65536, &res);
	T_OK(te_done_with(&res, next) && res.prefix_rest == 0 && res.rest_len == sizeof(next) - 1 &&
	    res.read_bytes == body_len - 100,
	    "... read with the body's end in a later read: DONE, rest is exactly the request, "
	    "not counted as body read (%d, %zu, %llu)", (int)res.r, res.rest_len,
	    (unsigned long long)res.read_bytes);
	for (prefix = 0; prefix <= body_len + sizeof(next) - 1; prefix += 61) {
		for (size_t step = 0; step <= 13; step += 13) {
			te_through(0, 0, next, prefix, step, 65536, &res);
			n_cases++;
			if (te_done_with(&res, next))
				n_ok++;
			else
				printf("#   prefix %zu, step %zu: %d, got %zu, past %zu\n", prefix, step,
				    (int)res.r, res.got_len, res.past_len);
		}
	}
	T_OK(n_ok == n_cases, "every split of body and next request between the head and reads "
	    "(one write, or 13 bytes a write): DONE, the data, and exactly the request after it "
	    "(%zu of %zu)", n_ok, n_cases);

	te_through(0, 0, next, 100, 0, 8, &res);
	T_OK(res.r == STREAM_BAD_FRAMING && res.err == ENOBUFS && res.got_len < TE_DATA_LEN &&
	    res.got_data,
	    "more than rest_max bytes past the end: BAD_FRAMING (ENOBUFS), the last byte held back "
	    "(%d, %zu)", (int)res.r, res.got_len);
	te_through(0, 0, next, body_len + sizeof(next) - 1, 0, 0, &res);
	T_OK(res.r == STREAM_BAD_FRAMING,
	    "rest_max 0 (a response): bytes past the end with the head are BAD_FRAMING (%d)",
	    (int)res.r);
	te_through(0, 0, next, 100, 0, 0, &res);
	T_OK(res.r == STREAM_BAD_FRAMING && res.got_len < TE_DATA_LEN,
	    "rest_max 0: ... and in a later read (%d)", (int)res.r);
	te_through(1, 0, next, 100, 0, 65536, &res);
	T_OK(res.r == STREAM_BAD_FRAMING && res.got_len < TE_DATA_LEN && res.got_data,
	    "a wrong trailing checksum, a request after it: BAD_FRAMING, the last byte held back "
	    "(%d, %zu)", (int)res.r, res.got_len);
	te_through(1, 0, next, body_len + sizeof(next) - 1, 0, 65536, &res);
	T_OK(res.r == STREAM_BAD_FRAMING && res.got_len < TE_DATA_LEN,
	    "... all with the head: BAD_FRAMING, the last byte held back (%d, %zu)", (int)res.r,
	    res.got_len);
	te_through(0, 1, next, 100, 0, 65536, &res);
	T_OK(res.r == STREAM_BAD_FRAMING && res.got_len < TE_DATA_LEN,
	    "a broken HTTP chunk, a request after it: BAD_FRAMING (%d)", (int)res.r);
	te_through(0, 1, next, 2 * TE_OUTER, 0, 65536, &res);
	T_OK(res.r == STREAM_BAD_FRAMING && res.got_len == 0,
	    "... the break with the head: BAD_FRAMING, nothing sent (%d, %zu)", (int)res.r,
	    res.got_len);
}

/* body_min_rate's verdict on a stream that waits on SRC_WANT / DST_WANT */
static int
too_slow(int upload, int src_want, int dst_want, uint64_t moved, int64_t window_ms, uint64_t rate)
{
	struct stream s;

	memset(&s, 0, sizeof(s));
	s.src_want = src_want;
	s.dst_want = dst_want;
	return stream_client_too_slow(&s, upload, moved, window_ms, rate);
}

static void
test_client_too_slow(void)
{
	T_OK(too_slow(1, SOCKIO_WANT_READ, 0, 1000, 10000, 1024),
	    "an upload waiting on the client: 1000 bytes in 10 s under 1 KiB/s is too slow");
	T_OK(!too_slow(1, SOCKIO_WANT_READ, 0, 10240, 10000, 1024),
	    "... 10240 bytes in 10 s is exactly 1 KiB/s: not too slow");
	T_OK(too_slow(1, SOCKIO_WANT_READ, 0, 10239, 10000, 1024), "... a byte less is");
	T_OK(!too_slow(1, 0, SOCKIO_WANT_WRITE, 0, 10000, 1024),
	    "an upload waiting on the backend (it does not take the body): not the client's doing");
	T_OK(!too_slow(1, SOCKIO_WANT_READ, SOCKIO_WANT_WRITE, 0, 10000, 1024),
	    "waiting on both sides: the benefit of the doubt");
	T_OK(too_slow(0, 0, SOCKIO_WANT_WRITE, 0, 10000, 1024),
	    "a download waiting on the client's reading: too slow");
	T_OK(too_slow(0, 0, SOCKIO_WANT_READ, 0, 10000, 1024),
	    "a download over TLS whose write waits for the client's bytes (want read on dst): too slow");
	T_OK(!too_slow(0, SOCKIO_WANT_READ, 0, 0, 10000, 1024),
	    "a download waiting on the backend's bytes: not the client's doing");
	T_OK(!too_slow(1, SOCKIO_WANT_READ, 0, 0, 10000, 0), "body_min_rate 0: off");
	T_OK(!too_slow(1, SOCKIO_WANT_READ, 0, 0, 0, 1024), "an empty window: no verdict");
	T_OK(too_slow(1, SOCKIO_WANT_READ, 0, 3865470566399ULL, 3600000, 1073741824),
	    "the largest rate over the longest window, a byte short: too slow (no overflow)");
	T_OK(!too_slow(1, SOCKIO_WANT_READ, 0, 3865470566400ULL, 3600000, 1073741824),
	    "... every byte: not too slow");
	T_OK(!too_slow(1, SOCKIO_WANT_READ, 0, UINT64_MAX - 1, 1000, 1024),
	    "more bytes than 64 bits hold times 1000: not too slow, no overflow");
}

int
main(void)
{
	size_t cap = 0;

	test_client_too_slow();

	T_OK(cap_for(STREAM_LENGTH, 100, MiB) == 16 * 1024,
	    "a 100-byte body: a 16 KiB buffer, not copy_buffer_size");
	T_OK(cap_for(STREAM_LENGTH, 0, MiB) == 16 * 1024, "an empty body: 16 KiB");
	T_OK(cap_for(STREAM_LENGTH, 200 * 1024, MiB) == 200 * 1024,
	    "a 200 KiB body: a buffer of its size");
	T_OK(cap_for(STREAM_LENGTH, 5 * MiB, MiB) == MiB,
	    "a 5 MiB body: the whole 1 MiB buffer");
	T_OK(cap_for(STREAM_LENGTH, MiB, MiB) == MiB, "a body of exactly the buffer's size: the buffer");
	T_OK(cap_for(STREAM_LENGTH, 100, 4096) == 4096,
	    "copy_buffer_size 4k and a 100-byte body: 4 KiB, never more than configured");
	T_OK(cap_for(STREAM_LENGTH, 10000, 8192) == 8192,
	    "copy_buffer_size 8k and a 10000-byte body: the configured 8 KiB");
	T_OK(cap_for(STREAM_CHUNKED, 0, MiB) == MiB, "chunked (length unknown): the whole buffer");
	T_OK(cap_for(STREAM_UNTIL_EOF, 0, MiB) == MiB, "until EOF (length unknown): the whole buffer");
	T_OK(cap_for(STREAM_AWSCHUNKED, 40 * 1024, MiB) == 40 * 1024,
	    "aws-chunked of 40 KiB encoded: a buffer of its size");

	T_OK(copy_through(5000, 0, MiB, &cap, SUM_NONE) && cap == 16 * 1024,
	    "a 5000-byte body crosses whole through its 16 KiB buffer (%zu)", cap);
	T_OK(copy_through(300 * 1024, 1000, MiB, &cap, SUM_NONE) && cap == 300 * 1024 - 1000,
	    "a 300 KiB body with a 1000-byte prefix crosses whole through a buffer of the rest (%zu)", cap);
	T_OK(copy_through(3 * MiB + 17, 0, 256 * 1024, &cap, SUM_NONE) && cap == 256 * 1024,
	    "a 3 MiB body crosses whole through a 256 KiB buffer, twelve times over (%zu)", cap);
	T_OK(copy_through(3 * MiB + 17, 1000, 256 * 1024, &cap, SUM_RIGHT),
	    "... with a prefix, under its right x-amz-checksum-crc32: whole, DONE");
	T_OK(copy_through(3 * MiB + 17, 1000, 256 * 1024, &cap, SUM_WRONG),
	    "... under a wrong one: BAD_DIGEST, the last byte held back");
	T_OK(copy_through(5000, 5000, MiB, &cap, SUM_RIGHT) && copy_through(5000, 5000, MiB, &cap, SUM_WRONG),
	    "a 5000-byte body that came whole with the head: DONE under its sum; under another, "
	    "BAD_DIGEST, the last byte held back");
	T_OK(copy_through(30000 + 100, 30000, MiB, &cap, SUM_RIGHT) && cap >= 30000 &&
	    copy_through(30000 + 100, 30000, MiB, &cap, SUM_WRONG),
	    "30000 bytes with the head and 100 after them (a 16 KiB buffer for the rest): the "
	    "buffer holds the head's bytes (%zu); DONE under the sum, BAD_DIGEST under another", cap);
	T_OK(copy_through(1, 0, MiB, &cap, SUM_RIGHT) && copy_through(1, 0, MiB, &cap, SUM_WRONG),
	    "a 1-byte body: DONE under its sum; under another, BAD_DIGEST, nothing sent");
	T_OK(awschunked_prefix_through(29000, MiB, &cap) && cap >= 29000 + 6,
	    "a 29000-byte aws-chunked body that came whole with the head is decoded in a buffer "
	    "that holds it (%zu)", cap);
	T_OK(awschunked_prefix_through(20000, 4096, &cap) && cap >= 20000,
	    "... and with copy_buffer_size 4k (%zu)", cap);
	test_dechunked();
	test_pipelined();
	return T_DONE();
}
