#!/bin/bash
# Compatibility sweep: what users do every day with aws-cli (v1, v2),
# rclone, s3cmd and boto3 beyond t_core_clients' put/get/list/multipart,
# as a bucket owner and as ReadWrite / ReadOnly grantees, each result
# checked against what RGW holds (read with the service key).
#   aws-cli  cp --metadata/--content-type/--storage-class, sync (--delete,
#            --exact-timestamps), mv, rm --recursive, ls --summarize,
#            server-side cp between buckets and into/out of grants,
#            copy-object --metadata-directive REPLACE, object tagging,
#            list-objects-v2 / list-object-versions pagination,
#            get-bucket-location, get-bucket-versioning, presign, 304s
#   rclone   sync (twice), check --download, hashsum md5, lsjson --metadata,
#            touch, server-side copyto, move, delete, purge, mkdir
#   s3cmd    sync (twice), du, info, cp, mv, modify --add-header, signurl,
#            del --recursive, setacl
#   boto3    paginators, copy(), upload_fileobj/download_fileobj with four
#            threads of ranged GETs, delete_objects of 1000 keys,
#            head_object ChecksumMode, IfNoneMatch/IfModifiedSince 304,
#            generate_presigned_post
# What it found (fixed with it):
#   - s3cmd cp, mv and modify failed on every object, and s3cmd info ended in
#     an error: s3cmd reads the source's ACL first (GET ?acl), which s3gate
#     refused with 403; s3cmd goes on without an ACL only on 501
#     NotImplemented.  ACL reads are now refused with 501 (action.c
#     OPF_NOTIMPL); ACL writes stay 403.
#   - boto3 generate_presigned_post: the form upload was refused with 403
#     "Request is not signed" (its signature is a form field); now 501
#     NotImplemented naming form uploads and what to use instead.
#   - rclone without no_check_bucket (its default) failed every upload, even
#     the owner's: it sends CreateBucket first and goes on on 409
#     BucketAlreadyOwnedByYou / BucketAlreadyExists; s3gate answered 403.
#     A bucket the caller may use is now answered 409 (auth.c
#     auth_create_existing); other names keep the 403 (existence not told).
# Refused on purpose (checked here for a clear answer): a grantee's
# GetBucketVersioning (configuration: owner/member), s3cmd setacl (501),
# form uploads (501), CreateBucket/DeleteBucket of a name the user may not
# make (rclone mkdir/rmdir, 403 with the reason).
# Noted, not s3gate's: rclone `about` is not supported by its S3 backend;
# rclone mkdir with no_check_bucket (lib.sh's default) succeeds without
# asking the server; Ceph pacific stores no x-amz-checksum-* (head_object
# ChecksumMode=ENABLED shows none) and answers GetObjectAttributes with the
# object's body (aws-cli v2) or 500 (v1), through s3gate as directly.
# Workspaces (names carry this run's suffix $S; RGW is shared):
#   ws-cpo$S (owner cpo$S): ws-cpo$S (cpg$S: ReadWrite), ws-cpo$S-ro
#     (cpg$S: ReadOnly), ws-cpo$S-two (no grant)
#   ws-cpg$S (owner cpg$S): ws-cpg$S
. "$(dirname "$0")/lib.sh"

S=$(rand_id)
O=cpo$S G=cpg$S
B=ws-$O BR=ws-$O-ro B2=ws-$O-two BG=ws-$G

SKIP_WHY=""
FAIL_WHY=""

if [ "$S3GATE_DIRECT_RGW" = 1 ]; then
	SKIP_WHY="grants and refusals are s3gate's own"
elif ! s3gate_have; then
	SKIP_WHY="$(basename "$S3GATE_BIN")/s3gate not built"
elif ! s3gate_start compat; then
	FAIL_WHY="s3gate did not start (see $T/compat/s3gate.log)"
fi

# backend_keys BUCKET PREFIX — the keys RGW holds under PREFIX, one a line, sorted
backend_keys() {
	backend_aws s3api list-objects-v2 --bucket "$1" --prefix "$2" --query 'Contents[].Key' \
		--output text | tr '\t' '\n' | grep -v '^None$' | sort
}
# backend_same BUCKET KEY FILE — RGW holds FILE's bytes at BUCKET/KEY
backend_same() {
	rm -f "$T/backend.out"
	backend_aws s3api get-object --bucket "$1" --key "$2" "$T/backend.out" >/dev/null || return 1
	same_file "$3" "$T/backend.out"
}
# keys_are BUCKET PREFIX KEY... — exactly those keys at the backend
keys_are() {
	local b=$1 p=$2 got want; shift 2
	got=$(backend_keys "$b" "$p")
	want=$(printf '%s\n' "$@" | grep -v '^$' | sort)
	[ "$got" = "$want" ] || { echo "at the backend under $b/$p: [$got], want [$want]" | tr '\n' ' '; echo; return 1; }
}
# mkdir_src DIR — three small files and one in sub/
mkdir_src() {
	rm -rf "$1"; mkdir -p "$1/sub"
	mkbytes "$1/f1" 1000; mkbytes "$1/f2" 1500; mkbytes "$1/f3" 2000; mkbytes "$1/sub/g" 2500
}

setup() {
	ws_setup "$O" "$B" "$BR" "$B2" --grant "$B:$G:ReadWrite" --grant "$BR:$G:ReadOnly" || return 1
	ws_setup "$G" "$BG" || return 1
	s3gate_cred "$O" own >/dev/null && s3gate_cred "$G" gr >/dev/null || return 1
	mkbytes "$T/small" 3000
	mkfile "$T/m20" 20
	backend_aws s3 cp "$T/small" "s3://$BR/ro/doc" >/dev/null || return 1
	wait_sigv4_status gr "$(s3_url "$BR/ro/doc")" 200 3000
}
if ready; then
	tc "setup: owner cpo (three buckets), grantee cpg (ReadWrite, ReadOnly; a bucket of its own)" setup ||
		FAIL_WHY="setup failed"
fi

# ---- aws-cli -------------------------------------------------------------------

cp_headers() {	# --metadata, --content-type, --storage-class STANDARD reach the object
	local h
	awsv2 own s3 cp "$T/small" "s3://$B/hdr/a" --metadata k1=v1,k2=v2 --content-type text/x-compat \
		--storage-class STANDARD || return 1
	h=$(awsv1 own s3api head-object --bucket "$B" --key hdr/a --output json) || return 1
	echo "$h"
	grep -q '"k1": "v1"' <<<"$h" && grep -q '"k2": "v2"' <<<"$h" &&
		grep -q '"ContentType": "text/x-compat"' <<<"$h" && backend_same "$B" hdr/a "$T/small"
}
tc "aws v2: s3 cp --metadata --content-type --storage-class STANDARD; head-object (v1) shows them" cp_headers
cp_gzip() {	# --content-encoding gzip and the other entity headers, single and multipart
	local h
	gzip -1 -c "$T/small" >"$T/small.gz" && gzip -1 -c "$T/m20" | head -c 9437184 >"$T/m9.gz" || return 1
	awsv2 own s3 cp "$T/small.gz" "s3://$B/gz/small" --content-encoding gzip --cache-control max-age=60 \
		--content-disposition 'attachment; filename="a b.txt"' || return 1
	awsv1 own s3 cp "$T/m9.gz" "s3://$B/gz/m9" --content-encoding gzip || return 1
	h=$(backend_aws s3api head-object --bucket "$B" --key gz/small --output json) || return 1
	echo "$h"
	grep -q '"ContentEncoding": "gzip"' <<<"$h" && grep -q '"CacheControl": "max-age=60"' <<<"$h" &&
		grep -q 'filename=\\"a b.txt\\"' <<<"$h" || return 1
	backend_same "$B" gz/small "$T/small.gz" && backend_same "$B" gz/m9 "$T/m9.gz"
}
tc "aws: s3 cp --content-encoding gzip --cache-control --content-disposition (v2), 9 MiB multipart (v1)" cp_gzip

aws_sync() {	# up, --delete after a local delete and change, down with --exact-timestamps
	mkdir_src "$T/sy"
	awsv2 own s3 sync "$T/sy" "s3://$B/sync/" || return 1
	keys_are "$B" sync/ sync/f1 sync/f2 sync/f3 sync/sub/g || return 1
	rm "$T/sy/f3"; mkbytes "$T/sy/f1" 1001
	awsv2 own s3 sync --delete "$T/sy" "s3://$B/sync/" || return 1
	keys_are "$B" sync/ sync/f1 sync/f2 sync/sub/g && backend_same "$B" sync/f1 "$T/sy/f1" || return 1
	rm -rf "$T/sy.back"
	awsv1 own s3 sync --exact-timestamps "s3://$B/sync/" "$T/sy.back" || return 1
	diff -r "$T/sy" "$T/sy.back"
}
tc "aws: s3 sync up (v2), sync --delete removes at the backend, sync down --exact-timestamps (v1)" aws_sync

ls_summarize() {
	local out
	out=$(awsv2 own s3 ls --recursive --human-readable --summarize "s3://$B/sync/") || return 1
	echo "$out"
	grep -q 'Total Objects: 3' <<<"$out" && grep -Eq '1001 Bytes sync/f1$' <<<"$out" &&
		grep -Eq '2\.4 KiB sync/sub/g$' <<<"$out"
}
tc "aws v2: s3 ls --recursive --human-readable --summarize" ls_summarize

aws_mv_rm() {	# mv within the bucket, then rm --recursive
	awsv2 own s3 mv "s3://$B/sync/f2" "s3://$B/moved/f2" || return 1
	keys_are "$B" sync/ sync/f1 sync/sub/g && backend_same "$B" moved/f2 "$T/sy/f2" || return 1
	awsv1 own s3 rm --recursive "s3://$B/sync/" || return 1
	keys_are "$B" sync/
}
tc "aws: s3 mv (v2) moves at the backend; s3 rm --recursive (v1) empties the prefix" aws_mv_rm

server_cp() {	# owner between own buckets; grantee own -> ReadWrite grant, ReadOnly grant -> own
	awsv2 own s3 cp "s3://$B/moved/f2" "s3://$B2/from-b/f2" || return 1
	backend_same "$B2" from-b/f2 "$T/sy/f2" || return 1
	awsv2 gr s3 cp "$T/small" "s3://$BG/mine" || return 1
	awsv2 gr s3 cp "s3://$BG/mine" "s3://$B/from-gr/mine" || return 1
	backend_same "$B" from-gr/mine "$T/small" || return 1
	awsv1 gr s3 cp "s3://$BR/ro/doc" "s3://$BG/from-ro/doc" || return 1
	backend_same "$BG" from-ro/doc "$T/small"
}
tc "aws: server-side s3 cp between the owner's buckets, grantee's own into ReadWrite, ReadOnly into own" server_cp
tdeny "aws v2: grantee's server-side s3 cp into its ReadOnly bucket refused (AccessDenied, says ReadOnly)" \
	AccessDenied "CopyObject on bucket $BR needs write access; your grant is ReadOnly" \
	awsv2 gr s3 cp "s3://$BG/mine" "s3://$BR/ro/planted"
tc "... nothing planted" keys_are "$BR" ro/ ro/doc
tdeny "aws v2: grantee's s3 rm --recursive in its ReadOnly bucket refused" AccessDenied \
	"DeleteObject on bucket $BR needs write access" awsv2 gr s3 rm --recursive "s3://$BR/ro/"
tc "... nothing deleted" keys_are "$BR" ro/ ro/doc

copy_replace() {	# copy-object --metadata-directive REPLACE, in place and to a new key
	local h
	awsv2 own s3api copy-object --bucket "$B" --key hdr/a --copy-source "$B/hdr/a" \
		--metadata-directive REPLACE --metadata k3=v3 --content-type text/plain >/dev/null || return 1
	h=$(awsv2 own s3api head-object --bucket "$B" --key hdr/a --output json) || return 1
	echo "$h"
	grep -q '"k3": "v3"' <<<"$h" && ! grep -q '"k1"' <<<"$h" &&
		grep -q '"ContentType": "text/plain"' <<<"$h" && backend_same "$B" hdr/a "$T/small" || return 1
	awsv1 gr s3api copy-object --bucket "$B" --key hdr/b --copy-source "$B/hdr/a" \
		--metadata-directive REPLACE --metadata k4=v4 >/dev/null || return 1
	awsv1 gr s3api head-object --bucket "$B" --key hdr/b | grep -q '"k4": "v4"'
}
tc "aws: copy-object --metadata-directive REPLACE (owner v2 in place, ReadWrite grantee v1)" copy_replace

tagging() {	# owner and ReadWrite grantee put/get; ReadOnly grantee reads
	local t
	awsv2 own s3api put-object-tagging --bucket "$B" --key hdr/a \
		--tagging 'TagSet=[{Key=team,Value=own}]' || return 1
	t=$(awsv1 gr s3api get-object-tagging --bucket "$B" --key hdr/a --query 'TagSet[0].Value' --output text)
	[ "$t" = own ] || { echo "grantee reads tag '$t'"; return 1; }
	awsv1 gr s3api put-object-tagging --bucket "$B" --key hdr/a \
		--tagging 'TagSet=[{Key=team,Value=gr}]' || return 1
	t=$(backend_aws s3api get-object-tagging --bucket "$B" --key hdr/a --query 'TagSet[0].Value' --output text)
	[ "$t" = gr ] || { echo "backend tag '$t'"; return 1; }
	awsv2 gr s3api get-object-tagging --bucket "$BR" --key ro/doc --output json | grep -q TagSet
}
tc "object tagging: owner put (v2), ReadWrite grantee get/put (v1), ReadOnly grantee get" tagging
tdeny "object tagging: ReadOnly grantee's put-object-tagging refused (says ReadOnly)" AccessDenied \
	"PutObjectTagging on bucket $BR needs write access; your grant is ReadOnly" \
	awsv2 gr s3api put-object-tagging --bucket "$BR" --key ro/doc --tagging 'TagSet=[{Key=a,Value=b}]'

paging() {	# five keys one per page: NextToken, --starting-token; v1 --page-size 2
	local k out tok
	for k in 1 2 3 4 5; do echo "$k" >"$T/p$k"; awsv2 own s3 cp "$T/p$k" "s3://$B/page/k$k" || return 1; done
	out=$(awsv2 own s3api list-objects-v2 --bucket "$B" --prefix page/ --max-items 2 --page-size 1 \
		--output json) || return 1
	tok=$("$PY3" -c 'import json,sys; d=json.load(sys.stdin); print(",".join(o["Key"] for o in d["Contents"])); print(d["NextToken"])' <<<"$out") || return 1
	echo "$tok"
	[ "$(head -n 1 <<<"$tok")" = "page/k1,page/k2" ] || return 1
	out=$(awsv2 own s3api list-objects-v2 --bucket "$B" --prefix page/ --page-size 1 \
		--starting-token "$(tail -n 1 <<<"$tok")" --query 'Contents[].Key' --output text) || return 1
	echo "rest: $out"
	[ "$(echo $out)" = "page/k3 page/k4 page/k5" ] || return 1
	out=$(awsv1 gr s3api list-objects-v2 --bucket "$B" --prefix page/ --page-size 2 \
		--query 'Contents[].Key' --output text) || return 1
	[ "$(echo $out)" = "page/k1 page/k2 page/k3 page/k4 page/k5" ]
}
tc "list-objects-v2 pagination: --max-items/--page-size/--starting-token (v2), grantee --page-size 2 (v1)" paging

versions() {
	local out
	out=$(awsv2 own s3api list-object-versions --bucket "$B" --prefix page/ --max-items 2 --page-size 1 \
		--output json) || return 1
	out=$("$PY3" -c 'import json,sys; d=json.load(sys.stdin); print(",".join(v["Key"] for v in d["Versions"]), "next" if d.get("NextToken") else "last")' <<<"$out") || return 1
	echo "$out"
	[ "$out" = "page/k1,page/k2 next" ] || return 1
	out=$(awsv1 gr s3api list-object-versions --bucket "$BR" --query 'Versions[].Key' --output text) || return 1
	[ "$out" = ro/doc ]
}
tc "list-object-versions: owner paginated (v2), ReadOnly grantee (v1)" versions

location() {
	awsv2 own s3api get-bucket-location --bucket "$B" --output json | grep -q LocationConstraint &&
		awsv1 gr s3api get-bucket-location --bucket "$BR" --output json | grep -q LocationConstraint &&
		awsv2 own s3api get-bucket-versioning --bucket "$B" >/dev/null
}
tc "get-bucket-location (owner, ReadOnly grantee); get-bucket-versioning (owner)" location
tdeny "get-bucket-versioning by a grantee refused on purpose: configuration is the owner's" AccessDenied \
	"GetBucketVersioning on bucket $B needs owner or member rights; a ReadWrite grant" \
	awsv2 gr s3api get-bucket-versioning --bucket "$B"

presign_ro() {	# a ReadOnly grantee's presigned link, fetched by curl
	local url code
	url=$(awsv2 gr s3 presign "s3://$BR/ro/doc" --expires-in 300) || return 1
	code=$(curl -s -o "$T/presign.out" -w '%{http_code}' --max-time 30 "$url")
	echo "HTTP $code"
	[ "$code" = 200 ] && same_file "$T/small" "$T/presign.out"
}
tc "aws v2: s3 presign by the ReadOnly grantee, fetched with curl" presign_ro
tdeny "aws v2: get-object --if-none-match ETAG: 304 Not Modified" 304 "Not Modified" \
	awsv2 own s3api get-object --bucket "$B" --key hdr/b --if-none-match "$(md5sum <"$T/small" | cut -d' ' -f1)" "$T/o304"

# ---- rclone --------------------------------------------------------------------

rc_sync() {	# sync, a second sync that changes nothing, check --download, hashsum md5
	local out
	mkdir_src "$T/rc"
	rclone_s3 own sync "$T/rc" "s3g:$B/rc" || return 1
	keys_are "$B" rc/ rc/f1 rc/f2 rc/f3 rc/sub/g || return 1
	out=$(rclone_s3 own sync -v "$T/rc" "s3g:$B/rc" 2>&1) || { echo "$out"; return 1; }
	echo "$out" | grep -q 'There was nothing to transfer' || { echo "$out"; return 1; }
	rclone_s3 own check --download "$T/rc" "s3g:$B/rc" || return 1
	out=$(rclone_s3 own hashsum md5 "s3g:$B/rc" | sort -k2) || return 1
	[ "$out" = "$(cd "$T/rc" && md5sum f1 f2 f3 sub/g | sort -k2)" ] || { echo "$out"; return 1; }
}
tc "rclone: sync, a second sync transfers nothing, check --download, hashsum md5" rc_sync

rc_meta() {	# lsjson --metadata has the mtime; touch sets a new one; touch makes an empty object
	local m1 m2
	m1=$(rclone_s3 own lsjson --metadata "s3g:$B/rc/f1") || return 1
	echo "$m1"; grep -q '"mtime"' <<<"$m1" || return 1
	rclone_s3 own touch -t 2020-01-02T03:04:05 "s3g:$B/rc/f1" || return 1
	m2=$(rclone_s3 own lsjson "s3g:$B/rc/f1") || return 1
	echo "$m2"; grep -q '"ModTime":"2020-01-02T03:04:05' <<<"$m2" || return 1
	backend_same "$B" rc/f1 "$T/rc/f1" || return 1
	rclone_s3 gr touch "s3g:$B/rc/empty" || return 1
	[ "$(backend_aws s3api head-object --bucket "$B" --key rc/empty --query ContentLength --output text)" = 0 ]
}
tc "rclone: lsjson --metadata, touch -t (owner: bytes kept), touch of a new file (ReadWrite grantee)" rc_meta

rc_server() {	# server-side copyto, move, delete, purge
	rclone_s3 own copyto "s3g:$B/rc/f2" "s3g:$B/rc/f2copy" || return 1
	backend_same "$B" rc/f2copy "$T/rc/f2" || return 1
	rclone_s3 gr move "s3g:$B/rc/f2copy" "s3g:$B/rcm/" || return 1
	keys_are "$B" rcm/ rcm/f2copy && backend_same "$B" rcm/f2copy "$T/rc/f2" || return 1
	rclone_s3 gr delete "s3g:$B/rcm" || return 1
	keys_are "$B" rcm/ || return 1
	rclone_s3 own purge "s3g:$B/rc/sub" || return 1
	keys_are "$B" rc/ rc/f1 rc/f2 rc/f3 rc/empty
}
tc "rclone: copyto server-side (owner), move and delete (ReadWrite grantee), purge of a prefix" rc_server
rc_ro() {
	rclone_s3 gr check --download "$T/small" "s3g:$BR/ro/doc" 2>&1 | tail -n 3
	rclone_s3 gr copyto "s3g:$BR/ro/doc" "$T/rc.ro" && same_file "$T/small" "$T/rc.ro"
}
tc "rclone: the ReadOnly grantee reads its bucket" rc_ro
tdeny "rclone: the ReadOnly grantee's sync into it refused (says ReadOnly)" AccessDenied \
	"needs write access; your grant is ReadOnly" rclone_s3 gr sync "$T/rc" "s3g:$BR/rc"
tc "... nothing stored" keys_are "$BR" rc/
# rclone's default (no_check_bucket unset; lib.sh sets it) sends CreateBucket
# before the first upload to a bucket and goes on on 409 BucketAlreadyOwnedByYou
# or BucketAlreadyExists: s3gate's 403 stopped every upload
rc_default() {
	RCLONE_NO_CHECK_BUCKET=false rclone_s3 own copyto "$T/small" "s3g:$B/rcdef/own" || return 1
	RCLONE_NO_CHECK_BUCKET=false rclone_s3 gr copyto "$T/small" "s3g:$B/rcdef/gr" || return 1
	RCLONE_NO_CHECK_BUCKET=false rclone_s3 gr copyto "$T/small" "s3g:$BG/rcdef/gr" || return 1
	keys_are "$B" rcdef/ rcdef/own rcdef/gr && backend_same "$BG" rcdef/gr "$T/small"
}
tc "rclone without no_check_bucket: uploads by the owner, the ReadWrite grantee, into its own bucket" rc_default
create_existing() {	# the answers rclone goes on with; no bucket touched
	local out
	out=$(awsv2 own s3api create-bucket --bucket "$B" 2>&1) && { echo "created: $out"; return 1; }
	echo "$out"; grep -q BucketAlreadyOwnedByYou <<<"$out" || return 1
	out=$(s3cmd_s3 gr mb "s3://$BR" 2>&1) && { echo "created: $out"; return 1; }
	echo "$out"; grep -q 'BucketAlreadyExists' <<<"$out" && keys_are "$BR" ro/ ro/doc
}
tc "CreateBucket of a bucket one may use: 409 BucketAlreadyOwnedByYou (owner, v2) / BucketAlreadyExists (grantee, s3cmd)" \
	create_existing
# (lib.sh's rclone skips CreateBucket unless told to check the bucket)
rc_mkdir() { RCLONE_NO_CHECK_BUCKET=false rclone_s3 "$1" mkdir "s3g:$2"; }
tdeny "rclone: mkdir of a bucket the user may not create refused with the reason" AccessDenied \
	"CreateBucket: this name is not one you may create" rc_mkdir gr "$B-new"
tdeny "rclone: mkdir of an existing bucket one has no access to: the same refusal (existence not told)" \
	AccessDenied "CreateBucket: this name is not one you may create" rc_mkdir own "$BG"
tdeny "rclone: rmdir of a bucket refused with the reason" AccessDenied "DeleteBucket: buckets are deleted by the workspace platform" \
	rclone_s3 own rmdir "s3g:$B2"

# ---- s3cmd ---------------------------------------------------------------------

s3c_sync() {	# sync, a second sync uploads nothing, du
	local out
	mkdir_src "$T/s3c"
	s3cmd_s3 own sync "$T/s3c/" "s3://$B/s3c/" || return 1
	keys_are "$B" s3c/ s3c/f1 s3c/f2 s3c/f3 s3c/sub/g || return 1
	out=$(s3cmd_s3 own sync "$T/s3c/" "s3://$B/s3c/" 2>&1) || { echo "$out"; return 1; }
	! grep -q '^upload:' <<<"$out" || { echo "$out"; return 1; }
	out=$(s3cmd_s3 gr du "s3://$B/s3c/") || return 1
	echo "$out"; grep -Eq '^ *7000 +4 objects' <<<"$out"
}
tc "s3cmd: sync, a second sync uploads nothing, du (grantee)" s3c_sync

s3c_info() {	# info on an object and a bucket: the ACL read answered 501, s3cmd goes on
	local out
	out=$(s3cmd_s3 own info "s3://$B/s3c/f1") || { echo "$out"; return 1; }
	echo "$out"; grep -q 'MD5 sum: *'"$(md5sum <"$T/s3c/f1" | cut -d' ' -f1)" <<<"$out" || return 1
	s3cmd_s3 own info "s3://$B"
}
tc "s3cmd: info of an object and a bucket (owner)" s3c_info
tdeny "s3cmd: info by a grantee stops at the bucket's CORS, a configuration read (owner/member's, on purpose)" \
	AccessDenied "GetBucketCors on bucket $BR needs owner or member rights; a ReadOnly grant" \
	s3cmd_s3 gr info "s3://$BR/ro/doc"

s3c_copy() {	# cp, mv, modify: server-side, after s3cmd's ACL read
	s3cmd_s3 own cp "s3://$B/s3c/f1" "s3://$B/s3c2/f1" || return 1
	backend_same "$B" s3c2/f1 "$T/s3c/f1" || return 1
	s3cmd_s3 own mv "s3://$B/s3c2/f1" "s3://$B2/s3c/f1" || return 1
	keys_are "$B" s3c2/ && backend_same "$B2" s3c/f1 "$T/s3c/f1" || return 1
	s3cmd_s3 gr cp "s3://$BR/ro/doc" "s3://$B/s3c2/doc" || return 1
	backend_same "$B" s3c2/doc "$T/small" || return 1
	s3cmd_s3 own modify --add-header=x-amz-meta-compat:yes "s3://$B/s3c/f2" || return 1
	backend_aws s3api head-object --bucket "$B" --key s3c/f2 | grep -q '"compat": "yes"' &&
		backend_same "$B" s3c/f2 "$T/s3c/f2"
}
tc "s3cmd: cp and mv server-side (owner, across buckets), cp by the grantee, modify --add-header" s3c_copy
tdeny "s3cmd: setacl --acl-private refused on purpose: 501 NotImplemented, ACLs are s3gate's" \
	NotImplemented "GetObjectAcl is not allowed through s3gate: bucket policies and ACLs are managed by s3gate" \
	s3cmd_s3 own setacl --acl-private "s3://$B/s3c/f2"
tdeny "aws v2: get-object-acl: 501 NotImplemented with the reason" NotImplemented \
	"GetObjectAcl is not allowed through s3gate" awsv2 gr s3api get-object-acl --bucket "$BR" --key ro/doc
tdeny "aws v1: put-object-acl: 403 AccessDenied with the reason" AccessDenied \
	"PutObjectAcl is not allowed through s3gate" awsv1 own s3api put-object-acl --bucket "$B" --key s3c/f2 --acl private

s3c_signurl() {	# s3cmd's SigV2 link of a ReadOnly grantee, fetched by curl
	local url code
	url=$(s3cmd_s3 gr signurl "s3://$BR/ro/doc" +300) || return 1
	code=$(curl -s -o "$T/signurl.out" -w '%{http_code}' --max-time 30 "$url")
	echo "HTTP $code"
	[ "$code" = 200 ] && same_file "$T/small" "$T/signurl.out"
}
tc "s3cmd: signurl (ReadOnly grantee) fetched with curl" s3c_signurl
s3c_del() { s3cmd_s3 gr del --recursive --force "s3://$B/s3c/" && keys_are "$B" s3c/; }
tc "s3cmd: del --recursive (ReadWrite grantee) empties the prefix at the backend" s3c_del

# ---- boto3 ---------------------------------------------------------------------

b3_transfer() {	# 20 MiB: upload_fileobj, download_fileobj with 4 threads of 5 MiB ranges, copy()
	boto3_py own '
import io
b, f = sys.argv[1], sys.argv[2]
data = open(f, "rb").read()
cfg = TransferConfig(multipart_threshold=5 << 20, multipart_chunksize=5 << 20, max_concurrency=4)
with open(f, "rb") as fh:
    s3.upload_fileobj(fh, b, "b3/m20", Config=cfg)
buf = io.BytesIO()
s3.download_fileobj(b, "b3/m20", buf, Config=cfg)
assert buf.getvalue() == data, "download_fileobj differs"
s3.copy({"Bucket": b, "Key": "b3/m20"}, b, "b3/m20copy", Config=cfg)
buf = io.BytesIO()
s3.download_fileobj(b, "b3/m20copy", buf, Config=cfg)
assert buf.getvalue() == data, "copy differs"
h = s3.head_object(Bucket=b, Key="b3/m20", ChecksumMode="ENABLED")
assert h["ContentLength"] == len(data), h
print("ok", h["ETag"])
' "$B" "$T/m20" && backend_same "$B" b3/m20 "$T/m20" && backend_same "$B" b3/m20copy "$T/m20"
}
tc "boto3: upload_fileobj / download_fileobj (4 threads, 5 MiB ranges), copy(), head_object ChecksumMode" b3_transfer

b3_lists() {	# paginator PageSize 2; delete_objects of 1000 keys by the ReadWrite grantee
	boto3_py gr '
b = sys.argv[1]
for i in range(7):
    s3.put_object(Bucket=b, Key="b3many/%04d" % i, Body=b"x")
pages = list(s3.get_paginator("list_objects_v2").paginate(Bucket=b, Prefix="b3many/",
    PaginationConfig={"PageSize": 2}))
keys = [o["Key"] for p in pages for o in p.get("Contents", [])]
assert len(pages) == 4 and keys == ["b3many/%04d" % i for i in range(7)], (len(pages), keys)
r = s3.delete_objects(Bucket=b, Delete={"Objects": [{"Key": "b3many/%04d" % i} for i in range(1000)]})
assert len(r.get("Deleted", [])) == 1000 and not r.get("Errors"), r.get("Errors")
print("ok")
' "$B" && keys_are "$B" b3many/
}
tc "boto3: list_objects_v2 paginator (PageSize 2), delete_objects of 1000 keys (ReadWrite grantee)" b3_lists

b3_304() {
	boto3_py gr '
import datetime
b, k = sys.argv[1], sys.argv[2]
et = s3.head_object(Bucket=b, Key=k)["ETag"]
later = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(days=1)
for kw in ({"IfNoneMatch": et}, {"IfModifiedSince": later}):
    try:
        s3.get_object(Bucket=b, Key=k, **kw)
        raise SystemExit("no 304 for %r" % kw)
    except ClientError as e:
        st = e.response["ResponseMetadata"]["HTTPStatusCode"]
        assert st == 304, (kw, st)
assert s3.get_object(Bucket=b, Key=k, IfNoneMatch="\"0\"")["Body"].read() == open(sys.argv[3], "rb").read()
print("ok")
' "$BR" ro/doc "$T/small"
}
tc "boto3: get_object IfNoneMatch / IfModifiedSince: 304 (ReadOnly grantee), else the body" b3_304

b3_post() {	# generate_presigned_post, sent by curl as a browser would
	local fields code
	fields=$(boto3_py own '
import json
p = s3.generate_presigned_post(sys.argv[1], "b3/posted", ExpiresIn=300)
print(p["url"])
for k, v in p["fields"].items():
    print("%s=%s" % (k, v))
' "$B") || return 1
	local -a form=()
	while read -r l; do form+=(-F "$l"); done < <(tail -n +2 <<<"$fields")
	code=$(curl -s -o "$T/post.out" -w '%{http_code}' --max-time 30 "${form[@]}" \
		-F "file=@$T/small" "$(head -n 1 <<<"$fields")")
	echo "HTTP $code"; cat "$T/post.out"
	[ "$code" = 501 ] && grep -q '<Code>NotImplemented</Code>' "$T/post.out" &&
		grep -q 'browser form uploads' "$T/post.out" && keys_are "$B" b3/posted
}
tc "boto3: generate_presigned_post refused on purpose: 501 NotImplemented naming form uploads, nothing stored" b3_post
b3_put_url() {	# what the refusal says to use: a presigned PUT (ReadWrite grantee); response-* overrides
	boto3_py gr '
import urllib.request
b, data = sys.argv[1], open(sys.argv[2], "rb").read()
u = s3.generate_presigned_url("put_object", Params={"Bucket": b, "Key": "b3/put-url"}, ExpiresIn=300)
assert urllib.request.urlopen(urllib.request.Request(u, data=data, method="PUT")).status == 200
u = s3.generate_presigned_url("get_object", Params={"Bucket": b, "Key": "b3/put-url",
    "ResponseContentDisposition": "attachment; filename=x.bin", "ResponseContentType": "text/x-y"}, ExpiresIn=300)
r = urllib.request.urlopen(u)
assert r.read() == data and r.headers["Content-Disposition"] == "attachment; filename=x.bin" and \
    r.headers["Content-Type"] == "text/x-y", dict(r.headers)
print("ok")
' "$B" "$T/small" && backend_same "$B" b3/put-url "$T/small"
}
tc "boto3: a presigned PUT URL instead (ReadWrite grantee), a GET URL with response-* overrides" b3_put_url
b3_mp_urls() {	# MLflow's proxied multipart upload: presigned upload_part URLs, list_parts, complete, abort URL
	boto3_py gr '
import urllib.request
b = sys.argv[1]
def send(u, method, data=None):
    return urllib.request.urlopen(urllib.request.Request(u, data=data, method=method))
up = s3.create_multipart_upload(Bucket=b, Key="b3mp/obj")["UploadId"]
parts, whole = [], b""
for n, body in ((1, os.urandom(5 << 20)), (2, os.urandom(1000))):
    u = s3.generate_presigned_url("upload_part", Params={"Bucket": b, "Key": "b3mp/obj", "UploadId": up,
        "PartNumber": n}, ExpiresIn=300)
    parts.append({"PartNumber": n, "ETag": send(u, "PUT", body).headers["ETag"]})
    whole += body
assert [p["PartNumber"] for p in s3.list_parts(Bucket=b, Key="b3mp/obj", UploadId=up)["Parts"]] == [1, 2]
assert up in [x["UploadId"] for x in s3.list_multipart_uploads(Bucket=b, Prefix="b3mp/")["Uploads"]]
s3.complete_multipart_upload(Bucket=b, Key="b3mp/obj", UploadId=up, MultipartUpload={"Parts": parts})
assert s3.get_object(Bucket=b, Key="b3mp/obj")["Body"].read() == whole
up = s3.create_multipart_upload(Bucket=b, Key="b3mp/aborted")["UploadId"]
u = s3.generate_presigned_url("abort_multipart_upload", Params={"Bucket": b, "Key": "b3mp/aborted",
    "UploadId": up}, ExpiresIn=300)
assert send(u, "DELETE").status == 204
assert not s3.list_multipart_uploads(Bucket=b, Prefix="b3mp/").get("Uploads")
print("ok")
' "$B" && keys_are "$B" b3mp/ b3mp/obj
}
tc "boto3 (MLflow's proxied multipart): presigned upload_part URLs, list_parts, complete; an abort URL (ReadWrite grantee)" b3_mp_urls

# ---- clean up: the backend keeps the data in memory -------------------------
if ready; then
	for b in "$B" "$BR" "$B2" "$BG"; do backend_aws s3 rm --recursive "s3://$b/" >/dev/null 2>&1; done
fi
exit 0
