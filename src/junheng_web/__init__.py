"""junheng_web: the Django system of record, access control, workflow and pages.

Every app has the same shape: ``models.py`` (persistence), ``services.py`` (the only module
that calls the core ``junheng``), ``views.py``, ``urls.py``, ``admin.py``, ``tests`` under
``tests/web/<app>``. Every region-scoped read goes through ``junheng_web.accounts.scoping``.
"""
