"""The dashboard's web server (aiohttp): one page, its assets, a websocket
that pushes what is new a few times a second, and one POST for commands.

A target is any object with:
    describe() -> dict           what it is and which controls it offers
    snapshot(cursor) -> (dict, cursor)   what is new since the cursor
    command(action, args) -> dict        {'ok': bool, 'message': str}
    close()
Targets: pumphost.dashboard.serial_target (a board, or `pumpsim serve`,
over a pyserial URL) and simulator.ui.dashboard (the in-process
simulation). The server only listens on 127.0.0.1 unless told otherwise.
"""
import asyncio
import json
from importlib import resources
from pathlib import Path

from aiohttp import web, WSMsgType

STATIC = Path(__file__).resolve().parent / 'static'
PUSH_PERIOD_S = 0.25


class CommandError(ValueError):
    """Bad command from the page: one line naming the field and what is allowed."""


def plotly_js():
    """Plotly's browser bundle, shipped inside the `plotly` wheel (no CDN)."""
    return resources.files('plotly') / 'package_data' / 'plotly.min.js'


def make_app(target):
    app = web.Application()
    app['target'] = target

    async def index(request):
        return web.FileResponse(STATIC / 'index.html')

    async def plotly(request):
        with resources.as_file(plotly_js()) as path:
            return web.FileResponse(path, headers={'Cache-Control': 'max-age=3600'})

    async def describe(request):
        return web.json_response(await asyncio.to_thread(target.describe))

    async def snapshot(request):
        data, _ = await asyncio.to_thread(target.snapshot, None)
        return web.json_response(data)

    async def command(request):
        try:
            body = await request.json()
        except (json.JSONDecodeError, UnicodeDecodeError):
            return web.json_response({'ok': False, 'message': 'the body must be JSON'}, status=400)
        if not isinstance(body, dict) or not isinstance(body.get('action'), str):
            return web.json_response({'ok': False, 'message': 'action: a string is required'},
                                     status=400)
        try:
            result = await asyncio.to_thread(target.command, body['action'], body)
        except CommandError as e:
            return web.json_response({'ok': False, 'message': str(e)}, status=400)
        return web.json_response(result)

    async def live(request):
        ws = web.WebSocketResponse(heartbeat=20)
        await ws.prepare(request)
        cursor = None
        reader = asyncio.ensure_future(ws.receive())
        try:
            while not ws.closed:
                data, cursor = await asyncio.to_thread(target.snapshot, cursor)
                await ws.send_str(json.dumps(data))
                done, _ = await asyncio.wait([reader], timeout=PUSH_PERIOD_S)
                if reader in done:
                    msg = reader.result()
                    if msg.type in (WSMsgType.CLOSE, WSMsgType.CLOSING, WSMsgType.CLOSED,
                                    WSMsgType.ERROR):
                        break
                    if msg.type == WSMsgType.TEXT and msg.data == 'reset':
                        cursor = None
                    reader = asyncio.ensure_future(ws.receive())
        except (ConnectionResetError, asyncio.CancelledError):
            pass
        finally:
            reader.cancel()
        return ws

    async def no_icon(request):
        return web.Response(status=204)

    app.router.add_get('/', index)
    app.router.add_get('/favicon.ico', no_icon)
    app.router.add_get('/plotly.min.js', plotly)
    app.router.add_get('/api/describe', describe)
    app.router.add_get('/api/snapshot', snapshot)
    app.router.add_get('/api/live', live)
    app.router.add_post('/api/command', command)
    app.router.add_static('/static/', STATIC)
    return app


async def _serve(target, host, port, on_ready, stop):
    runner = web.AppRunner(make_app(target), handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    bound = runner.addresses[0][1]
    on_ready('http://%s:%d/' % (host, bound))
    try:
        await stop.wait()
    finally:
        await runner.cleanup()


def serve(target, host='127.0.0.1', port=0, on_ready=print, stop_after_s=None):
    """Serve until Ctrl-C (or `stop_after_s`); `on_ready(url)` once listening."""
    async def main():
        stop = asyncio.Event()
        if stop_after_s:
            asyncio.get_running_loop().call_later(stop_after_s, stop.set)
        await _serve(target, host, port, on_ready, stop)
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        pass
    finally:
        target.close()


def _port(text):
    import argparse
    try:
        v = int(text)
    except ValueError:
        v = -1
    if not 0 <= v <= 65535:
        raise argparse.ArgumentTypeError('%r is not a port (0 to 65535; 0 = a free one)' % text)
    return v


def _seconds(text):
    import argparse
    try:
        v = float(text)
    except ValueError:
        v = -1.0
    if not v > 0:
        raise argparse.ArgumentTypeError('%r is not a number of seconds > 0' % text)
    return v


def add_arguments(p):
    """The options both `pumpsim dashboard` and `pumpctl dashboard` take."""
    p.add_argument('--http-port', type=_port, default=0,
                   help='port to serve the page on, 127.0.0.1 only (default: a free one)')
    p.add_argument('--open-for', type=_seconds, default=None, metavar='SECONDS',
                   help='stop serving after SECONDS (default: until Ctrl-C)')
