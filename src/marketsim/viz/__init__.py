"""The workshop app (issue 5): `marketsim viz` serves it with Solara.

Modules: `workshop` (the Mesa model the app drives), `render` (the map),
`charts` (ECharts options), `explain` (plain-language text), `app` (the Solara
page). Only `app` imports solara, so the rest stays fast to import and test.
"""
