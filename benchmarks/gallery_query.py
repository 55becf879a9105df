"""Product-search benchmark: the service layer, the HTTP API and hand-written SQL, on SQLite and PostgreSQL.

    python benchmarks/gallery_query.py [--n 1000000] [--db sqlite|postgres|both] [--reuse] [--runs 30]

For each database: its own SKYGALLERY_HOME under ``benchmarks/out/<db>/`` (git-ignored), a synthetic
gallery of N products (``_gallery_data.py``; ``--reuse`` keeps a database that already holds N), then
seven queries, each ``--runs`` times with seeded parameter draws (c and e have none to draw), through

* service  ``search_products(params)``: page of 50 (listed rows with labels and source names) + capped total;
* http     GET /api/v1/products on a local single-threaded WSGI server (persistent DB connection);
* raw      hand-written SQL on the same indexes: a source given by alias is looked up by its normalised
           key first (one unique-index probe, as the service does); then the capped count; then, if there are few hits
           (at most √(50 N), where sorting the hits costs about as much as walking ``prod_t``), they
           are fetched through the filter's index and sorted, else the page is read newest-first from
           ``prod_t`` with the filter written so that it cannot drive an index (EXISTS, ``+column``,
           an upper t_start bound for revolution ranges); then the page's sources.

Every run checks that the three layers return the same page (product ids) and total. Times are
wall-clock milliseconds; the table gives p50 / p95 per layer and the ratios of the p50s to raw SQL.
Targets: p95 < 50 ms for service and HTTP, service ≤ 2× raw.
"""
from __future__ import annotations

import argparse
import math
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import _gallery_data as data  # noqa: E402

PAGE = 50
CAP = 10_000                  # settings.SKYGALLERY["COUNT_CAP"]
TARGET_MS = 50.0
TARGET_RATIO = 2.0
LAYERS = ("service", "http", "raw")
MISSION = (datetime(2002, 10, 17, tzinfo=timezone.utc), datetime(2025, 3, 1, tzinfo=timezone.utc))

# Labels by scalar sub-selects: joining the small vocabulary tables lets SQLite's planner drive the query
# from them and sort every match (the service takes them from its vocabulary snapshot instead).
COLUMNS = """p.id, p.product_id, p.title, (SELECT i.name FROM gallery_instrument i WHERE i.id = p.instrument_id),
 (SELECT t.name || ' ' || t.family FROM gallery_producttype t WHERE t.id = p.product_type_id), p.e1_kev, p.e2_kev,
 p.t_start, p.t_end, p.rev1, p.rev2, p.span, p.ra_deg, p.dec_deg,
 (SELECT o.title FROM gallery_observation o WHERE o.id = p.observation_id), p.time_bin_s, p.data_version,
 p.highlight, p.version, p.created_at, p.updated_at
 FROM gallery_product p"""
DENSE_PAGE_SQL = f"""SELECT {COLUMNS} {{join}}
 WHERE p.deleted_at IS NULL AND {{where}} ORDER BY {{order}} LIMIT %s"""
NEWEST = "p.t_start DESC, p.id DESC"
# one source: its ProductSource rows (source_id, t_start, product_id) in time order, counted without products
LINK_JOIN = "JOIN gallery_productsource ps ON ps.product_id = p.id"
LINK_ORDER = "ps.t_start DESC, ps.product_id DESC"
LINK_COUNT_SQL = ("SELECT COUNT(*) FROM (SELECT 1 FROM gallery_productsource ps WHERE ps.live AND ps.source_id = %s "
                  "LIMIT %s) n")
# COALESCE(t, t) keeps the planner from walking prod_t: the few hits are sorted instead.
SPARSE_PAGE_SQL = f"""SELECT {COLUMNS}
 WHERE p.id IN (SELECT p.id FROM gallery_product p WHERE p.deleted_at IS NULL AND {{where}} LIMIT %s)
 ORDER BY COALESCE(p.t_start, p.t_start) DESC, p.id DESC LIMIT %s"""
SOURCES_SQL = """SELECT ps.product_id, s.name FROM gallery_productsource ps JOIN gallery_source s ON s.id = ps.source_id
 WHERE ps.product_id IN ({ids})"""
COUNT_SQL = "SELECT COUNT(*) FROM (SELECT 1 FROM gallery_product p WHERE p.deleted_at IS NULL AND {where} LIMIT %s) n"
IN_SOURCE = "p.id IN (SELECT ps.product_id FROM gallery_productsource ps WHERE ps.source_id = %s)"
IN_OTYPE = ("p.id IN (SELECT ps.product_id FROM gallery_productsource ps JOIN gallery_source s ON s.id = ps.source_id "
            "WHERE s.object_type = %s)")
LOOKUP_SQL = "SELECT source_id FROM gallery_sourcename WHERE key = %s"
SOURCE = object()   # in Case.args: the id of the source looked up from Case.alias
EXISTS_OTYPE = ("EXISTS (SELECT 1 FROM gallery_productsource ps JOIN gallery_source s ON s.id = ps.source_id "
                "WHERE ps.product_id = p.id AND s.object_type = %s)")


# ----------------------------------------------------------------------------- query cases

@dataclass
class Case:
    """One query: API parameters and the equivalent hand-written conditions on ``gallery_product p``.

    ``where`` lets the filter use its index (few hits); ``dense`` is the same condition for many
    hits, written so the page is read newest-first from ``prod_t`` (defaults to ``where``);
    ``ordered`` says that the index of ``where`` already yields t_start order (no sort needed).
    """

    params: dict[str, str]
    where: str
    args: list
    dense: str = ""
    dense_args: list | None = None
    ordered: bool = False
    join: str = ""                  # FROM-clause addition of the dense page query
    order: str = NEWEST             # its ORDER BY
    count_sql: str = ""             # a cheaper equivalent of the capped count, if any
    alias: str = ""                 # a source name to look up first (its id replaces SOURCE in the arguments)

    def __post_init__(self):
        self.dense = self.dense or self.where
        self.dense_args = self.args if self.dense_args is None else self.dense_args


@dataclass
class Target:
    """Where the layers run: the local server's URL, and the raw layer's sort-or-walk threshold (hits)."""

    url: str
    sparse_max: int


@dataclass
class Gallery:
    """What the query draws come from (read back from the benchmark database)."""

    vocab: dict
    aliases: list[tuple[int, str]]    # (source id, alias): raw SQL gets the id as if looked up by key first
    alias_weight: np.ndarray          # ∝ number of products of the alias's source
    otypes: list[str]


def load_gallery() -> Gallery:
    """Aliases (weighted by their source's product count), object types and vocabulary ids from the database."""
    from django.db import connection
    with connection.cursor() as c:
        c.execute("""SELECT n.source_id, n.name, k.cnt FROM gallery_sourcename n
                     JOIN (SELECT source_id, COUNT(*) AS cnt FROM gallery_productsource GROUP BY source_id) k
                     ON k.source_id = n.source_id WHERE NOT n.is_primary ORDER BY n.id""")
        rows = c.fetchall()
        c.execute("SELECT DISTINCT object_type FROM gallery_source WHERE object_type <> '' ORDER BY 1")
        otypes = [r[0] for r in c.fetchall()]
    weight = np.array([r[2] for r in rows], dtype=float)
    return Gallery(data.vocabulary(), [(r[0], r[1]) for r in rows], weight / weight.sum(), otypes)


def _when(dt: datetime):
    """A datetime as this database's driver wants it in raw SQL."""
    from django.db import connection
    return connection.ops.adapt_datetimefield_value(dt)


def _mangle(rng, name: str) -> str:
    """The same name with another case and spacing (``normalise_name`` folds both)."""
    name = [str.upper, str.lower, str.swapcase][rng.integers(3)](name)
    return ["  " + name + " ", name.replace(" ", ""), name.replace(" ", "  ")][rng.integers(3)]


def _rev_overlap(r1: int, r2: int) -> str:
    """[rev1, rev2] overlaps [r1, r2]: one bounded (span_class, rev1) index range per span class."""
    from skygallery.gallery.intervals import MAX_SPAN_CLASS
    terms = " OR ".join(f"(p.span_class = {c} AND p.rev1 BETWEEN {r1 - (1 << c) + 1} AND {r2})"
                        for c in range(MAX_SPAN_CLASS + 1))
    return f"p.rev2 >= {r1} AND ({terms})"


def _revolution_end(r: int):
    """End of revolution ``r`` as this database's driver wants it (an upper bound of t_start)."""
    from skygallery.gallery.services.timing import revolution_bounds
    return _when(revolution_bounds(r)[1])


def _by_source(rng, g: Gallery) -> tuple[dict, str, list]:
    """A popular source by one of its aliases: API parameter, IN condition, arguments.

    The raw SQL looks the source id up by normalised key first (``Case.alias``) and passes it as a
    literal: with a literal id PostgreSQL uses its per-source statistics, with a sub-select it
    assumes an average source.
    """
    _source_id, alias = g.aliases[rng.choice(len(g.aliases), p=g.alias_weight)]
    return {"source": _mangle(rng, alias)}, IN_SOURCE, [SOURCE]


def q_instrument_type(rng, g: Gallery) -> Case:
    """One instrument and one of its product types."""
    inst = str(rng.choice(["isgri", "jemx1", "jemx2", "spiacs"]))
    group = inst.rstrip("12")
    ptype = str(rng.choice(list(data.TYPES[group])))
    return Case({"instrument": inst, "product_type": ptype}, "p.instrument_id = %s AND p.product_type_id = %s",
                [g.vocab["instrument"][inst], g.vocab["type"][ptype]], ordered=True)


def q_alias(rng, g: Gallery) -> Case:
    """A source by an alias, spelt with another case and spacing: its links, newest first."""
    params, _, args = _by_source(rng, g)
    return Case(params, "ps.source_id = %s AND ps.live", args, ordered=True, join=LINK_JOIN, order=LINK_ORDER,
                count_sql=LINK_COUNT_SQL, alias=params["source"])


def q_mission(rng, g: Gallery) -> Case:
    """Products overlapping the whole mission (2002-10-17 .. 2025-03-01)."""
    t1, t2 = MISSION
    return Case({"t1": t1.strftime("%Y-%m-%dT%H:%M:%S"), "t2": t2.strftime("%Y-%m-%dT%H:%M:%S")},
                "p.t_start <= %s AND p.t_end >= %s", [_when(t2), _when(t1)], ordered=True)


def q_revolution(rng, g: Gallery) -> Case:
    """Products overlapping one revolution (``rev=r``)."""
    r = int(rng.integers(1, data.LAST_REV + 1))
    return Case({"rev": str(r)}, _rev_overlap(r, r), [], f"{_rev_overlap(r, r)} AND p.t_start < %s", [_revolution_end(r)])


def q_long_term(rng, g: Gallery) -> Case:
    """Long-term products only (span > 0)."""
    return Case({"long_term": "true"}, "p.span > 0", [])


def q_cone(rng, g: Gallery) -> Case:
    """10° around a random position within 2° of the Galactic plane."""
    from astropy.coordinates import SkyCoord
    from django.db import connection
    from skygallery.science.sphere import Cone
    icrs = SkyCoord(l=rng.uniform(0, 360), b=rng.uniform(-2, 2), unit="deg", frame="galactic").icrs
    cone = Cone(round(icrs.ra.deg % 360.0, 4) % 360.0, round(icrs.dec.deg, 4), 10.0)
    zlo, zhi = cone.zone_range()
    boxes = " OR ".join("p.ra_deg BETWEEN %s AND %s" for _ in cone.ra_intervals())
    cx, cy, cz = cone.centre
    test = "p.pos_x * %s + p.pos_y * %s + p.pos_z * %s >= %s"
    args = [v for box in cone.ra_intervals() for v in box] + [cx, cy, cz, cone.min_dot - 1e-12]
    zones = ", ".join(map(str, range(zlo, zhi + 1)))
    plus = "+" if connection.vendor == "sqlite" else ""   # unary + hides a column from SQLite's index choice
    return Case({"ra": str(cone.ra_deg), "dec": str(cone.dec_deg), "radius": "10"},
                f"p.dec_zone IN ({zones}) AND ({boxes}) AND {test}", args,
                f"{plus}p.dec_zone IN ({zones}) AND ({boxes.replace('p.ra_deg', plus + 'p.ra_deg')}) AND {test}")


def q_combined(rng, g: Gallery) -> Case:
    """instrument + family + band (inside) + ~100 revolutions + source or object type."""
    inst, family = str(rng.choice(["isgri", "jemx"])), str(rng.choice(["image", "spectrum", "lightcurve"]))
    e1, e2 = (20, 100) if inst == "isgri" else (3, 35)
    r1 = int(rng.integers(1, data.LAST_REV - 99))
    params = {"instrument": inst, "family": family, "e1": str(e1), "e2": str(e2), "rev1": str(r1), "rev2": str(r1 + 99)}
    inst_ids = [g.vocab["instrument"][n] for n in (("isgri",) if inst == "isgri" else ("jemx1", "jemx2"))]
    type_ids = g.vocab["family"][family]
    where = (f"p.instrument_id IN ({', '.join(map(str, inst_ids))}) AND p.product_type_id IN "
             f"({', '.join(map(str, type_ids))}) AND p.e1_kev >= %s AND p.e2_kev <= %s AND {_rev_overlap(r1, r1 + 99)}")
    end = _revolution_end(r1 + 99)
    if rng.random() < 0.5:   # many matches: the source's links newest-first from the end of the range
        extra, cond, args = _by_source(rng, g)
        return Case(params | extra, f"{where} AND {cond}", [e1, e2] + args,
                    f"{where} AND ps.source_id = %s AND ps.live AND ps.t_start < %s", [e1, e2] + args + [end],
                    join=LINK_JOIN, order=LINK_ORDER, alias=extra["source"])
    otype = str(rng.choice(g.otypes))
    return Case(params | {"object_type": otype}, f"{where} AND {IN_OTYPE}", [e1, e2, otype],
                f"{where} AND {EXISTS_OTYPE} AND p.t_start < %s", [e1, e2, otype, end])


QUERIES: list[tuple[str, Callable]] = [
    ("a instrument+type", q_instrument_type), ("b alias", q_alias), ("c whole mission", q_mission),
    ("d one revolution", q_revolution), ("e long-term", q_long_term), ("f cone 10 deg", q_cone),
    ("g five filters", q_combined),
]


# ----------------------------------------------------------------------------- layers

def run_service(case: Case, _target: Target) -> tuple[list[str], int]:
    """``search_products``: page product ids and total."""
    from skygallery.gallery.services.search import search_products
    page = search_products(case.params)
    return [p.product_id for p in page.results], page.total


def run_http(case: Case, target: Target) -> tuple[list[str], int]:
    """GET /api/v1/products: page product ids and total."""
    import requests
    reply = requests.get(f"{target.url}/api/v1/products", params=case.params, timeout=120)
    reply.raise_for_status()
    body = reply.json()
    return [r["product_id"] for r in body["results"]], body["total"]


def run_raw(case: Case, target: Target) -> tuple[list[str], int]:
    """Hand-written SQL: the source's id, capped count, then the page by the plan that suits the number
    of hits, then its sources."""
    from django.db import connection
    from skygallery.science.names import normalise_name
    with connection.cursor() as c:
        source_id = None
        if case.alias:
            c.execute(LOOKUP_SQL, [normalise_name(case.alias)])
            source_id = c.fetchone()[0]
        args, dense_args = ([source_id if a is SOURCE else a for a in given] for given in (case.args, case.dense_args))
        c.execute(case.count_sql or COUNT_SQL.format(where=case.where), args + [CAP + 1])
        n = c.fetchone()[0]
        if n <= target.sparse_max and not case.ordered:
            c.execute(SPARSE_PAGE_SQL.format(where=case.where), args + [max(n, 1), PAGE])
        else:
            c.execute(DENSE_PAGE_SQL.format(where=case.dense, join=case.join, order=case.order), dense_args + [PAGE])
        rows = c.fetchall()
        if rows:
            c.execute(SOURCES_SQL.format(ids=", ".join(str(r[0]) for r in rows)))
            c.fetchall()
    return [r[1] for r in rows], min(n, CAP)


RUNNERS = {"service": run_service, "http": run_http, "raw": run_raw}


def start_server() -> str:
    """Serve the project's WSGI application (as ``skygallery serve`` and gunicorn load it) on a free local
    port from a background thread; returns its URL."""
    from wsgiref.simple_server import WSGIRequestHandler, make_server

    from skygallery.site.wsgi import application

    class Quiet(WSGIRequestHandler):
        def log_message(self, *args):
            pass

    httpd = make_server("127.0.0.1", 0, application, handler_class=Quiet)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{httpd.server_port}"


def measure(make: Callable, g: Gallery, runs: int, target: Target, rng) -> tuple[dict[str, list[float]], int]:
    """Times (ms) of each layer over ``runs`` draws (layer order rotated per run), and the number of mismatches."""
    warm = make(rng, g)
    for layer in LAYERS:
        RUNNERS[layer](warm, target)
    times: dict[str, list[float]] = {layer: [] for layer in LAYERS}
    mismatches = 0
    for i in range(runs):
        case, out = make(rng, g), {}
        for layer in LAYERS[i % 3:] + LAYERS[:i % 3]:
            t0 = time.perf_counter()
            out[layer] = RUNNERS[layer](case, target)
            times[layer].append((time.perf_counter() - t0) * 1000.0)
        mismatches += len({repr(v) for v in out.values()}) > 1
    return times, mismatches


# ----------------------------------------------------------------------------- report

def report(db: str, n: int, generation: tuple[float, bool], size: int, results: list) -> None:
    """Print the table of one database; ``generation`` is (seconds, reused), ``size`` in bytes."""
    seconds, reused = generation
    print(f"\n== {db}: N = {n:,} products, generated in {seconds:.1f} s{' (reused)' if reused else ''}, "
          f"database {size / 2**20:,.0f} MiB ==")
    print(f"{'query':<20}{'service p50':>12}{'p95':>8}{'http p50':>10}{'p95':>8}{'raw p50':>9}{'p95':>8}"
          f"{'svc/raw':>9}{'http/raw':>9}  target")
    for label, times, mismatches in results:
        p = {layer: np.percentile(times[layer], [50, 95]) for layer in LAYERS}
        svc_ratio, http_ratio = p["service"][0] / p["raw"][0], p["http"][0] / p["raw"][0]
        misses = [f"p95 {layer} ≥ {TARGET_MS:g} ms" for layer in ("service", "http") if p[layer][1] >= TARGET_MS]
        misses += [f"service > {TARGET_RATIO:g}× raw"] if svc_ratio > TARGET_RATIO else []
        misses += [f"{mismatches} runs differ between layers"] if mismatches else []
        print(f"{label:<20}{p['service'][0]:12.1f}{p['service'][1]:8.1f}{p['http'][0]:10.1f}{p['http'][1]:8.1f}"
              f"{p['raw'][0]:9.1f}{p['raw'][1]:8.1f}{svc_ratio:9.1f}{http_ratio:9.1f}  {'; '.join(misses) or 'ok'}")


def bench(db: str, n: int, reuse: bool, runs: int) -> None:
    """Set up ``db``, ensure the data, time every query through the three layers and print the table."""
    if db == "postgres" and (reason := data.ensure_postgres()):
        print(f"\n== postgres: skipped — {reason} ==")
        return
    home = data.configure(db)
    generation = data.ensure_data(db, n, reuse, home)
    from skygallery.gallery.models import Product
    n_products = Product.objects.count()
    g, target = load_gallery(), Target(start_server(), int(math.sqrt(PAGE * n_products)))
    rng = np.random.default_rng(data.SEED + 1)
    results = [(label, *measure(make, g, runs, target, rng)) for label, make in QUERIES]
    report(db, n_products, generation, data.database_size(), results)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=1_000_000, help="number of products")
    parser.add_argument("--db", choices=("sqlite", "postgres", "both"), default="both")
    parser.add_argument("--reuse", action="store_true", help="keep a database that already holds N products")
    parser.add_argument("--runs", type=int, default=30, help="timed runs per query and layer")
    args = parser.parse_args()
    if args.db != "both":
        bench(args.db, args.n, args.reuse, args.runs)
        return
    for db in ("sqlite", "postgres"):   # one process per database: Django is configured once per process
        subprocess.run([sys.executable, __file__, "--db", db, "--n", str(args.n), "--runs", str(args.runs)]
                       + (["--reuse"] if args.reuse else []), check=False)


if __name__ == "__main__":
    main()
