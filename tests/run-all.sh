#!/bin/bash
# Every test, as `make test` runs them:
#   1. unit tests, plain build                       make unit
#   2. unit tests under ASan + UBSan                 make SANITIZE=1 unit   (build-asan/)
#   3. integration tests against the sanitizer build of s3gate and s3gate-admin
#      (real Ceph RGW, Redis and clients)            S3GATE_BIN=build-asan/bin tests/integ/run.sh
# Ends with one line "N passed, N failed, N skipped" summed over the three
# stages; a stage that errors without a summary (a build failure, a crash of
# the runner) counts as one failure.  Exits 1 if anything failed.
#
# Sanitizers: halt on the first error, so that no report is lost in a run
# that then goes on.  Leaks are checked in unit tests and in the proxy too:
# LeakSanitizer runs only when a process exits normally, i.e. when s3gate
# exits after SIGTERM as it must; tests/integ/lib.sh turns any report in a
# proxy's log into a failing result.  Should a library's own allocations at
# exit (OpenSSL, libevent) ever be reported, suppress them in a file named by
# LSAN_OPTIONS=suppressions=... rather than turning leak checks off.
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT" || exit 2
mkdir -p tests/out

export ASAN_OPTIONS=${ASAN_OPTIONS:-halt_on_error=1:abort_on_error=0:detect_leaks=1:strict_string_checks=1:detect_stack_use_after_return=1:check_initialization_order=1:strict_init_order=1:print_summary=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1:report_error_type=1}
export LSAN_OPTIONS=${LSAN_OPTIONS:-print_suppressions=0}

total_p=0 total_f=0 total_s=0 errors=0
lines=()

# stage NAME SUMMARY_PREFIX cmd... — runs cmd (output shown and kept in
# tests/out/NAME.log), adds its "PREFIX N passed, N failed, N skipped" line
stage() {
	local name=$1 prefix=$2 rc line p f s; shift 2
	echo "==== $name: $*"
	"$@" 2>&1 | tee "tests/out/$name.log"
	rc=${PIPESTATUS[0]}
	line=$(grep -a -E "^${prefix}[0-9]+ passed, [0-9]+ failed, [0-9]+ skipped" "tests/out/$name.log" | tail -n 1)
	if [ -z "$line" ]; then
		echo "not ok - stage $name errored (exit $rc) without a summary; see tests/out/$name.log"
		errors=$((errors + 1)); total_f=$((total_f + 1))
		lines+=("$name: ERROR (exit $rc)")
		return 1
	fi
	read -r p f s <<<"$(sed -E "s/^${prefix}([0-9]+) passed, ([0-9]+) failed, ([0-9]+) skipped.*/\1 \2 \3/" <<<"$line")"
	total_p=$((total_p + p)); total_f=$((total_f + f)); total_s=$((total_s + s))
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		echo "not ok - stage $name exited $rc with no failing test"
		errors=$((errors + 1)); total_f=$((total_f + 1))
	fi
	lines+=("$name: $p passed, $f failed, $s skipped")
	return 0
}

stage unit "unit: " make --no-print-directory unit
stage unit-asan "unit: " make --no-print-directory SANITIZE=1 unit

echo "==== build: make SANITIZE=1 build-asan/bin/s3gate build-asan/bin/s3gate-admin"
if make --no-print-directory SANITIZE=1 build-asan/bin/s3gate build-asan/bin/s3gate-admin \
	>tests/out/build-asan.log 2>&1; then
	stage integration "integration: " env S3GATE_BIN=build-asan/bin tests/integ/run.sh
else
	tail -n 30 tests/out/build-asan.log
	echo "not ok - stage integration: the sanitizer build of s3gate failed (tests/out/build-asan.log)"
	errors=$((errors + 1)); total_f=$((total_f + 1))
	lines+=("integration: ERROR (build failed)")
fi

echo "==== summary"
for l in "${lines[@]}"; do echo "$l"; done
[ $errors -eq 0 ] || echo "$errors stage(s) errored"
echo "$total_p passed, $total_f failed, $total_s skipped"
[ $total_f -eq 0 ] && [ $errors -eq 0 ]
