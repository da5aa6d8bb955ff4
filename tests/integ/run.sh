#!/bin/bash
# Integration tests: starts Ceph RGW and Redis once, runs every
# tests/integ/t_*.sh (each as its own process, bounded by a timeout), counts
# their "ok" / "not ok" / "skip" lines, and tears everything down (also on
# Ctrl-C).
#
#   tests/integ/run.sh [FILTER...]     only files whose name contains a FILTER
#
# Environment:
#   S3GATE_BIN        binaries under test (default bin/; make test uses build-asan/bin)
#   TEST_TIMEOUT      seconds per test file (default 900)
#   KEEP_OUT=1        keep tests/out/integ.* even when everything passed
#   S3GATE_DIRECT_RGW=1  run the tests against RGW itself (test development)
#
# Ends with exactly "integration: N passed, N failed, N skipped"; exits 1 if
# anything failed or the stack did not start.
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT" || exit 2
. tests/lib/rgw.sh
. tests/lib/redis.sh

S3GATE_BIN=${S3GATE_BIN:-$ROOT/bin}
case $S3GATE_BIN in /*) ;; *) S3GATE_BIN=$ROOT/$S3GATE_BIN ;; esac
export S3GATE_BIN

mkdir -p tests/out
OUT=$(mktemp -d "$ROOT/tests/out/integ.$(date +%Y%m%d-%H%M%S).XXXX")
STACK=$OUT/stack
CUR_PID=""
pass=0 fail=0 skip=0

cleanup() {
	trap - EXIT INT TERM HUP
	if [ -n "$CUR_PID" ] && kill -0 "$CUR_PID" 2>/dev/null; then
		# timeout(1) leads its own process group: stop the test and what it started
		kill -TERM -- "-$CUR_PID" 2>/dev/null || kill -TERM "$CUR_PID" 2>/dev/null
		wait "$CUR_PID" 2>/dev/null
	fi
	# proxies a killed test could not stop (each checked to be ours by its conf path)
	local pid name conf
	for f in "$OUT"/*/.s3gate.pids; do
		[ -f "$f" ] || continue
		while read -r pid name conf; do
			if { tr '\0' ' ' <"/proc/$pid/cmdline"; } 2>/dev/null | grep -qF -- "$conf"; then
				kill -KILL "$pid" 2>/dev/null
			fi
		done <"$f"
	done
	redis_stop "$STACK/redis"
	rgw_stop "$STACK/rgw"
}
trap 'cleanup; exit 130' INT
trap 'cleanup; exit 143' TERM HUP
trap cleanup EXIT

echo "# integration: output in $OUT; binaries from $S3GATE_BIN"
t0=$SECONDS
if ! rgw_start "$STACK/rgw"; then
	echo "not ok - stack: Ceph RGW did not start (logs in $STACK/rgw/log)"
	echo "integration: 0 passed, 1 failed, 0 skipped"
	exit 1
fi
if ! redis_start "$STACK/redis"; then
	echo "not ok - stack: redis did not start"
	echo "integration: 0 passed, 1 failed, 0 skipped"
	exit 1
fi
export RGW_ENDPOINT RGW_ACCESS_KEY RGW_SECRET_KEY RGW_DIR CEPH_CONF REDIS_URL REDIS_PORT REDIS_SOCKET
echo "# stack up in $((SECONDS - t0)) s: RGW $RGW_ENDPOINT, Redis $REDIS_URL"

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

summary=()
for f in "${files[@]+"${files[@]}"}"; do
	name=$(basename "$f" .sh)
	mkdir -p "$OUT/$name"
	echo "# ---- $name"
	ft0=$SECONDS
	T="$OUT/$name" timeout -k 15 "${TEST_TIMEOUT:-900}" bash "$f" </dev/null >"$OUT/$name.out" 2>&1 &
	CUR_PID=$!
	# show the results as they come
	tail -n +1 -F --pid=$CUR_PID "$OUT/$name.out" 2>/dev/null | grep -a --line-buffered -E '^(ok|not ok|skip) - |^#' &
	tailpid=$!
	wait "$CUR_PID"; rc=$?
	CUR_PID=""
	wait "$tailpid" 2>/dev/null
	out=$(cat "$OUT/$name.out")
	p=$(grep -ac '^ok - ' <<<"$out"); fl=$(grep -ac '^not ok - ' <<<"$out"); s=$(grep -ac '^skip - ' <<<"$out")
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
	pass=$((pass + p)); fail=$((fail + fl)); skip=$((skip + s))
	summary+=("$(printf '%-28s %3d passed, %d failed, %d skipped (%d s)' "$name:" "$p" "$fl" "$s" $((SECONDS - ft0)))")
done

echo "# ---- summary ($((SECONDS - t0)) s)"
for l in "${summary[@]+"${summary[@]}"}"; do echo "$l"; done
if [ $fail -eq 0 ] && [ "${KEEP_OUT:-0}" != 1 ]; then
	cleanup
	rm -rf "$OUT"
fi
echo "integration: $pass passed, $fail failed, $skip skipped"
[ $fail -eq 0 ]
