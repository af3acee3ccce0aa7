import { defineConfig } from "vitest/config";
import type { Plugin } from "vite";
import react from "@vitejs/plugin-react";

/**
 * `npm run dev` only: answers GET /config.json (in the real setup the runner
 * serves it next to web/dist). Override with SHOP_API_URL, SHOP_LIVE_URL and
 * SHOP_TOKEN_URL. No proxy: the SPA talks to the API origin directly (CORS).
 */
function devConfigJson(): Plugin {
  return {
    name: "shop-dev-config-json",
    apply: "serve",
    configureServer(server) {
      server.middlewares.use("/config.json", (_req, res) => {
        const apiUrl = process.env.SHOP_API_URL ?? "http://127.0.0.1:3000";
        const body = {
          apiUrl,
          liveUrl: process.env.SHOP_LIVE_URL ?? "ws://127.0.0.1:3001/live",
          auth: { mode: "dev", tokenUrl: process.env.SHOP_TOKEN_URL ?? `${apiUrl}/dev/token` },
        };
        res.setHeader("content-type", "application/json");
        res.setHeader("cache-control", "no-store");
        res.end(JSON.stringify(body));
      });
    },
  };
}

export default defineConfig({
  plugins: [react(), devConfigJson()],
  build: {
    outDir: "dist",
    emptyOutDir: true,
    // dist/.vite/manifest.json lets scripts/size.mjs find the entry and its static imports.
    manifest: true,
    sourcemap: false,
  },
  test: {
    environment: "node",
    include: ["src/**/*.test.ts", "src/**/*.test.tsx"],
    setupFiles: ["src/test/setup.ts"],
    restoreMocks: true,
  },
});
