// Issue 3 in the browser: create a SAML connection in the dashboard from the test
// IdP's metadata (bad metadata first: error in place; then the real file, uploaded),
// see what to give the customer's IT admin, click "Test connection" and see the
// profile the IdP sent, in a new tab.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { mkdirSync, writeFileSync } from 'node:fs';
import { hydrated, signUpWithProduct, launchBrowser, startGatehouse, startPeer, ROOT } from '../support/harness.mjs';

let idp, gh, browser;
const artifacts = path.join(ROOT, 'end2end', '.artifacts');
mkdirSync(artifacts, { recursive: true });

before(async () => {
  idp = await startPeer('end2end/support/saml-idp.mjs', ['--exit-with-stdin']);
  gh = await startGatehouse();
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await gh?.stop();
  await idp?.stop();
});


test('an admin creates a SAML connection and tests it', async () => {
  const context = await browser.newContext();
  const page = await context.newPage();

  await signUpWithProduct(page, gh, 'conn');

  // SSO Connections tab → New connection
  await page.click('text=SSO Connections');
  await page.waitForURL(/\/connections$/);
  await page.locator('[data-testid=no-connections]').waitFor();
  await page.click('[data-testid=new-connection]');
  await page.waitForURL(/\/connections\/new$/);
  await hydrated(page);

  // broken metadata: a clear error in place, what was typed is kept
  await page.fill('#tenant', 'acme.com');
  await page.fill('[data-testid=metadata-xml]', '<x/>');
  await page.click('text=Create connection');
  const metadataError = page.locator('#metadata-error');
  await metadataError.waitFor();
  assert.match(await metadataError.textContent(), /not SAML metadata/);
  assert.equal(await page.inputValue('#tenant'), 'acme.com');

  // the real metadata, uploaded as a file
  const metadataXml = await (await fetch(`${idp.url}/metadata?keys=primary`)).text();
  const file = path.join(artifacts, 'idp-metadata.xml');
  writeFileSync(file, metadataXml);
  await page.check('input[name=metadataSource][value=file]');
  await page.setInputFiles('[data-testid=metadata-file]', file);
  await page.waitForFunction(() => document.querySelector('[data-testid=metadata-xml]').value.includes('EntityDescriptor'));
  await page.fill('#name', 'Acme Okta');
  // the test IdP's people are @acme.test
  await page.fill('[data-testid=email-domains-input]', 'acme.test');
  await page.click('text=Create connection');
  const created = page.locator('[data-testid=connection-created]');
  await created.waitFor();
  assert.match(await page.locator('[data-testid=client-id]').textContent(), /^[0-9a-f]{40}$/);
  assert.ok((await page.locator('[data-testid=client-secret]').textContent()).length >= 40);

  await page.click('[data-testid=open-connection]');
  await page.waitForURL(/\/connections\/conn_[a-z2-7]+$/);
  await hydrated(page);
  assert.equal(await page.locator('[data-testid=acs-url]').textContent(), `${gh.url}/api/oauth/saml`);
  assert.match(await page.locator('[data-testid=sp-entity-id]').textContent(), new RegExp(`^${gh.url}/saml/prod_`));
  assert.equal(await page.locator('[data-testid=idp-entity-id]').textContent(), idp.entityId);
  assert.match(await page.locator('[data-testid=certificates]').textContent(), /expires \d{4}-\d{2}-\d{2}/);
  const spMetadata = await (await fetch(await page.locator('[data-testid=sp-metadata-download]').getAttribute('href'))).text();
  assert.match(spMetadata, /AssertionConsumerService/);

  await page.setViewportSize({ width: 1280, height: 900 });
  await page.screenshot({ path: path.join(artifacts, 'connection.png'), fullPage: false });

  // Test connection: a real sign-in in a new tab
  const [popup] = await Promise.all([context.waitForEvent('page'), page.click('[data-testid=test-connection]')]);
  await popup.waitForURL(/\/sso-test\/test_[a-z2-7]+$/, { timeout: 20_000 });
  await popup.locator('[data-testid=test-success]').waitFor();
  assert.equal(await popup.locator('[data-testid=profile-email]').textContent(), 'jane@acme.test');
  assert.equal(await popup.locator('[data-testid=profile-first-name]').textContent(), 'Jane');
  assert.match(await popup.locator('[data-testid=profile-groups]').textContent(), /engineering/);
  await popup.screenshot({ path: path.join(artifacts, 'test-connection.png') });

  // the list shows it
  await page.goto(page.url().replace(/\/conn_[a-z2-7]+$/, ''));
  assert.match(await page.locator('[data-testid=connections]').textContent(), /acme\.com.*Acme Okta/s);

  // a test signed with a key the connection does not have shows the precise reason
  await fetch(`${idp.url}/__idp/config`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ key: 'attacker' }) });
  await page.click('text=acme.com');
  await page.waitForURL(/\/connections\/conn_/);
  const [failing] = await Promise.all([context.waitForEvent('page'), page.click('[data-testid=test-connection]')]);
  await failing.locator('[data-testid=test-failure]').waitFor({ timeout: 20_000 });
  assert.match(await failing.locator('[data-testid=test-error]').textContent(), /signed with a certificate the connection does not have/);
  await fetch(`${idp.url}/__idp/reset`, { method: 'POST' });
  await context.close();
});
