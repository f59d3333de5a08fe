/** The app's screens, addressed by the URL hash (the app can live under any path). */
export type Route =
  | { view: "chat"; session: string | null }
  | { view: "keys" }
  | { view: "images" }
  | { view: "mesh" }
  | { view: "models" };

export const SECTIONS = [
  { view: "chat", hash: "#/", label: "Chat" },
  { view: "images", hash: "#/images", label: "Images" },
  { view: "mesh", hash: "#/3d", label: "3D" },
  { view: "models", hash: "#/models", label: "Models", admin: true },
] as const;

export function parseHash(hash: string): Route {
  if (hash === "#/keys") return { view: "keys" };
  if (hash === "#/images") return { view: "images" };
  if (hash === "#/3d") return { view: "mesh" };
  if (hash === "#/models") return { view: "models" };
  const m = /^#\/s\/([\w-]+)$/.exec(hash);
  return { view: "chat", session: m ? m[1]! : null };
}
