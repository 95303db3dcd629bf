"""``qlayer/recipes`` as a litellm ``CustomLLM``, for code that calls litellm directly.

The package itself answers the built-in model without litellm (see ``client``); this handler
makes ``litellm.completion(model="qlayer/recipes", ...)`` give the same answers. It imports
litellm at module level, so only ``_lazy`` (after importing litellm) and callers that asked
for litellm import it.
"""

from __future__ import annotations

import os

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

import importlib
import time
from collections.abc import AsyncIterator, Iterator, Sequence
from typing import Any

import litellm
from litellm.llms.custom_llm import CustomLLM
from litellm.types.llms.openai import ChatCompletionUsageBlock
from litellm.types.utils import GenericStreamingChunk

from quantumlayer_nb.llm._recipe_answer import (
    answer_messages,
    last_user_text,
    stream_pieces,
    token_estimate,
)

__all__ = ["MODEL_NAME", "PROVIDER", "RecipeLLM", "recipe_handler", "register_recipe_model"]

PROVIDER = "qlayer"
MODEL_NAME = "qlayer/recipes"


def _usage(prompt: str, text: str) -> ChatCompletionUsageBlock:
    prompt_tokens, completion_tokens = token_estimate(prompt), token_estimate(text)
    return ChatCompletionUsageBlock(
        prompt_tokens=prompt_tokens,
        completion_tokens=completion_tokens,
        total_tokens=prompt_tokens + completion_tokens,
    )


class RecipeLLM(CustomLLM):
    """litellm handler answering ``qlayer/recipes`` from the recipe library (free, local)."""

    def _respond(self, messages: Sequence[Any], model_response: Any = None) -> Any:
        prompt = last_user_text(messages)
        text = answer_messages(messages).text
        response = model_response if model_response is not None else litellm.ModelResponse()
        response.choices[0].message.content = text
        response.choices[0].finish_reason = "stop"
        response.model = MODEL_NAME
        response.created = int(time.time())
        response.usage = litellm.Usage(**_usage(prompt, text))
        response._hidden_params["response_cost"] = 0.0
        response._hidden_params["custom_llm_provider"] = PROVIDER
        return response

    def completion(self, *args: Any, **kwargs: Any) -> Any:
        """Answer synchronously (litellm passes ``messages`` and ``model_response``)."""
        return self._respond(kwargs["messages"], kwargs.get("model_response"))

    async def acompletion(self, *args: Any, **kwargs: Any) -> Any:
        """Answer from async code; the work is local and takes milliseconds."""
        return self._respond(kwargs["messages"], kwargs.get("model_response"))

    def _chunks(self, messages: Sequence[Any]) -> Iterator[GenericStreamingChunk]:
        prompt = last_user_text(messages)
        text = answer_messages(messages).text
        pieces = stream_pieces(text)
        for number, piece in enumerate(pieces):
            last = number == len(pieces) - 1
            yield GenericStreamingChunk(
                text=piece,
                tool_use=None,
                is_finished=last,
                finish_reason="stop" if last else "",
                usage=_usage(prompt, text) if last else None,
                index=0,
            )

    def streaming(self, *args: Any, **kwargs: Any) -> Iterator[GenericStreamingChunk]:
        """Yield the answer in a few ``GenericStreamingChunk`` dicts; the last has usage."""
        yield from self._chunks(kwargs["messages"])

    # The base class declares a coroutine returning an iterator; litellm iterates the result
    # with ``async for``, which an async generator satisfies directly.
    async def astreaming(  # type: ignore[override]
        self, *args: Any, **kwargs: Any
    ) -> AsyncIterator[GenericStreamingChunk]:
        """Async version of ``streaming``."""
        for chunk in self._chunks(kwargs["messages"]):
            yield chunk


recipe_handler = RecipeLLM()


def register_recipe_model(litellm_module: Any = litellm) -> None:
    """Make ``litellm.completion(model="qlayer/recipes", ...)`` answer from the recipes.

    Idempotent: other entries of ``custom_provider_map`` are kept, and an older ``qlayer``
    entry is replaced. The model is also registered with zero cost, so litellm's cost
    functions return 0.0 for it.

    Args:
        litellm_module: The imported ``litellm`` module.
    """
    entries = [
        item for item in litellm_module.custom_provider_map if item.get("provider") != PROVIDER
    ]
    entries.append({"provider": PROVIDER, "custom_handler": recipe_handler})
    litellm_module.custom_provider_map = entries
    # Older litellm exposes custom_llm_setup at the top level; newer ones only in litellm.utils.
    setup = getattr(litellm_module, "custom_llm_setup", None)
    if setup is None:
        setup = importlib.import_module(litellm_module.__name__ + ".utils").custom_llm_setup
    setup()
    litellm_module.register_model(
        {
            MODEL_NAME: {
                "input_cost_per_token": 0.0,
                "output_cost_per_token": 0.0,
                "litellm_provider": PROVIDER,
                "mode": "chat",
                "max_tokens": 4096,
                "max_input_tokens": 32768,
                "max_output_tokens": 4096,
            }
        }
    )
