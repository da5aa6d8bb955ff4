/*
 * ticketkeys: the keys that encrypt TLS session tickets, one set per
 * period (an hour), forward-secret.
 *
 * Every process of one s3gate derives the same keys without talking to
 * the others: each starts from the secret the master made before forking,
 * and moves it forward through a one-way ratchet (secret of period p+1 =
 * HMAC-SHA256(secret of p, "ratchet")), wiping the old one.  So a worker
 * forked hours later, or one that slept, reaches the same keys, and a
 * memory dump of a process reveals the keys of the last two periods (which
 * it must still decrypt with) and nothing older: a ticket recorded off the
 * wire three hours ago cannot be opened with what the process holds now.
 *
 * Pure: no clock and no I/O; the caller passes the period (wall-clock
 * seconds / TICKETKEYS_PERIOD) and calls ticketkeys_advance often enough
 * (at every period boundary) for the promise above to hold.
 */
#ifndef S3GATE_TICKETKEYS_H
#define S3GATE_TICKETKEYS_H

#include <stdint.h>

#define TICKETKEYS_PERIOD	3600	/* seconds one key set encrypts */
#define TICKETKEYS_SECRET_LEN	32
/*
 * Further ahead than this (31 days of hours) the keys are wiped rather than
 * ratcheted to: each step is an HMAC in the event loop (~2 us), and a clock
 * set from 1970 to now would stall every process for a second or two.
 */
#define TICKETKEYS_MAX_STEPS	(31 * 24)

struct ticketkeys_set {
	uint64_t	 period;
	unsigned char	 name[16];	/* sent in the clear with the ticket: which set */
	unsigned char	 aes[32];	/* AES-256-CBC */
	unsigned char	 mac[32];	/* HMAC-SHA256 */
};

/*
 * The state one process holds: the secret of period base (the previous
 * period, whose tickets are still accepted) and the key sets of base and
 * base + 1 (the current period, whose set encrypts).
 */
struct ticketkeys {
	int			 ready;
	uint64_t		 base;
	unsigned char		 secret[TICKETKEYS_SECRET_LEN];
	struct ticketkeys_set	 sets[2];	/* [0]: base, [1]: base + 1 */
};

/* Starts TK at period NOW - 1 from SECRET (the caller wipes its copy). */
void	ticketkeys_init(struct ticketkeys *, const unsigned char secret[TICKETKEYS_SECRET_LEN],
	    uint64_t now);

/*
 * Moves TK forward so that NOW is its current period, wiping every older
 * secret and key set.  Never backwards: a clock set back leaves TK as it
 * is.  Returns -1 (TK wiped, no tickets from now on) if NOW is more than
 * TICKETKEYS_MAX_STEPS periods ahead.
 */
int	ticketkeys_advance(struct ticketkeys *, uint64_t now);

/* The key set of PERIOD if TK holds it (the current or the previous period), else NULL. */
const struct ticketkeys_set *ticketkeys_get(const struct ticketkeys *, uint64_t period);

/* The set whose name is NAME, of period NOW or NOW - 1; NULL if none. */
const struct ticketkeys_set *ticketkeys_find(const struct ticketkeys *,
	    const unsigned char name[16], uint64_t now);

/* Wipes TK. */
void	ticketkeys_wipe(struct ticketkeys *);

#endif
