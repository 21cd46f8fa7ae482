#!/usr/bin/env node
// SAML Jackson (@boxyhq/saml-jackson, the exact version in package.json), hosted
// for gatehouse-bench's side-by-side comparison the way the Jackson service hosts
// it: its library controllers behind the service's routes, configured from the
// service's environment variables (DB_ENGINE, DB_TYPE, DB_URL, DB_ENCRYPTION_KEY,
// DB_TTL, JACKSON_API_KEYS, SAML_AUDIENCE, CLIENT_SECRET_VERIFIER). The service
// itself is a Next.js app; this is plain node:http, so it adds less per request
// than a real deployment, never more.
//
//   GET|POST /api/oauth/authorize   oauthController.authorize
//   POST     /api/oauth/saml        oauthController.samlResponse (the ACS)
//   POST     /api/oauth/token       oauthController.token (form or JSON, Basic auth)
//   GET      /api/oauth/userinfo    oauthController.userInfo (Bearer or ?access_token)
//   GET|POST|DELETE /api/v1/sso     connectionAPIController (Authorization: Api-Key K)
//   GET      /api/health
//
// Database: DB_ENGINE (default `mem`, in memory), or `sql` with DB_TYPE and DB_URL,
// e.g. DB_TYPE=postgres DB_URL=postgres://… . `sql` with `sqlite` (better-sqlite3, a
// file at DB_URL) starts, but TypeORM's better-sqlite3 driver shares one connection
// between requests, so concurrent logins fail ("cannot start a transaction within a
// transaction", "no such savepoint").
//
// CLI:  node scripts/jackson/server.mjs [--port N] [--host 127.0.0.1] [--exit-with-stdin]
// Prints one line {"event":"listening","url":...} on stdout once it serves; logs go
// to stderr. Benchmark support only: never deploy it.

import http from 'node:http';
import crypto from 'node:crypto';
import jacksonPackage from '@boxyhq/saml-jackson';

const MAX_BODY = 1024 * 1024; // Next.js API routes' default body limit

function parseArgs(argv) {
  const args = { port: Number(process.env.PORT || 0), host: '127.0.0.1', exitWithStdin: false };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    if (flag === '--port') args.port = Number(argv[++i]);
    else if (flag === '--host') args.host = argv[++i];
    else if (flag === '--exit-with-stdin') args.exitWithStdin = true;
    else throw new Error(`unknown argument ${flag}`);
  }
  if (!Number.isInteger(args.port) || args.port < 0) throw new Error('--port must be a port number');
  return args;
}

/** The service's options (its lib/env.ts), with the in-memory database by default. */
function jacksonOptions(externalUrl) {
  const env = process.env;
  const engine = env.DB_ENGINE || 'mem';
  const type = env.DB_TYPE;
  const url = env.DB_URL;
  // An RS256 key pair for id_tokens (scope=openid), as OPENID_RSA_*_KEY would give.
  const { publicKey, privateKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
  const b64 = (pem) => Buffer.from(pem).toString('base64');
  return {
    externalUrl,
    samlPath: '/api/oauth/saml',
    oidcPath: '/api/oauth/oidc',
    samlAudience: env.SAML_AUDIENCE,
    clientSecretVerifier: env.CLIENT_SECRET_VERIFIER,
    db: {
      engine,
      type,
      url,
      encryptionKey: env.DB_ENCRYPTION_KEY,
      ttl: env.DB_TTL ? Number(env.DB_TTL) : undefined,
    },
    openid: {
      jwtSigningKeys: {
        private: b64(privateKey.export({ type: 'pkcs8', format: 'pem' })),
        public: b64(publicKey.export({ type: 'spki', format: 'pem' })),
      },
    },
    noAnalytics: true,
  };
}

class HttpError extends Error {
  constructor(statusCode, message) {
    super(message);
    this.statusCode = statusCode;
  }
}

async function readBody(req) {
  const chunks = [];
  let size = 0;
  for await (const chunk of req) {
    size += chunk.length;
    if (size > MAX_BODY) throw new HttpError(413, 'Body exceeded 1mb limit');
    chunks.push(chunk);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  const type = (req.headers['content-type'] || '').split(';')[0].trim();
  if (type === 'application/json') return text ? JSON.parse(text) : {};
  if (type === 'application/x-www-form-urlencoded') return Object.fromEntries(new URLSearchParams(text));
  return {};
}

function send(res, status, body, headers = {}) {
  const json = typeof body !== 'string';
  res.writeHead(status, {
    'Content-Type': json ? 'application/json; charset=utf-8' : 'text/html; charset=utf-8',
    ...headers,
  });
  res.end(json ? JSON.stringify(body) : body);
}

function redirect(res, location) {
  res.writeHead(302, { Location: location });
  res.end();
}

/** The token after the scheme of an Authorization header (`Api-Key K`, `Bearer T`). */
function authToken(req) {
  const parts = (req.headers.authorization || '').split(' ');
  return parts.length === 2 ? parts[1] : null;
}

function makeHandler({ oauthController, connectionAPIController }, apiKeys) {
  const routes = {
    async 'GET /api/oauth/authorize'(req, res, url) {
      return authorize(res, Object.fromEntries(url.searchParams));
    },
    async 'POST /api/oauth/authorize'(req, res) {
      return authorize(res, await readBody(req));
    },
    async 'POST /api/oauth/saml'(req, res) {
      const { SAMLResponse, RelayState, idp_hint } = await readBody(req);
      const { redirect_url, app_select_form, response_form } = await oauthController.samlResponse({ SAMLResponse, RelayState, idp_hint });
      if (redirect_url) return redirect(res, redirect_url);
      return send(res, 200, app_select_form || response_form || '');
    },
    async 'POST /api/oauth/token'(req, res) {
      return send(res, 200, await oauthController.token(await readBody(req), req.headers.authorization));
    },
    async 'GET /api/oauth/userinfo'(req, res, url) {
      const token = authToken(req) || url.searchParams.get('access_token');
      if (!token) return send(res, 401, { message: 'Unauthorized' });
      return send(res, 200, await oauthController.userInfo(token));
    },
    async 'GET /api/v1/sso'(req, res, url) {
      return send(res, 200, await connectionAPIController.getConnections(Object.fromEntries(url.searchParams)));
    },
    async 'POST /api/v1/sso'(req, res) {
      const body = await readBody(req);
      if (!body.rawMetadata && !body.encodedRawMetadata && !body.metadataUrl) {
        throw new HttpError(400, 'Missing SSO connection params (only SAML connections are hosted here)');
      }
      return send(res, 200, await connectionAPIController.createSAMLConnection(body));
    },
    async 'DELETE /api/v1/sso'(req, res, url) {
      await connectionAPIController.deleteConnections(Object.fromEntries(url.searchParams));
      res.writeHead(204);
      res.end();
    },
    async 'GET /api/health'(req, res) {
      return send(res, 200, { status: 'ok' });
    },
  };

  async function authorize(res, params) {
    const { redirect_url, authorize_form } = await oauthController.authorize(params);
    if (redirect_url) return redirect(res, redirect_url);
    return send(res, 200, authorize_form);
  }

  return async (req, res) => {
    const url = new URL(req.url, 'http://localhost');
    const route = routes[`${req.method} ${url.pathname}`];
    try {
      if (!route) throw new HttpError(404, `no route for ${req.method} ${url.pathname}`);
      if (url.pathname.startsWith('/api/v1/') && !apiKeys.includes(authToken(req))) {
        throw new HttpError(401, 'Unauthorized');
      }
      await route(req, res, url);
    } catch (err) {
      // The service answers errors of the browser steps with a redirect to /error;
      // the message in the body here lets the benchmark say what went wrong.
      const status = err.statusCode || 500;
      if (status >= 500) console.error(`${req.method} ${url.pathname}:`, err);
      if (!res.headersSent) send(res, status, { error: { message: err.message } });
      else res.end();
    }
  };
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  // stdout carries the listening line only (the benchmark stops reading after it).
  console.log = console.info = console.error;
  const apiKeys = (process.env.JACKSON_API_KEYS || '').split(',').filter(Boolean);
  if (apiKeys.length === 0) throw new Error('JACKSON_API_KEYS must name at least one API key');
  // Listen first: the external URL (and so the ACS URL) needs the port.
  let handler = (req, res) => send(res, 503, { error: { message: 'starting' } });
  const server = http.createServer((req, res) => handler(req, res));
  server.keepAliveTimeout = 65_000;
  await new Promise((resolve, reject) => server.once('error', reject).listen(args.port, args.host, resolve));
  const { port } = server.address();
  const externalUrl = process.env.EXTERNAL_URL || `http://${args.host}:${port}`;
  const jackson = await jacksonPackage.controllers(jacksonOptions(externalUrl));
  handler = makeHandler(jackson, apiKeys);
  if (args.exitWithStdin) {
    process.stdin.on('end', () => process.exit(0));
    process.stdin.resume();
  }
  process.stdout.write(JSON.stringify({ event: 'listening', url: externalUrl }) + '\n');
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
