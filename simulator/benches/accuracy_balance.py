"""`pumpsim bench accuracy --balance URL`: the same IEC 60601-2-24 analysis
on a real balance (MT-SICS, pumphost.mtsics) under a real pump.

The pump is set up and started by the operator (or pumpctl) at the rate
given with --rate; the bench zeroes the balance, then reads the weight
every --sample for --duration of wall time and analyses the series exactly
as the simulated run's (simulator.benches.accuracy: flows, trumpet
windows over the second half, start-up delay and lag). The report says
`source: balance URL serial` instead of a seed.
"""
import math
import time

from pumphost.config.schema import ConfigError
from simulator.benches import accuracy as A


def weigh(balance, duration_s, sample_s, clock=time.monotonic, sleep=time.sleep):
    """Zero, then one weight (g) at t = 0, sample_s, ... duration_s."""
    balance.zero()
    n = int(math.floor(duration_s / sample_s + 1e-9))
    t0 = clock()
    out = []
    for i in range(n + 1):
        wait = t0 + i * sample_s - clock()
        if wait > 0:
            sleep(wait)
        out.append(balance.weight_g(stable=False))
    return out


def analyse(weights, rate_ml_h, sample_s):
    """A run dict shaped as accuracy.run_one's, from a weight series."""
    flows = A.flows_from_weights(weights, sample_s)
    n = len(weights) - 1
    half = n // 2
    res = A.trumpet(flows[half:], rate_ml_h, sample_s)
    v_end_ul = weights[n] / A.RHO_G_ML * 1000.0
    lag_ul = rate_ml_h * 1000.0 * (n * sample_s / 3600.0) - v_end_ul
    first = next((i for i in range(1, n + 1) if weights[i] > 1e-5), None)
    res.update({
        'rate_ml_h': rate_ml_h, 'startup_fill': True, 'fill_rate_ml_h': None, 'fill_ul': 0.0,
        'fill_held_back_ul': 0.0, 'run_min': round(n * sample_s / 60.0, 2),
        'analysis_from_min': round(half * sample_s / 60.0, 2), 'shortened': False,
        'first_flow_min': round(first * sample_s / 60.0, 2) if first else None,
        'delivered_ul': round(v_end_ul, 2), 'startup_lag_ul': round(lag_ul, 2),
        'startup_lag_min': round(lag_ul / (rate_ml_h * 1000.0) * 60.0, 2), 'alarms': [],
        'seed': None, 'startup_delay_s': A.startup_delay_s(flows, rate_ml_h, sample_s),
        'balance': [(round(i * sample_s, 3), w) for i, w in enumerate(weights)],
        'flows_ml_h': [round(q, 5) for q in flows],
    })
    if res['mean_error_pct'] is not None:
        res['mean_error_pct'] = round(res['mean_error_pct'], 3)
    return res


def bench(url, rate_ml_h, duration_s, sample_s, baudrate=9600, balance=None, **weigh_kw):
    from pumphost.mtsics import BalanceError, MtSicsBalance
    if rate_ml_h is None:
        raise ConfigError('--balance needs --rate: the rate the pump under the balance runs at')
    try:
        bal = balance or MtSicsBalance(url, baudrate=baudrate)
        serial = bal.serial_number()
        weights = weigh(bal, duration_s, sample_s, **weigh_kw)
    except BalanceError as e:
        raise ConfigError('--balance=%s: %s' % (url, e))
    except OSError as e:
        raise ConfigError('--balance=%s: %s' % (url, e.strerror or e))
    run = analyse(weights, rate_ml_h, sample_s)
    return {'bench': 'accuracy (IEC 60601-2-24 trumpet and start-up), real balance',
            'pump': 'real pump', 'source': 'balance %s serial %s' % (url, serial),
            'duration_min': duration_s / 60.0, 'sample_s': sample_s,
            'windows_min': list(A.WINDOWS_MIN), 'balance_resolution_mg': None, 'seed': 0,
            'runs': [run]}
