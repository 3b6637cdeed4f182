"""Programs, dose units, drug library and regimen templates (host side)."""
import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import pytest
from hypothesis import given, settings as hsettings, strategies as st, HealthCheck

from firmware.druglib import LIB
from firmware.program import Program, ramp_parts, ramp_sub
from firmware.settings import Settings
from firmware.limits import ramp_volume_nl
from firmware.dose_limits import walk
from pumphost.config import units
from pumphost.config.drugs import load_library
from pumphost.config.programs import compile_template
from pumphost.config.schema import ConfigError
from pumphost.codes import FLAG_OVERRIDE, FLAG_STOP_ON_LINK_LOSS, K_BOLUS, K_CONTINUOUS, K_CYCLE, K_KVO, K_PAUSE, K_RAMP, K_SYRINGE

ROOT = Path(__file__).resolve().parent.parent
SETTINGS = Settings()
DAY_S = 86400


# ------------------------------------------------------------ library
def test_device_library_matches_the_yaml():
    r = subprocess.run([sys.executable, str(ROOT / 'tools' / 'gen_druglib.py'), '--check'],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
    lib = load_library()
    rows = {d.id: d.library_row() for d in lib.values()}
    assert rows == {e[0]: tuple(e) for e in LIB}
    assert {'floxuridine', 'fudr', 'fluorouracil', 'oxaliplatin', 'leucovorin', 'heparin',
            'saline'} <= set(lib)
    fudr = lib['fudr']
    assert fudr.device_limits()[4] == 10000000 and fudr.device_limits()[5] == 90000   # 10 mL/h, 90 mg/day


# ------------------------------------------------------------ units
@pytest.mark.parametrize('text,kind,value', [
    ('0.3 mg/kg/day', 'dose_per_kg_day', 0.3 / 24), ('2400 mg/m2', 'dose_per_m2', 2400),
    ('5 mg/mL', 'concentration', 5), ('100 U/mL', 'concentration', 100), ('46 h', 'duration', 46),
    ('14 d', 'duration', 336), ('1.77 mL/h', 'rate', 1.77), ('250 uL', 'volume', 0.25)])
def test_units_parse(text, kind, value):
    assert units.quantity(text, kind)[0] == pytest.approx(value)


@pytest.mark.parametrize('text,kind,words', [
    ('0.3', 'dose_per_kg_day', 'no unit'), (0.3, 'dose_per_kg_day', 'no unit'),
    ('0.3 mL/kg/day', 'dose_per_kg_day', 'mg and mL mixed up'),
    ('5 mg/h', 'rate', 'mg and mL mixed up'), ('5 mg/furlong', 'concentration', 'unknown unit'),
    ('5 mL/mL', 'concentration', 'mg and mL mixed up')])
def test_units_refuse(text, kind, words):
    with pytest.raises(units.UnitError) as e:
        units.quantity(text, kind)
    assert words in str(e.value) and '\n' not in str(e.value)


def write(tmp_path, text, name='t.yaml'):
    p = tmp_path / name
    p.write_text(text)
    return str(p)


@pytest.mark.parametrize('step,words', [
    ('{drug: floxuridine, concentration: 5 mg/mL, dose: 0.3, duration: 1 d}', 'steps[0].dose'),
    ('{drug: floxuridine, concentration: 5 mg/mL, dose: 0.3 mL/kg/day, duration: 1 d}', 'mixed up'),
    ('{drug: floxuridine, concentration: 5 mL, dose: 0.3 mg/kg/day, duration: 1 d}', 'steps[0].concentration'),
    ('{drug: aspirin, concentration: 5 mg/mL, dose: 1 mg, duration: 1 h}', 'unknown drug'),
    ('{drug: heparin, concentration: 10 U/mL, dose: 5 mg, duration: 1 h}', 'dosed in U'),
    ('{drug: floxuridine, concentration: 5 mg/mL, dose: 0.9 mg/kg/day, duration: 1 d}', 'hard limit'),
    ('{drug: floxuridine, concentration: 5 mg/mL, dose: 0.5 mg/kg/day, duration: 1 d}', 'soft limit'),
    ('{drug: floxuridine, concentration: 5 mg/mL, rate: 12 mL/h, duration: 1 h}', 'hard limit rate'),
    ('{drug: oxaliplatin, concentration: 5 mg/mL, dose: 140 mg/m2, duration: 2 h}', 'hard limit'),
    ('{drug: floxuridine, concentration: 5 mg/mL, dose: 0.3 mg/kg/day}', 'steps[0].duration'),
])
def test_bad_templates_are_refused_with_one_line(tmp_path, step, words):
    path = write(tmp_path, 'name: t\nsteps:\n  - %s\n' % step)
    with pytest.raises(ConfigError) as e:
        compile_template(path, {'weight_kg': 70, 'bsa_m2': 1.7})
    msg = str(e.value)
    assert words in msg and 't.yaml' in msg and '\n' not in msg, msg


def test_soft_limit_override_is_carried_in_the_program(tmp_path):
    path = write(tmp_path, 'name: t\noverride_soft_limits: true\nsteps:\n'
                 '  - {drug: floxuridine, concentration: 5 mg/mL, dose: 0.5 mg/kg/day, duration: 1 d}\n')
    c = compile_template(path, {'weight_kg': 70})
    assert c.program.flags == FLAG_OVERRIDE and c.program.soft is not None



def test_on_link_loss_stop_sets_the_program_flag(tmp_path):
    step = '  - {drug: floxuridine, concentration: 5 mg/mL, dose: 0.3 mg/kg/day, duration: 1 d}\n'
    stop = compile_template(write(tmp_path, 'name: t\non_link_loss: stop\nsteps:\n' + step),
                            {'weight_kg': 70})
    assert stop.program.flags == FLAG_STOP_ON_LINK_LOSS
    plain = compile_template(write(tmp_path, 'name: t\nsteps:\n' + step), {'weight_kg': 70})
    assert plain.program.flags == 0 and plain.program.digest() != stop.program.digest()
    with pytest.raises(ConfigError) as e:
        compile_template(write(tmp_path, 'name: t\non_link_loss: pause\nsteps:\n' + step),
                         {'weight_kg': 70})
    assert 'on_link_loss' in str(e.value) and 'stop' in str(e.value)


# ------------------------------------------------------------ templates
def test_fudr_template_splits_syringes_and_switches_drug():
    c = compile_template('fudr-14d', {'weight_kg': 70})
    kinds = [s[0] for s in c.program.steps]
    assert kinds == [K_CONTINUOUS, K_SYRINGE, K_CONTINUOUS, K_SYRINGE, K_CONTINUOUS, K_SYRINGE,
                     K_CONTINUOUS]
    assert c.program.steps[0][1] == 175000                # 21 mg/day at 5 mg/mL
    assert c.per_drug['floxuridine'][0] == pytest.approx(294.0)
    assert c.program.total_nl == 117600000
    assert [d[0] for d in c.program.drugs] == [1, 5]


def test_folfox_template_doses_from_bsa():
    c = compile_template('haic-folfox', {'height_cm': 170, 'weight_kg': 61.2})   # BSA 1.7
    assert c.per_drug['oxaliplatin'][0] == pytest.approx(144.5, rel=1e-3)
    assert c.per_drug['fluorouracil'][0] == pytest.approx(4760, rel=1e-3)
    assert K_BOLUS in [s[0] for s in c.program.steps] and c.program.steps[-1][0] == K_KVO
    assert c.program.steps[-1][1] <= c.program.steps[-2][1]


def test_heparin_lock_template():
    c = compile_template('heparin-lock', {})
    assert c.per_drug['heparin'][0] == pytest.approx(200) and c.program.total_nl == 2000000


def test_template_without_patient_weight_is_refused():
    with pytest.raises(ConfigError) as e:
        compile_template('fudr-14d', {})
    assert 'weight_kg' in str(e.value)


def test_pumpsim_exits_2_on_bad_template(tmp_path):
    tpl = write(tmp_path, 'name: t\nsteps:\n  - {drug: fudr, concentration: 5 mg/mL, '
                'dose: 3 mL/kg/day, duration: 1 d}\n', 'bad.yaml')
    sc = write(tmp_path, 'name: s\npump: bd-plastipak-50\nduration: 1h\npatient: {weight_kg: 70}\n'
               'program: {template: %s}\n' % tpl, 's.yaml')
    r = subprocess.run([str(ROOT / '.venv' / 'bin' / 'pumpsim'), 'run', sc, '--out', str(tmp_path / 'o')],
                       capture_output=True, text=True)
    assert r.returncode == 2 and 'Traceback' not in r.stderr
    assert 'steps[0].dose' in r.stderr and 'mixed up' in r.stderr


def test_short_fudr_course_delivers_what_was_programmed(tmp_path):
    from simulator.scenario import load_scenario
    from simulator.runtime.inproc import Simulation
    tpl = write(tmp_path, 'name: fudr-short\nsteps:\n'
                '  - {drug: floxuridine, concentration: 5 mg/mL, dose: 0.3 mg/kg/day, duration: 3 h}\n'
                '  - {drug: heparin, concentration: 10 U/mL, rate: 0.175 mL/h, duration: 2 h}\n',
                'fudr-short.yaml')
    sc = write(tmp_path, 'name: s\npump: bd-plastipak-10\nduration: 6h\npatient: {weight_kg: 70}\n'
               'program: {template: %s}\n' % tpl, 's.yaml')
    sim = Simulation(load_scenario(sc))
    out = sim.run()
    assert out['final_state'] == 'COMPLETE' and not out['motor_running']
    assert any(e['event'] == 'syringe_changed' for e in out['events'])
    step_nl = sim.pump.step_pl / 1000.0
    assert abs(sim.pump.course.delivered_nl - sim.scenario.compiled.program.total_nl) <= step_nl


# ------------------------------------------------------------ properties
def _segments(prog):
    """Exact timeline: (t0, t1, amount in milli-units, drug id, rate) as Fractions."""
    segs = []
    t = Fraction(0)
    for i, j in walk(prog.steps):
        s = prog.steps[i]
        if s[0] == K_SYRINGE:
            continue
        if s[0] == K_PAUSE:
            t += s[3]
            continue
        rate, vol = ramp_sub(s, j) if s[0] == K_RAMP else (s[1], s[2])
        d = Fraction(vol * 3600, rate)
        d_id = prog.drugs[s[5]][0] if prog.drugs else None
        amt = Fraction(vol * prog.drugs[s[5]][1], 10 ** 6) if prog.drugs else 0
        segs.append((t, t + d, amt, d_id, rate))
        t += d
    return segs


def _max_day(segs, drug_id):
    best = Fraction(0)
    for s in segs:
        for w in (s[0], s[1] - DAY_S):
            tot = Fraction(0)
            for t0, t1, a, d, _ in segs:
                if d == drug_id and t1 > t0:
                    lo, hi = max(t0, w), min(t1, w + DAY_S)
                    if hi > lo:
                        tot += a * (hi - lo) / (t1 - t0)
            best = max(best, tot)
    return best


DRUG_ROWS = st.sampled_from(LIB)


@st.composite
def programs(draw):
    rows = draw(st.lists(DRUG_ROWS, min_size=0, max_size=2, unique_by=lambda r: r[0]))
    drugs = []
    for r in rows:
        conc = draw(st.integers(r[1], r[2]) | st.integers(0, 2 * r[2]))
        drugs.append((r[0], conc) + tuple(r[3:]))
    steps = []
    slot = 0
    for i in range(draw(st.integers(1, 6))):
        kind = draw(st.sampled_from([K_CONTINUOUS, K_CONTINUOUS, K_BOLUS, K_RAMP, K_PAUSE, K_SYRINGE,
                                     K_CYCLE, K_KVO]))
        if kind == K_SYRINGE and drugs:
            slot = draw(st.integers(0, len(drugs) - 1))
        rate = draw(st.integers(10000, 160000000))
        sl = slot if drugs else 0
        if kind in (K_CONTINUOUS, K_BOLUS, K_KVO):
            steps.append((kind, rate, draw(st.integers(1, 60000000)), 0, 0, sl))
        elif kind == K_RAMP:
            s = (K_RAMP, rate, 0, draw(st.integers(60, 3 * DAY_S)), draw(st.integers(10000, 160000000)), sl)
            steps.append(s[:2] + (ramp_volume_nl(s),) + s[3:])
        elif kind == K_PAUSE:
            steps.append((K_PAUSE, 0, 0, draw(st.integers(1, 2 * DAY_S)), 0, 0))
        elif kind == K_SYRINGE:
            steps.append((K_SYRINGE, 0, 0, 0, 0, 0))
        elif i:
            steps.append((K_CYCLE, 0, 0, 0, (draw(st.integers(0, i - 1)) << 16) | draw(st.integers(1, 5)), 0))
    if not steps:
        steps.append((K_PAUSE, 0, 0, 10, 0, 0))
    return Program(steps, drugs, draw(st.sampled_from([0, FLAG_OVERRIDE])))


@hsettings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(programs())
def test_no_accepted_program_exceeds_a_hard_limit(prog):
    err = prog.validate(SETTINGS)
    if err is not None:
        assert 'not allowed' in err or 'differ' in err or 'expands' in err, err
        return
    segs = _segments(prog)
    lib = {e[0]: e for e in LIB}
    for t0, t1, a, d, rate in segs:
        assert SETTINGS.min_rate_nl_h <= rate <= SETTINGS.max_rate_nl_h
        if d is not None:
            assert rate <= lib[d][7]
    for d in {s[3] for s in segs if s[3] is not None}:
        e = lib[d]
        vol = sum(Fraction(s[4]) * (s[1] - s[0]) / 3600 for s in segs if s[3] == d)
        assert vol <= e[10]
        assert sum(s[2] for s in segs if s[3] == d) <= e[9]
        assert _max_day(segs, d) <= e[8]
        if not prog.flags & FLAG_OVERRIDE:
            assert sum(s[2] for s in segs if s[3] == d) <= e[5] and _max_day(segs, d) <= e[4]


@hsettings(max_examples=200, deadline=None)
@given(st.integers(10000, 150000000), st.integers(10000, 150000000), st.integers(60, 30 * DAY_S))
def test_ramp_sub_rates_stay_between_its_ends(r0, r1, dur):
    s = (K_RAMP, r0, 0, dur, r1, 0)
    lo, hi = min(r0, r1), max(r0, r1)
    for j in range(ramp_parts(dur)):
        assert lo <= ramp_sub(s, j)[0] <= hi


@hsettings(max_examples=200, deadline=None)
@given(st.sampled_from(['mg', 'U']), st.sampled_from(['mL', 'uL', 'L']),
       st.sampled_from(['dose_per_kg_day', 'dose_per_m2', 'amount', 'concentration']))
def test_volume_where_an_amount_belongs_is_refused(amount_unit, vol_unit, kind):
    text = {'dose_per_kg_day': '1 %s/kg/day', 'dose_per_m2': '1 %s/m2', 'amount': '1 %s',
            'concentration': '1 %s/mL'}[kind] % vol_unit
    with pytest.raises(units.UnitError) as e:
        units.quantity(text, kind)
    assert 'mixed up' in str(e.value)
