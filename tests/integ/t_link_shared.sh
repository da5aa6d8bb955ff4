#!/bin/bash
# A link with a download budget (--max-uses) used through two s3gate
# processes on one Redis: the budget is one, counted across both
# (quota_shared, batched every 100 ms).  (issue 12)
. "$(dirname "$0")/lib.sh"

need_s3gate "link budget across instances"
id=$(rand_id)
OWNER=lena$id B=ws-lena$id KEY="share/model 4m.bin" PUB_HOST=files.example.test
(umask 077 && openssl rand -hex 32 >"$T/policy.key")
# a Redis database of its own: the run's Redis is shared by test files, and a
# store sealed under another file's policy_secret_key would not load here
REDIS_DB_URL=${REDIS_URL%/*}/7
CONF=("policy_store redis $REDIS_DB_URL" "policy_secret_key $T/policy.key" "public_url http://$PUB_HOST")

s3gate_start a "${CONF[@]}" || { t_fail "s3gate a starts" "see log"; exit 1; }
PORT_A=$S3GATE_PORT CONF_A=$S3GATE_CONF
t_check "sync a workspace into Redis" ws_setup "$OWNER" "$B"
mkfile "$T/obj" 4
backend_aws s3 cp "$T/obj" "s3://$B/$KEY" --only-show-errors
s3gate_start b "${CONF[@]}" || { t_fail "s3gate b starts" "see log"; exit 1; }
PORT_B=$S3GATE_PORT
S3GATE_CONF=$CONF_A

URL=$(s3gate_admin presign --principal "$OWNER" --max-uses 2 "s3://$B/$KEY")
# get PORT: status of one download through the s3gate on PORT, body to $T/out
get() {
	curl -s -o "$T/out" -w '%{http_code}' --max-time 30 \
		--connect-to "$PUB_HOST:80:127.0.0.1:$1" "$URL"
}
first() { [ "$(get "$PORT_A")" = 200 ] && same_file "$T/obj" "$T/out"; }
t_check "a --max-uses 2 link: first download through s3gate a" first
# b learns what a served at the next sync (idle links every 0.5 s, on a
# 100 ms timer): 2 s leave a loaded machine's late timers room
sleep 2
second() { [ "$(get "$PORT_B")" = 200 ] && same_file "$T/obj" "$T/out"; }
t_check "second download through s3gate b" second
sleep 2	# and a what b served
# Four attempts at once on each: they spread over each s3gate's workers,
# including one that never served the link and learns its count from its
# peers, not from a Redis sync of its own yet to come.
third() {
	local i codes
	for ((i = 0; i < 4; i++)); do
		{ get "$PORT_A"; echo; } >"$T/third.a$i" &
		{ get "$PORT_B"; echo; } >"$T/third.b$i" &
	done
	wait
	codes=$(cat "$T"/third.* | sort | uniq -c | tr -s ' \n' ' ')
	echo "eight attempts on a and b:$codes"
	[ "$(cat "$T"/third.* | grep -c '^403$')" = 8 ] && grep -q "used as many times" "$T/out"
}
t_check "a third download is refused by both, whichever worker (the budget is shared through Redis)" third
