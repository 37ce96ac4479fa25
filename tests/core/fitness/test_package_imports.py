"""What importing :mod:`junheng.fitness` loads: every ``junheng fitness`` command pays it at start-up."""

from __future__ import annotations

import os
import subprocess
import sys


def test_scoring_a_file_does_not_import_the_census_path():
    # `junheng fitness score` imports junheng.fitness; the census path (and pyarrow with it) loads
    # only when asked for, and is then the package's summarize_parquet
    code = ("import sys, junheng.fitness as f; assert 'pyarrow' not in sys.modules, 'pyarrow'; "
            "assert 'junheng.fitness.stream' not in sys.modules; "
            "from junheng.fitness import summarize_parquet; from junheng.fitness.stream import summarize_parquet as s; "
            "assert summarize_parquet is s; "
            "import pytest; pytest.raises(AttributeError, getattr, f, 'no_such_name')")
    subprocess.run([sys.executable, "-c", code], check=True, env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
