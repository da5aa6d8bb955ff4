#!/bin/bash
# Thirteenth audit: this session's CORS preflights (the one request s3gate
# takes unsigned) and PROXY protocol listeners -- requests made by hand
# (helpers/rawhttp.py, helpers/ppclient.py), against the real RGW and
# against a stand-in backend that writes down every head it gets
# (rawhttp.py fakebackend --heads).
#
# Found and fixed:
#   a SIGHUP that took proxy_protocol off a listener (or put it on) changed
#     nothing and said nothing ("reloaded"): one process (workers 1) keeps
#     its listening sockets, and the reload compared only their addresses
#     and tls.  A listener the operator had opened to clients directly,
#     no balancer in front any more, kept taking a PROXY line from anyone:
#     "PROXY TCP4 10.66.6.6 ..." was logged as 10.66.6.6 and counted as it
#     by max_connections_per_ip (any address, as many as wished).  Now the
#     reload gives each kept listener the new file's proxy_protocol (a
#     PROXY line there is a bad request, 400, at once; put back on, a
#     request without one is closed).
# Tried and held (each checked below):
#   preflights against RGW: a bucket only RGW has (made with the service
#     key, CORS rules allowing every origin) -- path-style and
#     virtual-hosted -- is the one 403 CORSResponse an unknown bucket gets;
#     dot segments from a bucket the policy knows towards it ("/B/../BO/k",
#     encoded "%2E%2E", "..%2F", all encoded) reach none of its rules (403,
#     while RGW itself answers BO's preflight 200);
#   preflights against the stand-in backend: of the client's head only
#     Origin, Access-Control-Request-Method and -Headers reach it (Expect,
#     Content-Length: 0, Range, Cookie, X-Forwarded-For, x-amz-*, an
#     Authorization, Connection tokens, a query, all left out; the path
#     "/B/KEY", the service signature); virtual-hosted the same, path-style
#     at the backend; HTTP/1.0 the same; a 200's x-rgw-* header is not
#     relayed; a 403 with a body naming the backend and a stray answer
#     behind it, and a 404 NoSuchBucket, are the same 403 CORSResponse an
#     unknown bucket gets, nothing of the backend's in it; a signed GET
#     pipelined behind such a preflight in one write gets its own answer,
#     and so does the next request on the pooled backend connection (never
#     "STRAY-403"); an OPTIONS with a chunked empty body is no preflight
#     and reaches nothing;
#   PROXY listeners: max_connections_per_ip stays balanced through headers
#     read and then reset, left idle to the timeout, refused at the cap,
#     LOCAL, a TLS handshake that fails after the header: afterwards the
#     address still holds exactly its cap (3 at once served, a 4th
#     closed), with one worker and with two; a request in the header's
#     segment, a v2 header with TLVs, a header written a byte at a time:
#     the request answered once, logged as from the header's address;
#     a v1 IPv4-mapped IPv6 address and 0.0.0.0 logged as written; an
#     IPv4-mapped address counted as its IPv4 address (not by a /64 that
#     every IPv4 client behind a dual-stack balancer would share); SIGTERM
#     with connections parked mid-header: gone at head_timeout.
# Workspace: ws-b13<id>; a bucket only RGW has: b13o<id>.
. "$(dirname "$0")/lib.sh"

ID=$(rand_id)
P=b13$ID
B=ws-$P
BO=b13o$ID
PP=$PY3\ $LIB_DIR/helpers/ppclient.py
ORIGIN=https://app.example

need_s3gate "thirteenth audit" "s3gate's own preflights and listeners: nothing to test against RGW"

PX=$(free_port)
TX=$(free_port)
if ! out=$(selfsigned k); then
	t_fail "a test certificate" "$out"; exit 1
fi
if ! s3gate_start b13 "workers 1" "listen 127.0.0.1:$PX proxy_protocol" \
	"listen 127.0.0.1:$TX tls proxy_protocol" "tls_certificate $T/certs/k.pem $T/certs/k.key" \
	"max_connections_per_ip 3" "head_timeout 1s" "idle_timeout 2s" "proxy_protocol_from 127.0.0.1"; then
	t_fail "s3gate b13 starts" "see $T/b13/s3gate.log"; exit 1
fi
B13_DIR=$S3GATE_DIR B13_CONF=$S3GATE_CONF B13_PID=$S3GATE_PID B13_PORT=$S3GATE_PORT
if ! out=$({ ws_setup "$P" "$B" &&
	backend_aws s3api create-bucket --bucket "$BO" >/dev/null &&
	printf '{"CORSRules":[{"AllowedOrigins":["*"],"AllowedMethods":["GET","PUT"],"AllowedHeaders":["*"]}]}' >"$T/cors.json" &&
	backend_aws s3api put-bucket-cors --bucket "$BO" --cors-configuration "file://$T/cors.json"; } 2>&1); then
	t_fail "setup: $B, $BO at RGW with CORS rules" "$out"; exit 1
fi
s3gate_cred "$P" >"$T/cred.out" 2>&1 || { t_fail "setup: $P's credentials" "$(cat "$T/cred.out")"; exit 1; }
AKID=$CRED_AKID SECRET=$CRED_SECRET
t_pass "setup: s3gate (workers 1, PROXY listeners, max_connections_per_ip 3), $B, $BO only at RGW"

# ---- preflights against RGW -----------------------------------------------------------

# pf PORT TARGET [HOST] — an unsigned preflight from $ORIGIN for PUT; the status; the body in $T/out
pf() {
	curl -s -o "$T/out" -D "$T/pf.head" -w '%{http_code}' --max-time 20 -X OPTIONS \
		-H "Host: ${3:-127.0.0.1}" -H "Origin: $ORIGIN" -H "Access-Control-Request-Method: PUT" \
		--path-as-is "http://127.0.0.1:$1$2"
}
shape() { sed -e 's|<RequestId>[^<]*</RequestId>||' -e 's|<Resource>[^<]*</Resource>||' "$T/out"; }

rgw_only_bucket() {
	local code want got
	code=$(pf "${RGW_ENDPOINT##*:}" "/$BO/k")
	[ "$code" = 200 ] || { echo "RGW itself answers $BO's preflight $code: the check could not fail"; return 1; }
	code=$(pf "$B13_PORT" "/ws-nobody-$ID/k")
	[ "$code" = 403 ] || { echo "unknown bucket: $code"; return 1; }
	want=$(shape)
	for args in "/$BO/k 127.0.0.1" "/k $BO.s3.local" "/$BO 127.0.0.1"; do
		set -- $args
		code=$(pf "$B13_PORT" "$1" "$2")
		got=$(shape)
		[ "$code" = 403 ] && [ "$got" = "$want" ] && ! grep -qi access-control-allow "$T/pf.head" ||
			{ echo "$args: $code"; cat "$T/pf.head" "$T/out"; return 1; }
	done
}
tc "CORS: a bucket only RGW has (rules allowing every origin): the unknown bucket's 403, path-style and virtual-hosted" rgw_only_bucket

dot_segments() {
	local code t
	for t in "/$B/../$BO/k" "/$B/%2E%2E/$BO/k" "/$B/..%2F$BO%2Fk" "/$B/%2e%2e%2f$BO%2fk" "/$B/./../$BO/k"; do
		code=$(pf "$B13_PORT" "$t")
		[ "$code" = 403 ] && grep -q CORSResponse "$T/out" || { echo "$t: $code"; cat "$T/pf.head"; return 1; }
	done
}
tc "CORS: dot segments from $B towards $BO reach none of its rules (403 CORSResponse each)" dot_segments

# ---- preflights against a stand-in backend that writes down what it gets ------------------

FPORT=$(free_port)
FLOG=$T/fakebackend.heads
: >"$FLOG"
"$PY3" "$LIB_DIR/helpers/rawhttp.py" fakebackend "$FPORT" --log "$T/fakebackend.log" --heads "$FLOG" &
FAKE_PID=$!
lib_on_exit "kill $FAKE_PID 2>/dev/null"
wait_port "$FPORT" || t_fail "the stand-in backend listens" "port $FPORT"
if ! s3gate_start b13f "backend http://127.0.0.1:$FPORT" "policy_store file $B13_DIR/policy" "workers 1"; then
	t_fail "s3gate b13f (the stand-in backend) starts" "see $T/b13f/s3gate.log"
fi
RAW_AKID=$AKID RAW_SECRET=$SECRET RAW_REGION=$S3_REGION SECRET_TEXT=$SECRET
export RAW_AKID RAW_SECRET RAW_REGION
. "$LIB_DIR/helpers/rawreq.sh"
PFH="Origin: $ORIGIN\r\nAccess-Control-Request-Method: PUT\r\nAccess-Control-Request-Headers: content-type\r\n"

# heads — how many heads the stand-in backend got; last_head — the last one, CRs removed
heads() { grep -c '^----$' "$FLOG"; }
last_head() {
	sleep 0.2
	"$PY3" -c 'import sys; print(open(sys.argv[1], "rb").read().decode("latin-1").split("----\n")[-2].replace("\r", ""), end="")' "$FLOG"; }
# head_is LINE — the last head is request line LINE, Host, the three CORS headers and the
# service signature, nothing else
head_is() {
	local h names
	h=$(last_head)
	names=$(sed 1d <<<"$h" | sed '/^$/d' | cut -d: -f1 | tr 'A-Z' 'a-z' | sort | tr '\n' ' ')
	[ "$(head -n 1 <<<"$h")" = "$1" ] &&
		[ "$names" = "access-control-request-headers access-control-request-method authorization host origin x-amz-content-sha256 x-amz-date " ] &&
		grep -q "^Authorization: AWS4-HMAC-SHA256 Credential=$RGW_ACCESS_KEY/" <<<"$h" &&
		grep -qx "Origin: $ORIGIN" <<<"$h" || { echo "the backend got:"; echo "$h"; return 1; }
}

only_cors_headers() {
	raw "OPTIONS /$B/pf-ok?uploads&x-id=CreateMultipartUpload HTTP/1.1\r\nHost: 127.0.0.1\r\n${PFH}Expect: 100-continue\r\nContent-Length: 0\r\nRange: bytes=0-1\r\nCookie: c=1\r\nX-Forwarded-For: 10.0.0.1\r\nx-amz-acl: public-read-write\r\nx-amz-copy-source: /$BO/k\r\nAuthorization: AWS4-HMAC-SHA256 Credential=junk\r\nx-extra: 1\r\nConnection: close, x-extra\r\n\r\n"
	[ "$R_STATUS" = 200 ] || { echo "HTTP $R_STATUS"; cat "$T/resp"; return 1; }
	grep -qi '^x-rgw-' "$T/resp" && { echo "x-rgw-* relayed:"; cat "$T/resp"; return 1; }
	grep -qi '^Access-Control-Allow-Origin' "$T/resp" || { echo "the backend's rules not relayed"; cat "$T/resp"; return 1; }
	head_is "OPTIONS /$B/pf-ok HTTP/1.1"
}
tc "CORS: of a preflight's head only its three CORS headers reach the backend (Expect, Content-Length, Range, Cookie, x-amz-*, Authorization, a query left out); x-rgw-* not relayed" only_cors_headers
vhost_http10() {
	raw "OPTIONS /pf-ok HTTP/1.1\r\nHost: $B.s3.local\r\n${PFH}Connection: close\r\n\r\n"
	[ "$R_STATUS" = 200 ] || { echo "virtual-hosted: HTTP $R_STATUS"; return 1; }
	head_is "OPTIONS /$B/pf-ok HTTP/1.1" || return 1
	raw "OPTIONS /$B/pf-ok HTTP/1.0\r\nHost: 127.0.0.1\r\n${PFH}\r\n"
	[ "$R_STATUS" = 200 ] || { echo "HTTP/1.0: HTTP $R_STATUS"; return 1; }
	head_is "OPTIONS /$B/pf-ok HTTP/1.1"
}
tc "CORS: virtual-hosted and HTTP/1.0 preflights reach the backend path-style, the same three headers" vhost_http10

refusals_alike() {
	local want got k
	raw "OPTIONS /ws-nobody-$ID/k HTTP/1.1\r\nHost: 127.0.0.1\r\n${PFH}Connection: close\r\n\r\n"
	[ "$R_STATUS" = 403 ] || { echo "unknown bucket: $R_STATUS"; return 1; }
	want=$(sed -n '/^<?xml/,$p' "$T/resp" | sed -e 's|<RequestId>[^<]*</RequestId>||' -e 's|<Resource>[^<]*</Resource>||')
	for k in pf-deny pf-nobucket; do
		raw "OPTIONS /$B/$k HTTP/1.1\r\nHost: 127.0.0.1\r\n${PFH}Connection: close\r\n\r\n"
		got=$(sed -n '/^<?xml/,$p' "$T/resp" | sed -e 's|<RequestId>[^<]*</RequestId>||' -e 's|<Resource>[^<]*</Resource>||')
		[ "$R_STATUS" = 403 ] && [ "$got" = "$want" ] && ! grep -aq 'rgw-node-7\|NoSuchBucket\|STRAY' "$T/resp" ||
			{ echo "$k: $R_STATUS"; cat "$T/resp"; echo; echo "unknown bucket's: $want"; return 1; }
	done
}
tc "CORS: the backend's 403 (a body naming it) and 404 NoSuchBucket are the unknown bucket's 403, nothing of theirs" refusals_alike

pipelined() {
	local sig n
	sig=$(sig_lines GET "/$B/k2")
	raw "OPTIONS /$B/pf-deny HTTP/1.1\r\nHost: 127.0.0.1\r\n${PFH}\r\nGET /$B/k2 HTTP/1.1\r\nHost: 127.0.0.1\r\n${sig}Connection: close\r\n\r\n"
	[ "$(resp_statuses)" = "403 200 " ] && grep -aq "own:/$B/k2" "$T/resp" && ! grep -aq STRAY "$T/resp" ||
		{ echo "answers: $(resp_statuses)"; cat "$T/resp"; return 1; }
	# the one worker's next request: its own answer, not what followed the 403
	n=$(heads)
	signed GET "/$B/k3"
	[ "$R_STATUS" = 200 ] && grep -aq "own:/$B/k3" "$T/resp" && [ "$(heads)" = $((n + 1)) ] ||
		{ echo "next GET: $R_STATUS"; cat "$T/resp"; return 1; }
}
tc "CORS: a signed GET pipelined behind a refused preflight gets its own answer; the next request too (no stray answer pooled)" pipelined

chunked_no_preflight() {
	local n
	n=$(heads)
	raw "OPTIONS /$B/pf-ok HTTP/1.1\r\nHost: 127.0.0.1\r\n${PFH}Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n0\r\n\r\n"
	sleep 0.2
	[ "$R_STATUS" != 200 ] && [ "$R_STATUS" != 000 ] && [ "$(heads)" = "$n" ] ||
		{ echo "HTTP $R_STATUS, backend heads $n -> $(heads)"; return 1; }
}
tc "CORS: an OPTIONS with a chunked (empty) body is no preflight: refused, nothing reaches the backend" chunked_no_preflight
s3gate_stop b13f || t_fail "s3gate b13f exits 0 on SIGTERM" "see $T/b13f/s3gate.log"
kill "$FAKE_PID" 2>/dev/null; wait "$FAKE_PID" 2>/dev/null
S3GATE_NAME=b13 S3GATE_DIR=$B13_DIR S3GATE_CONF=$B13_CONF S3GATE_LOG=$B13_DIR/s3gate.log
S3GATE_PID=$B13_PID S3GATE_PORT=$B13_PORT

# ---- PROXY listeners: the per-address count, bytes around the header -----------------------

# churn PORT TLSPORT ADDR — every way a counted connection of ADDR ends but a request's
churn() {
	local port=$1 tport=$2 a=$3 i
	# reset once read (six at once: some meet the cap, 3, and are closed)
	for i in 1 2 3 4; do $PP "$port" --v1 "$a" --hold 0.3 --reset >/dev/null & done
	$PP "$port" --v2 "$a" --hold 0.3 --reset --count 2 >/dev/null &
	wait
	sleep 0.3
	# three left idle past idle_timeout (2 s); while they hold the cap, five more refused
	rm -f "$T/idle.ready"
	$PP "$port" --v1 "$a" --hold 3 --count 3 --ready "$T/idle.ready" >"$T/idle" &
	pp_ready "$T/idle.ready"
	$PP "$port" --v2 "$a" --count 5 >"$T/over"
	wait
	$PP "$tport" --v2 "$a" --hold 0.3 --junk --count 3 >"$T/junk"
	$PP "$port" --v2-local --count 2 >/dev/null
	$PP "$port" --v1 "$a" --with-request --count 2 >/dev/null
	echo "idle: $(tr '\n' ' ' <"$T/idle"); over the cap: $(tr '\n' ' ' <"$T/over"); TLS junk: $(tr '\n' ' ' <"$T/junk")"
	[ "$(grep -c closed "$T/idle")" = 3 ] && [ "$(grep -c closed "$T/over")" = 5 ] && [ "$(grep -c closed "$T/junk")" = 3 ]
}
# at_cap PORT ADDR — ADDR holds exactly 3 at once: 3 served, a 4th closed; afterwards served
at_cap() {
	local port=$1 a=$2 over
	rm -f "$T/held.ready"
	$PP "$port" --v1 "$a" --hold 1.5 --count 3 --ready "$T/held.ready" >"$T/held" &
	pp_ready "$T/held.ready"
	over=$($PP "$port" --v1 "$a")
	wait
	echo "3 held: $(tr '\n' ' ' <"$T/held"); a 4th: $over"
	[ "$(grep -c '^403$' "$T/held")" = 3 ] && [ "$over" = closed ] && [ "$($PP "$port" --v2 "$a")" = 403 ]
}
count_balanced() {
	churn "$PX" "$TX" 10.13.0.1 && at_cap "$PX" 10.13.0.1
}
tc "PROXY: max_connections_per_ip stays balanced (resets, idle timeouts, refusals at the cap, LOCAL, TLS failing after the header): 3 at once still, not fewer" count_balanced

tc "PROXY: a request in the header's own segment: answered once, as from the header's address" \
	pp_answer 403 10.13.1.1 "$PX" --v2 10.13.1.1 --with-request
tc "PROXY: a v2 header with TLVs (ALPN, authority, NOOP), the request in the same segment" \
	pp_answer 403 10.13.1.2 "$PX" --v2 10.13.1.2 --tlv --with-request
tc "PROXY: a v2 header written a byte at a time" pp_answer 403 10.13.1.3 "$PX" --v2 10.13.1.3 --tlv --bytewise
tc "PROXY: a v1 header written a byte at a time, the request with its last byte" \
	pp_answer 403 10.13.1.4 "$PX" --v1 10.13.1.4 --bytewise --with-request
tc "PROXY: an IPv4-mapped IPv6 address (v1) logged as written" pp_answer 403 ::ffff:10.13.1.5 "$PX" --v1 ::ffff:10.13.1.5
tc "PROXY: 0.0.0.0 (v2) logged as written" pp_answer 403 0.0.0.0 "$PX" --v2 0.0.0.0

# an IPv4 client written as ::ffff:a.b.c.d (a balancer listening on [::] sends TCP6) is counted
# as that IPv4 address, not by a /64 that every IPv4 client would share
mapped_key() {
	local same other
	rm -f "$T/held.ready"
	$PP "$PX" --v1 ::ffff:10.13.3.1 --hold 1.5 --count 3 --ready "$T/held.ready" >"$T/held" &
	pp_ready "$T/held.ready"
	same=$($PP "$PX" --v1 10.13.3.1)
	other=$($PP "$PX" --v2 ::ffff:10.13.3.2)
	wait
	echo "3 held by ::ffff:10.13.3.1: $(tr '\n' ' ' <"$T/held"); TCP4 10.13.3.1: $same; ::ffff:10.13.3.2: $other"
	[ "$(grep -c '^403$' "$T/held")" = 3 ] && [ "$same" = closed ] && [ "$other" = 403 ]
}
tc "PROXY: ::ffff:10.13.3.1 and 10.13.3.1 are one address to the cap; ::ffff:10.13.3.2 another" mapped_key

# ---- SIGHUP: a listener's proxy_protocol taken off, and put back --------------------------
# reload_conf SED — the configuration changed by SED, SIGHUP, the reload's log line awaited
reload_conf() {
	local n i
	n=$(grep -c 'reloaded' "$S3GATE_LOG")
	sed -i "$1" "$S3GATE_CONF"
	kill -HUP "$S3GATE_PID"
	reloaded_since() { [ "$(grep -c 'reloaded' "$S3GATE_LOG")" -gt "$n" ]; }
	wait_for 15 reloaded_since && return 0
	echo "no reload said in the log"; return 1
}
hup_off() {
	local got
	reload_conf "s|^listen 127.0.0.1:$PX proxy_protocol\$|listen 127.0.0.1:$PX|" || return 1
	local n0; n0=$(access_lines)
	got=$($PP "$PX" --v1 10.66.6.6)
	wait_for 10 access_grew "$n0"	# its line (written once the answer has gone out)
	echo "a PROXY line after the reload: $got, logged as from $(last_remote)"
	[ "$got" = 400 ] && [ "$(last_remote)" = 127.0.0.1 ]
}
tc "PROXY: SIGHUP after proxy_protocol is taken off a listener: a PROXY line there is a bad request (400), no address taken" hup_off
hup_on() {
	local got
	reload_conf "s|^listen 127.0.0.1:$PX\$|listen 127.0.0.1:$PX proxy_protocol|" || return 1
	got=$($PP "$PX" --none)
	[ "$got" = closed ] || { echo "no header after it is put back: $got"; return 1; }
	pp_answer 403 10.66.6.7 "$PX" --v1 10.66.6.7
}
tc "PROXY: SIGHUP after it is put back: a request without a header is closed, a header's address taken" hup_on

# ---- two workers: the count shared through quotashm ---------------------------------------
PX2=$(free_port)
TX2=$(free_port)
if s3gate_start b13w "workers 2" "listen 127.0.0.1:$PX2 proxy_protocol" \
	"listen 127.0.0.1:$TX2 tls proxy_protocol" "tls_certificate $T/certs/k.pem $T/certs/k.key" \
	"max_connections_per_ip 3" "head_timeout 1s" "idle_timeout 2s" "policy_store file $B13_DIR/policy" \
	"proxy_protocol_from 127.0.0.1"; then
	two_workers() { churn "$PX2" "$TX2" 10.13.2.1 && churn "$PX2" "$TX2" 10.13.2.1 && at_cap "$PX2" 10.13.2.1; }
	tc "PROXY, two workers: the same churn twice, then 10.13.2.1 holds exactly 3 at once" two_workers
	s3gate_stop b13w || t_fail "s3gate b13w exits 0 on SIGTERM" "see $T/b13w/s3gate.log"
else
	t_fail "s3gate b13w (workers 2) starts" "see $T/b13w/s3gate.log"
fi
S3GATE_NAME=b13 S3GATE_DIR=$B13_DIR S3GATE_CONF=$B13_CONF S3GATE_LOG=$B13_DIR/s3gate.log
S3GATE_PID=$B13_PID S3GATE_PORT=$B13_PORT

# SIGTERM with connections parked in PROXY_HEADER: they go at head_timeout (1 s), not at the
# drain's end (shutdown_timeout, 30 s).  (In this shell: s3gate is its child.)
rm -f "$T/parked.ready"
$PP "$PX" --raw 'PROXY TCP4 10.13.9.9' --hold 5 --count 3 --ready "$T/parked.ready" >/dev/null &
PARKED=$!
pp_ready "$T/parked.ready"
t0=$(date +%s%N)
s3gate_stop b13
rc=$?
t0=$((($(date +%s%N) - t0) / 1000000))
wait "$PARKED"
if [ $rc = 0 ] && [ "$t0" -lt 3000 ] && grep -q "draining 3 connections" "$B13_DIR/s3gate.log"; then
	t_pass "PROXY: SIGTERM with 3 connections parked mid-header: s3gate exits 0 in $t0 ms, at head_timeout, not the drain's end"
else
	t_fail "PROXY: SIGTERM with 3 connections parked mid-header" "s3gate_stop: $rc after $t0 ms; $(grep draining "$B13_DIR/s3gate.log")"
fi
exit 0
