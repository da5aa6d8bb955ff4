/*
 * decide_bench: decision latency of the embedded policy on a loaded model —
 * model_access() (the store's hash lookups) plus policy_decide() — for
 * random (principal, bucket) pairs.  Usage: decide_bench POLICY_DIR N
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "policy/filestore.h"
#include "policy/model.h"
#include "policy/policy.h"

static double
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

int
main(int argc, char **argv)
{
	struct sbuf errors = SBUF_INIT;
	struct policy_access acc;
	struct policy_decision d;
	struct s3_op op;
	struct model *m;
	char principal[64], bucket[64];
	long i, n, allowed = 0;
	double t0, t1;
	int nws;

	if (argc != 4) {
		fprintf(stderr, "usage: decide_bench POLICY_DIR WORKSPACES N\n");
		return 2;
	}
	t0 = now_ns();
	if ((m = filestore_load(argv[1], &errors)) == NULL) {
		fprintf(stderr, "%s", errors.data);
		return 1;
	}
	t1 = now_ns();
	printf("load: %.1f ms\n", (t1 - t0) / 1e6);
	nws = atoi(argv[2]);
	n = atol(argv[3]);
	memset(&op, 0, sizeof(op));
	op.action = "GetObject";
	op.need = NEED_READ;
	srandom(1);
	t0 = now_ns();
	for (i = 0; i < n; i++) {
		snprintf(principal, sizeof(principal), "u%ld", random() % nws);
		snprintf(bucket, sizeof(bucket), "ws-u%ld", random() % nws);
		model_access(m, principal, bucket, 1700000000, &acc);
		policy_decide(&acc, &op, bucket, "k", 1700000000, 0, &d);
		allowed += d.allow;
	}
	t1 = now_ns();
	printf("decisions: %ld, allowed %ld, %.0f ns each (incl. 2 snprintf)\n", n, allowed,
	    (t1 - t0) / (double)n);
	model_free(m);
	return 0;
}
