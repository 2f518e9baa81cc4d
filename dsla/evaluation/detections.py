"""Detection results in CrowdHuman ``.odgt`` form: reading, validating and writing them.

A detection file holds one JSON record per line, one per evaluated image (the layout the
CrowdDet toolkit and mmdet's ``CrowdHumanMetric`` dump)::

    {"ID": "273271,c9db000d5146c15", "width": 800, "height": 600,     # width/height optional
     "dtboxes": [{"box": [x, y, w, h], "score": 0.93, "tag": 1}, ...]}

Every failure raises :class:`DetectionFormatError` naming the record (``"{path}:{line}: "`` for
files, ``"dt_records[i]: "`` for in-memory records): malformed JSON, a missing or duplicated
``ID``, ``dtboxes`` that is not a list, a box that is not 4 finite numbers, a negative width or
height, a non-finite score, a tag other than 1, a non-positive image size.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

import numpy as np


class DetectionFormatError(ValueError):
    """Bad detection input; the message starts with where it is (``file:line`` or record)."""


@dataclass(frozen=True)
class ImageDetections:
    """The detections of one image, boxes as corners in original image pixels.

    Attributes:
        boxes: ``(n, 4)`` float64 ``[x1, y1, x2, y2]``.
        scores: ``(n,)`` float64.
        width, height: image size (``None`` when the record does not give it).
        where: where the record came from, for error messages.
    """

    boxes: np.ndarray
    scores: np.ndarray
    width: int | None
    height: int | None
    where: str


def check_detections(boxes: np.ndarray, scores: np.ndarray, where: str) -> None:
    """Reject non-finite boxes or scores and boxes with negative width or height.

    ``boxes`` are ``(n, 4)`` corners ``[x1, y1, x2, y2]``; ``where`` prefixes the message.
    """
    if boxes.ndim != 2 or boxes.shape[1] != 4 or scores.shape != (boxes.shape[0],):
        raise DetectionFormatError(f"{where}: expected boxes (n, 4) and scores (n,), got "
                                   f"{boxes.shape} and {scores.shape}")
    bad = np.flatnonzero(~np.isfinite(boxes).all(axis=1))
    if bad.size:
        raise DetectionFormatError(f"{where}: dtboxes[{bad[0]}] has a non-finite coordinate "
                                   f"({bad.size} such boxes)")
    bad = np.flatnonzero(~np.isfinite(scores))
    if bad.size:
        raise DetectionFormatError(f"{where}: dtboxes[{bad[0]}] has a non-finite score "
                                   f"{scores[bad[0]]!r} ({bad.size} such boxes)")
    bad = np.flatnonzero((boxes[:, 2] < boxes[:, 0]) | (boxes[:, 3] < boxes[:, 1]))
    if bad.size:
        x1, y1, x2, y2 = boxes[bad[0]].tolist()
        raise DetectionFormatError(f"{where}: dtboxes[{bad[0]}] has a negative size "
                                   f"(w={x2 - x1:g}, h={y2 - y1:g}; {bad.size} such boxes)")


def _image_size(record: dict, key: str, where: str) -> int | None:
    value = record.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 1 \
            or int(value) != value:
        raise DetectionFormatError(f"{where}: '{key}' must be a positive integer, got {value!r}")
    return int(value)


def parse_detection_record(record: object, where: str) -> tuple[str, ImageDetections]:
    """Validate one detection record and return ``(ID, ImageDetections)``."""
    if not isinstance(record, dict):
        raise DetectionFormatError(f"{where}: expected a JSON object, got {type(record).__name__}")
    image_id = record.get("ID")
    if not isinstance(image_id, str) or not image_id:
        raise DetectionFormatError(f"{where}: 'ID' must be a non-empty string, got {image_id!r}")
    where = f"{where} (ID {image_id!r})"
    dtboxes = record.get("dtboxes")
    if not isinstance(dtboxes, list):
        raise DetectionFormatError(f"{where}: 'dtboxes' must be a list, got {dtboxes!r}")
    try:
        boxes = np.array([d["box"] for d in dtboxes], dtype=np.float64).reshape(len(dtboxes), 4)
        scores = np.array([d["score"] for d in dtboxes], dtype=np.float64)
        tags = {d.get("tag", 1) for d in dtboxes}
    except (TypeError, KeyError, ValueError) as error:
        raise DetectionFormatError(
            f"{where}: every dtbox must be {{'box': [x, y, w, h], 'score': s, 'tag': 1}} with "
            f"numbers ({type(error).__name__}: {error})") from None
    if tags - {1}:
        raise DetectionFormatError(
            f"{where}: dtbox tags must be 1 (person), got {sorted(tags - {1}, key=repr)}")
    boxes[:, 2:] += boxes[:, :2]  # xywh -> xyxy, the same float operation as the official toolkit
    check_detections(boxes, scores, where)
    width, height = _image_size(record, "width", where), _image_size(record, "height", where)
    return image_id, ImageDetections(boxes, scores, width, height, where)


def collect_detections(records: Iterable[tuple[str, object]]) -> dict[str, ImageDetections]:
    """Parse ``(where, record)`` pairs into ``{ID: ImageDetections}``; IDs must be unique."""
    by_id: dict[str, ImageDetections] = {}
    first_seen: dict[str, str] = {}
    for where, record in records:
        image_id, detections = parse_detection_record(record, where)
        if image_id in by_id:
            raise DetectionFormatError(
                f"{detections.where}: duplicated ID (first in {first_seen[image_id]})")
        by_id[image_id] = detections
        first_seen[image_id] = where
    return by_id


def _file_records(path: Path):
    with path.open(encoding="utf-8") as handle:
        for line_no, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            where = f"{path}:{line_no}"
            try:
                yield where, json.loads(line)
            except json.JSONDecodeError as error:
                raise DetectionFormatError(
                    f"{where}: malformed JSON ({error.msg} at column {error.colno})") from None


def load_detections(path: str | Path) -> dict[str, ImageDetections]:
    """Read and validate a detection ``.odgt`` file into ``{ID: ImageDetections}``."""
    path = Path(path)
    if not path.is_file():
        raise DetectionFormatError(f"{path}:0: detection file not found")
    return collect_detections(_file_records(path))


def detection_record(image_id: str, boxes_xyxy: np.ndarray, scores: np.ndarray,
                     width: int, height: int) -> dict:
    """One image's detections as an odgt record (boxes back to ``[x, y, w, h]``)."""
    boxes = np.asarray(boxes_xyxy, dtype=np.float64).reshape(-1, 4)
    xywh = np.concatenate([boxes[:, :2], boxes[:, 2:] - boxes[:, :2]], axis=1).tolist()
    return {"ID": image_id, "width": int(width), "height": int(height),
            "dtboxes": [{"box": box, "score": score, "tag": 1}
                        for box, score in zip(xywh, np.asarray(scores, dtype=np.float64).tolist())]}


def write_odgt(path: str | Path, records: Iterable[dict]) -> Path:
    """Write records as one JSON object per line (ground truth or detections)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as handle:
        for record in records:
            handle.write(json.dumps(record) + "\n")
    return path
