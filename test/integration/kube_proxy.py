#!/usr/bin/env python3
"""A loopback HTTPS proxy in front of a real kube-apiserver, for tests that need to see
and shape what the operator sends (test_runtime_promises.sh).

It terminates TLS with a serving certificate for 127.0.0.1 (the suite mints one with the
cluster's CA key, so a kubeconfig with the cluster's CA trusts it), forwards every request
to the real API server with the client's own credentials (its Authorization header: a
ServiceAccount's bearer token) or, with --client-cert, as that client certificate's user,
and streams the answer back
(watches included). It speaks HTTP/1.1 only (no ALPN), so every request the client makes
is one it can see. A control server (plain HTTP on loopback) programs it:

  POST /rule   JSON {method, path (regex on the path), query (regex on the query string),
               ctype (regex on Content-Type), status, reason, headers {..}, times (-1 =
               every matching request), delay (seconds held before answering or forwarding)}
               a rule with a status answers the request itself with a Status body; one with
               only a delay forwards it late. The first matching rule with times left wins.
  POST /clear[?id=ID]  forget the rules (those with that "id")
  POST /down   answer nothing: every open stream is cut, every new connection is accepted,
               counted and closed after the TLS handshake (an API server that is gone)
  POST /up     forward again (and end /hang)
  POST /hang   stop forwarding without closing anything (a connection that hangs): every
               request is read, logged and held unanswered, open streams stop passing data;
               on /up the held requests are cut, never forwarded late
  POST /cut?path=REGEX   cut the open streams (watches) whose path matches, mid-stream
  GET  /log?since=SEQ&method=M&path=REGEX&ctype=REGEX   one line per request seen (path:
               the regex is matched against the path without the query string):
               "seq time method status injected ctype path?query" (status 0 while in flight)
  GET  /downconns?since=TIME   connections closed unanswered (down mode) since TIME
  GET  /streams?path=REGEX     open streams whose path matches: their count

  kube_proxy.py --upstream https://127.0.0.1:PORT --upstream-ca CA [--client-cert CRT
      --client-key KEY] --cert SERVING.crt --key SERVING.key --port-file F --control-port-file F
"""
import argparse
import http.client
import http.server
import json
import os
import re
import socket
import socketserver
import ssl
import sys
import threading
import time
import urllib.parse

lock = threading.Lock()
rules = []
log = []  # [seq, t, method, status, injected, ctype, target]
streams = []  # [path, client socket, upstream connection]
down_conns = []  # times
state = {"down": False}
flowing = threading.Event()  # cleared while hung (/hang)
flowing.set()
REASONS = {410: "Expired", 422: "Invalid", 429: "TooManyRequests", 500: "InternalError",
           503: "ServiceUnavailable", 504: "Timeout"}
HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "accept-encoding",
       "proxy-connection", "te", "trailer", "upgrade", "expect", "host"}


def match(rule, method, path, query, ctype):
    if rule.get("times", -1) == 0:
        return False
    if rule.get("method") and rule["method"] != method:
        return False
    if rule.get("path") and not re.search(rule["path"], path):
        return False
    if rule.get("query") and not re.search(rule["query"], query):
        return False
    if rule.get("ctype") and not re.search(rule["ctype"], ctype or ""):
        return False
    return True


def cut_socket(s):
    try:
        s.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "ew-test-proxy"

    def log_message(self, *args):
        pass

    def setup(self):
        super().setup()
        if state["down"]:
            with lock:
                down_conns.append(time.time())
            self.close_connection = True

    def handle(self):
        try:
            self.connection.do_handshake()
        except (OSError, ssl.SSLError):
            return
        if state["down"]:
            cut_socket(self.connection)
            return
        super().handle()

    def _entry(self, method, ctype, target):
        with lock:
            e = [len(log), time.time(), method, 0, 0, ctype or "-", target]
            log.append(e)
        return e

    def _status(self, e, status, injected):
        with lock:
            e[3] = status
            e[4] = 1 if injected else 0

    def _any(self):
        if state["down"]:
            with lock:
                down_conns.append(time.time())
            self.close_connection = True
            cut_socket(self.connection)
            return
        method = self.command
        u = urllib.parse.urlsplit(self.path)
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n) if n else None
        ctype = self.headers.get("Content-Type")
        e = self._entry(method, ctype, self.path)
        if not flowing.is_set():
            flowing.wait()  # held unanswered; then cut, as a request that never got through
            self._status(e, 0, True)
            self.close_connection = True
            cut_socket(self.connection)
            return
        rule = None
        with lock:
            for r in rules:
                if match(r, method, u.path, u.query, ctype):
                    if r.get("times", -1) > 0:
                        r["times"] -= 1
                    rule = r
                    break
        if rule and rule.get("delay"):
            time.sleep(rule["delay"])
        if rule and rule.get("status"):
            code = rule["status"]
            st = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                  "message": "injected by the test proxy",
                  "reason": rule.get("reason") or REASONS.get(code, "InternalError"),
                  "code": code}
            data = json.dumps(st).encode()
            self.send_response(code)
            for k, v in (rule.get("headers") or {}).items():
                self.send_header(k, str(v))
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
            self.wfile.flush()
            self._status(e, code, True)
            return
        self._forward(method, u.path, body, e)

    def _forward(self, method, path, body, e):
        up = self.server.upstream
        conn = http.client.HTTPSConnection(up.hostname, up.port, context=self.server.upctx,
                                           timeout=None)
        headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP}
        headers["Host"] = up.netloc
        if body is not None:
            headers["Content-Length"] = str(len(body))
        try:
            conn.request(method, self.path, body=body, headers=headers)
            resp = conn.getresponse()
        except OSError:
            self._status(e, 502, True)
            self.send_error(502)
            conn.close()
            return
        self._status(e, resp.status, False)
        self.send_response_only(resp.status, resp.reason)
        for k, v in resp.getheaders():
            if k.lower() not in HOP:
                self.send_header(k, v)
        streaming = resp.getheader("Content-Length") is None
        try:
            if not streaming:
                data = resp.read()
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
                self.wfile.flush()
                return
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            self.wfile.flush()
            s = [path, self.connection, conn]
            with lock:
                streams.append(s)
            try:
                while True:
                    chunk = resp.read1(65536)
                    if not chunk:
                        break
                    if not flowing.is_set():  # hung: pass nothing more, then cut
                        flowing.wait()
                        raise OSError("hung")
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                    self.wfile.flush()
                self.wfile.write(b"0\r\n\r\n")
                self.wfile.flush()
            finally:
                with lock:
                    if s in streams:
                        streams.remove(s)
        except (OSError, ValueError, http.client.HTTPException):
            self.close_connection = True
            cut_socket(self.connection)
        finally:
            conn.close()

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _any


class Proxy(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def get_request(self):
        sock, addr = self.socket.accept()
        return self.ctx.wrap_socket(sock, server_side=True, do_handshake_on_connect=False), addr


def cut_streams(pattern):
    with lock:
        victims = [s for s in streams if re.search(pattern, s[0])]
    for s in victims:
        cut_socket(s[1])
        try:
            if s[2].sock:
                cut_socket(s[2].sock)
        except OSError:
            pass
    return len(victims)


class Control(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.0"

    def log_message(self, *args):
        pass

    def _reply(self, text, code=200):
        data = text.encode()
        self.send_response(code)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self):
        u = urllib.parse.urlsplit(self.path)
        q = dict(urllib.parse.parse_qsl(u.query))
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n) if n else b""
        if u.path == "/rule":
            r = json.loads(body)
            with lock:
                rules.append(r)
            self._reply("ok\n")
        elif u.path == "/clear":
            with lock:
                rules[:] = [r for r in rules if "id" in q and r.get("id") != q["id"]]
            self._reply("ok\n")
        elif u.path == "/down":
            state["down"] = True
            self._reply("%d streams cut\n" % cut_streams(""))
        elif u.path == "/up":
            state["down"] = False
            flowing.set()
            self._reply("ok\n")
        elif u.path == "/hang":
            flowing.clear()
            self._reply("ok\n")
        elif u.path == "/cut":
            self._reply("%d\n" % cut_streams(q.get("path", "")))
        else:
            self._reply("no such command\n", 404)

    def do_GET(self):
        u = urllib.parse.urlsplit(self.path)
        q = dict(urllib.parse.parse_qsl(u.query))
        if u.path == "/log":
            since = int(q.get("since", 0))
            out = []
            with lock:
                entries = [list(e) for e in log[since:]]
            for e in entries:
                if q.get("method") and e[2] != q["method"]:
                    continue
                if q.get("path") and not re.search(q["path"], e[6].split("?")[0]):
                    continue
                if q.get("ctype") and not re.search(q["ctype"], e[5]):
                    continue
                out.append("%d %.3f %s %d %d %s %s\n" % tuple(e))
            self._reply("".join(out))
        elif u.path == "/seq":
            with lock:
                self._reply("%d\n" % len(log))
        elif u.path == "/downconns":
            since = float(q.get("since", 0))
            with lock:
                self._reply("%d\n" % sum(1 for t in down_conns if t >= since))
        elif u.path == "/streams":
            with lock:
                self._reply("%d\n" % sum(1 for s in streams
                                         if re.search(q.get("path", ""), s[0])))
        else:
            self._reply("no such query\n", 404)


def main():
    ap = argparse.ArgumentParser()
    for a in ("--upstream", "--upstream-ca", "--cert", "--key", "--port-file",
              "--control-port-file"):
        ap.add_argument(a, required=True)
    ap.add_argument("--client-cert")
    ap.add_argument("--client-key")
    o = ap.parse_args()
    srv = Proxy(("127.0.0.1", 0), Handler)
    srv.ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    srv.ctx.load_cert_chain(o.cert, o.key)
    srv.upstream = urllib.parse.urlsplit(o.upstream)
    srv.upctx = ssl.create_default_context(cafile=o.upstream_ca)
    if o.client_cert:
        srv.upctx.load_cert_chain(o.client_cert, o.client_key)
    ctl = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Control)
    ctl.daemon_threads = True
    threading.Thread(target=ctl.serve_forever, daemon=True).start()
    with open(o.control_port_file + ".tmp", "w") as f:
        f.write("%d\n" % ctl.server_address[1])
    with open(o.port_file + ".tmp", "w") as f:
        f.write("%d\n" % srv.server_address[1])
    os.rename(o.control_port_file + ".tmp", o.control_port_file)
    os.rename(o.port_file + ".tmp", o.port_file)
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
