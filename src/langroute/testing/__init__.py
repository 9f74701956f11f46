"""Test helpers: a scripted OpenAI-/Anthropic-compatible server on 127.0.0.1.

Needs the `testing` extra (uvicorn): `pip install langroute[testing]`.
"""

from langroute.testing.script import (
    Behaviour,
    CallInfo,
    DropStream,
    Fail,
    Hang,
    Malformed,
    Reply,
    ScriptedModel,
    ToolCallScript,
)
from langroute.testing.server import CallRecord, ScriptedServer
from langroute.testing.smart import smart_reply

__all__ = [
    "Behaviour",
    "CallInfo",
    "CallRecord",
    "DropStream",
    "Fail",
    "Hang",
    "Malformed",
    "Reply",
    "ScriptedModel",
    "ScriptedServer",
    "ToolCallScript",
    "smart_reply",
]
