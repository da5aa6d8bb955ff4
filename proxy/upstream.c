#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "proxy/upstream.h"

/* "ADDR:PORT", "[V6]:PORT" */
static void
upstream_format(const struct sockaddr *sa, char *out, size_t size)
{
	char host[INET6_ADDRSTRLEN] = "?";

	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)sa;
		(void)inet_ntop(AF_INET6, &s6->sin6_addr, host, sizeof(host));
		snprintf(out, size, "[%s]:%u", host, ntohs(s6->sin6_port));
	} else if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)sa;
		(void)inet_ntop(AF_INET, &s4->sin_addr, host, sizeof(host));
		snprintf(out, size, "%s:%u", host, ntohs(s4->sin_port));
	} else
		snprintf(out, size, "(family %d)", sa->sa_family);
}

/* The index of address SA (LEN bytes) in U, or -1. */
static int
upstream_find(const struct upstream *u, const void *sa, socklen_t len)
{
	int i;

	for (i = 0; i < u->n; i++)
		if (u->addr[i].len == len && memcmp(&u->addr[i].ss, sa, len) == 0)
			return i;
	return -1;
}

int
upstream_add(struct upstream *u, const struct sockaddr *sa, socklen_t len)
{
	struct upstream_addr *a;

	if (len > sizeof(a->ss))
		return -1;
	if (upstream_find(u, sa, len) != -1)
		return 0;
	if (u->n == UPSTREAM_MAX)
		return -1;
	a = &u->addr[u->n++];
	memset(a, 0, sizeof(*a));
	memcpy(&a->ss, sa, len);
	a->len = len;
	upstream_format(sa, a->text, sizeof(a->text));
	return 0;
}

const char *
upstream_fail_name(enum upstream_fail why)
{
	static const char *const names[UPSTREAM_FAIL__N] = {
		[UPSTREAM_FAIL_CONNECT] = "connect",
		[UPSTREAM_FAIL_RESET] = "reset",
		[UPSTREAM_FAIL_TIMEOUT] = "timeout",
		[UPSTREAM_FAIL_STATUS] = "status",
		[UPSTREAM_FAIL_INVALID] = "invalid",
	};

	return (unsigned int)why < UPSTREAM_FAIL__N ? names[why] : "?";
}

int
upstream_is_up(const struct upstream *u, int i, int64_t now_ms)
{
	return u->addr[i].down_until_ms == 0 || now_ms >= u->addr[i].down_until_ms;
}

int
upstream_untried(const struct upstream *u, unsigned int tried)
{
	int i;

	for (i = 0; i < u->n; i++)
		if ((tried & (1u << i)) == 0)
			return 1;
	return 0;
}

int
upstream_pick(struct upstream *u, int64_t now_ms, unsigned int tried)
{
	int k, i, longest = -1;

	for (k = 0; k < u->n; k++) {
		i = (int)((u->next + (unsigned int)k) % (unsigned int)u->n);
		if (tried & (1u << i))
			continue;
		if (upstream_is_up(u, i, now_ms)) {
			u->next = (unsigned int)i + 1;
			return i;
		}
		if (longest == -1 || u->addr[i].down_since_ms < u->addr[longest].down_since_ms)
			longest = i;
	}
	return longest;
}

int
upstream_failed(struct upstream *u, int i, enum upstream_fail why, int64_t now_ms,
    int64_t fail_timeout_ms)
{
	struct upstream_addr *a = &u->addr[i];
	int was_up = upstream_is_up(u, i, now_ms);

	if (fail_timeout_ms <= 0)
		return 0;
	if (was_up)
		a->down_since_ms = now_ms;
	a->down_until_ms = now_ms + fail_timeout_ms;	/* NOW_MS > 0: monotonic */
	a->down_why = why;
	return was_up;
}

int
upstream_connected(struct upstream *u, int i)
{
	if (u->addr[i].down_until_ms == 0 || u->addr[i].down_why != UPSTREAM_FAIL_CONNECT)
		return 0;
	upstream_ok(u, i);
	return 1;
}

void
upstream_ok(struct upstream *u, int i)
{
	u->addr[i].down_until_ms = 0;
	u->addr[i].down_since_ms = 0;
}

int
upstream_merge(struct upstream *u, const struct upstream *fresh, int remap[UPSTREAM_MAX])
{
	struct upstream merged;
	int i, j, same = u->n == fresh->n;

	for (i = 0; same && i < fresh->n; i++)
		same = upstream_find(u, &fresh->addr[i].ss, fresh->addr[i].len) != -1;
	if (same)
		return 0;
	memset(&merged, 0, sizeof(merged));
	for (i = 0; remap != NULL && i < UPSTREAM_MAX; i++)
		remap[i] = -1;
	for (i = 0; i < fresh->n; i++) {
		merged.addr[i] = fresh->addr[i];
		if ((j = upstream_find(u, &fresh->addr[i].ss, fresh->addr[i].len)) != -1) {
			merged.addr[i].down_until_ms = u->addr[j].down_until_ms;
			merged.addr[i].down_since_ms = u->addr[j].down_since_ms;
			merged.addr[i].down_why = u->addr[j].down_why;
			if (remap != NULL)
				remap[j] = i;
		}
	}
	merged.n = fresh->n;
	*u = merged;
	return 1;
}
