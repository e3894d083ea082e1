"""The Prefect UI in a real browser (Debian's Chromium, driven by the playwright client): open the
``reproduce`` deployment, click Run -> Quick run, wait for Completed, open the run and see the data stage's
log lines and the stage-summary artifact. Screenshots are saved as test outputs (``OPC_TEST_OUTPUTS`` or the
test's temp dir) for a person to look at.

Chromium is a system package (``.ci/run`` installs it when missing); this test installs nothing itself.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import urllib.request
from pathlib import Path

import pytest

pytestmark = pytest.mark.prefect_server
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def _chromium() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        if os.environ.get("CI"):
            raise AssertionError("chromium is not installed: .ci/run installs Debian's chromium package")
        pytest.skip("chromium not installed (apt-get install chromium)")
    return path


def _deployment_id(api: str, name: str) -> str:
    req = urllib.request.Request(f"{api}/deployments/filter", data=b"{}", method="POST",
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as r:
        return next(d["id"] for d in json.load(r) if d["name"] == name)


def test_quick_run_from_the_ui_shows_stage_logs_and_artifacts(prefect_ui, tmp_path):
    from playwright.sync_api import expect, sync_playwright

    shots = Path(os.environ.get("OPC_TEST_OUTPUTS", tmp_path)) / "prefect-ui"
    shots.mkdir(parents=True, exist_ok=True)
    base = f"http://127.0.0.1:{prefect_ui.port}"
    with sync_playwright() as p:
        # launch() gives Chromium a fresh, temporary user-data dir of its own (the closed network needs one)
        browser = p.chromium.launch(executable_path=_chromium(), headless=True, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.goto(f"{base}/deployments/deployment/{_deployment_id(prefect_ui.api, 'reproduce')}",
                      wait_until="networkidle")
            page.get_by_role("button", name="Run", exact=True).click()
            page.get_by_text("Quick run", exact=True).click()
            run_link = page.locator("a[href*='/runs/flow-run/']").first
            run_link.wait_for(timeout=30_000)
            page.screenshot(path=str(shots / "1-quick-run.png"))
            page.goto(base + run_link.get_attribute("href"), wait_until="networkidle")
            expect(page.get_by_text("Completed").first).to_be_visible(timeout=240_000)
            # logs tab (the default): the data stage's own lines, forwarded from the opc.* loggers
            page.reload(wait_until="networkidle")
            expect(page.get_by_text(re.compile(r"opc\.(data|runner): data")).first).to_be_visible(timeout=60_000)
            page.screenshot(path=str(shots / "2-run-logs.png"), full_page=True)
            page.get_by_text("Artifacts", exact=True).first.click()
            expect(page.get_by_text("stage-data").first).to_be_visible(timeout=30_000)
            expect(page.get_by_text("run-report").first).to_be_visible(timeout=30_000)
            page.screenshot(path=str(shots / "3-run-artifacts.png"), full_page=True)
        finally:
            browser.close()
    assert (shots / "3-run-artifacts.png").stat().st_size > 10_000
