// Posts every real GitHub delivery in shared/fixtures/github-webhooks/ to a running daemon,
// signed as GitHub signs (HMAC-SHA256 of the exact bytes, X-Hub-Signature-256), and requires
// 202 for each: handled events are stored, others (ping, projects_v2_item) acknowledged and
// ignored. First, one fixture with a wrong signature must get 401, so a receiver that accepts
// anything cannot pass.
//
//   COUNCIL_CONTRACT_WEBHOOK_SECRET=... node tests/contract/post-fixtures.mjs DAEMON_URL
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fail, sharedDir } from './lib.mjs';

function sign(secret, body) {
  return 'sha256=' + crypto.createHmac('sha256', secret).update(body).digest('hex');
}

async function post(url, event, body, signature) {
  const resp = await fetch(`${url}/webhooks/github`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'user-agent': 'GitHub-Hookshot/contract',
      'x-github-event': event,
      'x-github-delivery': crypto.randomUUID(),
      'x-hub-signature-256': signature,
    },
    body,
  });
  return { status: resp.status, text: await resp.text() };
}

async function main() {
  const url = (process.argv[2] || '').replace(/\/$/, '');
  const secret = process.env.COUNCIL_CONTRACT_WEBHOOK_SECRET;
  if (!url || !secret) fail('usage: COUNCIL_CONTRACT_WEBHOOK_SECRET=S post-fixtures.mjs DAEMON_URL');
  const dir = path.join(sharedDir(), 'fixtures', 'github-webhooks');
  const files = fs.readdirSync(dir).filter((f) => f.endsWith('.json')).sort();
  if (files.length === 0) fail(`no fixtures in ${dir}`);

  // Bytes as stored: the signature covers the exact body, so never re-serialise.
  const bodies = files.map((f) => [f, f.split('.')[0], fs.readFileSync(path.join(dir, f))]);
  const [, canaryEvent, canaryBody] = bodies[0];
  const forged = await post(url, canaryEvent, canaryBody, sign(secret + '-wrong', canaryBody));
  if (forged.status !== 401) {
    fail(`a delivery with a wrong signature got ${forged.status}, not 401: ${forged.text}`);
  }
  const bad = [];
  for (const [file, event, body] of bodies) {
    const r = await post(url, event, body, sign(secret, body));
    if (r.status !== 202) bad.push(`${file} (X-GitHub-Event: ${event}) got ${r.status}: ${r.text.trim()}`);
  }
  if (bad.length) fail(`the daemon refused ${bad.length} of ${files.length} real deliveries:\n  ${bad.join('\n  ')}`);
  console.log(`fixtures: a forged signature got 401; all ${files.length} real deliveries got 202`);
}

main().catch((e) => fail(e.stack || String(e)));
