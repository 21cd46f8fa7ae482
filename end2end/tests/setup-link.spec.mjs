// Issue 5, setup links in the browser: the admin creates a link; in a fresh browser
// context the customer opens it, picks generic SAML, pastes the test IdP's metadata,
// runs Test and sees the profile (nothing saved yet), saves; the admin sees the new
// connection; the link, once revoked, shows the expired page.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { mkdirSync } from 'node:fs';
import { hydrated, signUpWithProduct, launchBrowser, startGatehouse, startPeer, eventually, ROOT } from '../support/harness.mjs';

const artifacts = path.join(ROOT, 'end2end', '.artifacts');
mkdirSync(artifacts, { recursive: true });
let idp, gh, browser;

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


test('a customer configures their own connection through a setup link', async () => {
  const admin = await browser.newContext();
  const page = await admin.newPage();
  const productBase = await signUpWithProduct(page, gh, 'setup');
  const connections = `${productBase}/connections`;

  // the admin makes a link for globex.com
  await page.goto(connections);
  await hydrated(page);
  await page.fill('#setup-tenant', 'globex.com');
  await page.fill('#setup-name', 'Globex');
  await page.click('[data-testid=create-setup-link]');
  const url = (await page.locator('[data-testid=setup-link-url]').textContent()).trim();
  assert.match(url, new RegExp(`^${gh.url}/setup/gsl_`));
  await page.locator('[data-testid=setup-link-row][data-status=active]').waitFor();

  // the customer, in a fresh browser context, with no account
  const customer = await browser.newContext();
  const it = await customer.newPage();
  await it.goto(url);
  await hydrated(it);
  assert.equal(await it.locator('[data-testid=setup-product]').textContent(), 'Portal');
  assert.equal(await it.locator('[data-testid=setup-tenant]').textContent(), 'globex.com');
  await it.click('[data-idp=saml]');
  assert.match(await it.locator('[data-testid=idp-steps]').textContent(), new RegExp(`${gh.url}/api/oauth/saml`));
  await it.click('[data-idp=entra]');
  assert.match(await it.locator('[data-testid=idp-steps]').textContent(), /Reply URL/);
  await it.click('[data-idp=saml]');

  // broken metadata first: Test shows the error in place (and the tab it opened closes)
  await it.fill('[data-testid=metadata-xml]', '<x/>');
  await it.click('[data-testid=setup-try]');
  await it.locator('#metadata-error').waitFor();
  await eventually(async () => assert.equal(customer.pages().length, 1, 'the test tab was closed'));
  // then the IdP's real metadata: Test signs in for real in a new tab and shows the
  // profile (the customer's IdP signs in one of the customer's people)
  const idpUser = await fetch(`${idp.url}/__idp/config`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ user: { nameId: 'jane@globex.com', email: 'jane@globex.com' } }),
  });
  assert.equal(idpUser.status, 200);
  const metadataXml = await (await fetch(`${idp.url}/metadata?keys=primary`)).text();
  await it.fill('[data-testid=metadata-xml]', metadataXml);
  const [popup] = await Promise.all([customer.waitForEvent('page'), it.click('[data-testid=setup-try]')]);
  await popup.waitForURL(/\/sso-test\/test_[a-z2-7]+$/, { timeout: 20_000 });
  await popup.locator('[data-testid=test-success]').waitFor();
  assert.equal(await popup.locator('[data-testid=profile-email]').textContent(), 'jane@globex.com');
  await it.locator('[data-testid=setup-test-started]').waitFor();
  assert.equal(await it.locator('[data-testid=setup-not-saved]').count(), 1, 'a test saves nothing');
  await popup.close();

  // Save: the form still holds the tested metadata
  await it.click('[data-testid=setup-save]');
  await it.locator('[data-testid=setup-saved]').waitFor();
  assert.equal(await it.locator('[data-testid=setup-idp-entity]').textContent(), idp.entityId);
  await it.setViewportSize({ width: 1280, height: 1000 });
  await it.screenshot({ path: path.join(artifacts, 'setup-link.png'), fullPage: true });

  // the saved connection can be tested again from the page
  const [again] = await Promise.all([customer.waitForEvent('page'), it.click('[data-testid=setup-test]')]);
  await again.waitForURL(/\/sso-test\/test_[a-z2-7]+$/, { timeout: 20_000 });
  await again.locator('[data-testid=test-success]').waitFor();

  // the admin sees the new connection, marked as made through a setup link
  await page.goto(connections);
  await page.locator('[data-testid=connections]').waitFor();
  const list = await page.locator('[data-testid=connections]').textContent();
  assert.match(list, /globex\.com/);
  assert.match(list, /via setup link/);

  // revoked: the link shows the expired page
  await hydrated(page);
  await page.click('[data-testid=revoke-setup-link]');
  await page.locator('[data-testid=setup-link-row][data-status=revoked]').waitFor();
  await it.goto(url);
  await it.locator('[data-testid=setup-expired]').waitFor();
  assert.ok(!(await it.content()).includes('Portal'), 'an expired link shows no data');
  await customer.close();
  await admin.close();
});
