"""The test-site models move from the cycles app to the testsites app: state only, the tables
(cycles_testsite, cycles_testsession, cycles_logincode) stay as they are."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('supervision', '0001_initial'),
        ('testsites', '0001_initial'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(state_operations=[
            migrations.AlterField(
                model_name='flag',
                name='session',
                field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='video_flags', to='testsites.testsession'),
            ),
            migrations.AlterField(
                model_name='recording',
                name='session',
                field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='recordings', to='testsites.testsession'),
            ),
        ]),
    ]
