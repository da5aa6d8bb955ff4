#!/bin/bash
# A throw-away Redis server on loopback.
#
#   source tests/lib/redis.sh
#   redis_start DIR    # exports REDIS_URL=redis://127.0.0.1:PORT/0 REDIS_PORT REDIS_DIR
#   redis_stop DIR     # stops it by the pid in DIR/redis.pid
#
# or as a command:  tests/lib/redis.sh start DIR | stop DIR
#
# No persistence (--save '' --appendonly no); everything in DIR.

_redis_port() {
	local py=/usr/bin/python3
	[ -x "$py" ] || py=python3
	"$py" -c 'import socket
s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

_redis_alive() {	# PID DIR: alive, not a zombie, and ours
	local st
	[ -r "/proc/$1/stat" ] || return 1
	st=$(sed -E 's/^[0-9]+ \(.*\) (.).*/\1/' "/proc/$1/stat" 2>/dev/null) || return 1
	[ "$st" != Z ] || return 1
	{ tr '\0' ' ' <"/proc/$1/cmdline"; } 2>/dev/null | grep -q redis-server
}

redis_start() {
	local dir=${1:?redis_start DIR} port pid i try had_m
	command -v redis-server >/dev/null || { echo "redis: redis-server missing (make deps-test)" >&2; return 1; }
	mkdir -p "$dir" || return 1
	dir=$(cd "$dir" && pwd)
	[ -f "$dir/redis.pid" ] && redis_stop "$dir"
	for try in 1 2 3; do	# the port may be taken between picking and binding
		port=${REDIS_PORT_WANTED:-$(_redis_port)}
		: >"$dir/redis.log"
		case $- in *m*) had_m=1 ;; *) had_m=0 ;; esac
		set -m	# a process group of its own: Ctrl-C goes to the script, which stops it
		redis-server --bind 127.0.0.1 --port "$port" --save '' --appendonly no \
			--dir "$dir" --pidfile "$dir/redis.pid" --logfile "$dir/redis.log" \
			--daemonize no --protected-mode yes --unixsocket "$dir/redis.sock" \
			</dev/null >>"$dir/redis.out" 2>&1 &
		pid=$!
		disown "$pid"
		[ $had_m = 1 ] || set +m
		echo "$pid" >"$dir/redis.pid.ours"
		for ((i = 0; i < 100; i++)); do
			if redis-cli -h 127.0.0.1 -p "$port" ping 2>/dev/null | grep -q PONG; then
				export REDIS_PORT=$port REDIS_DIR=$dir
				export REDIS_URL="redis://127.0.0.1:$port/0"
				export REDIS_SOCKET="$dir/redis.sock"
				printf "export REDIS_URL='%s'\nexport REDIS_PORT='%s'\nexport REDIS_DIR='%s'\n" \
					"$REDIS_URL" "$port" "$dir" >"$dir/env"
				return 0
			fi
			_redis_alive "$pid" || break
			sleep 0.1
		done
		redis_stop "$dir"
	done
	echo "redis: FAILED to start; tail of $dir/redis.log:" >&2
	tail -n 20 "$dir/redis.log" "$dir/redis.out" >&2
	return 1
}

redis_stop() {
	local dir=${1:?redis_stop DIR} pid i
	[ -d "$dir" ] || return 0
	pid=$(cat "$dir/redis.pid.ours" 2>/dev/null || cat "$dir/redis.pid" 2>/dev/null) || return 0
	if _redis_alive "$pid"; then
		kill -TERM "$pid" 2>/dev/null
		for ((i = 0; i < 50; i++)); do
			_redis_alive "$pid" || break
			sleep 0.1
		done
		_redis_alive "$pid" && kill -KILL "$pid" 2>/dev/null
	fi
	wait "$pid" 2>/dev/null
	rm -f "$dir/redis.pid" "$dir/redis.pid.ours"
	return 0
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
	set -u
	case ${1:-} in
	start) redis_start "${2:?usage: $0 start DIR}" && cat "$REDIS_DIR/env" ;;
	stop) redis_stop "${2:?usage: $0 stop DIR}" ;;
	*) echo "usage: $0 start|stop DIR" >&2; exit 2 ;;
	esac
fi
