/*
 * admin: s3gate-admin, the operators' and the workspace platform's CLI
 * (INTERFACE.md "The admin CLI").  main() is in admin_main.c so that the
 * commands can be driven from tests through admin_main().
 *
 * Each command loads the store's state into a struct model under the
 * store's lock, changes it through model_*() and has the store persist it
 * (admin_commit()).  A Redis store will implement the same load/commit
 * pair, turning the change into key writes.
 */
#ifndef S3GATE_ADMIN_H
#define S3GATE_ADMIN_H

/*
 * Runs one command line (argv[0] is the program name).  Output on stdout,
 * the reason for a failure on stderr.  Returns the exit status: 0 or 1.
 */
int	 admin_main(int argc, char **argv);

/* Generates a fresh access key id ("SG" + 18 upper-case alnum) and a 40-char secret. */
void	 admin_keygen(char akid[21], char secret[41]);

#endif
