"""Device side of the serial link: frames in, Pump commands, replies out.

`Link(pump, serial, key)` wraps a Pump from the outside (pump.py never
imports this module or the protocol, to keep the scripted run's heap small).
`poll()` is called between control ticks: it reads what is waiting (at most
RX_CHUNK bytes) into a preallocated buffer, feeds the streaming decoder,
handles at most `max_frames` frames, sends due telemetry and checks for link
loss. It never waits; unread bytes stay in the buffer for the next call.

Transmit (a UART's write may accept fewer bytes than offered): the unsent
tail of a frame is copied into a preallocated buffer and goes out first on
the next poll; no new frame (reply or telemetry) is started until the
previous one is fully out, and while one is pending the handler reads no
new commands (their bytes wait in the receive buffers), so a reply is never
dropped. Replies come before telemetry: frames received are handled before
due telemetry is considered. A telemetry frame that falls due while the line
is busy is skipped (counted in `tele_skipped`), never queued; its sequence
number is not used, so a gap in the host's TELEMETRY seqs means bytes lost
on the line. TELEMETRY_STREAM with period_ms 0: as fast as the line takes
(up to TELE_BURST frames a poll, each started only when the last is out).

Link loss (no valid frame for link_timeout_ms after a host was seen): the
gap is journaled (EV_LINK_LOST) and the confirmed program carries on, unless
it carries FLAG_STOP_ON_LINK_LOSS: then a running program is paused and the
medium alarm _A_LINK_LOST is raised (journaled); nothing resumes by itself,
a RESUME from the host (authenticated) is needed. The alarm's condition
ends when a valid frame arrives; it stays latched until acknowledged.

Per frame (protocol/SPEC.md section 5):
  1. host frames only: REPLY/EVENT frames are dropped unanswered (no echo
     storms), a device or unknown type gets NAK unknown_type
  2. duplicate filter: an exact repeat of a command that carried FLAG_RETRY
     or an auth trailer gets the cached reply and is NOT executed again.
     A plain repeat of an unsigned command (no RETRY) is executed afresh,
     so a new host that reuses a seq for STOP is never answered from cache.
  3. auth for therapy-changing types (Verifier: MAC, then counter); a
     refusal is NAKed and journaled (EV_LINK_REJECT)
  4. unpack, execute through the Pump's public commands, ACK / data / NAK

Journal events added by the link (names in pumphost/catalog.py):
  EV_LINK_LOST    a = wire state, b = seconds since the last valid frame
  EV_LINK_BACK    a = seconds the link was silent
  EV_LINK_REJECT  a = msg_type + 256 * NAK reason, b = auth counter shown (-1 none)
  EV_AUTH_MARK    a = auth counter high-water mark (see _auth_mark)

JOURNAL_READ offsets are absolute record indices (journal seq - 1), so they
stay valid while the ring wraps; JOURNAL_DATA.offset is the first index sent
(later than asked if the ring overwrote the older ones), total = records
ever written. Records are the journal's raw 20-byte records (crc16 inside).

Runs on MicroPython 1.29 and CPython.
"""
import struct

from firmware.compat import const
# names only: Pump unloads firmware.table once it has compiled the rows
# (import this module before building the Pump, or the table comes back)
from firmware.table import DELIVERING, IN_PROGRAM
from firmware.alarms import ALARM_PRIORITY
from firmware.crc16 import crc16
from firmware.reasons import FIRMWARE_VERSION

from protocol import codes as C
from protocol import messages as M
from protocol.frame import (Encoder, MAX_WIRE, MAX_PAYLOAD, FLAG_REPLY, FLAG_EVENT,
                            FLAG_RETRY)
from protocol.catalogue import MAX_REVIEW_STEPS
from protocol.decoder import Decoder
from protocol.auth import Verifier
from protocol.dedup import DuplicateFilter

# codes from pumphost.codes (private: no heap; tests/test_device_codes.py checks them)
_A_LINK_LOST = const(20)
_E_HASH = const(3)
_E_INVALID = const(2)
_N_ALARMS = const(21)
_RECORD_SIZE = const(20)
_S_IDLE = const(1)
_S_PROGRAMMED = const(2)

# link events: 20.. (journal.py owns 1..19)
EV_LINK_LOST = const(20)
EV_LINK_BACK = const(21)
EV_LINK_REJECT = const(22)
EV_AUTH_MARK = const(23)

RX_CHUNK = const(64)
MAX_FRAMES_PER_POLL = const(4)
AUTH_MARK_STEP = const(16)
_MAX_BYTES = const(694)   # pumphost.codes.MAX_BYTES (encoding v2)
_MAX_ERROR_TEXT = const(200)   # protocol.catalogue.MAX_ERROR_TEXT
_FLAG_STOP_ON_LINK_LOSS = const(2)
# (firmware.program is imported only when a program arrives, as Pump.load does,
# so the link's resident heap stays small; tests/test_link_host.py checks both
# copies of these constants against firmware.program)
_K_RAMP = const(2)               # step kinds whose duration is a field
_K_PAUSE = const(4)
JOURNAL_PER_REPLY = const(12)   # 12 * 20 = 240 <= 247 bytes
TELE_BURST = const(4)           # period 0: at most this many frames per poll

# firmware state -> wire state (PROGRAMMED splits into review / ready)
_WIRE_STATE = (C.STATE_IDLE, C.STATE_IDLE, C.STATE_REVIEW, C.STATE_RUNNING,
               C.STATE_PAUSED, C.STATE_ALARM, C.STATE_COMPLETE, C.STATE_FAULT,
               C.STATE_BOLUS, C.STATE_KVO, C.STATE_DWELL, C.STATE_SYRINGE_CHANGE)


class Link:
    def __init__(self, pump, serial, key, serial_no='SIM-0001', pump_kind=C.PUMP_SYRINGE,
                 link_timeout_ms=10000, max_frames=MAX_FRAMES_PER_POLL, last_counter=None):
        self.pump = pump
        self.serial = serial
        self.clock = pump.hal.clock
        self.serial_no = serial_no
        self.pump_kind = pump_kind
        self.link_timeout_ms = link_timeout_ms
        self.max_frames = max_frames
        self.decoder = Decoder()
        self.dedup = DuplicateFilter()
        self.enc = Encoder()
        self._tx = self.enc.buf
        self._txv = memoryview(self._tx)
        self._out = bytearray(MAX_WIRE)     # unsent tail of the frame on the line
        self._outv = memoryview(self._out)
        self._out_pos = 0
        self._out_n = 0
        self.tele_sent = 0
        self.tele_skipped = 0
        self._pl = bytearray(MAX_PAYLOAD)
        self._rx = bytearray(RX_CHUNK)
        self._rx_pos = 0
        self._rx_n = 0
        self._rec = bytearray(_RECORD_SIZE)
        self._prog = bytearray(_MAX_BYTES)
        self._prog_n = 0
        self._prog_next = 0       # next chunk index expected; 0 = none in progress
        self._prog_total = 0
        self._event_seq = 0
        self._tele_on = False
        self._tele_period = 0
        self._tele_due = 0
        self.host_seen = False
        self.link_lost = False
        self._last_rx = self.clock.ticks_ms()
        self.frames_handled = 0
        self.rejected = 0
        if last_counter is None:
            last_counter = self._recover_counter()
        self._mark = last_counter
        self.verifier = Verifier(key, last_counter)
        self._mark_seq = 0
        self._log_mark(last_counter)

    # ------------------------------------------------------------ polling
    def poll(self):
        """Service the link once; bounded, never blocks. Returns frames handled."""
        handled = 0
        feed = self.decoder.feed_byte
        while handled < self.max_frames and self._flush():
            if self._rx_pos >= self._rx_n:
                n = self.serial.readinto(self._rx)
                if not n:
                    break
                self._rx_pos = 0
                self._rx_n = n
            rx = self._rx
            while self._rx_pos < self._rx_n:
                b = rx[self._rx_pos]
                self._rx_pos += 1
                f = feed(b)
                if f is not None:
                    self._frame(f)
                    handled += 1
                    if handled >= self.max_frames or self._out_n:
                        break
        self._housekeeping()
        return handled

    def _housekeeping(self):
        clock = self.clock
        now = clock.ticks_ms()
        if self._tele_on:
            if self._tele_period == 0:
                n = TELE_BURST
                while n and self._flush():
                    self._telemetry()
                    n -= 1
            elif clock.ticks_diff(now, self._tele_due) >= 0:
                self._tele_due = clock.ticks_add(now, self._tele_period)
                if self._flush():
                    self._telemetry()
                else:
                    self.tele_skipped += 1   # the line is busy: skipped, not queued
        if self.host_seen and not self.link_lost:
            gap = clock.ticks_diff(now, self._last_rx)
            if gap > self.link_timeout_ms:
                self._lost(gap)
        j = self.pump.journal
        if j.next_seq - self._mark_seq > (j.capacity >> 1):
            self._log_mark(self._mark)   # keep the mark inside the ring

    def _telemetry(self):
        self._send_status(C.TELEMETRY, self._event_seq, FLAG_EVENT)
        self._event_seq = (self._event_seq + 1) & 0xFFFF
        self.tele_sent += 1

    def _lost(self, gap):
        self.link_lost = True
        p = self.pump
        p.journal.log(p.uptime_s, EV_LINK_LOST, self._wire_state(), gap // 1000)
        prog = p.program
        if (prog is not None and prog.flags & _FLAG_STOP_ON_LINK_LOSS
                and p.fsm.state in IN_PROGRAM):
            # the program says stop: pause (motor stops first), then the
            # medium alarm; only the host's authenticated RESUME restarts
            p.pause()
            p.advise(_A_LINK_LOST)

    # ------------------------------------------------------------ transmit
    def _write(self, buf, n):
        """Start a frame buf[0:n] (a memoryview) on a free line; keep what
        the serial did not accept for _flush."""
        w = self.serial.write(buf[:n])
        if w is None or w < 0:
            w = 0
        if w < n:
            m = n - w
            self._out[0:m] = buf[w:n]
            self._out_pos = 0
            self._out_n = m

    def _flush(self):
        """Send the pending tail; True when the line is free for a new frame."""
        n = self._out_n
        if not n:
            return True
        pos = self._out_pos
        w = self.serial.write(self._outv[pos:n])
        if w is None or w < 0:
            w = 0
        pos += w
        if pos >= n:
            self._out_pos = self._out_n = 0
            return True
        self._out_pos = pos
        return False

    # ------------------------------------------------------------ frames
    def _frame(self, f):
        self.frames_handled += 1
        clock = self.clock
        now = clock.ticks_ms()
        if self.link_lost:
            self.link_lost = False
            p = self.pump
            p.journal.log(p.uptime_s, EV_LINK_BACK, clock.ticks_diff(now, self._last_rx) // 1000, 0)
            if p.alarms.condition[_A_LINK_LOST]:
                p.alarms.condition_gone(_A_LINK_LOST)
        self.host_seen = True
        self._last_rx = now
        t = f.msg_type
        if f.flags & (FLAG_REPLY | FLAG_EVENT):
            return  # a device frame (echo, crossed wires): never answered
        if not M.is_command(t):
            self._nak(f, C.NAK_UNKNOWN_TYPE, 0)
            return
        if (f.flags & FLAG_RETRY) or f.trailer is not None:
            cached = self.dedup.lookup(f)
            if cached is not None:
                self._write(cached, len(cached))
                return
        if M.requires_auth(t):
            r = self.verifier.check(f)
            if r:
                self.rejected += 1
                tr = f.trailer
                ctr = -1 if tr is None else struct.unpack_from('<I', tr, 0)[0]
                p = self.pump
                p.journal.log(p.uptime_s, EV_LINK_REJECT, t + 256 * r, ctr)
                self._nak(f, r, 0)
                return
            self._auth_mark(self.verifier.last_counter)
        try:
            fields = M.unpack(t, f.payload)
        except C.ProtocolError as e:
            self._nak(f, e.reason, 0)
            return
        try:
            self._dispatch(f, t, fields)
        except C.ProtocolError as e:
            self._nak(f, e.reason, 0)
        except Exception:  # never let a command take the control loop down
            self._nak(f, C.NAK_INTERNAL, 0)

    def _dispatch(self, f, t, d):
        p = self.pump
        if t == C.HELLO:
            self._reply(f, C.DEVICE_INFO, {
                'proto_version': 1, 'pump_kind': self.pump_kind, 'max_payload': MAX_PAYLOAD,
                'auth_counter': self.verifier.last_counter, 'fw_version': FIRMWARE_VERSION,
                'serial': self.serial_no})
        elif t == C.STATUS_REQ:
            self._send_status(C.STATUS, f.seq, FLAG_REPLY, f)
        elif t == C.LAST_ERROR_REQ:
            e = p.last_error
            self._reply(f, C.LAST_ERROR, {'text': e[:_MAX_ERROR_TEXT] if e else 'none'})
        elif t == C.PROGRAM_LOAD:
            self._load_chunk(f, d)
        elif t == C.PROGRAM_REVIEW_REQ:
            self._review(f, d['first_step'])
        elif t == C.CONFIRM:
            self._result(f, p.confirm(d['program_hash']))
        elif t == C.START:
            self._result(f, p.start())
        elif t == C.PAUSE:
            self._result(f, p.pause())
        elif t == C.RESUME:
            self._result(f, p.resume())
        elif t == C.STOP:
            self._prog_next = 0
            self._result(f, p.stop())
        elif t == C.ACK_ALARM:
            code = d['alarm_code']
            if code >= _N_ALARMS:
                self._nak(f, C.NAK_LIMIT, _N_ALARMS - 1)
            elif code and not p.alarms.active[code]:
                self._nak(f, C.NAK_BAD_STATE, code)
            else:
                self._result(f, p.acknowledge())
        elif t == C.AUDIO_PAUSE:
            p.alarms.audio_pause(p.uptime_s, d['duration_s'])
            self._ack(f)
        elif t == C.JOURNAL_READ:
            self._journal(f, d['offset'], d['count'])
        elif t == C.TELEMETRY_STREAM:
            # period 0 with enable 1: as fast as the line takes
            self._tele_on = d['enable'] == 1
            self._tele_period = d['period_ms']
            self._tele_due = self.clock.ticks_ms()
            self._ack(f)
        else:
            self._nak(f, C.NAK_UNKNOWN_TYPE, 0)

    def _result(self, f, r):
        if r == 0:
            self._ack(f)
        elif r == _E_HASH:
            self._nak(f, C.NAK_HASH_MISMATCH, r)
        elif r == _E_INVALID:
            self._nak(f, C.NAK_BAD_PROGRAM, r)
        else:
            self._nak(f, C.NAK_BAD_STATE, r)

    # ------------------------------------------------------------ program
    def _load_chunk(self, f, d):
        idx = d['chunk_index']
        data = d['data']
        if idx == 0:
            self._prog_n = 0
            self._prog_total = d['total_chunks']
        elif idx != self._prog_next or d['total_chunks'] != self._prog_total:
            self._nak(f, C.NAK_CHUNK_ORDER, self._prog_next)
            return
        n = self._prog_n
        if n + len(data) > _MAX_BYTES:
            self._prog_next = 0
            self._nak(f, C.NAK_LIMIT, _MAX_BYTES)
            return
        self._prog[n:n + len(data)] = data
        self._prog_n = n + len(data)
        if idx + 1 < self._prog_total:
            self._prog_next = idx + 1
            self._ack(f)
            return
        self._prog_next = 0
        prog = self._parse_program()
        p = self.pump
        if prog is None or not prog.drugs:
            # a program from outside must name its drug: the pump checks the
            # drug, its concentration and every limit against its own library
            p.last_error = ('program: malformed bytes' if prog is None else
                            'program: names no drug (the pump checks every program against '
                            'its drug library: send the drug and its concentration)')
            p.journal.log(p.uptime_s, EV_LINK_REJECT, C.PROGRAM_LOAD + 256 * C.NAK_BAD_PROGRAM, -1)
            self._nak(f, C.NAK_BAD_PROGRAM, 0)
            return
        self._result(f, self.pump.load(prog))

    def _parse_program(self):
        from firmware.program import decode   # load time only, as Pump.load does
        prog = decode(self._prog, self._prog_n)
        # the hash the host computed covers the bytes it sent; the device's
        # digest covers its own canonical encoding: they must be the same
        if prog is None or prog.encode() != bytes(self._prog[0:self._prog_n]):
            return None
        return prog

    def _review(self, f, first):
        p = self.pump
        prog = p.program
        if prog is None:
            self._nak(f, C.NAK_BAD_STATE, 0)
            return
        steps = prog.steps
        total = len(steps)
        if first > total or (first == total and total):
            self._nak(f, C.NAK_LIMIT, total)
            return
        page = []
        dur_total = 0
        for i in range(total):
            kind, rate, vol = steps[i][0], steps[i][1], steps[i][2]
            if kind == _K_RAMP or kind == _K_PAUSE:
                dur = steps[i][3]
            else:
                dur = (vol * 3600 + rate - 1) // rate if rate else 0
            dur_total += dur
            if first <= i < first + MAX_REVIEW_STEPS:
                page.append((kind, rate, vol, dur))
        self._reply(f, C.PROGRAM_REVIEW, {
            'program_hash': p.program_digest, 'total_volume_nl': prog.total_volume_nl(),
            'duration_s': dur_total, 'total_steps': total, 'first_step': first,
            'steps': page})

    # ------------------------------------------------------------ journal
    def _journal(self, f, offset, count):
        j = self.pump.journal
        total = j.next_seq - 1
        oldest = total - j.capacity if total > j.capacity else 0
        if offset < oldest:
            offset = oldest
        if offset > total:
            offset = total
        if count > JOURNAL_PER_REPLY:
            count = JOURNAL_PER_REPLY
        if offset + count > total:
            count = total - offset
        pl = self._pl
        pos = 9
        rec = self._rec
        for i in range(count):
            slot = (j.next_slot - (total - offset - i)) % j.capacity
            j.storage.readinto(j.base + slot * _RECORD_SIZE, rec)
            pl[pos:pos + _RECORD_SIZE] = rec
            pos += _RECORD_SIZE
        struct.pack_into('<IIB', pl, 0, offset, total, count)
        self._send(f, C.JOURNAL_DATA, pos)

    # ------------------------------------------------------------ auth counter
    def _recover_counter(self):
        """Highest EV_AUTH_MARK in the journal (0 if none)."""
        j = self.pump.journal
        rec = self._rec
        best = 0
        for slot in range(j.capacity):
            j.storage.readinto(j.base + slot * _RECORD_SIZE, rec)
            if (rec[18] | (rec[19] << 8)) != crc16(rec, 0, 18):
                continue
            ev, a = struct.unpack_from('<Hi', rec, 8)
            if ev == EV_AUTH_MARK and a > best:
                best = a
        return best

    def _auth_mark(self, counter):
        # Before the counter passes the persisted mark, persist a new mark
        # AUTH_MARK_STEP above it; after a reset the device resumes at the
        # mark, so no counter it ever accepted can be accepted again.
        if counter >= self._mark:
            self._mark = counter + AUTH_MARK_STEP
            if self._mark > 0x7FFFFFFF:
                self._mark = 0x7FFFFFFF
            self._log_mark(self._mark)

    def _log_mark(self, mark):
        p = self.pump
        self._mark_seq = p.journal.next_seq
        p.journal.log(p.uptime_s, EV_AUTH_MARK, mark, 0)

    # ------------------------------------------------------------ replies
    def _wire_state(self):
        p = self.pump
        s = p.fsm.state
        if s == _S_PROGRAMMED and p.confirmed:
            return C.STATE_READY
        if s == _S_IDLE and self._prog_next:
            return C.STATE_LOADING
        return _WIRE_STATE[s]

    def _send_status(self, msg_type, seq, flags, f=None):
        p = self.pump
        alarms = []
        act = p.alarms.active
        for code in range(1, _N_ALARMS):
            if act[code] and len(alarms) < M.MAX_ALARMS:
                alarms.append((code, ALARM_PRIORITY[code]))
        running = p.fsm.state in DELIVERING
        pr = p.pressure_x10
        if pr > 32767:
            pr = 32767
        elif pr < -32768:
            pr = -32768
        n = M.pack_status_into(self._pl, 0, self._wire_state(),
                               p.step_rate_nl_h if running else 0,
                               p.delivered_nl & 0xFFFFFFFF, p.remaining_nl() & 0xFFFFFFFF,
                               pr, p.uptime_s & 0xFFFFFFFF, alarms)
        if f is None:
            w = self.enc.encode(msg_type, seq, flags, memoryview(self._pl)[:n])
            self._write(self._txv, w)
        else:
            self._send(f, msg_type, n)

    def _reply(self, f, msg_type, fields):
        n = M.pack_into(self._pl, 0, msg_type, fields)
        self._send(f, msg_type, n)

    def _ack(self, f):
        n = M.pack_ack_into(self._pl, 0, f.msg_type)
        self._send(f, C.ACK, n)

    def _nak(self, f, reason, detail):
        if detail > 0xFFFF:
            detail = 0xFFFF
        n = M.pack_nak_into(self._pl, 0, f.msg_type, reason, detail)
        self._send(f, C.NAK, n)

    def _send(self, f, msg_type, n):
        w = self.enc.encode(msg_type, f.seq, FLAG_REPLY, memoryview(self._pl)[:n])
        self._write(self._txv, w)
        if M.is_command(f.msg_type):
            self.dedup.store(f, self._tx, w)

