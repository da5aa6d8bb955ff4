#!/bin/bash
# Links that s3gate issues (`s3gate-admin presign`), used by an outsider with
# plain curl and no credentials, through a running s3gate against Ceph RGW.
# public_url is an ingress host (http://files.example.test) that curl
# reaches with --connect-to, so what is signed is the host the outsider
# sees, not the proxy's own address.  Workspaces:
#   ws-eric: eric owns ws-eric-pub (discoverable) and ws-eric-hidden (not)
#   ws-alice: alice owns ws-alice; carl gets a ReadOnly grant on ws-eric-pub
# and browsers' CORS preflights before an upload to a link (eric's CORS
# rules on ws-eric-pub).
. "$(dirname "$0")/lib.sh"

B=ws-eric-pub
BH=ws-eric-hidden
BA=ws-alice
PUB_HOST=files.example.test
KEY="share/a b+c ü.bin"	# space, '+', unicode

SKIP_WHY=""
FAIL_WHY=""

if [ "$S3GATE_DIRECT_RGW" = 1 ]; then
	SKIP_WHY="links issued by s3gate need s3gate"
elif ! s3gate_have; then
	SKIP_WHY="$(basename "$S3GATE_BIN")/s3gate not built"
elif ! s3gate_start presign "public_url http://$PUB_HOST"; then
	FAIL_WHY="s3gate did not start (see $T/presign/s3gate.log)"
fi

# fetch URL [CURL_ARGS...]: curl as an outsider at the public host; prints
# the status; the body goes to $T/out
fetch() {
	local url=$1; shift
	curl -s -o "$T/out" -w '%{http_code}' --max-time 60 \
		--connect-to "$PUB_HOST:80:127.0.0.1:$S3GATE_PORT" "$@" "$url"
}
# presign ARGS...: the link's URL (text output)
presign() { s3gate_admin presign "$@"; }
# expect_status WANT URL [CURL_ARGS...]: the status is WANT (the body is shown if not).
# A link is a credential the proxy learns about through its store: the file
# store sees a new one within 100 ms, so while the answer is
# InvalidAccessKeyId it is asked again, for at most a second.
expect_status() {
	local want=$1 code i; shift
	for ((i = 0; i < 10; i++)); do
		code=$(fetch "$@")
		[ "$code" = 403 ] && grep -q InvalidAccessKeyId "$T/out" || break
		sleep 0.1
	done
	[ "$code" = "$want" ] && return 0
	echo "HTTP $code, expected $want"
	grep -q '^<' "$T/out" && head -c 600 "$T/out" | tr -c '[:print:]\n' '?' ||
		echo "($(stat -c %s "$T/out") bytes of body)"
	echo
	return 1
}
# expect_denied URL [CURL_ARGS...]: 403 with an S3 XML error that has a Message
expect_denied() {
	expect_status 403 "$@" || return 1
	grep -q '<Error>' "$T/out" && grep -q '<Message>[^<]' "$T/out" ||
		{ echo "no S3 error with a Message:"; head -c 600 "$T/out"; echo; return 1; }
}
# within_2s CMD...: CMD succeeds within two seconds (revocations reach the proxy within one)
within_2s() {
	local i
	for ((i = 0; i < 20; i++)); do
		"$@" >"$T/within.out" 2>&1 && return 0
		sleep 0.1
	done
	cat "$T/within.out"
	return 1
}

setup() {
	storage_doc eric "$B" --hidden "$BH" --grant "$B:carl:ReadOnly" >"$T/ws-eric.yaml"
	storage_doc alice "$BA" >"$T/ws-alice.yaml"
	{ cat "$T/ws-eric.yaml"; echo ---; cat "$T/ws-alice.yaml"; } >"$T/storage.yaml"
	s3gate_sync "$T/storage.yaml" || return 1
	mkfile "$T/obj" 8
	backend_aws s3 cp "$T/obj" "s3://$B/$KEY"
}
if ready; then
	tc "setup: workspaces synced, an 8 MiB object at the backend" setup ||
		FAIL_WHY="setup failed"
fi

get_link() {
	local url
	url=$(presign --principal eric "s3://$B/$KEY") || return 1
	case $url in "http://$PUB_HOST/$B/"*) ;; *) echo "not under public_url: $url"; return 1 ;; esac
	expect_status 200 "$url" && same_file "$T/obj" "$T/out"
}
tc "GET link fetched by plain curl at the public host: the object, byte for byte" get_link

get_link_json() {
	local doc url id
	doc=$(s3gate_admin --json presign --principal eric --expires 2h "s3://$B/$KEY") || return 1
	url=$("$PY3" -c 'import json,sys; d=json.load(sys.stdin); assert sorted(d)==["expires_at","id","url"], d; print(d["url"])' <<<"$doc") || return 1
	id=$("$PY3" -c 'import json,sys; print(json.load(sys.stdin)["id"])' <<<"$doc")
	expect_status 200 "$url" && same_file "$T/obj" "$T/out" || return 1
	# the access log names the link on its use (written once the answer has gone)
	wait_for 10 grep -q "$id" "$S3GATE_DIR/access.log" || { echo "access log does not name $id"; return 1; }
}
tc "--json link works too, and the access log names its id" get_link_json

range_and_resume() {
	local url
	url=$(presign --principal eric "s3://$B/$KEY") || return 1
	expect_status 206 "$url" -r 0-99 || return 1
	cmp -n 100 "$T/out" "$T/obj" || return 1
	[ "$(stat -c %s "$T/out")" = 100 ] || { echo "range gave $(stat -c %s "$T/out") bytes"; return 1; }
	# an interrupted download resumed with curl -C -
	head -c 3000000 "$T/obj" >"$T/part"
	curl -s -o "$T/part" -C - --max-time 60 --connect-to "$PUB_HOST:80:127.0.0.1:$S3GATE_PORT" \
		"$url" || return 1
	same_file "$T/obj" "$T/part"
}
tc "range request (206) and curl -C - resume through a link" range_and_resume

tampered() {
	local url
	url=$(presign --principal eric "s3://$B/$KEY") || return 1
	expect_denied "${url/share\/a%20b/share/x%20b}" || return 1	# another key
	expect_denied "$url" -X DELETE						# another method
}
tc "a link with its key or method changed is refused (403)" tampered

put_link() {
	local url
	url=$(presign --principal eric --method PUT "s3://$B/upload/from-outside.bin") || return 1
	mkfile "$T/up" 3
	expect_status 200 "$url" -T "$T/up" || return 1
	backend_aws s3 cp "s3://$B/upload/from-outside.bin" "$T/up.back" &&
		same_file "$T/up" "$T/up.back"
}
tc "PUT link used with curl -T: the object is at the backend" put_link

refused_at_issue() {
	local out
	out=$(presign --principal eric --expires 8d "s3://$B/$KEY" 2>&1) && { echo "issued: $out"; return 1; }
	grep -q "expiry is more than 7 days; the longest is 7d" <<<"$out" || { echo "$out"; return 1; }
	out=$(presign --principal alice "s3://$B/$KEY" 2>&1) && { echo "issued: $out"; return 1; }
	grep -q "Access Denied" <<<"$out" || { echo "$out"; return 1; }
	out=$(presign --principal carl --method PUT "s3://$B/x" 2>&1) && { echo "issued: $out"; return 1; }
	grep -q "Access Denied" <<<"$out" || { echo "$out"; return 1; }
	out=$(presign --principal alice "s3://$BH/x" 2>&1) && { echo "issued: $out"; return 1; }
	return 0
}
tc "refused at issue: 8 days, an issuer without read, a PUT by a ReadOnly grantee" refused_at_issue

expired() {
	local url
	url=$(presign --principal eric --expires 1s "s3://$B/$KEY") || return 1
	sleep 2.5
	expect_denied "$url" || return 1
	grep -qi "expired" "$T/out" || { echo "the error does not say expired:"; cat "$T/out"; return 1; }
}
tc "a link used after its expiry: 403, says expired" expired

revoked() {
	local doc url id
	doc=$(s3gate_admin --json presign --principal eric "s3://$B/$KEY") || return 1
	url=$("$PY3" -c 'import json,sys; print(json.load(sys.stdin)["url"])' <<<"$doc")
	id=$("$PY3" -c 'import json,sys; print(json.load(sys.stdin)["id"])' <<<"$doc")
	expect_status 200 "$url" || return 1
	s3gate_admin presign list | grep -q "^$id eric GET" || { echo "not in presign list"; return 1; }
	s3gate_admin presign revoke "$id" --principal alice 2>/dev/null && { echo "alice revoked eric's link"; return 1; }
	s3gate_admin presign revoke "$id" || return 1
	within_2s expect_denied "$url"
}
tc "a revoked link is refused within a second or two" revoked

issuer_lost_access() {
	local url
	url=$(presign --principal carl "s3://$B/$KEY") || return 1
	expect_status 200 "$url" || return 1
	s3gate_admin revoke "$B" carl || return 1
	within_2s expect_denied "$url"
}
tc "a link whose issuer's grant was revoked is refused" issuer_lost_access

max_uses() {
	local url
	url=$(presign --principal eric --max-uses 2 "s3://$B/$KEY") || return 1
	expect_status 200 "$url" && same_file "$T/obj" "$T/out" || return 1
	expect_status 200 "$url" && same_file "$T/obj" "$T/out" || return 1
	expect_denied "$url"
}
tc "--max-uses 2: two downloads, the third refused" max_uses

# ---- browsers: CORS preflights before an upload to a link --------------------------------
# A web page that uploads to a PUT link with a Content-Type of its own (or
# reads with any x-amz-* header) makes the browser send a preflight first:
# OPTIONS with Origin and Access-Control-Request-Method, unsigned.  The
# owner sets CORS rules through s3gate (bucket_config_ops cors); s3gate
# passes the preflight's CORS headers (and nothing else) to RGW for a bucket
# the policy knows, and turns every answer but a 200 into one 403.  curl
# sends what a browser sends (no browser runs here).
ORIGIN=https://app.example.test
# preflight URL ORIGIN [METHOD [HEADERS]]: the status; the head goes to $T/pf.head, the body to $T/out
preflight() {
	curl -s -o "$T/out" -D "$T/pf.head" -w '%{http_code}' --max-time 30 -X OPTIONS \
		--connect-to "$PUB_HOST:80:127.0.0.1:$S3GATE_PORT" -H "Origin: $2" \
		-H "Access-Control-Request-Method: ${3:-PUT}" ${4:+-H "Access-Control-Request-Headers: $4"} "$1"
}
# pf_header NAME: the value of NAME in the last preflight's head
pf_header() { tr -d '\r' <"$T/pf.head" | awk -v n="$(tr 'A-Z' 'a-z' <<<"$1")" -F': ' 'tolower($1) == n {print $2}'; }
# refusal_shape: the 403 body without its request id and resource (what may differ)
refusal_shape() { sed -e 's|<RequestId>[^<]*</RequestId>||' -e 's|<Resource>[^<]*</Resource>||' "$T/out"; }

cors_setup() {
	s3gate_cred eric eric_cors >/dev/null || return 1
	printf '{"CORSRules":[{"AllowedOrigins":["%s"],"AllowedMethods":["GET","PUT"],"AllowedHeaders":["content-type"],"ExposeHeaders":["ETag"],"MaxAgeSeconds":300}]}' \
		"$ORIGIN" >"$T/cors.json"
	S3_ENDPOINT=$S3GATE_ENDPOINT awsv1 eric_cors s3api put-bucket-cors --bucket "$B" \
		--cors-configuration "file://$T/cors.json" || return 1
	# through s3gate, and RGW holds it
	backend_aws s3api get-bucket-cors --bucket "$B" | grep -q "$ORIGIN"
}
tc "CORS: the owner sets the bucket's CORS rules through s3gate (PutBucketCors), RGW holds them" cors_setup

cors_upload() {
	local url code
	url=$(presign --principal eric --method PUT "s3://$B/from-browser.txt") || return 1
	code=$(preflight "$url" "$ORIGIN" PUT content-type)
	[ "$code" = 200 ] || { echo "preflight: HTTP $code"; cat "$T/out"; return 1; }
	[ "$(pf_header access-control-allow-origin)" = "$ORIGIN" ] &&
		pf_header access-control-allow-methods | grep -q PUT &&
		pf_header access-control-allow-headers | grep -qi content-type ||
		{ echo "preflight head:"; cat "$T/pf.head"; return 1; }
	# then the upload itself, as the browser sends it
	printf 'sent by a browser\n' >"$T/cors.body"
	code=$(curl -s -o "$T/out" -D "$T/put.head" -w '%{http_code}' --max-time 30 -X PUT \
		--connect-to "$PUB_HOST:80:127.0.0.1:$S3GATE_PORT" -H "Origin: $ORIGIN" \
		-H "Content-Type: text/plain" --data-binary "@$T/cors.body" "$url")
	[ "$code" = 200 ] || { echo "PUT: HTTP $code"; cat "$T/out"; return 1; }
	tr -d '\r' <"$T/put.head" | grep -qi "^access-control-allow-origin: $ORIGIN$" ||
		{ echo "the upload's answer lets the page see nothing:"; cat "$T/put.head"; return 1; }
	backend_aws s3 cp "s3://$B/from-browser.txt" "$T/cors.back" && same_file "$T/cors.body" "$T/cors.back"
}
tc "CORS: a preflight for a PUT link from an allowed origin gets RGW's rules (200), then the upload works and is stored" cors_upload

cors_refused() {
	local url code shape first=""
	url=$(presign --principal eric --method PUT "s3://$B/x") || return 1
	# the link's signature plays no part: a tampered one preflights the same
	code=$(preflight "${url%??}00" "$ORIGIN" PUT content-type)
	[ "$code" = 200 ] || { echo "preflight of a tampered link: HTTP $code, expected 200"; return 1; }
	# refused: another origin, a method or header the rules lack, a bucket without rules,
	# a hidden bucket, a bucket the policy does not know -- one 403, one body
	for args in "$B https://evil.example.test PUT" "$B $ORIGIN DELETE" "$B $ORIGIN PUT x-amz-acl" \
		"$BA $ORIGIN PUT" "$BH $ORIGIN PUT" "ws-nobody-$(rand_id) $ORIGIN PUT"; do
		set -- $args
		code=$(preflight "http://$PUB_HOST/$1/k" "$2" "$3" "${4:-}")
		[ "$code" = 403 ] || { echo "$args: HTTP $code, expected 403"; cat "$T/out"; return 1; }
		[ -z "$(pf_header access-control-allow-origin)" ] ||
			{ echo "$args: refused, yet allows an origin"; return 1; }
		shape=$(refusal_shape)
		grep -q CORSResponse <<<"$shape" || { echo "$args: $shape"; return 1; }
		[ -z "$first" ] && first=$shape
		[ "$shape" = "$first" ] || { echo "$args answers otherwise:"; echo "$first"; echo "$shape"; return 1; }
	done
}
tc "CORS: refused preflights (origin, method, header, no rules, hidden or unknown bucket) are one 403 with one body" cors_refused
cors_logged() {	# a preflight the rules refuse is a denial in the access log and the metrics
	local code line n0
	n0=$(access_lines)
	code=$(preflight "http://$PUB_HOST/$B/k" https://evil.example.test PUT)
	[ "$code" = 403 ] || { echo "HTTP $code"; return 1; }
	wait_for 10 access_grew "$n0" || { echo "no access log line"; return 1; }
	line=$(grep '"PreflightRequest"' "$S3GATE_DIR/access.log" | tail -n 1)
	grep -q '"decision":"deny"' <<<"$line" && grep -q "rules refuse it" <<<"$line" ||
		{ echo "access log: $line"; return 1; }
	curl -s "$S3GATE_ADMIN_URL/metrics" | grep -q '^s3gate_actions_total{action="PreflightRequest",decision="deny"} [1-9]' ||
		{ curl -s "$S3GATE_ADMIN_URL/metrics" | grep PreflightRequest; return 1; }
}
tc "CORS: a preflight the rules refuse is logged and counted as a denial" cors_logged

cors_not_preflight() {
	local code
	# an OPTIONS that is not a preflight (no Access-Control-Request-Method, a body,
	# Origin twice) goes the signed way and is refused there: nothing reaches RGW
	code=$(curl -s -o "$T/out" -w '%{http_code}' --max-time 30 -X OPTIONS \
		--connect-to "$PUB_HOST:80:127.0.0.1:$S3GATE_PORT" -H "Origin: $ORIGIN" "http://$PUB_HOST/$B/k")
	[ "$code" = 403 ] && ! grep -q CORSResponse "$T/out" || { echo "no method: HTTP $code"; cat "$T/out"; return 1; }
	code=$(curl -s -o "$T/out" -w '%{http_code}' --max-time 30 -X OPTIONS \
		--connect-to "$PUB_HOST:80:127.0.0.1:$S3GATE_PORT" -H "Origin: $ORIGIN" \
		-H "Access-Control-Request-Method: PUT" --data-binary x "http://$PUB_HOST/$B/k")
	[ "$code" = 403 ] && ! grep -q CORSResponse "$T/out" || { echo "with a body: HTTP $code"; cat "$T/out"; return 1; }
	code=$(curl -s -o "$T/out" -w '%{http_code}' --max-time 30 -X OPTIONS \
		--connect-to "$PUB_HOST:80:127.0.0.1:$S3GATE_PORT" -H "Origin: $ORIGIN" -H "Origin: https://evil.example.test" \
		-H "Access-Control-Request-Method: PUT" "http://$PUB_HOST/$B/k")
	[ "$code" = 403 ] && ! grep -q CORSResponse "$T/out" || { echo "Origin twice: HTTP $code"; cat "$T/out"; return 1; }
}
tc "CORS: an OPTIONS that is not a preflight (no method, a body, Origin twice) is refused as unsigned" cors_not_preflight

# s3gate's own error answers (cors_errors, on by default) are readable by a
# page: with Origin they carry Access-Control-Allow-Origin: * and expose the
# request id, Retry-After and Date; without Origin they carry none.  RGW's
# answers pass as RGW made them (its rules, one header of each).
#
# get_o URL [ORIGIN [CURL_ARGS...]]: a GET at the public host; the status; the head in $T/o.head
get_o() {
	local url=$1 origin=${2:-}; shift; shift || true
	curl -s -o "$T/out" -D "$T/o.head" -w '%{http_code}' --max-time 30 \
		--connect-to "$PUB_HOST:80:127.0.0.1:$S3GATE_PORT" ${origin:+-H "Origin: $origin"} "$@" "$url"
}
# o_count, o_header, own_cors, no_cors (lib.sh) read $T/o.head

cors_own_errors() {
	local url code
	url=$(presign --principal eric --expires 1s "s3://$B/$KEY") || return 1
	sleep 2.5
	code=$(get_o "$url" "$ORIGIN")
	[ "$code" = 403 ] && grep -q '<Code>AccessDenied</Code>' "$T/out" && grep -qi expired "$T/out" ||
		{ echo "expired link: HTTP $code"; cat "$T/out"; return 1; }
	own_cors "expired link" || return 1
	# any page may read it, not only the origins the bucket's rules name
	code=$(get_o "$url" https://evil.example.test)
	[ "$code" = 403 ] && own_cors "expired link, another origin" || return 1
	code=$(get_o "$url")
	[ "$code" = 403 ] && no_cors "expired link, no Origin" || return 1
	[ "$(o_header vary)" = Origin ] || { echo "no Vary: Origin without Origin"; cat "$T/o.head"; return 1; }
	# a tampered link (SignatureDoesNotMatch), a signed GET without a grant (the policy's AccessDenied)
	url=$(presign --principal eric "s3://$B/$KEY") || return 1
	code=$(get_o "${url%??}00" "$ORIGIN")
	[ "$code" = 403 ] && grep -q SignatureDoesNotMatch "$T/out" && own_cors "tampered link" || return 1
	s3gate_cred alice alice_cors >/dev/null || return 1
	code=$(curl_sigv4 alice_cors -o "$T/out" -D "$T/o.head" -w '%{http_code}' --max-time 30 \
		-H "Origin: $ORIGIN" "$S3GATE_ENDPOINT/$B/$(urlenc "$KEY")")
	[ "$code" = 403 ] && grep -q '<Code>AccessDenied</Code>' "$T/out" ||
		{ echo "alice without a grant: HTTP $code"; cat "$T/out"; return 1; }
	own_cors "signed, no grant" || return 1
	code=$(curl_sigv4 alice_cors -o "$T/out" -D "$T/o.head" -w '%{http_code}' --max-time 30 \
		"$S3GATE_ENDPOINT/$B/$(urlenc "$KEY")")
	[ "$code" = 403 ] && no_cors "signed, no grant, no Origin"
}
tc "CORS: s3gate's own 403s (expired link, tampered link, no grant) with Origin carry Access-Control-Allow-Origin: * and expose the request id; without Origin none" cors_own_errors

cors_rgw_untouched() {
	local url code
	url=$(presign --principal eric "s3://$B/$KEY") || return 1
	# RGW's 200 to an origin its rules name: its own Access-Control-Allow-Origin, once
	code=$(get_o "$url" "$ORIGIN" -r 0-9)
	[ "$code" = 206 ] && [ "$(o_count access-control-allow-origin)" = 1 ] &&
		[ "$(o_header access-control-allow-origin)" = "$ORIGIN" ] &&
		! grep -qi '^access-control-expose-headers: x-amz-request-id, Retry-After, Date' "$T/o.head" ||
		{ echo "RGW's 206 to $ORIGIN: HTTP $code"; cat "$T/o.head"; return 1; }
	# to an origin they do not name: none, as RGW answered
	code=$(get_o "$url" https://evil.example.test -r 0-9)
	[ "$code" = 206 ] && [ "$(o_count access-control-allow-origin)" = 0 ] ||
		{ echo "RGW's 206 to another origin: HTTP $code"; cat "$T/o.head"; return 1; }
	# RGW's own error (404 NoSuchKey): whatever RGW says, nothing of s3gate's added
	url=$(presign --principal eric "s3://$B/no-such-key-$(rand_id)") || return 1
	code=$(get_o "$url" https://evil.example.test)
	[ "$code" = 404 ] && grep -q NoSuchKey "$T/out" && [ "$(o_count access-control-allow-origin)" = 0 ] ||
		{ echo "RGW's 404 to another origin: HTTP $code"; cat "$T/o.head"; return 1; }
	code=$(get_o "$url" "$ORIGIN")
	[ "$code" = 404 ] && [ "$(o_count access-control-allow-origin)" -le 1 ] &&
		! grep -qi '^access-control-allow-origin: \*' "$T/o.head" &&
		! grep -qi '^access-control-expose-headers: x-amz-request-id, Retry-After, Date' "$T/o.head" ||
		{ echo "RGW's 404 to $ORIGIN: HTTP $code"; cat "$T/o.head"; return 1; }
	echo "RGW's 404 to $ORIGIN carries: $(o_header access-control-allow-origin | tr '\n' ' ')"
}
tc "CORS: RGW's answers (206 to an allowed origin and another, 404 NoSuchKey) pass as RGW made them: one Access-Control-Allow-Origin at most, RGW's" cors_rgw_untouched

# Unsigned, yet asked of the store and RGW: all preflights together are one
# principal to the default quotas, so a flood of them is bounded and costs
# no workspace its own rate.
if ready; then
	s3gate_stop presign
	s3gate_start presign "public_url http://$PUB_HOST" "quota_request_rate 2" ||
		FAIL_WHY="s3gate with quota_request_rate 2 did not start (see $T/presign/s3gate.log)"
fi
cors_quota() {
	local i code url ok=0 slow=0
	for ((i = 0; i < 12; i++)); do
		code=$(preflight "http://$PUB_HOST/$B/k" "$ORIGIN" PUT)
		case $code in 200) ok=$((ok + 1)) ;; 503) grep -q SlowDown "$T/out" && slow=$((slow + 1)) && cp "$T/pf.head" "$T/pf.slow" ;; esac
	done
	echo "12 preflights at once under quota_request_rate 2: $ok answered 200, $slow 503 SlowDown"
	[ $ok -ge 1 ] && [ $slow -ge 1 ] && [ $((ok + slow)) = 12 ] || return 1
	# a refused preflight stays bare, SlowDown too
	! grep -qi '^access-control-' "$T/pf.slow" || { echo "a preflight's SlowDown:"; cat "$T/pf.slow"; return 1; }
	# a workspace's own request rate is its own
	url=$(presign --principal eric "s3://$B/$KEY") || return 1
	expect_status 200 "$url"
}
tc "CORS: preflights share one quota (quota_request_rate 2: a burst of 12 is cut with 503 SlowDown); eric's link is still served" cors_quota
cors_slowdown() {
	local url i code slow=0
	url=$(presign --principal eric "s3://$B/$KEY") || return 1
	for ((i = 0; i < 8; i++)); do
		code=$(get_o "$url" "$ORIGIN" -r 0-0)
		[ "$code" = 503 ] && grep -q SlowDown "$T/out" && { slow=1; break; }
	done
	[ $slow = 1 ] || { echo "eight GETs under quota_request_rate 2: no SlowDown"; return 1; }
	own_cors SlowDown || return 1
	[ "$(o_header retry-after)" -ge 1 ] 2>/dev/null || { echo "SlowDown without Retry-After:"; cat "$T/o.head"; return 1; }
	sleep 1.1
	for ((i = 0; i < 8; i++)); do
		code=$(get_o "$url" "" -r 0-0)
		[ "$code" = 503 ] && break
	done
	[ "$code" = 503 ] && no_cors "SlowDown, no Origin"
}
tc "CORS: s3gate's 503 SlowDown with Origin carries Access-Control-Allow-Origin: * and exposes Retry-After; without Origin none" cors_slowdown

# ---- the same s3gate with two workers: a link's budget is one per s3gate --------------------
# The store (a file store in the instance's directory) stays; only the
# process changes.  Eight attempts at once spread over both workers (a
# worker leaves a connection to a peer holding fewer): with budgets counted
# per worker, the worker that served one of the two downloads, or none,
# would serve again.
if ready; then
	s3gate_stop presign
	s3gate_start presign "public_url http://$PUB_HOST" "workers 2" ||
		FAIL_WHY="s3gate with workers 2 did not start (see $T/presign/s3gate.log)"
fi
max_uses_workers() {
	local url i codes
	url=$(presign --principal eric --max-uses 2 "s3://$B/$KEY") || return 1
	expect_status 200 "$url" && same_file "$T/obj" "$T/out" || return 1
	expect_status 200 "$url" && same_file "$T/obj" "$T/out" || return 1
	for ((i = 0; i < 8; i++)); do
		curl -s -o /dev/null -w '%{http_code}\n' --max-time 60 \
			--connect-to "$PUB_HOST:80:127.0.0.1:$S3GATE_PORT" "$url" >"$T/par.$i" &
	done
	wait
	codes=$(cat "$T"/par.* | sort | uniq -c | tr -s ' \n' ' ')
	echo "eight attempts after two downloads:$codes"
	[ "$(cat "$T"/par.* | grep -c '^403$')" = 8 ]
}
tc "workers 2, --max-uses 2: two downloads, then eight attempts at once all refused" max_uses_workers
