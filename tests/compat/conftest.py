"""Fixtures of the oda_api compatibility tests: tokens, a clean oda_api environment and the real client."""
from __future__ import annotations

import logging

import pytest
import requests

from tests.compat.helpers import write_files

PREFIX = "/dispatch-data"


@pytest.fixture
def oda_env(monkeypatch, tmp_path, caplog):
    """No token for oda_api to discover (environment, ./.oda-token, ~/.oda-token), and quiet server logs."""
    monkeypatch.delenv("ODA_TOKEN", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    (tmp_path / "home").mkdir()
    monkeypatch.chdir(tmp_path)
    for name in ("django", "django.server", "django.request"):
        caplog.set_level(logging.CRITICAL, logger=name)
    return tmp_path


@pytest.fixture
def jwt_for():
    from skygallery.gallery.services.jwt_tokens import mint_jwt

    def make(email: str, roles: str = "", days: float = 1.0) -> str:
        return mint_jwt(email, roles.split(","), days)
    return make


@pytest.fixture
def contributor_jwt(jwt_for):
    return jwt_for("ada@example.org", "general, gallery contributor")


@pytest.fixture
def reader_jwt(jwt_for):
    return jwt_for("rita.reader@example.org", "general")


@pytest.fixture
def statuses(monkeypatch, live_server):
    """(method, endpoint, HTTP status) of every request the client makes; the client itself is untouched.
    Every request must go to the live server: no network at test time."""
    seen: list[tuple[str, str, int]] = []
    for method in ("get", "post"):
        original = getattr(requests, method)

        def spy(url, *args, _original=original, _method=method, **kwargs):
            assert url.startswith(live_server.url + "/"), f"request outside the test server: {url}"
            response = _original(url, *args, **kwargs)
            seen.append((_method.upper(), url.split("?")[0].rsplit("/", 1)[-1], response.status_code))
            return response
        monkeypatch.setattr(requests, method, spy)
    return seen


@pytest.fixture
def disp(live_server, oda_env):
    """The unmodified oda_api gallery client pointed at the live server's dispatcher prefix."""
    from oda_api.gallery_api import GalleryDispatcherAPI
    return GalleryDispatcherAPI(url=live_server.url + PREFIX)


@pytest.fixture
def files(tmp_path) -> dict[str, str]:
    return write_files(tmp_path / "files")
