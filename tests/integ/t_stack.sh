#!/bin/bash
# The test stack itself: RGW answers and checks signatures; Redis answers.
. "$(dirname "$0")/lib.sh"

B=stack-$(rand_id)

# RGW's raw answer to a SigV4 request signed with KEY:SECRET (curl shows the
# error code: aws-cli v1 and v2 crash on RGW's errors, whose <Message> is empty)
rgw_curl() {
	local cred=$1; shift
	curl -sS --fail-with-body --max-time 10 --aws-sigv4 "aws:amz:us-east-1:s3" --user "$cred" \
		-H "x-amz-content-sha256: UNSIGNED-PAYLOAD" -w '\nHTTP %{http_code}\n' "$@"
}
anonymous_refused() {
	local code
	code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$RGW_ENDPOINT/$B")
	echo "HTTP $code"
	[ "$code" = 403 ]
}
put_get_back() {
	mkfile "$T/small" 1
	backend_aws s3 cp "$T/small" "s3://$B/small" &&
		backend_aws s3 cp "s3://$B/small" "$T/small.back" &&
		same_file "$T/small" "$T/small.back"
}
bad_payload_refused() {
	printf hello | curl -sS --max-time 10 -X PUT --data-binary @- -w '\nHTTP %{http_code}\n' \
		--aws-sigv4 "aws:amz:us-east-1:s3" --user "$RGW_ACCESS_KEY:$RGW_SECRET_KEY" \
		-H "x-amz-content-sha256: 2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9826" \
		"$RGW_ENDPOINT/$B/evil" | grep -q '^HTTP 4'
}
redis_ping() { [ "$(redis-cli -u "$REDIS_URL" ping)" = PONG ]; }
big_multipart() {	# 200 MiB through aws-cli's multipart upload, back byte for byte
	mkfile "$T/big" 200
	backend_aws s3 cp "$T/big" "s3://$B/big" &&
		backend_aws s3api head-object --bucket "$B" --key big | grep -q '"ETag": ".*-[0-9]*\\""' &&
		backend_aws s3 cp "s3://$B/big" "$T/big.back" && same_file "$T/big" "$T/big.back"
	local rc=$?
	rm -f "$T/big" "$T/big.back"
	backend_aws s3 rm "s3://$B/big" >/dev/null
	return $rc
}

t_check "rgw answers GET /" curl -sf -o /dev/null --max-time 5 "$RGW_ENDPOINT/"
t_check "rgw: service credentials create a bucket" backend_aws s3api create-bucket --bucket "$B"
t_check "rgw: an anonymous request is refused (403)" anonymous_refused
t_check "rgw: put and get back an object" put_get_back
t_check "rgw: 200 MiB multipart upload and download" big_multipart
t_expect_fail_code "rgw: a wrong secret gets SignatureDoesNotMatch" SignatureDoesNotMatch \
	rgw_curl "$RGW_ACCESS_KEY:wrong-secret" "$RGW_ENDPOINT/$B"
t_expect_fail_code "rgw: an unknown access key gets InvalidAccessKeyId" InvalidAccessKeyId \
	rgw_curl "AKIANOSUCHKEY0000000:x" "$RGW_ENDPOINT/$B"
t_check "rgw: a body that does not match its signed hash is refused" bad_payload_refused

if command -v redis-cli >/dev/null; then
	t_check "redis PING" redis_ping
else
	t_skip "redis PING" "redis-cli missing"
fi

backend_aws s3 rm --recursive "s3://$B" >/dev/null 2>&1
backend_aws s3api delete-bucket --bucket "$B" >/dev/null 2>&1

if s3gate_have; then
	t_pass "s3gate binaries are built in $S3GATE_BIN"
else
	t_skip "s3gate binaries" "$S3GATE_BIN/s3gate not built"
fi
