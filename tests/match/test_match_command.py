"""`monitor match` exits as grep does: 0 when an article matched, 1 when none did, 2 on an error."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from monitor.cli import main

ROOT = Path(__file__).resolve().parents[2]
CONFIG = str(ROOT / "config")
MATCHING = str(ROOT / "examples" / "gulf-observer.atom")


def match(*args: str, stdin: str | None = None) -> tuple[int, str, str]:
    """Run `monitor match` on the demo configuration; (exit status, stdout, stderr)."""
    result = CliRunner().invoke(main, ["match", "--config", CONFIG, *args], input=stdin)
    return result.exit_code, result.stdout, result.stderr


def test_exit_0_when_an_article_matched() -> None:
    code, out, _ = match(MATCHING)
    assert code == 0 and "✓ mena-security/ibrahim-kalin" in out


def test_exit_1_when_nothing_matched(tmp_path: Path) -> None:
    plain = tmp_path / "weather.txt"
    plain.write_text("Sunny spells in the afternoon, light winds from the west.", encoding="utf-8")
    assert match(str(plain))[0] == 1
    code, out, _ = match("--json", str(plain))
    assert code == 1 and json.loads(out)["matches"] == [], "--json prints the article and exits 1 too"
    assert match("-", stdin="Nothing of interest here.")[0] == 1


def test_exit_2_on_an_error_and_the_other_sources_still_run(tmp_path: Path) -> None:
    missing = str(tmp_path / "missing.xml")
    code, out, err = match(missing, MATCHING)
    assert code == 2, "an error wins over a match, as in grep"
    assert f"monitor match: {missing}: no such file" in err
    assert "✓ mena-security/ibrahim-kalin" in out, "the readable source was still matched"
    code, _, err = match("http://127.0.0.1:9/feed.xml")  # refused by the address policy: an error, no traceback
    assert code == 2 and err.startswith("monitor match: http://127.0.0.1:9/feed.xml: ") and "Traceback" not in err
    code, _, err = match("--watchlist", "nope", MATCHING)
    assert code == 2 and "unknown watchlist 'nope'" in err


def test_exit_2_on_a_broken_configuration(tmp_path: Path) -> None:
    config = tmp_path / "config"
    config.mkdir()
    (config / "monitor.yaml").write_text("retention: forever\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["match", "--config", str(config), MATCHING])
    assert result.exit_code == 2 and "problem(s)" in result.stderr


def test_exit_status_of_the_real_process(tmp_path: Path) -> None:
    """Through `python -m monitor`, as a shell script sees it."""
    plain = tmp_path / "weather.txt"
    plain.write_text("Sunny spells.", encoding="utf-8")
    codes = [
        subprocess.run([sys.executable, "-m", "monitor", "match", "--config", CONFIG, *args],
                       capture_output=True, text=True, check=False).returncode
        for args in ([MATCHING], [str(plain)], [str(tmp_path / "missing.xml")])
    ]
    assert codes == [0, 1, 2]
