"""Test client and UDP server for the connect-balancing tests. Runs as its own process, so the test can
place it in the scoped cgroup (or not) and in the client's network namespace. Prints one JSON line per step."""
import errno
import json
import socket
import sys


def endpoint(host, port):
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    return family, (host, int(port))


def ask_who(sock):
    sock.sendall(b"GET who\r\n")
    data = b""
    while data.count(b"\r\n") < 2:
        chunk = sock.recv(256)
        if not chunk:
            raise RuntimeError("server closed the connection")
        data += chunk
    return data.split(b"\r\n")[1].decode()


def peer(sock):
    p = sock.getpeername()
    return ("[%s]:%d" if ":" in p[0] else "%s:%d") % (p[0], p[1])


def connect(host, port):
    family, address = endpoint(host, port)
    s = socket.socket(family, socket.SOCK_STREAM)
    s.connect(address)
    return s


def spread(n, host, port):
    counts, peers = {}, set()
    for _ in range(n):
        s = connect(host, port)
        peers.add(peer(s))
        who = ask_who(s)
        counts[who] = counts.get(who, 0) + 1
        s.close()
    print(json.dumps({"counts": counts, "peers": sorted(peers)}), flush=True)


def hold(n, host, port):
    """Holds n connections, waits for a line, opens n more, checks the first n still answer, waits, closes."""
    first = [connect(host, port) for _ in range(n)]
    who_first = [ask_who(s) for s in first]
    print(json.dumps({"counts": tally(who_first)}), flush=True)
    sys.stdin.readline()
    second = [connect(host, port) for _ in range(n)]
    print(json.dumps({"counts": tally([ask_who(s) for s in second]),
                      "first_unchanged": [ask_who(s) for s in first] == who_first}), flush=True)
    sys.stdin.readline()
    for s in first + second:
        s.close()
    print(json.dumps({"closed": True}), flush=True)


def tally(names):
    counts = {}
    for name in names:
        counts[name] = counts.get(name, 0) + 1
    return counts


def udp(n, host, port, connected):
    family, address = endpoint(host, port)
    s = socket.socket(family, socket.SOCK_DGRAM)
    s.settimeout(5)
    if connected == "connected":
        s.connect(address)
    counts, sources = {}, set()
    for _ in range(n):
        if connected == "connected":
            s.send(b"who")
            data = s.recv(64)
            source = s.getpeername()
        else:
            s.sendto(b"who", address)
            data, source = s.recvfrom(64)
        name = data.decode()
        counts[name] = counts.get(name, 0) + 1
        sources.add(("[%s]:%d" if ":" in source[0] else "%s:%d") % (source[0], source[1]))
    print(json.dumps({"counts": counts, "sources": sorted(sources)}), flush=True)


def refused(host, port):
    family, address = endpoint(host, port)
    s = socket.socket(family, socket.SOCK_STREAM)
    s.settimeout(10)
    try:
        s.connect(address)
        print(json.dumps({"errno": "none"}), flush=True)
    except OSError as e:
        print(json.dumps({"errno": errno.errorcode.get(e.errno, str(e.errno))}), flush=True)


def udp_server(name, port):
    s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    s.bind(("::", int(port)))
    print("ready", flush=True)
    while True:
        _, source = s.recvfrom(64)
        s.sendto(name.encode(), source)


if __name__ == "__main__":
    mode, args = sys.argv[1], sys.argv[2:]
    if mode == "spread":
        spread(int(args[0]), args[1], args[2])
    elif mode == "hold":
        hold(int(args[0]), args[1], args[2])
    elif mode == "udp":
        udp(int(args[0]), args[1], args[2], args[3])
    elif mode == "refused":
        refused(args[0], args[1])
    elif mode == "udpserver":
        udp_server(args[0], args[1])
    else:
        sys.exit("unknown mode " + mode)
