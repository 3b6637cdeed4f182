"""The qemu_netduino2 board's entry: the pump firmware in lockstep with the
host's simulated plant over USART1, its serial protocol on USART2
(boards/qemu_netduino2/hal.py). The host starts it from the REPL on USART1,
as simulator/runtime/qemu.py does:

    import boards.qemu_netduino2.main as m; m.main()

The exchanges are the bridge board's (boards/bridge/main.py serve).
"""
import micropython

from boards.bridge.main import serve
from boards.qemu_netduino2.hal import UartBridge
from boards.qemu_netduino2.hwdef import PINS

IDLE_GC_BUDGET = 2048   # bytes allocated before a collection between exchanges


def main():
    micropython.kbd_intr(-1)   # USART1 carries binary from now on: 0x03 is data
    serve(UartBridge(PINS['link_uart']), IDLE_GC_BUDGET)
