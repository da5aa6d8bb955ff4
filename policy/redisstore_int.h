/*
 * redisstore's insides, shared by its three files and by nothing else
 * (redisstore.h is the module's interface):
 *
 *   redisstore.c        the URL and Sentinel's replies, secrets sealed at
 *                       rest, the values' text: what both sides share
 *   redisstore_cache.c  the proxy side: the cache, its connections, the ops
 *   redisstore_model.c  the admin side: the model loaded and saved, the lock
 *
 * Every function here keeps the contract its definition's comment states.
 */
#ifndef S3GATE_REDISSTORE_INT_H
#define S3GATE_REDISSTORE_INT_H

#include <stddef.h>
#include <time.h>

#include <hiredis/hiredis.h>

#include "policy/policy.h"
#include "proxy/conf.h"
#include "proxy/sbuf.h"

#define RS_MAX_SENTINELS	8

struct rs_hostport {
	char	 host[256];
	int	 port;
};

struct rs_addr {
	char	 host[256];	/* the server; with Sentinel, the master it named last */
	int	 port;
	char	 path[256];	/* unix socket; "" for TCP */
	int	 db;
	char	 password[256];	/* "" for none */
	/* redis+sentinel://: whom to ask which server is the master of what */
	struct rs_hostport sentinels[RS_MAX_SENTINELS];
	int	 nsentinels;	/* 0: not Sentinel */
	char	 master_name[128];
};

/* redisstore.c */

/* The monotonic clock in milliseconds. */
long long rs_now_ms(void);
/* Wipes and frees a secret S (NULL is fine). */
void	 rs_free_secret(char *s);
/* Appends LEN bytes at P to OUT as lower-case hex. */
void	 rs_hex(struct sbuf *out, const unsigned char *p, size_t len);
/* The additional data a sealed field is bound to: its key and field name. */
void	 rs_aad(struct sbuf *out, const char *key, const char *field);
/* CONF's Redis address: its policy_store URL, with policy_store_password's password if set. */
int	 rs_addr_conf(const struct conf *conf, struct rs_addr *a, struct sbuf *errors);
/* Splits S in place at the first N-1 spaces into FIELDS; -1 if there are fewer. */
int	 rs_split(char *s, char **fields, int n);
/* A decimal Unix time, not negative; 0, or -1 if malformed. */
int	 rs_parse_time(const char *s, time_t *out);
/* A link field of a cred hash into C; 0, 1 if FIELD is not one, -1 if bad. */
int	 rs_parse_link_field(const char *field, const char *v, struct policy_credential *c);
/* A link needs all three of bucket, key and method, or none. */
int	 rs_link_complete(const struct policy_credential *c);
/* A principal's quota overrides as one field: "RATE BANDWIDTH CONNECTIONS". */
void	 rs_quota_format(struct sbuf *out, const struct policy_quota *q);
/* The reverse of rs_quota_format(); -1 if malformed or out of bounds. */
int	 rs_quota_parse(const char *s, struct policy_quota *q);
/* bucket:B field p:P = "VIA PERM EXPIRES PREFIX" */
void	 rs_access_format(struct sbuf *out, const struct policy_access *a);
/* access:P field B = "VIA PERM EXPIRES CREATED WORKSPACE PREFIX" */
void	 rs_item_format(struct sbuf *out, enum policy_via via, enum policy_perm perm,
    time_t expires_at, time_t created_at, const char *workspace, const char *prefix);
/* VIA and PERM by name (neither "none" nor "None"); -1 if unknown. */
int	 rs_via_perm_parse(const char *via_s, const char *perm_s, enum policy_via *via,
    enum policy_perm *perm);
/* SENTINEL get-master-addr-by-name's reply: 0 and HOST, *PORT set, or -1. */
int	 rs_sentinel_reply_master(const redisReply *r, char *host, size_t host_size, int *port);
/* Why that reply (not NULL) names no master, for the log and errors. */
const char *rs_sentinel_reply_why(const redisReply *r);
/* Whether ROLE's reply says "master". */
int	 rs_role_is_master(const redisReply *r);
/* Notes the master SENTINEL named (logged when it changes), for redisstore_async_connect(). */
void	 rs_master_note(const char *url, const struct rs_hostport *sentinel, const char *name,
    const char *host, int port);

#endif
