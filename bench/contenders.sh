# bench/contenders.sh — the served files, the certificate, the origin and
# the contenders (sourced by bench/run.sh; helpers from bench/lib.sh).
#
# A contender is a name with a process (PROC: its CPU and memory are that
# process's and its descendants'), a port and a scheme. Plain HTTP and TLS
# contenders of one proxy share its process: nginx-tls is the TLS listener
# of the nginx process.

# s3gate-b (with S3GATE_B set): a second s3gate binary, configured as
# s3gate plus S3GATE_B_CONF's lines, measured in the same run: an A/B of
# two builds or of two settings (S3GATE_B=bin/s3gate), alternating.
PLAIN_ALL="direct nginx nginx-unbuf haproxy relay-splice relay-copy s3gate s3gate-pick s3gate-1w s3gate-4w${S3GATE_B:+ s3gate-b}"
TLS_ALL="direct-tls nginx-tls nginx-unbuf-tls haproxy-tls s3gate-tls s3gate-1w-tls s3gate-4w-tls${S3GATE_B:+ s3gate-b-tls}"
declare -A DESC=(
    [direct]="curl/wrk straight to the nginx origin: the ceiling"
    [nginx]="nginx 1.22 reverse proxy, workers auto, proxy_buffering and proxy_request_buffering on (defaults: bodies spooled to tmpfs)"
    [nginx-unbuf]="the same nginx config with proxy_buffering off and proxy_request_buffering off"
    [haproxy]="HAProxy 2.6, mode http, option splice-auto, 1 MiB pipes, one thread per CPU"
    [relay-splice]="bench/relay.c -m splice: parses nothing, one thread, splice through 1 MiB pipes (the floor)"
    [relay-copy]="bench/relay.c -m copy: parses nothing, one thread, recv/send through 1 MiB buffers"
    [s3gate]="s3gate as configured by default: workers auto (one per CPU: 2 here), splice on; every request SigV4-verified, policy-checked and re-signed"
    [s3gate-pick]="s3gate, splice upload: each direction by the engine measured faster here (uploads spliced; downloads through its 1 MiB copy buffer, the default copy_buffer_size)"
    [s3gate-1w]="s3gate, workers 1 (one event loop), splice on"
    [s3gate-4w]="s3gate, workers 4 (two event loops per CPU here), splice on: where the client, the origin and the proxy share the CPUs, more loops than CPUs shorten the tail (conf/s3gate.conf, workers)"
    [direct-tls]="the origin's own TLS listener: the TLS ceiling"
    [nginx-tls]="nginx (buffered) terminating TLS"
    [nginx-unbuf-tls]="nginx-unbuf terminating TLS"
    [haproxy-tls]="HAProxy terminating TLS (ssl crt)"
    [s3gate-tls]="s3gate (workers auto) terminating TLS"
    [s3gate-1w-tls]="s3gate (workers 1) terminating TLS"
    [s3gate-4w-tls]="s3gate (workers 4) terminating TLS"
    [s3gate-b]="the s3gate binary ${S3GATE_B:-} (S3GATE_B), configured as s3gate${S3GATE_B_CONF:+ plus \"${S3GATE_B_CONF//$'\n'/; }\"}"
    [s3gate-b-tls]="s3gate-b terminating TLS"
)

# want C: the contender is to run (ONLY names plain contenders; direct and
# its TLS twin always run: every ratio needs them)
want() {
    local base=${1%-tls}
    case " direct $ONLY " in *" $base "*) return 0 ;; esac
    return 1
}

# --------------------------------------------------------------- the files
# Random bytes (nothing compresses), synced (no writeback during the runs)
# and read once (served from the page cache). 0.bin is the HEAD target.
make_files() {
    local f
    log "creating the served files (random bytes): $SIZES_ALL"
    : > "$WWW/bench/0.bin"
    for f in $SIZES_ALL; do
        head -c "$(size_bytes "$f")" /dev/urandom > "$WWW/bench/$f.bin" || fail "cannot write $f.bin"
    done
    sync "$WWW"/bench/*.bin
    cat "$WWW"/bench/*.bin > /dev/null
}
size_bytes() {
    case $1 in
        *k) echo $(( ${1%k} * 1024 )) ;;
        *m) echo $(( ${1%m} * 1048576 )) ;;
        *g) echo $(( ${1%g} * 1073741824 )) ;;
        *) echo "$1" ;;
    esac
}

# A self-signed certificate for 127.0.0.1 that every TLS listener uses
# (CERT_KEY: openssl's -newkey argument, default rsa:2048 as most S3
# endpoints; the server's signature is then what a full handshake costs).
make_cert() {
    mkdir -p "$WORK/tls"
    CERT=$WORK/tls/cert.pem KEY=$WORK/tls/key.pem
    openssl req -x509 -newkey "$CERT_KEY" -nodes -keyout "$KEY" -out "$CERT" -days 2 \
        -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 > "$WORK/tls/req.log" 2>&1 ||
        fail "openssl req: $(tail -2 "$WORK/tls/req.log")"
    chmod 600 "$KEY"
    cat "$CERT" "$KEY" > "$WORK/tls/haproxy.pem"
}

# fd_capacity C: the client connections the contender's process can hold
# with `ulimit -n` descriptors: HAProxy reserves 2.5 per connection (client,
# server, a share of pipes) and will not start if maxconn needs more; the
# splice relay uses 6 (2 sockets, 2 pipes), the copy relay 2; nginx and
# s3gate 1 while idle
fd_capacity() {
    local per
    case $1 in haproxy*) per=2.5 ;; relay-splice) per=6 ;; relay-copy) per=2 ;; *) per=1 ;; esac
    awk -v n="$(ulimit -n)" -v p="$per" 'BEGIN {print int((n - 200) / p)}'
}
# idle_conns C: IDLE_CONNS, or fewer when the process cannot hold them
idle_conns() { local m; m=$(fd_capacity "$1"); echo $(( m < IDLE_CONNS ? m : IDLE_CONNS )); }

# add C PROCESS SCHEME: declares a contender on a fresh port
add() { PROC[$1]=$2; SCHEME[$1]=$3; PORT[$1]=$(free_port); }

# ----------------------------------------------------------------- origin
# Two origins: nginx serves the GETs (origin.conf), bench/sink.c takes the
# PUTs (its header says why). A proxy has one upstream, so each contender
# runs twice: as C in front of nginx for everything but the PUT rows of
# sizes.sh, and as its PUT instance C-put (C-put-tls for C-tls: the same
# program and config, a process of its own) in front of the sink. direct's
# PUTs go to the sink; direct-tls's to nginx's TLS listener (the sink speaks
# no TLS), which makes the TLS PUT ceiling nginx's discard.
start_origin() {
    add origin origin http
    add direct-tls none https   # no proxy process: no CPU or memory figures
    PROC[direct]=none; SCHEME[direct]=http; PORT[direct]=${PORT[origin]}
    fill "$HERE/origin.conf" "$WORK/origin.conf" PORT="${PORT[origin]}" TLS_PORT="${PORT[direct-tls]}"
    start origin nginx -q -e "$WORK/origin.error.log" -p "$WORK" -c "$WORK/origin.conf"
    wait_up origin || fail "origin did not start: $(tail -3 "$WORK/origin.error.log")"
    STATUS[direct]=ok; STATUS[direct-tls]=ok
    gcc -O2 -Wall -pthread -o "$WORK/sink" "$HERE/sink.c" 2> "$WORK/sink.build.log" ||
        fail "sink.c: $(cat "$WORK/sink.build.log")"
    add sink sink http
    start sink "$WORK/sink" -l "127.0.0.1:${PORT[sink]}" > "$WORK/sink.log" 2>&1
    wait_up sink || fail "the PUT sink did not start: $(tail -3 "$WORK/sink.log")"
    PROC[direct-put]=none; SCHEME[direct-put]=http; PORT[direct-put]=${PORT[sink]}; STATUS[direct-put]=ok
    log "origin nginx on ${PORT[origin]} (TLS ${PORT[direct-tls]}), PUT sink on ${PORT[sink]}"
}

# put_twin C: the contender's PUT instance (nginx -> nginx-put, nginx-tls ->
# nginx-put-tls), or C itself when it has none (direct-tls)
put_twin() {
    local base=${1%-tls} t
    if [ "$base" = "$1" ]; then t=$1-put; else t=$base-put-tls; fi
    if [ -n "${PORT[$t]:-}" ]; then echo "$t"; else echo "$1"; fi
}

# twice START ARGS...: START ARGS (in front of nginx), then START with the
# name (its first argument) + "-put" in front of the sink
twice() {
    local start=$1 name=$2; shift 2
    "$start" "$name" "$@"
    UPSTREAM_PORT=${PORT[sink]} "$start" "$name-put" "$@"
}

# up C...: STATUS of each from whether its process answers
up() {
    local c
    for c; do
        if wait_up "$c"; then STATUS[$c]=ok; else STATUS[$c]="did not start (see $WORK/${PROC[$c]}*.log)"; fi
    done
}

start_nginx() { # NAME on|off
    local name=$1
    add "$name" "$name" http; add "$name-tls" "$name" https
    fill "$HERE/nginx-proxy.conf" "$WORK/$name.conf" NAME="$name" BUFFERING="$2" \
        PORT="${PORT[$name]}" TLS_PORT="${PORT[$name-tls]}"
    start "$name" nginx -q -e "$WORK/$name.error.log" -p "$WORK" -c "$WORK/$name.conf"
    up "$name" "$name-tls"
}

start_haproxy() { # NAME
    local name=$1
    add "$name" "$name" http; add "$name-tls" "$name" https
    fill "$HERE/haproxy.conf" "$WORK/$name.conf" PORT="${PORT[$name]}" TLS_PORT="${PORT[$name-tls]}" \
        MAXCONN="$(fd_capacity haproxy)"
    start "$name" haproxy -db -f "$WORK/$name.conf" > "$WORK/$name.log" 2>&1
    up "$name" "$name-tls"
}

start_relay() { # NAME splice|copy
    local c=$1
    [ -x "$WORK/relay" ] || gcc -O2 -Wall -o "$WORK/relay" "$HERE/relay.c" 2> "$WORK/relay.build.log" ||
        fail "relay.c: $(cat "$WORK/relay.build.log")"
    add "$c" "$c" http
    start "$c" "$WORK/relay" -l "127.0.0.1:${PORT[$c]}" -t "127.0.0.1:${UPSTREAM_PORT:-${PORT[origin]}}" -m "$2" \
        > "$WORK/$c.log" 2>&1
    up "$c"
}

# Client credentials: s3gate's when it runs; otherwise a dummy key, so that
# every contender gets the same signed requests whatever happens.
AKID=AKIDBENCHDUMMY000000
SECRET=benchdummysecretbenchdummysecret0000000

# s3gate_setup: policy folder, backend secret, credentials (once, shared by
# every s3gate contender); sets S3GATE_OK or the reason in S3GATE_WHY
s3gate_setup() {
    local creds
    S3GATE_OK=0
    if [ ! -x "$S3GATE" ] || [ ! -x "$S3GATE_ADMIN" ]; then S3GATE_WHY="not built"; return; fi
    cp "$HERE/bench-policy.yaml" "$WORK/policy/bench.yaml"
    echo "benchbackendsecretnotcheckedbytheorigin" > "$WORK/backend.secret"
    chmod 600 "$WORK/backend.secret"
    fill "$HERE/s3gate.conf" "$WORK/s3gate-check.conf" PORT=1 TLS_PORT=2 ADMIN_PORT=3
    if ! "$S3GATE" -t -c "$WORK/s3gate-check.conf" > "$WORK/s3gate.check.log" 2>&1; then
        S3GATE_WHY="config rejected (see $WORK/s3gate.check.log)"
    elif ! creds=$("$S3GATE_ADMIN" -c "$WORK/s3gate-check.conf" cred create benchuser 2> "$WORK/s3gate.admin.log"); then
        S3GATE_WHY="cred create failed (see $WORK/s3gate.admin.log)"
    else
        read -r AKID SECRET _ <<< "$creds"
        S3GATE_OK=1
    fi
}

start_s3gate() { # NAME [EXTRA CONFIG LINE]
    local name=$1 extra=${2:-}
    add "$name" "$name" http
    case $name in s3gate-pick*) ;; *) add "$name-tls" "$name" https ;; esac
    if [ "$S3GATE_OK" != 1 ]; then
        STATUS[$name]=$S3GATE_WHY; STATUS[$name-tls]=$S3GATE_WHY
        return
    fi
    fill "$HERE/s3gate.conf" "$WORK/$name.conf" PORT="${PORT[$name]}" \
        TLS_PORT="${PORT[$name-tls]:-$(free_port)}" ADMIN_PORT="$(free_port)"
    [ -z "$extra" ] || echo "$extra" >> "$WORK/$name.conf"
    start "$name" "$(case $name in s3gate-b*) echo "$S3GATE_B" ;; *) echo "$S3GATE" ;; esac)" \
        -c "$WORK/$name.conf" > "$WORK/$name.log" 2>&1
    up "$name"
    [ -z "${PORT[$name-tls]:-}" ] || up "$name-tls"
}

start_contenders() {
    want nginx && twice start_nginx nginx on
    want nginx-unbuf && twice start_nginx nginx-unbuf off
    want haproxy && twice start_haproxy haproxy
    want relay-splice && twice start_relay relay-splice splice
    want relay-copy && twice start_relay relay-copy copy
    if want s3gate || want s3gate-pick || want s3gate-1w || want s3gate-4w || want s3gate-b; then s3gate_setup; fi
    want s3gate && twice start_s3gate s3gate
    [ -n "${S3GATE_B:-}" ] && want s3gate-b && twice start_s3gate s3gate-b "${S3GATE_B_CONF:-}"
    want s3gate-pick && twice start_s3gate s3gate-pick "splice upload"
    want s3gate-1w && twice start_s3gate s3gate-1w "workers 1"
    want s3gate-4w && twice start_s3gate s3gate-4w "workers 4"
    return 0
}

# --------------------------------------------------------------- checks
SIGN=()
declare -A GET_PATH HEAD_PATH TLSINFO PUT_STATUS

# put_check C: PUT_STATUS[C] is empty if C's PUT instance stores a signed
# 4 KiB PUT, else what it answered (its PUT rows then fail, visibly)
put_check() {
    local t got
    t=$(put_twin "$1")
    [ "$t" = "$1" ] && return
    if [ "${STATUS[$t]:-}" != ok ]; then PUT_STATUS[$1]="PUT instance $t: ${STATUS[$t]:-not started}"; return; fi
    got=$(curl -s "${CURL_TLS[@]}" -o /dev/null -w '%{http_code}' "${SIGN[@]}" -T "$WWW/bench/4k.bin" "$(url "$t")/bench/put.bin")
    case $got in 20[04]) ;; *) PUT_STATUS[$1]="PUT instance $t: signed PUT 4k answered $got" ;; esac
}
CURL_TLS=(--cacert "$WORK/tls/cert.pem")

# check_contenders: each must answer a signed GET, a presigned GET and a
# presigned HEAD before it is measured; PLAIN and TLS list those that do.
check_contenders() {
    local c base got pre head name g h
    SIGN=(--aws-sigv4 "aws:amz:$REGION:s3" --user "$AKID:$SECRET" -H "x-amz-content-sha256: UNSIGNED-PAYLOAD")
    for c in $PLAIN_ALL $TLS_ALL; do
        if want "$c" && [ "${STATUS[$c]:-}" = ok ]; then echo "$c $(url "$c")"; fi
    done | AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null \
        /usr/bin/python3 "$HERE/presign.py" "$AKID" "$SECRET" "$REGION" > "$WORK/presigned.txt" 2> "$WORK/presign.log" ||
        log "presign.py failed: $(tail -1 "$WORK/presign.log")"
    while read -r name g h; do GET_PATH[$name]=$g; HEAD_PATH[$name]=$h; done < "$WORK/presigned.txt"

    PLAIN="" TLS=""
    for c in $PLAIN_ALL $TLS_ALL; do
        want "$c" || continue
        : "${STATUS[$c]:=not started}"
        if [ "${STATUS[$c]}" = ok ]; then
            base=$(url "$c")
            got=$(curl -s "${CURL_TLS[@]}" -o /dev/null -w '%{http_code} %{size_download}' "${SIGN[@]}" "$base/bench/4k.bin")
            pre=$(curl -s "${CURL_TLS[@]}" -o /dev/null -w '%{http_code} %{size_download}' "$base${GET_PATH[$c]:-/none}")
            head=$(curl -s "${CURL_TLS[@]}" -o /dev/null -w '%{http_code}' -I "$base${HEAD_PATH[$c]:-/none}")
            if [ "$got" != "200 4096" ]; then STATUS[$c]="signed GET 4k: $got"
            elif [ "$pre" != "200 4096" ]; then STATUS[$c]="presigned GET 4k: $pre"
            elif [ "$head" != 200 ]; then STATUS[$c]="presigned HEAD: $head"
            fi
            put_check "$c"
        fi
        if [ "${SCHEME[$c]:-}" = https ] && [ "${STATUS[$c]}" = ok ]; then
            TLSINFO[$c]=$(openssl s_client -connect "127.0.0.1:${PORT[$c]}" -brief < /dev/null 2>&1 |
                awk -F': ' '/^Protocol version/ {p = $2} /^Ciphersuite/ {s = $2} END {print p " " s}')
        fi
        log "$(printf '%-16s %s' "$c" "${STATUS[$c]} ${PORT[$c]:+port ${PORT[$c]}} ${TLSINFO[$c]:-}")"
        [ "${STATUS[$c]}" = ok ] || continue
        if [ "${SCHEME[$c]}" = https ]; then TLS="$TLS $c"; else PLAIN="$PLAIN $c"; fi
    done
    [ "${STATUS[direct]}" = ok ] || fail "the origin does not serve the files"
}
