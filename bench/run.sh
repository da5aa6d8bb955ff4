#!/usr/bin/env bash
# bench/run.sh — s3gate against its baselines, on loopback (bench/README.md).
#
# Contenders, each in its own processes, started and stopped here:
#   direct        curl/wrk straight to the nginx origin (the ceiling)
#   nginx         nginx as a plain reverse proxy (bench/nginx-proxy.conf)
#   haproxy       HAProxy, mode http, option splice-auto (bench/haproxy.conf)
#   relay-splice  bench/relay.c -m splice (the floor: parses nothing)
#   relay-copy    bench/relay.c -m copy
#   s3gate        bin/s3gate with every signature and policy checked
#
# Environment:
#   REPEAT=N        repetitions of the 1 GiB GET and PUT (default 5); also
#                   sets WRK_REPEAT when that is not given
#   WRK_REPEAT=N    repetitions of the 4 KiB wrk run (default 3)
#   WRK_SECONDS=S   length of one wrk run (default 5)
#   WRK_CONNS=C     wrk connections (default 32; one wrk thread)
#   ONLY="a b"      run only these contenders (direct is always run: ratios)
#   S3GATE=path     the s3gate binary (default bin/s3gate); S3GATE_ADMIN too
#   TMPDIR=dir      where the work dir goes (default /tmp); the 1 GiB file
#                   is in it, served from the page cache
#   BENCH_TMP=dir   where nginx's temp files go (default /dev/shm, a tmpfs,
#                   when writable)
#   KEEP=1          keep the 1 GiB file and the temp dir too (the work dir
#                   with the results, logs and raw figures is always kept)
#
# Output: a table on stdout, also written to WORKDIR/results.txt, with the
# raw figures of every run in WORKDIR/raw.tsv.
set -u -o pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
TOP=$(dirname "$HERE")
REPEAT_GIVEN=${REPEAT:-}
REPEAT=${REPEAT:-5}
WRK_REPEAT=${WRK_REPEAT:-${REPEAT_GIVEN:-3}}
WRK_SECONDS=${WRK_SECONDS:-5}
WRK_CONNS=${WRK_CONNS:-32}
S3GATE=${S3GATE:-$TOP/bin/s3gate}
S3GATE_ADMIN=${S3GATE_ADMIN:-$TOP/bin/s3gate-admin}
ALL="direct nginx haproxy relay-splice relay-copy s3gate s3gate-copy"
ONLY=${ONLY:-$ALL}
GIB=1073741824
REGION=us-east-1

log() { printf '[bench %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
fail() { log "error: $*"; exit 1; }

for tool in nginx haproxy wrk curl gcc awk; do
    command -v "$tool" >/dev/null 2>&1 || fail "$tool not found (make deps-bench installs nginx, haproxy, wrk)"
done
[ "$(id -u)" = 0 ] || log "warning: not root; the nginx configs say 'user root'"

# ---------------------------------------------------------------- work dirs
# WORK: configs, logs, results (kept). WWW: the files the origin serves, on
# WORK's file system (a disk's page cache serves sendfile faster than tmpfs
# here: larger folios), removed on exit. TEMP: nginx's temp files, in tmpfs
# when possible so that nothing waits for a disk, removed on exit.
WORK=$(mktemp -d "${TMPDIR:-/tmp}/s3gate-bench.XXXXXX") || fail "mktemp"
WWW=$WORK/www
shm=${BENCH_TMP:-/dev/shm}
if [ -d "$shm" ] && [ -w "$shm" ]; then
    TEMP=$(mktemp -d "$shm/s3gate-bench-tmp.XXXXXX") || fail "mktemp in $shm"
else
    TEMP=$WORK/tmp
fi
mkdir -p "$WWW/bench" "$TEMP" "$WORK/policy"

declare -A PID PORT STATUS
STARTED=()   # pids we started, stopped by cleanup

cleanup() {
    trap - EXIT INT TERM
    local p
    for p in "${STARTED[@]}"; do kill -TERM "$p" 2>/dev/null; done
    for _ in $(seq 30); do
        local alive=0
        for p in "${STARTED[@]}"; do kill -0 "$p" 2>/dev/null && alive=1; done
        [ $alive = 0 ] && break
        sleep 0.1
    done
    for p in "${STARTED[@]}"; do kill -KILL "$p" 2>/dev/null; done
    wait 2>/dev/null
    if [ "${KEEP:-0}" = 1 ]; then
        log "kept $WWW and $TEMP"
    else
        rm -rf "$WWW" "$TEMP"
    fi
    log "results, logs and raw figures in $WORK"
}
trap cleanup EXIT
trap 'log interrupted; exit 130' INT TERM

# ------------------------------------------------------------------ helpers
USED_PORTS=" "
free_port() {
    local p listening
    listening=$(ss -Htln 2>/dev/null | awk '{print $4}' | sed 's/.*://' | tr '\n' ' ')
    while :; do
        p=$(( 20000 + RANDOM % 12000 ))	# below the ephemeral range: no outgoing connection holds it
        case " $listening $USED_PORTS" in *" $p "*) continue ;; esac
        USED_PORTS="$USED_PORTS$p "
        echo "$p"
        return
    done
}

# fill TEMPLATE OUT: replaces @NAME@ with the value of the shell variable T_NAME
fill() {
    sed -e "s|@WORK@|$WORK|g" -e "s|@WWW@|$WWW|g" -e "s|@TEMP@|$TEMP|g" -e "s|@PORT@|${T_PORT:-}|g" \
        -e "s|@ORIGIN_PORT@|${PORT[origin]:-}|g" -e "s|@ADMIN_PORT@|${T_ADMIN_PORT:-}|g" \
        "$1" > "$2"
}

# wait_port NAME: until something answers HTTP on the contender's port
wait_port() {
    local name=$1 i
    for i in $(seq 100); do
        if curl -s -o /dev/null --max-time 1 "http://127.0.0.1:${PORT[$name]}/"; then return 0; fi
        kill -0 "${PID[$name]}" 2>/dev/null || return 1
        sleep 0.1
    done
    return 1
}

# pids NAME: the contender's process and all its descendants
pids() {
    local root=${PID[$1]:-} all p
    [ -n "$root" ] || return 0
    all=$root
    local frontier=$root
    while [ -n "$frontier" ]; do
        local next=""
        for p in $frontier; do next="$next $(pgrep -P "$p" 2>/dev/null | tr '\n' ' ')"; done
        next=$(echo $next)
        [ -n "$next" ] && all="$all $next"
        frontier=$next
    done
    echo $all
}

# cpu_ticks NAME: utime+stime (clock ticks) summed over the contender's processes
# (/proc/PID/stat of a process covers all its threads)
cpu_ticks() {
    local p t=0 v
    for p in $(pids "$1"); do
        v=$(awk '{sub(/^.*\) /, ""); print $12 + $13}' "/proc/$p/stat" 2>/dev/null) || continue
        t=$(( t + ${v:-0} ))
    done
    echo $t
}
HZ=$(getconf CLK_TCK)

# rss_reset NAME / rss_kib NAME [VmHWM|VmRSS]: summed over the processes
rss_reset() { local p; for p in $(pids "$1"); do echo 5 > "/proc/$p/clear_refs" 2>/dev/null; done; }
rss_kib() {
    local p t=0 v
    for p in $(pids "$1"); do
        v=$(awk -v k="$2:" '$1 == k {print $2}' "/proc/$p/status" 2>/dev/null)
        t=$(( t + ${v:-0} ))
    done
    echo $t
}

# busy_pct: how busy the CPUs are over one second (before we start: others' load)
busy_pct() {
    local a b
    a=$(head -1 /proc/stat); sleep 1; b=$(head -1 /proc/stat)
    awk -v a="$a" -v b="$b" 'BEGIN {n = split(a, x); split(b, y); t = 0
        for (i = 2; i <= n; i++) t += y[i] - x[i]
        idle = (y[5] - x[5]) + (y[6] - x[6]); printf "%.0f", t ? 100 * (t - idle) / t : 0}'
}

median() { sort -g | awk '{a[NR]=$1} END {if (!NR) {print "nan"; exit} if (NR%2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }

# ---------------------------------------------------------------- the files
log "work dir $WORK, temp dir $TEMP"
BUSY_BEFORE=$(busy_pct)
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
if [ "$BUSY_BEFORE" -gt 10 ]; then
    log "warning: the CPUs are already ${BUSY_BEFORE}% busy before the bench starts (load $LOAD_BEFORE): figures will be noisy"
fi
log "creating the 1 GiB and 4 KiB files (random bytes)"
head -c $GIB /dev/urandom > "$WWW/bench/1g.bin" || fail "cannot write the 1 GiB file"
head -c 4096 /dev/urandom > "$WWW/bench/4k.bin"
sync "$WWW/bench/1g.bin" "$WWW/bench/4k.bin"   # no writeback during the runs
cat "$WWW/bench/1g.bin" > /dev/null             # in the page cache

# ---------------------------------------------------------------- the origin
PORT[origin]=$(free_port)
T_PORT=${PORT[origin]} fill "$HERE/origin.conf" "$WORK/origin.conf"
nginx -q -e "$WORK/origin.error.log" -p "$WORK" -c "$WORK/origin.conf" &
PID[origin]=$!; STARTED+=("$!")
wait_port origin || fail "origin did not start: $(tail -3 "$WORK/origin.error.log")"
PID[direct]=""; PORT[direct]=${PORT[origin]}; STATUS[direct]=ok
log "origin nginx on ${PORT[origin]}"

want() { case " direct $ONLY " in *" $1 "*) return 0 ;; esac; return 1; }

# ---------------------------------------------------------------- contenders
if want nginx; then
    PORT[nginx]=$(free_port)
    T_PORT=${PORT[nginx]} fill "$HERE/nginx-proxy.conf" "$WORK/nginx-proxy.conf"
    nginx -q -e "$WORK/nginx-proxy.error.log" -p "$WORK" -c "$WORK/nginx-proxy.conf" &
    PID[nginx]=$!; STARTED+=("$!")
    if wait_port nginx; then STATUS[nginx]=ok; else STATUS[nginx]="did not start"; fi
fi

if want haproxy; then
    PORT[haproxy]=$(free_port)
    T_PORT=${PORT[haproxy]} fill "$HERE/haproxy.conf" "$WORK/haproxy.conf"
    haproxy -db -f "$WORK/haproxy.conf" > "$WORK/haproxy.log" 2>&1 &
    PID[haproxy]=$!; STARTED+=("$!")
    if wait_port haproxy; then STATUS[haproxy]=ok; else STATUS[haproxy]="did not start"; fi
fi

if want relay-splice || want relay-copy; then
    gcc -O2 -Wall -o "$WORK/relay" "$HERE/relay.c" 2> "$WORK/relay.build.log" || fail "relay.c: $(cat "$WORK/relay.build.log")"
    for m in splice copy; do
        want relay-$m || continue
        PORT[relay-$m]=$(free_port)
        "$WORK/relay" -l "127.0.0.1:${PORT[relay-$m]}" -t "127.0.0.1:${PORT[origin]}" -m $m \
            > "$WORK/relay-$m.log" 2>&1 &
        PID[relay-$m]=$!; STARTED+=("$!")
        if wait_port relay-$m; then STATUS[relay-$m]=ok; else STATUS[relay-$m]="did not start"; fi
    done
fi

# Client credentials: s3gate's when it runs; otherwise a dummy key, so that
# every contender gets the same signed requests whatever happens.
AKID=AKIDBENCHDUMMY000000
SECRET=benchdummysecretbenchdummysecret0000000
export AWS_CONFIG_FILE=$WORK/aws.config AWS_SHARED_CREDENTIALS_FILE=/dev/null
printf '[default]\nregion = %s\ns3 =\n  signature_version = s3v4\n  addressing_style = path\n' "$REGION" > "$AWS_CONFIG_FILE"

if want s3gate; then
    if [ ! -x "$S3GATE" ] || [ ! -x "$S3GATE_ADMIN" ]; then
        STATUS[s3gate]="not built"
    else
        PORT[s3gate]=$(free_port)
        admin_port=$(free_port)
        cat > "$WORK/policy/bench.yaml" <<EOF
apiVersion: pkg.internal/v1beta1
kind: Storage
metadata:
  name: ws-bench
  namespace: workspace
spec:
  principal: benchuser
  buckets:
    - bucketName: bench
      discoverable: true
  bucketAccessGrants: []
  bucketAccessRequests: []
EOF
        echo "benchbackendsecretnotcheckedbytheorigin" > "$WORK/backend.secret"
        chmod 600 "$WORK/backend.secret"
        T_PORT=${PORT[s3gate]} T_ADMIN_PORT=$admin_port fill "$HERE/s3gate.conf" "$WORK/s3gate.conf"
        if ! "$S3GATE" -t -c "$WORK/s3gate.conf" > "$WORK/s3gate.check.log" 2>&1; then
            STATUS[s3gate]="config rejected (see $WORK/s3gate.check.log)"
        elif ! creds=$("$S3GATE_ADMIN" -c "$WORK/s3gate.conf" cred create benchuser 2> "$WORK/s3gate.admin.log"); then
            STATUS[s3gate]="cred create failed (see $WORK/s3gate.admin.log)"
        else
            read -r AKID SECRET _ <<< "$creds"
            "$S3GATE" -c "$WORK/s3gate.conf" > "$WORK/s3gate.log" 2>&1 &
            PID[s3gate]=$!; STARTED+=("$!")
            if wait_port s3gate; then STATUS[s3gate]=ok; else STATUS[s3gate]="did not start (see $WORK/s3gate.log)"; fi
        fi
    fi
fi
# The same s3gate with `splice off`: bodies through one user-space buffer, to
# measure both relay engines in one run (same policy folder, same credentials).
if want s3gate-copy; then
    if [ "${STATUS[s3gate]:-}" != ok ]; then
        STATUS[s3gate-copy]="needs the s3gate row (${STATUS[s3gate]:-not run})"
    else
        PORT[s3gate-copy]=$(free_port)
        admin_port2=$(free_port)
        T_PORT=${PORT[s3gate-copy]} T_ADMIN_PORT=$admin_port2 fill "$HERE/s3gate.conf" "$WORK/s3gate-copy.conf"
        echo "splice off" >> "$WORK/s3gate-copy.conf"
        "$S3GATE" -c "$WORK/s3gate-copy.conf" > "$WORK/s3gate-copy.log" 2>&1 &
        PID[s3gate-copy]=$!; STARTED+=("$!")
        if wait_port s3gate-copy; then STATUS[s3gate-copy]=ok; else STATUS[s3gate-copy]="did not start"; fi
    fi
fi

SIGN=(--aws-sigv4 "aws:amz:$REGION:s3" --user "$AKID:$SECRET" -H "x-amz-content-sha256: UNSIGNED-PAYLOAD")

# wrk cannot sign: every contender gets the same presigned path and query
# (the others ignore the query).
presign_port=${PORT[s3gate]:-${PORT[origin]}}
url=$(AWS_ACCESS_KEY_ID=$AKID AWS_SECRET_ACCESS_KEY=$SECRET AWS_DEFAULT_REGION=$REGION \
      aws s3 presign s3://bench/4k.bin --endpoint-url "http://127.0.0.1:$presign_port" --expires-in 3600 2> "$WORK/presign.log")
if [ -n "$url" ]; then
    WRK_PATH=/${url#http://*/}
else
    log "aws s3 presign failed ($(head -1 "$WORK/presign.log")): wrk requests carry no query"
    WRK_PATH=/bench/4k.bin
    [ "${STATUS[s3gate]:-}" = ok ] && STATUS[s3gate]="no presigned URL (aws s3 presign failed)"
fi

# s3gate-copy listens on its own port: a presigned URL signs the Host, so it gets its own.
declare -A WRK_PATHS
if [ "${STATUS[s3gate-copy]:-}" = ok ]; then
    url2=$(AWS_ACCESS_KEY_ID=$AKID AWS_SECRET_ACCESS_KEY=$SECRET AWS_DEFAULT_REGION=$REGION \
        aws s3 presign s3://bench/4k.bin --endpoint-url "http://127.0.0.1:${PORT[s3gate-copy]}" --expires-in 3600 2>/dev/null)
    [ -n "$url2" ] && WRK_PATHS[s3gate-copy]=/${url2#http://*/}
fi
wrk_path() { echo "${WRK_PATHS[$1]:-$WRK_PATH}"; }

# Every contender must serve the right bytes before it is measured.
for c in $ALL; do
    want "$c" || continue
    [ "${STATUS[$c]:-}" = ok ] || continue
    base="http://127.0.0.1:${PORT[$c]}"
    got=$(curl -s -o /dev/null -w '%{http_code} %{size_download}' "${SIGN[@]}" "$base/bench/4k.bin")
    pre=$(curl -s -o /dev/null -w '%{http_code} %{size_download}' "$base$(wrk_path "$c")")
    if [ "$got" != "200 4096" ]; then STATUS[$c]="signed GET 4k: $got"
    elif [ "$pre" != "200 4096" ]; then STATUS[$c]="presigned GET 4k: $pre"
    fi
done

CONT=""
for c in $ALL; do
    want "$c" || continue
    log "$(printf '%-13s %s' "$c" "${STATUS[$c]} ${PORT[$c]:+port ${PORT[$c]}}")"
    [ "${STATUS[$c]}" = ok ] && CONT="$CONT $c"
done
[ "${STATUS[direct]}" = ok ] || fail "the origin does not serve the files"

RAW=$WORK/raw.tsv
printf 'test\trep\tcontender\tvalue\tcpu_ticks\textra\n' > "$RAW"

# --------------------------------------------------------- 1 GiB GET and PUT
# one_transfer get|put CONTENDER REP: appends GB/s and the proxy's CPU ticks
one_transfer() {
    local kind=$1 c=$2 rep=$3 base="http://127.0.0.1:${PORT[$2]}" out t0 t1 code size secs
    t0=$(cpu_ticks "$c")
    if [ "$kind" = get ]; then
        out=$(curl -s -o /dev/null -w '%{http_code} %{size_download} %{time_total}' "${SIGN[@]}" "$base/bench/1g.bin")
    else
        out=$(curl -s -o /dev/null -w '%{http_code} %{size_upload} %{time_total}' "${SIGN[@]}" \
              -T "$WWW/bench/1g.bin" "$base/bench/put.bin")
    fi
    t1=$(cpu_ticks "$c")
    read -r code size secs <<< "$out"
    case "$kind:$code" in
        get:200|put:200|put:201|put:204) ;;
        *) log "$kind $c rep $rep: HTTP ${code:-none} ($out)"; printf '%s\t%s\t%s\tFAIL\t\t%s\n' "$kind" "$rep" "$c" "$out" >> "$RAW"; return ;;
    esac
    if [ "$size" != $GIB ]; then
        log "$kind $c rep $rep: moved $size bytes, not $GIB"
        printf '%s\t%s\t%s\tFAIL\t\t%s\n' "$kind" "$rep" "$c" "$out" >> "$RAW"; return
    fi
    printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$kind" "$rep" "$c" \
        "$(awk -v s="$secs" -v b=$GIB 'BEGIN {printf "%.4f", b / s / 1e9}')" "$(( t1 - t0 ))" "$secs" >> "$RAW"
}

log "warm-up: one 1 GiB GET per contender"
for c in $CONT; do
    curl -s -o /dev/null "${SIGN[@]}" "http://127.0.0.1:${PORT[$c]}/bench/1g.bin"
done

declare -A RSS_IDLE RSS_PEAK
for c in $CONT; do
    [ -n "${PID[$c]}" ] || continue
    RSS_IDLE[$c]=$(rss_kib "$c" VmRSS)
    rss_reset "$c"
done

for kind in get put; do
    for rep in $(seq "$REPEAT"); do
        log "1 GiB ${kind^^}, repetition $rep/$REPEAT"
        for c in $CONT; do one_transfer "$kind" "$c" "$rep"; done
    done
done

for c in $CONT; do
    [ -n "${PID[$c]}" ] || continue
    RSS_PEAK[$c]=$(rss_kib "$c" VmHWM)
done

# ------------------------------------------------------------- 4 KiB wrk
wrk_once() { # CONTENDER SECONDS → "req/s non2xx errors"
    local out rate non2xx errs
    out=$(wrk -t1 -c"$WRK_CONNS" -d"$2"s "http://127.0.0.1:${PORT[$1]}$(wrk_path "$1")" 2>&1)
    rate=$(awk '/^Requests\/sec:/ {print $2}' <<< "$out")
    non2xx=$(awk '/Non-2xx or 3xx responses:/ {print $NF}' <<< "$out")
    errs=$(awk '/Socket errors:/ {sub(/.*Socket errors: /, ""); gsub(/ /, ""); print}' <<< "$out")
    echo "${rate:-0} ${non2xx:-0} ${errs:-none}"
}

log "warm-up: 1 s of wrk per contender"
for c in $CONT; do wrk_once "$c" 1 > /dev/null; done
for rep in $(seq "$WRK_REPEAT"); do
    log "4 KiB GET with wrk -t1 -c$WRK_CONNS -d${WRK_SECONDS}s, repetition $rep/$WRK_REPEAT"
    for c in $CONT; do
        t0=$(cpu_ticks "$c")
        read -r rate non2xx errs <<< "$(wrk_once "$c" "$WRK_SECONDS")"
        t1=$(cpu_ticks "$c")
        if [ "$rate" = 0 ] || [ "$rate" = 0.00 ]; then
            log "wrk $c rep $rep: no request served (socket errors $errs): not counted"
            rate=FAIL
        elif [ "$non2xx" != 0 ]; then
            log "wrk $c rep $rep: $non2xx responses were not 2xx: not counted"
            rate=FAIL
        fi
        [ "$errs" = none ] || log "wrk $c rep $rep: socket errors $errs"
        printf 'wrk\t%s\t%s\t%s\t%s\t%s\n' "$rep" "$c" "$rate" "$(( t1 - t0 ))" "non2xx=$non2xx errors=$errs" >> "$RAW"
    done
done

# ------------------------------------------------------------------ table
# med TEST CONTENDER → median value (FAILs left out); cpu per unit computed over all runs
med() { awk -F'\t' -v t="$1" -v c="$2" '$1 == t && $3 == c && $4 != "FAIL" {print $4}' "$RAW" | median; }
nok() { awk -F'\t' -v t="$1" -v c="$2" '$1 == t && $3 == c && $4 != "FAIL" {n++} END {print n + 0}' "$RAW"; }
cpu_per_gib() { # total proxy CPU seconds / GiB moved over the successful runs
    awk -F'\t' -v t="$1" -v c="$2" -v hz="$HZ" '$1 == t && $3 == c && $4 != "FAIL" {s += $5; n++}
        END {if (n) printf "%.3f", s / hz / n; else print "-"}' "$RAW"; }
cpu_us_per_req() {
    awk -F'\t' -v c="$1" -v hz="$HZ" -v d="$WRK_SECONDS" '$1 == "wrk" && $3 == c && $4 != "FAIL" {s += $5; r += $4 * d}
        END {if (r) printf "%.1f", s / hz / r * 1e6; else print "-"}' "$RAW"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {if (a == "nan" || b == "nan" || b == 0) print "-"; else printf "%.2f", a / b}'; }
fmt() { awk -v a="$1" -v f="$2" 'BEGIN {if (a == "nan") print "-"; else printf f, a}'; }

D_GET=$(med get direct); D_PUT=$(med put direct); D_WRK=$(med wrk direct)
RES=$WORK/results.txt
{
    echo "s3gate bench, $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) CPUs, $(uname -r), nothing pinned"
    echo "medians of $REPEAT alternating 1 GiB transfers (curl) and $WRK_REPEAT wrk runs (-t1 -c$WRK_CONNS -d${WRK_SECONDS}s, 4 KiB GET);"
    echo "ratios: median / direct's median from this run; CPU: the proxy's own processes (utime+stime), all runs;"
    echo "RSS: sum over the proxy's processes, before the 1 GiB runs / peak (VmHWM) during them"
    echo "other load: CPUs ${BUSY_BEFORE}% busy in the second before the run (load average $LOAD_BEFORE); >10% means noisy figures"
    echo
    printf '%-13s %8s %6s %8s %6s %9s %9s %9s %6s %9s %15s\n' \
        contender "GET GB/s" ratio "PUT GB/s" ratio "CPU GET" "CPU PUT" "4K req/s" ratio "CPU 4K" "RSS MiB"
    printf '%-13s %8s %6s %8s %6s %9s %9s %9s %6s %9s %15s\n' \
        "" "" "" "" "" "s/GiB" "s/GiB" "" "" "us/req" "idle/peak"
    for c in $ALL; do
        want "$c" || continue
        if [ "${STATUS[$c]}" != ok ]; then
            printf '%-13s %s\n' "$c" "${STATUS[$c]}"
            continue
        fi
        g=$(med get "$c"); p=$(med put "$c"); w=$(med wrk "$c")
        if [ -n "${PID[$c]}" ]; then
            cg=$(cpu_per_gib get "$c"); cp=$(cpu_per_gib put "$c"); cw=$(cpu_us_per_req "$c")
            rss=$(awk -v a="${RSS_IDLE[$c]:-0}" -v b="${RSS_PEAK[$c]:-0}" 'BEGIN {printf "%.1f/%.1f", a/1024, b/1024}')
        else
            cg="-"; cp="-"; cw="-"; rss="-"
        fi
        printf '%-13s %8s %6s %8s %6s %9s %9s %9s %6s %9s %15s\n' "$c" \
            "$(fmt "$g" %.2f)" "$(ratio "$g" "$D_GET")" "$(fmt "$p" %.2f)" "$(ratio "$p" "$D_PUT")" \
            "$cg" "$cp" "$(fmt "$w" %.0f)" "$(ratio "$w" "$D_WRK")" "$cw" "$rss"
        for t in get put wrk; do
            want=$([ $t = wrk ] && echo "$WRK_REPEAT" || echo "$REPEAT")
            n=$(nok $t "$c")
            [ "$n" = "$want" ] || echo "    ($c: only $n of $want $t runs succeeded; see $RAW)"
        done
    done
    echo
    echo "spread (min..max) of the runs:"
    for c in $CONT; do
        printf '  %-13s' "$c"
        for t in get put wrk; do
            awk -F'\t' -v t="$t" -v c="$c" '$1 == t && $3 == c && $4 != "FAIL" {v = $4 + 0; if (n == 0 || v < lo) lo = v; if (n == 0 || v > hi) hi = v; n++}
                END {if (n) printf "  %s %g..%g", t, lo, hi}' "$RAW"
        done
        echo
    done
} | tee "$RES"
