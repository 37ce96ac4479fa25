"""The test-site models move from the cycles app to the testsites app: state only, the tables
(cycles_testsite, cycles_testsession, cycles_logincode) stay as they are."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('delivery', '0002_code_throttle'),
        ('testsites', '0001_initial'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(state_operations=[
            migrations.AlterField(
                model_name='codeunlock',
                name='session',
                field=models.ForeignKey(null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='testsites.testsession'),
            ),
            migrations.AlterField(
                model_name='attempt',
                name='session',
                field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='attempts', to='testsites.testsession'),
            ),
        ]),
    ]
