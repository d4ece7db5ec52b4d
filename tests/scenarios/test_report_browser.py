"""The run's HTML report in a real headless browser (Debian's `chromium`, driven directly): the
page loads without errors, every chart renders (an image with a natural width), and a screenshot
is kept as a test artifact (in $CLAIMSIM_ARTIFACTS, default test-artifacts/ at the repository
root).

Skipped with a message where chromium is missing; required (a failure) when CI=true or
CLAIMSIM_REQUIRE_BROWSER=1. scripts/test.sh installs it with apt-get where it can.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from claimsim.cli import main

ARTIFACTS = Path(os.environ.get("CLAIMSIM_ARTIFACTS",
                                Path(__file__).resolve().parents[2] / "test-artifacts"))
HOW_TO_INSTALL = ("no chromium: `apt-get install -y chromium` (Debian) to run the browser test of"
                  " the HTML report")

# Injected into a copy of the page (the report itself has no scripts): after load, record every
# image's natural width and any error event (a script error, or a resource that failed to load).
_PROBE = """<script>
var probeErrors = [];
window.addEventListener('error', function (e) {
  probeErrors.push((e.target && e.target.tagName) || e.message || 'error');
}, true);
window.addEventListener('load', function () {
  var widths = Array.prototype.map.call(document.images, function (i) { return i.naturalWidth; });
  document.body.setAttribute('data-probe', 'loaded images=' + widths.join(',') +
                             ' errors=' + probeErrors.length + ':' + probeErrors.join(','));
});
</script>"""


def _chromium() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        if os.environ.get("CI") == "true" or os.environ.get("CLAIMSIM_REQUIRE_BROWSER") == "1":
            pytest.fail("CI=true or CLAIMSIM_REQUIRE_BROWSER=1 but chromium is not installed")
        pytest.skip(HOW_TO_INSTALL)
    return path


def _headless(browser: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [browser, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
         "--no-first-run", "--disable-extensions", "--virtual-time-budget=10000", *args],
        capture_output=True, text=True, timeout=180, check=False)


@pytest.mark.slow
def test_the_run_report_loads_and_every_chart_renders_in_chromium(tmp_path):
    browser = _chromium()
    run = tmp_path / "run"
    with contextlib.redirect_stdout(io.StringIO()):
        assert main(["demo", "--out", str(run), "--members", "300", "--months", "8"]) == 0
    page = run / "reports" / "index.html"
    text = page.read_text()
    charts = text.count("<img ")
    assert charts >= 2

    probed = tmp_path / "probed.html"
    probed.write_text(text.replace("</head>", _PROBE + "</head>", 1))
    dom = _headless(browser, "--dump-dom", probed.as_uri())
    assert dom.returncode == 0, dom.stderr[-2000:]
    found = re.search(r'data-probe="loaded images=([\d,]*) errors=(\d+):([^"]*)"', dom.stdout)
    assert found, "the page never finished loading: " + dom.stdout[:500]
    widths = [int(w) for w in found.group(1).split(",") if w]
    assert len(widths) == charts and all(w > 0 for w in widths), widths
    assert found.group(2) == "0", found.group(3)

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shot = ARTIFACTS / "report-index.png"
    shot.unlink(missing_ok=True)
    taken = _headless(browser, "--window-size=1280,2400", f"--screenshot={shot}", page.as_uri())
    assert taken.returncode == 0 and shot.stat().st_size > 10_000, taken.stderr[-2000:]
