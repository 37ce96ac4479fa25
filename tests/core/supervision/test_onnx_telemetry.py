"""onnxruntime 1.32 (Linux wheels) has Microsoft's usage telemetry on by default: importing it writes a
device id and a queue of events under ~/.cache/Microsoft/DeveloperTools/.onnxruntime/ and looks up
mobile.events.data.microsoft.com (strace). junheng.supervision turns it off before onnxruntime is
imported (ORT_DISABLE_TELEMETRY=1), keeping an operator's own value."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

pytest.importorskip("onnxruntime")

DEVICE = (".cache", "Microsoft", "DeveloperTools", ".onnxruntime")
# onnxruntime 1.32 keeps quiet where one of these is set (the names in its library): CI sets CI=true,
# which made the control below see nothing — the child runs without them, as a server does
CI_MARKERS = ("CI", "TF_BUILD", "GITHUB_ACTIONS", "GITLAB_CI", "JENKINS_URL", "TEAMCITY_VERSION", "TRAVIS",
              "CIRCLECI", "BUILDKITE", "CODEBUILD_BUILD_ID", "SYSTEM_TEAMFOUNDATIONCOLLECTIONURI")


def _run(tmp_path, code: str, **env) -> list[str]:
    """``code`` in a fresh interpreter whose home is ``tmp_path``; the files written under ``DEVICE``."""
    clean = {k: v for k, v in os.environ.items() if k not in ("ORT_DISABLE_TELEMETRY", "XDG_CACHE_HOME", *CI_MARKERS)}
    clean.update(HOME=str(tmp_path), PYTHONPATH=os.pathsep.join(sys.path), **env)
    subprocess.run([sys.executable, "-c", code], env=clean, check=True, timeout=120, cwd=tmp_path)
    folder = tmp_path.joinpath(*DEVICE)
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def test_the_supervision_package_turns_onnxruntime_telemetry_off_before_it_is_imported(tmp_path):
    (tmp_path / "a").mkdir()
    assert _run(tmp_path / "a", "import junheng.supervision, onnxruntime as ort; ort.SessionOptions()") == []
    code = "import os, junheng.supervision; assert os.environ['ORT_DISABLE_TELEMETRY'] == '1'"
    _run(tmp_path / "a", code)


def test_without_it_onnxruntime_writes_its_device_id_and_event_queue(tmp_path):
    """The control: the same import without junheng first writes them (so the test above can fail)."""
    (tmp_path / "b").mkdir()
    assert _run(tmp_path / "b", "import onnxruntime as ort; ort.SessionOptions()") == ["deviceid", "onnxruntime.db"]


def test_an_operators_own_value_is_kept(tmp_path):
    (tmp_path / "c").mkdir()
    code = "import os, junheng.supervision; assert os.environ['ORT_DISABLE_TELEMETRY'] == '0'"
    _run(tmp_path / "c", code, ORT_DISABLE_TELEMETRY="0")
