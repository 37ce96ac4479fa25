"""The table of the shared page cache (settings.CACHES with JUNHENG_CACHE=db, the default on
PostgreSQL): created on every installation, whichever cache it uses now, so switching needs no step."""

from django.core.management import call_command
from django.db import migrations


def create(apps, schema_editor):
    call_command("createcachetable", "junheng_cache", database=schema_editor.connection.alias, verbosity=0)


def drop(apps, schema_editor):
    schema_editor.execute(f"DROP TABLE IF EXISTS {schema_editor.quote_name('junheng_cache')}")


class Migration(migrations.Migration):

    dependencies = [("cycles", "0004_testsites")]

    operations = [migrations.RunPython(create, drop)]
