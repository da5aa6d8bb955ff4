/*
 * s3gate: an S3-aware policy enforcement proxy.
 *
 *   s3gate -c FILE      run in the foreground
 *   s3gate -t -c FILE   check FILE and the files it names
 *   s3gate -V           version and build options
 */
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <llhttp.h>
#include <openssl/opensslv.h>

#include "proxy/accesslog.h"
#include "proxy/conf.h"
#include "proxy/cpus.h"
#include "proxy/log.h"
#include "proxy/quotashm.h"
#include "proxy/server.h"
#include "proxy/tls.h"

#define S3GATE_VERSION	"0.1.0"

static void
usage(void)
{
	fprintf(stderr, "usage: s3gate [-t] -c FILE | -V\n");
	exit(2);
}

static void
version(void)
{
	printf("s3gate %s\n", S3GATE_VERSION);
	printf("libevent %s, %s, llhttp %d.%d.%d\n", event_get_version(), OPENSSL_VERSION_TEXT,
	    LLHTTP_VERSION_MAJOR, LLHTTP_VERSION_MINOR, LLHTTP_VERSION_PATCH);
	printf("body relay: splice(2) on plain sockets, copy otherwise\n");
	printf("tls: TLS 1.2/1.3 listeners with SNI; kTLS %s on this kernel%s\n",
	    tls_ktls_available() ? "available" : "not available",
	    tls_ktls_available() ? "" : " (no tls module: user-space TLS)");
}

#define MAX_WORKERS	256

static pid_t	worker_pids[MAX_WORKERS];
/*
 * Every worker process counts into a slot of its own (server_place): its
 * stats and its column of quotashm's in-flight counts.  Twice as many
 * slots as workers, so that a generation draining after a reload and its
 * successor never share one; the slot of a process that ended is cleared
 * of what it held (quotashm_forget_worker, the gauges) before it is taken
 * again.  SLOT_PIDS: the process in each slot, -1 while one is being
 * forked, 0 free.  GEN_SLOTS: the current generation's, by worker.
 */
static pid_t	slot_pids[MAX_WORKERS * 2];
static int	nslots = 1;
static int	gen_slots[MAX_WORKERS];
static struct server_stats *all_stats;
/*
 * The current generation's listening sockets, bound here and inherited by
 * its workers, which share them: a new connection goes to whichever worker
 * is free (server.c, server_accept_cb).
 */
static int	gen_fds[CONF_MAX_LISTEN];
/* The quota windows and link counts the workers share (quotashm.h), mapped before they fork. */
static struct quotashm *quota_shm;

/*
 * Once the worker's listeners are bound (ports below 1024 need root), it
 * runs as USER.  The parent stays root to start replacement workers.
 */
static void
drop_privileges(const char *user)
{
	struct passwd *pw;

	if ((pw = getpwnam(user)) == NULL)
		fatalx("user %s: no such user", user);
	if (setgroups(1, &pw->pw_gid) == -1 || setresgid(pw->pw_gid, pw->pw_gid, pw->pw_gid) == -1 ||
	    setresuid(pw->pw_uid, pw->pw_uid, pw->pw_uid) == -1)
		fatal("cannot run as %s", user);
	log_debug("running as %s", user);
}

/* The parent of the workers, as they were forked. */
static pid_t master_pid;

/*
 * Should the parent die without stopping the workers (SIGKILL, a crash),
 * each drains and exits as on SIGTERM rather than serve on, orphaned, with
 * nobody to restart or reload it.  Set again once privileges are dropped
 * (a change of user clears it); the check after it covers a parent that
 * died before.
 */
static void
worker_watch_parent(void)
{
	if (prctl(PR_SET_PDEATHSIG, SIGTERM) == -1 || getppid() != master_pid)
		raise(SIGTERM);
}

/* The workers CF asks for: `auto` is the CPUs this process may use (cpus.h). */
static int
main_worker_count(const struct conf *cf)
{
	int n = cf->workers > 0 ? cf->workers : cpus_available();

	return n < 1 ? 1 : n > MAX_WORKERS ? MAX_WORKERS : n;
}

/*
 * Runs one worker: its own event loop, on the listening sockets of its
 * generation (LISTEN_FDS, inherited from the parent), or on its own.
 *
 * READY_FD (a forked worker of a new generation; else -1): once its
 * listeners, TLS contexts, store and admin listener are up and it runs as
 * `user`, the worker writes "r" to it; if it cannot start, it writes why
 * instead and exits 1.  The parent tells the old generation to drain only
 * when every new worker said "r" (master_reload).
 */
static int
worker_run(struct conf *cf, int worker, int nworkers, const int *listen_fds, int ready_fd)
{
	struct sbuf errors = SBUF_INIT;
	struct server_place place = { worker, nworkers, gen_slots, all_stats, nslots, quota_shm };
	struct server *srv;

	/* the bucket names this generation's backend keeps for its other APIs */
	s3addr_set_reserved(cf->reserved_names, cf->nreserved);
	if (listen_fds != NULL) {
		/* a forked worker opens its generation's logs itself, while still root */
		if (log_open(cf->error_log, (enum log_level)cf->log_level) == -1)
			sbuf_appendf(&errors, "%s: error_log %s: %s; fix the path or its permissions\n",
			    cf->file, cf->error_log, strerror(errno));
		else if (accesslog_open(cf->access_log) == -1)
			sbuf_appendf(&errors, "%s: access_log %s: %s; fix the path or its permissions\n",
			    cf->file, cf->access_log, strerror(errno));
	}
	if (errors.len != 0 || (srv = server_new(cf, &place, listen_fds, &errors)) == NULL) {
		if (ready_fd == -1 || write(ready_fd, errors.data, errors.len) == -1)
			fputs(errors.len != 0 ? errors.data : "cannot start\n", stderr);
		sbuf_free(&errors);
		return 1;
	}
	if (cf->user != NULL && geteuid() == 0) {
		drop_privileges(cf->user);
		if (listen_fds != NULL)
			worker_watch_parent();
	}
	if (ready_fd != -1) {
		if (write(ready_fd, "r", 1) == -1)
			log_warn("ready pipe");	/* the parent is gone: PDEATHSIG stops us */
		close(ready_fd);
	}
	if (worker == 0)
		log_info("s3gate %s started, %d worker%s, backend %s", S3GATE_VERSION, nworkers,
		    nworkers == 1 ? "" : "s", srv->conf->backend_url);
	server_run(srv);
	server_free(srv);
	return 0;
}

/*
 * Picks the slots of a new generation of NWORKERS into gen_slots, among
 * those no process holds.  Should draining generations hold too many (a
 * burst of reloads), a worker shares a slot with a draining one, as all
 * did before slots: its counters may then lose increments while both run.
 * Never with another worker of its own generation: the generation takes
 * half the slots.
 */
static void
slots_pick(int nworkers)
{
	int w, slot;

	for (w = 0; w < nworkers; w++) {
		for (slot = 0; slot < nslots && slot_pids[slot] != 0; slot++)
			;
		if (slot == nslots) {
			for (slot = 0; slot_pids[slot] == -1; slot++)
				;	/* a drainer's */
			log_warnx("worker %d shares stats slot %d with a draining worker", w, slot);
		}
		gen_slots[w] = slot;
		slot_pids[slot] = -1;
	}
}

/* The process in SLOT ended (CLEAN: exited 0, having drained): what it held is released. */
static void
slot_release(int slot, int clean)
{
	if (!clean && quota_shm != NULL)
		quotashm_forget_worker(quota_shm, slot);	/* it died holding requests */
	__atomic_store_n(&all_stats[slot].connections_open, 0, __ATOMIC_RELAXED);
	all_stats[slot].backend_idle = 0;
	slot_pids[slot] = 0;
}

/*
 * The read ends of the ready pipes of a generation being started
 * (worker_run), by worker; -1 where none.
 */
static int	ready_fds[MAX_WORKERS];
static int	gen_nfds;		/* listeners in gen_fds */

/*
 * Forks worker WORKER of a generation serving FDS.  WANT_READY: a pipe on
 * which it says when it is ready, its read end in ready_fds[WORKER].
 */
static pid_t
worker_spawn(struct conf *cf, int worker, int nworkers, const int *fds, int want_ready,
    const sigset_t *oldmask)
{
	int slot = gen_slots[worker], p[2] = { -1, -1 }, i;
	pid_t pid;

	master_pid = getpid();
	if (want_ready && pipe2(p, O_CLOEXEC) == -1) {
		log_warn("pipe");
		return -1;
	}
	if ((pid = fork()) == -1) {
		log_warn("fork");
		if (slot_pids[slot] == -1)
			slot_pids[slot] = 0;
		if (want_ready) {
			close(p[0]);
			close(p[1]);
		}
		return -1;
	}
	if (pid == 0) {
		worker_watch_parent();
		sigprocmask(SIG_SETMASK, oldmask, NULL);
		for (i = 0; i < MAX_WORKERS; i++)
			if (ready_fds[i] != -1)
				close(ready_fds[i]);	/* its siblings' */
		if (p[0] != -1)
			close(p[0]);
		if (fds != gen_fds)	/* a new generation: the old one's sockets are not its own */
			server_close_listeners(gen_fds, gen_nfds);
		_exit(worker_run(cf, worker, nworkers, fds, p[1]));
	}
	if (want_ready) {
		close(p[1]);
		ready_fds[worker] = p[0];
	}
	slot_pids[slot] = pid;	/* shared (slots_pick): the drainer's end no longer clears it */
	return pid;
}

/* Monotonic milliseconds. */
static long long
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

#define GEN_READY_MS	15000	/* a new generation's workers have this long to start */

/*
 * Waits until each of the NWORKERS workers whose pipes are in ready_fds
 * said it is ready: 0.  -1 with WHY if one could not start (what it
 * wrote, or that it exited), if GEN_READY_MS passed, or if SIGTERM or
 * SIGINT came meanwhile (left pending for the main loop).  The pipes are
 * closed either way.
 */
static int
gen_wait_ready(int nworkers, struct sbuf *why)
{
	long long t0 = now_ms();
	struct pollfd pfd[MAX_WORKERS];
	int i, n, left = 0, rc = 0;
	char buf[2048];
	sigset_t pending;

	for (i = 0; i < nworkers; i++)
		left += ready_fds[i] != -1;
	while (left > 0 && rc == 0) {
		for (i = 0; i < nworkers; i++) {
			pfd[i].fd = ready_fds[i];
			pfd[i].events = POLLIN;
			pfd[i].revents = 0;
		}
		if ((n = poll(pfd, (nfds_t)nworkers, 100)) == -1 && errno != EINTR) {
			sbuf_appendf(why, "poll: %s\n", strerror(errno));
			rc = -1;
			break;
		}
		for (i = 0; i < nworkers && n > 0; i++) {
			ssize_t r;

			if (pfd[i].revents == 0)
				continue;
			r = read(ready_fds[i], buf, sizeof(buf) - 1);
			if (r == 1 && buf[0] == 'r') {
				close(ready_fds[i]);
				ready_fds[i] = -1;
				left--;
				continue;
			}
			if (r > 0) {
				buf[r] = '\0';
				sbuf_appendf(why, "worker %d could not start:\n%s", i, buf);
			} else
				sbuf_appendf(why, "worker %d exited before it was ready (see the error log)\n", i);
			rc = -1;
			break;
		}
		if (rc == 0 && now_ms() - t0 > GEN_READY_MS) {
			sbuf_appendf(why, "%d worker%s not ready after %d ms\n", left, left == 1 ? "" : "s",
			    GEN_READY_MS);
			rc = -1;
		}
		if (rc == 0 && sigpending(&pending) == 0 &&
		    (sigismember(&pending, SIGTERM) == 1 || sigismember(&pending, SIGINT) == 1)) {
			sbuf_appendf(why, "stopping (SIGTERM or SIGINT) before the workers were ready\n");
			rc = -1;
		}
	}
	for (i = 0; i < nworkers; i++) {
		if (ready_fds[i] != -1)
			close(ready_fds[i]);
		ready_fds[i] = -1;
	}
	return rc;
}

/*
 * The parent of the workers: forwards SIGTERM/SIGINT/SIGUSR1, restarts a
 * worker that dies, and exits when all have stopped after SIGTERM/SIGINT.
 *
 * SIGHUP is a new generation, as in nginx: the parent, still root, reads
 * the configuration and the secrets it names, binds the new generation's
 * listening sockets beside the old ones (SO_REUSEPORT) and starts new
 * workers on them.  Only once every new worker said it is ready
 * (gen_wait_ready) are the old ones told to drain; a generation that does
 * not start is stopped and the old one serves on.  So a reload never needs
 * the workers' reduced privileges to read root's files, in-flight
 * transfers finish in the old workers, and a configuration the workers
 * cannot run never replaces one they can.
 *
 * Nothing in the loop waits without bound: a worker that died is restarted
 * from the loop after a back-off (RESTART_*), never inside the reaping, so
 * signals are always taken.
 */
static pid_t	old_pids[MAX_WORKERS * 4];	/* earlier generations, draining */
static int	nold;

#define RESTART_MIN_MS		1000	/* first restart of a worker that died */
#define RESTART_MAX_MS		30000	/* the back-off doubles up to this */
#define RESTART_STABLE_MS	10000	/* a worker that ran this long starts at RESTART_MIN_MS again */

static long long	restart_at[MAX_WORKERS];	/* monotonic ms of its restart; 0: none due */
static long long	restart_backoff[MAX_WORKERS];	/* the next delay, ms */
static long long	started_at[MAX_WORKERS];	/* monotonic ms it was forked */
static int		nrestarts;			/* restart_at[] set */

static void
restarts_clear(void)
{
	memset(restart_at, 0, sizeof(restart_at));
	nrestarts = 0;
}

static int
master_reap(pid_t pid, int status, int stopping, int nworkers, int *alive)
{
	long long now = now_ms();
	int i;

	for (i = 0; i < nslots; i++)
		if (slot_pids[i] == pid)
			slot_release(i, WIFEXITED(status) && WEXITSTATUS(status) == 0);
	for (i = 0; i < nold; i++) {
		if (old_pids[i] == pid) {
			old_pids[i] = old_pids[--nold];
			return 0;
		}
	}
	for (i = 0; i < nworkers; i++) {
		if (worker_pids[i] != pid)
			continue;
		worker_pids[i] = 0;
		(*alive)--;
		if (stopping)
			continue;
		if (now - started_at[i] >= RESTART_STABLE_MS || restart_backoff[i] == 0)
			restart_backoff[i] = RESTART_MIN_MS;
		log_warnx("worker %d (pid %d) exited (status %d); restarting in %lld ms", i, (int)pid,
		    status, restart_backoff[i]);
		restart_at[i] = now + restart_backoff[i];
		nrestarts++;
		restart_backoff[i] = restart_backoff[i] * 2 > RESTART_MAX_MS ? RESTART_MAX_MS :
		    restart_backoff[i] * 2;
	}
	return 0;
}

/* Restarts the workers whose time has come; returns ms until the next one, -1 if none. */
static long long
master_restart_due(struct conf *cf, int nworkers, const sigset_t *oldmask, int *alive)
{
	long long now = now_ms(), next = -1;
	int i;

	for (i = 0; i < nworkers; i++) {
		if (restart_at[i] == 0)
			continue;
		if (restart_at[i] > now) {
			if (next == -1 || restart_at[i] - now < next)
				next = restart_at[i] - now;
			continue;
		}
		restart_at[i] = 0;
		nrestarts--;
		/* into the same slot, released when it was reaped: its peers know it by that */
		started_at[i] = now;
		if ((worker_pids[i] = worker_spawn(cf, i, nworkers, gen_fds, 0, oldmask)) > 0)
			(*alive)++;
		else {
			restart_at[i] = now + RESTART_MAX_MS;	/* fork failed: later */
			nrestarts++;
			if (next == -1 || RESTART_MAX_MS < next)
				next = RESTART_MAX_MS;
		}
	}
	return next;
}

/* PIDS (N of them) are told to drain and exit, and are waited for as an old generation. */
static void
master_retire(pid_t *pids, int n)
{
	int i;

	for (i = 0; i < n; i++) {
		if (pids[i] > 0 && nold < (int)(sizeof(old_pids) / sizeof(old_pids[0]))) {
			old_pids[nold++] = pids[i];
			kill(pids[i], SIGTERM);	/* drain, then exit */
		}
		pids[i] = 0;
	}
}

static struct conf *
master_reload(struct conf *cf, int nworkers, const sigset_t *oldmask, int *alive)
{
	struct sbuf errors = SBUF_INIT;
	struct conf *nc;
	pid_t new_pids[MAX_WORKERS];
	int i, n, new_fds[CONF_MAX_LISTEN], old_slots[MAX_WORKERS];

	log_info("reloading %s", cf->file);
	if ((nc = conf_load(cf->file, 1, &errors)) == NULL) {
		log_warnx("reload failed, keeping the running configuration:\n%s", errors.data);
		sbuf_free(&errors);
		return cf;
	}
	if (server_bind_listeners(nc, new_fds, &errors) == -1) {
		log_warnx("reload failed, keeping the running configuration:\n%s", errors.data);
		sbuf_free(&errors);
		conf_unref(nc);
		return cf;
	}
	if (main_worker_count(nc) != nworkers)
		log_warnx("reload: workers %d -> %d takes effect at the next restart; %d workers start",
		    nworkers, main_worker_count(nc), nworkers);
	/* the new generation first, beside the old one, which serves until it is ready */
	memcpy(old_slots, gen_slots, sizeof(old_slots));
	slots_pick(nworkers);
	for (i = 0, n = 0; i < nworkers; i++)
		if ((new_pids[i] = worker_spawn(nc, i, nworkers, new_fds, 1, oldmask)) > 0)
			n++;
	/* waited for even when a fork failed: it closes the pipes */
	if (gen_wait_ready(nworkers, &errors) == -1 || n < nworkers) {
		if (n < nworkers)
			sbuf_appendf(&errors, "cannot fork the new workers\n");
		log_warnx("reload failed, keeping the running configuration and its workers: "
		    "the new workers did not start:\n%s", errors.data);
		sbuf_free(&errors);
		master_retire(new_pids, nworkers);	/* what they accepted meanwhile is served */
		server_close_listeners(new_fds, nc->nlisten);
		memcpy(gen_slots, old_slots, sizeof(gen_slots));
		conf_unref(nc);
		return cf;
	}
	sbuf_free(&errors);
	/* the error log and access log follow the new file; each worker opened its own */
	if (log_open(nc->error_log, (enum log_level)nc->log_level) == -1)
		log_warn("error_log %s", nc->error_log);
	if (accesslog_open(nc->access_log) == -1)
		log_warn("access_log %s", nc->access_log);
	master_retire(worker_pids, nworkers);
	restarts_clear();	/* of the old generation, which is gone */
	/* closed here too, so that no queue fills on a socket nobody serves */
	server_close_listeners(gen_fds, gen_nfds);
	memcpy(gen_fds, new_fds, sizeof(gen_fds));
	gen_nfds = nc->nlisten;
	memcpy(worker_pids, new_pids, sizeof(pid_t) * (size_t)nworkers);
	for (i = 0; i < nworkers; i++)
		started_at[i] = now_ms();
	memset(restart_backoff, 0, sizeof(restart_backoff));
	*alive = nworkers;
	log_info("reloaded %s: the new workers are ready, the old ones drain", nc->file);
	conf_unref(cf);
	return nc;
}

static int
master_run(struct conf **cfp, int nworkers)
{
	struct sbuf errors = SBUF_INIT;
	sigset_t mask, oldmask;
	int i, sig, status, stopping = 0, alive = 0;
	struct conf *cf = *cfp;
	long long next;
	pid_t pid;

	sigemptyset(&mask);
	sigaddset(&mask, SIGHUP);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGUSR1);
	sigaddset(&mask, SIGCHLD);
	sigprocmask(SIG_BLOCK, &mask, &oldmask);
	for (i = 0; i < MAX_WORKERS; i++)
		ready_fds[i] = -1;
	if (server_bind_listeners(cf, gen_fds, &errors) == -1) {
		fputs(errors.data, stderr);
		sbuf_free(&errors);
		return 1;
	}
	gen_nfds = cf->nlisten;
	slots_pick(nworkers);
	for (i = 0; i < nworkers; i++) {
		started_at[i] = now_ms();
		if ((worker_pids[i] = worker_spawn(cf, i, nworkers, gen_fds, 1, &oldmask)) > 0)
			alive++;
	}
	/* a configuration the workers cannot run stops s3gate here, rather than loop restarting them */
	if (gen_wait_ready(nworkers, &errors) == -1 || alive < nworkers) {
		log_error("s3gate cannot start its workers:\n%s", errors.len != 0 ? errors.data :
		    "cannot fork\n");
		sbuf_free(&errors);
		stopping = 1;
		server_close_listeners(gen_fds, gen_nfds);
		for (i = 0; i < nworkers; i++)
			if (worker_pids[i] > 0)
				kill(worker_pids[i], SIGTERM);
		while (alive > 0 && sigwait(&mask, &sig) == 0)
			while ((pid = waitpid(-1, &status, WNOHANG)) > 0)
				master_reap(pid, status, stopping, nworkers, &alive);
		return 1;
	}
	while (alive > 0 || nold > 0 || nrestarts > 0) {
		struct timespec ts;
		siginfo_t si;

		/* the master forks workers with its ticket keys: they move on as the workers' do */
		tls_ticket_advance();
		next = nrestarts > 0 ? master_restart_due(cf, nworkers, &oldmask, &alive) : -1;
		if (next < 0 || tls_ticket_next_ms() < next)
			next = tls_ticket_next_ms();
		ts.tv_sec = next / 1000;
		ts.tv_nsec = (next % 1000) * 1000000;
		if ((sig = sigtimedwait(&mask, &si, &ts)) == -1)
			continue;	/* EAGAIN: a restart or a new ticket period is due; EINTR */
		switch (sig) {
		case SIGCHLD:
			while ((pid = waitpid(-1, &status, WNOHANG)) > 0)
				master_reap(pid, status, stopping, nworkers, &alive);
			break;
		case SIGHUP:
			if (!stopping)
				cf = master_reload(cf, nworkers, &oldmask, &alive);
			break;
		case SIGTERM:
		case SIGINT:
			if (!stopping) {
				/* the workers close theirs as they drain: new connections are refused, not queued */
				server_close_listeners(gen_fds, gen_nfds);
				memset(gen_fds, -1, sizeof(gen_fds));
				restarts_clear();
			}
			stopping = 1;
			/* FALLTHROUGH */
		default:
			for (i = 0; i < nworkers; i++)
				if (worker_pids[i] > 0)
					kill(worker_pids[i], sig);
			for (i = 0; i < nold; i++)
				kill(old_pids[i], sig);
			if (sig == SIGUSR1) {
				log_reopen();
				accesslog_reopen();
			}
			break;
		}
	}
	*cfp = cf;
	return 0;
}

int
main(int argc, char **argv)
{
	struct sbuf errors = SBUF_INIT;
	const char *file = NULL;
	struct conf *cf;
	int ch, check = 0, nworkers, single, rc;

	while ((ch = getopt(argc, argv, "c:tV")) != -1) {
		switch (ch) {
		case 'c':
			file = optarg;
			break;
		case 't':
			check = 1;
			break;
		case 'V':
			version();
			return 0;
		default:
			usage();
		}
	}
	if (file == NULL)
		usage();
	if ((cf = conf_load(file, 1, &errors)) == NULL) {
		fputs(errors.data, stderr);
		sbuf_free(&errors);
		return 1;
	}
	if (check) {
		printf("configuration OK\n");
		conf_unref(cf);
		return 0;
	}
	if (log_open(cf->error_log, (enum log_level)cf->log_level) == -1) {
		fprintf(stderr, "%s: error_log %s: cannot open\n", file, cf->error_log);
		return 1;
	}
	if (accesslog_open(cf->access_log) == -1) {
		fprintf(stderr, "%s: access_log %s: cannot open\n", file, cf->access_log);
		return 1;
	}
	nworkers = main_worker_count(cf);
	/* one worker in this process: no other ever counts beside it */
	single = nworkers == 1 && (cf->user == NULL || geteuid() != 0);
	nslots = single ? 1 : 2 * nworkers;
	all_stats = mmap(NULL, sizeof(*all_stats) * (size_t)nslots, PROT_READ | PROT_WRITE,
	    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (all_stats == MAP_FAILED)
		fatal("mmap");
	tls_init_ticket_secret();	/* before fork: every worker derives the same ticket keys */
	(void)tls_ktls_available();	/* while root: the tls module may load */
	/* always: link budgets count in it even with one worker, across reloads */
	if ((quota_shm = quotashm_new()) == NULL)
		fatal("mmap");
	/* one worker runs in this process, unless it must drop privileges:
	   then a root parent rereads root's files on SIGHUP */
	if (single)
		return worker_run(cf, 0, 1, NULL, -1);
	rc = master_run(&cf, nworkers);
	conf_unref(cf);
	munmap(all_stats, sizeof(*all_stats) * (size_t)nslots);
	return rc;
}
