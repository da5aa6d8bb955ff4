#!/bin/bash
# `make run`: a working local s3gate in front of a throw-away Ceph RGW, with
# the demo workspaces of storage-example.yaml (alice, bob, eric, frank).
#
#   deploy/local/run.sh            Ctrl-C stops s3gate, then Ceph
#
# Exit status: 130 after Ctrl-C (SIGINT), 143 after SIGTERM or SIGHUP,
# s3gate's own if it ends by itself.  A port in use is one line on stderr
# ("run: 127.0.0.1:8080 is in use ...; choose another with
# S3GATE_LISTEN=127.0.0.1:PORT"), exit 1, nothing started.
#
# Environment:
#   S3GATE_LISTEN        client listener        (default 127.0.0.1:8080)
#   S3GATE_ADMIN_LISTEN  health/metrics         (default 127.0.0.1:9090)
#   S3GATE_DEMO_DIR      everything it writes   (default /tmp/s3gate-demo; wiped at start,
#                        so it must be new, empty, or one run.sh made)
#   S3GATE_BIN           the binaries           (default bin/)
#   S3GATE_STORAGE       Storage resources      (default deploy/local/storage-example.yaml)
#
# The backend keeps objects in memory (memstore): they are gone after a stop.
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
. "$ROOT/tests/lib/rgw.sh"

LISTEN=${S3GATE_LISTEN:-127.0.0.1:8080}
ADMIN_LISTEN=${S3GATE_ADMIN_LISTEN:-127.0.0.1:9090}
DEMO=${S3GATE_DEMO_DIR:-/tmp/s3gate-demo}
BIN=${S3GATE_BIN:-$ROOT/bin}
STORAGE=${S3GATE_STORAGE:-$ROOT/deploy/local/storage-example.yaml}
PRINCIPALS="alice bob eric frank"
ENDPOINT="http://$LISTEN"

die() { echo "run: $*" >&2; exit 1; }

for b in s3gate s3gate-admin; do
	[ -x "$BIN/$b" ] || die "$BIN/$b is missing: build it with make"
done
port_taken() {	# HOST:PORT
	(exec 3<>"/dev/tcp/${1%:*}/${1##*:}") 2>/dev/null
}
port_taken "$LISTEN" && die "$LISTEN is in use (another s3gate?); choose another with S3GATE_LISTEN=127.0.0.1:PORT"
port_taken "$ADMIN_LISTEN" && die "$ADMIN_LISTEN is in use; choose another with S3GATE_ADMIN_LISTEN=127.0.0.1:PORT"
# The folder is wiped at start: only one that run.sh made (it leaves a mark
# there; older ones left only their config), or an empty or new one --
# never a home folder named by mistake.
if [ -d "$DEMO" ] && [ ! -e "$DEMO/.s3gate-demo" ] && [ -n "$(ls -A "$DEMO" 2>/dev/null)" ] &&
	! head -n 1 "$DEMO/s3gate.conf" 2>/dev/null | grep -q '^# s3gate local demo'; then
	die "$DEMO holds files run.sh did not make, and would be wiped; choose a new or empty folder with S3GATE_DEMO_DIR=PATH"
fi

S3PID=""
stopping=0
cleanup() {
	[ $stopping = 1 ] && return
	stopping=1
	trap - INT TERM HUP EXIT
	local i
	if [ -n "$S3PID" ] && kill -0 "$S3PID" 2>/dev/null; then
		echo "run: stopping s3gate ($S3PID)" >&2
		kill -TERM "$S3PID" 2>/dev/null
		for ((i = 0; i < 150; i++)); do kill -0 "$S3PID" 2>/dev/null || break; sleep 0.1; done
		kill -0 "$S3PID" 2>/dev/null && { echo "run: s3gate did not stop; killing" >&2; kill -KILL "$S3PID"; }
		wait "$S3PID" 2>/dev/null
	fi
	echo "run: stopping Ceph" >&2
	rgw_stop "$DEMO/rgw"
}
# A trap may fire while a setup step of rgw_start has its stderr sent to a
# log (a Ctrl-C during Ceph's start): the stop is told on the stderr run.sh
# was given, kept here.
exec {ERR_FD}>&2
trap 'cleanup 2>&$ERR_FD; exit 130' INT
trap 'cleanup 2>&$ERR_FD; exit 143' TERM HUP
trap 'cleanup 2>&$ERR_FD' EXIT

# A fresh folder each time: the backend's objects do not outlive it anyway.
[ -d "$DEMO/rgw/pids" ] && rgw_stop "$DEMO/rgw"
rm -rf "$DEMO"
mkdir -p "$DEMO/policy" || die "cannot create $DEMO"
: >"$DEMO/.s3gate-demo"
DEMO=$(cd "$DEMO" && pwd)

echo "run: starting Ceph RGW in $DEMO/rgw ..." >&2
rgw_start "$DEMO/rgw" || die "Ceph RGW did not start (logs: $DEMO/rgw/log)"

(umask 077 && printf '%s\n' "$RGW_SECRET_KEY" >"$DEMO/backend.secret")
cat >"$DEMO/s3gate.conf" <<EOF
# s3gate local demo (deploy/local/run.sh); every directive: conf/ and the README
listen $LISTEN
admin_listen $ADMIN_LISTEN
region us-east-1
service_domain s3.localhost

backend $RGW_ENDPOINT
backend_credentials $RGW_ACCESS_KEY $DEMO/backend.secret

policy_store file $DEMO/policy
# owners may create more buckets of their workspace
bucket_create ws-{principal}-*

access_log stderr
EOF

if ! out=$("$BIN/s3gate" -t -c "$DEMO/s3gate.conf" 2>&1); then
	echo "$out" >&2
	die "the generated config does not pass s3gate -t"
fi
"$BIN/s3gate-admin" -c "$DEMO/s3gate.conf" sync "$STORAGE" >"$DEMO/sync.out" 2>&1 ||
	{ cat "$DEMO/sync.out" >&2; die "s3gate-admin sync $STORAGE failed"; }
sed 's/^/  /' "$DEMO/sync.out"

mkdir -p "$DEMO/creds"
for p in $PRINCIPALS; do
	out=$("$BIN/s3gate-admin" -c "$DEMO/s3gate.conf" cred create "$p" 2>&1) ||
		die "cred create $p: $out"
	read -r akid secret _ <<<"$(tail -n 1 <<<"$out")"
	[ -n "${secret:-}" ] || die "cred create $p printed: $out"
	(umask 077 && cat >"$DEMO/creds/$p.env" <<EOF
export AWS_ACCESS_KEY_ID=$akid
export AWS_SECRET_ACCESS_KEY=$secret
export AWS_DEFAULT_REGION=us-east-1
EOF
	)
done

# s3gate first: the banner below is printed once it answers
"$BIN/s3gate" -c "$DEMO/s3gate.conf" &
S3PID=$!
for ((i = 0; i < 100; i++)); do
	port_taken "$LISTEN" && break
	kill -0 "$S3PID" 2>/dev/null || break
	sleep 0.1
done
port_taken "$LISTEN" || die "s3gate did not start listening on $LISTEN (its log is above)"

cat <<EOF

==========================================================================
 s3gate demo: $ENDPOINT  (backend: Ceph RGW at $RGW_ENDPOINT)
 config $DEMO/s3gate.conf, policy $DEMO/policy
 health: curl http://$ADMIN_LISTEN/healthz   metrics: http://$ADMIN_LISTEN/metrics
==========================================================================
EOF
# what an operator checks first (s3gate-admin check): the store, the
# service credentials at the backend, the clocks
"$BIN/s3gate-admin" -c "$DEMO/s3gate.conf" check 2>&1 | sed 's/^/ /'
for p in $PRINCIPALS; do
	echo
	echo "## $p   (or: source $DEMO/creds/$p.env)"
	sed 's/^export /  export /' "$DEMO/creds/$p.env"
	echo "  aws --endpoint-url $ENDPOINT s3 ls"
	"$BIN/s3gate-admin" -c "$DEMO/s3gate.conf" access "$p" 2>/dev/null | sed 's/^/  #   /'
done
cat <<EOF

  # e.g. as alice:  aws --endpoint-url $ENDPOINT s3 cp /etc/hostname s3://ws-alice/hello
  # aws-cli v1 users: aws configure set default.s3.signature_version s3v4 (for s3 presign)
  # rclone: RCLONE_CONFIG_GATE_TYPE=s3 RCLONE_CONFIG_GATE_PROVIDER=Other \\
  #   RCLONE_CONFIG_GATE_ENDPOINT=$ENDPOINT RCLONE_CONFIG_GATE_FORCE_PATH_STYLE=true \\
  #   RCLONE_CONFIG_GATE_ENV_AUTH=true rclone ls gate:ws-alice   (with AWS_CA_BUNDLE unset)

s3gate runs in the foreground; Ctrl-C stops it and Ceph.
EOF

wait "$S3PID"
rc=$?
S3PID=""
echo "run: s3gate exited $rc" >&2
cleanup
exit $rc
