"""Device keys: generate, install, rotate, show; the host copy kept safe.

A pump's link key (32 bytes, HMAC-SHA256: protocol/auth.py) signs every
therapy command. The host copy is a file of 64 hex digits, outside any
source tree, readable by its owner only (mode 0600, its directory 0700);
`check_key_file` refuses anything else before a key is used. The counter
file beside it (KEY.counter) keeps the command counter across restarts.

The board gets the same key as a file on its filesystem (`pump.key`, 64
hex digits), which its entry reads at boot and hands to firmware.link.Link;
`install` writes that file into a directory that is then copied to the
board (e.g. `mpremote cp DIR/pump.key :pump.key`); the simulator takes the
host file directly (`pumpsim serve --key-file KEY`). Rotating makes a new
key, keeps the old one as KEY.old until the board has the new one, and
starts the counter afresh (the new key has never signed anything).

The public test key (pumphost.client.TEST_KEY) is for tests and the
simulator only: the client refuses to sign with it for a pump that does
not say it is simulated (DEVICE_INFO.pump_kind).
"""
import hashlib
import os
import stat
import subprocess

DEFAULT_DIR = os.path.join(os.path.expanduser('~'), '.config', 'hai-pump', 'keys')
BOARD_FILE = 'pump.key'


class KeyError_(ValueError):
    """A key file that must not be used: one line naming file and reason."""


def fingerprint(key):
    """What to compare between host and board: never the key itself."""
    return hashlib.sha256(b'hai-pump key fingerprint' + key).hexdigest()[:16]


def _inside_repo(path):
    d = os.path.dirname(os.path.abspath(path))
    while not os.path.isdir(d):
        d = os.path.dirname(d)
    try:
        r = subprocess.run(['git', '-C', d, 'rev-parse', '--is-inside-work-tree'],
                           capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return False
    return r.returncode == 0 and r.stdout.strip() == 'true'


def check_key_file(path):
    """The key in a host key file, refused if others can read the file. (A
    file holding the public test key signs for simulated pumps only: the
    client checks that against the pump's DEVICE_INFO.)"""
    from pumphost.client import read_key_file
    st = os.stat(path)
    if st.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise KeyError_('%s: mode %03o lets others read the key: chmod 600 %s'
                        % (path, st.st_mode & 0o777, path))
    return read_key_file(path)


def _write_private(path, text):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, 'w') as fh:
        fh.write(text)


def generate(path, allow_repo=False):
    """A new random key in `path` (hex, 0600, directory 0700); refuses to
    overwrite, or to write inside a git work tree. Returns its fingerprint."""
    if os.path.exists(path):
        raise KeyError_('%s exists: rotate it (pumpctl key rotate) or choose another path' % path)
    if not allow_repo and _inside_repo(path):
        raise KeyError_('%s is inside a source tree: keep keys outside it (default %s)'
                        % (path, DEFAULT_DIR))
    d = os.path.dirname(os.path.abspath(path))
    os.makedirs(d, mode=0o700, exist_ok=True)
    key = os.urandom(32)
    _write_private(path, key.hex() + '\n')
    return fingerprint(key)


def rotate(path):
    """New key in `path`, the old one kept as path.old (until the board has
    the new one), the counter file started afresh. Returns (old, new)
    fingerprints."""
    from pumphost.client import TEST_KEY
    old = check_key_file(path)
    if old == TEST_KEY:
        raise KeyError_('%s holds the public test key: generate a device key instead' % path)
    os.replace(path, path + '.old')
    counter = path + '.counter'
    if os.path.exists(counter):
        os.replace(counter, counter + '.old')
    new = generate(path, allow_repo=True)
    return fingerprint(old), new


def install(path, board_dir):
    """Write the board's key file (pump.key) into board_dir, 0600."""
    key = check_key_file(path)
    os.makedirs(board_dir, exist_ok=True)
    target = os.path.join(board_dir, BOARD_FILE)
    if os.path.exists(target):
        os.remove(target)
    _write_private(target, key.hex() + '\n')
    return target, fingerprint(key)


def counter(path):
    """The host's stored command counter for this key (0 if none yet)."""
    c = path + '.counter'
    if not os.path.exists(c):
        return 0
    with open(c) as fh:
        return int(fh.read().strip() or 0)
