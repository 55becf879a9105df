from django.db import migrations


def forwards(apps, schema_editor):
    from skygallery.gallery.seed import seed
    seed(apps)


class Migration(migrations.Migration):
    dependencies = [("gallery", "0001_initial"), ("auth", "0012_alter_user_first_name_max_length")]
    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
