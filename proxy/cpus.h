/*
 * cpus: how many CPUs this process may use, for `workers auto`.
 *
 * Not the host's count: a container limited to two CPUs of a 64-core node
 * would otherwise start 64 workers that share two CPUs' worth of time,
 * each with its own caches and backend connections.  The count is the
 * smallest of the CPUs the scheduler lets this process run on
 * (sched_getaffinity: cpusets, taskset) and the CPU bandwidth limit of its
 * cgroup and every cgroup above it (cgroup v2 cpu.max, cgroup v1
 * cpu.cfs_quota_us / cpu.cfs_period_us: a Kubernetes CPU limit), rounded
 * up.  The parsing is pure and unit-tested; cpus_available() reads files.
 */
#ifndef S3GATE_CPUS_H
#define S3GATE_CPUS_H

/*
 * CPUs a bandwidth limit of QUOTA microseconds per PERIOD allows, at most
 * ONLINE (QUOTA <= 0: no limit, ONLINE); at least 1.
 */
int	cpus_from_quota(long long quota, long long period, int online);
/*
 * Parses a cgroup v2 cpu.max ("max 100000" or "150000 100000"): 0 with
 * *QUOTA (-1 for max) and *PERIOD set, -1 if TEXT is not one.
 */
int	cpus_parse_cpu_max(const char *text, long long *quota, long long *period);
/*
 * The cgroup path of controller CONTROLLER ("" for cgroup v2's unified
 * line "0::PATH") in TEXT, the contents of /proc/self/cgroup, copied to
 * OUT (SIZE bytes); 0 if found, -1 if not.
 */
int	cpus_cgroup_path(const char *text, const char *controller, char *out, unsigned long size);
/* The CPUs this process may use (see above); at least 1. */
int	cpus_available(void);

#endif
