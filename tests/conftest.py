"""Shared fixtures: an isolated SKYGALLERY_HOME, a file store per test, users, tokens and sample files."""
from __future__ import annotations

import io
import os
import tempfile
from pathlib import Path

import pytest

os.environ.setdefault("SKYGALLERY_HOME", tempfile.mkdtemp(prefix="skygallery-test-"))
os.environ.setdefault("SKYGALLERY_SECRET_KEY", "test-secret-key-not-for-production-use-0123456789")

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def needs_shared_data():
    return pytest.mark.skipif(not SHARED_DATA.is_dir(),
                              reason=f"real INTEGRAL files not present at {SHARED_DATA} (fresh clone without shared/)")


@pytest.fixture(autouse=True)
def isolated_store(tmp_path, settings, monkeypatch, request):
    """A file store per test. pytest-django wraps each test in a transaction that never commits, so
    on-commit moves would never run: files are committed at once here, except in tests marked
    ``real_commit`` (transactional tests of the on-commit and rollback paths)."""
    from django.core.cache import cache

    from skygallery.gallery.services.filestore import FileStore
    cache.clear()  # the page cache must not outlive a test's rolled-back database
    settings.FILE_STORE = tmp_path / "files"
    settings.SKYGALLERY = {**settings.SKYGALLERY, "CATALOG": None, "SIMBAD_ONLINE": False}
    if not request.node.get_closest_marker("real_commit"):
        monkeypatch.setattr(FileStore, "commit_on_success", FileStore.commit)
    return settings.FILE_STORE


@pytest.fixture
def contributor(db):
    from skygallery.gallery.services.accounts import create_user
    return create_user("carla", "pw-carla-123", "carla@example.org", role="contributor")


@pytest.fixture
def reader(db):
    from skygallery.gallery.services.accounts import create_user
    return create_user("rita", "pw-rita-123", "rita@example.org", role="reader")


@pytest.fixture
def contributor_token(contributor):
    from skygallery.gallery.services.accounts import create_token
    return create_token(contributor, "tests")[1]


@pytest.fixture
def reader_token(reader):
    from skygallery.gallery.services.accounts import create_token
    return create_token(reader, "tests")[1]


def fits_image_bytes(shape=(32, 32), value=1.0, gz=False) -> bytes:
    import gzip

    import numpy as np
    from astropy.io import fits
    rng = np.random.default_rng(1)
    hdu = fits.ImageHDU(rng.normal(value, 0.1, shape).astype("float32"), name="ISGR-MOSA-IMA")
    hdu.header["IMATYPE"] = "SIGNIFICANCE"
    buf = io.BytesIO()
    fits.HDUList([fits.PrimaryHDU(), hdu]).writeto(buf)
    data = buf.getvalue()
    return gzip.compress(data, mtime=0) if gz else data


def png_bytes() -> bytes:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(1, 1))
    ax.plot([0, 1], [0, 1])
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    plt.close(fig)
    return buf.getvalue()


REGION_TEXT = "# Region file format: DS9\nfk5\ncircle(83.633,22.014,0.1) # text={Crab}\n"


def image_metadata(**overrides) -> dict:
    data = {"product_id": "isgri-crab-2565", "title": "Crab Rev. 2565 (NRT)", "instrument": "isgri",
            "product_type": "isgri_image", "e1_kev": 28, "e2_kev": 40,
            "t1": "2022-10-28T05:52:20.5", "t2": "2022-10-28T13:07:26", "ra": 83.633, "dec": 22.014,
            "sources": ["Crab"], "create_sources": True, "data_version": "NRT",
            "provenance": {"notebook": "notebooks/revolution_products.ipynb", "commit": "abc123",
                           "parameters": {"rev_num": 2565, "E1_keV": 28.0}}}
    data.update(overrides)
    return data
