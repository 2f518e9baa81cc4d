"""Reading and validating CrowdHuman ``.odgt`` annotation files.

An ``.odgt`` file holds one JSON record per line::

    {"ID": "273271,c9db000d5146c15", "width": 800, "height": 600,   # width/height optional
     "gtboxes": [{"tag": "person", "fbox": [x, y, w, h], "vbox": [...], "hbox": [...],
                  "extra": {"ignore": 0, "occ": 0}}, ...]}

Boxes are ``[x, y, w, h]`` in pixels; ``fbox`` is the full body (including occluded parts, it may
extend past the image border), ``vbox`` the visible part, ``hbox`` the head. A box tagged
``"mask"`` or with a non-zero ``extra.ignore`` is an ignore region.

Validation done by :func:`load_odgt` (each failure raises :class:`OdgtFormatError` whose message
starts with ``"{path}:{line}: "``):

- the file exists and holds at least one record (blank lines are allowed and skipped);
- the file is UTF-8 (a leading byte-order mark is accepted, as Python's ``utf-8-sig`` does; a
  byte that is not UTF-8 is reported with its line);
- every line is a JSON object with a string ``ID`` and a list ``gtboxes``; IDs are unique;
- ``width``/``height``, when present, are positive integers;
- every gtbox is an object with a string ``tag`` and an ``fbox`` of 4 finite numbers with
  ``w > 0`` and ``h > 0`` (the official CrowdHuman evaluation and CrowdDet's loader read
  ``rb['tag']`` unconditionally, so a box without one is malformed, not "no class");
- ``extra.ignore``, when present, is an integer: the official rule is ``extra['ignore'] != 0``,
  under which the string ``"0"`` would silently make a person an ignore region, so a non-integer
  value is reported instead of being given either meaning;
  ``vbox``/``hbox``, when present, are 4 finite numbers (their sizes are not checked: real
  CrowdHuman has empty head boxes for people whose head is hidden);
- when the record gives ``width``/``height``, no ``fbox`` lies entirely outside the image;
- no line is longer than ``DSLA_MAX_ANNOTATION_LINE_BYTES`` and no record has more boxes than
  ``DSLA_MAX_BOXES_PER_IMAGE`` (:mod:`dsla.datasets.limits`); JSON nested too deeply is malformed.
"""
from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np

from .limits import limit

BOX_KEYS = ("fbox", "vbox", "hbox")


class OdgtFormatError(ValueError):
    """A malformed ``.odgt`` file; the message starts with ``"{path}:{line}: "``."""

    def __init__(self, path: str | Path, line: int, message: str):
        super().__init__(f"{path}:{line}: {message}")
        self.path = str(path)
        self.line = line


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _check_box(box: Any, name: str, fail) -> None:
    if not (isinstance(box, list) and len(box) == 4 and all(_is_number(v) for v in box)):
        fail(f"{name} must be a list of 4 finite numbers [x, y, w, h], got {box!r}")


def _check_record(record: Any, fail) -> None:
    """Validate one parsed line; ``fail(message)`` raises with the file and line prefixed."""
    if not isinstance(record, dict):
        fail(f"expected a JSON object, got {type(record).__name__}")
    if "ID" not in record:
        fail("record has no 'ID'")
    if not isinstance(record["ID"], str) or not record["ID"]:
        fail(f"'ID' must be a non-empty string, got {record['ID']!r}")
    rid = record["ID"]
    for key in ("width", "height"):
        if key in record and not (isinstance(record[key], int) and not isinstance(record[key], bool)
                                  and record[key] > 0):
            fail(f"record {rid!r}: '{key}' must be a positive integer, got {record[key]!r}")
    if "gtboxes" not in record:
        fail(f"record {rid!r} has no 'gtboxes'")
    if not isinstance(record["gtboxes"], list):
        fail(f"record {rid!r}: 'gtboxes' must be a list, got {type(record['gtboxes']).__name__}")
    width, height = record.get("width"), record.get("height")
    for index, gtbox in enumerate(record["gtboxes"]):
        where = f"record {rid!r} gtboxes[{index}]"
        if not isinstance(gtbox, dict):
            fail(f"{where} must be a JSON object, got {type(gtbox).__name__}")
        if "fbox" not in gtbox:
            fail(f"{where} has no 'fbox'")
        if not isinstance(gtbox.get("tag"), str):
            fail(f"{where} needs a string 'tag' (e.g. \"person\" or \"mask\"), "
                 f"got {gtbox.get('tag')!r}")
        for key in BOX_KEYS:
            if key in gtbox:
                _check_box(gtbox[key], f"{where} {key}", fail)
        _, _, w, h = gtbox["fbox"]
        if w <= 0 or h <= 0:
            fail(f"{where} fbox has non-positive width or height: {gtbox['fbox']!r}")
        extra = gtbox.get("extra", {})
        if not isinstance(extra, dict):
            fail(f"{where} 'extra' must be a JSON object, got {extra!r}")
        ignore = extra.get("ignore", 0)
        if not isinstance(ignore, int) or isinstance(ignore, bool):
            fail(f"{where} extra.ignore must be an integer (0 or 1), got {ignore!r}")
    if width is not None and height is not None:
        check_inside_image(record, width, height, fail)


def check_inside_image(record: dict, width: int, height: int, fail) -> None:
    """Call ``fail(message)`` for the first ``fbox`` of ``record`` entirely outside the image.

    A box that does not touch its image is an annotation error no detector can match; it is
    reported, not skipped, so training and evaluation never silently disagree with the file.
    """
    for index, gtbox in enumerate(record["gtboxes"]):
        x, y, w, h = gtbox["fbox"]
        if x >= width or y >= height or x + w <= 0 or y + h <= 0:
            fail(f"record {record['ID']!r} gtboxes[{index}] fbox {gtbox['fbox']!r} lies "
                 f"entirely outside the {width}x{height} image")


def load_odgt_lines(path: str | Path) -> list[tuple[int, dict]]:
    """Like :func:`load_odgt`, with each record's line number: ``[(line, record), ...]``."""
    path = Path(path)
    if not path.is_file():
        raise OdgtFormatError(path, 0, "annotation file not found")
    numbered: list[tuple[int, dict]] = []
    first_line_of: dict[str, int] = {}
    max_line, max_boxes = limit("DSLA_MAX_ANNOTATION_LINE_BYTES"), limit("DSLA_MAX_BOXES_PER_IMAGE")
    with path.open("rb") as handle:
        line_no = 0
        while raw := handle.readline(max_line + 1):  # a line longer than the limit is not read whole
            line_no += 1

            def fail(message: str, _line: int = line_no):
                raise OdgtFormatError(path, _line, message)

            if len(raw) > max_line and not raw.endswith(b"\n"):
                fail(f"line longer than {max_line} bytes (DSLA_MAX_ANNOTATION_LINE_BYTES): not an odgt record")

            if line_no == 1 and raw.startswith(b"\xef\xbb\xbf"):
                raw = raw[3:]                          # a UTF-8 byte-order mark
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as error:
                fail(f"not UTF-8 (byte {raw[error.start]:#04x} at column {error.start + 1})")
            if not line.strip():
                continue

            try:
                record = json.loads(line)
            except json.JSONDecodeError as error:
                fail(f"malformed JSON ({error.msg} at column {error.colno})")
            except RecursionError:
                fail("malformed JSON (nested too deeply)")
            _check_record(record, fail)
            if len(record["gtboxes"]) > max_boxes:
                fail(f"record {record['ID']!r} has {len(record['gtboxes'])} boxes, more than the limit "
                     f"{max_boxes} (DSLA_MAX_BOXES_PER_IMAGE; training memory grows with its square)")
            rid = record["ID"]
            if rid in first_line_of:
                fail(f"duplicated ID {rid!r} (first seen on line {first_line_of[rid]})")
            first_line_of[rid] = line_no
            numbered.append((line_no, record))
    if not numbered:
        raise OdgtFormatError(path, 0, "empty annotation file (no records)")
    return numbered


def load_odgt(path: str | Path) -> list[dict]:
    """Read and validate an ``.odgt`` file; return its records in file order.

    Raises:
        OdgtFormatError: with ``"{path}:{line}: "`` first (line 0 for a missing or empty file).
    """
    return [record for _, record in load_odgt_lines(path)]


def is_ignore(gtbox: dict) -> bool:
    """True for an ignore region: ``tag == "mask"`` or a non-zero ``extra.ignore``.

    Non-zero rather than ``== 1`` because that is the rule of the official CrowdDet toolkit and
    of mmdet's ``CrowdHumanDataset`` (``extra['ignore'] != 0``).
    """
    return gtbox.get("tag") == "mask" or gtbox.get("extra", {}).get("ignore", 0) != 0


def record_boxes(record: dict, box_key: str = "fbox") -> tuple[np.ndarray, np.ndarray]:
    """Boxes of one record as ``(boxes_xyxy float64 (n, 4), ignore bool (n,))``.

    ``box_key`` picks ``fbox`` (default, what the paper trains and evaluates on), ``vbox`` or
    ``hbox``. ``ignore`` marks ``tag == "mask"`` or a non-zero ``extra.ignore``.
    """
    gtboxes = record["gtboxes"]
    missing = [i for i, g in enumerate(gtboxes) if box_key not in g]
    if missing:
        raise KeyError(f"record {record.get('ID')!r}: gtboxes{missing[:5]} have no {box_key!r}")
    boxes = np.asarray([g[box_key] for g in gtboxes], dtype=np.float64).reshape(-1, 4)
    boxes[:, 2:] += boxes[:, :2]
    ignore = np.fromiter((is_ignore(g) for g in gtboxes), dtype=bool, count=len(gtboxes))
    return boxes, ignore


def dump_odgt(records: list[dict]) -> str:
    """The ``.odgt`` text of ``records``: one compact JSON object per line."""
    return "".join(json.dumps(r, separators=(",", ":")) + "\n" for r in records)
