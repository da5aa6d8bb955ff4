#include <stdlib.h>
#include <string.h>

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

static double quota_byte_burst(const struct quota_limits *);

static void
quota_refill(struct quota_entry *q, const struct quota_limits *l, double now)
{
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

struct quota_entry *
quota_get(struct quota_table *t, const char *principal, double now, const struct quota_limits *l)
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
	q->req_tokens = l->request_rate;
	q->byte_tokens[0] = q->byte_tokens[1] = quota_byte_burst(l);
	q->last = now;
	q->next = t->slots[h % QUOTA_SLOTS];
	t->slots[h % QUOTA_SLOTS] = q;
	return q;
}

int
quota_take_request(struct quota_entry *q, const struct quota_limits *l, double now,
    double *retry_after)
{
	if (l->request_rate <= 0)
		return 1;
	quota_refill(q, l, now);
	if (q->req_tokens >= 1) {
		q->req_tokens -= 1;
		return 1;
	}
	*retry_after = (1 - q->req_tokens) / l->request_rate;
	return 0;
}

uint64_t
quota_bytes_allowed(struct quota_entry *q, const struct quota_limits *l, enum quota_dir d,
    double now, double *wait)
{
	if (l->bandwidth <= 0)
		return UINT64_MAX;
	quota_refill(q, l, now);
	if (q->byte_tokens[d] >= 1)
		return (uint64_t)q->byte_tokens[d];
	/* wait until a useful amount (a 64th of a second's worth, at least 4 KiB) is there */
	{
		double want = l->bandwidth / 64 > 4096 ? l->bandwidth / 64 : 4096;
		*wait = (want - q->byte_tokens[d]) / l->bandwidth;
	}
	return 0;
}

void
quota_bytes_used(struct quota_entry *q, const struct quota_limits *l, enum quota_dir d, uint64_t n)
{
	if (l->bandwidth > 0)
		q->byte_tokens[d] -= (double)n;
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
