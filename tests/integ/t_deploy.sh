#!/bin/bash
# The operator surface as shipped: every sample in conf/ passes `s3gate -t`
# once the files it names exist (they are made here, at the same names under
# a private root), and every Kubernetes manifest in deploy/ parses as YAML
# and holds what the deployment needs.  (issue 6)
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
dep = [d for d in kinds["Deployment"] if "s3gate" in d["metadata"]["name"]][0]
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
print("kinds:", ", ".join(sorted(k for k in kinds if k)))
PY
}
t_check "deploy/kubernetes: the manifests parse and hold Deployment (probes, limits, spread over nodes), Service, ConfigMap, Secret, PodDisruptionBudget; Redis requires the password s3gate reads; the admin port is not open to all" manifests
