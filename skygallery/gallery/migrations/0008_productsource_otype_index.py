# The index of 0007's copies, in a migration of its own: PostgreSQL cannot create an index on a table
# with pending trigger events, which 0007's UPDATEs leave until its transaction ends.

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('gallery', '0007_productsource_type_and_revolutions'),
    ]

    operations = [
        migrations.AddIndex(
            model_name='productsource',
            index=models.Index(condition=models.Q(('live', True)), fields=['object_type', 'instrument', 'product_type', 'span_class', 'rev1', 'rev2', 'product'], name='prodsrc_otype_kind'),
        ),
    ]
