"""A fault-injecting proxy in front of a real engine, for faults a real
engine cannot show on demand (here: Docker's transient restore error,
moby#42900).  Everything is forwarded to the real engine, except the first
`fail_starts` calls of POST /containers/*/start?checkpoint=..., which get the
500 Docker answers in that case, with nothing done on the engine."""

import http.client
import http.server
import threading


class FaultProxy:
    MESSAGE = (b'{"message":"failed to upload checkpoint to containerd: commit failed: '
               b'content sha256:0123456789abcdef: already exists"}')

    def __init__(self, engine_port, fail_starts=1):
        self.engine_port = engine_port
        self.fail_starts = fail_starts
        self.failed = 0
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def forward(self):
                n = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(n) if n else None
                if (self.command == "POST" and "/start?checkpoint=" in self.path
                        and proxy.failed < proxy.fail_starts):
                    proxy.failed += 1
                    self.send_response(500)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(FaultProxy.MESSAGE)))
                    self.end_headers()
                    self.wfile.write(FaultProxy.MESSAGE)
                    return
                conn = http.client.HTTPConnection("127.0.0.1", proxy.engine_port, timeout=300)
                headers = {k: v for k, v in self.headers.items()
                           if k.lower() not in ("host", "connection", "content-length",
                                                "transfer-encoding", "expect")}
                conn.request(self.command, self.path, body=body, headers=headers)
                r = conn.getresponse()
                data = r.read()
                conn.close()
                self.send_response(r.status)
                for k, v in r.getheaders():
                    if k.lower() not in ("transfer-encoding", "connection", "content-length"):
                        self.send_header(k, v)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = forward

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.url = f"tcp://127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()
