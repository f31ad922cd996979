#!/usr/bin/env python3
"""Checks the test servers themselves: exim-start/exim-stop/make-test-ca and sink.py.

usage: selftest.py [-v]

Uses swaks and openssl s_client where a real client is the point, raw sockets where exact
bytes, pipelining and BDAT matter. Everything runs on 127.0.0.1 in a temporary directory.
Prints one line per check and exits non-zero if any failed.
"""

import base64
import glob
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
VERBOSE = "-v" in sys.argv
failures = []
RECEIVED = re.compile(rb"\AReceived: [^\r\n]*\r\n(?:[ \t][^\r\n]*\r\n)*")


def check(name, ok, detail=""):
    print(("PASS " if ok else "FAIL ") + name + ("" if ok or not detail else f"  [{detail}]"),
          flush=True)
    if not ok:
        failures.append(name)
    return ok


def run(cmd, timeout=60, **kw):
    if VERBOSE:
        print("  $", " ".join(cmd), flush=True)
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, **kw)


def env_of(output):
    env = {}
    for line in output.splitlines():
        k, _, v = line.partition("=")
        env[k] = v
    return env


def start_exim(d, *args):
    t = time.monotonic()
    p = run([f"{HERE}/exim-start", d, *args])
    if p.returncode != 0:
        raise RuntimeError(f"exim-start {d} {args} failed: {p.stderr}")
    return env_of(p.stdout), time.monotonic() - t


def stop_exim(d):
    t = time.monotonic()
    run([f"{HERE}/exim-stop", d])
    return time.monotonic() - t


def swaks(env, *args, port=None):
    cmd = ["swaks", "--server", "127.0.0.1", "--port", str(port or env["SMTP_PORT"]),
           "--helo", "selftest.localhost", *args]
    return run(cmd).stdout


def wait_files(pattern, n=1, timeout=5.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        files = sorted(glob.glob(pattern))
        if len(files) >= n:
            return files
        time.sleep(0.02)
    return sorted(glob.glob(pattern))


def strip_received(data):
    m = RECEIVED.match(data)
    return (m.group(0), data[m.end():]) if m else (b"", data)


class Raw:
    """A minimal raw SMTP client: send bytes, read complete replies."""

    def __init__(self, port, tls_ctx=None):
        self.s = socket.create_connection(("127.0.0.1", port), timeout=30)
        if tls_ctx:
            self.s = tls_ctx.wrap_socket(self.s, server_hostname="localhost")
        self.buf = b""

    def send(self, data):
        self.s.sendall(data)

    def reply(self):
        lines = []
        while True:
            while b"\r\n" not in self.buf:
                chunk = self.s.recv(65536)
                if not chunk:
                    raise ConnectionError("closed; got " + repr(lines))
                self.buf += chunk
            line, self.buf = self.buf.split(b"\r\n", 1)
            lines.append(line.decode("utf-8", "replace"))
            if len(line) < 4 or line[3:4] != b"-":
                return lines

    def replies(self, n):
        return [self.reply() for _ in range(n)]

    def close(self):
        self.s.close()


def stuff(msg):
    """Dot-stuff a CRLF message and add the terminator."""
    out = b"".join((b"." + ln if ln.startswith(b".") else ln) + b"\r\n"
                   for ln in msg.split(b"\r\n")[:-1])
    return out + b".\r\n"


TRICKY = b"\r\n".join([
    b"From: Alice <alice@example.org>", b"To: bob@example.com",
    b"Subject: tricky", b" folded continuation", b"Date: Sat, 28 Nov 2026 01:00:00 +0000",
    b"Message-ID: <tricky@example.org>", b"Envelope-to: kept@example.com",
    b"Return-path: <kept@example.com>", b"Delivery-date: kept", b"MIME-Version: 1.0",
    b"Content-Type: text/plain; charset=utf-8", b"Content-Transfer-Encoding: 8bit", b"",
    b".leading dot", b"..two dots", b".", b" . space dot", "8bit: äöü €".encode(),
    b"x" * 998, b"", b"\ttab", b"trailing   ", b"", b""]) + b"\r\n"


def exim_checks(tmp, cadir):
    d = os.path.join(tmp, "exim")
    env, t_start = start_exim(d, "--ca", cadir)
    mail = env["MAIL_DIR"]
    print(f"     (start {t_start:.2f}s, ports {env['SMTP_PORT']}/{env['SMTPS_PORT']})")
    try:
        ehlo = swaks(env, "--quit-after", "EHLO")
        for cap in ["PIPELINING", "CHUNKING", "8BITMIME", "SMTPUTF8", "DSN", "SIZE 52428800",
                    "STARTTLS", "AUTH PLAIN LOGIN CRAM-MD5"]:
            check(f"exim EHLO advertises {cap}", re.search(rf"250[- ]{cap}\b", ehlo), ehlo)

        out = swaks(env, "--from", "a@example.org", "--to", "plain@example.com")
        check("exim plain SMTP accepts", "250 OK id=" in out, out)
        check("exim delivers to MAIL_DIR/*.<rcpt>.eml",
              wait_files(f"{mail}/*.plain@example.com.eml"))

        ca = env["CA_FILE"]
        out = swaks(env, "--from", "a@example.org", "--to", "starttls@example.com", "-tls",
                    "--tls-verify", "--tls-ca-path", ca, "--tls-sni", "localhost",
                    "-a", "PLAIN", "-au", "alice", "-ap", "wonderland-secret")
        check("exim STARTTLS verified by CA_FILE + AUTH PLAIN", "235 " in out and "250 OK id=" in out, out)
        f = wait_files(f"{mail}/*.starttls@example.com.eml")
        rec = strip_received(open(f[0], "rb").read())[0] if f else b""
        check("exim Received: shows TLS, SNI and auth",
              b"with esmtpsa (TLS1.3" in rec and b"sni=localhost" in rec
              and b"(auth=plain:alice)" in rec, rec)

        out = swaks(env, "--from", "a@example.org", "--to", "smtps@example.com", "--tlsc",
                    "--tls-verify", "--tls-ca-path", ca,
                    "-a", "LOGIN", "-au", "alice", "-ap", "wonderland-secret",
                    port=env["SMTPS_PORT"])
        check("exim implicit TLS (SMTPS) verified + AUTH LOGIN", "235 " in out and "250 OK id=" in out, out)
        out = swaks(env, "--from", "a@example.org", "--to", "cram@example.com",
                    "-a", "CRAM-MD5", "-au", "alice", "-ap", "wonderland-secret")
        check("exim AUTH CRAM-MD5 (no TLS)", "235 " in out and "250 OK id=" in out, out)
        out = swaks(env, "--from", "a@example.org", "--to", "x@example.com",
                    "-a", "CRAM-MD5", "-au", "bob", "-ap", "builder")
        check("exim AUTH CRAM-MD5 bob/builder", "235 " in out, out)
        for mech in ["PLAIN", "LOGIN", "CRAM-MD5"]:
            out = swaks(env, "--from", "a@example.org", "--to", "x@example.com",
                        "-a", mech, "-au", "alice", "-ap", "wrong")
            check(f"exim AUTH {mech} wrong password -> 535", "535 " in out, out)

        for rcpt, want in [("reject@x.example", "550 5.1.1 <reject@x.example>"),
                           ("tempfail@x.example", "451 4.3.0 <tempfail@x.example>"),
                           ("reject-multiline@x.example", "550-5.1.1")]:
            out = swaks(env, "--from", "a@example.org", "--to", rcpt)
            check(f"exim RCPT {rcpt} -> {want}", want in out, out)
        for frm, want in [("reject@x.example", "550 5.7.1"), ("tempfail@x.example", "451 4.3.0")]:
            out = swaks(env, "--from", frm, "--to", "a@example.com")
            check(f"exim MAIL FROM {frm} -> {want}", want in out, out)
        for rcpt, want in [("datareject@x.example", "554 5.6.0"),
                           ("datatempfail@x.example", "451 4.3.0")]:
            out = swaks(env, "--from", "a@example.org", "--to", rcpt)
            check(f"exim end of DATA for {rcpt} -> {want}", want in out, out)

        wire = os.path.join(tmp, "wire.txt")
        with open(wire, "wb") as fh:
            fh.write(stuff(TRICKY)[:-2])        # swaks adds the final CRLF itself
        out = swaks(env, "--from", "a@example.org", "--to", "exact@example.com",
                    "--data", wire, "--no-data-fixup")
        f = wait_files(f"{mail}/*.exact@example.com.eml")
        body = strip_received(open(f[0], "rb").read())[1] if f else b""
        check("exim delivered file = Received: + message byte-for-byte (swaks)",
              body == TRICKY, f"{len(body)} vs {len(TRICKY)}")

        # Everything pipelined in one write: 3 recipients, data, a second transaction.
        c = Raw(int(env["SMTP_PORT"]))
        c.reply()
        c.send(b"EHLO selftest.localhost\r\n")
        c.reply()
        c.send(b"MAIL FROM:<p@example.org>\r\nRCPT TO:<p1@example.com>\r\n"
               b"RCPT TO:<reject-p@example.com>\r\nRCPT TO:<p2@example.com>\r\nDATA\r\n")
        r = c.replies(5)
        ok = [x[-1][:3] for x in r] == ["250", "250", "550", "250", "354"]
        c.send(stuff(TRICKY) + b"MAIL FROM:<p@example.org>\r\nRCPT TO:<p3@example.com>\r\n"
               b"BDAT 500\r\n" + TRICKY[:500] + f"BDAT {len(TRICKY) - 500} LAST\r\n".encode()
               + TRICKY[500:] + b"QUIT\r\n")
        r2 = c.replies(6)
        c.close()
        ok = ok and [x[-1][:3] for x in r2] == ["250", "250", "250", "250", "250", "221"]
        check("exim pipelined DATA + BDAT transaction replies", ok, f"{r} {r2}")
        for rc in ["p1", "p2", "p3"]:
            f = wait_files(f"{mail}/*.{rc}@example.com.eml")
            body = strip_received(open(f[0], "rb").read())[1] if f else b""
            check(f"exim pipelined/BDAT delivery to {rc} byte-exact", body == TRICKY)

        # SMTPUTF8 and DSN parameters.
        c = Raw(int(env["SMTP_PORT"]))
        c.reply()
        msg = "From: <ü@example.org>\r\nSubject: Grüße\r\n\r\nBody ü\r\n".encode()
        c.send("EHLO selftest.localhost\r\nMAIL FROM:<ü@example.org> SMTPUTF8 BODY=8BITMIME "
               "RET=HDRS ENVID=selftest\r\nRCPT TO:<δοκιμή@παράδειγμα.example> "
               "NOTIFY=FAILURE,DELAY ORCPT=rfc822;x@example.com\r\nDATA\r\n".encode())
        r = c.replies(4)
        c.send(stuff(msg) + b"QUIT\r\n")
        r += c.replies(2)
        c.close()
        check("exim SMTPUTF8 + DSN parameters accepted",
              [x[-1][:3] for x in r] == ["250", "250", "250", "354", "250", "221"], r)
        f = wait_files(f"{mail}/*.eml", 12)
        utf = [x for x in f if b"(smtputf8)" in open(x, "rb").read(400)]
        check("exim SMTPUTF8 message delivered, marked (smtputf8)",
              utf and strip_received(open(utf[0], "rb").read())[1] == msg)

        # 25 MB through DATA.
        big = (b"Subject: big\r\n\r\n" + (b"y" * 76 + b"\r\n") * (25 * 1024 * 1024 // 78))
        c = Raw(int(env["SMTP_PORT"]))
        c.reply()
        c.send(b"EHLO selftest.localhost\r\nMAIL FROM:<big@example.org> SIZE=%d\r\n"
               b"RCPT TO:<big@example.com>\r\nDATA\r\n" % len(big))
        c.replies(4)
        t = time.monotonic()
        c.send(big + b".\r\n")
        r = c.reply()
        dt = time.monotonic() - t
        c.send(b"QUIT\r\n")
        c.close()
        f = wait_files(f"{mail}/*.big@example.com.eml", timeout=30)
        body = strip_received(open(f[0], "rb").read())[1] if f else b""
        check(f"exim 25 MB message accepted and delivered byte-exact ({dt:.2f}s)",
              r[-1].startswith("250") and body == big, r)
    finally:
        t_stop = stop_exim(d)
    check(f"exim-stop ({t_stop:.2f}s) leaves no daemon",
          not os.path.exists(f"{d}/exim.pid") and not os.path.exists(f"/proc/{env['EXIM_PID']}/cmdline")
          or open(f"/proc/{env['EXIM_PID']}/stat").read().split(") ")[1][0] == "Z")


def cert_checks(tmp, cadir):
    want = {"good": "Verification: OK", "wrong-host": "hostname mismatch",
            "expired": "certificate has expired", "self-signed": "self-signed certificate"}
    for cert, expect in want.items():
        d = os.path.join(tmp, "cert-" + cert)
        env, t_start = start_exim(d, "--ca", cadir, "--cert", cert)
        try:
            for name, extra in [("SMTPS", []), ("STARTTLS", ["-starttls", "smtp"])]:
                port = env["SMTPS_PORT"] if name == "SMTPS" else env["SMTP_PORT"]
                p = run(["openssl", "s_client", "-connect", f"127.0.0.1:{port}", *extra,
                         "-CAfile", env["CA_FILE"], "-verify_hostname", "localhost",
                         "-verify_return_error", "-brief"], input="", timeout=20)
                out = p.stdout + p.stderr
                check(f"cert {cert} via {name}: s_client says '{expect}'", expect in out, out)
            p = run(["sh", "-c", f"openssl s_client -connect 127.0.0.1:{env['SMTPS_PORT']} "
                     "</dev/null 2>/dev/null | openssl x509 -noout -fingerprint -sha256"])
            check(f"cert {cert}: served fingerprint = SERVER_FINGERPRINT (start {t_start:.2f}s)",
                  p.stdout.strip().split("=")[-1] == env["SERVER_FINGERPRINT"]
                  == env["FINGERPRINT_" + cert.upper().replace("-", "_")])
        finally:
            stop_exim(d)


def parallel_and_watchdog(tmp, cadir):
    dirs = [os.path.join(tmp, f"par{i}") for i in range(4)]
    t = time.monotonic()
    procs = [subprocess.Popen([f"{HERE}/exim-start", d, "--ca", cadir], stdout=subprocess.PIPE,
                              text=True) for d in dirs]
    envs = [env_of(p.communicate(timeout=60)[0]) for p in procs]
    dt = time.monotonic() - t
    ports = [e.get(k) for e in envs for k in ("SMTP_PORT", "SMTPS_PORT")]
    check(f"4 parallel starts ({dt:.2f}s) get 8 distinct ports",
          all(p.returncode == 0 for p in procs) and len(set(ports)) == 8, ports)
    for e in envs:
        out = swaks(e, "--from", "a@example.org", "--to", "par@example.com")
        check(f"parallel server {e['SMTP_PORT']} delivers", "250 OK id=" in out)
    t = time.monotonic()
    stops = [subprocess.Popen([f"{HERE}/exim-stop", d]) for d in dirs]
    for p in stops:
        p.wait(timeout=30)
    check(f"4 parallel stops ({time.monotonic() - t:.2f}s)", all(p.returncode == 0 for p in stops))

    owner = subprocess.Popen(["sleep", "60"])
    d = os.path.join(tmp, "watchdog")
    env, _ = start_exim(d, "--ca", cadir, "--owner-pid", str(owner.pid))
    owner.kill()
    owner.wait()
    gone = False
    for _ in range(300):
        if not os.path.exists(f"{d}/exim.pid"):
            gone = True
            break
        time.sleep(0.01)
    check("--owner-pid: Exim stops when the owner dies", gone)
    stop_exim(d)


def sink_checks(tmp, cadir):
    store = os.path.join(tmp, "sink")
    py = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else sys.executable
    p = subprocess.Popen([py, f"{HERE}/sink.py", "--port", "0", "--print-port", "--store", store,
                          "--chunking", "--auth", "--tls-cert", f"{cadir}/good.pem",
                          "--tls-key", f"{cadir}/good.key"], stdout=subprocess.PIPE, text=True)
    try:
        port = int(p.stdout.readline())
        check("sink prints its port first", port > 0)
        env = {"SMTP_PORT": str(port)}
        ehlo = swaks(env, "--quit-after", "EHLO")
        check("sink EHLO: PIPELINING 8BITMIME SIZE CHUNKING",
              all(re.search(rf"250[- ]{c}", ehlo) for c in
                  ["PIPELINING", "8BITMIME", "SIZE", "CHUNKING"]), ehlo)
        wire = os.path.join(tmp, "wire.txt")
        out = swaks(env, "--from", "a@example.org", "--to", "s@example.com", "--pipeline",
                    "--data", wire, "--no-data-fixup")
        check("sink swaks --pipeline accepted", "250 2.0.0 OK id=1" in out, out)
        check("sink stored 1.eml byte-exact", open(f"{store}/1.eml", "rb").read() == TRICKY)
        out = swaks(env, "--from", "a@example.org", "--to", "s@example.com", "-tls",
                    "--tls-verify", "--tls-ca-path", f"{cadir}/ca.pem",
                    "-a", "LOGIN", "-au", "u", "-ap", "p")
        check("sink STARTTLS + AUTH LOGIN", "235 " in out and "id=2" in out, out)

        c = Raw(port)
        c.reply()
        bare = b"Subject: bare\nLF only\n\rCR\r\n"      # stored as received, not normalised
        c.send(b"EHLO x\r\nMAIL FROM:<a@x>\r\nRCPT TO:<b@y>\r\nDATA\r\n" + stuff(TRICKY)
               + b"MAIL FROM:<a@x>\r\nRCPT TO:<b@y>\r\nDATA\r\n.\r\n"
               + b"MAIL FROM:<a@x>\r\nRCPT TO:<b@y>\r\nBDAT 10\r\n" + TRICKY[:10]
               + f"BDAT {len(TRICKY) - 10} LAST\r\n".encode() + TRICKY[10:]
               + b"MAIL FROM:<a@x>\r\nRCPT TO:<b@y>\r\nDATA\r\n" + bare + b".\r\n"
               + b"RSET\r\nNOOP\r\nQUIT\r\n")
        r = c.replies(20)
        c.close()
        codes = " ".join(x[-1][:3] for x in r)
        check("sink fully pipelined session (DATA, empty DATA, BDAT, bare LF)",
              codes == "250 250 250 354 250  250 250 354 250  250 250 250 250  "
                       "250 250 354 250  250 250 221".replace("  ", " "), codes)
        got = [open(f"{store}/{i}.eml", "rb").read() for i in (3, 4, 5, 6)]
        check("sink stores exact bytes (stuffed, empty, BDAT, bare LF)",
              got == [TRICKY, b"", TRICKY, bare])
        t = time.monotonic()
        c = Raw(port)
        c.reply()
        c.send(b"EHLO x\r\n")
        c.reply()
        n = 500
        c.send(b"".join(b"MAIL FROM:<a@x>\r\nRCPT TO:<b@y>\r\nDATA\r\n" + stuff(TRICKY)
                        for _ in range(n)) + b"QUIT\r\n")
        c.replies(4 * n + 1)
        c.close()
        dt = time.monotonic() - t
        check(f"sink: {n} pipelined messages in {dt:.2f}s ({n / dt:.0f} msg/s)",
              os.path.exists(f"{store}/{6 + n}.json"))
    finally:
        p.send_signal(signal.SIGTERM)
        p.wait(timeout=10)
    check("sink exits 0 on SIGTERM", p.returncode == 0, p.returncode)


def main():
    with tempfile.TemporaryDirectory(prefix="smtpn-servers-") as tmp:
        os.chmod(tmp, 0o755)        # Exim runs as Debian-exim and must reach DIR
        cadir = os.path.join(tmp, "ca")
        t = time.monotonic()
        p = run([f"{HERE}/make-test-ca", cadir])
        check(f"make-test-ca ({time.monotonic() - t:.2f}s)", p.returncode == 0, p.stderr)
        exim_checks(tmp, cadir)
        cert_checks(tmp, cadir)
        parallel_and_watchdog(tmp, cadir)
        sink_checks(tmp, cadir)
    print(f"{len(failures)} failed" if failures else "all passed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
