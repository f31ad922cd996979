#!/usr/bin/env python3
"""A token-introspection endpoint (RFC 7662) on 127.0.0.1 for Dovecot's oauth2 passdb.

usage: oauth-introspect.py TOKEN USER

Answers POST requests whose form body carries token=TOKEN with {"active": true,
"username": USER}; any other token gets {"active": false}. Prints "PORT=<n>" once
listening, then serves until killed. Standard library only; binds 127.0.0.1 only.
"""
import json
import sys
import urllib.parse
from http.server import BaseHTTPRequestHandler, HTTPServer


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    token, user = sys.argv[1], sys.argv[2]

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            length = min(int(self.headers.get("Content-Length", "0")), 65536)
            form = urllib.parse.parse_qs(self.rfile.read(length).decode("utf-8", "replace"))
            active = form.get("token", [""])[0] == token
            body = json.dumps({"active": True, "username": user} if active else {"active": False}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, fmt, *args):
            sys.stderr.write("introspect: " + (fmt % args) + "\n")

    server = HTTPServer(("127.0.0.1", 0), Handler)
    print("PORT=%d" % server.server_address[1], flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
