#!/bin/bash
# A Redis policy store behind Sentinel (policy_store redis
# redis+sentinel://SENTINEL[,SENTINEL...]/MASTER): a real master, a real
# replica and a real sentinel on loopback (redis-server --sentinel), all
# three requiring the one password (as Bitnami's chart sets them up), and a
# failover while s3gate serves:
#   s3gate-admin and s3gate ask the sentinels (a dead one listed first is
#   passed over) which server is the master, and use it;
#   after SENTINEL FAILOVER, admin writes go to the new master and s3gate
#   follows it (the sentinel closes the old master's clients; s3gate asks
#   again on reconnecting), its shared quota counters too, also once the
#   old master is gone;
#   a sentinel that names a replica (a stale answer) is not believed: ROLE
#   is asked, and nothing is read from or written to the replica;
#   a master name no sentinel knows fails closed: 503, /readyz 503, and
#   s3gate-admin says which name and what each sentinel answered.
. "$(dirname "$0")/lib.sh"
. "$ROOT/tests/lib/redis.sh"

need_s3gate "redis sentinel" "tests s3gate's Redis store; RGW alone has none"
own_redis "redis sentinel"
MASTER_PORT=$REDIS_PORT MASTER_DIR=$REDIS_DIR

# Every server and the sentinel require one password, as Bitnami's chart
# sets them up: s3gate has it from policy_store_password.
PW="pw-$(rand_id)$(rand_id)"
(umask 077 && printf '%s\n' "$PW" >"$T/redis.password")
rcli() { redis-cli --no-auth-warning -a "$PW" -p "$@"; }
# with_password PORT: requirepass, and masterauth for when it follows another
with_password() {
	redis-cli -p "$1" config set masterauth "$PW" >/dev/null &&
		redis-cli -p "$1" config set requirepass "$PW" >/dev/null
}
with_password "$MASTER_PORT" || { t_fail "the master takes a password" "see $MASTER_DIR"; exit 1; }

# a replica of it
if ! redis_start "$T/replica" >/dev/null; then
	t_fail "the replica starts" "$(tail -n 5 "$T/replica/redis.log" 2>/dev/null)"; exit 1
fi
lib_on_exit 'redis_stop "$T/replica"'
REPLICA_PORT=$REDIS_PORT
with_password "$REPLICA_PORT" || { t_fail "the replica takes a password" "see $T/replica"; exit 1; }
rcli "$REPLICA_PORT" replicaof 127.0.0.1 "$MASTER_PORT" >/dev/null
link_up() { rcli "$REPLICA_PORT" info replication | grep -q 'master_link_status:up'; }
if ! wait_for 20 link_up; then
	t_fail "the replica follows the master" "$(rcli "$REPLICA_PORT" info replication)"; exit 1
fi

# a sentinel watching them (it rewrites its own config file)
SENTINEL_PORT=$(free_port) DEAD_PORT=$(free_port)
mkdir -p "$T/sentinel"
cat >"$T/sentinel/sentinel.conf" <<EOF
bind 127.0.0.1
port $SENTINEL_PORT
dir $T/sentinel
requirepass $PW
sentinel monitor mymaster 127.0.0.1 $MASTER_PORT 1
sentinel auth-pass mymaster $PW
sentinel down-after-milliseconds mymaster 2000
sentinel failover-timeout mymaster 20000
EOF
redis-server "$T/sentinel/sentinel.conf" --sentinel --logfile "$T/sentinel/sentinel.log" \
	</dev/null >/dev/null 2>&1 &
echo $! >"$T/sentinel/pid"
lib_on_exit 'kill "$(cat "$T/sentinel/pid")" 2>/dev/null'
sentinel() { rcli "$SENTINEL_PORT" "$@"; }
knows_replica() { sentinel sentinel replicas mymaster 2>/dev/null | grep -qx "127.0.0.1:$REPLICA_PORT"; }
if ! wait_for 30 knows_replica; then
	t_fail "the sentinel watches the master and its replica" "$(tail -n 5 "$T/sentinel/sentinel.log")"
	exit 1
fi
master_is() { [ "$(sentinel sentinel get-master-addr-by-name mymaster 2>/dev/null | tail -n 1)" = "$1" ]; }

(umask 077 && openssl rand -hex 32 >"$T/policy.key")
URL="redis+sentinel://127.0.0.1:$DEAD_PORT,127.0.0.1:$SENTINEL_PORT/mymaster/0"
STORE=("policy_store redis $URL" "policy_secret_key $T/policy.key" "policy_max_staleness 1s"
	"policy_store_password $T/redis.password")

# a request rate quota no test reaches: the shared quota counters go to Redis too
if ! s3gate_start s "${STORE[@]}" "quota_request_rate 100000"; then
	t_fail "s3gate starts with a redis+sentinel:// store" "see $T/s/s3gate.log"; exit 1
fi
t_pass "s3gate starts with a redis+sentinel:// store"
EP=$S3GATE_ENDPOINT LOG=$S3GATE_DIR/s3gate.log ADMIN_URL=$S3GATE_ADMIN_URL

id=$(rand_id)
OWNER=sentinel$id B=ws-sentinel$id
t_check "s3gate-admin syncs through the sentinels (a dead one listed first)" ws_setup "$OWNER" "$B"
t_expect_eq "the workspace is on the master the sentinel named" 1 \
	"$(rcli "$MASTER_PORT" hexists '{s3gate}:buckets' "$B")"
out=$(s3gate_cred "$OWNER" owner 2>&1) || t_fail "s3gate-admin cred create through the sentinels" "$out"
echo "before failover" >"$T/obj"
S3_ENDPOINT=$EP t_check "the owner puts an object (s3gate found the master)" \
	awsv2 owner s3 cp "$T/obj" "s3://$B/obj"
if grep -q "sentinel 127.0.0.1:$SENTINEL_PORT names 127.0.0.1:$MASTER_PORT the master of mymaster" "$LOG"; then
	t_pass "the log names the sentinel that answered and the master it named"
else
	t_fail "the log names the sentinel that answered and the master it named" "$(grep -i sentinel "$LOG" | tail -n 5)"
fi

# the quota sync waits for the store's connections to be told the master: no warning
if ! grep -q "warn: quota sync" "$LOG"; then
	t_pass "the quota sync starts without a warning (it waits for the master's name)"
else
	t_fail "the quota sync starts without a warning (it waits for the master's name)" \
		"$(grep "quota sync" "$LOG" | head -n 3)"
fi

# ---- failover -----------------------------------------------------------------
sentinel sentinel failover mymaster >/dev/null
if wait_for 30 master_is "$REPLICA_PORT"; then
	t_pass "SENTINEL FAILOVER: the replica is the master now"
else
	t_fail "SENTINEL FAILOVER: the replica is the master now" "$(sentinel sentinel get-master-addr-by-name mymaster)"
fi
old_is_replica() { rcli "$MASTER_PORT" role 2>/dev/null | head -n 1 | grep -qx slave; }
wait_for 30 old_is_replica || t_fail "the old master follows the new one" "$(rcli "$MASTER_PORT" role)"

CRED_AKID=""
s3gate_cred "$OWNER" after >"$T/cred-after.out" 2>&1
out=$(cat "$T/cred-after.out")
if [ -n "$CRED_AKID" ] && [ "$(rcli "$REPLICA_PORT" exists "{s3gate}:cred:$CRED_AKID")" = 1 ]; then
	t_pass "after the failover, s3gate-admin writes to the new master"
else
	t_fail "after the failover, s3gate-admin writes to the new master" "$out"
fi
# The new key exists only since the failover: s3gate serves it once it reads the new master
if msg=$(until_ok after "$EP/$B/obj"); then
	t_pass "s3gate follows the new master: a key made after the failover works"
else
	t_fail "s3gate follows the new master: a key made after the failover works" "$msg"
fi
wait_for 10 grep -q "names 127.0.0.1:$REPLICA_PORT the master of mymaster" "$LOG"
if grep -q "names 127.0.0.1:$REPLICA_PORT the master of mymaster" "$LOG"; then
	t_pass "the log says the sentinel named the new master"
else
	t_fail "the log says the sentinel named the new master" "$(grep -i sentinel "$LOG" | tail -n 5)"
fi

# the quota counters (INCRBY, 2 s lifetime) follow the master too
quota_on_new_master() {
	curl_sigv4 after -o /dev/null --max-time 5 "$EP/$B/obj"
	rcli "$REPLICA_PORT" --scan --pattern "{s3gate}:q:$OWNER:*" | grep -q .
}
if wait_for 20 quota_on_new_master; then
	t_pass "the shared quota counters are written to the new master"
else
	t_fail "the shared quota counters are written to the new master" \
		"$(grep 'quota sync' "$LOG" | tail -n 3)"
fi

# the old master gone altogether: nothing depends on it
redis_stop "$MASTER_DIR"
echo "after failover" >"$T/obj2"
put_and_read() { awsv2 owner s3 cp "$T/obj2" "s3://$B/obj2" && awsv2 owner s3 cp "s3://$B/obj2" - | grep -q "after failover"; }
S3_ENDPOINT=$EP t_check "with the old master stopped, the owner still puts and reads" put_and_read
t_expect_eq "/readyz says ready on the new master" 200 \
	"$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$ADMIN_URL/readyz")"

# ---- a sentinel that names a replica ---------------------------------------------
# A stand-in "sentinel" that answers every command with the old master's
# address, now a replica (restarted as one): s3gate asks it ROLE, and does
# not use it.
redis_start "$T/stale" >/dev/null || t_fail "a replica for the stale answer starts" "see $T/stale"
lib_on_exit 'redis_stop "$T/stale"'
STALE_PORT=$REDIS_PORT
with_password "$STALE_PORT" && rcli "$STALE_PORT" replicaof 127.0.0.1 "$REPLICA_PORT" >/dev/null
FAKE_PORT=$(free_port)
python3 - "$FAKE_PORT" "$STALE_PORT" <<'EOF' >"$T/fake-sentinel.log" 2>&1 &
import socket, sys, threading
port, named = int(sys.argv[1]), sys.argv[2]
answer = b"*2\r\n$9\r\n127.0.0.1\r\n$%d\r\n%s\r\n" % (len(named), named.encode())
srv = socket.socket(); srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("127.0.0.1", port)); srv.listen(16)
def serve(c):  # one answer per command (AUTH, then SENTINEL, may come in one read)
    with c:
        while True:
            data = c.recv(4096)
            if not data:
                break
            c.sendall(answer * max(1, data.count(b"\r\n*") + data.startswith(b"*")))
while True:
    c, _ = srv.accept()
    threading.Thread(target=serve, args=(c,), daemon=True).start()
EOF
echo $! >"$T/fake.pid"
lib_on_exit 'kill "$(cat "$T/fake.pid")" 2>/dev/null'
wait_for 10 port_open "$FAKE_PORT" || t_fail "the stand-in sentinel listens" "$(cat "$T/fake-sentinel.log")"
# fails_closed NAME WHAT URL LOG_LINE ADMIN_SAYS: an s3gate on URL answers
# 503 and is not ready, its log says LOG_LINE (a fixed string), and
# s3gate-admin on the same config refuses, saying ADMIN_SAYS
fails_closed() {
	local name=$1 what=$2 url=$3 log_line=$4 admin_says=$5 out
	if ! s3gate_start "$name" "policy_store redis $url" "policy_secret_key $T/policy.key" \
		"policy_store_password $T/redis.password"; then
		t_fail "$what: s3gate starts (and fails closed per request)" "see $T/$name/s3gate.log"
		return
	fi
	t_expect_eq "$what: requests fail closed (503)" 503 \
		"$(curl_sigv4 owner -o /dev/null -w '%{http_code}' --max-time 5 "$S3GATE_ENDPOINT/$B/obj")"
	t_expect_eq "$what: /readyz 503" 503 \
		"$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$S3GATE_ADMIN_URL/readyz")"
	wait_for 10 grep -qF -- "$log_line" "$S3GATE_DIR/s3gate.log"
	if grep -qF -- "$log_line" "$S3GATE_DIR/s3gate.log"; then
		t_pass "$what: the log says so"
	else
		t_fail "$what: the log says so" "$(tail -n 5 "$S3GATE_DIR/s3gate.log")"
	fi
	out=$(s3gate_admin cred list 2>&1)
	if [ $? -ne 0 ] && grep -qF -- "$admin_says" <<<"$out"; then
		t_pass "$what: s3gate-admin refuses, saying so"
	else
		t_fail "$what: s3gate-admin refuses, saying so" "$out"
	fi
	s3gate_stop "$name" || t_fail "$what: s3gate exits cleanly" "see log"
}

fails_closed stale "a replica named master (found out by ROLE)" \
	"redis+sentinel://127.0.0.1:$FAKE_PORT/mymaster" \
	"127.0.0.1:$STALE_PORT, named master of mymaster, is not the master now" "is not the master"
fails_closed unknown "a master name no sentinel knows" \
	"redis+sentinel://127.0.0.1:$SENTINEL_PORT/nosuch" \
	"sentinel 127.0.0.1:$SENTINEL_PORT names no master nosuch" "no sentinel named the master nosuch"

out=$("$S3GATE_BIN/s3gate" -t -c <(printf 'listen 127.0.0.1:1\nbackend http://127.0.0.1:1\npolicy_store redis redis+sentinel://127.0.0.1:1\n') 2>&1)
if grep -q "redis+sentinel://\[:PASSWORD@\]HOST" <<<"$out"; then
	t_pass "s3gate -t: a sentinel URL without a master name is refused with the form to write"
else
	t_fail "s3gate -t: a sentinel URL without a master name is refused with the form to write" "$out"
fi
s3gate_stop s || t_fail "s3gate exits cleanly" "see log"
exit 0
