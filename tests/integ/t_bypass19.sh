#!/bin/bash
# Nineteenth audit: the backend gateways' passive health checks
# (proxy/upstream.h, conn_backend.c) as an attack surface -- a verdict on
# a gateway every tenant shares, taken from what one tenant's request
# does.  Driven against the real RGW, through relays on 127.0.2.x in
# front of it (helpers/tcprelay.py relay: each counts its connections;
# with --hold, RGW's answer to a request carrying a marker is held back,
# a gateway slow at one operation) and stand-ins that fail requests.
#
# Found and fixed:
#   a timeout was held against the gateway whatever the request (c6c3d17,
#     cd63347): a PUT, POST or DELETE a working gateway is slow to answer
#     (a copy, a CompleteMultipartUpload of many parts, a loaded cluster)
#     and any tenant may send marked it down for backend_fail_timeout.
#     With RGW behind two relays holding its answer to a request naming
#     "slow19" for 3 s (backend_timeout 1s): a DeleteObjects 504 and
#     reason="timeout" 1, a PUT and a CopyObject more and both gateways
#     down for 30 s -- one tenant's three requests; a listing (a GET a
#     tenant can make slow: many versions or delete markers to skip)
#     marked both down too.  Now only the timeout of an object's GET or
#     HEAD counts (a listing goes to the next gateway unmarked); nginx counts
#     every timeout (max_fails=1: the same hole), HAProxy's observe layer7
#     only runs a check.  The real RGW gave no slow head to drive it with
#     here: DeleteObjects of 1000 keys answers its head at once (results
#     streamed), CompleteMultipartUpload of 100 parts took 63 ms, a
#     CopyObject of 500 MB 89 ms.
#   the readiness probe's connect put any address back up (65f24f6): with
#     every gateway taking connections and then resetting or closing
#     requests, each probe (2 s) brought one back (address_up 0 1 after two
#     dials), requests went to it as to a working one.  Now a connect taken
#     brings back only an address that failed a connect.
#   an answer head that is not HTTP was held against nothing (400ce1c):
#     the gateway kept its turn, a GET it got answered 502 though RGW was
#     there.  Now reason="invalid", and a GET or HEAD goes to the next.
# Tried and held (each checked below):
#   an object's GET still counts its timeout (sent to the next once, both
#     marked);
#   a client that closes or resets while RGW's answer to its GET, HEAD or
#     DELETE is held: s3gate waits the answer out (the client's side is not
#     read meanwhile) and logs the request, nothing marked down;
#   making RGW drop a request: a 30000-byte x-amz-meta header (under
#     s3gate's 32k) gets RGW's own 400 (beast's header limit), an
#     UploadPart of an unknown upload gets 404 NoSuchUpload before its 64
#     MB body and RGW closes, straight to RGW: relayed, nothing marked.  By
#     hand (not checked here): x-amz-meta values in UTF-8 come back raw,
#     with bytes 0x80-0xFF RFC 2047-encoded, control bytes are refused at
#     s3gate's door, a 60000-byte one by RGW: no tenant makes RGW's answer
#     head bad, and one too large (metadata) is not counted;
#   a GET sent again (a resetting gateway first, never marked down): one
#     access-log line and one use of a --max-uses link each (the link's 21st
#     use refused); a POST with an empty body and a DELETE with Expect:
#     100-continue whose answers were lost: 502, read once; a PUT whose 100
#     Continue never comes (s3gate says it after 1 s, the body goes) and no
#     answer: 504, read once, not marked;
#   a request waiting for its 100 Continue (none of its body sent) whose
#     connection closes goes to the next gateway, also one RGW acts on
#     without reading its body (CreateMultipartUpload, a DELETE, a copy,
#     each with a body): RGW says its 100 first, before any final answer
#     (asked straight), so a close before it is one before it acted;
#   /readyz with every gateway failing requests: 200 "backend ok" (what it
#     measures: they take connections), neither put back up.
# By reading (no check): a retried GET goes out with the head first built
#   (its x-amz-date and signature; Host is the backend URL's, the same for
#   every address): a retry comes at most backend_timeout later, under
#   RGW's 15-minute skew with the default (300 s), not with a
#   backend_timeout past 15 min.  The request rate and connection quotas
#   are taken once per client request (auth.c), bandwidth on the bytes
#   relayed: never per dial.  The pool (server_backend_take): an idle
#   connection's stray bytes or EOF close it while the loop watches it; a
#   PUT, POST or DELETE peeks before taking one; a GET or HEAD takes a
#   watched one unpeeked (a recv(2) would cost a HEAD ~5%), so bytes that
#   arrive within the loop turn that takes it (queued behind the client's
#   event, or after epoll_wait returned) are read as its answer, as any
#   are after a peek until the real answer comes: a gateway that sends
#   unasked answers can still answer one request with another's bytes.
#   Left open: only a read per reuse closes it.
# Workspace: ws-b19<id>.
. "$(dirname "$0")/lib.sh"

need_s3gate "nineteenth audit" "s3gate's own health checks: nothing to test against RGW"
ID=$(rand_id)
P=b19$ID
B=ws-$P
RP=${RGW_ENDPOINT##*:}
RELAY="$PY3 $LIB_DIR/helpers/tcprelay.py"
URL_HOST=rgw.s3gate-test.invalid

# relay_on ADDR MARKER SECONDS — a relay to RGW on ADDR:RP holding RGW's
# answer to a request carrying MARKER for SECONDS; counts in $T/relay-ADDR
relay_on() {
	local f=$T/relay-$1
	$RELAY relay "$1:$RP" "127.0.0.1:$RP" --count "$f" --hold "$2" "$3" >"$f.ready" 2>"$f.err" &
	lib_on_exit "kill $! 2>/dev/null"
	wait_for 10 grep -q ready "$f.ready" || { t_fail "setup: a relay on $1:$RP" "$(cat "$f.err")"; exit 1; }
}
# held ADDR — answers the relay on ADDR held so far
held() { cat "$T/relay-$1.held" 2>/dev/null || echo 0; }
# start NAME ADDRESSES [DIRECTIVES...] — one worker (each learns on its
# own), no pool (every request on a new connection: each counts)
start() {
	local name=$1 addrs=$2; shift 2
	s3gate_start "$name" "workers 1" "backend http://$URL_HOST:$RP" "backend_addresses $addrs" \
		"backend_fail_timeout 30s" "backend_pool_size 0" ${POLICY:+"policy_store file $POLICY"} "$@" ||
		{ t_fail "s3gate $name starts" "see $T/$name/s3gate.log"; exit 1; }
}
# marked ADMIN REASON — s3gate_backend_marked_down_total{reason=REASON}
marked() { metric "$1" "s3gate_backend_marked_down_total{reason=\"$2\"}"; }
# addr_up ADMIN ADDR — s3gate_backend_address_up of ADDR:RP
addr_up() { metric "$1" "s3gate_backend_address_up{address=\"$2:$RP\"}"; }
# none_down ADMIN ADDR... — nothing marked down for any reason, each ADDR up
none_down() {
	local admin=$1 r a; shift
	for r in connect reset timeout status; do
		[ "$(marked "$admin" "$r")" = 0 ] || { echo "marked down for $r: $(marked "$admin" "$r")"; return 1; }
	done
	for a in "$@"; do [ "$(addr_up "$admin" "$a")" = 1 ] || { echo "$a not up"; return 1; }; done
}

relay_on 127.0.2.21 slow19 3
relay_on 127.0.2.22 slow19 3
start slow "127.0.2.21 127.0.2.22" "backend_timeout 1s"
SLOW_EP=$S3GATE_ENDPOINT SLOW_ADMIN=$S3GATE_ADMIN_URL SLOW_LOG=$S3GATE_LOG POLICY=$S3GATE_DIR/policy
if ! out=$({ ws_setup "$P" "$B" && s3gate_cred "$P"; } 2>&1); then t_fail "setup: $B and $P's credentials" "$out"; exit 1; fi
mkbytes "$T/obj" 1000
backend_aws s3api put-object --bucket "$B" --key obj --body "$T/obj" >/dev/null || t_fail "setup: an object at RGW"
until_ok "$P" "$SLOW_EP/$B/obj" >"$T/until.out" || { t_fail "setup: s3gate slow serves $P" "$(cat "$T/until.out")"; exit 1; }

# ---- 1. a tenant's slow request ----------------------------------------------------------

# answered CODE CURL_ARGS... — the request is answered CODE
answered() {
	local want=$1 code; shift
	code=$(curl_sigv4 "$P" --max-time 20 -D "$T/ans.h" -o "$T/ans.b" -w '%{http_code}' "$@" 2>/dev/null)
	[ "$code" = "$want" ] || { echo "HTTP $code, not $want"; head -c 300 "$T/ans.b"; return 1; }
}
# delete_objects URL KEY... — a DeleteObjects of KEYs (Content-MD5 as S3 wants)
delete_objects() {
	local url=$1 k md5; shift
	{ printf '<Delete><Quiet>true</Quiet>'; for k in "$@"; do printf '<Object><Key>%s</Key></Object>' "$k"; done
	  printf '</Delete>'; } >"$T/del.xml"
	md5=$(openssl dgst -md5 -binary "$T/del.xml" | base64)
	answered 504 -X POST -H "Content-MD5: $md5" --data-binary "@$T/del.xml" "$url/$B?delete="
}
slow_post() {
	local h0=$(( $(held 127.0.2.21) + $(held 127.0.2.22) ))
	delete_objects "$SLOW_EP" a/slow19 b c || return 1
	echo "# answers held: $(( $(held 127.0.2.21) + $(held 127.0.2.22) - h0 ))"
	[ $(( $(held 127.0.2.21) + $(held 127.0.2.22) - h0 )) = 1 ] || return 1
	none_down "$SLOW_ADMIN" 127.0.2.21 127.0.2.22
}
tc "a DeleteObjects RGW answers after backend_timeout (held 3 s, timeout 1 s): 504, and no gateway marked down" slow_post
slow_put() {
	answered 504 -X PUT --data-binary "@$T/obj" "$SLOW_EP/$B/slow19" || return 1
	answered 504 -X PUT -H "x-amz-copy-source: /$B/obj" "$SLOW_EP/$B/copy-slow19" || return 1
	none_down "$SLOW_ADMIN" 127.0.2.21 127.0.2.22
}
tc "... a PUT and a CopyObject likewise: 504 each, no gateway marked down" slow_put
slow_list() {
	local h0=$(( $(held 127.0.2.21) + $(held 127.0.2.22) ))
	answered 504 "$SLOW_EP/$B?list-type=2&prefix=slow19" || return 1
	echo "# answers held: $(( $(held 127.0.2.21) + $(held 127.0.2.22) - h0 ))"
	[ $(( $(held 127.0.2.21) + $(held 127.0.2.22) - h0 )) = 2 ] && none_down "$SLOW_ADMIN" 127.0.2.21 127.0.2.22
}
tc "... a listing (a bucket of many delete markers to skip is slow): sent to the next once, 504, no gateway marked down" slow_list
slow_get() {
	local h0=$(( $(held 127.0.2.21) + $(held 127.0.2.22) ))
	answered 504 "$SLOW_EP/$B/slow19" || return 1
	echo "# answers held: $(( $(held 127.0.2.21) + $(held 127.0.2.22) - h0 ))"
	[ $(( $(held 127.0.2.21) + $(held 127.0.2.22) - h0 )) = 2 ] && [ "$(marked "$SLOW_ADMIN" timeout)" = 2 ] &&
		[ "$(addr_up "$SLOW_ADMIN" 127.0.2.21)" = 0 ] && [ "$(addr_up "$SLOW_ADMIN" 127.0.2.22)" = 0 ] &&
		grep -q "no answer within backend_timeout; sent to the next address" "$SLOW_LOG"
}
tc "a GET of an object still counts: no answer within backend_timeout at either gateway, sent to the next once, 504, both marked down (reason=\"timeout\")" slow_get

# ---- 2. a client gone while s3gate waits; requests RGW might drop ---------------------------

relay_on 127.0.2.23 late19 1.5
relay_on 127.0.2.24 late19 1.5
start late "127.0.2.23 127.0.2.24" "backend_timeout 10s"
LATE_EP=$S3GATE_ENDPOINT LATE_ADMIN=$S3GATE_ADMIN_URL LATE_LOG=$S3GATE_LOG LATE_PORT=$S3GATE_PORT
read -r RAW_AKID RAW_SECRET _ <"$T/profiles/$P"
export RAW_AKID RAW_SECRET RAW_REGION=$S3_REGION
# gone_client MODE METHOD PATH — a signed request whose client leaves (MODE
# fin: closes, rst: resets) once a relay holds RGW's answer to it
gone_client() {
	"$PY3" - "$LIB_DIR/helpers" "$LATE_PORT" "$@" "$T/relay-127.0.2.23.held" "$T/relay-127.0.2.24.held" <<'PY'
import os, socket, struct, sys, time
sys.path.insert(0, sys.argv[1])
import rawhttp
port, mode, method, path, held = int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5], sys.argv[6:]
def nheld():
    n = 0
    for f in held:
        try:
            n += int(open(f).read())
        except (OSError, ValueError):
            pass
    return n
h0 = nheld()
sig = rawhttp.sigv4_headers(method, path, "127.0.0.1", os.environ["RAW_AKID"], os.environ["RAW_SECRET"],
                            os.environ["RAW_REGION"], "UNSIGNED-PAYLOAD")
s = socket.create_connection(("127.0.0.1", port))
s.sendall(("%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\n%sContent-Length: 0\r\n\r\n" % (method, path, sig)).encode())
end = time.time() + 10
while nheld() == h0 and time.time() < end:
    time.sleep(0.05)
if mode == "rst":
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
s.close()
PY
}
# gone MODE METHOD PATH — the request is logged (s3gate saw it through) and no gateway is marked down
gone() {
	local n0 h0
	n0=$(access_lines) h0=$(( $(held 127.0.2.23) + $(held 127.0.2.24) ))
	gone_client "$@" || return 1
	wait_for 15 access_grew "$n0" || { echo "no access-log line for it"; return 1; }
	echo "# answers held: $(( $(held 127.0.2.23) + $(held 127.0.2.24) - h0 )); $(tail -n 1 "$S3GATE_DIR/access.log" | head -c 300)"
	[ $(( $(held 127.0.2.23) + $(held 127.0.2.24) - h0 )) = 1 ] && none_down "$LATE_ADMIN" 127.0.2.23 127.0.2.24
}
tc "a client that closes while RGW's answer to its GET is held: not held against the gateway" gone fin GET "/$B/late19"
tc "... one that resets: likewise" gone rst GET "/$B/late19"
tc "... a HEAD, a DELETE: likewise" eval 'gone rst HEAD "/$B/late19" && gone fin DELETE "/$B/late19-absent"'

# shape CODE CURL_ARGS... — answered CODE, nothing marked down at either gateway
shape() { answered "$@" && none_down "$LATE_ADMIN" 127.0.2.23 127.0.2.24; }
mkbytes "$T/big" 8000000
pad=$(head -c 30000 /dev/zero | tr '\0' a)
tc "a PUT with a 30000-byte x-amz-meta header (s3gate's head limit 32k): RGW's own 400 (its header limit), no reset" \
	shape 400 -X PUT -H "x-amz-meta-pad: $pad" --data-binary "@$T/obj" "$LATE_EP/$B/pad"

# An answer before the body: RGW says 404 NoSuchUpload to an UploadPart of
# an unknown upload at once, 64 MB of body unread, and closes.  Straight to
# RGW (no relay between: its close and s3gate's unsent bytes meet as they
# would in production), the only address.
start direct "127.0.0.1"
DIRECT_PORT=$S3GATE_PORT DIRECT_ADMIN=$S3GATE_ADMIN_URL
early_answer() {
	local out
	out=$("$PY3" - "$LIB_DIR/helpers" "$DIRECT_PORT" "/$B/mp?partNumber=1&uploadId=bogus19" 64000000 <<'PY'
import os, socket, sys
sys.path.insert(0, sys.argv[1])
import rawhttp
port, path, n = int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
sig = rawhttp.sigv4_headers("PUT", path, "127.0.0.1", os.environ["RAW_AKID"], os.environ["RAW_SECRET"],
                            os.environ["RAW_REGION"], "UNSIGNED-PAYLOAD")
s = socket.create_connection(("127.0.0.1", port), timeout=20)
s.sendall(("PUT %s HTTP/1.1\r\nHost: 127.0.0.1\r\n%sContent-Length: %d\r\n\r\n" % (path, sig, n)).encode())
sent, chunk = 0, b"x" * 65536
try:
    while sent < n:
        sent += s.send(chunk[:min(len(chunk), n - sent)])
except OSError:
    pass
s.settimeout(15)
got = b""
try:
    while b"</Error>" not in got:
        d = s.recv(65536)
        if not d:
            break
        got += d
except OSError:
    pass
print(got.split(b"\r\n")[0].decode(), "sent", sent, got[got.find(b"<Code>"):got.find(b"</Code>")].decode())
PY
)
	echo "# $out"
	grep -q "^HTTP/1.1 404 .*<Code>NoSuchUpload" <<<"$out" && none_down "$DIRECT_ADMIN" 127.0.0.1
}
tc "an UploadPart RGW refuses before its 64 MB body (404 NoSuchUpload, then closes): relayed, not held against RGW" early_answer

# ---- 3. a request sent again: counted once; what is never sent twice ---------------------

# stand-in ADDR MODE — a failing gateway (tcprelay.py gateway) on ADDR:RP; reqs ADDR: heads it read
standin() {
	local f=$T/gw-$1
	$RELAY gateway "$1:$RP" "$2" --count "$f" >"$f.ready" 2>"$f.err" &
	lib_on_exit "kill $! 2>/dev/null"
	wait_for 10 grep -q ready "$f.ready" || { t_fail "setup: a $2 stand-in on $1:$RP" "$(cat "$f.err")"; exit 1; }
}
reqs() { cat "$T/gw-$1" 2>/dev/null || echo 0; }
standin 127.0.2.25 reset
standin 127.0.2.26 close
standin 127.0.2.27 silent
standin 127.0.2.28 silent

# A gateway that resets, never marked down (backend_fail_timeout 0): every
# request in its turn goes there first, a GET then to RGW.
AGAIN_PORT=$(free_port)
start again "127.0.0.1 127.0.2.25" "backend_fail_timeout 0" "listen 127.0.0.1:$AGAIN_PORT" \
	"public_url http://127.0.0.1:$AGAIN_PORT"
AGAIN_EP=$S3GATE_ENDPOINT AGAIN_LOG=$S3GATE_LOG
URL=$(s3gate_admin presign --principal "$P" --max-uses 20 "s3://$B/obj" | tail -n 1)
# link_get — one GET with the link; 200 and the object's bytes
link_get() {
	local code
	code=$(curl -s -o "$T/l.b" -w '%{http_code}' --max-time 20 "$URL")
	[ "$code" = 200 ] && cmp -s "$T/l.b" "$T/obj" || { echo "HTTP $code"; return 1; }
}
once_counted() {
	local n0 m=0 i code bad
	n0=$(access_lines)
	# GETs until one went to the resetting gateway first (each 200 from RGW)
	bad=""
	_reset_hit() { link_get || { bad="GET $((m + 1))"; return 0; }; m=$((m + 1)); [ "$(reqs 127.0.2.25)" -ge 1 ]; }
	wait_for 15 _reset_hit && [ -z "$bad" ] ||
		{ echo "${bad:-after $m GETs the resetting gateway read $(reqs 127.0.2.25)}"; return 1; }
	echo "# $m GETs with the link, $(reqs 127.0.2.25) sent again; $(grep -c "sent to the next address" "$AGAIN_LOG") logged so"
	wait_for 10 eval '[ "$(access_lines)" -ge $((n0 + m)) ]'
	[ "$(access_lines)" = $((n0 + m)) ] || { echo "access log: $(( $(access_lines) - n0 )) lines for $m GETs"; return 1; }
	for i in $(seq $((20 - m))); do link_get || { echo "use $((m + i)) of 20"; return 1; }; done
	code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 20 "$URL")
	[ "$code" = 403 ] || { echo "use 21 of 20: HTTP $code"; return 1; }
}
tc "a --max-uses 20 link's GETs sent again (a resetting gateway first): each one access-log line and one use; 20 x 200, the 21st 403" once_counted

# Only failing gateways: what may not go again is read once.
start bad "127.0.2.25 127.0.2.26" "backend_fail_timeout 0"
BAD_EP=$S3GATE_ENDPOINT
# sent_to N CODE CURL_ARGS... — answered CODE, the failing gateways read N requests of it
sent_to() {
	local n=$1 want=$2 before; shift 2
	before=$(( $(reqs 127.0.2.25) + $(reqs 127.0.2.26) + $(reqs 127.0.2.27) + $(reqs 127.0.2.28) ))
	answered "$want" "$@" || return 1
	echo "# read $(( $(reqs 127.0.2.25) + $(reqs 127.0.2.26) + $(reqs 127.0.2.27) + $(reqs 127.0.2.28) - before ))"
	[ $(( $(reqs 127.0.2.25) + $(reqs 127.0.2.26) + $(reqs 127.0.2.27) + $(reqs 127.0.2.28) - before )) = "$n" ]
}
tc "a POST (CreateMultipartUpload) with an empty body whose answer was lost: 502, read once" \
	sent_to 1 502 -X POST -H "Content-Length: 0" "$BAD_EP/$B/mpu19?uploads="
tc "a DELETE with Expect: 100-continue (no body: nothing to wait for) whose answer was lost: 502, read once" \
	sent_to 1 502 -X DELETE -H "Expect: 100-continue" "$BAD_EP/$B/obj"
# A request waiting for its 100 Continue whose connection closes goes to the
# next gateway (none of its body went): safe only if the gateway says its
# 100 before it acts, also where it ignores the body.  RGW says it first,
# before its final answer: asked straight, with the service key.
rgw_continues() {
	"$PY3" - "$LIB_DIR/helpers" "${RGW_ENDPOINT##*:}" "$B" "$S3_REGION" <<'PY'
import os, socket, sys
sys.path.insert(0, sys.argv[1])
import rawhttp
port, b, region = int(sys.argv[2]), sys.argv[3], sys.argv[4]
host = "127.0.0.1:%d" % port
bad = 0
for method, path in (("POST", "/%s/mpu19c?uploads=" % b), ("DELETE", "/%s/absent19" % b),
                     ("PUT", "/%s/cp19" % b)):
    extra = "x-amz-copy-source: /%s/obj\r\n" % b if method == "PUT" else ""
    sig = rawhttp.sigv4_headers(method, path, host, os.environ["RGW_ACCESS_KEY"],
                                os.environ["RGW_SECRET_KEY"], region, "UNSIGNED-PAYLOAD",
                                [("x-amz-copy-source", "/%s/obj" % b)] if extra else ())
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s.sendall(("%s %s HTTP/1.1\r\nHost: %s\r\n%s%sContent-Length: 5\r\nExpect: 100-continue\r\n\r\n"
               % (method, path, host, extra, sig)).encode())
    try:
        got = s.recv(65536)
    except OSError as e:
        got = repr(e).encode()
    s.close()
    print(method, got[:40])
    bad += not got.upper().startswith(b"HTTP/1.1 100 CONTINUE")
sys.exit(bad)
PY
}
tc "RGW says 100 Continue at once to a CreateMultipartUpload, a DELETE and a CopyObject waiting with a body (none acted on before it)" rgw_continues
start quiet "127.0.2.27 127.0.2.28" "backend_fail_timeout 30s" "backend_timeout 2s"
QUIET_EP=$S3GATE_ENDPOINT QUIET_ADMIN=$S3GATE_ADMIN_URL
quiet_put() {
	sent_to 1 504 -X PUT -H "Expect: 100-continue" --data-binary "@$T/obj" "$QUIET_EP/$B/put19" &&
		none_down "$QUIET_ADMIN" 127.0.2.27 127.0.2.28
}
tc "a PUT whose 100 Continue never comes (s3gate says it after 1 s, the body goes) and no answer: 504, read once, not held against the gateway" \
	quiet_put

# ---- 4. the readiness probe with every address down ------------------------------------

# Relays (counting the connections they take) in front of a resetting and
# a closing stand-in: a GET marks both down; the probe (every 2 s, worker
# 0) then dials the one down longest, which takes the connection.
relay_to() {
	local f=$T/relay-$1
	$RELAY relay "$1:$RP" "$2:$RP" --count "$f" >"$f.ready" 2>"$f.err" &
	lib_on_exit "kill $! 2>/dev/null"
	wait_for 10 grep -q ready "$f.ready" || { t_fail "setup: a relay on $1:$RP" "$(cat "$f.err")"; exit 1; }
}
taken() { echo $(( $(cat "$T/relay-127.0.2.29" 2>/dev/null || echo 0) + $(cat "$T/relay-127.0.2.30" 2>/dev/null || echo 0) )); }
relay_to 127.0.2.29 127.0.2.25
relay_to 127.0.2.30 127.0.2.26
start probe "127.0.2.29 127.0.2.30" "backend_fail_timeout 30s"
PROBE_EP=$S3GATE_ENDPOINT PROBE_ADMIN=$S3GATE_ADMIN_URL
readyz_code() { curl -s -o "$T/readyz" -w '%{http_code}' --max-time 5 "$PROBE_ADMIN/readyz"; }
probe_down() {
	local c0
	answered 502 "$PROBE_EP/$B/obj" || return 1
	[ "$(marked "$PROBE_ADMIN" reset)" = 2 ] || { echo "marked down for reset: $(marked "$PROBE_ADMIN" reset)"; return 1; }
	c0=$(taken)
	# two dials of the probe after the GET's: the first one's verdict is in
	wait_for 15 eval '[ "$(taken)" -ge $((c0 + 2)) ]' || { echo "the probe dialled $(( $(taken) - c0 )) times in 15 s"; return 1; }
	echo "# the probe dialled $(( $(taken) - c0 )) times; up: $(addr_up "$PROBE_ADMIN" 127.0.2.29) $(addr_up "$PROBE_ADMIN" 127.0.2.30)"
	[ "$(addr_up "$PROBE_ADMIN" 127.0.2.29)" = 0 ] && [ "$(addr_up "$PROBE_ADMIN" 127.0.2.30)" = 0 ]
}
tc "every gateway resets or closes requests: the probe's connects taken there bring neither back up" probe_down
probe_ready() { [ "$(readyz_code)" = 200 ] && grep -q '^backend ok' "$T/readyz" || { cat "$T/readyz"; return 1; }; }
tc "... /readyz says what it measures: the gateways take connections (200, backend ok)" probe_ready

# ---- 5. an answer head that is not HTTP ---------------------------------------------

standin 127.0.2.31 garbage
standin 127.0.2.32 garbage
start junk "127.0.0.1 127.0.2.31" "backend_fail_timeout 30s"
JUNK_EP=$S3GATE_ENDPOINT JUNK_ADMIN=$S3GATE_ADMIN_URL JUNK_LOG=$S3GATE_LOG
junk_get() {
	local m=0 bad=""
	_junk_hit() { gets_one || { bad="GET $((m + 1))"; return 0; }; m=$((m + 1)); [ "$(reqs 127.0.2.31)" -ge 1 ]; }
	gets_one() { get_each "$P" "$JUNK_EP/$B/obj" "$T/obj" 1; }
	wait_for 15 _junk_hit && [ -z "$bad" ] || { echo "${bad:-after $m GETs the stand-in read $(reqs 127.0.2.31)}"; return 1; }
	get_each "$P" "$JUNK_EP/$B/obj" "$T/obj" 6 || return 1
	echo "# $m + 6 GETs, the stand-in read $(reqs 127.0.2.31); invalid: $(marked "$JUNK_ADMIN" invalid)"
	[ "$(reqs 127.0.2.31)" = 1 ] && [ "$(marked "$JUNK_ADMIN" invalid)" = 1 ] &&
		[ "$(addr_up "$JUNK_ADMIN" 127.0.2.31)" = 0 ] && grep -q "backend 127.0.2.31:$RP: .*; sent to the next address" "$JUNK_LOG"
}
tc "a gateway that answers what is not HTTP: the GET it got sent to RGW (200, byte for byte), the gateway marked down (reason=\"invalid\"), read once in 7+ GETs" junk_get
start junk2 "127.0.2.31 127.0.2.32" "backend_fail_timeout 30s"
JUNK2_EP=$S3GATE_ENDPOINT JUNK2_ADMIN=$S3GATE_ADMIN_URL
# junk_read N CODE CURL_ARGS... — answered CODE, the two stand-ins read N of it
junk_read() {
	local n=$1 want=$2 before; shift 2
	before=$(( $(reqs 127.0.2.31) + $(reqs 127.0.2.32) ))
	answered "$want" "$@" || return 1
	echo "# read $(( $(reqs 127.0.2.31) + $(reqs 127.0.2.32) - before ))"
	[ $(( $(reqs 127.0.2.31) + $(reqs 127.0.2.32) - before )) = "$n" ]
}
tc "two such gateways: a PUT 502, read once (never sent twice)" junk_read 1 502 -X PUT --data-binary "@$T/obj" "$JUNK2_EP/$B/junk"
tc "... a GET 502 after both (sent again once), both marked down" \
	eval 'junk_read 2 502 "$JUNK2_EP/$B/obj" && [ "$(marked "$JUNK2_ADMIN" invalid)" = 2 ]'
exit 0
