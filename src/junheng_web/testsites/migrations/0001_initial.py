"""The test-site models move from the cycles app to the testsites app: state only, the tables
(cycles_testsite, cycles_testsession, cycles_logincode) stay as they are."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ('cycles', '0003_login_code_hash_index'),
        ('registry', '0001_initial'),
        ('sampling', '0001_initial'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(state_operations=[
            migrations.CreateModel(
                name='TestSite',
                fields=[
                    ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                    ('code', models.CharField(max_length=32, verbose_name='测试点编号')),
                    ('name', models.CharField(max_length=128, verbose_name='测试点名称')),
                    ('address', models.CharField(blank=True, max_length=200, verbose_name='地址')),
                    ('created_at', models.DateTimeField(auto_now_add=True)),
                    ('county', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='test_sites', to='registry.region')),
                    ('cycle', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='test_sites', to='registry.cycle')),
                    ('schools', models.ManyToManyField(blank=True, related_name='test_sites', to='sampling.sampledschool', verbose_name='参测学校')),
                ],
                options={
                    'db_table': 'cycles_testsite',
                    'ordering': ['county__code', 'code'],
                },
            ),
            migrations.CreateModel(
                name='TestSession',
                fields=[
                    ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                    ('subject', models.CharField(max_length=16, verbose_name='科目')),
                    ('room', models.CharField(blank=True, max_length=64, verbose_name='考场')),
                    ('starts_at', models.DateTimeField(verbose_name='开始时间')),
                    ('ends_at', models.DateTimeField(verbose_name='结束时间')),
                    ('proctor', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='sessions', to=settings.AUTH_USER_MODEL, verbose_name='监考员')),
                    ('site', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='sessions', to='testsites.testsite')),
                ],
                options={
                    'db_table': 'cycles_testsession',
                    'ordering': ['starts_at', 'id'],
                },
            ),
            migrations.CreateModel(
                name='LoginCode',
                fields=[
                    ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                    ('student_id', models.CharField(max_length=32, verbose_name='学籍号')),
                    ('code_hash', models.CharField(max_length=64)),
                    ('created_at', models.DateTimeField(auto_now_add=True)),
                    ('session', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='login_codes', to='testsites.testsession')),
                ],
                options={
                    'db_table': 'cycles_logincode',
                    'indexes': [models.Index(fields=['code_hash'], name='login_code_hash_idx')],
                    'constraints': [models.UniqueConstraint(fields=('session', 'student_id'), name='login_code_session_pupil_unique')],
                },
            ),
            migrations.AddConstraint(
                model_name='testsite',
                constraint=models.UniqueConstraint(fields=('cycle', 'code'), name='test_site_cycle_code_unique'),
            ),
            migrations.AddConstraint(
                model_name='testsession',
                constraint=models.CheckConstraint(condition=models.Q(('ends_at__gt', models.F('starts_at'))), name='session_ends_after_start'),
            ),
        ]),
    ]
