"""Device keys: generated outside the source tree, readable by the owner
only, rotated with the old one kept, installed as the board's pump.key; the
public test key signs for simulated pumps only."""
import os
import stat
from pathlib import Path

import pytest

from firmware.link import Link
from protocol import codes as C
from pumphost import keys, pumpctl
from pumphost.client import PumpClient, LinkError, TEST_KEY, read_key_file
from test_link_host import DevicePort, SALINE

ROOT = Path(__file__).resolve().parent.parent


def test_generate_is_private_and_never_overwrites(tmp_path):
    path = tmp_path / 'keys' / 'pump.key'
    fp = keys.generate(str(path))
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    key = keys.check_key_file(str(path))
    assert len(key) == 32 and key != TEST_KEY and keys.fingerprint(key) == fp
    with pytest.raises(keys.KeyError_, match='exists'):
        keys.generate(str(path))
    assert keys.check_key_file(str(path)) == key


def test_generate_refuses_a_source_tree():
    path = ROOT / 'no-key-here.key'
    with pytest.raises(keys.KeyError_, match='inside a source tree'):
        keys.generate(str(path))
    assert not path.exists()


def test_a_key_file_others_can_read_is_refused(tmp_path, capsys):
    path = tmp_path / 'pump.key'
    keys.generate(str(path))
    path.chmod(0o644)
    with pytest.raises(keys.KeyError_, match='chmod 600'):
        keys.check_key_file(str(path))
    rc = pumpctl.main(['--port', 'loop://', '--key-file', str(path), 'status'])
    assert rc == 2 and 'lets others read the key' in capsys.readouterr().err


def test_rotate_and_install(tmp_path):
    path = str(tmp_path / 'pump.key')
    keys.generate(path)
    old = keys.check_key_file(path)
    with open(path + '.counter', 'w') as fh:
        fh.write('41\n')
    fp_old, fp_new = keys.rotate(path)
    new = keys.check_key_file(path)
    assert new != old and read_key_file(path + '.old') == old
    assert (fp_old, fp_new) == (keys.fingerprint(old), keys.fingerprint(new))
    assert keys.counter(path) == 0
    target, fp = keys.install(path, str(tmp_path / 'board'))
    assert read_key_file(target) == new and fp == fp_new
    assert stat.S_IMODE(os.stat(target).st_mode) == 0o600


def test_device_key_signs_and_the_test_key_does_not_fit(tmp_path):
    path = str(tmp_path / 'pump.key')
    keys.generate(path)
    key = keys.check_key_file(path)
    dev = DevicePort()
    dev.link = Link(dev.pump, dev.hal.serial, key, pump_kind=C.PUMP_SIMULATED)
    c = PumpClient(port=dev, key=key, counter_file=path + '.counter', timeout=0.01)
    c.load_program([(1, 2000000, 1000000)], SALINE)
    assert keys.counter(path) >= 1
    other = PumpClient(port=dev, key=TEST_KEY, timeout=0.01)
    with pytest.raises(LinkError, match='signature did not verify'):
        other.load_program([(1, 2000000, 1000000)], SALINE)


def test_the_test_key_signs_for_simulated_pumps_only():
    dev = DevicePort()
    dev.link = Link(dev.pump, dev.hal.serial, TEST_KEY, pump_kind=C.PUMP_SYRINGE)
    c = PumpClient(port=dev, key=TEST_KEY, timeout=0.01)
    with pytest.raises(LinkError, match='signs for simulated pumps only'):
        c.start()
    assert dev.pump.program is None
