// The 3D answer, as PlugAI's contract gives it (POST /v1/3d/generations).
// TODO: use the generated types (S["MeshesResponse"]) once the route is in /openapi.json.
import type { Artifact } from "../../api/types";
import type { MeshFormat } from "./scene";

export interface ArtifactRef {
  artifact_id: string;
  url: string;
  mime_type?: string;
  bytes?: number;
}

export interface MeshData extends ArtifactRef {
  format: MeshFormat;
  vertices?: number | null;
  faces?: number | null;
  preview?: ArtifactRef | null;
}

export interface MeshesResponse {
  created: number;
  model?: string;
  data: MeshData[];
}

/** A mesh to list and show: from a generation answer or a stored artifact. */
export interface MeshItem {
  id: string;
  url: string;
  format: MeshFormat;
  model: string | null;
  prompt: string;
  vertices: number | null;
  faces: number | null;
  bytes: number | null;
  previewUrl: string | null;
}

const FORMATS = ["glb", "obj", "ply"];

export function formatOf(value: unknown, mime?: string | null): MeshFormat {
  if (typeof value === "string" && FORMATS.includes(value)) return value as MeshFormat;
  if (mime?.includes("gltf")) return "glb";
  if (mime?.includes("ply")) return "ply";
  if (mime?.includes("obj")) return "obj";
  return "glb";
}

export function meshesOf(res: MeshesResponse, prompt: string, model: string): MeshItem[] {
  return res.data.map((d) => ({
    id: d.artifact_id,
    url: d.url,
    format: formatOf(d.format, d.mime_type),
    model: res.model ?? model,
    prompt,
    vertices: d.vertices ?? null,
    faces: d.faces ?? null,
    bytes: d.bytes ?? null,
    previewUrl: d.preview?.url ?? null,
  }));
}

/** A stored mesh artifact; its preview's URL from the preview artifacts (by id). */
export function meshOfArtifact(a: Artifact, previews: ReadonlyMap<string, string>): MeshItem {
  const prompt = typeof a.metadata?.prompt === "string" ? a.metadata.prompt : "";
  return {
    id: a.id,
    url: a.url,
    format: formatOf(a.format, a.mime_type),
    model: a.model,
    prompt,
    vertices: a.vertices ?? null,
    faces: a.faces ?? null,
    bytes: a.bytes,
    previewUrl: a.preview_id ? (previews.get(a.preview_id) ?? null) : null,
  };
}
