#!/bin/bash
# s3gate terminating TLS, and every payload mode real clients send over it
# (issue 4), against Ceph RGW:
#   - aws-cli v1 (STREAMING-UNSIGNED-PAYLOAD-TRAILER, chunked, CRC32 trailer),
#     aws-cli v2 (UNSIGNED-PAYLOAD + Content-MD5; CRC32C trailer when asked),
#     boto3, rclone, s3cmd over https;
#   - @aws-sdk/client-s3 (npm) streaming uploads over https and plain http;
#   - hand-made aws-chunked bodies (tests/data/tls/forge.py): right, wrong
#     trailer checksum, wrong / tampered chunk signature, cut off, lying
#     decoded length — refused ones leave nothing at the backend;
#   - TLS itself: 1.1 refused, 1.2/1.3, ALPN, SNI, reload on SIGHUP, key
#     file permissions;
#   - an https backend (nginx terminating TLS in front of RGW), verified
#     with backend_ca_file; s3gate-admin sync creating buckets through it;
#     a gateway without TLS among its addresses skipped like a refused
#     connect (before: its failed handshake was the request's, a 503);
#     /readyz by a probe that completes the handshake (503 when the only
#     gateway speaks no TLS, or its certificate is refused);
#     (and refusing a certificate of another CA);
#   - CompleteMultipartUpload's Location over TLS (client side, both sides)
#     and behind an ingress that ends TLS (plain listener, public_url https).
# Certificates are made here, by a throw-away CA, in $T/certs.
. "$(dirname "$0")/lib.sh"

B=ws-tls
DATA=$ROOT/tests/data/tls
SKIP_WHY=""
FAIL_WHY=""


# ---- certificates ------------------------------------------------------------

TLS=$T/certs
# mkca NAME CN — a CA: $TLS/NAME.pem, $TLS/NAME.key
mkca() {
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
		-keyout "$TLS/$1.key" -out "$TLS/$1.pem" -days 2 -subj "/CN=$2" \
		-addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign \
		2>&1 && chmod 600 "$TLS/$1.key"
}
# mkcert NAME CN SAN CA [DAYS] — a server certificate signed by CA: $TLS/NAME.pem/.key
mkcert() {
	local name=$1 cn=$2 san=$3 ca=$4 days=${5:-2}
	openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
		-keyout "$TLS/$name.key" -out "$TLS/$name.csr" -subj "/CN=$cn" 2>&1 || return 1
	chmod 600 "$TLS/$name.key"
	printf 'subjectAltName=%s\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n' "$san" >"$TLS/$name.ext"
	openssl x509 -req -in "$TLS/$name.csr" -CA "$TLS/$ca.pem" -CAkey "$TLS/$ca.key" \
		-CAcreateserial -days "$days" -extfile "$TLS/$name.ext" -out "$TLS/$name.pem" 2>&1
}
make_certs() {
	mkdir -p "$TLS" && chmod 700 "$TLS"
	mkca ca "s3gate test CA" &&
		mkca ca2 "another test CA" &&
		mkcert main "s3gate-test-main" "IP:127.0.0.1,DNS:localhost" ca &&
		mkcert other "other.test" "DNS:other.test" ca &&
		mkcert reloaded "s3gate-test-reloaded" "IP:127.0.0.1,DNS:localhost" ca 3 &&
		mkcert nginx "nginx-backend" "IP:127.0.0.1,DNS:localhost" ca &&
		cp "$TLS/main.pem" "$TLS/live.pem" && cp "$TLS/main.key" "$TLS/live.key" &&
		chmod 600 "$TLS/live.key"
}

# ---- setup -------------------------------------------------------------------

TLS_PORT=""
if ! s3gate_have && [ "$S3GATE_DIRECT_RGW" != 1 ]; then
	SKIP_WHY="$(basename "$S3GATE_BIN")/s3gate not built"
elif [ "$S3GATE_DIRECT_RGW" = 1 ]; then
	SKIP_WHY="TLS termination is s3gate's: nothing to test against RGW directly"
elif ! out=$(make_certs); then
	FAIL_WHY="openssl could not make the test certificates: $(tail -n 3 <<<"$out" | tr '\n' ' ')"
else
	TLS_PORT=$(free_port)
	if ! s3gate_start tls "listen 127.0.0.1:$TLS_PORT tls" \
		"tls_certificate $TLS/live.pem $TLS/live.key" \
		"tls_certificate $TLS/other.pem $TLS/other.key"; then
		FAIL_WHY="s3gate did not start with a TLS listener (see $T/tls/s3gate.log)"
	elif ! wait_port "$TLS_PORT" 10; then
		FAIL_WHY="s3gate's TLS listener 127.0.0.1:$TLS_PORT does not accept"
	fi
fi
# the https endpoint every client wrapper uses from here on
HTTPS_EP=https://127.0.0.1:$TLS_PORT
HTTP_EP=${S3GATE_ENDPOINT:-}
S3_ENDPOINT=$HTTPS_EP
S3_CA_BUNDLE=$TLS/ca.pem
TLS_PID=${S3GATE_PID:-}
TLS_ADMIN=${S3GATE_ADMIN_URL:-}
TLS_CONF=${S3GATE_CONF:-}

if ready; then
	if ws_setup tls "$B" >"$T/sync.out" 2>&1 && s3gate_cred tls >"$T/cred.out" 2>&1; then
		t_pass "setup: workspace $B synced, credentials for tls"
		read -r TLS_AKID TLS_SECRET _ <"$T/profiles/tls"
	else
		FAIL_WHY="setup failed: $(tail -n 3 "$T/sync.out" "$T/cred.out" | tr '\n' ' ')"
	fi
fi
if ready; then
	mkfile "$T/f40m" 40
	mkbytes "$T/f1k" 1024
	mkfile "$T/f3m" 3
	head -c 123457 /dev/urandom >>"$T/f3m"	# not a multiple of any chunk size
fi

backend_intact() {	# KEY FILE: the object stored at RGW equals FILE
	rm -f "$T/backend.out"
	backend_aws s3api get-object --bucket "$B" --key "$1" "$T/backend.out" >/dev/null || return 1
	same_file "$2" "$T/backend.out"
	local rc=$?
	rm -f "$T/backend.out"
	return $rc
}
backend_absent() {	# KEY: RGW has no such object (HEAD 404)
	local out
	out=$(backend_aws s3api head-object --bucket "$B" --key "$1" 2>&1) && {
		echo "the backend holds $1: $out"; return 1; }
	grep -q -E '404|Not Found' <<<"$out" || { echo "head-object: $out"; return 1; }
}

# ---- 1, 2: aws-cli v1 and v2 over https ------------------------------------------

# aws_updown CLIENT PREFIX FILE [cp options]: upload, download, compare, and
# compare at the backend
aws_updown() {
	local c=$1 k=$2 f=$3; shift 3
	$c tls s3 cp "$f" "s3://$B/$k" "$@" || return 1
	rm -f "$T/back"
	$c tls s3 cp "s3://$B/$k" "$T/back" || return 1
	same_file "$f" "$T/back" || return 1
	backend_intact "$k" "$f"
}
multipart_etag() {	# CLIENT KEY: the ETag says multipart
	local etag
	etag=$($1 tls s3api head-object --bucket "$B" --key "$2" --query ETag --output text) || return 1
	echo "ETag $etag"
	case $etag in *-[0-9]*) ;; *) echo "not a multipart ETag"; return 1 ;; esac
}
# aws_put_alg CLIENT KEY FILE ALG: s3api put-object --checksum-algorithm ALG
# (aws-chunked with that trailer), read back, compare at the backend
aws_put_alg() {	# [PROFILE]: default tls
	local p=${5:-tls}
	$1 "$p" s3api put-object --bucket "$B" --key "$2" --body "$3" --checksum-algorithm "$4" || return 1
	rm -f "$T/back"
	$1 "$p" s3api get-object --bucket "$B" --key "$2" "$T/back" >/dev/null || return 1
	same_file "$3" "$T/back" && backend_intact "$2" "$3"
}

if [ -z "$AWSV1" ]; then
	t_skip "v1 over https" "aws-cli v1 not installed"
else
	tc "v1 https: 40 MiB multipart upload (CRC32 trailer, chunked), download, backend identical" \
		aws_updown awsv1 v1/f40m "$T/f40m"
	tc "v1 https: the 40 MiB object is multipart" multipart_etag awsv1 v1/f40m
	tc "v1 https: 1 KiB upload, download, backend identical" aws_updown awsv1 v1/f1k "$T/f1k"
	tc "v1 https: put-object --checksum-algorithm SHA256 (sha256 trailer)" \
		aws_put_alg awsv1 v1/sha256 "$T/f3m" SHA256
fi
if [ -z "$AWSV2" ]; then
	t_skip "v2 over https" "aws-cli v2 not installed"
else
	tc "v2 https: 40 MiB multipart upload, download, backend identical" \
		aws_updown awsv2 v2/f40m "$T/f40m"
	tc "v2 https: the 40 MiB object is multipart" multipart_etag awsv2 v2/f40m
	tc "v2 https: 1 KiB upload, download, backend identical" aws_updown awsv2 v2/f1k "$T/f1k"
	if $AWSV2 s3 cp help 2>/dev/null | grep -q -- --checksum-algorithm; then
		tc "v2 https: s3 cp --checksum-algorithm CRC32C (40 MiB)" \
			aws_updown awsv2 v2/crc32c-40m "$T/f40m" --checksum-algorithm CRC32C
		tc "v2 https: s3 cp --checksum-algorithm CRC32C (1 KiB)" \
			aws_updown awsv2 v2/crc32c-1k "$T/f1k" --checksum-algorithm CRC32C
	else
		t_skip "v2 https: s3 cp --checksum-algorithm CRC32C" \
			"$($AWSV2 --version 2>&1 | cut -d' ' -f1): 's3 cp' has no --checksum-algorithm (s3api put-object is tested instead)"
	fi
	tc "v2 https: put-object --checksum-algorithm CRC32C (crc32c trailer)" \
		aws_put_alg awsv2 v2/crc32c "$T/f3m" CRC32C
	tc "v2 https: put-object --checksum-algorithm SHA1 (sha1 trailer)" \
		aws_put_alg awsv2 v2/sha1 "$T/f3m" SHA1
fi

# ---- 3: boto3, rclone, s3cmd over https -------------------------------------------

boto3_https() {
	boto3_py tls '
import io, hashlib
b, f3m, f40m = sys.argv[1:4]
data = open(f3m, "rb").read()
assert EP.startswith("https://"), EP
s3.put_object(Bucket=b, Key="boto3/bytes", Body=data)
assert s3.get_object(Bucket=b, Key="boto3/bytes")["Body"].read() == data, "bytes differ"
for alg in ("CRC32", "SHA1", "SHA256"):	# aws-chunked, trailing checksum (botocore over https)
    k = "boto3/alg-" + alg
    r = s3.put_object(Bucket=b, Key=k, Body=io.BytesIO(data), ChecksumAlgorithm=alg)
    assert s3.get_object(Bucket=b, Key=k)["Body"].read() == data, alg + " differs"
class Stream(io.RawIOBase):	# not seekable: boto3 cannot know the length
    def __init__(self, d): self.d, self.p = d, 0
    def readable(self): return True
    def readinto(self, buf):
        n = min(len(buf), len(self.d) - self.p, 70001)
        buf[:n] = self.d[self.p:self.p + n]; self.p += n
        return n
big = open(f40m, "rb").read()
cfg = TransferConfig(multipart_threshold=8 << 20, multipart_chunksize=8 << 20)
s3.upload_fileobj(Stream(data), b, "boto3/stream-3m", Config=cfg)
s3.upload_fileobj(Stream(big), b, "boto3/stream-40m", Config=cfg)
for k, d in (("boto3/stream-3m", data), ("boto3/stream-40m", big)):
    out = io.BytesIO()
    s3.download_fileobj(b, k, out, Config=cfg)
    assert out.getvalue() == d, k + " differs"
print("ok")
' "$B" "$T/f3m" "$T/f40m" &&
		backend_intact boto3/bytes "$T/f3m" && backend_intact boto3/alg-CRC32 "$T/f3m" &&
		backend_intact boto3/alg-SHA256 "$T/f3m" && backend_intact boto3/stream-40m "$T/f40m"
}
tc "boto3 https: put_object bytes, put_object with CRC32/SHA1/SHA256 trailers, upload_fileobj of a stream, download" boto3_https
LOC_KEY="boto3/loc é+&"
tc "boto3 https: CompleteMultipartUpload's Location is https:// and the Host the client addressed, not RGW's" \
	boto3_cmu_location tls "$B" "$LOC_KEY" "$HTTPS_EP/$B/$(urlenc "$LOC_KEY")"

rclone_https() {
	rm -rf "$T/rc" "$T/rc.back"; mkdir -p "$T/rc"
	cp "$T/f3m" "$T/rc/f3m"; cp "$T/f1k" "$T/rc/f1k"; cp "$T/f40m" "$T/rc/f40m"
	rclone_s3 tls copy --s3-upload-cutoff 8M --s3-chunk-size 8M "$T/rc" "s3g:$B/rclone" || return 1
	rclone_s3 tls check "$T/rc" "s3g:$B/rclone" || return 1
	rclone_s3 tls copy "s3g:$B/rclone" "$T/rc.back" || return 1
	diff -r "$T/rc" "$T/rc.back" && backend_intact rclone/f40m "$T/f40m"
}
tc "rclone https (--ca-cert, AWS_CA_BUNDLE unset): copy, check, copy back" rclone_https

s3cmd_https() {
	s3cmd_s3 tls put --multipart-chunk-size-mb=5 "$T/f40m" "s3://$B/s3cmd/f40m" || return 1
	s3cmd_s3 tls put "$T/f1k" "s3://$B/s3cmd/f1k" || return 1
	rm -f "$T/back"
	s3cmd_s3 tls get "s3://$B/s3cmd/f40m" "$T/back" || return 1
	same_file "$T/f40m" "$T/back" && backend_intact s3cmd/f40m "$T/f40m" &&
		backend_intact s3cmd/f1k "$T/f1k"
}
tc "s3cmd https (--ca-certs): put (multipart), get, backend identical" s3cmd_https

# ---- 4: the JS SDK ----------------------------------------------------------------

JS_DIR=$T/js
JS_WHY=""
js_install() {
	mkdir -p "$JS_DIR" "$ROOT/tests/out/npm-cache"
	echo '{"name":"s3gate-tls-test","private":true}' >"$JS_DIR/package.json"
	(cd "$JS_DIR" && timeout 180 npm install --no-audit --no-fund --loglevel=error \
		--cache "$ROOT/tests/out/npm-cache" --prefer-offline @aws-sdk/client-s3) 2>&1
}
if ready; then
	if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
		JS_WHY="node/npm not installed"
	elif ! out=$(js_install); then
		JS_WHY="npm install @aws-sdk/client-s3 failed: $(tail -n 2 <<<"$out" | tr '\n' ' ')"
	else
		echo "# @aws-sdk/client-s3 $(node -p 'require(process.argv[1]).version' "$JS_DIR/node_modules/@aws-sdk/client-s3/package.json" 2>/dev/null)"
	fi
fi
js_stream() {	# ENDPOINT TLS(1|"") KEY FILE [ALG]; JS_BODY=fs: fs.createReadStream
	env -u AWS_CA_BUNDLE -u NODE_EXTRA_CA_CERTS NODE_PATH="$JS_DIR/node_modules" NODE_NO_WARNINGS=1 JS_BODY="${JS_BODY:-}" \
		JS_AKID="$TLS_AKID" JS_SECRET="$TLS_SECRET" JS_REGION="$S3_REGION" \
		${2:+NODE_EXTRA_CA_CERTS="$TLS/ca.pem"} \
		timeout 120 node "$DATA/js_stream.cjs" "$1" "$B" "$3" "$4" ${5:+"$5"} &&
		backend_intact "$3" "$4"
}
for ep in https http; do
	if [ -n "$JS_WHY" ]; then t_skip "JS SDK $ep: stream upload" "$JS_WHY"; continue; fi
	[ $ep = https ] && e=$HTTPS_EP tls=1 || e=$HTTP_EP tls=""
	tc "JS SDK $ep: PutObject of a Readable stream (unsigned trailer, Transfer-Encoding: chunked, no Content-Length), 3 MiB, read back, backend identical" \
		js_stream "$e" "$tls" js-$ep/f3m "$T/f3m"
	tc "JS SDK $ep: same, 1 KiB" js_stream "$e" "$tls" js-$ep/f1k "$T/f1k"
	JS_BODY=fs tc "JS SDK $ep: PutObject of an fs.ReadStream, 40 MiB (aws-chunked, chunked), read back, backend identical" \
		js_stream "$e" "$tls" js-$ep/f40m "$T/f40m"
	tc "JS SDK $ep: same with ChecksumAlgorithm CRC32C" js_stream "$e" "$tls" js-$ep/crc32c "$T/f3m" CRC32C
	tc "JS SDK $ep: same with ChecksumAlgorithm SHA256" js_stream "$e" "$tls" js-$ep/sha256 "$T/f3m" SHA256
done

# ---- 5: forged aws-chunked bodies -----------------------------------------------

# forge MODE ENDPOINT KEY: forge.py with tls's keys; its output is also in $FORGE_OUT
forge() {
	FORGE_OUT=$(F_AKID=$TLS_AKID F_SECRET=$TLS_SECRET F_REGION=$S3_REGION F_DATA="$T/forged.data" \
		timeout 60 "$PY3" "$DATA/forge.py" "$1" "$2" "$B" "$3" "$TLS/ca.pem" 2>&1)
	local rc=$?
	echo "$FORGE_OUT"
	return $rc
}
forge_ok() {	# MODE EP KEY: 200 and the backend holds exactly the decoded data
	forge "$@" || return 1
	grep -q '^status=200 ' <<<"$FORGE_OUT" || return 1
	backend_intact "$3" "$T/forged.data"
}
forge_refused() {	# MODE EP KEY STATUS CODE: that answer, and no object
	forge "$1" "$2" "$3" || return 1
	grep -q "^status=$4 code=$5\$" <<<"$FORGE_OUT" || { echo "expected status=$4 code=$5"; return 1; }
	sleep 1
	backend_absent "$3"
}
forge_error_absent() {	# MODE EP KEY: some 4xx/5xx error (or the connection closed), and no object
	forge "$1" "$2" "$3" || return 1
	grep -q -E '^status=(4|5)[0-9][0-9] |^status=none ' <<<"$FORGE_OUT" || { echo "expected an error"; return 1; }
	sleep 1
	backend_absent "$3"
}
forge_cut() {	# MODE EP KEY: the body is cut off; no object, and the proxy still serves
	forge "$1" "$2" "$3" || return 1
	sleep 3
	backend_absent "$3" || return 1
	awsv2 tls s3api head-object --bucket "$B" --key v2/f1k >/dev/null
}
for ep in https http; do
	[ $ep = https ] && e=$HTTPS_EP || e=$HTTP_EP
	tc "forged $ep: unsigned trailer, right CRC32 (Content-Length) -> 200, object = decoded data" \
		forge_ok unsigned-trailer "$e" forged-$ep/good-unsigned
	tc "forged $ep: unsigned trailer, right CRC32 (Transfer-Encoding: chunked) -> 200, object = decoded data" \
		forge_ok unsigned-trailer-te "$e" forged-$ep/good-unsigned-te
	tc "forged $ep: unsigned trailer, wrong x-amz-checksum-crc32 -> 400 BadDigest, no object" \
		forge_refused bad-crc "$e" forged-$ep/bad-crc 400 BadDigest
	tc "forged $ep: STREAMING-AWS4-HMAC-SHA256-PAYLOAD signed right -> 200, object = decoded data" \
		forge_ok signed "$e" forged-$ep/good-signed
	tc "forged $ep: second chunk signature wrong -> 403 SignatureDoesNotMatch, no object" \
		forge_refused signed-bad-chunk2 "$e" forged-$ep/bad-chunk2 403 SignatureDoesNotMatch
	tc "forged $ep: second chunk's data changed after signing -> 403 SignatureDoesNotMatch, no object" \
		forge_refused signed-tampered "$e" forged-$ep/tampered 403 SignatureDoesNotMatch
	tc "forged $ep: signed aws-chunked body cut off in chunk 3 -> no object, proxy serves" \
		forge_cut signed-cut "$e" forged-$ep/cut-signed
	tc "forged $ep: unsigned-trailer body cut off in chunk 3 -> no object, proxy serves" \
		forge_cut unsigned-cut "$e" forged-$ep/cut-unsigned
	tc "forged $ep: x-amz-decoded-content-length bigger than the data -> error, no object" \
		forge_error_absent decoded-len-bigger "$e" forged-$ep/len-bigger
	tc "forged $ep: x-amz-decoded-content-length smaller than the data -> error, no object" \
		forge_error_absent decoded-len-smaller "$e" forged-$ep/len-smaller
done

# ---- 6: TLS properties -------------------------------------------------------------

# sclient ARGS... — openssl s_client to the TLS listener, nothing sent
sclient() {
	timeout 10 openssl s_client -connect "127.0.0.1:$TLS_PORT" -CAfile "$TLS/ca.pem" "$@" </dev/null 2>&1
}
tls11_refused() {
	local out rc
	# SECLEVEL=0: the client itself would allow TLS 1.1, so only the server refuses
	out=$(sclient -tls1_1 -cipher 'DEFAULT:@SECLEVEL=0'); rc=$?
	grep -E 'Cipher is|alert|error' <<<"$out" | head -n 4
	[ $rc -ne 0 ] || { echo "s_client -tls1_1 exited 0"; return 1; }
	grep -q -E 'Cipher is \(NONE\)' <<<"$out" || { echo "a cipher was negotiated"; return 1; }
	grep -q -E 'alert protocol version|unsupported protocol|no protocols available' <<<"$out"
	! grep -q 'no protocols available' <<<"$out"	# that would be the client refusing
}
tls_version_ok() {	# -tls1_2 | -tls1_3: the handshake completes with that version, verified
	local out want=${1#-tls}
	want=TLSv${want/_/.}
	out=$(sclient "$1" -cipher 'DEFAULT:@SECLEVEL=0' -verify_return_error)
	grep -E 'Protocol|Cipher is|Verify return code' <<<"$out" | head -n 4
	grep -q -E "(Protocol *: |New, )$want" <<<"$out" && grep -q 'Verify return code: 0 (ok)' <<<"$out"
}
alpn_ok() {
	local out
	out=$(sclient -alpn h2,http/1.1)
	grep -i 'ALPN' <<<"$out"
	grep -q 'ALPN protocol: http/1.1' <<<"$out"
}
subject_is() {	# CN [s_client args]: the certificate served has subject CN
	local cn=$1 out; shift
	out=$(sclient "$@" -verify_return_error)
	grep -E '^subject=|Verify return code' <<<"$out"
	grep -q -E "^subject=.*CN ?= ?$cn\$" <<<"$out" && grep -q 'Verify return code: 0 (ok)' <<<"$out"
}
ticket_resumes() {	# -tls1_2 | -tls1_3: a second connection resumes with the ticket of the first
	local out
	rm -f "$T/tls.sess"
	# s_client keeps reading for two seconds (its start and the handshake
	# included), so the post-handshake tickets (1.3) arrive
	(sleep 2) | timeout 10 openssl s_client -connect "127.0.0.1:$TLS_PORT" -CAfile "$TLS/ca.pem" \
		"$1" -sess_out "$T/tls.sess" >/dev/null 2>&1
	[ -s "$T/tls.sess" ] || { echo "no session saved"; return 1; }
	# six resumptions: with two workers (SO_REUSEPORT spreads the connections)
	# the odds that all land on the worker that issued the ticket are 1 in 64,
	# so this also checks that the workers derive the same ticket keys
	local i reused=0
	for i in 1 2 3 4 5 6; do
		out=$(timeout 10 openssl s_client -connect "127.0.0.1:$TLS_PORT" -CAfile "$TLS/ca.pem" \
			"$1" -sess_in "$T/tls.sess" </dev/null 2>&1)
		grep -q '^Reused, ' <<<"$out" && reused=$((reused + 1))
	done
	echo "resumed $reused of 6"
	[ "$reused" = 6 ]
}
one_ticket() {	# a full TLS 1.3 handshake brings one NewSessionTicket (OpenSSL's default is two)
	local n
	n=$( (sleep 2) | timeout 10 openssl s_client -connect "127.0.0.1:$TLS_PORT" -CAfile "$TLS/ca.pem" \
		-tls1_3 -msg 2>/dev/null | grep -c '^<<< .*NewSessionTicket')
	echo "NewSessionTicket messages: $n"
	[ "$n" = 1 ]
}
tc "TLS 1.1 is refused (openssl s_client -tls1_1)" tls11_refused
tc "TLS 1.2 handshake, certificate verified" tls_version_ok -tls1_2
tc "TLS 1.3 handshake, certificate verified" tls_version_ok -tls1_3
tc "ALPN: http/1.1 chosen from h2,http/1.1" alpn_ok
tc "TLS 1.3 session ticket (s3gate's ratcheted keys): later connections resume, on either worker" ticket_resumes -tls1_3
tc "TLS 1.3: one session ticket per full handshake (it can be used again: above)" one_ticket
tc "TLS 1.2 session ticket: later connections resume, on either worker" ticket_resumes -tls1_2
tc "SNI: no name -> the first (default) certificate" subject_is s3gate-test-main
tc "SNI: other.test -> the second certificate" subject_is other.test -servername other.test -verify_hostname other.test
tc "SNI: an unknown name -> the default certificate" subject_is s3gate-test-main -servername nosuch.test

# reload: a slow download runs across a certificate swap + SIGHUP
reload_swap() {
	local cpid code
	rm -f "$T/slow.out" "$T/slow.code"
	CURL_PAYLOAD_HASH=UNSIGNED-PAYLOAD
	(curl_sigv4 tls --limit-rate 8M -o "$T/slow.out" -w '%{http_code}' --max-time 60 \
		"$(s3_url "$B/v1/f40m")" >"$T/slow.code" 2>"$T/slow.err") &
	cpid=$!
	sleep 1.5
	kill -0 "$cpid" 2>/dev/null || { echo "the download ended before the reload"; cat "$T/slow.err"; return 1; }
	cp "$TLS/reloaded.pem" "$TLS/live.pem.new" && cp "$TLS/reloaded.key" "$TLS/live.key.new" &&
		chmod 600 "$TLS/live.key.new" && mv "$TLS/live.key.new" "$TLS/live.key" &&
		mv "$TLS/live.pem.new" "$TLS/live.pem" || return 1
	kill -HUP "$TLS_PID" || return 1
	# the reload's end is not logged per listener: the new certificate is looked for (15 s)
	wait_for 15 subject_is s3gate-test-reloaded >/dev/null ||
		{ subject_is s3gate-test-reloaded; echo "the new certificate is not served after SIGHUP"; wait "$cpid"; return 1; }
	kill -0 "$cpid" 2>/dev/null || echo "(note: the download ended before the new certificate was served)"
	wait "$cpid"
	code=$(cat "$T/slow.code")
	echo "download across the reload: HTTP $code $(cat "$T/slow.err")"
	[ "$code" = 200 ] && same_file "$T/f40m" "$T/slow.out"
}
# cert_metric_is PEM: /metrics gives live.pem's end as PEM's notAfter
cert_metric_is() {
	local want got
	want=$(date -d "$(openssl x509 -enddate -noout -in "$1" | cut -d= -f2)" +%s) || return 1
	got=$(curl -sS --max-time 10 "$TLS_ADMIN/metrics" |
		grep -F "s3gate_tls_certificate_not_after_seconds{certificate=\"$TLS/live.pem\"} ") || return 1
	echo "$got (want $want)"
	[ "${got##* }" = "$want" ]
}
tc "/metrics: s3gate_tls_certificate_not_after_seconds names live.pem with its notAfter" cert_metric_is "$TLS/main.pem"
tc "SIGHUP after replacing the certificate files: the new one is served, an open download completes intact" reload_swap
tc "/metrics after the reload: the new certificate's notAfter (a day later)" cert_metric_is "$TLS/reloaded.pem"
tc "after the reload: SNI other.test still gets the second certificate" subject_is other.test -servername other.test
tc "after the reload: aws-cli v2 works over https" aws_updown awsv2 v2/after-reload "$T/f1k"

key_mode_refused() {	# a tls_certificate key with mode 0644: s3gate -t names FILE:LINE
	local conf=$T/loose.conf out rc line
	cp "$TLS/main.key" "$TLS/loose.key" && chmod 644 "$TLS/loose.key"
	out=$("$S3GATE_BIN/s3gate" -t -c "$TLS_CONF" 2>&1) || { echo "the running config fails -t: $out"; return 1; }
	sed "s#^tls_certificate $TLS/live.pem $TLS/live.key\$#tls_certificate $TLS/main.pem $TLS/loose.key#" \
		"$TLS_CONF" >"$conf"
	line=$(grep -n "loose.key" "$conf" | cut -d: -f1)
	[ -n "$line" ] || { echo "could not write $conf"; return 1; }
	out=$("$S3GATE_BIN/s3gate" -t -c "$conf" 2>&1); rc=$?
	echo "s3gate -t: exit $rc: $out"
	[ $rc -ne 0 ] && grep -q -F "$conf:$line:" <<<"$out" && grep -q 'loose.key' <<<"$out"
}
tc "a tls_certificate key file with mode 0644 is refused by s3gate -t with FILE:LINE" key_mode_refused

# ---- 7: an https backend (nginx terminating TLS in front of RGW) --------------------

NGX_PORT=""
nginx_start() {
	local d=$T/nginx
	mkdir -p "$d/temp"
	NGX_PORT=$(free_port)
	cat >"$d/nginx.conf" <<EOF
user root;
worker_processes 1;
daemon off;
master_process on;
pid $d/nginx.pid;
error_log $d/error.log warn;
events { worker_connections 256; }
http {
    access_log $d/access.log;
    client_body_temp_path $d/temp/body;
    proxy_temp_path       $d/temp/proxy;
    fastcgi_temp_path     $d/temp/fastcgi;
    uwsgi_temp_path       $d/temp/uwsgi;
    scgi_temp_path        $d/temp/scgi;
    server {
        listen 127.0.0.1:$NGX_PORT ssl;
        ssl_certificate     $TLS/nginx.pem;
        ssl_certificate_key $TLS/nginx.key;
        ssl_protocols TLSv1.2 TLSv1.3;
        client_max_body_size 0;
        location / {
            proxy_pass $RGW_ENDPOINT;
            proxy_http_version 1.1;
            proxy_set_header Host \$http_host;
            proxy_set_header Connection "";
            proxy_request_buffering off;
            proxy_buffering off;
            proxy_read_timeout 300s;
        }
    }
}
EOF
	nginx -c "$d/nginx.conf" -p "$d" </dev/null >"$d/nginx.out" 2>&1 &
	NGX_PID=$!
	lib_on_exit 'kill -TERM $NGX_PID 2>/dev/null; wait $NGX_PID 2>/dev/null'
	wait_port "$NGX_PORT" 10 || { cat "$d/nginx.out" "$d/error.log"; return 1; }
	# RGW through nginx: an anonymous GET / answers (any S3 XML)
	curl -sS --cacert "$TLS/ca.pem" "https://127.0.0.1:$NGX_PORT/" | grep -q '<' || return 1
}
if ready; then
	if ! command -v nginx >/dev/null; then
		t_skip "https backend" "nginx not installed"
		NGX_WHY="nginx not installed"
	elif ! nginx_start >"$T/nginx.start" 2>&1; then
		t_fail "nginx terminating TLS in front of RGW starts" "$(cat "$T/nginx.start")"
		NGX_WHY="nginx did not start"
	else
		NGX_WHY=""
		t_pass "nginx terminating TLS in front of RGW starts (https://127.0.0.1:$NGX_PORT)"
	fi
else
	NGX_WHY=${SKIP_WHY:-$FAIL_WHY}
fi

# an s3gate whose backend is https://127.0.0.1:NGX_PORT, with the right CA
# (hb) or another CA (hbx); tls's workspace (its Storage file) and
# principal.  Runs in this shell (the proxy must be this shell's child).
# Sets HB_EP (plain) and HB_TLS_EP.
hb_start() {	# NAME CA
	local tport
	tport=$(free_port)
	HB_EP="" HB_TLS_EP=""
	s3gate_start "$1" "backend https://127.0.0.1:$NGX_PORT" "backend_ca_file $TLS/$2.pem" \
		"listen 127.0.0.1:$tport tls" "tls_certificate $TLS/main.pem $TLS/main.key" \
		"$T/storage-tls.yaml" || return 1
	s3gate_cred tls "$1-user" || return 1
	HB_EP=$S3GATE_ENDPOINT HB_TLS_EP=https://127.0.0.1:$tport
	wait_port "$tport" 10
}
hb_updown() {	# PROFILE ENDPOINT KEY FILE
	S3_ENDPOINT=$2 awsv1 "$1" s3 cp "$4" "s3://$B/$3" || return 1
	rm -f "$T/back"
	S3_ENDPOINT=$2 awsv1 "$1" s3 cp "s3://$B/$3" "$T/back" || return 1
	same_file "$4" "$T/back" && backend_intact "$3" "$4"
}
hb_copy() {	# PROFILE ENDPOINT SRC DST FILE: a server-side copy (the owner's: its source is
	# HEADed first for object lock, LOCK_PROBE, over the https backend too)
	S3_ENDPOINT=$2 awsv1 "$1" s3 cp "s3://$B/$3" "s3://$B/$4" || return 1
	backend_intact "$4" "$5"
}
hb_location() {	# a one-part multipart upload by boto3 over https to hb: Location the client's URL
	S3_ENDPOINT=$HB_TLS_EP boto3_cmu_location hb-user "$B" hb/loc "$HB_TLS_EP/$B/hb/loc"
}
hb_put_alg() {	# PROFILE ENDPOINT KEY FILE ALG
	S3_ENDPOINT=$2 aws_put_alg awsv1 "$3" "$4" "$5" "$1"
}
hb_refused() {	# PROFILE ENDPOINT: a GET answers 503 ServiceUnavailable
	local code
	code=$(S3_ENDPOINT=$2 curl_sigv4 "$1" -o "$T/hbx.out" -w '%{http_code}' --max-time 30 \
		"$(S3_ENDPOINT=$2 s3_url "$B/v1/f1k")")
	echo "HTTP $code: $(head -c 400 "$T/hbx.out")"
	[ "$code" = 503 ] && grep -q ServiceUnavailable "$T/hbx.out"
}
hb_sync() {	# BUCKET: sync through the https backend creates BUCKET there
	local rc
	storage_doc hbsync "$1" >"$T/hb-sync.yaml" || return 1
	s3gate_admin sync "$T/hb-sync.yaml" >"$T/hb-sync.out" 2>&1; rc=$?
	cat "$T/hb-sync.out"
	[ "$rc" = 0 ] && grep -q "^+ backend bucket $1\$" "$T/hb-sync.out" &&
		backend_aws s3api head-bucket --bucket "$1"
}
hb_sync_refused() {	# BUCKET: a certificate of another CA: exit 1, the reason, no bucket
	local rc
	storage_doc hbsyncx "$1" >"$T/hbx-sync.yaml" || return 1
	s3gate_admin sync "$T/hbx-sync.yaml" >"$T/hbx-sync.out" 2>&1; rc=$?
	cat "$T/hbx-sync.out"
	[ "$rc" = 1 ] && grep -q "TLS handshake failed: certificate: " "$T/hbx-sync.out" &&
		! backend_aws s3api head-bucket --bucket "$1" 2>/dev/null
}
# A gateway that speaks no TLS among the https backend's addresses (a
# relay to RGW's plain port on 127.0.2.9 at nginx's port, listed first in
# backend_addresses; no pooling, so that every request dials; no admin
# listener, so no readiness probe dials it first): its failed handshake is
# a failed connect (upstream.h), skipped for backend_fail_timeout, the
# request dialled to nginx at once.  Before, the handshake's failure was
# the request's: every other GET was 503.  Then the readiness probe: it
# completes the handshake with an https backend, so /readyz is 503 when
# the only gateway speaks no TLS, or its certificate is refused (before:
# a TCP connect, /readyz 200 while every request was 503).
HBM_GW=127.0.2.9
hbm_checks() {
	$PY3 "$LIB_DIR/helpers/tcprelay.py" relay "$HBM_GW:$NGX_PORT" "127.0.0.1:${RGW_ENDPOINT##*:}" \
		--count "$T/hbm.count" >"$T/hbm.ready" 2>"$T/hbm.err" &
	lib_on_exit "kill $! 2>/dev/null"
	if ! wait_for 10 grep -q ready "$T/hbm.ready" ||
		! s3gate_start hbm "backend https://127.0.0.1:$NGX_PORT" "backend_ca_file $TLS/ca.pem" \
			"backend_addresses $HBM_GW 127.0.0.1" "backend_fail_timeout 30s" "backend_pool_size 0" \
			"workers 1" "admin_listen off" "$T/storage-tls.yaml" >"$T/hbm.start" 2>&1 ||
		! s3gate_cred tls hbm-user >>"$T/hbm.start" 2>&1; then
		t_fail "setup: s3gate hbm, its https backend's first address a gateway without TLS" \
			"$(cat "$T/hbm.err" "$T/hbm.start" 2>/dev/null)"
		return
	fi
	HBM_EP=$S3GATE_ENDPOINT
	tc "https backend, a gateway among its addresses that speaks no TLS: 10 GETs all 200, byte for byte" \
		hbm_gets 10
	tc "... that gateway not dialled again in its 30 s fail timeout: 10 more GETs, no connection to it, one handshake failed in all, logged as the request's" \
		hbm_skipped
	s3gate_stop hbm >/dev/null
	if s3gate_start hbp "backend https://127.0.0.1:$NGX_PORT" "backend_ca_file $TLS/ca.pem" \
		"backend_addresses $HBM_GW" "workers 1" "$T/storage-tls.yaml" >"$T/hbp.start" 2>&1; then
		HBP_ADMIN=$S3GATE_ADMIN_URL
		tc "https backend whose only gateway speaks no TLS: /readyz 503 (the probe's handshake failed), s3gate_backend_marked_down_total{reason=\"connect\"} counts it" \
			hbp_unready
		s3gate_stop hbp >/dev/null
	else
		t_fail "setup: s3gate hbp, its https backend's only address a gateway without TLS" "$(cat "$T/hbp.start")"
	fi
}
# readyz URL CODE WORD: /readyz at URL answers CODE with WORD in its body
readyz() {
	local code
	code=$(curl -s --max-time 5 -o "$T/readyz.out" -w '%{http_code}' "$1/readyz")
	[ "$code" = "$2" ] && grep -q "$3" "$T/readyz.out"
}
# readyz_within URL CODE WORD: so within 10 s (the first probe may be under way)
readyz_within() {
	wait_for 10 readyz "$@" && return 0
	echo "/readyz: HTTP $(curl -s --max-time 5 -o "$T/readyz.out" -w '%{http_code}' "$1/readyz"): $(cat "$T/readyz.out")"
	return 1
}
hbp_unready() {
	local v
	readyz_within "$HBP_ADMIN" 503 "backend unreachable" || return 1
	v=$(metric "$HBP_ADMIN" 's3gate_backend_marked_down_total{reason="connect"}')
	grep "readiness probe" "$T/hbp/s3gate.log" | head -2
	[ "${v:-0}" -ge 1 ] &&
		grep -q "readiness probe: backend $HBM_GW:$NGX_PORT: TLS handshake failed" "$T/hbp/s3gate.log"
}
hbm_gets() {	# N: GETs of hb/f1k (hb_updown's upload) through hbm, each 200 and the file's bytes
	local i code
	for ((i = 0; i < $1; i++)); do
		code=$(S3_ENDPOINT=$HBM_EP curl_sigv4 hbm-user -o "$T/hbm.back" -w '%{http_code}' \
			--max-time 30 "$(S3_ENDPOINT=$HBM_EP s3_url "$B/hb/f1k")")
		[ "$code" = 200 ] && same_file "$T/f1k" "$T/hbm.back" ||
			{ echo "GET $i: HTTP $code: $(head -c 300 "$T/hbm.back")"; return 1; }
	done
}
hbm_skipped() {	# (its first connection may be the readiness probe's: a TCP connect, no handshake)
	local n0 n1 failed
	n0=$(cat "$T/hbm.count" 2>/dev/null || echo 0)
	hbm_gets 10 || return 1
	n1=$(cat "$T/hbm.count" 2>/dev/null || echo 0)
	failed=$(grep -c "request [0-9A-F]*: backend $HBM_GW:$NGX_PORT: TLS handshake failed; not dialled for 30000 ms" \
		"$T/hbm/s3gate.log")
	echo "connections to $HBM_GW: $n0 after the first 10 GETs, $n1 after 10 more; handshakes failed: $failed"
	[ "$n0" -ge 1 ] && [ "$n1" = "$n0" ] && [ "$failed" = 1 ]
}
HB_SYNC_BUCKET=ws-hbsync-$(rand_id)
if [ -n "$NGX_WHY" ]; then
	t_skip "https backend" "$NGX_WHY"
else
	cp "$T/tls/storage.yaml" "$T/storage-tls.yaml"
	if hb_start hb ca >"$T/hb.start" 2>&1; then
		t_pass "s3gate with backend https://127.0.0.1:$NGX_PORT + backend_ca_file starts"
		tc "https backend: /readyz 200 (the readiness probe's TLS handshake with it succeeds)" \
			readyz_within "$S3GATE_ADMIN_URL" 200 "backend ok"
		tc "https backend: 40 MiB multipart upload, download, backend identical" \
			hb_updown hb-user "$HB_EP" hb/f40m "$T/f40m"
		tc "https backend: 1 KiB upload, download, backend identical" \
			hb_updown hb-user "$HB_EP" hb/f1k "$T/f1k"
		tc "https backend: a server-side copy (its source's lock probed first), backend identical" \
			hb_copy hb-user "$HB_EP" hb/f1k hb/f1k-copy "$T/f1k"
		tc "https backend, client over https: CompleteMultipartUpload's answer read whole over TLS, its Location the client's URL" \
			hb_location
		tc "https backend, client over https too: put-object with SHA256 trailer (aws-chunked), read back" \
			hb_put_alg hb-user "$HB_TLS_EP" hb/sha256 "$T/f3m" SHA256
		tc "https backend: s3gate-admin sync creates a new workspace's bucket through it" \
			hb_sync "$HB_SYNC_BUCKET"
	else
		t_fail "s3gate with backend https://127.0.0.1:$NGX_PORT + backend_ca_file starts" "$(cat "$T/hb.start")"
	fi
	if hb_start hbx ca2 >"$T/hbx.start" 2>&1; then
		t_pass "s3gate with an https backend and the wrong backend_ca_file starts"
		tc "https backend with a backend_ca_file of another CA: /readyz 503 (the probe's handshake refuses the certificate)" \
			readyz_within "$S3GATE_ADMIN_URL" 503 "backend unreachable"
		tc "https backend with a backend_ca_file of another CA: 503 ServiceUnavailable (certificate refused)" \
			hb_refused hbx-user "$HB_EP"
		tc "https backend with a backend_ca_file of another CA: sync exits 1, says why, creates no bucket" \
			hb_sync_refused "$HB_SYNC_BUCKET-x"
	else
		t_fail "s3gate with an https backend and the wrong backend_ca_file starts" "$(cat "$T/hbx.start")"
	fi
	hbm_checks
fi

# ---- 8: behind an ingress that ends TLS: a plain listener, public_url https -------------
# The client's URL is https (the ingress's), the connection s3gate sees is
# plain: CompleteMultipartUpload's Location says https, as public_url does.
ing_location() {
	S3_ENDPOINT=$ING_EP S3_CA_BUNDLE="" boto3_cmu_location ing-user "$B" ing/loc \
		"https://${ING_EP#http://}/$B/ing/loc"
}
if ready; then
	if s3gate_start ing "public_url https://files.example.test" "$T/tls/storage.yaml" >"$T/ing.start" 2>&1 &&
		s3gate_cred tls ing-user >>"$T/ing.start" 2>&1; then
		ING_EP=$S3GATE_ENDPOINT
		tc "plain listener behind a TLS ingress (public_url https): CompleteMultipartUpload's Location is https://, the Host addressed" \
			ing_location
		s3gate_stop ing >/dev/null
	else
		t_fail "s3gate with public_url https on a plain listener starts" "$(tail -n 5 "$T/ing.start")"
	fi
fi

# ---- clean up: the backend keeps the data in memory -----------------------------------
if ready; then
	backend_aws s3 rm --recursive "s3://$B/" >/dev/null 2>&1
	backend_aws s3 rb "s3://$HB_SYNC_BUCKET" >/dev/null 2>&1
fi
exit 0
