/*
 * auth: who is making a request and whether they may make it -- the
 * authentication and authorisation stages a connection runs in
 * CONN_AUTH_WAIT (auth.c describes each stage and why it may wait).
 */
#ifndef S3GATE_AUTH_H
#define S3GATE_AUTH_H

struct conn;

/* Where a request is in auth_run(); kept on the connection (c->auth_stage) across waits. */
enum auth_stage {
	AUTH_STAGE_PARSE,	/* signature form, clock, expiry */
	AUTH_STAGE_PREFLIGHT,	/* store: a CORS preflight's bucket is known (no signature) */
	AUTH_STAGE_CREDENTIAL,	/* store: access key id -> credential */
	AUTH_STAGE_VERIFY,	/* signature, token, action */
	AUTH_STAGE_LIST_BUCKETS,	/* store: ListBuckets answered here */
	AUTH_STAGE_ACCESS,	/* store: (principal, bucket) -> access; decide */
	AUTH_STAGE_COPY_ACCESS,	/* store: read on a copy's source bucket */
	AUTH_STAGE_API,		/* /_s3gate/...: gateapi.c's own steps */
	AUTH_STAGE_BODY_KEYS,	/* DeleteObjects under a prefix grant: every key checked */
	AUTH_STAGE_DONE,
};

/*
 * CONN_AUTH_WAIT: runs the stages from c->auth_stage on until the request
 * is answered, allowed (then handed to conn_backend_start()), or must wait
 * for the store or for a body.  Returns like a conn handler: 1 when the
 * connection changed state, 0 when it waits.
 */
int	auth_run(struct conn *);

/*
 * A CORS preflight refused (no such bucket, or the backend's CORS rules do
 * not allow it): one 403 for every cause.
 */
int	auth_preflight_refuse(struct conn *);

/* Object lock a CopyObject's principal may not set (c->copy_lock_missing). */
#define COPY_LOCK_RETENTION	0x01	/* PutObjectRetention */
#define COPY_LOCK_LEGAL_HOLD	0x02	/* PutObjectLegalHold */
#define COPY_LOCK_UNSEEN	0x04	/* the backend did not say: taken as both */

/*
 * The probe of a copy's source bucket found LOCK (COPY_LOCK_*: the object
 * lock its objects may carry, which Ceph RGW copies to the destination):
 * refuses the copy if the principal may not set any of it, else sends it
 * to the backend.
 * Returns like a conn handler.
 */
int	auth_copy_lock_verdict(struct conn *, unsigned lock);

#endif
