"""Admin site: every gallery object is editable by staff."""
from django.contrib import admin

from . import models as m


class SourceNameInline(admin.TabularInline):
    model = m.SourceName
    extra = 1
    fields = ("name", "key", "is_primary")
    readonly_fields = ("key",)


@admin.register(m.Source)
class SourceAdmin(admin.ModelAdmin):
    list_display = ("name", "ra_deg", "dec_deg", "object_type")
    list_filter = ("object_type",)
    search_fields = ("name", "names__name")
    inlines = [SourceNameInline]

    def save_formset(self, request, form, formset, change):
        from skygallery.science.names import normalise_name
        for obj in formset.save(commit=False):
            obj.key = normalise_name(obj.name)
            obj.save()
        for obj in formset.deleted_objects:
            obj.delete()


class ProductVersionInline(admin.TabularInline):
    model = m.ProductVersion
    extra = 0
    fields = ("number", "created_at", "created_by")
    readonly_fields = fields
    can_delete = False


@admin.register(m.Product)
class ProductAdmin(admin.ModelAdmin):
    list_display = ("title", "product_id", "instrument", "product_type", "rev1", "rev2", "data_version", "highlight",
                    "version", "deleted_at")
    list_filter = ("instrument", "product_type", "data_version", "highlight")
    search_fields = ("title", "product_id")
    raw_id_fields = ("observation",)
    filter_horizontal = ()
    inlines = [ProductVersionInline]
    readonly_fields = ("span", "version", "created_at", "updated_at")


class ProductFileInline(admin.TabularInline):
    model = m.ProductFile
    extra = 0
    readonly_fields = ("role", "original_name", "size", "sha256", "mime")


@admin.register(m.ProductVersion)
class ProductVersionAdmin(admin.ModelAdmin):
    list_display = ("product", "number", "created_at", "created_by")
    raw_id_fields = ("product",)
    inlines = [ProductFileInline]


class ObservationFileInline(admin.TabularInline):
    model = m.ObservationFile
    extra = 0
    readonly_fields = ("role", "original_name", "size", "sha256", "mime")


@admin.register(m.Observation)
class ObservationAdmin(admin.ModelAdmin):
    list_display = ("title", "rev1", "rev2", "t_start", "t_end", "pi")
    search_fields = ("title", "pi", "proposal_title")
    inlines = [ObservationFileInline]


@admin.register(m.Revolution)
class RevolutionAdmin(admin.ModelAdmin):
    list_display = ("number", "start_utc", "end_utc", "data_status")
    list_filter = ("data_status",)


@admin.register(m.ProcessingLog)
class ProcessingLogAdmin(admin.ModelAdmin):
    list_display = ("revolution", "status", "job_id", "created_at")
    list_filter = ("status",)


@admin.register(m.DetectedSource)
class DetectedSourceAdmin(admin.ModelAdmin):
    list_display = ("name", "version", "ra_deg", "dec_deg", "flux", "significance", "is_new")
    raw_id_fields = ("version", "source")


@admin.register(m.ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ("name", "user", "prefix", "created_at", "expires_at", "revoked_at")
    readonly_fields = ("digest", "prefix")


admin.site.register(m.Instrument)
admin.site.register(m.ProductType)
admin.site.site_header = "SkyGallery administration"
