/*
 * test_quota: the per-principal buckets (proxy/quota.h) and the shared
 * mode's arithmetic: the allowance left from two one-second windows, and
 * how a sync's answer gates a worker's buckets.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>

#include "proxy/quota.h"
#include "tests/unit/testlib.h"

static const struct {
	double	 limit, cur, prev, frac, want;
} allowance_cases[] = {
	{ 10, 0, 0, 0.0, 10 },		/* nothing spent anywhere */
	{ 10, 4, 0, 0.5, 6 },
	{ 10, 0, 10, 0.0, 0 },		/* the last second was full: nothing at its end */
	{ 10, 0, 10, 0.5, 5 },		/* half of it has slid out */
	{ 10, 3, 10, 0.9, 6 },
	{ 10, 12, 0, 0.3, 0 },		/* overshot: never below 0 */
	{ 10, 0, 10, 1.5, 10 },		/* FRAC clamped to 0..1 */
	{ 10, 0, 10, -1, 0 },
	{ 20971520, 10485760, 20971520, 0.25, 0 },
	{ 20971520, 1048576, 20971520, 0.75, 20971520 - 1048576 - 5242880 },
};

int
main(void)
{
	struct quota_table t = { { NULL } };
	struct quota_limits l = { 10, 1048576, 0, 1 };
	struct quota_entry *q;
	double retry = 0, wait = 0;
	size_t i;
	int n;

	for (i = 0; i < sizeof(allowance_cases) / sizeof(allowance_cases[0]); i++) {
		double got = quota_window_allowance(allowance_cases[i].limit, allowance_cases[i].cur,
		    allowance_cases[i].prev, allowance_cases[i].frac);
		T_OK(fabs(got - allowance_cases[i].want) < 1e-6,
		    "allowance(limit %g, cur %g, prev %g, frac %g) = %g (got %g)",
		    allowance_cases[i].limit, allowance_cases[i].cur, allowance_cases[i].prev,
		    allowance_cases[i].frac, allowance_cases[i].want, got);
	}

	q = quota_get(&t, "alice", 100, &l);
	T_OK(q != NULL && quota_get(&t, "alice", 100, &l) == q, "one entry per principal");

	/* not synced yet: the local bucket alone (burst: one second's worth) */
	for (n = 0; quota_take_request(q, &l, 100, &retry); n++)
		;
	T_OK(n == 10, "unsynced: the bucket's burst of 10 passes (got %d)", n);
	T_OK(q->sync_used[QUOTA_KIND_REQ] == 10 && q->touched, "spent requests are counted for the sync");

	/* a sync says 3 are left globally; 1 was spent since the batch left */
	q->sync_used[QUOTA_KIND_REQ] = 1;
	q->req_tokens = 10;
	quota_sync_apply(q, QUOTA_KIND_REQ, 3, 101);
	T_OK(q->allow[QUOTA_KIND_REQ] == 2, "allowance minus what was spent since the batch left");
	for (n = 0; quota_take_request(q, &l, 101, &retry); n++)
		;
	T_OK(n == 2, "synced: the shared budget gates the bucket (got %d)", n);
	T_OK(retry >= 1, "Retry-After at least a second when the shared budget is out");

	/* a stale allowance no longer gates: the bucket does (overshoot bound) */
	T_OK(quota_take_request(q, &l, 101 + QUOTA_SYNC_STALE + 0.1, &retry),
	    "a stale allowance does not gate");

	/* not shared (Redis down): allow[] is ignored */
	l.shared = 0;
	q->req_tokens = 5;
	T_OK(quota_take_request(q, &l, 101.01, &retry), "per process: the shared budget is ignored");
	l.shared = 1;

	/* bytes: the allowance caps what may move, and a spent one waits for a sync */
	q->byte_tokens[QUOTA_OUT] = 1048576;
	q->sync_used[QUOTA_KIND_BYTES + QUOTA_OUT] = 0;
	quota_sync_apply(q, QUOTA_KIND_BYTES + QUOTA_OUT, 4096, 200);
	T_OK(quota_bytes_allowed(q, &l, QUOTA_OUT, 200, &wait) == 4096, "bytes capped by the allowance");
	quota_bytes_used(q, &l, QUOTA_OUT, 4096);
	T_OK(q->sync_used[QUOTA_KIND_BYTES + QUOTA_OUT] == 4096, "spent bytes are counted for the sync");
	wait = 0;
	T_OK(quota_bytes_allowed(q, &l, QUOTA_OUT, 200, &wait) == 0 &&
	    fabs(wait - QUOTA_SYNC_MS / 1000.0) < 1e-9, "no allowance: wait for the next sync");
	quota_sync_apply(q, QUOTA_KIND_BYTES + QUOTA_IN, 1048576, 200);
	T_OK(quota_bytes_allowed(q, &l, QUOTA_IN, 200, &wait) > 0, "the other direction is apart");

	quota_table_free(&t);
	return T_DONE();
}
