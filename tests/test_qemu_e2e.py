"""End to end over a pty, the firmware image on the emulated 32-bit board:
`pumpsim serve --runtime qemu` driven by pumpctl: info, load an HAI program,
confirm, start, status RUNNING, telemetry, journal download."""
from e2e_helpers import pumpctl, start_serve, stop_serve, write_key
from tests.image_support import image_or_skip


def test_pumpctl_against_the_board_image(tmp_path):
    image_or_skip()
    key_file = write_key(tmp_path)
    prog = tmp_path / 'hai.yaml'
    prog.write_text('pump: bd-plastipak-50\nprogram:\n  drug: saline\n'
                    '  concentration_mg_per_ml: 9\n  rate_ml_h: 20\n  volume_ml: 5\n')
    # real time: under a loaded machine the emulated board keeps up with it
    p, port, head = start_serve('qemu', '--speed', '1', '--key-file', key_file)
    try:
        assert 'firmware (qemu)' in ''.join(head)
        rc, out, err = pumpctl(port, key_file, 'info')
        assert rc == 0 and 'serial SIM-' in out and 'firmware 0.1.0' in out, err
        rc, out, err = pumpctl(port, key_file, 'load', str(prog))
        assert rc == 0 and 'step 1: 20.0000 mL/h for 5.0000 mL' in out, (out, err)
        h = [w for w in out.split() if len(w) == 64][0]
        rc, out, err = pumpctl(port, key_file, 'confirm', h[:12])
        assert rc == 0 and 'confirmed ' + h[:16] in out, err
        rc, out, err = pumpctl(port, key_file, 'start')
        assert rc == 0 and 'state RUNNING' in out, err
        rc, out, err = pumpctl(port, key_file, 'status')
        assert rc == 0 and 'state RUNNING' in out and 'rate 20.000 mL/h' in out, (out, err)
        rc, out, err = pumpctl(port, key_file, 'monitor', '--count', '2', '--period-ms', '500')
        assert rc == 0 and out.count('state RUNNING') == 2, err
        rc, out, err = pumpctl(port, key_file, 'log')
        assert rc == 0 and 'confirm' in out and 'program' in out, err
    finally:
        out = stop_serve(p)
    assert 'state RUNNING' in out and 'decoder errors 0' in out, out
