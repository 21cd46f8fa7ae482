// End-to-end runner: starts the third-party peers and the release build of
// Gatehouse (fresh SQLite data dir), then runs every tests/*.spec.mjs with
// node:test. Chromium comes from Debian (/usr/bin/chromium), driven by
// playwright-core. Usage: node end2end/run.mjs [spec-name-filter]
import { spawn } from 'node:child_process';
import { readdirSync, mkdtempSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { run } from 'node:test';
import { spec as specReporter } from 'node:test/reporters';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..');
const targetDir = process.env.CARGO_TARGET_DIR || path.join(root, 'target');
const binary = process.env.GATEHOUSE_BIN || path.join(targetDir, 'release', 'gatehouse');
if (!existsSync(binary)) {
  console.error(`no release build at ${binary}: run scripts/test.sh (or cargo leptos build --release)`);
  process.exit(1);
}

const filter = process.argv[2];
const files = readdirSync(path.join(here, 'tests'))
  .filter((f) => f.endsWith('.spec.mjs') && (!filter || f.includes(filter)))
  .map((f) => path.join(here, 'tests', f));

process.env.E2E_ROOT = root;
process.env.E2E_BINARY = binary;
process.env.E2E_SITE_ROOT = process.env.LEPTOS_SITE_ROOT || path.join(root, 'target', 'site');

const stream = run({ files, concurrency: 1, timeout: 10 * 60_000 });
let failed = false;
stream.on('test:fail', () => { failed = true; });
stream.compose(specReporter).pipe(process.stdout);
stream.on('end', () => { process.exitCode = failed ? 1 : 0; });
