#!/bin/bash
# Several backend addresses (proxy/upstream.h): an object store runs
# several gateways, and s3gate dials them in turn; one that refuses a
# connection or takes none within backend_connect_timeout is skipped for
# backend_fail_timeout and the request dialled to the next at once.
#
# The gateways here are the real RGW (127.0.0.1:RGW_PORT) and stand-ins on
# other loopback addresses at the same port (helpers/tcprelay.py): a relay
# to RGW that counts its connections (another gateway), an address where
# nothing listens (a gateway down: refused), and one that never answers a
# SYN (a gateway unreachable: the connect times out).  Each proxy has
# backend_pool_size 0, so every request dials.  The URL's host
# (rgw.s3gate-test.invalid) resolves nowhere: backend_addresses is where
# s3gate connects, the URL gives Host and the TLS name.
#
# Checked: GETs and an 8 MiB upload through four addresses of which two
# fail are all served, byte for byte, by both live ones; each failing
# address dialled once within a 30 s fail timeout (its log line says for
# how long), s3gate_backend_address_up 0 for it and
# s3gate_backend_marked_down_total; /readyz ok while some address is up; a
# gateway that goes away mid-run is skipped and the requests go on; with
# every address down: 503 ServiceUnavailable at once, /readyz 503; an
# address that never answers a SYN: 503 at backend_connect_timeout (it was
# backend_timeout: a connect under way was taken for done); a host name
# that moves to another address is followed within
# backend_resolve_interval, and one that stops resolving keeps what it
# had; an address that comes back is dialled again once its fail timeout
# is over.
# Workspace: ws-bk<id>.
. "$(dirname "$0")/lib.sh"

need_s3gate "several backend addresses" "s3gate's own dialling: nothing to test against RGW"
ID=$(rand_id)
P=bk$ID
B=ws-$P
RP=${RGW_ENDPOINT##*:}
RELAY="$PY3 $LIB_DIR/helpers/tcprelay.py"
URL_HOST=rgw.s3gate-test.invalid

# relay_on ADDR COUNT_FILE — a relay to RGW on ADDR:RP; its pid in RELAY_PID
# (its pid also in a file: a check runs in a subshell, whose lib_on_exit is lost)
relay_on() {
	$RELAY relay "$1:$RP" "127.0.0.1:$RP" --count "$2" >"$2.ready" 2>"$2.err" &
	RELAY_PID=$!
	echo "$RELAY_PID" >"$2.pid"
	wait_for 10 grep -q ready "$2.ready"
}
lib_on_exit 'for f in "$T"/relay*.pid; do [ -f "$f" ] && kill "$(cat "$f")" 2>/dev/null; done'
if ! relay_on 127.0.0.2 "$T/relay2"; then t_fail "setup: a relay on 127.0.0.2:$RP" "$(cat "$T/relay2.err")"; exit 1; fi
RELAY2_PID=$RELAY_PID
$RELAY blackhole "127.0.0.4:$RP" >"$T/hole.ready" 2>"$T/hole.err" &
lib_on_exit "kill $! 2>/dev/null"
wait_for 10 grep -q ready "$T/hole.ready" || { t_fail "setup: a blackhole on 127.0.0.4:$RP" "$(cat "$T/hole.err")"; exit 1; }

s3gate_start many "workers 1" "backend_pool_size 0" "backend http://$URL_HOST:$RP" \
	"backend_addresses 127.0.0.1 127.0.0.2 127.0.0.3 127.0.0.4" "backend_fail_timeout 30s" \
	"backend_connect_timeout 500ms" || { t_fail "s3gate many starts" "see $T/many/s3gate.log"; exit 1; }
MANY_EP=$S3GATE_ENDPOINT MANY_ADMIN=$S3GATE_ADMIN_URL MANY_LOG=$S3GATE_LOG MANY_DIR=$S3GATE_DIR
if ! out=$({ ws_setup "$P" "$B" && s3gate_cred "$P"; } 2>&1); then t_fail "setup: $B and $P's credentials" "$out"; exit 1; fi
mkfile "$T/obj" 1
backend_aws s3api put-object --bucket "$B" --key obj --body "$T/obj" >/dev/null || t_fail "setup: an object at RGW"
until_ok "$P" "$MANY_EP/$B/obj" >"$T/until.out" || { t_fail "setup: s3gate many serves $P" "$(cat "$T/until.out")"; exit 1; }

# gets URL N — N signed GETs of obj, each 200 and byte for byte; says which failed
gets() { get_each "$P" "$1/$B/obj" "$T/obj" "$2"; }
relay_count() { cat "$1" 2>/dev/null || echo 0; }
# dialled ADDR — how many times the error log says ADDR failed a connect
# (a request's dial or the readiness probe's)
dialled() { grep -c "backend $1:$RP: " "$MANY_LOG"; }

before_new=$(metric "$MANY_ADMIN" 's3gate_backend_connections_total{kind="new"}')
tc "20 GETs through four addresses, one refusing and one never answering: all 200, byte for byte" gets "$MANY_EP" 20
spread() {
	local relayed new
	relayed=$(relay_count "$T/relay2")
	new=$(( $(metric "$MANY_ADMIN" 's3gate_backend_connections_total{kind="new"}') - ${before_new:-0} ))
	echo "# $new new backend connections, $relayed through the relay on 127.0.0.2"
	[ "$relayed" -ge 5 ] && [ $(( new - relayed )) -ge 5 ]
}
tc "both live addresses served them (RGW at 127.0.0.1 and the relay at 127.0.0.2, each at least 5 of 20)" spread
failed_once() {
	echo "# 127.0.0.3 $(dialled 127.0.0.3) x, 127.0.0.4 $(dialled 127.0.0.4) x"
	grep "backend 127.0.0.[34]:$RP" "$MANY_LOG" | sed 's/^/#   /'
	[ "$(dialled 127.0.0.3)" = 1 ] && [ "$(dialled 127.0.0.4)" = 1 ] &&
		grep -q "backend 127.0.0.3:$RP: Connection refused; not dialled for 30000 ms" "$MANY_LOG" &&
		grep -q "backend 127.0.0.4:$RP: Connection timed out; not dialled for 30000 ms" "$MANY_LOG"
}
# The access log names the backend's request id (RGW's transaction id, what
# its own logs and a client's error report name) beside s3gate's own.
backend_id() {
	local id line
	curl_sigv4 "$P" --max-time 10 -o /dev/null -D "$T/id.h" "$MANY_EP/$B/obj" || return 1
	id=$(tr -d '\r' <"$T/id.h" | awk -F': ' 'tolower($1) == "x-amz-request-id" {print $2}')
	[ -n "$id" ] || { echo "no x-amz-request-id from RGW"; cat "$T/id.h"; return 1; }
	line=$(alog_last "$MANY_DIR" "r.get('backend_request_id') == '$id'") || { echo "$line"; return 1; }
	echo "# $line" | cut -c1-300
	curl -s -o /dev/null --max-time 10 "$MANY_EP/$B/obj"	# unsigned: s3gate's own 403
	line=$(alog_last "$MANY_DIR" "r['status'] == 403") &&
		! grep -q backend_request_id <<<"$line" || { echo "s3gate's own answer: $line"; return 1; }
}
tc "the access log names the backend's x-amz-request-id (backend_request_id), none on s3gate's own answers" backend_id
tc "the refusing and the silent address: each dialled once (refused; timed out), then skipped for backend_fail_timeout" failed_once
addr_metrics() {
	local m; m=$(curl -s --max-time 5 "$MANY_ADMIN/metrics")
	grep -E '^s3gate_backend_(address_up|marked_down)' <<<"$m" | sed 's/^/#   /'
	grep -qx "s3gate_backend_address_up{address=\"127.0.0.1:$RP\"} 1" <<<"$m" &&
		grep -qx "s3gate_backend_address_up{address=\"127.0.0.2:$RP\"} 1" <<<"$m" &&
		grep -qx "s3gate_backend_address_up{address=\"127.0.0.3:$RP\"} 0" <<<"$m" &&
		grep -qx "s3gate_backend_address_up{address=\"127.0.0.4:$RP\"} 0" <<<"$m" &&
		[ "$(awk '$1 == "s3gate_backend_marked_down_total{reason=\"connect\"}" {print $2}' <<<"$m")" -ge 2 ]
}
tc "/metrics: s3gate_backend_address_up 1, 1, 0, 0 and s3gate_backend_marked_down_total{reason=\"connect\"} >= 2" addr_metrics
readyz_code() { curl -s -o "$T/readyz" -w '%{http_code}' --max-time 5 "$1/readyz"; }
many_ready() { [ "$(readyz_code "$MANY_ADMIN")" = 200 ] || { echo "/readyz:"; cat "$T/readyz"; return 1; }; }
tc "/readyz: 200 while two of the four addresses are down" many_ready
upload() {
	mkfile "$T/up" 8
	S3_ENDPOINT=$MANY_EP awsv1 "$P" s3 cp "$T/up" "s3://$B/up" &&
		backend_aws s3 cp "s3://$B/up" "$T/up.back" --only-show-errors && same_file "$T/up" "$T/up.back"
}
tc "an 8 MiB aws-cli upload (multipart) through them: stored whole" upload
gone() {
	kill "$RELAY2_PID"; wait "$RELAY2_PID" 2>/dev/null
	gets "$MANY_EP" 10 && grep -q "backend 127.0.0.2:$RP: Connection refused; not dialled" "$MANY_LOG"
}
tc "the relay at 127.0.0.2 goes away: 10 more GETs all 200, the address skipped from its first refusal" gone

# every address down
s3gate_start dead "workers 1" "backend_pool_size 0" "backend http://$URL_HOST:$RP" \
	"backend_addresses 127.0.0.3 127.0.0.5" "policy_store file $MANY_DIR/policy" ||
	{ t_fail "s3gate dead starts" "see $T/dead/s3gate.log"; exit 1; }
DEAD_EP=$S3GATE_ENDPOINT DEAD_ADMIN=$S3GATE_ADMIN_URL
# unavailable ENDPOINT TEXT — a GET answered 503 ServiceUnavailable (S3 XML)
# holding TEXT within 10 s
unavailable() {
	local code
	code=$(curl_sigv4 "$P" --max-time 10 -o "$T/503.b" -w '%{http_code}' "$1/$B/obj")
	[ "$code" = 503 ] && grep -q '<Code>ServiceUnavailable</Code>' "$T/503.b" && grep -q "$2" "$T/503.b" ||
		{ echo "HTTP $code (000: no answer within 10 s):"; head -c 400 "$T/503.b"; return 1; }
}
tc "every address refuses: 503 ServiceUnavailable (S3 XML)" unavailable "$DEAD_EP" "<Message>"
dead_ready() { [ "$(readyz_code "$DEAD_ADMIN")" = 503 ] && grep -q '^backend unreachable' "$T/readyz"; }
tc "... and /readyz 503, backend unreachable" wait_for 10 dead_ready

# One address that never answers a SYN: backend_connect_timeout bounds
# the wait.  Before, a connect under way was taken for done (SO_ERROR is 0
# meanwhile) and the request waited in its write for backend_timeout.
s3gate_start hole "workers 1" "backend_pool_size 0" "backend http://$URL_HOST:$RP" \
	"backend_addresses 127.0.0.4" "backend_connect_timeout 500ms" "backend_timeout 60s" \
	"policy_store file $MANY_DIR/policy" || { t_fail "s3gate hole starts" "see $T/hole/s3gate.log"; exit 1; }
tc "the one address never answers a SYN: 503 at backend_connect_timeout (500 ms), not at backend_timeout (60 s; before: no answer)" \
	unavailable "$S3GATE_ENDPOINT" 'did not accept a connection in time' 

# A host name resolved again every backend_resolve_interval: s3gate runs
# in a mount namespace of its own whose /etc/hosts is a file of this test
# (unshare -m, mount --bind; glibc reads the file at every lookup), which
# the test rewrites in place.
printf '127.0.0.1 localhost\n127.0.0.6 rgw.s3gate-test\n' >"$T/hosts"
printf '#!/bin/sh\nexec unshare -m sh -c '"'"'mount --bind "$0" /etc/hosts && exec "$@"'"'"' "%s" "$@"\n' \
	"$T/hosts" >"$T/launch"
chmod +x "$T/launch"
if ! "$T/launch" getent hosts rgw.s3gate-test >"$T/ns.out" 2>&1 || ! grep -q 127.0.0.6 "$T/ns.out"; then
	SKIP_WHY="no private /etc/hosts here (unshare -m + mount --bind: $(head -c 200 "$T/ns.out"))"
elif ! relay_on 127.0.0.6 "$T/relay6"; then
	FAIL_WHY="setup: a relay on 127.0.0.6:$RP: $(cat "$T/relay6.err")"
elif ! S3GATE_LAUNCH=$T/launch s3gate_start dns "workers 1" "backend_pool_size 0" \
	"backend http://rgw.s3gate-test:$RP" "backend_resolve_interval 1s" "policy_store file $MANY_DIR/policy"; then
	FAIL_WHY="s3gate dns did not start: see $T/dns/s3gate.log"
fi
DNS_EP=${S3GATE_ENDPOINT:-} DNS_LOG=${S3GATE_LOG:-}
via_relay6() {
	local n0; n0=$(relay_count "$T/relay6")
	gets "$DNS_EP" 3 && [ "$(relay_count "$T/relay6")" -ge $((n0 + 3)) ]
}
tc "the backend's host resolves to 127.0.0.6 (a relay to RGW): GETs go there" via_relay6
moved() {
	local n0
	printf '127.0.0.1 localhost\n127.0.0.1 rgw.s3gate-test\n' >"$T/hosts"
	wait_for 10 grep -q "rgw.s3gate-test now resolves to 127.0.0.1:$RP" "$DNS_LOG" ||
		{ echo "no new lookup in the log:"; grep -i resolv "$DNS_LOG"; return 1; }
	n0=$(relay_count "$T/relay6")
	gets "$DNS_EP" 3 && [ "$(relay_count "$T/relay6")" = "$n0" ] ||
		{ echo "the relay took $(( $(relay_count "$T/relay6") - n0 )) of 3"; return 1; }
}
tc "the name moves to 127.0.0.1 (RGW): taken within backend_resolve_interval (1s), no GET goes to the old address" moved
lookup_fails() {
	printf '127.0.0.1 localhost\n' >"$T/hosts"
	wait_for 10 grep -q "resolving rgw.s3gate-test again: .*; keeping its 1 address(es)" "$DNS_LOG" ||
		{ echo "no failed lookup in the log:"; grep -i resolv "$DNS_LOG"; return 1; }
	gets "$DNS_EP" 3
}
tc "the name stops resolving: the address it had is kept, GETs all 200" lookup_fails

# an address that comes back
s3gate_start back "workers 1" "backend_pool_size 0" "backend http://$URL_HOST:$RP" \
	"backend_addresses 127.0.0.3 127.0.0.1" "backend_fail_timeout 1s" "policy_store file $MANY_DIR/policy" ||
	{ t_fail "s3gate back starts" "see $T/back/s3gate.log"; exit 1; }
BACK_EP=$S3GATE_ENDPOINT BACK_LOG=$S3GATE_LOG
comes_back() {
	gets "$BACK_EP" 4 || return 1
	grep -q "backend 127.0.0.3:$RP: Connection refused; not dialled for 1000 ms" "$BACK_LOG" ||
		{ echo "127.0.0.3 never refused"; return 1; }
	relay_on 127.0.0.3 "$T/relay3" || { echo "no relay on 127.0.0.3"; return 1; }
	_served3() { gets "$BACK_EP" 2 >/dev/null && [ "$(relay_count "$T/relay3")" -gt 0 ]; }
	wait_for 15 _served3 || { echo "127.0.0.3 not dialled again: $(relay_count "$T/relay3") connections"; return 1; }
	echo "# the relay on 127.0.0.3 took $(relay_count "$T/relay3") connections once back"
}
tc "a refused address (backend_fail_timeout 1s) that comes back is dialled again, the GETs all 200" comes_back
exit 0
