#!/bin/bash
# Self-service sharing through s3gate's own API (/_s3gate/...), SigV4-signed
# by the users themselves with curl --aws-sigv4: no s3gate-admin after the
# initial sync and the credentials.  The story of issue 12: alice asks for
# ws-eric-shared, eric sees the request, grants ReadOnly, later revokes;
# presigned links issued and revoked through the API; hidden buckets look
# exactly like missing ones.  Run twice: on the file store, then on a Redis
# store (own redis-server) with two s3gate processes.  Then, in each round,
# what the security review of the store side found (hardening):
#   - grant expiries are bounded, and the store stays writable;
#   - a grant prefix longer than the proxy holds is refused;
#   - what callers send never becomes an admin option;
#   - CreateBucket under bucket_create creates, never adopts, and keeps to
#     the caller's own names;
#   - a link issued with a session key ends with it, and goes when it is
#     deleted;
#   - an admin command's failure is answered by its kind, not by words in
#     its message (a permission "needs" was 403 AccessDenied); a caller who
#     owns no workspace is 403 AccessDenied, a presign where public_url is
#     not set 501 NotImplemented (both were 400 InvalidArgument); one that
#     fails inside (a store that does not load) 500 InternalError, its
#     words (paths, addresses) only in s3gate's log.
# Each round has its own suffix $S (RGW is shared by the run):
#   ws-eric$S: eric owns ws-eric$S, ws-eric$S-shared (discoverable),
#              ws-eric$S-hidden (not discoverable)
#   ws-alice$S: alice owns ws-alice$S
#   ws-alice$S-lena: alice$S-lena owns it (her bucket_create names are
#              inside alice's: ws-alice$S-lena-*)
#   ws-st*$S: principal st*$S owns ws-star$S (a '*' in a principal's name)
#   ws-nosuch$S does not exist; nobody$S owns no workspace
. "$(dirname "$0")/lib.sh"
. "$ROOT/tests/lib/redis.sh"

SKIP_WHY=""
FAIL_WHY=""
R=""	# the round: file | redis (prefix of every result name)
tc() {
	local name="[$R] $1"; shift
	if [ -n "$SKIP_WHY" ]; then t_skip "$name" "$SKIP_WHY"; return 0; fi
	if [ -n "$FAIL_WHY" ]; then t_fail "$name" "$FAIL_WHY"; return 1; fi
	t_check "$name" "$@"
}
tms() {	# NAME cmd... — cmd prints milliseconds (or why not) and succeeds
	local name="[$R] $1" out; shift
	if [ -n "$SKIP_WHY" ]; then t_skip "$name" "$SKIP_WHY"; return 0; fi
	if [ -n "$FAIL_WHY" ]; then t_fail "$name" "$FAIL_WHY"; return 1; fi
	if out=$("$@" 2>&1); then t_pass "$name ($(tail -n 1 <<<"$out") ms)"; else t_fail "$name" "$out"; return 1; fi
}
ready() { [ -z "$SKIP_WHY$FAIL_WHY" ]; }

if [ "$S3GATE_DIRECT_RGW" = 1 ]; then
	SKIP_WHY="the self-service API is s3gate's own"
elif ! s3gate_have; then
	SKIP_WHY="$(basename "$S3GATE_BIN")/s3gate not built"
fi

# ---- helpers -------------------------------------------------------------------

# api PROFILE METHOD PATH [JSON] — a signed request to $EP/_s3gate/PATH;
# prints the HTTP status, the body is in $T/api.out.  The payload hash is
# $CURL_PAYLOAD_HASH (default UNSIGNED-PAYLOAD); HASH=hex signs the body's
# SHA-256.
api() {
	local p=$1 m=$2 path=$3 body=${4:-} h=${CURL_PAYLOAD_HASH:-UNSIGNED-PAYLOAD}
	local -a a=(-X "$m" -o "$T/api.out" -w '%{http_code}' --max-time 30)
	[ -z "$body" ] || a+=(-H 'Content-Type: application/json' --data-binary "$body")
	[ "${HASH:-}" = hex ] && h=$(printf '%s' "$body" | sha256sum | cut -d' ' -f1)
	CURL_PAYLOAD_HASH=$h S3_ENDPOINT=$EP curl_sigv4 "$p" "${a[@]}" "$EP/_s3gate/$path"
}
# want STATUS GOT — prints the body when they differ
want() { [ "$1" = "$2" ] && return 0; echo "HTTP $2, expected $1:"; head -c 800 "$T/api.out"; echo; return 1; }
# jcheck 'PYTHON' ARGS... — runs PYTHON with d = the JSON body of $T/api.out and a = ARGS
jcheck() {
	local code=$1; shift
	"$PY3" -c 'import json, sys
d = json.load(open(sys.argv[1])); a = sys.argv[3:]
exec(sys.argv[2])' "$T/api.out" "$code" "$@" || { echo "body:"; head -c 800 "$T/api.out"; echo; return 1; }
}
# xml_err FILE — "CODE|MESSAGE" of an S3 XML error
xml_err() {
	"$PY3" -c 'import re, sys
s = open(sys.argv[1]).read()
c = re.search(r"<Code>(.*?)</Code>", s); m = re.search(r"<Message>(.*?)</Message>", s)
print((c.group(1) if c else "-") + "|" + (m.group(1) if m else "-"))' "$1"
}

# ---- one round ---------------------------------------------------------------------

# round NAME EXTRA_CONF_LINES... — starts s3gate NAME (public_url its own
# address), syncs the workspaces, makes credentials, tells the story.
# With ROUND_SECOND=1 a second s3gate on the same store checks that
# grants and revocations reach it too.
round() {
	R=$1; shift
	local port
	S=$(rand_id)
	E=eric$S A=alice$S
	BE=ws-$E BES=ws-$E-shared BEH=ws-$E-hidden BA=ws-$A BNO=ws-nosuch$S
	PE=eric.$R PA=alice.$R
	L=$A-lena X="st*$S" PL=lena.$R PX=star.$R N=nobody$S PN=nobody.$R
	EP2=""
	port=$(free_port)
	if ! s3gate_start "ss-$R" "listen 127.0.0.1:$port" "public_url http://127.0.0.1:$port" "$@"; then
		FAIL_WHY="s3gate ss-$R did not start (see $T/ss-$R/s3gate.log)"
		return
	fi
	EP=http://127.0.0.1:$port
	DIR1=$S3GATE_DIR CONF1=$S3GATE_CONF
	t_pass "[$R] s3gate starts (public_url $EP)"
	round_setup() {
		storage_doc "$E" "$BE" "$BES" --hidden "$BEH" >"$T/$R.eric.yaml"
		storage_doc "$A" "$BA" >"$T/$R.alice.yaml"
		storage_doc "$L" "ws-$L" >"$T/$R.lena.yaml"
		storage_doc "$X" "ws-star$S" >"$T/$R.star.yaml"
		{ cat "$T/$R.eric.yaml"; echo ---; cat "$T/$R.alice.yaml"; echo ---; cat "$T/$R.lena.yaml"
		  echo ---; cat "$T/$R.star.yaml"; } >"$T/$R.storage.yaml"
		s3gate_sync "$T/$R.storage.yaml" || return 1
		s3gate_cred "$E" "$PE" >/dev/null && s3gate_cred "$A" "$PA" >/dev/null || return 1
		s3gate_cred "$L" "$PL" >/dev/null && s3gate_cred "$X" "$PX" >/dev/null || return 1
	}
	tc "setup with s3gate-admin: sync two workspaces, credentials for eric and alice" round_setup ||
		{ FAIL_WHY="setup failed"; return; }
	if [ "${ROUND_SECOND:-0}" = 1 ]; then
		if s3gate_start "ss-$R-b" "$@"; then
			EP2=$S3GATE_ENDPOINT
			t_pass "[$R] a second s3gate on the same store starts"
		else
			t_fail "[$R] a second s3gate on the same store starts" "see $T/ss-$R-b/s3gate.log"
		fi
		S3GATE_CONF=$CONF1 S3GATE_DIR=$DIR1
	fi
	printf 'shared doc %s\n' "$S" >"$T/doc"
	mkbytes "$T/aobj" 300000
	S3_ENDPOINT=$EP awsv2 "$PE" s3 cp "$T/doc" "s3://$BES/shared/doc" >/dev/null 2>&1
	S3_ENDPOINT=$EP awsv1 "$PA" s3 cp "$T/aobj" "s3://$BA/obj.bin" >/dev/null 2>&1
	story
	hardening
	[ -z "$EP2" ] || s3gate_stop "ss-$R-b" || t_fail "[$R] second s3gate exits cleanly" "see log"
	s3gate_stop "ss-$R" || t_fail "[$R] s3gate exits cleanly" "see $T/ss-$R/s3gate.log"
	backend_aws s3 rm --recursive "s3://$BES/" >/dev/null 2>&1
	backend_aws s3 rm --recursive "s3://$BA/" >/dev/null 2>&1
	for b in "ws-$A-new" "ws-$A-old" "ws-$L-data" "ws-stolen$S-x" "ws-$N-x"; do
		backend_aws s3 rb --force "s3://$b" >/dev/null 2>&1
	done
	FAIL_WHY=""
}

story() {
	local URL_DOC=$EP/$BES/shared/doc

	# -- GET /_s3gate/access
	access_shape() {
		local c
		c=$(api "$PA" GET access) && want 200 "$c" || return 1
		jcheck '
assert list(d) == ["buckets"], list(d)
for b in d["buckets"]:
    assert sorted(b) == ["bucket", "expires_at", "permission", "prefix", "via"], b
assert d["buckets"] == [{"bucket": a[0], "via": "owner", "permission": d["buckets"][0]["permission"],
                         "prefix": None, "expires_at": None}], d' "$BA" || return 1
		c=$(api "$PE" GET access) && want 200 "$c" || return 1
		jcheck '
got = sorted((b["bucket"], b["via"]) for b in d["buckets"])
assert got == sorted((x, "owner") for x in a), got' "$BE" "$BES" "$BEH"
	}
	tc "GET /_s3gate/access: {\"buckets\":[{bucket,via,permission,prefix,expires_at}]}, own buckets via owner" access_shape

	# -- alice's aws-cli is denied, the message says how to ask
	denied_hint() {
		local out
		out=$(S3_ENDPOINT=$EP awsv1 "$PA" s3api get-object --bucket "$BES" --key shared/doc "$T/x.out" 2>&1) && return 1
		echo "$out"
		grep -q AccessDenied <<<"$out" && grep -q "on bucket $BES .*POST /_s3gate/requests" <<<"$out"
	}
	tc "before: alice's aws-cli is denied on ws-eric-shared; the message names POST /_s3gate/requests" denied_hint

	# -- POST /_s3gate/requests
	request_unsigned() {
		local c
		c=$(api "$PA" POST requests "{\"bucket\":\"$BES\",\"reason\":\"for the paper\"}") && want 201 "$c" || return 1
		jcheck '
assert d["bucket"] == a[0] and d["principal"] == a[1] and d["reason"] == "for the paper", d
assert d["requested_at"].endswith("Z"), d' "$BES" "$A"
	}
	tc "alice POST /_s3gate/requests (UNSIGNED-PAYLOAD) -> 201" request_unsigned
	request_hex() {
		local c
		c=$(HASH=hex api "$PA" POST requests "{\"bucket\":\"$BES\",\"reason\":\"for the paper, v2\"}") &&
			want 201 "$c" || return 1
		jcheck 'assert d["reason"] == "for the paper, v2", d'
	}
	tc "alice POST /_s3gate/requests again with the body's hex SHA-256 -> 201, reason updated" request_hex
	request_badhash() {
		local c
		c=$(CURL_PAYLOAD_HASH=$(printf 'other body' | sha256sum | cut -d' ' -f1) \
			api "$PA" POST requests "{\"bucket\":\"$BES\",\"reason\":\"tampered\"}")
		want 403 "$c" || return 1
		grep -q '<Code>SignatureDoesNotMatch</Code>' "$T/api.out" || { cat "$T/api.out"; return 1; }
		# and the tampered reason was not stored
		c=$(api "$PE" GET requests) && want 200 "$c" || return 1
		! grep -q tampered "$T/api.out" || { echo "stored:"; cat "$T/api.out"; return 1; }
	}
	tc "a body that does not match its x-amz-content-sha256 -> 403 SignatureDoesNotMatch, nothing stored" request_badhash

	# -- GET /_s3gate/requests
	eric_sees() {
		local c
		c=$(api "$PE" GET requests) && want 200 "$c" || return 1
		jcheck '
assert list(d) == ["requests"], d
m = [r for r in d["requests"] if r["bucket"] == a[0] and r["principal"] == a[1]]
assert len(m) == 1 and m[0]["reason"] == "for the paper, v2", d
assert sorted(m[0]) == ["bucket", "principal", "reason", "requested_at"], m' "$BES" "$A"
	}
	tc "eric GET /_s3gate/requests lists alice's request" eric_sees
	alice_sees_own() {
		local c
		c=$(api "$PA" GET requests) && want 200 "$c" || return 1
		jcheck 'assert [r["bucket"] for r in d["requests"] if r["principal"] == a[1]] == [a[0]], d' "$BES" "$A"
	}
	tc "alice GET /_s3gate/requests lists her own request" alice_sees_own

	# -- POST /_s3gate/grants by a non-owner
	grant_nonowner() {
		local c
		c=$(api "$PA" POST grants "{\"bucket\":\"$BES\",\"principal\":\"$A\",\"permission\":\"ReadWrite\"}")
		want 403 "$c" || return 1
		grep -q '<Code>AccessDenied</Code>' "$T/api.out" && grep -q '<Message>[^<]' "$T/api.out" ||
			{ cat "$T/api.out"; return 1; }
		cat "$T/api.out"
		# and nothing was granted
		[ "$(sigv4_status "$PA" "$URL_DOC")" = 403 ]
	}
	tc "alice (not the owner) POST /_s3gate/grants -> 403 AccessDenied, nothing granted" grant_nonowner

	# -- eric grants ReadOnly
	grant_owner() {
		local c
		c=$(api "$PE" POST grants "{\"bucket\":\"$BES\",\"principal\":\"$A\",\"permission\":\"ReadOnly\"}")
		want 200 "$c" || return 1
		jcheck 'assert d["bucket"] == a[0] and d["principal"] == a[1] and d["permission"] == "ReadOnly", d' "$BES" "$A"
	}
	tc "eric POST /_s3gate/grants {bucket,principal,permission:ReadOnly} -> 200" grant_owner
	tms "alice reads within a second of the grant" wait_sigv4_status "$PA" "$URL_DOC" 200 1000
	[ -z "$EP2" ] || tms "alice reads through the second s3gate within a second" \
		wait_sigv4_status "$PA" "$EP2/$BES/shared/doc" 200 1000
	read_cli() {
		S3_ENDPOINT=$EP awsv1 "$PA" s3api get-object --bucket "$BES" --key shared/doc "$T/x.out" >/dev/null &&
			same_file "$T/doc" "$T/x.out" &&
			S3_ENDPOINT=$EP awsv2 "$PA" s3 ls "s3://$BES/shared/" | grep -q ' doc$'
	}
	tc "alice's aws-cli (v1 get, v2 ls) reads ws-eric-shared" read_cli
	write_denied() {
		local out
		out=$(S3_ENDPOINT=$EP awsv2 "$PA" s3api put-object --bucket "$BES" --key x --body "$T/doc" 2>&1) && return 1
		echo "$out"; grep -q 'AccessDenied' <<<"$out" && grep -q 'ReadOnly' <<<"$out"
	}
	tc "alice's write is denied: the grant is ReadOnly" write_denied
	access_grant() {
		local c
		c=$(api "$PA" GET access) && want 200 "$c" || return 1
		jcheck '
m = [b for b in d["buckets"] if b["bucket"] == a[0]]
assert m == [{"bucket": a[0], "via": "grant", "permission": "ReadOnly", "prefix": None, "expires_at": None}], d' "$BES"
	}
	tc "alice GET /_s3gate/access shows ws-eric-shared via grant ReadOnly" access_grant
	not_pending() {
		local c
		c=$(api "$PE" GET requests) && want 200 "$c" || return 1
		jcheck 'assert not [r for r in d["requests"] if r["bucket"] == a[0] and r["principal"] == a[1]], d' "$BES" "$A"
	}
	tc "the grant answered the request: eric's GET /_s3gate/requests no longer lists it" not_pending

	# -- presigned links through the API
	# (checks run in subshells: the link's id and URL are kept in files)
	rm -f "$T/link.id" "$T/link.url"
	lid() { cat "$T/link.id" 2>/dev/null; }
	lurl() { cat "$T/link.url" 2>/dev/null; }
	presign_api() {
		local c
		c=$(api "$PA" POST presign "{\"bucket\":\"$BA\",\"key\":\"obj.bin\",\"method\":\"GET\",\"expires\":\"10m\"}")
		want 200 "$c" || return 1
		jcheck '
assert sorted(d) == ["expires_at", "id", "url"], d
assert d["url"].startswith(a[0] + "/" + a[1] + "/obj.bin?"), d["url"]' "$EP" "$BA" || return 1
		"$PY3" -c 'import json,sys; print(json.load(open(sys.argv[1]))["id"])' "$T/api.out" >"$T/link.id"
		"$PY3" -c 'import json,sys; print(json.load(open(sys.argv[1]))["url"])' "$T/api.out" >"$T/link.url"
		local i ID LINK
		ID=$(lid) LINK=$(lurl)
		for ((i = 0; i < 20; i++)); do
			c=$(curl -s -o "$T/link.out" -w '%{http_code}' --max-time 30 "$LINK")
			[ "$c" = 200 ] && break
			sleep 0.1
		done
		echo "link $ID: HTTP $c"
		[ "$c" = 200 ] && same_file "$T/aobj" "$T/link.out"
	}
	tc "alice POST /_s3gate/presign -> {url,expires_at,id}; plain curl fetches the object" presign_api
	if [ -n "$EP2" ] && [ -s "$T/link.url" ]; then
		link2() {	# the same public host, reached at the second s3gate
			local c
			c=$(curl -s -o "$T/link.out" -w '%{http_code}' --max-time 30 \
				--connect-to "127.0.0.1:${EP##*:}:127.0.0.1:${EP2##*:}" "$(lurl)")
			echo "HTTP $c"; [ "$c" = 200 ] && same_file "$T/aobj" "$T/link.out"
		}
		tc "the link works through the second s3gate too" link2
	fi
	presign_denied() {	# a link for an object alice cannot read
		local c
		c=$(api "$PA" POST presign "{\"bucket\":\"$BEH\",\"key\":\"x\"}")
		echo "HTTP $c: $(cat "$T/api.out")"
		[ "$c" = 403 ] || [ "$c" = 404 ]
	}
	tc "alice cannot presign an object in a bucket she cannot read" presign_denied
	presign_revoke_other() {
		local c
		c=$(api "$PE" DELETE "presign/$(lid)") && want 404 "$c" || return 1
		c=$(curl -s -o /dev/null -w '%{http_code}' --max-time 30 "$(lurl)")
		echo "link after eric's attempt: HTTP $c"; [ "$c" = 200 ]
	}
	tc "eric DELETE /_s3gate/presign/ID of alice's link -> 404, the link still works" presign_revoke_other
	presign_revoke() {
		local c i
		c=$(api "$PA" DELETE "presign/$(lid)") && want 204 "$c" || return 1
		[ ! -s "$T/api.out" ] || { echo "204 with a body: $(cat "$T/api.out")"; return 1; }
		for ((i = 0; i < 20; i++)); do
			c=$(curl -s -o "$T/link.out" -w '%{http_code}' --max-time 30 "$(lurl)")
			[ "$c" = 403 ] && break
			sleep 0.1
		done
		echo "link after revocation: HTTP $c"; cat "$T/link.out"; echo
		[ "$c" = 403 ] && grep -q '<Message>[^<]' "$T/link.out"
	}
	tc "alice DELETE /_s3gate/presign/ID -> 204; then the link is refused" presign_revoke

	# -- eric revokes
	revoke_api() {
		local c
		c=$(api "$PA" DELETE "grants/$BES/$A") && want 403 "$c" || { echo "(alice revoking)"; return 1; }
		c=$(api "$PE" DELETE "grants/$BES/$A") && want 204 "$c"
	}
	tc "alice DELETE /_s3gate/grants/... -> 403; eric's -> 204" revoke_api
	tms "alice is denied within a second of the revocation" wait_sigv4_status "$PA" "$URL_DOC" 403 1000
	[ -z "$EP2" ] || tms "alice is denied through the second s3gate within a second" \
		wait_sigv4_status "$PA" "$EP2/$BES/shared/doc" 403 1000
	revoked_cli() {
		local out
		out=$(S3_ENDPOINT=$EP awsv2 "$PA" s3api get-object --bucket "$BES" --key shared/doc "$T/x.out" 2>&1) && return 1
		echo "$out"; grep -q AccessDenied <<<"$out"
	}
	tc "alice's aws-cli is denied after the revocation" revoked_cli
	revoke_again() {
		local c
		c=$(api "$PE" DELETE "grants/$BES/$A")
		echo "HTTP $c: $(cat "$T/api.out")"
		[ "$c" = 404 ] && grep -q '<Code>' "$T/api.out"
	}
	tc "revoking a grant that is not there -> 404 with an S3 error" revoke_again

	# -- hidden buckets look exactly like missing ones
	# same_answer WHAT PROFILE METHOD PATH_HIDDEN PATH_MISSING [JSON_H JSON_M] (API)
	same_answer() {
		local ch cm eh em
		ch=$(api "$2" "$3" "$4" "${6:-}"); eh=$(xml_err "$T/api.out")
		cm=$(api "$2" "$3" "$5" "${7:-}"); em=$(xml_err "$T/api.out")
		echo "hidden:  HTTP $ch $eh"
		echo "missing: HTTP $cm $em"
		[ "$ch" -ge 400 ] || return 1
		[ "$ch" = "$cm" ] && [ "${eh//$BEH/B}" = "${em//$BNO/B}" ] && [ "$eh" != "-|-" ]
	}
	tc "POST /_s3gate/requests: a hidden bucket gets exactly what a missing one gets" same_answer \
		request "$PA" POST requests requests "{\"bucket\":\"$BEH\",\"reason\":\"r\"}" "{\"bucket\":\"$BNO\",\"reason\":\"r\"}"
	tc "POST /_s3gate/grants by alice: hidden = missing" same_answer \
		grant "$PA" POST grants grants "{\"bucket\":\"$BEH\",\"principal\":\"$A\",\"permission\":\"ReadOnly\"}" \
		"{\"bucket\":\"$BNO\",\"principal\":\"$A\",\"permission\":\"ReadOnly\"}"
	tc "DELETE /_s3gate/grants by alice: hidden = missing" same_answer \
		revoke "$PA" DELETE "grants/$BEH/$A" "grants/$BNO/$A"
	s3_same() {	# GET object and ListObjects: hidden = missing, and no hint
		local ch cm eh em op
		for op in "shared/doc" ""; do
			ch=$(curl_sigv4 "$PA" -o "$T/h.out" -w '%{http_code}' --max-time 10 "$EP/$BEH/$op"); eh=$(xml_err "$T/h.out")
			cm=$(curl_sigv4 "$PA" -o "$T/m.out" -w '%{http_code}' --max-time 10 "$EP/$BNO/$op"); em=$(xml_err "$T/m.out")
			echo "hidden:  HTTP $ch $eh"
			echo "missing: HTTP $cm $em"
			[ "$ch" = 403 ] && [ "$ch" = "$cm" ] && [ "${eh//$BEH/B}" = "${em//$BNO/B}" ] || return 1
			! grep -q '_s3gate/requests' "$T/h.out" || { echo "the hidden bucket's denial hints at requests"; return 1; }
		done
	}
	tc "S3 GetObject/ListObjects: a hidden bucket's denial = a missing one's, without the request hint" s3_same
	hint_discoverable() {
		local c
		c=$(curl_sigv4 "$PA" -o "$T/d.out" -w '%{http_code}' --max-time 10 "$EP/$BE/x")
		xml_err "$T/d.out"
		[ "$c" = 403 ] && grep -q '<Message>[^<]*POST /_s3gate/requests' "$T/d.out"
	}
	tc "a discoverable bucket's denial mentions POST /_s3gate/requests" hint_discoverable

	# -- the rest of the surface
	unknown_path() {
		local c
		c=$(api "$PA" GET nothing-here) && want 404 "$c" || return 1
		grep -q '<Code>' "$T/api.out" && grep -q '<Message>[^<]' "$T/api.out" || { cat "$T/api.out"; return 1; }
		c=$(api "$PA" PUT access) && want 404 "$c"
	}
	tc "unknown API path (GET /_s3gate/nothing-here, PUT /_s3gate/access) -> 404 with an S3 error" unknown_path
	unsigned_api() {
		local c
		c=$(curl -s -o "$T/api.out" -w '%{http_code}' --max-time 10 "$EP/_s3gate/access")
		echo "HTTP $c: $(cat "$T/api.out")"; [ "$c" = 403 ]
	}
	tc "an unsigned GET /_s3gate/access -> 403" unsigned_api
	bad_json() {
		local c
		c=$(api "$PA" POST requests '{"bucket":')
		echo "HTTP $c: $(cat "$T/api.out")"; [ "$c" = 400 ] && grep -q '<Message>[^<]' "$T/api.out"
	}
	tc "a body that is not JSON -> 400 with a message" bad_json
	bad_perm() {
		local c
		c=$(api "$PE" POST grants "{\"bucket\":\"$BES\",\"principal\":\"$A\",\"permission\":\"FullControl\"}")
		echo "HTTP $c: $(cat "$T/api.out")"; [ "$c" = 400 ] && [ "$(sigv4_status "$PA" "$URL_DOC")" = 403 ]
	}
	tc "a grant with an unknown permission -> 400, nothing granted" bad_perm
	boto3_access() {	# the API signed by botocore (what a workspace UI in Python would do)
		S3_ENDPOINT=$EP boto3_py "$PE" '
import json, urllib.request
from botocore.awsrequest import AWSRequest
from botocore.auth import S3SigV4Auth
from botocore.credentials import Credentials
body = json.dumps({"bucket": sys.argv[1], "principal": sys.argv[2], "permission": "ReadWrite", "expires": "1h"}).encode()
req = AWSRequest(method="POST", url=EP + "/_s3gate/grants", data=body, headers={"Content-Type": "application/json"})
S3SigV4Auth(Credentials(AKID, SECRET), "s3", REGION).add_auth(req)
p = req.prepare()
r = urllib.request.urlopen(urllib.request.Request(p.url, data=body, headers=dict(p.headers), method="POST"))
d = json.load(r)
print(r.status, d)
assert r.status == 200 and d["permission"] == "ReadWrite" and d["expires_at"], d
' "$BES" "$A" || return 1
		wait_sigv4_status "$PA" "$URL_DOC" 200 1000 || return 1
		S3_ENDPOINT=$EP awsv1 "$PA" s3 cp "$T/doc" "s3://$BES/from-alice" || return 1
		api "$PE" DELETE "grants/$BES/$A" >/dev/null
	}
	tc "boto3-signed POST /_s3gate/grants (ReadWrite, expires 1h): alice writes" boto3_access

	# -- the access log names the API actions
	alog_api() {
		local f
		for f in "r['action']=='s3gate:GetAccess' and r['principal']=='$A' and r['decision']=='allow'" \
			"r['action']=='s3gate:RequestAccess' and r['principal']=='$A' and r['status']==201" \
			"r['action']=='s3gate:ListRequests' and r['principal']=='$E'" \
			"r['action']=='s3gate:Grant' and r['principal']=='$A' and r['decision']=='deny' and r['status']==403" \
			"r['action']=='s3gate:Grant' and r['principal']=='$E' and r['decision']=='allow' and r['status']==200" \
			"r['action']=='s3gate:Revoke' and r['principal']=='$E' and r['status']==204" \
			"r['action']=='s3gate:CreatePresignedURL' and r['principal']=='$A' and r['status']==200" \
			"r['action']=='s3gate:RevokePresignedURL' and r['principal']=='$A' and r['status']==204"; do
			alog_last "$DIR1" "$f" || return 1
		done
	}
	tc "the access log names the API actions (s3gate:Grant, s3gate:Revoke, ...)" alog_api
	alog_api_denial() {	# a refused request for a hidden bucket is a decision: deny, with a reason
		alog_last "$DIR1" "r['action']=='s3gate:RequestAccess' and r['principal']=='$A' and r['status']==404 and r['decision']=='deny' and bool(r['reason'])" || {
			echo "the lines are:"
			grep '"action":"s3gate:RequestAccess"' "$DIR1/access.log" | grep '"status":404' | head -n 2
			return 1
		}
	}
	tc "the access log: a refused POST /_s3gate/requests (hidden bucket) is logged deny with a reason" alog_api_denial
	alog_api_bytes() {	# bytes_in counts the JSON body of a POST
		alog_last "$DIR1" "r['action']=='s3gate:Grant' and r['principal']=='$E' and r['status']==200 and r['bytes_in']>0" || {
			grep '"action":"s3gate:Grant"' "$DIR1/access.log" | grep "\"principal\":\"$E\"" | head -n 1
			return 1
		}
	}
	tc "the access log: bytes_in of an API POST counts its JSON body" alog_api_bytes
}

# What the review of the store side found, end to end through real clients.
hardening() {
	local URL_DOC=$EP/$BES/shared/doc

	# -- an expiry s3gate cannot write froze the file store: bounded, and the store stays writable
	grant_forever() {
		local c
		c=$(api "$PE" POST grants "{\"bucket\":\"$BES\",\"principal\":\"$A\",\"permission\":\"ReadOnly\",\"expires\":\"3000000d\"}")
		echo "HTTP $c: $(cat "$T/api.out")"
		[ "$c" = 400 ] && grep -q '3650d' "$T/api.out" || return 1
		[ "$(sigv4_status "$PA" "$URL_DOC")" = 403 ] || { echo "granted anyway"; return 1; }
		c=$(api "$PE" POST grants "{\"bucket\":\"$BES\",\"principal\":\"$A\",\"permission\":\"ReadOnly\",\"expires\":\"3650d\"}")
		want 200 "$c" || return 1
		jcheck 'assert d["expires_at"] and len(d["expires_at"]) == 20, d' || return 1
		wait_sigv4_status "$PA" "$URL_DOC" 200 1000 || return 1
		c=$(api "$PE" DELETE "grants/$BES/$A") && want 204 "$c" || return 1
		wait_sigv4_status "$PA" "$URL_DOC" 403 1000 || return 1
		s3gate_admin who "$BES"	# the store still loads for the CLI
	}
	tc "POST /_s3gate/grants expires 3000000d -> 400 (longest 3650d); 3650d works, revocation and the CLI still work" grant_forever

	# -- CreateBucket under bucket_create ws-{principal}-*
	create_new() {
		S3_ENDPOINT=$EP awsv1 "$PA" s3api create-bucket --bucket "ws-$A-new" || return 1
		backend_aws s3api head-bucket --bucket "ws-$A-new" || { echo "not on the backend"; return 1; }
		S3_ENDPOINT=$EP awsv2 "$PA" s3 cp "$T/doc" "s3://ws-$A-new/doc" || return 1
		[ "$(sigv4_status "$PE" "$EP/ws-$A-new/doc")" = 403 ] || { echo "eric reads alice's new bucket"; return 1; }
	}
	tc "alice creates ws-alice-new (bucket_create ws-{principal}-*): made at the backend, hers alone" create_new
	create_existing() {
		local out c
		backend_aws s3api create-bucket --bucket "ws-$A-old" >/dev/null || return 1
		backend_aws s3 cp "$T/doc" "s3://ws-$A-old/left-behind" >/dev/null || return 1
		out=$(S3_ENDPOINT=$EP awsv1 "$PA" s3api create-bucket --bucket "ws-$A-old" 2>&1) &&
			{ echo "created: $out"; return 1; }
		echo "$out"
		grep -q BucketAlreadyExists <<<"$out" || return 1
		c=$(sigv4_status "$PA" "$EP/ws-$A-old/left-behind"); echo "GET afterwards: HTTP $c"
		[ "$c" = 403 ] || return 1
		! s3gate_admin who "ws-$A-old" >/dev/null 2>&1 || { echo "in the policy"; return 1; }
		out=$(S3_ENDPOINT=$EP awsv1 "$PA" s3api create-bucket --bucket "ws-$A-new" 2>&1) &&
			{ echo "created twice: $out"; return 1; }
		grep -q BucketAlreadyExists <<<"$out"
	}
	tc "a bucket already at the backend (not in the policy) is not adopted: 409 BucketAlreadyExists, still 403; so is one's own again" create_existing
	# create_refused PROFILE BUCKET — CreateBucket is AccessDenied, and the backend has no BUCKET
	create_refused() {
		local out
		out=$(S3_ENDPOINT=$EP awsv1 "$1" s3api create-bucket --bucket "$2" 2>&1) &&
			{ echo "created: $out"; return 1; }
		echo "$out"
		grep -q AccessDenied <<<"$out" && ! backend_aws s3api head-bucket --bucket "$2" 2>/dev/null
	}
	create_other() {
		create_refused "$PA" "ws-$L-data" || return 1
		S3_ENDPOINT=$EP awsv1 "$PL" s3api create-bucket --bucket "ws-$L-data" || return 1
		s3gate_admin who "ws-$L-data" | grep -q "^$L owner"
	}
	tc "alice may not create ws-alice-lena-data (under alice-lena's names): AccessDenied; alice-lena may" create_other
	tc "principal st*: the '*' in its name is literal: ws-stolen-x is not its to create" \
		create_refused "$PX" "ws-stolen$S-x"

	# -- a link issued with a session key ends with it, and goes when it is deleted
	rm -f "$T/sess.akid" "$T/sess.url"
	sess_link() {
		local c i
		s3gate_cred "$A" "$PA-sess" --ttl 2m >/dev/null || return 1
		echo "$CRED_AKID" >"$T/sess.akid"
		c=$(api "$PA-sess" POST presign "{\"bucket\":\"$BA\",\"key\":\"obj.bin\",\"expires\":\"1h\"}")
		want 200 "$c" || return 1
		jcheck '
import datetime, re
e = datetime.datetime.strptime(d["expires_at"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=datetime.timezone.utc)
left = (e - datetime.datetime.now(datetime.timezone.utc)).total_seconds()
x = int(re.search(r"X-Amz-Expires=([0-9]+)", d["url"]).group(1))
print("link ends in", left, "s, X-Amz-Expires", x)
assert 0 < left <= 125 and 0 < x <= 120, (d, left, x)' || return 1
		"$PY3" -c 'import json,sys; print(json.load(open(sys.argv[1]))["url"])' "$T/api.out" >"$T/sess.url"
		for ((i = 0; i < 20; i++)); do
			c=$(curl -s -o "$T/link.out" -w '%{http_code}' --max-time 30 "$(cat "$T/sess.url")")
			[ "$c" = 200 ] && break
			sleep 0.1
		done
		echo "link: HTTP $c"; [ "$c" = 200 ]
	}
	tc "a 1h link asked for with a 2-minute session key ends with the session (expires_at, X-Amz-Expires)" sess_link
	sess_delete() {	# (each try counted from when it was sent: the proxy decided after)
		local c t0 sent
		[ -s "$T/sess.url" ] || return 1
		s3gate_admin cred delete "$(cat "$T/sess.akid")" || return 1
		t0=$(date +%s%3N)
		while :; do
			sent=$(date +%s%3N)
			[ $((sent - t0)) -gt 1000 ] && { echo "HTTP $c to the last request sent within 1000 ms"; return 1; }
			c=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$(cat "$T/sess.url")")
			[ "$c" = 403 ] && { echo "refused, the request sent $((sent - t0)) ms after"; return 0; }
			sleep 0.05
		done
	}
	tc "cred delete of the session key: its link is refused within a second" sess_delete

	# -- caller input never becomes an admin option
	dashdash() {
		local c
		c=$(api "$PA" POST presign "{\"bucket\":\"$BA\",\"key\":\"obj.bin\",\"expires\":\"10m\"}") && want 200 "$c" || return 1
		"$PY3" -c 'import json,sys; print(json.load(open(sys.argv[1]))["url"])' "$T/api.out" >"$T/dd.url"
		for path in "presign/--ttl" "presign/--principal" "presign/--json"; do
			c=$(api "$PA" DELETE "$path"); echo "DELETE /_s3gate/$path: HTTP $c $(xml_err "$T/api.out")"
			[ "$c" = 404 ] || return 1
		done
		c=$(api "$PE" DELETE "grants/$BES/--json"); echo "DELETE grants/B/--json: HTTP $c $(xml_err "$T/api.out")"
		[ "$c" = 404 ] || [ "$c" = 400 ] || return 1
		c=$(api "$PE" POST grants "{\"bucket\":\"$BES\",\"principal\":\"$A\",\"permission\":\"ReadOnly\",\"expires\":\"--json\"}")
		echo "expires --json: HTTP $c $(xml_err "$T/api.out")"
		[ "$c" = 400 ] && [ "$(sigv4_status "$PA" "$URL_DOC")" = 403 ] || return 1
		c=$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 "$(cat "$T/dd.url")")
		echo "alice's link afterwards: HTTP $c"; [ "$c" = 200 ]
	}
	tc "DELETE /_s3gate/presign/--ttl (and --principal, --json) -> 404; option-like values refused; nothing revoked" dashdash

	# -- a prefix longer than the proxy holds is refused, not cut
	long_prefix() {
		local c p
		p=$(head -c 1024 /dev/zero | tr '\0' p)
		c=$(api "$PE" POST grants "{\"bucket\":\"$BES\",\"principal\":\"$A\",\"permission\":\"ReadOnly\",\"prefix\":\"$p\"}")
		echo "HTTP $c: $(xml_err "$T/api.out")"
		[ "$c" = 400 ] && ! s3gate_admin who "$BES" | grep -q "^$A "
	}
	tc "POST /_s3gate/grants with a 1024-byte prefix -> 400, nothing granted" long_prefix

	# -- an admin failure is answered by its kind, not by its words
	bad_permission() {
		local c e perm
		for perm in needs access; do
			c=$(api "$PE" POST grants "{\"bucket\":\"$BES\",\"principal\":\"$A\",\"permission\":\"$perm\"}")
			e=$(xml_err "$T/api.out"); echo "permission $perm: HTTP $c $e"
			[ "$c" = 400 ] && [ "${e%%|*}" = InvalidArgument ] && grep -q 'unknown permission' "$T/api.out" ||
				return 1
		done
		! s3gate_admin who "$BES" | grep -q "^$A "
	}
	tc "POST /_s3gate/grants, permission \"needs\" or \"access\" -> 400 InvalidArgument (was 403 AccessDenied: the message holds the word), nothing granted" bad_permission

	# -- not the caller's malformed input: a caller who owns nothing, a feature not configured
	no_workspace() {
		local c e out
		s3gate_cred "$N" "$PN" >/dev/null || return 1
		c=$(api "$PN" POST requests "{\"bucket\":\"$BES\",\"reason\":\"r\"}")
		e=$(xml_err "$T/api.out"); echo "POST /_s3gate/requests: HTTP $c $e"
		[ "$c" = 403 ] && [ "$e" = "AccessDenied|$N owns no workspace to hold the request" ] ||
			return 1
		c=$(api "$PE" GET requests) && want 200 "$c" || return 1
		! grep -q "\"$N\"" "$T/api.out" || { echo "stored:"; cat "$T/api.out"; return 1; }
		out=$(create_refused "$PN" "ws-$N-x") || { echo "$out"; return 1; }
		echo "$out"; grep -q "$N owns no workspace" <<<"$out"
	}
	tc "a caller who owns no workspace: POST /_s3gate/requests and CreateBucket (ws-{principal}-x) -> 403 AccessDenied saying so (was 400 InvalidArgument), nothing stored or created" no_workspace
	presign_unconfigured() {	# the second s3gate has no public_url
		local c e
		c=$(EP=$EP2 api "$PA" POST presign "{\"bucket\":\"$BA\",\"key\":\"obj.bin\"}")
		e=$(xml_err "$T/api.out"); echo "without public_url: HTTP $c $e"
		[ "$c" = 501 ] && [ "${e%%|*}" = NotImplemented ] && grep -q 'public_url' <<<"$e" || return 1
		! grep -qF -e "$T" -e ".conf" "$T/api.out" || { echo "the body names the config file"; return 1; }
		c=$(api "$PA" POST presign "{\"bucket\":\"$BA\",\"key\":\"obj.bin\"}")
		echo "with public_url: HTTP $c"; [ "$c" = 200 ]
	}
	[ -z "$EP2" ] || tc "POST /_s3gate/presign where public_url is not set -> 501 NotImplemented naming it (was 400 InvalidArgument), no path; where it is, 200" presign_unconfigured

	# -- an internal failure (the store does not load for the admin command): 500
	# InternalError without its words, which go to s3gate's log.  What breaks it is
	# nothing a proxy reads: the file store's lock file replaced by a folder, a
	# record of Redis' requests hash that is not JSON.
	internal_failure() {
		local c e where why lock=$DIR1/policy/.s3gate.lock
		if [ "$R" = file ]; then
			where=$lock why="Is a directory"
			mv "$lock" "$lock.aside" 2>/dev/null
			mkdir "$lock" || return 1
		else
			where=127.0.0.1:$REDIS_PORT why="bad JSON"
			redis-cli -u "$REDIS_URL" HSET '{s3gate}:requests' "zz-broken$S" 'not json' >/dev/null ||
				return 1
		fi
		c=$(api "$PE" GET requests); e=$(xml_err "$T/api.out")
		if [ "$R" = file ]; then
			rmdir "$lock"; mv "$lock.aside" "$lock" 2>/dev/null
		else
			redis-cli -u "$REDIS_URL" HDEL '{s3gate}:requests' "zz-broken$S" >/dev/null
		fi
		echo "GET /_s3gate/requests, the store broken: HTTP $c $e"
		[ "$c" = 500 ] && [ "${e%%|*}" = InternalError ] || return 1
		! grep -qF -e "$where" -e "$why" "$T/api.out" || { echo "the body names it:"; cat "$T/api.out"; return 1; }
		grep -F "warn: s3gate:ListRequests for $E: " "$DIR1/s3gate.log" | grep -F "$where" | grep -qF "$why" ||
			{ echo "no log line with \"$where\" and \"$why\":"; grep -F ListRequests "$DIR1/s3gate.log"; return 1; }
		c=$(api "$PE" GET requests) && want 200 "$c"	# mended
	}
	tc "an admin command failing inside (the store does not load) -> 500 InternalError, no path or address in the body; s3gate's log has the message; mended, 200" internal_failure
}

# ---- round 1: the file store ------------------------------------------------------

if ready; then
	round file "bucket_create ws-{principal}-*"
else
	R=file; tc "self-service API" true
fi

# ---- round 2: the Redis store, two s3gate processes --------------------------------

SKIP_WHY_R=""
if ! ready; then
	:
elif ! command -v redis-server >/dev/null; then
	SKIP_WHY="redis-server missing (make deps-test)"
elif ! redis_start "$T/redis" >/dev/null; then
	FAIL_WHY="own redis-server did not start: $(tail -n 3 "$T/redis/redis.log" 2>/dev/null)"
else
	lib_on_exit 'redis_stop "$T/redis"'
fi
R=redis
if ready; then
	(umask 077 && openssl rand -hex 32 >"$T/policy.key")
	ROUND_SECOND=1 round redis "policy_store redis $REDIS_URL" "policy_secret_key $T/policy.key" \
		"policy_cache_ttl 30s" "bucket_create ws-{principal}-*"
else
	tc "self-service API" true
fi
exit 0
