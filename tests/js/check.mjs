// `make lint-js`: TypeScript checks the JSDoc types of static/js (pages) and static/sw.js (the service worker), and
// every error it reports must be in tsc-baseline.txt, the recorded list of what is left to fix. The list only
// shrinks: an error that is gone must leave it too, so a fix is never undone unseen.
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, "..", "..");
const tsc = join(here, "node_modules", "typescript", "bin", "tsc");
const projects = ["static/js/jsconfig.json", "static/jsconfig.json"];
const baselineFile = join(here, "tsc-baseline.txt");

/** tsc's errors for one project, each as "file: TSnnnn: message" (no line numbers, which move with every edit). */
function errors(project) {
  let out = "";
  try {
    execFileSync(process.execPath, [tsc, "-p", join(root, project), "--pretty", "false"], { cwd: root, encoding: "utf8" });
  } catch (error) {
    if (error.status !== 1 && error.status !== 2) throw error;
    out = String(error.stdout);
  }
  const found = [];
  for (const line of out.split("\n")) {
    const match = /^(.+?)\(\d+,\d+\): error (TS\d+): (.*)$/.exec(line);
    if (match) found.push(`${relative(root, join(root, match[1]))}: ${match[2]}: ${match[3]}`);
    else if (line.startsWith(" ") && found.length) found[found.length - 1] += ` ${line.trim()}`;
    else if (line.trim()) found.push(line.trim());
  }
  return found;
}

/** @param {string[]} items */
function counts(items) {
  const map = new Map();
  for (const item of items) map.set(item, (map.get(item) || 0) + 1);
  return map;
}

const reported = counts([...new Set(projects)].flatMap(errors));
const recorded = counts(
  readFileSync(baselineFile, "utf8")
    .split("\n")
    .map((line) => line.trim())
    .filter((line) => line && !line.startsWith("#")),
);
const unseen = [];
const fixed = [];
for (const [key, n] of reported) for (let i = (recorded.get(key) || 0); i < n; i++) unseen.push(key);
for (const [key, n] of recorded) for (let i = (reported.get(key) || 0); i < n; i++) fixed.push(key);
if (unseen.length) {
  console.error(`checkJs: ${unseen.length} type error(s) not in tests/js/tsc-baseline.txt:`);
  for (const key of unseen) console.error(`  ${key}`);
}
if (fixed.length) {
  console.error(`checkJs: fixed, so take these out of tests/js/tsc-baseline.txt:`);
  for (const key of fixed) console.error(`  ${key}`);
}
if (unseen.length || fixed.length) process.exit(1);
const left = [...recorded.values()].reduce((a, b) => a + b, 0);
console.log(`checkJs: static/js and static/sw.js type-check (${left} recorded error(s) left to fix).`);
