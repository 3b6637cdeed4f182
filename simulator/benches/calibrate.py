"""`pumpsim bench calibrate`: gravimetric volume-per-step and pressure sensor
zero / span calibration on the simulated pump, stored in the device's
non-volatile memory (firmware/calibration.py).

Procedure (as on a bench, the device in service mode):
  1. volume per step: the line's outlet goes to a balance at atmospheric
     pressure. Prime (take up backlash, fill and wet the line), let the line
     relax, tare; run N microsteps (whole head revolutions) at `--rate`, let
     the line relax again (30 line time constants), weigh. The device
     computes step_pl = mass / (rho N) (rho 0.998 g/mL, integers).
  2. pressure zero: the sensor open to air (0 mmHg gauge), mean of 256 reads.
  3. pressure span: a reference pressure (`--reference-mmhg`, 300) applied
     to the sensor, mean of 256 reads: counts per 100 mmHg.
  4. the device checks the figures against its nominal settings (+-10 % step
     volume, +-20 % span, +-2000 counts zero), writes the CRC-protected
     record and journals EV_CAL_STORED; at every later boot it runs on them
     (journal EV_CAL_APPLIED).

  5. the mechanism table (syringe pumps; `--no-table` to skip): 4 revolutions
     at 3 mL/h weighed every second, the line's time constant from what it
     releases after the stop, the carriage's periodic error fitted as
     harmonics of the revolution and of the electrical cycle with the line's
     lag taken out: docs/accuracy.md. Stored as its own CRC-protected record.

The plant (`--plant bench`, default: simulator/plant/mechanism.py, the unit
drawn under `--unit-seed`, default `--seed`) can be built off nominal so the
calibration has something to find:
`--volume-error-pct` (the real volume per step: syringe barrel diameter or
peristaltic tubing stroke), `--zero-offset-counts`, `--span-error-pct` (the
real sensor). The plant as built is written to DIR/pump.yaml, the device's
storage image to DIR/storage.bin, the figures to DIR/calibration.json.
With `--verify-rate R` (default 1 mL/h; 0: skip) the IEC 60601-2-24 accuracy
bench runs on DIR/pump.yaml at R, uncalibrated and calibrated, and the mean
errors are reported; the same runs by hand:
  pumpsim bench accuracy --pump DIR/pump.yaml --rate 1 --calibration DIR
The balance has `--balance-resolution-mg` (0.1) readability and the same
1-sigma repeatability; evaporation is not modelled.
"""
import json
import math
from pathlib import Path

import numpy as np
import yaml

from pumphost.config.schema import ConfigError

RHO_G_ML = 0.998
N_READS = 256


def _plant_yaml(pump_cfg, volume_error_pct, zero_offset_counts, span_error_pct):
    """The pump file for a plant off nominal by the given errors (data only)."""
    data = json.loads(json.dumps(pump_cfg.data))   # deep copy, plain types
    f = 1.0 + volume_error_pct / 100.0
    if pump_cfg.kind == 'peristaltic':
        h = data['head']
        h['true_stroke_volume_ml_per_rev'] = round(
            (h.get('true_stroke_volume_ml_per_rev') or h['stroke_volume_ml_per_rev']) * f, 9)
    else:
        s = data['syringe']
        d = s.get('true_inner_diameter_mm') or s['inner_diameter_mm']
        s['true_inner_diameter_mm'] = round(d * math.sqrt(f), 6)   # volume ~ d^2
    sen = data['sensor']
    sen['true_zero_counts'] = int((sen.get('true_zero_counts') or sen['pressure_zero_counts'])
                                  + zero_offset_counts)
    sen['true_counts_per_mmhg'] = round(
        (sen.get('true_counts_per_mmhg') or sen['pressure_counts_per_mmhg']) * (1.0 + span_error_pct / 100.0), 6)
    return {k: v for k, v in data.items() if v is not None}


def _clean(d):
    if isinstance(d, dict):
        return {k: _clean(v) for k, v in d.items() if v is not None}
    return d


class Balance:
    """Readability `res_mg`, repeatability the same (1 sigma), in grams."""

    def __init__(self, res_mg, rng):
        self.res_g = res_mg / 1000.0
        self.rng = rng

    def weigh(self, true_g):
        if self.res_g <= 0:
            return true_g
        w = true_g + self.rng.standard_normal() * self.res_g
        return round(w / self.res_g) * self.res_g


def gravimetric(plant, hal, rate_ml_h, volume_ml, tick_ms, balance):
    """Prime, tare, run whole revolutions, weigh. Returns (steps, mass_ug,
    details)."""
    motor = hal.motor
    cfg = plant.cfg
    dt = tick_ms / 1000.0
    step_nom_ul = cfg.step_ul_nominal
    rev = cfg.microsteps_per_rev
    rc_s = plant.r_base * plant.c_ul_mmhg
    settle_ticks = int(math.ceil(max(30 * rc_s, 60.0) / dt))

    def run(steps, rate_steps_s):
        acc = 0.0
        left = steps
        while left > 0:
            acc += rate_steps_s * dt
            n = min(int(acc), left)
            acc -= n
            motor.move(n, tick_ms)
            plant.advance(dt, motor.take_pending())
            left -= n

    def settle():
        for _ in range(settle_ticks):
            plant.advance(dt, 0)

    rate_steps_s = rate_ml_h * 1000.0 / 3600.0 / step_nom_ul
    motor.enable(True)
    motor.set_direction(True)
    # prime: backlash plus 50 uL, in whole revolutions
    prime = int(math.ceil((plant.backlash_steps + 50.0 / step_nom_ul) / rev)) * rev
    run(prime, rate_steps_s)
    settle()
    w0 = balance.weigh(plant.delivered_ul / 1000.0 * RHO_G_ML)
    pos0 = motor.position()
    n = max(1, int(round(volume_ml * 1000.0 / step_nom_ul / rev))) * rev
    run(n, rate_steps_s)
    settle()
    w1 = balance.weigh(plant.delivered_ul / 1000.0 * RHO_G_ML)
    steps = motor.position() - pos0
    motor.enable(False)
    mass_ug = int(round((w1 - w0) * 1e6))
    return steps, mass_ug, {'prime_steps': prime, 'tare_g': round(w0, 6), 'gross_g': round(w1, 6),
                            'settle_s': settle_ticks * dt, 'line_stored_ul_at_weighing': round(plant.stored_ul, 4)}


TABLE_RATE_ML_H = 3.0   # above the stopper's stick-slip (1.8 mL/h on a 50 mL syringe)
TABLE_REVS = 4
LEAD_IN_S = 300.0       # the line's flow settles (30 time constants of 10 s)
DECAY_S = 300.0         # after the stop: what the line still holds
SCREW_HARMONICS = 8     # per revolution, within the 32-entry table
USTEP_HARMONICS = 3     # per electrical cycle, within the 16-entry table
MAX_LAG_GAIN = 5.0      # a harmonic the line damps more than this: noise, left out


def mechanism_table(plant, hal, tick_ms, balance, rate_ml_h=TABLE_RATE_ML_H, revs=TABLE_REVS,
                    read_s=1.0, n_screw=32, n_ustep=16):
    """The lead-screw and microstep tables (firmware/delivery.Compensation),
    from the balance: run `revs` revolutions at a steady rate into the
    balance, reading it every `read_s`; stop and weigh what the line still
    releases, which gives its time constant tau (stored volume / flow).
    The weight less a straight line in the motor count is the carriage's
    periodic error as the line lets it through: fitted by least squares as
    harmonics of the revolution and of the electrical cycle, each divided
    by the line's first-order response 1 / (1 + j w tau), then sampled at
    the table's phases. Returns (rev, cycle, screw, ustep, details): tables
    in 1/256 microstep, indexed by the motor count (hal.motor.position())."""
    motor = hal.motor
    cfg = plant.cfg
    rev = cfg.microsteps_per_rev
    cyc = 4 * cfg.data['drive']['microsteps']
    dt = tick_ms / 1000.0
    rate_steps_s = rate_ml_h * 1000.0 / 3600.0 / cfg.step_ul_nominal
    per_read = max(1, int(round(read_s / dt)))
    motor.enable(True)
    motor.set_direction(True)
    lead = int(LEAD_IN_S * rate_steps_s)
    total = lead + revs * rev
    acc = 0.0
    done = 0
    k = 0
    pos, wt = [], []
    while done < total:
        acc += rate_steps_s * dt
        n = min(int(acc), total - done)
        acc -= n
        motor.move(n, tick_ms)
        plant.advance(dt, motor.take_pending())
        done += n
        k += 1
        if done > lead and k % per_read == 0:
            pos.append(motor.position())
            wt.append(balance.weigh(plant.delivered_ul / 1000.0 * RHO_G_ML))
    w_stop = balance.weigh(plant.delivered_ul / 1000.0 * RHO_G_ML)
    for _ in range(int(DECAY_S / dt)):
        plant.advance(dt, 0)
    w_end = balance.weigh(plant.delivered_ul / 1000.0 * RHO_G_ML)
    motor.enable(False)
    p = np.array(pos, dtype=float)
    y = np.array(wt) / RHO_G_ML * 1000.0          # uL
    cols = [np.ones_like(p), p - p[0]]
    freqs = []                                     # (cycles per step, screw?)
    for h in range(1, SCREW_HARMONICS + 1):
        freqs.append((h / rev, True))
    for h in range(1, USTEP_HARMONICS + 1):
        freqs.append((h / cyc, False))
    for f, _ in freqs:
        cols += [np.cos(2 * np.pi * f * p), np.sin(2 * np.pi * f * p)]
    coef, *_ = np.linalg.lstsq(np.stack(cols, axis=1), y, rcond=None)
    ul_per_step = coef[1]
    steps_s = (p[-1] - p[0]) / ((len(p) - 1) * per_read * dt)
    flow_ul_s = ul_per_step * steps_s
    tau_s = max(0.0, (w_end - w_stop) / RHO_G_ML * 1000.0 / flow_ul_s)
    screw_ph = np.arange(n_screw) * (rev // n_screw)
    ustep_ph = np.arange(n_ustep) * (cyc // n_ustep)
    e_screw = np.zeros(n_screw)
    e_ustep = np.zeros(n_ustep)
    amp = {}
    for i, (f, screw) in enumerate(freqs):
        a, b = coef[2 + 2 * i], coef[3 + 2 * i]
        gain = complex(1.0, 2 * np.pi * f * steps_s * tau_s)
        if abs(gain) > MAX_LAG_GAIN:
            continue
        z = complex(a, -b) * gain / ul_per_step   # steps
        ph = screw_ph if screw else ustep_ph
        term = (z * np.exp(2j * np.pi * f * ph)).real
        if screw:
            e_screw += term
        else:
            e_ustep += term
        amp['%s%d' % ('rev' if screw else 'cycle', round(f * (rev if screw else cyc)))] = round(abs(z), 4)
    screw_t = tuple(int(round(v * 256)) for v in e_screw)
    ustep_t = tuple(int(round(v * 256)) for v in e_ustep)
    details = {'rate_ml_h': rate_ml_h, 'revolutions': revs, 'readings': len(p), 'read_s': read_s,
               'line_tau_s': round(float(tau_s), 3), 'ul_per_step': round(ul_per_step, 7),
               'amplitude_steps': amp}
    return rev, cyc, screw_t, ustep_t, details


def calibrate(pump_name, out_dir, volume_error_pct=0.0, zero_offset_counts=0, span_error_pct=0.0,
              rate_ml_h=10.0, volume_ml=2.0, reference_mmhg=300.0, resolution_mg=0.1, seed=1,
              verify_rate=1.0, plant_kind='ideal', unit_seed=None, table=True, plot=True):
    """`plant_kind`: 'ideal', 'bench' or parameters over the bench plant's
    (simulator/plant/mechanism.py), the unit drawn under `unit_seed`
    (default `seed`); `seed` draws this run's noise. `table`: also measure
    and store the mechanism table (syringe pumps)."""
    from firmware import calibration as cal
    from firmware.boot import boot
    from firmware.settings import Settings
    from simulator.runtime.sim_hal import make_sim_hal
    from simulator.plant.arterial import ArterialPressure
    from pumphost.config.pumps import load_pump
    from simulator.plant import make_plant

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    nominal = load_pump(pump_name)
    plant_file = out / 'pump.yaml'
    plant_file.write_text(
        '# %s as built for `pumpsim bench calibrate` (true_* = the real plant, off nominal)\n'
        % nominal.name + yaml.safe_dump(_clean(_plant_yaml(nominal, volume_error_pct, zero_offset_counts,
                                                            span_error_pct)), sort_keys=False))
    cfg = load_pump(plant_file)
    settings = Settings(**cfg.firmware_settings())
    if settings.validate():
        raise ConfigError('%s: %s' % (plant_file, settings.validate()))
    rng = np.random.default_rng(seed)
    # balance at atmospheric pressure: no artery at the outlet
    plant = make_plant(cfg, ArterialPressure(0.0, 0.0, 60.0), seed=seed, mechanism=plant_kind,
                       unit_seed=unit_seed)
    hal = make_sim_hal(plant)
    tick_ms = settings.tick_ms

    steps, mass_ug, grav = gravimetric(plant, hal, rate_ml_h, volume_ml, tick_ms, Balance(resolution_mg, rng))
    step_pl = cal.step_pl_from_mass(steps, mass_ug)
    tab = None
    if table and cfg.kind == 'syringe':
        tab = mechanism_table(plant, hal, tick_ms, Balance(resolution_mg, rng))
    plant.reference_mmhg = 0.0               # open to air
    zero = cal.mean_raw(hal.pressure, N_READS)
    plant.reference_mmhg = reference_mmhg    # reference applied
    ref = cal.mean_raw(hal.pressure, N_READS)
    plant.reference_mmhg = None
    span = cal.span_from(zero, ref, int(round(reference_mmhg * 10)))

    # the device boots (POST) and stores the record through its own code
    pump, loop, _cal = boot(hal, settings)   # nothing stored yet: nominal figures
    hal.clock.advance(tick_ms)
    loop.poll()
    seq, err = cal.store(hal.storage, pump.journal, pump.uptime_s, settings, step_pl, zero, span,
                         cal.F_STEP | cal.F_PRESSURE, steps, mass_ug)
    table_report = None
    if tab is not None and err is None:
        tseq, err = cal.store_table(hal.storage, pump.journal, pump.uptime_s, *tab[:4])
        table_report = dict(tab[4], record_seq=tseq, rev=tab[0], cycle=tab[1], screw=list(tab[2]),
                            microstep=list(tab[3]))
    true_pl = cfg.step_ul_true * 1e6
    sen = cfg.data['sensor']
    report = {
        'bench': 'calibration (gravimetric volume per step, pressure zero and span)',
        'pump': nominal.name,
        'kind': cfg.kind,
        'plant_file': str(plant_file),
        'seed': seed,
        'stored': err is None,
        'refused': err,
        'record_seq': seq,
        'gravimetric': dict(grav, rate_ml_h=rate_ml_h, steps=steps, mass_ug=mass_ug,
                            balance_resolution_mg=resolution_mg),
        'step_pl': {'nominal': cfg.step_pl, 'true': round(true_pl, 1), 'measured': step_pl,
                    'nominal_error_pct': round(100.0 * (cfg.step_pl - true_pl) / true_pl, 3),
                    'measured_error_pct': round(100.0 * (step_pl - true_pl) / true_pl, 3)},
        'pressure_zero_counts': {'nominal': sen['pressure_zero_counts'], 'true': plant.zero_counts,
                                 'measured': zero},
        'pressure_span_counts_per_100mmhg': {
            'nominal': settings.pressure_span_counts_per_100mmhg,
            'true': round(plant.counts_per_mmhg * 100, 2), 'measured': span,
            'reference_mmhg': reference_mmhg},
        'journal': [list(r) for r in pump.journal.records()],
        'plant': plant_kind if isinstance(plant_kind, str) else 'bench+',
        'unit_seed': seed if unit_seed is None else unit_seed,
        'mechanism_table': table_report,
    }
    if err is None:
        (out / 'storage.bin').write_bytes(bytes(hal.storage.mem))
    if err is None and verify_rate:
        from simulator.benches.accuracy import run_one
        image = bytes(hal.storage.mem)
        ver = {'rate_ml_h': verify_rate}
        for label, img in (('uncalibrated', None), ('calibrated', image)):
            res, _ = run_one(str(plant_file), verify_rate, True, storage_image=img, seed=seed,
                             plant=plant_kind, unit_seed=unit_seed)
            ver[label] = {'mean_error_pct': res['mean_error_pct'], 'step_pl': res['step_pl'],
                          'calibration_seq': res['calibration_seq'],
                          'ep2_max_pct': res['windows'][0]['ep_max_pct'],
                          'ep2_min_pct': res['windows'][0]['ep_min_pct'],
                          'alarms': res['alarms']}
        report['verify'] = ver
    (out / 'calibration.json').write_text(json.dumps(report, indent=2) + '\n')
    if plot:
        from simulator.benches.plots import plot_calibration
        plot_calibration(out / 'calibration.png', report)
    return report


def human(r):
    s = r['step_pl']
    z = r['pressure_zero_counts']
    p = r['pressure_span_counts_per_100mmhg']
    g = r['gravimetric']
    lines = ['pump %s (%s), plant %s, seed %d' % (r['pump'], r['kind'], r['plant_file'], r['seed']),
             'gravimetric  %d steps at %g mL/h, %d ug weighed (balance %g mg)' % (
                 g['steps'], g['rate_ml_h'], g['mass_ug'], g['balance_resolution_mg']),
             'step_pl      nominal %d, true %.1f, measured %d pL  (nominal %+.3f %%, measured %+.3f %%)' % (
                 s['nominal'], s['true'], s['measured'], s['nominal_error_pct'], s['measured_error_pct']),
             'zero         nominal %d, true %d, measured %d counts' % (z['nominal'], z['true'], z['measured']),
             'span         nominal %d, true %.1f, measured %d counts/100 mmHg (reference %g mmHg)' % (
                 p['nominal'], p['true'], p['measured'], p['reference_mmhg'])]
    t = r.get('mechanism_table')
    if t:
        a = t['amplitude_steps']
        lines.append('table        %d revolutions at %g mL/h, line tau %.1f s: lead screw %.2f, microstep %s '
                     'microsteps (first harmonics); %d + %d entries, record seq %s' % (
                         t['revolutions'], t['rate_ml_h'], t['line_tau_s'], a.get('rev1', 0),
                         '%.3f' % a['cycle1'] if 'cycle1' in a else 'not measured', len(t['screw']),
                         len(t['microstep']), t['record_seq']))
    if r['stored']:
        lines.append('stored       record seq %d in the device storage (journal: calibration_stored)'
                     % r['record_seq'])
    else:
        lines.append('REFUSED      %s' % r['refused'])
    v = r.get('verify')
    if v:
        for label in ('uncalibrated', 'calibrated'):
            x = v[label]
            lines.append('accuracy     %-12s %g mL/h: A = %+.3f %%, Ep2 %+.2f/%+.2f %%, step_pl %d%s' % (
                label, v['rate_ml_h'], x['mean_error_pct'], x['ep2_max_pct'], x['ep2_min_pct'],
                x['step_pl'], ('  alarms: ' + ', '.join(x['alarms'])) if x['alarms'] else ''))
    return '\n'.join(lines)


def cmd_calibrate(a):
    if not 0 < a.rate <= 200:
        raise ConfigError('--rate=%g: allowed 0..200 mL/h' % a.rate)
    if not 0.05 <= a.volume <= 20:
        raise ConfigError('--volume=%g: allowed 0.05..20 mL' % a.volume)
    if not 10 <= a.reference_mmhg <= 700:
        raise ConfigError('--reference-mmhg=%g: allowed 10..700' % a.reference_mmhg)
    if not -20 <= a.volume_error_pct <= 20 or not -50 <= a.span_error_pct <= 50:
        raise ConfigError('--volume-error-pct allowed -20..20, --span-error-pct -50..50')
    if a.balance_resolution_mg < 0:
        raise ConfigError('--balance-resolution-mg=%g: must be >= 0' % a.balance_resolution_mg)
    r = calibrate(a.pump, a.out, a.volume_error_pct, a.zero_offset_counts, a.span_error_pct, a.rate,
                  a.volume, a.reference_mmhg, a.balance_resolution_mg, a.seed, a.verify_rate, a.plant,
                  a.unit_seed, not a.no_table)
    print(human(r))
    print('written      %s/calibration.json, calibration.png, pump.yaml%s' % (
        a.out, ', storage.bin' if r['stored'] else ''))
    return 0 if r['stored'] else 1


def register(bench):
    p = bench.add_parser('calibrate', help='gravimetric step volume and pressure zero/span, stored in the device',
                         description=__doc__.split('\n\n')[0])
    p.add_argument('--pump', default='bd-plastipak-50', help='configs/pumps name or a YAML path')
    p.add_argument('--out', default='out/bench-calibrate', help='output directory')
    p.add_argument('--volume-error-pct', type=float, default=0.0,
                   help='plant: real volume per step off nominal by this (barrel or tubing tolerance)')
    p.add_argument('--zero-offset-counts', type=int, default=0, help='plant: real sensor zero offset')
    p.add_argument('--span-error-pct', type=float, default=0.0, help='plant: real sensor gain error')
    p.add_argument('--rate', type=float, default=10.0, help='gravimetric run rate, mL/h (default 10)')
    p.add_argument('--volume', type=float, default=2.0, help='gravimetric run volume, mL (default 2)')
    p.add_argument('--reference-mmhg', type=float, default=300.0, help='span reference pressure (default 300)')
    p.add_argument('--balance-resolution-mg', type=float, default=0.1)
    p.add_argument('--seed', type=int, default=1)
    p.add_argument('--plant', choices=('bench', 'ideal'), default='bench',
                   help='bench (default): the mechanism\'s errors (simulator/plant/mechanism.py); ideal')
    p.add_argument('--unit-seed', type=int, default=None,
                   help='the unit (its screw and microstep phases) when not --seed')
    p.add_argument('--no-table', action='store_true',
                   help='do not measure the lead-screw and microstep table (docs/accuracy.md)')
    p.add_argument('--verify-rate', type=float, default=1.0,
                   help='run the accuracy bench at this rate before/after (mL/h; 0: skip)')
    p.set_defaults(func=cmd_calibrate)
