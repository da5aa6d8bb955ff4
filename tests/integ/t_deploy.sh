#!/bin/bash
# The operator surface as shipped: every sample in conf/ passes `s3gate -t`
# once the files it names exist (they are made here, at the same names under
# a private root), and every Kubernetes manifest in deploy/ parses as YAML
# and holds what the deployment needs (issue 6); the Storage-resources
# watcher of deploy/kubernetes/sync.yaml, its two shell loops run here
# against a stand-in for the API server and the real RGW; s3gate-admin
# check against the real RGW (right and wrong service secret, a
# certificate about to expire).
. "$(dirname "$0")/lib.sh"

if ! s3gate_have; then
	t_skip "sample configurations pass s3gate -t" "$(basename "$S3GATE_BIN")/s3gate not built"
else
	R=$T/root
	mkdir -p "$R"
	# the files the samples name, made under $R at the same paths
	make_files() {
		local f p
		for p in $(grep -hoE '/((etc|var/lib|var/log)/s3gate|tmp/s3gate-demo)/[A-Za-z0-9_./-]+' "$ROOT"/conf/*.conf | sort -u); do
			case $p in *...|*/) continue ;; esac
			mkdir -p "$(dirname "$R$p")"
			case $p in
			*.key) [ -s "$R$p" ] || openssl req -x509 -newkey rsa:2048 -nodes -days 2 \
				-subj /CN=s3.example.org -keyout "$R$p" -out "${R%/}${p%.key}.pem" >/dev/null 2>&1
				# policy.key is a 64-hex-digit secret, not a TLS key
				case $p in */policy.key) openssl rand -hex 32 >"$R$p" ;; esac ;;
			*.crt|*.pem) ;;
			*.secret|*.password) echo "service-secret" >"$R$p" ;;
			*/policy) mkdir -p "$R$p" ;;
			*.log) : >"$R$p" ;;
			esac
		done
		# certificates named next to their keys (tls.crt/tls.key, NAME.pem/NAME.key)
		for f in "$R"/etc/s3gate/tls/*.key; do
			[ -e "$f" ] || continue
			base=${f%.key}
			[ -e "$base.pem" ] && cp "$base.pem" "$base.crt" 2>/dev/null
		done
		[ -e "$R/etc/s3gate/tls/tls.key" ] && openssl req -x509 -newkey rsa:2048 -nodes -days 2 \
			-subj /CN=s3.example.org -keyout "$R/etc/s3gate/tls/tls.key" \
			-out "$R/etc/s3gate/tls/tls.crt" >/dev/null 2>&1
		find "$R" -type f \( -name '*.key' -o -name '*.secret' -o -name '*.password' \) -exec chmod 600 {} +
		mkdir -p "$R/etc/s3gate/ca" "$R/etc/s3gate/conf.d"
		cp "$R/etc/s3gate/tls/tls.crt" "$R/etc/s3gate/ca/ca.crt" 2>/dev/null
		cp "$R/etc/s3gate/tls/tls.crt" "$R/etc/s3gate/backend-ca.pem" 2>/dev/null
	}
	make_files
	for conf in "$ROOT"/conf/*.conf; do
		name=$(basename "$conf")
		# the samples' backend host does not resolve here: -t resolves it
		sed -E -e "s#(/etc|/var/lib|/var/log)/s3gate/#$R\1/s3gate/#g" -e "s#/tmp/s3gate-demo/#$R/tmp/s3gate-demo/#g" \
			-e "s#//objectstore\.internal\.example\.org#//127.0.0.1#" "$conf" >"$T/$name"
		t_check "conf/$name passes s3gate -t (its files made at the same paths)" \
			"$S3GATE_BIN/s3gate" -t -c "$T/$name"
	done
fi

manifests() {
	"$PY3" - "$ROOT/deploy/kubernetes" <<'PY'
import glob, os, sys, yaml
kinds = {}
for f in sorted(glob.glob(os.path.join(sys.argv[1], "*.yaml"))):
    with open(f) as fh:
        for doc in yaml.safe_load_all(fh):
            if doc is None:
                continue
            assert isinstance(doc, dict), f"{f}: a document that is not a mapping"
            kinds.setdefault(doc.get("kind"), []).append(doc)
need = ["Deployment", "Service", "ConfigMap", "Secret", "PodDisruptionBudget"]
missing = [k for k in need if k not in kinds]
assert not missing, f"no {missing} in deploy/kubernetes"
dep = [d for d in kinds["Deployment"] if d["metadata"]["name"] == "s3gate"][0]
pod = dep["spec"]["template"]["spec"]
c = [x for x in pod["containers"] if "s3gate" in x["name"]][0]
assert c.get("readinessProbe", {}).get("httpGet", {}).get("path") == "/readyz", "readiness probe"
assert c.get("livenessProbe", {}).get("httpGet", {}).get("path") == "/healthz", "liveness probe"
assert c.get("resources", {}).get("limits"), "resource limits"
assert pod.get("affinity", {}).get("podAntiAffinity") or pod.get("topologySpreadConstraints"), \
    "replicas spread over nodes (anti-affinity or topology spread)"
# Redis: a password (whoever writes to Redis grants any bucket), the one s3gate reads
conf = "\n".join(d["data"].get("s3gate.conf", "") for d in kinds["ConfigMap"])
assert "\npolicy_store_password " in "\n" + "\n".join(l.strip() for l in conf.splitlines()), \
    "s3gate's config reads the Redis password from a file"
rds = [d for d in kinds["Deployment"] if d["metadata"]["name"] == "s3gate-redis"][0]
rc = rds["spec"]["template"]["spec"]["containers"][0]
assert "--requirepass" in rc["args"], "Redis runs with requirepass"
keys = {e["valueFrom"]["secretKeyRef"]["key"] for e in rc.get("env", []) if "valueFrom" in e}
assert "redis.password" in keys, "Redis's password comes from the Secret's redis.password"
sec = [d for d in kinds["Secret"] if d["metadata"]["name"] == "s3gate-secrets"][0]
assert "redis.password" in sec.get("stringData", {}), "the Secret has redis.password"
# the admin port (metrics) only from the monitoring namespace; the S3 port from anyone
nps = {d["metadata"]["name"]: d for d in kinds.get("NetworkPolicy", [])}
assert "s3gate" in nps, "a NetworkPolicy for the s3gate pods"
rules = nps["s3gate"]["spec"]["ingress"]
admin = [r for r in rules if any(p["port"] == 9090 for p in r.get("ports", []))]
assert admin and all(r.get("from") for r in admin), "the admin port is open only to named peers"
# the sync pod: Storage resources read-only, and a label Redis admits
sync = [d for d in kinds["Deployment"] if d["metadata"]["name"] == "s3gate-sync"][0]
assert sync["spec"]["template"]["metadata"]["labels"]["app.kubernetes.io/name"] == "s3gate-admin", \
    "the sync pod has the label redis.yaml's NetworkPolicy admits"
role = [d for d in kinds["ClusterRole"] if d["metadata"]["name"] == "s3gate-storage-reader"][0]
assert role["rules"] == [{"apiGroups": ["pkg.internal"], "resources": ["storages"],
                          "verbs": ["get", "list", "watch"]}], "the sync pod reads Storage resources only"
kust = yaml.safe_load(open(os.path.join(sys.argv[1], "kustomization.yaml")))
assert "sync.yaml" in kust["resources"], "kustomization.yaml applies sync.yaml"
print("kinds:", ", ".join(sorted(k for k in kinds if k)))
PY
}
t_check "deploy/kubernetes: the manifests parse and hold Deployment (probes, limits, spread over nodes), Service, ConfigMap, Secret, PodDisruptionBudget; Redis requires the password s3gate reads; the admin port is not open to all; the sync pod reads Storage resources only" manifests

# ---- deploy/kubernetes/sync.yaml's loops ------------------------------------------
# Its two containers' scripts, as written there, run here: "storages" polls
# a stand-in for the API server (python, serving a StorageList whose
# resourceVersion moves on every request, as a real one's may), "sync" runs
# s3gate-admin against an s3gate of this test and the real RGW.
sync_script() {	# NAME: the script of the container whose first line is "# s3gate-sync: NAME"
	"$PY3" - "$ROOT/deploy/kubernetes/sync.yaml" "$1" <<'PY'
import sys, yaml
for doc in yaml.safe_load_all(open(sys.argv[1])):
    if doc and doc.get("kind") == "Deployment":
        for c in doc["spec"]["template"]["spec"]["containers"]:
            script = c["command"][-1]
            if script.startswith("# s3gate-sync: " + sys.argv[2] + "\n"):
                print(script)
PY
}
# the list the stand-in serves: every Storage resource of FILE (YAML)
api_list() {
	"$PY3" -c 'import json, sys, yaml
docs = [d for d in yaml.safe_load_all(open(sys.argv[1])) if d]
json.dump({"apiVersion": "pkg.internal/v1beta1", "kind": "StorageList", "metadata": {}, "items": docs},
          open(sys.argv[2] + ".tmp", "w"))' "$1" "$T/api/list.json" && mv "$T/api/list.json.tmp" "$T/api/list.json"
}
sync_loops_setup() {
	mkdir -p "$T/api" "$T/sa" "$T/shared" "$T/synctmp" && echo token >"$T/sa/token" && : >"$T/sa/ca.crt" &&
		sync_script storages >"$T/storages.sh" && sync_script sync >"$T/sync.sh" &&
		[ -s "$T/storages.sh" ] && [ -s "$T/sync.sh" ] || return 1
	API_PORT=$(free_port)
	"$PY3" - "$API_PORT" "$T/api/list.json" >"$T/api.log" 2>&1 <<'PY' &
import http.server, json, sys
n = 0
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        global n
        if self.path != "/apis/pkg.internal/v1beta1/storages" or self.headers.get("Authorization") != "Bearer token":
            self.send_response(404); self.end_headers(); return
        n += 1
        doc = json.load(open(sys.argv[2]))
        doc["metadata"]["resourceVersion"] = str(1000 + n)
        body = json.dumps(doc, separators=(",", ":")).encode()
        self.send_response(200); self.send_header("Content-Length", str(len(body))); self.end_headers()
        self.wfile.write(body)
http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
PY
	API_PID=$!
	lib_on_exit 'kill $API_PID 2>/dev/null'
	wait_port "$API_PORT" 10
}
sync_loops_start() {	# the two containers, as sync.yaml starts them (in this shell: their pids)
	KUBE_API=http://127.0.0.1:$API_PORT KUBE_SA_DIR=$T/sa STORAGES_FILE=$T/shared/storages.json \
		POLL_SECONDS=1 sh "$T/storages.sh" >"$T/storages.out" 2>&1 &
	STORAGES_PID=$!
	lib_on_exit 'kill $STORAGES_PID 2>/dev/null'
	# "sync" keeps its stamp in /tmp, as in the pod: here a directory of its own
	sed "s#done_stamp=/tmp/synced#done_stamp=$T/synctmp/synced#" "$T/sync.sh" >"$T/sync-here.sh"
	PATH=$S3GATE_BIN:$PATH STORAGES_FILE=$T/shared/storages.json S3GATE_CONF=$S3GATE_CONF \
		sh "$T/sync-here.sh" >"$T/sync.out" 2>&1 &
	SYNC_PID=$!
	lib_on_exit 'kill $SYNC_PID 2>/dev/null'
}
SY_B=ws-sync-$(rand_id)
sync_first() {	# a new workspace in the resources (served from the start): its bucket, its owner
	wait_for 20 backend_aws s3api head-bucket --bucket "$SY_B" >/dev/null 2>&1 || { cat "$T/storages.out" "$T/sync.out"; return 1; }
	s3gate_admin who "$SY_B" | tee "$T/who1" | grep -q syncown
}
sync_grant() {	# a grant added to the resource reaches the store
	storage_doc syncown "$SY_B" --grant "$SY_B:syncgr:ReadOnly" >"$T/res.yaml" && api_list "$T/res.yaml" || return 1
	wait_for 20 sh -c "'$S3GATE_BIN/s3gate-admin' -c '$S3GATE_CONF' who '$SY_B' 2>/dev/null | grep -q syncgr" ||
		{ cat "$T/storages.out" "$T/sync.out"; return 1; }
}
sync_revoke() {	# and its removal revokes it
	storage_doc syncown "$SY_B" >"$T/res.yaml" && api_list "$T/res.yaml" || return 1
	wait_for 20 sh -c "! '$S3GATE_BIN/s3gate-admin' -c '$S3GATE_CONF' who '$SY_B' 2>/dev/null | grep -q syncgr" ||
		{ cat "$T/storages.out" "$T/sync.out"; return 1; }
}
sync_steady() {	# resourceVersions moving alone rewrite nothing: three changes, three syncs
	sleep 3
	local changed synced
	changed=$(grep -c "the Storage resources changed" "$T/storages.out")
	synced=$(grep -cE "^(\+|-|~) |^no changes" "$T/sync.out")
	echo "storages: $changed changes seen; sync: $synced lines; API requests: $(grep -c . "$T/api.log")"
	cat "$T/sync.out"
	[ "$changed" = 3 ] && ! grep -q "no changes" "$T/sync.out"
}
if ! s3gate_have; then
	t_skip "deploy/kubernetes/sync.yaml's loops" "$(basename "$S3GATE_BIN")/s3gate not built"
elif [ "$S3GATE_DIRECT_RGW" = 1 ]; then
	t_skip "deploy/kubernetes/sync.yaml's loops" "s3gate-admin needs an s3gate configuration"
elif ! s3gate_start sy >"$T/sy.start" 2>&1 || ! sync_loops_setup >"$T/sy.setup" 2>&1 ||
	! storage_doc syncown "$SY_B" >"$T/res.yaml" || ! api_list "$T/res.yaml" >>"$T/sy.setup" 2>&1; then
	t_fail "sync.yaml's loops: setup (s3gate, the API stand-in)" "$(cat "$T/sy.start" "$T/sy.setup" 2>/dev/null | tail -n 20)"
else
	sync_loops_start
	t_check "sync.yaml's loops: a new Storage resource makes its bucket at the backend and its workspace in the store" sync_first
	t_check "sync.yaml's loops: a grant added to the resource is in force" sync_grant
	t_check "sync.yaml's loops: the grant removed from the resource is revoked" sync_revoke
	t_check "sync.yaml's loops: a moving resourceVersion alone starts no sync" sync_steady
	kill "$STORAGES_PID" "$SYNC_PID" 2>/dev/null
	backend_aws s3 rb "s3://$SY_B" >/dev/null 2>&1

	# ---- s3gate-admin check, against the same s3gate's configuration and RGW
	check_ok() {	# every check passes: the store, the backend takes the key, the clocks
		s3gate_admin check >"$T/check.out" 2>&1; local rc=$?
		cat "$T/check.out"
		[ "$rc" = 0 ] && grep -q "^ok   backend: .* takes the service credentials" "$T/check.out" &&
			grep -q "^ok   clock: this host's clock is [0-9]* s" "$T/check.out" &&
			grep -q "^ok   policy store: .*1 workspaces" "$T/check.out" &&
			grep -q "^[0-9]* ok, 0 warnings, 0 failed$" "$T/check.out"
	}
	check_bad_secret() {	# a wrong service secret: exit 1, RGW's code, what to fix, no secret shown
		echo "not-the-service-secret" >"$T/wrong.secret" && chmod 600 "$T/wrong.secret" &&
			sed "s#^backend_credentials \([^ ]*\) .*#backend_credentials \1 $T/wrong.secret#" \
				"$S3GATE_CONF" >"$T/wrong.conf" || return 1
		"$S3GATE_BIN/s3gate-admin" -c "$T/wrong.conf" --json check >"$T/check-bad.json" 2>&1; local rc=$?
		cat "$T/check-bad.json"
		[ "$rc" = 1 ] && ! grep -q "not-the-service-secret" "$T/check-bad.json" && "$PY3" -c '
import json, sys
d = json.load(open(sys.argv[1]))
b = [c for c in d["checks"] if c["check"] == "backend"][0]
assert b["result"] == "fail", b
assert "SignatureDoesNotMatch" in b["detail"] and "backend_credentials" in b["detail"], b
' "$T/check-bad.json"
	}
	check_cert_soon() {	# a certificate of 2 days: a warning that names the date, exit 0
		openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=s3.local \
			-keyout "$T/soon.key" -out "$T/soon.pem" >/dev/null 2>&1 && chmod 600 "$T/soon.key" &&
			{ cat "$S3GATE_CONF"; echo "listen 127.0.0.1:$(free_port) tls"
			  echo "tls_certificate $T/soon.pem $T/soon.key"; } >"$T/soon.conf" || return 1
		"$S3GATE_BIN/s3gate-admin" -c "$T/soon.conf" check >"$T/check-soon.out" 2>&1; local rc=$?
		cat "$T/check-soon.out"
		[ "$rc" = 0 ] && grep -q "^warn certificate 1: $T/soon.pem is valid until 20[0-9-]* [0-9:]* UTC ([12] days): renew it soon$" "$T/check-soon.out"
	}
	t_check "s3gate-admin check: the store loads, RGW takes the service credentials, the clocks agree" check_ok
	t_check "s3gate-admin check: a wrong service secret fails with RGW's code and what to fix, never the secret" check_bad_secret
	t_check "s3gate-admin check: a certificate that expires in 2 days is a warning with its date" check_cert_soon
fi
