#!/bin/bash
# The Redis policy store with two s3gate processes on one Redis:
#   a grant reaches both; a revocation reaches both within a second (the
#   cache TTL is 30 s, so only the invalidation channel can do it);
#   Redis stopped: a principal not yet cached gets 503 ServiceUnavailable,
#   never the object; a web page (a request with Origin) can read that 503
#   (Access-Control-Allow-Origin: *) from a, not from b (cors_errors off).
# a runs with the default workers (auto: two here), b with one: each worker
# caches decisions on its own, so "a cached principal is served while
# Redis is down" is checked on b, where the warming request and the check
# are sure to meet the same cache.
# Uses a Redis of its own (tests/lib/redis.sh), so that stopping it does not
# touch the shared one.
. "$(dirname "$0")/lib.sh"
. "$ROOT/tests/lib/redis.sh"

need_s3gate "redis policy store"
own_redis "redis policy store"

id=$(rand_id)
OWNER=frank$id GUEST=bob$id LATE=carol$id
B=ws-$OWNER B_IN=ws-$OWNER-stagein

(umask 077 && openssl rand -hex 32 >"$T/policy.key")
REDIS_CONF=("policy_store redis $REDIS_URL" "policy_secret_key $T/policy.key"
	"policy_cache_ttl 30s" "policy_max_staleness 3s")

s3gate_start a "${REDIS_CONF[@]}" || { t_fail "s3gate a starts with policy_store redis" "see log"; exit 1; }
EP_A=$S3GATE_ENDPOINT CONF_A=$S3GATE_CONF ADMIN_A=$S3GATE_ADMIN_URL
t_pass "s3gate a starts with policy_store redis"

# The admin CLI must work on the Redis store for anything below.
if ! out=$(s3gate_admin cred list 2>&1); then
	t_skip "redis policy store scenarios" "admin CLI not yet wired to Redis: $(head -n 1 <<<"$out")"
	exit 0
fi

t_check "sync two workspaces into Redis" ws_setup "$OWNER" "$B" "$B_IN"
ws_setup "$GUEST" "ws-$GUEST" >/dev/null
for p in "$OWNER:owner" "$GUEST:guest" "$LATE:late"; do
	out=$(s3gate_cred "${p%%:*}" "${p#*:}" 2>&1) || t_fail "cred create ${p%%:*}" "$out"
done

s3gate_start b "${REDIS_CONF[@]}" "workers 1" "cors_errors off" || { t_fail "s3gate b starts on the same Redis" "see log"; exit 1; }
EP_B=$S3GATE_ENDPOINT ADMIN_B=$S3GATE_ADMIN_URL
t_pass "s3gate b starts on the same Redis"
S3GATE_CONF=$CONF_A	# the admin CLI: either config names the same Redis

echo hello >"$T/obj"
S3_ENDPOINT=$EP_A t_check "owner puts an object through a" awsv2 owner s3 cp "$T/obj" "s3://$B_IN/obj"
for ep in A B; do
	eval "url=\$EP_$ep/$B_IN/obj"
	t_expect_eq "$ep: no grant yet: the guest is denied" 403 "$(sigv4_status guest "$url")"
	t_expect_eq "$ep: the owner reads" 200 "$(sigv4_status owner "$url")"
done

t_check "grant ReadOnly" s3gate_admin grant "$B_IN" "$GUEST" ReadOnly
for ep in A B; do
	eval "url=\$EP_$ep/$B_IN/obj"
	# the guest's earlier denial may be cached for the 30 s TTL: the grant must arrive by pub/sub
	if ms=$(wait_sigv4_status guest "$url" 200 1000); then
		t_pass "$ep: the grant is seen within a second ($ms ms)"
	else
		t_fail "$ep: the grant is seen within a second" "$ms"
	fi
done

t_check "revoke" s3gate_admin revoke "$B_IN" "$GUEST"
for ep in A B; do
	eval "url=\$EP_$ep/$B_IN/obj"
	if ms=$(wait_sigv4_status guest "$url" 403 1000); then
		t_pass "$ep: the revocation is enforced within a second ($ms ms)"
	else
		t_fail "$ep: the revocation is enforced within a second" "$ms"
	fi
done

readyz() { curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$1/readyz"; }
t_expect_eq "a: /readyz with Redis up" 200 "$(readyz "$ADMIN_A")"

# the owner's entries confirmed just now on both (the staleness bound counts
# from here): b (one worker, the store /metrics reports) has taken the "all"
# message before the owner's read, so that the read is a fresh fetch and
# not the entry cached at the start of the file
inv0=$(metric "$ADMIN_B" s3gate_policy_invalidations_total)
redis-cli -u "$REDIS_URL" publish s3gate:invalidate all >/dev/null
invalidated() { [ "$(metric "$ADMIN_B" s3gate_policy_invalidations_total)" -gt "${inv0:-0}" ] 2>/dev/null; }
wait_for 10 invalidated || t_fail "b receives the \"all\" invalidation" "s3gate_policy_invalidations_total still ${inv0:-none}"
for ep in A B; do
	eval "url=\$EP_$ep/$B_IN/obj"
	t_expect_eq "$ep: the owner reads (refetched after \"all\")" 200 "$(sigv4_status owner "$url")"
done
redis_stop "$T/redis"
sleep 0.5
# the owner was confirmed less than policy_max_staleness (3 s) ago: still
# served on b -- asked first, so that the other requests' time (long on a
# loaded machine) does not eat into the bound
c=$(sigv4_status owner "$EP_B/$B_IN/obj")
if [ "$c" = 200 ]; then
	t_pass "B: Redis stopped: a cached principal is served within the staleness bound"
else
	t_fail "B: Redis stopped: a cached principal is served within the staleness bound" "HTTP $c"
fi
for ep in A B; do
	eval "url=\$EP_$ep/$B_IN/obj"
	body=$(curl_sigv4 late -w '\nHTTP %{http_code}' --max-time 5 "$url" 2>&1)
	if grep -q '^HTTP 503' <<<"$body" && grep -q ServiceUnavailable <<<"$body" &&
		! grep -q hello <<<"$body"; then
		t_pass "$ep: Redis stopped: an uncached principal gets 503 ServiceUnavailable"
	else
		t_fail "$ep: Redis stopped: an uncached principal gets 503 ServiceUnavailable" "$body"
	fi
done
sleep 3.2
for ep in A B; do
	eval "url=\$EP_$ep/$B_IN/obj"
	t_expect_eq "$ep: past policy_max_staleness: 503 for the owner too" 503 "$(sigv4_status owner "$url")"
done
t_expect_eq "a: /readyz with Redis down" 503 "$(readyz "$ADMIN_A")"
# the 503 to a page: readable on a (cors_errors on, the default), not on b (off)
for ep in A B; do
	eval "url=\$EP_$ep/$B_IN/obj"
	head=$(curl_sigv4 owner -s -o /dev/null -D - --max-time 10 -H "Origin: https://lab.example.test" "$url" 2>&1 | tr -d '\r')
	status=$(awk 'NR == 1 { print $2 }' <<<"$head")
	acao=$(grep -ci '^access-control-allow-origin: \*$' <<<"$head")
	want=1 what="carries Access-Control-Allow-Origin: * (cors_errors on)"
	[ "$ep" = B ] && want=0 what="carries no CORS header (cors_errors off)"
	if [ "$status" = 503 ] && [ "$acao" = "$want" ]; then
		t_pass "$ep: the 503 to a request with Origin $what"
	else
		t_fail "$ep: the 503 to a request with Origin $what" "$head"
	fi
done

s3gate_stop b || t_fail "s3gate b exits cleanly" "see log"
s3gate_stop a || t_fail "s3gate a exits cleanly" "see log"
exit 0
