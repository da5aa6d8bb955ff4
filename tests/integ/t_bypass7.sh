#!/bin/bash
# Seventh audit: the self-service API's grant and revoke against a policy
# that changes while the call waits for the store; each call SigV4-signed
# by the user (curl --aws-sigv4), against the real RGW, and what the store
# and RGW hold afterwards read with s3gate-admin and the service key.
#
# Found and fixed:
#   POST /_s3gate/grants and DELETE /_s3gate/grants/B/P checked that the
#     caller owns B's workspace from the proxy's cached view, then ran the
#     admin command on the jobs thread, which waited for the store's lock
#     and changed whatever the store then held, whoever owned it: a call
#     made as a sync (or another change) held the lock and gave the bucket
#     to another workspace granted the former owner's choice of principal
#     ReadWrite on the new owner's bucket, and revoked the new owner's
#     grants.  Now the command gets the caller (--owner) and checks again,
#     under the lock, on the model it changes: 403, nothing changed.
#   a plain (not aws-chunked) PUT with an x-amz-checksum-crc32/crc32c/
#     sha1/sha256 header that did not match the body was stored (200):
#     s3gate relayed the header unverified and Ceph pacific ignores it (S3
#     answers 400 BadDigest).  Now s3gate checks it: such a body is copied,
#     summed on the way, its last byte held back until the sum matched, as
#     for aws-chunked; an empty or in-memory body is checked before the
#     backend is asked.
# Tried and held (each checked below):
#   a link the former owner issued before the move: refused after it;
#   the former owner's grant and revoke after the move, the store not
#     locked: 403 (the proxy's own check); the new owner's grant through
#     the API right after the move: 200, served;
#   the API with other methods (PUT, GET, PATCH on /_s3gate/grants) and a
#     grant with a nested object or a number for "permission": refused,
#     nothing granted;
#   plain PUTs: a wrong Content-MD5, a body that is not the signed
#     x-amz-content-sha256 -- 400, nothing stored at RGW;
#   a link under a prefix grant "p%41/": issued for p%41/doc and serving
#     it; one for pA/doc refused at issue; the link's path respelled as
#     pA/doc, p%41/doc (decoded: pA) or p%252541/doc -- 403.
# Read in the code, held: grants stand on the owner's Storage resource
#   (storage.c), so an API revocation never meets a hand-written grant it
#   could not rewrite; presign, request and bucket create check under the
#   lock already.
# Workspaces (own principals): ws-b7o (b7o, the first owner of ws-b7o-x),
#   ws-b7n (b7n, who gets ws-b7o-x from the operator's sync; b7g its
#   grantee), b7a (the former owner's friend, no workspace).
. "$(dirname "$0")/lib.sh"

SECRET_TEXT="the secret of b7n $(rand_id)"
O=ws-b7o
X=ws-b7o-x
N=ws-b7n

need_s3gate "bypass7" "checks s3gate's own decisions: not meaningful against RGW"

PORT7=$(free_port)
s3gate_start b7 "workers 1" "listen 127.0.0.1:$PORT7" "public_url http://127.0.0.1:$PORT7" ||
	{ t_fail "s3gate starts" "see $T/b7/s3gate.log"; exit 1; }
setup() {
	ws_setup b7o "$O" "$X" && ws_setup b7n "$N" &&
		s3gate_cred b7o >/dev/null && s3gate_cred b7n >/dev/null &&
		s3gate_cred b7g >/dev/null && s3gate_cred b7a >/dev/null &&
		printf '%s\n' "$SECRET_TEXT" >"$T/secret" &&
		backend_aws s3api put-object --bucket "$X" --key doc --body "$T/secret" >/dev/null
}
if ! setup >"$T/setup.out" 2>&1; then
	t_fail "setup: workspaces, credentials, objects" "$(tail -n 20 "$T/setup.out")"; exit 1
fi
api() {	# api PROFILE METHOD PATH [JSON] -- prints the HTTP status
	local p=$1 m=$2 path=$3
	if [ $# -ge 4 ]; then
		curl_sigv4 "$p" -o "$T/api.body" -w '%{http_code}' --max-time 20 -X "$m" \
			-H 'content-type: application/json' --data-binary "$4" "$S3GATE_ENDPOINT$path"
	else
		curl_sigv4 "$p" -o "$T/api.body" -w '%{http_code}' --max-time 20 -X "$m" "$S3GATE_ENDPOINT$path"
	fi
}
has_grant() { s3gate_admin who "$1" 2>/dev/null | grep -qw "$2"; }

# ---- the operator's sync gives ws-b7o-x to ws-b7n while b7o's calls wait ------------------
# The sync is made on a copy of the policy folder; a process holding the
# store's lock puts its state file in place and lets go: exactly what the
# calls meet when the operator's sync takes the lock first.
SCR=$T/scratch
cp -a "$S3GATE_POLICY_DIR" "$SCR"
sed "s|^policy_store file .*|policy_store file $SCR|" "$S3GATE_CONF" >"$T/scratch.conf"
# A bucket that held one workspace's data goes to another only through
# the operator's release (t_bypass18): a sync drops it from $O, the
# release hands it over, the next sync gives it to $N.
storage_doc b7o "$O" >"$T/drop.yaml"
echo "---" >>"$T/drop.yaml"
storage_doc b7n "$N" >>"$T/drop.yaml"
storage_doc b7o "$O" >"$T/after.yaml"
echo "---" >>"$T/after.yaml"
storage_doc b7n "$N" "$X" >>"$T/after.yaml"
if "$S3GATE_BIN/s3gate-admin" -c "$T/scratch.conf" sync "$T/drop.yaml" >"$T/scratch.out" 2>&1 &&
	"$S3GATE_BIN/s3gate-admin" -c "$T/scratch.conf" bucket release "$X" >>"$T/scratch.out" 2>&1 &&
	"$S3GATE_BIN/s3gate-admin" -c "$T/scratch.conf" sync "$T/after.yaml" >>"$T/scratch.out" 2>&1 &&
	"$S3GATE_BIN/s3gate-admin" -c "$T/scratch.conf" grant "$X" b7g ReadOnly >>"$T/scratch.out" 2>&1; then
	t_pass "setup: the sync moving $X to $N, and $N's owner's grant to b7g, made on a copy"
else
	t_fail "setup: the sync moving $X to $N on a copy" "$(tail -n 5 "$T/scratch.out")"; exit 1
fi
# control: before the move, b7o (the owner) grants b7g something it will lose in the move
api b7o POST /_s3gate/grants '{"bucket":"'"$X"'","principal":"b7g","permission":"ReadOnly"}' >"$T/c0"
c0=$(cat "$T/c0")
[ "$c0" = 200 ] && has_grant "$X" b7g && t_pass "control: b7o, the owner of $X, grants through the API (200)" ||
	t_fail "control: b7o, the owner of $X, grants through the API" "HTTP $c0: $(head -c 300 "$T/api.body")"
# a link b7o issues before the move: after it, b7o's grant is gone, so is the link's
c=$(api b7o POST /_s3gate/presign '{"bucket":"'"$X"'","key":"doc","method":"GET","expires":"1h"}')
LINK=$("$PY3" -c 'import json,sys; print(json.load(open(sys.argv[1]))["url"])' "$T/api.body" 2>/dev/null)
lc=$(curl -s -o "$T/link.out" -w '%{http_code}' --max-time 10 "$LINK")
[ "$c" = 200 ] && [ "$lc" = 200 ] && t_pass "control: b7o's link to $X/doc, issued through the API, serves (200)" ||
	t_fail "control: b7o's link to $X/doc serves" "presign HTTP $c, link HTTP $lc"
# The holder has the lock before the calls are sent (lock.held) and lets
# go once both calls are at the proxy (lock.free), however slow the machine.
rm -f "$T/lock.held" "$T/lock.free"
( flock "$S3GATE_POLICY_DIR/.s3gate.lock" sh -c "touch '$T/lock.held'; i=0
	while [ ! -e '$T/lock.free' ] && [ \$i -lt 300 ]; do sleep 0.1; i=\$((i + 1)); done
	cp '$SCR/s3gate-state.json' '$S3GATE_POLICY_DIR/.b7.tmp' &&
	mv '$S3GATE_POLICY_DIR/.b7.tmp' '$S3GATE_POLICY_DIR/s3gate-state.json'" ) &
LOCKER=$!
wait_for 10 test -e "$T/lock.held" || t_fail "the policy store's lock is taken" "flock did not start"
api b7o POST /_s3gate/grants '{"bucket":"'"$X"'","principal":"b7a","permission":"ReadWrite"}' >"$T/g1" &
G1=$!
sleep 0.3
curl_sigv4 b7o -o "$T/r1.body" -w '%{http_code}' --max-time 20 -X DELETE "$S3GATE_ENDPOINT/_s3gate/grants/$X/b7g" >"$T/r1" &
R1=$!
# both calls' connections open at the proxy, then a moment to read and check them
both_in() { [ "$(curl -s --max-time 5 "$S3GATE_ADMIN_URL/metrics" |
	awk '$1 ~ /^s3gate_worker_connections/ { n += $2 } END { print n + 0 }')" -ge 2 ]; }
wait_for 10 both_in || echo "# the two calls' connections were not seen open at the proxy"
sleep 0.5
touch "$T/lock.free"
wait $LOCKER $G1 $R1
g1=$(cat "$T/g1") r1=$(cat "$T/r1")
sleep 1.2	# the proxy's poll of the policy folder
if s3gate_admin who "$X" 2>/dev/null | grep -qw "b7n" && ! s3gate_admin who "$X" 2>/dev/null | grep -qw "b7o"; then
	t_pass "the move took effect: $X is $N's"
else
	t_fail "the move took effect: $X is $N's" "$(s3gate_admin who "$X" 2>&1 | head -n 5 | tr '\n' ';')"
fi
b7a_get=$(sigv4_status b7a "$(s3_url "$X/doc")")
if [ "$g1" = 403 ] && ! has_grant "$X" b7a && [ "$b7a_get" = 403 ]; then
	t_pass "b7o's grant to b7a, checked before the move and carried out after it: 403, nothing granted, b7a's GET 403"
else
	t_fail "b7o's grant to b7a across the move refused" \
		"HTTP $g1 ($(head -c 200 "$T/api.body" 2>/dev/null)); b7a in who: $(has_grant "$X" b7a && echo yes || echo no); b7a GET $b7a_get"
fi
b7g_get=$(sigv4_status b7g "$(s3_url "$X/doc")")
if [ "$r1" = 403 ] && has_grant "$X" b7g && [ "$b7g_get" = 200 ]; then
	t_pass "b7o's revocation of b7g across the move: 403, $N's grant to b7g kept (b7g's GET 200)"
else
	t_fail "b7o's revocation of b7g across the move refused" \
		"HTTP $r1 ($(head -c 200 "$T/r1.body" 2>/dev/null)); b7g in who: $(has_grant "$X" b7g && echo yes || echo no); b7g GET $b7g_get"
fi

lc=$(curl -s -o "$T/link.out" -w '%{http_code}' --max-time 10 "$LINK")
[ "$lc" = 403 ] && ! grep -q "$SECRET_TEXT" "$T/link.out" &&
	t_pass "b7o's link to $X/doc after the move to $N: 403, nothing of the object" ||
	t_fail "b7o's link to $X/doc after the move refused" "link HTTP $lc"

# ---- after the move, the store not locked ---------------------------------------------------
c=$(api b7o POST /_s3gate/grants '{"bucket":"'"$X"'","principal":"b7a","permission":"ReadWrite"}')
[ "$c" = 403 ] && ! has_grant "$X" b7a && t_pass "after the move, b7o's grant on $X: 403 (the proxy's check), nothing granted" ||
	t_fail "after the move, b7o's grant on $X refused" "HTTP $c"
c=$(api b7o DELETE "/_s3gate/grants/$X/b7g")
[ "$c" = 403 ] && has_grant "$X" b7g && t_pass "after the move, b7o's revocation on $X: 403, the grant kept" ||
	t_fail "after the move, b7o's revocation on $X refused" "HTTP $c"
c=$(api b7n POST /_s3gate/grants '{"bucket":"'"$X"'","principal":"b7a","permission":"ReadOnly"}')
sleep 1.2
g=$(sigv4_status b7a "$(s3_url "$X/doc")")
[ "$c" = 200 ] && has_grant "$X" b7a && [ "$g" = 200 ] &&
	t_pass "the new owner b7n grants b7a ReadOnly through the API (200), b7a's GET 200" ||
	t_fail "the new owner b7n grants through the API" "HTTP $c ($(head -c 200 "$T/api.body")); b7a GET $g"
c=$(api b7n DELETE "/_s3gate/grants/$X/b7a")
[ "$c" = 204 ] && ! has_grant "$X" b7a && t_pass "the new owner b7n revokes it (204)" ||
	t_fail "the new owner b7n revokes it" "HTTP $c"

# ---- odd methods and shapes on /_s3gate/grants --------------------------------------------
for m in PUT GET PATCH; do
	c=$(api b7n "$m" /_s3gate/grants '{"bucket":"'"$X"'","principal":"b7a","permission":"ReadWrite"}')
	if [ "${c:0:1}" = 4 ] && ! has_grant "$X" b7a; then
		t_pass "$m /_s3gate/grants with a grant's body: $c, nothing granted"
	else
		t_fail "$m /_s3gate/grants with a grant's body refused" "HTTP $c"
	fi
done
for body in '{"bucket":"'"$X"'","principal":"b7a","permission":{"x":"ReadWrite"}}' \
	'{"bucket":"'"$X"'","principal":"b7a","permission":1e999}' \
	'{"bucket":"'"$X"'","principal":{"p":"b7a"},"permission":"ReadWrite"}'; do
	c=$(api b7n POST /_s3gate/grants "$body")
	if [ "$c" = 400 ] && ! has_grant "$X" b7a; then
		t_pass "POST /_s3gate/grants $body: 400, nothing granted"
	else
		t_fail "POST /_s3gate/grants $body refused" "HTTP $c"
	fi
done
grep -q 'exited (status' "$S3GATE_LOG" && t_fail "no worker died" "$(grep 'exited (status' "$S3GATE_LOG" | head -n 3)" ||
	t_pass "no worker died"

# ---- integrity of plain bodies --------------------------------------------------------------
# RGW (pacific) checks Content-MD5 itself; what s3gate relays must let it.
printf 'hello world' >"$T/hw"
rgw_has() { backend_aws s3api head-object --bucket "$N" --key "$1" >/dev/null 2>&1; }
c=$(curl_sigv4 b7n -o /dev/null -w '%{http_code}' --max-time 10 -X PUT -H 'Content-MD5: AAAAAAAAAAAAAAAAAAAAAA==' \
	--data-binary @"$T/hw" "$(s3_url "$N/md5bad")")
[ "${c:0:1}" = 4 ] && ! rgw_has md5bad && t_pass "a PUT with a wrong Content-MD5: $c, nothing stored at RGW" ||
	t_fail "a PUT with a wrong Content-MD5 refused, nothing stored" "HTTP $c; at RGW: $(rgw_has md5bad && echo yes || echo no)"
c=$(CURL_PAYLOAD_HASH=$(printf 'other bytes' | sha256sum | cut -d' ' -f1) curl_sigv4 b7n -o /dev/null -w '%{http_code}' --max-time 10 -X PUT \
	--data-binary @"$T/hw" "$(s3_url "$N/shabad")")
[ "${c:0:1}" = 4 ] && ! rgw_has shabad && t_pass "a PUT whose body is not the signed x-amz-content-sha256: $c, nothing stored at RGW" ||
	t_fail "a PUT whose body is not the signed x-amz-content-sha256 refused" "HTTP $c; at RGW: $(rgw_has shabad && echo yes || echo no)"

# x-amz-checksum-* on a plain body: pacific ignores it, so s3gate checks it
# (the body's last byte held back until the sum matched): a small body that
# came with the head, a 3 MiB one streamed (curl waits for 100 Continue),
# an empty one; a wrong sum 400 BadDigest and nothing stored, the right
# one stored whole.
head -c 3145728 /dev/urandom >"$T/big3"
: >"$T/empty"
# sum_put KEY FILE HEADER... — status of a signed PUT of FILE with the headers, body in $T/sum.body
sum_put() {
	local key=$1 file=$2; shift 2
	local args=() h
	for h; do args+=(-H "$h"); done
	curl_sigv4 b7n -o "$T/sum.body" -w '%{http_code}' --max-time 30 -X PUT "${args[@]}" \
		--data-binary @"$file" "$(s3_url "$N/$key")"
}
wrong_crc=$(b64sum crc32 "$T/empty")	# AAAAAA==: the sum of nothing, not of these bytes
for case in "hw crc32 small" "big3 sha256 streamed" "big3 sha1 streamed"; do
	set -- $case
	f=$T/$1 alg=$2 what=$3
	c=$(sum_put "sum-bad-$1-$alg" "$f" "x-amz-checksum-$alg: $( [ "$alg" = crc32 ] && echo "$wrong_crc" || b64sum "$alg" "$T/hw")")
	if [ "$c" = 400 ] && grep -q '<Code>BadDigest</Code>' "$T/sum.body" && ! rgw_has "sum-bad-$1-$alg"; then
		t_pass "a $what PUT with a wrong x-amz-checksum-$alg: 400 BadDigest, nothing stored at RGW"
	else
		t_fail "a $what PUT with a wrong x-amz-checksum-$alg refused, nothing stored" \
			"HTTP $c: $(head -c 200 "$T/sum.body"); at RGW: $(rgw_has "sum-bad-$1-$alg" && echo yes || echo no)"
	fi
	c=$(sum_put "sum-ok-$1-$alg" "$f" "x-amz-checksum-$alg: $(b64sum "$alg" "$f")")
	if [ "$c" = 200 ] && backend_aws s3 cp "s3://$N/sum-ok-$1-$alg" "$T/sum.back" >/dev/null 2>&1 &&
		same_file "$f" "$T/sum.back"; then
		t_pass "a $what PUT with the right x-amz-checksum-$alg: 200, RGW holds it whole"
	else
		t_fail "a $what PUT with the right x-amz-checksum-$alg stored whole" "HTTP $c: $(head -c 200 "$T/sum.body")"
	fi
done
c=$(sum_put sum-empty "$T/empty" "x-amz-checksum-crc32: $wrong_crc")
c2=$(sum_put sum-empty-bad "$T/empty" "x-amz-checksum-crc32: $(b64sum crc32 "$T/hw")")
[ "$c" = 200 ] && rgw_has sum-empty && [ "$c2" = 400 ] && ! rgw_has sum-empty-bad &&
	t_pass "an empty PUT: its right x-amz-checksum-crc32 200, a wrong one 400 and nothing stored" ||
	t_fail "an empty PUT checked against its x-amz-checksum-crc32" "right: HTTP $c, wrong: HTTP $c2"
c=$(sum_put sum-two "$T/hw" "x-amz-checksum-crc32: $(b64sum crc32 "$T/hw")" "x-amz-checksum-sha256: $(b64sum sha256 "$T/hw")")
c2=$(sum_put sum-malformed "$T/hw" "x-amz-checksum-crc32: not-base64")
[ "$c" = 400 ] && [ "$c2" = 400 ] && ! rgw_has sum-two && ! rgw_has sum-malformed &&
	t_pass "two x-amz-checksum-* headers, or a value that is no CRC32: 400 InvalidRequest, nothing stored" ||
	t_fail "two checksum headers, or a malformed value, refused" "two: HTTP $c, malformed: HTTP $c2"

# CompleteMultipartUpload's x-amz-checksum-* is the whole object's (S3's
# full-object checksums), not its XML body's: it is not checked as a sum of
# that body (a 400 there would fail every such upload).
mpu_full_object_sum() {
	local up etag
	curl_sigv4 b7n -s -o "$T/mpu.init" --max-time 10 -X POST "$(s3_url "$N/mpu-sum")?uploads=" || return 1
	up=$(sed -n 's:.*<UploadId>\(.*\)</UploadId>.*:\1:p' "$T/mpu.init")
	[ -n "$up" ] || { echo "no UploadId: $(head -c 200 "$T/mpu.init")"; return 1; }
	curl_sigv4 b7n -s -D "$T/mpu.part.h" -o /dev/null --max-time 10 -X PUT --data-binary @"$T/hw" \
		"$(s3_url "$N/mpu-sum")?partNumber=1&uploadId=$up" || return 1
	etag=$(awk 'tolower($1) == "etag:" {print $2}' "$T/mpu.part.h" | tr -d '\r')
	printf '<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>%s</ETag></Part></CompleteMultipartUpload>' \
		"$etag" >"$T/mpu.xml"
	c=$(curl_sigv4 b7n -o "$T/mpu.done" -w '%{http_code}' --max-time 10 -X POST \
		-H "x-amz-checksum-crc32: $(b64sum crc32 "$T/hw")" -H "x-amz-checksum-type: FULL_OBJECT" \
		--data-binary @"$T/mpu.xml" "$(s3_url "$N/mpu-sum")?uploadId=$up")
	echo "complete: HTTP $c: $(head -c 200 "$T/mpu.done")"
	[ "$c" = 200 ] && rgw_has mpu-sum
}
t_check "CompleteMultipartUpload with the object's x-amz-checksum-crc32 (not its XML's): 200, stored" mpu_full_object_sum

# ---- a link under a prefix grant whose prefix holds an escape ------------------------------
# b7a holds ReadOnly on ws-b7n/p%41/ (the three characters); pA/ is not b7a's.
printf 'pA doc, not granted\n' >"$T/pa"
backend_aws s3api put-object --bucket "$N" --key 'p%41/doc' --body "$T/secret" >/dev/null &&
	backend_aws s3api put-object --bucket "$N" --key 'pA/doc' --body "$T/pa" >/dev/null &&
	s3gate_admin grant "$N/p%41/" b7a ReadOnly >/dev/null
sleep 1.2
c=$(api b7a POST /_s3gate/presign '{"bucket":"'"$N"'","key":"p%41/doc","method":"GET","expires":"1h"}')
LINK=$("$PY3" -c 'import json,sys; print(json.load(open(sys.argv[1]))["url"])' "$T/api.body" 2>/dev/null)
lc=$(curl -s -o "$T/link.out" -w '%{http_code}' --max-time 10 "$LINK")
[ "$c" = 200 ] && [ "$lc" = 200 ] && grep -q "$SECRET_TEXT" "$T/link.out" &&
	t_pass "b7a's link to $N/p%41/doc (prefix grant p%41/): serves p%41/doc itself" ||
	t_fail "b7a's link to $N/p%41/doc serves that object" "presign HTTP $c, link HTTP $lc: $(head -c 100 "$T/link.out")"
c=$(api b7a POST /_s3gate/presign '{"bucket":"'"$N"'","key":"pA/doc","method":"GET","expires":"1h"}')
[ "$c" = 403 ] && t_pass "b7a's link to $N/pA/doc (outside p%41/): 403 at issue" ||
	t_fail "b7a's link to $N/pA/doc refused at issue" "HTTP $c"
# the same link with its path spelled otherwise: pA (decoded once more) or p%2541 twice
for alt in "pA/doc" "p%252541/doc" "p%41/doc"; do
	ALT=$(sed "s|/p%2541/doc?|/$alt?|" <<<"$LINK")
	[ "$ALT" != "$LINK" ] || { t_fail "link respelled as $alt" "could not rewrite $LINK"; continue; }
	lc=$(curl -s -o "$T/alt.out" -w '%{http_code}' --max-time 10 --path-as-is "$ALT")
	if [ "${lc:0:1}" = 4 ] && ! grep -q "pA doc" "$T/alt.out"; then
		t_pass "the link's path respelled as /$N/$alt: $lc, nothing of pA/doc"
	else
		t_fail "the link's path respelled as /$N/$alt refused" "HTTP $lc: $(head -c 100 "$T/alt.out")"
	fi
done
