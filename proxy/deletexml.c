/*
 * deletexml: the strict DeleteObjects body parser.  See deletexml.h for the
 * structure accepted and why nothing more is.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "proxy/deletexml.h"

/*
 * The code point of the character reference "&#N;" or "&#xN;" at R (R[1]
 * is '#'), its length in *LEN; -1 if it is not one XML allows: digits
 * only (hex with a lower-case x, as XML says), and a character XML may
 * hold (no NUL, no control but tab, LF, CR, no surrogate, nothing past
 * U+10FFFF).  The backend's XML parser refuses the others; so does s3gate,
 * rather than read a key it never sees (strtoul took "&#x70zz;" for 'p').
 */
static long
deletexml_charref(const char *r, size_t *len)
{
	const char *p = r + 2;
	int hex = *p == 'x';
	unsigned long cp = 0;
	size_t digits = 0;

	if (hex)
		p++;
	for (; hex ? isxdigit((unsigned char)*p) : isdigit((unsigned char)*p); p++, digits++) {
		cp = cp * (hex ? 16 : 10) + (unsigned long)(isdigit((unsigned char)*p) ? *p - '0' :
		    (*p | 0x20) - 'a' + 10);
		if (cp > 0x10ffff)
			return -1;
	}
	if (digits == 0 || *p != ';')
		return -1;
	if (cp < 0x20 && cp != 0x9 && cp != 0xa && cp != 0xd)
		return -1;
	if ((cp >= 0xd800 && cp <= 0xdfff) || cp == 0xfffe || cp == 0xffff)
		return -1;
	*len = (size_t)(p + 1 - r);
	return (long)cp;
}

/* Writes CP as UTF-8 at W; returns the byte after it. */
static char *
deletexml_utf8(char *w, unsigned long cp)
{
	if (cp < 0x80)
		*w++ = (char)cp;
	else if (cp < 0x800) {
		*w++ = (char)(0xc0 | (cp >> 6));
		*w++ = (char)(0x80 | (cp & 0x3f));
	} else if (cp < 0x10000) {
		*w++ = (char)(0xe0 | (cp >> 12));
		*w++ = (char)(0x80 | ((cp >> 6) & 0x3f));
		*w++ = (char)(0x80 | (cp & 0x3f));
	} else {
		*w++ = (char)(0xf0 | (cp >> 18));
		*w++ = (char)(0x80 | ((cp >> 12) & 0x3f));
		*w++ = (char)(0x80 | ((cp >> 6) & 0x3f));
		*w++ = (char)(0x80 | (cp & 0x3f));
	}
	return w;
}

/*
 * Decodes the XML escapes of S3 keys (&amp; &lt; &gt; &quot; &apos; &#N;
 * &#xN;) in place; -1 if S holds an '&' that starts none of them (XML has
 * no bare '&', and s3gate knows no other entity).  Never writes more than
 * it reads: an escape is longer than the UTF-8 it stands for.
 *
 * Line ends first, as every XML parser does (XML 1.0, 2.11): a CR LF or a
 * lone CR written as such is an LF (RGW deleted "a\nb/x" for a key "a\rb/x",
 * outside a prefix "a\rb/"); only &#13; is a CR.
 */
static int
deletexml_unescape(char *s)
{
	static const struct {
		const char	*name;
		size_t		 len;
		char		 ch;
	} named[] = {
		{ "&amp;", 5, '&' }, { "&lt;", 4, '<' }, { "&gt;", 4, '>' },
		{ "&quot;", 6, '"' }, { "&apos;", 6, '\'' },
	};
	char *r = s, *w = s;
	size_t i, len;
	long cp;

	while (*r != '\0') {
		if (*r == '\r') {
			*w++ = '\n';
			r += r[1] == '\n' ? 2 : 1;
			continue;
		}
		if (*r != '&') {
			*w++ = *r++;
			continue;
		}
		if (r[1] == '#') {
			if ((cp = deletexml_charref(r, &len)) < 0)
				return -1;
			w = deletexml_utf8(w, (unsigned long)cp);
			r += len;
			continue;
		}
		for (i = 0; i < sizeof(named) / sizeof(named[0]); i++)
			if (strncmp(r, named[i].name, named[i].len) == 0)
				break;
		if (i == sizeof(named) / sizeof(named[0]))
			return -1;
		*w++ = named[i].ch;
		r += named[i].len;
	}
	*w = '\0';
	return 0;
}

static int
deletexml_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static const char *
deletexml_skip_blanks(const char *p)
{
	while (deletexml_blank(*p))
		p++;
	return p;
}

/*
 * One pseudo-attribute of the declaration at P: blanks (at least one),
 * NAME, '=' with optional blanks around it, a value in matching quotes
 * (no '<', '&' or blank inside).  Returns the end of the value, its start
 * in *VALUE and its length in *VLEN; NULL if not exactly that.
 */
static const char *
deletexml_pseudo_attr(const char *p, const char *name, const char **value, size_t *vlen)
{
	size_t nl = strlen(name), n;
	char quote;

	if (!deletexml_blank(*p))
		return NULL;
	p = deletexml_skip_blanks(p);
	if (strncmp(p, name, nl) != 0)
		return NULL;
	p = deletexml_skip_blanks(p + nl);
	if (*p++ != '=')
		return NULL;
	p = deletexml_skip_blanks(p);
	if ((quote = *p) != '"' && quote != '\'')
		return NULL;
	n = strcspn(++p, "\"'<& \t\r\n");
	if (p[n] != quote)
		return NULL;
	*value = p;
	*vlen = n;
	return p + n + 1;
}

/*
 * The XML declaration at P ("<?xml"): version, then encoding and
 * standalone if present, in that order, nothing else.  The keys are
 * compared as the UTF-8 bytes they are here; a backend told
 * encoding="ISO-8859-1" would decode those bytes to other keys than the
 * ones checked against the prefix.  So only UTF-8 (in any case) or no
 * encoding at all (XML's default, UTF-8) is accepted.  Returns what
 * follows "?>"; NULL if the declaration is not that.
 */
static const char *
deletexml_decl(const char *p)
{
	const char *v, *q;
	size_t vl;

	if ((p = deletexml_pseudo_attr(p + 5, "version", &v, &vl)) == NULL ||
	    vl < 3 || strncmp(v, "1.", 2) != 0 || strspn(v + 2, "0123456789") != vl - 2)
		return NULL;
	if ((q = deletexml_pseudo_attr(p, "encoding", &v, &vl)) != NULL) {
		if (vl != 5 || strncasecmp(v, "UTF-8", 5) != 0)
			return NULL;
		p = q;
	}
	if ((q = deletexml_pseudo_attr(p, "standalone", &v, &vl)) != NULL) {
		if (!(vl == 3 && strncmp(v, "yes", 3) == 0) && !(vl == 2 && strncmp(v, "no", 2) == 0))
			return NULL;
		p = q;
	}
	p = deletexml_skip_blanks(p);
	return strncmp(p, "?>", 2) == 0 ? p + 2 : NULL;
}

/* "<TAG>text</TAG>" at P: the unescaped text in *OUT (owned); NULL if not exactly that. */
static const char *
deletexml_elem(const char *p, const char *tag, char **out)
{
	size_t tl = strlen(tag);
	const char *text, *end;

	if (p[0] != '<' || strncmp(p + 1, tag, tl) != 0 || p[1 + tl] != '>')
		return NULL;
	text = p + tl + 2;
	if ((end = strchr(text, '<')) == NULL || end[1] != '/' ||
	    strncmp(end + 2, tag, tl) != 0 || end[2 + tl] != '>')
		return NULL;
	if (out != NULL) {
		if ((*out = strndup(text, (size_t)(end - text))) == NULL)
			return NULL;
		if (deletexml_unescape(*out) == -1) {
			free(*out);
			*out = NULL;
			return NULL;
		}
	}
	return end + tl + 3;
}

int
deletexml_keys(const char *p, size_t len, struct deletexml_check *chk)
{
	int nkeys = 0;
	char *key, *val;
	const char *q;

	if (memchr(p, '\0', len) != NULL)
		return -1;
	p = deletexml_skip_blanks(p);
	if (strncmp(p, "<?xml", 5) == 0) {
		if ((q = deletexml_decl(p)) == NULL)
			return -1;
		p = deletexml_skip_blanks(q);
	}
	if (strncmp(p, "<Delete", 7) != 0)
		return -1;
	p += 7;
	if (strncmp(p, " xmlns=\"", 8) == 0) {
		if ((q = strchr(p + 8, '"')) == NULL || memchr(p + 8, '<', (size_t)(q - p - 8)) != NULL)
			return -1;
		p = q + 1;
	}
	if (*p++ != '>')
		return -1;
	for (;;) {
		p = deletexml_skip_blanks(p);
		if (strncmp(p, "</Delete>", 9) == 0)
			return *deletexml_skip_blanks(p + 9) == '\0' ? nkeys : -1;
		if ((q = deletexml_elem(p, "Quiet", NULL)) != NULL) {
			p = q;
			continue;
		}
		if (strncmp(p, "<Object>", 8) != 0)
			return -1;
		p += 8;
		key = NULL;
		for (;;) {
			p = deletexml_skip_blanks(p);
			if (strncmp(p, "</Object>", 9) == 0) {
				p += 9;
				break;
			}
			if (key == NULL && (q = deletexml_elem(p, "Key", &key)) != NULL) {
				p = q;
				continue;
			}
			val = NULL;
			if ((q = deletexml_elem(p, "VersionId", &val)) != NULL ||
			    (q = deletexml_elem(p, "ETag", &val)) != NULL ||
			    (q = deletexml_elem(p, "LastModifiedTime", &val)) != NULL ||
			    (q = deletexml_elem(p, "Size", &val)) != NULL) {
				free(val);
				p = q;
				continue;
			}
			free(key);
			return -1;
		}
		if (key == NULL)
			return -1;
		nkeys++;
		if (chk->outside == NULL && strncmp(key, chk->prefix, strlen(chk->prefix)) != 0)
			chk->outside = key;
		else
			free(key);
	}
}
