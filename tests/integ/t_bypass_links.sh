#!/bin/bash
# Links, budgets and quotas against their rules, against the real RGW:
#   a --max-uses link's byte budget holds for downloads started at once
#     (each admitted before any had counted a byte), also after a range
#     made the object's size known; a resume by ranges fits one use;
#   a link carries no header it was not signed with (x-amz-copy-source on
#     a PUT link would make it a CopyObject of another object);
#   the bandwidth quota counts the body bytes that travel with a head (a
#     small object's whole body, down or up), so many small transfers are
#     shaped too;
#   a link is its issuer's grant as it is now (narrowed: refused);
#   a member and a grantee cannot grant or revoke.
# Link basics (key, method, expiry, revocation, the issuer's access) are
# t_presign_admin's; the self-service story t_selfservice's.
# Workspaces (own principals): ws-lown (lown owns ws-lown, ws-lown-sec;
#   lmem is a member; lgr holds ReadWrite on ws-lown).
. "$(dirname "$0")/lib.sh"

S=$(rand_id)
B=ws-lown$S
BSEC=ws-lown$S-sec

need_s3gate "bypass links" "links and quotas are s3gate's own: not meaningful against RGW"

PORT=$(free_port)
EP=http://127.0.0.1:$PORT
s3gate_start blk "listen 127.0.0.1:$PORT" "public_url $EP" ||
	{ t_fail "s3gate starts" "see $T/blk/s3gate.log"; exit 1; }

setup() {
	ws_setup lown$S "$B" "$BSEC" && ws_setup lgr$S ws-lgr$S &&
		s3gate_admin member add "ws-lown$S" lmem$S &&
		s3gate_admin grant "$B" lgr$S ReadWrite &&
		s3gate_cred lmem$S lmem >/dev/null && s3gate_cred lgr$S lgr >/dev/null &&
		s3gate_cred lown$S lown >/dev/null &&
		s3gate_admin quota set lgr$S --bandwidth 256K >/dev/null || return 1
	mkfile "$T/big" 2
	mkbytes "$T/small" 4000
	echo "the secret of lown" >"$T/secret"
	backend_aws s3api put-object --bucket "$B" --key big --body "$T/big" >/dev/null &&
		backend_aws s3api put-object --bucket "$B" --key small --body "$T/small" >/dev/null &&
		backend_aws s3api put-object --bucket "$BSEC" --key secret --body "$T/secret" >/dev/null
}
if ! out=$(setup 2>&1); then
	t_fail "setup: workspaces, grants, objects" "$out"; exit 1
fi

# fetch URL OUT [CURL_ARGS...] — an outsider's download; prints the status
fetch() {
	local url=$1 out=$2; shift 2
	curl -s -o "$out" -w '%{http_code}' --max-time 60 "$@" "$url"
}
# link ARGS... — a link's URL, once the proxy knows it (file store: within 100 ms)
link() {
	s3gate_admin presign "$@" && sleep 0.3
}

# ---- a link's download budget -------------------------------------------------------
# four_at_once URL — four downloads through URL at once; at most one may be whole
four_at_once() {
	local i whole=0
	for ((i = 0; i < 4; i++)); do
		fetch "$1" "$T/par.$i" >"$T/par.$i.code" &
	done
	wait
	for ((i = 0; i < 4; i++)); do
		cmp -s "$T/big" "$T/par.$i" && whole=$((whole + 1))
	done
	echo "statuses: $(cat "$T"/par.*.code | tr '\n' ' '); whole copies: $whole"
	[ "$whole" -le 1 ]
}
# Through a --max-uses 1 link: each was admitted before any had counted a
# byte (the object's size not yet known).
parallel_budget() {
	local url
	url=$(link --principal lown$S --max-uses 1 "s3://$B/big") || return 1
	four_at_once "$url"
}
t_check "--max-uses 1: four downloads at once give at most one copy" parallel_budget

# One byte first (the size is then known), then four whole downloads at once:
# each saw the budget not spent, but only one copy fits in it.
parallel_after_range() {
	local url code
	url=$(link --principal lown$S --max-uses 1 "s3://$B/big") || return 1
	code=$(fetch "$url" "$T/one" -r 0-0)
	[ "$code" = 206 ] || { echo "range: $code"; return 1; }
	four_at_once "$url"
}
t_check "--max-uses 1: a 1-byte range, then four downloads at once give at most one copy" parallel_after_range

# A resumed download still fits: half, then the rest by Range, within one use.
resume_within_budget() {
	local url code half=1048576
	url=$(link --principal lown$S --max-uses 1 "s3://$B/big") || return 1
	code=$(fetch "$url" "$T/p1" -r "0-$((half - 1))") && [ "$code" = 206 ] ||
		{ echo "first half: $code"; return 1; }
	code=$(fetch "$url" "$T/p2" -r "$half-") && [ "$code" = 206 ] ||
		{ echo "second half: $code"; return 1; }
	cat "$T/p1" "$T/p2" | cmp -s - "$T/big" || { echo "halves differ"; return 1; }
	code=$(fetch "$url" "$T/p3" -r 0-0)
	[ "$code" = 403 ] || { echo "a byte more: $code"; return 1; }
}
t_check "--max-uses 1: two ranges that make one copy are served, a byte more is refused" resume_within_budget

# ---- a link carries only what it was signed with ------------------------------------
put_link_copy() {
	local url code
	url=$(link --principal lown$S --method PUT "s3://$B/drop") || return 1
	code=$(fetch "$url" "$T/out" -X PUT -H "x-amz-copy-source: /$BSEC/secret" -H 'Content-Length: 0')
	[ "$code" = 403 ] || { echo "status $code: $(head -c 300 "$T/out")"; return 1; }
	! backend_aws s3api head-object --bucket "$B" --key drop >/dev/null 2>&1
}
t_check "a PUT link with an unsigned x-amz-copy-source: 403, nothing copied" put_link_copy

# ---- a link is its issuer's access as it is now --------------------------------------
# lgr's links: a PUT link after ReadWrite became ReadOnly, a GET link after
# the grant was narrowed to a prefix the key is not under (each refused
# within a second: the file store's poll).
narrowed() {
	local put get i code=
	put=$(link --principal lgr$S --method PUT "s3://$B/in/x") || return 1
	get=$(link --principal lgr$S "s3://$B/small") || return 1
	[ "$(fetch "$put" "$T/out" -T "$T/secret")" = 200 ] || { echo "PUT link before"; return 1; }
	s3gate_admin grant "$B" lgr$S ReadOnly >/dev/null || return 1
	for ((i = 0; i < 20; i++)); do
		code=$(fetch "$put" "$T/out" -T "$T/secret")
		[ "$code" = 403 ] && break
		sleep 0.1
	done
	[ "$code" = 403 ] || { echo "PUT link after ReadOnly: $code"; return 1; }
	[ "$(fetch "$get" "$T/out")" = 200 ] || { echo "GET link under ReadOnly"; return 1; }
	s3gate_admin grant "$B/in/" lgr$S ReadOnly >/dev/null || return 1
	for ((i = 0; i < 20; i++)); do
		code=$(fetch "$get" "$T/out")
		[ "$code" = 403 ] && break
		sleep 0.1
	done
	[ "$code" = 403 ] || { echo "GET link outside the new prefix: $code"; return 1; }
	s3gate_admin grant "$B" lgr$S ReadWrite >/dev/null || return 1
	# the checks below need it back: wait for the file store's poll (a PUT of lgr's own)
	for ((i = 0; i < 30; i++)); do
		code=$(curl_sigv4 lgr -o /dev/null -w '%{http_code}' -T "$T/secret" "$EP/$B/in/back")
		[ "$code" = 200 ] && return 0
		sleep 0.1
	done
	echo "ReadWrite back: $code"; return 1
}
t_check "links follow their issuer's grant: ReadWrite -> ReadOnly refuses a PUT link, a narrower prefix a GET link" narrowed

# ---- the bandwidth quota and small objects -----------------------------------------------
# lgr's bandwidth is 256K (quota set): 100 transfers of a 4000-byte object
# (400 000 bytes) over one keep-alive connection take at least 1 s (64 KiB
# burst).  A body that came with the backend's head went out in the head's
# write, uncounted: 100 small downloads took 22 ms.
small_downloads() {
	local -a args=()
	local i t0 t1 ms
	for ((i = 0; i < 100; i++)); do args+=(-o /dev/null "$EP/$B/small"); done
	t0=$(date +%s%N)
	curl_sigv4 lgr --max-time 60 "${args[@]}" || return 1
	t1=$(date +%s%N)
	ms=$(((t1 - t0) / 1000000))
	echo "100 x 4000 bytes down in $ms ms"
	[ "$ms" -ge 1000 ]
}
t_check "bandwidth quota 256K: 100 small downloads (bodies sent with their heads) are shaped" small_downloads

# 100 uploads of 4000 bytes from a client that sends each head and its body
# in one write (keep-alive): the body read with the head went to the backend
# uncounted (100 in 0.18 s).
raw_uploads() {
	local akid secret
	read -r akid secret _ <"$T/profiles/lgr"
	"$PY3" - "$LIB_DIR/helpers" "$PORT" "$B" "$akid" "$secret" "$S3_REGION" <<'PY'
import os, socket, sys, time
sys.path.insert(0, sys.argv[1])
import rawhttp
port, bucket, akid, secret, region = int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5], sys.argv[6]
body, codes = os.urandom(4000), set()
s = socket.create_connection(("127.0.0.1", port))
t0 = time.time()
for i in range(100):
    target = "/%s/raw/%d" % (bucket, i)
    sig = rawhttp.sigv4_headers("PUT", target, "127.0.0.1", akid, secret, region, "UNSIGNED-PAYLOAD")
    s.sendall(("PUT %s HTTP/1.1\r\nHost: 127.0.0.1\r\n%sContent-Length: %d\r\n\r\n"
               % (target, sig, len(body))).encode() + body)
    buf = b""
    while b"\r\n\r\n" not in buf:
        d = s.recv(65536)
        if not d:
            sys.exit("closed after %d uploads" % i)
        buf += d
    head, rest = buf.split(b"\r\n\r\n", 1)
    lines = head.decode("latin-1").split("\r\n")
    codes.add(lines[0].split(" ")[1])
    cl = sum(int(l.split(":", 1)[1]) for l in lines[1:] if l.lower().startswith("content-length:"))
    while len(rest) < cl:
        rest += s.recv(65536)
ms = (time.time() - t0) * 1000
print("100 x 4000 bytes up, head and body in one write: %d ms, statuses %s" % (ms, sorted(codes)))
sys.exit(0 if ms >= 1000 and codes == {"200"} else 1)
PY
}
t_check "bandwidth quota 256K: 100 small uploads, each body in its head's write, are shaped" raw_uploads

# ---- who may grant ---------------------------------------------------------------------
api() {
	local p=$1 m=$2 path=$3 body=${4:-}
	local -a a=(-X "$m" -o "$T/api.out" -w '%{http_code}' --max-time 30)
	[ -z "$body" ] || a+=(-H 'Content-Type: application/json' --data-binary "$body")
	S3_ENDPOINT=$EP curl_sigv4 "$p" "${a[@]}" "$EP/_s3gate/$path"
}
not_owner_grants() {
	local who code
	for who in lmem lgr; do
		code=$(api $who POST grants "{\"bucket\":\"$B\",\"principal\":\"$who$S\",\"permission\":\"ReadWrite\",\"prefix\":\"\"}")
		[ "$code" = 403 ] || { echo "$who grant: $code $(cat "$T/api.out")"; return 1; }
		code=$(api $who DELETE "grants/$B/lgr$S")
		[ "$code" = 403 ] || { echo "$who revoke: $code $(cat "$T/api.out")"; return 1; }
	done
	s3gate_admin who "$B" | grep -q "lgr$S.*ReadWrite"
}
t_check "a member and a grantee can neither grant nor revoke (403), the grant stands" not_owner_grants

if grep -q 'exited (status' "$S3GATE_LOG"; then
	t_fail "no worker died during the file" "$(grep 'exited (status' "$S3GATE_LOG")"
fi
s3gate_stop blk || t_fail "s3gate blk exits cleanly" "see $T/blk/s3gate.log"
exit 0
