"""Settings: files, environment, overrides and the errors users see."""

from __future__ import annotations

from pathlib import Path

import pytest

from quantumlayer_nb.config import (
    RECIPES_MODEL,
    configure,
    find_project_root,
    get_settings,
    load_settings,
    reset_configuration,
)
from quantumlayer_nb.errors import ConfigError

ENV: dict[str, str] = {}


def test_defaults_use_folder_name_and_offline_model(tmp_path: Path) -> None:
    settings = load_settings(tmp_path, environ=ENV)
    assert settings.project == tmp_path.name
    assert settings.resolved_default() == RECIPES_MODEL
    assert settings.data_path == tmp_path / ".qlayer"


def test_qlayer_toml_is_read(tmp_path: Path) -> None:
    (tmp_path / "qlayer.toml").write_text(
        'project = "sales"\ndefault_route = "fast"\n'
        '[aliases]\nfast = "local"\n'
        '[deployments.local]\nmodel = "openai/gpt-4o-mini"\n'
        'api_base = "http://127.0.0.1:9/v1"\napi_key_env = "LOCAL_KEY"\n'
        "input_cost_per_token = 1e-6\noutput_cost_per_token = 2e-6\ncontext_window = 4096\n"
    )
    settings = load_settings(tmp_path, environ=ENV)
    assert settings.project == "sales"
    assert settings.aliases == {"fast": "local"}
    assert settings.deployments["local"].api_key_env == "LOCAL_KEY"
    assert settings.deployments["local"].context_window == 4096
    assert settings.config_files == (tmp_path / "qlayer.toml",)


def test_pyproject_tool_table_is_read_and_qlayer_toml_wins(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "x"\n[tool.qlayer]\nproject = "from-pyproject"\nuser = "ann"\n'
    )
    assert load_settings(tmp_path, environ=ENV).project == "from-pyproject"
    (tmp_path / "qlayer.toml").write_text('project = "from-toml"\n')
    settings = load_settings(tmp_path, environ=ENV)
    assert settings.project == "from-toml"
    assert settings.user == "ann"


def test_project_root_is_found_from_a_subfolder(tmp_path: Path) -> None:
    (tmp_path / "qlayer.toml").write_text('project = "p"\n')
    sub = tmp_path / "notebooks" / "deep"
    sub.mkdir(parents=True)
    assert find_project_root(sub) == tmp_path
    assert load_settings(sub, environ=ENV).project == "p"


def test_environment_overrides_files_with_nested_keys(tmp_path: Path) -> None:
    (tmp_path / "qlayer.toml").write_text('project = "file"\n')
    env = {
        "QLAYER_PROJECT": "env",
        "QLAYER_ALIASES__FAST": "openai/gpt-4o-mini",
        "QLAYER_STORE_PROMPTS": "true",
    }
    settings = load_settings(tmp_path, environ=env)
    assert settings.project == "env"
    assert settings.aliases["fast"] == "openai/gpt-4o-mini"
    assert settings.store_prompts is True


def test_provider_key_makes_a_real_default(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    assert load_settings(tmp_path, environ=ENV).resolved_default() == "openai/gpt-4o-mini"


def test_unknown_key_names_file_key_and_valid_keys(tmp_path: Path) -> None:
    (tmp_path / "qlayer.toml").write_text('[deployments.a]\nmodel = "openai/x"\napi_bse = "h"\n')
    with pytest.raises(ConfigError) as info:
        load_settings(tmp_path, environ=ENV)
    message = str(info.value)
    assert "qlayer.toml" in message
    assert "deployments.a.api_bse" in message
    assert "api_base" in message


def test_key_value_in_api_key_env_is_rejected(tmp_path: Path) -> None:
    (tmp_path / "qlayer.toml").write_text(
        '[deployments.a]\nmodel = "openai/x"\napi_key_env = "sk-abc-123-secret"\n'
    )
    with pytest.raises(ConfigError, match="NAME of an environment variable"):
        load_settings(tmp_path, environ=ENV)


def test_invalid_toml_names_the_file(tmp_path: Path) -> None:
    (tmp_path / "qlayer.toml").write_text("project = \n")
    with pytest.raises(ConfigError, match=r"qlayer\.toml is not valid TOML"):
        load_settings(tmp_path, environ=ENV)


def test_wrong_type_names_the_key(tmp_path: Path) -> None:
    (tmp_path / "qlayer.toml").write_text('timeout = "soon"\n')
    with pytest.raises(ConfigError, match="timeout"):
        load_settings(tmp_path, environ=ENV)


def test_missing_qlayer_config_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="QLAYER_CONFIG"):
        load_settings(tmp_path, environ={"QLAYER_CONFIG": str(tmp_path / "nope.toml")})


def test_configure_overrides_and_rejects_bad_values(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    try:
        assert configure(project="override").project == "override"
        assert get_settings().project == "override"
        with pytest.raises(ConfigError):
            configure(timeout=-1)
        assert get_settings().project == "override"
    finally:
        reset_configuration()
    assert get_settings().project == tmp_path.name


def test_settings_follow_edits_to_qlayer_toml(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    reset_configuration()  # a change of folder is otherwise noticed within 0.2 s
    config = tmp_path / "qlayer.toml"
    config.write_text('project = "one"\n')
    assert get_settings().project == "one"
    config.write_text('project = "two"\n')
    import os
    import time

    os.utime(config, (1, 1))
    time.sleep(0.25)  # files are checked at most every 0.2 s
    assert get_settings().project == "two"


def test_other_qlayer_variables_are_not_settings(tmp_path: Path) -> None:
    settings = load_settings(
        tmp_path, environ={"QLAYER_RUN_ID": "r1", "QLAYER_VENV": ".venv", "QLAYER_PROJECT": "p"}
    )
    assert settings.project == "p"
