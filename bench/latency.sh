# bench/latency.sh — small-object request rate and latency percentiles with
# wrk, and the TLS full-handshake rate with openssl s_time (sourced by
# bench/run.sh).

# wrk_once C METHOD CONNS SECONDS: one wrk run through bench/wrk.lua; prints
# "rate requests p50 p99 p999 non2xx errors" (errors: connect/read/write/timeout)
wrk_once() {
    local c=$1 method=$2 conns=$3 secs=$4 path out line
    if [ "$method" = head ]; then path=${HEAD_PATH[$c]}; else path=${GET_PATH[$c]}; fi
    out=$(WRK_METHOD=${method^^} timeout $(( secs + 60 )) wrk -t1 -c"$conns" -d"${secs}s" --timeout 10s \
        -s "$HERE/wrk.lua" "$(url "$c")$path" 2>&1)
    line=$(grep '^BENCH ' <<< "$out")
    [ -n "$line" ] || { echo "0 0 - - - 0 wrk:$(tail -1 <<< "$out" | tr ' ' _)"; return; }
    awk '{printf "%.1f %d %d %d %d %d %d/%d/%d/%d\n", $3 ? $2 / ($3 / 1e6) : 0, $2, $4, $5, $6, $7, $8, $9, $10, $11}' <<< "$line"
}

# lat_phase "CONTENDERS": wrk -t1 -cC for C in LAT_CONNS, GET (4 KiB) and
# HEAD (empty object), presigned (full SigV4 and policy check in s3gate);
# a run with a non-2xx answer or no request served is not counted.
# LAT_TARGET_CONNS (the targets' 64) is repeated LAT_TARGET_REPEAT times,
# the others LAT_REPEAT times; every repetition starts with the next
# contender, so that none always runs first (after the previous method's
# last run) or last.
lat_phase() {
    local list=$1 rep conns method c t0 t1 rate n p50 p99 p999 non2xx errs value reps order
    log "warm-up: 1 s of wrk (-c64) per contender"
    for c in $list; do wrk_once "$c" get 64 1 > /dev/null; done
    reps=$(( LAT_TARGET_REPEAT > LAT_REPEAT ? LAT_TARGET_REPEAT : LAT_REPEAT ))
    for rep in $(seq "$reps"); do
        order=$(rotated "$list" "$rep")
        for conns in $LAT_CONNS; do
            if [ "$conns" = "$LAT_TARGET_CONNS" ]; then
                [ "$rep" -le "$LAT_TARGET_REPEAT" ] || continue
            else
                [ "$rep" -le "$LAT_REPEAT" ] || continue
            fi
            for method in get head; do
                log "${method^^} with wrk -t1 -c$conns -d${LAT_SECONDS}s, repetition $rep, order: $order"
                for c in $order; do
                    t0=$(cpu_ticks "$c")
                    read -r rate n p50 p99 p999 non2xx errs <<< "$(wrk_once "$c" "$method" "$conns" "$LAT_SECONDS")"
                    t1=$(cpu_ticks "$c")
                    value=$rate
                    if [ "$n" = 0 ]; then
                        log "lat $method $conns $c: no request served ($errs): not counted"; value=FAIL
                    elif [ "$non2xx" != 0 ]; then
                        log "lat $method $conns $c: $non2xx answers were not 2xx: not counted"; value=FAIL
                    fi
                    [ "$errs" = 0/0/0/0 ] || log "lat $method $conns $c: socket errors connect/read/write/timeout $errs"
                    record "lat-$method-$conns" "$rep" "$c" "$value" "$(has_proc "$c" && echo $(( t1 - t0 )))" "$n" \
                        "$p50" "$p99" "$p999" "non2xx=$non2xx errors=$errs"
                done
            done
        done
    done
}

# hs_phase "CONTENDERS": full TLS handshakes per second: HS_CLIENTS
# parallel `openssl s_time -new` (a new session for every connection, no
# resumption; handshake, then close, no HTTP request) for HS_SECONDS, TLS
# 1.3 with TLS_AES_256_GCM_SHA384; the rate is their connections summed /
# the wall time; CPU: the proxy's per handshake.  Every repetition starts
# with the next contender, as lat_phase's: back-to-back runs of one server
# here rose by up to 30% over their first 15 s (1021, 980, 1151, 1204,
# 1233, 1323/s), so a fixed order favoured whoever ran late.
hs_phase() {
    local list=$1 rep c total order
    for rep in $(seq "$HS_REPEAT"); do
        order=$(rotated "$list" "$rep")
        log "TLS full handshakes, $HS_CLIENTS x openssl s_time -new -time $HS_SECONDS, repetition $rep/$HS_REPEAT, order: $order"
        for c in $order; do
            run_clients "$c" "$HS_CLIENTS" "$WORK/out/stime" openssl s_time -connect "127.0.0.1:${PORT[$c]}" \
                -new -tls1_3 -ciphersuites TLS_AES_256_GCM_SHA384 -time "$HS_SECONDS"
            total=$(cat $(seq -f "$WORK/out/stime.%g" "$HS_CLIENTS") |
                awk '/connections in .* real seconds/ {n += $1} END {print n + 0}')
            if [ "$total" = 0 ]; then
                log "handshakes $c: none ($(tail -1 "$WORK/out/stime.1")): not counted"
                record hs "$rep" "$c" FAIL "" 0
                continue
            fi
            record hs "$rep" "$c" "$(awk -v n="$total" -v s="$SECS" 'BEGIN {printf "%.1f", n / s}')" "$TICKS" "$total"
        done
    done
}
