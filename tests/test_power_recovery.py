"""Power cuts in the lockstep simulation: property test over cut instants,
torn writes, the runner's power faults and the bench's output."""
import json

from hypothesis import given, settings, strategies as st, HealthCheck

from firmware.table import DELIVERING
from simulator.runtime.sim_hal import SimStorage, PowerLoss
from simulator.plant import faults
from simulator.benches.power import _scenario, tolerance
from simulator.runtime.inproc import Simulation
from pumphost.codes import A_POWER_INTERRUPTED

PUMP = 'bd-plastipak-50'


def _sim(rate_ml_h, seed=1):
    sim = Simulation(_scenario(PUMP, rate_ml_h, seed), seed=seed)
    sim.boot()
    return sim


def _tol(sim):
    return tolerance(sim, sim.pump)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rate=st.sampled_from([0.5, 1.77, 30.0]),
       at_s=st.floats(min_value=1.0, max_value=1500.0),
       torn=st.one_of(st.none(), st.floats(min_value=0.0, max_value=0.99)))
def test_any_cut_recovers_stopped_with_delivered_known(rate, at_s, torn):
    sim = _sim(rate)
    sim.step(int(at_s * 10))
    old = sim.pump
    if torn is None:
        sim.power_cycle(0.0)
    else:
        sim.hal.storage.cut_at_next_write = torn
        for _ in range(600):
            old = sim.pump
            sim.step(1)
            if sim.power_cuts:
                break
        if not sim.power_cuts:
            old = sim.pump
            sim.power_cycle(0.0)
    sim._ev_i = len(sim._events)            # the scenario's pause is not for the rebooted pump
    ram_delivered = old.course.delivered_nl
    emitted = sim.plant.position_steps
    sim.step(1)                              # POST
    p = sim.pump
    tol_steps, tol_nl = tolerance(sim, old)
    assert p.state_name() == 'ALARM'
    assert p.alarms.active[A_POWER_INTERRUPTED]
    assert p.program_digest == old.program_digest
    assert abs(p.course.delivered_nl - ram_delivered) <= tol_nl
    assert abs(p.course.steps_commanded - old.course.steps_commanded) <= tol_steps
    # the motor emitted what NV says, but for the tick in flight at the cut
    # and, after a pause, the tick the pause stopped (counted, not emitted)
    assert abs(p.course.steps_commanded - emitted) <= 2 * tol_steps
    pos = sim.plant.position_steps
    sim.step(1200)                           # 2 min: no self-resume
    assert p.state_name() == 'ALARM' and sim.plant.position_steps == pos
    assert not sim.hal.motor.pending
    assert p.acknowledge() == 0 and p.state_name() == 'PAUSED'
    assert p.resume() == 0
    dn = p.course.delivered_nl
    sim.step(300)
    assert p.fsm.state in DELIVERING
    # the course goes on: the motor moves, or the start-up fill's overshoot
    # is repaid (counted as delivered without moving)
    assert sim.plant.position_steps > pos or p.course.delivered_nl > dn


def test_recovered_course_completes_within_one_tick_of_an_uncut_one():
    ref = _sim(30.0)
    ref.step(200000, until=lambda s: s.pump.state_name() == 'COMPLETE')
    assert ref.pump.state_name() == 'COMPLETE'
    sim = _sim(30.0)
    sim.step(9000)
    sim.power_cycle(5.0)
    sim.step(50)
    assert sim.pump.acknowledge() == 0 and sim.pump.resume() == 0
    sim.step(200000, until=lambda s: s.pump.state_name() == 'COMPLETE')
    assert sim.pump.state_name() == 'COMPLETE'
    tol_steps, _ = _tol(sim)
    assert abs(sim.plant.position_steps - ref.plant.position_steps) <= tol_steps
    assert sim.pump.course.delivered_nl == ref.pump.course.delivered_nl


def test_sim_storage_tears_the_next_write_and_raises():
    st_ = SimStorage(64)
    st_.cut_at_next_write = 0.5
    try:
        st_.write(8, bytes(range(1, 11)))
        raise AssertionError('no PowerLoss')
    except PowerLoss:
        pass
    assert st_.mem[8:13] == bytes(range(1, 6)) and st_.mem[13:18] == b'\xff' * 5
    st_.write(8, b'\x01')          # the cut is one-shot
    assert st_.torn_writes == [(8, 5, 10)]


def test_power_faults_from_the_runner():
    sim = _sim(1.77)
    sim.step(3000)
    sim.apply('inject', 'power_loss', {'off_s': 2.0})
    assert sim.power_cuts == 1
    sim.step(1)
    assert sim.pump.state_name() == 'ALARM'
    sim.apply('command', 'ack')
    sim.apply('command', 'resume')
    sim.step(100)
    assert sim.pump.state_name() == 'RUNNING'
    sim.apply('inject', 'power_loss_at_next_write', {'fraction': 0.3})
    sim.step(100)
    assert sim.power_cuts == 2 and len(sim.hal.storage.torn_writes) == 1
    assert sim.pump.state_name() == 'ALARM'
    try:
        faults.inject(sim.plant, 'power_loss')
        raise AssertionError('plant-level inject of a power fault accepted')
    except faults.FaultError:
        pass


def test_bench_power_small(tmp_path):
    from simulator.ui.cli import main
    rc = main(['bench', 'power', '--pump', PUMP, '--rate', '30', '--cuts', '12',
               '--seed', '3', '--out', str(tmp_path)])
    res = json.loads((tmp_path / 'power.json').read_text())
    assert rc == 0 and res['ok'] == 12 and res['failed'] == 0
    assert res['worst_delivered_error_nl'] <= res['tolerance_nl']
    assert res['worst_steps_error'] <= res['tolerance_steps']
    assert set(res['kinds']) <= {'instant', 'torn'}
