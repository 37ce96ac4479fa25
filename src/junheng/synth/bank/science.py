"""科学 (grade 6): a circuit picture, a lever, an experiment's table, and items made from lists
(classifications: conductors, mammals, chemical changes, renewable energy, …; experiments to
design; everyday things to explain)."""

from __future__ import annotations

import numpy as np

from junheng.synth.bank import Content, choice, constructed, number
from junheng.synth.bank.figures import circuit, lever

MATTER, LIFE, EARTH, TECH = "物质科学", "生命科学", "地球与宇宙", "技术与工程"

DISSOLVE = ("小明在 50 毫升水中加入食盐，搅拌到不能再溶解为止，记录如下。\n"
            "| 水温（℃） | 20 | 40 | 60 | 80 |\n|---|---|---|---|---|\n| 最多溶解的食盐（克） | 18.0 | 18.3 | 18.5 | 19.0 |\n"
            "| 最多溶解的白糖（克） | 102 | 119 | 144 | 181 |")


def written() -> list[Content]:
    return [
        choice("小红连接了下图的电路。\n[图1]\n闭合开关后小灯泡会亮，这是因为", "电池、导线、开关和小灯泡连成了一个闭合的回路",
               ["开关是用塑料做的", "小灯泡离电池很近", "电池里装满了光"], MATTER, (circuit(True),)),
        choice("下图中的小灯泡不亮。\n[图1]\n最可能的原因是", "开关断开，电路没有形成闭合回路",
               ["电池太新", "导线太短", "小灯泡太亮了"], MATTER, (circuit(False),)),
        number("用下图的杠杆撬起重物。\n[图1]\n不计杠杆自身的重量，在右端至少要用多大的力（单位：牛）才能撬起重物？",
               40, TECH, (lever(30, 10, 120),)),
        choice(DISSOLVE + "\n\n根据表中数据，下列说法正确的是（　　）", "水温升高时，白糖的溶解量增加得比食盐多",
               ["水温升高时，食盐溶解得越来越少", "食盐和白糖在水中溶解的量一样多", "水温与溶解的量没有关系"], MATTER),
        constructed(DISSOLVE + "\n\n小明说：“要让一杯水里溶解更多的糖，可以把水加热。”他的说法有道理吗？请用表中的数据说明。",
                    ("未作答，或判断错误", "判断有道理，但没有引用数据，或数据用错",
                     "判断有道理，并引用数据（如 20℃ 时 102 克，80℃ 时 181 克）说明水温越高溶解的糖越多"), MATTER),
        constructed("月相从新月变到满月，大约要经过多少天？这段时间里，我们看到的月亮亮面有什么变化？",
                    ("未作答，或天数和变化都错", "天数（约 15 天）或亮面变化只答对一项",
                     "约 15 天（半个月），亮面逐渐变大（从右边开始变亮）"), EARTH),
    ]


CLASSES = [  # (the class, examples of it, examples of the contrasting class, domain)
    ("导体", ["铁钉", "铜丝", "铝箔", "硬币", "铅笔芯", "钢尺"], ["塑料尺", "橡皮", "木筷", "陶瓷碗", "玻璃杯", "棉线"], MATTER),
    ("哺乳动物", ["鲸", "蝙蝠", "兔", "海豚", "牛", "猴"], ["鲨鱼", "企鹅", "青蛙", "蛇", "蝴蝶", "鳄鱼"], LIFE),
    ("化学变化", ["铁钉生锈", "蜡烛燃烧", "面包发霉", "木柴燃烧", "苹果切开后变色", "小苏打和白醋混合冒泡"],
     ["冰融化成水", "纸被撕碎", "水结成冰", "木头锯断", "玻璃打碎", "食盐溶解在水中"], MATTER),
    ("可再生能源", ["太阳能", "风能", "水能", "潮汐能", "地热能", "生物质能"], ["煤", "石油", "天然气", "油页岩", "可燃冰", "核燃料铀"],
     EARTH),
    ("能溶解在水中的物质", ["食盐", "白糖", "小苏打", "味精", "高锰酸钾", "碱面"], ["沙子", "面粉", "食用油", "小石子", "木屑", "铁粉"],
     MATTER),
    ("用种子繁殖的植物", ["向日葵", "玉米", "花生", "水稻", "大豆", "南瓜"], ["蕨类", "葫芦藓", "海带", "蘑菇", "地钱", "紫菜"], LIFE),
    ("简单机械中的杠杆", ["跷跷板", "剪刀", "撬棍", "钳子", "开瓶器", "筷子"], ["斜坡", "螺丝钉", "盘山公路", "旗杆顶的滑轮", "楼梯", "轮轴"], TECH),
    ("会被磁铁吸引的物体", ["回形针", "铁钉", "大头针", "钢勺", "铁片", "缝衣针"], ["铜钥匙", "铝罐", "塑料扣", "木块", "纸片", "玻璃珠"], MATTER),
]
DESIGN = ["空气占据空间", "植物生长需要水", "光是沿直线传播的", "热空气会上升", "金属有热胀冷缩的性质",
          "种子发芽需要适宜的温度", "摩擦力的大小与接触面的粗糙程度有关", "声音是由物体振动产生的",
          "绿色植物的叶在光照下会产生淀粉", "铁生锈与水有关", "水蒸发的快慢与温度有关", "斜面越缓越省力"]
EXPLAIN = [("夏天，从冰箱拿出的饮料瓶外壁很快会“出汗”。", "空气中的水蒸气遇冷凝结成小水珠"),
           ("铁轨之间要留一些缝隙。", "铁轨受热会膨胀，留缝隙防止铁轨变形"),
           ("冬天，人们用嘴对着冰冷的手哈气会觉得暖和。", "呼出的气温度较高，其中的水蒸气遇冷凝结时放热"),
           ("雷雨时我们总是先看到闪电，后听到雷声。", "光传播的速度比声音快得多"),
           ("自行车的轮胎上有凹凸不平的花纹。", "增大接触面的粗糙程度，增大摩擦力，防止打滑"),
           ("一年中有春夏秋冬四季的变化。", "地球斜着身子绕太阳公转，不同时间太阳直射点位置不同"),
           ("我们每天看到太阳东升西落。", "地球自西向东自转"),
           ("切开的苹果放一会儿表面会变成褐色。", "苹果中的物质和空气中的氧气发生了变化，产生了新物质"),
           ("把种子种得太深，不容易出苗。", "太深处空气少、温度低，种子发芽需要空气和适宜的温度"),
           ("冬天，放在室外的水缸有时会被冻裂。", "水结成冰时体积变大，把水缸撑裂"),
           ("用放大镜把阳光会聚到纸上，纸会被点燃。", "凸透镜能把光会聚到一点，使那里温度很高"),
           ("蚯蚓在大雨过后常常爬到地面上来。", "雨水灌满土壤中的空隙，蚯蚓在土里缺少空气")]


IS = ["下列选项中，属于{name}的是（　　）", "小明整理了四样东西，其中属于{name}的是（　　）", "下面哪一项属于{name}？",
      "请从下列选项中找出{name}（　　）", "以下属于{name}的一项是（　　）", "科学课上，老师请同学们找出{name}，应该选（　　）"]
IS_NOT = ["下列选项中，不属于{name}的是（　　）", "小红找了四样东西，其中不属于{name}的是（　　）", "下面哪一项不属于{name}？",
          "请从下列选项中找出不是{name}的一项（　　）", "以下不属于{name}的一项是（　　）", "科学课上，老师请同学们找出不是{name}的一项，应该选（　　）"]


def made(rng: np.random.Generator) -> list[Content]:
    out: list[Content] = []
    for name, members, others, domain in CLASSES:
        for k, member in enumerate(members):
            pick = rng.choice(len(others), 3, replace=False)
            out.append(choice(IS[k].format(name=name), member, [others[i] for i in pick], domain))
            rest = [m for m in members if m != member]
            pick = rng.choice(len(rest), 3, replace=False)
            out.append(choice(IS_NOT[k].format(name=name), others[k], [rest[i] for i in pick], domain))
    unique = out
    for effort_arm, load_arm, load in [(40, 10, 200), (20, 10, 60), (50, 25, 90), (60, 20, 150), (30, 15, 80),
                                       (45, 15, 120), (80, 20, 100), (36, 12, 60)]:
        unique.append(number(f"用杠杆撬起一块重 {load} 牛的石头，动力臂长 {effort_arm} 厘米，阻力臂长 {load_arm} 厘米。"
                             "不计杠杆自身的重量，至少要用多大的力（单位：牛）？", load * load_arm // effort_arm, TECH))
    for claim in DESIGN:
        unique.append(constructed(f"请设计一个简单的实验，证明“{claim}”。写出你用的材料、做法和会看到的现象。",
                                  ("未作答，或实验与要证明的内容无关", "实验方向正确，但材料、做法或现象缺一项，或没有对比",
                                   "材料、做法和现象完整，有对比（只改变一个条件），现象能说明结论"),
                                  TECH if "力" in claim else MATTER if "植物" not in claim and "种子" not in claim else LIFE))
    for fact, why in EXPLAIN:
        unique.append(constructed(f"{fact}请用学过的科学知识解释这个现象。",
                                  ("未作答，或解释错误", "说到了相关的知识，但解释不完整",
                                   f"解释正确完整：{why}"), EARTH if ("太阳" in fact or "四季" in fact) else MATTER))
    return unique
