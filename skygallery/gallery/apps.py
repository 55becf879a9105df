from django.apps import AppConfig


class GalleryConfig(AppConfig):
    name = "skygallery.gallery"
    label = "gallery"
    verbose_name = "SkyGallery"
    default_auto_field = "django.db.models.BigAutoField"
