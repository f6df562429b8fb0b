// Checks that types/*.d.ts are exactly the declarations tsc generates from the
// JSDoc of the modules (nbws.js, chart.js and chart-*.js; `npm run types`
// regenerates them). Exit 1 on any difference, naming the file and the first
// line that differs, or when tsc finds errors in the JS.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const tsc = join(root, "node_modules", "typescript", "bin", "tsc");
const out = mkdtempSync(join(tmpdir(), "nbws-types-"));
let failures = 0;
try {
  const run = spawnSync(process.execPath, [tsc, "-p", "tsconfig.types.json", "--outDir", out], { cwd: root, encoding: "utf8" });
  if (run.status !== 0) { // the declarations are still emitted: compare them too
    console.error(`tsc finds errors in the JS:\n${run.stdout}${run.stderr}`);
    failures += 1;
  }
  const generated = readdirSync(out).sort();
  const committed = readdirSync(join(root, "types")).sort();
  for (const name of new Set([...generated, ...committed])) {
    if (!generated.includes(name) || !committed.includes(name)) {
      console.error(`types/${name}: ${generated.includes(name) ? "missing (generated, not committed)" : "not generated from the JS"}`);
      failures += 1;
      continue;
    }
    const want = readFileSync(join(out, name), "utf8").split("\n");
    const have = readFileSync(join(root, "types", name), "utf8").split("\n");
    const line = want.findIndex((text, i) => text !== have[i]);
    if (line >= 0 || want.length !== have.length) {
      const at = line >= 0 ? line : Math.min(want.length, have.length);
      console.error(`types/${name} differs from the declarations generated from the JS at line ${at + 1}:\n` +
        `  committed: ${have[at] ?? "(end of file)"}\n  generated: ${want[at] ?? "(end of file)"}\n` +
        "run `npm run types` in js/ and commit the result");
      failures += 1;
    }
  }
} finally {
  rmSync(out, { recursive: true, force: true });
}
if (failures) process.exit(1);
console.log("types/*.d.ts match the modules");
