// Issue 25 in the browser: a failed sign-in shows under the connection's "Recent
// sign-ins" and opens with its reason in plain words; the error page's reference id
// finds it; the audit log lists the changes; a webhook endpoint is added and its
// secret shown once.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { mkdirSync } from 'node:fs';
import { eventually, hydrated, signUpWithProduct, launchBrowser, startGatehouse, startPeer, ROOT } from '../support/harness.mjs';

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

test('a failed sign-in is explained, found by its reference, and audited', async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  const product = await signUpWithProduct(page, gh, 'traces');

  // a connection, made in the dashboard
  await page.goto(`${product}/connections/new`);
  await hydrated(page);
  await page.fill('#tenant', 'acme.com');
  await page.fill('[data-testid=metadata-xml]', await (await fetch(`${idp.url}/metadata?keys=primary`)).text());
  await page.fill('#name', 'Acme Okta');
  await page.fill('[data-testid=email-domains-input]', 'acme.test');
  await page.click('text=Create connection');
  await page.locator('[data-testid=connection-created]').waitFor();
  await page.click('[data-testid=open-connection]');
  await page.waitForURL(/\/connections\/conn_[a-z2-7]+$/);
  const connectionUrl = page.url();
  const connectionId = connectionUrl.split('/').pop();
  await hydrated(page);
  await page.locator('[data-testid=no-sign-ins]').waitFor();

  // a broken answer arrives for it: the user sees a reference id
  const res = await fetch(`${gh.url}/api/oauth/saml`, {
    method: 'POST',
    body: new URLSearchParams({ SAMLResponse: Buffer.from('<samlp:Response/>').toString('base64'), RelayState: `_${"0".repeat(40)}.${connectionId}` }),
  });
  assert.ok(res.status >= 400, `refused: ${res.status}`);
  const reference = (await res.text()).match(/data-testid="reference">([^<]+)</)[1];

  // Recent sign-ins: the failure, filtered, then opened
  await eventually(async () => {
    await page.click('[data-testid=trace-refresh]');
    await page.locator('[data-testid=trace-row]').first().waitFor({ timeout: 1000 });
  });
  await page.click('[data-testid=trace-filter-failure]');
  const row = page.locator('[data-testid=trace-row]').first();
  assert.equal(await row.getAttribute('data-outcome'), 'failure');
  assert.match(await row.textContent(), /malformed_response/);
  await row.locator('[data-testid=trace-link]').click();
  await page.waitForURL(/\/sign-ins\/trc_/);
  await hydrated(page);
  assert.equal(await page.locator('[data-testid=trace-reason]').textContent(), 'malformed_response');
  assert.match(await page.locator('[data-testid=trace-explanation]').textContent(), /could not be read/);
  assert.match(await page.locator('[data-testid=trace-remedy]').textContent(), /HTTP-POST/);
  assert.match(await page.locator('[data-testid=trace-reference]').textContent(), new RegExp(reference));
  assert.match(await page.locator('[data-testid=trace-idp-response]').textContent(), /samlp:Response/);
  const traceUrl = page.url();
  await page.setViewportSize({ width: 1280, height: 900 });
  await page.screenshot({ path: path.join(artifacts, 'trace.png'), fullPage: true });

  // the reference id from the error page finds the same trace
  await page.goto(`${product}/connections`);
  await hydrated(page);
  await page.fill('[data-testid=reference-search]', reference);
  await page.click('[data-testid=reference-search-go]');
  await page.waitForURL(traceUrl);
  await page.goto(`${product}/connections`);
  await hydrated(page);
  await page.fill('[data-testid=reference-search]', 'req_nothing_like_it');
  await page.click('[data-testid=reference-search-go]');
  assert.match(await page.locator('[data-testid=reference-search-result]').textContent(), /No sign-in/);

  // the audit log has the connection, made by this user
  await page.click('[data-testid=nav-audit]');
  await page.waitForURL(/\/audit$/);
  await hydrated(page);
  const created = page.locator('[data-testid=audit-row][data-action="connection.created"]');
  await created.waitFor();
  assert.match(await created.textContent(), /traces-.*@example\.com/);
  assert.match(await created.textContent(), /Acme Okta/);
  await page.screenshot({ path: path.join(artifacts, 'audit.png'), fullPage: true });

  // a webhook endpoint: the secret is shown once
  await page.goto(`${product}/settings/webhooks`);
  await hydrated(page);
  await page.fill('[data-testid=webhook-url]', 'https://hooks.example.com/gatehouse');
  await page.fill('[data-testid=webhook-description]', 'CRM');
  await page.check('[data-testid=webhook-event][value="connection.created"]');
  await page.click('[data-testid=webhook-add]');
  const secret = page.locator('[data-testid=webhook-secret]');
  await secret.waitFor();
  assert.match(await secret.textContent(), /^whsec_/);
  const endpoint = page.locator('[data-testid=webhook-endpoint]');
  await endpoint.waitFor();
  assert.match(await endpoint.textContent(), /hooks\.example\.com/);
  assert.match(await endpoint.textContent(), /connection\.created/);
  await page.screenshot({ path: path.join(artifacts, 'webhooks.png'), fullPage: true });
  await context.close();
});
