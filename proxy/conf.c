/*
 * conf: the table-driven configuration parser.
 *
 * Each directive is a row: name, argument count, how to store it, default,
 * bounds.  Defaults are applied by parsing the default text through the
 * same row, so a default can never be a value the parser would refuse.
 */
#include <sys/stat.h>

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <limits.h>
#include <netdb.h>
#include <pwd.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "policy/redisstore.h"
#include "proxy/conf.h"
#include "proxy/log.h"
#include "proxy/tls.h"

#define CONF_MAX_INCLUDE_DEPTH	8
#define CONF_MAX_ARGS		17	/* a directive and its words: lists take up to 16 */

enum conf_type {
	CT_STR,		/* char *, replaced by a later line */
	CT_INT,		/* int, decimal, within bounds */
	CT_U32,		/* uint32_t */
	CT_SIZE32,	/* uint32_t from "64k", "1M" */
	CT_SIZE64,	/* uint64_t from "50M" */
	CT_MS,		/* int milliseconds from "90s" */
	CT_BOOL,	/* int from on|off */
	CT_CUSTOM,	/* handler */
};

struct conf_parser;
typedef int conf_handler(struct conf_parser *, struct conf *, char **argv, int argc);

struct conf_directive {
	const char	*name;
	int		 min_args;
	int		 max_args;
	enum conf_type	 type;
	size_t		 offset;
	long long	 min, max;	/* bounds for numbers */
	const char	*default_text;	/* NULL: no default */
	conf_handler	*handler;
	const char	*usage;		/* for error messages */
};

#define CONF_MAX_FILES		256	/* files read per load, includes counted */

struct conf_parser {
	const char	*file;
	int		 line;
	int		 depth;
	char		*stack[CONF_MAX_INCLUDE_DEPTH + 1];	/* realpaths being read */
	int		*nfiles;	/* shared by the nested parsers */
	int		 check_files;
	struct sbuf	*errors;
	int		 nerrors;
};

static void conf_error(struct conf_parser *, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
conf_error(struct conf_parser *p, const char *fmt, ...)
{
	va_list ap;

	if (p->file != NULL)
		sbuf_appendf(p->errors, "%s:%d: ", p->file, p->line);
	va_start(ap, fmt);
	sbuf_vappendf(p->errors, fmt, ap);
	va_end(ap);
	sbuf_appendc(p->errors, '\n');
	p->nerrors++;
}

int64_t
conf_parse_duration_ms(const char *s)
{
	char *end;
	long long v;
	int64_t mul;

	if (s == NULL || !isdigit((unsigned char)*s))
		return -1;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || v < 0)
		return -1;
	if (strcmp(end, "ms") == 0)
		mul = 1;
	else if (strcmp(end, "s") == 0 || *end == '\0')
		mul = 1000;
	else if (strcmp(end, "m") == 0)
		mul = 60 * 1000;
	else if (strcmp(end, "h") == 0)
		mul = 3600 * 1000;
	else if (strcmp(end, "d") == 0)
		mul = 86400LL * 1000;
	else
		return -1;
	if (v > INT64_MAX / mul)
		return -1;
	return v * mul;
}

int64_t
conf_parse_size(const char *s)
{
	char *end;
	long long v;
	int64_t mul = 1;

	if (s == NULL || !isdigit((unsigned char)*s))
		return -1;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || v < 0)
		return -1;
	switch (tolower((unsigned char)*end)) {
	case '\0': mul = 1; break;
	case 'k': mul = 1024; break;
	case 'm': mul = 1024 * 1024; break;
	case 'g': mul = 1024LL * 1024 * 1024; break;
	case 't': mul = 1024LL * 1024 * 1024 * 1024; break;
	default: return -1;
	}
	if (*end != '\0' && end[1] != '\0' && !(tolower((unsigned char)end[1]) == 'b' && end[2] == '\0'))
		return -1;
	if (v > INT64_MAX / mul)
		return -1;
	return v * mul;
}

/* "ADDR:PORT", "[V6]:PORT", "*:PORT", ":PORT" */
static int
conf_parse_addr(const char *text, struct sockaddr_storage *ss, socklen_t *len)
{
	char host[256], *port;
	struct addrinfo hints, *res;
	const char *colon;

	if (text[0] == '[') {
		const char *close = strchr(text, ']');
		if (close == NULL || close[1] != ':' || (size_t)(close - text - 1) >= sizeof(host))
			return -1;
		memcpy(host, text + 1, (size_t)(close - text - 1));
		host[close - text - 1] = '\0';
		colon = close + 1;
	} else {
		colon = strrchr(text, ':');
		if (colon == NULL || (size_t)(colon - text) >= sizeof(host))
			return -1;
		memcpy(host, text, (size_t)(colon - text));
		host[colon - text] = '\0';
	}
	port = (char *)colon + 1;
	if (*port == '\0')
		return -1;
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV | AI_NUMERICHOST;
	if (getaddrinfo((host[0] == '\0' || strcmp(host, "*") == 0) ? NULL : host,
	    port, &hints, &res) != 0)
		return -1;
	memcpy(ss, res->ai_addr, res->ai_addrlen);
	*len = res->ai_addrlen;
	freeaddrinfo(res);
	return 0;
}

/* Reads a secret file: refused if group- or world-accessible (relayd style). */
static char *
conf_read_secret(struct conf_parser *p, const char *path, const char *what)
{
	struct stat st;
	char buf[1024];
	ssize_t n;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		conf_error(p, "cannot open %s file %s: %s; create it (mode 0600) or fix the path",
		    what, path, strerror(errno));
		return NULL;
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		conf_error(p, "%s file %s is not a regular file; give the path of a file", what, path);
		close(fd);
		return NULL;
	}
	if (st.st_mode & (S_IRWXG | S_IRWXO)) {
		conf_error(p, "%s file %s is accessible by group or others (mode %03o); chmod 600 %s",
		    what, path, (unsigned)(st.st_mode & 0777), path);
		close(fd);
		return NULL;
	}
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0) {
		conf_error(p, "%s file %s is empty or unreadable; put the secret on its first line",
		    what, path);
		return NULL;
	}
	buf[n] = '\0';
	buf[strcspn(buf, "\r\n")] = '\0';
	if (buf[0] == '\0') {
		conf_error(p, "%s file %s has an empty first line; put the secret on its first line",
		    what, path);
		explicit_bzero(buf, sizeof(buf));
		return NULL;
	}
	{
		char *s = strdup(buf);
		explicit_bzero(buf, sizeof(buf));
		if (s == NULL)
			abort();
		return s;
	}
}

static void
conf_set_str(char **slot, const char *value)
{
	free(*slot);
	if ((*slot = strdup(value)) == NULL)
		abort();
}

static int
conf_h_listen(struct conf_parser *p, struct conf *c, char **argv, int argc)
{
	struct conf_listen *l;
	int i;

	if (c->nlisten >= CONF_MAX_LISTEN) {
		conf_error(p, "too many listen lines (at most %d); remove some", CONF_MAX_LISTEN);
		return -1;
	}
	l = &c->listen[c->nlisten];
	memset(l, 0, sizeof(*l));
	if (conf_parse_addr(argv[1], &l->addr, &l->addr_len) == -1) {
		conf_error(p, "listen address \"%s\" is not ADDR:PORT; write e.g. 127.0.0.1:8080 or [::]:443",
		    argv[1]);
		return -1;
	}
	snprintf(l->text, sizeof(l->text), "%s", argv[1]);
	snprintf(l->where, sizeof(l->where), "%s:%d", p->file, p->line);
	for (i = 2; i < argc; i++) {
		int *flag = strcmp(argv[i], "tls") == 0 ? &l->tls :
		    strcmp(argv[i], "proxy_protocol") == 0 ? &l->proxy_protocol : NULL;

		if (flag == NULL) {
			conf_error(p, "unknown listen option \"%s\"; the options are \"tls\" and "
			    "\"proxy_protocol\"", argv[i]);
			return -1;
		}
		if (*flag) {
			conf_error(p, "listen option \"%s\" is given twice; keep one", argv[i]);
			return -1;
		}
		*flag = 1;
	}
	c->nlisten++;
	return 0;
}

static int
conf_h_cert(struct conf_parser *p, struct conf *c, char **argv, int argc)
{
	if (c->ncerts >= CONF_MAX_CERTS) {
		conf_error(p, "too many tls_certificate lines (at most %d); remove some", CONF_MAX_CERTS);
		return -1;
	}
	conf_set_str(&c->certs[c->ncerts].cert_file, argv[1]);
	conf_set_str(&c->certs[c->ncerts].key_file, argv[2]);
	snprintf(c->certs[c->ncerts].where, sizeof(c->certs[c->ncerts].where), "%s:%d", p->file, p->line);
	c->ncerts++;
	if (p->check_files) {
		struct sbuf why = SBUF_INIT;
		struct stat st;
		int bad = 0;

		if (stat(argv[1], &st) == -1 && ++bad)
			conf_error(p, "certificate %s: %s; give the path of a PEM file", argv[1], strerror(errno));
		if (stat(argv[2], &st) == -1 && ++bad)
			conf_error(p, "key %s: %s; give the path of a PEM file", argv[2], strerror(errno));
		else if ((st.st_mode & (S_IRWXG | S_IRWXO)) && ++bad)
			conf_error(p, "key %s is accessible by group or others (mode %03o); chmod 600 %s",
			    argv[2], (unsigned)(st.st_mode & 0777), argv[2]);
		/* what the workers will do: a pair that does not load would stop every one */
		if (!bad && tls_check_certificate(argv[1], argv[2], &why) == -1)
			conf_error(p, "%s", why.data);
		sbuf_free(&why);
	}
	return 0;
}

static int
conf_h_domain(struct conf_parser *p, struct conf *c, char **argv, int argc)
{
	char *d;

	if (c->ndomains >= CONF_MAX_DOMAINS) {
		conf_error(p, "too many service_domain lines (at most %d); remove some", CONF_MAX_DOMAINS);
		return -1;
	}
	if (argv[1][0] == '.' || strchr(argv[1], '/') != NULL || strchr(argv[1], ':') != NULL) {
		conf_error(p, "service_domain \"%s\" is not a host name; write e.g. s3.example.org", argv[1]);
		return -1;
	}
	if ((d = strdup(argv[1])) == NULL)
		abort();
	for (char *q = d; *q; q++)
		*q = (char)tolower((unsigned char)*q);
	c->service_domains[c->ndomains++] = d;
	return 0;
}

/*
 * proxy_protocol_from CIDR... | any: the load balancers a proxy_protocol
 * listener takes PROXY headers from.  An address alone is one host.
 */
static int
conf_h_proxy_from(struct conf_parser *p, struct conf *c, char **argv, int argc)
{
	char text[INET6_ADDRSTRLEN + 8], *slash, *end;
	struct conf_cidr *b;
	long bits;
	int i, max;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "any") == 0) {
			c->proxy_from_any = 1;
			continue;
		}
		if (c->nproxy_from >= CONF_MAX_PROXY_FROM) {
			conf_error(p, "too many proxy_protocol_from blocks (at most %d); write wider ones",
			    CONF_MAX_PROXY_FROM);
			return -1;
		}
		b = &c->proxy_from[c->nproxy_from];
		memset(b, 0, sizeof(*b));
		snprintf(text, sizeof(text), "%s", argv[i]);
		if ((slash = strchr(text, '/')) != NULL)
			*slash = '\0';
		b->family = strchr(text, ':') != NULL ? AF_INET6 : AF_INET;
		max = b->family == AF_INET ? 32 : 128;
		bits = max;
		if (slash != NULL) {
			bits = strtol(slash + 1, &end, 10);
			if (slash[1] == '\0' || *end != '\0' || bits < 0 || bits > max)
				bits = -1;
		}
		if (strlen(argv[i]) >= sizeof(text) || bits < 0 ||
		    inet_pton(b->family, text, b->addr) != 1) {
			conf_error(p, "proxy_protocol_from \"%s\" is not an address or address/bits; "
			    "write e.g. 10.0.0.0/8, 192.0.2.7 or fd00::/8 (or any)", argv[i]);
			return -1;
		}
		b->bits = (int)bits;
		c->nproxy_from++;
	}
	return 0;
}

/* Whether the first BITS bits of A and B agree. */
static int
conf_bits_match(const unsigned char *a, const unsigned char *b, int bits)
{
	int whole = bits / 8, rest = bits % 8;

	if (memcmp(a, b, (size_t)whole) != 0)
		return 0;
	return rest == 0 || ((a[whole] ^ b[whole]) & (0xff << (8 - rest)) & 0xff) == 0;
}

int
conf_proxy_from_allows(const struct conf *c, const struct sockaddr *sa)
{
	const unsigned char *addr;
	int family, i;

	if (c->proxy_from_any)
		return 1;
	if (sa->sa_family == AF_INET) {
		family = AF_INET;
		addr = (const unsigned char *)&((const struct sockaddr_in *)(const void *)sa)->sin_addr;
	} else if (sa->sa_family == AF_INET6) {
		const struct in6_addr *a6 = &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr;
		/* a balancer reaching a dual-stack listener over IPv4 */
		family = IN6_IS_ADDR_V4MAPPED(a6) ? AF_INET : AF_INET6;
		addr = family == AF_INET ? a6->s6_addr + 12 : a6->s6_addr;
	} else
		return 0;
	for (i = 0; i < c->nproxy_from; i++)
		if (c->proxy_from[i].family == family &&
		    conf_bits_match(c->proxy_from[i].addr, addr, c->proxy_from[i].bits))
			return 1;
	return 0;
}

/*
 * backend_reserved_names NAME... | none: the first path segments the backend
 * routes to its other APIs, refused as bucket names (s3addr.c).  Given
 * whole on one line: it replaces RGW's defaults (admin auth swift).
 */
static int
conf_h_reserved(struct conf_parser *p, struct conf *c, char **argv, int argc)
{
	int i;

	if (c->nreserved >= 0) {
		conf_error(p, "backend_reserved_names given twice; list every name on one line");
		return -1;
	}
	if (argc == 2 && strcmp(argv[1], "none") == 0) {
		c->nreserved = 0;
		return 0;
	}
	for (i = 1; i < argc; i++) {
		const char *n = argv[i];

		if (strcmp(n, "none") == 0) {
			conf_error(p, "backend_reserved_names: \"none\" stands alone; write it alone "
			    "or list the names");
			return -1;
		}
		if (n[0] == '\0' || strlen(n) >= S3ADDR_RESERVED_LEN ||
		    strspn(n, "abcdefghijklmnopqrstuvwxyz0123456789.-_") != strlen(n)) {
			conf_error(p, "backend_reserved_names \"%s\" is no path segment the backend "
			    "could route; write it in lower-case letters, digits, '.', '-' and '_', "
			    "under %d bytes", n, S3ADDR_RESERVED_LEN);
			return -1;
		}
	}
	c->nreserved = 0;
	for (i = 1; i < argc; i++)
		if ((c->reserved_names[c->nreserved++] = strdup(argv[i])) == NULL)
			abort();
	return 0;
}

int
conf_backend_resolve(const struct conf *c, struct upstream *u)
{
	struct addrinfo hints, *res, *ai;
	int i, rc;

	memset(u, 0, sizeof(*u));
	if (c->nbackend_addrs > 0) {
		for (i = 0; i < c->nbackend_addrs; i++)
			(void)upstream_add(u, (const struct sockaddr *)&c->backend_addrs[i],
			    c->backend_addr_lens[i]);
		return 0;
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	if ((rc = getaddrinfo(c->backend_connect_host, c->backend_port, &hints, &res)) != 0)
		return rc;
	for (ai = res; ai != NULL && upstream_add(u, ai->ai_addr, ai->ai_addrlen) == 0; ai = ai->ai_next)
		;
	freeaddrinfo(res);
	return 0;
}

/*
 * backend_addresses ADDR[:PORT]...: IP literals (names are the URL's to
 * resolve); without a port, the URL's.  Checked against the URL at the end
 * (conf_check_backend_addresses), which may come later in the file.
 */
static int
conf_h_backend_addresses(struct conf_parser *p, struct conf *c, char **argv, int argc)
{
	int i;

	c->nbackend_addrs = 0;
	for (i = 1; i < argc; i++) {
		char text[300];
		const char *a = argv[i];
		int has_port = a[0] == '[' ? strstr(a, "]:") != NULL :
		    strchr(a, ':') != NULL && strchr(a, ':') == strrchr(a, ':');

		if (strchr(a, ':') != NULL && a[0] != '[' && strchr(a, ':') != strrchr(a, ':')) {
			conf_error(p, "backend_addresses: %s: an IPv6 address without brackets; "
			    "write it [%s] or [%s]:PORT", a, a, a);
			return -1;
		}
		/* the URL's port is filled in by conf_check_backend_addresses: 0 until then */
		snprintf(text, sizeof(text), has_port ? "%s" : "%s:0", a);
		if (a[0] == '\0' || a[0] == '*' || a[0] == ':' ||
		    conf_parse_addr(text, &c->backend_addrs[c->nbackend_addrs],
		    &c->backend_addr_lens[c->nbackend_addrs]) == -1) {
			conf_error(p, "backend_addresses: %s is not an IP address with an optional port; "
			    "write e.g. 10.0.0.7:7480 or [fd00::7] (names: put one in the backend URL)", a);
			return -1;
		}
		c->nbackend_addrs++;
	}
	return 0;
}

/*
 * backend_fail_status STATUS... | none: answers that count as their
 * gateway's failure (upstream.h), 5xx only: a 4xx is the client's.
 */
static int
conf_h_backend_fail_status(struct conf_parser *p, struct conf *c, char **argv, int argc)
{
	unsigned char set[sizeof(c->backend_fail_status)];
	int i;

	memset(set, 0, sizeof(set));
	for (i = 1; i < argc; i++) {
		char *end;
		long v;

		if (strcmp(argv[i], "none") == 0) {
			if (argc == 2)
				break;
			conf_error(p, "backend_fail_status: \"none\" stands alone; write it alone "
			    "or list the statuses");
			return -1;
		}
		v = strtol(argv[i], &end, 10);
		if (!isdigit((unsigned char)argv[i][0]) || *end != '\0' || v < 500 || v > 599) {
			conf_error(p, "backend_fail_status \"%s\" is not a status of a gateway's failure "
			    "(500..599); write e.g. 502 503 504, or none", argv[i]);
			return -1;
		}
		set[v - 500] = 1;
	}
	memcpy(c->backend_fail_status, set, sizeof(set));
	return 0;
}

static int
conf_h_backend(struct conf_parser *p, struct conf *c, char **argv, int argc)
{
	const char *url = argv[1], *rest, *slash;
	char hostport[256], host[256], *colon;

	if (strncmp(url, "http://", 7) == 0) {
		c->backend_tls = 0;
		rest = url + 7;
	} else if (strncmp(url, "https://", 8) == 0) {
		c->backend_tls = 1;
		rest = url + 8;
	} else {
		conf_error(p, "backend \"%s\" is not an http:// or https:// URL; write e.g. http://127.0.0.1:7480", url);
		return -1;
	}
	slash = strchr(rest, '/');
	if (slash != NULL && strcmp(slash, "/") != 0) {
		conf_error(p, "backend URL \"%s\" has a path; s3gate talks to the backend's root: remove \"%s\"",
		    url, slash);
		return -1;
	}
	if ((size_t)(slash ? slash - rest : (long)strlen(rest)) >= sizeof(hostport) ||
	    (slash ? slash - rest : (long)strlen(rest)) == 0) {
		conf_error(p, "backend URL \"%s\" has no host; write e.g. http://127.0.0.1:7480", url);
		return -1;
	}
	snprintf(hostport, sizeof(hostport), "%.*s", (int)(slash ? slash - rest : (long)strlen(rest)), rest);
	snprintf(host, sizeof(host), "%s", hostport);
	if (host[0] == '[') {
		char *close = strchr(host, ']');
		if (close == NULL) {
			conf_error(p, "backend URL \"%s\": unterminated IPv6 address; write e.g. "
			    "http://[::1]:7480", url);
			return -1;
		}
		*close = '\0';
		colon = close[1] == ':' ? close + 1 : NULL;
		memmove(host, host + 1, strlen(host + 1) + 1);
	} else
		colon = strrchr(host, ':');
	if (colon != NULL) {
		char *end;
		long port;
		*colon = '\0';
		port = strtol(colon + 1, &end, 10);
		if (colon[1] == '\0' || *end != '\0' || port < 1 || port > 65535) {
			conf_error(p, "backend URL \"%s\": the port is not a number in 1..65535; "
			    "write e.g. http://127.0.0.1:7480", url);
			return -1;
		}
		conf_set_str(&c->backend_port, colon + 1);
	} else
		conf_set_str(&c->backend_port, c->backend_tls ? "443" : "80");
	conf_set_str(&c->backend_url, url);
	snprintf(c->backend_where, sizeof(c->backend_where), "%s:%d", p->file, p->line);
	conf_set_str(&c->backend_host, hostport);
	conf_set_str(&c->backend_connect_host, host);
	return 0;
}

static int
conf_h_backend_ca(struct conf_parser *p, struct conf *c, char **argv, int argc)
{
	struct sbuf why = SBUF_INIT;

	conf_set_str(&c->backend_ca_file, argv[1]);
	if (p->check_files && tls_check_ca_file(argv[1], &why) == -1) {
		conf_error(p, "%s", why.data);
		sbuf_free(&why);
		return -1;
	}
	sbuf_free(&why);
	return 0;
}

/*
 * "off", or a numeric ADDR:PORT (the same parser as listen): worker 0 binds
 * it, and a name or a port that does not parse must not pass -t only to
 * stop the workers at start.
 */
static int
conf_h_admin_listen(struct conf_parser *p, struct conf *c, char **argv, int argc)
{
	struct sockaddr_storage ss;
	socklen_t len;

	if (strcmp(argv[1], "off") == 0) {
		conf_set_str(&c->admin_listen, argv[1]);
		c->admin_addr_len = 0;
		return 0;
	}
	if (conf_parse_addr(argv[1], &ss, &len) == -1 ||
	    (ss.ss_family == AF_INET && ((struct sockaddr_in *)(void *)&ss)->sin_port == 0) ||
	    (ss.ss_family == AF_INET6 && ((struct sockaddr_in6 *)(void *)&ss)->sin6_port == 0)) {
		conf_error(p, "admin_listen \"%s\" is not a numeric ADDR:PORT (port 1..65535) or off; "
		    "write e.g. 127.0.0.1:9090 or [::1]:9090", argv[1]);
		return -1;
	}
	conf_set_str(&c->admin_listen, argv[1]);
	c->admin_addr = ss;
	c->admin_addr_len = len;
	return 0;
}

static int
conf_h_user(struct conf_parser *p, struct conf *c, char **argv, int argc)
{
	conf_set_str(&c->user, argv[1]);
	/* the workers become this user once their listeners are bound (main.c) */
	if (p->check_files && getpwnam(argv[1]) == NULL) {
		conf_error(p, "user %s: no such user; create it (useradd --system %s) or fix the name",
		    argv[1], argv[1]);
		return -1;
	}
	return 0;
}

/* Frees a secret read from a file, its bytes wiped first. */
static void
conf_wipe_secret(char *secret)
{
	if (secret != NULL) {
		explicit_bzero(secret, strlen(secret));
		free(secret);
	}
}

/* *SLOT = SECRET, the old one wiped first (the slot owns its secret). */
static void
conf_set_secret(char **slot, char *secret)
{
	conf_wipe_secret(*slot);
	*slot = secret;
}

static int
conf_h_backend_credentials(struct conf_parser *p, struct conf *c, char **argv, int argc)
{
	char *secret;

	conf_set_str(&c->backend_access_key_id, argv[1]);
	if ((secret = conf_read_secret(p, argv[2], "backend secret")) == NULL)
		return -1;
	conf_set_secret(&c->backend_secret, secret);
	return 0;
}

static int
conf_h_secret_key(struct conf_parser *p, struct conf *c, char **argv, int argc)
{
	char *secret;

	if ((secret = conf_read_secret(p, argv[1], "policy secret key")) == NULL)
		return -1;
	if (strlen(secret) != 64 || strspn(secret, "0123456789abcdefABCDEF") != 64) {
		conf_error(p, "policy secret key file %s must hold 64 hex digits (32 bytes); "
		    "make one with: openssl rand -hex 32 > %s", argv[1], argv[1]);
		conf_wipe_secret(secret);
		return -1;
	}
	conf_set_secret(&c->store_secret_key, secret);
	return 0;
}

/*
 * The Redis password from a file, so that the config (a ConfigMap, a file
 * in git) need not hold it as redis://:PASSWORD@HOST does.
 */
static int
conf_h_store_password(struct conf_parser *p, struct conf *c, char **argv, int argc)
{
	char *secret;

	if ((secret = conf_read_secret(p, argv[1], "Redis password")) == NULL)
		return -1;
	if (strlen(secret) > 255) {
		conf_error(p, "Redis password file %s holds more than 255 bytes; use a shorter "
		    "password (openssl rand -hex 32)", argv[1]);
		conf_wipe_secret(secret);
		return -1;
	}
	conf_set_secret(&c->store_password, secret);
	return 0;
}

static int
conf_h_store(struct conf_parser *p, struct conf *c, char **argv, int argc)
{
	if (strcmp(argv[1], "file") == 0) {
		struct stat st;
		c->store_kind = CONF_STORE_FILE;
		if (p->check_files && (stat(argv[2], &st) == -1 || !S_ISDIR(st.st_mode))) {
			conf_error(p, "policy_store file %s is not a directory; create it (mkdir -p %s)",
			    argv[2], argv[2]);
			return -1;
		}
	} else if (strcmp(argv[1], "redis") == 0) {
		struct sbuf why = SBUF_INIT;

		if (redisstore_url_check(argv[2], &why) == -1) {
			/* its message ends in a newline and shows no password */
			conf_error(p, "%.*s", (int)why.len - 1, why.data);
			sbuf_free(&why);
			return -1;
		}
		c->store_kind = CONF_STORE_REDIS;
	} else {
		conf_error(p, "unknown policy_store kind \"%s\"; write \"file DIR\" or \"redis URL\"", argv[1]);
		return -1;
	}
	conf_set_str(&c->store_path, argv[2]);
	return 0;
}

static int
conf_h_workers(struct conf_parser *p, struct conf *c, char **argv, int argc)
{
	char *end;
	long v;

	if (strcmp(argv[1], "auto") == 0) {
		c->workers = 0;
		return 0;
	}
	v = strtol(argv[1], &end, 10);
	if (*end != '\0' || v < 1 || v > 256) {
		conf_error(p, "workers \"%s\" is not a number of processes; write auto or 1..256", argv[1]);
		return -1;
	}
	c->workers = (int)v;
	return 0;
}

static int
conf_h_log_level(struct conf_parser *p, struct conf *c, char **argv, int argc)
{
	enum log_level l;

	if (log_level_parse(argv[1], &l) == -1) {
		conf_error(p, "log_level \"%s\" is unknown; write error, warn, info or debug", argv[1]);
		return -1;
	}
	c->log_level = (int)l;
	return 0;
}

/*
 * Which bodies move by splice(2).  Per direction because the faster engine
 * depends on the path: on loopback a copy through a large buffer outran
 * splice on downloads (1.84 against 1.51 GB/s, at 1.8x the CPU) while
 * splice won on uploads; on a NIC splice saves the copy both ways.
 */
static int
conf_h_splice(struct conf_parser *p, struct conf *c, char **argv, int argc)
{
	(void)argc;
	if (strcmp(argv[1], "on") == 0)
		c->splice = CONF_SPLICE_UPLOAD | CONF_SPLICE_DOWNLOAD;
	else if (strcmp(argv[1], "off") == 0)
		c->splice = 0;
	else if (strcmp(argv[1], "upload") == 0)
		c->splice = CONF_SPLICE_UPLOAD;
	else if (strcmp(argv[1], "download") == 0)
		c->splice = CONF_SPLICE_DOWNLOAD;
	else {
		conf_error(p, "splice \"%s\" is unknown; write on, off, upload or download", argv[1]);
		return -1;
	}
	return 0;
}

static int conf_h_include(struct conf_parser *, struct conf *, char **, int);

#define OFF(field) offsetof(struct conf, field)

static const struct conf_directive conf_directives[] = {
	{ "include", 1, 1, CT_CUSTOM, 0, 0, 0, NULL, conf_h_include, "include PATTERN" },
	{ "listen", 1, 3, CT_CUSTOM, 0, 0, 0, NULL, conf_h_listen, "listen ADDR:PORT [tls] [proxy_protocol]" },
	{ "proxy_protocol_from", 1, 16, CT_CUSTOM, 0, 0, 0, NULL, conf_h_proxy_from,
	  "proxy_protocol_from CIDR... | any" },
	{ "tls_certificate", 2, 2, CT_CUSTOM, 0, 0, 0, NULL, conf_h_cert, "tls_certificate CERT_PEM KEY_PEM" },
	{ "service_domain", 1, 1, CT_CUSTOM, 0, 0, 0, NULL, conf_h_domain, "service_domain NAME" },
	{ "region", 1, 1, CT_STR, OFF(region), 0, 0, "us-east-1", NULL, "region NAME" },
	{ "sigv2", 1, 1, CT_BOOL, OFF(sigv2), 0, 1, "on", NULL, "sigv2 on|off" },
	{ "backend", 1, 1, CT_CUSTOM, 0, 0, 0, NULL, conf_h_backend, "backend URL" },
	{ "backend_credentials", 2, 2, CT_CUSTOM, 0, 0, 0, NULL, conf_h_backend_credentials,
	  "backend_credentials ACCESS_KEY_ID SECRET_FILE" },
	{ "backend_ca_file", 1, 1, CT_CUSTOM, 0, 0, 0, NULL, conf_h_backend_ca, "backend_ca_file PEM" },
	{ "backend_reserved_names", 1, S3ADDR_MAX_RESERVED, CT_CUSTOM, 0, 0, 0, NULL, conf_h_reserved,
	  "backend_reserved_names NAME... | none" },
	{ "backend_region", 1, 1, CT_STR, OFF(backend_region), 0, 0, NULL, NULL, "backend_region NAME" },
	{ "backend_pool_size", 1, 1, CT_INT, OFF(backend_pool_size), 0, 4096, "1024", NULL, "backend_pool_size N" },
	{ "backend_addresses", 1, UPSTREAM_MAX, CT_CUSTOM, 0, 0, 0, NULL, conf_h_backend_addresses,
	    "backend_addresses ADDR[:PORT]..." },
	{ "backend_fail_timeout", 1, 1, CT_MS, OFF(backend_fail_timeout_ms), 0, 3600000, "10s", NULL,
	    "backend_fail_timeout DURATION" },
	{ "backend_resolve_interval", 1, 1, CT_MS, OFF(backend_resolve_interval_ms), 0, 86400000, "30s", NULL,
	    "backend_resolve_interval DURATION" },
	{ "backend_fail_status", 1, CONF_MAX_ARGS - 1, CT_CUSTOM, 0, 0, 0, "none", conf_h_backend_fail_status,
	    "backend_fail_status STATUS... | none" },
	{ "policy_store", 2, 2, CT_CUSTOM, 0, 0, 0, NULL, conf_h_store, "policy_store file DIR | redis URL" },
	{ "policy_secret_key", 1, 1, CT_CUSTOM, 0, 0, 0, NULL, conf_h_secret_key, "policy_secret_key FILE" },
	{ "policy_store_password", 1, 1, CT_CUSTOM, 0, 0, 0, NULL, conf_h_store_password, "policy_store_password FILE" },
	{ "policy_cache_ttl", 1, 1, CT_MS, OFF(policy_cache_ttl_ms), 0, 3600000, "30s", NULL, "policy_cache_ttl DURATION" },
	{ "policy_max_staleness", 1, 1, CT_MS, OFF(policy_max_staleness_ms), 0, 86400000, "60s", NULL,
	  "policy_max_staleness DURATION" },
	{ "bucket_create", 1, 1, CT_STR, OFF(bucket_create), 0, 0, NULL, NULL, "bucket_create PATTERN" },
	{ "bucket_config_ops", 1, 1, CT_STR, OFF(bucket_config_ops), 0, 0, NULL, NULL, "bucket_config_ops LIST" },
	{ "allow_bucket_acl", 1, 1, CT_BOOL, OFF(allow_bucket_acl), 0, 1, "off", NULL, "allow_bucket_acl on|off" },
	{ "cors_errors", 1, 1, CT_BOOL, OFF(cors_errors), 0, 1, "on", NULL, "cors_errors on|off" },
	{ "admin_listen", 1, 1, CT_CUSTOM, 0, 0, 0, "127.0.0.1:9090", conf_h_admin_listen,
	  "admin_listen ADDR:PORT|off" },
	{ "public_url", 1, 1, CT_STR, OFF(public_url), 0, 0, NULL, NULL, "public_url URL" },
	{ "access_log", 1, 1, CT_STR, OFF(access_log), 0, 0, "stderr", NULL, "access_log PATH|stderr|off" },
	{ "error_log", 1, 1, CT_STR, OFF(error_log), 0, 0, "stderr", NULL, "error_log PATH|stderr" },
	{ "log_level", 1, 1, CT_CUSTOM, 0, 0, 0, "info", conf_h_log_level, "log_level error|warn|info|debug" },
	{ "max_head_size", 1, 1, CT_SIZE32, OFF(max_head_size), 1024, 1048576, "32k", NULL, "max_head_size SIZE" },
	{ "max_uri_size", 1, 1, CT_SIZE32, OFF(max_uri_size), 256, 65536, "8k", NULL, "max_uri_size SIZE" },
	{ "max_headers", 1, 1, CT_U32, OFF(max_headers), 8, 128, "100", NULL, "max_headers N" },
	{ "max_connections", 1, 1, CT_INT, OFF(max_connections), 1, 1000000, "10000", NULL, "max_connections N" },
	{ "max_connections_per_ip", 1, 1, CT_INT, OFF(max_connections_per_ip), 0, 1000000, "0", NULL,
	  "max_connections_per_ip N" },
	{ "head_timeout", 1, 1, CT_MS, OFF(head_timeout_ms), 100, 3600000, "30s", NULL, "head_timeout DURATION" },
	{ "idle_timeout", 1, 1, CT_MS, OFF(idle_timeout_ms), 100, 3600000, "60s", NULL, "idle_timeout DURATION" },
	{ "body_timeout", 1, 1, CT_MS, OFF(body_timeout_ms), 100, 3600000, "60s", NULL, "body_timeout DURATION" },
	{ "body_min_rate", 1, 1, CT_SIZE64, OFF(body_min_rate), 0, 1073741824, "0", NULL, "body_min_rate SIZE" },
	{ "backend_connect_timeout", 1, 1, CT_MS, OFF(backend_connect_timeout_ms), 10, 600000, "5s", NULL,
	  "backend_connect_timeout DURATION" },
	{ "backend_timeout", 1, 1, CT_MS, OFF(backend_timeout_ms), 100, 3600000, "300s", NULL,
	  "backend_timeout DURATION" },
	{ "shutdown_timeout", 1, 1, CT_MS, OFF(shutdown_timeout_ms), 0, 86400000, "30s", NULL,
	  "shutdown_timeout DURATION" },
	{ "splice", 1, 1, CT_CUSTOM, 0, 0, 0, "on", conf_h_splice, "splice on|off|upload|download" },
	{ "pipe_size", 1, 1, CT_SIZE32, OFF(pipe_size), 4096, 16777216, "1M", NULL, "pipe_size SIZE" },
	{ "copy_buffer_size", 1, 1, CT_SIZE32, OFF(copy_buffer_size), 4096, 16777216, "1M", NULL,
	  "copy_buffer_size SIZE" },
	{ "workers", 1, 1, CT_CUSTOM, 0, 0, 0, "auto", conf_h_workers, "workers N|auto" },
	{ "user", 1, 1, CT_CUSTOM, 0, 0, 0, NULL, conf_h_user, "user NAME" },
	{ "quota_request_rate", 1, 1, CT_U32, OFF(quota_request_rate), 0, 10000000, "0", NULL, "quota_request_rate N" },
	{ "quota_bandwidth", 1, 1, CT_SIZE64, OFF(quota_bandwidth), 0, INT64_MAX, "0", NULL, "quota_bandwidth SIZE" },
	{ "quota_connections", 1, 1, CT_U32, OFF(quota_connections), 0, 1000000, "0", NULL, "quota_connections N" },
	{ "quota_shared", 1, 1, CT_BOOL, OFF(quota_shared), 0, 1, "on", NULL, "quota_shared on|off" },
};

static const struct conf_directive *
conf_directive_find(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(conf_directives) / sizeof(conf_directives[0]); i++)
		if (strcmp(conf_directives[i].name, name) == 0)
			return &conf_directives[i];
	return NULL;
}

static int
conf_apply(struct conf_parser *p, struct conf *c, const struct conf_directive *d,
    char **argv, int argc)
{
	char *slot = (char *)c + d->offset;
	long long v;
	int64_t v64;
	char *end;

	if (argc - 1 < d->min_args || argc - 1 > d->max_args) {
		int n = argc - 1 < d->min_args ? d->min_args : d->max_args;

		conf_error(p, "%s takes %s%d argument%s; write: %s", d->name,
		    d->min_args == d->max_args ? "" : argc - 1 < d->min_args ? "at least " :
		    "at most ", n, n == 1 ? "" : "s", d->usage);
		return -1;
	}
	switch (d->type) {
	case CT_CUSTOM:
		return d->handler(p, c, argv, argc);
	case CT_STR:
		conf_set_str((char **)(void *)slot, argv[1]);
		return 0;
	case CT_INT:
	case CT_U32:
		errno = 0;
		v = strtoll(argv[1], &end, 10);
		if (errno != 0 || *end != '\0' || end == argv[1] || v < d->min || v > d->max) {
			conf_error(p, "%s \"%s\" is not a number in %lld..%lld; write: %s",
			    d->name, argv[1], d->min, d->max, d->usage);
			return -1;
		}
		if (d->type == CT_INT)
			*(int *)(void *)slot = (int)v;
		else
			*(uint32_t *)(void *)slot = (uint32_t)v;
		return 0;
	case CT_SIZE32:
	case CT_SIZE64:
		v64 = conf_parse_size(argv[1]);
		if (v64 < 0 || v64 < d->min || v64 > d->max) {
			conf_error(p, "%s \"%s\" is not a size in %lld..%lld bytes; write e.g. 64k, 1M, 2G",
			    d->name, argv[1], d->min, d->max);
			return -1;
		}
		if (d->type == CT_SIZE32)
			*(uint32_t *)(void *)slot = (uint32_t)v64;
		else
			*(uint64_t *)(void *)slot = (uint64_t)v64;
		return 0;
	case CT_MS:
		v64 = conf_parse_duration_ms(argv[1]);
		if (v64 < 0 || v64 < d->min || v64 > d->max) {
			conf_error(p, "%s \"%s\" is not a duration in %lldms..%lldms; write e.g. 250ms, 90s, 15m, 8h, 7d",
			    d->name, argv[1], d->min, d->max);
			return -1;
		}
		*(int *)(void *)slot = (int)v64;
		return 0;
	case CT_BOOL:
		if (strcmp(argv[1], "on") == 0 || strcmp(argv[1], "yes") == 0)
			*(int *)(void *)slot = 1;
		else if (strcmp(argv[1], "off") == 0 || strcmp(argv[1], "no") == 0)
			*(int *)(void *)slot = 0;
		else {
			conf_error(p, "%s \"%s\" is not on or off; write: %s", d->name, argv[1], d->usage);
			return -1;
		}
		return 0;
	}
	return -1;
}

/* Splits LINE in place on blanks; '#' starts a comment; "..." quotes. */
static int
conf_split(struct conf_parser *p, char *line, char **argv)
{
	int argc = 0;
	char *s = line;

	for (;;) {
		while (*s == ' ' || *s == '\t')
			s++;
		if (*s == '\0' || *s == '#' || *s == '\n' || *s == '\r')
			break;
		if (argc == CONF_MAX_ARGS) {
			conf_error(p, "too many arguments (at most %d); remove the extra words or "
			    "quote a value that has blanks", CONF_MAX_ARGS - 1);
			return -1;
		}
		if (*s == '"') {
			argv[argc++] = ++s;
			while (*s != '\0' && *s != '"')
				s++;
			if (*s != '"') {
				conf_error(p, "unterminated quote; close it with \"");
				return -1;
			}
			*s++ = '\0';
			continue;
		}
		argv[argc++] = s;
		while (*s != '\0' && *s != ' ' && *s != '\t' && *s != '\n' && *s != '\r' && *s != '#')
			s++;
		if (*s == '#') {
			*s = '\0';
			break;
		}
		if (*s != '\0')
			*s++ = '\0';
	}
	return argc;
}

static int conf_parse_file(struct conf_parser *, struct conf *, const char *path);

static int
conf_h_include(struct conf_parser *p, struct conf *c, char **argv, int argc)
{
	glob_t g;
	size_t i;
	int rc;

	if (p->depth >= CONF_MAX_INCLUDE_DEPTH) {
		conf_error(p, "includes nested deeper than %d; look for an include loop", CONF_MAX_INCLUDE_DEPTH);
		return -1;
	}
	rc = glob(argv[1], 0, NULL, &g);
	if (rc == GLOB_NOMATCH) {
		if (strpbrk(argv[1], "*?[") != NULL)
			return 0;	/* an empty conf.d is fine */
		conf_error(p, "include %s: no such file; fix the path", argv[1]);
		return -1;
	}
	if (rc != 0) {
		conf_error(p, "include \"%s\": cannot expand the pattern", argv[1]);
		return -1;
	}
	for (i = 0; i < g.gl_pathc; i++) {
		struct conf_parser sub = *p;
		char *real = realpath(g.gl_pathv[i], NULL);
		int d, loop = 0;

		/* a file including itself (directly or not) would never end */
		for (d = 0; d <= p->depth && real != NULL; d++)
			if (p->stack[d] != NULL && strcmp(p->stack[d], real) == 0)
				loop = 1;
		if (loop || real == NULL) {
			conf_error(p, "include %s: %s; remove the include", g.gl_pathv[i],
			    real == NULL ? strerror(errno) : "an include loop");
			free(real);
			continue;
		}
		if (++*p->nfiles > CONF_MAX_FILES) {
			conf_error(p, "more than %d configuration files; include fewer", CONF_MAX_FILES);
			free(real);
			break;
		}
		sub.depth++;
		sub.stack[sub.depth] = real;
		conf_parse_file(&sub, c, g.gl_pathv[i]);
		p->nerrors = sub.nerrors;
		free(real);
	}
	globfree(&g);
	return 0;
}

static int
conf_parse_file(struct conf_parser *p, struct conf *c, const char *path)
{
	const struct conf_directive *d;
	char *line = NULL, *argv[CONF_MAX_ARGS];
	size_t cap = 0;
	ssize_t n;
	FILE *fp;
	int argc;

	if ((fp = fopen(path, "re")) == NULL) {
		conf_error(p, "cannot open %s: %s; check the path", path, strerror(errno));
		return -1;
	}
	p->file = path;
	p->line = 0;
	while ((n = getline(&line, &cap, fp)) != -1) {
		p->line++;
		if ((argc = conf_split(p, line, argv)) <= 0)
			continue;
		if ((d = conf_directive_find(argv[0])) == NULL) {
			conf_error(p, "unknown directive \"%s\"; see conf/s3gate.conf for the directives", argv[0]);
			continue;
		}
		conf_apply(p, c, d, argv, argc);
		p->file = path;		/* an include changed it */
	}
	free(line);
	fclose(fp);
	return 0;
}

static void
conf_defaults(struct conf *c, struct conf_parser *p)
{
	size_t i;
	char *argv[2];

	for (i = 0; i < sizeof(conf_directives) / sizeof(conf_directives[0]); i++) {
		const struct conf_directive *d = &conf_directives[i];
		if (d->default_text == NULL)
			continue;
		argv[0] = (char *)d->name;
		argv[1] = (char *)d->default_text;
		conf_apply(p, c, d, argv, 2);
	}
}

/* Rules that span directives. */

/*
 * backend_addresses without a port take the URL's; with check_files, the
 * addresses must be there: every worker resolves the URL's host at start
 * (server.c), and one that does not resolve would stop them all.
 */
static void
conf_check_backend_addresses(struct conf_parser *p, struct conf *c)
{
	struct upstream u;
	uint16_t port = htons((uint16_t)atoi(c->backend_port));
	int i, rc;

	for (i = 0; i < c->nbackend_addrs; i++) {
		struct sockaddr_storage *ss = &c->backend_addrs[i];
		if (ss->ss_family == AF_INET && ((struct sockaddr_in *)ss)->sin_port == 0)
			((struct sockaddr_in *)ss)->sin_port = port;
		else if (ss->ss_family == AF_INET6 && ((struct sockaddr_in6 *)ss)->sin6_port == 0)
			((struct sockaddr_in6 *)ss)->sin6_port = port;
	}
	if (p->check_files && (rc = conf_backend_resolve(c, &u)) != 0) {
		sbuf_appendf(p->errors, "%s: backend %s: host %s does not resolve (%s); fix the host "
		    "name or DNS, or list the addresses with backend_addresses\n", c->backend_where,
		    c->backend_url, c->backend_connect_host, gai_strerror(rc));
		p->nerrors++;
	}
}

static void
conf_cross_check(struct conf_parser *p, struct conf *c)
{
	int i;

	p->file = c->file;
	p->line = 0;
	if (c->nlisten == 0)
		conf_error(p, "no listen directive; add e.g. \"listen 127.0.0.1:8080\"");
	for (i = 0; i < c->nlisten && c->ncerts == 0; i++) {
		if (c->listen[i].tls) {
			/* named at the listen line: "FILE:LINE: ..." */
			sbuf_appendf(p->errors, "%s: listen %s has tls but there is no tls_certificate; "
			    "add \"tls_certificate CERT KEY\"\n", c->listen[i].where, c->listen[i].text);
			p->nerrors++;
			break;
		}
	}
	for (i = 0; i < c->nlisten && c->nproxy_from == 0 && !c->proxy_from_any; i++) {
		if (c->listen[i].proxy_protocol) {
			/* whoever reaches it could claim any address: say whose headers it believes */
			sbuf_appendf(p->errors, "%s: listen %s has proxy_protocol but no "
			    "proxy_protocol_from; name the load balancers' addresses, e.g. "
			    "\"proxy_protocol_from 10.0.0.0/8\" (or \"any\")\n", c->listen[i].where,
			    c->listen[i].text);
			p->nerrors++;
			break;
		}
	}
	if (c->backend_url == NULL)
		conf_error(p, "no backend directive; add e.g. \"backend http://127.0.0.1:7480\"");
	else
		conf_check_backend_addresses(p, c);
	if (c->backend_access_key_id == NULL)
		conf_error(p, "no backend_credentials directive; add \"backend_credentials ACCESS_KEY_ID SECRET_FILE\"");
	if (c->store_kind == CONF_STORE_NONE)
		conf_error(p, "no policy_store directive; add \"policy_store file DIR\" or \"policy_store redis URL\"");
	else if (c->store_password != NULL && c->store_kind != CONF_STORE_REDIS)
		conf_error(p, "policy_store_password is for policy_store redis; remove it or use Redis");
	if (c->backend_region == NULL)
		conf_set_str(&c->backend_region, c->region);
}

struct conf *
conf_load(const char *path, int check_files, struct sbuf *errors)
{
	struct conf_parser p;
	int nfiles = 1;
	struct conf *c;

	if ((c = calloc(1, sizeof(*c))) == NULL)
		abort();
	c->refcount = 1;
	c->nreserved = -1;
	conf_set_str(&c->file, path);
	memset(&p, 0, sizeof(p));
	p.errors = errors;
	p.check_files = check_files;
	p.nfiles = &nfiles;
	p.stack[0] = realpath(path, NULL);
	conf_defaults(c, &p);
	conf_parse_file(&p, c, path);
	free(p.stack[0]);
	conf_cross_check(&p, c);	/* also with other errors: -t reports every problem */
	if (p.nerrors != 0) {
		conf_unref(c);
		return NULL;
	}
	return c;
}

void
conf_ref(struct conf *c)
{
	c->refcount++;
}

void
conf_unref(struct conf *c)
{
	int i;

	if (c == NULL || --c->refcount > 0)
		return;
	for (i = 0; i < c->ncerts; i++) {
		free(c->certs[i].cert_file);
		free(c->certs[i].key_file);
	}
	for (i = 0; i < c->ndomains; i++)
		free(c->service_domains[i]);
	for (i = 0; i < c->nreserved; i++)
		free(c->reserved_names[i]);
	conf_set_secret(&c->backend_secret, NULL);
	conf_set_secret(&c->store_secret_key, NULL);
	conf_set_secret(&c->store_password, NULL);
	free(c->file);
	free(c->region);
	free(c->backend_url);
	free(c->backend_host);
	free(c->backend_connect_host);
	free(c->backend_port);
	free(c->backend_access_key_id);
	free(c->backend_ca_file);
	free(c->backend_region);
	free(c->store_path);
	free(c->bucket_create);
	free(c->bucket_config_ops);
	free(c->admin_listen);
	free(c->public_url);
	free(c->access_log);
	free(c->error_log);
	free(c->user);
	free(c);
}
