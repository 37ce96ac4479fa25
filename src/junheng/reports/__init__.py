"""junheng.reports — the annual monitoring report, the county reports and the school sheets.

``build(ReportInputs(...))`` computes every table once (:mod:`.tables`); :mod:`.render` writes
HTML (Jinja2) and PDF (WeasyPrint, Noto CJK fonts, SVG charts from :mod:`.charts`; unchanged PDFs kept);
:mod:`.context` turns tables into the shown values and the rule-based 主要发现.
"""

from junheng.reports.render import annual_html, county_html, html_to_pdf, school_html, write_reports
from junheng.reports.tables import ReportInputs, Tables, build, county_names, inputs_from_paths

__all__ = ["ReportInputs", "Tables", "annual_html", "build", "county_html", "county_names", "html_to_pdf",
           "inputs_from_paths", "school_html", "write_reports"]
