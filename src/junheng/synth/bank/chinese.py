"""语文 (grade 6): a reading passage written for this bank with its questions, and items made from
lists (idioms with a missing character, antonyms, synonyms, lines of classical poems, words to
use in a sentence)."""

from __future__ import annotations

import numpy as np

from junheng.synth.bank import Content, choice, constructed, number

BASIC, READ, WRITE = "积累与运用", "阅读", "写作"

PASSAGE = """阅读短文，回答问题。

外婆的菜园

外婆家的后院有一块小小的菜园。春天一到，外婆就蹲在地里，把一粒粒种子按进松软的泥土。我问她：“种子这么小，真能长成菜吗？”外婆笑着说：“你等着看。”

过了十来天，泥土里钻出了嫩绿的小芽，像一个个探头探脑的小娃娃。外婆每天傍晚提着水壶去浇水，还把长歪的菜苗扶正，用细竹竿轻轻撑住。

到了夏天，菜园热闹起来：黄瓜挂在架子上，茄子穿着紫袍子，辣椒红得发亮。外婆摘下一篮子菜，一半留给自己，一半分给左邻右舍。

我终于明白，菜园里长出来的不只是菜，还有外婆的耐心和她对别人的那份热心。"""


def written() -> list[Content]:
    return [
        number(PASSAGE + "\n\n这篇短文（不算题目）共有几个自然段？", 4, READ),
        choice(PASSAGE + "\n\n“像一个个探头探脑的小娃娃”一句用了什么修辞手法？", "比喻和拟人",
               ["排比", "夸张", "设问"], READ),
        choice(PASSAGE + "\n\n外婆把菜“一半分给左邻右舍”，这说明外婆", "热心，乐于和别人分享",
               ["种的菜太多，吃不完", "不喜欢吃自己种的菜", "想让邻居帮她浇水"], READ),
        constructed(PASSAGE + "\n\n最后一段说“菜园里长出来的不只是菜”，你怎样理解这句话？请结合短文内容写一两句话。",
                    ("未作答，或只复述句子", "说出“外婆的耐心”或“外婆的热心”其中一点，或结合短文不够",
                     "结合短文说出外婆种菜的耐心和分菜给邻居的热心两点"), READ),
        choice("下列句子中，标点符号使用正确的一项是（　　）", "妈妈问我：“作业写完了吗？”",
               ["妈妈问我：“作业写完了吗”？", "妈妈问我，“作业写完了吗？”", "妈妈问我：作业写完了吗？"], BASIC),
        constructed("学校要举办“我爱读书”活动。请你写一段话（不少于 60 字），向同学推荐一本你读过的书，"
                    "说清楚书名和推荐的理由。",
                    ("未作答，或没有写出书名和理由", "写出书名和理由，但理由单薄、语句不通顺或字数明显不足",
                     "书名明确，理由具体（写到内容或收获），语句通顺，字数达到要求"), WRITE),
    ]


IDIOMS = [  # (idiom with （　）, the right character, three wrong ones)
    ("画蛇添（　）", "足", "脚尾爪"), ("守株待（　）", "兔", "鸟鹿狼"), ("亡羊补（　）", "牢", "圈栏门"),
    ("（　）苗助长", "拔", "跋插扶"), ("井底之（　）", "蛙", "鱼龟蛇"), ("自相（　）盾", "矛", "茅锚予"),
    ("胸有成（　）", "竹", "足计书"), ("一（　）千里", "泻", "写谢卸"), ("专心致（　）", "志", "至之智"),
    ("（　）而不舍", "锲", "契楔挈"), ("精益求（　）", "精", "睛清晴"), ("迫不及（　）", "待", "侍持特"),
    ("（　）然开朗", "豁", "霍活阔"), ("再接再（　）", "厉", "励历力"), ("兴高采（　）", "烈", "列裂冽"),
    ("川流不（　）", "息", "熄惜溪"), ("（　）竹难书", "罄", "磬馨庆"), ("按部就（　）", "班", "般斑搬"),
    ("走投无（　）", "路", "露陆鹿"), ("名列前（　）", "茅", "矛毛冒"), ("滥竽充（　）", "数", "术树熟"),
    ("（　）然大悟", "恍", "晃慌幌"), ("刻舟求（　）", "剑", "箭键检"), ("负荆请（　）", "罪", "最醉追"),
]
ANTONYMS = [("勤劳", "懒惰"), ("谦虚", "骄傲"), ("光明", "黑暗"), ("简单", "复杂"), ("安全", "危险"), ("宽阔", "狭窄"),
            ("热闹", "冷清"), ("坚强", "软弱"), ("温暖", "寒冷"), ("节约", "浪费"), ("整齐", "杂乱"), ("清晰", "模糊"),
            ("陌生", "熟悉"), ("丰富", "贫乏"), ("粗心", "细心"), ("敌人", "朋友"), ("开始", "结束"), ("增加", "减少")]
SYNONYMS = [("美丽", "漂亮"), ("立刻", "马上"), ("著名", "有名"), ("仔细", "认真"), ("希望", "盼望"), ("宽敞", "宽阔"),
            ("惊慌", "慌张"), ("寂静", "安静"), ("特别", "格外"), ("赞美", "称赞"), ("陆续", "接连"), ("愉快", "高兴"),
            ("迅速", "快速"), ("视察", "察看"), ("诚实", "老实"), ("坚固", "牢固")]
POEMS = [("床前明月光", "疑是地上霜", "李白"), ("白日依山尽", "黄河入海流", "王之涣"), ("春眠不觉晓", "处处闻啼鸟", "孟浩然"),
         ("两个黄鹂鸣翠柳", "一行白鹭上青天", "杜甫"), ("独在异乡为异客", "每逢佳节倍思亲", "王维"),
         ("谁言寸草心", "报得三春晖", "孟郊"), ("野火烧不尽", "春风吹又生", "白居易"), ("锄禾日当午", "汗滴禾下土", "李绅"),
         ("欲穷千里目", "更上一层楼", "王之涣"), ("不识庐山真面目", "只缘身在此山中", "苏轼"),
         ("春色满园关不住", "一枝红杏出墙来", "叶绍翁"), ("等闲识得东风面", "万紫千红总是春", "朱熹"),
         ("海内存知己", "天涯若比邻", "王勃"), ("粉骨碎身浑不怕", "要留清白在人间", "于谦")]
WORDS = ["坚持", "陆续", "果然", "渐渐", "专心致志", "恍然大悟", "一丝不苟", "兴致勃勃", "温暖", "珍惜", "悄悄",
         "不但……而且……", "虽然……但是……", "因为……所以……", "即使……也……", "焕然一新", "络绎不绝", "迫不及待",
         "精益求精", "津津有味", "小心翼翼", "依依不舍", "五颜六色", "全神贯注"]


def made(rng: np.random.Generator) -> list[Content]:
    out: list[Content] = []
    for idiom, right, wrong in IDIOMS:
        out.append(choice(f"在括号里填入恰当的字，使成语完整：{idiom}", right, list(wrong), BASIC))
    for k, (word, anti) in enumerate(ANTONYMS):
        others = [a for _, a in ANTONYMS if a != anti] + [s for s, _ in SYNONYMS]
        pick = rng.choice(len(others), 5, replace=False)
        out.append(choice(f"“{word}”的反义词是（　　）", anti, [others[i] for i in pick], BASIC))
        out.append(choice(f"“{anti}”的反义词是（　　）", word,
                          [w for w, _ in ANTONYMS if w != word][k % 5: k % 5 + 3] + ["相同"], BASIC))
    for word, syn in SYNONYMS:
        others = [s for _, s in SYNONYMS if s != syn] + [a for _, a in ANTONYMS]
        pick = rng.choice(len(others), 5, replace=False)
        out.append(choice(f"与“{word}”意思相近的词是（　　）", syn, [others[i] for i in pick], BASIC))
    for first, second, poet in POEMS:
        others = [s for _, s, _ in POEMS if s != second]
        pick = rng.choice(len(others), 5, replace=False)
        out.append(choice(f"“{first}，＿＿＿＿＿＿。”横线上应填的诗句是（　　）", second, [others[i] for i in pick], BASIC))
        poets = sorted({p for _, _, p in POEMS} - {poet})
        pick = rng.choice(len(poets), 3, replace=False)
        out.append(choice(f"“{first}，{second}。”这两句诗的作者是（　　）", poet, [poets[i] for i in pick], BASIC))
    for word in WORDS:
        joined = "”“".join(word.split("……")) if "……" in word else word
        out.append(constructed(f"用“{joined}”{'写' if '……' in word else '造'}一个句子。",
                               ("未作答，或没有用上这个词语", "用上了词语，但用得不恰当，或句子不通顺、有错别字",
                                "词语用得恰当，句子完整通顺，没有错别字"), WRITE))
    return out
