// @aws-sdk/client-s3: PutObject of a stream body (the SDK sends
// STREAMING-UNSIGNED-PAYLOAD-TRAILER, aws-chunked, Transfer-Encoding: chunked,
// no Content-Length, x-amz-decoded-content-length, a trailing
// x-amz-checksum-crc32), then GetObject and compare.  The body is a
// Readable.from() of odd-sized pieces with ContentLength given (the SDK needs
// the length for x-amz-decoded-content-length: without it, it fails with
// 'Invalid value "undefined" for header "x-amz-decoded-content-length"'), or
// with JS_BODY=fs an fs.createReadStream (the SDK stats the file).
// For tests/integ/t_tls_payload.sh:
//
//   NODE_PATH=.../node_modules [NODE_EXTRA_CA_CERTS=ca.pem] \
//     node js_stream.cjs ENDPOINT BUCKET KEY FILE [CHECKSUM_ALGORITHM]
//
// Credentials from JS_AKID / JS_SECRET, region JS_REGION.  Exits 0 when the
// object read back equals FILE.
const { S3Client, PutObjectCommand, GetObjectCommand } = require("@aws-sdk/client-s3");
const { Readable } = require("stream");
const fs = require("fs");

async function main() {
	const [ep, bucket, key, file, alg] = process.argv.slice(2);
	const data = fs.readFileSync(file);
	const s3 = new S3Client({
		endpoint: ep,
		region: process.env.JS_REGION || "us-east-1",
		forcePathStyle: true,
		maxAttempts: 1,
		credentials: { accessKeyId: process.env.JS_AKID, secretAccessKey: process.env.JS_SECRET },
	});
	// odd-sized pieces, so aws-chunk and read boundaries differ
	const pieces = [];
	for (let i = 0; i < data.length; i += 100003)
		pieces.push(data.subarray(i, Math.min(i + 100003, data.length)));
	const put = { Bucket: bucket, Key: key };
	if (process.env.JS_BODY === "fs") {
		put.Body = fs.createReadStream(file);
	} else {
		put.Body = Readable.from(pieces);
		put.ContentLength = data.length;
	}
	if (alg)
		put.ChecksumAlgorithm = alg;
	const r = await s3.send(new PutObjectCommand(put));
	console.log("put: HTTP", r.$metadata.httpStatusCode, "ETag", r.ETag,
		Object.keys(r).filter((k) => k.startsWith("Checksum")).map((k) => k + "=" + r[k]).join(" "));
	const g = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
	const back = Buffer.from(await g.Body.transformToByteArray());
	if (!back.equals(data)) {
		console.log("differs: got", back.length, "bytes, want", data.length);
		process.exit(1);
	}
	console.log("read back", back.length, "bytes: equal");
}

main().catch((e) => {
	console.log("error:", e.name, e.Code || "", e.message,
		e.$metadata ? "HTTP " + e.$metadata.httpStatusCode : "");
	process.exit(1);
});
