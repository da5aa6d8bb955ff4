#!/bin/bash
# A link s3gate issued, for a 1 GiB object: downloaded by curl and by wget
# with no credentials and compared byte for byte; a download cut off half
# way and resumed with curl -C -.  (issue 5's large-file case)
. "$(dirname "$0")/lib.sh"

B=ws-ivy-big
KEY="models/weights 1g.bin"
PUB_HOST=files.example.test

SKIP_WHY=""
if [ "$S3GATE_DIRECT_RGW" = 1 ]; then
	SKIP_WHY="links issued by s3gate need s3gate"
elif ! s3gate_have; then
	SKIP_WHY="$(basename "$S3GATE_BIN")/s3gate not built"
elif ! command -v wget >/dev/null; then
	SKIP_WHY="wget is not installed"
elif ! s3gate_start big "public_url http://$PUB_HOST"; then
	SKIP_WHY=""
	t_fail "s3gate starts" "see $T/big/s3gate.log"
	exit 1
fi
if [ -n "$SKIP_WHY" ]; then
	t_skip "1 GiB link download" "$SKIP_WHY"
	exit 0
fi

setup() {
	storage_doc ivy "$B" >"$T/ws.yaml" && s3gate_sync "$T/ws.yaml" || return 1
	mkfile "$T/obj" 1024
	sha256sum <"$T/obj" | cut -d' ' -f1 >"$T/obj.sha"
	backend_aws s3 cp "$T/obj" "s3://$B/$KEY" --only-show-errors
}
t_check "setup: a 1 GiB object at the backend" setup || exit 1

URL=$(s3gate_admin presign --principal ivy --expires 1h "s3://$B/$KEY")
CONNECT="$PUB_HOST:80:127.0.0.1:$S3GATE_PORT"

sha_of() { sha256sum <"$1" | cut -d' ' -f1; }

curl_whole() {
	curl -sf --max-time 300 --connect-to "$CONNECT" -o "$T/curl.bin" "$URL" || return 1
	[ "$(sha_of "$T/curl.bin")" = "$(cat "$T/obj.sha")" ] || { echo "content differs"; return 1; }
}
t_check "curl, no credentials: 1 GiB through the link, byte for byte" curl_whole
rm -f "$T/curl.bin"

wget_whole() {
	# wget has no --connect-to: the link's host is given as a header to the proxy's address
	local path=${URL#http://$PUB_HOST}
	wget -q -O "$T/wget.bin" --header "Host: $PUB_HOST" "http://127.0.0.1:$S3GATE_PORT$path" || return 1
	[ "$(sha_of "$T/wget.bin")" = "$(cat "$T/obj.sha")" ] || { echo "content differs"; return 1; }
}
t_check "wget, no credentials: 1 GiB through the link, byte for byte" wget_whole
rm -f "$T/wget.bin"

resume() {
	# cut off after ~300 MiB by a rate-limited curl that is stopped
	curl -s --max-time 60 --connect-to "$CONNECT" -o "$T/part.bin" "$URL" \
		--limit-rate 200M --max-filesize 2G &
	local pid=$!
	# under way (its first bytes in, however slow the start), then cut
	wait_for 20 test -s "$T/part.bin"
	sleep 1
	kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null
	local got; got=$(stat -c %s "$T/part.bin")
	[ "$got" -gt 0 ] && [ "$got" -lt 1073741824 ] || { echo "partial download has $got bytes"; return 1; }
	curl -sf --max-time 300 --connect-to "$CONNECT" -C - -o "$T/part.bin" "$URL" || return 1
	[ "$(sha_of "$T/part.bin")" = "$(cat "$T/obj.sha")" ] || { echo "resumed content differs"; return 1; }
	echo "# resumed after $got bytes"
}
t_check "an interrupted download resumed with curl -C - is complete and identical" resume
rm -f "$T/part.bin" "$T/obj"
