from django.apps import AppConfig


class GalleryConfig(AppConfig):
    name = "skygallery.gallery"
    label = "gallery"
    verbose_name = "SkyGallery"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from .pagecache import connect_signals
        connect_signals()
