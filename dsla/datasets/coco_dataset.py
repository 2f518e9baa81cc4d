"""COCO json through mmdet's ``CocoDataset``, with the boxes it drops counted and reported.

mmdet's ``CocoDataset.parse_data_info`` silently leaves out annotations it cannot train on (marked
``ignore``, outside the image, ``area <= 0``, width or height < 1, unknown category).
:class:`CheckedCocoDataset` keeps that behaviour — real COCO has a few such boxes and training on
them is impossible — but counts them and logs one warning per annotation file, and stops with an
error naming the file when an image listed in the json is missing, empty, unreadable or larger
than ``DSLA_MAX_IMAGE_PIXELS`` (or has more boxes than ``DSLA_MAX_BOXES_PER_IMAGE``).
"""
from __future__ import annotations

import logging
import os.path as osp
from collections import Counter

from mmdet.datasets import CocoDataset
from mmdet.registry import DATASETS
from mmengine.logging import print_log

from .limits import check_image, limit


@DATASETS.register_module()
class CheckedCocoDataset(CocoDataset):
    """mmdet's ``CocoDataset`` that reports dropped boxes and missing images.

    After loading, ``dropped_boxes`` holds ``(img_id, annotation id)`` of every annotation
    mmdet's parser left out.
    """

    def load_data_list(self) -> list[dict]:
        self.dropped_boxes: list[tuple[int, int]] = []
        data_list = super().load_data_list()
        for data_info in data_list:
            if not osp.isfile(data_info["img_path"]):
                raise FileNotFoundError(f"{self.ann_file}: image {data_info['img_id']} not "
                                        f"found: {data_info['img_path']}")
            # empty, unreadable or huge: an error naming the image, before anything decodes it
            check_image(data_info["img_path"], f"{self.ann_file} image {data_info['img_id']}")
            if len(data_info["instances"]) > limit("DSLA_MAX_BOXES_PER_IMAGE"):
                raise ValueError(f"{self.ann_file} image {data_info['img_id']}: {len(data_info['instances'])} "
                                 f"boxes, more than the limit {limit('DSLA_MAX_BOXES_PER_IMAGE')} "
                                 "(DSLA_MAX_BOXES_PER_IMAGE)")
        if self.dropped_boxes:
            print_log(f"{self.ann_file}: dropped {len(self.dropped_boxes)} annotations mmdet "
                      f"cannot train on (ignore, outside the image, area <= 0, w or h < 1, or "
                      f"unknown category); first (image id, annotation id): "
                      f"{self.dropped_boxes[:5]}", logger="current", level=logging.WARNING)
        return data_list

    def parse_data_info(self, raw_data_info: dict) -> dict:
        data_info = super().parse_data_info(raw_data_info)
        kept = Counter(tuple(i["bbox"]) for i in data_info["instances"])
        for ann in raw_data_info["raw_ann_info"]:
            x, y, w, h = ann["bbox"]
            if kept[x, y, x + w, y + h] > 0:
                kept[x, y, x + w, y + h] -= 1
            else:
                self.dropped_boxes.append((data_info["img_id"], ann.get("id")))
        return data_info
