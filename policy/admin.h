/*
 * admin: s3gate-admin, the operators' and the workspace platform's CLI
 * (INTERFACE.md "The admin CLI").  main() is in admin_main.c so that the
 * commands can be driven from tests and from the proxy's self-service API
 * through admin_run().
 *
 * Each command loads the store's state into a struct model under the
 * store's lock, changes it through model_*() and has the store persist it
 * (admin_commit()): the file store rewrites its files, the Redis store
 * turns the change into key writes (redisstore_model.c).
 */
#ifndef S3GATE_ADMIN_H
#define S3GATE_ADMIN_H

#include <stdio.h>

/*
 * Runs one command line (argv[0] is the program name: "s3gate-admin -c FILE
 * [--json] COMMAND ...").  Everything it prints goes to OUT (the result:
 * text, or with --json one JSON document) and ERR (on failure, one line
 * per problem, "s3gate-admin: reason"); both are flushed before it returns.
 * Returns the exit status: 0 or 1.
 *
 * Safe to call from any thread, several at once: no globals, no exit(), no
 * signal handling, nothing read from stdin unless asked ("sync -"); it
 * blocks (store lock, file or Redis I/O, and for sync the backend), so the
 * proxy calls it from a thread of its own, with open_memstream() sinks.
 */
int	 admin_run(int argc, char **argv, FILE *out, FILE *err);

/*
 * What kind of failure a command's was, for callers that answer it in
 * another language than its words (the self-service API: S3 errors).  The
 * kind is its first failure's; a command that printed its reasons under
 * several kinds (sync) is reported as the first.
 */
enum admin_error {
	ADMIN_ERR_NONE,		/* exit status 0 */
	ADMIN_ERR_INVALID,	/* the arguments: usage, a value, a limit */
	ADMIN_ERR_NOT_FOUND,	/* the link, grant or key named is not there */
	ADMIN_ERR_NO_SUCH_BUCKET,	/* the bucket is not there (or hidden from the caller) */
	ADMIN_ERR_DENIED,	/* the caller may not (--owner, --principal) */
	ADMIN_ERR_UNAVAILABLE,	/* bucket create: the name is taken */
	ADMIN_ERR_LIMIT,	/* bucket create: the workspace has the most buckets it may */
	ADMIN_ERR_UNCONFIGURED,	/* what the command needs is not configured (presign: public_url) */
	ADMIN_ERR_INTERNAL,	/* the configuration, the store or the backend failed */
};

/* admin_run(), and the kind of its failure in *KIND (ADMIN_ERR_NONE on exit 0). */
int	 admin_run_kind(int argc, char **argv, FILE *out, FILE *err,
	    enum admin_error *kind);

/* admin_run(argc, argv, stdout, stderr). */
int	 admin_main(int argc, char **argv);

/* Generates a fresh access key id ("SG" + 18 upper-case alnum) and a 40-char secret. */
void	 admin_keygen(char akid[21], char secret[41]);

/*
 * Whether BUCKET is one of PRINCIPAL's names under the bucket_create
 * PATTERN: a shell pattern (fnmatch) in which "{principal}" stands for
 * PRINCIPAL, taken literally (its '*', '?', '[' match only themselves).
 * The proxy asks this; "bucket create" also refuses a name another
 * principal has a better claim to.
 */
int	 admin_bucket_pattern_match(const char *pattern, const char *principal,
	    const char *bucket);

#endif
