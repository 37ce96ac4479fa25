from junheng.exceptions import InputError, Issue, Issues


def test_issue_message_names_row_column_value_and_rule_in_both_languages():
    issue = Issue("应为 1 或 2", "must be 1 or 2", file="pupils.xlsx", sheet="Sheet1", row=14, column="性别", value="男性")
    assert issue.message() == (
        "pupils.xlsx 工作表 Sheet1 第14行 性别: 应为 1 或 2，实际为 '男性' / "
        "pupils.xlsx, sheet Sheet1, row 14, column 性别: must be 1 or 2; got '男性'"
    )


def test_input_error_carries_every_issue_and_counts_only_errors():
    issues = Issues()
    issues.add(Issue("缺少", "missing", row=3, column="姓名"))
    issues.add(Issue("多余列", "unknown column", column="备注", severity="warning"))
    issues.add(Issue("格式", "format", row=5, column="学籍号", value="X"))
    try:
        issues.raise_if_errors()
    except InputError as exc:
        assert len(exc.errors) == 2 and len(exc.warnings) == 1
        assert "2 处错误" in exc.summary
    else:
        raise AssertionError("raise_if_errors did not raise")
