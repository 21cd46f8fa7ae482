#!/usr/bin/env node
// Gatehouse end-to-end test support: a real third-party SAML 2.0 Identity
// Provider, built on samlify (request parsing, schema validation, metadata,
// redirect-binding signature checks) and samlify's XML-DSig stack (SamlLib /
// xml-crypto) for every signature it produces. It "logs in" a configurable
// user without any UI. Test-only: never deploy it, never reuse its keys.
//
// CLI:  node end2end/support/saml-idp.mjs [--port N] [--host 127.0.0.1] [--entity-id URL]
// Docs: end2end/support/SAML-IDP.md

import http from 'node:http';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const samlify = require('samlify');
const xmllintValidator = require('@authenio/samlify-node-xmllint');
// Load xml-crypto and xmldom exactly as samlify resolves them (they are its
// own dependencies, not separate installs of this project).
const requireFromSamlify = createRequire(require.resolve('samlify'));
const { SignedXml } = requireFromSamlify('xml-crypto');
const { DOMParser } = requireFromSamlify('@xmldom/xmldom');

const { SamlLib, Constants } = samlify;

// ---------------------------------------------------------------------------
// Constants
// ---------------------------------------------------------------------------

export const NS = {
  protocol: 'urn:oasis:names:tc:SAML:2.0:protocol',
  assertion: 'urn:oasis:names:tc:SAML:2.0:assertion',
  dsig: 'http://www.w3.org/2000/09/xmldsig#',
};
export const BINDINGS = {
  redirect: 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect',
  post: 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST',
};
export const NAMEID_EMAIL = 'urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress';
export const STATUS = {
  success: 'urn:oasis:names:tc:SAML:2.0:status:Success',
  requester: 'urn:oasis:names:tc:SAML:2.0:status:Requester',
  responder: 'urn:oasis:names:tc:SAML:2.0:status:Responder',
};
export const SIGNATURE_ALGORITHMS = {
  'rsa-sha1': 'http://www.w3.org/2000/09/xmldsig#rsa-sha1',
  'rsa-sha256': 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256',
  'rsa-sha512': 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha512',
  'ecdsa-sha256': 'http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256',
};
export const DIGEST_ALGORITHMS = {
  sha1: 'http://www.w3.org/2000/09/xmldsig#sha1',
  sha256: 'http://www.w3.org/2001/04/xmlenc#sha256',
  sha512: 'http://www.w3.org/2001/04/xmlenc#sha512',
};
export const SIGN_MODES = ['response', 'assertion', 'both', 'none'];
export const KEY_NAMES = ['primary', 'secondary', 'ec', 'attacker'];
const KEY_FILES = { primary: 'idp-primary', secondary: 'idp-secondary', ec: 'idp-ec', attacker: 'attacker' };

const EXC_C14N = 'http://www.w3.org/2001/10/xml-exc-c14n#';
const TRANSFORMS = ['http://www.w3.org/2000/09/xmldsig#enveloped-signature', EXC_C14N];
const RESPONSE_ISSUER_XPATH = "/*[local-name(.)='Response']/*[local-name(.)='Issuer']";
const ASSERTION_XPATH = "/*[local-name(.)='Response']/*[local-name(.)='Assertion']";
const ASSERTION_ISSUER_XPATH = `${ASSERTION_XPATH}/*[local-name(.)='Issuer']`;
const AUTHN_CONTEXT_PPT = 'urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport';

const NF_UNSPECIFIED = 'urn:oasis:names:tc:SAML:2.0:attrname-format:unspecified';
const NF_BASIC = 'urn:oasis:names:tc:SAML:2.0:attrname-format:basic';
const WS_CLAIMS = 'http://schemas.xmlsoap.org/ws/2005/05/identity/claims';
const MS_CLAIMS = 'http://schemas.microsoft.com/ws/2008/06/identity/claims';

export const KEYS_DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), 'keys');

// ---------------------------------------------------------------------------
// Attribute profiles: which attribute names (and how they are rendered) each
// well-known IdP sends for the same user.
// ---------------------------------------------------------------------------

export const ATTRIBUTE_PROFILES = {
  // Okta: attribute statements as configured in a typical Okta SAML app;
  // Okta's default Name format is "Unspecified" and values are xs:string.
  okta: {
    nameFormat: NF_UNSPECIFIED,
    valueType: 'xs:string',
    attributes: (u) => [
      ['email', u.email],
      ['firstName', u.firstName],
      ['lastName', u.lastName],
      ['groups', u.groups],
      ['role', u.roles],
    ],
  },
  // Microsoft Entra ID (Azure AD): claim URIs, no NameFormat, untyped values.
  azure: {
    nameFormat: null,
    valueType: null,
    attributes: (u) => [
      [`${WS_CLAIMS}/emailaddress`, u.email],
      [`${WS_CLAIMS}/givenname`, u.firstName],
      [`${WS_CLAIMS}/surname`, u.lastName],
      [`${WS_CLAIMS}/name`, u.nameId],
      [`${MS_CLAIMS}/groups`, u.groups],
      [`${MS_CLAIMS}/role`, u.roles],
    ],
  },
  // Google Workspace has no fixed attribute names: the admin maps directory
  // fields to names in the custom SAML app's "Attribute mapping". We use the
  // names most setups pick (email, firstName, lastName, groups); Google has no
  // role concept, so no role attribute.
  google: {
    nameFormat: NF_UNSPECIFIED,
    valueType: 'xs:anyType',
    attributes: (u) => [
      ['email', u.email],
      ['firstName', u.firstName],
      ['lastName', u.lastName],
      ['groups', u.groups],
    ],
  },
  // AD FS: the same claim URIs as Entra ID plus the classic Group claim.
  adfs: {
    nameFormat: null,
    valueType: null,
    attributes: (u) => [
      [`${WS_CLAIMS}/emailaddress`, u.email],
      [`${WS_CLAIMS}/givenname`, u.firstName],
      [`${WS_CLAIMS}/surname`, u.lastName],
      [`${MS_CLAIMS}/groups`, u.groups],
      [`${MS_CLAIMS}/role`, u.roles],
      ['http://schemas.xmlsoap.org/claims/Group', u.groups],
    ],
  },
  // OneLogin: its default SAML custom-connector parameter names, Basic format.
  onelogin: {
    nameFormat: NF_BASIC,
    valueType: 'xs:string',
    attributes: (u) => [
      ['User.email', u.email],
      ['User.FirstName', u.firstName],
      ['User.LastName', u.lastName],
      ['memberOf', u.groups],
      ['Role', u.roles],
    ],
  },
};

// ---------------------------------------------------------------------------
// Defaults and configuration
// ---------------------------------------------------------------------------

export const DEFAULT_USER = Object.freeze({
  nameId: 'jane@acme.test',
  email: 'jane@acme.test',
  firstName: 'Jane',
  lastName: 'Doe',
  groups: Object.freeze(['engineering', 'admins']),
  roles: Object.freeze(['admin']),
});

export function defaultConfig() {
  return {
    user: { ...DEFAULT_USER, groups: [...DEFAULT_USER.groups], roles: [...DEFAULT_USER.roles] },
    attributeProfile: 'okta',
    sign: 'response',
    key: 'primary',
    signatureAlgorithm: null, // null = rsa-sha256 for RSA keys, ecdsa-sha256 for the ec key
    digestAlgorithm: 'sha256',
    spCertificate: null,
    status: null,
    acsUrl: null, // fallback ACS URL for AuthnRequests that carry none (ACS index only)
    issuer: null, // null = the IdP entity id
    overrides: null, // extra /__idp/sign fields applied to browser (SSO / IdP-initiated) responses
  };
}

export class HttpError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}
const bad = (message) => new HttpError(400, message);

const isPlainObject = (v) => v !== null && typeof v === 'object' && !Array.isArray(v);
const isStringArray = (v) => Array.isArray(v) && v.every((x) => typeof x === 'string');

function parseCertificate(text, what) {
  if (typeof text !== 'string' || text.trim() === '') throw bad(`${what} must be a PEM certificate string`);
  try {
    const der = text.includes('-----BEGIN')
      ? text
      : Buffer.from(text.replace(/\s+/g, ''), 'base64');
    return new crypto.X509Certificate(der);
  } catch (e) {
    throw bad(`${what} is not a valid X.509 certificate: ${e.message}`);
  }
}

function validateStatus(status, what = 'status') {
  if (status === null || status === undefined) return null;
  if (typeof status === 'string') {
    if (!status) throw bad(`${what} must not be empty`);
    return { code: status };
  }
  if (!isPlainObject(status) || typeof status.code !== 'string' || !status.code) {
    throw bad(`${what} must be a status code URI string or {code, subCode?, message?}`);
  }
  for (const k of Object.keys(status)) {
    if (!['code', 'subCode', 'message'].includes(k)) throw bad(`${what}: unknown field "${k}"`);
    if (status[k] !== undefined && status[k] !== null && typeof status[k] !== 'string') throw bad(`${what}.${k} must be a string`);
  }
  return { code: status.code, subCode: status.subCode ?? undefined, message: status.message ?? undefined };
}

function validateSignOptions(o, keys, where) {
  if (o.sign !== undefined && !SIGN_MODES.includes(o.sign)) throw bad(`${where}sign must be one of ${SIGN_MODES.join(', ')}`);
  if (o.key !== undefined && !Object.hasOwn(keys, o.key)) throw bad(`${where}key must be one of ${Object.keys(keys).join(', ')}`);
  if (o.signatureAlgorithm !== undefined && o.signatureAlgorithm !== null && !Object.hasOwn(SIGNATURE_ALGORITHMS, o.signatureAlgorithm)) {
    throw bad(`${where}signatureAlgorithm must be one of ${Object.keys(SIGNATURE_ALGORITHMS).join(', ')}`);
  }
  if (o.digestAlgorithm !== undefined && !Object.hasOwn(DIGEST_ALGORITHMS, o.digestAlgorithm)) {
    throw bad(`${where}digestAlgorithm must be one of ${Object.keys(DIGEST_ALGORITHMS).join(', ')}`);
  }
}

/** Merge a JSON patch into a copy of `config`; throws HttpError(400) on invalid input. */
export function mergeConfig(config, patch, keys) {
  if (!isPlainObject(patch)) throw bad('config must be a JSON object');
  const defaults = defaultConfig();
  const next = structuredClone(config);
  for (const [k, v] of Object.entries(patch)) {
    if (!Object.hasOwn(defaults, k)) throw bad(`unknown config field "${k}" (known: ${Object.keys(defaults).join(', ')})`);
    if (v === null) {
      next[k] = defaults[k];
      continue;
    }
    switch (k) {
      case 'user': {
        if (!isPlainObject(v)) throw bad('user must be an object');
        for (const [uk, uv] of Object.entries(v)) {
          if (!Object.hasOwn(DEFAULT_USER, uk)) throw bad(`unknown user field "${uk}"`);
          if (uk === 'groups' || uk === 'roles') {
            if (!isStringArray(uv)) throw bad(`user.${uk} must be an array of strings`);
          } else if (typeof uv !== 'string') {
            throw bad(`user.${uk} must be a string`);
          }
        }
        next.user = { ...next.user, ...v };
        break;
      }
      case 'attributeProfile':
        if (!Object.hasOwn(ATTRIBUTE_PROFILES, v)) throw bad(`attributeProfile must be one of ${Object.keys(ATTRIBUTE_PROFILES).join(', ')}`);
        next[k] = v;
        break;
      case 'sign':
      case 'key':
      case 'signatureAlgorithm':
      case 'digestAlgorithm':
        validateSignOptions({ [k]: v }, keys, '');
        next[k] = v;
        break;
      case 'spCertificate':
        parseCertificate(v, 'spCertificate');
        next[k] = v;
        break;
      case 'status':
        next[k] = validateStatus(v);
        break;
      case 'acsUrl':
      case 'issuer':
        if (typeof v !== 'string' || !v) throw bad(`${k} must be a non-empty string or null`);
        next[k] = v;
        break;
      case 'overrides':
        if (!isPlainObject(v)) throw bad('overrides must be an object of /__idp/sign fields');
        for (const f of Object.keys(v)) if (!SIGN_FIELDS.has(f)) throw bad(`overrides: unknown sign field "${f}"`);
        next[k] = v;
        break;
      default:
        throw bad(`unknown config field "${k}"`);
    }
  }
  resolveSigning(next, keys); // reject key/algorithm mismatches now, not at login time
  return next;
}

// ---------------------------------------------------------------------------
// Keys
// ---------------------------------------------------------------------------

export function loadKeys(dir = KEYS_DIR) {
  const keys = {};
  for (const name of KEY_NAMES) {
    const base = path.join(dir, KEY_FILES[name]);
    const privateKey = fs.readFileSync(`${base}.key`, 'utf8');
    const certPem = fs.readFileSync(`${base}.crt`, 'utf8');
    keys[name] = {
      name,
      privateKey,
      certPem,
      certBody: samlify.Utility.normalizeCerString(certPem),
      // A parsed KeyObject: xml-crypto and samlify pass it straight to
      // crypto.sign, which saves re-parsing the PEM for every signature.
      keyObject: crypto.createPrivateKey(privateKey),
      type: crypto.createPrivateKey(privateKey).asymmetricKeyType, // 'rsa' | 'ec'
      keyFile: `${base}.key`,
      certFile: `${base}.crt`,
    };
  }
  return keys;
}

/** Resolve {sign, key, signatureAlgorithm, digestAlgorithm} into concrete key material and URIs. */
function resolveSigning(o, keys) {
  const key = keys[o.key];
  if (!key) throw bad(`unknown key "${o.key}"`);
  const sigName = o.signatureAlgorithm ?? (key.type === 'ec' ? 'ecdsa-sha256' : 'rsa-sha256');
  const isEcAlg = sigName.startsWith('ecdsa-');
  if (isEcAlg !== (key.type === 'ec')) {
    throw bad(`signatureAlgorithm "${sigName}" cannot be used with the ${key.type.toUpperCase()} key "${key.name}"`);
  }
  return {
    sign: o.sign,
    key,
    signatureAlgorithm: SIGNATURE_ALGORITHMS[sigName],
    digestAlgorithm: DIGEST_ALGORITHMS[o.digestAlgorithm],
  };
}

// ---------------------------------------------------------------------------
// XML building
// ---------------------------------------------------------------------------

const escapeXml = (s) =>
  String(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[c]);

const xattr = (name, value) => (value === null || value === undefined ? '' : ` ${name}="${escapeXml(value)}"`);

export const newId = () => `_${crypto.randomUUID()}`;

const RELATIVE_TIME = /^([+-])(\d+(?:\.\d+)?)(ms|s|m|h|d)$/;
const UNIT_MS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** undefined → now+defaultOffset; null → omitted; "+5m"/"-30s" → relative to now; ISO string → verbatim. */
function resolveTime(value, field, now, defaultOffsetMs, allowNull = true) {
  if (value === undefined) return new Date(now + defaultOffsetMs).toISOString();
  if (value === null) {
    if (!allowNull) throw bad(`${field} cannot be null`);
    return null;
  }
  if (typeof value !== 'string') throw bad(`${field} must be an ISO-8601 string, a relative offset like "+5m", or null`);
  const rel = RELATIVE_TIME.exec(value);
  if (rel) {
    const ms = Number(rel[2]) * UNIT_MS[rel[3]] * (rel[1] === '-' ? -1 : 1);
    return new Date(now + ms).toISOString();
  }
  if (Number.isNaN(Date.parse(value))) throw bad(`${field} is not a valid date: ${value}`);
  return value;
}

function attributeStatementXml(attributes, profile) {
  const parts = [];
  for (const [name, raw] of attributes) {
    const values = (Array.isArray(raw) ? raw : [raw]).filter((v) => v !== null && v !== undefined && v !== '');
    if (values.length === 0) continue; // real IdPs omit attributes without values
    const valueAttrs = profile.valueType
      ? ` xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="${profile.valueType}"`
      : '';
    const vals = values.map((v) => `<saml:AttributeValue${valueAttrs}>${escapeXml(v)}</saml:AttributeValue>`).join('');
    parts.push(`<saml:Attribute${xattr('Name', name)}${xattr('NameFormat', profile.nameFormat)}>${vals}</saml:Attribute>`);
  }
  return parts.length ? `<saml:AttributeStatement>${parts.join('')}</saml:AttributeStatement>` : '';
}

function statusXml(status) {
  const sub = status.subCode ? `<samlp:StatusCode${xattr('Value', status.subCode)}/>` : '';
  const code = sub
    ? `<samlp:StatusCode${xattr('Value', status.code)}>${sub}</samlp:StatusCode>`
    : `<samlp:StatusCode${xattr('Value', status.code)}/>`;
  const msg = status.message ? `<samlp:StatusMessage>${escapeXml(status.message)}</samlp:StatusMessage>` : '';
  return `<samlp:Status>${code}${msg}</samlp:Status>`;
}

/**
 * Build the unsigned <samlp:Response> for fully resolved options. Every
 * caller-controlled value is XML-escaped; null/undefined optional values drop
 * the attribute (the same convention as samlify's replaceTagsByValue).
 */
export function buildResponseXml(o) {
  const now = Date.now();
  const status = validateStatus(o.status) ?? { code: STATUS.success };
  const responseId = o.responseId ?? newId();
  const assertionId = o.assertionId ?? newId();
  const issueInstant = resolveTime(o.issueInstant, 'issueInstant', now, 0, false);
  const destination = o.destination === undefined ? o.recipient : o.destination;
  const recipient = o.recipient === undefined ? o.destination : o.recipient;
  const inResponseTo = o.inResponseTo ?? null;
  const issuer = o.issuer;

  let assertion = '';
  if (status.code === STATUS.success) {
    const notBefore = resolveTime(o.notBefore, 'notBefore', now, -60_000);
    const notOnOrAfter = resolveTime(o.notOnOrAfter, 'notOnOrAfter', now, 5 * 60_000);
    const subjectNotOnOrAfter = resolveTime(o.subjectNotOnOrAfter, 'subjectNotOnOrAfter', now, 5 * 60_000);
    const authnInstant = resolveTime(o.authnInstant, 'authnInstant', now, 0, false);
    const audiences = o.audience === undefined || o.audience === null ? [] : Array.isArray(o.audience) ? o.audience : [o.audience];
    const audienceXml = o.omitAudience || audiences.length === 0
      ? ''
      : `<saml:AudienceRestriction>${audiences.map((a) => `<saml:Audience>${escapeXml(a)}</saml:Audience>`).join('')}</saml:AudienceRestriction>`;
    const conditions = o.omitConditions
      ? ''
      : `<saml:Conditions${xattr('NotBefore', notBefore)}${xattr('NotOnOrAfter', notOnOrAfter)}>${audienceXml}</saml:Conditions>`;
    const authn =
      `<saml:AuthnStatement${xattr('AuthnInstant', authnInstant)}${xattr('SessionIndex', o.sessionIndex ?? `_session${assertionId}`)}>` +
      `<saml:AuthnContext><saml:AuthnContextClassRef>${AUTHN_CONTEXT_PPT}</saml:AuthnContextClassRef></saml:AuthnContext></saml:AuthnStatement>`;
    assertion =
      `<saml:Assertion xmlns:saml="${NS.assertion}"${xattr('ID', assertionId)} Version="2.0"${xattr('IssueInstant', issueInstant)}>` +
      `<saml:Issuer>${escapeXml(issuer)}</saml:Issuer>` +
      `<saml:Subject><saml:NameID${xattr('Format', o.nameIdFormat ?? NAMEID_EMAIL)}>${escapeXml(o.nameId)}</saml:NameID>` +
      `<saml:SubjectConfirmation Method="urn:oasis:names:tc:SAML:2.0:cm:bearer">` +
      `<saml:SubjectConfirmationData${xattr('InResponseTo', inResponseTo)}${xattr('NotOnOrAfter', subjectNotOnOrAfter)}${xattr('Recipient', recipient)}/>` +
      `</saml:SubjectConfirmation></saml:Subject>` +
      conditions +
      authn +
      attributeStatementXml(o.attributes, o.profile) +
      `</saml:Assertion>`;
  }

  const xml =
    `<samlp:Response xmlns:samlp="${NS.protocol}" xmlns:saml="${NS.assertion}"${xattr('ID', responseId)} Version="2.0"` +
    `${xattr('IssueInstant', issueInstant)}${xattr('Destination', destination)}${xattr('InResponseTo', inResponseTo)}>` +
    `<saml:Issuer>${escapeXml(issuer)}</saml:Issuer>` +
    statusXml(status) +
    assertion +
    `</samlp:Response>`;
  return { xml, responseId, assertionId: assertion ? assertionId : null, hasAssertion: Boolean(assertion) };
}

// ---------------------------------------------------------------------------
// Signing (samlify SamlLib / xml-crypto)
// ---------------------------------------------------------------------------

/** XML-DSig 1.1 ECDSA-SHA256 for xml-crypto (SignatureValue is r||s, as xmlsec expects). */
class EcdsaSha256 {
  getSignature(signedInfo, privateKey, callback) {
    const value = crypto.sign('sha256', Buffer.from(signedInfo), { key: privateKey, dsaEncoding: 'ieee-p1363' }).toString('base64');
    if (typeof callback === 'function') return callback(null, value);
    return value;
  }
  verifySignature(material, key, signatureValue, callback) {
    const ok = crypto.verify('sha256', Buffer.from(material), { key, dsaEncoding: 'ieee-p1363' }, Buffer.from(signatureValue, 'base64'));
    if (typeof callback === 'function') return callback(null, ok);
    return ok;
  }
  getAlgorithmName() {
    return SIGNATURE_ALGORITHMS['ecdsa-sha256'];
  }
}

const samlifyDigestFor = Constants.algorithms.digest; // samlify ties the digest to the signature algorithm

/**
 * Add one enveloped signature over the Response (`target = 'response'`) or its
 * Assertion (`'assertion'`), placed right after that element's Issuer, with
 * exclusive c14n, Reference URI="#ID" and the signing certificate in KeyInfo.
 */
function signElement(xml, target, { key, signatureAlgorithm, digestAlgorithm }) {
  const signatureConfig = {
    prefix: 'ds',
    location: { reference: target === 'assertion' ? ASSERTION_ISSUER_XPATH : RESPONSE_ISSUER_XPATH, action: 'after' },
  };
  if (key.type === 'rsa' && samlifyDigestFor[signatureAlgorithm] === digestAlgorithm) {
    // The common case: samlify's own signing helper, exactly as its IdP uses it.
    return SamlLib.constructSAMLSignature({
      rawSamlMessage: xml,
      referenceTagXPath: target === 'assertion' ? ASSERTION_XPATH : undefined,
      isMessageSigned: target === 'response',
      privateKey: key.keyObject,
      signatureAlgorithm,
      transformationAlgorithms: TRANSFORMS,
      signingCert: key.certBody,
      signatureConfig,
      isBase64Output: false,
    });
  }
  // Combinations samlify's helper cannot express (a digest other than the one
  // it pairs with the signature algorithm, or ECDSA): the same xml-crypto
  // SignedXml configuration samlify builds, with the digest chosen freely and
  // an ECDSA signature class registered.
  const sig = new SignedXml();
  sig.SignatureAlgorithms = { ...sig.SignatureAlgorithms, [SIGNATURE_ALGORITHMS['ecdsa-sha256']]: EcdsaSha256 };
  sig.addReference({
    xpath: target === 'assertion' ? ASSERTION_XPATH : '/*',
    transforms: TRANSFORMS,
    digestAlgorithm,
  });
  sig.signatureAlgorithm = signatureAlgorithm;
  sig.canonicalizationAlgorithm = EXC_C14N;
  const keyInfo = SamlLib.getKeyInfo(key.certBody, signatureConfig);
  sig.publicCert = keyInfo.getKey();
  sig.getKeyInfoContent = keyInfo.getKeyInfo;
  sig.privateKey = key.keyObject;
  sig.computeSignature(xml, signatureConfig);
  return sig.getSignedXml();
}

/** Sign per mode: 'response' | 'assertion' | 'both' (assertion first, then the response over it) | 'none'. */
export function signResponseXml(xml, hasAssertion, signing) {
  let out = xml;
  if ((signing.sign === 'assertion' || signing.sign === 'both') && hasAssertion) out = signElement(out, 'assertion', signing);
  if (signing.sign === 'response' || signing.sign === 'both') out = signElement(out, 'response', signing);
  return out;
}

// ---------------------------------------------------------------------------
// The IdP
// ---------------------------------------------------------------------------

const SIGN_FIELDS = new Set([
  'inResponseTo', 'destination', 'recipient', 'audience', 'issuer', 'nameId', 'nameIdFormat', 'attributes',
  'notBefore', 'notOnOrAfter', 'subjectNotOnOrAfter', 'issueInstant', 'authnInstant', 'sessionIndex',
  'omitConditions', 'omitAudience', 'assertionId', 'responseId', 'attributeProfile',
  'sign', 'key', 'signatureAlgorithm', 'digestAlgorithm', 'status',
]);

function quietly(fn) {
  // samlify warns on stderr when IdP metadata has no SingleLogoutService; this IdP has none on purpose.
  const warn = console.warn;
  console.warn = () => {};
  try {
    return fn();
  } finally {
    console.warn = warn;
  }
}

/**
 * samlify's XSD validator (@authenio/samlify-node-xmllint, an emscripten build
 * of xmllint) misbehaves in a long-running process: every call prints a blank
 * line to stdout (console.log(" ")) and registers
 * process.stdout.once('drain', () => process.exit()). This wrapper runs it with
 * console output captured and removes the leaked 'drain' listeners, and puts
 * xmllint's error lines into the rejection message.
 */
let lastSchemaError = null;
export const quietXmllintValidator = {
  validate: async (xml) => {
    const before = new Set(process.stdout.rawListeners('drain'));
    const { log, error } = console;
    const captured = [];
    console.log = () => {};
    console.error = (...args) => captured.push(args.join(' '));
    let pending;
    try {
      pending = xmllintValidator.validate(xml); // the work happens synchronously in here
    } finally {
      console.log = log;
      console.error = error;
      for (const l of process.stdout.rawListeners('drain')) if (!before.has(l)) process.stdout.removeListener('drain', l);
    }
    try {
      return await pending;
    } catch (e) {
      const detail = captured.join(' ').replace(/^this is not a valid saml response with errors:\s*/, '').replace(/\s+/g, ' ').trim();
      lastSchemaError = detail || String(e);
      throw new Error(`ERR_INVALID_XML: ${lastSchemaError}`);
    }
  },
};

function wellFormedValidator() {
  return {
    validate: async (xml) => {
      let error = null;
      const doc = new DOMParser({ onError: (level, msg) => { if (level !== 'warning') error = msg; } }).parseFromString(xml, 'text/xml');
      if (error || !doc || !doc.documentElement) {
        lastSchemaError = error ?? 'no document element';
        throw new Error(`ERR_INVALID_XML: ${lastSchemaError}`);
      }
      return 'SUCCESS_WELL_FORMED';
    },
  };
}

const WARMUP_REQUEST =
  '<samlp:AuthnRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ' +
  'ID="_warmup" Version="2.0" IssueInstant="2020-01-01T00:00:00Z"><saml:Issuer>urn:warmup</saml:Issuer></samlp:AuthnRequest>';

export class SamlIdp {
  constructor({ entityId = null, keysDir = KEYS_DIR, keys = null } = {}) {
    this.keys = keys ?? loadKeys(keysDir);
    this.config = defaultConfig();
    this.requests = [];
    this.entityId = entityId;
    this.baseUrl = null;
  }

  get issuer() {
    return this.config.issuer ?? this.entityId;
  }

  reset() {
    this.config = defaultConfig();
    this.requests = [];
  }

  configure(patch) {
    this.config = mergeConfig(this.config, patch, this.keys);
    return this.config;
  }

  metadataXml({ keys = 'primary', bindings = 'both' } = {}) {
    const names = keys === 'both' ? ['primary', 'secondary'] : String(keys).split(',').map((s) => s.trim()).filter(Boolean);
    if (names.length === 0 || names.some((n) => !this.keys[n])) throw bad(`keys must be primary, secondary, both, or a comma list of ${KEY_NAMES.join(', ')}`);
    if (!['redirect', 'post', 'both'].includes(bindings)) throw bad('bindings must be redirect, post or both');
    const sso = `${this.baseUrl}/sso`;
    const services = [];
    if (bindings !== 'post') services.push({ Binding: BINDINGS.redirect, Location: sso });
    if (bindings !== 'redirect') services.push({ Binding: BINDINGS.post, Location: sso });
    const idp = quietly(() =>
      samlify.IdentityProvider({
        entityID: this.entityId,
        signingCert: names.map((n) => this.keys[n].certPem),
        nameIDFormat: [NAMEID_EMAIL],
        singleSignOnService: services,
        wantAuthnRequestsSigned: Boolean(this.config.spCertificate),
      }),
    );
    return idp.getMetadata();
  }

  /** samlify entities used to parse an inbound AuthnRequest (and verify it when `verify`). */
  parsingEntities(verify) {
    const idp = quietly(() =>
      samlify.IdentityProvider({
        entityID: this.entityId,
        singleSignOnService: [{ Binding: BINDINGS.redirect, Location: `${this.baseUrl}/sso` }, { Binding: BINDINGS.post, Location: `${this.baseUrl}/sso` }],
        nameIDFormat: [NAMEID_EMAIL],
        wantAuthnRequestsSigned: verify,
      }),
    );
    const sp = samlify.ServiceProvider({
      entityID: 'urn:gatehouse:test-idp:any-sp',
      ...(verify ? { signingCert: this.config.spCertificate } : {}),
    });
    return { idp, sp };
  }

  /**
   * HTTP-Redirect binding. `rawQuery` is the undecoded query string: the
   * signed octet string must be rebuilt from the parameters exactly as sent.
   */
  async parseRedirectRequest(rawQuery) {
    const raw = new Map();
    const decoded = new Map();
    for (const part of rawQuery.split('&')) {
      if (!part) continue;
      const i = part.indexOf('=');
      const name = formDecode(i < 0 ? part : part.slice(0, i));
      const value = i < 0 ? '' : part.slice(i + 1);
      if (!raw.has(name)) {
        raw.set(name, value);
        let v = formDecode(value);
        // base64 never contains spaces: a literal '+' that a sloppy client left
        // unencoded was turned into one by form decoding, so put it back.
        if (name === 'SAMLRequest' || name === 'Signature') v = v.replace(/ /g, '+');
        decoded.set(name, v);
      }
    }
    if (!decoded.get('SAMLRequest')) throw bad('missing SAMLRequest query parameter');
    const sigAlg = decoded.get('SigAlg');
    const signature = decoded.get('Signature');
    const octetString =
      `SAMLRequest=${raw.get('SAMLRequest')}` +
      (raw.has('RelayState') ? `&RelayState=${raw.get('RelayState')}` : '') +
      (raw.has('SigAlg') ? `&SigAlg=${raw.get('SigAlg')}` : '');
    const verify = Boolean(this.config.spCertificate);
    const query = { SAMLRequest: decoded.get('SAMLRequest') };
    if (decoded.has('RelayState')) query.RelayState = decoded.get('RelayState');
    if (sigAlg !== undefined) query.SigAlg = sigAlg;
    if (signature !== undefined) query.Signature = signature;

    let samlifyVerifies = verify;
    if (verify) {
      if (!sigAlg || !signature) {
        throw bad('AuthnRequest rejected: the IdP is configured with an spCertificate, so HTTP-Redirect requests must carry SigAlg and Signature, but this one is unsigned');
      }
      if (sigAlg.includes('#ecdsa-')) {
        // samlify's redirect verifier is RSA-only (node-rsa); check ECDSA with node:crypto.
        if (!verifyEcdsaRedirectSignature(this.config.spCertificate, octetString, sigAlg, signature)) {
          throw bad('AuthnRequest rejected: the HTTP-Redirect signature does not verify against the configured spCertificate');
        }
        samlifyVerifies = false;
      }
    }
    try {
      inflateCheck(query.SAMLRequest);
    } catch {
      throw bad('SAMLRequest is not valid base64 + raw DEFLATE (HTTP-Redirect binding)');
    }
    const { idp, sp } = this.parsingEntities(samlifyVerifies);
    let parsed;
    try {
      parsed = await idp.parseLoginRequest(sp, 'redirect', { query, octetString });
    } catch (e) {
      throw requestError(e);
    }
    return this.recordRequest('redirect', parsed, decoded.get('RelayState'), { signed: Boolean(signature), sigAlg: sigAlg ?? null, verified: verify });
  }

  /** HTTP-POST binding: an enveloped signature is verified when present and an spCertificate is configured. */
  async parsePostRequest(form) {
    const samlRequest = form.get('SAMLRequest');
    if (!samlRequest) throw bad('missing SAMLRequest form field');
    const xml = Buffer.from(samlRequest, 'base64').toString('utf8');
    const signed = /<(?:[A-Za-z_][\w.-]*:)?Signature[\s>]/.test(xml);
    const verify = Boolean(this.config.spCertificate) && signed;
    const { idp, sp } = this.parsingEntities(verify);
    let parsed;
    try {
      parsed = await idp.parseLoginRequest(sp, 'post', { body: { SAMLRequest: samlRequest } });
    } catch (e) {
      throw requestError(e);
    }
    return this.recordRequest('post', parsed, form.has('RelayState') ? form.get('RelayState') : undefined, { signed, sigAlg: null, verified: verify });
  }

  recordRequest(binding, parsed, relayState, sig) {
    const ex = parsed.extract ?? {};
    const request = {
      binding,
      id: ex.request?.id ?? null,
      issuer: ex.issuer ?? null,
      acsUrl: ex.request?.assertionConsumerServiceUrl ?? null,
      destination: ex.request?.destination ?? null,
      relayState: relayState ?? null,
      signed: sig.signed,
      sigAlg: sig.sigAlg,
      signatureVerified: sig.verified,
      receivedAt: new Date().toISOString(),
      xml: parsed.samlContent,
    };
    this.requests.push(request);
    if (this.requests.length > 100) this.requests.shift();
    if (!request.id) throw bad('AuthnRequest has no ID');
    if (!request.issuer) throw bad('AuthnRequest has no Issuer: cannot tell which SP (Audience) it is for');
    if (!request.acsUrl) {
      if (!this.config.acsUrl) throw bad('AuthnRequest has no AssertionConsumerServiceURL and no acsUrl is configured (POST /__idp/config {"acsUrl": ...})');
      request.acsUrl = this.config.acsUrl;
    }
    return request;
  }

  /**
   * Resolve /__idp/sign-style options (defaults from the current config) and produce a signed response.
   * `asUser`: an email address that replaces the config user's NameID and email for this response.
   */
  sign(options = {}, asUser = null) {
    if (!isPlainObject(options)) throw bad('sign request must be a JSON object');
    for (const k of Object.keys(options)) if (!SIGN_FIELDS.has(k)) throw bad(`unknown sign field "${k}"`);
    validateSignOptions(options, this.keys, '');
    if (options.attributes !== undefined && options.attributes !== null) {
      if (!isPlainObject(options.attributes)) throw bad('attributes must be an object of name -> string | string[]');
      for (const [n, v] of Object.entries(options.attributes)) {
        if (typeof v !== 'string' && !isStringArray(v)) throw bad(`attribute "${n}" must be a string or an array of strings`);
      }
    }
    if (options.attributeProfile !== undefined && !Object.hasOwn(ATTRIBUTE_PROFILES, options.attributeProfile)) {
      throw bad(`attributeProfile must be one of ${Object.keys(ATTRIBUTE_PROFILES).join(', ')}`);
    }
    for (const f of ['destination', 'recipient', 'issuer', 'nameId', 'nameIdFormat', 'inResponseTo', 'assertionId', 'responseId', 'sessionIndex']) {
      if (options[f] !== undefined && options[f] !== null && typeof options[f] !== 'string') throw bad(`${f} must be a string`);
    }
    if (options.audience !== undefined && options.audience !== null && typeof options.audience !== 'string' && !isStringArray(options.audience)) {
      throw bad('audience must be a string or an array of strings');
    }
    const cfg = this.config;
    const user = asUser ? { ...cfg.user, nameId: asUser, email: asUser } : cfg.user;
    const profile = ATTRIBUTE_PROFILES[options.attributeProfile ?? cfg.attributeProfile];
    const attributes = options.attributes ? Object.entries(options.attributes) : profile.attributes(user);
    const signing = resolveSigning(
      {
        sign: options.sign ?? cfg.sign,
        key: options.key ?? cfg.key,
        signatureAlgorithm: options.signatureAlgorithm !== undefined ? options.signatureAlgorithm : cfg.signatureAlgorithm,
        digestAlgorithm: options.digestAlgorithm ?? cfg.digestAlgorithm,
      },
      this.keys,
    );
    const built = buildResponseXml({
      ...options,
      issuer: options.issuer ?? this.issuer,
      nameId: options.nameId ?? user.nameId,
      status: options.status !== undefined ? options.status : cfg.status,
      attributes,
      profile,
    });
    const xml = signResponseXml(built.xml, built.hasAssertion, signing);
    return {
      samlResponse: Buffer.from(xml, 'utf8').toString('base64'),
      xml,
      responseId: built.responseId,
      assertionId: built.assertionId,
    };
  }

  /** Sign many; item errors become HttpError("batch[i]: ..."). Runs on the worker pool when one is attached. */
  async signBatch(items, includeXml = true) {
    if (!Array.isArray(items)) throw bad('batch must be an array of sign requests');
    if (this.pool && items.length >= BATCH_POOL_THRESHOLD) {
      return this.pool.signBatch({ entityId: this.entityId, config: this.config }, items, includeXml);
    }
    return signItems(this, items, includeXml, 0);
  }

  /** The response a browser flow gets: config (user, profile, signing, status, overrides) applied. */
  loginResponse({ acsUrl, audience, inResponseTo, loginHint = null }) {
    const overrides = this.config.overrides ?? {};
    return this.sign({ inResponseTo, destination: acsUrl, recipient: acsUrl, audience, ...overrides }, loginHint);
  }
}

function signItems(idp, items, includeXml, offset) {
  return items.map((item, i) => {
    try {
      const r = idp.sign(item);
      return includeXml ? { samlResponse: r.samlResponse, xml: r.xml } : { samlResponse: r.samlResponse };
    } catch (e) {
      if (e instanceof HttpError) throw new HttpError(e.status, `batch[${offset + i}]: ${e.message}`);
      throw e;
    }
  });
}

// Batches are split over worker threads (one per core, at most 4): signing is
// CPU-bound (xml-crypto DOM work + RSA), so this roughly multiplies throughput
// by the number of idle cores.
const BATCH_POOL_THRESHOLD = 16;

class SignPool {
  constructor(size, keysDir) {
    this.size = size;
    this.keysDir = keysDir;
    this.workers = [];
    this.pending = new Map();
    this.seq = 0;
  }

  worker(i) {
    if (!this.workers[i]) {
      const w = new Worker(new URL(import.meta.url), { workerData: { samlIdpSignWorker: true, keysDir: this.keysDir } });
      w.unref();
      w.on('message', (m) => {
        const p = this.pending.get(m.id);
        if (!p) return;
        this.pending.delete(m.id);
        if (m.error) p.reject(new HttpError(m.error.status, m.error.message));
        else p.resolve(m.out);
      });
      const fail = (err) => {
        if (this.workers[i] === w) this.workers[i] = undefined;
        for (const [id, p] of this.pending) {
          if (p.worker === w) {
            this.pending.delete(id);
            p.reject(new HttpError(500, `signing worker failed: ${err?.message ?? err}`));
          }
        }
      };
      w.on('error', fail);
      w.on('exit', (code) => fail(new Error(`exited with code ${code}`)));
      this.workers[i] = w;
    }
    return this.workers[i];
  }

  async signBatch(state, items, includeXml) {
    const chunk = Math.ceil(items.length / this.size);
    const jobs = [];
    for (let i = 0, offset = 0; offset < items.length; i++, offset += chunk) {
      const w = this.worker(i);
      const id = ++this.seq;
      jobs.push(
        new Promise((resolve, reject) => {
          this.pending.set(id, { resolve, reject, worker: w });
          w.postMessage({ id, ...state, items: items.slice(offset, offset + chunk), includeXml, offset });
        }),
      );
    }
    return (await Promise.all(jobs)).flat();
  }

  async close() {
    const ws = this.workers.filter(Boolean);
    this.workers = [];
    await Promise.all(ws.map((w) => w.terminate()));
  }
}

function runSignWorker() {
  const idp = new SamlIdp({ keysDir: workerData.keysDir });
  parentPort.on('message', ({ id, entityId, config, items, includeXml, offset }) => {
    idp.entityId = entityId;
    idp.config = config;
    try {
      parentPort.postMessage({ id, out: signItems(idp, items, includeXml, offset) });
    } catch (e) {
      parentPort.postMessage({ id, error: { status: e instanceof HttpError ? e.status : 500, message: e instanceof HttpError ? e.message : `internal error: ${e?.stack ?? e}` } });
    }
  });
}

function formDecode(s) {
  try {
    return decodeURIComponent(s.replace(/\+/g, ' '));
  } catch {
    throw bad('malformed percent-encoding in query string');
  }
}

function inflateCheck(b64) {
  samlify.Utility.inflateString(b64);
}

function verifyEcdsaRedirectSignature(certText, octetString, sigAlg, signatureB64) {
  const hash = { 'ecdsa-sha256': 'sha256', 'ecdsa-sha384': 'sha384', 'ecdsa-sha512': 'sha512' }[sigAlg.split('#')[1]];
  if (!hash) throw bad(`unsupported SigAlg ${sigAlg}`);
  const cert = parseCertificate(certText, 'spCertificate');
  const sig = Buffer.from(signatureB64, 'base64');
  const data = Buffer.from(octetString, 'utf8');
  // Accept both DER and the XML-DSig r||s encoding.
  for (const dsaEncoding of ['der', 'ieee-p1363']) {
    try {
      if (crypto.verify(hash, data, { key: cert.publicKey, dsaEncoding }, sig)) return true;
    } catch {
      /* wrong encoding */
    }
  }
  return false;
}

function requestError(e) {
  const msg = String(e?.message ?? e);
  const known = {
    ERR_MISSING_SIG_ALG: 'AuthnRequest rejected: the IdP is configured with an spCertificate but the request carries no SigAlg/Signature',
    ERR_FAILED_MESSAGE_SIGNATURE_VERIFICATION: 'AuthnRequest rejected: the HTTP-Redirect signature does not verify against the configured spCertificate',
    ERR_UNSUPPORTED_SIGNATURE_ALGORITHM: 'AuthnRequest rejected: unsupported SigAlg',
    FAILED_TO_VERIFY_SIGNATURE: 'AuthnRequest rejected: its enveloped XML signature does not verify against the configured spCertificate',
    ERROR_UNMATCH_CERTIFICATE_DECLARATION_IN_METADATA: 'AuthnRequest rejected: the certificate in its signature KeyInfo is not the configured spCertificate',
    ERR_INVALID_XML: 'AuthnRequest rejected: not a schema-valid SAML AuthnRequest',
    ERR_EXCEPTION_VALIDATE_XML: 'AuthnRequest rejected: not a schema-valid SAML AuthnRequest',
    ERR_POTENTIAL_WRAPPING_ATTACK: 'AuthnRequest rejected: potential signature wrapping',
  };
  if (msg.includes('ERR_INVALID_XML') || msg.includes('ERR_EXCEPTION_VALIDATE_XML')) {
    return bad(`${known.ERR_INVALID_XML}: ${lastSchemaError ?? msg}`);
  }
  for (const [code, text] of Object.entries(known)) if (msg.includes(code)) return bad(`${text} (samlify: ${code})`);
  return bad(`AuthnRequest rejected by samlify: ${msg}`);
}

// ---------------------------------------------------------------------------
// HTTP
// ---------------------------------------------------------------------------

const escapeHtml = escapeXml;

export function autoPostHtml({ acsUrl, samlResponse, relayState }) {
  const relay = relayState === null || relayState === undefined ? '' : `<input type="hidden" name="RelayState" value="${escapeHtml(relayState)}"/>`;
  return (
    '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>Gatehouse test IdP: signing you in</title></head>\n' +
    '<body><p>Gatehouse test IdP: signed in, returning to the service provider…</p>\n' +
    `<form method="post" action="${escapeHtml(acsUrl)}">` +
    `<input type="hidden" name="SAMLResponse" value="${escapeHtml(samlResponse)}"/>${relay}` +
    '<noscript><p>JavaScript is off: press Continue.</p></noscript><button type="submit">Continue</button></form>\n' +
    '<script>document.forms[0].submit()</script>\n</body></html>\n'
  );
}

function send(res, status, body, type) {
  const buf = Buffer.from(body, 'utf8');
  res.writeHead(status, { 'Content-Type': type, 'Content-Length': buf.length, 'Cache-Control': 'no-store' });
  res.end(buf);
}
const sendJson = (res, status, value) => send(res, status, `${JSON.stringify(value)}\n`, 'application/json');

function readBody(req, limit = 256 * 1024 * 1024) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    let size = 0;
    req.on('data', (c) => {
      size += c.length;
      if (size > limit) {
        reject(new HttpError(413, 'request body too large'));
        req.destroy();
      } else chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

async function readJson(req) {
  const body = (await readBody(req)).toString('utf8');
  if (!body.trim()) return {};
  try {
    return JSON.parse(body);
  } catch (e) {
    throw bad(`invalid JSON body: ${e.message}`);
  }
}

function wantsJson(req, params) {
  return params.get('format') === 'json' || /application\/json/i.test(req.headers.accept ?? '');
}

function respondLogin(res, json, { acsUrl, relayState, samlResponse }) {
  if (json) return sendJson(res, 200, { acsUrl, relayState: relayState ?? null, samlResponse });
  return send(res, 200, autoPostHtml({ acsUrl, samlResponse, relayState }), 'text/html; charset=utf-8');
}

function makeHandler(idp, log) {
  return async (req, res) => {
    const url = new URL(req.url, 'http://idp.invalid');
    const rawQuery = req.url.includes('?') ? req.url.slice(req.url.indexOf('?') + 1) : '';
    const route = `${req.method} ${url.pathname}`;
    let json = url.pathname.startsWith('/__idp/') || wantsJson(req, url.searchParams);
    try {
      switch (route) {
        case 'GET /':
          return sendJson(res, 200, {
            name: 'Gatehouse test SAML IdP (samlify)',
            entityId: idp.entityId,
            endpoints: ['GET /metadata', 'GET|POST /sso', 'GET /idp-initiated', 'GET|POST /__idp/config', 'POST /__idp/reset', 'POST /__idp/sign', 'GET /__idp/requests', 'GET /__idp/certs'],
          });
        case 'GET /metadata':
          return send(res, 200, idp.metadataXml({ keys: url.searchParams.get('keys') ?? 'primary', bindings: url.searchParams.get('bindings') ?? 'both' }), 'application/samlmetadata+xml; charset=utf-8');
        case 'GET /sso': {
          const request = await idp.parseRedirectRequest(rawQuery);
          const loginHint = url.searchParams.get('login_hint');
          const { samlResponse } = idp.loginResponse({ acsUrl: request.acsUrl, audience: request.issuer, inResponseTo: request.id, loginHint });
          return respondLogin(res, json, { acsUrl: request.acsUrl, relayState: request.relayState, samlResponse });
        }
        case 'POST /sso': {
          const form = new URLSearchParams((await readBody(req)).toString('utf8'));
          json = json || form.get('format') === 'json';
          const request = await idp.parsePostRequest(form);
          const loginHint = form.get('login_hint') ?? url.searchParams.get('login_hint');
          const { samlResponse } = idp.loginResponse({ acsUrl: request.acsUrl, audience: request.issuer, inResponseTo: request.id, loginHint });
          return respondLogin(res, json, { acsUrl: request.acsUrl, relayState: request.relayState, samlResponse });
        }
        case 'GET /idp-initiated': {
          const acsUrl = url.searchParams.get('acs');
          const audience = url.searchParams.get('audience');
          if (!acsUrl) throw bad('missing acs query parameter (the SP ACS URL)');
          if (!audience) throw bad('missing audience query parameter (the SP entity id)');
          const { samlResponse } = idp.loginResponse({ acsUrl, audience, inResponseTo: undefined });
          const relayState = url.searchParams.get('relayState') ?? url.searchParams.get('RelayState');
          return respondLogin(res, json, { acsUrl, relayState, samlResponse });
        }
        case 'GET /__idp/config':
          return sendJson(res, 200, idp.config);
        case 'POST /__idp/config':
          return sendJson(res, 200, idp.configure(await readJson(req)));
        case 'POST /__idp/reset':
          idp.reset();
          return sendJson(res, 200, idp.config);
        case 'GET /__idp/requests':
          return sendJson(res, 200, { requests: idp.requests });
        case 'GET /__idp/certs':
          return sendJson(res, 200, Object.fromEntries(Object.values(idp.keys).map((k) => [k.name, k.certPem])));
        case 'POST /__idp/sign': {
          const body = await readJson(req);
          if (isPlainObject(body) && Object.hasOwn(body, 'batch')) {
            const extra = Object.keys(body).filter((k) => k !== 'batch' && k !== 'includeXml');
            if (extra.length) throw bad(`unknown batch field(s): ${extra.join(', ')}`);
            const responses = await idp.signBatch(body.batch, body.includeXml !== false);
            return sendJson(res, 200, { responses });
          }
          const r = idp.sign(body);
          return sendJson(res, 200, { samlResponse: r.samlResponse, xml: r.xml });
        }
        default:
          throw new HttpError(404, `no route ${route}`);
      }
    } catch (e) {
      const status = e instanceof HttpError ? e.status : 500;
      const message = e instanceof HttpError ? e.message : `internal error: ${e?.stack ?? e}`;
      log?.(`${route} -> ${status} ${message}`);
      if (res.headersSent) return res.destroy();
      return json ? sendJson(res, status, { error: message }) : send(res, status, `${message}\n`, 'text/plain; charset=utf-8');
    } finally {
      log?.(`${route} ${res.statusCode}`);
    }
  };
}

/**
 * Start the IdP. Resolves once it is listening (and the XSD validator is warm).
 * Returns { idp, server, port, url, entityId, close() }.
 */
export async function startIdp({
  port = 0,
  host = '127.0.0.1',
  entityId = null,
  keysDir = KEYS_DIR,
  schemaValidation = true,
  workers = Math.min(os.availableParallelism?.() ?? os.cpus().length, 4),
  log = null,
} = {}) {
  if (schemaValidation) {
    samlify.setSchemaValidator(quietXmllintValidator);
    // node-xmllint is a 4 MB asm.js blob: the first validation compiles it
    // (seconds on a small machine). Pay that before reporting "listening".
    await quietXmllintValidator.validate(WARMUP_REQUEST).catch(() => {});
  } else {
    samlify.setSchemaValidator(wellFormedValidator());
  }
  const idp = new SamlIdp({ keysDir });
  if (workers > 0) idp.pool = new SignPool(workers, keysDir);
  const server = http.createServer(makeHandler(idp, log));
  server.keepAliveTimeout = 1000;
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const actualPort = server.address().port;
  const shownHost = host === '0.0.0.0' || host === '::' || host === '' ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host;
  const url = `http://${shownHost}:${actualPort}`;
  idp.baseUrl = url;
  idp.entityId = entityId ?? `${url}/metadata`;
  return {
    idp,
    server,
    port: actualPort,
    url,
    entityId: idp.entityId,
    close: async () => {
      await new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      await idp.pool?.close();
    },
  };
}

// ---------------------------------------------------------------------------
// CLI
// ---------------------------------------------------------------------------

const USAGE = `Usage: node end2end/support/saml-idp.mjs [options]
  --port N                 port to listen on (default 0 = pick a free port)
  --host ADDR              address to bind (default 127.0.0.1)
  --entity-id URL          IdP entity id (default http://HOST:PORT/metadata)
  --keys-dir DIR           directory with the test keys (default: keys/ next to this file)
  --no-schema-validation   only check AuthnRequests are well-formed (skips the slow XSD warm-up)
  --workers N              signing threads for /__idp/sign batches (default: cores, max 4; 0 = none)
  --exit-with-stdin        exit when stdin closes (so a crashed parent leaves no orphan)
  --verbose                log each request to stderr
Prints one JSON line {"event":"listening",...} on stdout when ready. See SAML-IDP.md.`;

function parseArgs(argv) {
  const opts = { port: 0, host: '127.0.0.1', entityId: null, keysDir: KEYS_DIR, schemaValidation: true, exitWithStdin: false, verbose: false };
  const integer = (flag, v, max) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 0 || n > max) throw new Error(`${flag} must be an integer 0..${max}`);
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const [flag, inline] = a.includes('=') ? [a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)] : [a, undefined];
    const value = () => {
      const v = inline ?? argv[++i];
      if (v === undefined) throw new Error(`${flag} needs a value`);
      return v;
    };
    switch (flag) {
      case '--port': opts.port = integer(flag, value(), 65535); break;
      case '--workers': opts.workers = integer(flag, value(), 64); break;
      case '--host': opts.host = value(); break;
      case '--entity-id': opts.entityId = value(); break;
      case '--keys-dir': opts.keysDir = path.resolve(value()); break;
      case '--no-schema-validation': opts.schemaValidation = false; break;
      case '--exit-with-stdin': opts.exitWithStdin = true; break;
      case '--verbose': opts.verbose = true; break;
      case '-h':
      case '--help': opts.help = true; break;
      default: throw new Error(`unknown argument ${a}`);
    }
  }
  return opts;
}

async function main() {
  let opts;
  try {
    opts = parseArgs(process.argv.slice(2));
  } catch (e) {
    process.stderr.write(`saml-idp: ${e.message}\n${USAGE}\n`);
    process.exit(2);
  }
  if (opts.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const log = opts.verbose ? (line) => process.stderr.write(`saml-idp: ${line}\n`) : null;
  const running = await startIdp({ ...opts, log });
  process.stdout.write(`${JSON.stringify({ event: 'listening', port: running.port, url: running.url, entityId: running.entityId })}\n`);
  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    setTimeout(() => process.exit(0), 2000).unref();
    running.close().then(() => process.exit(0));
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  if (opts.exitWithStdin) {
    process.stdin.on('end', stop);
    process.stdin.on('close', stop);
    process.stdin.resume();
  }
}

const isMain = (() => {
  try {
    // (a signing worker shares process.argv with the main thread: never "main")
    return isMainThread && Boolean(process.argv[1]) && fs.realpathSync(process.argv[1]) === fs.realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
})();

if (!isMainThread && workerData?.samlIdpSignWorker) {
  runSignWorker();
} else if (isMain) {
  main().catch((e) => {
    process.stderr.write(`saml-idp: failed to start: ${e?.stack ?? e}\n`);
    process.exit(1);
  });
}
