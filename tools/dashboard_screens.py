"""Make docs/img/dashboard-*.png: the walk-through of docs/dashboard.md,
done on the page itself (headless Chromium, Playwright) with the page's
own controls, held and stepped, so every picture is reproducible.

    .venv/bin/python tools/dashboard_screens.py [--out docs/img]

Needs Debian's chromium (/usr/bin/chromium). The PNGs are quantised to
256 colours to keep them small.
"""
import argparse
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FLAGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
         '--disable-background-networking', '--disable-component-update', '--disable-sync']


def start_dashboard():
    p = subprocess.Popen([sys.executable, '-m', 'simulator.ui.cli', 'dashboard', 'demo', '--hold',
                          '--no-events', '--open-for', '600'],
                         cwd=ROOT, stdout=subprocess.PIPE, text=True)
    line = p.stdout.readline()
    return p, 'http://' + line.split('http://', 1)[1].split()[0]


class Page:
    def __init__(self, page, out):
        self.page = page
        self.out = out

    def held(self):
        self.page.wait_for_function("window.dashboard.last && window.dashboard.last.sim.mode === 'hold'",
                                    timeout=120000)
        self.page.wait_for_timeout(300)

    def step(self, span):
        self.page.fill('#step-span', span)
        self.page.click('#btn-step')
        self.page.wait_for_function("document.getElementById('message').textContent.startsWith('step')")
        self.held()

    def until(self, cond, max_='1h'):
        self.page.fill('#until-cond', cond)
        self.page.fill('#until-max', max_)
        self.page.click('#btn-until')
        self.page.wait_for_function("document.getElementById('message').textContent.startsWith('running until')")
        self.held()

    def fault(self, button, name, **params):
        self.page.select_option('#fault-name', name)
        for k, v in params.items():
            self.page.fill('#fault-params input[name=%s]' % k, str(v))
        self.page.click(button)
        self.page.wait_for_function("document.getElementById('message').textContent.includes('%s')" % name)

    def device(self, button, state):
        self.page.click(button)
        self.page.wait_for_function("document.getElementById('state').textContent === '%s'" % state)

    def shot(self, name):
        from PIL import Image
        self.page.wait_for_timeout(1200)     # the plot redraws (throttled)
        path = self.out / ('dashboard-%s.png' % name)
        self.page.screenshot(path=str(path), animations='disabled')
        Image.open(path).convert('RGB').quantize(colors=256).save(path, optimize=True)
        print('wrote %s (%d KB)' % (path, path.stat().st_size // 1024))


def occlusion(pg):
    pg.step('20min')
    pg.shot('1-running')
    pg.fault('#btn-inject', 'downstream_occlusion', severity=1)
    pg.until('probe', '30min')
    pg.shot('2-probe')
    pg.until('state ALARM', '30min')
    pg.step('1min')
    pg.shot('3-occlusion-alarm')
    pg.fault('#btn-clear', 'downstream_occlusion')
    pg.step('1min')
    pg.device('#btn-ack', 'PAUSED')
    pg.device('#btn-resume', 'RUNNING')
    pg.step('5min')
    pg.shot('4-resumed')


def air(pg):
    pg.step('20min')
    pg.fault('#btn-inject', 'air_bubble', volume_ul=80)
    pg.until('alarm air_in_line', '30min')
    pg.step('10s')
    pg.shot('5-air-alarm')
    pg.fault('#btn-clear', 'air_bubble')
    pg.device('#btn-ack', 'PAUSED')
    pg.device('#btn-resume', 'RUNNING')
    pg.step('5min')
    pg.shot('6-air-resumed')


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--out', default=str(ROOT / 'docs' / 'img'))
    ap.add_argument('--chromium', default='/usr/bin/chromium')
    a = ap.parse_args(argv)
    from playwright.sync_api import sync_playwright
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=a.chromium, headless=True, args=FLAGS)
        for walk in (occlusion, air):
            proc, url = start_dashboard()
            try:
                page = browser.new_page(viewport={'width': 1280, 'height': 1000})
                page.goto(url)
                page.wait_for_function('window.dashboard && window.dashboard.firstPlotMs !== null',
                                       timeout=60000)
                walk(Page(page, out))
                page.close()
            finally:
                proc.terminate()
                proc.wait(timeout=10)
        browser.close()
    return 0


if __name__ == '__main__':
    sys.exit(main())
