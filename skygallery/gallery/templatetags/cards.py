"""Product cards, rendered in Python: a page shows up to ~50 of them, and the template engine's
per-variable cost made cards most of a page's rendering time. Every value is escaped by
``format_html``; the markup is the one the stylesheet and the browser tests expect."""
from __future__ import annotations

from django import template
from django.template.defaultfilters import truncatechars
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

register = template.Library()


def _thumb(c: dict) -> SafeString:
    p = c["product"]
    if c["preview_url"]:
        return format_html('<img src="{}" alt="Preview of {}" loading="lazy" width="320" height="240">',
                           c["preview_url"], p.title)
    return format_html('<span class="noprev">{}</span>', p.product_type.label)


def _rows(c: dict) -> SafeString:
    p = c["product"]
    rows = []
    if c["sources"]:
        rows.append(("Sources", truncatechars(", ".join(c["sources"]), 60)))
    rows.append(("Instrument", f"{p.instrument.name} · {p.product_type.family}"))
    rows.append(("Data time span:", format_html("<br>{} – {}", c["t1"], c["t2"])))
    rows.append(("Revolution span:", f"{p.rev1} – {p.rev2}"))
    if c["obsids"]:
        rows.append(("Proposal IDs:", ", ".join(str(o) for o in c["obsids"])))
    return format_html_join("\n    ", "<p><b>{}</b> {}</p>", rows)


@register.simple_tag
def product_card(c: dict) -> SafeString:
    """One card of ``services.pages.card_data``."""
    p = c["product"]
    version = p.data_version
    return format_html(
        '<article class="card{}">\n  <a class="thumb" href="{}">{}</a>\n  <div class="body">\n'
        '    <h3><a href="{}" title="{}">{}</a> <span class="badge {}">{}</span></h3>\n    {}\n  </div>\n</article>',
        " highlight" if p.highlight else "", c["url"], _thumb(c), c["url"], p.title, truncatechars(p.title, 48),
        version.lower(), version, _rows(c))
