/*
 * deletexml: the keys of a DeleteObjects request body, read so that a
 * prefix grant can be checked against every key before the backend sees
 * the request (auth.c, stage BODY_KEYS).  Pure: no I/O, no connection.
 *
 * The body is parsed strictly: the plain structure S3 documents and
 * clients send, nothing else --
 *   [<?xml version="1.N"[ encoding="UTF-8"][ standalone="yes|no"]?>]
 *   <Delete[ xmlns="..."]> ( <Quiet>..</Quiet> |
 *       <Object> <Key>..</Key> [<VersionId>..</VersionId>] [<ETag>..</ETag>]
 *       [<LastModifiedTime>..</LastModifiedTime>] [<Size>..</Size>] </Object> )* </Delete>
 * with only blanks between elements.  Comments, CDATA, processing
 * instructions, attributes, namespace prefixes or blanks inside tags are
 * refused, and so is any encoding but UTF-8 (in any case; single quotes
 * and blanks around '=' as XML allows), so the keys checked are exactly
 * the keys the backend's XML parser sees.  Keys are unescaped (&amp; &lt;
 * &gt; &quot; &apos; &#N; &#xN;) before they are compared; an '&' that
 * starts none of these, or a reference to a character XML does not allow
 * (NUL, most controls, surrogates, past U+10FFFF), refuses the body, as the
 * backend's parser does.  Line ends are read as XML reads them: a CR LF or
 * a lone CR written as such is an LF, only &#13; a CR.
 */
#ifndef S3GATE_DELETEXML_H
#define S3GATE_DELETEXML_H

#include <stddef.h>

/* The largest body read to be checked: S3's 1000 keys of up to 1 KiB each, with room. */
#define DELETEXML_MAX_BODY	(2 * 1024 * 1024)

/* What the keys are checked against, and the first one that failed. */
struct deletexml_check {
	const char	*prefix;	/* every key must start with it */
	char		*outside;	/* the first key that does not, unescaped; the caller frees it */
};

/*
 * Parses BODY, LEN bytes with BODY[LEN] == '\0'.  Returns the number of
 * keys, or -1 if the body is not the structure above (a NUL byte inside
 * included).  CHK->outside may be set whichever it returns.
 */
int	deletexml_keys(const char *body, size_t len, struct deletexml_check *chk);

#endif
