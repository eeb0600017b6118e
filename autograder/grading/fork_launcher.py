"""The process jupyter_client starts for a kernel forked by the fork server (`fork_server`).

Run as `python -I -S fork_launcher.py SOCKET REQUEST KERNEL_ARGV...`: no site, no imports beyond the
standard library's few, so it starts in milliseconds. It sends the server the request (a JSON object:
the kernel's scratch folder, working directory, user id and limits) with its own environment (the
kernel's, as jupyter_client gave it) and the kernel's command line, then lives exactly as long as the
kernel: it exits with the kernel's exit code when the server reports it, and when it is killed
(jupyter_client's shutdown), the server kills the kernel's sandbox.
"""

import json
import os
import socket
import sys


def main() -> int:
    path, request_text, *argv = sys.argv[1:]
    request = json.loads(request_text)
    request["env"] = dict(os.environ)
    request["argv"] = argv
    connection = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    connection.connect(path)
    connection.sendall(json.dumps(request).encode() + b"\n")
    received = b""
    while True:
        chunk = connection.recv(65536)
        if not chunk:
            sys.stderr.write("the fork server closed the connection before the kernel exited\n")
            return 70
        received += chunk
        while b"\n" in received:
            line, received = received.split(b"\n", 1)
            word, _, rest = line.decode(errors="replace").partition(" ")
            if word == "exit":
                return int(rest)
            if word == "error":
                sys.stderr.write(f"the fork server could not start the kernel: {rest}\n")
                return 70


if __name__ == "__main__":
    sys.exit(main())
