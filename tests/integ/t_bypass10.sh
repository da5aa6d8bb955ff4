#!/bin/bash
# Tenth audit: object versions, object lock, multipart uploads across
# principals, and the bodies s3gate reads itself; each request made by hand
# (helpers/rawhttp.py, helpers/keepalive.py) by a principal with valid
# credentials, against the real RGW, and what RGW holds afterwards read with
# the service key (be, below).
#
# Found and fixed:
#   a CopyObject carried the source's object lock: Ceph RGW gives the copy
#     the source's retention and legal hold (x-amz-metadata-directive COPY,
#     the default; AWS S3 does not), so a ReadWrite grantee, who may not set
#     either, made new held or retained objects at will -- copies of one the
#     owner had locked, onto new keys or as new versions of any key -- which
#     the owner could not delete (under COMPLIANCE nobody could) until the
#     date or until each hold was lifted.  Now a CopyObject by a principal
#     who may not set a lock on the destination (every grantee; owners and
#     members unless bucket_config_ops allows retention and legal-hold) looks
#     at the source first and is refused (403) if it may carry one (since
#     t_bypass11: if the source's bucket has object lock enabled); REPLACE
#     and UploadPartCopy, which carry none, pass.
#   a body s3gate reads whole before deciding was left to hang: a
#     DeleteObjects under a prefix grant that stopped coming was closed at
#     body_timeout without an answer, and a self-service API body was given
#     no body timeout at all (the head's 30 s, then closed without an
#     answer).  Now both answer 400 RequestTimeout (an S3 XML error) at
#     body_timeout, then close.
#   a DeleteObjects body under a prefix grant was checked with its keys'
#   line ends as written, while RGW's XML parser reads a CR (or CR LF)
#   written as such as an LF (XML 1.0, 2.11): under a grant prefix "c<CR>d/"
#   (prefixes may hold control characters, as keys may) a body naming
#   "c<CR>d/x" deleted "c<LF>d/x", outside the grant.  Now the parser reads
#   line ends as XML does (only &#13; is a CR).
# Tried and held (each checked below):
#   versions (ws-b10o versioned): a ReadOnly grantee reads an old version
#     but cannot DELETE it (?versionId=), add a delete marker, suspend
#     versioning or DeleteObjects a version; a WriteOnly grantee cannot GET
#     or HEAD ?versionId=, DELETE a version (also ?versionId=null), delete
#     one through DeleteObjects, suspend versioning, list versions or copy
#     from an old version, and a PUT naming an old version leaves it as it
#     was; a prefix grantee ("shared/") naming private/doc's versionId on
#     shared/doc (GET, CopyObject, UploadPartCopy, DELETE, DeleteObjects)
#     reaches nothing of private/doc (RGW's versionIds are per key), and a
#     DeleteObjects naming private/doc's version beside a shared/ key is
#     refused whole;
#   object lock (ws-b10o-lock; owners may lock: bucket_config_ops has
#     retention, legal-hold): a ReadWrite grantee's PutObjectLegalHold,
#     PutObjectRetention, DELETE ?versionId= and DeleteObjects with
#     x-amz-bypass-governance-retention (true, 1, TRUE), CreateMultipartUpload
#     with x-amz-object-lock-legal-hold or -mode, a copy with
#     x-amz-object-lock-legal-hold: OFF -- 403, the locks in place; a copy
#     of an unlocked object, and of a missing one, in the lock-enabled
#     bucket refused too (t_bypass11: the object may be locked by the time
#     RGW copies it);
#     with the default bucket_config_ops the owner's copy of a held object
#     is refused too, and one with x-amz-metadata-directive: replace passes;
#   multipart: a ReadOnly grantee, who lists the uploads under way, cannot
#     add a part to, complete or abort the owner's; a WriteOnly grantee
#     cannot ListParts or UploadPartCopy; a completion of shared/up naming
#     private/up's part ETag (InvalidPart, no object); a grant narrowed from
#     shared/ to shared/sub/ mid-upload: the next part, ListParts, the
#     completion and the abort refused, RGW holds the first part only;
#   bodies: a prefix grantee's DeleteObjects with a DOCTYPE (an entity
#     naming private/doc, which RGW would expand; one inside the prefix),
#     nested entities (10^10 bytes expanded), 3000 levels of nesting, and a
#     Content-Length over 2 MiB (refused before the body is read) -- 400,
#     nothing deleted; a CompleteMultipartUpload with nested entities and
#     one of 3 MiB are relayed as they come (RGW refuses them; s3gate holds
#     neither).
# Noticed and mended: a self-service API body sent chunked was refused as
#   "larger than 64 KiB" (its length unknown); now 411 MissingContentLength,
#   as a DeleteObjects under a prefix grant is.
# Looked at and left as they are: a WriteOnly grant may complete or abort
#   an upload it did not start (policy/README.md's WriteOnly actions), if it
#   knows the uploadId, which it cannot list; a 3 MiB completion body that
#   RGW answers early is cut off after the answer, and curl, still
#   sending, may see the reset rather than the answer; a copy of an object whose retention date has
#   passed, or into a bucket without object lock, is refused too (RGW
#   would copy its attributes all the same); an
#   owner's multipart upload begun under a lock may be completed by a
#   ReadWrite grantee with parts of its own (a write it may make; the lock
#   is the owner's choice); a ReadWrite grantee's copy of an object
#   encrypted under another workspace's KMS key was not examined (no KMS in
#   the test RGW); RGW does not give a copy the source's ACL (a
#   public-read source, copied with the service key: checked by hand).
# Workspaces (own principals): ws-b10o (b10o, the owner: ws-b10o versioned,
#   ReadOnly to b10r, WriteOnly to b10w, prefix "shared/" ReadWrite to
#   b10p, prefix "c<CR>d/" ReadWrite to b10c; ws-b10o-lock, object lock
#   enabled at the backend, ReadWrite to b10rw).  Two proxies on one policy
#   folder: b10 (owners may lock objects), then b10s (body_timeout 2s, the
#   default bucket_config_ops).
. "$(dirname "$0")/lib.sh"

SECRET_TEXT="the secret of b10o $(rand_id)"
O=ws-b10o
L=ws-b10o-lock

need_s3gate "bypass10" "checks s3gate's own decisions: not meaningful against RGW"

# be CMD ARGS... — what RGW holds, asked with the service key (helpers/backend_state.py)
be() { "$PY3" "$LIB_DIR/helpers/backend_state.py" "$@"; }

PORT=$(free_port)
# The operator lets owners lock objects (retention, legal-hold): grantees may not.
s3gate_start b10 "listen 127.0.0.1:$PORT" "public_url http://127.0.0.1:$PORT" \
	"bucket_config_ops versioning,lifecycle,cors,tagging,retention,legal-hold" ||
	{ t_fail "s3gate starts" "see $T/b10/s3gate.log"; exit 1; }
setup() {
	# the lock-enabled bucket is made at the backend first (s3gate makes none such); sync adopts it
	backend_aws s3api create-bucket --bucket "$L" --object-lock-enabled-for-bucket >/dev/null &&
		ws_setup b10o "$O" "$L" &&
		s3gate_cred b10o >/dev/null && s3gate_cred b10r >/dev/null && s3gate_cred b10w >/dev/null &&
		s3gate_cred b10p >/dev/null && s3gate_cred b10rw >/dev/null &&
		s3gate_admin grant "$O" b10r ReadOnly && s3gate_admin grant "$O" b10w WriteOnly &&
		s3gate_admin grant "$O/shared/" b10p ReadWrite && s3gate_admin grant "$L" b10rw ReadWrite &&
		s3gate_cred b10c >/dev/null && s3gate_admin grant "$O/c"$'\r'"d/" b10c ReadWrite >/dev/null &&
		backend_aws s3api put-bucket-versioning --bucket "$O" \
			--versioning-configuration Status=Enabled >/dev/null || return 1
	printf '%s v1\n' "$SECRET_TEXT" >"$T/v1"
	printf '%s v2\n' "$SECRET_TEXT" >"$T/v2"
	echo "shared v1" >"$T/s1"
	echo "shared v2" >"$T/s2"
	local f
	for f in v1 v2; do
		backend_aws s3api put-object --bucket "$O" --key doc --body "$T/$f" >/dev/null &&
			backend_aws s3api put-object --bucket "$O" --key private/doc --body "$T/$f" >/dev/null || return 1
	done
	backend_aws s3api put-object --bucket "$O" --key "c"$'\n'"d/x" --body "$T/v1" >/dev/null &&
		backend_aws s3api put-object --bucket "$O" --key "c"$'\r'"d/y" --body "$T/s1" >/dev/null &&
		backend_aws s3api put-object --bucket "$O" --key shared/doc --body "$T/s1" >/dev/null &&
		backend_aws s3api put-object --bucket "$O" --key shared/doc --body "$T/s2" >/dev/null
}
if ! out=$(setup 2>&1); then
	t_fail "setup: workspaces, grants, versions" "$out"; exit 1
fi
sleep 1.5	# the file store's poll
export RAW_REGION=$S3_REGION
# as PROFILE — the next requests are signed with PROFILE's key
as() { read -r RAW_AKID RAW_SECRET RAW_TOKEN <"$T/profiles/$1"; export RAW_AKID RAW_SECRET RAW_TOKEN; }
. "$LIB_DIR/helpers/rawreq.sh"
deaths0=$(deaths)

# the versions RGW holds: oldest last
mapfile -t DOCV < <(be versions "$O" doc)
mapfile -t PRIVV < <(be versions "$O" private/doc)
mapfile -t SHV < <(be versions "$O" shared/doc)
DOC_OLD=${DOCV[1]:-none} PRIV_OLD=${PRIVV[1]:-none} SH_OLD=${SHV[1]:-none}
echo "# old versions: doc $DOC_OLD, private/doc $PRIV_OLD, shared/doc $SH_OLD"

# ---- versions: ReadOnly ---------------------------------------------------------
as b10r
signed GET "/$O/doc?versionId=$DOC_OLD"
if [ "$R_STATUS" = 200 ] && grep -qF "$SECRET_TEXT v1" "$T/resp"; then
	t_pass "control: a ReadOnly grantee reads an old version (GET ?versionId=)"
else
	t_fail "control: a ReadOnly grantee reads an old version" "status $R_STATUS $(resp_code)"
fi
signed DELETE "/$O/doc?versionId=$DOC_OLD"
expect "ReadOnly: DELETE ?versionId= of an old version" 403 AccessDenied
signed DELETE "/$O/doc"
expect "ReadOnly: DELETE (a delete marker)" 403 AccessDenied
signed PUT "/$O?versioning" "" '<VersioningConfiguration><Status>Suspended</Status></VersioningConfiguration>'
expect "ReadOnly: PutBucketVersioning Suspended" 403 AccessDenied
signed POST "/$O?delete" "" "<Delete><Object><Key>doc</Key><VersionId>$DOC_OLD</VersionId></Object></Delete>"
expect "ReadOnly: DeleteObjects naming an old version" 403 AccessDenied
if [ "$(be versions "$O" doc | tr '\n' ' ')" = "${DOCV[*]} " ] && [ "$(be versioning "$O")" = Enabled ]; then
	t_pass "RGW still holds both versions of doc, no delete marker; versioning still Enabled"
else
	t_fail "RGW still holds doc's versions" "$(be versions "$O" doc | tr '\n' ' '); $(be versioning "$O")"
fi

# ---- versions: WriteOnly ----------------------------------------------------------
as b10w
signed GET "/$O/doc?versionId=$DOC_OLD"
expect "WriteOnly: GET ?versionId=" 403 AccessDenied
signed HEAD "/$O/doc?versionId=$DOC_OLD"
[ "$R_STATUS" = 403 ] && t_pass "WriteOnly: HEAD ?versionId=: 403" || t_fail "WriteOnly: HEAD ?versionId=" "status $R_STATUS"
signed DELETE "/$O/doc?versionId=$DOC_OLD"
expect "WriteOnly: DELETE ?versionId= (deleting history)" 403 AccessDenied
signed DELETE "/$O/doc?versionId=null"
expect "WriteOnly: DELETE ?versionId=null" 403 AccessDenied
signed POST "/$O?delete" "" "<Delete><Object><Key>doc</Key><VersionId>$DOC_OLD</VersionId></Object></Delete>"
expect "WriteOnly: DeleteObjects with a VersionId" 403 AccessDenied
signed PUT "/$O?versioning" "" '<VersioningConfiguration><Status>Suspended</Status></VersioningConfiguration>'
expect "WriteOnly: PutBucketVersioning Suspended" 403 AccessDenied
signed GET "/$O?versions"
expect "WriteOnly: ListObjectVersions" 403 AccessDenied
signed PUT "/$O/wo-copy" "x-amz-copy-source: /$O/doc?versionId=$DOC_OLD\r\n"
expect "WriteOnly: CopyObject from an old version (the source needs read)" 403 AccessDenied
signed PUT "/$O/doc?versionId=$DOC_OLD" "" "overwritten by b10w"
if [ "$R_STATUS" = 200 ] && [ "$(be get "$O" doc "$DOC_OLD")" = "$SECRET_TEXT v1" ]; then
	t_pass "WriteOnly: PUT naming an old version (?versionId=) leaves that version as it was"
else
	t_fail "WriteOnly: PUT naming an old version" "status $R_STATUS; RGW holds: $(be get "$O" doc "$DOC_OLD" | head -c 80)"
fi
now=$(be versions "$O" doc | tr '\n' ' ')
if [ "$(be get "$O" doc "$DOC_OLD")" = "$SECRET_TEXT v1" ] && grep -qF "${DOCV[0]} ${DOCV[1]} " <<<"$now" &&
	[ "$(be versioning "$O")" = Enabled ]; then
	t_pass "RGW holds doc's history whole after the WriteOnly grantee's tries ($now)"
else
	t_fail "RGW holds doc's history whole" "$now; $(be versioning "$O")"
fi

# ---- versions: a prefix grantee ("shared/") naming another key's version --------------
as b10p
signed GET "/$O/shared/doc?versionId=$PRIV_OLD"
if [ "$R_STATUS" != 200 ] && ! grep -qF "$SECRET_TEXT" "$T/resp"; then
	t_pass "prefix: GET shared/doc?versionId=<a version of private/doc>: $R_STATUS $(resp_code), nothing of private/doc"
else
	t_fail "prefix: GET shared/doc with private/doc's versionId" "status $R_STATUS"
fi
signed PUT "/$O/shared/cp1" "x-amz-copy-source: /$O/shared/doc?versionId=$PRIV_OLD\r\n"
if [ "$R_STATUS" != 200 ] && [ "$(be get "$O" shared/cp1 | head -c 20)" = "ERR NoSuchKey" ]; then
	t_pass "prefix: CopyObject from shared/doc?versionId=<private/doc's>: $R_STATUS $(resp_code), nothing copied"
else
	t_fail "prefix: CopyObject from shared/doc with private/doc's versionId" "status $R_STATUS; RGW: $(be get "$O" shared/cp1 | head -c 60)"
fi
signed DELETE "/$O/shared/doc?versionId=$PRIV_OLD"
echo "# prefix: DELETE shared/doc?versionId=<private/doc's>: $R_STATUS $(resp_code)"
signed POST "/$O?delete" "" "<Delete><Object><Key>shared/doc</Key><VersionId>$PRIV_OLD</VersionId></Object></Delete>"
echo "# prefix: DeleteObjects shared/doc with private/doc's VersionId: $R_STATUS"
signed POST "/$O?delete" "" "<Delete><Object><Key>shared/doc</Key><VersionId>$PRIV_OLD</VersionId></Object><Object><Key>private/doc</Key><VersionId>$PRIV_OLD</VersionId></Object></Delete>"
expect "prefix: DeleteObjects with private/doc's version beside a shared/ key" 403 AccessDenied
if [ "$(be versions "$O" private/doc | tr '\n' ' ')" = "${PRIVV[*]} " ] &&
	[ "$(be versions "$O" shared/doc | tr '\n' ' ')" = "${SHV[*]} " ]; then
	t_pass "RGW still holds private/doc's and shared/doc's versions after DELETE and DeleteObjects naming private/doc's version under shared/doc"
else
	t_fail "private/doc's versions intact" "private: $(be versions "$O" private/doc | tr '\n' ' '); shared: $(be versions "$O" shared/doc | tr '\n' ' ')"
fi

# ---- object lock: ws-b10o-lock, the owner locks (the operator allows it), b10rw may not ----
UNTIL=$(date -u -d '+1 day' +%Y-%m-%dT%H:%M:%SZ)
as b10o
signed PUT "/$L/held" "x-amz-object-lock-legal-hold: ON\r\n" "$SECRET_TEXT held"
s1=$R_STATUS
signed PUT "/$L/kept" "x-amz-object-lock-mode: GOVERNANCE\r\nx-amz-object-lock-retain-until-date: $UNTIL\r\n" "$SECRET_TEXT kept"
if [ "$s1" = 200 ] && [ "$R_STATUS" = 200 ] && [ "$(be lock "$L" held)" = "- ON" ] &&
	[ "$(be lock "$L" kept)" = "GOVERNANCE -" ]; then
	t_pass "control: the owner puts an object under legal hold and one under GOVERNANCE retention (bucket_config_ops allows it)"
else
	t_fail "control: the owner locks objects" "statuses $s1 $R_STATUS; RGW: held $(be lock "$L" held), kept $(be lock "$L" kept)"
fi
HELDV=$(be versions "$L" held | sed -n 1p) KEPTV=$(be versions "$L" kept | sed -n 1p)
HELDVS0=$(be versions "$L" held | tr '\n' ' ') KEPTVS0=$(be versions "$L" kept | tr '\n' ' ')
as b10rw
signed PUT "/$L/held?legal-hold" "" '<LegalHold><Status>OFF</Status></LegalHold>'
expect "ReadWrite: PutObjectLegalHold OFF" 403 AccessDenied
signed PUT "/$L/kept?retention" "" "<Retention><Mode>GOVERNANCE</Mode><RetainUntilDate>$UNTIL</RetainUntilDate></Retention>"
expect "ReadWrite: PutObjectRetention" 403 AccessDenied
signed DELETE "/$L/kept?versionId=$KEPTV" "x-amz-bypass-governance-retention: true\r\n"
expect "ReadWrite: DELETE ?versionId= of a retained version with x-amz-bypass-governance-retention: true" 403 AccessDenied
signed DELETE "/$L/kept?versionId=$KEPTV" "x-amz-bypass-governance-retention: 1\r\n"
expect "ReadWrite: the same with x-amz-bypass-governance-retention: 1" 403 AccessDenied
signed POST "/$L?delete" "x-amz-bypass-governance-retention: TRUE\r\n" "<Delete><Object><Key>kept</Key><VersionId>$KEPTV</VersionId></Object></Delete>"
expect "ReadWrite: DeleteObjects of a retained version with x-amz-bypass-governance-retention: TRUE" 403 AccessDenied
signed DELETE "/$L/held?versionId=$HELDV"
echo "# ReadWrite: DELETE ?versionId= of a held version (RGW decides): $R_STATUS $(resp_code)"
signed POST "/$L/mpl?uploads" "x-amz-object-lock-legal-hold: ON\r\n"
expect "ReadWrite: CreateMultipartUpload with x-amz-object-lock-legal-hold: ON" 403 AccessDenied
signed POST "/$L/mpl?uploads" "x-amz-object-lock-mode: COMPLIANCE\r\nx-amz-object-lock-retain-until-date: $UNTIL\r\n"
expect "ReadWrite: CreateMultipartUpload with x-amz-object-lock-mode: COMPLIANCE" 403 AccessDenied
signed PUT "/$L/held-copy" "x-amz-copy-source: /$L/held\r\nx-amz-object-lock-legal-hold: OFF\r\n"
expect "ReadWrite: CopyObject with x-amz-object-lock-legal-hold: OFF" 403 AccessDenied
HELDVS=$(be versions "$L" held | tr '\n' ' ') KEPTVS=$(be versions "$L" kept | tr '\n' ' ')
if [ "$HELDVS" = "$HELDVS0" ] && [ "$KEPTVS" = "$KEPTVS0" ] &&
	[ "$(be lock "$L" held)" = "- ON" ] && [ "$(be lock "$L" kept)" = "GOVERNANCE -" ] &&
	! be uploads "$L" | grep -q '^mpl '; then
	t_pass "RGW: held and kept as they were (no new version, locks in place), no upload begun"
else
	t_fail "RGW: held and kept as they were" "held $(be versions "$L" held | tr '\n' ' ') $(be lock "$L" held); kept $(be versions "$L" kept | tr '\n' ' ') $(be lock "$L" kept); uploads $(be uploads "$L")"
fi
# RGW (16) gives a CopyObject's destination the source's retention and
# legal hold (x-amz-metadata-directive COPY, the default; AWS S3 does not):
# a grantee's copy of a held object was a new held object (found, fixed).
signed PUT "/$L/plain" "" "plain"
lockcopy() { # NAME SOURCE DEST [HEADER-LINES]
	local before after st code
	before=$(be versions "$L" "$3" | tr '\n' ' ')
	signed PUT "/$L/$3" "x-amz-copy-source: /$L/$2\r\n${4:-}"
	st=$R_STATUS code=$(resp_code)
	after=$(be versions "$L" "$3" | tr '\n' ' ')
	if [ "$st" = 403 ] && [ "$code" = AccessDenied ] && [ "$before" = "$after" ]; then
		t_pass "$1: 403 AccessDenied, no new version at RGW"
	else
		t_fail "$1" "status $st $code; RGW $3's versions before: $before, after: $after"
	fi
}
lockcopy "ReadWrite: CopyObject of a held object (RGW would copy the legal hold)" held held-copy
lockcopy "ReadWrite: CopyObject of a retained object (RGW would copy the retention)" kept kept-copy
lockcopy "ReadWrite: CopyObject of the held object's version (?versionId=)" "held?versionId=$HELDV" held-copy2
lockcopy "ReadWrite: CopyObject of a held object with x-amz-metadata-directive: COPY" held held-copy3 \
	"x-amz-metadata-directive: COPY\r\n"
lockcopy "ReadWrite: CopyObject of a held object onto an unlocked key (its new version)" held plain
signed PUT "/$L/plain-copy" "x-amz-copy-source: /$L/plain\r\n"
if [ "$R_STATUS" = 403 ] && [ "$(be get "$L" plain-copy)" = "ERR NoSuchKey" ]; then
	t_pass "ReadWrite: CopyObject of an unlocked object in the lock-enabled bucket: 403 (it may be locked by the time RGW copies it: t_bypass11), nothing copied"
else
	t_fail "ReadWrite: CopyObject of an unlocked object in a lock-enabled bucket" "status $R_STATUS $(resp_code); RGW: $(be get "$L" plain-copy | head -c 40)"
fi
signed PUT "/$L/repl-copy" "x-amz-copy-source: /$L/held\r\nx-amz-metadata-directive: REPLACE\r\n"
if [ "$R_STATUS" = 200 ] && [ "$(be get "$L" repl-copy)" = "$SECRET_TEXT held" ] &&
	[ "$(be lock "$L" repl-copy)" = "- -" ]; then
	t_pass "control: ReadWrite: CopyObject of the held object with x-amz-metadata-directive: REPLACE: 200, the copy unlocked"
else
	t_fail "control: ReadWrite: CopyObject with REPLACE" "status $R_STATUS $(resp_code); RGW lock: $(be lock "$L" repl-copy)"
fi
signed PUT "/$L/none-copy" "x-amz-copy-source: /$L/no-such-key\r\n"
expect "ReadWrite: CopyObject of a missing source in the lock-enabled bucket" 403 AccessDenied
ka=$("$PY3" "$LIB_DIR/helpers/keepalive.py" "$S3GATE_PORT" "REQ PUT /$L/ka-copy x-amz-copy-source: /$L/held" \
	"REQ PUT /$L/ka-copy x-amz-copy-source: /$L/plain|x-amz-metadata-directive: REPLACE" "REQ GET /$L/ka-copy" \
	"REQ PUT /$L/ka-copy x-amz-copy-source: /$L/kept" "REQ GET /$L/ka-copy" 2>&1 | tr '\n' ' ')
if [ "$ka" = "403 AccessDenied 200 - 200 - 403 AccessDenied 200 - " ] && [ "$(be get "$L" ka-copy)" = plain ]; then
	t_pass "one kept-alive connection: a held copy refused, a plain REPLACE copy served, a retained copy refused, each answered in turn"
else
	t_fail "one kept-alive connection: copies in turn" "got: $ka; RGW ka-copy: $(be get "$L" ka-copy | head -c 40)"
fi
as b10o
signed PUT "/$L/owner-copy" "x-amz-copy-source: /$L/held\r\n"
if [ "$R_STATUS" = 200 ] && [ "$(be lock "$L" owner-copy)" = "- ON" ]; then
	t_pass "control: the owner (may set legal holds) copies the held object: 200, RGW holds the copy"
else
	t_fail "control: the owner copies the held object" "status $R_STATUS $(resp_code); lock $(be lock "$L" owner-copy)"
fi
as b10rw
# UploadPartCopy takes the bytes only: the completed object carries no lock
mpu_copy() {
	local up etag
	signed POST "/$L/mp-copy?uploads"
	up=$(grep -ao '<UploadId>[^<]*' "$T/resp" | sed 's/<UploadId>//')
	[ -n "$up" ] || { echo "no upload: $R_STATUS"; return 1; }
	signed PUT "/$L/mp-copy?partNumber=1&uploadId=$up" "x-amz-copy-source: /$L/held\r\n"
	etag=$(grep -ao '<ETag>[^<]*' "$T/resp" | sed 's/<ETag>//')
	[ "$R_STATUS" = 200 ] || { echo "part copy: $R_STATUS $(resp_code)"; return 1; }
	signed POST "/$L/mp-copy?uploadId=$up" "" "<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>$etag</ETag></Part></CompleteMultipartUpload>"
	[ "$R_STATUS" = 200 ] || { echo "complete: $R_STATUS $(resp_code)"; return 1; }
	echo "RGW lock of mp-copy: $(be lock "$L" mp-copy)"
	[ "$(be lock "$L" mp-copy)" = "- -" ] && [ "$(be get "$L" mp-copy)" = "$SECRET_TEXT held" ]
}
t_check "ReadWrite: UploadPartCopy of the held object: the completed copy carries no lock" mpu_copy

# ---- multipart uploads across principals ----------------------------------------------
# upload_id — the UploadId of the last answer
upload_id() { grep -ao '<UploadId>[^<]*' "$T/resp" | sed 's/<UploadId>//'; }
as b10o
signed POST "/$O/shared/up?uploads"
UP_SH=$(upload_id)
signed PUT "/$O/shared/up?partNumber=1&uploadId=$UP_SH" "" "owner's part 1 of shared/up"
signed POST "/$O/private/up?uploads"
UP_PRIV=$(upload_id)
signed PUT "/$O/private/up?partNumber=1&uploadId=$UP_PRIV" "" "$SECRET_TEXT part 1 of private/up"
PRIV_ETAG=$(grep -ai '^etag:' "$T/resp" | tr -d '\r' | sed 's/^[^:]*: *//')
echo "# the owner's uploads: shared/up $UP_SH, private/up $UP_PRIV (part ETag $PRIV_ETAG)"

as b10r
signed GET "/$O?uploads"
if [ "$R_STATUS" = 200 ] && grep -qF "$UP_SH" "$T/resp"; then
	t_pass "control: a ReadOnly grantee lists the uploads under way"
else
	t_fail "control: ReadOnly ListMultipartUploads" "status $R_STATUS $(resp_code)"
fi
signed PUT "/$O/shared/up?partNumber=2&uploadId=$UP_SH" "" "b10r's part"
expect "ReadOnly: UploadPart into the owner's upload (its id listed)" 403 AccessDenied
signed POST "/$O/shared/up?uploadId=$UP_SH" "" "<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>x</ETag></Part></CompleteMultipartUpload>"
expect "ReadOnly: CompleteMultipartUpload of the owner's upload" 403 AccessDenied
signed DELETE "/$O/shared/up?uploadId=$UP_SH"
expect "ReadOnly: AbortMultipartUpload of the owner's upload" 403 AccessDenied

as b10w
signed GET "/$O/shared/up?uploadId=$UP_SH"
expect "WriteOnly: ListParts of an upload" 403 AccessDenied
signed PUT "/$O/shared/up?partNumber=3&uploadId=$UP_SH" "x-amz-copy-source: /$O/doc\r\n"
expect "WriteOnly: UploadPartCopy (the source needs read)" 403 AccessDenied

as b10p
signed PUT "/$O/shared/up?partNumber=2&uploadId=$UP_SH" "" "b10p's part 2 of shared/up"
P2_ETAG=$(grep -ai '^etag:' "$T/resp" | tr -d '\r' | sed 's/^[^:]*: *//')
[ "$R_STATUS" = 200 ] && t_pass "control: the shared/ grantee adds a part to the owner's upload of shared/up" ||
	t_fail "control: the shared/ grantee adds a part to shared/up" "status $R_STATUS $(resp_code)"
signed PUT "/$O/shared/up?partNumber=3&uploadId=$UP_SH" "x-amz-copy-source: /$O/shared/doc?versionId=$PRIV_OLD\r\n"
if [ "$R_STATUS" != 200 ] && [ "$(be parts "$O" shared/up "$UP_SH" | tr '\n' ' ')" = "1 2 " ]; then
	t_pass "prefix: UploadPartCopy from shared/doc?versionId=<private/doc's>: $R_STATUS $(resp_code), no part made"
else
	t_fail "prefix: UploadPartCopy naming private/doc's version" "status $R_STATUS; parts: $(be parts "$O" shared/up "$UP_SH" | tr '\n' ' ')"
fi
signed POST "/$O/shared/up?uploadId=$UP_SH" "" "<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>$PRIV_ETAG</ETag></Part></CompleteMultipartUpload>"
if [ "$R_STATUS" = 400 ] && [ "$(resp_code)" = InvalidPart ] && [ "$(be get "$O" shared/up | head -c 20)" = "ERR NoSuchKey" ]; then
	t_pass "prefix: completing shared/up with private/up's part ETag as part 1: 400 $(resp_code), no object"
else
	t_fail "prefix: completion naming private/up's ETag" "status $R_STATUS $(resp_code); RGW shared/up: $(be get "$O" shared/up | head -c 60)"
fi

# a grant narrowed while an upload is under way
signed POST "/$O/shared/nar?uploads"
UP_NAR=$(upload_id)
signed PUT "/$O/shared/nar?partNumber=1&uploadId=$UP_NAR" "" "part 1 of shared/nar"
N1_ETAG=$(grep -ai '^etag:' "$T/resp" | tr -d '\r' | sed 's/^[^:]*: *//')
if s3gate_admin grant "$O/shared/sub/" b10p ReadWrite >/dev/null &&
	wait_sigv4_status b10p "$S3GATE_ENDPOINT/$O/shared/doc" 403 5000 >/dev/null; then
	signed PUT "/$O/shared/nar?partNumber=2&uploadId=$UP_NAR" "" "part 2 of shared/nar"
	expect "grant narrowed to shared/sub/ mid-upload: UploadPart of shared/nar" 403 AccessDenied
	signed GET "/$O/shared/nar?uploadId=$UP_NAR"
	expect "grant narrowed mid-upload: ListParts" 403 AccessDenied
	signed POST "/$O/shared/nar?uploadId=$UP_NAR" "" "<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>$N1_ETAG</ETag></Part></CompleteMultipartUpload>"
	expect "grant narrowed mid-upload: CompleteMultipartUpload" 403 AccessDenied
	signed DELETE "/$O/shared/nar?uploadId=$UP_NAR"
	expect "grant narrowed mid-upload: AbortMultipartUpload" 403 AccessDenied
	if [ "$(be parts "$O" shared/nar "$UP_NAR" | tr '\n' ' ')" = "1 " ] &&
		[ "$(be get "$O" shared/nar | head -c 20)" = "ERR NoSuchKey" ]; then
		t_pass "RGW: shared/nar's upload holds part 1 only, no object"
	else
		t_fail "RGW: shared/nar's upload as it was" "parts $(be parts "$O" shared/nar "$UP_NAR" | tr '\n' ' '); object $(be get "$O" shared/nar | head -c 40)"
	fi
	s3gate_admin grant "$O/shared/" b10p ReadWrite >/dev/null &&
		wait_sigv4_status b10p "$S3GATE_ENDPOINT/$O/shared/doc" 200 5000 >/dev/null ||
		t_fail "b10p's grant widened back to shared/" "shared/doc not readable within 5 s"
else
	t_fail "narrow b10p's grant" "s3gate-admin grant failed, or shared/doc still readable after 5 s"
fi

# ---- bodies s3gate reads: DeleteObjects under a prefix grant ------------------------------
as b10p
signed POST "/$O?delete" "" '<?xml version="1.0"?>\n<!DOCTYPE Delete [<!ENTITY k "private/doc">]>\n<Delete><Object><Key>&k;</Key></Object></Delete>'
expect "prefix: DeleteObjects with a DOCTYPE whose entity is private/doc (RGW expands entities)" 400 MalformedXML
signed POST "/$O?delete" "" '<!DOCTYPE Delete [<!ENTITY k "shared/doc">]><Delete><Object><Key>&k;</Key></Object></Delete>'
expect "prefix: DeleteObjects with a DOCTYPE whose entity is inside the prefix" 400 MalformedXML
lol='<!DOCTYPE Delete [<!ENTITY a "aaaaaaaaaa">'
prev=a
for n in b c d e f g h i j; do lol+="<!ENTITY $n \"$(printf "&$prev;%.0s" 1 2 3 4 5 6 7 8 9 10)\">"; prev=$n; done
signed POST "/$O?delete" "" "$lol]><Delete><Object><Key>shared/&j;</Key></Object></Delete>"
expect "prefix: DeleteObjects with nested entities (10^10 bytes expanded)" 400 MalformedXML
nest=$(printf '<Object>%.0s' $(seq 1 3000))
signed POST "/$O?delete" "" "<Delete>$nest<Key>shared/doc</Key></Delete>"
expect "prefix: DeleteObjects nested 3000 deep" 400 MalformedXML
raw "POST /$O?delete HTTP/1.1\r\nHost: 127.0.0.1\r\n{SIG}Content-Length: 2097153\r\nConnection: close\r\n\r\n<Delete>"
expect "prefix: DeleteObjects of 2 MiB + 1 (Content-Length; the body never sent)" 400 InvalidRequest
if [ "$(be versions "$O" private/doc | tr '\n' ' ')" = "${PRIVV[*]} " ] &&
	[ "$(be versions "$O" shared/doc | tr '\n' ' ')" = "${SHV[*]} " ]; then
	t_pass "RGW: private/doc and shared/doc as they were after the DeleteObjects bodies"
else
	t_fail "RGW: private/doc and shared/doc as they were" "private $(be versions "$O" private/doc | tr '\n' ' '); shared $(be versions "$O" shared/doc | tr '\n' ' ')"
fi
# a grant prefix "c<CR>d/" (prefixes may hold control characters): XML reads a CR
# written as such as an LF, so the key "c<CR>d/x" in a body is "c<LF>d/x" to RGW
as b10c
signed POST "/$O?delete" "" "<Delete><Object><Key>c\rd/x</Key></Object></Delete>"
expect "prefix \"c<CR>d/\": DeleteObjects naming c<CR>d/x (RGW reads c<LF>d/x, outside)" 403 AccessDenied
signed POST "/$O?delete" "" "<Delete><Object><Key>c\r\nd/x</Key></Object></Delete>"
expect "prefix \"c<CR>d/\": DeleteObjects naming c<CR><LF>d/x (RGW reads c<LF>d/x)" 403 AccessDenied
signed POST "/$O?delete" "" "<Delete><Object><Key>c&#13;d/y</Key></Object></Delete>"
cy=$(be get "$O" "c"$'\r'"d/y" | head -c 20)
if [ "$R_STATUS" = 200 ] && [ "$cy" = "ERR NoSuchKey" ] && [ "$(be get "$O" "c"$'\n'"d/x")" = "$SECRET_TEXT v1" ]; then
	t_pass "prefix \"c<CR>d/\": c&#13;d/y (a CR) deleted (control); RGW still holds c<LF>d/x"
else
	t_fail "prefix \"c<CR>d/\": only c<CR>d/y deleted" "status $R_STATUS; c<CR>d/y: $cy; c<LF>d/x: $(be get "$O" "c"$'\n'"d/x" | head -c 40)"
fi
# CompleteMultipartUpload is relayed (RGW reads it): entities and size are RGW's to refuse
as b10rw
signed POST "/$L/mpx?uploads"
UP_X=$(upload_id)
signed POST "/$L/mpx?uploadId=$UP_X" "" "$lol]><CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>&j;</ETag></Part></CompleteMultipartUpload>"
if [ "${R_STATUS:0:1}" = 4 ] && [ "$(be get "$L" mpx | head -c 20)" = "ERR NoSuchKey" ]; then
	t_pass "ReadWrite: CompleteMultipartUpload with nested entities: $R_STATUS $(resp_code) (RGW's), nothing made"
else
	t_fail "ReadWrite: CompleteMultipartUpload with nested entities" "status $R_STATUS $(resp_code)"
fi
head -c 3145728 /dev/zero | tr '\0' ' ' >"$T/big.xml"
big_complete() {
	local st line
	st=$(curl_sigv4 b10rw -o "$T/bigc.out" -w '%{http_code}' -X POST --data-binary @"$T/big.xml" \
		-H "User-Agent: big-complete-$$" "$S3GATE_ENDPOINT/$L/mpx?uploadId=$UP_X" 2>/dev/null)
	# RGW answers early; s3gate relays that and closes, and curl, still sending, may see a reset
	line=$(grep -F "big-complete-$$" "$S3GATE_DIR/access.log" | tail -n 1)
	echo "3 MiB completion body: curl $st; log: $line"
	"$PY3" -c 'import json, sys; l = json.loads(sys.argv[1]); sys.exit(not 400 <= l["status"] < 500)' "$line"
}
t_check "ReadWrite: a 3 MiB CompleteMultipartUpload body is relayed as it comes (RGW's 4xx in the log)" big_complete

# ---- bodies sent slowly: a second s3gate on the same policy, body_timeout 2s --------------
if [ "$(deaths)" = "$deaths0" ]; then t_pass "no worker of b10 died"; else t_fail "no worker of b10 died" "$(grep 'exited (status' "$S3GATE_LOG" | tail -n 3)"; fi
s3gate_stop b10 || t_fail "s3gate b10 exits 0 on SIGTERM" "see $T/b10/s3gate.log"
PORT_S=$(free_port)
s3gate_start b10s "listen 127.0.0.1:$PORT_S" "policy_store file $T/b10/policy" "body_timeout 2s" ||
	{ t_fail "s3gate b10s starts" "see $T/b10s/s3gate.log"; exit 1; }
deaths0=$(deaths)
# b10s has the default bucket_config_ops: owners may not lock objects, so not copy locked ones
as b10o
before=$(be versions "$L" owner-copy2 | tr '\n' ' ')
signed PUT "/$L/owner-copy2" "x-amz-copy-source: /$L/held\r\n"
if [ "$R_STATUS" = 403 ] && [ "$(resp_code)" = AccessDenied ] && [ "$(be versions "$L" owner-copy2 | tr '\n' ' ')" = "$before" ]; then
	t_pass "default bucket_config_ops (no retention, legal-hold): the owner's copy of the held object: 403, nothing at RGW"
else
	t_fail "default bucket_config_ops: the owner's copy of the held object" "status $R_STATUS $(resp_code)"
fi
signed PUT "/$L/owner-copy2" "x-amz-copy-source: /$L/held\r\nx-amz-metadata-directive: replace\r\n"
if [ "$R_STATUS" = 200 ] && [ "$(be lock "$L" owner-copy2)" = "- -" ]; then
	t_pass "default bucket_config_ops: the owner's copy with x-amz-metadata-directive: replace (RGW: any case): 200, unlocked"
else
	t_fail "default bucket_config_ops: the owner's REPLACE copy" "status $R_STATUS $(resp_code); lock $(be lock "$L" owner-copy2)"
fi
as b10p
# stalled BODY: the head says 200 bytes, a few come, then nothing
stalled() { # NAME TARGET BODY-START
	local t0 t1 code
	t0=$(date +%s%3N)
	raw "POST $2 HTTP/1.1\r\nHost: 127.0.0.1\r\n{SIG}Content-Length: 200\r\n\r\n$3" --wait 8
	t1=$(date +%s%3N)
	code=$(resp_code)
	echo "# $1: $R_STATUS $code closed=$R_CLOSED after $((t1 - t0)) ms"
	if [ "$R_CLOSED" = 1 ] && [ "$R_STATUS" = 400 ] && [ "$code" = RequestTimeout ]; then
		t_pass "$1: 400 RequestTimeout (an S3 XML error), then closed"
	else
		t_fail "$1" "status $R_STATUS code '$code' closed=$R_CLOSED"
	fi
}
stalled "a DeleteObjects body under a prefix grant that stops coming (s3gate reads it)" "/$O?delete" "<Delete><Object>"
stalled "a self-service API body that stops coming" "/_s3gate/requests" '{"bucket": "'
raw "POST /_s3gate/requests HTTP/1.1\r\nHost: 127.0.0.1\r\n{SIG}Transfer-Encoding: chunked\r\n\r\n5\r\n{\"a\":\r\n0\r\n\r\n" --wait 4
expect "a self-service API body sent chunked (s3gate reads it whole: it needs the length first)" 411 MissingContentLength

if [ "$(deaths)" = "$deaths0" ]; then t_pass "no worker of b10s died"; else t_fail "no worker of b10s died" "$(grep 'exited (status' "$S3GATE_LOG" | tail -n 3)"; fi
