"""A TCP relay in front of a real engine that cuts any connection once
the client has sent more than `limit` bytes on it: a stream dropped halfway,
which a real engine does not do on demand.  Small requests pass untouched;
an image or checkpoint being uploaded is cut."""

import socket
import threading


class CutProxy:
    def __init__(self, engine_port, limit):
        self.engine_port = engine_port
        self.limit = limit
        self.cuts = 0
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.url = f"tcp://127.0.0.1:{self.port}"
        self.closing = False
        threading.Thread(target=self.accept_loop, daemon=True).start()

    def accept_loop(self):
        while not self.closing:
            try:
                client, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self.relay, args=(client,), daemon=True).start()

    def relay(self, client):
        try:
            upstream = socket.create_connection(("127.0.0.1", self.engine_port))
        except OSError:
            client.close()
            return
        sent = [0]

        def pump(src, dst, count):
            try:
                while True:
                    data = src.recv(65536)
                    if not data:
                        break
                    if count:
                        sent[0] += len(data)
                        if sent[0] > self.limit:
                            self.cuts += 1
                            break
                    dst.sendall(data)
            except OSError:
                pass
            for s in (src, dst):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

        t = threading.Thread(target=pump, args=(upstream, client, False), daemon=True)
        t.start()
        pump(client, upstream, True)
        t.join(5)
        client.close()
        upstream.close()

    def close(self):
        self.closing = True
        self.sock.close()
