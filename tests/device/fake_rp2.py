"""A fake `rp2` module: the PIO assembler and a state machine that runs the
assembled program instruction by instruction, cycle-counted, against
fake_machine's World (test-only; MicroPython and CPython).

Only the instructions the board's programs use are modelled: pull (block),
mov (x, y <- osr), jmp (always, x--, y--), irq (rel), nop; side-set on one
pin; wrap at the end. Each instruction takes one cycle; its side-set value
drives the pin when it issues, stalled or not. A `jmp(y_dec, itself)` delay
loop is run in one go (y + 1 cycles), which keeps long delays fast without
changing the timing. exec() runs the encodings asm_pio_encode makes.
"""
import fake_machine

MASK32 = 0xFFFFFFFF


class PIO:
    OUT_LOW = 0
    OUT_HIGH = 1
    IN_LOW = 0
    IN_HIGH = 1


class Instr:
    def __init__(self, op, a=None, b=None):
        self.op = op
        self.a = a
        self.b = b
        self.side_value = None

    def side(self, v):
        self.side_value = v
        return self


class Program:
    def __init__(self, sideset_init):
        self.sideset_init = sideset_init
        self.code = []
        self.labels = {}

    def emit(self, op, a=None, b=None):
        i = Instr(op, a, b)
        self.code.append(i)
        return i

    def names(self):
        e = self.emit
        labels = self.labels
        code = self.code

        def label(name):
            labels[name] = len(code)
        return {
            'label': label,
            'pull': lambda block=1: e('pull', block),
            'mov': lambda dst, src: e('mov', dst, src),
            'jmp': lambda cond, target=None: e('jmp', cond, target) if target is not None
            else e('jmp', None, cond),
            'irq': lambda n: e('irq', n),
            'nop': lambda: e('nop'),
            'rel': lambda n: n,
            'block': 1, 'noblock': 0,
            'x': 'x', 'y': 'y', 'osr': 'osr', 'isr': 'isr',
            'x_dec': 'x_dec', 'y_dec': 'y_dec',
        }


def asm_pio(sideset_init=None, **kw):
    """Assemble like rp2.asm_pio: the function runs with the assembler's
    names in its globals (then they are put back)."""
    def dec(f):
        prog = Program(sideset_init)
        g = f.__globals__
        names = prog.names()
        saved = {}
        for k in names:
            if k in g:
                saved[k] = g[k]
        g.update(names)
        try:
            f()
        finally:
            for k in names:
                if k in saved:
                    g[k] = saved[k]
                else:
                    del g[k]
        for i in prog.code:
            if i.op == 'jmp':
                i.b = prog.labels[i.b]
        return prog
    return dec


NOP = 0xA042          # mov y, y


def asm_pio_encode(text, sideset_count):
    """Only `nop().side(N)` with one side-set bit (bit 12), as the board uses."""
    if sideset_count != 1 or not text.startswith('nop().side('):
        raise NotImplementedError('fake asm_pio_encode: %r' % text)
    return NOP | (int(text[len('nop().side('):-1]) << 12)


class StateMachine:
    def __init__(self, id, prog=None, **kw):
        self.id = id
        self.prog = None
        self.running = False
        self.handler = None
        self.x = 0
        self.y = 0
        self.osr = 0
        self.tx = [0, 0, 0, 0]    # the TX FIFO as a ring: put() allocates nothing
        self.tx_head = 0
        self.tx_n = 0
        self.side_gpio = None
        self.freq = 125000000
        self.t0 = 0
        self.cyc = 0
        self.pc = 0
        self.inits = 0
        fake_machine.world.state_machines.append(self)
        if prog is not None:
            self.init(prog, **kw)

    def init(self, prog, freq=125000000, sideset_base=None, **kw):
        self.running = False
        self.prog = prog
        self.freq = freq
        self.side_gpio = sideset_base.id if sideset_base is not None else None
        self.pc = 0
        self.tx_n = 0
        self.inits += 1

    def irq(self, handler=None, trigger=1, hard=False):
        self.handler = handler

    def active(self, v=None):
        if v is None:
            return self.running
        if v and not self.running:
            self.t0 = fake_machine.world.us
            self.cyc = 0
        self.running = bool(v)

    def put(self, w):
        if self.tx_n >= 4:
            raise AssertionError('put() on a full TX FIFO blocks the caller')
        self.tx[(self.tx_head + self.tx_n) & 3] = w & MASK32
        self.tx_n += 1

    def tx_fifo(self):
        return self.tx_n

    def exec(self, instr):
        if instr & ~0x1F00 != NOP:
            raise NotImplementedError('fake exec: %#x' % instr)
        self._side((instr >> 12) & 1)

    def _side(self, v):
        if v is not None and self.side_gpio is not None:
            fake_machine.world.set_level(self.side_gpio, v)

    def _time(self, c):
        return self.t0 + c * 1000000 // self.freq

    def run_until(self, t_end):
        """Execute every cycle that starts before t_end (microseconds)."""
        world = fake_machine.world
        # the first cycle at or after t_end: cycles before it run now
        c_end = ((t_end - self.t0) * self.freq + 999999) // 1000000
        code = self.prog.code if self.prog is not None else ()
        while self.running and self.cyc < c_end:
            i = code[self.pc]
            world.us = self._time(self.cyc)
            self._side(i.side_value)
            op = i.op
            nxt = self.pc + 1
            n = 1
            if op == 'pull':
                if not self.tx_n:
                    self.cyc = c_end          # stalled: time passes
                    break
                self.osr = self.tx[self.tx_head]
                self.tx_head = (self.tx_head + 1) & 3
                self.tx_n -= 1
            elif op == 'mov':
                v = self.osr if i.b == 'osr' else (self.x if i.b == 'x' else self.y)
                if i.a == 'x':
                    self.x = v
                elif i.a == 'y':
                    self.y = v
            elif op == 'irq':
                if self.handler is not None:
                    self.handler(self)
            elif op == 'jmp':
                cond = i.a
                if cond is None:
                    nxt = i.b
                elif cond == 'y_dec' and i.b == self.pc:
                    # a delay loop: y + 1 cycles to fall through
                    left = c_end - self.cyc
                    if self.y + 1 <= left:
                        n = self.y + 1
                        self.y = MASK32
                    else:
                        n = left
                        self.y -= n
                        nxt = self.pc
                elif cond in ('x_dec', 'y_dec'):
                    r = 'x' if cond == 'x_dec' else 'y'
                    v = getattr(self, r)
                    setattr(self, r, (v - 1) & MASK32)
                    if v:
                        nxt = i.b
                else:
                    raise NotImplementedError('fake jmp condition %r' % cond)
            elif op != 'nop':
                raise NotImplementedError('fake PIO op %r' % op)
            self.cyc += n
            self.pc = nxt if nxt < len(code) else 0     # wrap
        world.us = t_end
