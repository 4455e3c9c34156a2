"""Generated street scenes in the CamVid layout, with CamVid's 11 class ids and void.

CamVid itself cannot be downloaded here, so this module draws a stand-in that exercises the
same code path (`tfmodels.data.camvid`) and makes a small segmentation model work for its score:
a pinhole camera at a random height looks down a road that runs to a vanishing point, with
pavements, building rows with windows, trees, poles with signs, fences, cars, pedestrians and
bicyclists placed in consistent perspective (far objects small and high, near ones large and
low, drawn far to near). Colours are drawn from overlapping ranges (grey road, grey pavement,
grey buildings, grey overcast sky), every class gets texture, and each frame gets its own
lighting (gain, colour cast, cast shadows, vignetting), sensor noise and sometimes blur, so a
small model does not reach 100% on held-out frames.

Void (11) marks what an annotator would leave out: object boundaries, where a pixel straddles
two classes (frames are drawn at twice the size; an output pixel whose 2x2 source block has no
clear majority class is void), and a few unlabelled clutter blobs per frame.

Frames are numpy + PIL only. Frame `i` of a split depends only on `(seed, split, i)`, so the
training frames do not change when more validation frames are asked for.

Example:

```python
summary = generate("data/scenes", seed=0)
train = tfmodels.data.camvid.load_dataset("data/scenes", "train", crop_size=None)
```
"""

import json
import os
import time

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from tfmodels.utils import atomic

# CamVid's 11-class ids, as `tfmodels.data.camvid` reads them (a test pins the two together);
# kept here so that generating needs no TensorFlow import.
CLASS_NAMES = (
    "Sky", "Building", "Pole", "Road", "Pavement", "Tree", "SignSymbol", "Fence", "Car",
    "Pedestrian", "Bicyclist",
)  # fmt: skip
NUM_CLASSES = 11
VOID = 11
SKY, BUILDING, POLE, ROAD, PAVEMENT, TREE, SIGN, FENCE, CAR, PEDESTRIAN, BICYCLIST = range(11)
_SPLIT_IDS = {"train": 0, "val": 1, "test": 2}
_SUPERSAMPLE = 2


def _rgb(colour):
    return tuple(min(255, max(0, int(c))) for c in colour)


class _Canvas:
    """Colour and label images drawn together, in a camera-projected street frame."""

    def __init__(self, rng, height, width):
        self.rng = rng
        self.h, self.w = height * _SUPERSAMPLE, width * _SUPERSAMPLE
        self.image = Image.new("RGB", (self.w, self.h))
        self.label = Image.new("L", (self.w, self.h))
        self.draw_image = ImageDraw.Draw(self.image)
        self.draw_label = ImageDraw.Draw(self.label)
        self.horizon = self.h * rng.uniform(0.3, 0.5)
        self.vanish_x = self.w * rng.uniform(0.3, 0.7)
        camera_height = rng.uniform(1.2, 2.2)
        # Pixels per metre at the bottom row; depth is scaled so the bottom row sits at t = 1.
        self.focal = (self.h - self.horizon) / camera_height

    def project(self, x, y, depth):
        """Screen point of world (lateral x, height y) at depth (1 = bottom row, larger = far)."""
        t = 1.0 / depth
        return (
            self.vanish_x + x * t * self.focal,
            self.horizon + (self.h - self.horizon) * t - y * t * self.focal,
        )

    def scale(self, depth):
        return self.focal / depth

    def polygon(self, points, colour, cls):
        points = [(float(px), float(py)) for px, py in points]
        self.draw_image.polygon(points, fill=_rgb(colour))
        if cls is not None:
            self.draw_label.polygon(points, fill=int(cls))

    def ellipse(self, box, colour, cls):
        box = [float(v) for v in box]
        if box[2] - box[0] < 1 or box[3] - box[1] < 1:
            return
        self.draw_image.ellipse(box, fill=_rgb(colour))
        if cls is not None:
            self.draw_label.ellipse(box, fill=int(cls))

    def rectangle(self, box, colour, cls):
        x0, y0, x1, y1 = box
        self.polygon([(x0, y0), (x1, y0), (x1, y1), (x0, y1)], colour, cls)

    def line(self, points, colour, width, cls):
        points = [(float(px), float(py)) for px, py in points]
        width = max(1, int(round(width)))
        self.draw_image.line(points, fill=_rgb(colour), width=width)
        if cls is not None:
            self.draw_label.line(points, fill=int(cls), width=width)


def _grey(rng, low, high, tint=8):
    return rng.uniform(low, high) + rng.uniform(-tint, tint, size=3)


def _smooth_noise(rng, height, width, cell):
    """Low-frequency noise in [-1, 1]: a coarse random grid, bilinearly upsampled."""
    coarse = rng.uniform(0, 255, size=(max(2, height // cell), max(2, width // cell)))
    field = Image.fromarray(coarse.astype(np.uint8)).resize((width, height), Image.BILINEAR)
    return np.asarray(field, np.float32) / 127.5 - 1.0


def _ground(canvas, rng):
    """Road with lane marks, pavements with kerbs; returns the lateral layout."""
    road_left = -rng.uniform(2.0, 6.0)
    road_right = rng.uniform(2.0, 6.0)
    pave_left = road_left - rng.uniform(1.5, 4.5)
    pave_right = road_right + rng.uniform(1.5, 4.5)
    far, near = 400.0, 0.6
    road_colour = _grey(rng, 55, 125)
    pave_colour = _grey(rng, 95, 185, tint=15)
    # Ground beyond the pavements: more paving, or grass (CamVid's 11-class set folds
    # vegetation into Tree).
    if rng.random() < 0.6:
        verge, verge_cls = pave_colour * rng.uniform(0.7, 1.0), PAVEMENT
    else:
        verge, verge_cls = np.array([70, 110, 50]) * rng.uniform(0.7, 1.2), TREE
    for side in (-1, 1):
        outer = pave_left if side < 0 else pave_right
        canvas.polygon(
            [canvas.project(outer, 0, near), canvas.project(outer, 0, far),
             canvas.project(side * 300, 0, far), canvas.project(side * 300, 0, near)],
            verge, verge_cls,
        )  # fmt: skip
    canvas.polygon(
        [canvas.project(pave_left, 0, near), canvas.project(pave_left, 0, far),
         canvas.project(pave_right, 0, far), canvas.project(pave_right, 0, near)],
        pave_colour, PAVEMENT,
    )  # fmt: skip
    canvas.polygon(
        [canvas.project(road_left, 0, near), canvas.project(road_left, 0, far),
         canvas.project(road_right, 0, far), canvas.project(road_right, 0, near)],
        road_colour, ROAD,
    )  # fmt: skip
    # Paving joints, kerbs and lane marks keep their class: annotators label the surface.
    for side, inner, outer in ((-1, road_left, pave_left), (1, road_right, pave_right)):
        kerb = pave_colour * 0.75
        canvas.line([canvas.project(inner, 0, near), canvas.project(inner, 0, far)], kerb,
                    2, PAVEMENT)  # fmt: skip
        depth = near
        while depth < 60:
            canvas.line([canvas.project(inner, 0, depth), canvas.project(outer, 0, depth)],
                        pave_colour * 0.85, 1, PAVEMENT)  # fmt: skip
            depth *= 1.25
    if rng.random() < 0.85:
        centre = (road_left + road_right) / 2 + rng.uniform(-0.5, 0.5)
        mark = np.array([230, 230, 220]) * rng.uniform(0.7, 1.0)
        depth, dash = rng.uniform(0.7, 1.5), rng.uniform(1.5, 3.0)
        while depth < 80:
            canvas.polygon(
                [canvas.project(centre - 0.08, 0, depth), canvas.project(centre + 0.08, 0, depth),
                 canvas.project(centre + 0.08, 0, depth + dash),
                 canvas.project(centre - 0.08, 0, depth + dash)],
                mark, ROAD,
            )  # fmt: skip
            depth += dash * 2.2
    return road_left, road_right, pave_left, pave_right


def _buildings(canvas, rng, side, offset):
    """A row of facades along one side, far ones first, with window grids."""
    segments = []
    depth = rng.uniform(0.3, 1.0)
    while depth < 120:
        length = rng.uniform(1.5, 12.0) * (1 + depth / 10)
        if rng.random() < 0.15:  # a gap between buildings
            depth += length * 0.5
            continue
        segments.append((depth, depth + length, rng.uniform(5, 25)))
        depth += length
    for d0, d1, height in reversed(segments):
        colour = _grey(rng, 70, 200, tint=25) if rng.random() < 0.6 else (
            rng.uniform(60, 200, size=3)
        )
        x = side * (offset + rng.uniform(0, 2.0))
        quad = [canvas.project(x, 0, d0), canvas.project(x, 0, d1),
                canvas.project(x, height, d1), canvas.project(x, height, d0)]  # fmt: skip
        canvas.polygon(quad, colour, BUILDING)
        window = colour * rng.uniform(0.3, 0.7) if rng.random() < 0.7 else (
            np.array([120, 150, 190]) * rng.uniform(0.6, 1.1)
        )
        floor = rng.uniform(2.8, 3.6)
        step = rng.uniform(1.5, 3.5)
        if canvas.scale(d0) * step < 6:
            continue
        for level in np.arange(1.0, height - 1.5, floor):
            for along in np.arange(d0 + step * 0.3, d1 - step * 0.5, step * (1 + d0 / 15)):
                span = step * 0.5 * (1 + d0 / 15)
                canvas.polygon(
                    [canvas.project(x, level, along), canvas.project(x, level, along + span),
                     canvas.project(x, level + 1.4, along + span),
                     canvas.project(x, level + 1.4, along)],
                    window * rng.uniform(0.85, 1.15), BUILDING,
                )  # fmt: skip


def _tree(canvas, rng, x, depth):
    s = canvas.scale(depth)
    bx, by = canvas.project(x, 0, depth)
    trunk_h, radius = rng.uniform(1.5, 3.5), rng.uniform(1.2, 3.0)
    half = max(2.0, 0.15 * s)
    bark = _grey(rng, 50, 90) * [1.2, 1.0, 0.8]
    canvas.rectangle((bx - half, by - trunk_h * s, bx + half, by), bark, TREE)
    green = np.array([rng.uniform(30, 90), rng.uniform(80, 150), rng.uniform(20, 70)])
    cy = by - (trunk_h + radius * 0.8) * s
    for _ in range(rng.integers(2, 5)):
        dx, dy = rng.normal(0, 0.4 * radius * s, size=2)
        r = radius * s * rng.uniform(0.6, 1.0)
        canvas.ellipse((bx + dx - r, cy + dy - r, bx + dx + r, cy + dy + r * 0.9),
                       green * rng.uniform(0.7, 1.2), TREE)  # fmt: skip


def _pole(canvas, rng, x, depth):
    s = canvas.scale(depth)
    bx, by = canvas.project(x, 0, depth)
    height = rng.uniform(3.0, 7.0)
    half = max(2.5, 0.08 * s)
    canvas.rectangle((bx - half, by - height * s, bx + half, by), _grey(rng, 60, 160), POLE)
    if rng.random() < 0.75:
        size = rng.uniform(0.6, 1.2) * s
        top = by - height * s * rng.uniform(0.75, 0.95)
        colour = [np.array([200, 30, 30]), np.array([30, 70, 190]), np.array([230, 200, 40]),
                  np.array([235, 235, 235])][rng.integers(4)] * rng.uniform(0.7, 1.05)  # fmt: skip
        if rng.random() < 0.5:
            canvas.ellipse((bx - size / 2, top - size, bx + size / 2, top), colour, SIGN)
        else:
            canvas.rectangle((bx - size / 2, top - size, bx + size / 2, top), colour, SIGN)


def _fence(canvas, rng, x, depth):
    length, height = rng.uniform(3, 15), rng.uniform(0.8, 1.6)
    colour = _grey(rng, 40, 200, tint=20)
    far = depth + length
    quad = [canvas.project(x, 0, depth), canvas.project(x, 0, far),
            canvas.project(x, height, far), canvas.project(x, height, depth)]  # fmt: skip
    # The whole panel is fence, gaps included, as CamVid annotates it; the gaps show what is behind.
    canvas.draw_label.polygon([(float(a), float(b)) for a, b in quad], fill=FENCE)
    for level in (0.15, height - 0.1):
        canvas.line([canvas.project(x, level, depth), canvas.project(x, level, depth + length)],
                    colour, max(2, 0.08 * canvas.scale(depth)), FENCE)  # fmt: skip
    for along in np.arange(depth, depth + length, rng.uniform(0.15, 0.4) * (1 + depth / 5)):
        canvas.line([canvas.project(x, 0, along), canvas.project(x, height, along)], colour,
                    max(1, 0.05 * canvas.scale(along)), FENCE)  # fmt: skip


def _car(canvas, rng, x, depth):
    s = canvas.scale(depth)
    bx, by = canvas.project(x, 0, depth)
    width, height = rng.uniform(1.6, 2.1) * s, rng.uniform(1.3, 1.9) * s
    body = rng.uniform(20, 235, size=3) if rng.random() < 0.6 else _grey(rng, 20, 235, tint=5)
    canvas.ellipse((bx - width * 0.6, by - 0.15 * s, bx + width * 0.6, by + 0.1 * s),
                   np.array([25, 25, 25]), ROAD)  # shadow under the car  # fmt: skip
    canvas.rectangle((bx - width / 2, by - height * 0.55, bx + width / 2, by - 0.15 * s), body, CAR)
    canvas.polygon([(bx - width * 0.42, by - height * 0.55), (bx - width * 0.32, by - height),
                    (bx + width * 0.32, by - height), (bx + width * 0.42, by - height * 0.55)],
                   body * 0.9, CAR)  # fmt: skip
    glass = _grey(rng, 30, 110) * [0.9, 1.0, 1.1]
    low, high = by - height * 0.58, by - height * 0.93
    canvas.polygon([(bx - width * 0.36, low), (bx - width * 0.29, high),
                    (bx + width * 0.29, high), (bx + width * 0.36, low)], glass, CAR)  # fmt: skip
    wheel = 0.35 * s
    for wx in (bx - width * 0.32, bx + width * 0.32):
        canvas.ellipse((wx - wheel, by - 1.8 * wheel, wx + wheel, by), (15, 15, 15), CAR)
    lamp = np.array([230, 40, 30]) if rng.random() < 0.5 else np.array([240, 240, 210])
    for lx in (bx - width * 0.42, bx + width * 0.32):
        canvas.rectangle((lx, by - height * 0.45, lx + width * 0.1, by - height * 0.35), lamp, CAR)


def _person(canvas, rng, x, depth, cls):
    s = canvas.scale(depth)
    bx, by = canvas.project(x, 0, depth)
    height = rng.uniform(1.5, 1.9) * s
    skin = np.array([rng.uniform(90, 230)] * 3) * [1.0, 0.8, 0.65]
    shirt, trousers = rng.uniform(10, 240, size=3), _grey(rng, 10, 120, tint=20)
    half = max(1.5, 0.2 * s)
    stride = rng.uniform(-0.25, 0.25) * s
    for side in (-1, 1):
        canvas.line([(bx + side * half * 0.4, by - height * 0.48), (bx + side * stride, by)],
                    trousers, max(2, 0.14 * s), cls)  # fmt: skip
    canvas.rectangle((bx - half, by - height * 0.82, bx + half, by - height * 0.45), shirt, cls)
    head = max(1.5, 0.11 * s)
    canvas.ellipse((bx - head, by - height, bx + head, by - height + 2 * head), skin, cls)


def _bicyclist(canvas, rng, x, depth):
    s = canvas.scale(depth)
    bx, by = canvas.project(x, 0, depth)
    wheel = 0.34 * s
    frame = _grey(rng, 20, 220, tint=30)
    for wx in (bx - 0.5 * s, bx + 0.5 * s):
        box = (wx - wheel, by - 2 * wheel, wx + wheel, by)
        canvas.draw_image.ellipse(box, outline=_rgb(frame * 0.3), width=max(1, int(0.06 * s)))
        canvas.draw_label.ellipse(box, fill=BICYCLIST)
    canvas.line([(bx - 0.5 * s, by - wheel), (bx, by - wheel * 1.8), (bx + 0.5 * s, by - wheel)],
                frame, max(2, 0.06 * s), BICYCLIST)  # fmt: skip
    _person(canvas, rng, x, depth * 1.0, BICYCLIST)


def _clutter(canvas, rng, x, depth):
    """An object no class covers (bin, box, bollard): left unlabelled, i.e. void."""
    s = canvas.scale(depth)
    bx, by = canvas.project(x, 0, depth)
    size = rng.uniform(0.4, 1.2) * s
    points = [(bx + size * np.cos(a) * rng.uniform(0.6, 1.0), by - size + size * np.sin(a))
              for a in np.sort(rng.uniform(0, 2 * np.pi, size=6))]  # fmt: skip
    canvas.polygon(points, rng.uniform(0, 255, size=3), VOID)


def _sky(canvas, rng):
    clear = rng.random() < 0.55
    top = np.array([70, 120, 200]) * rng.uniform(0.7, 1.1) if clear else _grey(rng, 150, 235, 6)
    bottom = np.minimum(top * rng.uniform(1.1, 1.5), 250)
    rows = np.linspace(0, 1, canvas.h)[:, None, None]
    gradient = top * (1 - rows) + bottom * rows
    sky = np.broadcast_to(gradient, (canvas.h, canvas.w, 3)).astype(np.float32)
    clouds = np.clip(_smooth_noise(rng, canvas.h, canvas.w, 24), 0, 1)[..., None]
    sky = sky * (1 - 0.6 * clouds) + 235 * 0.6 * clouds
    canvas.image.paste(Image.fromarray(np.clip(sky, 0, 255).astype(np.uint8)))
    canvas.label.paste(SKY, (0, 0, canvas.w, canvas.h))


def _objects(canvas, rng, layout):
    """Street furniture, vegetation and traffic, drawn far to near."""
    road_left, road_right, pave_left, pave_right = layout
    items = []
    for _ in range(rng.integers(0, 5)):
        lane = rng.uniform(road_left + 1.0, road_right - 1.0)
        items.append((rng.uniform(1.3, 25), _car, lane))
    for _ in range(rng.integers(0, 7)):
        side = rng.choice([-1, 1])
        items.append((rng.uniform(1.0, 20), _person, rng.uniform(
            *(sorted((road_left, pave_left)) if side < 0 else (road_right, pave_right)))))
    if rng.random() < 0.3:
        items.append((rng.uniform(1.2, 15), _bicyclist, road_right - rng.uniform(0.5, 1.5)))
    for _ in range(rng.integers(0, 6)):
        side = rng.choice([-1, 1])
        inset = rng.uniform(0.3, 1.0)
        x = pave_left + inset if side < 0 else pave_right - inset
        items.append((rng.uniform(1.0, 40), _tree if rng.random() < 0.55 else _pole, x))
    if rng.random() < 0.5:
        side = rng.choice([-1, 1])
        x = pave_left + 0.2 if side < 0 else pave_right - 0.2
        items.append((rng.uniform(0.8, 10), _fence, x))
    for _ in range(rng.integers(1, 4)):
        items.append((rng.uniform(1.0, 15), _clutter, rng.uniform(pave_left, pave_right)))
    for depth, draw, x in sorted(items, key=lambda item: -item[0]):
        if draw is _person:
            draw(canvas, rng, x, depth, PEDESTRIAN)
        else:
            draw(canvas, rng, x, depth)


def _finish(canvas, rng, height, width):
    """Texture, lighting, noise; downsample to the frame size with void on unclear pixels."""
    image = np.asarray(canvas.image, np.float32)
    label = np.asarray(canvas.label)
    texture_amount = np.array([0.03, 0.10, 0.05, 0.12, 0.10, 0.25, 0.03, 0.08, 0.05, 0.08, 0.08,
                               0.15], np.float32)[label]  # fmt: skip
    fine = rng.standard_normal(label.shape, dtype=np.float32)
    coarse = _smooth_noise(rng, canvas.h, canvas.w, 6)
    image = image * (1 + texture_amount[..., None] * (0.5 * fine + coarse)[..., None])

    # Cast shadow of something off-frame across the ground and facades.
    if rng.random() < 0.6:
        shadow = Image.new("L", (canvas.w, canvas.h))
        x0, x1 = sorted(rng.uniform(-0.2, 1.2, size=2) * canvas.w)
        ImageDraw.Draw(shadow).polygon(
            [(x0, canvas.h), (x1, canvas.h),
             (canvas.vanish_x + rng.uniform(-20, 20), canvas.horizon),
             (canvas.vanish_x + rng.uniform(-60, 60),
              canvas.horizon - rng.uniform(0, canvas.h / 3))],
            fill=255,
        )  # fmt: skip
        shadow = shadow.filter(ImageFilter.GaussianBlur(3))
        strength = np.float32(rng.uniform(0.3, 0.6) / 255) * np.asarray(shadow, np.float32)
        image = image * (1 - strength * (label != SKY))[..., None]

    # Box-filter to the frame size; label pixels without a clear majority become void.
    s = _SUPERSAMPLE
    image = sum(image[i::s, j::s] for i in range(s) for j in range(s)) / (s * s)
    blocks = label.reshape(height, s, width, s).transpose(0, 2, 1, 3).reshape(height, width, s * s)
    agree = (blocks[..., :, None] == blocks[..., None, :]).sum(-1)
    best = np.take_along_axis(blocks, agree.argmax(-1)[..., None], -1)[..., 0]
    top = agree.max(-1)
    tied = (agree == top[..., None]).sum(-1) > top
    label = np.where((top >= 2) & ~tied, best, VOID).astype(np.uint8)

    cast = (rng.uniform(0.55, 1.35) * rng.uniform(0.88, 1.12, size=3)).astype(np.float32)
    rows = (np.arange(height, dtype=np.float32)[:, None] / height - 0.5) ** 2
    cols = (np.arange(width, dtype=np.float32)[None, :] / width - 0.5) ** 2
    vignette = 1 - np.float32(rng.uniform(0, 0.35)) * (rows + cols) / 0.5
    image = image * cast * vignette[..., None]
    image = 255 * (np.clip(image, 0, 255) / 255) ** np.float32(rng.uniform(0.8, 1.25))
    image = image + rng.uniform(1, 9) * rng.standard_normal(image.shape, dtype=np.float32)
    out = Image.fromarray(np.clip(image, 0, 255).astype(np.uint8))
    if rng.random() < 0.3:
        out = out.filter(ImageFilter.GaussianBlur(rng.uniform(0.3, 0.9)))
    return np.asarray(out), label


def render_scene(seed, height=96, width=128):
    """Draws one street frame and its label map.

    Args:
        seed: int or sequence of ints (`numpy.random.default_rng` seed); same seed, same frame.
        height, width: frame size in pixels (at least 32 each).

    Returns:
        `(image, label)`: uint8 `[height, width, 3]` and uint8 `[height, width]` with class ids
        0-10 (`CLASS_NAMES`) and 11 for void.

    Example:

    >>> image, label = render_scene(0, 64, 96)
    >>> image.shape, label.shape, int(label.max()) <= 11
    ((64, 96, 3), (64, 96), True)
    """
    for name, value in (("height", height), ("width", width)):
        if not isinstance(value, (int, np.integer)) or value < 32:
            raise ValueError(f"{name} must be an int >= 32, got {name}={value!r}")
    rng = np.random.default_rng(seed)
    canvas = _Canvas(rng, height, width)
    _sky(canvas, rng)
    layout = _ground(canvas, rng)
    for side, offset in ((-1, -layout[2]), (1, layout[3])):
        if rng.random() < 0.85:
            _buildings(canvas, rng, side, offset)
    _objects(canvas, rng, layout)
    return _finish(canvas, rng, height, width)


def _readme(summary):
    lines = [
        "# Generated street scenes (CamVid layout)",
        "",
        "Written by `tfmodels.data.scenes.generate`; regenerate rather than edit.",
        f"seed={summary['seed']}, frames {summary['height']}x{summary['width']}, "
        f"train/val/test = {summary['counts']['train']}/{summary['counts']['val']}/"
        f"{summary['counts']['test']}.",
        "",
        "Annotation PNGs hold class ids; 11 is void (boundaries, unlabelled clutter).",
        "",
        "| id | class | pixel fraction |",
        "|---:|---|---:|",
    ]
    for i, name in enumerate(list(CLASS_NAMES) + ["void"]):
        lines.append(f"| {i} | {name} | {summary['class_pixel_frequency'][name]:.4f} |")
    return "\n".join(lines) + "\n"


def generate(out_dir, seed=0, num_train=200, num_val=50, num_test=50, height=96, width=128,
             overwrite=False):  # fmt: skip
    """Writes a CamVid-layout dataset of generated street scenes.

    Args:
        out_dir: target folder; created with `train/`, `trainannot/`, `val/`, `valannot/`,
            `test/`, `testannot/`, `classes.json` and `README.md`.
        seed: seeds every frame; same seed and sizes, same files.
        num_train, num_val, num_test: frames per split (>= 1 each).
        height, width: frame size. The default 96x128 (both multiples of 32) keeps a few
            FC-DenseNet56 epochs within minutes on a CPU; 360x480 gives CamVid's size.
        overwrite: replace an existing non-empty `out_dir`. Without it such a folder is refused.

    The set is written to a temporary folder next to `out_dir` and renamed into place, so
    `out_dir` is either absent or complete.

    Returns:
        dict: `path`, `seed`, `height`, `width`, `counts` (frames per split),
        `class_pixel_frequency` (fraction of all pixels per class name and "void"), `seconds`.
        The same (without `path` and `seconds`) is stored in `classes.json`.

    Raises:
        FileExistsError: `out_dir` exists, is not empty and `overwrite` is False.
        ValueError: a count or size is out of range.

    Example:

    ```python
    summary = generate("data/scenes", seed=0)
    print(summary["counts"], summary["class_pixel_frequency"]["Road"])
    ```
    """
    counts = {"train": num_train, "val": num_val, "test": num_test}
    for split, count in counts.items():
        if not isinstance(count, (int, np.integer)) or count < 1:
            raise ValueError(f"num_{split} must be a positive int, got num_{split}={count!r}")
    for name, value in (("height", height), ("width", width)):
        if not isinstance(value, (int, np.integer)) or value < 32:
            raise ValueError(f"{name} must be an int >= 32, got {name}={value!r}")
    out_dir = os.path.abspath(out_dir)
    if os.path.exists(out_dir):
        if not os.path.isdir(out_dir):
            raise FileExistsError(f"{out_dir} exists and is not a folder")
        if os.listdir(out_dir) and not overwrite:
            raise FileExistsError(
                f"{out_dir} exists and is not empty; pass overwrite=True to replace it"
            )

    start = time.perf_counter()
    with atomic.atomic_directory(out_dir, overwrite=overwrite) as tmp:
        pixels = np.zeros(NUM_CLASSES + 1, np.int64)
        for split, count in counts.items():
            os.makedirs(os.path.join(tmp, split))
            os.makedirs(os.path.join(tmp, split + "annot"))
            for i in range(count):
                image, label = render_scene((seed, _SPLIT_IDS[split], i), height, width)
                name = f"scene_{i:05d}.png"
                Image.fromarray(image).save(os.path.join(tmp, split, name))
                Image.fromarray(label).save(os.path.join(tmp, split + "annot", name))
                pixels += np.bincount(label.reshape(-1), minlength=NUM_CLASSES + 1)
        names = list(CLASS_NAMES) + ["void"]
        summary = {
            "generator": "tfmodels.data.scenes.generate",
            "seed": seed,
            "height": height,
            "width": width,
            "counts": counts,
            "class_names": list(CLASS_NAMES),
            "void": VOID,
            "class_pixel_frequency": {n: float(p / pixels.sum()) for n, p in zip(names, pixels)},
        }
        with open(os.path.join(tmp, "classes.json"), "w") as f:
            json.dump(summary, f, indent=2)
        with open(os.path.join(tmp, "README.md"), "w") as f:
            f.write(_readme(summary))
    return {**summary, "path": out_dir, "seconds": time.perf_counter() - start}
