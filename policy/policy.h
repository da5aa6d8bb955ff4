/*
 * policy: what the proxy asks the policy layer.  This header is the
 * contract between proxy/ and policy/; the model, the stores and the admin
 * CLI live behind it (policy/README.md).
 *
 *   1. s3op_classify()     method + bucket + key + query + headers -> S3 action
 *                          and the permission it needs            (pure, action.c)
 *   2. a store answers     access key id -> credential;
 *                          (principal, bucket) -> struct policy_access  (store)
 *   3. policy_decide()     access + action + key + now -> allow/deny + reason
 *                                                                 (pure, decide.c)
 *
 * Deny by default: anything the store cannot answer, any unknown action,
 * any expired grant is a denial.
 */
#ifndef S3GATE_POLICY_H
#define S3GATE_POLICY_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "proxy/httpmsg.h"
#include "proxy/uri.h"

/* ---- actions (action.c) ------------------------------------------------ */

enum s3_need {
	NEED_DENY = 0,		/* unknown or refused: nobody through the proxy */
	NEED_READ,		/* object/bucket reads */
	NEED_LIST,		/* listing: read, with a key prefix (prefix grants) */
	NEED_WRITE,		/* object writes */
	NEED_BUCKET_CONFIG,	/* owner or member, if the operator allows the op */
	NEED_PROXY,		/* answered by s3gate itself (ListBuckets, Create/DeleteBucket) */
};

/*
 * Config actions one request can amount to (s3_op.config_actions): its
 * row's, retention, legal hold, encryption.
 */
#define S3OP_MAX_CONFIG	4

struct s3_op {
	/* "GetObject", "ListObjectsV2", ... (static); NULL if s3op_classify returned -1
	   before classifying (a repeated query parameter or x-amz-copy-source) */
	const char	*action;
	enum s3_need	 need;
	/* CopyObject / UploadPartCopy: the decoded source; else NULL */
	char		*copy_bucket;
	char		*copy_key;
	char		*copy_version;
	/* NEED_LIST: the decoded "prefix" parameter ("" if none) */
	const char	*list_prefix;
	/*
	 * NEED_DENY, or a 400 (s3op_classify returned -1): why, for the error
	 * message.  Static, or DETAIL when it names a query parameter: so an
	 * s3_op from s3op_classify is not to be copied by value.
	 */
	const char	*deny_reason;
	/*
	 * Bucket policy / ACL / public-access-block calls, and any request
	 * whose headers set an ACL (x-amz-acl other than private or
	 * bucket-owner-full-control, x-amz-grant-*): classified NEED_DENY (the
	 * proxy is the authority), but if the operator enables them
	 * (allow_bucket_acl) policy_decide() treats them as NEED_BUCKET_CONFIG.
	 * s3op_config_permitted() folds both cases into bucket_config_allowed.
	 */
	int		 acl_op;
	/*
	 * Refused (NEED_DENY, and for an acl_op only while the operator does
	 * not enable them) as 501 NotImplemented rather than 403: ACL reads,
	 * which s3cmd makes before every server-side copy and goes on
	 * without on a 501, and POST Object.  policy_decision says so.
	 */
	int		 not_implemented;
	/*
	 * The bucket configuration calls the request amounts to, each of which
	 * bucket_config_ops must allow (static; unused slots NULL): its own
	 * action for a configuration call, and "PutObjectRetention" /
	 * "PutObjectLegalHold" for a write that sets object lock through
	 * headers (x-amz-object-lock-*, x-amz-bypass-governance-retention),
	 * which makes it NEED_BUCKET_CONFIG.
	 */
	const char	*config_actions[S3OP_MAX_CONFIG];
	/*
	 * A write with If-Match or If-None-Match: the backend answers 412
	 * unless the object is (or is not) there, or holds the bytes of a
	 * given ETag -- a read of the key in effect, which a WriteOnly grant
	 * does not give (policy_decide).
	 */
	int		 conditional_write;
	/* when headers raised what the request needs: which, and why (static); else NULL */
	const char	*header_reason;
	char		 detail[192];	/* deny_reason naming a query parameter (last: not cleared) */
};

/*
 * Classifies a request.  BUCKET is NULL for the service (GET /), KEY NULL for
 * bucket-level requests.  QUERY is the decoded query; HEAD gives the
 * headers (x-amz-copy-source, and those that set ACLs or object lock).
 * Fills OP; returns 0, or -1 for a request to be refused with 400
 * InvalidArgument (OP->deny_reason says why): a malformed copy source, a
 * repeated x-amz-copy-source header or a repeated query parameter (S3
 * servers differ in which of two values they use; the policy must decide
 * on the one the backend acts on).  Free with s3op_free().
 */
int	 s3op_classify(const char *method, const char *bucket, const char *key,
	    const struct query_list *query, const struct http_head *head, struct s3_op *op);
void	 s3op_free(struct s3_op *);

/*
 * Bucket configuration calls owners and members may use when the config
 * says nothing (bucket_config_ops): a comma-separated list of groups
 * (the subresource: "versioning", "lifecycle", "cors", "tagging", ...) or
 * exact action names ("GetBucketVersioning"); "all" allows every one.
 */
extern const char *const s3op_bucket_config_default;

/* Whether ACTION (a NEED_BUCKET_CONFIG action name) is in LIST (NULL: the default). */
int	 s3op_config_allowed(const char *action, const char *list);

/*
 * What the proxy passes to policy_decide() as bucket_config_allowed:
 * ALLOW_ACL (conf allow_bucket_acl) for acl_op calls, and every one of
 * OP's config_actions in CONFIG_OPS (s3op_config_allowed); 0 for a
 * request that is neither an acl_op nor NEED_BUCKET_CONFIG.
 */
int	 s3op_config_permitted(const struct s3_op *, const char *config_ops, int allow_acl);

/* Whether ACTION is one a WriteOnly grant allows (put and multipart uploads). */
int	 s3op_is_writeonly(const char *action);

/* ---- what one principal holds on one bucket ----------------------------- */

enum policy_via { VIA_NONE = 0, VIA_OWNER, VIA_MEMBER, VIA_GRANT };
enum policy_perm { PERM_NONE = 0, PERM_READONLY, PERM_READWRITE, PERM_WRITEONLY, PERM_FULL };

const char	*policy_via_str(enum policy_via);
const char	*policy_perm_str(enum policy_perm);
/* "ReadOnly" | "ReadWrite" | "WriteOnly" -> perm; -1 for anything else. */
int		 policy_perm_parse(const char *, enum policy_perm *);

struct policy_access {
	int		 bucket_exists;	/* known to the policy at all */
	int		 discoverable;
	enum policy_via	 via;
	enum policy_perm perm;		/* PERM_FULL for owner and member */
	char		 prefix[1024];	/* grant limited to keys with this prefix; "" = all */
	time_t		 expires_at;	/* grant end; 0 = never */
};

/* ---- the decision (decide.c) ------------------------------------------- */

struct policy_decision {
	int	 allow;
	/* short machine-readable reason for the access log: "owner", "member",
	   "grant ReadOnly", "no grant", "grant expired", "read-only grant",
	   "prefix outside grant", "unknown action", "store unavailable" ... */
	char	 reason[96];
	/* the S3 error Message for a denial: action, bucket, what is missing,
	   and for a discoverable bucket how to ask (POST /_s3gate/requests) */
	char	 message[512];
	/*
	 * Allowed only if every key the request body names (DeleteObjects)
	 * starts with the grant's prefix: the caller must check them.
	 */
	int	 check_body_keys;
	/* a denial s3gate answers 501 NotImplemented (s3_op.not_implemented), else 403 */
	int	 not_implemented;
};

/*
 * Decides whether the holder of ACCESS may do OP on BUCKET/KEY at NOW.
 * KEY may be NULL (bucket-level).  For NEED_LIST the prefix in OP is
 * checked against a prefix grant.  bucket_config_allowed says whether the
 * operator allows OP->action as a bucket configuration call.
 */
void	 policy_decide(const struct policy_access *, const struct s3_op *,
	    const char *bucket, const char *key, time_t now,
	    int bucket_config_allowed, struct policy_decision *);

/* ---- quotas --------------------------------------------------------------- */

/*
 * A principal's own quota figures, set only by the operator: spec.quotas on
 * the principal's Storage resource, or s3gate-admin quota set.  Each field
 * in SET replaces the config's default for that principal (0 there means no
 * limit); a field not in SET leaves the default.  Plain values, no heap:
 * copied with the credential on every lookup.
 */
#define POLICY_QUOTA_RATE		0x1
#define POLICY_QUOTA_BANDWIDTH		0x2
#define POLICY_QUOTA_CONNECTIONS	0x4
/* the config's bounds (quota_request_rate, quota_connections) */
#define POLICY_QUOTA_MAX_RATE		10000000
#define POLICY_QUOTA_MAX_CONNECTIONS	1000000

struct policy_quota {
	unsigned	 set;		/* POLICY_QUOTA_* of the fields that override */
	uint32_t	 request_rate;	/* requests per second */
	uint64_t	 bandwidth;	/* bytes per second and direction (at most INT64_MAX) */
	uint32_t	 connections;	/* concurrent requests */
};

/* ---- credentials --------------------------------------------------------- */

struct policy_credential {
	char	*access_key_id;
	char	*secret;		/* wiped on free */
	char	*principal;
	time_t	 expires_at;		/* 0 = never (session credentials have one) */
	char	*session_token;		/* NULL unless session credentials */
	/*
	 * A presigned link s3gate issued (s3gate-admin presign, POST
	 * /_s3gate/presign) is a credential scoped to one object: the access
	 * key id is the link id ("SGL" + 17), principal the issuer, expires_at
	 * the link's end.  The proxy allows only LINK_METHOD on
	 * LINK_BUCKET/LINK_KEY with it, authorized as the issuer.
	 */
	char	*link_bucket;
	char	*link_key;
	char	*link_method;		/* "GET" or "PUT"; NULL for ordinary credentials */
	uint64_t link_max_bytes;	/* download budget in bytes; 0: unlimited (or not yet known) */
	uint32_t link_max_uses;		/* --max-uses N as asked; 0: unlimited.  The CLI cannot
					   know the object's size: the proxy turns it into
					   link_max_bytes = N x size on first use */
	/* PRINCIPAL's quota overrides as the store holds them now (a link: the issuer's) */
	struct policy_quota quota;
	/*
	 * model_credential_copy() puts every string above in this one
	 * allocation (a request's copy is made on the hot path); NULL when
	 * each string is an allocation of its own.
	 */
	char	*block;
	size_t	 block_size;
};

/* Frees every field (secrets wiped) and zeroes C. */
void	 policy_credential_clear(struct policy_credential *);

#endif
