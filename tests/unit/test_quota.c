/*
 * test_quota: the per-principal buckets (proxy/quota.h), the limits a
 * principal gets (config defaults merged with its overrides, then a
 * worker's share; a change applied to an entry) and the shared mode's
 * arithmetic: the allowance left from two one-second windows, and how a
 * sync's answer gates a worker's buckets.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "policy/policy.h"
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

/* Defaults 100 req/s, 20 MiB/s, 8 at once; what each override gives. */
static const struct {
	const char	*name;
	struct policy_quota over;
	double		 rate, bandwidth;
	uint32_t	 connections;
} merge_cases[] = {
	{ "no override: the defaults", { 0, 0, 0, 0 }, 100, 20971520, 8 },
	{ "rate only", { POLICY_QUOTA_RATE, 50, 0, 0 }, 50, 20971520, 8 },
	{ "bandwidth only", { POLICY_QUOTA_BANDWIDTH, 0, 10485760, 0 }, 100, 10485760, 8 },
	{ "connections only", { POLICY_QUOTA_CONNECTIONS, 0, 0, 2 }, 100, 20971520, 2 },
	{ "0 set: no limit, explicitly", { POLICY_QUOTA_RATE | POLICY_QUOTA_CONNECTIONS, 0, 0, 0 },
	    0, 20971520, 0 },
	{ "values of fields not set are ignored", { POLICY_QUOTA_BANDWIDTH, 7, 1048576, 9 }, 100,
	    1048576, 8 },
	{ "all three", { POLICY_QUOTA_RATE | POLICY_QUOTA_BANDWIDTH | POLICY_QUOTA_CONNECTIONS,
	    1000, 1073741824, 64 }, 1000, 1073741824, 64 },
};

static void
test_limits(void)
{
	const struct quota_limits defaults = { 100, 20971520, 8, 0 }, none = { 0, 0, 0, 0 };
	struct quota_limits got, share;
	struct quota_table t = { { NULL } };
	struct quota_entry *q;
	struct policy_quota over;
	size_t i;

	for (i = 0; i < sizeof(merge_cases) / sizeof(merge_cases[0]); i++) {
		quota_limits_merge(&got, &defaults, &merge_cases[i].over);
		T_OK(got.request_rate == merge_cases[i].rate && got.bandwidth ==
		    merge_cases[i].bandwidth && got.connections == merge_cases[i].connections,
		    "merge: %s (got %g req/s, %g B/s, %u)", merge_cases[i].name, got.request_rate,
		    got.bandwidth, got.connections);
	}
	quota_limits_merge(&got, &defaults, NULL);
	T_OK(got.request_rate == 100 && got.connections == 8, "merge: NULL override");
	memset(&over, 0, sizeof(over));
	over.set = POLICY_QUOTA_BANDWIDTH;
	over.bandwidth = 4096;
	quota_limits_merge(&got, &none, &over);
	T_OK(quota_limits_any(&got) && got.bandwidth == 4096 && got.request_rate == 0,
	    "merge: an override limits a principal when the config sets no default");
	T_OK(!quota_limits_any(&none), "no defaults, no override: nothing to enforce");

	quota_limits_share(&share, &defaults, 4, 0);
	T_OK(share.request_rate == 25 && share.bandwidth == 5242880 && share.connections == 2 &&
	    !share.shared, "share: per process, each of 4 workers takes a quarter");
	quota_limits_share(&share, &defaults, 3, 1);
	T_OK(share.request_rate == 100 && share.bandwidth == 20971520 && share.connections == 3 &&
	    share.shared, "share: shared, rate and bandwidth whole; connections 8/3 rounded up");
	quota_limits_share(&share, &defaults, 0, 0);
	T_OK(share.request_rate == 100, "share: 0 workers counts as 1");

	/* an entry follows its principal's latest limits */
	q = quota_get(&t, "bob", 10);
	T_OK(q != NULL && q->limits.request_rate == 0 && q->limits.bandwidth == 0,
	    "a new entry has no limits");
	quota_set_limits(q, &defaults, 1, 0, 10);
	T_OK(q->req_tokens == 100 && q->byte_tokens[QUOTA_OUT] == 20971520 / 8 &&
	    q->whole.request_rate == 100, "limits set: a full burst to start with");
	q->req_tokens = 40;
	memset(&over, 0, sizeof(over));
	over.set = POLICY_QUOTA_RATE;
	over.request_rate = 5;
	quota_limits_merge(&got, &defaults, &over);
	quota_set_limits(q, &got, 1, 0, 10);
	T_OK(q->limits.request_rate == 5 && q->req_tokens == 5,
	    "lowered: tokens saved under the old rate are cut to the new burst");
	q->req_tokens = 2;
	over.request_rate = 50;
	quota_limits_merge(&got, &defaults, &over);
	quota_set_limits(q, &got, 1, 0, 10.5);
	T_OK(q->limits.request_rate == 50 && q->req_tokens == 4.5,
	    "raised: tokens kept (2 + 0.5 s at the old 5/s), refilling at the new rate (got %g)",
	    q->req_tokens);
	over.request_rate = 0;
	quota_limits_merge(&got, &defaults, &over);
	quota_set_limits(q, &got, 1, 0, 10.5);
	T_OK(q->limits.request_rate == 0, "override 0: no rate limit for this principal");
	{
		double retry = 0;
		int n;

		for (n = 0; n < 1000 && quota_take_request(q, 10.5, &retry); n++)
			;
		T_OK(n == 1000, "override 0: 1000 requests at once pass");
	}
	over.set = 0;
	quota_limits_merge(&got, &defaults, &over);
	quota_set_limits(q, &got, 1, 0, 10.5);
	T_OK(q->limits.request_rate == 100 && q->req_tokens == 100,
	    "override cleared: the default again, a limit that was none starts full");
	quota_set_limits(q, &got, 2, 0, 10.5);
	T_OK(q->limits.request_rate == 50 && q->limits.connections == 4 && q->whole.request_rate == 100,
	    "two workers: the entry enforces half, and keeps the whole figure for sharing");
	got = q->whole;
	quota_set_limits(q, &got, 2, 1, 10.5);
	T_OK(q->limits.request_rate == 100 && q->limits.shared,
	    "quotasync up: the same entry switches to the whole (shared) limits");
	/* a principal pushed out of the workers' shared table (quotashm) */
	quota_shared_slot(q, 0, 4, 11);
	T_OK(q->no_shared_slot && q->limits.request_rate == 25 && !q->limits.shared,
	    "no shared slot: four workers each enforce a quarter, not the whole each");
	quota_shared_slot(q, 0, 4, 11.5);
	T_OK(q->limits.request_rate == 25, "... and stay at their share while there is none");
	quota_shared_slot(q, 1, 4, 12);
	T_OK(!q->no_shared_slot && q->limits.request_rate == 100 && q->limits.shared,
	    "a slot again: back to the whole, shared budget");
	quota_table_free(&t);
}

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

	test_limits();

	q = quota_get(&t, "alice", 100);
	T_OK(q != NULL && quota_get(&t, "alice", 100) == q, "one entry per principal");
	quota_set_limits(q, &l, 1, 1, 100);

	/* not synced yet: the local bucket alone (burst: one second's worth) */
	for (n = 0; quota_take_request(q, 100, &retry); n++)
		;
	T_OK(n == 10, "unsynced: the bucket's burst of 10 passes (got %d)", n);
	T_OK(q->sync_used[QUOTA_KIND_REQ] == 10 && q->touched, "spent requests are counted for the sync");

	/* a sync says 3 are left globally; 1 was spent since the batch left */
	q->sync_used[QUOTA_KIND_REQ] = 1;
	q->req_tokens = 10;
	quota_sync_apply(q, QUOTA_KIND_REQ, 3, 101);
	T_OK(q->allow[QUOTA_KIND_REQ] == 2, "allowance minus what was spent since the batch left");
	for (n = 0; quota_take_request(q, 101, &retry); n++)
		;
	T_OK(n == 2, "synced: the shared budget gates the bucket (got %d)", n);
	T_OK(retry >= 1, "Retry-After at least a second when the shared budget is out");

	/* a stale allowance no longer gates: the bucket does (overshoot bound) */
	T_OK(quota_take_request(q, 101 + QUOTA_SYNC_STALE + 0.1, &retry),
	    "a stale allowance does not gate");

	/* not shared (Redis down): allow[] is ignored */
	quota_set_limits(q, &l, 1, 0, 101);
	q->req_tokens = 5;
	T_OK(quota_take_request(q, 101.01, &retry), "per process: the shared budget is ignored");
	quota_set_limits(q, &l, 1, 1, 101.01);

	/* bytes: the allowance caps what may move, and a spent one waits for a sync */
	q->byte_tokens[QUOTA_OUT] = 1048576;
	q->sync_used[QUOTA_KIND_BYTES + QUOTA_OUT] = 0;
	quota_sync_apply(q, QUOTA_KIND_BYTES + QUOTA_OUT, 4096, 200);
	T_OK(quota_bytes_allowed(q, QUOTA_OUT, 200, &wait) == 4096, "bytes capped by the allowance");
	quota_bytes_used(q, QUOTA_OUT, 4096);
	T_OK(q->sync_used[QUOTA_KIND_BYTES + QUOTA_OUT] == 4096, "spent bytes are counted for the sync");
	wait = 0;
	T_OK(quota_bytes_allowed(q, QUOTA_OUT, 200, &wait) == 0 &&
	    fabs(wait - QUOTA_GATED_WAIT_MS / 1000.0) < 1e-9, "no allowance: wait for a sync");
	quota_sync_apply(q, QUOTA_KIND_BYTES + QUOTA_IN, 1048576, 200);
	T_OK(quota_bytes_allowed(q, QUOTA_IN, 200, &wait) > 0, "the other direction is apart");

	quota_table_free(&t);
	return T_DONE();
}
