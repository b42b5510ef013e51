// Helpers shared by the contract scripts: where ../shared is, and reading JSON files.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The checkout's root (two levels above this file). */
export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/**
 * `shared/` as the Rust tests find it: $COUNCIL_SHARED_DIR, else beside the checkout, else
 * /work/shared. The official descriptions and fixtures are read from there, never copied.
 */
export function sharedDir() {
  if (process.env.COUNCIL_SHARED_DIR) return process.env.COUNCIL_SHARED_DIR;
  const beside = path.resolve(root, '../shared');
  if (fs.existsSync(beside) && fs.statSync(beside).isDirectory()) return beside;
  return '/work/shared';
}

export function readJson(file) {
  return JSON.parse(fs.readFileSync(file, 'utf8'));
}

/** Prints to stderr and exits 1: the contract step's way of failing with a reason. */
export function fail(message) {
  process.stderr.write(`contract: ${message}\n`);
  process.exit(1);
}
