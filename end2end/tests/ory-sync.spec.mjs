// Issue 4 in the browser: save the Ory settings, create a SAML connection, see it
// *synced* with its organization id; stop the Ory emulator, create another, see it
// *pending* with the reason; start the emulator again, see it *synced*. Then Re-sync
// all repairs what the restart lost, and disconnecting can remove everything.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { mkdirSync } from 'node:fs';
import { hydrated, signUpWithProduct, launchBrowser, startGatehouse, startPeer, freePort, eventually, ROOT } from '../support/harness.mjs';

const PROJECT = '5d1e2f3a-4b5c-4d6e-8f70-8192a3b4c5d6';
const SLUG = 'gallant-hopper-q9w8e7';
const TOKEN = 'ory_st_e2eSyncToken0000000000ABCD';
const artifacts = path.join(ROOT, 'end2end', '.artifacts');
mkdirSync(artifacts, { recursive: true });

let ory, oryPort, idp, gh, browser;

function startOry() {
  return startPeer('end2end/support/ory-emulator.mjs', [
    '--port', String(oryPort), '--quiet',
    '--project', PROJECT, '--slug', SLUG, '--name', 'Vendor Login', '--token', TOKEN,
  ]);
}

async function oryState() {
  return (await fetch(`${ory.url}/__emulator/state`)).json();
}

before(async () => {
  oryPort = await freePort();
  ory = await startOry();
  idp = await startPeer('end2end/support/saml-idp.mjs', ['--exit-with-stdin']);
  gh = await startGatehouse({ ORY_API_URL: ory.url, ORY_SYNC_INTERVAL_MS: '300' });
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await gh?.stop();
  await idp?.stop();
  await ory?.stop();
});


/** Dashboard → New connection, pasting the test IdP's metadata; returns the connection page URL. */
async function createConnection(page, productBase, tenant, name) {
  await page.goto(`${productBase}/connections/new`);
  await hydrated(page);
  await page.fill('#tenant', tenant);
  await page.fill('#name', name);
  const metadataXml = await (await fetch(`${idp.url}/metadata?keys=primary`)).text();
  await page.fill('[data-testid=metadata-xml]', metadataXml);
  await page.click('text=Create connection');
  await page.locator('[data-testid=connection-created]').waitFor();
  await page.click('[data-testid=open-connection]');
  await page.waitForURL(/\/connections\/conn_[a-z2-7]+$/);
  await hydrated(page);
  return page.url();
}

async function oryStateOnPage(page) {
  return page.locator('[data-testid=ory-sync] [data-testid=ory-state]').getAttribute('data-state');
}

test('connections are mirrored to Ory, wait while Ory is down, and catch up', async () => {
  const context = await browser.newContext();
  const page = await context.newPage();

  const productBase = await signUpWithProduct(page, gh, 'ory-sync');

  // Ory settings
  await page.goto(`${productBase}/settings/ory`);
  await hydrated(page);
  await page.fill('#ory-token', TOKEN);
  await page.fill('#ory-project', PROJECT);
  await page.click('[data-testid=ory-form] button[type=submit]');
  await page.locator('[data-testid=ory-project-name]').waitFor();
  assert.match(await page.locator('[data-testid=form-success]').first().textContent(), /0 SSO connection\(s\) queued/);

  // first connection: synced, with its organization id and Ory's callback
  const first = await createConnection(page, productBase, 'acme.com', 'Acme Okta');
  await page.locator('[data-testid=ory-sync] [data-state=synced]').waitFor({ timeout: 20_000 });
  const orgId = (await page.locator('[data-testid=ory-organization-id]').textContent()).trim();
  let state = await oryState();
  assert.equal(state.organizations.length, 1);
  assert.equal(orgId, state.organizations[0].id, 'the page shows the organization id');
  const callback = await page.locator('[data-testid=ory-callback]').textContent();
  assert.match(callback, new RegExp(`https://${SLUG}\\.projects\\.oryapis\\.com/self-service/methods/oidc/organization/${state.organizations[0].id}/callback/gatehouse-conn_`));
  await page.setViewportSize({ width: 1280, height: 900 });
  await page.screenshot({ path: path.join(artifacts, 'ory-synced.png'), fullPage: true });

  // Ory goes away: the second connection is saved, and waits
  await ory.stop();
  const second = await createConnection(page, productBase, 'globex.com', 'Globex Entra');
  await page.locator('[data-testid=ory-sync] [data-state=pending]').waitFor({ timeout: 20_000 });
  await page.locator('[data-testid=ory-error]').waitFor({ timeout: 20_000 });
  assert.match(await page.locator('[data-testid=ory-error]').textContent(), /could not reach Ory/);
  assert.match(await page.locator('[data-testid=ory-next-attempt]').textContent(), /Next attempt/);
  await page.screenshot({ path: path.join(artifacts, 'ory-pending.png'), fullPage: true });

  // Ory is back (same address, fresh state): "Retry now", then synced
  ory = await startOry();
  await page.click('[data-testid=ory-retry]');
  await page.locator('[data-testid=ory-sync] [data-state=synced]').waitFor({ timeout: 30_000 });
  state = await oryState();
  assert.deepEqual(state.organizations.map((o) => o.label), ['globex.com']);

  // the list shows both states
  await page.goto(`${productBase}/connections`);
  await page.locator('[data-testid=connections]').waitFor();
  const states = await page.locator('[data-testid=connections] [data-testid=ory-state]').evaluateAll((els) => els.map((e) => e.dataset.state));
  assert.equal(states.length, 2);

  // the restarted emulator lost acme.com: Re-sync all finds and repairs it
  await page.goto(`${productBase}/settings/ory`);
  await hydrated(page);
  await page.click('[data-testid=ory-resync]');
  await page.locator('text=queued for re-sync').waitFor();
  await eventually(async () => {
    const s = await oryState();
    const providers = s.projects[0].services.identity.config.selfservice.methods.oidc.config.providers;
    assert.equal(s.organizations.length, 2);
    assert.equal(providers.length, 2);
  }, { timeout: 20_000 });
  await page.goto(first);
  await page.locator('[data-testid=ory-sync] [data-state=synced]').waitFor({ timeout: 20_000 });

  // Disconnect, removing what Gatehouse made in Ory
  await page.goto(`${productBase}/settings/ory`);
  await hydrated(page);
  await page.click('text=Disconnect…');
  await page.click('[data-testid=disconnect-remove]');
  await page.locator('#ory-token').waitFor();
  state = await oryState();
  assert.equal(state.organizations.length, 0);
  assert.equal(state.projects[0].services.identity.config.selfservice.methods.oidc.config.providers.length, 0);
  await page.goto(second);
  await hydrated(page);
  assert.equal(await page.locator('[data-testid=ory-sync]').count(), 0, 'no Ory section once disconnected');
  await context.close();
});
