/*
 * s3gate: an S3-aware policy enforcement proxy.
 *
 *   s3gate -c FILE      run in the foreground
 *   s3gate -t -c FILE   check FILE and the files it names
 *   s3gate -V           version and build options
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <llhttp.h>
#include <openssl/opensslv.h>

#include "proxy/accesslog.h"
#include "proxy/conf.h"
#include "proxy/log.h"
#include "proxy/server.h"

#define S3GATE_VERSION	"0.1.0"

static void
usage(void)
{
	fprintf(stderr, "usage: s3gate [-t] -c FILE | -V\n");
	exit(2);
}

static void
version(void)
{
	printf("s3gate %s\n", S3GATE_VERSION);
	printf("libevent %s, %s, llhttp %d.%d.%d\n", event_get_version(), OPENSSL_VERSION_TEXT,
	    LLHTTP_VERSION_MAJOR, LLHTTP_VERSION_MINOR, LLHTTP_VERSION_PATCH);
	printf("body relay: splice(2) on plain sockets, copy otherwise\n");
	printf("tls: not built yet (terminate TLS in front)\n");
}

int
main(int argc, char **argv)
{
	struct sbuf errors = SBUF_INIT;
	const char *file = NULL;
	struct server *srv;
	struct conf *cf;
	int ch, check = 0;

	while ((ch = getopt(argc, argv, "c:tV")) != -1) {
		switch (ch) {
		case 'c':
			file = optarg;
			break;
		case 't':
			check = 1;
			break;
		case 'V':
			version();
			return 0;
		default:
			usage();
		}
	}
	if (file == NULL)
		usage();
	if ((cf = conf_load(file, 1, &errors)) == NULL) {
		fputs(errors.data, stderr);
		sbuf_free(&errors);
		return 1;
	}
	if (check) {
		printf("configuration OK\n");
		conf_unref(cf);
		return 0;
	}
	if (log_open(cf->error_log, (enum log_level)cf->log_level) == -1) {
		fprintf(stderr, "%s: error_log %s: cannot open\n", file, cf->error_log);
		return 1;
	}
	if (accesslog_open(cf->access_log) == -1) {
		fprintf(stderr, "%s: access_log %s: cannot open\n", file, cf->access_log);
		return 1;
	}
	if ((srv = server_new(cf, &errors)) == NULL) {
		fputs(errors.data, stderr);
		sbuf_free(&errors);
		return 1;
	}
	log_info("s3gate %s started, backend %s", S3GATE_VERSION, srv->conf->backend_url);
	server_run(srv);
	server_free(srv);
	return 0;
}
