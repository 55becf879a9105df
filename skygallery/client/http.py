"""The client side of the SkyGallery REST API (``/api/v1``), used by ``skygallery … --url``.

* :class:`GalleryHTTPClient` — search/get/post_product/delete/download over HTTP::

      client = GalleryHTTPClient("https://gallery.example.org", token="sg_…")
      page = client.search({"instrument": "isgri", "source": "Crab"})
      meta = client.post_product({"title": …}, [("fits", "mosaic.fits"), ("preview", "p.png")])
      client.download(meta["files"][0]["url"], open("mosaic.fits", "wb"))

  Every failure raises :class:`GalleryHTTPError` carrying the HTTP status (``None`` when the
  server could not be reached) and the server's ``detail`` list (``.errors``: (field, message)).
* Request building shared with the in-process mode of the CLI: file roles from ``ROLE=PATH``
  arguments or extensions (the multipart layout: files in fields named by role) and the
  metadata from a YAML/JSON file overridden by flags.
* Export writing: safe, unique file names (uploaded names are never used as paths) and
  ``manifest.json`` with the sha256 of each written file.

Only the standard library is imported at module level (``requests`` and ``yaml`` on use), so
that ``skygallery --help`` stays fast.
"""
from __future__ import annotations

import hashlib
import json
import mimetypes
import os
import re
import secrets
import unicodedata
from contextlib import ExitStack
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any, BinaryIO, Callable, Iterable, Mapping
from urllib.parse import quote, urljoin, urlsplit

from skygallery.gallery.constants import FILE_ROLES
from skygallery.gallery.errors import GalleryError, InvalidInput

API_PREFIX = "/api/v1"
CHUNK = 1 << 20
SUFFIX_ROLES = (((".fits", ".fits.gz", ".fit", ".fit.gz", ".fts"), "fits"), ((".reg",), "region"),
                ((".rmf",), "rmf"), ((".arf",), "arf"), ((".png", ".jpg", ".jpeg", ".gif"), "preview"),
                ((".yaml", ".yml"), "yaml"), ((".html", ".htm"), "html-attachment"), ((".csv", ".txt"), "table"))


class GalleryHTTPError(Exception):
    """An error answer of the server (or no answer at all: ``status is None``)."""

    def __init__(self, status: int | None, message: str, detail: list[dict] | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.detail = detail or []

    @property
    def errors(self) -> list[tuple[str, str]]:
        """(field, message) pairs, like ``InvalidInput.errors``."""
        return [(".".join(str(p) for p in d.get("loc", []) if p not in ("body", "query")), str(d.get("msg", "")))
                for d in self.detail]

    @property
    def is_validation(self) -> bool:
        return self.status in (400, 422)

    def __str__(self) -> str:
        return f"HTTP {self.status}: {self.message}" if self.status else self.message


def _detail(response) -> tuple[str, list[dict]]:
    try:
        body = response.json()
    except ValueError:
        text = " ".join(response.text.split())[:300]
        return text or response.reason or "no detail", []
    detail = body.get("detail") if isinstance(body, dict) else None
    if isinstance(detail, str):
        return detail, [{"loc": [], "msg": detail}]
    if isinstance(detail, list) and detail:
        items = [d if isinstance(d, dict) else {"loc": [], "msg": str(d)} for d in detail]
        parts = []
        for d in items:
            loc = ".".join(str(p) for p in d.get("loc", []) if p not in ("body", "query"))
            parts.append(f"{loc}: {d.get('msg', '')}" if loc else str(d.get("msg", "")))
        return "; ".join(parts), items
    return json.dumps(body)[:300], []


class GalleryHTTPClient:
    def __init__(self, url: str, token: str | None = None, timeout: float = 120.0, session=None):
        import requests
        url = (url or "").strip().rstrip("/")
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise InvalidInput(("url", f"{url!r} is not an http(s) URL of a SkyGallery server"))
        if url.endswith(API_PREFIX):
            url = url[: -len(API_PREFIX)]
        self.root = url
        self.token = token or None
        self.timeout = timeout
        self.session = session or requests.Session()

    # -- plumbing -------------------------------------------------------------------------------
    def api_url(self, path: str) -> str:
        return self.root + API_PREFIX + path

    def absolute(self, url: str) -> str:
        """An URL the server gave (``/api/v1/…``) made absolute; other servers are refused."""
        full = urljoin(self.root + "/", url)
        if urlsplit(full).netloc != urlsplit(self.root).netloc:
            raise GalleryHTTPError(None, f"refusing to follow {url!r}: not on {self.root}")
        return full

    def request(self, method: str, url: str, **kwargs):
        import requests
        headers = kwargs.pop("headers", {})
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        headers.setdefault("Accept", "application/json")
        try:
            response = self.session.request(method, url, headers=headers, timeout=self.timeout, **kwargs)
        except requests.RequestException as exc:
            reason = re.search(r"\[Errno -?\d+\] ([^'\")\]]+)", str(exc))
            raise GalleryHTTPError(None, f"cannot reach {self.root}: "
                                         f"{reason.group(1) if reason else type(exc).__name__}") from None
        if response.status_code >= 400:
            message, detail = _detail(response)
            response.close()
            if response.status_code in (401, 403) and ("CSRF" in message or response.status_code == 401):
                # Writes fall back to session auth when no valid token is sent: say what is wrong.
                message = ("token not accepted (unknown, revoked or expired)" if self.token
                           else "this needs an API token (--token or SKYGALLERY_TOKEN)")
                detail = [{"loc": ["token"], "msg": message}]
            raise GalleryHTTPError(response.status_code, message, detail)
        return response

    def _json(self, method: str, path: str, **kwargs) -> Any:
        response = self.request(method, self.api_url(path), **kwargs)
        try:
            return response.json()
        except ValueError:
            raise GalleryHTTPError(response.status_code, f"the server did not answer JSON on {path}") from None

    @staticmethod
    def _pid(product_id: str) -> str:
        return quote(product_id, safe="")

    # -- products -------------------------------------------------------------------------------
    def search(self, params: Mapping[str, Any]) -> dict:
        """``GET /products``: ``{"total", "total_exact", "page", "page_size", "query", "results"}``."""
        query = {k: (str(v).lower() if isinstance(v, bool) else str(v)) for k, v in params.items()
                 if v is not None and v != ""}
        return self._json("GET", "/products", params=query)

    def get(self, product_id: str, version: int | None = None) -> dict:
        """The metadata of the latest version, or of version ``version``."""
        path = f"/products/{self._pid(product_id)}"
        return self._json("GET", path if version is None else f"{path}/versions/{int(version)}")

    def post_product(self, metadata: Mapping[str, Any], files: Iterable[tuple[str, str | Path]] = ()) -> dict:
        """``POST /products`` as multipart: ``metadata`` JSON plus ``(role, path)`` files."""
        with ExitStack() as stack:
            parts = []
            for role, path in files:
                path = Path(path)
                handle = stack.enter_context(path.open("rb"))
                mime = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
                parts.append((role, (path.name, handle, mime)))
            if not parts:
                return self._json("POST", "/products", json=dict(metadata))
            return self._json("POST", "/products", data={"metadata": json.dumps(dict(metadata))}, files=parts)

    def delete(self, product_id: str) -> dict:
        return self._json("DELETE", f"/products/{self._pid(product_id)}")

    def download(self, url: str, out: BinaryIO) -> int:
        """Stream the file at ``url`` (as given in a file's ``url``) to ``out``; return the byte count."""
        response = self.request("GET", self.absolute(url), stream=True, headers={"Accept": "*/*"})
        size = 0
        with response:
            for chunk in response.iter_content(CHUNK):
                out.write(chunk)
                size += len(chunk)
        return size


# -- request building (shared with the in-process mode) -------------------------------------------
def infer_role(path: str | Path) -> str:
    """The file role for a file name: .fits/.fit(.gz) fits, .reg region, .png/.jpg preview, … else other."""
    name = Path(path).name.lower()
    return next((role for suffixes, role in SUFFIX_ROLES if name.endswith(suffixes)), "other")


def parse_file_args(args: list[str]) -> list[tuple[str, Path]]:
    """``ROLE=PATH`` or ``PATH`` (role from the extension) → (role, path) of existing files."""
    out = []
    for i, arg in enumerate(args or []):
        role, sep, rest = arg.partition("=")
        if sep and role in FILE_ROLES:
            path = Path(rest)
        elif sep and re.fullmatch(r"[a-z][a-z-]*", role) and not Path(arg).exists():
            raise InvalidInput((f"files[{i}]", f"unknown file role {role!r} in {arg!r}; one of {', '.join(FILE_ROLES)}"))
        else:
            role, path = infer_role(arg), Path(arg)
        if not path.is_file():
            raise InvalidInput((f"files.{role}", f"{path}: {'not a file' if path.exists() else 'no such file'}"))
        out.append((role, path))
    return out


def _plain(value: Any) -> Any:
    """YAML values made JSON-ready (YAML reads bare timestamps as datetimes: back to ISOT, UTC)."""
    if isinstance(value, datetime):
        value = value.astimezone(timezone.utc).replace(tzinfo=None) if value.tzinfo else value
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    return [_plain(v) for v in value] if isinstance(value, (list, tuple)) else value


def load_metadata_file(path: Path) -> dict:
    import yaml
    try:
        text = path.read_text(encoding="utf-8")
        data = json.loads(text) if path.suffix.lower() == ".json" else yaml.safe_load(text)
    except (OSError, UnicodeDecodeError, ValueError, yaml.YAMLError) as exc:
        raise InvalidInput(("metadata", f"{path}: {type(exc).__name__}: {exc}")) from None
    if not isinstance(data, dict):
        raise InvalidInput(("metadata", f"{path}: expected a mapping of metadata fields"))
    return _plain(data)


def parse_params(items: list[str]) -> dict:
    """``key=value`` pairs; values are JSON when they parse as JSON (numbers, true, lists …), else text."""
    params = {}
    for item in items or []:
        key, sep, raw = item.partition("=")
        if not sep or not key.strip():
            raise InvalidInput(("param", f"{item!r} is not key=value"))
        try:
            params[key.strip()] = json.loads(raw)
        except ValueError:
            params[key.strip()] = raw
    return params


def build_metadata(metadata_file: Path | None, fields: dict, sources: list[str], params: list[str],
                   provenance: dict) -> dict:
    """The metadata file's content overridden by the flags given (None = not given)."""
    data = load_metadata_file(metadata_file) if metadata_file else {}
    data.update({k: v for k, v in fields.items() if v is not None})
    if sources:
        data["sources"] = list(sources)
    prov = data.get("provenance", {})
    if not isinstance(prov, dict):
        raise InvalidInput(("provenance", "expected a mapping"))
    prov.update({k: v for k, v in provenance.items() if v is not None})
    if params:
        prov["parameters"] = {**(prov.get("parameters") or {}), **parse_params(params)}
    if prov:
        data["provenance"] = prov
    return data


# -- export writing ---------------------------------------------------------------------------------
def safe_name(name: str) -> str:
    """A file name made safe: base name only, letters, digits and ._+- kept, no leading dot or dash."""
    base = re.split(r"[/\\]", unicodedata.normalize("NFKC", str(name or "")))[-1]
    base = re.sub(r"[^A-Za-z0-9._+-]+", "_", base).lstrip(".-_")
    stem, dot, ext = base.partition(".")
    return (stem[:120] + dot + ext[:40]) if stem else ("file" + dot + ext[:40])


def unique_name(name: str, used: set[str]) -> str:
    stem, dot, ext = name.partition(".")
    candidate, n = name, 1
    while candidate.lower() in used:
        n += 1
        candidate = f"{stem}-{n}{dot}{ext}"
    used.add(candidate.lower())
    return candidate


def write_hashed(path: Path, fill: Callable) -> tuple[str, int]:
    """Write via ``fill(stream)`` to a temp file next to ``path``, then move it in place (never through a link)."""
    digest, size = hashlib.sha256(), 0

    class Out:
        def write(self, chunk: bytes) -> int:
            nonlocal size
            digest.update(chunk)
            size += len(chunk)
            return handle.write(chunk)
    tmp = path.parent / f".part-{secrets.token_hex(8)}"
    try:
        with tmp.open("xb") as handle:  # exclusive create: never through an existing file or link
            fill(Out())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return digest.hexdigest(), size




def write_export(meta: Mapping[str, Any], out: Path, fetch: Callable[[dict, Any], Any]) -> dict:
    """Write the files of a version's metadata ``meta`` into ``out`` (``fetch(file, stream)`` writes
    one file's bytes) and ``manifest.json``: the metadata with each file's written ``path``,
    ``size`` and ``sha256`` (checked against the gallery's). Returns the manifest."""
    out.mkdir(parents=True, exist_ok=True)
    used, files = {"manifest.json"}, []
    for f in meta.get("files", []):
        name = unique_name(safe_name(f["name"]), used)
        digest, size = write_hashed(out / name, lambda stream, f=f: fetch(f, stream))
        if f.get("sha256") and digest != f["sha256"]:
            (out / name).unlink(missing_ok=True)
            raise GalleryError(f"{f['name']}: written sha256 {digest} differs from the gallery's {f['sha256']}")
        files.append({**f, "path": name, "sha256": digest, "size": size})
    manifest = {**meta, "files": files}
    write_hashed(out / "manifest.json", lambda stream: stream.write(json.dumps(manifest, indent=2).encode()))
    return manifest
