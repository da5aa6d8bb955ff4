/*
 * relay.c — the floor for bench/: a bare TCP relay that parses nothing.
 *
 *   relay -l [ADDR:]PORT -t HOST:PORT [-m splice|copy]
 *
 * Accepts, connects to the target, and moves bytes both ways until both
 * sides have finished (half-close is passed on with shutdown(SHUT_WR)).
 * One thread, level-triggered epoll, non-blocking sockets, TCP_NODELAY.
 *
 *   -m splice  (default) splice(2) socket -> pipe -> socket, one pipe of
 *              1 MiB (F_SETPIPE_SZ) per direction per connection
 *   -m copy    recv(2)/send(2) through one 1 MiB buffer per direction
 *
 * The connect to the target is blocking (loopback: immediate); this is a
 * benchmark floor, not a product. Built by bench/run.sh with gcc -O2.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#define CHUNK (1u << 20) /* pipe size and buffer size: 1 MiB */

enum { MODE_SPLICE, MODE_COPY };
static int mode = MODE_SPLICE;
static int epfd;
static struct sockaddr_storage target;
static socklen_t target_len;

struct pair;

struct end {        /* one socket of a pair; epoll data points here */
	int fd;
	int side;       /* 0 = client, 1 = origin */
	uint32_t ev;    /* interest currently registered */
	struct pair *p;
};

struct dir {        /* bytes flowing from end[src] to end[!src] */
	int pipe[2];    /* splice mode */
	char *buf;      /* copy mode */
	size_t head, tail;
	size_t pending; /* bytes held: in the pipe or buf[head..tail) */
	int eof;        /* source said EOF */
	int shut;       /* shutdown(dst, SHUT_WR) done */
};

struct pair {
	struct end end[2];
	struct dir dir[2]; /* dir[i]: end[i] -> end[!i] */
	int dead;
};

static void die(const char *what)
{
	perror(what);
	exit(1);
}

static void nodelay_nonblock(int fd)
{
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
}

static void pair_free(struct pair *p)
{
	for (int i = 0; i < 2; i++) {
		if (p->end[i].fd >= 0)
			close(p->end[i].fd); /* close removes it from epoll */
		if (mode == MODE_SPLICE) {
			if (p->dir[i].pipe[0] >= 0) close(p->dir[i].pipe[0]);
			if (p->dir[i].pipe[1] >= 0) close(p->dir[i].pipe[1]);
		} else {
			free(p->dir[i].buf);
		}
	}
	free(p);
}

/* Moves what it can from src to dst; returns -1 on a fatal error. */
static int pump(struct pair *p, int i)
{
	struct dir *d = &p->dir[i];
	int src = p->end[i].fd, dst = p->end[!i].fd;

	for (;;) {
		int progress = 0;
		if (d->pending) {
			ssize_t n;
			if (mode == MODE_SPLICE)
				n = splice(d->pipe[0], NULL, dst, NULL, d->pending,
				           SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
			else
				n = send(dst, d->buf + d->head, d->pending, MSG_NOSIGNAL);
			if (n > 0) {
				d->pending -= (size_t)n;
				if (mode == MODE_COPY) {
					d->head += (size_t)n;
					if (d->head == d->tail)
						d->head = d->tail = 0;
				}
				progress = 1;
			} else if (n < 0 && errno != EAGAIN && errno != EINTR) {
				return -1;
			}
		}
		size_t space = mode == MODE_SPLICE ? CHUNK - d->pending : CHUNK - d->tail;
		if (!d->eof && space) {
			ssize_t n;
			if (mode == MODE_SPLICE)
				n = splice(src, NULL, d->pipe[1], NULL, space,
				           SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
			else
				n = recv(src, d->buf + d->tail, space, 0);
			if (n > 0) {
				d->pending += (size_t)n;
				if (mode == MODE_COPY)
					d->tail += (size_t)n;
				progress = 1;
			} else if (n == 0) {
				d->eof = 1;
				progress = 1;
			} else if (errno != EAGAIN && errno != EINTR) {
				return -1;
			}
		}
		if (!progress)
			break;
	}
	if (d->eof && !d->pending && !d->shut) {
		shutdown(dst, SHUT_WR);
		d->shut = 1;
	}
	return 0;
}

/*
 * Interest of end k: readable when its outgoing direction is empty and open
 * (pump() reads opportunistically while there is room, but only waits for
 * input once everything read has been written: that is the backpressure);
 * writable when its incoming direction holds bytes.
 */
static void update(struct pair *p, int k)
{
	struct end *e = &p->end[k];
	uint32_t ev = 0;
	if (!p->dir[k].eof && !p->dir[k].pending)
		ev |= EPOLLIN;
	if (p->dir[!k].pending)
		ev |= EPOLLOUT;
	if (ev != e->ev) {
		struct epoll_event ee = { .events = ev, .data.ptr = e };
		if (epoll_ctl(epfd, EPOLL_CTL_MOD, e->fd, &ee) < 0)
			die("epoll_ctl mod");
		e->ev = ev;
	}
}

static void on_accept(int lfd)
{
	for (;;) {
		int c = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (c < 0) {
			if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
				perror("accept4");
			return;
		}
		int o = socket(target.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (o < 0 || connect(o, (struct sockaddr *)&target, target_len) < 0) {
			perror("connect to target");
			if (o >= 0) close(o);
			close(c);
			continue;
		}
		nodelay_nonblock(c);
		nodelay_nonblock(o);

		struct pair *p = calloc(1, sizeof *p);
		if (!p) die("calloc");
		p->end[0] = (struct end){ .fd = c, .side = 0, .p = p };
		p->end[1] = (struct end){ .fd = o, .side = 1, .p = p };
		for (int i = 0; i < 2; i++) {
			p->dir[i].pipe[0] = p->dir[i].pipe[1] = -1;
			if (mode == MODE_SPLICE) {
				if (pipe2(p->dir[i].pipe, O_NONBLOCK | O_CLOEXEC) < 0) die("pipe2");
				if (fcntl(p->dir[i].pipe[1], F_SETPIPE_SZ, CHUNK) < 0)
					perror("F_SETPIPE_SZ (continuing with the default size)");
			} else {
				p->dir[i].buf = malloc(CHUNK);
				if (!p->dir[i].buf) die("malloc");
			}
		}
		for (int k = 0; k < 2; k++) {
			struct epoll_event ee = { .events = EPOLLIN, .data.ptr = &p->end[k] };
			if (epoll_ctl(epfd, EPOLL_CTL_ADD, p->end[k].fd, &ee) < 0) die("epoll_ctl add");
			p->end[k].ev = EPOLLIN;
		}
	}
}

static int parse_addr(const char *s, struct sockaddr_storage *ss, socklen_t *len, int passive)
{
	char host[256] = "", *colon;
	const char *port = s;
	if ((colon = strrchr(s, ':'))) {
		size_t n = (size_t)(colon - s);
		if (n >= sizeof host) return -1;
		memcpy(host, s, n);
		host[n] = 0;
		port = colon + 1;
	}
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
	                          .ai_flags = passive ? AI_PASSIVE : 0 }, *res;
	if (getaddrinfo(host[0] ? host : (passive ? NULL : "127.0.0.1"), port, &hints, &res))
		return -1;
	memcpy(ss, res->ai_addr, res->ai_addrlen);
	*len = res->ai_addrlen;
	freeaddrinfo(res);
	return 0;
}

int main(int argc, char **argv)
{
	const char *listen_s = NULL, *target_s = NULL;
	int opt;
	while ((opt = getopt(argc, argv, "l:t:m:")) != -1) {
		if (opt == 'l') listen_s = optarg;
		else if (opt == 't') target_s = optarg;
		else if (opt == 'm' && !strcmp(optarg, "splice")) mode = MODE_SPLICE;
		else if (opt == 'm' && !strcmp(optarg, "copy")) mode = MODE_COPY;
		else goto usage;
	}
	if (!listen_s || !target_s) {
usage:
		fprintf(stderr, "usage: relay -l [ADDR:]PORT -t HOST:PORT [-m splice|copy]\n");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);

	struct sockaddr_storage la;
	socklen_t la_len;
	if (parse_addr(listen_s, &la, &la_len, 1) || parse_addr(target_s, &target, &target_len, 0)) {
		fprintf(stderr, "relay: bad address\n");
		return 2;
	}
	int lfd = socket(la.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0), one = 1;
	if (lfd < 0) die("socket");
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	if (bind(lfd, (struct sockaddr *)&la, la_len) < 0) die("bind");
	if (listen(lfd, 1024) < 0) die("listen");

	epfd = epoll_create1(EPOLL_CLOEXEC);
	if (epfd < 0) die("epoll_create1");
	struct epoll_event lev = { .events = EPOLLIN, .data.ptr = NULL };
	if (epoll_ctl(epfd, EPOLL_CTL_ADD, lfd, &lev) < 0) die("epoll_ctl listen");

	struct epoll_event evs[256];
	struct pair *dead[256];
	for (;;) {
		int n = epoll_wait(epfd, evs, 256, -1);
		if (n < 0) {
			if (errno == EINTR) continue;
			die("epoll_wait");
		}
		int ndead = 0;
		for (int i = 0; i < n; i++) {
			struct end *e = evs[i].data.ptr;
			if (!e) {
				on_accept(lfd);
				continue;
			}
			struct pair *p = e->p;
			if (p->dead)
				continue;
			if (pump(p, e->side) < 0 || pump(p, !e->side) < 0 ||
			    (p->dir[0].shut && p->dir[1].shut) ||
			    ((evs[i].events & (EPOLLERR | EPOLLHUP)) && !e->ev)) {
				p->dead = 1;
				dead[ndead++] = p; /* freed after this batch: later events may point at it */
				continue;
			}
			update(p, 0);
			update(p, 1);
		}
		for (int i = 0; i < ndead; i++)
			pair_free(dead[i]);
	}
}
