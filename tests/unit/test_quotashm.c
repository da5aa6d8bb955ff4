/*
 * test_quotashm: the quota windows the workers of one instance share
 * (proxy/quotashm.h): counts per principal, kind and second, the previous
 * second read back, a slot taken over once idle, a full probe refused,
 * requests in flight admitted across workers (and a dead worker's
 * forgotten), two processes adding at once (fork) losing nothing, and the
 * links' byte counts (found again, apart per link, kept while the link
 * lives and taken over a day after it ended, added to by two processes).
 */
#include <sys/wait.h>

#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "proxy/quotashm.h"
#include "tests/unit/testlib.h"

#define FORK_ADDS	20000

int
main(void)
{
	struct quotashm *shm = quotashm_new();
	uint64_t cur = 0, prev = 0;
	char name[32];
	int i, rc, status;
	pid_t pid;

	T_OK(shm != NULL, "the table maps");
	if (shm == NULL)
		return T_DONE();

	rc = quotashm_exchange(shm, "alice", QUOTA_KIND_REQ, 1000, 3, &cur, &prev);
	T_OK(rc == 0 && cur == 3 && prev == 0, "first count: 3, no previous second (cur %llu prev %llu)",
	    (unsigned long long)cur, (unsigned long long)prev);
	quotashm_exchange(shm, "alice", QUOTA_KIND_REQ, 1000, 2, &cur, &prev);
	T_OK(cur == 5, "a second worker's count adds up (cur %llu)", (unsigned long long)cur);
	quotashm_exchange(shm, "alice", QUOTA_KIND_BYTES + QUOTA_OUT, 1000, 4096, &cur, &prev);
	T_OK(cur == 4096, "kinds count apart (bytes out %llu)", (unsigned long long)cur);
	quotashm_exchange(shm, "bob", QUOTA_KIND_REQ, 1000, 1, &cur, &prev);
	T_OK(cur == 1, "principals count apart (bob %llu)", (unsigned long long)cur);

	/* the next second: a fresh count, the last one read back as PREV */
	quotashm_exchange(shm, "alice", QUOTA_KIND_REQ, 1001, 0, &cur, &prev);
	T_OK(cur == 0 && prev == 5, "next second: cur 0, prev 5 (cur %llu prev %llu)",
	    (unsigned long long)cur, (unsigned long long)prev);
	quotashm_exchange(shm, "alice", QUOTA_KIND_REQ, 1003, 1, &cur, &prev);
	T_OK(cur == 1 && prev == 0, "a gap of a second: no previous count (prev %llu)",
	    (unsigned long long)prev);
	quotashm_exchange(shm, "alice", QUOTA_KIND_REQ, 1002, 7, &cur, &prev);
	T_OK(cur == 7, "an earlier second arriving late restarts that row (cur %llu)",
	    (unsigned long long)cur);

	/* fill every slot with principals of one second, then one more: refused */
	{
		struct quotashm *full = quotashm_new();
		int refused = 0, placed = 0;

		for (i = 0; i < QUOTASHM_SLOTS * 2 && full != NULL; i++) {
			snprintf(name, sizeof(name), "p%d", i);
			if (quotashm_exchange(full, name, QUOTA_KIND_REQ, 50, 1, &cur, &prev) == 0)
				placed++;
			else
				refused++;
		}
		T_OK(placed >= QUOTASHM_SLOTS * 9 / 10 && placed <= QUOTASHM_SLOTS && refused > 0,
		    "a full table refuses (placed %d of %d slots, refused %d)", placed, QUOTASHM_SLOTS,
		    refused);
		/* two seconds later every slot is idle: new principals take them over */
		rc = quotashm_exchange(full, "late", QUOTA_KIND_REQ, 53, 1, &cur, &prev);
		T_OK(rc == 0 && cur == 1 && prev == 0, "idle slots are taken over, counts reset (cur %llu)",
		    (unsigned long long)cur);
		quotashm_free(full);
	}

	/* concurrency: every worker's requests in flight, counted together */
	T_OK(quotashm_admit(shm, "dave", 0, 2, 3000) == 1, "first request of 2 admitted (worker 0)");
	T_OK(quotashm_admit(shm, "dave", 1, 2, 3000) == 1, "second admitted (worker 1)");
	T_OK(quotashm_admit(shm, "dave", 1, 2, 3000) == 0, "third refused: two in flight across workers");
	T_OK(quotashm_admit(shm, "erin", 1, 2, 3000) == 1, "another principal is apart");
	quotashm_leave(shm, "dave", 0);
	T_OK(quotashm_admit(shm, "dave", 1, 2, 3000) == 1, "one left (worker 0): admitted again");
	quotashm_forget_worker(shm, 1);
	T_OK(quotashm_admit(shm, "dave", 0, 2, 3000) == 1 && quotashm_admit(shm, "dave", 0, 2, 3000) == 1,
	    "a dead worker's requests are forgotten: two admitted again");
	quotashm_leave(shm, "dave", 1);	/* its column is 0 already: never below */
	T_OK(quotashm_admit(shm, "dave", 0, 2, 3000) == 0, "a leave on an empty column frees nothing");
	quotashm_leave(shm, "dave", 0);
	quotashm_leave(shm, "dave", 0);
	T_OK(quotashm_admit(shm, "dave", 0, 2, 3010) == 1 && quotashm_admit(shm, "dave", 1, 2, 3010) == 1 &&
	    quotashm_admit(shm, "dave", 1, 2, 3010) == 0, "all left: two admitted again, a third refused");

	/* a slot with a request in flight is never idle, however old its windows */
	{
		struct quotashm *busy = quotashm_new();
		int placed = 0;

		for (i = 0; i < QUOTASHM_SLOTS * 2 && busy != NULL; i++) {
			snprintf(name, sizeof(name), "q%d", i);
			if (quotashm_admit(busy, name, 0, 1, 50) == 1)
				placed++;
		}
		rc = busy != NULL ? quotashm_exchange(busy, "late", QUOTA_KIND_REQ, 60, 1, &cur, &prev) : 0;
		T_OK(placed > QUOTASHM_SLOTS / 2 && rc == -1,
		    "ten seconds on, every slot holding a request is kept (placed %d, late got %d)", placed, rc);
		quotashm_free(busy);
	}

	/* two processes at once: every add is counted */
	pid = fork();
	if (pid == 0) {
		for (i = 0; i < FORK_ADDS; i++)
			quotashm_exchange(shm, "carol", QUOTA_KIND_BYTES, 2000, 1, &cur, &prev);
		_exit(0);
	}
	for (i = 0; i < FORK_ADDS; i++)
		quotashm_exchange(shm, "carol", QUOTA_KIND_BYTES, 2000, 1, &cur, &prev);
	waitpid(pid, &status, 0);
	quotashm_exchange(shm, "carol", QUOTA_KIND_BYTES, 2000, 0, &cur, &prev);
	T_OK(pid > 0 && cur == 2 * FORK_ADDS, "two processes adding at once: %llu of %d counted",
	    (unsigned long long)cur, 2 * FORK_ADDS);

	/* the hash is keyed per table: a client cannot aim its names at one probe */
	{
		struct quotashm *x = quotashm_new(), *y = quotashm_new();
		static const unsigned char zero[16];

		T_OK(x != NULL && y != NULL && memcmp(x->hash_key, y->hash_key, 16) != 0 &&
		    memcmp(x->hash_key, zero, 16) != 0, "each table draws its own random hash key");
		quotashm_free(x);
		quotashm_free(y);
	}

	/* links with a download budget: one byte count per link */
	{
		struct quotashm_link *a = quotashm_link(shm, "SGLAAAAAAAAAAAAAAAAA", 5000, 1000);
		struct quotashm_link *b = quotashm_link(shm, "SGLBBBBBBBBBBBBBBBBB", 5000, 1000);
		struct quotashm *full = quotashm_new();
		int placed = 0, refused = 0;

		T_OK(a != NULL && b != NULL && a != b, "two links get two counts");
		if (a == NULL || b == NULL)
			return T_DONE();
		quotashm_link_add(a, 100);
		T_OK(quotashm_link_add(a, 50) == 150 && quotashm_link_add(b, 0) == 0,
		    "bytes add up per link (a %llu, b %llu)", (unsigned long long)quotashm_link_add(a, 0),
		    (unsigned long long)quotashm_link_add(b, 0));
		T_OK(quotashm_link_size(a, 0) == 0, "no object size before a response");
		T_OK(quotashm_link_size(a, 4096) == 4096 && quotashm_link_size(a, 0) == 4096 &&
		    quotashm_link_size(a, 999) == 4096, "the first size learned is the one every worker reads");
		T_OK(quotashm_link_instances(a, 0) == 0 && quotashm_link_instances(a, 900) == 900 &&
		    quotashm_link_instances(a, 300) == 900 && quotashm_link_instances(a, 0) == 900,
		    "every instance's count (from Redis) only rises, and every worker reads it");
		T_OK(quotashm_link_reserve(a, 700) == 700 && quotashm_link_reserve(b, 0) == 0 &&
		    quotashm_link_reserve(a, 300) == 1000, "reservations add up per link");
		quotashm_link_release(a, 400);
		T_OK(quotashm_link_reserve(a, 0) == 600, "a release gives back what it names");
		quotashm_link_release(a, 5000);
		T_OK(quotashm_link_reserve(a, 0) == 0, "never below nothing");
		T_OK(quotashm_link(shm, "SGLAAAAAAAAAAAAAAAAA", 5000, 2000) == a &&
		    quotashm_link_add(a, 0) == 150, "another worker finds the same count");
		T_OK(quotashm_link(shm, "SGLAAAAAAAAAAAAAAAAA", 5000, 5000 + QUOTASHM_LINK_GRACE) == a &&
		    quotashm_link_add(a, 0) == 150, "a day after the link ended the count is still there");

		for (i = 0; i < QUOTASHM_LINKS * 2 && full != NULL; i++) {
			snprintf(name, sizeof(name), "SGL%d", i);
			struct quotashm_link *l = quotashm_link(full, name, 5000, 1000);

			if (l == NULL) {
				refused++;
				continue;
			}
			placed++;
			quotashm_link_add(l, 5);
			quotashm_link_size(l, 7);
		}
		T_OK(placed >= QUOTASHM_LINKS * 9 / 10 && placed <= QUOTASHM_LINKS && refused > 0,
		    "a full table of live links refuses (placed %d of %d, refused %d)", placed,
		    QUOTASHM_LINKS, refused);
		if (full != NULL) {
			struct quotashm_link *late = quotashm_link(full, "SGLlate", 9000,
			    5000 + QUOTASHM_LINK_GRACE + 1);

			T_OK(late != NULL && quotashm_link_add(late, 0) == 0 && quotashm_link_size(late, 0) == 0,
			    "slots of links ended over a day ago are taken over, counts reset");
		}
		quotashm_free(full);

		/* links that never end (expires 0) keep their counts however late */
		{
			struct quotashm *never = quotashm_new();
			int kept = 0;

			for (i = 0; i < QUOTASHM_LINKS * 2 && never != NULL; i++) {
				struct quotashm_link *l;

				snprintf(name, sizeof(name), "SGLN%d", i);
				if ((l = quotashm_link(never, name, 0, 1000)) != NULL)
					quotashm_link_add(l, 42);
			}
			for (i = 0; i < QUOTASHM_LINKS * 2 && never != NULL; i++) {
				struct quotashm_link *l;

				snprintf(name, sizeof(name), "SGLN%d", i);
				l = quotashm_link(never, name, 0, 4000000000LL);
				kept += l != NULL && quotashm_link_add(l, 0) == 42;
			}
			T_OK(never != NULL && kept >= QUOTASHM_LINKS * 9 / 10 &&
			    quotashm_link(never, "SGLlate", 9000, 4000000000LL) == NULL,
			    "links with no end are never taken over (%d counts kept, a late link refused)", kept);
			quotashm_free(never);
		}

		pid = fork();
		if (pid == 0) {
			struct quotashm_link *mine = quotashm_link(shm, "SGLCCCCCCCCCCCCCCCCC", 5000, 1000);

			for (i = 0; i < FORK_ADDS && mine != NULL; i++)
				quotashm_link_add(mine, 3);
			_exit(0);
		}
		b = quotashm_link(shm, "SGLCCCCCCCCCCCCCCCCC", 5000, 1000);
		for (i = 0; i < FORK_ADDS && b != NULL; i++)
			quotashm_link_add(b, 3);
		waitpid(pid, &status, 0);
		T_OK(pid > 0 && b != NULL && quotashm_link_add(b, 0) == 6ULL * FORK_ADDS,
		    "two processes serving one link at once: %llu of %d bytes counted",
		    b != NULL ? (unsigned long long)quotashm_link_add(b, 0) : 0ULL, 6 * FORK_ADDS);
	}

	quotashm_free(shm);
	return T_DONE();
}
