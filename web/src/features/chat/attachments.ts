// Image attachments for vision models: checked, downscaled when large, sent as data: URLs.
import type { ModelCard } from "../../api/types";

export const MAX_IMAGES = 8;
export const MAX_INPUT_BYTES = 20 * 1024 * 1024;
/** Longest side sent; larger pictures are scaled down (providers downscale anyway). */
export const MAX_SIDE = 2048;
/** Files above this are re-encoded as JPEG even when small enough in pixels. */
export const REENCODE_ABOVE = 1.5 * 1024 * 1024;
const TYPES = ["image/png", "image/jpeg", "image/webp", "image/gif"];

/** Why a model can't take images, in words; null when it can (or no model is chosen). */
export function visionRefusal(card: Pick<ModelCard, "id" | "capabilities"> | null): string | null {
  if (!card || card.capabilities?.vision) return null;
  return `${card.id} can't see images. Choose a model with the “vision” badge to send pictures.`;
}

/** Why a file is refused, in words; null when it can be attached. */
export function fileRefusal(file: { name: string; type: string; size: number }, already: number): string | null {
  if (!TYPES.includes(file.type)) return `${file.name || "This file"} is not a PNG, JPEG, WebP or GIF image.`;
  if (file.size > MAX_INPUT_BYTES) return `${file.name} is larger than ${MAX_INPUT_BYTES / 1024 / 1024} MB.`;
  if (already >= MAX_IMAGES) return `At most ${MAX_IMAGES} images per message.`;
  return null;
}

/** The size to draw a picture at: unchanged when it fits within MAX_SIDE. */
export function scaledSize(width: number, height: number, maxSide = MAX_SIDE): { width: number; height: number } {
  const side = Math.max(width, height);
  if (side <= maxSide) return { width, height };
  const k = maxSide / side;
  return { width: Math.max(1, Math.round(width * k)), height: Math.max(1, Math.round(height * k)) };
}

/** Image files among pasted or dropped items. */
export function imageFiles(data: DataTransfer | null): File[] {
  if (!data) return [];
  return [...data.files].filter((f) => f.type.startsWith("image/"));
}

function readAsDataUrl(blob: Blob): Promise<string> {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(String(reader.result));
    reader.onerror = () => reject(reader.error ?? new Error("The file could not be read."));
    reader.readAsDataURL(blob);
  });
}

/** A data: URL of the picture, scaled down and re-encoded as JPEG when it is large. */
export async function toDataUrl(file: File): Promise<string> {
  if (file.type === "image/gif" || typeof createImageBitmap !== "function") return readAsDataUrl(file);
  const bitmap = await createImageBitmap(file);
  try {
    const size = scaledSize(bitmap.width, bitmap.height);
    if (size.width === bitmap.width && file.size <= REENCODE_ABOVE) return readAsDataUrl(file);
    const canvas = document.createElement("canvas");
    canvas.width = size.width;
    canvas.height = size.height;
    const g = canvas.getContext("2d");
    if (!g) return readAsDataUrl(file);
    g.fillStyle = "#fff"; // JPEG has no transparency
    g.fillRect(0, 0, size.width, size.height);
    g.drawImage(bitmap, 0, 0, size.width, size.height);
    const blob = await new Promise<Blob | null>((r) => canvas.toBlob(r, "image/jpeg", 0.85));
    return readAsDataUrl(blob ?? file);
  } finally {
    bitmap.close();
  }
}
