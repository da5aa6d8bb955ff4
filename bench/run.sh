#!/usr/bin/env bash
# bench/run.sh — s3gate against its baselines, on loopback (bench/README.md):
# the whole suite of issue 11 in one run.
#
#   lib.sh         work folders, cleanup, ports, /proc readings, raw figures
#   contenders.sh  served files, certificate, origin, contenders, checks
#   sizes.sh       GET/PUT by object size, 1 and 16 streams, plain and TLS
#   latency.sh     small-object rate and latency (wrk), TLS handshake rate
#   rss.sh         10 000 idle connections, one 100 GiB GET
#   report.sh      results.md and the gnuplot charts
#
# Contenders (plain HTTP; most also over TLS, as NAME-tls): direct (the
# ceiling), nginx, nginx-unbuf, haproxy, relay-splice, relay-copy (the
# floor), s3gate (its defaults: workers auto), s3gate-pick (splice upload: downloads
# copied), s3gate-1w (workers 1), s3gate-4w (workers 4).
# Origins: nginx for GETs, bench/sink.c for PUTs; every contender runs a
# second instance (NAME-put) in front of the sink for its PUT rows.
#
# Environment (defaults in brackets; QUICK=1 changes them, see below):
#   PHASES="..."     which parts run [sizes tls latency idle big]
#   ONLY="a b"       only these contenders (direct always runs: ratios)
#   REPEAT=N         repetitions of 64 MiB and 1 GiB transfers [9]
#   SMALL_REPEAT=N   of 4 KiB and 1 MiB transfers [3]
#   PAR_REPEAT=N     of the 16-stream transfers [3], but PAR_BIG_REPEAT
#                    of 16 x 1 GiB (16 GiB, ~10 s a run) [1]
#   SIZES, SIZES_PAR, TLS_SIZES, TLS_SIZES_PAR   object sizes, 1 stream
#                    [4k 1m 64m 1g], 16 streams [4k 1m 64m 1g], TLS 1 stream
#                    [4k 1m 64m 1g], TLS 16 streams [4k 1m 64m] (empty: none)
#   LAT_CONNS="..."  wrk connections [1 64 1024]; LAT_SECONDS [3]; LAT_REPEAT [1],
#                    but LAT_TARGET_REPEAT [5] at LAT_TARGET_CONNS [64], the
#                    connections issue 11's targets are set at
#   HS_SECONDS, HS_CLIENTS, HS_REPEAT   TLS handshake runs [5, 2, 5]
#   IDLE_CONNS=N     idle connections [10000]
#   BIG_GIB=N        the long GET, GiB (0: skip) [100]; BIG_ONLY [s3gate]
#   CERT_KEY=...     openssl -newkey argument [rsa:2048]
#   S3GATE=path      the s3gate binary [bin/s3gate]; S3GATE_ADMIN too
#   S3GATE_B=path    a second s3gate binary, contender s3gate-b (and
#                    s3gate-b-tls), configured as s3gate: an A/B of two
#                    builds in one run, e.g. ONLY="relay-copy s3gate s3gate-b"
#   S3GATE_B_CONF="..."  config lines appended to s3gate-b's: an A/B of two
#                    settings with S3GATE_B=bin/s3gate, e.g. "splice off"
#   TMPDIR=dir       where the work folder and the served files go [/tmp]
#   BENCH_TMP=dir    nginx temp files and the sparse file [/dev/shm]
#   KEEP=1           keep the served files and the temp folder
#   PUBLISH=0|1      copy results.md and the charts to bench/ [1 for a full
#                    default run, 0 with QUICK, ONLY or PHASES]
#   WARMUP=0|1       one untimed 1 GiB GET per contender first [1]
#   QUICK=1          for development, about 3 minutes: one repetition, 1 s
#                    wrk runs, 2000 idle connections, a 4 GiB long GET, no
#                    warm-up, sizes 4k 1g (1 stream), 1m (16), 64m (TLS)
#
# Output: WORK/results.md (also printed), WORK/results/*.png (charts), every
# single run in WORK/raw.tsv; WORK is $TMPDIR/s3gate-bench.XXXXXX, kept.
set -u -o pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
TOP=$(dirname "$HERE")
RUN_CMD="$(for v in QUICK PHASES ONLY S3GATE_B S3GATE_B_CONF REPEAT SMALL_REPEAT PAR_REPEAT LAT_SECONDS LAT_REPEAT LAT_TARGET_REPEAT LAT_CONNS HS_REPEAT IDLE_CONNS BIG_GIB; do
    [ -n "${!v:-}" ] && printf '%s=%q ' "$v" "${!v}"; done)bench/run.sh"
PUBLISH_DEFAULT=1
[ -n "${QUICK:-}${ONLY:-}${PHASES:-}" ] && PUBLISH_DEFAULT=0
if [ "${QUICK:-0}" = 1 ]; then
    : "${REPEAT:=1}" "${SMALL_REPEAT:=1}" "${PAR_REPEAT:=1}" "${LAT_SECONDS:=1}" "${HS_SECONDS:=1}"
    : "${LAT_TARGET_REPEAT:=1}" "${HS_REPEAT:=1}"
    : "${IDLE_CONNS:=2000}" "${BIG_GIB:=4}" "${SIZES:=4k 1g}" "${SIZES_PAR:=1m}" "${TLS_SIZES:=64m}" "${TLS_SIZES_PAR:=1m}" "${WARMUP:=0}"
else
    QUICK=""
fi
REPEAT=${REPEAT:-9}
SMALL_REPEAT=${SMALL_REPEAT:-3}
PAR_REPEAT=${PAR_REPEAT:-3}
PAR_BIG_REPEAT=${PAR_BIG_REPEAT:-1}
PAR_STREAMS=16
SIZES=${SIZES:-4k 1m 64m 1g}
SIZES_PAR=${SIZES_PAR:-4k 1m 64m 1g}
TLS_SIZES=${TLS_SIZES:-4k 1m 64m 1g}
TLS_SIZES_PAR=${TLS_SIZES_PAR-4k 1m 64m}
LAT_CONNS=${LAT_CONNS:-1 64 1024}
LAT_SECONDS=${LAT_SECONDS:-3}
LAT_REPEAT=${LAT_REPEAT:-1}
LAT_TARGET_CONNS=${LAT_TARGET_CONNS:-64}
LAT_TARGET_REPEAT=${LAT_TARGET_REPEAT:-5}
HS_SECONDS=${HS_SECONDS:-5}
HS_CLIENTS=${HS_CLIENTS:-2}
HS_REPEAT=${HS_REPEAT:-5}
IDLE_CONNS=${IDLE_CONNS:-10000}
BIG_GIB=${BIG_GIB:-100}
BIG_ONLY=${BIG_ONLY:-s3gate}
WARMUP=${WARMUP:-1}
CERT_KEY=${CERT_KEY:-rsa:2048}
PHASES=${PHASES:-sizes tls latency idle big}
PUBLISH=${PUBLISH:-$PUBLISH_DEFAULT}
S3GATE=${S3GATE:-$TOP/bin/s3gate}
S3GATE_ADMIN=${S3GATE_ADMIN:-$TOP/bin/s3gate-admin}
REGION=us-east-1
START_EPOCH=$EPOCHREALTIME

. "$HERE/lib.sh"
. "$HERE/contenders.sh"
. "$HERE/sizes.sh"
. "$HERE/latency.sh"
. "$HERE/rss.sh"
. "$HERE/report.sh"
ONLY=${ONLY:-$PLAIN_ALL}
# every size any phase uses, smallest first (4k: the checks and the latency
# phase fetch it; 1g: the warm-up)
SIZES_ALL=$(for s in $(echo 4k $SIZES $SIZES_PAR $TLS_SIZES $TLS_SIZES_PAR 1g | tr ' ' '\n' | sort -u); do
    echo "$(size_bytes "$s") $s"; done | sort -n | awk '{printf "%s ", $2}')

for tool in nginx haproxy wrk curl gcc awk openssl ss; do
    command -v "$tool" >/dev/null 2>&1 || fail "$tool not found (make deps-bench)"
done
/usr/bin/python3 -c 'import botocore' 2>/dev/null || fail "/usr/bin/python3 has no botocore (make deps-bench: python3-boto3)"
[ "$(id -u)" = 0 ] || log "warning: not root; the nginx configs say 'user root'"
# 10 000 idle connections through a relay: 2 sockets and 4 pipe ends each
ulimit -n 200000 2>/dev/null || ulimit -n "$(ulimit -Hn)"
[ "$(ulimit -n)" -ge $(( IDLE_CONNS * 6 + 1000 )) ] ||
    log "note: ulimit -n is $(ulimit -n): HAProxy and the relays may hold fewer than $IDLE_CONNS idle connections"

log "work dir $WORK, temp dir $TEMP"
BUSY_BEFORE=$(busy_pct)
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
[ "$BUSY_BEFORE" -gt 10 ] &&
    log "warning: the CPUs are already ${BUSY_BEFORE}% busy before the bench starts (load $LOAD_BEFORE): figures will be noisy"

make_files
make_cert
start_origin
start_contenders
check_contenders
LAT_LIST=$(for c in $PLAIN; do [ "$c" = s3gate-pick ] || printf '%s ' "$c"; done)
IDLE_LIST=$(for c in $PLAIN; do has_proc "$c" && printf '%s ' "$c"; done)
BIG_LIST=$(for c in $BIG_ONLY; do in_list "$c" "$PLAIN" && printf '%s ' "$c"; done)

if in_list sizes "$PHASES"; then
    [ "$WARMUP" = 1 ] && warm_up "$PLAIN"
    for c in $PLAIN; do
        has_proc "$c" || continue
        record rss-idle 1 "$c" "$(rss_kib "$c" VmRSS)" "" 0
        rss_reset "$c"; rss_reset "$(put_twin "$c")"
    done
    sizes_phase plain "$PLAIN" "$SIZES" 1
    sizes_phase plain "$PLAIN" "$SIZES_PAR" "$PAR_STREAMS"
    # the peak of either instance (GETs in C, PUTs in its PUT instance)
    for c in $PLAIN; do
        has_proc "$c" || continue
        record rss-peak 1 "$c" "$(printf '%s\n' "$(rss_kib "$c" VmHWM)" "$(rss_kib "$(put_twin "$c")" VmHWM)" | sort -n | tail -1)" "" 0
    done
fi
if in_list tls "$PHASES" && [ -n "$TLS" ]; then
    [ "$WARMUP" = 1 ] && warm_up "$TLS"
    sizes_phase TLS "$TLS" "$TLS_SIZES" 1
    [ -z "$TLS_SIZES_PAR" ] || sizes_phase TLS "$TLS" "$TLS_SIZES_PAR" "$PAR_STREAMS"
    hs_phase "$TLS"
fi
in_list latency "$PHASES" && lat_phase "$LAT_LIST"
# the long GET before the idle connections: their memory, once freed, is not
# always returned to the system, and would hide the stream's in the figures
in_list big "$PHASES" && [ "$BIG_GIB" -gt 0 ] && [ -n "$BIG_LIST" ] && big_phase "$BIG_LIST"
in_list idle "$PHASES" && idle_phase "$IDLE_LIST"

LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)
summarize
charts
write_results
cat "$WORK/results.md"
if [ "$PUBLISH" = 1 ]; then
    mkdir -p "$HERE/results"
    cp "$WORK/results.md" "$HERE/results.md"
    cp "$WORK"/results/*.png "$HERE/results/" 2>/dev/null
    log "published: bench/results.md and bench/results/*.png"
fi
log "done in $(( EPOCHSECONDS - ${START_EPOCH%.*} )) s"
