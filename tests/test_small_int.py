"""Every integer the control path computes stays a small int on a 32-bit
board (|v| < 2**30): a larger one, even an intermediate, is a long on the
heap, a MemoryError under heap_lock (tools/small_int_audit.py instruments
every arithmetic expression of the device packages and records its largest
magnitude).

The course's extremes: 150 mL/h, a 50 mL syringe, 14 days; the clock crosses
its 2**30 wrap (the fake HAL's clock starts just before it). Quantities that
grow with time are projected from two run lengths to 14 days. The same run
inside the 32-bit image under heap_lock is tests/test_image.py.
"""
import pytest

from pumphost.devicebuild import device_modules
from tools.small_int_audit import SMALL_MAX, SmallIntAudit, frozen_longs

DAY_TICKS = 864000          # 100 ms ticks
COURSE_DAYS = 14


def _running(steps, travel_um=200000):
    """Booted fake-HAL pump running `steps`, from the audited modules."""
    from hal.fake import make_fake_hal
    from firmware.pump import Pump
    from firmware.loop import Loop
    from firmware.settings import Settings
    from firmware.program import Program
    hal = make_fake_hal(storage_size=8192)
    hal.pressure.travel_um = travel_um
    pump = Pump(hal, Settings())
    loop = Loop(pump, hal.clock)
    hal.clock.advance(100)
    loop.poll()
    prog = Program(steps)
    assert pump.load(prog) == 0, pump.last_error
    assert pump.confirm(prog.digest()) == 0
    assert pump.start() == 0
    return hal, pump, loop


def _ticks(hal, loop, n):
    for _ in range(n):
        hal.clock.advance(100)
        loop.poll()


def _projected_peaks(audit, hal, loop):
    """Every audited line's peak after 1 h and after 2 h of ticks, projected
    linearly to the whole course: {site: magnitude}."""
    audit.reset()                      # load-time checks may allocate; the ticks may not
    hour = DAY_TICKS // 24
    _ticks(hal, loop, hour)
    p1 = audit.peaks()
    _ticks(hal, loop, hour)
    p2 = audit.peaks()
    hours_left = COURSE_DAYS * 24 - 2
    return {k: v + max(0, v - p1.get(k, 0)) * hours_left for k, v in p2.items()}


def test_steady_ticks_across_the_clock_wrap_stay_small():
    """The in-image heap_lock run's course: 1.77 mL/h, 12,000 ticks across the wrap."""
    audit = SmallIntAudit()
    with audit:
        hal, pump, loop = _running([(1, 1773913, 40000000)])
        audit.reset()                  # load-time checks may allocate; the ticks may not
        start = hal.clock.now
        _ticks(hal, loop, 12000)
        assert hal.clock.now < start   # wrapped
        assert pump.state_name() == 'RUNNING'
    assert audit.checks > 100000
    assert audit.overflows() == {}


def test_fastest_rate_whole_syringe_with_a_rate_change_stays_small():
    """150 mL/h then 100 mL/h, 50 mL: the rate changes inside a tick (step
    boundary: the scheduler's fraction and the step target are recomputed)."""
    audit = SmallIntAudit()
    with audit:
        hal, pump, loop = _running([(1, 150000000, 25000000), (1, 100000000, 25000000)])
        audit.reset()
        _ticks(hal, loop, 6000 + 9000 + 200)
        assert pump.course.index == 1 or pump.state_name() != 'RUNNING'
        assert pump.course.delivered_nl > 49000000, (pump.course.delivered_nl, pump.state_name())
    assert audit.overflows() == {}


def test_fourteen_day_course_projected_stays_small():
    """50 mL over 14 days: every line's peak after 1 h and after 2 h of
    ticks, projected linearly to 14 days, stays below 2**30."""
    audit = SmallIntAudit()
    with audit:
        hal, pump, loop = _running([(1, 50000000 * 1000 // (COURSE_DAYS * 24000),
                                     50000000)])
        projected = _projected_peaks(audit, hal, loop)
        assert pump.state_name() == 'RUNNING'
    over = {k: v for k, v in projected.items() if v > SMALL_MAX}
    assert over == {}
    assert max(projected.values()) > 0


def test_the_audit_sees_a_long_intermediate():
    """The audit itself: the old step-target arithmetic (cum_nl * 1000 for
    50 mL is 5e10) is caught."""
    import ast
    from tools.small_int_audit import _Rewrite, CHECK
    sites = []
    tree = ast.fix_missing_locations(_Rewrite(sites, 'x.py').visit(
        ast.parse('def f(cum_nl, step_pl):\n    return cum_nl * 1000 // step_pl\n')))
    seen = []
    ns = {CHECK: lambda v, s: seen.append(v) or v}
    exec(compile(tree, 'x.py', 'exec'), ns)
    assert ns['f'](50000000, 217070) == 50000000 * 1000 // 217070
    assert max(seen) == 50000000000 > SMALL_MAX


@pytest.mark.parametrize('a,b,c', [(0, 0, 1), (5, 0, 3), (0, 7, 3), (2**30 - 1, 1, 1),
                                   (50000000, 1000, 217070), (1073741823, 100, 1072800000),
                                   (999000000, 100, 781452000)])
def test_muldiv_is_exact(a, b, c):
    from firmware.delivery import muldiv
    assert muldiv(a, b, c) == a * b // c
    assert muldiv(a, b, c, True) == a * b % c


# Constant tuples whose ints a frozen image keeps as long objects, each with
# why its use does not allocate in the tick.
FROZEN_LONGS_OUTSIDE_THE_TICK = {
    'firmware/druglib.py',     # the drug library: read by load-time checks only
    'protocol/catalogue.py',   # message field ranges: the codec checks frames, not the tick
    'firmware/settings.py',    # FIELDS: Settings copies each value to a small int (`v + 0`)
}


def test_no_constant_tuple_holds_a_long_in_the_tick():
    """The alarm patterns were such a tuple (the high-priority burst mask,
    the repeat periods): now bytes and periods in slots."""
    found = frozen_longs(device_modules())
    assert {k.split(':')[0] for k in found} <= FROZEN_LONGS_OUTSIDE_THE_TICK, found


def test_frozen_longs_sees_a_tuple_of_big_ints(tmp_path):
    p = tmp_path / 'probe.py'
    p.write_text('A = (0, 3, 819, 42632469)\nB = (1, 8191, -8192)\nC = 42632469\n')
    assert frozen_longs([p], root=tmp_path) == {'probe.py:1': [42632469]}


def test_an_alarm_annunciated_for_fourteen_days_projected_stays_small():
    """An alarm nobody answers: the indicator and buzzer phase runs every tick
    for as long as the alarm stands (days, on an unattended bench). Its peaks
    after 1 h and 2 h, projected to 14 days, stay below 2**30."""
    audit = SmallIntAudit()
    with audit:
        hal, pump, loop = _running([(1, 1773913, 40000000)])
        pump.raise_alarm(8)            # infusion complete: medium, escalates to high
        projected = _projected_peaks(audit, hal, loop)
        assert pump.alarms.n_active == 1    # still standing, annunciated every tick
    assert {k: v for k, v in projected.items() if v > SMALL_MAX} == {}
