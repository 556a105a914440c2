"""Production refuses weak secret keys; development generates and keeps one."""

from __future__ import annotations

import stat

import pytest

from config import Config, ProductionConfig
from tracker import create_app
from tracker.security import InsecureConfiguration, check_secret_key, development_secret_key

STRONG = "k" * 16 + "0123456789abcdef0123"


@pytest.mark.parametrize("key", [None, "", "dev-only-secret-change-me", "short-but-set", "x" * 31])
def test_production_refuses_weak_keys(key):
    with pytest.raises(InsecureConfiguration, match="SECRET_KEY"):
        check_secret_key(key, production=True)


def test_production_accepts_a_long_random_key():
    check_secret_key(STRONG, production=True)


def test_the_app_factory_refuses_production_on_the_development_key(tmp_path, monkeypatch,
                                                                   restore_celery):
    monkeypatch.setenv("INSTANCE_DIR", str(tmp_path))

    class Prod(ProductionConfig):
        SECRET_KEY = "dev-only-secret-change-me"
        SQLALCHEMY_DATABASE_URI = f"sqlite:///{tmp_path / 'p.db'}"

    with pytest.raises(InsecureConfiguration, match="SECRET_KEY"):
        create_app(Prod)


def test_tracker_env_production_selects_the_checks(tmp_path, monkeypatch, restore_celery):
    monkeypatch.setenv("INSTANCE_DIR", str(tmp_path))
    monkeypatch.setenv("TRACKER_ENV", "production")

    class Plain(Config):
        SECRET_KEY = None
        SQLALCHEMY_DATABASE_URI = f"sqlite:///{tmp_path / 'p.db'}"

    with pytest.raises(InsecureConfiguration, match="SECRET_KEY"):
        create_app(Plain)


def test_development_generates_a_private_key_once(tmp_path):
    first = development_secret_key(tmp_path)
    path = tmp_path / "secret_key"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert len(first) >= 32
    assert development_secret_key(tmp_path) == first


def test_development_app_without_a_key_uses_the_instance_key(tmp_path, monkeypatch,
                                                             restore_celery):
    monkeypatch.setenv("INSTANCE_DIR", str(tmp_path))
    monkeypatch.delenv("TRACKER_ENV", raising=False)

    class Dev(Config):
        SECRET_KEY = None
        SQLALCHEMY_DATABASE_URI = f"sqlite:///{tmp_path / 'd.db'}"

    app = create_app(Dev)
    assert app.config["SECRET_KEY"] == (tmp_path / "secret_key").read_text().strip()
    assert app.config["SECRET_KEY"] != "dev-only-secret-change-me"
