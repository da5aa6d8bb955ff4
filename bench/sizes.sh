# bench/sizes.sh — GET and PUT by object size and number of concurrent
# streams, plain and TLS (sourced by bench/run.sh).
#
# One measurement: STREAMS curl processes started together, each sending
# N signed requests one after the other on one keep-alive connection (N by
# size: enough bytes that curl's start-up is noise); GB/s is all the bytes
# of all the streams / the wall time from the first start to the last exit;
# every answer's status and size is checked, and one bad answer fails the
# run. CPU: the proxy's ticks over the measurement / the bytes moved.

# per_stream SIZE STREAMS: requests per stream
per_stream() {
    case $1:$2 in
        4k:1) echo 1000 ;;  4k:*) echo 100 ;;
        1m:1) echo 128 ;;   1m:*) echo 16 ;;
        64m:1) echo 4 ;;    *) echo 1 ;;
    esac
}

# per_stream_list STREAMS: "4k 1000, 1m 128, ..." for the report
per_stream_list() {
    local z out=""
    for z in $SIZES_ALL; do out="$out${out:+, }$z $(per_stream "$z" "$1")"; done
    echo "$out"
}

# repeat_for SIZE STREAMS: repetitions (REPEAT for bulk sizes, at least 5 by
# default; fewer for the small ones and for 16 streams)
repeat_for() {
    if [ "$2:$1" = "$PAR_STREAMS:1g" ]; then echo "$PAR_BIG_REPEAT"
    elif [ "$2" != 1 ]; then echo "$PAR_REPEAT"
    else case $1 in 4k|1m) echo "$SMALL_REPEAT" ;; *) echo "$REPEAT" ;; esac
    fi
}

# curl_cfg C KIND SIZE N: a curl config file with N transfers (made once)
curl_cfg() {
    local c=$1 kind=$2 size=$3 n=$4 f=$WORK/curl/$1-$2-$3-$4.cfg lines
    if [ ! -f "$f" ]; then
        if [ "$kind" = put ]; then
            lines="upload-file = \"$WWW/bench/$size.bin\"\nurl = \"$(url "$c")/bench/put.bin\"\n"
        else
            lines="url = \"$(url "$c")/bench/$size.bin\"\n"
        fi
        awk -v n="$n" -v l="${lines}output = \"/dev/null\"" 'BEGIN {for (i = 0; i < n; i++) print l}' > "$f"
    fi
    echo "$f"
}

# bulk_once KIND SIZE STREAMS C REP: one measurement, one row of RAW (a
# PUT goes to C's PUT instance, in front of the sink: contenders.sh)
bulk_once() {
    local kind=$1 size=$2 streams=$3 c=$4 rep=$5 n bytes cfg bad test to=$4
    test=${SCHEME[$c]}-$kind-$size-$streams
    if [ "$kind" = put ]; then
        if [ -n "${PUT_STATUS[$c]:-}" ]; then
            record "$test" "$rep" "$c" FAIL "" 0 - - - "${PUT_STATUS[$c]}"
            return
        fi
        to=$(put_twin "$c")
    fi
    n=$(per_stream "$size" "$streams")
    bytes=$(size_bytes "$size")
    cfg=$(curl_cfg "$to" "$kind" "$size" "$n")
    run_clients "$to" "$streams" "$WORK/out/stream" \
        curl -s "${CURL_TLS[@]}" "${SIGN[@]}" -K "$cfg" -w '%{http_code} %{size_download} %{size_upload}\n'
    bad=$(cat $(seq -f "$WORK/out/stream.%g" "$streams") | awk -v k="$kind" -v b="$bytes" -v want=$(( n * streams )) '
        { ok = k == "get" ? $1 == 200 && $2 == b : $1 ~ /^20[014]$/ && $3 == b
          if (!ok && !bad++) first = $0; got++ }
        END { if (got != want) print got " of " want " answers (" first ")"; else if (bad) print bad " bad answers, e.g. " first }')
    if [ -n "$bad" ]; then
        log "$test $c rep $rep: $bad: not counted"
        record "$test" "$rep" "$c" FAIL "" 0 - - - "$bad"
        return
    fi
    record "$test" "$rep" "$c" "$(awk -v b=$(( bytes * n * streams )) -v s="$SECS" 'BEGIN {printf "%.4f", b / s / 1e9}')" \
        "$TICKS" $(( bytes * n * streams )) - - - "$n x $streams in $SECS s"
}

# sizes_phase LABEL "CONTENDERS" "SIZES" "STREAMS": every size and stream
# count, GET then PUT, the contenders alternating inside each repetition
sizes_phase() {
    local label=$1 list=$2 sizes=$3 streams_list=$4 kind size streams rep reps c
    for kind in get put; do
        for streams in $streams_list; do
            for size in $sizes; do
                # PUT: nginx (buffered) spools each body to tmpfs before sending it
                # on; 16 concurrent 1 GiB bodies would hold 16 GiB of memory.
                if [ "$kind" = put ] && [ "$size" = 1g ] && [ "$streams" != 1 ]; then continue; fi
                reps=$(repeat_for "$size" "$streams")
                for rep in $(seq "$reps"); do
                    log "$label ${kind^^} $size x $streams stream(s), repetition $rep/$reps"
                    for c in $list; do bulk_once "$kind" "$size" "$streams" "$c" "$rep"; done
                done
            done
        done
    done
}

# warm_up "CONTENDERS": one untimed 1 GiB GET each
warm_up() {
    local c
    log "warm-up: one 1 GiB GET per contender"
    for c in $1; do
        curl -s "${CURL_TLS[@]}" -o /dev/null "${SIGN[@]}" "$(url "$c")/bench/1g.bin"
    done
}
