"""The test-site models move from the cycles app to the testsites app: state only, the tables
(cycles_testsite, cycles_testsession, cycles_logincode) stay as they are."""

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('cycles', '0003_login_code_hash_index'),
        ('testsites', '0001_initial'),
        ('delivery', '0003_testsites'),
        ('supervision', '0002_testsites'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(state_operations=[
            migrations.DeleteModel(name='LoginCode'),
            migrations.DeleteModel(name='TestSession'),
            migrations.DeleteModel(name='TestSite'),
        ]),
    ]
