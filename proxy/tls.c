/*
 * tls: see tls.h.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

#include "proxy/log.h"
#include "proxy/ticketkeys.h"
#include "proxy/tls.h"

#define TLS_CIPHERS_12 \
	"ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:" \
	"ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:" \
	"ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305"
#define TLS_READ_BUFFER		(64 * 1024)	/* OpenSSL's read-ahead buffer per connection */

/*
 * The contexts of one configuration's certificates.  Every SSL made from
 * them holds a reference (tls_ssl_index, dropped by SSL_free), because
 * the SNI callback of a handshake under way reads them: a reload frees the
 * server's reference only, and the last connection made before it frees
 * the contexts (a handshake accepted before a SIGHUP used to read freed
 * memory).  One event loop per process: the count needs no atomics.
 */
struct tls_server {
	SSL_CTX	*ctx[CONF_MAX_CERTS];
	int	 nctx;
	int	 refcount;
};

static int tls_ssl_index = -1;	/* SSL ex_data: the tls_server it was made from */

/* The ticket keys of this process (ticketkeys.h): every worker reaches the same ones. */
static struct ticketkeys tls_ticket_keys;

/*
 * The period from CLOCK_REALTIME, as tls_ticket_next_ms counts: time(2)
 * reads a coarser clock that lags it by up to a tick, so a wake-up at the
 * boundary saw the old period and slept a whole period more.
 */
static uint64_t
tls_ticket_period(void)
{
	struct timespec now;

	clock_gettime(CLOCK_REALTIME, &now);
	return (uint64_t)now.tv_sec / TICKETKEYS_PERIOD;
}

static EVP_CIPHER *tls_ticket_cipher;

void
tls_init_ticket_secret(void)
{
	unsigned char secret[TICKETKEYS_SECRET_LEN];

	if (RAND_bytes(secret, sizeof(secret)) != 1)
		fatalx("RAND_bytes failed");
	ticketkeys_init(&tls_ticket_keys, secret, tls_ticket_period());
	explicit_bzero(secret, sizeof(secret));
}

void
tls_ticket_advance(void)
{
	if (tls_ticket_keys.ready && ticketkeys_advance(&tls_ticket_keys, tls_ticket_period()) == -1)
		log_warnx("the clock jumped ahead by over %d days: no TLS session tickets from now on "
		    "(restart to have them again)", TICKETKEYS_MAX_STEPS / 24);
}

void
tls_ticket_wipe(void)
{
	ticketkeys_wipe(&tls_ticket_keys);
}

long long
tls_ticket_next_ms(void)
{
	struct timespec now;

	clock_gettime(CLOCK_REALTIME, &now);
	return (long long)(TICKETKEYS_PERIOD - now.tv_sec % TICKETKEYS_PERIOD) * 1000 -
	    now.tv_nsec / 1000000;
}

static int tls_ktls = -1;	/* tls_ktls_available: -1 not asked yet */

/*
 * Asked once, with the setsockopt OpenSSL makes on every connection when
 * SSL_OP_ENABLE_KTLS is set (TCP_ULP "tls"), on a socket not connected: a
 * kernel with the tls module says ENOTCONN (loading it first if it can:
 * main asks while it is root, before the workers start), one without says
 * ENOENT.  The option is set only where it can work: without kTLS every
 * handshake made two failed setsockopts, and on a kernel with modules but
 * no tls module, started a modprobe.
 */
int
tls_ktls_available(void)
{
	int fd;

	if (tls_ktls != -1)
		return tls_ktls;
	tls_ktls = 0;
	if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) != -1) {
		tls_ktls = setsockopt(fd, IPPROTO_TCP, TCP_ULP, "tls", sizeof("tls")) == 0 ||
		    errno == ENOTCONN;
		close(fd);
	}
	return tls_ktls;
}

static void
tls_errors(struct sbuf *errors)
{
	unsigned long e;
	char buf[256];

	while ((e = ERR_get_error()) != 0) {
		ERR_error_string_n(e, buf, sizeof(buf));
		sbuf_appendf(errors, "  %s\n", buf);
	}
}

/* Session tickets: current period's key encrypts; it and the previous decrypt. */
static int
tls_ticket_cb(SSL *ssl, unsigned char key_name[16], unsigned char iv[EVP_MAX_IV_LENGTH],
    EVP_CIPHER_CTX *cctx, EVP_MAC_CTX *hctx, int enc)
{
	const struct ticketkeys_set *k;
	uint64_t now = tls_ticket_period();
	OSSL_PARAM params[3];

	tls_ticket_advance();	/* a no-op but at a period's first ticket */
	if (tls_ticket_cipher == NULL &&
	    (tls_ticket_cipher = EVP_CIPHER_fetch(NULL, "AES-256-CBC", NULL)) == NULL)
		return 0;
	if (enc) {
		if ((k = ticketkeys_get(&tls_ticket_keys, now)) == NULL)
			return 0;	/* the clock went back past our keys: no ticket */
		memcpy(key_name, k->name, 16);
		if (RAND_bytes(iv, 16) != 1 ||
		    EVP_EncryptInit_ex(cctx, tls_ticket_cipher, NULL, k->aes, iv) != 1)
			return 0;
	} else {
		if ((k = ticketkeys_find(&tls_ticket_keys, key_name, now)) == NULL)
			return 0;	/* unknown or expired key: full handshake */
		if (EVP_DecryptInit_ex(cctx, tls_ticket_cipher, NULL, k->aes, iv) != 1)
			return 0;
	}
	params[0] = OSSL_PARAM_construct_octet_string(OSSL_MAC_PARAM_KEY, (void *)k->mac, sizeof(k->mac));
	params[1] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)"SHA256", 0);
	params[2] = OSSL_PARAM_construct_end();
	if (EVP_MAC_CTX_set_params(hctx, params) != 1)
		return -1;
	return enc || k->period == now ? 1 : 2;	/* 2: valid, but issue a fresh ticket */
}

static int
tls_alpn_cb(SSL *ssl, const unsigned char **out, unsigned char *outlen,
    const unsigned char *in, unsigned int inlen, void *arg)
{
	static const unsigned char http11[] = { 8, 'h', 't', 't', 'p', '/', '1', '.', '1' };
	unsigned char *sel;

	if (SSL_select_next_proto(&sel, outlen, http11, sizeof(http11), in, inlen) !=
	    OPENSSL_NPN_NEGOTIATED)
		return SSL_TLSEXT_ERR_NOACK;	/* no ALPN: HTTP/1.1 is still what we speak */
	*out = sel;
	return SSL_TLSEXT_ERR_OK;
}

/*
 * Read ahead: OpenSSL fills its buffer with as many records as the socket
 * holds (TLS_READ_BUFFER at most) instead of reading each record's header
 * and body separately, two read(2)s per 16 KiB record.  Bytes it holds are
 * invisible to epoll: every wait for readability first asks SSL_has_pending
 * or tries SSL_read (sockio_recv gathers the buffered records).
 */
static void
tls_ctx_read_ahead(SSL_CTX *ctx)
{
	SSL_CTX_set_read_ahead(ctx, 1);
	SSL_CTX_set_default_read_buffer_len(ctx, TLS_READ_BUFFER);
}

/* SNI: the first context whose certificate names the requested host. */
static int
tls_sni_cb(SSL *ssl, int *alert, void *arg)
{
	const struct tls_server *ts = SSL_get_ex_data(ssl, tls_ssl_index);
	const char *name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
	int i;

	if (name == NULL || ts == NULL)
		return SSL_TLSEXT_ERR_OK;
	for (i = 0; i < ts->nctx; i++) {
		X509 *x = SSL_CTX_get0_certificate(ts->ctx[i]);
		if (x != NULL && X509_check_host(x, name, 0, 0, NULL) == 1) {
			if (i > 0)
				SSL_set_SSL_CTX(ssl, ts->ctx[i]);	/* the SSL refs the context */
			break;
		}
	}
	return SSL_TLSEXT_ERR_OK;
}

/* The last OpenSSL error's reason ("key values mismatch"), the queue cleared. */
static const char *
tls_last_reason(void)
{
	unsigned long e = ERR_peek_last_error();
	const char *r = e != 0 ? ERR_reason_error_string(e) : NULL;

	ERR_clear_error();
	return r != NULL ? r : "unknown error";
}

/*
 * Loads CERT (a PEM chain) and KEY into CTX and checks that they match.
 * On failure, WHY says which file and what to do, on one line.
 */
static int
tls_ctx_use_pair(SSL_CTX *ctx, const char *cert, const char *key, struct sbuf *why)
{
	ERR_clear_error();
	if (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1) {
		sbuf_appendf(why, "tls_certificate %s: cannot load the certificate chain (%s); "
		    "give a PEM file of the certificate and its chain", cert, tls_last_reason());
		return -1;
	}
	if (SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1) {
		sbuf_appendf(why, "tls_certificate %s: the key %s does not load or does not match the "
		    "certificate (%s); give the certificate's own PEM private key, unencrypted", cert, key, tls_last_reason());
		return -1;
	}
	if (SSL_CTX_check_private_key(ctx) != 1) {
		sbuf_appendf(why, "tls_certificate %s: the key %s does not match the certificate (%s); "
		    "give the key the certificate was made for", cert, key, tls_last_reason());
		return -1;
	}
	return 0;
}

int
tls_check_certificate(const char *cert, const char *key, struct sbuf *why)
{
	SSL_CTX *ctx;
	int rc;

	if ((ctx = SSL_CTX_new(TLS_server_method())) == NULL) {
		sbuf_appendf(why, "cannot make a TLS context (%s)", tls_last_reason());
		return -1;
	}
	rc = tls_ctx_use_pair(ctx, cert, key, why);
	SSL_CTX_free(ctx);
	return rc;
}

/* Loads CA_FILE into CTX's trust store; WHY as above. */
static int
tls_ctx_use_ca_file(SSL_CTX *ctx, const char *ca_file, struct sbuf *why)
{
	ERR_clear_error();
	if (SSL_CTX_load_verify_locations(ctx, ca_file, NULL) != 1) {
		sbuf_appendf(why, "backend_ca_file %s: cannot load (%s); give a PEM file of CA certificates",
		    ca_file, tls_last_reason());
		return -1;
	}
	return 0;
}

int
tls_check_ca_file(const char *ca_file, struct sbuf *why)
{
	SSL_CTX *ctx;
	int rc;

	if ((ctx = SSL_CTX_new(TLS_client_method())) == NULL) {
		sbuf_appendf(why, "cannot make a TLS context (%s)", tls_last_reason());
		return -1;
	}
	rc = tls_ctx_use_ca_file(ctx, ca_file, why);
	SSL_CTX_free(ctx);
	return rc;
}

struct tls_server *
tls_server_new(const struct conf *cf, struct sbuf *errors)
{
	struct sbuf why = SBUF_INIT;
	struct tls_server *ts;
	SSL_CTX *ctx;
	int i;

	if ((ts = calloc(1, sizeof(*ts))) == NULL)
		abort();
	ts->refcount = 1;
	for (i = 0; i < cf->ncerts; i++) {
		if ((ctx = SSL_CTX_new(TLS_server_method())) == NULL) {
			tls_errors(errors);
			goto fail;
		}
		ts->ctx[ts->nctx++] = ctx;
		SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
		SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION |
		    SSL_OP_CIPHER_SERVER_PREFERENCE);
#ifdef SSL_OP_ENABLE_KTLS
		if (tls_ktls_available())
			SSL_CTX_set_options(ctx, SSL_OP_ENABLE_KTLS);
#endif
		SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE |
		    SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER | SSL_MODE_RELEASE_BUFFERS);
		tls_ctx_read_ahead(ctx);
		if (SSL_CTX_set_cipher_list(ctx, TLS_CIPHERS_12) != 1) {
			tls_errors(errors);
			goto fail;
		}
		if (tls_ctx_use_pair(ctx, cf->certs[i].cert_file, cf->certs[i].key_file, &why) == -1) {
			sbuf_appendf(errors, "%s: %s\n", cf->certs[i].where, why.data);
			sbuf_free(&why);
			goto fail;
		}
		SSL_CTX_set_alpn_select_cb(ctx, tls_alpn_cb, NULL);
		SSL_CTX_set_tlsext_servername_callback(ctx, tls_sni_cb);
		SSL_CTX_set_tlsext_ticket_key_evp_cb(ctx, tls_ticket_cb);
		SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
		/*
		 * One TLS 1.3 ticket per handshake, not OpenSSL's two: ours are
		 * stateless and may be used again until their key period ends,
		 * so a client resuming several connections needs only the one.
		 * The second cost 2% of a full handshake's instructions.
		 */
		SSL_CTX_set_num_tickets(ctx, 1);
	}
	return ts;
fail:
	tls_server_free(ts);
	return NULL;
}

void
tls_server_free(struct tls_server *ts)
{
	int i;

	if (ts == NULL || --ts->refcount > 0)
		return;
	for (i = 0; i < ts->nctx; i++)
		SSL_CTX_free(ts->ctx[i]);
	free(ts);
}

/* SSL_free of an SSL made by tls_server_accept: its reference goes. */
static void
tls_ssl_free_cb(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx, long argl, void *argp)
{
	tls_server_free(ptr);
}

SSL *
tls_server_accept(struct tls_server *ts, int fd)
{
	SSL *ssl;

	if (tls_ssl_index == -1 &&
	    (tls_ssl_index = SSL_get_ex_new_index(0, NULL, NULL, NULL, tls_ssl_free_cb)) == -1)
		return NULL;
	if (ts == NULL || ts->nctx == 0 || (ssl = SSL_new(ts->ctx[0])) == NULL)
		return NULL;
	if (SSL_set_ex_data(ssl, tls_ssl_index, ts) != 1) {
		SSL_free(ssl);
		return NULL;
	}
	ts->refcount++;
	if (SSL_set_fd(ssl, fd) != 1) {
		SSL_free(ssl);
		return NULL;
	}
	SSL_set_accept_state(ssl);
	return ssl;
}

int
tls_server_not_after(const struct tls_server *ts, int i, time_t *out)
{
	X509 *x;
	struct tm tm;

	if (ts == NULL || i < 0 || i >= ts->nctx ||
	    (x = SSL_CTX_get0_certificate(ts->ctx[i])) == NULL ||
	    ASN1_TIME_to_tm(X509_get0_notAfter(x), &tm) != 1)
		return -1;
	*out = timegm(&tm);
	return 0;
}

SSL_CTX *
tls_backend_ctx_new(const struct conf *cf, struct sbuf *errors)
{
	SSL_CTX *ctx;

	if ((ctx = SSL_CTX_new(TLS_client_method())) == NULL) {
		tls_errors(errors);
		return NULL;
	}
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	tls_ctx_read_ahead(ctx);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	if (cf->backend_ca_file != NULL) {
		struct sbuf why = SBUF_INIT;

		if (tls_ctx_use_ca_file(ctx, cf->backend_ca_file, &why) == -1) {
			sbuf_appendf(errors, "%s: %s\n", cf->file, why.data);
			sbuf_free(&why);
			SSL_CTX_free(ctx);
			return NULL;
		}
	} else
		SSL_CTX_set_default_verify_paths(ctx);
	return ctx;
}

SSL *
tls_backend_connect(SSL_CTX *ctx, int fd, const char *host)
{
	struct in6_addr a6;
	struct in_addr a4;
	SSL *ssl;

	if ((ssl = SSL_new(ctx)) == NULL)
		return NULL;
	SSL_set_fd(ssl, fd);
	if (inet_pton(AF_INET, host, &a4) != 1 && inet_pton(AF_INET6, host, &a6) != 1) {
		SSL_set_tlsext_host_name(ssl, host);
		SSL_set1_host(ssl, host);
	} else {
		X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), host);
	}
	SSL_set_connect_state(ssl);
	return ssl;
}

static ssize_t
sockio_ssl_result(SSL *ssl, int n, int *want)
{
	switch (SSL_get_error(ssl, n)) {
	case SSL_ERROR_WANT_READ:
		*want = SOCKIO_WANT_READ;
		errno = EAGAIN;
		return -1;
	case SSL_ERROR_WANT_WRITE:
		*want = SOCKIO_WANT_WRITE;
		errno = EAGAIN;
		return -1;
	case SSL_ERROR_ZERO_RETURN:
		return 0;
	case SSL_ERROR_SYSCALL:
		if (errno == 0 || errno == EAGAIN)
			return 0;	/* EOF without close_notify: the length check decides */
		return -1;
	default:
		ERR_clear_error();
		errno = EPROTO;
		return -1;
	}
}

ssize_t
sockio_recv(int fd, SSL *ssl, void *buf, size_t len, int *want)
{
	ssize_t n;
	int r;

	*want = SOCKIO_WANT_READ;
	if (ssl == NULL) {
		n = recv(fd, buf, len, 0);
		return n;
	}
	if (len > INT32_MAX)
		len = INT32_MAX;
	ERR_clear_error();
	errno = 0;
	if ((r = SSL_read(ssl, buf, (int)len)) <= 0)
		return sockio_ssl_result(ssl, r, want);
	/*
	 * SSL_read hands out one record (16 KiB at most) per call: take the
	 * records read ahead too, so that the write which follows is large.
	 * A failure here is left for the next read to report.
	 */
	n = r;
	while ((size_t)n < len && SSL_has_pending(ssl)) {
		ERR_clear_error();
		if ((r = SSL_read(ssl, (char *)buf + n, (int)(len - (size_t)n))) <= 0)
			break;
		n += r;
	}
	ERR_clear_error();
	return n;
}

ssize_t
sockio_send(int fd, SSL *ssl, const void *buf, size_t len, int more, int *want)
{
	int r;

	*want = SOCKIO_WANT_WRITE;
	if (ssl == NULL)
		return send(fd, buf, len, MSG_NOSIGNAL | (more ? MSG_MORE : 0));
	if (len > INT32_MAX)
		len = INT32_MAX;
	ERR_clear_error();
	errno = 0;
	if ((r = SSL_write(ssl, buf, (int)len)) > 0)
		return r;
	if (r == 0)
		r = -1;
	{
		ssize_t res = sockio_ssl_result(ssl, r, want);
		if (res == 0) {
			errno = EPIPE;	/* a write cannot meet EOF: the peer is gone */
			res = -1;
		}
		return res;
	}
}

int
sockio_handshake(SSL *ssl, int *want)
{
	int r;

	ERR_clear_error();
	errno = 0;
	if ((r = SSL_do_handshake(ssl)) == 1)
		return 1;
	switch (SSL_get_error(ssl, r)) {
	case SSL_ERROR_WANT_READ:
		*want = SOCKIO_WANT_READ;
		return 0;
	case SSL_ERROR_WANT_WRITE:
		*want = SOCKIO_WANT_WRITE;
		return 0;
	default:
		return -1;
	}
}

void
sockio_ssl_close(SSL *ssl)
{
	if (ssl == NULL)
		return;
	ERR_clear_error();
	if (SSL_is_init_finished(ssl))
		(void)SSL_shutdown(ssl);
	ERR_clear_error();
	SSL_free(ssl);
}
