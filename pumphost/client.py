"""Host client for the pump link, over any pyserial URL (host only).

    c = PumpClient('socket://127.0.0.1:7001', key=key, counter_file='pump.key.counter')
    c.hello(); c.status(); review = c.load_program(steps); c.confirm(review['program_hash'])
    c.start(); ...; c.close()

* Each request gets a fresh seq (random start per process). If no reply with
  that seq arrives within `timeout` s, the SAME frame is resent with
  FLAG_RETRY (same seq, payload and auth trailer), up to `retries` times, so
  the device executes it once (protocol/dedup.py). Then `LinkTimeout`.
* Therapy commands (messages.requires_auth) are signed with protocol.auth's
  Signer. The counter continues from max(persisted counter,
  DEVICE_INFO.auth_counter); it is written to `counter_file` BEFORE the frame
  leaves (write-ahead), so a crash never reuses a counter.
* A NAK raises `Nak` (reason code, its name, detail). Telemetry frames
  (FLAG_EVENT) seen while waiting are queued for `events()`.
* Every frame is preceded by one 0x00 so that a receiver holding a partial
  frame (noise, a previous host killed mid-frame) drops it at once.
"""
import os
import random
import struct
import time

from firmware import journal
from protocol import codes as C
from protocol import messages as M
from protocol.auth import Signer
from protocol.decoder import Decoder
from protocol.describe import nak_name
from protocol.frame import encode_frame, FLAG_AUTH, FLAG_EVENT, FLAG_REPLY, FLAG_RETRY
from pumphost.codes import RECORD_SIZE

TEST_KEY = b'hai-pump-test-key-do-not-deploy!'
MAX_CHUNK = 254
REVIEW_PAGE = 16


class LinkError(Exception):
    """Base of the client's errors; str() is a one-line message."""


class LinkTimeout(LinkError):
    pass


# what each NAK reason means, for a user (the device's own words, fetched
# with LAST_ERROR_REQ, are added where it has some)
NAK_WORDS = {
    C.NAK_BAD_STATE: 'not allowed in the pump\'s present state',
    C.NAK_BAD_AUTH: 'the signature did not verify (wrong key for this pump?)',
    C.NAK_REPLAY: 'the command counter was used before (replay)',
    C.NAK_STALE_COUNTER: 'the command counter is behind the pump\'s (counter file out of date?)',
    C.NAK_BAD_PAYLOAD: 'the pump could not parse the message',
    C.NAK_UNKNOWN_TYPE: 'the pump does not know this command',
    C.NAK_LIMIT: 'a value is outside the pump\'s limit',
    C.NAK_BUSY: 'the pump is busy: try again',
    C.NAK_AUTH_REQUIRED: 'the command must be signed (give --key-file)',
    C.NAK_HASH_MISMATCH: 'the hash does not match the loaded program',
    C.NAK_CHUNK_ORDER: 'program chunks arrived out of order',
    C.NAK_BAD_PROGRAM: 'the program was refused',
    C.NAK_INTERNAL: 'internal error in the pump',
}
# refusals the device explains in its LAST_ERROR text
EXPLAINED = (C.NAK_BAD_STATE, C.NAK_BAD_PROGRAM, C.NAK_HASH_MISMATCH)


class Nak(LinkError):
    def __init__(self, msg_type, reason, detail, text=None):
        self.msg_type = msg_type
        self.reason = reason
        self.reason_name = nak_name(reason)
        self.detail = detail
        self.text = text   # the device's reason in words, where it gave one
        super().__init__('%s refused by the pump: %s%s' % (
            M.name(msg_type), text or NAK_WORDS.get(reason, 'reason %d' % reason),
            '' if text else ' (%s)' % self.reason_name))


def read_key_file(path):
    """32 raw bytes, or 64 hex digits (whitespace ignored)."""
    with open(path, 'rb') as fh:
        data = fh.read()
    txt = data.strip()
    if len(txt) == 64:
        try:
            return bytes.fromhex(txt.decode('ascii'))
        except (ValueError, UnicodeDecodeError):
            pass
    if len(data) == 32:
        return data
    raise ValueError('key file %s: %d bytes; expected 32 raw bytes or 64 hex digits'
                     % (path, len(data)))


def encode_program(steps, drugs=(), flags=0):
    """Canonical program bytes: the device's own encoding (firmware.program_codec,
    one encoding for both ends). `steps` may be a firmware Program. A value
    the encoding cannot hold raises LinkError (one line), before anything is sent."""
    from firmware.program import Program
    from firmware import program_codec
    prog = steps if isinstance(steps, Program) else Program(steps, drugs, flags)
    try:
        return program_codec.encode(prog)
    except (ValueError, TypeError) as e:
        raise LinkError('program cannot be sent: %s' % e)


def parse_journal(data):
    """JOURNAL_DATA blob -> list of (seq, time_s, event, a, b, crc_ok)."""
    out = []
    for i in range(0, len(data) - RECORD_SIZE + 1, RECORD_SIZE):
        rec = data[i:i + RECORD_SIZE]
        out.append(struct.unpack_from(journal.RECORD_FMT, rec, 0) + (journal.intact(rec),))
    return out


class PumpClient:
    def __init__(self, url=None, key=None, counter_file=None, timeout=0.5, retries=3,
                 baudrate=115200, port=None):
        if port is None:
            import serial  # pyserial
            port = serial.serial_for_url(url, baudrate=baudrate, timeout=0.02)
        self.port = port
        self.url = url
        self.timeout = timeout
        self.retries = retries
        self.key = key
        self.counter_file = counter_file
        self.signer = None
        self.dec = Decoder()
        self.events_q = []
        self.seq = random.randrange(0x10000)
        self.retries_used = 0
        self.info = None
        self._write(b'\x00')

    # ------------------------------------------------------------ transport
    def close(self):
        try:
            self.port.close()
        except Exception:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _write(self, data):
        self.port.write(data)
        try:
            self.port.flush()
        except Exception:
            pass

    def _read_frames(self, deadline):
        """Frames that arrive before ``deadline`` (returns at the first batch)."""
        while True:
            n = getattr(self.port, 'in_waiting', 0)
            data = self.port.read(n if n else 1)
            if data:
                frames = self.dec.feed(data)
                if frames:
                    return frames
            if time.monotonic() >= deadline:
                return []

    def _next_seq(self):
        self.seq = (self.seq + 1) & 0xFFFF
        return self.seq

    # ------------------------------------------------------------ signing
    def _stored_counter(self):
        if not self.counter_file or not os.path.exists(self.counter_file):
            return 0
        try:
            with open(self.counter_file) as fh:
                return int(fh.read().strip() or 0)
        except ValueError:
            raise LinkError('counter file %s is not an integer' % self.counter_file)

    def _store_counter(self, value):
        if not self.counter_file:
            return
        tmp = self.counter_file + '.tmp'
        with open(tmp, 'w') as fh:
            fh.write('%d\n' % value)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, self.counter_file)

    def _sign(self, msg_type, seq, payload):
        if self.key is None:
            raise LinkError('%s is a therapy command and must be signed: give a key (--key-file)'
                            % M.name(msg_type))
        if self.signer is None:
            info = self.info or self.hello()
            if self.key == TEST_KEY and info['pump_kind'] != C.PUMP_SIMULATED:
                raise LinkError('the test key is public: it signs for simulated pumps only; this '
                                'pump (serial %s) needs its own key (pumpctl key generate, '
                                'docs/keys.md)' % info['serial'])
            self.signer = Signer(self.key, max(self._stored_counter(), info['auth_counter']))
        self._store_counter(self.signer.counter + 1)   # write-ahead
        return self.signer.sign(msg_type, seq, FLAG_AUTH, payload)

    # ------------------------------------------------------------ requests
    def request(self, msg_type, fields=None):
        """Send a command or query; return (reply type, reply fields).

        Raises Nak, LinkTimeout, or ProtocolError for bad fields (before
        anything is sent)."""
        payload = M.pack(msg_type, fields)
        seq = self._next_seq()
        trailer = self._sign(msg_type, seq, payload) if M.requires_auth(msg_type) else None
        flags = FLAG_AUTH if trailer is not None else 0
        wire = encode_frame(msg_type, seq, flags, payload, trailer)
        for attempt in range(self.retries + 1):
            if attempt:
                self.retries_used += 1
                wire = encode_frame(msg_type, seq, flags | FLAG_RETRY, payload, trailer)
            self._write(b'\x00' + wire)
            deadline = time.monotonic() + self.timeout
            while True:
                frames = self._read_frames(deadline)
                if not frames:
                    break
                for f in frames:
                    if f.flags & FLAG_EVENT:
                        self.events_q.append(f)
                    elif f.flags & FLAG_REPLY and f.seq == seq:
                        return self._reply(msg_type, f)
        raise LinkTimeout('no reply to %s from %s after %d tries of %.1f s: link lost?'
                          % (M.name(msg_type), self.url or 'the pump', self.retries + 1,
                             self.timeout))

    def _reply(self, msg_type, f):
        try:
            d = M.unpack(f.msg_type, f.payload)
        except C.ProtocolError as e:
            raise LinkError('malformed %s reply: %s' % (M.name(f.msg_type), e))
        if f.msg_type == C.NAK:
            text = None
            if d['reason'] in EXPLAINED and msg_type != C.LAST_ERROR_REQ:
                try:
                    text = self.last_error()
                except LinkError:
                    pass
            raise Nak(msg_type, d['reason'], d['detail'], text)
        return f.msg_type, d

    def _expect(self, msg_type, fields, want):
        t, d = self.request(msg_type, fields)
        if t != want:
            raise LinkError('%s answered with %s, expected %s'
                            % (M.name(msg_type), M.name(t), M.name(want)))
        return d

    # ------------------------------------------------------------ API
    def hello(self):
        self.info = self._expect(C.HELLO, None, C.DEVICE_INFO)
        return self.info

    def status(self):
        return self._expect(C.STATUS_REQ, None, C.STATUS)

    def last_error(self):
        """Why the pump refused its last command, in plain words (drug names,
        mL and mL/h: pumphost.config.programs.device_error_words)."""
        text = self._expect(C.LAST_ERROR_REQ, None, C.LAST_ERROR)['text']
        from pumphost.config.programs import device_error_words
        return device_error_words(text)

    def load_program(self, steps, drugs=(), flags=0):
        """Send the program in chunks; return the device's full review.
        steps: a firmware Program, step tuples (with `drugs` and `flags`), or
        the program's canonical bytes. The pump takes only programs that
        name their drugs (it checks them against its own library)."""
        data = (bytes(steps) if isinstance(steps, (bytes, bytearray))
                else encode_program(steps, drugs, flags))
        chunks = [data[i:i + MAX_CHUNK] for i in range(0, len(data), MAX_CHUNK)]
        for i, chunk in enumerate(chunks):
            self._expect(C.PROGRAM_LOAD, {'chunk_index': i, 'total_chunks': len(chunks),
                                          'data': chunk}, C.ACK)
        return self.review()

    def review(self):
        d = self._expect(C.PROGRAM_REVIEW_REQ, {'first_step': 0}, C.PROGRAM_REVIEW)
        steps = list(d['steps'])
        while len(steps) < d['total_steps']:
            more = self._expect(C.PROGRAM_REVIEW_REQ, {'first_step': len(steps)},
                                C.PROGRAM_REVIEW)
            if not more['steps']:
                break
            steps += more['steps']
        d['steps'] = steps
        return d

    def confirm(self, program_hash):
        return self._expect(C.CONFIRM, {'program_hash': bytes(program_hash)}, C.ACK)

    def start(self):
        return self._expect(C.START, None, C.ACK)

    def pause(self):
        return self._expect(C.PAUSE, None, C.ACK)

    def resume(self):
        return self._expect(C.RESUME, None, C.ACK)

    def stop(self):
        return self._expect(C.STOP, None, C.ACK)

    def ack_alarm(self, code=0):
        return self._expect(C.ACK_ALARM, {'alarm_code': code}, C.ACK)

    def audio_pause(self, seconds):
        return self._expect(C.AUDIO_PAUSE, {'duration_s': seconds}, C.ACK)

    def telemetry(self, period_ms, fastest=False):
        """period_ms 0 stops the stream; fastest=True streams as fast as the
        line takes (enable 1, period 0)."""
        if fastest:
            return self._expect(C.TELEMETRY_STREAM, {'enable': 1, 'period_ms': 0}, C.ACK)
        return self._expect(C.TELEMETRY_STREAM, {'enable': 1 if period_ms else 0,
                                                 'period_ms': period_ms}, C.ACK)

    def journal_page(self, offset, count=64):
        return self._expect(C.JOURNAL_READ, {'offset': offset, 'count': count},
                            C.JOURNAL_DATA)

    def journal(self, offset=0):
        """All records from ``offset``: list of (seq, time_s, event, a, b, crc_ok)."""
        out = []
        while True:
            d = self.journal_page(offset)
            out += parse_journal(d['data'])
            offset = d['offset'] + d['count']
            if d['count'] == 0 or offset >= d['total']:
                return out

    def events(self, timeout):
        """Telemetry frames (decoded dicts) arriving within ``timeout`` s."""
        deadline = time.monotonic() + timeout
        out = [M.unpack(f.msg_type, f.payload) for f in self.events_q
               if f.msg_type == C.TELEMETRY]
        self.events_q = []
        while not out:
            frames = self._read_frames(deadline)
            if not frames:
                break
            for f in frames:
                if f.flags & FLAG_EVENT and f.msg_type == C.TELEMETRY:
                    try:
                        out.append(M.unpack(f.msg_type, f.payload))
                    except C.ProtocolError:
                        pass
        return out
