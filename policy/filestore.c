/*
 * filestore: the embedded store (layout in filestore.h).  Synchronous:
 * every lookup answers PSTORE_DONE from the model in memory.
 */
#include <sys/file.h>
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "policy/filestore.h"
#include "policy/storage.h"
#include "proxy/log.h"

#define FILESTORE_MAX_CREDENTIALS_FILE	(16 * 1024 * 1024)
#define FILESTORE_POLL_NS		500000000LL	/* changes reach the proxy well within 1 s */
/*
 * A credential that is not found is looked for again sooner: a key or link
 * just issued (POST /_s3gate/presign, then the link used at once) works
 * within 100 ms rather than a second, and random keys cost at most ten
 * polls a second.
 */
#define FILESTORE_MISS_POLL_NS		100000000LL
/*
 * A hand-written Storage file changed less than this long ago may still be
 * being written (a generator's output redirected into the folder, an editor
 * writing in place): a YAML document cut at a line end still parses, and a
 * grant read without the prefix or expiry lines that follow its permission
 * is a wider grant.  The folder is read once every such file has been left
 * alone this long -- but after FILESTORE_SETTLE_MAX_NS of changes anyway,
 * so that a file that never stops changing cannot hold back the CLI's
 * revocations.  Files the admin CLI writes are renamed into place whole.
 */
#define FILESTORE_SETTLE_NS		250000000LL
#define FILESTORE_SETTLE_MAX_NS		5000000000LL

struct filestore {
	char			*dir;
	struct model		*model;
	unsigned long long	 fingerprint;
	long long		 checked_ns;	/* CLOCK_MONOTONIC of the last poll */
	struct stat		 cred_st;	/* the credentials file as last loaded */
	unsigned long long	 reloads;
	/* the workers' shared word (pstore_share_changes): the newest fingerprint any loaded */
	uint64_t		*shared_fp;
	uint64_t		 shared_seen;	/* its value at our last look */
	long long		 settling_since;	/* CLOCK_MONOTONIC: a change first seen unsettled, or 0 */
	unsigned long long	 docs_fingerprint;	/* the hand-written files' at the last load */
};

/* Whether the credentials file differs from the one loaded (one stat). */
static int
filestore_cred_changed(struct filestore *fs)
{
	struct stat st;
	char *path = filestore_path(fs->dir, FILESTORE_CREDENTIALS);
	int changed;

	memset(&st, 0, sizeof(st));
	(void)stat(path, &st);
	free(path);
	changed = st.st_ino != fs->cred_st.st_ino || st.st_size != fs->cred_st.st_size ||
	    st.st_mtim.tv_sec != fs->cred_st.st_mtim.tv_sec ||
	    st.st_mtim.tv_nsec != fs->cred_st.st_mtim.tv_nsec;
	return changed;
}

static void
filestore_cred_remember(struct filestore *fs)
{
	char *path = filestore_path(fs->dir, FILESTORE_CREDENTIALS);

	memset(&fs->cred_st, 0, sizeof(fs->cred_st));
	(void)stat(path, &fs->cred_st);
	free(path);
}

char *
filestore_path(const char *dir, const char *name)
{
	char *p;

	if (asprintf(&p, "%s/%s", dir, name) == -1)
		abort();
	return p;
}

static int
filestore_has_suffix(const char *name, const char *suffix)
{
	size_t n = strlen(name), s = strlen(suffix);

	return n > s && strcmp(name + n - s, suffix) == 0;
}

/* Whether NAME in the folder is a Storage file. */
static int
filestore_is_storage(const char *name)
{
	if (name[0] == '.' || strcmp(name, FILESTORE_CREDENTIALS) == 0)
		return 0;
	return filestore_has_suffix(name, ".json") || filestore_has_suffix(name, ".yaml") ||
	    filestore_has_suffix(name, ".yml");
}

static int
filestore_strcmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The Storage files of DIR, sorted, so loads and errors come in one order. */
static char **
filestore_list(const char *dir, size_t *n, struct sbuf *errors)
{
	DIR *d;
	struct dirent *de;
	char **names = NULL;

	*n = 0;
	if ((d = opendir(dir)) == NULL) {
		sbuf_appendf(errors, "%s: %s; create the policy folder (mkdir -p %s)\n", dir,
		    strerror(errno), dir);
		return NULL;
	}
	while ((de = readdir(d)) != NULL) {
		if (!filestore_is_storage(de->d_name))
			continue;
		if ((names = reallocarray(names, *n + 1, sizeof(char *))) == NULL ||
		    (names[*n] = strdup(de->d_name)) == NULL)
			abort();
		(*n)++;
	}
	closedir(d);
	if (*n > 1)
		qsort(names, *n, sizeof(char *), filestore_strcmp);
	if (names == NULL && (names = calloc(1, sizeof(char *))) == NULL)
		abort();
	return names;
}

static void
filestore_list_free(char **names, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

/* Wipes every string in J: credentials JSON holds secrets. */
static void
filestore_json_wipe(json_t *j)
{
	const char *key;
	json_t *v;
	size_t i;

	if (json_is_string(j))
		explicit_bzero((char *)json_string_value(j), json_string_length(j));
	else if (json_is_object(j)) {
		json_object_foreach(j, key, v)
			filestore_json_wipe(v);
	} else if (json_is_array(j)) {
		json_array_foreach(j, i, v)
			filestore_json_wipe(v);
	}
}

/*
 * A link's scope, {"bucket","key","method","max_bytes","max_uses"} (and
 * "issuer", read by the caller), into C (pointers into LINK).  -1 if
 * malformed.
 */
static int
filestore_parse_link(json_t *link, struct policy_credential *c)
{
	json_t *mb = json_object_get(link, "max_bytes"), *mu = json_object_get(link, "max_uses");

	if (!json_is_object(link))
		return -1;
	c->link_bucket = (char *)json_string_value(json_object_get(link, "bucket"));
	c->link_key = (char *)json_string_value(json_object_get(link, "key"));
	c->link_method = (char *)json_string_value(json_object_get(link, "method"));
	if (c->link_bucket == NULL || c->link_key == NULL || c->link_method == NULL ||
	    (strcmp(c->link_method, "GET") != 0 && strcmp(c->link_method, "PUT") != 0) ||
	    (mb != NULL && (!json_is_integer(mb) || json_integer_value(mb) < 0)) ||
	    (mu != NULL && (!json_is_integer(mu) || json_integer_value(mu) < 0 ||
	    json_integer_value(mu) > UINT32_MAX)))
		return -1;
	c->link_max_bytes = mb ? (uint64_t)json_integer_value(mb) : 0;
	c->link_max_uses = mu ? (uint32_t)json_integer_value(mu) : 0;
	return 0;
}

int
filestore_parse_credentials(struct model *m, const char *source, const char *data, size_t len,
    struct sbuf *errors)
{
	struct policy_credential c;
	json_error_t jerr;
	json_t *root, *list, *o, *v, *link, *issuer;
	size_t i;
	int bad = 0;

	if ((root = json_loadb(data, len, 0, &jerr)) == NULL) {
		sbuf_appendf(errors, "%s:%d: bad JSON: %s\n", source, jerr.line, jerr.text);
		return -1;
	}
	if ((list = json_object_get(root, "credentials")) == NULL || !json_is_array(list)) {
		sbuf_appendf(errors, "%s: no \"credentials\" list; it is written by s3gate-admin "
		    "cred create\n", source);
		bad = 1;
		list = NULL;
	}
	json_array_foreach(list, i, o) {
		memset(&c, 0, sizeof(c));
		c.access_key_id = (char *)json_string_value(json_object_get(o, "access_key_id"));
		c.secret = (char *)json_string_value(json_object_get(o, "secret"));
		c.principal = (char *)json_string_value(json_object_get(o, "principal"));
		c.session_token = (char *)json_string_value(json_object_get(o, "session_token"));
		if ((v = json_object_get(o, "expires_at")) != NULL && json_is_integer(v))
			c.expires_at = (time_t)json_integer_value(v);
		if ((link = json_object_get(o, "link")) != NULL &&
		    filestore_parse_link(link, &c) == -1) {
			sbuf_appendf(errors, "%s: credential %zu: \"link\" needs bucket, key, method "
			    "GET or PUT, and max_bytes/max_uses >= 0; delete it with s3gate-admin "
			    "presign revoke\n", source, i + 1);
			bad = 1;
			continue;
		}
		if (c.access_key_id == NULL || c.secret == NULL || c.principal == NULL ||
		    c.access_key_id[0] == '\0' || c.secret[0] == '\0' || c.principal[0] == '\0') {
			sbuf_appendf(errors, "%s: credential %zu lacks access_key_id, secret or "
			    "principal; delete it with s3gate-admin cred delete\n", source, i + 1);
			bad = 1;
			continue;
		}
		/* the key a link was issued with (absent before it was kept: the link stands alone) */
		issuer = link != NULL ? json_object_get(link, "issuer") : NULL;
		if (issuer != NULL && (!json_is_string(issuer) || json_string_length(issuer) == 0)) {
			sbuf_appendf(errors, "%s: credential %zu: the link's \"issuer\" must be an "
			    "access key id; delete it with s3gate-admin presign revoke\n", source,
			    i + 1);
			bad = 1;
			continue;
		}
		model_add_credential(m, &c);
		if (issuer != NULL)
			model_set_link_issuer(m, c.access_key_id, json_string_value(issuer));
	}
	filestore_json_wipe(root);
	json_decref(root);
	return bad ? -1 : 0;
}

/* The credentials file: absent is empty; readable by others is refused. */
static int
filestore_load_credentials(struct model *m, const char *dir, struct sbuf *errors)
{
	struct stat st;
	char *path, *data;
	ssize_t n;
	size_t got = 0;
	int fd, rc = -1;

	path = filestore_path(dir, FILESTORE_CREDENTIALS);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) == -1) {
		if (errno == ENOENT)
			rc = 0;
		else
			sbuf_appendf(errors, "%s: %s\n", path, strerror(errno));
		free(path);
		return rc;
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode) ||
	    st.st_size > FILESTORE_MAX_CREDENTIALS_FILE) {
		sbuf_appendf(errors, "%s: not a regular file of a sane size\n", path);
		goto out;
	}
	if (st.st_mode & (S_IRWXG | S_IRWXO)) {
		sbuf_appendf(errors, "%s: mode %04o lets others read the secrets; "
		    "chmod 600 %s\n", path, (unsigned)(st.st_mode & 07777), path);
		goto out;
	}
	if ((data = malloc((size_t)st.st_size + 1)) == NULL)
		abort();
	while (got < (size_t)st.st_size) {
		if ((n = read(fd, data + got, (size_t)st.st_size - got)) == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	rc = filestore_parse_credentials(m, path, data, got, errors);
	explicit_bzero(data, got);
	free(data);
out:
	close(fd);
	free(path);
	return rc;
}

/*
 * What filestore_load() makes of DIR, with STATE in place of the state
 * file and CREDENTIALS in place of the credentials file when they are not
 * NULL: a change is checked this way before it is written.
 */
static struct model *
filestore_load_as(const char *dir, const char *state, const char *credentials,
    struct sbuf *errors)
{
	struct model *m;
	char **names, *path;
	size_t i, n;
	int bad = 0, state_seen = 0;

	if ((names = filestore_list(dir, &n, errors)) == NULL)
		return NULL;
	m = model_new();
	for (i = 0; i < n; i++) {
		path = filestore_path(dir, names[i]);
		if (state != NULL && strcmp(names[i], FILESTORE_STATE) == 0) {
			state_seen = 1;
			if (storage_parse_state(m, path, state, strlen(state), errors) == -1)
				bad = 1;
		} else if (strcmp(names[i], FILESTORE_STATE) == 0 ?
		    storage_load_state(m, path, errors) == -1 :
		    storage_load_file(m, path, errors) == -1)
			bad = 1;
		free(path);
	}
	filestore_list_free(names, n);
	if (state != NULL && !state_seen) {
		path = filestore_path(dir, FILESTORE_STATE);
		if (storage_parse_state(m, path, state, strlen(state), errors) == -1)
			bad = 1;
		free(path);
	}
	if (credentials != NULL) {
		path = filestore_path(dir, FILESTORE_CREDENTIALS);
		if (filestore_parse_credentials(m, path, credentials, strlen(credentials),
		    errors) == -1)
			bad = 1;
		free(path);
	} else if (filestore_load_credentials(m, dir, errors) == -1)
		bad = 1;
	if (!bad && model_index(m, errors) == -1)
		bad = 1;
	if (bad) {
		model_free(m);
		return NULL;
	}
	return m;
}

struct model *
filestore_load(const char *dir, struct sbuf *errors)
{
	return filestore_load_as(dir, NULL, NULL, errors);
}

int
filestore_check(const struct conf *conf, struct sbuf *errors)
{
	struct model *m;

	if (conf->store_kind != CONF_STORE_FILE)
		return 0;
	if ((m = filestore_load(conf->store_path, errors)) == NULL)
		return -1;
	model_free(m);
	return 0;
}

/*
 * Writes TEXT as DIR/NAME (MODE) if the folder loads with it, as a proxy
 * would load it; else nothing is written, and ERRORS says why and what.
 * A file that does not load back froze the store: every later command,
 * every reload and every proxy start failed on it.
 */
static int
filestore_install(const char *dir, const char *name, const char *text, mode_t mode,
    struct sbuf *errors)
{
	struct sbuf why = SBUF_INIT;
	struct model *check;
	char *path;
	int rc = -1;

	path = filestore_path(dir, name);
	check = strcmp(name, FILESTORE_STATE) == 0 ? filestore_load_as(dir, text, NULL, &why) :
	    filestore_load_as(dir, NULL, text, &why);
	if (check == NULL)
		sbuf_appendf(errors, "%s: not written: the policy folder would not load with "
		    "it (the previous one stays):\n%s", path, why.data ? why.data : "");
	else
		rc = filestore_write_atomic(path, text, strlen(text), mode, errors);
	model_free(check);
	sbuf_free(&why);
	free(path);
	return rc;
}

int
filestore_write_atomic(const char *path, const char *data, size_t len, mode_t mode,
    struct sbuf *errors)
{
	char *tmp, *dir, *slash;
	ssize_t n;
	size_t off = 0;
	int fd, dfd, saved;

	/* a dotfile, so a crash leaves nothing the loader would read */
	if ((slash = strrchr(path, '/')) != NULL) {
		if (asprintf(&tmp, "%.*s/.%s.%ld.tmp", (int)(slash - path), path, slash + 1,
		    (long)getpid()) == -1)
			abort();
		if ((dir = strndup(path, (size_t)(slash - path))) == NULL)
			abort();
	} else {
		if (asprintf(&tmp, ".%s.%ld.tmp", path, (long)getpid()) == -1 ||
		    (dir = strdup(".")) == NULL)
			abort();
	}
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode)) == -1) {
		sbuf_appendf(errors, "%s: %s\n", tmp, strerror(errno));
		goto fail;
	}
	if (fchmod(fd, mode) == -1)
		goto fail_io;
	while (off < len) {
		if ((n = write(fd, data + off, len - off)) == -1) {
			if (errno == EINTR)
				continue;
			goto fail_io;
		}
		off += (size_t)n;
	}
	if (fsync(fd) == -1)
		goto fail_io;
	if (close(fd) == -1) {
		fd = -1;
		goto fail_io;
	}
	fd = -1;
	if (rename(tmp, path) == -1)
		goto fail_io;
	if ((dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) != -1) {
		(void)fsync(dfd);
		close(dfd);
	}
	free(tmp);
	free(dir);
	return 0;
fail_io:
	saved = errno;
	sbuf_appendf(errors, "%s: %s\n", path, strerror(saved));
	if (fd != -1)
		close(fd);
	unlink(tmp);
fail:
	free(tmp);
	free(dir);
	return -1;
}

int
filestore_save_state(const char *dir, const struct model *m, struct sbuf *errors)
{
	struct sbuf out = SBUF_INIT;
	char *path;
	int rc = -1;

	path = filestore_path(dir, FILESTORE_STATE);
	if (storage_write(m, path, &out, errors) == 0)
		rc = filestore_install(dir, FILESTORE_STATE, out.data, 0644, errors);
	sbuf_free(&out);
	free(path);
	return rc;
}

int
filestore_save_credentials(const char *dir, const struct model *m, struct sbuf *errors)
{
	const struct policy_credential *c;
	json_t *root, *list, *o, *link;
	const char *issuer;
	char *text;
	size_t i;
	int rc;

	root = json_object();
	list = json_array();
	for (i = 0; i < m->ncredentials; i++) {
		c = &m->credentials[i];
		o = json_object();
		json_object_set_new(o, "access_key_id", json_string(c->access_key_id));
		json_object_set_new(o, "secret", json_string(c->secret));
		json_object_set_new(o, "principal", json_string(c->principal));
		json_object_set_new(o, "expires_at", json_integer((json_int_t)c->expires_at));
		if (c->session_token != NULL)
			json_object_set_new(o, "session_token", json_string(c->session_token));
		if (c->link_method != NULL) {
			link = json_pack("{s:s,s:s,s:s,s:I,s:I}",
			    "bucket", c->link_bucket ? c->link_bucket : "",
			    "key", c->link_key ? c->link_key : "", "method", c->link_method,
			    "max_bytes", (json_int_t)c->link_max_bytes,
			    "max_uses", (json_int_t)c->link_max_uses);
			if ((issuer = model_link_issuer(m, c->access_key_id)) != NULL)
				json_object_set_new(link, "issuer", json_string(issuer));
			json_object_set_new(o, "link", link);
		}
		json_array_append_new(list, o);
	}
	json_object_set_new(root, "credentials", list);
	if ((text = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER)) == NULL)
		abort();
	filestore_json_wipe(root);
	json_decref(root);
	rc = filestore_install(dir, FILESTORE_CREDENTIALS, text, 0600, errors);
	explicit_bzero(text, strlen(text));
	free(text);
	return rc;
}

int
filestore_lock(const char *dir, struct sbuf *errors)
{
	char *path = filestore_path(dir, FILESTORE_LOCK);
	int fd;

	if ((fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600)) == -1 ||
	    flock(fd, LOCK_EX) == -1) {
		sbuf_appendf(errors, "%s: %s\n", path, strerror(errno));
		if (fd != -1)
			close(fd);
		fd = -1;
	}
	free(path);
	return fd;
}

static void
filestore_mix(unsigned long long *h, const void *p, size_t len)
{
	const unsigned char *b = p;
	size_t i;

	for (i = 0; i < len; i++) {
		*h ^= b[i];
		*h *= 1099511628211ULL;
	}
}

/*
 * The fingerprint of DIR's files; with CLI_FILES the admin CLI's own (its
 * state file and the credentials, which it renames into place whole) count
 * too, without them only the hand-written Storage files do.
 */
static int
filestore_fingerprint_of(const char *dir, int cli_files, unsigned long long *out)
{
	struct sbuf ignore = SBUF_INIT;
	struct stat st;
	char **names, *path;
	size_t i, n;
	unsigned long long h = 1469598103934665603ULL;

	if ((names = filestore_list(dir, &n, &ignore)) == NULL) {
		sbuf_free(&ignore);
		return -1;
	}
	/* the credentials file too; a missing file counts as a zero stat */
	if ((names = reallocarray(names, n + 1, sizeof(char *))) == NULL ||
	    (names[n] = strdup(FILESTORE_CREDENTIALS)) == NULL)
		abort();
	n++;
	for (i = 0; i < n; i++) {
		if (!cli_files && (strcmp(names[i], FILESTORE_STATE) == 0 ||
		    strcmp(names[i], FILESTORE_CREDENTIALS) == 0))
			continue;
		path = filestore_path(dir, names[i]);
		memset(&st, 0, sizeof(st));
		(void)stat(path, &st);
		free(path);
		filestore_mix(&h, names[i], strlen(names[i]) + 1);
		filestore_mix(&h, &st.st_ino, sizeof(st.st_ino));
		filestore_mix(&h, &st.st_size, sizeof(st.st_size));
		filestore_mix(&h, &st.st_mtim, sizeof(st.st_mtim));
		filestore_mix(&h, &st.st_mode, sizeof(st.st_mode));
	}
	filestore_list_free(names, n);
	sbuf_free(&ignore);
	*out = h;
	return 0;
}

int
filestore_fingerprint(const char *dir, unsigned long long *out)
{
	return filestore_fingerprint_of(dir, 1, out);
}

/*
 * Nanoseconds until every hand-written Storage file of DIR (not the CLI's
 * state file, not the credentials) has gone FILESTORE_SETTLE_NS unchanged,
 * 0 if they all have; *NEWEST names the one changed last (free it).  A
 * modification time in the future is taken as settled (a clock set back
 * must not stop every reload).
 */
static long long
filestore_unsettled(const char *dir, char **newest)
{
	struct sbuf ignore = SBUF_INIT;
	struct timespec now;
	struct stat st;
	char **names, *path;
	size_t i, n;
	long long age, wait = 0;

	*newest = NULL;
	if ((names = filestore_list(dir, &n, &ignore)) == NULL) {
		sbuf_free(&ignore);
		return 0;
	}
	clock_gettime(CLOCK_REALTIME, &now);
	for (i = 0; i < n; i++) {
		if (strcmp(names[i], FILESTORE_STATE) == 0)
			continue;
		path = filestore_path(dir, names[i]);
		if (stat(path, &st) == 0) {
			age = ((long long)now.tv_sec - st.st_mtim.tv_sec) * 1000000000LL +
			    (now.tv_nsec - st.st_mtim.tv_nsec);
			if (age >= 0 && FILESTORE_SETTLE_NS - age > wait) {
				wait = FILESTORE_SETTLE_NS - age;
				free(*newest);
				*newest = strdup(names[i]);
			}
		}
		free(path);
	}
	filestore_list_free(names, n);
	sbuf_free(&ignore);
	return wait;
}

/* ---- the store ------------------------------------------------------------ */

static long long
filestore_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* FP is the folder as now loaded: tell the other workers (pstore_share_changes). */
static void
filestore_publish(struct filestore *fs, unsigned long long fp)
{
	if (fs->shared_fp == NULL)
		return;
	__atomic_store_n(fs->shared_fp, (uint64_t)fp, __ATOMIC_RELAXED);
	fs->shared_seen = (uint64_t)fp;		/* what we publish we have seen */
}

static int
filestore_reload(void *impl, struct sbuf *errors)
{
	struct filestore *fs = impl;
	struct model *m;
	unsigned long long fp = 0, docs = 0;

	(void)filestore_fingerprint(fs->dir, &fp);
	(void)filestore_fingerprint_of(fs->dir, 0, &docs);
	if ((m = filestore_load(fs->dir, errors)) == NULL)
		return -1;
	model_free(fs->model);
	fs->model = m;
	fs->fingerprint = fp;
	fs->docs_fingerprint = docs;
	fs->checked_ns = filestore_now_ns();
	filestore_cred_remember(fs);
	filestore_publish(fs, fp);	/* after a change written here (the self-service API) */
	return 0;
}

/*
 * At most once per INTERVAL_NS: reload if a file changed.  A broken file is
 * reported once (its fingerprint is remembered) and the old model kept.
 */
static void
filestore_poll(struct filestore *fs, long long interval_ns)
{
	struct sbuf errors = SBUF_INIT;
	unsigned long long fp, fp2, docs = 0;
	long long now = filestore_now_ns(), wait;
	struct model *m;
	char *newest = NULL;
	uint64_t published = fs->shared_fp != NULL ?
	    __atomic_load_n(fs->shared_fp, __ATOMIC_RELAXED) : 0;

	/* another worker loaded a folder we have not: look now, whatever the interval */
	if (now - fs->checked_ns < interval_ns && published == fs->shared_seen)
		return;
	fs->shared_seen = published;
	fs->checked_ns = now;
	if (filestore_fingerprint(fs->dir, &fp) == -1)
		return;
	if (fp == fs->fingerprint) {
		fs->settling_since = 0;	/* a change undone while it settled */
		return;
	}
	/*
	 * Only a change of the hand-written files may be a file half written:
	 * the CLI's (a new credential, a grant) are renamed into place whole,
	 * and wait for nothing -- not for a Storage file copied in a moment ago
	 * and loaded since.
	 */
	if (filestore_fingerprint_of(fs->dir, 0, &docs) == 0 && docs != fs->docs_fingerprint &&
	    (wait = filestore_unsettled(fs->dir, &newest)) > 0) {
		if (fs->settling_since == 0)
			fs->settling_since = now;
		if (now - fs->settling_since < FILESTORE_SETTLE_MAX_NS) {
			/* the last policy stays; look again once the file may be whole */
			fs->checked_ns = now - FILESTORE_POLL_NS + wait;
			free(newest);
			return;
		}
		log_warnx("policy %s: %s has kept changing for %lld s; reading it as it is now "
		    "(write policy files elsewhere and rename them into the folder)", fs->dir,
		    newest ? newest : "a file", FILESTORE_SETTLE_MAX_NS / 1000000000LL);
	}
	free(newest);
	fs->settling_since = 0;
	m = filestore_load(fs->dir, &errors);
	/* a file that changed while it was read (written, or swapped in) was read torn */
	if (filestore_fingerprint(fs->dir, &fp2) == -1 || fp2 != fp) {
		model_free(m);
		sbuf_free(&errors);
		return;
	}
	fs->fingerprint = fp;
	fs->docs_fingerprint = docs;
	filestore_publish(fs, fp);
	filestore_cred_remember(fs);
	if (m == NULL) {
		log_warnx("policy %s changed but does not load; keeping the previous policy: %s",
		    fs->dir, errors.data ? errors.data : "");
		sbuf_free(&errors);
		return;
	}
	log_info("policy %s reloaded", fs->dir);
	fs->reloads++;
	model_free(fs->model);
	fs->model = m;
	sbuf_free(&errors);
}

static void *
filestore_open(const struct conf *conf, struct event_base *base, struct sbuf *errors)
{
	struct filestore *fs;

	if ((fs = calloc(1, sizeof(*fs))) == NULL || (fs->dir = strdup(conf->store_path)) == NULL)
		abort();
	if (filestore_reload(fs, errors) == -1) {
		free(fs->dir);
		free(fs);
		return NULL;
	}
	return fs;
}

static void
filestore_share_changes(void *impl, uint64_t *word)
{
	struct filestore *fs = impl;

	fs->shared_fp = word;
	fs->shared_seen = __atomic_load_n(word, __ATOMIC_RELAXED);
}

static enum pstore_result
filestore_credential(void *impl, const char *akid, struct policy_credential *out,
    pstore_cb *cb, void *arg)
{
	struct filestore *fs = impl;
	const struct policy_credential *c;
	const struct policy_quota *q;

	filestore_poll(fs, FILESTORE_POLL_NS);
	memset(out, 0, sizeof(*out));
	if ((c = model_credential(fs->model, akid)) == NULL) {
		/*
		 * A key just created (a link, a session) must work at once: on a
		 * miss, one stat of the credentials file says whether to reload.
		 */
		filestore_poll(fs, filestore_cred_changed(fs) ? 0 : FILESTORE_MISS_POLL_NS);
		if ((c = model_credential(fs->model, akid)) == NULL)
			return PSTORE_DONE;
	}
	model_credential_copy(out, c);
	/* the quotas stand on the principal's workspace, not in credentials.json */
	if ((q = model_quota(fs->model, c->principal)) != NULL)
		out->quota = *q;
	return PSTORE_DONE;
}

static enum pstore_result
filestore_access(void *impl, const char *principal, const char *bucket, time_t now,
    struct policy_access *out, pstore_cb *cb, void *arg)
{
	struct filestore *fs = impl;

	filestore_poll(fs, FILESTORE_POLL_NS);
	model_access(fs->model, principal, bucket, now, out);
	return PSTORE_DONE;
}

static enum pstore_result
filestore_list_buckets(void *impl, const char *principal, time_t now,
    struct pstore_bucket_list *out, pstore_cb *cb, void *arg)
{
	struct filestore *fs = impl;

	filestore_poll(fs, FILESTORE_POLL_NS);
	out->count = model_list_buckets(fs->model, principal, now, &out->items);
	return PSTORE_DONE;
}

static void
filestore_free(void *impl)
{
	struct filestore *fs = impl;

	model_free(fs->model);
	free(fs->dir);
	free(fs);
}

static void
filestore_stats(void *impl, struct pstore_stats *st)
{
	const struct filestore *fs = impl;

	st->reloads = fs->reloads;
}

const struct pstore_ops filestore_ops = {
	.name = "file",
	.open = filestore_open,
	.credential = filestore_credential,
	.access = filestore_access,
	.list_buckets = filestore_list_buckets,
	.cancel = NULL,		/* never pending */
	.reload = filestore_reload,
	.stats = filestore_stats,
	.share_changes = filestore_share_changes,
	.free = filestore_free,
};
