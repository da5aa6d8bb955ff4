/*
 * sink.c — the PUT origin of bench/: reads each request body to its last
 * byte, drops it, and answers 200 after it, as S3 answers a PUT.
 *
 *   sink -l [ADDR:]PORT
 *
 * Why not the nginx origin: nginx holds a PUT body in memory before it can
 * drop it (bench/origin.conf), and faulting in a fresh buffer of the body's
 * size costs it 1.1-1.7 s of CPU per GiB (perf: clear_page_erms, half of
 * its time) against ~0.25 s for the proxies measured: on two cores the PUT
 * figures then measured the origin. Here the body goes socket -> pipe ->
 * /dev/null with splice(2): the bytes are never copied (0.18 s per GiB
 * measured, direct PUT 1.8-2.0 GB/s against nginx's 0.9-1.3).
 *
 * HTTP/1.1 with keep-alive; `Expect: 100-continue` is answered (curl waits
 * a second for it otherwise); a body must have a Content-Length (every
 * contender sends one; chunked is answered 501, so a contender that sent it
 * shows up as failed PUTs, not as fast ones). Any other method is answered
 * 405: the GETs go to the nginx origin. One thread per connection, blocking
 * sockets: there are at most a few dozen connections. Built by bench/run.sh
 * with gcc -O2 -pthread; a benchmark tool, not a product.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#define PIPE_SIZE (1 << 20)
#define HEAD_MAX 16384

static int null_fd;

/* header_value: the value of header NAME (lower case, with ':') in HEAD, or NULL */
static const char *header_value(const char *head, const char *name)
{
	size_t n = strlen(name);
	for (const char *l = strstr(head, "\r\n"); l && l[2] != '\r'; l = strstr(l + 2, "\r\n")) {
		if (!strncasecmp(l + 2, name, n)) {
			const char *v = l + 2 + n;
			while (*v == ' ' || *v == '\t') v++;
			return v;
		}
	}
	return NULL;
}

static int send_all(int fd, const char *s)
{
	size_t len = strlen(s);
	while (len > 0) {
		ssize_t n = send(fd, s, len, MSG_NOSIGNAL);
		if (n <= 0) return -1;
		s += n;
		len -= (size_t)n;
	}
	return 0;
}

/* drop_body: LEFT more body bytes from FD into /dev/null through PIPE */
static int drop_body(int fd, int pipe_fd[2], long long left)
{
	while (left > 0) {
		ssize_t in = splice(fd, NULL, pipe_fd[1], NULL, left < PIPE_SIZE ? (size_t)left : PIPE_SIZE,
		                    SPLICE_F_MOVE);
		if (in <= 0) return -1;
		left -= in;
		while (in > 0) {
			ssize_t out = splice(pipe_fd[0], NULL, null_fd, NULL, (size_t)in, SPLICE_F_MOVE);
			if (out <= 0) return -1;
			in -= out;
		}
	}
	return 0;
}

static void *serve(void *arg)
{
	int fd = (int)(long)arg, pipe_fd[2] = { -1, -1 };
	char head[HEAD_MAX + 1];
	size_t have = 0;

	if (pipe2(pipe_fd, O_CLOEXEC) < 0) goto out;
	(void)fcntl(pipe_fd[1], F_SETPIPE_SZ, PIPE_SIZE);
	for (;;) {
		char *end;
		head[have] = 0;
		while (!(end = strstr(head, "\r\n\r\n"))) {
			if (have == HEAD_MAX) goto out;
			ssize_t n = recv(fd, head + have, HEAD_MAX - have, 0);
			if (n <= 0) goto out;
			have += (size_t)n;
			head[have] = 0;
		}
		size_t head_len = (size_t)(end + 4 - head);
		end[2] = 0;     /* the head as a string; its blank line is cut */
		const char *cl = header_value(head, "content-length:");
		const char *te = header_value(head, "transfer-encoding:");
		const char *expect = header_value(head, "expect:");
		long long body = cl ? atoll(cl) : 0;

		if (body < 0) {
			(void)send_all(fd, "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
			goto out;
		}
		if (strncmp(head, "PUT ", 4) != 0) {
			if (send_all(fd, "HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\n\r\n") < 0) goto out;
		} else if (te) {
			(void)send_all(fd, "HTTP/1.1 501 Not Implemented\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
			goto out;
		} else if (expect && !strncasecmp(expect, "100-continue", 12) &&
		           send_all(fd, "HTTP/1.1 100 Continue\r\n\r\n") < 0) {
			goto out;
		}
		/* body bytes that came with the head, then the rest */
		size_t with_head = have - head_len;
		if ((long long)with_head > body) with_head = (size_t)body;
		if (drop_body(fd, pipe_fd, body - (long long)with_head) < 0) goto out;
		if (!strncmp(head, "PUT ", 4) &&
		    send_all(fd, "HTTP/1.1 200 OK\r\nETag: \"bench\"\r\nContent-Length: 0\r\n\r\n") < 0)
			goto out;
		have -= head_len + with_head;
		memmove(head, head + head_len + with_head, have);
	}
out:
	close(fd);
	if (pipe_fd[0] >= 0) { close(pipe_fd[0]); close(pipe_fd[1]); }
	return NULL;
}

int main(int argc, char **argv)
{
	if (argc != 3 || strcmp(argv[1], "-l") != 0) {
		fprintf(stderr, "usage: sink -l [ADDR:]PORT\n");
		return 2;
	}
	const char *port = strrchr(argv[2], ':');
	struct sockaddr_in la = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	if (port && inet_pton(AF_INET, strndupa(argv[2], (size_t)(port - argv[2])), &la.sin_addr) != 1) {
		fprintf(stderr, "sink: bad address %s\n", argv[2]);
		return 2;
	}
	la.sin_port = htons((unsigned short)atoi(port ? port + 1 : argv[2]));
	signal(SIGPIPE, SIG_IGN);
	if ((null_fd = open("/dev/null", O_WRONLY | O_CLOEXEC)) < 0) { perror("/dev/null"); return 1; }
	int lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;
	if (lfd < 0) { perror("socket"); return 1; }
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	if (bind(lfd, (struct sockaddr *)&la, sizeof la) < 0 || listen(lfd, 1024) < 0) {
		perror("sink: bind/listen");
		return 1;
	}
	for (;;) {
		int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0) continue;
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
		pthread_t t;
		if (pthread_create(&t, NULL, serve, (void *)(long)fd) != 0) { close(fd); continue; }
		pthread_detach(t);
	}
}
