"""Limits on hostile or broken data, checked before anything is decoded or trained.

Each is a sanity bound far above real data (CrowdHuman: at most a few hundred boxes per image,
images of a few megapixels) and can be raised with an environment variable:

- ``DSLA_MAX_BOXES_PER_IMAGE`` (default 2000): boxes of one image; training memory grows with
  the square of it (an image with 12,000 boxes took 6.4 GB).
- ``DSLA_MAX_IMAGE_PIXELS`` (default 100 megapixels): width x height of one image, read from its
  header before it is decoded (a 48 KB PNG can hold 20000 x 20000 pixels, 1.2 GB decoded).
- ``DSLA_MAX_ANNOTATION_LINE_BYTES`` (default 64 MiB): one line of an ``.odgt`` file.
"""
from __future__ import annotations

import os

DEFAULTS = {"DSLA_MAX_BOXES_PER_IMAGE": 2000, "DSLA_MAX_IMAGE_PIXELS": 100_000_000,
            "DSLA_MAX_ANNOTATION_LINE_BYTES": 64 << 20}


def limit(name: str) -> int:
    """The limit `name` (one of `DEFAULTS`): the environment's value, else the default."""
    value = os.environ.get(name)
    if value is None or not value.strip():
        return DEFAULTS[name]
    try:
        number = int(value)
    except ValueError:
        raise ValueError(f"{name}={value!r}: must be a positive integer") from None
    if number <= 0:
        raise ValueError(f"{name}={value!r}: must be a positive integer")
    return number


def check_image(path: str, where: str, size: tuple[int, int] | None = None) -> tuple[int, int]:
    """`(width, height)` of the image at `path`, from its header (nothing is decoded); a ValueError
    starting with `where` when it is empty (0 bytes), unreadable, larger than
    `DSLA_MAX_IMAGE_PIXELS`, or not of the `size` (width, height) its annotation gives."""
    from PIL import Image, UnidentifiedImageError

    try:
        if os.path.getsize(path) == 0:
            raise ValueError(f"{where}: image {path} is empty (0 bytes)")
        with Image.open(path) as image:
            width, height = image.size
    except (OSError, UnidentifiedImageError, Image.DecompressionBombError) as exc:
        raise ValueError(f"{where}: image {path} cannot be read ({type(exc).__name__}: {exc})") from None
    most = limit("DSLA_MAX_IMAGE_PIXELS")
    if width * height > most:
        raise ValueError(f"{where}: image {path} is {width}x{height} pixels, more than the limit {most} "
                         "(DSLA_MAX_IMAGE_PIXELS)")
    if size is not None and tuple(size) != (width, height):
        raise ValueError(f"{where}: image {path} is {width}x{height} but its annotation says {size[0]}x{size[1]}")
    return width, height
