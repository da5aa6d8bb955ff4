#!/bin/bash
# Requests that RGW would act on differently from what s3gate decided, each
# signed by a principal with valid credentials (raw client,
# helpers/rawhttp.py), against the real RGW:
#   the service (no bucket): anything but ListBuckets (GET /) is refused,
#     and no worker dies of it;
#   copies RGW reads through its PutObject path (UploadPartCopy, CopyObject
#     with x-amz-copy-source-range) decode the source key twice: a source
#     key with '%' is refused there, so a prefix grant "p%41/" does not
#     give "pA/";
#   a multipart upload's uploadId does not carry a write to another key;
#   the names RGW routes to its admin and Swift APIs are no bucket's;
#   a WriteOnly grant takes no conditional writes (If-Match, If-None-Match);
#   pipelined requests and a body holding a request are decided one by one.
# Path, Host and framing tricks are t_hardening's; ACL and object-lock
# headers t_policy_story's; prefix grants with clients t_sharing's.
# Workspaces (own principals): ws-bvic (bvic, the victim: ws-bvic, ReadOnly
#   to batt; ws-bvic-pct, prefix "p%41/" ReadOnly to batt; ws-bvic-pfx,
#   prefix "shared/" ReadWrite to batt; ws-bvic-sec, nothing), ws-batt
#   (batt, the attacker).
. "$(dirname "$0")/lib.sh"

SECRET_TEXT="the secret of bvic $(rand_id)"
S=$(rand_id)	# keys of this run

need_s3gate "bypass" "checks s3gate's own decisions: not meaningful against RGW"

s3gate_start byp "service_domain s3.test" "backend_reserved_names admin auth swift rgw-internal" ||
	{ t_fail "s3gate starts" "see $T/byp/s3gate.log"; exit 1; }
setup() {
	ws_setup bvic ws-bvic ws-bvic-pct ws-bvic-pfx ws-bvic-sec ws-bvic-drop &&
		ws_setup batt ws-batt && s3gate_cred batt >/dev/null &&
		s3gate_admin grant ws-bvic batt ReadOnly &&
		s3gate_admin grant 'ws-bvic-pct/p%41/' batt ReadOnly &&
		s3gate_admin grant ws-bvic-pfx/shared/ batt ReadWrite &&
		s3gate_admin grant ws-bvic-drop batt WriteOnly || return 1
	printf '%s\n' "$SECRET_TEXT" >"$T/secret"
	echo "bvic's shared document" >"$T/doc"
	backend_aws s3api put-object --bucket ws-bvic --key doc --body "$T/doc" &&
		backend_aws s3api put-object --bucket ws-bvic-pct --key 'p%41/doc' --body "$T/doc" &&
		backend_aws s3api put-object --bucket ws-bvic-pct --key pA/secret --body "$T/secret" &&
		backend_aws s3api put-object --bucket ws-bvic-pfx --key shared/doc --body "$T/doc" &&
		backend_aws s3api put-object --bucket ws-bvic-sec --key secret --body "$T/secret" &&
		backend_aws s3api put-object --bucket ws-bvic-drop --key deposit --body "$T/secret"
}
if ! out=$(setup 2>&1); then
	t_fail "setup: workspaces, grants, objects" "$out"; exit 1
fi
read -r RAW_AKID RAW_SECRET _ <"$T/profiles/batt"
export RAW_AKID RAW_SECRET RAW_REGION=$S3_REGION

. "$LIB_DIR/helpers/rawreq.sh"

signed GET /ws-bvic/doc
t_expect_eq "control: batt's ReadOnly grant reads ws-bvic/doc" 200 "$R_STATUS"

# ---- the service: only ListBuckets ------------------------------------------------
# Any other request with no bucket went to the store with a NULL bucket
# name, and the worker died (SIGSEGV) with every connection it held.

d0=$(deaths)
for req in "GET /?usage" "GET /?acl" "HEAD /" "POST /" "PUT /" "DELETE /"; do
	signed $req
	if [ "$R_STATUS" = 403 ] && [ "$(deaths)" = "$d0" ]; then
		t_pass "service: $req is refused (403), no worker dies"
	else
		t_fail "service: $req is refused (403), no worker dies" \
			"status $R_STATUS; worker deaths $d0 -> $(deaths); $(grep 'exited (status' "$S3GATE_LOG" | tail -n 1)"
	fi
done
signed GET /
t_expect_eq "service: GET / (ListBuckets) is still answered" 200 "$R_STATUS"

# ---- names RGW keeps for its other APIs ---------------------------------------------
# RGW routes /admin (admin ops), /swift and /auth (Swift) before S3 sees
# them: were such a "bucket" declared, s3gate would sign an admin or Swift
# call with the service credentials.  Refused as a bucket name.
# A backend configured otherwise names its own (backend_reserved_names: here
# RGW's three and one more, which the workers must have taken up).
for req in "GET /admin/user?format=json&uid=bvic" "GET /swift/v1" "GET /auth/1.0" \
    "GET /rgw-internal/x"; do
	signed $req
	expect "reserved name: $req" 400 InvalidBucketName
done

# ---- copies RGW decodes twice --------------------------------------------------------
# batt may read ws-bvic-pct under "p%41/" only.  RGW reads the source of
# UploadPartCopy (and of CopyObject with x-amz-copy-source-range, which it
# copies as a PutObject) decoded twice: "p%2541/secret" is "p%41/secret"
# to s3gate (inside the grant) and "pA/secret" to RGW.

signed POST "/ws-batt/stolen-upc-$S?uploads"
UPLOAD=$(grep -ao '<UploadId>[^<]*' "$T/resp" | sed 's/<UploadId>//')
if [ "$R_STATUS" != 200 ] || [ -z "$UPLOAD" ]; then
	t_fail "CreateMultipartUpload in batt's own bucket" "status $R_STATUS; $(resp_msg)"
else
	signed PUT "/ws-batt/stolen-upc-$S?partNumber=1&uploadId=$UPLOAD" \
		'x-amz-copy-source: ws-bvic-pct/p%2541/secret\r\n'
	expect "UploadPartCopy from 'p%2541/secret' under a prefix grant 'p%41/'" 400 InvalidArgument
	signed GET "/ws-batt/stolen-upc-$S?uploadId=$UPLOAD"
	if [ "$R_STATUS" = 200 ] && ! grep -q '<Part>' "$T/resp"; then
		t_pass "... and the upload holds no part"
	else
		t_fail "... and the upload holds no part" "ListParts: status $R_STATUS; $(head -c 600 "$T/resp")"
	fi
	signed PUT "/ws-batt/stolen-upc-$S?partNumber=1&uploadId=$UPLOAD" 'x-amz-copy-source: ws-bvic/doc\r\n'
	expect "control: UploadPartCopy from a key without '%' (ws-bvic/doc) is served" 200 ""
	signed DELETE "/ws-batt/stolen-upc-$S?uploadId=$UPLOAD"
fi
signed PUT /ws-batt/stolen-rng-$S \
	'x-amz-copy-source: ws-bvic-pct/p%2541/secret\r\nx-amz-copy-source-range: bytes=0-9\r\n'
expect "ranged CopyObject from 'p%2541/secret' under a prefix grant 'p%41/'" 400 InvalidArgument
if backend_aws s3api head-object --bucket ws-batt --key stolen-rng-$S >/dev/null 2>&1; then
	t_fail "... and nothing was stored" "ws-batt/stolen-rng-$S exists at the backend"
else
	t_pass "... and nothing was stored"
fi
# CopyObject without a range is decoded once by RGW, as by s3gate
signed PUT /ws-batt/copied-$S 'x-amz-copy-source: ws-bvic-pct/p%2541/doc\r\n'
signed GET /ws-batt/copied-$S
if [ "$R_STATUS" = 200 ] && grep -qF "bvic's shared document" "$T/resp"; then
	t_pass "control: CopyObject from 'p%2541/doc' copies the key 'p%41/doc' inside the grant"
else
	t_fail "control: CopyObject from 'p%2541/doc' copies 'p%41/doc'" "status $R_STATUS; $(resp_msg)"
fi

# ---- an uploadId names its key's upload only -------------------------------------------
# The policy reads the key in the path; an uploadId of an upload of a key
# outside the prefix must not let a part or a completion reach that key.

OUTSIDE=$(backend_aws s3api create-multipart-upload --bucket ws-bvic-pfx --key private/up \
	--query UploadId --output text 2>&1)
signed PUT "/ws-bvic-pfx/shared/up?partNumber=1&uploadId=$OUTSIDE" "" "planted"
expect "UploadPart to shared/up with the uploadId of private/up's upload" 404 NoSuchUpload
signed POST "/ws-bvic-pfx/shared/up?uploadId=$OUTSIDE" "" \
	"<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>x</ETag></Part></CompleteMultipartUpload>"
# (RGW 16 answers 500 InternalError "This multipart completion is already in progress")
if [ "$R_STATUS" != 200 ] && [ "${R_STATUS:0:1}" != 0 ] &&
	! backend_aws s3api head-object --bucket ws-bvic-pfx --key private/up >/dev/null 2>&1 &&
	! backend_aws s3api head-object --bucket ws-bvic-pfx --key shared/up >/dev/null 2>&1; then
	t_pass "CompleteMultipartUpload of shared/up with private/up's uploadId: $R_STATUS $(resp_code), no object made"
else
	t_fail "CompleteMultipartUpload of shared/up with private/up's uploadId fails, no object made" \
		"status $R_STATUS; $(resp_msg)"
fi
parts=$(backend_aws s3api list-parts --bucket ws-bvic-pfx --key private/up --upload-id "$OUTSIDE" \
	--query 'length(Parts || `[]`)' --output text 2>&1)
t_expect_eq "... private/up's upload holds no part" 0 "$parts"
backend_aws s3api abort-multipart-upload --bucket ws-bvic-pfx --key private/up --upload-id "$OUTSIDE" \
	>/dev/null 2>&1

# ---- a WriteOnly drop box does not answer questions -----------------------------------
# A conditional PUT is a read in effect: 412 or not tells whether the key
# exists (If-None-Match: *) or holds the bytes of an ETag (If-Match).
etag=$(md5sum "$T/secret" | cut -d' ' -f1)
signed PUT /ws-bvic-drop/deposit 'If-None-Match: *\r\n' "guess"
expect "WriteOnly: PUT If-None-Match: * (does the deposit exist?)" 403 AccessDenied
signed PUT /ws-bvic-drop/deposit "If-Match: \"$etag\"\\r\\n" "guess"
expect "WriteOnly: PUT If-Match: its ETag (does it hold these bytes?)" 403 AccessDenied
got=$(backend_aws s3api get-object --bucket ws-bvic-drop --key deposit "$T/deposit.out" >/dev/null 2>&1 &&
	cat "$T/deposit.out")
t_expect_eq "... the deposit is untouched" "$SECRET_TEXT" "$got"
signed PUT "/ws-bvic-drop/mine-$S" "" "my deposit"
expect "control: WriteOnly PUT without conditions is served" 200 ""
# (what RGW itself answers such a PUT, asked with the service key: for the log)
RAW_AKID=$RGW_ACCESS_KEY RAW_SECRET=$RGW_SECRET_KEY $RAW send "${RGW_ENDPOINT##*:}" \
	"PUT /ws-bvic-drop/deposit HTTP/1.1\r\nHost: 127.0.0.1\r\nIf-None-Match: *\r\n{SIG}Content-Length: 5\r\nConnection: close\r\n\r\nguess" \
	--out "$T/rgw.resp" 2>/dev/null | awk '{print "# RGW direct: PUT If-None-Match: * on an existing key: " $1}'

# ---- one decision per request ----------------------------------------------------------

# pipelined: the second (signed for ws-bvic-sec, no grant) is refused on its own
second=$(sig_lines GET "/ws-bvic-sec/secret")
raw "GET /ws-bvic/doc HTTP/1.1\r\nHost: 127.0.0.1\r\n{SIG}\r\nGET /ws-bvic-sec/secret HTTP/1.1\r\nHost: 127.0.0.1\r\n${second}Connection: close\r\n\r\n"
st=$(resp_statuses)
if [ "$st" = "200 403 " ] && ! grep -qF "$SECRET_TEXT" "$T/resp"; then
	t_pass "pipelined: GET of the granted bucket 200, then GET of ws-bvic-sec 403"
else
	t_fail "pipelined: 200 then 403" "statuses: $st; $(resp_msg)"
fi
# a GET whose body is a request for ws-bvic-sec: relayed as a body, never run
signed GET /ws-bvic/doc "" "GET /ws-bvic-sec/secret HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
n=$(grep -ac '^HTTP/1' "$T/resp")
if [ "$R_STATUS" = 200 ] && [ "$n" = 1 ] && ! grep -qF "$SECRET_TEXT" "$T/resp"; then
	t_pass "a GET whose body is a request for ws-bvic-sec: one answer, the GET's"
else
	t_fail "a GET whose body is a request: one answer" "status $R_STATUS, $n answers"
fi
# RGW takes the method from the request line only
signed GET /ws-bvic/doc 'X-HTTP-Method-Override: DELETE\r\n'
if [ "$R_STATUS" = 200 ] && backend_aws s3api head-object --bucket ws-bvic --key doc >/dev/null 2>&1; then
	t_pass "GET with X-HTTP-Method-Override: DELETE reads (200); the object is still there"
else
	t_fail "GET with X-HTTP-Method-Override: DELETE only reads" "status $R_STATUS; object gone?"
fi

if [ "$(deaths)" != 0 ]; then
	t_fail "no worker died during the file" "$(grep 'exited (status' "$S3GATE_LOG")"
fi
s3gate_stop byp || t_fail "s3gate byp exits cleanly" "see $T/byp/s3gate.log"
exit 0
