/*
 * utf8: see utf8.h.
 */
#include "proxy/sbuf.h"
#include "proxy/utf8.h"

size_t
utf8_char_len(const unsigned char *p)
{
	size_t n, i;
	unsigned int min;

	if (p[0] < 0x80)
		return 1;
	if (p[0] >= 0xc2 && p[0] <= 0xdf)
		n = 2, min = 0x80;
	else if (p[0] >= 0xe0 && p[0] <= 0xef)
		n = 3, min = 0x800;
	else if (p[0] >= 0xf0 && p[0] <= 0xf4)
		n = 4, min = 0x10000;
	else
		return 0;
	for (i = 1; i < n; i++)
		if ((p[i] & 0xc0) != 0x80)
			return 0;
	if (n == 3) {
		unsigned int cp = (p[0] & 0x0fu) << 12 | (p[1] & 0x3fu) << 6 | (p[2] & 0x3fu);
		if (cp < min || (cp >= 0xd800 && cp <= 0xdfff))
			return 0;
	} else if (n == 4) {
		unsigned int cp = (p[0] & 0x07u) << 18 | (p[1] & 0x3fu) << 12 |
		    (p[2] & 0x3fu) << 6 | (p[3] & 0x3fu);
		if (cp < min || cp > 0x10ffff)
			return 0;
	}
	return n;
}

/*
 * A terminal acts on control characters: ESC and CSI (0x9b, or U+009B in
 * UTF-8) begin sequences that move the cursor, retitle the window or
 * repaint what was printed before, and CR or LF forge a line.  Grant
 * prefixes, link keys and other names s3gate-admin prints may hold them
 * (an S3 key may hold any character), so they are shown escaped.  A lone
 * byte >= 0x80 is escaped too: a terminal not in UTF-8 reads 0x9b as CSI.
 */
void
utf8_append_printable(struct sbuf *sb, const char *s)
{
	const unsigned char *p;
	size_t n, i;

	for (p = (const unsigned char *)s; *p; p += n) {
		n = utf8_char_len(p);
		if (n == 1 && *p >= 0x20 && *p != 0x7f) {
			sbuf_appendc(sb, (char)*p);
			continue;
		}
		if (n > 1 && !(n == 2 && p[0] == 0xc2 && p[1] < 0xa0)) {
			sbuf_append(sb, (const char *)p, n);
			continue;
		}
		if (n == 0)
			n = 1;
		for (i = 0; i < n; i++)
			sbuf_appendf(sb, "\\x%02X", p[i]);
	}
}
