# tests/integ/helpers/rawreq.sh — hand-made requests to s3gate through
# rawhttp.py, for the files that attack it (t_bypass, t_bypass3, t_bypass4).  Sourced
# after lib.sh; the caller sets RAW_AKID, RAW_SECRET, RAW_REGION (whose key
# {SIG} signs with) and SECRET_TEXT (what no answer may carry).

RAW="$PY3 $LIB_DIR/helpers/rawhttp.py"

# raw TEMPLATE [rawhttp send options] — sets R_STATUS R_CLOSED; the response is in $T/resp
raw() {
	local t=$1; shift
	read -r R_STATUS R_CLOSED _ _ < <($RAW send "$S3GATE_PORT" "$t" --out "$T/resp" "$@" 2>"$T/raw.err" ||
		echo "000 0 0 0")
	[ -n "${R_STATUS:-}" ] || R_STATUS=000
}
# resp_statuses — the status of every answer in $T/resp, space-separated ("200 403 ")
resp_statuses() { grep -ao 'HTTP/1\.[01] [0-9]*' "$T/resp" | awk '{print $2}' | tr '\n' ' '; }
resp_code() { grep -ao '<Code>[^<]*' "$T/resp" | head -n 1 | sed 's/<Code>//'; }
resp_msg() { grep -ao '<Code>[^<]*</Code><Message>[^<]*' "$T/resp" | head -c 240 | sed 's/<[^>]*>/ /g'; }
# signed METHOD TARGET [HEADER-LINES] [BODY] — a signed request, Connection: close
# (HEADER-LINES and BODY in rawhttp's escapes: \r\n)
signed() {
	local body=${4:-}
	raw "$1 $2 HTTP/1.1\r\nHost: 127.0.0.1\r\n${3:-}{SIG}Content-Length: $(printf '%b' "$body" | wc -c)\r\nConnection: close\r\n\r\n$body"
}
# sig_lines METHOD PATH — SigV4 header lines for a request of RAW_AKID's (Host
# 127.0.0.1, UNSIGNED-PAYLOAD), in rawhttp's escapes: for a pipelined second
# request, or to tamper with
sig_lines() {
	$PY3 -c 'import os, sys
sys.path.insert(0, sys.argv[1])
import rawhttp
print(rawhttp.sigv4_headers(sys.argv[2], sys.argv[3], "127.0.0.1", os.environ["RAW_AKID"],
    os.environ["RAW_SECRET"], os.environ["RAW_REGION"], "UNSIGNED-PAYLOAD").replace("\r\n", "\\r\\n"))' \
		"$LIB_DIR/helpers" "$1" "$2"
}
deaths() { grep -c 'exited (status' "$S3GATE_LOG"; }
# expect NAME STATUS CODE — the last answer was STATUS with S3 error CODE ("" for none)
expect() {
	local code
	code=$(resp_code)
	if [ "$R_STATUS" = "$2" ] && [ "$code" = "$3" ] && ! grep -qF "$SECRET_TEXT" "$T/resp"; then
		t_pass "$1: $R_STATUS${3:+ $3}"
	else
		t_fail "$1" "status $R_STATUS code '$code', want $2 '$3'; $(resp_msg)"
	fi
}
