"""Safety checks on what goes out to a model and what comes back.

Secrets are redacted (or the prompt refused), hateful, abusive or profane text is refused,
and prompts are capped in size. The detectors (detect-secrets, the offensive-language model)
load on first use, so importing this package is cheap.
"""

from __future__ import annotations

from quantumlayer_nb.safety.hap import HapVerdict, assess_hap, load_hap_model
from quantumlayer_nb.safety.policy import (
    IncomingCheck,
    OutgoingCheck,
    SafetyPolicy,
    check_incoming,
    check_outgoing,
)
from quantumlayer_nb.safety.secrets import SecretFinding, find_secrets, redact_text

__all__ = [
    "HapVerdict",
    "IncomingCheck",
    "OutgoingCheck",
    "SafetyPolicy",
    "SecretFinding",
    "assess_hap",
    "check_incoming",
    "check_outgoing",
    "find_secrets",
    "load_hap_model",
    "redact_text",
]
