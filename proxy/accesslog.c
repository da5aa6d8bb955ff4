#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "proxy/accesslog.h"
#include "proxy/sbuf.h"
#include "proxy/utf8.h"

static int	 accesslog_fd = -1;
static int	 accesslog_fd_whole;	/* a regular file: any write lands whole */
static char	*accesslog_path;

int
accesslog_open(const char *target)
{
	struct stat st;
	int fd;

	if (target == NULL || strcmp(target, "off") == 0)
		fd = -1;
	else if (strcmp(target, "stderr") == 0)
		fd = 2;
	else if ((fd = open(target, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640)) == -1)
		return -1;
	if (accesslog_fd > 2)
		close(accesslog_fd);
	accesslog_fd = fd;
	accesslog_fd_whole = fd != -1 && fstat(fd, &st) == 0 && S_ISREG(st.st_mode);
	if (accesslog_path != target) {
		free(accesslog_path);
		accesslog_path = (fd > 2 && target != NULL) ? strdup(target) : NULL;
	}
	return 0;
}

void
accesslog_reopen(void)
{
	char *p;

	if (accesslog_path == NULL)
		return;
	if ((p = strdup(accesslog_path)) == NULL)
		return;
	(void)accesslog_open(p);
	free(p);
}

/*
 * JSON text is UTF-8 (RFC 8259), and a reader that decodes the file stops
 * at the first line that is not: keys, User-Agents and other values a
 * client chose may hold any byte but NUL (a key "%FF", a User-Agent cut at
 * 255 bytes inside a character).  So each byte that does not begin a whole
 * UTF-8 character is written as U+FFFD, as Go's encoding/json does.
 */
void
accesslog_json_string(struct sbuf *sb, const char *s)
{
	const unsigned char *p;
	size_t n;

	if (s == NULL) {
		sbuf_appends(sb, "null");
		return;
	}
	sbuf_appendc(sb, '"');
	for (p = (const unsigned char *)s; *p; p += n) {
		n = 1;
		switch (*p) {
		case '"': sbuf_appends(sb, "\\\""); break;
		case '\\': sbuf_appends(sb, "\\\\"); break;
		case '\n': sbuf_appends(sb, "\\n"); break;
		case '\r': sbuf_appends(sb, "\\r"); break;
		case '\t': sbuf_appends(sb, "\\t"); break;
		default:
			if (*p < 0x20 || *p == 0x7f)
				sbuf_appendf(sb, "\\u%04x", *p);
			else if (*p < 0x80)
				sbuf_appendc(sb, (char)*p);
			else if ((n = utf8_char_len(p)) == 0) {
				sbuf_appends(sb, "\\ufffd");
				n = 1;
			} else
				sbuf_append(sb, (const char *)p, n);
		}
	}
	sbuf_appendc(sb, '"');
}

int
accesslog_enabled(void)
{
	return accesslog_fd != -1;
}

/*
 * A string field a client chose (key, bucket, ...), its value cut to CAP
 * bytes at a character's start when longer; *CUT is set if it was.
 */
static void
accesslog_field(struct sbuf *sb, const char *name, const char *value, size_t cap, int *cut)
{
	size_t len, keep;
	char *copy;

	sbuf_appendf(sb, ",\"%s\":", name);
	if (value == NULL || (len = strlen(value)) <= cap) {
		accesslog_json_string(sb, value);
		return;
	}
	keep = cap;
	while (keep > 0 && ((unsigned char)value[keep] & 0xc0) == 0x80)
		keep--;		/* not inside a character */
	if ((copy = strndup(value, keep)) == NULL)
		abort();
	accesslog_json_string(sb, copy);
	free(copy);
	*cut = 1;
}

void
accesslog_format(struct sbuf *sb, const struct accesslog_entry *e, const char *when, size_t cap)
{
	int cut = 0;

	sbuf_appends(sb, "{\"time\":");
	accesslog_json_string(sb, when);
	sbuf_appends(sb, ",\"request_id\":");
	accesslog_json_string(sb, e->request_id);
	sbuf_appends(sb, ",\"remote\":");
	accesslog_json_string(sb, e->remote);
	sbuf_appends(sb, ",\"principal\":");
	accesslog_json_string(sb, e->principal);
	sbuf_appends(sb, ",\"access_key_id\":");
	accesslog_json_string(sb, e->access_key_id);
	sbuf_appends(sb, ",\"method\":");
	accesslog_json_string(sb, e->method);
	accesslog_field(sb, "bucket", e->bucket, cap, &cut);
	accesslog_field(sb, "key", e->key, cap, &cut);
	sbuf_appends(sb, ",\"action\":");
	accesslog_json_string(sb, e->action);
	sbuf_appends(sb, ",\"decision\":");
	accesslog_json_string(sb, e->decision);
	accesslog_field(sb, "reason", e->reason, cap, &cut);
	sbuf_appendf(sb, ",\"status\":%d", e->status);
	sbuf_appends(sb, ",\"error\":");
	accesslog_json_string(sb, e->error_code);
	if (e->backend_request_id != NULL && *e->backend_request_id != '\0') {
		/* RGW's transaction id: what its own logs and a client's error report name */
		sbuf_appends(sb, ",\"backend_request_id\":");
		accesslog_json_string(sb, e->backend_request_id);
	}
	sbuf_appendf(sb, ",\"bytes_in\":%llu,\"bytes_out\":%llu,\"duration_ms\":%.3f",
	    (unsigned long long)e->bytes_in, (unsigned long long)e->bytes_out, e->duration_ms);
	if (e->presign_id != NULL) {
		sbuf_appends(sb, ",\"presign_id\":");
		accesslog_json_string(sb, e->presign_id);
		if (e->link_budget_left >= 0)
			sbuf_appendf(sb, ",\"link_budget_left\":%lld", (long long)e->link_budget_left);
	}
	if (e->via != NULL) {
		sbuf_appends(sb, ",\"via\":");
		accesslog_json_string(sb, e->via);
		sbuf_appends(sb, ",\"permission\":");
		accesslog_json_string(sb, e->permission);
		if (e->grant_prefix != NULL && *e->grant_prefix != '\0')
			accesslog_field(sb, "grant_prefix", e->grant_prefix, cap, &cut);
		if (e->grant_expires_at != 0) {
			struct tm gt;
			char gbuf[32];
			gmtime_r(&e->grant_expires_at, &gt);
			strftime(gbuf, sizeof(gbuf), "%Y-%m-%dT%H:%M:%SZ", &gt);
			sbuf_appends(sb, ",\"grant_expires_at\":");
			accesslog_json_string(sb, gbuf);
		}
	}
	accesslog_field(sb, "user_agent", e->user_agent, cap, &cut);
	if (cut)
		sbuf_appends(sb, ",\"truncated\":true");
	sbuf_appends(sb, "}\n");
}

void
accesslog_write(const struct accesslog_entry *e)
{
	struct sbuf sb = SBUF_INIT;
	struct timespec ts;
	struct tm tm;
	char when[64];
	size_t cap;

	if (accesslog_fd == -1)
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	snprintf(when, sizeof(when), "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ", tm.tm_year + 1900,
	    tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (ts.tv_nsec / 1000000) % 1000);
	accesslog_format(&sb, e, when, SIZE_MAX);
	/*
	 * The workers share the log.  A write to a file opened O_APPEND lands
	 * whole whatever its size, but one to a pipe (stderr under a container
	 * runtime or systemd) only up to PIPE_BUF bytes: a longer line could be
	 * cut by another worker's.  So such a line is made shorter -- the
	 * fields a client chose, a long key mostly, cut ever shorter and the
	 * line marked "truncated" -- until it fits.
	 */
	for (cap = 2048; !accesslog_fd_whole && sb.len > PIPE_BUF && cap >= 16; cap /= 2) {
		sbuf_reset(&sb);
		accesslog_format(&sb, e, when, cap);
	}
	/* A full disk must not stop the proxy: the line is dropped. */
	if (write(accesslog_fd, sb.data, sb.len) == -1)
		errno = 0;
	sbuf_free(&sb);
}
