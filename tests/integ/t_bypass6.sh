#!/bin/bash
# Sixth audit: state that changes while a connection is open (a reload, a
# grant, a member, a key, a session, a link, mid-upload), copy sources in
# RGW's other spellings, RGW's own answer headers, and TLS records and
# renegotiation; each request made by hand (helpers/keepalive.py: one
# connection, requests and shell commands in turn; helpers/rawhttp.py) by
# a principal with valid credentials, against the real RGW, and what RGW
# holds afterwards read with the service key.
#
# Found and fixed:
#   a single-process s3gate (workers 1, or auto on one CPU) kept the
#     configuration a connection was accepted under for the connection's
#     life: after a SIGHUP turning allow_bucket_acl off or narrowing
#     bucket_config_ops, an owner that kept its connection alive made
#     PutBucketAcl public-read (200, public at RGW) and the other refused
#     calls as before.  Now every request head is read under the
#     configuration then in force.
#   the same reload left backend_reserved_names as at the start (a parent
#     of workers applies them in each new worker): a name added (RGW's
#     admin entry moved) went on to the backend signed with the service
#     key, also on new connections.  Now the reload sets them (400); and
#     a name a bucket of the policy holds fails the reload, as it fails a
#     new generation of workers (applied, it would have stopped every
#     later policy load, revocations included).
#   with workers, the old generation draining after a reload served a
#     request whose head came whole only after the reload, under the old
#     configuration: a PutBucketAcl head held half-sent across the reload
#     that turned ACL calls off made the bucket public.  Now a draining
#     s3gate starts no new request (503 ServiceUnavailable, closed).
#   HeadBucket, which a prefix grant allows, relayed RGW's X-RGW-Object-
#     Count and X-RGW-Bytes-Used of the whole bucket (and the service
#     account's X-RGW-Quota-*): a grantee of "shared/" learnt how many
#     objects and bytes lay outside it, and saw each private upload come
#     and go with its size.  Now no x-rgw-* header is relayed.
# Tried and held (each checked below):
#   with two workers a reload closes the old generation's idle connections;
#   on one kept-alive connection, the request after a grant's revocation, a
#     member's removal, the key's deletion, the session's end or the link's
#     revocation is refused (403, 403, 403 InvalidAccessKeyId, 400
#     ExpiredToken, 403); a grant revoked mid-upload: the next part, the
#     completion and the abort refused, RGW holds the first part only;
#   CopyObject from the victim's object as "B/K", ":B/K" and "%3AB/K" (RGW
#     reads TENANT:BUCKET: ":B" is B of the default tenant), "/:B/K",
#     "B%2FK", upper case, "?versionId=null", and UploadPartCopy from ":B/K"
#     -- 403, nothing copied;
#   TLS 1.2: two pipelined GETs sent one byte a record, both answered whole;
#     a client-initiated renegotiation refused (no_renegotiation alert);
#   no worker dies.
# Looked at and left as they are: listings name the service account as
#   every object's <Owner> (its RGW user id, not a key);
#   CompleteMultipartUpload's answer names
#   the backend's URL (<Location>http://RGW:PORT/B/K</Location>; success
#   bodies are relayed as they come); a long upload or download goes on
#   to its end after its grant is revoked (each later request is refused).
# Workspaces (own principals): ws-b6o (b6o; ws-b6o-adm, a bucket a reload
#   cannot reserve; b6g ReadWrite, b6p prefix "shared/" ReadOnly, b6m a member),
#   ws-b6a (b6a, the attacker).
. "$(dirname "$0")/lib.sh"

SECRET_TEXT="the secret of b6v $(rand_id)"
O=ws-b6o
OADM=ws-b6o-adm
RSV=ws-b6o-rsv		# no bucket's: the name a reload reserves
A=ws-b6a

need_s3gate "bypass6" "checks s3gate's own decisions: not meaningful against RGW"
export RAW_REGION=$S3_REGION
as() { read -r RAW_AKID RAW_SECRET RAW_TOKEN <"$T/profiles/$1"; export RAW_AKID RAW_SECRET RAW_TOKEN; }
export LIB_DIR
KA="$PY3 $LIB_DIR/helpers/keepalive.py"

# ---- a reload (SIGHUP) and the connections already open ------------------------------------
# One process (workers 1): the operator turns ACL calls off, narrows the
# configuration calls and reserves one more name; a connection opened
# before must get the new rules at its next request.
s3gate_start b6k "workers 1" "allow_bucket_acl on" ||
	{ t_fail "s3gate (one process) starts" "see $T/b6k/s3gate.log"; exit 1; }
K_PID=$S3GATE_PID K_CONF=$S3GATE_CONF K_LOG=$S3GATE_LOG K_PORT=$S3GATE_PORT
if ! { ws_setup b6o "$O" "$OADM" && s3gate_cred b6o >/dev/null; } >"$T/setup.out" 2>&1; then
	t_fail "setup: workspaces, grants, objects" "$(tail -n 20 "$T/setup.out")"; exit 1
fi
printf '%s\n' "$SECRET_TEXT" >"$T/secret"
backend_aws s3api put-object --bucket "$OADM" --key k --body "$T/secret" >/dev/null
backend_aws s3api put-bucket-acl --bucket "$O" --acl private >/dev/null
# write_reload FILE LOG CONF PID WANT [RESERVED] — FILE: a script that turns ACL calls off,
# leaves "cors" the only configuration calls (and reserves RESERVED too), sends
# SIGHUP to PID and waits for WANT in LOG
write_reload() {
	cat >"$1" <<RELOAD
n0=\$(wc -l <"$2")
sed -i -e '/^allow_bucket_acl /d' -e '/^bucket_config_ops /d' -e '/^backend_reserved_names /d' "$3"
printf 'allow_bucket_acl off\nbucket_config_ops cors\n' >>"$3"
[ -z "${6:-}" ] || echo "backend_reserved_names admin auth swift ${6:-}" >>"$3"
kill -HUP $4
end=\$((SECONDS + 20))
while [ \$SECONDS -lt \$end ]; do tail -n +\$((n0 + 1)) "$2" | grep -q '$5' && exit 0; sleep 0.1; done
exit 1
RELOAD
}
write_reload "$T/reload.sh" "$K_LOG" "$K_CONF" "$K_PID" reloaded "$RSV"
as b6o
$KA "$K_PORT" "REQ GET /$O?acl" "REQ GET /$O?versioning" "REQ GET /$OADM/k" "RUN bash $T/reload.sh" \
	"REQ PUT /$O?acl x-amz-acl: public-read" "REQ GET /$O?versioning" "REQ GET /$RSV/k" \
	>"$T/ka.out" 2>&1
mapfile -t ka <"$T/ka.out"
if [ "${ka[0]:-}" = "200 -" ] && [ "${ka[1]:-}" = "200 -" ] && [ "${ka[2]:-}" = "200 -" ] && [ "${ka[3]:-}" = "run 0" ]; then
	t_pass "control: before the reload, ?acl, ?versioning and $OADM/k on one connection: 200"
else
	t_fail "control: before the reload, ?acl, ?versioning and $OADM/k: 200, then reloaded" "$(tr '\n' ';' <"$T/ka.out")"
fi
acl_public() { backend_aws s3api get-bucket-acl --bucket "$O" --output text 2>&1 | grep -q AllUsers; }
if [ "${ka[4]:-}" = "403 AccessDenied" ] && ! acl_public; then
	t_pass "after a reload with allow_bucket_acl off: PutBucketAcl public-read on the open connection refused (403), RGW's ACL private"
else
	t_fail "after a reload with allow_bucket_acl off: PutBucketAcl on the open connection refused" \
		"answer '${ka[4]:-}'; public at RGW: $(acl_public && echo yes || echo no)"
fi
if [ "${ka[5]:-}" = "403 AccessDenied" ]; then
	t_pass "after a reload with bucket_config_ops cors: GetBucketVersioning on the open connection refused (403)"
else
	t_fail "after a reload with bucket_config_ops cors: GetBucketVersioning on the open connection refused" "answer '${ka[5]:-}'"
fi
if [ "${ka[6]:-}" = "400 InvalidBucketName" ]; then
	t_pass "after a reload reserving $RSV: a request naming it on the open connection refused (400 InvalidBucketName)"
else
	t_fail "after a reload reserving $RSV: a request naming it on the open connection refused" "answer '${ka[6]:-}'"
fi
$KA "$K_PORT" "REQ GET /$O?acl" "REQ GET /$RSV/k" >"$T/ka2.out" 2>&1
# (GetBucketAcl refused outright is 501 NotImplemented, as a server without ACLs answers)
if [ "$(tr '\n' ';' <"$T/ka2.out")" = "501 NotImplemented;400 InvalidBucketName;" ]; then
	t_pass "after the reload, a new connection: ?acl 501, $RSV 400"
else
	t_fail "after the reload, a new connection: ?acl 501, $RSV 400" "$(tr '\n' ';' <"$T/ka2.out")"
fi
# Reserving a name a bucket of the policy holds: the policy would no longer
# load (storage.c), so the reload fails and the running configuration stays.
write_reload "$T/reload_bad.sh" "$K_LOG" "$K_CONF" "$K_PID" 'reload failed' "$OADM"
if bash "$T/reload_bad.sh" && kill -0 "$K_PID" 2>/dev/null &&
	$KA "$K_PORT" "REQ GET /$OADM/k" "REQ GET /$RSV/k" >"$T/ka3.out" 2>&1 &&
	[ "$(tr '\n' ';' <"$T/ka3.out")" = "200 -;400 InvalidBucketName;" ]; then
	t_pass "a reload reserving $OADM, a bucket of the policy: refused (reload failed), $OADM still served, $RSV still reserved"
else
	t_fail "a reload reserving $OADM, a bucket of the policy: refused, the running configuration kept" \
		"$(tr '\n' ';' <"$T/ka3.out" 2>/dev/null); log: $(grep -A3 'reload failed' "$K_LOG" | tail -n 4 | tr '\n' ' ')"
fi

# ---- state that changes while a connection is open (two workers) --------------------------
# A new generation of workers after a reload: the old ones close their
# connections after their request, so an open connection gets the new rules
# too (on a new connection).  Grants, members, keys, links: each request on
# a kept-alive connection is decided as the policy is then.
mkdir -p "$T/tls"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj "/CN=127.0.0.1" \
	-keyout "$T/tls/key.pem" -out "$T/tls/cert.pem" 2>/dev/null && chmod 600 "$T/tls/key.pem"
TLS_PORT=$(free_port)
s3gate_start b6w "workers 2" "allow_bucket_acl on" "public_url http://127.0.0.1" \
	"listen 127.0.0.1:$TLS_PORT tls" "tls_certificate $T/tls/cert.pem $T/tls/key.pem" ||
	{ t_fail "s3gate (two workers) starts" "see $T/b6w/s3gate.log"; exit 1; }
W_PID=$S3GATE_PID W_CONF=$S3GATE_CONF W_LOG=$S3GATE_LOG W_PORT=$S3GATE_PORT
setup_w() {
	ws_setup b6a "$A" && s3gate_cred b6a >/dev/null &&
		ws_setup b6o "$O" "$OADM" --grant "$O:b6g:ReadWrite" && s3gate_cred b6o b6o-w >/dev/null &&
		s3gate_cred b6g >/dev/null && s3gate_cred b6m >/dev/null &&
		s3gate_admin member add "$O" b6m >/dev/null &&
		s3gate_cred b6p >/dev/null && s3gate_admin grant "$O/shared/" b6p ReadOnly >/dev/null &&
		backend_aws s3api put-object --bucket "$O" --key shared/a --body "$T/secret" >/dev/null &&
		head -c 123457 /dev/zero >"$T/private" &&
		backend_aws s3api put-object --bucket "$O" --key private/big --body "$T/private" >/dev/null &&
		backend_aws s3api put-object --bucket "$O" --key doc --body "$T/secret" >/dev/null
}
if ! setup_w >"$T/setup_w.out" 2>&1; then
	t_fail "setup: two workers, grantee, member" "$(tail -n 20 "$T/setup_w.out")"; exit 1
fi
# (no reserved name here: a bucket of the policy holding one fails the new generation's start)
write_reload "$T/reload_w.sh" "$W_LOG" "$W_CONF" "$W_PID" 'reloaded .*the old ones drain'
as b6o-w
$KA "$W_PORT" "REQ GET /$O?acl" "RUN bash $T/reload_w.sh" "SLEEP 0.5" "REQ PUT /$O?acl x-amz-acl: public-read" \
	>"$T/kaw.out" 2>&1
mapfile -t ka <"$T/kaw.out"
if [ "${ka[0]:-}" = "200 -" ] && [ "${ka[1]:-}" = "run 0" ] &&
	{ [ "${ka[2]:-}" = "000 closed" ] || [ "${ka[2]:-}" = "403 AccessDenied" ]; } && ! acl_public; then
	t_pass "two workers, a reload with allow_bucket_acl off: the open connection is closed or refused (${ka[2]:-}), RGW's ACL private"
else
	t_fail "two workers, a reload with allow_bucket_acl off: the open connection closed or refused" "$(tr '\n' ';' <"$T/kaw.out")"
fi
# the same with a head half sent before the reload and finished after it:
# the old generation, draining, starts no new request (503, closed)
backend_aws s3api put-bucket-acl --bucket "$O" --acl private >/dev/null
sed -i 's/^allow_bucket_acl off$/allow_bucket_acl on/' "$W_CONF"
n0=$(wc -l <"$W_LOG")
kill -HUP "$W_PID"
drain_said() { tail -n +$((n0 + 1)) "$W_LOG" | grep -q 'the old ones drain'; }
wait_for 20 drain_said
sleep 0.5
$KA "$W_PORT" "REQ GET /$O?acl" "HALF PUT /$O?acl x-amz-acl: public-read" "RUN bash $T/reload_w.sh" "SLEEP 0.5" "REST" \
	>"$T/kah.out" 2>&1
mapfile -t ka <"$T/kah.out"
if [ "${ka[0]:-}" = "200 -" ] && [ "${ka[1]:-}" = "run 0" ] && [ "${ka[2]:-}" != "200 -" ] && ! acl_public; then
	t_pass "two workers: a PutBucketAcl head half sent before a reload turning ACLs off, finished after: ${ka[2]:-}, RGW's ACL private"
else
	t_fail "two workers: a PutBucketAcl head finished after a reload turning ACLs off refused" \
		"$(tr '\n' ';' <"$T/kah.out"); public at RGW: $(acl_public && echo yes || echo no)"
fi

# ka_change NAME PROFILE TARGET COMMAND WANT — TARGET read twice on one
# connection, COMMAND (the store changed) in between: 200, then WANT
ka_change() {
	as "$2"
	$KA "$W_PORT" "REQ GET $3" "RUN $4 >/dev/null" "SLEEP 1.2" "REQ GET $3" >"$T/kac.out" 2>&1
	local got
	got=$(tr '\n' ';' <"$T/kac.out")
	if [ "$got" = "200 -;run 0;$5;" ]; then
		t_pass "$1 on an open connection: 200, then $5"
	else
		t_fail "$1 on an open connection: 200, then $5" "$got"
	fi
}
ADM="$S3GATE_BIN/s3gate-admin -c $W_CONF"
ka_change "grant revoked" b6g "/$O/doc" "$ADM revoke $O b6g" "403 AccessDenied"
ka_change "member removed" b6m "/$O/doc" "$ADM member remove $O b6m" "403 AccessDenied"
read -r akid _ <"$T/profiles/b6g"
s3gate_admin grant "$O" b6g ReadOnly >/dev/null
sleep 1.2
ka_change "key deleted" b6g "/$O/doc" "$ADM cred delete $akid" "403 InvalidAccessKeyId"

# a session that ends between two requests: it ends at a whole second at
# most 3 s after this clock reading (the CLI's time(NULL) + 3); the second
# request waits for that second by the clock, not for a fixed time
s3gate_cred b6o b6o-short --ttl 3s >/dev/null
sess_end=$(($(date +%s) + 3))
ka_change "a session at its end" b6o-short "/$O/doc" \
	"while [ \$(date +%s) -lt $sess_end ]; do sleep 0.05; done" "400 ExpiredToken"
# a link revoked between two downloads on one connection
URL=$(s3gate_admin presign --principal b6o "s3://$O/doc" | tail -n 1)
LID=$(sed -n 's/.*X-Amz-Credential=\([^%]*\).*/\1/p' <<<"$URL")
$KA "$W_PORT" "URL GET ${URL#http://127.0.0.1}" "RUN $ADM presign revoke $LID >/dev/null" "SLEEP 1.2" \
	"URL GET ${URL#http://127.0.0.1}" >"$T/kal.out" 2>&1
got=$(tr '\n' ';' <"$T/kal.out")
if [ "$got" = "200 -;run 0;403 AccessDenied;" ]; then
	t_pass "link revoked on an open connection: 200, then 403 AccessDenied"
else
	t_fail "link revoked on an open connection: 200, then 403 AccessDenied" "$got (link $LID)"
fi
# a grant revoked in the middle of a multipart upload: no more parts, no completion
s3gate_admin grant "$O" b6g ReadWrite >/dev/null
s3gate_cred b6g b6g2 >/dev/null
sleep 1.2
as b6g2
UP=$(RAW_AKID=$RAW_AKID $PY3 - "$W_PORT" "$O" <<'PYEOF'
import os, re, socket, sys
sys.path.insert(0, os.environ["LIB_DIR"] + "/helpers")
import rawhttp
port, b = int(sys.argv[1]), sys.argv[2]
t = "/%s/mp?uploads" % b
sig = rawhttp.sigv4_headers("POST", t, "127.0.0.1", os.environ["RAW_AKID"], os.environ["RAW_SECRET"],
                            os.environ.get("RAW_REGION", "us-east-1"), "UNSIGNED-PAYLOAD")
s = socket.create_connection(("127.0.0.1", port), timeout=10)
s.sendall(("POST %s HTTP/1.1\r\nHost: 127.0.0.1\r\n%sContent-Length: 0\r\nConnection: close\r\n\r\n" % (t, sig)).encode())
d = b""
while True:
    x = s.recv(65536)
    if not x: break
    d += x
m = re.search(rb"<UploadId>([^<]*)</UploadId>", d)
print(m.group(1).decode() if m else "")
PYEOF
)
export LIB_DIR
$KA "$W_PORT" "REQ PUT /$O/mp?partNumber=1&uploadId=$UP" "RUN $ADM revoke $O b6g >/dev/null" "SLEEP 1.2" \
	"REQ PUT /$O/mp?partNumber=2&uploadId=$UP" "REQ POST /$O/mp?uploadId=$UP" "REQ DELETE /$O/mp?uploadId=$UP" \
	>"$T/kam.out" 2>&1
got=$(tr '\n' ';' <"$T/kam.out")
parts=$(backend_aws s3api list-parts --bucket "$O" --key mp --upload-id "$UP" --query 'Parts[].PartNumber' --output text 2>&1)
if [ -n "$UP" ] && [ "$got" = "200 -;run 0;403 AccessDenied;403 AccessDenied;403 AccessDenied;" ] && [ "$parts" = 1 ]; then
	t_pass "grant revoked mid-upload: part 1 stored, then part 2, completion and abort refused (RGW holds part 1 only)"
else
	t_fail "grant revoked mid-upload: the later parts, completion and abort refused" "upload '$UP': $got; parts at RGW: $parts"
fi

# ---- copies whose source names the victim's bucket in other spellings ----------------------
# RGW reads "TENANT:BUCKET" in a copy source (":ws-b6o" is ws-b6o of the
# default tenant); s3gate decides on the name as written, which no store has
. "$LIB_DIR/helpers/rawreq.sh"
S3GATE_PORT=$W_PORT
as b6a
for src in "$O/doc" ":$O/doc" "/:$O/doc" "%3A$O/doc" "$O%2Fdoc" "$(tr a-z A-Z <<<"$O")/doc" "$O/doc?versionId=null"; do
	signed PUT "/$A/copy" "x-amz-copy-source: $src\r\n"
	code=$(resp_code)
	if [ "$R_STATUS" = 403 ] && [ "$code" = AccessDenied ] && ! grep -qF "$SECRET_TEXT" "$T/resp" &&
		! backend_aws s3api head-object --bucket "$A" --key copy >/dev/null 2>&1; then
		t_pass "CopyObject into $A from \"$src\": 403, nothing copied"
	else
		t_fail "CopyObject into $A from \"$src\" refused" "status $R_STATUS code $code; $(resp_msg)"
	fi
done
signed PUT "/$A/copy?partNumber=1&uploadId=x" "x-amz-copy-source: :$O/doc\r\nx-amz-copy-source-range: bytes=0-3\r\n"
expect "UploadPartCopy from \":$O/doc\" (tenant form)" 403 AccessDenied

# ---- what RGW's answers say beyond the grant ------------------------------------------------
# RGW's HeadBucket names the whole bucket's object count and bytes (and the
# service account's quotas): a grantee of "shared/" learnt how many objects
# and bytes lie outside it, and saw each private upload come and go
as b6p
signed HEAD "/$O"
rgw_hdrs=$(grep -ai '^x-rgw-' "$T/resp" | tr -d '\r' | tr '\n' ' ')
if [ "$R_STATUS" = 200 ] && [ -z "$rgw_hdrs" ]; then
	t_pass "HeadBucket by a grantee of shared/: 200, no X-RGW-* header (bucket statistics, the service account's quotas)"
else
	t_fail "HeadBucket by a grantee of shared/: no X-RGW-* header" "status $R_STATUS; $rgw_hdrs"
fi
signed GET "/$O/shared/a"
rgw_hdrs=$(sed '/^\r$/q' "$T/resp" | grep -ai '^x-rgw-' | tr -d '\r' | tr '\n' ' ')
if [ "$R_STATUS" = 200 ] && grep -qF "$SECRET_TEXT" "$T/resp" && [ -z "$rgw_hdrs" ]; then
	t_pass "GetObject of shared/a by its grantee: 200, no X-RGW-* header"
else
	t_fail "GetObject of shared/a by its grantee: 200, no X-RGW-* header" "status $R_STATUS; $rgw_hdrs"
fi

# ---- TLS -----------------------------------------------------------------------------------
as b6o-w
tiny_records() {
	$PY3 - "$TLS_PORT" "$O" <<'PYEOF'
import os, socket, ssl, sys, time
sys.path.insert(0, os.environ["LIB_DIR"] + "/helpers")
import rawhttp
port, b = int(sys.argv[1]), sys.argv[2]
ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
ctx.maximum_version = ssl.TLSVersion.TLSv1_2
s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", port), timeout=3))
req = b""
for i in range(2):
    sig = rawhttp.sigv4_headers("GET", "/%s/doc" % b, "127.0.0.1", os.environ["RAW_AKID"],
                                os.environ["RAW_SECRET"], os.environ["RAW_REGION"], "UNSIGNED-PAYLOAD")
    req += ("GET /%s/doc HTTP/1.1\r\nHost: 127.0.0.1\r\n%s\r\n" % (b, sig)).encode()
for ch in req:		# one TLS record a byte
    s.send(bytes([ch]))
d, t0 = b"", time.time()
while d.count(b"the secret of") < 2 and time.time() - t0 < 8:
    try:
        x = s.recv(65536)
    except socket.timeout:
        continue
    if not x:
        break
    d += x
n = d.count(b"HTTP/1.1 200")
print("%d answers" % n)
sys.exit(0 if n == 2 and d.count(b"the secret of") == 2 else 1)
PYEOF
}
t_check "TLS 1.2, two pipelined GETs sent one byte a record: both answered whole" tiny_records
d0=$(deaths)
reneg=$( (printf 'R\n'; sleep 1.5) | timeout 6 openssl s_client -tls1_2 -connect "127.0.0.1:$TLS_PORT" 2>&1)
if grep -q RENEGOTIATING <<<"$reneg" && grep -qi 'no renegotiation' <<<"$reneg" && [ "$(deaths)" = "$d0" ]; then
	t_pass "TLS 1.2: a client-initiated renegotiation is refused (no_renegotiation), no worker dies"
else
	t_fail "TLS 1.2: a client-initiated renegotiation refused" "$(grep -i 'reneg\|error' <<<"$reneg" | head -n 3)"
fi
[ "$(deaths)" = 0 ] && t_pass "no worker died" || t_fail "no worker died" "$(grep 'exited (status' "$S3GATE_LOG" | head -n 3)"
