"""A real SkyGallery server with the sample data, and Debian's Chromium driven by Playwright.

The server runs in a subprocess (``skygallery serve``) on a temporary SKYGALLERY_HOME with its own
SQLite database, filled once per session by the sample loader; the pages under test are the ones a
user gets. Screenshots go to ``test-artifacts/browser/``.
"""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "browser"
LAUNCH_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
               "--disable-sync", "--no-first-run"]

# Playwright's sync API runs an event loop in this thread; the tests themselves make no ORM calls.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def gallery_url(tmp_path_factory):
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI") == "true":
            pytest.fail(f"{CHROMIUM} is missing in CI (scripts/ensure-chromium.sh installs it)")
        pytest.skip(f"{CHROMIUM} not installed (make browser installs Debian's chromium)")
    home = tmp_path_factory.mktemp("browser-home")
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "DJANGO_SETTINGS_MODULE")}
    env.update(SKYGALLERY_HOME=str(home), SKYGALLERY_SECRET_KEY="browser-tests-secret-key-0123456789abcdef")
    subprocess.run([sys.executable, "-m", "skygallery.client.sample"], env=env, check=True, capture_output=True,
                   timeout=300)
    port = _free_port()
    log = open(home / "server.log", "w")
    server = subprocess.Popen([sys.executable, "-m", "skygallery.client.cli", "serve", "--port", str(port)],
                              env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    for _ in range(100):
        try:
            if requests.get(url + "/api/v1/instruments", timeout=5).ok:
                break
        except requests.RequestException:
            time.sleep(0.2)
    else:
        server.terminate()
        pytest.fail(f"server did not start: {(home / 'server.log').read_text()[-2000:]}")
    yield url
    server.terminate()
    server.wait(timeout=10)
    log.close()


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=LAUNCH_ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser, gallery_url, request):
    context = browser.new_context(viewport={"width": 1280, "height": 900}, base_url=gallery_url)
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=gallery_url)
    pg = context.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda e: errors.append(str(e)))
    pg.errors = errors
    yield pg
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    pg.screenshot(path=str(ARTIFACTS / f"{request.node.name}.png"), full_page=True)
    context.close()
