// Checks the merged Jira description before Prism loads it: every `$ref` resolves inside the
// document (the fragment refers to jira.json's IssueBean and JsonTypeBean, which only the
// merge brings in; Prism would otherwise fail or skip validation), and the operations the
// run relies on are there.
//
//   node tests/contract/spec-refs.mjs SPEC.json [--op "METHOD /path"] ...
import { fail, readJson } from './lib.mjs';

function pointer(doc, ref) {
  if (!ref.startsWith('#/')) return undefined;
  let node = doc;
  for (const raw of ref.slice(2).split('/')) {
    const key = decodeURIComponent(raw).replaceAll('~1', '/').replaceAll('~0', '~');
    if (node === null || typeof node !== 'object' || !(key in node)) return undefined;
    node = node[key];
  }
  return node;
}

function refs(node, out) {
  if (Array.isArray(node)) node.forEach((v) => refs(v, out));
  else if (node && typeof node === 'object') {
    for (const [k, v] of Object.entries(node)) {
      if (k === '$ref' && typeof v === 'string') out.add(v);
      else if (!['example', 'examples', 'enum', 'default', 'const'].includes(k)) refs(v, out);
    }
  }
  return out;
}

const [file, ...rest] = process.argv.slice(2);
if (!file) fail('usage: spec-refs.mjs SPEC.json [--op "METHOD /path"] ...');
const doc = readJson(file);
const all = refs(doc, new Set());
const dangling = [...all].filter((r) => pointer(doc, r) === undefined);
if (dangling.length) fail(`${file}: ${dangling.length} $ref(s) resolve to nothing: ${dangling.slice(0, 10).join(', ')}`);
const missing = [];
for (let i = 0; i < rest.length; i++) {
  if (rest[i] !== '--op' || !rest[i + 1]) fail(`spec-refs.mjs: unexpected argument ${rest[i]}`);
  const [method, path] = rest[++i].split(' ');
  if (!doc.paths?.[path]?.[method.toLowerCase()]) missing.push(rest[i]);
}
if (missing.length) fail(`${file}: missing operation(s) ${missing.join(', ')}`);
const ops = Object.values(doc.paths ?? {}).reduce(
  (n, item) => n + Object.keys(item).filter((m) => ['get', 'put', 'post', 'delete', 'patch', 'head', 'options', 'trace'].includes(m)).length,
  0,
);
console.log(`spec: ${file}: ${ops} operations, all ${all.size} distinct $refs resolve`);
