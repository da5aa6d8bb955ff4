/*
 * cpus: how many CPUs this process may use (cpus.h).
 */
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "proxy/cpus.h"

#define CPUS_PATH_MAX	4096

int
cpus_from_quota(long long quota, long long period, int online)
{
	long long n;

	if (online < 1)
		online = 1;
	if (quota <= 0 || period <= 0)
		return online;
	n = (quota + period - 1) / period;
	if (n < 1)
		n = 1;
	return n < online ? (int)n : online;
}

int
cpus_parse_cpu_max(const char *text, long long *quota, long long *period)
{
	char *end;

	if (strncmp(text, "max", 3) == 0 && (text[3] == ' ' || text[3] == '\t')) {
		*quota = -1;
		end = (char *)text + 3;
	} else {
		*quota = strtoll(text, &end, 10);
		if (end == text || *quota <= 0)
			return -1;
	}
	text = end;
	*period = strtoll(text, &end, 10);
	if (end == text || *period <= 0)
		return -1;
	while (*end == ' ' || *end == '\t' || *end == '\n')
		end++;
	return *end == '\0' ? 0 : -1;
}

/* Whether the comma-separated LIST names CONTROLLER. */
static int
cpus_list_has(const char *list, size_t len, const char *controller)
{
	size_t clen = strlen(controller);
	const char *p = list, *end = list + len;

	while (p < end) {
		const char *comma = memchr(p, ',', (size_t)(end - p));
		size_t n = comma != NULL ? (size_t)(comma - p) : (size_t)(end - p);

		if (n == clen && memcmp(p, controller, n) == 0)
			return 1;
		p += n + 1;
	}
	return 0;
}

int
cpus_cgroup_path(const char *text, const char *controller, char *out, unsigned long size)
{
	const char *line = text;

	while (*line != '\0') {
		const char *nl = strchr(line, '\n');
		const char *eol = nl != NULL ? nl : line + strlen(line);
		const char *c1 = memchr(line, ':', (size_t)(eol - line));
		const char *c2 = c1 != NULL ? memchr(c1 + 1, ':', (size_t)(eol - c1 - 1)) : NULL;

		if (c2 != NULL) {
			size_t listlen = (size_t)(c2 - c1 - 1);
			int match = controller[0] == '\0' ? listlen == 0 && c1 - line == 1 && line[0] == '0' :
			    cpus_list_has(c1 + 1, listlen, controller);

			if (match && (size_t)(eol - c2 - 1) < size && c2[1] == '/') {
				memcpy(out, c2 + 1, (size_t)(eol - c2 - 1));
				out[eol - c2 - 1] = '\0';
				return 0;
			}
		}
		if (nl == NULL)
			break;
		line = nl + 1;
	}
	return -1;
}

/* The first line of FILE into BUF; -1 if it cannot be read. */
static int
cpus_read(const char *file, char *buf, size_t size)
{
	FILE *f = fopen(file, "re");
	int ok;

	if (f == NULL)
		return -1;
	ok = fgets(buf, (int)size, f) != NULL;
	fclose(f);
	return ok ? 0 : -1;
}

/*
 * The tightest bandwidth limit on cgroup PATH and its ancestors under the
 * hierarchy mounted at ROOT, as CPUs (at most ONLINE).  V2: cpu.max; else
 * v1's cfs files.
 */
static int
cpus_cgroup_limit(const char *root, const char *path, int v2, int online)
{
	char dir[CPUS_PATH_MAX], file[CPUS_PATH_MAX + 32], buf[128];
	long long quota, period;
	int best = online;
	char *slash;

	if (snprintf(dir, sizeof(dir), "%s%s", root, strcmp(path, "/") == 0 ? "" : path) >=
	    (int)sizeof(dir))
		return online;
	for (;;) {
		int found = 0, n;

		if (v2) {
			snprintf(file, sizeof(file), "%s/cpu.max", dir);
			found = cpus_read(file, buf, sizeof(buf)) == 0 &&
			    cpus_parse_cpu_max(buf, &quota, &period) == 0;
		} else {
			snprintf(file, sizeof(file), "%s/cpu.cfs_quota_us", dir);
			if (cpus_read(file, buf, sizeof(buf)) == 0) {
				quota = strtoll(buf, NULL, 10);
				snprintf(file, sizeof(file), "%s/cpu.cfs_period_us", dir);
				if ((found = cpus_read(file, buf, sizeof(buf)) == 0))
					period = strtoll(buf, NULL, 10);
			}
		}
		if (found && (n = cpus_from_quota(quota, period, online)) < best)
			best = n;
		/* up one level, never above the mount point */
		if (strlen(dir) <= strlen(root) || (slash = strrchr(dir, '/')) == NULL ||
		    slash < dir + strlen(root))
			break;
		*slash = '\0';
	}
	return best;
}

int
cpus_available(void)
{
	static const char *const v1_roots[] = { "/sys/fs/cgroup/cpu,cpuacct", "/sys/fs/cgroup/cpu" };
	char text[8192], path[CPUS_PATH_MAX];
	cpu_set_t set;
	int online = (int)sysconf(_SC_NPROCESSORS_ONLN), n, limit;
	size_t len, i;
	FILE *f;

	if (sched_getaffinity(0, sizeof(set), &set) == 0 && (n = CPU_COUNT(&set)) > 0 &&
	    (online < 1 || n < online))
		online = n;
	if (online < 1)
		online = 1;
	if ((f = fopen("/proc/self/cgroup", "re")) == NULL)
		return online;
	len = fread(text, 1, sizeof(text) - 1, f);
	fclose(f);
	text[len] = '\0';
	limit = online;
	if (cpus_cgroup_path(text, "", path, sizeof(path)) == 0)
		limit = cpus_cgroup_limit("/sys/fs/cgroup", path, 1, limit);
	if (cpus_cgroup_path(text, "cpu", path, sizeof(path)) == 0)
		for (i = 0; i < sizeof(v1_roots) / sizeof(v1_roots[0]); i++)
			/* a container sees its own cgroup at the mount point, the host's path
			   not at all: the walk up reaches the mount point either way */
			limit = cpus_cgroup_limit(v1_roots[i], path, 0, limit);
	return limit;
}
