"""pumpsim bench link: the serial link's figures against their targets, as JSON.

  pumpsim bench link [--out DIR] [--count N] [--seconds S]

1. Command round trip, PumpClient <-> firmware under `micropython` over a
   pty (`pumpsim serve --runtime micropython` in a subprocess, as pumpctl
   sees it): STATUS and HELLO, median / p95 / max, and the bytes each way.
   A pty moves bytes at memory speed, so the whole measured time is
   overhead beyond the wire; the wire time at 115200 baud 8N1 (10 bits a
   byte) is computed from the byte counts. The cpython runtime is measured
   the same way for comparison.
2. Telemetry: (a) the protocol's own ceiling (TELEMETRY_MIN_PERIOD_MS) in
   frames/s and its share of a 115200 line; (b) what the device's link can
   produce with period 0 and no line limit (boards/fake/telemetry_main.py under
   micropython and CPython: frames/s and bytes/s against 11520 bytes/s); (c) end to end over the pty: serve --runtime micropython
   streaming at the minimum period (one frame per tick), virtual time sped
   up so the stream carries as many bytes/s as a 115200 line, then flat
   out: frames received, sequence gaps (loss), decoder errors.
   (d) the target (telemetry at 115200 baud uses >= 90% of the line without
   loss when asked to stream as fast as it can): TELEMETRY_STREAM period 0
   against a paced UART model (simulator/runtime/sim_hal.py SimSerial, 11,520 B/s and a
   transmit buffer), in simulated time: line utilisation, seq gaps, decoder
   errors, replies through the stream; plus a sweep over poll interval and
   buffer size (`telemetry_paced`, `telemetry_paced_sweep`; --paced-only
   runs just these, in seconds).
3. Codec frames/s on CPython and MicroPython (boards/fake/codec_main.py).
4. Lockstep ticks/s of the bridge, idle and infusing, and what a 46 h HAI
   course would take.
Numbers only; nothing here is asserted against wall-clock time.
"""
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time

from pathlib import Path

from pumphost import devicebuild
from pumphost.config.drugs import program_drugs

ROOT = devicebuild.DEVICE_ROOT
LINE_BYTES_S = 115200 / 10.0


def _pct(sorted_ms, q):
    return sorted_ms[int(q * (len(sorted_ms) - 1))]


def _stats(ms):
    ms = sorted(ms)
    return {'n': len(ms), 'median_ms': round(statistics.median(ms), 3),
            'p95_ms': round(_pct(ms, 0.95), 3), 'max_ms': round(ms[-1], 3),
            'min_ms': round(ms[0], 3)}


def start_serve(runtime, *extra, stdin=False):
    """`pumpsim serve` in a subprocess on a pty; returns (process, port, the
    lines it printed up to the port). With stdin=True its stdin is a pipe for
    serve's commands (inject, clear, quit, ...). Used by the e2e tests too."""
    args = [sys.executable, '-m', 'simulator.ui.cli', 'serve', '--runtime', runtime, '--link', 'pty']
    p = subprocess.Popen(args + ([] if stdin else ['--no-stdin']) + list(extra),
                         cwd=ROOT, stdin=subprocess.PIPE if stdin else None,
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines = []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        line = p.stdout.readline()
        if not line:
            break
        lines.append(line)
        if line.startswith('port: '):
            return p, line.split(None, 1)[1].strip(), lines
    p.kill()
    raise RuntimeError('serve printed no port: %r' % ''.join(lines))


def stop_serve(p):
    """Stop serve (`quit` on its stdin if piped, else SIGTERM); its output."""
    try:
        if p.stdin:
            p.stdin.write('quit\n')
            p.stdin.flush()
        else:
            p.terminate()
        return p.communicate(timeout=20)[0]
    except (subprocess.TimeoutExpired, OSError):
        p.kill()
        return p.communicate()[0]


def _wire_sizes():
    from protocol import codes as C, messages as M
    from protocol.frame import encode_frame, FLAG_REPLY
    req = 1 + len(encode_frame(C.STATUS_REQ, 1, 0, M.pack(C.STATUS_REQ, {})))  # + leading 0x00
    buf = bytearray(64)
    n = M.pack_status_into(buf, 0, C.STATE_IDLE, 0, 0, 0, 0, 0, [])
    rep = len(encode_frame(C.STATUS, 1, FLAG_REPLY, bytes(buf[:n])))
    return req, rep


def round_trip(runtime, count):
    from pumphost.client import PumpClient, TEST_KEY
    p, port, _ = start_serve(runtime, '--speed', '1')
    try:
        c = PumpClient(port, key=TEST_KEY, timeout=1.0, retries=2)
        c.hello()
        for _ in range(20):
            c.status()
        st, he = [], []
        for _ in range(count):
            t = time.perf_counter()
            c.status()
            st.append((time.perf_counter() - t) * 1000.0)
        for _ in range(max(10, count // 5)):
            t = time.perf_counter()
            c.hello()
            he.append((time.perf_counter() - t) * 1000.0)
        retries = c.retries_used
        c.close()
    finally:
        out = stop_serve(p)
    req, rep = _wire_sizes()
    wire_ms = (req + rep) * 1000.0 / LINE_BYTES_S
    s = _stats(st)
    r = {'status': s, 'hello': _stats(he), 'retries': retries,
         'status_bytes_request': req, 'status_bytes_reply': rep,
         'status_wire_ms_at_115200': round(wire_ms, 3),
         'status_projected_ms_at_115200': round(s['median_ms'] + wire_ms, 3),
         'overhead_beyond_wire_median_ms': s['median_ms'],
         'serve_summary': out.strip().splitlines()[-1] if out.strip() else ''}
    m = re.search(r'per link exchange (\d+) us', out)
    if m:
        r['device_us_per_link_exchange'] = int(m.group(1))
    return r


def telemetry_pty(seconds, speed):
    """Stream at the protocol's minimum period, serve as fast as it goes."""
    from protocol import codes as C
    from protocol.catalogue import TELEMETRY_MIN_PERIOD_MS
    from protocol.decoder import Decoder
    from protocol.frame import FLAG_EVENT
    from pumphost.client import PumpClient, TEST_KEY
    p, port, _ = start_serve('micropython', '--speed', str(speed))
    try:
        c = PumpClient(port, key=TEST_KEY, timeout=1.0, retries=2)
        c.telemetry(TELEMETRY_MIN_PERIOD_MS)
        dec = Decoder()
        seqs, nbytes = [], 0
        t_end = time.monotonic() + seconds
        t0 = None
        while time.monotonic() < t_end:
            n = c.port.in_waiting
            data = c.port.read(n if n else 1)
            if not data:
                continue
            for f in dec.feed(data):
                if f.msg_type == C.TELEMETRY and f.flags & FLAG_EVENT:
                    if t0 is None:
                        t0 = time.monotonic()
                        continue
                    seqs.append(f.seq)
                    nbytes += len(f.payload) + 13
        dt = time.monotonic() - (t0 or t_end)
        c.port.write(b'\x00')
        c.close()
    finally:
        out = stop_serve(p)
    gaps = sum(((b - a) & 0xFFFF) - 1 for a, b in zip(seqs, seqs[1:]))
    m = re.search(r'\((\d+) ticks/s\)', out)
    return {'period_ms': TELEMETRY_MIN_PERIOD_MS, 'serve_speed': speed,
            'frames': len(seqs), 'seconds': round(dt, 3),
            'frames_per_s': round(len(seqs) / dt, 1) if dt > 0 else None,
            'approx_bytes_per_s': round(nbytes / dt, 1) if dt > 0 else None,
            'line_share_if_115200': round(nbytes / dt / LINE_BYTES_S, 3) if dt > 0 else None,
            'seq_gaps': gaps, 'decoder_errors': dec.errors(),
            'serve_ticks_per_s': int(m.group(1)) if m else None}


def telemetry_paced(seconds, poll_ms=1, tx_buffer=256, baud=115200, status_every_ms=500):
    """Telemetry as fast as the line takes, against a paced UART, in simulated time.

    The firmware (Pump, Loop, Link; this process, the demo scenario infusing)
    on the simulated HAL, its serial a SimSerial paced at baud/10 bytes/s with
    a `tx_buffer`-byte transmit buffer (simulator/runtime/sim_hal.py): write() takes only
    what fits, as a UART driver does. Simulated time moves `poll_ms` per link
    poll (a board's main loop polls between control ticks), a control tick
    and the plant every tick_ms. The host asks TELEMETRY_STREAM enable=1,
    period 0 (as fast as the line takes) and a STATUS_REQ every
    `status_every_ms` (replies must get through the stream). Measured over
    `seconds` of simulated time: line utilisation = bytes off the wire /
    line capacity, loss = TELEMETRY seq gaps + decoder errors + missing or
    cut replies. Deterministic: no wall clock involved."""
    from simulator.runtime.sim_hal import SimSerial
    from protocol import codes as C, messages as M
    from protocol.decoder import Decoder
    from protocol.frame import encode_frame, FLAG_EVENT, FLAG_REPLY
    from pumphost.client import TEST_KEY
    from firmware.link import Link
    from simulator.runtime.inproc import Simulation
    from simulator.scenario import load_scenario
    from firmware.program import Program
    from pumphost.codes import K_CONTINUOUS
    sim = Simulation(load_scenario('demo'))
    hal, clock, plant = sim.hal, sim.hal.clock, sim.plant
    tick_ms = sim.tick_ms
    ser = SimSerial(baud=baud, now_ms=lambda: clock.elapsed_ms, tx_buffer=tx_buffer)
    clock.advance(tick_ms)
    sim.loop.poll()                                   # POST
    pump = sim.pump
    prog = Program([(K_CONTINUOUS, 2000000, 40000000)])   # 2 mL/h: telemetry of a running pump
    if pump.load(prog) == 0 and pump.confirm(prog.digest()) == 0:
        pump.start()
    link = Link(pump, ser, TEST_KEY, pump_kind=C.PUMP_SIMULATED, link_timeout_ms=3600000)
    dec = Decoder()
    seq = [1]

    def send(msg_type, fields):
        seq[0] += 1
        ser.to_device.extend(encode_frame(msg_type, seq[0], 0, M.pack(msg_type, fields)))
        return seq[0]

    want = {send(C.TELEMETRY_STREAM, {'enable': 1, 'period_ms': 0}): C.ACK}
    t_ms = 0
    since_tick = 0
    tele, replies, bad_replies = [], 0, 0
    read = 0
    started = None
    end_ms = int(seconds * 1000)
    next_status = status_every_ms
    while True:
        clock.advance(poll_ms)
        t_ms += poll_ms
        since_tick += poll_ms
        if since_tick >= tick_ms:
            since_tick -= tick_ms
            plant.advance(tick_ms / 1000.0, hal.motor.take_pending())
            sim.loop.poll()
        if started is not None and t_ms - started >= next_status:
            next_status += status_every_ms
            want[send(C.STATUS_REQ, {})] = C.STATUS
        link.poll()
        buf = ser.from_device
        if len(buf) > read:
            for f in dec.feed(bytes(buf[read:])):
                if f.flags & FLAG_EVENT and f.msg_type == C.TELEMETRY:
                    if started is not None:
                        M.unpack(C.TELEMETRY, f.payload)
                        tele.append(f.seq)
                elif f.flags & FLAG_REPLY:
                    if want.pop(f.seq, None) == f.msg_type:
                        replies += 1
                        if started is None:       # the ACK: measure from here
                            started = t_ms
                            d0 = ser.delivered()
                            tele_sent0 = link.tele_sent
                    else:
                        bad_replies += 1
            read = len(buf)
        if started is not None and t_ms - started >= end_ms:
            break
        if t_ms > end_ms + 60000:
            raise RuntimeError('telemetry_paced: no ACK to TELEMETRY_STREAM')
    delivered = ser.delivered() - d0
    capacity = ser.bytes_per_s * end_ms / 1000.0
    gaps = sum(((b - a) & 0xFFFF) - 1 for a, b in zip(tele, tele[1:]))
    pending = len(want)   # requests sent in the last poll or two may still be unanswered
    return {'baud': baud, 'line_bytes_per_s': ser.bytes_per_s, 'tx_buffer_bytes': tx_buffer,
            'poll_ms': poll_ms, 'simulated_s': end_ms / 1000.0, 'period_ms': 0,
            'state': pump.state_name(),
            'bytes_delivered': delivered, 'line_capacity_bytes': int(capacity),
            'line_utilisation': round(delivered / capacity, 4),
            'telemetry_frames': len(tele), 'telemetry_sent': link.tele_sent - tele_sent0,
            'frames_per_s': round(len(tele) * 1000.0 / end_ms, 1),
            'seq_gaps': gaps, 'decoder_errors': dec.errors(),
            'status_replies': replies - 1, 'replies_wrong_or_unexpected': bad_replies,
            'requests_unanswered': pending,
            'loss': gaps + dec.errors() + bad_replies,
            'target': '>= 0.90 utilisation, zero loss',
            'meets_target': delivered / capacity >= 0.9 and gaps + dec.errors() + bad_replies == 0}


def _micropython_in(workdir, args, timeout=600):
    mp = devicebuild.tool('micropython')
    return subprocess.run([mp, '-X', 'heapsize=512k'] + args, cwd=str(workdir),
                          env=dict(os.environ, MICROPYPATH='.'), capture_output=True,
                          text=True, timeout=timeout)


def device_telemetry(workdir, frames):
    out = {}
    r = _micropython_in(workdir, ['-m', 'boards.fake.telemetry_main', str(frames)])
    out['micropython'] = json.loads(r.stdout.strip().splitlines()[-1]) if r.returncode == 0 \
        else {'error': (r.stdout + r.stderr).strip()[-300:]}
    r = subprocess.run([sys.executable, '-m', 'boards.fake.telemetry_main', str(frames)],
                       cwd=ROOT,
                       capture_output=True, text=True, timeout=600)
    out['cpython'] = json.loads(r.stdout.strip().splitlines()[-1]) if r.returncode == 0 \
        else {'error': (r.stdout + r.stderr).strip()[-300:]}
    for v in out.values():
        if 'bytes_per_s' in v:
            v['line_multiple_of_115200'] = round(v['bytes_per_s'] / LINE_BYTES_S, 1)
    return out


def _parse_codec(text):
    d = {}
    for line in text.splitlines():
        m = re.match(r'\s*(.+?):\s+(\d+) frames/s', line)
        if m:
            d[m.group(1).strip()] = int(m.group(2))
        elif line.startswith('runtime:'):
            d['runtime'] = line.split(':', 1)[1].strip()
        elif line.startswith('telemetry frame:'):
            d['frame'] = line.split(':', 1)[1].strip()
    return d


def codec(workdir, frames):
    script = str(ROOT / 'boards' / 'fake' / 'codec_main.py')
    r = subprocess.run([sys.executable, script, str(frames)], cwd=ROOT, capture_output=True,
                       text=True, timeout=600)
    cp = _parse_codec(r.stdout) if r.returncode == 0 else {'error': r.stderr.strip()[-300:]}
    # micropython runs inside the .mpy directory: the codec loads compiled modules
    r = _micropython_in(workdir, [script, str(frames)])
    mp = _parse_codec(r.stdout) if r.returncode == 0 else {'error': (r.stdout + r.stderr)[-300:]}
    return {'cpython': cp, 'micropython': mp}


def lockstep_ticks(ticks):
    from pumphost.client import PumpClient, TEST_KEY
    from simulator.runtime.bridge import BridgeDevice, LockstepPort
    from simulator.scenario import load_scenario
    dev = BridgeDevice(load_scenario('demo'))
    try:
        port = LockstepPort(dev)
        t = time.perf_counter()
        port.run(ticks)
        idle = ticks / (time.perf_counter() - t)
        c = PumpClient(port=port, key=TEST_KEY, timeout=5.0, retries=0)
        review = c.load_program([(1, 1770000, 40000000)], program_drugs('saline', 9.0))   # 1.77 mL/h, 40 mL
        c.confirm(review['program_hash'])
        c.start()
        t = time.perf_counter()
        port.run(ticks)
        running = ticks / (time.perf_counter() - t)
        q = dev.query()
        state = dev.state_name()
    finally:
        dev.close()
    course = 46 * 3600 * 1000 // dev.tick_ms
    return {'ticks': ticks, 'idle_ticks_per_s': round(idle), 'running_ticks_per_s': round(running),
            'state_after': state, 'device_tick_us_mean': round(q['tick_us'] / max(1, q['tick_n']), 1),
            'device_tick_us_max': q['tick_us_max'],
            'course_46h_ticks': course, 'course_46h_wall_min': round(course / running / 60.0, 1)}


def paced_figures(seconds):
    """The telemetry target on the paced line, and how it depends on
    the poll interval and the UART transmit buffer."""
    main = telemetry_paced(seconds)
    sweep = []
    for poll_ms, tx_buffer in ((1, 64), (5, 64), (10, 64), (10, 128), (10, 256), (20, 256),
                               (20, 512)):
        r = telemetry_paced(min(seconds, 10.0), poll_ms=poll_ms, tx_buffer=tx_buffer)
        sweep.append({k: r[k] for k in ('poll_ms', 'tx_buffer_bytes', 'line_utilisation',
                                        'frames_per_s', 'seq_gaps', 'decoder_errors',
                                        'replies_wrong_or_unexpected')})
    return main, sweep


def _print_paced(tp):
    print('telemetry flat out on a paced %d-baud line (%d-byte tx buffer, poll every %d ms, '
          '%g s simulated): utilisation %.1f%%, %.1f frames/s, %d seq gaps, %d decoder errors, '
          '%d STATUS replies through the stream -> %s' % (
              tp['baud'], tp['tx_buffer_bytes'], tp['poll_ms'], tp['simulated_s'],
              100 * tp['line_utilisation'], tp['frames_per_s'], tp['seq_gaps'],
              tp['decoder_errors'], tp['status_replies'],
              'meets >= 90%, zero loss' if tp['meets_target'] else 'MISSES the target'))


def cmd_bench_link(a):
    from simulator.runtime.bridge import compile_device
    out_dir = Path(a.out)
    out_dir.mkdir(parents=True, exist_ok=True)
    res = {'line_bytes_per_s_115200': LINE_BYTES_S}
    print('telemetry on a paced 115200 line, simulated time ...', flush=True)
    res['telemetry_paced'], res['telemetry_paced_sweep'] = paced_figures(a.paced_seconds)
    if a.paced_only:
        path = out_dir / 'link-paced.json'
        path.write_text(json.dumps(res, indent=1, sort_keys=True) + '\n')
        _print_paced(res['telemetry_paced'])
        print('wrote', path)
        return 0
    with tempfile.TemporaryDirectory(prefix='bench-link-') as wd:
        compile_device(wd)
        print('codec ...', flush=True)
        res['codec'] = codec(wd, a.frames)
        print('device telemetry capacity ...', flush=True)
        res['telemetry_device'] = device_telemetry(wd, a.frames)
    from protocol.catalogue import TELEMETRY_MIN_PERIOD_MS
    req, rep = _wire_sizes()
    per_s = 1000.0 / TELEMETRY_MIN_PERIOD_MS
    res['telemetry_protocol_ceiling'] = {
        'min_period_ms': TELEMETRY_MIN_PERIOD_MS, 'frames_per_s': per_s,
        'frame_bytes_no_alarm': rep, 'line_share_115200': round(per_s * rep / LINE_BYTES_S, 4)}
    print('round trip over pty, micropython ...', flush=True)
    res['round_trip_micropython'] = round_trip('micropython', a.count)
    print('round trip over pty, cpython ...', flush=True)
    res['round_trip_cpython'] = round_trip('cpython', a.count)
    # one frame per tick at the minimum period: a serve speed that makes the
    # device's stream as many bytes/s as a 115200 line carries, then flat out
    line_speed = round(LINE_BYTES_S / rep / (1000.0 / TELEMETRY_MIN_PERIOD_MS), 1)
    print('telemetry over pty at 1x line rate (speed %g) ...' % line_speed, flush=True)
    res['telemetry_pty_line_rate'] = telemetry_pty(a.seconds, line_speed)
    print('telemetry over pty flat out (speed %g) ...' % a.speed, flush=True)
    res['telemetry_pty'] = telemetry_pty(a.seconds, a.speed)
    print('lockstep ticks/s ...', flush=True)
    res['lockstep'] = lockstep_ticks(a.ticks)
    path = out_dir / 'link.json'
    path.write_text(json.dumps(res, indent=1, sort_keys=True) + '\n')
    from simulator.benches.plots import plot_link
    plot_link(out_dir / 'link.png', res)
    rt = res['round_trip_micropython']
    print('STATUS round trip (micropython, pty): median %.2f ms, p95 %.2f ms; wire at 115200: '
          '%.2f ms (%d + %d bytes)' % (rt['status']['median_ms'], rt['status']['p95_ms'],
                                       rt['status_wire_ms_at_115200'], rt['status_bytes_request'],
                                       rt['status_bytes_reply']))
    for key in ('telemetry_pty_line_rate', 'telemetry_pty'):
        tp = res[key]
        print('telemetry over pty, serve speed %g: %s frames/s (%.0f%% of a 115200 line), '
              '%d seq gaps, %d decoder errors' % (
                  tp['serve_speed'], tp['frames_per_s'], 100 * (tp['line_share_if_115200'] or 0),
                  tp['seq_gaps'], tp['decoder_errors']))
    _print_paced(res['telemetry_paced'])
    for k, v in res['telemetry_device'].items():
        if 'frames_per_s' in v:
            print('device link streaming capacity (%s): %d frames/s, %d bytes/s = %.1fx a 115200 line'
                  % (k, v['frames_per_s'], v['bytes_per_s'], v['line_multiple_of_115200']))
    ls = res['lockstep']
    print('lockstep: %d ticks/s idle, %d ticks/s infusing; 46 h course ~%.1f min'
          % (ls['idle_ticks_per_s'], ls['running_ticks_per_s'], ls['course_46h_wall_min']))
    print('wrote', path)
    return 0


def register(bench):
    p = bench.add_parser('link', help='serial link figures: round trip over a pty with the '
                                      'firmware under micropython, telemetry, codec, lockstep')
    p.add_argument('--out', default='out/bench-link')
    p.add_argument('--count', type=int, default=500, help='STATUS round trips timed')
    p.add_argument('--frames', type=int, default=5000, help='codec / telemetry frames')
    p.add_argument('--seconds', type=float, default=5.0, help='telemetry over pty, wall seconds')
    p.add_argument('--speed', type=float, default=1000.0,
                   help='serve speed during the telemetry run (ticks as fast as they go)')
    p.add_argument('--ticks', type=int, default=20000, help='lockstep ticks timed per state')
    p.add_argument('--paced-seconds', type=float, default=60.0,
                   help='simulated seconds of telemetry on the paced 115200 line')
    p.add_argument('--paced-only', action='store_true',
                   help='only the paced-line telemetry figures (out/.../link-paced.json)')
    p.set_defaults(func=cmd_bench_link)
