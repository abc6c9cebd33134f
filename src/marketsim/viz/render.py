"""Drawing the town map as a PIL image.

The map is built as a numpy raster (land use, heat layer, users) with shapes
drawn on top by PIL: a few milliseconds for the default 50x50 town, so the map
never limits how fast the app can step.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from matplotlib import colormaps
from PIL import Image, ImageDraw

from marketsim.agents import user as U
from marketsim.fields import box_sum
from marketsim.town import Town
from marketsim.viz.workshop import Side

CELL_PX = 14  # pixels per ~100 m cell

# Muted land use, so that agents and heat stand out (RGB 0-255).
LAND_USE_STYLE = {
    Town.RESIDENTIAL: ("residential", (236, 231, 222)),
    Town.CENTRE: ("town centre", (218, 212, 232)),
    Town.INDUSTRIAL: ("industrial estate", (205, 205, 205)),
    Town.PARK: ("park", (214, 233, 207)),
    Town.SCHOOL: ("school", (244, 233, 187)),
    Town.TREATMENT: ("treatment site", (205, 232, 229)),
}
# Dealers by violence band (their trait: the same dealer keeps its colour all run).
VIOLENCE_STYLE = (
    ("low violence (bottom half)", (250, 204, 92)),
    ("medium violence", (235, 120, 40)),
    ("high violence (top 10%)", (150, 20, 30)),
)
POLICE = (30, 80, 200)
TREATMENT_GREEN = (20, 140, 90)
REGION_STYLE = {
    "target": ("target: where the tactic acts", "#c2185b"),
    "buffer": ("buffer: the ring around the target", "#e67e22"),
    "control": ("control: the rest of town", "#4e7d8c"),
}


@dataclass(frozen=True)
class Layer:
    key: str
    label: str
    legend: str  # what the colour means, for the legend
    cmap: str


LAYERS = (
    Layer("none", "Land use", "", ""),
    Layer(
        "harm",
        "Harm",
        "recent weighted harm per cell, from the town's median (blank) to its worst cells",
        "Reds",
    ),
    Layer(
        "visible_dealing",
        "Visible dealing",
        "residents living next to open street dealing today",
        "Oranges",
    ),
    Layer("fear", "Fear", "share of residents afraid (0 to 100%)", "Purples"),
    Layer(
        "police",
        "Police presence",
        "recent visible police presence (residual deterrence, 0 to 1)",
        "Blues",
    ),
)
LAYER_BY_KEY = {layer.key: layer for layer in LAYERS}


# ---------------------------------------------------------------------- map
def heat_values(side: Side, key: str) -> np.ndarray:
    """A (width, height) array in 0-1 for one heat layer."""
    model = side.model
    town = model.town
    shape = (town.width, town.height)
    if key == "harm":
        # Log scale from the town's median cell (blank) to its top 0.5% (full colour):
        # harm happens everywhere users live, so show where it stands out.
        h = np.log1p(model.harm_heat.reshape(shape))
        lo, hi = np.percentile(h, [50, 99.5])
        return np.clip((h - lo) / max(hi - lo, 1e-9), 0, 1)
    if key == "visible_dealing":
        d = model.dealers
        act = d.active()
        open_here = np.bincount(d.cell[act[d.open[act]]], minlength=town.n_cells).astype(float)
        exposed = box_sum(open_here.reshape(shape), 1) > 0
        res = town.residents
        return np.clip(exposed * res / max(float(res.max()), 1.0), 0, 1)
    if key == "fear":
        return np.clip(town.layer("fear"), 0, 1)
    if key == "police":
        return np.clip(town.layer("deterrence"), 0, 1)
    return np.zeros(shape)


def _to_image(grid: np.ndarray) -> np.ndarray:
    """(width, height, 3) per cell -> (H*px, W*px, 3) pixels with y pointing up."""
    img = np.transpose(grid, (1, 0, 2))[::-1]
    return np.repeat(np.repeat(img, CELL_PX, axis=0), CELL_PX, axis=1)


def _pixel(town: Town, cells: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Top-left pixel of each flat cell index."""
    x = town.cell_x[cells] * CELL_PX
    y = (town.height - 1 - town.cell_y[cells]) * CELL_PX
    return x, y


def draw_map(side: Side, layer: str = "none") -> Image.Image:
    """The town: land use, an optional heat layer, users, dealers, police, sites, regions."""
    model = side.model
    town = model.town
    palette = np.array([LAND_USE_STYLE[i][1] for i in range(len(LAND_USE_STYLE))], float)
    grid = palette[town.land_use]
    if layer != "none":
        v = heat_values(side, layer)[..., None]
        rgb = colormaps[LAYER_BY_KEY[layer].cmap](np.full(v.shape[:2], 0.85))[..., :3] * 255
        # Fade from land use to the layer's colour as the value rises.
        grid = grid * (1 - 0.8 * v) + rgb * 0.8 * v
    img = _to_image(grid)

    # Users, faintly: a small grey dot per active user near their home.
    u = model.users
    rows = np.flatnonzero(u.view("state") == U.ACTIVE)
    ux, uy = _pixel(town, u.home[rows])
    jitter = (rows * 2654435761) % (2**32)  # a fixed scatter per user (Knuth's hash)
    ux = ux + 1 + jitter % (CELL_PX - 3)
    uy = uy + 1 + (jitter >> 8) % (CELL_PX - 3)
    for dx in (0, 1):
        for dy in (0, 1):
            img[uy + dy, ux + dx] = img[uy + dy, ux + dx] * 0.65 + 90 * 0.35

    im = Image.fromarray(img.astype(np.uint8))
    draw = ImageDraw.Draw(im)
    _draw_regions(draw, town)
    _draw_treatment(draw, side)
    _draw_dealers(draw, side)
    _draw_police(draw, model)
    return im


def _draw_regions(draw: ImageDraw.ImageDraw, town: Town) -> None:
    """Outline the target and the buffer's outer edge (the control is what lies beyond)."""
    masks = town.region_masks
    shape = (town.width, town.height)
    outlines = (
        ("target", masks["target"].reshape(shape)),
        ("buffer", (masks["target"] | masks["buffer"]).reshape(shape)),
    )
    for name, mask in outlines:
        colour = REGION_STYLE[name][1]
        for x, y in np.argwhere(mask):
            px, py = x * CELL_PX, (town.height - 1 - y) * CELL_PX
            if x == 0 or not mask[x - 1, y]:
                draw.line([(px, py), (px, py + CELL_PX)], fill=colour, width=2)
            if x == town.width - 1 or not mask[x + 1, y]:
                draw.line([(px + CELL_PX, py), (px + CELL_PX, py + CELL_PX)], fill=colour, width=2)
            if y == town.height - 1 or not mask[x, y + 1]:
                draw.line([(px, py), (px + CELL_PX, py)], fill=colour, width=2)
            if y == 0 or not mask[x, y - 1]:
                draw.line([(px, py + CELL_PX), (px + CELL_PX, py + CELL_PX)], fill=colour, width=2)


def _draw_treatment(draw: ImageDraw.ImageDraw, side: Side) -> None:
    town = side.model.town
    for service in side.model.services:
        px, py = _pixel(town, np.array([service.cell_index]))
        x0, y0 = int(px[0]) - 2, int(py[0]) - 2
        s = CELL_PX + 4
        draw.rectangle([x0, y0, x0 + s, y0 + s], fill="white", outline=TREATMENT_GREEN, width=2)
        c, arm = s // 2, s // 2 - 4
        draw.rectangle([x0 + c - 2, y0 + c - arm, x0 + c + 2, y0 + c + arm], fill=TREATMENT_GREEN)
        draw.rectangle([x0 + c - arm, y0 + c - 2, x0 + c + arm, y0 + c + 2], fill=TREATMENT_GREEN)


def _draw_dealers(draw: ImageDraw.ImageDraw, side: Side) -> None:
    """Open dealers as circles, closed dealers as squares, coloured by violence band."""
    d = side.model.dealers
    rows = d.active()
    if rows.size == 0:
        return
    px, py = _pixel(side.model.town, d.cell[rows])
    px = px + 4 + (rows * 5) % (CELL_PX - 8)
    py = py + 4 + (rows * 3) % (CELL_PX - 8)
    band = np.searchsorted(side.violence_cuts, d.violence[rows])
    is_open = d.open[rows]
    r = 4
    for x, y, b, o in zip(px.tolist(), py.tolist(), band.tolist(), is_open.tolist(), strict=True):
        colour = VIOLENCE_STYLE[b][1]
        box = [x - r, y - r, x + r, y + r]
        if o:
            draw.ellipse(box, fill=colour, outline=(40, 40, 40))
        else:
            draw.rectangle(box, fill=colour, outline=(40, 40, 40))


def _draw_police(draw: ImageDraw.ImageDraw, model) -> None:
    """Each unit on the street today, as a blue triangle at the start of its beat."""
    police = model.police
    town = model.town
    for i in range(police.n_units):
        if police.hours_today[i] <= 0 or not police.assigned[i]:
            continue
        order = police.unit_order[i]
        if order is not None and not order.visible:
            continue  # covert officers: residents do not see them
        cell = police.unit_cell[i]
        x, y = town.cell_x[cell], town.cell_y[cell]
        cx = x * CELL_PX + CELL_PX // 2
        cy = (town.height - 1 - y) * CELL_PX + CELL_PX // 2
        s = 6
        draw.polygon(
            [(cx, cy - s), (cx - s, cy + s - 1), (cx + s, cy + s - 1)],
            fill=POLICE,
            outline="white",
        )
