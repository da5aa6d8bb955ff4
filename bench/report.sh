# bench/report.sh — WORK/results.md (tables, targets, commands) and the
# gnuplot charts, from WORK/raw.tsv (sourced by bench/run.sh after
# summarize). Every figure is a median over the counted runs of this run;
# every ratio is between two medians of this run.

mdrow() { printf '| %s ' "$@"; echo '|'; }
mdsep() { local i; printf '|'; for i in $(seq "$1"); do printf -- '---|'; done; echo; }

# fig TEST C FIELD FORMAT: a formatted figure or "-"
fig() { calc 'a[1]' "$4" "$(get "$1" "$2" "$3")"; }
ratio() { calc '(a[2] ? a[1] / a[2] : "inf")' %.2f "$1" "$2"; }
# best TEST FIELD C... / lowest TEST FIELD C...: the largest / smallest
# figure among the contenders that have one
best() { extreme '>' "$@"; }
lowest() { extreme '<' "$@"; }
extreme() {
    local op=$1 t=$2 f=$3 c v out=nan; shift 3
    for c; do v=$(get "$t" "$c" "$f"); [ "$v" = nan ] && continue
        if [ "$out" = nan ] || awk -v a="$v" -v b="$out" "BEGIN {exit !(a $op b)}"; then out=$v; fi; done
    echo "$out"
}
# pooled TEST C...: the median VALUE of the counted runs of all of C... (of
# contenders whose setups are the same for TEST), or nan
pooled() {
    local t=$1; shift
    awk -F'\t' -v t="$t" -v cs=" $* " 'NR > 1 && $1 == t && $4 != "FAIL" && index(cs, " " $3 " ") { v[++n] = $4 + 0 }
        END { if (!n) { print "nan"; exit }
              for (i = 2; i <= n; i++) { x = v[i]; for (j = i - 1; j >= 1 && v[j] > x; j--) v[j + 1] = v[j]; v[j + 1] = x }
              print n % 2 ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2 }' "$RAW"
}
cpu_gib() { calc 'a[1] * 1073741824' %.3f "$(get "$1" "$2" cpu)"; }
cpu_us() { calc 'a[1] * 1e6' %.1f "$(get "$1" "$2" cpu)"; }
ms() { calc 'a[1] / 1000' %.2f "$1"; }
mib() { calc 'a[1] / 1024' %.1f "$1"; }
# verdict VALUE OP LIMIT: "VALUE ✓" or "VALUE ✗"
verdict() {
    [ "$1" = - ] && { echo "-"; return; }
    if awk -v a="$1" -v b="$3" "BEGIN {exit !(a $2 b)}"; then echo "$1 ✓"; else echo "$1 ✗"; fi
}
in_list() { case " $2 " in *" $1 "*) return 0 ;; esac; return 1; }

version_lines() {
    echo "- machine: $(nproc) CPUs ($(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)), $(awk '/MemTotal/ {printf "%.0f GiB", $2 / 1048576}' /proc/meminfo), kernel $(uname -r), $(. /etc/os-release && echo "$PRETTY_NAME")"
    echo "- nginx $(nginx -v 2>&1 | sed 's|.*/||'), HAProxy $(haproxy -v 2>/dev/null | awk 'NR == 1 {print $3}'), $(wrk -v 2>&1 | awk 'NR == 1 {print $1, $2}'), curl $(curl --version | awk 'NR == 1 {print $2}'), $(openssl version | awk '{print $1, $2}'), $(/usr/bin/python3 -c 'import botocore; print("botocore", botocore.__version__)' 2>/dev/null), $(gnuplot --version 2>/dev/null)"
    echo "- s3gate: $S3GATE, git $(git -C "$TOP" rev-parse --short HEAD 2>/dev/null)$(git -C "$TOP" diff --quiet HEAD -- proxy policy 2>/dev/null || echo ' with uncommitted changes in proxy/ or policy/')"
}

# ----------------------------------------------------------------- tables
table_contenders() {
    local c
    mdrow contender port "what it is"; mdsep 3
    for c in $PLAIN_ALL $TLS_ALL; do
        want "$c" || continue
        if [ "${STATUS[$c]:-}" = ok ]; then
            mdrow "$c" "${PORT[$c]}" "${DESC[$c]}${TLSINFO[$c]:+ (${TLSINFO[$c]})}"
        else
            mdrow "$c" "-" "${DESC[$c]} — **left out: ${STATUS[$c]:-not started}**"
        fi
    done
}

table_headline() {
    local c dg dp
    dg=$(get http-get-1g-1 direct med); dp=$(get http-put-1g-1 direct med)
    mdrow contender "GET GB/s" "GET ratio" "PUT GB/s" "PUT ratio" "CPU s/GiB GET" "CPU s/GiB PUT" "RSS MiB idle/peak"
    mdsep 8
    for c in $PLAIN; do
        mdrow "$c" "$(fig http-get-1g-1 "$c" med %.2f)" "$(ratio "$(get http-get-1g-1 "$c" med)" "$dg")" \
            "$(fig http-put-1g-1 "$c" med %.2f)" "$(ratio "$(get http-put-1g-1 "$c" med)" "$dp")" \
            "$(cpu_gib http-get-1g-1 "$c")" "$(cpu_gib http-put-1g-1 "$c")" \
            "$(has_proc "$c" && echo "$(mib "$(get rss-idle "$c" med)")/$(mib "$(get rss-peak "$c" med)")" || echo -)"
    done
}

# table_sizes SCHEME STREAMS med|cpu "CONTENDERS" "SIZES"
table_sizes() {
    local scheme=$1 streams=$2 what=$3 list=$4 sizes=$5 c k s cells
    cells=(contender)
    for k in get put; do for s in $sizes; do cells+=("${k^^} $s"); done; done
    mdrow "${cells[@]}"; mdsep ${#cells[@]}
    for c in $list; do
        cells=("$c")
        for k in get put; do for s in $sizes; do
            if [ "$what" = med ]; then cells+=("$(fig "$scheme-$k-$s-$streams" "$c" med %.3f)")
            else cells+=("$(cpu_gib "$scheme-$k-$s-$streams" "$c")"); fi
        done; done
        mdrow "${cells[@]}"
    done
}

table_tls() {
    local c k s cells
    cells=(contender)
    for k in GET PUT; do for s in $TLS_SIZES; do cells+=("$k $s GB/s"); done; done
    cells+=("CPU s/GiB GET 1g" "CPU s/GiB PUT 1g" "handshakes/s" "CPU µs/handshake")
    mdrow "${cells[@]}"; mdsep ${#cells[@]}
    for c in $TLS; do
        cells=("$c")
        for k in get put; do for s in $TLS_SIZES; do cells+=("$(fig "https-$k-$s-1" "$c" med %.3f)"); done; done
        mdrow "${cells[@]}" "$(cpu_gib https-get-1g-1 "$c")" "$(cpu_gib https-put-1g-1 "$c")" \
            "$(fig hs "$c" med %.0f)" "$(cpu_us hs "$c")"
    done
}

# table_latency METHOD CONNS
table_latency() {
    local t=lat-$1-$2 c d50 d99
    d50=$(get "$t" direct p50); d99=$(get "$t" direct p99)
    mdrow contender "req/s" "ratio" "p50 ms" "p99 ms" "p99.9 ms" "+p50 ms" "+p99 ms" "CPU µs/req"
    mdsep 9
    for c in $LAT_LIST; do
        mdrow "$c" "$(fig "$t" "$c" med %.0f)" "$(ratio "$(get "$t" "$c" med)" "$(get "$t" direct med)")" \
            "$(ms "$(get "$t" "$c" p50)")" "$(ms "$(get "$t" "$c" p99)")" "$(ms "$(get "$t" "$c" p999)")" \
            "$(calc '(a[1] - a[2]) / 1000' %.2f "$(get "$t" "$c" p50)" "$d50")" \
            "$(calc '(a[1] - a[2]) / 1000' %.2f "$(get "$t" "$c" p99)" "$d99")" "$(cpu_us "$t" "$c")"
    done
}

table_idle() {
    local c
    mdrow contender "connections" "RSS MiB before" "RSS MiB, idle" "KiB/conn (no request yet)" "RSS MiB after 1 GET each" "KiB/conn (keep-alive)"
    mdsep 7
    for c in $IDLE_LIST; do
        mdrow "$c" "$(fig idle-n "$c" med %d)" "$(mib "$(get idle-rss0 "$c" med)")" "$(mib "$(get idle-rss1 "$c" med)")" \
            "$(fig idle-kib1 "$c" med %.1f)" "$(mib "$(get idle-rss2 "$c" med)")" "$(fig idle-kib2 "$c" med %.1f)"
    done
}

table_big() {
    local c
    mdrow contender "GB/s" "CPU s/GiB" "RSS MiB start" "largest sample" "VmHWM" "end" "growth MiB (VmHWM - start)"
    mdsep 8
    for c in $BIG_LIST; do
        mdrow "$c" "$(fig big "$c" med %.2f)" "$(cpu_gib big "$c")" "$(mib "$(get big-rss0 "$c" med)")" \
            "$(mib "$(get big-rssmax "$c" med)")" "$(mib "$(get big-hwm "$c" med)")" "$(mib "$(get big-rss1 "$c" med)")" \
            "$(calc '(a[1] - a[2]) / 1024' %.1f "$(get big-hwm "$c" med)" "$(get big-rss0 "$c" med)")"
    done
}

# ---------------------------------------------------------------- targets
targets() {
    local v cols=() c k bn br cr
    for c in s3gate s3gate-pick s3gate-1w s3gate-4w; do in_list "$c" "$PLAIN" && cols+=("$c"); done
    [ ${#cols[@]} -gt 0 ] || { echo "(no s3gate row: no targets to check)"; return; }
    mdrow "target (issue 11)" "needed" "${cols[@]}"; mdsep $(( 2 + ${#cols[@]} ))
    for k in get put; do
        bn=$(best "http-$k-1g-1" med nginx nginx-unbuf haproxy)
        br=$(best "http-$k-1g-1" med relay-splice relay-copy)
        cr=$(lowest "http-$k-1g-1" cpu relay-splice relay-copy)
        v=(); for c in "${cols[@]}"; do v+=("$(verdict "$(ratio "$(get "http-$k-1g-1" "$c" med)" "$bn")" '>=' 1.2)"); done
        mdrow "1 GiB ${k^^} plain / best of nginx, nginx-unbuf, HAProxy" "≥ 1.20" "${v[@]}"
        v=(); for c in "${cols[@]}"; do v+=("$(verdict "$(ratio "$(get "http-$k-1g-1" "$c" med)" "$br")" '>=' 0.95)"); done
        mdrow "1 GiB ${k^^} plain / the faster bare relay" "≥ 0.95" "${v[@]}"
        v=(); for c in "${cols[@]}"; do v+=("$(verdict "$(ratio "$(get "http-$k-1g-1" "$c" cpu)" "$cr")" '<=' 1.10)"); done
        mdrow "CPU s/GiB, 1 GiB ${k^^} / the bare relay's (the lower)" "≤ 1.10" "${v[@]}"
        v=(); for c in "${cols[@]}"; do
            v+=("$(verdict "$(ratio "$(get "http-$k-1g-1" "$c" cpu)" "$(get "http-$k-1g-1" "$(engine_relay "$c" "$k")" cpu)")" '<=' 1.10)"); done
        mdrow "CPU s/GiB, 1 GiB ${k^^} / the relay of its engine" "≤ 1.10" "${v[@]}"
    done
    for k in get head; do
        bn=$(best "lat-$k-64" med nginx nginx-unbuf)
        v=(); for c in "${cols[@]}"; do v+=("$(verdict "$(ratio "$(get "lat-$k-64" "$c" med)" "$bn")" '>=' 1.0)"); done
        mdrow "small-object ${k^^} rate at 64 conns / best nginx" "≥ 1.00" "${v[@]}"
        v=(); for c in "${cols[@]}"; do
            v+=("$(verdict "$(calc '(a[1] - a[2]) / 1000' %.2f "$(get "lat-$k-64" "$c" p99)" "$(get "lat-$k-64" direct p99)")" '<' 1)"); done
        mdrow "p99 added latency (vs direct), ${k^^} at 64 conns, ms" "< 1" "${v[@]}"
    done
    for k in get put; do
        bn=$(best "https-$k-1g-1" med nginx-tls nginx-unbuf-tls)
        v=(); for c in "${cols[@]}"; do v+=("$(verdict "$(ratio "$(get "https-$k-1g-1" "$c-tls" med)" "$bn")" '>=' 1.0)"); done
        mdrow "TLS 1 GiB ${k^^} / best nginx TLS" "≥ 1.00" "${v[@]}"
    done
    bn=$(best hs med nginx-tls nginx-unbuf-tls)
    v=(); for c in "${cols[@]}"; do v+=("$(verdict "$(ratio "$(get hs "$c-tls" med)" "$bn")" '>=' 1.0)"); done
    mdrow "full TLS handshakes/s / best nginx" "≥ 1.00" "${v[@]}"
    bn=$(pooled hs nginx-tls nginx-unbuf-tls)
    v=(); for c in "${cols[@]}"; do v+=("$(verdict "$(ratio "$(get hs "$c-tls" med)" "$bn")" '>=' 1.0)"); done
    mdrow "full TLS handshakes/s / nginx (its two instances' runs pooled)" "≥ 1.00" "${v[@]}"
    v=(); for c in "${cols[@]}"; do v+=("$(verdict "$(fig idle-kib1 "$c" med %.1f)" '<=' 64)"); done
    mdrow "KiB per idle connection (no request yet)" "≤ 64" "${v[@]}"
    v=(); for c in "${cols[@]}"; do v+=("$(verdict "$(fig idle-kib2 "$c" med %.1f)" '<=' 64)"); done
    mdrow "KiB per idle keep-alive connection (after one GET)" "≤ 64" "${v[@]}"
    v=(); for c in "${cols[@]}"; do
        v+=("$(verdict "$(calc '(a[1] - a[2]) / 1024' %.1f "$(get big-hwm "$c" med)" "$(get big-rss0 "$c" med)")" '<' 16)"); done
    mdrow "RSS growth over a $BIG_GIB GiB GET, MiB" "< 16" "${v[@]}"
}

# engine_relay C K: the bare relay that moves C's bodies of direction K
# (get, put) the way C does: relay-copy for s3gate-pick's downloads (splice
# upload), relay-copy for the copy relay itself, relay-splice otherwise.
engine_relay() {
    case $1:$2 in
        s3gate-pick:get | relay-copy:*) echo relay-copy ;;
        *) echo relay-splice ;;
    esac
}

# table_modes: each s3gate configuration against the bare relay that moves
# bytes the same way in each direction (splice against splice, copy against
# copy), and the two relays against each other. The targets above compare
# with the faster relay's throughput and the cheaper relay's CPU; on
# loopback those are different relays, and the last row shows how far
# apart the floor's own two modes are.
table_modes() {
    local k c r label cells
    mdrow "1 GiB plain, one stream" "GET GB/s ratio" "GET CPU ratio" "PUT GB/s ratio" "PUT CPU ratio"; mdsep 5
    for c in s3gate s3gate-1w s3gate-4w s3gate-pick relay-splice; do
        in_list "$c" "$PLAIN" || continue
        label="$c / $(engine_relay "$c" get)"
        [ "$(engine_relay "$c" get)" = "$(engine_relay "$c" put)" ] || label="$label (GET), $(engine_relay "$c" put) (PUT)"
        [ "$c" = relay-splice ] && label="relay-splice / relay-copy"
        cells=("$label")
        for k in get put; do
            r=$(engine_relay "$c" "$k"); [ "$c" = relay-splice ] && r=relay-copy
            in_list "$r" "$PLAIN" || { cells+=(- -); continue; }
            cells+=("$(ratio "$(get "http-$k-1g-1" "$c" med)" "$(get "http-$k-1g-1" "$r" med)")"
                "$(ratio "$(get "http-$k-1g-1" "$c" cpu)" "$(get "http-$k-1g-1" "$r" cpu)")")
        done
        mdrow "${cells[@]}"
    done
}

# ----------------------------------------------------------------- charts
# chart_data: gnuplot's data files, in WORK/results with the charts
chart_data() {
    local d=$WORK/results scheme k s c streams m conns
    mkdir -p "$d"
    for streams in 1 $PAR_STREAMS; do
        for k in get put; do
            { printf 'size'; for c in $PLAIN; do printf '\t%s' "$c"; done; echo
              for s in $([ "$streams" = 1 ] && echo "$SIZES" || echo "$SIZES_PAR"); do
                  printf '%s' "$s"
                  for c in $PLAIN; do printf '\t%s' "$(fig "http-$k-$s-$streams" "$c" med %.4f)"; done; echo
              done; } > "$d/size-$k-$streams.dat"
        done
    done
    for m in get head; do
        for conns in $LAT_CONNS; do
            { printf 'contender\tp50\tp99\tp99.9\n'
              for c in $LAT_LIST; do
                  printf '%s\t%s\t%s\t%s\n' "$c" "$(ms "$(get "lat-$m-$conns" "$c" p50)")" \
                      "$(ms "$(get "lat-$m-$conns" "$c" p99)")" "$(ms "$(get "lat-$m-$conns" "$c" p999)")"
              done; } > "$d/lat-$m-$conns.dat"
        done
    done
    { printf 'contender'; for k in GET PUT; do for s in $TLS_SIZES; do printf '\t%s %s' "$k" "$s"; done; done
      printf '\thandshakes/s\n'
      for c in $TLS; do
          printf '%s' "$c"
          for k in get put; do for s in $TLS_SIZES; do printf '\t%s' "$(fig "https-$k-$s-1" "$c" med %.4f)"; done; done
          printf '\t%s\n' "$(fig hs "$c" med %.0f)"
      done; } > "$d/tls.dat"
}

charts() {
    local d=$WORK/results n
    command -v gnuplot > /dev/null || { log "gnuplot not found (make deps-bench): no charts"; return; }
    chart_data
    n=$(echo $PLAIN | wc -w)
    gnuplot > "$d/gnuplot.log" 2>&1 <<EOF
set terminal pngcairo size 1400,1000 font ",10"
set datafile separator "\t"
set datafile missing "-"
set key top left font ",9"
set grid ytics
# gnuplot's default cycle has 8 colours: with 9 contenders the 9th took the 1st's
$(i=0; for col in '#000000' '#1f77b4' '#ff7f0e' '#2ca02c' '#d62728' '#9467bd' '#8c564b' '#e377c2' '#17becf' '#bcbd22' '#7f7f7f' '#aec7e8'; do
    i=$((i + 1)); printf 'set linetype %d lc rgb "%s" lw 1 pt %d\n' "$i" "$col" "$i"; done)
set linetype cycle 12
set ylabel "GB/s (10^9 bytes/s)"
set xlabel "object size"
set output "$d/throughput.png"
set multiplot layout 2,2 title "Throughput by object size, plain HTTP, medians ($(date -u '+%Y-%m-%d %H:%M UTC'), CPUs ${BUSY_BEFORE}% busy before the run)"
do for [f in "get-1 put-1 get-$PAR_STREAMS put-$PAR_STREAMS"] {
    set title (f[1:3] eq "get" ? "GET" : "PUT") . ", " . f[5:] . " stream(s)"
    plot for [i=2:$(( n + 1 ))] "$d/size-".f.".dat" using i:xtic(1) with linespoints lw 2 title columnheader(i)
}
unset multiplot

set output "$d/latency.png"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set logscale y
set yrange [0.01:*]
set ylabel "ms (log scale)"
unset xlabel
set xtics rotate by -30 font ",8"
set key top left opaque
set multiplot layout 2,$(echo $LAT_CONNS | wc -w) title "Small-object latency percentiles (wrk -t1), GET 4 KiB and HEAD, presigned (medians; $(date -u '+%Y-%m-%d %H:%M UTC'))"
do for [m in "get head"] {
    do for [c in "$LAT_CONNS"] {
        set title (m eq "get" ? "GET" : "HEAD") . ", " . c . " connection(s)"
        plot "$d/lat-".m."-".c.".dat" using 2:xtic(1) title columnheader(2), "" using 3 title columnheader(3), "" using 4 title columnheader(4)
    }
}
unset multiplot

set terminal pngcairo size 1400,500 font ",10"
set output "$d/tls.png"
unset logscale y
set yrange [0:*]
set key top right
set multiplot layout 1,2 title "TLS 1.3 (TLS_AES_256_GCM_SHA384, $CERT_KEY certificate), medians" noenhanced
set title "throughput, 1 stream"
set ylabel "GB/s"
plot for [i=2:$(( 2 * $(echo $TLS_SIZES | wc -w) + 1 ))] "$d/tls.dat" using i:xtic(1) title columnheader(i)
set title "full handshakes (openssl s_time -new)" noenhanced
set ylabel "handshakes/s"
plot "$d/tls.dat" using $(( 2 * $(echo $TLS_SIZES | wc -w) + 2 )):xtic(1) title columnheader($(( 2 * $(echo $TLS_SIZES | wc -w) + 2 )))
unset multiplot
EOF
    [ -s "$d/throughput.png" ] || log "gnuplot failed: $(tail -3 "$d/gnuplot.log")"
}

# ------------------------------------------------------------- results.md
commands() {
    cat <<EOF
- **Run**: \`$RUN_CMD\` (run.sh's settings: REPEAT=$REPEAT SMALL_REPEAT=$SMALL_REPEAT PAR_REPEAT=$PAR_REPEAT LAT_REPEAT=$LAT_REPEAT LAT_TARGET_REPEAT=$LAT_TARGET_REPEAT (at $LAT_TARGET_CONNS connections) LAT_SECONDS=$LAT_SECONDS LAT_CONNS="$LAT_CONNS" HS_SECONDS=$HS_SECONDS HS_CLIENTS=$HS_CLIENTS HS_REPEAT=$HS_REPEAT IDLE_CONNS=$IDLE_CONNS BIG_GIB=$BIG_GIB SIZES="$SIZES" SIZES_PAR="$SIZES_PAR" TLS_SIZES="$TLS_SIZES" TLS_SIZES_PAR="$TLS_SIZES_PAR"). The contenders alternate inside every repetition; figures are medians; ratios are between medians of this run.
- **Signed requests** (every curl figure): \`curl -s --aws-sigv4 aws:amz:us-east-1:s3 --user AKID:SECRET -H 'x-amz-content-sha256: UNSIGNED-PAYLOAD' -K CFG -w '%{http_code} %{size_download} %{size_upload}\n'\`, the key from \`s3gate-admin cred create benchuser\` (so s3gate verifies every signature and checks the grant; the others ignore the header). TLS adds \`--cacert cert.pem\`.
- **Throughput by size** (GB/s = 10^9 bytes/s): STREAMS such curls started together, each making N requests one after the other on one keep-alive connection, CFG holding N times \`url = URL/bench/SIZE.bin\` and \`output = /dev/null\` (PUT: \`upload-file = SIZE.bin\`, \`url = URL/bench/put.bin\`); N per stream: $(per_stream_list 1) (1 stream); $(per_stream_list "$PAR_STREAMS") ($PAR_STREAMS streams). GB/s = all the bytes / wall time from the first start to the last exit; every answer's status and size is checked. 1 GiB PUT with 16 streams is not run: nginx (buffered) spools each body to tmpfs first (16 GiB).
- **CPU against the relay, two readings**: the target row "the bare relay's (the lower)" takes the cheaper relay, whichever engine it uses; "the relay of its engine" takes the relay that moves that direction's bytes as the contender does (splice or copy: what it costs over the floor of the same work). On this loopback the faster relay is usually the copy relay and the cheaper the splice relay, so no program that moves bytes one way meets both the throughput row (against the faster) and the strict CPU row (against the cheaper): not even the relays themselves (the last row of the table above).
- **Two origins**: GETs go to the nginx origin (sendfile); PUTs to \`bench/sink.c\`, which splices each body into /dev/null and answers 200 after its last byte (nginx spent 1.1–1.7 s of CPU per GiB dropping a PUT body, more than any proxy measured, so the PUT rows measured nginx). A proxy has one upstream, so every contender runs a second instance, the same program and config in front of the sink, and its PUT rows (throughput, CPU) are that instance's; direct's PUTs go to the sink itself; direct-tls's to nginx's TLS listener (the sink speaks no TLS).
- **CPU s/GiB, µs/req, µs/handshake**: utime+stime from \`/proc/PID/stat\` of the proxy's process and its descendants (threads included), read before and after each measurement, summed over the counted runs, divided by the GiB, requests or handshakes of those runs. One clock tick is 10 ms.
- **Latency** (small objects): \`WRK_METHOD=GET|HEAD wrk -t1 -cCONNS -d${LAT_SECONDS}s --timeout 10s -s bench/wrk.lua URL/PRESIGNED\`, GET of the 4 KiB object and HEAD of an empty one (wrk 4.1 would wait for a HEAD body of Content-Length bytes), each presigned by botocore for the contender's own host:port (bench/presign.py), so s3gate checks a full SigV4 query signature and the grant on every request. p50/p99/p99.9 from wrk's histogram (bench/wrk.lua); "+p50/+p99": minus direct's at the same CONNS. A run with a non-2xx answer is not counted. After 1 s of warm-up per contender.
- **TLS**: a self-signed \`openssl req -x509 -newkey $CERT_KEY\` certificate for 127.0.0.1, the same file for every TLS listener; TLS 1.3 with TLS_AES_256_GCM_SHA384 (nginx: \`ssl_protocols TLSv1.3; ssl_conf_command Ciphersuites TLS_AES_256_GCM_SHA384\`; HAProxy: \`ssl-min-ver TLSv1.3 ciphersuites TLS_AES_256_GCM_SHA384\`; s3gate: its defaults, which choose it; checked with \`openssl s_client -brief\`, see the contenders table). No kernel TLS here (CONFIG_TLS is off). Throughput as above with https URLs.
- **Handshakes against nginx, two readings**: nginx-tls and nginx-unbuf-tls differ only in how they buffer proxied bodies, and s_time sends no request: for handshakes they are two instances of one setup, and the best of their two medians is the larger of two draws of the same figure (their medians differed by up to 7% in one run). The pooled row takes the median of both instances' runs together: nginx's rate, once.
- **Full handshakes/s**: $HS_CLIENTS parallel \`openssl s_time -connect 127.0.0.1:PORT -new -tls1_3 -ciphersuites TLS_AES_256_GCM_SHA384 -time $HS_SECONDS\` (\`-new\`: a new session per connection, never resumed; handshake and close, no HTTP request); handshakes summed / wall time.
- **Idle connections**: \`bench/idle.py PORT N PRESIGNED_PATH\` opens N = $IDLE_CONNS connections one after the other (fewer where the process's descriptors cannot hold them); VmRSS summed over the proxy's processes before, with them open and idle 1 s later (no request sent), and after one presigned 4 KiB GET answered on each (idle keep-alive); KiB/conn = the difference / the connections opened (answered). Kernel socket buffers are not in RSS. The relays open one origin connection per client at accept.
- **Long stream**: \`curl ... -o /dev/null URL/bench/big.bin\`, a sparse $BIG_GIB GiB file in tmpfs (a hole reads as the zero page: no disk, no memory); VmHWM reset (\`echo 5 > /proc/PID/clear_refs\`) before, VmRSS sampled every second, VmHWM and VmRSS at the end.
- **RSS idle/peak** (headline table): VmRSS before the plain size runs / VmHWM over them (the larger of the GET and the PUT instance's).
EOF
}

write_results() {
    local out=$WORK/results.md c
    {
        echo "# s3gate bench results"
        echo
        echo "Run of $(date -u -d "@${START_EPOCH%.*}" '+%Y-%m-%d %H:%M') – $(date -u '+%H:%M UTC') ($(( ${EPOCHSECONDS} - ${START_EPOCH%.*} )) s wall), on loopback, nothing pinned: client, origin and proxy share the CPUs.${QUICK:+ **QUICK=1: one repetition, short runs — for development, not for quoting.**}"
        echo
        echo "**Load: CPUs ${BUSY_BEFORE}% busy in the second before the run (load average $LOAD_BEFORE; $LOAD_AFTER at the end, the bench's own load included).** Above 10% the figures are noise: rerun on a quiet machine before quoting them; only ratios from one run mean anything."
        echo
        version_lines
        echo
        echo "## Contenders"
        echo
        table_contenders
        echo
        echo "## Targets (issue 11), ratios from this run"
        echo
        targets
        echo
        echo "Each mode against the relay that moves bytes the same way (ratios of medians; CPU: lower is better):"
        echo
        table_modes
        echo
        echo "## 1 GiB GET and PUT, plain HTTP, one stream"
        echo
        table_headline
        if in_list sizes "$PHASES"; then
            echo
            echo "## Throughput by object size, plain HTTP"
            echo
            echo "![throughput by object size](results/throughput.png)"
            echo
            echo "GB/s, one stream:"; echo; table_sizes http 1 med "$PLAIN" "$SIZES"; echo
            echo "CPU s/GiB, one stream:"; echo; table_sizes http 1 cpu "$PLAIN" "$SIZES"; echo
            echo "GB/s, $PAR_STREAMS streams (aggregate):"; echo; table_sizes http "$PAR_STREAMS" med "$PLAIN" "$SIZES_PAR"; echo
            echo "CPU s/GiB, $PAR_STREAMS streams:"; echo; table_sizes http "$PAR_STREAMS" cpu "$PLAIN" "$SIZES_PAR"
        fi
        if in_list tls "$PHASES"; then
            echo
            echo "## TLS"
            echo
            echo "![TLS throughput](results/tls.png)"
            echo
            echo "GB/s, one stream; CPU and handshakes:"; echo; table_tls; echo
            echo "CPU s/GiB, one stream:"; echo; table_sizes https 1 cpu "$TLS" "$TLS_SIZES"
            if [ -n "$TLS_SIZES_PAR" ]; then
                echo; echo "GB/s, $PAR_STREAMS streams (aggregate):"; echo
                table_sizes https "$PAR_STREAMS" med "$TLS" "$TLS_SIZES_PAR"; echo
                echo "CPU s/GiB, $PAR_STREAMS streams:"; echo; table_sizes https "$PAR_STREAMS" cpu "$TLS" "$TLS_SIZES_PAR"
            fi
        fi
        if in_list latency "$PHASES"; then
            echo
            echo "## Small objects: request rate and latency"
            echo
            echo "![latency percentiles](results/latency.png)"
            for m in get head; do for conns in $LAT_CONNS; do
                echo; echo "${m^^} ($([ $m = get ] && echo '4 KiB' || echo 'empty object')), $conns connection(s):"; echo
                table_latency "$m" "$conns"
            done; done
        fi
        if in_list big "$PHASES" && [ "$BIG_GIB" -gt 0 ]; then
            echo
            echo "## Memory over one $BIG_GIB GiB GET"
            echo
            table_big
        fi
        if in_list idle "$PHASES"; then
            echo
            echo "## Memory with $IDLE_CONNS idle connections"
            echo
            echo "(fewer where \`ulimit -n\` = $(ulimit -n) cannot hold them: HAProxy reserves 2.5 descriptors per connection, the splice relay uses 6)"
            echo
            table_idle
        fi
        echo
        echo "## How each figure was taken"
        echo
        commands
        echo
        echo "Raw figures (every run): \`raw.tsv\` in the work folder ($WORK)."
    } > "$out"
}
