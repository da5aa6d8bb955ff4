/*
 * utf8: the checks that keep text a client chose safe where it is shown:
 * the access log (JSON, which must be UTF-8) and s3gate-admin's lines on an
 * operator's terminal.  Pure: no I/O.
 */
#ifndef S3GATE_UTF8_H
#define S3GATE_UTF8_H

#include <stddef.h>

struct sbuf;

/*
 * The length of the whole UTF-8 character at P (1 to 4), or 0 if P does
 * not begin one: a stray continuation byte, an overlong form, a surrogate,
 * past U+10FFFF, or cut short (the NUL that ends a string is no
 * continuation).
 */
size_t	 utf8_char_len(const unsigned char *p);

/*
 * Appends S to SB with every control character -- C0, DEL and C1 (U+0080
 * to U+009F) -- and every byte that does not begin a whole UTF-8
 * character written as "\xNN" per byte; all else as it is.
 */
void	 utf8_append_printable(struct sbuf *sb, const char *s);

#endif
