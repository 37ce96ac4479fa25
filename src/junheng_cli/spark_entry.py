"""The ``junheng`` command as a Python file, for ``spark-submit`` (which runs files, not console
scripts): ``spark-submit … $(python -c 'import junheng_cli.spark_entry as m; print(m.__file__)')
fitness census hdfs:///… --engine spark``. See docs/guide/census.md."""

from __future__ import annotations

from junheng_cli.main import main

if __name__ == "__main__":
    main()
