/*
 * accesslog: one JSON line per request, written with one write(2), whole
 * (at most PIPE_BUF bytes when the log is a pipe: see accesslog_write).
 * Never holds a secret: the access key id is logged, the secret never.
 */
#ifndef S3GATE_ACCESSLOG_H
#define S3GATE_ACCESSLOG_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

struct accesslog_entry {
	const char	*request_id;
	const char	*remote;
	const char	*method;
	const char	*principal;
	const char	*access_key_id;
	const char	*bucket;
	const char	*key;
	const char	*action;
	const char	*decision;	/* "allow", "deny", "-" */
	const char	*reason;
	const char	*error_code;	/* S3 error code s3gate answered, or NULL */
	const char	*backend_request_id;	/* the backend's x-amz-request-id, or NULL */
	const char	*user_agent;
	int		 status;
	uint64_t	 bytes_in;
	uint64_t	 bytes_out;
	double		 duration_ms;
	const char	*presign_id;	/* link id for issued presigned URLs */
	int64_t		 link_budget_left;	/* bytes; -1: no budget */
	/* the grant that allowed the request (via "grant"), else NULL prefix/0 expiry */
	const char	*via;
	const char	*permission;
	const char	*grant_prefix;
	time_t		 grant_expires_at;
};

/* "off", "stderr" or a path; returns -1 (errno) if the file cannot be opened. */
int	 accesslog_open(const char *target);
void	 accesslog_reopen(void);
void	 accesslog_write(const struct accesslog_entry *);
/* Whether lines are written (access_log is not off): else callers skip building them. */
int	 accesslog_enabled(void);

/* Appends S as a JSON string literal (quoted, escaped). */
struct sbuf;
void	 accesslog_json_string(struct sbuf *, const char *s);
/*
 * Appends E's line (WHEN its time), each string field a client chose (bucket,
 * key, reason, grant prefix, User-Agent) cut to CAP bytes (SIZE_MAX: none)
 * and the line marked "truncated" if one was.
 */
void	 accesslog_format(struct sbuf *, const struct accesslog_entry *e, const char *when,
	    size_t cap);

#endif
