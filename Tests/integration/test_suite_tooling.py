"""The suite's own guards (issue 19): a mistyped broker choice and an unexpected skip must fail a run
instead of passing it quietly.

* conftest.py refuses a `REFLEX_TEST_BROKER` other than reflex / mosquitto (pytest.UsageError), so
  that a typo neither runs against no broker nor turns every test into a skip that looks like a pass.
* scripts/count-skips.py (run by scripts/test.sh on the suite's JUnit XML) lists the skipped tests
  and exits 1 when any test skipped in CI (`CI` = 1 / true / yes) with the Reflex broker under test,
  where .ci/run installs every prerequisite. It decides by the run, not by the skip's reason: outside
  CI, or against mosquitto (whose Reflex-only tests skip by design), skips are reported and exit 0.

No broker is started here; every subprocess is bounded and takes well under a second.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import HERE, REPO_ROOT

COUNT_SKIPS = REPO_ROOT / "scripts" / "count-skips.py"
SMALL_TEST_FILE = "test_connect.py"


def clean_env(**values: str) -> dict[str, str]:
    """This process's environment without the variables the tools read, plus `values`."""
    env = {k: v for k, v in os.environ.items() if k not in ("CI", "REFLEX_TEST_BROKER", "PYTEST_ADDOPTS")}
    env.update(values)
    return env


def collect(broker_value: str) -> subprocess.CompletedProcess:
    """`pytest --collect-only` of one small file of this suite, with REFLEX_TEST_BROKER=broker_value."""
    return subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider",
                           SMALL_TEST_FILE], cwd=HERE, env=clean_env(REFLEX_TEST_BROKER=broker_value),
                          capture_output=True, text=True, timeout=30)


@pytest.mark.parametrize("value", ["bogus", "mosquito"])
def test_an_unknown_broker_is_a_usage_error(value):
    """A value the suite does not know stops the run at conftest.py with pytest's usage-error status
    and says which value and which ones are known; nothing is collected."""
    res = collect(value)
    output = res.stdout + res.stderr
    assert res.returncode == pytest.ExitCode.USAGE_ERROR, (res.returncode, output)
    assert f"REFLEX_TEST_BROKER={value!r} is not a broker this suite knows; use one of reflex, mosquitto" in output
    assert "collected" not in output, output


@pytest.mark.parametrize("value", ["reflex", " Mosquitto "])
def test_a_known_broker_collects(value):
    """The control for the test above: the same command with a known broker (case and spaces do not
    matter) collects the file, so the refusal is the value's doing, not a broken command line."""
    res = collect(value)
    assert res.returncode == 0, res.stdout + res.stderr
    assert re.search(r"^\d+ tests? collected", res.stdout, re.M), res.stdout


# ------------------------------------------------------------------------------------------------
# scripts/count-skips.py
# ------------------------------------------------------------------------------------------------

# A pytest JUnit report by hand: a skip that is expected against mosquitto (a Reflex-only test), one
# that is never expected in CI (a missing prerequisite), and a test that passed.
REPORT = """<?xml version="1.0" encoding="utf-8"?>
<testsuites><testsuite name="pytest" errors="0" failures="0" skipped="2" tests="3" time="1.0">
<testcase classname="test_v5_features" name="test_reflex_rejects_invalid_utf8" time="0.001">
<skipped type="pytest.skip" message="Reflex-specific; broker under test is mosquitto">conftest.py:1</skipped>
</testcase>
<testcase classname="test_dashboard" name="test_renders_the_page" time="0.001">
<skipped type="pytest.skip" message="chromium is not installed">test_dashboard.py:1</skipped>
</testcase>
<testcase classname="test_connect" name="test_connects" time="0.01" />
</testsuite></testsuites>
"""
NO_SKIPS = """<?xml version="1.0" encoding="utf-8"?>
<testsuites><testsuite name="pytest" errors="0" failures="0" skipped="0" tests="1" time="1.0">
<testcase classname="test_connect" name="test_connects" time="0.01" />
</testsuite></testsuites>
"""
LISTED = ["    test_v5_features::test_reflex_rejects_invalid_utf8: Reflex-specific; broker under test is mosquitto",
          "    test_dashboard::test_renders_the_page: chromium is not installed"]
CI_COMPLAINT = "count-skips: CI=true with the Reflex broker: no integration test may skip"


def count_skips(*args: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(COUNT_SKIPS), *args], env=clean_env(**env),
                          capture_output=True, text=True, timeout=30)


@pytest.fixture
def report(tmp_path) -> Path:
    path = tmp_path / "report.xml"
    path.write_text(REPORT)
    return path


@pytest.mark.parametrize("env", [{}, {"CI": ""}, {"CI": "false"}, {"CI": "0"}], ids=["unset", "empty", "false", "0"])
def test_skips_outside_ci_are_reported_and_pass(report, env):
    res = count_skips(str(report), **env)
    assert res.returncode == 0, res.stdout + res.stderr
    assert res.stdout.splitlines() == ["==> integration tests skipped: 2", *LISTED]
    assert CI_COMPLAINT not in res.stderr


@pytest.mark.parametrize("ci", ["true", "1", "yes", " TRUE "])
def test_any_skip_in_ci_against_reflex_fails(report, ci):
    """In CI against Reflex (the default broker, or named) both skips are unexpected: exit 1, with
    the skips still listed and the reason on stderr."""
    for broker in ({}, {"REFLEX_TEST_BROKER": "reflex"}):
        res = count_skips(str(report), CI=ci, **broker)
        assert res.returncode == 1, (broker, res.stdout, res.stderr)
        assert res.stdout.splitlines() == ["==> integration tests skipped: 2", *LISTED]
        assert CI_COMPLAINT in res.stderr


def test_skips_in_ci_against_mosquitto_pass(report):
    """Against mosquitto the Reflex-only tests skip by design: reported, exit 0, even in CI."""
    res = count_skips(str(report), CI="true", REFLEX_TEST_BROKER="mosquitto")
    assert res.returncode == 0, res.stdout + res.stderr
    assert res.stdout.splitlines() == ["==> integration tests skipped: 2", *LISTED]
    assert CI_COMPLAINT not in res.stderr


def test_a_report_without_skips_passes_in_ci(tmp_path):
    path = tmp_path / "report.xml"
    path.write_text(NO_SKIPS)
    res = count_skips(str(path), CI="true")
    assert (res.returncode, res.stdout.splitlines()) == (0, ["==> integration tests skipped: 0"]), res.stderr


@pytest.mark.parametrize("content", [None, "<testsuites><testcase"], ids=["missing", "malformed"])
def test_an_unreadable_report_fails_even_outside_ci(tmp_path, content):
    """A run whose report is missing or cut short cannot be taken for one without skips."""
    path = tmp_path / "report.xml"
    if content is not None:
        path.write_text(content)
    res = count_skips(str(path))
    assert res.returncode == 1, res.stdout + res.stderr
    assert f"count-skips: cannot read the pytest report {path}" in res.stderr


def test_wrong_arguments_print_the_usage():
    res = count_skips()
    assert res.returncode == 2 and "scripts/count-skips.py REPORT.xml" in res.stderr, res.stderr


def test_a_real_pytest_report_is_read(tmp_path):
    """The handmade XML above has the shape pytest writes: a real --junitxml report of a skip and a
    pass (in tmp_path, so without this suite's conftest) gives the same verdicts."""
    (tmp_path / "test_tiny.py").write_text(
        "import pytest\n\n"
        "def test_passes():\n    pass\n\n"
        "def test_skips():\n    pytest.skip('prerequisite missing')\n")
    junit = tmp_path / "junit.xml"
    res = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", f"--junitxml={junit}",
                          "test_tiny.py"], cwd=tmp_path, env=clean_env(), capture_output=True, text=True, timeout=30)
    assert res.returncode == 0, res.stdout + res.stderr
    outside = count_skips(str(junit))
    assert outside.returncode == 0, outside.stderr
    assert outside.stdout.splitlines() == ["==> integration tests skipped: 1",
                                           "    test_tiny::test_skips: prerequisite missing"]
    assert count_skips(str(junit), CI="true").returncode == 1
