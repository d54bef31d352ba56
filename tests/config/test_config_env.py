"""Environment overrides of monitor.yaml (DESIGN §3)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from monitor.config import load_config
from monitor.config.env import ENV_VARS, apply_env_overrides, default_config_dir, documented_env_vars
from monitor.config.models import Settings, WebSubSettings
from monitor.errors import ConfigurationError


@pytest.fixture
def config_dir(tmp_path: Path) -> Path:
    (tmp_path / "feeds.yaml").write_text("feeds: []\n", encoding="utf-8")
    (tmp_path / "monitor.yaml").write_text("database: sqlite:///from-yaml.db\nfetch: {timeout: 5s}\n", encoding="utf-8")
    return tmp_path


def test_overrides_apply(config_dir: Path) -> None:
    env = {
        "MONITOR_DATABASE": "sqlite:///ignored.db",
        "MONITOR_DATABASE_URL": "postgresql+psycopg://u@h/db",
        "MONITOR_SMTP_HOST": "mail.example.org",
        "MONITOR_SMTP_PORT": "2525",
        "MONITOR_SMTP_STARTTLS": "no",
        "MONITOR_EMAIL_TRANSPORT": "smtp",
        "MONITOR_EMAIL_FROM": "Alerts <a@example.org>",
        "MONITOR_FETCH_TIMEOUT": "45s",
        "MONITOR_FETCH_ALLOW_PRIVATE_NETWORKS": "1",
        "MONITOR_RETENTION": "7d",
        "MONITOR_LOG_FORMAT": "json",
        "MONITOR_SMTP_PASSWORD": "not-a-setting: ignored",
    }
    settings = load_config(config_dir, env=env).config.settings
    assert settings.database == "postgresql+psycopg://u@h/db"
    assert settings.email.smtp.host == "mail.example.org" and settings.email.smtp.port == 2525
    assert settings.email.smtp.starttls is False
    assert settings.email.transport == "smtp" and settings.email.from_ == "Alerts <a@example.org>"
    assert settings.fetch.timeout == timedelta(seconds=45) and settings.fetch.allow_private_networks is True
    assert settings.retention == timedelta(days=7) and settings.log_format == "json"


def test_yaml_value_kept_without_override(config_dir: Path) -> None:
    settings = load_config(config_dir, env={"MONITOR_TIMEZONE": ""}).config.settings
    assert settings.database == f"sqlite:///{config_dir / 'from-yaml.db'}" and settings.fetch.timeout == timedelta(seconds=5)
    assert settings.timezone == "UTC"


def test_bad_env_values_name_the_variable(config_dir: Path) -> None:
    with pytest.raises(ConfigurationError) as info:
        load_config(config_dir, env={"MONITOR_FETCH_TIMEOUT": "soon", "MONITOR_SMTP_PORT": "smtp",
                                     "MONITOR_ALLOW_LOCAL_FEEDS": "perhaps"})
    text = [p.format() for p in info.value.problems]
    assert any(t.endswith("settings: environment MONITOR_FETCH_TIMEOUT: 'soon' is not a duration; "
                          "write e.g. 30s, 15m, 2h, 1h30m or 7d") for t in text)
    assert any("environment MONITOR_SMTP_PORT: expected a whole number" in t for t in text)
    assert any("environment MONITOR_ALLOW_LOCAL_FEEDS: expected true or false" in t for t in text)
    assert all(p.line is None for p in info.value.problems)


def test_every_setting_has_a_documented_variable() -> None:
    documented = dict(documented_env_vars())
    assert "MONITOR_CONFIG" in documented and "MONITOR_DATABASE_URL" in documented
    for name in ("MONITOR_SMTP_HOST", "MONITOR_SMTP_PASSWORD_ENV", "MONITOR_EMAIL_UNSUBSCRIBE_URL",
                 "MONITOR_EMAIL_OUTBOX_DIR", "MONITOR_FETCH_MAX_BYTES", "MONITOR_BASE_URL"):
        assert documented[name]
    paths = {var.path for var in ENV_VARS}
    for name in Settings.model_fields:
        if name not in ("email", "fetch", "websub"):  # sections: one variable per key, below
            assert (name,) in paths
    for key in WebSubSettings.model_fields:
        assert ("websub", key) in paths
    assert all(description for description in documented.values())


def test_overrides_do_not_touch_the_input() -> None:
    raw = {"email": {"smtp": {"host": "a"}}}
    data, origins = apply_env_overrides(raw, {"MONITOR_SMTP_HOST": "b", "MONITOR_TLS": "x"})
    assert raw["email"]["smtp"]["host"] == "a" and data["email"]["smtp"]["host"] == "b"
    assert origins == {("email", "smtp", "host"): "MONITOR_SMTP_HOST"}


def test_default_config_dir() -> None:
    assert default_config_dir({}) == Path("config")
    assert default_config_dir({"MONITOR_CONFIG": "/etc/monitor"}) == Path("/etc/monitor")
