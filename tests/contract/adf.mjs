// Validates ADF documents against Atlassian's published ADF JSON schema
// (@atlaskit/adf-schema dist/json-schema/v1/full.json, draft-04, so ajv-draft-04) and
// against the node and mark types Jira Cloud renders in issue fields and comments.
//
// usage: node tests/contract/adf.mjs [--dir DIR]... [--sandbox URL --jql JQL]
//   --dir: every *.json file in DIR is one ADF document (the markup tests' corpus);
//   --sandbox: every ADF document stored in the sandbox's Jira for the JQL (the demo's
//   descriptions and comments, as the daemon sent them).
// Exits 1 and prints each failure when one document is invalid, or when none was found.
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { createRequire } from "node:module";
import Ajv from "ajv-draft-04";

const require = createRequire(import.meta.url);
const schema = require("@atlaskit/adf-schema/dist/json-schema/v1/full.json");

// Node and mark types Jira Cloud renders in an issue's rich-text fields and comments
// (the editor's "full" schema has more: extensions, layouts, media inline, etc.).
const NODES = new Set([
  "doc", "paragraph", "text", "hardBreak", "heading", "bulletList", "orderedList",
  "listItem", "blockquote", "codeBlock", "rule", "panel", "table", "tableRow",
  "tableHeader", "tableCell", "mention", "emoji", "date", "status", "inlineCard",
  "mediaSingle", "mediaGroup", "media", "expand", "nestedExpand", "taskList", "taskItem",
  "decisionList", "decisionItem",
]);
const MARKS = new Set([
  "strong", "em", "strike", "code", "underline", "link", "subsup", "textColor",
]);

const args = process.argv.slice(2);
const dirs = [];
let sandbox = null;
let jql = 'labels = "council-sync"';
for (let i = 0; i < args.length; i++) {
  if (args[i] === "--dir") dirs.push(args[++i]);
  else if (args[i] === "--sandbox") sandbox = args[++i];
  else if (args[i] === "--jql") jql = args[++i];
  else {
    console.error(`adf: unknown argument ${args[i]}`);
    process.exit(2);
  }
}

const ajv = new Ajv({ allErrors: true, strict: false });
const validate = ajv.compile(schema);

// Canaries: a validation that silently accepts anything must fail the step.
const canaries = [
  { type: "doc", version: 1, content: [{ type: "paragraph", content: [{ type: "bogus" }] }] },
  { type: "doc", version: 1, content: [{ type: "bulletList", content: [] }] },
  { type: "doc", version: 1, content: [{ type: "text", text: "text at the top" }] },
];
for (const canary of canaries) {
  if (validate(canary)) {
    console.error(`adf: canary not caught, the schema accepts ${JSON.stringify(canary)}`);
    process.exit(1);
  }
}

/** Every ADF document (an object with type "doc") inside a JSON value. */
function docsIn(value, found = []) {
  if (Array.isArray(value)) value.forEach((v) => docsIn(v, found));
  else if (value && typeof value === "object") {
    if (value.type === "doc" && Array.isArray(value.content)) found.push(value);
    else Object.values(value).forEach((v) => docsIn(v, found));
  }
  return found;
}

/** Node or mark types outside what Jira Cloud renders (iterative: documents can be deep). */
function foreignTypes(doc) {
  const bad = new Set();
  const stack = [doc];
  while (stack.length) {
    const node = stack.pop();
    if (!NODES.has(node.type)) bad.add(`node ${node.type}`);
    for (const m of node.marks ?? []) if (!MARKS.has(m.type)) bad.add(`mark ${m.type}`);
    for (const child of node.content ?? []) stack.push(child);
  }
  return [...bad];
}

const docs = [];
for (const dir of dirs) {
  for (const name of readdirSync(dir).filter((n) => n.endsWith(".json")).sort()) {
    docs.push([join(dir, name), JSON.parse(readFileSync(join(dir, name), "utf8"))]);
  }
}
if (sandbox) {
  const url = `${sandbox}/_sandbox/jira/issues?jql=${encodeURIComponent(jql)}`;
  const res = await fetch(url);
  if (!res.ok) {
    console.error(`adf: ${url} answered ${res.status}`);
    process.exit(1);
  }
  for (const issue of await res.json()) {
    docsIn(issue).forEach((d, i) => docs.push([`${issue.key} document ${i}`, d]));
  }
}

let failed = 0;
for (const [name, doc] of docs) {
  const problems = [];
  if (!validate(doc)) {
    problems.push(...validate.errors.slice(0, 5).map((e) => `${e.instancePath} ${e.message}`));
  }
  problems.push(...foreignTypes(doc).map((t) => `${t} is not rendered by Jira Cloud`));
  if (problems.length) {
    failed++;
    console.error(`adf: ${name} is not valid ADF:\n  ${problems.join("\n  ")}`);
  }
}
if (docs.length === 0) {
  console.error("adf: no ADF documents found: nothing was checked");
  process.exit(1);
}
console.log(`adf: ${docs.length - failed} of ${docs.length} documents valid against full.json`);
process.exit(failed ? 1 : 0);
