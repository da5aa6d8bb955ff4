/*
 * s3gate: an S3-aware policy enforcement proxy.
 *
 *   s3gate -c FILE      run in the foreground
 *   s3gate -t -c FILE   check FILE and the files it names
 *   s3gate -V           version and build options
 */
#include <sys/mman.h>
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
#include "proxy/log.h"
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

/* Runs one worker: its own event loop, listeners bound with SO_REUSEPORT. */
static int
worker_run(struct conf *cf, int worker, struct server_stats *stats, int nworkers)
{
	struct sbuf errors = SBUF_INIT;
	struct server *srv;

	if ((srv = server_new(cf, worker, stats, nworkers, &errors)) == NULL) {
		fputs(errors.data, stderr);
		sbuf_free(&errors);
		return 1;
	}
	if (cf->user != NULL && geteuid() == 0)
		drop_privileges(cf->user);
	if (worker == 0)
		log_info("s3gate %s started, %d worker%s, backend %s", S3GATE_VERSION, nworkers,
		    nworkers == 1 ? "" : "s", srv->conf->backend_url);
	server_run(srv);
	server_free(srv);
	return 0;
}

static pid_t
worker_spawn(struct conf *cf, int worker, struct server_stats *stats, int nworkers,
    const sigset_t *oldmask)
{
	pid_t pid;

	if ((pid = fork()) == -1) {
		log_warn("fork");
		return -1;
	}
	if (pid == 0) {
		sigprocmask(SIG_SETMASK, oldmask, NULL);
		_exit(worker_run(cf, worker, stats, nworkers));
	}
	return pid;
}

/*
 * The parent of several workers: forwards signals, restarts a worker that
 * dies, and exits when all have stopped after SIGTERM/SIGINT.
 */
static int
master_run(struct conf *cf, struct server_stats *stats, int nworkers)
{
	sigset_t mask, oldmask;
	int i, sig, status, stopping = 0, alive = 0;
	pid_t pid;

	sigemptyset(&mask);
	sigaddset(&mask, SIGHUP);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGUSR1);
	sigaddset(&mask, SIGCHLD);
	sigprocmask(SIG_BLOCK, &mask, &oldmask);
	for (i = 0; i < nworkers; i++)
		if ((worker_pids[i] = worker_spawn(cf, i, stats, nworkers, &oldmask)) > 0)
			alive++;
	while (alive > 0) {
		if (sigwait(&mask, &sig) != 0)
			continue;
		if (sig == SIGCHLD) {
			while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
				for (i = 0; i < nworkers; i++) {
					if (worker_pids[i] != pid)
						continue;
					worker_pids[i] = 0;
					alive--;
					if (!stopping) {
						log_warnx("worker %d (pid %d) exited (status %d); restarting",
						    i, (int)pid, status);
						sleep(1);	/* no busy loop if it dies at once */
						if ((worker_pids[i] = worker_spawn(cf, i, stats, nworkers,
						    &oldmask)) > 0)
							alive++;
					}
				}
			}
			continue;
		}
		if (sig == SIGTERM || sig == SIGINT)
			stopping = 1;
		for (i = 0; i < nworkers; i++)
			if (worker_pids[i] > 0)
				kill(worker_pids[i], sig);
	}
	return 0;
}

int
main(int argc, char **argv)
{
	struct sbuf errors = SBUF_INIT;
	const char *file = NULL;
	struct server_stats *stats;
	struct conf *cf;
	int ch, check = 0, nworkers, rc;

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
	nworkers = cf->workers > 0 ? cf->workers : (int)sysconf(_SC_NPROCESSORS_ONLN);
	if (nworkers < 1)
		nworkers = 1;
	if (nworkers > MAX_WORKERS)
		nworkers = MAX_WORKERS;
	stats = mmap(NULL, sizeof(*stats) * (size_t)nworkers, PROT_READ | PROT_WRITE,
	    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (stats == MAP_FAILED)
		fatal("mmap");
	tls_init_ticket_secret();	/* before fork: every worker derives the same ticket keys */
	if (nworkers == 1)
		return worker_run(cf, 0, stats, 1);
	rc = master_run(cf, stats, nworkers);
	conf_unref(cf);
	munmap(stats, sizeof(*stats) * (size_t)nworkers);
	return rc;
}
