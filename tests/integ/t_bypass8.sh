#!/bin/bash
# Eighth audit: x-amz-checksum-* on bodies s3gate relays (the newest code:
# conn_body_checksum_start, stream_verify_body), range requests through a
# --max-uses link, version and upload listings under a prefix grant, the
# request rate across two workers.
# Requests hand-made (rawhttp.py) or signed by curl; what RGW holds read
# with the service key.
#
# Found and fixed:
#   an aws-chunked PUT with an x-amz-checksum-* header beside its chunks was
#     stored whatever the header said (200): signed chunks
#     (STREAMING-AWS4-HMAC-SHA256-PAYLOAD) with the CRC32 or SHA-256 of
#     other bytes, or an unsigned-trailer body with its right trailer and a
#     header sum of other bytes.  The header was relayed, Ceph pacific
#     ignores it.  Now the decoder checks a signed-chunks body against the
#     header (400 BadDigest, the last byte never sent); a trailer-mode body
#     with a header sum too is 400 InvalidRequest.
#   the owner's DeleteObjects whose x-amz-checksum-crc32 was of another XML
#     deleted what it named (200): only a prefix grantee's body, read first,
#     was checked.  Now every DeleteObjects body is summed on the way.
# Tried and held (each checked below):
#   plain PUTs: X-AMZ-CHECKSUM-CRC32 in upper case, CRC32C and CRC64NVME
#     (1 MiB, 100-continue), UploadPart (no part kept), Content-Length 3 for
#     5 bytes sent, a wrong sum with a PUT pipelined behind it, a signed
#     SHA-256 payload with a wrong CRC32, over a TLS listener -- 400, nothing
#     stored; right sums and aws-cli v1's defaults (CRC32 header over http,
#     aws-chunked over https, SHA256, a 9 MiB multipart cp, delete-objects):
#     stored or deleted, no false BadDigest;
#   ListMultipartUploads and ListObjectVersions under a prefix grant
#     (key-marker, upload-id-marker, version-id-marker outside the prefix,
#     delimiter, encoding-type=url, a repeated or empty prefix, "shared"
#     without its slash, a ../ in it), ListObjects with a marker and V2 with
#     start-after outside: no name outside shared/;
#   a --max-uses 1 link: multi-range GETs (RGW serves the first range; the
#     size is learned from its Content-Range), overlapping and unsatisfiable
#     ranges, a HEAD first, a stale If-Range: within the budget;
#   quota --rate 5 with workers 2: 40 HEADs and ranged GETs at once admit no
#     more than quota.h's bound (a burst per worker, then the rate).
# Read in the code, left: a checksum hoisted into a presigned URL's query
#   is relayed unchecked (action.c says why: the JS SDK signs the sum of an
#   empty body into every such URL).
# Workspaces: ws-b8o (b8o, owner of bucket ws-b8o); b8g holds ReadWrite on
#   ws-b8o/shared/ only; ws-b8r (b8r, ReadOnly on ws-b8o, rate-limited).
. "$(dirname "$0")/lib.sh"

SECRET_TEXT="the secret of b8o $(rand_id)"
B=ws-b8o

need_s3gate "bypass8" "checks s3gate's own decisions: not meaningful against RGW"

PORT8=$(free_port)
s3gate_start b8 "workers 2" "listen 127.0.0.1:$PORT8" "public_url http://127.0.0.1:$PORT8" ||
	{ t_fail "s3gate starts" "see $T/b8/s3gate.log"; exit 1; }
setup() {
	ws_setup b8o "$B" && ws_setup b8r ws-b8r && s3gate_cred b8o >/dev/null && s3gate_cred b8g >/dev/null &&
		s3gate_admin grant "$B/shared/" b8g ReadWrite &&
		printf '%s\n' "$SECRET_TEXT" >"$T/secret" &&
		backend_aws s3api put-object --bucket "$B" --key private/doc --body "$T/secret" >/dev/null &&
		backend_aws s3api put-object --bucket "$B" --key shared/doc --body "$T/secret" >/dev/null
}
if ! setup >"$T/setup.out" 2>&1; then
	t_fail "setup: workspace, credentials, grant, objects" "$(tail -n 20 "$T/setup.out")"; exit 1
fi
read -r RAW_AKID RAW_SECRET _ <"$T/profiles/b8o"
export RAW_AKID RAW_SECRET RAW_REGION=$S3_REGION
. "$LIB_DIR/helpers/rawreq.sh"
rgw_has() { backend_aws s3api head-object --bucket "$B" --key "$1" >/dev/null 2>&1; }
at_rgw() { rgw_has "$1" && echo yes || echo no; }
printf 'hello' >"$T/hello"
printf 'world' >"$T/world"

# ---- x-amz-checksum-* -----------------------------------------------------------------
# stored_as KEY FILE — RGW holds KEY with FILE's bytes
stored_as() {
	backend_aws s3 cp "s3://$B/$1" "$T/back.out" >/dev/null 2>&1 && same_file "$2" "$T/back.out"
}
# refused_nothing NAME KEY — the last raw answer 400 and RGW holds no KEY
refused_nothing() {
	if [ "$R_STATUS" = 400 ] && ! rgw_has "$2"; then
		t_pass "$1: 400 $(resp_code), nothing stored"
	else
		t_fail "$1: 400, nothing stored" "HTTP $R_STATUS $(resp_msg); at RGW: $(at_rgw "$2")"
	fi
}
# chunked_hdr_put KEY HEADER-LINES — an unsigned-trailer aws-chunked PUT of
# "hello" with its right crc32 trailer and the extra (signed) header lines
chunked_hdr_put() {
	local body="5\r\nhello\r\n0\r\nx-amz-checksum-crc32:$(b64sum crc32 "$T/hello")\r\n\r\n"
	RAW_PAYLOAD=STREAMING-UNSIGNED-PAYLOAD-TRAILER raw "PUT /$B/$1 HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Encoding: aws-chunked\r\nx-amz-decoded-content-length: 5\r\nx-amz-trailer: x-amz-checksum-crc32\r\n$2{SIG}Content-Length: $(printf '%b' "$body" | wc -c)\r\nConnection: close\r\n\r\n$body"
}
chunked_hdr_put ck-ctl ""
[ "$R_STATUS" = 200 ] && stored_as ck-ctl "$T/hello" &&
	t_pass "control: an aws-chunked PUT with its right crc32 trailer: 200, stored" ||
	t_fail "control: an aws-chunked PUT with its right crc32 trailer stored" "HTTP $R_STATUS $(resp_msg)"
chunked_hdr_put ck-hdr-sha "x-amz-checksum-sha256: $(b64sum sha256 "$T/world")\r\n"
refused_nothing "an aws-chunked PUT, right crc32 trailer, x-amz-checksum-sha256 header of other bytes" ck-hdr-sha
chunked_hdr_put ck-hdr-crc "x-amz-checksum-crc32: $(b64sum crc32 "$T/world")\r\n"
refused_nothing "an aws-chunked PUT, right crc32 trailer, x-amz-checksum-crc32 header of other bytes" ck-hdr-crc
# signed_chunked_put KEY DATA-FILE [name:value...] — a STREAMING-AWS4-HMAC-SHA256-PAYLOAD
# PUT (every chunk signed, no trailer) with the extra headers (signed); prints the status
signed_chunked_put() {
	$PY3 - "$LIB_DIR/helpers" "$S3GATE_PORT" "/$B/$1" "$2" "${@:3}" <<'PYEOF' 2>"$T/scp.err"
import os, sys
sys.path.insert(0, sys.argv[1])
import exhaust, rawhttp
port, path, data = int(sys.argv[2]), sys.argv[3], open(sys.argv[4], "rb").read()
extra = [tuple(h.split(":", 1)) for h in sys.argv[5:]]
hdr, seed, k, amzdate, scope = rawhttp.sigv4_sign(
    "PUT", path, "127.0.0.1", os.environ["RAW_AKID"], os.environ["RAW_SECRET"], os.environ["RAW_REGION"],
    "STREAMING-AWS4-HMAC-SHA256-PAYLOAD", [("x-amz-decoded-content-length", str(len(data)))] + extra)
body = exhaust.awschunked_body("signed", data, 65536, 0, seed, k, amzdate, scope)
head = ("PUT %s HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Encoding: aws-chunked\r\n"
        "x-amz-decoded-content-length: %d\r\n%s%sContent-Length: %d\r\nConnection: close\r\n\r\n"
        % (path, len(data), "".join("%s: %s\r\n" % (n, v) for n, v in extra), hdr, len(body))).encode()
resp = rawhttp.send_until_close(port, head + body, 30)
open(os.environ["T"] + "/resp", "wb").write(resp)
print(resp.split(b" ", 2)[1].decode() if resp else "000")
PYEOF
}
head -c 200000 /dev/urandom >"$T/r200k"
c=$(signed_chunked_put ck-sig-ctl "$T/r200k")
[ "$c" = 200 ] && stored_as ck-sig-ctl "$T/r200k" &&
	t_pass "control: a signed-chunks aws-chunked PUT (200 KB, no checksum): 200, stored whole" ||
	t_fail "control: a signed-chunks aws-chunked PUT stored whole" "HTTP $c $(cat "$T/scp.err")"
for alg in crc32 sha256; do
	R_STATUS=$(signed_chunked_put "ck-sig-bad-$alg" "$T/r200k" "x-amz-checksum-$alg:$(b64sum $alg "$T/hello")")
	refused_nothing "a signed-chunks aws-chunked PUT with an x-amz-checksum-$alg header of other bytes" "ck-sig-bad-$alg"
	c=$(signed_chunked_put "ck-sig-ok-$alg" "$T/r200k" "x-amz-checksum-$alg:$(b64sum $alg "$T/r200k")")
	[ "$c" = 200 ] && stored_as "ck-sig-ok-$alg" "$T/r200k" &&
		t_pass "a signed-chunks aws-chunked PUT with its right x-amz-checksum-$alg header: 200, stored whole" ||
		t_fail "a signed-chunks aws-chunked PUT with its right x-amz-checksum-$alg stored" "HTTP $c $(resp_msg)"
done

# plain bodies: the header's name in another case, CRC32C and CRC64NVME, an
# UploadPart, Expect: 100-continue
# sum_put KEY FILE HEADER... — status of b8o's signed PUT of FILE (answer in $T/sum.body)
sum_put() {	# (SUM_QUERY: a query string to add)
	local key=$1 file=$2; shift 2
	local args=() h
	for h; do args+=(-H "$h"); done
	curl_sigv4 b8o -o "$T/sum.body" -w '%{http_code}' --max-time 30 -X PUT "${args[@]}" \
		--data-binary @"$file" "$(s3_url "$B/$key")${SUM_QUERY:-}"
}
sum_refused() { # NAME KEY STATUS
	if [ "$3" = 400 ] && grep -q '<Code>BadDigest</Code>' "$T/sum.body" && ! rgw_has "$2"; then
		t_pass "$1: 400 BadDigest, nothing stored"
	else
		t_fail "$1: 400 BadDigest, nothing stored" "HTTP $3 $(head -c 200 "$T/sum.body"); at RGW: $(at_rgw "$2")"
	fi
}
c=$(sum_put pl-case "$T/hello" "X-AMZ-CHECKSUM-CRC32: $(b64sum crc32 "$T/world")")
sum_refused "a plain PUT, X-AMZ-CHECKSUM-CRC32 (upper case) of other bytes" pl-case "$c"
head -c 1048576 /dev/urandom >"$T/r1m"
for alg in crc32c crc64nvme; do
	c=$(sum_put "pl-bad-$alg" "$T/r1m" "x-amz-checksum-$alg: $(b64sum $alg "$T/hello")")
	sum_refused "a plain 1 MiB PUT (100-continue), x-amz-checksum-$alg of other bytes" "pl-bad-$alg" "$c"
	c=$(sum_put "pl-ok-$alg" "$T/r1m" "x-amz-checksum-$alg: $(b64sum $alg "$T/r1m")")
	[ "$c" = 200 ] && stored_as "pl-ok-$alg" "$T/r1m" &&
		t_pass "a plain 1 MiB PUT with its right x-amz-checksum-$alg: 200, stored whole" ||
		t_fail "a plain 1 MiB PUT with its right x-amz-checksum-$alg stored" "HTTP $c $(head -c 200 "$T/sum.body")"
done
# UploadPart: a part with a wrong sum is refused, and is not among the upload's parts
up_part() {
	local up key=mpu-sum
	up=$(curl_sigv4 b8o -X POST --max-time 10 "$(s3_url "$B/$key")?uploads=" |
		sed -n 's:.*<UploadId>\([^<]*\)</UploadId>.*:\1:p')
	[ -n "$up" ] || { echo "no upload id"; return 1; }
	c=$(SUM_QUERY="?partNumber=1&uploadId=$up" sum_put "$key" "$T/r1m" "x-amz-checksum-crc32: $(b64sum crc32 "$T/hello")")
	n=$(backend_aws s3api list-parts --bucket "$B" --key "$key" --upload-id "$up" --query 'length(Parts || `[]`)' --output text)
	c2=$(SUM_QUERY="?partNumber=2&uploadId=$up" sum_put "$key" "$T/r1m" "x-amz-checksum-crc32: $(b64sum crc32 "$T/r1m")")
	n2=$(backend_aws s3api list-parts --bucket "$B" --key "$key" --upload-id "$up" --query 'length(Parts || `[]`)' --output text)
	backend_aws s3api abort-multipart-upload --bucket "$B" --key "$key" --upload-id "$up" >/dev/null 2>&1
	[ "$c" = 400 ] && [ "$n" = 0 ] && [ "$c2" = 200 ] && [ "$n2" = 1 ] ||
		{ echo "wrong: HTTP $c, parts $n; right: HTTP $c2, parts $n2"; return 1; }
}
t_check "UploadPart with a wrong x-amz-checksum-crc32: 400, no part; the right one: 200, one part" up_part
# DeleteObjects whose checksum is of another XML: nothing deleted
del_sum() {
	backend_aws s3api put-object --bucket "$B" --key keepme --body "$T/hello" >/dev/null || return 1
	printf '<Delete><Object><Key>keepme</Key></Object></Delete>' >"$T/del.xml"
	c=$(curl_sigv4 b8o -o "$T/sum.body" -w '%{http_code}' --max-time 10 -X POST \
		-H "x-amz-checksum-crc32: $(b64sum crc32 "$T/hello")" -H "Content-MD5: $(openssl md5 -binary "$T/del.xml" | base64)" \
		--data-binary @"$T/del.xml" "$(s3_url "$B")?delete=")
	[ "$c" = 400 ] && rgw_has keepme || { echo "HTTP $c, keepme at RGW: $(at_rgw keepme)"; return 1; }
}
t_check "DeleteObjects with an x-amz-checksum-crc32 of other bytes: 400, nothing deleted" del_sum
# no false BadDigest: aws-cli v1 (botocore 1.43 sends CRC32 by default) puts and copies
cli_default() {
	head -c 9437184 /dev/urandom >"$T/r9m"
	awsv1 b8o s3api put-object --bucket "$B" --key cli-put --body "$T/r1m" >/dev/null &&
		awsv1 b8o s3 cp "$T/r9m" "s3://$B/cli-cp" &&
		awsv1 b8o s3api put-object --bucket "$B" --key cli-sha --body "$T/r1m" --checksum-algorithm SHA256 >/dev/null &&
		stored_as cli-put "$T/r1m" && stored_as cli-cp "$T/r9m" && stored_as cli-sha "$T/r1m"
}
if [ -n "$AWSV1" ]; then
	t_check "aws-cli v1 put-object (CRC32 default, SHA256) and a 9 MiB multipart cp: stored whole, no BadDigest" cli_default
else
	t_skip "aws-cli v1 puts with checksums" "aws-cli v1 not found"
fi
cli_delete() {
	backend_aws s3api put-object --bucket "$B" --key del1 --body "$T/hello" >/dev/null &&
		backend_aws s3api put-object --bucket "$B" --key del2 --body "$T/hello" >/dev/null || return 1
	awsv1 b8o s3api delete-objects --bucket "$B" --delete '{"Objects":[{"Key":"del1"},{"Key":"del2"}]}' >"$T/del.out" ||
		{ cat "$T/del.out"; return 1; }
	! rgw_has del1 && ! rgw_has del2 || { echo "still at RGW: $(at_rgw del1) $(at_rgw del2)"; return 1; }
}
if [ -n "$AWSV1" ]; then
	t_check "aws-cli v1 delete-objects (its CRC32 header checked): both deleted" cli_delete
else
	t_skip "aws-cli v1 delete-objects" "aws-cli v1 not found"
fi

# ---- version and upload listings under a prefix grant (b8g: shared/) -------------------
lst_setup() {
	backend_aws s3api create-multipart-upload --bucket "$B" --key private/up-secret >/dev/null &&
		backend_aws s3api create-multipart-upload --bucket "$B" --key shared/up >/dev/null &&
		backend_aws s3api put-object --bucket "$B" --key private/zz-secret --body "$T/hello" >/dev/null &&
		backend_aws s3api put-object --bucket "$B" --key sharedX-secret --body "$T/hello" >/dev/null
}
lst_setup >"$T/lst.out" 2>&1 || t_fail "setup: uploads and objects for the listings" "$(tail -n 5 "$T/lst.out")"
c=$(sigv4_status b8g "$(s3_url "$B")?prefix=shared%2F&uploads=")
curl_sigv4 b8g --max-time 10 "$(s3_url "$B")?prefix=shared%2F&uploads=" >"$T/l0.out"
[ "$c" = 200 ] && grep -q "<Key>shared/up</Key>" "$T/l0.out" &&
	t_pass "control: b8g lists the uploads under shared/ (200, shared/up)" ||
	t_fail "control: b8g lists the uploads under shared/" "HTTP $c $(head -c 300 "$T/l0.out")"
for q in "uploads=&prefix=shared%2F&key-marker=private%2F" "uploads=&prefix=shared%2F&key-marker=private%2Fa&upload-id-marker=x" \
	"uploads=&prefix=shared%2F&delimiter=%2F" "uploads=&prefix=shared&delimiter=%2F" "uploads=&prefix=shared%2F&encoding-type=url" \
	"uploads=&prefix=shared%2F&max-uploads=1000&key-marker=" "uploads=&prefix=shared%2F&prefix=" "uploads=&prefix=" \
	"versions=&prefix=shared%2F&key-marker=private%2F" "versions=&prefix=shared%2F&key-marker=private%2Fa&version-id-marker=null" \
	"versions=&prefix=shared%2F&delimiter=e" "versions=&prefix=shared%2F&encoding-type=url&delimiter=%2F" \
	"versions=&prefix=shared" "versions=&prefix=shared%2F&prefix=" "versions=&prefix=shared%2F%2E%2E%2F" \
	"list-type=2&prefix=shared%2F&start-after=private%2F" "prefix=shared%2F&marker=private%2F"; do
	# curl 7.88 signs the query in the order given: sorted here
	q=$(tr '&' '\n' <<<"$q" | LC_ALL=C sort | paste -sd '&')
	c=$(curl_sigv4 b8g -o "$T/l.out" -w '%{http_code}' --max-time 10 "$(s3_url "$B")?$q")
	if ! grep -q "secret" "$T/l.out" && { [ "$c" = 200 ] || [ "${c:0:1}" = 4 ]; }; then
		t_pass "b8g (shared/) lists ?$q: $c, no name outside shared/"
	else
		t_fail "b8g (shared/) lists ?$q: nothing outside shared/" "HTTP $c: $(grep -o '<Key>[^<]*' "$T/l.out" | head -5 | tr '\n' ' ')"
	fi
done

# ---- a --max-uses 1 link's byte budget against ranges and HEAD ------------------------
head -c 1000000 /dev/urandom >"$T/obj1m"
backend_aws s3api put-object --bucket "$B" --key linked --body "$T/obj1m" >/dev/null
# link_total KIND N CURL-ARGS... — the body bytes N requests through a fresh
# --max-uses 1 link got (each request with the curl arguments), statuses in $T/codes
link_total() {
	local url total=0 i n
	url=$(s3gate_admin presign --principal b8o --max-uses 1 "s3://$B/linked" | tail -n 1) && sleep 0.3
	: >"$T/codes"
	for i in $(seq "$1"); do
		shift 0
		n=$(curl -s -o "$T/lk.out" -w '%{http_code} %{size_download}' --max-time 20 "${@:2}" "$url")
		echo "${n% *}" >>"$T/codes"
		total=$((total + ${n#* }))
	done
	echo "$total"
}
for r in "bytes=0-499999,500000-999999" "bytes=0-0,1-" "bytes=0-999999,0-999999" "bytes=1-,0-0" "bytes=0-,0-"; do
	tot=$(link_total 4 -H "Range: $r")
	echo "# $r: $(tr '\n' ' ' <"$T/codes") $tot $(head -c 300 "$T/lk.out" | tr -c "[:print:]" .)"
	# one use is 1 000 000 bytes; an answer past the budget is allowed (the reservation's rule)
	if [ "$tot" -le 2000000 ]; then
		t_pass "a --max-uses 1 link, 4 GETs with Range: $r: $tot bytes ($(tr '\n' ' ' <"$T/codes")), within the budget"
	else
		t_fail "a --max-uses 1 link with Range: $r within its budget" "$tot bytes: $(tr '\n' ' ' <"$T/codes")"
	fi
done
# a HEAD first (the size learned from it), then GETs; and an If-Range that does not match
tot=$( { url=$(s3gate_admin presign --principal b8o --max-uses 1 "s3://$B/linked" | tail -n 1); sleep 0.3
	curl -s -o /dev/null -I --max-time 10 "$url"; t=0
	for i in 1 2 3; do n=$(curl -s -o /dev/null -w '%{size_download}' --max-time 20 -H 'Range: bytes=0-' -H 'If-Range: "nope"' "$url"); t=$((t + n)); done; echo $t; } )
[ "$tot" -le 2000000 ] && t_pass "a --max-uses 1 link: HEAD, then 3 GETs with a stale If-Range: $tot bytes, within the budget" ||
	t_fail "a --max-uses 1 link with HEAD and If-Range within its budget" "$tot bytes"

# ---- request rate with workers 2: 40 requests at once, on 40 connections -----------------
# b8r (ReadOnly on ws-b8o) with --rate 5: the two workers share their
# windows every 25 ms (quotashm.h), so at most a burst per worker and the
# refill over the burst's time get through, HEAD and ranged GET alike
rate_two_workers() {
	s3gate_admin grant "$B" b8r ReadOnly >/dev/null && s3gate_cred b8r >/dev/null &&
		s3gate_admin quota set b8r --rate 5 >/dev/null || return 1
	sleep 1.5
	local url t0 t1 i n200 secs
	url=$(s3_url "$B/shared/doc")
	t0=$(date +%s%N)
	for ((i = 0; i < 40; i++)); do
		if [ $((i % 2)) = 0 ]; then sigv4_status b8r "$url" -I >"$T/rate.$i" &
		else sigv4_status b8r "$url" -H 'Range: bytes=0-0' >"$T/rate.$i" & fi
	done
	wait
	t1=$(date +%s%N)
	n200=$(for f in "$T"/rate.*; do cat "$f"; echo; done | grep -c '^20[06]$' || true)
	secs=$(( (t1 - t0) / 1000000 ))
	echo "40 requests in $secs ms: $n200 admitted"
	# quota.h's overshoot bound: each worker its burst (5) before their first
	# exchange, then 5/s over the time they took, plus one for a refill's rounding
	[ "$n200" -ge 1 ] && [ "$n200" -le $((2 * 5 + 5 * secs / 1000 + 1)) ]
}
t_check "workers 2, quota --rate 5: 40 HEADs and ranged GETs at once admit at most a burst per worker and the refill" rate_two_workers

# ---- plain bodies framed oddly, under a checksum -------------------------------------------
# Content-Length 3 for "hello" with the sum of "hello": the body is "hel" (the
# rest a broken next request): 400, nothing stored
raw "PUT /$B/cl-short HTTP/1.1\r\nHost: 127.0.0.1\r\nx-amz-checksum-crc32: $(b64sum crc32 "$T/hello")\r\n{SIG}Content-Length: 3\r\n\r\nhello"
refused_nothing "a plain PUT, Content-Length 3 with the CRC32 of the 5 bytes sent" cl-short
# a wrong sum, then a right PUT pipelined behind it on the connection: the first stores nothing
SECOND=$(sig_lines PUT "/$B/pipe-2")
raw "PUT /$B/pipe-1 HTTP/1.1\r\nHost: 127.0.0.1\r\nx-amz-checksum-crc32: $(b64sum crc32 "$T/world")\r\n{SIG}Content-Length: 5\r\n\r\nhelloPUT /$B/pipe-2 HTTP/1.1\r\nHost: 127.0.0.1\r\n${SECOND}Content-Length: 5\r\nConnection: close\r\n\r\nworld"
st=$(resp_statuses)
[ "${st%% *}" = 400 ] && ! rgw_has pipe-1 &&
	t_pass "a wrong CRC32 with a PUT pipelined behind it: first 400, nothing stored as pipe-1 (answers: $st)" ||
	t_fail "a wrong CRC32 with a PUT pipelined behind it refused" "answers: $st; pipe-1 at RGW: $(at_rgw pipe-1)"
# a signed payload (x-amz-content-sha256 the body's hash) does not stand for the checksum
c=$(CURL_PAYLOAD_HASH=$(sha256sum "$T/hello" | cut -d' ' -f1) sum_put pl-signed "$T/hello" \
	"x-amz-checksum-crc32: $(b64sum crc32 "$T/world")")
sum_refused "a plain PUT with its signed SHA-256 but the CRC32 of other bytes" pl-signed "$c"

# ---- the same over TLS: a second s3gate, listener with tls ---------------------------------
tls_setup() {
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 \
		-subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 \
		-keyout "$T/tls.key" -out "$T/tls.pem" 2>/dev/null && chmod 600 "$T/tls.key" || return 1
	PORTT=$(free_port)
	s3gate_start b8t "listen 127.0.0.1:$PORTT tls" "tls_certificate $T/tls.pem $T/tls.key" || return 1
	S3GATE_ENDPOINT=https://127.0.0.1:$PORTT
	ws_setup b8o "$B" && s3gate_cred b8o b8ot >/dev/null
}
if tls_setup >"$T/tls.out" 2>&1; then
	S3_CA_BUNDLE=$T/tls.pem
	c=$(curl_sigv4 b8ot -o "$T/sum.body" -w '%{http_code}' --max-time 30 -X PUT \
		-H "x-amz-checksum-crc32: $(b64sum crc32 "$T/hello")" --data-binary @"$T/r1m" "$(s3_url "$B/tls-bad")")
	sum_refused "over TLS: a 1 MiB PUT with the CRC32 of other bytes" tls-bad "$c"
	c=$(curl_sigv4 b8ot -o "$T/sum.body" -w '%{http_code}' --max-time 30 -X PUT \
		-H "x-amz-checksum-crc32: $(b64sum crc32 "$T/r1m")" --data-binary @"$T/r1m" "$(s3_url "$B/tls-ok")")
	[ "$c" = 200 ] && stored_as tls-ok "$T/r1m" && t_pass "over TLS: a 1 MiB PUT with its right CRC32: 200, stored whole" ||
		t_fail "over TLS: a 1 MiB PUT with its right CRC32 stored" "HTTP $c $(head -c 200 "$T/sum.body")"
	if [ -n "$AWSV1" ]; then	# over https botocore sends aws-chunked with a CRC32 trailer
		awsv1 b8ot s3api put-object --bucket "$B" --key tls-cli --body "$T/r1m" >"$T/tls-cli.out" 2>&1 &&
			stored_as tls-cli "$T/r1m" && t_pass "over TLS: aws-cli v1 put-object (CRC32 default): stored whole" ||
			t_fail "over TLS: aws-cli v1 put-object stored" "$(tail -n 3 "$T/tls-cli.out")"
	fi
	S3_CA_BUNDLE=
else
	t_fail "setup: a TLS s3gate" "$(tail -n 5 "$T/tls.out")"
fi
