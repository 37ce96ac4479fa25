"""数学 (grade 6): written items (a table, a bar chart, two figures) and word problems with varied
numbers (fractions, percentages, ratio, circles, volume, equations, speed)."""

from __future__ import annotations

from fractions import Fraction

import numpy as np

from junheng.synth.bank import Content, choice, constructed, number
from junheng.synth.bank.figures import bar_chart, square_with_circle, trapezoid

NUM, GEO, STAT, PRACT = "数与代数", "图形与几何", "统计与概率", "综合与实践"
READING = ("| 星期 | 一 | 二 | 三 | 四 | 五 |\n|---|---|---|---|---|---|\n"
           "| 读书时间（分钟） | 35 | 40 | 25 | 45 | 30 |")


def frac(x: Fraction) -> str:
    return str(x.numerator) if x.denominator == 1 else f"{x.numerator}/{x.denominator}"


def written() -> list[Content]:
    chart = bar_chart("六（1）班同学最喜欢的课外活动", ["阅读", "球类", "绘画", "音乐"], [12, 15, 6, 7], "人数", 5)
    return [
        number("下表是小林上周五天的课外读书时间。\n" + READING + "\n小林这五天平均每天读书多少分钟？", 35, STAT),
        choice("下表是小林上周五天的课外读书时间。\n" + READING + "\n哪一天的读书时间比平均时间多 10 分钟？",
               "星期四", ["星期二", "星期一", "星期五"], STAT),
        choice("六（1）班每名同学都选了一项最喜欢的课外活动，结果如下图。\n[图1]\n喜欢球类的人数占全班人数的百分之几？",
               "37.5%", ["15%", "40%", "30%"], STAT, (chart,)),
        number("六（1）班每名同学都选了一项最喜欢的课外活动，结果如下图。\n[图1]\n"
               "如果把结果画成扇形统计图，表示“绘画”的扇形的圆心角是多少度？", 54, STAT, (chart,)),
        number("如图，在边长 10 厘米的正方形里画一个最大的圆。\n[图1]\n"
               "阴影部分（正方形中圆以外的部分）的面积是多少平方厘米？（π 取 3.14）", 21.5, GEO,
               (square_with_circle(10),)),
        choice("如图是一块直角梯形菜地。\n[图1]\n这块菜地的面积是多少平方米？", "60 平方米",
               ["120 平方米", "48 平方米", "72 平方米"], GEO, (trapezoid(8, 12, 6),)),
        constructed("学校图书室有故事书和科技书共 360 本，故事书的本数是科技书的 3/5。"
                    "故事书和科技书各有多少本？请写出解答过程。",
                    ("未作答，或列式和答案都错误", "列式或思路正确但计算有误，或只求出其中一种书的本数",
                     "过程正确，答：故事书 135 本，科技书 225 本"), NUM),
        constructed("一个圆柱形水桶，底面半径 2 分米，高 5 分米。装满水后倒入一个长 5 分米、宽 4 分米的长方体水箱中"
                    "（水没有溢出），水面高多少分米？请写出解答过程。（π 取 3.14）",
                    ("未作答，或思路错误", "求出水的体积 62.8 立方分米，但水面高度算错或未算",
                     "过程正确，水面高 3.14 分米"), GEO),
        choice("一个数的 3/4 是 36，这个数是多少？", "48", ["27", "108", "12"], NUM),
        number("在比例尺是 1∶5000000 的地图上，两地相距 6 厘米，两地实际相距多少千米？", 300, PRACT),
    ]


def made(rng: np.random.Generator) -> list[Content]:
    out: list[Content] = []
    pairs = [(a, b, c, d) for a in range(1, 6) for b in range(2, 9) for c in range(1, 6) for d in range(2, 9)
             if a < b and c < d and Fraction(a, b).denominator == b and Fraction(c, d).denominator == d]
    for a, b, c, d in [pairs[k] for k in rng.choice(len(pairs), 18, replace=False)]:
        right = Fraction(a, b) * Fraction(c, d)
        out.append(choice(f"计算：{a}/{b} × {c}/{d} =（　　）", frac(right),
                          [frac(Fraction(a + c, b + d)), frac(Fraction(a * d, b * c)), frac(Fraction(a + c, b * d)),
                           frac(Fraction(a * c, b + d)), frac(right + 1)], NUM))
    for n, p in [(n, p) for n in (200, 240, 300, 360, 400, 450, 480, 500) for p in (15, 20, 25, 35, 40, 60)
                 if n * p % 100 == 0][::3]:
        out.append(choice(f"某校六年级有 {n} 名学生，其中 {p}% 参加了科技小组。参加科技小组的有多少人？",
                          f"{n * p // 100} 人", [f"{n * (100 - p) // 100} 人", f"{n // p} 人", f"{p} 人",
                                                 f"{n * p // 10} 人"], NUM))
    for price, off in [(p, o) for p in (80, 120, 150, 240, 360) for o in (7, 8, 9)]:
        out.append(number(f"一件衣服原价 {price} 元，现在打{'七八九'[off - 7]}折出售，现价多少元？", price * off // 10, NUM))
    for r in (2, 3, 4, 5, 6, 8, 10):
        out.append(choice(f"一个圆的半径是 {r} 厘米，它的周长是多少厘米？（π 取 3.14）", f"{2 * 3.14 * r:g}",
                          [f"{3.14 * r * r:g}", f"{3.14 * r:g}", f"{4 * 3.14 * r:g}", f"{2 * 3.14 * r + 2 * r:g}"], GEO))
        out.append(number(f"一个圆形花坛的直径是 {2 * r} 米，它的面积是多少平方米？（π 取 3.14）",
                          round(3.14 * r * r, 2), GEO))
    for a, b, c in [(a, b, c) for a in (4, 5, 6, 8) for b in (3, 5) for c in (2, 4, 10)]:
        out.append(number(f"一个长方体长 {a} 厘米、宽 {b} 厘米、高 {c} 厘米，它的体积是多少立方厘米？", a * b * c, GEO))
    for a, b in [(2, 3), (3, 5), (4, 7), (5, 6), (3, 8), (7, 9)]:
        for x in (a * 6, a * 9):
            out.append(choice(f"甲、乙两数的比是 {a}∶{b}，甲数是 {x}，乙数是多少？", str(x // a * b),
                              [str(x * a // b) if x * a % b == 0 else str(x + b), str(x + b - a), str(x // a * (a + b))], NUM))
    for a, x, b in [(a, x, b) for a in (2, 3, 4, 5) for x in (6, 7, 8, 9, 12) for b in (5, 8, 11)][::2]:
        out.append(choice(f"解方程：{a}x + {b} = {a * x + b}，x =（　　）", str(x),
                          [str(x + 1), str((a * x + b + b) // a), str(a * x), str(x - 1)], NUM))
    for v, t, t2 in [(12, 2, 5), (15, 3, 4), (18, 2, 3), (60, 3, 5), (45, 2, 6), (80, 4, 7)]:
        out.append(number(f"一辆车 {t} 小时行驶了 {v * t} 千米。照这样的速度，{t2} 小时行驶多少千米？", v * t2, PRACT))
    for total, ratio in [(84, (3, 4)), (96, (5, 7)), (150, (2, 3)), (120, (3, 5)), (180, (4, 5)), (135, (4, 5))]:
        a, b = ratio
        out.append(constructed(f"把 {total} 本练习本按 {a}∶{b} 分给甲、乙两个班，两个班各分到多少本？请写出解答过程。",
                               ("未作答，或思路错误", "思路正确但计算有误，或只求出一个班的本数",
                                f"过程正确：甲班 {total * a // (a + b)} 本，乙班 {total * b // (a + b)} 本"), NUM))
    for price, n, save in [(45, 4, 20), (38, 5, 15), (60, 3, 25), (25, 8, 10), (72, 5, 20), (55, 6, 30)]:
        out.append(constructed(f"一种书包每个 {price} 元，商店开展“满 {price * n // 2} 元减 {save} 元”的活动。"
                               f"王老师买 {n} 个书包，应付多少元？请写出解答过程。",
                               ("未作答，或没有算出总价", "算出原总价但没有正确使用优惠，或计算有误",
                                f"过程正确：应付 {price * n - save} 元"), PRACT))
    for h, w in [(150, 40), (160, 45), (140, 35), (155, 50), (145, 42), (165, 55), (158, 47)]:
        out.append(constructed(f"小华身高 {h} 厘米，体重 {w} 千克。他说：“我的体重是身高的 {frac(Fraction(w, h))}。”"
                               "这种说法对吗？请说明理由。",
                               ("未作答，或判断错误", "判断“不对”但理由不清楚",
                                "判断“不对”，并说明体重和身高单位不同（不是同类量），不能这样比"), PRACT))
    for n, c in [(130, 45), (200, 48), (158, 36), (245, 50), (96, 40), (310, 55), (175, 42), (222, 45)]:
        out.append(constructed(f"学校组织 {n} 名师生去科技馆参观，每辆大客车最多坐 {c} 人。至少需要租多少辆大客车？"
                               "请写出解答过程，并说明理由。",
                               ("未作答，或列式错误", f"列式 {n}÷{c} 正确，但没有正确处理余数（答案不是 {-(-n // c)} 辆）",
                                f"过程正确：至少 {-(-n // c)} 辆，并说明余下的人也要坐车，所以要“进一”"), PRACT))
    return out
