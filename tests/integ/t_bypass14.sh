#!/bin/bash
# Fourteenth audit: resource exhaustion and amplification by a client with
# valid credentials or none -- requests made by hand (helpers/exhaust.py),
# against the real RGW, s3gate's memory (VmRSS of its processes) and CPU
# time (utime + stime) read from /proc before and after each.
#
# Found and fixed:
#   the Redis store's cache (policy/redisstore_cache.c) indexed its entries by
#     unkeyed FNV-1a, and every request's access key id is looked up there
#     before its signature can be checked: an outsider, no credential at
#     all, sending ids chosen to collide (2^16 made of 16 pairs of 6-letter
#     blocks, found by a birthday search in seconds) put them all in one
#     chain, each lookup walking it: 49152 such requests cost s3gate 16.5 s
#     of CPU against 1.8 s for as many random ids (quadratic: a worker held
#     to a few thousand requests a second, every client's).  Now SipHash-2-4
#     under a random key per process (rs_hash): alike (~1.9 s).
#   each unknown id stayed cached for the staleness bound (61 s), ~400
#     bytes: +19 MiB per 49152 requests, up to RS_MAX_ENTRIES (1M, ~400 MB
#     a worker, then the whole cache dropped, every client's entries with
#     it); ~20 000 a second a worker reach that.  Now "not found" is freed a
#     second after its TTL (rs_sweep): a third flood of 32768 3 s on grew
#     s3gate by 12 MiB before, ~1 MiB now.
# Tried and held (each checked below, figures from this machine):
#   aws-chunked in 1-byte chunks: 256 Ki unsigned-trailer chunks (1.5 MB on
#     the wire), 64 Ki signed chunks (5.7 MB; one HMAC each, ~0.9 us), and
#     inside 1-byte HTTP chunks (2.4 MB): stored whole, ~70 ms of CPU, RSS
#     flat (decoded in place in the one copy buffer, stream_run_decode);
#     chunk lines over AWSCHUNKED_LINE_MAX (1024; an 1100-byte extension):
#     400 at the first line, nothing stored;
#   bodies s3gate reads: the self-service API over GATEAPI_MAX_BODY (64 KiB)
#     refused unread and closed, 64 KiB of '[' and 5000 members read and
#     refused (400 InvalidArgument; jansson's depth limit); DeleteObjects
#     (2 MiB, DOCTYPE and nesting) is t_bypass10's;
#   heads: 150 x-amz-meta headers 431, 1500 query parameters 414 (S3 XML);
#     a SignedHeaders list over 1023 bytes is AuthorizationHeaderMalformed
#     (sigv4.h); a 29 KB signed head costs ~0.25 ms;
#   a PUT with a forged signature streaming 1 GiB: 403 at once, then at most
#     CONN_LINGER_BYTES (1 MiB) read in CONN_LINGER_MS (2 s), closed;
#   1000 GETs pipelined in one write: 1000 answers, RSS flat (~0.5 ms each);
#   100 PUTs stalled after one body byte, each holding a backend
#     connection: all closed at body_timeout (3 s here), the backend
#     connections closed with them; 20 GETs of 64 MiB never read: RSS flat
#     (the answer waits in the pipe and the sockets, pipe_size at most),
#     closed at body_timeout with their backend connections.
# Tried by hand, not checked below: with splice off (the copy engine, as
#   for TLS) 20 unread downloads hold +21 MiB, copy_buffer_size each, freed
#   at the close; an unsigned form upload (POST, 1 GiB announced): 501
#   NotImplemented at once, closed; 200 GETs (70 KB) pipelined behind a
#   chunked aws-chunked upload in one write: 201 answers 200.
# Left: body_timeout is a bound on silence, not a rate (as nginx's
#   send_timeout and client_body_timeout): a client that moves a byte
#   within each body_timeout (a download read or an upload sent a byte a
#   second) holds its connection, a backend connection and up to pipe_size
#   of kernel memory for as long as it likes; max_connections and
#   max_connections_per_ip bound how many.  (Since: body_min_rate, off by
#   default, bounds the pace too; t_body_rate.sh.)  RGW answers a head with ~27 KB
#   of x-amz-meta (under s3gate's 32 KiB) with an empty 400, relayed as is.
#   Slowloris heads and the admin listener's caps are t_hardening's.
# Workspace: ws-b14<id>; a Redis of this file's own.
. "$(dirname "$0")/lib.sh"

ID=$(rand_id)
P=b14$ID
B=ws-$P
EX="$PY3 $LIB_DIR/helpers/exhaust.py"

if [ "$S3GATE_DIRECT_RGW" = 1 ]; then
	t_skip "fourteenth audit" "s3gate's own bounds: nothing to test against RGW"; exit 0
fi
if ! s3gate_have; then
	t_skip "fourteenth audit" "$(basename "$S3GATE_BIN")/s3gate not built"; exit 0
fi

# ---- measuring s3gate ---------------------------------------------------------------

# pids_of PID — PID and its children (the workers)
pids_of() { echo "$1"; cat "/proc/$1/task/$1/children" 2>/dev/null | tr ' ' '\n' | grep .; }
# kib NAME PID... — the sum of /proc/PID/status NAME (VmRSS, VmHWM) in KiB
kib() {
	local n=$1 p s=0 v; shift
	for p in "$@"; do
		v=$(awk -v n="$n:" '$1 == n {print $2}' "/proc/$p/status" 2>/dev/null)
		s=$((s + ${v:-0}))
	done
	echo "$s"
}
# cpu_ms PID... — utime + stime of the PIDs in ms
cpu_ms() {
	local p s=0 v tck
	tck=$(getconf CLK_TCK)
	for p in "$@"; do
		v=$(sed -E 's/^[0-9]+ \(.*\) //' "/proc/$p/stat" 2>/dev/null | awk '{print $12 + $13}')
		s=$((s + ${v:-0}))
	done
	echo $((s * 1000 / tck))
}

. "$ROOT/tests/lib/redis.sh"
own_redis "fourteenth audit"
(umask 077 && openssl rand -hex 32 >"$T/policy.key")
if ! s3gate_start b14 "workers 1" "policy_store redis $REDIS_URL" "policy_secret_key $T/policy.key" \
	"body_timeout 3s" "head_timeout 3s"; then
	t_fail "s3gate b14 starts" "see $T/b14/s3gate.log"; exit 1
fi
if ! out=$(ws_setup "$P" "$B" 2>&1); then t_fail "setup: $B" "$out"; exit 1; fi
s3gate_cred "$P" >"$T/cred.out" 2>&1 || { t_fail "setup: $P's credentials" "$(cat "$T/cred.out")"; exit 1; }
RAW_AKID=$CRED_AKID RAW_SECRET=$CRED_SECRET RAW_REGION=$S3_REGION
export RAW_AKID RAW_SECRET RAW_REGION
PIDS=$(pids_of "$S3GATE_PID")
mkfile "$T/big" 64
backend_aws s3api put-object --bucket "$B" --key big --body "$T/big" >/dev/null ||
	t_fail "setup: a 64 MiB object at RGW"
t_pass "setup: s3gate b14 (workers 1, Redis store, body and head timeouts 3 s), $B"


# asan — the binaries are built with AddressSanitizer (its quarantine keeps
# freed memory: RSS says nothing about what s3gate frees)
asan() { ldd "$S3GATE_BIN/s3gate" 2>/dev/null | grep -q libasan; }
# MEMX: the memory bounds' factor, 16 under ASan (freed memory held in its
# quarantine, shadow memory): a bound there still catches a body buffered
if asan; then MEMX=16; else MEMX=1; fi
# grew NAME BEFORE LIMIT_KIB — "ok" unless VmRSS rose by LIMIT_KIB x MEMX or
# more since BEFORE (a figure from kib VmRSS); sets GREW (KiB)
grew() { GREW=$(($(kib VmRSS $PIDS) - $2)); [ "$GREW" -lt $(($3 * MEMX)) ]; }
# bconns — s3gate's connections to RGW (other files' proxies talk to it too)
bconns() {
	ss -Htnp state established "( dport = :${RGW_ENDPOINT##*:} )" 2>/dev/null |
		grep -cE "pid=($(echo $PIDS | tr ' ' '|')),"
}
cconns() { ss -Htn state established "( sport = :$S3GATE_PORT )" 2>/dev/null | wc -l; }
# tcf NAME FUNC — FUNC's last lines (figures) shown beside NAME when it passes
tcf() {
	local name=$1 out; shift
	if out=$("$@" 2>&1); then t_pass "$name${out:+ ($(paste -sd ';' <<<"$out"))}"; else t_fail "$name" "$out"; fi
}

# ---- an outsider's access key ids (the policy store's cache) ----------------------

# Every request's access key id is looked up before its signature can be
# checked: an outsider names as many as it likes.  The cache holds each
# unknown one; its table was indexed by unkeyed FNV-1a, so keys chosen to
# collide (helpers/exhaust.py: 2^16 of them from 16 pairs of blocks) all
# shared one chain.  N of each kind: fewer under ASan (slower, and the
# memory check means nothing there).
if asan; then N=4096; else N=49152; fi
flood() {
	local m0=$(kib VmRSS $PIDS) c0=$(cpu_ms $PIDS) out
	out=$($EX akids "$S3GATE_PORT" "$N" --conns 4 --len 90 "$@")
	FLOOD_MS=$(($(cpu_ms $PIDS) - c0)) FLOOD_KIB=$(($(kib VmRSS $PIDS) - m0))
	[ "$out" = "$(printf 'answered=%d s403=%d other=0' "$N" "$N")${out##*other=0}" ] ||
		{ echo "$*: $out"; return 1; }
}
akid_flood() {
	local rand_ms rand_kib
	flood || return 1
	rand_ms=$FLOOD_MS rand_kib=$FLOOD_KIB
	flood --collide || return 1
	echo "$N random keys: ${rand_ms} ms CPU, +${rand_kib} KiB; $N colliding: ${FLOOD_MS} ms, +${FLOOD_KIB} KiB"
	# before the fix: 16.5 s of CPU against 1.8 (quadratic in the keys)
	[ "$FLOOD_MS" -le $((rand_ms * 2 + 1000)) ] || { echo "colliding keys cost more"; return 1; }
	asan && return 0
	# unknown keys are freed 2 s after their answer (were kept 61 s: each
	# flood's all held, ~400 bytes each; RS_MAX_ENTRIES allowed ~400 MB): a
	# third flood 3 s on reuses what the first two freed (+12 MiB before)
	sleep 3
	N=32768 flood || return 1
	echo "a third flood of 32768 3 s later: +${FLOOD_KIB} KiB"
	[ "$FLOOD_KIB" -lt 6144 ] || { echo "the third flood grew s3gate by $FLOOD_KIB KiB"; return 1; }
}
tcf "an outsider's access key ids: random and FNV-colliding ones cost alike, and are not kept" akid_flood

# ---- aws-chunked bodies in tiny chunks ------------------------------------------

# the object RGW holds: its size
rgw_size() { backend_aws s3api head-object --bucket "$B" --key "$1" --query ContentLength --output text 2>/dev/null; }
tiny_chunks() {
	local m0=$(kib VmRSS $PIDS) c0=$(cpu_ms $PIDS) out ms
	out=$($EX awschunked "$S3GATE_PORT" "/$B/tiny-u" trailer 262144 1)
	[ "${out%% *}" = 200 ] || { echo "unsigned trailer, 1-byte chunks: $out"; return 1; }
	out=$($EX awschunked "$S3GATE_PORT" "/$B/tiny-s" signed 65536 1)
	[ "${out%% *}" = 200 ] || { echo "signed, 1-byte chunks: $out"; return 1; }
	out=$($EX awschunked "$S3GATE_PORT" "/$B/tiny-o" trailer 65536 1 --outer 1)
	[ "${out%% *}" = 200 ] || { echo "1-byte chunks in 1-byte HTTP chunks: $out"; return 1; }
	ms=$(($(cpu_ms $PIDS) - c0))
	[ "$(rgw_size tiny-u)" = 262144 ] && [ "$(rgw_size tiny-s)" = 65536 ] && [ "$(rgw_size tiny-o)" = 65536 ] ||
		{ echo "RGW holds $(rgw_size tiny-u) $(rgw_size tiny-s) $(rgw_size tiny-o) bytes"; return 1; }
	# measured: ~0.03 s for the unsigned 1.5 MB, ~0.06 s for 64 Ki signed chunks (5.7 MB)
	[ "$ms" -lt 8000 ] || { echo "$ms ms CPU"; return 1; }
	grew "" "$m0" 4096 || { echo "s3gate grew by $GREW KiB"; return 1; }
	echo "256 Ki + 64 Ki + 64 Ki one-byte chunks: $ms ms CPU, +$GREW KiB"
}
tcf "aws-chunked in 1-byte chunks (unsigned with a trailer, signed, inside 1-byte HTTP chunks): stored whole, memory flat" tiny_chunks

long_ext() {
	local out m0=$(kib VmRSS $PIDS)
	for mode in trailer signed; do
		out=$($EX awschunked "$S3GATE_PORT" "/$B/ext-$mode" $mode 65536 1 --ext 1100)
		case $out in "400 "*) ;; *) echo "$mode, 1100-byte extensions: $out"; return 1 ;; esac
		[ "$(rgw_size "ext-$mode")" = "" ] || { echo "$mode: RGW holds ext-$mode"; return 1; }
	done
	grew "" "$m0" 2048 || { echo "s3gate grew by $GREW KiB"; return 1; }
}
tcf "aws-chunked with 1100-byte chunk extensions (a line over AWSCHUNKED_LINE_MAX): 400 at the first, nothing stored" long_ext

# ---- bodies s3gate reads itself, heads ----------------------------------------------

head -c 65537 /dev/zero | tr '\0' '[' >"$T/deep65537.json"
head -c 65536 /dev/zero | tr '\0' '[' >"$T/deep65536.json"
"$PY3" -c 'print("{" + ",".join("\"k%d\":\"v\"" % i for i in range(5000)) + "}")' >"$T/wide.json"
api_bodies() {
	local f out
	# over GATEAPI_MAX_BODY: refused unread, so the connection closes
	out=$($EX req "$S3GATE_PORT" POST /_s3gate/requests --body "$T/deep65537.json" --signed-body --until-close --wait 10)
	case $out in "400 InvalidArgument closed=1 "*) ;; *) echo "64 KiB + 1: $out"; return 1 ;; esac
	# read whole, then refused: the connection stays open
	for f in deep65536 wide; do
		out=$($EX req "$S3GATE_PORT" POST /_s3gate/requests --body "$T/$f.json" --signed-body --wait 10)
		case $out in "400 InvalidArgument "*) ;; *) echo "$f: $out"; return 1 ;; esac
	done
}
tcf "self-service API: 64 KiB + 1 (400, closed), 64 KiB of '[' (nesting), 5000 members: 400 InvalidArgument" api_bodies

heads() {
	local out i q hdrs=()
	for i in $(seq 1 150); do hdrs+=(--header "x-amz-meta-a$i: v"); done
	out=$($EX req "$S3GATE_PORT" PUT "/$B/h" "${hdrs[@]}" --until-close --wait 10)
	case $out in "431 RequestHeaderSectionTooLarge closed=1 "*) ;; *) echo "150 x-amz-meta: $out"; return 1 ;; esac
	q=$("$PY3" -c 'print("&".join("p%d=v" % i for i in range(1500)))')
	out=$($EX req "$S3GATE_PORT" GET "/$B/h?$q" --until-close --wait 10)
	case $out in "414 "*" closed=1 "*) ;; *) echo "1500 query parameters: $out"; return 1 ;; esac
}
tcf "heads: 150 signed x-amz-meta headers 431, 1500 query parameters 414 (S3 XML, closed)" heads

forged_stream() {
	local out sent secs
	out=$($EX req "$S3GATE_PORT" PUT "/$B/forged" --bad-sig --length 1073741824 --stream --until-close --wait 20)
	read -r _ _ _ sent secs <<<"$out"
	sent=${sent#sent=} secs=${secs#secs=}
	case $out in "403 SignatureDoesNotMatch closed=1 "*) ;; *) echo "$out"; return 1 ;; esac
	# CONN_LINGER_BYTES (1 MiB) read after the answer, plus the socket buffers
	[ "$sent" -lt 67108864 ] || { echo "took $sent bytes"; return 1; }
	echo "$sent bytes taken in $secs s"
}
tcf "a forged PUT streaming 1 GiB: 403 SignatureDoesNotMatch, closed after ~1 MiB" forged_stream

# ---- pipelining -------------------------------------------------------------------

pipelined() {
	local m0=$(kib VmRSS $PIDS) out
	out=$($EX pipeline "$S3GATE_PORT" "/$B/tiny-s" 1000)
	[ "$out" = "answers=1000 statuses=200:1000 closed=0" ] || { echo "$out"; return 1; }
	grew "" "$m0" 4096 || { echo "s3gate grew by $GREW KiB"; return 1; }
	echo "+$GREW KiB"
}
tcf "1000 GETs in one write: 1000 answers 200, memory flat" pipelined

# ---- stalled uploads and downloads -------------------------------------------------

stalled_puts() {
	local m0=$(kib VmRSS $PIDS) b0=$(bconns) sp held out
	rm -f "$T/ready"
	$EX stall "$S3GATE_PORT" PUT "/$B/stall{I}" 100 20 --ready "$T/ready" >"$T/stall.out" &
	sp=$!
	wait_for 20 test -s "$T/ready" || { kill $sp; echo "the heads were not all sent"; return 1; }
	# each upload holds a backend connection (the control: the bound below means something)
	wait_for 5 eval '[ $(bconns) -ge 100 ]'
	held=$(bconns)
	wait $sp
	out=$(cat "$T/stall.out")
	[ "$held" -ge 100 ] || { echo "$held backend connections while held ($b0 before)"; return 1; }
	case $out in "closed=100 of=100 "*) ;; *) echo "$out"; return 1 ;; esac
	[ "${out##*max=}" \< 9 ] || { echo "$out (body_timeout 3 s)"; return 1; }
	wait_for 10 eval '[ $(bconns) -le $b0 ]' || { echo "$(bconns) backend connections left"; return 1; }
	grew "" "$m0" 16384 || { echo "s3gate grew by $GREW KiB"; return 1; }
	echo "$held backend connections held; $out; +$GREW KiB"
}
tcf "100 PUTs stalled after 1 body byte: each held a backend connection, all closed at body_timeout (3 s), backend connections released" stalled_puts

stalled_gets() {
	local m0=$(kib VmRSS $PIDS) b0=$(bconns) sp held t0 rss
	rm -f "$T/ready"
	$EX stall "$S3GATE_PORT" GET "/$B/big" 20 12 --ready "$T/ready" >"$T/stall.out" &
	sp=$!
	wait_for 20 test -s "$T/ready" || { kill $sp; echo "the heads were not all sent"; return 1; }
	wait_for 5 eval '[ $(bconns) -ge 20 ]'
	held=$(bconns) rss=$(kib VmRSS $PIDS) t0=$SECONDS
	[ "$held" -ge 20 ] || { kill $sp; echo "$held backend connections ($b0 before)"; return 1; }
	# the 64 MiB answers wait in the kernel (pipe, sockets), not in s3gate
	[ $((rss - m0)) -lt $((16384 * MEMX)) ] || { kill $sp; echo "s3gate grew by $((rss - m0)) KiB"; return 1; }
	wait_for 12 eval '[ $(cconns) -eq 0 ] && [ $(bconns) -le $b0 ]' ||
		{ kill $sp; echo "after $((SECONDS - t0)) s: $(cconns) client, $(bconns) backend connections"; return 1; }
	kill $sp 2>/dev/null; wait $sp 2>/dev/null
	echo "+$((rss - m0)) KiB while held; closed within $((SECONDS - t0)) s"
}
tcf "20 GETs of 64 MiB never read: memory flat, client and backend connections closed at body_timeout" stalled_gets

s3gate_stop b14 || t_fail "s3gate b14 stops cleanly" "see $T/b14/s3gate.log"
