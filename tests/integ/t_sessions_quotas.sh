#!/bin/bash
# Datalab sessions (issue 9): session credentials (`cred create --ttl`) used
# by aws-cli v1/v2 and rclone with AWS_SESSION_TOKEN in the environment, as a
# runtime gets them; refusals without the token, with another session's
# token, after the TTL, after `cred delete`; a boto3 presigned URL carrying
# X-Amz-Security-Token.  Then per-principal quotas set as config defaults
# (one s3gate per quota, `workers 1`, since each worker takes 1/N of a limit):
# request rate (SlowDown + Retry-After; aws-cli's retries finish the job),
# bandwidth (a 200 MiB download and upload measured against the cap),
# concurrency, and the throttle metrics; then two s3gate processes on one
# Redis sharing one principal's request rate and bandwidth (quota_shared).
# Last, per-principal overrides in the policy store: spec.quotas on a
# Storage resource (file store) gives one principal its own bandwidth while
# another keeps the default (two 100 MiB downloads at once, each measured),
# an override of connections set with s3gate-admin; on Redis, an override
# changed with s3gate-admin applies within a second, without a restart.
# Principals (unique per run): sess*, rate*, bw*, conn*, other*, ovr*, dflt*, ovx*.
. "$(dirname "$0")/lib.sh"

ID=$(rand_id)
PS=sess$ID PR=rate$ID PB=bw$ID PC=conn$ID PO=other$ID
BS=ws-$PS BR=ws-$PR BB=ws-$PB BC=ws-$PC BO=ws-$PO

need_s3gate "sessions and quotas" "s3gate's own credentials and quotas need s3gate"

# status PROFILE URL [CURL_ARGS...] — HTTP status of a signed GET; body in $T/body
status() {
	local p=$1 u=$2; shift 2
	curl_sigv4 "$p" -o "$T/body" -w '%{http_code}' --max-time 30 "$@" "$u" 2>/dev/null
}
# s3code FILE — the <Code> of an S3 XML error
# two_at_once WHAT PROFILE URL_A URL_B FILE CAP_MIB — two downloads of FILE's
# object at once: both whole, and their aggregate rate within 15% of CAP_MIB
two_at_once() {
	local t0 t1 pa pb rate
	t0=$(date +%s%3N)
	curl_sigv4 "$2" -o "$5.a" --max-time 60 "$3" & pa=$!
	curl_sigv4 "$2" -o "$5.b" --max-time 60 "$4" & pb=$!
	wait "$pa" || return 1
	wait "$pb" || return 1
	t1=$(date +%s%3N)
	same_file "$5" "$5.a" && same_file "$5" "$5.b" || return 1
	rate=$("$PY3" -c "print('%.2f' % (2 * $(stat -c %s "$5") / 1048576 / (($t1 - $t0) / 1000)))")
	echo "$1: 2 x $(($(stat -c %s "$5") / 1048576)) MiB in $((t1 - t0)) ms: aggregate $rate MiB/s (cap $6 MiB/s)"
	"$PY3" -c "import sys; sys.exit(0 if abs($rate - $6) <= 0.15 * $6 else 1)"
}
s3code() { sed -n 's:.*<Code>\([^<]*\)</Code>.*:\1:p' "$1" | head -n 1; }
# aws_env BIN ARGS... — aws-cli with the session in AWS_ACCESS_KEY_ID,
# AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN (as a Datalab runtime has it), no
# config files.  S_AKID S_SECRET S_TOKEN are the session.
aws_env() {
	local bin=$1; shift
	local -a extra=()
	case "${1:-} ${2:-}" in "s3 cp" | "s3 sync") extra=(--only-show-errors) ;; esac
	env -u AWS_PROFILE -u AWS_DEFAULT_PROFILE -u AWS_CA_BUNDLE -u AWS_ENDPOINT_URL -u AWS_SESSION_TOKEN \
		HOME="$T/home" AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null \
		AWS_ACCESS_KEY_ID="$S_AKID" AWS_SECRET_ACCESS_KEY="$S_SECRET" ${S_TOKEN:+AWS_SESSION_TOKEN="$S_TOKEN"} \
		AWS_DEFAULT_REGION="$S3_REGION" AWS_EC2_METADATA_DISABLED=true AWS_PAGER="" \
		AWS_RETRY_MODE=standard AWS_MAX_ATTEMPTS=1 \
		"$bin" --endpoint-url "$S3GATE_ENDPOINT" "$@" "${extra[@]+"${extra[@]}"}"
}
# slow_get PROFILE URL — a signed GET read at 256 KiB/s, in the background;
# $! is curl itself (exec'd), so that killing it closes the connection
slow_get() {
	(
		_prof "$1" || exit 2
		exec curl -sS -o /dev/null --limit-rate 256k --max-time 120 --aws-sigv4 "aws:amz:$S3_REGION:s3" \
			--user "$P_AKID:$P_SECRET" -H "x-amz-content-sha256: UNSIGNED-PAYLOAD" "$2" 2>/dev/null
	) &
}
# aws_as AKID SECRET TOKEN BIN ARGS... — aws_env with another session
aws_as() { local S_AKID=$1 S_SECRET=$2 S_TOKEN=$3; shift 3; aws_env "$@"; }
# alternate60 PROFILE EP_A EP_B PATH — 60 signed GETs of PATH over ~2 s,
# alternately through EP_A and EP_B; prints how many got 200
alternate60() {
	local i ep n=0 code
	for ((i = 0; i < 60; i++)); do
		if ((i % 2)); then ep=$3; else ep=$2; fi
		code=$(curl_sigv4 "$1" -o /dev/null -w '%{http_code}' --max-time 10 "$ep/$4" 2>/dev/null)
		[ "$code" = 200 ] && n=$((n + 1))
		sleep 0.02
	done
	echo "$n"
}
# rclone_env ARGS... — rclone with env_auth: the same three variables
rclone_env() {
	: >"$T/home/rclone.conf"
	env -u AWS_PROFILE -u AWS_CA_BUNDLE HOME="$T/home" RCLONE_CONFIG="$T/home/rclone.conf" \
		AWS_ACCESS_KEY_ID="$S_AKID" AWS_SECRET_ACCESS_KEY="$S_SECRET" AWS_SESSION_TOKEN="$S_TOKEN" \
		AWS_SHARED_CREDENTIALS_FILE=/dev/null AWS_CONFIG_FILE=/dev/null \
		RCLONE_CONFIG_S3G_TYPE=s3 RCLONE_CONFIG_S3G_PROVIDER=Ceph RCLONE_CONFIG_S3G_ENV_AUTH=true \
		RCLONE_CONFIG_S3G_ENDPOINT="$S3GATE_ENDPOINT" RCLONE_CONFIG_S3G_REGION="$S3_REGION" \
		RCLONE_CONFIG_S3G_FORCE_PATH_STYLE=true RCLONE_CONFIG_S3G_NO_CHECK_BUCKET=true \
		RCLONE_RETRIES=1 RCLONE_LOW_LEVEL_RETRIES=1 rclone "$@"
}

# ==== session credentials ======================================================

if ! s3gate_start sess "workers 1"; then
	t_fail "sessions: s3gate starts" "see $T/sess/s3gate.log"; exit 1
fi
ADMIN_SESS=$S3GATE_ADMIN_URL
if ! out=$({ ws_setup "$PS" "$BS" && ws_setup "$PO" "$BO"; } 2>&1); then
	t_fail "sessions: workspaces synced" "$out"; exit 1
fi
mkbytes "$T/small" 70000
backend_aws s3 cp "$T/small" "s3://$BS/obj" >/dev/null || { t_fail "sessions: seed object" "backend put"; exit 1; }

# the short session: --ttl 20s, three fields printed
T0_SHORT=$(date +%s.%N)
CRED_TOKEN=""
s3gate_cred "$PS" short --ttl 20s >"$T/cred.out" 2>&1
out=$(s3gate_admin cred list "$PS" 2>&1)
if [ -n "$CRED_TOKEN" ] && [ "$(wc -w <"$T/profiles/short")" = 3 ]; then
	t_pass "cred create --ttl 20s prints ACCESS_KEY_ID SECRET TOKEN"
else
	t_fail "cred create --ttl 20s prints ACCESS_KEY_ID SECRET TOKEN" "$(cat "$T/cred.out" "$T/profiles/short")"
	exit 1
fi
SHORT_AKID=$CRED_AKID SHORT_SECRET=$CRED_SECRET SHORT_TOKEN=$CRED_TOKEN
no_secret_listed() {
	echo "$out"
	grep -q "$SHORT_AKID" <<<"$out" || { echo "the key is not listed"; return 1; }
	! grep -qF -e "$SHORT_SECRET" -e "$SHORT_TOKEN" <<<"$out"
}
t_check "cred list shows the session key, neither its secret nor its token" no_secret_listed
# the session the clients use: long enough for slow machines
s3gate_cred "$PS" sess --ttl 10m >/dev/null || { t_fail "cred create --ttl 10m" "failed"; exit 1; }
S_AKID=$CRED_AKID S_SECRET=$CRED_SECRET S_TOKEN=$CRED_TOKEN
profile_set short-notoken "$SHORT_AKID" "$SHORT_SECRET"
profile_set short-othertoken "$SHORT_AKID" "$SHORT_SECRET" "$S_TOKEN"
# the last character changed (to x, or to y when it is an x already)
BAD_LAST=x; [ "${SHORT_TOKEN: -1}" = x ] && BAD_LAST=y
profile_set short-badtoken "$SHORT_AKID" "$SHORT_SECRET" "${SHORT_TOKEN%?}$BAD_LAST"
URL=$(s3_url "$BS/obj")

t_check "short session: GET with x-amz-security-token works" until_ok short "$URL"
# a presigned link made now with the short session, fetched after its TTL
SHORT_LINK=$(boto3_py short 'print(s3.generate_presigned_url("get_object", Params={"Bucket": sys.argv[1], "Key": "obj"}, ExpiresIn=300))' "$BS" 2>/dev/null)

# refused: a 4xx S3 error with a code from WANT (space separated)
refused() {
	local prof=$1 want=$2 code c
	code=$(status "$prof" "$URL")
	c=$(s3code "$T/body")
	echo "HTTP $code $c: $(head -c 400 "$T/body" | tr -c '[:print:]' ' ')"
	case $code in 4??) ;; *) return 1 ;; esac
	for w in $want; do [ "$c" = "$w" ] && return 0; done
	return 1
}
t_check "the session key without its token gets InvalidToken" refused short-notoken InvalidToken
t_check "the session key with another session's token gets InvalidToken" refused short-othertoken InvalidToken
t_check "the session key with an altered token gets InvalidToken" refused short-badtoken InvalidToken
t_expect_fail_code "aws-cli without AWS_SESSION_TOKEN is refused (MissingSecurityHeader or InvalidToken)" \
	"MissingSecurityHeader\|InvalidToken" aws_as "$SHORT_AKID" "$SHORT_SECRET" "" "${AWSV2:-$AWSV1}" s3 ls "s3://$BS/"

# ---- the clients, with AWS_SESSION_TOKEN in the environment --------------------

client_roundtrip() {	# BIN PREFIX: ls, cp up, cp down, byte for byte
	local bin=$1 k=$2/small
	aws_env "$bin" s3 cp "$T/small" "s3://$BS/$k" || return 1
	aws_env "$bin" s3 ls "s3://$BS/$2/" | tee /dev/stderr | grep -q " 70000 small$" || return 1
	rm -f "$T/$2.back"
	aws_env "$bin" s3 cp "s3://$BS/$k" "$T/$2.back" || return 1
	same_file "$T/small" "$T/$2.back"
}
if [ -n "$AWSV1" ]; then
	t_check "aws-cli v1 with AWS_SESSION_TOKEN: cp up, ls, cp down" client_roundtrip "$AWSV1" v1
else
	t_skip "aws-cli v1 with AWS_SESSION_TOKEN" "aws-cli v1 not installed"
fi
if [ -n "$AWSV2" ]; then
	t_check "aws-cli v2 with AWS_SESSION_TOKEN: cp up, ls, cp down" client_roundtrip "$AWSV2" v2
else
	t_skip "aws-cli v2 with AWS_SESSION_TOKEN" "aws-cli v2 not installed"
fi
rclone_roundtrip() {
	rclone_env copyto "$T/small" "s3g:$BS/rclone/small" || return 1
	rclone_env ls "s3g:$BS/rclone" | tee /dev/stderr | grep -q "70000 small" || return 1
	rm -f "$T/rclone.back"
	rclone_env copyto "s3g:$BS/rclone/small" "$T/rclone.back" || return 1
	same_file "$T/small" "$T/rclone.back"
}
if command -v rclone >/dev/null; then
	t_check "rclone (env_auth) with AWS_SESSION_TOKEN: copy up, ls, copy down" rclone_roundtrip
else
	t_skip "rclone with AWS_SESSION_TOKEN" "rclone not installed"
fi

# ---- a presigned URL made by boto3 with the session token -----------------------

boto3_session_presign() {
	local url code
	url=$(boto3_py sess 'print(s3.generate_presigned_url("get_object", Params={"Bucket": sys.argv[1], "Key": "obj"}, ExpiresIn=300))' "$BS") || return 1
	echo "$url"
	case $url in *X-Amz-Security-Token=*) ;; *) echo "no X-Amz-Security-Token in the URL"; return 1 ;; esac
	code=$(curl -s -o "$T/presign.out" -w '%{http_code}' --max-time 30 "$url")
	echo "HTTP $code"
	[ "$code" = 200 ] && same_file "$T/small" "$T/presign.out" || return 1
	# the same link without its token: refused
	local bare
	bare=$(sed -E 's/[?&]X-Amz-Security-Token=[^&]*//' <<<"$url")
	case $bare in *\?*) ;; *) bare=${bare/&/?} ;; esac
	code=$(curl -s -o "$T/presign.out" -w '%{http_code}' --max-time 30 "$bare")
	echo "without the token: HTTP $code $(s3code "$T/presign.out")"
	case $code in 4??) ;; *) return 1 ;; esac
}
t_check "boto3 presigned URL with X-Amz-Security-Token works (and is refused without it)" boto3_session_presign
echo "# $(grep -h 'without the token' <<<"$T_OUT")"

# ---- cred delete in the middle of a session ---------------------------------------

# A boto3 client (keep-alive connection) lists every 50 ms; the key is
# deleted with s3gate-admin; the time from the end of `cred delete` to the
# first refusal is measured: at most a second.
cred_delete_midsession() {
	s3gate_cred "$PS" del --ttl 10m >/dev/null || return 1
	until_ok del "$URL" || return 1
	boto3_py del '
import subprocess, time
b, admin, conf, akid = sys.argv[1:5]
for i in range(5):
    s3.list_objects_v2(Bucket=b, MaxKeys=1)
    time.sleep(0.05)
r = subprocess.run([admin, "-c", conf, "cred", "delete", akid], capture_output=True, text=True)
print("cred delete:", r.returncode, r.stdout.strip(), r.stderr.strip())
assert r.returncode == 0
t0 = time.monotonic()
while time.monotonic() - t0 < 5:
    try:
        s3.list_objects_v2(Bucket=b, MaxKeys=1)
    except ClientError as e:
        ms = (time.monotonic() - t0) * 1000
        print("refused after %.0f ms: %s %s" % (ms, e.response["Error"]["Code"], e.response["ResponseMetadata"]["HTTPStatusCode"]))
        sys.exit(0 if ms <= 1000 else 1)
    time.sleep(0.05)
print("still served 5 s after cred delete")
sys.exit(1)
' "$BS" "$S3GATE_BIN/s3gate-admin" "$S3GATE_CONF" "$CRED_AKID"
}
t_check "cred delete mid-session: refused within a second" cred_delete_midsession
echo "# $(grep -h 'refused after' <<<"$T_OUT")"

# ---- after the TTL ------------------------------------------------------------------

now=$(date +%s.%N)
wait_s=$("$PY3" -c "print(max(0.0, $T0_SHORT + 21.5 - $now))")
sleep "$wait_s"
t_check "the short session after its 20 s TTL gets ExpiredToken" refused short ExpiredToken
t_expect_fail_code "aws-cli with the expired session in AWS_SESSION_TOKEN: ExpiredToken" ExpiredToken \
	aws_as "$SHORT_AKID" "$SHORT_SECRET" "$SHORT_TOKEN" "${AWSV2:-$AWSV1}" s3 ls "s3://$BS/"
link_expired() {
	local code
	[ -n "$SHORT_LINK" ] || { echo "boto3 made no link"; return 1; }
	code=$(curl -s -o "$T/presign.out" -w '%{http_code}' --max-time 30 "$SHORT_LINK")
	echo "HTTP $code $(s3code "$T/presign.out")"
	case $code in 4??) ;; *) return 1 ;; esac
	[ "$(s3code "$T/presign.out")" = ExpiredToken ]
}
t_check "a presigned link (300 s) made with the 20 s session gets ExpiredToken after the TTL" link_expired
s3gate_stop sess >"$T/stop.out" 2>&1 || t_fail "s3gate sess exits 0 on SIGTERM" "$(cat "$T/stop.out")"

# ==== quotas ===========================================================================

# ---- request rate ------------------------------------------------------------------

if s3gate_start rate "workers 1" "quota_request_rate 5"; then
	ADMIN_RATE=$S3GATE_ADMIN_URL
	ws_setup "$PR" "$BR" >/dev/null && s3gate_cred "$PR" rate >/dev/null &&
		backend_aws s3 cp "$T/small" "s3://$BR/obj" >/dev/null
	URL=$(s3_url "$BR/obj")
	until_ok rate "$URL" >/dev/null
	sleep 1.2	# the bucket refills
	burst() {
		local i out n200 n503 ra
		for ((i = 0; i < 30; i++)); do
			curl_sigv4 rate -o "$T/burst.$i" -D "$T/burst.$i.h" -w '%{http_code}\n' --max-time 10 "$URL"
		done >"$T/burst.codes"
		n200=$(grep -c '^200$' "$T/burst.codes"); n503=$(grep -c '^503$' "$T/burst.codes")
		echo "30 requests: $n200 x 200, $n503 x 503 ($(sort "$T/burst.codes" | uniq -c | tr '\n' ' '))"
		[ "$n200" -ge 5 ] || { echo "fewer than the 5/s allowance passed"; return 1; }
		[ "$n503" -ge 1 ] || return 1
		for ((i = 0; i < 30; i++)); do
			grep -q '^503' <(head -n 1 "$T/burst.$i.h" | cut -d' ' -f2) || continue
			c=$(s3code "$T/burst.$i")
			ra=$(tr -d '\r' <"$T/burst.$i.h" | sed -n 's/^[Rr]etry-[Aa]fter: *//p')
			[ "$c" = SlowDown ] || { echo "request $i: 503 with code '$c'"; return 1; }
			[[ $ra =~ ^[0-9]+$ ]] || { echo "request $i: 503 SlowDown without a Retry-After (got '$ra')"; return 1; }
		done
		echo "every 503 is SlowDown with Retry-After (e.g. $ra)"
	}
	thr0=$(metric "$ADMIN_RATE" s3gate_throttled_requests_total)
	t_check "quota_request_rate 5: a burst of 30 gets 503 SlowDown with Retry-After" burst
	echo "# $(head -n 1 <<<"$T_OUT")"
	thr1=$(metric "$ADMIN_RATE" s3gate_throttled_requests_total)
	t_check "/metrics: s3gate_throttled_requests_total grows with the burst ($thr0 -> $thr1)" \
		test "${thr1:-0}" -gt "${thr0:--1}"

	mkdir -p "$T/twenty"
	for i in $(seq -w 1 20); do mkbytes "$T/twenty/f$i" 3000; done
	recursive() {	# BIN PREFIX: 20 files up with retries, then all 20 at the backend and back
		local bin=$1 n t0
		t0=$SECONDS
		TEST_AWS_MAX_ATTEMPTS=10 "$bin" rate s3 cp --recursive "$T/twenty" "s3://$BR/$2/" || return 1
		n=$(backend_aws s3api list-objects-v2 --bucket "$BR" --prefix "$2/" --query 'length(Contents)' --output text)
		echo "$n objects at the backend after $((SECONDS - t0)) s"
		[ "$n" = 20 ] || return 1
		rm -rf "$T/twenty.back"
		TEST_AWS_MAX_ATTEMPTS=10 "$bin" rate s3 cp --recursive "s3://$BR/$2/" "$T/twenty.back" || return 1
		diff -r "$T/twenty" "$T/twenty.back"
	}
	for c in awsv1 awsv2; do
		v=${c#aws}
		if [ "$c" = awsv1 ] && [ -z "$AWSV1" ]; then t_skip "$v: recursive copy under quota_request_rate" "aws-cli v1 not installed"; continue; fi
		if [ "$c" = awsv2 ] && [ -z "$AWSV2" ]; then t_skip "$v: recursive copy under quota_request_rate" "aws-cli v2 not installed"; continue; fi
		thr0=$(metric "$ADMIN_RATE" s3gate_throttled_requests_total)
		t_check "$v: aws s3 cp --recursive of 20 files (and back) completes under quota_request_rate 5 with retries" recursive "$c" "$v"
		thr1=$(metric "$ADMIN_RATE" s3gate_throttled_requests_total)
		echo "# $v: $(head -n 1 <<<"$T_OUT"); $((thr1 - thr0)) requests throttled on the way"
		t_check "$v: the recursive copy was throttled on the way (retries exercised: $((thr1 - thr0)) SlowDown)" \
			test "$thr1" -gt "$thr0"
	done
	s3gate_stop rate >"$T/stop.out" 2>&1 || t_fail "s3gate rate exits 0 on SIGTERM" "$(cat "$T/stop.out")"
else
	t_fail "quota_request_rate: s3gate starts" "see $T/rate/s3gate.log"
fi

# ---- bandwidth ----------------------------------------------------------------------

BW_MIB=20
if s3gate_start bw "workers 1" "quota_bandwidth ${BW_MIB}M"; then
	ADMIN_BW=$S3GATE_ADMIN_URL
	mkfile "$T/big" 200
	ws_setup "$PB" "$BB" >/dev/null && s3gate_cred "$PB" bw >/dev/null &&
		backend_aws s3 cp "$T/big" "s3://$BB/big" >/dev/null &&
		backend_aws s3 cp "$T/small" "s3://$BB/obj" >/dev/null
	until_ok bw "$(s3_url "$BB/obj")" >/dev/null
	sleep 1
	within10() {	# DIRECTION BYTES_PER_S
		local mib
		mib=$("$PY3" -c "print('%.2f' % ($2 / 1048576))")
		echo "$1 measured $mib MiB/s (cap $BW_MIB MiB/s)"
		"$PY3" -c "import sys; sys.exit(0 if abs($2 / 1048576 - $BW_MIB) <= 0.1 * $BW_MIB else 1)"
	}
	bw_down() {
		local w0 out code speed
		w0=$(metric "$ADMIN_BW" s3gate_throttle_waits_total)
		out=$(curl_sigv4 bw -o "$T/big.back" -w '%{http_code} %{speed_download} %{time_total}' --max-time 60 \
			"$(s3_url "$BB/big")") || return 1
		read -r code speed _ <<<"$out"
		echo "HTTP $out"
		[ "$code" = 200 ] || return 1
		same_file "$T/big" "$T/big.back" || return 1
		BW_DOWN=$(within10 download "$speed"); local rc=$?
		echo "$BW_DOWN"
		BW_W1=$(metric "$ADMIN_BW" s3gate_throttle_waits_total)
		echo "throttle waits $w0 -> $BW_W1"
		return $rc
	}
	bw_up() {
		local out code speed
		out=$(curl_sigv4 bw -o "$T/up.out" -w '%{http_code} %{speed_upload} %{time_total}' --max-time 60 \
			-T "$T/big" "$(s3_url "$BB/up")") || return 1
		read -r code speed _ <<<"$out"
		echo "HTTP $out"
		[ "$code" = 200 ] || { cat "$T/up.out"; return 1; }
		within10 upload "$speed"
	}
	t_check "quota_bandwidth ${BW_MIB}M: a 200 MiB download measures within 10% of $BW_MIB MiB/s" bw_down
	echo "# $(grep -h 'measured' <<<"$T_OUT")"
	w0=$(metric "$ADMIN_BW" s3gate_throttle_waits_total)
	t_check "quota_bandwidth ${BW_MIB}M: a 200 MiB upload measures within 10% of $BW_MIB MiB/s" bw_up
	echo "# $(grep -h 'measured' <<<"$T_OUT")"
	w1=$(metric "$ADMIN_BW" s3gate_throttle_waits_total)
	t_check "/metrics: s3gate_throttle_waits_total grows with shaped transfers (${w0:-?} -> ${w1:-?})" \
		test "${w0:-0}" -gt 0 -a "${w1:-0}" -gt "${w0:-0}"
	backend_aws s3 rm --recursive "s3://$BB/" >/dev/null 2>&1
	rm -f "$T/big" "$T/big.back"
	s3gate_stop bw >"$T/stop.out" 2>&1 || t_fail "s3gate bw exits 0 on SIGTERM" "$(cat "$T/stop.out")"
else
	t_fail "quota_bandwidth: s3gate starts" "see $T/bw/s3gate.log"
fi

# ---- bandwidth with workers 2: the workers share one budget (quotashm.h) ------------------
# One download gets the principal's whole bandwidth whichever worker serves it
# (it got 1/2 when each worker kept its own share); two at once share it.

if s3gate_start bw2 "workers 2" "quota_bandwidth ${BW_MIB}M"; then
	mkfile "$T/b100" 100
	ws_setup "$PB" "$BB" >/dev/null && s3gate_cred "$PB" bw2 >/dev/null &&
		backend_aws s3 cp "$T/b100" "s3://$BB/big" >/dev/null &&
		backend_aws s3 cp "$T/small" "s3://$BB/obj" >/dev/null
	until_ok bw2 "$(s3_url "$BB/obj")" >/dev/null
	sleep 2.2	# both one-second windows of the shared counts pass
	w2_one() {
		local out code speed
		out=$(curl_sigv4 bw2 -o "$T/b100.back" -w '%{http_code} %{speed_download}' --max-time 60 \
			"$(s3_url "$BB/big")") || return 1
		read -r code speed <<<"$out"
		echo "HTTP $code"
		[ "$code" = 200 ] && same_file "$T/b100" "$T/b100.back" || return 1
		within10 "workers 2, one download:" "$speed"
	}
	t_check "workers 2, quota_bandwidth ${BW_MIB}M: one 100 MiB download measures within 10% of $BW_MIB MiB/s" w2_one
	echo "# $(grep -h 'measured' <<<"$T_OUT")"
	sleep 2.2
	t_check "workers 2, quota_bandwidth ${BW_MIB}M: two 100 MiB downloads at once aggregate within 15% of $BW_MIB MiB/s" \
		two_at_once "workers 2, two downloads at once" bw2 "$(s3_url "$BB/big")" "$(s3_url "$BB/big")" "$T/b100" "$BW_MIB"
	echo "# $(grep -h 'aggregate' <<<"$T_OUT")"
	backend_aws s3 rm --recursive "s3://$BB/" >/dev/null 2>&1
	rm -f "$T/b100" "$T/b100.back" "$T/b100.a" "$T/b100.b"
	s3gate_stop bw2 >"$T/stop.out" 2>&1 || t_fail "s3gate bw2 exits 0 on SIGTERM" "$(cat "$T/stop.out")"
else
	t_fail "workers 2, quota_bandwidth: s3gate starts" "see $T/bw2/s3gate.log"
fi

# ---- concurrency ----------------------------------------------------------------------

# quota_connections with W workers: the limit holds across them (quotashm.h)
conc_block() {
	local W=$1
	if s3gate_start "conn$W" "workers $W" "quota_connections 2"; then
		ADMIN_CONN=$S3GATE_ADMIN_URL
		mkfile "$T/mid" 32
		ws_setup "$PC" "$BC" >/dev/null && ws_setup "$PO" "$BO" >/dev/null &&
			s3gate_cred "$PC" "conn$W" >/dev/null && s3gate_cred "$PO" "other$W" >/dev/null &&
			backend_aws s3 cp "$T/mid" "s3://$BC/mid" >/dev/null &&
			backend_aws s3 cp "$T/small" "s3://$BC/obj" >/dev/null &&
			backend_aws s3 cp "$T/small" "s3://$BO/obj" >/dev/null
		until_ok "conn$W" "$(s3_url "$BC/obj")" >/dev/null
		until_ok "other$W" "$(s3_url "$BO/obj")" >/dev/null
		thr_start=$(metric "$ADMIN_CONN" s3gate_throttled_requests_total)
		# two_downloads: two slow downloads of the principal at once, pids in SLOW
		two_downloads() {
			local i
			SLOW=()
			for i in 1 2; do
				slow_get "conn$W" "$(s3_url "$BC/mid")"
				SLOW+=($!)
			done
			sleep 1.5
		}
		two_downloads
		lib_on_exit 'for p in "${SLOW[@]}"; do kill "$p" 2>/dev/null; done'
		thr0=$(metric "$ADMIN_CONN" s3gate_throttled_requests_total)
		# with several workers the limit is the principal's across them, not each worker's share
		t_check "workers $W, quota_connections 2: two concurrent downloads both admitted (throttled $thr_start -> $thr0)" \
			test "${thr0:-x}" = "${thr_start:-y}"
		third() {
			local code
			code=$(status "conn$W" "$(s3_url "$BC/obj")" -D "$T/third.h")
			echo "third request: HTTP $code $(s3code "$T/body"); $(tr -d '\r' <"$T/third.h" | grep -i '^retry-after')"
			[ "$code" = 503 ] && [ "$(s3code "$T/body")" = SlowDown ] && grep -qi '^retry-after:' "$T/third.h"
		}
		t_check "workers $W, quota_connections 2: a third concurrent request gets 503 SlowDown with Retry-After" third
		thr1=$(metric "$ADMIN_CONN" s3gate_throttled_requests_total)
		t_check "workers $W, /metrics: s3gate_throttled_requests_total counts it ($thr0 -> $thr1)" test "${thr1:-0}" -gt "${thr0:--1}"
		t_check "workers $W, quota_connections is per principal: another principal is served meanwhile" \
			test "$(status "other$W" "$(s3_url "$BO/obj")")" = 200
		for p in "${SLOW[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
		SLOW=()
		# admitted_again WHAT: the principal is admitted again within 3 s of WHAT
		admitted_again() {
			local i code
			for ((i = 0; i < 30; i++)); do
				code=$(status "conn$W" "$(s3_url "$BC/obj")")
				[ "$code" = 200 ] && { echo "admitted after $((i * 100)) ms"; return 0; }
				sleep 0.1
			done
			echo "still HTTP $code $(s3code "$T/body") 3 s after $1"
			return 1
		}
		t_check "workers $W, quota_connections: slots are given back when clients go away" \
			admitted_again "the two downloads were cut off"
		if [ "$W" -gt 1 ]; then
			# A worker of the previous generation, draining after a reload, that
			# dies with downloads in flight: what it held is forgotten, as for
			# a worker of the current one (main.c, slot_release).
			drainer_killed() {
				local old p code
				two_downloads
				code=$(status "conn$W" "$(s3_url "$BC/obj")")
				echo "with two downloads in flight: HTTP $code"
				[ "$code" = 503 ] || return 1
				old=$(pgrep -P "$S3GATE_PID" | tr '\n' ' ')
				n0=$(grep -c 'the old ones drain' "$S3GATE_LOG")
				kill -HUP "$S3GATE_PID"
				# the old workers drain once the new ones are ready (polled: ASan workers start slowly)
				drains() { [ "$(grep -c 'the old ones drain' "$S3GATE_LOG")" -gt "$n0" ]; }
				wait_for 20 drains || { echo "the reload's new workers never said ready"; return 1; }
				for p in $old; do kill -KILL "$p" 2>/dev/null; done
				echo "killed the draining workers $old"
				for p in "${SLOW[@]}"; do wait "$p" 2>/dev/null; done
				SLOW=()
				admitted_again "the draining workers died"
			}
			t_check "workers $W, quota_connections: a draining worker killed with downloads in flight gives its slots back" drainer_killed

			# A burst of reloads: the second comes while the first's old
			# workers still drain downloads, so every stats slot (two per
			# worker) is held and a new worker shares a drainer's (main.c,
			# slots_pick).  s3gate keeps serving, the drainers' downloads
			# still count against the principal, and every count comes
			# back once they end.
			burst_reloads() {
				local i code conns
				backend_aws s3 cp "$T/mid" "s3://$BO/mid" >/dev/null 2>&1 || { echo "upload to $BO failed"; return 1; }
				two_downloads
				n0=$(grep -c 'the old ones drain' "$S3GATE_LOG")
				kill -HUP "$S3GATE_PID"
				drains() { [ "$(grep -c 'the old ones drain' "$S3GATE_LOG")" -gt "$n0" ]; }
				wait_for 20 drains || { echo "the first reload's new workers never said ready"; return 1; }
				slow_get "other$W" "$(s3_url "$BO/mid")"
				SLOW+=($!)
				sleep 1
				n0=$(grep -c 'the old ones drain' "$S3GATE_LOG")
				kill -HUP "$S3GATE_PID"
				wait_for 20 drains || { echo "the second reload's new workers never said ready"; return 1; }
				grep -h 'shares stats slot' "$S3GATE_LOG" || { echo "no new worker had to share a slot"; return 1; }
				code=$(status "other$W" "$(s3_url "$BO/obj")")
				echo "another principal through the newest workers: HTTP $code"
				[ "$code" = 200 ] || return 1
				code=$(status "conn$W" "$(s3_url "$BC/obj")")
				echo "the principal, its two downloads still in the oldest workers: HTTP $code $(s3code "$T/body")"
				[ "$code" = 503 ] || return 1
				for p in "${SLOW[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
				SLOW=()
				admitted_again "the downloads through the draining workers ended" || return 1
				for ((i = 0; i < 30; i++)); do
					conns=$(metric "$ADMIN_CONN" s3gate_connections)
					[ "$conns" = 0 ] && break
					sleep 0.1
				done
				echo "s3gate_connections once every client is gone: $conns"
				[ "$conns" = 0 ]
			}
			t_check "workers $W, a burst of reloads (new workers share drainers' stats slots): still serving, limits and counts intact" burst_reloads
			grep -h 'shares stats slot\|HTTP\|s3gate_connections' <<<"$T_OUT" | sed 's/^/# /'
		fi
		s3gate_stop "conn$W" >"$T/stop.out" 2>&1 || t_fail "s3gate conn$W exits 0 on SIGTERM" "$(cat "$T/stop.out")"
	else
		t_fail "workers $W, quota_connections: s3gate starts" "see $T/conn$W/s3gate.log"
	fi
}
conc_block 1
conc_block 2

# ---- shared through Redis ------------------------------------------------------------
# Two s3gate processes on one Redis (quota_shared on, the default with
# policy_store redis): one principal's request rate and bandwidth are one
# budget, not one per process.  Principals qrate*, qbw*.

PQ=qrate$ID PW=qbw$ID BQ=ws-qrate$ID BW=ws-qbw$ID
shared_quotas() {
	local qa qb admin_a admin_b ep_a ep_b conf_a
	if [ -z "${REDIS_URL:-}" ]; then
		t_skip "two s3gate processes on one Redis share one principal's quota" "no Redis (REDIS_URL)"
		return 0
	fi
	(umask 077 && openssl rand -hex 32 >"$T/quota.key")
	qa=("workers 1" "quota_request_rate 10" "quota_bandwidth 20M"
		"policy_store redis $REDIS_URL" "policy_secret_key $T/quota.key")
	s3gate_start qa "${qa[@]}" || { t_fail "quota_shared: s3gate qa starts on Redis" "see $T/qa/s3gate.log"; return 1; }
	ep_a=$S3GATE_ENDPOINT admin_a=$S3GATE_ADMIN_URL conf_a=$S3GATE_CONF
	mkfile "$T/q100" 100
	{ ws_setup "$PQ" "$BQ" && ws_setup "$PW" "$BW" &&
		s3gate_cred "$PQ" qrate && s3gate_cred "$PW" qbw &&
		backend_aws s3 cp "$T/small" "s3://$BQ/obj" &&
		backend_aws s3 cp "$T/q100" "s3://$BW/big"; } >"$T/qa-setup.out" 2>&1 ||
		{ t_fail "quota_shared: workspaces and credentials in Redis" "$(tail -n 8 "$T/qa-setup.out")"; return 1; }
	s3gate_start qb "${qa[@]}" || { t_fail "quota_shared: s3gate qb starts on the same Redis" "see $T/qb/s3gate.log"; return 1; }
	ep_b=$S3GATE_ENDPOINT admin_b=$S3GATE_ADMIN_URL
	S3GATE_CONF=$conf_a
	S3_ENDPOINT=$ep_a until_ok qrate "$(S3_ENDPOINT=$ep_a s3_url "$BQ/obj")" >/dev/null
	S3_ENDPOINT=$ep_b until_ok qrate "$(S3_ENDPOINT=$ep_b s3_url "$BQ/obj")" >/dev/null
	sleep 2.2	# both windows of the shared counters pass

	synced() {	# both processes exchange batches with Redis
		local a b
		a=$(metric "$admin_a" s3gate_quota_syncs_total) b=$(metric "$admin_b" s3gate_quota_syncs_total)
		echo "quota syncs: a ${a:-none}, b ${b:-none}; failures a $(metric "$admin_a" \
			s3gate_quota_sync_failures_total), b $(metric "$admin_b" s3gate_quota_sync_failures_total)"
		[ "${a:-0}" -gt 0 ] && [ "${b:-0}" -gt 0 ]
	}
	t_check "quota_shared: /metrics counts quota syncs on both processes" synced

	shared_rate() {	# 60 requests over ~2 s, alternately through a and b
		local n t0 t1
		t0=$(date +%s%3N)
		n=$(alternate60 qrate "$ep_a" "$ep_b" "$BQ/obj")
		t1=$(date +%s%3N)
		# one shared bucket admits at most its burst (10) + 10/s over the run;
		# two independent ones would admit nearly all 60
		local max=$((10 + 10 * (t1 - t0) / 1000 + 2))
		echo "shared rate: $n of 60 succeeded in $((t1 - t0)) ms through two processes (10/s shared: at most $max; two independent processes: ~60)"
		[ "$n" -ge 15 ] && [ "$n" -le "$max" ]
	}
	t_check "quota_shared: quota_request_rate 10 over two processes: 60 requests in ~2 s get ~20-25 through" shared_rate
	echo "# $(grep -h 'shared rate' <<<"$T_OUT")"

	# two 100 MiB downloads at once, one through each process
	t_check "quota_shared: quota_bandwidth 20M over two processes: two 100 MiB downloads aggregate within 15% of 20 MiB/s" \
		two_at_once "shared bandwidth" qbw "$ep_a/$BW/big" "$ep_b/$BW/big" "$T/q100" 20
	echo "# $(grep -h 'shared bandwidth' <<<"$T_OUT")"
	rm -f "$T/q100" "$T/q100.a" "$T/q100.b"
	backend_aws s3 rm --recursive "s3://$BQ/" >/dev/null 2>&1
	backend_aws s3 rm --recursive "s3://$BW/" >/dev/null 2>&1
	s3gate_stop qb >"$T/stop.out" 2>&1 || t_fail "s3gate qb exits 0 on SIGTERM" "$(cat "$T/stop.out")"
	s3gate_stop qa >"$T/stop.out" 2>&1 || t_fail "s3gate qa exits 0 on SIGTERM" "$(cat "$T/stop.out")"
}
shared_quotas

# ---- per-principal overrides in the policy store -------------------------------------
# spec.quotas on the principal's Storage resource, or s3gate-admin quota set:
# each field replaces the config's default for that principal only.

PV=ovr$ID PD=dflt$ID PX=ovx$ID BV=ws-ovr$ID BD=ws-dflt$ID BX=ws-ovx$ID
OV_MIB=10 DF_MIB=20
# within PCT WHAT BYTES_PER_S CAP_MIB — the rate measured within PCT% of CAP_MIB MiB/s
within() {
	local mib
	mib=$("$PY3" -c "print('%.2f' % ($3 / 1048576))")
	echo "$2 measured $mib MiB/s (cap $4 MiB/s)"
	"$PY3" -c "import sys; sys.exit(0 if abs($3 / 1048576 - $4) <= $1 / 100 * $4 else 1)"
}
# get_big PROFILE BUCKET TAG — downloads BUCKET/big; "HTTP_CODE SPEED" into $T/TAG.w
get_big() {
	curl_sigv4 "$1" -o "$T/$3.out" -w '%{http_code} %{speed_download}' --max-time 60 \
		"$(s3_url "$2/big")" >"$T/$3.w" 2>"$T/$3.err"
}
# measured TAG PCT WHAT CAP_MIB — a download of get_big: 200, the whole object, the rate
measured() {
	local code speed
	read -r code speed <"$T/$1.w"
	echo "HTTP $code $(cat "$T/$1.err")"
	[ "$code" = 200 ] && same_file "$T/o100" "$T/$1.out" || return 1
	within "$2" "$3" "$speed" "$4"
}

overrides_file() {
	s3gate_start ovr "workers 1" "quota_bandwidth ${DF_MIB}M" ||
		{ t_fail "overrides: s3gate starts" "see $T/ovr/s3gate.log"; return 1; }
	mkfile "$T/o100" 100
	ovr_setup() {
		ws_setup "$PV" "$BV" >/dev/null || return 1
		# spec.quotas on PV's own resource; the next ws_setup syncs the whole set
		sed -i "s/^  principal: $PV\$/&\n  quotas:\n    bandwidth: ${OV_MIB}Mi/" \
			"$S3GATE_DIR/storage.d/ws-$PV.yaml"
		grep -A2 '^  quotas:' "$S3GATE_DIR/storage.d/ws-$PV.yaml" || { echo "no spec.quotas written"; return 1; }
		ws_setup "$PD" "$BD" >"$T/ovr-sync.out" 2>&1 || { cat "$T/ovr-sync.out"; return 1; }
		grep "quota" "$T/ovr-sync.out"
		grep -qx "+ quota $PV" "$T/ovr-sync.out" || { echo "sync did not report + quota $PV"; return 1; }
		{ s3gate_cred "$PV" ovr && s3gate_cred "$PD" dflt &&
			backend_aws s3 cp "$T/o100" "s3://$BV/big" && backend_aws s3 cp "$T/o100" "s3://$BD/big" &&
			backend_aws s3 cp "$T/small" "s3://$BV/obj" && backend_aws s3 cp "$T/small" "s3://$BD/obj"; } >/dev/null
	}
	t_check "overrides: spec.quotas {bandwidth: ${OV_MIB}Mi} on a Storage resource: sync reports + quota" ovr_setup ||
		return 1
	until_ok ovr "$(s3_url "$BV/obj")" >/dev/null
	until_ok dflt "$(s3_url "$BD/obj")" >/dev/null
	sleep 1
	# both at once: the override is the principal's own, the other keeps the default
	get_big ovr "$BV" ov & local pv=$!
	get_big dflt "$BD" df & local pd=$!
	wait "$pv"; wait "$pd"
	t_check "overrides: $PV (spec.quotas bandwidth ${OV_MIB}Mi, default ${DF_MIB}M): a 100 MiB download within 10% of $OV_MIB MiB/s" \
		measured ov 10 "$PV download" "$OV_MIB"
	echo "# $(grep -h 'measured' <<<"$T_OUT")"
	t_check "overrides: $PD (no override) meanwhile: a 100 MiB download within 10% of the default $DF_MIB MiB/s" \
		measured df 10 "$PD download" "$DF_MIB"
	echo "# $(grep -h 'measured' <<<"$T_OUT")"

	# connections: set with s3gate-admin on the file store (reloaded within a second)
	ovr_conn_set() {
		s3gate_admin quota set "$PV" --connections 1 || return 1
		s3gate_admin quota show "$PV" | tee /dev/stderr |
			grep -q "bandwidth 10485760 (override), connections 1 (override)"
	}
	t_check "overrides: s3gate-admin quota set $PV --connections 1 (show: bandwidth and connections overridden)" ovr_conn_set
	sleep 1
	SLOW=()
	slow_get ovr "$(s3_url "$BV/big")"
	SLOW+=($!)
	lib_on_exit 'for p in "${SLOW[@]}"; do kill "$p" 2>/dev/null; done'
	sleep 1.5
	ovr_second() {
		local code
		code=$(status ovr "$(s3_url "$BV/obj")" -D "$T/ovr2.h")
		echo "second request of $PV: HTTP $code $(s3code "$T/body")"
		[ "$code" = 503 ] && [ "$(s3code "$T/body")" = SlowDown ]
	}
	t_check "overrides: connections 1: $PV's second concurrent request gets 503 SlowDown" ovr_second
	dflt_two() {
		local code pd2
		slow_get dflt "$(s3_url "$BD/big")"; pd2=$!
		sleep 1
		code=$(status dflt "$(s3_url "$BD/obj")")
		kill "$pd2" 2>/dev/null; wait "$pd2" 2>/dev/null
		echo "$PD (default: no connection limit), second concurrent request: HTTP $code"
		[ "$code" = 200 ]
	}
	t_check "overrides: $PD keeps the default (no connection limit): a second concurrent request is served" dflt_two
	for p in "${SLOW[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
	SLOW=()
	backend_aws s3 rm --recursive "s3://$BV/" >/dev/null 2>&1
	backend_aws s3 rm --recursive "s3://$BD/" >/dev/null 2>&1
	rm -f "$T/ov.out" "$T/df.out"
	s3gate_stop ovr >"$T/stop.out" 2>&1 || t_fail "s3gate ovr exits 0 on SIGTERM" "$(cat "$T/stop.out")"
}
overrides_file

# On Redis (its own database: a sync is a full reconcile): an override set,
# changed and cleared with s3gate-admin while the proxies run.  First one
# s3gate with quota_shared off, so that the bandwidth is measured against
# the figure itself (a lone instance in shared mode runs about 10% under
# its budget: what is left is known one sync late); then two with
# quota_shared on, whose shared budget must be the override.
overrides_redis() {
	local rurl=${REDIS_URL%/*}/6 ep_a ep_b
	if [ -z "${REDIS_URL:-}" ]; then
		t_skip "overrides on Redis: changed with s3gate-admin, applied within a second" "no Redis (REDIS_URL)"
		return 0
	fi
	[ -f "$T/o100" ] || mkfile "$T/o100" 100
	(umask 077 && openssl rand -hex 32 >"$T/ovr.key")
	s3gate_start ovx "workers 1" "quota_bandwidth ${DF_MIB}M" "quota_shared off" "policy_store redis $rurl" \
		"policy_secret_key $T/ovr.key" || { t_fail "overrides: s3gate starts on Redis" "see $T/ovx/s3gate.log"; return 1; }
	{ ws_setup "$PX" "$BX" && s3gate_cred "$PX" ovx && backend_aws s3 cp "$T/o100" "s3://$BX/big" &&
		backend_aws s3 cp "$T/small" "s3://$BX/obj"; } >"$T/ovx-setup.out" 2>&1 ||
		{ t_fail "overrides: workspace and credential in Redis" "$(tail -n 8 "$T/ovx-setup.out")"; return 1; }
	until_ok ovx "$(s3_url "$BX/obj")" >/dev/null
	# a request every 50 ms; the time from the end of quota set to the first
	# SlowDown (counted to when that request was sent: the proxy's decision
	# came after, however long a loaded machine took to carry the request)
	rate_applied() {
		local i code t0 t1 n200=0
		for ((i = 0; i < 10; i++)); do
			[ "$(status ovx "$(s3_url "$BX/obj")")" = 200 ] && n200=$((n200 + 1))
		done
		echo "before: $n200 of 10 quick requests served (no rate limit by default)"
		[ "$n200" = 10 ] || return 1
		s3gate_admin quota set "$PX" --rate 1 || return 1
		t0=$(date +%s%3N)
		while :; do
			t1=$(date +%s%3N)
			code=$(status ovx "$(s3_url "$BX/obj")")
			if [ "$code" = 503 ] && [ "$(s3code "$T/body")" = SlowDown ]; then
				echo "rate override applied: first SlowDown to a request sent $((t1 - t0)) ms after quota set returned"
				[ $((t1 - t0)) -le 1000 ]
				return
			fi
			[ $((t1 - t0)) -gt 5000 ] && { echo "no SlowDown 5 s after quota set --rate 1 (last HTTP $code)"; return 1; }
			sleep 0.05
		done
	}
	t_check "overrides on Redis: quota set --rate 1 applies within a second, no restart" rate_applied
	echo "# $(grep -h 'applied' <<<"$T_OUT")"
	ovx_bw() {	# CAP_MIB
		sleep 1
		get_big ovx "$BX" ox
		measured ox 10 "$PX download" "$1"
	}
	s3gate_admin quota set "$PX" --rate default --bandwidth "${OV_MIB}M" >/dev/null
	t_check "overrides on Redis: quota set --bandwidth ${OV_MIB}M: a 100 MiB download within 10% of $OV_MIB MiB/s" \
		ovx_bw "$OV_MIB"
	echo "# $(grep -h 'measured' <<<"$T_OUT")"
	s3gate_admin quota clear "$PX" >/dev/null
	t_check "overrides on Redis: quota clear: back to the default, a 100 MiB download within 10% of $DF_MIB MiB/s" \
		ovx_bw "$DF_MIB"
	echo "# $(grep -h 'measured' <<<"$T_OUT")"
	s3gate_stop ovx >"$T/stop.out" 2>&1 || t_fail "s3gate ovx exits 0 on SIGTERM" "$(cat "$T/stop.out")"

	# quota_shared: no default rate; the override (10/s) is the budget two processes share
	s3gate_start ovsa "workers 1" "policy_store redis $rurl" "policy_secret_key $T/ovr.key" &&
		ep_a=$S3GATE_ENDPOINT &&
		s3gate_start ovsb "workers 1" "policy_store redis $rurl" "policy_secret_key $T/ovr.key" &&
		ep_b=$S3GATE_ENDPOINT ||
		{ t_fail "overrides: two s3gate with quota_shared start on Redis" "see $T/ovsa, $T/ovsb"; return 1; }
	S3_ENDPOINT=$ep_a until_ok ovx "$(S3_ENDPOINT=$ep_a s3_url "$BX/obj")" >/dev/null
	S3_ENDPOINT=$ep_b until_ok ovx "$(S3_ENDPOINT=$ep_b s3_url "$BX/obj")" >/dev/null
	shared_override() {
		local t0 t1 n max
		s3gate_admin quota set "$PX" --rate 10 >/dev/null || return 1
		sleep 2.2	# the shared counters' two windows pass
		t0=$(date +%s%3N)
		n=$(alternate60 ovx "$ep_a" "$ep_b" "$BX/obj")
		t1=$(date +%s%3N)
		max=$((10 + 10 * (t1 - t0) / 1000 + 2))
		echo "override rate 10, shared: $n of 60 served in $((t1 - t0)) ms through two processes (at most $max; per process it would be ~60)"
		[ "$n" -ge 15 ] && [ "$n" -le "$max" ] || return 1
		s3gate_admin quota clear "$PX" >/dev/null || return 1
		sleep 1
		n=$(alternate60 ovx "$ep_a" "$ep_b" "$BX/obj")
		echo "override cleared (no default rate): $n of 60 served"
		[ "$n" -ge 58 ]
	}
	t_check "overrides on Redis, quota_shared: the principal's override (rate 10) is the budget two processes share" \
		shared_override
	echo "# $(head -n 1 <<<"$T_OUT")"
	backend_aws s3 rm --recursive "s3://$BX/" >/dev/null 2>&1
	s3gate_stop ovsb >"$T/stop.out" 2>&1 || t_fail "s3gate ovsb exits 0 on SIGTERM" "$(cat "$T/stop.out")"
	s3gate_stop ovsa >"$T/stop.out" 2>&1 || t_fail "s3gate ovsa exits 0 on SIGTERM" "$(cat "$T/stop.out")"
}
overrides_redis
rm -f "$T/o100" "$T/ox.out"

for b in "$BS" "$BR" "$BB" "$BC" "$BO"; do backend_aws s3 rm --recursive "s3://$b/" >/dev/null 2>&1; done
exit 0
