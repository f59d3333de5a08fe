/** A file name for a download: the given name, else plugai-<id>.<ext from the MIME type>. */
export function fileName(id: string, mime: string | null | undefined, name?: string | null): string {
  if (name) return name;
  const ext: Record<string, string> = {
    "image/png": "png",
    "image/jpeg": "jpg",
    "image/webp": "webp",
    "model/gltf-binary": "glb",
    "model/obj": "obj",
    "text/plain": "obj",
    "application/ply": "ply",
    "model/ply": "ply",
  };
  return `plugai-${id}.${ext[mime ?? ""] ?? "bin"}`;
}

/** The MIME type of a data: URL. */
export function dataUrlMime(url: string): string | null {
  return /^data:([^;,]+)/.exec(url)?.[1] ?? null;
}

/** Saves a URL (data:, blob: or http(s)) as a file. Cross-origin files are fetched first. */
export async function download(url: string, name: string): Promise<void> {
  let href = url;
  let revoke = false;
  if (/^https?:/.test(url) && new URL(url).origin !== window.location.origin) {
    try {
      const res = await fetch(url);
      if (!res.ok) throw new Error(String(res.status));
      href = URL.createObjectURL(await res.blob());
      revoke = true;
    } catch {
      window.open(url, "_blank", "noopener");
      return;
    }
  }
  const a = document.createElement("a");
  a.href = href;
  a.download = name;
  a.rel = "noopener";
  document.body.append(a);
  a.click();
  a.remove();
  if (revoke) setTimeout(() => URL.revokeObjectURL(href), 10_000);
}
