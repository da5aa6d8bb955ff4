#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "proxy/s3addr.h"
#include "proxy/uri.h"

/*
 * The first path segments Ceph RGW (its defaults: rgw_admin_entry,
 * rgw_swift_auth_entry, rgw_swift_url_prefix) routes to its other APIs
 * before S3 sees them: a "bucket" of that name would be an admin-ops or
 * Swift call, signed with the service credentials.  No S3 bucket can have
 * such a name there anyway.  A backend configured otherwise names its own
 * (backend_reserved_names); the process holds the list its config gave.
 */
static const char *const s3addr_rgw_reserved[] = { "admin", "auth", "swift" };
static char s3addr_reserved[S3ADDR_MAX_RESERVED][S3ADDR_RESERVED_LEN];
static int s3addr_nreserved = -1;	/* -1: RGW's defaults */

void
s3addr_set_reserved(char *const *names, int n)
{
	int i;

	s3addr_nreserved = n < 0 ? -1 : n > S3ADDR_MAX_RESERVED ? S3ADDR_MAX_RESERVED : n;
	for (i = 0; i < s3addr_nreserved; i++)
		snprintf(s3addr_reserved[i], sizeof(s3addr_reserved[i]), "%s", names[i]);
}

int
s3addr_bucket_reserved(const char *b)
{
	size_t i;

	if (s3addr_nreserved < 0) {
		for (i = 0; i < sizeof(s3addr_rgw_reserved) / sizeof(s3addr_rgw_reserved[0]); i++)
			if (strcmp(b, s3addr_rgw_reserved[i]) == 0)
				return 1;
		return 0;
	}
	for (i = 0; i < (size_t)s3addr_nreserved; i++)
		if (strcmp(b, s3addr_reserved[i]) == 0)
			return 1;
	return 0;
}

int
s3addr_bucket_valid(const char *b)
{
	size_t i, n = strlen(b);

	if (n < 3 || n > 63)
		return 0;
	for (i = 0; i < n; i++) {
		char c = b[i];
		if (!(islower((unsigned char)c) || isdigit((unsigned char)c) || c == '.' || c == '-'))
			return 0;
	}
	if (!isalnum((unsigned char)b[0]) || !isalnum((unsigned char)b[n - 1]))
		return 0;
	if (strstr(b, "..") != NULL)
		return 0;
	return !s3addr_bucket_reserved(b);
}

/*
 * The length of the bucket a virtual-hosted Host names (its first bytes,
 * before ".DOMAIN"), or 0 (path style).
 */
static size_t
s3addr_host_bucket_len(const char *host, size_t host_len, char *const *domains, int ndomains)
{
	size_t hl = host_len, dl;
	const char *colon;
	int i;

	if (host == NULL || host_len == 0)
		return 0;
	/* strip the port; IPv6 literals never name a bucket */
	if (host[0] == '[')
		return 0;
	if ((colon = memchr(host, ':', host_len)) != NULL)
		hl = (size_t)(colon - host);
	if (hl > 0 && host[hl - 1] == '.')
		hl--;		/* a fully qualified name's trailing dot */
	for (i = 0; i < ndomains; i++) {
		dl = strlen(domains[i]);
		if (hl > dl + 1 && host[hl - dl - 1] == '.' &&
		    strncasecmp(host + hl - dl, domains[i], dl) == 0)
			return hl - dl - 1;
	}
	return 0;
}

int
s3addr_parse(const char *target, size_t target_len, const char *host, size_t host_len,
    char *const *domains, int ndomains, struct s3addr *a, enum s3err *err)
{
	a->storage = NULL;
	a->storage_size = 0;
	return s3addr_parse_again(target, target_len, host, host_len, domains, ndomains, a, err);
}

/*
 * One block per address, kept from one request of a connection to the
 * next (a request's hot path allocates only when a longer path comes):
 * the decoded path, in which the bucket and the key are cut apart by a NUL
 * where the slash between them was, then a virtual-hosted bucket,
 * lower-cased.
 */
int
s3addr_parse_again(const char *target, size_t target_len, const char *host, size_t host_len,
    char *const *domains, int ndomains, struct s3addr *a, enum s3err *err)
{
	const char *q;
	char *path, *slash, *b, *storage = a->storage;
	size_t blen, i, need, storage_size = a->storage_size;
	long n;

	memset(a, 0, sizeof(*a));
	a->storage = storage;
	a->storage_size = storage_size;
	if (target_len == 0 || target[0] != '/') {
		*err = S3ERR_INVALID_URI;	/* absolute-form and '*' are not S3 */
		return -1;
	}
	q = memchr(target, '?', target_len);
	a->raw_path = target;
	a->raw_path_len = q ? (size_t)(q - target) : target_len;
	if (q != NULL) {
		a->raw_query = q + 1;
		a->raw_query_len = target_len - a->raw_path_len - 1;
	}
	blen = s3addr_host_bucket_len(host, host_len, domains, ndomains);
	need = a->raw_path_len + 1 + blen + 1;
	if (a->storage_size < need) {
		free(a->storage);
		if ((a->storage = malloc(need)) == NULL)
			abort();
		a->storage_size = need;
	}
	path = a->storage;
	if ((n = uri_decode(path, a->raw_path, a->raw_path_len, 0)) < 0) {
		s3addr_free(a);
		*err = S3ERR_INVALID_URI;
		return -1;
	}
	path[n] = '\0';

	/* The raw path decides the proxy namespace: "/_s3gate/" written as is. */
	if (a->raw_path_len >= strlen(S3ADDR_INTERNAL_PREFIX) &&
	    strncmp(a->raw_path, S3ADDR_INTERNAL_PREFIX, strlen(S3ADDR_INTERNAL_PREFIX)) == 0) {
		a->internal = 1;
		a->internal_path = path + strlen(S3ADDR_INTERNAL_PREFIX);
		return 0;
	}

	if (blen > 0) {
		a->virtual_host = 1;
		a->bucket = b = path + n + 1;
		for (i = 0; i < blen; i++)
			b[i] = (char)tolower((unsigned char)host[i]);
		b[blen] = '\0';
		if (n > 1)
			a->key = path + 1;
	} else if (n > 1) {
		a->bucket = path + 1;
		if ((slash = memchr(path + 1, '/', (size_t)n - 1)) != NULL) {
			*slash = '\0';
			if (slash[1] != '\0')
				a->key = slash + 1;
		}
	}
	if (a->bucket != NULL && !s3addr_bucket_valid(a->bucket)) {
		*err = S3ERR_INVALID_BUCKET_NAME;
		s3addr_free(a);
		return -1;
	}
	return 0;
}

/* Empties A for s3addr_parse_again, its storage kept (a path is no secret). */
void
s3addr_clear(struct s3addr *a)
{
	char *storage = a->storage;
	size_t storage_size = a->storage_size;

	memset(a, 0, sizeof(*a));
	a->storage = storage;
	a->storage_size = storage_size;
}

void
s3addr_free(struct s3addr *a)
{
	free(a->storage);
	a->storage = a->bucket = a->key = a->internal_path = NULL;
	a->storage_size = 0;
}

void
s3addr_backend_path(const struct s3addr *a, struct sbuf *sb)
{
	sbuf_appendc(sb, '/');
	if (a->bucket == NULL)
		return;
	uri_encode(sb, a->bucket, strlen(a->bucket), 1);
	if (a->key != NULL) {
		sbuf_appendc(sb, '/');
		uri_encode(sb, a->key, strlen(a->key), 1);
	}
}
