#!/bin/bash
# Hostile input and hostile load, through a raw-socket client
# (helpers/rawhttp.py) that signs with SigV4 where a case needs it, so that
# a request s3gate let through would really act at the backend:
#   framing and smuggling shapes (CL+TE, two Content-Lengths, obs-fold, bare
#     LF/CR, NUL and control bytes, absurd chunk sizes, oversized heads,
#     too many headers, over-long URIs): 400/431/414, connection closed,
#     the backend never contacted (s3gate_backend_connections_total on the
#     admin listener does not move) and no canary object stored;
#   path and Host confusion: every trick to read a bucket the principal has
#     no grant for is refused; what the principal writes lands at the
#     backend under exactly the key the request named;
#   slow and many clients: head and idle timeouts, 200 slowloris connections
#     while normal GETs stay fast, the per-address and global connection
#     caps, 2 000 (and 10 000, if the machine allows) idle connections.
# Workspaces (own principals): ws-hank (hank, the attacker, owns it),
#   ws-vera (vera; holds "secret", hank has no grant).
. "$(dirname "$0")/lib.sh"

RAW="$PY3 $LIB_DIR/helpers/rawhttp.py"
SECRET_TEXT="the secret of vera $(rand_id)"

need_s3gate "hardening" "checks s3gate's own behaviour: not meaningful against RGW"

s3gate_start hard "service_domain s3.test" "head_timeout 2s" "idle_timeout 3s" ||
	{ t_fail "s3gate starts (service_domain s3.test, head_timeout 2s)" "see $T/hard/s3gate.log"; exit 1; }
HARD_PORT=$S3GATE_PORT HARD_ADMIN=$S3GATE_ADMIN_URL HARD_EP=$S3GATE_ENDPOINT
if ! out=$({ ws_setup vera ws-vera && ws_setup hank ws-hank && s3gate_cred hank; } 2>&1); then
	t_fail "workspaces ws-hank, ws-vera and hank's credentials" "$out"; exit 1
fi
read -r RAW_AKID RAW_SECRET _ <"$T/profiles/hank"
export RAW_AKID RAW_SECRET RAW_REGION=$S3_REGION
printf '%s\n' "$SECRET_TEXT" >"$T/secret"
echo "hank's decoy at key ws-vera/secret" >"$T/decoy"
echo "hank's object" >"$T/obj"
if ! out=$({ backend_aws s3api put-object --bucket ws-vera --key secret --body "$T/secret" &&
	backend_aws s3api put-object --bucket ws-hank --key ws-vera/secret --body "$T/decoy" &&
	backend_aws s3api put-object --bucket ws-hank --key obj --body "$T/obj"; } 2>&1); then
	t_fail "objects put at the backend" "$out"; exit 1
fi
t_pass "setup: ws-vera/secret at the backend, hank has no grant on ws-vera"

# raw TEMPLATE [rawhttp send options] — to the current proxy; sets R_STATUS
# R_CLOSED R_SECS R_BYTES; the response is in $T/resp
raw() {
	local t=$1; shift
	read -r R_STATUS R_CLOSED R_SECS R_BYTES < <($RAW send "${PORT:-$HARD_PORT}" "$t" --out "$T/resp" "$@" 2>"$T/raw.err" ||
		echo "000 0 0 0")
	[ -n "${R_STATUS:-}" ] || R_STATUS=000
}
# backend_reqs — requests s3gate has sent the backend (new + reused connections)
backend_reqs() {
	curl -s --max-time 5 "${ADMIN:-$HARD_ADMIN}/metrics" |
		awk '/^s3gate_backend_connections_total/ {s += $2} END {print s + 0}'
}
metric() {	# metric NAME — the value of an unlabelled metric
	curl -s --max-time 5 "${ADMIN:-$HARD_ADMIN}/metrics" | awk -v n="$1" '$1 == n {print $2}'
}
resp_msg() { grep -ao '<Code>[^<]*</Code><Message>[^<]*' "$T/resp" | head -c 160 | sed 's/<[^>]*>/ /g'; }

# ---- positive control: the raw client, the signer and the counter -------------

b0=$(backend_reqs)
raw 'GET /ws-hank/obj HTTP/1.1\r\nHost: 127.0.0.1\r\n{SIG}Connection: close\r\n\r\n'
b1=$(backend_reqs)
if [ "$R_STATUS" = 200 ] && grep -q "hank's object" "$T/resp" && [ "$b1" = $((b0 + 1)) ]; then
	t_pass "control: a signed raw GET is served and counted at the backend ($b0 -> $b1)"
else
	t_fail "control: a signed raw GET is served and counted at the backend" \
		"status $R_STATUS, backend requests $b0 -> $b1; $(head -c 300 "$T/resp")"
fi

# ---- framing and smuggling ------------------------------------------------------

# refuse NAME STATUSES TEMPLATE — STATUSES ("400" or "400|411") answered,
# connection closed, the backend not contacted, the secret not in the answer
refuse() {
	local name=$1 want=$2 t=$3 b0 b1 why=""
	b0=$(backend_reqs)
	raw "$t" --wait 3
	b1=$(backend_reqs)
	case "|$want|" in *"|$R_STATUS|"*) ;; *) why="status $R_STATUS, want $want; " ;; esac
	[ "$R_CLOSED" = 1 ] || why+="connection left open; "
	[ "$b0" = "$b1" ] || why+="the backend was contacted ($b0 -> $b1 requests); "
	! grep -qF "$SECRET_TEXT" "$T/resp" || why+="the secret was answered; "
	if [ -z "$why" ]; then
		t_pass "$name: $R_STATUS, closed, backend untouched"
	else
		t_fail "$name" "$why
$(resp_msg)
template: $t"
	fi
}

# Each is a signed PutObject of a canary key whose body holds a second,
# smuggled request for the victim's secret.
SM='GET /ws-vera/secret HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n'
put() { printf 'PUT /ws-hank/canary-%s HTTP/1.1\\r\\nHost: 127.0.0.1\\r\\n{SIG}' "$1"; }
refuse "CL then TE" 400 "$(put clte)Content-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n$SM"
refuse "TE then CL" 400 "$(put tecl)Transfer-Encoding: chunked\r\nContent-Length: 4\r\n\r\n0\r\n\r\n$SM"
refuse "two Content-Lengths, different" 400 "$(put 2cl)Content-Length: 0\r\nContent-Length: 44\r\n\r\n$SM"
refuse "two Content-Lengths, equal" 400 "$(put 2cleq)Content-Length: 5\r\nContent-Length: 5\r\n\r\nhello$SM"
refuse "Content-Length list '5, 5'" 400 "$(put cllist)Content-Length: 5, 5\r\n\r\nhello$SM"
refuse "Content-Length '+5'" 400 "$(put clplus)Content-Length: +5\r\n\r\nhello$SM"
refuse "Content-Length overflow" 400 "$(put clbig)Content-Length: 99999999999999999999999\r\n\r\nhello$SM"
refuse "'Content-Length :' (space before colon)" 400 "$(put clsp)Content-Length : 5\r\n\r\nhello$SM"
refuse "'Transfer-Encoding :' with Content-Length" 400 "$(put tesp)Transfer-Encoding : chunked\r\nContent-Length: 5\r\n\r\nhello$SM"
refuse "Transfer-Encoding: xchunked" 400 "$(put tex)Transfer-Encoding: xchunked\r\n\r\n0\r\n\r\n$SM"
refuse "Transfer-Encoding: chunked, identity" 400 "$(put teci)Transfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n$SM"
refuse "Transfer-Encoding twice" 400 "$(put te2)Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n$SM"
refuse "obs-fold" 400 "$(put fold)X-Fold: a\r\n b\r\nContent-Length: 5\r\n\r\nhello$SM"
refuse "obs-fold hiding a Content-Length" 400 "$(put foldcl)X-Fold: a\r\n Content-Length: 44\r\nContent-Length: 0\r\n\r\n$SM"
refuse "bare LF line endings" 400 'PUT /ws-hank/canary-lf HTTP/1.1\nHost: 127.0.0.1\n{SIG}Content-Length: 5\n\nhello'"$SM"
refuse "one bare LF among CRLFs" 400 "$(put lf1)Content-Length: 5\nX-A: b\r\n\r\nhello$SM"
refuse "bare CR" 400 "$(put cr)X-A: b\rContent-Length: 44\r\nContent-Length: 0\r\n\r\n$SM"
refuse "NUL in a header value" 400 "$(put nulv)X-Nul: a\x00b\r\nContent-Length: 5\r\n\r\nhello$SM"
refuse "NUL in a header name" 400 "$(put nuln)X-N\x00ul: ab\r\nContent-Length: 5\r\n\r\nhello$SM"
refuse "control byte 0x01 in a header" 400 "$(put ctl)X-Ctl: a\x01b\r\nContent-Length: 5\r\n\r\nhello$SM"
refuse "DEL in a header" 400 "$(put del)X-Ctl: a\x7fb\r\nContent-Length: 5\r\n\r\nhello$SM"
refuse "NUL in the request target" 400 'PUT /ws-hank/canary-nult\x00 HTTP/1.1\r\nHost: 127.0.0.1\r\n{SIG}Content-Length: 5\r\n\r\nhello'"$SM"
refuse "ESC in the request target" 400 'PUT /ws-hank/canary-esc\x1b HTTP/1.1\r\nHost: 127.0.0.1\r\n{SIG}Content-Length: 5\r\n\r\nhello'"$SM"
refuse "not HTTP/1.x" 400 'GET /ws-vera/secret HTTP/2.0\r\nHost: 127.0.0.1\r\n\r\n'
# RGW folds '_' into '-' in header names: an unsigned x_amz_copy_source
# would make this PutObject a copy of the victim's secret at the backend.
refuse "header name with '_' (x_amz_copy_source)" 400 \
	"$(put under)x_amz_copy_source: ws-vera/secret\r\nContent-Length: 0\r\n\r\n"
# Connection may not make the framing hop-by-hop: dropping Content-Length
# would leave the body to be read by the backend as a request of its own.
refuse "Connection naming Content-Length" 400 \
	"$(put connlen)Connection: keep-alive, Content-Length\r\nContent-Length: 44\r\n\r\n$SM"
refuse "Connection naming an x-amz-* header" 400 \
	"$(put connamz)Connection: x-amz-meta-a\r\nx-amz-meta-a: 1\r\nContent-Length: 5\r\n\r\nhello"
# A plain chunked body is refused whole (411: s3gate takes chunked
# transfer only for aws-chunked bodies; unsigned, 403 comes first), before
# its chunk size is read.
refuse "absurd chunk size, plain chunked (unsigned)" "400|403|411" \
	'PUT /ws-hank/canary-chunk0 HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\nfffffffffffffffffffffffffff\r\nhello\r\n0\r\n\r\n'"$SM"
refuse "absurd chunk size, plain chunked (signed)" "400|411" \
	"$(put chunk1)Transfer-Encoding: chunked\r\n\r\nfffffffffffffffffffffffffff\r\nhello\r\n0\r\n\r\n$SM"

# Limits (defaults: max_head_size 32k, max_headers 100, max_uri_size 8k)
refuse "head over max_head_size (33 KB header)" 431 'GET /ws-hank/obj HTTP/1.1\r\nHost: 127.0.0.1\r\n{SIG}X-Big: {PAD:33000}\r\n\r\n'
refuse "head over max_head_size, never ending" 431 'GET /ws-hank/obj HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: {PAD:40000}'
refuse "101 header lines (max_headers 100)" 431 'GET /ws-hank/obj HTTP/1.1\r\nHost: 127.0.0.1\r\n{SIG}{HDRS:98}\r\n'
refuse "500 header lines" 431 'GET /ws-hank/obj HTTP/1.1\r\nHost: 127.0.0.1\r\n{HDRS:500}\r\n'
refuse "URI over max_uri_size (9 000)" 414 'GET /ws-hank/{PAD:9000} HTTP/1.1\r\nHost: 127.0.0.1\r\n{SIG}\r\n'
refuse "URI of 30 000" 414 'GET /ws-hank/{PAD:30000} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n'
# and just under them: served (the limits are not set lower than documented)
# (a long query: RGW refuses keys over 1 024 bytes)
raw 'GET /ws-hank/obj?response-cache-control={PAD:7900} HTTP/1.1\r\nHost: 127.0.0.1\r\n{SIG}Connection: close\r\n{HDRS:90}\r\n'
t_expect_eq "a 7 940-byte URI with 95 header lines is served" 200 "$R_STATUS"

# aws-chunked with an absurd chunk size: a signed PutObject whose body is
# decoded by s3gate (STREAMING-UNSIGNED-PAYLOAD-TRAILER)
CRC=$($PY3 -c 'import zlib,base64,struct;print(base64.b64encode(struct.pack(">I",zlib.crc32(b"hello"))).decode())')
awschunked() {	# KEY BODY [FRAMING-HEADER]
	local len
	len=$(printf "$2" | wc -c)
	printf 'PUT /ws-hank/%s HTTP/1.1\\r\\nHost: 127.0.0.1\\r\\n{SIG}Content-Encoding: aws-chunked\\r\\nx-amz-trailer: x-amz-checksum-crc32\\r\\nx-amz-decoded-content-length: 5\\r\\n%s\\r\\n%s' \
		"$1" "${3:-Content-Length: $len\\r\\n}" "$2"
}
export RAW_PAYLOAD=STREAMING-UNSIGNED-PAYLOAD-TRAILER
raw "$(awschunked canary-awsok "5\r\nhello\r\n0\r\nx-amz-checksum-crc32:$CRC\r\n\r\n")Connection: close\r\n"
t_expect_eq "control: a well-formed aws-chunked PutObject through the raw client" 200 "$R_STATUS"
b0=$(backend_reqs)
raw "$(awschunked canary-awsbig "ffffffffffffffffffffffff\r\nhello\r\n0\r\nx-amz-checksum-crc32:$CRC\r\n\r\n")"
b1=$(backend_reqs)
if [ "$R_STATUS" = 400 ] && [ "$R_CLOSED" = 1 ]; then
	t_pass "aws-chunked chunk size of 24 hex digits: 400, closed ($(resp_msg))"
else
	t_fail "aws-chunked chunk size of 24 hex digits: 400, closed" "status $R_STATUS closed $R_CLOSED; $(resp_msg)"
fi
# The issue asks that absurd chunk sizes be refused before anything reaches
# the backend; the first chunk header came in the same packet as the head.
if [ "$b0" = "$b1" ]; then
	t_pass "aws-chunked absurd chunk size: the backend is not contacted"
else
	t_fail "aws-chunked absurd chunk size: the backend is not contacted" \
		"backend requests $b0 -> $b1: the PutObject head went to the backend before the first chunk header (already received) was checked"
fi
raw "$(awschunked canary-awsbig2 "" 'Transfer-Encoding: chunked\r\n')fffffffffffffffffffffffffffff\r\nhello\r\n0\r\n\r\n"
if [ "$R_STATUS" = 400 ] && [ "$R_CLOSED" = 1 ]; then
	t_pass "aws-chunked in chunked transfer, absurd outer chunk size: 400, closed"
else
	t_fail "aws-chunked in chunked transfer, absurd outer chunk size: 400, closed" "status $R_STATUS closed $R_CLOSED; $(resp_msg)"
fi
unset RAW_PAYLOAD

# nothing of the above was stored
canaries() {
	local out
	out=$(backend_aws s3api list-objects-v2 --bucket ws-hank --prefix canary- --query 'Contents[].Key' --output text) || return 1
	echo "canary keys at the backend: $out"
	[ "$out" = canary-awsok ]
}
t_check "no refused request stored its canary object (only the control's)" canaries

# ---- path and Host confusion ------------------------------------------------------

# steal NAME HOST TARGET — hank's signed GET must neither succeed nor carry the secret
steal() {
	local name=$1 host=$2 target=$3
	raw "GET $target HTTP/1.1\r\nHost: $host\r\n{SIG}Connection: close\r\n\r\n"
	if grep -qF "$SECRET_TEXT" "$T/resp"; then
		t_fail "steal: $name" "Host $host, $target: the victim's secret was answered (status $R_STATUS)"
	elif [ "$R_STATUS" = 000 ] || [ "${R_STATUS:0:1}" = 2 ] || [ "${R_STATUS:0:1}" = 5 ]; then
		t_fail "steal: $name" "Host $host, $target: status $R_STATUS, want a 4xx refusal; $(resp_msg)"
	else
		t_pass "steal: $name: $R_STATUS$(grep -ao '<Code>[^<]*' "$T/resp" | head -n 1 | sed 's/<Code>/ /')"
	fi
}
steal "direct" 127.0.0.1 /ws-vera/secret
steal "dot segments" 127.0.0.1 /ws-hank/../ws-vera/secret
steal "dot segments, encoded" 127.0.0.1 /ws-hank/%2e%2e/ws-vera/secret
steal "dot segments, upper-case encoding" 127.0.0.1 /ws-hank/%2E%2E/ws-vera/secret
steal "dots and slashes encoded" 127.0.0.1 /ws-hank/%2E%2E%2Fws-vera%2Fsecret
steal "..%2f" 127.0.0.1 /ws-hank/..%2fws-vera/secret
steal "encoded slash after the bucket" 127.0.0.1 /ws-hank%2F..%2Fws-vera/secret
steal "./../" 127.0.0.1 /ws-hank/./../ws-vera/secret
steal "//../" 127.0.0.1 /ws-hank//../ws-vera/secret
steal "x/../../" 127.0.0.1 /ws-hank/x/../../ws-vera/secret
steal "leading /../" 127.0.0.1 /../ws-vera/secret
steal "leading /%2e%2e/" 127.0.0.1 /%2e%2e/ws-vera/secret
steal "leading /./" 127.0.0.1 /./ws-vera/secret
steal "leading //" 127.0.0.1 //ws-vera/secret
steal "encoded slash in bucket/key" 127.0.0.1 /ws-vera%2Fsecret
steal "backslashes" 127.0.0.1 '/ws-hank\\..\\ws-vera\\secret'
steal "..;/" 127.0.0.1 '/ws-hank/..;/ws-vera/secret'
steal "%00 then dot segments" 127.0.0.1 /ws-hank/%00/../../ws-vera/secret
steal "%3F then dot segments" 127.0.0.1 /ws-hank/%3F/../../ws-vera/secret
steal "%23 then dot segments" 127.0.0.1 /ws-hank/%23/../../ws-vera/secret
steal "encoded letters in the bucket" 127.0.0.1 /%77s-ver%61/secret
steal "mixed-case bucket WS-VERA" 127.0.0.1 /WS-VERA/secret
steal "bucket with a trailing dot" 127.0.0.1 /ws-vera./secret
steal "absolute-form target" 127.0.0.1 http://127.0.0.1/ws-vera/secret
steal "absolute-form with a virtual host" 127.0.0.1 http://ws-vera.s3.test/secret
steal "asterisk-form" 127.0.0.1 '*'
steal "virtual host" ws-vera.s3.test /secret
steal "virtual host with port" ws-vera.s3.test:80 /secret
steal "virtual host, upper case" WS-VERA.S3.TEST /secret
steal "virtual host, trailing dot" ws-vera.s3.test. /secret
steal "virtual host ws-hank, dot segments" ws-hank.s3.test /../ws-vera/secret
steal "virtual host ws-hank, encoded dot segments" ws-hank.s3.test /%2e%2e%2Fws-vera%2Fsecret
steal "virtual host ws-hank, //" ws-hank.s3.test //../ws-vera/secret
steal "virtual host ws-hank, absolute-form target" ws-hank.s3.test http://127.0.0.1/ws-vera/secret
steal "nested virtual host" ws-hank.ws-vera.s3.test /secret
steal "Host under no service domain" ws-vera.s3.test.evil /secret
steal "Host with userinfo" ws-vera.s3.test@127.0.0.1 /secret
steal "the bare service domain, path style" s3.test /ws-vera/secret
steal "ListObjects by virtual host" ws-vera.s3.test '/?list-type=2'

# Two Host headers (RFC 9112 3.2: a server MUST answer 400), signed over both
# values so that only the duplicate can be the reason for a refusal.
RAW_SIGHOST="127.0.0.1,ws-vera.s3.test" raw 'GET /ws-hank/obj HTTP/1.1\r\nHost: 127.0.0.1\r\n{SIG}Host: ws-vera.s3.test\r\nConnection: close\r\n\r\n'
t_expect_eq "two Host headers are refused with 400" 400 "$R_STATUS" ||
	echo "# reproducer: signed GET /ws-hank/obj with 'Host: 127.0.0.1' and 'Host: ws-vera.s3.test' (SignedHeaders host = '127.0.0.1,ws-vera.s3.test') -> $R_STATUS; the first Host is used"
RAW_SIGHOST="ws-vera.s3.test,127.0.0.1" raw 'GET /secret HTTP/1.1\r\nHost: ws-vera.s3.test\r\n{SIG}Host: 127.0.0.1\r\nConnection: close\r\n\r\n'
if grep -qF "$SECRET_TEXT" "$T/resp" || [ "${R_STATUS:0:1}" = 2 ]; then
	t_fail "two Host headers: the victim's bucket is not reached" "status $R_STATUS"
else
	t_pass "two Host headers: the victim's bucket is not reached ($R_STATUS)"
fi

# The same addressing, on hank's own objects: exactly the object named.
get_is() {	# NAME HOST TARGET STATUS FILE
	raw "GET $3 HTTP/1.1\r\nHost: $2\r\n{SIG}Connection: close\r\n\r\n"
	if [ "$R_STATUS" = "$4" ] && [ -n "$5" ] && ! grep -qF "$(cat "$5")" "$T/resp"; then
		# Seen twice on a machine with both cores busy (fuzzers): the right
		# status, the body not read.  Said here, and asked once more.
		echo "# $1: status $R_STATUS but $R_BYTES bytes read (closed $R_CLOSED, ${R_SECS}s); asking again"
		raw "GET $3 HTTP/1.1\r\nHost: $2\r\n{SIG}Connection: close\r\n\r\n"
	fi
	if [ "$R_STATUS" = "$4" ] && { [ -z "$5" ] || grep -qF "$(cat "$5")" "$T/resp"; }; then
		t_pass "$1"
	else
		t_fail "$1" "Host $2, $3: status $R_STATUS (want $4)$([ -z "$5" ] || echo ", body of $(basename "$5") expected"); $(resp_msg)"
	fi
}
get_is "virtual host ws-hank, path /ws-vera/secret: hank's key 'ws-vera/secret' (the decoy)" \
	ws-hank.s3.test /ws-vera/secret 200 "$T/decoy"
get_is "a Host under no service domain is path style" ws-hank.s3.test.evil /ws-hank/obj 200 "$T/obj"
get_is "an unrelated Host is path style" evil.example /ws-hank/obj 200 "$T/obj"
get_is "a mixed-case path-style bucket is refused (400), even one's own" 127.0.0.1 /WS-Hank/obj 400 ""
get_is "path style, a virtual-hosted name as bucket" 127.0.0.1 /ws-hank.s3.test/obj 403 ""

# Writes land under exactly the key the request named (no normalisation).
put_key() {	# HOST TARGET BODY
	raw "PUT $2 HTTP/1.1\r\nHost: $1\r\n{SIG}Content-Length: ${#3}\r\nConnection: close\r\n\r\n$3"
	[ "$R_STATUS" = 200 ] || echo "PUT $2 (Host $1): $R_STATUS $(resp_msg)"
}
exact_keys() {
	local out
	put_key 127.0.0.1 /ws-hank/x/a/../b "dotdot-1" &&
		put_key 127.0.0.1 /ws-hank/x/%2e%2e/c "dotdot-22" &&
		put_key 127.0.0.1 /ws-hank/x/d//e "slashslash-333" &&
		put_key 127.0.0.1 /ws-hank/x/f%2Fg "encslash-4444" &&
		put_key ws-hank.s3.test /x/vh/./k "vhost-55555" || return 1
	out=$(backend_aws s3api list-objects-v2 --bucket ws-hank --prefix x/ \
		--query 'Contents[].[Key,Size]' --output text) || return 1
	echo "$out"
	[ "$out" = "$(printf 'x/../c\t9\nx/a/../b\t8\nx/d//e\t14\nx/f/g\t13\nx/vh/./k\t11')" ]
}
t_check "writes land under exactly the keys named ('a/../b', '%2e%2e', '//', '%2F', vhost './')" exact_keys

# ---- slow clients -----------------------------------------------------------------

read -r sl < <($RAW slowloris "$HARD_PORT" --count 1 --seconds 6 --every 0.4)
first=$(sed -E 's/.* first=([0-9.-]+).*/\1/' <<<"$sl")
if awk -v f="$first" 'BEGIN {exit !(f >= 1.5 && f <= 3.5)}'; then
	t_pass "head_timeout 2s: a slowloris connection (a header line every 0.4 s) is closed after $first s"
else
	t_fail "head_timeout 2s: a slowloris connection is closed after ~2 s" "$sl"
fi
raw 'GET /ws-hank/obj HTTP/1.1\r\nHost: 127.0.0.1\r\n{SIG}\r\n' --wait 8
if [ "$R_STATUS" = 200 ] && [ "$R_CLOSED" = 1 ] && awk -v s="$R_SECS" 'BEGIN {exit !(s >= 2.5 && s <= 4.5)}'; then
	t_pass "idle_timeout 3s: a keep-alive connection is closed $R_SECS s after its answer"
else
	t_fail "idle_timeout 3s: a keep-alive connection is closed ~3 s after its answer" \
		"status $R_STATUS closed $R_CLOSED after $R_SECS s"
fi

# 200 slowloris connections (reopened as they are closed) while 20 GETs run
$RAW slowloris "$HARD_PORT" --count 200 --seconds 9 --every 0.5 --reconnect >"$T/slow.out" 2>&1 &
slowpid=$!
# all 200 open (then the GETs, while the 9 s of slowloris last)
slow_open() { conns=$(metric s3gate_connections); [ "${conns:-0}" -ge 200 ]; }
wait_for 6 slow_open
: >"$T/gets.out"
for i in $(seq 20); do
	curl_sigv4 hank -o /dev/null -w '%{http_code} %{time_total}\n' --max-time 5 "$HARD_EP/ws-hank/obj" \
		>>"$T/gets.out" 2>&1
done
wait $slowpid
slow=$(cat "$T/slow.out")
ok=$(awk '$1 == 200 && $2 < 1.0' "$T/gets.out" | wc -l)
maxt=$(awk '{ if ($2 > m) m = $2 } END {print m + 0}' "$T/gets.out")
if [ "$ok" = 20 ] && [ "${conns:-0}" -ge 200 ]; then
	t_pass "200 slowloris connections ($conns open; $slow): 20 GETs all 200, slowest $maxt s"
else
	t_fail "200 slowloris connections: 20 GETs all 200 within 1 s" "$ok/20 ok, slowest $maxt s, s3gate_connections $conns during the run; $slow
$(sort "$T/gets.out" | uniq -c | head)"
fi

# ---- the admin listener's connections ----------------------------------------------------

# libevent 2.1's evhttp, which serves the admin port, had no cap on
# connections and a timeout that every byte restarts: s3gate caps them at
# 64 (proxy/server.c, SERVER_ADMIN_MAX_CONNS) and gives each request head
# 5 s (SERVER_ADMIN_TIMEOUT_S) from the connection's opening or its last
# answer.
HARD_APORT=${HARD_ADMIN##*:}

# 70 idle connections: the 6 over the cap are closed at once, and so is a
# new one; the head deadline closes the others; then /metrics answers and
# counts the refused.
admin_cap() {
	"$PY3" - "$HARD_APORT" <<'EOF'
import re, select, socket, sys, time
port, CAP, OVER = int(sys.argv[1]), 64, 6

def closed(s, wait=0.0):
    """whether the server closed S (EOF or reset) within WAIT seconds"""
    if not select.select([s], [], [], wait)[0]:
        return False
    try:
        return s.recv(4096) == b""
    except OSError:
        return True

def get(path):
    """status and body of GET PATH on a new connection ("000" if closed unanswered)"""
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    s.sendall(b"GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n" % path)
    got = b""
    try:
        while True:
            b = s.recv(65536)
            if not b:
                break
            got += b
    except OSError:
        pass
    s.close()
    m = re.match(rb"HTTP/1\.1 (\d{3})", got)
    return (m.group(1).decode() if m else "000"), got.partition(b"\r\n\r\n")[2].decode()

def metric(text, name):
    m = re.search(r"^%s (\d+)$" % name, text, re.M)
    return int(m.group(1)) if m else 0

refused0 = metric(get(b"/metrics")[1], "s3gate_admin_connections_refused_total")
t0 = time.monotonic()
held = [socket.create_connection(("127.0.0.1", port), timeout=5) for _ in range(CAP + OVER)]
time.sleep(0.5)
at_once = [i for i, s in enumerate(held) if closed(s)]
extra, _ = get(b"/healthz")
print("of %d idle connections, closed within 0.5 s: %s; a new one: status %s" % (
    len(held), at_once, extra))
left = [s for i, s in enumerate(held) if i not in at_once]
while left and time.monotonic() - t0 < 9:
    ready = select.select(left, [], [], 0.2)[0]
    left = [s for s in left if s not in ready or not closed(s)]
took = time.monotonic() - t0
status, text = get(b"/metrics")
refused = metric(text, "s3gate_admin_connections_refused_total") - refused0
print("the other %d closed after %.1f s (%d still open); then /metrics %s, "
      "refused %d more, s3gate_admin_connections %d" % (
      CAP, took, len(left), status, refused, metric(text, "s3gate_admin_connections")))
ok = (at_once == list(range(CAP, CAP + OVER)) and extra == "000" and not left and
      4 <= took <= 7.5 and status == "200" and refused == OVER + 1 and
      metric(text, "s3gate_admin_connections") == 1)
sys.exit(0 if ok else 1)
EOF
}
name="admin listener: of 70 idle connections the 6 over its cap of 64 are closed at once, a 71st too; the head deadline closes the rest within ~5 s; /metrics then answers and counts 7 refused"
if out=$(admin_cap 2>&1); then t_pass "$name ($(paste -sd ';' <<<"$out"))"; else t_fail "$name" "$out"; fi

# A head dripped a line a second (each line restarting evhttp's own
# timeout) is cut at the deadline, while a keep-alive client that asks
# every 1.7 s is served for longer than that; answers to Connection:
# close and HTTP/1.0, after which the connection closes, arrive whole.
$RAW slowloris "$HARD_APORT" --count 1 --seconds 8 --every 1 >"$T/admin-drip.out" 2>&1 &
drippid=$!
admin_keepalive() {
	"$PY3" - "$HARD_APORT" <<'EOF'
import re, socket, sys, time
port = int(sys.argv[1])

def answer(s):
    """status of the next answer on S, its body, whether that came whole
    (to its Content-Length, or without one to the close)"""
    got = b""
    while b"\r\n\r\n" not in got:
        b = s.recv(65536)
        if not b:
            return "000", b"", False
        got += b
    head, _, body = got.partition(b"\r\n\r\n")
    m = re.search(rb"(?im)^content-length: *(\d+)", head)
    while m is None or len(body) < int(m.group(1)):
        b = s.recv(65536)
        if not b:
            return head[9:12].decode(), body, m is None
        body += b
    return head[9:12].decode(), body, len(body) == int(m.group(1))

def closes(s):
    try:
        return s.recv(1) == b""
    except OSError:
        return True

s = socket.create_connection(("127.0.0.1", port), timeout=3)
t0, seen = time.monotonic(), []
for i in range(5):
    if i:
        time.sleep(1.7)
    s.sendall(b"GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    st, _, whole = answer(s)
    seen.append(st if whole else st + "(cut)")
print("one connection, an answer every 1.7 s for %.1f s: %s" % (time.monotonic() - t0, " ".join(seen)))
ok = seen == ["200"] * 5
for name, req in (("Connection: close", b"GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"),
                  ("HTTP/1.0", b"GET /healthz HTTP/1.0\r\n\r\n")):
    c = socket.create_connection(("127.0.0.1", port), timeout=3)
    c.sendall(req)
    st, body, whole = answer(c)
    shut = closes(c)
    print("%s: %s, %d bytes, whole %s, then closed %s" % (name, st, len(body), whole, shut))
    ok = ok and st == "200" and whole and shut and (name != "HTTP/1.0" or body == b"ok\n")
sys.exit(0 if ok else 1)
EOF
}
name="admin listener: a keep-alive client asking every 1.7 s is served past the head deadline; Connection: close and HTTP/1.0 answers arrive whole"
if out=$(admin_keepalive 2>&1); then t_pass "$name ($(paste -sd ';' <<<"$out"))"; else t_fail "$name" "$out"; fi
wait $drippid
drip=$(cat "$T/admin-drip.out")
first=$(sed -E 's/.* first=([0-9.-]+).*/\1/' <<<"$drip")
if awk -v f="$first" 'BEGIN {exit !(f >= 4.5 && f <= 6.5)}'; then
	t_pass "admin listener: a head dripped a line a second is cut after $first s (deadline 5 s)"
else
	t_fail "admin listener: a head dripped a line a second is cut after ~5 s" "$drip"
fi

# ---- connection caps ------------------------------------------------------------------

# cap_test NAME CONFIG N SRC2 [WORKERS] — N idle connections held, then a
# signed GET on one more is not served; from SRC2 (if given) it is; once
# they are released it is.  With WORKERS (e.g. "workers 2") the caps hold
# per s3gate: the held connections spread over the workers.
cap_test() {
	local name=$1 n=$3 src2=$4 ready=$T/$1.ready r0 r1 held
	local conf="$2${5:+, $5}"
	s3gate_start "$name" "$2" ${5:+"$5"} || { t_fail "$conf: s3gate starts" "see $T/$name/s3gate.log"; return 1; }
	ws_setup hank ws-hank >/dev/null && s3gate_cred hank "hank-$name" >/dev/null ||
		{ t_fail "$conf: setup" "ws_setup/cred failed"; return 1; }
	read -r RAW_AKID RAW_SECRET _ <"$T/profiles/hank-$name"
	local PORT=$S3GATE_PORT ADMIN=$S3GATE_ADMIN_URL
	rm -f "$ready" "$ready.stop"
	$RAW hold "$PORT" --count "$n" --seconds 30 --ready "$ready" >"$T/$name.hold" 2>&1 &
	local hpid=$!
	wait_for 15 test -f "$ready"
	# the proxy has accepted them all (the client's connect ends before it does)
	all_held() { held=$(metric s3gate_connections); [ "$held" = "$n" ]; }
	wait_for 10 all_held
	r0=$(metric s3gate_refused_connections_total)
	raw 'GET /ws-hank/obj HTTP/1.1\r\nHost: 127.0.0.1\r\n{SIG}Connection: close\r\n\r\n' --wait 2
	r1=$(metric s3gate_refused_connections_total)
	if [ "$R_STATUS" != 200 ] && [ "$held" = "$n" ] && [ "$r1" -gt "$r0" ]; then
		t_pass "$conf: with $n open, connection $((n + 1)) is refused (status $R_STATUS, closed $R_CLOSED; refused_connections $r0 -> $r1)"
	else
		t_fail "$conf: with $n open, connection $((n + 1)) is refused" \
			"status $R_STATUS closed $R_CLOSED; s3gate_connections $held; refused $r0 -> $r1; hold: $(cat "$ready" 2>/dev/null)"
	fi
	if [ -n "$src2" ]; then
		raw 'GET /ws-hank/obj HTTP/1.1\r\nHost: 127.0.0.1\r\n{SIG}Connection: close\r\n\r\n' --wait 2 --src "$src2"
		t_expect_eq "$conf: meanwhile a client from $src2 is served" 200 "$R_STATUS"
	fi
	touch "$ready.stop"
	wait $hpid
	# the proxy has seen them close (else the cap still counts them)
	none_held() { [ "$(metric s3gate_connections)" = 0 ]; }
	wait_for 10 none_held
	raw 'GET /ws-hank/obj HTTP/1.1\r\nHost: 127.0.0.1\r\n{SIG}Connection: close\r\n\r\n' --wait 2
	t_expect_eq "$conf: once they close, a new connection is served" 200 "$R_STATUS"
	s3gate_stop "$name" || t_fail "s3gate $name exits cleanly" "see $T/$name/s3gate.log"
}
SAVE_AKID=$RAW_AKID SAVE_SECRET=$RAW_SECRET
cap_test perip "max_connections_per_ip 5" 5 127.0.0.2
cap_test capall "max_connections 5" 5 ""
cap_test perip2 "max_connections_per_ip 5" 5 127.0.0.2 "workers 2"
cap_test capall2 "max_connections 5" 5 "" "workers 2"
RAW_AKID=$SAVE_AKID RAW_SECRET=$SAVE_SECRET

# ---- many idle connections -----------------------------------------------------------

ulimit -n "$(ulimit -Hn)" 2>/dev/null
NOFILE=$(ulimit -n)
many_test() {	# N
	local n=$1 ready=$T/many$1.ready held hold gets ok maxt t0
	rm -f "$ready" "$ready.stop"
	t0=$SECONDS
	$RAW hold "$S3GATE_PORT" --count "$n" --seconds 60 --ready "$ready" >"$T/many$n.hold" 2>&1 &
	local hpid=$!
	wait_for 30 test -f "$ready"
	many_held() { held=$(ADMIN=$S3GATE_ADMIN_URL metric s3gate_connections); [ "${held:-0}" -ge "$n" ]; }
	wait_for 10 many_held
	: >"$T/many.gets"
	for i in $(seq 20); do
		curl_sigv4 hank-many -o /dev/null -w '%{http_code} %{time_total}\n' --max-time 5 \
			"$S3GATE_ENDPOINT/ws-hank/obj" >>"$T/many.gets" 2>&1
	done
	touch "$ready.stop"
	wait $hpid
	hold=$(cat "$T/many$n.hold")
	ok=$(awk '$1 == 200 && $2 < 1.0' "$T/many.gets" | wc -l)
	maxt=$(awk '{ if ($2 > m) m = $2 } END {print m + 0}' "$T/many.gets")
	if [ "${held:-0}" -ge "$n" ] && [ "$ok" = 20 ] && grep -q "alive_at_end=$n " <<<"$hold"; then
		t_pass "$n concurrent idle connections accepted and kept ($hold); 20 GETs meanwhile all 200, slowest $maxt s ($((SECONDS - t0)) s)"
	else
		t_fail "$n concurrent idle connections accepted while requests succeed" \
			"s3gate_connections $held; hold: $hold; GETs $ok/20 ok within 1 s, slowest $maxt s
$(tail -n 5 "$S3GATE_LOG")"
	fi
}
if s3gate_start many "max_connections 12000"; then
	ws_setup hank ws-hank >/dev/null && s3gate_cred hank hank-many >/dev/null
	many_test 2000
	if [ "$NOFILE" -ge 10100 ]; then
		many_test 10000
	else
		t_skip "10 000 concurrent idle connections" "open files limit is $NOFILE (hard limit $(ulimit -Hn))"
	fi
	s3gate_stop many || t_fail "s3gate many exits cleanly" "see $T/many/s3gate.log"
else
	t_fail "s3gate starts with max_connections 12000" "see $T/many/s3gate.log"
fi

s3gate_stop hard || t_fail "s3gate hard exits cleanly" "see $T/hard/s3gate.log"
exit 0
