/*
 * test_accesslog: accesslog_json_string() writes JSON text that is UTF-8
 * whatever bytes it is given: quotes, backslashes and control bytes
 * escaped, whole UTF-8 characters kept, and every byte that does not begin
 * one (stray continuation bytes, overlong forms, surrogates, past
 * U+10FFFF, a character cut short) written as U+FFFD; and that jansson
 * reads each result back as the string expected.  And that a line longer
 * than PIPE_BUF is written whole to a regular file and cut to fit, its
 * client-chosen fields shortened and the line marked "truncated", to a pipe
 * (where the workers' writes land whole only up to PIPE_BUF).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "proxy/accesslog.h"
#include "proxy/sbuf.h"
#include "tests/unit/testlib.h"

static const struct {
	const char	*in;
	const char	*json;		/* what is written */
	const char	*back;		/* what a JSON reader gets (UTF-8) */
} cases[] = {
	{ "plain", "\"plain\"", "plain" },
	{ "q\"b\\s", "\"q\\\"b\\\\s\"", "q\"b\\s" },
	{ "\r\n\t\033[31m\177", "\"\\r\\n\\t\\u001b[31m\\u007f\"", "\r\n\t\033[31m\177" },
	{ "r\xc3\xa9sum\xc3\xa9 \xe2\x9c\x93 \xf0\x9f\x98\x80", "\"r\xc3\xa9sum\xc3\xa9 \xe2\x9c\x93 \xf0\x9f\x98\x80\"",
	    "r\xc3\xa9sum\xc3\xa9 \xe2\x9c\x93 \xf0\x9f\x98\x80" },
	{ "k\xff\xfe", "\"k\\ufffd\\ufffd\"", "k\xef\xbf\xbd\xef\xbf\xbd" },
	{ "\xc3(", "\"\\ufffd(\"", "\xef\xbf\xbd(" },			/* no continuation */
	{ "\xc3", "\"\\ufffd\"", "\xef\xbf\xbd" },			/* cut at the end */
	{ "\xe2\x9c", "\"\\ufffd\\ufffd\"", "\xef\xbf\xbd\xef\xbf\xbd" },	/* cut, 3 bytes */
	{ "\x80x", "\"\\ufffdx\"", "\xef\xbf\xbdx" },			/* stray continuation */
	{ "\xc0\xaf", "\"\\ufffd\\ufffd\"", "\xef\xbf\xbd\xef\xbf\xbd" },	/* overlong '/' */
	{ "\xe0\x80\xaf", "\"\\ufffd\\ufffd\\ufffd\"", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd" },
	{ "\xed\xa0\x80", "\"\\ufffd\\ufffd\\ufffd\"", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd" },	/* surrogate */
	{ "\xf4\x90\x80\x80", "\"\\ufffd\\ufffd\\ufffd\\ufffd\"",
	    "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd" },	/* past U+10FFFF */
	{ "\xf4\x8f\xbf\xbf", "\"\xf4\x8f\xbf\xbf\"", "\xf4\x8f\xbf\xbf" },	/* U+10FFFF itself */
};

/* The entry of a request for a 3 000-character key of ESC and "é" (15 KiB as JSON). */
static void
long_entry(struct accesslog_entry *e, char *key, size_t size)
{
	size_t i;

	for (i = 0; i + 3 < size && i < 3000 * 3 / 2; i += 3) {
		key[i] = '\033';
		key[i + 1] = (char)0xc3;
		key[i + 2] = (char)0xa9;
	}
	key[i] = '\0';
	memset(e, 0, sizeof(*e));
	e->request_id = "r1";
	e->remote = "127.0.0.1";
	e->method = "GET";
	e->principal = "alice";
	e->bucket = "b";
	e->key = key;
	e->action = "GetObject";
	e->decision = "deny";
	e->status = 403;
	e->user_agent = "curl";
	e->link_budget_left = -1;
}

/* Reads FD to its end (or a second's silence on a pipe) into BUF; the length. */
static size_t
read_all(int fd, char *buf, size_t size)
{
	size_t got = 0;
	ssize_t n;

	while (got + 1 < size && (n = read(fd, buf + got, size - 1 - got)) > 0)
		got += (size_t)n;
	buf[got] = '\0';
	return got;
}

static void
test_long_lines(void)
{
	struct accesslog_entry e;
	struct sbuf sb = SBUF_INIT;
	static char key[8192], got[65536];
	char path[] = "/tmp/s3gate-test-accesslog.XXXXXX", fdpath[64];
	json_error_t jerr;
	json_t *v;
	const char *k;
	size_t len;
	int fd, p[2];

	long_entry(&e, key, sizeof(key));
	accesslog_format(&sb, &e, "2026-11-27T00:00:00.000Z", SIZE_MAX);
	v = json_loadb(sb.data, sb.len, 0, &jerr);
	T_OK(sb.len > PIPE_BUF && v != NULL && strcmp(json_string_value(json_object_get(v, "key")),
	    key) == 0 && json_object_get(v, "truncated") == NULL,
	    "format, no cap: the whole key (%zu bytes of line), not marked truncated", sb.len);
	json_decref(v);
	sbuf_reset(&sb);
	accesslog_format(&sb, &e, "2026-11-27T00:00:00.000Z", 100);
	v = json_loadb(sb.data, sb.len, 0, &jerr);
	k = v != NULL ? json_string_value(json_object_get(v, "key")) : NULL;
	T_OK(k != NULL && strlen(k) <= 100 && strlen(k) >= 97 && strncmp(k, key, strlen(k)) == 0 &&
	    json_is_true(json_object_get(v, "truncated")),
	    "format, cap 100: the key cut at a character's start (%zu bytes), marked truncated",
	    k ? strlen(k) : 0);
	json_decref(v);
	sbuf_free(&sb);

	/* a regular file: the line whole */
	fd = mkstemp(path);
	T_OK(fd != -1 && accesslog_open(path) == 0, "access log on a regular file");
	accesslog_write(&e);
	len = fd != -1 ? read_all(fd, got, sizeof(got)) : 0;
	v = json_loadb(got, len, 0, &jerr);
	T_OK(len > PIPE_BUF && v != NULL && strcmp(json_string_value(json_object_get(v, "key")), key) == 0,
	    "regular file: the %zu-byte line written whole", len);
	json_decref(v);
	if (fd != -1)
		close(fd);
	unlink(path);

	/* a pipe: cut to PIPE_BUF */
	if (pipe(p) == -1) {
		T_OK(0, "pipe: %s", strerror(errno));
		return;
	}
	snprintf(fdpath, sizeof(fdpath), "/dev/fd/%d", p[1]);
	T_OK(accesslog_open(fdpath) == 0, "access log on a pipe (%s)", fdpath);
	accesslog_write(&e);
	(void)accesslog_open("off");
	close(p[1]);
	len = read_all(p[0], got, sizeof(got));
	close(p[0]);
	v = json_loadb(got, len, 0, &jerr);
	k = v != NULL ? json_string_value(json_object_get(v, "key")) : NULL;
	T_OK(len <= PIPE_BUF && got[len - 1] == '\n' && k != NULL && strncmp(k, key, strlen(k)) == 0 &&
	    json_is_true(json_object_get(v, "truncated")) &&
	    strcmp(json_string_value(json_object_get(v, "action")), "GetObject") == 0,
	    "pipe: one line of %zu bytes (<= PIPE_BUF), the key cut, marked truncated, the rest there", len);
	json_decref(v);
}

/* The backend's request id: written (escaped) when there is one, absent when s3gate answered alone. */
static void
test_backend_request_id(void)
{
	struct accesslog_entry e = { .request_id = "R1", .method = "GET", .status = 200,
	    .backend_request_id = "tx00000a\"b-0067-default", .link_budget_left = -1 };
	struct sbuf sb = SBUF_INIT;
	json_t *v;

	accesslog_format(&sb, &e, "2026-11-28T09:00:00.000Z", SIZE_MAX);
	sbuf_appendc(&sb, '\0');
	v = json_loads(sb.data, 0, NULL);
	T_OK(v != NULL && json_is_string(json_object_get(v, "backend_request_id")) &&
	    strcmp(json_string_value(json_object_get(v, "backend_request_id")), "tx00000a\"b-0067-default") == 0,
	    "backend_request_id written as a JSON string: %s", sb.data);
	json_decref(v);
	e.backend_request_id = "";
	sbuf_reset(&sb);
	accesslog_format(&sb, &e, "2026-11-28T09:00:00.000Z", SIZE_MAX);
	sbuf_appendc(&sb, '\0');
	T_OK(strstr(sb.data, "backend_request_id") == NULL, "no backend answer: no backend_request_id");
	sbuf_free(&sb);
}

int
main(void)
{
	struct sbuf sb = SBUF_INIT;
	json_error_t jerr;
	json_t *v;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		sbuf_reset(&sb);
		accesslog_json_string(&sb, cases[i].in);
		sbuf_appendc(&sb, '\0');
		T_STREQ(sb.data, cases[i].json, "case %zu written", i);
		v = json_loads(sb.data, JSON_DECODE_ANY, &jerr);
		T_OK(v != NULL && json_is_string(v) && strcmp(json_string_value(v), cases[i].back) == 0,
		    "case %zu reads back as a JSON string%s%s", i, v == NULL ? ": " : "",
		    v == NULL ? jerr.text : "");
		json_decref(v);
	}
	sbuf_reset(&sb);
	accesslog_json_string(&sb, NULL);
	sbuf_appendc(&sb, '\0');
	T_STREQ(sb.data, "null", "NULL is null");
	sbuf_free(&sb);
	test_long_lines();
	test_backend_request_id();
	return T_DONE();
}
