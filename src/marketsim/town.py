"""The town: a Mesa grid with land use, residents, guardianship and cell layers.

Cell layers are Mesa PropertyLayers (numpy arrays of shape (width, height)), so
Mesa's visualisation and `cell.<layer>` accessors see them, while the model
updates them as whole arrays. Flat cell index = x * height + y.
"""

from __future__ import annotations

import random
import warnings
from pathlib import Path

import numpy as np
from mesa.discrete_space import OrthogonalMooreGrid

from marketsim.areas import WatchArea
from marketsim.columns import REGIONS
from marketsim.fields import box_sum
from marketsim.scenario import (
    LAND_USES,
    MAX_TOWN_SIDE,
    AreaSpec,
    RegionConfig,
    ScenarioError,
    TownConfig,
)

LAYERS = (
    "land_use",
    "residents",
    "guardianship",
    "police_presence",  # officer-hours today
    "deterrence",  # residual deterrence memory (Sherman 1990; Koper 1995)
    "reputation",  # how well known a place is for buying
    "litter",
    "fear",  # share of residents afraid, 0-1
    "unmet_demand",  # purchases wanted but not made, smoothed
    "void",  # recent arrests: an opening rivals may fight over
    "violence",  # recent violent incidents, fading: what buyers, dealers and police know of
)


class Town:
    """Land use, residents, guardianship, the cell layers and the regions."""

    RESIDENTIAL, CENTRE, INDUSTRIAL, PARK, SCHOOL, TREATMENT = range(6)
    LAND_USES = LAND_USES

    def __init__(
        self,
        land_use: np.ndarray,
        config: TownConfig,
        rng: np.random.Generator,
        grid_random: random.Random | None = None,
    ):
        self.width, self.height = land_use.shape
        self.n_cells = land_use.size
        self.grid = OrthogonalMooreGrid((self.width, self.height), torus=False, random=grid_random)
        self.layers = {
            name: self.grid.create_property_layer(name, 0.0, dtype=float) for name in LAYERS
        }
        self.land_use_layer = self.layers["land_use"]
        self.land_use_layer.data[:] = land_use
        self.land_use = land_use.astype(np.int64)
        residents = np.array(config.residents_per_cell.as_list())[self.land_use]
        self.residents = rng.gamma(8.0, residents / 8.0) if residents.any() else residents
        self.residents = np.round(self.residents)
        self.layers["residents"].data[:] = self.residents
        base_guard = np.array(config.guardianship.as_list())[self.land_use]
        self.guardianship = np.clip(base_guard + rng.normal(0, 0.05, land_use.shape), 0, 1)
        self.layers["guardianship"].data[:] = self.guardianship
        xs, ys = np.meshgrid(np.arange(self.width), np.arange(self.height), indexing="ij")
        self.cell_x = xs.ravel()
        self.cell_y = ys.ravel()
        self.treatment_cells = np.flatnonzero(self.land_use.ravel() == self.TREATMENT)
        self.is_centre = self.land_use.ravel() == self.CENTRE  # flat mask, fixed for the run
        self._cells = [
            self.grid[(int(x), int(y))] for x, y in zip(self.cell_x, self.cell_y, strict=True)
        ]
        self.region_masks: dict[str, np.ndarray] = {}
        # Nearest treatment site to each cell (users go to their nearest).
        tx, ty = self.cell_x[self.treatment_cells], self.cell_y[self.treatment_cells]
        d2 = (self.cell_x[:, None] - tx[None, :]) ** 2 + (self.cell_y[:, None] - ty[None, :]) ** 2
        self.nearest_site = (
            d2.argmin(axis=1) if self.treatment_cells.size else np.zeros(self.n_cells, int)
        )

    # ----------------------------------------------------------------- helpers
    def layer(self, name: str) -> np.ndarray:
        """The live array behind a property layer (edit it in place)."""
        return self.layers[name].data

    def cell(self, flat: int):
        return self._cells[flat]

    def flat(self, x, y):
        return np.asarray(x) * self.height + np.asarray(y)

    def raise_guardianship(self, cells: np.ndarray, amount: float) -> None:
        """Durably raise guardianship on cells (CCTV, lighting, place managers), capped at 1."""
        g = self.guardianship.reshape(-1)
        g[cells] = np.minimum(1.0, g[cells] + amount)
        self.layers["guardianship"].data[:] = self.guardianship

    # ----------------------------------------------------------------- regions
    @property
    def _inside(self) -> str:
        return f"x 0..{self.width - 1}, y 0..{self.height - 1}"

    def area_mask(self, spec: AreaSpec, field: str) -> np.ndarray:
        """Boolean (width, height) mask of an area; `field` names it in errors."""
        mask = np.zeros((self.width, self.height), dtype=bool)
        if spec.cells is not None:
            for x, y in spec.cells:
                if not (0 <= x < self.width and 0 <= y < self.height):
                    raise ScenarioError(
                        f"{field}.cells: bad value {[x, y]}: outside the {self.width}x"
                        f"{self.height} town (allowed: {self._inside})"
                    )
                mask[x, y] = True
        else:
            cx, cy = spec.centre
            if not (0 <= cx < self.width and 0 <= cy < self.height):
                raise ScenarioError(
                    f"{field}.centre: bad value {[cx, cy]}: outside the {self.width}x"
                    f"{self.height} town (allowed: {self._inside})"
                )
            d2 = (self.cell_x - cx) ** 2 + (self.cell_y - cy) ** 2
            mask = (d2 <= spec.radius**2).reshape(self.width, self.height)
        return mask

    def watch_mask(self, spec: WatchArea, field: str) -> np.ndarray:
        """Flat mask of a watched area, or of the ring around it when `spec.ring` is set."""
        mask = self.area_mask(spec, field)
        if spec.ring:
            mask = (box_sum(mask.astype(float), spec.ring) > 0) & ~mask
        return mask.ravel()

    def set_regions(self, config: RegionConfig) -> None:
        target = self.area_mask(config.target, "regions.target")
        grown = box_sum(target.astype(float), config.buffer_width) > 0
        buffer = grown & ~target
        if config.control == "rest":
            control = ~grown
        else:
            control = self.area_mask(config.control, "regions.control") & ~grown
        if not control.any():
            shown = config.control
            if not isinstance(shown, str):
                shown = shown.model_dump(mode="json", exclude_none=True)
            raise ScenarioError(
                f"regions.control: bad value {shown!r}: no cells left outside the target and "
                f"its {config.buffer_width}-cell buffer (allowed: a smaller regions.target or "
                "regions.buffer_width, or a larger town)"
            )
        self.region_masks = {
            "all": np.ones(self.n_cells, dtype=bool),
            "target": target.ravel(),
            "buffer": buffer.ravel(),
            "control": control.ravel(),
        }
        # (n_cells, 4) indicator: region sums of any per-cell array are one matmul.
        self.region_matrix = np.stack([self.region_masks[r] for r in REGIONS], axis=1).astype(float)


# ----------------------------------------------------------------- generation
def generate_land_use(config: TownConfig, rng: np.random.Generator) -> np.ndarray:
    """A seeded procedural town: centre, housing, an industrial estate, a park,
    two schools and one or two treatment sites."""
    w, h = config.width, config.height
    lu = np.full((w, h), Town.RESIDENTIAL, dtype=np.int64)
    xs, ys = np.meshgrid(np.arange(w), np.arange(h), indexing="ij")
    cx = w // 2 + int(rng.integers(-2, 3))
    cy = h // 2 + int(rng.integers(-2, 3))
    rc = max(2, round(min(w, h) * 0.1))
    lu[(xs - cx) ** 2 + (ys - cy) ** 2 <= rc**2] = Town.CENTRE
    # Industrial estate on one edge, away from the centre.
    iw, ih = max(3, w // 5), max(3, h // 6)
    edge = int(rng.integers(4))
    if edge == 0:
        x0, y0 = int(rng.integers(0, w - iw + 1)), 0
    elif edge == 1:
        x0, y0 = int(rng.integers(0, w - iw + 1)), h - ih
    elif edge == 2:
        x0, y0 = 0, int(rng.integers(0, h - ih + 1))
    else:
        x0, y0 = w - iw, int(rng.integers(0, h - ih + 1))
    block = lu[x0 : x0 + iw, y0 : y0 + ih]
    block[block == Town.RESIDENTIAL] = Town.INDUSTRIAL
    # A park in the housing.
    rp = max(2, round(min(w, h) * 0.07))
    px, py = _free_spot(lu, rng, rp + 1)
    park = ((xs - px) ** 2 + (ys - py) ** 2 <= rp**2) & (lu == Town.RESIDENTIAL)
    lu[park] = Town.PARK
    # Two schools (2x2 blocks) and the treatment sites.
    for _ in range(2):
        sx, sy = _free_spot(lu, rng, 2, block=2)
        lu[sx : sx + 2, sy : sy + 2] = Town.SCHOOL
    # First site on the edge of the centre (where services cluster), second in housing.
    ring = (np.abs(np.sqrt((xs - cx) ** 2 + (ys - cy) ** 2) - (rc + 1)) < 0.75) & (
        lu == Town.RESIDENTIAL
    )
    cand = np.flatnonzero(ring.ravel())
    site = (
        int(rng.choice(cand))
        if cand.size
        else int(np.flatnonzero(lu.ravel() == Town.RESIDENTIAL)[0])
    )
    lu.ravel()[site] = Town.TREATMENT
    if config.treatment_sites >= 2:
        sx, sy = _free_spot(lu, rng, 1)
        lu[sx, sy] = Town.TREATMENT
    return lu


def _free_spot(
    lu: np.ndarray, rng: np.random.Generator, margin: int, block: int = 1
) -> tuple[int, int]:
    """The corner of a residential `block` x `block` square, preferably `margin`
    clear of the edge and of other land; in a small town, any all-residential square."""
    w, h = lu.shape
    other = (lu != Town.RESIDENTIAL).astype(float)
    # fits[x, y]: the block with corner (x, y) lies inside the town and is all residential
    fits = np.zeros((w, h), dtype=bool)
    inner = other
    corner_sum = np.zeros((w - block + 1, h - block + 1))
    for dx in range(block):
        for dy in range(block):
            corner_sum += inner[dx : w - block + 1 + dx, dy : h - block + 1 + dy]
    fits[: w - block + 1, : h - block + 1] = corner_sum == 0
    clear = fits & (box_sum(other, margin) == 0)
    clear[:margin, :] = clear[max(0, w - margin - block + 1) :, :] = False
    clear[:, :margin] = clear[:, max(0, h - margin - block + 1) :] = False
    for cand_mask in (clear, fits, lu == Town.RESIDENTIAL):
        cand = np.flatnonzero(cand_mask.ravel())
        if cand.size:
            break
    else:
        raise ScenarioError(
            "town: no residential land left to place parks, schools or treatment sites"
        )
    pick = int(rng.choice(cand))
    return pick // h, pick % h


# A raster town is held to the largest procedural town (MAX_TOWN_SIDE): a 2,000 x 2,000
# raster (8 MB of CSV) took minutes to build, so `validate` and `run` seemed to hang. A CSV
# of the largest town is well under a megabyte; the byte bound stops a huge file before it
# is parsed.
MAX_RASTER_BYTES = 16_000_000


def load_raster(path: str | Path) -> np.ndarray:
    """Land-use codes from a CSV (rows are y, columns x) or a greyscale/palette PNG.

    Codes: 0 residential, 1 centre, 2 industrial, 3 park, 4 school, 5 treatment.
    """
    path = Path(path)
    if not path.exists():
        raise ScenarioError(f"town.raster: bad value {str(path)!r}: file not found")
    suffix = path.suffix.lower()
    try:
        if suffix == ".csv":
            size = path.stat().st_size
            if size > MAX_RASTER_BYTES:
                raise ScenarioError(
                    f"{path}: town.raster: bad value {size:,} bytes: too large for a town of "
                    f"at most {MAX_TOWN_SIDE}x{MAX_TOWN_SIDE} cells (allowed: at most "
                    f"{MAX_RASTER_BYTES:,} bytes)"
                )
            with warnings.catch_warnings():  # an empty file: said below, not as a warning
                warnings.simplefilter("ignore", UserWarning)
                grid = np.loadtxt(path, delimiter=",", dtype=float, ndmin=2)
        elif suffix == ".png":
            from PIL import Image

            with Image.open(path) as img:
                if max(img.size) > MAX_TOWN_SIDE:  # before decoding: a PNG may be a bomb
                    raise ScenarioError(
                        f"{path}: town.raster: bad value size {img.size[0]}x{img.size[1]} "
                        f"pixels: allowed at most {MAX_TOWN_SIDE}x{MAX_TOWN_SIDE} cells"
                    )
                if img.mode not in ("L", "P", "I", "I;16"):
                    raise ScenarioError(
                        f"{path}: town.raster: bad value mode {img.mode!r}: use a greyscale or "
                        "palette PNG whose pixel values are land-use codes 0-5"
                    )
                grid = np.asarray(img, dtype=float)
        else:
            raise ScenarioError(
                f"town.raster: bad value {str(path)!r}: allowed: a .csv or .png file"
            )
    except ScenarioError:
        raise
    except (OSError, ValueError) as exc:  # not UTF-8, a folder, a ragged CSV, a broken PNG
        why = getattr(exc, "strerror", None) or exc  # an OSError's own text repeats the path
        raise ScenarioError(
            f"{path}: town.raster: cannot read: {why} (allowed: a CSV of land-use codes 0-5 "
            "(UTF-8 text) or a greyscale/palette PNG file)"
        ) from None
    if grid.ndim != 2 or min(grid.shape) < 5:
        raise ScenarioError(
            f"{path}: town.raster: bad value shape {grid.shape}: need at least 5x5 cells"
        )
    if max(grid.shape) > MAX_TOWN_SIDE:
        raise ScenarioError(
            f"{path}: town.raster: bad value shape {grid.shape}: allowed at most "
            f"{MAX_TOWN_SIDE}x{MAX_TOWN_SIDE} cells"
        )
    bad = ~np.isin(grid, np.arange(len(LAND_USES)))
    if bad.any():
        row, col = np.argwhere(bad)[0]
        raise ScenarioError(
            f"{path}: town.raster: bad value {grid[row, col]:g} at row {row}, column {col}: "
            f"allowed codes 0-5 ({', '.join(f'{i} {n}' for i, n in enumerate(LAND_USES))})"
        )
    if not (grid == Town.TREATMENT).any():
        raise ScenarioError(f"{path}: town.raster: no treatment site (code 5); add at least one")
    if not (grid == Town.RESIDENTIAL).any():
        raise ScenarioError(
            f"{path}: town.raster: no residential cells (code 0): nowhere for users to live"
        )
    # Files are written row by row from the top; the model indexes [x, y] with y up.
    return grid.T[:, ::-1].astype(np.int64)
