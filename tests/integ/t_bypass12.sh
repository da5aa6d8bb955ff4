#!/bin/bash
# Twelfth audit: the policy store under failure, change and concurrency --
# a Redis of this file's own (own_redis) killed, hung, flushed and
# restarted under two proxies (r1: two workers, r2: one; TTL 30 s,
# policy_max_staleness 2 s), a file store whose files are rewritten by hand
# and whose folder is a swapped symlink, and s3gate-admin run three at a
# time against both stores; each decision read through the real RGW.
#
# Found and fixed:
#   a Redis that stopped answering without closing its sockets (SIGSTOP here;
#     CLIENT PAUSE or a partition without a reset alike) kept the subscriber's
#     connection "ready": the lookup connection's timeouts noticed within a
#     second, but a cached entry was a hit for as long as the subscription
#     looked up, so allows were served until the TTL (30 s: the last 200 at
#     5.99 s of 6 s watched), not policy_max_staleness (2 s).  Now a hit
#     needs both connections up; past that an entry is stale, served up to
#     the bound (last 200 at ~1.9-2.0 s), then 503.
#   FLUSHALL (or FLUSHDB, a restore from an older snapshot) publishes no
#     invalidation: every proxy served its cached allows for the TTL while
#     Redis held nothing (after 2.7 s still 200 200 200 200).  Now each
#     heartbeat also reads {s3gate}:version, which every admin write
#     increments; one that goes back drops the whole cache (~0.1-1.1 s).
#   a hand-written Storage file read while still being written: a YAML
#     document cut at a line end parses, and a grant cut before its
#     "prefix:" line is a grant of the whole bucket (out/x served 23 times
#     in 2 s, with the writer adding a line every 50 ms).  Now the file store
#     reads the folder only once every hand-written file has been left
#     alone 0.25 s (at most 5 s of changes held back, logged), and drops a
#     load during which the folder's fingerprint changed.
#   s3gate-admin's Redis lock ({s3gate}:lock) expires 60 s after it is
#     taken (bucket create alone may wait 2 x 30 s on the backend), and the
#     save never looked whether it still held it: a command whose lock
#     lapsed while another took it and granted wrote the model it had
#     loaded before, and the grant was gone (test_redisstore.c: zoe's grant
#     lost).  Now the save WATCHes the lock and writes nothing unless it
#     still holds this command's token ("run the command again").  Not
#     tried here: it needs a command held for a minute.
# Tried and held (each checked below):
#   a revocation whose message every subscriber missed (Redis killing them
#     at the PUBLISH: client-output-buffer-limit pubsub 1 byte) and one made
#     right after CLIENT KILL TYPE pubsub: 403 within ~0.25 s on both
#     proxies, every worker (a resubscription drops the cache); a key
#     deleted during CLIENT PAUSE ALL (the command waits for its end):
#     never served from the command's return (403 at once; a 503 while a
#     proxy reconnects would pass);
#   Redis hung: a principal never seen gets 503 after the 1 s command
#     timeout, never the object; a cached one is answered at once meanwhile
#     by the same (single) worker; served again as soon as Redis answers;
#   Redis restarted empty: cached allows end within ~0.15 s of its return;
#   grant --expires 5s and cred create --ttl 5s, requests every ~60 ms on one
#     kept-alive connection: no 200 for a request sent after the expiry;
#   150 s3gate-admin writes in three loops at once (grants on one bucket,
#     revocations on another, members added), on Redis and on the file
#     store: none lost, and a grant no loop touches in force throughout;
#   a hand-written file truncated to nothing, or invalid YAML, for 1.2 s:
#     nothing beyond the last good policy (out/x 403 throughout);
#   the policy folder as a symlink swapped to a version without the grant
#     and back: in force within ~0.5 s each way.
# Looked at and left as they are: a silently dead subscription (no reset,
#   Redis still answering the lookup connection) is noticed by the
#   heartbeat within ~2 s by reading, not one (not tried: it needs a relay
#   that drops one connection's bytes); a hand-written file whose writer
#   pauses longer than 0.25 s mid-file is read as it stands (no reader can
#   tell it from a whole one: write elsewhere and rename); sync runs in no
#   race loop (it makes its input the whole truth, so a concurrent grant
#   is undone by design).
. "$(dirname "$0")/lib.sh"
. "$ROOT/tests/lib/redis.sh"

need_s3gate "bypass12" "checks s3gate's own decisions: not meaningful against RGW"
own_redis "bypass12"
REDIS_PID=$(cat "$T/redis/redis.pid.ours")
rcli() { redis-cli -u "$REDIS_URL" "$@"; }
# a SIGSTOPped Redis must not outlive a failed check
lib_on_exit 'kill -CONT "$REDIS_PID" 2>/dev/null'

id=$(rand_id)
O=b12o$id G=b12g$id N=b12n$id
B=ws-$O
(umask 077 && openssl rand -hex 32 >"$T/policy.key")
# a TTL far beyond the staleness bound: only the invalidations, the
# heartbeat and the bound itself can end a cached decision within the test
RCONF=("policy_store redis $REDIS_URL" "policy_secret_key $T/policy.key"
	"policy_cache_ttl 30s" "policy_max_staleness 2s")

s3gate_start r1 "${RCONF[@]}" "workers 2" || { t_fail "s3gate r1 starts" "see $T/r1/s3gate.log"; exit 1; }
EP1=$S3GATE_ENDPOINT R1_CONF=$S3GATE_CONF
s3gate_start r2 "${RCONF[@]}" "workers 1" || { t_fail "s3gate r2 starts" "see $T/r2/s3gate.log"; exit 1; }
EP2=$S3GATE_ENDPOINT R2_PORT=$S3GATE_PORT
S3GATE_CONF=$R1_CONF

setup_redis() {
	ws_setup "$O" "$B" || return 1
	s3gate_cred "$O" owner >/dev/null && s3gate_cred "$G" guest >/dev/null &&
		s3gate_cred "$N" newcomer >/dev/null || return 1
	echo "the object of $O" >"$T/obj"
	S3_ENDPOINT=$EP1 awsv2 owner s3 cp "$T/obj" "s3://$B/k" &&
		s3gate_admin grant "$B" "$G" ReadOnly >/dev/null
}
if ! out=$(setup_redis 2>&1); then
	t_fail "setup (Redis store)" "$out"; exit 1
fi

# codes PROFILE URL N — N requests, each on a new connection (so that both
# workers of r1 are asked), their statuses space-separated
codes() {
	local i s=""
	for ((i = 0; i < $3; i++)); do s="$s$(sigv4_status "$1" "$2") "; done
	echo "${s% }"
}
# all_are WANT LIST — every status in LIST is WANT
all_are() { [ -n "$2" ] && [ -z "$(tr ' ' '\n' <<<"$2" | grep -vx "$1")" ]; }
# denied_within PROFILE URL MS — every request from MS after now is refused:
# polls until 4 fresh connections in a row are 403, the first of them sent
# within MS (a loaded machine's slow requests are not a late refusal); prints ms
denied_within() {
	local t0 sent now c
	t0=$(date +%s%3N)
	while :; do
		sent=$(date +%s%3N)
		c=$(codes "$1" "$2" 4)
		now=$(date +%s%3N)
		if all_are 403 "$c"; then
			[ $((sent - t0)) -le "$3" ] || { echo "only 4 refusals sent after $((sent - t0)) ms"; return 1; }
			echo "$((sent - t0)) ms"; return 0
		fi
		if [ $((now - t0)) -gt "$3" ]; then echo "after $((now - t0)) ms still: $c"; return 1; fi
		sleep 0.05
	done
}
U1=$EP1/$B/k U2=$EP2/$B/k
# both_denied PROFILE MS — denied_within on r1 (U1), then on r2 (U2); prints "MS1, MS2"
both_denied() {
	local a b=""
	if a=$(denied_within "$1" "$U1" "$2") && b=$(denied_within "$1" "$U2" "$2"); then
		echo "$a, $b"
		return 0
	fi
	echo "$a ${b}"
	return 1
}
# warm PROFILE — an allow cached in every worker of r1 and in r2 (tried for
# up to 4 s: a proxy reconnecting to Redis answers 503 meanwhile)
warm() {
	local c i
	for ((i = 0; i < 20; i++)); do
		c="$(codes "$1" "$U1" 6) $(codes "$1" "$U2" 2)"
		all_are 200 "$c" && return 0
		sleep 0.2
	done
	echo "warming $1: $c"
	return 1
}

# ---- 1. an invalidation missed by the subscribers -----------------------------
# Redis drops a subscriber whose output buffer passes the pubsub limit: with
# 1 byte, every PUBLISH (the revocation's included) kills every subscriber
# instead of reaching it.  Each one must then start from an empty cache.
if out=$(warm guest); then
	rcli config set client-output-buffer-limit "pubsub 1 1 0" >/dev/null
	s3gate_admin revoke "$B" "$G" >/dev/null
	if ms=$(denied_within guest "$U1" 1500) && ms2=$(denied_within guest "$U2" 1500); then
		t_pass "a revocation whose message every subscriber missed (dropped by Redis) is enforced on both proxies ($ms, $ms2)"
	else
		t_fail "a revocation whose message every subscriber missed is enforced on both proxies" "$ms ${ms2:-}"
	fi
	rcli config set client-output-buffer-limit "pubsub 32mb 8mb 60" >/dev/null
else
	t_fail "a revocation whose message every subscriber missed is enforced" "$out"
fi

# CLIENT KILL TYPE pubsub, then at once a revocation: it may come before
# the resubscription (its message missed) or after
s3gate_admin grant "$B" "$G" ReadOnly >/dev/null
sleep 0.3
if out=$(warm guest); then
	rcli client kill type pubsub >/dev/null
	s3gate_admin revoke "$B" "$G" >/dev/null
	if ms=$(denied_within guest "$U1" 1500) && ms2=$(denied_within guest "$U2" 1500); then
		t_pass "subscribers killed, then a revocation: enforced on both proxies ($ms, $ms2)"
	else
		t_fail "subscribers killed, then a revocation: enforced on both proxies" "$ms ${ms2:-}"
	fi
else
	t_fail "subscribers killed, then a revocation" "$out"
fi

# CLIENT PAUSE ALL: a key deleted while Redis answers nobody (the command
# waits for the pause's end); from its return no request with the key is
# served, on either proxy (503 while a proxy reconnects, then 403)
s3gate_admin grant "$B" "$G" ReadOnly >/dev/null
if s3gate_cred "$G" guestk >/dev/null && out=$(warm guestk); then
	gk=$CRED_AKID
	rcli client pause 2500 all >/dev/null
	s3gate_admin cred delete "$gk" >/dev/null
	rc=$? t0=$(date +%s%3N) seen=""
	while [ $(($(date +%s%3N) - t0)) -lt 1500 ]; do
		seen="$seen $(sigv4_status guestk "$U1") $(sigv4_status guestk "$U2")"
		sleep 0.05
	done
	tally=$(tr ' ' '\n' <<<"$seen" | sed '/^$/d' | sort | uniq -c | awk '{ printf "%s x%s ", $2, $1 }')
	if [ $rc = 0 ] && ! grep -qw 200 <<<"$seen" && [ "$(awk '{ print $NF }' <<<"$seen")" = 403 ]; then
		t_pass "Redis paused (CLIENT PAUSE ALL): a key deleted meanwhile is refused from the command's return on both proxies ($tally)"
	else
		t_fail "Redis paused: a key deleted meanwhile is refused from the command's return on both proxies" "cred delete exit $rc; $tally"
	fi
else
	t_fail "Redis paused: a key deleted meanwhile" "${out:-cred create failed}"
fi

# ---- 2. a Redis that takes connections and never answers ---------------------
# SIGSTOP: the kernel still completes connections; nothing is answered.
# r2 (one worker): the owner's allow was confirmed just now; the TTL is 30 s,
# policy_max_staleness 2 s: served at most ~2 s (plus the heartbeat's second
# to notice), then 503; a principal never seen: 503 within the command
# timeout, never the object; nothing waits forever; the worker answers a
# cached principal while another request waits on Redis.
c=$(codes owner "$U2" 1)
kill -STOP "$REDIS_PID"
t0=$(date +%s%3N)
curl_sigv4 newcomer -o "$T/nc.out" -w '%{http_code} %{time_total}' --max-time 8 "$U2" >"$T/nc.st" 2>&1 &
ncpid=$!
sleep 0.2
read -r c2 tt < <(curl_sigv4 owner -o /dev/null -w '%{http_code} %{time_total}' --max-time 8 "$U2")
if [ "$c" = 200 ] && [ "$c2" = 200 ] && awk -v t="$tt" 'BEGIN { exit !(t < 0.5) }'; then
	t_pass "Redis hung: a cached principal is answered at once while another request waits on Redis (${tt}s)"
else
	t_fail "Redis hung: a cached principal is answered at once while another request waits on Redis" "before $c, during $c2 in ${tt}s"
fi
wait "$ncpid"
read -r nc ntt <"$T/nc.st"
if [ "$nc" = 503 ] && ! grep -q "the object of" "$T/nc.out" && awk -v t="$ntt" 'BEGIN { exit !(t < 3) }'; then
	t_pass "Redis hung: a principal never seen gets 503 in ${ntt}s, not the object"
else
	t_fail "Redis hung: a principal never seen gets 503 within 3 s" "HTTP $nc in ${ntt}s: $(head -c 300 "$T/nc.out")"
fi
# the owner's allow ends by policy_max_staleness (2 s) + the heartbeat (1 s) + slack
last200=0 bad=""
while :; do
	now=$(date +%s%3N)
	[ $((now - t0)) -lt 6000 ] || break
	read -r c tt < <(curl_sigv4 owner -o /dev/null -w '%{http_code} %{time_total}' --max-time 8 "$U2")
	case $c in
	200) last200=$((now - t0)) ;;	# when it was sent: the proxy decided after
	503) ;;
	*) bad="$bad $c@$((now - t0))" ;;
	esac
	awk -v t="$tt" 'BEGIN { exit !(t > 2) }' && bad="$bad slow:${tt}s"
	sleep 0.1
done
if [ -z "$bad" ] && [ "$last200" -le 3500 ] && [ "$c" = 503 ]; then
	t_pass "Redis hung: a cached allow is served at most policy_max_staleness past its confirmation, then 503 (last 200 at $last200 ms)"
else
	t_fail "Redis hung: a cached allow is served at most policy_max_staleness past its confirmation (2 s; TTL 30 s)" \
		"last 200 at $last200 ms after SIGSTOP; last $c; odd:$bad"
fi
kill -CONT "$REDIS_PID"
if ms=$(wait_sigv4_status owner "$U2" 200 4000); then
	t_pass "Redis answering again: the owner is served again ($ms ms)"
else
	t_fail "Redis answering again: the owner is served again" "$ms"
fi

# ---- 3. admin writes at once (Redis store) -------------------------------------
export RAW_REGION=$S3_REGION
B2=ws-$O-two
# race PRE RB1 RB2 WS URL PROFILE — three loops of 50 s3gate-admin writes at once on
# the store $S3GATE_CONF names: grants on RB1 (PREa1..50), revocations on
# RB2 (PREg1..50, granted before), members added to WS (PREm1..50), while
# PROFILE, whose grant on RB1 no loop touches, reads URL (on a proxy of
# that store) all along: a torn or lost write would show as a 403 there or
# as a missing fact after.  Sets RACE_ERR RACE_SECS RACE_GUEST.
race() {
	local pre=$1 rb1=$2 rb2=$3 ws=$4 url=$5 prof=$6 i t0=$SECONDS gpid
	for ((i = 1; i <= 50; i++)); do s3gate_admin grant "$rb2" "${pre}g$i" ReadOnly >/dev/null || return 1; done
	: >"$T/race.err"
	rm -f "$T/race.done"
	( while [ ! -f "$T/race.done" ]; do sigv4_status "$prof" "$url"; echo; sleep 0.05; done ) >"$T/race.guest" &
	gpid=$!
	local -a pids=()
	( for ((i = 1; i <= 50; i++)); do s3gate_admin grant "$rb1" "${pre}a$i" ReadOnly >/dev/null 2>>"$T/race.err" || echo "grant ${pre}a$i failed" >>"$T/race.err"; done ) &
	pids+=($!)
	( for ((i = 1; i <= 50; i++)); do s3gate_admin revoke "$rb2" "${pre}g$i" >/dev/null 2>>"$T/race.err" || echo "revoke ${pre}g$i failed" >>"$T/race.err"; done ) &
	pids+=($!)
	( for ((i = 1; i <= 50; i++)); do s3gate_admin member add "$ws" "${pre}m$i" >/dev/null 2>>"$T/race.err" || echo "member ${pre}m$i failed" >>"$T/race.err"; done ) &
	pids+=($!)
	wait "${pids[@]}"
	touch "$T/race.done"
	wait "$gpid"
	RACE_SECS=$((SECONDS - t0))
	RACE_ERR=$(head -n 5 "$T/race.err")
	sed -i '/^$/d' "$T/race.guest"
	RACE_GUEST=$(sort "$T/race.guest" | uniq -c | awk '{ printf "%s%s x%s", (NR > 1 ? ", " : ""), $2, $1 }')
}
# race_check LABEL PRE RB1 RB2 — the end state holds all 150 writes
race_check() {
	local label=$1 pre=$2 w1 w2 na nm ng
	w1=$(s3gate_admin who "$3" 2>&1) w2=$(s3gate_admin who "$4" 2>&1)
	na=$(grep -oE "\b${pre}a[0-9]+\b" <<<"$w1" | sort -u | wc -l)
	nm=$(grep -oE "\b${pre}m[0-9]+\b" <<<"$w1" | sort -u | wc -l)
	ng=$(grep -oE "\b${pre}g[0-9]+\b" <<<"$w2" | sort -u | wc -l)
	if [ -z "$RACE_ERR" ] && [ "$na" = 50 ] && [ "$nm" = 50 ] && [ "$ng" = 0 ]; then
		t_pass "$label: 150 admin writes in three loops at once, none lost ($RACE_SECS s)"
	else
		t_fail "$label: 150 admin writes in three loops at once, none lost" \
			"grants $na/50, members $nm/50, revoked grants left $ng/0; errors: $RACE_ERR"
	fi
	if [ -s "$T/race.guest" ] && ! grep -qvx 200 "$T/race.guest"; then
		t_pass "$label: an untouched grant is in force throughout ($RACE_GUEST)"
	else
		t_fail "$label: an untouched grant is in force throughout" "statuses: $RACE_GUEST"
	fi
}
if out=$(s3gate_admin grant "$B" "$G" ReadOnly 2>&1 && ws_setup "$O" "$B" "$B2" 2>&1 &&
	s3gate_admin grant "$B" "$G" ReadOnly 2>&1); then
	race "r$id" "$B" "$B2" "ws-$O" "$U2" guest
	race_check "Redis store" "r$id" "$B" "$B2"
else
	t_fail "Redis store: admin writes at once" "$out"
fi

# ---- 4. expiry on a kept-alive connection, at the boundary ---------------------
# expiry_loop PROFILE TARGET UNTIL OUT — GETs on one kept-alive connection of
# r2's (helpers/keepalive.py), 40 ms apart, each preceded by its send time,
# until the clock reads UNTIL (epoch seconds): a loop by the clock, not a
# count, so a fast machine does not end it before the expiry
expiry_loop() {
	read -r RAW_AKID RAW_SECRET RAW_TOKEN <"$T/profiles/$1"
	RAW_AKID=$RAW_AKID RAW_SECRET=$RAW_SECRET RAW_TOKEN=$RAW_TOKEN \
		"$PY3" "$LIB_DIR/helpers/keepalive.py" "$R2_PORT" "UNTIL $3 0.04 REQ GET $2" >"$4" 2>&1
}
# expiry_judge FILE EXPIRES_AT(unix s) — no 200 for a request sent at or after
# the expiry, 200s before it and refusals after it (the loop saw both sides);
# exit 2 if no request went before the expiry (a setup slower than the 5 s).
# "After" begins 20 ms past the second: time(2), which s3gate decides by,
# reads the kernel's coarse clock, up to a tick (4 ms at HZ=250) behind
# python's time.time(); a 200 sent 1.6 ms past the second was seen once.
expiry_judge() {
	awk -v e="$2.02" '
		/^[0-9]+\.[0-9]+$/ { t = $1; if (first == "") first = t; next }
		{ if ($1 == 200) { ok++; if (t >= e) late++ } else if (t >= e) no++; else early_no++ }
		END { printf "%d allowed before, %d refused after, %d allowed after, %d refused before\n", ok, no, late + 0, early_no + 0
		      if (first == "" || first >= e) exit 2
		      exit !(ok > 0 && no > 0 && late == 0) }' "$1"
}
# expiry_report NAME FILE EXPIRES_AT
expiry_report() {
	local v rc
	v=$(expiry_judge "$2" "$3"); rc=$?
	case $rc in
	0) t_pass "$1 ($v)" ;;
	2) t_skip "$1" "the setup took past the expiry (a loaded machine): $v" ;;
	*) t_fail "$1" "$v $(tail -n 3 "$2" | tr '\n' ' ')" ;;
	esac
}
S=b12s$id X=b12x$id
gj="" sj=""
if out=$(s3gate_admin grant "$B" "$S" ReadOnly 2>&1 && s3gate_cred "$X" exp 2>&1) &&
	gj=$(s3gate_admin --json grant "$B" "$X" ReadOnly --expires 5s) &&
	s3gate_cred "$S" sess --ttl 5s >/dev/null && sj=$(s3gate_admin --json cred list "$S"); then
	ge=$(date -d "$("$PY3" -c 'import json,sys; print(json.loads(sys.argv[1])["expires_at"])' "$gj")" +%s)
	se=$(date -d "$("$PY3" -c 'import json,sys; print([c for c in json.loads(sys.argv[1])["credentials"] if c["session"]][0]["expires_at"])' "$sj")" +%s)
	# until 1.5 s past the later of the two
	end=$(( (ge > se ? ge : se) + 1 )).5
	expiry_loop exp "/$B/k" "$end" "$T/exp.grant" &
	epid=$!
	expiry_loop sess "/$B/k" "$end" "$T/exp.sess"
	wait "$epid"
	expiry_report "a grant cached just before its expiry is refused from that second on one kept-alive connection" "$T/exp.grant" "$ge"
	expiry_report "a session key cached just before its end is refused from that second on one kept-alive connection" "$T/exp.sess" "$se"
else
	t_fail "expiry at the boundary: setup" "$out $gj $sj"
fi

# ---- 5. Redis emptied under the proxies ---------------------------------------
# FLUSHALL publishes nothing: cached allows must not live on for the TTL
s3gate_admin grant "$B" "$G" ReadOnly >/dev/null
sleep 0.3
if out=$(warm guest); then
	rcli flushall >/dev/null
	if ms=$(both_denied guest 2500); then
		t_pass "Redis flushed (FLUSHALL, no message): cached allows end on both proxies ($ms)"
	else
		t_fail "Redis flushed (FLUSHALL, no message): cached allows end on both proxies within 2.5 s" "$ms"
	fi
else
	t_fail "Redis flushed: cached allows end" "$out"
fi

# Redis restarted empty (no persistence) on the same port
if out=$(ws_setup "$O" "$B" "$B2" 2>&1 && s3gate_cred "$G" guest2 2>&1 &&
	s3gate_admin grant "$B" "$G" ReadOnly 2>&1) && out=$(warm guest2); then
	redis_stop "$T/redis"
	REDIS_PORT_WANTED=$REDIS_PORT redis_start "$T/redis" >/dev/null
	REDIS_PID=$(cat "$T/redis/redis.pid.ours")
	if ms=$(both_denied guest2 4000); then
		t_pass "Redis restarted empty: cached allows end on both proxies ($ms after it is back)"
	else
		t_fail "Redis restarted empty: cached allows end on both proxies within 4 s" "$ms"
	fi
else
	t_fail "Redis restarted empty: cached allows end" "$out"
fi
s3gate_stop r1 || t_fail "s3gate r1 exits cleanly" "see $T/r1/s3gate.log"
s3gate_stop r2 || t_fail "s3gate r2 exits cleanly" "see $T/r2/s3gate.log"

# ==== the file store ============================================================
s3gate_start f "workers 2" || { t_fail "s3gate f starts (file store)" "see $T/f/s3gate.log"; exit 1; }
FP=$S3GATE_POLICY_DIR
FO=b12fo$id FH=b12fh$id FG=b12fg$id
FB=ws-$FO FB2=ws-$FO-two HB=ws-$FH
# hand_doc [--cut PATTERN] — the hand-written Storage file of ws-FH: HB with
# a grant to FG of "in/" only (the prefix after the permission, as a person
# writes it); with --cut, only the lines before the first line matching PATTERN
hand_doc() {
	local doc
	doc=$(cat <<EOD
apiVersion: pkg.internal/v1beta1
kind: Storage
metadata:
  name: ws-$FH
spec:
  principal: $FH
  buckets:
    - bucketName: $HB
  bucketAccessGrants:
    - bucketName: $HB
      grantee: $FG
      permission: ReadOnly
      prefix: in/
      grantedAt: "2026-11-27T00:00:00Z"
EOD
)
	if [ "${1:-}" = --cut ]; then sed "/$2/,\$d" <<<"$doc"; else echo "$doc"; fi
}
setup_file() {
	ws_setup "$FO" "$FB" "$FB2" || return 1
	s3gate_cred "$FO" fowner >/dev/null && s3gate_cred "$FG" fguest >/dev/null || return 1
	s3gate_admin grant "$FB" "$FG" ReadOnly >/dev/null || return 1
	backend_aws s3api create-bucket --bucket "$HB" >/dev/null || return 1
	echo "the object of $FH" >"$T/hobj"
	backend_aws s3api put-object --bucket "$HB" --key in/x --body "$T/hobj" >/dev/null &&
		backend_aws s3api put-object --bucket "$HB" --key out/x --body "$T/hobj" >/dev/null &&
		S3_ENDPOINT=$S3GATE_ENDPOINT awsv2 fowner s3 cp "$T/obj" "s3://$FB/k" >/dev/null || return 1
	hand_doc >"$FP/hand.yaml"
}
if ! out=$(setup_file 2>&1); then
	t_fail "setup (file store)" "$out"; exit 1
fi
IN=$S3GATE_ENDPOINT/$HB/in/x OUT=$S3GATE_ENDPOINT/$HB/out/x
sleep 1.2
c="$(codes fguest "$IN" 3) / $(codes fguest "$OUT" 3)"
t_expect_eq "file store: the prefix grant reads in/ only" "200 200 200 / 403 403 403" "$c"

# ---- 6. a hand-written file rewritten in place while the proxy reads it -------------
# (a) cut just before the prefix line while the writer is still writing
#     (comment lines added every 20 ms): the partial document is valid YAML
#     whose grant has no prefix -- the whole bucket;
# (b) truncated to nothing for 1.2 s (as "kubectl get ... -o yaml > FILE"
#     leaves it until kubectl writes);
# (c) invalid YAML for 1.2 s.
# out/x must never be served; in/x may be (the last good policy) or not.
# (one python process writes it all: no fork between two writes, so that a
# loaded machine leaves no pause of 250 ms -- the store's settle time, after
# which a file counts as whole -- that a real writer would not)
writer_cut() {
	hand_doc --cut "prefix:" >"$T/cut.head"
	hand_doc | sed -n '/prefix:/,$p' >"$T/cut.tail"
	"$PY3" - "$FP/hand.yaml" "$T/cut.head" "$T/cut.tail" <<'EOF'
import sys, time
with open(sys.argv[1], "w") as f:	# truncates, writes the head: same inode
    f.write(open(sys.argv[2]).read()); f.flush()
    for i in range(75):
        time.sleep(0.02)
        f.write("      # the writer is still writing (%d)\n" % i); f.flush()
    f.write(open(sys.argv[3]).read())
EOF
}
# watch_out MS — statuses of fguest's GET of out/x (new connections) for MS
watch_out() {
	local end=$(($(date +%s%3N) + $1))
	while [ "$(date +%s%3N)" -lt "$end" ]; do sigv4_status fguest "$OUT"; echo; sleep 0.05; done | sed '/^$/d' | sort | uniq -c | awk '{ printf "%s x%s ", $2, $1 }'
}
writer_cut &
wpid=$!
seen=$(watch_out 2000)
wait "$wpid"
if ! grep -q '200' <<<"$seen"; then
	t_pass "file store: a file read while still being written (a prefix-less grant so far) does not widen the grant ($seen)"
else
	t_fail "file store: a file read while still being written does not widen the grant" "out/x: $seen"
fi
: >"$FP/hand.yaml"
seen=$(watch_out 1200)
if ! grep -q '200' <<<"$seen"; then t_pass "file store: a file truncated to nothing grants nothing ($seen)"
else t_fail "file store: a file truncated to nothing grants nothing" "out/x: $seen"; fi
printf 'spec:
  principal: %s
  buckets: [
    - bucketName: "%s
' "$FH" "$HB" >"$FP/hand.yaml"
seen=$(watch_out 1200)
if ! grep -q '200' <<<"$seen"; then t_pass "file store: invalid YAML grants nothing ($seen)"
else t_fail "file store: invalid YAML grants nothing" "out/x: $seen"; fi
hand_doc >"$FP/hand.yaml"
sleep 1.2
c="$(codes fguest "$IN" 3) / $(codes fguest "$OUT" 3)"
t_expect_eq "file store: the whole file written again: in/ only" "200 200 200 / 403 403 403" "$c"

# ---- 7. a symlinked policy folder swapped ----------------------------------------
# policy_store names a symlink (as a ConfigMap's ..data is swapped): v1
# grants fguest in/, v2 does not; each swap is in force within a second
mkdir -p "$T/pol.v1" "$T/pol.v2"
cp -p "$FP/credentials.json" "$T/pol.v1/" && cp -p "$FP/credentials.json" "$T/pol.v2/"
hand_doc >"$T/pol.v1/hand.yaml"
hand_doc --cut "bucketAccessGrants:" >"$T/pol.v2/hand.yaml"
ln -sfn "$T/pol.v1" "$T/pol"
F_EP=$S3GATE_ENDPOINT
if s3gate_start fs "policy_store file $T/pol" "workers 2"; then
	SIN=$S3GATE_ENDPOINT/$HB/in/x
	c1=$(codes fguest "$SIN" 3)
	ln -sfn "$T/pol.v2" "$T/pol.new" && mv -T "$T/pol.new" "$T/pol"
	ms=$(denied_within fguest "$SIN" 1500) && r1=ok || r1=$ms
	ln -sfn "$T/pol.v1" "$T/pol.new" && mv -T "$T/pol.new" "$T/pol"
	ms2=$(wait_sigv4_status fguest "$SIN" 200 1500) && r2=ok || r2=$ms2
	if [ "$c1" = "200 200 200" ] && [ "$r1" = ok ] && [ "$r2" = ok ]; then
		t_pass "file store: a symlinked policy folder swapped away and back is in force each time ($ms, $ms2 ms)"
	else
		t_fail "file store: a symlinked policy folder swapped is in force within a second" "before: $c1; swapped to v2: $r1; back to v1: $r2"
	fi
	s3gate_stop fs || t_fail "s3gate fs exits cleanly" "see $T/fs/s3gate.log"
else
	t_fail "s3gate fs starts on a symlinked policy folder" "see $T/fs/s3gate.log"
fi
S3GATE_ENDPOINT=$F_EP S3GATE_NAME=f S3GATE_CONF=$T/f/s3gate.conf

# ---- 8. admin writes at once (file store) ---------------------------------------
race "f$id" "$FB" "$FB2" "ws-$FO" "$S3GATE_ENDPOINT/$FB/k" fguest
race_check "file store" "f$id" "$FB" "$FB2"
s3gate_stop f || t_fail "s3gate f exits cleanly" "see $T/f/s3gate.log"

exit 0
