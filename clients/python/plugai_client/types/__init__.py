"""Typed responses of the PlugAI API (pydantic models)."""

from plugai_client.types.chat import (
    AssistantMessage,
    ChatCompletion,
    ChatCompletionChunk,
    Choice,
    ChunkChoice,
    Delta,
    FunctionCall,
    FunctionCallDelta,
    ToolCall,
    ToolCallDelta,
    Usage,
)
from plugai_client.types.common import Deleted
from plugai_client.types.completions import Completion, CompletionChoice
from plugai_client.types.embeddings import Embedding, EmbeddingList, EmbeddingUsage
from plugai_client.types.images import Image, ImagesResponse
from plugai_client.types.keys import ProviderKey, ProviderKeyList
from plugai_client.types.models import ModelCard, ModelList
from plugai_client.types.registry import (
    DownloadJob,
    DownloadJobList,
    LoadedList,
    LoadedModel,
    RegistryModel,
    RegistryModelList,
    RemoveResult,
    ScanResult,
    UnloadResult,
)
from plugai_client.types.sessions import (
    SessionDetail,
    SessionInfo,
    SessionMessage,
    SessionMessages,
    SessionPage,
)
from plugai_client.types.storage import CleanupResult, StorageUsage
from plugai_client.types.users import (
    ApiKey,
    ApiKeyIssued,
    ApiKeyList,
    Me,
    User,
    UserCreated,
    UserList,
)

__all__ = [
    "ApiKey",
    "ApiKeyIssued",
    "ApiKeyList",
    "AssistantMessage",
    "ChatCompletion",
    "ChatCompletionChunk",
    "Choice",
    "ChunkChoice",
    "CleanupResult",
    "Completion",
    "CompletionChoice",
    "Deleted",
    "Delta",
    "DownloadJob",
    "DownloadJobList",
    "Embedding",
    "EmbeddingList",
    "EmbeddingUsage",
    "FunctionCall",
    "FunctionCallDelta",
    "Image",
    "ImagesResponse",
    "LoadedList",
    "LoadedModel",
    "Me",
    "ModelCard",
    "ModelList",
    "ProviderKey",
    "ProviderKeyList",
    "RegistryModel",
    "RegistryModelList",
    "RemoveResult",
    "ScanResult",
    "SessionDetail",
    "SessionInfo",
    "SessionMessage",
    "SessionMessages",
    "SessionPage",
    "StorageUsage",
    "ToolCall",
    "ToolCallDelta",
    "UnloadResult",
    "Usage",
    "User",
    "UserCreated",
    "UserList",
]
