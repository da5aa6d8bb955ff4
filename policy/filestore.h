/*
 * filestore: the embedded policy store, one folder (policy_store file DIR):
 *
 *   DIR/NAME.json|yaml|yml      Storage resources (dotfiles and the two
 *                               files below excepted); hand-written files
 *                               are read, never rewritten
 *   DIR/s3gate-state.json       the Storage resources the admin CLI owns:
 *                               `sync` replaces it, member/request/approve/
 *                               grant/revoke rewrite it; and the buckets
 *                               sync dropped ("retiredBuckets", written
 *                               with the drop in one rename)
 *   DIR/credentials.json        access keys, mode 0600 (refused if group- or
 *                               other-accessible); a link's record may name
 *                               the key that issued it ("issuer")
 *   DIR/.s3gate.lock            flock()ed by the admin CLI around a change
 *
 * Every write is atomic (temporary file, fsync, rename, fsync of DIR).  The
 * proxy polls the files' (inode, size, mtime) at most once a second on
 * lookup and reloads when they change; a load that fails keeps the old
 * model.
 */
#ifndef S3GATE_FILESTORE_H
#define S3GATE_FILESTORE_H

#include <sys/types.h>

#include "policy/model.h"
#include "policy/store.h"
#include "proxy/sbuf.h"

#define FILESTORE_STATE		"s3gate-state.json"
#define FILESTORE_CREDENTIALS	"credentials.json"
#define FILESTORE_LOCK		".s3gate.lock"

extern const struct pstore_ops filestore_ops;

/* DIR/NAME, allocated. */
char	*filestore_path(const char *dir, const char *name);

/*
 * Loads every Storage file of DIR and the credentials into a new, indexed
 * model.  NULL with every problem in ERRORS (nothing half-loaded).
 */
struct model *filestore_load(const char *dir, struct sbuf *errors);

/*
 * Whether the policy store CONF names would open in a worker: for the file
 * store, that its folder loads (-1 with every problem, "FILE: what; fix",
 * in ERRORS); other stores 0 (Redis records are checked one by one as
 * they are read).  The parent checks this before it starts workers: a
 * folder that does not load then stops the start with the reason, or keeps
 * the running workers on a reload, instead of every new worker exiting at
 * once, restarted, over and over.
 */
int	 filestore_check(const struct conf *conf, struct sbuf *errors);

/* Parses a credentials file's JSON into M (used by filestore_load()). */
int	 filestore_parse_credentials(struct model *m, const char *source, const char *data,
	    size_t len, struct sbuf *errors);

/*
 * Writes the workspaces M holds from DIR/s3gate-state.json back to it.
 * Nothing is written unless the folder, with the new text in place, loads
 * as filestore_load() would load it: -1 with the reasons in ERRORS, and the
 * previous file stays.
 */
int	 filestore_save_state(const char *dir, const struct model *m, struct sbuf *errors);
/* Writes M's credentials to DIR/credentials.json, mode 0600; checked the same way. */
int	 filestore_save_credentials(const char *dir, const struct model *m, struct sbuf *errors);

/* Writes DATA to PATH atomically with MODE. 0 or -1 (ERRORS says why). */
int	 filestore_write_atomic(const char *path, const char *data, size_t len, mode_t mode,
	    struct sbuf *errors);

/* Takes DIR's exclusive lock (blocking); returns the fd to close(), or -1. */
int	 filestore_lock(const char *dir, struct sbuf *errors);

/* A fingerprint of the files filestore_load() reads: changes when any does. */
int	 filestore_fingerprint(const char *dir, unsigned long long *out);

#endif
