/*
 * store: where the proxy gets credentials and access from.  One interface,
 * two stores behind an ops table: the embedded file store (filestore.c,
 * synchronous) and, later, Redis (asynchronous, with an in-process cache).
 *
 * Calling convention for every lookup:
 *   PSTORE_DONE         OUT is filled now; CB is never called.
 *   PSTORE_PENDING      the store is fetching; it calls CB(ARG) once when
 *                       the answer is in, and the caller then repeats the
 *                       same call, which answers DONE or UNAVAILABLE.  Until
 *                       CB runs the caller must stay alive, or call
 *                       pstore_cancel(store, ARG) before it goes away.
 *   PSTORE_UNAVAILABLE  the store cannot answer (Redis down past the
 *                       staleness bound): fail closed, 503.
 * "Not found" is a DONE answer: a credential with access_key_id NULL, an
 * access with bucket_exists 0.
 */
#ifndef S3GATE_STORE_H
#define S3GATE_STORE_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "policy/model.h"
#include "policy/policy.h"
#include "proxy/conf.h"
#include "proxy/sbuf.h"

struct event_base;
struct pstore;

enum pstore_result { PSTORE_DONE, PSTORE_PENDING, PSTORE_UNAVAILABLE };

typedef void pstore_cb(void *arg);

/* What ListBuckets and GET /_s3gate/access show: owned, member and granted buckets. */
struct pstore_bucket_list {
	struct model_bucket_access	*items;		/* sorted by bucket name */
	size_t				 count;
};

/*
 * Opens the store CONF names (policy_store).  BASE may be NULL (the admin
 * CLI: every answer synchronous).  NULL with the reason in ERRORS.
 */
struct pstore	*pstore_open(const struct conf *, struct event_base *base, struct sbuf *errors);

/* AKID -> credential (copied into OUT; free with policy_credential_clear()).
   Expiry is the caller's to check: OUT->expires_at. */
enum pstore_result pstore_credential(struct pstore *, const char *akid,
		    struct policy_credential *out, pstore_cb *cb, void *arg);
/* What PRINCIPAL holds on BUCKET (model_access()). */
enum pstore_result pstore_access(struct pstore *, const char *principal, const char *bucket,
		    time_t now, struct policy_access *out, pstore_cb *cb, void *arg);
/* Buckets PRINCIPAL may use at NOW; free OUT with pstore_bucket_list_free(). */
enum pstore_result pstore_list_buckets(struct pstore *, const char *principal, time_t now,
		    struct pstore_bucket_list *out, pstore_cb *cb, void *arg);
void		 pstore_bucket_list_free(struct pstore_bucket_list *);
/* The caller behind ARG is going away: its pending callbacks must not run. */
void		 pstore_cancel(struct pstore *, void *arg);
/* Rereads everything (SIGHUP); on error keeps the old state and returns -1. */
int		 pstore_reload(struct pstore *, struct sbuf *errors);
void		 pstore_free(struct pstore *);
/* Counters for /metrics; a store without a cache reports reloads only. */
struct pstore_stats {
	unsigned long long	 hits;		/* answered from the cache */
	unsigned long long	 stale_hits;	/* served past the TTL while the store was unreachable */
	unsigned long long	 misses;	/* fetched from the store */
	unsigned long long	 unavailable;	/* answered UNAVAILABLE: fail closed */
	unsigned long long	 invalidations;	/* invalidation messages applied */
	unsigned long long	 reloads;	/* whole policy reloaded (file store) */
	int			 connected;	/* 1 if the store answers now */
};
void		 pstore_get_stats(struct pstore *, struct pstore_stats *);

/* 1 if the store can answer now (/readyz): file store always, Redis when connected. */
int		 pstore_ready(struct pstore *);
/*
 * WORD, in memory the workers of one s3gate share, tells them of a change
 * one of them saw (the file store: the fingerprint of the folder it last
 * loaded), so that the others look at once rather than at their next poll:
 * a grant is then in force in every worker as soon as in one.  Stores that
 * hear of changes on their own (Redis: pub/sub) ignore it.
 */
void		 pstore_share_changes(struct pstore *, uint64_t *word);

/* The ops table a store implements; IMPL is the store's own state. */
struct pstore_ops {
	const char	*name;
	void		*(*open)(const struct conf *, struct event_base *, struct sbuf *errors);
	enum pstore_result (*credential)(void *impl, const char *akid,
			    struct policy_credential *, pstore_cb *, void *);
	enum pstore_result (*access)(void *impl, const char *principal, const char *bucket,
			    time_t now, struct policy_access *, pstore_cb *, void *);
	enum pstore_result (*list_buckets)(void *impl, const char *principal, time_t now,
			    struct pstore_bucket_list *, pstore_cb *, void *);
	void		(*cancel)(void *impl, void *arg);
	int		(*reload)(void *impl, struct sbuf *errors);
	void		(*free)(void *impl);
	/* 1 if the store can answer now (NULL: always) */
	int		(*ready)(void *impl);
	void		(*stats)(void *impl, struct pstore_stats *);	/* optional */
	void		(*share_changes)(void *impl, uint64_t *word);	/* optional */
};

#endif
