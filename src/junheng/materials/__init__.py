"""Test-day materials (系列测试工具): seating plans, login cards, OMR answer sheets and their reader.

Pure core: DataFrames in, documents and frames out; who may see names is the caller's decision.
"""

from junheng.materials.cards import hash_code, login_codes
from junheng.materials.documents import (
           cards_html,
           seating_html,
           seating_xlsx,
           sheet_svg,
           sheets_html,
           write_pdf,
)
from junheng.materials.omr import PX_PER_MM, SheetItem, SheetLayout, layout_for_booklet
from junheng.materials.omr_read import (
           MAX_PIXELS,
           OmrBatch,
           picture_problem,
           read_batch,
           read_sheets,
           scan_pages,
)
from junheng.materials.seating import Room, seating_plan

__all__ = ["MAX_PIXELS", "PX_PER_MM", "OmrBatch", "Room", "SheetItem", "SheetLayout", "cards_html", "hash_code", "layout_for_booklet",
           "login_codes", "picture_problem", "read_batch", "read_sheets", "scan_pages", "seating_html", "seating_plan", "seating_xlsx", "sheet_svg",
           "sheets_html", "write_pdf"]
