#!/bin/bash
# Fourth audit: virtual-hosted addressing and TLS names, SigV2 (header and
# presigned query), SigV4 edge cases, session credentials, HTTP/1.x framing
# not in t_hardening, POST object and DeleteObjects shapes; each request
# made by hand (helpers/rawhttp.py, helpers/sign4.py) by a principal with
# valid credentials or by an outsider holding a link, against the real RGW,
# and what RGW holds afterwards read with the service key.
#
# Found and fixed:
#   a response-* override holding CR LF (response-content-type=a%0D%0A
#     Set-Cookie:...) went to RGW, which broke off its answer: s3gate
#     answered 502 and logged a backend failure for every such request
#     (at the client's will; a backend that wrote the value as it came
#     would have let the maker of a link add headers to an answer of
#     s3gate's origin).  Now 400 InvalidArgument before the backend is asked.
# Tried and held (each checked below):
#   virtual host: a port after a trailing dot, upper case with a port, the
#     bare ".s3.test", a bucket name with dots above the victim's, admin
#     and SWIFT (RGW's other APIs) as virtual-host buckets, a Host
#     naming one's own bucket over a path naming the victim's; TLS: an SNI
#     naming the victim's bucket with a Host naming one's own (and the
#     reverse) -- the Host decides, the SNI only picks a certificate; ALPN
#     offering h2 only: no protocol selected, HTTP/1.1 served, an HTTP/2
#     preface refused (400, at once); h2 and http/1.1: http/1.1;
#   SigV2 header auth: a read outside the grants, a write under a ReadOnly
#     grant, an x-amz-copy-source of an ungranted object, a repeated
#     x-amz-meta header, a Date an hour old, an old x-amz-date beside a
#     fresh Date -- refused, nothing stored;
#   SigV2 links: used with PUT, DELETE or HEAD, Expires in the past or more
#     than 7 days ahead, an added acl sub-resource, an added prefix, the
#     versionId twice, a link of a key without a grant -- refused; the same
#     object by virtual host (control);
#   SigV4: X-Amz-Expires 604801, an X-Amz-Date 20 minutes ahead, a link
#     with an Authorization header as well, SignedHeaders without host, in
#     upper case, with a name twice, a parameter twice (prefix under a prefix
#     grant, versionId), x-amz-copy-source twice in two cases,
#     x-id=DeleteObject on a GET (RGW ignores it: read only), "?=acl" and
#     "?%61cl" -- refused or read only, nothing changed;
#   sessions: another principal's session token with one's own session key,
#     one's own long-term key with another's token (the key's principal
#     decides), a session's token in a presigned query, SigV2 with a session
#     token of another principal, a session after its TTL, after cred delete,
#     and after its principal lost the grant;
#   framing: HTTP/1.0 keep-alive with a second request pipelined (decided
#     alone), Upgrade: h2c (no 101, the h2 preface after it refused),
#     Transfer-Encoding: chunked on a GET whose body is a request;
#   POST object (multipart/form-data on a bucket, on a key) under a prefix
#     grant, POST ?delete on a key (RGW: a POST object), DeleteObjects with
#     a key outside the prefix written with character references, with
#     namespace-prefixed elements, with x-amz-bypass-governance-retention,
#     with a plain chunked body, with a streaming payload hash in the query;
#     a CopyObject whose source climbs out of the prefix with dot segments
#     (RGW copies that literal key); ListParts and AbortMultipartUpload
#     with the uploadId of an upload outside the prefix;
#     a WriteOnly grantee's DeleteObjects, and its PUT link sent with
#     If-None-Match: * -- refused, nothing stored or deleted.  (A key
#     "shared/../private/doc", however written, is a key under shared/:
#     RGW deletes that key, not private/doc.)
# Noticed and mended after the audit: an HTTP/2 preface was answered only
# at head_timeout (llhttp waits for more after "PRI * HTTP/2.0"), as a
# partial head is; now 400 at once (httpmsg.c).
# Workspaces (own principals): ws-b4v (b4v, the victim: ws-b4v ReadOnly to
#   b4a, prefix "shared/" ReadWrite to b4p; ws-b4v-drop WriteOnly to b4w;
#   ws-b4v-sec, nothing), ws-b4a (b4a, the attacker).
. "$(dirname "$0")/lib.sh"

SECRET_TEXT="the secret of b4v $(rand_id)"
S=$(rand_id)	# keys of this run
V=ws-b4v
VS=ws-b4v-sec
A=ws-b4a
D=ws-b4v-drop

need_s3gate "bypass4" "checks s3gate's own decisions: not meaningful against RGW"

mkdir -p "$T/tls"
TLS_PORT=$(free_port)
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj "/CN=s3.test" \
	-addext "subjectAltName=DNS:s3.test,DNS:*.s3.test,IP:127.0.0.1" \
	-keyout "$T/tls/key.pem" -out "$T/tls/cert.pem" >/dev/null 2>&1
chmod 600 "$T/tls/key.pem"
PORT=$(free_port)
s3gate_start b4 "listen 127.0.0.1:$PORT" "public_url http://127.0.0.1:$PORT" "service_domain s3.test" \
	"sigv2 on" "head_timeout 3s" "listen 127.0.0.1:$TLS_PORT tls" \
	"tls_certificate $T/tls/cert.pem $T/tls/key.pem" ||
	{ t_fail "s3gate starts" "see $T/b4/s3gate.log"; exit 1; }
setup() {
	ws_setup b4v "$V" "$VS" "$D" && ws_setup b4a "$A" && s3gate_cred b4w >/dev/null &&
		s3gate_admin grant "$D" b4w WriteOnly &&
		s3gate_cred b4v >/dev/null && s3gate_cred b4a >/dev/null && s3gate_cred b4p >/dev/null &&
		s3gate_cred b4a b4a-sess --ttl 1h >/dev/null && s3gate_cred b4v b4v-sess --ttl 1h >/dev/null &&
		s3gate_admin grant "$V" b4a ReadOnly && s3gate_admin grant "$V/shared/" b4p ReadWrite || return 1
	printf '%s\n' "$SECRET_TEXT" >"$T/secret"
	echo "b4a's own object" >"$T/own"
	backend_aws s3api put-object --bucket "$V" --key doc --body "$T/secret" &&
		backend_aws s3api put-object --bucket "$V" --key private/doc --body "$T/secret" &&
		backend_aws s3api put-object --bucket "$V" --key shared/doc --body "$T/secret" &&
		backend_aws s3api put-object --bucket "$VS" --key secret --body "$T/secret" &&
		backend_aws s3api put-object --bucket "$D" --key deposit --body "$T/secret" &&
		backend_aws s3api put-object --bucket "$A" --key own --body "$T/own" &&
		backend_aws s3api put-object --bucket "$A" --key "$VS/secret" --body "$T/own"
}
if ! out=$(setup 2>&1); then
	t_fail "setup: workspaces, grants, objects" "$out"; exit 1
fi
export RAW_REGION=$S3_REGION
# as PROFILE — the next requests are signed with PROFILE's key (and token)
as() { read -r RAW_AKID RAW_SECRET RAW_TOKEN <"$T/profiles/$1"; export RAW_AKID RAW_SECRET RAW_TOKEN; }
. "$LIB_DIR/helpers/rawreq.sh"
SIGN="$PY3 $LIB_DIR/helpers/sign4.py"
TOKEN_A=$(cut -d' ' -f3 "$T/profiles/b4a-sess")
TOKEN_V=$(cut -d' ' -f3 "$T/profiles/b4v-sess")

# be_status BUCKET/KEY — what RGW itself answers a HEAD of it, asked with the service key
be_status() {
	RAW_AKID=$RGW_ACCESS_KEY RAW_SECRET=$RGW_SECRET_KEY RAW_TOKEN="" $RAW send "${RGW_ENDPOINT##*:}" \
		"HEAD /$1 HTTP/1.1\r\nHost: 127.0.0.1\r\n{SIG}Connection: close\r\n\r\n" --wait 5 | awk '{print $1}'
}
# refused NAME [BUCKET/KEY that must not exist afterwards] — the last answer was a 4xx (or 501, what s3gate does not do) without the secret
refused() {
	local why=""
	case $R_STATUS in 4?? | 501) ;; *) why="status $R_STATUS; " ;; esac
	! grep -qF "$SECRET_TEXT" "$T/resp" || why+="the secret was answered; "
	if [ -n "${2:-}" ] && [ "$(be_status "$2")" != 404 ]; then why+="$2 exists at the backend; "; fi
	if [ -z "$why" ]; then
		t_pass "$1: $R_STATUS $(resp_code)"
	else
		t_fail "$1" "$why$(resp_msg)"
	fi
}
# kept NAME BUCKET/KEY — the last answer was a 4xx without the secret, and the object is still there
kept() {
	local why="" st
	case $R_STATUS in 4?? | 501) ;; *) why="status $R_STATUS; " ;; esac
	! grep -qF "$SECRET_TEXT" "$T/resp" || why+="the secret was answered; "
	st=$(be_status "$2")
	[ "$st" = 200 ] || why+="$2 is gone at the backend ($st); "
	if [ -z "$why" ]; then t_pass "$1: $R_STATUS $(resp_code), $2 kept"; else t_fail "$1" "$why$(resp_msg)"; fi
}
# get HOST TARGET [EXTRA-HEADER-LINES] — a signed GET, Connection: close
get() { raw "GET $2 HTTP/1.1\r\nHost: $1\r\n${3:-}{SIG}Connection: close\r\n\r\n"; }

as b4a
get 127.0.0.1 "/$V/doc"
if [ "$R_STATUS" = 200 ] && grep -qF "$SECRET_TEXT" "$T/resp"; then
	t_pass "control: b4a's ReadOnly grant reads $V/doc"
else
	t_fail "control: b4a's ReadOnly grant reads $V/doc" "status $R_STATUS; $(resp_msg)"
fi

# ---- response overrides become header lines -----------------------------------------
backend_errors() {
	curl -s --max-time 5 "$S3GATE_ADMIN_URL/metrics" | awk '$1 == "s3gate_backend_errors_total" {print $2}'
}
e0=$(backend_errors)
for qs in "response-content-type=text/plain%0D%0ASet-Cookie:%20s3gate=x" \
	"response-content-disposition=a%0AContent-Length:%200" "response-expires=a%0D%0A%0D%0Ajunk"; do
	get 127.0.0.1 "/$A/own?$qs"
	if [ "$R_STATUS" = 400 ] && [ "$(resp_code)" = InvalidArgument ] && ! grep -qai '^set-cookie' "$T/resp"; then
		t_pass "GET with $qs: 400 InvalidArgument"
	else
		t_fail "GET with $qs: 400 InvalidArgument" "status $R_STATUS $(resp_code); $(head -c 300 "$T/resp")"
	fi
done
q=$($SIGN v4q GET "/$A/own" 127.0.0.1 600 0 $'response-content-type=text/html\r\nSet-Cookie: s3gate=x')
raw "GET /$A/own?$q HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
if [ "$R_STATUS" = 400 ] && ! grep -qai '^set-cookie' "$T/resp"; then
	t_pass "b4a's link with a response-content-type holding CR LF, opened by someone else: 400, no header added"
else
	t_fail "a link with a response-content-type holding CR LF: 400" "status $R_STATUS; $(head -c 300 "$T/resp")"
fi
t_expect_eq "... and the backend was never asked (s3gate_backend_errors_total unchanged)" "$e0" "$(backend_errors)"
get 127.0.0.1 "/$A/own?response-content-disposition=attachment%3B%20filename%3D%22r%C3%A9sum%C3%A9.txt%22"
if [ "$R_STATUS" = 200 ] && grep -qai '^content-disposition: attachment; filename="r' "$T/resp"; then
	t_pass "control: a response-content-disposition with UTF-8 and spaces is served"
else
	t_fail "control: a response-content-disposition with UTF-8 is served" "status $R_STATUS; $(head -c 300 "$T/resp")"
fi

# ---- virtual-hosted style -----------------------------------------------------------
for h in "$VS.s3.test.:80" "WS-B4V-SEC.S3.TEST:8080" "$VS.s3.test.." ".s3.test" "x.$VS.s3.test"; do
	get "$h" /secret
	refused "virtual host '$h', /secret"
done
# the names RGW routes to its admin-ops and Swift APIs, by virtual host
for h in admin.s3.test SWIFT.s3.test:80; do
	get "$h" "/user?format=json&uid=b4v"
	expect "virtual host '$h' (a reserved name)" 400 InvalidBucketName
done
get ".s3.test" "/$VS/secret"
refused "Host '.s3.test' (no bucket before the domain), path /$VS/secret"
# the Host names b4a's bucket: the path is a key in it (b4a's decoy), never the victim's bucket
get "$A.s3.test" "/$VS/secret"
if [ "$R_STATUS" = 200 ] && grep -qF "b4a's own object" "$T/resp"; then
	t_pass "Host $A.s3.test, path /$VS/secret: b4a's key '$VS/secret' (its decoy)"
else
	t_fail "Host $A.s3.test, path /$VS/secret: b4a's decoy" "status $R_STATUS; $(resp_msg)"
fi

# TLS: the SNI picks a certificate, the Host the bucket
tls_send() {	# SNI ALPN TEMPLATE — prints "ALPN STATUS"; the answer in $T/resp
	$PY3 - "$LIB_DIR/helpers" "$TLS_PORT" "$1" "$2" "$3" "$T/resp" <<'EOF'
import socket, ssl, sys
sys.path.insert(0, sys.argv[1])
import rawhttp
port, sni, alpn, tmpl, out = int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5], sys.argv[6]
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
if alpn != "-":
    ctx.set_alpn_protocols(alpn.split(","))
s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", port), timeout=10), server_hostname=sni)
proto = s.selected_alpn_protocol() or "none"
s.sendall(rawhttp.expand(tmpl))
got = b""
try:
    while True:
        b = s.recv(65536)
        if not b:
            break
        got += b
except (OSError, ssl.SSLError):
    pass
open(out, "wb").write(got)
print(proto, got[9:12].decode() if got.startswith(b"HTTP/1.") else "000")
EOF
}
read -r alpn R_STATUS < <(tls_send "$VS.s3.test" - "GET /own HTTP/1.1\r\nHost: $A.s3.test\r\n{SIG}Connection: close\r\n\r\n" 2>&1)
if [ "$R_STATUS" = 200 ] && grep -qF "b4a's own object" "$T/resp"; then
	t_pass "TLS SNI $VS.s3.test, Host $A.s3.test: b4a's object (the Host decides)"
else
	t_fail "TLS SNI $VS.s3.test, Host $A.s3.test: b4a's object" "status $R_STATUS; $(resp_msg)"
fi
read -r alpn R_STATUS < <(tls_send "$A.s3.test" - "GET /secret HTTP/1.1\r\nHost: $VS.s3.test\r\n{SIG}Connection: close\r\n\r\n" 2>&1)
refused "TLS SNI $A.s3.test (b4a's), Host $VS.s3.test"
read -r alpn R_STATUS < <(tls_send "$A.s3.test" h2 "GET /own HTTP/1.1\r\nHost: $A.s3.test\r\n{SIG}Connection: close\r\n\r\n" 2>&1)
if [ "$alpn" = none ] && [ "$R_STATUS" = 200 ]; then
	t_pass "TLS ALPN offering h2 only: no protocol selected, HTTP/1.1 served"
else
	t_fail "TLS ALPN offering h2 only: none selected, HTTP/1.1 served" "alpn $alpn, status $R_STATUS"
fi
read -r alpn R_STATUS < <(tls_send "$A.s3.test" h2,http/1.1 "GET /own HTTP/1.1\r\nHost: $A.s3.test\r\n{SIG}Connection: close\r\n\r\n" 2>&1)
t_expect_eq "TLS ALPN offering h2 and http/1.1: http/1.1 selected, served" "http/1.1 200" "$alpn $R_STATUS"
# (it was answered only at head_timeout, 3 s here: llhttp reads on past
# the preface's blank line, waiting for "SM"; the time counted includes the
# client's start, so the bound sits between a loaded machine's start and 3 s)
t0=$(date +%s%N)
read -r alpn R_STATUS < <(tls_send "$A.s3.test" h2 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n' 2>&1)
ms=$((($(date +%s%N) - t0) / 1000000))
if [ "$alpn" = none ] && [ "$R_STATUS" = 400 ] && [ "$ms" -lt 2500 ]; then
	t_pass "TLS ALPN h2, then the HTTP/2 preface: 400 at once (${ms} ms)"
else
	t_fail "TLS ALPN h2, then the HTTP/2 preface: 400 at once" "alpn $alpn, status $R_STATUS after $ms ms"
fi

# ---- SigV2, header auth -------------------------------------------------------------
# v2 METHOD TARGET RESOURCE [DATE_OFFSET] [EXTRA-LINES] [BODY] [x-amz-signed...] — a SigV2-signed request
v2() {
	local m=$1 t=$2 res=$3 off=${4:-0} extra=${5:-} body=${6:-} hdrs
	shift 6 2>/dev/null || shift $#
	hdrs=$($SIGN v2h "$m" "$res" "$off" "$@")
	raw "$m $t HTTP/1.1\r\nHost: 127.0.0.1\r\n$extra${hdrs}Content-Length: $(printf '%b' "$body" | wc -c)\r\nConnection: close\r\n\r\n$body"
}
as b4a
v2 GET "/$V/doc" "/$V/doc"
if [ "$R_STATUS" = 200 ] && grep -qF "$SECRET_TEXT" "$T/resp"; then
	t_pass "control: SigV2 header auth, b4a reads $V/doc"
else
	t_fail "control: SigV2 header auth, b4a reads $V/doc" "status $R_STATUS; $(resp_msg)"
fi
v2 GET "/$VS/secret" "/$VS/secret"
refused "SigV2: GET $VS/secret (no grant)"
v2 PUT "/$V/v2put-$S" "/$V/v2put-$S" 0 "" "planted"
refused "SigV2: PUT under a ReadOnly grant" "$V/v2put-$S"
v2 PUT "/$A/v2copy-$S" "/$A/v2copy-$S" 0 "x-amz-copy-source: /$VS/secret\r\n" "" "x-amz-copy-source:/$VS/secret"
refused "SigV2: CopyObject into b4a's bucket from $VS/secret" "$A/v2copy-$S"
v2 PUT "/$A/v2meta-$S" "/$A/v2meta-$S" 0 "x-amz-meta-a: 1\r\nx-amz-meta-a: 2\r\n" "x" "x-amz-meta-a:1" "x-amz-meta-a:2"
refused "SigV2: x-amz-meta-a twice" "$A/v2meta-$S"
v2 GET "/$A/own" "/$A/own" -3600
refused "SigV2: Date an hour old"
# x-amz-date wins over Date (both in S3 and here): an old x-amz-date is old
d_old=$(date -u -d '-1 hour' '+%a, %d %b %Y %H:%M:%S GMT')
v2 GET "/$A/own" "/$A/own" 0 "x-amz-date: $d_old\r\n" "" "x-amz-date:$d_old"
refused "SigV2: an x-amz-date an hour old beside a fresh Date"

# ---- SigV2 links ---------------------------------------------------------------------
as b4v
LQ=$($SIGN v2q GET "/$V/doc" 600)
link() {	# METHOD [QUERY-SUFFIX] [HOST] [PATH] — the link, sent by an outsider
	raw "$1 ${4:-/$V/doc}?$LQ${2:-} HTTP/1.1\r\nHost: ${3:-127.0.0.1}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
}
link GET
t_expect_eq "control: b4v's SigV2 link reads $V/doc" 200 "$R_STATUS"
link GET "" "$V.s3.test" /doc
t_expect_eq "control: the same link by virtual host ($V.s3.test/doc)" 200 "$R_STATUS"
link PUT
kept "SigV2 GET link used with PUT" "$V/doc"
link DELETE
kept "SigV2 GET link used with DELETE" "$V/doc"
link HEAD
refused "SigV2 GET link used with HEAD (the method is signed)"
link GET "&acl"
refused "SigV2 GET link with &acl added"
link GET "&prefix=x"
refused "SigV2 GET link with &prefix added"
link GET "&versionId=null&versionId=x"
refused "SigV2 GET link with versionId twice"
LQ=$($SIGN v2q GET "/$V/doc" -10)
link GET
refused "SigV2 link whose Expires has passed"
LQ=$($SIGN v2q GET "/$V/doc" $((8 * 86400)))
link GET
refused "SigV2 link with Expires 8 days ahead"
as b4a
LQ=$($SIGN v2q GET "/$VS/secret" 600)
link GET "" "" "/$VS/secret"
refused "SigV2 link b4a made for $VS/secret (no grant)"

# ---- SigV4 edge cases ----------------------------------------------------------------
v4link() {	# METHOD PATH EXPIRES DATE_OFFSET [EXTRA...] — sends the link as an outsider
	local m=$1 p=$2 q
	q=$($SIGN v4q "$m" "$p" 127.0.0.1 "$3" "$4" "${@:5}")
	raw "$m $p?$q HTTP/1.1\r\nHost: 127.0.0.1\r\n${V4_EXTRA:-}Content-Length: 0\r\nConnection: close\r\n\r\n"
}
as b4a
v4link GET "/$V/doc" 600 0
t_expect_eq "control: b4a's SigV4 link reads $V/doc" 200 "$R_STATUS"
v4link GET "/$V/doc" 604801 0
refused "SigV4 link with X-Amz-Expires 604801"
v4link GET "/$V/doc" 600 1200
refused "SigV4 link with X-Amz-Date 20 minutes ahead"
# b4a's own valid header signature beside b4v's link (S3: one mechanism only)
as b4v
q=$($SIGN v4q GET "/$VS/secret" 127.0.0.1 600 0)
as b4a
raw "GET /$VS/secret?$q HTTP/1.1\r\nHost: 127.0.0.1\r\n{SIG}Connection: close\r\n\r\n"
refused "b4v's SigV4 link for $VS/secret with b4a's Authorization header too"
sig_with() {	# SIGNED-HEADERS — b4a's signed GET of its own object with SignedHeaders replaced
	local h
	h=$(sig_lines GET "/$A/own")
	h=$(sed -E "s/SignedHeaders=[^,]*/SignedHeaders=$1/" <<<"$h")
	raw "GET /$A/own HTTP/1.1\r\nHost: 127.0.0.1\r\n${h}Connection: close\r\n\r\n"
}
# the same x-amz-* header twice, in two cases: one value to the policy, maybe the other to RGW
raw "PUT /$A/case-$S HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Amz-Copy-Source: /$A/own\r\nx-amz-copy-source: /$VS/secret\r\n{SIG}Content-Length: 0\r\nConnection: close\r\n\r\n"
refused "x-amz-copy-source twice, in two cases (own object, then $VS/secret)" "$A/case-$S"
sig_with "x-amz-content-sha256;x-amz-date"
refused "SigV4: SignedHeaders without host"
sig_with "Host;x-amz-content-sha256;x-amz-date"
refused "SigV4: SignedHeaders in upper case"
sig_with "host;host;x-amz-content-sha256;x-amz-date"
refused "SigV4: SignedHeaders naming host twice"
as b4p
get 127.0.0.1 "/$V?prefix=shared/&prefix=private/"
if [ "${R_STATUS:0:1}" = 4 ] && ! grep -q 'private/doc' "$T/resp"; then
	t_pass "prefix grantee: ListObjects with prefix twice (shared/, private/): $R_STATUS, nothing listed"
else
	t_fail "prefix grantee: ListObjects with prefix twice refused" "status $R_STATUS; $(head -c 300 "$T/resp")"
fi
get 127.0.0.1 "/$V/shared/doc?versionId=null&versionId=x"
refused "GET with versionId twice"
as b4a
raw "DELETE /$V/doc?x-id=GetObject HTTP/1.1\r\nHost: 127.0.0.1\r\n{SIG}Connection: close\r\n\r\n"
kept "ReadOnly grantee: DELETE $V/doc?x-id=GetObject" "$V/doc"
get 127.0.0.1 "/$V/doc?x-id=DeleteObject"
if [ "$R_STATUS" = 200 ] && [ "$(be_status "$V/doc")" = 200 ]; then
	t_pass "ReadOnly grantee: GET $V/doc?x-id=DeleteObject reads, deletes nothing"
else
	t_fail "ReadOnly grantee: GET ?x-id=DeleteObject only reads" "status $R_STATUS; $V/doc: $(be_status "$V/doc")"
fi
for qs in "=acl" "%61cl" "=" "acl=&=x"; do
	raw "PUT /$V/doc?$qs HTTP/1.1\r\nHost: 127.0.0.1\r\n{SIG}Content-Length: 7\r\nConnection: close\r\n\r\nplanted"
	got=$(RAW_AKID=$RGW_ACCESS_KEY RAW_SECRET=$RGW_SECRET_KEY $RAW send "${RGW_ENDPOINT##*:}" \
		"GET /$V/doc HTTP/1.1\r\nHost: 127.0.0.1\r\n{SIG}Connection: close\r\n\r\n" --out "$T/be" >/dev/null; grep -c planted "$T/be")
	if [ "${R_STATUS:0:1}" = 4 ] && [ "$got" = 0 ]; then
		t_pass "ReadOnly grantee: PUT $V/doc?$qs: $R_STATUS $(resp_code), doc unchanged"
	else
		t_fail "ReadOnly grantee: PUT $V/doc?$qs refused" "status $R_STATUS; overwritten: $got"
	fi
done

# ---- sessions ------------------------------------------------------------------------
as b4a-sess
get 127.0.0.1 "/$V/doc" "x-amz-security-token: $TOKEN_A\r\n"
t_expect_eq "control: b4a's session reads $V/doc with its token" 200 "$R_STATUS"
get 127.0.0.1 "/$V/doc" "x-amz-security-token: $TOKEN_V\r\n"
refused "b4a's session key with b4v's session token"
as b4a
get 127.0.0.1 "/$VS/secret" "x-amz-security-token: $TOKEN_V\r\n"
refused "b4a's long-term key with b4v's session token: read of $VS/secret"
as b4a-sess
v4link GET "/$V/doc" 600 0
t_expect_eq "control: a SigV4 link of b4a's session (X-Amz-Security-Token) reads $V/doc" 200 "$R_STATUS"
RAW_TOKEN=$TOKEN_V v4link GET "/$V/doc" 600 0
refused "a SigV4 link of b4a's session carrying b4v's token"
RAW_TOKEN=$TOKEN_V v2 GET "/$V/doc" "/$V/doc"
refused "SigV2 header auth, b4a's session key with b4v's token"
RAW_TOKEN=$TOKEN_V LQ=$($SIGN v2q GET "/$V/doc" 600)
link GET
refused "SigV2 link of b4a's session carrying b4v's token"
if s3gate_cred b4a b4a-short --ttl 2s >/dev/null; then
	sleep 3
	as b4a-short
	get 127.0.0.1 "/$V/doc" "x-amz-security-token: $RAW_TOKEN\r\n"
	refused "a session after its 2 s TTL"
else
	t_fail "a session after its TTL" "cred create --ttl 2s failed"
fi

# ---- framing ---------------------------------------------------------------------------
as b4a
second=$(sig_lines GET "/$VS/secret")
raw "GET /$A/own HTTP/1.0\r\nHost: 127.0.0.1\r\nConnection: keep-alive\r\n{SIG}\r\nGET /$VS/secret HTTP/1.0\r\nHost: 127.0.0.1\r\n${second}\r\n"
st=$(resp_statuses)
if [ "$st" = "200 403 " ] && ! grep -qF "$SECRET_TEXT" "$T/resp"; then
	t_pass "HTTP/1.0 keep-alive: b4a's GET 200, then the pipelined GET of $VS/secret 403"
else
	t_fail "HTTP/1.0 keep-alive, pipelined: 200 then 403" "statuses: $st"
fi
raw "GET /$A/own HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n{SIG}\r\nPRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
st=$(resp_statuses)
case $st in
"200 400 " | "200 ") t_pass "Upgrade: h2c: answered 200 over HTTP/1.1 (no 101), the h2 preface after it not served ($st)" ;;
*) t_fail "Upgrade: h2c: no 101, the preface not served" "statuses: $st" ;;
esac
raw "GET /$A/own HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n{SIG}\r\n2e\r\nGET /$VS/secret HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n\r\n0\r\n\r\n"
n=$(grep -ac '^HTTP/1' "$T/resp")
if [ "${R_STATUS:0:1}" = 4 ] && [ "$n" = 1 ] && ! grep -qF "$SECRET_TEXT" "$T/resp"; then
	t_pass "Transfer-Encoding: chunked on a GET whose body is a request: $R_STATUS $(resp_code), one answer"
else
	t_fail "Transfer-Encoding: chunked on a GET refused, one answer" "status $R_STATUS, $n answers"
fi

# ---- POST object and DeleteObjects -------------------------------------------------------
as b4p
form() {	# KEY — a multipart/form-data body (POST object) naming KEY
	printf -- '--XyZ\\r\\nContent-Disposition: form-data; name="key"\\r\\n\\r\\n%s\\r\\n--XyZ\\r\\nContent-Disposition: form-data; name="file"; filename="f"\\r\\nContent-Type: text/plain\\r\\n\\r\\nplanted\\r\\n--XyZ--\\r\\n' "$1"
}
body=$(form "private/post-$S")
raw "POST /$V HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: multipart/form-data; boundary=XyZ\r\n{SIG}Content-Length: $(printf '%b' "$body" | wc -c)\r\nConnection: close\r\n\r\n$body"
refused "prefix grantee: POST object to $V, form key private/post-$S" "$V/private/post-$S"
body=$(form "private/post2-$S")
raw "POST /$V/shared/x HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: multipart/form-data; boundary=XyZ\r\n{SIG}Content-Length: $(printf '%b' "$body" | wc -c)\r\nConnection: close\r\n\r\n$body"
refused "prefix grantee: POST (form) to the key shared/x, form key private/post2-$S" "$V/private/post2-$S"
body=$(form "private/post3-$S")
raw "POST /$V/shared/x?delete HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: multipart/form-data; boundary=XyZ\r\n{SIG}Content-Length: $(printf '%b' "$body" | wc -c)\r\nConnection: close\r\n\r\n$body"
refused "prefix grantee: POST shared/x?delete (RGW: a POST object)" "$V/private/post3-$S"
# A key written with character references is the key they spell, and
# "shared/../private/doc" is a key under shared/ (RGW does not normalise it):
# served or refused, private/doc stays.
for k in 'shared/&#x2e;&#x2e;/private/doc' '&#115;hared/../private/doc'; do
	body="<Delete><Object><Key>$k</Key></Object></Delete>"
	raw "POST /$V?delete HTTP/1.1\r\nHost: 127.0.0.1\r\n{SIG}Content-Length: ${#body}\r\nConnection: close\r\n\r\n$body"
	if [ "$(be_status "$V/private/doc")" = 200 ] && ! grep -q '<Key>private/doc' "$T/resp"; then
		t_pass "prefix grantee: DeleteObjects of '$k': $R_STATUS, private/doc kept"
	else
		t_fail "prefix grantee: DeleteObjects of '$k' keeps private/doc" "status $R_STATUS; $(head -c 300 "$T/resp")"
	fi
done
k='priv&#97;te/doc'
body="<Delete><Object><Key>$k</Key></Object></Delete>"
raw "POST /$V?delete HTTP/1.1\r\nHost: 127.0.0.1\r\n{SIG}Content-Length: ${#body}\r\nConnection: close\r\n\r\n$body"
kept "prefix grantee: DeleteObjects of '$k'" "$V/private/doc"
body='<s3:Delete xmlns:s3="http://s3.amazonaws.com/doc/2006-03-01/"><s3:Object><s3:Key>private/doc</s3:Key></s3:Object><Object><Key>shared/none</Key></Object></s3:Delete>'
raw "POST /$V?delete HTTP/1.1\r\nHost: 127.0.0.1\r\n{SIG}Content-Length: ${#body}\r\nConnection: close\r\n\r\n$body"
kept "prefix grantee: DeleteObjects with namespace-prefixed elements" "$V/private/doc"

# DeleteObjects and deletes under a prefix grant, other shapes
del_body="<Delete><Object><Key>shared/doc</Key></Object></Delete>"
raw "POST /$V?delete HTTP/1.1\r\nHost: 127.0.0.1\r\nx-amz-bypass-governance-retention: true\r\n{SIG}Content-Length: ${#del_body}\r\nConnection: close\r\n\r\n$del_body"
kept "prefix grantee: DeleteObjects of shared/doc with x-amz-bypass-governance-retention: true" "$V/shared/doc"
raw "DELETE /$V/shared/doc HTTP/1.1\r\nHost: 127.0.0.1\r\nx-amz-bypass-governance-retention: true\r\n{SIG}Connection: close\r\n\r\n"
kept "prefix grantee: DELETE shared/doc with x-amz-bypass-governance-retention: true" "$V/shared/doc"
body="<Delete><Object><Key>private/doc</Key></Object></Delete>"
raw "POST /$V?delete HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n{SIG}\r\n$(printf %x ${#del_body})\r\n$del_body\r\n0\r\n\r\n"
kept "prefix grantee: DeleteObjects with a plain chunked body" "$V/shared/doc"
raw "POST /$V?delete&x-amz-content-sha256=STREAMING-AWS4-HMAC-SHA256-PAYLOAD HTTP/1.1\r\nHost: 127.0.0.1\r\n{SIG}Content-Length: ${#body}\r\nConnection: close\r\n\r\n$body"
kept "prefix grantee: DeleteObjects of private/doc, a streaming payload hash in the query" "$V/private/doc"
# a copy source with dot segments is that key, not the one they lead to
for src in "/$V/shared/../private/doc" "$V/shared/./../private/doc" "/$V/shared//../../$V/private/doc" \
	"/$V/shared/%2e%2e/private/doc"; do
	raw "PUT /$V/shared/copy-$S HTTP/1.1\r\nHost: 127.0.0.1\r\nx-amz-copy-source: $src\r\n{SIG}Content-Length: 0\r\nConnection: close\r\n\r\n"
	got=$(RAW_AKID=$RGW_ACCESS_KEY RAW_SECRET=$RGW_SECRET_KEY $RAW send "${RGW_ENDPOINT##*:}" \
		"GET /$V/shared/copy-$S HTTP/1.1\r\nHost: 127.0.0.1\r\n{SIG}Connection: close\r\n\r\n" --out "$T/be" >/dev/null
		grep -c "$SECRET_TEXT" "$T/be")
	if [ "$got" = 0 ] && ! grep -qF "$SECRET_TEXT" "$T/resp"; then
		t_pass "prefix grantee: CopyObject from '$src' into shared/: $R_STATUS $(resp_code), private/doc not copied"
	else
		t_fail "prefix grantee: CopyObject from '$src' copies no private/doc" "status $R_STATUS; copy holds the secret: $got"
	fi
done
# an uploadId of an upload outside the prefix: no ListParts, no abort
UP=$(RAW_AKID=$RGW_ACCESS_KEY RAW_SECRET=$RGW_SECRET_KEY $RAW send "${RGW_ENDPOINT##*:}" \
	"POST /$V/private/up-$S?uploads HTTP/1.1\r\nHost: 127.0.0.1\r\n{SIG}Content-Length: 0\r\nConnection: close\r\n\r\n" \
	--out "$T/be" >/dev/null; grep -ao '<UploadId>[^<]*' "$T/be" | sed 's/<UploadId>//')
get 127.0.0.1 "/$V/shared/up-$S?uploadId=$UP"
refused "prefix grantee: ListParts of shared/up with private/up's uploadId"
raw "DELETE /$V/shared/up-$S?uploadId=$UP HTTP/1.1\r\nHost: 127.0.0.1\r\n{SIG}Connection: close\r\n\r\n"
st=$(RAW_AKID=$RGW_ACCESS_KEY RAW_SECRET=$RGW_SECRET_KEY $RAW send "${RGW_ENDPOINT##*:}" \
	"GET /$V/private/up-$S?uploadId=$UP HTTP/1.1\r\nHost: 127.0.0.1\r\n{SIG}Connection: close\r\n\r\n" | awk '{print $1}')
if [ -n "$UP" ] && [ "${R_STATUS:0:1}" = 4 ] && [ "$st" = 200 ]; then
	t_pass "prefix grantee: AbortMultipartUpload of shared/up with private/up's uploadId: $R_STATUS $(resp_code), the upload lives"
else
	t_fail "prefix grantee: abort with another key's uploadId refused" "upload '$UP'; status $R_STATUS; ListParts at RGW: $st"
fi
as b4w
raw "POST /$D?delete HTTP/1.1\r\nHost: 127.0.0.1\r\n{SIG}Content-Length: 53\r\nConnection: close\r\n\r\n<Delete><Object><Key>deposit</Key></Object></Delete>"
kept "WriteOnly grantee: DeleteObjects in the drop box" "$D/deposit"
# a PUT link of a WriteOnly grantee answers no question either
URL=$(s3gate_admin presign --principal b4w --method PUT "s3://$D/deposit" | tail -n 1)
sleep 0.3
code=$(curl -s -o "$T/resp" -w '%{http_code}' --max-time 20 -X PUT -H 'If-None-Match: *' --data-binary guess "$URL")
if [ "$code" = 403 ] && [ "$(be_status "$D/deposit")" = 200 ] &&
	backend_aws s3api get-object --bucket "$D" --key deposit "$T/dep" >/dev/null 2>&1 && cmp -s "$T/dep" "$T/secret"; then
	t_pass "a WriteOnly grantee's PUT link with If-None-Match: *: 403, the deposit untouched"
else
	t_fail "a WriteOnly grantee's PUT link with If-None-Match: * refused" "status $code"
fi
URL=$(s3gate_admin presign --principal b4w --method PUT "s3://$D/mine-$S" | tail -n 1)
sleep 0.3
code=$(curl -s -o "$T/resp" -w '%{http_code}' --max-time 20 -X PUT --data-binary mine "$URL")
t_expect_eq "control: a WriteOnly grantee's PUT link without conditions uploads" 200 "$code"

# ---- sessions, last: they change the store --------------------------------------------
as b4a-sess
akid_sess=$RAW_AKID
s3gate_admin revoke "$V" b4a >/dev/null 2>&1 || s3gate_admin revoke "$V" b4a
sleep 1.5
get 127.0.0.1 "/$V/doc" "x-amz-security-token: $TOKEN_A\r\n"
refused "b4a's session after b4a's grant on $V was revoked"
s3gate_admin cred delete "$akid_sess" >/dev/null
sleep 1.5
get 127.0.0.1 "/$A/own" "x-amz-security-token: $TOKEN_A\r\n"
refused "b4a's session after cred delete (its own bucket)"

if [ "$(deaths)" != 0 ]; then
	t_fail "no worker died during the file" "$(grep 'exited (status' "$S3GATE_LOG")"
fi
s3gate_stop b4 || t_fail "s3gate b4 exits cleanly" "see $T/b4/s3gate.log"
exit 0
