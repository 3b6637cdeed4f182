"""One pump, several hosts: a daemon that holds the pump's link and shares it.

    pumpctl --port /dev/ttyACM0 mux --listen 127.0.0.1:7010
    pumpctl --port socket://127.0.0.1:7010 monitor        # as many as wanted
    pumpctl --port socket://127.0.0.1:7010 status

A serial line has one reader: two hosts on it steal each other's replies,
and each one re-arming the telemetry stream resets the other's period. The
multiplexer is the pump's one host. It forwards every command frame as it
came (signed frames are untouched: the MAC covers them, the pump checks
them) and routes each reply back by its seq to the client that sent it
(each client starts at a random seq). TELEMETRY_STREAM it answers itself:
the pump streams at the fastest period any client asked for, and each
client gets telemetry at its own period. While no client talks it asks the
pump for STATUS every few seconds, so a program that stops on link loss
keeps running as long as the multiplexer holds the link; if the
multiplexer dies, the pump sees the link lost, as it should.

The pump going away (the port closes or fails) ends the daemon with one line
and exit status 3; clients then see their link lost.
"""
import random
import select
import socket
import time

from protocol import codes as C
from protocol import messages as M
from protocol.decoder import Decoder
from protocol.frame import encode_frame, FLAG_EVENT, FLAG_REPLY

KEEPALIVE_S = 3.0


class DeviceLost(Exception):
    pass


class _Client:
    def __init__(self, sock, addr):
        self.sock = sock
        self.addr = addr
        self.dec = Decoder()
        self.stream = None        # telemetry period in ms (0: fastest), None: off
        self.last_tele = 0.0


class Mux:
    def __init__(self, port, listen_sock, keepalive_s=KEEPALIVE_S, log=None):
        self.port = port            # pyserial-like: read(n), write(b), in_waiting
        self.lsock = listen_sock
        self.keepalive_s = keepalive_s
        self.log = log or (lambda line: None)
        self.clients = {}
        self.routes = {}            # seq -> client waiting for that reply
        self.dev_dec = Decoder()
        self.own_seq = random.randrange(0x10000)
        self.own = set()
        self.device_period = None
        self.last_tx = 0.0
        self.frames_forwarded = 0

    # ------------------------------------------------------------ device side
    def _to_device(self, wire):
        try:
            self.port.write(b'\x00' + wire)
        except (OSError, ValueError) as e:
            raise DeviceLost(str(e) or type(e).__name__)
        self.last_tx = time.monotonic()

    def _own_request(self, msg_type, fields=None):
        self.own_seq = (self.own_seq + 1) & 0xFFFF
        self.own.add(self.own_seq)
        if len(self.own) > 64:
            self.own.pop()
        self._to_device(encode_frame(msg_type, self.own_seq, 0, M.pack(msg_type, fields)))

    def _set_stream(self):
        periods = [c.stream for c in self.clients.values() if c.stream is not None]
        want = min(periods) if periods else None
        if want == self.device_period:
            return
        self.device_period = want
        if want is None:
            self._own_request(C.TELEMETRY_STREAM, {'enable': 0, 'period_ms': 0})
        else:
            self._own_request(C.TELEMETRY_STREAM, {'enable': 1, 'period_ms': want})

    def _from_device(self):
        try:
            n = getattr(self.port, 'in_waiting', 0)
            data = self.port.read(n or 1)
        except (OSError, ValueError, TypeError) as e:
            raise DeviceLost(str(e).splitlines()[0] if str(e) else type(e).__name__)
        if not data:
            return
        now = time.monotonic()
        for f in self.dev_dec.feed(data):
            wire = b'\x00' + encode_frame(f.msg_type, f.seq, f.flags, f.payload, f.trailer)
            if f.flags & FLAG_EVENT:
                for c in list(self.clients.values()):
                    if c.stream is not None and (now - c.last_tele) * 1000.0 >= 0.9 * c.stream:
                        c.last_tele = now
                        self._send(c, wire)
            elif f.flags & FLAG_REPLY:
                if f.seq in self.own:
                    self.own.discard(f.seq)
                    continue
                c = self.routes.get(f.seq)
                if c is not None and c.sock in self.clients:
                    self._send(c, wire)

    # ------------------------------------------------------------ client side
    def _send(self, c, wire):
        try:
            c.sock.sendall(wire)
        except OSError:
            self._drop(c)

    def _drop(self, c):
        self.clients.pop(c.sock, None)
        try:
            c.sock.close()
        except OSError:
            pass
        self.log('mux: client %s:%d left (%d connected)' % (c.addr[0], c.addr[1], len(self.clients)))
        self._set_stream()

    def _from_client(self, c):
        try:
            data = c.sock.recv(4096)
        except OSError:
            data = b''
        if not data:
            self._drop(c)
            return
        for f in c.dec.feed(data):
            if f.msg_type == C.TELEMETRY_STREAM and not f.trailer:
                try:
                    d = M.unpack(f.msg_type, f.payload)
                except C.ProtocolError as e:
                    reply = encode_frame(C.NAK, f.seq, FLAG_REPLY,
                                         M.pack(C.NAK, {'nak_type': f.msg_type, 'reason': e.reason,
                                                        'detail': 0}))
                else:
                    c.stream = d['period_ms'] if d['enable'] else None
                    c.last_tele = 0.0
                    self._set_stream()
                    reply = encode_frame(C.ACK, f.seq, FLAG_REPLY,
                                         M.pack(C.ACK, {'acked_type': f.msg_type}))
                self._send(c, b'\x00' + reply)
                continue
            self.routes[f.seq] = c
            if len(self.routes) > 4096:
                self.routes.clear()
                self.routes[f.seq] = c
            self.frames_forwarded += 1
            self._to_device(encode_frame(f.msg_type, f.seq, f.flags, f.payload, f.trailer))

    # ------------------------------------------------------------ loop
    def step(self, wait_s=0.01):
        socks = [self.lsock] + list(self.clients)
        ready, _, _ = select.select(socks, [], [], wait_s)
        for s in ready:
            if s is self.lsock:
                conn, addr = self.lsock.accept()
                conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                self.clients[conn] = _Client(conn, addr)
                self.log('mux: client %s:%d joined (%d connected)' % (addr[0], addr[1],
                                                                       len(self.clients)))
            elif s in self.clients:
                self._from_client(self.clients[s])
        self._from_device()
        if time.monotonic() - self.last_tx > self.keepalive_s:
            self._own_request(C.STATUS_REQ)

    def run(self, stop=lambda: False):
        while not stop():
            self.step()

    def close(self):
        for c in list(self.clients.values()):
            try:
                c.sock.close()
            except OSError:
                pass
        self.clients.clear()
        try:
            self.lsock.close()
        except OSError:
            pass


def listen(spec):
    """'127.0.0.1:7010' or '7010' -> a listening TCP socket (port 0: any free)."""
    host, _, port = spec.rpartition(':')
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((host or '127.0.0.1', int(port)))
    s.listen(8)
    return s
