"""junheng.synth — a synthetic province (Henan-shaped) for the demo and the tests.

``province(scale, random_state)`` draws every county-level unit, its schools (stage, location, enrolment
and classes by grade, the figures behind the seven resource indicators) and the grade-6 rosters;
``write_province`` writes them as the files schools send (``schools.xlsx``, ``rosters/*.csv``
in UTF-8 or GB18030, ``manifest.json``). Everything is synthetic: no real pupil or school.
"""

from junheng.synth.province import Province, province
from junheng.synth.write import roster_encodings, write_province

__all__ = ["Province", "province", "roster_encodings", "write_province"]
