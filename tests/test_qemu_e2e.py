"""End to end over a pty, the firmware image on the emulated 32-bit board:
`pumpsim serve --runtime qemu` driven by pumpctl: info, load an HAI program,
confirm, start, status RUNNING, telemetry, journal download."""
from e2e_helpers import (load_confirm_start, pumpctl, start_serve, stop_serve, write_key,
                         write_program)
from tests.image_support import image_or_skip


def test_pumpctl_against_the_board_image(tmp_path):
    image_or_skip()
    key_file = write_key(tmp_path)
    prog = write_program(tmp_path, 'hai.yaml')
    # real time: under a loaded machine the emulated board keeps up with it
    p, port, head = start_serve('qemu', '--speed', '1', '--key-file', key_file)
    try:
        assert 'firmware (qemu)' in ''.join(head)
        rc, out, err = pumpctl(port, key_file, 'info')
        assert rc == 0 and 'serial SIM-' in out and 'firmware 0.1.0' in out, err
        load_confirm_start(port, key_file, prog)
        rc, out, err = pumpctl(port, key_file, 'status')
        assert rc == 0 and 'state RUNNING' in out and 'rate 20.000 mL/h' in out, (out, err)
        rc, out, err = pumpctl(port, key_file, 'monitor', '--count', '2', '--period-ms', '500')
        assert rc == 0 and out.count('state RUNNING') == 2, err
        rc, out, err = pumpctl(port, key_file, 'log')
        assert rc == 0 and 'confirm' in out and 'program' in out, err
    finally:
        out = stop_serve(p)
    assert 'state RUNNING' in out and 'decoder errors 0' in out, out
