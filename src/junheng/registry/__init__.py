"""junheng.registry — divisions, 学校标识码, 学籍号 and the registry files' schemas.

Public API (the modules behind it are private to the package)::

    check_char, valid_student_ids, student_id_problem, school_code_problem   codes (codes.py)
    SCHOOLS, PUPILS, Schema, Column, STAGES, LOCATIONS                       file schemas (schemas.py)
    validate_schools, validate_pupils, roster_school_codes, divisions, county_codes, ethnicities  validation (validate.py)
    centroids, validate_boundaries, MAX_BOUNDARY_BYTES                      county points, boundary files (geo.py)
"""

from junheng.registry.codes import check_char, school_code_problem, student_id_problem, valid_student_ids
from junheng.registry.geo import MAX_BOUNDARY_BYTES, centroids, validate_boundaries
from junheng.registry.schemas import LOCATIONS, PUPILS, SCHOOLS, STAGES, Column, Schema
from junheng.registry.validate import (
    county_codes,
    divisions,
    ethnicities,
    roster_school_codes,
    validate_pupils,
    validate_schools,
)

__all__ = ["LOCATIONS", "MAX_BOUNDARY_BYTES", "centroids", "validate_boundaries", "PUPILS", "SCHOOLS", "STAGES", "Column", "Schema", "check_char", "county_codes", "divisions",
           "ethnicities", "roster_school_codes", "school_code_problem", "student_id_problem", "valid_student_ids", "validate_pupils",
           "validate_schools"]
