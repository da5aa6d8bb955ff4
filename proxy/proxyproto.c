/*
 * proxyproto: the PROXY protocol header, versions 1 and 2 (proxyproto.h).
 * Strict: a header that is not exactly as the specification writes it is
 * refused, for a listener that takes PROXY headers takes them only from
 * the balancer, and the balancer writes them right.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <string.h>

#include "proxy/proxyproto.h"

#define PP1_MAX		107	/* "PROXY TCP6 " + two 39-byte addresses + two ports + CRLF */
#define PP2_HEAD	16

static const unsigned char pp1_sig[6] = "PROXY ";
static const unsigned char pp2_sig[12] = {
	0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a,
};

static enum proxyproto_result
pp_bad(const char **why, const char *what)
{
	*why = what;
	return PROXYPROTO_BAD;
}

/* The first N bytes of BUF are a prefix of SIG (or SIG whole when N >= its length). */
static int
pp_prefix(const unsigned char *buf, size_t n, const unsigned char *sig, size_t siglen)
{
	return memcmp(buf, sig, n < siglen ? n : siglen) == 0;
}

/* OUT's client: family AF, ADDR (4 or 16 bytes) and PORT (2 bytes), both in network order. */
static void
pp_set_src(struct proxyproto_header *out, int af, const void *addr, const void *port)
{
	memset(&out->src, 0, sizeof(out->src));
	if (af == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)(void *)&out->src;
		sin->sin_family = AF_INET;
		memcpy(&sin->sin_addr, addr, 4);
		memcpy(&sin->sin_port, port, 2);
		out->src_len = sizeof(*sin);
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)(void *)&out->src;
		sin6->sin6_family = AF_INET6;
		memcpy(&sin6->sin6_addr, addr, 16);
		memcpy(&sin6->sin6_port, port, 2);
		out->src_len = sizeof(*sin6);
	}
}

/* A port: 1 to 5 decimal digits, at most 65535. -1 if not. */
static long
pp1_port(const char *s, size_t len)
{
	long v = 0;
	size_t i;

	if (len == 0 || len > 5)
		return -1;
	for (i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v <= 65535 ? v : -1;
}

/* "PROXY TCP4|TCP6 SRC DST SPORT DPORT" or "PROXY UNKNOWN ...": LINE without its CRLF. */
static enum proxyproto_result
pp1_line(const char *line, size_t len, struct proxyproto_header *out, const char **why)
{
	const char *tok[5], *p = line + 6, *end = line + len, *sp;
	size_t toklen[5];
	char addr[2][INET6_ADDRSTRLEN];
	unsigned char bin[2][16];
	uint16_t nport;
	int n = 0, af;
	long port;

	if (len >= 13 && memcmp(p, "UNKNOWN", 7) == 0 && (len == 13 || p[7] == ' ')) {
		out->local = 1;
		return PROXYPROTO_DONE;
	}
	while (p <= end && n < 5) {
		if ((sp = memchr(p, ' ', (size_t)(end - p))) == NULL)
			sp = end;
		tok[n] = p;
		toklen[n++] = (size_t)(sp - p);
		p = sp + 1;
	}
	if (n != 5 || p <= end)
		return pp_bad(why, "a v1 header needs a protocol, two addresses and two ports");
	if (toklen[0] == 4 && memcmp(tok[0], "TCP4", 4) == 0)
		af = AF_INET;
	else if (toklen[0] == 4 && memcmp(tok[0], "TCP6", 4) == 0)
		af = AF_INET6;
	else
		return pp_bad(why, "a v1 header's protocol is TCP4, TCP6 or UNKNOWN");
	for (n = 0; n < 2; n++) {
		if (toklen[1 + n] == 0 || toklen[1 + n] >= sizeof(addr[n]))
			return pp_bad(why, "a v1 header's address is not one");
		memcpy(addr[n], tok[1 + n], toklen[1 + n]);
		addr[n][toklen[1 + n]] = '\0';
		if (inet_pton(af, addr[n], bin[n]) != 1)
			return pp_bad(why, "a v1 header's address is not one of its protocol");
	}
	if (pp1_port(tok[4], toklen[4]) == -1 || (port = pp1_port(tok[3], toklen[3])) == -1)
		return pp_bad(why, "a v1 header's port is not 0 to 65535");
	nport = htons((uint16_t)port);
	pp_set_src(out, af, bin[0], &nport);
	return PROXYPROTO_DONE;
}

static enum proxyproto_result
pp1(const unsigned char *buf, size_t len, struct proxyproto_header *out, const char **why)
{
	size_t i;

	for (i = 0; i < len && i < PP1_MAX; i++) {
		if (buf[i] == '\n')
			return pp_bad(why, "a v1 header ends with CR LF");
		if (buf[i] == '\r') {
			if (i + 2 > PP1_MAX)
				return pp_bad(why, "a v1 header longer than 107 bytes");
			if (i + 1 == len)
				return PROXYPROTO_MORE;
			if (buf[i + 1] != '\n')
				return pp_bad(why, "a v1 header ends with CR LF");
			out->len = i + 2;
			return pp1_line((const char *)buf, i, out, why);
		}
		if (buf[i] < ' ' || buf[i] > '~')
			return pp_bad(why, "a v1 header holds a byte that is not printable");
	}
	return len < PP1_MAX ? PROXYPROTO_MORE : pp_bad(why, "a v1 header longer than 107 bytes");
}

static enum proxyproto_result
pp2(const unsigned char *buf, size_t len, struct proxyproto_header *out, const char **why)
{
	size_t body;
	unsigned cmd, fam, proto;

	if (len < PP2_HEAD)
		return PROXYPROTO_MORE;
	if ((buf[12] & 0xf0) != 0x20)
		return pp_bad(why, "a v2 header of another version");
	cmd = buf[12] & 0x0f;
	if (cmd > 1)
		return pp_bad(why, "a v2 header's command is LOCAL or PROXY");
	body = (size_t)buf[14] << 8 | buf[15];
	if (PP2_HEAD + body > PROXYPROTO_MAX)
		return pp_bad(why, "a v2 header longer than s3gate takes (1024 bytes)");
	if (len < PP2_HEAD + body)
		return PROXYPROTO_MORE;
	out->len = PP2_HEAD + body;
	fam = buf[13] >> 4;
	proto = buf[13] & 0x0f;
	if (cmd == 0 || fam == 0 || fam == 3 || proto == 0) {
		/* LOCAL (the balancer's own check), or no address s3gate can count by */
		out->local = 1;
		return PROXYPROTO_DONE;
	}
	if (proto != 1)
		return pp_bad(why, "a v2 header for another transport than TCP");
	/* source address, destination address, source port, destination port */
	if (fam == 1 && body >= 12)
		pp_set_src(out, AF_INET, buf + PP2_HEAD, buf + PP2_HEAD + 8);
	else if (fam == 2 && body >= 36)
		pp_set_src(out, AF_INET6, buf + PP2_HEAD, buf + PP2_HEAD + 32);
	else
		return pp_bad(why, fam > 2 ? "a v2 header of an unknown address family" :
		    "a v2 header too short for its addresses");
	return PROXYPROTO_DONE;
}

enum proxyproto_result
proxyproto_parse(const unsigned char *buf, size_t len, struct proxyproto_header *out,
    const char **why)
{
	memset(out, 0, sizeof(*out));
	*why = NULL;
	if (len == 0)
		return PROXYPROTO_MORE;
	if (buf[0] == pp1_sig[0]) {
		if (!pp_prefix(buf, len, pp1_sig, sizeof(pp1_sig)))
			return pp_bad(why, "not a PROXY protocol header");
		return len < sizeof(pp1_sig) ? PROXYPROTO_MORE : pp1(buf, len, out, why);
	}
	if (!pp_prefix(buf, len, pp2_sig, sizeof(pp2_sig)))
		return pp_bad(why, "not a PROXY protocol header (the listener expects one first)");
	return len < sizeof(pp2_sig) ? PROXYPROTO_MORE : pp2(buf, len, out, why);
}
