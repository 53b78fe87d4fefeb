"""Device Supervisor 2.x's ``measure.csv``: one measure per row, the columns of its web UI's
export. Import turns rows into our measures (each row checked on its own, every bad row reported
with its number); export writes our measures back in the same columns.

Transform types are read by number or by name: 0/none, 1/ratio, 2/gain_offset, 3/bit_slice,
4/pt_ct, 5/value_map. ``DeadZonePercent`` becomes our ``deadband`` in the measure's own units.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from pydantic import TypeAdapter, ValidationError

from gateway.config.schema import Measure
from gateway.config.validation_text import in_words

COLUMNS = ("MeasuringPointName", "ControllerName", "GroupName", "UploadType", "DeadZonePercent", "DataType",
           "Address", "Decimal", "Len", "ReadWrite", "Unit", "Description", "Transform Type", "MaxValue",
           "MinValue", "MaxScale", "MinScale", "Gain", "Offset", "Pt", "Ct", "startBit", "endBit",
           "Mapping_table")
_MEASURE = TypeAdapter(Measure)
_REQUIRED = ("MeasuringPointName", "ControllerName", "GroupName", "DataType", "Address")
_TRANSFORMS = {"0": None, "none": None, "": None, "1": "ratio", "ratio": "ratio", "2": "gain_offset",
               "gain_offset": "gain_offset", "3": "bit_slice", "bit_slice": "bit_slice", "4": "pt_ct",
               "pt_ct": "pt_ct", "5": "value_map", "value_map": "value_map"}
_TRANSFORM_NUMBERS = {"ratio": 1, "gain_offset": 2, "bit_slice": 3, "pt_ct": 4, "value_map": 5}
_UPLOAD = {"periodic": "periodic", "onchange": "onchange", "never": "never", "": "periodic"}
MAX_ROWS = 20_000


@dataclass
class CsvImport:
    """The measures of a CSV file, or what is wrong with which rows."""

    measures: list[dict[str, Any]]
    errors: list[str]
    rows: list[int]  # the file's row number of each measure (the header is row 1)


def read_measures(text: str | Iterable[str]) -> CsvImport:
    """Parse ``text`` (or its lines, read as they are needed); every row is checked on its own, so
    one bad row hides no other."""
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")) if isinstance(text, str) else text)
    headers = {(h or "").strip().lower(): h for h in reader.fieldnames or []}
    missing = [c for c in _REQUIRED if c.lower() not in headers]
    if missing:
        return CsvImport([], [f"row 1: missing column(s) {', '.join(missing)} (expected Device Supervisor's "
                              f"measure.csv columns: {', '.join(COLUMNS)})"], [])
    measures, errors, rows = [], [], []
    for number, row in enumerate(reader, start=2):
        if number - 1 > MAX_ROWS:
            errors.append(f"row {number}: more than {MAX_ROWS} rows; split the file")
            break
        cells = {key: (row.get(original) or "").strip() for key, original in headers.items()}
        if not any(cells.values()):
            continue
        try:
            measure = _measure(cells)
            _MEASURE.validate_python(measure)
        except ValidationError as exc:
            errors += [f"row {number}: {_column(e['loc'])}: {in_words(e)}" for e in exc.errors()]
            continue
        except ValueError as exc:
            errors.append(f"row {number}: {exc}")
            continue
        measures.append(measure)
        rows.append(number)
    return CsvImport(measures, errors, rows)


def write_measures(measures: Iterable[Measure]) -> str:
    """Return ``measures`` as measure.csv text."""
    out = io.StringIO()
    writer = csv.DictWriter(out, COLUMNS, lineterminator="\n")
    writer.writeheader()
    for m in measures:
        row: dict[str, Any] = {
            "MeasuringPointName": m.name, "ControllerName": m.controller, "GroupName": m.group,
            "UploadType": m.upload, "DeadZonePercent": _number(m.deadband), "DataType": m.type.value,
            "Address": m.address, "Decimal": "" if m.decimal is None else m.decimal, "Len": m.length or "",
            "ReadWrite": m.access, "Unit": m.unit, "Description": m.desc, "Transform Type": 0,
        }
        transform = m.transform
        if transform is not None:
            row["Transform Type"] = _TRANSFORM_NUMBERS[transform.kind]
            data = transform.model_dump()
            row.update({"MaxValue": data.get("max_value", ""), "MinValue": data.get("min_value", ""),
                        "MaxScale": data.get("max_scale", ""), "MinScale": data.get("min_scale", ""),
                        "Gain": data.get("gain", ""), "Offset": data.get("offset", ""), "Pt": data.get("pt", ""),
                        "Ct": data.get("ct", ""), "startBit": data.get("start", ""), "endBit": data.get("end", ""),
                        "Mapping_table": json.dumps(data["map"]) if "map" in data else ""})
        writer.writerow(row)
    return out.getvalue()


_FIELDS = {"name": "MeasuringPointName", "controller": "ControllerName", "group": "GroupName",
           "upload": "UploadType", "deadband": "DeadZonePercent", "type": "DataType", "address": "Address",
           "decimal": "Decimal", "length": "Len", "access": "ReadWrite", "unit": "Unit", "desc": "Description",
           "transform": "Transform Type"}


def column_of(field: str) -> str:
    """Return the CSV column that carries our measure field ``field``."""
    return _FIELDS.get(field, field)


def _column(location: tuple[Any, ...]) -> str:
    return column_of(str(location[0])) if location else "row"


def _measure(cells: dict[str, str]) -> dict[str, Any]:
    def cell(column: str) -> str:
        return cells.get(column.lower(), "")

    upload = _UPLOAD.get(cell("UploadType").lower())
    if upload is None:
        raise ValueError(f"UploadType: '{cell('UploadType')}' is not periodic, onChange or never")
    access = cell("ReadWrite").lower() or "ro"
    measure: dict[str, Any] = {
        "name": cell("MeasuringPointName"), "controller": cell("ControllerName"), "group": cell("GroupName"),
        "address": cell("Address"), "type": cell("DataType").upper(), "access": access, "upload": upload,
        "unit": cell("Unit"), "desc": cell("Description"),
    }
    for field, column in (("decimal", "Decimal"), ("length", "Len"), ("deadband", "DeadZonePercent")):
        if cell(column):
            measure[field] = _parse_number(cell(column), column)
    kind = _TRANSFORMS.get(cell("Transform Type").lower())
    if cell("Transform Type").lower() not in _TRANSFORMS:
        raise ValueError(f"Transform Type: '{cell('Transform Type')}' is not one of 0-5 or "
                         "none, ratio, gain_offset, bit_slice, pt_ct, value_map")
    if kind is not None:
        measure["transform"] = _transform(kind, cell)
    return measure


def _transform(kind: str, cell: Any) -> dict[str, Any]:
    columns = {"ratio": {"min_value": "MinValue", "max_value": "MaxValue", "min_scale": "MinScale",
                         "max_scale": "MaxScale"},
               "gain_offset": {"gain": "Gain", "offset": "Offset"}, "pt_ct": {"pt": "Pt", "ct": "Ct"},
               "bit_slice": {"start": "startBit", "end": "endBit"}, "value_map": {}}[kind]
    transform: dict[str, Any] = {"kind": kind}
    for field, column in columns.items():
        if cell(column):
            transform[field] = _parse_number(cell(column), column)
    if kind == "value_map":
        try:
            transform["map"] = json.loads(cell("Mapping_table") or "{}")
        except (ValueError, RecursionError) as exc:
            raise ValueError(f"Mapping_table: not a JSON object: {exc}") from exc
    return transform


def _parse_number(text: str, column: str) -> float | int:
    try:
        number = float(text)
    except ValueError as exc:
        raise ValueError(f"{column}: '{text}' is not a number") from exc
    return int(number) if number.is_integer() and "." not in text else number


def _number(value: float) -> Any:
    return int(value) if float(value).is_integer() else value
