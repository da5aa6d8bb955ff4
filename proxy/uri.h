/*
 * uri: percent-encoding as S3 does it.  Pure functions, no I/O.
 *
 * S3 rules (SigV4 "UriEncode"): the unreserved set A-Z a-z 0-9 - . _ ~ is
 * kept; every other byte becomes %XX with upper-case hex; '/' is kept in
 * paths and encoded in query names and values.  Paths are never normalised:
 * "//", "." and ".." segments are data in S3 keys.
 */
#ifndef S3GATE_URI_H
#define S3GATE_URI_H

#include <stddef.h>

#include "proxy/sbuf.h"

/* The value of one hex digit (either case), or -1. */
int	 uri_hexval(int c);

/* Appends the S3 encoding of SRC; keep_slash keeps '/' (paths). */
void	 uri_encode(struct sbuf *, const char *src, size_t len, int keep_slash);

/*
 * Decodes %XX escapes of SRC into DST (at least LEN+1 bytes); returns the
 * decoded length, or -1 on a malformed escape or a decoded NUL byte.
 * plus_is_space turns '+' into ' ' (form encoding; never for S3 paths).
 */
long	 uri_decode(char *dst, const char *src, size_t len, int plus_is_space);

/*
 * One query parameter, decoded, NUL-terminated (owned by the list), with
 * the lengths a decoded NUL cannot cut short (query_parse refuses one).
 * Whoever builds a list sets all five fields.
 */
struct query_param {
	char	*name;
	char	*value;		/* "" when the parameter had no '=' */
	int	 has_value;	/* whether '=' was present */
	size_t	 name_len;
	size_t	 value_len;
};

struct query_list {
	struct query_param	*params;
	size_t			 count;
	size_t			 size;	/* bytes query_parse used (wiped by query_clear
					   and query_free, which take only lists it made) */
	size_t			 cap;	/* bytes allocated at params (kept by query_clear) */
};

/*
 * Splits RAW (after '?', LEN bytes) on '&', decodes names and values ('+'
 * stays '+', as S3 does).  Returns 0, or -1 on a malformed escape or more
 * than max_params parameters.
 */
int	 query_parse(const char *raw, size_t len, size_t max_params, struct query_list *);
/*
 * The same into a list that query_clear() emptied (or zeroed): its block is
 * used again when large enough, so that a connection's requests do not
 * allocate one each.
 */
int	 query_parse_again(const char *raw, size_t len, size_t max_params, struct query_list *);
const struct query_param *query_find(const struct query_list *, const char *name);
void	 query_clear(struct query_list *);
void	 query_free(struct query_list *);

/*
 * Appends the SigV4 canonical query string of LIST: names and values
 * S3-encoded, sorted by encoded name then value, "name=value" joined by '&'.
 * Parameters named in EXCLUDE (NULL-terminated array, compared exactly) are
 * left out (X-Amz-Signature when verifying a presigned request).
 */
void	 query_canonical(struct sbuf *, const struct query_list *, const char *const *exclude);

#endif
