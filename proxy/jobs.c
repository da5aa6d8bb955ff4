/*
 * jobs: one worker thread, two queues, a pipe to wake the event loop.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

#include <event2/event.h>

#include "proxy/jobs.h"
#include "proxy/log.h"

TAILQ_HEAD(job_queue, job);

static pthread_mutex_t	 jobs_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t	 jobs_cond = PTHREAD_COND_INITIALIZER;
static struct job_queue	 jobs_todo = TAILQ_HEAD_INITIALIZER(jobs_todo);
static struct job_queue	 jobs_done = TAILQ_HEAD_INITIALIZER(jobs_done);
static int		 jobs_pipe[2] = { -1, -1 };
static struct event	*jobs_ev;
static pthread_t	 jobs_thread;
static int		 jobs_running;
static int		 jobs_stop;

static void *
jobs_main(void *arg)
{
	struct job *j;
	char b = 1;

	for (;;) {
		pthread_mutex_lock(&jobs_lock);
		while (TAILQ_EMPTY(&jobs_todo) && !jobs_stop)
			pthread_cond_wait(&jobs_cond, &jobs_lock);
		if ((j = TAILQ_FIRST(&jobs_todo)) == NULL) {
			pthread_mutex_unlock(&jobs_lock);
			break;
		}
		TAILQ_REMOVE(&jobs_todo, j, entry);
		pthread_mutex_unlock(&jobs_lock);

		j->run(j);

		pthread_mutex_lock(&jobs_lock);
		TAILQ_INSERT_TAIL(&jobs_done, j, entry);
		pthread_mutex_unlock(&jobs_lock);
		if (write(jobs_pipe[1], &b, 1) == -1 && errno != EAGAIN)
			log_warn("jobs: wake-up pipe");
	}
	return NULL;
}

/* On the event loop: hand finished jobs back. */
static void
jobs_done_cb(evutil_socket_t fd, short what, void *arg)
{
	struct job_queue done = TAILQ_HEAD_INITIALIZER(done);
	struct job *j;
	char buf[64];

	while (read(fd, buf, sizeof(buf)) > 0)
		;
	pthread_mutex_lock(&jobs_lock);
	TAILQ_CONCAT(&done, &jobs_done, entry);
	pthread_mutex_unlock(&jobs_lock);
	while ((j = TAILQ_FIRST(&done)) != NULL) {
		TAILQ_REMOVE(&done, j, entry);
		j->done(j);
	}
}

int
jobs_init(struct event_base *base)
{
	if (jobs_running)
		return 0;
	if (pipe2(jobs_pipe, O_NONBLOCK | O_CLOEXEC) == -1)
		return -1;
	jobs_ev = event_new(base, jobs_pipe[0], EV_READ | EV_PERSIST, jobs_done_cb, NULL);
	if (jobs_ev == NULL || event_add(jobs_ev, NULL) == -1)
		return -1;
	if (pthread_create(&jobs_thread, NULL, jobs_main, NULL) != 0)
		return -1;
	jobs_running = 1;
	return 0;
}

void
jobs_submit(struct job *j)
{
	pthread_mutex_lock(&jobs_lock);
	TAILQ_INSERT_TAIL(&jobs_todo, j, entry);
	pthread_cond_signal(&jobs_cond);
	pthread_mutex_unlock(&jobs_lock);
}

void
jobs_shutdown(void)
{
	struct job *j;

	if (!jobs_running)
		return;
	pthread_mutex_lock(&jobs_lock);
	jobs_stop = 1;
	pthread_cond_signal(&jobs_cond);
	pthread_mutex_unlock(&jobs_lock);
	pthread_join(jobs_thread, NULL);
	jobs_running = 0;
	/* anything left (finished or never started) is handed back once */
	while ((j = TAILQ_FIRST(&jobs_todo)) != NULL) {
		TAILQ_REMOVE(&jobs_todo, j, entry);
		j->owner = NULL;
		j->done(j);
	}
	jobs_done_cb(jobs_pipe[0], 0, NULL);
	event_free(jobs_ev);
	jobs_ev = NULL;
	close(jobs_pipe[0]);
	close(jobs_pipe[1]);
	jobs_pipe[0] = jobs_pipe[1] = -1;
}
