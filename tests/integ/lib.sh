#!/bin/bash
# Shared helpers for integration tests (tests/integ/t_*.sh), sourced first:
#
#   . "$(dirname "$0")/lib.sh"
#
# tests/integ/run.sh starts Ceph RGW and Redis once per run and gives each
# test file, run as its own process, these variables:
#   RGW_ENDPOINT RGW_ACCESS_KEY RGW_SECRET_KEY   the backend and the service credentials
#   REDIS_URL                                    redis://127.0.0.1:PORT/0
#   T                                            a private, empty folder for this test file
#   S3GATE_BIN                                   where s3gate and s3gate-admin are (default bin/)
#
# Results: print only through t_pass / t_fail / t_skip (and t_check ...):
#   "ok - NAME", "not ok - NAME: WHY", "skip - NAME # WHY"; lines beginning
#   with "#" are comments that run.sh shows beside a failure.
#
# Clients: every wrapper takes a PROFILE first (made by s3gate_cred or
# profile_set) and talks to $S3_ENDPOINT if set, else to the s3gate started
# last ($S3GATE_ENDPOINT).  Each runs with HOME=$T/home and a config of its
# own, so nothing from the machine's or another test's configuration leaks in.
#
# Test-development aid: S3GATE_DIRECT_RGW=1 runs the same test against RGW
# itself (no proxy; every credential is the service's, buckets are made at
# the backend) to prove that a client invocation is right.  Checks of the
# proxy's own behaviour (authorization, its credentials) then fail, as they
# should.

set -u

LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$LIB_DIR/../.." && pwd)
. "$ROOT/tests/lib/rgw.sh"	# free_port, rgw helpers

S3GATE_BIN=${S3GATE_BIN:-$ROOT/bin}
case $S3GATE_BIN in /*) ;; *) S3GATE_BIN=$ROOT/$S3GATE_BIN ;; esac
export S3GATE_BIN
TEST_NAME=$(basename "$0" .sh)
if [ -z "${T:-}" ]; then
	mkdir -p "$ROOT/tests/out"
	T=$(mktemp -d "$ROOT/tests/out/$TEST_NAME.XXXXXX")
fi
mkdir -p "$T/home/.aws" "$T/profiles"
T=$(cd "$T" && pwd)
export T
S3_REGION=${S3_REGION:-us-east-1}
S3_CA_BUNDLE=${S3_CA_BUNDLE:-}		# a CA file for https endpoints
S3GATE_DIRECT_RGW=${S3GATE_DIRECT_RGW:-0}
# free_port never hands out the same port twice to this file (tests/lib/rgw.sh)
export FREE_PORT_ISSUED=$T/.ports

# The clients.  aws-cli v1 is the "aws" first on PATH (pyenv's shim is
# resolved so that a private HOME does not matter); v2 is Debian's.
AWSV1=""
_a=$(command -v aws 2>/dev/null || true)
if [ -n "$_a" ]; then
	case $_a in */shims/*) _a=$(pyenv which aws 2>/dev/null || echo "$_a") ;; esac
	case $("$_a" --version 2>&1) in aws-cli/1.*) AWSV1=$_a ;; esac
fi
AWSV2=""
case $(/usr/bin/aws --version 2>&1) in aws-cli/2.*) AWSV2=/usr/bin/aws ;; esac
PY3=/usr/bin/python3
unset _a

# ---- results ---------------------------------------------------------------

T_FAILED=0
t_pass() { echo "ok - $1"; }
t_skip() { echo "skip - $1 # $2"; }
# t_fail NAME WHY — WHY's first line goes on the result line, the rest
# (at most 30 lines) as "#" comments
t_fail() {
	local name=$1 why=${2:-failed}
	T_FAILED=$((T_FAILED + 1))
	echo "not ok - $name: $(head -n 1 <<<"$why")"
	tail -n +2 <<<"$why" | tail -n 30 | sed 's/^/#   /'
}

# t_check NAME cmd... — passes if cmd exits 0; else fails with the tail of
# its output.  The output is in $T_OUT either way.
t_check() {
	local name=$1 rc; shift
	T_OUT=$("$@" 2>&1); rc=$?
	if [ $rc -eq 0 ]; then
		t_pass "$name"
	else
		t_fail "$name" "exit $rc: $*
$(tail -n 20 <<<"$T_OUT")"
	fi
	return $rc
}

# t_expect_fail_code NAME CODE cmd... — passes if cmd fails and its output
# names the S3 error code CODE (e.g. AccessDenied, SignatureDoesNotMatch).
t_expect_fail_code() {
	local name=$1 code=$2 rc; shift 2
	T_OUT=$("$@" 2>&1); rc=$?
	if [ $rc -ne 0 ] && grep -q -- "$code" <<<"$T_OUT"; then
		t_pass "$name"; return 0
	fi
	if [ $rc -eq 0 ]; then
		t_fail "$name" "succeeded, expected $code: $*
$(tail -n 10 <<<"$T_OUT")"
	else
		t_fail "$name" "exit $rc without $code: $*
$(tail -n 20 <<<"$T_OUT")"
	fi
	return 1
}

# t_expect_eq NAME EXPECTED ACTUAL
t_expect_eq() {
	if [ "$2" = "$3" ]; then t_pass "$1"; else t_fail "$1" "expected '$2', got '$3'"; return 1; fi
}

# A file whose setup can fail sets SKIP_WHY (skipped, and why) or FAIL_WHY
# (failed, and why) and runs its checks through these: each then says so
# instead of running against a stack that is not there.
SKIP_WHY=${SKIP_WHY:-}
FAIL_WHY=${FAIL_WHY:-}
# tc NAME cmd... — t_check unless the setup said otherwise
tc() {
	local name=$1; shift
	if [ -n "$SKIP_WHY" ]; then t_skip "$name" "$SKIP_WHY"; return 0; fi
	if [ -n "$FAIL_WHY" ]; then t_fail "$name" "$FAIL_WHY"; return 1; fi
	t_check "$name" "$@"
}
# tdeny NAME CODE MSG_ERE cmd... — cmd fails, its output names CODE and matches MSG_ERE
tdeny() {
	local name=$1 code=$2 re=$3 rc; shift 3
	if [ -n "$SKIP_WHY" ]; then t_skip "$name" "$SKIP_WHY"; return 0; fi
	if [ -n "$FAIL_WHY" ]; then t_fail "$name" "$FAIL_WHY"; return 1; fi
	T_OUT=$("$@" 2>&1); rc=$?
	if [ $rc -ne 0 ] && grep -q -- "$code" <<<"$T_OUT" && grep -Eq -- "$re" <<<"$T_OUT"; then
		t_pass "$name"; return 0
	fi
	t_fail "$name" "exit $rc; expected $code and /$re/: $*
$(tail -n 10 <<<"$T_OUT")"
	return 1
}
# tcode NAME CODE cmd... — t_expect_fail_code likewise
tcode() {
	local name=$1; shift
	if [ -n "$SKIP_WHY" ]; then t_skip "$name" "$SKIP_WHY"; return 0; fi
	if [ -n "$FAIL_WHY" ]; then t_fail "$name" "$FAIL_WHY"; return 1; fi
	t_expect_fail_code "$name" "$@"
}
# ready — the setup went well
ready() { [ -z "$SKIP_WHY$FAIL_WHY" ]; }

# ---- data ------------------------------------------------------------------

# mkfile PATH MiB — random content
mkfile() { head -c $(($2 * 1048576)) /dev/urandom >"$1"; }
# mkbytes PATH N — N random bytes
mkbytes() { head -c "$2" /dev/urandom >"$1"; }
# same_file A B — byte for byte; says where they differ
same_file() {
	[ -f "$1" ] || { echo "missing: $1"; return 1; }
	[ -f "$2" ] || { echo "missing: $2"; return 1; }
	cmp "$1" "$2" || { echo "sizes: $(stat -c %s "$1") vs $(stat -c %s "$2")"; return 1; }
}
# rand_id — 8 lowercase hex characters, for unique names
rand_id() { head -c 4 /dev/urandom | od -An -tx1 | tr -d ' \n'; }
# urlenc STRING — percent-encodes everything but unreserved characters and '/'
urlenc() { "$PY3" -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1], safe="/~"))' "$1"; }
# b64sum ALG FILE — FILE's checksum as S3 wants it in x-amz-checksum-ALG:
# base64 of the digest, CRCs big-endian (crc32, crc32c, crc64nvme, sha1, sha256)
b64sum() {
	"$PY3" - "$1" "$2" <<'PYEOF'
import base64, hashlib, sys, zlib
alg, data = sys.argv[1], open(sys.argv[2], "rb").read()
def crc_reflected(poly, width):  # init and final xor all ones, as S3's CRC32C and CRC64NVME
    ones = (1 << width) - 1
    c = ones
    for b in data:
        c ^= b
        for _ in range(8):
            c = (c >> 1) ^ (poly if c & 1 else 0)
    return (c ^ ones).to_bytes(width // 8, "big")
if alg == "crc32":
    d = zlib.crc32(data).to_bytes(4, "big")
elif alg == "crc32c":
    d = crc_reflected(0x82F63B78, 32)
elif alg == "crc64nvme":
    d = crc_reflected(0x9A6C9329AC4BC9B5, 64)
else:
    d = hashlib.new(alg, data).digest()
print(base64.b64encode(d).decode())
PYEOF
}
# wait_port PORT [SECONDS] — until 127.0.0.1:PORT accepts (by the clock:
# at most SECONDS, default 10, however long each try takes)
wait_port() { wait_for "${2:-10}" port_open "$1"; }
# port_open PORT — 127.0.0.1:PORT accepts a connection now
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
# wait_for SECONDS CMD... — runs CMD every 0.1 s until it succeeds; fails
# once SECONDS have passed by the clock (not a count of tries: on a loaded
# machine each try takes longer).  For waiting on an event whose time is not
# under test (a process listening, a log line written, a message received):
# give it a generous SECONDS, which costs nothing when the event comes.
wait_for() {
	local end=$(($(date +%s%3N) + ${1%.*} * 1000)); shift
	while :; do
		"$@" && return 0
		[ "$(date +%s%3N)" -lt "$end" ] || return 1
		sleep 0.1
	done
}
# metric ADMIN_URL NAME — a sample's value on /metrics (empty if absent);
# NAME with its labels as printed for a labelled one: 'NAME{L="V"}'
metric() { curl -s --max-time 5 "$1/metrics" | awk -v n="$2" '$1 == n { print $2 }'; }

# ---- Storage documents (storage-example.yaml's format) ---------------------

# storage_doc PRINCIPAL BUCKET... [--grant BUCKET:GRANTEE:PERMISSION]...
#             [--request BUCKET:REASON]... [--hidden BUCKET]...
# prints one Storage resource (YAML) for workspace ws-PRINCIPAL
storage_doc() {
	local p=$1 a b g r now; shift
	local -a buckets=() grants=() requests=() hidden=()
	now=$(date -u +%Y-%m-%dT%H:%M:%S.000000+00:00)
	while [ $# -gt 0 ]; do
		case $1 in
		--grant) grants+=("$2"); shift 2 ;;
		--request) requests+=("$2"); shift 2 ;;
		--hidden) hidden+=("$2"); buckets+=("$2"); shift 2 ;;
		*) buckets+=("$1"); shift ;;
		esac
	done
	cat <<EOF
apiVersion: pkg.internal/v1beta1
kind: Storage
metadata:
  name: ws-$p
  namespace: workspace
spec:
  principal: $p
  buckets:
EOF
	for b in "${buckets[@]}"; do
		local disc=true
		for a in "${hidden[@]+"${hidden[@]}"}"; do [ "$a" = "$b" ] && disc=false; done
		printf '    - bucketName: %s\n      discoverable: %s\n' "$b" "$disc"
	done
	if [ ${#grants[@]} -eq 0 ]; then echo "  bucketAccessGrants: []"; else
		echo "  bucketAccessGrants:"
		for g in "${grants[@]}"; do
			IFS=: read -r b a r <<<"$g"
			printf '    - bucketName: %s\n      grantee: %s\n      permission: %s\n      grantedAt: "%s"\n' \
				"$b" "$a" "$r" "$now"
		done
	fi
	if [ ${#requests[@]} -eq 0 ]; then echo "  bucketAccessRequests: []"; else
		echo "  bucketAccessRequests:"
		for r in "${requests[@]}"; do
			printf '    - bucketName: %s\n      reason: %s\n      requestedAt: "%s"\n' \
				"${r%%:*}" "${r#*:}" "$now"
		done
	fi
}

# ws_setup PRINCIPAL BUCKET... [storage_doc options] — adds workspace
# ws-PRINCIPAL to this test's Storage set ($S3GATE_DIR/storage.yaml, one
# document per workspace) and syncs the whole set (a sync is a full
# reconcile: what the file lacks is removed).  sync creates the buckets at
# the backend.
ws_setup() {
	local p=$1 f
	[ -n "${S3GATE_DIR:-}" ] || { echo "ws_setup: no s3gate started" >&2; return 1; }
	mkdir -p "$S3GATE_DIR/storage.d"
	storage_doc "$@" >"$S3GATE_DIR/storage.d/ws-$p.yaml"
	: >"$S3GATE_DIR/storage.yaml"
	for f in "$S3GATE_DIR"/storage.d/*.yaml; do
		[ -s "$S3GATE_DIR/storage.yaml" ] && echo "---" >>"$S3GATE_DIR/storage.yaml"
		cat "$f" >>"$S3GATE_DIR/storage.yaml"
	done
	if [ "$S3GATE_DIRECT_RGW" = 1 ]; then
		shift
		local b
		for b in "$@"; do
			case $b in --*) break ;; esac
			backend_aws s3api head-bucket --bucket "$b" >/dev/null 2>&1 ||
				backend_aws s3api create-bucket --bucket "$b" >/dev/null || return 1
		done
		return 0
	fi
	s3gate_sync "$S3GATE_DIR/storage.yaml"
}

# ---- s3gate ----------------------------------------------------------------

S3GATE_NAMES=()

# s3gate_have — are the binaries built?
s3gate_have() { [ -x "$S3GATE_BIN/s3gate" ] && [ -x "$S3GATE_BIN/s3gate-admin" ]; }

# need_s3gate NAME [WHY_DIRECT] — ends the file with "skip - NAME # WHY"
# unless the binaries are built, and (given WHY_DIRECT, why the file means
# nothing without the proxy) when it runs against RGW itself
# (S3GATE_DIRECT_RGW=1)
need_s3gate() {
	if [ $# -gt 1 ] && [ "$S3GATE_DIRECT_RGW" = 1 ]; then t_skip "$1" "$2"; exit 0; fi
	s3gate_have || { t_skip "$1" "$(basename "$S3GATE_BIN")/s3gate not built"; exit 0; }
}

# s3gate_start NAME [CONFIG_LINE | STORAGE_FILE]...
# Starts a proxy in $T/NAME on free ports:
#   listen 127.0.0.1:PORT, admin_listen 127.0.0.1:PORT2, backend $RGW_ENDPOINT,
#   backend_credentials (secret file mode 0600), policy_store file $T/NAME/policy,
#   access_log $T/NAME/access.log, region, service_domain s3.local
# An extra line whose directive is one of these replaces it (listen and
# service_domain add).  Arguments that are *.yaml/*.json files are copied
# into the policy folder.  Sets S3GATE_NAME S3GATE_DIR S3GATE_CONF
# S3GATE_PORT S3GATE_ENDPOINT S3GATE_ADMIN_PORT S3GATE_ADMIN_URL
# S3GATE_POLICY_DIR S3GATE_LOG S3GATE_PID.  Returns 1 (after printing the
# log's tail as comments) if it does not start.
s3gate_start() {
	local name=${1:?s3gate_start NAME}; shift
	local dir=$T/$name port aport line d skip a i umask_old
	local -a extra=() files=()
	for a in "$@"; do
		case $a in
		*.yaml | *.yml | *.json) if [ -f "$a" ]; then files+=("$a"); continue; fi ;;
		esac
		extra+=("$a")
	done
	S3GATE_NAME=$name S3GATE_DIR=$dir S3GATE_POLICY_DIR=$dir/policy
	S3GATE_CONF=$dir/s3gate.conf S3GATE_LOG=$dir/s3gate.log
	mkdir -p "$dir/policy"
	if [ "$S3GATE_DIRECT_RGW" = 1 ]; then
		S3GATE_ENDPOINT=$RGW_ENDPOINT S3GATE_PORT=${RGW_ENDPOINT##*:} S3GATE_PID=""
		S3GATE_ADMIN_URL="" S3GATE_ADMIN_PORT=""
		return 0
	fi
	s3gate_have || { echo "# s3gate_start: $S3GATE_BIN/s3gate not built"; return 1; }
	port=$(free_port)
	aport=$(free_port)
	umask_old=$(umask); umask 077
	printf '%s\n' "$RGW_SECRET_KEY" >"$dir/backend.secret"
	umask "$umask_old"
	chmod 600 "$dir/backend.secret"
	for a in "${files[@]+"${files[@]}"}"; do cp "$a" "$dir/policy/"; done
	{
		echo "# written by tests/integ/lib.sh for $TEST_NAME/$name"
		while read -r line; do
			d=${line%% *}
			skip=0
			case $d in listen | service_domain) ;; *)
				for a in "${extra[@]+"${extra[@]}"}"; do
					[ "${a%% *}" = "$d" ] && skip=1
				done ;;
			esac
			[ $skip = 1 ] || echo "$line"
		done <<EOF
listen 127.0.0.1:$port
admin_listen 127.0.0.1:$aport
backend $RGW_ENDPOINT
backend_credentials $RGW_ACCESS_KEY $dir/backend.secret
policy_store file $dir/policy
region $S3_REGION
service_domain s3.local
access_log $dir/access.log
EOF
		for a in "${extra[@]+"${extra[@]}"}"; do echo "$a"; done
	} >"$S3GATE_CONF"
	# S3GATE_LAUNCH: a command that execs its arguments (taskset -c 0, say)
	${S3GATE_LAUNCH:-} "$S3GATE_BIN/s3gate" -c "$S3GATE_CONF" </dev/null >>"$S3GATE_LOG" 2>&1 &
	S3GATE_PID=$!
	echo "$S3GATE_PID $name $S3GATE_CONF" >>"$T/.s3gate.pids"
	S3GATE_NAMES+=("$name")
	echo "$S3GATE_PID" >"$dir/pid"
	for ((i = 0; i < 150; i++)); do
		if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
			S3GATE_PORT=$port S3GATE_ADMIN_PORT=$aport
			S3GATE_ENDPOINT="http://127.0.0.1:$port"
			S3GATE_ADMIN_URL="http://127.0.0.1:$aport"
			export S3GATE_ENDPOINT S3GATE_CONF S3GATE_DIR
			return 0
		fi
		kill -0 "$S3GATE_PID" 2>/dev/null || break
		sleep 0.1
	done
	echo "# s3gate $name did not start (port $port); tail of $S3GATE_LOG:"
	tail -n 20 "$S3GATE_LOG" | sed 's/^/#   /'
	s3gate_stop "$name" >/dev/null
	return 1
}

# _s3gate_sanitizer_report LOG — prints the first sanitizer report in LOG
_s3gate_sanitizer_report() {
	grep -n -m1 -E 'ERROR: (Address|Leak|Memory|Thread)Sanitizer|runtime error:' "$1" >/dev/null 2>&1 || return 1
	grep -A 25 -m1 -E 'ERROR: (Address|Leak|Memory|Thread)Sanitizer|runtime error:' "$1"
}

# _s3gate_term NAME — SIGTERM, waits up to 15 s (KILL after); prints why and
# returns 1 unless the proxy exited 0
_s3gate_term() {
	local name=$1 dir=$T/$1 pid i rc=0 st
	pid=$(cat "$dir/pid" 2>/dev/null) || return 0
	rm -f "$dir/pid"
	_s3gate_up() {
		local s
		s=$(sed -E 's/^[0-9]+ \(.*\) (.).*/\1/' "/proc/$1/stat" 2>/dev/null) || return 1
		[ "$s" != Z ]
	}
	if _s3gate_up "$pid"; then
		kill -TERM "$pid" 2>/dev/null
		for ((i = 0; i < 150; i++)); do
			_s3gate_up "$pid" || break
			sleep 0.1
		done
		if _s3gate_up "$pid"; then
			echo "s3gate $name did not exit within 15 s of SIGTERM; killed"
			kill -KILL "$pid" 2>/dev/null
			rc=1
		fi
	fi
	wait "$pid" 2>/dev/null
	st=$?
	if [ $rc -eq 0 ] && [ $st -ne 0 ] && [ $st -ne 127 ]; then
		echo "s3gate $name exited $st after SIGTERM; tail of its log:"
		tail -n 15 "$dir/s3gate.log"
		rc=1
	fi
	return $rc
}

# s3gate_stop [NAME] — stops the proxy (default: the one started last).
# Call it in the test's own shell (not inside $(...) or t_check), so that its
# exit status can be read.
# Returns 1 and prints why if it did not exit 0 on SIGTERM or its log holds
# a sanitizer report.  (Reports are also turned into a failing result when
# the test file exits, whether or not s3gate_stop was called.)
s3gate_stop() {
	local name=${1:-${S3GATE_NAME:-}} rc=0
	[ -n "$name" ] || return 0
	_s3gate_term "$name" || rc=1
	if _s3gate_sanitizer_report "$T/$name/s3gate.log"; then rc=1; fi
	return $rc
}

# s3gate_admin ARGS... — the admin CLI on the current instance's config
s3gate_admin() { "$S3GATE_BIN/s3gate-admin" -c "$S3GATE_CONF" "$@"; }
# s3gate_sync FILE
s3gate_sync() { s3gate_admin sync "$1"; }
# sync_run FILE — s3gate_admin --json sync FILE: SYNC_RC its exit status,
# its document in $T/sync.json, its stderr in $T/sync.err (tenants'
# resources refused: audits of sync read them with these)
sync_run() {
	SYNC_FILE=$1
	s3gate_admin --json sync "$1" >"$T/sync.json" 2>"$T/sync.err"
	SYNC_RC=$?
}
# sync_exited WANT_RC — the last sync_run exited WANT_RC, else says how
sync_exited() {
	[ "$SYNC_RC" = "$1" ] || { echo "sync $SYNC_FILE: exit $SYNC_RC, expected $1"; cat "$T/sync.json" "$T/sync.err"; return 1; }
}
# synced FILE WANT_RC — sync_run FILE, then sync_exited WANT_RC
synced() { sync_run "$1" && sync_exited "$2"; }
# sync_said ERE — the last sync's stderr matches ERE, else shows it
sync_said() { grep -Eq -- "$1" "$T/sync.err" || { echo "sync did not say /$1/:"; cat "$T/sync.err"; return 1; }; }
# docs_cat DIR FILE... — DIR's FILEs as one multi-document YAML input
docs_cat() {
	local d=$1 f first=1
	shift
	for f in "$@"; do [ $first = 1 ] || echo "---"; cat "$d/$f"; first=0; done
}

# s3gate_cred PRINCIPAL [PROFILE] — creates credentials for PRINCIPAL; makes
# the profile (default: the principal's name); sets CRED_AKID CRED_SECRET
# (CRED_TOKEN when a third field is printed).
s3gate_cred() {
	local p=$1 prof=${2:-$1} out
	if [ "$S3GATE_DIRECT_RGW" = 1 ]; then
		CRED_AKID=$RGW_ACCESS_KEY CRED_SECRET=$RGW_SECRET_KEY CRED_TOKEN=""
	else
		out=$(s3gate_admin cred create "$p" "${@:3}") || { echo "cred create $p: $out"; return 1; }
		read -r CRED_AKID CRED_SECRET CRED_TOKEN <<<"$(tail -n 1 <<<"$out")"
		[ -n "$CRED_SECRET" ] || { echo "cred create $p printed: $out"; return 1; }
	fi
	profile_set "$prof" "$CRED_AKID" "$CRED_SECRET" "${CRED_TOKEN:-}"
}

# profile_set PROFILE AKID SECRET [TOKEN] — a named set of credentials for
# the client wrappers (also written as an aws-cli profile in $T/home/.aws).
# The aws-cli profile sets s3.signature_version = s3v4, as users of s3gate
# are told to: aws-cli v1's `s3 presign` otherwise makes SigV2 links, which
# s3gate refuses.  PROFILE_S3V4=0 leaves the client's default.
profile_set() {
	local prof=$1
	printf '%s %s %s\n' "$2" "$3" "${4:-}" >"$T/profiles/$prof"
	{
		printf '[%s]\naws_access_key_id = %s\naws_secret_access_key = %s\n' "$prof" "$2" "$3"
		[ -z "${4:-}" ] || printf 'aws_session_token = %s\n' "$4"
	} >>"$T/home/.aws/credentials"
	{
		printf '[profile %s]\nregion = %s\n' "$prof" "$S3_REGION"
		[ "${PROFILE_S3V4:-1}" = 0 ] || printf 's3 =\n    signature_version = s3v4\n'
	} >>"$T/home/.aws/config"
}

# _prof PROFILE — sets P_AKID P_SECRET P_TOKEN P_EP
_prof() {
	[ -f "$T/profiles/$1" ] || { echo "no profile '$1' (s3gate_cred / profile_set)" >&2; return 1; }
	read -r P_AKID P_SECRET P_TOKEN <"$T/profiles/$1"
	P_NAME=$1
	P_EP=${S3_ENDPOINT:-${S3GATE_ENDPOINT:-}}
	[ -n "$P_EP" ] || { echo "no endpoint: start s3gate or set S3_ENDPOINT" >&2; return 1; }
}

# ---- clients ---------------------------------------------------------------

# _aws BIN PROFILE ARGS... — progress meters off, one attempt (retries would
# hide a proxy's failures), private config
_aws() {
	local bin=$1; shift
	_prof "$1" || return 2
	shift
	local -a extra=()
	case "${1:-} ${2:-}" in
	"s3 cp" | "s3 mv" | "s3 sync" | "s3 rm") extra=(--only-show-errors) ;;
	esac
	env -u AWS_PROFILE -u AWS_DEFAULT_PROFILE -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY \
		-u AWS_SESSION_TOKEN -u AWS_CA_BUNDLE -u AWS_ENDPOINT_URL \
		HOME="$T/home" AWS_CONFIG_FILE="$T/home/.aws/config" \
		AWS_SHARED_CREDENTIALS_FILE="$T/home/.aws/credentials" AWS_PROFILE="$P_NAME" \
		${S3_CA_BUNDLE:+AWS_CA_BUNDLE="$S3_CA_BUNDLE"} \
		AWS_DEFAULT_REGION="$S3_REGION" AWS_EC2_METADATA_DISABLED=true AWS_PAGER="" \
		AWS_RETRY_MODE=standard AWS_MAX_ATTEMPTS="${TEST_AWS_MAX_ATTEMPTS:-1}" \
		"$bin" --endpoint-url "$P_EP" "$@" "${extra[@]+"${extra[@]}"}"
}
# awsv1 PROFILE ARGS... — aws-cli v1 (botocore 1.43: CRC32 checksums by default)
awsv1() { [ -n "$AWSV1" ] || { echo "aws-cli v1 not found" >&2; return 2; }; _aws "$AWSV1" "$@"; }
# awsv2 PROFILE ARGS... — Debian's aws-cli v2
awsv2() { [ -n "$AWSV2" ] || { echo "aws-cli v2 not found" >&2; return 2; }; _aws "$AWSV2" "$@"; }

# backend_aws ARGS... — aws-cli straight to RGW with the service credentials
# (what is really stored at the backend)
backend_aws() {
	[ -f "$T/profiles/_backend" ] || profile_set _backend "$RGW_ACCESS_KEY" "$RGW_SECRET_KEY"
	S3_ENDPOINT=$RGW_ENDPOINT _aws "${AWSV1:-$AWSV2}" _backend "$@"
}

# rclone_s3 PROFILE ARGS... — the remote is "s3g:" (s3g:BUCKET/KEY).
# rclone 1.60 refuses to start with AWS_CA_BUNDLE set: it is removed.
# no_check_bucket: users without bucket-create rights need it (override with
# RCLONE_NO_CHECK_BUCKET=false).
rclone_s3() {
	_prof "$1" || return 2
	shift
	: >"$T/home/rclone.conf"
	env -u AWS_CA_BUNDLE -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY -u AWS_SESSION_TOKEN \
		-u AWS_PROFILE HOME="$T/home" RCLONE_CONFIG="$T/home/rclone.conf" \
		RCLONE_CONFIG_S3G_TYPE=s3 RCLONE_CONFIG_S3G_PROVIDER=Ceph \
		RCLONE_CONFIG_S3G_ENV_AUTH=false \
		RCLONE_CONFIG_S3G_ENDPOINT="$P_EP" RCLONE_CONFIG_S3G_REGION="$S3_REGION" \
		RCLONE_CONFIG_S3G_ACCESS_KEY_ID="$P_AKID" RCLONE_CONFIG_S3G_SECRET_ACCESS_KEY="$P_SECRET" \
		${P_TOKEN:+RCLONE_CONFIG_S3G_SESSION_TOKEN="$P_TOKEN"} \
		RCLONE_CONFIG_S3G_FORCE_PATH_STYLE=true \
		RCLONE_CONFIG_S3G_NO_CHECK_BUCKET="${RCLONE_NO_CHECK_BUCKET:-true}" \
		${S3_CA_BUNDLE:+RCLONE_CA_CERT="$S3_CA_BUNDLE"} \
		RCLONE_RETRIES=1 RCLONE_LOW_LEVEL_RETRIES=1 \
		rclone "$@"
}

# s3cmd_s3 PROFILE ARGS... — s3cmd 2.3 with a generated config (SigV4, path style)
s3cmd_s3() {
	_prof "$1" || return 2
	local prof=$1 hp https=False cfg; shift
	hp=${P_EP#*://}; hp=${hp%%/*}
	case $P_EP in https://*) https=True ;; esac
	cfg=$T/home/s3cmd-$prof.cfg
	cat >"$cfg" <<EOF
[default]
access_key = $P_AKID
secret_key = $P_SECRET
access_token = ${P_TOKEN:-}
host_base = $hp
host_bucket = $hp
bucket_location = $S3_REGION
use_https = $https
check_ssl_certificate = True
ca_certs_file = ${S3_CA_BUNDLE:-}
signature_v2 = False
guess_mime_type = False
progress_meter = False
max_retries = 1
EOF
	env -u AWS_CA_BUNDLE -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY HOME="$T/home" \
		s3cmd -c "$cfg" "$@"
}

# boto3_py PROFILE 'CODE' [ARGS...] — /usr/bin/python3 with boto3; CODE sees
# s3 (a client: endpoint, path addressing, one attempt), session, EP,
# AKID, SECRET, REGION, TransferConfig, ClientError, and sys.argv[1:] = ARGS.
boto3_py() {
	_prof "$1" || return 2
	local code=$2; shift 2
	env -u AWS_PROFILE -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY -u AWS_SESSION_TOKEN \
		-u AWS_CA_BUNDLE HOME="$T/home" AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null \
		AWS_EC2_METADATA_DISABLED=true \
		B3_EP="$P_EP" B3_AKID="$P_AKID" B3_SECRET="$P_SECRET" B3_TOKEN="${P_TOKEN:-}" \
		B3_REGION="$S3_REGION" B3_CA="${S3_CA_BUNDLE:-}" \
		"$PY3" -c 'import os, sys
import boto3, botocore
from botocore.config import Config
from botocore.exceptions import ClientError
from boto3.s3.transfer import TransferConfig
EP, AKID, SECRET, REGION = os.environ["B3_EP"], os.environ["B3_AKID"], os.environ["B3_SECRET"], os.environ["B3_REGION"]
session = boto3.session.Session(aws_access_key_id=AKID, aws_secret_access_key=SECRET,
    aws_session_token=os.environ["B3_TOKEN"] or None, region_name=REGION)
s3 = session.client("s3", endpoint_url=EP, verify=os.environ["B3_CA"] or None,
    config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1, "mode": "standard"},
                  signature_version="s3v4"))
'"$code" "$@"
}

# access_lines [FILE] — how many lines the access log (default the current
# proxy's) has; access_grew N [FILE] — more than N.  A request's line is
# written once its answer has gone out: the client may read the answer
# before the line is there.  Count before, then wait_for 10 access_grew N.
access_lines() { wc -l 2>/dev/null <"${1:-$S3GATE_DIR/access.log}" || echo 0; }
access_grew() { [ "$(access_lines "${2:-}")" -gt "$1" ]; }
# alog_last DIR FILTER_PY — the last line of DIR/access.log for which the
# Python expression FILTER_PY (over the line's dict r) is true; until one
# matches, looked for again (10 s): a request's line is written once its
# answer has gone out, so a client may look before it is there
alog_last() {
	local out rc
	_alog_last_once() {
		out=$("$PY3" - "$1/access.log" "$2" 2>&1 <<'EOF'
import json, sys
last = None
for line in open(sys.argv[1]):
    r = json.loads(line)
    if eval(sys.argv[2]):
        last = line.strip()
if last is None:
    sys.exit("no access-log line matches " + sys.argv[2])
print(last)
EOF
)
	}
	sleep 0.3
	wait_for 10 _alog_last_once "$1" "$2"; rc=$?
	echo "$out"
	return $rc
}
# last_remote — the "remote" of the current proxy's last access log line
last_remote() {
	sleep 0.3
	tail -n 1 "$S3GATE_DIR/access.log" | "$PY3" -c 'import json,sys; print(json.load(sys.stdin)["remote"])'
}
# pp_answer WANT_STATUS WANT_REMOTE PORT ARGS... — helpers/ppclient.py's answer
# (a PROXY header, then a request) is WANT_STATUS, and the request is logged
# as from WANT_REMOTE
pp_answer() {
	local want=$1 remote=$2 got r n0
	shift 2
	n0=$(access_lines)
	got=$("$PY3" "$LIB_DIR/helpers/ppclient.py" "$@")
	[ "$got" = "$want" ] || { echo "answer '$got', want $want"; return 1; }
	wait_for 10 access_grew "$n0"
	r=$(last_remote)
	[ "$r" = "$remote" ] || { echo "logged as from '$r', want $remote"; return 1; }
}

# pp_ready FILE — helpers/ppclient.py (--ready FILE) has opened its connections and sent their headers
# (FILE written; at most 10 s), and s3gate has had a moment to count them (0.2 s: the
# per-address count is not in /metrics to be polled for, and a longer pause eats into
# the --hold that must outlast the next client's start, itself under idle_timeout)
pp_ready() {
	wait_for 10 test -s "$1"
	sleep 0.2
}

# selfsigned NAME — a self-signed EC certificate for localhost and its key:
# $T/certs/NAME.pem, $T/certs/NAME.key (mode 0600); openssl's words if not
selfsigned() {
	mkdir -p "$T/certs" && chmod 700 "$T/certs" &&
		openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
			-keyout "$T/certs/$1.key" -out "$T/certs/$1.pem" -days 2 -subj /CN=localhost 2>&1 &&
		chmod 600 "$T/certs/$1.key"
}

# boto3_cmu_location PROFILE BUCKET KEY WANT — boto3 uploads KEY in one part
# (create, upload_part, complete); CompleteMultipartUpload's Location must
# be WANT (the URL the client addressed) and name no backend address; the
# object reads back
boto3_cmu_location() {
	RGW_HOSTPORT=${RGW_ENDPOINT#*://} boto3_py "$1" '
b, key, want = sys.argv[1:4]
up = s3.create_multipart_upload(Bucket=b, Key=key)["UploadId"]
etag = s3.upload_part(Bucket=b, Key=key, UploadId=up, PartNumber=1, Body=b"x" * 1000)["ETag"]
r = s3.complete_multipart_upload(Bucket=b, Key=key, UploadId=up,
    MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": etag}]})
print("Location", r["Location"], "want", want)
assert r["Location"] == want, "Location is not the URL addressed"
assert os.environ["RGW_HOSTPORT"] not in r["Location"], "names the backend"
assert r["Key"] == key and r["Bucket"] == b, r
assert s3.get_object(Bucket=b, Key=key)["Body"].read() == b"x" * 1000
' "$2" "$3" "$4"
}

# curl_sigv4 PROFILE CURL_ARGS... — curl signing SigV4 with the profile's
# keys; the payload hash header is $CURL_PAYLOAD_HASH (default
# UNSIGNED-PAYLOAD).  Use s3_url to build the URL.
curl_sigv4() {
	_prof "$1" || return 2
	shift
	curl -sS --aws-sigv4 "aws:amz:$S3_REGION:s3" --user "$P_AKID:$P_SECRET" \
		-H "x-amz-content-sha256: ${CURL_PAYLOAD_HASH:-UNSIGNED-PAYLOAD}" \
		${P_TOKEN:+-H "x-amz-security-token: $P_TOKEN"} \
		${S3_CA_BUNDLE:+--cacert "$S3_CA_BUNDLE"} "$@"
}

# get_each PROFILE URL WANT N — N signed GETs of URL, each 200 and byte for
# byte the file WANT; says which failed
get_each() {
	local i code
	for i in $(seq "$4"); do
		code=$(curl_sigv4 "$1" --max-time 20 -o "$T/get_each.got" -w '%{http_code}' "$2" 2>/dev/null)
		[ "$code" = 200 ] && same_file "$3" "$T/get_each.got" ||
			{ echo "GET $i: HTTP $code"; head -c 300 "$T/get_each.got"; return 1; }
	done
}

# sigv4_status PROFILE URL [CURL_ARGS...] — the HTTP status of the profile's
# signed request (a GET unless CURL_ARGS say otherwise)
sigv4_status() {
	local p=$1 u=$2
	shift 2
	curl_sigv4 "$p" -o /dev/null -w '%{http_code}' --max-time 10 "$@" "$u" 2>/dev/null
}

# want_code WHAT CODE PROFILE URL [CURL_ARGS...] — the status of the
# profile's signed request (sigv4_status) is CODE, else says what came
want_code() {
	local what=$1 code=$2 c
	shift 2
	c=$(sigv4_status "$@")
	[ "$c" = "$code" ] || { echo "$what: HTTP $c, expected $code"; return 1; }
}

# until_ok PROFILE URL — waits (at most 10 s by the clock) until the
# profile's signed GET of URL is served (200): new credentials or grants
# have reached the proxy
until_ok() {
	_until_ok_200() { [ "$(sigv4_status "$1" "$2")" = 200 ]; }
	wait_for 10 _until_ok_200 "$1" "$2" && return 0
	echo "not served within 10 s: HTTP $(sigv4_status "$1" "$2")"; return 1
}

# wait_sigv4_status PROFILE URL WANT MS — polls until the status of the
# signed GET is WANT, within MS: prints the milliseconds it took; else
# says how late or what came last and returns 1 (how soon a policy change
# is enforced: a WANT that came after MS is late, not a pass).  Each
# request counts from when it was sent: a WANT to a request sent within MS
# passes however long a loaded machine took to carry it out (the proxy
# decided after it was sent); a request sent after MS is late.
wait_sigv4_status() {
	local t0 sent now c
	t0=$(date +%s%3N)
	while :; do
		sent=$(date +%s%3N)
		c=$(sigv4_status "$1" "$2")
		now=$(date +%s%3N)
		if [ "$c" = "$3" ]; then
			[ $((sent - t0)) -le "$4" ] || { echo "HTTP $c only to a request sent after $((sent - t0)) ms (limit $4 ms)"; return 1; }
			echo "$((sent - t0))"
			return 0
		fi
		if [ $((now - t0)) -gt "$4" ]; then echo "timeout after $((now - t0)) ms (last HTTP $c)"; return 1; fi
		sleep 0.05
	done
}

# s3_url BUCKET[/KEY] — the path-style URL at the current endpoint, the key
# percent-encoded once (as SigV4 wants it)
s3_url() {
	local ep=${S3_ENDPOINT:-${S3GATE_ENDPOINT:-}}
	echo "$ep/$(urlenc "$1")"
}

# ---- CORS headers of an answer ------------------------------------------------

# o_count NAME: how many NAME headers $T/o.head (curl -D) has; o_header NAME: their values
o_count() { tr -d '\r' <"$T/o.head" | awk -v n="$(tr 'A-Z' 'a-z' <<<"$1")" -F': ' 'tolower($1) == n' | wc -l; }
o_header() { tr -d '\r' <"$T/o.head" | awk -v n="$(tr 'A-Z' 'a-z' <<<"$1")" -F': ' 'tolower($1) == n {print $2}'; }
# own_cors WHAT: $T/o.head is s3gate's own error answer, readable by any page
# (proxy/respond.h): its CORS lines once each, no credentials
own_cors() {
	[ "$(o_count access-control-allow-origin)" = 1 ] && [ "$(o_header access-control-allow-origin)" = "*" ] &&
		[ "$(o_header access-control-expose-headers)" = "x-amz-request-id, Retry-After, Date" ] &&
		[ "$(o_header vary)" = Origin ] && [ "$(o_count access-control-allow-credentials)" = 0 ] ||
		{ echo "$1: the page cannot read it:"; cat "$T/o.head"; return 1; }
}
# no_cors WHAT: $T/o.head has no Access-Control-* header at all
no_cors() { ! grep -qi '^access-control-' "$T/o.head" || { echo "$1: CORS headers without Origin:"; cat "$T/o.head"; return 1; }; }

# ---- teardown --------------------------------------------------------------

# lib_on_exit CMD — run CMD (eval'd) when the test file exits, before the
# proxies are stopped
LIB_ON_EXIT=()
lib_on_exit() { LIB_ON_EXIT+=("$1"); }

# own_redis TOPIC — a Redis of this file's own in $T/redis, stopped on exit
# (tests/lib/redis.sh sourced first), for files that stop it or set its
# password; ends the file with a skip if redis-server is missing, with a
# failure if it does not start
own_redis() {
	if ! command -v redis-server >/dev/null; then
		t_skip "$1" "redis-server missing (make deps-test)"; exit 0
	fi
	if ! redis_start "$T/redis" >/dev/null; then
		t_fail "$1: own redis-server starts" "$(tail -n 5 "$T/redis/redis.log" 2>/dev/null)"
		exit 1
	fi
	lib_on_exit 'redis_stop "$T/redis"'
}

_lib_cleanup() {
	local c n out
	for c in "${LIB_ON_EXIT[@]+"${LIB_ON_EXIT[@]}"}"; do eval "$c" || true; done
	for n in "${S3GATE_NAMES[@]+"${S3GATE_NAMES[@]}"}"; do
		[ -f "$T/$n/pid" ] || continue
		# not in $(...): wait(1) must run in the shell that started it
		_s3gate_term "$n" >"$T/.term.out" 2>&1 ||
			t_fail "s3gate $n exits 0 on SIGTERM" "$(cat "$T/.term.out")"
	done
	# a sanitizer report in any instance's log is a failure of this file
	for n in $(printf '%s\n' "${S3GATE_NAMES[@]+"${S3GATE_NAMES[@]}"}" | sort -u); do
		out=$(_s3gate_sanitizer_report "$T/$n/s3gate.log") &&
			t_fail "sanitizer clean: s3gate $n" "$out"
	done
	# big test data is not worth keeping; logs are
	find "$T" -type f -size +4M ! -name '*.log' -delete 2>/dev/null
	return 0
}
trap _lib_cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
