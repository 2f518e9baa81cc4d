"""Random crowded ground truth and detections in odgt form, for tests and the speed benchmark.

Not a dataset for training (that is ``dsla.datasets.synthetic``): only boxes, shaped like a
CrowdHuman validation set seen through an imperfect detector. Each image holds a few clusters of
overlapping people (``fbox`` may cross the image border, as in CrowdHuman), some ignore regions
(``tag: "mask"`` and persons with ``extra.ignore = 1``), and detections made of jittered hits,
looser duplicates, hits on ignore regions and random false positives, in random order.
:func:`as_data_samples` turns detection records into what a detector hands to a metric.
"""
from __future__ import annotations

import numpy as np


def _person_boxes(rng: np.random.Generator, count: int, width: int, height: int) -> np.ndarray:
    """``count`` integer ``[x, y, w, h]`` people in 1-3 clusters, each overlapping the image."""
    centres = rng.uniform([0.1 * width, 0.3 * height], [0.9 * width, 0.8 * height],
                          size=(rng.integers(1, 4), 2))
    cluster = rng.integers(0, len(centres), size=count)
    h = np.clip(rng.lognormal(np.log(0.3 * height), 0.35, size=count), 24, 1.2 * height)
    w = h * rng.uniform(0.33, 0.45, size=count)
    cx = np.clip(centres[cluster, 0] + rng.normal(0, 0.12 * width, count), 0, width - 1)
    cy = np.clip(centres[cluster, 1] + rng.normal(0, 0.08 * height, count), 0, height - 1)
    return np.round(np.stack([cx - w / 2, cy - h / 2, w, h], axis=1))


def _jitter(rng: np.random.Generator, boxes: np.ndarray, scale: float) -> np.ndarray:
    """Move each side of ``[x, y, w, h]`` boxes by Gaussian noise proportional to the box size."""
    x1, y1, w, h = boxes.T
    size = np.stack([w, h, w, h], axis=1)
    corners = np.stack([x1, y1, x1 + w, y1 + h], axis=1) + rng.normal(0, scale, boxes.shape) * size
    corners[:, 2:] = np.maximum(corners[:, 2:], corners[:, :2] + 1)
    return np.concatenate([corners[:, :2], corners[:, 2:] - corners[:, :2]], axis=1)


def _gtbox(box, ignore: bool, tag: str = "person") -> dict:
    x, y, w, h = (int(v) for v in box)
    return {"tag": tag, "fbox": [x, y, w, h], "vbox": [x, y, w, h],
            "hbox": [x + w // 4, y, max(w // 2, 1), max(h // 8, 1)],
            "extra": {"ignore": int(ignore)}}


def random_crowd_records(num_images: int, seed: int = 0, persons_per_image: float = 23.0,
                         detections_per_image: float = 100.0, ignores_per_image: float = 1.0,
                         score_decimals: int | None = None,
                         gt_sizes: bool = False) -> tuple[list[dict], list[dict]]:
    """Ground-truth and detection records for ``num_images`` crowded images.

    Args:
        persons_per_image: Poisson mean of people per image (at least one person each).
        detections_per_image: approximate mean number of detections per image.
        ignores_per_image: Poisson mean of ignore regions per image.
        score_decimals: round scores to this many decimals (creates ties), or keep them exact.
        gt_sizes: also write ``width``/``height`` into the ground truth (real CrowdHuman
            annotations do not have them; detection records always do).

    Returns:
        ``(gt_records, dt_records)``, both in image order, IDs ``"img000000"`` ...
    """
    rng = np.random.default_rng(seed)
    gt_records, dt_records = [], []
    for index in range(num_images):
        width, height = int(rng.integers(640, 1281)), int(rng.integers(480, 961))
        people = _person_boxes(rng, max(1, rng.poisson(persons_per_image)), width, height)
        ignored_people = rng.random(len(people)) < 0.04
        masks = _person_boxes(rng, rng.poisson(ignores_per_image), width, height)
        masks[:, 2:] *= rng.uniform(1.0, 2.5, size=(len(masks), 1))
        gtboxes = [_gtbox(box, bool(ign)) for box, ign in zip(people, ignored_people)]
        gtboxes += [_gtbox(box, True, tag="mask") for box in masks]

        seen = people[rng.random(len(people)) < 0.9]
        dupes = people[rng.random(len(people)) < 0.5]
        inside_masks = np.repeat(masks, 3, axis=0)
        inside_masks[:, 2:] *= rng.uniform(0.3, 0.7, size=(len(inside_masks), 1))
        num_random = max(0, int(rng.poisson(detections_per_image)) - len(seen) - len(dupes)
                         - len(inside_masks))
        boxes = np.concatenate([
            _jitter(rng, seen, 0.06), _jitter(rng, dupes, 0.15), _jitter(rng, inside_masks, 0.05),
            _jitter(rng, _person_boxes(rng, num_random, width, height), 0.3)])
        scores = np.concatenate([
            rng.beta(5, 1.5, len(seen)), rng.beta(2, 3, len(dupes)),
            rng.beta(2, 2, len(inside_masks)), rng.beta(1.2, 5, num_random)])
        if score_decimals is not None:
            scores = np.round(scores, score_decimals)
        shuffle = rng.permutation(len(scores))
        image_id = f"img{index:06d}"
        gt_record = {"ID": image_id, "gtboxes": gtboxes}
        if gt_sizes:
            gt_record.update(width=width, height=height)
        gt_records.append(gt_record)
        dt_records.append({
            "ID": image_id, "width": width, "height": height,
            "dtboxes": [{"box": [round(v, 2) for v in box], "score": float(score), "tag": 1}
                        for box, score in zip(boxes[shuffle].tolist(), scores[shuffle].tolist())]})
    return gt_records, dt_records


def as_data_samples(dt_records: list[dict]) -> list[dict]:
    """Detection records as mmdet prediction samples: ``img_id``, ``ori_shape`` and
    ``pred_instances`` with float32 ``bboxes`` (x1, y1, x2, y2) and ``scores`` tensors."""
    import torch

    samples = []
    for record in dt_records:
        boxes = np.array([d["box"] for d in record["dtboxes"]], dtype=np.float64).reshape(-1, 4)
        boxes[:, 2:] += boxes[:, :2]
        scores = np.array([d["score"] for d in record["dtboxes"]], dtype=np.float64)
        samples.append({
            "img_id": record["ID"], "ori_shape": (record["height"], record["width"]),
            "pred_instances": {"bboxes": torch.from_numpy(boxes).float(),
                               "scores": torch.from_numpy(scores).float()}})
    return samples
