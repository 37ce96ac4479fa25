"""Sheets read before 0003 know neither what they said (``answers``) nor which answer rows they
wrote (``written``): without these their answers would look like the browser's, and every such
pupil would be flagged as answering in two channels.  Backfilled from the pupil's attempt: the rows
with the ids the reader derives (uuid5 of the sheet's hash and the item), and the reviewers'
corrections (written under the sheet's lease 0 with no browser time)."""

import uuid

from django.db import migrations

ANSWER_NS = uuid.UUID("6f6d7200-0000-4000-8000-6a756e68656e")  # = omr.services.ANSWER_NS


def backfill(apps, schema_editor):
    Sheet = apps.get_model("omr", "Sheet")
    Answer = apps.get_model("delivery", "Answer")
    for sheet in Sheet.objects.filter(status="read", attempt__isnull=False).iterator():
        if sheet.written:
            continue
        rows = Answer.objects.filter(attempt_id=sheet.attempt_id).values_list(
            "id", "item__item_id", "raw", "lease", "seq", "client_at")
        mine = sorted((seq, str(pk), item, raw) for pk, item, raw, lease, seq, at in rows
                      if pk == uuid.uuid5(ANSWER_NS, f"{sheet.sha256}:{item}") or (lease == 0 and seq > 0 and at is None))
        if not mine:
            continue
        sheet.written = sorted(pk for _, pk, _, _ in mine)
        if not sheet.answers:
            sheet.answers = {item: raw for _, _, item, raw in mine}  # by seq: a correction after the reading
        sheet.save(update_fields=["written", "answers"])


class Migration(migrations.Migration):

    dependencies = [
        ("omr", "0003_sheet_answers_written"),
        ("delivery", "0007_site_times"),
    ]

    operations = [migrations.RunPython(backfill, migrations.RunPython.noop)]
