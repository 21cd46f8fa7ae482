// The SSO bridge end to end, with third-party software on both sides:
// openid-client (v6, panva) as the vendor app's OIDC client and a samlify-based
// SAML IdP (end2end/support/saml-idp.mjs) as the customer's IdP. No browser: the
// "browser" is fetch with manual redirects, and the IdP answers with
// `format=json` instead of its auto-posting HTML form.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as client from 'openid-client';
import { startGatehouse, startPeer, uniqueEmail } from '../support/harness.mjs';

const REDIRECT = 'https://app.example.com/callback';
const REDIRECT_2 = 'https://app.example.com/other-callback';
const JANE = {
  email: 'jane@acme.test',
  given_name: 'Jane',
  family_name: 'Doe',
  groups: ['engineering', 'admins'],
  roles: ['admin'],
};

let gh, idp;
let cookie; // the dashboard session (gatehouse_session=…)
let teamId;

// ---------------------------------------------------------------------------
// Set-up over HTTP

function sessionCookie(res) {
  const pairs = res.headers.getSetCookie().map((c) => c.split(';')[0]);
  const session = pairs.find((p) => p.startsWith('gatehouse_session='));
  assert.ok(session, `signup must set gatehouse_session (got ${JSON.stringify(pairs)})`);
  return session;
}

async function rpc(path, fields, { expectJson = true } = {}) {
  const res = await fetch(`${gh.url}${path}`, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      ...(cookie ? { cookie } : {}),
    },
    body: new URLSearchParams(fields),
    redirect: 'manual',
  });
  const text = await res.text();
  assert.equal(res.status, 200, `${path} must answer 200, got ${res.status}: ${text.slice(0, 500)}`);
  return { res, body: expectJson && text ? JSON.parse(text) : text };
}

/** A product with redirect URLs and an API key for the admin API. */
async function createProduct(name) {
  const { body: product } = await rpc('/rpc/products/create', {
    team: teamId, name, description: `${name} (e2e)`,
  });
  assert.match(product.id, /^prod_/, `products/create must give a product id: ${JSON.stringify(product)}`);
  await rpc('/rpc/products/update', {
    team: teamId,
    product: product.id,
    name,
    description: `${name} (e2e)`,
    redirect_urls: [REDIRECT, REDIRECT_2].join('\n'),
    default_redirect_url: REDIRECT,
  }, { expectJson: false });
  const { body: key } = await rpc('/rpc/api-keys/create', { team: teamId, product: product.id, name: 'e2e' });
  assert.ok(key.secret, `api-keys/create must return a secret: ${JSON.stringify(key)}`);
  return { id: product.id, apiKey: key.secret };
}

async function idpMetadata(keys) {
  const res = await fetch(`${idp.url}/metadata?keys=${keys}`);
  assert.equal(res.status, 200, 'IdP metadata');
  return res.text();
}

/** A SAML connection through the Jackson-compatible admin API. */
async function createConnection(product, { tenant, keys = 'primary', allowIdpInitiated = false }) {
  const res = await fetch(`${gh.url}/api/v1/sso`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Api-Key ${product.apiKey}` },
    body: JSON.stringify({
      tenant,
      product: product.id,
      name: `${tenant} (${keys})`,
      rawMetadata: await idpMetadata(keys),
      redirectUrl: [REDIRECT, REDIRECT_2],
      defaultRedirectUrl: REDIRECT,
      allowIdpInitiated,
      // the test IdP signs users in as jane@acme.test
      emailDomains: ['acme.test'],
    }),
  });
  const text = await res.text();
  assert.ok(res.ok, `POST /api/v1/sso must succeed, got ${res.status}: ${text}`);
  const conn = JSON.parse(text);
  assert.ok(conn.clientID && conn.clientSecret, `the new connection must have credentials: ${text}`);
  assert.equal(conn.sp?.acsUrl, `${gh.url}/api/oauth/saml`, 'the ACS URL');
  assert.equal(conn.sp?.entityId, `${gh.url}/saml/${product.id}`, 'the SP entity id is per product');
  return conn;
}

async function idpConfig(patch) {
  const res = await fetch(`${idp.url}/__idp/config`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(patch),
  });
  assert.equal(res.status, 200, `IdP config ${JSON.stringify(patch)}: ${await res.text()}`);
}

async function idpReset() {
  const res = await fetch(`${idp.url}/__idp/reset`, { method: 'POST' });
  assert.equal(res.status, 200, 'IdP reset');
  await res.body?.cancel();
}

// ---------------------------------------------------------------------------
// The "browser"

/** openid-client configuration for a connection, found by discovery. */
async function configFor(conn, auth = 'basic') {
  const authMethod = auth === 'basic'
    ? client.ClientSecretBasic(conn.clientSecret)
    : client.ClientSecretPost(conn.clientSecret);
  // Gatehouse runs on plain http in the tests; openid-client refuses that by default.
  return client.discovery(new URL(gh.url), conn.clientID, undefined, authMethod, {
    execute: [client.allowInsecureRequests],
  });
}

/** GET the authorization URL: Gatehouse must send the browser to the IdP's /sso. */
async function toIdp(authorizationUrl) {
  const res = await fetch(authorizationUrl, { redirect: 'manual' });
  const body = await res.text();
  assert.equal(res.status, 303, `authorize must answer 303 to the IdP, got ${res.status}: ${body.slice(0, 500)}`);
  const location = new URL(res.headers.get('location'));
  assert.equal(`${location.origin}${location.pathname}`, `${idp.url}/sso`, 'authorize redirects to the IdP SSO URL');
  for (const p of ['SAMLRequest', 'RelayState']) {
    assert.ok(location.searchParams.get(p), `the redirect to the IdP carries ${p}`);
  }
  return location;
}

/** The IdP logs the configured user in and answers what its form would post. */
async function idpAnswer(ssoUrl) {
  const u = new URL(ssoUrl);
  u.searchParams.set('format', 'json');
  const res = await fetch(u);
  const text = await res.text();
  assert.equal(res.status, 200, `the IdP must accept Gatehouse's AuthnRequest, got ${res.status}: ${text}`);
  return JSON.parse(text);
}

/** POST the SAMLResponse to the ACS like the IdP's auto-post form would. */
async function postToAcs({ acsUrl, samlResponse, relayState }) {
  assert.equal(acsUrl, `${gh.url}/api/oauth/saml`, 'the IdP posts to Gatehouse ACS');
  const form = new URLSearchParams({ SAMLResponse: samlResponse });
  if (relayState != null) form.set('RelayState', relayState);
  const res = await fetch(acsUrl, { method: 'POST', body: form, redirect: 'manual' });
  return { status: res.status, location: res.headers.get('location'), body: await res.text() };
}

function assertBackToApp(acs, what) {
  assert.equal(acs.status, 303, `${what}: the ACS must answer 303 to the app, got ${acs.status}: ${acs.body.slice(0, 800)}`);
  const back = new URL(acs.location);
  assert.ok(back.searchParams.get('code'), `${what}: the redirect carries a code (${acs.location})`);
  return back;
}

function assertLoginError(acs, what) {
  assert.ok(acs.status >= 400 && acs.status < 500, `${what}: the ACS must refuse with a 4xx, got ${acs.status} ${acs.location ?? ''}`);
  assert.equal(acs.location, null, `${what}: no redirect to the app`);
  assert.match(acs.body, /data-testid="login-error"/, `${what}: an HTML error page`);
  const ref = acs.body.match(/data-testid="reference"[^>]*>([^<]+)</);
  assert.ok(ref && ref[1].trim().length > 0, `${what}: the error page shows a reference id`);
  assert.ok(!/\bcode=/.test(acs.body), `${what}: no authorization code leaks into the page`);
  return ref[1].trim();
}

/** authorize → IdP → ACS, with the IdP's answer optionally tampered with. */
async function loginAtIdp(authorizationUrl, tamper = (x) => x) {
  const sso = await toIdp(authorizationUrl);
  const answer = await idpAnswer(sso);
  assert.equal(answer.relayState, sso.searchParams.get('RelayState'), 'the IdP returns the RelayState untouched');
  return postToAcs(tamper(answer));
}

/** A full SP-initiated OIDC login with PKCE, nonce and state, all from openid-client. */
async function oidcLogin(config, { redirect_uri = REDIRECT } = {}) {
  const codeVerifier = client.randomPKCECodeVerifier();
  const codeChallenge = await client.calculatePKCECodeChallenge(codeVerifier);
  const nonce = client.randomNonce();
  const state = client.randomState();
  const authorizationUrl = client.buildAuthorizationUrl(config, {
    redirect_uri,
    scope: 'openid email profile',
    code_challenge: codeChallenge,
    code_challenge_method: 'S256',
    nonce,
    state,
  });
  const acs = await loginAtIdp(authorizationUrl);
  const callback = assertBackToApp(acs, 'SP-initiated login');
  assert.equal(`${callback.origin}${callback.pathname}`, redirect_uri, 'the code goes to the redirect_uri that was asked for');
  assert.equal(callback.searchParams.get('state'), state, 'state is echoed');
  const tokens = await client.authorizationCodeGrant(config, callback, {
    pkceCodeVerifier: codeVerifier,
    expectedNonce: nonce,
    expectedState: state,
    idTokenExpected: true,
  });
  return { tokens, nonce, state, codeVerifier, callback };
}

function assertIdToken(tokens, conn, nonce) {
  assert.ok(tokens.access_token, 'an access token');
  assert.equal(tokens.token_type.toLowerCase(), 'bearer', 'a bearer token');
  assert.ok(tokens.id_token, 'scope=openid gives an id_token');
  const header = JSON.parse(Buffer.from(tokens.id_token.split('.')[0], 'base64url'));
  assert.equal(header.alg, 'RS256', 'the id_token is RS256');
  assert.ok(header.kid, 'the id_token header names its kid');
  const claims = tokens.claims();
  assert.equal(claims.iss, gh.url, 'id_token iss is the issuer');
  assert.equal(claims.aud, conn.clientID, 'id_token aud is the client id');
  assert.equal(claims.nonce, nonce, 'id_token nonce is echoed');
  assert.equal(claims.email, JANE.email, 'id_token email');
  assert.ok(claims.sub, 'id_token has a sub');
  return claims;
}

async function assertUserinfo(config, tokens, sub) {
  const info = await client.fetchUserInfo(config, tokens.access_token, sub);
  assert.equal(info.sub, sub, 'userinfo sub matches the id_token');
  assert.equal(info.email, JANE.email, 'userinfo email');
  assert.equal(info.given_name, JANE.given_name, 'userinfo given_name');
  assert.equal(info.family_name, JANE.family_name, 'userinfo family_name');
  assert.deepEqual([...info.groups].sort(), [...JANE.groups].sort(), 'userinfo groups');
  return info;
}

// ---------------------------------------------------------------------------

let productA; // shared by the SP-initiated tests

before(async () => {
  // The IdP warms up its XSD validator (~5 s) while Gatehouse starts.
  // allSettled, so that after() can stop whichever one did start.
  const [i, g] = await Promise.allSettled([
    startPeer('end2end/support/saml-idp.mjs', ['--exit-with-stdin']),
    startGatehouse(),
  ]);
  idp = i.value;
  gh = g.value;
  for (const r of [i, g]) if (r.status === 'rejected') throw r.reason;
  const res = await fetch(`${gh.url}/rpc/auth/signup`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      email: uniqueEmail('sso'), password: 'a sufficiently long password', team_name: 'Vendor Inc',
    }),
    redirect: 'manual',
  });
  const body = await res.text();
  assert.equal(res.status, 200, `signup must answer 200, got ${res.status}: ${body.slice(0, 300)}`);
  const location = res.headers.get('location');
  const m = location?.match(/^\/teams\/([^/]+)\/products$/);
  assert.ok(m, `signup location must be /teams/{id}/products, got ${location}`);
  teamId = m[1];
  cookie = sessionCookie(res);
  productA = await createProduct('Vendor App');
});

after(async () => {
  await gh?.stop();
  await idp?.stop();
});

test('discovery, then an SP-initiated code flow with PKCE S256 and nonce (client_secret_basic)', async () => {
  const conn = await createConnection(productA, { tenant: 't1.example' });
  const config = await configFor(conn, 'basic');

  const meta = config.serverMetadata();
  assert.equal(meta.issuer, gh.url, 'discovery issuer');
  assert.equal(meta.authorization_endpoint, `${gh.url}/api/oauth/authorize`, 'authorization_endpoint');
  assert.equal(meta.token_endpoint, `${gh.url}/api/oauth/token`, 'token_endpoint');
  assert.equal(meta.userinfo_endpoint, `${gh.url}/api/oauth/userinfo`, 'userinfo_endpoint');
  assert.ok(meta.jwks_uri, 'jwks_uri');
  assert.ok(meta.supportsPKCE('S256'), 'discovery advertises PKCE S256');
  assert.ok(meta.token_endpoint_auth_methods_supported.includes('client_secret_basic'), 'client_secret_basic advertised');
  assert.ok(meta.token_endpoint_auth_methods_supported.includes('client_secret_post'), 'client_secret_post advertised');

  const { tokens, nonce, state, codeVerifier, callback } = await oidcLogin(config);
  const claims = assertIdToken(tokens, conn, nonce);
  await assertUserinfo(config, tokens, claims.sub);

  // The code is single use.
  await assert.rejects(
    client.authorizationCodeGrant(config, callback, {
      pkceCodeVerifier: codeVerifier, expectedNonce: nonce, expectedState: state,
    }),
    (e) => e.error === 'invalid_grant',
    'a code redeemed twice is invalid_grant',
  );
  // …and redeeming it again revokes what it gave the first time (RFC 6749 §4.1.2).
  await assert.rejects(
    client.fetchUserInfo(config, tokens.access_token, claims.sub),
    (e) => e.code === 'OAUTH_WWW_AUTHENTICATE_CHALLENGE' && e.status === 401
      && e.cause?.[0]?.parameters?.error === 'invalid_token',
    'the access token from a reused code is revoked',
  );
});

test('client_secret_post, and sub is stable across two logins of the same user', async () => {
  const conn = await createConnection(productA, { tenant: 't2.example' });
  const config = await configFor(conn, 'post');

  const first = await oidcLogin(config);
  const c1 = assertIdToken(first.tokens, conn, first.nonce);
  const second = await oidcLogin(config, { redirect_uri: REDIRECT_2 });
  const c2 = assertIdToken(second.tokens, conn, second.nonce);
  assert.notEqual(first.tokens.access_token, second.tokens.access_token, 'each login gets its own access token');
  assert.equal(c2.sub, c1.sub, 'sub is stable across logins of the same user');
  const info = await assertUserinfo(config, second.tokens, c2.sub);
  assert.deepEqual([...info.roles].sort(), JANE.roles, 'userinfo roles');
});

test('a signed Assertion only, and a signed Response + Assertion, both log in', async () => {
  const conn = await createConnection(productA, { tenant: 't3.example' });
  const config = await configFor(conn);
  try {
    for (const sign of ['assertion', 'both']) {
      await idpConfig({ sign });
      const { tokens, nonce } = await oidcLogin(config);
      const claims = assertIdToken(tokens, conn, nonce);
      assert.equal(claims.email, JANE.email, `sign=${sign}: logged in as Jane`);
    }
  } finally {
    await idpReset();
  }
});

test('certificate rotation: both keys in the metadata accept the new key; a pin to the old one refuses it', async () => {
  const rotated = await createConnection(productA, { tenant: 't4.example', keys: 'both' });
  const pinned = await createConnection(productA, { tenant: 't5.example', keys: 'primary' });
  const rotatedConfig = await configFor(rotated);
  const pinnedConfig = await configFor(pinned);
  try {
    // Before the switch, the rotated connection still takes the primary key…
    let login = await oidcLogin(rotatedConfig);
    assertIdToken(login.tokens, rotated, login.nonce);

    // …and after it, the secondary one.
    await idpConfig({ key: 'secondary' });
    login = await oidcLogin(rotatedConfig);
    assertIdToken(login.tokens, rotated, login.nonce);

    const url = client.buildAuthorizationUrl(pinnedConfig, {
      redirect_uri: REDIRECT, scope: 'openid', state: client.randomState(),
      code_challenge: await client.calculatePKCECodeChallenge(client.randomPKCECodeVerifier()),
      code_challenge_method: 'S256',
    });
    assertLoginError(await loginAtIdp(url), 'response signed by a key not in the pinned metadata');
  } finally {
    await idpReset();
  }
});

test('IdP-initiated: allowed connections get a code at the default redirect URL; others refuse', async () => {
  // One product per case: the SP entity id (the audience) is per product, and an
  // unsolicited response is matched by IdP entity id within that audience.
  const allowProduct = await createProduct('IdP-initiated allowed');
  const denyProduct = await createProduct('IdP-initiated refused');
  const allowed = await createConnection(allowProduct, { tenant: 't6.example', allowIdpInitiated: true });
  const refused = await createConnection(denyProduct, { tenant: 't7.example', allowIdpInitiated: false });

  async function unsolicited(conn) {
    const u = new URL(`${idp.url}/idp-initiated`);
    u.searchParams.set('acs', conn.sp.acsUrl);
    u.searchParams.set('audience', conn.sp.entityId);
    u.searchParams.set('format', 'json');
    const res = await fetch(u);
    const text = await res.text();
    assert.equal(res.status, 200, `IdP-initiated response: ${text}`);
    const answer = JSON.parse(text);
    assert.equal(answer.relayState, null, 'no RelayState on an unsolicited response');
    return postToAcs(answer);
  }

  const acs = await unsolicited(allowed);
  const callback = assertBackToApp(acs, 'IdP-initiated login');
  assert.equal(`${callback.origin}${callback.pathname}`, REDIRECT, 'the code lands on the default redirect URL');
  assert.equal(callback.searchParams.get('state'), null, 'no state on an IdP-initiated login');

  const config = await configFor(allowed);
  const tokens = await client.authorizationCodeGrant(config, callback, {
    expectedState: client.skipStateCheck,
  });
  assert.ok(tokens.access_token, 'IdP-initiated code exchanges for an access token');
  assert.equal(tokens.id_token, undefined, 'no openid scope, so no id_token');
  const info = await client.fetchUserInfo(config, tokens.access_token, client.skipSubjectCheck);
  assert.equal(info.email, JANE.email, 'userinfo after IdP-initiated login');

  assertLoginError(await unsolicited(refused), 'IdP-initiated login on a connection that does not allow it');
});

test('tampering with the NameID of a signed response is refused', async () => {
  const conn = await createConnection(productA, { tenant: 't8.example' });
  const config = await configFor(conn);
  const url = client.buildAuthorizationUrl(config, {
    redirect_uri: REDIRECT, scope: 'openid', state: client.randomState(),
    code_challenge: await client.calculatePKCECodeChallenge(client.randomPKCECodeVerifier()),
    code_challenge_method: 'S256',
  });
  let before, after;
  const acs = await loginAtIdp(url, (answer) => {
    const xml = Buffer.from(answer.samlResponse, 'base64').toString('utf8');
    const re = /(<(?:[\w-]+:)?NameID\b[^>]*>)([^<]+)(<\/(?:[\w-]+:)?NameID>)/;
    const m = xml.match(re);
    assert.ok(m, 'the IdP response has a NameID');
    before = m[2];
    // one character: jane@acme.test → jame@acme.test
    after = before.replace('n', 'm');
    assert.notEqual(after, before);
    assert.equal(after.length, before.length);
    const tampered = xml.replace(re, `$1${after}$3`);
    return { ...answer, samlResponse: Buffer.from(tampered, 'utf8').toString('base64') };
  });
  assert.equal(before, JANE.email, 'the untampered NameID');
  assertLoginError(acs, `NameID changed from ${before} to ${after}`);
});
