#!/bin/bash
# Operating s3gate (issue 6): `s3gate -t` on good and broken files; SIGHUP
# reloads (during a 200 MiB download, a new access_log path and log level;
# a broken file keeps the running config and says why); SIGUSR1 reopens the
# access log; SIGTERM drains an in-flight download and exits 0 (and is
# bounded by shutdown_timeout); /healthz, /readyz (503 with the backend
# unreachable), /metrics (Prometheus text; splice vs copy bytes); the JSON
# access log's fields and no secret in any log; `workers 2`; `user nobody`.
# Principals (unique per run): ops*, wk*, nob*.
. "$(dirname "$0")/lib.sh"

ID=$(rand_id)
PO=ops$ID PW=wk$ID PN=nob$ID
BO=ws-$PO BW=ws-$PW BN=ws-$PN

need_s3gate "operations" "tests s3gate itself"
S3GATE=$S3GATE_BIN/s3gate

# ---- helpers ---------------------------------------------------------------------

# status PROFILE URL [CURL_ARGS...] — HTTP status of a signed GET; body in $T/body
status() {
	local p=$1 u=$2; shift 2
	curl_sigv4 "$p" -o "$T/body" -w '%{http_code}' --max-time 60 "$@" "$u" 2>/dev/null
}
# bg_get PROFILE URL OUT RATE — a signed GET in the background, read at
# RATE; the status goes to OUT.code; $! is curl itself (exec'd), and
# `wait $!` gives curl's exit status
bg_get() {
	(
		_prof "$1" || exit 2
		exec curl -sS -o "$3" -w '%{http_code}' --limit-rate "$4" --max-time 120 \
			--aws-sigv4 "aws:amz:$S3_REGION:s3" --user "$P_AKID:$P_SECRET" \
			-H "x-amz-content-sha256: UNSIGNED-PAYLOAD" "$2" >"$3.code" 2>"$3.err"
	) &
}
# alive PID — running and not a zombie
alive() {
	local s
	s=$(sed -E 's/^[0-9]+ \(.*\) (.).*/\1/' "/proc/$1/stat" 2>/dev/null) || return 1
	[ "$s" != Z ]
}
# t_check_here NAME FUNC ARGS... — t_check, but FUNC runs in this shell (not
# in $(...)), so that it can `wait` for the s3gate this shell started
t_check_here() {
	local name=$1 rc; shift
	"$@" >"$T/here.out" 2>&1; rc=$?
	t_check "$name" sh -c 'cat "$1"; exit "$2"' sh "$T/here.out" "$rc"
}
# log_since LOG LINE — the lines of LOG after line number LINE
log_since() { tail -n +"$(($2 + 1))" "$1"; }
# reload_said N0 [LOG] — the log (default $OPS_LOG), past line N0, says how
# a SIGHUP ended (reloaded, or reload failed): wait_for it rather than guess
# how long a reload (new workers' start, under ASan) takes
reload_said() { log_since "${2:-$OPS_LOG}" "$1" | grep -q -E 'reloaded|reload failed'; }
lines() { wc -l <"$1" 2>/dev/null || echo 0; }

# ==== s3gate -t ========================================================================

# One file, four mistakes on known lines.  Each must be reported as
# "FILE:LINE: what is wrong; what to do", and the exit status is not 0.
mkdir -p "$T/check"
printf 'x\n' >"$T/check/loose.secret"; chmod 644 "$T/check/loose.secret"
mkdir -p "$T/check/policy"
BAD=$T/check/bad.conf
cat >"$BAD" <<EOF
# a configuration with four mistakes (lines 3, 5, 7, 8)
listen 127.0.0.1:$(free_port)
listen 127.0.0.1:$(free_port) tls
backend $RGW_ENDPOINT
backend_credentials $RGW_ACCESS_KEY $T/check/loose.secret
policy_store file $T/check/policy
no_such_directive on
max_headers lots
EOF
"$S3GATE" -t -c "$BAD" >"$T/check/bad.out" 2>&1
BAD_RC=$?
echo "# s3gate -t on $BAD (exit $BAD_RC):"; sed 's/^/#   /' "$T/check/bad.out"
t_check "-t: a broken file exits non-zero" test "$BAD_RC" -ne 0
reported() {	# LINE REGEX: a "FILE:LINE: ...; ..." line matching REGEX
	grep -E "^$BAD:$1: .*$2" "$T/check/bad.out" | grep -q ';' && return 0
	echo "no '$BAD:$1: ...$2...; what to do' line in:"; cat "$T/check/bad.out"; return 1
}
t_check "-t: unknown directive reported at $BAD:7" reported 7 'no_such_directive'
t_check "-t: bad number reported at $BAD:8" reported 8 'max_headers'
t_check "-t: secret file mode 0644 reported at $BAD:5" reported 5 'loose\.secret'
t_check "-t: listen ... tls without a certificate reported at $BAD:3 (with the other mistakes)" reported 3 'tls'
# the same TLS mistake alone (tells a missing check from one skipped when
# other lines are wrong)
sed -e '5s/.*/# (line 5)/' -e '7,8d' "$BAD" >"$T/check/tls-only.conf"
printf 'x\n' >"$T/check/ok.secret"; chmod 600 "$T/check/ok.secret"
sed -i "s#^backend_credentials .*#backend_credentials K $T/check/ok.secret#" "$T/check/tls-only.conf"
echo "backend_credentials $RGW_ACCESS_KEY $T/check/ok.secret" >>"$T/check/tls-only.conf"
tls_alone() {
	local out rc
	out=$("$S3GATE" -t -c "$T/check/tls-only.conf" 2>&1); rc=$?
	echo "exit $rc: $out"
	[ $rc -ne 0 ] && grep -qE "^$T/check/tls-only.conf:3: .*tls.*;" <<<"$out"
}
t_check "-t: listen ... tls without a certificate reported at line 3 (alone)" tls_alone

# ==== the main instance: plain and TLS listeners ========================================

mkdir -p "$T/tls"
TLS_PORT=$(free_port)
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj "/CN=127.0.0.1" \
	-addext "subjectAltName=IP:127.0.0.1" -keyout "$T/tls/key.pem" -out "$T/tls/cert.pem" >/dev/null 2>&1
chmod 600 "$T/tls/key.pem"
if ! s3gate_start ops "workers 1" "shutdown_timeout 20s" "listen 127.0.0.1:$TLS_PORT tls" \
	"tls_certificate $T/tls/cert.pem $T/tls/key.pem"; then
	t_fail "s3gate starts (plain and TLS listeners)" "see $T/ops/s3gate.log"; exit 1
fi
t_pass "s3gate starts (plain and TLS listeners)"
OPS_PID=$S3GATE_PID OPS_CONF=$S3GATE_CONF OPS_LOG=$S3GATE_LOG OPS_DIR=$S3GATE_DIR
ADMIN=$S3GATE_ADMIN_URL EP=$S3GATE_ENDPOINT TLS_EP=https://127.0.0.1:$TLS_PORT

good_check() {
	local out rc
	out=$("$S3GATE" -t -c "$OPS_CONF" 2>&1); rc=$?
	echo "exit $rc: $out"
	[ $rc -eq 0 ] && [ "$out" = "configuration OK" ]
}
t_check "-t: a good file (the running one, with TLS) prints 'configuration OK', exit 0" good_check

if ! out=$(ws_setup "$PO" "$BO" 2>&1) || ! s3gate_cred "$PO" ops >"$T/cred.out" 2>&1; then
	t_fail "workspace and credentials" "$out $(cat "$T/cred.out")"; exit 1
fi
read -r _ OPS_SECRET _ <"$T/profiles/ops"
mkfile "$T/big" 200
mkfile "$T/ten" 10
backend_aws s3 cp "$T/big" "s3://$BO/big" >/dev/null && backend_aws s3 cp "$T/ten" "s3://$BO/ten" >/dev/null ||
	{ t_fail "seed objects at the backend" "backend_aws failed"; exit 1; }
until_ok ops "$(s3_url "$BO/ten")" >/dev/null

# ---- admin listener ----------------------------------------------------------------------

http_code() { curl -s -o "$T/admin.out" -w '%{http_code}' --max-time 5 "$1"; }
t_expect_eq "/healthz is 200" 200 "$(http_code "$ADMIN/healthz")"
t_expect_eq "/readyz is 200 (backend and policy store reachable)" 200 "$(http_code "$ADMIN/readyz")"

# The admin listener shares the event loop of the (only) worker with the
# clients: a header line of 128 MiB must be refused after a few KiB, not
# buffered (it took worker 0 from 7.5 to 253 MB RSS), and the worker's RSS
# stays flat.
admin_huge_header() {
	local rss0 rss1 out
	rss0=$(awk '/^VmRSS:/ { print $2 }' "/proc/$OPS_PID/status")
	out=$("$PY3" - "${ADMIN##*:}" <<'PYEOF'
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.settimeout(10)
t0, sent, chunk = time.monotonic(), 0, b"a" * (1 << 20)
try:
    s.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: ")
    while sent < (128 << 20):
        s.sendall(chunk)
        sent += len(chunk)
except OSError as e:
    print("the server stopped reading (%s)" % e.__class__.__name__)
print("sent %d MiB in %.2f s" % (sent >> 20, time.monotonic() - t0))
sys.exit(0 if sent < (32 << 20) else 1)
PYEOF
	) || { echo "$out"; echo "a 128 MiB header line was read whole"; return 1; }
	sleep 0.3
	rss1=$(awk '/^VmRSS:/ { print $2 }' "/proc/$OPS_PID/status")
	echo "$out; RSS $rss0 -> $rss1 KiB"
	[ $((rss1 - rss0)) -lt 32768 ] || return 1
	[ "$(http_code "$ADMIN/healthz")" = 200 ]
}
t_check "admin listener: a 128 MiB header line is refused within a few MiB, RSS stays flat, /healthz still 200" admin_huge_header
readyz_fast() {
	local t
	t=$(curl -s -o "$T/admin.out" -w '%{http_code} %{time_total}' --max-time 5 "$ADMIN/readyz")
	echo "/readyz: $t; $(tr '\n' ' ' <"$T/admin.out")"
	[ "${t% *}" = 200 ] && awk -v s="${t#* }" 'BEGIN { exit !(s < 0.5) }'
}
t_check "/readyz answers from the last backend probe (200, under 0.5 s)" readyz_fast

prom_text() {	# every line a comment or "name{labels} value"; the names asked for are there
	curl -s --max-time 5 -D "$T/metrics.h" "$ADMIN/metrics" >"$T/metrics.txt" || return 1
	grep -i '^content-type: text/plain' "$T/metrics.h" || { echo "Content-Type:"; grep -i content-type "$T/metrics.h"; return 1; }
	"$PY3" - "$T/metrics.txt" <<'EOF' || return 1
import re, sys
pat = re.compile(r'^[a-zA-Z_:][a-zA-Z0-9_:]*(\{[a-zA-Z_][a-zA-Z0-9_]*="(\\.|[^"\\])*"(,[a-zA-Z_][a-zA-Z0-9_]*="(\\.|[^"\\])*")*\})? [-+]?([0-9.eE+-]+|NaN|\+Inf|-Inf)$')
bad = [l for l in open(sys.argv[1]).read().splitlines() if l and not l.startswith("#") and not pat.match(l)]
print("%d malformed lines" % len(bad)); print("\n".join(bad[:10]))
sys.exit(1 if bad else 0)
EOF
	for n in s3gate_requests_total s3gate_body_bytes_total s3gate_throttled_requests_total \
		s3gate_throttle_waits_total; do
		grep -q "^$n[{ ]" "$T/metrics.txt" || { echo "no $n"; return 1; }
	done
}
t_check "/metrics is Prometheus text with s3gate_requests_total, s3gate_body_bytes_total, throttle counters" prom_text

r0=$(metric "$ADMIN" 's3gate_requests_total{status="2xx"}')
s0=$(metric "$ADMIN" 's3gate_body_bytes_total{engine="splice"}')
c0=$(metric "$ADMIN" 's3gate_body_bytes_total{engine="copy"}')
plain_get() { [ "$(status ops "$(s3_url "$BO/ten")")" = 200 ] && same_file "$T/ten" "$T/body"; }
t_check "plain-HTTP GET of a 10 MiB object" plain_get
# counted as the request ends, a moment after the client has its answer
get_counted() {
	r1=$(metric "$ADMIN" 's3gate_requests_total{status="2xx"}')
	s1=$(metric "$ADMIN" 's3gate_body_bytes_total{engine="splice"}')
	[ "${r1:-0}" -gt "${r0:--1}" ] && [ "$((${s1:-0} - ${s0:-0}))" -ge $((10485760 - 262144)) ]
}
wait_for 10 get_counted
t_check "/metrics: s3gate_requests_total{status=\"2xx\"} grows ($r0 -> $r1)" test "${r1:-0}" -gt "${r0:--1}"
# (what came in with the response head is copied; the rest is spliced)
t_check "/metrics: splice bytes grow by the body (>= 10 MiB - 256 KiB) with the plain GET ($s0 -> $s1)" \
	test "$((${s1:-0} - ${s0:-0}))" -ge $((10485760 - 262144))
tls_get() {
	local code
	code=$(S3_ENDPOINT=$TLS_EP S3_CA_BUNDLE=$T/tls/cert.pem status ops "$TLS_EP/$BO/ten")
	echo "HTTPS GET: $code"
	[ "$code" = 200 ] && same_file "$T/ten" "$T/body"
}
t_check "HTTPS GET of the 10 MiB object on the TLS listener" tls_get
# A handshake accepted before a SIGHUP and finished after it: its SNI
# callback read the freed certificate contexts of the old configuration
# (workers 1: single process; caught by the ASan build make test runs).
sni_after_reload() {
	local n0 rc
	n0=$(lines "$OPS_LOG")
	"$PY3" - "$TLS_PORT" "$OPS_PID" "$OPS_LOG" "$n0" <<'PYEOF'
import os, signal, socket, ssl, sys, time
port, pid, log, n0 = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
s = socket.create_connection(("127.0.0.1", port))
time.sleep(0.3)                     # accepted: the SSL exists, no ClientHello yet
os.kill(pid, signal.SIGHUP)
end = time.monotonic() + 15         # reloaded (the log says so): the old contexts are released
while time.monotonic() < end and not any("reloaded" in l for l in open(log, errors="replace").readlines()[n0:]):
    time.sleep(0.1)
time.sleep(0.2)
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
try:
    t = ctx.wrap_socket(s, server_hostname="localhost")   # SNI: the callback runs
    t.sendall(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
    print("answer after the reload:", t.recv(12))
except Exception as e:
    print("handshake failed:", e); sys.exit(1)
PYEOF
	rc=$?
	sleep 0.3
	alive "$OPS_PID" || { echo "s3gate died"; tail -n 20 "$OPS_LOG"; return 1; }
	if log_since "$OPS_LOG" "$n0" | grep -A 8 -m1 'ERROR: AddressSanitizer'; then return 1; fi
	log_since "$OPS_LOG" "$n0" | grep -q 'reloaded' || { echo "no 'reloaded' in the log"; return 1; }
	return $rc
}
t_check "TLS: a connection accepted before SIGHUP completes its SNI handshake after it (no use after free)" sni_after_reload
c1=$(metric "$ADMIN" 's3gate_body_bytes_total{engine="copy"}')
s2=$(metric "$ADMIN" 's3gate_body_bytes_total{engine="splice"}')
t_check "/metrics: copy bytes grow by >= 10 MiB with the TLS GET ($c0 -> $c1)" \
	test "$((${c1:-0} - ${c0:-0}))" -ge 10485760
t_check "/metrics: splice bytes do not move for the TLS GET ($s1 -> $s2)" \
	test "$((${s2:-0} - ${s1:-0}))" -lt 1048576

# ---- SIGHUP during a 200 MiB download: a new access_log path and log_level -----------------

t_expect_eq "access log at $OPS_DIR/access.log is written" yes "$([ -s "$OPS_DIR/access.log" ] && echo yes || echo no)"
reload_midflight() {
	local pid n0 rc code
	n0=$(lines "$OPS_LOG")
	rm -f "$T/big.back"
	bg_get ops "$(s3_url "$BO/big")" "$T/big.back" 40M
	pid=$!
	sleep 1.5
	alive "$pid" || { echo "the download ended before the reload"; return 1; }
	sed -i -e "s#^access_log .*#access_log $OPS_DIR/access2.log#" "$OPS_CONF"
	echo "log_level debug" >>"$OPS_CONF"
	kill -HUP "$OPS_PID"
	sleep 0.5
	alive "$pid" && echo "the download is still running after the reload" || echo "the download ended before the reload was done"
	wait "$pid"; rc=$?
	code=$(cat "$T/big.back.code")
	echo "curl exit $rc, HTTP $code $(cat "$T/big.back.err")"
	log_since "$OPS_LOG" "$n0" | grep -iE 'reload' | head -n 5
	[ $rc -eq 0 ] && [ "$code" = 200 ] && same_file "$T/big" "$T/big.back" || return 1
	log_since "$OPS_LOG" "$n0" | grep -q 'reloaded' || { echo "no 'reloaded' in the log"; return 1; }
}
t_check "SIGHUP during a 200 MiB download: the download completes byte for byte" reload_midflight
echo "# $(grep -h 'still running\|ended before' <<<"$T_OUT")"
new_access_log() {
	status ops "$(s3_url "$BO/after-reload-$ID")" >/dev/null
	# a line is written once its answer has gone out
	wait_for 10 grep -q "after-reload-$ID" "$OPS_DIR/access2.log" 2>/dev/null ||
		{ echo "not in access2.log; access2.log: $(ls -l "$OPS_DIR/access2.log" 2>&1)"; return 1; }
	! grep -q "after-reload-$ID" "$OPS_DIR/access.log" || { echo "still written to access.log"; return 1; }
}
t_check "after SIGHUP a request lands in the new access_log path" new_access_log
debug_level() {
	local n0
	n0=$(lines "$OPS_LOG")
	status ops "$(s3_url "$BO/ten")" >/dev/null
	debug_said() { log_since "$OPS_LOG" "$n0" | grep -q 'debug'; }
	wait_for 10 debug_said
	log_since "$OPS_LOG" "$n0" | grep -m3 'debug'
}
t_check "after SIGHUP log_level debug applies (debug lines appear)" debug_level

broken_reload() {
	local n0 code
	n0=$(lines "$OPS_LOG")
	cp "$OPS_CONF" "$T/ops.conf.good"
	echo "no_such_directive 1" >>"$OPS_CONF"
	local bad_line
	bad_line=$(wc -l <"$OPS_CONF")
	echo "access_log $OPS_DIR/access-broken.log" >>"$OPS_CONF"
	kill -HUP "$OPS_PID"
	wait_for 15 reload_said "$n0"
	alive "$OPS_PID" || { echo "s3gate died on a broken reload"; return 1; }
	code=$(status ops "$(s3_url "$BO/after-broken-$ID")")
	echo "request after the broken reload: HTTP $code (404 expected: no such key)"
	[ "$code" = 404 ] || return 1
	log_since "$OPS_LOG" "$n0" | grep -v '^$' | head -n 6
	log_since "$OPS_LOG" "$n0" | grep -q "reload failed" || { echo "no 'reload failed' in the log"; return 1; }
	log_since "$OPS_LOG" "$n0" | grep -q "$OPS_CONF:$bad_line: .*no_such_directive" ||
		{ echo "the log does not say $OPS_CONF:$bad_line"; return 1; }
	wait_for 10 grep -q "after-broken-$ID" "$OPS_DIR/access2.log" || { echo "the old access_log is not kept"; return 1; }
	[ ! -e "$OPS_DIR/access-broken.log" ] || { echo "the broken file's access_log was opened"; return 1; }
}
t_check "SIGHUP with a broken file keeps the running config (requests served, the log says why)" broken_reload
cp "$T/ops.conf.good" "$OPS_CONF" 2>/dev/null
# One process: the new file is checked whole before any of it applies.  A
# new access_log with an error_log that cannot be opened used to switch the
# access log, warn about the error log and say "reloaded".
partial_reload() {
	local n0
	n0=$(lines "$OPS_LOG")
	cp "$OPS_CONF" "$T/ops.conf.good2"
	sed -i -e "s#^access_log .*#access_log $OPS_DIR/access-partial.log#" "$OPS_CONF"
	echo "error_log $T/no-such-dir/error.log" >>"$OPS_CONF"
	kill -HUP "$OPS_PID"
	wait_for 15 reload_said "$n0"
	cp "$T/ops.conf.good2" "$OPS_CONF"
	status ops "$(s3_url "$BO/after-partial-$ID")" >/dev/null
	wait_for 10 grep -q "after-partial-$ID" "$OPS_DIR/access2.log"
	log_since "$OPS_LOG" "$n0" | grep -v '^{' | head -n 4
	log_since "$OPS_LOG" "$n0" | grep -q "reload failed" || { echo "no 'reload failed' in the log"; return 1; }
	log_since "$OPS_LOG" "$n0" | grep -q "error_log $T/no-such-dir/error.log" || { echo "the log does not say why"; return 1; }
	[ ! -e "$OPS_DIR/access-partial.log" ] || { echo "the failed file's access_log was opened"; return 1; }
	grep -q "after-partial-$ID" "$OPS_DIR/access2.log" || { echo "the running access_log is not kept"; return 1; }
}
t_check "workers 1: SIGHUP to a file whose error_log cannot be opened applies nothing of it (access_log kept)" partial_reload
# Directives a single process cannot change on reload are named, not
# silently kept under a "reloaded".
kept_named() {
	local n0 n1 hz
	n0=$(lines "$OPS_LOG")
	sed -i -e "s#^admin_listen .*#admin_listen 127.0.0.1:$(free_port)#" "$OPS_CONF"
	kill -HUP "$OPS_PID"
	wait_for 15 reload_said "$n0"
	n1=$(lines "$OPS_LOG")
	cp "$T/ops.conf.good2" "$OPS_CONF"
	kill -HUP "$OPS_PID"
	wait_for 15 reload_said "$n1"
	hz=$(http_code "$ADMIN/healthz")
	log_since "$OPS_LOG" "$n0" | grep -v '^{' | grep -i 'reload' | head -n 4
	echo "/healthz on the running admin port: $hz"
	log_since "$OPS_LOG" "$n0" | grep -i 'reloaded' | grep -qE 'admin_listen' ||
		{ echo "admin_listen is not named"; return 1; }
	[ "$hz" = 200 ]
}
t_check "workers 1: SIGHUP with a new admin_listen says that admin_listen is kept until restart" kept_named

# ---- SIGUSR1 reopens the access log -------------------------------------------------

usr1() {
	mv "$OPS_DIR/access2.log" "$OPS_DIR/access2.log.1" || return 1
	kill -USR1 "$OPS_PID"
	# the reopen (asynchronous) creates the file at the path
	wait_for 10 test -f "$OPS_DIR/access2.log" || { echo "no new $OPS_DIR/access2.log"; return 1; }
	status ops "$(s3_url "$BO/after-usr1-$ID")" >/dev/null
	wait_for 10 grep -q "after-usr1-$ID" "$OPS_DIR/access2.log" || { echo "the request is not in the new file"; return 1; }
	! grep -q "after-usr1-$ID" "$OPS_DIR/access2.log.1" || { echo "the request went to the renamed file"; return 1; }
}
t_check "SIGUSR1: after a rename, a new request lands in a new file at the same path" usr1

# ---- the access log: fields, no secrets ------------------------------------------------

# a request with a wrong secret (an auth failure is logged too)
profile_set ops-wrong "$(cut -d' ' -f1 "$T/profiles/ops")" "wrongsecretwrongsecretwrongsecret0123456"
n0=$(access_lines "$OPS_DIR/access2.log")
status ops-wrong "$(s3_url "$BO/ten")" >/dev/null
wait_for 10 access_grew "$n0" "$OPS_DIR/access2.log"
access_fields() {
	"$PY3" - "$PO" "$BO" "$OPS_DIR"/access*.log* <<'EOF'
import json, sys
principal, bucket = sys.argv[1], sys.argv[2]
need = ["request_id", "time", "remote", "principal", "access_key_id", "bucket", "key", "action",
        "decision", "reason", "status", "bytes_in", "bytes_out", "duration_ms", "user_agent"]
n = named = 0
for f in sys.argv[3:]:
    for i, line in enumerate(open(f), 1):
        if not line.strip():
            continue
        try:
            o = json.loads(line)
        except ValueError as e:
            print("%s:%d: not JSON (%s): %s" % (f, i, e, line[:200])); sys.exit(1)
        miss = [k for k in need if k not in o]
        if miss:
            print("%s:%d: missing %s: %s" % (f, i, miss, line[:300])); sys.exit(1)
        n += 1
        if o["principal"] == principal and o["bucket"] == bucket and o["status"] == 200 and o["action"]:
            named += 1
            ex = line.strip()
print("%d lines, all with the %d fields; %d name principal %s, bucket %s, status 200 and the action" % (n, len(need), named, principal, bucket))
if named:
    print("e.g. " + ex)
sys.exit(0 if n and named else 1)
EOF
}
t_check "access log: every line is JSON with request_id, time, remote, principal, access_key_id, bucket, key, action, decision, reason, status, bytes_in/out, duration_ms, user_agent" access_fields
no_secrets() {
	local f hit=0
	for f in "$OPS_DIR"/access*.log* "$OPS_LOG"; do
		[ -f "$f" ] || continue
		if grep -qF -- "$OPS_SECRET" "$f"; then echo "the user's secret is in $f"; hit=1; fi
		if grep -qF -- "$RGW_SECRET_KEY" "$f"; then echo "the service secret is in $f"; hit=1; fi
	done
	echo "looked in: $(ls "$OPS_DIR"/access*.log* "$OPS_LOG" | tr '\n' ' ')"
	return $hit
}
t_check "no secret (the user's, the service's) in the access or error log (error log at debug level)" no_secrets

# ---- SIGTERM drains an in-flight download ---------------------------------------------------

drain() {
	local pid rc code t0 el st refused=no rz
	rm -f "$T/big.back"
	bg_get ops "$(s3_url "$BO/big")" "$T/big.back" 40M
	pid=$!
	sleep 1.5
	alive "$pid" || { echo "the download ended before SIGTERM"; return 1; }
	t0=$(date +%s%N)
	kill -TERM "$OPS_PID"
	# the listener closes at once (polled for: a loaded machine may take longer than 0.5 s)
	port_shut() { ! port_open "$S3GATE_PORT"; }
	wait_for 5 port_shut && refused=yes
	rz=$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$ADMIN/readyz")
	echo "$((($(date +%s%N) - t0) / 1000000)) ms after SIGTERM: new connections refused: $refused; /readyz: $rz"
	wait "$pid"; rc=$?
	code=$(cat "$T/big.back.code")
	echo "download: curl exit $rc, HTTP $code $(cat "$T/big.back.err")"
	while alive "$OPS_PID" && [ $(($(date +%s%N) - t0)) -lt 25000000000 ]; do sleep 0.1; done
	el=$((($(date +%s%N) - t0) / 1000000))
	if alive "$OPS_PID"; then echo "still running ${el} ms after SIGTERM"; kill -KILL "$OPS_PID"; fi
	wait "$OPS_PID"; st=$?
	rm -f "$OPS_DIR/pid"
	echo "s3gate exited $st, ${el} ms after SIGTERM (shutdown_timeout 20s)"
	[ $rc -eq 0 ] && [ "$code" = 200 ] && same_file "$T/big" "$T/big.back" || return 1
	[ "$st" = 0 ] && [ "$el" -le 20000 ] && [ "$refused" = yes ]
}
t_check_here "SIGTERM during a 200 MiB download: it completes, no new connections, exit 0 within shutdown_timeout" drain
echo "# $(grep -h 'after SIGTERM' <<<"$T_OUT" | tr '\n' ' ')"
rm -f "$T/big.back"

# ---- shutdown_timeout bounds the drain ---------------------------------------------------------

if s3gate_start bound "workers 1" "shutdown_timeout 2s"; then
	ws_setup "$PO" "$BO" >/dev/null 2>&1
	s3gate_cred "$PO" bound >/dev/null 2>&1
	until_ok bound "$(s3_url "$BO/ten")" >/dev/null
	bounded() {
		local pid t0 el st
		bg_get bound "$(s3_url "$BO/big")" "$T/slow.out" 256k
		pid=$!
		sleep 1
		t0=$(date +%s%N)
		kill -TERM "$S3GATE_PID"
		while alive "$S3GATE_PID" && [ $(($(date +%s%N) - t0)) -lt 10000000000 ]; do sleep 0.05; done
		el=$((($(date +%s%N) - t0) / 1000000))
		alive "$S3GATE_PID" && kill -KILL "$S3GATE_PID"
		wait "$S3GATE_PID"; st=$?
		rm -f "$S3GATE_DIR/pid"
		kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null
		echo "a slow download in flight: s3gate exited $st ${el} ms after SIGTERM (shutdown_timeout 2s)"
		[ "$st" = 0 ] && [ "$el" -ge 1800 ] && [ "$el" -le 3000 ]
	}
	t_check_here "shutdown_timeout 2s: a download that cannot finish is cut at ~2 s, exit 0" bounded
	echo "# $(tail -n 1 <<<"$T_OUT")"
else
	t_fail "shutdown_timeout: s3gate starts" "see $T/bound/s3gate.log"
fi

# ---- /readyz with the backend unreachable ------------------------------------------------------

CLOSED=$(free_port)
if s3gate_start nobackend "backend http://127.0.0.1:$CLOSED"; then
	t_expect_eq "backend on a closed port: /healthz is still 200" 200 "$(http_code "$S3GATE_ADMIN_URL/healthz")"
	code=$(http_code "$S3GATE_ADMIN_URL/readyz")
	t_expect_eq "backend on a closed port: /readyz is 503" 503 "$code"
	echo "# /readyz said: $(tr '\n' ' ' <"$T/admin.out")"
	s3gate_stop nobackend >"$T/stop.out" 2>&1 || t_fail "s3gate nobackend exits 0 on SIGTERM" "$(cat "$T/stop.out")"
else
	t_fail "s3gate starts with an unreachable backend" "see $T/nobackend/s3gate.log"
fi

# ---- workers 2 (and splice upload: downloads by the copy engine on a plain listener) -----------

if s3gate_start w2 "workers 2" "splice upload"; then
	W2_PID=$S3GATE_PID W2_ADMIN=$S3GATE_ADMIN_URL
	ws_setup "$PW" "$BW" >/dev/null && s3gate_cred "$PW" wk >/dev/null &&
		backend_aws s3 cp "$T/ten" "s3://$BW/ten" >/dev/null
	until_ok wk "$(s3_url "$BW/ten")" >/dev/null
	sleep 0.3
	two_workers() {
		local kids k
		kids=$(ps -o pid= --ppid "$W2_PID" | tr -d ' ')
		ps -o pid,ppid,user,args --ppid "$W2_PID"
		[ "$(wc -w <<<"$kids")" = 2 ] || return 1
		for k in $kids; do tr '\0' ' ' <"/proc/$k/cmdline" | grep -q s3gate || return 1; done
	}
	t_check "workers 2: two worker processes under the master (ps)" two_workers
	both_serve() {	# 16 idle connections: the workers share them by load; ss names the owners
		"$PY3" -c '
import socket, sys, time
s = [socket.create_connection(("127.0.0.1", int(sys.argv[1]))) for _ in range(16)]
time.sleep(8)
' "$S3GATE_PORT" &
		local py=$! owners
		# looked at until both own some (or 6 s): the client's start and the
		# workers' accepts take longer on a loaded machine
		two_owners() {
			owners=$(ss -tnpH state established "( sport = :$S3GATE_PORT )" | grep -o 'pid=[0-9]*' | sort | uniq -c)
			[ "$(wc -l <<<"$owners")" -ge 2 ]
		}
		wait_for 6 two_owners
		kill "$py" 2>/dev/null; wait "$py" 2>/dev/null
		echo "accepted connections by process: $(tr '\n' ' ' <<<"$owners")"
		[ "$(wc -l <<<"$owners")" -ge 2 ]
	}
	t_check "workers 2: connections are accepted by both workers" both_serve
	# wrk opens its 64 keep-alive connections at once, right after the warm-up
	# run's 64 closed: a worker that paused its accepting used to take the
	# whole queued burst when it resumed (4 and 60 of 64 seen), and its clients
	# then waited for it.  /metrics counts each worker's connections.  The
	# second burst starts once both workers have counted the first one's
	# closes out: a close still pending counts in its worker's share, so on a
	# loaded machine a burst that came sooner was split by how late each
	# worker saw its closes (45/19 and 49/15 seen), not by the accept rule.
	# The old fault split every burst 4/60 (the pause that leads to it comes
	# within the burst itself, whatever came before).  Both waits are polls
	# of /metrics, bounded, so nothing here depends on a sleep being long
	# enough.
	shared_burst() {
		"$PY3" - "$S3GATE_PORT" "$W2_ADMIN/metrics" <<'PYEOF'
import socket, sys, time, urllib.request
port, metrics = int(sys.argv[1]), sys.argv[2]
admin = urllib.request.build_opener(urllib.request.ProxyHandler({}))	# no http_proxy
def per_worker():
    text = admin.open(metrics, timeout=5).read().decode()
    return [int(float(l.split()[1])) for l in text.splitlines()
            if l.startswith("s3gate_worker_connections{")]
def until(what, cond, limit=15):
    t0 = time.monotonic()
    while True:
        w = per_worker()
        if cond(w):
            return w
        if time.monotonic() - t0 > limit:
            print("%s: not within %d s (connections per worker: %s)" % (what, limit, w))
            sys.exit(1)
        time.sleep(0.02)
def burst():
    return [socket.create_connection(("127.0.0.1", port)) for _ in range(64)]
first = burst()
until("the first burst accepted", lambda w: sum(w) == 64)
for s in first:
    s.close()
until("the first burst's closes counted out", lambda w: len(w) == 2 and sum(w) == 0)
second = burst()
w = until("the second burst accepted", lambda w: sum(w) == 64)
print("connections per worker during the second burst: %s" % " ".join(map(str, w)))
sys.exit(0 if len(w) == 2 and min(w) >= 24 else 1)
PYEOF
	}
	t_check "workers 2: 64 connections opened at once, right after 64 closed, are shared out (each worker holds >= 24; s3gate_worker_connections)" shared_burst
	# burst_client close|keepalive: opens 1000 connections at once (as wrk does)
	# and asks on each; "close" asks once, "keepalive" asks again on each
	# answer for 2 s.  Prints how many were answered and when the last
	# connection had its first answer; exits 1 unless every one was answered
	# (403 AccessDenied: unsigned) within LIMIT seconds.
	burst_client() {
		"$PY3" - "$S3GATE_PORT" "$1" "$2" <<'PYEOF'
import resource, selectors, socket, sys, time
N = 1000
port, mode, limit = int(sys.argv[1]), sys.argv[2], float(sys.argv[3])
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, 4096)), hard))
req = b"GET /burst/x HTTP/1.1\r\nHost: 127.0.0.1\r\n" + \
    (b"Connection: close\r\n" if mode == "close" else b"") + b"\r\n"
sel = selectors.DefaultSelector()
t0 = time.monotonic()
for _ in range(N):
    s = socket.socket()
    s.setblocking(False)
    s.connect_ex(("127.0.0.1", port))
    sel.register(s, selectors.EVENT_WRITE, b"")
first, answers = {}, 0
while time.monotonic() - t0 < (2 if mode == "keepalive" else 10) and \
        (mode == "keepalive" or len(sel.get_map()) > 0):
    for key, ev in sel.select(timeout=0.5):
        s = key.fileobj
        if ev & selectors.EVENT_WRITE:
            s.send(req)
            sel.modify(s, selectors.EVENT_READ, b"")
            continue
        got = s.recv(65536)
        data = key.data + got
        # one answer per request: a 403 AccessDenied error document
        while b"</Error>" in data:
            if not data.startswith(b"HTTP/1.1 403 "):
                break
            data = data.split(b"</Error>", 1)[1].lstrip()
            answers += 1
            first.setdefault(s, time.monotonic() - t0)
            if mode == "keepalive":
                s.send(req)
        if not got or (mode == "close" and s in first):
            sel.unregister(s)
            s.close()
        else:
            sel.modify(s, selectors.EVENT_READ, data)
last = max(first.values()) if first else float("inf")
print(f"{N} connections ({mode}): {len(first)} answered 403, {answers} answers; "
      f"the last first answer after {last:.3f} s")
sys.exit(0 if len(first) == N and last < limit else 1)
PYEOF
	}
	# A burst is accepted as fast as it comes: every request answered before
	# any client had to retransmit its SYN (1 s) because the backlog overflowed.
	t_check "workers 2: 1000 connections opened at once are all answered, none after a SYN retransmit (1 s)" \
	    burst_client close 1.0
	# The same burst as keep-alive connections that ask again as soon as they
	# are answered (wrk -c1024): while the first ones keep both workers busy,
	# the rest must still be accepted at once, not a few per event loop turn
	# (a turn serving 500 connections lasts milliseconds; taking one per turn
	# left the last first answers 0.8-1 s late).
	t_check "workers 2: 1000 keep-alive connections opened at once, asking in a loop, all have their first answer within 0.25 s" \
	    burst_client keepalive 0.25
	twenty() {
		local i code n=0 r0 r1
		r0=$(metric "$W2_ADMIN" 's3gate_requests_total{status="2xx"}')
		for ((i = 0; i < 20; i++)); do
			code=$(status wk "$(s3_url "$BW/ten")" -H "Connection: close")
			[ "$code" = 200 ] && n=$((n + 1))
		done
		# a request is counted as it ends, after its answer has gone out
		counted20() { r1=$(metric "$W2_ADMIN" 's3gate_requests_total{status="2xx"}'); [ $((r1 - r0)) -ge 20 ]; }
		wait_for 10 counted20
		echo "$n of 20 requests answered 200; s3gate_requests_total{status=\"2xx\"} $r0 -> $r1"
		[ "$n" = 20 ] && [ $((r1 - r0)) = 20 ]
	}
	t_check "workers 2: 20 requests succeed and /metrics counts all 20 (sums both workers)" twenty
	# The workers share the listening socket, each registered EPOLLEXCLUSIVE
	# (server.c, server_listen_exclusive): a new connection wakes one idle
	# worker, not all of them to find one connection between them.  40
	# connections one at a time, 20 ms apart (both workers idle for each):
	# registered as libevent does it, each woke the other worker for nothing
	# (40 empty wake-ups of 40).
	one_wakes() {
		local e0 e1 c0 c1
		e0=$(metric "$W2_ADMIN" s3gate_accept_empty_wakeups_total)
		c0=$(metric "$W2_ADMIN" s3gate_connections_total)
		"$PY3" -c '
import socket, sys, time
for _ in range(40):
    s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
    s.sendall(b"GET /x/y HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
    while s.recv(65536):
        pass
    s.close()
    time.sleep(0.02)
' "$S3GATE_PORT" || return 1
		e1=$(metric "$W2_ADMIN" s3gate_accept_empty_wakeups_total)
		c1=$(metric "$W2_ADMIN" s3gate_connections_total)
		echo "40 connections (s3gate_connections_total $c0 -> $c1): s3gate_accept_empty_wakeups_total $e0 -> $e1"
		[ -n "$e0" ] && [ $((c1 - c0)) -ge 40 ] && [ $((e1 - e0)) -le 10 ]
	}
	t_check "workers 2: a new connection wakes one worker, not both (at most 10 empty wake-ups for 40 connections)" one_wakes
	cp0=$(metric "$W2_ADMIN" 's3gate_body_bytes_total{engine="copy"}')
	sp0=$(metric "$W2_ADMIN" 's3gate_body_bytes_total{engine="splice"}')
	status wk "$(s3_url "$BW/ten")" >/dev/null
	# counted as the request ends (a moment after the client has its answer)
	copied() { cp1=$(metric "$W2_ADMIN" 's3gate_body_bytes_total{engine="copy"}'); [ $((${cp1:-0} - ${cp0:-0})) -ge 10485760 ]; }
	wait_for 10 copied
	sp1=$(metric "$W2_ADMIN" 's3gate_body_bytes_total{engine="splice"}')
	t_check "splice upload: a plain GET of 10 MiB moves >= 10 MiB by copy, none by splice (copy $cp0 -> $cp1, splice $sp0 -> $sp1)" \
		test "$((${cp1:-0} - ${cp0:-0}))" -ge 10485760 -a "${sp1:-0}" = "${sp0:-0}"
	splice_upload() {
		local code
		code=$(status wk "$(s3_url "$BW/ten.up")" -T "$T/ten")
		spliced() { sp2=$(metric "$W2_ADMIN" 's3gate_body_bytes_total{engine="splice"}'); [ $((${sp2:-0} - ${sp1:-0})) -ge $((10485760 - 262144)) ]; }
		wait_for 10 spliced
		cp2=$(metric "$W2_ADMIN" 's3gate_body_bytes_total{engine="copy"}')
		sp2=$(metric "$W2_ADMIN" 's3gate_body_bytes_total{engine="splice"}')
		echo "PUT: $code; copy $cp1 -> $cp2, splice $sp1 -> $sp2"
		[ "$code" = 200 ] && [ $((sp2 - sp1)) -ge $((10485760 - 262144)) ] &&
			[ $((cp2 - cp1)) -lt 262144 ] || return 1
		backend_aws s3 cp "s3://$BW/ten.up" "$T/ten.up" >/dev/null && same_file "$T/ten" "$T/ten.up"
	}
	t_check "splice upload: a plain PUT of 10 MiB moves by splice, and RGW holds it whole" splice_upload
	# The parent holds the listening sockets the workers share: on SIGTERM it
	# closes them too, so new connections are refused while the workers drain.
	w2_drain() {
		local pid rc refused=no
		rm -f "$T/big.w2"
		# 200 MiB at 40 MiB/s: the worker is still sending after the socket buffers fill
		backend_aws s3 cp "$T/big" "s3://$BW/big" >/dev/null || { echo "upload of big failed"; return 1; }
		bg_get wk "$(s3_url "$BW/big")" "$T/big.w2" 40M
		pid=$!
		sleep 0.8
		alive "$pid" || { echo "the download ended before SIGTERM"; return 1; }
		kill -TERM "$W2_PID"
		w2_shut() { ! port_open "$S3GATE_PORT"; }
		wait_for 5 w2_shut && refused=yes
		echo "after SIGTERM to the master (polled up to 5 s): new connections refused: $refused"
		wait "$pid"; rc=$?
		echo "download: curl exit $rc, HTTP $(cat "$T/big.w2.code")"
		[ $rc -eq 0 ] && [ "$(cat "$T/big.w2.code")" = 200 ] && same_file "$T/big" "$T/big.w2" &&
			[ "$refused" = yes ]
	}
	t_check "workers 2: SIGTERM during a download: it completes, new connections are refused" w2_drain
	echo "# $(grep -h 'after SIGTERM to the master' <<<"$T_OUT")"
	if s3gate_stop w2 >"$T/stop.out" 2>&1; then
		t_pass "workers 2: SIGTERM to the master stops both workers, exit 0"
	else
		t_fail "workers 2: SIGTERM to the master stops both workers, exit 0" "$(cat "$T/stop.out")"
	fi
else
	t_fail "s3gate starts with workers 2" "see $T/w2/s3gate.log"
fi

# ---- workers auto: the CPUs this process may use, not the host's ---------------------------------
# started_workers NAME: the worker count s3gate NAME logged when it started
started_workers() { sed -n 's/.* started, \([0-9]*\) worker.*/\1/p' "$T/$1/s3gate.log" | head -1; }
if S3GATE_LAUNCH="taskset -c 0" s3gate_start auto1 "workers auto"; then
	t_expect_eq "workers auto under taskset -c 0 (one CPU allowed): 1 worker" 1 "$(started_workers auto1)"
	s3gate_stop auto1 >"$T/stop.out" 2>&1 || t_fail "s3gate auto1 exits 0 on SIGTERM" "$(cat "$T/stop.out")"
else
	t_fail "workers auto under taskset -c 0: s3gate starts" "$(tail -n 5 "$T/auto1/s3gate.log")"
fi
# A CPU limit of one CPU's worth of time (as a Kubernetes `limits.cpu: 1`
# sets), in a cgroup of our own: v2 cpu.max, else v1's cfs quota.
CG="" CG_V=""
if [ "$(nproc)" -lt 2 ]; then
	CG_WHY="one CPU online: a limit of one CPU would change nothing"
elif [ -f /sys/fs/cgroup/cgroup.controllers ] && grep -qw cpu /sys/fs/cgroup/cgroup.controllers; then
	CG=/sys/fs/cgroup/s3gate-test-$$ CG_V=2
elif [ -d /sys/fs/cgroup/cpu ]; then
	CG=/sys/fs/cgroup/cpu/s3gate-test-$$ CG_V=1
else
	CG_WHY="no cgroup cpu controller mounted"
fi
if [ -n "$CG" ] && mkdir "$CG" 2>/dev/null &&
	if [ "$CG_V" = 2 ]; then echo "100000 100000" >"$CG/cpu.max"
	else echo 100000 >"$CG/cpu.cfs_period_us" && echo 100000 >"$CG/cpu.cfs_quota_us"; fi 2>/dev/null; then
	printf '#!/bin/sh\necho $$ >%s/cgroup.procs && exec "$@"\n' "$CG" >"$T/in-cgroup"
	chmod +x "$T/in-cgroup"
	if S3GATE_LAUNCH="$T/in-cgroup" s3gate_start autocg "workers auto"; then
		t_expect_eq "workers auto in a cgroup limited to one CPU's time (v$CG_V): 1 worker" 1 \
			"$(started_workers autocg)"
		s3gate_stop autocg >"$T/stop.out" 2>&1 || t_fail "s3gate autocg exits 0 on SIGTERM" "$(cat "$T/stop.out")"
	else
		t_fail "workers auto in a limited cgroup: s3gate starts" "$(tail -n 5 "$T/autocg/s3gate.log")"
	fi
	rmdir "$CG" 2>/dev/null
else
	[ -n "$CG" ] && rmdir "$CG" 2>/dev/null
	t_skip "workers auto in a cgroup limited to one CPU's time: 1 worker" "${CG_WHY:-cannot create a cgroup with a CPU limit here (not root, or a read-only cgroup fs)}"
fi
# ---- the parent SIGKILLed: its workers drain and exit, not serve on orphaned -----------------------
if s3gate_start orphan "workers 2" "shutdown_timeout 5s"; then
	OPID=$S3GATE_PID OPORT=$S3GATE_PORT
	OKIDS=$(pgrep -P "$OPID" | tr '\n' ' ')
	kill -KILL "$OPID"
	wait "$OPID" 2>/dev/null
	rm -f "$T/orphan/pid"	# killed on purpose: no clean exit to check
	orphans_gone() {
		local p i s alive
		for ((i = 0; i < 60; i++)); do
			alive=""
			for p in $OKIDS; do
				s=$(sed -E 's/^[0-9]+ \(.*\) (.).*/\1/' "/proc/$p/stat" 2>/dev/null) || continue
				[ "$s" = Z ] || alive="$alive $p"
			done
			[ -z "$alive" ] && break
			sleep 0.1
		done
		[ -z "$alive" ] || { echo "workers still running:$alive"; return 1; }
		# nothing answers on its port any more
		if curl -s -o /dev/null --max-time 2 "http://127.0.0.1:$OPORT/"; then
			echo "port $OPORT still answers"; return 1
		fi
	}
	if [ "$(wc -w <<<"$OKIDS")" = 2 ]; then
		t_check "the parent SIGKILLed: its two workers exit within 6 s, the port is closed" orphans_gone
	else
		t_fail "the parent SIGKILLed: its two workers exit" "expected two workers, found: $OKIDS"
	fi
else
	t_fail "workers 2 (orphan test): s3gate starts" "$(tail -n 5 "$T/orphan/s3gate.log")"
fi

# ---- reload safety: a new generation replaces the old one only once it is ready ---------------
# (workers 2: the parent starts the new workers and tells the old ones to
# drain only when every new one said it is ready)
if s3gate_start rl "workers 2" "shutdown_timeout 5s"; then
	RL_PID=$S3GATE_PID RL_CONF=$S3GATE_CONF RL_LOG=$S3GATE_LOG RL_DIR=$S3GATE_DIR
	RL_ADMIN=$S3GATE_ADMIN_URL RL_EP=$S3GATE_ENDPOINT
	kids() { pgrep -P "$RL_PID" | sort | tr '\n' ' '; }
	# a key that belongs to another certificate: -t names the line (it used to say OK,
	# and after SIGHUP every new worker died)
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj "/CN=other" \
		-keyout "$T/tls/other.key" -out "$T/tls/other.crt" >/dev/null 2>&1
	chmod 600 "$T/tls/other.key"
	mismatch_check() {
		local out rc
		{ cat "$RL_CONF"; echo "tls_certificate $T/tls/cert.pem $T/tls/other.key"; } >"$T/check/mismatch.conf"
		out=$("$S3GATE" -t -c "$T/check/mismatch.conf" 2>&1); rc=$?
		echo "exit $rc: $out"
		[ $rc -ne 0 ] && grep -qE "^$T/check/mismatch.conf:$(wc -l <"$T/check/mismatch.conf"): .*does not match.*;" <<<"$out"
	}
	t_check "-t: a tls_certificate whose key is another certificate's is refused at its FILE:LINE" mismatch_check
	# a new generation that cannot start: its admin port is held by another process
	held_admin() {
		local n0 before after code hz hold port
		port=$(free_port)
		"$PY3" -c 'import socket, sys, time
s = socket.socket(); s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(); time.sleep(30)' "$port" &
		hold=$!
		wait_port "$port" || { kill "$hold"; echo "could not hold port $port"; return 1; }
		n0=$(lines "$RL_LOG")
		before=$(kids)
		cp "$RL_CONF" "$T/rl.conf.good"
		sed -i "s#^admin_listen .*#admin_listen 127.0.0.1:$port#" "$RL_CONF"
		kill -HUP "$RL_PID"
		wait_for 20 reload_said "$n0" "$RL_LOG"
		after=$(kids)
		cp "$T/rl.conf.good" "$RL_CONF"
		kill "$hold"; wait "$hold" 2>/dev/null
		code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$RL_EP/")
		hz=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$RL_ADMIN/healthz")
		log_since "$RL_LOG" "$n0" | grep -v '^{' | head -n 8
		echo "workers before: $before after: $after; client port: HTTP $code; /healthz (old admin port): $hz"
		[ "$before" = "$after" ] || { echo "the old workers were replaced"; return 1; }
		[ "$code" = 403 ] && [ "$hz" = 200 ] || return 1
		log_since "$RL_LOG" "$n0" | grep -q 'reload failed' || { echo "no 'reload failed' in the log"; return 1; }
		log_since "$RL_LOG" "$n0" | grep -q "admin_listen 127.0.0.1:$port" || { echo "the log does not say why"; return 1; }
	}
	t_check "workers 2: SIGHUP to a config whose workers cannot start (admin port taken) keeps the old workers serving, says why" held_admin
	# a good reload: a new access_log path gets the next request (it used to be opened
	# once, by the parent, and kept)
	rl_access_log() {
		local n0 before after
		n0=$(lines "$RL_LOG")
		before=$(kids)
		sed -i "s#^access_log .*#access_log $RL_DIR/access-new.log#" "$RL_CONF"
		kill -HUP "$RL_PID"
		wait_for 20 reload_said "$n0" "$RL_LOG"
		after=$(kids)
		echo "workers before: $before after: $after"
		curl -s -o /dev/null --max-time 5 "$RL_EP/rl-after-reload-$ID"
		wait_for 10 grep -q "rl-after-reload-$ID" "$RL_DIR/access-new.log" 2>/dev/null
		log_since "$RL_LOG" "$n0" | grep -v '^{' | grep -i reload
		[ "$before" != "$after" ] || { echo "no new generation"; return 1; }
		grep -q "rl-after-reload-$ID" "$RL_DIR/access-new.log" 2>/dev/null ||
			{ echo "not in access-new.log ($(ls -l "$RL_DIR" | tr '\n' ' '))"; return 1; }
		! grep -q "rl-after-reload-$ID" "$RL_DIR/access.log" || { echo "still written to access.log"; return 1; }
	}
	t_check "workers 2: after SIGHUP a request lands in the new access_log path" rl_access_log
	# A worker that died is restarted from the main loop after a back-off, not
	# by sleeping in the reaping: a SIGTERM just after is taken at once.
	rl_term_after_crash() {
		local w t0 el st
		w=$(pgrep -P "$RL_PID" | head -n 1)
		kill -KILL "$w"
		sleep 0.1
		t0=$(date +%s%N)
		kill -TERM "$RL_PID"
		while alive "$RL_PID" && [ $(($(date +%s%N) - t0)) -lt 10000000000 ]; do sleep 0.02; done
		el=$((($(date +%s%N) - t0) / 1000000))
		alive "$RL_PID" && kill -KILL "$RL_PID"
		wait "$RL_PID"; st=$?
		rm -f "$RL_DIR/pid"
		grep -v '^{' "$RL_LOG" | grep 'restarting' | tail -n 2
		echo "SIGTERM 0.1 s after a worker was killed: s3gate exited $st after ${el} ms"
		[ "$st" = 0 ] && [ "$el" -lt 800 ]
	}
	t_check_here "workers 2: SIGTERM right after a worker died is taken at once (exit 0 within 0.8 s)" rl_term_after_crash
	echo "# $(tail -n 1 <<<"$T_OUT")"
	if _s3gate_sanitizer_report "$RL_LOG"; then t_fail "rl: no sanitizer report" "see $RL_LOG"; fi
else
	t_fail "workers 2 (reload safety): s3gate starts" "$(tail -n 5 "$T/rl/s3gate.log")"
fi

# ---- user nobody ---------------------------------------------------------------------------------

# Everything the workers read after dropping privileges (config, secret,
# policy folder, access log) lives in a folder owned by nobody outside $T
# (whose parents are private); the admin CLI runs as nobody too, as an
# operator would run it as the service user.
if [ "$(id -u)" != 0 ]; then
	t_skip "user nobody" "the tests do not run as root"
elif ! id nobody >/dev/null 2>&1; then
	t_skip "user nobody" "no user nobody"
else
	NDIR=$(mktemp -d /tmp/s3gate-t_ops.XXXXXX)
	lib_on_exit "rm -rf '$NDIR'"
	chmod 755 "$NDIR"
	mkdir -p "$NDIR/policy" "$T/nob"
	(umask 077; printf '%s\n' "$RGW_SECRET_KEY" >"$NDIR/backend.secret")
	NPORT=$(free_port) NAPORT=$(free_port)
	cat >"$NDIR/s3gate.conf" <<EOF
listen 127.0.0.1:$NPORT
admin_listen 127.0.0.1:$NAPORT
backend $RGW_ENDPOINT
backend_credentials $RGW_ACCESS_KEY $NDIR/backend.secret
policy_store file $NDIR/policy
region $S3_REGION
access_log $NDIR/access.log
workers 2
user nobody
EOF
	chown -R nobody:"$(id -gn nobody)" "$NDIR"
	as_nobody() { setpriv --reuid=nobody --regid="$(id -gn nobody)" --clear-groups -- "$@"; }
	nob_admin() { as_nobody "$S3GATE_BIN/s3gate-admin" -c "$NDIR/s3gate.conf" "$@"; }
	# started like s3gate_start does, so that the cleanup stops it
	"$S3GATE" -c "$NDIR/s3gate.conf" </dev/null >>"$T/nob/s3gate.log" 2>&1 &
	NOB_PID=$!
	echo "$NOB_PID nob $NDIR/s3gate.conf" >>"$T/.s3gate.pids"
	S3GATE_NAMES+=(nob)
	echo "$NOB_PID" >"$T/nob/pid"
	if wait_port "$NPORT" 15; then
		S3GATE_ENDPOINT=http://127.0.0.1:$NPORT
		storage_doc "$PN" "$BN" >"$T/nob.yaml"; chmod 644 "$T/nob.yaml"
		setup_out=$({ nob_admin sync - <"$T/nob.yaml" && nob_admin cred create "$PN"; } 2>&1)
		read -r NAKID NSECRET _ <<<"$(tail -n 1 <<<"$setup_out")"
		profile_set nob "$NAKID" "$NSECRET"
		backend_aws s3 cp "$T/ten" "s3://$BN/ten" >/dev/null
		sleep 0.3
		nobody_uids() {
			local kids k uid
			kids=$(ps -o pid= --ppid "$NOB_PID" | tr -d ' ')
			[ -n "$kids" ] || { echo "no worker processes"; return 1; }
			for k in $kids; do
				uid=$(awk '/^Uid:/ { print $2, $3, $4, $5 }' "/proc/$k/status")
				echo "worker $k Uid: $uid"
				[ "$uid" = "65534 65534 65534 65534" ] || return 1
			done
			echo "master $NOB_PID Uid: $(awk '/^Uid:/ { print $2, $3, $4, $5 }' "/proc/$NOB_PID/status")"
		}
		t_check "user nobody: the worker processes run as nobody (/proc/PID/status Uid)" nobody_uids
		t_check "user nobody: requests are served (policy folder readable by nobody)" \
			until_ok nob "$(s3_url "$BN/ten")"
		echo "# $(head -n 1 <<<"$setup_out" | cut -c1-100)"
		# A reload is a new generation of workers started by the root parent
		# (nginx-style): new worker pids, running as nobody, serving.
		nob_hup() {
			local n0 code before after p listening
			n0=$(lines "$T/nob/s3gate.log")
			before=$(pgrep -P "$NOB_PID" | sort | tr '\n' ' ')
			kill -HUP "$NOB_PID"
			wait_for 20 reload_said "$n0" "$T/nob/s3gate.log"
			log_since "$T/nob/s3gate.log" "$n0" | head -n 8
			after=$(pgrep -P "$NOB_PID" | sort | tr '\n' ' ')
			echo "workers before: $before after: $after"
			code=$(status nob "$(s3_url "$BN/ten")")
			echo "after SIGHUP: HTTP $code"
			[ "$code" = 200 ] || return 1
			! log_since "$T/nob/s3gate.log" "$n0" | grep -qi 'fail' || return 1
			log_since "$T/nob/s3gate.log" "$n0" | grep -q 'reloaded' || return 1
			[ -n "$after" ] && [ "$before" != "$after" ] || return 1
			# the old generation's socket is closed everywhere: no connection queues on it unserved
			listening=$(ss -tlnH "( sport = :$NPORT )" | wc -l)
			echo "listening sockets on :$NPORT after SIGHUP: $listening"
			[ "$listening" = 1 ] || return 1
			for p in $after; do
				awk '$1 == "Uid:" { exit !($2 == 65534) }' "/proc/$p/status" ||
					{ echo "worker $p is not nobody"; return 1; }
			done
		}
		t_check "user nobody: SIGHUP starts a new generation of workers, as nobody (files owned by nobody)" nob_hup
		# The layout conf/s3gate.conf shows: the backend secret root's, mode 0600.
		# s3gate reads it as root at start; an operator (as with nginx, whose
		# master re-reads as root) expects SIGHUP to work the same.
		chown root:root "$NDIR/backend.secret"; chmod 600 "$NDIR/backend.secret"
		t_check "user nobody: SIGHUP reloads with a root-owned 0600 backend secret (read as root at start)" nob_hup
	else
		t_fail "user nobody: s3gate starts" "$(tail -n 10 "$T/nob/s3gate.log")"
	fi
	s3gate_stop nob >"$T/stop.out" 2>&1 || t_fail "s3gate nob exits 0 on SIGTERM" "$(cat "$T/stop.out")"
	backend_aws s3 rm --recursive "s3://$BN/" >/dev/null 2>&1
fi

for b in "$BO" "$BW"; do backend_aws s3 rm --recursive "s3://$b/" >/dev/null 2>&1; done
exit 0
