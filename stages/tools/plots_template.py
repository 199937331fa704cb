"""`plots-template`: the HTML page `dvc plots show` fills, with Vega's libraries inside it.

    python -m stages plots-template        # run by the set-up (make install)

DVC's own page loads Vega, Vega-Lite and Vega-Embed from a CDN, so that offline (as on
clusters) it shows nothing. This page carries them, from the vl-convert package installed with
the project, and `.dvc/config` points `plots.html_template` at it (.dvc/plots-template.html,
not in git: the set-up writes it).
"""

from __future__ import annotations

import logging
from pathlib import Path

import typer

from stages.command import run_main

log = logging.getLogger("plots")
TEMPLATE = Path(".dvc/plots-template.html")
PAGE = """<!DOCTYPE html>
<html>
<head>
    <meta charset="utf-8">
    {{refresh_tag}}
    <title>DVC Plot</title>
    <script type="text/javascript">
{bundle}
    </script>
    <style>
        table {{ border-spacing: 15px; }}
    </style>
</head>
<body>
    {{plot_divs}}
</body>
</html>
"""


def main(out: Path = typer.Option(TEMPLATE, help="Where to write the page.")) -> None:
    """Write the offline page for `dvc plots show`."""
    import vl_convert

    from pipeline.atomic import write_text

    # The bundle puts vegaEmbed, vegaLite and vega on `window`, as DVC's plot divs expect.
    write_text(out, PAGE.format(bundle=vl_convert.javascript_bundle()))
    log.info("wrote %s (Vega %s, Vega-Embed %s)", out, vl_convert.get_vega_version(), vl_convert.get_vega_embed_version())


if __name__ == "__main__":
    run_main(main)
