/*
 * test_proxyproto: the PROXY protocol header -- v1 lines and v2 blocks as
 * HAProxy and the specification write them, each given whole and cut at
 * every byte (a cut header asks for more, never parses as something else),
 * what follows the header left alone, LOCAL and UNKNOWN keeping the
 * socket's address, and the malformed ones refused.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "proxy/proxyproto.h"
#include "tests/unit/testlib.h"

static const unsigned char sig2[12] = {
	0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a,
};

/* The source address of H as text, "ADDR PORT", or "local". */
static const char *
src_text(const struct proxyproto_header *h)
{
	static char out[INET6_ADDRSTRLEN + 8];
	char a[INET6_ADDRSTRLEN] = "?";

	if (h->local)
		return "local";
	if (h->src.ss_family == AF_INET) {
		const struct sockaddr_in *s = (const struct sockaddr_in *)(const void *)&h->src;
		inet_ntop(AF_INET, &s->sin_addr, a, sizeof(a));
		snprintf(out, sizeof(out), "%s %u", a, ntohs(s->sin_port));
	} else if (h->src.ss_family == AF_INET6) {
		const struct sockaddr_in6 *s = (const struct sockaddr_in6 *)(const void *)&h->src;
		inet_ntop(AF_INET6, &s->sin6_addr, a, sizeof(a));
		snprintf(out, sizeof(out), "%s %u", a, ntohs(s->sin6_port));
	} else
		snprintf(out, sizeof(out), "family %d", h->src.ss_family);
	return out;
}

/*
 * BUF (LEN bytes, of which the header is HLEN) parses to WANT ("ADDR PORT"
 * or "local"); every cut before HLEN asks for more.
 */
static void
check_ok(const char *name, const unsigned char *buf, size_t len, size_t hlen, const char *want)
{
	struct proxyproto_header h;
	const char *why;
	size_t cut;
	int more = 1;

	for (cut = 0; cut < hlen; cut++)
		if (proxyproto_parse(buf, cut, &h, &why) != PROXYPROTO_MORE) {
			more = 0;
			break;
		}
	T_OK(more, "%s: cut at every byte before its end, asks for more (first wrong at %zu)", name, cut);
	T_OK(proxyproto_parse(buf, len, &h, &why) == PROXYPROTO_DONE, "%s: parses (%s)", name,
	    why ? why : "-");
	T_OK(h.len == hlen, "%s: the header is %zu bytes (got %zu), what follows is not taken",
	    name, hlen, h.len);
	T_STREQ(src_text(&h), want, "%s: the client", name);
}

static void
check_bad(const char *name, const unsigned char *buf, size_t len)
{
	struct proxyproto_header h;
	const char *why = NULL;

	T_OK(proxyproto_parse(buf, len, &h, &why) == PROXYPROTO_BAD && why != NULL,
	    "%s: refused (%s)", name, why ? why : "no reason");
}

static void
v1(void)
{
	static const struct {
		const char *name, *text, *want;
	} good[] = {
		{ "v1 TCP4", "PROXY TCP4 192.0.2.7 10.0.0.1 51234 443\r\n", "192.0.2.7 51234" },
		{ "v1 TCP6", "PROXY TCP6 2001:db8::1 2001:db8::2 1 443\r\n", "2001:db8::1 1" },
		{ "v1 TCP6, longest addresses",
		  "PROXY TCP6 ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff 65535 65535\r\n",
		  "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff 65535" },
		{ "v1 UNKNOWN", "PROXY UNKNOWN\r\n", "local" },
		{ "v1 UNKNOWN with addresses", "PROXY UNKNOWN ffff::1 ffff::2 1 2\r\n", "local" },
	};
	static const char *const bad[] = {
		"PROXY TCP4 192.0.2.7 10.0.0.1 51234\r\n",		/* a port missing */
		"PROXY TCP4 192.0.2.7 10.0.0.1 51234 443 x\r\n",	/* one too many */
		"PROXY TCP4 192.0.2.7 10.0.0.1 51234 443 \r\n",		/* a trailing blank */
		"PROXY TCP4  192.0.2.7 10.0.0.1 51234 443\r\n",		/* two blanks */
		"PROXY TCP4 2001:db8::1 10.0.0.1 51234 443\r\n",	/* IPv6 under TCP4 */
		"PROXY TCP6 192.0.2.7 2001:db8::2 1 443\r\n",		/* IPv4 under TCP6 */
		"PROXY TCP4 192.0.2.300 10.0.0.1 1 443\r\n",
		"PROXY TCP4 192.0.2.7 10.0.0.1 65536 443\r\n",
		"PROXY TCP4 192.0.2.7 10.0.0.1 -1 443\r\n",
		"PROXY TCP4 192.0.2.7 10.0.0.1 1 123456\r\n",
		"PROXY UDP4 192.0.2.7 10.0.0.1 1 443\r\n",
		"PROXY tcp4 192.0.2.7 10.0.0.1 1 443\r\n",
		"PROXY UNKNOWNX\r\n",
		"PROXY TCP4 192.0.2.7 10.0.0.1 1 443\n",		/* LF alone */
		"PROXY TCP4 192.0.2.7 10.0.0.1 1 443\rX",
		"PROXY TCP4 192.0.2.7\t10.0.0.1 1 443\r\n",
		"PROXY \r\n",
		"PROXZ TCP4 192.0.2.7 10.0.0.1 1 443\r\n",
		"GET / HTTP/1.1\r\n",					/* no header at all */
		"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03",		/* a TLS ClientHello */
	};
	unsigned char buf[256];
	char name[64];
	size_t i, n;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		n = strlen(good[i].text);
		memcpy(buf, good[i].text, n);
		memcpy(buf + n, "GET / HTTP/1.1\r\n", 16);	/* the request after it */
		check_ok(good[i].name, buf, n + 16, n, good[i].want);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(name, sizeof(name), "v1 malformed #%zu", i + 1);
		check_bad(name, (const unsigned char *)bad[i], strlen(bad[i]));
	}
	/* 107 bytes at most: no CR LF in them is refused, not waited on for ever */
	memset(buf, 0, sizeof(buf));
	memcpy(buf, "PROXY UNKNOWN ", 14);
	memset(buf + 14, 'a', 120);
	check_bad("v1 without CR LF in 107 bytes", buf, 134);
	T_OK(proxyproto_parse(buf, 106, &(struct proxyproto_header){ 0 }, &(const char *){ NULL }) ==
	    PROXYPROTO_MORE, "v1: 106 bytes without CR LF yet: more");
	memcpy(buf + 106, "\r\n", 2);
	check_bad("v1 of 108 bytes", buf, 108);
	memcpy(buf + 105, "\r\n", 2);
	check_ok("v1 UNKNOWN of exactly 107 bytes", buf, 107, 107, "local");
}

/* A v2 block: CMD (0 LOCAL, 1 PROXY), FAM byte, BODY of BLEN bytes; returns its length. */
static size_t
v2_make(unsigned char *out, unsigned cmd, unsigned fam, const unsigned char *body, size_t blen)
{
	memcpy(out, sig2, 12);
	out[12] = (unsigned char)(0x20 | cmd);
	out[13] = (unsigned char)fam;
	out[14] = (unsigned char)(blen >> 8);
	out[15] = (unsigned char)blen;
	if (blen > 0)
		memcpy(out + 16, body, blen);
	return 16 + blen;
}

static void
v2(void)
{
	unsigned char buf[2048], body[1100];
	size_t n;

	/* IPv4: src 198.51.100.9:40000, dst 10.0.0.1:443 */
	memcpy(body, (unsigned char[]){ 198, 51, 100, 9, 10, 0, 0, 1, 0x9c, 0x40, 0x01, 0xbb }, 12);
	n = v2_make(buf, 1, 0x11, body, 12);
	memcpy(buf + n, "\x16\x03\x01", 3);	/* a ClientHello after it */
	check_ok("v2 PROXY TCP over IPv4", buf, n + 3, n, "198.51.100.9 40000");
	/* with TLVs after the addresses (AWS NLB, HAProxy's unique id): skipped */
	memcpy(body + 12, (unsigned char[]){ 0xea, 0x00, 0x05, 'v', 'p', 'c', 'e', '1', 0x05, 0x00, 0x02, 'i', 'd' }, 13);
	n = v2_make(buf, 1, 0x11, body, 25);
	check_ok("v2 PROXY TCP over IPv4 with TLVs", buf, n, n, "198.51.100.9 40000");
	/* IPv6 */
	memset(body, 0, 36);
	body[0] = 0x20; body[1] = 0x01; body[2] = 0x0d; body[3] = 0xb8; body[15] = 0x05;
	body[16] = 0x20; body[17] = 0x01; body[31] = 0x06;
	body[32] = 0x01; body[33] = 0x00; body[34] = 0x01; body[35] = 0xbb;
	n = v2_make(buf, 1, 0x21, body, 36);
	check_ok("v2 PROXY TCP over IPv6", buf, n, n, "2001:db8::5 256");
	/* LOCAL: the balancer's health check, whatever it says */
	n = v2_make(buf, 0, 0x00, NULL, 0);
	check_ok("v2 LOCAL", buf, n, n, "local");
	n = v2_make(buf, 0, 0x11, body, 12);
	check_ok("v2 LOCAL with addresses", buf, n, n, "local");
	/* no address s3gate can count by: UNSPEC, UNIX */
	n = v2_make(buf, 1, 0x00, NULL, 0);
	check_ok("v2 PROXY UNSPEC", buf, n, n, "local");
	memset(body, 0, 216);
	n = v2_make(buf, 1, 0x31, body, 216);
	check_ok("v2 PROXY over a UNIX socket", buf, n, n, "local");

	n = v2_make(buf, 1, 0x11, body, 8);
	check_bad("v2 IPv4 with 8 bytes of addresses", buf, n);
	n = v2_make(buf, 1, 0x21, body, 12);
	check_bad("v2 IPv6 with 12 bytes of addresses", buf, n);
	n = v2_make(buf, 1, 0x12, body, 12);
	check_bad("v2 over UDP", buf, n);
	n = v2_make(buf, 1, 0x41, body, 12);
	check_bad("v2 of an unknown family", buf, n);
	n = v2_make(buf, 2, 0x11, body, 12);
	check_bad("v2 command 2", buf, n);
	n = v2_make(buf, 1, 0x11, body, 12);
	buf[12] = 0x11;
	check_bad("v2 with version 1 in the version byte", buf, n);
	memset(body, 0, sizeof(body));
	n = v2_make(buf, 1, 0x11, body, 1009);
	check_bad("v2 of 1025 bytes (1024 taken)", buf, 16);
	n = v2_make(buf, 1, 0x11, body, 1008);
	check_ok("v2 of exactly 1024 bytes", buf, n, n, "0.0.0.0 0");
	memcpy(buf, sig2, 12);
	buf[5] = 0x0e;
	check_bad("v2 signature with a byte changed", buf, 12);
}

int
main(void)
{
	v1();
	v2();
	return T_DONE();
}
