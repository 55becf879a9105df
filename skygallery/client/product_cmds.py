"""Product commands: post, search, export, delete.

They work in-process through ``skygallery.gallery.services`` on the database the environment
selects, or against a remote server with ``--url`` and ``--token`` (env ``SKYGALLERY_URL`` /
``SKYGALLERY_TOKEN``) through :mod:`skygallery.client.http`.
"""
from __future__ import annotations

import json
import shutil
from contextlib import ExitStack
from pathlib import Path
from typing import Annotated, Optional

import typer

from skygallery.gallery.errors import NotFound

from .http import CHUNK, FILE_ROLES, build_metadata, parse_file_args, write_export

from .common import AsUser, JsonOut, Token, Url, actor, django_ready, http_client, show, table


# ---------------------------------------------------------------------------------------------- products
def post(files: Annotated[Optional[list[str]], typer.Argument(help="PATH or ROLE=PATH (roles: "
                                                              + ", ".join(FILE_ROLES) + ").")] = None,
         metadata: Annotated[Optional[Path], typer.Option(help="YAML or JSON file of metadata fields.")] = None,
         product_id: Annotated[Optional[str], typer.Option(help="Upsert key: same id = new version.")] = None,
         title: Annotated[Optional[str], typer.Option()] = None,
         instrument: Annotated[Optional[str], typer.Option(help="isgri, jemx1, jemx2, spi, spiacs, picsit.")] = None,
         product_type: Annotated[Optional[str], typer.Option(help="e.g. isgri_image, jemx_lc.")] = None,
         e1: Annotated[Optional[float], typer.Option(help="Lower energy bound (keV).")] = None,
         e2: Annotated[Optional[float], typer.Option(help="Upper energy bound (keV).")] = None,
         t1: Annotated[Optional[str], typer.Option(help="Start: ISOT UTC, mjd:X, ijd:X.")] = None,
         t2: Annotated[Optional[str], typer.Option(help="End (same formats).")] = None,
         ra: Annotated[Optional[float], typer.Option(help="deg")] = None,
         dec: Annotated[Optional[float], typer.Option(help="deg")] = None,
         source: Annotated[Optional[list[str]], typer.Option(help="Source name (repeatable).")] = None,
         create_sources: Annotated[Optional[bool], typer.Option("--create-sources/--no-create-sources",
                                                                help="Add unknown sources.")] = None,
         observation: Annotated[Optional[str], typer.Option(help="Title of an observation.")] = None,
         data_version: Annotated[Optional[str], typer.Option(help="NRT or CONS.")] = None,
         highlight: Annotated[Optional[bool], typer.Option("--highlight/--no-highlight")] = None,
         notebook: Annotated[Optional[str], typer.Option(help="Provenance: notebook URL or path.")] = None,
         commit: Annotated[Optional[str], typer.Option(help="Provenance: repository commit.")] = None,
         param: Annotated[Optional[list[str]], typer.Option(help="Provenance parameter key=value "
                                                            "(repeatable; JSON values).")] = None,
         url: Url = None, token: Token = None, as_user: AsUser = None, as_json: JsonOut = False):
    """Post a product (or a new version of an existing product_id) with its files.

    Metadata come from --metadata FILE (YAML/JSON, fields of the API's ProductIn) and/or the
    flags, which win. Files are ROLE=PATH or PATH, the role then following the extension:
    .fits/.fit/.fits.gz fits, .reg region, .rmf rmf, .arf arf, .png/.jpg preview, .yaml yaml,
    .html html-attachment, .csv/.txt table, anything else other.

    Examples:
      skygallery post mosaic.fits region=src.reg preview.png --metadata meta.yaml
      skygallery post lc.fits --title "Crab LC" --instrument isgri --product-type isgri_lc
        --e1 28 --e2 40 --t1 2022-10-28T05:52:20 --t2 2022-10-28T13:07:26 --source Crab --param rev_num=2565
      skygallery post mosaic.fits --metadata meta.yaml --url https://gallery.example.org --token sg_…
    """
    fields = dict(product_id=product_id, title=title, instrument=instrument, product_type=product_type,
                  e1_kev=e1, e2_kev=e2, t1=t1, t2=t2, ra=ra, dec=dec, create_sources=create_sources,
                  observation=observation, data_version=data_version, highlight=highlight)
    payload = build_metadata(metadata, fields, source or [], param or [], {"notebook": notebook, "commit": commit})
    file_list = parse_file_args(files or [])
    if url:
        client = http_client(url, token)
        data = client.post_product(payload, file_list)
        link = client.root + data.get("url", "")
    else:
        django_ready()
        from django.conf import settings
        from skygallery.gallery.services.products import get_version, post_product
        from skygallery.gallery.services.uploads import Upload
        user = actor(as_user)
        with ExitStack() as stack:
            uploads = [Upload(role, path.name, stack.enter_context(path.open("rb"))) for role, path in file_list]
            product = post_product(payload, uploads, actor=user)
        data = get_version(product).metadata
        link = settings.SKYGALLERY.get("PUBLIC_URL", "").rstrip("/") + data["url"]
    if as_json:
        return typer.echo(json.dumps(data, indent=2))
    typer.echo(f"posted {data['product_id']} version {data['version']} ({len(data.get('files', []))} files)")
    typer.echo(link)


def search(instrument: Annotated[Optional[str], typer.Option(help="Name, jemx, or a comma list.")] = None,
           product_type: Annotated[Optional[str], typer.Option(help="Type name or family.")] = None,
           family: Annotated[Optional[str], typer.Option(help="image | spectrum | lightcurve | other.")] = None,
           source: Annotated[Optional[str], typer.Option(help="Source name or alias.")] = None,
           object_type: Annotated[Optional[str], typer.Option(help="SIMBAD type, e.g. LowMassXBin.")] = None,
           e1: Annotated[Optional[str], typer.Option(help="keV")] = None,
           e2: Annotated[Optional[str], typer.Option(help="keV")] = None,
           band_mode: Annotated[Optional[str], typer.Option(help="inside (default) | overlap.")] = None,
           t1: Annotated[Optional[str], typer.Option(help="ISOT, mjd:X, ijd:X.")] = None,
           t2: Annotated[Optional[str], typer.Option()] = None,
           rev: Annotated[Optional[str], typer.Option(help="One revolution.")] = None,
           rev1: Annotated[Optional[str], typer.Option()] = None,
           rev2: Annotated[Optional[str], typer.Option()] = None,
           span: Annotated[Optional[str], typer.Option(help="rev2 - rev1 of the product.")] = None,
           long_term: Annotated[Optional[bool], typer.Option("--long-term/--per-revolution")] = None,
           highlight: Annotated[Optional[bool], typer.Option("--highlight/--no-highlight")] = None,
           data_version: Annotated[Optional[str], typer.Option(help="NRT | CONS.")] = None,
           ra: Annotated[Optional[str], typer.Option(help="Cone centre (deg).")] = None,
           dec: Annotated[Optional[str], typer.Option(help="Cone centre (deg).")] = None,
           radius: Annotated[Optional[str], typer.Option(help="e.g. 2, 2deg, 30arcmin.")] = None,
           q: Annotated[Optional[str], typer.Option("--q", help="Text in titles.")] = None,
           sort: Annotated[Optional[str], typer.Option(help="-time, time, rev, -rev, title, -title.")] = None,
           page: Annotated[Optional[int], typer.Option()] = None,
           page_size: Annotated[Optional[int], typer.Option()] = None,
           url: Url = None, token: Token = None, as_json: JsonOut = False):
    """Search products with the filters of the API (combined with AND).

    Prints a table (product_id, title, instrument, type, sources, t1, revolutions, version), or the
    API's JSON answer with --json. Filters are checked as by the API, naming the bad one.

    Examples:
      skygallery search --instrument isgri --source "Crab Nebula"
      skygallery search --family lightcurve --rev1 2500 --rev2 2600 --per-revolution --json
      skygallery search --ra 83.63 --dec 22.01 --radius 30arcmin --url https://gallery.example.org
    """
    params = {k: v for k, v in locals().items() if k not in ("url", "token", "as_json") and v is not None}
    params = {k: (str(v).lower() if isinstance(v, bool) else v) for k, v in params.items()}
    if url:
        result = http_client(url, token).search(params)
    else:
        django_ready()
        from skygallery.gallery.services.search import search_products
        from skygallery.gallery.services.serialize import product_summary
        found = search_products(params)
        result = {"total": found.total, "total_exact": found.total_exact, "page": found.page,
                  "page_size": found.page_size, "query": found.query,
                  "results": [product_summary(p) for p in found.results]}
    if as_json:
        return typer.echo(json.dumps(result, indent=2))
    total = f"{result['total']}{'' if result['total_exact'] else '+'}"
    rows = table("product_id", "title", "instrument", "type", "sources", "t1", "revs", "version")
    rows.title = f"{len(result['results'])} of {total} products (page {result['page']})"
    for r in result["results"]:
        revs = str(r["rev1"]) if r["rev1"] == r["rev2"] else f"{r['rev1']}-{r['rev2']}"
        rows.add_row(r["product_id"], r["title"], r["instrument"], r["product_type"], ", ".join(r["sources"]),
                     (r["t1"] or "")[:19], revs, str(r["version"]))
    show(rows)


def export(product_id: str, out: Annotated[Path, typer.Option("--out", help="Folder to write into.")],
           version: Annotated[Optional[int], typer.Option("--version", help="Version (default: latest).")] = None,
           url: Url = None, token: Token = None):
    """Write a product's files and a manifest.json (its metadata with each file's sha256) to a folder.

    File names come from the uploads, made safe (no paths) and unique; files of the same name
    already in the folder are replaced.

    Examples:
      skygallery export isgri-crab-2565 --out ./crab
      skygallery export isgri-crab-2565 --out ./crab --version 1 --url https://gallery.example.org
    """
    if url:
        client = http_client(url, token)
        meta = client.get(product_id, version)
        fetch = lambda f, stream: client.download(f["url"], stream)  # noqa: E731
    else:
        django_ready()
        from skygallery.gallery.services.filestore import FileStore
        from skygallery.gallery.services.products import get_product, get_version
        meta, store = get_version(get_product(product_id), version).metadata, FileStore()

        def fetch(f, stream):
            if not store.exists(f["sha256"]):
                raise NotFound(f"{f['name']}: content missing from the file store")
            with store.path(f["sha256"]).open("rb") as src:
                shutil.copyfileobj(src, stream, CHUNK)
    manifest = write_export(meta, out, fetch)
    typer.echo(f"exported {meta['product_id']} version {meta['version']}: {len(manifest['files'])} files and "
               f"manifest.json in {out}")


def delete(product_id: str, url: Url = None, token: Token = None, as_user: AsUser = None):
    """Delete a product (soft: it leaves searches; its files stay until collected).

    Re-posting the same product_id revives it; collect-garbage --purge-deleted removes it for good.

    Examples:
      skygallery delete isgri-crab-2565
      skygallery delete isgri-crab-2565 --url https://gallery.example.org --token sg_…
    """
    if url:
        http_client(url, token).delete(product_id)
    else:
        django_ready()
        from skygallery.gallery.services.products import delete_product
        delete_product(product_id, actor=actor(as_user))
    typer.echo(f"deleted {product_id}")


def register(app: typer.Typer) -> None:
    for fn in (post, search, export, delete):
        app.command(rich_help_panel="Products")(fn)
