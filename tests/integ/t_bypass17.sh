#!/bin/bash
# Seventeenth audit: Storage resources as a tenant controls them.  One
# tenant (M) writes their own resource, and nothing else; the operator's
# sync feeds every tenant's resources together.  Driven for real: sync into
# a file store and into a Redis store of this file's own, then signed
# requests through s3gate to the real RGW, as each principal.
#
# Found and fixed:
#   one resource stopped every tenant's changes: sync checked the whole
#     input at once, so M listing O's bucket (and granting themselves on
#     it), or any error in any resource (an unknown permission, a bad
#     name), failed the sync for all -- O's revocation of G's grant in the
#     same input was not applied, for as long as M kept the edit.  Now a
#     resource with errors, or one that claims what another holds, is
#     refused alone and its workspace keeps exactly what it had; what two
#     claim stays with its holder, whatever the order (M's resource comes
#     first below); a new claim two make goes to nobody; exit 1 naming each
#     (policy/README.md "sync").  A broken resource revokes nothing of its
#     own either (O's grant to M stands through O's typo).
#   spec.quotas limit spec.principal: M writing principal: O with
#     requestRate 1 set O's rate (applied whenever O had no quotas of their
#     own; with them, the two sets failed the whole sync).  Refused now
#     when the workspace was not O's and O has a workspace or keys.
#   YAML aliases were copied once per use: a 4 MiB file naming one anchored
#     value 2 000 times took ~8 GB (aborted under a 4 GB limit).  Now the
#     expanded text is bounded (64 MiB): "too deep or too large".
#   the parse was quadratic in grants x buckets, requests and members (a
#     64 MiB input: minutes to hours, in sync, every admin command and the
#     file store's reload in the proxy), and members x buckets is what the
#     Redis store writes per principal: a workspace now has at most 1 000
#     members and 1 000 buckets (1 001 members: that resource refused, the
#     rest applied); the cross-record checks are lookups.
# Tried and held (each checked below):
#   M's claim of O's bucket and self-grant give M nothing (403, not listed);
#     a bucket name that only looks like O's (upper case, a trailing dot)
#     is refused with its resource; an alias bomb fails the whole sync (the
#     input's syntax is no one tenant's) and changes nothing; a
#     self-service request M makes for O's bucket stays a request (no
#     access).  With main's binaries (before) every check but the first and
#     the last fails: e.g. "sync s4.yaml: exit 0 ... + quota o17..." (M's
#     quotas on O applied).
# By reading (no check): names are compared byte for byte after the S3
#   rules (3-63 of a-z 0-9 . -, no "..", no IP form, not a reserved name):
#   no case folding, no Unicode look-alike reaches a bucket; principal names
#   may hold UTF-8 (a look-alike of "frank" is another principal, shown as
#   it is by "who").  A request's reason is free text from the tenant,
#   printed through utf8_append_printable and sent as JSON: no control
#   character reaches a terminal.  A grant must stand on a bucket the same
#   resource lists (storage_grants): a grant in M's resource on O's bucket
#   was and is refused.
# Left to the operator (policy/README.md): M may name members without their
#   consent, lift their own spec.quotas, and claim a bucket the policy does
#   not hold but the backend does and no workspace of the store held (sync
#   adopts existing buckets by design; one a sync dropped is retired:
#   t_bypass18); M's 1 000 new buckets
#   are 1 000 buckets of the service account at RGW (max_buckets).
. "$(dirname "$0")/lib.sh"
. "$ROOT/tests/lib/redis.sh"

ID=$(rand_id)

need_s3gate "seventeenth audit" "sync and the proxy's policy: nothing to test against RGW"
own_redis "seventeenth audit"
(umask 077 && openssl rand -hex 32 >"$T/policy.key")

# st PROFILE URL [CURL_ARGS...]: the status of the profile's signed request
st() { sigv4_status "$@"; }
# put PROFILE BUCKET/KEY: a signed PUT of a small body; the status
put() { st "$1" "$S3GATE_ENDPOINT/$2" -X PUT --data-binary "seventeen"; }
# scenario TAG CONFIG_LINES...: one s3gate on one store, the same story
scenario() {
	local tag=$1 O G M E
	shift
	O=o17$tag$ID G=g17$tag$ID M=m17$tag$ID E=e17$tag$ID
	local BO=ws-$O BIN=ws-$O-in BPUB=ws-$O-pub BM=ws-$M
	SKIP_WHY="" FAIL_WHY=""
	if ! s3gate_start "$tag" "$@" >"$T/start.$tag" 2>&1; then
		FAIL_WHY="s3gate $tag does not start: $(tail -n 5 "$T/start.$tag")"
	fi
	D=$S3GATE_DIR
	# the story's resources: O owns three buckets, grants G ReadWrite on
	# -in and M ReadOnly on -pub; G and M own one each
	storage_doc "$O" "$BO" "$BIN" "$BPUB" --grant "$BIN:$G:ReadWrite" --grant "$BPUB:$M:ReadOnly" >"$D/o1.yaml"
	storage_doc "$O" "$BO" "$BIN" "$BPUB" --grant "$BPUB:$M:ReadOnly" >"$D/o2.yaml"	# G revoked
	storage_doc "$G" "ws-$G" >"$D/g.yaml"
	storage_doc "$M" "$BM" >"$D/m1.yaml"
	# M claims O's buckets and grants themselves ReadWrite on one
	storage_doc "$M" "$BM" "$BO" "$BIN" --grant "$BO:$M:ReadWrite" >"$D/m2.yaml"
	# E, new, names O's bucket as it only looks
	storage_doc "$E" "WS-$O" "$BO." >"$D/e.yaml"
	docs_cat "$D" o1.yaml g.yaml m1.yaml >"$D/s1.yaml"
	docs_cat "$D" m2.yaml e.yaml o2.yaml g.yaml >"$D/s2.yaml"

	setup() {
		synced "$D/s1.yaml" 0 || return 1
		s3gate_cred "$O" "o$tag" >/dev/null && s3gate_cred "$G" "g$tag" >/dev/null &&
			s3gate_cred "$M" "m$tag" >/dev/null || { echo "credentials"; return 1; }
		until_ok "o$tag" "$S3GATE_ENDPOINT/$BO" || return 1
		want_code "O puts into $BO" 200 "o$tag" "$S3GATE_ENDPOINT/$BO/obj" -X PUT --data-binary o17 &&
			want_code "O puts into $BPUB" 200 "o$tag" "$S3GATE_ENDPOINT/$BPUB/obj" -X PUT --data-binary o17 &&
			want_code "G (ReadWrite) puts into $BIN" 200 "g$tag" "$S3GATE_ENDPOINT/$BIN/g" -X PUT --data-binary g17 &&
			want_code "M reads $BPUB (ReadOnly)" 200 "m$tag" "$S3GATE_ENDPOINT/$BPUB/obj" &&
			want_code "M reads $BO" 403 "m$tag" "$S3GATE_ENDPOINT/$BO/obj"
	}
	tc "$tag: sync O (grants G ReadWrite, M ReadOnly), G, M; requests as each through s3gate to RGW" setup
	ready || return 0

	claim() {
		local c
		synced "$D/s2.yaml" 1 || return 1
		sync_said "workspace $BM: bucket $BO is claimed by another workspace too; it stays where it is" &&
			sync_said "workspace $BM: its resource is not applied .*it keeps what it had" || return 1
		# O's revocation in the same input is applied (was: the whole sync refused)
		_revoked() { [ "$(put "g$tag" "$BIN/g2")" = 403 ]; }
		wait_for 10 _revoked || { echo "G's grant on $BIN not revoked: PUT $(put "g$tag" "$BIN/g2")"; return 1; }
		want_code "M reads $BO" 403 "m$tag" "$S3GATE_ENDPOINT/$BO/obj" &&
			want_code "M writes $BO" 403 "m$tag" "$S3GATE_ENDPOINT/$BO/m" -X PUT --data-binary m17 &&
			want_code "M reads $BIN" 403 "m$tag" "$S3GATE_ENDPOINT/$BIN/g" &&
			want_code "M still owns $BM" 200 "m$tag" "$S3GATE_ENDPOINT/$BM" &&
			want_code "O still owns $BO" 200 "o$tag" "$S3GATE_ENDPOINT/$BO/obj" || return 1
		c=$(curl_sigv4 "m$tag" --max-time 10 "$S3GATE_ENDPOINT/") || { echo "M's ListBuckets: $c"; return 1; }
		grep -q "<Name>$BM</Name>" <<<"$c" && ! grep -q "<Name>$BO</Name>" <<<"$c" &&
			! grep -q "<Name>$BIN</Name>" <<<"$c" || { echo "M's ListBuckets: $c"; return 1; }
	}
	tc "$tag: M's resource (first in the input) claims O's buckets and grants itself: refused alone, M gets nothing of O's (403, not listed); O's revocation of G in the same sync applies (before: the whole sync refused, G kept ReadWrite)" claim

	lookalike() {
		sync_said "\"WS-$O\" is not a valid S3 bucket name" && sync_said "\"$BO.\" is not a valid S3 bucket name" &&
			sync_said "workspace ws-$E: its resource is not applied .*it is not added" || return 1
		s3gate_admin who "$BO" >"$T/who" 2>&1 && grep -q "^$O owner" "$T/who" || { cat "$T/who"; return 1; }
	}
	tc "$tag: a new resource naming O's bucket in upper case and with a trailing dot: refused, not added; $BO stays O's" lookalike

	typo() {
		# O's resource with an unknown permission and without M's grant; M adds a bucket
		sed "s/permission: ReadOnly/permission: Admin/" "$D/o2.yaml" >"$D/o3.yaml"
		storage_doc "$M" "$BM" "$BM-2" >"$D/m3.yaml"
		docs_cat "$D" o3.yaml g.yaml m3.yaml >"$D/s3.yaml"
		synced "$D/s3.yaml" 1 || return 1
		sync_said 'unknown permission "Admin"' && sync_said "workspace $BO: its resource is not applied .*it keeps what it had" || return 1
		_m2() { [ "$(put "m$tag" "$BM-2/x")" = 200 ]; }
		wait_for 10 _m2 || { echo "M's new bucket $BM-2: PUT $(put "m$tag" "$BM-2/x")"; return 1; }
		want_code "M still reads $BPUB (O's typo revokes nothing)" 200 "m$tag" "$S3GATE_ENDPOINT/$BPUB/obj" &&
			want_code "O still owns $BO" 200 "o$tag" "$S3GATE_ENDPOINT/$BO/obj"
	}
	tc "$tag: O's resource with an unknown permission is refused and keeps what it had (M still reads $BPUB); M's new bucket in the same sync applies (before: nothing applied)" typo

	quotas() {
		local q
		{ sed "s/^  principal: $M\$/  principal: $O\n  quotas: {requestRate: 1}/" "$D/m3.yaml"; } >"$D/m4.yaml"
		grep -q "principal: $O" "$D/m4.yaml" || { echo "m4.yaml:"; cat "$D/m4.yaml"; return 1; }
		docs_cat "$D" o2.yaml g.yaml m4.yaml >"$D/s4.yaml"
		synced "$D/s4.yaml" 1 || return 1
		sync_said "workspace $BM: quotas for $O, whose workspace it was not" || return 1
		q=$(s3gate_admin --json quota show "$O" 2>&1) || { echo "quota show: $q"; return 1; }
		"$PY3" -c 'import json,sys; d=json.loads(sys.argv[1]); sys.exit(0 if d["overrides"] == {} else 1)' "$q" ||
			{ echo "O's quotas: $q"; return 1; }
		want_code "M still owns $BM" 200 "m$tag" "$S3GATE_ENDPOINT/$BM"
	}
	tc "$tag: M writes principal: O with requestRate 1: refused, O has no overrides, M keeps $BM (before: O limited to 1 request/s)" quotas

	members() {
		local i
		{ sed "s/^  principal: $M\$/  principal: $M\n  members:/" "$D/m3.yaml" | head -n 8
		  for ((i = 0; i <= 1000; i++)); do echo "    - x$i"; done
		  sed -n '8,$p' "$D/m3.yaml"; } >"$D/m5.yaml"
		grep -q "^  members:" "$D/m5.yaml" || { echo "m5.yaml:"; head -20 "$D/m5.yaml"; return 1; }
		docs_cat "$D" o2.yaml g.yaml m5.yaml >"$D/s5.yaml"
		synced "$D/s5.yaml" 1 || return 1
		sync_said "spec.members has 1001 entries; a workspace has at most 1000 members" || return 1
		want_code "M still owns $BM" 200 "m$tag" "$S3GATE_ENDPOINT/$BM"
	}
	tc "$tag: 1 001 members: the resource refused, the rest applied" members

	bomb() {
		local before after
		before=$(s3gate_admin --json who "$BO" 2>&1)
		"$PY3" - "$D/bomb.yaml" "$M" <<'EOF'
import sys
path, m = sys.argv[1], sys.argv[2]
with open(path, "w") as f:
    f.write("apiVersion: pkg.internal/v1beta1\nkind: Storage\nmetadata: {name: ws-%s}\n"
            "spec:\n  principal: %s\n  x: &a \"%s\"\n  members: [%s]\n"
            % (m, m, "a" * (1 << 20), ", ".join(["*a"] * 80)))
EOF
		synced "$D/bomb.yaml" 1 || return 1
		sync_said "too deep or too large" || return 1
		after=$(s3gate_admin --json who "$BO" 2>&1)
		[ "$before" = "$after" ] || { echo "who $BO before: $before"; echo "after: $after"; return 1; }
		want_code "O still owns $BO" 200 "o$tag" "$S3GATE_ENDPOINT/$BO/obj"
	}
	tc "$tag: YAML alias bomb (1 MiB value named 80 times): the sync fails whole, nothing changes (before: 80 MiB of copies)" bomb

	selfservice() {
		local c
		c=$(curl_sigv4 "m$tag" --max-time 10 -X POST -H 'Content-Type: application/json' \
			--data "{\"bucket\":\"$BO\",\"reason\":\"mine\"}" -o "$T/req.out" -w '%{http_code}' \
			"$S3GATE_ENDPOINT/_s3gate/requests") || { echo "POST: $c"; return 1; }
		case $c in 200 | 201) ;; *) echo "POST /_s3gate/requests: $c $(cat "$T/req.out")"; return 1 ;; esac
		want_code "M reads $BO after asking" 403 "m$tag" "$S3GATE_ENDPOINT/$BO/obj"
	}
	tc "$tag: M asks for $BO through the self-service API: a request, no access" selfservice
	s3gate_stop "$tag" >/dev/null
}

scenario f
scenario r "policy_store redis $REDIS_URL" "policy_secret_key $T/policy.key"
exit $((T_FAILED > 0))
