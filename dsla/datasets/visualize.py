"""Draw a record's boxes on its image: full body, visible part, head and ignore regions."""
from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageDraw

from .coco_format import load_coco
from .odgt import is_ignore, load_odgt

COLOURS = {"fbox": (0, 200, 255), "vbox": (0, 255, 0), "hbox": (255, 0, 255),
           "ignore": (255, 40, 40)}


def draw_record(image: Image.Image, record: dict, scale: int = 1) -> Image.Image:
    """A copy of ``image`` (enlarged ``scale`` times) with the boxes of ``record`` drawn.

    Colours: full body ``fbox`` cyan, visible ``vbox`` green, head ``hbox`` magenta, ignore
    regions (``mask`` or ``extra.ignore``) red with a cross. Boxes are ``[x, y, w, h]``.
    """
    canvas = image.convert("RGB").resize((image.width * scale, image.height * scale),
                                         Image.NEAREST)
    draw = ImageDraw.Draw(canvas)

    def rect(box, colour, width=1):
        x, y, w, h = (v * scale for v in box)
        draw.rectangle((x, y, x + w - 1, y + h - 1), outline=colour, width=width)
        return x, y, w, h

    for gtbox in record["gtboxes"]:
        if is_ignore(gtbox):
            x, y, w, h = rect(gtbox["fbox"], COLOURS["ignore"], 2)
            draw.line((x, y, x + w, y + h), fill=COLOURS["ignore"])
            draw.line((x, y + h, x + w, y), fill=COLOURS["ignore"])
            continue
        for key in ("vbox", "hbox", "fbox"):
            if key in gtbox:
                rect(gtbox[key], COLOURS[key])
    return canvas


def find_record(ann_file: str | Path, image_id: str) -> tuple[dict, str]:
    """The odgt-style record of ``image_id`` in an ``.odgt`` or COCO ``.json`` file, and the
    image's file name. COCO images match by integer id, file name or file name without extension;
    a COCO annotation becomes a gtbox with ``fbox = bbox`` (``iscrowd`` marks it ignore)."""
    ann_file = Path(ann_file)
    if ann_file.suffix == ".odgt":
        for record in load_odgt(ann_file):
            if record["ID"] == image_id:
                return record, f"{image_id}.jpg"
        raise KeyError(f"{ann_file}: no record with ID {image_id!r}")
    coco = load_coco(ann_file)
    names = {str(image["id"]): image for image in coco["images"]}
    names.update({image["file_name"]: image for image in coco["images"]})
    names.update({Path(image["file_name"]).stem: image for image in coco["images"]})
    if image_id not in names:
        raise KeyError(f"{ann_file}: no image with id or file name {image_id!r}")
    image = names[image_id]
    gtboxes = [{"tag": "object", "fbox": a["bbox"], "extra": {"ignore": int(a.get("iscrowd", 0))},
                **{k: a[k] for k in ("vbox", "hbox") if k in a}}
               for a in coco["annotations"] if a["image_id"] == image["id"]]
    return {"ID": image_id, "gtboxes": gtboxes}, image["file_name"]
