#!/bin/bash
# A web page uses links s3gate issues, in a real browser (Debian's
# Chromium, headless): the page is served from one origin, the links point
# at s3gate, another -- so every fetch is cross-origin, and an upload with
# its own Content-Type (or a read with a Range) is preceded by the
# browser's CORS preflight, which s3gate passes to the bucket's CORS rules:
#   the owner sets the rules through s3gate (aws-cli PutBucketCors);
#   the page uploads to a PUT link (application/octet-stream: preflighted)
#     and reads the ETag the rules expose; RGW holds the bytes;
#   the page reads a GET link with a Range and an X-Requested-With
#     (preflighted: a Range alone is safelisted): 206 and the bytes;
#   the same page served from an origin the rules do not name: the browser
#     blocks the upload, nothing is stored;
#   links s3gate refuses itself -- an expired link (a plain fetch, no
#     preflight), a link signed by a principal without a grant (preflighted:
#     Range, X-Requested-With) -- the page reads the 403, the S3 error code,
#     its message and the request id (cors_errors), where it used to get
#     "TypeError: Failed to fetch".
# Workspaces: ws-brw<id>; ws-brwq<id> (no grant on ws-brw<id>).
. "$(dirname "$0")/lib.sh"

ID=$(rand_id)
P=brw$ID
B=ws-$P
PQ=brwq$ID
CHROMIUM=$(command -v chromium || command -v chromium-browser || true)

need_s3gate "browser" "links issued by s3gate need s3gate"
if [ -z "$CHROMIUM" ]; then
	t_skip "browser" "chromium not installed (make deps-test installs it)"; exit 0
fi
# links name public_url: here a second listener of s3gate's own
LINK_PORT=$(free_port)
s3gate_start brw "listen 127.0.0.1:$LINK_PORT" "public_url http://127.0.0.1:$LINK_PORT" ||
	{ t_fail "s3gate starts" "see $T/brw/s3gate.log"; exit 1; }
if ! out=$({ ws_setup "$P" "$B" && s3gate_cred "$P"; } 2>&1); then
	t_fail "setup: workspace $B and $P's credentials" "$out"; exit 1
fi

# The page: does what its query says with fetch(), then writes the outcome
# into <pre id="out">, which chromium --dump-dom prints.
mkdir -p "$T/site"
cat >"$T/site/page.html" <<'EOF'
<!doctype html><html><body><pre id="out">no outcome</pre><script>
const q = new URLSearchParams(location.search), out = document.getElementById("out");
const opts = q.get("op") === "put" ?
    { method: "PUT", headers: { "Content-Type": "application/octet-stream" }, body: q.get("body") } :
    q.get("op") === "plain" ? {} :
    { method: "GET", headers: { "Range": q.get("range"), "X-Requested-With": "page" } };
// show=error: what a page tells its user of a refusal -- the S3 error's Code and Message
const el = (t, name) => (t.match(new RegExp("<" + name + ">([^<]*)</" + name + ">")) || [])[1];
const show = q.get("show") === "error" ?
    (r, t) => "status=" + r.status + " code=" + el(t, "Code") + " message=" + el(t, "Message") +
        " request-id=" + r.headers.get("x-amz-request-id") :
    (r, t) => "status=" + r.status + " etag=" + r.headers.get("ETag") + " body=" + t;
fetch(q.get("url"), opts)
  .then(r => r.text().then(t => { out.textContent = show(r, t); }))
  .catch(e => { out.textContent = "blocked: " + e; });
</script></body></html>
EOF
SITE_PORT=$(free_port)
OTHER_PORT=$(free_port)
ORIGIN=http://127.0.0.1:$SITE_PORT
SITE_PIDS=()
for port in "$SITE_PORT" "$OTHER_PORT"; do
	(cd "$T/site" && exec "$PY3" -m http.server "$port" --bind 127.0.0.1) >"$T/site.$port.log" 2>&1 &
	SITE_PIDS+=($!)
done
lib_on_exit 'kill ${SITE_PIDS[*]} 2>/dev/null'
wait_port "$SITE_PORT" 10 && wait_port "$OTHER_PORT" 10 ||
	{ t_fail "the page's two web servers start" "$(cat "$T"/site.*.log)"; exit 1; }

# browse PAGE_PORT QUERY — the page's outcome in headless Chromium
browse() {
	HOME=$T/chromium-home timeout 60 "$CHROMIUM" --headless --no-sandbox --disable-gpu \
		--no-first-run --user-data-dir="$T/chromium-profile" --virtual-time-budget=10000 \
		--dump-dom "http://127.0.0.1:$1/page.html?$2" 2>>"$T/chromium.err" |
		sed -n 's/.*<pre id="out">\([^<]*\)<.*/\1/p'
}
q() { "$PY3" -c 'import sys, urllib.parse; print(urllib.parse.urlencode(list(zip(sys.argv[1::2], sys.argv[2::2]))))' "$@"; }

cors_rules() {
	printf '{"CORSRules":[{"AllowedOrigins":["%s"],"AllowedMethods":["GET","PUT"],"AllowedHeaders":["content-type","range","x-requested-with"],"ExposeHeaders":["ETag"],"MaxAgeSeconds":60}]}' \
		"$ORIGIN" >"$T/cors.json"
	awsv1 "$P" s3api put-bucket-cors --bucket "$B" --cors-configuration "file://$T/cors.json" &&
		backend_aws s3api get-bucket-cors --bucket "$B" | grep -q "$ORIGIN"
}
tc "the owner sets CORS rules for the page's origin through s3gate; RGW holds them" cors_rules

upload() {
	local url got etag
	url=$(s3gate_admin presign --principal "$P" --method PUT "s3://$B/from-page.bin") || return 1
	got=$(browse "$SITE_PORT" "$(q op put url "$url" body "bytes from a web page $ID")")
	echo "page: $got"
	case $got in "status=200 etag=\""*) ;; *) return 1 ;; esac
	backend_aws s3 cp "s3://$B/from-page.bin" "$T/from-page.bin" >/dev/null &&
		[ "$(cat "$T/from-page.bin")" = "bytes from a web page $ID" ] || { echo "RGW holds: $(cat "$T/from-page.bin")"; return 1; }
	etag=$(backend_aws s3api head-object --bucket "$B" --key from-page.bin --query ETag --output text)
	grep -qF "etag=$etag" <<<"$got" || { echo "the page saw another ETag than RGW's $etag"; return 1; }
}
tc "Chromium: a page uploads to a PUT link (preflighted: application/octet-stream), reads the exposed ETag; RGW holds the bytes" upload

ranged_read() {
	local url got
	printf '0123456789abcdef' >"$T/digits"
	backend_aws s3 cp "$T/digits" "s3://$B/digits" >/dev/null || return 1
	url=$(s3gate_admin presign --principal "$P" "s3://$B/digits") || return 1
	got=$(browse "$SITE_PORT" "$(q op get url "$url" range bytes=4-9)")
	echo "page: $got"
	case $got in "status=206 "*" body=456789") ;; *) return 1 ;; esac
}
tc "Chromium: a page reads a GET link with a Range and X-Requested-With (preflighted): 206 and those bytes" ranged_read

other_origin() {
	local url got
	url=$(s3gate_admin presign --principal "$P" --method PUT "s3://$B/from-elsewhere.bin") || return 1
	got=$(browse "$OTHER_PORT" "$(q op put url "$url" body "should not land")")
	echo "page from another origin: $got"
	case $got in "blocked: "*) ;; *) return 1 ;; esac
	! backend_aws s3api head-object --bucket "$B" --key from-elsewhere.bin >/dev/null 2>&1 ||
		{ echo "the object was stored"; return 1; }
}
tc "Chromium: the same page from an origin the rules do not name: the upload is blocked, nothing stored" other_origin

# s3gate's own refusals: readable by the page (cors_errors, on by default)
expired_link() {
	local url got
	url=$(s3gate_admin presign --principal "$P" --expires 1s "s3://$B/digits") || return 1
	sleep 2.5
	got=$(browse "$SITE_PORT" "$(q op plain show error url "$url")")
	echo "page: $got"
	case $got in "status=403 code=AccessDenied message=Request has expired"*" request-id="[0-9A-F]*) ;; *) return 1 ;; esac
	# any page, not only the origins the bucket's rules name
	got=$(browse "$OTHER_PORT" "$(q op plain show error url "$url")")
	echo "page from another origin: $got"
	case $got in "status=403 code=AccessDenied message=Request has expired"*" request-id="[0-9A-F]*) ;; *) return 1 ;; esac
}
tc "Chromium: a page fetches an expired link: it reads 403, AccessDenied, \"Request has expired\" and the request id" expired_link

no_grant() {
	local url got
	url=$(awsv1 "$PQ" s3 presign "s3://$B/digits" --expires-in 300) || return 1
	got=$(browse "$SITE_PORT" "$(q op get show error range bytes=0-3 url "$url")")
	echo "page: $got"
	case $got in "status=403 code=AccessDenied message="*"$B"*" request-id="[0-9A-F]*) ;; *) return 1 ;; esac
}
if ! out=$({ ws_setup "$PQ" "ws-$PQ" && s3gate_cred "$PQ"; } 2>&1); then
	t_fail "setup: workspace ws-$PQ and $PQ's credentials" "$out"
else
	tc "Chromium: a page reads (preflighted) a link signed by $PQ, who has no grant on $B: 403, AccessDenied and why" no_grant
fi

exit 0
