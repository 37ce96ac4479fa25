"""Word pools for synthetic names (surnames, given-name characters, place-name syllables).

Surname weights are rounded shares (per mille) in the spirit of the published surname
rankings (公安部户籍统计; the 2020 census summaries): 王, 李, 张, 刘 and 陈 lead everywhere, and
in Henan 郭, 马, 孙 and 赵 rank higher and 林, 黄 lower than nationally. They only need to look
plausible; nothing here identifies a real person.
"""

from __future__ import annotations

# (surname, weight per mille); the remaining mass is spread over the rare tail
SURNAMES: tuple[tuple[str, float], ...] = (
    ("王", 80), ("李", 75), ("张", 72), ("刘", 58), ("陈", 38), ("杨", 30), ("赵", 24), ("郭", 20),
    ("马", 19), ("孙", 18), ("周", 16), ("黄", 12), ("吴", 13), ("徐", 14), ("朱", 13), ("胡", 13),
    ("高", 14), ("宋", 12), ("许", 12), ("何", 8), ("韩", 10), ("冯", 10), ("邓", 7), ("曹", 9),
    ("彭", 6), ("肖", 6), ("田", 9), ("董", 9), ("袁", 7), ("潘", 5), ("蒋", 5), ("蔡", 6),
    ("余", 5), ("杜", 8), ("叶", 4), ("程", 8), ("苏", 6), ("魏", 9), ("吕", 7), ("丁", 7),
    ("任", 7), ("沈", 5), ("姚", 6), ("卢", 6), ("姜", 5), ("崔", 6), ("谭", 3), ("陆", 3),
    ("汪", 4), ("范", 6), ("金", 4), ("石", 6), ("贾", 7), ("夏", 5), ("付", 6), ("方", 5),
    ("白", 5), ("孟", 6), ("秦", 5), ("江", 4), ("尹", 4), ("薛", 5), ("闫", 6), ("段", 5),
    ("雷", 4), ("侯", 5), ("史", 5), ("陶", 3), ("贺", 4), ("毛", 4), ("郝", 5), ("邵", 4),
    ("牛", 5), ("申", 3), ("岳", 4), ("翟", 3), ("耿", 3), ("常", 5), ("武", 4), ("孔", 3),
    ("葛", 3), ("康", 3), ("梁", 6), ("谢", 5), ("乔", 3), ("焦", 3), ("靳", 2),
    ("樊", 3), ("祁", 1), ("路", 2), ("柴", 2), ("屈", 2), ("皇甫", 0.3), ("司马", 0.3), ("欧阳", 0.3),
)

# given-name characters by sex (1 男, 2 女); a few are shared, as in life
GIVEN_MALE = (
    "浩宇轩子涵博文俊杰昊睿泽然一梓晨航豪明鑫磊凯阳嘉伟旭鹏天佳瑞诚志强思远乐奕铭逸辰宏鸿峰毅"
    "哲恒锦煜翔彬亮晟钰帅超洋建国家兴振东飞腾骏"
)
GIVEN_FEMALE = (
    "欣怡雨涵梓萱诗思佳可馨悦琪婷雪晴艺梦语彤若紫雅静慧嘉琳瑶妍心晨月安楠一丹茹颖蕊薇菲婧璐倩"
    "洁露玲萌芮宁曼雯秀芳丽娜"
)

# syllables for towns (镇/乡) and villages (村), and urban road names
PLACE_SYLLABLES = (
    "李张王刘陈杨赵黄周吴孙马朱胡郭何高林罗宋大小东西南北新古老上下前后中长清白黄青柳桃杏梨枣"
    "杨槐桑河湖桥庄集店寨营屯堡坡岗沟洼湾岭山水塘泉石城关口台坊园林丰安康宁平和兴隆福寿永顺"
)
ROADS = (
    "人民路", "建设路", "文化路", "解放路", "中山路", "和平路", "胜利路", "工人路", "纬五路", "经三路",
    "健康路", "友爱路", "丰产路", "农业路", "红旗路", "光明路", "育才路", "花园路", "青年路", "黄河路",
    "淮河路", "嵩山路", "伏牛路", "桐柏路", "银河路", "朝阳路", "新华路", "东风路", "长江路", "滨河路",
)
ORDINALS_ZH = ("", "一", "二", "三", "四", "五", "六", "七", "八", "九", "十")


def ordinal_zh(n: int) -> str:
    """Chinese numeral for 1–99 (第十二, 第二十一 …)."""
    if n <= 10:
        return ORDINALS_ZH[n]
    tens, ones = divmod(n, 10)
    return (ORDINALS_ZH[tens] if tens > 1 else "") + "十" + (ORDINALS_ZH[ones] if ones else "")


# a few county-level codes outside Henan (GB/T 2260) for pupils born elsewhere
OUT_OF_PROVINCE_CODES = ("340321", "130102", "370102", "420106", "610113", "320102", "140105", "510107")

# GB 3304 民族代码 (code, share in the ordinary Henan county); 回族 is higher in the 回族区
ETHNICITIES: tuple[tuple[str, float], ...] = (
    ("01", 0.9865), ("03", 0.0100), ("02", 0.0008), ("11", 0.0010), ("06", 0.0004), ("08", 0.0004),
    ("15", 0.0003), ("04", 0.0002), ("07", 0.0002), ("10", 0.0001), ("97", 0.0001),
)
