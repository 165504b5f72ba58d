import { defineConfig } from "vite";
import vue from "@vitejs/plugin-vue";

// Built into web/dist, which everycall serves at / (dispatch/entrypoints/api/web.py). Nothing
// is loaded from the internet: every script, style and font is in the build.
export default defineConfig({
  plugins: [vue()],
  base: "/",
  build: { outDir: "dist", emptyOutDir: true, assetsInlineLimit: 0 },
});
