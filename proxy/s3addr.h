/*
 * s3addr: which bucket and key a request names.  Pure, no I/O.
 *
 * Path style ("/bucket/key") and virtual-hosted style ("bucket.DOMAIN" for
 * a configured service domain).  The path is decoded exactly once and
 * never normalised; the decoded bucket and key are what the policy sees and
 * what the backend is sent (re-encoded canonically), so the two cannot
 * disagree.  "/_s3gate/..." is the proxy's own API: bucket names start with
 * a letter or digit, so it can never be a bucket.
 */
#ifndef S3GATE_S3ADDR_H
#define S3GATE_S3ADDR_H

#include <stddef.h>

#include "proxy/s3err.h"

#define S3ADDR_INTERNAL_PREFIX	"/_s3gate/"

struct s3addr {
	char		*bucket;	/* decoded; NULL for the service (GET /) */
	char		*key;		/* decoded; NULL for bucket-level requests */
	int		 internal;	/* /_s3gate/...: the proxy's own API */
	char		*internal_path;	/* decoded path after /_s3gate/ */
	char		*storage;	/* the one allocation bucket, key and
					   internal_path point into */
	size_t		 storage_size;	/* its bytes (kept by s3addr_clear) */
	int		 virtual_host;
	const char	*raw_path;	/* into the request target */
	size_t		 raw_path_len;
	const char	*raw_query;	/* after '?', NULL if none */
	size_t		 raw_query_len;
};

/*
 * Parses TARGET (the raw request-target) with HOST (the Host header, may be
 * NULL) against DOMAINS.  Returns 0, or -1 with *ERR set (InvalidURI,
 * InvalidBucketName).  Free with s3addr_free().
 */
int	 s3addr_parse(const char *target, size_t target_len, const char *host,
	    size_t host_len, char *const *domains, int ndomains, struct s3addr *,
	    enum s3err *err);
/*
 * The same into an address that s3addr_clear() emptied (or zeroed): its
 * storage is used again when large enough, so that a connection's requests
 * do not allocate one each.
 */
int	 s3addr_parse_again(const char *target, size_t target_len, const char *host,
	    size_t host_len, char *const *domains, int ndomains, struct s3addr *,
	    enum s3err *err);
void	 s3addr_clear(struct s3addr *);
void	 s3addr_free(struct s3addr *);

/* S3 bucket naming rules (3-63, a-z 0-9 . -, letter or digit at both ends), not reserved. */
int	 s3addr_bucket_valid(const char *);
/* Whether the backend routes a first path segment of this name to another API (admin, Swift). */
int	 s3addr_bucket_reserved(const char *);

#define S3ADDR_MAX_RESERVED	16
#define S3ADDR_RESERVED_LEN	64	/* a name's bytes, its NUL included */
/*
 * The reserved names of this process from now on: N names (at most
 * S3ADDR_MAX_RESERVED, each shorter than S3ADDR_RESERVED_LEN: conf.c checks)
 * from the config's backend_reserved_names; N -1: RGW's defaults again.
 */
void	 s3addr_set_reserved(char *const *names, int n);

/* Appends the canonical backend path "/bucket/key" (S3-encoded). */
void	 s3addr_backend_path(const struct s3addr *, struct sbuf *);

#endif
