# bench/rss.sh — memory: 10 000 idle connections, and one very long GET
# (sourced by bench/run.sh). RSS is VmRSS summed over the proxy's processes;
# socket buffers and pipes are kernel memory and do not show in it.

# idle_phase "CONTENDERS": per contender, bench/idle.py opens IDLE_CONNS
# connections (fewer where `ulimit -n` cannot hold them: idle_conns); VmRSS
# before, with them open and idle (no request yet), and after one presigned
# 4 KiB GET answered on each (idle keep-alive connections). Rows idle-rss0/1/2
# (KiB), idle-n (connections opened), idle-kib1/2 (KiB per connection)
per_conn() { # AFTER BEFORE N: KiB per connection, or FAIL
    local v
    v=$(calc '(a[3] ? (a[1] - a[2]) / a[3] : "inf")' %.2f "$1" "$2" "$3")
    [ "$v" = - ] && v=FAIL
    echo "$v"
}
idle_phase() {
    local list=$1 c n line r0 r1 r2 opened ok other
    for c in $list; do
        has_proc "$c" || continue
        n=$(idle_conns "$c")
        log "$n idle connections to $c"
        r0=$(rss_kib "$c" VmRSS)
        coproc IDLE { exec /usr/bin/python3 "$HERE/idle.py" "${PORT[$c]}" "$n" "${GET_PATH[$c]}" 2> "$WORK/idle-$c.log"; }
        STARTED+=("$IDLE_PID")
        read -t 300 -r line <&"${IDLE[0]}"
        opened=${line#open }
        sleep 1   # the proxy accepts what is still in its backlog
        r1=$(rss_kib "$c" VmRSS)
        echo go >&"${IDLE[1]}"
        read -t 300 -r line <&"${IDLE[0]}"
        read -r _ ok other <<< "$line"
        sleep 1
        r2=$(rss_kib "$c" VmRSS)
        echo close >&"${IDLE[1]}"
        wait "$IDLE_PID" 2>/dev/null
        [ "${opened:-0}" = "$n" ] || log "idle $c: ${opened:-0} of $n connections opened (see $WORK/idle-$c.log)"
        [ "${ok:-0}" = "$n" ] || log "idle $c: ${ok:-0} of $n answers were 200 (${other:-?} others)"
        record idle-rss0 1 "$c" "$r0" "" 0
        record idle-rss1 1 "$c" "$r1" "" 0
        record idle-rss2 1 "$c" "$r2" "" 0
        record idle-n 1 "$c" "${opened:-0}" "" 0 - - - "asked $n, 200s ${ok:-0}"
        record idle-kib1 1 "$c" "$(per_conn "$r1" "$r0" "${opened:-0}")" "" 0
        record idle-kib2 1 "$c" "$(per_conn "$r2" "$r0" "${ok:-0}")" "" 0
        sleep 1   # the closed connections leave the proxy before the next one is measured
    done
}

# big_phase "CONTENDERS": one GET of BIG_GIB GiB per contender, from a sparse
# file (a hole: no disk, and in tmpfs no memory either), VmRSS sampled every
# second; rows big (GB/s, CPU), big-rss0 (VmRSS at the start), big-rssmax
# (the largest sample), big-hwm (VmHWM after the start), big-rss1 (at the end)
big_phase() {
    local list=$1 c bytes out code size r0 r1 rmax hwm t0 t1 s0 s1 r
    bytes=$(( BIG_GIB * 1073741824 ))
    [ "$(stat -f -c %T "$TEMP")" = tmpfs ] ||
        log "warning: $TEMP is not tmpfs: reading the sparse file fills the page cache with zeros"
    truncate -s "${BIG_GIB}G" "$TEMP/big.bin" || { log "cannot make the sparse file: no long stream"; return; }
    ln -sf "$TEMP/big.bin" "$WWW/bench/big.bin"
    for c in $list; do
        log "$c: one GET of $BIG_GIB GiB"
        rss_reset "$c"
        r0=$(rss_kib "$c" VmRSS); rmax=$r0
        t0=$(cpu_ticks "$c")
        s0=$EPOCHREALTIME
        curl -s "${CURL_TLS[@]}" -o /dev/null -w '%{http_code} %{size_download}' "${SIGN[@]}" \
            "$(url "$c")/bench/big.bin" > "$WORK/out/big" 2>&1 &
        CLIENTS=("$!")
        while kill -0 "${CLIENTS[0]}" 2>/dev/null; do
            sleep 1
            r=$(rss_kib "$c" VmRSS)
            [ "$r" -gt "$rmax" ] && rmax=$r
        done
        wait "${CLIENTS[0]}"
        s1=$EPOCHREALTIME
        t1=$(cpu_ticks "$c")
        CLIENTS=()
        r1=$(rss_kib "$c" VmRSS); hwm=$(rss_kib "$c" VmHWM)
        read -r code size < "$WORK/out/big"
        if [ "$code" != 200 ] || [ "$size" != "$bytes" ]; then
            log "big $c: HTTP $code, $size of $bytes bytes: not counted"
            record big 1 "$c" FAIL "" 0 - - - "HTTP $code $size bytes"
        else
            record big 1 "$c" "$(awk -v b="$bytes" -v a="$s0" -v z="$s1" 'BEGIN {printf "%.4f", b / (z - a) / 1e9}')" \
                $(( t1 - t0 )) "$bytes"
        fi
        record big-rss0 1 "$c" "$r0" "" 0
        record big-rssmax 1 "$c" "$rmax" "" 0
        record big-hwm 1 "$c" "$hwm" "" 0
        record big-rss1 1 "$c" "$r1" "" 0
    done
    rm -f "$TEMP/big.bin" "$WWW/bench/big.bin"
}
