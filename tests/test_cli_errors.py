"""Every subcommand of pumpsim and pumpctl, given a bad argument, exits 2
with one line on stderr and no traceback; nothing runs."""
import argparse

import pytest

from pumphost import pumpctl
from simulator.ui import cli


def _subcommands(parser, prefix=()):
    """(argv prefix, sub-parser) for every leaf subcommand."""
    for act in parser._actions:
        if isinstance(act, argparse._SubParsersAction):
            for name, sub in act.choices.items():
                yield from _subcommands(sub, prefix + (name,))
            return
    yield prefix, parser


def _valid(sub, tmp_path):
    """Values for the required options, so that the bad one is the only error."""
    good = {'--rate': '1', '--out': str(tmp_path / 'out'), '--hours': '1',
            '--pump': 'bd-plastipak-50', 'scenario': 'demo', 'program': 'haic-folfox',
            '--board-dir': str(tmp_path / 'board')}
    argv = []
    for act in sub._actions:
        if act.required and act.option_strings:
            argv += [act.option_strings[-1], good[act.option_strings[-1]]]
        elif not act.option_strings and act.nargs is None and act.dest != 'help':
            argv.append(good.get(act.dest, 'x'))
    return argv


def _bad_cases(sub, tmp_path):
    existing_file = tmp_path / 'a-file'
    existing_file.write_text('x')
    yield ['--no-such-option']
    for act in sub._actions:
        if not act.option_strings or act.nargs == 0:
            continue
        opt = act.option_strings[-1]
        if act.type in (int, float) or getattr(act.type, '__name__', '') == 'conv':
            yield [opt, 'abc']
        if act.dest in cli.SEEDS or act.dest in cli.POSITIVE:
            yield [opt, '-1']
        if opt == '--pump':
            yield [opt, 'no-such-pump']
        if opt == '--out' and sub.prog.split()[1] in ('run', 'bench'):
            yield [opt, str(existing_file)]
        if act.choices:
            yield [opt, 'no-such-choice']


def _one_line(err):
    return err.count('\n') == 1 and 'Traceback' not in err


PUMPSIM = list(_subcommands(cli.build_parser()))
PUMPCTL = list(_subcommands(pumpctl.build_parser()))


def test_every_option_has_help():
    for parser in (cli.build_parser(), pumpctl.build_parser()):
        for prefix, sub in _subcommands(parser):
            for act in sub._actions:
                assert act.help, '%s %s: no --help text' % (' '.join(prefix), act.option_strings)


@pytest.mark.parametrize('prefix,sub', PUMPSIM, ids=[' '.join(p) for p, _ in PUMPSIM])
def test_pumpsim_bad_arguments_exit_2_one_line(prefix, sub, tmp_path, capsys):
    base = _valid(sub, tmp_path)
    for bad in _bad_cases(sub, tmp_path):
        argv = list(prefix) + base + bad
        rc = cli.main(argv)
        out, err = capsys.readouterr()
        assert rc == 2 and _one_line(err), (argv, rc, err)


@pytest.mark.parametrize('prefix,sub', PUMPCTL, ids=[' '.join(p) for p, _ in PUMPCTL])
def test_pumpctl_bad_arguments_exit_2_one_line(prefix, sub, tmp_path, capsys):
    base = ['--port', 'loop://'] + list(prefix) + _valid(sub, tmp_path)
    for bad in _bad_cases(sub, tmp_path):
        rc = pumpctl.main(base + bad)
        out, err = capsys.readouterr()
        assert rc == 2 and _one_line(err), (base + bad, rc, err)
    for bad in (['--port'], ['--port', 'socket://127.0.0.1'], ['--port', 'loop://', '--timeout', '-1'],
                ['--port', 'loop://', '--key-file', str(tmp_path / 'none')]):
        rc = pumpctl.main(bad + list(prefix) + _valid(sub, tmp_path))
        out, err = capsys.readouterr()
        assert rc == 2 and _one_line(err), (bad, rc, err)
