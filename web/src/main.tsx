import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { App } from "./App";
import { loadConfig } from "./api/client";
import "./styles.css";

const saved = localStorage.getItem("plugai.theme");
document.documentElement.dataset.theme =
  saved ?? (window.matchMedia?.("(prefers-color-scheme: dark)").matches ? "dark" : "light");

void loadConfig().then((config) =>
  createRoot(document.getElementById("root")!).render(
    <StrictMode>
      <App baseUrl={config.apiBaseUrl} />
    </StrictMode>,
  ),
);

if ("serviceWorker" in navigator && import.meta.env.PROD) {
  navigator.serviceWorker.register("./sw.js").catch(() => undefined);
}
