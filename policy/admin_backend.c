/*
 * admin_backend: the backend asked directly, with the service credentials
 * (a signed request over plain TCP or TLS, bounded in time): bucket create
 * and sync create buckets there, check asks it the time (admin.c's rules
 * hold here; admin_int.h).
 */
#include <sys/socket.h>
#include <sys/time.h>

#include <errno.h>
#include <netdb.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "policy/admin_int.h"
#include "proxy/conf.h"
#include "proxy/sigv4.h"
#include "proxy/tls.h"

#define ADMIN_BACKEND_TIMEOUT	10	/* seconds, per connect and per read */
#define ADMIN_BACKEND_DEADLINE	30	/* seconds for a whole answer, however it drips */

/*
 * An https backend's TLS session on the connected FD, the certificate
 * checked as the proxy checks it (backend_ca_file, or the system's CAs;
 * the name of the backend URL); NULL with the reason in ERR.
 */
static SSL *
admin_backend_tls(struct admin *a, int fd, struct sbuf *err)
{
	const struct conf *c = a->conf;
	struct sbuf why = SBUF_INIT;
	SSL_CTX *ctx;
	SSL *ssl = NULL;
	long verify;

	if ((ctx = tls_backend_ctx_new(c, &why)) == NULL) {
		sbuf_appendf(err, "backend %s: TLS: %s", c->backend_url,
		    why.len > 0 ? why.data : "cannot set up");
		sbuf_free(&why);
		return NULL;
	}
	if ((ssl = tls_backend_connect(ctx, fd, c->backend_connect_host)) != NULL &&
	    SSL_connect(ssl) != 1) {
		verify = SSL_get_verify_result(ssl);
		sbuf_appendf(err, "backend %s: TLS handshake failed%s%s", c->backend_url,
		    verify != X509_V_OK ? ": certificate: " : "",
		    verify != X509_V_OK ? X509_verify_cert_error_string(verify) : "");
		SSL_free(ssl);
		ssl = NULL;
	} else if (ssl == NULL)
		sbuf_appendf(err, "backend %s: TLS: out of memory", c->backend_url);
	SSL_CTX_free(ctx);	/* the session holds its own reference */
	return ssl;
}

/*
 * One signed request for PATH (as it goes on the wire: "/" or "/BUCKET")
 * to the backend with an empty body; returns the HTTP status, or -1 with
 * the reason in ERR.  RESP (RESPSZ bytes, NUL-terminated) gets what came:
 * the head, and with WANT_BODY the start of the body.  Blocking, bounded
 * by timeouts: a CLI, not the event loop.  http:// or https:// as the
 * proxy reaches it.
 */
int
admin_backend_request(struct admin *a, const char *method, const char *path, int want_body,
    char *resp, size_t respsz, struct sbuf *err)
{
	const struct conf *c = a->conf;
	struct upstream u;
	struct timeval tv = { ADMIN_BACKEND_TIMEOUT, 0 };
	struct http_header h[3];
	struct sbuf auth = SBUF_INIT, req = SBUF_INIT;
	unsigned char key[SIGV4_KEY_LEN];
	char amz_date[17], date[9], hash[65];
	const char *region;
	size_t got = 0, off = 0;
	ssize_t n;
	int fd = -1, status = -1, gai, major, minor, i;
	SSL *ssl = NULL;
	time_t started;

	if (c->backend_access_key_id == NULL || c->backend_secret == NULL) {
		sbuf_appendf(err, "no backend_credentials in %s", c->file);
		return -1;
	}
	/* the addresses the proxy dials (backend_addresses, or the URL's host), in order */
	if ((gai = conf_backend_resolve(c, &u)) != 0) {
		sbuf_appendf(err, "backend %s: %s", c->backend_url, gai_strerror(gai));
		return -1;
	}
	for (i = 0; i < u.n; i++) {
		if ((fd = socket(u.addr[i].ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
			continue;
		(void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
		(void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		if (connect(fd, (const struct sockaddr *)&u.addr[i].ss, u.addr[i].len) == 0)
			break;
		close(fd);
		fd = -1;
	}
	if (fd == -1) {
		sbuf_appendf(err, "backend %s unreachable: %s", c->backend_url, strerror(errno));
		return -1;
	}
	if (c->backend_tls && (ssl = admin_backend_tls(a, fd, err)) == NULL) {
		close(fd);
		return -1;
	}

	region = c->backend_region ? c->backend_region : c->region;
	sigv4_format_date(a->now, amz_date);
	memcpy(date, amz_date, 8);
	date[8] = '\0';
	sigv4_sha256_hex("", 0, hash);
	h[0] = (struct http_header){ "host", 4, c->backend_host, strlen(c->backend_host) };
	h[1] = (struct http_header){ "x-amz-content-sha256", 20, hash, 64 };
	h[2] = (struct http_header){ "x-amz-date", 10, amz_date, 16 };
	sigv4_signing_key(c->backend_secret, strlen(c->backend_secret), date, region, "s3", key);
	sigv4_sign(method, path, "", h, 3, hash, amz_date, region, c->backend_access_key_id,
	    key, &auth);
	explicit_bzero(key, sizeof(key));
	sbuf_appendf(&req, "%s %s HTTP/1.1\r\nHost: %s\r\nx-amz-content-sha256: %s\r\n"
	    "x-amz-date: %s\r\nAuthorization: %s\r\nContent-Length: 0\r\n"
	    "Connection: close\r\n\r\n", method, path, c->backend_host, hash, amz_date,
	    auth.data);
	while (off < req.len) {
		if (ssl != NULL)
			n = SSL_write(ssl, req.data + off, (int)(req.len - off)) > 0 ?
			    (ssize_t)(req.len - off) : -1;	/* whole, or failed (no partial writes) */
		else
			n = write(fd, req.data + off, req.len - off);
		if (n == -1) {
			if (errno == EINTR && ssl == NULL)
				continue;
			sbuf_appendf(err, "backend %s: %s", c->backend_url,
			    ssl != NULL ? "TLS write failed" : strerror(errno));
			goto out;
		}
		off += (size_t)n;
	}
	resp[0] = '\0';
	started = time(NULL);
	while (got < respsz - 1 && time(NULL) - started < ADMIN_BACKEND_DEADLINE) {
		if (ssl != NULL)
			n = SSL_read(ssl, resp + got, (int)(respsz - 1 - got));
		else
			n = read(fd, resp + got, respsz - 1 - got);
		if (n == -1 && ssl == NULL && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
		resp[got] = '\0';
		if (!want_body && strstr(resp, "\r\n\r\n") != NULL)
			break;
	}
	resp[got] = '\0';
	if (sscanf(resp, "HTTP/%d.%d %d", &major, &minor, &status) != 3) {
		sbuf_appendf(err, "backend %s: no HTTP answer to %s %s", c->backend_url, method,
		    path);
		status = -1;
	}
out:
	if (ssl != NULL) {
		(void)SSL_shutdown(ssl);
		SSL_free(ssl);
	}
	close(fd);
	sbuf_free(&auth);
	sbuf_free(&req);
	return status;
}

/* admin_backend_request() for /BUCKET, its answer's head only. */
static int
admin_backend_call(struct admin *a, const char *method, const char *bucket, struct sbuf *err)
{
	char path[80], resp[1024];

	snprintf(path, sizeof(path), "/%s", bucket);
	return admin_backend_request(a, method, path, 0, resp, sizeof(resp), err);
}

/*
 * Creates BUCKET on the backend if it lacks it: 1 created here, 0 there and
 * the service's (HEAD 200), ADMIN_BACKEND_TAKEN there and someone else's
 * (HEAD 403, or PUT 409), -1 another error; ERR says why for the last two.
 * HEAD and PUT run under the store's lock, so no other s3gate command on
 * this store creates the bucket between them; something else using the
 * service credentials could (a PUT of a bucket the service already owns
 * may answer 200): nothing here can tell that apart.
 */
int
admin_backend_ensure(struct admin *a, const char *bucket, struct sbuf *err)
{
	int st;

	if ((st = admin_backend_call(a, "HEAD", bucket, err)) == -1)
		return -1;
	if (st == 200)
		return 0;
	if (st == 403) {
		sbuf_appendf(err, "HEAD /%s answered 403: the bucket exists and belongs to "
		    "someone else", bucket);
		return ADMIN_BACKEND_TAKEN;
	}
	if (st != 404) {
		sbuf_appendf(err, "HEAD /%s answered %d", bucket, st);
		return -1;
	}
	if ((st = admin_backend_call(a, "PUT", bucket, err)) == -1)
		return -1;
	if (st == 409) {
		sbuf_appendf(err, "PUT /%s answered 409: the bucket was created meanwhile", bucket);
		return ADMIN_BACKEND_TAKEN;
	}
	if (st != 200) {
		sbuf_appendf(err, "PUT /%s answered %d", bucket, st);
		return -1;
	}
	return 1;
}
