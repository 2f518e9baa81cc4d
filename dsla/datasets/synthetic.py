"""Synthetic datasets in CrowdHuman's and COCO's formats, deterministic by seed.

Two presets (Table 1 of the paper gives the densities they aim at):

- ``crowd``: street-like crowds of people drawn from :mod:`dsla.datasets.drawing` — 22.64
  persons and 2.40 pairs with IoU > 0.5 per image at ``density=1``, as CrowdHuman. A camera at
  0.9–1.5 times a person's height looks down at a ground plane: a person of height ``h`` pixels
  stands with the feet at ``horizon + camera * h``, so near people are large and low, far people
  small and high, and heights in one image span ~20 px to more than the image height (big people
  are cut by the bottom border; people near the side borders are cut too). Heights follow
  ``p(h) ∝ h^-1.15`` — more far than near people, as a ground plane seen in perspective — with
  some spread in height and depth, and a fifth of the people gather in a few clusters. The
  IoU > 0.5 pairs come from people standing at similar depth side by side; no pairs are
  planted. Cars, bushes, fences and sign posts occlude people. Distant crowds of people too
  small to annotate become ``mask`` ignore regions; people less than ``min_visible`` visible are
  marked ``extra.ignore = 1`` (about 5.5 per image, plus 0.5 masks — CrowdHuman's training set
  has 6.6 ignore regions per image).
- ``sparse``: a multi-class set like COCO (9.34 objects per image) — people and four simple shape
  classes (:data:`SPARSE_CLASSES`) that touch at most (intersection <= 10 % of the smaller box),
  so no pair reaches IoU > 0.5 (COCO: 0.0015 per image and category).

Images are square, ``DEFAULT_IMAGE_SIZE`` = 256 px by default: the tiny CPU profile's scale, where
the smallest annotated people (7.5 % of the side, ~19 px) still span a few cells of a stride-8
feature map and 1,000 images draw in seconds. The number of objects per image does not depend
on the image size (sizes are relative to it); ``density`` scales it (and with it the overlaps).
The count follows a negative binomial (a gamma mixture of Poissons), heavy-tailed like
CrowdHuman's, with mean ``density * objects_per_image``.

Each box is written as CrowdHuman writes it: ``fbox`` (full extent, occluded and off-image parts
included), ``vbox`` (bounding box of the visible pixels), ``hbox`` (head, people only), ``tag``
and ``extra`` (``ignore``; ``occ = 1`` when more than ``OCCLUDED_FRACTION`` of the in-image body is
hidden). Boxes are integer pixels, ``[x, y, w, h]``.

Output of :func:`generate_dataset` (one directory): ``Images/<ID>.jpg``,
``annotation_{train,val}.odgt``, ``annotation_{train,val}.json`` (COCO) and ``density.json``, plus
a stamp file holding a hash of the parameters and of the generator's source code. The stamp is
written last and atomically, so an interrupted run is regenerated and a finished one with the
same parameters and code is reused.
"""
from __future__ import annotations

import hashlib
import json
import logging
import multiprocessing
import os
import shutil
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from . import coco_format, density, drawing, files, limits, odgt
from .coco_format import odgt_to_coco
from .density import coco_density, odgt_density
from .drawing import Drawing, occluder, paint, person, random_colour, shade, shape
from .files import atomic_write_json, atomic_write_text
from .odgt import dump_odgt

logger = logging.getLogger(__name__)

PRESETS = ("crowd", "sparse")
SPARSE_CLASSES = ("person", "circle", "square", "triangle", "cross")
CROWD_CLASSES = ("person",)
DEFAULT_IMAGE_SIZE = 256
STAMP_NAME = ".synth_stamp.json"
OCCLUDED_FRACTION = 0.3
SPLITS = ("train", "val")


@dataclass(frozen=True)
class CrowdStyle:
    """Parameters of the crowd preset; sizes are fractions of the image side.

    ``count_gain`` compensates the people lost to full occlusion and the ones marked ignore, so
    the measured persons per image meet ``persons_per_image``. Calibrated on 1,000 images of
    256 px, seed 0: 22.79 persons and 2.48 pairs with IoU > 0.5 per image (CrowdHuman: 22.64,
    2.40); ``pipeline data density`` measures any generated set.
    """

    persons_per_image: float = 22.64
    count_gain: float = 1.44
    dispersion: float = 2.5
    min_height: float = 0.075
    max_height: float = 1.0
    height_exponent: float = 1.15
    cluster_fraction: float = 0.2
    cluster_spread: float = 0.15
    depth_jitter: float = 0.15
    height_jitter: float = 0.12
    occluders_per_image: float = 1.2
    mask_regions_per_image: float = 0.5
    min_visible: float = 0.1
    min_visible_pixels: int = 12


@dataclass(frozen=True)
class SparseStyle:
    """Parameters of the sparse multi-class preset; sizes are fractions of the image side.

    ``count_gain`` compensates sampling noise of the calibration run (1,000 images of 256 px,
    seed 0: 9.38 objects and 0 same-class pairs with IoU > 0.5 per image; COCO: 9.34, 0.0015).
    """

    objects_per_image: float = 9.34
    count_gain: float = 0.98
    dispersion: float = 4.0
    min_size: float = 0.07
    max_size: float = 0.45
    size_exponent: float = 1.5
    max_overlap: float = 0.1  # intersection over the smaller box, between any two objects
    min_visible: float = 0.1
    min_visible_pixels: int = 12


CROWD = CrowdStyle()
SPARSE = SparseStyle()


def _negative_binomial(rng: np.random.Generator, mean: float, dispersion: float) -> int:
    return int(rng.poisson(rng.gamma(dispersion, mean / dispersion)))


def _power_law(rng: np.random.Generator, low: float, high: float, exponent: float) -> float:
    """Sample of ``p(x) ∝ x^-exponent`` on ``[low, high]`` (exponent != 1) by inverse CDF."""
    a = 1.0 - exponent
    return (low ** a + rng.uniform() * (high ** a - low ** a)) ** (1.0 / a)


def _in_image_fraction(box, size: int) -> float:
    x1, y1, x2, y2 = box
    inter = max(0.0, min(x2, size) - max(x1, 0)) * max(0.0, min(y2, size) - max(y1, 0))
    return inter / max((x2 - x1) * (y2 - y1), 1e-9)


def _background(rng: np.random.Generator, size: int, horizon: float) -> Image.Image:
    """Sky-to-ground gradient with noise, buildings, trees, poles and ground markings."""
    rows = np.arange(size, dtype=np.float32)[:, None, None]
    sky = np.array(random_colour(rng, saturation=(0.0, 0.4), value=(0.55, 1.0)), np.float32)
    ground = np.array(random_colour(rng, saturation=(0.0, 0.35), value=(0.3, 0.75)), np.float32)
    top = sky * (0.8 + 0.2 * rows / max(horizon, 1.0))
    bottom = ground * (0.8 + 0.4 * (rows - horizon) / max(size - horizon, 1.0))
    pixels = np.where(rows < horizon, top, bottom) + rng.normal(0, 7, (size, size, 3))
    image = Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))
    draw = ImageDraw.Draw(image)
    x = rng.uniform(-0.1, 0.2) * size
    while x < size:                                      # building fronts along the horizon
        w = rng.uniform(0.1, 0.35) * size
        y = horizon - rng.uniform(0.1, 0.9) * horizon
        wall = random_colour(rng, saturation=(0.0, 0.3), value=(0.3, 0.85))
        draw.rectangle((x, y, x + w, horizon), fill=wall)
        window, step = shade(wall, rng.choice((0.5, 1.4))), rng.uniform(0.03, 0.06) * size
        for wy in np.arange(y + step / 2, horizon - step, step):
            for wx in np.arange(x + step / 2, x + w - step / 2, step):
                draw.rectangle((wx, wy, wx + step * 0.5, wy + step * 0.55), fill=window)
        x += w + rng.uniform(0, 0.1) * size
    for _ in range(int(rng.integers(0, 4))):             # trees and lamp posts: upright clutter
        tx, scale = rng.uniform(0, size), rng.uniform(0.15, 0.5) * size
        base = horizon + rng.uniform(0, 0.15) * scale
        trunk = scale * 0.03
        draw.rectangle((tx - trunk, base - scale, tx + trunk, base), fill=(70, 50, 35))
        if rng.uniform() < 0.6:
            r = scale * rng.uniform(0.2, 0.35)
            draw.ellipse((tx - r, base - scale - r, tx + r, base - scale + r),
                         fill=(int(rng.integers(20, 60)), int(rng.integers(80, 150)), 40))
    for _ in range(int(rng.integers(0, 5))):             # ground markings and stains
        gx, gy = rng.uniform(0, size), rng.uniform(horizon, size)
        w, h = rng.uniform(0.05, 0.3) * size, rng.uniform(0.005, 0.03) * size
        draw.rectangle((gx, gy, gx + w, gy + h), fill=shade(tuple(int(c) for c in ground),
                                                           rng.uniform(0.6, 1.5)))
    return image


def _distant_crowd(rng: np.random.Generator, size: int, horizon: float, camera: float) -> Drawing:
    """Many people too small to annotate, side by side: one ``mask`` ignore region."""
    region = Drawing()
    width = rng.uniform(0.12, 0.4) * size
    left = rng.uniform(-0.05, 1.0) * size - width / 2
    for _ in range(int(rng.integers(10, 30))):
        h = rng.uniform(0.025, 0.05) * size
        foot = horizon + camera * h * rng.uniform(0.9, 1.3)
        region.parts += person(rng, left + rng.uniform(0, width), foot, h).parts
    return region


def _crowd_entities(rng, size: int, density: float, style: CrowdStyle):
    """Back-to-front sortable ``(depth, figure, tag)`` of one crowd scene, and its background."""
    horizon = size * rng.uniform(0.1, 0.4)
    camera = rng.uniform(0.9, 1.5)        # camera height / person height (> 1: from above)
    image = _background(rng, size, horizon)
    entities = []
    for _ in range(rng.poisson(style.mask_regions_per_image)):
        entities.append((horizon, _distant_crowd(rng, size, horizon, camera), "mask"))
    target = _negative_binomial(rng, style.persons_per_image * style.count_gain * density,
                                style.dispersion)
    clusters = rng.uniform(0.0, 1.0, size=int(rng.integers(1, 5))) * size
    persons = 0
    for _ in range(30 * target):
        if persons >= target:
            break
        h = size * _power_law(rng, style.min_height, style.max_height, style.height_exponent)
        if rng.uniform() < style.cluster_fraction:
            x = rng.normal(rng.choice(clusters), style.cluster_spread * size)
        else:
            x = rng.uniform(-0.1, 1.1) * size
        foot = horizon + camera * h * rng.normal(1.0, style.depth_jitter)
        fig = person(rng, x, foot, h * rng.normal(1.0, style.height_jitter))
        if _in_image_fraction(fig.extent(), size) < 0.3:
            continue
        entities.append((foot, fig, "person"))
        persons += 1
    for _ in range(rng.poisson(style.occluders_per_image)):
        scale = size * _power_law(rng, style.min_height, style.max_height, style.height_exponent)
        base = horizon + camera * scale * rng.uniform(0.98, 1.05)
        entities.append((base, occluder(rng, rng.uniform(0, size), base, scale), None))
    return image, entities


def _sparse_entities(rng, size: int, density: float, style: SparseStyle):
    """Objects of :data:`SPARSE_CLASSES` placed with at most ``max_overlap`` between any two."""
    image = _background(rng, size, size * rng.uniform(0.3, 0.7))
    target = _negative_binomial(rng, style.objects_per_image * style.count_gain * density,
                                style.dispersion)
    boxes: list[tuple[float, float, float, float]] = []
    entities = []
    for _ in range(30 * target):
        if len(entities) >= target:
            break
        name = SPARSE_CLASSES[rng.integers(len(SPARSE_CLASSES))]
        side = size * _power_law(rng, style.min_size, style.max_size, style.size_exponent)
        cx, cy = rng.uniform(0, size), rng.uniform(0, size)
        if name == "person":
            fig = person(rng, cx, cy + side * 0.8, side * 1.6)
        else:
            w, h = side * rng.uniform(0.75, 1.33), side
            fig = shape(rng, name, (cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2))
        box = fig.extent()
        if _in_image_fraction(box, size) < 1.0 or any(
                _overlap_of_smaller(box, other) > style.max_overlap for other in boxes):
            continue
        boxes.append(box)
        entities.append((len(entities), fig, name))
    return image, entities


def _overlap_of_smaller(a, b) -> float:
    inter = (max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
             * max(0.0, min(a[3], b[3]) - max(a[1], b[1])))
    smaller = min((a[2] - a[0]) * (a[3] - a[1]), (b[2] - b[0]) * (b[3] - b[1]))
    return inter / max(smaller, 1e-9)


def _int_box(box, size: int | None = None) -> tuple[int, int, int, int]:
    """Pixels ``[x1, x2) x [y1, y2)`` a drawn box covers (PIL lights the pixel at ``x2``, so the
    exclusive end is ``floor(x2) + 1``), clipped to the image when ``size`` is given."""
    x1, y1 = int(np.floor(box[0])), int(np.floor(box[1]))
    x2, y2 = int(np.floor(box[2])) + 1, int(np.floor(box[3])) + 1
    if size is not None:
        x1, y1, x2, y2 = max(x1, 0), max(y1, 0), min(x2, size), min(y2, size)
    return x1, y1, x2, y2


def _xywh(box) -> list[int]:
    return [box[0], box[1], box[2] - box[0], box[3] - box[1]]


def _paint_and_annotate(image: Image.Image, entities, style) -> list[dict]:
    """Paint ``entities`` back to front; return their CrowdHuman ``gtboxes``.

    A label image receives each annotated entity's index; the pixels an entity still owns at the
    end are its visible part (``vbox``), compared with the pixels it covered when painted.
    """
    size = image.size[0]
    rgb = ImageDraw.Draw(image)
    label_image = Image.new("I", image.size, 0)
    label = ImageDraw.Draw(label_image)
    drawn = []
    for index, (_, fig, tag) in enumerate(sorted(entities, key=lambda e: e[0]), start=1):
        paint(fig, rgb, label, index if tag else -1)
        if tag is None:
            continue
        clip = _int_box(fig.extent(), size)
        covered = int(np.count_nonzero(np.asarray(label_image.crop(clip)) == index))
        drawn.append((index, fig, tag, clip, covered))
    labels = np.asarray(label_image)
    gtboxes = []
    for index, fig, tag, clip, covered in drawn:
        fbox = _xywh(_int_box(fig.extent()))
        if tag == "mask":
            region = _xywh(clip)
            gtboxes.append({"tag": "mask", "fbox": region, "vbox": region, "hbox": region,
                            "extra": {"ignore": 1, "occ": 0}})
            continue
        mine = labels[clip[1]:clip[3], clip[0]:clip[2]] == index
        visible = int(np.count_nonzero(mine))
        if visible == 0:                                  # hidden completely: not in the image
            continue
        rows, cols = np.flatnonzero(mine.any(axis=1)), np.flatnonzero(mine.any(axis=0))
        vbox = [clip[0] + int(cols[0]), clip[1] + int(rows[0]),
                int(cols[-1] - cols[0]) + 1, int(rows[-1] - rows[0]) + 1]
        seen = visible / max(covered, 1)
        ignore = int(seen < style.min_visible or visible < style.min_visible_pixels)
        gtbox = {"tag": tag, "fbox": fbox, "vbox": vbox,
                 "extra": {"ignore": ignore, "occ": int(seen < 1.0 - OCCLUDED_FRACTION)}}
        if fig.head is not None:
            gtbox["hbox"] = _xywh(_int_box(fig.head))
        gtboxes.append(gtbox)
    return gtboxes



def render_image(preset: str, index: int, image_size: int, seed: int,
                 density: float = 1.0) -> tuple[Image.Image, list[dict]]:
    """Image number ``index`` of a preset and its ``gtboxes``; a pure function of its arguments."""
    rng = np.random.default_rng([seed, index, PRESETS.index(preset)])
    if preset == "crowd":
        image, entities = _crowd_entities(rng, image_size, density, CROWD)
        style = CROWD
    else:
        image, entities = _sparse_entities(rng, image_size, density, SPARSE)
        style = SPARSE
    gtboxes = _paint_and_annotate(image, entities, style)
    noisy = np.asarray(image, dtype=np.int16) + rng.integers(-4, 5, (image_size, image_size, 1))
    return Image.fromarray(np.clip(noisy, 0, 255).astype(np.uint8)), gtboxes


def image_id(preset: str, index: int) -> str:
    return f"{preset}_{index:06d}"


def _generate_one(index: int, preset: str, image_size: int, seed: int, density: float,
                  image_dir: str) -> dict:
    image, gtboxes = render_image(preset, index, image_size, seed, density)
    record_id = image_id(preset, index)
    image.save(Path(image_dir) / f"{record_id}.jpg", quality=92)
    return {"ID": record_id, "width": image_size, "height": image_size, "gtboxes": gtboxes}


def _check_arguments(preset, num_images, val_fraction, image_size, workers, density) -> None:
    if preset not in PRESETS:
        raise ValueError(f"preset must be one of {PRESETS}, got {preset!r}")
    if not 0.0 < val_fraction < 1.0:
        raise ValueError(f"val_fraction must be in (0, 1), got {val_fraction!r}")
    if not isinstance(num_images, int) or num_images < 2:
        raise ValueError(f"num_images must be an integer >= 2 (train and val), got {num_images!r}")
    if not isinstance(image_size, int) or image_size < 64:
        raise ValueError(f"image_size must be an integer >= 64 pixels, got {image_size!r}")
    if not isinstance(workers, int) or workers < 1:
        raise ValueError(f"workers must be an integer >= 1, got {workers!r}")
    if not (density > 0 and np.isfinite(density)):
        raise ValueError(f"density must be a positive number, got {density!r}")


def split_sizes(num_images: int, val_fraction: float) -> tuple[int, int]:
    """(train, val) image counts; each split gets at least one image."""
    num_val = min(max(1, round(num_images * val_fraction)), num_images - 1)
    return num_images - num_val, num_val


def output_files(out_dir: Path) -> list[Path]:
    """The annotation and statistics files :func:`generate_dataset` writes."""
    names = [f"annotation_{s}.{ext}" for s in SPLITS for ext in ("odgt", "json")]
    return [out_dir / n for n in names] + [out_dir / "density.json"]


# The project modules whose code shapes the generated files: this one and every `dsla` module it
# imports, transitively (tests/datasets/test_synthetic.py checks the list against the import graph
# with the pipeline's own `CodeScope`; `dsla` may not depend on the pipeline's fingerprint helper).
GENERATOR_MODULES = (coco_format, density, drawing, files, limits, odgt)


def _code_digest() -> str:
    """Hash of the generator's sources (by module name and content): changed code invalidates
    cached datasets."""
    digest = hashlib.sha256()
    for module in sorted((*GENERATOR_MODULES, sys.modules[__name__]), key=lambda m: m.__name__):
        digest.update(module.__name__.encode() + b"\0" + Path(module.__file__).read_bytes() + b"\0")
    return digest.hexdigest()[:12]


def _read_stamp(out_dir: Path) -> dict | None:
    try:
        return json.loads((out_dir / STAMP_NAME).read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return None


def _is_complete(out_dir: Path, stamp: dict | None, key: str, num_images: int) -> bool:
    if not stamp or stamp.get("key") != key or not stamp.get("complete"):
        return False
    if not all(p.is_file() for p in output_files(out_dir)):
        return False
    return sum(1 for _ in (out_dir / "Images").glob("*.jpg")) == num_images


def _clear_outputs(out_dir: Path, stamp: dict | None) -> None:
    """Remove a previous generation; refuse to touch a directory this generator did not make."""
    ours = output_files(out_dir) + [out_dir / "Images"]
    if stamp is None and any(p.exists() for p in ours):
        raise FileExistsError(
            f"{out_dir} holds annotations or Images/ but no {STAMP_NAME}: it was not written by "
            f"the synthetic generator; choose an empty or new directory")
    for path in ours:
        if path.is_dir():
            shutil.rmtree(path)
        elif path.exists():
            path.unlink()


def dataset_density(preset: str, records: list[dict], coco: dict) -> dict:
    """Table 1 statistics of one split: persons in odgt (crowd), category-averaged COCO (sparse)."""
    return odgt_density(records) if preset == "crowd" else coco_density(coco)


def generate_dataset(out_dir: str | Path, preset: str = "crowd", num_images: int = 1000,
                     val_fraction: float = 0.2, image_size: int = DEFAULT_IMAGE_SIZE,
                     seed: int = 0, workers: int | None = None, density: float = 1.0) -> Path:
    """Generate (or reuse) a synthetic dataset in ``out_dir``; return ``out_dir``.

    The last ``round(num_images * val_fraction)`` images form the validation split. The result
    is a pure function of the parameters (not of ``workers``, the number of processes drawing
    images; default: one per CPU core); when ``out_dir`` already holds a finished generation with
    the same parameters, nothing is done.
    """
    workers = (os.cpu_count() or 1) if workers is None else workers
    _check_arguments(preset, num_images, val_fraction, image_size, workers, density)
    params = {"code": _code_digest(), "preset": preset, "num_images": num_images,
              "val_fraction": val_fraction, "image_size": image_size, "seed": seed,
              "density": float(density)}
    key = hashlib.sha256(json.dumps(params, sort_keys=True).encode()).hexdigest()[:16]
    out_dir = Path(out_dir)
    stamp = _read_stamp(out_dir)
    if _is_complete(out_dir, stamp, key, num_images):
        logger.info("synthetic %s dataset in %s is up to date (key %s)", preset, out_dir, key)
        return out_dir
    out_dir.mkdir(parents=True, exist_ok=True)
    _clear_outputs(out_dir, stamp)
    atomic_write_json(out_dir / STAMP_NAME, {"key": key, "params": params, "complete": False})
    image_dir = out_dir / "Images"
    image_dir.mkdir()

    start = time.perf_counter()
    make = partial(_generate_one, preset=preset, image_size=image_size, seed=seed,
                   density=float(density), image_dir=str(image_dir))
    if workers == 1:
        records = [make(i) for i in range(num_images)]
    else:
        with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork")) as pool:
            records = list(pool.map(make, range(num_images),
                                    chunksize=max(1, num_images // (8 * workers))))
    seconds = time.perf_counter() - start

    classes = CROWD_CLASSES if preset == "crowd" else SPARSE_CLASSES
    num_train, _ = split_sizes(num_images, val_fraction)
    stats = {"preset": preset, "params": params}
    for split, chunk, first in (("train", records[:num_train], 0),
                                ("val", records[num_train:], num_train)):
        coco = odgt_to_coco(chunk, classes, list(range(first + 1, first + len(chunk) + 1)))
        atomic_write_text(out_dir / f"annotation_{split}.odgt", dump_odgt(chunk))
        atomic_write_json(out_dir / f"annotation_{split}.json", coco, indent=None)
        stats[split] = dataset_density(preset, chunk, coco)
    stats["all"] = dataset_density(
        preset, records, odgt_to_coco(records, classes, list(range(1, num_images + 1))))
    atomic_write_json(out_dir / "density.json", stats)
    atomic_write_json(out_dir / STAMP_NAME, {"key": key, "params": params, "complete": True,
                                             "seconds": round(seconds, 2), "workers": workers})
    logger.info("generated %d %s images in %s in %.1f s: %.2f objects/img, %.4f overlaps/img",
                num_images, preset, out_dir, seconds, stats["all"]["objects_per_image"],
                stats["all"]["overlaps_per_image"])
    return out_dir
