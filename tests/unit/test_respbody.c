/*
 * test_respbody: CompleteMultipartUpload's <Location> becomes the URL the
 * client addressed: RGW's answer as it writes it, escaped URLs, a body
 * without the element, an element not closed, the element's name inside
 * a key (escaped, so not the element).
 */
#include <stdio.h>
#include <string.h>

#include "proxy/respbody.h"
#include "tests/unit/testlib.h"

#define XML	"<?xml version=\"1.0\" encoding=\"UTF-8\"?>"

static void
check(const char *name, const char *body, const char *url, int want_n, const char *want)
{
	struct sbuf out = SBUF_INIT;
	int n = respbody_set_location(body, strlen(body), url, strlen(url), &out);

	T_OK(n == want_n, "%s: %d element(s) replaced (got %d)", name, want_n, n);
	if (want != NULL)
		T_STREQ(out.data != NULL ? out.data : "", want, "%s: the body", name);
	sbuf_free(&out);
}

int
main(void)
{
	/* Ceph pacific's answer (rgw_rest_s3.cc), one line */
	check("RGW's answer names the client's URL, the rest as it came",
	    XML "<CompleteMultipartUploadResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
	    "<Location>http://10.0.0.7:7480/b/dir/k%20x</Location><Bucket>b</Bucket>"
	    "<Key>dir/k x</Key><ETag>&quot;abc-2&quot;</ETag></CompleteMultipartUploadResult>",
	    "https://s3.example:8443/b/dir/k%20x", 1,
	    XML "<CompleteMultipartUploadResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
	    "<Location>https://s3.example:8443/b/dir/k%20x</Location><Bucket>b</Bucket>"
	    "<Key>dir/k x</Key><ETag>&quot;abc-2&quot;</ETag></CompleteMultipartUploadResult>");
	check("the URL is escaped as XML text",
	    "<R><Location>http://rgw/b/k</Location></R>", "http://h/b/a&b<c>\"'", 1,
	    "<R><Location>http://h/b/a&amp;b&lt;c&gt;&quot;&apos;</Location></R>");
	check("an empty element gets the URL too", "<R><Location></Location></R>", "/b/k", 1,
	    "<R><Location>/b/k</Location></R>");
	check("every element is replaced",
	    "<Location>a</Location><Location>b</Location>", "u", 2,
	    "<Location>u</Location><Location>u</Location>");
	check("no element: the body unchanged",
	    "<CompleteMultipartUploadResult><Bucket>b</Bucket></CompleteMultipartUploadResult>",
	    "http://h/b/k", 0,
	    "<CompleteMultipartUploadResult><Bucket>b</Bucket></CompleteMultipartUploadResult>");
	check("the name inside a key is escaped text, not the element",
	    "<R><Key>&lt;Location&gt;http://rgw&lt;/Location&gt;</Key></R>", "u", 0,
	    "<R><Key>&lt;Location&gt;http://rgw&lt;/Location&gt;</Key></R>");
	check("an element not closed: refused", "<R><Location>http://rgw:7480/b/k", "u", -1, NULL);
	check("closed before opened, then not closed: refused",
	    "</Location><Location>http://rgw", "u", -1, NULL);
	check("an empty body", "", "u", 0, "");
	return T_DONE();
}
