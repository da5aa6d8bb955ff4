# bench/lib.sh — shared helpers of bench/run.sh (sourced, not run): the work
# folders and their cleanup, ports, config templates, the per-process CPU
# and memory readings from /proc, the raw-figure file and its summary.
#
# Reads: HERE, KEEP, TMPDIR, BENCH_TMP. Sets: WORK, WWW, TEMP, RAW, HZ and
# the arrays PID (process -> pid), PROC (contender -> process), PORT,
# SCHEME, STATUS (contender -> "ok" or why it is left out).

log() { printf '[bench %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
fail() { log "error: $*"; exit 1; }

# ---------------------------------------------------------------- work dirs
# WORK: configs, logs, results (kept). WWW: the files the origin serves, on
# WORK's file system (a disk's page cache serves sendfile faster than tmpfs
# here: larger folios), removed on exit. TEMP: nginx's temp files and the
# sparse file of the long stream, in tmpfs when possible (nothing waits for a
# disk; a hole in tmpfs is read as the shared zero page, so 100 GiB of it
# costs no memory), removed on exit.
WORK=$(mktemp -d "${TMPDIR:-/tmp}/s3gate-bench.XXXXXX") || fail "mktemp"
WWW=$WORK/www
shm=${BENCH_TMP:-/dev/shm}
if [ -d "$shm" ] && [ -w "$shm" ]; then
    TEMP=$(mktemp -d "$shm/s3gate-bench-tmp.XXXXXX") || fail "mktemp in $shm"
else
    TEMP=$WORK/tmp
fi
mkdir -p "$WWW/bench" "$TEMP" "$WORK/policy" "$WORK/curl" "$WORK/out"
RAW=$WORK/raw.tsv
printf 'test\trep\tcontender\tvalue\tcpu_ticks\tunits\tp50_us\tp99_us\tp999_us\tnote\n' > "$RAW"
HZ=$(getconf CLK_TCK)

declare -A PID PROC PORT SCHEME STATUS
STARTED=()   # pids of the servers (and idle.py) we started, stopped by cleanup
CLIENTS=()   # the clients of the measurement in progress, stopped by cleanup too

# stop_pids PID...: TERM, up to 3 s of grace, then KILL
stop_pids() {
    local p alive
    for p; do kill -TERM "$p" 2>/dev/null; done
    for _ in $(seq 30); do
        alive=0
        for p; do kill -0 "$p" 2>/dev/null && alive=1; done
        [ $alive = 0 ] && break
        sleep 0.1
    done
    for p; do kill -KILL "$p" 2>/dev/null; done
}

cleanup() {
    trap - EXIT INT TERM
    stop_pids "${CLIENTS[@]}" "${STARTED[@]}"
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

# start NAME CMD...: runs CMD in the background as process NAME
start() {
    local name=$1; shift
    "$@" &
    PID[$name]=$!
    STARTED+=("$!")
}

# ------------------------------------------------------------------ ports
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

# fill TEMPLATE OUT [NAME=VALUE...]: replaces @WORK@, @WWW@, @TEMP@,
# @ORIGIN_PORT@ (UPSTREAM_PORT when set: a PUT instance's sink, else the
# nginx origin), @CERT@, @KEY@ and each @NAME@ given; fails on a leftover @X@
fill() {
    local in=$1 out=$2 kv
    shift 2
    local args=(-e "s|@WORK@|$WORK|g" -e "s|@WWW@|$WWW|g" -e "s|@TEMP@|$TEMP|g"
                -e "s|@ORIGIN_PORT@|${UPSTREAM_PORT:-${PORT[origin]:-}}|g" -e "s|@CERT@|${CERT:-}|g" -e "s|@KEY@|${KEY:-}|g")
    for kv; do args+=(-e "s|@${kv%%=*}@|${kv#*=}|g"); done
    sed "${args[@]}" "$in" > "$out"
    ! grep -q '@[A-Z_]*@' "$out" || fail "$out: unfilled $(grep -o '@[A-Z_]*@' "$out" | head -1)"
}

# rotated "LIST" REP: LIST started at its REP-th member (1-based, modulo),
# so that repetitions of a phase do not always run the contenders in one order
rotated() {
    local -a m
    read -r -a m <<< "$1"
    local k=$(( ($2 - 1) % ${#m[@]} ))
    echo "${m[*]:$k} ${m[*]:0:$k}"
}

# url C: the contender's base URL
url() { echo "${SCHEME[$1]:-http}://127.0.0.1:${PORT[$1]}"; }

# wait_up C: until the contender answers HTTP, or its process dies
wait_up() {
    local c=$1 i
    for i in $(seq 100); do
        curl -sk -o /dev/null --max-time 1 "$(url "$c")/" && return 0
        kill -0 "${PID[${PROC[$c]}]}" 2>/dev/null || return 1
        sleep 0.1
    done
    return 1
}

# ------------------------------------------------------------- /proc readings
# pids C: the contender's process and all its descendants
pids() {
    local root=${PID[${PROC[$1]:-}]:-} all frontier next p
    [ -n "$root" ] || return 0
    all=$root frontier=$root
    while [ -n "$frontier" ]; do
        next=""
        for p in $frontier; do next="$next $(pgrep -P "$p" 2>/dev/null | tr '\n' ' ')"; done
        next=$(echo $next)
        [ -n "$next" ] && all="$all $next"
        frontier=$next
    done
    echo $all
}
has_proc() { [ -n "${PID[${PROC[$1]:-}]:-}" ]; }

# cpu_ticks C: utime+stime (clock ticks) summed over the contender's processes
# (/proc/PID/stat of a process covers all its threads)
cpu_ticks() {
    local p t=0 v
    for p in $(pids "$1"); do
        v=$(awk '{sub(/^.*\) /, ""); print $12 + $13}' "/proc/$p/stat" 2>/dev/null) || continue
        t=$(( t + ${v:-0} ))
    done
    echo $t
}

# rss_reset C / rss_kib C VmHWM|VmRSS: summed over the contender's processes
rss_reset() { local p; for p in $(pids "$1"); do echo 5 > "/proc/$p/clear_refs" 2>/dev/null; done; }
rss_kib() {
    local p t=0 v
    for p in $(pids "$1"); do
        v=$(awk -v k="$2:" '$1 == k {print $2}' "/proc/$p/status" 2>/dev/null)
        t=$(( t + ${v:-0} ))
    done
    echo $t
}

# run_clients C N OUT CMD...: N copies of CMD at once (stdin /dev/null, each
# writing to OUT.1 .. OUT.N); sets SECS, the wall time from the first start
# to the last exit, and TICKS, the contender's CPU ticks meanwhile (empty
# when it has no process: direct)
run_clients() {
    local c=$1 n=$2 out=$3 i t0 s0
    shift 3
    t0=$(cpu_ticks "$c")
    s0=$EPOCHREALTIME
    CLIENTS=()
    for i in $(seq "$n"); do
        "$@" > "$out.$i" 2>&1 < /dev/null &
        CLIENTS+=("$!")
    done
    wait "${CLIENTS[@]}"
    SECS=$(awk -v a="$s0" -v b="$EPOCHREALTIME" 'BEGIN {printf "%.6f", b - a}')
    TICKS=""
    has_proc "$c" && TICKS=$(( $(cpu_ticks "$c") - t0 ))
    CLIENTS=()
}

# busy_pct: how busy the CPUs are over one second (before we start: others' load)
busy_pct() {
    local a b
    a=$(head -1 /proc/stat); sleep 1; b=$(head -1 /proc/stat)
    awk -v a="$a" -v b="$b" 'BEGIN {n = split(a, x); split(b, y); t = 0
        for (i = 2; i <= n; i++) t += y[i] - x[i]
        idle = (y[5] - x[5]) + (y[6] - x[6]); printf "%.0f", t ? 100 * (t - idle) / t : 0}'
}

# ------------------------------------------------------------ raw figures
# record TEST REP C VALUE TICKS UNITS [P50 P99 P999 [NOTE]]: one row of RAW.
# VALUE FAIL marks a run that is not counted; UNITS is what the CPU is
# divided by (bytes moved, requests, handshakes).
record() {
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" "$5" "$6" \
        "${7:--}" "${8:--}" "${9:--}" "${10:-}" >> "$RAW"
}

# summarize: per test and contender over the counted runs: n, median, min,
# max of VALUE; CPU seconds per unit (sum of ticks / sum of units); medians
# of the percentiles. Fills S["TEST|C|FIELD"].
declare -A S
summarize() {
    local k v
    while IFS=$'\t' read -r k v; do S[$k]=$v; done < <(awk -F'\t' -v hz="$HZ" '
        function med(s,   a, n, i, j, x) { n = split(s, a, " ")
            for (i = 2; i <= n; i++) { x = a[i] + 0; for (j = i - 1; j >= 1 && a[j] + 0 > x; j--) a[j + 1] = a[j]; a[j + 1] = x }
            return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2 }
        NR > 1 && $4 != "FAIL" { k = $1 "|" $3; n[k]++; v[k] = v[k] " " $4
            if (!(k in lo) || $4 + 0 < lo[k]) lo[k] = $4 + 0
            if (!(k in hi) || $4 + 0 > hi[k]) hi[k] = $4 + 0
            if ($5 != "") { t[k] += $5; u[k] += $6 }
            if ($7 != "-") { p50[k] = p50[k] " " $7; p99[k] = p99[k] " " $8; p999[k] = p999[k] " " $9 } }
        NR > 1 && $4 == "FAIL" { failed[$1 "|" $3]++ }
        END { for (k in n) {
                printf "%s|n\t%d\n%s|med\t%s\n%s|min\t%s\n%s|max\t%s\n", k, n[k], k, med(v[k]), k, lo[k], k, hi[k]
                if (u[k] > 0) printf "%s|cpu\t%.9g\n", k, t[k] / hz / u[k]
                if (k in p50) printf "%s|p50\t%s\n%s|p99\t%s\n%s|p999\t%s\n", k, med(p50[k]), k, med(p99[k]), k, med(p999[k]) }
              for (k in failed) printf "%s|failed\t%d\n", k, failed[k] }' "$RAW")
}
# get TEST C FIELD: a summary figure, or "nan"
get() { echo "${S[$1|$2|$3]:-nan}"; }
# calc EXPR FORMAT A B...: awk arithmetic on figures; "-" when one is nan
calc() {
    local expr=$1 f=$2; shift 2
    awk -v f="$f" -v args="$*" 'BEGIN { n = split(args, a, " ")
        for (i = 1; i <= n; i++) if (a[i] == "nan" || a[i] == "-" || a[i] == "") { print "-"; exit }
        r = '"$expr"'; if (r == "inf") print "-"; else printf f, r }'
}
