/*
 * test_accesslog: accesslog_json_string() writes JSON text that is UTF-8
 * whatever bytes it is given: quotes, backslashes and control bytes
 * escaped, whole UTF-8 characters kept, and every byte that does not begin
 * one (stray continuation bytes, overlong forms, surrogates, past
 * U+10FFFF, a character cut short) written as U+FFFD; and that jansson
 * reads each result back as the string expected.
 */
#include <stdio.h>
#include <string.h>

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
	return T_DONE();
}
