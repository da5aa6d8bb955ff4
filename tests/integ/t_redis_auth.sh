#!/bin/bash
# A Redis policy store that requires a password (requirepass), the password
# in a file (policy_store_password), not in the config:
#   s3gate and s3gate-admin authenticate with it and serve;
#   without it, or with a wrong one, requests fail closed (503), never the
#   object, and neither the log nor the answer shows the password.
# Uses a Redis of its own (tests/lib/redis.sh): its password is set here.
. "$(dirname "$0")/lib.sh"
. "$ROOT/tests/lib/redis.sh"

need_s3gate "redis password" "tests s3gate's Redis store; RGW alone has none"
own_redis "redis password"

PW="pw-$(rand_id)-$(openssl rand -hex 12)"
redis-cli -u "$REDIS_URL" config set requirepass "$PW" >/dev/null
t_expect_eq "Redis now refuses commands without the password" NOAUTH \
	"$(redis-cli -u "$REDIS_URL" ping 2>&1 | grep -o NOAUTH | head -n 1)"

(umask 077 && openssl rand -hex 32 >"$T/policy.key" && printf '%s\n' "$PW" >"$T/redis.password" &&
	printf 'wrong-%s\n' "$PW" >"$T/wrong.password")
STORE=("policy_store redis $REDIS_URL" "policy_secret_key $T/policy.key" "policy_max_staleness 1s")

if ! s3gate_start good "${STORE[@]}" "policy_store_password $T/redis.password"; then
	t_fail "s3gate starts with policy_store_password" "see $T/good/s3gate.log"; exit 1
fi
EP_GOOD=$S3GATE_ENDPOINT CONF_GOOD=$S3GATE_CONF LOG_GOOD=$S3GATE_DIR/s3gate.log
t_pass "s3gate starts with policy_store_password"

id=$(rand_id)
OWNER=redisauth$id B=ws-redisauth$id
t_check "s3gate-admin syncs a workspace into the password-protected Redis" ws_setup "$OWNER" "$B"
out=$(s3gate_cred "$OWNER" owner 2>&1) || t_fail "s3gate-admin cred create with the password" "$out"
echo hello >"$T/obj"
S3_ENDPOINT=$EP_GOOD t_check "the owner puts an object (s3gate authenticated to Redis)" \
	awsv2 owner s3 cp "$T/obj" "s3://$B/obj"
S3_ENDPOINT=$EP_GOOD t_check "the owner lists the bucket" awsv2 owner s3 ls "s3://$B/"

# fetch_body ENDPOINT: the owner's GET, body and status
fetch_body() { curl_sigv4 owner -w '\nHTTP %{http_code}' --max-time 5 "$1/$B/obj" 2>&1; }

for how in none wrong; do
	case $how in
	none) extra=() ;;
	wrong) extra=("policy_store_password $T/wrong.password") ;;
	esac
	if ! s3gate_start "$how" "${STORE[@]}" "${extra[@]}"; then
		t_fail "$how password: s3gate starts (and fails closed per request)" "see $T/$how/s3gate.log"
		continue
	fi
	body=$(fetch_body "$S3GATE_ENDPOINT")
	if grep -q '^HTTP 503' <<<"$body" && grep -q ServiceUnavailable <<<"$body" && ! grep -q hello <<<"$body"; then
		t_pass "$how password: the owner gets 503 ServiceUnavailable, never the object"
	else
		t_fail "$how password: the owner gets 503 ServiceUnavailable, never the object" "$body"
	fi
	t_expect_eq "$how password: /readyz says not ready" 503 \
		"$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$S3GATE_ADMIN_URL/readyz")"
	# the refusal is logged when Redis answers AUTH
	wait_for 10 grep -qE "setup refused: (NOAUTH|WRONGPASS)" "$S3GATE_DIR/s3gate.log"
	if grep -qE "setup refused: (NOAUTH|WRONGPASS)" "$S3GATE_DIR/s3gate.log" && ! grep -qF -- "$PW" "$S3GATE_DIR/s3gate.log"; then
		t_pass "$how password: the log says Redis refused, and never shows the password"
	else
		t_fail "$how password: the log says Redis refused, and never shows the password" \
			"$(tail -n 5 "$S3GATE_DIR/s3gate.log")"
	fi
	s3gate_stop "$how" || t_fail "$how password: s3gate exits cleanly" "see log"
done

if ! grep -qF -- "$PW" "$LOG_GOOD" && ! grep -qF -- "$PW" "$CONF_GOOD"; then
	t_pass "the password is in neither the config nor the log"
else
	t_fail "the password is in neither the config nor the log" "found in $CONF_GOOD or $LOG_GOOD"
fi
s3gate_stop good || t_fail "s3gate exits cleanly" "see log"
exit 0
