"""Product cards, rendered in Python: a page shows up to ~100 of them, and the template engine's
per-variable cost made cards most of a page's rendering time. Every value passes through
``escape``; the markup is the one the stylesheet and the browser tests expect."""
from __future__ import annotations

from django import template
from django.template.defaultfilters import truncatechars
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

register = template.Library()


def _thumb(c: dict) -> str:
    p = c["product"]
    if c["preview_url"]:
        return (f'<img src="{escape(c["preview_url"])}" alt="Preview of {escape(p.title)}" loading="lazy" '
                'width="320" height="240">')
    return f'<span class="noprev">{escape(p.product_type.label)}</span>'


def _rows(c: dict) -> str:
    p = c["product"]
    rows = []
    if c["sources"]:
        rows.append(f'<p><b>Sources</b> {escape(truncatechars(", ".join(c["sources"]), 60))}</p>')
    rows.append(f"<p><b>Instrument</b> {escape(p.instrument.name)} · {escape(p.product_type.family)}</p>")
    rows.append(f"<p><b>Data time span:</b><br>{escape(c['t1'])} – {escape(c['t2'])}</p>")
    rows.append(f"<p><b>Revolution span:</b> {p.rev1:d} – {p.rev2:d}</p>")
    if c["obsids"]:
        rows.append(f'<p><b>Proposal IDs:</b> {escape(", ".join(str(o) for o in c["obsids"]))}</p>')
    return "\n    ".join(rows)


@register.simple_tag
def product_card(c: dict) -> SafeString:
    """One card of ``services.pages.card_data``."""
    p = c["product"]
    url, version = escape(c["url"]), escape(p.data_version)
    return mark_safe(
        f'<article class="card{" highlight" if p.highlight else ""}">\n'
        f'  <a class="thumb" href="{url}">{_thumb(c)}</a>\n  <div class="body">\n'
        f'    <h3><a href="{url}" title="{escape(p.title)}">{escape(truncatechars(p.title, 48))}</a> '
        f'<span class="badge {version.lower()}">{version}</span></h3>\n    {_rows(c)}\n  </div>\n</article>')
