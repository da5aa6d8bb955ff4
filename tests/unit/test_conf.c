/*
 * test_conf: the configuration file (proxy/conf.h).  Writes temporary
 * files under /tmp and checks values, defaults and the "FILE:LINE: what;
 * fix" error messages.
 */
#include <sys/stat.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "proxy/conf.h"
#include "proxy/log.h"
#include "proxy/sbuf.h"
#include "tests/unit/testlib.h"


#define MAX_TEMP	512
static char *temps[MAX_TEMP];
static int ntemps;
static char tmpdir[] = "/tmp/s3gate-test-conf-XXXXXX";

/* Writes TEXT to a new file under the test's directory with MODE. */
static char *
write_temp(const char *text, mode_t mode)
{
	char path[256];
	int fd;

	snprintf(path, sizeof(path), "%s/f-XXXXXX", tmpdir);
	if ((fd = mkstemp(path)) == -1 || fchmod(fd, mode) == -1) {
		perror("mkstemp");
		exit(2);
	}
	if (write(fd, text, strlen(text)) != (ssize_t)strlen(text))
		exit(2);
	close(fd);
	if (ntemps == MAX_TEMP) {
		fprintf(stderr, "test_conf: more than %d temporary files\n", MAX_TEMP);
		exit(2);
	}
	temps[ntemps++] = strdup(path);
	return temps[ntemps - 1];
}

static char *secret_file, *secret_key_file, *store_dir;

/* The smallest valid file, as a prefix; NLINES lines. */
static char base[1024];
static int base_lines;

static void
setup(void)
{
	if (mkdtemp(tmpdir) == NULL) {
		perror("mkdtemp");
		exit(2);
	}
	secret_file = write_temp("backend-secret-value\n", 0600);
	secret_key_file = write_temp(
	    "00112233445566778899aabbccddeeff00112233445566778899AABBCCDDEEFF\n", 0400);
	store_dir = tmpdir;
	snprintf(base, sizeof(base),
	    "listen 127.0.0.1:8080\n"
	    "backend http://127.0.0.1:7480\n"
	    "backend_credentials SVCKEY %s\n"
	    "policy_store file %s\n", secret_file, store_dir);
	base_lines = 4;
}

static void
teardown(void)
{
	int i;

	for (i = ntemps - 1; i >= 0; i--) {
		unlink(temps[i]);
		free(temps[i]);
	}
	rmdir(tmpdir);
}

static struct conf *
load_text(const char *text, int check_files, struct sbuf *errors, char **path)
{
	char *p = write_temp(text, 0600);

	if (path != NULL)
		*path = p;
	sbuf_reset(errors);
	return conf_load(p, check_files, errors);
}

static void
test_full(void)
{
	struct sbuf text = SBUF_INIT, errors = SBUF_INIT;
	struct conf *c;

	sbuf_appendf(&text,
	    "# s3gate test configuration\n"
	    "\n"
	    "listen 127.0.0.1:8080\n"
	    "  listen [::1]:8443 tls   # trailing comment\n"
	    "listen *:9000\n"
	    "listen :9001\n"
	    "listen 10.0.0.1:443 proxy_protocol tls\n"
	    "proxy_protocol_from 10.0.0.0/8 192.0.2.7\n"
	    "proxy_protocol_from fd00::/8\n"
	    "tls_certificate /etc/s3gate/a.pem /etc/s3gate/a.key\n"
	    "tls_certificate \"/etc/s3gate/b c.pem\" /etc/s3gate/b.key\n"
	    "service_domain S3.Example.org\n"
	    "service_domain s3.eu.example.org\n"
	    "region eu-west-1\n"
	    "backend https://rgw.internal:7443/\n"
	    "backend_credentials SVCKEY %s\n"
	    "backend_ca_file /etc/ssl/ca.pem\n"
	    "backend_region us-east-2\n"
	    "backend_reserved_names rgw-admin swift auth_x\n"
	    "backend_pool_size 32\n"
	    "policy_store redis redis://127.0.0.1:6379/0\n"
	    "policy_secret_key %s\n"
	    "policy_cache_ttl 10s\n"
	    "policy_max_staleness 2m\n"
	    "bucket_create ws-{principal}-*\n"
	    "bucket_config_ops versioning,lifecycle\n"
	    "allow_bucket_acl on\n"
	    "cors_errors off\n"
	    "admin_listen 127.0.0.1:9191\n"
	    "public_url https://s3.example.org\n"
	    "access_log /var/log/s3gate/access.log\n"
	    "error_log stderr\n"
	    "log_level debug\n"
	    "max_head_size 64k\n"
	    "max_uri_size 16k\n"
	    "max_headers 64\n"
	    "max_connections 5000\n"
	    "max_connections_per_ip 100\n"
	    "head_timeout 10s\n"
	    "idle_timeout 2m\n"
	    "body_timeout 90\n"
	    "body_min_rate 4k\n"
	    "backend_connect_timeout 250ms\n"
	    "backend_timeout 5m\n"
	    "shutdown_timeout 1h\n"
	    "splice off\n"
	    "pipe_size 512k\n"
	    "copy_buffer_size 128K\n"
	    "workers 4\n"
	    "user s3gate\n"
	    "quota_request_rate 100\n"
	    "quota_bandwidth 50M\n"
	    "quota_connections 20\n", secret_file, secret_key_file);
	c = load_text(text.data, 0, &errors, NULL);
	T_OK(c != NULL, "full: loads");
	if (c == NULL) {
		printf("# %s", errors.data);
		goto out;
	}
	T_OK(errors.len == 0, "full: no errors");
	T_OK(c->refcount == 1, "full: refcount 1");
	T_OK(c->nlisten == 5, "full: 5 listeners");
	T_OK(c->listen[0].tls == 0 && c->listen[1].tls == 1 && c->listen[2].tls == 0, "full: listen tls flags");
	T_OK(c->nlisten == 5 && c->listen[4].tls == 1 && c->listen[4].proxy_protocol == 1 &&
	    c->listen[0].proxy_protocol == 0 && c->listen[1].proxy_protocol == 0,
	    "full: listen proxy_protocol flag, with tls, in either order");
	T_OK(c->nproxy_from == 3 && !c->proxy_from_any && c->proxy_from[0].bits == 8 &&
	    c->proxy_from[1].bits == 32 && c->proxy_from[2].family == AF_INET6 &&
	    c->proxy_from[2].bits == 8, "full: proxy_protocol_from, two lines, three blocks");
	{
		static const struct { const char *addr; int allowed; } from[] = {
			{ "10.1.2.3", 1 }, { "10.255.255.255", 1 }, { "11.0.0.1", 0 }, { "9.255.255.255", 0 },
			{ "192.0.2.7", 1 }, { "192.0.2.8", 0 }, { "fd00::1", 1 }, { "fdff:1::2", 1 },
			{ "fe80::1", 0 }, { "::ffff:10.9.9.9", 1 }, { "::ffff:11.9.9.9", 0 }, { "::1", 0 },
		};
		for (size_t i = 0; i < sizeof(from) / sizeof(from[0]); i++) {
			struct sockaddr_storage ss;
			memset(&ss, 0, sizeof(ss));
			if (strchr(from[i].addr, ':') != NULL) {
				struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
				s6->sin6_family = AF_INET6;
				inet_pton(AF_INET6, from[i].addr, &s6->sin6_addr);
			} else {
				struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
				s4->sin_family = AF_INET;
				inet_pton(AF_INET, from[i].addr, &s4->sin_addr);
			}
			T_OK(conf_proxy_from_allows(c, (struct sockaddr *)&ss) == from[i].allowed,
			    "full: PROXY headers from %s %s", from[i].addr, from[i].allowed ? "taken" : "not taken");
		}
	}
	T_STREQ(c->listen[1].text, "[::1]:8443", "full: listen text");
	T_OK(c->listen[0].addr.ss_family == AF_INET &&
	    ntohs(((struct sockaddr_in *)&c->listen[0].addr)->sin_port) == 8080, "full: listen 1 is IPv4 :8080");
	T_OK(c->listen[1].addr.ss_family == AF_INET6 &&
	    ntohs(((struct sockaddr_in6 *)&c->listen[1].addr)->sin6_port) == 8443, "full: listen 2 is IPv6 :8443");
	T_OK(c->ncerts == 2, "full: 2 certificates");
	T_STREQ(c->certs[0].cert_file, "/etc/s3gate/a.pem", "full: cert 1");
	T_STREQ(c->certs[1].cert_file, "/etc/s3gate/b c.pem", "full: quoted cert path with a space");
	T_STREQ(c->certs[1].key_file, "/etc/s3gate/b.key", "full: key 2");
	T_OK(c->ndomains == 2, "full: 2 service domains");
	T_STREQ(c->service_domains[0], "s3.example.org", "full: service domain lower-cased");
	T_STREQ(c->region, "eu-west-1", "full: region");
	T_OK(c->nreserved == 3 && strcmp(c->reserved_names[0], "rgw-admin") == 0 &&
	    strcmp(c->reserved_names[2], "auth_x") == 0, "full: backend_reserved_names");
	T_STREQ(c->backend_url, "https://rgw.internal:7443/", "full: backend url");
	T_OK(c->backend_tls == 1, "full: backend tls");
	T_STREQ(c->backend_host, "rgw.internal:7443", "full: backend Host");
	T_STREQ(c->backend_connect_host, "rgw.internal", "full: backend connect host");
	T_STREQ(c->backend_port, "7443", "full: backend port");
	T_STREQ(c->backend_access_key_id, "SVCKEY", "full: backend access key id");
	T_STREQ(c->backend_secret, "backend-secret-value", "full: backend secret read from its file");
	T_STREQ(c->backend_ca_file, "/etc/ssl/ca.pem", "full: backend_ca_file");
	T_STREQ(c->backend_region, "us-east-2", "full: backend_region");
	T_OK(c->backend_pool_size == 32, "full: backend_pool_size");
	T_OK(c->store_kind == CONF_STORE_REDIS, "full: redis store");
	T_STREQ(c->store_path, "redis://127.0.0.1:6379/0", "full: redis url");
	T_STREQ(c->store_secret_key, "00112233445566778899aabbccddeeff00112233445566778899AABBCCDDEEFF",
	    "full: policy secret key");
	T_OK(c->policy_cache_ttl_ms == 10000, "full: policy_cache_ttl");
	T_OK(c->policy_max_staleness_ms == 120000, "full: policy_max_staleness");
	T_STREQ(c->bucket_create, "ws-{principal}-*", "full: bucket_create");
	T_STREQ(c->bucket_config_ops, "versioning,lifecycle", "full: bucket_config_ops");
	T_OK(c->allow_bucket_acl == 1, "full: allow_bucket_acl");
	T_OK(c->cors_errors == 0, "full: cors_errors off");
	T_STREQ(c->admin_listen, "127.0.0.1:9191", "full: admin_listen");
	T_OK(c->admin_addr_len == sizeof(struct sockaddr_in) && c->admin_addr.ss_family == AF_INET &&
	    ntohs(((struct sockaddr_in *)(void *)&c->admin_addr)->sin_port) == 9191,
	    "full: admin_listen parsed once, for the worker to bind");
	T_STREQ(c->public_url, "https://s3.example.org", "full: public_url");
	T_STREQ(c->access_log, "/var/log/s3gate/access.log", "full: access_log");
	T_STREQ(c->error_log, "stderr", "full: error_log");
	T_OK(c->log_level == LOG_LEVEL_DEBUG, "full: log_level");
	T_OK(c->max_head_size == 65536, "full: max_head_size");
	T_OK(c->max_uri_size == 16384, "full: max_uri_size");
	T_OK(c->max_headers == 64, "full: max_headers");
	T_OK(c->max_connections == 5000, "full: max_connections");
	T_OK(c->max_connections_per_ip == 100, "full: max_connections_per_ip");
	T_OK(c->head_timeout_ms == 10000, "full: head_timeout");
	T_OK(c->idle_timeout_ms == 120000, "full: idle_timeout");
	T_OK(c->body_timeout_ms == 90000, "full: body_timeout (bare number is seconds)");
	T_OK(c->body_min_rate == 4096, "full: body_min_rate 4k");
	T_OK(c->backend_connect_timeout_ms == 250, "full: backend_connect_timeout");
	T_OK(c->backend_timeout_ms == 300000, "full: backend_timeout");
	T_OK(c->shutdown_timeout_ms == 3600000, "full: shutdown_timeout");
	T_OK(c->splice == 0, "full: splice off");
	T_OK(c->pipe_size == 524288, "full: pipe_size");
	T_OK(c->copy_buffer_size == 131072, "full: copy_buffer_size");
	T_OK(c->workers == 4, "full: workers");
	T_STREQ(c->user, "s3gate", "full: user");
	T_OK(c->quota_request_rate == 100, "full: quota_request_rate");
	T_OK(c->quota_bandwidth == 50ULL * 1024 * 1024, "full: quota_bandwidth");
	T_OK(c->quota_connections == 20, "full: quota_connections");
	conf_ref(c);
	conf_unref(c);
	T_OK(c->refcount == 1, "full: ref/unref");
	conf_unref(c);
out:
	sbuf_free(&text);
	sbuf_free(&errors);
}

static void
test_defaults(void)
{
	struct sbuf errors = SBUF_INIT;
	struct conf *c;

	c = load_text(base, 1, &errors, NULL);
	T_OK(c != NULL, "defaults: the minimal file loads (with file checks)");
	if (c == NULL) {
		printf("# %s", errors.data);
		sbuf_free(&errors);
		return;
	}
	T_OK(c->nlisten == 1 && c->listen[0].tls == 0, "defaults: one plain listener");
	T_OK(c->ncerts == 0 && c->ndomains == 0, "defaults: no certificates, no service domains");
	T_OK(c->nreserved == -1, "defaults: no backend_reserved_names (RGW's: admin, auth, swift)");
	T_STREQ(c->region, "us-east-1", "defaults: region");
	T_STREQ(c->backend_region, "us-east-1", "defaults: backend_region follows region");
	T_OK(c->backend_tls == 0, "defaults: http backend");
	T_STREQ(c->backend_host, "127.0.0.1:7480", "defaults: backend Host");
	T_STREQ(c->backend_port, "7480", "defaults: backend port");
	T_OK(c->backend_ca_file == NULL, "defaults: no backend_ca_file");
	T_OK(c->backend_pool_size == 1024, "defaults: backend_pool_size 1024");
	T_OK(c->nbackend_addrs == 0 && c->backend_fail_timeout_ms == 10000 &&
	    c->backend_resolve_interval_ms == 30000,
	    "defaults: the URL's host resolved, again every 30 s, an address that fails skipped for 10 s");
	{
		static const unsigned char none[sizeof(c->backend_fail_status)];
		T_OK(memcmp(c->backend_fail_status, none, sizeof(none)) == 0,
		    "defaults: no backend_fail_status (a 5xx answer is not its gateway's failure)");
	}
	T_OK(c->store_kind == CONF_STORE_FILE, "defaults: file store");
	T_STREQ(c->store_path, store_dir, "defaults: store dir");
	T_OK(c->store_secret_key == NULL, "defaults: no policy secret key");
	T_OK(c->policy_cache_ttl_ms == 30000, "defaults: policy_cache_ttl 30s");
	T_OK(c->policy_max_staleness_ms == 60000, "defaults: policy_max_staleness 60s");
	T_OK(c->bucket_create == NULL && c->bucket_config_ops == NULL, "defaults: no bucket_create");
	T_OK(c->allow_bucket_acl == 0, "defaults: allow_bucket_acl off");
	T_OK(c->cors_errors == 1, "defaults: cors_errors on");
	T_STREQ(c->admin_listen, "127.0.0.1:9090", "defaults: admin_listen");
	T_OK(c->admin_addr_len != 0, "defaults: admin_listen parsed");
	T_OK(c->public_url == NULL, "defaults: no public_url");
	T_STREQ(c->access_log, "stderr", "defaults: access_log");
	T_STREQ(c->error_log, "stderr", "defaults: error_log");
	T_OK(c->log_level == LOG_LEVEL_INFO, "defaults: log_level info");
	T_OK(c->max_head_size == 32768, "defaults: max_head_size 32k");
	T_OK(c->max_uri_size == 8192, "defaults: max_uri_size 8k");
	T_OK(c->max_headers == 100, "defaults: max_headers 100");
	T_OK(c->max_connections == 10000, "defaults: max_connections 10000");
	T_OK(c->max_connections_per_ip == 0, "defaults: max_connections_per_ip 0");
	T_OK(c->head_timeout_ms == 30000, "defaults: head_timeout 30s");
	T_OK(c->idle_timeout_ms == 60000, "defaults: idle_timeout 60s");
	T_OK(c->body_timeout_ms == 60000, "defaults: body_timeout 60s");
	T_OK(c->body_min_rate == 0, "defaults: body_min_rate 0 (off)");
	T_OK(c->backend_connect_timeout_ms == 5000, "defaults: backend_connect_timeout 5s");
	T_OK(c->backend_timeout_ms == 300000, "defaults: backend_timeout 300s");
	T_OK(c->shutdown_timeout_ms == 30000, "defaults: shutdown_timeout 30s");
	T_OK(c->splice == (CONF_SPLICE_UPLOAD | CONF_SPLICE_DOWNLOAD), "defaults: splice on (both directions)");
	T_OK(c->pipe_size == 1048576, "defaults: pipe_size 1M");
	T_OK(c->copy_buffer_size == 1048576, "defaults: copy_buffer_size 1M");
	T_OK(c->workers == 0, "defaults: workers auto (0)");
	T_OK(c->user == NULL, "defaults: no user");
	T_OK(c->quota_request_rate == 0 && c->quota_bandwidth == 0 && c->quota_connections == 0,
	    "defaults: no quotas");
	conf_unref(c);

	/* a later line replaces an earlier one */
	{
		char text[2048];
		snprintf(text, sizeof(text), "%sregion a-1\nregion b-2\nbackend https://s3.example.org\n", base);
		c = load_text(text, 0, &errors, NULL);
		T_OK(c != NULL && strcmp(c->region, "b-2") == 0 && strcmp(c->backend_port, "443") == 0 &&
		    strcmp(c->backend_host, "s3.example.org") == 0, "later line wins; https default port 443");
		conf_unref(c);
		snprintf(text, sizeof(text), "%sbackend http://[::1]:7480\n", base);
		c = load_text(text, 0, &errors, NULL);
		T_OK(c != NULL && strcmp(c->backend_connect_host, "::1") == 0 &&
		    strcmp(c->backend_port, "7480") == 0 && strcmp(c->backend_host, "[::1]:7480") == 0,
		    "backend with an IPv6 literal");
		conf_unref(c);
		/* splice per direction */
		{
			static const struct { const char *value; int bits; } cases[] = {
				{ "on", CONF_SPLICE_UPLOAD | CONF_SPLICE_DOWNLOAD },
				{ "off", 0 },
				{ "upload", CONF_SPLICE_UPLOAD },
				{ "download", CONF_SPLICE_DOWNLOAD },
			};
			size_t i;

			for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
				snprintf(text, sizeof(text), "%ssplice %s\n", base, cases[i].value);
				c = load_text(text, 0, &errors, NULL);
				T_OK(c != NULL && c->splice == cases[i].bits, "splice %s: the directions it names",
				    cases[i].value);
				conf_unref(c);
			}
		}
	}
	sbuf_free(&errors);
}

/*
 * One bad line appended to the minimal file: the error names FILE and the
 * line, says what is wrong and, after "; ", what to do; MATCH is part of it.
 */
static const struct {
	const char	*line;
	const char	*match;
	int		 no_fix;	/* known bug: the message says no "; what to do" */
} bad_lines[] = {
	{ "frobnicate on", "unknown directive \"frobnicate\"", 0 },
	{ "Region eu-west-1", "unknown directive \"Region\"", 0 },
	{ "region", "region takes 1 argument", 0 },
	{ "region a b", "region takes 1 argument", 0 },
	{ "tls_certificate only-one.pem", "tls_certificate takes 2 arguments", 0 },
	{ "listen", "listen takes", 0 },
	{ "max_headers many", "max_headers \"many\" is not a number", 0 },
	{ "max_headers 7", "max_headers \"7\" is not a number in 8..128", 0 },
	{ "max_headers 129", "is not a number in 8..128", 0 },
	{ "max_headers 12x", "is not a number", 0 },
	{ "max_headers \"\"", "is not a number", 0 },
	{ "backend_pool_size 99999999999999999999999", "is not a number", 0 },
	{ "max_connections -1", "is not a number", 0 },
	{ "max_head_size 12q", "max_head_size \"12q\" is not a size", 0 },
	{ "max_head_size 2G", "is not a size in 1024..1048576", 0 },
	{ "max_head_size 1k5", "is not a size", 0 },
	{ "body_min_rate 2G", "body_min_rate \"2G\" is not a size in 0..1073741824", 0 },
	{ "quota_bandwidth -5M", "is not a size", 0 },
	{ "quota_bandwidth 99999999999T", "is not a size", 0 },
	{ "head_timeout 10x", "head_timeout \"10x\" is not a duration", 0 },
	{ "head_timeout 1.5s", "is not a duration", 0 },
	{ "head_timeout 50ms", "is not a duration in 100ms..3600000ms", 0 },
	{ "head_timeout s", "is not a duration", 0 },
	{ "policy_max_staleness 2d", "is not a duration", 0 },
	{ "splice maybe", "splice \"maybe\" is unknown; write on, off, upload or download", 0 },
	{ "workers 0", "workers \"0\" is not a number", 0 },
	{ "workers 4x", "workers \"4x\"", 0 },
	{ "log_level loud", "log_level \"loud\" is unknown", 0 },
	{ "listen 127.0.0.1", "listen address \"127.0.0.1\" is not ADDR:PORT", 0 },
	{ "listen 127.0.0.1:", "is not ADDR:PORT", 0 },
	{ "listen 127.0.0.1:http", "is not ADDR:PORT", 0 },
	{ "listen localhost:8080", "is not ADDR:PORT", 0 },
	{ "listen 300.1.1.1:80", "is not ADDR:PORT", 0 },
	{ "listen [::1:80", "is not ADDR:PORT", 0 },
	{ "listen 127.0.0.1:8443 ssl", "unknown listen option \"ssl\"", 0 },
	{ "listen 127.0.0.1:8443 tls tls", "listen option \"tls\" is given twice", 0 },
	{ "listen 127.0.0.1:8443 proxy_protocol proxy_protocol", "listen option \"proxy_protocol\" is given twice", 0 },
	{ "listen 127.0.0.1:8443 proxy_protocol ssl", "unknown listen option \"ssl\"", 0 },
	{ "proxy_protocol_from 10.0.0.0/33", "proxy_protocol_from \"10.0.0.0/33\" is not an address or address/bits", 0 },
	{ "proxy_protocol_from 10.0.0", "proxy_protocol_from \"10.0.0\" is not an address", 0 },
	{ "proxy_protocol_from 10.0.0.0/", "proxy_protocol_from \"10.0.0.0/\" is not an address", 0 },
	{ "proxy_protocol_from 10.0.0.0/8x", "proxy_protocol_from \"10.0.0.0/8x\" is not an address", 0 },
	{ "proxy_protocol_from fd00::/129", "proxy_protocol_from \"fd00::/129\" is not an address", 0 },
	{ "proxy_protocol_from balancer.internal", "proxy_protocol_from \"balancer.internal\" is not an address", 0 },
	{ "listen 127.0.0.1:8443 proxy_protocol", "listen 127.0.0.1:8443 has proxy_protocol but no proxy_protocol_from", 0 },
	{ "listen 127.0.0.1:8443 tls proxy_protocol ssl", "listen takes at most 3 arguments", 0 },
	{ "service_domain .s3.example.org", "is not a host name", 0 },
	{ "backend_reserved_names Admin", "\"Admin\" is no path segment the backend could route", 0 },
	{ "backend_reserved_names a/b", "is no path segment", 0 },
	{ "backend_reserved_names admin none", "\"none\" stands alone", 0 },
	{ "service_domain s3.example.org:8080", "is not a host name", 0 },
	{ "backend ftp://127.0.0.1", "is not an http:// or https:// URL", 0 },
	{ "backend 127.0.0.1:7480", "is not an http:// or https:// URL", 0 },
	{ "backend http://127.0.0.1:7480/prefix", "has a path", 0 },
	{ "backend https://s3.example.org/bucket/", "has a path", 0 },
	{ "backend http://", "has no host", 0 },
	{ "backend http:///x", "has a path", 0 },
	{ "backend http://[::1", "unterminated IPv6", 1 },
	{ "policy_store s3 bucket", "unknown policy_store kind \"s3\"", 0 },
	{ "policy_store redis http://127.0.0.1:6379", "not a Redis URL; write redis://", 0 },
	{ "policy_store redis redis+sentinel://10.0.0.1:26379", "redis+sentinel://[:PASSWORD@]HOST", 0 },
	{ "policy_store redis redis://:hunter2@h:0/1", "redis://***@h:0/1", 0 },
	{ "policy_store file", "policy_store takes 2 arguments", 0 },
	{ "policy_store file /nonexistent/s3gate-policy", "is not a directory", 0 },
	{ "backend_credentials KEY /nonexistent/s3gate-secret", "cannot open backend secret file", 0 },
	{ "listen 127.0.0.1:1 \"tls", "unterminated quote", 0 },
	/* what a worker needs at start, checked by -t and reload (check_files) */
	{ "admin_listen 127.0.0.1:90x", "admin_listen \"127.0.0.1:90x\" is not a numeric ADDR:PORT", 0 },
	{ "admin_listen localhost:9090", "admin_listen \"localhost:9090\" is not a numeric ADDR:PORT", 0 },
	{ "admin_listen 127.0.0.1:0", "admin_listen \"127.0.0.1:0\"", 0 },
	{ "admin_listen 127.0.0.1", "admin_listen \"127.0.0.1\"", 0 },
	{ "admin_listen 127.0.0.1:65536", "admin_listen \"127.0.0.1:65536\"", 0 },
	{ "user s3gate-test-no-such-user", "user s3gate-test-no-such-user: no such user", 0 },
	{ "backend http://no-such-host.invalid:7480", "host no-such-host.invalid does not resolve", 0 },
	{ "backend_addresses fd00::7", "backend_addresses: fd00::7: an IPv6 address without brackets; write it [fd00::7]", 0 },
	{ "backend_addresses 10.0.0.1 rgw.internal:7480", "backend_addresses: rgw.internal:7480 is not an IP "
	  "address with an optional port", 0 },
	{ "backend_addresses *:7480", "is not an IP address", 0 },
	{ "backend_addresses 10.0.0.1:http", "is not an IP address", 0 },
	{ "backend_fail_timeout 2h", "backend_fail_timeout \"2h\" is not a duration in 0ms..3600000ms", 0 },
	{ "backend_fail_status 404", "backend_fail_status \"404\" is not a status of a gateway's failure "
	  "(500..599); write e.g. 502 503 504, or none", 1 },
	{ "backend_fail_status 502 600", "backend_fail_status \"600\" is not a status", 1 },
	{ "backend_fail_status 503x", "backend_fail_status \"503x\" is not a status", 1 },
	{ "backend_fail_status +503", "backend_fail_status \"+503\" is not a status", 1 },
	{ "backend_fail_status 5xx", "backend_fail_status \"5xx\" is not a status", 1 },
	{ "backend_fail_status 503 none", "backend_fail_status: \"none\" stands alone", 1 },
	{ "backend_ca_file /nonexistent/s3gate-ca.pem", "backend_ca_file /nonexistent/s3gate-ca.pem: cannot load", 0 },
	{ "region a b c d e f g h i j k l m n o p q", "too many arguments (at most 16)", 1 },
	{ "cors_errors maybe", "cors_errors \"maybe\" is not on or off; write: cors_errors on|off", 0 },
};

/* Whether ERRORS is exactly one line "FILE:LINE: ...MATCH..." (with "; fix" if NEED_FIX). */
static int
check_error_fix(const char *errors, const char *file, int line, const char *match, int need_fix)
{
	char prefix[512];
	const char *nl = strchr(errors, '\n');

	snprintf(prefix, sizeof(prefix), "%s:%d: ", file, line);
	return strncmp(errors, prefix, strlen(prefix)) == 0 && strstr(errors, match) != NULL &&
	    nl != NULL && nl[1] == '\0' &&
	    (!need_fix || (strstr(errors, "; ") != NULL && strstr(errors, "; ") < nl));
}

static int
check_error(const char *errors, const char *file, int line, const char *match)
{
	return check_error_fix(errors, file, line, match, 1);
}

static void
test_errors(void)
{
	struct sbuf errors = SBUF_INIT;
	char text[4096], *path;
	struct conf *c;
	size_t i;
	int ok;

	for (i = 0; i < sizeof(bad_lines) / sizeof(bad_lines[0]); i++) {
		/* the bad line in the middle: line base_lines + 2 */
		snprintf(text, sizeof(text), "%s# next line is bad\n%s\nregion us-east-1\n", base,
		    bad_lines[i].line);
		c = load_text(text, 1, &errors, &path);
		ok = c == NULL && check_error_fix(errors.data ? errors.data : "", path, base_lines + 2,
		    bad_lines[i].match, !bad_lines[i].no_fix);
		T_OK(ok, "error: \"%s\" names line %d and says \"%s\"", bad_lines[i].line,
		    base_lines + 2, bad_lines[i].match);
		if (!ok)
			printf("#   got: %s", errors.data ? errors.data : "(nothing)\n");
		if (bad_lines[i].no_fix)
			T_OK(check_error(errors.data ? errors.data : "", path, base_lines + 2,
			    bad_lines[i].match),
			    "error: \"%s\" says what to do", bad_lines[i].line);
		conf_unref(c);
	}

	/* backend_reserved_names is one list: a second line would be a surprise either way */
	snprintf(text, sizeof(text), "%sbackend_reserved_names admin\nbackend_reserved_names swift\n", base);
	c = load_text(text, 0, &errors, &path);
	T_OK(c == NULL && check_error_fix(errors.data ? errors.data : "", path, base_lines + 2,
	    "backend_reserved_names given twice", 1), "error: backend_reserved_names twice, at the second");
	conf_unref(c);

	/* every bad line is reported, each with its own line number */
	snprintf(text, sizeof(text), "frobnicate\n%sregion\nsplice 2\n", base);
	c = load_text(text, 0, &errors, &path);
	{
		char l1[300], l2[300], l3[300];
		snprintf(l1, sizeof(l1), "%s:1: unknown directive", path);
		snprintf(l2, sizeof(l2), "\n%s:%d: region takes", path, base_lines + 2);
		snprintf(l3, sizeof(l3), "\n%s:%d: splice \"2\"", path, base_lines + 3);
		T_OK(c == NULL && errors.data && strncmp(errors.data, l1, strlen(l1)) == 0 &&
		    strstr(errors.data, l2) && strstr(errors.data, l3), "errors: all three bad lines reported");
	}

	/* CRLF line endings are fine */
	{
		char crlf[1024];
		snprintf(crlf, sizeof(crlf), "listen 127.0.0.1:8080\r\nbackend http://127.0.0.1:7480\r\n"
		    "backend_credentials SVCKEY %s\r\npolicy_store file %s\r\nregion x-1\r\n",
		    secret_file, store_dir);
		c = load_text(crlf, 1, &errors, &path);
		T_OK(c != NULL && strcmp(c->region, "x-1") == 0 &&
		    strcmp(c->backend_access_key_id, "SVCKEY") == 0, "CRLF line endings");
		conf_unref(c);
	}
	sbuf_free(&errors);
}

/*
 * backend_addresses: where s3gate connects, the URL naming Host and the
 * TLS name only (a name that does not resolve here); a port left out is
 * the URL's, given before or after it.
 */
static void
test_backend_addresses(void)
{
	struct sbuf errors = SBUF_INIT;
	struct upstream u;
	char text[4096];
	struct conf *c;

	snprintf(text, sizeof(text), "listen 127.0.0.1:8080\n"
	    "backend_addresses 10.0.0.1 10.0.0.2:9000 [fd00::7] 10.0.0.1\n"
	    "backend https://rgw.no-such-host.invalid:8443\n"
	    "backend_credentials SVCKEY %s\npolicy_store file %s\nbackend_fail_timeout 0\n",
	    secret_file, store_dir);
	c = load_text(text, 1, &errors, NULL);
	T_OK(c != NULL, "backend_addresses: the URL's host need not resolve (%s)",
	    errors.data ? errors.data : "");
	if (c == NULL) {
		sbuf_free(&errors);
		return;
	}
	T_OK(c->nbackend_addrs == 4 && c->backend_fail_timeout_ms == 0, "backend_addresses: four given");
	T_OK(conf_backend_resolve(c, &u) == 0 && u.n == 3, "backend_addresses: three addresses (%d)", u.n);
	T_STREQ(u.addr[0].text, "10.0.0.1:8443", "backend_addresses: no port: the URL's");
	T_STREQ(u.addr[1].text, "10.0.0.2:9000", "backend_addresses: a port of its own");
	T_STREQ(u.addr[2].text, "[fd00::7]:8443", "backend_addresses: IPv6, the URL's port");
	T_STREQ(c->backend_host, "rgw.no-such-host.invalid:8443", "backend_addresses: Host from the URL");
	conf_unref(c);

	/* every list takes the 16 words it says on one line (the line splitter took 7) */
	snprintf(text, sizeof(text), "%sbackend_addresses 10.0.0.1 10.0.0.2 10.0.0.3 10.0.0.4 10.0.0.5 "
	    "10.0.0.6 10.0.0.7 10.0.0.8 10.0.0.9 10.0.0.10 10.0.0.11 10.0.0.12 10.0.0.13 10.0.0.14 "
	    "10.0.0.15 10.0.0.16\nproxy_protocol_from 10.0.0.0/8 10.1.0.0/16 10.2.0.0/16 10.3.0.0/16 "
	    "10.4.0.0/16 10.5.0.0/16 10.6.0.0/16 10.7.0.0/16\n", base);
	c = load_text(text, 1, &errors, NULL);
	T_OK(c != NULL && c->nbackend_addrs == 16 && conf_backend_resolve(c, &u) == 0 && u.n == 16 &&
	    c->nproxy_from == 8, "backend_addresses: 16 on one line; proxy_protocol_from: 8 (%s)",
	    c == NULL && errors.data ? errors.data : "");
	conf_unref(c);

	/* backend_fail_status: the statuses given, a later line replacing an earlier one */
	snprintf(text, sizeof(text), "%sbackend_fail_status 500\nbackend_fail_status 502 503 504 503\n", base);
	c = load_text(text, 1, &errors, NULL);
	T_OK(c != NULL && !c->backend_fail_status[0] && !c->backend_fail_status[1] &&
	    c->backend_fail_status[2] && c->backend_fail_status[3] && c->backend_fail_status[4] &&
	    !c->backend_fail_status[5] && !c->backend_fail_status[99],
	    "backend_fail_status 502 503 504: those three, the earlier line's 500 replaced");
	conf_unref(c);
	snprintf(text, sizeof(text), "%sbackend_fail_status 599 503\nbackend_fail_status none\n", base);
	c = load_text(text, 1, &errors, NULL);
	T_OK(c != NULL && !c->backend_fail_status[3] && !c->backend_fail_status[99],
	    "backend_fail_status none: none again");
	conf_unref(c);

	c = load_text(base, 1, &errors, NULL);
	T_OK(c != NULL && conf_backend_resolve(c, &u) == 0 && u.n == 1 &&
	    strcmp(u.addr[0].text, "127.0.0.1:7480") == 0, "no backend_addresses: the URL's host");
	conf_unref(c);
	sbuf_free(&errors);
}

static void
test_cross_checks(void)
{
	struct sbuf errors = SBUF_INIT;
	char text[4096], *path;
	struct conf *c;

	/* proxy_protocol_from any: headers taken from anyone, by choice */
	snprintf(text, sizeof(text), "%slisten 127.0.0.1:8443 proxy_protocol\nproxy_protocol_from any\n", base);
	c = load_text(text, 0, &errors, &path);
	{
		struct sockaddr_in s4 = { .sin_family = AF_INET };
		inet_pton(AF_INET, "203.0.113.9", &s4.sin_addr);
		T_OK(c != NULL && c->proxy_from_any && conf_proxy_from_allows(c, (struct sockaddr *)&s4),
		    "proxy_protocol_from any: a proxy_protocol listener takes headers from anyone");
	}
	conf_unref(c);

	/* listen tls without tls_certificate */
	snprintf(text, sizeof(text), "%slisten 127.0.0.1:8443 tls\n", base);
	c = load_text(text, 0, &errors, &path);
	T_OK(c == NULL && errors.data && strncmp(errors.data, path, strlen(path)) == 0 &&
	    strstr(errors.data, "tls_certificate") && strstr(errors.data, "; "),
	    "listen tls without tls_certificate is refused, naming the file");
	{
		char want[300];
		snprintf(want, sizeof(want), "%s:%d: ", path, base_lines + 1);
		T_OK(errors.data && strncmp(errors.data, want, strlen(want)) == 0,
		    "listen tls without tls_certificate names the listen line (%d)", base_lines + 1);
		if (errors.data && strncmp(errors.data, want, strlen(want)) != 0)
			printf("#   got: %s", errors.data);
	}
	conf_unref(c);
	snprintf(text, sizeof(text), "%slisten 127.0.0.1:8443 tls\ntls_certificate /x.pem /x.key\n", base);
	c = load_text(text, 0, &errors, &path);
	T_OK(c != NULL && c->ncerts == 1, "listen tls with tls_certificate is fine (no file checks)");
	conf_unref(c);
	c = load_text(text, 1, &errors, &path);
	T_OK(c == NULL && errors.data && strstr(errors.data, "certificate /x.pem") &&
	    strstr(errors.data, "key /x.key"), "tls_certificate files checked with check_files");
	conf_unref(c);

	/* each missing required directive is named (bits: listen, backend, credentials, store) */
	static const struct { int have; const char *match; } missing[] = {
		{ 0xe, "no listen directive" },
		{ 0xd, "no backend directive" },
		{ 0xb, "no backend_credentials directive" },
		{ 0x7, "no policy_store directive" },
		{ 0x0, "no listen directive" },
	};
	for (size_t i = 0; i < sizeof(missing) / sizeof(missing[0]); i++) {
		int h = missing[i].have;
		snprintf(text, sizeof(text), "%s%s%s%s%s%s",
		    h & 1 ? "listen 127.0.0.1:1\n" : "", h & 2 ? "backend http://h:1\n" : "",
		    h & 4 ? "backend_credentials K " : "", h & 4 ? secret_file : "", h & 4 ? "\n" : "",
		    h & 8 ? "policy_store file /tmp\n" : "");
		c = load_text(text, 0, &errors, &path);
		T_OK(c == NULL && errors.data && strncmp(errors.data, path, strlen(path)) == 0 &&
		    strstr(errors.data, missing[i].match) && strstr(errors.data, "; add"),
		    "missing directive: \"%s\"", missing[i].match);
		conf_unref(c);
	}

	/* the backend URL's port must be a port */
	snprintf(text, sizeof(text), "%sbackend http://127.0.0.1:\n", base);
	c = load_text(text, 0, &errors, &path);
	T_OK(c == NULL,
	    "backend \"http://127.0.0.1:\" (empty port) is refused");
	conf_unref(c);
	snprintf(text, sizeof(text), "%sbackend http://127.0.0.1:abc\n", base);
	c = load_text(text, 0, &errors, &path);
	T_OK(c == NULL,
	    "backend \"http://127.0.0.1:abc\" (non-numeric port) is refused");
	conf_unref(c);
	sbuf_free(&errors);
}

/*
 * tls_certificate with check_files: the pair is loaded and matched, as the
 * workers will (a key of another certificate passed -t and then stopped
 * every worker).  The certificates are made with openssl(1).
 */
static void
test_certificates(void)
{
	struct sbuf errors = SBUF_INIT;
	char cmd[1024], a_crt[300], a_key[300], b_key[300], text[4096], *path, *junk;
	struct conf *c;
	int i;

	for (i = 0; i < 2; i++) {
		snprintf(cmd, sizeof(cmd), "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 "
		    "-nodes -days 2 -subj /CN=%c -keyout %s/%c.key -out %s/%c.crt >/dev/null 2>&1 && "
		    "chmod 600 %s/%c.key", 'a' + i, tmpdir, 'a' + i, tmpdir, 'a' + i, tmpdir, 'a' + i);
		if (system(cmd) != 0) {
			T_SKIP("tls_certificate checks # openssl(1) cannot make a certificate here");
			return;
		}
	}
	snprintf(a_crt, sizeof(a_crt), "%s/a.crt", tmpdir);
	snprintf(a_key, sizeof(a_key), "%s/a.key", tmpdir);
	snprintf(b_key, sizeof(b_key), "%s/b.key", tmpdir);

	snprintf(text, sizeof(text), "%slisten 127.0.0.1:8443 tls\ntls_certificate %s %s\n", base, a_crt, a_key);
	c = load_text(text, 1, &errors, &path);
	T_OK(c != NULL, "tls_certificate: a matching pair loads with check_files");
	if (c == NULL)
		printf("#   got: %s", errors.data);
	conf_unref(c);

	snprintf(text, sizeof(text), "%slisten 127.0.0.1:8443 tls\ntls_certificate %s %s\n", base, a_crt, b_key);
	c = load_text(text, 1, &errors, &path);
	T_OK(c == NULL && check_error(errors.data ? errors.data : "", path, base_lines + 2, "does not match"),
	    "tls_certificate: the key of another certificate is refused at its line, with the fix");
	if (c != NULL || errors.data == NULL || strstr(errors.data, "does not match") == NULL)
		printf("#   got: %s", errors.data ? errors.data : "(nothing)\n");
	conf_unref(c);
	c = load_text(text, 0, &errors, &path);
	T_OK(c != NULL, "tls_certificate: without check_files the files are not read");
	conf_unref(c);

	junk = write_temp("not a certificate\n", 0600);
	snprintf(text, sizeof(text), "%slisten 127.0.0.1:8443 tls\ntls_certificate %s %s\n", base, junk, a_key);
	c = load_text(text, 1, &errors, &path);
	T_OK(c == NULL && check_error(errors.data ? errors.data : "", path, base_lines + 2,
	    "cannot load the certificate chain"), "tls_certificate: a file that is no PEM certificate is refused");
	conf_unref(c);

	snprintf(text, sizeof(text), "%sbackend_ca_file %s\n", base, a_crt);
	c = load_text(text, 1, &errors, &path);
	T_OK(c != NULL && strcmp(c->backend_ca_file, a_crt) == 0, "backend_ca_file: a PEM certificate loads");
	conf_unref(c);
	snprintf(text, sizeof(text), "%sbackend_ca_file %s\n", base, junk);
	c = load_text(text, 1, &errors, &path);
	T_OK(c == NULL && check_error(errors.data ? errors.data : "", path, base_lines + 1, "backend_ca_file"),
	    "backend_ca_file: a file with no certificate is refused at its line");
	conf_unref(c);
	for (i = 0; i < 2; i++) {
		snprintf(cmd, sizeof(cmd), "%s/%c.crt", tmpdir, 'a' + i);
		unlink(cmd);
		snprintf(cmd, sizeof(cmd), "%s/%c.key", tmpdir, 'a' + i);
		unlink(cmd);
	}
	sbuf_free(&errors);
}

static void
test_secrets(void)
{
	struct sbuf errors = SBUF_INIT;
	char text[4096], *path, *loose, *empty, *badkey;
	struct conf *c;

	loose = write_temp("secret\n", 0644);
	snprintf(text, sizeof(text), "%sbackend_credentials K2 %s\n", base, loose);
	c = load_text(text, 0, &errors, &path);
	T_OK(c == NULL && check_error(errors.data ? errors.data : "", path, base_lines + 1,
	    "accessible by group or others (mode 644)") && strstr(errors.data, "chmod 600"),
	    "secret file with mode 0644 refused, naming the line and the fix");
	conf_unref(c);
	chmod(loose, 0640);
	c = load_text(text, 0, &errors, &path);
	T_OK(c == NULL && errors.data && strstr(errors.data, "mode 640"), "secret file with mode 0640 refused");
	conf_unref(c);
	chmod(loose, 0600);
	c = load_text(text, 0, &errors, &path);
	T_OK(c != NULL && strcmp(c->backend_access_key_id, "K2") == 0 &&
	    strcmp(c->backend_secret, "secret") == 0, "secret file with mode 0600 accepted, later line wins");
	conf_unref(c);

	snprintf(text, sizeof(text), "%sbackend_credentials K2 %s/missing-secret\n", base, tmpdir);
	c = load_text(text, 0, &errors, &path);
	T_OK(c == NULL && check_error(errors.data ? errors.data : "", path, base_lines + 1,
	    "cannot open backend secret file"), "missing secret file refused");
	conf_unref(c);

	snprintf(text, sizeof(text), "%sbackend_credentials K2 %s\n", base, tmpdir);
	c = load_text(text, 0, &errors, &path);
	T_OK(c == NULL && errors.data && strstr(errors.data, "not a regular file"),
	    "secret path that is a directory refused");
	conf_unref(c);

	empty = write_temp("\n", 0600);
	snprintf(text, sizeof(text), "%sbackend_credentials K2 %s\n", base, empty);
	c = load_text(text, 0, &errors, &path);
	T_OK(c == NULL && errors.data && strstr(errors.data, "empty first line"), "empty secret refused");
	conf_unref(c);

	badkey = write_temp("not-hex\n", 0600);
	snprintf(text, sizeof(text), "%spolicy_secret_key %s\n", base, badkey);
	c = load_text(text, 0, &errors, &path);
	T_OK(c == NULL && check_error(errors.data ? errors.data : "", path, base_lines + 1,
	    "must hold 64 hex digits") && strstr(errors.data, "openssl rand -hex 32"),
	    "policy secret key that is not 64 hex digits refused");
	conf_unref(c);

	/* policy_store_password: a secret file, for Redis only, replaced and wiped like the others */
	{
		char *pw = write_temp("s3cr3t redis pass\n", 0600), *loosepw = write_temp("pw\n", 0644);
		char longpw[300];

		snprintf(text, sizeof(text), "%spolicy_store redis redis://127.0.0.1:6379/0\n"
		    "policy_store_password %s\n", base, pw);
		c = load_text(text, 0, &errors, &path);
		T_OK(c != NULL && c->store_password != NULL &&
		    strcmp(c->store_password, "s3cr3t redis pass") == 0,
		    "policy_store_password: the file's first line is the Redis password");
		conf_unref(c);
		snprintf(text, sizeof(text), "%spolicy_store_password %s\n", base, pw);
		c = load_text(text, 0, &errors, &path);
		T_OK(c == NULL && errors.data && strstr(errors.data, "policy_store_password is for "
		    "policy_store redis"), "policy_store_password with policy_store file refused");
		conf_unref(c);
		snprintf(text, sizeof(text), "%spolicy_store redis redis://h/0\npolicy_store_password %s\n",
		    base, loosepw);
		c = load_text(text, 0, &errors, &path);
		T_OK(c == NULL && check_error(errors.data ? errors.data : "", path, base_lines + 2,
		    "Redis password file") && strstr(errors.data, "chmod 600"),
		    "policy_store_password file readable by others refused, naming the line");
		conf_unref(c);
		memset(longpw, 'x', 299);
		longpw[299] = '\0';
		pw = write_temp(longpw, 0600);
		snprintf(text, sizeof(text), "%spolicy_store redis redis://h/0\npolicy_store_password %s\n",
		    base, pw);
		c = load_text(text, 0, &errors, &path);
		T_OK(c == NULL && errors.data && strstr(errors.data, "more than 255 bytes"),
		    "policy_store_password over 255 bytes refused");
		conf_unref(c);
	}
	sbuf_free(&errors);
}

static void
test_include(void)
{
	struct sbuf errors = SBUF_INIT;
	char text[4096], dir[300], pattern[320], inc1[400], inc2[400], *path;
	struct conf *c;
	FILE *fp;

	snprintf(dir, sizeof(dir), "%s/conf.d", tmpdir);
	mkdir(dir, 0700);
	snprintf(inc1, sizeof(inc1), "%s/10-region.conf", dir);
	snprintf(inc2, sizeof(inc2), "%s/20-limits.conf", dir);
	fp = fopen(inc1, "w");
	fprintf(fp, "region eu-1\nservice_domain s3.example.org\n");
	fclose(fp);
	fp = fopen(inc2, "w");
	fprintf(fp, "# limits\nregion eu-2\nmax_headers 50\n");
	fclose(fp);
	snprintf(pattern, sizeof(pattern), "%s/*.conf", dir);

	snprintf(text, sizeof(text), "%sinclude %s\nidle_timeout 5s\n", base, pattern);
	c = load_text(text, 0, &errors, &path);
	T_OK(c != NULL, "include: a glob of two files loads");
	T_OK(c != NULL && strcmp(c->region, "eu-2") == 0, "include: files read in sorted order");
	T_OK(c != NULL && c->max_headers == 50 && c->ndomains == 1 && c->idle_timeout_ms == 5000,
	    "include: directives of both files and the lines after the include apply");
	conf_unref(c);

	snprintf(text, sizeof(text), "region main\ninclude %s\n%s", pattern, base);
	c = load_text(text, 0, &errors, &path);
	T_OK(c != NULL && strcmp(c->region, "eu-2") == 0, "include: included files override earlier lines");
	conf_unref(c);

	snprintf(text, sizeof(text), "%sinclude %s/nothing-*.conf\n", base, dir);
	c = load_text(text, 0, &errors, &path);
	T_OK(c != NULL, "include: a pattern matching nothing is fine");
	conf_unref(c);

	/* an error inside an included file names that file and its line; lines after it, the main file */
	fp = fopen(inc2, "w");
	fprintf(fp, "# limits\nregion eu-2\nmax_headers 5000\n");
	fclose(fp);
	snprintf(text, sizeof(text), "%sinclude %s\nframble 1\n", base, pattern);
	c = load_text(text, 0, &errors, &path);
	{
		char want1[600], want2[600];
		snprintf(want1, sizeof(want1), "%s:3: max_headers \"5000\"", inc2);
		snprintf(want2, sizeof(want2), "\n%s:%d: unknown directive \"framble\"", path, base_lines + 2);
		T_OK(c == NULL && errors.data && strncmp(errors.data, want1, strlen(want1)) == 0,
		    "include: an error in an included file names that file and line");
		T_OK(errors.data && strstr(errors.data, want2) != NULL,
		    "include: after an include, errors name the main file and its own line");
		if (c != NULL || errors.data == NULL || strstr(errors.data, want2) == NULL)
			printf("#   got: %s", errors.data ? errors.data : "(nothing)\n");
	}
	conf_unref(c);

	/* a file that includes itself is refused at once, with an error */
	{
		char self[400];
		snprintf(self, sizeof(self), "%s/self.conf", dir);
		fp = fopen(self, "w");
		fprintf(fp, "%sinclude %s\n", base, self);
		fclose(fp);
		sbuf_reset(&errors);
		c = conf_load(self, 0, &errors);
		T_OK(c == NULL && errors.data && strstr(errors.data, "include loop"),
		    "include: a loop is refused");
		conf_unref(c);
		unlink(self);
	}

	/* a missing exact path (no wildcard) is a typo, as in nginx: an error */
	snprintf(text, sizeof(text), "%sinclude %s/none.conf\n", base, dir);
	c = load_text(text, 0, &errors, &path);
	T_OK(c == NULL,
	    "include: a missing file named without wildcards is an error");
	conf_unref(c);

	unlink(inc1);
	unlink(inc2);
	rmdir(dir);

	sbuf_reset(&errors);
	c = conf_load("/nonexistent/s3gate.conf", 0, &errors);
	T_OK(c == NULL && errors.data && strstr(errors.data, "cannot open /nonexistent/s3gate.conf"),
	    "a missing main file is an error");
	sbuf_free(&errors);
}

static void
test_parse_helpers(void)
{
	static const struct { const char *in; int64_t want; } durations[] = {
		{ "90s", 90000 }, { "15m", 900000 }, { "8h", 28800000 }, { "7d", 604800000 },
		{ "250ms", 250 }, { "0", 0 }, { "0s", 0 }, { "10", 10000 }, { "1d", 86400000 },
		{ "", -1 }, { "s", -1 }, { "-1s", -1 }, { "+1s", -1 }, { " 1s", -1 }, { "1.5s", -1 },
		{ "1S", -1 }, { "1 s", -1 }, { "1sec", -1 }, { "1w", -1 }, { "1s ", -1 },
		{ "99999999999999999999d", -1 }, { "106751991167301d", -1 },
	};
	static const struct { const char *in; int64_t want; } sizes[] = {
		{ "4096", 4096 }, { "64k", 65536 }, { "64K", 65536 }, { "50M", 52428800 },
		{ "1G", 1073741824LL }, { "2T", 2199023255552LL }, { "1MB", 1048576 }, { "1kb", 1024 },
		{ "0", 0 }, { "", -1 }, { "M", -1 }, { "-1", -1 }, { "1.5M", -1 }, { "1X", -1 },
		{ "1MiB", -1 }, { "1MBx", -1 }, { " 1", -1 }, { "1 M", -1 },
		{ "99999999999999999999", -1 }, { "9999999999T", -1 },
	};
	size_t i;

	for (i = 0; i < sizeof(durations) / sizeof(durations[0]); i++)
		T_OK(conf_parse_duration_ms(durations[i].in) == durations[i].want,
		    "conf_parse_duration_ms(\"%s\") == %lld (got %lld)", durations[i].in,
		    (long long)durations[i].want, (long long)conf_parse_duration_ms(durations[i].in));
	T_OK(conf_parse_duration_ms(NULL) == -1, "conf_parse_duration_ms(NULL) == -1");
	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
		T_OK(conf_parse_size(sizes[i].in) == sizes[i].want, "conf_parse_size(\"%s\") == %lld (got %lld)",
		    sizes[i].in, (long long)sizes[i].want, (long long)conf_parse_size(sizes[i].in));
	T_OK(conf_parse_size(NULL) == -1, "conf_parse_size(NULL) == -1");
}

int
main(void)
{
	setup();
	test_full();
	test_defaults();
	test_errors();
	test_cross_checks();
	test_backend_addresses();
	test_certificates();
	test_secrets();
	test_include();
	test_parse_helpers();
	teardown();
	return T_DONE();
}
