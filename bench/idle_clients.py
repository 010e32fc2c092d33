#!/usr/bin/env python3
"""Open N keep-alive connections to 127.0.0.1:PORT, send one GET each, read the answer, then idle.

Writes "ready <n_ok>" to READY_FILE once every connection has had its answer, holds them for
HOLD seconds, then checks each one (still open = peek would block) and prints
"idle_clients opened=<n> answered=<ok> still_open=<m> failed=<f>" on stdout.

usage: idle_clients.py PORT N HOLD_SECONDS READY_FILE [PATH=/small]
"""
import errno, socket, sys, time

port, n, hold, ready_file = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3]), sys.argv[4]
path = sys.argv[5] if len(sys.argv) > 5 else "/small"
request = f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n".encode()
deadline = time.time() + 60

socks, failed = [], 0
for _ in range(n):
    try:
        s = socket.create_connection(("127.0.0.1", port), timeout=10)
        s.sendall(request)
        socks.append(s)
    except OSError:
        failed += 1


def read_response(s):
    """Reads one response with Content-Length; True if it was 2xx."""
    buf = b""
    while b"\r\n\r\n" not in buf:
        chunk = s.recv(65536)
        if not chunk:
            return False
        buf += chunk
    head, _, body = buf.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    ok = lines[0].split(b" ")[1].startswith(b"2")
    length = 0
    for line in lines[1:]:
        k, _, v = line.partition(b":")
        if k.strip().lower() == b"content-length":
            length = int(v.strip())
    while len(body) < length:
        chunk = s.recv(65536)
        if not chunk:
            return False
        body += chunk
    return ok


answered = 0
for s in socks:
    try:
        if time.time() < deadline and read_response(s):
            answered += 1
        else:
            failed += 1
    except OSError:
        failed += 1
with open(ready_file, "w") as f:
    f.write(f"ready {answered}\n")

time.sleep(hold)
still_open = 0
for s in socks:
    try:
        s.setblocking(False)
        if s.recv(1, socket.MSG_PEEK) == b"":
            continue  # closed by the proxy
        still_open += 1  # unexpected bytes, but open
    except BlockingIOError:
        still_open += 1
    except OSError:
        pass
print(f"idle_clients opened={len(socks)} answered={answered} still_open={still_open} failed={failed}", flush=True)
for s in socks:
    s.close()
