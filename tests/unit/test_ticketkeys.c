/*
 * test_ticketkeys: the session ticket keys of every process agree, whenever
 * each was started and however it moved forward; a process keeps the keys
 * of the current and the previous period and nothing older; a clock set
 * back or flung forward does not mint keys it should not.
 */
#include <stdio.h>
#include <string.h>

#include "proxy/ticketkeys.h"
#include "tests/unit/testlib.h"

#define T0	500000	/* an hour of 2027, as periods since the epoch */

static const unsigned char secret[TICKETKEYS_SECRET_LEN] = "0123456789abcdef0123456789abcde";

static int
same_set(const struct ticketkeys_set *a, const struct ticketkeys_set *b)
{
	return a != NULL && b != NULL && a->period == b->period &&
	    memcmp(a->name, b->name, sizeof(a->name)) == 0 &&
	    memcmp(a->aes, b->aes, sizeof(a->aes)) == 0 &&
	    memcmp(a->mac, b->mac, sizeof(a->mac)) == 0;
}

/* Whether the NEEDLE_LEN bytes at NEEDLE occur anywhere in TK. */
static int
holds(const struct ticketkeys *tk, const unsigned char *needle, size_t needle_len)
{
	const unsigned char *p = (const unsigned char *)tk;
	size_t i;

	for (i = 0; i + needle_len <= sizeof(*tk); i++)
		if (memcmp(p + i, needle, needle_len) == 0)
			return 1;
	return 0;
}

static void
test_agreement(void)
{
	struct ticketkeys master, stepped, jumped, late;
	uint64_t p;
	int agree = 1;

	ticketkeys_init(&master, secret, T0);
	T_OK(ticketkeys_get(&master, T0) != NULL && ticketkeys_get(&master, T0 - 1) != NULL,
	    "at start: the current and the previous period's keys");
	T_OK(ticketkeys_get(&master, T0 + 1) == NULL && ticketkeys_get(&master, T0 - 2) == NULL,
	    "at start: no other period's");
	T_OK(memcmp(ticketkeys_get(&master, T0)->aes, ticketkeys_get(&master, T0 - 1)->aes, 32) != 0 &&
	    memcmp(ticketkeys_get(&master, T0)->name, ticketkeys_get(&master, T0 - 1)->name, 16) != 0,
	    "two periods, two key sets with two names");
	T_OK(memcmp(ticketkeys_get(&master, T0)->aes, ticketkeys_get(&master, T0)->mac, 32) != 0,
	    "the AES and the HMAC key differ");

	/* a worker forked at T0 ratchets hour by hour; another sleeps 50 hours */
	stepped = master;
	jumped = master;
	for (p = T0 + 1; p <= T0 + 50; p++)
		agree &= ticketkeys_advance(&stepped, p) == 0;
	T_OK(agree, "advance 50 periods one by one");
	T_OK(ticketkeys_advance(&jumped, T0 + 50) == 0, "advance 50 periods at once");
	T_OK(same_set(ticketkeys_get(&stepped, T0 + 50), ticketkeys_get(&jumped, T0 + 50)) &&
	    same_set(ticketkeys_get(&stepped, T0 + 49), ticketkeys_get(&jumped, T0 + 49)),
	    "hour by hour or all at once: the same keys");

	/* a worker forked at T0 + 20 from a master that moved on then */
	late = master;
	T_OK(ticketkeys_advance(&late, T0 + 20) == 0, "the master at T0 + 20");
	for (p = T0 + 21; p <= T0 + 50; p++)
		agree &= ticketkeys_advance(&late, p) == 0;
	T_OK(agree && same_set(ticketkeys_get(&late, T0 + 50), ticketkeys_get(&stepped, T0 + 50)),
	    "a worker forked later reaches the same keys");

	/* two masters with different secrets share nothing */
	{
		static const unsigned char other[TICKETKEYS_SECRET_LEN] = "another secret, of 32 bytes....";
		struct ticketkeys o;

		ticketkeys_init(&o, other, T0);
		T_OK(memcmp(ticketkeys_get(&o, T0)->aes, ticketkeys_get(&master, T0)->aes, 32) != 0,
		    "another secret, other keys");
	}
}

static void
test_forward_secrecy(void)
{
	struct ticketkeys tk, before;
	struct ticketkeys_set old;

	ticketkeys_init(&tk, secret, T0);
	before = tk;
	old = *ticketkeys_get(&tk, T0 - 1);
	T_OK(ticketkeys_advance(&tk, T0 + 1) == 0, "one period on");
	T_OK(ticketkeys_get(&tk, T0 - 1) == NULL && ticketkeys_get(&tk, T0) != NULL &&
	    ticketkeys_get(&tk, T0 + 1) != NULL, "then: this period's and the previous one's keys only");
	T_OK(same_set(ticketkeys_get(&tk, T0), ticketkeys_get(&before, T0)),
	    "the previous period's keys are the ones it used to encrypt with");
	T_OK(!holds(&tk, before.secret, sizeof(before.secret)), "the old secret is gone from memory");
	T_OK(!holds(&tk, old.aes, sizeof(old.aes)) && !holds(&tk, old.mac, sizeof(old.mac)) &&
	    !holds(&tk, old.name, sizeof(old.name)), "so are the keys of two periods ago");

	T_OK(ticketkeys_advance(&tk, T0 + 5) == 0 && ticketkeys_get(&tk, T0 + 3) == NULL &&
	    ticketkeys_get(&tk, T0 + 4) != NULL, "after a jump: nothing between");
}

static void
test_find(void)
{
	struct ticketkeys tk;
	unsigned char name[16];

	ticketkeys_init(&tk, secret, T0);
	memcpy(name, ticketkeys_get(&tk, T0 - 1)->name, 16);
	T_OK(ticketkeys_find(&tk, name, T0) == ticketkeys_get(&tk, T0 - 1),
	    "a ticket of the previous period is found");
	T_OK(ticketkeys_find(&tk, ticketkeys_get(&tk, T0)->name, T0) == ticketkeys_get(&tk, T0),
	    "and one of this period");
	T_OK(ticketkeys_find(&tk, name, T0 + 1) == NULL,
	    "a ticket two periods old is not, even before the keys moved on");
	memset(name, 0x5a, sizeof(name));
	T_OK(ticketkeys_find(&tk, name, T0) == NULL, "an unknown name is not");
}

static void
test_clock(void)
{
	struct ticketkeys tk, before;

	ticketkeys_init(&tk, secret, T0);
	before = tk;
	T_OK(ticketkeys_advance(&tk, T0 - 3) == 0 && memcmp(&tk, &before, sizeof(tk)) == 0,
	    "a clock set back changes nothing");
	T_OK(ticketkeys_get(&tk, T0 - 3) == NULL, "and finds no keys for the earlier period");
	T_OK(ticketkeys_advance(&tk, T0) == 0 && memcmp(&tk, &before, sizeof(tk)) == 0,
	    "advancing to the current period is a no-op");
	{
		struct ticketkeys far = tk;

		T_OK(ticketkeys_advance(&far, T0 + TICKETKEYS_MAX_STEPS) == 0 &&
		    ticketkeys_get(&far, T0 + TICKETKEYS_MAX_STEPS) != NULL,
		    "a jump of TICKETKEYS_MAX_STEPS periods is ratcheted");
	}
	T_OK(ticketkeys_advance(&tk, T0 + TICKETKEYS_MAX_STEPS + 2) == -1 && !tk.ready &&
	    ticketkeys_get(&tk, T0) == NULL, "a longer one (a clock set from 1970) wipes the keys");
	T_OK(ticketkeys_advance(&tk, T0 + 1) == -1, "and they do not come back");
	ticketkeys_init(&tk, secret, 0);
	T_OK(ticketkeys_get(&tk, 0) != NULL, "period 0 (a clock at the epoch) has keys");
}

int
main(void)
{
	test_agreement();
	test_forward_secrecy();
	test_find();
	test_clock();
	return T_DONE();
}
