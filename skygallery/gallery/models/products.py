"""Products, their versions, files and detected sources."""
from django.conf import settings
from django.db import models

from ..intervals import duration_class, span_class
from .files import StoredFileBase
from .observations import Observation
from .sources import PositionMixin, Source
from .vocab import DATA_VERSIONS, Instrument, ProductType


LIVE = models.Q(deleted_at__isnull=True)  # searches only ever read live (not soft-deleted) products
LINK_LIVE = models.Q(live=True)


class Product(PositionMixin):
    """The latest state of a product; every posted state is also kept as a ``ProductVersion``.

    Searchable columns live here (one row per product), so that searches over the whole mission
    touch one table; ``span_class`` and ``dur_class`` make interval overlap indexable
    (see ``skygallery.gallery.intervals``).
    """

    product_id = models.CharField(max_length=200, unique=True, help_text="Client-chosen upsert key")
    title = models.CharField(max_length=300)
    instrument = models.ForeignKey(Instrument, on_delete=models.PROTECT, related_name="products")
    product_type = models.ForeignKey(ProductType, on_delete=models.PROTECT, related_name="products")
    e1_kev = models.FloatField(help_text="Lower energy bound (keV)")
    e2_kev = models.FloatField(help_text="Upper energy bound (keV)")
    t_start = models.DateTimeField(help_text="Start of the data (UTC)")
    t_end = models.DateTimeField(help_text="End of the data (UTC)")
    dur_class = models.SmallIntegerField(editable=False, default=0)
    rev1 = models.PositiveIntegerField()
    rev2 = models.PositiveIntegerField()
    span = models.PositiveIntegerField(help_text="rev2 - rev1: 0 per-revolution, > 0 long-term")
    span_class = models.SmallIntegerField(editable=False, default=0)
    observation = models.ForeignKey(Observation, null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="products")
    sources = models.ManyToManyField(Source, through="ProductSource", related_name="products", blank=True)
    time_bin_s = models.FloatField(null=True, blank=True, help_text="Light-curve bin (s)")
    data_version = models.CharField(max_length=4, choices=[(v, v) for v in DATA_VERSIONS], default="CONS")
    highlight = models.BooleanField(default=False)
    version = models.PositiveIntegerField(default=1, help_text="Number of the latest version")
    notebook = models.CharField(max_length=500, blank=True, help_text="Notebook or workflow URL/path")
    repository_commit = models.CharField(max_length=64, blank=True)
    parameters = models.JSONField(default=dict, blank=True, help_text="Input parameters of the analysis")
    software = models.JSONField(default=dict, blank=True, help_text="Software versions")
    job_id = models.CharField(max_length=128, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    deleted_at = models.DateTimeField(null=True, blank=True, help_text="Set when soft-deleted")

    class Meta:
        ordering = ["-t_start", "-id"]
        indexes = [  # partial (live products) and covering where it spares reading table rows; see docs
            models.Index(fields=["instrument", "product_type", "t_start"], name="prod_instr_type_t", condition=LIVE),
            models.Index(fields=["t_start", "id"], name="prod_t", condition=LIVE),
            models.Index(fields=["dur_class", "t_start", "t_end"], name="prod_durc_t"),
            models.Index(fields=["span_class", "rev1", "rev2"], name="prod_spanc_rev"),
            models.Index(fields=["instrument", "product_type", "span_class", "rev1"], name="prod_kind_rev",
                         condition=LIVE),
            models.Index(fields=["span", "t_start"], name="prod_span_t", condition=LIVE),
            models.Index(fields=["highlight", "t_start"], name="prod_hl_t", condition=LIVE),
            models.Index(fields=["dec_zone", "ra_deg", "pos_x", "pos_y", "pos_z"], name="prod_zone_ra", condition=LIVE),
            models.Index(fields=["title"], name="prod_title"),
        ]

    def __str__(self):
        return self.title

    def save(self, *args, **kwargs):
        self.span = self.rev2 - self.rev1
        self.span_class = span_class(self.span)
        self.dur_class = duration_class((self.t_end - self.t_start).total_seconds())
        super().save(*args, **kwargs)
        ProductSource.objects.filter(product=self).update(**ProductSource.copied_columns(self))

    @property
    def family(self) -> str:
        return self.product_type.family

    @property
    def source_names(self) -> list[str]:
        """Names of the linked sources (listings read them for a whole page: ``services.listing``)."""
        return [s.name for s in self.sources.all()]

    @property
    def is_long_term(self) -> bool:
        return self.span > 0

    def current_version(self) -> "ProductVersion":
        return self.versions.get(number=self.version)


class ProductSource(models.Model):
    """A product ↔ source link, with copies of the product columns that per-source queries filter,
    sort and count on (kept equal to the product's by ``Product.save``), and of the source's object
    type (kept equal by ``Source.save``; ``sync_object_types`` for new links).

    With them, "the newest products of a source" and "its products per instrument and type" are
    read from one index range of this table, however many products the source has, and "products
    of X-ray binaries by ISGRI in revolutions 300-400" from a few ranges of ``prodsrc_otype_kind``.
    """

    product = models.ForeignKey(Product, on_delete=models.CASCADE, db_index=False)   # indexed by prodsrc_product
    # no index of its own on source: the indexes below start with it, and a narrow one would tempt
    # SQLite's planner away from the covering prodsrc_src_* indexes
    source = models.ForeignKey(Source, on_delete=models.CASCADE, db_index=False)
    t_start = models.DateTimeField(null=True, help_text="Copy of product.t_start")
    live = models.BooleanField(default=True, help_text="Copy of product.deleted_at IS NULL")
    instrument = models.ForeignKey(Instrument, null=True, on_delete=models.PROTECT, related_name="+", db_index=False)
    product_type = models.ForeignKey(ProductType, null=True, on_delete=models.PROTECT, related_name="+",
                                     db_index=False)
    span = models.PositiveIntegerField(default=0, help_text="Copy of product.span")
    highlight = models.BooleanField(default=False, help_text="Copy of product.highlight")
    rev1 = models.PositiveIntegerField(default=0, help_text="Copy of product.rev1")
    rev2 = models.PositiveIntegerField(default=0, help_text="Copy of product.rev2")
    span_class = models.SmallIntegerField(default=0, help_text="Copy of product.span_class")
    object_type = models.CharField(max_length=32, blank=True, default="", help_text="Copy of source.object_type")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["source", "product"], name="prodsrc_unique")]
        indexes = [
            models.Index(fields=["product"], name="prodsrc_product"),
            models.Index(fields=["source", "t_start", "product", "highlight", "span"], name="prodsrc_src_t",
                         condition=LINK_LIVE),
            models.Index(fields=["source", "instrument", "product_type", "highlight", "span"], name="prodsrc_kind",
                         condition=LINK_LIVE),
            models.Index(fields=["object_type", "instrument", "product_type", "span_class", "rev1", "rev2", "product"],
                         name="prodsrc_otype_kind", condition=LINK_LIVE),
        ]

    @staticmethod
    def copied_columns(product: Product) -> dict:
        """The product's values of the copied columns."""
        return {"t_start": product.t_start, "live": product.deleted_at is None,
                "instrument_id": product.instrument_id, "product_type_id": product.product_type_id,
                "span": product.span, "highlight": product.highlight, "rev1": product.rev1, "rev2": product.rev2,
                "span_class": product.span_class}

    @staticmethod
    def sync_object_types(product: Product) -> None:
        """Copy each linked source's object type onto the product's links."""
        ProductSource.objects.filter(product=product).update(
            object_type=models.Subquery(Source.objects.filter(pk=models.OuterRef("source_id")).values("object_type")))


class ProductVersion(models.Model):
    """One posted state of a product: its metadata snapshot, files and detected sources."""

    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    metadata = models.JSONField(help_text="All metadata of this version, as returned by the API")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["product", "-number"]
        constraints = [models.UniqueConstraint(fields=["product", "number"], name="prodver_unique")]

    def __str__(self):
        return f"{self.product.product_id} v{self.number}"


class ProductFile(StoredFileBase):
    version = models.ForeignKey(ProductVersion, on_delete=models.CASCADE, related_name="files")


class DetectedSource(models.Model):
    """A source detected in an image product (one row per source and version)."""

    version = models.ForeignKey(ProductVersion, on_delete=models.CASCADE, related_name="detected_sources")
    name = models.CharField(max_length=128)
    source = models.ForeignKey(Source, null=True, blank=True, on_delete=models.SET_NULL, related_name="detections")
    ra_deg = models.FloatField()
    dec_deg = models.FloatField()
    flux = models.FloatField(null=True, blank=True, help_text="counts/s in the product's band")
    flux_err = models.FloatField(null=True, blank=True)
    significance = models.FloatField(null=True, blank=True, help_text="sigma")
    is_new = models.BooleanField(default=False)

    class Meta:
        ordering = ["-significance", "name"]

    def __str__(self):
        return self.name
