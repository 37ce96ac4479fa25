"""junheng.reports — the annual monitoring report, the county reports and the school sheets.

``build(ReportInputs(...))`` computes every table once (:mod:`.tables`); :mod:`.context` turns tables
into the shown values and the rule-based 主要发现; :mod:`.render` writes HTML (Jinja2, SVG charts
from :mod:`.charts`) and PDF (Typst via :mod:`.typeset`, Noto CJK fonts; unchanged PDFs kept).
"""

from junheng.reports.render import (
           annual_html,
           county_html,
           html_to_pdf,
           school_html,
           school_pdf,
           write_reports,
)
from junheng.reports.tables import ReportInputs, Tables, build, county_names, inputs_from_paths

__all__ = ["ReportInputs", "Tables", "annual_html", "build", "county_html", "county_names", "html_to_pdf",
           "inputs_from_paths", "school_html", "school_pdf", "write_reports"]
