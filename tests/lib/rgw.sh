#!/bin/bash
# A throw-away single-node Ceph cluster with a RADOS Gateway (S3) on loopback.
#
#   source tests/lib/rgw.sh
#   rgw_start DIR      # exports RGW_ENDPOINT RGW_ACCESS_KEY RGW_SECRET_KEY RGW_DIR CEPH_CONF
#   rgw_stop DIR       # stops every process rgw_start started, by pid
#
# or as a command:  tests/lib/rgw.sh start DIR   (prints the exports)
#                   tests/lib/rgw.sh stop DIR
#
# One monitor, one memstore OSD (objects live in memory), one radosgw (beast)
# — every file (conf, run dir, logs, admin sockets, mon/osd data) inside DIR,
# nothing under /etc/ceph or /var/lib/ceph.  Ports are picked free at start.
# Cluster auth is "none": only the gateway's S3 signatures matter here.
#
# Tunables (environment):
#   RGW_MEMSTORE_BYTES   memstore capacity (default 8 GiB; memory is used only
#                        for what is stored)
#   RGW_ACCESS_KEY / RGW_SECRET_KEY   service credentials (fixed defaults)
#   RGW_PORT             gateway port (default: a free one)
#   RGW_START_TIMEOUT    seconds for the whole start (default 90)
#
# Quirks worth knowing (see also tests/README.md):
#   - memstore is sized by "memstore device bytes"; the mon refuses writes at
#     95% of it, so it is generous and the gateway's garbage collector runs
#     every few seconds (the default waits 2 h before freeing deleted data).
#   - RGW 16 errors often carry an empty <Message>; aws-cli v1 then crashes
#     ("argument of type 'NoneType' is not iterable") instead of showing the
#     code — look at the code with curl, boto3 or aws-cli v2 instead.

: "${RGW_ACCESS_KEY:=S3GATESERVICEKEY0001}"
: "${RGW_SECRET_KEY:=s3gate-service-secret-0123456789abcdefABCDEF}"

# A free TCP port on 127.0.0.1, below the kernel's ephemeral range
# (net.ipv4.ip_local_port_range, 32768-60999 by default) so that no outgoing
# connection takes it between this check and the server's bind.
# FREE_PORT_RANGE=LO-HI narrows the draw to [LO, HI): tests/integ/run.sh
# gives each lane its own slice, so that two test files running at once
# never pick the same port between the check and the bind.
# FREE_PORT_ISSUED=FILE: the ports handed out are kept in FILE and never
# handed out again (tests/integ/lib.sh: per test file), so that two ports
# picked before either is bound (a proxy's listen and admin_listen, a port
# meant to stay closed) are never the same one.
free_port() {
	local py=/usr/bin/python3
	[ -x "$py" ] || py=python3
	"$py" -c 'import fcntl, os, random, socket
lo = int(open("/proc/sys/net/ipv4/ip_local_port_range").read().split()[0])
first, end = 10000, max(lo, 10001)
if os.environ.get("FREE_PORT_RANGE"):
    first, end = map(int, os.environ["FREE_PORT_RANGE"].split("-"))
issued, f = set(), None
if os.environ.get("FREE_PORT_ISSUED"):
    f = open(os.environ["FREE_PORT_ISSUED"], "a+")
    fcntl.flock(f, fcntl.LOCK_EX)
    f.seek(0)
    issued = {int(l) for l in f.read().split()}
for _ in range(200):
    p = random.randrange(first, end)
    if p in issued:
        continue
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", p)); s.close(); break
    except OSError:
        s.close()
else:
    s = socket.socket(); s.bind(("127.0.0.1", 0)); p = s.getsockname()[1]; s.close()
if f:
    f.write("%d\n" % p); f.close()
print(p)'
}

# _rgw_log DIR MSG — progress on stderr
_rgw_log() { echo "rgw: $*" >&2; }

# Prints what the daemons said on stderr (their errors) and the tail of the
# setup commands' output: what to read when a start fails.
_rgw_tails() {
	local f
	for f in "$1"/log/*.out; do
		[ -s "$f" ] || continue
		echo "---- tail of $f" >&2
		grep -v '^$' "$f" | tail -n 12 >&2
	done
	echo "---- full logs: $1/log" >&2
}

# _rgw_spawn DIR NAME cmd... — starts a daemon in the foreground mode in the
# background, records its pid in DIR/pids/NAME.pid.  The daemon gets a
# process group of its own (set -m), so a Ctrl-C at the terminal reaches the
# script, which stops the daemons in order, and not the daemons directly.
_rgw_spawn() {
	local dir=$1 name=$2 had_m=0; shift 2
	case $- in *m*) had_m=1 ;; esac
	set -m
	"$@" </dev/null >>"$dir/log/$name.out" 2>&1 &
	echo $! >"$dir/pids/$name.pid"
	disown $!	# no job notices; bash still reaps it
	[ $had_m = 1 ] || set +m
}

# Is PID alive, not a zombie, and one of ours (its command line names DIR)?
_rgw_alive() {
	local pid=$1 dir=$2 st
	[ -r "/proc/$pid/stat" ] || return 1
	st=$(sed -E 's/^[0-9]+ \(.*\) (.).*/\1/' "/proc/$pid/stat" 2>/dev/null) || return 1
	[ "$st" != Z ] || return 1
	{ tr '\0' ' ' <"/proc/$pid/cmdline"; } 2>/dev/null | grep -qF -- "$dir/" || return 1
}

_rgw_running() {	# DIR NAME
	local pid
	pid=$(cat "$1/pids/$2.pid" 2>/dev/null) || return 1
	_rgw_alive "$pid" "$1"
}

# _rgw_kill DIR NAME — TERM, up to 10 s, then KILL
_rgw_kill() {
	local dir=$1 name=$2 pid i
	pid=$(cat "$dir/pids/$name.pid" 2>/dev/null) || return 0
	if _rgw_alive "$pid" "$dir"; then
		kill -TERM "$pid" 2>/dev/null
		for ((i = 0; i < 100; i++)); do
			_rgw_alive "$pid" "$dir" || break
			sleep 0.1
		done
		if _rgw_alive "$pid" "$dir"; then
			_rgw_log "$name ($pid) ignored SIGTERM; killing"
			kill -KILL "$pid" 2>/dev/null
			sleep 0.2
		fi
	fi
	wait "$pid" 2>/dev/null	# reap it when it is our child
	rm -f "$dir/pids/$name.pid"
}

# ceph CLI against this cluster, bounded
_rgw_ceph() {
	timeout 20 ceph -c "$CEPH_CONF" --connect-timeout 10 "$@"
}

rgw_admin() {	# radosgw-admin against the cluster in $RGW_DIR
	timeout 60 radosgw-admin -c "$CEPH_CONF" -n client.admin "$@"
}

_rgw_fail() {	# DIR MSG
	_rgw_log "FAILED: $2"
	_rgw_tails "$1"
	rgw_stop "$1"
	return 1
}

rgw_start() {
	local dir=${1:?rgw_start DIR}
	mkdir -p "$dir" || return 1
	dir=$(cd "$dir" && pwd)
	local t0=$SECONDS deadline=$((SECONDS + ${RGW_START_TIMEOUT:-90}))
	local fsid osd_uuid osd_id="" mon_port rgw_port out i
	for b in ceph-mon ceph-osd radosgw radosgw-admin monmaptool ceph uuidgen curl; do
		command -v "$b" >/dev/null || { _rgw_log "missing $b (make deps-test)"; return 1; }
	done
	if [ -e "$dir/pids" ] && ls "$dir"/pids/*.pid >/dev/null 2>&1; then
		_rgw_log "$dir holds a running cluster? stopping it first"
		rgw_stop "$dir"
	fi
	rm -rf "$dir/mon" "$dir/osd" "$dir/run" "$dir/log" "$dir/rgw"
	mkdir -p "$dir/mon/ceph-a" "$dir/osd" "$dir/run" "$dir/log" "$dir/pids" "$dir/rgw"

	fsid=$(uuidgen)
	osd_uuid=$(uuidgen)
	mon_port=$(free_port)
	rgw_port=${RGW_PORT:-$(free_port)}
	export CEPH_CONF="$dir/ceph.conf"
	export RGW_DIR="$dir"
	cat >"$CEPH_CONF" <<EOF
# written by tests/lib/rgw.sh — a throw-away test cluster
[global]
fsid = $fsid
mon host = v1:127.0.0.1:$mon_port
mon initial members = a
public addr = 127.0.0.1
ms bind ipv6 = false
ms bind msgr2 = false
auth cluster required = none
auth service required = none
auth client required = none
auth supported = none
run dir = $dir/run
admin socket = $dir/run/\$cluster-\$name.asok
pid file = $dir/run/\$cluster-\$name.pid
log file = $dir/log/\$name.log
log to stderr = false
err to stderr = true
mon cluster log file = $dir/log/cluster.log
crash dir = $dir/run/crash
exec dir = $dir/run
keyring = $dir/keyring
osd pool default size = 1
osd pool default min size = 1
osd pool default pg num = 8
osd pool default pgp num = 8
osd pool default pg autoscale mode = off
osd crush chooseleaf type = 0
mon allow pool size one = true
mon allow pool delete = true
mon warn on pool no redundancy = false
mon max pg per osd = 1000
mon data avail warn = 1
mon data avail crit = 0
# the monitor commits quickly (default: 1 s per proposal): the gateway's
# first start creates its pools one by one, 13 s with the defaults, 3 s so
paxos propose interval = 0.1
paxos min wait = 0.01

[mon]
mon data = $dir/mon/\$cluster-\$id

[osd]
osd data = $dir/osd/\$cluster-\$id
osd objectstore = memstore
memstore device bytes = ${RGW_MEMSTORE_BYTES:-8589934592}
osd max object size = 1073741824
# no device class for a memstore OSD (one boot-time command fewer)
osd class update on start = false

[client]
log file = $dir/log/\$name.log

[client.rgw.a]
rgw frontends = beast endpoint=127.0.0.1:$rgw_port
rgw data = $dir/rgw
rgw enable usage log = false
rgw gc obj min wait = 5
rgw gc processor period = 5
rgw gc processor max time = 5
rgw thread pool size = 128
EOF

	# 1. monitor
	monmaptool --create --clobber --add a "v1:127.0.0.1:$mon_port" --fsid "$fsid" \
		"$dir/monmap" >>"$dir/log/setup.out" 2>&1 || { _rgw_fail "$dir" "monmaptool"; return 1; }
	ceph-mon -c "$CEPH_CONF" --mkfs -i a --monmap "$dir/monmap" \
		>>"$dir/log/setup.out" 2>&1 || { _rgw_fail "$dir" "ceph-mon --mkfs"; return 1; }
	_rgw_spawn "$dir" mon ceph-mon -f -c "$CEPH_CONF" -i a
	until _rgw_ceph mon stat >/dev/null 2>&1; do
		_rgw_running "$dir" mon || { _rgw_fail "$dir" "ceph-mon exited"; return 1; }
		[ $SECONDS -lt $deadline ] || { _rgw_fail "$dir" "ceph-mon did not answer"; return 1; }
		sleep 0.3
	done

	# 2. OSD (the same UUID for "osd create" and --mkfs, else "wrong fsid")
	# "osd create" with a UUID is idempotent: retried while the new monitor settles
	for i in 1 2 3 4 5; do
		osd_id=$(_rgw_ceph osd create "$osd_uuid" 2>>"$dir/log/setup.out") && break
		sleep 0.5
	done
	[ -n "$osd_id" ] || { _rgw_fail "$dir" "ceph osd create"; return 1; }
	# the OSD's boot fails ("wrong fsid") if it comes before the map holds it
	until _rgw_ceph osd dump 2>/dev/null | grep -q "$osd_uuid"; do
		[ $SECONDS -lt $deadline ] || { _rgw_fail "$dir" "osd.$osd_id not in the OSD map"; return 1; }
		sleep 0.2
	done
	mkdir -p "$dir/osd/ceph-$osd_id"
	ceph-osd -c "$CEPH_CONF" -i "$osd_id" --mkfs --osd-uuid "$osd_uuid" \
		>>"$dir/log/setup.out" 2>&1 || { _rgw_fail "$dir" "ceph-osd --mkfs"; return 1; }
	_rgw_spawn "$dir" osd ceph-osd -f -c "$CEPH_CONF" -i "$osd_id"
	local osd_starts=1
	while :; do
		out=$(_rgw_ceph osd stat 2>/dev/null)
		case $out in *"1 up"*) break ;; esac
		if ! _rgw_running "$dir" osd; then
			# Ceph 16 race: the OSD may send its first command before it has
			# the monitor map; the monitor refuses it ("handle_command on fsid
			# 00000000-..."; the OSD logs "wrong fsid") and the OSD exits.
			# A second start works.
			# (seen to recur on a loaded machine: several tries, spaced out)
			[ $osd_starts -lt 8 ] || { _rgw_fail "$dir" "ceph-osd exited $osd_starts times"; return 1; }
			_rgw_log "ceph-osd exited at boot; starting it again"
			osd_starts=$((osd_starts + 1))
			sleep "0.$((osd_starts + 2))"
			_rgw_spawn "$dir" osd ceph-osd -f -c "$CEPH_CONF" -i "$osd_id"
		fi
		[ $SECONDS -lt $deadline ] || { _rgw_fail "$dir" "OSD not up: $out"; return 1; }
		sleep 0.3
	done

	# 3. gateway (on another port if its port was taken meanwhile)
	_rgw_spawn "$dir" rgw radosgw -f -c "$CEPH_CONF" -n client.rgw.a
	export RGW_ENDPOINT="http://127.0.0.1:$rgw_port"
	until curl -s -o /dev/null --max-time 2 "$RGW_ENDPOINT/"; do
		if ! _rgw_running "$dir" rgw; then
			if [ -z "${RGW_PORT:-}" ] && grep -q 'failed to bind' "$dir/log/rgw.out" 2>/dev/null; then
				local old_port=$rgw_port
				rgw_port=$(free_port)
				_rgw_log "port $old_port was taken; gateway on $rgw_port"
				sed -i "s/endpoint=127.0.0.1:$old_port\$/endpoint=127.0.0.1:$rgw_port/" "$CEPH_CONF"
				: >"$dir/log/rgw.out"
				_rgw_spawn "$dir" rgw radosgw -f -c "$CEPH_CONF" -n client.rgw.a
				RGW_ENDPOINT="http://127.0.0.1:$rgw_port"
				continue
			fi
			_rgw_fail "$dir" "radosgw exited"; return 1
		fi
		[ $SECONDS -lt $deadline ] || { _rgw_fail "$dir" "radosgw did not answer on $RGW_ENDPOINT"; return 1; }
		sleep 0.3
	done

	# 4. service user
	rgw_admin user create --uid=s3gate-service --display-name="s3gate service" \
		--access-key="$RGW_ACCESS_KEY" --secret-key="$RGW_SECRET_KEY" \
		>>"$dir/log/setup.out" 2>&1 || { _rgw_fail "$dir" "radosgw-admin user create"; return 1; }
	# the quota defaults are unlimited; no bucket-count limit for the service
	rgw_admin user modify --uid=s3gate-service --max-buckets=0 \
		>>"$dir/log/setup.out" 2>&1 || true
	export RGW_ACCESS_KEY RGW_SECRET_KEY
	cat >"$dir/env" <<EOF
export RGW_DIR='$dir'
export CEPH_CONF='$CEPH_CONF'
export RGW_ENDPOINT='$RGW_ENDPOINT'
export RGW_ACCESS_KEY='$RGW_ACCESS_KEY'
export RGW_SECRET_KEY='$RGW_SECRET_KEY'
EOF
	_rgw_log "up at $RGW_ENDPOINT in $((SECONDS - t0)) s (dir $dir)"
}

rgw_stop() {
	local dir=${1:?rgw_stop DIR}
	[ -d "$dir" ] || return 0
	dir=$(cd "$dir" && pwd)
	_rgw_kill "$dir" rgw
	_rgw_kill "$dir" osd
	_rgw_kill "$dir" mon
	return 0
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
	set -u
	case ${1:-} in
	start) rgw_start "${2:?usage: $0 start DIR}" >&2 && cat "$RGW_DIR/env" ;;
	stop) rgw_stop "${2:?usage: $0 stop DIR}" ;;
	*) echo "usage: $0 start|stop DIR" >&2; exit 2 ;;
	esac
fi
