"""junheng.assessment — the academic test: item bank, booklets, response scoring, item analysis.

Public API (private modules behind this facade)::

    ItemBank, Item, Usage, load_bank, save_bank, bank_from_json      item bank (items.py)
    write_qti, read_qti, item_to_qti                                 QTI 3.0 (qti.py)
    BookletDesign, cyclic_bib, assemble_blocks, booklet_items,
    assign_booklets                                                  test assembly (booklets.py)
    score_responses, expand_booklets, to_wide, missing_summary,
    MissingCodes, MissingTreatment, CALIBRATION, REPORTING           scoring (scoring.py)
    cohen_kappa, agreement_by_item, resolve_scores                   human scoring (agreement.py)
    item_statistics, cronbach_alpha, alpha_by_booklet,
    distractor_analysis, mantel_haenszel_dif, ets_category,
    item_analysis                                                    classical analysis (classical.py)
    annual_scores, AnnualResult, SubjectFit, CUTS, trend, year_estimates   the annual pipeline (annual.py), estimates, 与上年相比
"""

from junheng.assessment.agreement import agreement_by_item, cohen_kappa, confusion, resolve_scores
from junheng.assessment.annual import CUTS, AnnualResult, SubjectFit, annual_scores, trend, year_estimates
from junheng.assessment.booklets import (
    BookletDesign,
    assemble_blocks,
    assign_booklets,
    booklet_items,
    cyclic_bib,
    find_difference_set,
)
from junheng.assessment.classical import (
    alpha_by_booklet,
    cronbach_alpha,
    distractor_analysis,
    ets_category,
    item_analysis,
    item_statistics,
    mantel_haenszel_dif,
)
from junheng.assessment.files import mask_key, pseudonymise
from junheng.assessment.items import Item, ItemBank, Usage, bank_from_json, load_bank, save_bank
from junheng.assessment.qti import item_to_qti, read_qti, write_qti
from junheng.assessment.scoring import (
    CALIBRATION,
    REPORTING,
    MissingCodes,
    MissingTreatment,
    channel_conflicts,
    expand_booklets,
    missing_summary,
    score_responses,
    to_wide,
)

__all__ = [
    "CALIBRATION", "CUTS", "REPORTING", "AnnualResult", "BookletDesign", "Item", "ItemBank", "MissingCodes",
    "MissingTreatment", "SubjectFit", "Usage", "agreement_by_item", "annual_scores", "trend", "year_estimates", "item_analysis", "alpha_by_booklet", "assemble_blocks", "assign_booklets", "bank_from_json",
    "booklet_items", "channel_conflicts", "cohen_kappa", "confusion", "cronbach_alpha", "cyclic_bib", "distractor_analysis",
    "ets_category", "expand_booklets", "find_difference_set", "item_statistics", "item_to_qti", "load_bank",
    "mantel_haenszel_dif", "missing_summary", "read_qti", "resolve_scores", "save_bank", "score_responses",
    "to_wide", "write_qti", "mask_key", "pseudonymise",
]
