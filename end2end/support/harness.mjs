// Shared helpers for the end-to-end specs: start processes, launch Chromium.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import net from 'node:net';
import readline from 'node:readline';
import { chromium } from 'playwright-core';

export const ROOT = process.env.E2E_ROOT;

export const CHROMIUM_ARGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
];

/** Debian's Chromium; Playwright gives every launch a new, empty profile. */
export async function launchBrowser() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: CHROMIUM_ARGS,
  });
}

export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
    srv.on('error', reject);
  });
}

/** Start a node helper that prints {"event":"listening","url":…} on its first stdout line. */
export async function startPeer(script, args = []) {
  const child = spawn(process.execPath, [path.join(ROOT, script), '--port', '0', ...args], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const rl = readline.createInterface({ input: child.stdout });
  const line = await new Promise((resolve, reject) => {
    rl.once('line', resolve);
    child.once('exit', (code) => reject(new Error(`${script} exited with ${code}`)));
  });
  const info = JSON.parse(line);
  return { ...info, child, stop: () => stopChild(child) };
}

export async function stopChild(child) {
  if (child.exitCode !== null || child.signalCode) return;
  await new Promise((resolve) => {
    child.once('exit', resolve);
    child.kill('SIGTERM');
    setTimeout(() => child.kill('SIGKILL'), 5000).unref();
  });
}

/** Start the release build of Gatehouse on a fresh embedded SQLite database. */
export async function startGatehouse(env = {}) {
  const port = await freePort();
  const dataDir = mkdtempSync(path.join(tmpdir(), 'gh-e2e-data-'));
  const url = `http://127.0.0.1:${port}`;
  const child = spawn(process.env.E2E_BINARY, [], {
    cwd: ROOT,
    env: {
      ...process.env,
      GATEHOUSE_LISTEN_ADDR: `127.0.0.1:${port}`,
      GATEHOUSE_PUBLIC_URL: url,
      GATEHOUSE_DATA_DIR: dataDir,
      LEPTOS_SITE_ROOT: process.env.E2E_SITE_ROOT,
      RUST_LOG: process.env.RUST_LOG || 'warn,gatehouse=info',
      ...env,
    },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      const res = await fetch(`${url}/healthz`);
      if (res.ok) break;
    } catch { /* not up yet */ }
    if (child.exitCode !== null) throw new Error(`gatehouse exited with ${child.exitCode}`);
    if (Date.now() > deadline) throw new Error('gatehouse did not become healthy');
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    url,
    dataDir,
    child,
    stop: async () => {
      await stopChild(child);
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Wait until `fn` stops throwing (for assertions on eventually-true UI state). */
export async function eventually(fn, { timeout = 10_000, interval = 100 } = {}) {
  const deadline = Date.now() + timeout;
  let last;
  for (;;) {
    try {
      return await fn();
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) throw last;
    await new Promise((r) => setTimeout(r, interval));
  }
}

/** Wait until the page has hydrated (the app sets body[data-hydrated]). */
export async function hydrated(page) {
  await page.waitForSelector('body[data-hydrated="true"]', { timeout: 15_000 });
}

/**
 * Sign up a new vendor in the browser and create a product; the page ends on the
 * product's Settings → General. Returns the product's base URL
 * (`{gh}/teams/{team}/products/{product}`).
 */
export async function signUpWithProduct(page, gh, tag, product = 'Portal') {
  await page.goto(`${gh.url}/signup`);
  await hydrated(page);
  await page.fill('#email', uniqueEmail(tag));
  await page.fill('#password', 'a sufficiently long password');
  await page.fill('#team_name', 'Vendor Inc');
  await page.click('button[type=submit]');
  await page.waitForURL(/\/products$/);
  await hydrated(page);
  await page.fill('#product-name', product);
  await page.click('text=Create product');
  await page.waitForURL(/\/settings\/general$/);
  return page.url().replace(/\/settings\/general$/, '');
}

export function uniqueEmail(tag) {
  return `${tag}-${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}@example.com`;
}

/**
 * Collect uncaught errors and console errors of a page (a hydration panic shows up
 * here). Call `assertClean()` at the end of a test.
 */
export function watchErrors(page) {
  const errors = [];
  page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error' && !/Failed to load resource/.test(m.text())) errors.push(`console: ${m.text()}`);
  });
  return {
    errors,
    assertClean() {
      if (errors.length) throw new Error(`browser errors:\n${errors.join('\n')}`);
    },
  };
}
