#!/usr/bin/env node
// The API's types, generated from the contract (infra/openapi.yaml) by openapi-typescript.
//
//   npm run gen:api     writes src/api/schema.d.ts (checked in: builds need no generation step)
//   npm run check:api   regenerates into a temporary file and fails when src/api/schema.d.ts
//                       differs (run by `npm run typecheck`, so CI catches drift)
//
// openapi-typescript is pinned to 6.x: its Node API, used here, needs no TypeScript
// compiler (7.x builds its output with TypeScript 5's compiler API, which this project's
// TypeScript 7 does not have).
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import openapiTS from "openapi-typescript";

const web = fileURLToPath(new URL("..", import.meta.url));
const spec = new URL("../../infra/openapi.yaml", import.meta.url);
const target = join(web, "src", "api", "schema.d.ts");
const check = process.argv.includes("--check");

const HEADER = `/**
 * Generated from infra/openapi.yaml by openapi-typescript (\`npm run gen:api\`).
 * Do not edit: change the contract and regenerate; \`npm run check:api\` fails when this is stale.
 */
`;

// The Node API returns the whole file: commentHeader, then the types.
const generated = await openapiTS(spec, { commentHeader: HEADER, silent: true });

if (!check) {
  writeFileSync(target, generated);
  console.log(`gen:api: wrote ${relative(web, target)} from ${relative(web, fileURLToPath(spec))}`);
  process.exit(0);
}

const dir = mkdtempSync(join(tmpdir(), "shop-gen-api-"));
try {
  const fresh = join(dir, "schema.d.ts");
  writeFileSync(fresh, generated);
  const expected = readFileSync(fresh, "utf8");
  let current = null;
  try {
    current = readFileSync(target, "utf8");
  } catch {
    // missing: stale
  }
  if (current === expected) {
    console.log(`check:api: ${relative(web, target)} is up to date with infra/openapi.yaml`);
  } else {
    console.error(`check:api: ${relative(web, target)} is out of date with infra/openapi.yaml.`);
    if (current === null) {
      console.error("  (the file is missing)");
    } else {
      const a = current.split("\n");
      const b = expected.split("\n");
      let line = 0;
      while (line < a.length && line < b.length && a[line] === b[line]) line++;
      console.error(`  first difference at line ${line + 1}:`);
      console.error(`    checked in: ${a[line] ?? "(end of file)"}`);
      console.error(`    generated:  ${b[line] ?? "(end of file)"}`);
    }
    console.error("Run `npm run gen:api` in web/ and commit src/api/schema.d.ts.");
    process.exitCode = 1;
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
