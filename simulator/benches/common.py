"""What the benches share: one scenario builder and the common options."""
from pumphost.config.pumps import load_pump, resolve
from pumphost.config.schema import ConfigError, check_map, parse_duration_s
from simulator.scenario import Scenario, SCENARIO_SCHEMA


def pump_config(pump):
    """The pump config by name or path (ConfigError naming it if bad)."""
    return load_pump(resolve('pumps', pump))


def duration_option(name, text):
    """A duration option ('2h', '40min') in seconds, or one line naming it."""
    try:
        return parse_duration_s(text)
    except (ValueError, ConfigError) as e:
        raise ConfigError('%s=%s: %s' % (name, text, e))


def check_rate(cfg, rate_ml_h):
    """--rate within what the pump can be programmed to."""
    lim = cfg.data['limits']
    if not lim['min_rate_ml_h'] <= rate_ml_h <= lim['max_rate_ml_h']:
        raise ConfigError('--rate=%g not allowed: pump %s takes %g..%g mL/h' % (
            rate_ml_h, cfg.name, lim['min_rate_ml_h'], lim['max_rate_ml_h']))


def bench_scenario(name, pump, rate_ml_h, duration_s, seed, volume_ml=None, events=(),
                   trace_s=10.0, drug=None, patient=None):
    """A scenario built by a bench: one continuous course at `rate_ml_h` on
    `pump`, `volume_ml` (default: the rate for the whole duration, 5% over,
    so the course outlasts the run), the default patient unless given,
    timed `events` as a scenario file writes them. Checked by the same
    schema as a scenario file, so a bench can never run what a file could not."""
    cfg = pump_config(pump)
    check_rate(cfg, rate_ml_h)
    if volume_ml is None:
        volume_ml = round(max(0.05, rate_ml_h * duration_s / 3600.0 * 1.05), 4)
    data = {'name': name, 'pump': str(cfg.path), 'seed': seed,
            'duration': '%rs' % float(duration_s), 'trace_period': '%rs' % float(trace_s),
            'patient': dict(patient or {}),
            'program': {'rate_ml_h': rate_ml_h, 'volume_ml': volume_ml},
            'events': list(events)}
    # a bench rig pumps a fluid to measure the mechanism, not a therapy: no
    # drug-library program (that is the therapy path, checked everywhere else)
    where = '<bench %s>' % name
    sc = Scenario(where, check_map(data, SCENARIO_SCHEMA, where))
    if drug is not None:
        sc.drug = '%s (bench rig, no drug library)' % drug
    return sc


def add_common_options(p, pump='bd-plastipak-50', rate=None, seed=1, out=None):
    """--pump, --rate, --seed, --out with the same meaning on every bench.
    rate=None makes --rate required; out=None makes --out required."""
    p.add_argument('--pump', default=pump, help='configs/pumps name or a YAML path (default %s)' % pump)
    if rate is not False:
        p.add_argument('--rate', type=float, required=rate is None, default=rate,
                       help='infusion rate, mL/h' + ('' if rate is None else ' (default %g)' % rate))
    p.add_argument('--seed', type=int, default=seed, help='random seed (default %d)' % seed)
    p.add_argument('--out', required=out is None, default=out,
                   help='output directory' + ('' if out is None else ' (default %s)' % out))


PLANTS = ('bench', 'ideal')


def add_plant_option(p):
    """--plant: the bench's mechanism (default) or the ideal one, the same
    on every bench that runs the firmware on a plant."""
    p.add_argument('--plant', choices=PLANTS, default='bench',
                   help='bench (default): a syringe driver\'s errors (lead screw, microsteps, stopper '
                        'stick-slip and creep, sensor resolution and drift; simulator/plant/mechanism.py, '
                        'docs/plant.md); a peristaltic pump has its own head model either way; '
                        'ideal: a perfect mechanism')
