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
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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
 */
static int
worker_run(struct conf *cf, int worker, int nworkers, const int *listen_fds)
{
	struct sbuf errors = SBUF_INIT;
	struct server_place place = { worker, nworkers, gen_slots, all_stats, nslots, quota_shm };
	struct server *srv;

	if ((srv = server_new(cf, &place, listen_fds, &errors)) == NULL) {
		fputs(errors.data, stderr);
		sbuf_free(&errors);
		return 1;
	}
	if (cf->user != NULL && geteuid() == 0) {
		drop_privileges(cf->user);
		if (listen_fds != NULL)
			worker_watch_parent();
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

static pid_t
worker_spawn(struct conf *cf, int worker, int nworkers, const sigset_t *oldmask)
{
	int slot = gen_slots[worker];
	pid_t pid;

	master_pid = getpid();
	if ((pid = fork()) == -1) {
		log_warn("fork");
		if (slot_pids[slot] == -1)
			slot_pids[slot] = 0;
		return -1;
	}
	if (pid == 0) {
		worker_watch_parent();
		sigprocmask(SIG_SETMASK, oldmask, NULL);
		_exit(worker_run(cf, worker, nworkers, gen_fds));
	}
	slot_pids[slot] = pid;	/* shared (slots_pick): the drainer's end no longer clears it */
	return pid;
}

/*
 * The parent of the workers: forwards SIGTERM/SIGINT/SIGUSR1, restarts a
 * worker that dies, and exits when all have stopped after SIGTERM/SIGINT.
 *
 * SIGHUP is a new generation, as in nginx: the parent, still root, reads
 * the configuration and the secrets it names, binds the new generation's
 * listening sockets beside the old ones (SO_REUSEPORT), starts new workers
 * on them and tells the old ones to drain.  So a reload never needs the
 * workers' reduced privileges to read root's files, and in-flight
 * transfers finish in the old workers.
 */
static pid_t	old_pids[MAX_WORKERS * 4];	/* earlier generations, draining */
static int	nold;

static int
master_reap(pid_t pid, int status, int stopping, struct conf *cf, int nworkers,
    const sigset_t *oldmask, int *alive)
{
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
		if (!stopping) {
			log_warnx("worker %d (pid %d) exited (status %d); restarting", i, (int)pid, status);
			sleep(1);	/* no busy loop if it dies at once */
			/* into the same slot, released above: its peers know it by that */
			if ((worker_pids[i] = worker_spawn(cf, i, nworkers, oldmask)) > 0)
				(*alive)++;
		}
	}
	return 0;
}

static struct conf *
master_reload(struct conf *cf, int nworkers, const sigset_t *oldmask, int *alive)
{
	struct sbuf errors = SBUF_INIT;
	struct conf *nc;
	int i, new_fds[CONF_MAX_LISTEN];

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
	sbuf_free(&errors);
	if (main_worker_count(nc) != nworkers)
		log_warnx("reload: a change of workers takes effect at the next restart");
	if (log_open(nc->error_log, (enum log_level)nc->log_level) == -1)
		log_warn("error_log %s", nc->error_log);
	for (i = 0; i < nworkers; i++) {
		if (worker_pids[i] > 0 && nold < (int)(sizeof(old_pids) / sizeof(old_pids[0]))) {
			old_pids[nold++] = worker_pids[i];
			kill(worker_pids[i], SIGTERM);	/* drain, then exit */
		}
		worker_pids[i] = 0;
	}
	/* closed before the new workers fork, so that none of them holds the old sockets open */
	server_close_listeners(gen_fds, cf->nlisten);
	memcpy(gen_fds, new_fds, sizeof(gen_fds));
	*alive = 0;
	slots_pick(nworkers);
	for (i = 0; i < nworkers; i++)
		if ((worker_pids[i] = worker_spawn(nc, i, nworkers, oldmask)) > 0)
			(*alive)++;
	log_info("reloaded %s: new workers started, the old ones drain", nc->file);
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
	pid_t pid;

	sigemptyset(&mask);
	sigaddset(&mask, SIGHUP);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGUSR1);
	sigaddset(&mask, SIGCHLD);
	sigprocmask(SIG_BLOCK, &mask, &oldmask);
	if (server_bind_listeners(cf, gen_fds, &errors) == -1) {
		fputs(errors.data, stderr);
		sbuf_free(&errors);
		return 1;
	}
	slots_pick(nworkers);
	for (i = 0; i < nworkers; i++)
		if ((worker_pids[i] = worker_spawn(cf, i, nworkers, &oldmask)) > 0)
			alive++;
	while (alive > 0 || nold > 0) {
		if (sigwait(&mask, &sig) != 0)
			continue;
		switch (sig) {
		case SIGCHLD:
			while ((pid = waitpid(-1, &status, WNOHANG)) > 0)
				master_reap(pid, status, stopping, cf, nworkers, &oldmask, &alive);
			break;
		case SIGHUP:
			if (!stopping)
				cf = master_reload(cf, nworkers, &oldmask, &alive);
			break;
		case SIGTERM:
		case SIGINT:
			if (!stopping) {
				/* the workers close theirs as they drain: new connections are refused, not queued */
				server_close_listeners(gen_fds, cf->nlisten);
				memset(gen_fds, -1, sizeof(gen_fds));
			}
			stopping = 1;
			/* FALLTHROUGH */
		default:
			for (i = 0; i < nworkers; i++)
				if (worker_pids[i] > 0)
					kill(worker_pids[i], sig);
			for (i = 0; i < nold; i++)
				kill(old_pids[i], sig);
			if (sig == SIGUSR1)
				log_reopen();
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
	/* always: link budgets count in it even with one worker, across reloads */
	if ((quota_shm = quotashm_new()) == NULL)
		fatal("mmap");
	/* one worker runs in this process, unless it must drop privileges:
	   then a root parent rereads root's files on SIGHUP */
	if (single)
		return worker_run(cf, 0, 1, NULL);
	rc = master_run(&cf, nworkers);
	conf_unref(cf);
	munmap(all_stats, sizeof(*all_stats) * (size_t)nslots);
	return rc;
}
