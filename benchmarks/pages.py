"""Web-page benchmark on the synthetic 1M-product gallery (the database of ``gallery_query.py``).

    python benchmarks/pages.py [--db sqlite|postgres|both] [--n 1000000] [--runs 40] [--seconds 30] [--clients 8]

1. Server time: home (filtered), revolution, source and product pages rendered through the whole Django
   stack in-process (``django.test.Client``; no socket) with the page cache off, ``--runs`` draws each with
   seeded parameters; p50 / p95 in ms. Target: p95 < 100 ms.
2. Throughput: ``skygallery serve --processes 2`` on a free loopback port, ``--clients`` concurrent
   keep-alive clients requesting a seeded mix of those pages for ``--seconds``; requests/s and latency
   percentiles as the clients see them, with the anonymous page cache off and on (the default; the mix
   repeats URLs as visitors do). Target: >= 200 requests/s on 2 cores.

Product pages need a version row with files: the benchmark posts metadata-only versions for the products it
visits (idempotent). Each database runs in its own process (Django is configured once per process).
"""
from __future__ import annotations

import argparse
import http.client
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import quote, urlencode

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import _gallery_data as data  # noqa: E402

TARGET_P95_MS, TARGET_RPS = 100.0, 200.0


def _visited_products(rng, k: int) -> list[str]:
    """``k`` product ids spread over the table, each given a version row (as a post would) when missing."""
    from skygallery.gallery.models import Product, ProductVersion
    from skygallery.gallery.services.serialize import product_metadata
    top = Product.objects.order_by("-id").values_list("id", flat=True).first()
    ids = sorted({int(i) for i in rng.integers(1, top + 1, size=k)})
    products = list(Product.objects.filter(id__in=ids).select_related("instrument", "product_type", "observation"))
    for p in products:
        if not ProductVersion.objects.filter(product=p, number=p.version).exists():
            v = ProductVersion.objects.create(product=p, number=p.version, metadata={})
            v.metadata = product_metadata(p, v)
            v.save(update_fields=["metadata"])
    return [p.product_id for p in products]


def page_mix(rng, n: int) -> list[tuple[str, str]]:
    """``n`` (kind, URL) pairs: filtered home pages, revolution, source and product pages."""
    from skygallery.gallery.models import Source
    sources = list(Source.objects.order_by("?").values_list("name", flat=True)[:200])
    products = _visited_products(rng, 200)
    homes = [{"instrument": "isgri", "family": "image"}, {"t1": "2010-01-01T00:00:00", "t2": "2010-03-01T00:00:00"},
             {"instrument": "jemx", "family": "lightcurve", "e1": 3, "e2": 35}, {"rev": None}, {"source": None}]
    out = []
    for i in range(n):
        kind = ("home", "revolution", "source", "product")[i % 4]
        if kind == "home":
            q = dict(homes[int(rng.integers(len(homes)))])
            q.update({k: int(rng.integers(100, 2800)) for k in q if k == "rev"})
            q.update({k: str(rng.choice(sources)) for k in q if k == "source"})
            out.append((kind, "/?" + urlencode(q)))
        elif kind == "revolution":
            out.append((kind, f"/revolutions/{int(rng.integers(50, 2880))}/"))
        elif kind == "source":
            out.append((kind, f"/sources/{quote(str(rng.choice(sources)), safe='')}/"))
        else:
            out.append((kind, f"/products/{quote(str(rng.choice(products)), safe='')}/"))
    return out


def server_times(mix: list[tuple[str, str]]) -> dict[str, list[float]]:
    """In-process render times (ms) per page kind, page cache off; every page must answer 200."""
    from django.test import Client, override_settings
    with override_settings(CACHES={"default": {"BACKEND": "django.core.cache.backends.dummy.DummyCache"}}):
        return _render_times(Client(SERVER_NAME="localhost"), mix)


def _render_times(client, mix: list[tuple[str, str]]) -> dict[str, list[float]]:
    times = {}
    for _, url in mix[:8]:
        client.get(url)  # warm-up
    for kind, url in mix:
        t0 = time.perf_counter()
        response = client.get(url)
        times.setdefault(kind, []).append((time.perf_counter() - t0) * 1e3)
        assert response.status_code == 200, (url, response.status_code)
    return times


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(processes: int, page_cache: bool) -> tuple[subprocess.Popen, int]:
    port = _free_port()
    cli = Path(sys.executable).with_name("skygallery")
    server = subprocess.Popen([str(cli), "serve", "--port", str(port), "--processes", str(processes)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              env={**os.environ, "SKYGALLERY_PAGE_CACHE": "1" if page_cache else "0"})
    for _ in range(200):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return server, port
        except OSError:
            time.sleep(0.1)
    server.terminate()
    raise RuntimeError("server did not start")


def load(port: int, mix: list[tuple[str, str]], clients: int, seconds: float) -> tuple[int, list[float], int]:
    """Concurrent keep-alive clients for ``seconds``: (requests, latencies ms, errors)."""
    stop, lock = time.perf_counter() + seconds, threading.Lock()
    done, latencies, errors = [0], [], [0]

    def worker(offset: int):
        conn, i = http.client.HTTPConnection("127.0.0.1", port, timeout=30), offset
        while time.perf_counter() < stop:
            url = mix[i % len(mix)][1]
            i += clients
            t0 = time.perf_counter()
            try:
                conn.request("GET", url)
                response = conn.getresponse()
                response.read()
                ok = response.status == 200
            except (OSError, http.client.HTTPException):
                conn.close()
                conn, ok = http.client.HTTPConnection("127.0.0.1", port, timeout=30), False
            with lock:
                done[0] += 1
                latencies.append((time.perf_counter() - t0) * 1e3)
                errors[0] += not ok
    threads = [threading.Thread(target=worker, args=(k,)) for k in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return done[0], latencies, errors[0]


def bench(db: str, n: int, runs: int, seconds: float, clients: int, processes: int) -> None:
    if db == "postgres" and (reason := data.ensure_postgres()):
        print(f"\n== postgres: skipped — {reason} ==")
        return
    home = data.configure(db)
    data.ensure_data(db, n, True, home)
    rng = np.random.default_rng(data.SEED + 7)
    mix = page_mix(rng, runs * 4)
    print(f"\n== {db}: {n:,} products — server time per page (ms, {runs} draws each; target p95 < {TARGET_P95_MS:.0f})")
    print(f"{'page':<12}{'p50':>8}{'p95':>8}{'max':>8}")
    for kind, values in server_times(mix).items():
        p50, p95 = np.percentile(values, [50, 95])
        print(f"{kind:<12}{p50:8.1f}{p95:8.1f}{max(values):8.1f}{'' if p95 < TARGET_P95_MS else '  MISS'}")
    for page_cache in (False, True):
        throughput(mix, clients, seconds, processes, page_cache)


def throughput(mix, clients: int, seconds: float, processes: int, page_cache: bool) -> None:
    """Run the load test against a fresh server and print requests/s and client-side latencies."""
    server, port = start_server(processes, page_cache)
    try:
        count, lat, errors = load(port, mix, clients, seconds)
    finally:
        server.terminate()
        server.wait(timeout=10)
    p50, p95 = np.percentile(lat, [50, 95])
    rps = count / seconds
    print(f"throughput, page cache {'on ' if page_cache else 'off'}: {rps:.0f} requests/s with {clients} clients "
          f"over {seconds:.0f} s ({processes} server processes), latency p50 {p50:.1f} ms p95 {p95:.1f} ms, "
          f"{errors} errors" + ("" if rps >= TARGET_RPS else "  MISS"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", choices=("sqlite", "postgres", "both"), default="both")
    parser.add_argument("--n", type=int, default=1_000_000, help="products in the benchmark gallery")
    parser.add_argument("--runs", type=int, default=40, help="timed renders per page kind")
    parser.add_argument("--seconds", type=float, default=30.0, help="duration of the load test")
    parser.add_argument("--clients", type=int, default=8, help="concurrent clients")
    parser.add_argument("--processes", type=int, default=2, help="server processes")
    args = parser.parse_args()
    dbs = ("sqlite", "postgres") if args.db == "both" else (args.db,)
    if len(dbs) == 1:
        bench(dbs[0], args.n, args.runs, args.seconds, args.clients, args.processes)
        return
    for db in dbs:
        subprocess.run([sys.executable, __file__, "--db", db, "--n", str(args.n), "--runs", str(args.runs),
                        "--seconds", str(args.seconds), "--clients", str(args.clients),
                        "--processes", str(args.processes)], check=False)


if __name__ == "__main__":
    main()
