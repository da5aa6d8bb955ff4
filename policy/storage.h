/*
 * storage: the platform's Storage custom resources (apiVersion
 * pkg.internal/v1beta1), read from kubectl's JSON List, a single JSON
 * object or multi-document YAML, and written back as a JSON List.
 *
 * One resource = one workspace: metadata.name, spec.principal (owner),
 * spec.members[] and spec.quotas (s3gate's additions: the owner's quota
 * overrides, {requestRate, bandwidth, connections}), spec.buckets[], the
 * grants the workspace gives on its own buckets (spec.bucketAccessGrants[])
 * and the requests its principal made (spec.bucketAccessRequests[]).
 */
#ifndef S3GATE_STORAGE_H
#define S3GATE_STORAGE_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <jansson.h>

#include "policy/model.h"
#include "proxy/sbuf.h"

#define STORAGE_API_VERSION	"pkg.internal/v1beta1"
#define STORAGE_KIND		"Storage"
/* Bounds on what one document may hold, so a hostile file costs little. */
#define STORAGE_MAX_DEPTH	32
#define STORAGE_MAX_NODES	1000000
/*
 * Members and buckets of one workspace (a resource, and what the CLI may
 * add): each member holds each bucket, and the Redis store derives a field
 * per (bucket, principal) with access -- a tenant who writes their own
 * resource must not make a million of them.
 */
#define STORAGE_MAX_MEMBERS	1000
#define STORAGE_MAX_BUCKETS	1000

/*
 * Parses DATA (LEN bytes; JSON if it starts with '{' or '[', else YAML)
 * into M, records marked with SOURCE (a file name, used in errors).
 * Returns 0, or -1 with "SOURCE:LINE: what; fix" lines appended to ERRORS
 * (JSON records carry no line: "SOURCE: item N (ws-x): ...").  On -1, M may
 * hold part of the input: callers parse into a fresh model and drop it.
 * Cross-resource rules are model_index()'s.
 */
int	 storage_parse(struct model *m, const char *source, const char *data, size_t len,
	    struct sbuf *errors);
/* Reads PATH and parses it as above (SOURCE = PATH). */
int	 storage_load_file(struct model *m, const char *path, struct sbuf *errors);
/*
 * The same for the admin CLI's state file (filestore.h): its List may also
 * hold "retiredBuckets" (struct model_retired), which other files and
 * sync's input may not set (they are not read there).
 */
int	 storage_parse_state(struct model *m, const char *source, const char *data, size_t len,
	    struct sbuf *errors);
int	 storage_load_state(struct model *m, const char *path, struct sbuf *errors);
/*
 * As storage_parse(), but a resource with errors (each in ERRORS) that has
 * a valid metadata.name adds nothing to M, and its name is appended to
 * *REFUSED (*NREFUSED; allocated, each name too): sync keeps what such a
 * workspace had.  A resource named in SKIP (NSKIP names, sorted by strcmp)
 * adds nothing either, and is not reported.  -1 only for errors no one
 * resource answers for (the document's syntax or size, a resource without
 * a valid name).
 */
int	 storage_parse_each(struct model *m, const char *source, const char *data, size_t len,
	    struct sbuf *errors, char *const *skip, size_t nskip, char ***refused,
	    size_t *nrefused);

/*
 * Appends M's workspaces (only those whose source is SOURCE, or all if
 * SOURCE is NULL) as a kubectl-style JSON List, with the grants on their
 * buckets and the requests standing on them, and M's retired buckets as
 * the List's "retiredBuckets" (when there are any).  Deterministic output.
 * Returns 0, or -1 with nothing appended to OUT if a time cannot be written
 * (storage_format_time()), each one named in ERRORS (may be NULL).
 */
int	 storage_write(const struct model *m, const char *source, struct sbuf *out,
	    struct sbuf *errors);

/*
 * Quota figures (spec.quotas, s3gate-admin quota set).  A size: bytes, or
 * with a binary suffix as in the config ("20M", "20MB") or as Kubernetes
 * writes it ("20Mi", "20MiB"): 20971520.  A count: decimal digits, at most
 * MAX.  0, or -1 if malformed.
 */
int	 storage_parse_size(const char *, uint64_t *out);
int	 storage_parse_count(const char *, uint32_t max, uint32_t *out);
/* Q's set fields as spec.quotas writes them: {"requestRate","bandwidth","connections"}. */
json_t	*storage_quota_json(const struct policy_quota *q);

/*
 * S3 bucket naming rules: 3-63 of a-z 0-9 . -, starts and ends alnum, no
 * "..", not an IP; and not a name the backend reserves (s3addr_bucket_reserved).
 */
int	 storage_bucket_name_valid(const char *);
/*
 * Principal (and workspace) names end up in messages, keys, files and
 * argv: 1-128 printable bytes, no space, '/', '"' or '\\'.
 */
int	 storage_principal_valid(const char *);

/* 9999-12-31T23:59:59Z: the last time four digits of year can say. */
#define STORAGE_MAX_TIME	253402300799LL
/*
 * RFC 3339 ("2025-10-14T08:09:10.817000+00:00", "...Z") -> UTC seconds; -1
 * if malformed.  Four digits of year from 1970, digits where digits go.
 */
int	 storage_parse_time(const char *, time_t *);
/*
 * UTC seconds -> "2025-10-14T08:09:10Z" (at least 21 bytes): exactly what
 * storage_parse_time() reads back.  A time before 1970 or after
 * STORAGE_MAX_TIME is refused: -1, and BUF holds "-" (for messages).
 */
int	 storage_format_time(time_t, char *buf, size_t len);

#endif
