#!/bin/bash
# The workspace story of storage-example.yaml (tests/data/policy/) told by
# the users' real clients through s3gate (file store), against Ceph RGW.
# Every principal and bucket gets this run's suffix $S (RGW is shared by the
# run): frank -> frank$S, ws-frank -> ws-frank$S, ws-frank-stagein ->
# ws-frank$S-stagein, ...
#   ws-frank$S: frank owns ws-frank, -stagein, -publish; bob has ReadWrite on -stagein
#   ws-eric$S:  eric owns ws-eric, ws-eric-shared; alice and frank have ReadWrite on -shared
#   ws-alice$S: alice owns ws-alice, -2, -3; eric has ReadWrite on -3
#   ws-bob$S:   bob owns ws-bob
# Clients: aws-cli v1 and v2, boto3, rclone, s3cmd, curl --aws-sigv4.
. "$(dirname "$0")/lib.sh"

S=$(rand_id)
F=frank$S A=alice$S BO=bob$S E=eric$S
WF=ws-$F WFS=ws-$F-stagein WFP=ws-$F-publish
WE=ws-$E WES=ws-$E-shared
WA=ws-$A WA2=ws-$A-2 WA3=ws-$A-3
WB=ws-$BO
EXAMPLE=$ROOT/tests/data/policy/storage-example.yaml

SKIP_WHY=""
FAIL_WHY=""
# tms NAME cmd... — cmd prints milliseconds (or why not) and succeeds
tms() {
	local name=$1 out; shift
	if [ -n "$SKIP_WHY" ]; then t_skip "$name" "$SKIP_WHY"; return 0; fi
	if [ -n "$FAIL_WHY" ]; then t_fail "$name" "$FAIL_WHY"; return 1; fi
	if out=$("$@" 2>&1); then t_pass "$name ($(tail -n 1 <<<"$out") ms)"; else t_fail "$name" "$out"; return 1; fi
}

# the example with this run's names
story_doc() {
	sed -E "s/\\b(alice|bob|eric|frank)\\b/\\1$S/g" "$1"
}

if [ "$S3GATE_DIRECT_RGW" = 1 ]; then
	SKIP_WHY="the policy story needs s3gate"
elif ! s3gate_have; then
	SKIP_WHY="$(basename "$S3GATE_BIN")/s3gate not built"
elif ! s3gate_start story; then
	FAIL_WHY="s3gate did not start (see $T/story/s3gate.log)"
fi

# ---- helpers -------------------------------------------------------------------

# same_set WANT... -- GOT... (whitespace separated lists; order does not matter)
same_set() {
	local want got
	want=$(tr ' ' '\n' <<<"$1" | grep -v '^$' | sort)
	got=$(tr ' \t' '\n\n' <<<"$2" | grep -v '^$' | sort)
	[ "$want" = "$got" ] && { echo "buckets: $(tr '\n' ' ' <<<"$got")"; return 0; }
	echo "want: $(tr '\n' ' ' <<<"$want")"
	echo "got:  $(tr '\n' ' ' <<<"$got")"
	return 1
}
# buckets CLIENT PROFILE — the bucket names ListBuckets gives CLIENT
buckets() {
	local out
	case $1 in
	awsv1 | awsv2) out=$($1 "$2" s3 ls) || return 1; awk '{print $3}' <<<"$out" ;;
	boto3) boto3_py "$2" 'print("\n".join(b["Name"] for b in s3.list_buckets()["Buckets"]))' ;;
	rclone) out=$(rclone_s3 "$2" lsd s3g:) || return 1; awk '{print $NF}' <<<"$out" ;;
	s3cmd) out=$(s3cmd_s3 "$2" ls) || return 1; sed -nE 's|.*s3://([^ /]+).*|\1|p' <<<"$out" ;;
	esac
}
# list_is CLIENT PROFILE BUCKETS — ListBuckets shows exactly BUCKETS
list_is() {
	local got
	got=$(buckets "$1" "$2") || { echo "$got"; return 1; }
	same_set "$3" "$got"
}

# ---- setup ----------------------------------------------------------------------

sync_story() {
	local out
	story_doc "$EXAMPLE" >"$T/storage.yaml"
	out=$(s3gate_sync "$T/storage.yaml") || { echo "$out"; return 1; }
	echo "$out"
	grep -q "^+ grant $WFS $BO" <<<"$out" || { echo "no '+ grant $WFS $BO' line"; return 1; }
}
buckets_at_backend() {
	local b
	for b in $WF $WFS $WFP $WE $WES $WA $WA2 $WA3 $WB; do
		backend_aws s3api head-bucket --bucket "$b" || { echo "missing at the backend: $b"; return 1; }
	done
}
if ready; then
	tc "sync storage-example.yaml (renamed) into the file store" sync_story ||
		FAIL_WHY="sync failed"
fi
if ready; then
	tc "sync created the nine buckets at the backend" buckets_at_backend
	if ! { s3gate_cred "$F" frank && s3gate_cred "$A" alice && s3gate_cred "$BO" bob &&
		s3gate_cred "$E" eric; } >"$T/cred.out" 2>&1; then
		FAIL_WHY="cred create failed: $(tail -n 3 "$T/cred.out" | tr '\n' ' ')"
	fi
	mkbytes "$T/small" 5000
	printf 'frank private %s\n' "$S" >"$T/fobj"
fi

# ---- ListBuckets: exactly own, member and granted buckets ----------------------

tc "frank: aws s3 ls (v1) shows his three buckets and ws-eric-shared" \
	list_is awsv1 frank "$WF $WFS $WFP $WES"
tc "frank: aws s3 ls (v2) shows the same" list_is awsv2 frank "$WF $WFS $WFP $WES"
tc "alice: boto3 list_buckets: her three and ws-eric-shared" list_is boto3 alice "$WA $WA2 $WA3 $WES"
tc "bob: rclone lsd: ws-bob and ws-frank-stagein" list_is rclone bob "$WB $WFS"
tc "eric: s3cmd ls: his two and ws-alice-3" list_is s3cmd eric "$WE $WES $WA3"

# ---- bob stages into ws-frank-stagein, cannot read ws-frank --------------------

ready && awsv1 frank s3 cp "$T/fobj" "s3://$WF/private/doc" >/dev/null 2>&1
stage_in() {
	awsv2 bob s3 cp "$T/small" "s3://$WFS/from-bob/data.bin" || return 1
	awsv2 bob s3 ls "s3://$WFS/from-bob/" | tee /dev/stderr | grep -q ' 5000 data.bin$' || return 1
	awsv2 bob s3 cp "s3://$WFS/from-bob/data.bin" "$T/stage.back" || return 1
	same_file "$T/small" "$T/stage.back" || return 1
	# and frank sees what bob staged
	awsv1 frank s3 cp "s3://$WFS/from-bob/data.bin" "$T/stage.back2" && same_file "$T/small" "$T/stage.back2"
}
tc "bob stages into ws-frank-stagein with aws-cli v2: put, list, get" stage_in
rclone_stage() {
	printf 'via rclone\n' >"$T/rc.txt"
	rclone_s3 bob copyto "$T/rc.txt" "s3g:$WFS/from-bob/rc.txt" &&
		rclone_s3 bob cat "s3g:$WFS/from-bob/rc.txt" | grep -q 'via rclone'
}
tc "bob stages into ws-frank-stagein with rclone" rclone_stage
tdeny "bob cannot read ws-frank (v1 get-object): AccessDenied, the message explains" AccessDenied \
	"GetObject on bucket $WF needs access you do not have\. You can request access with POST /_s3gate/requests" \
	awsv1 bob s3api get-object --bucket "$WF" --key private/doc "$T/denied.out"
tdeny "bob cannot list ws-frank (s3cmd)" AccessDenied "." s3cmd_s3 bob ls "s3://$WF/"
tdeny "bob cannot write ws-frank (boto3)" AccessDenied "PutObject on bucket $WF" boto3_py bob '
try:
    s3.put_object(Bucket=sys.argv[1], Key="x", Body=b"x")
except ClientError as e:
    print(e.response["Error"]["Code"], e.response["Error"]["Message"]); sys.exit(1)
' "$WF"

# ---- alice: denied on ws-frank until she is a member --------------------------

URL_FDOC=$(S3GATE_ENDPOINT=${S3GATE_ENDPOINT:-http://x} s3_url "$WF/private/doc")
tdeny "alice is denied on ws-frank (boto3 get_object)" AccessDenied "GetObject on bucket $WF" boto3_py alice '
try:
    s3.get_object(Bucket=sys.argv[1], Key="private/doc")
except ClientError as e:
    print(e.response["Error"]["Code"], e.response["Error"]["Message"]); sys.exit(1)
' "$WF"
tc "s3gate-admin member add ws-frank alice" s3gate_admin member add "$WF" "$A"
tms "alice reads ws-frank within a second of member add" wait_sigv4_status alice "$URL_FDOC" 200 1000
member_rw() {
	awsv2 alice s3 cp "$T/small" "s3://$WF/from-alice/x" || return 1
	awsv1 alice s3 cp "s3://$WF/from-alice/x" "$T/alice.back" && same_file "$T/small" "$T/alice.back" || return 1
	# a member uses every bucket of the workspace
	s3cmd_s3 alice put "$T/small" "s3://$WFP/from-alice/y" && s3cmd_s3 alice ls "s3://$WFP/from-alice/" | grep -q from-alice/y
}
tc "alice, a member, reads and writes ws-frank and ws-frank-publish (v2, v1, s3cmd)" member_rw

# ---- a request, approved ReadOnly, then revoked --------------------------------

URL_BOB_DOC=$(S3GATE_ENDPOINT=${S3GATE_ENDPOINT:-http://x} s3_url "$WF/private/doc")
tc "bob requests ws-frank" s3gate_admin request "$WF" "$BO" --reason "need the private docs"
tdeny "approve of a principal without a request is refused" "" "request|no such" \
	s3gate_admin approve "$WF" "$E" --permission ReadOnly
tc "frank approves bob's request with ReadOnly" s3gate_admin approve "$WF" "$BO" --permission ReadOnly
tms "bob reads ws-frank within a second of the approval" wait_sigv4_status bob "$URL_BOB_DOC" 200 1000
ro_read() {
	awsv1 bob s3api get-object --bucket "$WF" --key private/doc "$T/ro.out" >/dev/null &&
		same_file "$T/fobj" "$T/ro.out" &&
		awsv2 bob s3 ls "s3://$WF/private/" | grep -q ' doc$'
}
tc "bob (ReadOnly) gets and lists ws-frank (v1, v2)" ro_read
tdeny "bob (ReadOnly) cannot put: the message says the grant is ReadOnly (v1)" AccessDenied \
	"PutObject on bucket $WF needs write access; your grant is ReadOnly" \
	awsv1 bob s3api put-object --bucket "$WF" --key from-bob --body "$T/small"
tdeny "bob (ReadOnly) cannot delete (v2)" AccessDenied "DeleteObject on bucket $WF.*ReadOnly" \
	awsv2 bob s3api delete-object --bucket "$WF" --key private/doc
ro_put_rclone() { ! rclone_s3 bob copyto "$T/small" "s3g:$WF/from-bob-rclone"; }
tc "bob (ReadOnly) cannot put with rclone" ro_put_rclone
tc "s3gate-admin revoke ws-frank bob" s3gate_admin revoke "$WF" "$BO"
tms "bob is denied within a second of the revocation" wait_sigv4_status bob "$URL_BOB_DOC" 403 1000

# ---- server-side copy from a bucket the caller cannot read --------------------

tdeny "bob cannot CopyObject from ws-frank into his ws-bob (v1)" AccessDenied "." \
	awsv1 bob s3api copy-object --bucket "$WB" --key stolen --copy-source "$WF/private/doc"
tdeny "eric cannot copy from ws-frank into ws-eric (boto3 copy_object)" AccessDenied "." boto3_py eric '
try:
    s3.copy_object(Bucket=sys.argv[2], Key="stolen", CopySource={"Bucket": sys.argv[1], "Key": "private/doc"})
except ClientError as e:
    print(e.response["Error"]["Code"], e.response["Error"]["Message"]); sys.exit(1)
' "$WF" "$WE"
nothing_copied() {
	local b
	for b in "$WB" "$WE"; do
		if backend_aws s3api head-object --bucket "$b" --key stolen >/dev/null 2>&1; then
			echo "the backend holds $b/stolen"; return 1
		fi
	done
}
tc "nothing was copied at the backend" nothing_copied
copy_allowed() {	# the same copy with read on the source works (bob: ws-frank-stagein -> ws-bob)
	awsv2 bob s3api copy-object --bucket "$WB" --key copied --copy-source "$WFS/from-bob/data.bin" >/dev/null &&
		awsv2 bob s3 cp "s3://$WB/copied" "$T/copied.back" && same_file "$T/small" "$T/copied.back"
}
tc "bob copies from ws-frank-stagein (read) into ws-bob (v2)" copy_allowed

# ---- grants that expire --------------------------------------------------------

URL_PUB=""
if ready; then
	awsv1 frank s3 cp "$T/fobj" "s3://$WFP/pub/doc" >/dev/null 2>&1
	URL_PUB=$(s3_url "$WFP/pub/doc")
fi
# The grant's end is read from --json (a whole second, the CLI's clock + 6 s):
# 6 s leave an aws-cli start on a loaded machine time to read before it, and
# the denial is judged against it, not against when the CLI returned.
expiring() {
	local doc exp_ms ms now
	doc=$(s3gate_admin --json grant "$WFP" "$E" ReadOnly --expires 6s) || return 1
	exp_ms=$("$PY3" -c 'import json, sys, calendar, time
print(calendar.timegm(time.strptime(json.loads(sys.argv[1])["expires_at"], "%Y-%m-%dT%H:%M:%SZ")) * 1000)' "$doc") ||
		{ echo "no expires_at in: $doc"; return 1; }
	ms=$(wait_sigv4_status eric "$URL_PUB" 200 1000) || { echo "not granted: $ms"; return 1; }
	echo "granted after $ms ms"
	awsv2 eric s3 cp "s3://$WFP/pub/doc" "$T/exp.back" && same_file "$T/fobj" "$T/exp.back" || return 1
	[ "$(date +%s%3N)" -lt "$exp_ms" ] || { echo "the copy ended after the expiry: nothing proven"; return 1; }
	ms=$(wait_sigv4_status eric "$URL_PUB" 403 9000) || { echo "still served: $ms"; return 1; }
	now=$(date +%s%3N)
	echo "denial seen $((now - exp_ms)) ms after expires_at"
	[ "$now" -ge "$exp_ms" ] || { echo "denied before the expiry"; return 1; }
	[ "$now" -le $((exp_ms + 2000)) ] || { echo "denied over 2 s after the expiry"; return 1; }
}
tc "a grant with --expires 6s works, then stops at its expiry" expiring
tdeny "the expired grant's denial says so (v1)" AccessDenied "GetObject on bucket $WFP.*expired" \
	awsv1 eric s3api get-object --bucket "$WFP" --key pub/doc "$T/denied.out"
exp_log() {
	local l
	l=$(alog_last "$S3GATE_DIR" "r['principal']=='$E' and r['bucket']=='$WFP' and r['action']=='GetObject'") || { echo "$l"; return 1; }
	echo "$l"
	grep -q '"decision":"deny"' <<<"$l" && grep -q '"reason":"grant expired"' <<<"$l"
}
tc "the access log says: deny, grant expired" exp_log
exp_who() {
	local out
	out=$(s3gate_admin who "$WFP") || return 1
	echo "$out"
	grep "$E" <<<"$out" | grep -qi expire
}
tc "s3gate-admin who shows the expired grant as expired" exp_who

# ---- a prefix grant ------------------------------------------------------------

if ready; then
	awsv1 frank s3 cp "$T/fobj" "s3://$WF/shared/doc" >/dev/null 2>&1
	s3gate_admin grant "$WF/shared/" "$E" ReadOnly >/dev/null
	wait_sigv4_status eric "$(s3_url "$WF/shared/doc")" 200 1500 >/dev/null
fi
prefix_get() { awsv2 eric s3 cp "s3://$WF/shared/doc" "$T/pfx.back" && same_file "$T/fobj" "$T/pfx.back"; }
tc "prefix grant shared/: get under shared/ works (v2)" prefix_get
tdeny "prefix grant: get outside shared/ refused, says so (v1)" AccessDenied \
	"GetObject on bucket $WF names keys outside your grant's prefix \"shared/\"" \
	awsv1 eric s3api get-object --bucket "$WF" --key private/doc "$T/denied.out"
prefix_ls() { awsv1 eric s3 ls "s3://$WF/shared/" | tee /dev/stderr | grep -q ' doc$'; }
tc "prefix grant: aws s3 ls s3://BUCKET/shared/ works (v1)" prefix_ls
tdeny "prefix grant: aws s3 ls s3://BUCKET/ refused (v2)" AccessDenied "outside your grant's prefix" \
	awsv2 eric s3 ls "s3://$WF/"
prefix_rclone() { rclone_s3 eric ls "s3g:$WF/shared" | tee /dev/stderr | grep -q ' doc$'; }
tc "prefix grant: rclone ls s3g:BUCKET/shared works" prefix_rclone
prefix_write() {	# ReadOnly under the prefix: no write there either
	! awsv2 eric s3 cp "$T/small" "s3://$WF/shared/new"
}
tc "prefix grant (ReadOnly): put under shared/ refused" prefix_write

# ---- a WriteOnly grant (drop box) ------------------------------------------------

if ready; then
	s3gate_admin grant "$WFP" "$E" WriteOnly >/dev/null
	sleep 1.2
fi
wo_put() {
	awsv1 eric s3 cp "$T/small" "s3://$WFP/drop/from-eric" || return 1
	backend_aws s3 cp "s3://$WFP/drop/from-eric" "$T/wo.back" && same_file "$T/small" "$T/wo.back"
}
tc "WriteOnly: aws s3 cp (v1) uploads into the drop box" wo_put
wo_put_boto3() { boto3_py eric 's3.put_object(Bucket=sys.argv[1], Key="drop/boto3", Body=b"hello")' "$WFP"; }
tc "WriteOnly: boto3 put_object uploads" wo_put_boto3
tdeny "WriteOnly: get refused (v1 get-object)" AccessDenied "GetObject on bucket $WFP is not allowed by a WriteOnly grant" \
	awsv1 eric s3api get-object --bucket "$WFP" --key drop/from-eric "$T/denied.out"
tdeny "WriteOnly: list refused (v2 s3 ls)" AccessDenied "WriteOnly" awsv2 eric s3 ls "s3://$WFP/drop/"
tdeny "WriteOnly: list refused (s3cmd ls)" AccessDenied "." s3cmd_s3 eric ls "s3://$WFP/drop/"
tdeny "WriteOnly: delete refused (v2)" AccessDenied "WriteOnly" \
	awsv2 eric s3api delete-object --bucket "$WFP" --key drop/from-eric

# ---- ListBuckets after all of that ------------------------------------------------

tc "ListBuckets frank (v2): own three and ws-eric-shared" list_is awsv2 frank "$WF $WFS $WFP $WES"
tc "ListBuckets alice (v1): own three, ws-eric-shared, ws-frank's three (member)" \
	list_is awsv1 alice "$WA $WA2 $WA3 $WES $WF $WFS $WFP"
tc "ListBuckets bob (s3cmd): ws-bob and ws-frank-stagein (ws-frank revoked)" list_is s3cmd bob "$WB $WFS"
tc "ListBuckets eric (boto3): own two, ws-alice-3, ws-frank (prefix), ws-frank-publish (WriteOnly)" \
	list_is boto3 eric "$WE $WES $WA3 $WF $WFP"

# ---- what nobody may do -------------------------------------------------------------

tdeny "get-bucket-acl by the owner is refused with a clear message (v2; 501 as a server without ACLs)" NotImplemented \
	"GetBucketAcl is not allowed through s3gate" awsv2 frank s3api get-bucket-acl --bucket "$WF"
tdeny "put-bucket-acl by the owner is refused (v1)" AccessDenied "not allowed through s3gate" \
	awsv1 frank s3api put-bucket-acl --bucket "$WF" --acl public-read
tdeny "get-bucket-policy by the owner is refused (boto3)" AccessDenied "not allowed through s3gate" boto3_py frank '
try:
    s3.get_bucket_policy(Bucket=sys.argv[1])
except ClientError as e:
    print(e.response["Error"]["Code"], e.response["Error"]["Message"]); sys.exit(1)
' "$WF"
unknown_op() {	# a subresource s3gate does not know (?frobnicate=1), by the owner, with curl
	local body l
	body=$(curl_sigv4 frank -w '\nHTTP %{http_code}' --max-time 10 "$(s3_url "$WF")?frobnicate=1") || return 1
	echo "$body"
	grep -q '^HTTP 403' <<<"$body" && grep -q '<Code>AccessDenied</Code>' <<<"$body" &&
		grep -q '<Message>[^<]*not allowed through s3gate' <<<"$body" || return 1
	l=$(alog_last "$S3GATE_DIR" "r['principal']=='$F' and r['bucket']=='$WF' and r['method']=='GET' and r['decision']=='deny'") || { echo "$l"; return 1; }
	echo "$l"; grep -q '"reason":"unknown action"' <<<"$l"
}
tc "an unknown S3 operation (GET ?frobnicate=1, curl) is refused, logged as unknown action" unknown_op
# (curl 7.88 signs a bare "?frobnicate" as "frobnicate", not "frobnicate=": botocore signs it here)
unknown_bare() {
	boto3_py frank '
import urllib.request, urllib.error
from botocore.awsrequest import AWSRequest
from botocore.auth import S3SigV4Auth
from botocore.credentials import Credentials
req = AWSRequest(method="GET", url=EP + "/" + sys.argv[1] + "?frobnicate")
S3SigV4Auth(Credentials(AKID, SECRET), "s3", REGION).add_auth(req)
p = req.prepare()
try:
    r = urllib.request.urlopen(urllib.request.Request(p.url, headers=dict(p.headers), method="GET"))
    print("HTTP", r.status, r.read()[:300]); sys.exit(1)
except urllib.error.HTTPError as e:
    body = e.read().decode()
    print("HTTP", e.code, body)
    assert e.code == 403 and "<Code>AccessDenied</Code>" in body and "not allowed through s3gate" in body
' "$WF"
}
tc "an unknown S3 operation (GET ?frobnicate, botocore-signed) is refused" unknown_bare
unknown_op_obj() {	# an unknown parameter on an object PUT: refused, nothing stored
	local c
	c=$(curl_sigv4 frank -o "$T/unk.out" -w '%{http_code}' --max-time 10 -T "$T/small" \
		"$(s3_url "$WF/unknown-op")?frobnicate=1")
	echo "HTTP $c"; cat "$T/unk.out"; echo
	[ "$c" = 403 ] || return 1
	! backend_aws s3api head-object --bucket "$WF" --key unknown-op >/dev/null 2>&1
}
tc "PUT with an unknown query parameter is refused and stores nothing" unknown_op_obj

# ---- what the action table sees is what the backend does --------------------------
# Requests that once reached the backend as something else than the policy
# decided on: a repeated query parameter, operations carried in headers or
# in the query string, a DeleteObjects body in another encoding, a SigV2
# link extended with parameters V2 does not sign.

# sreq PROFILE METHOD TARGET [NAME:VALUE]... [@BODY_FILE] — a request signed
# by botocore (SigV4, payload hashed; a header named twice is sent twice,
# signed joined) and sent as it is with http.client.  Prints "HTTP CODE",
# then the body.
sreq() {
	local p=$1; shift
	boto3_py "$p" '
import hashlib, http.client, urllib.parse
from botocore.awsrequest import AWSRequest, HTTPHeaders
from botocore.auth import S3SigV4Auth
from botocore.credentials import Credentials
method, target = sys.argv[1], sys.argv[2]
headers, body = HTTPHeaders(), b""
for a in sys.argv[3:]:
    if a.startswith("@"):
        body = open(a[1:], "rb").read()
    else:
        k, _, v = a.partition(":")
        headers[k] = v.strip()
headers["x-amz-content-sha256"] = hashlib.sha256(body).hexdigest()
req = AWSRequest(method=method, url=EP + target, data=body)
req.headers = headers
S3SigV4Auth(Credentials(AKID, SECRET), "s3", REGION).add_auth(req)
u = urllib.parse.urlsplit(EP)
c = http.client.HTTPConnection(u.hostname, u.port, timeout=10)
c.putrequest(method, target, skip_host=True, skip_accept_encoding=True)
c.putheader("Host", u.netloc)
for k, v in req.headers.items():
    c.putheader(k, v)
c.putheader("Content-Length", str(len(body)))
c.endheaders(body)
r = c.getresponse()
print("HTTP", r.status)
print(r.read().decode(errors="replace"))
' "$@"
}
# answer WANT S3CODE MSG_ERE PROFILE METHOD TARGET [...] — sreq, answered
# HTTP WANT with the S3 error S3CODE whose message matches MSG_ERE
answer() {
	local want=$1 code=$2 re=$3 out; shift 3
	out=$(sreq "$@") || { echo "$out"; return 1; }
	echo "$out" | head -c 1200; echo
	grep -q "^HTTP $want\$" <<<"$out" && grep -q "<Code>$code</Code>" <<<"$out" &&
		grep -Eq "<Message>[^<]*$re" <<<"$out"
}
# absent BUCKET KEY — the backend holds no such object
absent() {
	if backend_aws s3api head-object --bucket "$1" --key "$2" >/dev/null 2>&1; then
		echo "the backend holds $1/$2"; return 1
	fi
}

# 1. a repeated query parameter: eric's grant is ReadOnly on ws-frank/shared/;
# RGW lists with the last prefix, s3gate decided on the first
rep_prefix() {
	local out
	out=$(answer 400 InvalidArgument 'parameter [^<]*prefix[^<]* is repeated' eric GET \
		"/$WF?list-type=2&prefix=shared%2F&prefix=private%2F") || { echo "$out"; return 1; }
	echo "$out"
	! grep -q 'private/doc' <<<"$out"
}
tc "a repeated prefix (shared/ then private/) under a prefix grant: 400 InvalidArgument, nothing listed" rep_prefix
served() {	# served PATTERN PROFILE METHOD TARGET [...] — HTTP 200, the body matches PATTERN
	local re=$1 out; shift
	out=$(sreq "$@") || { echo "$out"; return 1; }
	echo "$out" | head -c 1200; echo
	grep -q '^HTTP 200$' <<<"$out" && grep -Eq -- "$re" <<<"$out"
}
tc "the same listing with one prefix is served" served '<Key>shared/doc</Key>' eric GET "/$WF?list-type=2&prefix=shared%2F"
# (refused as the head is parsed, before authentication: httpmsg refuses a
# repeated single-valued header; action.c's own check stands behind it)
rep_copy() {
	answer 400 BadRequest 'a repeated header that S3 reads as one value' bob PUT "/$WB/two-sources" \
		"x-amz-copy-source:$WFS/from-bob/data.bin" "x-amz-copy-source:$WF/private/doc" &&
		absent "$WB" two-sources
}
tc "two x-amz-copy-source headers: 400, nothing copied" rep_copy

# 2. ACLs and object lock in headers: bob has ReadWrite on ws-frank-stagein,
# eric WriteOnly on ws-frank-publish
acl_v2() {
	local out
	out=$(awsv2 bob s3 cp "$T/small" "s3://$WFS/acl/public" --acl public-read 2>&1) &&
		{ echo "uploaded: $out"; return 1; }
	echo "$out"
	absent "$WFS" acl/public
}
tc "ReadWrite: aws s3 cp --acl public-read (v2) is refused, nothing stored" acl_v2
tdeny "ReadWrite: put-object --grant-read AllUsers (v1) is refused, says why" AccessDenied \
	"PutObject is not allowed through s3gate: .*x-amz-grant" \
	awsv1 bob s3api put-object --bucket "$WFS" --key acl/grant --body "$T/small" \
	--grant-read uri=http://acs.amazonaws.com/groups/global/AllUsers
acl_private() {
	awsv2 bob s3 cp "$T/small" "s3://$WFS/acl/private" --acl private || return 1
	awsv1 bob s3api put-object --bucket "$WFS" --key acl/bofc --body "$T/small" \
		--acl bucket-owner-full-control >/dev/null || return 1
	backend_aws s3api head-object --bucket "$WFS" --key acl/private >/dev/null &&
		backend_aws s3api head-object --bucket "$WFS" --key acl/bofc >/dev/null
}
tc "ReadWrite: --acl private (v2) and bucket-owner-full-control (v1) are stored" acl_private
acl_rclone() {
	printf 'rclone acl\n' >"$T/rcacl.txt"
	rclone_s3 bob -vv --dump headers copyto "$T/rcacl.txt" "s3g:$WFS/acl/rclone.txt" >"$T/rcacl.log" 2>&1 ||
		{ tail -n 20 "$T/rcacl.log"; return 1; }
	grep -qi '^x-amz-acl: private' "$T/rcacl.log" || { echo "rclone sent no X-Amz-Acl: private"; return 1; }
	if rclone_s3 bob --s3-acl public-read copyto "$T/rcacl.txt" "s3g:$WFS/acl/rclone-public.txt"; then
		echo "rclone --s3-acl public-read uploaded"; return 1
	fi
	absent "$WFS" acl/rclone-public.txt
}
tc "rclone's default X-Amz-Acl: private is stored, --s3-acl public-read refused" acl_rclone
# b3err PROFILE 'CALL' [ARGS...] — boto3 makes CALL (s3.<...>(...), with
# datetime at hand); a ClientError prints "CODE MESSAGE" and fails
b3err() {
	local p=$1 call=$2; shift 2
	boto3_py "$p" "
import datetime
try:
    $call
except ClientError as e:
    print(e.response['Error']['Code'], e.response['Error']['Message']); sys.exit(1)
" "$@"
}
wo_grant() {	# a grant the backend would accept: read for everyone
	local out
	out=$(b3err eric 's3.put_object(Bucket=sys.argv[1], Key="drop/public", Body=b"x",
        GrantRead="uri=\"http://acs.amazonaws.com/groups/global/AllUsers\"")' "$WFP") &&
		{ echo "stored: $out"; return 1; }
	echo "$out"
	grep -q '^AccessDenied .*not allowed through s3gate' <<<"$out" && absent "$WFP" drop/public &&
		b3err eric 's3.put_object(Bucket=sys.argv[1], Key="drop/bofc", Body=b"x", ACL="bucket-owner-full-control")' "$WFP"
}
tc "WriteOnly drop box: boto3 GrantRead AllUsers refused, ACL bucket-owner-full-control stored" wo_grant
tdeny "ReadWrite: boto3 put_object with an object lock retention is refused, says why" AccessDenied \
	"owner or member rights \(x-amz-object-lock" b3err bob 's3.put_object(Bucket=sys.argv[1], Key="locked",
        Body=b"x", ObjectLockMode="COMPLIANCE", ObjectLockRetainUntilDate=datetime.datetime(2099, 1, 1))' "$WFS"
tdeny "ReadWrite: boto3 create_multipart_upload with a legal hold is refused" AccessDenied "." \
	b3err bob 's3.create_multipart_upload(Bucket=sys.argv[1], Key="held", ObjectLockLegalHoldStatus="ON")' "$WFS"
tdeny "ReadWrite: boto3 delete_object bypassing governance retention is refused" AccessDenied "." \
	b3err bob 's3.delete_object(Bucket=sys.argv[1], Key="from-bob/data.bin", BypassGovernanceRetention=True)' "$WFS"
tdeny "owner: object lock headers are a bucket configuration call (retention not in bucket_config_ops)" \
	AccessDenied "bucket configuration call the operator does not allow" b3err frank 's3.put_object(
        Bucket=sys.argv[1], Key="locked", Body=b"x", ObjectLockMode="GOVERNANCE",
        ObjectLockRetainUntilDate=datetime.datetime(2099, 1, 1))' "$WF"
still_there() { backend_aws s3api head-object --bucket "$WFS" --key from-bob/data.bin >/dev/null && absent "$WFS" locked && absent "$WF" locked; }
tc "nothing locked, nothing deleted at the backend" still_there

# 3. headers in the query string
q_acl() {
	answer 403 AccessDenied 'parameter [^<]*x-amz-acl[^<]* is a header in the query string' bob PUT \
		"/$WFS/q-acl?x-amz-acl=public-read" @"$T/small" && absent "$WFS" q-acl
}
tc "ReadWrite: PUT ?x-amz-acl=public-read is refused, nothing stored" q_acl
q_copy() {	# bob owns ws-bob; the source is frank's, which bob cannot read
	answer 403 AccessDenied "x-amz-copy-source" bob PUT \
		"/$WB/q-copy?x-amz-copy-source=$WF%2Fprivate%2Fdoc" && absent "$WB" q-copy
}
tc "owner of ws-bob: PUT ?x-amz-copy-source=ws-frank/private/doc is refused, nothing stored" q_copy
hoisted_ok() {	# a presigned GET shaped as the JavaScript SDK v3 makes them
	boto3_py frank '
import urllib.request
from botocore.awsrequest import AWSRequest
from botocore.auth import S3SigV4QueryAuth
from botocore.credentials import Credentials
req = AWSRequest(method="GET", url=EP + "/" + sys.argv[1] + "/private/doc?x-id=GetObject&X-Amz-Content-Sha256=UNSIGNED-PAYLOAD")
S3SigV4QueryAuth(Credentials(AKID, SECRET), "s3", REGION, expires=300).add_auth(req)
url = req.prepare().url
print(url)
r = urllib.request.urlopen(url)
print("HTTP", r.status)
assert r.status == 200 and r.read().startswith(b"frank private")
' "$WF"
}
tc "a presigned GET with x-id and X-Amz-Content-Sha256 in the query (JS SDK v3 shape) is served" hoisted_ok

# 4. DeleteObjects declaring ISO-8859-1 under a prefix grant: frank may
# write ws-bob/é/ only; RGW would read the key bytes "é/" as Latin-1 "Ã©/"
latin1_delete() {
	local body=$T/latin1.xml md5
	s3gate_admin grant "$WB/é/" "$F" ReadWrite >/dev/null || return 1
	backend_aws s3api put-object --bucket "$WB" --key "Ã©/victim" --body "$T/small" >/dev/null || return 1
	wait_sigv4_status frank "$(s3_url "$WB/é/none")" 404 1500 >/dev/null || { echo "grant not in effect"; return 1; }
	printf '<?xml version="1.0" encoding="ISO-8859-1"?><Delete><Object><Key>é/victim</Key></Object></Delete>' >"$body"
	md5=$(openssl dgst -md5 -binary "$body" | base64)
	answer 400 MalformedXML "." frank POST "/$WB?delete" "Content-MD5:$md5" @"$body" || return 1
	backend_aws s3api head-object --bucket "$WB" --key "Ã©/victim" >/dev/null ||
		{ echo "Ã©/victim was deleted"; return 1; }
	# the same body in UTF-8 deletes what the grant covers
	backend_aws s3api put-object --bucket "$WB" --key "é/mine" --body "$T/small" >/dev/null || return 1
	printf '<?xml version="1.0" encoding="UTF-8"?><Delete><Object><Key>é/mine</Key></Object></Delete>' >"$body"
	md5=$(openssl dgst -md5 -binary "$body" | base64)
	served '<Deleted>' frank POST "/$WB?delete" "Content-MD5:$md5" @"$body" && absent "$WB" "é/mine"
}
tc "DeleteObjects declaring ISO-8859-1 under a prefix grant: 400 MalformedXML, the Latin-1 twin survives" latin1_delete

# 5. a SigV2 link (aws-cli v1's default presign) cannot be extended with
# parameters V2 does not sign
v2_link() {
	local url c extra akid secret
	read -r akid secret _ <"$T/profiles/frank"
	PROFILE_S3V4=0 profile_set frank-v2 "$akid" "$secret"
	url=$(awsv1 frank-v2 s3 presign "s3://$WF/private/doc" --expires-in 300) || return 1
	case $url in *AWSAccessKeyId=*Signature=*) ;; *) echo "not a SigV2 link: $url"; return 1 ;; esac
	c=$(curl -s -o "$T/v2.out" -w '%{http_code}' --max-time 10 "$url")
	[ "$c" = 200 ] && same_file "$T/fobj" "$T/v2.out" || { echo "plain link: HTTP $c"; return 1; }
	for extra in retention legal-hold attributes "list-type=2" "x-amz-acl=public-read"; do
		c=$(curl -s -o "$T/v2.out" -w '%{http_code}' --max-time 10 "$url&$extra")
		echo "&$extra: HTTP $c $(head -c 300 "$T/v2.out")"
		[ "$c" = 403 ] && grep -q 'Signature Version 2' "$T/v2.out" || return 1
	done
}
tc "a SigV2 link works; with ?retention, ?legal-hold, ?attributes, list-type, x-amz-acl added: 403" v2_link

# ---- sync of a changed document ----------------------------------------------------

URL_SHARED=""
if ready; then
	awsv1 eric s3 cp "$T/small" "s3://$WES/doc" >/dev/null 2>&1
	URL_SHARED=$(s3_url "$WES/doc")
fi
t_frank_reads_shared() { [ "$(sigv4_status frank "$URL_SHARED")" = 200 ]; }
tc "before: frank reads ws-eric-shared (ReadWrite grant from the document)" t_frank_reads_shared
sync_changed() {
	local out
	"$PY3" - "$EXAMPLE" "$T/changed.src.yaml" <<'EOF' || return 1
import sys
s = open(sys.argv[1]).read()
block = '''    - bucketName: ws-eric-shared
      grantee: frank
      permission: ReadWrite
      grantedAt: "2025-10-20T14:32:22.153000+00:00"
'''
assert block in s, "the frank grant block is not in the example"
open(sys.argv[2], "w").write(s.replace(block, ""))
EOF
	story_doc "$T/changed.src.yaml" >"$T/changed.yaml"
	out=$(s3gate_sync "$T/changed.yaml") || { echo "$out"; return 1; }
	echo "$out"
	grep -q "^- grant $WES $F\$" <<<"$out" || { echo "no '- grant $WES $F' line"; return 1; }
}
tc "sync of the document without frank's grant prints '- grant ws-eric-shared frank'" sync_changed
tms "frank is denied on ws-eric-shared within a second of the sync" wait_sigv4_status frank "$URL_SHARED" 403 1000
tdeny "frank's denial (v2 get-object) names the bucket and how to ask" AccessDenied \
	"GetObject on bucket $WES needs access you do not have\. You can request access" \
	awsv2 frank s3api get-object --bucket "$WES" --key doc "$T/denied.out"
sync_again() {
	local out
	out=$(s3gate_sync "$T/changed.yaml") || { echo "$out"; return 1; }
	echo "$out"
	[ "$(grep -v '^+ backend\|^ *$' <<<"$out")" = "no changes" ]
}
tc "sync of the same input again prints no changes" sync_again
after_sync_member() {	# the platform's resources are the truth: member add is undone
	local c
	c=$(wait_sigv4_status alice "$URL_FDOC" 403 1000) || { echo "$c"; return 1; }
	echo "$c"
}
tms "the full sync also removed alice's membership (not in the resources)" after_sync_member
tc "ListBuckets frank (v1) after the sync: his three only" list_is awsv1 frank "$WF $WFS $WFP"

# ---- the access log ------------------------------------------------------------------

alog_lines() {	# every line one JSON object with the fields
	"$PY3" - "$S3GATE_DIR/access.log" <<'EOF'
import json, sys
n = 0
for i, line in enumerate(open(sys.argv[1]), 1):
    r = json.loads(line)
    for f in ("request_id", "principal", "action", "decision", "reason", "status", "bucket", "key"):
        assert f in r, "line %d lacks %s: %s" % (i, f, line)
    if r["decision"] == "-":
        # no policy decision: the request failed before (authentication, parsing)
        assert r["error"] and r["status"] >= 400 and r["action"] is None, "undecided but served: " + line
    else:
        assert r["decision"] in ("allow", "deny"), line
        assert r["action"] and r["reason"], "a decision without action or reason: " + line
    n += 1
print(n, "lines")
EOF
}
tc "the access log: every line is one JSON object with principal, action, decision, reason" alog_lines
alog_count() {	# three requests -> exactly three lines naming the key
	local k=logcheck-$(rand_id) i n
	for i in 1 2 3; do sigv4_status frank "$(s3_url "$WF/$k")" >/dev/null; done
	three() { [ "$(grep -c "\"key\":\"$k\"" "$S3GATE_DIR/access.log")" -ge 3 ]; }
	wait_for 10 three
	sleep 0.3	# (a fourth would come now)
	n=$(grep -c "\"key\":\"$k\"" "$S3GATE_DIR/access.log")
	echo "$n lines for 3 requests"
	[ "$n" = 3 ]
}
tc "the access log: one line per request" alog_count
alog_denial() {
	local l
	l=$(alog_last "$S3GATE_DIR" "r['principal']=='$BO' and r['bucket']=='$WF' and r['action']=='PutObject' and r['decision']=='deny'") || { echo "$l"; return 1; }
	echo "$l"
	grep -q '"reason":"read-only grant"' <<<"$l" && grep -q '"status":403' <<<"$l"
}
tc "the access log: bob's ReadOnly put: deny, reason read-only grant" alog_denial
alog_nogrant() {
	local l
	l=$(alog_last "$S3GATE_DIR" "r['principal']=='$BO' and r['bucket']=='$WF' and r['action']=='GetObject' and r['decision']=='deny'") || { echo "$l"; return 1; }
	echo "$l"
	grep -q '"reason":"no grant"' <<<"$l"
}
tc "the access log: bob's revoked get: deny, reason no grant" alog_nogrant
alog_allow() {
	local l
	l=$(alog_last "$S3GATE_DIR" "r['principal']=='$A' and r['bucket']=='$WF' and r['decision']=='allow'") || { echo "$l"; return 1; }
	echo "$l"
	grep -q '"reason":"member"' <<<"$l"
}
tc "the access log: alice's member access: allow, reason member" alog_allow

# ---- clean up: the backend keeps the data in memory -------------------------------
if ready; then
	for b in $WF $WFS $WFP $WE $WES $WA $WA2 $WA3 $WB; do
		backend_aws s3 rm --recursive "s3://$b/" >/dev/null 2>&1
	done
	s3gate_stop story || t_fail "s3gate exits cleanly" "see $T/story/s3gate.log"
fi
exit 0
