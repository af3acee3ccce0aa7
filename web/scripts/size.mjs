#!/usr/bin/env node
// Measures the initial JavaScript of the production build: the entry chunk plus
// every chunk it imports statically (what the browser must load before the first
// render), gzipped, and fails when it is over the budget. Lazy route chunks
// (dynamic imports) are listed but not counted.
//
// Usage: npm run build && npm run size   (BUDGET_KB overrides the budget)
import { readFileSync, existsSync } from "node:fs";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";

const BUDGET_KB = Number(process.env.BUDGET_KB ?? 200);
const dist = join(dirname(fileURLToPath(import.meta.url)), "..", "dist");
const manifestPath = join(dist, ".vite", "manifest.json");
if (!existsSync(manifestPath)) {
  console.error(`size: ${manifestPath} not found; run npm run build first`);
  process.exit(2);
}
const manifest = JSON.parse(readFileSync(manifestPath, "utf8"));
const entries = Object.entries(manifest).filter(([, c]) => c.isEntry);
if (entries.length === 0) {
  console.error("size: no entry chunk in the manifest");
  process.exit(2);
}

const gz = (file) => gzipSync(readFileSync(join(dist, file)), { level: 9 }).length;
const raw = (file) => readFileSync(join(dist, file)).length;
const kb = (n) => (n / 1024).toFixed(1);

// Walk the static import graph from the entry.
const initial = new Set();
const css = new Set();
const visit = (key) => {
  const chunk = manifest[key];
  if (!chunk || initial.has(chunk.file)) return;
  initial.add(chunk.file);
  for (const c of chunk.css ?? []) css.add(c);
  for (const dep of chunk.imports ?? []) visit(dep);
};
for (const [key] of entries) visit(key);

const lazy = new Set();
for (const chunk of Object.values(manifest)) {
  if (chunk.file.endsWith(".js") && !initial.has(chunk.file)) lazy.add(chunk.file);
}

let total = 0;
console.log("Initial JS (entry + static imports), gzip -9:");
for (const file of initial) {
  const size = gz(file);
  total += size;
  console.log(`  ${file.padEnd(44)} ${kb(raw(file)).padStart(8)} KB raw  ${kb(size).padStart(7)} KB gzip`);
}
let cssTotal = 0;
for (const file of css) cssTotal += gz(file);
let lazyTotal = 0;
for (const file of lazy) lazyTotal += gz(file);
console.log(`Initial CSS: ${kb(cssTotal)} KB gzip (not counted in the JS budget)`);
console.log(`Lazy chunks: ${lazy.size}, ${kb(lazyTotal)} KB gzip in all (loaded per route)`);
const verdict = total <= BUDGET_KB * 1024 ? "within" : "OVER";
console.log(`Initial JS: ${kb(total)} KB gzip; budget ${BUDGET_KB} KB: ${verdict} budget`);
process.exit(total <= BUDGET_KB * 1024 ? 0 : 1);
