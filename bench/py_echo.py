#!/usr/bin/env python3
"""A reference for `make bench`: Python's socketserver echoing lines.

usage: py_echo.py tcp|threading|forking PORT|PATH [--max-children N]

tcp is TCPServer (UnixStreamServer for a PATH), threading
ThreadingTCPServer (ThreadingUnixStreamServer), forking ForkingTCPServer
(ForkingUnixStreamServer). The handler is the StreamRequestHandler loop
everyone writes; request_queue_size is 128 (socketserver's 5 would
refuse connections at c=50) and, for forking, max_children is raised
from 40 so that 50 connections are served at once, as for sockservd.
"""
import argparse
import socketserver


class Echo(socketserver.StreamRequestHandler):
    def handle(self):
        for line in self.rfile:
            self.wfile.write(line)


def server_class(kind, unix):
    S = socketserver
    base = S.UnixStreamServer if unix else S.TCPServer
    mixin = {"tcp": None, "threading": S.ThreadingMixIn,
             "forking": S.ForkingMixIn}[kind]
    if mixin is None:
        bases = (base,)
    else:
        bases = (mixin, base)

    class Server(*bases):
        request_queue_size = 128
        allow_reuse_address = True

    Server.__name__ = (kind.capitalize() if mixin else "") + base.__name__
    return Server


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("kind", choices=["tcp", "threading", "forking"])
    ap.add_argument("address", help="a tcp port on 127.0.0.1, or a path")
    ap.add_argument("--max-children", type=int, default=128)
    args = ap.parse_args()
    unix = not args.address.isdigit()
    cls = server_class(args.kind, unix)
    if args.kind == "forking":
        cls.max_children = args.max_children
    addr = args.address if unix else ("127.0.0.1", int(args.address))
    with cls(addr, Echo) as server:
        server.serve_forever()


if __name__ == "__main__":
    main()
