// Document 001's flow with a real third-party OpenID provider: node-oidc-provider (panva's
// certified provider, no code shared with this project) runs here on a loopback port, an
// administrator configures it as a trusted issuer through the admin API, a client gets a
// client-credentials token from it, and the API accepts it as `Authorization: Bearer`. Then
// every way such a token can be wrong, a key rotation at the provider, the provider going away,
// and the issuer being removed.
//
// Runs against the backend scripts/test.sh starts (E2E_API, E2E_APP), in REST mode and through
// the load balancer over two instances: each instance reads the provider's keys itself.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import * as jose from 'jose';

import { API, userTokens } from './oauth-client.mjs';
import { CLIENT, providerToken, rsaKey, freePort, startProvider } from './provider.mjs';

const RUN = Date.now().toString(36);
const AUDIENCE = `api://shop-e2e-${RUN}`;
/** What this project's API waits before reading an issuer's keys again for an unknown kid. */
const REFETCH_GAP_MS = 5_000;

let admin;
let trusted;
let untrusted;
const id = `idp-${RUN}`;

/** A token signed by this test with `key` (a private JWK), for checks the provider would never issue itself. */
async function forged(key, claims, header = {}) {
  const now = Math.floor(Date.now() / 1000);
  const alg = header.alg ?? key.alg;
  const payload = {
    iss: trusted.issuer,
    sub: CLIENT.client_id,
    aud: AUDIENCE,
    iat: now,
    exp: now + 300,
    client_id: CLIENT.client_id,
    scope: 'products:read',
    jti: `j-${Math.random()}`,
    ...claims,
  };
  return new jose.SignJWT(payload)
    .setProtectedHeader({ alg, kid: key.kid, typ: 'at+jwt', ...header })
    .sign(await jose.importJWK(key, alg));
}

function call(path, token, init = {}) {
  return fetch(`${API}${path}`, { ...init, headers: { ...init.headers, authorization: `Bearer ${token}` } });
}

/** The API's 401 for `token`, with its description (from the JSON body and the challenge). */
async function refusal(token) {
  const response = await call('/api/products', token);
  assert.equal(response.status, 401, 'the token is refused');
  const challenge = response.headers.get('www-authenticate') ?? '';
  assert.match(challenge, /^Bearer\b.*error="invalid_token"/);
  const body = await response.json();
  assert.equal(body.error, 'invalid_token');
  return body.error_description;
}

function asAdmin(path, init = {}) {
  return fetch(`${API}${path}`, {
    ...init,
    headers: { 'content-type': 'application/json', ...init.headers, authorization: `Bearer ${admin}` },
  });
}

function definition(changes = {}) {
  return {
    id,
    name: 'node-oidc-provider (e2e)',
    issuer: trusted.issuer,
    audience: AUDIENCE,
    algorithms: ['RS256'],
    scope_claim: 'scope',
    ...changes,
  };
}

async function putDefinition(changes) {
  const response = await asAdmin(`/admin/issuers/${id}`, { method: 'PUT', body: JSON.stringify(definition(changes)) });
  assert.equal(response.status, 200, await response.clone().text());
  return response.json();
}

before(async () => {
  ({ access_token: admin } = await userTokens({ scope: 'admin', username: 'admin', password: 'admin-password' }));
  trusted = await startProvider(await freePort(), [rsaKey('k1')], AUDIENCE);
  untrusted = await startProvider(await freePort(), [rsaKey('other')], AUDIENCE);
});

after(async () => {
  await trusted?.close();
  await untrusted?.close();
});

test('document 001: an OpenID provider configured as trusted, its client-credentials token accepted by the API', async () => {
  // Before it is trusted, its token is refused, naming the issuer seen and those trusted.
  const token = await providerToken(trusted);
  const before = await refusal(token);
  assert.match(before, new RegExp(`issued by "${trusted.issuer}", an issuer this API does not trust`));
  assert.ok(before.includes(new URL(API).origin), before);

  // Bad definitions are refused with what to fix, and nothing is stored.
  for (const [changes, expected] of [
    [{ issuer: 'http://idp.example.com' }, /https URL/],
    [{ issuer: `${trusted.issuer}?x=1` }, /no\s+query/],
    [{ algorithms: ['HS256'] }, /asymmetric only/],
    [{ algorithms: [] }, /at least one algorithm/],
    [{ audience: 'not a uri' }, /absolute URI/],
    [{ issuer: `http://127.0.0.1:${untrusted.port + 1}/nowhere` }, /could not be read/],
    [{ issuer: `${trusted.issuer}/` }, /must name exactly that issuer/],
    [{ required_claims: { aud: 'x' } }, /checked for every token already/],
    [{ issuer: API }, /this server's own issuer/],
  ]) {
    const response = await asAdmin('/admin/issuers', { method: 'POST', body: JSON.stringify(definition(changes)) });
    assert.equal(response.status, 422, JSON.stringify(changes));
    const body = await response.json();
    assert.equal(body.error, 'invalid_issuer');
    assert.match(body.error_description, expected);
  }
  const listed = await (await asAdmin('/admin/issuers')).json();
  assert.ok(!listed.some((i) => i.id === id), 'nothing was stored');

  const created = await asAdmin('/admin/issuers', { method: 'POST', body: JSON.stringify(definition()) });
  assert.equal(created.status, 201, await created.clone().text());
  const issuer = await created.json();
  assert.deepEqual(issuer.status.kids, ['k1'], 'its keys were read when it was added');
  assert.equal(issuer.status.jwks_uri, `${trusted.issuer}/jwks`);
  const again = await asAdmin('/admin/issuers', { method: 'POST', body: JSON.stringify(definition()) });
  assert.equal(again.status, 409);

  // The same token now calls the API.
  const products = await call('/api/products', token);
  assert.equal(products.status, 200);
  assert.ok((await products.json()).length > 0);
  const whoami = await (await call('/api/whoami', token)).json();
  assert.equal(whoami.issuer, trusted.issuer);
  assert.equal(whoami.client_id, CLIENT.client_id);
  assert.equal(whoami.subject_type, 'client');
  assert.deepEqual(whoami.scope.split(' '), ['products:read']);

  // Scopes work as for this server's tokens; the admin API and userinfo take this server's own only.
  const orders = await call('/api/orders', token);
  assert.equal(orders.status, 403);
  assert.match(orders.headers.get('www-authenticate') ?? '', /insufficient_scope/);
  assert.equal((await call('/admin/users', token)).status, 401);

  // RFC 9728: the API's metadata names the provider among the issuers of its tokens.
  const metadata = await (await fetch(`${API}/.well-known/oauth-protected-resource/api/products`)).json();
  assert.ok(metadata.authorization_servers.includes(trusted.issuer), JSON.stringify(metadata));
});

test('orders placed with an external token belong to its issuer\'s subject, never to a local user', async () => {
  const token = await providerToken(trusted, 'orders:read');
  const mine = await call('/api/orders', token);
  assert.equal(mine.status, 200);
  assert.deepEqual(await mine.json(), [], 'a new subject of the provider has no orders, whatever its sub');
});

test('tokens that name the trusted issuer but are wrong are refused with what was expected and found', async () => {
  const [k1] = trusted.keys;
  const now = Math.floor(Date.now() / 1000);
  assert.match(await refusal(await forged(k1, { aud: 'api://another' })), /another audience.*api:\/\/another/s);
  assert.match(await refusal(await forged(k1, { exp: now - 600 })), /expired/);
  assert.match(await refusal(await forged(k1, { nbf: now + 600 })), /not valid yet/);
  assert.match(await refusal(await forged(rsaKey('unknown'), {})), /kid "unknown".*does not publish/);
  // The key k1 but a forged signature: another key under the same kid.
  assert.match(await refusal(await forged(rsaKey('k1'), {})), /signature is invalid/);
  const ec = { ...generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'jwk' }), kid: 'k1', alg: 'ES256' };
  assert.match(await refusal(await forged(ec, {})), /signed with ES256, but this API accepts RS256/);
  // HMAC with the public key as secret (algorithm confusion) and alg none never pass.
  const hmac = await new jose.SignJWT({ sub: 'x' })
    .setProtectedHeader({ alg: 'HS256', kid: 'k1' })
    .setIssuer(trusted.issuer)
    .setAudience(AUDIENCE)
    .setExpirationTime('5m')
    .sign(new TextEncoder().encode(JSON.stringify({ kty: 'RSA', n: k1.n, e: k1.e })));
  assert.match(await refusal(hmac), /signed with HS256/);
  const none = `${jose.base64url.encode(JSON.stringify({ alg: 'none' }))}.${jose.base64url.encode(
    JSON.stringify({ iss: trusted.issuer, sub: 'x', aud: AUDIENCE, exp: now + 300 }),
  )}.`;
  assert.equal((await call('/api/products', none)).status, 401);
  assert.match(await refusal(await forged(k1, {}, { jku: 'http://127.0.0.1:1/keys' })), /names its own key/);

  // A token from a provider that is not trusted, though it is real and well-formed.
  const stranger = await refusal(await providerToken(untrusted));
  assert.match(stranger, new RegExp(`issued by "${untrusted.issuer}", an issuer this API does not trust`));
  assert.ok(stranger.includes(trusted.issuer), 'the refusal lists the trusted issuers');

  // Changes of the definition apply from the next request: an audience, a required claim.
  const token = await providerToken(trusted);
  await putDefinition({ audience: 'api://elsewhere' });
  assert.match(await refusal(token), /requires "api:\/\/elsewhere".*the token has aud/s);
  await putDefinition({ required_claims: { client_id: 'someone-else' } });
  assert.match(await refusal(token), /client_id claim must be "someone-else"/);
  await putDefinition({});
  assert.equal((await call('/api/products', token)).status, 200);

  // The refusals are in the security event log, per issuer.
  const events = await (await asAdmin('/admin/events?kind=external_token_refused&limit=50')).json();
  assert.ok(events.some((e) => e.detail.includes(id)), 'a refusal of its tokens was logged');
});

test('a key rotation at the provider: the API reads its keys again for the new kid, and keeps them when it stops', async () => {
  const old = await providerToken(trusted);
  await trusted.close();
  trusted = await startProvider(trusted.port, [rsaKey('k2')], AUDIENCE);
  const rotated = await providerToken(trusted);
  assert.equal(jose.decodeProtectedHeader(rotated).kid, 'k2');
  // The API reads an issuer's keys again at most once per few seconds for unknown kids.
  await new Promise((resolve) => setTimeout(resolve, REFETCH_GAP_MS + 500));
  // Twice per instance behind the load balancer: each reads the new key set itself.
  for (let i = 0; i < 4; i++) assert.equal((await call('/api/products', rotated)).status, 200, `call ${i}`);
  assert.match(await refusal(old), /kid "k1".*does not publish/s);

  // The provider stops, and a token with a kid nobody has makes each instance try to read the
  // keys again, and fail: the keys already read stay in use.
  await trusted.close();
  await new Promise((resolve) => setTimeout(resolve, REFETCH_GAP_MS + 500));
  for (let i = 0; i < 4; i++) assert.match(await refusal(await forged(rsaKey('k3'), {})), /kid "k3".*does not publish/s);
  const [status] = (await (await asAdmin('/admin/issuers')).json()).filter((i) => i.id === id).map((i) => i.status);
  assert.ok(status.last_error, `reading the keys of a stopped provider failed: ${JSON.stringify(status)}`);
  assert.deepEqual(status.kids, ['k2'], 'the keys read before it stopped are kept');
  for (let i = 0; i < 4; i++) assert.equal((await call('/api/products', rotated)).status, 200, `call ${i} after it stopped`);

  // Removed: refused at once, everywhere.
  assert.equal((await asAdmin(`/admin/issuers/${id}`, { method: 'DELETE' })).status, 204);
  for (let i = 0; i < 2; i++) assert.match(await refusal(rotated), /does not trust/);
  assert.equal((await asAdmin(`/admin/issuers/${id}`, { method: 'DELETE' })).status, 404);
  trusted = undefined;
});
