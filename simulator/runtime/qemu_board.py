"""Run a board image (`make image`: build/image/firmware.elf) under
qemu-system-arm and talk to it: its UARTs are Unix sockets this process
connects to.

  with QemuBoard() as b:                 # boots, raw REPL on UART 0
      print(b.exec('import gc; print(gc.mem_free())'))
      b.start('import main')             # hand UART 0 over to the program

`-icount shift=3`: the emulated CPU's clock follows its instruction count,
one instruction per 8 ns (125 MIPS), so time.ticks_us() inside the image
measures instructions, the same on any host, and runs are deterministic.
"""
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time

from pumphost.devicebuild import DEVICE_ROOT

IMAGE_DIR = DEVICE_ROOT / 'build' / 'image'
ELF = IMAGE_DIR / 'firmware.elf'
BOARD = 'qemu_netduino2'      # boards/<BOARD>/: its manifest, board.yaml, hwdef
QEMU_MACHINE = 'netduino2'    # qemu's STM32F205 machine
PORT_BOARD = 'NETDUINO2'      # MicroPython's ports/qemu board for it
ICOUNT_SHIFT = 3              # 2**3 ns per instruction: 125 MIPS, a Cortex-M3 class core
RAW_PROMPT = b'raw REPL; CTRL-B to exit\r\n>'


def _die_with_parent():
    """In the child, before qemu starts: SIGKILL when the process that
    started it dies (Linux prctl PR_SET_PDEATHSIG), so a host killed without
    closing the board never leaves qemu running on its own."""
    try:
        import ctypes
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)
    except (OSError, AttributeError):
        pass


class BoardError(Exception):
    """qemu or the program in the image failed; the message says how."""


class QemuBoard:
    """qemu with `uarts` serial ports on Unix sockets (`self.uart[i]`)."""

    def __init__(self, elf=ELF, uarts=2, timeout=60.0, icount=True):
        if not os.path.exists(str(elf)):
            raise BoardError('no image at %s: run `make image` first' % elf)
        if not shutil.which('qemu-system-arm'):
            raise BoardError('qemu-system-arm not found: apt-get install -y qemu-system-arm')
        self.timeout = timeout
        self.dir = tempfile.mkdtemp(prefix='pump-qemu-')
        paths = [os.path.join(self.dir, 'uart%d.sock' % i) for i in range(uarts)]
        cmd = ['qemu-system-arm', '-machine', QEMU_MACHINE, '-display', 'none',
               '-monitor', 'none', '-semihosting', '-kernel', str(elf)]
        if icount:
            cmd += ['-icount', icount if isinstance(icount, str)
                    else 'shift=%d' % ICOUNT_SHIFT]
        for i, p in enumerate(paths):
            cmd += ['-chardev', 'socket,id=u%d,path=%s,server=on,wait=on' % (i, p),
                    '-serial', 'chardev:u%d' % i]
        self.log_path = os.path.join(self.dir, 'qemu.log')
        self._log = open(self.log_path, 'wb')
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=self._log,
                                     stderr=subprocess.STDOUT, preexec_fn=_die_with_parent)
        self.uart = []
        self._booted = False
        self._buf = [bytearray() for _ in paths]
        try:
            for p in paths:   # qemu waits for each socket's client in turn
                self.uart.append(self._connect(p))
        except BaseException:
            self.close()
            raise

    def _connect(self, path):
        deadline = time.monotonic() + self.timeout
        while True:
            if self.proc.poll() is not None:
                raise BoardError('qemu exited: %s' % self.tail_log())
            if os.path.exists(path):
                s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                try:
                    s.connect(path)
                    return s
                except OSError:
                    s.close()
            if time.monotonic() > deadline:
                raise BoardError('qemu did not open %s' % path)
            time.sleep(0.02)

    def tail_log(self, n=800):
        try:
            self._log.flush()
            with open(self.log_path, errors='replace') as f:
                return f.read()[-n:].strip() or '(no output)'
        except OSError:
            return '(unreadable)'

    # ------------------------------------------------------------ byte I/O
    def write(self, i, data):
        self.uart[i].sendall(data)

    def read_exact(self, i, n):
        buf = self._buf[i]
        s = self.uart[i]
        s.settimeout(self.timeout)
        while len(buf) < n:
            try:
                chunk = s.recv(max(4096, n - len(buf)))
            except socket.timeout:
                raise BoardError('UART%d: no answer in %.0f s (have %r)' % (
                    i, self.timeout, bytes(buf[-200:]))) from None
            if not chunk:
                raise BoardError('UART%d closed; qemu: %s' % (i, self.tail_log()))
            buf += chunk
        out = bytes(buf[:n])
        del buf[:n]
        return out

    def read_available(self, i, wait_s=0.2):
        """What UART `i` has sent so far (for an error message)."""
        buf = self._buf[i]
        s = self.uart[i]
        s.settimeout(wait_s)
        try:
            chunk = s.recv(4096)
            buf += chunk
        except OSError:
            pass
        out = bytes(buf)
        del buf[:]
        return out

    def read_until(self, i, marker):
        buf = self._buf[i]
        s = self.uart[i]
        s.settimeout(self.timeout)
        while marker not in buf:
            try:
                chunk = s.recv(4096)
            except socket.timeout:
                raise BoardError('UART%d: waited %.0f s for %r, got %r' % (
                    i, self.timeout, marker, bytes(buf[-300:]))) from None
            if not chunk:
                raise BoardError('UART%d closed; qemu: %s' % (i, self.tail_log()))
            buf += chunk
        k = buf.index(marker) + len(marker)
        out = bytes(buf[:k])
        del buf[:k]
        return out

    # ------------------------------------------------------------ raw REPL
    def _friendly_prompt(self):
        """Wait for the boot banner's prompt: bytes sent while the image
        boots are lost (its UART is not receiving yet), so poke until the
        REPL answers."""
        deadline = time.monotonic() + self.timeout
        s = self.uart[0]
        buf = self._buf[0]
        while b'>>> ' not in buf:
            if time.monotonic() > deadline:
                raise BoardError('no REPL prompt from the image in %.0f s (got %r); qemu: %s'
                                 % (self.timeout, bytes(buf[-300:]), self.tail_log()))
            s.settimeout(0.5)
            try:
                chunk = s.recv(4096)
                if not chunk:
                    raise BoardError('UART0 closed; qemu: %s' % self.tail_log())
                buf += chunk
            except socket.timeout:
                s.sendall(b'\r\x03')
        del buf[:]

    def raw_repl(self):
        if not self._booted:
            self._friendly_prompt()
            self._booted = True
        self.write(0, b'\r\x03\x03\x01')
        self.read_until(0, RAW_PROMPT)

    def exec(self, code):
        """Run `code` in the raw REPL; its output, or BoardError with the traceback."""
        self.raw_repl()
        self.write(0, code.encode() + b'\x04')
        self.read_until(0, b'OK')
        out = self.read_until(0, b'\x04')[:-1]
        err = self.read_until(0, b'\x04')[:-1]
        self.read_until(0, b'>')
        if err.strip():
            raise BoardError('in the image: %s' % err.decode(errors='replace').strip())
        return out.decode(errors='replace')

    def start(self, code):
        """Start `code` that keeps UART 0 for itself (no REPL framing after OK)."""
        self.raw_repl()
        self.write(0, code.encode() + b'\x04')
        self.read_until(0, b'OK')

    def close(self):
        for s in self.uart:
            try:
                s.close()
            except OSError:
                pass
        self.uart = []
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log.close()
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def boot_heap(elf=ELF):
    """(free, alloc) heap bytes after boot and a collection, in the image."""
    with QemuBoard(elf) as b:
        out = b.exec('import gc\ngc.collect()\nprint(gc.mem_free(), gc.mem_alloc())')
    free, alloc = out.split()
    return int(free), int(alloc)
