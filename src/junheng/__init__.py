"""junheng (均衡): the analysis core of the compulsory-education monitoring platform.

Pure functions and small estimators over Polars DataFrames — no database, no web, no global
state; randomness only through explicit seeds. Subpackages, named after the domain:

- ``junheng.io``          read Excel/CSV into frames with row-level issues; write outputs
- ``junheng.registry``    divisions, 学校标识码, 学籍号, the registry file schemas
- ``junheng.fitness``     scoring by 国家学生体质健康标准（2014年修订）, vision, aggregates
- ``junheng.assessment``  items, booklets, response scoring, classical item analysis
- ``junheng.irt``         IRT calibration, person scores, plausible values, linking
- ``junheng.survey``      sample selection, weights, replicate weights, estimators with SEs
- ``junheng.questionnaire`` 相关因素调查问卷: definitions, response checks, scales, α, factor gaps
- ``junheng.indicators``  优质均衡 indicators and county verdicts
- ``junheng.reports``     annual, county and school reports (HTML/PDF)
- ``junheng.synth``       a synthetic province for the demo and the tests
"""

from junheng.exceptions import (
    ConvergenceError,
    EstimationError,
    InputError,
    Issue,
    JunhengError,
    ParameterError,
    ReferenceDataError,
)

__version__ = "0.1.0"

# The deployment's time zone (the platform's Django TIME_ZONE is this): a date-time written without an
# offset in an input file is its wall-clock time, and clock times in flag texts are shown in it.
TIME_ZONE = "Asia/Shanghai"

__all__ = [
    "ConvergenceError",
    "EstimationError",
    "InputError",
    "Issue",
    "JunhengError",
    "ParameterError",
    "ReferenceDataError",
    "TIME_ZONE",
    "__version__",
]
