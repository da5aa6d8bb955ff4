#!/bin/bash
# Integration tests: starts Ceph RGW once, runs every tests/integ/t_*.sh
# (each as its own process, bounded by a timeout), counts their "ok" /
# "not ok" / "skip" lines, and tears everything down (also on Ctrl-C).
#
#   tests/integ/run.sh [FILTER...]     only files whose name contains a FILTER
#
# Lanes.  One after the other the files took ~880 s, mostly waiting on
# clients (aws-cli, boto3) and on throttled transfers, one core at a time.
# So they run in two lanes at once, then the files that must have the
# machine to themselves:
#   lane 1  the files that measure time (t_sessions_quotas: rates and
#           bandwidth within 10-15%; t_faults: timeouts; t_hardening,
#           t_conn_state: slow peers), then lighter files
#   lane 2  the client-heavy files (every client, TLS, sharing stories);
#           a file named in no list joins this lane
#   solo    t_ops: 1000 connections answered within 0.25 s, per-worker
#           shares of a burst, drain and reload timings; with a neighbour
#           lane its latencies doubled (0.57 s seen)
# A lane runs its files one after the other, as the whole run used to.
# Each lane has a Redis of its own (files use databases 0, 6 and 7 and the
# invalidation channel, which is global to a server) and its own slice of
# the ports free_port draws from (FREE_PORT_RANGE); buckets and principals
# carry each file's own names, $T is per file.  RGW is shared.
# A file's results are printed as one block when it ends (never
# interleaved with the other lane's), then a table of every file.
#
# Environment:
#   S3GATE_BIN        binaries under test (default bin/; make test uses build-asan/bin)
#   TEST_TIMEOUT      seconds per test file (default 900)
#   TEST_LANES=1      every file one after the other, in one lane (as before)
#   KEEP_OUT=1        keep tests/out/integ.* even when everything passed
#   S3GATE_DIRECT_RGW=1  run the tests against RGW itself (test development)
#
# Ends with exactly "integration: N passed, N failed, N skipped"; exits 1 if
# anything failed or the stack did not start.  A file that times out, or
# ends without a result (its lane killed), counts as a failure.
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT" || exit 2
. tests/lib/rgw.sh
. tests/lib/redis.sh

# The lanes (see above); names without .sh, each run in the order given.
# Measured: with t_selfservice in lane 2 (a loaded run), lane 1 516 s, lane
# 2 603 s; with t_compat in lane 2 (a fresh clone, 2026-11-27 21:50), lane 1
# ~470 s (t_sessions_quotas ~205), lane 2 ~690 s, then t_ops ~52 s: t_compat
# (~66 s, clients but no time bounds) and t_bypass11 (~32 s) now end lane 1,
# after the files that measure time; t_bypass12 (~35 s, a Redis of its own),
# t_run (~30 s, a Ceph of its own), t_proxyproto, t_browser and t_bypass15
# (~17 s, a Redis of its own) after them; t_chaos (~40 s: CHAOS_SECONDS of
# fuzzing, 25 by default) last.  A fresh clone on 2026-11-28 15:51 with
# t_bypass19 and t_redis_sentinel (~26 s each) ending lane 1: lane 1 710 s,
# lane 2 583 s; so they end lane 2 now.
LANE1="t_sessions_quotas t_faults t_hardening t_conn_state t_presign_big t_presign_admin t_stack t_policy_redis t_link_shared t_deploy t_selfservice t_compat t_bypass11 t_bypass12 t_run t_proxyproto t_browser t_bypass15 t_chaos t_bypass17 t_bypass18"
LANE2="t_tls_payload t_sharing t_core_clients t_policy_story t_bypass t_bypass_links t_bypass3 t_bypass4 t_bypass5 t_bypass6 t_bypass7 t_bypass8 t_bypass9 t_bypass10 t_bypass13 t_bypass14 t_bypass16 t_body_rate t_backends t_backends2 t_bypass19 t_redis_sentinel"
SOLO="t_ops"

S3GATE_BIN=${S3GATE_BIN:-$ROOT/bin}
case $S3GATE_BIN in /*) ;; *) S3GATE_BIN=$ROOT/$S3GATE_BIN ;; esac
export S3GATE_BIN

mkdir -p tests/out
OUT=$(mktemp -d "$ROOT/tests/out/integ.$(date +%Y%m%d-%H%M%S).XXXX")
STACK=$OUT/stack
LANE_PIDS=()

# Stops the lanes, then the test each was running (timeout(1) leads its own
# process group: the test and what it started), then the stack.
cleanup() {
	trap - EXIT INT TERM HUP
	local pid f name conf
	for pid in "${LANE_PIDS[@]+"${LANE_PIDS[@]}"}"; do kill -TERM "$pid" 2>/dev/null; done
	for f in "$OUT"/.lane*.cur; do
		[ -f "$f" ] || continue
		pid=$(cat "$f")
		if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
			kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null
		fi
	done
	for pid in "${LANE_PIDS[@]+"${LANE_PIDS[@]}"}"; do wait "$pid" 2>/dev/null; done
	# proxies a killed test could not stop (each checked to be ours by its conf path)
	for f in "$OUT"/*/.s3gate.pids; do
		[ -f "$f" ] || continue
		while read -r pid name conf; do
			if { tr '\0' ' ' <"/proc/$pid/cmdline"; } 2>/dev/null | grep -qF -- "$conf"; then
				kill -KILL "$pid" 2>/dev/null
			fi
		done <"$f"
	done
	for f in "$STACK"/redis.*; do [ -d "$f" ] && redis_stop "$f"; done
	rgw_stop "$STACK/rgw"
}
trap 'cleanup; exit 130' INT
trap 'cleanup; exit 143' TERM HUP
trap cleanup EXIT

# lane_redis N — starts lane N's Redis; sets LANE_ENV to its variables
lane_redis() {
	redis_start "$STACK/redis.$1" || return 1
	LANE_ENV=("REDIS_URL=$REDIS_URL" "REDIS_PORT=$REDIS_PORT" "REDIS_SOCKET=$REDIS_SOCKET")
}

# run_file LANE FILE — runs one test file with the lane's environment; its
# counts go to $OUT/NAME.res ("PASSED FAILED SKIPPED SECONDS LANE"), its
# result lines are printed as one block, under a lock
run_file() {
	local lane=$1 f=$2 name rc p fl s ft0=$SECONDS pid
	name=$(basename "$f" .sh)
	mkdir -p "$OUT/$name"
	T="$OUT/$name" timeout -k 15 "${TEST_TIMEOUT:-900}" bash "$f" </dev/null >"$OUT/$name.out" 2>&1 &
	pid=$!
	echo "$pid" >"$OUT/.lane$lane.cur"
	wait "$pid"; rc=$?
	: >"$OUT/.lane$lane.cur"
	{
		grep -a -E '^(ok|not ok|skip) - |^#' "$OUT/$name.out"
		p=$(grep -ac '^ok - ' "$OUT/$name.out"); fl=$(grep -ac '^not ok - ' "$OUT/$name.out")
		s=$(grep -ac '^skip - ' "$OUT/$name.out")
		if [ $rc -eq 124 ] || [ $rc -eq 137 ]; then
			echo "not ok - $name: timed out after ${TEST_TIMEOUT:-900} s"
			fl=$((fl + 1))
		elif [ $rc -ne 0 ] && [ "$fl" -eq 0 ]; then
			echo "not ok - $name: exited $rc without a failing check; tail of $OUT/$name.out:"
			tail -n 15 "$OUT/$name.out" | sed 's/^/#   /'
			fl=$((fl + 1))
		fi
		if ! _rgw_running "$STACK/rgw" rgw || ! _rgw_running "$STACK/rgw" osd; then
			echo "not ok - stack: Ceph died during $name"
			_rgw_tails "$STACK/rgw" 2>&1 | sed 's/^/#   /'
			fl=$((fl + 1))
		fi
		echo "$p $fl $s $((SECONDS - ft0)) $lane" >"$OUT/$name.res"
	} >"$OUT/$name.block"
	flock "$OUT/.print" sh -c 'echo "# ---- $1 (lane $2, $3 s)"; cat "$4"' sh \
		"$name" "$lane" $((SECONDS - ft0)) "$OUT/$name.block"
}

# run_lane N ENV... -- FILE... — the files one after the other, in the
# background; the pid joins LANE_PIDS
run_lane() {
	local lane=$1; shift
	local -a env=()
	while [ "$1" != -- ]; do env+=("$1"); shift; done
	shift
	[ $# -gt 0 ] || return 0
	(
		trap - EXIT INT TERM HUP
		export "${env[@]}"
		for f in "$@"; do run_file "$lane" "$f"; done
	) &
	LANE_PIDS+=($!)
}

echo "# integration: output in $OUT; binaries from $S3GATE_BIN"
t0=$SECONDS
if ! rgw_start "$STACK/rgw"; then
	echo "not ok - stack: Ceph RGW did not start (logs in $STACK/rgw/log)"
	echo "integration: 0 passed, 1 failed, 0 skipped"
	exit 1
fi
export RGW_ENDPOINT RGW_ACCESS_KEY RGW_SECRET_KEY RGW_DIR CEPH_CONF

files=()
for f in tests/integ/t_*.sh; do
	[ -f "$f" ] || continue
	if [ $# -gt 0 ]; then
		hit=0
		for pat in "$@"; do case $(basename "$f") in *"$pat"*) hit=1 ;; esac; done
		[ $hit = 1 ] || continue
	fi
	files+=("$f")
done
[ ${#files[@]} -gt 0 ] || echo "# no test files match: $*"

# the chosen files by lane, in each lane's order (a file in no list: lane 2)
lane1=() lane2=() solo=()
in_list() { case " $2 " in *" $1 "*) return 0 ;; esac; return 1; }
for n in $LANE1 $LANE2 $SOLO; do
	for f in "${files[@]+"${files[@]}"}"; do
		[ "$(basename "$f" .sh)" = "$n" ] || continue
		if in_list "$n" "$LANE1"; then lane1+=("$f")
		elif in_list "$n" "$LANE2"; then lane2+=("$f")
		else solo+=("$f"); fi
	done
done
for f in "${files[@]+"${files[@]}"}"; do
	in_list "$(basename "$f" .sh)" "$LANE1 $LANE2 $SOLO" || lane2+=("$f")
done
if [ "${TEST_LANES:-2}" = 1 ]; then
	lane1=("${files[@]+"${files[@]}"}") lane2=() solo=()
fi
# two lanes share the ports below the ephemeral range
read -r plo _ </proc/sys/net/ipv4/ip_local_port_range
pmid=$(((10000 + plo) / 2))

if ! lane_redis 1; then
	echo "not ok - stack: redis did not start"
	echo "integration: 0 passed, 1 failed, 0 skipped"
	exit 1
fi
env1=("${LANE_ENV[@]}")
echo "# stack up in $((SECONDS - t0)) s: RGW $RGW_ENDPOINT, Redis $REDIS_URL (lane 1)"
if [ ${#lane2[@]} -gt 0 ]; then
	if ! lane_redis 2; then
		echo "not ok - stack: redis did not start"
		echo "integration: 0 passed, 1 failed, 0 skipped"
		exit 1
	fi
	env2=("${LANE_ENV[@]}")
	echo "# lane 1: ${lane1[*]+${lane1[*]##*/}}"
	echo "# lane 2 (Redis $REDIS_URL): ${lane2[*]##*/}"
	run_lane 1 "${env1[@]}" "FREE_PORT_RANGE=10000-$pmid" -- "${lane1[@]+"${lane1[@]}"}"
	run_lane 2 "${env2[@]}" "FREE_PORT_RANGE=$pmid-$plo" -- "${lane2[@]}"
else
	run_lane 1 "${env1[@]}" -- "${lane1[@]+"${lane1[@]}"}"
fi
for pid in "${LANE_PIDS[@]+"${LANE_PIDS[@]}"}"; do wait "$pid"; done
LANE_PIDS=()
if [ ${#solo[@]} -gt 0 ]; then
	echo "# solo: ${solo[*]##*/}"
	run_lane solo "${env1[@]}" -- "${solo[@]}"
	wait "${LANE_PIDS[0]}"
	LANE_PIDS=()
fi

# every chosen file, in name order; one without a result ended with its lane
pass=0 fail=0 skip=0
summary=()
for f in "${files[@]+"${files[@]}"}"; do
	name=$(basename "$f" .sh)
	if read -r p fl s secs lane 2>/dev/null <"$OUT/$name.res"; then
		:
	else
		echo "not ok - $name: no result (its lane ended before it did); see $OUT/$name.out"
		p=0 fl=1 s=0 secs=0 lane=?
	fi
	pass=$((pass + p)); fail=$((fail + fl)); skip=$((skip + s))
	summary+=("$(printf '%-28s %3d passed, %d failed, %d skipped (%d s, lane %s)' "$name:" "$p" "$fl" "$s" "$secs" "$lane")")
done

echo "# ---- summary ($((SECONDS - t0)) s)"
for l in "${summary[@]+"${summary[@]}"}"; do echo "$l"; done
if [ $fail -eq 0 ] && [ "${KEEP_OUT:-0}" != 1 ]; then
	cleanup
	rm -rf "$OUT"
fi
echo "integration: $pass passed, $fail failed, $skip skipped"
[ $fail -eq 0 ]
