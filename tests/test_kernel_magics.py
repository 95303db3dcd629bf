"""The magics, widgets and batches in a real IPython kernel, driven over jupyter_client.

A bare InteractiveShell differs from a kernel in exactly what these tests are about
(set_next_input becomes a reply payload, the Out of a cell is an execute_result message,
widgets display with a display id, the stop button is a SIGINT), so one kernel is started
for the module, in a project folder whose deployment 'loop' is the loopback server.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from queue import Empty
from typing import Any

import pytest
from jupyter_client.blocking.client import BlockingKernelClient
from jupyter_client.manager import KernelManager

from quantumlayer_nb.testing import LoopbackServer

FRONTEND_TARGET = "quantumlayer_nb.frontend"
CELL_MIME = "application/vnd.quantumlayer.cell+json"
KEY_VALUE = "sk-loop-" + "7f3a9c2e5b8d1f4a6c0e9b2d5f8a1c3e"


@dataclass
class Run:
    """What one execute request produced."""

    reply: dict[str, Any]
    messages: list[dict[str, Any]] = field(default_factory=list)
    seconds: float = 0.0

    def of_type(self, *kinds: str) -> list[dict[str, Any]]:
        return [m for m in self.messages if m["msg_type"] in kinds]

    @property
    def stdout(self) -> str:
        return "".join(m["content"]["text"] for m in self.of_type("stream")
                       if m["content"]["name"] == "stdout")

    @property
    def stderr(self) -> str:
        return "".join(m["content"]["text"] for m in self.of_type("stream")
                       if m["content"]["name"] == "stderr")

    def texts(self, *kinds: str) -> list[str]:
        kinds = kinds or ("display_data", "update_display_data", "execute_result")
        return [str(m["content"]["data"].get("text/plain", "")) for m in self.of_type(*kinds)]

    @property
    def result(self) -> str | None:
        results = self.texts("execute_result")
        return results[-1] if results else None

    @property
    def everything(self) -> str:
        return "\n".join([self.stdout, self.stderr, *self.texts(),
                          *("\n".join(m["content"].get("traceback", []))
                            for m in self.of_type("error"))])

    @property
    def payload(self) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = self.reply.get("payload", [])
        return found


def execute(kc: BlockingKernelClient, code: str, timeout: float = 90, *,
            allow_stdin: bool = False,
            on_message: Callable[[dict[str, Any]], None] | None = None,
            after_start: Callable[[], None] | None = None) -> Run:
    """Run ``code``; collect its iopub messages until the kernel is idle again."""
    started = time.monotonic()
    msg_id = kc.execute(code, allow_stdin=allow_stdin)
    if after_start is not None:
        after_start()
    messages: list[dict[str, Any]] = []
    deadline = started + timeout
    while True:
        try:
            message = kc.get_iopub_msg(timeout=max(0.1, deadline - time.monotonic()))
        except Empty:
            raise AssertionError(f"no idle within {timeout} s for {code!r}") from None
        if on_message is not None:
            on_message(message)
        if message["parent_header"].get("msg_id") != msg_id:
            continue
        if message["msg_type"] == "status":
            if message["content"]["execution_state"] == "idle":
                break
            continue
        messages.append(message)
    seconds = time.monotonic() - started
    while True:
        reply = kc.get_shell_msg(timeout=timeout)
        if reply["parent_header"].get("msg_id") == msg_id:
            return Run(reply["content"], messages, seconds)


@pytest.fixture(scope="module")
def server() -> Iterator[LoopbackServer]:
    with LoopbackServer() as loop:
        yield loop


@pytest.fixture(scope="module")
def kernel_project(tmp_path_factory: pytest.TempPathFactory, server: LoopbackServer) -> Path:
    folder = tmp_path_factory.mktemp("kernel-project")
    (folder / "qlayer.toml").write_text(
        'project = "kernel"\nuser = "tester"\ndefault_route = "loop"\n'
        f'[deployments.loop]\nmodel = "openai/gpt-4o-mini"\napi_base = "{server.url}"\n'
        '[deployments.keyed]\nmodel = "openai/gpt-4o-mini"\n'
        f'api_base = "{server.url}"\napi_key_env = "LOOP_SECRET_KEY_VAR"\n'
    )
    return folder


@pytest.fixture(scope="module")
def kc(kernel_project: Path) -> Iterator[BlockingKernelClient]:
    env = {name: value for name, value in os.environ.items()
           if not name.startswith(("QLAYER_", "QUANTUMLAYER_", "OPENAI_", "ANTHROPIC_",
                                   "GEMINI_", "GOOGLE_", "AZURE_"))}
    env.update(LITELLM_LOCAL_MODEL_COST_MAP="True", LOOP_SECRET_KEY_VAR=KEY_VALUE,
               PYTHONWARNINGS="ignore")
    manager = KernelManager(kernel_name="python3")
    manager.start_kernel(cwd=str(kernel_project), env=env)
    client = manager.client()
    client.start_channels()
    try:
        client.wait_for_ready(timeout=60)
        loaded = execute(client, "%load_ext quantumlayer_nb")
        assert loaded.reply["status"] == "ok", loaded.everything
        client.manager = manager  # type: ignore[attr-defined]
        yield client
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)


@pytest.fixture
def loop(server: LoopbackServer) -> Iterator[LoopbackServer]:
    server.reset()
    yield server
    server.reset()


def _ok(run: Run) -> Run:
    assert run.reply["status"] == "ok", run.everything
    return run


# 1. What a cell shows -----------------------------------------------------------------------

def test_cell_magic_shows_the_footer_and_no_generation_repr(
    kc: BlockingKernelClient, loop: LoopbackServer
) -> None:
    run = _ok(execute(kc, "%%qlayer -m loop --no-insert\nprint hello"))
    assert run.result is None
    assert "Generation(" not in run.everything
    footer = [text for text in run.texts("display_data") if text.startswith("gpt-4o-mini")]
    assert len(footer) == 1
    assert " · live" in footer[0]
    kept = _ok(execute(kc, "type(_qlayer).__name__, _qlayer.call_id[:4]"))
    assert kept.result is not None
    assert kept.result.startswith("('Generation'")


def test_explain_shows_the_answer_and_footer_not_a_repr(
    kc: BlockingKernelClient, loop: LoopbackServer
) -> None:
    _ok(execute(kc, "answer = 6 * 7"))
    loop.queue("It multiplies **6** by 7.")
    run = _ok(execute(kc, "%qlayer explain"))
    assert run.result is None
    assert "Generation(" not in run.everything
    assert any("text/markdown" in m["content"]["data"] for m in run.of_type("display_data"))


def test_budget_shows_a_table_with_money_not_statuses(
    kc: BlockingKernelClient, loop: LoopbackServer
) -> None:
    _ok(execute(kc, '%qlayer config budgets=[{"scope": "project", "limit_usd": 5, '
                    '"period": "month"}]'))
    run = _ok(execute(kc, "%qlayer budget"))
    assert "BudgetStatus(" not in run.everything
    table = "\n".join(run.texts("display_data"))
    assert "project kernel" in table
    assert "$5.00" in table
    assert run.result is None
    kept = _ok(execute(kc, "view = get_ipython().run_line_magic('qlayer', 'budget'); "
                           "type(view.data[0]).__name__"))
    assert kept.result == "'BudgetStatus'"


def test_config_json_literal_with_quotes_sets_a_budget(
    kc: BlockingKernelClient, loop: LoopbackServer
) -> None:
    run = _ok(execute(kc, '%qlayer config budgets=[{"scope":"project","limit_usd":7,'
                          '"period":"day"}]'))
    assert run.stdout.startswith("configured: budgets=")
    limit = _ok(execute(kc, "import quantumlayer_nb as qlayer\n"
                            "qlayer.get_settings().budgets[0].limit_usd"))
    assert limit.result == "7.0"


def test_config_shows_a_short_view_without_key_variable_names(
    kc: BlockingKernelClient, loop: LoopbackServer
) -> None:
    run = _ok(execute(kc, "%qlayer config"))
    shown = run.everything
    assert "Settings(" not in shown
    assert "LOOP_SECRET_KEY_VAR" not in shown
    assert KEY_VALUE not in shown
    assert "OPENAI_API_KEY" not in shown
    assert "deployment loop" in shown
    assert len(shown) < 2000


def test_usage_shows_formatted_money_and_no_duckdb_dump(
    kc: BlockingKernelClient, loop: LoopbackServer
) -> None:
    _ok(execute(kc, "%%qlayer -m loop --no-insert\nprint hello again"))
    run = _ok(execute(kc, "%qlayer usage"))
    shown = run.everything
    assert "VARCHAR" not in shown
    assert "BIGINT" not in shown
    assert not re.search(r"\d\.\d{6}", shown)
    assert re.search(r"session (\$0|<\$0\.0001|\$0\.\d{2,4})\b", shown), shown
    assert "session $0 " not in shown  # paid calls were made in this kernel's session
    assert run.result is None


# 2. Saved notebooks read right ----------------------------------------------------------------

def test_progress_widget_text_fallback_ends_with_the_final_line(
    kc: BlockingKernelClient, loop: LoopbackServer
) -> None:
    run = _ok(execute(kc, (
        "import quantumlayer_nb as qlayer\n"
        "from quantumlayer_nb.jupyter.widgets import ProgressWidget\n"
        "bar = ProgressWidget(total=3, description='batch')\n"
        "display(bar)\n"
        "results = qlayer.generate_many(['w one', 'w two', 'w three'], on_progress=bar, "
        "model='loop', format='text', cache=False)\n")))
    shown = run.of_type("display_data")
    display_id = shown[0]["content"]["transient"]["display_id"]
    updates = [m for m in run.of_type("update_display_data")
               if m["content"]["transient"]["display_id"] == display_id]
    assert updates, "the widget's text fallback was never brought up to date"
    final = updates[-1]["content"]["data"]["text/plain"]
    money = r"(\$0|<\$0\.0001|\$0\.\d+)"
    assert re.fullmatch(rf"batch 3/3 · 3 ok · {money} · [\d.]+ (ms|s)", final), final
    assert "application/vnd.jupyter.widget-view+json" in updates[-1]["content"]["data"]


def test_no_recipe_match_counts_as_not_ok(kc: BlockingKernelClient, loop: LoopbackServer) -> None:
    run = _ok(execute(kc, (
        "from quantumlayer_nb.jupyter.progress import Progress\n"
        "p = Progress(total=1, description='batch')\n"
        "qlayer.generate_many(['zzqx vlorp frobnicate the quux'], on_progress=p, "
        "model='qlayer/recipes')\n"
        "print(p.state.passed, p.state.failed, p.state.status)")))
    assert run.stdout.strip().endswith("0 1 done"), run.everything


# 3. fix and explain -------------------------------------------------------------------------

def test_fix_prints_its_message_once_when_no_code_comes_back(
    kc: BlockingKernelClient, loop: LoopbackServer
) -> None:
    execute(kc, "1 / 0")
    message = "I need the data that this cell divides to say what went wrong."
    loop.queue(message)
    run = _ok(execute(kc, "%qlayer fix"))
    assert run.stdout.count(message) == 1
    assert "Generation(" not in run.everything


def test_fix_sends_the_users_frames_only_and_no_secrets(
    kc: BlockingKernelClient, loop: LoopbackServer
) -> None:
    _ok(execute(kc, "import os\ndef load(path):\n"
                    "    raise RuntimeError('cannot open ' + path + ' with ' "
                    "+ os.environ['LOOP_SECRET_KEY_VAR'])\n"))
    execute(kc, "load('sales.csv')")
    loop.queue("```python\nload('sales.parquet')\n```\nUse the parquet file.")
    _ok(execute(kc, "%qlayer fix"))
    prompt = loop.requests[-1]["json"]["messages"][-1]["content"]
    assert "load('sales.csv')" in prompt
    assert "RuntimeError: cannot open sales.csv" in prompt
    assert re.search(r"Cell In\[\d+\], line 3", prompt), prompt
    assert "/tmp/ipykernel_" not in prompt
    assert "ipykernel_" not in prompt
    assert "interactiveshell.py" not in prompt
    assert "IPython" not in prompt
    assert KEY_VALUE not in prompt


def test_explain_without_argument_picks_the_previous_user_cell(
    kc: BlockingKernelClient, loop: LoopbackServer
) -> None:
    _ok(execute(kc, "monthly = 12 * 30"))
    _ok(execute(kc, "%%qlayer -m loop --no-insert\nprint hello"))
    loop.queue("It multiplies.")
    _ok(execute(kc, "%qlayer explain"))
    prompt = loop.requests[-1]["json"]["messages"][-1]["content"]
    assert "monthly = 12 * 30" in prompt
    assert "run_cell_magic" not in prompt
    assert "print hello" not in prompt


# 4. --stream ----------------------------------------------------------------------------------

def test_streamed_markdown_is_rendered_when_it_ends(
    kc: BlockingKernelClient, loop: LoopbackServer
) -> None:
    loop.queue("# Title\n\nSome *text*.")
    run = _ok(execute(kc, "%%qlayer --stream -f markdown -m loop\ndescribe the data"))
    rendered = [m for m in run.of_type("update_display_data")
                if "text/markdown" in m["content"]["data"]]
    assert rendered
    assert rendered[-1]["content"]["data"]["text/markdown"].startswith("# Title")


def test_streamed_code_goes_to_the_next_cell_and_the_footer_names_qlayer_recipes(
    kc: BlockingKernelClient, loop: LoopbackServer
) -> None:
    _ok(execute(kc, "import pandas as pd\ndf = pd.DataFrame({'x': [1, 2], 'y': [3, 4]})"))
    run = _ok(execute(kc, "%%qlayer --stream -m qlayer/recipes --context df\n"
                          "plot a line chart of y by x"))
    footers = [t for t in run.texts("display_data") if " tok · " in t or "tokens" in t]
    assert footers
    assert footers[-1].startswith("qlayer/recipes · "), footers
    inserted = [p for p in run.payload if p.get("source") == "set_next_input"]
    assert len(inserted) == 1


# 5. Logging -----------------------------------------------------------------------------------

def test_a_recipes_call_leaves_the_root_logger_alone(
    kc: BlockingKernelClient, loop: LoopbackServer
) -> None:
    before = _ok(execute(kc, "import logging\n"
                             "root = logging.getLogger()\n"
                             "print(len(root.handlers), root.level)"))
    _ok(execute(kc, "%%qlayer -m qlayer/recipes --no-insert\nplot a histogram of x"))
    _ok(execute(kc, "import wordllama"))  # the dependency that calls basicConfig on import
    run = _ok(execute(kc, "logging.getLogger('matplotlib').info('matplotlib says hello')\n"
                          "print(len(root.handlers), root.level)"))
    assert "matplotlib says hello" not in run.everything
    assert run.stdout == before.stdout


def test_litellm_loggers_keep_their_levels(kc: BlockingKernelClient, loop: LoopbackServer) -> None:
    _ok(execute(kc, "%%qlayer -m loop --no-insert\nprint hello levels"))
    run = _ok(execute(kc, "import logging\nprint(logging.getLogger('LiteLLM').level)"))
    assert run.stdout.strip() == "0"


# 6. Money -------------------------------------------------------------------------------------

def test_footer_formats_money_for_people(kc: BlockingKernelClient, loop: LoopbackServer) -> None:
    run = _ok(execute(kc, "%%qlayer -m loop --no-insert\nprint hello money"))
    footer = next(t for t in run.texts("display_data") if t.startswith("gpt-4o-mini"))
    cost = footer.split(" · ")[2]
    assert re.fullmatch(r"\$0|<\$0\.0001|\$\d+\.\d{2,4}", cost), footer


# 8. The stop button ---------------------------------------------------------------------------

def _interrupt_after(kc: BlockingKernelClient, seconds: float) -> Callable[[], None]:
    def later() -> None:
        time.sleep(seconds)
        kc.manager.interrupt_kernel()  # type: ignore[attr-defined]
    return later


BATCH = ("import quantumlayer_nb as qlayer\n"
         "prompts = [f'stop task {i}' for i in range(8)]\n")


def _warm(kc: BlockingKernelClient, loop: LoopbackServer, setup: str) -> None:
    """Run ``setup`` and one call (litellm loaded), then count from zero with 1 s latency."""
    _ok(execute(kc, setup + "qlayer.generate('warm up', model='loop', format='text')\n"))
    loop.reset()
    loop.configure(latency_ms=1000)


def test_stop_button_stops_a_batch_with_one_line_and_a_free_resume(
    kc: BlockingKernelClient, loop: LoopbackServer
) -> None:
    _warm(kc, loop, BATCH)
    started = time.monotonic()
    run = execute(kc, "results = qlayer.generate_many(prompts, concurrency=2, model='loop', "
                      "format='text', cache=False)", after_start=_interrupt_after(kc, 1.5))
    elapsed = time.monotonic() - started
    errors = run.of_type("error")
    assert len(errors) == 1
    assert errors[0]["content"]["ename"] == "BatchInterrupted"
    traceback = errors[0]["content"]["traceback"]
    assert len(traceback) == 1
    assert "run the same batch again" in traceback[0].lower()
    assert elapsed < 1.5 + 1.0 + 1.0 + 1.0  # interrupt + in-flight latency + a second
    paid = loop.request_count
    assert 2 <= paid <= 4
    finished = _ok(execute(kc, "import sys\n"
                               "print(sys.last_value.finished, len(sys.last_value.results))"))
    assert finished.stdout.split() == [str(paid), "8"]
    loop.configure(latency_ms=0)
    again = _ok(execute(kc, "results = qlayer.generate_many(prompts, concurrency=2, "
                            "model='loop', format='text', cache=False)\n"
                            "print(sum(r.__class__.__name__ == 'Generation' for r in results))"))
    assert again.stdout.strip() == "8"
    assert loop.request_count == 8  # the finished ones came from the journal, unpaid


def test_stop_button_stops_a_batch_spread_over_worker_processes(
    kc: BlockingKernelClient, loop: LoopbackServer
) -> None:
    _warm(kc, loop, BATCH.replace("stop task", "spread task"))
    run = execute(kc, "results = qlayer.generate_many(prompts, concurrency=2, workers=2, "
                      "model='loop', format='text', cache=False)",
                  after_start=_interrupt_after(kc, 2.5))
    errors = run.of_type("error")
    assert len(errors) == 1
    assert errors[0]["content"]["ename"] == "BatchInterrupted"
    paid = loop.request_count
    assert paid < 8
    finished = _ok(execute(kc, "import sys\nprint(sys.last_value.finished)"))
    assert finished.stdout.strip() == str(paid)  # every call that was paid for is kept


def test_stop_button_inside_with_bar_marks_the_widget_cancelled(
    kc: BlockingKernelClient, loop: LoopbackServer
) -> None:
    _warm(kc, loop, BATCH.replace("stop task", "bar task") +
          "from quantumlayer_nb.jupyter.widgets import ProgressWidget\n"
          "bar = ProgressWidget(total=len(prompts), description='batch')\n")
    run = execute(kc, "display(bar)\nwith bar:\n"
                      "    results = qlayer.generate_many(prompts, concurrency=2, "
                      "on_progress=bar, model='loop', format='text', cache=False)",
                  after_start=_interrupt_after(kc, 1.5))
    errors = run.of_type("error")
    assert len(errors) == 1
    assert len(errors[0]["content"]["traceback"]) == 1
    state = _ok(execute(kc, "print(bar.status, bar.done, bar.job_id != '')"))
    status, done, has_job = state.stdout.split()
    assert status == "cancelled"
    assert int(done) == loop.request_count < 8
    assert has_job == "True"  # Cancel can go through the server while the kernel is busy


# 10. Estimate and confirm ---------------------------------------------------------------------

def test_eval_without_models_runs_on_the_default_model(
    kc: BlockingKernelClient, loop: LoopbackServer, kernel_project: Path
) -> None:
    (kernel_project / "double_tasks.jsonl").write_text(
        '{"task_id": "t/double", "prompt": "Write double(x) returning 2 * x.", '
        '"test": "assert candidate(3) == 6", "entry_point": "double"}\n')
    loop.add_rule(r"Write double", "```python\ndef double(x):\n    return 2 * x\n```")
    run = _ok(execute(kc, "%qlayer eval double_tasks.jsonl --n 1 --k 1", timeout=180))
    assert "ConfigError" not in run.everything
    scored = _ok(execute(kc, "_qlayer.models, _qlayer.pass_at_k('loop', 1)"))
    assert scored.result == "(['loop'], 1.0)"
    assert loop.request_count == 1


def test_estimate_shows_a_cost_range_and_sends_nothing(
    kc: BlockingKernelClient, loop: LoopbackServer
) -> None:
    run = _ok(execute(kc, "%%qlayer --estimate -m loop\nwrite a function that adds two numbers"))
    expected = r"estimate for loop: <?\$\S+–<?\$\S+ \(\d+ prompt tokens"
    assert re.search(expected, run.stdout), run.stdout
    offline = _ok(execute(kc, "%%qlayer --estimate -m qlayer/recipes\nplot y by x"))
    assert "estimate for qlayer/recipes: $0 " in offline.stdout
    assert loop.request_count == 0


def _answer_input(kc: BlockingKernelClient, answer: str) -> Callable[[], None]:
    def reply() -> None:
        request = kc.get_stdin_msg(timeout=60)
        assert request["msg_type"] == "input_request"
        assert "confirm_above_usd" in request["content"]["prompt"]
        kc.input(answer)
    return reply


def test_confirm_above_usd_asks_and_a_no_sends_nothing(
    kc: BlockingKernelClient, loop: LoopbackServer
) -> None:
    _ok(execute(kc, "%qlayer config confirm_above_usd=0.0000001"))
    try:
        refused = execute(kc, "%%qlayer -m loop --no-insert\nprint hello confirm",
                          allow_stdin=True, after_start=_answer_input(kc, "n"))
        assert refused.reply["status"] == "error"
        assert refused.of_type("error")[0]["content"]["ename"] == "MagicError"
        assert loop.request_count == 0
        sent = _ok(execute(kc, "%%qlayer -m loop --no-insert\nprint hello confirm",
                           allow_stdin=True, after_start=_answer_input(kc, "y")))
        assert loop.request_count == 1
        assert any(t.startswith("gpt-4o-mini") for t in sent.texts("display_data"))
    finally:
        _ok(execute(kc, "import quantumlayer_nb as qlayer\n"
                        "qlayer.configure(confirm_above_usd=None)"))


# 9. The frontend contract (last: it changes the kernel's frontend state) ----------------------

def test_without_frontend_code_goes_through_set_next_input(
    kc: BlockingKernelClient, loop: LoopbackServer
) -> None:
    run = _ok(execute(kc, "%%qlayer -m loop\nprint hello"))
    inserted = [p for p in run.payload if p.get("source") == "set_next_input"]
    assert len(inserted) == 1
    assert inserted[0]["text"].startswith("# qlayer: call ")
    assert not any(CELL_MIME in m["content"]["data"] for m in run.of_type("display_data"))


@pytest.fixture
def frontend(kc: BlockingKernelClient) -> Iterator[None]:
    """Answer the kernel's comm as the lab extension does."""
    answered: list[str] = []

    def answer(message: dict[str, Any]) -> None:
        content = message["content"]
        if message["msg_type"] == "comm_open" and content.get("target_name") == FRONTEND_TARGET:
            assert content["data"] == {"version": 1}
            reply = kc.session.msg("comm_msg", {"comm_id": content["comm_id"],
                                                "data": {"frontend": "jupyterlab",
                                                         "version": 1}})
            kc.shell_channel.send(reply)
            answered.append(content["comm_id"])

    _ok(execute(kc, "%reload_ext quantumlayer_nb", on_message=answer))
    assert answered, "the kernel opened no quantumlayer_nb.frontend comm on load"
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        present = execute(kc, "from quantumlayer_nb.jupyter.magics import frontend_present\n"
                              "frontend_present()")
        if present.result == "True":
            break
        time.sleep(0.1)
    assert present.result == "True"
    yield
    _ok(execute(kc, "%reload_ext quantumlayer_nb"))  # nobody answers: absent again


def test_with_frontend_cell_magic_emits_the_cell_bundle_not_set_next_input(
    kc: BlockingKernelClient, loop: LoopbackServer, frontend: None
) -> None:
    run = _ok(execute(kc, "%%qlayer -m loop\nprint hello"))
    assert not [p for p in run.payload if p.get("source") == "set_next_input"]
    bundles = [m["content"]["data"] for m in run.of_type("display_data")
               if CELL_MIME in m["content"]["data"]]
    assert len(bundles) == 1
    cell = bundles[0][CELL_MIME]
    assert cell["version"] == 1
    assert cell["action"] == "insert"
    assert "def solution" in cell["code"]
    assert not cell["code"].startswith("# qlayer")
    meta = cell["metadata"]["quantumlayer"]
    assert set(meta) == {"call_id", "model", "prompt_hash", "tokens", "cost_usd", "created"}
    assert set(meta["tokens"]) == {"in", "out", "estimated"}
    assert cell["original"] is None
    assert cell["target_execution_count"] is None
    assert bundles[0]["text/plain"] == (
        f"qlayer: code inserted as the next cell (call {meta['call_id']})")


def test_with_frontend_fix_asks_to_replace_the_failing_cell(
    kc: BlockingKernelClient, loop: LoopbackServer, frontend: None
) -> None:
    failing = execute(kc, "value = undefined_name + 1")
    count = failing.reply["execution_count"]
    loop.queue("```python\nvalue = 1 + 1\n```\nThe name was undefined.")
    run = _ok(execute(kc, "%qlayer fix"))
    assert not [p for p in run.payload if p.get("source") == "set_next_input"]
    cell = next(m["content"]["data"][CELL_MIME] for m in run.of_type("display_data")
                if CELL_MIME in m["content"]["data"])
    assert cell["action"] == "replace"
    assert cell["original"] == "value = undefined_name + 1"
    assert cell["target_execution_count"] == count
    assert cell["code"].strip() == "value = 1 + 1"
