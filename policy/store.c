/*
 * store: dispatch to the store the config names.  Adding a store means one
 * ops table and one line in pstore_open().
 */
#include <stdlib.h>
#include <string.h>

#include "policy/filestore.h"
#include "policy/redisstore.h"
#include "policy/store.h"

struct pstore {
	const struct pstore_ops	*ops;
	void			*impl;
};

struct pstore *
pstore_open(const struct conf *conf, struct event_base *base, struct sbuf *errors)
{
	const struct pstore_ops *ops;
	struct pstore *ps;
	void *impl;

	switch (conf->store_kind) {
	case CONF_STORE_FILE:
		ops = &filestore_ops;
		break;
	case CONF_STORE_REDIS:
		ops = &redisstore_ops;
		break;
	default:
		sbuf_appendf(errors, "no policy_store configured; add \"policy_store file DIR\"\n");
		return NULL;
	}
	if ((impl = ops->open(conf, base, errors)) == NULL)
		return NULL;
	if ((ps = calloc(1, sizeof(*ps))) == NULL)
		abort();
	ps->ops = ops;
	ps->impl = impl;
	return ps;
}

enum pstore_result
pstore_credential(struct pstore *ps, const char *akid, struct policy_credential *out,
    pstore_cb *cb, void *arg)
{
	return ps->ops->credential(ps->impl, akid, out, cb, arg);
}

enum pstore_result
pstore_access(struct pstore *ps, const char *principal, const char *bucket, time_t now,
    struct policy_access *out, pstore_cb *cb, void *arg)
{
	return ps->ops->access(ps->impl, principal, bucket, now, out, cb, arg);
}

enum pstore_result
pstore_list_buckets(struct pstore *ps, const char *principal, time_t now,
    struct pstore_bucket_list *out, pstore_cb *cb, void *arg)
{
	return ps->ops->list_buckets(ps->impl, principal, now, out, cb, arg);
}

void
pstore_bucket_list_free(struct pstore_bucket_list *list)
{
	model_bucket_list_free(list->items, list->count);
	list->items = NULL;
	list->count = 0;
}

void
pstore_cancel(struct pstore *ps, void *arg)
{
	if (ps->ops->cancel != NULL)
		ps->ops->cancel(ps->impl, arg);
}

int
pstore_reload(struct pstore *ps, struct sbuf *errors)
{
	return ps->ops->reload(ps->impl, errors);
}

void
pstore_free(struct pstore *ps)
{
	if (ps == NULL)
		return;
	ps->ops->free(ps->impl);
	free(ps);
}

int
pstore_ready(struct pstore *ps)
{
	return ps->ops->ready == NULL || ps->ops->ready(ps->impl);
}

void
pstore_share_changes(struct pstore *ps, uint64_t *word)
{
	if (ps->ops->share_changes != NULL)
		ps->ops->share_changes(ps->impl, word);
}

void
pstore_get_stats(struct pstore *ps, struct pstore_stats *st)
{
	memset(st, 0, sizeof(*st));
	st->connected = pstore_ready(ps);
	if (ps->ops->stats != NULL)
		ps->ops->stats(ps->impl, st);
}
