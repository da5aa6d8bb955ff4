#!/usr/bin/env bash
# bench/sync.sh — how long `s3gate-admin sync` takes for a platform of N
# workspaces, into the file store and (when redis-server is installed) into
# Redis.
#
#   bench/sync.sh [N]        (default 10000)
#
# Each workspace ws-userI has two buckets, one grant (to user I+1) and one
# request (for user I+2's bucket), as Storage resources in one kubectl-style
# JSON List.  The backend is a closed port, so sync applies the policy and
# then stops at the first bucket it cannot create (the policy is applied
# first, by design): the figures are the policy's part.  Prints, per store,
# the wall seconds of the first sync (everything new) and of a second one
# (no changes).  deploy/kubernetes/sync.yaml runs a sync on every change of
# the Storage resources, so this is the delay a change waits for, beside
# the poll.
set -u -o pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
TOP=$(dirname "$HERE")
N=${1:-10000}
ADMIN=${S3GATE_ADMIN:-$TOP/bin/s3gate-admin}
[ -x "$ADMIN" ] || { echo "sync.sh: $ADMIN not built (make)" >&2; exit 1; }
WORK=$(mktemp -d "${TMPDIR:-/tmp}/s3gate-syncbench.XXXXXX")
REDIS_PID=""
cleanup() {
	[ -n "$REDIS_PID" ] && kill "$REDIS_PID" 2>/dev/null
	rm -rf "$WORK"
}
trap cleanup EXIT

python3 - "$N" "$WORK/storages.json" <<'PY'
import json, sys
n = int(sys.argv[1])
at = "2025-10-14T08:09:10.817000+00:00"
items = [{"apiVersion": "pkg.internal/v1beta1", "kind": "Storage",
          "metadata": {"name": f"ws-user{i}", "namespace": "workspace"},
          "spec": {"principal": f"user{i}",
                   "buckets": [{"bucketName": f"ws-user{i}", "discoverable": True},
                               {"bucketName": f"ws-user{i}-2", "discoverable": False}],
                   "bucketAccessGrants": [{"bucketName": f"ws-user{i}", "grantee": f"user{(i + 1) % n}",
                                           "permission": "ReadOnly", "grantedAt": at}],
                   "bucketAccessRequests": [{"bucketName": f"ws-user{(i + 2) % n}", "reason": "please",
                                             "requestedAt": at}]}}
         for i in range(n)]
json.dump({"apiVersion": "v1", "kind": "List", "items": items}, open(sys.argv[2], "w"))
PY
(umask 077 && echo "not-used" >"$WORK/backend.secret" && openssl rand -hex 32 >"$WORK/policy.key")
mkdir -p "$WORK/policy"
base="listen 127.0.0.1:1
backend http://127.0.0.1:1
backend_credentials AKIASYNCBENCH $WORK/backend.secret"
echo "$base
policy_store file $WORK/policy" >"$WORK/file.conf"

# seconds of one sync (its exit status is 1: no backend to create buckets on)
timed_sync() {
	local t0 t1
	t0=$(date +%s.%N)
	"$ADMIN" -c "$1" sync "$WORK/storages.json" >/dev/null 2>&1
	t1=$(date +%s.%N)
	awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }'
}
report() {	# STORE CONF
	local first again
	first=$(timed_sync "$2")
	again=$(timed_sync "$2")
	echo "$1: $N workspaces ($((2 * N)) buckets, $N grants, $N requests): first sync ${first} s, again (no changes) ${again} s"
}

echo "s3gate-admin sync, $(nproc) CPUs, $(date -u +%Y-%m-%dT%H:%MZ)"
report "file store" "$WORK/file.conf"
if command -v redis-server >/dev/null; then
	port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
	redis-server --port "$port" --bind 127.0.0.1 --save "" --appendonly no >"$WORK/redis.log" 2>&1 &
	REDIS_PID=$!
	for _ in $(seq 50); do redis-cli -p "$port" ping >/dev/null 2>&1 && break; sleep 0.1; done
	echo "$base
policy_store redis redis://127.0.0.1:$port/0
policy_secret_key $WORK/policy.key" >"$WORK/redis.conf"
	report "redis" "$WORK/redis.conf"
else
	echo "redis: redis-server not installed (make deps-test): skipped"
fi
