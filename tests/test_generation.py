"""Taking code out of replies, and what a Generation shows."""

from __future__ import annotations

from quantumlayer_nb.generation import Generation, extract_code


def test_fenced_python_block_is_extracted() -> None:
    code, error = extract_code("Here:\n```python\nx = 1\nprint(x)\n```\nDone.")
    assert code == "x = 1\nprint(x)\n"
    assert error is None


def test_several_python_blocks_are_joined_and_other_languages_skipped() -> None:
    text = "```python\na = 1\n```\n```bash\nls\n```\n```py\nb = a + 1\n```"
    code, _ = extract_code(text)
    assert code == "a = 1\n\nb = a + 1\n"


def test_syntax_error_is_reported_not_hidden() -> None:
    code, error = extract_code("```python\ndef f(:\n    pass\n```")
    assert code is not None
    assert error is not None
    assert error.startswith("line 1")


def test_unfenced_reply_is_code_only_when_it_parses() -> None:
    source = "import os\nprint(os.getcwd())"
    assert extract_code(source) == (source + "\n", None)
    assert extract_code("Sorry, I cannot help with that.") == (None, None)


def test_unterminated_fence_still_yields_code() -> None:
    code, error = extract_code("```python\nx = 2\n")
    assert code == "x = 2\n"
    assert error is None


def test_footer_says_unknown_cost_instead_of_zero() -> None:
    generation = Generation(
        text="x",
        code=None,
        format="text",
        model="m",
        model_served="m",
        cost_usd=None,
        cost_known=False,
        latency_ms=12.0,
        call_id="c",
        prompt_hash="h",
    )
    assert "cost unknown" in generation.footer()
    assert "$0" not in generation.footer()
