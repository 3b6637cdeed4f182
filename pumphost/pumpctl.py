"""pumpctl: talk to a pump (or `pumpsim serve`) over its serial link.

  pumpctl --port URL [--key-file F | --test-key] COMMAND

URL is any pyserial URL: /dev/ttyACM0, a pty path, socket://127.0.0.1:7001.
Therapy commands (load, confirm, start, resume, ack, audio-pause) are signed
with the key; the auth counter is kept in KEY_FILE.counter (or
~/.pumpctl-test.counter with --test-key), so restarts never go stale.

Exit status: 0 ok; 1 the pump refused (NAK), did not answer (timeout) or
the link failed; 2 bad argument or program file. Errors are one line.
"""
import argparse
import hashlib
import os
import statistics
import sys
import time

from protocol import codes as C
from pumphost import catalog
from pumphost.codes import K_CONTINUOUS, FLAG_STOP_ON_LINK_LOSS
from protocol.describe import state_name
from pumphost.client import (PumpClient, LinkError, read_key_file, TEST_KEY,
                             REVIEW_PAGE, encode_program)  # noqa: F401

PROG = 'pumpctl'

ALARM_NAMES, EVENT_NAMES = catalog.ALARM_NAMES, catalog.EVENT_NAMES
PRIORITY_NAMES = catalog.PRIORITY_NAMES


class UsageError(Exception):
    """Bad argument or input file: exit 2."""


def _alarm(code):
    return ALARM_NAMES[code] if 0 <= code < len(ALARM_NAMES) else 'alarm_%d' % code


# --------------------------------------------------------------- program files
def load_program_file(path):
    """Program YAML -> (steps [(kind, rate_nl_h, volume_nl)], description)."""
    steps, desc, _flags = read_program_file(path)
    return steps, desc


def read_program_file(path):
    """Program YAML -> (steps [(kind, rate_nl_h, volume_nl)], description, flags).

    Forms (units in every key):
      program: {rate_ml_h: 2, volume_ml: 10}            # one continuous step
      program: {dose_mg_per_m2, concentration_mg_per_ml, duration} + patient
      steps: [{rate_ml_h: 2, volume_ml: 1}, ...]       # several steps
    Optional `pump: bd-plastipak-50` (configs/pumps name or path) checks the
    rates and volume against that pump's limits before anything is sent.
    Optional `on_link_loss: continue` (default) or `stop`: with stop the pump
    pauses, with a medium alarm, when the host link is lost, and only an
    authenticated RESUME restarts it (program flag FLAG_STOP_ON_LINK_LOSS).
    """
    from pumphost.config.schema import ConfigError, Field as N, check_map, load_yaml
    from pumphost.config.course import PATIENT, PROGRAM
    from pumphost.config.dose import course_from_dose_per_m2, bsa_mosteller_m2
    from pumphost.config.pumps import load_pump, resolve
    schema = {
        'name': N('str', required=False, default=''),
        'pump': N('str', required=False, doc='a configs/pumps name or a path'),
        'on_link_loss': N('str', required=False, default='continue',
                          choices={'continue', 'stop'}),
        'patient': PATIENT,
        'program': N('map', required=False, fields=PROGRAM.fields),
        'steps': N('list', required=False, item=N('map', fields={
            'rate_ml_h': N('number', lo=0.001, hi=999),
            'volume_ml': N('number', lo=0.001, hi=5000)})),
    }
    try:
        data = check_map(load_yaml(path), schema, path)
        prog, steps = data['program'], data['steps']
        if (prog is None) == (steps is None):
            raise ConfigError('%s: give either program: or steps:, not %s'
                              % (path, 'both' if prog else 'neither'))
        out = []
        if steps is not None:
            if not steps:
                raise ConfigError('%s: steps = []: at least one step' % path)
            out = [(s['rate_ml_h'], s['volume_ml']) for s in steps]
            desc = '%d steps' % len(out)
        else:
            dose = prog.get('dose_mg_per_m2') is not None
            if dose:
                for k in ('concentration_mg_per_ml', 'duration'):
                    if prog.get(k) is None:
                        raise ConfigError('%s: program.%s: missing (needed with a dose)' % (path, k))
                p = data['patient']
                bsa = p['bsa_m2']
                if bsa is None and p['height_cm'] and p['weight_kg']:
                    bsa = bsa_mosteller_m2(p['height_cm'], p['weight_kg'])
                if bsa is None:
                    raise ConfigError('%s: patient: a dose per m2 needs patient.bsa_m2, '
                                      'or height_cm and weight_kg' % path)
                mg, vol, rate = course_from_dose_per_m2(prog['dose_mg_per_m2'], bsa,
                                                        prog['concentration_mg_per_ml'],
                                                        prog['duration'])
                desc = '%s %.1f mg (BSA %.2f m2)' % (prog.get('drug') or 'drug', mg, bsa)
            else:
                for k in ('rate_ml_h', 'volume_ml'):
                    if prog.get(k) is None:
                        raise ConfigError('%s: program.%s: missing (give rate_ml_h and '
                                          'volume_ml, or a dose)' % (path, k))
                rate, vol = prog['rate_ml_h'], prog['volume_ml']
                desc = prog.get('drug') or 'program'
            out = [(rate, vol)]
        if data['pump']:
            pump = load_pump(resolve('pumps', data['pump']))
            lim = pump.data['limits']
            syr = pump.data['syringe']['nominal_volume_ml']
            for i, (rate, vol) in enumerate(out):
                if not lim['min_rate_ml_h'] <= rate <= lim['max_rate_ml_h']:
                    raise ConfigError('%s: step %d: rate_ml_h = %.4g outside the pump %s '
                                      '(%g..%g mL/h)' % (path, i, rate, pump.name,
                                                         lim['min_rate_ml_h'],
                                                         lim['max_rate_ml_h']))
            total = sum(v for _, v in out)
            if total > syr:
                raise ConfigError('%s: total volume_ml = %.4g exceeds the %s syringe (%g mL): '
                                  'split the course' % (path, total, pump.name, syr))
    except ConfigError as e:
        raise UsageError(str(e))
    if len(out) > 32:
        raise UsageError('%s: %d steps; the pump takes at most 32' % (path, len(out)))
    flags = FLAG_STOP_ON_LINK_LOSS if data['on_link_loss'] == 'stop' else 0
    if flags:
        desc += ', stops on link loss'
    return ([(K_CONTINUOUS, int(round(r * 1e6)), int(round(v * 1e6))) for r, v in out], desc,
            flags)


# --------------------------------------------------------------- printing
def fmt_status(d):
    al = ', '.join('%s(%s)' % (_alarm(a['code']), PRIORITY_NAMES[a['priority']])
                   for a in d['alarms']) or 'none'
    return ('state %s  rate %.3f mL/h  delivered %.3f mL  remaining %.3f mL  '
            'pressure %.1f mmHg  uptime %d s  alarms %s' % (
                state_name(d['state']).upper(), d['rate_nl_h'] / 1e6, d['delivered_nl'] / 1e6,
                d['remaining_nl'] / 1e6, d['pressure_mmhg_x10'] / 10.0, d['uptime_s'], al))


def fmt_review(d):
    lines = ['program hash %s' % d['program_hash'].hex(),
             'total %.3f mL over %s (%d step%s)' % (
                 d['total_volume_nl'] / 1e6, _dur(d['duration_s']), d['total_steps'],
                 '' if d['total_steps'] == 1 else 's')]
    for i, s in enumerate(d['steps']):
        lines.append('  step %d: %.4f mL/h for %.4f mL (%s)' % (
            i + 1, s['rate_nl_h'] / 1e6, s['volume_nl'] / 1e6, _dur(s['duration_s'])))
    return '\n'.join(lines)


def _dur(s):
    return '%dh%02dm%02ds' % (s // 3600, s // 60 % 60, s % 60)


# --------------------------------------------------------------- commands
def cmd_info(c, a):
    d = c.hello()
    kinds = {0: 'unknown', 1: 'syringe', 2: 'peristaltic', 3: 'simulated'}
    print('pump %s  serial %s  firmware %s  protocol %d  auth counter %d' % (
        kinds.get(d['pump_kind'], d['pump_kind']), d['serial'], d['fw_version'],
        d['proto_version'], d['auth_counter']))


def cmd_status(c, a):
    print(fmt_status(c.status()))


def cmd_load(c, a):
    steps, desc, flags = read_program_file(a.program)
    review = c.load_program(steps, flags=flags)
    sent = {(k, r, v) for k, r, v in steps}
    got = {(s['kind'], s['rate_nl_h'], s['volume_nl']) for s in review['steps']}
    print('loaded %s; the pump reviewed:' % desc)
    print(fmt_review(review))
    sent_hash = hashlib.sha256(encode_program(steps, flags=flags)).digest()
    if sent != got or len(review['steps']) != len(steps) or review['program_hash'] != sent_hash:
        print('%s: the pump parsed a different program than was sent: do NOT confirm' % PROG,
              file=sys.stderr)
        return 1
    print('confirm with: pumpctl --port %s confirm %s' % (a.port, review['program_hash'].hex()[:16]))
    return 0


def cmd_review(c, a):
    print(fmt_review(c.review()))


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
    print('confirmed %s' % h[:16])


def _simple(name, fn):
    def run(c, a):
        getattr(c, fn)()
        print('%s: ok; %s' % (name, fmt_status(c.status())))
    return run


def cmd_ack(c, a):
    c.ack_alarm(a.code)
    print('ack: ok; %s' % fmt_status(c.status()))


def cmd_audio_pause(c, a):
    c.audio_pause(a.seconds)
    print('audio paused for %d s' % a.seconds)


def cmd_monitor(c, a):
    c.telemetry(a.period_ms)
    n = 0
    t0 = time.monotonic()
    last_rx = t0
    last_keep = t0
    lost = False
    try:
        while (not a.count or n < a.count) and (not a.duration or time.monotonic() - t0 < a.duration):
            for d in c.events(0.5):
                n += 1
                last_rx = time.monotonic()
                if lost:
                    print('%s: link back after %.1f s' % (PROG, last_rx - lost), flush=True)
                    lost = False
                print('%8.1f s  %s' % (last_rx - t0, fmt_status(d)), flush=True)
                if a.count and n >= a.count:
                    break
            now = time.monotonic()
            if not lost and now - last_rx > max(3.0, 3 * a.period_ms / 1000.0):
                lost = last_rx
                print('%s: LINK LOST: no telemetry for %.1f s (the pump carries on with its '
                      'confirmed program)' % (PROG, now - last_rx), file=sys.stderr, flush=True)
            if now - last_keep > 3.0:   # keep-alive: re-arms the stream, proves the host is there
                last_keep = now
                try:
                    c.telemetry(a.period_ms)
                except LinkError:
                    pass
    finally:
        try:
            c.telemetry(0)
        except LinkError:
            pass
    return 0 if n else 1


def cmd_log(c, a):
    for seq, t, ev, x, y, ok in c.journal(a.start):
        name = EVENT_NAMES.get(ev, 'event_%d' % ev)
        detail = ''
        if ev == 3:
            detail = ' %s at %.1f mmHg' % (_alarm(x), y / 10.0)
        elif ev == 22:
            from protocol.describe import nak_name
            from protocol.messages import name
            detail = ' %s refused: %s (counter %d)' % (name(x & 0xFF), nak_name(x >> 8), y)
        print('%6d %8d s  %-12s a=%d b=%d%s%s' % (seq, t, name, x, y, detail,
                                                  '' if ok else '  (CRC BAD)'))


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


def build_parser():
    ap = _Parser(prog=PROG, description=__doc__,
                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--port', required=True, help='pyserial URL or device path')
    kg = ap.add_mutually_exclusive_group()
    kg.add_argument('--key-file', help='32-byte key (raw or 64 hex digits); counter in KEY_FILE.counter')
    kg.add_argument('--test-key', action='store_true', help='the public test key (simulator only)')
    ap.add_argument('--timeout', type=_positive(float, 0.01, 60), default=0.5,
                    help='seconds to wait for a reply before a retry (default 0.5)')
    ap.add_argument('--retries', type=_positive(int, 0, 20), default=3)
    sub = ap.add_subparsers(dest='cmd', required=True, parser_class=_Parser)
    sub.add_parser('info', help='device info').set_defaults(func=cmd_info)
    sub.add_parser('status', help='one status line').set_defaults(func=cmd_status)
    p = sub.add_parser('load', help='send a program YAML; prints the pump review')
    p.add_argument('program')
    p.set_defaults(func=cmd_load)
    sub.add_parser('review', help='show the loaded program as the pump parsed it').set_defaults(func=cmd_review)
    p = sub.add_parser('confirm', help='confirm the reviewed program (optionally check its hash)')
    p.add_argument('hash', nargs='?')
    p.set_defaults(func=cmd_confirm)
    for name in ('start', 'pause', 'resume', 'stop'):
        sub.add_parser(name).set_defaults(func=_simple(name, name))
    p = sub.add_parser('ack', help='acknowledge alarms (all, or CODE)')
    p.add_argument('code', nargs='?', type=_positive(int, 0, 0xFFFF), default=0)
    p.set_defaults(func=cmd_ack)
    p = sub.add_parser('audio-pause', help='silence alarms for SECONDS (1..120)')
    p.add_argument('seconds', type=_positive(int, 1, 120))
    p.set_defaults(func=cmd_audio_pause)
    p = sub.add_parser('monitor', help='live telemetry')
    p.add_argument('--period-ms', type=_positive(int, 100, 60000), default=1000)
    p.add_argument('--count', type=_positive(int, 0, 10 ** 9), default=0)
    p.add_argument('--duration', type=_positive(float, 0, 10 ** 7), default=0)
    p.set_defaults(func=cmd_monitor)
    p = sub.add_parser('log', help='download the journal')
    p.add_argument('--from', dest='start', type=_positive(int, 0, 0xFFFFFFFF), default=0)
    p.set_defaults(func=cmd_log)
    p = sub.add_parser('dashboard', help='live dashboard in the browser (127.0.0.1), with the '
                       'device commands (signed with the key)')
    from pumphost.dashboard.server import add_arguments
    add_arguments(p)
    p.set_defaults(func=cmd_dashboard)
    p = sub.add_parser('ping', help='measure the STATUS round trip')
    p.add_argument('--count', type=_positive(int, 1, 100000), default=100)
    p.set_defaults(func=cmd_ping)
    return ap


def main(argv=None):
    try:
        a = build_parser().parse_args(argv)
    except SystemExit as e:   # argparse already printed one line (or --help)
        return e.code
    key = counter_file = None
    try:
        if a.key_file:
            try:
                key = read_key_file(a.key_file)
            except OSError as e:
                raise UsageError('--key-file=%s: %s' % (a.key_file, e.strerror))
            except ValueError as e:
                raise UsageError('--key-file: %s' % e)
            counter_file = a.key_file + '.counter'
        elif a.test_key:
            key = TEST_KEY
            counter_file = os.path.join(os.path.expanduser('~'), '.pumpctl-test.counter')
        if a.cmd == 'load':   # check the file before touching the link
            load_program_file(a.program)
        try:
            client = PumpClient(a.port, key=key, counter_file=counter_file,
                                timeout=a.timeout, retries=a.retries)
        except Exception as e:  # pyserial raises SerialException / OSError / ValueError
            print('%s: --port=%s: cannot open (%s)' % (PROG, a.port, e), file=sys.stderr)
            return 1
        with client:
            r = a.func(client, a)
        return r or 0
    except UsageError as e:
        print('%s: %s' % (PROG, e), file=sys.stderr)
        return 2
    except LinkError as e:
        print('%s: %s' % (PROG, e), file=sys.stderr)
        return 1
    except C.ProtocolError as e:
        print('%s: %s' % (PROG, e), file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == '__main__':
    sys.exit(main())
