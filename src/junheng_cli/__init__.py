"""junheng_cli: the ``junheng`` command — thin commands: parse → call the core or web services → print → exit code."""
