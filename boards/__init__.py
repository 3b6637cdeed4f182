"""Board entries, one folder each (ArduPilot's hwdef idea, in MicroPython).

A board folder `boards/<name>/` holds:
  board.yaml   the board as data: what it is, how it runs (a micropython
               process, a frozen image, a flashed MCU), its entry and HAL
               modules, its pins or channels, and where its settings come
               from (the host at start, or a pump config);
  main.py      the entry: build the HAL, `firmware.boot.boot(hal, settings)`,
               then the control loop and the serial link;
  hal.py       the board's HAL backend, unless it uses a shared one;
  hwdef.py     generated from board.yaml (tools/gen_boards.py): the pins, the
               parts' figures (PARTS) and,
               for a board with a pump config, the device settings derived
               from that pump's YAML, so nobody types them by hand;
  manifest.py  what a frozen image of the board freezes, if it has one.
Adding a board is a new folder and its name in BOARDS below.
"""

BOARDS = ('bridge', 'fake', 'pico', 'qemu_netduino2')
