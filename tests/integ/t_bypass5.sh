#!/bin/bash
# Fifth audit: the logs and metrics as an attack surface, listings under
# prefix grants, multipart uploads across keys, and the self-service API's
# JSON; each request made by hand (helpers/rawhttp.py, curl --aws-sigv4)
# by a principal with valid credentials, against the real RGW, and what
# RGW holds afterwards read with the service key.
#
# Found and fixed:
#   the access log passed bytes >= 0x80 through as they came: a key
#     "%FF", a User-Agent with a byte that is not UTF-8 (or one of 300
#     "é" cut at 255 bytes inside a character) made a line that is not
#     UTF-8, so not JSON (RFC 8259), and a reader that decodes the file
#     (python's json, open() in text mode) stopped at that line.  Now
#     every byte that does not begin a whole UTF-8 character is written
#     as U+FFFD.
#   a request's reason (POST /_s3gate/requests, s3gate-admin request)
#     took control characters: ESC sequences and newlines reached the
#     owner's terminal through "s3gate-admin requests" and "who", where a
#     newline forges a request line.  Now refused (400 InvalidArgument).
#   the self-service API took a field of another type than string for
#     "not given": {"prefix": ["in/"]} granted the whole bucket, {"expires":
#     3600} a grant without end.  Now 400 InvalidArgument.
#   /metrics counted requests by action in 64 slots, claimed on first use,
#     and s3gate has about 95 action names: a principal's 64 cheap denied
#     calls (?analytics, ?metrics, ?acl, ...) took them all, and PutObject,
#     DeleteObject and every later action were counted nowhere (alerts on
#     s3gate_actions_total blind).  Now room for 192.
#   the self-service API logged the body's "bucket" whole: any principal
#     made a 64 KiB access-log line per call (answered 404 at once).  Now
#     only a name that can be a bucket's is logged.
# Tried and held (each checked below):
#   logs: keys with '"', '\', ESC, DEL, CR LF (as %0D%0A) and a forged
#     error-log line, a 7 KiB key, User-Agents with '"', '\', '{'; every
#     access-log line parses as one JSON object and names them as sent
#     (a User-Agent holding ESC or DEL: 400); the error log has no line
#     that is not its own; /metrics stays Prometheus text (every line a
#     comment or "name{labels} value");
#   listings under a prefix grant "shared/": prefix=shared (no slash)
#     refused, no prefix refused; marker, start-after, continuation-token
#     (forged, base64 of "private/"), key-marker, version-id-marker,
#     upload-id-marker outside the prefix, allow-unordered, delimiter,
#     max-keys -1 and 10^20, fetch-owner -- nothing outside "shared/"
#     listed; a grant "p+q/": prefix=p+q/ lists "p+q/" only, never "p q/"
#     (the query goes to RGW re-encoded, '+' as %2B);
#   multipart: a completion of shared/up naming the part of private/up's
#     upload (InvalidPart, nothing made); UploadPartCopy with a range of
#     an ungranted object, a copy source with a versionId (403);
#   the self-service API: a body over 64 KiB, a reason over 1024 bytes,
#     wrong JSON types, 100 000 levels of nesting (30 000 in a field), a
#     key given twice (the
#     last counts, for the decision and the log alike), grants and
#     revocations of a bucket one does not own (403) or cannot see
#     (answered as a missing one, byte for byte but the name; requests and
#     links too), another's link revoked (as no link), max_uses out of
#     bounds or not a whole number, principal names with "/", NUL, a
#     newline, ESC, a space, or empty -- refused, nothing changed;
#   quotas: with one request under way (connections 1), the principal's
#     session key, a link it issued and a HEAD over HTTP/1.0 are refused
#     503 SlowDown; 8 requests pipelined in one write by its key and its
#     link in turn get at most rate + 1 served;
#   no worker dies.
# Looked at and left as they are: principal names are the platform's
#   (storage_principal_valid takes "..", "B5A", "--ttl", Cyrillic look-
#   alikes: a grant to such a name gives nothing to anyone else); a grant
#   prefix and a link's key may hold control characters (S3 keys may) and
#   are printed as they are by "who", "access" and "cred list".
# Workspaces (own principals): ws-b5v (b5v, the victim: ws-b5v prefix
#   "shared/" ReadWrite to b5p; ws-b5v-plus prefix "p+q/" ReadOnly to b5p;
#   ws-b5v-sec hidden, nothing), ws-b5a (b5a, the attacker).
. "$(dirname "$0")/lib.sh"

SECRET_TEXT="the secret of b5v $(rand_id)"
V=ws-b5v
VP=ws-b5v-plus
VS=ws-b5v-sec
A=ws-b5a
Q=ws-b5q

need_s3gate "bypass5" "checks s3gate's own decisions: not meaningful against RGW"

PORT=$(free_port)
s3gate_start b5 "listen 127.0.0.1:$PORT" "public_url http://127.0.0.1:$PORT" "body_timeout 5s" ||
	{ t_fail "s3gate starts" "see $T/b5/s3gate.log"; exit 1; }
setup() {
	ws_setup b5v "$V" "$VP" --hidden "$VS" && ws_setup b5a "$A" && ws_setup b5q "$Q" &&
		s3gate_cred b5q >/dev/null && s3gate_cred b5q b5q-sess --ttl 1h >/dev/null &&
		s3gate_admin quota set b5q --connections 1 --rate 3 >/dev/null &&
		s3gate_cred b5v >/dev/null && s3gate_cred b5a >/dev/null && s3gate_cred b5p >/dev/null &&
		s3gate_admin grant "$V/shared/" b5p ReadWrite && s3gate_admin grant "$VP/p+q/" b5p ReadOnly ||
		return 1
	printf '%s\n' "$SECRET_TEXT" >"$T/secret"
	local k
	for k in shared/a shared-secret/b private/c; do
		backend_aws s3api put-object --bucket "$V" --key "$k" --body "$T/secret" >/dev/null || return 1
	done
	backend_aws s3api put-object --bucket "$Q" --key own --body "$T/secret" >/dev/null || return 1
	for k in "p+q/a" "p q/secret"; do
		backend_aws s3api put-object --bucket "$VP" --key "$k" --body "$T/secret" >/dev/null || return 1
	done
	UP_PRIV=$(backend_aws s3api create-multipart-upload --bucket "$V" --key private/up \
		--query UploadId --output text) &&
		UP_SHARED=$(backend_aws s3api create-multipart-upload --bucket "$V" --key shared/up \
			--query UploadId --output text) &&
		ETAG_PRIV=$(backend_aws s3api upload-part --bucket "$V" --key private/up --part-number 1 \
			--upload-id "$UP_PRIV" --body "$T/secret" --query ETag --output text)
}
if ! setup >"$T/setup.out" 2>&1; then
	t_fail "setup: workspaces, grants, objects" "$(tail -n 20 "$T/setup.out")"; exit 1
fi
export RAW_REGION=$S3_REGION
# as PROFILE — the next requests are signed with PROFILE's key
as() { read -r RAW_AKID RAW_SECRET RAW_TOKEN <"$T/profiles/$1"; export RAW_AKID RAW_SECRET RAW_TOKEN; }
. "$LIB_DIR/helpers/rawreq.sh"

# be_status BUCKET/KEY — what RGW itself answers a HEAD of it, asked with the service key
be_status() {
	RAW_AKID=$RGW_ACCESS_KEY RAW_SECRET=$RGW_SECRET_KEY RAW_TOKEN="" $RAW send "${RGW_ENDPOINT##*:}" \
		"HEAD /$1 HTTP/1.1\r\nHost: 127.0.0.1\r\n{SIG}Connection: close\r\n\r\n" --wait 5 | awk '{print $1}'
}
# keys_listed — the <Key> and <Prefix> values of the last answer, one a line
keys_listed() { grep -ao '<Key>[^<]*\|<Prefix>[^<]*' "$T/resp" | sed 's/<[A-Za-z]*>//'; }

# ---- listings under a prefix grant ------------------------------------------------------
as b5p
signed GET "/$V?prefix=shared/"
if [ "$R_STATUS" = 200 ] && keys_listed | grep -qx shared/a; then
	t_pass "control: b5p lists $V under shared/"
else
	t_fail "control: b5p lists $V under shared/" "status $R_STATUS; $(resp_msg)"
fi
for q in "prefix=shared" "list-type=2&prefix=shared" "" "versions&prefix=sh" "uploads&prefix=s"; do
	signed GET "/$V?$q"
	expect "list $V?$q (outside the grant's prefix)" 403 AccessDenied
done
tok=$(printf 'private/' | base64)
for q in "prefix=shared/&marker=private/" "prefix=shared/&marker=a" \
	"list-type=2&prefix=shared/&start-after=a" "list-type=2&prefix=shared/&continuation-token=$tok" \
	"list-type=2&prefix=shared/&continuation-token=private%2F" "list-type=2&prefix=shared/&max-keys=1" \
	"versions&prefix=shared/&key-marker=a" "versions&prefix=shared/&key-marker=private/c&version-id-marker=null" \
	"uploads&prefix=shared/" "uploads&prefix=shared/&key-marker=a&upload-id-marker=x" \
	"prefix=shared/&allow-unordered=true" "prefix=shared/&delimiter=t" "prefix=shared/&delimiter=/" \
	"prefix=shared/&max-keys=-1" "prefix=shared/&max-keys=99999999999999999999" \
	"list-type=2&prefix=shared/&fetch-owner=true"; do
	signed GET "/$V?$q"
	out=$(keys_listed | grep -v '^shared/' | grep -v '^$')
	if [ -z "$out" ] && ! grep -qF "$SECRET_TEXT" "$T/resp" && [ "$R_STATUS" != 000 ]; then
		t_pass "list $V?$q: nothing outside shared/ ($R_STATUS)"
	else
		t_fail "list $V?$q: nothing outside shared/" "status $R_STATUS; listed: $out"
	fi
done
for q in "prefix=p+q/" "prefix=p%2Bq/" "list-type=2&prefix=p+q/&encoding-type=url"; do
	signed GET "/$VP?$q"
	if [ "$R_STATUS" = 200 ] && ! grep -q 'p q/\|p%20q\|p+q/secret\|secret' "$T/resp"; then
		t_pass "grant \"p+q/\": list $VP?$q shows p+q/ only"
	else
		t_fail "grant \"p+q/\": list $VP?$q shows p+q/ only" "status $R_STATUS; $(keys_listed | tr '\n' ' ')"
	fi
done

# ---- multipart across keys ----------------------------------------------------------------
body="<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>$ETAG_PRIV</ETag></Part></CompleteMultipartUpload>"
signed POST "/$V/shared/up?uploadId=$UP_SHARED" "" "$body"
if [ "${R_STATUS:0:1}" = 4 ] && [ "$(be_status "$V/shared/up")" = 404 ] &&
	backend_aws s3api list-parts --bucket "$V" --key private/up --upload-id "$UP_PRIV" >/dev/null 2>&1; then
	t_pass "CompleteMultipartUpload of shared/up naming private/up's part: $R_STATUS $(resp_code), nothing made"
else
	t_fail "CompleteMultipartUpload of shared/up naming private/up's part refused" "status $R_STATUS; $(resp_msg)"
fi
signed PUT "/$V/shared/up?partNumber=2&uploadId=$UP_SHARED" \
	"x-amz-copy-source: /$V/private/c\r\nx-amz-copy-source-range: bytes=0-3\r\n"
expect "UploadPartCopy into shared/up with a range of private/c" 403 AccessDenied
signed PUT "/$V/shared/copy" "x-amz-copy-source: /$V/private/c?versionId=null\r\n"
expect "CopyObject from private/c?versionId=null" 403 AccessDenied
[ "$(be_status "$V/shared/copy")" = 404 ] && t_pass "... shared/copy not made" ||
	t_fail "... shared/copy not made" "it exists at the backend"

# ---- the logs -------------------------------------------------------------------------------
as b5a
UA_BAD=$'ua-\xff\xfe-\xc3(-end'
UA_CUT=$(printf 'é%.0s' $(seq 1 300))
UA_Q='ua "q" \back\ {"x":1} end'
signed GET "/$A/k%FF%FE%C3%28end"
signed GET "/$A/q%22b%5Cs%1B%5B31m%7F%0D%0A2026-01-01T00:00:00Z%20%5B1%5D%20error:%20forged"
signed GET "/$A/$(head -c 7000 /dev/zero | tr '\0' 'k')"
# ua_get UA — a GET with User-Agent UA (any bytes, sent as they are)
ua_get() {
	raw "GET /$A/ua HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: $(printf '%s' "$1" | $PY3 -c \
		'import sys; sys.stdout.write("".join("\\x%02x" % b for b in sys.stdin.buffer.read()))')\r\n{SIG}Connection: close\r\n\r\n"
}
for ua in "$UA_BAD" "$UA_CUT" "$UA_Q"; do ua_get "$ua"; done
# control bytes in a header value never reach the log: the head is refused
ua_get $'ua \x1b[31mred\x1b[0m end'
expect "a User-Agent holding ESC" 400 BadRequest
ua_get $'ua \x7f end'
expect "a User-Agent holding DEL" 400 BadRequest
sleep 0.3
log_lines() {
	$PY3 - "$T/b5/access.log" <<'EOF'
import json, sys
keys, uas, bad = [], [], []
for i, line in enumerate(open(sys.argv[1], "rb")):
    try:
        d = json.loads(line.decode("utf-8"))
        assert isinstance(d, dict) and line.endswith(b"}\n")
    except Exception as e:
        bad.append("line %d: %s: %r" % (i + 1, e, line[:120]))
        continue
    keys.append(d.get("key") or "")
    uas.append(d.get("user_agent") or "")
if bad:
    print("\n".join(bad)); sys.exit(1)
want_keys = ["k\ufffd\ufffd\ufffd(end", "q\"b\\s\x1b[31m\x7f\r\n2026-01-01T00:00:00Z [1] error: forged", "k" * 7000]
want_uas = ["ua-\ufffd\ufffd-\ufffd(-end", "é" * 127 + "\ufffd", 'ua "q" \\back\\ {"x":1} end']
missing = [repr(w[:60]) for w in want_keys if w not in keys] + [repr(w[:60]) for w in want_uas if w not in uas]
if missing:
    print("not logged as sent: " + ", ".join(missing)); sys.exit(1)
print("%d lines" % (i + 1))
EOF
}
# (looked at until the lines are there: each is written once its answer has gone out)
t_check "access log: every line one JSON object (UTF-8); keys and User-Agents with bad UTF-8, quotes, ESC, CR LF as sent" \
	wait_for 10 log_lines
forged=$(grep -av '^[0-9]\{4\}-[0-9][0-9]-[0-9][0-9]T[0-9:]*Z \[[0-9]*\] \(error\|warn\|info\|debug\): ' "$S3GATE_LOG" |
	grep -av '^\(+\|-\|~\) ' | head -n 5)
if [ -z "$forged" ] && ! grep -aq forged "$S3GATE_LOG"; then
	t_pass "error log: no line that is not s3gate's own"
else
	t_fail "error log: no line that is not s3gate's own" "$forged"
fi
metrics_ok() {
	curl -s --max-time 5 "$S3GATE_ADMIN_URL/metrics" | $PY3 -c '
import re, sys
n = 0
for l in sys.stdin:
    l = l.rstrip("\n")
    if l.startswith("#") or not l: continue
    if not re.fullmatch(r"[a-zA-Z_:][a-zA-Z0-9_:]*(\{([a-zA-Z_][a-zA-Z0-9_]*=\"([^\"\\\n]|\\.)*\",?)*\})? -?[0-9.e+Inf-]+", l):
        print("bad line: %r" % l); sys.exit(1)
    n += 1
print("%d samples" % n); sys.exit(0 if n > 20 else 1)'
}
t_check "/metrics: every line a comment or a well-formed sample" metrics_ok

# /metrics counts requests by action in slots claimed on first use: there
# were 64, fewer than s3gate's action names, so b5a's denied calls of every
# configuration and ACL kind took them all and PutObject went uncounted
actions_counted() {
	local m sub n=0
	while read -r m sub; do
		signed "$m" "/$A?$sub"
		n=$((n + 1))
	done < <(sed -n 's/^\t\(CFG\|ACL\)("\([A-Z]*\)", \(SCOPE_BUCKET, \)\{0,1\}"\([a-zA-Z-]*\)".*/\2 \4/p' \
		"$ROOT/policy/action.c" | sort -u)
	for m in "GET x?tagging" "GET x?attributes" "GET x?retention" "GET x?legal-hold" "GET x?acl" \
		"PUT x?acl" "GET x?torrent" "POST x?restore" "PUT x?retention" "PUT x?legal-hold" \
		"DELETE x?tagging" "GET x" "HEAD x" "GET ?location" "GET ?versions" "GET ?uploads" "HEAD " \
		"GET x?uploadId=1" "DELETE x?uploadId=1" "GET ?list-type=2"; do
		signed "${m%% *}" "/$A/${m#* }"
		n=$((n + 1))
	done
	echo "$n configuration and ACL calls"
	[ "$n" -gt 64 ] || return 1
	echo "put" >"$T/put"
	awsv2 b5a s3api put-object --bucket "$A" --key counted --body "$T/put" >/dev/null || return 1
	curl -s --max-time 5 "$S3GATE_ADMIN_URL/metrics" |
		grep -E '^s3gate_actions_total\{action="PutObject",decision="allow"\} [1-9]'
}
t_check "/metrics: PutObject still counted after calls of every other action" actions_counted

# ---- the self-service API's JSON ---------------------------------------------------------
EP=$S3GATE_ENDPOINT
api() {
	local p=$1 m=$2 path=$3 body=${4:-}
	local -a a=(-X "$m" -o "$T/api.out" -w '%{http_code}' --max-time 30)
	[ -z "$body" ] || a+=(-H 'Content-Type: application/json' --data-binary "$body")
	S3_ENDPOINT=$EP curl_sigv4 "$p" "${a[@]}" "$EP/_s3gate/$path"
}
api_file() {	# PROFILE METHOD PATH FILE
	S3_ENDPOINT=$EP curl_sigv4 "$1" -X "$2" -o "$T/api.out" -w '%{http_code}' --max-time 30 \
		-H 'Content-Type: application/json' --data-binary "@$4" "$EP/_s3gate/$3"
}
state() { s3gate_admin --json who "$V"; s3gate_admin --json requests b5v; }
state0=$(state)
# api_refused NAME WANT-STATUS PROFILE METHOD PATH [JSON]
api_refused() {
	local name=$1 want=$2 code; shift 2
	code=$(api "$@")
	if [ "$code" = "$want" ] && [ "$(state)" = "$state0" ]; then
		t_pass "$name: $code, nothing changed"
	else
		t_fail "$name: $want, nothing changed" "HTTP $code: $(head -c 300 "$T/api.out")"
	fi
}
for r in '\u001b]0;owned\u0007' 'x\"\n  ws-b5v b5p 2026-01-01T00:00:00Z \"approve me' 'tab\there' 'del\u007f'; do
	api_refused "request with a reason holding a control character ($r)" 400 b5a POST requests \
		"{\"bucket\":\"$V\",\"reason\":\"$r\"}"
done
# 60 000 bytes of "bucket" made a 60 KiB access-log line (a caller with a
# wrong secret: refused before the body is read, control)
profile_set b5bad "$(cut -d' ' -f1 "$T/profiles/b5a")" "not-the-secret-of-b5a-at-all-0000000000"
{ printf '{"bucket":"'; head -c 60000 /dev/zero | tr '\0' b; printf '","reason":"x"}'; } >"$T/bigb.json"
for p in b5bad b5a; do
	n0=$(access_lines "$T/b5/access.log")
	code=$(api_file $p POST requests "$T/bigb.json")
	wait_for 10 access_grew "$n0" "$T/b5/access.log"
	len=$(tail -n 1 "$T/b5/access.log" | wc -c)
	if [ "${code:0:1}" = 4 ] && [ "$len" -lt 2048 ] && [ "$(state)" = "$state0" ]; then
		t_pass "request by $p with a 60 000-byte \"bucket\": $code, a $len-byte log line"
	else
		t_fail "request by $p with a 60 000-byte \"bucket\": 4xx, a short log line" "HTTP $code, log line $len bytes"
	fi
done
api_refused "request with a reason of 1025 bytes" 400 b5a POST requests \
	"{\"bucket\":\"$V\",\"reason\":\"$(head -c 1025 /dev/zero | tr '\0' r)\"}"
{ printf '{"bucket":"%s","reason":"' "$V"; head -c 70000 /dev/zero | tr '\0' r; printf '"}'; } >"$T/big.json"
code=$(api_file b5a POST requests "$T/big.json")
if [ "$code" = 400 ] && [ "$(state)" = "$state0" ]; then t_pass "a 70 000-byte JSON body: 400, nothing changed"
else t_fail "a 70 000-byte JSON body: 400" "HTTP $code: $(head -c 300 "$T/api.out")"; fi
{ head -c 100000 /dev/zero | tr '\0' '['; head -c 100000 /dev/zero | tr '\0' ']'; } >"$T/deep.json"
code=$(api_file b5a POST requests "$T/deep.json")
t_expect_eq "100 000 levels of nesting (over 64 KiB): refused" 400 "$code"
{ printf '{"bucket":"%s","reason":' "$V"; head -c 30000 /dev/zero | tr '\0' '['; head -c 30000 /dev/zero | tr '\0' ']'; printf '}'; } >"$T/deep.json"
code=$(api_file b5a POST requests "$T/deep.json")
t_expect_eq "30 000 levels of nesting in a reason: refused" 400 "$code"
api_refused "request with \"bucket\": 5" 400 b5a POST requests '{"bucket":5,"reason":"x"}'
api_refused "request with \"bucket\": [\"$V\"]" 400 b5a POST requests "{\"bucket\":[\"$V\"]}"
api_refused "request with \"reason\": {}" 400 b5a POST requests "{\"bucket\":\"$V\",\"reason\":{}}"
api_refused "grant with \"permission\": true" 400 b5v POST grants "{\"bucket\":\"$V\",\"principal\":\"b5a\",\"permission\":true}"
api_refused "grant with a huge \"expires\"" 400 b5v POST grants \
	"{\"bucket\":\"$V\",\"principal\":\"b5a\",\"permission\":\"ReadOnly\",\"expires\":\"99999999999999999999999d\"}"
for p in "b5a/x" "b5a\\u0000" "b5a\\n" "b5a\\u001b[0m" "b5a b5v" ""; do
	api_refused "grant to principal \"$p\"" 400 b5v POST grants "{\"bucket\":\"$V\",\"principal\":\"$p\",\"permission\":\"ReadOnly\"}"
done
# a field of another type was taken for "not given": a prefix grant became one
# of the whole bucket, an expiry in seconds a grant without end
api_refused "grant with \"prefix\": [\"shared/\"] (not a string)" 400 b5v POST grants \
	"{\"bucket\":\"$V\",\"principal\":\"b5a\",\"permission\":\"ReadOnly\",\"prefix\":[\"shared/\"]}"
api_refused "grant with \"expires\": 3600 (not a string)" 400 b5v POST grants \
	"{\"bucket\":\"$V\",\"principal\":\"b5a\",\"permission\":\"ReadOnly\",\"expires\":3600}"
api_refused "presign with \"method\": 1" 400 b5p POST presign "{\"bucket\":\"$V\",\"key\":\"shared/a\",\"method\":1}"
api_refused "b5a grants on $V (not its own)" 403 b5a POST grants "{\"bucket\":\"$V\",\"principal\":\"b5a\",\"permission\":\"ReadWrite\"}"
api_refused "b5p revokes its own grant's neighbour on $V" 403 b5p DELETE "grants/$V/b5p"
# a key given twice: jansson keeps the last, for the decision and the log alike
n0=$(access_lines "$T/b5/access.log")
api_refused "grant with \"bucket\" twice (own, then b5v's)" 403 b5a POST grants \
	"{\"bucket\":\"$A\",\"bucket\":\"$V\",\"principal\":\"b5a\",\"permission\":\"ReadWrite\"}"
wait_for 10 access_grew "$n0" "$T/b5/access.log"
t_expect_eq "... the access log names the bucket decided on" "$V" \
	"$(tail -n 1 "$T/b5/access.log" | $PY3 -c 'import json,sys; print(json.load(sys.stdin)["bucket"])')"
# hidden = missing, byte for byte but the name
norm() { sed -e "s/$1/BUCKET/g" -e 's/<RequestId>[^<]*<\/RequestId>//; s/<HostId>[^<]*<\/HostId>//' "$T/api.out"; }
for m in "POST grants" "DELETE grants" "POST requests"; do
	for b in "$VS" ws-b5v-none; do
		case $m in
		"POST grants") code=$(api b5a POST grants "{\"bucket\":\"$b\",\"principal\":\"b5a\",\"permission\":\"ReadOnly\"}") ;;
		"DELETE grants") code=$(api b5a DELETE "grants/$b/b5a") ;;
		*) code=$(api b5a POST requests "{\"bucket\":\"$b\",\"reason\":\"x\"}") ;;
		esac
		norm "$b" >"$T/ans.$b"
		echo "$code" >>"$T/ans.$b"
	done
	if cmp -s "$T/ans.$VS" "$T/ans.ws-b5v-none" && [ "$(state)" = "$state0" ]; then
		t_pass "$m on hidden $VS is answered as on a missing bucket ($(tail -n 1 "$T/ans.$VS"))"
	else
		t_fail "$m on hidden $VS is answered as on a missing bucket" "$(diff "$T/ans.$VS" "$T/ans.ws-b5v-none")"
	fi
done
for b in "$VS" ws-b5v-none; do
	code=$(api b5a POST presign "{\"bucket\":\"$b\",\"key\":\"secret\"}")
	norm "$b" >"$T/ans.$b"; echo "$code" >>"$T/ans.$b"
done
if cmp -s "$T/ans.$VS" "$T/ans.ws-b5v-none"; then
	t_pass "presign on hidden $VS is answered as on a missing bucket ($(tail -n 1 "$T/ans.$VS"))"
else
	t_fail "presign on hidden $VS is answered as on a missing bucket" "$(diff "$T/ans.$VS" "$T/ans.ws-b5v-none")"
fi
# another's link and no link: the same answer
QLINK=$(s3gate_admin presign --principal b5q "s3://$Q/own" | tail -n 1 | sed 's/.*X-Amz-Credential=\([A-Z0-9]*\).*/\1/')
code=$(api b5a DELETE "presign/$QLINK"); norm "$QLINK" >"$T/ans.other"; echo "$code" >>"$T/ans.other"
code=$(api b5a DELETE "presign/SGLAAAAAAAAAAAAAAAAA"); norm SGLAAAAAAAAAAAAAAAAA >"$T/ans.none"; echo "$code" >>"$T/ans.none"
if cmp -s "$T/ans.other" "$T/ans.none" && s3gate_admin presign list | grep -q "$QLINK"; then
	t_pass "b5a revokes b5q's link: answered as a link that does not exist ($code), the link stays"
else
	t_fail "b5a revokes b5q's link: answered as no link, the link stays" "$(diff "$T/ans.other" "$T/ans.none")"
fi
for mu in -1 0 1000001 1e3 '"5"' 99999999999999999999; do
	code=$(api b5p POST presign "{\"bucket\":\"$V\",\"key\":\"shared/a\",\"max_uses\":$mu}")
	if [ "$code" = 400 ]; then t_pass "presign with max_uses $mu: 400"
	else t_fail "presign with max_uses $mu: 400" "HTTP $code: $(head -c 300 "$T/api.out")"; fi
done
code=$(api b5a POST requests "{\"bucket\":\"$V\",\"reason\":\"r\u00e9sum\u00e9 please\"}")
if [ "$code" = 201 ] && s3gate_admin requests b5v | grep -q "résumé please"; then
	t_pass "control: a reason in UTF-8 is taken (201)"
else
	t_fail "control: a reason in UTF-8 is taken" "HTTP $code: $(head -c 300 "$T/api.out")"
fi

# ---- quotas: a principal's sessions, links, HEAD and HTTP/1.0 are the principal's --------
# b5q may have one request under way and 3 a second (quota set).  A PUT whose
# body does not come holds the one (until body_timeout, 5 s here).
as b5q
TOKEN_Q=$(cut -d' ' -f3 "$T/profiles/b5q-sess")
LINK=$(s3gate_admin presign --principal b5q "s3://$Q/own" | tail -n 1)
sleep 1.2	# the rate budget full again
$RAW send "$S3GATE_PORT" "PUT /$Q/held HTTP/1.1\r\nHost: 127.0.0.1\r\n{SIG}Content-Length: 100\r\n\r\n" \
	--wait 3 >/dev/null 2>&1 &
held=$!
sleep 0.5
as b5q-sess
raw "GET /$Q/own HTTP/1.1\r\nHost: 127.0.0.1\r\nx-amz-security-token: $TOKEN_Q\r\n{SIG}Connection: close\r\n\r\n"
expect "b5q's session while b5q's one request is under way" 503 SlowDown
raw "GET ${LINK#http://127.0.0.1:$PORT} HTTP/1.1\r\nHost: 127.0.0.1:$PORT\r\nConnection: close\r\n\r\n"
expect "b5q's link (s3gate-issued) meanwhile" 503 SlowDown
as b5q
raw "HEAD /$Q/own HTTP/1.0\r\nHost: 127.0.0.1\r\n{SIG}\r\n"
expect "b5q's HEAD over HTTP/1.0 meanwhile (no body)" 503 ""
wait "$held"
sleep 1.2
# 8 requests in one write, by the key and the link in turn: 3 a second
pipelined() {
	local i t="" link_path=${LINK#http://127.0.0.1:$PORT}
	for i in 1 2 3 4; do
		t+="GET /$Q/own HTTP/1.1\r\nHost: 127.0.0.1\r\n$(as b5q; sig_lines GET "/$Q/own")\r\n"
		t+="GET $link_path HTTP/1.1\r\nHost: 127.0.0.1:$PORT\r\n\r\n"
	done
	raw "${t%\\r\\n}Connection: close\r\n\r\n" --wait 4
	ok=$(grep -ac '^HTTP/1.1 200' "$T/resp"); slow=$(grep -ac '^HTTP/1.1 503' "$T/resp")
	echo "200: $ok, 503: $slow"
	[ "$ok" -ge 1 ] && [ "$ok" -le 4 ] && [ $((ok + slow)) -ge 7 ]
}
t_check "8 pipelined requests of b5q by key and link: at most 4 served (rate 3)" pipelined

if [ "$(deaths)" != 0 ]; then
	t_fail "no worker died during the file" "$(grep 'exited (status' "$S3GATE_LOG")"
fi
s3gate_stop b5 || t_fail "s3gate b5 exits cleanly" "see $T/b5/s3gate.log"
exit 0
