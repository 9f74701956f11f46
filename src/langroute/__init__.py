"""langroute: route every LLM call to the model that should answer it."""

from langroute.audit import AuditLog, JSONLAuditSink, SQLiteAuditSink
from langroute.batch import BatchJob, BatchQueue
from langroute.budget import Budget, Budgets, BudgetState
from langroute.cache import ResponseCache
from langroute.classify import Classifier, Rule, RuleClassifier, TaskProfile
from langroute.compress import PromptCompressor
from langroute.config import RouterConfig
from langroute.decision import Attempt, Decision
from langroute.errors import (
    AllModelsFailed,
    AuthError,
    BadRequest,
    BudgetExceeded,
    CircuitOpen,
    ConfigError,
    ConnectionFailed,
    ContentFiltered,
    ContextTooLong,
    DeadlineExceeded,
    LangrouteError,
    LimitExhausted,
    MalformedResponse,
    NoCandidateError,
    ProviderError,
    RateLimited,
    ServerError,
    StreamInterrupted,
    Timeout,
    UnknownModelError,
)
from langroute.features import CallerHints, RequestFeatures, RoutingRequest
from langroute.policy import (
    AgentSteps,
    ComplexityTiers,
    CostOptimized,
    DomainMap,
    LatencyOptimized,
    LearnedPolicy,
    Policy,
    QualityBar,
    RoutePlan,
    Tier,
    WeightedObjective,
)
from langroute.providers import AnthropicProvider, OpenAIProvider, Provider
from langroute.registry import ModelSpec, Registry
from langroute.retry import RetryPolicy
from langroute.router import Router
from langroute.state import HealthConfig, InMemoryHealth, InMemoryRateLimits
from langroute.strategies import Cascade, Ensemble, FallbackChain, Single, Strategy
from langroute.types import ChatParams, Completion, StreamChunk, ToolSpec, Usage
from langroute.versions import Rollout, Versions

__version__ = "0.1.0"

__all__ = [
    "AgentSteps",
    "AllModelsFailed",
    "AnthropicProvider",
    "Attempt",
    "AuditLog",
    "AuthError",
    "BadRequest",
    "BatchJob",
    "BatchQueue",
    "Budget",
    "BudgetExceeded",
    "BudgetState",
    "Budgets",
    "CallerHints",
    "Cascade",
    "ChatParams",
    "CircuitOpen",
    "Classifier",
    "Completion",
    "ComplexityTiers",
    "ConfigError",
    "ConnectionFailed",
    "ContentFiltered",
    "ContextTooLong",
    "CostOptimized",
    "DeadlineExceeded",
    "Decision",
    "DomainMap",
    "Ensemble",
    "FallbackChain",
    "HealthConfig",
    "InMemoryHealth",
    "InMemoryRateLimits",
    "JSONLAuditSink",
    "LangrouteError",
    "LatencyOptimized",
    "LearnedPolicy",
    "LimitExhausted",
    "MalformedResponse",
    "ModelSpec",
    "NoCandidateError",
    "OpenAIProvider",
    "Policy",
    "PromptCompressor",
    "Provider",
    "ProviderError",
    "QualityBar",
    "RateLimited",
    "Registry",
    "RequestFeatures",
    "ResponseCache",
    "RetryPolicy",
    "Rollout",
    "RoutePlan",
    "Router",
    "RouterConfig",
    "RoutingRequest",
    "Rule",
    "RuleClassifier",
    "SQLiteAuditSink",
    "ServerError",
    "Single",
    "Strategy",
    "StreamChunk",
    "StreamInterrupted",
    "TaskProfile",
    "Tier",
    "Timeout",
    "ToolSpec",
    "UnknownModelError",
    "Usage",
    "Versions",
    "WeightedObjective",
    "__version__",
]
