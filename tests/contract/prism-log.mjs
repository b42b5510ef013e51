// Reads a Prism 5.14 proxy log (its default text output) and reports every request Prism
// found at odds with the API description.
//
//   node tests/contract/prism-log.mjs NAME LOG [--from LINE] [--expect request|response]
//
// Without --expect: lists each `Violation:` (request or response, error or warning, which
// includes "Selected route not found": a path or method the description lacks),
// `NO_PATH_MATCHED` and `Request terminated with error` from line LINE (1-based) on, with the
// request it belongs to, and exits 1 if there is any. Allowed: an undeclared 429 or 5xx
// status (see UNDECLARED_STATUS below), and POST /graphql (see GRAPHQL_ROUTE). With --expect: exits 0 only if the lines from
// LINE on hold at least one Violation of that side (the canaries).
//
// Prism logs no request id. Its order for one proxied request is: `Request received` (method
// and path), `> Forwarding "m" request to URL`, `The upstream call to PATH has returned N`,
// `< Received forward response`, then that request's violations, all logged together. A
// violation is attributed to the latest upstream answer before it; under concurrent
// requests that is right as long as two answers do not arrive within the same few
// microseconds, so the line printed with each violation is the request that most likely
// caused it (the violation text itself is always exact).
import fs from 'node:fs';
import { fail } from './lib.mjs';

const ANSI = /\x1b\[[0-9;]*m/g;

/**
 * GitHub and Jira answer 429 and 5xx from any endpoint without listing them in their
 * descriptions, and the tests inject exactly those through the sandbox's faults. So an
 * undeclared 429/5xx status is not drift; any other undeclared status, and any body that
 * does not match, still is.
 */
const UNDECLARED_STATUS = 'Violation: response Unable to match the returned status code';
/**
 * One 404 GitHub's description leaves out: editing a comment under a repository the issue has
 * just been transferred away from (the comment moved with the issue). The daemon may meet it
 * when a transfer lands between its read of the issue and its edit of the tracking comment
 * (tests/links.rs transfers issues); it then finds the issue at its new address.
 */
const COMMENT_EDIT = /^\/repos\/[^/]+\/[^/]+\/issues\/comments\/\d+$/;
const undeclared404OfAMovedComment = (r) =>
  r.status === 404 && r.method === 'PATCH' && COMMENT_EDIT.test(r.url.split('?')[0]);
/**
 * GitHub's GraphQL endpoint (GitHub Projects) is not in GitHub's REST description, so Prism
 * finds no route for it. It is checked elsewhere: the sandbox validates every document it
 * receives against github-schema.graphql and answers GraphQL errors, which fail the demo.
 */
const GRAPHQL_ROUTE = 'Violation: request Selected route not found';
const graphqlOutsideTheDescription = (p) =>
  p.text.startsWith(GRAPHQL_ROUTE) &&
  p.request &&
  p.request.method === 'POST' &&
  p.request.url.split('?')[0] === '/graphql';
const undeclaredButNormal = (p) =>
  graphqlOutsideTheDescription(p) ||
  (p.text.startsWith(UNDECLARED_STATUS) &&
    p.request &&
    (p.request.status === 429 || p.request.status >= 500 || undeclared404OfAMovedComment(p.request)));

function parseArgs(argv) {
  const [name, file, ...rest] = argv;
  if (!name || !file) fail('usage: prism-log.mjs NAME LOG [--from LINE] [--expect request|response]');
  let from = 1;
  let expect = null;
  for (let i = 0; i < rest.length; i++) {
    if (rest[i] === '--from') from = Number(rest[++i]);
    else if (rest[i] === '--expect') expect = rest[++i];
    else fail(`prism-log.mjs: unexpected argument ${rest[i]}`);
  }
  if (!Number.isInteger(from) || from < 1) fail('prism-log.mjs: --from wants a line number');
  if (expect && !['request', 'response'].includes(expect)) fail('--expect wants request or response');
  return { name, file, from, expect };
}

const stripQuery = (p) => p.split('?')[0];

/** Walks the log and returns {requests, problems: [{request, text}]}. */
function scan(lines) {
  const pending = []; // forwarded, not yet answered: {method, url, path}
  let current = null; // the request whose answer came last
  let requests = 0;
  const problems = [];
  for (const raw of lines) {
    const line = raw.replace(ANSI, '');
    let m;
    if (/\[HTTP SERVER\] \S+ \S+ .*Request received/.test(line)) {
      requests++;
    } else if ((m = line.match(/> Forwarding "(\w+)" request to (\S+?)(?:\.\.\.)?$/))) {
      const url = new URL(m[2]);
      pending.push({ method: m[1].toUpperCase(), url: url.pathname + url.search, path: url.pathname });
    } else if ((m = line.match(/The upstream call to (\S+) has returned (\d+)/))) {
      const path = stripQuery(m[1]);
      const i = pending.findIndex((p) => p.path === path);
      const req = i >= 0 ? pending.splice(i, 1)[0] : { method: '?', url: m[1], path };
      current = { ...req, status: Number(m[2]) };
    } else if ((m = line.match(/Violation: (.*)$/))) {
      problems.push({ request: current, text: `Violation: ${m[1].trim()}`, side: m[1].split(/[ .]/)[0] });
    } else if ((m = line.match(/\[HTTP SERVER\] (\S+) (\S+) .*(Request terminated with error: .*)$/))) {
      problems.push({ request: { method: m[1].toUpperCase(), url: m[2], status: null }, text: m[3], side: 'request' });
    } else if (line.includes('NO_PATH_MATCHED')) {
      problems.push({ request: current, text: line.replace(/^\[[^\]]*\]\s*›\s*/, '').trim(), side: 'request' });
    }
  }
  return { requests, problems };
}

function request(p) {
  const r = p.request;
  return r ? `${r.method} ${r.url}${r.status ? ` -> ${r.status}` : ''}` : '(before any request)';
}

/** Problems grouped by their text, each with how often and (up to 3) the requests. */
function grouped(problems) {
  const groups = new Map();
  for (const p of problems) {
    const reqs = groups.get(p.text) ?? [];
    reqs.push(request(p));
    groups.set(p.text, reqs);
  }
  return [...groups].map(([text, reqs]) => {
    const shown = [...new Set(reqs)].slice(0, 3);
    const more = reqs.length > shown.length ? ` (${reqs.length} times in all)` : '';
    return `${text}${more}\n      ${shown.join('\n      ')}`;
  });
}

function main() {
  const { name, file, from, expect } = parseArgs(process.argv.slice(2));
  const lines = fs.readFileSync(file, 'utf8').split('\n').slice(from - 1);
  const scanned = scan(lines);
  const { requests } = scanned;
  const problems = scanned.problems.filter((p) => !undeclaredButNormal(p));
  const exempt = scanned.problems.length - problems.length;
  const exemptNote = exempt
    ? ` (${exempt} allowed: answers with an undeclared 429/5xx status (as faults make), a moved comment's 404, or POST /graphql, which the REST description lacks and the sandbox checks against the GraphQL schema)`
    : '';
  if (expect) {
    const hit = problems.find((p) => p.side === expect && p.text.startsWith('Violation'));
    if (!hit) {
      fail(`${name}: canary not caught: no ${expect} violation logged by Prism (validation silently skipped?)`);
    }
    console.log(`${name}: canary caught: ${request(hit)}: ${hit.text}`);
    return;
  }
  if (problems.length) {
    fail(`${name}: Prism found ${problems.length} problem(s) in ${requests} requests${exemptNote}:\n  ${grouped(problems).join('\n  ')}`);
  }
  if (requests === 0) fail(`${name}: no request went through this proxy, so nothing was checked`);
  console.log(`${name}: ${requests} requests through Prism, no violation${exemptNote}`);
}

main();
