from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('omr', '0002_sheet_bubbles_issues'),
    ]

    operations = [
        migrations.AddField(
            model_name='sheet',
            name='answers',
            field=models.JSONField(blank=True, default=dict),
        ),
        migrations.AddField(
            model_name='sheet',
            name='written',
            field=models.JSONField(blank=True, default=list),
        ),
    ]
