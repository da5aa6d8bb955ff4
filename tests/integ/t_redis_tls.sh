#!/bin/bash
# A Redis that speaks only TLS, reached through a TLS client sidecar
# (stunnel, the recipe in deploy/README.md: s3gate's hiredis 0.14 has no
# TLS of its own):
#   s3gate and s3gate-admin work through the tunnel, password included;
#   a revocation reaches s3gate within a second (pub/sub through it);
#   a tunnel that cannot verify Redis's certificate fails closed: 503
#     ServiceUnavailable and not ready, never the object.
# Uses a Redis of its own with its plaintext port off.
. "$(dirname "$0")/lib.sh"

need_s3gate "redis over TLS" "tests s3gate's Redis store; RGW alone has none"
for c in redis-server stunnel4; do
	command -v "$c" >/dev/null || { t_skip "redis over TLS" "$c missing (make deps-test)"; exit 0; }
done

free_port() { "$PY3" -c 'import socket
s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'; }

# ---- a CA, Redis's certificate for 127.0.0.1, and a CA that did not sign it
R=$T/rtls
mkdir -p "$R"
(
	cd "$R" || exit 1
	for ca in ca other; do
		openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=test $ca" \
			-keyout "$ca.key" -out "$ca.pem" 2>/dev/null || exit 1
	done
	openssl req -newkey rsa:2048 -nodes -subj "/CN=127.0.0.1" -keyout redis.key -out redis.csr 2>/dev/null &&
		printf 'subjectAltName=IP:127.0.0.1\n' >ext &&
		openssl x509 -req -in redis.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 \
			-extfile ext -out redis.pem 2>/dev/null
) || { t_fail "redis over TLS: certificates made" "openssl failed"; exit 1; }

PW="pw-$(rand_id)-$(openssl rand -hex 12)"
(umask 077 && openssl rand -hex 32 >"$T/policy.key" && printf '%s\n' "$PW" >"$T/redis.password")

RTLS_PORT=$(free_port)
redis-server --bind 127.0.0.1 --port 0 --tls-port "$RTLS_PORT" \
	--tls-cert-file "$R/redis.pem" --tls-key-file "$R/redis.key" --tls-ca-cert-file "$R/ca.pem" \
	--tls-auth-clients no --requirepass "$PW" --save '' --appendonly no --dir "$R" \
	--logfile "$R/redis.log" --daemonize no </dev/null >>"$R/redis.out" 2>&1 &
RPID=$!
lib_on_exit "kill $RPID 2>/dev/null"
rcli() { redis-cli -h 127.0.0.1 -p "$RTLS_PORT" --tls --cacert "$R/ca.pem" --no-auth-warning -a "$PW" "$@"; }
for ((i = 0; i < 100; i++)); do rcli ping 2>/dev/null | grep -q PONG && break; sleep 0.1; done
t_expect_eq "Redis answers over TLS" PONG "$(rcli ping 2>&1)"
t_check "Redis answers no plaintext on its TLS port" \
	bash -c "! redis-cli -h 127.0.0.1 -p $RTLS_PORT --no-auth-warning -a '$PW' ping 2>/dev/null | grep -q PONG"

# tunnel NAME CAFILE: a stunnel client on a port of its own to Redis's TLS
# port, checking the certificate against CAFILE; sets TUNNEL_PORT
tunnel() {
	TUNNEL_PORT=$(free_port)
	cat >"$R/$1.stunnel" <<EOF
foreground = yes
pid =
[redis]
client = yes
accept = 127.0.0.1:$TUNNEL_PORT
connect = 127.0.0.1:$RTLS_PORT
verifyChain = yes
checkIP = 127.0.0.1
CAfile = $2
EOF
	stunnel4 "$R/$1.stunnel" >"$R/$1.log" 2>&1 &
	lib_on_exit "kill $! 2>/dev/null"
	wait_port "$TUNNEL_PORT"
}

tunnel good "$R/ca.pem" || { t_fail "the stunnel client starts" "$(tail -n 5 "$R/good.log")"; exit 1; }
STORE=("policy_store redis redis://127.0.0.1:$TUNNEL_PORT/0" "policy_secret_key $T/policy.key"
	"policy_store_password $T/redis.password" "policy_cache_ttl 30s" "policy_max_staleness 1s")
if ! s3gate_start good "${STORE[@]}"; then
	t_fail "s3gate starts with its Redis behind the tunnel" "see $T/good/s3gate.log"; exit 1
fi
EP_GOOD=$S3GATE_ENDPOINT
t_pass "s3gate starts with its Redis behind the tunnel"

id=$(rand_id)
OWNER=rtls$id GUEST=rtlsg$id B=ws-rtls$id
t_check "s3gate-admin syncs two workspaces through the tunnel" ws_setup "$OWNER" "$B"
ws_setup "$GUEST" "ws-$GUEST" >/dev/null
for p in "$OWNER:owner" "$GUEST:guest"; do
	out=$(s3gate_cred "${p%%:*}" "${p#*:}" 2>&1) || t_fail "cred create ${p%%:*}" "$out"
done
t_expect_eq "the workspace's bucket is in the TLS-only Redis" "$B" \
	"$(rcli hget '{s3gate}:bucket:'"$B" workspace 2>&1)"
echo hello >"$T/obj"
S3_ENDPOINT=$EP_GOOD t_check "the owner puts an object" awsv2 owner s3 cp "$T/obj" "s3://$B/obj"
S3_ENDPOINT=$EP_GOOD t_check "the owner lists the bucket" awsv2 owner s3 ls "s3://$B/"

URL=$EP_GOOD/$B/obj
t_expect_eq "no grant yet: the guest is denied" 403 "$(sigv4_status guest "$URL")"
t_check "grant ReadOnly" s3gate_admin grant "$B" "$GUEST" ReadOnly
if ms=$(wait_sigv4_status guest "$URL" 200 1000); then
	t_pass "the grant is seen within a second through the tunnel ($ms ms)"
else
	t_fail "the grant is seen within a second through the tunnel" "$ms"
fi
t_check "revoke" s3gate_admin revoke "$B" "$GUEST"
if ms=$(wait_sigv4_status guest "$URL" 403 1000); then
	t_pass "the revocation is enforced within a second through the tunnel ($ms ms)"
else
	t_fail "the revocation is enforced within a second through the tunnel" "$ms"
fi

# A tunnel that trusts another CA: stunnel refuses Redis's certificate, so
# s3gate's connection ends before Redis answers; nothing is cached yet.
tunnel bad "$R/other.pem" || { t_fail "the second stunnel client starts" "$(tail -n 5 "$R/bad.log")"; exit 1; }
BAD_STORE=("${STORE[@]}")
BAD_STORE[0]="policy_store redis redis://127.0.0.1:$TUNNEL_PORT/0"
if s3gate_start bad "${BAD_STORE[@]}"; then
	body=$(curl_sigv4 owner -w '\nHTTP %{http_code}' --max-time 5 "$S3GATE_ENDPOINT/$B/obj" 2>&1)
	if grep -q '^HTTP 503' <<<"$body" && grep -q ServiceUnavailable <<<"$body" && ! grep -q hello <<<"$body"; then
		t_pass "an unverified Redis: the owner gets 503 ServiceUnavailable, never the object"
	else
		t_fail "an unverified Redis: the owner gets 503 ServiceUnavailable, never the object" "$body"
	fi
	t_expect_eq "an unverified Redis: /readyz says not ready" 503 \
		"$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$S3GATE_ADMIN_URL/readyz")"
	t_check "stunnel says why (the certificate)" wait_for 10 grep -qi "certificate verify failed\|CERT_\|verify" "$R/bad.log"
	s3gate_stop bad || t_fail "s3gate (unverified Redis) exits cleanly" "see $T/bad/s3gate.log"
else
	t_fail "s3gate starts with an unverifiable tunnel (and fails closed per request)" "see $T/bad/s3gate.log"
fi
s3gate_stop good || t_fail "s3gate exits cleanly" "see $T/good/s3gate.log"
exit 0
