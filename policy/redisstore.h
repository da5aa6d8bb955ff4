/*
 * redisstore: the shared policy store (policy_store redis URL), keys and
 * channel in policy/README.md ("Redis keys").
 *
 * Proxy side (redisstore_ops, asynchronous): hiredis on the proxy's
 * libevent loop, one connection for lookups and one SUBSCRIBEd to
 * s3gate:invalidate, both reconnecting with backoff.  An in-process cache
 * answers hits synchronously; a miss sends one command and answers
 * PSTORE_PENDING; the reply fills the caller's OUT and then calls CB(ARG).
 * Entries live policy_cache_ttl; invalidation messages drop them at once.
 * While Redis cannot be reached, entries Redis confirmed less than
 * policy_max_staleness ago are still served; anything else is
 * PSTORE_UNAVAILABLE (503): never an unchecked allow.
 *
 * Admin side (blocking, for s3gate-admin): the whole model is read and
 * written at once; a write is one MULTI/EXEC of the keys that changed, with
 * the invalidation PUBLISHed inside the same transaction.
 *
 * Secrets (credential secret and session token) are stored sealed with
 * AES-256-GCM under policy_secret_key: "v1:NONCE:CIPHERTEXT:TAG" (hex; a
 * random 12-byte nonce per value; the Redis key and field name are the
 * additional authenticated data, so a sealed value cannot be moved to
 * another record).
 */
#ifndef S3GATE_REDISSTORE_H
#define S3GATE_REDISSTORE_H

#include "policy/model.h"
#include "policy/store.h"
#include "proxy/conf.h"
#include "proxy/sbuf.h"

#define REDISSTORE_KEY_LEN	32

/* Every key carries this hash tag: one slot, so MULTI/EXEC works in Cluster. */
#define REDISSTORE_PREFIX	"{s3gate}:"
#define REDISSTORE_CHANNEL	"s3gate:invalidate"

extern const struct pstore_ops redisstore_ops;

struct event_base;
struct redisAsyncContext;

/* URL as a log line or an error may show it: a password replaced by "***". */
const char	*redisstore_url_shown(const char *url, char *buf, size_t size);
/* 0 if URL is a policy_store redis URL s3gate understands, else -1 and why in ERRORS. */
int		 redisstore_url_check(const char *url, struct sbuf *errors);
/*
 * An asynchronous connection to CONF's Redis (policy_store, policy_store_password) on BASE for
 * another user of the same Redis (the quota sync, proxy/quotasync.c): the
 * connect is started, AUTH and SELECT are queued as the URL asks, and
 * commands may be queued at once.  The caller owns it (redisAsyncFree, or
 * hiredis frees it after a failed connect or a disconnect) and sets its
 * connect/disconnect callbacks.  NULL with the reason in ERRORS; NULL with
 * ERRORS left empty behind Sentinel until the store's own connections in
 * this process have been told which server is the master (try again).
 * The policy connections are untouched.
 */
struct redisAsyncContext *redisstore_async_connect(const struct conf *conf, struct event_base *base,
	    struct sbuf *errors);

/* 64 hex digits -> 32 bytes.  0, or -1 if malformed. */
int	 redisstore_parse_key(const char *hex, unsigned char key[REDISSTORE_KEY_LEN]);

/* Appends PLAIN sealed ("v1:...") to OUT, bound to AAD (the key and field). */
void	 redisstore_seal(const unsigned char key[REDISSTORE_KEY_LEN], const char *aad,
	    const char *plain, struct sbuf *out);
/* The plaintext of TEXT (allocated; wipe it), or NULL if TEXT is malformed,
   sealed under another key or AAD, or tampered with. */
char	*redisstore_unseal(const unsigned char key[REDISSTORE_KEY_LEN], const char *aad,
	    const char *text);

/*
 * Reads every record into a new, indexed model (secrets unsealed).  Every
 * record's source is CONF->store_path, so that the admin CLI treats them
 * all as its own.  0, or -1 with the reasons in ERRORS.
 */
int	 redisstore_model_load(const struct conf *, struct model **out, struct sbuf *errors);

/*
 * Makes Redis hold NEW: under WATCH of the version key it reads what Redis
 * holds, and in one MULTI/EXEC writes the fields that differ, deletes the
 * ones that disappeared, increments {s3gate}:version and PUBLISHes the
 * invalidations (retried if another writer got in between).  OLD is not
 * trusted (the diff is always against Redis) and may be NULL.  LOCK, the
 * lock NEW was loaded under (NULL: none taken), must still be held: one
 * lost meanwhile (expired, deleted) writes nothing, since NEW may then undo
 * another command's write.  0, or -1 with the reason in ERRORS.
 */
struct redisstore_lock;
int	 redisstore_model_save(const struct conf *, const struct model *old,
	    const struct model *new, const struct redisstore_lock *lock, struct sbuf *errors);

/*
 * The admin CLI's lock ({s3gate}:lock, SET NX PX 60 s with a random
 * token): taken around load-change-save so that two commands do not
 * overwrite each other.  Waits up to 10 s.  NULL with the reason in ERRORS.
 */
struct redisstore_lock;
struct redisstore_lock *redisstore_lock(const struct conf *, struct sbuf *errors);
/* Releases the lock if still ours; frees L.  NULL is fine. */
void	 redisstore_unlock(struct redisstore_lock *l);

#endif
