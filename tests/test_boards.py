"""Boards as data: every board folder is listed, its board.yaml is valid, its
entry and HAL exist, its generated hwdef.py is current and its settings are
ones the device accepts."""
import sys
from pathlib import Path

import pytest

import boards
from firmware.settings import Settings
from pumphost import boards as hostboards
from pumphost.config.schema import ConfigError

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / 'tools'))
import gen_boards  # noqa: E402


def test_every_board_folder_is_listed_and_every_listed_board_has_a_folder():
    folders = {p.name for p in (ROOT / 'boards').iterdir() if (p / 'board.yaml').is_file()}
    assert folders == set(boards.BOARDS)


@pytest.mark.parametrize('name', boards.BOARDS)
def test_board_loads_and_its_settings_are_accepted(name):
    b = hostboards.load_board(name)
    s = hostboards.settings_for(b)
    if s is not None:
        assert Settings(**s).validate() is None


def test_generated_hwdefs_are_current():
    assert gen_boards.main(['--check']) == 0, 'run python tools/gen_boards.py'


def test_a_bad_board_is_one_line_naming_the_key(tmp_path, monkeypatch):
    (tmp_path / 'x').mkdir()
    (tmp_path / 'x' / 'board.yaml').write_text(
        'name: x\ndescription: d\nruntime: fpga\nmain: boards.x.main\nhal: hal.fake\nsettings: host\n')
    monkeypatch.setattr(hostboards, 'BOARDS_DIR', tmp_path)
    with pytest.raises(ConfigError, match=r"runtime = 'fpga'"):
        hostboards.load_board('x')


def test_a_pump_change_reaches_the_generated_settings(monkeypatch):
    real = hostboards.settings_for
    monkeypatch.setattr(hostboards, 'settings_for',
                        lambda b: None if real(b) is None else dict(real(b), tick_ms=50))
    assert gen_boards.main(['--check']) == 1
