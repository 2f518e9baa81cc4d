"""Procedural drawings for the synthetic datasets: people, occluders and simple shapes.

A :class:`Drawing` is a list of flat-coloured drawing primitives plus its exact extent, so the
generator knows a person's full-body box (``fbox``) and head box (``hbox``) analytically — also
for the parts hidden behind other figures or cut by the image border. :func:`paint` draws a figure
into the RGB image and, with one integer id, into a label image; what remains of an id in the
label image after all figures are painted (back to front) is that figure's visible part.

Body proportions follow the usual figure-drawing canon (a head is about 1/7.5 of the height,
hips at about half the height), which gives full-body boxes of aspect w/h ≈ 0.3–0.5 like
CrowdHuman's.
"""
from __future__ import annotations

import colorsys
import math
from dataclasses import dataclass, field

import numpy as np
from PIL import ImageDraw

Colour = tuple[int, int, int]

SKIN_TONES: tuple[Colour, ...] = (
    (255, 219, 172), (241, 194, 125), (224, 172, 105), (198, 134, 66), (141, 85, 36),
    (92, 58, 34), (255, 205, 180), (230, 180, 150))
HAIR_COLOURS: tuple[Colour, ...] = (
    (20, 15, 10), (60, 40, 25), (110, 75, 40), (200, 170, 100), (150, 150, 150), (90, 30, 20))
TROUSER_COLOURS: tuple[Colour, ...] = (
    (30, 40, 80), (25, 25, 30), (90, 90, 95), (160, 140, 100), (60, 50, 40), (40, 70, 60))


@dataclass
class Drawing:
    """Drawing primitives of one object, back to front, and its extent.

    ``parts`` holds tuples ``(kind, geometry, colour, width)`` with kind ``"ellipse"`` (geometry
    ``(x1, y1, x2, y2)``), ``"polygon"`` (points), ``"line"`` (points; drawn ``width`` pixels thick
    with round joints) or ``"rect"`` (``(x1, y1, x2, y2)``, corner radius ``width``).
    ``head`` is the head's box ``(x1, y1, x2, y2)`` for people, else None.
    """

    parts: list[tuple] = field(default_factory=list)
    head: tuple[float, float, float, float] | None = None

    def add(self, kind: str, geometry, colour: Colour, width: float = 0) -> None:
        self.parts.append((kind, geometry, colour, width))

    def extent(self) -> tuple[float, float, float, float]:
        """Tight box ``(x1, y1, x2, y2)`` around every primitive (thick lines included)."""
        xs: list[float] = []
        ys: list[float] = []
        for kind, geometry, _, width in self.parts:
            if kind in ("ellipse", "rect"):
                xs += [geometry[0], geometry[2]]
                ys += [geometry[1], geometry[3]]
            else:
                pad = width / 2 if kind == "line" else 0.0
                xs += [p[0] - pad for p in geometry] + [p[0] + pad for p in geometry]
                ys += [p[1] - pad for p in geometry] + [p[1] + pad for p in geometry]
        return min(xs), min(ys), max(xs), max(ys)


def paint(figure: Drawing, rgb: ImageDraw.ImageDraw, label: ImageDraw.ImageDraw | None,
          label_id: int) -> None:
    """Draw ``figure`` into the RGB canvas and, as ``label_id``, into the label canvas."""
    targets = [(rgb, None)] if label is None else [(rgb, None), (label, label_id)]
    for kind, geometry, colour, width in figure.parts:
        for canvas, ink in targets:
            fill = colour if ink is None else ink
            if kind == "ellipse":
                canvas.ellipse(geometry, fill=fill)
            elif kind == "polygon":
                canvas.polygon(geometry, fill=fill)
            elif kind == "line":
                canvas.line(geometry, fill=fill, width=max(1, round(width)), joint="curve")
            else:
                canvas.rounded_rectangle(geometry, radius=width, fill=fill)


def random_colour(rng: np.random.Generator, saturation=(0.3, 1.0), value=(0.25, 1.0)) -> Colour:
    rgb = colorsys.hsv_to_rgb(rng.uniform(), rng.uniform(*saturation), rng.uniform(*value))
    return tuple(int(255 * c) for c in rgb)


def shade(colour: Colour, factor: float) -> Colour:
    return tuple(int(min(255, max(0, c * factor))) for c in colour)


def _pick(rng: np.random.Generator, palette: tuple[Colour, ...]) -> Colour:
    return palette[rng.integers(len(palette))]


def _limb(start, length, angle):
    """End point of a limb of ``length`` leaving ``start`` at ``angle`` (0 = straight down)."""
    return start[0] + length * math.sin(angle), start[1] + length * math.cos(angle)


def person(rng: np.random.Generator, cx: float, foot_y: float, height: float) -> Drawing:
    """A standing or walking person of ``height`` pixels whose feet touch ``foot_y``.

    Varies head size, build, view (frontal to side), stride, arm pose (hanging, swinging, bent,
    sometimes raised), lean, and colours (skin, hair, shirt with optional stripes, trousers).
    """
    h = height
    top = foot_y - h
    lean = rng.normal(0.0, 0.02) * h
    view = rng.uniform(0.55, 1.0)                     # 1 = frontal, smaller = turned sideways
    build = rng.uniform(0.85, 1.2)
    radius = h * rng.uniform(0.056, 0.07)
    head_x, head_y = cx + lean, top + radius
    shoulder_half = h * 0.115 * view * build
    shoulder_y = top + 2 * radius + 0.03 * h
    hip_y = top + h * rng.uniform(0.49, 0.54)
    hip_half = shoulder_half * rng.uniform(0.7, 0.9)
    neck_x = cx + 0.6 * lean
    skin, hair = _pick(rng, SKIN_TONES), _pick(rng, HAIR_COLOURS)
    shirt, trousers = random_colour(rng), _pick(rng, TROUSER_COLOURS)
    sleeve = shirt if rng.uniform() < 0.6 else skin

    fig = Drawing()
    arm_width, leg_width = h * 0.045 * build, h * 0.065 * build
    upper, lower = h * rng.uniform(0.16, 0.19), h * rng.uniform(0.15, 0.18)

    def arm(side: float) -> None:
        if rng.uniform() < 0.07:                       # raised arm (waving, holding something)
            a1 = side * rng.uniform(2.0, 2.9)
            a2 = a1 + side * rng.uniform(-0.3, 0.3)
        else:
            a1 = side * rng.uniform(-0.1, 0.45)
            a2 = a1 + side * rng.uniform(-0.4, 0.9)
        shoulder = (neck_x + side * shoulder_half * 0.9, shoulder_y + arm_width / 2)
        elbow = _limb(shoulder, upper, a1)
        hand = _limb(elbow, lower, a2)
        fig.add("line", [shoulder, elbow], sleeve, arm_width)
        fig.add("line", [elbow, hand], skin, arm_width * 0.9)
        r = arm_width * 0.6
        fig.add("ellipse", (hand[0] - r, hand[1] - r, hand[0] + r, hand[1] + r), skin)

    stride = h * rng.uniform(0.0, 0.17)
    back_side = 1.0 if rng.uniform() < 0.5 else -1.0
    arm(back_side)
    for side in (-1.0, 1.0):
        hip = (cx + side * hip_half * 0.5, hip_y)
        foot = (cx + side * (hip_half * 0.45 + stride / 2), foot_y - h * 0.02)
        knee = ((hip[0] + foot[0]) / 2 + rng.normal(0, 0.02) * h, (hip[1] + foot[1]) / 2)
        fig.add("line", [hip, knee, foot], trousers, leg_width)
        shoe_w = h * 0.05
        toe = shoe_w * (0.6 if view > 0.8 else 1.2) * side
        fig.add("ellipse", (min(foot[0] - shoe_w / 2, foot[0] + toe), foot_y - h * 0.035,
                            max(foot[0] + shoe_w / 2, foot[0] + toe), foot_y), (25, 20, 20))
    torso = [(neck_x - shoulder_half, shoulder_y), (neck_x + shoulder_half, shoulder_y),
             (cx + hip_half, hip_y + 0.02 * h), (cx - hip_half, hip_y + 0.02 * h)]
    fig.add("polygon", torso, shirt)
    if rng.uniform() < 0.35:                           # striped shirt
        stripe = shade(shirt, rng.uniform(0.4, 0.7))
        for y in np.arange(shoulder_y + 0.04 * h, hip_y, 0.05 * h):
            t = (y - shoulder_y) / (hip_y - shoulder_y)
            half = (1 - t) * shoulder_half + t * hip_half - 0.01 * h
            x0 = (1 - t) * neck_x + t * cx
            fig.add("line", [(x0 - half, y), (x0 + half, y)], stripe, max(1.0, 0.015 * h))
    arm(-back_side)
    fig.add("line", [(neck_x, shoulder_y), (head_x, head_y + radius * 0.8)], skin, radius * 0.8)
    fig.add("ellipse", (head_x - radius, head_y - radius * 1.05, head_x + radius,
                        head_y + radius * 0.35), hair)
    fig.add("ellipse", (head_x - radius * 0.85, head_y - radius * 0.55, head_x + radius * 0.85,
                        head_y + radius), skin)
    if rng.uniform() < 0.2:                            # cap
        cap = random_colour(rng)
        fig.add("ellipse", (head_x - radius * 1.05, head_y - radius * 1.1, head_x + radius * 1.05,
                            head_y - radius * 0.1), cap)
    fig.head = (head_x - radius * 1.05, head_y - radius * 1.1, head_x + radius * 1.05,
                head_y + radius)
    return fig


def occluder(rng: np.random.Generator, cx: float, base_y: float, scale: float) -> Drawing:
    """A non-person object standing on the ground at ``base_y``: car, bush, fence or sign post.

    ``scale`` is the height in pixels a person would have at that depth.
    """
    kind = rng.choice(("car", "bush", "fence", "sign"), p=(0.3, 0.3, 0.25, 0.15))
    fig = Drawing()
    if kind == "car":
        w, hgt = scale * rng.uniform(1.2, 1.9), scale * rng.uniform(0.45, 0.6)
        body = random_colour(rng)
        fig.add("rect", (cx - w / 2, base_y - hgt * 0.6, cx + w / 2, base_y - hgt * 0.12), body,
                hgt * 0.12)
        fig.add("rect", (cx - w * 0.32, base_y - hgt, cx + w * 0.3, base_y - hgt * 0.55), body,
                hgt * 0.15)
        fig.add("rect", (cx - w * 0.28, base_y - hgt * 0.93, cx + w * 0.26, base_y - hgt * 0.62),
                (150, 190, 210), hgt * 0.05)
        for wx in (cx - w * 0.3, cx + w * 0.3):
            r = hgt * 0.17
            fig.add("ellipse", (wx - r, base_y - 2 * r, wx + r, base_y), (20, 20, 20))
    elif kind == "bush":
        green = random_colour(rng, saturation=(0.5, 0.9), value=(0.25, 0.6))
        green = (green[0] // 3, max(green[1], 90), green[2] // 3)
        w, hgt = scale * rng.uniform(0.5, 1.4), scale * rng.uniform(0.3, 0.6)
        for _ in range(int(rng.integers(3, 6))):
            bx = cx + rng.uniform(-0.35, 0.35) * w
            r = w * rng.uniform(0.2, 0.35)
            top = base_y - hgt * rng.uniform(0.6, 1.0)
            fig.add("ellipse", (bx - r, top, bx + r, base_y), shade(green, rng.uniform(0.8, 1.2)))
    elif kind == "fence":
        w, hgt = scale * rng.uniform(1.0, 3.0), scale * rng.uniform(0.3, 0.5)
        colour = random_colour(rng, saturation=(0.0, 0.4))
        fig.add("rect", (cx - w / 2, base_y - hgt, cx + w / 2, base_y - hgt * 0.85), colour)
        fig.add("rect", (cx - w / 2, base_y - hgt * 0.5, cx + w / 2, base_y - hgt * 0.38), colour)
        for px in np.linspace(cx - w / 2, cx + w / 2, int(rng.integers(3, 8))):
            fig.add("rect", (px - hgt * 0.06, base_y - hgt * 1.05, px + hgt * 0.06, base_y),
                    shade(colour, 0.8))
    else:
        pole_w, hgt = scale * 0.04, scale * rng.uniform(1.0, 1.4)
        fig.add("rect", (cx - pole_w / 2, base_y - hgt, cx + pole_w / 2, base_y), (90, 90, 90))
        sw, sh = scale * rng.uniform(0.25, 0.5), scale * rng.uniform(0.15, 0.35)
        fig.add("rect", (cx - sw / 2, base_y - hgt, cx + sw / 2, base_y - hgt + sh),
                random_colour(rng), sh * 0.1)
    return fig


def shape(rng: np.random.Generator, name: str, box: tuple[float, float, float, float]) -> Drawing:
    """A filled simple shape (``circle``, ``square``, ``triangle``, ``cross``) filling ``box``."""
    x1, y1, x2, y2 = box
    colour = random_colour(rng, saturation=(0.4, 1.0), value=(0.35, 1.0))
    fig = Drawing()
    if name == "circle":
        fig.add("ellipse", box, colour)
        inner = rng.uniform(0.25, 0.4)
        fig.add("ellipse", (x1 + (x2 - x1) * inner, y1 + (y2 - y1) * inner,
                            x2 - (x2 - x1) * inner, y2 - (y2 - y1) * inner), shade(colour, 0.6))
    elif name == "square":
        fig.add("rect", box, colour, 0.1 * (x2 - x1))
    elif name == "triangle":
        fig.add("polygon", [((x1 + x2) / 2, y1), (x2, y2), (x1, y2)], colour)
    elif name == "cross":
        tx, ty = (x2 - x1) * 0.17, (y2 - y1) * 0.17
        cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
        fig.add("rect", (cx - tx, y1, cx + tx, y2), colour)
        fig.add("rect", (x1, cy - ty, x2, cy + ty), colour)
    else:
        raise ValueError(f"unknown shape {name!r}; expected circle, square, triangle or cross")
    return fig
