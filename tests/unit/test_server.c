/*
 * test_server: per-address connection counting (server_peer_count,
 * max_connections_per_ip) in one worker: IPv4 addresses each by itself,
 * IPv6 addresses by their /64, IPv4-mapped IPv6 as the IPv4 address.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "proxy/conf.h"
#include "proxy/quotashm.h"
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
		server_link_put(u);
		for (int i = 0; i < 256; i++)
			while ((u = srv->link_usage[i]) != NULL) {
				srv->link_usage[i] = u->next;
				free(u);
			}
	}

	/* the counts of ended links go, a day after the end, unless a request holds them */
	{
		time_t now = time(NULL), ended = now - QUOTASHM_LINK_GRACE - 10;
		struct link_usage *held = server_link_usage(srv, "SGLHELD", ended), *u;
		int old = 0, fresh = 0, recent = 0, endless = 0, held_kept = 0, i;
		char id[32];

		server_link_put(server_link_usage(srv, "SGLRECENT", now - 10));
		server_link_put(server_link_usage(srv, "SGLENDLESS", 0));
		for (i = 0; i < 2000; i++) {
			snprintf(id, sizeof(id), "SGLOLD%d", i);
			server_link_put(server_link_usage(srv, id, ended));
		}
		for (i = 0; i < 4000; i++) {
			snprintf(id, sizeof(id), "SGLNEW%d", i);
			server_link_put(server_link_usage(srv, id, now + 3600));
		}
		for (i = 0; i < 256; i++)
			for (u = srv->link_usage[i]; u != NULL; u = u->next) {
				old += strncmp(u->id, "SGLOLD", 6) == 0;
				fresh += strncmp(u->id, "SGLNEW", 6) == 0;
				recent += strcmp(u->id, "SGLRECENT") == 0;
				endless += strcmp(u->id, "SGLENDLESS") == 0;
				held_kept += u == held;
			}
		T_OK(old == 0 && fresh == 4000, "counts of links ended over a day ago are freed as new "
		    "links come (%d of 2000 left), live ones kept (%d of 4000)", old, fresh);
		T_OK(recent == 1 && endless == 1, "a link ended less than a day ago, and one that never "
		    "ends, keep their counts");
		T_OK(held_kept == 1 && held->refs == 1, "a count a request holds is kept however late");
		server_link_put(held);
		T_OK(held->refs == 0, "and given back");
	}

	/* several workers: a link counted apart by each would serve its budget once per worker */
	{
		struct quotashm *shm = quotashm_new(), *roomy = quotashm_new();
		time_t now = time(NULL);
		struct link_usage *u;
		char id[32];
		int i;

		if (shm == NULL || roomy == NULL)
			abort();
		for (i = 0; i < QUOTASHM_LINKS * 2; i++) {
			snprintf(id, sizeof(id), "SGLFILL%d", i);
			(void)quotashm_link(shm, id, now + 3600, now);
		}
		srv->quota_shm = shm;
		srv->nworkers = 2;
		u = server_link_usage(srv, "SGLLATECOMER", now + 3600);
		T_OK(u != NULL && u->shared == NULL && !server_link_counted(srv, u),
		    "two workers, the shared table full: the link is not counted (auth refuses it)");
		srv->nworkers = 1;
		T_OK(server_link_counted(srv, u), "one worker: its own count is the whole count");
		srv->nworkers = 2;
		server_link_put(u);
		srv->quota_shm = roomy;
		u = server_link_usage(srv, "SGLLATECOMER", now + 3600);
		T_OK(u != NULL && u->shared != NULL && server_link_counted(srv, u),
		    "room again: the next request finds a shared count");
		server_link_put(u);
		srv->quota_shm = NULL;
		srv->nworkers = 1;
		quotashm_free(shm);
		quotashm_free(roomy);
	}
	for (int i = 0; i < 256; i++) {
		struct link_usage *u;

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
