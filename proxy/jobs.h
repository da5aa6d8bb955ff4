/*
 * jobs: work that may block (the policy store's admin writes: file locks
 * and fsync, or blocking hiredis) runs on one background thread, never on
 * the event loop.  A job's run() executes on that thread and touches only
 * the job; its done() runs back on the event loop.
 *
 * Used by the self-service API (/_s3gate/...), whose writes are rare.
 */
#ifndef S3GATE_JOBS_H
#define S3GATE_JOBS_H

#include <sys/queue.h>

struct event_base;

struct job {
	void			(*run)(struct job *);	/* background thread */
	void			(*done)(struct job *);	/* event loop; owns and frees the job */
	void			*owner;			/* NULL once the owner went away */
	TAILQ_ENTRY(job)	 entry;
};

int	 jobs_init(struct event_base *);
void	 jobs_submit(struct job *);
/* Stops the thread after the running job; pending jobs are done() as they are. */
void	 jobs_shutdown(void);

#endif
