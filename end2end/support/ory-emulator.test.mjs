// Tests for the Ory console API emulator. Run with:
//   node --test end2end/support/ory-emulator.test.mjs
import { test, describe, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import http from 'node:http';

const EMULATOR = fileURLToPath(new URL('./ory-emulator.mjs', import.meta.url));

const P1 = 'a1b2c3d4-0000-4000-8000-000000000001';
const P2 = 'a1b2c3d4-0000-4000-8000-000000000002';
const TOKEN1 = 'ory_st_projectOneSessionTokenAAAA1111';
const TOKEN2 = 'ory_wak_projectTwoWorkspaceKeyBBBB2222';
const PROVIDERS = '/services/identity/config/selfservice/methods/oidc/config/providers';
const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const MAPPER = 'local claims = std.extVar("claims"); { identity: { traits: { email: claims.email } } }';
const MAPPER_URL = 'base64://' + Buffer.from(MAPPER).toString('base64');

/** Spawn the emulator; resolves once it printed its "listening" line. */
function spawnEmulator(args) {
  const child = spawn(process.execPath, [EMULATOR, '--port', '0', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (d) => { stderr += d; });
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`emulator did not start; stderr: ${stderr}`)); }, 10_000);
    const lines = createInterface({ input: child.stdout });
    const stdoutLines = [];
    lines.on('line', (line) => {
      stdoutLines.push(line);
      if (stdoutLines.length !== 1) return;
      clearTimeout(timer);
      const info = JSON.parse(line);
      resolve({
        child,
        info,
        line,
        url: info.url,
        stdoutLines,
        stderr: () => stderr,
        exited,
        async stop() {
          if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
          return exited;
        },
      });
    });
    child.once('exit', (code) => { clearTimeout(timer); reject(new Error(`emulator exited early (${code}): ${stderr}`)); });
  });
}

function provider(id, extra = {}) {
  return {
    id,
    provider: 'generic',
    label: `Provider ${id}`,
    client_id: `client-${id}`,
    client_secret: `secret-${id}`,
    issuer_url: 'https://idp.example.com/realms/acme',
    mapper_url: MAPPER_URL,
    scope: ['openid', 'email', 'profile'],
    ...extra,
  };
}

describe('Ory console API emulator', () => {
  let emu;
  const call = async (method, path, { token = TOKEN1, body, raw, headers = {}, signal } = {}) => {
    const h = { ...headers };
    if (token) h.authorization = `Bearer ${token}`;
    let payload;
    if (raw !== undefined) payload = raw;
    else if (body !== undefined) payload = JSON.stringify(body);
    if (payload !== undefined) h['content-type'] = 'application/json';
    const res = await fetch(emu.url + path, { method, headers: h, body: payload, signal });
    const text = await res.text();
    return { status: res.status, headers: res.headers, text, json: text ? JSON.parse(text) : undefined };
  };
  const admin = (method, path, body) => call(method, `/__emulator${path}`, { token: null, body });
  const getProviders = async (pid = P1, token = TOKEN1) => {
    const r = await call('GET', `/projects/${pid}`, { token });
    assert.equal(r.status, 200);
    return r.json.services.identity.config.selfservice.methods.oidc.config.providers;
  };
  const assertOryError = (r, code) => {
    assert.equal(r.status, code, r.text);
    assert.equal(r.json.error.code, code);
    assert.equal(typeof r.json.error.status, 'string');
    assert.equal(typeof r.json.error.message, 'string');
    assert.ok(r.json.error.message.length > 0);
  };

  before(async () => {
    emu = await spawnEmulator([
      '--project', P1, '--slug', 'project-one', '--name', 'Project One', '--token', TOKEN1,
      '--project', P2, '--slug', 'project-two', '--name', 'Project Two', '--token', TOKEN2,
    ]);
  });
  after(async () => {
    if (emu) await emu.stop();
  });
  beforeEach(async () => {
    const r = await admin('POST', '/reset');
    assert.equal(r.status, 200);
  });

  test('prints exactly one listening line and answers health', async () => {
    assert.match(emu.line, /^\{"event":"listening","port":\d+,"url":"http:\/\/127\.0\.0\.1:\d+"\}$/);
    assert.equal(emu.info.url, `http://127.0.0.1:${emu.info.port}`);
    assert.ok(emu.info.port > 0);
    const r = await admin('GET', '/health');
    assert.equal(r.status, 200);
    assert.equal(emu.stdoutLines.length, 1);
  });

  describe('auth', () => {
    test('missing token is 401 with an Ory error body', async () => {
      const r = await call('GET', `/projects/${P1}`, { token: null });
      assertOryError(r, 401);
      assert.equal(r.json.error.status, 'Unauthorized');
    });
    test('unknown token is 401', async () => {
      assertOryError(await call('GET', `/projects/${P1}`, { token: 'ory_st_nope' }), 401);
      assertOryError(await call('GET', `/projects/${P1}`, { headers: { authorization: 'Basic abc' }, token: null }), 401);
    });
    test('token of another project is 404, same as an unknown project', async () => {
      const other = await call('GET', `/projects/${P1}`, { token: TOKEN2 });
      assertOryError(other, 404);
      const unknown = await call('GET', '/projects/does-not-exist');
      assertOryError(unknown, 404);
      assert.equal(other.json.error.message, unknown.json.error.message);
      assertOryError(await call('GET', `/projects/${P1}/organizations`, { token: TOKEN2 }), 404);
    });
    test('revoked token is 401 afterwards', async () => {
      const t = 'ory_wak_temporaryKey9876';
      assert.equal((await admin('POST', '/tokens', { token: t, project_id: P1 })).status, 201);
      assert.equal((await call('GET', `/projects/${P1}`, { token: t })).status, 200);
      assert.equal((await call('GET', `/projects/${P2}`, { token: t })).status, 404);
      const del = await call('DELETE', `/__emulator/tokens/${encodeURIComponent(t)}`, { token: null });
      assert.equal(del.status, 204);
      assertOryError(await call('GET', `/projects/${P1}`, { token: t }), 401);
    });
  });

  test('GET project returns the full project with an empty OIDC provider list, the method off', async () => {
    const r = await call('GET', `/projects/${P1}`);
    assert.equal(r.status, 200);
    assert.match(r.headers.get('content-type'), /application\/json/);
    const p = r.json;
    assert.equal(p.id, P1);
    assert.equal(p.slug, 'project-one');
    assert.equal(p.name, 'Project One');
    assert.equal(p.state, 'running');
    assert.equal(p.environment, 'prod');
    assert.equal(typeof p.home_region, 'string');
    assert.match(p.revision_id, UUID_V4);
    const oidc = p.services.identity.config.selfservice.methods.oidc;
    assert.equal(oidc.enabled, false);
    assert.deepEqual(oidc.config.providers, []);
  });

  describe('PATCH /projects/{id}', () => {
    test('add with /- then guarded remove by index', async () => {
      let r = await call('PATCH', `/projects/${P1}`, { body: [
        { op: 'add', path: `${PROVIDERS}/-`, value: provider('acme') },
        { op: 'add', path: `${PROVIDERS}/-`, value: provider('globex', { organization_id: 'b0b0b0b0-0000-4000-8000-000000000000' }) },
      ] });
      assert.equal(r.status, 200, r.text);
      assert.deepEqual(Object.keys(r.json).sort(), ['project', 'warnings']);
      assert.deepEqual(r.json.warnings, []);
      const added = r.json.project.services.identity.config.selfservice.methods.oidc.config.providers;
      assert.deepEqual(added.map((p) => p.id), ['acme', 'globex']);
      // Ory Network stores base64 mappers and hands back a storage URL.
      const sha = createHash('sha512').update(MAPPER).digest('hex');
      assert.equal(added[0].mapper_url, `https://storage.googleapis.com/bac-gcs-production/${sha}.jsonnet`);
      assert.equal(added[1].organization_id, 'b0b0b0b0-0000-4000-8000-000000000000');
      assert.deepEqual(await getProviders(), added);

      r = await call('PATCH', `/projects/${P1}`, { body: [
        { op: 'test', path: `${PROVIDERS}/0/id`, value: 'acme' },
        { op: 'remove', path: `${PROVIDERS}/0` },
      ] });
      assert.equal(r.status, 200, r.text);
      assert.deepEqual((await getProviders()).map((p) => p.id), ['globex']);
    });

    test('a failing test op rejects the whole patch and changes nothing', async () => {
      await call('PATCH', `/projects/${P1}`, { body: [
        { op: 'add', path: `${PROVIDERS}/-`, value: provider('acme') },
        { op: 'add', path: `${PROVIDERS}/-`, value: provider('globex') },
      ] });
      const before = await call('GET', `/projects/${P1}`);
      const r = await call('PATCH', `/projects/${P1}`, { body: [
        { op: 'test', path: `${PROVIDERS}/0/id`, value: 'globex' },
        { op: 'remove', path: `${PROVIDERS}/0` },
      ] });
      assertOryError(r, 400);
      assert.match(r.json.error.message, /testing value .*providers\/0\/id failed: test failed/);
      assert.match(r.json.error.reason, /JSON patch/);
      const afterwards = await call('GET', `/projects/${P1}`);
      assert.deepEqual(afterwards.json, before.json);
    });

    test('all-or-nothing: a bad later op undoes earlier ops', async () => {
      const before = await call('GET', `/projects/${P1}`);
      const r = await call('PATCH', `/projects/${P1}`, { body: [
        { op: 'replace', path: '/name', value: 'Renamed' },
        { op: 'add', path: `${PROVIDERS}/-`, value: provider('acme') },
        { op: 'remove', path: '/services/identity/config/does/not/exist' },
      ] });
      assertOryError(r, 400);
      assert.deepEqual((await call('GET', `/projects/${P1}`)).json, before.json);
      const badIndex = await call('PATCH', `/projects/${P1}`, { body: [{ op: 'add', path: `${PROVIDERS}/5`, value: provider('x') }] });
      assertOryError(badIndex, 400);
    });

    test('replace, index insert, move, copy anywhere in the project', async () => {
      let r = await call('PATCH', `/projects/${P1}`, { body: [
        { op: 'replace', path: '/name', value: 'Renamed' },
        { op: 'add', path: `${PROVIDERS}/-`, value: provider('b') },
        { op: 'add', path: `${PROVIDERS}/0`, value: provider('a') },
        { op: 'copy', from: `${PROVIDERS}/0/scope`, path: `${PROVIDERS}/1/scope` },
        { op: 'add', path: '/services/identity/config/selfservice/allowed_return_urls/-', value: 'https://app.example.com' },
        { op: 'move', from: '/services/identity/config/selfservice/allowed_return_urls', path: '/services/identity/config/selfservice/moved_urls' },
        { op: 'test', path: '/services/identity/config/selfservice/moved_urls', value: ['https://app.example.com'] },
        { op: 'remove', path: '/services/identity/config/selfservice/moved_urls' },
      ] });
      assert.equal(r.status, 200, r.text);
      assert.equal(r.json.project.name, 'Renamed');
      assert.deepEqual((await getProviders()).map((p) => p.id), ['a', 'b']);
      r = await call('PATCH', `/projects/${P1}`, { body: [{ op: 'replace', path: '/id', value: 'other' }] });
      assertOryError(r, 400);
      assert.match(r.json.error.message, /denied path: \/id/);
    });

    test('revision_id changes on every successful patch', async () => {
      const before = (await call('GET', `/projects/${P1}`)).json.revision_id;
      const r = await call('PATCH', `/projects/${P1}`, { body: [{ op: 'replace', path: '/name', value: 'X' }] });
      assert.notEqual(r.json.project.revision_id, before);
    });

    test('provider entries are validated like Ory\'s config schema (400, nothing applied)', async () => {
      const before = await call('GET', `/projects/${P1}`);
      const cases = [
        [{ id: 'x', provider: 'generic', client_id: 'c', client_secret: 's', mapper_url: MAPPER_URL }, /missing properties: "issuer_url"/],
        [{ ...provider('x'), client_id: undefined }, /missing properties: "client_id"/],
        [{ ...provider('x'), mapper_url: 'not a url' }, /mapper_url.*not valid 'uri'/],
        [{ ...provider('x'), mapper_url: 'ftp://example.com/m.jsonnet' }, /unsupported mapper_url scheme/],
        [{ ...provider('x'), scope: 'openid email' }, /scope.*expected array/],
        [{ ...provider('x'), scope: ['openid', 7] }, /scope\/1.*expected string/],
        [{ ...provider('x'), provider: 'made-up' }, /provider.*value must be one of/],
        [{ ...provider('x'), surprise: true }, /additionalProperties "surprise" not allowed/],
        ['not an object', /expected object/],
      ];
      for (const [value, pattern] of cases) {
        const clean = typeof value === 'object' ? JSON.parse(JSON.stringify(value)) : value;
        const r = await call('PATCH', `/projects/${P1}`, { body: [{ op: 'add', path: `${PROVIDERS}/-`, value: clean }] });
        assertOryError(r, 400);
        assert.match(r.json.error.reason, /^Unable to validate config: /);
        assert.match(r.json.error.reason, pattern);
      }
      const dup = await call('PATCH', `/projects/${P1}`, { body: [
        { op: 'add', path: `${PROVIDERS}/-`, value: provider('same') },
        { op: 'add', path: `${PROVIDERS}/-`, value: provider('same') },
      ] });
      assertOryError(dup, 400);
      assert.match(dup.json.error.reason, /provider id "same" is already used/);
      const notArray = await call('PATCH', `/projects/${P1}`, { body: [{ op: 'replace', path: PROVIDERS, value: {} }] });
      assertOryError(notArray, 400);
      const emptyName = await call('PATCH', `/projects/${P1}`, { body: [{ op: 'replace', path: '/name', value: '' }] });
      assertOryError(emptyName, 400);
      assert.deepEqual((await call('GET', `/projects/${P1}`)).json, before.json);
      // Accepted variants: https and file mapper URLs, no scope at all.
      const ok = await call('PATCH', `/projects/${P1}`, { body: [
        { op: 'add', path: `${PROVIDERS}/-`, value: provider('h', { mapper_url: 'https://example.com/m.jsonnet' }) },
        { op: 'add', path: `${PROVIDERS}/-`, value: provider('f', { mapper_url: 'file:///etc/m.jsonnet', scope: undefined }) },
      ] });
      assert.equal(ok.status, 200, ok.text);
    });

    test('a patch body that is not a JSON-patch array is 400', async () => {
      assertOryError(await call('PATCH', `/projects/${P1}`, { body: { op: 'add' } }), 400);
      assertOryError(await call('PATCH', `/projects/${P1}`, { body: [{ op: 'frobnicate', path: '/name' }] }), 400);
      assertOryError(await call('PATCH', `/projects/${P1}`, { body: [{ op: 'add', path: '/name' }] }), 400);
    });
  });

  describe('organizations', () => {
    test('CRUD, list shape and pagination', async () => {
      const base = `/projects/${P1}/organizations`;
      let r = await call('GET', base);
      assert.equal(r.status, 200);
      assert.deepEqual(r.json, { organizations: [], has_next_page: false, next_page_token: '' });

      r = await call('POST', base, { body: { label: 'Acme', domains: ['acme.example', 'acme-corp.example'] } });
      assert.equal(r.status, 201, r.text);
      const acme = r.json;
      assert.match(acme.id, UUID_V4);
      assert.equal(acme.project_id, P1);
      assert.equal(acme.label, 'Acme');
      assert.deepEqual(acme.domains, ['acme.example', 'acme-corp.example']);
      assert.ok(!Number.isNaN(Date.parse(acme.created_at)));
      assert.equal(acme.created_at, new Date(acme.created_at).toISOString());
      assert.equal(acme.updated_at, acme.created_at);

      r = await call('GET', `${base}/${acme.id}`);
      assert.equal(r.status, 200);
      assert.deepEqual(r.json, { organization: acme });

      const globex = (await call('POST', base, { body: { label: 'Globex' } })).json;
      assert.deepEqual(globex.domains, []);

      r = await call('GET', base);
      assert.deepEqual(r.json.organizations.map((o) => o.id), [acme.id, globex.id]);
      r = await call('GET', `${base}?page_size=1`);
      assert.equal(r.json.organizations.length, 1);
      assert.equal(r.json.has_next_page, true);
      r = await call('GET', `${base}?page_size=1&page_token=${r.json.next_page_token}`);
      assert.deepEqual(r.json.organizations.map((o) => o.id), [globex.id]);
      assert.equal(r.json.has_next_page, false);
      r = await call('GET', `${base}?domain=ACME.example`);
      assert.deepEqual(r.json.organizations.map((o) => o.id), [acme.id]);

      await new Promise((res) => setTimeout(res, 5));
      r = await call('PUT', `${base}/${acme.id}`, { body: { label: 'Acme Inc', domains: ['acme.example'] } });
      assert.equal(r.status, 200, r.text);
      assert.equal(r.json.label, 'Acme Inc');
      assert.deepEqual(r.json.domains, ['acme.example']);
      assert.equal(r.json.created_at, acme.created_at);
      assert.ok(r.json.updated_at > acme.updated_at);

      // Organizations are scoped to their project.
      assertOryError(await call('GET', `/projects/${P2}/organizations/${acme.id}`, { token: TOKEN2 }), 404);

      r = await call('DELETE', `${base}/${acme.id}`);
      assert.equal(r.status, 204);
      assert.equal(r.text, '');
      assertOryError(await call('GET', `${base}/${acme.id}`), 404);
      assertOryError(await call('DELETE', `${base}/${acme.id}`), 404);
      assertOryError(await call('PUT', `${base}/${acme.id}`, { body: { label: 'x' } }), 404);
    });

    test('duplicate domains conflict within a project (409) but not across projects', async () => {
      const base = `/projects/${P1}/organizations`;
      const a = (await call('POST', base, { body: { label: 'A', domains: ['shared.example'] } })).json;
      const b = (await call('POST', base, { body: { label: 'B', domains: ['b.example'] } })).json;
      let r = await call('POST', base, { body: { label: 'C', domains: ['Shared.Example'] } });
      assertOryError(r, 409);
      assert.match(r.json.error.reason, /shared\.example/i);
      r = await call('PUT', `${base}/${b.id}`, { body: { label: 'B', domains: ['b.example', 'shared.example'] } });
      assertOryError(r, 409);
      r = await call('PUT', `${base}/${a.id}`, { body: { label: 'A2', domains: ['shared.example'] } });
      assert.equal(r.status, 200);
      r = await call('POST', `/projects/${P2}/organizations`, { token: TOKEN2, body: { label: 'Other', domains: ['shared.example'] } });
      assert.equal(r.status, 201);
      assert.equal((await call('GET', base)).json.organizations.length, 2);
    });

    test('label and domains are validated (400)', async () => {
      const base = `/projects/${P1}/organizations`;
      for (const body of [
        { label: '', domains: [] },
        { domains: ['a.example'] },
        { label: 'X', domains: 'a.example' },
        { label: 'X', domains: ['https://a.example'] },
        { label: 'X', domains: ['localhost'] },
        { label: 'X', domains: ['-bad.example'] },
        { label: 'X', domains: ['a.example', 'A.example'] },
        { label: 'X', domains: [42] },
        { label: '   ', domains: [] },
      ]) {
        assertOryError(await call('POST', base, { body }), 400);
      }
      assert.deepEqual((await call('GET', base)).json.organizations, []);
      // Unknown fields are ignored, as a Go JSON decoder would.
      const r = await call('POST', base, { body: { label: 'X', domains: ['x.example'], colour: 'blue' } });
      assert.equal(r.status, 201);
      assert.equal(r.json.colour, undefined);
    });
  });

  describe('faults', () => {
    test('5xx with a count, then normal service', async () => {
      let r = await admin('POST', '/faults', { mode: '5xx', status: 502, count: 2 });
      assert.equal(r.status, 201);
      assertOryError(await call('GET', `/projects/${P1}`), 502);
      assertOryError(await call('GET', `/projects/${P1}`), 502);
      assert.equal((await call('GET', `/projects/${P1}`)).status, 200);
      await admin('POST', '/faults', { mode: '5xx' });
      assertOryError(await call('GET', `/projects/${P1}`), 503);
      // The admin API is never faulted.
      assert.equal((await admin('GET', '/state')).status, 200);
      r = await admin('POST', '/faults', { mode: 'none' });
      assert.equal(r.status, 200);
      assert.equal((await call('GET', `/projects/${P1}`)).status, 200);
    });

    test('429 carries Retry-After', async () => {
      await admin('POST', '/faults', { mode: '429', retryAfter: 7, count: 1 });
      const r = await call('GET', `/projects/${P1}`);
      assertOryError(r, 429);
      assert.equal(r.headers.get('retry-after'), '7');
      assert.equal((await call('GET', `/projects/${P1}`)).status, 200);
    });

    test('401 fault rejects even a valid token', async () => {
      await admin('POST', '/faults', { mode: '401', count: 1 });
      assertOryError(await call('GET', `/projects/${P1}`), 401);
      assert.equal((await call('GET', `/projects/${P1}`)).status, 200);
    });

    test('timeout holds the request until the client gives up', async () => {
      await admin('POST', '/faults', { mode: 'timeout', count: 1 });
      const started = Date.now();
      await assert.rejects(call('GET', `/projects/${P1}`, { signal: AbortSignal.timeout(300) }), (e) => e.name === 'TimeoutError' || e.name === 'AbortError');
      assert.ok(Date.now() - started >= 250);
      assert.equal((await call('GET', `/projects/${P1}`)).status, 200);
      const state = (await admin('GET', '/state')).json;
      assert.ok(state.log.some((e) => e.fault === 'timeout' && e.status === null));
    });

    test('reset destroys the connection', async () => {
      await admin('POST', '/faults', { mode: 'reset', count: 1 });
      await assert.rejects(call('GET', `/projects/${P1}`));
      assert.equal((await call('GET', `/projects/${P1}`)).status, 200);
    });

    test('path and method filters', async () => {
      await admin('POST', '/faults', { mode: '5xx', path: '/organizations', method: 'POST' });
      assert.equal((await call('GET', `/projects/${P1}`)).status, 200);
      assert.equal((await call('GET', `/projects/${P1}/organizations`)).status, 200);
      assertOryError(await call('POST', `/projects/${P1}/organizations`, { body: { label: 'x' } }), 503);
      const faults = (await admin('GET', '/faults')).json.faults;
      assert.equal(faults.length, 1);
      assert.equal(faults[0].hits, 1);
      assert.equal((await admin('DELETE', '/faults')).status, 204);
      assert.equal((await call('POST', `/projects/${P1}/organizations`, { body: { label: 'x' } })).status, 201);
    });

    test('stale: GET answers the previous revision, like an eventually consistent read', async () => {
      const first = (await call('GET', `/projects/${P1}`)).json;
      await call('PATCH', `/projects/${P1}`, { body: [{ op: 'replace', path: '/name', value: 'Fresh' }] });
      await admin('POST', '/faults', { mode: 'stale', count: 1 });
      assert.equal((await call('GET', `/projects/${P1}`)).json.revision_id, first.revision_id);
      assert.equal((await call('GET', `/projects/${P1}`)).json.name, 'Fresh');
    });

    test('latency delays console answers', async () => {
      await admin('POST', '/latency', { ms: 150 });
      const started = Date.now();
      assert.equal((await call('GET', `/projects/${P1}`)).status, 200);
      assert.ok(Date.now() - started >= 140);
    });
  });

  test('robustness: malformed JSON, unknown routes, wrong method, body limit', async () => {
    let r = await call('PATCH', `/projects/${P1}`, { raw: '[{"op": "add",' });
    assertOryError(r, 400);
    r = await call('POST', `/projects/${P1}/organizations`, { raw: '{nope' });
    assertOryError(r, 400);
    assertOryError(await call('GET', '/nothing/here'), 404);
    assertOryError(await call('GET', `/projects/${P1}/unknown`), 404);
    r = await call('DELETE', `/projects/${P1}`);
    assertOryError(r, 405);
    assert.equal(r.headers.get('allow'), 'GET, PATCH');
    r = await call('PATCH', `/projects/${P1}`, { raw: JSON.stringify([{ op: 'add', path: '/x', value: 'y'.repeat(1024 * 1024) }]) });
    assertOryError(r, 413);
    assert.equal((await admin('POST', '/projects', 'not an object')).status, 400);
    assert.equal((await admin('GET', '/nope')).status, 404);
  });

  test('admin: create/replace projects, state, reset keeps CLI seeds', async () => {
    let r = await call('POST', '/__emulator/projects', { token: null, raw: '{bad' });
    assert.equal(r.status, 400);
    r = await admin('POST', '/projects', { id: 'p-new', slug: 'new', name: 'New', tokens: ['ory_st_newProjectToken0001'] });
    assert.equal(r.status, 201);
    assert.equal(r.json.project.slug, 'new');
    assert.equal((await call('GET', '/projects/p-new', { token: 'ory_st_newProjectToken0001' })).status, 200);
    await call('POST', `/projects/${P1}/organizations`, { body: { label: 'Org', domains: ['org.example'] } });
    const state = (await admin('GET', '/state')).json;
    assert.deepEqual(state.projects.map((p) => p.id).sort(), [P1, P2, 'p-new'].sort());
    assert.equal(state.organizations.length, 1);
    assert.ok(state.projects.every((p) => p.services.identity.config));

    r = await admin('POST', '/reset');
    assert.equal(r.status, 200);
    const after = (await admin('GET', '/state')).json;
    assert.deepEqual(after.projects.map((p) => p.id).sort(), [P1, P2].sort());
    assert.equal(after.organizations.length, 0);
    assert.equal(after.log.length, 0);
    assertOryError(await call('GET', '/projects/p-new', { token: 'ory_st_newProjectToken0001' }), 401);
    assert.equal((await call('GET', `/projects/${P1}`)).status, 200);
  });

  test('request log masks tokens and keeps JSON bodies', async () => {
    await call('GET', `/projects/${P1}`);
    await call('POST', `/projects/${P1}/organizations`, { body: { label: 'Logged', domains: ['log.example'] } });
    await call('GET', `/projects/${P1}`, { token: 'ory_st_wrongTokenZZZZ9999' });
    const state = await admin('GET', '/state');
    const log = state.json.log;
    assert.equal(log.length, 3);
    assert.deepEqual(log.map((e) => [e.method, e.path, e.status]), [
      ['GET', `/projects/${P1}`, 200],
      ['POST', `/projects/${P1}/organizations`, 201],
      ['GET', `/projects/${P1}`, 401],
    ]);
    assert.equal(log[0].token, '*'.repeat(TOKEN1.length - 4) + TOKEN1.slice(-4));
    assert.deepEqual(log[1].body, { label: 'Logged', domains: ['log.example'] });
    assert.ok(log.every((e) => !Number.isNaN(Date.parse(e.time))));
    for (const secret of [TOKEN1, TOKEN2, 'ory_st_wrongTokenZZZZ9999']) {
      assert.ok(!state.text.includes(secret), 'state leaks a token');
      assert.ok(!emu.stderr().includes(secret), 'stderr leaks a token');
    }
    assert.ok(emu.stderr().includes('1111'));
  });
});

test('shutdown destroys held (timeout) connections and exits promptly', async () => {
  const emu = await spawnEmulator(['--quiet', '--project', 'p', '--token', 'ory_st_shutdownToken42']);
  await fetch(`${emu.url}/__emulator/faults`, { method: 'POST', body: JSON.stringify({ mode: 'timeout' }) });
  // Use a raw http request so the client does not give up by itself.
  const outcome = new Promise((resolve) => {
    const req = http.get(`${emu.url}/projects/p`, { headers: { authorization: 'Bearer ory_st_shutdownToken42' }, agent: false }, (res) => resolve(`answered ${res.statusCode}`));
    req.on('error', (e) => resolve(`error ${e.code}`));
  });
  let held = 0;
  for (let i = 0; i < 100 && held !== 1; i++) {
    held = (await (await fetch(`${emu.url}/__emulator/state`)).json()).held_connections;
    if (held !== 1) await new Promise((r) => setTimeout(r, 20));
  }
  assert.equal(held, 1, 'the request was not held');
  const started = Date.now();
  const exit = await emu.stop();
  assert.ok(Date.now() - started < 1500, 'emulator took too long to exit');
  assert.equal(exit.code, 0);
  assert.match(await outcome, /^error /);
});

test('CLI: a --token before any --project is valid for every project; bad args exit 2', async () => {
  const emu = await spawnEmulator(['--quiet', '--token', 'ory_wak_workspaceWide0000', '--project', 'x', '--project', 'y', '--token', 'ory_st_onlyY1111']);
  try {
    const get = (p, t) => fetch(`${emu.url}/projects/${p}`, { headers: { authorization: `Bearer ${t}` } }).then((r) => r.status);
    assert.equal(await get('x', 'ory_wak_workspaceWide0000'), 200);
    assert.equal(await get('y', 'ory_wak_workspaceWide0000'), 200);
    assert.equal(await get('y', 'ory_st_onlyY1111'), 200);
    assert.equal(await get('x', 'ory_st_onlyY1111'), 404);
  } finally {
    await emu.stop();
  }
  const bad = spawn(process.execPath, [EMULATOR, '--frobnicate'], { stdio: 'ignore' });
  const code = await new Promise((resolve) => bad.once('exit', resolve));
  assert.equal(code, 2);
});

test('CLI: --patch-ops restricts JSON-patch ops; --keep-base64-mappers keeps base64 URLs', async () => {
  const emu = await spawnEmulator(['--quiet', '--patch-ops', 'add,remove,replace', '--keep-base64-mappers', '--project', 'p', '--token', 'ory_st_opsToken7777']);
  try {
    const patch = (ops) => fetch(`${emu.url}/projects/p`, {
      method: 'PATCH',
      headers: { authorization: 'Bearer ory_st_opsToken7777', 'content-type': 'application/json' },
      body: JSON.stringify(ops),
    }).then(async (r) => ({ status: r.status, json: await r.json() }));
    let r = await patch([{ op: 'test', path: '/name', value: 'Emulated project' }]);
    assert.equal(r.status, 400);
    assert.equal(r.json.error.message, 'unsupported operation: test');
    r = await patch([{ op: 'add', path: `${PROVIDERS}/-`, value: provider('k') }]);
    assert.equal(r.status, 200);
    assert.equal(r.json.project.services.identity.config.selfservice.methods.oidc.config.providers[0].mapper_url, MAPPER_URL);
  } finally {
    await emu.stop();
  }
});
