// Aliases of the generated OpenAPI types (src/api/schema.d.ts, from `npm run gen-api`).
import type { components } from "./schema";

type S = components["schemas"];
export type ModelCard = S["ModelObject"];
export type ModelList = S["ModelList"];
export type Session = S["SessionOut"];
export type SessionWithMessages = S["SessionWithMessages"];
export type SessionMessage = S["SessionMessageOut"];
export type ProviderKey = S["ProviderKeyPublic"];
export type ChatRequest = S["ChatCompletionRequest"];
export type ChatMessage = S["ChatMessage"];
export type ContentPart = S["ContentPart"];
export type Usage = S["UsageModel"];
export type ChatCompletion = S["ChatCompletionResponse"];

/** One streamed `chat.completion.chunk`: the generated response type with `delta` for `message`. */
export type ChatChunk = Omit<ChatCompletion, "object" | "choices"> & {
  object: "chat.completion.chunk";
  choices: Array<
    Omit<ChatCompletion["choices"][number], "message"> & {
      delta: Partial<ChatCompletion["choices"][number]["message"]>;
    }
  >;
};

/** JSON Schema of a model's parameters, as the card carries it (`parameters`). */
export type ParamSchema = ModelCard["parameters"];

export type Me = S["Me"];
export type RegistryModel = S["RegistryModelPublic"];
export type DownloadJob = S["DownloadJobPublic"];
export type StorageUsage = S["StorageUsagePublic"];
export type CleanupResult = S["CleanupResult"];
export type LoadedModel = S["LoadedModelPublic"];
export type ImagesResponse = S["ImagesResponse"];
export type ImageData = S["ImageData"];
export type ImageRequest = S["ImageGenerationRequest"];
export type Job = S["JobOut"];
export type Artifact = S["ArtifactOut"];
export type ArtifactList = S["ArtifactList"];
