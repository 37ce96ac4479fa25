"""junheng.io — the only core code that touches files.

- :func:`read_table`: .xlsx/.xls/.csv (UTF-8, UTF-8 with BOM, GB18030, detected) → :class:`RawTable`
  of normalised strings with the spreadsheet row in ``__row__``;
- :func:`read_frame`: a Parquet/CSV table a program wrote (CSV as text; ``columns=`` projects); :func:`read_input`: Parquet,
  CSV or Excel alike, with required columns checked; :func:`open_parquet`: a
  census-size Parquet file read batch by batch; :func:`read_package_table`: a reference table
  shipped in a package;
- :func:`map_columns`: headers (Chinese, English field name or alias) → a schema's fields, with
  issues for missing required and unknown columns;
- :func:`parse_dates`, :func:`parse_integers`, :func:`parse_decimals`, :func:`parse_times`: vectorised parsers
  returning values and a mask of bad cells;
- :func:`annotate_workbook`: the rejected file with bad cells red and commented;
- :func:`write_table`, :func:`write_census_parquet` (a census file laid out for column scans), :func:`write_sheets`, :func:`save_workbook`, :func:`table_bytes`: every
  file (or download) the core writes, cells neutralised against formula injection;
- :func:`xlsx_bytes`: a fast, byte-deterministic one-sheet workbook (the synthetic province's files);
- :func:`read_bytes`: a whole file, bounded by the size limit, optionally fed to a digest (inputs
  versioned by their bytes are read once); :func:`read_json`: a JSON file the same way, bad JSON
  an :class:`InputError` naming the file;
- :func:`drop_empty_rows`: a read table without its wholly empty rows (``__row__`` aside);
- :class:`ReadLimits`: what one file may cost to read (rows, columns, cells, bytes); beyond them
  a file is refused before it is parsed.
"""

from junheng.io._columns import ColumnMap, map_columns, resolve_columns
from junheng.io._fast_xlsx import xlsx_bytes
from junheng.io._limits import ReadLimits, check_package
from junheng.io._normalise import header_key, normalise_expr, normalise_frame
from junheng.io._parse import parse_dates, parse_decimals, parse_integers, parse_times
from junheng.io._read import (
    ROW,
    RawTable,
    decode_csv,
    drop_empty_rows,
    frame_columns,
    open_parquet,
    read_bytes,
    read_frame,
    read_input,
    read_json,
    read_package_table,
    read_table,
)
from junheng.io._write import (
    FORMULA_PREFIXES,
    annotate_workbook,
    csv_safe,
    is_formula_like,
    neutralise_workbook,
    save_workbook,
    table_bytes,
    write_census_parquet,
    write_csv_text,
    write_sheets,
    write_table,
)

__all__ = [
    "FORMULA_PREFIXES",
    "ROW",
    "ColumnMap",
    "RawTable",
    "ReadLimits",
    "annotate_workbook",
    "check_package",
    "csv_safe",
    "decode_csv",
    "drop_empty_rows",
    "frame_columns",
    "header_key",
    "is_formula_like",
    "map_columns",
    "normalise_expr",
    "normalise_frame",
    "open_parquet",
    "neutralise_workbook",
    "parse_dates",
    "parse_decimals",
    "parse_integers",
    "parse_times",
    "read_bytes",
    "read_frame",
    "read_input",
    "read_json",
    "read_package_table",
    "read_table",
    "resolve_columns",
    "save_workbook",
    "table_bytes",
    "write_census_parquet",
    "write_csv_text",
    "write_sheets",
    "write_table",
    "xlsx_bytes",
]
