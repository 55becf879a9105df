"""WSGI entry point: ``gunicorn skygallery.site.wsgi`` or ``skygallery serve``.

The application is loaded completely here (settings, apps and every view module of the URLconf,
with numpy and astropy), then ``gc.freeze()`` moves the objects loaded so far out of the cyclic
garbage collector's generations: its full collections no longer walk the ~180,000 objects of the
loaded code and libraries (such a collection took ~110 ms, in the middle of a request), and server
processes forked after this point keep sharing those pages.
"""
import gc
import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "skygallery.site.settings")
application = get_wsgi_application()


def _load_views() -> None:
    from django.urls import get_resolver
    get_resolver().url_patterns   # imports every view module now rather than at the first request


_load_views()
gc.freeze()
