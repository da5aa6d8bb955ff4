/*
 * test_server: per-address connection counting (server_peer_count,
 * max_connections_per_ip) in one worker: IPv4 addresses each by itself,
 * IPv6 addresses by their /64, IPv4-mapped IPv6 as the IPv4 address.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "proxy/conf.h"
#include "proxy/server.h"
#include "tests/unit/testlib.h"

static struct sockaddr_storage
addr(const char *text)
{
	struct sockaddr_storage ss;

	memset(&ss, 0, sizeof(ss));
	if (strchr(text, ':') != NULL) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)(void *)&ss;
		s6->sin6_family = AF_INET6;
		if (inet_pton(AF_INET6, text, &s6->sin6_addr) != 1)
			abort();
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)(void *)&ss;
		s4->sin_family = AF_INET;
		if (inet_pton(AF_INET, text, &s4->sin_addr) != 1)
			abort();
	}
	return ss;
}

/* Counts TEXT in once: 1 admitted, 0 over the cap. */
static int
in(struct server *srv, const char *text)
{
	struct sockaddr_storage ss = addr(text);

	return server_peer_count(srv, (struct sockaddr *)&ss, 1);
}

static void
out(struct server *srv, const char *text)
{
	struct sockaddr_storage ss = addr(text);

	server_peer_count(srv, (struct sockaddr *)&ss, -1);
}

int
main(void)
{
	struct server *srv = calloc(1, sizeof(*srv));
	struct conf *cf = calloc(1, sizeof(*cf));

	if (srv == NULL || cf == NULL)
		abort();
	cf->max_connections_per_ip = 2;
	srv->conf = cf;
	srv->nworkers = 1;

	T_OK(in(srv, "192.0.2.1") && in(srv, "192.0.2.1") && !in(srv, "192.0.2.1"),
	    "IPv4: two connections of one address, the third refused");
	T_OK(in(srv, "192.0.2.2") && in(srv, "192.0.2.2"), "IPv4: another address counts apart");
	T_OK(!in(srv, "::ffff:192.0.2.1"), "IPv4-mapped IPv6 counts as its IPv4 address");

	T_OK(in(srv, "2001:db8:1:2::1") && in(srv, "2001:db8:1:2:aaaa:bbbb:cccc:dddd"),
	    "IPv6: two addresses of one /64 are admitted");
	T_OK(!in(srv, "2001:db8:1:2:ffff::42"), "IPv6: a third address of the same /64 is refused");
	T_OK(in(srv, "2001:db8:1:3::1"), "IPv6: the next /64 counts apart");
	out(srv, "2001:db8:1:2::1");
	T_OK(in(srv, "2001:db8:1:2:9::9"), "IPv6: a connection of the /64 closed: another is admitted");
	T_OK(in(srv, "::") && in(srv, "::1") && !in(srv, "::2"),
	    "IPv6 ::/64 is one prefix, apart from IPv4 0.0.0.0");
	T_OK(in(srv, "0.0.0.0"), "IPv4 0.0.0.0 is not counted with ::/64");

	/* a --max-uses link's budget: bodies reserved before they go */
	{
		struct link_usage *u = server_link_usage(srv, "SGLRESERVE00000000000", 0);

		T_OK(u != NULL && server_link_reserve(u, 1, 1000), "size unknown: nothing to hold to");
		server_link_release(u, 1000);
		server_link_learn_size(u, 1000);
		T_OK(server_link_reserve(u, 1, 1000), "max-uses 1: one whole download is reserved");
		T_OK(!server_link_reserve(u, 1, 1000) && !server_link_reserve(u, 1, 1),
		    "downloads started beside it do not fit, not even a byte (they were all admitted "
		    "while nothing was served)");
		server_link_count(u, 400);
		server_link_release(u, 400);
		server_link_release(u, 600);	/* the first one broke off after 400 bytes */
		T_OK(server_link_budget_left(u, 1) == 600 && server_link_reserve(u, 1, 1000),
		    "after 400 bytes (a download broke off): a whole one is admitted again, and may "
		    "run past the budget by its own length");
		T_OK(!server_link_reserve(u, 1, 600) && !server_link_reserve(u, 1, 1),
		    "and nothing beside it");
		server_link_release(u, 1000);
		T_OK(server_link_reserve(u, 1, 600), "the rest (a resume) is admitted too");
		server_link_release(u, 600);
		T_OK(server_link_reserve(u, 3, 2600) && !server_link_reserve(u, 3, 1),
		    "max-uses 3 of 1000 bytes: 3000 in all, 400 served");
		server_link_release(u, 2600);
		for (int i = 0; i < 256; i++)
			while ((u = srv->link_usage[i]) != NULL) {
				srv->link_usage[i] = u->next;
				free(u);
			}
	}

	for (int i = 0; i < (int)(sizeof(srv->peers) / sizeof(srv->peers[0])); i++) {
		struct peer_count *p, *next;
		for (p = srv->peers[i]; p != NULL; p = next) {
			next = p->next;
			free(p);
		}
	}
	free(cf);
	free(srv);
	return T_DONE();
}
