/*
 * admin's insides, shared by its files and by nothing else (admin.h is the
 * module's interface):
 *
 *   admin.c          the command line and its dispatch, output and
 *                    failures, the store loaded and committed
 *   admin_creds.c    cred create, list, delete
 *   admin_access.c   member, request, requests, approve, grant, revoke;
 *                    access, who
 *   admin_quota.c    quota show, set, clear
 *   admin_links.c    presign: links issued, listed, revoked
 *   admin_buckets.c  bucket create, retired, release
 *   admin_backend.c  the backend asked directly (bucket create, sync, check)
 *   admin_sync.c     sync: a resource file applied
 *   admin_check.c    check
 *
 * Every function here keeps the contract its definition's comment states.
 */
#ifndef S3GATE_ADMIN_INT_H
#define S3GATE_ADMIN_INT_H

#include <stdio.h>
#include <time.h>

#include <jansson.h>

#include "policy/admin.h"
#include "policy/model.h"
#include "proxy/conf.h"
#include "proxy/sbuf.h"

#define ADMIN_MAX_POS		4

struct admin {
	struct conf	*conf;
	const char	*dir;
	char		*state_path;	/* the records the CLI owns come from here */
	int		 json;
	int		 lockfd;
	struct redisstore_lock *rlock;	/* policy_store redis */
	struct model	*model;
	json_t		*doc;		/* --json: printed at the end */
	FILE		*out;		/* every output goes to these two: the */
	FILE		*err;		/* proxy runs commands with memstreams */
	time_t		 now;
	enum admin_error error;		/* the first failure's kind */
};

struct admin_args {
	const char	*pos[ADMIN_MAX_POS];
	int		 npos;
	const char	*ttl;
	const char	*reason;
	const char	*permission;
	const char	*expires;
	const char	*principal;	/* presign */
	const char	*credential;	/* presign: the access key id issuing the link */
	const char	*method;
	const char	*max_uses;
	const char	*rate;		/* quota set */
	const char	*bandwidth;
	const char	*connections;
	const char	*owner;		/* grant, revoke: the caller the API checked */
};

/* What admin_commit() persists: the CLI's state file, its credentials file. */
#define ADMIN_STATE		0x01
#define ADMIN_CREDENTIALS	0x02

/* admin_backend_ensure(): the bucket is at the backend and someone else's. */
#define ADMIN_BACKEND_TAKEN	(-2)

/* admin.c */

/* One line on the error sink, the arguments' fault; returns the exit status 1. */
int	 admin_fail(struct admin *, const char *, ...) __attribute__((format(printf, 2, 3)));
/* One line on the error sink, a failure of KIND (the first one counts); returns 1. */
int	 admin_fail_kind(struct admin *, enum admin_error, const char *, ...)
    __attribute__((format(printf, 3, 4)));
/* Multi-line errors of KIND (one per problem), each prefixed; returns 1. */
int	 admin_fail_errors(struct admin *a, enum admin_error kind, const char *what,
    struct sbuf *errors);
/* One line of text for people on the output (nothing with --json). */
void	 admin_text(struct admin *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* T as the store writes times. */
void	 admin_time(time_t t, char *buf, size_t len);
/* "90s", "15m", "8h", "7d" -> seconds, > 0; -1 if malformed. */
long long admin_duration(const char *s);
/* OPT's VALUE (--expires, --ttl) -> seconds, 1 to ADMIN_MAX_EXPIRES; -1 after saying why. */
long long admin_lifetime(struct admin *a, const char *opt, const char *value);
/* The store's lock, then its state as A's model; 0, or the exit status after saying why. */
int	 admin_load(struct admin *a);
/* Removes expired links and those whose issuing key is gone; how many went. */
size_t	 admin_gc_links(struct model *m, time_t now);
/* Checks the changed model whole, then persists WHAT (ADMIN_STATE, ADMIN_CREDENTIALS). */
int	 admin_commit(struct admin *a, int what);
/* 0 if the CLI rewrites W's file, else the exit status after saying why. */
int	 admin_check_owned(struct admin *a, const struct model_workspace *w);

/* admin_creds.c */

/* cred create PRINCIPAL [--ttl D] */
int	 admin_cred_create(struct admin *a, struct admin_args *args);
/* cred list [PRINCIPAL] */
int	 admin_cred_list(struct admin *a, struct admin_args *args);
/* cred delete ACCESS_KEY_ID */
int	 admin_cred_delete(struct admin *a, struct admin_args *args);

/* admin_access.c */

/* member add (ADD) or remove WORKSPACE PRINCIPAL */
int	 admin_member(struct admin *a, struct admin_args *args, int add);
/* request BUCKET PRINCIPAL [--reason TEXT] */
int	 admin_request(struct admin *a, struct admin_args *args);
/* requests PRINCIPAL */
int	 admin_requests(struct admin *a, struct admin_args *args);
/* approve BUCKET PRINCIPAL [--permission P] [--expires D] [--owner P] */
int	 admin_approve(struct admin *a, struct admin_args *args);
/* grant BUCKET[/PREFIX] PRINCIPAL P [--expires D] [--owner P] */
int	 admin_grant(struct admin *a, struct admin_args *args);
/* revoke BUCKET PRINCIPAL [--owner P] */
int	 admin_revoke(struct admin *a, struct admin_args *args);
/* access PRINCIPAL */
int	 admin_access(struct admin *a, struct admin_args *args);
/* who BUCKET */
int	 admin_who(struct admin *a, struct admin_args *args);

/* admin_quota.c */

/* quota show|set|clear PRINCIPAL (SUB) */
int	 admin_quota(struct admin *a, const char *sub, struct admin_args *args);

/* admin_links.c */

/* presign --principal P ... s3://BUCKET/KEY */
int	 admin_presign(struct admin *a, struct admin_args *args);
/* presign list [--principal P] */
int	 admin_presign_list(struct admin *a, struct admin_args *args);
/* presign revoke ID [--principal P] */
int	 admin_presign_revoke(struct admin *a, struct admin_args *args);

/* admin_buckets.c */

/* bucket create PRINCIPAL BUCKET */
int	 admin_bucket_create(struct admin *a, struct admin_args *args);
/* bucket retired */
int	 admin_bucket_retired(struct admin *a, struct admin_args *args);
/* bucket release BUCKET */
int	 admin_bucket_release(struct admin *a, struct admin_args *args);
/* who BUCKET of a retired bucket (R): nobody may use it, and the way out. */
int	 admin_who_retired(struct admin *, const struct model_retired *);
/* Whether WS (owned by PRINCIPAL) may list the bucket whose retired record is R. */
int	 admin_retired_allows(const struct model_retired *r, const char *ws, const char *principal);
/* Appends to WHY how a retired bucket (held by WS, owned by PRINCIPAL) was retired. */
void	 admin_retired_why(struct sbuf *why, const char *bucket, const char *ws,
    const char *principal, time_t t);

/* admin_backend.c */

/* One signed request for PATH to the backend; the HTTP status, or -1 with the reason in ERR. */
int	 admin_backend_request(struct admin *a, const char *method, const char *path,
    int want_body, char *resp, size_t respsz, struct sbuf *err);
/* Creates BUCKET on the backend if it lacks it: 1, 0, ADMIN_BACKEND_TAKEN or -1. */
int	 admin_backend_ensure(struct admin *a, const char *bucket, struct sbuf *err);

/* admin_sync.c */

/* sync FILE|- */
int	 admin_sync(struct admin *a, struct admin_args *args);

/* admin_check.c */

/* check */
int	 admin_check(struct admin *a, struct admin_args *args);

#endif
