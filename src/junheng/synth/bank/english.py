"""英语 (grade 6): a reading passage written for this bank with its questions, a clock picture, and
items made from lists (word meanings, there is/are, the third person, the past tense, short
writing)."""

from __future__ import annotations

import numpy as np

from junheng.synth.bank import Content, choice, constructed, number
from junheng.synth.bank.figures import clock

LISTEN, LANG, READ, WRITE = "听力", "语言知识", "阅读", "书面表达"

PASSAGE = """Read the passage and answer the question. 阅读短文，回答问题。

Tom's Saturday

Last Saturday Tom got up at seven. He had bread and milk for breakfast. Then he went to the library with his sister Amy. Tom borrowed three books about animals, and Amy borrowed two storybooks.

In the afternoon it rained, so they stayed at home. Tom read his books and learned that a blue whale is longer than two buses. In the evening he told his parents about the whale. "I want to see one in the sea one day," he said."""


def written() -> list[Content]:
    return [
        number(PASSAGE + "\n\nHow many books did Tom and Amy borrow in all? 他们一共借了几本书？", 5, READ),
        choice(PASSAGE + "\n\nWhy did Tom and Amy stay at home in the afternoon?", "Because it rained.",
               ["Because they were ill.", "Because the library was closed.", "Because it was too hot."], READ),
        choice(PASSAGE + "\n\nWhat did Tom learn from his books?", "A blue whale is longer than two buses.",
               ["A blue whale can fly.", "A bus is longer than a whale.", "Whales live in rivers."], READ),
        constructed(PASSAGE + "\n\nWhat do you want to see one day? Write one or two sentences in English.",
                    ("No answer, or not in English", "An answer with mistakes that make it hard to understand",
                     "One or two clear sentences, e.g. I want to see a panda one day."), WRITE),
        choice("Look at the clock. What time is it?\n[图1]", "It's half past eight.",
               ["It's eight o'clock.", "It's half past seven.", "It's a quarter to nine."], LISTEN, (clock(8, 30),)),
        choice("Look at the clock. What time is it?\n[图1]", "It's a quarter past three.",
               ["It's three o'clock.", "It's a quarter to three.", "It's half past three."], LISTEN, (clock(3, 15),)),
    ]


WORDS = {  # category → (English, 中文)
    "animals": [("panda", "熊猫"), ("tiger", "老虎"), ("rabbit", "兔子"), ("monkey", "猴子"), ("elephant", "大象"),
                ("duck", "鸭子"), ("horse", "马"), ("giraffe", "长颈鹿")],
    "food": [("rice", "米饭"), ("noodles", "面条"), ("apple", "苹果"), ("egg", "鸡蛋"), ("bread", "面包"),
             ("milk", "牛奶"), ("vegetables", "蔬菜"), ("fish", "鱼")],
    "places": [("library", "图书馆"), ("hospital", "医院"), ("cinema", "电影院"), ("post office", "邮局"),
               ("bookstore", "书店"), ("museum", "博物馆"), ("school", "学校"), ("park", "公园")],
    "jobs": [("doctor", "医生"), ("teacher", "教师"), ("farmer", "农民"), ("driver", "司机"), ("cook", "厨师"),
             ("nurse", "护士"), ("police officer", "警察"), ("scientist", "科学家")],
}
NOUNS = [("apple", "apples"), ("book", "books"), ("pencil", "pencils"), ("box", "boxes"), ("bird", "birds"),
         ("child", "children"), ("tomato", "tomatoes"), ("cup", "cups")]
PLACES = ["on the desk", "in the box", "in the tree", "on the table", "in the classroom"]
NAMES = ["Mike", "Amy", "Chen Jie", "Sarah", "John", "Wu Yifan", "Zhang Peng", "Lily"]
VERBS = [("play", "plays", "played", "playing", "football"), ("read", "reads", "read", "reading", "books"),
         ("watch", "watches", "watched", "watching", "TV"), ("go", "goes", "went", "going", "to the park"),
         ("do", "does", "did", "doing", "homework"), ("fly", "flies", "flew", "flying", "kites"),
         ("have", "has", "had", "having", "English class"), ("wash", "washes", "washed", "washing", "clothes")]
TOPICS = ["your favourite season", "your best friend", "your favourite food", "your school", "your weekend",
          "your family", "your favourite animal", "the weather today", "your hobby", "your dream job",
          "your home town", "your favourite festival", "your English teacher", "a day at the zoo",
          "your summer holiday", "your bedroom", "your favourite sport", "how you go to school",
          "what you did last Sunday", "your plan for this weekend", "your birthday", "a good habit",
          "a friend from another country", "your favourite book"]


def made(rng: np.random.Generator) -> list[Content]:
    out: list[Content] = []
    for words in WORDS.values():
        for en, zh in words:
            others = [w for w, _ in words if w != en]
            pick = rng.choice(len(others), 3, replace=False)
            out.append(choice(f"“{zh}”用英语怎么说？", en, [others[i] for i in pick], LANG))
            pick = rng.choice(len(others), 3, replace=False)
            zh_others = [z for w, z in words if w != en]
            out.append(choice(f"“{en}”的中文意思是（　　）", zh, [zh_others[i] for i in pick], LANG))
    for k, (one, many) in enumerate(NOUNS):
        place = PLACES[k % len(PLACES)]
        n = 2 + k % 6
        out.append(choice(f"There ___ {n} {many} {place}.", "are", ["is", "am", "be"], LANG))
        out.append(choice(f"There ___ a{'n' if one[0] in 'aeiou' else ''} {one} {place}.", "is", ["are", "am", "be"], LANG))
    for k, (base, third, past, ing, obj) in enumerate(VERBS):
        name = NAMES[k]
        out.append(choice(f"{name} usually ___ {obj} on Sundays.", third, [base, ing, f"is {base}"], LANG))
        out.append(choice(f"{NAMES[(k + 3) % len(NAMES)]} ___ {obj} last weekend.", past,
                          [third if third != past else base + "s", ing, f"is {ing}"], LANG))
        out.append(choice(f"Look! The children are ___ {obj} now.", ing, [base, third, past if past != base else base + "ed"],
                          LANG))
    for topic in TOPICS:
        out.append(constructed(f"Write two sentences in English about {topic}. 用两句英语写一写这个话题。",
                               ("No answer, or not in English / 未作答或不是英语",
                                "One sentence right, or two with mistakes that make them hard to understand",
                                "Two clear sentences on the topic, few mistakes"), WRITE))
    return out
