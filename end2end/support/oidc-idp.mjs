#!/usr/bin/env node
// Gatehouse test support: a real third-party OpenID Connect Provider
// (panva's `oidc-provider`, certified by the OpenID Foundation) acting as a
// customer's OIDC IdP. Discovery, JWKS, authorization (PKCE), token, userinfo
// and dynamic client registration are oidc-provider's own; the only thing added
// here is a login step without UI: the interaction signs in the configured user
// at once (consent is granted automatically). Test-only: never deploy it.
//
// CLI:  node end2end/support/oidc-idp.mjs [--port N] [--host 127.0.0.1] [--exit-with-stdin]
// On start it prints one JSON line: {"listening":true,"url":…,"issuer":…}
//
// Test hooks (not OIDC):
//   POST /__idp/user   {sub,email,given_name,family_name,groups}  the next sign-ins' user
//   POST /__idp/deny   {error,error_description}                  the next sign-in is refused
// Clients: register with POST /reg (RFC 7591), e.g.
//   {"redirect_uris":["http://127.0.0.1:3000/api/oauth/oidc/conn_…"],"grant_types":["authorization_code"],
//    "response_types":["code"],"token_endpoint_auth_method":"client_secret_basic"}
// and change them with PUT /reg/{client_id} (RFC 7592, the registration_access_token).

import http from 'node:http';
import Provider from 'oidc-provider';

const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : dflt;
};
const host = opt('host', '127.0.0.1');
const port = Number(opt('port', '0'));

const DEFAULT_USER = {
  sub: 'oidc-user-0001',
  email: 'jane@acme.test',
  email_verified: true,
  given_name: 'Jane',
  family_name: 'Doe',
  groups: ['engineering', 'admins'],
};
let user = { ...DEFAULT_USER };
let deny = null;

const readJson = (req) => new Promise((resolve) => {
  let body = '';
  req.on('data', (c) => { body += c; });
  req.on('end', () => {
    try { resolve(JSON.parse(body || '{}')); } catch { resolve({}); }
  });
});

const server = http.createServer();
server.listen(port, host, () => {
  const { port: actual } = server.address();
  const issuer = `http://${host}:${actual}`;
  const provider = new Provider(issuer, {
    features: {
      devInteractions: { enabled: false },
      registration: { enabled: true },
      // RFC 7592: a client's redirect URIs can be changed after registration, as an
      // IdP admin edits an app's callback URL once Gatehouse has shown it.
      registrationManagement: { enabled: true, rotateRegistrationAccessToken: false },
    },
    scopes: ['openid', 'email', 'profile', 'offline_access'],
    claims: {
      openid: ['sub'],
      email: ['email', 'email_verified'],
      profile: ['given_name', 'family_name', 'name', 'groups'],
    },
    async findAccount(ctx, sub) {
      return {
        accountId: sub,
        async claims() {
          const u = user.sub === sub ? user : { ...user, sub };
          return { ...u, name: `${u.given_name} ${u.family_name}` };
        },
      };
    },
    // Consent is granted automatically for what the client asked.
    async loadExistingGrant(ctx) {
      const grantId = ctx.oidc.result?.consent?.grantId
        || ctx.oidc.session.grantIdFor(ctx.oidc.client.clientId);
      if (grantId) return ctx.oidc.provider.Grant.find(grantId);
      const grant = new ctx.oidc.provider.Grant({
        clientId: ctx.oidc.client.clientId,
        accountId: ctx.oidc.session.accountId,
      });
      grant.addOIDCScope('openid email profile');
      await grant.save();
      return grant;
    },
    interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
    cookies: { keys: ['gatehouse-test-only-cookie-key'] },
    ttl: { Session: 600, Interaction: 600, Grant: 600, AccessToken: 600, IdToken: 600, AuthorizationCode: 60 },
  });
  provider.proxy = false;
  const callback = provider.callback();

  server.on('request', async (req, res) => {
    try {
      const url = new URL(req.url, issuer);
      if (req.method === 'POST' && url.pathname === '/__idp/user') {
        const body = await readJson(req);
        user = { ...DEFAULT_USER, ...body };
        res.writeHead(204).end();
        return;
      }
      if (req.method === 'POST' && url.pathname === '/__idp/deny') {
        deny = await readJson(req);
        res.writeHead(204).end();
        return;
      }
      if (url.pathname.startsWith('/interaction/')) {
        const details = await provider.interactionDetails(req, res);
        let result;
        if (deny) {
          result = { error: deny.error || 'access_denied', error_description: deny.error_description };
          deny = null;
        } else {
          result = { login: { accountId: user.sub } };
        }
        void details;
        await provider.interactionFinished(req, res, result, { mergeWithLastSubmission: false });
        return;
      }
      callback(req, res);
    } catch (e) {
      res.writeHead(500, { 'content-type': 'text/plain' }).end(String(e && e.stack || e));
    }
  });

  process.stdout.write(`${JSON.stringify({ listening: true, url: issuer, issuer })}\n`);
});

if (args.includes('--exit-with-stdin')) {
  process.stdin.on('end', () => process.exit(0));
  process.stdin.resume();
}
