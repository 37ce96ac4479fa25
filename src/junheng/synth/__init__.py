"""junheng.synth — a synthetic province (Henan-shaped) for the demo and the tests.

``province(scale, random_state)`` draws every county-level unit, its schools (stage, location, enrolment
and classes by grade, the figures behind the seven resource indicators) and the grade-6 rosters;
``write_province`` writes them as the files schools send (``schools.xlsx``, ``rosters/*.csv``
in UTF-8 or GB18030, ``manifest.json``). Everything is synthetic: no real pupil or school.

Public API (the modules behind it are private to the package)::

    province, Province, write_province, roster_encodings     the province and its files
    synth_tests, SynthTest, current_year, base_year          academic tests and raw responses (responses.py)
    fitness_results                                          fitness test records (fitness.py)
    student_questionnaire, principal_questionnaire,
    synth_responses, synth_principal_responses               questionnaires and answers (questionnaire.py)
    checklist                                                the counties' 督导评估 checklist (checklist.py)
    honest_delivery, backdate, PageModel                     browser-test sessions as the server sees them:
                                                             outages, heartbeats, crafted answers (delivery.py)
    area_effects, pupil_means, true_county_means,
    on_reporting_scale, fitness_effect, absent, true_between_shares,
    exemplary_counties, refusing_schools, MEAN_SHIFT                            the synthetic truth (truth.py; MEAN_SHIFT: responses.py)
"""

from junheng.synth.checklist import checklist
from junheng.synth.delivery import PageModel, backdate, honest_delivery
from junheng.synth.fitness import fitness_results
from junheng.synth.province import Province, province
from junheng.synth.questionnaire import (
    principal_questionnaire,
    student_questionnaire,
    synth_principal_responses,
    synth_responses,
)
from junheng.synth.responses import MEAN_SHIFT, SynthTest, base_year, current_year, synth_tests
from junheng.synth.truth import (
    absent,
    area_effects,
    exemplary_counties,
    fitness_effect,
    on_reporting_scale,
    pupil_means,
    refusing_schools,
    true_between_shares,
    true_county_means,
)
from junheng.synth.write import roster_encodings, write_province

__all__ = [
    "MEAN_SHIFT",
    "PageModel",
    "Province",
    "SynthTest",
    "absent",
    "area_effects",
    "backdate",
    "base_year",
    "checklist",
    "current_year",
    "exemplary_counties",
    "fitness_effect",
    "fitness_results",
    "honest_delivery",
    "principal_questionnaire",
    "on_reporting_scale",
    "province",
    "pupil_means",
    "refusing_schools",
    "roster_encodings",
    "student_questionnaire",
    "synth_principal_responses",
    "synth_responses",
    "synth_tests",
    "true_between_shares",
    "true_county_means",
    "write_province",
]
