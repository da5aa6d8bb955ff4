#!/bin/bash
# A backend gateway that takes connections and then fails the requests on
# them (proxy/upstream.h): it resets or closes a new connection before any
# answer, or gives none within backend_timeout, or (opted into with
# backend_fail_status) answers 502/503/504.  Such a gateway is skipped for
# backend_fail_timeout, as one that refuses connections is (t_backends);
# a GET goes to the next gateway, a PUT, DELETE or POST is answered the
# error and never sent twice; idle pooled connections to a gateway marked
# down are closed.
#
# Found and fixed: before, only a failed connect marked an address down,
#   and any connect that worked put it back.  A gateway that took
#   connections and reset or closed them (a crashed RGW behind something
#   still accepting) kept its turn of every new connection: with RGW and a
#   resetting and a closing stand-in (backend_pool_size 0), 14 of 20 GETs
#   were 502 BadGateway, each stand-in reading 8; with RGW and a silent
#   one (backend_timeout 3s), 4 of 6 GETs were 504 GatewayTimeout, 12 s in
#   all.  Pooled connections to a gateway the readiness probe had marked
#   down stayed open and in the pool until their idle timeout (30 s; now
#   closed at once, 2 s after the gateway left).
#
# The gateways here are the real RGW (127.0.0.1:RGW_PORT) and stand-ins on
# 127.0.2.x at the same port (helpers/tcprelay.py gateway: they count the
# request heads they read, and their open connections); the URL's host
# resolves nowhere, backend_addresses is where s3gate connects.
#
# Checked: 20 GETs through RGW and a resetting and a closing stand-in all
# 200, byte for byte, each stand-in reading one request within its 30 s
# fail timeout (s3gate_backend_marked_down_total{reason="reset"} 2,
# s3gate_backend_address_up 0); with two failing stand-ins only, a GET
# tried at both and answered 502, a PUT, a DELETE and a POST (?uploads)
# at one only (never sent again), answered 502, but a PUT waiting for its
# 100 Continue (no body byte sent) tried at both; a silent stand-in: a GET
# answered by RGW after backend_timeout, the stand-in marked down
# (reason="timeout"); two silent ones: a DELETE 504 after one, a GET 504
# after both; a stand-in answering 503: relayed to the client and dialled
# again and again without backend_fail_status, with it marked down at its
# first 503 (that answer still relayed, the GETs after it all RGW's,
# reason="status"); pooled connections to a stand-in that then goes away
# (its listener closed, its connections kept): closed once the readiness
# probe finds it gone, and no request on them after.
# Workspace: ws-bk2<id>.
. "$(dirname "$0")/lib.sh"

need_s3gate "failing backend gateways" "s3gate's own dialling: nothing to test against RGW"
ID=$(rand_id)
P=bk2$ID
B=ws-$P
RP=${RGW_ENDPOINT##*:}
RELAY="$PY3 $LIB_DIR/helpers/tcprelay.py"
URL_HOST=rgw.s3gate-test.invalid

# standin ADDR MODE — a failing gateway on ADDR:RP (tcprelay.py gateway);
# its count files $T/gw-ADDR (requests) and $T/gw-ADDR.open; pid in GW_PID
standin() {
	local f=$T/gw-$1
	$RELAY gateway "$1:$RP" "$2" --count "$f" >"$f.ready" 2>"$f.err" &
	GW_PID=$!
	lib_on_exit "kill $GW_PID 2>/dev/null"
	wait_for 10 grep -q ready "$f.ready" || { t_fail "setup: a $2 stand-in on $1:$RP" "$(cat "$f.err")"; exit 1; }
}
# reqs ADDR — request heads the stand-in on ADDR has read; opened ADDR — its open connections
reqs() { cat "$T/gw-$1" 2>/dev/null || echo 0; }
opened() { cat "$T/gw-$1.open" 2>/dev/null || echo 0; }
standin 127.0.2.1 reset
standin 127.0.2.2 close
standin 127.0.2.3 silent
standin 127.0.2.4 silent
standin 127.0.2.5 503
standin 127.0.2.6 200
GW6_PID=$GW_PID

# start NAME ADDRESSES [DIRECTIVES...] — an s3gate with one worker (each
# learns on its own) dialling ADDRESSES, the first one's policy shared
start() {
	local name=$1 addrs=$2; shift 2
	s3gate_start "$name" "workers 1" "backend http://$URL_HOST:$RP" "backend_addresses $addrs" \
		"backend_fail_timeout 30s" ${POLICY:+"policy_store file $POLICY"} "$@" ||
		{ t_fail "s3gate $name starts" "see $T/$name/s3gate.log"; exit 1; }
}
start live "127.0.0.1 127.0.2.1 127.0.2.2" "backend_pool_size 0"
LIVE_EP=$S3GATE_ENDPOINT LIVE_ADMIN=$S3GATE_ADMIN_URL LIVE_LOG=$S3GATE_LOG POLICY=$S3GATE_DIR/policy
if ! out=$({ ws_setup "$P" "$B" && s3gate_cred "$P"; } 2>&1); then t_fail "setup: $B and $P's credentials" "$out"; exit 1; fi
mkfile "$T/obj" 1
backend_aws s3api put-object --bucket "$B" --key obj --body "$T/obj" >/dev/null || t_fail "setup: an object at RGW"
until_ok "$P" "$LIVE_EP/$B/obj" >"$T/until.out" || { t_fail "setup: s3gate live serves $P" "$(cat "$T/until.out")"; exit 1; }

# gets URL N — N signed GETs of obj, each 200 and byte for byte; says which failed
gets() { get_each "$P" "$1/$B/obj" "$T/obj" "$2"; }
# marked ADMIN REASON — s3gate_backend_marked_down_total{reason=REASON}
marked() { metric "$1" "s3gate_backend_marked_down_total{reason=\"$2\"}"; }
# addr_up ADMIN ADDR — s3gate_backend_address_up of ADDR:RP
addr_up() { metric "$1" "s3gate_backend_address_up{address=\"$2:$RP\"}"; }

tc "20 GETs through RGW, a stand-in that resets and one that closes before answering: all 200, byte for byte" \
	gets "$LIVE_EP" 20
once_each() {
	echo "# requests read: resetting $(reqs 127.0.2.1), closing $(reqs 127.0.2.2)"
	grep "backend 127.0.2.[12]:$RP" "$LIVE_LOG" | sed 's/^/#   /'
	[ "$(reqs 127.0.2.1)" = 1 ] && [ "$(reqs 127.0.2.2)" = 1 ] &&
		grep -q "backend 127.0.2.1:$RP: .*; not dialled for 30000 ms" "$LIVE_LOG" &&
		grep -q "backend 127.0.2.2:$RP: closed before an answer; not dialled for 30000 ms" "$LIVE_LOG" &&
		[ "$(grep -c "sent to the next address" "$LIVE_LOG")" = 2 ]
}
tc "each stand-in read one request (then skipped for backend_fail_timeout), each GET sent to the next address" once_each
live_metrics() {
	curl -s --max-time 5 "$LIVE_ADMIN/metrics" | grep -E '^s3gate_backend_(address_up|marked_down)' | sed 's/^/#   /'
	[ "$(marked "$LIVE_ADMIN" reset)" = 2 ] && [ "$(marked "$LIVE_ADMIN" connect)" = 0 ] &&
		[ "$(marked "$LIVE_ADMIN" timeout)" = 0 ] && [ "$(marked "$LIVE_ADMIN" status)" = 0 ] &&
		[ "$(addr_up "$LIVE_ADMIN" 127.0.2.1)" = 0 ] && [ "$(addr_up "$LIVE_ADMIN" 127.0.2.2)" = 0 ] &&
		[ "$(addr_up "$LIVE_ADMIN" 127.0.0.1)" = 1 ]
}
tc "/metrics: s3gate_backend_marked_down_total{reason=\"reset\"} 2 (connect, timeout, status 0), the stand-ins' address_up 0" \
	live_metrics

# Only failing gateways: what may go again goes to the other one, the rest
# is answered the error.  Both stand-ins are tried whatever the turn.
start twobad "127.0.2.1 127.0.2.2" "backend_pool_size 0"
BAD_EP=$S3GATE_ENDPOINT
mkbytes "$T/small" 100
# sent_to N EXPECT_CODE CURL_ARGS... — the request is answered EXPECT_CODE
# and the two stand-ins read N requests of it between them
sent_to() {
	local n=$1 want=$2 before code; shift 2
	before=$(( $(reqs 127.0.2.1) + $(reqs 127.0.2.2) ))
	code=$(curl_sigv4 "$P" --max-time 20 -o "$T/bad.b" -w '%{http_code}' "$@" 2>/dev/null)
	echo "# HTTP $code, the stand-ins read $(( $(reqs 127.0.2.1) + $(reqs 127.0.2.2) - before ))"
	[ "$code" = "$want" ] && [ $(( $(reqs 127.0.2.1) + $(reqs 127.0.2.2) - before )) = "$n" ] ||
		{ head -c 300 "$T/bad.b"; return 1; }
}
tc "both gateways fail: a GET tried at each (sent again once), then 502" sent_to 2 502 "$BAD_EP/$B/obj"
tc "a PUT whose answer was lost: 502, read once (not sent again)" \
	sent_to 1 502 -X PUT --data-binary "@$T/small" "$BAD_EP/$B/put-once"
tc "a PUT with Expect: 100-continue failed before its 100 (no body byte sent): tried at each, then 502" \
	sent_to 2 502 -X PUT -H "Expect: 100-continue" --data-binary "@$T/small" "$BAD_EP/$B/put-twice"
tc "a DELETE whose answer was lost: 502, read once (not sent again)" sent_to 1 502 -X DELETE "$BAD_EP/$B/obj"
tc "a POST (CreateMultipartUpload) whose answer was lost: 502, read once (not sent again)" \
	sent_to 1 502 -X POST "$BAD_EP/$B/mpu?uploads="

# A gateway that never answers: backend_timeout, then the next one.
start silent "127.0.0.1 127.0.2.3" "backend_pool_size 0" "backend_timeout 3s"
SILENT_EP=$S3GATE_ENDPOINT SILENT_ADMIN=$S3GATE_ADMIN_URL SILENT_LOG=$S3GATE_LOG
silent_once() {
	gets "$SILENT_EP" 6 || return 1
	echo "# the silent stand-in read $(reqs 127.0.2.3)"
	[ "$(reqs 127.0.2.3)" = 1 ] && [ "$(marked "$SILENT_ADMIN" timeout)" = 1 ] &&
		[ "$(addr_up "$SILENT_ADMIN" 127.0.2.3)" = 0 ] &&
		grep -q "backend 127.0.2.3:$RP: no answer within backend_timeout; not dialled for 30000 ms" "$SILENT_LOG"
}
tc "a gateway that never answers: 6 GETs all 200 from RGW, the silent one read one (backend_timeout 3s), reason=\"timeout\"" \
	silent_once
start silent2 "127.0.2.3 127.0.2.4" "backend_pool_size 0" "backend_timeout 2s"
SILENT2_EP=$S3GATE_ENDPOINT
# timed_out N CURL_ARGS... — 504 GatewayTimeout and N requests read by the two silent stand-ins
timed_out() {
	local n=$1 before code; shift
	before=$(( $(reqs 127.0.2.3) + $(reqs 127.0.2.4) ))
	code=$(curl_sigv4 "$P" --max-time 20 -o "$T/slow.b" -w '%{http_code}' "$@" 2>/dev/null)
	echo "# HTTP $code, the stand-ins read $(( $(reqs 127.0.2.3) + $(reqs 127.0.2.4) - before ))"
	[ "$code" = 504 ] && [ $(( $(reqs 127.0.2.3) + $(reqs 127.0.2.4) - before )) = "$n" ] ||
		{ head -c 300 "$T/slow.b"; return 1; }
}
tc "two gateways that never answer: a DELETE 504, read once (not sent again)" timed_out 1 -X DELETE "$SILENT2_EP/$B/obj"
tc "... a GET 504, read by both (sent again once)" timed_out 2 "$SILENT2_EP/$B/obj"

# A gateway that answers 503 to everything: its own failure only when
# backend_fail_status says so.
# statuses URL N — N GETs; prints their statuses, one line; obj's bytes checked for each 200
statuses() {
	local i code out=""
	for i in $(seq "$2"); do
		code=$(curl_sigv4 "$P" --max-time 20 -o "$T/st.b" -w '%{http_code}' "$1/$B/obj" 2>/dev/null)
		if [ "$code" = 200 ] && ! same_file "$T/obj" "$T/st.b" >/dev/null; then code=200-other-bytes; fi
		if [ "$code" = 503 ]; then cp "$T/st.b" "$T/st.503"; fi
		out="$out $code"
	done
	echo "$out"
}
start st_off "127.0.0.1 127.0.2.5" "backend_pool_size 0"
ST_OFF_EP=$S3GATE_ENDPOINT ST_OFF_ADMIN=$S3GATE_ADMIN_URL
status_off() {
	local n0 got
	n0=$(reqs 127.0.2.5)
	got=$(statuses "$ST_OFF_EP" 10)
	echo "# statuses:$got; the 503 stand-in read $(( $(reqs 127.0.2.5) - n0 ))"
	[ $(( $(reqs 127.0.2.5) - n0 )) -ge 2 ] && [ "$(grep -o ' 503' <<<"$got" | wc -l)" = $(( $(reqs 127.0.2.5) - n0 )) ] &&
		[ "$(marked "$ST_OFF_ADMIN" status)" = 0 ] && [ "$(addr_up "$ST_OFF_ADMIN" 127.0.2.5)" = 1 ]
}
tc "without backend_fail_status a gateway's 503s are relayed and it stays in turn (read at least 2 of 10 GETs)" status_off
start st_on "127.0.0.1 127.0.2.5" "backend_pool_size 0" "backend_fail_status 502 503 504"
ST_ON_EP=$S3GATE_ENDPOINT ST_ON_ADMIN=$S3GATE_ADMIN_URL ST_ON_LOG=$S3GATE_LOG
status_on() {
	local n0 got
	n0=$(reqs 127.0.2.5)
	got=$(statuses "$ST_ON_EP" 10)
	echo "# statuses:$got; the 503 stand-in read $(( $(reqs 127.0.2.5) - n0 ))"
	[ $(( $(reqs 127.0.2.5) - n0 )) = 1 ] && [ "$(grep -o ' 503' <<<"$got" | wc -l)" = 1 ] &&
		[ "$(grep -o ' 200' <<<"$got" | wc -l)" = 9 ] &&
		grep -q "stand-in gateway 127.0.2.5:$RP answers 503" "$T/st.503" &&
		[ "$(marked "$ST_ON_ADMIN" status)" = 1 ] && [ "$(addr_up "$ST_ON_ADMIN" 127.0.2.5)" = 0 ] &&
		grep -q "backend 127.0.2.5:$RP: answered 503; not dialled for 30000 ms" "$ST_ON_LOG"
}
tc "backend_fail_status 502 503 504: the first 503 relayed as it came, the gateway skipped after it (1 of 10 GETs; 9 x 200 from RGW), reason=\"status\"" \
	status_on

# Pooled connections to a gateway that goes away.  The stand-in answers
# 200 "ok" (not the object: a GET it serves is told by its bytes); parallel
# GETs leave connections to it in the pool; its listener then closes, its
# connections stay open.  The readiness probe (every 2 s, each address in
# turn) is refused there, which marks it down: its idle connections must
# close then, not at their idle timeout (30 s), and no request may take one.
start pool "127.0.0.1 127.0.2.6"
POOL_EP=$S3GATE_ENDPOINT POOL_ADMIN=$S3GATE_ADMIN_URL
# parallel N — N GETs at once (curl -Z), their statuses on one line
parallel() {
	local -a args=()
	local i
	for i in $(seq "$1"); do args+=(-o /dev/null "$POOL_EP/$B/obj"); done
	curl_sigv4 "$P" --max-time 20 -Z --parallel-immediate --parallel-max "$1" -w '%{http_code} ' "${args[@]}" 2>/dev/null
}
_pooled6() { parallel 8 >/dev/null; [ "$(opened 127.0.2.6)" -ge 1 ]; }
if wait_for 20 _pooled6; then
	echo "# pooled: $(opened 127.0.2.6) connection(s) open at the stand-in, $(reqs 127.0.2.6) requests read"
else
	FAIL_WHY="setup: no pooled connection to 127.0.2.6 after 20 s of 8 GETs at once ($(reqs 127.0.2.6) requests read)"
fi
pool_flushed() {
	kill -USR1 "$GW6_PID"
	wait_for 15 eval '[ "$(opened 127.0.2.6)" = 0 ]' ||
		{ echo "still $(opened 127.0.2.6) open at the stand-in; connect: $(marked "$POOL_ADMIN" connect)"; return 1; }
	[ "$(marked "$POOL_ADMIN" connect)" -ge 1 ] && [ "$(addr_up "$POOL_ADMIN" 127.0.2.6)" = 0 ]
}
tc "a gateway goes away: its idle pooled connections closed once it is marked down (within 15 s; their idle timeout is 30 s)" \
	pool_flushed
pool_unused() {
	local n0 i got
	n0=$(reqs 127.0.2.6)
	for i in 1 2 3; do
		got=$(parallel 8)
		[ "$(tr -s ' ' '\n' <<<"$got" | grep -c '^200$')" = 8 ] || { echo "round $i: $got"; return 1; }
	done
	gets "$POOL_EP" 5 && [ "$(reqs 127.0.2.6)" = "$n0" ] ||
		{ echo "the stand-in read $(( $(reqs 127.0.2.6) - n0 )) more"; return 1; }
}
tc "... and no request goes to it after: 3 x 8 GETs at once and 5 more all 200 (RGW's bytes), none read there" pool_unused
exit 0
