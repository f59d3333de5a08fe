/// <reference types="vitest/config" />
import { defineConfig } from "vite";
import react from "@vitejs/plugin-react";

export default defineConfig({
  plugins: [react()],
  base: "./",
  // The 3D viewer (three.js, ~180 KB gzipped) is a lazy chunk of its own: allowed to be big.
  build: { outDir: "dist", sourcemap: false, chunkSizeWarningLimit: 750 },
  test: { environment: "jsdom", include: ["src/**/*.test.{ts,tsx}"] },
});
