/*
 * test_deletexml: the DeleteObjects body parser that a prefix grant is
 * checked through -- what it accepts, how keys are unescaped, which key it
 * reports outside the prefix, and that anything but the plain structure is
 * refused (the backend's XML parser must see the same keys).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proxy/deletexml.h"
#include "proxy/sbuf.h"
#include "tests/unit/testlib.h"

#define OBJ(k)	"<Object><Key>" k "</Key></Object>"
#define DEL(objs)	"<Delete>" objs "</Delete>"

static const struct {
	const char	*name;
	const char	*body;
	const char	*prefix;
	int		 want;		/* keys, or -1: refused */
	const char	*outside;	/* NULL: none */
} cases[] = {
	/* the structures clients send */
	{ "one key", DEL(OBJ("a")), "", 1, NULL },
	{ "no key", DEL(""), "", 0, NULL },
	{ "declaration, namespace, Quiet, every Object field",
	  "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
	  "<Delete xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">\n"
	  "  <Quiet>true</Quiet>\n"
	  "  <Object><Key>a</Key><VersionId>v1</VersionId></Object>\n"
	  "  <Object><ETag>\"e\"</ETag><Key>b</Key><LastModifiedTime>t</LastModifiedTime>"
	  "<Size>3</Size></Object>\n"
	  "</Delete>\n", "", 2, NULL },
	{ "blanks between elements", " \r\n\t<Delete>\r\n\t<Object>\n <Key>a</Key>\n</Object>\t</Delete>\r\n",
	  "", 1, NULL },
	{ "empty key", DEL(OBJ("")), "", 1, NULL },
	/* prefixes */
	{ "keys inside the prefix", DEL(OBJ("docs/a") OBJ("docs/b/c")), "docs/", 2, NULL },
	{ "the first key outside is named", DEL(OBJ("docs/a") OBJ("other/x") OBJ("x2")), "docs/", 3,
	  "other/x" },
	{ "the prefix's parent is outside", DEL(OBJ("docs")), "docs/", 1, "docs" },
	{ "a longer name is outside", DEL(OBJ("docsx/a")), "docs/", 1, "docsx/a" },
	{ "an escaped slash is inside", DEL(OBJ("docs&#x2F;a")), "docs/", 1, NULL },
	{ "an escaped first byte is compared decoded", DEL(OBJ("&#100;ocs/a")), "docs/", 1, NULL },
	{ "a CR is an LF, as RGW reads it: outside a prefix with a CR", DEL(OBJ("a\rb/x")), "a\rb/",
	  1, "a\nb/x" },
	{ "CR LF is an LF: outside a prefix with CR LF", DEL(OBJ("a\r\nb/x")), "a\r\nb/", 1,
	  "a\nb/x" },
	{ "&#13; is a CR: inside a prefix with a CR", DEL(OBJ("a&#13;b/x")), "a\rb/", 1, NULL },
	{ "an entity before the prefix is outside", DEL(OBJ("&lt;docs/a")), "docs/", 1, "<docs/a" },
	{ "an empty prefix holds every key", DEL(OBJ("a") OBJ("/b")), "", 2, NULL },
	{ "outside, then refused", DEL(OBJ("z") "<Bad/>"), "a", -1, "z" },
	/* refused: not the plain structure */
	{ "empty body", "", "", -1, NULL },
	{ "blanks only", " \n", "", -1, NULL },
	{ "no Delete", OBJ("a"), "", -1, NULL },
	{ "Delete not closed", "<Delete>" OBJ("a"), "", -1, NULL },
	{ "Object without Key", DEL("<Object></Object>"), "", -1, NULL },
	{ "Object with two Keys", DEL("<Object><Key>a</Key><Key>b</Key></Object>"), "", -1, NULL },
	{ "unknown element in Object", DEL("<Object><Key>a</Key><Foo>x</Foo></Object>"), "", -1, NULL },
	{ "unknown element in Delete", DEL("<Foo>x</Foo>" OBJ("a")), "", -1, NULL },
	{ "Object not closed", DEL("<Object><Key>a</Key>"), "", -1, NULL },
	{ "Key not closed", DEL("<Object><Key>a</Object>"), "", -1, NULL },
	{ "Key closed by another tag", DEL("<Object><Key>a</Kex></Object>"), "", -1, NULL },
	{ "comment", DEL("<!-- c -->" OBJ("a")), "", -1, NULL },
	{ "comment inside Key", DEL(OBJ("a<!-- c -->b")), "", -1, NULL },
	{ "CDATA key", DEL(OBJ("<![CDATA[a]]>")), "", -1, NULL },
	{ "attribute on Key", DEL("<Object><Key x=\"1\">a</Key></Object>"), "", -1, NULL },
	{ "attribute on Delete", "<Delete a=\"1\">" OBJ("a") "</Delete>", "", -1, NULL },
	{ "single-quoted xmlns", "<Delete xmlns='x'>" OBJ("a") "</Delete>", "", -1, NULL },
	{ "xmlns not closed", "<Delete xmlns=\"x>" OBJ("a") "</Delete>", "", -1, NULL },
	{ "'<' inside xmlns", "<Delete xmlns=\"<x\">" OBJ("a") "</Delete>", "", -1, NULL },
	{ "namespace prefix", "<s3:Delete>" OBJ("a") "</s3:Delete>", "", -1, NULL },
	{ "blank inside a tag", DEL("<Object><Key >a</Key></Object>"), "", -1, NULL },
	{ "blank before a tag's '>'", "<Delete >" OBJ("a") "</Delete>", "", -1, NULL },
	{ "processing instruction inside", DEL("<?pi x?>" OBJ("a")), "", -1, NULL },
	{ "declaration not closed", "<?xml version=\"1.0\"" DEL(OBJ("a")), "", -1, NULL },
	{ "markup inside the declaration", "<?xml <Delete> ?>" DEL(OBJ("a")), "", -1, NULL },
	{ "text after Delete", DEL(OBJ("a")) "x", "", -1, NULL },
	{ "a second Delete", DEL(OBJ("a")) DEL(OBJ("b")), "", -1, NULL },
	{ "DOCTYPE", "<!DOCTYPE d [<!ENTITY e \"x\">]>" DEL(OBJ("&e;")), "", -1, NULL },
	/*
	 * The declaration: the keys are checked as UTF-8 bytes, so a body the
	 * backend would decode as another encoding is refused (ISO-8859-1 would
	 * turn the bytes of a key s3gate saw outside the prefix into another).
	 */
	{ "s3cmd's declaration", "<?xml version=\"1.0\" encoding=\"UTF-8\"?>" DEL(OBJ("a")), "", 1,
	  NULL },
	{ "encoding utf-8, single quotes", "<?xml version='1.0' encoding='utf-8'?>" DEL(OBJ("a")), "",
	  1, NULL },
	{ "no encoding", "<?xml version=\"1.0\"?>\n" DEL(OBJ("a")), "", 1, NULL },
	{ "standalone", "<?xml version=\"1.0\" encoding=\"Utf-8\" standalone=\"yes\"?>" DEL(OBJ("a")),
	  "", 1, NULL },
	{ "blanks around '=' and before '?>'",
	  "<?xml version = \"1.0\"\tencoding= 'UTF-8' ?>" DEL(OBJ("a")), "", 1, NULL },
	{ "encoding ISO-8859-1", "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?>"
	  DEL(OBJ("docs/\xe9")), "docs/", -1, NULL },
	{ "encoding latin1, single quotes", "<?xml version='1.0' encoding='latin1'?>" DEL(OBJ("a")),
	  "", -1, NULL },
	{ "encoding UTF-16", "<?xml version=\"1.0\" encoding=\"UTF-16\"?>" DEL(OBJ("a")), "", -1,
	  NULL },
	{ "encoding US-ASCII", "<?xml version=\"1.0\" encoding=\"US-ASCII\"?>" DEL(OBJ("a")), "",
	  -1, NULL },
	{ "encoding UTF8 (no hyphen)", "<?xml version=\"1.0\" encoding=\"UTF8\"?>" DEL(OBJ("a")), "",
	  -1, NULL },
	{ "encoding with a blank inside the quotes",
	  "<?xml version=\"1.0\" encoding=\"UTF-8 \"?>" DEL(OBJ("a")), "", -1, NULL },
	{ "two encodings", "<?xml version=\"1.0\" encoding=\"UTF-8\" encoding=\"ISO-8859-1\"?>"
	  DEL(OBJ("a")), "", -1, NULL },
	{ "encoding before version", "<?xml encoding=\"UTF-8\" version=\"1.0\"?>" DEL(OBJ("a")), "",
	  -1, NULL },
	{ "no version", "<?xml encoding=\"UTF-8\"?>" DEL(OBJ("a")), "", -1, NULL },
	{ "an unknown pseudo-attribute", "<?xml version=\"1.0\" charset=\"latin1\"?>" DEL(OBJ("a")),
	  "", -1, NULL },
	{ "no blank before encoding", "<?xml version=\"1.0\"encoding=\"UTF-8\"?>" DEL(OBJ("a")), "",
	  -1, NULL },
	{ "mismatched quotes", "<?xml version=\"1.0\" encoding=\"UTF-8'?>" DEL(OBJ("a")), "", -1,
	  NULL },
	{ "no blank after <?xml", "<?xmlversion=\"1.0\"?>" DEL(OBJ("a")), "", -1, NULL },
	{ "another processing instruction first", "<?xml-stylesheet href=\"x\"?>" DEL(OBJ("a")), "",
	  -1, NULL },
	{ "standalone maybe", "<?xml version=\"1.0\" standalone=\"maybe\"?>" DEL(OBJ("a")), "", -1,
	  NULL },
};

/* An entity in a key, and the key's bytes once unescaped (NULL: the body is refused). */
static const struct {
	const char	*escaped;
	const char	*want;
} entities[] = {
	{ "a&amp;b", "a&b" },
	{ "&lt;&gt;&quot;&apos;", "<>\"'" },
	{ "&amp;amp;", "&amp;" },		/* one pass only */
	{ "&#65;", "A" },
	{ "&#x41;", "A" },
	{ "&#xe9;", "\xc3\xa9" },		/* two UTF-8 bytes */
	{ "&#x20AC;", "\xe2\x82\xac" },		/* three */
	{ "&#x1F600;", "\xf0\x9f\x98\x80" },	/* four */
	{ "&#x10FFFF;", "\xf4\x8f\xbf\xbf" },	/* the last code point */
	{ "&#x0000041;", "A" },			/* leading zeros */
	{ "&#x00000000041;", "A" },
	{ "&#9;&#xA;&#xd;", "\t\n\r" },	/* the controls XML allows */
	/* line ends as XML parsers see them (RGW's too): CR LF and a lone CR are LF */
	{ "a\rb/x", "a\nb/x" },
	{ "a\r\nb/x", "a\nb/x" },
	{ "a\r\rb", "a\n\nb" },
	{ "a\n\rb", "a\n\nb" },
	{ "a&#13;b", "a\rb" },			/* only a reference is a CR */
	{ "a&#13;\r\nb", "a\r\nb" },
	{ "&#xD7FF;&#xE000;", "\xed\x9f\xbf\xee\x80\x80" },	/* around the surrogates */
	/* not XML: the body is refused (NULL), as the backend's parser refuses it */
	{ "&#x110000;", NULL },			/* past Unicode */
	{ "&#x10000000000000041;", NULL },	/* (and far past: no overflow) */
	{ "&#0;", NULL },			/* NUL never enters a key */
	{ "&#1;", NULL },			/* nor a control XML does not allow */
	{ "&#xD800;", NULL },			/* a surrogate */
	{ "&#xFFFE;", NULL },
	{ "&#X41;", NULL },			/* hex needs a lower-case x */
	{ "&#xZZ;", NULL },
	{ "&#x70zz;", NULL },			/* strtoul read 'p' here */
	{ "&#12a;", NULL },
	{ "&# 65;", NULL },
	{ "&#+65;", NULL },
	{ "&#-1;", NULL },
	{ "&#;", NULL },
	{ "&#x;", NULL },
	{ "&#65", NULL },			/* no ';' */
	{ "&foo;", NULL },			/* no such entity */
	{ "&AMP;", NULL },
	{ "&amp", NULL },
	{ "a&b", NULL },
	{ "&", NULL },
};

static void
test_cases(void)
{
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct deletexml_check chk = { cases[i].prefix, NULL };
		int n = deletexml_keys(cases[i].body, strlen(cases[i].body), &chk);

		T_OK(n == cases[i].want, "%s: %d keys (want %d)", cases[i].name, n, cases[i].want);
		T_STREQ(chk.outside, cases[i].outside, "%s: the key outside", cases[i].name);
		free(chk.outside);
	}
}

static void
test_entities(void)
{
	struct sbuf body = SBUF_INIT;
	size_t i;

	for (i = 0; i < sizeof(entities) / sizeof(entities[0]); i++) {
		/* no key starts with DEL: the first is reported, unescaped */
		struct deletexml_check chk = { "\x7f", NULL };
		int n;

		sbuf_reset(&body);
		sbuf_appendf(&body, DEL(OBJ("%s")), entities[i].escaped);
		n = deletexml_keys(body.data, body.len, &chk);
		if (entities[i].want == NULL) {
			T_OK(n == -1, "key \"%s\": the body is refused (%d)", entities[i].escaped, n);
		} else {
			T_OK(n == 1, "key \"%s\" accepted", entities[i].escaped);
			T_STREQ(chk.outside, entities[i].want, "key \"%s\" unescaped",
			    entities[i].escaped);
		}
		free(chk.outside);
	}
	sbuf_free(&body);
}

static void
test_limits(void)
{
	struct deletexml_check chk = { "p/", NULL };
	struct sbuf body = SBUF_INIT;
	char key[1025];
	int i, n;

	/* S3's largest request: 1000 keys of 1 KiB, within the body s3gate reads */
	memset(key, 'k', sizeof(key) - 1);
	key[sizeof(key) - 1] = '\0';
	key[0] = 'p';
	key[1] = '/';
	sbuf_appends(&body, "<Delete>");
	for (i = 0; i < 1000; i++)
		sbuf_appendf(&body, OBJ("%s"), key);
	sbuf_appends(&body, "</Delete>");
	T_OK(body.len <= DELETEXML_MAX_BODY, "1000 keys of 1 KiB fit DELETEXML_MAX_BODY (%zu bytes)",
	    body.len);
	n = deletexml_keys(body.data, body.len, &chk);
	T_OK(n == 1000 && chk.outside == NULL, "1000 keys of 1 KiB inside the prefix (%d)", n);
	free(chk.outside);
	sbuf_free(&body);

	/* a NUL inside the counted body is refused, wherever it is */
	{
		static const char nul[] = "<Delete><Object><Key>a\0b</Key></Object></Delete>";
		struct deletexml_check c2 = { "", NULL };

		T_OK(deletexml_keys(nul, sizeof(nul) - 1, &c2) == -1, "a NUL inside a key is refused");
		free(c2.outside);
	}
}

int
main(void)
{
	test_cases();
	test_entities();
	test_limits();
	return T_DONE();
}
