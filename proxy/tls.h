/*
 * tls: OpenSSL contexts for the client listeners (server side, SNI) and
 * for https backends (client side, verified), and the socket I/O both the
 * connection and the body relay use, so that "plain or TLS" is decided in
 * one place.
 *
 * Server side: TLS 1.2 and 1.3 only, forward-secret AEAD ciphers, ALPN
 * http/1.1, one context per certificate chosen by SNI (the first is the
 * default), session tickets whose keys change hourly, forward-secret
 * (ticketkeys.h: every process ratchets the secret the master made before
 * forking, so every worker can resume every other's sessions).  kTLS is
 * asked for (SSL_OP_ENABLE_KTLS) where the kernel has it, as
 * tls_ktls_available() found once at start.
 */
#ifndef S3GATE_TLS_H
#define S3GATE_TLS_H

#include <stddef.h>
#include <sys/types.h>

#include <openssl/ssl.h>

#include "proxy/conf.h"
#include "proxy/sbuf.h"

struct tls_server;

/*
 * Builds the server contexts from CONF's certificates; NULL + ERRORS on
 * failure.  tls_server_free drops the caller's reference: each SSL that
 * tls_server_accept made holds one of its own until SSL_free, so a reload
 * may free the old contexts while handshakes on them are under way.
 */
struct tls_server *tls_server_new(const struct conf *, struct sbuf *errors);
void		 tls_server_free(struct tls_server *);
SSL		*tls_server_accept(struct tls_server *, int fd);
/* Certificate I's notAfter (Unix time) into *OUT: 0, or -1 if there is none. */
int		 tls_server_not_after(const struct tls_server *, int i, time_t *out);

/*
 * What -t and a reload check before any worker needs them: CERT and KEY
 * load and match; CA_FILE loads.  -1 with one line in WHY ("what; fix").
 */
int		 tls_check_certificate(const char *cert, const char *key, struct sbuf *why);
int		 tls_check_ca_file(const char *ca_file, struct sbuf *why);

/* The https backend context: verification against CA_FILE (or the system store). */
SSL_CTX		*tls_backend_ctx_new(const struct conf *, struct sbuf *errors);
SSL		*tls_backend_connect(SSL_CTX *, int fd, const char *host);

/* Made once, before workers fork: the secret ticket keys derive from. */
void		 tls_init_ticket_secret(void);
/*
 * Moves the ticket keys to the current period, wiping older ones; every
 * process calls it at each period boundary (tls_ticket_next_ms from now),
 * so that none keeps a key older than the previous period.
 */
void		 tls_ticket_advance(void);
long long	 tls_ticket_next_ms(void);
/* Drops the ticket keys for good: a draining worker accepts no more handshakes. */
void		 tls_ticket_wipe(void);

/* Whether the running kernel offers kTLS (the "tls" module). */
int		 tls_ktls_available(void);

/*
 * Plain-or-TLS I/O.  Return >0 bytes, 0 at EOF, -1 with errno (EAGAIN when
 * the operation must wait; then *want says on what: SOCKIO_WANT_READ or
 * SOCKIO_WANT_WRITE — with TLS a read may wait for writability).
 */
enum { SOCKIO_WANT_READ = 1, SOCKIO_WANT_WRITE = 2 };
ssize_t		 sockio_recv(int fd, SSL *, void *buf, size_t len, int *want);
ssize_t		 sockio_send(int fd, SSL *, const void *buf, size_t len, int more, int *want);
/* Drives a handshake: 1 done, 0 wait (*want set), -1 failed. */
int		 sockio_handshake(SSL *, int *want);
/* Best-effort close_notify, then SSL_free. */
void		 sockio_ssl_close(SSL *);

#endif
