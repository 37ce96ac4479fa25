"""Login codes get a lookup key: an HMAC of the code under the server secret, indexed, so a sign-in
finds its row in one query however many sessions are open (issue 15.2).  Rows stored before keep
working through the old per-session hashing until their first sign-in (``delivery.services``)."""


from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('testsites', '0001_initial'),
    ]

    operations = [
        migrations.AddField(
            model_name='logincode',
            name='lookup',
            field=models.CharField(blank=True, max_length=64, null=True),
        ),
        migrations.AddIndex(
            model_name='logincode',
            index=models.Index(fields=['lookup'], name='login_code_lookup_idx'),
        ),
    ]
