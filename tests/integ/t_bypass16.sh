#!/bin/bash
# Sixteenth audit: the backend's answers and the pooled backend connections
# -- what a backend (or an ingress, a balancer, a misbehaving RGW between
# s3gate and RGW) may send, driven through a stand-in backend
# (helpers/rawhttp.py fakebackend) behind an s3gate of one worker, so
# that each next request meets the backend connection the last one left;
# and what a client can make the real RGW answer.
#
# Found and fixed:
#   response header names were not checked as tokens (proxy/httpmsg.c,
#     unit cases in tests/unit/test_httpmsg.c): "X Injected: 1",
#     "Set-Cookie : a=b" and ": v" went to the client as they came (s3gate
#     rebuilds the head from name and value), for a lenient parser in front
#     of s3gate to read as it liked; Transfer-Encoding: chunked twice
#     ("chunked, chunked", which llhttp refuses in a request only) was
#     relayed with one layer of chunks; a 101 Switching Protocols (s3gate
#     never forwards Upgrade) was skipped as an interim answer and what
#     followed it on a connection of another protocol read as the answer;
#     "HTTP/1.1 20 OK" and "HTTP/1.1  200 OK" (status 0 to llhttp) went to
#     the client as "HTTP/1.1 20" and "HTTP/1.1 0" with their bodies.  Each
#     is now a bad answer: 502 BadGateway, the backend connection closed.
#     A request header with an empty name (": v", forwarded to RGW
#     unsigned) is now a 400 too.
#   a 3xx answer's body was not judged (only >= 400): a 301 whose XML body
#     named the service key id was relayed; now read whole and judged as
#     an error body (proxy/conn_answer.c), s3gate's 502.
#   a backend's early answer relayed while the client still sent its body
#     was followed by close(2) at once, and the body still arriving reset
#     the connection with the answer's rest unsent: a 403 with a 60 KB body
#     reached a client reading through a 4 KiB window cut short.  Now the
#     connection lingers as after s3gate's own answers (conn_linger_start).
#   (mended in the next session) headers the backend's own Connection
#     header names (RFC 9110 7.6.1: its hop's) were relayed, and a 204's
#     Content-Length or Transfer-Encoding (RFC 9110 8.6: none) too; now
#     dropped (forward_response_header_dropped), the framing headers of
#     other answers kept as the backend framed them.
# Tried and held (each checked below):
#   the stand-in: a header value with a NUL, a bare CR or a bare LF before
#     "Set-Cookie: a=b", or folded onto a next line: 502; 100, 102 and 103 Early Hints before a 200 are dropped
#     (one answer, no Link); Content-Length with Transfer-Encoding, two
#     Content-Lengths, a head of 70000 bytes or of 200 header lines: 502,
#     the connection not reused; a head that never ends and an endless run
#     of 100 Continue: 504 at backend_timeout, the worker serves on; a
#     Content-Length body or a chunked one cut by the backend's close, a
#     chunk size "zz", trailers without end: the client's answer cut
#     (connection closed, curl sees a partial body), never completed, the
#     next request its own answer on a new connection; chunk extensions and
#     trailers well framed: relayed; an HTTP/1.0 answer without a length
#     (Connection: keep-alive): relayed to its close, Connection: close,
#     never pooled; Connection: close on a connection the backend keeps:
#     not reused; a HEAD answered with body bytes, a 304 followed by body
#     bytes: not reused; a 200 before a PUT's body was all sent: relayed
#     with Connection: close, not reused;
#   RGW: a HEAD with Range (206, no body), a 304 to If-None-Match, a GET and
#     a HEAD of a 0-byte object, a PUT refused early with 1 MiB of body
#     and of 40 bytes (an unknown storage class, a bucket deleted at the
#     backend, a bad Content-MD5) whose body holds the start of a request:
#     the next request, another principal's, gets exactly its own answer
#     (seen once by s3gate_backend_connections_total: all of them went on
#     the one pooled connection, RGW reads a refused PUT's body).
# By reading (no check): a pooled connection is peeked at (MSG_PEEK)
#   before reuse and dropped if it holds a byte (server.c); bytes read past
#   an answer mark the connection not reusable (conn_backend_check_reusable);
#   a chunked body's bytes past its end are a framing error (stream.c), not
#   kept; the chunk tracker bounds sizes (16 hex digits), extension lines
#   (4 KiB) and trailers (16 KiB); the response head is held to 64 KiB and
#   128 headers, the judged error body to 64 KiB.
# Workspaces: ws-b16<id>, ws-b16<id>o (a second principal); a bucket of
#   each on RGW.
. "$(dirname "$0")/lib.sh"

ID=$(rand_id)
P=b16$ID
B=ws-$P
P2=${P}o
B2=ws-$P2
RAW="$PY3 $LIB_DIR/helpers/rawhttp.py"

need_s3gate "sixteenth audit" "s3gate's framing of the backend's answers: nothing to test against RGW"

if ! s3gate_start rgw "workers 1" "backend_pool_size 1"; then
	t_fail "s3gate rgw starts" "see $T/rgw/s3gate.log"; exit 1
fi
RGW_EP=$S3GATE_ENDPOINT RGW_PORT=$S3GATE_PORT
if ! out=$({ ws_setup "$P" "$B" "$B-gone" && ws_setup "$P2" "$B2" && s3gate_cred "$P" p && s3gate_cred "$P2" p2 &&
	until_ok p "$RGW_EP/$B" && until_ok p2 "$RGW_EP/$B2"; } 2>&1); then
	t_fail "setup: $B, $B2 and their principals' credentials" "$out"; exit 1
fi
storage_doc "$P" "$B" >"$T/ws.yaml"

fport=$(free_port)
: >"$T/fake.log"
$RAW fakebackend "$fport" --log "$T/fake.log" --akid "$RGW_ACCESS_KEY" 2>"$T/fake.err" &
FAKE_PID=$!
lib_on_exit 'kill $FAKE_PID 2>/dev/null'
wait_port "$fport" || { t_fail "the stand-in backend listens" "port $fport"; exit 1; }
if ! s3gate_start fake "workers 1" "backend http://127.0.0.1:$fport" "backend_timeout 2s" "$T/ws.yaml" ||
	! s3gate_cred "$P" pf >"$T/cred.out" 2>&1; then
	t_fail "s3gate in front of the stand-in starts" "see $T/fake/s3gate.log"; exit 1
fi
FAKE_EP=$S3GATE_ENDPOINT FAKE_PORT=$S3GATE_PORT
until_ok pf "$FAKE_EP/$B/warmup" >"$T/warm.out" || { t_fail "setup: the stand-in answers through s3gate" "$(cat "$T/warm.out")"; exit 1; }
t_pass "setup: s3gate rgw (workers 1, backend_pool_size 1), s3gate fake (workers 1, backend_timeout 2s) in front of the stand-in"

# conn_of PATH — the stand-in's connection number of the last request for PATH
conn_of() { awk -v p="$1" '$3 == p {c = $1} END {sub(/conn=/, "", c); print c}' "$T/fake.log"; }
# fget KEY [CURL_ARGS...] — GET (or what CURL_ARGS say) KEY through the fake
# instance; sets CODE and RC (curl's exit), head in $T/KEY.h, body in $T/KEY.b
fget() {
	local k=$1; shift
	CODE=$(curl_sigv4 pf --max-time 10 -D "$T/$k.h" -o "$T/$k.b" -w '%{http_code}' "$@" "$FAKE_EP/$B/$k" 2>"$T/$k.err")
	RC=$?
}
# then_own KEY [same] — the next GET (next-KEY) gets exactly its own answer;
# on another backend connection than KEY's unless "same" is given
then_own() {
	local body
	body=$(curl_sigv4 pf --max-time 10 "$FAKE_EP/$B/next-$1") || return 1
	[ "$body" = "own:/$B/next-$1" ] || { echo "the next GET got: $(head -c 300 <<<"$body" | cat -v)"; return 1; }
	[ "${2:-}" = same ] || [ "$(conn_of "/$B/$1")" != "$(conn_of "/$B/next-$1")" ] ||
		{ echo "the next GET went on $1's backend connection"; grep -F "$1" "$T/fake.log"; return 1; }
}
# shown KEY — KEY's head and body, for a failure's message
shown() { echo "HTTP $CODE, curl exit $RC:"; cat -v "$T/$1.h" "$T/$1.b" 2>/dev/null | head -c 800; }

# ---- 1: answers s3gate must refuse (502, the connection closed) -----------------------

# refused KEY — 502 BadGateway of s3gate's own, nothing of the backend's
# answer relayed, the next request its own answer on a new connection
refused() {
	fget "$1"
	[ "$CODE" = 502 ] && grep -q '<Code>BadGateway</Code>' "$T/$1.b" || { shown "$1"; return 1; }
	! grep -q -a -i -e injected -e set-cookie -e stray -e after-101 -e '^: v' -e "own:" "$T/$1.h" "$T/$1.b" ||
		{ echo "relayed the backend's:"; shown "$1"; return 1; }
	then_own "$1"
}
tc "header names that are not tokens ('X Injected: 1', 'Set-Cookie : a=b'): 502, none relayed (before the fix: relayed as they came)" refused hdr-space
tc "a header with an empty name (': v'): 502 (before the fix: relayed)" refused hdr-empty-name
for k in hdr-nul hdr-bare-cr hdr-bare-lf hdr-fold; do
	tc "a header holding a NUL, a bare CR or LF before 'Set-Cookie: a=b', or folded ($k): 502, none relayed" refused $k
done
tc "Transfer-Encoding: chunked twice: 502 (before the fix: relayed, 'chunked, chunked' with one layer of chunks)" refused te-twice
tc "101 Switching Protocols unasked, then a 200: 502, not the 200 (before the fix: the 200 after the 101 relayed)" refused status-101
tc "'HTTP/1.1 20 OK': 502 (before the fix: relayed as 'HTTP/1.1 20')" refused status-2digit
tc "'HTTP/1.1  200 OK' (llhttp reads status 0): 502 (before the fix: relayed as 'HTTP/1.1 0')" refused status-0
tc "Content-Length and Transfer-Encoding: chunked: 502" refused cl-te
tc "two Content-Length headers (4 and 9): 502" refused two-cl
tc "a response head of 70000 bytes: 502" refused head-huge
tc "a response head of 200 header lines: 502" refused head-many

# ---- 2: interim answers ------------------------------------------------------------------

interim() {
	fget interim-many
	[ "$CODE" = 200 ] && [ "$(cat "$T/interim-many.b")" = "own:/$B/interim-many" ] || { shown interim-many; return 1; }
	[ "$(grep -c -a '^HTTP/' "$T/interim-many.h")" = 1 ] && ! grep -q -i '^link:' "$T/interim-many.h" ||
		{ echo "interim answers relayed:"; shown interim-many; return 1; }
	then_own interim-many same
}
tc "100, 102 and 103 Early Hints (Link) before a 200: one answer, the 200, no Link; the next request its own" interim

# timed_out KEY — 504 at backend_timeout; the worker serves the next request
timed_out() {
	fget "$1"
	[ "$CODE" = 504 ] || { shown "$1"; return 1; }
	then_own "$1"
}
tc "a response head that never ends (a header line every 0.1 s): 504 at backend_timeout, then the next request its own" \
	timed_out head-endless
tc "'100 Continue' every 0.1 s, never an answer: 504 at backend_timeout, then the next request its own" \
	timed_out interim-flood

# ---- 3: bodies the backend breaks off: the client's answer is cut -------------------------

# cut KEY WANT_BODY_PREFIX — 200, the body cut (curl: partial, or the
# transfer broken) and never more than the backend's bytes; the next
# request its own answer on a new connection
cut() {
	fget "$1"
	[ "$CODE" = 200 ] && [ "$RC" != 0 ] || { echo "not cut:"; shown "$1"; return 1; }
	case $(cat "$T/$1.b") in "$2"*) ;; *) echo "body:"; shown "$1"; return 1 ;; esac
	! grep -q -a -e STRAY -e own: "$T/$1.b" || { shown "$1"; return 1; }
	then_own "$1"
}
tc "Content-Length 100, 10 bytes, the backend closes: the client's answer cut after 10 bytes" cut cl-short-close 0123456789
tc "a chunked body closed mid-chunk: the client's answer cut" cut chunked-cut ""
tc "a chunk size 'zz' after a chunk: the client's answer cut, nothing after it relayed" cut chunked-bad-size ""
tc "trailers without end (one line every 5 ms): the client's answer cut (16 KiB of trailers at most)" \
	cut trailers-endless ""
ext_trailer() {
	fget chunked-ext-trailer
	[ "$CODE" = 200 ] && [ "$RC" = 0 ] && [ "$(cat "$T/chunked-ext-trailer.b")" = "hello world" ] ||
		{ shown chunked-ext-trailer; return 1; }
	then_own chunked-ext-trailer same
}
tc "chunk extensions and trailers, well framed: relayed whole ('hello world'), the next request its own" ext_trailer

# ---- 4: connections that must not go back to the pool -------------------------------------

# not_pooled KEY WANT_CODE WANT_BODY [CURL_ARGS...] — KEY's answer is
# WANT_CODE with WANT_BODY; the next request goes on a new connection
not_pooled() {
	local k=$1 code=$2 body=$3; shift 3
	fget "$k" "$@"
	[ "$CODE" = "$code" ] && [ "$(cat "$T/$k.b")" = "$body" ] || { shown "$k"; return 1; }
	then_own "$k"
}
tc "HTTP/1.0 200 without a length (Connection: keep-alive): relayed to its close, not pooled" \
	not_pooled http10-eof 200 "old:/$B/http10-eof"
h10_close() { grep -q -i '^connection: close' "$T/http10-eof.h" || { shown http10-eof; return 1; }; }
tc "... and the client is told Connection: close" h10_close
tc "Connection: close on a connection the backend keeps open: not reused" not_pooled close-kept 200 mine
head_body() {
	fget head-body -I
	[ "$CODE" = 200 ] && [ "$RC" = 0 ] || { shown head-body; return 1; }
	then_own head-body
}
tc "a HEAD answered with 4 body bytes: 200, the connection not reused" head_body
tc "a 304 followed by body bytes: 304, not reused" not_pooled not-modified-body 304 ""
# rawp PROFILE PORT TEMPLATE — rawhttp.py send signed with PROFILE's keys;
# the answer in $T/rawp.out, rawhttp's line printed
rawp() {
	local akid secret
	read -r akid secret _ <"$T/profiles/$1"
	RAW_AKID=$akid RAW_SECRET=$secret RAW_REGION=$S3_REGION $RAW send "$2" "$3" --wait 15 --out "$T/rawp.out"
}
early() {
	local n=$((8 * 1048576))
	rawp pf "$FAKE_PORT" "PUT /$B/early-200 HTTP/1.1\r\nHost: 127.0.0.1\r\n{SIG}Content-Length: $n\r\n\r\n{PAD:$n}" >/dev/null
	grep -q -a '^HTTP/1.1 200' "$T/rawp.out" && grep -q -a -x $'early' <(tr -d '\r' <"$T/rawp.out" | tail -n 1) ||
		{ echo "the client got:"; head -c 600 "$T/rawp.out" | cat -v; return 1; }
	grep -q -a -i '^connection: close' "$T/rawp.out" || { echo "no Connection: close:"; head -c 600 "$T/rawp.out" | cat -v; return 1; }
	then_own early-200
}
tc "a 200 before 8 MiB of PUT body were sent: relayed with Connection: close, the connection not reused" early
# A client keeps sending its body until it sees the answer (as curl does;
# over a network it sees it a round trip late): a backend's early 403
# with a 60 KB body, the client reading nothing for 0.5 s through a 4 KiB
# receive buffer.  s3gate closed at once after relaying it, and the body
# still arriving reset the connection with the answer's rest unsent: the
# client got part of the 403 (seen: whole=0).  Now it lingers as
# after its own answers (the write side shut, up to 1 MiB read and
# dropped within 2 s), and the answer goes whole.
early_linger() {
	local akid secret out
	read -r akid secret _ <"$T/profiles/pf"
	out=$(RAW_AKID=$akid RAW_SECRET=$secret RAW_REGION=$S3_REGION \
		$PY3 "$LIB_DIR/helpers/exhaust.py" early "$FAKE_PORT" "/$B/early-403-big" --length $((64 * 1048576)))
	echo "# $out"
	[ "${out%% end=*}" = "403 whole=1" ]
}
tc "a 403 with a 60 KB body early while the client still sends its body: the client gets it whole (lingering, not a reset)" early_linger

# ---- 5: the credentials in a redirect -------------------------------------------------

redirect_akid() {
	fget err-301-akid
	! grep -q -a -F "$RGW_ACCESS_KEY" "$T/err-301-akid.h" "$T/err-301-akid.b" ||
		{ echo "the service key id reached the client:"; shown err-301-akid; return 1; }
	then_own err-301-akid same
}
tc "a 301 whose XML body names the service key id: not relayed (before the fix: relayed)" redirect_akid

# ---- 5b: hop-by-hop headers the backend names, a 204's framing --------------------------

# The backend's Connection header names headers of its own hop (RFC 9110
# 7.6.1): they stop at s3gate as the ones it knows by name do.  Before:
# relayed (X-Hop and the named ETag reached the client).
conn_named() {
	fget conn-named
	[ "$CODE" = 200 ] && [ "$(cat "$T/conn-named.b")" = "own:/$B/conn-named" ] || { shown conn-named; return 1; }
	! grep -q -a -i -e '^x-hop:' -e '^etag:' -e 'for-this-hop' "$T/conn-named.h" &&
		grep -q -a -i '^x-kept: 1' "$T/conn-named.h" || { echo "headers:"; shown conn-named; return 1; }
	then_own conn-named same
}
tc "a 200 whose Connection names X-Hop and ETag: neither relayed, X-Kept is, the connection pooled (before: both relayed)" conn_named
# A 204 carries no Content-Length or Transfer-Encoding (RFC 9110 8.6, RFC
# 9112 6.1): s3gate sends no body after it whatever the backend framed.
# Before: relayed as the backend sent them.
no_content() {
	fget "$1"
	[ "$CODE" = 204 ] && [ "$RC" = 0 ] && [ ! -s "$T/$1.b" ] || { shown "$1"; return 1; }
	! grep -q -a -i -e '^content-length:' -e '^transfer-encoding:' "$T/$1.h" &&
		grep -q -a -i '^x-kept: 1' "$T/$1.h" || { echo "headers:"; shown "$1"; return 1; }
	then_own "$1" same
}
tc "a 204 with Content-Length: 0: relayed without it, the connection pooled (before: relayed with it)" no_content no-content-cl
tc "a 204 with Transfer-Encoding: chunked: relayed without it, the connection pooled (before: relayed with it)" no_content no-content-te

# ---- 6: what a client can make RGW answer ------------------------------------------------

echo "the other principal's object $ID" >"$T/mine"
: >"$T/empty"
if ! out=$({ curl_sigv4 p2 -sf --max-time 10 -T "$T/mine" "$RGW_EP/$B2/mine" &&
	curl_sigv4 p -sf --max-time 10 -T "$T/mine" "$RGW_EP/$B/obj" &&
	curl_sigv4 p -sf --max-time 10 -T "$T/empty" "$RGW_EP/$B/empty"; } 2>&1); then
	FAIL_WHY="setup: objects at RGW: $out"
fi
# other_gets — p2's GET (on the backend connection just used, the pool
# holds one) gets exactly its object
other_gets() {
	curl_sigv4 p2 -sf --max-time 10 -o "$T/mine.got" "$RGW_EP/$B2/mine" || { echo "p2's GET failed"; return 1; }
	cmp "$T/mine" "$T/mine.got" || { echo "p2 got:"; head -c 400 "$T/mine.got" | cat -v; return 1; }
}
rgw_head_range() {
	local code
	code=$(curl_sigv4 p -I --max-time 10 -o /dev/null -w '%{http_code}' -H "Range: bytes=0-3" "$RGW_EP/$B/obj")
	case $code in 200|206) ;; *) echo "HEAD with Range: $code"; return 1 ;; esac
	other_gets
}
tc "RGW: a HEAD with Range, then another principal's GET: exactly its object" rgw_head_range
rgw_304() {
	local etag code
	etag=$(curl_sigv4 p -sI --max-time 10 "$RGW_EP/$B/obj" | tr -d '\r' | awk -F': ' 'tolower($1) == "etag" {print $2}')
	[ -n "$etag" ] || { echo "no ETag"; return 1; }
	code=$(curl_sigv4 p --max-time 10 -D "$T/nm.h" -o "$T/nm.b" -w '%{http_code}' -H "If-None-Match: $etag" "$RGW_EP/$B/obj")
	[ "$code" = 304 ] && [ ! -s "$T/nm.b" ] || { echo "If-None-Match: $code"; cat -v "$T/nm.h" "$T/nm.b"; return 1; }
	other_gets
}
tc "RGW: 304 to If-None-Match (its headers, no body), then another principal's GET: exactly its object" rgw_304
rgw_empty() {
	local code
	code=$(curl_sigv4 p --max-time 10 -o "$T/empty.got" -w '%{http_code}' "$RGW_EP/$B/empty")
	[ "$code" = 200 ] && [ ! -s "$T/empty.got" ] || { echo "GET of 0 bytes: $code"; return 1; }
	other_gets || return 1
	code=$(curl_sigv4 p -I --max-time 10 -o /dev/null -w '%{http_code}' "$RGW_EP/$B/empty")
	[ "$code" = 200 ] || { echo "HEAD of 0 bytes: $code"; return 1; }
	other_gets
}
tc "RGW: a GET and a HEAD of a 0-byte object, each followed by another principal's GET: exactly its object" rgw_empty

# early_put PAD PATH HEADER_LINES CODE... — p's PUT of PATH whose body
# holds the start of a request and PAD bytes more (were it left unread on a
# pooled connection, the next borrower's request would end it) is refused
# with one of the CODEs; then p2's GET gets exactly its object.  A small
# body goes with the head: s3gate sent it all before the answer, and the
# connection goes back to the pool if RGW read it (RGW must, or close)
early_put() {
	local pad=$1 path=$2 hdrs=$3 pre n got; shift 3
	pre="GET /$B/obj HTTP/1.1\r\nHost: x\r\nX-Pad: "
	n=$(($(printf "$pre" | wc -c) + pad))
	rawp p "$RGW_PORT" "PUT $path HTTP/1.1\r\nHost: 127.0.0.1\r\n$hdrs{SIG}Content-Length: $n\r\nConnection: close\r\n\r\n$pre{PAD:$pad}" >/dev/null
	got=$(grep -ao '<Code>[^<]*' "$T/rawp.out" | head -n 1 | sed 's/<Code>//')
	for c in "$@"; do [ "$got" = "$c" ] && { other_gets; return; }; done
	echo "the PUT got $got, expected $*:"; head -c 600 "$T/rawp.out" | cat -v; return 1
}
for pad in 1048576 40; do
	tc "RGW: a PUT with an unknown storage class (refused), a body of a request's start and $pad bytes; then another principal's GET: its object" \
		early_put $pad "/$B/sc" "x-amz-storage-class: NOSUCHCLASS\r\n" InvalidStorageClass InvalidArgument
	tc "RGW: a PUT with a wrong Content-MD5, the same body; then another principal's GET: its object" \
		early_put $pad "/$B/md5" "Content-MD5: AAAAAAAAAAAAAAAAAAAAAA==\r\n" BadDigest InvalidDigest
done
gone() {
	backend_aws s3api delete-bucket --bucket "$B-gone" >/dev/null || { echo "could not delete $B-gone at the backend"; return 1; }
	early_put 1048576 "/$B-gone/k" "" NoSuchBucket && early_put 40 "/$B-gone/k" "" NoSuchBucket
}
tc "RGW: a PUT to a bucket deleted at the backend (NoSuchBucket), the same bodies; then another principal's GET: its object" gone

s3gate_stop fake || t_fail "s3gate fake exits cleanly" "see $T/fake/s3gate.log"
s3gate_stop rgw || t_fail "s3gate rgw exits cleanly" "see $T/rgw/s3gate.log"
exit 0
