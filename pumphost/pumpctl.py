"""pumpctl: talk to a pump (or `pumpsim serve`) over its serial link.

  pumpctl --port URL [--key-file F | --test-key] COMMAND

URL is any pyserial URL: /dev/ttyACM0, a pty path, socket://127.0.0.1:7001.
Therapy commands (load, confirm, start, resume, ack, audio-pause) are signed
with the key; the auth counter is kept in KEY_FILE.counter (or
~/.pumpctl-test.counter with --test-key), so restarts never go stale.

Exit status: 0 ok; 1 the pump refused (the reason in words); 2 bad
argument, key or program file; 3 the link is lost (no answer, or the port
went away). Errors are one line; Ctrl-C ends with 130.
"""
import argparse
import hashlib
import json
import os
import shlex
import statistics
import sys
import time

from protocol import codes as C
from pumphost import catalog
from protocol.describe import state_name
from pumphost.client import (PumpClient, LinkError, LinkTimeout, Nak, TEST_KEY,
                             encode_program)

PROG = 'pumpctl'
EXIT_REFUSED = 1     # the pump refused (NAK) or answered wrongly
EXIT_USAGE = 2       # bad argument, program file or key file
EXIT_LINK_LOST = 3   # no answer, or the port went away

ALARM_NAMES, EVENT_NAMES = catalog.ALARM_NAMES, catalog.EVENT_NAMES
PRIORITY_NAMES = catalog.PRIORITY_NAMES


class UsageError(Exception):
    """Bad argument or input file: exit 2."""


def _alarm(code):
    return ALARM_NAMES[code] if 0 <= code < len(ALARM_NAMES) else 'alarm_%d' % code


# --------------------------------------------------------------- program files
def read_program_file(path, patient=None, pump=None, host_check=True):
    """Program file or shipped template name -> (firmware Program, description,
    the compiler's lines); UsageError (exit 2) naming file, key, value and limit."""
    from pumphost.config.schema import ConfigError
    from pumphost.programfile import read_program_file as read
    try:
        compiled, desc = read(path, patient, pump, host_check)
    except ConfigError as e:
        raise UsageError(str(e))
    except OSError as e:
        raise UsageError('%s: %s' % (path, e.strerror or e))
    return compiled.program, desc, compiled.lines


# --------------------------------------------------------------- printing
KIND_WORDS = {1: 'continuous', 2: 'ramp', 3: 'bolus', 4: 'pause', 5: 'kvo', 6: 'syringe change',
              7: 'cycle'}


def state_word(code):
    """One set of state names on every surface: the firmware's (the shell,
    the simulator, the plots); the wire splits PROGRAMMED into review and
    ready, which is said in words after it."""
    name = state_name(code).upper()
    if code == C.STATE_REVIEW:
        return 'PROGRAMMED (awaiting confirm)'
    if code == C.STATE_READY:
        return 'PROGRAMMED (confirmed)'
    return name


def status_json(d):
    return {'state': state_word(d['state']), 'rate_ml_h': d['rate_nl_h'] / 1e6,
            'delivered_ml': d['delivered_nl'] / 1e6, 'remaining_ml': d['remaining_nl'] / 1e6,
            'pressure_mmhg': d['pressure_mmhg_x10'] / 10.0, 'uptime_s': d['uptime_s'],
            'alarms': [{'alarm': _alarm(a['code']), 'priority': PRIORITY_NAMES[a['priority']]}
                       for a in d['alarms']]}


def fmt_status(d):
    al = ', '.join('%s(%s)' % (_alarm(a['code']), PRIORITY_NAMES[a['priority']])
                   for a in d['alarms']) or 'none'
    return ('state %s  rate %.3f mL/h  delivered %.3f mL  remaining %.3f mL  '
            'pressure %.1f mmHg  uptime %d s  alarms %s' % (
                state_word(d['state']), d['rate_nl_h'] / 1e6, d['delivered_nl'] / 1e6,
                d['remaining_nl'] / 1e6, d['pressure_mmhg_x10'] / 10.0, d['uptime_s'], al))


def review_json(d):
    return {'program_hash': d['program_hash'].hex(), 'total_ml': d['total_volume_nl'] / 1e6,
            'duration_s': d['duration_s'],
            'steps': [{'kind': KIND_WORDS.get(s['kind'], s['kind']), 'rate_ml_h': s['rate_nl_h'] / 1e6,
                       'volume_ml': s['volume_nl'] / 1e6, 'duration_s': s['duration_s']}
                      for s in d['steps']]}


def fmt_review(d):
    lines = ['program hash %s' % d['program_hash'].hex(),
             'total %.3f mL over %s (%d step%s)' % (
                 d['total_volume_nl'] / 1e6, _dur(d['duration_s']), d['total_steps'],
                 '' if d['total_steps'] == 1 else 's')]
    for i, s in enumerate(d['steps']):
        k = s['kind']
        if k in (4, 6, 7):
            what = KIND_WORDS[k] + (' for %s' % _dur(s['duration_s']) if k == 4 else '')
        else:
            what = '%.4f mL/h for %.4f mL (%s)%s' % (
                s['rate_nl_h'] / 1e6, s['volume_nl'] / 1e6, _dur(s['duration_s']),
                '' if k == 1 else ', ' + KIND_WORDS.get(k, 'kind %d' % k))
        lines.append('  step %d: %s' % (i + 1, what))
    return '\n'.join(lines)


def _dur(s):
    return '%dh%02dm%02ds' % (s // 3600, s // 60 % 60, s % 60)


def _print_json(obj):
    print(json.dumps(obj), flush=True)


def _key_args(a):
    if a.key_file:
        return '--key-file %s ' % shlex.quote(a.key_file)
    return '--test-key ' if a.test_key else ''


# --------------------------------------------------------------- commands
def cmd_info(c, a):
    d = c.hello()
    kinds = {0: 'unknown', 1: 'syringe', 2: 'peristaltic', 3: 'simulated'}
    if a.json:
        return _print_json(dict(d, pump_kind=kinds.get(d['pump_kind'], d['pump_kind'])))
    print('pump %s  serial %s  firmware %s  protocol %d  auth counter %d' % (
        kinds.get(d['pump_kind'], d['pump_kind']), d['serial'], d['fw_version'],
        d['proto_version'], d['auth_counter']))


def cmd_status(c, a):
    d = c.status()
    if a.json:
        return _print_json(status_json(d))
    print(fmt_status(d))


def _patient(a):
    return {'weight_kg': a.weight_kg, 'height_cm': a.height_cm, 'bsa_m2': a.bsa_m2}


def cmd_load(c, a):
    prog, desc, lines = a.loaded
    review = c.load_program(prog)
    sent = [(s[0], s[1], s[2]) for s in prog.steps]
    got = [(s['kind'], s['rate_nl_h'], s['volume_nl']) for s in review['steps']]
    sent_hash = hashlib.sha256(encode_program(prog)).digest()
    if a.json:
        _print_json(dict(review_json(review), program=desc))
    else:
        print('loaded %s; the pump reviewed:' % desc)
        print(fmt_review(review))
    if sent != got or review['program_hash'] != sent_hash:
        print('%s: the pump parsed a different program than was sent: do NOT confirm' % PROG,
              file=sys.stderr)
        return EXIT_REFUSED
    if not a.json:
        print('check it, then confirm with: pumpctl --port %s %sconfirm %s' % (
            shlex.quote(a.port), _key_args(a), review['program_hash'].hex()[:16]))
    return 0


def cmd_review(c, a):
    d = c.review()
    if a.json:
        return _print_json(review_json(d))
    print(fmt_review(d))


def cmd_confirm(c, a):
    review = c.review()
    h = review['program_hash'].hex()
    if a.hash:
        want = a.hash.lower()
        if len(want) < 8 or any(ch not in '0123456789abcdef' for ch in want):
            raise UsageError('confirm: hash=%r: give at least 8 hex digits of the reviewed hash'
                             % a.hash)
        if not h.startswith(want):
            raise UsageError('confirm: hash=%s does not match the loaded program %s' % (want, h[:16]))
    c.confirm(review['program_hash'])
    print('confirmed %s; start with: pumpctl --port %s %sstart' % (
        h[:16], shlex.quote(a.port), _key_args(a)))


def _simple(name, fn):
    def run(c, a):
        getattr(c, fn)()
        print('%s: ok; %s' % (name, fmt_status(c.status())))
    return run


def alarm_code(text):
    """An alarm by name (occlusion_downstream) or number; 'all' or nothing: 0."""
    if text in (None, '', 'all'):
        return 0
    if text.isdigit():
        code = int(text)
        if 0 <= code < len(ALARM_NAMES):
            return code
    elif text.lower() in ALARM_NAMES:
        return ALARM_NAMES.index(text.lower())
    raise argparse.ArgumentTypeError('%r is not an alarm (all, or one of: %s)'
                                     % (text, ', '.join(ALARM_NAMES[1:])))


def cmd_ack(c, a):
    c.ack_alarm(a.alarm)
    print('ack %s: ok; %s' % (_alarm(a.alarm) if a.alarm else 'all', fmt_status(c.status())))


def cmd_audio_pause(c, a):
    c.audio_pause(a.seconds)
    print('audio paused for %d s' % a.seconds)


def cmd_monitor(c, a):
    """Telemetry at --period-ms until --count/--duration or Ctrl-C. A STATUS
    query every few seconds proves the host is there (a program that stops on
    link loss stays running) without re-arming the stream (which would reset
    its period). No telemetry and no answer: one line, EXIT_LINK_LOST."""
    c.telemetry(a.period_ms)
    n = 0
    t0 = time.monotonic()
    last_rx = t0
    last_keep = t0
    keep_every = 3.0
    silence = max(3.0, 2.5 * a.period_ms / 1000.0)
    try:
        while (not a.count or n < a.count) and (not a.duration or time.monotonic() - t0 < a.duration):
            for d in c.events(0.2):
                n += 1
                last_rx = time.monotonic()
                if a.json:
                    _print_json(dict(status_json(d), t_s=round(last_rx - t0, 2)))
                else:
                    print('%8.1f s  %s' % (last_rx - t0, fmt_status(d)), flush=True)
                if a.count and n >= a.count:
                    break
            now = time.monotonic()
            if now - last_keep > keep_every:
                last_keep = now
                c.status()          # LinkTimeout if the pump is gone: link lost
                if now - last_rx > silence:   # it answers, but the stream stopped: re-arm it
                    c.telemetry(a.period_ms)
                    last_rx = now
    finally:
        try:
            c.telemetry(0)
        except (LinkError, OSError):
            pass
    return 0


def cmd_session(c, a):
    """One connection for a whole session: telemetry lines at --period-ms
    while pumpctl commands are typed (or piped) on stdin, without --port:
    `status`, `load FILE --weight-kg 70`, `confirm HASH`, `start`, `ack
    occlusion_downstream`, `log`, ... and `quit`. A refused command prints
    its one line and the session goes on; a lost link ends it (exit 3)."""
    import select
    parser = build_parser()
    common = ['--port', a.port] + shlex.split(_key_args(a))
    c.telemetry(a.period_ms)
    print('session on %s: type pumpctl commands (status, load FILE, confirm, start, pause, '
          'resume, stop, ack ALARM, log, review); quit to leave' % a.port, flush=True)
    t0 = last_keep = time.monotonic()
    stdin_open = True
    while True:
        for d in c.events(0.05):
            print('%8.1f s  %s' % (time.monotonic() - t0, fmt_status(d)), flush=True)
        ready = select.select([sys.stdin], [], [], 0.15)[0] if stdin_open else []
        if not stdin_open:
            time.sleep(0.15)
        if ready:
            line = sys.stdin.readline()
            if not line or line.strip() in ('quit', 'exit'):
                break
            try:
                words = shlex.split(line)
            except ValueError as e:
                print('%s: %s' % (PROG, e), file=sys.stderr, flush=True)
                continue
            if not words:
                continue
            try:
                sub = parser.parse_args(common + words)
            except SystemExit:   # the parser printed its one line
                continue
            if sub.func in (cmd_session, cmd_monitor, cmd_mux):
                print('%s: %s: not inside a session (telemetry is already on)' % (PROG, sub.cmd),
                      file=sys.stderr, flush=True)
                continue
            try:
                if sub.cmd == 'load':
                    sub.loaded = read_program_file(sub.program, _patient(sub), sub.pump,
                                                   not sub.no_host_check)
                sub.func(c, sub)
            except (UsageError, Nak) as e:
                print('%s: %s' % (PROG, e), file=sys.stderr, flush=True)
            sys.stdout.flush()
            last_keep = time.monotonic()
        if time.monotonic() - last_keep > 3.0:   # the host is here: no link loss on the pump
            last_keep = time.monotonic()
            c.status()
    try:
        c.telemetry(0)
    except (LinkError, OSError):
        pass
    return 0


def cmd_mux(c, a):
    """Hold the pump's link and share it on a TCP port (pumphost.mux)."""
    import serial
    from pumphost.mux import Mux, DeviceLost, listen
    try:
        lsock = listen(a.listen)
    except (OSError, ValueError) as e:
        raise UsageError('--listen=%s: %s' % (a.listen, getattr(e, 'strerror', None) or e))
    try:
        port = serial.serial_for_url(a.port, baudrate=115200, timeout=0)
    except Exception as e:
        lsock.close()
        print('%s: --port=%s: cannot open (%s)' % (PROG, a.port, str(e).splitlines()[0]),
              file=sys.stderr)
        return EXIT_LINK_LOST
    host, tcp = lsock.getsockname()[:2]
    print('mux: %s shared on socket://%s:%d (Ctrl-C ends it)' % (a.port, host, tcp), flush=True)
    m = Mux(port, lsock, log=lambda line: print(line, file=sys.stderr, flush=True))
    try:
        m.run()
    except DeviceLost as e:
        print('%s: link lost: %s: %s' % (PROG, a.port, e), file=sys.stderr)
        return EXIT_LINK_LOST
    finally:
        m.close()
        port.close()
    return 0


def cmd_key(c, a):
    from pumphost import keys
    try:
        if a.key_cmd == 'generate':
            path = a.path or os.path.join(keys.DEFAULT_DIR, 'pump.key')
            print('generated %s (fingerprint %s, mode 600); install it on the board: '
                  'pumpctl key install %s --board-dir DIR' % (
                      path, keys.generate(path), shlex.quote(path)))
        elif a.key_cmd == 'rotate':
            old, new = keys.rotate(a.path)
            print('rotated %s: %s -> %s; the old key is %s.old until the board has the new one '
                  '(pumpctl key install); the counter starts afresh' % (a.path, old, new, a.path))
        elif a.key_cmd == 'install':
            target, fp = keys.install(a.path, a.board_dir)
            print('wrote %s (fingerprint %s): copy it to the board, e.g. mpremote cp %s :pump.key'
                  % (target, fp, shlex.quote(target)))
        else:
            key = keys.check_key_file(a.path)
            line = 'key %s: fingerprint %s, mode 600, host counter %d' % (
                a.path, keys.fingerprint(key), keys.counter(a.path))
            if c is not None:
                line += ', pump %s counter %d' % (c.hello()['serial'], c.info['auth_counter'])
            print(line)
    except keys.KeyError_ as e:
        raise UsageError(str(e))
    except FileNotFoundError as e:
        raise UsageError('%s: no such file' % e.filename)
    except ValueError as e:
        raise UsageError(str(e))
    except OSError as e:
        raise UsageError('%s: %s' % (e.filename, e.strerror))
    return 0


def describe_record(ev, x, y):
    """A journal record in words: what happened, with its values."""
    from firmware.table import STATE_NAMES, TRIGGER_NAMES
    if ev == 2:
        to, trig = y >> 8, y & 0xFF
        return '%s -> %s (%s)' % (_state(STATE_NAMES, x), _state(STATE_NAMES, to),
                                  TRIGGER_NAMES[trig].lower() if trig < len(TRIGGER_NAMES) else trig)
    if ev == 3:
        return '%s at %.1f mmHg' % (_alarm(x), y / 10.0)
    if ev == 4:
        return '%d alarm%s acknowledged' % (x, '' if x == 1 else 's')
    if ev in (10, 16):
        return _alarm(x)
    if ev == 5:
        return 'first rate %.4f mL/h, total %.4f mL' % (x / 1e6, y / 1e6)
    if ev in (7, 8):
        return 'delivered %.4f mL' % (x / 1e6)
    if ev == 9:
        from firmware.reasons import REASON_NAMES
        return '%s refused: %s' % (TRIGGER_NAMES[x].lower() if 0 <= x < len(TRIGGER_NAMES) else x,
                                   REASON_NAMES[y] if 0 <= y < len(REASON_NAMES) else y)
    if ev == 11:
        return 'fill %.4f mL, %.1f mmHg' % (x / 1e6, y / 10.0)
    if ev == 12:
        return 'backed off %d steps, %.1f mmHg' % (x, y / 10.0)
    if ev == 22:
        from protocol.describe import nak_name
        from protocol.messages import name
        return '%s refused: %s (counter %d)' % (name(x & 0xFF), nak_name(x >> 8), y)
    if ev == 23:
        return 'command counter mark %d' % x
    if ev == 50:
        from pumphost.config.programs import device_error_words
        lim = ('rate', 'dose per day', 'dose per cycle', 'volume')[x & 0xFF] if (x & 0xFF) < 4 else x & 0xFF
        return device_error_words('%s soft limit exceeded (value %d) for drug %d' % (lim, y, x >> 8))
    if ev == 51:
        return 'at step %d, delivered %.4f mL' % (x + 1, y / 1e6)
    if ev in (20, 21):
        return 'after %d s' % y if y else ''
    if ev in EVENT_NAMES:
        return ''
    return 'a=%d b=%d' % (x, y)


def _state(names, code):
    return names[code] if 0 <= code < len(names) else 'state %d' % code


def cmd_log(c, a):
    for seq, t, ev, x, y, ok in c.journal(a.start):
        name = EVENT_NAMES.get(ev, 'event_%d' % ev)
        words = describe_record(ev, x, y)
        if a.json:
            _print_json({'seq': seq, 't_s': t, 'event': name, 'detail': words, 'crc_ok': ok})
            continue
        print('%6d %8d s  %-20s %s%s' % (seq, t, name, words, '' if ok else '  (CRC BAD)'))


def cmd_ping(c, a):
    rtts = []
    for _ in range(a.count):
        t = time.perf_counter()
        c.status()
        rtts.append((time.perf_counter() - t) * 1000.0)
    rtts.sort()
    print('status round trip over %d: median %.2f ms  p95 %.2f ms  max %.2f ms  retries %d' % (
        a.count, statistics.median(rtts), rtts[int(0.95 * (len(rtts) - 1))], rtts[-1],
        c.retries_used))


def cmd_dashboard(c, a):
    from pumphost.dashboard.serial_target import SerialTarget
    from pumphost.dashboard.server import serve
    target = SerialTarget(c, a.port)

    def ready(url):
        print('%s dashboard: pump on %s, page on %s  (Ctrl-C to stop)' % (PROG, a.port, url),
              flush=True)
    try:
        serve(target, port=a.http_port, on_ready=ready, stop_after_s=a.open_for)
    except OSError as e:
        raise UsageError('dashboard --http-port=%d: %s' % (a.http_port, e.strerror or e))
    return 0


def _positive(kind, lo, hi):
    def conv(text):
        try:
            v = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError('%r is not a number' % text)
        if not lo <= v <= hi:
            raise argparse.ArgumentTypeError('%r not allowed (%s..%s)' % (text, lo, hi))
        return v
    return conv


class _Parser(argparse.ArgumentParser):
    def error(self, message):   # one line, exit 2
        self.exit(2, '%s: %s\n' % (PROG, message))


LOAD_HELP = """\
Send a program to the pump; it answers with its own review (rates, volumes,
durations, hash). PROGRAM is a program file or a shipped template's name
(fudr-14d, haic-folfox, heparin-lock). Every step names its drug and its
concentration: the host checks the drug library first (one line naming the
limit), the pump checks its own again and refuses anything above a hard limit.
The format is in docs/program-files.md. Examples of a program file:

""" 


def build_parser():
    from pumphost.programfile import EXAMPLE
    ap = _Parser(prog=PROG, description=__doc__,
                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--port', help='pyserial URL or device path (every command but key)')
    kg = ap.add_mutually_exclusive_group()
    kg.add_argument('--key-file', help='32-byte key (raw or 64 hex digits); counter in KEY_FILE.counter')
    kg.add_argument('--test-key', action='store_true', help='the public test key (simulator only)')
    ap.add_argument('--timeout', type=_positive(float, 0.01, 60), default=0.5,
                    help='seconds to wait for a reply before a retry (default 0.5)')
    ap.add_argument('--retries', type=_positive(int, 0, 20), default=3,
                    help='resends of a frame before the link counts as lost (default 3)')
    sub = ap.add_subparsers(dest='cmd', required=True, parser_class=_Parser)
    p = sub.add_parser('info', help='device info')
    p.add_argument('--json', action='store_true', help='one JSON object')
    p.set_defaults(func=cmd_info)
    p = sub.add_parser('status', help='one status line')
    p.add_argument('--json', action='store_true', help='one JSON object')
    p.set_defaults(func=cmd_status)
    p = sub.add_parser('load', help='send a program file or template; prints the pump review',
                       description=LOAD_HELP + EXAMPLE,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('program', help='program file (YAML) or a shipped template name')
    p.add_argument('--weight-kg', type=_positive(float, 2, 350), help='patient weight (kg)')
    p.add_argument('--height-cm', type=_positive(float, 40, 250), help='patient height (cm)')
    p.add_argument('--bsa-m2', type=_positive(float, 0.3, 3.5), help='body surface area (m2)')
    p.add_argument('--pump', help='pump config (configs/pumps name or path); default the file\'s, '
                   'else bd-plastipak-50')
    p.add_argument('--no-host-check', action='store_true',
                   help='skip the host\'s drug-limit checks (the pump still checks its own: '
                   'to see it refuse)')
    p.add_argument('--json', action='store_true', help='the review as one JSON object')
    p.set_defaults(func=cmd_load)
    p = sub.add_parser('review', help='show the loaded program as the pump parsed it')
    p.add_argument('--json', action='store_true', help='one JSON object')
    p.set_defaults(func=cmd_review)
    p = sub.add_parser('confirm', help='confirm the reviewed program (optionally check its hash)')
    p.add_argument('hash', nargs='?', help='at least 8 hex digits of the reviewed hash')
    p.set_defaults(func=cmd_confirm)
    for name, words in (('start', 'start the confirmed program'), ('pause', 'pause delivery'),
                        ('resume', 'resume; also confirms a syringe change'),
                        ('stop', 'stop and abandon the program')):
        sub.add_parser(name, help=words).set_defaults(func=_simple(name, name))
    p = sub.add_parser('ack', help='acknowledge alarms: all, or one by name')
    p.add_argument('alarm', nargs='?', type=alarm_code, default=0,
                   help='alarm name (e.g. occlusion_downstream) or number; default all')
    p.set_defaults(func=cmd_ack)
    p = sub.add_parser('audio-pause', help='silence alarms for SECONDS (1..120)')
    p.add_argument('seconds', type=_positive(int, 1, 120), help='1..120 s')
    p.set_defaults(func=cmd_audio_pause)
    p = sub.add_parser('monitor', help='live telemetry until Ctrl-C')
    p.add_argument('--period-ms', type=_positive(int, 100, 60000), default=1000,
                   help='telemetry period, 100..60000 ms (default 1000)')
    p.add_argument('--count', type=_positive(int, 0, 10 ** 9), default=0,
                   help='stop after this many frames (default 0: no limit)')
    p.add_argument('--duration', type=_positive(float, 0, 10 ** 7), default=0,
                   help='stop after this many seconds (default 0: no limit)')
    p.add_argument('--json', action='store_true', help='one JSON object a line')
    p.set_defaults(func=cmd_monitor)
    p = sub.add_parser('log', help='download the journal, in words')
    p.add_argument('--from', dest='start', type=_positive(int, 0, 0xFFFFFFFF), default=0,
                   help='first record number (default 0)')
    p.add_argument('--json', action='store_true', help='one JSON object a line')
    p.set_defaults(func=cmd_log)
    p = sub.add_parser('dashboard', help='live dashboard in the browser (127.0.0.1), with the '
                       'device commands (signed with the key)')
    from pumphost.dashboard.server import add_arguments
    add_arguments(p)
    p.set_defaults(func=cmd_dashboard)
    p = sub.add_parser('session', help='one connection: telemetry while commands are typed on stdin')
    p.add_argument('--period-ms', type=_positive(int, 100, 60000), default=5000,
                   help='telemetry period, 100..60000 ms (default 5000)')
    p.set_defaults(func=cmd_session)
    p = sub.add_parser('mux', help='hold the pump link and share it on a TCP port: several '
                       'clients on one pump (pumphost/mux.py)')
    p.add_argument('--listen', default='127.0.0.1:7010',
                   help='HOST:PORT to listen on (default 127.0.0.1:7010; port 0: any free)')
    p.set_defaults(func=cmd_mux)
    p = sub.add_parser('key', help='device keys: generate, rotate, install on a board, show '
                       '(docs/keys.md)')
    ksub = p.add_subparsers(dest='key_cmd', required=True, parser_class=_Parser)
    k = ksub.add_parser('generate', help='a new random key, 0600, outside the source tree')
    k.add_argument('path', nargs='?', help='key file (default %s/pump.key)' % '~/.config/hai-pump/keys')
    k = ksub.add_parser('rotate', help='a new key in PATH; the old one kept as PATH.old')
    k.add_argument('path', help='key file')
    k = ksub.add_parser('install', help='write the board\'s pump.key into a directory to copy '
                        'to the board')
    k.add_argument('path', help='key file')
    k.add_argument('--board-dir', required=True, help='directory for pump.key (then e.g. '
                   'mpremote cp DIR/pump.key :pump.key)')
    k = ksub.add_parser('show', help='fingerprint, permissions, counter; with --port the '
                        'pump\'s counter too')
    k.add_argument('path', help='key file')
    p.set_defaults(func=cmd_key)
    p = sub.add_parser('ping', help='measure the STATUS round trip')
    p.add_argument('--count', type=_positive(int, 1, 100000), default=100,
                   help='round trips (default 100)')
    p.set_defaults(func=cmd_ping)
    return ap


def main(argv=None):
    try:
        a = build_parser().parse_args(argv)
    except SystemExit as e:   # argparse already printed one line (or --help)
        return e.code
    key = counter_file = None
    try:
        if a.func is cmd_key and not a.port:   # key files only, no pump
            return cmd_key(None, a)
        if not a.port:
            raise UsageError('--port is required for %s (a pyserial URL or device path)' % a.cmd)
        if a.key_file:
            from pumphost.keys import check_key_file, KeyError_
            try:
                key = check_key_file(a.key_file)
            except OSError as e:
                raise UsageError('--key-file=%s: %s' % (a.key_file, e.strerror))
            except KeyError_ as e:
                raise UsageError('--key-file: %s' % e)
            except ValueError as e:
                raise UsageError('--key-file: %s' % e)
            counter_file = a.key_file + '.counter'
        elif a.test_key:
            key = TEST_KEY
            counter_file = os.path.join(os.path.expanduser('~'), '.pumpctl-test.counter')
        if a.port.startswith('socket://') and not a.port.rsplit(':', 1)[-1].isdigit():
            raise UsageError('--port=%s: give host and port, e.g. socket://127.0.0.1:7001' % a.port)
        if a.cmd == 'load':   # check the file before touching the link
            a.loaded = read_program_file(a.program, _patient(a), a.pump, not a.no_host_check)
        if a.func is cmd_mux:   # the daemon opens the port itself
            return cmd_mux(None, a) or 0
        try:
            client = PumpClient(a.port, key=key, counter_file=counter_file,
                                timeout=a.timeout, retries=a.retries)
        except Exception as e:  # pyserial raises SerialException / OSError / ValueError
            print('%s: --port=%s: cannot open (%s)' % (PROG, a.port, str(e).splitlines()[0] if str(e)
                                                        else type(e).__name__),
                  file=sys.stderr)
            return EXIT_LINK_LOST
        with client:
            r = a.func(client, a)
        return r or 0
    except UsageError as e:
        print('%s: %s' % (PROG, e), file=sys.stderr)
        return EXIT_USAGE
    except LinkTimeout as e:
        print('%s: link lost: %s' % (PROG, e), file=sys.stderr)
        return EXIT_LINK_LOST
    except Nak as e:
        print('%s: %s' % (PROG, e), file=sys.stderr)
        return EXIT_REFUSED
    except LinkError as e:
        print('%s: %s' % (PROG, e), file=sys.stderr)
        return EXIT_REFUSED
    except C.ProtocolError as e:
        print('%s: %s' % (PROG, e), file=sys.stderr)
        return EXIT_USAGE
    except (OSError, EOFError) as e:   # the port went away (server killed, cable out)
        print('%s: link lost: %s: %s' % (PROG, a.port, getattr(e, 'strerror', None) or e or
                                          type(e).__name__), file=sys.stderr)
        return EXIT_LINK_LOST
    except KeyboardInterrupt:
        print('%s: interrupted' % PROG, file=sys.stderr)
        return 130
    finally:
        try:
            sys.stdout.flush()
        except BrokenPipeError:   # output piped into head: not an error
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())


if __name__ == '__main__':
    sys.exit(main())
