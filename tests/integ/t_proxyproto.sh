#!/bin/bash
# Behind a load balancer that passes TCP through and says whose connection
# it is with a PROXY protocol header (`listen ADDR:PORT [tls]
# proxy_protocol`):
#   HAProxy (send-proxy-v2 and send-proxy) in front of s3gate: curl from
#     127.0.0.5 and 127.0.0.6 is logged as those addresses, not HAProxy's;
#     aws-cli's multipart upload and download through it, RGW identical;
#   the header by hand (helpers/ppclient.py): v1 and v2, IPv4 and IPv6, a
#     LOCAL health check, a header in two writes, TLS after the header;
#     no header, a malformed one, a TLS ClientHello straight away: closed
#     with no answer, said in the error log;
#   max_connections_per_ip counts the address the header names: a 13th
#     connection of 10.7.7.7 is closed while 10.8.8.8 is served;
#   a header from an address proxy_protocol_from does not name is closed
#     unread; a proxy_protocol listener without proxy_protocol_from does
#     not pass s3gate -t;
#   a listener without proxy_protocol takes a PROXY line for a bad request.
# Workspace: ws-ppx<id>.
. "$(dirname "$0")/lib.sh"

ID=$(rand_id)
P=ppx$ID
B=ws-$P
PP=$PY3\ $LIB_DIR/helpers/ppclient.py

need_s3gate "PROXY protocol" "s3gate's own listener option: nothing to test against RGW"

PPORT=$(free_port)
TPORT=$(free_port)
if ! out=$(selfsigned pp); then
	t_fail "a test certificate" "$out"; exit 1
fi
if ! s3gate_start pp "listen 127.0.0.1:$PPORT proxy_protocol" \
	"listen 127.0.0.1:$TPORT tls proxy_protocol" "tls_certificate $T/certs/pp.pem $T/certs/pp.key" \
	"max_connections_per_ip 12" "head_timeout 2s" "proxy_protocol_from 127.0.0.1 ::1"; then
	t_fail "s3gate starts with proxy_protocol listeners" "see $T/pp/s3gate.log"; exit 1
fi
PLAIN_PORT=$S3GATE_PORT
if ! out=$({ ws_setup "$P" "$B" && s3gate_cred "$P"; } 2>&1); then
	t_fail "setup: workspace $B and $P's credentials" "$out"; exit 1
fi
echo "hello from behind a balancer $ID" >"$T/small"
mkfile "$T/big" 20
backend_aws s3 cp "$T/small" "s3://$B/small" >/dev/null || { t_fail "setup: an object at RGW" ""; exit 1; }
t_pass "setup: s3gate with a plain and a TLS proxy_protocol listener, $B with an object"

# pp_closed ARGS... — ppclient gets no answer: the connection is closed
pp_closed() {
	local got
	got=$($PP "$@")
	[ "$got" = closed ] || { echo "answer '$got', want the connection closed"; return 1; }
}

# ---- HAProxy in front ---------------------------------------------------------------
# (started in this shell: HAProxy must be its child, and HA1 HA2 HA_PID its variables)

HA_PID=""
haproxy_start() {
	local d=$T/haproxy
	mkdir -p "$d"
	HA2=$(free_port) HA1=$(free_port)
	cat >"$d/haproxy.cfg" <<EOF
global
    maxconn 200
defaults
    mode tcp
    timeout connect 5s
    timeout client 60s
    timeout server 60s
frontend v2
    bind 127.0.0.1:$HA2
    default_backend s3gate_v2
backend s3gate_v2
    server s 127.0.0.1:$PPORT send-proxy-v2
frontend v1
    bind 127.0.0.1:$HA1
    default_backend s3gate_v1
backend s3gate_v1
    server s 127.0.0.1:$PPORT send-proxy
EOF
	haproxy -db -f "$d/haproxy.cfg" >"$d/haproxy.log" 2>&1 &
	HA_PID=$!
	lib_on_exit 'kill -TERM $HA_PID 2>/dev/null; wait $HA_PID 2>/dev/null'
	wait_port "$HA2" 10 && wait_port "$HA1" 10 || { cat "$d/haproxy.log"; return 1; }
}
# via_haproxy PORT SRC — a signed GET through HAProxy from SRC: the object, logged as from SRC
via_haproxy() {
	local code r
	code=$(S3_ENDPOINT=http://127.0.0.1:$1 curl_sigv4 "$P" --interface "$2" -o "$T/got" \
		-w '%{http_code}' --max-time 20 "$(S3_ENDPOINT=http://127.0.0.1:$1 s3_url "$B/small")")
	[ "$code" = 200 ] && same_file "$T/small" "$T/got" || { echo "HTTP $code"; cat "$T/got"; return 1; }
	r=$(last_remote)
	[ "$r" = "$2" ] || { echo "logged as from '$r', want $2 (HAProxy's own: 127.0.0.1)"; return 1; }
}
aws_via_haproxy() {
	S3_ENDPOINT=http://127.0.0.1:$HA2 awsv1 "$P" s3 cp "$T/big" "s3://$B/big" || return 1
	rm -f "$T/big.back"
	S3_ENDPOINT=http://127.0.0.1:$HA2 awsv1 "$P" s3 cp "s3://$B/big" "$T/big.back" || return 1
	same_file "$T/big" "$T/big.back" && backend_aws s3 cp "s3://$B/big" "$T/big.rgw" >/dev/null &&
		same_file "$T/big" "$T/big.rgw"
}
if ! command -v haproxy >/dev/null; then
	t_skip "HAProxy in front" "haproxy not installed (make deps-test installs it)"
elif ! haproxy_start >"$T/haproxy.start" 2>&1; then
	t_fail "HAProxy in front of s3gate starts" "$(cat "$T/haproxy.start")"
else
	tc "HAProxy send-proxy-v2: curl from 127.0.0.5 gets the object, logged as from 127.0.0.5" \
		via_haproxy "$HA2" 127.0.0.5
	tc "HAProxy send-proxy (v1): curl from 127.0.0.6 gets the object, logged as from 127.0.0.6" \
		via_haproxy "$HA1" 127.0.0.6
	tc "HAProxy send-proxy-v2: aws-cli uploads 20 MiB (multipart) and downloads it, RGW identical" \
		aws_via_haproxy
fi

# ---- the header by hand ----------------------------------------------------------------

tc "v1 TCP4 header, then a request: answered, logged as from the header's address" \
	pp_answer 403 10.1.2.3 "$PPORT" --v1 10.1.2.3
tc "v1 TCP6 header: logged as from the IPv6 address" \
	pp_answer 403 2001:db8::7 "$PPORT" --v1 2001:db8::7
tc "v2 header over IPv4" pp_answer 403 10.4.5.6 "$PPORT" --v2 10.4.5.6
tc "v2 header over IPv6" pp_answer 403 2001:db8::8 "$PPORT" --v2 2001:db8::8
tc "v2 LOCAL (a balancer's health check): served, as from the balancer's own address" \
	pp_answer 403 127.0.0.1 "$PPORT" --v2-local
tc "a v1 header in two writes, 0.3 s apart: taken whole" \
	pp_answer 403 10.9.8.7 "$PPORT" --v1 10.9.8.7 --split
tc "a v2 header in two writes: taken whole" \
	pp_answer 403 10.9.8.6 "$PPORT" --v2 10.9.8.6 --split
tc "TLS listener with proxy_protocol: a v2 header, then the TLS handshake and a request" \
	pp_answer 403 10.5.5.5 "$TPORT" --v2 10.5.5.5 --tls
tc "TLS listener with proxy_protocol: a v1 header, then TLS" \
	pp_answer 403 10.5.5.6 "$TPORT" --v1 10.5.5.6 --tls

tc "no header, a request straight away: closed without an answer" pp_closed "$PPORT" --none
tc "TLS listener, no header, a ClientHello straight away: closed" pp_closed "$TPORT" --none --tls
tc "a malformed v1 header (a port of 70000): closed" \
	pp_closed "$PPORT" --raw 'PROXY TCP4 10.1.1.1 127.0.0.1 70000 80\r\n'
tc "a v1 header with LF alone: closed" \
	pp_closed "$PPORT" --raw 'PROXY TCP4 10.1.1.1 127.0.0.1 1 80\n'
tc "a v2 signature with a byte changed: closed" \
	pp_closed "$PPORT" --raw '\r\n\r\n\x00\r\nQUIX\n\x21\x11\x00\x0c'
said_why() {
	both_said() {
		grep -q "not a PROXY protocol header" "$S3GATE_LOG" &&
			grep -q "a v1 header's port is not 0 to 65535" "$S3GATE_LOG"
	}
	wait_for 10 both_said ||
		{ echo "the error log does not say why:"; grep -i proxy "$S3GATE_LOG" | tail -n 5; return 1; }
}
tc "the error log says why each was closed" said_why
half_header() {	# a header begun and never ended: closed at head_timeout (2 s)
	local t0 got
	t0=$(date +%s%N)
	got=$($PP "$PPORT" --raw 'PROXY TCP4 10.1.1.1' --path /x --wait 6)
	t0=$((($(date +%s%N) - t0) / 1000000))
	echo "answer '$got' after $t0 ms"
	[ "$got" = closed ] && [ "$t0" -lt 5000 ]
}
tc "a header begun and never ended: closed within head_timeout" half_header

# ---- max_connections_per_ip counts the header's address ---------------------------------
# (12: aws-cli above opens up to 10 at once, all from 127.0.0.1)
per_ip() {
	local a over other held
	rm -f "$T/held.ready"
	$PP "$PPORT" --v1 10.7.7.7 --hold 3 --count 12 --ready "$T/held.ready" >"$T/held" &
	a=$!
	pp_ready "$T/held.ready"
	over=$($PP "$PPORT" --v1 10.7.7.7)
	other=$($PP "$PPORT" --v1 10.8.8.8)
	wait "$a"
	held=$(sort "$T/held" | uniq -c | tr -s ' \n' ' ')
	echo "12 held by 10.7.7.7 (answers when done:$held); a 13th: $over; 10.8.8.8: $other"
	[ "$over" = closed ] && [ "$other" = 403 ] && [ "$(grep -c '^403$' "$T/held")" = 12 ] || return 1
	# once they are gone (the proxy has seen them close: polled), 10.7.7.7 is served again
	served_again() { [ "$($PP "$PPORT" --v1 10.7.7.7)" = 403 ]; }
	wait_for 10 served_again
}
tc "max_connections_per_ip 12: a 13th connection of 10.7.7.7 (by its header) is closed, 10.8.8.8 is served" per_ip

# ---- only the balancers proxy_protocol_from names ----------------------------------------
not_a_balancer() {	# a valid header from 127.0.0.9, which proxy_protocol_from does not name
	local got before after
	before=$(curl -s "$S3GATE_ADMIN_URL/metrics" | sed -n 's/^s3gate_refused_connections_total //p')
	got=$($PP "$PPORT" --src 127.0.0.9 --v1 10.6.6.6)
	after=$(curl -s "$S3GATE_ADMIN_URL/metrics" | sed -n 's/^s3gate_refused_connections_total //p')
	echo "from 127.0.0.9: $got; refused connections $before -> $after"
	[ "$got" = closed ] && [ "$after" -gt "$before" ] || return 1
	! grep -q '"remote":"10.6.6.6"' "$S3GATE_DIR/access.log" || { echo "10.6.6.6 was taken"; return 1; }
	[ "$($PP "$TPORT" --src 127.0.0.9 --v2 10.6.6.7 --tls)" = closed ]
}
tc "a PROXY header from an address proxy_protocol_from does not name (127.0.0.9): closed, counted as refused, never believed" not_a_balancer
no_from() {	# s3gate -t of a proxy_protocol listener without proxy_protocol_from
	local out rc
	grep -v '^proxy_protocol_from' "$S3GATE_CONF" >"$T/no-from.conf"
	out=$("$S3GATE_BIN/s3gate" -t -c "$T/no-from.conf" 2>&1); rc=$?
	echo "$out"
	[ $rc != 0 ] && grep -q "has proxy_protocol but no proxy_protocol_from" <<<"$out"
}
tc "s3gate -t: a proxy_protocol listener without proxy_protocol_from is refused, naming the listen line" no_from

# ---- a listener without proxy_protocol ----------------------------------------------------
plain_listener() {
	local got
	got=$($PP "$PLAIN_PORT" --v1 10.1.2.3)
	echo "answer: $got"
	[ "$got" = 400 ]
}
tc "a listener without proxy_protocol: a PROXY line is a bad request (400), never an address" plain_listener

exit 0
