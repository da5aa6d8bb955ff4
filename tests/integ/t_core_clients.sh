#!/bin/bash
# The users' real clients through s3gate, against Ceph RGW: aws-cli v1 and
# v2, rclone, s3cmd, boto3, curl --aws-sigv4, presigned links; and what the
# proxy must refuse.  Workspaces (own principals, own buckets):
#   ws-tina: tina owns ws-tina and ws-tina-data
#   ws-uma:  uma owns ws-uma           (tina may not use it, nor uma tina's)
. "$(dirname "$0")/lib.sh"

B=ws-tina
B2=ws-tina-data
BU=ws-uma
UKEY="dir/a b+c ü.txt"	# space, '+', unicode

SKIP_WHY=""	# set: every test is a skip
FAIL_WHY=""	# set: every test fails with this reason (the proxy did not come up)


# ---- setup -------------------------------------------------------------------

if ! s3gate_have && [ "$S3GATE_DIRECT_RGW" != 1 ]; then
	SKIP_WHY="$(basename "$S3GATE_BIN")/s3gate not built"
elif ! s3gate_start core; then
	FAIL_WHY="s3gate did not start (see $T/core/s3gate.log)"
fi

# Workspaces: `s3gate-admin sync` makes the buckets at the backend.  Should
# sync fail, the test goes on with buckets made directly at the backend and
# the Storage file dropped into the policy folder (reported as a failure).
setup_workspaces() {
	storage_doc tina "$B" "$B2" >"$T/ws-tina.yaml"
	storage_doc uma "$BU" >"$T/ws-uma.yaml"
	{ cat "$T/ws-tina.yaml"; echo ---; cat "$T/ws-uma.yaml"; } >"$T/storage.yaml"
	if [ "$S3GATE_DIRECT_RGW" = 1 ]; then
		ws_setup tina "$B" "$B2" && ws_setup uma "$BU"
		return
	fi
	s3gate_sync "$T/storage.yaml"
}
sync_fallback() {
	local b
	for b in "$B" "$B2" "$BU"; do
		backend_aws s3api head-bucket --bucket "$b" >/dev/null 2>&1 ||
			backend_aws s3api create-bucket --bucket "$b" >/dev/null
	done
	cp "$T/storage.yaml" "$S3GATE_POLICY_DIR/storage.yaml"
	kill -HUP "$S3GATE_PID" 2>/dev/null
	sleep 1.5
}
buckets_at_backend() {
	local b
	for b in "$B" "$B2" "$BU"; do backend_aws s3api head-bucket --bucket "$b" || return 1; done
}
if ready; then
	tc "s3gate-admin sync creates the workspaces" setup_workspaces || sync_fallback
	tc "the workspace buckets exist at the backend" buckets_at_backend
	if ! { s3gate_cred tina && s3gate_cred uma; } >"$T/cred.out" 2>&1; then
		FAIL_WHY="s3gate-admin cred create failed: $(tail -n 3 "$T/cred.out" | tr '\n' ' ')"
	else
		t_pass "s3gate-admin cred create tina, uma"
		read -r TINA_AKID _ <"$T/profiles/tina"
		profile_set tina-badsecret "$TINA_AKID" "0123456789abcdefghijklmnopqrstuvwxyzABCD"
		profile_set nobody "AKIANOSUCHKEY0000000" "0123456789abcdefghijklmnopqrstuvwxyzABCD"
		read -r _ TINA_SECRET _ <"$T/profiles/tina"
		PROFILE_S3V4=0 profile_set tina-defaults "$TINA_AKID" "$TINA_SECRET"
	fi
fi
if ready; then
	mkfile "$T/big" 120
	mkbytes "$T/small" 4096
	mkfile "$T/mid" 12
	printf 'unicode key content %s\n' "$(rand_id)" >"$T/ukey"
fi

# ---- aws-cli v1 and v2 -------------------------------------------------------

# upload_download CLIENT PREFIX: a 120 MiB multipart upload (ETag "...-N")
# and the download, byte for byte
upload_download() {
	local c=$1 k=$2/big etag
	$c tina s3 cp "$T/big" "s3://$B/$k" || return 1
	etag=$($c tina s3api head-object --bucket "$B" --key "$k" --query ETag --output text) || return 1
	echo "ETag $etag"
	case $etag in *-[0-9]*) ;; *) echo "not a multipart ETag"; return 1 ;; esac
	$c tina s3 cp "s3://$B/$k" "$T/$2.back" || return 1
	same_file "$T/big" "$T/$2.back"
	local rc=$?
	rm -f "$T/$2.back"
	return $rc
}
backend_intact() {	# the object as stored at RGW, read with the service credentials
	backend_aws s3api get-object --bucket "$B" --key "$1" "$T/backend.out" >/dev/null || return 1
	same_file "$2" "$T/backend.out"
	local rc=$?
	rm -f "$T/backend.out"
	return $rc
}
listing() {	# CLIENT PREFIX: aws s3 ls shows the keys with their sizes
	local out
	out=$($1 tina s3 ls "s3://$B/$2/") || return 1
	echo "$out"
	grep -Eq "^[0-9-]+ [0-9:]+ +125829120 big$" <<<"$out"
}
list_buckets() {	# ListBuckets: exactly the buckets tina may use
	local out
	out=$($1 tina s3 ls) || return 1
	echo "$out"
	grep -q " $B\$" <<<"$out" && grep -q " $B2\$" <<<"$out" && ! grep -q " $BU\$" <<<"$out"
}
server_copy() {	# CLIENT SRC DSTBUCKET DSTKEY: server-side copy, then compare
	$1 tina s3 cp "s3://$B/$2" "s3://$3/$4" || return 1
	$1 tina s3 cp "s3://$3/$4" "$T/copy.back" || return 1
	same_file "$T/big" "$T/copy.back"
	local rc=$?
	rm -f "$T/copy.back"
	return $rc
}
small_copy() {	# CopyObject (one request: the object is small)
	$1 tina s3 cp "$T/small" "s3://$B/small/$1" &&
		$1 tina s3api copy-object --bucket "$B2" --key "small/$1-copy" --copy-source "$B/small/$1" &&
		$1 tina s3 cp "s3://$B2/small/$1-copy" "$T/small.back" &&
		same_file "$T/small" "$T/small.back"
}
range_get() {	# CLIENT PREFIX: bytes=100-199 of the 120 MiB object
	$1 tina s3api get-object --bucket "$B" --key "$2/big" --range bytes=100-199 "$T/range.out" >/dev/null || return 1
	dd if="$T/big" of="$T/range.want" bs=1 skip=100 count=100 status=none
	same_file "$T/range.want" "$T/range.out"
}
delete_objects() {	# CLIENT: DeleteObjects of two keys, then aws s3 rm --recursive
	local k out
	for k in a b c; do $1 tina s3 cp "$T/small" "s3://$B/del-$1/$k" || return 1; done
	$1 tina s3api delete-objects --bucket "$B" \
		--delete "{\"Objects\":[{\"Key\":\"del-$1/a\"},{\"Key\":\"del-$1/b\"}]}" || return 1
	out=$($1 tina s3api list-objects-v2 --bucket "$B" --prefix "del-$1/" --query 'Contents[].Key' --output text) || return 1
	echo "left: $out"
	[ "$out" = "del-$1/c" ] || return 1
	$1 tina s3 rm --recursive "s3://$B/del-$1/" || return 1
	out=$(backend_aws s3api list-objects-v2 --bucket "$B" --prefix "del-$1/" --query 'Contents[].Key' --output text)
	echo "left at the backend: $out"
	[ "$out" = None ] || [ -z "$out" ]
}
unicode_key() {	# CLIENT: put and get back "dir/a b+c ü.txt"; the backend has that very key
	$1 tina s3 cp "$T/ukey" "s3://$B/$1/$UKEY" || return 1
	$1 tina s3 cp "s3://$B/$1/$UKEY" "$T/ukey.back" || return 1
	same_file "$T/ukey" "$T/ukey.back" || return 1
	$1 tina s3 ls "s3://$B/$1/dir/" | grep -qF "a b+c ü.txt" || { echo "not listed"; return 1; }
	backend_intact "$1/$UKEY" "$T/ukey"
}
presign_get() {	# CLIENT: a presigned link, fetched by plain curl
	local url code
	url=$($1 tina s3 presign "s3://$B/v1/small" --expires-in 300) || return 1
	code=$(curl -s -o "$T/presign.out" -w '%{http_code}' --max-time 30 "$url")
	echo "HTTP $code for $url"
	[ "$code" = 200 ] && same_file "$T/small" "$T/presign.out"
}
presign_v1_default() {	# aws-cli v1's default `s3 presign` (a SigV2 query link): served, and
	# refused once the key is changed
	local url code
	url=$(awsv1 tina-defaults s3 presign "s3://$B/v1/small" --expires-in 300) || return 1
	code=$(curl -s -o "$T/presign.out" -w '%{http_code}' --max-time 30 "$url")
	echo "HTTP $code for $url"
	[ "$code" = 200 ] || { head -c 600 "$T/presign.out"; echo; return 1; }
	same_file "$T/small" "$T/presign.out" || return 1
	url=${url/\/v1\/small\?//v1/big?}
	code=$(curl -s -o "$T/presign.out" -w '%{http_code}' --max-time 30 "$url")
	echo "HTTP $code for $url"
	[ "$code" = 403 ] || { head -c 300 "$T/presign.out" | tr -c '[:print:]\n' '?'; echo; return 1; }
}
presign_tampered() {	# CLIENT: the same link with another key: 403
	local url code
	url=$($1 tina s3 presign "s3://$B/v1/small" --expires-in 300) || return 1
	url=${url/\/v1\/small\?//v1/big?}
	code=$(curl -s -o "$T/presign.out" -w '%{http_code}' --max-time 30 "$url")
	echo "HTTP $code for $url"; head -c 600 "$T/presign.out" | tr -c '[:print:]\n' '?'; echo
	[ "$code" = 403 ]
}

for c in awsv1 awsv2; do
	v=${c#aws}
	if [ "$c" = awsv1 ] && [ -z "$AWSV1" ]; then t_skip "aws-cli v1" "not installed"; continue; fi
	if [ "$c" = awsv2 ] && [ -z "$AWSV2" ]; then t_skip "aws-cli v2" "not installed"; continue; fi
	tc "$v: 120 MiB multipart upload and download" upload_download "$c" "$v"
	tc "$v: the object at the backend is intact" backend_intact "$v/big" "$T/big"
	ready && $c tina s3 cp "$T/small" "s3://$B/v1/small" >/dev/null 2>&1
	tc "$v: aws s3 ls lists keys and sizes" listing "$c" "$v"
	tc "$v: ListBuckets shows exactly tina's buckets" list_buckets "$c"
	tc "$v: server-side multipart copy within a bucket" server_copy "$c" "$v/big" "$B" "$v/big-copy"
	tc "$v: server-side copy to another bucket" server_copy "$c" "$v/big" "$B2" "$v/big-copy"
	tc "$v: CopyObject of a small object" small_copy "$c"
	tc "$v: range GET bytes=100-199" range_get "$c" "$v"
	tc "$v: DeleteObjects and s3 rm --recursive" delete_objects "$c"
	tc "$v: key with space, + and unicode" unicode_key "$c"
	tc "$v: aws s3 presign link fetched with curl" presign_get "$c"
	tc "$v: presigned link with another key is refused (403)" presign_tampered "$c"
	[ "$c" = awsv1 ] && tc "v1: presign with v1's defaults (SigV2 link) works, tampered 403" presign_v1_default
	tcode "$v: a wrong secret gets SignatureDoesNotMatch" SignatureDoesNotMatch \
		"$c" tina-badsecret s3api list-objects-v2 --bucket "$B"
	tcode "$v: an unknown access key gets InvalidAccessKeyId" InvalidAccessKeyId \
		"$c" nobody s3api list-objects-v2 --bucket "$B"
	tcode "$v: tina may not list uma's bucket" AccessDenied "$c" tina s3api list-objects-v2 --bucket "$BU"
	tcode "$v: tina may not put into uma's bucket" AccessDenied \
		"$c" tina s3api put-object --bucket "$BU" --key x --body "$T/small"
	ready && [ "$c" = awsv1 ] && backend_aws s3 cp "$T/small" "s3://$BU/secret" >/dev/null 2>&1
	tcode "$v: tina may not get from uma's bucket" AccessDenied \
		"$c" tina s3api get-object --bucket "$BU" --key secret "$T/denied.out"
	tcode "$v: uma may not get from tina's bucket" AccessDenied \
		"$c" uma s3api get-object --bucket "$B" --key v1/small "$T/denied.out"
	tcode "$v: tina may not copy out of uma's bucket" AccessDenied \
		"$c" tina s3api copy-object --bucket "$B" --key stolen --copy-source "$BU/secret"
done
ready && backend_aws s3 rm --recursive "s3://$B2/" >/dev/null 2>&1

# ---- rclone --------------------------------------------------------------------

rclone_basics() {	# copy a folder (one object multipart: 5 MiB cut-off), ls, check, back
	rm -rf "$T/rc" "$T/rc.back"; mkdir -p "$T/rc/sub"
	cp "$T/small" "$T/rc/small"; cp "$T/mid" "$T/rc/sub/mid"; cp "$T/ukey" "$T/rc/sub/a b+c ü.txt"
	rclone_s3 tina copy --s3-upload-cutoff 5M --s3-chunk-size 5M "$T/rc" "s3g:$B/rclone" || return 1
	rclone_s3 tina ls "s3g:$B/rclone" || return 1
	rclone_s3 tina check "$T/rc" "s3g:$B/rclone" || return 1
	rclone_s3 tina copy "s3g:$B/rclone" "$T/rc.back" || return 1
	diff -r "$T/rc" "$T/rc.back" && backend_intact "rclone/sub/mid" "$T/mid"
}
rclone_unicode() {
	rclone_s3 tina copyto "$T/ukey" "s3g:$B/rclone-u/$UKEY" &&
		rclone_s3 tina cat "s3g:$B/rclone-u/$UKEY" >"$T/ukey.back" &&
		same_file "$T/ukey" "$T/ukey.back" && backend_intact "rclone-u/$UKEY" "$T/ukey"
}
rclone_denied() { ! rclone_s3 tina ls "s3g:$BU"; }
tc "rclone: copy, ls, check, copy back" rclone_basics
tc "rclone: key with space, + and unicode" rclone_unicode
tc "rclone: tina cannot list uma's bucket" rclone_denied

# ---- s3cmd ---------------------------------------------------------------------

s3cmd_basics() {	# put (12 MiB: multipart at --multipart-chunk-size-mb=5), ls, get
	s3cmd_s3 tina put --multipart-chunk-size-mb=5 "$T/mid" "s3://$B/s3cmd/mid" || return 1
	s3cmd_s3 tina put "$T/small" "s3://$B/s3cmd/small" || return 1
	s3cmd_s3 tina ls "s3://$B/s3cmd/" | tee /dev/stderr | grep -q "s3://$B/s3cmd/mid" || return 1
	rm -f "$T/mid.back"
	s3cmd_s3 tina get "s3://$B/s3cmd/mid" "$T/mid.back" || return 1
	same_file "$T/mid" "$T/mid.back" && backend_intact s3cmd/mid "$T/mid"
}
s3cmd_unicode() {
	rm -f "$T/ukey.back"
	s3cmd_s3 tina put "$T/ukey" "s3://$B/s3cmd/$UKEY" &&
		s3cmd_s3 tina get "s3://$B/s3cmd/$UKEY" "$T/ukey.back" &&
		same_file "$T/ukey" "$T/ukey.back" && backend_intact "s3cmd/$UKEY" "$T/ukey"
}
tc "s3cmd: put (multipart), ls, get" s3cmd_basics
tc "s3cmd: key with space, + and unicode" s3cmd_unicode
tcode "s3cmd: tina cannot list uma's bucket" AccessDenied s3cmd_s3 tina ls "s3://$BU/"

# ---- boto3 ---------------------------------------------------------------------

boto3_basics() {
	boto3_py tina '
b, small, mid, ukey, tmp = sys.argv[1:6]
data = open(small, "rb").read()
s3.put_object(Bucket=b, Key="boto3/small", Body=data)
assert s3.get_object(Bucket=b, Key="boto3/small")["Body"].read() == data, "small differs"
cfg = TransferConfig(multipart_threshold=5 << 20, multipart_chunksize=5 << 20)
s3.upload_file(mid, b, "boto3/mid", Config=cfg)
s3.download_file(b, "boto3/mid", tmp, Config=cfg)
assert open(tmp, "rb").read() == open(mid, "rb").read(), "mid differs"
head = s3.head_object(Bucket=b, Key="boto3/mid")
assert "-" in head["ETag"], "not multipart: " + head["ETag"]
u = open(ukey, "rb").read()
s3.put_object(Bucket=b, Key="boto3/" + os.environ["UKEY"], Body=u)
assert s3.get_object(Bucket=b, Key="boto3/" + os.environ["UKEY"])["Body"].read() == u
keys = [o["Key"] for o in s3.list_objects_v2(Bucket=b, Prefix="boto3/")["Contents"]]
print(keys)
assert sorted(keys) == sorted(["boto3/small", "boto3/mid", "boto3/" + os.environ["UKEY"]]), keys
r = s3.get_object(Bucket=b, Key="boto3/mid", Range="bytes=5242870-5242889")["Body"].read()
assert r == open(mid, "rb").read()[5242870:5242890], "range differs"
' "$B" "$T/small" "$T/mid" "$T/ukey" "$T/mid.back" && backend_intact boto3/mid "$T/mid"
}
boto3_location() {	# CompleteMultipartUpload's Location: the URL addressed, not RGW's
	local key="boto3/loc a+b&<c>"
	boto3_cmu_location tina "$B" "$key" "${S3_ENDPOINT:-$S3GATE_ENDPOINT}/$B/$(urlenc "$key")"
}
boto3_denied() {
	boto3_py tina '
try:
    s3.list_objects_v2(Bucket=sys.argv[1])
except ClientError as e:
    print(e.response["Error"]["Code"], e.response["Error"].get("Message"))
    sys.exit(1)
' "$BU"
}
boto3_presign() {	# generate_presigned_url, fetched by curl
	local url code
	url=$(boto3_py tina 'print(s3.generate_presigned_url("get_object", Params={"Bucket": sys.argv[1], "Key": "boto3/small"}, ExpiresIn=300))' "$B") || return 1
	code=$(curl -s -o "$T/presign.out" -w '%{http_code}' --max-time 30 "$url")
	echo "HTTP $code for $url"
	[ "$code" = 200 ] && same_file "$T/small" "$T/presign.out"
}
export UKEY
tc "boto3: put/get/list, multipart upload_file, download_file, range" boto3_basics
tc "boto3: CompleteMultipartUpload's Location is the URL addressed, not the backend's" boto3_location
tcode "boto3: tina cannot list uma's bucket" AccessDenied boto3_denied
tc "boto3: generate_presigned_url fetched with curl" boto3_presign

# ---- curl --aws-sigv4 ----------------------------------------------------------

curl_put_get() {	# MODE: unsigned | signed payload
	local k=curl/$1 code
	if [ "$1" = signed ]; then
		CURL_PAYLOAD_HASH=$(sha256sum "$T/mid" | cut -d' ' -f1)
	else
		CURL_PAYLOAD_HASH=UNSIGNED-PAYLOAD
	fi
	code=$(curl_sigv4 tina -o "$T/curl.out" -w '%{http_code}' -T "$T/mid" "$(s3_url "$B/$k")")
	echo "PUT: HTTP $code"; cat "$T/curl.out"
	[ "$code" = 200 ] || return 1
	CURL_PAYLOAD_HASH=UNSIGNED-PAYLOAD
	code=$(curl_sigv4 tina -o "$T/curl.out" -w '%{http_code}' "$(s3_url "$B/$k")")
	echo "GET: HTTP $code"
	[ "$code" = 200 ] && same_file "$T/mid" "$T/curl.out" && backend_intact "$k" "$T/mid"
}
curl_unicode() {
	local code
	code=$(curl_sigv4 tina -o "$T/curl.out" -w '%{http_code}' -T "$T/ukey" "$(s3_url "$B/curl/$UKEY")")
	echo "PUT: HTTP $code"; [ "$code" = 200 ] || return 1
	code=$(curl_sigv4 tina -o "$T/curl.out" -w '%{http_code}' "$(s3_url "$B/curl/$UKEY")")
	echo "GET: HTTP $code"
	[ "$code" = 200 ] && same_file "$T/ukey" "$T/curl.out" && backend_intact "curl/$UKEY" "$T/ukey"
}
curl_denied() { curl_sigv4 tina --fail-with-body "$(s3_url "$BU/secret")"; }
tc "curl --aws-sigv4: PUT (UNSIGNED-PAYLOAD) and GET" curl_put_get unsigned
tc "curl --aws-sigv4: PUT (signed payload hash) and GET" curl_put_get signed
tc "curl --aws-sigv4: key with space, + and unicode" curl_unicode
tcode "curl --aws-sigv4: tina cannot get from uma's bucket" AccessDenied curl_denied

# ---- an upload cut off half way leaves nothing behind -----------------------

# A signed PUT announcing 50 MiB; 10 MiB are sent, then the connection closes.
cut_off_upload() {
	boto3_py tina '
import hashlib, socket, time, urllib.parse
from botocore.awsrequest import AWSRequest
from botocore.auth import S3SigV4Auth
from botocore.credentials import Credentials
b, k = sys.argv[1], sys.argv[2]
body = os.urandom(50 << 20)
url = EP + "/" + b + "/" + k
req = AWSRequest(method="PUT", url=url, data=body)
req.headers["Content-Length"] = str(len(body))
S3SigV4Auth(Credentials(AKID, SECRET), "s3", REGION).add_auth(req)
u = urllib.parse.urlsplit(url)
head = "PUT %s HTTP/1.1\r\nHost: %s\r\n" % (u.path, u.netloc)
head += "".join("%s: %s\r\n" % (h, v) for h, v in req.headers.items() if h.lower() != "host")
s = socket.create_connection((u.hostname, u.port))
s.sendall(head.encode() + b"\r\n")
s.sendall(body[:10 << 20])
time.sleep(0.5)
s.close()
print("sent 10 of 50 MiB and closed")
' "$B" cut/partial || return 1
	sleep 3
	if backend_aws s3api head-object --bucket "$B" --key cut/partial 2>&1; then
		echo "the backend holds cut/partial"; return 1
	fi
	backend_aws s3api head-object --bucket "$B" --key cut/partial 2>&1 | grep -q 404
}
still_serves() { awsv2 tina s3api head-object --bucket "$B" --key v1/small >/dev/null; }
tc "an upload cut off half way leaves no object at the backend" cut_off_upload
tc "the proxy still serves after the cut-off upload" still_serves

# ---- clean up: the backend keeps tina's data in memory ------------------------
if ready; then
	backend_aws s3 rm --recursive "s3://$B/" >/dev/null 2>&1
	backend_aws s3 rm --recursive "s3://$BU/" >/dev/null 2>&1
fi
exit 0
