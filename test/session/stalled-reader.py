# A client that reads nothing until told to, with a 4 KiB receive buffer, so what the proxy writes to it backs
# up in the proxy. Commands on stdin, one per line: "send HEX" sends those bytes; "read" reads to EOF into
# OUT_FILE and prints "done".
#   python3 stalled-reader.py PORT OUT_FILE
import socket
import sys

port, out = int(sys.argv[1]), sys.argv[2]
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
s.connect(("127.0.0.1", port))
print("connected", flush=True)
for line in sys.stdin:
    command, _, argument = line.strip().partition(" ")
    if command == "send":
        s.sendall(bytes.fromhex(argument))
        print("sent", flush=True)
    elif command == "read":
        chunks = []
        while True:
            b = s.recv(65536)
            if not b:
                break
            chunks.append(b)
        with open(out, "wb") as f:
            f.write(b"".join(chunks))
        print("done", flush=True)
        break
