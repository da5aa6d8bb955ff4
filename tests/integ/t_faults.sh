#!/bin/bash
# Faults around s3gate, and what the client and the backend see:
#   backend down (closed port): 503 ServiceUnavailable, S3 XML, quickly;
#   backend that never answers: an S3 error within backend_timeout;
#   backend reset in the middle of a GET (a TCP relay of our own that
#     resets): the client sees a broken transfer, never a short body
#     passed off as complete; the next request works;
#   client abort mid-PUT, s3gate SIGKILLed mid-upload: no object stored;
#   the access log's disk full: s3gate keeps serving;
#   SIGHUP and SIGTERM during a large download: it completes (drain), then
#     exit 0; an invalid config on SIGHUP: the old one keeps serving.
# Redis lost (fail closed) is t_policy_redis.sh's.
# Workspace: ws-fay (fay owns it).
. "$(dirname "$0")/lib.sh"

RAW="$PY3 $LIB_DIR/helpers/rawhttp.py"
B=ws-fay
BIG_MB=48

need_s3gate "faults" "checks s3gate's own behaviour: not meaningful against RGW"

s3gate_start flt || { t_fail "s3gate starts" "see $T/flt/s3gate.log"; exit 1; }
FLT_PID=$S3GATE_PID FLT_EP=$S3GATE_ENDPOINT FLT_PORT=$S3GATE_PORT FLT_CONF=$S3GATE_CONF
if ! out=$({ ws_setup fay "$B" && s3gate_cred fay; } 2>&1); then
	t_fail "workspace ws-fay and fay's credentials" "$out"; exit 1
fi
storage_doc fay "$B" >"$T/ws-fay.yaml"
mkfile "$T/big" "$BIG_MB"
echo "small object $(rand_id)" >"$T/small"
if ! out=$({ backend_aws s3api put-object --bucket "$B" --key big --body "$T/big" &&
	backend_aws s3api put-object --bucket "$B" --key small --body "$T/small"; } 2>&1); then
	t_fail "objects put at the backend" "$out"; exit 1
fi
t_pass "setup: ws-fay with a $BIG_MB MiB object"

# new_instance NAME [CONFIG...] — another s3gate on the same policy
# (Storage file copied in) with its own credentials for fay (profile
# fay-NAME); sets its S3GATE_* variables
new_instance() {
	local name=$1 i c; shift
	s3gate_start "$name" "$@" "$T/ws-fay.yaml" || return 1
	s3gate_cred fay "fay-$name" >/dev/null || return 1
	for ((i = 0; i < 30; i++)); do	# the file store sees new credentials within a second
		c=$(curl_sigv4 "fay-$name" -o /dev/null -w '%{http_code}' --max-time 3 "$S3GATE_ENDPOINT/$B/small" 2>/dev/null)
		case $c in 403 | 000) sleep 0.1 ;; *) break ;; esac
	done
}
# proc_up PID — alive and not a zombie
proc_up() {
	local s
	s=$(sed -E 's/^[0-9]+ \(.*\) (.).*/\1/' "/proc/$1/stat" 2>/dev/null) || return 1
	[ "$s" != Z ]
}
# gone NAME — forget an instance this test killed itself (so that the
# file's teardown does not count its exit status)
# crash PID: s3gate killed whole, as by a crash or the OOM killer: the
# parent stopped first (so that it restarts no worker), its workers killed,
# then the parent
crash() { kill -STOP "$1"; pkill -KILL -P "$1"; kill -KILL "$1"; }
gone() { local p; p=$(cat "$T/$1/pid" 2>/dev/null) && { wait "$p" 2>/dev/null; rm -f "$T/$1/pid"; }; return 0; }
# absent KEY — no such object at the backend
absent() {
	local out
	if out=$(backend_aws s3api head-object --bucket "$B" --key "$1" 2>&1); then
		echo "object $1 exists at the backend: $out"; return 1
	fi
	grep -q -E '404|Not Found|NoSuchKey' <<<"$out" || { echo "head-object $1: $out"; return 1; }
}

# ---- backend down ---------------------------------------------------------------

closed=$(free_port)	# nothing listens there
if new_instance down "backend http://127.0.0.1:$closed" "backend_connect_timeout 2s"; then
	out=$(curl_sigv4 fay-down -w '\nHTTP %{http_code} %{time_total}' --max-time 10 "$S3GATE_ENDPOINT/$B/small" 2>&1)
	read -r _ code secs <<<"$(tail -n 1 <<<"$out")"
	if [ "$code" = 503 ] && grep -q '<Code>ServiceUnavailable</Code>' <<<"$out" && grep -q '<?xml' <<<"$out" &&
		awk -v s="$secs" 'BEGIN {exit !(s < 2.0)}'; then
		t_pass "backend down (closed port): 503 ServiceUnavailable, S3 XML, in $secs s (backend_connect_timeout 2s)"
	else
		t_fail "backend down (closed port): 503 ServiceUnavailable with an S3 XML body within 2 s" "$out"
	fi
	out=$(curl_sigv4 fay-down -w '\nHTTP %{http_code}' --max-time 10 -T "$T/small" "$S3GATE_ENDPOINT/$B/down-put" 2>&1)
	if grep -q '^HTTP 503' <<<"$out" && grep -q ServiceUnavailable <<<"$out"; then
		t_pass "backend down: a PUT gets 503 ServiceUnavailable too"
	else
		t_fail "backend down: a PUT gets 503 ServiceUnavailable too" "$out"
	fi
	t_expect_eq "backend down: /readyz says 503" 503 \
		"$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$S3GATE_ADMIN_URL/readyz")"
	s3gate_stop down || t_fail "s3gate down exits cleanly" "see $T/down/s3gate.log"
else
	t_fail "s3gate starts with its backend down" "see $T/down/s3gate.log"
fi

# A backend that accepts and never answers: backend_timeout
hole=$(free_port)
$RAW blackhole "$hole" --ready "$T/hole.ready" >"$T/hole.log" 2>&1 &
HOLE_PID=$!
lib_on_exit 'kill $HOLE_PID 2>/dev/null'
wait_port "$hole"
if new_instance hole "backend http://127.0.0.1:$hole" "backend_timeout 2s"; then
	out=$(curl_sigv4 fay-hole -w '\nHTTP %{http_code} %{time_total}' --max-time 15 "$S3GATE_ENDPOINT/$B/small" 2>&1)
	read -r _ code secs <<<"$(tail -n 1 <<<"$out")"
	if { [ "$code" = 503 ] || [ "$code" = 504 ]; } && grep -q '<Error><Code>' <<<"$out" &&
		awk -v s="$secs" 'BEGIN {exit !(s >= 1.5 && s < 4.0)}'; then
		t_pass "backend never answers: $code $(grep -o '<Code>[^<]*' <<<"$out" | cut -c7-) after $secs s (backend_timeout 2s)"
	else
		t_fail "backend never answers: 503/504 S3 error after ~2 s (backend_timeout 2s)" "$out"
	fi
	s3gate_stop hole || t_fail "s3gate hole exits cleanly" "see $T/hole/s3gate.log"
else
	t_fail "s3gate starts with a backend that never answers" "see $T/hole/s3gate.log"
fi
kill $HOLE_PID 2>/dev/null

# ---- backend reset in the middle of a GET ------------------------------------------

rport=$(free_port)
RESET_AT=$((8 * 1048576))
$RAW relay "$rport" "${RGW_ENDPOINT##*:}" --reset-after "$RESET_AT" --ready "$T/relay.ready" 2>"$T/relay.log" &
RELAY_PID=$!
lib_on_exit 'kill $RELAY_PID 2>/dev/null'
wait_port "$rport"
if new_instance rst "backend http://127.0.0.1:$rport"; then
	rm -f "$T/rst.out"
	curl_sigv4 fay-rst -o "$T/rst.out" --max-time 60 "$S3GATE_ENDPOINT/$B/big" 2>"$T/rst.err"
	rc=$?
	size=$(stat -c %s "$T/rst.out" 2>/dev/null || echo 0)
	if [ $rc -ne 0 ] && [ "$size" -lt $((BIG_MB * 1048576)) ]; then
		t_pass "backend reset after 8 MiB of a GET: curl exits $rc with $size bytes ($(head -c 100 "$T/rst.err"))"
	else
		t_fail "backend reset mid-GET: curl sees a broken transfer" \
			"curl exit $rc, $size of $((BIG_MB * 1048576)) bytes; relay: $(tail -n 3 "$T/relay.log")"
	fi
	grep -q "reset after" "$T/relay.log" || t_fail "the relay did reset the backend connection" "$(cat "$T/relay.log")"
	rm -f "$T/rst.out"
	out=$(S3_ENDPOINT=$S3GATE_ENDPOINT awsv2 fay-rst s3api get-object --bucket "$B" --key big "$T/rst.out" 2>&1)
	rc=$?
	size=$(stat -c %s "$T/rst.out" 2>/dev/null || echo 0)
	if [ $rc -ne 0 ]; then
		t_pass "backend reset mid-GET: aws-cli v2 s3api get-object fails (exit $rc, $size bytes)"
	else
		t_fail "backend reset mid-GET: aws-cli v2 s3api get-object fails" "exit 0 with $size bytes: $out"
	fi
	rm -f "$T/rst.out"
	out=$(S3_ENDPOINT=$S3GATE_ENDPOINT TEST_AWS_MAX_ATTEMPTS=2 awsv1 fay-rst s3 cp "s3://$B/big" "$T/rst.out" 2>&1)
	rc=$?
	if [ $rc -ne 0 ] && ! cmp -s "$T/big" "$T/rst.out"; then
		t_pass "backend reset mid-GET: aws-cli v1 s3 cp fails (exit $rc)"
	else
		t_fail "backend reset mid-GET: aws-cli v1 s3 cp fails" "exit $rc: $out"
	fi
	rm -f "$T/rst.out"
	out=$(curl_sigv4 fay-rst -sS --max-time 10 "$S3GATE_ENDPOINT/$B/small" 2>&1)
	t_expect_eq "after the resets, the next GET through the same s3gate works" "$(cat "$T/small")" "$out"
	s3gate_stop rst || t_fail "s3gate rst exits cleanly" "see $T/rst/s3gate.log"
else
	t_fail "s3gate starts behind the resetting relay" "see $T/rst/s3gate.log"
fi
kill $RELAY_PID 2>/dev/null

# ---- client abort mid-PUT --------------------------------------------------------------

S3GATE_ENDPOINT=$FLT_EP
read -r RAW_AKID RAW_SECRET _ <"$T/profiles/fay"
export RAW_AKID RAW_SECRET RAW_REGION=$S3_REGION
FLT_ADMIN=http://127.0.0.1:$(awk '$1 == "admin_listen" {sub(/.*:/, "", $2); print $2}' "$FLT_CONF")
a0=$(metric "$FLT_ADMIN" s3gate_client_aborts_total)
# half of a 10 MiB body, then close
read -r st _ <<<"$($RAW send "$FLT_PORT" "PUT /$B/abort-half HTTP/1.1\r\nHost: 127.0.0.1\r\n{SIG}Content-Length: 10485760\r\n\r\n{PAD:5242880}" --wait 1)"
# all but the last byte, then close
read -r st2 _ <<<"$($RAW send "$FLT_PORT" "PUT /$B/abort-last HTTP/1.1\r\nHost: 127.0.0.1\r\n{SIG}Content-Length: 1048576\r\n\r\n{PAD:1048575}" --wait 1)"
# the same with a signed aws-chunked body, cut inside the first chunk
read -r st3 _ <<<"$(RAW_PAYLOAD=STREAMING-UNSIGNED-PAYLOAD-TRAILER $RAW send "$FLT_PORT" \
	"PUT /$B/abort-chunked HTTP/1.1\r\nHost: 127.0.0.1\r\n{SIG}Content-Encoding: aws-chunked\r\nx-amz-trailer: x-amz-checksum-crc32\r\nx-amz-decoded-content-length: 1048576\r\nContent-Length: 1048700\r\n\r\n100000\r\n{PAD:600000}" --wait 1)"
sleep 1
a1=$(metric "$FLT_ADMIN" s3gate_client_aborts_total)
for k in abort-half abort-last abort-chunked; do
	t_check "client abort mid-PUT ($k): no object at the backend" absent "$k"
done
[ "$st$st2$st3" = 000000000 ] ||
	echo "# answers before the abort: $st $st2 $st3"
echo "# s3gate_client_aborts_total $a0 -> $a1"
out=$(curl_sigv4 fay -sS --max-time 10 "$FLT_EP/$B/small" 2>&1)
t_expect_eq "after the aborts, s3gate serves" "$(cat "$T/small")" "$out"

# ---- SIGKILL mid-upload --------------------------------------------------------------

if new_instance kill9; then
	read -r RAW_AKID RAW_SECRET _ <"$T/profiles/fay-kill9"
	K_PID=$S3GATE_PID
	$RAW send "$S3GATE_PORT" "PUT /$B/killed-upload HTTP/1.1\r\nHost: 127.0.0.1\r\n{SIG}Content-Length: 67108864\r\n\r\n{PAD:16777216}" --wait 8 \
		>"$T/kill9.send" 2>&1 &
	spid=$!
	sleep 1	# 16 of the 64 MiB sent (loopback: well under a second), the client waits
	crash "$K_PID"
	gone kill9
	wait $spid
	sleep 1
	echo "# client of the killed upload: $(cat "$T/kill9.send")"
	t_check "s3gate SIGKILLed mid-upload: no object at the backend" absent killed-upload
	read -r RAW_AKID RAW_SECRET _ <"$T/profiles/fay"
else
	t_fail "s3gate kill9 starts" "see $T/kill9/s3gate.log"
fi
# a multipart upload (boto3, 8 MiB parts one at a time, the file read at
# about 10 MB/s), s3gate killed once parts are stored but before the end
if new_instance kill9b; then
	K_PID=$S3GATE_PID
	boto3_py fay-kill9b '
import time
class Slow:
    def __init__(self, f): self.f = f
    def read(self, n=-1):
        b = self.f.read(n)
        time.sleep(len(b) / 10e6)
        return b
cfg = TransferConfig(multipart_threshold=8 << 20, multipart_chunksize=8 << 20, max_concurrency=1, use_threads=False)
with open(sys.argv[1], "rb") as f:
    s3.upload_fileobj(Slow(f), sys.argv[2], "killed-multipart", Config=cfg)
print("upload completed")
' "$T/big" "$B" >"$T/kill9b.out" 2>&1 &
	cpid=$!
	two_parts() {
		parts=$(grep -c '"action":"UploadPart".*"status":200' "$T/kill9b/access.log" 2>/dev/null)
		[ "${parts:-0}" -ge 2 ]
	}
	wait_for 30 two_parts
	crash "$K_PID"
	gone kill9b
	wait $cpid
	rc=$?
	sleep 1
	if [ $rc -ne 0 ] && [ "${parts:-0}" -ge 2 ]; then
		t_pass "s3gate SIGKILLed mid multipart upload ($parts parts stored): the client fails (exit $rc)"
	else
		t_fail "s3gate SIGKILLed mid multipart upload: the client fails" "exit $rc after $parts parts: $(tail -n 3 "$T/kill9b.out")"
	fi
	t_check "s3gate SIGKILLed mid multipart upload: no object at the backend" absent killed-multipart
	n=$(backend_aws s3api list-multipart-uploads --bucket "$B" --query 'length(Uploads[])' --output text 2>/dev/null)
	echo "# multipart uploads left in progress at the backend (the client's to abort): $n"
else
	t_fail "s3gate kill9b starts" "see $T/kill9b/s3gate.log"
fi

# ---- Redis lost -------------------------------------------------------------------------

t_skip "Redis lost: fail closed" "covered by t_policy_redis.sh (uncached principal 503, cached one served within policy_max_staleness, 503 past it)"

# ---- access log on a full disk -------------------------------------------------------------

mkdir -p "$T/logfs"
if ! mout=$(mount -t tmpfs -o size=64k tmpfs "$T/logfs" 2>&1); then
	t_skip "access log on a full disk: s3gate keeps serving" "mount -t tmpfs failed: $mout"
else
	lib_on_exit 'umount -l "$T/logfs" 2>/dev/null'
	if new_instance logfull "access_log $T/logfs/access.log"; then
		curl_sigv4 fay-logfull -o /dev/null --max-time 5 "$S3GATE_ENDPOINT/$B/small"
		dd if=/dev/zero of="$T/logfs/fill" bs=1k 2>/dev/null
		avail=$(df -k --output=avail "$T/logfs" | tail -n 1 | tr -d ' ')
		lines0=$(wc -l <"$T/logfs/access.log")
		: >"$T/logfull.codes"
		for i in $(seq 30); do
			curl_sigv4 fay-logfull -o /dev/null -w '%{http_code}\n' --max-time 5 "$S3GATE_ENDPOINT/$B/small" \
				>>"$T/logfull.codes" 2>&1
		done
		ok=$(grep -c '^200$' "$T/logfull.codes")
		if [ "$ok" = 30 ] && proc_up "$S3GATE_PID"; then
			t_pass "access log's disk full ($avail KiB free): 30 GETs all 200, s3gate up"
		else
			t_fail "access log's disk full: s3gate keeps serving" \
				"$ok/30 answered 200 ($(sort "$T/logfull.codes" | uniq -c | tr '\n' ' ')); $(tail -n 5 "$S3GATE_LOG")"
		fi
		# space again, logs reopened: lines are written again
		rm -f "$T/logfs/fill"
		kill -USR1 "$S3GATE_PID"
		# a request, then its line looked for, until the reopen (asynchronous) has happened
		logged_again() {
			curl_sigv4 fay-logfull -o /dev/null --max-time 5 "$S3GATE_ENDPOINT/$B/small?resumed=1" 2>/dev/null
			sleep 0.2
			grep -q 'resumed' "$T/logfs/access.log" 2>/dev/null ||
				[ "$(wc -l <"$T/logfs/access.log")" -gt "$lines0" ]
		}
		if wait_for 10 logged_again; then
			t_pass "once space is freed (and SIGUSR1), the access log is written again"
		else
			t_fail "once space is freed (and SIGUSR1), the access log is written again" \
				"$(wc -l <"$T/logfs/access.log") lines (were $lines0); $(tail -n 3 "$S3GATE_LOG")"
		fi
		s3gate_stop logfull || t_fail "s3gate logfull exits cleanly" "see $T/logfull/s3gate.log"
	else
		t_fail "s3gate starts with its access log on a 64k tmpfs" "see $T/logfull/s3gate.log"
	fi
	umount "$T/logfs" 2>/dev/null || umount -l "$T/logfs" 2>/dev/null
fi

# ---- signals during a large download ---------------------------------------------------------

S3GATE_ENDPOINT=$FLT_EP S3GATE_PID=$FLT_PID S3GATE_CONF=$FLT_CONF S3GATE_NAME=flt S3GATE_DIR=$T/flt
S3GATE_LOG=$T/flt/s3gate.log
# slow_get OUT — the big object at ~12 MB/s (about 4 s), in the background
slow_get() {
	rm -f "$1"
	curl_sigv4 fay -sS --limit-rate 12M --max-time 60 -o "$1" -w '%{http_code}' "$FLT_EP/$B/big" >"$1.code" 2>"$1.err" &
	GET_PID=$!
	# under way: its first bytes written (then about 4 s to go)
	wait_for 15 test -s "$1"
}
# download_ok OUT — the background GET (waited for: GET_RC) ended with 200
# and every byte
download_ok() {
	local rc=$GET_RC
	[ $rc -eq 0 ] && [ "$(cat "$1.code")" = 200 ] && cmp -s "$T/big" "$1" && return 0
	echo "curl exit $rc, HTTP $(cat "$1.code"), $(stat -c %s "$1" 2>/dev/null) of $((BIG_MB * 1048576)) bytes; $(cat "$1.err")"
	return 1
}

slow_get "$T/hup.out"
kill -HUP "$FLT_PID"
wait "$GET_PID"; GET_RC=$?
t_check "SIGHUP during a $BIG_MB MiB download: it completes, byte for byte" download_ok "$T/hup.out"
rm -f "$T/hup.out"
out=$(curl_sigv4 fay -sS --max-time 10 "$FLT_EP/$B/small" 2>&1)
t_expect_eq "after SIGHUP, s3gate serves" "$(cat "$T/small")" "$out"

# an invalid config: a directive that does not exist, and the backend moved
# to a closed port (applied, it would break every request)
cp "$FLT_CONF" "$T/flt.conf.good"
{ sed "s|^backend .*|backend http://127.0.0.1:$closed|" "$T/flt.conf.good"; echo "no_such_directive on"; } >"$FLT_CONF"
if "$S3GATE_BIN/s3gate" -t -c "$FLT_CONF" >/dev/null 2>&1; then
	t_fail "the broken config fails s3gate -t" "it passed: $(cat "$FLT_CONF")"
fi
kill -HUP "$FLT_PID"
# the reload is over once its failure is logged: then the request below meets what it left
wait_for 10 grep -q "no_such_directive" "$T/flt/s3gate.log" ||
	t_fail "an invalid config on SIGHUP is reported in the log" "$(tail -n 5 "$T/flt/s3gate.log")"
out=$(curl_sigv4 fay -sS --max-time 10 "$FLT_EP/$B/small" 2>&1)
if [ "$out" = "$(cat "$T/small")" ] && proc_up "$FLT_PID"; then
	t_pass "an invalid config on SIGHUP: the old config keeps serving"
else
	t_fail "an invalid config on SIGHUP: the old config keeps serving" "$out; $(tail -n 5 "$T/flt/s3gate.log")"
fi
cp "$T/flt.conf.good" "$FLT_CONF"

slow_get "$T/term.out"
kill -TERM "$FLT_PID"
sleep 0.3
# a new request while draining (reported, not judged)
dc=$(curl_sigv4 fay -s -o /dev/null -w '%{http_code}' --max-time 3 "$FLT_EP/$B/small" 2>/dev/null)
wait "$GET_PID"; GET_RC=$?
t_check "SIGTERM during a $BIG_MB MiB download: it completes, byte for byte (drain)" download_ok "$T/term.out"
echo "# a new request while draining: HTTP $dc"
for ((i = 0; i < 100; i++)); do proc_up "$FLT_PID" || break; sleep 0.1; done
if proc_up "$FLT_PID"; then
	t_fail "after the drain, s3gate exits" "still running 10 s after the download ended"
fi
if s3gate_stop flt; then
	t_pass "after SIGTERM and the drain, s3gate exits 0"
else
	t_fail "after SIGTERM and the drain, s3gate exits 0" "see $T/flt/s3gate.log"
fi
rm -f "$T/term.out"

# ---- nothing half-stored, finally -------------------------------------------------------------

leftovers() {
	local out
	out=$(backend_aws s3api list-objects-v2 --bucket "$B" --query 'Contents[].Key' --output text) || return 1
	echo "keys: $out"
	[ "$(tr '\t' '\n' <<<"$out" | sort | tr '\n' ' ')" = "big small " ]
}
t_check "in the end, the backend holds only the two objects put directly" leftovers
exit 0
