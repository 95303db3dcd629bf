"""The request path's environment reads see every change made through os.environ."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from quantumlayer_nb._env import env_get, env_names_with_prefix, env_size, env_values


def test_reads_follow_setenv_and_delenv(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("QLAYER_TEST_ENV_A", raising=False)
    assert env_get("QLAYER_TEST_ENV_A") is None
    size = env_size()
    monkeypatch.setenv("QLAYER_TEST_ENV_A", "first")
    assert env_get("QLAYER_TEST_ENV_A") == "first"
    assert env_size() == size + 1
    os.environ["QLAYER_TEST_ENV_A"] = "second"
    assert env_get("QLAYER_TEST_ENV_A") == "second"
    monkeypatch.delenv("QLAYER_TEST_ENV_A")
    assert env_get("QLAYER_TEST_ENV_A") is None


def test_values_keep_order_and_skip_unset(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QLAYER_TEST_ENV_B", "b-value")
    monkeypatch.setenv("QLAYER_TEST_ENV_C", "c-välue")
    monkeypatch.delenv("QLAYER_TEST_ENV_MISSING", raising=False)
    names = ("QLAYER_TEST_ENV_C", "QLAYER_TEST_ENV_MISSING", "QLAYER_TEST_ENV_B")
    assert env_values(names) == ["c-välue", "b-value"]


def test_names_with_prefix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QLAYER_TEST_ENV_D", "1")
    assert "QLAYER_TEST_ENV_D" in set(env_names_with_prefix("QLAYER_TEST_ENV_"))
    assert all(n.startswith("QLAYER_TEST_ENV_") for n in env_names_with_prefix("QLAYER_TEST_ENV_"))


def test_settings_see_a_new_variable_even_when_the_environment_keeps_its_size(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import time

    from quantumlayer_nb.config import _RECHECK_FILES_S, get_settings, reset_configuration

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("QLAYER_TEST_ENV_FILLER", "x")
    monkeypatch.delenv("QLAYER_USER", raising=False)
    reset_configuration()
    get_settings()
    monkeypatch.delenv("QLAYER_TEST_ENV_FILLER")  # one out, one in: the size is unchanged
    monkeypatch.setenv("QLAYER_USER", "swapped-in")
    time.sleep(_RECHECK_FILES_S * 1.5)
    assert get_settings().user == "swapped-in"
    monkeypatch.setenv("QLAYER_USER", "changed")  # a known name is read on every call
    assert get_settings().user == "changed"
