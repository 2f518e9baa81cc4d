"""`pipeline data ...`: make synthetic datasets, measure Table 1 densities, draw annotations.

    pipeline data synth [--preset crowd|sparse] [--num-images 1000] [--out data/synth_<preset>]
    pipeline data density data/synth_crowd/annotation_train.odgt
    pipeline data draw --ann data/synth_crowd/annotation_val.odgt --image-id crowd_000800 \
        --out crowd.png
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def _reporting_errors(func):
    """Bad input ends with one line naming the file, line or value — not a traceback."""

    def run(args: argparse.Namespace) -> int:
        try:
            return func(args)
        except (ValueError, KeyError, FileNotFoundError, FileExistsError) as error:
            message = error.args[0] if isinstance(error, KeyError) and error.args else error
            print(f"pipeline data {args.data_command}: error: {message}", file=sys.stderr)
            return 2

    return run


def default_out(preset: str) -> str:
    """Where `synth` writes by default: the `data_root` of the preset's mmdet config
    (experiments/configs/_base_/datasets/synth_<preset>.py), relative to the working directory, so
    `tools/train.py <profile>/<variant>_<dataset>` finds the data after one
    `pipeline data synth` run from the repository root."""
    return f"data/synth_{preset}"


@_reporting_errors
def _synth(args: argparse.Namespace) -> int:
    from dsla.datasets.synthetic import generate_dataset

    out = generate_dataset(args.out or default_out(args.preset), preset=args.preset, num_images=args.num_images,
                           val_fraction=args.val_fraction, image_size=args.image_size,
                           seed=args.seed, workers=args.workers, density=args.density)
    stats = json.loads((out / "density.json").read_text())
    stamp = json.loads((out / ".synth_stamp.json").read_text())
    print(f"{args.preset} dataset in {out} ({stamp['seconds']} s with {stamp['workers']} "
          f"worker(s) when generated)")
    for split in ("train", "val", "all"):
        print(f"  {split:5s}: {stats[split]['images']:6d} images, "
              f"{stats[split]['objects_per_image']:.2f} objects/img, "
              f"{stats[split]['overlaps_per_image']:.4f} overlaps/img (IoU > 0.5)")
    return 0


@_reporting_errors
def _density(args: argparse.Namespace) -> int:
    from dsla.datasets.density import file_density

    print(json.dumps(file_density(args.path), indent=2))
    return 0


@_reporting_errors
def _draw(args: argparse.Namespace) -> int:
    from PIL import Image

    from dsla.datasets.visualize import draw_record, find_record

    ann = Path(args.ann)
    record, file_name = find_record(ann, args.image_id)
    image_path = Path(args.images or ann.parent / "Images") / file_name
    if not image_path.is_file():
        raise FileNotFoundError(f"image of {args.image_id!r} not found: {image_path}")
    with Image.open(image_path) as image:
        draw_record(image, record, scale=args.scale).save(args.out)
    print(f"drew {len(record['gtboxes'])} boxes of {args.image_id} on {image_path} -> {args.out}")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("data", help="synthetic datasets, Table 1 densities, drawing")
    commands = parser.add_subparsers(dest="data_command", required=True)

    synth = commands.add_parser("synth", help="generate (or reuse) a synthetic dataset")
    synth.add_argument("--preset", choices=("crowd", "sparse"), default="crowd")
    synth.add_argument("--num-images", type=int, default=1000)
    synth.add_argument("--out", help="output directory (created); default data/synth_<preset>, where the "
                                      "configs' own data roots point (tools/train.py reads it there)")
    synth.add_argument("--seed", type=int, default=0)
    synth.add_argument("--image-size", type=int, default=256, help="square side in pixels")
    synth.add_argument("--val-fraction", type=float, default=0.2)
    synth.add_argument("--density", type=float, default=1.0,
                       help="multiplies the objects per image (1 = Table 1's density)")
    synth.add_argument("--jobs", "--workers", dest="workers", type=int,
                       help="processes drawing images (default: one per CPU core; --workers is an alias)")
    synth.set_defaults(func=_synth)

    density = commands.add_parser(
        "density", help="Table 1 statistics (objects and IoU>0.5 pairs per image) as JSON")
    density.add_argument("path", help="CrowdHuman .odgt or COCO .json annotation file")
    density.set_defaults(func=_density)

    draw = commands.add_parser(
        "draw", help="save an image with full (cyan), visible (green), head (magenta) boxes and "
                     "ignore regions (red)")
    draw.add_argument("--ann", required=True, help=".odgt or COCO .json annotation file")
    draw.add_argument("--image-id", required=True, help="odgt ID, or COCO image id / file name")
    draw.add_argument("--out", required=True, help="output .png")
    draw.add_argument("--images", help="image directory (default: Images/ beside --ann)")
    draw.add_argument("--scale", type=int, default=2, help="enlarge the image this many times")
    draw.set_defaults(func=_draw)
