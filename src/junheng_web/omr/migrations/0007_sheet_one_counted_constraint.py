"""A pupil has at most one counted (read) sheet in a cycle's subject: a database constraint (a
partial unique index), so no order of a reading and a reviewer's correction can break it.  Apart
from 0006 (which fills the columns): PostgreSQL refuses to alter a table with the fill's pending
foreign-key checks in the same transaction."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("omr", "0006_sheet_one_counted"),
    ]

    operations = [
        migrations.AlterField(
            model_name="sheet",
            name="cycle",
            field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name="+",
                                    to="registry.cycle"),
        ),
        migrations.AddConstraint(
            model_name="sheet",
            constraint=models.UniqueConstraint(condition=models.Q(("status", "read"), models.Q(("person_id", ""),
                                                                                                _negated=True)),
                                               fields=("cycle", "subject", "person_id"),
                                               name="omr_one_counted_sheet"),
        ),
    ]
