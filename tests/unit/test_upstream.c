/*
 * test_upstream: the backend's addresses (proxy/upstream.h): added once
 * each and named for logs, dialled in turn, an address that failed skipped
 * for the fail timeout and the next one dialled, every address tried once
 * per request, the one down longest tried when all are down, up again
 * after an answer or when its time is over (after a failed connect: a
 * connect taken, the readiness probe's), never down with a timeout of 0;
 * whether an address is left untried; a new lookup's addresses taken in its
 * order, those kept keeping their down time and saying where they went
 * (the pool's connections follow), the same set leaving all as it was; the
 * failures' names (the metric's reason label).
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

#include "proxy/upstream.h"
#include "tests/unit/testlib.h"

static void
add4(struct upstream *u, const char *ip, int port)
{
	struct sockaddr_in s4;

	memset(&s4, 0, sizeof(s4));
	s4.sin_family = AF_INET;
	s4.sin_port = htons((uint16_t)port);
	inet_pton(AF_INET, ip, &s4.sin_addr);
	T_OK(upstream_add(u, (struct sockaddr *)&s4, sizeof(s4)) == 0, "add %s:%d", ip, port);
}

/* The indexes of the next N picks of a request each (nothing tried), as "0 1 2 ". */
static const char *
turns(struct upstream *u, int64_t now, int n)
{
	static char out[128];
	int i;

	out[0] = '\0';
	for (i = 0; i < n; i++)
		snprintf(out + strlen(out), sizeof(out) - strlen(out), "%d ", upstream_pick(u, now, 0));
	return out;
}

int
main(void)
{
	struct upstream u;
	struct sockaddr_in6 s6;
	int i;

	memset(&u, 0, sizeof(u));
	T_OK(upstream_pick(&u, 1000, 0) == -1, "no address: none picked");
	add4(&u, "10.0.0.1", 7480);
	add4(&u, "10.0.0.2", 7480);
	add4(&u, "10.0.0.1", 7480);
	add4(&u, "10.0.0.1", 7481);
	T_OK(u.n == 3, "a repeated address is added once (%d)", u.n);
	T_STREQ(u.addr[0].text, "10.0.0.1:7480", "an IPv4 address's text");
	memset(&s6, 0, sizeof(s6));
	s6.sin6_family = AF_INET6;
	s6.sin6_port = htons(443);
	inet_pton(AF_INET6, "fd00::7", &s6.sin6_addr);
	T_OK(upstream_add(&u, (struct sockaddr *)&s6, sizeof(s6)) == 0 && u.n == 4, "an IPv6 address");
	T_STREQ(u.addr[3].text, "[fd00::7]:443", "an IPv6 address's text, bracketed");

	T_STREQ(turns(&u, 1000, 6), "0 1 2 3 0 1 ", "new connections go round the addresses");

	/* 1 fails at 2000: skipped for 10 s */
	T_OK(upstream_failed(&u, 1, UPSTREAM_FAIL_CONNECT, 2000, 10000) == 1, "a failure of an address that was up says so");
	T_OK(!upstream_is_up(&u, 1, 2001) && upstream_is_up(&u, 1, 12000), "down for the fail timeout");
	T_OK(upstream_failed(&u, 1, UPSTREAM_FAIL_CONNECT, 3000, 10000) == 0 && u.addr[1].down_until_ms == 13000,
	    "a failure while down extends it, and does not count as going down");
	u.next = 0;
	T_STREQ(turns(&u, 5000, 6), "0 2 3 0 2 3 ", "a down address is skipped");
	T_STREQ(turns(&u, 13000, 4), "0 1 2 3 ", "dialled again once its time is over");

	/* one request: what it tried is not dialled again, and every address once at most */
	u.next = 0;
	T_OK(upstream_pick(&u, 14000, 1u << 0) == 1, "the next untried address after a failure");
	T_OK(upstream_pick(&u, 14000, 0xf) == -1, "every address tried: none");
	T_OK(upstream_untried(&u, 0x7) && upstream_untried(&u, 0) && !upstream_untried(&u, 0xf),
	    "an untried address is left until all four are tried");
	T_OK(!upstream_untried(&u, 0xffffffffu), "... and none past the last");

	/* all down: the one down longest first, not refused */
	for (i = 0; i < 4; i++)
		upstream_failed(&u, i, UPSTREAM_FAIL_CONNECT, 20000 + i * 100, 10000);
	T_OK(upstream_pick(&u, 21000, 0) == 0, "all down: the one down longest (0)");
	T_OK(upstream_pick(&u, 21000, 1u << 0) == 1, "... then the next longest (1)");
	upstream_ok(&u, 2);
	T_OK(upstream_pick(&u, 21000, 0) == 2, "an answer puts an address back at once");

	/* the readiness probe's connect: back up only what failed a connect */
	T_OK(upstream_connected(&u, 3) == 1 && upstream_is_up(&u, 3, 21000),
	    "a connect taken brings back an address that failed a connect");
	T_OK(upstream_connected(&u, 3) == 0, "... and says nothing of one that is up");
	upstream_failed(&u, 3, UPSTREAM_FAIL_RESET, 21000, 10000);
	T_OK(upstream_connected(&u, 3) == 0 && !upstream_is_up(&u, 3, 21001),
	    "one that closed or reset a request's connection stays down when it takes a connection");
	upstream_failed(&u, 0, UPSTREAM_FAIL_TIMEOUT, 21000, 10000);
	upstream_failed(&u, 1, UPSTREAM_FAIL_STATUS, 21000, 10000);
	T_OK(upstream_connected(&u, 0) == 0 && upstream_connected(&u, 1) == 0 &&
	    !upstream_is_up(&u, 0, 21001) && !upstream_is_up(&u, 1, 21001),
	    "... one that gave no answer in time, or a status that counts, likewise");
	upstream_failed(&u, 3, UPSTREAM_FAIL_CONNECT, 21100, 10000);
	T_OK(upstream_connected(&u, 3) == 1, "the last failure decides: a connect refused since, back up");
	upstream_ok(&u, 0);
	upstream_ok(&u, 1);

	/* backend_fail_timeout 0: never marked down */
	T_OK(upstream_failed(&u, 2, UPSTREAM_FAIL_RESET, 22000, 0) == 0 && upstream_is_up(&u, 2, 22001),
	    "fail timeout 0: the address stays up");

	/* a new lookup: 10.0.0.2 gone, 10.0.0.9 new, 10.0.0.1:7480 kept (down) */
	{
		struct upstream v, fresh, same;
		int remap[UPSTREAM_MAX], untouched[UPSTREAM_MAX];

		memset(&v, 0, sizeof(v));
		add4(&v, "10.0.0.1", 7480);
		add4(&v, "10.0.0.2", 7480);
		upstream_failed(&v, 0, UPSTREAM_FAIL_RESET, 1000, 10000);
		same = v;
		memset(remap, 0x55, sizeof(remap));
		memcpy(untouched, remap, sizeof(remap));
		memset(&fresh, 0, sizeof(fresh));
		add4(&fresh, "10.0.0.2", 7480);
		add4(&fresh, "10.0.0.1", 7480);
		T_OK(upstream_merge(&v, &fresh, remap) == 0 && memcmp(&v, &same, sizeof(v)) == 0 &&
		    memcmp(remap, untouched, sizeof(remap)) == 0,
		    "the same set in another order: nothing changes");
		memset(&fresh, 0, sizeof(fresh));
		add4(&fresh, "10.0.0.9", 7480);
		add4(&fresh, "10.0.0.1", 7480);
		T_OK(upstream_merge(&v, &fresh, remap) == 1 && v.n == 2, "another set: taken");
		T_STREQ(v.addr[0].text, "10.0.0.9:7480", "in the lookup's order");
		T_OK(upstream_is_up(&v, 0, 2000) && !upstream_is_up(&v, 1, 2000) &&
		    v.addr[1].down_until_ms == 11000 && upstream_connected(&v, 1) == 0,
		    "a new address is up, a kept one keeps its down time (and what it failed at)");
		T_OK(remap[0] == 1 && remap[1] == -1 && remap[2] == -1 && remap[UPSTREAM_MAX - 1] == -1,
		    "where they went: 10.0.0.1 from 0 to 1, 10.0.0.2 gone (%d %d %d)",
		    remap[0], remap[1], remap[2]);
		memset(&fresh, 0, sizeof(fresh));
		add4(&fresh, "10.0.0.9", 7480);
		T_OK(upstream_merge(&v, &fresh, NULL) == 1 && v.n == 1 && upstream_pick(&v, 2000, 0) == 0,
		    "fewer addresses: the turn starts over within them (no remap asked)");
	}

	T_STREQ(upstream_fail_name(UPSTREAM_FAIL_CONNECT), "connect", "reason connect");
	T_STREQ(upstream_fail_name(UPSTREAM_FAIL_RESET), "reset", "reason reset");
	T_STREQ(upstream_fail_name(UPSTREAM_FAIL_TIMEOUT), "timeout", "reason timeout");
	T_STREQ(upstream_fail_name(UPSTREAM_FAIL_STATUS), "status", "reason status");
	T_STREQ(upstream_fail_name(UPSTREAM_FAIL_INVALID), "invalid", "reason invalid");

	/* full */
	for (i = 0; i < UPSTREAM_MAX + 2; i++) {
		struct sockaddr_in s4;
		memset(&s4, 0, sizeof(s4));
		s4.sin_family = AF_INET;
		s4.sin_port = htons((uint16_t)(8000 + i));
		(void)upstream_add(&u, (struct sockaddr *)&s4, sizeof(s4));
	}
	T_OK(u.n == UPSTREAM_MAX, "at most UPSTREAM_MAX addresses (%d)", u.n);
	return T_DONE();
}
