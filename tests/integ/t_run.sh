#!/bin/bash
# `make run` as a newcomer meets it (README "Two commands"): deploy/local/run.sh
# started in the background with a clean environment, its own process group
# (as at a terminal) and free ports; the banner's lines copied and run as
# they are printed -- `aws s3 ls` as each demo user lists exactly the buckets
# storage-example.yaml gives them, an owner's cp up and down, a ReadWrite
# grantee's write, a refusal without a grant, the rclone and presign hints,
# /healthz and /metrics; the README's example lines are the printed ones; a
# port in use is one line and nothing started; Ctrl-C (SIGINT to the group)
# stops s3gate and Ceph, exit 130, nothing left; a second run in the same
# folder starts afresh; a Ctrl-C while Ceph starts stops it too, and says so.
# Nothing here uses the shared RGW: run.sh starts a Ceph of its own.
. "$(dirname "$0")/lib.sh"

RUN=$ROOT/deploy/local/run.sh
EXAMPLE=$ROOT/deploy/local/storage-example.yaml
DEMO=$T/demo
UP_LIMIT=60	# seconds: "within a minute"

if ! s3gate_have; then
	SKIP_WHY="$(basename "$S3GATE_BIN")/s3gate not built"
elif ! command -v radosgw >/dev/null || ! command -v ceph-mon >/dev/null; then
	SKIP_WHY="Ceph (radosgw, ceph-mon) not installed (make deps-test)"
elif [ -z "$AWSV1$AWSV2" ]; then
	SKIP_WHY="aws-cli not installed (make deps-test)"
fi

# ---- the newcomer's side ----------------------------------------------------

# A newcomer's `aws` is Debian's aws-cli v2 (what make run installs); v1 where
# only that is installed.  Each client is `aws` on the PATH of its own folder.
for v in 1 2; do
	b=AWSV$v
	[ -n "${!b}" ] || continue
	mkdir -p "$T/nc/v$v"
	ln -sf "${!b}" "$T/nc/v$v/aws"
done
NC_AWS=v2
[ -n "$AWSV2" ] || NC_AWS=v1
mkdir -p "$T/nc/home"

# newcomer [v1|v2] SCRIPT — SCRIPT (lines copied from the banner) in a fresh
# login's shell: an empty HOME, none of this machine's AWS_* variables
newcomer() {
	local v=$NC_AWS
	case $1 in v1 | v2) v=$1; shift ;; esac
	env -i HOME="$T/nc/home" PATH="$T/nc/$v:/usr/local/bin:/usr/bin:/bin" LANG=C.UTF-8 \
		timeout 60 bash -c "$1"
}

# run.sh sees what a root login has, plus the sanitizers' options and this
# lane's port slice
run_env() {
	local v
	RUN_ENV=(HOME="$T/nc/home" PATH="$PATH" LANG=C.UTF-8)
	for v in FREE_PORT_RANGE ASAN_OPTIONS UBSAN_OPTIONS LSAN_OPTIONS; do
		[ -n "${!v:-}" ] && RUN_ENV+=("$v=${!v}")
	done
}
run_env

# ---- run.sh -----------------------------------------------------------------

# ere STRING — STRING as an extended regular expression that matches it alone
ere() { sed 's/[][\.*^$+?(){}|]/\\&/g' <<<"$1"; }
# pids whose command line names FOLDER/ (what run.sh started in FOLDER: the
# Ceph daemons and s3gate carry their config's path)
demo_pids() { pgrep -f -- "$(ere "$1/")"; }
# running PID — alive and not a zombie
running() { [ -r "/proc/$1/stat" ] && [ "$(sed -E 's/^[0-9]+ \(.*\) (.).*/\1/' "/proc/$1/stat")" != Z ]; }

RUN_PID=""
# run_start DIR LISTEN ADMIN OUT — run.sh in the background, in a process
# group of its own as a job at a terminal is (Ctrl-C reaches the group)
run_start() {
	set -m
	env -i "${RUN_ENV[@]}" S3GATE_DEMO_DIR="$1" S3GATE_LISTEN="$2" S3GATE_ADMIN_LISTEN="$3" \
		S3GATE_BIN="$S3GATE_BIN" "$RUN" </dev/null >"$4.out" 2>"$4.err" &
	RUN_PID=$!
	set +m
}

# run_wait_up OUT PORT — until the banner is whole and PORT answers: prints
# the seconds taken (with tenths), or why not
run_wait_up() {
	local t0 now
	t0=$(date +%s%N)
	while :; do
		now=$(date +%s%N)
		if grep -q '^s3gate runs in the foreground' "$1.out" 2>/dev/null &&
			(exec 3<>"/dev/tcp/127.0.0.1/$2") 2>/dev/null; then
			printf '%d.%d\n' $(((now - t0) / 1000000000)) $(((now - t0) / 100000000 % 10))
			return 0
		fi
		if ! running "$RUN_PID"; then
			echo "run.sh exited before it was up; tail of its stderr:"
			tail -n 15 "$1.err"
			return 1
		fi
		if [ $((now - t0)) -gt $((UP_LIMIT * 1000000000)) ]; then
			echo "not up after $UP_LIMIT s; tail of its stderr:"
			tail -n 15 "$1.err"
			return 1
		fi
		sleep 0.1
	done
}

# run_interrupt — Ctrl-C: SIGINT to run.sh's process group; waits up to 60 s
# for run.sh to end; sets RUN_RC (none: it did not end)
run_interrupt() {
	local i
	RUN_RC=none
	kill -INT -- "-$RUN_PID" 2>/dev/null
	for ((i = 0; i < 600; i++)); do
		running "$RUN_PID" || break
		sleep 0.1
	done
	[ $i -lt 600 ] || return 1
	wait "$RUN_PID"
	RUN_RC=$?
	RUN_PID=""
}

# What this file started never outlives it, whatever failed: run.sh's group
# (SIGTERM: it stops s3gate and Ceph), then Ceph by its pid files, then
# anything left whose command line names one of this file's demo folders.
run_kill() {
	local i d pid
	if [ -n "$RUN_PID" ] && running "$RUN_PID"; then
		kill -TERM -- "-$RUN_PID" 2>/dev/null
		for ((i = 0; i < 300; i++)); do running "$RUN_PID" || break; sleep 0.1; done
		kill -KILL -- "-$RUN_PID" 2>/dev/null
	fi
	for d in "$T"/demo*; do [ -d "$d/rgw" ] && rgw_stop "$d/rgw" 2>/dev/null; done
	for pid in $(demo_pids "$T/demo"); do kill -KILL "$pid" 2>/dev/null; done
}
lib_on_exit run_kill

# port_free PORT
port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# left_behind DIR PORT... — says what run.sh left: processes naming DIR/, ports
# still answering
left_behind() {
	local d=$1 p pids; shift
	pids=$(demo_pids "$d")
	[ -z "$pids" ] || ps -o pid=,args= -p "$(tr '\n' , <<<"$pids" | sed 's/,$//')"
	for p in "$@"; do port_free "$p" || echo "port $p still answers"; done
}

# ---- what the banner says ---------------------------------------------------

# block OUT PRINCIPAL — the lines of PRINCIPAL's block, "## p" to the blank line
block() { awk -v p="$2" '$1 == "##" && $2 == p {on = 1; next} on && /^$/ {exit} on' "$1.out" 2>/dev/null; }
# copied OUT PRINCIPAL — what a newcomer copies: the export lines and the aws line
copied() { block "$1" "$2" | grep -E '^  (export |aws )' | sed 's/^  //'; }
# akid OUT PRINCIPAL
akid() { copied "$1" "$2" | sed -n 's/^export AWS_ACCESS_KEY_ID=//p'; }
# exports OUT PRINCIPAL — the export lines alone
exports() { copied "$1" "$2" | grep '^export '; }

# storage-example.yaml: "PRINCIPAL BUCKET..." per workspace, owned and granted
# (ListBuckets: owned, member and granted, policy/README.md), then
# "rw BUCKET GRANTEE" (the first ReadWrite grant) and "deny PRINCIPAL BUCKET"
# (another's bucket the principal has no grant on)
EXPECT=$("$PY3" - "$EXAMPLE" <<'PY'
import sys, yaml
docs = [d["spec"] for d in yaml.safe_load_all(open(sys.argv[1])) if d]
sees = {d["principal"]: {b["bucketName"] for b in d["buckets"]} for d in docs}
owner = {b: p for p, bs in sees.items() for b in bs}
rw = None
for d in docs:
    for g in d.get("bucketAccessGrants") or []:
        sees[g["grantee"]].add(g["bucketName"])
        if rw is None and g["permission"] == "ReadWrite":
            rw = (g["bucketName"], g["grantee"])
for p in sees:
    print(p, *sorted(sees[p]))
print("rw", *rw)
p = next(p for p in sees if any(b not in sees[p] for b in owner))
print("deny", p, next(b for b in sorted(owner) if b not in sees[p]))
PY
) || FAIL_WHY="storage-example.yaml does not parse"
PRINCIPALS=$(grep -vE '^(rw|deny) ' <<<"$EXPECT" | cut -d' ' -f1 | tr '\n' ' ' | sed 's/ $//')
read -r _ RW_BUCKET RW_GRANTEE <<<"$(grep '^rw ' <<<"$EXPECT")"
read -r _ DENY_P DENY_BUCKET <<<"$(grep '^deny ' <<<"$EXPECT")"
RW_OWNER=$(grep -vE '^(rw|deny) ' <<<"$EXPECT" | awk -v b="$RW_BUCKET" '{for (i = 2; i <= NF; i++) if ($i == b) print $1}' |
	while read -r p; do [ "$p" != "$RW_GRANTEE" ] && echo "$p"; done | head -n 1)

# ---- it comes up ------------------------------------------------------------

# `make run` (README): the test packages (Ceph, aws-cli) installed, the
# binaries built, then this script -- the Makefile's dry run says the order
make_run() {
	local out
	out=$(cd "$ROOT" && env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make -n run 2>&1) || { echo "$out"; return 1; }
	[ "$(tail -n 1 <<<"$out")" = deploy/local/run.sh ] || { echo "last step: $(tail -n 1 <<<"$out")"; return 1; }
	head -n -1 <<<"$out" | grep 'dpkg -s' | grep -w ceph-mon | grep -w radosgw | grep -qw awscli ||
		{ echo "no install of ceph-mon, radosgw and awscli before it:"; echo "$out"; return 1; }
}
t_check "make run (dry run): installs what is missing (Ceph, aws-cli among it), then starts deploy/local/run.sh" make_run

PORT=$(free_port)
APORT=$(free_port)
LISTEN=127.0.0.1:$PORT ADMIN=127.0.0.1:$APORT EP=http://127.0.0.1:$PORT
O1=$T/run1
if ready; then
	run_start "$DEMO" "$LISTEN" "$ADMIN" "$O1"
	if up=$(run_wait_up "$O1" "$PORT"); then
		echo "# run.sh up in $up s (banner printed, s3gate answering)"
		t_pass "deploy/local/run.sh comes up within $UP_LIMIT s ($up s): banner printed, s3gate answering on S3GATE_LISTEN"
	else
		t_fail "deploy/local/run.sh comes up within $UP_LIMIT s" "$up"
		FAIL_WHY="run.sh did not come up"
	fi
else
	tc "deploy/local/run.sh comes up within $UP_LIMIT s" true
fi

banner_users() {
	local p a out=$1
	for p in $PRINCIPALS; do
		copied "$out" "$p" | grep -qxE 'export AWS_ACCESS_KEY_ID=SG[A-Z0-9]{10,}' || { echo "no access key id for $p"; return 1; }
		copied "$out" "$p" | grep -qxE 'export AWS_SECRET_ACCESS_KEY=[A-Za-z0-9+/]{20,}' || { echo "no secret for $p"; return 1; }
		copied "$out" "$p" | grep -qxF "aws --endpoint-url $EP s3 ls" || { echo "no aws line for $p"; return 1; }
		a=$(akid "$out" "$p")
		grep -qE "^export AWS_ACCESS_KEY_ID=$a\$" "$DEMO/creds/$p.env" || { echo "creds/$p.env is not the printed key"; return 1; }
	done
	grep -qE '^ +[0-9]+ ok, [0-9]+ warnings?, 0 failed' "$out.out" || { echo "s3gate-admin check in the banner:"; grep -A6 '^=====' "$out.out" | tail -n 6; return 1; }
}
tc "the banner has credentials and the aws line for each demo user ($PRINCIPALS) and s3gate-admin check passes" \
	banner_users "$O1"

# each user's "#   BUCKET VIA PERMISSION" lines (s3gate-admin access)
banner_access() {
	local p got want miss=""
	for p in $PRINCIPALS; do
		want=$(grep "^$p " <<<"$EXPECT" | cut -d' ' -f2-)
		got=$(block "$1" "$p" | sed -n 's/^  #   \([^ ]*\) .*/\1/p' | sort | tr '\n' ' ' | sed 's/ $//')
		[ "$got" = "$want" ] || miss+="$p: '$got', want '$want'"$'\n'
	done
	[ -z "$miss" ] || { printf 'the banner says access to:\n%s' "$miss"; return 1; }
}
tc "the banner's access lines name, for each user, the buckets storage-example.yaml gives them" banner_access "$O1"

# The README's example lines ("`make run` prints, for each demo user, lines
# like"), "SG..." and "..." standing for the keys, 127.0.0.1:8080 for the
# listener: each is a line of every user's block.
readme_lines() {
	local ex re p miss=""
	ex=$(awk '/make run. prints, for each demo user, lines like/ {on = 1; next}
		on && /^    / {print substr($0, 5); seen = 1; next} on && seen {exit}' "$ROOT/README.md")
	[ -n "$ex" ] || { echo "no example lines in the README"; return 1; }
	while IFS= read -r line; do
		re=$(ere "$line")
		re=${re//SG\\.\\.\\./SG[A-Z0-9]+}
		re=${re//\\.\\.\\./[^ ]+}
		re=${re//127\\.0\\.0\\.1:8080/127\\.0\\.0\\.1:$PORT}
		for p in $PRINCIPALS; do
			copied "$1" "$p" | grep -qxE -- "$re" || miss+="$p: no line like '$line'"$'\n'
		done
	done <<<"$ex"
	[ -z "$miss" ] || { printf 'the README shows lines the banner does not print:\n%s' "$miss"; return 1; }
}
tc "the README's example lines are the lines the banner prints for each user" readme_lines "$O1"

# ---- the banner's commands, as printed --------------------------------------

# ls_as OUT PRINCIPAL — the copied lines, run: the bucket names, sorted
ls_as() { newcomer "$(copied "$1" "$2")" | awk '{print $3}' | sort | tr '\n' ' ' | sed 's/ $//'; }
lists() { local got; got=$(ls_as "$O1" "$1") && [ "$got" = "$2" ] || { echo "listed '$got'"; return 1; }; }
for p in $PRINCIPALS; do
	want=$(grep "^$p " <<<"$EXPECT" | cut -d' ' -f2-)
	tc "aws s3 ls as $p (the banner's lines, copied) lists exactly $want" lists "$p" "$want"
done

# the "e.g." line as alice, then the file back: the same bytes
eg=$(sed -n 's/^  # e\.g\. as \([a-z]*\): *//p' "$O1.out" 2>/dev/null)
eg_user=$(sed -n 's/^  # e\.g\. as \([a-z]*\):.*/\1/p' "$O1.out" 2>/dev/null)
eg_key=$(grep -oE 's3://[^ ]+' <<<"$eg")
cp_up_down() {
	[ -n "$eg" ] || { echo "no 'e.g.' line in the banner"; return 1; }
	newcomer "$(exports "$O1" "$eg_user")
$eg" || return 1
	newcomer "$(exports "$O1" "$eg_user")
aws --endpoint-url $EP s3 cp $eg_key $T/hello.down" || return 1
	same_file /etc/hostname "$T/hello.down"
}
tc "owner: the banner's 'e.g.' line (aws s3 cp /etc/hostname up), as printed, and the object back down: the same bytes" cp_up_down

grantee_writes() {
	mkbytes "$T/rw.in" 3000
	newcomer "$(exports "$O1" "$RW_GRANTEE")
aws --endpoint-url $EP s3 cp $T/rw.in s3://$RW_BUCKET/from-$RW_GRANTEE" || return 1
	newcomer "$(exports "$O1" "$RW_OWNER")
aws --endpoint-url $EP s3 cp s3://$RW_BUCKET/from-$RW_GRANTEE $T/rw.out" || return 1
	same_file "$T/rw.in" "$T/rw.out"
}
tc "ReadWrite grantee $RW_GRANTEE writes into $RW_BUCKET; its owner $RW_OWNER reads the object back" grantee_writes

tdeny "$DENY_P, with no grant on $DENY_BUCKET, is refused listing it: AccessDenied" AccessDenied . \
	newcomer "$(exports "$O1" "$DENY_P" 2>/dev/null)
aws --endpoint-url $EP s3 ls s3://$DENY_BUCKET"

# "(or: source DIR/creds/P.env)"
sourced() {
	local line got want
	line=$(grep -E "^## $2 " "$1.out" | grep -oE 'source [^ )]+')
	[ -n "$line" ] || { echo "no 'source' hint for $2"; return 1; }
	want=$(grep "^$2 " <<<"$EXPECT" | cut -d' ' -f2-)
	got=$(newcomer "$line
aws --endpoint-url $EP s3 ls" | awk '{print $3}' | sort | tr '\n' ' ' | sed 's/ $//')
	[ "$got" = "$want" ] || { echo "listed '$got', want '$want'"; return 1; }
}
last_p=$(awk '{print $NF}' <<<"$PRINCIPALS")
tc "the banner's 'source .../creds/$last_p.env', then aws s3 ls: the same buckets" sourced "$O1" "$last_p"

# rclone, as the banner writes it (its "#" and the note taken off), as alice
rclone_cmd=$(awk '/^  # rclone: / {on = 1} on {print} on && !/\\$/ {exit}' "$O1.out" 2>/dev/null |
	sed -E -e 's/^  # (rclone: )?//' -e 's/ *\(with AWS_CA_BUNDLE unset\)$//')
rclone_ls() {
	[ -n "$rclone_cmd" ] || { echo "no rclone line in the banner"; return 1; }
	out=$(newcomer "$(exports "$O1" "$eg_user")
$rclone_cmd" 2>&1) || { echo "$out"; return 1; }
	echo "$out"
	grep -qE "^ *$(stat -c %s /etc/hostname) ${eg_key##*/}\$" <<<"$out"
}
if ! command -v rclone >/dev/null; then
	t_skip "the banner's rclone line, as printed (AWS_CA_BUNDLE unset), lists the object the 'e.g.' line put" \
		"rclone not installed (make deps-test)"
else
	tc "the banner's rclone line, as printed (AWS_CA_BUNDLE unset), lists the object the 'e.g.' line put" rclone_ls
fi

# the aws-cli v1 hint, then a presigned link fetched with curl
presign_v1() {
	local hint url
	hint=$(sed -n 's/^  # aws-cli v1 users: \(aws configure set .*\) (for s3 presign)$/\1/p' "$O1.out")
	[ -n "$hint" ] || { echo "no aws-cli v1 hint in the banner"; return 1; }
	newcomer v1 "$hint" || return 1
	url=$(newcomer v1 "$(exports "$O1" "$eg_user")
aws --endpoint-url $EP s3 presign $eg_key") || return 1
	curl -sSf --max-time 10 -o "$T/presigned" "$url" || { echo "GET $url failed"; return 1; }
	same_file /etc/hostname "$T/presigned"
}
if [ -z "$AWSV1" ]; then
	t_skip "aws-cli v1: the banner's 'aws configure set ...' hint, then s3 presign: the link serves the object" \
		"aws-cli v1 not installed"
else
	tc "aws-cli v1: the banner's 'aws configure set ...' hint, then s3 presign: the link serves the object" presign_v1
fi

# "health: curl http://ADMIN/healthz   metrics: http://ADMIN/metrics"
healthz() {
	local cmd out
	cmd=$(sed -n 's/^ health: \(curl [^ ]*\) .*/\1/p' "$O1.out")
	[ "$cmd" = "curl http://$ADMIN/healthz" ] || { echo "health line: '$cmd'"; return 1; }
	out=$(newcomer "$cmd") && [ "$out" = ok ] || { echo "answered '$out'"; return 1; }
}
tc "the banner's 'curl http://ADMIN/healthz' answers ok" healthz
metrics() {
	local url out
	url=$(sed -n 's/.* metrics: \(http:[^ ]*\).*/\1/p' "$O1.out")
	[ "$url" = "http://$ADMIN/metrics" ] || { echo "metrics line: '$url'"; return 1; }
	out=$(curl -sSf --max-time 10 "$url") || return 1
	grep -qE '^s3gate_requests_total\{status="2xx"\} [1-9]' <<<"$out" &&
		grep -qE '^s3gate_decisions_total\{decision="deny"\} [1-9]' <<<"$out" ||
		{ grep -E '^s3gate_(requests|decisions)_total' <<<"$out"; return 1; }
}
tc "the banner's metrics URL serves Prometheus text counting the requests above (2xx, a deny)" metrics

# ---- a port in use ----------------------------------------------------------

# busy NAME LISTEN ADMIN WANT — run.sh with a port the running demo holds:
# exit 1, one line WANT on stderr, nothing on stdout, nothing started
busy() {
	local d=$T/demo-$1 rc
	env -i "${RUN_ENV[@]}" S3GATE_DEMO_DIR="$d" S3GATE_LISTEN="$2" S3GATE_ADMIN_LISTEN="$3" \
		S3GATE_BIN="$S3GATE_BIN" timeout 20 "$RUN" </dev/null >"$T/$1.out" 2>"$T/$1.err"
	rc=$?
	[ $rc = 1 ] || { echo "exit $rc"; cat "$T/$1.err"; return 1; }
	[ "$(cat "$T/$1.err")" = "$4" ] || { echo "stderr, want one line '$4':"; cat "$T/$1.err"; return 1; }
	[ ! -s "$T/$1.out" ] || { echo "stdout:"; cat "$T/$1.out"; return 1; }
	[ ! -e "$d" ] || { echo "$d was made"; return 1; }
	[ -z "$(demo_pids "$d")" ] || { echo "processes in $d:"; left_behind "$d"; return 1; }
}
P2=127.0.0.1:$(free_port)
tc "S3GATE_LISTEN in use: exit 1, one line naming it and S3GATE_LISTEN, nothing started" busy listen "$LISTEN" "$P2" \
	"run: $LISTEN is in use (another s3gate?); choose another with S3GATE_LISTEN=127.0.0.1:PORT"
tc "S3GATE_ADMIN_LISTEN in use: exit 1, one line naming it and S3GATE_ADMIN_LISTEN, nothing started" busy admin "$P2" "$ADMIN" \
	"run: $ADMIN is in use; choose another with S3GATE_ADMIN_LISTEN=127.0.0.1:PORT"

# a folder run.sh did not make is not wiped: exit 1, one line, its files kept
foreign_folder() {
	local d=$T/not-a-demo rc
	mkdir -p "$d" && echo keep >"$d/notes.txt"
	env -i "${RUN_ENV[@]}" S3GATE_DEMO_DIR="$d" S3GATE_LISTEN="127.0.0.1:$(free_port)" \
		S3GATE_ADMIN_LISTEN="127.0.0.1:$(free_port)" S3GATE_BIN="$S3GATE_BIN" timeout 20 "$RUN" \
		</dev/null >"$T/foreign.out" 2>"$T/foreign.err"
	rc=$?
	[ $rc = 1 ] || { echo "exit $rc"; cat "$T/foreign.err"; return 1; }
	[ "$(cat "$T/foreign.err")" = "run: $d holds files run.sh did not make, and would be wiped; choose a new or empty folder with S3GATE_DEMO_DIR=PATH" ] ||
		{ echo "stderr:"; cat "$T/foreign.err"; return 1; }
	[ "$(cat "$d/notes.txt" 2>/dev/null)" = keep ] && [ "$(ls -A "$d")" = notes.txt ] ||
		{ echo "the folder changed:"; ls -A "$d"; return 1; }
}
tc "S3GATE_DEMO_DIR naming a folder run.sh did not make (a file in it): exit 1, one line, nothing wiped" foreign_folder

# ---- Ctrl-C, and a second run in the same folder ----------------------------
# (run.sh is started, signalled and waited for in this shell, not in a check's
# $(...): only its parent can read its exit status)

# rgw_port DIR — the gateway's port in DIR's Ceph
rgw_port() { sed -n 's/^rgw frontends = beast endpoint=127\.0\.0\.1:\([0-9]*\)$/\1/p' "$1/rgw/ceph.conf" 2>/dev/null; }

# stopped OUT [DIR] — after run_interrupt: exit 130, the stop told on
# stderr, nothing left of the run in DIR (default $DEMO)
stopped() {
	local out d=${2:-$DEMO}
	[ "$RUN_RC" != none ] || { echo "run.sh still running 60 s after SIGINT"; return 1; }
	[ "$RUN_RC" = 130 ] || { echo "exit $RUN_RC, want 130; tail of its stderr:"; tail -n 10 "$1.err"; return 1; }
	out=$(left_behind "$d" "$PORT" "$APORT" $(rgw_port "$d"))
	[ -z "$out" ] || { echo "left behind:"; echo "$out"; return 1; }
	grep -q '^run: stopping Ceph' "$1.err" || { echo "no 'run: stopping Ceph' on stderr"; return 1; }
}
if ready; then t0=$(date +%s%N); run_interrupt; echo "# run.sh ended $((($(date +%s%N) - t0) / 1000000)) ms after SIGINT"; fi
tc "Ctrl-C (SIGINT to run.sh's group): exit 130 ('Ctrl-C stops everything'); s3gate and Ceph gone, the client, admin and RGW ports free" \
	stopped "$O1"

O2=$T/run2
if ready; then
	OLD=$(exports "$O1" "$eg_user")
	run_start "$DEMO" "$LISTEN" "$ADMIN" "$O2"
	UP2=$(run_wait_up "$O2" "$PORT") && UP2_OK=1 && echo "# second run up in $UP2 s"
fi
second_run() {
	local got want
	[ "${UP2_OK:-0}" = 1 ] || { echo "not up: ${UP2:-}"; return 1; }
	[ "$(akid "$O2" "$eg_user")" != "$(akid "$O1" "$eg_user")" ] || { echo "the same access key id again"; return 1; }
	want=$(grep "^$eg_user " <<<"$EXPECT" | cut -d' ' -f2-)
	got=$(ls_as "$O2" "$eg_user")
	[ "$got" = "$want" ] || { echo "new credentials listed '$got'"; return 1; }
	newcomer "$OLD
aws --endpoint-url $EP s3 ls" >"$T/old.out" 2>&1 && { echo "the first run's credentials still work"; return 1; }
	grep -q InvalidAccessKeyId "$T/old.out" || { echo "the first run's credentials:"; cat "$T/old.out"; return 1; }
}
tc "a second run in the same S3GATE_DEMO_DIR comes up afresh: new credentials list the user's buckets, the first run's are refused (InvalidAccessKeyId)" \
	second_run
if ready; then run_interrupt; fi
tc "Ctrl-C again: exit 130, nothing left" stopped "$O2"

# An impatient Ctrl-C, while Ceph starts: during its last setup step
# (radosgw-admin, whose output rgw_start sends to a log)
O3=$T/run3 DEMO3=$T/demo-early EARLY=0
if ready; then
	run_start "$DEMO3" "$LISTEN" "$ADMIN" "$O3"
	for ((i = 0; i < 1500; i++)); do
		pgrep -f -- "^radosgw-admin -c $(ere "$DEMO3/")" >/dev/null && { EARLY=1; break; }
		running "$RUN_PID" || break
		sleep 0.02
	done
	run_interrupt
fi
early() {
	[ $EARLY = 1 ] || { echo "radosgw-admin not seen running; tail of run.sh's stderr:"; tail -n 10 "$O3.err"; return 1; }
	stopped "$O3" "$DEMO3"
}
tc "Ctrl-C while Ceph starts (radosgw-admin running): exit 130, 'run: stopping Ceph' on stderr, nothing left" early

sanitizers() {
	local f
	for f in "$T"/run[0-9].err "$T"/run[0-9].out; do
		[ -f "$f" ] && _s3gate_sanitizer_report "$f" && return 1
	done
	return 0
}
tc "no sanitizer report in run.sh's output (s3gate, s3gate-admin)" sanitizers
