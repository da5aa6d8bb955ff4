#!/bin/bash
# Policy benchmarks (issue 3): sync time and memory for W workspaces and G
# grants, an idempotent re-sync, and decision latency on the loaded model.
#   bench/policy.sh [WORKSPACES] [GRANTS]      (default 10000 50000)
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
W=${1:-10000}
G=${2:-50000}
cd "$ROOT"
make -s build/libs3gate.a bin/s3gate-admin
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
gcc -O2 -std=c17 -D_GNU_SOURCE -I. -I/usr/share/include/llhttp bench/decide_bench.c \
    build/libs3gate.a -levent -levent_openssl -lssl -lcrypto -ljansson -lhiredis -lyaml -lm \
    -lpthread -o "$WORK/decide_bench"
mkdir -p "$WORK/policy"
printf 'x\n' >"$WORK/secret"; chmod 600 "$WORK/secret"
cat >"$WORK/s3gate.conf" <<CONF
listen 127.0.0.1:1
backend http://127.0.0.1:1
backend_credentials BENCHKEY $WORK/secret
policy_store file $WORK/policy
CONF
/usr/bin/python3 - "$W" "$G" >"$WORK/storages.json" <<'PY'
import json, random, sys
w, g = int(sys.argv[1]), int(sys.argv[2])
random.seed(1)
items = []
for i in range(w):
    items.append({"apiVersion": "pkg.internal/v1beta1", "kind": "Storage",
        "metadata": {"name": f"ws-u{i}"},
        "spec": {"principal": f"u{i}", "buckets": [{"bucketName": f"ws-u{i}", "discoverable": True}],
                 "bucketAccessGrants": [], "bucketAccessRequests": []}})
for k in range(g):
    owner = random.randrange(w); grantee = random.randrange(w)
    items[owner]["spec"]["bucketAccessGrants"].append({"bucketName": f"ws-u{owner}",
        "grantee": f"u{grantee}", "permission": random.choice(["ReadOnly", "ReadWrite"]),
        "grantedAt": "2025-10-14T08:09:10Z"})
# one grant per (bucket, grantee): drop duplicates
for it in items:
    seen = set(); out = []
    for gr in it["spec"]["bucketAccessGrants"]:
        if gr["grantee"] in seen or gr["grantee"] == it["spec"]["principal"]:
            continue
        seen.add(gr["grantee"]); out.append(gr)
    it["spec"]["bucketAccessGrants"] = out
print(json.dumps({"apiVersion": "v1", "kind": "List", "items": items}))
PY
ngrants=$(/usr/bin/python3 -c 'import json,sys; print(sum(len(i["spec"]["bucketAccessGrants"]) for i in json.load(open(sys.argv[1]))["items"]))' "$WORK/storages.json")
echo "# $W workspaces, $ngrants grants ($(du -h "$WORK/storages.json" | cut -f1) of JSON)"
# sync applies the policy first, then creates buckets at the backend (none here: port 1)
/usr/bin/time -f "sync: %e s, max RSS %M KiB" bin/s3gate-admin -c "$WORK/s3gate.conf" sync "$WORK/storages.json" >/dev/null 2>"$WORK/sync.err" || true
grep '^sync:' "$WORK/sync.err"
/usr/bin/time -f "re-sync (no change): %e s, max RSS %M KiB" bin/s3gate-admin -c "$WORK/s3gate.conf" sync "$WORK/storages.json" >"$WORK/resync.out" 2>"$WORK/resync.err" || true
grep '^re-sync' "$WORK/resync.err"
echo "re-sync printed $(grep -c '^[+-]' "$WORK/resync.out" || true) changes"
/usr/bin/time -f "decide_bench: max RSS %M KiB (the loaded model)" "$WORK/decide_bench" "$WORK/policy" "$W" 2000000
