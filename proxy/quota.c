#include <stdlib.h>
#include <string.h>

#include "policy/policy.h"
#include "proxy/quota.h"

/*
 * Requests may burst one second's worth; bytes an eighth of a second's (at
 * least 64 KiB), so that a long transfer's average sits on the limit.
 */
static double
quota_byte_burst(const struct quota_limits *l)
{
	return l->bandwidth / 8 > 65536 ? l->bandwidth / 8 : 65536;
}

/* Shared mode: 1 if Q's last sync is recent enough for allow[] to gate it. */
static int
quota_gated(const struct quota_entry *q, double now)
{
	return q->limits.shared && q->synced > 0 && now - q->synced <= QUOTA_SYNC_STALE;
}

static void
quota_refill(struct quota_entry *q, double now)
{
	const struct quota_limits *l = &q->limits;
	double dt = now - q->last;
	int d;

	if (dt <= 0)
		return;
	q->last = now;
	if (l->request_rate > 0) {
		q->req_tokens += dt * l->request_rate;
		if (q->req_tokens > l->request_rate)
			q->req_tokens = l->request_rate;
	}
	for (d = 0; d < 2; d++) {
		if (l->bandwidth > 0) {
			q->byte_tokens[d] += dt * l->bandwidth;
			if (q->byte_tokens[d] > quota_byte_burst(l))
				q->byte_tokens[d] = quota_byte_burst(l);
		}
	}
}

void
quota_limits_merge(struct quota_limits *out, const struct quota_limits *defaults,
    const struct policy_quota *override)
{
	*out = *defaults;
	if (override == NULL)
		return;
	if (override->set & POLICY_QUOTA_RATE)
		out->request_rate = (double)override->request_rate;
	if (override->set & POLICY_QUOTA_BANDWIDTH)
		out->bandwidth = (double)override->bandwidth;
	if (override->set & POLICY_QUOTA_CONNECTIONS)
		out->connections = override->connections;
}

int
quota_limits_any(const struct quota_limits *l)
{
	return l->request_rate > 0 || l->bandwidth > 0 || l->connections > 0;
}

void
quota_limits_share(struct quota_limits *out, const struct quota_limits *whole, int nworkers,
    int shared)
{
	uint32_t n = nworkers > 0 ? (uint32_t)nworkers : 1;

	out->shared = shared;
	out->request_rate = whole->request_rate / (shared ? 1 : n);
	out->bandwidth = whole->bandwidth / (shared ? 1 : n);
	out->connections = whole->connections == 0 ? 0 : (whole->connections + n - 1) / n;
}

void
quota_set_limits(struct quota_entry *q, const struct quota_limits *whole, int nworkers,
    int shared, double now)
{
	struct quota_limits l;
	int d;

	q->whole = *whole;
	quota_limits_share(&l, whole, nworkers, shared);
	if (l.request_rate == q->limits.request_rate && l.bandwidth == q->limits.bandwidth &&
	    l.connections == q->limits.connections && l.shared == q->limits.shared)
		return;		/* every request of the principal asks: mostly unchanged */
	quota_refill(q, now);	/* what the old rates gave until now */
	if (q->limits.request_rate <= 0 || q->req_tokens > l.request_rate)
		q->req_tokens = l.request_rate;
	for (d = 0; d < 2; d++)
		if (q->limits.bandwidth <= 0 || q->byte_tokens[d] > quota_byte_burst(&l))
			q->byte_tokens[d] = quota_byte_burst(&l);
	q->limits = l;
}

void
quota_shared_slot(struct quota_entry *q, int found, int nworkers, double now)
{
	if (found == !q->no_shared_slot)
		return;
	q->no_shared_slot = !found;
	quota_set_limits(q, &q->whole, nworkers, found, now);
}

struct quota_entry *
quota_get(struct quota_table *t, const char *principal, double now)
{
	uint32_t h = 2166136261u;
	const unsigned char *p;
	struct quota_entry *q;

	for (p = (const unsigned char *)principal; *p; p++)
		h = (h ^ *p) * 16777619u;
	for (q = t->slots[h % QUOTA_SLOTS]; q != NULL; q = q->next)
		if (strcmp(q->principal, principal) == 0)
			return q;
	if ((q = calloc(1, sizeof(*q))) == NULL || (q->principal = strdup(principal)) == NULL) {
		free(q);
		return NULL;
	}
	q->last = now;
	q->next = t->slots[h % QUOTA_SLOTS];
	t->slots[h % QUOTA_SLOTS] = q;
	return q;
}

int
quota_take_request(struct quota_entry *q, double now, double *retry_after)
{
	const struct quota_limits *l = &q->limits;

	q->touched = 1;
	if (l->request_rate <= 0)
		return 1;
	quota_refill(q, now);
	if (quota_gated(q, now) && q->allow[QUOTA_KIND_REQ] < 1) {
		*retry_after = 1;	/* the shared budget frees up within the second */
		return 0;
	}
	if (q->req_tokens >= 1) {
		q->req_tokens -= 1;
		q->allow[QUOTA_KIND_REQ] -= 1;
		q->sync_used[QUOTA_KIND_REQ]++;
		return 1;
	}
	*retry_after = (1 - q->req_tokens) / l->request_rate;
	return 0;
}

uint64_t
quota_bytes_allowed(struct quota_entry *q, enum quota_dir d, double now, double *wait)
{
	const struct quota_limits *l = &q->limits;
	double avail;

	q->touched = 1;
	if (l->bandwidth <= 0)
		return UINT64_MAX;
	quota_refill(q, now);
	avail = q->byte_tokens[d];
	if (quota_gated(q, now) && q->allow[QUOTA_KIND_BYTES + d] < avail) {
		avail = q->allow[QUOTA_KIND_BYTES + d];
		if (avail < 1) {
			*wait = QUOTA_GATED_WAIT_MS / 1000.0;	/* a sync may free some */
			return 0;
		}
	}
	if (avail >= 1)
		return (uint64_t)avail;
	/* wait until a useful amount (a 64th of a second's worth, at least 4 KiB) is there */
	{
		double want = l->bandwidth / 64 > 4096 ? l->bandwidth / 64 : 4096;
		*wait = (want - q->byte_tokens[d]) / l->bandwidth;
	}
	return 0;
}

void
quota_bytes_used(struct quota_entry *q, enum quota_dir d, uint64_t n)
{
	if (q->limits.bandwidth > 0) {
		q->byte_tokens[d] -= (double)n;
		q->allow[QUOTA_KIND_BYTES + d] -= (double)n;
		q->sync_used[QUOTA_KIND_BYTES + d] += n;
	}
}

double
quota_kind_limit(const struct quota_entry *q, enum quota_kind k)
{
	return k == QUOTA_KIND_REQ ? q->whole.request_rate : q->whole.bandwidth;
}

double
quota_window_allowance(double limit, double cur, double prev, double frac)
{
	double est;

	if (frac < 0)
		frac = 0;
	if (frac > 1)
		frac = 1;
	est = cur + prev * (1 - frac);
	return limit > est ? limit - est : 0;
}

void
quota_sync_apply(struct quota_entry *q, enum quota_kind k, double allowance, double now)
{
	q->allow[k] = allowance - (double)q->sync_used[k];
	q->synced = now;
}

void
quota_table_free(struct quota_table *t)
{
	struct quota_entry *q, *next;
	int i;

	for (i = 0; i < QUOTA_SLOTS; i++) {
		for (q = t->slots[i]; q != NULL; q = next) {
			next = q->next;
			free(q->principal);
			free(q);
		}
		t->slots[i] = NULL;
	}
}
