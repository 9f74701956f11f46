"""LangChain's standard test suites, subclassed for RoutingChatModel.

Integration tests run against the scripted server on 127.0.0.1 through real ChatOpenAI and
ChatAnthropic candidates. Skips are listed (with reasons) in the README.
"""

from __future__ import annotations

from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_tests.integration_tests import ChatModelIntegrationTests
from langchain_tests.unit_tests import ChatModelUnitTests

from langchain_langroute import RoutingChatModel
from lc_helpers import (
    ANTHROPIC_NAME,
    NATIVE_SPECS,
    OPENAI_NAME,
    SPECS,
    anthropic_candidate,
    native_providers,
    openai_candidate,
)


class _Params:
    @property
    def chat_model_class(self) -> type[BaseChatModel]:
        return RoutingChatModel

    @property
    def chat_model_params(self) -> dict[str, Any]:
        return {"models": [openai_candidate(), anthropic_candidate()], "specs": SPECS}

    @property
    def has_tool_choice(self) -> bool:
        return True

    @property
    def has_structured_output(self) -> bool:
        return True

    @property
    def supports_json_mode(self) -> bool:
        return True

    @property
    def model_override_value(self) -> str:
        return ANTHROPIC_NAME

    @property
    def returns_usage_metadata(self) -> bool:
        return True


class TestRoutingChatModelUnit(_Params, ChatModelUnitTests):
    @property
    def standard_chat_model_params(self) -> dict[str, Any]:
        params = super().standard_chat_model_params
        params.pop("api_key", None)  # keys belong to the candidates
        return params


class TestRoutingChatModelIntegration(_Params, ChatModelIntegrationTests):
    pass


class TestRoutingChatModelWithANativeCandidateIntegration(TestRoutingChatModelIntegration):
    """The same suite with the OpenAI-protocol candidate native (langroute's own
    `OpenAIProvider`, no ChatOpenAI) beside a ChatAnthropic one."""

    @property
    def chat_model_params(self) -> dict[str, Any]:
        return {
            "models": [OPENAI_NAME, anthropic_candidate()],
            "specs": NATIVE_SPECS,
            "providers": native_providers(),
        }


def test_candidates_are_named_as_expected():
    model = RoutingChatModel(**_Params().chat_model_params)
    assert list(model.candidates) == [OPENAI_NAME, ANTHROPIC_NAME]
