"""WSGI entry point: ``gunicorn skygallery.site.wsgi`` or ``skygallery serve``."""
import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "skygallery.site.settings")
application = get_wsgi_application()
