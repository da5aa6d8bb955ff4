# Dumps each request's raw head and body (as received) to OUTDIR/reqN.{head,body}
import socket, ssl, sys, os, threading
port, outdir, tls = int(sys.argv[1]), sys.argv[2], sys.argv[3] == 'tls'
os.makedirs(outdir, exist_ok=True)
n = [0]
def readn(f, k):
    b = b''
    while len(b) < k:
        c = f.read(k - len(b))
        if not c: raise EOFError
        b += c
    return b
def handle(c):
    f = c.makefile('rb')
    while True:
        head = b''
        while not head.endswith(b'\r\n\r\n'):
            ch = f.read(1)
            if not ch: return
            head += ch
        lines = head.decode('latin1').split('\r\n')
        hdrs = {}
        for l in lines[1:]:
            if ':' in l:
                k, v = l.split(':', 1); hdrs[k.strip().lower()] = v.strip()
        if hdrs.get('expect', '').lower() == '100-continue':
            c.sendall(b'HTTP/1.1 100 Continue\r\n\r\n')
        raw = b''
        if 'content-length' in hdrs:
            raw = readn(f, int(hdrs['content-length']))
        elif hdrs.get('transfer-encoding', '').lower() == 'chunked':
            while True:
                line = f.readline(); raw += line
                size = int(line.split(b';')[0].strip(), 16)
                if size == 0:
                    while True:
                        l = f.readline(); raw += l
                        if l == b'\r\n': break
                    break
                raw += readn(f, size + 2)
        n[0] += 1
        i = n[0]
        open(f'{outdir}/req{i}.head', 'wb').write(head)
        open(f'{outdir}/req{i}.body', 'wb').write(raw)
        body = b''
        if lines[0].startswith('POST') and 'uploads' in lines[0]:
            body = b'<?xml version="1.0" encoding="UTF-8"?><InitiateMultipartUploadResult><Bucket>b</Bucket><Key>k</Key><UploadId>UP1</UploadId></InitiateMultipartUploadResult>'
        elif lines[0].startswith('POST'):
            body = b'<?xml version="1.0" encoding="UTF-8"?><CompleteMultipartUploadResult><Bucket>b</Bucket><Key>k</Key><ETag>"x"</ETag></CompleteMultipartUploadResult>'
        c.sendall(b'HTTP/1.1 200 OK\r\nETag: "d41d8cd98f00b204e9800998ecf8427e"\r\nContent-Length: %d\r\n\r\n' % len(body) + body)
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(('127.0.0.1', port)); s.listen(16)
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER); ctx.load_cert_chain('cert.pem', 'key.pem')
while True:
    c, _ = s.accept()
    if tls:
        try: c = ctx.wrap_socket(c, server_side=True)
        except Exception as e: print(e); continue
    threading.Thread(target=lambda c=c: (handle(c), c.close()), daemon=True).start()
