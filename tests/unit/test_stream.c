/*
 * test_stream: the copy engine's buffer (proxy/stream.h).  A body of known
 * length smaller than copy_buffer_size gets a buffer of its size (16 KiB at
 * least, never more than configured); a larger or unknown one gets the
 * whole buffer.  And bodies cross a pair of local sockets whole through
 * each size: smaller than the buffer, several buffers' worth, with a prefix.
 * A chunked body relayed de-chunked (for HTTP/1.0 clients) arrives as its
 * data alone, whatever part of it came with the head; broken framing, or
 * bytes past its end, stop it.
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

/*
 * Moves a LEN-byte body (PREFIX_LEN of it given as the prefix) from one
 * socket pair to another through the copy engine with BUF_SIZE; 1 if every
 * byte arrived in order and nothing more.
 */
static int
copy_through(size_t len, size_t prefix_len, size_t buf_size, size_t *cap)
{
	int in[2] = { -1, -1 }, out[2] = { -1, -1 }, ok = 0;
	char *body = malloc(len), *got = malloc(len + 1);
	size_t sent = prefix_len, recvd = 0, i;
	enum stream_result r = STREAM_WAIT;
	struct stream s;
	ssize_t n;

	if (body == NULL || got == NULL || socketpair(AF_UNIX, SOCK_STREAM, 0, in) == -1 ||
	    socketpair(AF_UNIX, SOCK_STREAM, 0, out) == -1)
		goto done;
	for (i = 0; i < len; i++)
		body[i] = (char)(i * 7 + i / 251);
	for (i = 0; i < 2; i++) {
		(void)nonblocking(in[i]);
		(void)nonblocking(out[i]);
	}
	stream_init(&s, in[1], NULL, out[0], NULL, STREAM_LENGTH, len, body, prefix_len, 0,
	    MiB, buf_size, NULL);
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
	ok = r == STREAM_DONE && recvd == len && s.moved == len && memcmp(body, got, len) == 0;
	stream_release(&s);
 done:
	close_pairs(in, out);
	free(body);
	free(got);
	return ok;
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
	struct checksum ck;
	struct sbuf enc = SBUF_INIT;
	char *data = malloc(data_len), *got = malloc(data_len + 1), b64[CHECKSUM_BASE64_MAX];
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
	checksum_init(&ck, checksum_alg_from_name("crc32", 5));
	checksum_update(&ck, data, data_len);
	checksum_final_base64(&ck, b64);
	sbuf_appendf(&enc, "%zx\r\n", data_len);
	sbuf_append(&enc, data, data_len);
	sbuf_appendf(&enc, "\r\n0\r\nx-amz-checksum-crc32:%s\r\n\r\n", b64);
	if (awschunked_init(&ac, AWSCHUNKED_UNSIGNED_TRAILER, NULL, NULL, NULL, NULL,
	    "x-amz-checksum-crc32", (int64_t)data_len) == -1)
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
	size_t sent = prefix_len, i;
	struct stream s;
	ssize_t n;

	*got_len = 0;
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, in) == -1 || socketpair(AF_UNIX, SOCK_STREAM, 0, out) == -1)
		goto done;
	for (i = 0; i < 2; i++) {
		(void)nonblocking(in[i]);
		(void)nonblocking(out[i]);
	}
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

int
main(void)
{
	size_t cap = 0;

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

	T_OK(copy_through(5000, 0, MiB, &cap) && cap == 16 * 1024,
	    "a 5000-byte body crosses whole through its 16 KiB buffer (%zu)", cap);
	T_OK(copy_through(300 * 1024, 1000, MiB, &cap) && cap == 300 * 1024 - 1000,
	    "a 300 KiB body with a 1000-byte prefix crosses whole through a buffer of the rest (%zu)", cap);
	T_OK(copy_through(3 * MiB + 17, 0, 256 * 1024, &cap) && cap == 256 * 1024,
	    "a 3 MiB body crosses whole through a 256 KiB buffer, twelve times over (%zu)", cap);
	T_OK(awschunked_prefix_through(29000, MiB, &cap) && cap >= 29000 + 6,
	    "a 29000-byte aws-chunked body that came whole with the head is decoded in a buffer "
	    "that holds it (%zu)", cap);
	T_OK(awschunked_prefix_through(20000, 4096, &cap) && cap >= 20000,
	    "... and with copy_buffer_size 4k (%zu)", cap);
	test_dechunked();
	return T_DONE();
}
