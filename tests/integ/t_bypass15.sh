#!/bin/bash
# Fifteenth audit: this session's CORS headers on s3gate's own error
# answers (cors_errors, proxy/respond.h) and the Redis store's cache
# (keyed hash, "not found" freed a second after its TTL) -- requests made
# by hand (helpers/rawhttp.py, curl, boto3) against the real RGW and a
# Redis of this file's own.
#
# Found and fixed:
#   a head that never ended read freed memory: conn_do_read_head kept what
#     a partial parse found (HTTP_PARSE_MORE), pointers into client.buf,
#     and the read after it grows that buffer (realloc) once the first
#     4096 bytes are full; at head_timeout the 400 RequestTimeout looked
#     through those headers for Origin (respond_cors_headers, new) and the
#     access log for User-Agent (older).  Under ASan one 4096-byte partial
#     head with an Origin header killed the worker (heap-use-after-free in
#     httpmsg_header_find, from conn_fail) and the client got no answer;
#     in the plain build the answer carried "Access-Control-Allow-Origin:
#     *" or not depending on what the freed bytes held by then (seen both
#     ways, 128 KiB and 256 KiB heads).  Now nothing of an unfinished head
#     is kept: its 400 carries Vary: Origin only, logged without a user
#     agent.
# Tried and held (each checked below):
#   RGW's answers to a request with Origin keep exactly RGW's CORS headers:
#     a bucket whose rules name one origin, another origin's GET 200, HEAD
#     200, GET 404 NoSuchKey, HEAD 404, ListObjectsV2 and a rewritten
#     CompleteMultipartUpload (boto3 adding Origin to every request) carry
#     no Access-Control-Allow-Origin; the named origin's GET one, its own;
#   s3gate's errors: exactly one "*" line, never the Origin echoed (two
#     Origin headers, an 8000-byte one), none on an OPTIONS, none for a
#     request after one with Origin on the same connection (pipelined),
#     keep-alive kept after a 403; a HEAD's (HTTP/1.0) headers, no body;
#     an Origin with a bare CR is a 400 without "*"; the same over TLS;
#   the Redis cache: a deleted key answered 403 within a second and still
#     403 after its "not found" entry was swept (never its cached 200); 300
#     unknown ids 403 each; a refetch of a swept-to-be negative entry while
#     Redis is frozen (SIGSTOP: the fetch hangs past the sweep, then times
#     out) answers 503 and, Redis back, 403; Redis stopped: the deleted key
#     and an unknown id 503 ServiceUnavailable, never 200.
# By reading (no check): a 502/504 that replaces a backend answer
#   (conn_errbody_withhold, the timer) is s3gate's XML alone, the backend's
#   status and code only logged; the lock probe's answer is read and
#   dropped (conn_do_lock_probe), never relayed; a link budget refusal
#   after the backend's head (conn_link_reserve) tells a link holder what
#   curl with the link tells; max_connections_per_ip closes without an
#   answer and proxy_protocol_from decides only what address is logged and
#   counted: nothing answered differs by where a page runs.  rs_find
#   compares kind, both lengths and both parts in full: a hash collision
#   costs a longer chain, never another entry's answer; rs_sweep never
#   frees an entry with a fetch in flight (its waiters) and rs_fill copies
#   what a request keeps.
# Workspace: ws-b15<id>; a Redis of this file's own.
. "$(dirname "$0")/lib.sh"
. "$ROOT/tests/lib/redis.sh"

ID=$(rand_id)
P=b15$ID
B=ws-$P
ORIGIN=https://app.example
EVIL=https://evil.example

need_s3gate "fifteenth audit" "s3gate's own answers and cache: nothing to test against RGW"
own_redis "fifteenth audit"

TX=$(free_port)
if ! out=$(selfsigned k); then t_fail "a test certificate" "$out"; exit 1; fi
(umask 077 && openssl rand -hex 32 >"$T/policy.key")
if ! s3gate_start b15 "workers 1" "policy_store redis $REDIS_URL" "policy_secret_key $T/policy.key" \
	"policy_max_staleness 30s" "head_timeout 1s" "listen 127.0.0.1:$TX tls" \
	"tls_certificate $T/certs/k.pem $T/certs/k.key"; then
	t_fail "s3gate b15 starts" "see $T/b15/s3gate.log"; exit 1
fi
if ! out=$({ ws_setup "$P" "$B" &&
	printf '{"CORSRules":[{"AllowedOrigins":["%s"],"AllowedMethods":["GET","HEAD","PUT","POST"],"AllowedHeaders":["*"]}]}' "$ORIGIN" >"$T/cors.json" &&
	backend_aws s3api put-bucket-cors --bucket "$B" --cors-configuration "file://$T/cors.json" &&
	echo hello15 >"$T/obj" && backend_aws s3api put-object --bucket "$B" --key obj --body "$T/obj" >/dev/null; } 2>&1); then
	t_fail "setup: $B with CORS rules for $ORIGIN, an object" "$out"; exit 1
fi
s3gate_cred "$P" p >"$T/cred.out" 2>&1 || { t_fail "setup: $P's credentials" "$(cat "$T/cred.out")"; exit 1; }
AKID=$CRED_AKID
RAW_AKID=$CRED_AKID RAW_SECRET=$CRED_SECRET RAW_REGION=$S3_REGION SECRET_TEXT=$CRED_SECRET
export RAW_AKID RAW_SECRET RAW_REGION
. "$LIB_DIR/helpers/rawreq.sh"
t_pass "setup: s3gate b15 (workers 1, Redis store, head_timeout 1s, a TLS listener), $B (CORS rules for $ORIGIN)"

# o_count, o_header, own_cors (lib.sh) read $T/o.head
# no_acao WHAT: no Access-Control-Allow-Origin in $T/o.head
no_acao() { [ "$(o_count access-control-allow-origin)" = 0 ] || { echo "$1:"; cat "$T/o.head"; return 1; }; }
# sget CURL_ARGS... URL: the profile's signed request; the status; head in $T/o.head, body in $T/out
sget() { curl_sigv4 p -s -o "$T/out" -D "$T/o.head" -w '%{http_code}' --max-time 20 "$@"; }

# ---- a head that never ends ------------------------------------------------------------

# Partial heads of 4096, 8192 and 16384 bytes (each fills client.buf up to a
# growth) with Origin and User-Agent, left to head_timeout side by side.
slow_heads() {
	local n0 out
	n0=$(access_lines)
	out=$("$PY3" - "$S3GATE_PORT" "$EVIL" <<'EOF'
import socket, sys, threading
port, origin = int(sys.argv[1]), sys.argv[2].encode()
res = {}
def one(size):
    s = socket.create_connection(("127.0.0.1", port))
    head = b"GET /b/k HTTP/1.1\r\nHost: 127.0.0.1\r\nOrigin: " + origin + b"\r\nUser-Agent: slow15\r\nX-Pad: "
    s.sendall(head + b"a" * (size - len(head)))
    s.settimeout(15)
    got = b""
    try:
        while True:
            d = s.recv(65536)
            if not d:
                break
            got += d
    except OSError:
        pass
    res[size] = got
ts = [threading.Thread(target=one, args=(n,)) for n in (4096, 8192, 16384)]
for t in ts: t.start()
for t in ts: t.join()
bad = 0
for n in sorted(res):
    h = res[n].split(b"\r\n\r\n")[0].decode("latin-1").lower()
    ok = (h.startswith("http/1.1 400 ") and b"<Code>RequestTimeout</Code>" in res[n] and
          "\r\nvary: origin" in h and "access-control-allow-origin" not in h)
    print(n, "ok" if ok else "BAD", repr(h[:400]))
    bad += not ok
sys.exit(1 if bad else 0)
EOF
) || { echo "$out"; return 1; }
	wait_for 10 access_grew $((n0 + 2)) || { echo "$out"; echo "no access-log lines for them"; return 1; }
	out=$(alog_last "$S3GATE_DIR" 'r["error"] == "RequestTimeout"') || { echo "$out"; return 1; }
	grep -q '"user_agent":null' <<<"$out" || { echo "logged: $out"; return 1; }
	# the worker that answered them answers the next request
	raw "GET /$B/obj HTTP/1.1\r\nHost: 127.0.0.1\r\nOrigin: $EVIL\r\n{SIG}Connection: close\r\n\r\n"
	[ "$R_STATUS" = 200 ] || { echo "then a signed GET: $R_STATUS"; return 1; }
}
tc "a head that never ends (4096, 8192, 16384 bytes, Origin): 400 RequestTimeout with Vary: Origin only, no user agent logged, s3gate serves on (before the fix: ASan heap-use-after-free, no answer)" slow_heads

# ---- RGW's answers stay RGW's ----------------------------------------------------------

rgw_answers() {
	local code url=$S3GATE_ENDPOINT/$B
	code=$(sget -H "Origin: $EVIL" "$url/obj")
	[ "$code" = 200 ] && grep -q hello15 "$T/out" && no_acao "GET 200, $EVIL" || { echo "GET: $code"; return 1; }
	code=$(sget -I -H "Origin: $EVIL" "$url/obj")
	[ "$code" = 200 ] && no_acao "HEAD 200, $EVIL" || { echo "HEAD: $code"; return 1; }
	code=$(sget -H "Origin: $EVIL" "$url/nokey$ID")
	[ "$code" = 404 ] && grep -q NoSuchKey "$T/out" && no_acao "GET 404, $EVIL" || { echo "GET 404: $code"; return 1; }
	code=$(sget -I -H "Origin: $EVIL" "$url/nokey$ID")
	[ "$code" = 404 ] && no_acao "HEAD 404, $EVIL" || { echo "HEAD 404: $code"; return 1; }
	code=$(sget -H "Origin: $EVIL" "$url?list-type=2")
	[ "$code" = 200 ] && grep -q '<Key>obj</Key>' "$T/out" && no_acao "ListObjectsV2, $EVIL" ||
		{ echo "list: $code"; return 1; }
	# the origin the rules name: RGW's own line, once
	code=$(sget -H "Origin: $ORIGIN" "$url/obj")
	[ "$code" = 200 ] && [ "$(o_count access-control-allow-origin)" = 1 ] &&
		[ "$(o_header access-control-allow-origin)" = "$ORIGIN" ] || { echo "GET 200, $ORIGIN: $code"; cat "$T/o.head"; return 1; }
}
tc "CORS: RGW's answers to another origin (GET/HEAD 200 and 404, ListObjectsV2) carry no Access-Control-Allow-Origin; the named origin's, RGW's one" rgw_answers

# CompleteMultipartUpload's answer is buffered and rewritten (its Location):
# still RGW's head, with Origin on every request of the upload
cmu_answer() {
	boto3_py p '
b, evil = sys.argv[1:3]
def origin(request, **kw):
    request.headers["Origin"] = evil
s3.meta.events.register("before-sign.s3.*", origin)
up = s3.create_multipart_upload(Bucket=b, Key="cmu")["UploadId"]
etag = s3.upload_part(Bucket=b, Key="cmu", UploadId=up, PartNumber=1, Body=b"x" * 1000)["ETag"]
r = s3.complete_multipart_upload(Bucket=b, Key="cmu", UploadId=up,
    MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": etag}]})
h = r["ResponseMetadata"]["HTTPHeaders"]
print(r["ResponseMetadata"]["HTTPStatusCode"], sorted(h))
assert "access-control-allow-origin" not in h, h
assert "/cmu" in r["Location"], r
' "$B" "$EVIL"
}
tc "CORS: a CompleteMultipartUpload (answer rewritten) with Origin of another origin: no Access-Control-Allow-Origin" cmu_answer

# ---- s3gate's own errors ----------------------------------------------------------------

own_errors() {
	local code big
	# an id nobody has: InvalidAccessKeyId
	# unsigned (curl would sign both Origin lines: AuthorizationHeaderMalformed, 400)
	code=$(curl -s -o "$T/out" -D "$T/o.head" -w '%{http_code}' --max-time 20 -H "Origin: $EVIL" -H "Origin: $ORIGIN" \
		"$S3GATE_ENDPOINT/$B/obj")
	[ "$code" = 403 ] && grep -q AccessDenied "$T/out" && own_cors "two Origin headers" ||
		{ echo "two Origins: $code"; cat "$T/out"; return 1; }
	big=https://$(head -c 8000 /dev/zero | tr '\0' a).example
	code=$(curl -s -o "$T/out" -D "$T/o.head" -w '%{http_code}' --max-time 20 -H "Origin: $big" "$S3GATE_ENDPOINT/$B/obj")
	[ "$code" = 403 ] && own_cors "8000-byte Origin" && ! grep -q aaaaaaaa "$T/o.head" "$T/out" ||
		{ echo "big Origin: $code"; return 1; }
	# HTTP/1.0 HEAD: the headers, no body
	raw "HEAD /$B/obj HTTP/1.0\r\nOrigin: $EVIL\r\n\r\n"
	tr -d '\r' <"$T/resp" | sed '/^$/q' >"$T/o.head"
	[ "$R_STATUS" = 403 ] && own_cors "HEAD, HTTP/1.0" && [ "$(tr -d '\r' <"$T/resp" | sed '1,/^$/d' | wc -c)" = 0 ] ||
		{ echo "HEAD 1.0: $R_STATUS"; cat "$T/resp"; return 1; }
	# a bare CR in Origin: a bad head, its 400 without "*"
	raw "GET /$B/obj HTTP/1.1\r\nHost: 127.0.0.1\r\nOrigin: $EVIL\rX-Injected: 1\r\n\r\n"
	tr -d '\r' <"$T/resp" | sed '/^$/q' >"$T/o.head"
	[ "$R_STATUS" = 400 ] && no_acao "bare CR" && ! grep -qi '^x-injected' "$T/o.head" || { echo "CR: $R_STATUS"; return 1; }
	# OPTIONS without a preflight's headers: an unknown unsigned request, bare
	raw "OPTIONS /$B/obj HTTP/1.1\r\nHost: 127.0.0.1\r\nOrigin: $EVIL\r\nConnection: close\r\n\r\n"
	tr -d '\r' <"$T/resp" | sed '/^$/q' >"$T/o.head"
	[ "${R_STATUS:0:1}" = 4 ] && ! grep -qi '^access-control-\|^vary' "$T/o.head" ||
		{ echo "OPTIONS: $R_STATUS"; cat "$T/o.head"; return 1; }
}
tc "CORS: s3gate's errors carry one '*' (two Origins, 8000-byte Origin not echoed, HTTP/1.0 HEAD without body), none on a bad head's bare CR or an OPTIONS" own_errors

# three requests on one connection: an error with Origin, a signed GET
# without (RGW's 200), an error without Origin: only the first has "*"
pipelined() {
	local sig heads
	sig=$(sig_lines GET "/$B/obj")
	raw "GET /$B/obj HTTP/1.1\r\nHost: 127.0.0.1\r\nOrigin: $EVIL\r\nAuthorization: AWS4-HMAC-SHA256 x\r\n\r\nGET /$B/obj HTTP/1.1\r\nHost: 127.0.0.1\r\n${sig}\r\nGET /$B/nokey HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
	[ "$(resp_statuses)" = "400 200 403 " ] || [ "$(resp_statuses)" = "403 200 403 " ] ||
		{ echo "statuses: $(resp_statuses)"; return 1; }
	heads=$(tr -d '\r' <"$T/resp" | grep -ai '^access-control-allow-origin\|^HTTP/1' | tr '\n' '|')
	case $heads in
	"HTTP/1.1 4"??" "*"|Access-Control-Allow-Origin: *|HTTP/1.1 200 OK|HTTP/1.1 403 Forbidden|") ;;
	*) echo "answers: $heads"; return 1 ;;
	esac
	grep -aq hello15 "$T/resp" || { echo "no object in the 200"; return 1; }
}
tc "CORS: pipelined error with Origin, signed GET, error without Origin on one connection: '*' on the first only, the connection kept" pipelined

over_tls() {
	local code
	code=$(curl -sk -o "$T/out" -D "$T/o.head" -w '%{http_code}' --max-time 20 -H "Origin: $EVIL" "https://127.0.0.1:$TX/$B/obj")
	[ "$code" = 403 ] && own_cors "TLS, unsigned" || { echo "TLS: $code"; return 1; }
	code=$(S3_CA_BUNDLE=$T/certs/k.pem curl_sigv4 p -s -k -o "$T/out" -D "$T/o.head" -w '%{http_code}' --max-time 20 \
		-H "Origin: $EVIL" "https://127.0.0.1:$TX/$B/obj")
	[ "$code" = 200 ] && no_acao "TLS, RGW's 200" || { echo "TLS signed: $code"; return 1; }
}
tc "CORS over TLS: s3gate's 403 one '*', RGW's 200 to another origin none" over_tls

# ---- the Redis store's cache -------------------------------------------------------------

URL=$S3GATE_ENDPOINT/$B/obj
s3gate_cred "$P" gone >"$T/cred2.out" 2>&1 || t_fail "setup: a second credential" "$(cat "$T/cred2.out")"
GONE=$CRED_AKID
# st PROFILE: the signed GET's status; the body in $T/st.out
st() { curl_sigv4 "$1" -o "$T/st.out" -w '%{http_code}' --max-time 20 "$URL" 2>/dev/null; }

deleted_key() {
	local c i ms
	[ "$(st gone)" = 200 ] || { echo "the second key is not served"; return 1; }
	s3gate_admin cred delete "$GONE" >/dev/null || return 1
	ms=$(wait_sigv4_status gone "$URL" 403 1000) || { echo "$ms"; return 1; }
	# its "not found" over 2 s old at a sweep tick (every second): swept, fetched again
	sleep 3.2
	c=$(st gone)
	[ "$c" = 403 ] && grep -q InvalidAccessKeyId "$T/st.out" || { echo "after the sweep: $c"; cat "$T/st.out"; return 1; }
	c=0
	for i in $(seq 300); do
		[ "$i" = 1 ] || echo next
		printf 'aws-sigv4 = "aws:amz:%s:s3"\nuser = "AKX%s%04d:x"\nheader = "x-amz-content-sha256: UNSIGNED-PAYLOAD"\n' "$S3_REGION" "$ID" "$i"
		printf 'url = "%s"\noutput = /dev/null\nwrite-out = "%%{http_code}\\n"\n' "$URL"
	done >"$T/unknown.curl"
	c=$(curl -s --max-time 60 -K "$T/unknown.curl" | sort | uniq -c | tr -s ' ')
	[ "$c" = " 300 403" ] || { echo "300 unknown ids: $c"; return 1; }
	echo "deleted key 403 in $ms ms, 403 after the sweep; 300 unknown ids: 403 each"
}
tc "Redis cache: a deleted key is 403 within a second and after its entry is swept; 300 unknown ids 403 each" deleted_key

REDIS_PID=$(cat "$T/redis/redis.pid.ours" 2>/dev/null)
# refused_while_down WHAT STATUS — a deleted key's answer while Redis does
# not answer: 503 ServiceUnavailable, or 403 InvalidAccessKeyId (its
# "no such key" served stale); the body in $T/st.out
refused_while_down() {
	[ "$2" = 503 ] && grep -q ServiceUnavailable "$T/st.out" && return 0
	[ "$2" = 403 ] && grep -q InvalidAccessKeyId "$T/st.out" && return 0
	echo "$1: $2"; cat "$T/st.out"; return 1
}
frozen_refetch() {
	local c
	[ -n "$REDIS_PID" ] || { echo "no redis pid"; return 1; }
	c=$(st gone)
	[ "$c" = 403 ] || { echo "before: $c"; return 1; }
	# past the negative TTL (1 s): the next lookup refetches, and the fetch
	# (up to RS_COMMAND_TIMEOUT_MS, 1 s) is in flight when the entry is past
	# its sweep age (2 s): a sweep tick (every second) falls within most runs
	sleep 1.6
	kill -STOP "$REDIS_PID"
	# the refetch hangs past a sweep (1 s ticks) and times out (1 s): 503, never the old 200
	c=$(st gone)
	kill -CONT "$REDIS_PID"
	# 503 (seen every run: the entry gone) or the refusal it held, served
	# stale within policy_max_staleness (were the sweep to miss it): a
	# refusal either way, never the 200 of before the delete
	refused_while_down "frozen" "$c" || return 1
	_back() { [ "$(st gone)" = 403 ]; }
	wait_for 15 _back || { echo "Redis back: $(st gone)"; return 1; }
	[ "$(st p)" = 200 ] || { echo "the live key: $(st p)"; return 1; }
}
tc "Redis cache: a deleted key's refetch while Redis is frozen (SIGSTOP past a sweep): refused (503), never 200; Redis back: 403; the live key 200" frozen_refetch

redis_down() {
	local c
	# the live key cached with both connections up (a resubscription drops everything)
	_store_up() { [ "$(metric "$S3GATE_ADMIN_URL" s3gate_policy_store_up)" = 1 ]; }
	wait_for 15 _store_up || { echo "the store is not up again"; return 1; }
	[ "$(st p)" = 200 ] || { echo "the live key before: $(st p)"; return 1; }
	redis_stop "$T/redis" >/dev/null 2>&1
	sleep 3.2	# the deleted key's entry swept (over 2 s old at a tick); the live key's kept (policy_max_staleness 30 s)
	c=$(st gone)
	refused_while_down "deleted key" "$c" || return 1
	c=$(curl -s -o "$T/st.out" -w '%{http_code}' --max-time 20 --aws-sigv4 "aws:amz:$S3_REGION:s3" \
		--user "AKDOWN$ID:x" -H "x-amz-content-sha256: UNSIGNED-PAYLOAD" "$URL")
	[ "$c" = 503 ] || { echo "unknown id: $c"; return 1; }
	c=$(st p)
	[ "$c" = 200 ] || { echo "the live key within the staleness bound: $c"; return 1; }
}
tc "Redis down: a deleted key (entry swept) refused (503) and an unknown id 503 ServiceUnavailable, never 200; the live key served from the cache" redis_down
