/*
 * ticketkeys: forward-secret session ticket keys by period (ticketkeys.h).
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "proxy/ticketkeys.h"

/* HMAC-SHA256(KEY, LABEL) into OUT (32 bytes); labels keep the ratchet and the keys apart. */
static void
ticketkeys_prf(const unsigned char key[TICKETKEYS_SECRET_LEN], const char *label,
    unsigned char out[32])
{
	unsigned int len = 32;

	/* a failure would leave each process with other (uninitialised) keys */
	if (HMAC(EVP_sha256(), key, TICKETKEYS_SECRET_LEN, (const unsigned char *)label,
	    strlen(label), out, &len) == NULL)
		abort();
}

/* The secret of the next period; the one given is overwritten. */
static void
ticketkeys_ratchet(unsigned char secret[TICKETKEYS_SECRET_LEN])
{
	unsigned char next[32];

	ticketkeys_prf(secret, "s3gate ticket ratchet", next);
	memcpy(secret, next, TICKETKEYS_SECRET_LEN);
	explicit_bzero(next, sizeof(next));
}

static void
ticketkeys_derive(const unsigned char secret[TICKETKEYS_SECRET_LEN], uint64_t period,
    struct ticketkeys_set *set)
{
	unsigned char name[32];

	set->period = period;
	ticketkeys_prf(secret, "s3gate ticket name", name);
	memcpy(set->name, name, sizeof(set->name));
	ticketkeys_prf(secret, "s3gate ticket aes", set->aes);
	ticketkeys_prf(secret, "s3gate ticket mac", set->mac);
	explicit_bzero(name, sizeof(name));
}

/* Both key sets from TK's secret: base's from it, base + 1's from the next one. */
static void
ticketkeys_derive_both(struct ticketkeys *tk)
{
	unsigned char next[TICKETKEYS_SECRET_LEN];

	ticketkeys_derive(tk->secret, tk->base, &tk->sets[0]);
	memcpy(next, tk->secret, sizeof(next));
	ticketkeys_ratchet(next);
	ticketkeys_derive(next, tk->base + 1, &tk->sets[1]);
	explicit_bzero(next, sizeof(next));
}

void
ticketkeys_init(struct ticketkeys *tk, const unsigned char secret[TICKETKEYS_SECRET_LEN],
    uint64_t now)
{
	ticketkeys_wipe(tk);
	memcpy(tk->secret, secret, TICKETKEYS_SECRET_LEN);
	tk->base = now > 0 ? now - 1 : 0;
	ticketkeys_derive_both(tk);
	tk->ready = 1;
}

int
ticketkeys_advance(struct ticketkeys *tk, uint64_t now)
{
	uint64_t target, steps;

	if (!tk->ready)
		return -1;
	if (now <= tk->base + 1)
		return 0;	/* this period, or the clock went back: keep what we have */
	target = now - 1;
	steps = target - tk->base;
	if (steps > TICKETKEYS_MAX_STEPS) {
		ticketkeys_wipe(tk);
		return -1;
	}
	while (steps-- > 0)
		ticketkeys_ratchet(tk->secret);
	tk->base = target;
	ticketkeys_derive_both(tk);
	return 0;
}

const struct ticketkeys_set *
ticketkeys_get(const struct ticketkeys *tk, uint64_t period)
{
	int i;

	if (!tk->ready)
		return NULL;
	for (i = 0; i < 2; i++)
		if (tk->sets[i].period == period)
			return &tk->sets[i];
	return NULL;
}

const struct ticketkeys_set *
ticketkeys_find(const struct ticketkeys *tk, const unsigned char name[16], uint64_t now)
{
	const struct ticketkeys_set *set;
	uint64_t back;

	/* the name travels in the clear: comparing it need not be constant-time */
	for (back = 0; back < 2 && back <= now; back++)
		if ((set = ticketkeys_get(tk, now - back)) != NULL &&
		    memcmp(set->name, name, sizeof(set->name)) == 0)
			return set;
	return NULL;
}

void
ticketkeys_wipe(struct ticketkeys *tk)
{
	explicit_bzero(tk, sizeof(*tk));
}
