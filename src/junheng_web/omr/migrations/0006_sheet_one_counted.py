"""The sheet's cycle and subject in its own row (from its session), for the database's rule that a
pupil has at most one counted (read) sheet in a cycle's subject (0007).  A database that already
breaks the rule is not changed silently: the migration stops and names the sheets to correct first."""

import django.db.models.deletion
from django.db import migrations, models


def backfill(apps, schema_editor):
    Sheet = apps.get_model("omr", "Sheet")
    TestSession = apps.get_model("testsites", "TestSession")
    for pk, cycle, subject in (TestSession.objects.filter(pk__in=Sheet.objects.values("session_id"))
                               .values_list("pk", "site__cycle_id", "subject")):
        Sheet.objects.filter(session_id=pk).update(cycle_id=cycle, subject=subject)
    seen, clashes = {}, []
    for name, cycle, subject, pid in (Sheet.objects.filter(status="read").exclude(person_id="")
                                      .order_by("pk").values_list("name", "cycle_id", "subject", "person_id")):
        key = (cycle, subject, pid)
        if key in seen:
            clashes.append(f"{seen[key]} / {name} ({pid}, {subject})")
        seen.setdefault(key, name)
    if clashes:
        raise RuntimeError("答题卡：同一学生在同一学科有两张计分的答题卡，请先更正 / two counted sheets of one pupil in "
                           "one subject — correct them first: " + "; ".join(clashes[:20]))


class Migration(migrations.Migration):

    dependencies = [
        ("omr", "0005_pupil_correction"),
        ("registry", "0001_initial"),
        ("testsites", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="sheet",
            name="cycle",
            field=models.ForeignKey(null=True, on_delete=django.db.models.deletion.CASCADE, related_name="+",
                                    to="registry.cycle"),
        ),
        migrations.AddField(
            model_name="sheet",
            name="subject",
            field=models.CharField(default="", max_length=16),
            preserve_default=False,
        ),
        migrations.RunPython(backfill, migrations.RunPython.noop),
    ]
