"""The workshop app: Mesa's SolaraViz around a map of the town and live charts.

Start it with `marketsim viz [SCENARIO.yaml]` (or `solara run marketsim.viz.app`).
Mesa's SolaraViz provides the sidebar controls (play, step, reset, play and
render intervals) and the model parameters (scenario, seed, side-by-side rival,
and the tactic sliders generated from the scenario schema), which apply when
Reset is pressed, as in every Mesa app. The main area is this module's
`Dashboard`: headline figures, the map(s) with their key, what the tactic is
for, and the live charts.
"""

from __future__ import annotations

import html
import io
import warnings
from typing import Any

import solara
from mesa.visualization import SolaraViz
from mesa.visualization.utils import force_update, update_counter
from solara.components.echarts import EchartsWidget

from marketsim.citations import readable
from marketsim.scenario import Scenario, load_scenario
from marketsim.viz import charts
from marketsim.viz.explain import CAPTIONS, harm_aims
from marketsim.viz.render import (
    LAND_USE_STYLE,
    LAYERS,
    POLICE,
    REGION_STYLE,
    TREATMENT_GREEN,
    VIOLENCE_STYLE,
    draw_map,
)
from marketsim.viz.workshop import (
    NO_RIVAL,
    Workshop,
    global_overrides,
    has_tactic,
    scenario_files,
    slider_key,
    slider_specs,
    start_scenario,
)

# Mesa's play-interval slider runs 1, 11, 21, ... ms: 21 is what it can show.
PLAY_INTERVAL_MS = 21
RENDER_INTERVAL = 5  # steps between redraws while playing (adjustable in the sidebar)

CSS = """
.marketsim-card { padding: 10px 12px; }
.marketsim-caption { font-size: 13px; color: #555; line-height: 1.35; margin-top: 2px; }
.marketsim-legend { font-size: 12.5px; line-height: 1.4; }
.marketsim-legend .row { display: flex; flex-wrap: nowrap; align-items: center; gap: 8px; margin: 2px 0; }
.marketsim-legend .row > span:last-child { flex: 1 1 auto; min-width: 0; }
.v-input__slider .v-input__slot { flex-wrap: wrap; }
.v-input__slider .v-input__slot > .v-label { width: 100%; max-width: 100%; white-space: normal;
  height: auto !important; line-height: 1.3; margin-bottom: 30px; }
.v-input__slider .v-slider__thumb-label-container { display: block !important; }
.v-input__slider .v-slider__thumb-label { width: 26px !important; height: 26px !important;
  font-size: 11px; }
.marketsim-legend h4 { margin: 6px 0 2px 0; font-size: 13px; color: #333; }
.marketsim-swatch { width: 16px; height: 16px; display: inline-block; flex: none; }
.marketsim-map img { display: block; width: 100%; max-height: calc(100vh - 330px);
  object-fit: contain; object-position: left top; image-rendering: pixelated; }
.marketsim-stat { font-size: 15px; }
.marketsim-stat b { font-size: 20px; }
.marketsim-aims li { margin-bottom: 4px; }
/* Mesa's "Information" card repeats the day counter of the headline. */
.v-navigation-drawer__content .v-sheet.d-flex > .v-card:last-child:not(.marketsim-card) { display: none; }
/* A narrower sidebar leaves the maps room on a 1280 px projector. */
.v-navigation-drawer.solara-content-main { width: 320px !important; min-width: 320px !important; }
body:has(nav.v-navigation-drawer--open) main.v-content { padding-left: 320px !important; }
/* SolaraViz's (empty) component grid above the page. */
.solara-autorouter-content > .v-sheet.d-flex > div:not(:has(h2)) { display: none !important; }
.solara-autorouter-content > .v-sheet.d-flex { row-gap: 0 !important; }
/* Above the fold: the map(s), the key and the headline charts. Narrow screens (a 1280 px
   projector) put the key below and the maps and charts side by side; wide ones (1500 px
   and more) show map, key and charts in one row. */
.marketsim-top { display: grid; gap: 10px; align-items: start;
  grid-template-columns: minmax(0, 1fr) minmax(320px, 0.75fr);
  grid-template-areas: "maps first" "key key"; }
.marketsim-top.two { grid-template-columns: minmax(0, 1fr); grid-template-areas: "maps" "first" "key"; }
.marketsim-maps { grid-area: maps; min-width: 0; }
.marketsim-maps .marketsim-card { padding: 6px 4px !important; }
.marketsim-maps .v-card__text, .marketsim-maps .v-card__title { padding: 0 4px !important; }
.marketsim-key { grid-area: key; min-width: 0; }
.marketsim-key .marketsim-legend { columns: 3 220px; }
.marketsim-key .marketsim-legend h4 { break-after: avoid; }
.marketsim-key .marketsim-legend .row { break-inside: avoid; }
.marketsim-first { grid-area: first; min-width: 0; display: grid; gap: 8px; }
.marketsim-top.two .marketsim-first { grid-template-columns: repeat(auto-fit, minmax(300px, 1fr)); }
.marketsim-rest { display: grid; gap: 8px; grid-template-columns: repeat(auto-fill, minmax(380px, 1fr)); }
.marketsim-side { display: grid; gap: 8px; grid-template-columns: 1fr 1fr; }
@media (min-width: 1500px) {
  .marketsim-top { grid-template-columns: minmax(0, 620px) 250px minmax(340px, 1fr);
    grid-template-areas: "maps key first"; }
  .marketsim-top.two { grid-template-columns: minmax(0, 1fr) 230px;
    grid-template-areas: "maps key" "first key"; }
  .marketsim-top.two .marketsim-map img { max-height: calc(100vh - 520px); }
  .marketsim-key .marketsim-legend { columns: auto; }
}
"""

# Solara warns on the first connection over plain http to 127.0.0.1 that its session
# cookie falls back to samesite=lax, which is right for a local app: not for the room.
warnings.filterwarnings("ignore", message="Cookies with samesite=none require https")


# ----------------------------------------------------------------- helpers
def model_params(name: str, seed: int) -> dict[str, Any]:
    """SolaraViz's model parameters: scenario, seed, rival, and the scenario's tactic sliders.

    They apply when Reset is pressed. After a new scenario is built, the sliders
    are regenerated for its tactics. The seed field shows `seed`, the running
    model's, which a new scenario keeps until someone types another.
    """
    files = scenario_files()
    config = load_scenario(files[name], global_overrides())
    params: dict[str, Any] = {
        "scenario_name": {
            "type": "Select",
            "value": name,
            "values": list(files),
            "label": "Scenario (then press Reset)",
        },
        "seed": {
            "type": "InputText",
            "value": str(seed),
            "label": "Seed (same seed: same town, same luck)",
        },
        "rival": {
            "type": "Select",
            "value": NO_RIVAL,
            "values": [NO_RIVAL, *files],
            "label": "Side by side with",
        },
    }
    for spec in slider_specs(config):
        params[slider_key(name, spec.path)] = {
            "type": "SliderInt" if spec.is_int else "SliderFloat",
            "value": spec.value,
            "min": spec.lo,
            "max": spec.hi,
            "step": spec.step,
            "label": spec.label,
        }
    return params


def _png(image) -> bytes:
    buf = io.BytesIO()
    image.save(buf, format="PNG", compress_level=1)
    return buf.getvalue()


def _rgb(colour: tuple[int, int, int]) -> str:
    return "rgb({},{},{})".format(*colour)


def _money(value: float) -> str:
    return f"£{value / 1e6:,.2f}m"


def tactic_types(config: Scenario) -> list[str]:
    """The scenario's tactic types (partnership parts included); routine patrol only
    when nothing else runs."""
    found: list[str] = []

    def walk(entries) -> None:
        for cfg in entries:
            if cfg.type not in found:
                found.append(cfg.type)
            if cfg.type == "partnership":
                walk(cfg.parts)

    walk(config.tactics)
    if has_tactic(config) and "standard_patrol" in found:
        found.remove("standard_patrol")
    return found


# -------------------------------------------------------------- components
@solara.component
def TownMap(side, title: str, layer: str, day: int):
    """One market's map; `day` changes after each step, which redraws it."""
    with solara.Card(classes=["marketsim-card"]):
        solara.HTML(tag="div", unsafe_innerHTML=f"<b>{html.escape(title)}</b>")
        with solara.Div(classes=["marketsim-map"]):
            solara.Image(_png(draw_map(side, layer)), format="png")


@solara.component
def Legend(layer: str):
    rows = []

    def row(swatch: str, text: str, tip: str) -> None:
        rows.append(
            f'<div class="row" title="{html.escape(tip)}">{swatch}<span>{html.escape(text)}</span></div>'
        )

    parts = ['<div class="marketsim-legend">', "<h4>Dealers</h4>"]
    for label, colour in VIOLENCE_STYLE:
        row(
            f'<span class="marketsim-swatch" style="background:{_rgb(colour)};border-radius:50%;border:1px solid #333"></span>',
            label,
            "Colour is the dealer's violence trait, fixed for the run: bands set at the start "
            "(bottom half, middle, top 10%).",
        )
    row(
        '<span class="marketsim-swatch" style="background:#ddd;border-radius:50%;border:1px solid #333"></span>',
        "circle: open street dealing",
        "Sells on the street to passing buyers: visible to residents.",
    )
    row(
        '<span class="marketsim-swatch" style="background:#ddd;border:1px solid #333"></span>',
        "square: closed (phone, delivery, premises)",
        "Sells only to buyers holding the number: less visible, harder to find.",
    )
    parts += rows
    rows.clear()
    parts.append("<h4>People and places</h4>")
    row(
        '<span class="marketsim-swatch" style="background:radial-gradient(#777 30%, transparent 35%)"></span>',
        "grey dots: people who use drugs, at home",
        "One faint dot per active user, near their home cell.",
    )
    row(
        f'<svg class="marketsim-swatch" viewBox="0 0 16 16"><polygon points="8,1 1,15 15,15" fill="{_rgb(POLICE)}"/></svg>',
        "police unit on patrol today",
        "A visible unit at the start of today's beat. Covert officers are not shown.",
    )
    row(
        f'<svg class="marketsim-swatch" viewBox="0 0 16 16"><rect x="1" y="1" width="14" height="14" fill="white" stroke="{_rgb(TREATMENT_GREEN)}" stroke-width="2"/><rect x="6" y="3" width="4" height="10" fill="{_rgb(TREATMENT_GREEN)}"/><rect x="3" y="6" width="10" height="4" fill="{_rgb(TREATMENT_GREEN)}"/></svg>',
        "treatment site",
        "Where users get treatment. Police nearby deter people from attending.",
    )
    for name in ("target", "buffer", "control"):
        text, colour = REGION_STYLE[name]
        style = (
            f"border:2px solid {colour}"
            if name != "control"
            else f"border:2px dashed {colour};opacity:0.7"
        )
        row(
            f'<span class="marketsim-swatch" style="{style}"></span>',
            text,
            "Areas for measuring displacement (Bowers & Johnson 2003).",
        )
    parts += rows
    rows.clear()
    parts.append("<h4>Land use (each square about 100 m)</h4>")
    for _, (label, colour) in LAND_USE_STYLE.items():
        row(
            f'<span class="marketsim-swatch" style="background:{_rgb(colour)};border:1px solid #bbb"></span>',
            label,
            "Land use: harm in housing or near a school counts for more than on an industrial estate.",
        )
    parts += rows
    for spec in LAYERS:
        if spec.key == layer and spec.key != "none":
            gradient = {
                "Reds": "#fff5f0,#a50f15",
                "Oranges": "#fff5eb,#a63603",
                "Purples": "#fcfbfd,#54278f",
                "Blues": "#f7fbff,#08519c",
            }[spec.cmap]
            parts.append(f"<h4>Heat layer: {html.escape(spec.label)}</h4>")
            parts.append(
                f'<div class="row" title="{html.escape(spec.legend)}"><span style="width:90px;height:12px;'
                f'background:linear-gradient(90deg,{gradient})"></span><span>{html.escape(spec.legend)}</span></div>'
            )
    parts.append("</div>")
    solara.HTML(tag="div", unsafe_innerHTML="".join(parts))


@solara.component
def TacticPanel(config: Scenario, title: str = "What the tactic is for"):
    with solara.Card(title, classes=["marketsim-card"]):
        for kind in tactic_types(config):
            aims = harm_aims(kind)
            if not (aims.cuts or aims.risks):
                continue
            cuts = "".join(f"<li>{html.escape(t)}</li>" for t in aims.cuts)
            risks = "".join(f"<li>{html.escape(t)}</li>" for t in aims.risks)
            solara.HTML(
                tag="div",
                unsafe_innerHTML=(
                    f'<div class="marketsim-aims"><h4 style="margin:6px 0">{html.escape(kind)}</h4>'
                    f'<div style="color:#1b7837;font-weight:600">Meant to cut</div><ul>{cuts}</ul>'
                    f'<div style="color:#b2182b;font-weight:600">Risks raising</div><ul>{risks}</ul>'
                    f'<div class="marketsim-caption">From {html.escape(aims.source)}</div></div>'
                ),
            )
        specs = slider_specs(config)
        if specs:
            items = "".join(
                f"<li><b>{html.escape(s.label)}</b>: {html.escape(s.doc)}. Source: "
                f"{html.escape(readable(s.source))}. Scenario value {s.value}.</li>"
                for s in specs
            )
            with solara.Details("What the sliders mean"):
                # HTML, not Markdown: solara's Markdown fetches KaTeX from a CDN (offline here).
                solara.HTML(tag="div", unsafe_innerHTML=f'<ul class="marketsim-aims">{items}</ul>')


@solara.component
def Chart(ws: Workshop, key: str, day: int, height: int = 300):
    """One chart and its caption.

    The ECharts widget is made once and given each day's option directly, instead
    of through an element property: reacton walks every property value on each
    render (an option holds thousands of numbers; redraws were 3-4x slower), and it
    re-applies an element's properties whenever it updates the widget.
    """
    build = charts.difference if key == "difference" else charts.CHARTS[key]
    figure = solara.use_memo(
        lambda: EchartsWidget(
            option=build(ws),
            attributes={"style": f"height: {height}px; width: 100%;"},
            responsive=True,
        ),
        [],
    )
    drawn = solara.use_ref((id(ws), day))
    if drawn.current != (id(ws), day):
        drawn.current = (id(ws), day)
        figure.option = build(ws)
    caption = solara.v.Html(tag="div", class_="marketsim-caption", children=[CAPTIONS[key]])
    return solara.v.Card(
        class_=f"marketsim-card marketsim-chart-{key}",
        style_="width: 100%",
        children=[figure, caption],  # a widget made here, beside an element
    )


@solara.component
def Headline(ws: Workshop, day: int):
    steps = ws.config.steps
    main = ws.main.cumulative_net_harm()
    now = float(main[-1]) if main.size else 0.0
    parts = [
        f'<span class="marketsim-stat">Day <b data-testid="day">{ws.day}</b> of {steps}</span>',
        f'<span class="marketsim-stat">net harm so far <b data-testid="net-harm">{_money(now)}</b></span>',
    ]
    if ws.baseline is not None and main.size:
        base = float(ws.baseline.cumulative_net_harm()[-1])
        change = (now - base) / base if base else 0.0
        if abs(change) < 0.0005:
            text, colour = "the same as with no tactic", "#555"
        else:
            word = "more" if change > 0 else "less"
            text = f"{abs(change):.1%} {word} than with no tactic ({_money(base)})"
            colour = "#b2182b" if change > 0 else "#1b7837"
        parts.append(f'<span class="marketsim-stat" style="color:{colour}">{text}</span>')
    if ws.rival is not None:
        rival = ws.rival.cumulative_net_harm()
        if rival.size:
            parts.append(
                f'<span class="marketsim-stat">that ({html.escape(ws.rival.scenario.name)}): '
                f"<b>{_money(float(rival[-1]))}</b></span>"
            )
    start = ws.tactic_start()
    if start is not None:
        parts.append(
            f'<span class="marketsim-stat">tactic {"started" if ws.day >= start else "starts"} on day {start}</span>'
        )
    parts.append(f'<span class="marketsim-stat">seed {ws.seed_value}</span>')
    solara.HTML(
        tag="div",
        unsafe_innerHTML=" &nbsp;·&nbsp; ".join(parts),
        style={"display": "block", "margin": "4px 0 8px 0"},
    )


@solara.component
def RunTo(ws: Workshop, day: int):
    """Stop at a day: run to a typed day, or to just before the tactic starts or after it ends.

    At full speed the app covers a 60-day crackdown in about two seconds; these
    buttons let a facilitator stop where the room should look.
    """
    target = solara.use_reactive(0)
    marks = [("just before the tactic", ws.tactic_start(), -1), ("its end", ws.tactic_end(), 0)]

    def go(to: int) -> None:
        ws.run_to(to)
        force_update()

    with solara.Row(gap="6px", style={"align-items": "center", "flex-wrap": "wrap"}):
        solara.InputInt("Run to day", value=target, style={"max-width": "110px"})
        solara.Button("Go", on_click=lambda: go(target.value), dense=True, outlined=True)
        for label, mark, offset in marks:
            if mark is not None and mark + offset > day:
                solara.Button(
                    f"to {label} (day {mark + offset})",
                    on_click=lambda m=mark + offset: go(m),
                    dense=True,
                    outlined=True,
                )


@solara.component
def Downloads(ws: Workshop, layer: str, day: int):
    """What is on screen, to keep: the days run so far as CSV, and the map as PNG."""
    stem = f"{ws.config.name}_seed{ws.seed_value}_day{day}"
    with solara.Row(gap="6px", style={"align-items": "center", "flex-wrap": "wrap"}):
        solara.FileDownload(
            lambda: ws.timeseries().to_csv(index=False).encode(),
            filename=f"{stem}.csv",
            label="Download data (CSV)",
        )
        solara.FileDownload(
            lambda: _png(draw_map(ws.main, layer)),
            filename=f"{stem}_{layer}.png",
            label="Download map (PNG)",
        )


@solara.component
def Dashboard(model: solara.Reactive[Workshop]):
    """The main area: headline, map(s) with key and headline charts, then the other charts."""
    update_counter.get()  # redraw whenever SolaraViz steps the model
    ws = model.value
    layer_label = solara.use_reactive(LAYERS[0].label)
    layer = next(spec.key for spec in LAYERS if spec.label == layer_label.value)
    two = ws.rival is not None
    first = (
        ["difference", "net_harm", "arrests_vs_harm"] if two else ["net_harm", "arrests_vs_harm"]
    )

    with solara.Column(gap="8px", style={"padding": "4px 12px", "width": "100%"}):
        solara.HTML(
            tag="div",
            unsafe_innerHTML=(
                f'<h2 style="margin:0">{html.escape(ws.config.name)}</h2>'
                f'<div class="marketsim-caption">{html.escape(readable(ws.config.description))}</div>'
            ),
        )
        Headline(ws, ws.day)
        with solara.Row(gap="16px", style={"align-items": "center", "flex-wrap": "wrap"}):
            solara.Text("Map layer:")
            solara.ToggleButtonsSingle(
                value=layer_label, values=[spec.label for spec in LAYERS], dense=True
            )
            RunTo(ws, ws.day)
        with solara.Div(classes=["marketsim-top", "two" if two else "one"]):
            with solara.Div(classes=["marketsim-maps"]):
                if not two:
                    TownMap(ws.main, f"{ws.config.name}, day {ws.day}", layer, ws.day)
                else:
                    with solara.Div(classes=["marketsim-side"]):
                        for side, word in ((ws.main, "This"), (ws.rival, "That")):
                            TownMap(
                                side, f"{word}: {side.scenario.name}, day {ws.day}", layer, ws.day
                            )
            with (
                solara.Div(classes=["marketsim-key"]),
                solara.Card("Key", classes=["marketsim-card"]),
            ):
                Legend(layer)
            with solara.Div(classes=["marketsim-first"]):
                for key in first:
                    Chart(ws, key, ws.day, height=280)
        with solara.Div(classes=["marketsim-rest"]):
            for key in charts.CHARTS:
                if key not in first:
                    Chart(ws, key, ws.day)
        if two:
            with solara.Div(classes=["marketsim-side"]):
                for side, word in ((ws.main, "This"), (ws.rival, "That")):
                    TacticPanel(side.scenario, f"{word}: what {side.scenario.name} is for")
        else:
            TacticPanel(ws.config)
        Downloads(ws, layer, ws.day)


@solara.component
def Page():
    first = solara.use_memo(lambda: Workshop(scenario_name=start_scenario()), [])
    model = solara.use_reactive(first)
    name = model.value.name
    seed = model.value.seed_value
    params = solara.use_memo(lambda: model_params(name, seed), [name, seed])

    solara.Style(CSS)
    solara.Title("marketsim workshop")
    with solara.Sidebar(), solara.Card("How to use", classes=["marketsim-card"]):
        solara.HTML(
            tag="div",
            unsafe_innerHTML=(
                "<b>Step</b> moves on by the render interval (days); <b>▶</b> plays. "
                "Pick a scenario, a rival for side-by-side, a seed or slider values under "
                "<i>Model Parameters</i>, then press <b>Reset</b> to rebuild the town with them."
            ),
            classes=["marketsim-caption"],
        )
    SolaraViz(
        model,
        components=[],
        model_params=params,
        name="marketsim: a drug market and the harm it does",
        play_interval=PLAY_INTERVAL_MS,
        render_interval=RENDER_INTERVAL,
    )
    Dashboard(model)
