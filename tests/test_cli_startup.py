"""The offline CLI starts fast: no litellm, a recipe index kept between processes, and a
footer/ledger latency that is the call's own time."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from quantumlayer_nb.llm import _recipe_index
from quantumlayer_nb.llm._recipe_index import RecipeIndex, _load_embedder, load_all_recipes

QLAYER = str(Path(sys.executable).with_name("qlayer"))


def _env(cache: Path) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.endswith("_API_KEY") and not k.startswith("QLAYER_")
    }
    env["QLAYER_CACHE_DIR"] = str(cache)
    return env


def test_offline_generate_never_imports_litellm(project: Path, tmp_path: Path) -> None:
    script = (
        "import sys\n"
        "from quantumlayer_nb.cli import main\n"
        "sys.argv = ['qlayer', 'generate', 'total revenue per region']\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "print('litellm loaded' if 'litellm' in sys.modules else 'no litellm', file=sys.stderr)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, cwd=project,
        env=_env(tmp_path / "cache"), timeout=120,
    )
    assert "groupby" in out.stdout, out.stderr
    assert out.stderr.strip().endswith("no litellm"), out.stderr


def test_first_call_latency_is_the_calls_own_time(project: Path, tmp_path: Path) -> None:
    started = time.perf_counter()
    out = subprocess.run(
        [QLAYER, "generate", "--json", "total revenue per region"], capture_output=True,
        text=True, cwd=project, env=_env(tmp_path / "cache"), timeout=120,
    )
    process_ms = (time.perf_counter() - started) * 1000
    assert out.returncode == 0, out.stderr
    latency_ms = json.loads(out.stdout)["latency_ms"]
    assert latency_ms < 0.2 * process_ms, (latency_ms, process_ms)
    ledger = subprocess.run(
        [QLAYER, "usage", "--json"], capture_output=True, text=True, cwd=project,
        env=_env(tmp_path / "cache"), timeout=120,
    )
    assert ledger.returncode == 0, ledger.stderr


def test_recipe_index_is_kept_between_processes(project: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    script = (
        "from quantumlayer_nb.llm._recipe_index import get_index\n"
        "print(get_index().from_cache)\n"
    )
    runs = [
        subprocess.run(
            [sys.executable, "-c", script], capture_output=True, text=True, cwd=project,
            env=_env(cache), timeout=120, check=True,
        ).stdout.strip()
        for _ in range(2)
    ]
    assert runs == ["False", "True"]
    assert len(list((cache / "recipe_index").glob("*.npy"))) == 1
    assert not list((cache / "recipe_index").glob("*.tmp"))


def test_changed_library_is_embedded_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("QLAYER_CACHE_DIR", str(tmp_path / "cache"))
    embedder = _load_embedder()
    recipes = load_all_recipes()
    assert not RecipeIndex(recipes, embedder).from_cache
    assert RecipeIndex(recipes, embedder).from_cache
    fewer = RecipeIndex(recipes[:-1], embedder)
    assert not fewer.from_cache
    assert fewer.search("total revenue per region", 1)[0][0].id == "pandas.groupby_sum"


def test_a_damaged_cache_file_is_rebuilt(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QLAYER_CACHE_DIR", str(tmp_path / "cache"))
    embedder = _load_embedder()
    recipes = load_all_recipes()
    RecipeIndex(recipes, embedder)
    (cached,) = (tmp_path / "cache" / "recipe_index").glob("*.npy")
    cached.write_bytes(b"not numpy")
    index = RecipeIndex(recipes, embedder)
    assert not index.from_cache
    assert index.search("make a histogram of price", 1)[0][0].id == "matplotlib.histogram"
    assert RecipeIndex(recipes, embedder).from_cache


def test_cache_folder_follows_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QLAYER_CACHE_DIR", "/somewhere")
    assert _recipe_index.cache_folder() == Path("/somewhere/recipe_index")


def test_preload_warms_the_recipe_index_and_skips_litellm_when_offline(
    project: Path, tmp_path: Path
) -> None:
    script = (
        "import sys\n"
        "from quantumlayer_nb.llm import _lazy, _recipe_index\n"
        "_lazy.preload_in_background().join(120)\n"
        "print(_recipe_index._index is not None, 'litellm' in sys.modules)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, cwd=project,
        env=_env(tmp_path / "cache"), timeout=150, check=True,
    )
    assert out.stdout.split() == ["True", "False"], out.stderr
