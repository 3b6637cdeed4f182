"""The paced UART model (simulator/runtime/sim_hal.py SimSerial) and the telemetry
target measured on it in simulated time (simulator/benches/link.py)."""
import io
import time

from simulator.runtime.sim_hal import SimSerial
from simulator.benches.link import telemetry_paced
from simulator.ui.serve import Server, LinkFaults
from simulator.scenario import load_scenario


def test_paced_serial_accepts_at_most_the_line_rate_plus_its_buffer():
    now = [0]
    s = SimSerial(baud=115200, now_ms=lambda: now[0], tx_buffer=256)
    assert s.write(b'x' * 1000) == 256            # a full buffer: the rest refused
    assert s.write(b'y') == 0
    now[0] = 10                                   # 10 ms drain 115.2 bytes
    assert s.write(b'z' * 1000) == 115
    total = 256 + 115
    for _ in range(1000):                         # 1 s more, offered far more than fits
        now[0] += 1
        total += s.write(b'w' * 64)
    assert total <= 256 + 11520 * 1010 // 1000 + 1
    assert total >= 11520 * 1010 // 1000 - 64
    assert bytes(s.from_device[:257]) == b'x' * 256 + b'z'
    unpaced = SimSerial()
    assert unpaced.write(b'a' * 5000) == 5000


def test_telemetry_flat_out_uses_the_line_without_loss():
    r = telemetry_paced(3.0)
    assert r['line_utilisation'] >= 0.9, r
    assert r['seq_gaps'] == 0 and r['decoder_errors'] == 0, r
    assert r['replies_wrong_or_unexpected'] == 0 and r['status_replies'] >= 4, r
    assert r['telemetry_frames'] > 300 and r['meets_target'], r
    assert r['state'] == 'RUNNING'


def test_a_small_buffer_polled_slowly_cannot_fill_the_line_but_loses_nothing():
    r = telemetry_paced(2.0, poll_ms=10, tx_buffer=64)
    assert r['line_utilisation'] < 0.9 and not r['meets_target']
    assert r['seq_gaps'] == 0 and r['decoder_errors'] == 0


def test_serve_paced_serial_backpressures_the_device():
    """serve --baud: the device's writes are taken only as fast as the line
    drains (baud/10 bytes per second after a 1 KB buffer); the rest is
    refused, so the firmware sees the backpressure a board's UART gives."""
    class NullTransport:
        dropped_tx = 0

        def fds(self):
            return []

        def readable(self, ready):
            return b''

        def write(self, data):
            pass
    # the paced UART's clock starts inside Server(): measure from before it,
    # so the allowance below covers all the time the line had to drain
    t0 = time.monotonic()
    srv = Server(load_scenario('demo'), NullTransport(), speed=1.0, link_faults=LinkFaults(),
                 out=io.StringIO(), baud=115200)
    s = srv.serial
    assert srv.link.serial is s
    first = s.write(b'x' * 5000)
    assert first == 1024, 'an empty UART takes its buffer, no more'
    total = first
    for _ in range(200):
        total += s.write(b'y' * 100)
    elapsed_ms = (time.monotonic() - t0) * 1000.0
    # whatever the machine's speed: no more than the buffer plus the line rate
    assert total <= 1024 + 11520 * elapsed_ms / 1000.0 + 1, (total, elapsed_ms)
    assert s.offered == 25000 and s.accepted == total
