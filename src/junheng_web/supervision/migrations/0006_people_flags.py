from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('supervision', '0005_light_flags'),
    ]

    operations = [
        migrations.AlterField(
            model_name='flag',
            name='kind',
            field=models.CharField(choices=[('covered', '镜头遮挡或画面过暗'), ('frozen', '画面冻结'), ('loop', '画面循环重放'), ('still', '长时间无动静'), ('camera_moved', '镜头移动'), ('gap', '录像时间断档'), ('lighting', '照明变化'), ('occluded', '镜头部分遮挡'), ('late_start', '录像晚于开考'), ('early_end', '录像早于结束'), ('missing', '录像缺失'), ('empty_seats', '座位空缺（人脸少于应到人数）'), ('extra_person', '多出人员'), ('copying', '疑似抄袭（ω）'), ('identical_incorrect', '相同错误答案过多'), ('rapid', '作答过快'), ('timing_misfit', '作答时间异常'), ('same_timing', '相邻考生作答节奏一致'), ('answer_changes', '改错为对过多')], max_length=24),
        ),
    ]
