"""Device entry point for `pumpsim serve --runtime micropython` (MicroPython).

What a board's main.py does, on the bridge board (boards/bridge/hal.py): build the
HAL, the Pump, the control Loop and the serial Link, then serve. Here the
host drives time: each host message is one exchange (boards/bridge/hal.py):
  b'T'  the virtual clock moved one tick: Loop.poll() (the control tick),
        then the link (commands, telemetry, link-loss watch)
  b'L'  serial bytes arrived between ticks: the link only, at once
  b'Q'  a JSON summary (state, link counters, heap, time spent per exchange)
The Link is created after the first tick (POST), as the cpython runtime does.

  micropython -X heapsize=256k -m boards.bridge.main RX_FIFO TX_FIFO
(run inside the directory of .mpy files, so imports load compiled modules)
"""
import sys
import gc
import json
import time
import binascii

from boards.bridge.hal import Bridge, K_INIT, K_TICK, K_LINK, K_QUERY, K_EXIT
from firmware.link import Link
from firmware.settings import Settings
from firmware.boot import boot


def _info(pump, loop, link, br, stats):
    d = link.decoder if link is not None else None
    return {
        'state': pump.state_name(),
        'ticks': pump.ticks,
        'overruns': loop.overruns,
        'frames_handled': link.frames_handled if link else 0,
        'rejected': link.rejected if link else 0,
        'decoder_errors': d.errors() if d else 0,
        'rx_overflow': br.serial.rx_overflow,
        'tx_overflow': br.serial.tx_overflow,
        'mem_free': gc.mem_free(),
        'mem_alloc': gc.mem_alloc(),
        'tick_us': stats[0], 'tick_n': stats[1], 'tick_us_max': stats[2],
        'link_us': stats[3], 'link_n': stats[4], 'link_us_max': stats[5],
        'implementation': sys.implementation.name,
        # the board MicroPython was built for (documented as sys.implementation._machine)
        'machine': getattr(sys.implementation, '_machine', ''),
        'alarms': [c for c in range(len(pump.alarms.active)) if pump.alarms.active[c]],
    }


class IdleCollector:
    """Garbage collection in the idle part of the control period, not inside
    the tick: `idle()`, called after the period's work, collects once
    `budget` bytes were allocated since the last collection, so MicroPython's
    own collection (on an allocation that finds the heap full, 3.5 ms with
    40 KB in use on a 125 MIPS Cortex-M3) does not land in a tick. No
    gc.threshold: its automatic collections run inside whatever allocates,
    the tick's link work included (make bench-image measured it worse)."""

    def __init__(self, budget):
        self.budget = budget
        gc.collect()
        self.base = gc.mem_alloc()
        self.runs = 0

    def idle(self):
        if gc.mem_alloc() - self.base > self.budget:
            gc.collect()
            self.base = gc.mem_alloc()
            self.runs += 1


def main(rx_path, tx_path):
    serve(Bridge(rx_path, tx_path))


def serve(br, idle_gc_budget=0):
    """Serve the host's exchanges on bridge `br` (this board's Bridge, or a
    board's subclass with the same exchanges on other channels) until the
    host says exit. `idle_gc_budget` (bytes): collect after the reply, when
    the device waits for the next exchange (IdleCollector); 0: leave the
    collections to MicroPython."""
    kind, payload = br.recv()
    if kind != K_INIT:
        raise ValueError('bridge: first message must be init')
    cfg = json.loads(bytes(payload))
    hal = br.hal(cfg['storage'])
    pump, loop, _cal = boot(hal, Settings(**cfg['settings']))
    key = binascii.unhexlify(cfg['key'])
    link = None
    # tick: total us, count, max; link-only exchange: total us, count, max
    stats = [0, 0, 0, 0, 0, 0]
    gc.collect()
    idle = IdleCollector(idle_gc_budget).idle if idle_gc_budget else None
    br.reply(pump.fsm.state)
    ticks_us = time.ticks_us
    diff = time.ticks_diff
    while True:
        kind, payload = br.recv()
        t0 = ticks_us()
        if kind == K_TICK:
            br.ran = loop.poll()
            if link is None:
                link = Link(pump, hal.serial, key, serial_no=cfg['serial_no'],
                            pump_kind=cfg['pump_kind'],
                            link_timeout_ms=cfg['link_timeout_ms'])
        elif kind == K_QUERY:
            br.reply(pump.fsm.state, json.dumps(_info(pump, loop, link, br, stats)).encode())
            continue
        elif kind == K_EXIT:
            br.reply(pump.fsm.state, b'')
            return
        elif kind != K_LINK:
            raise ValueError('bridge: unknown message kind %d' % kind)
        if link is not None:
            while link.poll() >= link.max_frames:
                pass
        dt = diff(ticks_us(), t0)
        i = 0 if kind == K_TICK else 3
        stats[i] += dt
        stats[i + 1] += 1
        if dt > stats[i + 2]:
            stats[i + 2] = dt
        br.reply(pump.fsm.state)
        if idle is not None:
            idle()


if __name__ == '__main__':
    main(sys.argv[1], sys.argv[2])
