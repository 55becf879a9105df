"""Atom feeds of new products: the whole gallery and per source."""
from __future__ import annotations

from django.contrib.syndication.views import Feed
from django.http import Http404
from django.utils.feedgenerator import Atom1Feed

from ..errors import NotFound
from ..services.pages import newest_products
from ..services.serialize import product_page_url, source_page_url
from ..services.sources import get_source
from ..services.timing import isot

FEED_SIZE = 50


class ProductFeed(Feed):
    feed_type = Atom1Feed
    title = "SkyGallery: new INTEGRAL products"
    subtitle = "Images, spectra and light curves posted to the gallery"
    link = "/"

    def items(self):
        return newest_products(FEED_SIZE)

    def item_title(self, item):
        return item.title

    def item_description(self, item):
        sources = ", ".join(item.source_names)
        return (f"{item.product_type.label} · {item.instrument.label} · {item.e1_kev:g}–{item.e2_kev:g} keV · "
                f"{isot(item.t_start)[:19]} – {isot(item.t_end)[:19]} · rev. {item.rev1}"
                + (f"–{item.rev2}" if item.span else "") + (f" · {sources}" if sources else "")
                + f" · {item.data_version}")

    def item_link(self, item):
        return product_page_url(item.product_id)

    def item_pubdate(self, item):
        return item.created_at

    def item_updateddate(self, item):
        return item.updated_at


class SourceFeed(ProductFeed):
    def get_object(self, request, name):
        try:
            return get_source(name)
        except NotFound:
            raise Http404(f"no source named {name!r}") from None

    def title(self, obj):
        return f"SkyGallery: new products of {obj.name}"

    def link(self, obj):
        return source_page_url(obj.name)

    def items(self, obj):
        return newest_products(FEED_SIZE, sources=obj)
