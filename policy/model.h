/*
 * model: the policy in memory -- workspaces (owner, members), buckets,
 * grants, requests and credentials -- with hash indexes for the lookups the
 * proxy makes per request (bucket -> record, (bucket, principal) -> grant,
 * access key id -> credential).
 *
 * The records are plain arrays the stores and the admin CLI fill and edit
 * through the functions below.  Every change marks the indexes stale;
 * lookups on a stale model fall back to a linear scan, and model_index()
 * rebuilds the indexes and checks the cross-record rules (one owner per
 * bucket, one grant per (bucket, grantee), ...).  A model is built whole and
 * swapped whole: a reader never sees one half-changed.
 *
 * Every string is owned by its record; model_free() wipes the secrets.
 */
#ifndef S3GATE_MODEL_H
#define S3GATE_MODEL_H

#include <stddef.h>
#include <time.h>

#include "policy/policy.h"
#include "proxy/sbuf.h"

struct model_workspace {
	char		 *name;		/* "ws-frank" */
	char		 *principal;	/* the owner */
	char		**members;
	size_t		  nmembers;
	time_t		  created_at;	/* metadata.creationTimestamp; 0 = unknown */
	/* spec.quotas: the owner's quota overrides (quota.set 0: none).  At
	   most one workspace per principal may set them (model_index()). */
	struct policy_quota quota;
	char		 *source;	/* the file it came from; NULL if none */
	int		  line;		/* where in SOURCE; 0 = unknown */
};

struct model_bucket {
	char		*name;
	char		*workspace;	/* the owning workspace's name */
	int		 discoverable;
	char		*source;
	int		 line;
};

/*
 * The longest grant prefix: what struct policy_access holds whole.  A
 * longer one is refused wherever it enters (Storage import, the Redis
 * loader, the admin CLI, model_index()); model_access() denies one that got
 * in anyway rather than cut it, for a cut prefix is a wider grant.
 */
#define MODEL_MAX_PREFIX	((int)sizeof(((struct policy_access *)0)->prefix) - 1)

struct model_grant {
	char		*bucket;
	char		*grantee;
	enum policy_perm perm;		/* ReadOnly, ReadWrite or WriteOnly */
	char		*prefix;	/* "" = the whole bucket, at most MODEL_MAX_PREFIX bytes */
	time_t		 granted_at;
	time_t		 expires_at;	/* 0 = never */
	char		*source;
	int		 line;
};

struct model_request {
	char		*bucket;
	char		*requester;
	char		*workspace;	/* the requester's workspace, where it stands */
	char		*reason;
	time_t		 requested_at;
	char		*source;
	int		 line;
};

/*
 * A link issued with a credential that ends (a session's, through the
 * self-service API): the link may not outlive it, and goes when it is
 * deleted.  Admin bookkeeping beside the credentials (the proxy never needs
 * it: the link's own expiry is capped at the issuer's); links without one
 * (issued by the CLI, or before this was kept) stand alone.
 */
struct model_link_issuer {
	char		*link;		/* the link's access key id ("SGL...") */
	char		*issuer;	/* the access key id that issued it */
};

/*
 * A bucket a sync dropped from the policy (its workspace's resource gone,
 * or the bucket taken off its list): sync never deletes a bucket at the
 * backend, so its objects stay there, and the record keeps it from going
 * to another workspace with them.  Sync refuses a resource of another
 * workspace (or of this one under another owner) that lists it, until
 * the operator hands it over ("s3gate-admin bucket release"); the
 * workspace that held it takes it back by listing it again, and the
 * record goes.  No timer: it stays until one of the two.  Admin
 * bookkeeping, kept beside the Storage resources the CLI owns (the state
 * file's "retiredBuckets", Redis' {s3gate}:retired); no decision of
 * the proxy's looks at it.
 */
struct model_retired {
	char		*bucket;
	char		*workspace;	/* the workspace that held it */
	char		*principal;	/* that workspace's owner then */
	time_t		 retired_at;	/* when the sync dropped it */
};

struct model_index;

struct model {
	struct model_workspace	*workspaces;
	size_t			 nworkspaces;
	struct model_bucket	*buckets;
	size_t			 nbuckets;
	struct model_grant	*grants;
	size_t			 ngrants;
	struct model_request	*requests;
	size_t			 nrequests;
	struct policy_credential *credentials;
	size_t			 ncredentials;
	struct model_link_issuer *link_issuers;
	size_t			 nlink_issuers;
	struct model_retired	*retired;
	size_t			 nretired;

	struct model_index	*index;		/* NULL while stale */
};

/* One bucket a principal may use, for ListBuckets and "access". */
struct model_bucket_access {
	char		*bucket;
	char		*workspace;
	time_t		 created_at;	/* workspace creation or grant time; 0 = unknown */
	enum policy_via	 via;
	enum policy_perm perm;
	char		*prefix;	/* "" = all */
	time_t		 expires_at;
};

struct model	*model_new(void);
void		 model_free(struct model *);

/*
 * Adders copy their string arguments; the returned pointer is valid until
 * the next change of the same array.  SOURCE may be NULL.
 */
struct model_workspace *model_add_workspace(struct model *, const char *name,
		    const char *principal, const char *source, int line);
void		 model_workspace_add_member(struct model *, struct model_workspace *,
		    const char *principal);
/* Returns 0, or -1 if PRINCIPAL is not a member. */
int		 model_workspace_remove_member(struct model *, struct model_workspace *,
		    const char *principal);
struct model_bucket *model_add_bucket(struct model *, const char *name, const char *workspace,
		    int discoverable, const char *source, int line);
struct model_grant *model_add_grant(struct model *, const char *bucket, const char *grantee,
		    enum policy_perm, const char *prefix, time_t granted_at, time_t expires_at,
		    const char *source, int line);
struct model_request *model_add_request(struct model *, const char *bucket,
		    const char *requester, const char *workspace, const char *reason,
		    time_t requested_at, const char *source, int line);
/* Copies C (secrets and link scope included). */
void		 model_add_credential(struct model *, const struct policy_credential *c);
/* Deep copy of SRC into DST (overwritten, not freed); free with policy_credential_clear(). */
void		 model_credential_copy(struct policy_credential *dst,
		    const struct policy_credential *src);

/* Records that link LINK was issued with access key ISSUER (replacing any before). */
void		 model_set_link_issuer(struct model *, const char *link, const char *issuer);
/* The access key id LINK was issued with, or NULL. */
const char	*model_link_issuer(const struct model *, const char *link);

/*
 * Records BUCKET as retired from WORKSPACE (owned by PRINCIPAL) at T; one
 * record per bucket (model_index()).
 */
void		 model_add_retired(struct model *, const char *bucket, const char *workspace,
		    const char *principal, time_t t);
/* BUCKET's retired record, or NULL. */
struct model_retired *model_retired_find(const struct model *, const char *bucket);

/* Removers: 0, or -1 if there was nothing to remove. */
int		 model_remove_grant(struct model *, const char *bucket, const char *grantee);
int		 model_remove_request(struct model *, const char *bucket, const char *requester);
/* Removes the credential and, if it is a link, its issuer record. */
int		 model_remove_credential(struct model *, const char *access_key_id);
int		 model_remove_retired(struct model *, const char *bucket);

/*
 * Drops the workspaces, buckets, grants and requests added after there were
 * as many as given (what a refused Storage resource had added).
 */
void		 model_truncate(struct model *, size_t nworkspaces, size_t nbuckets,
		    size_t ngrants, size_t nrequests);

/*
 * Rebuilds the indexes and checks what spans records: a workspace defined
 * twice, a bucket claimed by two workspaces, two grants for one (bucket,
 * grantee), a grant on an unknown bucket, an access key id used twice,
 * quotas for one principal on two of its workspaces, a grant prefix longer
 * than MODEL_MAX_PREFIX, a bucket retired twice.  (A retired bucket a
 * workspace holds is no error: a hand-written file's operator may list it.)
 * Appends "FILE:LINE: ..." lines to ERRORS and returns -1 on any.
 */
int		 model_index(struct model *, struct sbuf *errors);

struct model_workspace *model_workspace_find(const struct model *, const char *name);
/* The first workspace PRINCIPAL owns, or NULL. */
struct model_workspace *model_workspace_of(const struct model *, const char *principal);
struct model_bucket *model_bucket_find(const struct model *, const char *name);
struct model_grant *model_grant_find(const struct model *, const char *bucket,
		    const char *grantee);
struct model_request *model_request_find(const struct model *, const char *bucket,
		    const char *requester);
const struct policy_credential *model_credential(const struct model *, const char *akid);
/* PRINCIPAL's quota overrides (on the workspace it owns that sets them), or NULL. */
const struct policy_quota *model_quota(const struct model *, const char *principal);
/* The workspace holding PRINCIPAL's quota overrides, or NULL. */
struct model_workspace *model_quota_workspace(const struct model *, const char *principal);

/*
 * What PRINCIPAL holds on BUCKET.  Owner beats member beats grant.  An
 * expired grant is reported as it is (policy_decide() says "grant
 * expired"); a grant whose prefix OUT cannot hold whole is no access.
 * Returns 0; OUT->bucket_exists is 0 for an unknown bucket.
 */
int		 model_access(const struct model *, const char *principal, const char *bucket,
		    time_t now, struct policy_access *out);

/*
 * Every bucket PRINCIPAL may use at NOW (owned, member of, granted and not
 * expired), sorted by name.  *OUT is allocated (NULL when none); free with
 * model_bucket_list_free().  Returns the count.
 */
size_t		 model_list_buckets(const struct model *, const char *principal, time_t now,
		    struct model_bucket_access **out);
void		 model_bucket_list_free(struct model_bucket_access *, size_t);

#endif
