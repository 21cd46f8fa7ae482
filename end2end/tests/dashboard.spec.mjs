// Issue 2, as a new user: sign up, trial banner, product with redirect URLs,
// Ory Integration against the emulator (wrong token, right token, masked after
// reload), API key shown once, log out, log back in. Plus the hydration check.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { mkdirSync } from 'node:fs';
import { launchBrowser, startGatehouse, startPeer, eventually, uniqueEmail, watchErrors, ROOT } from '../support/harness.mjs';

const PROJECT = '8f2c6a1e-3b4d-4c5e-9f60-718293a4b5c6';
const TOKEN = 'ory_st_e2eGoodToken123456789WXYZ';
let ory, gh, browser;
mkdirSync(path.join(ROOT, 'end2end', '.artifacts'), { recursive: true });

before(async () => {
  ory = await startPeer('end2end/support/ory-emulator.mjs', [
    '--quiet', '--project', PROJECT, '--slug', 'vibrant-turing-x1y2z3', '--name', 'Acme Customer Login', '--token', TOKEN,
  ]);
  gh = await startGatehouse({ ORY_API_URL: ory.url });
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await gh?.stop();
  await ory?.stop();
});

let lastErrors = null;
async function hydrated(page) {
  try {
    await page.waitForSelector('body[data-hydrated="true"]', { timeout: 15_000 });
  } catch (e) {
    throw new Error(`${page.url()} did not hydrate; browser errors: ${JSON.stringify(lastErrors?.errors ?? [])}`);
  }
}

test('a new user signs up, sets up a product and connects Ory', async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  const browserErrors = watchErrors(page);
  lastErrors = browserErrors;
  const email = uniqueEmail('e2e');
  const password = 'a sufficiently long password';

  // --- sign up, with the client-side check proving hydration ---
  await page.goto(`${gh.url}/signup`);
  await hydrated(page);
  const rpcCalls = [];
  page.on('request', (r) => { if (r.url().includes('/rpc/')) rpcCalls.push(r.url()); });
  await page.fill('#password', 'short');
  const hint = page.locator('#password-error');
  await hint.waitFor();
  assert.match(await hint.textContent(), /at least 10 characters \(5 so far\)/);
  assert.deepEqual(rpcCalls, [], 'the password hint must not need a round trip');

  await page.fill('#email', email);
  await page.fill('#password', password);
  await eventually(async () => assert.equal(await hint.count(), 0));
  await page.fill('#team_name', 'Acme Inc');
  await page.click('button[type=submit]');
  await page.waitForURL(/\/teams\/team_[a-z2-7]+\/products$/);

  // --- trial banner ---
  const banner = page.locator('[data-testid=trial-banner]');
  assert.match(await banner.textContent(), /Trial: 30 days left/);
  assert.equal(await page.locator('[data-testid=user-email]').textContent(), email);

  // --- create a product ---
  await hydrated(page);
  await page.fill('#product-name', 'Acme Portal');
  await page.fill('#product-description', 'Customer portal');
  await page.click('text=Create product');
  await page.waitForURL(/\/products\/prod_[a-z2-7]+\/settings\/general$/);
  const productId = (await page.locator('[data-testid=product-id]').textContent()).trim();
  assert.match(productId, /^prod_/);
  assert.match(await banner.textContent(), /30 days left/, 'the banner is on every page');

  // --- redirect URLs: a bad one is refused in place, then a good list is saved ---
  await hydrated(page);
  await page.fill('#redirect_urls', 'http://app.example.com/callback');
  await page.locator('#redirect-urls-error').waitFor();
  assert.match(await page.locator('#redirect-urls-error').textContent(), /only https is allowed/);
  await page.fill('#redirect_urls', 'https://app.example.com/callback\nhttp://localhost:8080/callback');
  await page.fill('#default_redirect_url', 'https://app.example.com/callback');
  await eventually(async () => assert.equal(await page.locator('#redirect-urls-error').count(), 0));
  await page.click('text=Save changes');
  await page.locator('[data-testid=form-success]').waitFor();
  await page.reload();
  await hydrated(page);
  assert.equal(await page.inputValue('#redirect_urls'), 'https://app.example.com/callback\nhttp://localhost:8080/callback');

  // --- Settings → Ory Integration ---
  await page.click('text=Ory Integration');
  await page.waitForURL(/\/settings\/ory$/);
  await hydrated(page);
  await page.fill('#ory-token', 'ory_st_thisTokenIsWrong000000000');
  await page.fill('#ory-project', PROJECT);
  await page.click('[data-testid=ory-form] button[type=submit]');
  const err = page.locator('[data-testid=form-error]');
  await err.waitFor();
  assert.match(await err.textContent(), /Ory rejected the token \(401\)/);
  assert.ok(!(await err.textContent()).includes('thisTokenIsWrong'));
  // what was typed is kept
  assert.equal(await page.inputValue('#ory-project'), PROJECT);

  await page.fill('#ory-token', TOKEN);
  await page.click('[data-testid=ory-form] button[type=submit]');
  await page.locator('[data-testid=ory-project-name]').waitFor();
  assert.equal(await page.locator('[data-testid=ory-project-name]').textContent(), 'Acme Customer Login');
  assert.equal(await page.locator('[data-testid=ory-project-slug]').textContent(), 'vibrant-turing-x1y2z3');

  await page.reload();
  await hydrated(page);
  assert.equal(await page.locator('[data-testid=ory-token-hint]').textContent(), 'ory_st_…WXYZ');
  assert.ok(!(await page.content()).includes(TOKEN), 'the token is never sent back to the browser');
  assert.equal(await page.locator('#ory-token').count(), 0, 'masked: no token field until Replace');
  await page.click('text=Replace token');
  await page.locator('#ory-token').waitFor();
  assert.equal(await page.inputValue('#ory-token'), '');

  // --- API keys: shown once ---
  await page.click('text=API keys');
  await page.waitForURL(/\/settings\/api-keys$/);
  await hydrated(page);
  await page.fill('#key-name', 'production');
  await page.click('text=Create key');
  const secret = (await page.locator('[data-testid=api-key-secret]').textContent()).trim();
  assert.match(secret, /^ghk_/);
  await page.reload();
  await page.locator('[data-testid=api-keys]').waitFor();
  assert.ok(!(await page.content()).includes(secret), 'an API key is shown once');

  // --- the dashboard screenshot for the README ---
  await page.goto(`${gh.url}${new URL(page.url()).pathname.replace(/api-keys$/, 'general')}`);
  await hydrated(page);
  await page.setViewportSize({ width: 1280, height: 860 });
  await page.screenshot({ path: path.join(ROOT, 'end2end', '.artifacts', 'dashboard.png') });

  // --- log out, log back in ---
  await page.click('[data-testid=logout]');
  await page.waitForURL(/\/login$/);
  await page.goto(`${gh.url}/teams`);
  await page.goto(`${gh.url}/`);
  await page.waitForURL(/\/login/);
  await hydrated(page);
  await page.fill('#email', email);
  await page.fill('#password', 'not the password');
  await page.click('button[type=submit]');
  await err.waitFor();
  assert.match(await err.textContent(), /Wrong email or password/);
  assert.equal(await page.inputValue('#email'), email, 'what was typed is kept');
  await page.fill('#password', password);
  await page.click('button[type=submit]');
  await page.waitForURL(/\/teams\/team_[a-z2-7]+\/products$/);
  await page.locator('[data-testid=product-list]').waitFor();
  assert.match(await page.locator('[data-testid=product-list]').textContent(), /Acme Portal/);
  browserErrors.assertClean();
  await context.close();
});

test('another team cannot open the product by URL', async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(`${gh.url}/signup`);
  await hydrated(page);
  await page.fill('#email', uniqueEmail('other'));
  await page.fill('#password', 'another long password');
  await page.fill('#team_name', 'Other Co');
  await page.click('button[type=submit]');
  await page.waitForURL(/\/products$/);
  const res = await page.goto(`${gh.url}/teams/team_aaaaaaaaaaaaaaaaaaaaaaaaaa/products`);
  assert.equal(res.status(), 404);
  await context.close();
});
