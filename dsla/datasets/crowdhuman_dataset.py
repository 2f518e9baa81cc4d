"""CrowdHuman ``.odgt`` as an MMDetection dataset: trains on full-body boxes, with ignore regions.

:class:`CrowdHumanOdgtDataset` extends mmdet's ``CrowdHumanDataset`` (same ``data_info`` keys:
``img_id`` = record ``ID``, ``img_path`` = ``data_prefix.img/<ID>.jpg``, instances with ``bbox``
= ``fbox`` in xyxy, ``bbox_label``, ``ignore_flag``, and ``fbox``/``vbox``/``hbox``) and differs
where the parent is fragile:

- the file is read with :func:`dsla.datasets.odgt.load_odgt_lines`, so a malformed line, a record
  without ``fbox``, a non-positive box, a duplicated ID or an empty file is an error naming the
  file and line, not a ``KeyError`` deep inside;
- the image size comes from the record's ``width``/``height`` (the synthetic sets write them),
  else from mmdet's id_hw cache (``extra_ann_file``, ``{ID: [h, w]}``; by default
  ``data_root/id_hw_{train,val}.json`` when present), else from the image header (PIL reads only
  the header; nothing is written back, unlike the parent, which decodes every image and writes
  the cache into ``data_root``); every image's header is read and checked
  (:func:`dsla.datasets.limits.check_image`): an empty (0-byte) or unreadable image, or one larger
  than ``DSLA_MAX_IMAGE_PIXELS``, is an error naming the file and line;
- a missing image, or a box entirely outside its image, is an error naming the file, line and
  image — never a silent skip;
- ``vbox``/``hbox`` are optional (the parent requires both);
- ignore regions (``tag == "mask"``, ``extra.ignore == 1``, or a tag that is not a class) get
  ``ignore_flag = 1`` and ``bbox_label = -1``; mmdet's ``PackDetInputs`` moves them to
  ``ignored_instances``, which the heads treat as neither positive nor negative.
"""
from __future__ import annotations

import logging
import os.path as osp

from mmdet.datasets import BaseDetDataset, CrowdHumanDataset
from mmdet.registry import DATASETS
from mmengine.fileio import load
from mmengine.logging import print_log

from .limits import check_image
from .odgt import OdgtFormatError, check_inside_image, is_ignore, load_odgt_lines

BOX_KEYS = ("fbox", "vbox", "hbox")


def _xyxy(box) -> list[float]:
    x, y, w, h = box
    return [x, y, x + w, y + h]


@DATASETS.register_module()
class CrowdHumanOdgtDataset(CrowdHumanDataset):
    """CrowdHuman-format ``.odgt`` dataset (real CrowdHuman or the synthetic crowd preset).

    Args:
        data_root (str): root of ``ann_file`` and ``data_prefix``.
        ann_file (str): the ``.odgt`` file, relative to ``data_root``.
        extra_ann_file (str, optional): mmdet's id_hw cache ``{ID: [height, width]}``.
        **kwargs: as mmdet's ``BaseDetDataset`` (``data_prefix``, ``pipeline``, ``test_mode``...).
    """

    def __init__(self, data_root: str = "", ann_file: str = "",
                 extra_ann_file: str | None = None, **kwargs):
        # The parent's __init__ only locates the id_hw cache and fails for annotation files
        # whose name contains neither "train" nor "val"; that is done here instead.
        if extra_ann_file is None:
            split = "train" if "train" in osp.basename(ann_file) else "val"
            default = osp.join(data_root, f"id_hw_{split}.json")
            extra_ann_file = default if osp.isfile(default) else None
        self.extra_ann_file = extra_ann_file
        BaseDetDataset.__init__(self, data_root=data_root, ann_file=ann_file, **kwargs)

    def load_data_list(self) -> list[dict]:
        """Validated records of ``ann_file`` as mmdet ``data_info`` dicts, in file order."""
        id_hw = load(self.extra_ann_file) if self.extra_ann_file else {}
        data_list = []
        for line, record in load_odgt_lines(self.ann_file):
            def fail(message: str, _line: int = line):
                raise OdgtFormatError(self.ann_file, _line, message)

            data_info = self.parse_data_info(record)
            if not osp.isfile(data_info["img_path"]):
                fail(f"image of record {record['ID']!r} not found: {data_info['img_path']}")
            if "width" in record and "height" in record:
                given = record["width"], record["height"]
            elif record["ID"] in id_hw:
                given = tuple(reversed(id_hw[record["ID"]]))
            else:
                given = None
            # the header of every image: an empty, unreadable or huge one is an error naming file
            # and line, before anything decodes it
            try:
                header = check_image(data_info["img_path"], f"{self.ann_file}:{line}")
            except ValueError as exc:
                raise OdgtFormatError(self.ann_file, line, str(exc).split(": ", 1)[1]) from None
            width, height = given or header
            check_inside_image(record, width, height, fail)
            data_info["height"], data_info["width"] = height, width
            data_list.append(data_info)
        ignored = sum(i["ignore_flag"] for d in data_list for i in d["instances"])
        total = sum(len(d["instances"]) for d in data_list)
        print_log(f"{self.ann_file}: {len(data_list)} images, {total - ignored} boxes, "
                  f"{ignored} ignore regions", logger="current", level=logging.INFO)
        return data_list

    def parse_data_info(self, raw_data_info: dict) -> dict:
        """One validated odgt record as a ``data_info`` (size filled in by ``load_data_list``)."""
        classes = self.metainfo["classes"]
        instances = []
        for gtbox in raw_data_info["gtboxes"]:
            ignore = is_ignore(gtbox) or gtbox.get("tag") not in classes
            instance = {"bbox": _xyxy(gtbox["fbox"]), "ignore_flag": int(ignore),
                        "bbox_label": -1 if ignore else classes.index(gtbox["tag"])}
            instance.update({key: _xyxy(gtbox[key]) for key in BOX_KEYS if key in gtbox})
            instances.append(instance)
        image = osp.join(self.data_prefix.get("img", ""), f"{raw_data_info['ID']}.jpg")
        return {"img_path": image, "img_id": raw_data_info["ID"], "instances": instances}

