"""Generate boards/<name>/hwdef.py for every board in boards.BOARDS.

  python tools/gen_boards.py           write them
  python tools/gen_boards.py --check   exit 1 naming each one that has drifted
"""
import argparse
import sys

from pumphost.boards import generate
from pumphost.config.schema import ConfigError


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--check', action='store_true', help='fail if a hwdef.py has drifted')
    a = ap.parse_args(argv)
    try:
        files = generate()
    except ConfigError as e:
        print('gen_boards: %s' % e, file=sys.stderr)
        return 2
    drift = [p for p, text in files.items() if not p.exists() or p.read_text() != text]
    for p in drift:
        if a.check:
            print('gen_boards: %s is not current: run python tools/gen_boards.py' % p, file=sys.stderr)
        else:
            p.write_text(files[p])
            print('wrote', p)
    return 1 if a.check and drift else 0


if __name__ == '__main__':
    sys.exit(main())
