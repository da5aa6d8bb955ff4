#!/bin/bash
# The connection state machine at its edges (proxy/conn.c), each case
# driven by a raw socket or curl against a fake origin that misbehaves on
# purpose (helpers/rawhttp.py fakebackend) or against RGW:
#   a backend connection with bytes left after its response (a stray second
#     response, a body on a 204, bytes past Content-Length) never goes back
#     to the pool: the next request gets its own answer on a new connection;
#   a request s3gate answers itself with its body unread is answered with
#     Connection: close, and the body is never parsed as a request;
#   a late "100 Continue" from the backend does not abort the upload;
#   a DELETE or POST that meets a closed pooled connection is not sent twice
#     (a GET still is);
#   an empty aws-chunked body with a bad final chunk signature never reaches
#     the backend (the existing object survives);
#   an HTTP/1.0 client gets a body it can read (no chunked framing): a
#     chunked answer from the fake origin or RGW (ListObjectsV2) is relayed
#     de-chunked, closed at its end;
#   a backend error answer that refuses s3gate's signature or names the
#     service key id (AWS S3's SignatureDoesNotMatch) never reaches the
#     client: s3gate's own 502 instead, a warning without the key in the log;
#     an error body over 64 KiB or compressed is withheld too; NoSuchKey is
#     relayed byte for byte; the client's connection stays open after each;
#     an error body that comes slowly after an early answer (Expect:
#     100-continue) is waited for;
#   a request pipelined right after an aws-chunked upload framed with
#     Transfer-Encoding: chunked (in the same write as the body's end, or
#     with the head when the body is small) is answered in its turn, over
#     plain HTTP and TLS; a chunked body whose framing is broken still gets
#     400, and the request after it is never answered; more pipelined bytes
#     than the head buffer holds (max_head_size 1k) get 400, not buffered.
# Workspace: ws-cony (cony owns it).
. "$(dirname "$0")/lib.sh"

RAW="$PY3 $LIB_DIR/helpers/rawhttp.py"
FORGE="$PY3 $ROOT/tests/data/tls/forge.py"
B=ws-cony

need_s3gate "conn state" "checks s3gate's own behaviour: not meaningful against RGW"

mkdir -p "$T/tls"
TLS_PORT=$(free_port)
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj "/CN=127.0.0.1" \
	-addext "subjectAltName=IP:127.0.0.1" -keyout "$T/tls/key.pem" -out "$T/tls/cert.pem" >/dev/null 2>&1
chmod 600 "$T/tls/key.pem"
s3gate_start rgw "workers 1" "listen 127.0.0.1:$TLS_PORT tls" "tls_certificate $T/tls/cert.pem $T/tls/key.pem" ||
	{ t_fail "s3gate starts" "see $T/rgw/s3gate.log"; exit 1; }
RGW_PORT=$S3GATE_PORT RGW_EP=$S3GATE_ENDPOINT RGW_TLS_EP=https://127.0.0.1:$TLS_PORT
if ! out=$({ ws_setup cony "$B" && s3gate_cred cony; } 2>&1); then
	t_fail "workspace ws-cony and cony's credentials" "$out"; exit 1
fi
storage_doc cony "$B" >"$T/ws-cony.yaml"
read -r RGW_AKID RGW_SECRET _ <"$T/profiles/cony"

fport=$(free_port)
: >"$T/fake.log"
$RAW fakebackend "$fport" --log "$T/fake.log" --ready "$T/fake.ready" --akid "$RGW_ACCESS_KEY" \
	2>"$T/fake.err" &
FAKE_PID=$!
lib_on_exit 'kill $FAKE_PID 2>/dev/null'
wait_port "$fport"
# one worker: every request meets the same backend pool
s3gate_start fake "workers 1" "backend http://127.0.0.1:$fport" "backend_timeout 5s" "$T/ws-cony.yaml" ||
	{ t_fail "s3gate starts in front of the fake origin" "see $T/fake/s3gate.log"; exit 1; }
s3gate_cred cony cony-fake >/dev/null || { t_fail "credentials on the fake instance" ""; exit 1; }
FAKE_EP=$S3GATE_ENDPOINT FAKE_PORT=$S3GATE_PORT
read -r RAW_AKID RAW_SECRET _ <"$T/profiles/cony-fake"	# raw requests go to the fake instance
export RAW_AKID RAW_SECRET RAW_REGION=$S3_REGION
for ((i = 0; i < 30; i++)); do	# the file store sees new credentials within a second
	c=$(curl_sigv4 cony-fake -o /dev/null -w '%{http_code}' --max-time 3 "$FAKE_EP/$B/warmup" 2>/dev/null)
	[ "$c" = 200 ] && break
	sleep 0.1
done
t_expect_eq "setup: the fake origin answers through s3gate" 200 "$c"

# conn_of PATH — the fake origin's connection number of the last request for PATH
conn_of() { awk -v p="$1" '$3 == p {c = $1} END {sub(/conn=/, "", c); print c}' "$T/fake.log"; }

# ---- 1: leftover backend bytes never go back to the pool ------------------------------

# stray KEY STATUS — GET KEY (answered STATUS with leftover bytes), then a
# GET of next-KEY must get its own answer, on another backend connection
stray() {
	local key=$1 want=$2 code body
	code=$(curl_sigv4 cony-fake -o "$T/$key.out" -w '%{http_code}' --max-time 5 "$FAKE_EP/$B/$key")
	[ "$code" = "$want" ] || { echo "GET $key: HTTP $code, expected $want"; return 1; }
	sleep 1	# the stray bytes (sent 0.2 s after the answer) are in the pooled connection by now
	body=$(curl_sigv4 cony-fake --max-time 5 "$FAKE_EP/$B/next-$key")
	[ "$body" = "own:/$B/next-$key" ] || { echo "GET next-$key got: $body"; return 1; }
	[ "$(conn_of "/$B/$key")" != "$(conn_of "/$B/next-$key")" ] ||
		{ echo "next-$key was sent on the connection with leftover bytes"; cat "$T/fake.log"; return 1; }
}
t_check "a second response arriving 0.2 s after a 204: the pooled connection is dropped, the next GET gets its own answer" \
	stray stray-after-204 204
t_check "a 204 carrying a body: not pooled, the next GET gets its own answer on a new connection" \
	stray body-on-204 204
t_check "bytes past Content-Length (a second response): not pooled, the next GET gets its own answer on a new connection" \
	stray extra-after-cl 200

# ---- 2: a request answered by s3gate with its body unread ----------------------------

smuggle='GET /'$B'/smuggled HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n'
slen=$(printf "$smuggle" | wc -c)
# one_answer FILE [close] — exactly one response (with Connection: close if
# asked), and the smuggled request never reached the origin
one_answer() {
	local n
	n=$(grep -c -a '^HTTP/1\.[01] [0-9][0-9][0-9]' "$1")
	[ "$n" = 1 ] || { echo "$n responses:"; cat -v "$1" | head -n 30; return 1; }
	[ "${2:-}" != close ] || grep -q -a -i '^Connection: close' "$1" ||
		{ echo "no Connection: close:"; cat -v "$1" | head -n 20; return 1; }
	! grep -q "smuggled" "$T/fake.log" || { echo "the body reached the origin as a request"; return 1; }
}
$RAW send "$FAKE_PORT" "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n{SIG}Content-Length: $slen\r\n\r\n$smuggle" \
	--wait 3 --out "$T/lb-cl.out" >/dev/null
t_check "ListBuckets with a Content-Length body (with the head) holding a request: one answer" \
	one_answer "$T/lb-cl.out"
# (the body in a second write: what came with the head is dropped with it)
$RAW send "$FAKE_PORT" "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n{SIG}Transfer-Encoding: chunked\r\n\r\n$(printf '%x' "$slen")\r\n$smuggle\r\n0\r\n\r\n$smuggle" \
	--split head --wait 3 --out "$T/lb-te.out" >/dev/null
t_check "ListBuckets with a chunked body holding a request: one answer, Connection: close" \
	one_answer "$T/lb-te.out" close
$RAW send "$FAKE_PORT" "GET /_s3gate/access HTTP/1.1\r\nHost: 127.0.0.1\r\n{SIG}Content-Length: $slen\r\n\r\n$smuggle" \
	--wait 3 --out "$T/api-cl.out" >/dev/null
t_check "GET /_s3gate/access with a body (with the head) holding a request: one answer" \
	one_answer "$T/api-cl.out"
$RAW send "$FAKE_PORT" "GET /_s3gate/access HTTP/1.1\r\nHost: 127.0.0.1\r\n{SIG}Content-Length: $slen\r\n\r\n$smuggle" \
	--split head --wait 3 --out "$T/api-split.out" >/dev/null
t_check "GET /_s3gate/access whose body comes in a second write: one answer, Connection: close" \
	one_answer "$T/api-split.out" close
# the same with the body in a second write: not even read with the head
$RAW send "$FAKE_PORT" "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n{SIG}Content-Length: $slen\r\n\r\n$smuggle" \
	--split head --wait 3 --out "$T/lb-split.out" >/dev/null
t_check "ListBuckets whose body comes in a second write: one answer, Connection: close" \
	one_answer "$T/lb-split.out" close

# ---- 3: a late 100 Continue from the backend ---------------------------------------------

SIZE=$((32 * 1048576))	# more than the socket buffers hold: s3gate is mid-body at 1.5 s
$RAW send "$FAKE_PORT" "PUT /$B/late-100 HTTP/1.1\r\nHost: 127.0.0.1\r\n{SIG}Expect: 100-continue\r\nContent-Length: $SIZE\r\n\r\n{PAD:$SIZE}" \
	--wait 12 --out "$T/late100.out" >"$T/late100.res"
late100() {
	grep -q -a '^HTTP/1.1 200' "$T/late100.out" && grep -q -a "got $SIZE" "$T/late100.out" && return 0
	echo "client saw: $(cat "$T/late100.res")"; cat -v "$T/late100.out" | head -n 20
	grep late-100 "$T/fake.log"
	return 1
}
t_check "the backend's 100 Continue comes 1.5 s late (after s3gate's own): the upload completes, 200" late100

# ---- 4: no second DELETE / POST after a closed pooled connection --------------------------

# sent_once METHOD QUERY — a pooled connection exists; the origin closes it on
# METHOD without answering: s3gate must not send it again
sent_once() {
	local m=$1 q=$2 code n
	curl_sigv4 cony-fake -o /dev/null --max-time 5 "$FAKE_EP/$B/pool-$m" || return 1
	code=$(curl_sigv4 cony-fake -X "$m" -o /dev/null -w '%{http_code}' --max-time 10 "$FAKE_EP/$B/eof-on-reuse$q")
	n=$(grep -c "^conn=[0-9]* $m /$B/eof-on-reuse" "$T/fake.log")
	[ "$n" = 1 ] || { echo "the origin got the $m $n times (client: HTTP $code)"; grep eof-on-reuse "$T/fake.log"; return 1; }
	case $code in 5??) ;; *) echo "client: HTTP $code, expected a 5xx"; return 1 ;; esac
	sed -i "/eof-on-reuse/d" "$T/fake.log"
}
t_check "DELETE on a pooled connection the origin closes without answering: sent once, 5xx" sent_once DELETE ""
t_check "POST ?uploads on a pooled connection the origin closes without answering: sent once, 5xx" sent_once POST "?uploads="
get_retried() {
	local body
	curl_sigv4 cony-fake -o /dev/null --max-time 5 "$FAKE_EP/$B/pool-get" || return 1
	body=$(curl_sigv4 cony-fake --max-time 10 "$FAKE_EP/$B/eof-on-reuse")
	[ "$body" = "own:/$B/eof-on-reuse" ] || { echo "GET got: $body"; return 1; }
}
t_check "GET on a pooled connection the origin closes: retried on a new one, 200" get_retried

# ---- 5: empty aws-chunked body with a bad final chunk signature ---------------------------

echo "the object before $(rand_id)" >"$T/keep"
backend_aws s3api put-object --bucket "$B" --key keep-empty --body "$T/keep" >/dev/null ||
	t_fail "object put at the backend" ""
empty_bad() {
	local out
	# the body 0.5 s after the head: time enough for a backend given the head to commit
	out=$(F_AKID=$RGW_AKID F_SECRET=$RGW_SECRET F_REGION=$S3_REGION F_SIZE=0 F_BODY_DELAY=0.5 \
		timeout 30 $FORGE signed-bad-final "$RGW_EP" "$B" keep-empty 2>&1)
	grep -q '^status=403 code=SignatureDoesNotMatch' <<<"$out" || { echo "client: $out"; return 1; }
	sleep 0.5
	backend_aws s3api get-object --bucket "$B" --key keep-empty "$T/keep.now" >/dev/null || return 1
	cmp "$T/keep" "$T/keep.now" || { echo "the object is now $(stat -c %s "$T/keep.now") bytes"; return 1; }
}
t_check "an empty aws-chunked PUT with a bad final chunk signature: 403, the existing object survives" empty_bad
empty_good() {
	local out
	out=$(F_AKID=$RGW_AKID F_SECRET=$RGW_SECRET F_REGION=$S3_REGION F_SIZE=0 F_BODY_DELAY=0.5 \
		timeout 30 $FORGE signed "$RGW_EP" "$B" empty-good 2>&1)
	grep -q '^status=200 ' <<<"$out" || { echo "client: $out"; return 1; }
	backend_aws s3api head-object --bucket "$B" --key empty-good --query ContentLength --output text | grep -qx 0
}
t_check "an empty aws-chunked PUT signed right: 200, an empty object" empty_good

# ---- 6: the backend's error answers never carry the service credentials -----------------

# err_get KEY — GET KEY, then GET after-KEY on the same client connection:
# KEY's head and body in $T/KEY.h and $T/KEY.b; prints "STATUS REUSED"
# (REUSED 1 when the second GET went on the first one's connection)
err_get() {
	local w
	w=$(curl_sigv4 cony-fake --max-time 10 -D "$T/$1.h" -w '%{http_code} %{num_connects}\n' \
		-o "$T/$1.b" "$FAKE_EP/$B/$1" -o "$T/after-$1.b" "$FAKE_EP/$B/after-$1") || return 1
	[ "$(cat "$T/after-$1.b")" = "own:/$B/after-$1" ] ||
		{ echo "the GET after $1 got: $(head -c 200 "$T/after-$1.b")"; return 1; }
	echo "$(sed -n 1p <<<"$w" | cut -d' ' -f1) $([ "$(sed -n 2p <<<"$w" | cut -d' ' -f2)" = 0 ] && echo 1 || echo 0)"
}
# withheld KEY WANT_LOG — KEY's answer is s3gate's own 502 BadGateway
# without the key id or the signing material, on a connection that stays
# open; the error log has WANT_LOG, and never the key id
withheld() {
	local r
	r=$(err_get "$1") || return 1
	[ "$r" = "502 1" ] || { echo "status, reused: $r, expected 502 1"; cat -v "$T/$1.h" "$T/$1.b" | head -c 600; return 1; }
	grep -q '<Code>BadGateway</Code>' "$T/$1.b" || { echo "not s3gate's error:"; cat "$T/$1.b"; return 1; }
	! grep -q -a -F -e "$RGW_ACCESS_KEY" -e StringToSign -e SignatureProvided -e CanonicalRequest \
		"$T/$1.h" "$T/$1.b" || { echo "the answer carries the backend's:"; cat -v "$T/$1.h" "$T/$1.b"; return 1; }
	# the warning is written when the connection ends (after the client's answer)
	wait_for 10 grep -q -F "$2" "$T/fake/s3gate.log" || { echo "no warning '$2' in the log:"; tail -n 5 "$T/fake/s3gate.log"; return 1; }
	! grep -q -F "$RGW_ACCESS_KEY" "$T/fake/s3gate.log" "$T/fake/access.log" || { echo "the key id is in a log"; return 1; }
}
t_check "AWS-style 403 SignatureDoesNotMatch naming the service key id: s3gate's 502, none of it relayed, warned, keep-alive" \
	withheld err-sig "the backend refused the gateway's signature (403 SignatureDoesNotMatch)"
t_check "the same answer chunked (the key id split over two chunks): s3gate's 502, warned, keep-alive" \
	withheld err-sig-chunked "the backend refused the gateway's signature (403 SignatureDoesNotMatch)"
t_check "a 403 AccessDenied whose message names the service key id: s3gate's 502, warned, keep-alive" \
	withheld err-akid-other "error answer (403 AccessDenied) names the gateway's credentials"
t_check "a 403 with no body whose header names the service key id: s3gate's 502, warned, keep-alive" \
	withheld err-head-akid "error answer (403 -) names the gateway's credentials"
t_check "a 404 with a 100 KiB error body: withheld (s3gate's 502), keep-alive" \
	withheld err-large "has a body over 65536 bytes"
t_check "a 100 KiB chunked error body: withheld (s3gate's 502), keep-alive" \
	withheld err-large-chunked "has a body over 65536 bytes"
# relayed KEY — KEY's 404 NoSuchKey reaches the client byte for byte (as
# the origin sends it, de-chunked), and the connection stays open
relayed() {
	local r
	r=$(err_get "$1") || return 1
	[ "$r" = "404 1" ] || { echo "status, reused: $r, expected 404 1"; cat -v "$T/$1.h" "$T/$1.b" | head -c 600; return 1; }
	curl -sS --max-time 5 -o "$T/$1.direct" "http://127.0.0.1:$fport/$B/$1" || return 1
	cmp "$T/$1.direct" "$T/$1.b" || { echo "relayed: $(cat "$T/$1.b")"; echo "origin:  $(cat "$T/$1.direct")"; return 1; }
	grep -q '<Code>NoSuchKey</Code>' "$T/$1.b" && grep -q -i '^Content-Type: application/xml' "$T/$1.h"
}
t_check "a 404 NoSuchKey (Content-Length) is relayed byte for byte, keep-alive" relayed err-nosuchkey
t_check "a 404 NoSuchKey (chunked) is relayed byte for byte, keep-alive" relayed err-nosuchkey-chunked
http10_err() {
	local code
	code=$(curl_sigv4 cony-fake --http1.0 --max-time 5 -D "$T/h10err.h" -o "$T/h10err.b" \
		-w '%{http_code}' "$FAKE_EP/$B/err-nosuchkey-chunked") || return 1
	[ "$code" = 404 ] || { echo "HTTP $code"; return 1; }
	! grep -q -i '^Transfer-Encoding' "$T/h10err.h" || { echo "chunked to an HTTP/1.0 client:"; cat -v "$T/h10err.h"; return 1; }
	cmp "$T/err-nosuchkey-chunked.direct" "$T/h10err.b"
}
t_check "an HTTP/1.0 client gets a chunked 404 NoSuchKey with a Content-Length, the same bytes" http10_err
# a compressed error body cannot be searched for the key id: withheld
t_check "the AWS-style 403 gzip-compressed (Content-Encoding: gzip): s3gate's 502, warned, keep-alive" \
	withheld err-sig-gzip "has an encoded body"
# an error answered to "Expect: 100-continue" (no 100), its body slower than
# s3gate's 1 s wait for a 100: the backend's answer, not a timeout
$RAW send "$FAKE_PORT" "PUT /$B/err-early-slow HTTP/1.1\r\nHost: 127.0.0.1\r\n{SIG}Expect: 100-continue\r\nContent-Length: 1000\r\n\r\n" \
	--wait 6 --out "$T/early-slow.out" >"$T/early-slow.res"
early_slow() {
	grep -q -a '^HTTP/1.1 403' "$T/early-slow.out" && grep -q -a '<Code>AccessDenied</Code>' "$T/early-slow.out" &&
		grep -q -a '</Error>' "$T/early-slow.out" && return 0
	echo "client saw: $(cat "$T/early-slow.res")"; cat -v "$T/early-slow.out" | head -n 20
	return 1
}
t_check "a 403 to a PUT waiting for 100 Continue, its body 1.5 s behind its head: the 403 whole, not a 504" early_slow

# ---- 7: HTTP/1.0 clients and chunked answers -------------------------------------------

# h10_ok NAME BODY_FILE HEAD_FILE — the head has no Transfer-Encoding and
# says Connection: close; the raw body (curl --raw: no decoding) has no
# chunk framing
h10_ok() {
	! grep -q -i '^Transfer-Encoding' "$3" || { echo "chunked to an HTTP/1.0 client:"; cat -v "$3"; return 1; }
	grep -q -i '^Connection: close' "$3" || { echo "no Connection: close:"; cat -v "$3"; return 1; }
}
h10_fake() {
	local code
	code=$(curl_sigv4 cony-fake --http1.0 --raw --max-time 5 -D "$T/h10.h" -o "$T/h10.b" \
		-w '%{http_code}' "$FAKE_EP/$B/chunked") || return 1
	[ "$code" = 200 ] || { echo "HTTP $code"; return 1; }
	h10_ok fake "$T/h10.b" "$T/h10.h" || return 1
	[ "$(cat "$T/h10.b")" = "hello world" ] || { echo "body: $(cat -v "$T/h10.b")"; return 1; }
}
t_check "HTTP/1.0 client, a chunked 200 from the origin: the data alone, no Transfer-Encoding, Connection: close" h10_fake
h10_rgw() {
	local code i
	echo "an object" >"$T/h10.obj"
	for i in 1 2 3; do curl_sigv4 cony --max-time 10 -sf -T "$T/h10.obj" "$RGW_EP/$B/h10/obj-$i" || return 1; done
	# over HTTP/1.1 RGW's ListObjectsV2 is chunked: the case to test
	curl_sigv4 cony --raw --max-time 10 -D "$T/h11list.h" -o "$T/h11list.b" "$RGW_EP/$B?list-type=2&prefix=h10%2F" || return 1
	grep -q -i '^Transfer-Encoding: chunked' "$T/h11list.h" ||
		{ echo "RGW's ListObjectsV2 is not chunked (the case is not met):"; cat -v "$T/h11list.h" "$T/h11list.b"; return 1; }
	code=$(curl_sigv4 cony --http1.0 --raw --max-time 10 -D "$T/h10list.h" -o "$T/h10list.b" \
		-w '%{http_code}' "$RGW_EP/$B?list-type=2&prefix=h10%2F") || return 1
	[ "$code" = 200 ] || { echo "HTTP $code"; return 1; }
	h10_ok rgw "$T/h10list.b" "$T/h10list.h" || return 1
	python3 -c 'import sys, xml.etree.ElementTree as E
r = E.parse(sys.argv[1]).getroot()
keys = [e.text for e in r.iter() if e.tag.endswith("}Key")]
sys.exit(0 if keys == ["h10/obj-1", "h10/obj-2", "h10/obj-3"] else "keys: %r" % keys)' "$T/h10list.b" ||
		{ echo "body:"; head -c 600 "$T/h10list.b" | cat -v; return 1; }
}
t_check "HTTP/1.0 client, RGW's chunked ListObjectsV2: well-formed XML with every key, no Transfer-Encoding, Connection: close" h10_rgw

# ---- 8: a request pipelined after a chunked request body ---------------------------------

# forge_pipelined MODE EP SIZE KEY — forge.py's MODE PUT of SIZE bytes (Transfer-Encoding:
# chunked), a GET of KEY in the same write; its output in $PIPE_OUT
forge_pipelined() {
	PIPE_OUT=$(F_AKID=${PIPE_AKID:-$RGW_AKID} F_SECRET=${PIPE_SECRET:-$RGW_SECRET} F_REGION=$S3_REGION \
		F_SIZE=$3 F_PIPELINE=1 \
		F_DATA="$T/pipe.data" timeout 60 $FORGE "$1" "$2" "$B" "$4" "$T/tls/cert.pem" 2>&1)
}
# pipelined MODE EP SIZE KEY — 200 for the PUT, then 200 for the GET with the
# data put, which the backend holds
pipelined() {
	forge_pipelined "$@" || { echo "client: $PIPE_OUT"; return 1; }
	grep -q '^status=200 ' <<<"$PIPE_OUT" && grep -q '^get=200 same=1$' <<<"$PIPE_OUT" ||
		{ echo "client: $PIPE_OUT"; return 1; }
	rm -f "$T/pipe.back"
	backend_aws s3api get-object --bucket "$B" --key "$4" "$T/pipe.back" >/dev/null || return 1
	cmp "$T/pipe.data" "$T/pipe.back"
}
# pipelined_bad EP SIZE KEY — a broken HTTP chunk: 400, the GET never
# answered, no object
pipelined_bad() {
	forge_pipelined bad-te "$@" || { echo "client: $PIPE_OUT"; return 1; }
	grep -q '^status=400 code=InvalidRequest$' <<<"$PIPE_OUT" && grep -q '^get=none$' <<<"$PIPE_OUT" ||
		{ echo "client: $PIPE_OUT"; return 1; }
	! backend_aws s3api head-object --bucket "$B" --key "$3" >/dev/null 2>&1 ||
		{ echo "the backend holds $3"; return 1; }
}
for ep in http https; do
	[ $ep = http ] && e=$RGW_EP || e=$RGW_TLS_EP
	t_check "$ep: signed aws-chunked PUT (Transfer-Encoding: chunked) of 1000 bytes and a GET, head to GET in one write: 200, then 200 with the data" \
		pipelined signed-te "$e" 1000 pipe-$ep/small
	t_check "$ep: the same with 3 MiB: 200, then 200 with the data" \
		pipelined signed-te "$e" $((3 * 1048576 + 123)) pipe-$ep/big
	t_check "$ep: unsigned-trailer aws-chunked PUT (Transfer-Encoding: chunked), 3 MiB, a GET pipelined: 200, then 200 with the data" \
		pipelined unsigned-trailer-te "$e" $((3 * 1048576 + 123)) pipe-$ep/unsigned
	t_check "$ep: a broken HTTP chunk, a GET pipelined after it: 400 InvalidRequest, the GET unanswered, no object" \
		pipelined_bad "$e" $((3 * 1048576 + 123)) pipe-$ep/bad
	t_check "$ep: the same with 1000 bytes: 400 InvalidRequest, the GET unanswered, no object" \
		pipelined_bad "$e" 1000 pipe-$ep/bad-small
done
# with max_head_size 1k the 1000-byte body is read by the stream, with the GET:
# kept when it fits the 1025-byte head buffer, refused when it does not
if s3gate_start tight "workers 1" "max_head_size 1k" "$T/ws-cony.yaml" &&
	s3gate_cred cony cony-tight >/dev/null; then
	read -r PIPE_AKID PIPE_SECRET _ <"$T/profiles/cony-tight"
	for ((i = 0; i < 30; i++)); do
		c=$(curl_sigv4 cony-tight -o /dev/null -w '%{http_code}' --max-time 3 "$S3GATE_ENDPOINT/$B/pipe-http/small" 2>/dev/null)
		[ "$c" = 200 ] && break
		sleep 0.1
	done
	t_check "max_head_size 1k: a 1000-byte chunked aws-chunked PUT and a GET in one write: 200, then 200 with the data" \
		pipelined signed-te "$S3GATE_ENDPOINT" 1000 pipe-tight/fits
	too_many() {
		F_GET_PAD=8000 forge_pipelined signed-te "$S3GATE_ENDPOINT" 1000 pipe-tight/over ||
			{ echo "client: $PIPE_OUT"; return 1; }
		grep -q '^status=400 code=InvalidRequest$' <<<"$PIPE_OUT" && grep -q '^get=none$' <<<"$PIPE_OUT" &&
			grep -q 'Too many bytes of pipelined requests' <<<"$PIPE_OUT" || { echo "client: $PIPE_OUT"; return 1; }
		! backend_aws s3api head-object --bucket "$B" --key pipe-tight/over >/dev/null 2>&1 ||
			{ echo "the backend holds pipe-tight/over"; return 1; }
	}
	t_check "max_head_size 1k: the same GET with an 8000-byte header, read with the body's end: 400 (told why), not buffered; no object" \
		too_many
	unset PIPE_AKID PIPE_SECRET
	s3gate_stop tight || t_fail "s3gate tight exits cleanly" "see $T/tight/s3gate.log"
else
	t_fail "s3gate with max_head_size 1k starts" "see $T/tight/s3gate.log"
fi

s3gate_stop fake || t_fail "s3gate fake exits cleanly" "see $T/fake/s3gate.log"
s3gate_stop rgw || t_fail "s3gate rgw exits cleanly" "see $T/rgw/s3gate.log"
exit 0
