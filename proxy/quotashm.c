/*
 * quotashm: the quota windows the workers of one s3gate share.  See
 * quotashm.h for the protocol.
 */
#include <sys/mman.h>
#include <sys/random.h>

#include <sched.h>
#include <stddef.h>
#include <string.h>

#include "proxy/quotashm.h"
#include "proxy/siphash.h"

struct quotashm *
quotashm_new(void)
{
	struct quotashm *shm = mmap(NULL, sizeof(struct quotashm), PROT_READ | PROT_WRITE,
	    MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	if (shm == MAP_FAILED)
		return NULL;
	/* anonymous memory comes zeroed; should the kernel have no getrandom,
	   the zero key still hashes, unkeyed */
	if (getrandom(shm->hash_key, sizeof(shm->hash_key), 0) != (ssize_t)sizeof(shm->hash_key))
		memset(shm->hash_key, 0, sizeof(shm->hash_key));
	return shm;
}

void
quotashm_free(struct quotashm *shm)
{
	if (shm != NULL)
		munmap(shm, sizeof(*shm));
}

/*
 * Keyed (the key drawn when the table is made): names come from clients
 * too -- an address's /64 -- and must not be chosen to crowd one probe.
 */
static uint64_t
quotashm_hash(const struct quotashm *shm, const char *name)
{
	uint64_t h = siphash24(shm->hash_key, name, strlen(name));

	return h != 0 ? h : 1;	/* 0 marks a free slot */
}

static void
quotashm_spin(uint32_t *lock)
{
	int spins = 0;

	while (__atomic_exchange_n(lock, 1, __ATOMIC_ACQUIRE) != 0) {
		if (++spins == QUOTASHM_SPIN_MAX)
			return;		/* its holder died inside: take it over */
		if (spins % 64 == 0)
			sched_yield();
	}
}

static void
quotashm_release(uint32_t *lock)
{
	__atomic_store_n(lock, 0, __ATOMIC_RELEASE);
}

static void
quotashm_lock(struct quotashm_slot *s)
{
	quotashm_spin(&s->lock);
}

static void
quotashm_unlock(struct quotashm_slot *s)
{
	quotashm_release(&s->lock);
}

/* Whether S has counted nothing since WINDOW - 2 and holds no request: its principal is idle. */
static int
quotashm_idle(const struct quotashm_slot *s, int64_t window)
{
	int i;

	for (i = 0; i < QUOTASHM_COLUMNS; i++)
		if (s->active[i] != 0)
			return 0;
	return s->window[0] < window - 2 && s->window[1] < window - 2;
}

/* Claims S for KEY if it is free or idle (S locked by the caller). */
static int
quotashm_claim(struct quotashm_slot *s, uint64_t key, int64_t window)
{
	if (s->key != 0 && !quotashm_idle(s, window))
		return 0;
	s->key = key;
	memset(s->window, 0, sizeof(s->window));
	memset(s->count, 0, sizeof(s->count));
	memset(s->active, 0, sizeof(s->active));
	return 1;
}

/*
 * PRINCIPAL's slot, locked; else, if CLAIM, the first free or idle one on
 * its probe, claimed and locked; else NULL.
 */
static struct quotashm_slot *
quotashm_slot(struct quotashm *shm, const char *principal, int64_t window, int claim)
{
	uint64_t key = quotashm_hash(shm, principal);
	struct quotashm_slot *s = NULL;
	size_t i, at = (size_t)(key % QUOTASHM_SLOTS);

	for (i = 0; i < QUOTASHM_PROBE && s == NULL; i++) {
		struct quotashm_slot *t = &shm->slots[(at + i) % QUOTASHM_SLOTS];

		if (__atomic_load_n(&t->key, __ATOMIC_ACQUIRE) != key)
			continue;
		quotashm_lock(t);
		if (t->key == key)
			s = t;
		else
			quotashm_unlock(t);
	}
	for (i = 0; i < QUOTASHM_PROBE && s == NULL && claim; i++) {
		struct quotashm_slot *t = &shm->slots[(at + i) % QUOTASHM_SLOTS];

		quotashm_lock(t);
		if (t->key == key || quotashm_claim(t, key, window))
			s = t;
		else
			quotashm_unlock(t);
	}
	return s;
}

int
quotashm_exchange(struct quotashm *shm, const char *principal, enum quota_kind kind,
    int64_t window, uint64_t add, uint64_t *cur, uint64_t *prev)
{
	struct quotashm_slot *s;
	int row;

	if ((s = quotashm_slot(shm, principal, window, 1)) == NULL)
		return -1;
	row = (int)(window & 1);
	if (s->window[row] != window) {
		s->window[row] = window;
		memset(s->count[row], 0, sizeof(s->count[row]));
	}
	s->count[row][kind] += add;
	*cur = s->count[row][kind];
	*prev = s->window[!row] == window - 1 ? s->count[!row][kind] : 0;
	quotashm_unlock(s);
	return 0;
}

int
quotashm_admit(struct quotashm *shm, const char *principal, int worker, uint32_t limit,
    int64_t now)
{
	struct quotashm_slot *s;
	uint32_t held = 0;
	int i, col = worker % QUOTASHM_COLUMNS, ok;

	if ((s = quotashm_slot(shm, principal, now, 1)) == NULL)
		return -1;
	for (i = 0; i < QUOTASHM_COLUMNS; i++)
		held += s->active[i];
	if ((ok = held < limit && s->active[col] < UINT16_MAX))
		s->active[col]++;
	quotashm_unlock(s);
	return ok;
}

void
quotashm_leave(struct quotashm *shm, const char *principal, int worker)
{
	struct quotashm_slot *s;
	int col = worker % QUOTASHM_COLUMNS;

	if ((s = quotashm_slot(shm, principal, 0, 0)) == NULL)
		return;		/* forgotten with a dead worker's column */
	if (s->active[col] > 0)
		s->active[col]--;
	quotashm_unlock(s);
}

void
quotashm_forget_worker(struct quotashm *shm, int worker)
{
	int col = worker % QUOTASHM_COLUMNS;
	size_t i;

	for (i = 0; i < QUOTASHM_SLOTS; i++) {
		struct quotashm_slot *s = &shm->slots[i];

		quotashm_lock(s);
		s->active[col] = 0;
		quotashm_unlock(s);
	}
}

struct quotashm_link *
quotashm_link(struct quotashm *shm, const char *id, int64_t expires_at, int64_t now)
{
	uint64_t key = quotashm_hash(shm, id);
	size_t i, at = (size_t)(key % QUOTASHM_LINKS);

	if (expires_at <= 0)	/* a link that never ends: its count is never taken over */
		expires_at = INT64_MAX - QUOTASHM_LINK_GRACE;
	for (i = 0; i < QUOTASHM_LINK_PROBE; i++) {
		struct quotashm_link *l = &shm->links[(at + i) % QUOTASHM_LINKS];

		if (__atomic_load_n(&l->key, __ATOMIC_ACQUIRE) == key)
			return l;
	}
	for (i = 0; i < QUOTASHM_LINK_PROBE; i++) {
		struct quotashm_link *l = &shm->links[(at + i) % QUOTASHM_LINKS];
		int mine = 0;

		quotashm_spin(&l->lock);
		if (l->key == key) {
			mine = 1;	/* another worker claimed it meanwhile */
		} else if (l->key == 0 || l->expires_at + QUOTASHM_LINK_GRACE < now) {
			/* the count is reset before the key is published: no
			   worker finding KEY reads the last link's bytes */
			__atomic_store_n(&l->served, 0, __ATOMIC_RELAXED);
			__atomic_store_n(&l->object_size, 0, __ATOMIC_RELAXED);
			__atomic_store_n(&l->instances, 0, __ATOMIC_RELAXED);
			__atomic_store_n(&l->reserved, 0, __ATOMIC_RELAXED);
			l->expires_at = expires_at;
			__atomic_store_n(&l->key, key, __ATOMIC_RELEASE);
			mine = 1;
		}
		quotashm_release(&l->lock);
		if (mine)
			return l;
	}
	return NULL;
}

uint64_t
quotashm_link_add(struct quotashm_link *l, uint64_t n)
{
	return __atomic_add_fetch(&l->served, n, __ATOMIC_RELAXED);
}

uint64_t
quotashm_link_size(struct quotashm_link *l, uint64_t size)
{
	uint64_t known = 0;

	if (size == 0)
		return __atomic_load_n(&l->object_size, __ATOMIC_RELAXED);
	/* the first to learn it stores it; a later one gets that back in KNOWN */
	if (__atomic_compare_exchange_n(&l->object_size, &known, size, 0,
	    __ATOMIC_RELAXED, __ATOMIC_RELAXED))
		return size;
	return known;
}

uint64_t
quotashm_link_instances(struct quotashm_link *l, uint64_t total)
{
	uint64_t known = __atomic_load_n(&l->instances, __ATOMIC_RELAXED);

	while (total > known && !__atomic_compare_exchange_n(&l->instances, &known, total, 1,
	    __ATOMIC_RELAXED, __ATOMIC_RELAXED))
		;	/* KNOWN reloaded: try again while TOTAL is still higher */
	return total > known ? total : known;
}

uint64_t
quotashm_link_reserve(struct quotashm_link *l, uint64_t n)
{
	return __atomic_add_fetch(&l->reserved, n, __ATOMIC_RELAXED);
}

void
quotashm_link_release(struct quotashm_link *l, uint64_t n)
{
	uint64_t known = __atomic_load_n(&l->reserved, __ATOMIC_RELAXED);

	while (!__atomic_compare_exchange_n(&l->reserved, &known, known > n ? known - n : 0, 1,
	    __ATOMIC_RELAXED, __ATOMIC_RELAXED))
		;	/* KNOWN reloaded: try again */
}
