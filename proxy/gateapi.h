/*
 * gateapi: s3gate's own HTTP API under /_s3gate/ on the client listeners
 * (INTERFACE.md): presigned links it issues, and self-service sharing.
 * Requests are SigV4-signed like any S3 request and authenticated by
 * auth.c first; bodies are small JSON (at most GATEAPI_MAX_BODY), checked
 * against the signed payload hash; answers are JSON, errors S3 XML.
 *
 * Reads come from the policy store through its normal (cached, async)
 * interface; writes go through the admin commands (policy/admin.h) on the
 * jobs thread, so the event loop never blocks on a store write.
 */
#ifndef S3GATE_GATEAPI_H
#define S3GATE_GATEAPI_H

#define GATEAPI_MAX_BODY	(64 * 1024)

struct conn;
struct gateapi_request;

/* The request is authenticated and names /_s3gate/...: route it. Returns like a conn handler. */
int	 gateapi_begin(struct conn *);
/* CONN_API_BODY: reads the body; then runs the route. */
int	 gateapi_read_body(struct conn *);
/* AUTH_STAGE_API: the next step of the route (store answers, job results). */
int	 gateapi_step(struct conn *);
/*
 * Whether the operator's bucket_create pattern lets the caller create the
 * request's bucket (admin_bucket_pattern_match(): the principal's name is
 * taken literally).  Links never create buckets.
 */
int	 gateapi_bucket_create_allowed(const struct conn *);
/* CreateBucket allowed by bucket_create: run it. Returns like a conn handler. */
int	 gateapi_create_bucket(struct conn *);
/* Frees the request's API state; a job still running is disowned. */
void	 gateapi_free(struct conn *);

#endif
