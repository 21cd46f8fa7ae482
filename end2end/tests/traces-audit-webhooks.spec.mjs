// Issue 25 in the browser: a failed sign-in shows under the connection's "Recent
// sign-ins" and opens with its reason in plain words; the error page's reference id
// finds it; the audit log lists the changes; a webhook endpoint is added and its
// secret shown once; a delivery the receiver refuses shows as failing and "Resend"
// delivers it, verified by the third-party `standardwebhooks` library.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { mkdirSync } from 'node:fs';
import { spawn } from 'node:child_process';
import readline from 'node:readline';
import { eventually, hydrated, signUpWithProduct, launchBrowser, startGatehouse, startPeer, stopChild, ROOT } from '../support/harness.mjs';

let idp, gh, browser, receiver;
const artifacts = path.join(ROOT, 'end2end', '.artifacts');
mkdirSync(artifacts, { recursive: true });

before(async () => {
  idp = await startPeer('end2end/support/saml-idp.mjs', ['--exit-with-stdin']);
  // webhooks go to a receiver on this machine, tried again every 200 ms when due
  gh = await startGatehouse({ GATEHOUSE_METADATA_ALLOW_PRIVATE: 'true', GATEHOUSE_WEBHOOK_INTERVAL_MS: '200' });
  browser = await launchBrowser();
  receiver = await startReceiver();
});

after(async () => {
  await browser?.close();
  if (receiver) await stopChild(receiver.child);
  await gh?.stop();
  await idp?.stop();
});

/** `end2end/support/webhook-receiver.py`: verifies each delivery with `standardwebhooks`. */
async function startReceiver() {
  const child = spawn('python3', [path.join(ROOT, 'end2end/support/webhook-receiver.py')], { stdio: ['ignore', 'pipe', 'inherit'] });
  const line = await new Promise((resolve, reject) => {
    readline.createInterface({ input: child.stdout }).once('line', resolve);
    child.once('exit', (code) => reject(new Error(`webhook-receiver.py exited with ${code}`)));
  });
  const url = `http://127.0.0.1:${line.match(/listening (\d+)/)[1]}`;
  const config = (body) => fetch(`${url}/__config`, { method: 'POST', body: JSON.stringify(body) });
  const received = async () => (await fetch(`${url}/__received`)).json();
  return { url, child, config, received };
}

/** Create a SAML connection in the dashboard; returns the connection page's URL. */
async function createConnection(page, product, name) {
  await page.goto(`${product}/connections/new`);
  await hydrated(page);
  await page.fill('#tenant', 'acme.com');
  await page.fill('[data-testid=metadata-xml]', await (await fetch(`${idp.url}/metadata?keys=primary`)).text());
  await page.fill('#name', name);
  await page.fill('[data-testid=email-domains-input]', 'acme.test');
  await page.click('text=Create connection');
  await page.locator('[data-testid=connection-created]').waitFor();
  await page.click('[data-testid=open-connection]');
  await page.waitForURL(/\/connections\/conn_[a-z2-7]+$/);
  return page.url();
}

test('a failed sign-in is explained, found by its reference, and audited', async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  const product = await signUpWithProduct(page, gh, 'traces');

  // a connection, made in the dashboard
  const connectionUrl = await createConnection(page, product, 'Acme Okta');
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

test('a refused delivery shows as failing and Resend delivers it, signed', async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  const product = await signUpWithProduct(page, gh, 'hooks');

  // an endpoint at the receiver, for new connections; its secret is shown once
  await page.goto(`${product}/settings/webhooks`);
  await hydrated(page);
  await page.fill('[data-testid=webhook-url]', `${receiver.url}/hooks`);
  await page.check('[data-testid=webhook-event][value="connection.created"]');
  await page.click('[data-testid=webhook-add]');
  const secret = (await page.locator('[data-testid=webhook-secret]').textContent()).trim();
  assert.match(secret, /^whsec_/);
  await receiver.config({ secret, fail: 1000 });

  // a connection is created: the receiver answers 500, so the delivery is retried
  await createConnection(page, product, 'Acme Entra');
  await page.goto(`${product}/settings/webhooks`);
  await hydrated(page);
  await page.click('[data-testid=webhook-deliveries-toggle]');
  const delivery = page.locator('[data-testid=webhook-delivery]').first();
  await eventually(async () => {
    await page.click('[data-testid=webhook-refresh]');
    await delivery.waitFor({ timeout: 1000 });
    assert.equal(await delivery.getAttribute('data-state'), 'pending');
    assert.equal((await delivery.locator('[data-testid=webhook-delivery-status]').textContent()).trim(), '500');
  });
  assert.match(await delivery.textContent(), /connection\.created/);
  assert.ok(Number(await delivery.locator('[data-testid=webhook-delivery-attempts]').textContent()) >= 1);
  await page.setViewportSize({ width: 1280, height: 900 });
  await page.screenshot({ path: path.join(artifacts, 'webhook-failing.png'), fullPage: true });
  assert.deepEqual((await receiver.received()).received, []);

  // the receiver recovers; Resend sends it now rather than at the next backoff
  await receiver.config({ fail: 0 });
  await delivery.locator('[data-testid=webhook-resend]').click();
  await page.locator('text=Queued: it is sent again shortly.').waitFor();
  await eventually(async () => {
    await page.click('[data-testid=webhook-refresh]');
    assert.equal(await page.locator('[data-testid=webhook-delivery]').first().getAttribute('data-state'), 'delivered');
  });
  await page.screenshot({ path: path.join(artifacts, 'webhook-delivered.png'), fullPage: true });

  // what arrived verified with the endpoint's secret, and it is the one event
  const got = await receiver.received();
  assert.equal(got.refused, 0);
  assert.ok(got.received.length >= 1);
  assert.equal(new Set(got.received.map((r) => r.id)).size, 1, 'a resend keeps the webhook-id');
  assert.equal(got.received[0].payload.type, 'connection.created');
  assert.equal(got.received[0].payload.data.name, 'Acme Entra');
  await context.close();
});
