// Validates every webhook payload the sandbox emitted against GitHub's webhook schemas.
//
//   node tests/contract/webhooks.mjs SANDBOX_URL [--require event.action ...]
//
// Reads GET SANDBOX_URL/_sandbox/deliveries (the whole log, payloads included) and checks each
// payload against `webhook-<event>-<action>` (with `_` -> `-`) of
// shared/specs/github-webhooks.slice.json, with ajv in JSON Schema 2020-12 mode and
// ajv-formats, `$ref`s resolved within that document. Before that, the validator proves it
// can fail: the real fixtures in shared/fixtures/github-webhooks/ must pass and a fixture
// with a required field removed must not. Fails when the log lost entries (its first `seq`
// is not 1), when a required event/action never occurred, when a delivery has no schema,
// or when any payload is invalid.
import fs from 'node:fs';
import path from 'node:path';
import Ajv2020 from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { fail, readJson, sharedDir } from './lib.mjs';

const SPEC_ID = 'github-webhooks.slice.json';

function parseArgs(argv) {
  const [url, ...rest] = argv;
  if (!url) fail('usage: webhooks.mjs SANDBOX_URL [--require event.action ...]');
  const required = [];
  for (let i = 0; i < rest.length; i++) {
    if (rest[i] === '--require' && rest[i + 1]) required.push(rest[++i]);
    else fail(`webhooks.mjs: unexpected argument ${rest[i]}`);
  }
  return { url: url.replace(/\/$/, ''), required };
}

/** One validator over the whole slice; schemas are looked up by name, compiled once each. */
function makeValidator(shared) {
  const spec = readJson(path.join(shared, 'specs', SPEC_ID));
  // strict: false because OpenAPI adds keywords JSON Schema does not know (discriminator,
  // example, xml); they carry no validation. allErrors to report every problem at once.
  const ajv = new Ajv2020({ strict: false, allErrors: true, validateFormats: true });
  addFormats(ajv);
  ajv.addSchema({ ...spec, $id: SPEC_ID });
  const cache = new Map();
  // `ping` has no action: its schema is `webhook-ping`.
  return (event, action) => {
    const name = (action ? `webhook-${event}-${action}` : `webhook-${event}`).replaceAll('_', '-');
    if (!cache.has(name)) {
      cache.set(
        name,
        spec.components?.schemas?.[name] ? ajv.getSchema(`${SPEC_ID}#/components/schemas/${name}`) : null,
      );
    }
    return { name, validate: cache.get(name) };
  };
}

function describe(errors) {
  return (errors || [])
    .slice(0, 8)
    .map((e) => `    ${e.instancePath || '/'} ${e.message}${e.params ? ' ' + JSON.stringify(e.params) : ''}`)
    .join('\n');
}

/** The validator must accept real deliveries and reject a broken one, or it proves nothing. */
function selfTest(schemaFor, shared) {
  const dir = path.join(shared, 'fixtures', 'github-webhooks');
  const files = fs.readdirSync(dir).filter((f) => f.endsWith('.json'));
  if (files.length === 0) fail(`no fixtures in ${dir}`);
  let checked = 0;
  for (const f of files) {
    const [event, action] = f.replace(/\.json$/, '').split('.');
    const { name, validate } = schemaFor(event, action);
    if (!validate) fail(`self-test: no schema ${name} for fixture ${f}`);
    if (!validate(readJson(path.join(dir, f)))) {
      fail(`self-test: real fixture ${f} is rejected by ${name}:\n${describe(validate.errors)}`);
    }
    checked++;
  }
  const labeled = readJson(path.join(dir, 'issues.labeled.json'));
  delete labeled.issue.number;
  const { validate } = schemaFor('issues', 'labeled');
  if (validate(labeled)) fail('self-test: an issues.labeled payload without issue.number passed validation');
  return checked;
}

async function main() {
  const { url, required } = parseArgs(process.argv.slice(2));
  const shared = sharedDir();
  const schemaFor = makeValidator(shared);
  const fixtures = selfTest(schemaFor, shared);

  const resp = await fetch(`${url}/_sandbox/deliveries`);
  if (!resp.ok) fail(`GET ${url}/_sandbox/deliveries answered ${resp.status}`);
  const log = await resp.json();
  if (!Array.isArray(log) || log.length === 0) fail('the sandbox emitted no webhook deliveries');
  if (log[0].seq !== 1) {
    fail(`the delivery log starts at seq ${log[0].seq}: older deliveries were dropped, so not every payload can be checked (raise LOG_CAPACITY in src/sandbox/webhooks.rs)`);
  }
  const counts = new Map();
  // Problem text -> delivery numbers: one broken render shows once, not once per delivery.
  const problems = new Map();
  const note = (text, d) => problems.set(text, [...(problems.get(text) ?? []), `#${d.seq} (${d.repository})`]);
  for (const d of log) {
    const key = `${d.event}.${d.action}`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
    const { name, validate } = schemaFor(d.event, d.action);
    if (!validate) note(`${key}: no schema ${name} in ${SPEC_ID}`, d);
    else if (!validate(d.payload)) note(`${key} is not a valid ${name}:\n${describe(validate.errors)}`, d);
  }
  const bad = [...problems].map(([text, ds]) => {
    const shown = ds.slice(0, 3).join(', ') + (ds.length > 3 ? `, … (${ds.length} deliveries)` : '');
    return `${shown}: ${text}`;
  });
  const summary = [...counts].sort().map(([k, n]) => `${k}=${n}`).join(' ');
  console.log(`webhooks: ${fixtures} fixtures pass and a broken one fails; ${log.length} deliveries: ${summary}`);
  const broken = [...problems.values()].reduce((n, ds) => n + ds.length, 0);
  const missing = required.filter((k) => !counts.has(k));
  const reasons = [
    ...(broken ? [`${broken} of ${log.length} deliveries are not what GitHub sends:`, ...bad] : []),
    ...(missing.length ? [`no delivery of ${missing.join(', ')} during the run`] : []),
  ];
  if (reasons.length) fail(`webhooks: ${reasons.join('\n')}`);
  console.log(`webhooks: all ${log.length} payloads valid against ${SPEC_ID}`);
}

main().catch((e) => fail(e.stack || String(e)));
