"""The ``skygallery`` command line, in-process (services) and against a live server (``--url``)."""
from __future__ import annotations

import hashlib
import json
import logging
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from skygallery.client import http
from skygallery.client.cli import app
from tests.conftest import REGION_TEXT, fits_image_bytes, png_bytes

COMMANDS = ("init", "serve", "user", "token", "post", "search", "export", "delete", "collect-garbage")


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def flags(pid="isgri-crab-2565", **over) -> list[str]:
    values = {"product-id": pid, "title": "Crab Rev. 2565", "instrument": "isgri", "product-type": "isgri_image",
              "e1": "28", "e2": "40", "t1": "2022-10-28T05:52:20.5", "t2": "2022-10-28T13:07:26", "ra": "83.633",
              "dec": "22.014", "source": "Crab", "data-version": "NRT", **over}
    return [a for k, v in values.items() if v is not None for a in (f"--{k}", str(v))] + ["--create-sources"]


@pytest.fixture(autouse=True)
def clean_env(monkeypatch):
    for name in ("SKYGALLERY_URL", "SKYGALLERY_TOKEN", "SKYGALLERY_DEBUG"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("COLUMNS", "250")


@pytest.fixture
def cli(django_capture_on_commit_callbacks):
    """Run the CLI; on-commit hooks (which move stored files in place) run as they would outside tests."""
    def run(*args, input=None, code=0):
        with django_capture_on_commit_callbacks(execute=True):
            result = CliRunner().invoke(app, [str(a) for a in args], input=input)
        assert result.exit_code == code, result.output
        assert "Traceback" not in result.output
        if code:
            lines = result.stderr.strip().splitlines()
            assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
        return result
    return run


@pytest.fixture
def admin(db):
    from skygallery.gallery.services.accounts import create_user
    return create_user("ada", None, role="admin")


@pytest.fixture
def files(tmp_path) -> dict[str, Path]:
    out = {"mosaic.fits": fits_image_bytes(), "p.png": png_bytes(), "src.reg": REGION_TEXT.encode(),
           "notes.txt": b"a,b\n1,2\n", "extra.bin": b"\x00\x01binary", "quicklook.dat": png_bytes()}
    (tmp_path / "in").mkdir()
    for name, data in out.items():
        (tmp_path / "in" / name).write_bytes(data)
    return {name: tmp_path / "in" / name for name in out}


def stored() -> set[str]:
    from skygallery.gallery.services.filestore import FileStore
    return set(FileStore().stored_digests())


def temp_files() -> list[Path]:
    from skygallery.gallery.services.filestore import FileStore
    tmp = FileStore().root / "tmp"
    return list(tmp.iterdir()) if tmp.exists() else []


# ------------------------------------------------------------------------------------------ help, helpers
def test_help_lists_every_command_without_django(tmp_path):
    code = ("import sys\nfrom skygallery.client.cli import app\n"
            "try:\n    app(['--help'], prog_name='skygallery')\nexcept SystemExit as e:\n    rc = e.code\n"
            "print('RC', rc, 'DJANGO', sorted(m for m in sys.modules if m.split('.')[0] == 'django')[:3])")
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    env.update(DATABASE_URL="postgres://nobody@127.0.0.1:1/none", SKYGALLERY_HOME=str(tmp_path), COLUMNS="200")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60,
                         cwd=Path(__file__).resolve().parents[2])
    assert "RC 0 DJANGO []" in out.stdout, out.stdout + out.stderr
    for name in COMMANDS:
        assert f" {name} " in out.stdout, name


@pytest.mark.parametrize("args", [[c] for c in COMMANDS if c not in ("user", "token")]
                         + [["user", c] for c in ("create", "role", "list")]
                         + [["token", c] for c in ("create", "revoke", "list")])
def test_every_command_has_help_with_an_example(args):
    result = CliRunner().invoke(app, [*args, "--help"])
    assert result.exit_code == 0, result.output
    assert "Example" in result.output and "skygallery " + " ".join(args) in result.output


def test_file_roles_and_names():
    expect = {"m.fits": "fits", "M.FITS.GZ": "fits", "a.fit": "fits", "s.reg": "region", "x.rmf": "rmf",
              "x.arf": "arf", "p.png": "preview", "p.jpg": "preview", "c.yaml": "yaml", "c.yml": "yaml",
              "r.html": "html-attachment", "t.csv": "table", "t.txt": "table", "d.bin": "other", "noext": "other"}
    assert {name: http.infer_role(name) for name in expect} == expect
    assert http.safe_name("../../etc/passwd") == "passwd" and http.safe_name("..") == "file"
    assert http.safe_name("a\\b\\.hidden rc") == "hidden_rc" and http.safe_name("-rf") == "rf"
    used = {"manifest.json"}
    assert [http.unique_name(n, used) for n in ("m.fits.gz", "M.fits.gz", "manifest.json")] == \
        ["m.fits.gz", "M-2.fits.gz", "manifest-2.json"]


# ------------------------------------------------------------------------------------------ init, serve
def test_init_is_idempotent_and_repairs_vocabularies(cli, db):
    from django.contrib.auth.models import Group
    from skygallery.gallery.models import Instrument, ProductType
    first = cli("init").stdout
    assert "migrations applied: 0 (up to date)" in first and "6 instruments, 9 product types" in first
    Instrument.objects.filter(name="isgri").update(label="broken")
    Group.objects.filter(name="contributor").delete()
    again = cli("init").stdout
    assert again == first and cli("init").stdout == first
    assert Instrument.objects.get(name="isgri").label == "IBIS/ISGRI"
    assert Group.objects.filter(name="contributor").count() == 1
    assert (Instrument.objects.count(), ProductType.objects.count()) == (6, 9)


def test_init_refreshes_planner_statistics(cli, db):
    """The planners choose the search indexes from statistics: SQLite has none before ANALYZE."""
    from django.db import connection
    from tests.gallery.helpers import post_light_curve
    post_light_curve("lc", [{"name": "GX 1+4", "ra": 263.0126, "dec": -24.7456, "object_type": "LowMassXBin"}])
    sql = ("SELECT COUNT(*) FROM sqlite_stat1 WHERE tbl = 'gallery_productsource'" if connection.vendor == "sqlite"
           else "SELECT reltuples FROM pg_class WHERE relname = 'gallery_productsource'")   # -1: never analyzed
    cli("init")
    with connection.cursor() as cursor:
        cursor.execute(sql)
        assert cursor.fetchone()[0] > 0


def test_serve_migrates_then_serves_static_files_without_debug(cli, db, monkeypatch, settings):
    import socketserver

    from django.contrib.staticfiles.handlers import StaticFilesHandler
    from wsgiref.util import setup_testing_defaults

    from skygallery.client import gallery_cmds
    settings.DEBUG = False
    seen = {}
    monkeypatch.setattr(gallery_cmds, "_run", lambda httpd, processes: seen.update(httpd=httpd, processes=processes))
    out = cli("serve", "--port", "0", "--workers", "2", "--processes", "2").stdout
    httpd = seen["httpd"]
    assert "migrations applied: 0" in out and f"SkyGallery at http://127.0.0.1:{httpd.server_port}/" in out
    assert httpd.server_port > 0 and seen["processes"] == 2 and isinstance(httpd, socketserver.ThreadingMixIn)
    assert isinstance(httpd.get_app(), StaticFilesHandler)
    slots = type(httpd).slots
    assert slots.acquire(blocking=False) and slots.acquire(blocking=False) and not slots.acquire(blocking=False)
    environ = {"PATH_INFO": "/static/gallery/site.css"}
    setup_testing_defaults(environ)
    status = []
    body = b"".join(httpd.get_app()(environ, lambda s, h, *a: status.append(s)))
    assert status[0].startswith("200") and body


# ------------------------------------------------------------------------------------------ users, tokens
def test_users_and_tokens(cli, db):
    from django.contrib.auth import get_user_model
    from skygallery.gallery.services.accounts import role_of, user_for_token
    cli("user", "create", "alice", "--role", "admin", "--password", "Str0ng-pass-99", "--email", "a@x.org")
    cli("user", "create", "bob", input="Another-pass-77\nAnother-pass-77\n")
    bob = get_user_model().objects.get(username="bob")
    assert bob.check_password("Another-pass-77") and role_of(bob) == "reader"
    assert "username" in cli("user", "create", "bob", "--no-password", code=2).stderr
    assert "password" in cli("user", "create", "carl", "--password", "123", code=2).stderr
    cli("user", "role", "bob", "contributor")
    assert role_of(get_user_model().objects.get(username="bob")) == "contributor"
    assert "role" in cli("user", "role", "bob", "wizard", code=2).stderr
    assert "ghost" in cli("user", "role", "ghost", "reader", code=1).stderr
    listing = cli("user", "list").stdout
    assert "alice" in listing and "admin" in listing and "contributor" in listing

    out = cli("token", "create", "--user", "bob", "--name", "laptop", "--days", "30").stdout
    clear = next(w for w in out.split() if w.startswith("sg_"))
    assert user_for_token(clear).username == "bob"
    quiet = cli("token", "create", "--user", "bob", "-q").stdout.strip()
    assert quiet.startswith("sg_") and user_for_token(quiet).username == "bob"
    token_id = bob.api_tokens.get(name="laptop").pk
    listing = cli("token", "list", "--user", "bob").stdout
    assert "laptop" in listing and "active" in listing and clear not in listing
    cli("token", "revoke", "--user", "bob", token_id)
    assert user_for_token(clear) is None and user_for_token(quiet) is not None
    assert "revoked" in cli("token", "list", "--user", "bob").stdout
    cli("token", "revoke", "--user", "bob", token_id, code=1)
    assert "user" in cli("token", "create", code=2).stderr
    assert "days" in cli("token", "create", "--user", "bob", "--days", "0", code=2).stderr


# ------------------------------------------------------------------------------------------ post
def test_post_with_flags_and_files_infers_roles(cli, admin, files):
    from skygallery.gallery.models import Product
    args = [files[n] for n in ("mosaic.fits", "p.png", "src.reg", "notes.txt", "extra.bin")]
    out = cli("post", *args, f"preview={files['quicklook.dat']}", *flags(), "--param", "rev_num=2565",
              "--param", "E1_keV=28.0", "--param", "label=hello", "--param", "bands=[1, 2]",
              "--notebook", "nb.ipynb", "--commit", "abc123").stdout
    assert "posted isgri-crab-2565 version 1 (6 files)" in out and "/products/isgri-crab-2565/" in out
    product = Product.objects.get(product_id="isgri-crab-2565")
    files_by_name = {f.original_name: f for f in product.current_version().files.all()}
    assert {n: f.role for n, f in files_by_name.items()} == {
        "mosaic.fits": "fits", "p.png": "preview", "src.reg": "region", "notes.txt": "table",
        "extra.bin": "other", "quicklook.dat": "preview"}
    assert product.parameters == {"rev_num": 2565, "E1_keV": 28.0, "label": "hello", "bands": [1, 2]}
    assert (product.notebook, product.repository_commit, product.created_by.username) == ("nb.ipynb", "abc123", "ada")
    assert {f.sha256 for f in files_by_name.values()} <= stored()
    assert files_by_name["mosaic.fits"].sha256 == sha(files["mosaic.fits"].read_bytes())


def test_post_yaml_metadata_with_flag_overrides_and_versions(cli, admin, contributor, reader, files, tmp_path):
    from skygallery.gallery.models import Product
    meta = tmp_path / "meta.yaml"
    meta.write_text("product_id: jemx-cyg\ntitle: From the file\ninstrument: jemx1\nproduct_type: jemx_image\n"
                    "e1_kev: 3\ne2_kev: 20\nt1: 2022-10-28T05:52:20.5\nt2: 2022-10-28 13:07:26\n"
                    "sources: [Cyg X-1]\ncreate_sources: true\ndata_version: CONS\n"
                    "provenance: {notebook: from-file.ipynb, parameters: {a: 1}}\n")
    cli("post", files["mosaic.fits"], "--metadata", meta, "--title", "From the flag", "--highlight",
        "--param", "b=2", "--as-user", "carla")
    p = Product.objects.get(product_id="jemx-cyg")
    assert (p.title, p.highlight, p.data_version, p.notebook) == ("From the flag", True, "CONS", "from-file.ipynb")
    assert (p.parameters, p.created_by.username, p.rev1) == ({"a": 1, "b": 2}, "carla", 2565)
    assert [s.name for s in p.sources.all()] == ["Cyg X-1"]
    assert "version 2" in cli("post", files["p.png"], "--metadata", meta).stdout
    assert Product.objects.get(product_id="jemx-cyg").title == "From the file"
    assert "contributor" in cli("post", "--metadata", meta, "--as-user", "rita", code=1).stderr
    bad = tmp_path / "bad.yaml"
    bad.write_text("- just\n- a list\n")
    assert "metadata" in cli("post", "--metadata", bad, code=2).stderr


@pytest.mark.parametrize("extra, words", [
    (["--ra", "458"], ["ra:", "458"]),
    (["--instrument", "hubble"], ["instrument:", "hubble"]),
    (["--e1", "50", "--e2", "40"], ["e2_kev:", "E1"]),
    (["{missing}"], ["missing.fits", "no such file"]),
    (["blob={fits}"], ["unknown file role", "blob"]),
    (["--param", "novalue"], ["param:"]),
    (["--title", " "], ["title:"]),
])
def test_bad_post_exits_2_naming_the_field_and_stores_nothing(cli, admin, files, tmp_path, extra, words):
    from skygallery.gallery.models import Product, Source
    extra = [e.format(missing=tmp_path / "missing.fits", fits=files["mosaic.fits"]) for e in extra]
    err = cli("post", files["mosaic.fits"], files["p.png"], *flags(), *extra, code=2).stderr
    assert err.startswith("error: invalid input") and all(w in err for w in words), err
    assert not Product.objects.exists() and not Source.objects.exists()
    assert stored() == set() and temp_files() == []


# ------------------------------------------------------------------------------------------ search, export, delete
@pytest.fixture
def three_products(cli, admin, files):
    cli("post", files["mosaic.fits"], *flags("a-isgri-crab"))
    cli("post", files["mosaic.fits"], *flags("b-jemx-cyg", instrument="jemx1", **{"product-type": "jemx_image"},
                                             e1=3, e2=20, source="Cyg X-1", ra=299.59, dec=35.2))
    cli("post", files["notes.txt"], *flags("c-isgri-crab-lc", **{"product-type": "isgri_lc"}, t1="2021-05-01T00:00:00",
                                           t2="2021-05-03T00:00:00"))


def search_ids(cli, *args) -> set[str]:
    body = json.loads(cli("search", *args, "--json").stdout)
    assert body["total"] == len(body["results"])
    return {r["product_id"] for r in body["results"]}


def test_search_filters_table_and_json(cli, three_products):
    assert search_ids(cli) == {"a-isgri-crab", "b-jemx-cyg", "c-isgri-crab-lc"}
    assert search_ids(cli, "--instrument", "isgri", "--source", "Crab Nebula") == {"a-isgri-crab", "c-isgri-crab-lc"}
    assert search_ids(cli, "--instrument", "jemx") == {"b-jemx-cyg"}
    assert search_ids(cli, "--family", "lightcurve", "--source", "tau a") == {"c-isgri-crab-lc"}
    assert search_ids(cli, "--rev", "2565", "--per-revolution") == {"a-isgri-crab", "b-jemx-cyg"}
    assert search_ids(cli, "--ra", "299.6", "--dec", "35.2", "--radius", "30arcmin") == {"b-jemx-cyg"}
    assert search_ids(cli, "--e1", "20", "--e2", "50") == {"a-isgri-crab", "c-isgri-crab-lc"}
    table = cli("search", "--source", "crab", "--sort", "time").stdout
    assert "product_id" in table and "2 of 2 products" in table and "b-jemx-cyg" not in table
    assert table.index("c-isgri-crab-lc") < table.index("a-isgri-crab") and "2565" in table
    assert "e2" in cli("search", "--e1", "50", "--e2", "40", code=2).stderr
    assert "instrument" in cli("search", "--instrument", "hubble", code=2).stderr


def test_export_writes_verified_files_and_manifest(cli, admin, files, tmp_path, no_auto_preview):
    from skygallery.gallery.models import Product
    other = tmp_path / "other"
    other.mkdir()
    (other / "mosaic.fits").write_bytes(fits_image_bytes(value=5.0))
    cli("post", files["mosaic.fits"], other / "mosaic.fits", files["src.reg"], *flags())
    cli("post", files["p.png"], *flags())
    out, victim = tmp_path / "out", tmp_path / "victim.txt"
    out.mkdir()
    victim.write_text("keep me")
    (out / "mosaic.fits").symlink_to(victim)  # a planted link is replaced, never written through
    assert "3 files" in cli("export", "isgri-crab-2565", "--out", out, "--version", "1").stdout
    manifest = json.loads((out / "manifest.json").read_text())
    assert (manifest["product_id"], manifest["version"]) == ("isgri-crab-2565", 1)
    assert sorted(f["path"] for f in manifest["files"]) == ["mosaic-2.fits", "mosaic.fits", "src.reg"]
    db_files = {f.sha256 for f in Product.objects.get().versions.get(number=1).files.all()}
    for f in manifest["files"]:
        assert sha((out / f["path"]).read_bytes()) == f["sha256"] and f["sha256"] in db_files
    assert victim.read_text() == "keep me" and not (out / "mosaic.fits").is_symlink()
    latest = tmp_path / "latest"
    cli("export", "isgri-crab-2565", "--out", latest)
    assert sorted(p.name for p in latest.iterdir()) == ["manifest.json", "p.png"]
    assert "no version 7" in cli("export", "isgri-crab-2565", "--out", latest, "--version", "7", code=1).stderr
    assert "not found" in cli("export", "nope", "--out", latest, code=1).stderr


@pytest.fixture
def no_auto_preview(settings):
    """These tests count stored files exactly: no preview is drawn for products posted without one."""
    settings.SKYGALLERY = {**settings.SKYGALLERY, "AUTO_PREVIEW": False}


def test_delete_then_search_no_longer_finds_it(cli, three_products):
    cli("delete", "a-isgri-crab")
    assert search_ids(cli, "--source", "Crab") == {"c-isgri-crab-lc"}
    assert "not found" in cli("delete", "a-isgri-crab", code=1).stderr
    assert "not found" in cli("export", "a-isgri-crab", "--out", "x", code=1).stderr


def test_collect_garbage_removes_only_unreferenced(cli, admin, files, tmp_path, no_auto_preview):
    from skygallery.gallery.models import Observation, ObservationFile, Product
    from skygallery.gallery.services.filestore import FileStore
    store = FileStore()
    v1, v2, shared, b_only = (fits_image_bytes(value=v) for v in (1.0, 2.0, 3.0, 4.0))
    for name, data in (("v1.fits", v1), ("v2.fits", v2), ("shared.fits", shared), ("b.fits", b_only)):
        (tmp_path / name).write_bytes(data)
    cli("post", tmp_path / "v1.fits", tmp_path / "shared.fits", *flags("a"))
    cli("post", tmp_path / "v2.fits", *flags("a"))  # version 2; version 1's files stay referenced
    cli("post", tmp_path / "shared.fits", tmp_path / "b.fits", *flags("b"))
    orphan, obs_blob = store.put_bytes(b"orphan"), store.put_bytes(b"observation file")
    obs = Observation.objects.create(title="obs", t_start="2022-10-28T00:00Z", t_end="2022-10-29T00:00Z",
                                     rev1=2565, rev2=2565, span=0)
    ObservationFile.objects.create(observation=obs, role="other", original_name="o.txt", size=16, sha256=obs_blob,
                                   mime="text/plain")
    cli("delete", "b")
    (store.root / "tmp").mkdir(exist_ok=True)
    old, new = store.root / "tmp" / "old", store.root / "tmp" / "new"
    old.write_bytes(b"x")
    new.write_bytes(b"y")
    os.utime(old, (time.time() - 3 * 86400,) * 2)
    keep = {sha(v1), sha(v2), sha(shared), sha(b_only), obs_blob}
    assert stored() == keep | {orphan}

    assert "would remove 1 of 6" in cli("collect-garbage", "--dry-run").stdout
    assert stored() == keep | {orphan} and old.exists()
    assert "removed 1 of 6 stored files" in cli("collect-garbage").stdout
    assert stored() == keep and not old.exists() and new.exists()
    assert Product.objects.filter(product_id="b").exists()  # soft-deleted: kept with its files

    out = cli("collect-garbage", "--purge-deleted").stdout
    assert "purged 1 deleted products: b" in out and "removed 1 of 5" in out
    assert stored() == keep - {sha(b_only)} and not Product.objects.filter(product_id="b").exists()
    assert Product.objects.get(product_id="a").version == 2


# ------------------------------------------------------------------------------------------ --url mode
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_remote_mode_against_a_live_server(cli, live_server, files, contributor_token, reader_token, tmp_path,
                                           monkeypatch, caplog):
    for name in ("django", "django.server"):  # the server thread's logs are not the CLI's output
        caplog.set_level(logging.CRITICAL, logger=name)
    url, remote = live_server.url, ["--url", live_server.url, "--token", contributor_token]
    out = cli("post", files["mosaic.fits"], files["src.reg"], f"preview={files['quicklook.dat']}", *flags(),
              *remote).stdout
    assert "posted isgri-crab-2565 version 1 (3 files)" in out and f"{url}/products/isgri-crab-2565/" in out
    err = cli("post", files["mosaic.fits"], *flags("x"), "--url", url, "--token", reader_token, code=1).stderr
    assert "HTTP 403" in err and "contributor role" in err
    err = cli("post", *flags("x", ra=458), *remote, code=2).stderr
    assert "HTTP 422" in err and "ra:" in err
    assert "token not accepted" in cli("post", *flags("x"), "--url", url, "--token", "sg_bogus", code=1).stderr

    monkeypatch.setenv("SKYGALLERY_URL", url)  # the environment works as --url
    assert search_ids(cli, "--instrument", "isgri", "--source", "Crab Nebula") == {"isgri-crab-2565"}
    assert search_ids(cli, "--instrument", "jemx") == set()
    assert "isgri-crab-2565" in cli("search", "--q", "crab").stdout
    assert "page_size" in cli("search", "--page-size", "0", code=2).stderr

    out_dir = tmp_path / "remote-export"
    cli("export", "isgri-crab-2565", "--out", out_dir)
    manifest = json.loads((out_dir / "manifest.json").read_text())
    expected = {n: sha(files[n].read_bytes()) for n in ("mosaic.fits", "src.reg", "quicklook.dat")}
    assert {f["path"]: f["sha256"] for f in manifest["files"]} == expected
    assert all(sha((out_dir / n).read_bytes()) == d for n, d in expected.items())

    err = cli("delete", "isgri-crab-2565", "--token", reader_token, code=1).stderr
    assert "HTTP 403" in err and "contributor role" in err
    cli("delete", "isgri-crab-2565", "--token", contributor_token)
    assert search_ids(cli) == set()
    assert "HTTP 404" in cli("export", "isgri-crab-2565", "--out", out_dir, code=1).stderr
