/*
 * quotasync: shares the per-principal request rate and bandwidth quotas
 * (quota.h, "shared mode") between the workers of every s3gate on one Redis
 * (policy_store redis, quota_shared on).  One per worker, with its own
 * asynchronous connection (redisstore_async_connect()); never a round trip
 * per request.
 *
 * Every QUOTA_SYNC_MS one pipelined batch goes out for the principals used
 * or asked for since the last one; per principal and kind (req, in, out):
 *   INCRBY {s3gate}:q:PRINCIPAL:KIND:WINDOW SPENT   (WINDOW: Unix second)
 *   EXPIRE {s3gate}:q:PRINCIPAL:KIND:WINDOW 2
 *   GET    {s3gate}:q:PRINCIPAL:KIND:WINDOW-1
 * and the totals set what is left (quota_window_allowance()) of the
 * principal's whole limit: the config's default, or the override the
 * policy store gave with its latest credential lookup.  With nothing
 * to sync, a PING a second keeps the state known.  A batch that fails or
 * takes over a second (the connection is then dropped and retried with
 * backoff) puts the worker back on the per-process share
 * (server_quota_limits()) until a batch succeeds again: fail open.
 */
#ifndef S3GATE_QUOTASYNC_H
#define S3GATE_QUOTASYNC_H

#include "proxy/sbuf.h"

struct server;
struct quotasync;

/* Starts syncing SRV's quota table with the Redis of SRV's config (store_path).
   NULL with the reason in ERRORS. */
struct quotasync *quotasync_new(struct server *, struct sbuf *errors);
/* 1 while the last batch succeeded: the shared budget is in force. */
int		 quotasync_up(const struct quotasync *);
/* A batch is in flight: it refers to links' counts (struct link_usage). */
int		 quotasync_busy(const struct quotasync *);
/* Drops the connection (an in-flight batch is abandoned).  NULL is fine. */
void		 quotasync_free(struct quotasync *);

#endif
