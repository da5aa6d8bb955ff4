/*
 * quota: per-principal limits — request rate (token bucket), bandwidth per
 * direction (token bucket of bytes, enforced by pausing reads, never by
 * counting after the fact), concurrent requests.  Defaults come from the
 * config (quota_request_rate, quota_bandwidth, quota_connections; 0 = none).
 *
 * Each worker keeps its own buckets and takes 1/nworkers of every limit, so
 * the process as a whole holds the configured figure when SO_REUSEPORT
 * spreads the connections.  Pure: callers pass the clock.
 */
#ifndef S3GATE_QUOTA_H
#define S3GATE_QUOTA_H

#include <stdint.h>

enum quota_dir { QUOTA_IN = 0, QUOTA_OUT = 1 };

struct quota_limits {
	double		 request_rate;	/* requests per second; 0: none */
	double		 bandwidth;	/* bytes per second and direction; 0: none */
	uint32_t	 connections;	/* concurrent requests; 0: none */
};

struct quota_entry {
	struct quota_entry	*next;
	char			*principal;
	double			 req_tokens;
	double			 byte_tokens[2];
	double			 last;		/* seconds, monotonic */
	uint32_t		 active;	/* requests in flight */
};

#define QUOTA_SLOTS	1024

struct quota_table {
	struct quota_entry	*slots[QUOTA_SLOTS];
};

struct quota_entry *quota_get(struct quota_table *, const char *principal, double now,
		    const struct quota_limits *);
/* 1 if a request may start now; else 0 and *retry_after (seconds) is set. */
int		 quota_take_request(struct quota_entry *, const struct quota_limits *, double now,
		    double *retry_after);
/* Bytes that may move now in DIR (UINT64_MAX: no limit); 0 sets *wait (seconds). */
uint64_t	 quota_bytes_allowed(struct quota_entry *, const struct quota_limits *,
		    enum quota_dir, double now, double *wait);
void		 quota_bytes_used(struct quota_entry *, const struct quota_limits *,
		    enum quota_dir, uint64_t n);
void		 quota_table_free(struct quota_table *);

#endif
