"""COCO json: reading it, and writing odgt records as COCO (bbox = fbox, iscrowd = ignore)."""
from __future__ import annotations

import json
import math
from pathlib import Path

from .odgt import is_ignore


def odgt_to_coco(records: list[dict], classes: tuple[str, ...], image_ids: list[int],
                 image_ext: str = ".jpg") -> dict:
    """COCO detection dict of odgt ``records`` (which must carry ``width`` and ``height``).

    ``classes`` gives the categories (ids 1..C in order); a box's ``tag`` names its class, and an
    ignore region (``tag == "mask"`` or ``extra.ignore != 0``) becomes an ``iscrowd = 1``
    annotation of the first class, which COCO evaluation and mmdet's CocoDataset both ignore.
    ``file_name`` is ``ID + image_ext``; ``image_ids`` are the COCO integer ids of the records.
    ``vbox`` and ``hbox`` are kept as extra keys of each annotation.
    """
    category_id = {name: index + 1 for index, name in enumerate(classes)}
    images, annotations = [], []
    for record, image_id in zip(records, image_ids, strict=True):
        images.append({"id": image_id, "file_name": record["ID"] + image_ext,
                       "width": record["width"], "height": record["height"]})
        for gtbox in record["gtboxes"]:
            ignore = is_ignore(gtbox)
            tag = gtbox.get("tag")
            if not ignore and tag not in category_id:
                raise ValueError(f"record {record['ID']!r}: tag {tag!r} is not one of {classes}")
            x, y, w, h = gtbox["fbox"]
            annotation = {"id": len(annotations) + 1, "image_id": image_id,
                          "category_id": category_id.get(tag, 1), "bbox": [x, y, w, h],
                          "area": w * h, "iscrowd": int(ignore)}
            annotation.update({k: gtbox[k] for k in ("vbox", "hbox") if k in gtbox})
            annotations.append(annotation)
    categories = [{"id": i, "name": name} for name, i in category_id.items()]
    return {"images": images, "annotations": annotations, "categories": categories}


class CocoFormatError(ValueError):
    """A malformed COCO json; the message names the file and the offending entry."""


def _check_coco(coco: dict, path: Path) -> None:
    def fail(message: str):
        raise CocoFormatError(f"{path}: {message}")

    if not isinstance(coco, dict):
        fail("expected a JSON object")
    missing = [k for k in ("images", "annotations", "categories") if k not in coco]
    if missing:
        fail(f"not a COCO detection json, missing {missing}")
    image_ids, category_ids = set(), {c.get("id") for c in coco["categories"]}
    for index, image in enumerate(coco["images"]):
        if "id" not in image or "file_name" not in image:
            fail(f"images[{index}] needs 'id' and 'file_name', got {image!r}")
        if image["id"] in image_ids:
            fail(f"images[{index}]: duplicated image id {image['id']!r}")
        image_ids.add(image["id"])
    for index, ann in enumerate(coco["annotations"]):
        where = f"annotations[{index}] (id {ann.get('id')!r})"
        if ann.get("image_id") not in image_ids:
            fail(f"{where}: image_id {ann.get('image_id')!r} is not in 'images'")
        if ann.get("category_id") not in category_ids:
            fail(f"{where}: category_id {ann.get('category_id')!r} is not in 'categories'")
        box = ann.get("bbox")
        if not (isinstance(box, list) and len(box) == 4
                and all(isinstance(v, (int, float)) and math.isfinite(v) for v in box)):
            fail(f"{where}: bbox must be 4 finite numbers [x, y, w, h], got {box!r}")
        if box[2] <= 0 or box[3] <= 0:
            fail(f"{where}: bbox has non-positive width or height: {box!r}")


def load_coco(path: str | Path) -> dict:
    """Read and validate a COCO detection json (``images``, ``annotations``, ``categories``).

    Raises:
        CocoFormatError: malformed JSON (with its line), missing keys, duplicated image ids,
            annotations of unknown images or categories, boxes that are not 4 finite numbers or
            have non-positive width or height — naming the file and the annotation; a byte that
            is not UTF-8 with its line (a UTF-8 byte-order mark is accepted).
    """
    path = Path(path)
    if not path.is_file():
        raise CocoFormatError(f"{path}: annotation file not found")
    data = path.read_bytes()
    try:
        text = data.decode("utf-8-sig")          # a leading byte-order mark is accepted
    except UnicodeDecodeError as error:
        start = error.start + (3 if data.startswith(b"\xef\xbb\xbf") else 0)
        line = data[:start].count(b"\n") + 1
        raise CocoFormatError(f"{path}:{line}: not UTF-8 (byte {data[start]:#04x})") from None
    try:
        coco = json.loads(text)
    except json.JSONDecodeError as error:
        raise CocoFormatError(f"{path}:{error.lineno}: malformed JSON ({error.msg})") from None
    _check_coco(coco, path)
    return coco
