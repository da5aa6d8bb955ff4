#!/bin/bash
# body_min_rate: a body of any length (an upload, a download) that moves
# under body_min_rate bytes a second over a body_timeout-long window while
# s3gate waits on the client is closed -- body_timeout alone bounds
# silence, so a client moving a little within each body_timeout kept its
# connection and a backend connection as long as it liked (the gap the
# fourteenth audit left, SECURITY.md).  Requests made by hand at a pace
# (helpers/exhaust.py pace) against the real RGW, what RGW holds read with
# the service key.
#
# Two proxies on one policy folder, both "workers 1" and body_timeout 3s:
#   paced  body_min_rate 8m (24 MiB per 3 s window)
#   plain  no body_min_rate (the control: the same clients are served)
# Checked: an upload dripping 4 KiB every 0.5 s (8 KiB/s, never silent
# for 3 s) is taken whole by plain and closed by paced, RGW holding
# nothing under its key; a fast upload and download through paced are
# whole; a download read at about 2 MiB/s is served by plain and cut by
# paced; a download shaped by the principal's own quota_bandwidth under
# body_min_rate is not the client's doing and is served whole; the log
# line and s3gate_slow_clients_total.
# Why 8m and 2 MiB/s for the download: s3gate sees a reader's pace in
# steps of its socket's send buffer, which loopback grows to megabytes
# (the kernel wakes a writer when about half of it is free); a reader
# slower than half a buffer per body_timeout is closed as silent before
# any window ends, as the control would be.  On a real network the send
# buffer follows the path and the steps are small; the judgement is the
# same (tests/unit/test_stream.c).
# Workspace: ws-br<id>.
. "$(dirname "$0")/lib.sh"

need_s3gate "body_min_rate" "s3gate's own bound: nothing to test against RGW"
ID=$(rand_id)
P=br$ID
B=ws-$P
EX="$PY3 $LIB_DIR/helpers/exhaust.py"

s3gate_start paced "workers 1" "body_timeout 3s" "body_min_rate 8m" ||
	{ t_fail "s3gate paced starts" "see $T/paced/s3gate.log"; exit 1; }
PACED_PORT=$S3GATE_PORT PACED_ADMIN=$S3GATE_ADMIN_URL PACED_DIR=$S3GATE_DIR
if ! out=$(ws_setup "$P" "$B" 2>&1); then t_fail "setup: $B" "$out"; exit 1; fi
s3gate_cred "$P" >"$T/cred.out" 2>&1 || { t_fail "setup: $P's credentials" "$(cat "$T/cred.out")"; exit 1; }
RAW_AKID=$CRED_AKID RAW_SECRET=$CRED_SECRET RAW_REGION=$S3_REGION
export RAW_AKID RAW_SECRET RAW_REGION
s3gate_start plain "workers 1" "body_timeout 3s" "policy_store file $PACED_DIR/policy" ||
	{ t_fail "s3gate plain starts" "see $T/plain/s3gate.log"; exit 1; }
PLAIN_PORT=$S3GATE_PORT PLAIN_ADMIN=$S3GATE_ADMIN_URL
mkfile "$T/big" 32
mkbytes "$T/small" 49152
backend_aws s3api put-object --bucket "$B" --key big --body "$T/big" >/dev/null &&
	backend_aws s3api put-object --bucket "$B" --key small --body "$T/small" >/dev/null ||
	t_fail "setup: a 32 MiB and a 48 KiB object at RGW"
wait_for 10 eval '[ "$(sigv4_status "$P" "http://127.0.0.1:$PLAIN_PORT/$B/small")" = 200 ]' ||
	t_fail "setup: plain serves $P from paced's policy folder"

# field NAME LINE — NAME=VALUE's value in exhaust.py's line
field() { tr ' ' '\n' <<<"$2" | awk -F= -v n="$1" '$1 == n {print $2}'; }
# rgw_size KEY — the object's length at RGW ("none" if it has none)
rgw_size() {
	backend_aws s3api head-object --bucket "$B" --key "$1" --query ContentLength --output text 2>/dev/null ||
		echo none
}
# 4 KiB every 0.5 s: 8 KiB/s, far under paced's body_min_rate; a 3 s gap never comes
drip_put() { $EX pace "$1" PUT "/$B/$2" --length 49152 --step 4096 --every 0.5; }
# 64 KiB every 31 ms through a 64 KiB receive buffer: at most 2 MiB/s
slow_get() { $EX pace "$1" GET "/$B/big" --step 65536 --every 0.031 --rcvbuf 65536 "${@:2}"; }

control_put() {
	local out; out=$(drip_put "$PLAIN_PORT" drip-plain)
	echo "# plain: $out; RGW holds $(rgw_size drip-plain) bytes"
	[ "${out%% *}" = 200 ] && [ "$(field closed "$out")" = 0 ] && [ "$(rgw_size drip-plain)" = 49152 ]
}
t_check "control, no body_min_rate: an upload dripping 8 KiB/s (never 3 s silent) is taken whole (200, 48 KiB at RGW)" control_put

paced_put() {
	local before out; before=$(metric "$PACED_ADMIN" s3gate_slow_clients_total)
	out=$(drip_put "$PACED_PORT" drip-paced)
	echo "# paced: $out; RGW: $(rgw_size drip-paced); s3gate_slow_clients_total $before -> $(metric "$PACED_ADMIN" s3gate_slow_clients_total)"
	[ "$(field closed "$out")" = 1 ] && [ "$(field moved "$out")" -lt 49152 ] && [ "${out%% *}" != 200 ] &&
		[ "$(rgw_size drip-paced)" = none ] &&
		[ "$(metric "$PACED_ADMIN" s3gate_slow_clients_total)" -gt "${before:-0}" ]
}
t_check "body_min_rate 8m: the same upload is closed before its end, RGW holds nothing under its key, s3gate_slow_clients_total counts it" paced_put

logged() { grep -q "body bytes in [0-9]* ms, under body_min_rate 8388608 bytes/s; closing" "$PACED_DIR/s3gate.log"; }
t_check "... the error log says how many bytes came in how long, under which rate" wait_for 5 logged

fast_both() {
	curl_sigv4 "$P" -sS -o /dev/null -w '%{http_code}' -T "$T/big" "http://127.0.0.1:$PACED_PORT/$B/fast" >"$T/fput.st" &&
		curl_sigv4 "$P" -sS -o "$T/fast.out" "http://127.0.0.1:$PACED_PORT/$B/fast" &&
		[ "$(cat "$T/fput.st")" = 200 ] && same_file "$T/big" "$T/fast.out"
}
t_check "through paced, a 32 MiB upload and its download at full speed are whole" fast_both

control_get() {
	local out; out=$(slow_get "$PLAIN_PORT" --seconds 6)
	echo "# plain: $out"
	[ "${out%% *}" = 200 ] && [ "$(field closed "$out")" = 0 ] && [ "$(field moved "$out")" -gt 4194304 ]
}
t_check "control, no body_min_rate: a 32 MiB download read at 2 MiB/s is still served after 6 s (over 4 MiB in)" control_get

paced_get() {
	local before out; before=$(metric "$PACED_ADMIN" s3gate_slow_clients_total)
	out=$(slow_get "$PACED_PORT" --seconds 30)
	echo "# paced: $out; s3gate_slow_clients_total $before -> $(metric "$PACED_ADMIN" s3gate_slow_clients_total)"
	[ "${out%% *}" = 200 ] && [ "$(field closed "$out")" = 1 ] && [ "$(field moved "$out")" -lt 33554432 ] &&
		[ "$(metric "$PACED_ADMIN" s3gate_slow_clients_total)" -gt "${before:-0}" ]
}
t_check "body_min_rate 8m: the same download is cut short (closed, not all 32 MiB), counted as slow" paced_get

# The principal's own bandwidth quota, 8 KiB/s, under body_min_rate: the
# stream is paused by s3gate (or waits on RGW), never on the client.
s3gate_admin quota set "$P" --bandwidth 8k >/dev/null || t_fail "setup: quota set $P --bandwidth 8k"
# shaped_get — 0 once a download was shaped (>= 3 s) and whole; 1 while the
# quota is not in force yet; a download closed is written down (shaped.bad)
shaped_get() {
	local out; out=$($EX req "$PACED_PORT" GET "/$B/small" --wait 30)
	echo "# $out" >>"$T/shaped.log"
	[ "${out%% *}" = 200 ] && [ "$(field closed "$out")" = 0 ] || { echo "$out" >>"$T/shaped.bad"; return 1; }
	awk -v s="$(field secs "$out")" 'BEGIN { exit !(s >= 3) }'
}
shaped() {
	wait_for 30 shaped_get
	cat "$T/shaped.log"
	[ ! -e "$T/shaped.bad" ] && tail -n 1 "$T/shaped.log" | grep -q "^# 200 "
}
t_check "a 48 KiB download shaped to 8 KiB/s by the principal's quota_bandwidth is served whole, never closed (>= 3 s)" shaped
