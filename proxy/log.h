/*
 * log: the error log.  A small fixed API (relayd style); every line carries
 * a level and, where the caller has one, a request id.  Secrets are never
 * passed here: callers log access key ids, never secrets or signatures.
 *
 * The access log (one JSON line per request) is apart: proxy/accesslog.h.
 */
#ifndef S3GATE_LOG_H
#define S3GATE_LOG_H

#include <stdarg.h>

enum log_level { LOG_LEVEL_ERROR, LOG_LEVEL_WARN, LOG_LEVEL_INFO, LOG_LEVEL_DEBUG };

/* Opens PATH ("stderr" or a file) for the error log; reopen on SIGUSR1. */
int	 log_open(const char *path, enum log_level);
void	 log_reopen(void);
void	 log_set_level(enum log_level);
int	 log_level_parse(const char *name, enum log_level *);

/* log_warn appends strerror(errno); log_warnx does not. */
void	 log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2), cold));
void	 log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2), cold));
void	 log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void	 log_debug_write(const char *fmt, ...) __attribute__((format(printf, 1, 2), cold));
void	 log_error(const char *fmt, ...) __attribute__((format(printf, 1, 2), cold));
/*
 * Debug lines are tested for inline: a request changes state a few times,
 * each with a debug line that is off in production, and neither the call
 * nor its arguments should cost anything then.
 */
extern enum log_level	 log_threshold;
#define log_debug(...) do {						\
	if (log_threshold >= LOG_LEVEL_DEBUG)				\
		log_debug_write(__VA_ARGS__);				\
} while (0)
/* Logs and exits 1. */
void	 fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
void	 fatalx(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

#endif
