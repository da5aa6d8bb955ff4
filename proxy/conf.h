/*
 * conf: the configuration file, compiled into an immutable struct conf.
 *
 * Line-oriented "directive argument...", '#' comments, "include PATTERN".
 * The parser is table-driven (proxy/conf.c: name, arguments, default,
 * bounds, validator); unknown directives are errors; every error is
 * reported as "FILE:LINE: what is wrong; what to do".  A reload builds a new
 * struct conf and swaps one pointer; the old one is freed when no
 * connection uses it any more (refcount).
 */
#ifndef S3GATE_CONF_H
#define S3GATE_CONF_H

#include <stdint.h>
#include <sys/socket.h>

#include "proxy/s3addr.h"
#include "proxy/sbuf.h"
#include "proxy/upstream.h"

#define CONF_MAX_LISTEN		16
#define CONF_MAX_CERTS		16
#define CONF_MAX_DOMAINS	16
#define CONF_MAX_PROXY_FROM	32

struct conf_listen {
	struct sockaddr_storage	 addr;
	socklen_t		 addr_len;
	char			 text[128];	/* as written, for logs */
	char			 where[300];	/* "FILE:LINE" of the directive */
	int			 tls;
	int			 proxy_protocol;	/* a PROXY header (v1 or v2) comes first */
};

/* An address block (proxy_protocol_from): FAMILY AF_INET or AF_INET6, the first BITS of ADDR. */
struct conf_cidr {
	int			 family;
	unsigned char		 addr[16];
	int			 bits;
};

struct conf_cert {
	char	*cert_file;
	char	*key_file;
	char	 where[300];	/* "FILE:LINE" of the directive */
};

enum conf_store_kind { CONF_STORE_NONE, CONF_STORE_FILE, CONF_STORE_REDIS };

struct conf {
	int			 refcount;
	char			*file;			/* the main file, as given */

	struct conf_listen	 listen[CONF_MAX_LISTEN];
	int			 nlisten;
	struct conf_cert	 certs[CONF_MAX_CERTS];
	int			 ncerts;
	char			*service_domains[CONF_MAX_DOMAINS];
	int			 ndomains;
	/* backend_reserved_names: -1 not given (RGW's defaults), 0 none */
	char			*reserved_names[S3ADDR_MAX_RESERVED];
	int			 nreserved;
	char			*region;		/* default "us-east-1" */
	int			 sigv2;			/* accept Signature Version 2 */

	/* backend */
	char			*backend_url;
	char			 backend_where[300];	/* "FILE:LINE" of the backend directive */
	int			 backend_tls;
	char			*backend_host;		/* host[:port] as sent in Host */
	char			*backend_connect_host;	/* for getaddrinfo */
	char			*backend_port;
	char			*backend_access_key_id;
	char			*backend_secret;	/* read from the file; wiped on free */
	char			*backend_ca_file;
	char			*backend_region;	/* default: region */
	int			 backend_pool_size;	/* idle connections kept */
	/* backend_addresses: where to connect; none: what backend_connect_host resolves to */
	struct sockaddr_storage	 backend_addrs[UPSTREAM_MAX];
	socklen_t		 backend_addr_lens[UPSTREAM_MAX];
	int			 nbackend_addrs;
	int			 backend_fail_timeout_ms;	/* an address that failed is skipped so long */
	int			 backend_resolve_interval_ms;	/* the URL's host resolved again; 0: never */
	/* backend_fail_status: [STATUS - 500] set: such an answer is its gateway's failure */
	unsigned char		 backend_fail_status[100];

	/* policy */
	enum conf_store_kind	 store_kind;
	char			*store_path;		/* DIR or redis URL */
	char			*store_secret_key;	/* 32 bytes hex from a file: Redis secrets at rest */
	char			*store_password;	/* Redis AUTH from a file; NULL: the URL's, if any */
	int			 policy_cache_ttl_ms;
	int			 policy_max_staleness_ms;
	char			*bucket_create;		/* pattern or NULL */
	char			*bucket_config_ops;	/* which config ops owners may use, see policy */
	int			 allow_bucket_acl;	/* bucket policies/ACLs passed through */
	int			 cors_errors;		/* s3gate's own errors readable cross-origin */

	/* admin, logs, presign */
	char			*admin_listen;		/* "127.0.0.1:9090" or "off" */
	struct sockaddr_storage	 admin_addr;		/* admin_listen parsed; admin_addr_len 0: off */
	socklen_t		 admin_addr_len;
	char			*public_url;
	char			*access_log;		/* path, "stderr" or "off" */
	char			*error_log;		/* path or "stderr" */
	int			 log_level;		/* enum log_level */

	/* limits and timeouts */
	uint32_t		 max_head_size;
	uint32_t		 max_uri_size;
	uint32_t		 max_headers;
	int			 max_connections;
	int			 max_connections_per_ip;
	/* who may send PROXY headers (listen ... proxy_protocol): these blocks, or anyone */
	struct conf_cidr	 proxy_from[CONF_MAX_PROXY_FROM];
	int			 nproxy_from;
	int			 proxy_from_any;
	int			 head_timeout_ms;
	int			 idle_timeout_ms;
	int			 body_timeout_ms;	/* no progress for this long: abort */
	uint64_t		 body_min_rate;	/* bytes/s a body must move per body_timeout
						   while waiting on the client; 0: off */
	int			 backend_connect_timeout_ms;
	int			 backend_timeout_ms;	/* waiting for the response head */
	int			 shutdown_timeout_ms;

	/* streaming */
#define CONF_SPLICE_UPLOAD	0x1	/* client -> backend bodies */
#define CONF_SPLICE_DOWNLOAD	0x2	/* backend -> client bodies */
	int			 splice;		/* CONF_SPLICE_*: directions spliced */
	uint32_t		 pipe_size;
	uint32_t		 copy_buffer_size;

	/* processes */
	int			 workers;		/* 0 = auto (cores) */
	char			*user;

	/* quotas (defaults per principal) */
	uint32_t		 quota_request_rate;
	uint64_t		 quota_bandwidth;
	uint32_t		 quota_connections;
	int			 quota_shared;		/* through Redis when policy_store redis */
};

/*
 * Parses PATH (and what it includes).  Returns a new conf with refcount 1,
 * or NULL with every problem appended to ERRORS, one line each.  CHECK_FILES
 * (-t, start, reload) also checks what a worker needs to start: the files
 * named are opened (secrets and their permissions, the policy dir), each
 * certificate is loaded and matched with its key, backend_ca_file loaded,
 * the backend host resolved and `user` looked up.
 */
struct conf	*conf_load(const char *path, int check_files, struct sbuf *errors);
void		 conf_ref(struct conf *);
void		 conf_unref(struct conf *);

/*
 * The backend's addresses into U (emptied first): backend_addresses, else
 * every address the URL's host resolves to (getaddrinfo's order, at most
 * UPSTREAM_MAX).  0, or getaddrinfo's error (gai_strerror).  It may block
 * on DNS: at start and reload only, never in a request path.
 */
int		 conf_backend_resolve(const struct conf *, struct upstream *u);

/* "90s", "15m", "8h", "7d", "250ms" -> milliseconds; -1 if malformed. */
/* Whether SA (a client's socket address) may send PROXY headers: proxy_protocol_from. */
int		 conf_proxy_from_allows(const struct conf *, const struct sockaddr *sa);
int64_t		 conf_parse_duration_ms(const char *);
/* "50M", "1G", "4096" -> bytes; -1 if malformed. */
int64_t		 conf_parse_size(const char *);

#endif
