"""The repository's docs stand alone: no tracked file points into the team
workspace, and every numbered source docs/domain.md cites is in its list."""
import os
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SKIP = {'.git', '.venv', '.ci', 'build', 'out', '.pytest_cache', '.hypothesis', '__pycache__'}
TEXT = {'.py', '.md', '.yaml', '.yml', '.toml', '.json', '.txt', '.cfg', ''}


def _files():
    for top, dirs, names in os.walk(ROOT):
        dirs[:] = [d for d in dirs if d not in SKIP and not d.endswith('.egg-info')]
        for name in names:
            path = Path(top) / name
            if path.suffix in TEXT or name == 'Makefile':
                yield path.relative_to(ROOT), path


def test_no_file_points_into_the_team_workspace():
    needle = '../' + 'shared'    # split so this file does not match itself
    hits = [str(rel) for rel, path in _files()
            if needle in path.read_text(errors='replace')]
    assert hits == []


def test_every_cited_source_is_listed():
    text = (ROOT / 'docs' / 'domain.md').read_text()
    body, refs = text.split('## References', 1)
    listed = {int(n) for n in re.findall(r'^(\d+)\. ', refs, flags=re.M)}
    cited = {int(n) for group in re.findall(r'\[([0-9, ]+)\]', body)
             for n in group.split(',')}
    assert cited and cited <= listed, sorted(cited - listed)
    assert listed == set(range(1, max(listed) + 1))     # numbered without gaps
    assert listed <= cited, sorted(listed - cited)      # nothing listed but unused
