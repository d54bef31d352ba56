"""An editable copy of the seeded demo: its own configuration directory and database, for the editor's tests."""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass
from pathlib import Path

from monitor.config import load_config
from monitor.config.models import Config
from tests.web.seed import Seeded


@dataclass(frozen=True)
class Editable:
    """A configuration directory the test may write, and the database the seeded demo filled."""

    config_dir: Path
    config: Config
    database_url: str

    def watchlist(self, name: str = "mena-security") -> Path:
        """The path of a watchlist file in this copy."""
        return self.config_dir / "watchlists" / f"{name}.yaml"


def editable_copy(template: Seeded, directory: Path) -> Editable:
    """Copy the seeded configuration and SQLite database into `directory` (the template stays untouched)."""
    config_dir = directory / "config"
    shutil.copytree(template.config_dir, config_dir)
    database = directory / "monitor.db"
    shutil.copy(template.database_url.removeprefix("sqlite:///"), database)
    url = f"sqlite:///{database}"
    monitor_yaml = config_dir / "monitor.yaml"
    text = re.sub(r"(?m)^database: .*$", f"database: {url}", monitor_yaml.read_text(encoding="utf-8"))
    monitor_yaml.write_text(text, encoding="utf-8")
    return Editable(config_dir, load_config(config_dir, {}).config, url)
