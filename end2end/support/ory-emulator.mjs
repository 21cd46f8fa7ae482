#!/usr/bin/env node
// A local emulator of the parts of the Ory Network *console* API
// (https://api.console.ory.sh) that Gatehouse uses: getProject, patchProject
// and the (deprecated but still documented) Enterprise-SSO organization API.
// Written from Ory's public documentation; see ORY-EMULATOR.md next to this
// file for sources, for every place where the docs are silent, and for the
// unauthenticated /__emulator/ admin + fault-injection API.
//
// Node 20, ESM, node: built-ins only.

import http from 'node:http';
import { createHash, randomUUID } from 'node:crypto';
import { pathToFileURL } from 'node:url';

export const BODY_LIMIT = 1024 * 1024; // 1 MiB
const LOG_LIMIT = 2000;
const ALL_PATCH_OPS = ['add', 'remove', 'replace', 'move', 'copy', 'test'];
const GCS_PREFIX = 'https://storage.googleapis.com/bac-gcs-production/';

// Read-only project fields (readonly in Ory's OpenAPI `Project` model).
// The empty pointer is the whole document.
const DENIED_PATCH_PATHS = ['', '/id', '/slug', '/state', '/revision_id'];

// herodot (Ory's error library) default messages.
const DEFAULT_MESSAGES = {
  400: 'The request was malformed or contained invalid parameters',
  401: 'The request could not be authorized',
  403: 'The requested action was forbidden',
  404: 'The requested resource could not be found',
  405: 'The requested method is not allowed for this resource',
  409: 'The resource could not be created due to a conflict',
  413: 'The request body is too large',
  429: 'Too many requests, please slow down',
  500: 'An internal server error occurred, please contact the system administrator',
};

// `provider` enum of Kratos' config schema (selfServiceOIDCProvider), plus the
// providers added in later Kratos releases.
const OIDC_PROVIDER_TYPES = [
  'github', 'github-app', 'gitlab', 'generic', 'google', 'microsoft', 'discord',
  'salesforce', 'slack', 'facebook', 'auth0', 'vk', 'yandex', 'apple', 'spotify',
  'netid', 'dingtalk', 'patreon', 'linkedin', 'linkedin_v2', 'lark', 'x',
  'fedcm-test', 'line', 'jackson', 'amazon', 'uaepass',
];

// Known keys of an OIDC provider entry. Kratos' schema has
// `additionalProperties: false`, so anything else is rejected.
const PROVIDER_FIELDS = {
  id: 'string',
  provider: 'string',
  label: 'string',
  client_id: 'string',
  client_secret: 'string',
  issuer_url: 'uri',
  auth_url: 'uri',
  token_url: 'uri',
  mapper_url: 'uri',
  scope: 'string[]',
  microsoft_tenant: 'string',
  subject_source: 'string',
  apple_team_id: 'string',
  apple_private_key_id: 'string',
  apple_private_key: 'string',
  requested_claims: 'object',
  organization_id: 'string',
  additional_id_token_audiences: 'string[]',
  claims_source: 'string',
  pkce: 'string',
  fedcm_config_url: 'uri',
  net_id_token_origin_header: 'string',
  auto_link: 'boolean',
  account_linking_mode: 'string',
  aal2_acr_values: 'string[]',
  aal2_amr_values: 'string[]',
  update_identity_on_login: 'string',
};
const PROVIDER_ENUMS = {
  subject_source: ['userinfo', 'me'],
  claims_source: ['id_token', 'userinfo'],
  pkce: ['auto', 'force', 'never'],
  account_linking_mode: ['automatic', 'confirm_with_existing_credential'],
};
const PROVIDERS_POINTER = '/services/identity/config/selfservice/methods/oidc/config/providers';

// ---------------------------------------------------------------- helpers

export function maskToken(token) {
  if (typeof token !== 'string' || token === '') return token ?? null;
  if (token.length <= 4) return '*'.repeat(token.length);
  return '*'.repeat(token.length - 4) + token.slice(-4);
}

const clone = (v) => (v === undefined ? undefined : structuredClone(v));
const isObject = (v) => v !== null && typeof v === 'object' && !Array.isArray(v);
const hasOwn = (o, k) => Object.prototype.hasOwnProperty.call(o, k);
const jsonType = (v) => (v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v === 'number' ? (Number.isInteger(v) ? 'integer' : 'number') : typeof v);

export function deepEqual(a, b) {
  if (a === b) return true;
  if (typeof a !== typeof b || a === null || b === null || typeof a !== 'object') return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a)) return a.length === b.length && a.every((x, i) => deepEqual(x, b[i]));
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  return ka.length === kb.length && ka.every((k) => hasOwn(b, k) && deepEqual(a[k], b[k]));
}

class HttpError extends Error {
  constructor(code, { message, reason, details } = {}) {
    super(reason || message || DEFAULT_MESSAGES[code] || http.STATUS_CODES[code]);
    this.code = code;
    this.msg = message;
    this.reason = reason;
    this.details = details;
  }
}

function errorBody(code, requestId, { message, reason, details } = {}) {
  const error = {
    code,
    status: http.STATUS_CODES[code] || 'Error',
    request: requestId,
    message: message || DEFAULT_MESSAGES[code] || http.STATUS_CODES[code] || 'Error',
  };
  if (reason) error.reason = reason;
  if (details) error.details = details;
  return { error };
}

// ---------------------------------------------------------- RFC 6902 patch

export class PatchError extends Error {}

function parsePointer(ptr) {
  if (typeof ptr !== 'string') throw new PatchError(`invalid JSON pointer ${JSON.stringify(ptr)}: not a string`);
  if (ptr === '') return [];
  if (!ptr.startsWith('/')) throw new PatchError(`invalid JSON pointer "${ptr}": must start with "/"`);
  return ptr.slice(1).split('/').map((t) => {
    if (/~[^01]|~$/.test(t)) throw new PatchError(`invalid JSON pointer "${ptr}": bad escape sequence`);
    return t.replace(/~1/g, '/').replace(/~0/g, '~');
  });
}

const INDEX_RE = /^(0|[1-9][0-9]*)$/;

function childOf(container, token) {
  if (Array.isArray(container)) {
    if (!INDEX_RE.test(token)) return undefined;
    return container[Number(token)];
  }
  if (isObject(container)) return hasOwn(container, token) ? container[token] : undefined;
  return undefined;
}

function resolve(doc, tokens) {
  let cur = doc;
  for (const t of tokens) {
    cur = childOf(cur, t);
    if (cur === undefined) return undefined;
  }
  return cur;
}

function containerFor(doc, tokens, op, path) {
  const parent = resolve(doc, tokens.slice(0, -1));
  if (parent === undefined || parent === null || typeof parent !== 'object') {
    throw new PatchError(`${op} operation does not apply: doc is missing path: "${path}"`);
  }
  return parent;
}

function opAdd(doc, path, value) {
  const tokens = parsePointer(path);
  if (tokens.length === 0) return value;
  const parent = containerFor(doc, tokens, 'add', path);
  const key = tokens[tokens.length - 1];
  if (Array.isArray(parent)) {
    let idx;
    if (key === '-') idx = parent.length;
    else if (INDEX_RE.test(key)) idx = Number(key);
    else throw new PatchError(`add operation does not apply: invalid array index "${key}" in "${path}"`);
    if (idx > parent.length) throw new PatchError(`add operation does not apply: index out of bounds: ${idx} > ${parent.length} in "${path}"`);
    parent.splice(idx, 0, value);
  } else {
    parent[key] = value;
  }
  return doc;
}

function opRemove(doc, path, op = 'remove') {
  const tokens = parsePointer(path);
  if (tokens.length === 0) throw new PatchError(`${op} operation does not apply: cannot remove the whole document`);
  const parent = containerFor(doc, tokens, op, path);
  const key = tokens[tokens.length - 1];
  if (Array.isArray(parent)) {
    if (!INDEX_RE.test(key) || Number(key) >= parent.length) {
      throw new PatchError(`${op} operation does not apply: doc is missing key: "${path}"`);
    }
    return parent.splice(Number(key), 1)[0];
  }
  if (!hasOwn(parent, key)) throw new PatchError(`${op} operation does not apply: doc is missing key: "${path}"`);
  const old = parent[key];
  delete parent[key];
  return old;
}

function opReplace(doc, path, value) {
  const tokens = parsePointer(path);
  if (tokens.length === 0) return value;
  const parent = containerFor(doc, tokens, 'replace', path);
  const key = tokens[tokens.length - 1];
  if (childOf(parent, key) === undefined) throw new PatchError(`replace operation does not apply: doc is missing key: "${path}"`);
  parent[Array.isArray(parent) ? Number(key) : key] = value;
  return doc;
}

function opGet(doc, path, op) {
  const v = resolve(doc, parsePointer(path));
  if (v === undefined) throw new PatchError(`${op} operation does not apply: doc is missing from path: "${path}"`);
  return v;
}

/**
 * Apply an RFC 6902 patch. Returns the new document; never mutates `doc`.
 * Throws PatchError on the first failing operation (all-or-nothing).
 */
export function applyJsonPatch(doc, patch, { allowedOps = ALL_PATCH_OPS } = {}) {
  if (!Array.isArray(patch)) {
    throw new PatchError(`json: cannot unmarshal ${jsonType(patch) === 'object' ? 'object' : jsonType(patch)} into Go value of type jsonpatch.Patch`);
  }
  let out = clone(doc);
  patch.forEach((operation, i) => {
    if (!isObject(operation)) throw new PatchError(`operation ${i}: expected an object, got ${jsonType(operation)}`);
    const { op, path } = operation;
    if (typeof op !== 'string') throw new PatchError(`operation ${i}: missing "op"`);
    if (!ALL_PATCH_OPS.includes(op)) throw new PatchError(`Unexpected kind: ${op}`);
    if (!allowedOps.includes(op)) throw new PatchError(`unsupported operation: ${op}`);
    if (typeof path !== 'string') throw new PatchError(`operation ${i}: missing "path"`);
    const needsValue = op === 'add' || op === 'replace' || op === 'test';
    if (needsValue && !hasOwn(operation, 'value')) throw new PatchError(`${op} operation does not apply: missing value for "${path}"`);
    const needsFrom = op === 'move' || op === 'copy';
    if (needsFrom && typeof operation.from !== 'string') throw new PatchError(`${op} operation does not apply: missing "from"`);
    switch (op) {
      case 'add':
        out = opAdd(out, path, clone(operation.value));
        break;
      case 'remove':
        opRemove(out, path);
        break;
      case 'replace':
        out = opReplace(out, path, clone(operation.value));
        break;
      case 'move': {
        const from = operation.from;
        parsePointer(from);
        if (from === path) break;
        if (path.startsWith(from + '/')) throw new PatchError(`move operation does not apply: "${path}" is a child of "${from}"`);
        opGet(out, from, 'move');
        const value = opRemove(out, from, 'move');
        out = opAdd(out, path, value);
        break;
      }
      case 'copy': {
        const value = clone(opGet(out, operation.from, 'copy'));
        out = opAdd(out, path, value);
        break;
      }
      case 'test': {
        const current = resolve(out, parsePointer(path));
        if (current === undefined) throw new PatchError(`test operation does not apply: is missing path: ${path}`);
        if (!deepEqual(current, operation.value)) throw new PatchError(`testing value ${path} failed: test failed`);
        break;
      }
    }
  });
  return out;
}

function deniedPathIn(patch) {
  for (const operation of patch) {
    if (!isObject(operation) || operation.op === 'test') continue;
    const candidates = [operation.path];
    if (operation.op === 'move') candidates.push(operation.from);
    for (const p of candidates) {
      if (typeof p !== 'string') continue;
      for (const denied of DENIED_PATCH_PATHS) {
        if (p === denied || (denied !== '' && p.startsWith(denied + '/'))) return p;
      }
    }
  }
  return null;
}

// ------------------------------------------------------------- validation

function isUri(value) {
  if (typeof value !== 'string') return false;
  try {
    const u = new URL(value);
    return /^[a-z][a-z0-9+.-]*:$/i.test(u.protocol);
  } catch {
    return false;
  }
}

const BASE64_RE = /^[A-Za-z0-9+/_-]*={0,2}$/;

function decodeBase64Url(value) {
  const payload = value.slice('base64://'.length);
  if (!BASE64_RE.test(payload)) return null;
  return Buffer.from(payload, payload.includes('-') || payload.includes('_') ? 'base64url' : 'base64');
}

function validateProvider(p, i, errors) {
  const at = (suffix = '') => `#/selfservice/methods/oidc/config/providers/${i}${suffix}`;
  const S = '#/definitions/selfServiceOIDCProvider';
  const err = (instance, schema, msg) => errors.push(`I[${instance}] S[${schema}] ${msg}`);
  if (!isObject(p)) {
    err(at(), `${S}/type`, `expected object, but got ${jsonType(p)}`);
    return;
  }
  const required = ['id', 'provider', 'client_id', 'mapper_url'];
  if (p.provider !== 'apple') required.push('client_secret');
  if (p.provider === 'generic') required.push('issuer_url');
  if (p.provider === 'microsoft') required.push('microsoft_tenant');
  if (p.provider === 'apple') required.push('apple_team_id', 'apple_private_key_id', 'apple_private_key');
  const missing = required.filter((k) => !hasOwn(p, k));
  if (missing.length) err(at(), `${S}/required`, `missing properties: ${missing.map((k) => `"${k}"`).join(', ')}`);

  for (const [key, value] of Object.entries(p)) {
    const type = PROVIDER_FIELDS[key];
    if (!type) {
      err(at(), `${S}/additionalProperties`, `additionalProperties "${key}" not allowed`);
      continue;
    }
    const where = at(`/${key}`);
    if (type === 'string' || type === 'uri') {
      if (typeof value !== 'string') {
        err(where, `${S}/properties/${key}/type`, `expected string, but got ${jsonType(value)}`);
        continue;
      }
      if (type === 'uri' && !isUri(value)) {
        err(where, `${S}/properties/${key}/format`, `'${value}' is not valid 'uri'`);
        continue;
      }
    } else if (type === 'string[]') {
      if (!Array.isArray(value)) err(where, `${S}/properties/${key}/type`, `expected array, but got ${jsonType(value)}`);
      else value.forEach((v, j) => typeof v !== 'string' && err(`${where}/${j}`, `${S}/properties/${key}/items/type`, `expected string, but got ${jsonType(v)}`));
      continue;
    } else if (type === 'object') {
      if (!isObject(value)) err(where, `${S}/properties/${key}/type`, `expected object, but got ${jsonType(value)}`);
      continue;
    } else if (type === 'boolean') {
      if (typeof value !== 'boolean') err(where, `${S}/properties/${key}/type`, `expected boolean, but got ${jsonType(value)}`);
      continue;
    }
    if (PROVIDER_ENUMS[key] && !PROVIDER_ENUMS[key].includes(value)) {
      err(where, `${S}/properties/${key}/enum`, `value must be one of ${PROVIDER_ENUMS[key].map((v) => `"${v}"`).join(', ')}`);
    }
  }
  if (typeof p.id === 'string' && p.id.trim() === '') err(at('/id'), `${S}/properties/id/minLength`, 'length must be >= 1, but got 0');
  if (typeof p.client_id === 'string' && p.client_id === '') err(at('/client_id'), `${S}/properties/client_id/minLength`, 'length must be >= 1, but got 0');
  if (typeof p.provider === 'string' && !OIDC_PROVIDER_TYPES.includes(p.provider)) {
    err(at('/provider'), `${S}/properties/provider/enum`, `value must be one of ${OIDC_PROVIDER_TYPES.map((v) => `"${v}"`).join(', ')}`);
  }
  if (p.provider !== 'microsoft' && hasOwn(p, 'microsoft_tenant')) {
    err(at(), `${S}/allOf/0/else/not`, 'microsoft_tenant is only allowed for provider "microsoft"');
  }
  if (typeof p.mapper_url === 'string' && isUri(p.mapper_url)) {
    const scheme = new URL(p.mapper_url).protocol.slice(0, -1).toLowerCase();
    if (!['http', 'https', 'file', 'base64'].includes(scheme)) {
      err(at('/mapper_url'), `${S}/properties/mapper_url/format`, `unsupported mapper_url scheme "${scheme}" (use base64://, https://, http:// or file://)`);
    } else if (scheme === 'base64' && decodeBase64Url(p.mapper_url) === null) {
      err(at('/mapper_url'), `${S}/properties/mapper_url/format`, 'mapper_url is not valid base64');
    }
  }
}

/** Returns a list of schema-violation strings; empty when the project is acceptable. */
export function validateProject(project) {
  const errors = [];
  const err = (instance, schema, msg) => errors.push(`I[${instance}] S[${schema}] ${msg}`);
  if (typeof project.name !== 'string') err('#/name', '#/properties/name/type', `expected string, but got ${jsonType(project.name)}`);
  else if (project.name.trim() === '') err('#/name', '#/properties/name/minLength', 'length must be >= 1, but got 0');
  if (!['prod', 'stage', 'dev'].includes(project.environment)) err('#/environment', '#/properties/environment/enum', 'value must be one of "prod", "stage", "dev"');
  if (!isObject(project.services)) {
    err('#/services', '#/properties/services/type', `expected object, but got ${jsonType(project.services)}`);
    return errors;
  }
  const identity = project.services.identity;
  if (!isObject(identity) || !isObject(identity.config)) {
    err('#/services/identity/config', '#/properties/services/properties/identity/properties/config/type', 'expected object');
    return errors;
  }
  const selfservice = identity.config.selfservice;
  if (selfservice === undefined) return errors;
  if (!isObject(selfservice)) {
    err('#/selfservice', '#/properties/selfservice/type', `expected object, but got ${jsonType(selfservice)}`);
    return errors;
  }
  const methods = selfservice.methods;
  if (methods === undefined) return errors;
  if (!isObject(methods)) {
    err('#/selfservice/methods', '#/properties/selfservice/properties/methods/type', `expected object, but got ${jsonType(methods)}`);
    return errors;
  }
  const oidc = methods.oidc;
  if (oidc === undefined) return errors;
  const S = '#/properties/selfservice/properties/methods/properties/oidc';
  if (!isObject(oidc)) {
    err('#/selfservice/methods/oidc', `${S}/type`, `expected object, but got ${jsonType(oidc)}`);
    return errors;
  }
  if (hasOwn(oidc, 'enabled') && typeof oidc.enabled !== 'boolean') err('#/selfservice/methods/oidc/enabled', `${S}/properties/enabled/type`, `expected boolean, but got ${jsonType(oidc.enabled)}`);
  if (oidc.config === undefined) return errors;
  if (!isObject(oidc.config)) {
    err('#/selfservice/methods/oidc/config', `${S}/properties/config/type`, `expected object, but got ${jsonType(oidc.config)}`);
    return errors;
  }
  if (hasOwn(oidc.config, 'base_redirect_uri') && !isUri(oidc.config.base_redirect_uri)) {
    err('#/selfservice/methods/oidc/config/base_redirect_uri', `${S}/properties/config/properties/base_redirect_uri/format`, 'expected a URI');
  }
  const providers = oidc.config.providers;
  if (providers === undefined) return errors;
  if (!Array.isArray(providers)) {
    err('#/selfservice/methods/oidc/config/providers', `${S}/properties/config/properties/providers/type`, `expected array, but got ${jsonType(providers)}`);
    return errors;
  }
  const seen = new Map();
  providers.forEach((p, i) => {
    validateProvider(p, i, errors);
    if (isObject(p) && typeof p.id === 'string') {
      if (seen.has(p.id)) {
        err(`#/selfservice/methods/oidc/config/providers/${i}/id`, `${S}/properties/config/properties/providers/uniqueItems`,
          `provider id "${p.id}" is already used by providers/${seen.get(p.id)}`);
      } else seen.set(p.id, i);
    }
  });
  return errors;
}

// Domain names for organizations: LDH labels, at least two labels,
// alphabetic-ish TLD, max 253 characters.
export function isValidDomain(d) {
  if (typeof d !== 'string' || d.length === 0 || d.length > 253) return false;
  const labels = d.split('.');
  if (labels.length < 2) return false;
  if (!labels.every((l) => /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/i.test(l))) return false;
  return /^[a-z][a-z0-9-]*$/i.test(labels[labels.length - 1]) || /^xn--/i.test(labels[labels.length - 1]);
}

// ------------------------------------------------------------- project data

function defaultIdentityConfig(slug, name) {
  const base = `https://${slug}.projects.oryapis.com`;
  return {
    identity: {
      default_schema_id: 'preset://email',
      schemas: [{ id: 'preset://email', url: 'preset://email' }],
    },
    selfservice: {
      default_browser_return_url: `${base}/ui/welcome`,
      allowed_return_urls: [],
      methods: {
        password: { enabled: true, config: { haveibeenpwned_enabled: true, identifier_similarity_check_enabled: true, ignore_network_errors: true, max_breaches: 0, min_password_length: 8 } },
        oidc: { enabled: false, config: { providers: [] } },
        code: { enabled: true, config: { lifespan: '15m0s' } },
        totp: { enabled: true, config: { issuer: name } },
        lookup_secret: { enabled: true },
        webauthn: { enabled: false },
        passkey: { enabled: false },
        profile: { enabled: true },
        link: { enabled: false },
      },
      flows: {
        login: { ui_url: `${base}/ui/login`, lifespan: '30m0s' },
        registration: { enabled: true, ui_url: `${base}/ui/registration`, lifespan: '30m0s' },
        settings: { ui_url: `${base}/ui/settings`, privileged_session_max_age: '15m0s' },
        error: { ui_url: `${base}/ui/error` },
      },
    },
    session: { lifespan: '72h0m0s', cookie: { persistent: true, same_site: 'Lax' }, whoami: { required_aal: 'highest_available' } },
    courier: { smtp: { from_name: `${name} via Ory` } },
  };
}

function newProject({ id, slug, name, environment, home_region, identity_config }) {
  const pid = id || randomUUID();
  const pslug = slug || `emulated-${pid.replace(/[^a-z0-9]/gi, '').slice(0, 10).toLowerCase() || 'project'}`;
  const pname = name || 'Emulated project';
  return {
    id: pid,
    name: pname,
    slug: pslug,
    state: 'running',
    environment: environment || 'prod',
    home_region: home_region || 'eu-central',
    revision_id: randomUUID(),
    cors_admin: { enabled: false, origins: [] },
    cors_public: { enabled: false, origins: [] },
    services: {
      identity: { config: identity_config ? clone(identity_config) : defaultIdentityConfig(pslug, pname) },
      oauth2: { config: { oauth2: { expose_internal_errors: true }, ttl: { access_token: '1h0m0s' } } },
      permission: { config: { namespaces: [] } },
    },
  };
}

// ---------------------------------------------------------------- emulator

function readBody(req, limit) {
  return new Promise((resolvePromise) => {
    const declared = Number(req.headers['content-length']);
    if (Number.isFinite(declared) && declared > limit) {
      resolvePromise({ tooLarge: true });
      return;
    }
    const chunks = [];
    let size = 0;
    let done = false;
    req.on('data', (chunk) => {
      if (done) return;
      size += chunk.length;
      if (size > limit) {
        done = true;
        resolvePromise({ tooLarge: true });
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => {
      if (done) return;
      done = true;
      resolvePromise({ text: Buffer.concat(chunks).toString('utf8') });
    });
    req.on('error', () => {
      if (done) return;
      done = true;
      resolvePromise({ aborted: true });
    });
  });
}

function parseJson(text) {
  if (text === undefined || text.trim() === '') return { empty: true };
  try {
    return { value: JSON.parse(text) };
  } catch (e) {
    return { error: e.message };
  }
}

export class OryEmulator {
  /**
   * @param {object} opts
   * @param {number} [opts.port=0]
   * @param {string} [opts.host='127.0.0.1']
   * @param {{id:string,slug?:string,name?:string,tokens?:string[]}[]} [opts.projects]
   * @param {string[]} [opts.globalTokens] tokens valid for every project
   * @param {number} [opts.latencyMs=0]
   * @param {string[]} [opts.patchOps] JSON-patch ops accepted (default: all six)
   * @param {boolean} [opts.keepBase64Mappers=false] do not rewrite base64:// mappers to storage URLs
   * @param {boolean} [opts.quiet=false] no request log on stderr
   * @param {(line:string)=>void} [opts.logger]
   */
  constructor(opts = {}) {
    this.opts = {
      port: 0,
      host: '127.0.0.1',
      projects: [],
      globalTokens: [],
      latencyMs: 0,
      patchOps: ALL_PATCH_OPS,
      keepBase64Mappers: false,
      quiet: false,
      ...opts,
    };
    this.logger = this.opts.logger || ((line) => process.stderr.write(line + '\n'));
    this.held = new Set();
    this.sockets = new Set();
    this.server = null;
    this.reset();
  }

  // Restore the state described by the constructor options ("CLI seeds").
  reset() {
    this.projects = new Map(); // id -> { current, previous }
    this.orgs = new Map(); // project id -> organization[]
    this.tokens = new Map(); // token -> { projects: Set<string>|null, source }
    this.faults = [];
    this.log = [];
    this.blobs = new Map();
    this.latencyMs = this.opts.latencyMs;
    this.faultSeq = 0;
    for (const t of this.opts.globalTokens) this.tokens.set(t, { projects: null, source: 'cli' });
    for (const seed of this.opts.projects) {
      this.putProject(seed, 'cli');
    }
  }

  putProject(spec, source) {
    const project = newProject(spec);
    this.projects.set(project.id, { current: project, previous: null });
    this.orgs.set(project.id, []);
    for (const t of spec.tokens || []) this.grantToken(t, project.id, source);
    return project;
  }

  grantToken(token, projectId, source) {
    const existing = this.tokens.get(token);
    if (projectId == null) {
      this.tokens.set(token, { projects: null, source });
      return;
    }
    if (existing && existing.projects === null) return;
    if (existing) existing.projects.add(projectId);
    else this.tokens.set(token, { projects: new Set([projectId]), source });
  }

  get url() {
    const addr = this.server?.address();
    if (!addr || typeof addr === 'string') return null;
    const host = addr.family === 'IPv6' || addr.address.includes(':') ? `[${addr.address}]` : addr.address;
    return `http://${host}:${addr.port}`;
  }

  get port() {
    return this.server?.address()?.port ?? null;
  }

  start() {
    this.server = http.createServer((req, res) => {
      this.handle(req, res).catch((e) => {
        this.logger(`[ory-emulator] internal error: ${e?.stack || e}`);
        if (!res.headersSent && !res.destroyed) this.send(res, 500, errorBody(500, randomUUID(), { reason: String(e?.message || e) }));
      });
    });
    this.server.on('connection', (socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
    this.server.on('clientError', (err, socket) => {
      if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n');
      else socket.destroy();
    });
    return new Promise((resolvePromise, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.opts.port, this.opts.host, () => {
        this.server.off('error', reject);
        resolvePromise(this);
      });
    });
  }

  stop() {
    if (!this.server) return Promise.resolve();
    const server = this.server;
    return new Promise((resolvePromise) => {
      server.close(() => resolvePromise());
      for (const s of this.held) s.destroy();
      this.held.clear();
      for (const s of this.sockets) s.destroy();
      server.closeAllConnections?.();
    });
  }

  send(res, status, body, headers = {}) {
    if (res.destroyed) return;
    const payload = body === undefined ? '' : JSON.stringify(body);
    const h = { ...headers };
    if (body !== undefined) {
      h['content-type'] = 'application/json; charset=utf-8';
    }
    h['content-length'] = Buffer.byteLength(payload);
    res.writeHead(status, h);
    res.end(payload);
  }

  // ------------------------------------------------------------ dispatch

  async handle(req, res) {
    const started = Date.now();
    const requestId = randomUUID();
    const url = new URL(req.url, 'http://emulator.invalid');
    const isAdmin = url.pathname === '/__emulator' || url.pathname.startsWith('/__emulator/');

    const body = await readBody(req, BODY_LIMIT);
    if (body.aborted) return;

    if (isAdmin) {
      if (body.tooLarge) {
        this.send(res, 413, errorBody(413, requestId, { reason: `request body exceeds ${BODY_LIMIT} bytes` }), { connection: 'close' });
        return;
      }
      await this.handleAdmin(req, res, url, body.text, requestId);
      return;
    }

    // ---- console API
    const auth = req.headers.authorization;
    const bearer = typeof auth === 'string' ? /^Bearer\s+(\S+)\s*$/i.exec(auth)?.[1] ?? null : null;
    const parsed = body.tooLarge ? { tooLarge: true } : parseJson(body.text);
    const entry = {
      id: requestId,
      time: new Date(started).toISOString(),
      method: req.method,
      path: url.pathname + url.search,
      token: maskToken(bearer),
      body: parsed.value !== undefined ? parsed.value : parsed.error ? { _unparseable: body.text.slice(0, 1024) } : parsed.tooLarge ? { _too_large: true } : null,
      status: null,
    };
    const finish = (status, payload, headers = {}, extra = {}) => {
      Object.assign(entry, { status, duration_ms: Date.now() - started }, extra);
      this.record(entry);
      if (status !== null) this.send(res, status, payload, { 'x-request-id': requestId, ...headers });
    };

    if (body.tooLarge) {
      finish(413, errorBody(413, requestId, { reason: `request body exceeds ${BODY_LIMIT} bytes` }), { connection: 'close' });
      return;
    }

    const route = this.route(req.method, url.pathname);
    const fault = this.takeFault(req.method, url.pathname, route);
    if (fault && fault.mode === 'reset') {
      Object.assign(entry, { fault: 'reset', duration_ms: Date.now() - started });
      this.record(entry);
      if (typeof req.socket.resetAndDestroy === 'function') req.socket.resetAndDestroy();
      else req.socket.destroy();
      return;
    }
    if (fault && fault.mode === 'timeout') {
      Object.assign(entry, { fault: 'timeout', duration_ms: null });
      this.record(entry);
      const socket = req.socket;
      this.held.add(socket);
      socket.on('close', () => this.held.delete(socket));
      return; // never answer
    }

    if (this.latencyMs > 0) await new Promise((r) => setTimeout(r, this.latencyMs));
    if (res.destroyed) return;

    if (fault && fault.mode === '5xx') {
      finish(fault.status, errorBody(fault.status, requestId, { reason: 'Injected by the Ory emulator (5xx fault)' }), {}, { fault: '5xx' });
      return;
    }
    if (fault && fault.mode === '429') {
      finish(429, errorBody(429, requestId, { reason: 'Injected by the Ory emulator (429 fault)' }), { 'retry-after': String(fault.retryAfter) }, { fault: '429' });
      return;
    }
    if (fault && fault.mode === '401') {
      finish(401, errorBody(401, requestId, { reason: 'Injected by the Ory emulator (401 fault)' }), {}, { fault: '401' });
      return;
    }

    try {
      const result = this.console(req, url, route, bearer, parsed, requestId, fault);
      finish(result.status, result.body, result.headers || {}, fault ? { fault: fault.mode } : {});
    } catch (e) {
      if (!(e instanceof HttpError)) throw e;
      const headers = e.code === 405 && route?.allow ? { allow: route.allow.join(', ') } : {};
      finish(e.code, errorBody(e.code, requestId, { message: e.msg, reason: e.reason, details: e.details }), headers);
    }
  }

  record(entry) {
    this.log.push(entry);
    if (this.log.length > LOG_LIMIT) this.log.splice(0, this.log.length - LOG_LIMIT);
    if (!this.opts.quiet) {
      const status = entry.status ?? entry.fault ?? '-';
      const fault = entry.fault ? ` fault=${entry.fault}` : '';
      this.logger(`[ory-emulator] ${entry.time} ${entry.method} ${entry.path} -> ${status}${fault} token=${entry.token ?? '-'}`);
    }
  }

  route(method, pathname) {
    const parts = pathname.split('/').slice(1);
    let segments;
    try {
      segments = parts.map((s) => decodeURIComponent(s));
    } catch {
      return null;
    }
    if (segments[0] !== 'projects' || segments.some((s) => s === '')) return null;
    if (segments.length === 2) return { kind: 'project', projectId: segments[1], allow: ['GET', 'PATCH'] };
    if (segments.length === 3 && segments[2] === 'organizations') return { kind: 'organizations', projectId: segments[1], allow: ['GET', 'POST'] };
    if (segments.length === 4 && segments[2] === 'organizations') return { kind: 'organization', projectId: segments[1], orgId: segments[3], allow: ['GET', 'PUT', 'DELETE'] };
    return null;
  }

  takeFault(method, pathname, route) {
    const idx = this.faults.findIndex((f) => {
      if (f.method && f.method.toUpperCase() !== method.toUpperCase()) return false;
      if (f.path && !pathname.includes(f.path)) return false;
      if (f.mode === 'stale' && !(route?.kind === 'project' && method === 'GET')) return false;
      return true;
    });
    if (idx < 0) return null;
    const fault = this.faults[idx];
    fault.hits += 1;
    if (fault.remaining !== null) {
      fault.remaining -= 1;
      if (fault.remaining <= 0) this.faults.splice(idx, 1);
    }
    return fault;
  }

  // ------------------------------------------------------------ console API

  console(req, url, route, bearer, parsed, requestId, fault) {
    if (!route) throw new HttpError(404, { reason: `No route matches ${req.method} ${url.pathname}` });
    if (!route.allow.includes(req.method)) throw new HttpError(405, { reason: `${req.method} is not supported here; allowed: ${route.allow.join(', ')}` });

    if (!bearer) throw new HttpError(401, { reason: 'The request does not carry a bearer token in the Authorization header' });
    const grant = this.tokens.get(bearer);
    if (!grant) throw new HttpError(401, { reason: 'The bearer token is unknown, expired or revoked' });

    const slot = this.projects.get(route.projectId);
    if (!slot || (grant.projects !== null && !grant.projects.has(route.projectId))) {
      throw new HttpError(404, { reason: `Project ${route.projectId} does not exist or is not accessible with this token` });
    }

    const needsBody = (req.method === 'PATCH' || req.method === 'POST' || req.method === 'PUT');
    if (needsBody && parsed.error) {
      throw new HttpError(400, { reason: `Unable to decode JSON body: ${parsed.error}` });
    }

    switch (route.kind) {
      case 'project':
        if (req.method === 'GET') {
          const snapshot = fault?.mode === 'stale' && slot.previous ? slot.previous : slot.current;
          return { status: 200, body: clone(snapshot) };
        }
        return this.patchProject(slot, parsed);
      case 'organizations':
        if (req.method === 'GET') return this.listOrganizations(route.projectId, url.searchParams);
        return this.createOrganization(route.projectId, parsed);
      case 'organization':
        if (req.method === 'GET') return { status: 200, body: { organization: clone(this.findOrg(route.projectId, route.orgId)) } };
        if (req.method === 'PUT') return this.updateOrganization(route.projectId, route.orgId, parsed);
        return this.deleteOrganization(route.projectId, route.orgId);
    }
    throw new HttpError(404);
  }

  patchProject(slot, parsed) {
    const patch = parsed.empty ? undefined : parsed.value;
    const badReq = (message) => new HttpError(400, { message, reason: 'An error occured when applying the JSON patch' });
    if (patch === undefined) throw badReq('the request body must be a JSON Patch document (an array of operations)');
    if (Array.isArray(patch)) {
      const denied = deniedPathIn(patch);
      if (denied !== null) throw badReq(`patch includes denied path: ${denied}`);
    }
    let candidate;
    try {
      candidate = applyJsonPatch(slot.current, patch, { allowedOps: this.opts.patchOps });
    } catch (e) {
      if (e instanceof PatchError) throw badReq(e.message);
      throw e;
    }
    if (!isObject(candidate)) throw badReq('the patched project is not an object');
    const errors = validateProject(candidate);
    if (errors.length) {
      throw new HttpError(400, {
        reason: `Unable to validate config: ${errors.join('; ')}`,
        details: { validation_errors: errors },
      });
    }
    const newBlobs = this.storeBase64Urls(candidate);
    for (const [k, v] of newBlobs) this.blobs.set(k, v);
    candidate.revision_id = randomUUID();
    slot.previous = slot.current;
    slot.current = candidate;
    return { status: 200, body: { project: clone(candidate), warnings: [] } };
  }

  // Ory Network uploads base64:// mappers and identity schemas to its storage
  // and returns the https:// storage URL instead (file name = SHA-512 of the
  // content). Mutates `project`; returns the blobs to remember.
  storeBase64Urls(project) {
    const blobs = new Map();
    if (this.opts.keepBase64Mappers) return blobs;
    const store = (value, ext) => {
      if (typeof value !== 'string' || !value.startsWith('base64://')) return value;
      const bytes = decodeBase64Url(value);
      if (bytes === null) return value;
      const storageUrl = `${GCS_PREFIX}${createHash('sha512').update(bytes).digest('hex')}.${ext}`;
      blobs.set(storageUrl, bytes.toString('utf8'));
      return storageUrl;
    };
    const cfg = project.services?.identity?.config;
    const providers = cfg?.selfservice?.methods?.oidc?.config?.providers;
    if (Array.isArray(providers)) {
      for (const p of providers) if (isObject(p) && hasOwn(p, 'mapper_url')) p.mapper_url = store(p.mapper_url, 'jsonnet');
    }
    const schemas = cfg?.identity?.schemas;
    if (Array.isArray(schemas)) {
      for (const s of schemas) if (isObject(s) && hasOwn(s, 'url')) s.url = store(s.url, 'json');
    }
    return blobs;
  }

  listOrganizations(projectId, params) {
    let pageSize = 250;
    if (params.has('page_size')) {
      const raw = params.get('page_size');
      if (!/^[0-9]+$/.test(raw) || Number(raw) < 1 || Number(raw) > 1000) {
        throw new HttpError(400, { reason: 'page_size must be an integer between 1 and 1000' });
      }
      pageSize = Number(raw);
    }
    let offset = 0;
    const token = params.get('page_token');
    if (token) {
      try {
        offset = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')).offset;
      } catch {
        offset = NaN;
      }
      if (!Number.isInteger(offset) || offset < 0) throw new HttpError(400, { reason: 'page_token is invalid' });
    }
    let all = this.orgs.get(projectId);
    const domain = params.get('domain');
    if (domain) all = all.filter((o) => o.domains.some((d) => d.toLowerCase() === domain.toLowerCase()));
    const page = all.slice(offset, offset + pageSize);
    const hasNext = offset + pageSize < all.length;
    return {
      status: 200,
      body: {
        organizations: clone(page),
        has_next_page: hasNext,
        next_page_token: hasNext ? Buffer.from(JSON.stringify({ offset: offset + pageSize })).toString('base64url') : '',
      },
    };
  }

  findOrg(projectId, orgId) {
    const org = this.orgs.get(projectId).find((o) => o.id === orgId);
    if (!org) throw new HttpError(404, { reason: `Organization ${orgId} does not exist in project ${projectId}` });
    return org;
  }

  checkOrgBody(projectId, body, { existing } = {}) {
    if (!isObject(body)) throw new HttpError(400, { reason: 'The request body must be a JSON object with "label" and "domains"' });
    // Unknown fields are ignored, as Go's encoding/json does by default.
    const label = hasOwn(body, 'label') ? body.label : existing?.label;
    if (typeof label !== 'string' || label.trim() === '') throw new HttpError(400, { reason: 'label must be a non-empty string' });
    const domains = hasOwn(body, 'domains') ? body.domains : existing ? existing.domains : [];
    if (!Array.isArray(domains)) throw new HttpError(400, { reason: 'domains must be an array of domain names' });
    const seen = new Set();
    for (const d of domains) {
      if (!isValidDomain(d)) throw new HttpError(400, { reason: `${JSON.stringify(d)} is not a valid domain name` });
      const key = d.toLowerCase();
      if (seen.has(key)) throw new HttpError(400, { reason: `domain "${d}" is listed more than once` });
      seen.add(key);
    }
    for (const other of this.orgs.get(projectId)) {
      if (existing && other.id === existing.id) continue;
      const clash = other.domains.find((d) => seen.has(d.toLowerCase()));
      if (clash) {
        throw new HttpError(409, { reason: `domain "${clash}" is already used by organization ${other.id}` });
      }
    }
    const out = { label, domains: [...domains] };
    if (hasOwn(body, 'default_region')) {
      if (typeof body.default_region !== 'string') throw new HttpError(400, { reason: 'default_region must be a string' });
      out.default_region = body.default_region;
    } else if (existing && hasOwn(existing, 'default_region')) out.default_region = existing.default_region;
    return out;
  }

  createOrganization(projectId, parsed) {
    const fields = this.checkOrgBody(projectId, parsed.empty ? undefined : parsed.value);
    const now = new Date().toISOString();
    const org = { id: randomUUID(), project_id: projectId, label: fields.label, domains: fields.domains, created_at: now, updated_at: now };
    if (fields.default_region !== undefined) org.default_region = fields.default_region;
    this.orgs.get(projectId).push(org);
    return { status: 201, body: clone(org) };
  }

  updateOrganization(projectId, orgId, parsed) {
    const org = this.findOrg(projectId, orgId);
    const fields = this.checkOrgBody(projectId, parsed.empty ? undefined : parsed.value, { existing: org });
    org.label = fields.label;
    org.domains = fields.domains;
    if (fields.default_region !== undefined) org.default_region = fields.default_region;
    org.updated_at = new Date().toISOString();
    return { status: 200, body: clone(org) };
  }

  deleteOrganization(projectId, orgId) {
    const list = this.orgs.get(projectId);
    const idx = list.findIndex((o) => o.id === orgId);
    if (idx < 0) throw new HttpError(404, { reason: `Organization ${orgId} does not exist in project ${projectId}` });
    list.splice(idx, 1);
    return { status: 204, body: undefined };
  }

  // ------------------------------------------------------------- admin API

  snapshot() {
    return {
      projects: [...this.projects.values()].map((s) => clone(s.current)),
      organizations: [...this.orgs.values()].flat().map(clone),
      tokens: [...this.tokens.entries()].map(([t, g]) => ({
        token: maskToken(t),
        project_ids: g.projects === null ? null : [...g.projects],
        source: g.source,
      })),
      faults: clone(this.faults),
      latency_ms: this.latencyMs,
      held_connections: this.held.size,
      blobs: Object.fromEntries(this.blobs),
      log: clone(this.log),
    };
  }

  async handleAdmin(req, res, url, text, requestId) {
    const parts = url.pathname.split('/').slice(2).map((s) => {
      try {
        return decodeURIComponent(s);
      } catch {
        return s;
      }
    });
    const [resource, arg] = parts;
    const method = req.method;
    const reply = (status, body) => this.send(res, status, body);
    const bad = (reason) => reply(400, errorBody(400, requestId, { reason }));
    const json = () => {
      const p = parseJson(text);
      if (p.error) {
        bad(`Unable to decode JSON body: ${p.error}`);
        return undefined;
      }
      return p.empty ? {} : p.value;
    };

    if (resource === 'health' && method === 'GET') return reply(200, { status: 'ok' });
    if (resource === 'state' && method === 'GET') return reply(200, this.snapshot());
    if (resource === 'reset' && method === 'POST') {
      this.reset();
      return reply(200, { status: 'reset' });
    }
    if (resource === 'log' && method === 'DELETE') {
      this.log = [];
      return reply(204);
    }
    if (resource === 'projects' && method === 'POST' && arg === undefined) {
      const body = json();
      if (body === undefined) return;
      if (!isObject(body)) return bad('body must be an object');
      for (const k of ['id', 'slug', 'name', 'environment', 'home_region']) {
        if (body[k] !== undefined && (typeof body[k] !== 'string' || body[k] === '')) return bad(`${k} must be a non-empty string`);
      }
      if (body.tokens !== undefined && (!Array.isArray(body.tokens) || !body.tokens.every((t) => typeof t === 'string' && t !== ''))) {
        return bad('tokens must be an array of non-empty strings');
      }
      if (body.identity_config !== undefined && !isObject(body.identity_config)) return bad('identity_config must be an object');
      const project = this.putProject(body, 'admin');
      return reply(201, { project: clone(project) });
    }
    if (resource === 'tokens' && method === 'POST' && arg === undefined) {
      const body = json();
      if (body === undefined) return;
      if (!isObject(body) || typeof body.token !== 'string' || body.token === '') return bad('body must be {"token": "...", "project_id"?: "..."}');
      if (body.project_id !== undefined && body.project_id !== null && typeof body.project_id !== 'string') return bad('project_id must be a string');
      this.grantToken(body.token, body.project_id ?? null, 'admin');
      const g = this.tokens.get(body.token);
      return reply(201, { token: maskToken(body.token), project_ids: g.projects === null ? null : [...g.projects] });
    }
    if (resource === 'tokens' && method === 'DELETE' && arg !== undefined) {
      if (!this.tokens.delete(arg)) return reply(404, errorBody(404, requestId, { reason: 'unknown token' }));
      return reply(204);
    }
    if (resource === 'faults' && method === 'GET') return reply(200, { faults: clone(this.faults) });
    if (resource === 'faults' && method === 'DELETE') {
      this.faults = [];
      return reply(204);
    }
    if (resource === 'faults' && method === 'POST') {
      const body = json();
      if (body === undefined) return;
      const modes = ['none', '5xx', '429', 'timeout', '401', 'reset', 'stale'];
      if (!isObject(body) || !modes.includes(String(body.mode))) return bad(`mode must be one of ${modes.join(', ')}`);
      const mode = String(body.mode);
      if (mode === 'none') {
        this.faults = [];
        return reply(200, { faults: [] });
      }
      if (body.count !== undefined && body.count !== null && !(Number.isInteger(body.count) && body.count > 0)) return bad('count must be a positive integer');
      const status = body.status ?? 503;
      if (mode === '5xx' && !(Number.isInteger(status) && status >= 500 && status <= 599)) return bad('status must be an integer in 500..599');
      const retryAfter = body.retryAfter ?? 1;
      if (mode === '429' && !(Number.isInteger(retryAfter) && retryAfter >= 0)) return bad('retryAfter must be a non-negative integer');
      if (body.path !== undefined && typeof body.path !== 'string') return bad('path must be a string');
      if (body.method !== undefined && typeof body.method !== 'string') return bad('method must be a string');
      const fault = {
        id: ++this.faultSeq,
        mode,
        remaining: body.count ?? null,
        hits: 0,
        ...(mode === '5xx' ? { status } : {}),
        ...(mode === '429' ? { retryAfter } : {}),
        ...(body.path ? { path: body.path } : {}),
        ...(body.method ? { method: body.method.toUpperCase() } : {}),
      };
      this.faults.push(fault);
      return reply(201, { fault: clone(fault) });
    }
    if (resource === 'latency' && method === 'POST') {
      const body = json();
      if (body === undefined) return;
      if (!isObject(body) || !Number.isInteger(body.ms) || body.ms < 0) return bad('body must be {"ms": <non-negative integer>}');
      this.latencyMs = body.ms;
      return reply(200, { latency_ms: this.latencyMs });
    }
    return reply(404, errorBody(404, requestId, { reason: `No emulator admin route for ${method} ${url.pathname}` }));
  }
}

// ------------------------------------------------------------------- CLI

const USAGE = `Usage: node ory-emulator.mjs [options]
  --port N                 port to listen on (0 = any free port; default 0)
  --host H                 address to bind (default 127.0.0.1)
  --project ID             seed a project (repeatable)
    --slug S               slug of the last --project
    --name N               name of the last --project
  --token T                bearer token; after --project it is valid for that
                           project, before any --project for every project
                           (repeatable)
  --latency-ms N           delay every console API answer by N ms
  --patch-ops LIST         comma-separated JSON-patch ops to accept
                           (default add,remove,replace,move,copy,test)
  --keep-base64-mappers    do not rewrite base64:// mapper/schema URLs to
                           storage URLs as Ory Network does
  --quiet                  no per-request log lines on stderr
  --help`;

export function parseArgs(argv) {
  const opts = { port: 0, host: '127.0.0.1', projects: [], globalTokens: [], latencyMs: 0, patchOps: ALL_PATCH_OPS, keepBase64Mappers: false, quiet: false };
  const args = [];
  for (const a of argv) {
    const m = /^(--[a-z0-9-]+)=(.*)$/s.exec(a);
    if (m) args.push(m[1], m[2]);
    else args.push(a);
  }
  let current = null;
  for (let i = 0; i < args.length; i++) {
    const flag = args[i];
    const value = () => {
      if (i + 1 >= args.length) throw new Error(`${flag} needs a value`);
      return args[++i];
    };
    const int = (v, name) => {
      if (!/^[0-9]+$/.test(v)) throw new Error(`${name} must be a non-negative integer`);
      return Number(v);
    };
    switch (flag) {
      case '--port': opts.port = int(value(), '--port'); break;
      case '--host': opts.host = value(); break;
      case '--project': current = { id: value(), tokens: [] }; opts.projects.push(current); break;
      case '--slug': if (!current) throw new Error('--slug must follow --project'); current.slug = value(); break;
      case '--name': if (!current) throw new Error('--name must follow --project'); current.name = value(); break;
      case '--token': { const t = value(); if (current) current.tokens.push(t); else opts.globalTokens.push(t); break; }
      case '--latency-ms': opts.latencyMs = int(value(), '--latency-ms'); break;
      case '--patch-ops': {
        const ops = value().split(',').map((s) => s.trim()).filter(Boolean);
        const bad = ops.filter((o) => !ALL_PATCH_OPS.includes(o));
        if (bad.length) throw new Error(`unknown JSON-patch op(s): ${bad.join(', ')}`);
        opts.patchOps = ops;
        break;
      }
      case '--keep-base64-mappers': opts.keepBase64Mappers = true; break;
      case '--quiet': opts.quiet = true; break;
      case '--help': case '-h': opts.help = true; break;
      default: throw new Error(`unknown argument: ${flag}`);
    }
  }
  return opts;
}

async function main() {
  let opts;
  try {
    opts = parseArgs(process.argv.slice(2));
  } catch (e) {
    process.stderr.write(`ory-emulator: ${e.message}\n${USAGE}\n`);
    process.exit(2);
  }
  if (opts.help) {
    process.stdout.write(USAGE + '\n');
    return;
  }
  const emulator = new OryEmulator(opts);
  await emulator.start();
  const port = emulator.port;
  const host = opts.host.includes(':') ? `[${opts.host}]` : opts.host;
  process.stdout.write(JSON.stringify({ event: 'listening', port, url: `http://${host}:${port}` }) + '\n');
  let stopping = false;
  const shutdown = (signal) => {
    if (stopping) return;
    stopping = true;
    if (!opts.quiet) process.stderr.write(`[ory-emulator] ${signal}: shutting down\n`);
    const force = setTimeout(() => process.exit(0), 2000);
    force.unref();
    emulator.stop().then(() => process.exit(0));
  };
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('SIGTERM', () => shutdown('SIGTERM'));
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((e) => {
    process.stderr.write(`ory-emulator: ${e?.stack || e}\n`);
    process.exit(1);
  });
}
