from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('supervision', '0007_more_flag_kinds'),
    ]

    operations = [
        migrations.AddField(
            model_name='flag',
            name='choice',
            field=models.CharField(blank=True, choices=[('browser', '在线作答'), ('paper', '答题卡')], default='', max_length=8, verbose_name='采用的作答来源'),
        ),
        migrations.AddField(
            model_name='flag',
            name='evidence',
            field=models.JSONField(blank=True, default=dict),
        ),
        migrations.AlterField(
            model_name='flag',
            name='kind',
            field=models.CharField(choices=[('covered', '镜头遮挡或画面过暗'), ('frozen', '画面冻结'), ('loop', '画面循环重放'), ('still', '长时间无动静'), ('camera_moved', '镜头移动'), ('gap', '录像时间断档'), ('lighting', '照明变化'), ('occluded', '镜头部分遮挡'), ('late_start', '录像晚于开考'), ('early_end', '录像早于结束'), ('missing', '录像缺失'), ('empty_seats', '座位空缺（人脸少于应到人数）'), ('extra_person', '多出人员'), ('crowding', '课桌旁聚集多人'), ('extra_adult', '多出成人'), ('no_proctor', '监考员长时间不在画面中'), ('sound', '声音异常（疑似说话）'), ('copying', '疑似抄袭（ω）'), ('identical_incorrect', '相同错误答案过多'), ('rapid', '作答过快'), ('timing_misfit', '作答时间异常'), ('same_timing', '相邻考生作答节奏一致'), ('answer_changes', '改错为对过多'), ('two_channels', '同一学生既有在线作答又有答题卡')], max_length=24),
        ),
    ]
