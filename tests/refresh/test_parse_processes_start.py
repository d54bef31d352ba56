"""What the parse processes import when they start: what the fork server preloads for them (parsing, and the
project modules a main script imports, since each process runs that script again), and nothing of the store
or the configuration loader under a main module that does not import them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from types import ModuleType, SimpleNamespace

import pytest

from monitor.refresh.parse_runner import PARSE_MODULE, forkserver_preload

ROOT = Path(__file__).resolve().parents[2]
ENV = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}

CONSOLE_SCRIPT = """import re
import sys
from monitor.cli import main
if __name__ == '__main__':
    from monitor.store.rows import Feed
    sys.exit(main())
"""


def as_main(monkeypatch: pytest.MonkeyPatch, file: Path | None, spec_name: str | None = None) -> None:
    """Make a module of this file (None: no file, as `python -c`) the process's `__main__` for one test."""
    main = ModuleType("__main__")
    if file is not None:
        main.__file__ = str(file)
    main.__spec__ = None if spec_name is None else SimpleNamespace(name=spec_name)  # type: ignore[assignment]
    monkeypatch.setitem(sys.modules, "__main__", main)


def test_the_fork_server_preloads_the_project_modules_a_main_script_imports(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    script = tmp_path / "monitor"
    script.write_text(CONSOLE_SCRIPT, encoding="utf-8")
    as_main(monkeypatch, script)
    # Only the top level: what the `if __name__ == '__main__'` block imports, a parse process never runs.
    assert forkserver_preload() == [PARSE_MODULE, "monitor.cli"]
    script.write_text("import json\nfrom .x import y\nimport monitor.model, os\n", encoding="utf-8")
    assert forkserver_preload() == [PARSE_MODULE, "monitor.model"]


@pytest.mark.parametrize(
    ("file", "spec_name"),
    [("absent.py", None), ("broken.py", None), (None, None), ("monitor.py", "monitor.__main__")],
    ids=["unreadable", "not-python", "python-c", "python-m"],
)
def test_only_parsing_is_preloaded_when_no_process_runs_a_readable_main_script_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, file: str | None, spec_name: str | None
) -> None:
    (tmp_path / "broken.py").write_text("from monitor.cli import (\n", encoding="utf-8")
    (tmp_path / "monitor.py").write_text(CONSOLE_SCRIPT, encoding="utf-8")
    as_main(monkeypatch, None if file is None else tmp_path / file, spec_name)
    assert forkserver_preload() == [PARSE_MODULE]


BENCHMARK_SCRIPT = '''
import sys


def loaded(prefixes):
    return sorted({name.split(".")[0] if name.startswith("sqlalchemy") else name
                   for name in sys.modules if name.startswith(tuple(prefixes))})


if __name__ == "__main__":
    import json

    from monitor.refresh.parse_pool import ParseLimits
    from monitor.refresh.parse_runner import ParseRunner

    runner = ParseRunner(2, lambda: ParseLimits.for_body_cap(1024 * 1024))
    pool = runner.pool()
    prefixes = ("sqlalchemy", "monitor.store", "monitor.config.loader", "yaml", "alembic")
    seen = [job.result() for job in [pool.submit(loaded, prefixes) for _ in range(8)]]
    runner.close()
    print(json.dumps(seen))
'''


def test_parse_processes_hold_neither_the_store_nor_the_loader_when_the_main_script_does_not(tmp_path: Path) -> None:
    script = tmp_path / "bench.py"
    script.write_text(BENCHMARK_SCRIPT, encoding="utf-8")
    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, check=True, env=ENV, cwd=tmp_path)
    assert json.loads(out.stdout.strip().splitlines()[-1]) == [[] for _ in range(8)]


def test_the_config_package_imports_its_loader_only_when_asked() -> None:
    code = (
        "import sys\n"
        "import monitor.config.gc_pause, monitor.config.models\n"
        "assert 'monitor.config.loader' not in sys.modules, 'imported with the package'\n"
        "from monitor.config import ConfigProblem, LoadedConfig, load_config\n"
        "from monitor.config.loader import load_config as loader_load_config\n"
        "assert load_config is loader_load_config\n"
        "import monitor.config\n"
        "try:\n"
        "    monitor.config.no_such_name\n"
        "except AttributeError:\n"
        "    pass\n"
        "else:\n"
        "    raise AssertionError('no AttributeError')\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, env=ENV)

