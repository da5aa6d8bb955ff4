/*
 * test_cpus: the CPU count of `workers auto` (proxy/cpus.h): a bandwidth
 * limit rounded up and capped by the CPUs online, cgroup v2 cpu.max
 * parsed, the cgroup path found in /proc/self/cgroup text for v2 and v1
 * (cpu alone or joined with cpuacct), and the count on this machine
 * between 1 and the CPUs online.
 */
#include <sched.h>
#include <unistd.h>

#include "proxy/cpus.h"
#include "tests/unit/testlib.h"

int
main(void)
{
	long long q = 0, p = 0;
	char path[256];
	int n, online;

	T_OK(cpus_from_quota(-1, 100000, 8) == 8, "no limit: every CPU online");
	T_OK(cpus_from_quota(200000, 100000, 8) == 2, "2 CPUs' worth of time: 2 workers");
	T_OK(cpus_from_quota(150000, 100000, 8) == 2, "1.5 CPUs: rounded up to 2");
	T_OK(cpus_from_quota(50000, 100000, 8) == 1, "half a CPU: 1");
	T_OK(cpus_from_quota(1600000, 100000, 4) == 4, "a limit above the CPUs online: the CPUs online");
	T_OK(cpus_from_quota(100000, 0, 4) == 4, "a period of 0 is no limit");
	T_OK(cpus_from_quota(-1, 100000, 0) == 1, "never below 1");

	T_OK(cpus_parse_cpu_max("max 100000\n", &q, &p) == 0 && q == -1 && p == 100000,
	    "cpu.max \"max 100000\": no quota (q %lld p %lld)", q, p);
	T_OK(cpus_parse_cpu_max("250000 100000\n", &q, &p) == 0 && q == 250000 && p == 100000,
	    "cpu.max \"250000 100000\" (q %lld p %lld)", q, p);
	T_OK(cpus_parse_cpu_max("", &q, &p) == -1, "an empty cpu.max is refused");
	T_OK(cpus_parse_cpu_max("max", &q, &p) == -1, "no period: refused");
	T_OK(cpus_parse_cpu_max("12x 100000", &q, &p) == -1, "not a number: refused");
	T_OK(cpus_parse_cpu_max("100000 100000 7", &q, &p) == -1, "trailing words: refused");
	T_OK(cpus_parse_cpu_max("-5 100000", &q, &p) == -1, "a negative quota: refused");

	T_OK(cpus_cgroup_path("0::/kubepods.slice/pod1/cri-abc\n", "", path, sizeof(path)) == 0 &&
	    strcmp(path, "/kubepods.slice/pod1/cri-abc") == 0, "v2: the unified line's path (%s)", path);
	T_OK(cpus_cgroup_path("12:pids:/\n4:cpu,cpuacct:/kubepods/burstable/pod9\n0::/\n", "cpu",
	    path, sizeof(path)) == 0 && strcmp(path, "/kubepods/burstable/pod9") == 0,
	    "v1: cpu joined with cpuacct (%s)", path);
	T_OK(cpus_cgroup_path("2:cpuacct:/a\n1:cpu:/b\n", "cpu", path, sizeof(path)) == 0 &&
	    strcmp(path, "/b") == 0, "v1: cpuacct alone is not cpu (%s)", path);
	T_OK(cpus_cgroup_path("3:cpuset:/x\n", "cpu", path, sizeof(path)) == -1,
	    "v1: cpuset is not cpu, and no cpu line: not found");
	T_OK(cpus_cgroup_path("1:name=systemd:/\n", "", path, sizeof(path)) == -1,
	    "v1 only: no unified line");
	T_OK(cpus_cgroup_path("0::/a-very-long-path\n", "", path, 8) == -1,
	    "a path longer than the buffer: not found");

	online = (int)sysconf(_SC_NPROCESSORS_ONLN);
	n = cpus_available();
	T_OK(n >= 1 && n <= (online > 0 ? online : 1), "this machine: %d of %d CPUs online", n, online);
	return T_DONE();
}
