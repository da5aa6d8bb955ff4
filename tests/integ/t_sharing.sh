#!/bin/bash
# Sharing that users run themselves (issue 12), told with real clients
# through s3gate against Ceph RGW -- the parts t_policy_story,
# t_selfservice and t_presign_admin do not tell:
#   - a ReadWrite prefix grant (BUCKET/shared/) against aws s3 ls/cp/rm/sync
#     and rclone; DeleteObjects checked key by key (one key outside: nothing
#     deleted; XML-special keys; crafted bodies); CopyObject and
#     UploadPartCopy sources outside the prefix
#   - a WriteOnly drop box filled with aws s3 cp, small and multipart
#   - the exact denial Message for each reason; a hidden bucket's answer =
#     a missing bucket's, whole responses compared
#   - the access log of requests allowed by a grant, and of link uses
#   - a link with --max-uses 2 and a download resumed with curl -C -
#   - a grant expiring mid-session on two s3gate processes sharing Redis
# Names carry this run's suffix $S (RGW is shared by the run):
#   ws-own$S (owner own$S): ws-own$S (discoverable; usr$S: ReadWrite on shared/),
#     -drop (usr$S: WriteOnly), -ro (usr$S: none, then ReadOnly),
#     -exp (usr$S: ReadOnly, expiring), -hidn (not discoverable)
#   ws-usr$S (owner usr$S): ws-usr$S
#   ws-nox$S-hidn does not exist (as long as ws-own$S-hidn: same-size answers)
. "$(dirname "$0")/lib.sh"
. "$ROOT/tests/lib/redis.sh"

S=$(rand_id)
O=own$S U=usr$S
B=ws-$O BD=ws-$O-drop BR=ws-$O-ro BX=ws-$O-exp BH=ws-$O-hidn BN=ws-nox$S-hidn
BU=ws-$U

SKIP_WHY=""
FAIL_WHY=""

if [ "$S3GATE_DIRECT_RGW" = 1 ]; then
	SKIP_WHY="sharing is s3gate's own"
elif ! s3gate_have; then
	SKIP_WHY="$(basename "$S3GATE_BIN")/s3gate not built"
else
	PORT=$(free_port)
	s3gate_start share "listen 127.0.0.1:$PORT" "public_url http://127.0.0.1:$PORT" ||
		FAIL_WHY="s3gate did not start (see $T/share/s3gate.log)"
fi

# ---- helpers -------------------------------------------------------------------

# s3msg PROFILE URL [CURL_ARGS...] — "STATUS|CODE|MESSAGE" of a signed request (XML unescaped)
s3msg() {
	local p=$1 u=$2 c; shift 2
	c=$(curl_sigv4 "$p" -o "$T/msg.out" -w '%{http_code}' --max-time 10 "$@" "$u" 2>/dev/null)
	"$PY3" -c 'import sys, xml.etree.ElementTree as ET
try:
    r = ET.parse(sys.argv[1]).getroot()
    print(sys.argv[2] + "|" + (r.findtext("Code") or "-") + "|" + (r.findtext("Message") or "-"))
except Exception:
    print(sys.argv[2] + "|-|-")' "$T/msg.out" "$c"
}
# msg_is WANT_STATUS WANT_CODE WANT_MESSAGE PROFILE URL [CURL_ARGS...] — the
# Message is exactly WANT_MESSAGE, or WANT_MESSAGE plus the request hint
msg_is() {
	local ws=$1 wc=$2 wm=$3 got; shift 3
	got=$(s3msg "$@")
	echo "got: $got"
	case $got in
	"$ws|$wc|$wm" | "$ws|$wc|$wm You can request access with POST /_s3gate/requests.") return 0 ;;
	esac
	echo "want: $ws|$wc|$wm"
	return 1
}
# at_backend BUCKET KEY... — every KEY exists at RGW; absent_backend: none does
at_backend() {
	local b=$1 k; shift
	for k in "$@"; do
		backend_aws s3api head-object --bucket "$b" --key "$k" >/dev/null 2>&1 ||
			{ echo "missing at the backend: $b/$k"; return 1; }
	done
}
absent_backend() {
	local b=$1 k; shift
	for k in "$@"; do
		! backend_aws s3api head-object --bucket "$b" --key "$k" >/dev/null 2>&1 ||
			{ echo "still at the backend: $b/$k"; return 1; }
	done
}
# raw_delete PROFILE BUCKET XML — a botocore-signed POST ?delete with this exact body
raw_delete() {
	local p=$1; shift
	boto3_py "$p" '
import base64, hashlib, urllib.request, urllib.error
from botocore.awsrequest import AWSRequest
from botocore.auth import S3SigV4Auth
from botocore.credentials import Credentials
body = sys.argv[2].encode()
req = AWSRequest(method="POST", url=EP + "/" + sys.argv[1] + "?delete", data=body,
    headers={"Content-MD5": base64.b64encode(hashlib.md5(body).digest()).decode(),
             "Content-Type": "application/xml"})
S3SigV4Auth(Credentials(AKID, SECRET), "s3", REGION).add_auth(req)
p = req.prepare()
try:
    r = urllib.request.urlopen(urllib.request.Request(p.url, data=body, headers=dict(p.headers), method="POST"))
    print("HTTP", r.status, r.read().decode())
except urllib.error.HTTPError as e:
    print("HTTP", e.code, e.read().decode())
' "$@"
}

# ---- setup ----------------------------------------------------------------------

setup() {
	ws_setup "$O" "$B" "$BD" "$BR" "$BX" --hidden "$BH" || return 1
	ws_setup "$U" "$BU" || return 1
	s3gate_cred "$O" owner >/dev/null && s3gate_cred "$U" user >/dev/null || return 1
	s3gate_admin grant "$B/shared/" "$U" ReadWrite || return 1
	s3gate_admin grant "$BD" "$U" WriteOnly || return 1
	mkbytes "$T/small" 3000
	mkfile "$T/big" 9
	printf 'secret %s\n' "$S" >"$T/secret"
	backend_aws s3 cp "$T/small" "s3://$B/shared/doc" &&
		backend_aws s3 cp "$T/secret" "s3://$B/private/secret" &&
		backend_aws s3 cp "$T/big" "s3://$B/shared/big" &&
		backend_aws s3 cp "$T/big" "s3://$B/private/big" || return 1
	wait_sigv4_status user "$(s3_url "$B/shared/doc")" 200 2000
}
if ready; then
	tc "setup: two workspaces, a prefix grant (shared/ ReadWrite), a WriteOnly grant" setup ||
		FAIL_WHY="setup failed"
fi

# ---- a ReadWrite prefix grant: aws s3 ------------------------------------------------

pfx_cp() {
	awsv2 user s3 cp "$T/small" "s3://$B/shared/up/one" || return 1
	at_backend "$B" shared/up/one || return 1
	awsv1 user s3 cp "s3://$B/shared/up/one" "$T/one.back" && same_file "$T/small" "$T/one.back" || return 1
	awsv2 user s3 ls "s3://$B/shared/up/" | tee /dev/stderr | grep -q ' 3000 one$' || return 1
	awsv1 user s3 ls "s3://$B/shared/" | tee /dev/stderr | grep -q 'PRE up/$'
}
tc "prefix grant: aws s3 cp up (v2) and down (v1), aws s3 ls under shared/" pfx_cp
pfx_cp_out() {
	awsv2 user s3 cp "$T/small" "s3://$B/private/new" && { echo "uploaded outside"; return 1; }
	awsv1 user s3 cp "s3://$B/private/secret" "$T/x.out" && { echo "downloaded outside"; return 1; }
	awsv2 user s3 ls "s3://$B/private/" && { echo "listed outside"; return 1; }
	absent_backend "$B" private/new
}
tc "prefix grant: aws s3 cp up/down and aws s3 ls outside shared/ refused, nothing stored" pfx_cp_out
pfx_sync() {
	mkdir -p "$T/sync/sub" && mkbytes "$T/sync/a" 1000 && mkbytes "$T/sync/sub/b" 2000 || return 1
	awsv2 user s3 sync "$T/sync" "s3://$B/shared/sync/" || return 1
	at_backend "$B" shared/sync/a shared/sync/sub/b || return 1
	awsv1 user s3 sync "s3://$B/shared/sync/" "$T/sync.back" || return 1
	diff -r "$T/sync" "$T/sync.back" || return 1
	# a second sync has nothing to do (it lists, compares, copies nothing)
	[ -z "$(awsv2 user s3 sync "$T/sync" "s3://$B/shared/sync/")" ]
}
tc "prefix grant: aws s3 sync up (v2) and down (v1) under shared/" pfx_sync
pfx_sync_out() {
	awsv2 user s3 sync "$T/sync" "s3://$B/elsewhere/" && { echo "synced outside"; return 1; }
	absent_backend "$B" elsewhere/a elsewhere/sub/b
}
tc "prefix grant: aws s3 sync to elsewhere/ refused, nothing stored" pfx_sync_out
pfx_rm() {
	awsv2 user s3 rm "s3://$B/shared/up/one" || return 1
	absent_backend "$B" shared/up/one || return 1
	awsv1 user s3 rm "s3://$B/private/secret" && { echo "removed outside"; return 1; }
	at_backend "$B" private/secret
}
tc "prefix grant: aws s3 rm inside works, outside refused (still at the backend)" pfx_rm

# ---- rclone -------------------------------------------------------------------------

pfx_rclone() {
	printf 'via rclone %s\n' "$S" >"$T/rc.txt"
	rclone_s3 user copyto "$T/rc.txt" "s3g:$B/shared/rc/rc.txt" || return 1
	rclone_s3 user cat "s3g:$B/shared/rc/rc.txt" | grep -q "via rclone $S" || return 1
	rclone_s3 user ls "s3g:$B/shared/rc" | tee /dev/stderr | grep -q ' rc.txt$' || return 1
	rclone_s3 user sync "$T/sync" "s3g:$B/shared/rcsync" || return 1
	at_backend "$B" shared/rcsync/a shared/rcsync/sub/b || return 1
	rclone_s3 user deletefile "s3g:$B/shared/rc/rc.txt" || return 1
	absent_backend "$B" shared/rc/rc.txt
}
tc "prefix grant: rclone copyto, cat, ls, sync, deletefile under shared/" pfx_rclone
pfx_rclone_out() {
	rclone_s3 user copyto "$T/rc.txt" "s3g:$B/private/rc.txt" && { echo "rclone wrote outside"; return 1; }
	rclone_s3 user cat "s3g:$B/private/secret" && { echo "rclone read outside"; return 1; }
	rclone_s3 user ls "s3g:$B" && { echo "rclone listed the whole bucket"; return 1; }
	rclone_s3 user deletefile "s3g:$B/private/secret" && { echo "rclone deleted outside"; return 1; }
	absent_backend "$B" private/rc.txt && at_backend "$B" private/secret
}
tc "prefix grant: rclone copyto, cat, ls, deletefile outside shared/ refused" pfx_rclone_out

# ---- DeleteObjects, key by key --------------------------------------------------------

put_keys() { local k; for k in "$@"; do backend_aws s3api put-object --bucket "$B" --key "$k" --body "$T/small" >/dev/null || return 1; done; }
objects_json() {
	"$PY3" -c 'import json, sys; print(json.dumps({"Objects": [{"Key": k} for k in sys.argv[1:]], "Quiet": False}))' "$@"
}
if ready; then put_keys shared/d1 shared/d2 shared/d3 private/d4; fi
tdeny "DeleteObjects (v2) naming one key outside shared/: AccessDenied naming the key" AccessDenied \
	"key \"private/d4\" is outside your grant's prefix \"shared/\"; nothing was deleted" \
	awsv2 user s3api delete-objects --bucket "$B" --delete "$(objects_json shared/d1 shared/d2 private/d4 shared/d3)"
tc "... and nothing was deleted at the backend" at_backend "$B" shared/d1 shared/d2 shared/d3 private/d4
del_inside() {
	local out
	out=$(awsv1 user s3api delete-objects --bucket "$B" --delete "$(objects_json shared/d1 shared/d2)") || return 1
	echo "$out"
	grep -q shared/d1 <<<"$out" && grep -q shared/d2 <<<"$out" || return 1
	absent_backend "$B" shared/d1 shared/d2 && at_backend "$B" shared/d3 private/d4
}
tc "DeleteObjects (v1) naming only keys inside shared/: exactly those deleted" del_inside
XK1='shared/a&b.txt' XK2='shared/<x>.txt' XK3="shared/q\"'>&amp;.txt" XKO='private/&<.txt'
if ready; then put_keys "$XK1" "$XK2" "$XK3" "$XKO"; fi
tdeny "DeleteObjects with XML-special keys, one outside (private/&<.txt): refused" AccessDenied \
	"private/&<\.txt.*nothing was deleted" \
	awsv2 user s3api delete-objects --bucket "$B" --delete "$(objects_json "$XK1" "$XKO" "$XK2")"
tc "... nothing deleted" at_backend "$B" "$XK1" "$XK2" "$XK3" "$XKO"
del_special() {
	local out
	out=$(awsv2 user s3api delete-objects --bucket "$B" --delete "$(objects_json "$XK1" "$XK2" "$XK3")") || return 1
	echo "$out"
	absent_backend "$B" "$XK1" "$XK2" "$XK3" && at_backend "$B" "$XKO"
}
tc "DeleteObjects of keys with & < > \" ' inside shared/: deleted (v2)" del_special
# Under a prefix grant s3gate reads the keys from the body as sent; an
# aws-chunked body would reach the backend with a Content-Length that is not
# its own (what follows it read as another request): refused, fail closed.
del_streaming() {
	local akid secret out body='<Delete><Object><Key>shared/doc</Key></Object></Delete>'
	read -r akid secret _ <"$T/profiles/user"
	out=$(RAW_AKID=$akid RAW_SECRET=$secret RAW_REGION=$S3_REGION \
		RAW_PAYLOAD=STREAMING-UNSIGNED-PAYLOAD-TRAILER $PY3 "$LIB_DIR/helpers/rawhttp.py" send \
		"$S3GATE_PORT" "POST /$B?delete HTTP/1.1\r\nHost: 127.0.0.1\r\nx-amz-trailer: x-amz-checksum-crc32\r\nx-amz-decoded-content-length: 25\r\n{SIG}Content-Length: ${#body}\r\n\r\n$body" \
		--wait 3 --out "$T/del_streaming") || return 1
	echo "$out"
	[ "${out%% *}" = 501 ] && at_backend "$B" shared/doc
}
tc "DeleteObjects with an aws-chunked body under a prefix grant: 501, nothing deleted" del_streaming
del_boto3() {
	boto3_py user '
r = s3.delete_objects(Bucket=sys.argv[1], Delete={"Objects": [{"Key": "shared/d3"}]})
print(r.get("Deleted"), r.get("Errors"))
assert [d["Key"] for d in r["Deleted"]] == ["shared/d3"] and not r.get("Errors")
' "$B" && absent_backend "$B" shared/d3
}
tc "DeleteObjects inside shared/ with boto3 delete_objects" del_boto3

# crafted bodies: what RGW's XML parser reads as a key must be what s3gate checked
if ready; then put_keys shared/c1 shared/c2 shared/c3 private/victim1 private/victim2 private/victim3 private/victim4; fi
crafted() {	# NAME_OF_VICTIM BODY
	local out
	out=$(raw_delete user "$B" "$2")
	echo "$out" | head -c 600; echo
	at_backend "$B" "$1" || { echo "s3gate let a DeleteObjects delete $B/$1 outside the prefix"; return 1; }
	grep -q '^HTTP 4' <<<"$out" || { echo "not refused"; return 1; }
}
tc "crafted DeleteObjects: an outside key in <Key > (space in the tag) is not deleted" crafted \
	private/victim1 "<Delete><Object><Key>shared/c1</Key></Object><Object><Key >private/victim1</Key ></Object></Delete>"
tc "crafted DeleteObjects: an outside key between XML comments is not deleted" crafted \
	private/victim2 "<Delete><Object><Key>shared/c2</Key></Object><!-- <Key>shared/x --><Object><Key>private/victim2</Key></Object><!-- </Key> --></Delete>"
tc "crafted DeleteObjects: an outside key as a CDATA section is not deleted" crafted \
	private/victim3 "<Delete><Object><Key><![CDATA[private/victim3]]></Key></Object></Delete>"
tc "crafted DeleteObjects: an outside key in a namespace-prefixed <s3:Key> is not deleted" crafted \
	private/victim4 "<Delete xmlns:s3=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Object><Key>shared/c3</Key></Object><Object><s3:Key>private/victim4</s3:Key></Object></Delete>"

# ---- CopyObject and UploadPartCopy sources ------------------------------------------------

tdeny "CopyObject from outside shared/ into the user's own bucket refused (v2)" AccessDenied "." \
	awsv2 user s3api copy-object --bucket "$BU" --key stolen --copy-source "$B/private/secret"
tc "... nothing copied" absent_backend "$BU" stolen
copy_in() {
	awsv1 user s3api copy-object --bucket "$BU" --key copied --copy-source "$B/shared/doc" >/dev/null || return 1
	backend_aws s3 cp "s3://$BU/copied" "$T/copied.back" && same_file "$T/small" "$T/copied.back"
}
tc "CopyObject from inside shared/ into the user's own bucket works (v1)" copy_in
tdeny "CopyObject into the bucket outside shared/ (from the user's own bucket) refused" AccessDenied \
	"outside your grant's prefix" \
	awsv2 user s3api copy-object --bucket "$B" --key private/planted --copy-source "$BU/copied"
tc "... nothing planted" absent_backend "$B" private/planted
copy_big_in() {	# 9 MiB > aws s3's 8 MiB threshold: CreateMultipartUpload + UploadPartCopy
	local l
	awsv2 user s3 cp "s3://$B/shared/big" "s3://$BU/bigcopy" || return 1
	backend_aws s3 cp "s3://$BU/bigcopy" "$T/bigcopy.back" && same_file "$T/big" "$T/bigcopy.back" || return 1
	l=$(alog_last "$S3GATE_DIR" "r['action']=='UploadPartCopy' and r['principal']=='$U' and r['bucket']=='$BU'") ||
		{ echo "aws s3 cp did not use UploadPartCopy: $l"; return 1; }
	echo "$l"; grep -q '"decision":"allow"' <<<"$l"
}
tc "aws s3 cp of a 9 MiB object from shared/ to the user's bucket (UploadPartCopy) works" copy_big_in
copy_big_out() {
	awsv2 user s3 cp "s3://$B/private/big" "s3://$BU/bigstolen" && { echo "copied"; return 1; }
	absent_backend "$BU" bigstolen
}
tc "aws s3 cp of a 9 MiB object from outside shared/ refused, nothing copied" copy_big_out
upc() {	# boto3 upload_part_copy: outside refused, inside allowed, on one upload
	boto3_py user '
b, bu = sys.argv[1], sys.argv[2]
up = s3.create_multipart_upload(Bucket=bu, Key="upc")["UploadId"]
try:
    s3.upload_part_copy(Bucket=bu, Key="upc", UploadId=up, PartNumber=1,
                        CopySource={"Bucket": b, "Key": "private/big"}, CopySourceRange="bytes=0-5242879")
    print("UploadPartCopy from private/ allowed"); sys.exit(1)
except ClientError as e:
    print("outside:", e.response["Error"]["Code"], e.response["Error"]["Message"])
    assert e.response["Error"]["Code"] == "AccessDenied"
    assert "outside your grant" in e.response["Error"]["Message"], e.response["Error"]["Message"]
r = s3.upload_part_copy(Bucket=bu, Key="upc", UploadId=up, PartNumber=1,
                        CopySource={"Bucket": b, "Key": "shared/big"}, CopySourceRange="bytes=0-5242879")
s3.complete_multipart_upload(Bucket=bu, Key="upc", UploadId=up, MultipartUpload={"Parts": [
    {"PartNumber": 1, "ETag": r["CopyPartResult"]["ETag"]}]})
' "$B" "$BU" || return 1
	backend_aws s3 cp "s3://$BU/upc" "$T/upc.back" && head -c 5242880 "$T/big" >"$T/upc.want" &&
		same_file "$T/upc.want" "$T/upc.back"
}
tc "boto3 upload_part_copy: source outside shared/ AccessDenied, inside copied" upc

# ---- the access log of a request allowed by a prefix grant --------------------------------

alog_pfx() {
	local l
	l=$(alog_last "$S3GATE_DIR" "r['principal']=='$U' and r['bucket']=='$B' and r['action']=='GetObject' and r['decision']=='allow'") || { echo "$l"; return 1; }
	echo "$l"
	"$PY3" -c 'import json, sys
r = json.loads(sys.argv[1])
assert r["via"] == "grant" and r["permission"] == "ReadWrite" and r["grant_prefix"] == "shared/", r
assert "grant_expires_at" not in r, "a grant without expiry logged with one"' "$l"
}
tc "access log of a GET allowed by the prefix grant: via grant, permission ReadWrite, grant_prefix shared/" alog_pfx

# ---- the whole prefix removed with aws s3 rm --recursive ----------------------------------

rm_rec() {
	local left
	awsv2 user s3 rm --recursive "s3://$B/shared/" || return 1
	left=$(backend_aws s3api list-objects-v2 --bucket "$B" --prefix shared/ --query 'Contents[].Key' --output text)
	[ -z "$left" ] || [ "$left" = None ] || { echo "left under shared/: $left"; return 1; }
	at_backend "$B" private/secret private/big private/d4 "$XKO"
}
tc "aws s3 rm --recursive s3://BUCKET/shared/ empties shared/, leaves the rest" rm_rec

# ---- a WriteOnly drop box ----------------------------------------------------------------

if ready; then mkfile "$T/mp20" 20; mkfile "$T/mp24" 24; fi
wo_small() { awsv2 user s3 cp "$T/small" "s3://$BD/in/small" && at_backend "$BD" in/small; }
tc "WriteOnly: aws s3 cp (v2) of a small file" wo_small
wo_mp() {
	local l
	awsv2 user s3 cp "$T/mp20" "s3://$BD/in/mp20" || return 1
	awsv1 user s3 cp "$T/mp24" "s3://$BD/in/mp24" || return 1
	l=$(alog_last "$S3GATE_DIR" "r['action']=='CompleteMultipartUpload' and r['principal']=='$U' and r['bucket']=='$BD'") ||
		{ echo "not a multipart upload: $l"; return 1; }
	echo "$l"
	"$PY3" -c 'import json, sys
r = json.loads(sys.argv[1])
assert r["decision"] == "allow" and r["via"] == "grant" and r["permission"] == "WriteOnly", r' "$l"
}
tc "WriteOnly: multipart aws s3 cp of 20 MiB (v2) and 24 MiB (v1); logged via grant WriteOnly" wo_mp
tdeny "WriteOnly: GET refused (v2), the message says WriteOnly" AccessDenied \
	"GetObject on bucket $BD is not allowed by a WriteOnly grant" \
	awsv2 user s3api get-object --bucket "$BD" --key in/small "$T/x.out"
wo_head() { [ "$(sigv4_status user "$(s3_url "$BD/in/small")" -I)" = 403 ]; }
tc "WriteOnly: HEAD refused (403)" wo_head
tdeny "WriteOnly: head-object refused (v1)" "Forbidden" "." awsv1 user s3api head-object --bucket "$BD" --key in/mp20
tdeny "WriteOnly: list refused (v2 list-objects-v2)" AccessDenied "WriteOnly" \
	awsv2 user s3api list-objects-v2 --bucket "$BD" --prefix in/
tdeny "WriteOnly: list-multipart-uploads refused (v2)" AccessDenied "WriteOnly" \
	awsv2 user s3api list-multipart-uploads --bucket "$BD"
tdeny "WriteOnly: delete refused (v1 s3 rm)" AccessDenied "." awsv1 user s3 rm "s3://$BD/in/small"
tdeny "WriteOnly: DeleteObjects refused (v2)" AccessDenied "WriteOnly" \
	awsv2 user s3api delete-objects --bucket "$BD" --delete "$(objects_json in/small)"
wo_owner() {
	local out
	out=$(awsv2 owner s3 ls "s3://$BD/in/") || return 1
	echo "$out"
	grep -q ' 3000 small$' <<<"$out" && grep -q " $((20 * 1048576)) mp20$" <<<"$out" &&
		grep -q " $((24 * 1048576)) mp24$" <<<"$out" || return 1
	awsv1 owner s3 cp "s3://$BD/in/mp20" "$T/mp20.back" && same_file "$T/mp20" "$T/mp20.back" &&
		awsv2 owner s3 cp "s3://$BD/in/mp24" "$T/mp24.back" && same_file "$T/mp24" "$T/mp24.back"
}
tc "WriteOnly: the owner sees and reads every file dropped (nothing was deleted)" wo_owner

# ---- denial messages, exactly ---------------------------------------------------------------

if ready; then backend_aws s3 cp "$T/secret" "s3://$BR/doc" >/dev/null; backend_aws s3 cp "$T/secret" "s3://$BX/doc" >/dev/null; fi
tc "no grant on a discoverable bucket: the Message names POST /_s3gate/requests (curl)" msg_is 403 AccessDenied \
	"Access Denied: GetObject on bucket $BR needs access you do not have. You can request access with POST /_s3gate/requests." \
	user "$(s3_url "$BR/doc")"
tdeny "no grant: aws s3api (v2) shows the message" AccessDenied \
	"ListObjectsV2 on bucket $BR needs access you do not have\. You can request access with POST /_s3gate/requests\." \
	awsv2 user s3api list-objects-v2 --bucket "$BR"
if ready; then s3gate_admin grant "$BR" "$U" ReadOnly >/dev/null && wait_sigv4_status user "$(s3_url "$BR/doc")" 200 2000 >/dev/null; fi
tc "ReadOnly grant, a write: the Message says ReadOnly (curl PUT)" msg_is 403 AccessDenied \
	"Access Denied: PutObject on bucket $BR needs write access; your grant is ReadOnly." \
	user "$(s3_url "$BR/new")" -T "$T/small"
tdeny "ReadOnly grant: aws s3api delete-object (v2) shows the message" AccessDenied \
	"DeleteObject on bucket $BR needs write access; your grant is ReadOnly" \
	awsv2 user s3api delete-object --bucket "$BR" --key doc
tc "prefix outside: the Message names the prefix (curl GET)" msg_is 403 AccessDenied \
	"Access Denied: GetObject on bucket $B names keys outside your grant's prefix \"shared/\"." \
	user "$(s3_url "$B/private/secret")"
tc "prefix outside: the Message of a listing names the prefix (curl ListObjectsV2 prefix=private/)" msg_is 403 AccessDenied \
	"Access Denied: ListObjectsV2 on bucket $B lists keys outside your grant's prefix \"shared/\"." \
	user "$(s3_url "$B")?list-type=2&prefix=private%2F"
tdeny "prefix outside: aws s3api put-object (v2) shows the message" AccessDenied \
	"PutObject on bucket $B names keys outside your grant's prefix \"shared/\"" \
	awsv2 user s3api put-object --bucket "$B" --key private/x --body "$T/small"

# an expiring grant: logged with its expiry while it works, then "expired"
EXP_AT=""
exp_grant() {
	local doc
	doc=$(s3gate_admin --json grant "$BX" "$U" ReadOnly --expires 3s) || return 1
	echo "$doc"
	EXP_AT=$("$PY3" -c 'import json, sys; print(json.loads(sys.argv[1])["expires_at"])' "$doc") || return 1
	echo "$EXP_AT" >"$T/exp_at"
	wait_sigv4_status user "$(s3_url "$BX/doc")" 200 2000
}
tc "grant --expires 3s (--json gives expires_at)" exp_grant
EXP_AT=$(cat "$T/exp_at" 2>/dev/null)
alog_exp() {
	local l
	l=$(alog_last "$S3GATE_DIR" "r['principal']=='$U' and r['bucket']=='$BX' and r['decision']=='allow'") || { echo "$l"; return 1; }
	echo "$l"
	"$PY3" -c 'import json, sys
r = json.loads(sys.argv[1])
assert r["via"] == "grant" and r["permission"] == "ReadOnly" and "grant_prefix" not in r, r
assert r.get("grant_expires_at") == sys.argv[2], (r.get("grant_expires_at"), sys.argv[2])' "$l" "$EXP_AT"
}
tc "access log of a GET allowed by the expiring grant: grant_expires_at = the grant's expires_at" alog_exp
if ready; then wait_sigv4_status user "$(s3_url "$BX/doc")" 403 5000 >/dev/null; fi
tc "expired grant: the Message says expired (curl)" msg_is 403 AccessDenied \
	"Access Denied: GetObject on bucket $BX needs access: your grant has expired." \
	user "$(s3_url "$BX/doc")"
tdeny "expired grant: aws s3api get-object (v2) shows the message" AccessDenied "your grant has expired" \
	awsv2 user s3api get-object --bucket "$BX" --key doc "$T/x.out"

# hidden = missing: whole answers, apart from the bucket's name and the request id
hidden_same() {
	boto3_py user '
import re, urllib.request, urllib.error
from botocore.awsrequest import AWSRequest
from botocore.auth import S3SigV4Auth
from botocore.credentials import Credentials
hid, nox = sys.argv[1], sys.argv[2]
assert len(hid) == len(nox)
def call(m, path, body=None, headers=None):
    req = AWSRequest(method=m, url=EP + path, data=body, headers=dict(headers or {}))
    S3SigV4Auth(Credentials(AKID, SECRET), "s3", REGION).add_auth(req)
    p = req.prepare()
    try:
        r = urllib.request.urlopen(urllib.request.Request(p.url, data=body, headers=dict(p.headers), method=m))
        st, hd, bd = r.status, r.headers, r.read()
    except urllib.error.HTTPError as e:
        st, hd, bd = e.code, e.headers, e.read()
    h = sorted((k.lower(), v) for k, v in hd.items() if k.lower() not in ("date", "x-amz-request-id", "x-amz-id-2"))
    return st, h, bd.decode()
def norm(x, b):
    st, h, bd = x
    bd = re.sub(r"<RequestId>[^<]*</RequestId>", "<RequestId/>", bd.replace(b, "BUCKET"))
    bd = re.sub(r"<HostId>[^<]*</HostId>", "<HostId/>", bd)
    return st, [(k, v.replace(b, "BUCKET")) for k, v in h], bd
dl = b"<Delete><Object><Key>k</Key></Object></Delete>"
import base64, hashlib
md5 = {"Content-MD5": base64.b64encode(hashlib.md5(dl).digest()).decode()}
cases = [("GET", "/{}/k", None, None), ("HEAD", "/{}/k", None, None), ("PUT", "/{}/k", b"x", None),
         ("DELETE", "/{}/k", None, None), ("GET", "/{}?list-type=2", None, None), ("GET", "/{}", None, None),
         ("HEAD", "/{}", None, None), ("POST", "/{}/k?uploads", None, None), ("POST", "/{}?delete", dl, md5),
         ("GET", "/{}?location", None, None), ("PUT", "/{}/k", b"x", {"x-amz-copy-source": "/" + sys.argv[3] + "/copied"})]
bad = 0
for m, path, body, hd in cases:
    a = norm(call(m, path.format(hid), body, hd), hid)
    b = norm(call(m, path.format(nox), body, hd), nox)
    tag = m + " " + path
    if a != b or a[0] < 400:
        bad += 1
        print("DIFFERENT:", tag); print("  hidden: ", a); print("  missing:", b)
    else:
        print("same:", tag, a[0], a[2][:160])
    if "_s3gate/requests" in a[2]:
        bad += 1; print("the hidden bucket hints at requests:", tag)
sys.exit(1 if bad else 0)
' "$BH" "$BN" "$BU"
}
tc "a hidden bucket and a missing one: identical answers (status, headers, body) to 11 requests" hidden_same

# ---- a link with --max-uses 2 ---------------------------------------------------------------

LINK="" LINK_ID=""
if ready; then
	mkfile "$T/lobj" 32
	backend_aws s3 cp "$T/lobj" "s3://$BU/link.bin" >/dev/null
	doc=$(s3gate_admin --json presign --principal "$U" --max-uses 2 "s3://$BU/link.bin")
	LINK=$("$PY3" -c 'import json, sys; print(json.loads(sys.argv[1])["url"])' "$doc" 2>/dev/null)
	LINK_ID=$("$PY3" -c 'import json, sys; print(json.loads(sys.argv[1])["id"])' "$doc" 2>/dev/null)
	[ -n "$LINK" ] || FAIL_WHY="presign --max-uses 2 failed: $doc"
fi
SZ=$((32 * 1048576))
# link_line FILTER — the last access-log line of the link matching FILTER
link_line() { alog_last "$S3GATE_DIR" "r.get('presign_id')=='$LINK_ID' and ($1)"; }
interrupted() {	# the first 4 MiB, then the connection is dropped (a small receive buffer: little in flight)
	local c i
	for ((i = 0; i < 10; i++)); do	# the file store learns a new link within 100 ms
		c=$(curl -s -o /dev/null -r 0-0 -w '%{http_code}' "$LINK")
		[ "$c" = 206 ] && break; sleep 0.1
	done
	"$PY3" - "$LINK" "$T/lpart" <<'EOF' || return 1
import socket, sys, urllib.parse
u = urllib.parse.urlsplit(sys.argv[1])
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
s.connect((u.hostname, u.port))
s.sendall(("GET %s?%s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n" % (u.path, u.query, u.netloc)).encode())
buf = b""
while b"\r\n\r\n" not in buf:
    buf += s.recv(65536)
head, body = buf.split(b"\r\n\r\n", 1)
assert head.startswith(b"HTTP/1.1 200"), head
want = 4 * 1048576
while len(body) < want:
    body += s.recv(min(65536, want - len(body)))
body = body[:want]
s.close()
open(sys.argv[2], "wb").write(body)
print("interrupted after", len(body), "bytes")
EOF
	cmp -n 4194304 "$T/lpart" "$T/lobj"
}
tc "link --max-uses 2: a download interrupted after 4 MiB of 32 MiB" interrupted
resume() {
	local l left
	curl -s -C - -o "$T/lpart" --max-time 60 "$LINK" || return 1
	same_file "$T/lobj" "$T/lpart" || return 1
	l=$(link_line "r['status']==206") || { echo "$l"; return 1; }
	echo "$l"
	left=$("$PY3" -c 'import json, sys; print(json.loads(sys.argv[1])["link_budget_left"])' "$l") || return 1
	# spent: 4 MiB + what was in flight when the connection dropped + 28 MiB;
	# a download charged as a whole use would leave at most 4 MiB
	echo "budget left $left of $((2 * SZ)) after the interrupted and resumed download"
	[ "$left" -ge $((SZ / 2)) ] && [ "$left" -le "$SZ" ]
}
tc "link: curl -C - resumes (206): the file is whole; the log's link_budget_left counts only the bytes fetched" resume
full_again() {
	local c
	c=$(curl -s -o "$T/lfull" -w '%{http_code}' --max-time 60 "$LINK")
	echo "HTTP $c"; [ "$c" = 200 ] && same_file "$T/lobj" "$T/lfull"
}
tc "link: a second whole download works (the resumed one spent about one use)" full_again
third() {
	local got
	got=$(curl -s -o "$T/lthird" -w '%{http_code}' --max-time 60 "$LINK")
	echo "HTTP $got"; cat "$T/lthird"; echo
	[ "$got" = 403 ] && grep -q '<Code>AccessDenied</Code>' "$T/lthird" &&
		grep -q '<Message>This link has been used as many times as it allows' "$T/lthird"
}
tc "link: then refused: 403 AccessDenied, the link has been used as many times as it allows" third
third_range() { [ "$(curl -s -o /dev/null -w '%{http_code}' -r 0-0 "$LINK")" = 403 ]; }
tc "link: a range request after the budget is spent is refused too" third_range
alog_link() {
	local l
	l=$(link_line "r['status']==200") || { echo "$l"; return 1; }
	echo "$l"
	"$PY3" -c 'import json, sys
r = json.loads(sys.argv[1])
assert r["presign_id"] == sys.argv[2] and r["principal"] == sys.argv[3], r
assert isinstance(r["link_budget_left"], int) and 0 <= r["link_budget_left"] < int(sys.argv[4]), r' \
		"$l" "$LINK_ID" "$U" "$SZ" || return 1
	l=$(link_line "r['status']==403") || { echo "$l"; return 1; }
	echo "$l"
	"$PY3" -c 'import json, sys
r = json.loads(sys.argv[1])
assert r["link_budget_left"] == 0 and r["decision"] != "allow", r' "$l"
}
tc "access log of link uses: presign_id, the issuer as principal, link_budget_left (0 when refused)" alog_link

if ready; then
	for b in "$B" "$BD" "$BR" "$BX" "$BU"; do backend_aws s3 rm --recursive "s3://$b/" >/dev/null 2>&1; done
	s3gate_stop share || t_fail "s3gate exits cleanly" "see $T/share/s3gate.log"
fi

# ---- a grant expiring mid-session on two s3gate processes sharing Redis ----------------------

if ! ready; then
	:
elif ! command -v redis-server >/dev/null; then
	SKIP_WHY="redis-server missing (make deps-test)"
elif ! redis_start "$T/redis" >/dev/null; then
	FAIL_WHY="own redis-server did not start: $(tail -n 3 "$T/redis/redis.log" 2>/dev/null)"
else
	lib_on_exit 'redis_stop "$T/redis"'
fi
if ready; then
	(umask 077 && openssl rand -hex 32 >"$T/policy.key")
	RC=("policy_store redis $REDIS_URL" "policy_secret_key $T/policy.key" "policy_cache_ttl 30s")
	if s3gate_start r1 "${RC[@]}"; then
		EP1=$S3GATE_ENDPOINT DIR1=$S3GATE_DIR CONF1=$S3GATE_CONF
	else
		FAIL_WHY="s3gate r1 (redis) did not start"
	fi
fi
RO=rown$S RU=rusr$S RB=ws-rown$S
redis_setup() {
	ws_setup "$RO" "$RB" || return 1
	s3gate_cred "$RU" ruser >/dev/null || return 1
	backend_aws s3 cp "$T/secret" "s3://$RB/doc" >/dev/null || return 1
	s3gate_start r2 "${RC[@]}" || return 1
	EP2=$S3GATE_ENDPOINT
	echo "$EP2" >"$T/ep2"
}
if ready; then
	tc "redis: two s3gate processes on one Redis store, a workspace and credentials" redis_setup ||
		FAIL_WHY="redis setup failed"
	EP2=$(cat "$T/ep2" 2>/dev/null)
	S3GATE_CONF=$CONF1 S3GATE_DIR=$DIR1
fi
REXP=""
# 12 s: what runs before the expiry (two waits of up to 1.5 s, an aws-cli v2
# and a v1 copy) took over 4 s with another test file running beside it
redis_grant() {
	local doc
	doc=$(s3gate_admin --json grant "$RB" "$RU" ReadOnly --expires 12s) || return 1
	echo "$doc"
	"$PY3" -c 'import json, sys, calendar, time
print(calendar.timegm(time.strptime(json.loads(sys.argv[1])["expires_at"], "%Y-%m-%dT%H:%M:%SZ")))' "$doc" >"$T/rexp" || return 1
	wait_sigv4_status ruser "$EP1/$RB/doc" 200 1500 && wait_sigv4_status ruser "$EP2/$RB/doc" 200 1500
}
tc "redis: grant --expires 12s; reads work on both processes" redis_grant
REXP=$(cat "$T/rexp" 2>/dev/null)
redis_cli_read() {
	S3_ENDPOINT=$EP1 awsv2 ruser s3 cp "s3://$RB/doc" "$T/r1.back" && same_file "$T/secret" "$T/r1.back" &&
		S3_ENDPOINT=$EP2 awsv1 ruser s3 cp "s3://$RB/doc" "$T/r2.back" && same_file "$T/secret" "$T/r2.back"
}
tc "redis: aws s3 cp reads through both processes before the expiry" redis_cli_read
redis_expiry() {	# polls both until both refuse; each must turn at the expiry, within a second
	# (a refusal counts as seen when its answer came, for "not before", and
	# as sent when its request was, for "within a second": a loaded
	# machine's slow requests then make neither bound fail)
	local e_ms=$((REXP * 1000)) now sent c1 c2 t1="" t2="" s1="" s2="" bad=""
	while :; do
		sent=$(date +%s%3N)
		c1=$(sigv4_status ruser "$EP1/$RB/doc"); c2=$(sigv4_status ruser "$EP2/$RB/doc")
		now=$(date +%s%3N)
		[ -z "$t1" ] && [ "$c1" = 403 ] && t1=$now s1=$sent
		[ -z "$t2" ] && [ "$c2" = 403 ] && t2=$now s2=$sent
		[ -n "$t1" ] && [ "$c1" = 200 ] && bad="process 1 served again after refusing"
		[ -n "$t2" ] && [ "$c2" = 200 ] && bad="process 2 served again after refusing"
		case "$c1 $c2" in "200 200" | "200 403" | "403 200" | "403 403") ;; *) bad="unexpected HTTP $c1 / $c2" ;; esac
		[ -n "$bad" ] && break
		[ -n "$t1" ] && [ -n "$t2" ] && break
		[ "$now" -gt $((e_ms + 3000)) ] && break
		sleep 0.05
	done
	echo "expires_at $e_ms; process 1 refused at ${t1:-never} ($((${t1:-0} - e_ms)) ms), process 2 at ${t2:-never} ($((${t2:-0} - e_ms)) ms)"
	[ -z "$bad" ] || { echo "$bad"; return 1; }
	[ -n "$t1" ] && [ -n "$t2" ] || return 1
	# not before the expiry (50 ms for the clocks of curl's request), and within a second after
	[ "$t1" -ge $((e_ms - 50)) ] && [ "$t2" -ge $((e_ms - 50)) ] &&
		[ "$s1" -le $((e_ms + 1000)) ] && [ "$s2" -le $((e_ms + 1000)) ]
}
tc "redis: both processes refuse within a second after the expiry (not before)" redis_expiry
tc "redis: process 1's refusal says expired" msg_is 403 AccessDenied \
	"Access Denied: GetObject on bucket $RB needs access: your grant has expired." ruser "$EP1/$RB/doc"
tc "redis: process 2's refusal says expired" msg_is 403 AccessDenied \
	"Access Denied: GetObject on bucket $RB needs access: your grant has expired." ruser "${EP2:-http://x}/$RB/doc"
on2() { S3_ENDPOINT=${EP2:-http://x} "$@"; }
tdeny "redis: aws s3api (v2) on process 2 shows the expired message" AccessDenied "your grant has expired" \
	on2 awsv2 ruser s3api get-object --bucket "$RB" --key doc "$T/x.out"
if ready; then
	backend_aws s3 rm --recursive "s3://$RB/" >/dev/null 2>&1
	s3gate_stop r2 || t_fail "s3gate r2 exits cleanly" "see $T/r2/s3gate.log"
	s3gate_stop r1 || t_fail "s3gate r1 exits cleanly" "see $T/r1/s3gate.log"
fi
exit 0
