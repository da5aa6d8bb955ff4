#!/usr/bin/env bash
# bench/callgrind.sh — s3gate's own CPU cost of one small GET, in instructions.
#
# Starts a private nginx origin serving a 4 KiB file at /bench/4k.bin, an
# s3gate (one worker, access log off) under `valgrind --tool=callgrind`,
# sends a few warm-up requests, zeroes the counters, fires presigned 4 KiB
# GETs with wrk (keep-alive, -t1 -cCONNS), dumps the counters, and prints
#
#   instructions per request: N
#
# where N = Ir of s3gate between the zeroing and the dump / the number of 2xx
# answers s3gate counted in that window (its /metrics on admin_listen, read
# before and after; the two scrapes are inside the window and cost a little).
# Start-up and shutdown are outside the window. The callgrind file of the
# window is kept for callgrind_annotate; its path is printed.
#
# Environment:
#   SECONDS_RUN=S  wrk duration (default 10; ~1-2 k requests under callgrind)
#   CONNS=C        wrk connections (default 4)
#   S3GATE=path    the s3gate binary (default bin/s3gate); S3GATE_ADMIN too
#   KEEP=1         keep the work dir (always kept when something fails)
#   VG_OPTS=...    extra valgrind options (e.g. --dump-instr=yes)
#   CG_FILE=path   where the window's callgrind file is copied
#                  (default \$TMPDIR/s3gate-callgrind.out)
#   METHOD=HEAD    presigned HEADs of an empty object instead (bench/presign.py
#                  signs them; wrk runs bench/wrk.lua with WRK_METHOD=HEAD)
#   NATIVE=1       no valgrind: s3gate runs natively and the window's CPU
#                  time from /proc/PID/stat is printed instead, as
#                  "CPU µs per request: T (user U, system S)" (clock ticks
#                  of 10 ms: run long enough, e.g. SECONDS_RUN=10 CONNS=64)
set -u -o pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
TOP=$(dirname "$HERE")
SECONDS_RUN=${SECONDS_RUN:-10}
CONNS=${CONNS:-4}
S3GATE=${S3GATE:-$TOP/bin/s3gate}
S3GATE_ADMIN=${S3GATE_ADMIN:-$TOP/bin/s3gate-admin}
REGION=us-east-1

log() { printf '[callgrind %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
fail() { log "error: $*"; KEEP=1; exit 1; }

for tool in nginx wrk curl awk ss $([ "${NATIVE:-0}" = 1 ] || echo valgrind callgrind_control); do
	command -v "$tool" >/dev/null 2>&1 || fail "$tool not found"
done
[ -x "$S3GATE" ] && [ -x "$S3GATE_ADMIN" ] || fail "$S3GATE or $S3GATE_ADMIN not built (make)"

WORK=$(mktemp -d "${TMPDIR:-/tmp}/s3gate-callgrind.XXXXXX") || fail "mktemp"
mkdir -p "$WORK/www/bench" "$WORK/tmp" "$WORK/policy"
PIDS=()

cleanup() {
	trap - EXIT INT TERM
	local p
	for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null; done
	for _ in $(seq 100); do
		local alive=0
		for p in "${PIDS[@]}"; do kill -0 "$p" 2>/dev/null && alive=1; done
		[ $alive = 0 ] && break
		sleep 0.1
	done
	for p in "${PIDS[@]}"; do kill -KILL "$p" 2>/dev/null; done
	wait 2>/dev/null
	if [ "${KEEP:-0}" = 1 ]; then log "work dir kept: $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'log interrupted; exit 130' INT TERM

USED=" "
free_port() {
	local p listening
	listening=$(ss -Htln 2>/dev/null | awk '{print $4}' | sed 's/.*://' | tr '\n' ' ')
	while :; do
		p=$(( 20000 + RANDOM % 12000 ))	# below the ephemeral range (32768-): no outgoing connection holds it
		case " $listening $USED" in *" $p "*) continue ;; esac
		USED="$USED$p "
		echo "$p"
		return
	done
}

# wait_http URL PID: until URL answers, or PID dies (under valgrind: slow start)
wait_http() {
	local i
	for i in $(seq 300); do
		curl -s -o /dev/null --max-time 2 "$1" && return 0
		kill -0 "$2" 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}

# ok2xx: s3gate's count of 2xx answers, from its /metrics
ok2xx() {
	curl -s --max-time 20 "http://127.0.0.1:$ADMIN_PORT/metrics" |
	    awk '/^s3gate_requests_total\{status="2xx"\}/ {print $2; f = 1} END {if (!f) print "none"}'
}

# --------------------------------------------------------------- the origin
ORIGIN_PORT=$(free_port)
head -c 4096 /dev/urandom > "$WORK/www/bench/4k.bin"
: > "$WORK/www/bench/0.bin"
cat > "$WORK/origin.conf" <<EOF
user root;
worker_processes 1;
daemon off;
master_process off;
pid $WORK/origin.pid;
error_log $WORK/origin.error.log warn;
events { worker_connections 1024; }
http {
    access_log off;
    sendfile on;
    tcp_nodelay on;
    keepalive_requests 1000000;
    keepalive_timeout 75s;
    default_type application/octet-stream;
    client_body_temp_path $WORK/tmp/body;
    proxy_temp_path       $WORK/tmp/proxy;
    fastcgi_temp_path     $WORK/tmp/fastcgi;
    uwsgi_temp_path       $WORK/tmp/uwsgi;
    scgi_temp_path        $WORK/tmp/scgi;
    server {
        listen 127.0.0.1:$ORIGIN_PORT;
        root $WORK/www;
        location / { }
    }
}
EOF
nginx -q -e "$WORK/origin.error.log" -p "$WORK" -c "$WORK/origin.conf" &
PIDS+=("$!")
wait_http "http://127.0.0.1:$ORIGIN_PORT/bench/4k.bin" "$!" || fail "origin did not start: $(tail -3 "$WORK/origin.error.log")"

# ---------------------------------------------------------------- s3gate
PORT=$(free_port)
ADMIN_PORT=$(free_port)
cp "$HERE/bench-policy.yaml" "$WORK/policy/bench.yaml"
echo "benchbackendsecretnotcheckedbytheorigin" > "$WORK/backend.secret"
chmod 600 "$WORK/backend.secret"
cat > "$WORK/s3gate.conf" <<EOF
listen 127.0.0.1:$PORT
region $REGION
backend http://127.0.0.1:$ORIGIN_PORT
backend_credentials BENCHBACKENDKEY00000 $WORK/backend.secret
policy_store file $WORK/policy
admin_listen 127.0.0.1:$ADMIN_PORT
access_log off
workers 1
EOF
"$S3GATE" -t -c "$WORK/s3gate.conf" > "$WORK/s3gate.check.log" 2>&1 || fail "config rejected: $(cat "$WORK/s3gate.check.log")"
creds=$("$S3GATE_ADMIN" -c "$WORK/s3gate.conf" cred create benchuser 2> "$WORK/admin.log") || fail "cred create: $(cat "$WORK/admin.log")"
read -r AKID SECRET _ <<< "$creds"

CGOUT=$WORK/callgrind.out
VG=(valgrind --tool=callgrind --callgrind-out-file="$CGOUT.%p")
[ "${NATIVE:-0}" = 1 ] && VG=()
# shellcheck disable=SC2086
"${VG[@]}" ${VG_OPTS:-} "$S3GATE" -c "$WORK/s3gate.conf" > "$WORK/s3gate.log" 2>&1 &
S3PID=$!
PIDS=("$S3PID" "${PIDS[@]}")
wait_http "http://127.0.0.1:$ADMIN_PORT/metrics" "$S3PID" || fail "s3gate did not start: $(tail -5 "$WORK/s3gate.log")"

# ------------------------------------------------------------- the requests
export AWS_CONFIG_FILE=$WORK/aws.config AWS_SHARED_CREDENTIALS_FILE=/dev/null
printf '[default]\nregion = %s\ns3 =\n  signature_version = s3v4\n  addressing_style = path\n' "$REGION" > "$AWS_CONFIG_FILE"
AWS=/usr/bin/aws
[ -x "$AWS" ] || AWS=aws
url=$(AWS_ACCESS_KEY_ID=$AKID AWS_SECRET_ACCESS_KEY=$SECRET AWS_DEFAULT_REGION=$REGION \
      "$AWS" s3 presign s3://bench/4k.bin --endpoint-url "http://127.0.0.1:$PORT" --expires-in 3600 2> "$WORK/presign.log")
[ -n "$url" ] || fail "aws s3 presign: $(head -3 "$WORK/presign.log")"

got=$(curl -s -o /dev/null -w '%{http_code} %{size_download}' "$url")
[ "$got" = "200 4096" ] || fail "presigned GET through s3gate: $got (see $WORK/s3gate.log)"
WRK_ARGS=()
WHAT="presigned 4 KiB GET"
if [ "${METHOD:-GET}" = HEAD ]; then
	# botocore signs the HEAD (aws s3 presign only signs GETs)
	read -r _ _ head_path <<< "$(echo "s3gate http://127.0.0.1:$PORT" |
	    /usr/bin/python3 "$HERE/presign.py" "$AKID" "$SECRET" "$REGION" 2> "$WORK/presign.log")"
	[ -n "$head_path" ] || fail "presign.py: $(head -3 "$WORK/presign.log")"
	url="http://127.0.0.1:$PORT$head_path"
	got=$(curl -s -I -o /dev/null -w '%{http_code}' "$url")
	[ "$got" = 200 ] || fail "presigned HEAD through s3gate: $got (see $WORK/s3gate.log)"
	export WRK_METHOD=HEAD
	WRK_ARGS=(-s "$HERE/wrk.lua")
	WHAT="presigned HEAD of an empty object"
fi
log "warm-up"
wrk -t1 -c"$CONNS" -d2s "${WRK_ARGS[@]}" "$url" > "$WORK/wrk.warmup.txt" 2>&1

if [ "${NATIVE:-0}" = 1 ]; then
	ticks() { awk '{print $14, $15}' "/proc/$S3PID/stat"; }	# utime, stime
	before=$(ok2xx); read -r u0 s0 <<< "$(ticks)"
	log "wrk -t1 -c$CONNS -d${SECONDS_RUN}s on a $WHAT (native)"
	wrk -t1 -c"$CONNS" -d"${SECONDS_RUN}"s "${WRK_ARGS[@]}" "$url" > "$WORK/wrk.txt" 2>&1
	after=$(ok2xx); read -r u1 s1 <<< "$(ticks)"
	n=$(( after - before ))
	[ "$n" -gt 0 ] || fail "no request answered"
	log "wrk: $(awk '/requests in/' "$WORK/wrk.txt" | sed 's/^ *//')"
	awk -v u=$((u1 - u0)) -v s=$((s1 - s0)) -v n="$n" -v hz="$(getconf CLK_TCK)" 'BEGIN {
	    printf "CPU µs per request: %.1f (user %.1f, system %.1f)\n",
	        (u + s) / hz * 1e6 / n, u / hz * 1e6 / n, s / hz * 1e6 / n }'
	exit 0
fi
callgrind_control -z "$S3PID" > "$WORK/cg.zero.log" 2>&1 || fail "callgrind_control -z: $(cat "$WORK/cg.zero.log")"
before=$(ok2xx)
log "wrk -t1 -c$CONNS -d${SECONDS_RUN}s on a $WHAT"
wrk -t1 -c"$CONNS" -d"${SECONDS_RUN}"s "${WRK_ARGS[@]}" "$url" > "$WORK/wrk.txt" 2>&1
after=$(ok2xx)
callgrind_control -d "$S3PID" > "$WORK/cg.dump.log" 2>&1 || fail "callgrind_control -d: $(cat "$WORK/cg.dump.log")"

non2xx=$(awk '/Non-2xx or 3xx responses:/ {print $NF}' "$WORK/wrk.txt")
[ -z "$non2xx" ] || fail "wrk saw $non2xx non-2xx answers"
[ "$before" != none ] && [ "$after" != none ] || fail "no s3gate_requests_total{status=\"2xx\"} in /metrics"
n=$(( after - before ))
[ "$n" -gt 0 ] || fail "no request answered"

# The dump of the window is CGOUT.PID.1; the final file at exit is CGOUT.PID.
dump=$(ls "$CGOUT.$S3PID".* 2>/dev/null | head -1)
for _ in $(seq 50); do [ -n "$dump" ] && break; sleep 0.2; dump=$(ls "$CGOUT.$S3PID".* 2>/dev/null | head -1); done
[ -n "$dump" ] || fail "no callgrind dump"
sleep 0.5
ir=$(awk '/^(summary|totals):/ {print $2; exit}' "$dump")
[ -n "$ir" ] || fail "no total in $dump"

kill -TERM "$S3PID"
for _ in $(seq 200); do kill -0 "$S3PID" 2>/dev/null || break; sleep 0.1; done
wait "$S3PID"; rc=$?
[ "$rc" = 0 ] || log "warning: s3gate exited with status $rc"

OUT=${CG_FILE:-${TMPDIR:-/tmp}/s3gate-callgrind.out}
cp "$dump" "$OUT" && dump=$OUT
log "wrk: $(awk '/requests in/' "$WORK/wrk.txt" | sed 's/^ *//')"
log "s3gate: $n 2xx answers, $ir instructions in the window; callgrind file: $dump"
echo "instructions per request: $(( ir / n ))"
