"""The dashboard in a real browser: Debian's headless Chromium, driven by
Playwright (its own browser download is never used).

`pumpsim dashboard configs/scenarios/demo.yaml`, then from the page alone:
the speed is raised and the pressure trace grows; an
occlusion injected from the page raises the high-priority banner and stops
the motor; acknowledging from the page latches PAUSED; clearing the fault
and resuming from the page runs again. Artefacts (gitignored):
out/test-artifacts/dashboard-alarm.png, dashboard-resumed.png and
dashboard-timing.json (how long the page took to show its first data and
its first plot; recorded, not asserted).
"""
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
ARTEFACTS = ROOT / 'out' / 'test-artifacts'
CHROMIUM = os.environ.get('CHROMIUM', '/usr/bin/chromium')
CHROMIUM_FLAGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
                  '--disable-background-networking', '--disable-component-update', '--disable-sync']
WAIT_MS = 30000


@pytest.fixture
def dashboard():
    # the acceptance command as a user types it (plus a time limit)
    p = subprocess.Popen([sys.executable, '-m', 'simulator.ui.cli', 'dashboard',
                          'configs/scenarios/demo.yaml', '--open-for', '240'],
                         cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = p.stdout.readline()
        assert ' on http://127.0.0.1:' in line, line + p.stderr.read()
        yield line.split(' on ', 1)[1].split()[0]
    finally:
        p.terminate()
        p.wait(timeout=10)


def test_occlusion_from_the_page(dashboard):
    from playwright.sync_api import sync_playwright
    assert Path(CHROMIUM).exists(), (
        'the browser test needs Debian\'s chromium at %s (apt-get install chromium; .ci/run does)'
        % CHROMIUM)
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_FLAGS)
        try:
            page = browser.new_page(viewport={'width': 1400, 'height': 1000})
            errors = []
            page.on('pageerror', lambda e: errors.append(str(e)))
            page.goto(dashboard)
            page.wait_for_function('window.dashboard && window.dashboard.firstDataMs !== null',
                                   timeout=WAIT_MS)
            page.wait_for_function('window.dashboard.firstPlotMs !== null', timeout=WAIT_MS)
            timing = page.evaluate('({first_data_ms: window.dashboard.firstDataMs, '
                                   'first_plot_ms: window.dashboard.firstPlotMs})')

            # the pressure trace grows while RUNNING; faster from the page's speed control
            page.wait_for_function("document.getElementById('state').textContent === 'RUNNING'",
                                   timeout=WAIT_MS)
            page.fill('#speed', '120')
            page.click('#btn-speed')
            page.wait_for_function("window.dashboard.last.sim.speed === 120", timeout=WAIT_MS)
            n0 = page.evaluate('window.dashboard.samples.t.length')
            page.wait_for_function('window.dashboard.samples.t.length > %d + 20' % n0, timeout=WAIT_MS)
            assert page.locator('#plot .scatterlayer .trace').count() >= 6
            assert page.locator('#banner').get_attribute('data-priority') == 'none'

            # inject an occlusion from the page: high-priority banner, motor stopped
            page.select_option('#fault-name', 'downstream_occlusion')
            page.click('#btn-inject')
            page.wait_for_function(
                "document.getElementById('banner').dataset.priority === 'high'", timeout=WAIT_MS)
            assert 'occlusion_downstream' in page.locator('#banner').text_content()
            assert 'banner-high' in page.locator('#banner').get_attribute('class')
            page.wait_for_function("document.getElementById('state').textContent === 'ALARM'",
                                   timeout=WAIT_MS)
            page.wait_for_function(
                "document.getElementById('motor').dataset.motor === 'stopped'", timeout=WAIT_MS)
            page.wait_for_timeout(1500)   # the relief and the marks reach the plot
            page.screenshot(path=str(ARTEFACTS / 'dashboard-alarm.png'), full_page=True)

            # the nurse clears the line, then acknowledges from the page: PAUSED,
            # banner gone; the motor stays stopped until she resumes
            page.click('#btn-clear')
            page.wait_for_function("document.getElementById('message').textContent"
                                   ".startsWith('clear downstream_occlusion')", timeout=WAIT_MS)
            page.click('#btn-ack')
            page.wait_for_function("document.getElementById('state').textContent === 'PAUSED'",
                                   timeout=WAIT_MS)
            page.wait_for_function(
                "document.getElementById('banner').dataset.priority === 'none'", timeout=WAIT_MS)
            assert page.locator('#motor').get_attribute('data-motor') == 'stopped'
            page.click('#btn-resume')
            page.wait_for_function("document.getElementById('state').textContent === 'RUNNING'",
                                   timeout=WAIT_MS)
            page.wait_for_function(
                "document.getElementById('motor').dataset.motor === 'driven'", timeout=WAIT_MS)
            page.wait_for_timeout(1500)
            page.screenshot(path=str(ARTEFACTS / 'dashboard-resumed.png'), full_page=True)
            kinds = page.evaluate('window.dashboard.last.events.map(e => e.kind)')
            for k in ('inject', 'alarm', 'ack', 'clear', 'resume'):
                assert k in kinds, kinds
            marks = page.evaluate("Array.from(document.querySelectorAll('#plot .annotation-text'))"
                                  ".map(a => a.textContent).join(' ')")
            for k in ('inject', 'alarm', 'clear', 'ack', 'resume'):   # marked on the plot
                assert k in marks, marks
            assert errors == []
        finally:
            browser.close()
    (ARTEFACTS / 'dashboard-timing.json').write_text(json.dumps(timing, indent=1) + '\n')
    print('dashboard timing:', timing)
