/*
 * test_utf8: utf8_append_printable() keeps whole UTF-8 characters and
 * printable ASCII as they are and escapes, byte by byte as "\xNN", every
 * control character (C0, DEL, C1 as U+0080..U+009F) and every byte that
 * does not begin a whole character: what s3gate-admin prints can neither
 * move an operator's cursor nor forge a line.
 */
#include <stdio.h>
#include <string.h>

#include "proxy/sbuf.h"
#include "proxy/utf8.h"
#include "tests/unit/testlib.h"

static const struct {
	const char	*in;
	const char	*shown;
} cases[] = {
	{ "", "" },
	{ "pub/data 2026 ~!@#$%^&*()\\\"'", "pub/data 2026 ~!@#$%^&*()\\\"'" },
	{ "r\xc3\xa9sum\xc3\xa9 \xe2\x9c\x93 \xf0\x9f\x98\x80", "r\xc3\xa9sum\xc3\xa9 \xe2\x9c\x93 \xf0\x9f\x98\x80" },
	{ "a\033[2Jb", "a\\x1B[2Jb" },					/* ESC: clear screen */
	{ "x\r\n+ grant forged", "x\\x0D\\x0A+ grant forged" },		/* a forged line */
	{ "\t\a\b\177", "\\x09\\x07\\x08\\x7F" },
	{ "c1 \xc2\x9b" "31m", "c1 \\xC2\\x9B31m" },			/* U+009B, CSI */
	{ "\xc2\x80\xc2\x9f\xc2\xa0", "\\xC2\\x80\\xC2\\x9F\xc2\xa0" },	/* U+00A0 is printable */
	{ "lone \x9b", "lone \\x9B" },					/* CSI of 8-bit terminals */
	{ "k\xff\xfe", "k\\xFF\\xFE" },
	{ "\xc3(", "\\xC3(" },						/* no continuation */
	{ "\xe2\x9c", "\\xE2\\x9C" },					/* cut at the end */
	{ "\xc0\xaf", "\\xC0\\xAF" },					/* overlong '/' */
	{ "\xed\xa0\x80", "\\xED\\xA0\\x80" },				/* a surrogate */
	{ "\xf4\x90\x80\x80", "\\xF4\\x90\\x80\\x80" },			/* past U+10FFFF */
};

int
main(void)
{
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct sbuf sb = SBUF_INIT;

		utf8_append_printable(&sb, cases[i].in);
		T_STREQ(sb.data != NULL ? sb.data : "", cases[i].shown, "printable: case %zu", i);
		sbuf_free(&sb);
	}
	T_OK(utf8_char_len((const unsigned char *)"\xf0\x9f\x98\x80") == 4 &&
	    utf8_char_len((const unsigned char *)"\xe2\x9c\x93") == 3 &&
	    utf8_char_len((const unsigned char *)"\xc3\xa9") == 2 &&
	    utf8_char_len((const unsigned char *)"a") == 1 &&
	    utf8_char_len((const unsigned char *)"\x80") == 0 &&
	    utf8_char_len((const unsigned char *)"\xc3") == 0, "utf8_char_len: 4, 3, 2, 1 and 0 for a stray or cut byte");
	return testlib_failed != 0;
}
