#!/usr/bin/env bash
# bench/hs_callgrind.sh — instructions per full TLS 1.3 handshake, s3gate
# against nginx, each as one process under `valgrind --tool=callgrind`.
#
# Makes one self-signed certificate (CERT_KEY, default rsa:2048), starts
# nginx (master_process off, one worker, `return 200`) and s3gate (workers
# 1, no backend needed) on TLS listeners with it, TLS 1.3 with
# TLS_AES_256_GCM_SHA384 as in bench/run.sh, warms each up with 3 s of
# `openssl s_time -new`, zeroes its counters, runs `openssl s_time -new` for
# SECONDS_RUN (default 20) seconds (full handshakes, never resumed, no
# request), dumps the counters and prints, per server:
#
#   NAME: H handshakes, I instructions, I/H per handshake
#
# Instruction counts do not depend on the machine's load, so the two are
# comparable run to run where rates on this VM are not (bench/README.md).
# KEEP=1 keeps the work dir (callgrind files for callgrind_annotate).
set -u -o pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
TOP=$(dirname "$HERE")
S3GATE=${S3GATE:-$TOP/bin/s3gate}
SECONDS_RUN=${SECONDS_RUN:-20}
CERT_KEY=${CERT_KEY:-rsa:2048}

log() { printf '[hs_callgrind %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
fail() { log "error: $*"; KEEP=1; exit 1; }

for tool in nginx openssl valgrind callgrind_control callgrind_annotate ss; do
	command -v "$tool" >/dev/null 2>&1 || fail "$tool not found"
done
[ -x "$S3GATE" ] || fail "$S3GATE not built (make)"

WORK=$(mktemp -d "${TMPDIR:-/tmp}/s3gate-hs-callgrind.XXXXXX") || fail "mktemp"
VPID=""
cleanup() {
	trap - EXIT INT TERM
	[ -n "$VPID" ] && kill "$VPID" 2>/dev/null && wait "$VPID" 2>/dev/null
	if [ "${KEEP:-0}" = 1 ]; then log "work dir kept: $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'log interrupted; exit 130' INT TERM

free_port() {
	local p
	while :; do
		p=$(( 20000 + RANDOM % 12000 ))
		ss -Htln "( sport = :$p )" | grep -q . || { echo "$p"; return; }
	done
}

openssl req -x509 -newkey "$CERT_KEY" -nodes -keyout "$WORK/key.pem" -out "$WORK/cert.pem" -days 2 \
    -subj /CN=127.0.0.1 2>/dev/null || fail "openssl req"
S_TIME=(openssl s_time -new -tls1_3 -ciphersuites TLS_AES_256_GCM_SHA384)

NGINX_PORT=$(free_port)
mkdir -p "$WORK/nginx/logs"
cat > "$WORK/nginx/nginx.conf" <<EOF
daemon off;
master_process off;
worker_processes 1;
error_log $WORK/nginx/logs/error.log;
pid $WORK/nginx/nginx.pid;
events { worker_connections 4096; }
http {
    access_log off;
    server {
        listen 127.0.0.1:$NGINX_PORT ssl backlog=4096;
        ssl_certificate     $WORK/cert.pem;
        ssl_certificate_key $WORK/key.pem;
        ssl_protocols       TLSv1.3;
        ssl_conf_command    Ciphersuites TLS_AES_256_GCM_SHA384;
        location / { return 200 "ok\n"; }
    }
}
EOF

S3GATE_PORT=$(free_port)
mkdir -p "$WORK/s3gate/policy"
echo "benchbackendsecretnevertouched" > "$WORK/s3gate/backend.secret"
chmod 600 "$WORK/s3gate/backend.secret"
cat > "$WORK/s3gate/s3gate.conf" <<EOF
listen 127.0.0.1:$S3GATE_PORT tls
tls_certificate $WORK/cert.pem $WORK/key.pem
backend http://127.0.0.1:1
backend_credentials BENCHBACKENDKEY00000 $WORK/s3gate/backend.secret
policy_store file $WORK/s3gate/policy
admin_listen off
access_log off
workers 1
EOF
"$S3GATE" -t -c "$WORK/s3gate/s3gate.conf" >/dev/null || fail "s3gate config rejected"

# measure NAME PORT CMD...: one server under callgrind, one line of figures
measure() {
	local name=$1 port=$2 i out n f ir
	shift 2
	valgrind --tool=callgrind --callgrind-out-file="$WORK/$name.cg.%p" "$@" > "$WORK/$name.log" 2>&1 &
	VPID=$!
	for i in $(seq 200); do
		openssl s_client -connect "127.0.0.1:$port" </dev/null >/dev/null 2>&1 && break
		kill -0 "$VPID" 2>/dev/null || fail "$name did not start (see $WORK/$name.log)"
		sleep 0.3
	done
	"${S_TIME[@]}" -connect "127.0.0.1:$port" -time 3 >/dev/null 2>&1
	callgrind_control -z "$VPID" >/dev/null 2>&1 || fail "callgrind_control -z $name"
	out=$("${S_TIME[@]}" -connect "127.0.0.1:$port" -time "$SECONDS_RUN" 2>&1)
	callgrind_control -d "$VPID" >/dev/null 2>&1 || fail "callgrind_control -d $name"
	sleep 1
	n=$(awk '/connections in [0-9.]+s/ {print $1; exit}' <<<"$out")
	f=$(ls -t "$WORK/$name".cg.* 2>/dev/null | head -1)
	ir=$(callgrind_annotate "$f" 2>/dev/null | awk '/PROGRAM TOTALS/ {gsub(",", "", $1); print $1}')
	[ -n "$n" ] && [ "${n:-0}" -gt 0 ] && [ -n "$ir" ] || fail "$name: no figures (s_time: $out)"
	echo "$name: $n handshakes, $ir instructions, $(( ir / n )) per handshake"
	kill "$VPID"; wait "$VPID" 2>/dev/null; VPID=""
}

log "nginx $(nginx -v 2>&1 | sed 's|.*/||'), $(openssl version | awk '{print $1, $2}'), $CERT_KEY, ${SECONDS_RUN} s each"
measure nginx "$NGINX_PORT" nginx -p "$WORK/nginx" -c "$WORK/nginx/nginx.conf"
measure s3gate "$S3GATE_PORT" "$S3GATE" -c "$WORK/s3gate/s3gate.conf"
