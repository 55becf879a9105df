"""Benchmark database set-up and a fast synthetic INTEGRAL gallery (helpers of ``gallery_query.py``).

``configure(db)`` points SKYGALLERY_HOME / DATABASE_URL at ``benchmarks/out/<db>/``, sets Django up,
migrates and refreshes the planner statistics. ``ensure_data(db, n, reuse)`` fills ``gallery_source``,
``gallery_sourcename``, ``gallery_product`` and ``gallery_productsource`` with raw SQL (executemany batches on SQLite,
COPY on PostgreSQL), every column as ``Product.save()`` / ``Source.save()`` would set it, then
runs ANALYZE. All draws come from one seeded numpy generator; nothing calls astropy per row.
"""
from __future__ import annotations

import json
import os
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

OUT = Path(__file__).resolve().parent / "out"
POSTGRES_URL = "postgres://bench:bench@127.0.0.1:5432/skygallery_bench"
SEED = 20021017
N_SOURCES = 3000
LAST_REV = 2886
LONG_TERM_FRACTION = 0.05
MAX_LONG_SPAN = 500           # revolutions
BATCH = 50_000                # rows per executemany batch (SQLite)
HOUR_US = 3_600_000_000       # microseconds per hour

INSTRUMENTS = {"isgri": 0.55, "jemx1": 0.14, "jemx2": 0.11, "spiacs": 0.20}
TYPES = {"isgri": {"isgri_image": 0.40, "isgri_spectrum": 0.30, "isgri_lc": 0.30},
         "jemx": {"jemx_image": 0.45, "jemx_spectrum": 0.30, "jemx_lc": 0.25},
         "spiacs": {"spi_acs_lc": 1.0}}
BANDS = {"isgri": {(28, 40): 0.35, (20, 40): 0.15, (30, 80): 0.20, (40, 100): 0.10, (20, 100): 0.10,
                   (100, 300): 0.10},
         "jemx": {(3, 20): 0.50, (3, 10): 0.20, (10, 20): 0.15, (3, 35): 0.15},
         "spiacs": {(75, 2000): 0.70, (80, 8000): 0.30}}
OTYPES_PLANE = {"LowMassXBin": 0.30, "HighMassXBin": 0.25, "XrayBin": 0.10, "CataclyV*": 0.12, "Pulsar": 0.08,
                "SNRemnant": 0.05, "Magnetar": 0.03, "X": 0.07}
OTYPES_SKY = {"Seyfert1": 0.25, "Seyfert2": 0.20, "QSO": 0.10, "BLLac": 0.10, "Blazar": 0.10, "ClG": 0.05,
              "CataclyV*": 0.05, "LowMassXBin": 0.05, "X": 0.10}
NAME_STYLES = ("4U {hh}{mm}{sg}{dd}", "XTE J{hh}{mm}{sg}{dd}{d10}", "1RXS J{hh}{mm}{ss}{sg}{dd}{dm}{ds}",
               "Swift J{hh}{mm}.{m10}{sg}{dd}{dm}", "SAX J{hh}{mm}.{m10}{sg}{dd}{dm}", "2MASX J{hh}{mm}{ss}{sg}{dd}{dm}{ds}")


# ----------------------------------------------------------------------------- set-up

def configure(db: str) -> Path:
    """Set the environment for ``db`` (sqlite | postgres), set Django up and migrate; returns the home folder."""
    home = OUT / db
    home.mkdir(parents=True, exist_ok=True)
    os.environ["SKYGALLERY_HOME"] = str(home)
    os.environ["DATABASE_URL"] = POSTGRES_URL if db == "postgres" else f"sqlite:///{home / 'skygallery.sqlite3'}"
    os.environ["DJANGO_SETTINGS_MODULE"] = "skygallery.site.settings"
    import django
    from django.core.management import call_command
    django.setup()
    call_command("migrate", verbosity=0)
    from skygallery.gallery.services.maintenance import refresh_statistics
    refresh_statistics()   # as ``skygallery serve`` does (a migration may have dropped a table's statistics)
    return home


def _psql(sql: str) -> str:
    """Run one statement as the ``postgres`` superuser; returns its unaligned output."""
    done = subprocess.run(["su", "postgres", "-c", f'psql -tAc "{sql}"'], capture_output=True, text=True,
                          stdin=subprocess.DEVNULL, timeout=60)
    if done.returncode:
        raise RuntimeError(done.stderr.strip())
    return done.stdout.strip()


def _reachable() -> bool:
    import psycopg
    try:
        psycopg.connect(POSTGRES_URL.replace("postgres://", "postgresql://"), connect_timeout=3).close()
        return True
    except psycopg.Error:
        return False


def ensure_postgres() -> str | None:
    """Start the local cluster and create role/database ``bench``/``skygallery_bench`` if needed.

    Returns None when PostgreSQL is reachable, else the reason it is not.
    """
    if _reachable():
        return None
    try:
        subprocess.run(["pg_ctlcluster", "15", "main", "start"], capture_output=True, timeout=60)
        for _ in range(20):
            if _psql("SELECT 1") == "1":
                break
            time.sleep(0.5)
        if _psql("SELECT 1 FROM pg_roles WHERE rolname = 'bench'") != "1":
            _psql("CREATE ROLE bench LOGIN PASSWORD 'bench'")
        if _psql("SELECT 1 FROM pg_database WHERE datname = 'skygallery_bench'") != "1":
            _psql("CREATE DATABASE skygallery_bench OWNER bench")
    except (OSError, RuntimeError, subprocess.TimeoutExpired) as exc:
        return f"cannot start or prepare PostgreSQL: {exc}"
    return None if _reachable() else f"{POSTGRES_URL} is not reachable"


# ----------------------------------------------------------------------------- sources

@dataclass
class Sky:
    """Synthetic sources: positions (deg), names, SIMBAD types, popularity and neighbours."""

    ra: np.ndarray
    dec: np.ndarray
    names: list[str]
    otypes: list[str]
    aliases: list[list[str]]
    weight: np.ndarray          # probability of being a product's first source
    neighbours: np.ndarray      # (n, 8) indices of the nearest other sources


def _pick(rng, table: dict, n: int) -> np.ndarray:
    """``n`` draws of the keys of ``table`` (key -> probability), as indices into ``list(table)``."""
    p = np.array(list(table.values()), dtype=float)
    return rng.choice(len(p), size=n, p=p / p.sum())


def _designation(style: str, ra: float, dec: float) -> str:
    """A J2000 designation of ``ra``/``dec`` (deg) in one of ``NAME_STYLES`` (fields truncated, not rounded)."""
    h = ra / 15.0
    hh, mm = int(h), int((h * 60) % 60)
    ss = int((h * 36000) % 600) / 10
    a = abs(dec)
    dd, dm, ds = int(a), int((a * 60) % 60), int((a * 3600) % 60)
    return style.format(hh=f"{hh:02d}", mm=f"{mm:02d}", ss=f"{ss:04.1f}", m10=int(ss // 6), sg="-" if dec < 0 else "+",
                        dd=f"{dd:02d}", dm=f"{dm:02d}", ds=f"{ds:02d}", d10=int(dm // 6))


def _galactic_positions(rng, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """RA, Dec (deg) of ``n`` sources, 65 % near the Galactic plane and bulge; and the in-plane mask."""
    from astropy.coordinates import SkyCoord
    plane = rng.random(n) < 0.65
    lon = np.where(plane, rng.normal(0, 40, n), rng.uniform(0, 360, n)) % 360
    lat = np.where(plane, rng.normal(0, 2.5, n), np.degrees(np.arcsin(rng.uniform(-1, 1, n))))
    icrs = SkyCoord(l=lon, b=np.clip(lat, -89.9, 89.9), unit="deg", frame="galactic").icrs
    return icrs.ra.deg % 360.0, icrs.dec.deg, plane


def _bright() -> list[dict]:
    from skygallery.science import catalog
    path = Path(catalog.__file__).parent / "data" / "bright_sources.json"
    return json.loads(path.read_text())["sources"]


def make_sky(rng, n: int = N_SOURCES) -> Sky:
    """The bright catalog sources (most popular first) followed by synthetic ones up to ``n``."""
    bright = _bright()
    ra, dec, plane = _galactic_positions(rng, n)
    ra[:len(bright)] = [b["ra_deg"] for b in bright]
    dec[:len(bright)] = [b["dec_deg"] for b in bright]
    plane_types, sky_types = list(OTYPES_PLANE), list(OTYPES_SKY)
    kinds_plane, kinds_sky = _pick(rng, OTYPES_PLANE, n), _pick(rng, OTYPES_SKY, n)
    otypes = [plane_types[a] if p else sky_types[b] for a, b, p in zip(kinds_plane, kinds_sky, plane)]
    otypes[:len(bright)] = [b["otype"] for b in bright]
    names, aliases = _names(rng, ra, dec, bright)
    return Sky(ra, dec, names, otypes, aliases, _popularity(rng, n, len(bright)), _neighbours(ra, dec))


def _names(rng, ra: np.ndarray, dec: np.ndarray, bright: list[dict]) -> tuple[list[str], list[list[str]]]:
    """Primary names and 1–3 aliases per source, with normalised keys unique across all of them."""
    from skygallery.science.names import normalise_name
    used: set[str] = set()
    names, aliases = [], []
    for i in range(len(ra)):
        if i < len(bright):
            primary, candidates = bright[i]["name"], bright[i]["aliases"]
        else:
            primary = _designation("IGR J{hh}{mm}{m10}{sg}{dd}{dm}", ra[i], dec[i])
            styles = rng.choice(len(NAME_STYLES), size=3, replace=False)
            candidates = [_designation(NAME_STYLES[s], ra[i], dec[i]) for s in styles]
        while normalise_name(primary) in used:
            primary += "B"
        used.add(normalise_name(primary))
        keep = [a for a in dict.fromkeys(candidates) if normalise_name(a) not in used][: rng.integers(1, 4)]
        used.update(normalise_name(a) for a in keep)
        names.append(primary)
        aliases.append(keep or [f"SGB {i:04d}"])
    return names, aliases


def _popularity(rng, n: int, n_bright: int) -> np.ndarray:
    """Zipf-like weights (rank^-0.8): bright sources first, synthetic ones in random order."""
    rank = np.concatenate([np.arange(n_bright), n_bright + rng.permutation(n - n_bright)])
    w = (rank + 1.0) ** -0.8
    return w / w.sum()


def unit_vectors(ra: np.ndarray, dec: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Unit vectors (x, y, z) of positions in degrees, as ``sphere.unit_vector`` but vectorised."""
    r, d = np.radians(ra), np.radians(dec)
    return np.cos(d) * np.cos(r), np.cos(d) * np.sin(r), np.sin(d)


def _neighbours(ra: np.ndarray, dec: np.ndarray, k: int = 8) -> np.ndarray:
    v = np.stack(unit_vectors(ra, dec), axis=1)
    dots = v @ v.T
    np.fill_diagonal(dots, -2.0)
    return np.argpartition(-dots, k, axis=1)[:, :k]


# ----------------------------------------------------------------------------- products

def revolution_starts_us() -> np.ndarray:
    """UTC start of revolutions 1 .. LAST_REV + 1 in microseconds since 1970 (index r - 1 = rev r)."""
    from astropy.time import Time
    from skygallery.science.timesys import MJDREF, default_table
    table = default_table()
    ijd = np.array([table.start_ijd(r) for r in range(1, LAST_REV + 2)])
    utc = Time(2400000.5 + MJDREF, ijd, format="jd", scale="tt").utc.datetime64
    return utc.astype("datetime64[us]").astype(np.int64)


def bit_length(x: np.ndarray) -> np.ndarray:
    """``int.bit_length`` of non-negative integers below 2**53, vectorised."""
    return np.frexp(x.astype(np.float64))[1].astype(np.int64)


def _revolutions(rng, n: int, starts: np.ndarray) -> dict[str, np.ndarray]:
    """rev1, rev2, t_start, t_end (UTC µs): 95 % inside one revolution (1–20 h), 5 % long-term."""
    long = rng.random(n) < LONG_TERM_FRACTION
    span = np.where(long, np.clip(np.exp(rng.uniform(0, np.log(MAX_LONG_SPAN + 1), n)).astype(np.int64),
                                  1, MAX_LONG_SPAN), 0)
    rev1 = rng.integers(1, LAST_REV - span + 1)
    rev2 = rev1 + span
    len1, len2 = starts[rev1] - starts[rev1 - 1], starts[rev2] - starts[rev2 - 1]
    dur = (rng.uniform(1, 20, n) * HOUR_US).astype(np.int64)
    lo = starts[rev1 - 1] + 0.05 * len1
    t_start = np.where(long, lo + rng.uniform(0, 0.25, n) * len1,
                       lo + rng.random(n) * (starts[rev1] - 0.04 * len1 - dur - lo)).astype(np.int64)
    t_end = np.where(long, starts[rev2 - 1] + rng.uniform(0.60, 0.95, n) * len2, t_start + dur).astype(np.int64)
    return {"rev1": rev1, "rev2": rev2, "t_start": t_start, "t_end": t_end}


def _kinds(rng, n: int, vocab: dict) -> dict[str, np.ndarray]:
    """Instrument and product-type ids, bands (keV) and light-curve bins (s, NaN for other families)."""
    inst_names = list(INSTRUMENTS)
    inst = _pick(rng, INSTRUMENTS, n)
    out = {"instrument_id": np.array([vocab["instrument"][inst_names[i]] for i in range(len(inst_names))])[inst],
           "product_type_id": np.zeros(n, np.int64), "e1_kev": np.zeros(n), "e2_kev": np.zeros(n),
           "group": np.array([name.rstrip("12") for name in inst_names])[inst]}
    for group, types in TYPES.items():
        mask = out["group"] == group
        out["product_type_id"][mask] = np.array([vocab["type"][t] for t in types])[_pick(rng, types, mask.sum())]
        bands = np.array(list(BANDS[group]), dtype=float)[_pick(rng, BANDS[group], mask.sum())]
        out["e1_kev"][mask], out["e2_kev"][mask] = bands[:, 0], bands[:, 1]
    lc = np.isin(out["product_type_id"], [vocab["type"][t] for t in ("isgri_lc", "jemx_lc", "spi_acs_lc")])
    out["time_bin_s"] = np.where(lc, rng.choice([1.0, 10.0, 100.0, 1000.0], n), np.nan)
    return out


def make_products(rng, n: int, sky: Sky, vocab: dict) -> dict[str, np.ndarray]:
    """All product columns as numpy arrays, sorted by t_start (ids 1..n follow time)."""
    cols = _revolutions(rng, n, revolution_starts_us()) | _kinds(rng, n, vocab)
    first = rng.choice(len(sky.weight), size=n, p=sky.weight)
    slot = rng.integers(0, 8, n)
    cols["src1"], cols["n_src"] = first, rng.choice([1, 2, 3], n, p=[0.5, 0.3, 0.2])
    cols["src2"] = sky.neighbours[first, slot]
    cols["src3"] = sky.neighbours[first, (slot + rng.integers(1, 8, n)) % 8]
    cos_dec = np.maximum(np.cos(np.radians(sky.dec[first])), 0.05)
    cols["ra_deg"] = (sky.ra[first] + rng.normal(0, 1.0, n) / cos_dec) % 360.0
    cols["ra_deg"][cols["ra_deg"] >= 360.0] = 0.0
    cols["dec_deg"] = np.clip(sky.dec[first] + rng.normal(0, 1.0, n), -89.99, 89.99)
    cols["highlight"] = rng.random(n) < 0.005
    cols["nrt"] = rng.random(n) < 0.08
    cols["created"] = cols["t_end"] + (rng.uniform(1, 720, n) * HOUR_US).astype(np.int64)
    order = np.argsort(cols["t_start"], kind="stable")
    return {k: v[order] for k, v in cols.items()}


# ----------------------------------------------------------------------------- rows

def stamps(us: np.ndarray, pg: bool) -> list[str]:
    """UTC microseconds as the text Django stores: ``str(naive UTC datetime)`` on SQLite, ISO +00:00 on PostgreSQL."""
    text = np.datetime_as_string(us.astype("datetime64[us]"), unit="us").tolist()
    if pg:
        return [s + "+00:00" for s in text]
    return [s[:10] + " " + (s[11:19] if s.endswith(".000000") else s[11:]) for s in text]


def product_columns(p: dict[str, np.ndarray], sky: Sky, vocab: dict, pg: bool) -> dict[str, list]:
    """Column name -> Python values of ``gallery_product``, as ``Product.save()`` would store them."""
    from skygallery.science.sphere import dec_zone
    n = len(p["rev1"])
    span = p["rev2"] - p["rev1"]
    hours = -(-(p["t_end"] - p["t_start"]) // HOUR_US)       # ceil of the duration in hours
    x, y, z = unit_vectors(p["ra_deg"], p["dec_deg"])
    labels = {v: k for k, v in vocab["type"].items()}
    ptype = [labels[t] for t in p["product_type_id"].tolist()]
    titles = [f"{sky.names[s]} {t} {e1:g}-{e2:g} keV rev. {r1}" + (f"-{r2}" if r2 > r1 else "")
              for s, t, e1, e2, r1, r2 in zip(p["src1"].tolist(), ptype, p["e1_kev"].tolist(), p["e2_kev"].tolist(),
                                              p["rev1"].tolist(), p["rev2"].tolist())]
    created = stamps(p["created"], pg)
    blank, empty = [""] * n, ["{}"] * n
    return {
        "id": list(range(1, n + 1)), "ra_deg": p["ra_deg"].tolist(), "dec_deg": p["dec_deg"].tolist(),
        "pos_x": x.tolist(), "pos_y": y.tolist(), "pos_z": z.tolist(),
        "dec_zone": [dec_zone(d) for d in p["dec_deg"].tolist()],
        "product_id": [f"{t}_{r:04d}_{i:07d}" for i, (t, r) in enumerate(zip(ptype, p["rev1"].tolist()), 1)],
        "title": titles, "e1_kev": p["e1_kev"].tolist(), "e2_kev": p["e2_kev"].tolist(),
        "t_start": stamps(p["t_start"], pg), "t_end": stamps(p["t_end"], pg), "dur_class": bit_length(hours).tolist(),
        "rev1": p["rev1"].tolist(), "rev2": p["rev2"].tolist(), "span": span.tolist(),
        "span_class": bit_length(span).tolist(),
        "time_bin_s": [None if b != b else b for b in p["time_bin_s"].tolist()],
        "data_version": np.where(p["nrt"], "NRT", "CONS").tolist(), "highlight": p["highlight"].tolist(),
        "version": [1] * n, "notebook": blank, "repository_commit": blank, "parameters": empty, "software": empty,
        "job_id": blank, "created_at": created, "updated_at": created,
        "instrument_id": p["instrument_id"].tolist(), "product_type_id": p["product_type_id"].tolist(),
    }


def link_columns(p: dict[str, np.ndarray], otypes: list[str], pg: bool) -> dict[str, list]:
    """``gallery_productsource`` rows: the first source of every product, then 2nd/3rd where drawn,
    with the product columns that ``Product.save()`` copies onto its links and the source's object
    type (``otypes`` by source index)."""
    ids = np.arange(1, len(p["src1"]) + 1)
    two, three = p["n_src"] >= 2, p["n_src"] == 3
    product = np.concatenate([ids, ids[two], ids[three]])
    source = np.concatenate([p["src1"], p["src2"][two], p["src3"][three]]) + 1
    order = np.lexsort((source, product))
    row = product[order] - 1                                   # index of each link's product
    return {"id": list(range(1, len(product) + 1)), "product_id": product[order].tolist(),
            "source_id": source[order].tolist(), "t_start": stamps(p["t_start"][row], pg), "live": [True] * len(row),
            "instrument_id": p["instrument_id"][row].tolist(), "product_type_id": p["product_type_id"][row].tolist(),
            "span": (p["rev2"] - p["rev1"])[row].tolist(), "highlight": p["highlight"][row].tolist(),
            "rev1": p["rev1"][row].tolist(), "rev2": p["rev2"][row].tolist(),
            "span_class": bit_length(p["rev2"] - p["rev1"])[row].tolist(),
            "object_type": [otypes[s - 1] for s in source[order].tolist()]}


def source_columns(sky: Sky, pg: bool) -> tuple[dict[str, list], dict[str, list]]:
    """``gallery_source`` and ``gallery_sourcename`` columns (primary name plus 1–3 aliases)."""
    from skygallery.science.catalog import simbad_url
    from skygallery.science.names import normalise_name
    from skygallery.science.sphere import dec_zone
    n = len(sky.names)
    x, y, z = unit_vectors(sky.ra, sky.dec)
    now = stamps(np.full(n, np.datetime64("2025-03-01T12:00:00", "us").astype(np.int64)), pg)
    sources = {"id": list(range(1, n + 1)), "ra_deg": sky.ra.tolist(), "dec_deg": sky.dec.tolist(),
               "pos_x": x.tolist(), "pos_y": y.tolist(), "pos_z": z.tolist(),
               "dec_zone": [dec_zone(d) for d in sky.dec.tolist()], "name": sky.names, "object_type": sky.otypes,
               "catalog_url": [simbad_url(s) for s in sky.names], "created_at": now, "updated_at": now}
    rows = [(i + 1, name, primary) for i in range(n)
            for name, primary in [(sky.names[i], True)] + [(a, False) for a in sky.aliases[i]]]
    names = {"id": list(range(1, len(rows) + 1)), "source_id": [r[0] for r in rows], "name": [r[1] for r in rows],
             "key": [normalise_name(r[1]) for r in rows], "is_primary": [r[2] for r in rows]}
    return sources, names


# ----------------------------------------------------------------------------- loading

def _write(cursor, table: str, cols: dict[str, list], pg: bool) -> None:
    """Insert ``cols`` into ``table``: COPY on PostgreSQL, executemany batches on SQLite."""
    names = ", ".join(f'"{c}"' for c in cols)
    rows = zip(*cols.values())
    if pg:
        with cursor.cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        return
    sql = f"INSERT INTO {table} ({names}) VALUES ({', '.join('?' * len(cols))})"
    raw = cursor.cursor
    while batch := [row for _, row in zip(range(BATCH), rows)]:
        raw.executemany(sql, batch)


def vocabulary() -> dict:
    """Ids of instruments and product types, and the product-type ids of each family."""
    from skygallery.gallery.models import Instrument, ProductType
    types = list(ProductType.objects.values_list("name", "id", "family"))
    families: dict[str, list[int]] = {}
    for _, pk, family in types:
        families.setdefault(family, []).append(pk)
    return {"instrument": dict(Instrument.objects.values_list("name", "id")),
            "type": {name: pk for name, pk, _ in types}, "family": families}


def _reset(db: str) -> None:
    """Empty the benchmark tables (SQLite: a fresh, migrated file)."""
    from django.core.management import call_command
    from django.db import connection
    if db == "sqlite":
        path = Path(connection.settings_dict["NAME"])
        connection.close()
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        call_command("migrate", verbosity=0)
        return
    with connection.cursor() as c:
        c.execute("TRUNCATE gallery_productsource, gallery_product, gallery_sourcename, gallery_source "
                  "RESTART IDENTITY CASCADE")


def _load(db: str, n: int) -> None:
    """Generate and insert the gallery, then ANALYZE (PostgreSQL: VACUUM ANALYZE, as autovacuum would)."""
    from django.db import connection, transaction
    pg = db == "postgres"
    rng = np.random.default_rng(SEED)
    vocab = vocabulary()
    sky = make_sky(rng)
    products = make_products(rng, n, sky, vocab)
    sources, names = source_columns(sky, pg)
    with transaction.atomic(), connection.cursor() as c:
        if not pg:
            c.execute("PRAGMA cache_size = -1000000")
        _write(c, "gallery_source", sources, pg)
        _write(c, "gallery_sourcename", names, pg)
        _write(c, "gallery_product", product_columns(products, sky, vocab, pg), pg)
        _write(c, "gallery_productsource", link_columns(products, sky.otypes, pg), pg)
    with connection.cursor() as c:
        if pg:
            for table in ("gallery_source", "gallery_sourcename", "gallery_product", "gallery_productsource"):
                c.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT MAX(id) FROM {table}))")
                c.execute(f"VACUUM ANALYZE {table}")
        else:
            c.execute("PRAGMA cache_size = -2000")
            c.execute("ANALYZE")
            c.execute("PRAGMA wal_checkpoint(TRUNCATE)")


def ensure_data(db: str, n: int, reuse: bool, home: Path) -> tuple[float, bool]:
    """Make sure the database holds the synthetic gallery of ``n`` products.

    Returns the generation time (s) and whether an earlier generation was reused.
    """
    from skygallery.gallery.models import Product
    stamp = home / "generation.json"
    if reuse and stamp.exists() and Product.objects.count() == n:
        return json.loads(stamp.read_text())["seconds"], True
    t0 = time.perf_counter()
    _reset(db)
    _load(db, n)
    seconds = time.perf_counter() - t0
    stamp.write_text(json.dumps({"n": n, "seconds": seconds}))
    return seconds, False


def database_size() -> int:
    """Size of the benchmark database in bytes (SQLite file + WAL, or pg_database_size)."""
    from django.db import connection
    if connection.vendor == "postgresql":
        with connection.cursor() as c:
            c.execute("SELECT pg_database_size(current_database())")
            return c.fetchone()[0]
    path = connection.settings_dict["NAME"]
    return sum(os.path.getsize(f"{path}{s}") for s in ("", "-wal") if os.path.exists(f"{path}{s}"))
