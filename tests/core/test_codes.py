import polars as pl

from junheng.registry.codes import check_char, student_id_problem, valid_student_ids


def test_check_char_of_the_gb11643_specimen():
    # The specimen number printed in GB 11643-1999: 11010519491231002X.
    assert check_char("11010519491231002") == "X"
    # Worked by hand: 440524188001010014 — S = 184, 184 mod 11 = 8 → '4'.
    assert check_char("44052418800101001") == "4"


def test_student_id_rules():
    assert student_id_problem("G11010519491231002X") is None
    assert student_id_problem("G110105194912310021") is not None  # wrong check digit
    assert student_id_problem("X11010519491231002X") is not None


def test_vectorised_matches_scalar():
    ids = pl.Series(["G11010519491231002X", "G110105194912310021", "L410102201109011234", None, "Gabc"])
    assert valid_student_ids(ids).to_list() == [True, False, True, False, False]


def test_it_checks_an_empty_series_and_mixed_bodies():
    import polars as pl

    from junheng.registry.codes import check_chars, valid_student_ids

    assert valid_student_ids(pl.Series([], dtype=pl.String)).to_list() == []
    # 11010519491231002X is the ID number of GB 11643's worked example
    bodies = pl.Series(["11010519491231002", "1101051949123100", None, "1101051949123100a"] * 20)
    assert check_chars(bodies).to_list() == ["X", None, None, None] * 20


def test_packed_keys_agree_with_the_scalar_rule_and_separate_distinct_ids():
    import numpy as np

    from junheng.registry.codes import student_id_keys

    rng = np.random.default_rng(5)
    ids = []
    for _ in range(400):
        body = "".join(map(str, rng.integers(0, 10, 17)))
        kind = "GJL"[rng.integers(0, 3)]
        last = check_char(body) if rng.random() < 0.7 else "0123456789X"[rng.integers(0, 11)]
        ids.append(kind + body + last)
    ids += ["G" + "1" * 17 + "x", "g" + "1" * 18, "G１" + "1" * 17, "", "G" + "1" * 17]
    ok, key = student_id_keys(pl.Series(ids))
    assert ok.tolist() == [student_id_problem(s) is None for s in ids]
    good = [s for s, o in zip(ids, ok) if o]
    assert len(set(key[ok].tolist())) == len(set(good))  # one key per distinct well-formed id
