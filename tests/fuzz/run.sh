#!/bin/bash
# Builds and runs every libFuzzer target tests/fuzz/fuzz_*.c.
#
#   tests/fuzz/run.sh SECONDS [NAME...]
#
# Each fuzz_X.c is linked (clang, -fsanitize=fuzzer,address,undefined)
# against the project's sources into build-fuzz/fuzz_X and run for SECONDS
# seconds on a fresh copy of tests/fuzz/corpus/X (the committed corpus is
# never written to; new inputs stay in build-fuzz/corpus/X).  NAMEs (X, or
# fuzz_X) limit the run to those targets.  Runs FUZZ_JOBS targets at once
# (default: the number of cores).  A crash leaves its reproducer in
# build-fuzz/artifacts/X/ and the log in build-fuzz/logs/X.log; replay it
# with: build-fuzz/fuzz_X build-fuzz/artifacts/X/crash-...
#
# Prints one line per target, then "fuzz: N targets, N crashed"; exits 1 if
# any target crashed or failed to build.
set -u

secs=${1:-}
if ! [[ $secs =~ ^[0-9]+$ ]] || [ "$secs" -lt 1 ]; then
	echo "usage: $0 SECONDS [NAME...]" >&2
	exit 2
fi
shift

root=$(cd "$(dirname "$0")/../.." && pwd)
out=$root/build-fuzz
CLANG=${CLANG:-clang}
LLHTTP_SRC=/usr/share/llhttp
LLHTTP_INC=/usr/share/include/llhttp
LIBS="-levent -levent_openssl -lssl -lcrypto -ljansson -lhiredis -lyaml -lm"
SAN="-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer"
CFLAGS="-std=c17 -D_GNU_SOURCE -O1 -g $SAN -I$root -I$LLHTTP_INC -Wall -Wno-unused-parameter"
jobs=${FUZZ_JOBS:-$(nproc 2>/dev/null || echo 1)}

command -v "$CLANG" >/dev/null || { echo "fuzz: $CLANG not found (make deps-test installs clang)" >&2; exit 2; }
mkdir -p "$out/obj" "$out/logs" "$out/artifacts" "$out/corpus" "$out/tmp"

# The library: every proxy/ and policy/ source but the two mains, and llhttp.
# A source that does not compile (someone is mid-change) is reported and left
# out; only targets that need it then fail to link.
objs=()
build_obj() {	# SRC OBJ EXTRA_FLAGS
	local src=$1 obj=$2 extra=$3
	if [ ! -e "$obj" ] || [ "$src" -nt "$obj" ] || \
	    [ -n "$(find "$root/proxy" "$root/policy" -name '*.h' -newer "$obj" 2>/dev/null | head -1)" ]; then
		mkdir -p "$(dirname "$obj")"
		if ! $CLANG $CFLAGS $extra -fsanitize=fuzzer-no-link -c -o "$obj" "$src" \
		    2>"$obj.err"; then
			echo "fuzz: $src does not compile, left out (see $obj.err)" >&2
			rm -f "$obj"
			return
		fi
	fi
	objs+=("$obj")
}
for src in "$root"/proxy/*.c "$root"/policy/*.c; do
	case $src in */proxy/main.c|*/policy/admin_main.c) continue ;; esac
	rel=${src#"$root"/}
	build_obj "$src" "$out/obj/${rel%.c}.o" ""
done
# llhttp as the Makefile builds it: with its SSE4.2 scans where the CPU has them
llhttp_arch=
grep -qw sse4_2 /proc/cpuinfo 2>/dev/null && [ "${LLHTTP_SSE42:-1}" = 1 ] && llhttp_arch=-msse4.2
for f in api http llhttp; do
	build_obj "$LLHTTP_SRC/$f.c" "$out/obj/llhttp/$f.o" "-w $llhttp_arch"
done
rm -f "$out/libs3gate-fuzz.a"
ar rcs "$out/libs3gate-fuzz.a" "${objs[@]}"

# The targets.
targets=()
for src in "$root"/tests/fuzz/fuzz_*.c; do
	[ -e "$src" ] || continue
	name=$(basename "$src" .c)
	name=${name#fuzz_}
	if [ $# -gt 0 ]; then
		want=0
		for n in "$@"; do [ "$n" = "$name" ] || [ "$n" = "fuzz_$name" ] && want=1; done
		[ $want = 1 ] || continue
	fi
	targets+=("$name")
done
if [ ${#targets[@]} -eq 0 ]; then
	echo "fuzz: no targets" >&2
	exit 2
fi

declare -A result
ntargets=${#targets[@]}
ncrashed=0

run_target() {	# NAME: builds and runs one target, writes its verdict to logs/NAME.verdict
	local name=$1 bin=$out/fuzz_$1 log=$out/logs/$1.log verdict=$out/logs/$1.verdict
	local corpus=$out/corpus/$1 art=$out/artifacts/$1/ tmp=$out/tmp/$1 rc
	if ! $CLANG $CFLAGS -fsanitize=fuzzer -o "$bin" "$root/tests/fuzz/fuzz_$1.c" \
	    "$out/libs3gate-fuzz.a" $LIBS >"$log" 2>&1; then
		echo "BUILD-FAILED see $log" >"$verdict"
		return
	fi
	rm -rf "$corpus" "$tmp" "$art"
	mkdir -p "$corpus" "$tmp" "$art"
	if [ -d "$root/tests/fuzz/corpus/$1" ]; then
		cp -r "$root/tests/fuzz/corpus/$1/." "$corpus/"
	fi
	TMPDIR=$tmp "$bin" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
	    -max_len=16384 -print_final_stats=1 -artifact_prefix="$art" \
	    "$corpus" >>"$log" 2>&1
	rc=$?
	rm -rf "$tmp"
	local runs cov
	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
	cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1)
	if [ $rc -ne 0 ] || [ -n "$(ls -A "$art" 2>/dev/null)" ]; then
		echo "CRASHED rc=$rc, reproducer: $(ls -d "$art"* 2>/dev/null | grep -v '/$' | head -1), log: $log" >"$verdict"
	else
		echo "ok ${runs:-?} runs, ${cov:-cov: ?}, corpus $(ls "$corpus" | wc -l) files" >"$verdict"
	fi
}

running=0
for name in "${targets[@]}"; do
	rm -f "$out/logs/$name.verdict"
	run_target "$name" &
	running=$((running + 1))
	if [ $running -ge "$jobs" ]; then
		wait -n
		running=$((running - 1))
	fi
done
wait

for name in "${targets[@]}"; do
	v=$(cat "$out/logs/$name.verdict" 2>/dev/null || echo "NO-RESULT")
	echo "fuzz_$name: $v"
	case $v in ok*) ;; *) ncrashed=$((ncrashed + 1)) ;; esac
done
echo "fuzz: $ntargets targets, $ncrashed crashed"
[ $ncrashed -eq 0 ]
