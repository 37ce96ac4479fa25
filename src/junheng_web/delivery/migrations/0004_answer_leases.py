"""Answers ordered by (lease, seq) and stamped with the time they were given (issue 15.3): every load
of the test page opens a Lease; rows from before are lease 0 with no client time."""


import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('assessment', '0003_cutscore'),
        ('delivery', '0003_testsites'),
    ]

    operations = [
        migrations.CreateModel(
            name='Lease',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('number', models.PositiveIntegerField()),
                ('started_at', models.DateTimeField()),
            ],
        ),
        migrations.RemoveIndex(
            model_name='answer',
            name='delivery_an_attempt_d477c6_idx',
        ),
        migrations.AddField(
            model_name='answer',
            name='client_at',
            field=models.DateTimeField(blank=True, null=True, verbose_name='作答时间'),
        ),
        migrations.AddField(
            model_name='answer',
            name='lease',
            field=models.PositiveIntegerField(default=0, verbose_name='设备租约'),
        ),
        migrations.AddField(
            model_name='attempt',
            name='lease',
            field=models.PositiveIntegerField(default=0, verbose_name='当前设备租约'),
        ),
        migrations.AddIndex(
            model_name='answer',
            index=models.Index(fields=['attempt', 'item', 'lease', 'seq'], name='delivery_answer_order'),
        ),
        migrations.AddField(
            model_name='lease',
            name='attempt',
            field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='leases', to='delivery.attempt'),
        ),
        migrations.AddConstraint(
            model_name='lease',
            constraint=models.UniqueConstraint(fields=('attempt', 'number'), name='delivery_lease_unique'),
        ),
    ]
