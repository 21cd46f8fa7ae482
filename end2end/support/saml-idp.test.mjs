// Tests for the test IdP (saml-idp.mjs), with samlify's ServiceProvider as the
// counterpart and libxmlsec1 (the xmlsec1 CLI) as an independent verifier.
//
//   node --test end2end/support/saml-idp.test.mjs

import { test, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFile } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

import { quietXmllintValidator, STATUS, SIGNATURE_ALGORITHMS, DIGEST_ALGORITHMS } from './saml-idp.mjs';

const require = createRequire(import.meta.url);
const samlify = require('samlify');
const { DOMParser } = createRequire(require.resolve('samlify'))('@xmldom/xmldom');
const execFileP = promisify(execFile);

samlify.setSchemaValidator(quietXmllintValidator);

const HERE = path.dirname(fileURLToPath(import.meta.url));
const SCRIPT = path.join(HERE, 'saml-idp.mjs');
const KEYS = path.join(HERE, 'keys');
const cert = (name) => fs.readFileSync(path.join(KEYS, `${name}.crt`), 'utf8');
const certBody = (name) => samlify.Utility.normalizeCerString(cert(name));

const NS_P = 'urn:oasis:names:tc:SAML:2.0:protocol';
const NS_A = 'urn:oasis:names:tc:SAML:2.0:assertion';
const NS_DS = 'http://www.w3.org/2000/09/xmldsig#';
const NS_MD = 'urn:oasis:names:tc:SAML:2.0:metadata';
const POST = 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST';
const REDIRECT = 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect';
const SP_ENTITY = 'https://sp.gatehouse.test/saml/metadata';
const ACS = 'https://sp.gatehouse.test/saml/acs';

let child;
let stdoutLines = [];
let listening;
let base;
let tmp;
let spKey;
let spCert;

// ---------------------------------------------------------------------------
// helpers
// ---------------------------------------------------------------------------

async function http(pathname, { method = 'GET', json, form, headers = {} } = {}) {
  const init = { method, headers: { ...headers }, redirect: 'manual' };
  if (json !== undefined) {
    init.body = JSON.stringify(json);
    init.headers['content-type'] = 'application/json';
  } else if (form !== undefined) {
    init.body = new URLSearchParams(form).toString();
    init.headers['content-type'] = 'application/x-www-form-urlencoded';
  }
  const url = pathname.startsWith('http') ? pathname : `${base}${pathname}`;
  const res = await fetch(url, init);
  const text = await res.text();
  let body = text;
  if ((res.headers.get('content-type') ?? '').includes('application/json')) body = JSON.parse(text);
  return { status: res.status, headers: res.headers, body, text };
}

async function configure(patch) {
  const r = await http('/__idp/config', { method: 'POST', json: patch });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  return r.body;
}

async function signOne(fields) {
  const r = await http('/__idp/sign', { method: 'POST', json: fields });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  return r.body;
}

async function idpEntity(query = '') {
  const r = await http(`/metadata${query}`);
  assert.equal(r.status, 200);
  return samlify.IdentityProvider({ metadata: r.text });
}

function spEntity(extra = {}) {
  return samlify.ServiceProvider({
    entityID: SP_ENTITY,
    assertionConsumerService: [{ Binding: POST, Location: ACS }],
    ...extra,
  });
}

function parseResponse(sp, idp, samlResponse) {
  return sp.parseLoginResponse(idp, 'post', { body: { SAMLResponse: samlResponse } });
}

const decode = (b64) => Buffer.from(b64, 'base64').toString('utf8');
const dom = (xml) => new DOMParser().parseFromString(xml, 'text/xml');
const children = (el, ns, name) => Array.from(el.childNodes).filter((n) => n.nodeType === 1 && n.namespaceURI === ns && n.localName === name);
const one = (el, ns, name) => el.getElementsByTagNameNS(ns, name)[0];

function parseAutoPost(html) {
  const action = /<form method="post" action="([^"]*)">/.exec(html)?.[1];
  const samlResponse = /name="SAMLResponse" value="([^"]*)"/.exec(html)?.[1];
  const relay = /name="RelayState" value="([^"]*)"/.exec(html)?.[1];
  const unescape = (s) => s?.replace(/&quot;/g, '"').replace(/&apos;/g, "'").replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
  return { action: unescape(action), samlResponse, relayState: unescape(relay) };
}

let xmlCounter = 0;
/** libxmlsec1 verification with a pinned certificate; `nodeXpath` picks which Signature (default: the first). */
async function xmlsecVerifies(xml, certName, nodeXpath) {
  const file = path.join(tmp, `resp-${++xmlCounter}.xml`);
  fs.writeFileSync(file, xml);
  const args = [
    '--verify',
    '--pubkey-cert-pem', path.join(KEYS, `${certName}.crt`),
    '--id-attr:ID', `${NS_P}:Response`,
    '--id-attr:ID', `${NS_A}:Assertion`,
  ];
  if (nodeXpath) args.push('--node-xpath', nodeXpath);
  args.push(file);
  try {
    await execFileP('xmlsec1', args);
    return true;
  } catch (e) {
    if (typeof e.code === 'number') return false; // xmlsec1 ran and said no
    throw e;
  }
}
const ASSERTION_SIG_XPATH = "/*/*[local-name()='Assertion']/*[local-name()='Signature']";
const RESPONSE_SIG_XPATH = "/*/*[local-name()='Signature']";

function withinSeconds(iso, expectedOffsetMs, toleranceMs = 15_000) {
  const delta = Date.parse(iso) - (Date.now() + expectedOffsetMs);
  return Math.abs(delta) <= toleranceMs;
}

// ---------------------------------------------------------------------------
// lifecycle
// ---------------------------------------------------------------------------

before(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'gatehouse-saml-idp-test-'));
  // A throwaway SP signing key pair for the signed-AuthnRequest tests.
  spKey = path.join(tmp, 'sp.key');
  spCert = path.join(tmp, 'sp.crt');
  await execFileP('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-sha256', '-days', '2', '-keyout', spKey, '-out', spCert, '-subj', '/CN=Gatehouse test SP']);

  child = spawn(process.execPath, [SCRIPT, '--port', '0', '--exit-with-stdin'], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d) => { stderr += d; });
  let buf = '';
  listening = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`IdP did not start in 60s; stderr: ${stderr}`)), 60_000);
    child.stdout.on('data', (d) => {
      buf += d;
      let i;
      while ((i = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        stdoutLines.push(line);
        if (stdoutLines.length === 1) {
          clearTimeout(timer);
          try {
            resolve(JSON.parse(line));
          } catch (e) {
            reject(new Error(`first stdout line is not JSON: ${JSON.stringify(line)}`));
          }
        }
      }
    });
    child.once('exit', (code) => reject(new Error(`IdP exited early (${code}); stderr: ${stderr}`)));
  });
  base = listening.url;
});

after(async () => {
  if (child && child.exitCode === null) {
    const exited = once(child, 'exit');
    child.kill('SIGTERM');
    await exited;
  }
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

beforeEach(async () => {
  const r = await http('/__idp/reset', { method: 'POST' });
  assert.equal(r.status, 200);
});

// ---------------------------------------------------------------------------
// CLI + metadata
// ---------------------------------------------------------------------------

test('CLI prints one JSON "listening" line with port, url and default entity id', () => {
  assert.equal(listening.event, 'listening');
  assert.ok(Number.isInteger(listening.port) && listening.port > 0);
  assert.equal(listening.url, `http://127.0.0.1:${listening.port}`);
  assert.equal(listening.entityId, `http://127.0.0.1:${listening.port}/metadata`);
  assert.deepEqual(Object.keys(listening).sort(), ['entityId', 'event', 'port', 'url']);
});

test('--entity-id overrides the default entity id', async () => {
  const c = spawn(process.execPath, [SCRIPT, '--port', '0', '--entity-id', 'https://idp.acme.test/saml', '--no-schema-validation'], { stdio: ['ignore', 'pipe', 'inherit'] });
  const [chunk] = await once(c.stdout, 'data');
  const line = JSON.parse(String(chunk).split('\n')[0]);
  try {
    assert.equal(line.entityId, 'https://idp.acme.test/saml');
    const md = await (await fetch(`${line.url}/metadata`)).text();
    assert.match(md, /entityID="https:\/\/idp\.acme\.test\/saml"/);
  } finally {
    const exited = once(c, 'exit');
    c.kill('SIGTERM');
    await exited;
  }
});

test('GET /metadata: IDPSSODescriptor, both SSO bindings, emailAddress, primary signing cert', async () => {
  const r = await http('/metadata');
  assert.equal(r.status, 200);
  assert.match(r.headers.get('content-type'), /xml/);
  const doc = dom(r.text);
  const ed = doc.documentElement;
  assert.equal(ed.localName, 'EntityDescriptor');
  assert.equal(ed.getAttribute('entityID'), listening.entityId);
  const idpsso = one(ed, NS_MD, 'IDPSSODescriptor');
  assert.equal(idpsso.getAttribute('WantAuthnRequestsSigned'), 'false');
  const sso = Array.from(idpsso.getElementsByTagNameNS(NS_MD, 'SingleSignOnService')).map((e) => [e.getAttribute('Binding'), e.getAttribute('Location')]);
  assert.deepEqual(sso, [[REDIRECT, `${base}/sso`], [POST, `${base}/sso`]]);
  assert.equal(one(idpsso, NS_MD, 'NameIDFormat').textContent, 'urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress');
  const kds = Array.from(idpsso.getElementsByTagNameNS(NS_MD, 'KeyDescriptor'));
  assert.equal(kds.length, 1);
  assert.equal(kds[0].getAttribute('use'), 'signing');
  assert.equal(one(kds[0], NS_DS, 'X509Certificate').textContent, certBody('idp-primary'));
  // samlify reads it as IdP metadata
  const meta = samlify.IdPMetadata(r.text);
  assert.equal(meta.getEntityID(), listening.entityId);
  assert.equal(meta.getSingleSignOnService('redirect'), `${base}/sso`);
  assert.equal(meta.getSingleSignOnService('post'), `${base}/sso`);
});

test('GET /metadata?keys=both|secondary and ?bindings=redirect|post', async () => {
  const certsOf = (xml) => Array.from(dom(xml).getElementsByTagNameNS(NS_DS, 'X509Certificate')).map((e) => e.textContent);
  const bindingsOf = (xml) => Array.from(dom(xml).getElementsByTagNameNS(NS_MD, 'SingleSignOnService')).map((e) => e.getAttribute('Binding'));
  assert.deepEqual(certsOf((await http('/metadata?keys=both')).text), [certBody('idp-primary'), certBody('idp-secondary')]);
  assert.deepEqual(certsOf((await http('/metadata?keys=secondary')).text), [certBody('idp-secondary')]);
  assert.deepEqual(bindingsOf((await http('/metadata?bindings=redirect')).text), [REDIRECT]);
  assert.deepEqual(bindingsOf((await http('/metadata?bindings=post')).text), [POST]);
  assert.deepEqual(bindingsOf((await http('/metadata?bindings=both&keys=primary')).text), [REDIRECT, POST]);
  assert.equal((await http('/metadata?keys=nope')).status, 400);
  assert.equal((await http('/metadata?bindings=artifact')).status, 400);
});

// ---------------------------------------------------------------------------
// SP-initiated flows
// ---------------------------------------------------------------------------

test('SP-initiated HTTP-Redirect: auto-submitting form with a signed response samlify accepts', async () => {
  const idp = await idpEntity();
  const sp = spEntity();
  const relayState = '/dashboard?tab=a&b="c"';
  const { id, context: url } = sp.createLoginRequest(idp, 'redirect', { relayState });
  assert.ok(url.startsWith(`${base}/sso?SAMLRequest=`));
  const r = await http(url);
  assert.equal(r.status, 200, r.text);
  assert.match(r.headers.get('content-type'), /text\/html/);
  assert.ok(r.text.includes(`<form method="post" action="${ACS}">`));
  assert.ok(r.text.includes('<script>document.forms[0].submit()</script>'));
  assert.match(r.text, /<button type="submit">/);
  const form = parseAutoPost(r.text);
  assert.equal(form.action, ACS);
  assert.equal(form.relayState, relayState);

  const { extract, samlContent } = await parseResponse(sp, idp, form.samlResponse);
  assert.equal(extract.response.inResponseTo, id);
  assert.equal(extract.response.destination, ACS);
  assert.equal(extract.audience, SP_ENTITY);
  assert.equal(extract.issuer, listening.entityId);
  assert.equal(extract.nameID, 'jane@acme.test');
  assert.deepEqual(extract.attributes, {
    email: 'jane@acme.test',
    firstName: 'Jane',
    lastName: 'Doe',
    groups: ['engineering', 'admins'],
    role: 'admin',
  });

  const doc = dom(samlContent);
  const resp = doc.documentElement;
  const assertion = one(resp, NS_A, 'Assertion');
  assert.equal(one(resp, NS_A, 'Issuer').textContent, listening.entityId);
  const scd = one(assertion, NS_A, 'SubjectConfirmationData');
  assert.equal(scd.getAttribute('Recipient'), ACS);
  assert.equal(scd.getAttribute('InResponseTo'), id);
  assert.ok(withinSeconds(scd.getAttribute('NotOnOrAfter'), 5 * 60_000));
  const cond = one(assertion, NS_A, 'Conditions');
  assert.ok(withinSeconds(cond.getAttribute('NotBefore'), -60_000));
  assert.ok(withinSeconds(cond.getAttribute('NotOnOrAfter'), 5 * 60_000));
  assert.equal(one(assertion, NS_A, 'NameID').getAttribute('Format'), 'urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress');
  assert.ok(one(assertion, NS_A, 'AuthnStatement').getAttribute('AuthnInstant'));
  // default sign mode "response": one signature, on the Response, right after its Issuer
  assert.equal(children(resp, NS_DS, 'Signature').length, 1);
  assert.equal(children(assertion, NS_DS, 'Signature').length, 0);
  assert.equal(resp.childNodes[1].localName, 'Signature');
  assert.ok(await xmlsecVerifies(samlContent, 'idp-primary'));

  // the IdP recorded what it received
  const reqs = (await http('/__idp/requests')).body.requests;
  assert.equal(reqs.at(-1).id, id);
  assert.equal(reqs.at(-1).issuer, SP_ENTITY);
  assert.equal(reqs.at(-1).acsUrl, ACS);
  assert.equal(reqs.at(-1).binding, 'redirect');
});

test('SP-initiated HTTP-Redirect with format=json and with Accept: application/json', async () => {
  const idp = await idpEntity();
  const sp = spEntity();
  const { id, context: url } = sp.createLoginRequest(idp, 'redirect', { relayState: 'rs-1' });
  const a = await http(`${url}&format=json`);
  assert.equal(a.status, 200);
  assert.deepEqual(Object.keys(a.body).sort(), ['acsUrl', 'relayState', 'samlResponse']);
  assert.equal(a.body.acsUrl, ACS);
  assert.equal(a.body.relayState, 'rs-1');
  assert.equal((await parseResponse(sp, idp, a.body.samlResponse)).extract.response.inResponseTo, id);

  const second = sp.createLoginRequest(idp, 'redirect');
  const b = await http(second.context, { headers: { accept: 'application/json' } });
  assert.equal(b.status, 200);
  assert.equal(b.body.relayState, null);
  assert.equal((await parseResponse(sp, idp, b.body.samlResponse)).extract.response.inResponseTo, second.id);
});

test('SP-initiated HTTP-POST binding', async () => {
  const idp = await idpEntity();
  const sp = spEntity();
  const req = sp.createLoginRequest(idp, 'post', { relayState: 'post-relay' });
  assert.equal(req.entityEndpoint, `${base}/sso`);
  const r = await http(req.entityEndpoint, { method: 'POST', form: { SAMLRequest: req.context, RelayState: req.relayState } });
  assert.equal(r.status, 200, r.text);
  const form = parseAutoPost(r.text);
  assert.equal(form.action, ACS);
  assert.equal(form.relayState, 'post-relay');
  const { extract } = await parseResponse(sp, idp, form.samlResponse);
  assert.equal(extract.response.inResponseTo, req.id);
  assert.equal(extract.audience, SP_ENTITY);

  const j = await http(req.entityEndpoint, { method: 'POST', form: { SAMLRequest: req.context }, headers: { accept: 'application/json' } });
  assert.equal(j.status, 200);
  assert.equal(j.body.acsUrl, ACS);
  assert.equal(j.body.relayState, null);
});

test('bad AuthnRequests are rejected with 400 and a message', async () => {
  const a = await http('/sso');
  assert.equal(a.status, 400);
  assert.match(a.text, /missing SAMLRequest/);
  const b = await http('/sso?SAMLRequest=bm90LWRlZmxhdGU%3D');
  assert.equal(b.status, 400);
  assert.match(b.text, /DEFLATE|schema-valid/);
  // well-formed but not a valid AuthnRequest (schema)
  const zlib = await import('node:zlib');
  const junk = zlib.deflateRawSync('<samlp:AuthnRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" ID="x"/>').toString('base64');
  const c = await http(`/sso?SAMLRequest=${encodeURIComponent(junk)}&format=json`);
  assert.equal(c.status, 400);
  assert.match(c.body.error, /schema-valid/);
});

test('signed HTTP-Redirect AuthnRequests are verified once spCertificate is configured', async () => {
  const unsignedIdp = await idpEntity(); // WantAuthnRequestsSigned=false
  const plainSp = spEntity();
  await configure({ spCertificate: fs.readFileSync(spCert, 'utf8') });
  const idp = await idpEntity();
  assert.equal(idp.entityMeta.isWantAuthnRequestsSigned(), true, 'metadata advertises WantAuthnRequestsSigned when an SP cert is pinned');
  const signingSp = spEntity({
    authnRequestsSigned: true,
    privateKey: fs.readFileSync(spKey, 'utf8'),
    signingCert: fs.readFileSync(spCert, 'utf8'),
  });

  // valid signature
  const good = signingSp.createLoginRequest(idp, 'redirect', { relayState: 'signed/rs?x=1' });
  assert.match(good.context, /&SigAlg=.*&Signature=/);
  const ok = await http(`${good.context}&format=json`);
  assert.equal(ok.status, 200, JSON.stringify(ok.body));
  assert.equal(ok.body.relayState, 'signed/rs?x=1');
  assert.equal((await parseResponse(plainSp, idp, ok.body.samlResponse)).extract.response.inResponseTo, good.id);
  const rec = (await http('/__idp/requests')).body.requests.at(-1);
  assert.equal(rec.signed, true);
  assert.equal(rec.signatureVerified, true);
  assert.equal(rec.sigAlg, 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256');

  // tampered signature
  const u = new URL(good.context);
  const sig = Buffer.from(u.searchParams.get('Signature'), 'base64');
  sig[10] ^= 0xff;
  u.searchParams.set('Signature', sig.toString('base64'));
  const tampered = await http(u.toString());
  assert.equal(tampered.status, 400);
  assert.match(tampered.text, /signature does not verify/);

  // tampered RelayState (it is part of the signed octet string)
  const rs = new URL(good.context);
  rs.searchParams.set('RelayState', 'evil');
  assert.equal((await http(rs.toString())).status, 400);

  // unsigned
  const unsigned = plainSp.createLoginRequest(unsignedIdp, 'redirect');
  const un = await http(unsigned.context);
  assert.equal(un.status, 400);
  assert.match(un.text, /unsigned|no SigAlg/);

  // signed, but with a key whose cert is not the pinned one
  await configure({ spCertificate: cert('attacker') });
  const wrong = await http(signingSp.createLoginRequest(idp, 'redirect').context);
  assert.equal(wrong.status, 400);
  assert.match(wrong.text, /does not verify/);

  // without an spCertificate signatures are ignored
  await configure({ spCertificate: null });
  assert.equal((await http(`${u.toString()}&format=json`)).status, 200);
});

test('ECDSA-signed HTTP-Redirect AuthnRequests are verified too (node:crypto; samlify verifies RSA only)', async () => {
  const unsignedIdp = await idpEntity();
  const sp = spEntity();
  await configure({ spCertificate: cert('idp-ec') }); // any EC cert stands in for an SP cert here
  const { id, context } = sp.createLoginRequest(unsignedIdp, 'redirect');
  const samlRequest = new URL(context).searchParams.get('SAMLRequest');
  const sigAlg = 'http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256';
  const octet = `SAMLRequest=${encodeURIComponent(samlRequest)}&RelayState=ec-relay&SigAlg=${encodeURIComponent(sigAlg)}`;
  const key = fs.readFileSync(path.join(KEYS, 'idp-ec.key'), 'utf8');
  const { sign } = await import('node:crypto');
  const signature = sign('sha256', Buffer.from(octet), { key, dsaEncoding: 'der' }).toString('base64');
  const ok = await http(`/sso?${octet}&Signature=${encodeURIComponent(signature)}&format=json`);
  assert.equal(ok.status, 200, JSON.stringify(ok.body));
  assert.equal(ok.body.relayState, 'ec-relay');
  assert.equal((await parseResponse(sp, unsignedIdp, ok.body.samlResponse)).extract.response.inResponseTo, id);
  const tampered = await http(`/sso?${octet.replace('ec-relay', 'ec-relaY')}&Signature=${encodeURIComponent(signature)}&format=json`);
  assert.equal(tampered.status, 400);
  assert.match(tampered.body.error, /does not verify/);
});

test('signed HTTP-POST AuthnRequests: enveloped signature verified when an spCertificate is configured', async () => {
  await configure({ spCertificate: fs.readFileSync(spCert, 'utf8') });
  const idp = await idpEntity();
  const signingSp = spEntity({ authnRequestsSigned: true, privateKey: fs.readFileSync(spKey, 'utf8'), signingCert: fs.readFileSync(spCert, 'utf8') });
  const req = signingSp.createLoginRequest(idp, 'post');
  assert.match(decode(req.context), /Signature/);
  const ok = await http('/sso', { method: 'POST', form: { SAMLRequest: req.context, format: 'json' } });
  assert.equal(ok.status, 200, JSON.stringify(ok.body));
  await configure({ spCertificate: cert('attacker') });
  const bad = await http('/sso', { method: 'POST', form: { SAMLRequest: req.context, format: 'json' } });
  assert.equal(bad.status, 400);
  assert.match(bad.body.error, /AuthnRequest rejected/);
});

// ---------------------------------------------------------------------------
// IdP-initiated
// ---------------------------------------------------------------------------

test('IdP-initiated: no InResponseTo anywhere, samlify accepts it', async () => {
  const idp = await idpEntity();
  const sp = spEntity();
  const q = new URLSearchParams({ acs: ACS, audience: SP_ENTITY, relayState: 'deep/link', format: 'json' });
  const r = await http(`/idp-initiated?${q}`);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal(r.body.acsUrl, ACS);
  assert.equal(r.body.relayState, 'deep/link');
  const xml = decode(r.body.samlResponse);
  assert.doesNotMatch(xml, /InResponseTo/);
  const { extract } = await parseResponse(sp, idp, r.body.samlResponse);
  assert.equal(extract.audience, SP_ENTITY);
  assert.equal(extract.response.destination, ACS);
  assert.equal(extract.response.inResponseTo, undefined);

  const html = await http(`/idp-initiated?${new URLSearchParams({ acs: ACS, audience: SP_ENTITY })}`);
  assert.equal(html.status, 200);
  const form = parseAutoPost(html.text);
  assert.equal(form.action, ACS);
  assert.equal(form.relayState, undefined, 'no RelayState field when none was given');
  assert.equal((await http(`/idp-initiated?acs=${encodeURIComponent(ACS)}`)).status, 400);
});

// ---------------------------------------------------------------------------
// attribute profiles and user config
// ---------------------------------------------------------------------------

const WS = 'http://schemas.xmlsoap.org/ws/2005/05/identity/claims';
const MS = 'http://schemas.microsoft.com/ws/2008/06/identity/claims';
const PROFILE_EXPECTATIONS = {
  okta: { email: 'jane@acme.test', firstName: 'Jane', lastName: 'Doe', groups: ['engineering', 'admins'], role: 'admin' },
  azure: {
    [`${WS}/emailaddress`]: 'jane@acme.test',
    [`${WS}/givenname`]: 'Jane',
    [`${WS}/surname`]: 'Doe',
    [`${WS}/name`]: 'jane@acme.test',
    [`${MS}/groups`]: ['engineering', 'admins'],
    [`${MS}/role`]: 'admin',
  },
  google: { email: 'jane@acme.test', firstName: 'Jane', lastName: 'Doe', groups: ['engineering', 'admins'] },
  adfs: {
    [`${WS}/emailaddress`]: 'jane@acme.test',
    [`${WS}/givenname`]: 'Jane',
    [`${WS}/surname`]: 'Doe',
    [`${MS}/groups`]: ['engineering', 'admins'],
    [`${MS}/role`]: 'admin',
    'http://schemas.xmlsoap.org/claims/Group': ['engineering', 'admins'],
  },
  onelogin: { 'User.email': 'jane@acme.test', 'User.FirstName': 'Jane', 'User.LastName': 'Doe', memberOf: ['engineering', 'admins'], Role: 'admin' },
};

test('attribute profiles: okta, azure, google, adfs, onelogin', async () => {
  const idp = await idpEntity();
  const sp = spEntity();
  for (const [profile, expected] of Object.entries(PROFILE_EXPECTATIONS)) {
    await configure({ attributeProfile: profile });
    const { id, context } = sp.createLoginRequest(idp, 'redirect');
    const r = await http(`${context}&format=json`);
    assert.equal(r.status, 200, `${profile}: ${JSON.stringify(r.body)}`);
    const { extract } = await parseResponse(sp, idp, r.body.samlResponse);
    assert.equal(extract.response.inResponseTo, id);
    assert.deepEqual(extract.attributes, expected, profile);
  }
  // rendering details
  await configure({ attributeProfile: 'onelogin' });
  let xml = (await signOne({ destination: ACS, audience: SP_ENTITY })).xml;
  assert.match(xml, /Name="User\.email" NameFormat="urn:oasis:names:tc:SAML:2\.0:attrname-format:basic"/);
  await configure({ attributeProfile: 'azure' });
  xml = (await signOne({ destination: ACS, audience: SP_ENTITY })).xml;
  assert.doesNotMatch(xml, /NameFormat=/);
  assert.doesNotMatch(xml, /xsi:type/);
});

test('user config: custom user, roles, groups, escaping; GET /__idp/config; reset', async () => {
  const cfg = await configure({ user: { nameId: 'bob@globex.test', email: 'bob@globex.test', firstName: 'Bob <&>', groups: ['a', 'b', 'c'], roles: [] } });
  assert.equal(cfg.user.lastName, 'Doe', 'user fields merge');
  assert.deepEqual((await http('/__idp/config')).body.user.groups, ['a', 'b', 'c']);
  const idp = await idpEntity();
  const sp = spEntity();
  const r = await http(`/idp-initiated?${new URLSearchParams({ acs: ACS, audience: SP_ENTITY, format: 'json' })}`);
  const { extract } = await parseResponse(sp, idp, r.body.samlResponse);
  assert.equal(extract.nameID, 'bob@globex.test');
  assert.equal(extract.attributes.firstName, 'Bob <&>');
  assert.deepEqual(extract.attributes.groups, ['a', 'b', 'c']);
  assert.equal(extract.attributes.role, undefined, 'attributes without values are omitted');
  await http('/__idp/reset', { method: 'POST' });
  assert.equal((await http('/__idp/config')).body.user.nameId, 'jane@acme.test');
});

test('config validation', async () => {
  for (const patch of [{ nope: 1 }, { sign: 'everything' }, { key: 'ec', signatureAlgorithm: 'rsa-sha256' }, { key: 'primary', signatureAlgorithm: 'ecdsa-sha256' }, { attributeProfile: 'ping' }, { spCertificate: 'not a cert' }, { user: { groups: 'x' } }]) {
    const r = await http('/__idp/config', { method: 'POST', json: patch });
    assert.equal(r.status, 400, JSON.stringify(patch));
    assert.ok(r.body.error);
  }
  assert.equal((await http('/__idp/config')).body.sign, 'response', 'a rejected patch changes nothing');
});

test('config status: the browser flow returns an error response without an assertion', async () => {
  await configure({ status: { code: STATUS.responder, subCode: 'urn:oasis:names:tc:SAML:2.0:status:AuthnFailed', message: 'User not assigned to app' } });
  const idp = await idpEntity();
  const sp = spEntity();
  const { context } = sp.createLoginRequest(idp, 'redirect');
  const r = await http(`${context}&format=json`);
  assert.equal(r.status, 200);
  const xml = decode(r.body.samlResponse);
  assert.doesNotMatch(xml, /Assertion/);
  assert.match(xml, /<samlp:StatusMessage>User not assigned to app<\/samlp:StatusMessage>/);
  await assert.rejects(parseResponse(sp, idp, r.body.samlResponse), /ERR_FAILED_STATUS.*Responder.*AuthnFailed/);
  assert.ok(await xmlsecVerifies(xml, 'idp-primary'), 'error responses are still signed');
});

test('config overrides apply /__idp/sign fields to browser flows (e.g. an expired assertion)', async () => {
  assert.equal((await http('/__idp/config', { method: 'POST', json: { overrides: { notAField: 1 } } })).status, 400);
  await configure({ overrides: { notBefore: '-20m', notOnOrAfter: '-10m' } });
  const idp = await idpEntity();
  const sp = spEntity();
  const r = await http(`/idp-initiated?${new URLSearchParams({ acs: ACS, audience: SP_ENTITY, format: 'json' })}`);
  await assert.rejects(parseResponse(sp, idp, r.body.samlResponse), /ERR_SUBJECT_UNCONFIRMED/);
});

// ---------------------------------------------------------------------------
// signatures: sign modes, keys, algorithms; libxmlsec1 + samlify
// ---------------------------------------------------------------------------

test('sign modes verify with libxmlsec1 against the right cert and fail against the wrong one', async () => {
  for (const mode of ['response', 'assertion', 'both']) {
    const { xml } = await signOne({ sign: mode, inResponseTo: '_req', destination: ACS, audience: SP_ENTITY });
    const doc = dom(xml).documentElement;
    const assertion = one(doc, NS_A, 'Assertion');
    const respSigs = children(doc, NS_DS, 'Signature');
    const assertSigs = children(assertion, NS_DS, 'Signature');
    assert.equal(respSigs.length, mode === 'assertion' ? 0 : 1, mode);
    assert.equal(assertSigs.length, mode === 'response' ? 0 : 1, mode);
    for (const [sig, target] of [[respSigs[0], doc], [assertSigs[0], assertion]]) {
      if (!sig) continue;
      assert.equal(sig.previousSibling.localName, 'Issuer', 'signature placed right after Issuer');
      assert.equal(one(sig, NS_DS, 'Reference').getAttribute('URI'), `#${target.getAttribute('ID')}`);
      assert.equal(one(sig, NS_DS, 'CanonicalizationMethod').getAttribute('Algorithm'), 'http://www.w3.org/2001/10/xml-exc-c14n#');
      const transforms = Array.from(sig.getElementsByTagNameNS(NS_DS, 'Transform')).map((t) => t.getAttribute('Algorithm'));
      assert.deepEqual(transforms, ['http://www.w3.org/2000/09/xmldsig#enveloped-signature', 'http://www.w3.org/2001/10/xml-exc-c14n#']);
      assert.equal(one(sig, NS_DS, 'X509Certificate').textContent, certBody('idp-primary'), 'KeyInfo carries the signing cert');
    }
    assert.ok(await xmlsecVerifies(xml, 'idp-primary'), `${mode}: primary`);
    assert.equal(await xmlsecVerifies(xml, 'idp-secondary'), false, `${mode}: secondary must fail`);
    if (mode === 'both') {
      assert.ok(await xmlsecVerifies(xml, 'idp-primary', ASSERTION_SIG_XPATH), 'both: assertion signature');
      assert.ok(await xmlsecVerifies(xml, 'idp-primary', RESPONSE_SIG_XPATH), 'both: response signature');
      assert.equal(await xmlsecVerifies(xml, 'idp-secondary', ASSERTION_SIG_XPATH), false);
    }
    // tampering breaks it
    assert.equal(await xmlsecVerifies(xml.replace('engineering', 'engineerinG'), 'idp-primary'), false, `${mode}: tampered`);
  }
});

test('sign modes through samlify: assertion-only and both are accepted by a samlify SP', async () => {
  const idp = await idpEntity();
  for (const mode of ['assertion', 'both']) {
    await configure({ sign: mode });
    const sp = spEntity({ wantAssertionsSigned: true });
    const { id, context } = sp.createLoginRequest(idp, 'redirect');
    const r = await http(`${context}&format=json`);
    const { extract } = await parseResponse(sp, idp, r.body.samlResponse);
    assert.equal(extract.response.inResponseTo, id, mode);
  }
  await configure({ sign: 'none' });
  const r = await http(`/idp-initiated?${new URLSearchParams({ acs: ACS, audience: SP_ENTITY, format: 'json' })}`);
  assert.doesNotMatch(decode(r.body.samlResponse), /Signature/);
  await assert.rejects(parseResponse(spEntity(), idp, r.body.samlResponse), /FAILED_TO_VERIFY_SIGNATURE/);
});

test('keys: secondary (rotation), ec (ECDSA P-256), attacker (own cert in KeyInfo)', async () => {
  const base = { inResponseTo: '_r', destination: ACS, audience: SP_ENTITY };
  // rotation: secondary verifies with its own cert only; a samlify SP trusting both accepts it
  const sec = await signOne({ ...base, key: 'secondary', sign: 'both' });
  assert.ok(await xmlsecVerifies(sec.xml, 'idp-secondary'));
  assert.ok(await xmlsecVerifies(sec.xml, 'idp-secondary', ASSERTION_SIG_XPATH));
  assert.equal(await xmlsecVerifies(sec.xml, 'idp-primary'), false);
  await parseResponse(spEntity(), await idpEntity('?keys=both'), sec.samlResponse);
  await assert.rejects(parseResponse(spEntity(), await idpEntity('?keys=primary'), sec.samlResponse));

  // ECDSA
  for (const mode of ['response', 'assertion', 'both']) {
    const ec = await signOne({ ...base, key: 'ec', sign: mode });
    assert.match(ec.xml, /SignatureMethod Algorithm="http:\/\/www\.w3\.org\/2001\/04\/xmldsig-more#ecdsa-sha256"/);
    assert.ok(await xmlsecVerifies(ec.xml, 'idp-ec'), `ec ${mode}`);
    assert.equal(await xmlsecVerifies(ec.xml, 'idp-primary'), false);
    if (mode === 'both') assert.ok(await xmlsecVerifies(ec.xml, 'idp-ec', ASSERTION_SIG_XPATH));
  }

  // attacker: a valid signature by an untrusted key whose cert rides along in KeyInfo
  const evil = await signOne({ ...base, key: 'attacker' });
  assert.equal(one(dom(evil.xml), NS_DS, 'X509Certificate').textContent, certBody('attacker'));
  assert.ok(await xmlsecVerifies(evil.xml, 'attacker'), 'the signature itself is valid');
  assert.equal(await xmlsecVerifies(evil.xml, 'idp-primary'), false, 'but not against the pinned IdP cert');
  await assert.rejects(parseResponse(spEntity(), await idpEntity(), evil.samlResponse));
});

test('/__idp/sign: sha1 (rsa-sha1 + sha1 digest), rsa-sha512, mixed digest', async () => {
  const f = { inResponseTo: '_r', destination: ACS, audience: SP_ENTITY };
  const cases = [
    ['rsa-sha1', 'sha1'],
    ['rsa-sha256', 'sha1'],
    ['rsa-sha512', 'sha512'],
    ['rsa-sha512', 'sha256'],
  ];
  for (const [signatureAlgorithm, digestAlgorithm] of cases) {
    const { xml } = await signOne({ ...f, signatureAlgorithm, digestAlgorithm, sign: 'both' });
    const sigs = dom(xml).getElementsByTagNameNS(NS_DS, 'Signature');
    for (const sig of Array.from(sigs)) {
      assert.equal(one(sig, NS_DS, 'SignatureMethod').getAttribute('Algorithm'), SIGNATURE_ALGORITHMS[signatureAlgorithm]);
      assert.equal(one(sig, NS_DS, 'DigestMethod').getAttribute('Algorithm'), DIGEST_ALGORITHMS[digestAlgorithm]);
    }
    assert.ok(await xmlsecVerifies(xml, 'idp-primary', RESPONSE_SIG_XPATH), `${signatureAlgorithm}/${digestAlgorithm}`);
    assert.ok(await xmlsecVerifies(xml, 'idp-primary', ASSERTION_SIG_XPATH), `${signatureAlgorithm}/${digestAlgorithm} assertion`);
  }
  // the config default applies too
  await configure({ signatureAlgorithm: 'rsa-sha1', digestAlgorithm: 'sha1' });
  const { xml } = await signOne(f);
  assert.match(xml, /xmldsig#rsa-sha1/);
  assert.match(xml, /xmldsig#sha1/);
});

// ---------------------------------------------------------------------------
// /__idp/sign content options
// ---------------------------------------------------------------------------

test('/__idp/sign: caller-controlled content', async () => {
  const idp = await idpEntity();
  const sp = spEntity();
  const r = await signOne({
    inResponseTo: '_abc',
    destination: ACS,
    recipient: 'https://elsewhere.test/acs',
    audience: 'urn:some:other:sp',
    nameId: 'mallory@acme.test',
    attributes: { email: 'mallory@acme.test', groups: ['x', 'y'] },
    assertionId: '_fixed-assertion-id',
    responseId: '_fixed-response-id',
    issueInstant: '2030-01-01T00:00:00Z',
  });
  const doc = dom(r.xml).documentElement;
  assert.equal(doc.getAttribute('ID'), '_fixed-response-id');
  assert.equal(doc.getAttribute('IssueInstant'), '2030-01-01T00:00:00Z');
  assert.equal(doc.getAttribute('Destination'), ACS);
  const a = one(doc, NS_A, 'Assertion');
  assert.equal(a.getAttribute('ID'), '_fixed-assertion-id');
  assert.equal(one(a, NS_A, 'SubjectConfirmationData').getAttribute('Recipient'), 'https://elsewhere.test/acs');
  assert.equal(r.samlResponse, Buffer.from(r.xml).toString('base64'));
  const { extract } = await parseResponse(sp, idp, r.samlResponse);
  assert.equal(extract.audience, 'urn:some:other:sp');
  assert.equal(extract.nameID, 'mallory@acme.test');
  assert.deepEqual(extract.attributes, { email: 'mallory@acme.test', groups: ['x', 'y'] });
  assert.equal(extract.response.inResponseTo, '_abc');

  // same IDs again (replay material) are honoured verbatim
  const again = await signOne({ destination: ACS, audience: SP_ENTITY, assertionId: '_fixed-assertion-id', responseId: '_fixed-response-id' });
  assert.equal(dom(again.xml).documentElement.getAttribute('ID'), '_fixed-response-id');

  // IdP-initiated style: no inResponseTo → none anywhere
  assert.doesNotMatch((await signOne({ destination: ACS, audience: SP_ENTITY })).xml, /InResponseTo/);

  // issuer override → samlify rejects the issuer mismatch
  const wrongIssuer = await signOne({ destination: ACS, audience: SP_ENTITY, issuer: 'https://evil.test/idp' });
  await assert.rejects(parseResponse(sp, idp, wrongIssuer.samlResponse), /ERR_UNMATCH_ISSUER/);
});

test('/__idp/sign: omitConditions, omitAudience, time fields', async () => {
  const idp = await idpEntity();
  const sp = spEntity();
  const noCond = await signOne({ destination: ACS, audience: SP_ENTITY, omitConditions: true });
  assert.doesNotMatch(noCond.xml, /Conditions/);
  const { conditions } = (await parseResponse(sp, idp, noCond.samlResponse)).extract;
  assert.ok(conditions === undefined || (Array.isArray(conditions) && conditions.length === 0), JSON.stringify(conditions));
  assert.ok(await xmlsecVerifies(noCond.xml, 'idp-primary'));

  const noAud = await signOne({ destination: ACS, audience: SP_ENTITY, omitAudience: true });
  assert.match(noAud.xml, /<saml:Conditions /);
  assert.doesNotMatch(noAud.xml, /Audience/);

  const times = await signOne({
    destination: ACS,
    audience: SP_ENTITY,
    notBefore: '2020-01-01T00:00:00Z',
    notOnOrAfter: '2020-01-01T00:05:00Z',
    subjectNotOnOrAfter: '+1h',
  });
  const a = one(dom(times.xml).documentElement, NS_A, 'Assertion');
  assert.equal(one(a, NS_A, 'Conditions').getAttribute('NotBefore'), '2020-01-01T00:00:00Z');
  assert.equal(one(a, NS_A, 'Conditions').getAttribute('NotOnOrAfter'), '2020-01-01T00:05:00Z');
  assert.ok(withinSeconds(one(a, NS_A, 'SubjectConfirmationData').getAttribute('NotOnOrAfter'), 3_600_000));
  await assert.rejects(parseResponse(sp, idp, times.samlResponse), /ERR_SUBJECT_UNCONFIRMED/);

  const future = await signOne({ destination: ACS, audience: SP_ENTITY, notBefore: '+10m', notOnOrAfter: '+20m' });
  await assert.rejects(parseResponse(sp, idp, future.samlResponse), /ERR_SUBJECT_UNCONFIRMED/);
});

test('/__idp/sign: status error response has no assertion', async () => {
  const idp = await idpEntity();
  const sp = spEntity();
  const r = await signOne({ inResponseTo: '_q', destination: ACS, audience: SP_ENTITY, status: STATUS.requester });
  assert.doesNotMatch(r.xml, /Assertion/);
  assert.match(r.xml, /StatusCode Value="urn:oasis:names:tc:SAML:2\.0:status:Requester"/);
  assert.match(r.xml, /InResponseTo="_q"/);
  assert.ok(await xmlsecVerifies(r.xml, 'idp-primary'));
  await assert.rejects(parseResponse(sp, idp, r.samlResponse), /ERR_FAILED_STATUS/);
  const withMsg = await signOne({ destination: ACS, status: { code: STATUS.responder, message: 'Denied' } });
  assert.match(withMsg.xml, /<samlp:StatusMessage>Denied<\/samlp:StatusMessage>/);
});

test('/__idp/sign: invalid input is a 400 with a message', async () => {
  for (const body of [{ bogus: 1 }, { sign: 'all' }, { key: 'nope' }, { digestAlgorithm: 'md5' }, { notBefore: 'yesterday' }, { attributes: { a: 1 } }, { key: 'ec', signatureAlgorithm: 'rsa-sha1' }]) {
    const r = await http('/__idp/sign', { method: 'POST', json: body });
    assert.equal(r.status, 400, JSON.stringify(body));
    assert.equal(typeof r.body.error, 'string');
  }
});

test('/__idp/sign batch: many responses, unique ids, all valid', async (t) => {
  const n = 200;
  const batch = Array.from({ length: n }, (_, i) => ({ inResponseTo: `_req${i}`, destination: ACS, audience: SP_ENTITY, sign: i % 3 === 0 ? 'both' : 'response' }));
  const started = Date.now();
  const r = await http('/__idp/sign', { method: 'POST', json: { batch } });
  const ms = Date.now() - started;
  t.diagnostic(`signed ${n} responses in ${ms} ms (${Math.round((n * 1000) / ms)}/s)`);
  assert.equal(r.status, 200);
  assert.equal(r.body.responses.length, n);
  const ids = new Set();
  r.body.responses.forEach((resp, i) => {
    const xml = decode(resp.samlResponse);
    assert.equal(xml, resp.xml);
    const doc = dom(xml).documentElement;
    assert.equal(doc.getAttribute('InResponseTo'), `_req${i}`);
    ids.add(doc.getAttribute('ID'));
    ids.add(one(doc, NS_A, 'Assertion').getAttribute('ID'));
  });
  assert.equal(ids.size, 2 * n);
  const idp = await idpEntity();
  for (const i of [0, 1, n - 1]) {
    assert.ok(await xmlsecVerifies(r.body.responses[i].xml, 'idp-primary'));
    await parseResponse(spEntity(), idp, r.body.responses[i].samlResponse);
  }
  const slim = await http('/__idp/sign', { method: 'POST', json: { batch: batch.slice(0, 3), includeXml: false } });
  assert.deepEqual(Object.keys(slim.body.responses[0]), ['samlResponse']);
  const badItem = await http('/__idp/sign', { method: 'POST', json: { batch: [{}, { sign: 'x' }] } });
  assert.equal(badItem.status, 400);
  assert.match(badItem.body.error, /^batch\[1\]/);
  // large batches run on the worker pool: errors keep their global index, config applies
  await configure({ attributeProfile: 'onelogin', key: 'secondary' });
  const big = Array.from({ length: 40 }, () => ({ destination: ACS, audience: SP_ENTITY }));
  const pooled = await http('/__idp/sign', { method: 'POST', json: { batch: big } });
  assert.equal(pooled.status, 200);
  assert.match(pooled.body.responses[39].xml, /Name="User\.email"/);
  assert.ok(await xmlsecVerifies(pooled.body.responses[39].xml, 'idp-secondary'));
  big[33] = { key: 'nope' };
  const pooledBad = await http('/__idp/sign', { method: 'POST', json: { batch: big } });
  assert.equal(pooledBad.status, 400);
  assert.match(pooledBad.body.error, /^batch\[33\]: key must be/);
});

test('stdout stays exactly one JSON line after all of the above', () => {
  assert.deepEqual(stdoutLines.length, 1, `unexpected stdout: ${JSON.stringify(stdoutLines.slice(1, 5))}`);
  assert.equal(child.exitCode, null, 'IdP still running');
});
