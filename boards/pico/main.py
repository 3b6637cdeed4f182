"""Entry of the Raspberry Pi Pico bench board (stock MicroPython).

tools/flash.py copies the compiled device modules and a two-line /main.py
that calls main() here. At power-up:
  - ACKNOWLEDGE held: service mode. Nothing starts (no watchdog, motor
    released), the USB REPL stays free for mpremote (flashing, the key).
  - no /pump.key: one line on the USB console, nothing starts.
  - else: HAL on `machine` (boards/pico/hal.py), settings from hwdef.py with
    this board's transducer, firmware.boot.boot(), then the main loop:
    the buttons, the control Loop, the serial Link on UART0. Ctrl-C on the
    USB console is off while the pump runs (mpremote sends it on connect).
    Any exception stops and releases the motor first; the watchdog then
    restarts the board, which recovers into ALARM (nothing resumes by itself).
"""
from boards.pico import hwdef
from boards.pico.hal import build, nominal_settings
from firmware.boot import boot
from firmware.link import Link
from firmware.pump import DELIVERING, IN_PROGRAM

KEY_FILE = 'pump.key'
SERIAL_FILE = 'pump.serial'


class PicoBoard:
    """The pump on this board's HAL; `step()` is one pass of the main loop
    (never blocks). `machine`, `rp2`, `time`: the modules it drives."""

    def __init__(self, machine, rp2, time, key, serial_no):
        self.hal, self.panel = build(machine, rp2, time, hwdef.PINS, hwdef.PARTS)
        self.pump, self.loop, self.calibration = boot(
            self.hal, nominal_settings(hwdef.SETTINGS, hwdef.PARTS))
        self.key = key
        self.serial_no = serial_no
        self.link = None

    def buttons(self):
        pump = self.pump
        panel = self.panel
        if panel.stop_pressed:
            # the interrupt has halted and held the motor; the therapy pauses
            # (journaled as a state change) and the hold is released only
            # once nothing delivers
            panel.stop_pressed = False
            if pump.fsm.state in IN_PROGRAM:
                pump.pause()
        motor = self.hal.motor
        if motor.inhibit and not panel.stop_pressed and pump.fsm.state not in DELIVERING:
            motor.inhibit = False
        if panel.ack_pressed(self.hal.clock):
            pump.acknowledge()

    def step(self):
        self.buttons()
        ran = self.loop.poll()
        link = self.link
        if link is None:
            if not ran:
                return ran
            # after the first tick (POST), as every board does
            link = self.link = Link(self.pump, self.hal.serial, self.key, serial_no=self.serial_no)
        while link.poll() >= link.max_frames:
            pass
        return ran

    def release(self):
        """Motor stopped and released: on the way out, whatever the reason."""
        m = self.hal.motor
        m.stop()
        m.enable(False)


def read_key(path=KEY_FILE):
    """The 32-byte device key from its file (64 hex digits), or None."""
    import binascii
    try:
        with open(path) as f:
            text = f.read().strip()
        key = binascii.unhexlify(text)
    except (OSError, ValueError):
        return None
    return key if len(key) == 32 else None


def serial_number(machine):
    try:
        with open(SERIAL_FILE) as f:
            return f.read().strip()
    except OSError:
        import binascii
        return 'PICO-' + binascii.hexlify(machine.unique_id()).decode().upper()


def start(machine, rp2, time):
    """The board at power-up: a PicoBoard, or None when it must not start
    (service mode, no key), saying why on the USB console."""
    Pin = machine.Pin
    Pin(hwdef.PINS['en'], Pin.OUT, value=1)          # motor released until the firmware enables it
    if Pin(hwdef.PINS['ack_button'], Pin.IN, Pin.PULL_UP).value() == 0:
        print('pico: service mode (ACKNOWLEDGE held at reset): pump not started, REPL free')
        return None
    key = read_key()
    if key is None:
        print('pico: %s missing or not 64 hex digits: install a key (docs/keys.md); pump not started'
              % KEY_FILE)
        return None
    return PicoBoard(machine, rp2, time, key, serial_number(machine))


def serve(board, sleep_ms, passes=-1):
    """The main loop (`passes` < 0: for ever). Whatever ends it, an
    exception included, stops and releases the motor on the way out."""
    try:
        while passes:
            board.step()
            sleep_ms(1)
            passes -= 1
    finally:
        board.release()


def main():
    import gc
    import time
    import machine
    import rp2
    import micropython
    board = start(machine, rp2, time)
    if board is None:
        return
    gc.collect()
    micropython.kbd_intr(-1)
    try:
        serve(board, time.sleep_ms)
    finally:
        micropython.kbd_intr(3)
