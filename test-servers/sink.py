#!/usr/bin/env python3
"""A small, fast SMTP sink for benchmarks and protocol tests (Python standard library only).

usage: sink.py [--host 127.0.0.1] [--port 0] [--print-port] [--store DIR]
               [--capabilities PIPELINING,8BITMIME,SIZE,...] [--chunking] [--auth]
               [--size-limit BYTES] [--tls-cert FILE --tls-key FILE [--tls-on-connect]]
               [--throttle BYTES_PER_SECOND] [--latin1]

Accepts every message (EHLO/HELO, MAIL, RCPT, DATA, BDAT, RSET, NOOP, VRFY, HELP, QUIT,
plus STARTTLS/AUTH when enabled), handles pipelined commands, and either discards each
message or stores it as DIR/<n>.eml: the bytes exactly as received with dot-stuffing
removed (DATA) or the concatenated chunks (BDAT); nothing is added or normalised, so a
client's CRLF handling shows as is. Next to it DIR/<n>.json holds the envelope. Both are
written under a temporary name and renamed, <n>.json last: once it exists, both are
complete. Counting starts at 1 per run.

With --print-port the listening port is the first line on stdout (flushed). It runs until
killed (SIGTERM/SIGINT exit 0). Local parts starting with "reject" get 550 5.1.1 at RCPT,
"tempfail" 451 4.3.0, like the Exim harness; "rejectonce" gets the 550 only the first
time that address is given (per run). "dropdata" is accepted, but the connection is cut as
soon as message bytes arrive; "dropdataonce" does that only the first time. "dropafterdot"
is accepted and the message stored, but the connection is cut right after the final dot,
before any reply: the client cannot know whether it was delivered. "slowdotN" (e.g.
slowdot3) stores the message and answers the final dot N seconds later. --throttle
BYTES_PER_SECOND makes it read slowly: a slow server. --latin1 puts a byte that is not
UTF-8 (Latin-1 "\xe9") into the greeting, the first EHLO line and the 250 after a message.
--report-sessions prints
"closed N" on stdout (flushed) when a connection ends, N counting connections from 1, and
"stored N" when message N was received, so a test can wait for these instead of sleeping.
"""

import argparse
import asyncio
import base64
import json
import os
import signal
import ssl
import sys

DEFAULT_CAPS = ["PIPELINING", "8BITMIME", "SIZE", "ENHANCEDSTATUSCODES"]
MAX_LINE = 4096          # longest command line accepted (RFC 5321 allows 512)
CRLF = b"\r\n"


class Sink:
    """Server-wide state: configuration and the message counter."""

    def __init__(self, args):
        self.args = args
        self.count = 0
        self.sessions = 0
        self.size_limit = args.size_limit
        caps = []
        for item in args.capabilities.replace(",", " ").split():
            item = item.upper()
            if item == "SIZE":
                item = f"SIZE {self.size_limit}"
            caps.append(item)
        if args.chunking and "CHUNKING" not in caps:
            caps.append("CHUNKING")
        self.tls = None
        if args.tls_cert:
            self.tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            self.tls.load_cert_chain(args.tls_cert, args.tls_key)
        if self.tls and not args.tls_on_connect and "STARTTLS" not in caps:
            caps.append("STARTTLS")
        if args.auth and not any(c.startswith("AUTH") for c in caps):
            caps.append("AUTH PLAIN LOGIN CRAM-MD5")
        self.caps = caps
        self.chunking = "CHUNKING" in caps
        self.failed_once = set()   # addresses a "...once" magic local part already failed

    def store(self, data, envelope):
        self.count += 1
        if self.args.report_sessions:
            print(f"stored {self.count}", flush=True)
        if not self.args.store:
            return self.count
        base = os.path.join(self.args.store, str(self.count))
        for suffix, payload in ((".eml", bytes(data)),
                                (".json", json.dumps(envelope, indent=1).encode() + b"\n")):
            tmp = f"{base}{suffix}.tmp"
            with open(tmp, "wb") as f:
                f.write(payload)
            os.rename(tmp, base + suffix)
        return self.count


class Session(asyncio.Protocol):
    """One SMTP connection: a byte-buffer state machine, so pipelined input is answered
    with one write per read."""

    def __init__(self, sink):
        self.sink = sink
        sink.sessions += 1
        self.number = sink.sessions
        self.buf = bytearray()
        self.mode = "command"   # command data bdat bdat-reject auth starttls handshake closed
        self.out = []
        self.transport = None
        self.tls = bool(sink.args.tls_on_connect)
        self.authenticated = None
        self.helo = None
        self.reset()

    # -- transaction state ----------------------------------------------------------------

    def reset(self):
        self.mail_from = None
        self.mail_params = []
        self.rcpts = []
        self.data = bytearray()
        self.data_scan = 0
        self.bdat_left = 0
        self.bdat_last = False
        self.too_big = False
        self.drop_in_data = False
        self.drop_after_dot = False
        self.reply_delay = 0

    def reply(self, text, latin1=False):
        # LATIN1: with --latin1, the line ends in a byte that is not UTF-8 (a careless server).
        extra = b" caf\xe9" if latin1 and self.sink.args.latin1 else b""
        self.out.append(text.encode("utf-8", "replace") + extra + CRLF)

    def flush(self):
        if self.out and self.transport is not None and self.mode != "closed":
            self.transport.write(b"".join(self.out))
        self.out.clear()

    # -- asyncio.Protocol -----------------------------------------------------------------

    def connection_made(self, transport):
        self.transport = transport
        self.reply("220 sink.localhost ESMTP sink.py ready", latin1=True)
        self.flush()

    def data_received(self, chunk):
        if self.mode in ("closed", "starttls"):
            return      # after STARTTLS: anything sent before the handshake is discarded
        if self.mode == "handshake":
            # Decrypted input: asyncio may deliver what follows the handshake (a TLS 1.3
            # client's EHLO) before start_tls() resumes. Kept for it to answer.
            self.buf += chunk
            return
        if self.mode in ("data", "bdat") and self.drop_in_data:
            self.transport.abort()      # the connection dies in the middle of the message
            self.mode = "closed"
            return
        if self.sink.args.throttle:
            # Read no faster than --throttle bytes per second: a slow server.
            self.transport.pause_reading()
            asyncio.get_running_loop().call_later(len(chunk) / self.sink.args.throttle,
                                                  self.resume_reading)
        self.buf += chunk
        self.process()
        self.flush()

    def resume_reading(self):
        if self.mode != "closed":
            self.transport.resume_reading()

    def connection_lost(self, exc):
        self.mode = "closed"
        if self.sink.args.report_sessions:
            print(f"closed {self.number}", flush=True)

    # -- input processing -----------------------------------------------------------------

    def process(self):
        while self.mode not in ("closed", "starttls", "handshake"):
            if self.mode == "data":
                if not self.take_data():
                    return
            elif self.mode == "bdat":
                if not self.take_bdat():
                    return
            elif self.mode == "bdat-reject":
                self.skip_chunk()
                if self.mode == "bdat-reject":
                    return
            else:
                end = self.buf.find(CRLF)
                if end < 0:
                    if len(self.buf) > MAX_LINE:
                        self.reply("500 5.5.2 line too long")
                        self.close()
                    return
                line = bytes(self.buf[:end])
                del self.buf[:end + 2]
                if self.mode == "auth":
                    self.auth_step(line)
                else:
                    self.command(line)

    def take_data(self):
        buf = self.buf   # starts right after the CRLF that ended the DATA command
        if not self.too_big and buf.startswith(b".\r\n"):
            body_end = 0                              # empty message
        else:
            end = buf.find(b"\r\n.\r\n", max(0, self.data_scan - 4))
            if end < 0:
                self.data_scan = len(buf)
                if len(buf) > self.sink.size_limit + 65536:
                    # Over the limit: stop buffering, keep only a tail to find the end.
                    self.too_big = True
                    del buf[:len(buf) - 4]
                    self.data_scan = 0
                return False
            body_end = end + 2
        data = bytes(buf[:body_end])
        del buf[:body_end + 3]
        self.data_scan = 0
        self.mode = "command"
        if self.too_big or len(data) > self.sink.size_limit:
            self.reply("552 5.3.4 message size exceeds fixed maximum message size")
        else:
            # RFC 5321 4.5.2: a line starting with "." has that first character removed.
            if data.startswith(b"."):
                data = data[1:]
            data = data.replace(b"\r\n.", b"\r\n")
            n = self.sink.store(data, self.envelope("DATA", len(data)))
            if not self.final_reply(f"250 2.0.0 OK id={n}", latin1=True):
                return False
        self.reset()
        return True

    def take_bdat(self):
        if self.bdat_left:
            take = min(self.bdat_left, len(self.buf))
            if take == 0:
                return False
            if len(self.data) + take <= self.sink.size_limit:
                self.data += self.buf[:take]
            else:
                self.too_big = True
            del self.buf[:take]
            self.bdat_left -= take
            if self.bdat_left:
                return False
        self.mode = "command"
        if not self.bdat_last:
            self.reply(f"250 2.0.0 {self.bdat_chunk} octets received")
            return True
        if self.too_big:
            self.reply("552 5.3.4 message size exceeds fixed maximum message size")
        else:
            n = self.sink.store(self.data, self.envelope("BDAT", len(self.data)))
            if not self.final_reply(f"250 2.0.0 OK id={n} ({self.bdat_chunk} octets in last chunk)"):
                return False
        self.reset()
        return True

    def final_reply(self, text, latin1=False):
        """Answer a stored message, unless a fault mode says otherwise; False: connection cut."""
        if self.drop_after_dot:
            self.flush()
            self.mode = "closed"
            self.transport.abort()   # the message is here, the verdict never leaves
            return False
        if self.reply_delay:
            def late():
                if self.mode != "closed":
                    self.reply(text, latin1)
                    self.flush()
            asyncio.get_running_loop().call_later(self.reply_delay, late)
            return True
        self.reply(text, latin1)
        return True

    def envelope(self, via, size):
        return {"helo": self.helo, "mail_from": self.mail_from, "mail_params": self.mail_params,
                "rcpt_to": [r for r, _ in self.rcpts],
                "rcpt_params": [p for _, p in self.rcpts],
                "via": via, "size": size, "tls": self.tls, "auth": self.authenticated}

    # -- commands -------------------------------------------------------------------------

    def command(self, raw):
        line = raw.decode("utf-8", "surrogateescape")
        verb, _, arg = line.partition(" ")
        verb = verb.upper()
        handler = getattr(self, "cmd_" + verb, None)
        if handler is None or (verb == "BDAT" and not self.sink.chunking) \
                or (verb == "STARTTLS" and "STARTTLS" not in self.sink.caps) \
                or (verb == "AUTH" and not self.sink.args.auth):
            self.reply("500 5.5.1 command unrecognized")
            return
        handler(arg.strip())

    def cmd_EHLO(self, arg):
        self.helo = arg
        self.reset()
        caps = self.sink.caps
        if self.tls:
            caps = [c for c in caps if c != "STARTTLS"]
        lines = ["sink.localhost greets " + (arg or "you")] + caps
        for i, text in enumerate(lines):
            self.reply(("250 " if i == len(lines) - 1 else "250-") + text, latin1=i == 0)

    def cmd_HELO(self, arg):
        self.helo = arg
        self.reset()
        self.reply("250 sink.localhost")

    @staticmethod
    def path_and_params(arg, keyword):
        if not arg.upper().startswith(keyword):
            return None, None
        rest = arg[len(keyword):].strip()
        if not rest.startswith("<"):
            return None, None
        close = rest.find(">")
        if close < 0:
            return None, None
        return rest[1:close], rest[close + 1:].split()

    def cmd_MAIL(self, arg):
        if self.mail_from is not None:
            self.reply("503 5.5.1 sender already given")
            return
        path, params = self.path_and_params(arg, "FROM:")
        if path is None:
            self.reply("501 5.5.4 syntax: MAIL FROM:<address>")
            return
        for p in params:
            if p.upper().startswith("SIZE="):
                try:
                    if int(p[5:]) > self.sink.size_limit:
                        self.reply("552 5.3.4 message size exceeds fixed maximum message size")
                        return
                except ValueError:
                    self.reply("501 5.5.4 bad SIZE")
                    return
        self.mail_from, self.mail_params = path, params
        self.reply("250 2.1.0 OK")

    def cmd_RCPT(self, arg):
        if self.mail_from is None:
            self.reply("503 5.5.1 need MAIL first")
            return
        path, params = self.path_and_params(arg, "TO:")
        if not path:
            self.reply("501 5.5.4 syntax: RCPT TO:<address>")
            return
        local = path.rpartition("@")[0] or path
        if local.startswith(("rejectonce", "dropdataonce")):
            if path in self.sink.failed_once:
                local = "accepted"      # failed once already: accepted from now on
            else:
                self.sink.failed_once.add(path)
        if local.startswith("dropafterdot"):
            self.drop_after_dot = True
            local = "accepted"
        elif local.startswith("slowdot"):
            self.reply_delay = int(local[7:8] or "1")
            local = "accepted"
        if local.startswith("dropdata"):
            self.drop_in_data = True    # accepted, but the connection dies in DATA
            local = "accepted"
        if local.startswith("reject"):
            self.reply(f"550 5.1.1 <{path}>: recipient rejected (test)")
        elif local.startswith("tempfail"):
            self.reply(f"451 4.3.0 <{path}>: recipient temporarily rejected (test)")
        else:
            self.rcpts.append((path, params))
            self.reply("250 2.1.5 OK")

    def cmd_DATA(self, arg):
        if not self.rcpts:
            self.reply("503 5.5.1 need RCPT first" if self.mail_from is not None
                       else "503 5.5.1 need MAIL first")
            return
        if self.data:
            self.reply("503 5.5.1 BDAT in progress")
            return
        self.reply("354 end data with <CR><LF>.<CR><LF>")
        self.mode = "data"
        self.data_scan = 0

    def cmd_BDAT(self, arg):
        parts = arg.split()
        if not parts or not parts[0].isdigit() or len(parts) > 2 or \
                (len(parts) == 2 and parts[1].upper() != "LAST"):
            self.reply("501 5.5.4 syntax: BDAT <size> [LAST]")
            self.close()    # the chunk that follows cannot be told from commands
            return
        size = int(parts[0])
        self.bdat_left = size
        self.bdat_chunk = size
        self.bdat_last = len(parts) == 2
        if not self.rcpts:
            # RFC 3030: the chunk is still read (and dropped) before answering.
            self.too_big = False
            self.mode = "bdat-reject"
            self.skip_chunk()
            return
        self.mode = "bdat"

    def skip_chunk(self):
        take = min(self.bdat_left, len(self.buf))
        del self.buf[:take]
        self.bdat_left -= take
        if self.bdat_left == 0:
            self.mode = "command"
            self.reply("503 5.5.1 need MAIL and RCPT first")
            self.reset()

    def cmd_RSET(self, arg):
        self.reset()
        self.reply("250 2.0.0 OK")

    def cmd_NOOP(self, arg):
        self.reply("250 2.0.0 OK")

    def cmd_VRFY(self, arg):
        self.reply("252 2.1.5 cannot verify, but will accept")

    def cmd_HELP(self, arg):
        self.reply("214 2.0.0 sink.py: EHLO HELO MAIL RCPT DATA BDAT RSET NOOP VRFY QUIT")

    def cmd_QUIT(self, arg):
        self.reply("221 2.0.0 bye")
        self.close()

    def cmd_STARTTLS(self, arg):
        if self.tls:
            self.reply("503 5.5.1 TLS already active")
            return
        self.reply("220 2.0.0 ready to start TLS")
        self.flush()
        self.mode = "starttls"
        self.buf.clear()
        asyncio.get_running_loop().create_task(self.start_tls())

    async def start_tls(self):
        loop = asyncio.get_running_loop()
        # loop.start_tls() swaps the protocol before it first yields: from here on, input
        # reaches data_received only through TLS.
        self.buf.clear()
        self.mode = "handshake"
        try:
            transport = await loop.start_tls(self.transport, self, self.sink.tls,
                                             server_side=True)
        except (OSError, ssl.SSLError, ConnectionError):
            self.mode = "closed"
            return
        if transport is None:
            self.mode = "closed"
            return
        self.transport = transport
        self.tls = True
        self.helo = None
        self.authenticated = None
        self.reset()
        self.mode = "command"
        self.process()
        self.flush()

    # AUTH accepts any credentials: this is a sink, not an authentication test.
    def cmd_AUTH(self, arg):
        if self.authenticated:
            self.reply("503 5.5.1 already authenticated")
            return
        mech, _, initial = arg.partition(" ")
        mech = mech.upper()
        self.auth_mech = mech
        if mech == "PLAIN":
            if initial:
                self.auth_done(initial)
            else:
                self.reply("334 ")
                self.mode = "auth"
                self.auth_state = "plain"
        elif mech == "LOGIN":
            self.mode = "auth"
            if initial:
                self.auth_user = initial
                self.auth_state = "password"
                self.reply("334 UGFzc3dvcmQ6")
            else:
                self.auth_state = "user"
                self.reply("334 VXNlcm5hbWU6")
        elif mech == "CRAM-MD5":
            self.mode = "auth"
            self.auth_state = "cram"
            challenge = base64.b64encode(f"<{os.getpid()}.{id(self)}@sink.localhost>".encode())
            self.reply("334 " + challenge.decode())
        else:
            self.reply("504 5.5.4 mechanism not supported")

    def auth_step(self, line):
        self.mode = "command"
        if line == b"*":
            self.reply("501 5.0.0 authentication cancelled")
            return
        if self.auth_state == "user":
            self.auth_user = line.decode("ascii", "replace")
            self.auth_state = "password"
            self.mode = "auth"
            self.reply("334 UGFzc3dvcmQ6")
            return
        if self.auth_state == "password":
            self.auth_done(self.auth_user, login=True)
            return
        self.auth_done(line.decode("ascii", "replace"))

    def auth_done(self, b64, login=False):
        try:
            raw = base64.b64decode(b64, validate=True)
        except ValueError:
            self.reply("501 5.5.2 invalid base64")
            return
        if self.auth_mech == "PLAIN":
            parts = raw.split(b"\0")
            user = parts[1] if len(parts) == 3 else b""
        elif self.auth_mech == "CRAM-MD5":
            user = raw.rpartition(b" ")[0]
        else:
            user = raw
        self.authenticated = f"{self.auth_mech.lower()}:{user.decode('utf-8', 'replace')}"
        self.reply("235 2.7.0 authentication succeeded")

    def close(self):
        self.flush()
        self.mode = "closed"
        if self.transport is not None:
            self.transport.close()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--print-port", action="store_true")
    ap.add_argument("--store", metavar="DIR")
    ap.add_argument("--capabilities", default=",".join(DEFAULT_CAPS),
                    help="EHLO keywords, comma separated (default %(default)s)")
    ap.add_argument("--chunking", action="store_true", help="also advertise CHUNKING (BDAT)")
    ap.add_argument("--auth", action="store_true",
                    help="advertise AUTH PLAIN LOGIN CRAM-MD5 and accept any credentials")
    ap.add_argument("--size-limit", type=int, default=50 * 1024 * 1024)
    ap.add_argument("--throttle", type=float, default=0,
                    help="read at most this many bytes per second (a slow server)")
    ap.add_argument("--report-sessions", action="store_true",
                    help='print "closed N" when connection N ends')
    ap.add_argument("--latin1", action="store_true",
                    help="a Latin-1 byte in the greeting, the first EHLO line and the final 250")
    ap.add_argument("--tls-cert")
    ap.add_argument("--tls-key")
    ap.add_argument("--tls-on-connect", action="store_true",
                    help="implicit TLS (SMTPS) instead of STARTTLS")
    args = ap.parse_args()
    if bool(args.tls_cert) != bool(args.tls_key) or (args.tls_on_connect and not args.tls_cert):
        ap.error("--tls-cert and --tls-key go together, and --tls-on-connect needs them")
    if args.store:
        os.makedirs(args.store, exist_ok=True)
    sink = Sink(args)

    async def serve():
        loop = asyncio.get_running_loop()
        server = await loop.create_server(
            lambda: Session(sink), args.host, args.port, reuse_address=True,
            ssl=sink.tls if args.tls_on_connect else None, backlog=512)
        if args.print_port:
            print(server.sockets[0].getsockname()[1], flush=True)
        stop = loop.create_future()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, lambda: stop.done() or stop.set_result(None))
        async with server:
            await stop

    asyncio.run(serve())
    return 0


if __name__ == "__main__":
    sys.exit(main())
