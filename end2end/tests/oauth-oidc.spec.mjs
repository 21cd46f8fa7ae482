// OIDC connections end to end, third-party software on both sides and a real
// browser in the middle: panva's oidc-provider as the customer's OpenID Provider
// (end2end/support/oidc-idp.mjs), openid-client as the vendor app's client, and
// Chromium for the admin's dashboard and the user's sign-in.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as client from 'openid-client';
import {
  startGatehouse, startPeer, launchBrowser, hydrated, signUpWithProduct, watchErrors,
} from '../support/harness.mjs';

const REDIRECT = 'https://app.example.com/callback';

let gh, op, browser;

before(async () => {
  const [o, g] = await Promise.allSettled([
    startPeer('end2end/support/oidc-idp.mjs', ['--exit-with-stdin']),
    startGatehouse({ GATEHOUSE_METADATA_ALLOW_PRIVATE: 'true' }),
  ]);
  op = o.value;
  gh = g.value;
  for (const r of [o, g]) if (r.status === 'rejected') throw r.reason;
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await op?.stop();
  await gh?.stop();
});

/** Gatehouse registers at the OpenID Provider like any web app (RFC 7591). */
async function registerAtIdp(redirectUri) {
  const res = await fetch(`${op.url}/reg`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      redirect_uris: [redirectUri],
      grant_types: ['authorization_code'],
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_basic',
    }),
  });
  assert.equal(res.status, 201, `registration at the IdP: ${res.status}`);
  return res.json();
}

test('admin creates an OIDC connection in the dashboard; openid-client signs a user in through it', async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  const errors = watchErrors(page);
  const base = await signUpWithProduct(page, gh, 'oidc');

  await page.click('text=SSO Connections');
  await page.waitForURL(/\/connections$/);
  await page.click('[data-testid=new-connection]');
  await page.waitForURL(/\/connections\/new$/);
  await hydrated(page);
  await page.check('input[name=metadataSource][value=oidc]');
  const shownRedirect = page.getByTestId('oidc-redirect-uri');
  await shownRedirect.waitFor();
  const redirectUri = (await shownRedirect.textContent()).trim();
  assert.match(redirectUri, new RegExp(`^${gh.url}/api/oauth/oidc/conn_[a-z2-7]{26}$`), 'the connection\'s own redirect URI is shown before it exists');
  const registered = await registerAtIdp(redirectUri);

  // a wrong issuer is reported in place, and nothing typed is lost
  await page.fill('#tenant', 'globex.com');
  await page.getByTestId('oidc-discovery-url').fill(op.url.replace('127.0.0.1', 'localhost'));
  await page.getByTestId('oidc-client-id').fill(registered.client_id);
  await page.getByTestId('oidc-client-secret').fill(registered.client_secret);
  await page.fill('#redirect_urls', REDIRECT);
  await page.fill('#default_redirect_url', REDIRECT);
  await page.fill('[data-testid=email-domains-input]', 'acme.test');
  await page.click('text=Create connection');
  await page.locator('#oidc-error').waitFor();
  assert.match(await page.locator('#oidc-error').textContent(), /names issuer/);
  assert.equal(await page.inputValue('#tenant'), 'globex.com');

  await page.fill('#name', 'Globex (OIDC)');
  await page.getByTestId('oidc-discovery-url').fill(op.url);
  await page.click('text=Create connection');
  await page.getByTestId('connection-created').waitFor();
  const clientID = (await page.getByTestId('client-id').textContent()).trim();
  const clientSecret = (await page.getByTestId('client-secret').textContent()).trim();

  // The connection page shows the OIDC IdP, and Test connection signs in through it.
  await page.getByTestId('open-connection').click();
  await page.getByTestId('oidc-issuer').waitFor();
  assert.equal((await page.getByTestId('oidc-issuer').textContent()).trim(), op.url);
  const [tab] = await Promise.all([context.waitForEvent('page'), page.click('[data-testid=test-connection]')]);
  await tab.getByTestId('test-success').waitFor({ timeout: 15_000 });
  assert.equal((await tab.getByTestId('profile-email').textContent()).trim(), 'jane@acme.test');
  assert.equal((await tab.getByTestId('profile-groups').textContent()).trim(), 'engineering, admins');

  // The vendor's app: openid-client, discovery on Gatehouse, code flow with PKCE and
  // nonce; the user's browser goes Gatehouse → OpenID Provider → Gatehouse → app.
  const config = await client.discovery(new URL(gh.url), clientID, undefined, client.ClientSecretBasic(clientSecret), {
    execute: [client.allowInsecureRequests],
  });
  const codeVerifier = client.randomPKCECodeVerifier();
  const nonce = client.randomNonce();
  const state = client.randomState();
  const url = client.buildAuthorizationUrl(config, {
    redirect_uri: REDIRECT,
    scope: 'openid email profile',
    code_challenge: await client.calculatePKCECodeChallenge(codeVerifier),
    code_challenge_method: 'S256',
    nonce,
    state,
  });
  const user = await browser.newContext();
  const userPage = await user.newPage();
  // The app's callback does not exist here: catch the browser's request to it.
  const toApp = userPage.waitForRequest((r) => r.url().startsWith(REDIRECT), { timeout: 20_000 });
  await userPage.goto(url.href).catch(() => { /* app.example.com does not resolve */ });
  const landed = (await toApp).url();
  const tokens = await client.authorizationCodeGrant(config, new URL(landed), {
    pkceCodeVerifier: codeVerifier, expectedNonce: nonce, expectedState: state, idTokenExpected: true,
  });
  const claims = tokens.claims();
  assert.equal(claims.iss, gh.url);
  assert.equal(claims.aud, clientID);
  assert.equal(claims.email, 'jane@acme.test');
  const info = await client.fetchUserInfo(config, tokens.access_token, claims.sub);
  assert.equal(info.given_name, 'Jane');
  assert.equal(info.family_name, 'Doe');
  assert.deepEqual(info.groups, ['engineering', 'admins']);
  assert.equal(info.requested.tenant, 'globex.com');

  await user.close();
  await context.close();
  errors.assertClean();
});
