// The admin console through its real UI, in headless Debian Chromium driven by playwright-core,
// checked from outside with plain HTTP (Node's fetch, what curl would send):
// - an administrator steps up to the `admin` scope, creates a custom scope and an "API services"
//   client allowed it, reads the secret shown once, and the client gets a token with the client
//   credentials grant that /api/whoami accepts; rotating the secret in the console makes the old
//   one fail at /token;
// - a browser app and an authorization server set to take pushed authorization requests only
//   (RFC 9126) in the console refuse plain authorization requests and take pushed ones
//   (oauth4webapi pushes), until switched off again;
// - an API service set to DPoP-bound tokens only (RFC 9449) in the console is refused a token
//   without a proof, and gets a bound one with proofs oauth4webapi signs;
// - an API service registered in the console with its public key (private_key_jwt) gets a
//   token with an assertion oauth4webapi signs, and no secret is ever shown;
// - an API token for user0 created in the console works as `Authorization: Token …` within its
//   scopes, and stops working once revoked in the console;
// - a second API: an authorization server, a scope, an access policy and a custom claim made in
//   the console; the console's token preview names the rule that decides, and an independent
//   client (oauth4webapi) discovers the server, gets the token the preview described, and jose
//   verifies it (EdDSA);
// - a trusted issuer (node-oidc-provider) added in the console, its keys shown, its token
//   accepted by the API, its keys read again, removed;
// - user0 (not an administrator) gets no console, and the admin API refuses their token; user0
//   reads why on the app's Refusals page, and the administrator finds the same refusal in the
//   console's event log by its request id;
// - the three bundles (shared/src/bundle.rs): the first page loads the app's wasm alone, the
//   inspector's and the console's load when one of their pages is opened, and within a bundle
//   the router moves without loading anything.
//
// Needs E2E_API and E2E_APP (scripts/test.sh starts the backend with --demo and sets both) and
// Chromium at /usr/bin/chromium (or CHROMIUM).

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import * as jose from 'jose';
import * as oauth from 'oauth4webapi';
import { freePort, providerToken, rsaKey, startProvider } from './provider.mjs';
import {
  API,
  APP,
  TIMEOUT,
  eventually,
  forMode,
  launchChromium,
  logInOnServerPage,
  reloadUntil,
  reportPageErrors,
  screenshot,
  withScreenshot,
} from './support.mjs';

const { test, before, after } = forMode('rest');

/** A suffix that keeps this run's names apart from any earlier run's on the same database. */
const RUN = randomBytes(4).toString('hex');

/** @type {import('playwright-core').Browser} */
let browser;
/** The administrator's tab, logged in by the first test that needs it. */
/** @type {import('playwright-core').Page | undefined} */
let adminPage;
let metadata;

before(async () => {
  metadata = await (await fetch(`${API}/.well-known/oauth-authorization-server`)).json();
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
});

async function newTab() {
  const context = await browser.newContext();
  context.setDefaultTimeout(TIMEOUT);
  const page = await context.newPage();
  // Refusals the tests provoke on purpose (a duplicate scope) are not worth a line.
  reportPageErrors(page, /status of 409/);
  return page;
}

/** The access token the app keeps in its cookie, and its claims. */
async function accessToken(page) {
  const cookie = (await page.context().cookies(APP)).find((c) => c.name === 'access_token');
  assert.ok(cookie?.value, 'the access_token cookie is set');
  const claims = JSON.parse(Buffer.from(cookie.value.split('.')[1], 'base64url').toString());
  return { token: cookie.value, scopes: claims.scope.split(' '), claims };
}

/** Opens /admin and steps up: a login that asks for the `admin` scope and returns to /admin. */
async function stepUp(page, username, password) {
  await page.goto(`${APP}/admin`);
  await page.getByRole('heading', { name: 'The console needs the admin scope' }).waitFor();
  const authorize = page.waitForRequest((r) => r.url().startsWith(metadata.authorization_endpoint));
  await page.getByRole('button', { name: 'Sign in as administrator' }).click();
  const scope = new URL((await authorize).url()).searchParams.get('scope').split(' ');
  assert.ok(scope.includes('admin'), `the step-up login asks for admin (${scope})`);
  assert.ok(scope.includes('products:read'), 'and for the app’s usual scopes');
  await logInOnServerPage(page, username, password);
  await page.waitForURL((url) => url.pathname === '/admin');
}

async function adminTab() {
  if (adminPage) return adminPage;
  const page = await newTab();
  await withScreenshot('admin-step-up', page, async () => {
    await stepUp(page, 'admin', 'admin-password');
    await page.getByRole('navigation', { name: 'Admin sections' }).waitFor();
    assert.ok((await accessToken(page)).scopes.includes('admin'), 'the token now carries admin');
    await page.getByRole('link', { name: 'Admin', exact: true }).waitFor();
  });
  adminPage = page;
  return page;
}

async function openSection(page, name) {
  await page.getByRole('navigation', { name: 'Admin sections' }).getByRole('link', { name, exact: true }).click();
  await page.getByRole('heading', { level: 2 }).first().waitFor();
}

/** The secret box's value, which must be the only one on the page. */
async function shownSecret(page) {
  const value = page.getByTestId('secret-value');
  await value.waitFor();
  assert.equal(await value.count(), 1, 'one secret on the page');
  return (await value.innerText()).trim();
}

async function clientCredentials(clientId, secret, scope) {
  return fetch(metadata.token_endpoint, {
    method: 'POST',
    headers: { Authorization: `Basic ${Buffer.from(`${clientId}:${secret}`).toString('base64')}` },
    body: new URLSearchParams({ grant_type: 'client_credentials', scope }),
  });
}

test('an API services client created in the console gets tokens with the secret shown once', async () => {
  const page = await adminTab();
  const scopeName = `AccessAll-${RUN}`;
  const clientId = `svc-${RUN}`;
  await withScreenshot('admin-service-client', page, async () => {
    // A custom scope (source document 003's AccessAll), checked in the browser first.
    await openSection(page, 'Scopes');
    const scopeForm = page.getByRole('form', { name: 'New scope' });
    await scopeForm.getByLabel('Scope name').fill('two words');
    await scopeForm.getByLabel('Description').fill('Everything the API offers');
    await scopeForm.getByRole('button', { name: 'Create scope' }).click();
    await assertAlert(scopeForm, /one word/);
    await scopeForm.getByLabel('Scope name').fill(scopeName);
    await scopeForm.getByRole('button', { name: 'Create scope' }).click();
    await page.getByTestId(`scope-${scopeName}`).waitFor();
    // The same name again: the server refuses, and the form says why in its words.
    await scopeForm.getByLabel('Scope name').fill(scopeName);
    await scopeForm.getByLabel('Description').fill('Everything the API offers');
    const refused = page.waitForResponse((r) => r.url() === `${API}/admin/scopes` && r.request().method() === 'POST');
    await scopeForm.getByRole('button', { name: 'Create scope' }).click();
    const refusal = await refused;
    assert.ok(refusal.status() >= 400 && refusal.status() < 500, `a duplicate scope is refused (${refusal.status()})`);
    const description = (await refusal.json()).error_description;
    if (description) await assertAlert(scopeForm, description);

    // An "API services" client allowed it and products:read.
    await openSection(page, 'Clients');
    await page.getByRole('button', { name: 'New API service' }).click();
    const form = page.getByRole('form', { name: 'New API service' });
    await form.getByLabel('Name', { exact: true }).fill(`E2E service ${RUN}`);
    await form.getByLabel('Client id (optional)').fill(clientId);
    await form.getByLabel(scopeName, { exact: true }).check();
    await form.getByLabel('products:read', { exact: true }).check();
    await form.getByRole('button', { name: 'Create API service' }).click();
    const secret = await shownSecret(page);
    assert.match(secret, /^\S{20,}$/, 'a long secret');
    assert.equal((await page.getByTestId('secret-client-id').innerText()).trim(), clientId);
    await page.getByTestId(`client-${clientId}`).waitFor();

    // curl-equivalent: client credentials with HTTP Basic, then the API.
    const tokenResponse = await clientCredentials(clientId, secret, `${scopeName} products:read`);
    assert.equal(tokenResponse.status, 200, 'the token endpoint accepts the new client');
    const issued = await tokenResponse.json();
    assert.ok(issued.scope.split(' ').includes(scopeName), `the token has ${scopeName} (${issued.scope})`);
    const whoami = await fetch(`${API}/api/whoami`, { headers: { Authorization: `Bearer ${issued.access_token}` } });
    assert.equal(whoami.status, 200);
    const me = await whoami.json();
    assert.equal(me.subject_type, 'client');
    assert.equal(me.client_id, clientId);
    assert.ok(me.scope.split(' ').includes(scopeName), `whoami says ${scopeName} (${me.scope})`);
    assert.ok(me.scope.split(' ').includes('products:read'));

    // Dismissed, the secret is gone from the page.
    await page.getByRole('button', { name: 'Done, hide it' }).click();
    assert.equal(await page.getByTestId('secret-value').count(), 0, 'no secret box after dismissing');
    assert.ok(!(await page.content()).includes(secret), 'the secret is nowhere on the page');

    // Rotating needs a confirmation, shows the new secret once, and the old one stops working.
    const row = page.getByTestId(`client-${clientId}`);
    await row.getByRole('button', { name: 'Rotate secret' }).click();
    await row.getByRole('button', { name: 'Confirm rotate secret' }).click();
    const rotated = await shownSecret(page);
    assert.notEqual(rotated, secret, 'a new secret');
    // With several instances, one that still holds the client from before the rotation takes
    // the old secret until it reads the client again: within REVOCATION_SYNC_MS (README,
    // "Several instances"); with one instance, at once.
    let old;
    for (let tries = 0; ; tries += 1) {
      old = await clientCredentials(clientId, secret, 'products:read');
      if (old.status !== 200 || tries >= 30) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    assert.equal(old.status, 401, 'the old secret is refused');
    assert.equal((await old.json()).error, 'invalid_client');
    const fresh = await clientCredentials(clientId, rotated, scopeName);
    assert.equal(fresh.status, 200, 'the new secret works');

    // Leaving the section drops it too.
    await openSection(page, 'Scopes');
    await openSection(page, 'Clients');
    await page.getByTestId(`client-${clientId}`).waitFor();
    assert.equal(await page.getByTestId('secret-value').count(), 0, 'no secret box after coming back');
    assert.ok(!(await page.content()).includes(rotated), 'the rotated secret is nowhere on the page');
    const stored = await page.evaluate(() => JSON.stringify({ ...localStorage }) + JSON.stringify({ ...sessionStorage }));
    assert.ok(!stored.includes(rotated) && !stored.includes(secret), 'no secret in web storage');
  });
});

/** A plain authorization request for `clientId` at `authorizationEndpoint`, as a browser sends it. */
async function plainAuthorization(authorizationEndpoint, clientId) {
  const url = new URL(authorizationEndpoint);
  url.search = new URLSearchParams({
    response_type: 'code',
    client_id: clientId,
    redirect_uri: `${APP}/callback`,
    scope: 'openid',
    state: 's',
    code_challenge: await oauth.calculatePKCECodeChallenge(oauth.generateRandomCodeVerifier()),
    code_challenge_method: 'S256',
  }).toString();
  return fetch(url, { redirect: 'manual' });
}

/** Asserts `response` sends the client back with invalid_request naming the PAR endpoint. */
function assertPushRequired(response, parEndpoint) {
  assert.equal(response.status, 303);
  const location = new URL(response.headers.get('location'));
  assert.equal(location.searchParams.get('error'), 'invalid_request');
  assert.ok(location.searchParams.get('error_description').includes(parEndpoint), location.href);
}

/**
 * Runs `check` (which asserts) until it passes: behind the load balancer, a change made at one
 * instance reaches the other within REVOCATION_SYNC_MS (README, "Several instances"). When it
 * never does, the last try's own assertion says why.
 */
async function settled(what, check) {
  const passes = async () => {
    try {
      await check();
      return true;
    } catch {
      return false;
    }
  };
  try {
    await eventually(what, passes);
  } catch {
    await check();
  }
}

test('pushed requests only (RFC 9126), set in the console for a browser app and for a server', async () => {
  const page = await adminTab();
  const clientId = `par-${RUN}`;
  const serverId = `pushy-${RUN}`;
  await withScreenshot('admin-pushed-requests', page, async () => {
    await openSection(page, 'Clients');
    await page.getByRole('button', { name: 'New browser app' }).click();
    const form = page.getByRole('form', { name: 'New browser app' });
    await form.getByLabel('Name', { exact: true }).fill(`PAR app ${RUN}`);
    await form.getByLabel('Client id (optional)').fill(clientId);
    await form.getByLabel('Redirect URIs (one per line)').fill(`${APP}/callback`);
    await form.getByLabel('openid', { exact: true }).check();
    await form.getByLabel(/^Pushed requests only/).check();
    // Its logout settings (OpenID Connect RP-Initiated and Back-Channel Logout).
    await form.getByLabel(/^Post-logout URIs/).fill(`${APP}/`);
    await form.getByLabel(/^Back-channel logout URI/).fill('https://rp.example/backchannel-logout');
    await form.getByRole('button', { name: 'Create browser app' }).click();
    const row = page.getByTestId(`client-${clientId}`);
    await row.getByText('Pushed requests only (PAR)').waitFor();
    await row.getByText('https://rp.example/backchannel-logout').waitFor();

    // Through the browser: refused, back at the redirect URI, naming the endpoint to use.
    assertPushRequired(await plainAuthorization(metadata.authorization_endpoint, clientId), `${API}/par`);
    // Pushed by an independent client library: the login page.
    const as = { issuer: metadata.issuer, ...metadata };
    const client = { client_id: clientId };
    const request = new URLSearchParams({
      response_type: 'code',
      redirect_uri: `${APP}/callback`,
      scope: 'openid',
      code_challenge: await oauth.calculatePKCECodeChallenge(oauth.generateRandomCodeVerifier()),
      code_challenge_method: 'S256',
    });
    const pushed = await oauth.processPushedAuthorizationResponse(
      as,
      client,
      await oauth.pushedAuthorizationRequest(as, client, oauth.None(), request, { [oauth.allowInsecureRequests]: true }),
    );
    const opened = new URL(metadata.authorization_endpoint);
    opened.search = new URLSearchParams({ client_id: clientId, request_uri: pushed.request_uri }).toString();
    assert.equal((await fetch(opened, { redirect: 'manual' })).status, 200, 'the pushed request opens the login page');

    // Edited off: plain requests start a login again.
    await row.getByRole('button', { name: 'Edit' }).click();
    const editor = page.getByRole('form', { name: `Edit ${clientId}` });
    await editor.getByLabel(/^Pushed requests only/).uncheck();
    await editor.getByRole('button', { name: 'Save changes' }).click();
    await page.getByText(`Saved the client ${clientId}.`).waitFor();
    await settled('plain requests start a login again', async () =>
      assert.equal((await plainAuthorization(metadata.authorization_endpoint, clientId)).status, 200),
    );

    // A server created with the setting: its metadata says so, and it refuses plain requests.
    await openSection(page, 'Authorization servers');
    const serverForm = page.getByRole('form', { name: 'New authorization server' });
    await serverForm.getByLabel('Id').fill(serverId);
    await serverForm.getByLabel('Name').fill('Pushy');
    await serverForm.getByLabel('Audience', { exact: true }).fill(`api://pushy-${RUN}`);
    await serverForm.getByLabel(/^Pushed requests only/).check();
    await serverForm.getByRole('button', { name: 'Create server' }).click();
    const serverRow = page.getByTestId(`server-${serverId}`);
    await serverRow.getByText('Pushed requests only (PAR)').waitFor();
    const issuer = `${API}/oauth2/${serverId}`;
    const serverMetadata = async () => (await fetch(`${issuer}/.well-known/oauth-authorization-server`)).json();
    await settled('every instance serves the new server, requiring PAR', async () => {
      const described = await serverMetadata();
      assert.equal(described.require_pushed_authorization_requests, true);
      assert.equal(described.pushed_authorization_request_endpoint, `${issuer}/v1/par`);
      assertPushRequired(await plainAuthorization(described.authorization_endpoint, 'demo-spa'), `${issuer}/v1/par`);
    });

    // Switched off from its row.
    await serverRow.getByRole('button', { name: `Allow plain requests at ${serverId}` }).click();
    await page.getByText(`The authorization server ${serverId} takes authorization requests through the browser again.`).waitFor();
    await settled('every instance takes plain requests at the server again', async () => {
      const described = await serverMetadata();
      assert.equal(described.require_pushed_authorization_requests, false);
      assert.equal((await plainAuthorization(described.authorization_endpoint, 'demo-spa')).status, 200);
    });
    await page.getByTestId(`server-${serverId}`).getByRole('button', { name: `Require PAR at ${serverId}` }).waitFor();
  });
});

test('DPoP-bound tokens only (RFC 9449), set in the console for an API service: without a proof it is refused, with oauth4webapi its token is bound', async () => {
  const page = await adminTab();
  const clientId = `dpop-${RUN}`;
  await withScreenshot('admin-dpop-service', page, async () => {
    await openSection(page, 'Clients');
    await page.getByRole('button', { name: 'New API service' }).click();
    const form = page.getByRole('form', { name: 'New API service' });
    await form.getByLabel('Name', { exact: true }).fill(`DPoP service ${RUN}`);
    await form.getByLabel('Client id (optional)').fill(clientId);
    await form.getByLabel('products:read', { exact: true }).check();
    await form.getByLabel(/^DPoP-bound tokens only/).check();
    await form.getByRole('button', { name: 'Create API service' }).click();
    const secret = await shownSecret(page);
    await page.getByRole('button', { name: 'Done, hide it' }).click();
    await page.getByTestId(`client-${clientId}`).getByText('DPoP-bound tokens only').waitFor();

    // A token request without a proof: refused, naming the setting.
    const plain = await clientCredentials(clientId, secret, 'products:read');
    assert.equal(plain.status, 400);
    const refusal = await plain.json();
    assert.equal(refusal.error, 'invalid_dpop_proof');
    assert.match(refusal.error_description, /dpop_bound_access_tokens/);
    // With a key (oauth4webapi signs the proofs): a bound token.
    const as = { issuer: metadata.issuer, ...metadata };
    const client = { client_id: clientId };
    const DPoP = oauth.DPoP(client, await oauth.generateKeyPair('ES256'));
    const ask = async () =>
      oauth.processClientCredentialsResponse(
        as,
        client,
        await oauth.clientCredentialsGrantRequest(
          as,
          client,
          oauth.ClientSecretBasic(secret),
          new URLSearchParams({ scope: 'products:read' }),
          { [oauth.allowInsecureRequests]: true, DPoP },
        ),
      );
    // Where nonces are required (the run through the load balancer), the first answer asks for one.
    const tokens = await ask().catch((e) => {
      if (oauth.isDPoPNonceError(e)) return ask();
      throw e;
    });
    assert.equal(tokens.token_type, 'dpop');
  });
});

test('an API service registered in the console with a private key (private_key_jwt) gets tokens without any secret', async () => {
  const page = await adminTab();
  const clientId = `signer-${RUN}`;
  const kid = `console-${RUN}`;
  const { publicKey, privateKey } = await jose.generateKeyPair('ES256', { extractable: true });
  const jwks = { keys: [{ ...(await jose.exportJWK(publicKey)), kid, alg: 'ES256', use: 'sig' }] };
  await withScreenshot('admin-private-key-jwt', page, async () => {
    await openSection(page, 'Clients');
    await page.getByRole('button', { name: 'New API service' }).click();
    const form = page.getByRole('form', { name: 'New API service' });
    await form.getByLabel('Name', { exact: true }).fill(`Signer ${RUN}`);
    await form.getByLabel('Client id (optional)').fill(clientId);
    await form.getByLabel('products:read', { exact: true }).check();
    await form.getByLabel(/^Authenticate with a private key/).check();
    // Checked in the browser first: a private key pasted by mistake never leaves the page.
    const jwk = await jose.exportJWK(privateKey);
    await form.getByLabel(/JWK Set itself/).fill(JSON.stringify({ keys: [jwk] }));
    await form.getByRole('button', { name: 'Create API service' }).click();
    await assertAlert(form, /private or secret key/);
    await form.getByLabel(/JWK Set itself/).fill(JSON.stringify(jwks));
    await form.getByRole('button', { name: 'Create API service' }).click();
    const row = page.getByTestId(`client-${clientId}`);
    await row.getByText('API service (confidential, private_key_jwt)').waitFor();
    await row.getByText('1 registered key(s)').waitFor();
    assert.equal(await page.getByTestId('secret-value').count(), 0, 'no secret is shown: there is none');

    // An independent client library signs its assertion; the token is the service's.
    const as = { ...metadata };
    const client = { client_id: clientId };
    const tokens = await oauth.processClientCredentialsResponse(
      as,
      client,
      await oauth.clientCredentialsGrantRequest(
        as,
        client,
        oauth.PrivateKeyJwt({ key: privateKey, kid }),
        new URLSearchParams({ scope: 'products:read' }),
        { [oauth.allowInsecureRequests]: true },
      ),
    );
    const whoami = await fetch(`${API}/api/whoami`, { headers: { Authorization: `Bearer ${tokens.access_token}` } });
    assert.equal((await whoami.json()).client_id, clientId);
  });
});

test('a device app created in the console starts the device grant (RFC 8628), and its user sees it named on the verification page', async () => {
  const page = await adminTab();
  const clientId = `tv-${RUN}`;
  const name = `Living room TV ${RUN}`;
  await withScreenshot('admin-device-app', page, async () => {
    await openSection(page, 'Clients');
    await page.getByRole('button', { name: 'New device app' }).click();
    const form = page.getByRole('form', { name: 'New device app' });
    await form.getByLabel('Name', { exact: true }).fill(name);
    await form.getByLabel('Client id (optional)').fill(clientId);
    await form.getByLabel('openid', { exact: true }).check();
    await form.getByLabel('products:read', { exact: true }).check();
    await form.getByRole('button', { name: 'Create device app' }).click();
    const row = page.getByTestId(`client-${clientId}`);
    await row.getByText('Device app (public, device authorization)').waitFor();
    assert.equal(await page.getByTestId('secret-value').count(), 0, 'a public client has no secret');

    // The device asks; its user opens the code's page on another device and says no.
    const asked = await fetch(`${API}/device/authorize`, {
      method: 'POST',
      body: new URLSearchParams({ client_id: clientId, scope: 'openid products:read' }),
    });
    assert.equal(asked.status, 200);
    const started = await asked.json();
    const phone = await newTab();
    await phone.goto(started.verification_uri_complete);
    await phone.getByRole('heading', { name: 'Allow this device?' }).waitFor();
    await phone.getByText(name).waitFor();
    await phone.getByText(started.user_code).waitFor();
    await phone.getByRole('button', { name: 'Deny' }).click();
    await phone.getByRole('heading', { name: 'Device not connected' }).waitFor();
    await phone.context().close();
    const polled = await fetch(`${API}/token`, {
      method: 'POST',
      body: new URLSearchParams({
        grant_type: 'urn:ietf:params:oauth:grant-type:device_code',
        client_id: clientId,
        device_code: started.device_code,
      }),
    });
    assert.equal(polled.status, 400);
    assert.equal((await polled.json()).error, 'access_denied');
  });
});

test('an API token for user0 created in the console works as "Token", within its scopes, until revoked', async () => {
  const page = await adminTab();
  await withScreenshot('admin-api-token', page, async () => {
    const { token: adminToken } = await accessToken(page);
    const users = await (await fetch(`${API}/admin/users`, { headers: { Authorization: `Bearer ${adminToken}` } })).json();
    const user0 = users.find((u) => u.username === 'user0');
    assert.ok(user0?.id, 'the admin API lists user0');

    await openSection(page, 'API tokens');
    const form = page.getByRole('form', { name: 'New API token' });
    await form.getByLabel('Owner').selectOption('user0');
    await form.getByLabel('Token name').fill(`e2e-${RUN}`);
    await form.getByLabel('orders:read', { exact: true }).check();
    await form.getByLabel('products:read', { exact: true }).check();
    await form.getByRole('button', { name: 'Create API token' }).click();
    const token = await shownSecret(page);
    const [, id] = token.match(/^amt_([0-9a-f]{16})_[A-Za-z0-9_-]+$/) ?? [];
    assert.ok(id, `an amt_ token (${token.slice(0, 8)}…)`);
    assert.ok((await page.getByTestId('secret-box').innerText()).includes('Authorization: Token'), 'with a usage example');

    const asToken = { Authorization: `Token ${token}` };
    const whoami = await fetch(`${API}/api/whoami`, { headers: asToken });
    assert.equal(whoami.status, 200);
    const me = await whoami.json();
    assert.equal(me.auth_scheme, 'Token');
    assert.equal(me.subject, user0.id);
    assert.equal((await fetch(`${API}/api/orders`, { headers: asToken })).status, 200);
    const order = await fetch(`${API}/api/orders`, {
      method: 'POST',
      headers: { ...asToken, 'Content-Type': 'application/json' },
      body: JSON.stringify({ product_id: 1, quantity: 1 }),
    });
    assert.equal(order.status, 403, 'orders:write was not given');
    assert.match(order.headers.get('www-authenticate') ?? '', /insufficient_scope/);

    // Revoke in the console, with a confirmation.
    await page.getByRole('button', { name: 'Done, hide it' }).click();
    const row = page.getByTestId(`token-${id}`);
    await row.getByRole('button', { name: 'Revoke' }).click();
    await row.getByRole('button', { name: 'Confirm revoke' }).click();
    await page.locator(`[data-testid="token-${id}"][data-state="revoked"]`).waitFor();

    const after = await fetch(`${API}/api/whoami`, { headers: asToken });
    assert.equal(after.status, 401, 'a revoked token is refused');
    const challenge = after.headers.get('www-authenticate') ?? '';
    const body = await after.json().catch(() => ({}));
    assert.ok(
      challenge.includes('invalid_token') || body.error === 'invalid_token',
      `401 invalid_token (${challenge} ${JSON.stringify(body)})`,
    );
  });
});

test('an initial access token made in the console registers a client at /register (RFC 7591) until it is deleted', async () => {
  const page = await adminTab();
  await withScreenshot('admin-registration', page, async () => {
    await openSection(page, 'Registration');
    const form = page.getByRole('form', { name: 'New initial access token' });
    await form.getByLabel('Name').fill(`e2e-${RUN}`);
    await form.getByLabel('Lifetime in hours (optional)').fill('1');
    await form.getByRole('button', { name: 'Make initial access token' }).click();
    const token = await shownSecret(page);
    assert.match(token, /^iat_[A-Za-z0-9_-]+$/);
    assert.ok((await page.getByTestId('secret-box').innerText()).includes('/register'), 'with a usage example');
    await page.getByRole('button', { name: 'Done, hide it' }).click();

    const register = () =>
      fetch(`${API}/register`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
        body: JSON.stringify({ client_name: `e2e ${RUN}`, grant_types: ['client_credentials'], scope: 'products:read' }),
      });
    const registered = await register();
    assert.equal(registered.status, 201);
    const client = await registered.json();
    assert.match(client.client_id, /^dyn-/);

    // Deleted in the console, with a confirmation: it registers no more.
    const row = page.locator('[data-testid^="registration-token-"]', { hasText: `e2e-${RUN}` });
    await row.getByRole('button', { name: 'Delete' }).click();
    await row.getByRole('button', { name: 'Confirm delete' }).click();
    await row.waitFor({ state: 'detached' });
    assert.equal((await register()).status, 401);
    // The client it registered stays; its own registration access token deletes it.
    const gone = await fetch(client.registration_client_uri, {
      method: 'DELETE',
      headers: { Authorization: `Bearer ${client.registration_access_token}` },
    });
    assert.equal(gone.status, 204);
  });
});

test('a second API: an authorization server, a scope, an access policy and a claim made in the console; its preview, its token and an independent verifier agree', async () => {
  const page = await adminTab();
  const serverId = `reports-${RUN}`;
  const audience = `api://reports-${RUN}`;
  const scopeName = `reports:read-${RUN}`;
  const clientId = `reporter-${RUN}`;
  let secret;
  await withScreenshot('admin-authorization-server', page, async () => {
    // The server, its form checked in the browser first.
    await openSection(page, 'Authorization servers');
    const serverForm = page.getByRole('form', { name: 'New authorization server' });
    await serverForm.getByLabel('Id').fill(serverId);
    await serverForm.getByLabel('Name').fill('Reports API');
    await serverForm.getByLabel('Audience', { exact: true }).fill('reports');
    await serverForm.getByRole('button', { name: 'Create server' }).click();
    await assertAlert(serverForm, /absolute URI/);
    await serverForm.getByLabel('Audience', { exact: true }).fill(audience);
    // What the form shows is what it sends: RS256 unless chosen, as Okta's servers sign.
    assert.equal(await serverForm.getByLabel('Signing algorithm').inputValue(), 'RS256');
    await serverForm.getByLabel('Signing algorithm').selectOption('EdDSA');
    await serverForm.getByRole('button', { name: 'Create server' }).click();
    const row = page.getByTestId(`server-${serverId}`);
    await row.waitFor();

    // Its own scopes: the reports' one, and the catalogue's (which a rule will deny); OpenID
    // Connect's are refused in the browser (every server offers them).
    await row.getByRole('button', { name: 'Scopes' }).click();
    const scopesEditor = page.getByTestId(`scopes-${serverId}`);
    const scopeForm = scopesEditor.getByRole('form', { name: 'New server scope' });
    await scopeForm.getByLabel('Scope name').fill('openid');
    await scopeForm.getByLabel('Description').fill('Sign in');
    await scopeForm.getByRole('button', { name: 'Add scope' }).click();
    await assertAlert(scopeForm, /OpenID Connect/);
    for (const [name, description] of [[scopeName, 'Read the reports'], ['products:read', 'Browse the catalogue']]) {
      await scopeForm.getByLabel('Scope name').fill(name);
      await scopeForm.getByLabel('Description').fill(description);
      await scopeForm.getByRole('button', { name: 'Add scope' }).click();
      await scopesEditor.getByTestId(`server-scope-${name}`).waitFor();
    }
    await scopesEditor.getByRole('button', { name: 'Save scopes' }).click();
    await scopesEditor.getByText('Saved 2 scopes').waitFor();

    // A client allowed the server's scope (listed with every scope a client may have).
    await openSection(page, 'Clients');
    await page.getByRole('button', { name: 'New API service' }).click();
    const clientForm = page.getByRole('form', { name: 'New API service' });
    await clientForm.getByLabel('Name', { exact: true }).fill(`Reporter ${RUN}`);
    await clientForm.getByLabel('Client id (optional)').fill(clientId);
    await clientForm.getByLabel(scopeName, { exact: true }).check();
    await clientForm.getByLabel('products:read', { exact: true }).check();
    await clientForm.getByRole('button', { name: 'Create API service' }).click();
    secret = await shownSecret(page);
    await page.getByRole('button', { name: 'Done, hide it' }).click();
    await openSection(page, 'Authorization servers');
    await row.waitFor();

    // Its policies: the default one goes, a policy for the reporter comes with two rules.
    await row.getByRole('button', { name: 'Access policies' }).click();
    const editor = page.getByTestId(`policies-${serverId}`);
    await editor.getByTestId('policy-Default Policy').waitFor();
    await editor.getByRole('button', { name: 'Delete policy Default Policy' }).click();
    const ruleForm = editor.getByRole('form', { name: 'New rule' });
    await ruleForm.getByRole('combobox', { name: /^Policy/ }).fill('Reporters');
    await ruleForm.getByLabel('Clients of a new policy').fill(clientId);
    await ruleForm.getByLabel('Rule name').fill('No catalogue');
    await ruleForm.getByLabel('Scopes').fill('products:read');
    await ruleForm.getByLabel('Decision').selectOption('deny');
    await ruleForm.getByLabel('Access-token lifetime (seconds)').fill('60');
    await ruleForm.getByRole('button', { name: 'Add rule' }).click();
    await assertAlert(ruleForm, /deny rule issues nothing/);
    await ruleForm.getByLabel('Access-token lifetime (seconds)').fill('');
    await ruleForm.getByRole('button', { name: 'Add rule' }).click();
    await ruleForm.getByLabel('Rule name').fill('Read reports');
    await ruleForm.getByLabel('Scopes').fill(scopeName);
    await ruleForm.getByLabel('Decision').selectOption('allow');
    await ruleForm.getByLabel('Access-token lifetime (seconds)').fill('120');
    await ruleForm.getByLabel('client_credentials', { exact: true }).check();
    await ruleForm.getByRole('button', { name: 'Add rule' }).click();
    await editor.getByTestId(`rule-Reporters-Read reports`).waitFor();
    await editor.getByRole('button', { name: 'Save policies' }).click();
    await editor.getByText('Saved 1 access policies').waitFor();

    // A custom claim in every token of the server, checked in the browser first.
    await row.getByRole('button', { name: 'Custom claims' }).click();
    const claimsEditor = page.getByTestId(`claims-${serverId}`);
    const claimForm = claimsEditor.getByRole('form', { name: 'New claim' });
    await claimForm.getByLabel('Claim name').fill('sub');
    await claimForm.getByLabel('Value').fill('someone');
    await claimForm.getByRole('button', { name: 'Add claim' }).click();
    await assertAlert(claimForm, /cannot be a custom claim/);
    await claimForm.getByLabel('Claim name').fill('tier');
    await claimForm.getByLabel('Value').fill('gold');
    await claimForm.getByRole('button', { name: 'Add claim' }).click();
    await claimsEditor.getByTestId('claim-tier').waitFor();
    // And one from the logged-in user, in both tokens: a client acting for itself has no user.
    await claimForm.getByLabel('Claim name').fill('login');
    await claimForm.getByLabel('Source').selectOption('username');
    assert.ok(await claimForm.getByLabel('Value').isDisabled(), 'no constant for a user attribute');
    await claimForm.locator('select[name=token]').selectOption('both');
    await claimForm.getByRole('button', { name: 'Add claim' }).click();
    const login = claimsEditor.getByTestId('claim-login');
    await login.waitFor();
    assert.match(await login.innerText(), /the user's username[\s\S]*both/);
    await claimsEditor.getByRole('button', { name: 'Save claims' }).click();
    await claimsEditor.getByText('Saved 2 custom claims').waitFor();

    // The preview says what the endpoint will answer, and which rule decided.
    const preview = page.getByRole('form', { name: 'Token preview' });
    assert.equal(await preview.locator('select[name=grant_type]').inputValue(), 'client_credentials');
    await preview.locator('select[name=server]').selectOption(serverId);
    await preview.locator('select[name=client]').selectOption(clientId);
    await preview.locator('select[name=grant_type]').selectOption('client_credentials');
    await preview.getByLabel('Scopes asked for').fill(scopeName);
    await preview.getByRole('button', { name: 'Preview' }).click();
    const decided = await page.getByTestId('preview-rule').innerText();
    assert.ok(decided.includes('Reporters') && decided.includes('Read reports'), decided);
    const header = JSON.parse(await page.getByTestId('preview-header').innerText());
    const claims = JSON.parse(await page.getByTestId('preview-claims').innerText());
    assert.equal(header.alg, 'EdDSA');
    assert.equal(claims.aud, audience);
    assert.equal(claims.scope, scopeName);
    assert.equal(claims.exp - claims.iat, 120);
    assert.equal(claims.tier, 'gold');
    await preview.getByLabel('Scopes asked for').fill(`${scopeName} products:read`);
    await preview.getByRole('button', { name: 'Preview' }).click();
    const refused = await page.getByTestId('preview-error').innerText();
    assert.ok(refused.includes('unauthorized_client') && refused.includes('No catalogue'), refused);

    // A second audience for the server, chosen with `resource` (RFC 8707) in the preview.
    const exports = `api://exports-${RUN}`;
    await row.getByRole('button', { name: 'Audiences' }).click();
    const audiences = page.getByRole('form', { name: `Audiences of ${serverId}` });
    await audiences.getByLabel('Extra audiences').fill(audience);
    await audiences.getByRole('button', { name: 'Save audiences' }).click();
    await assertAlert(audiences, /default audience already/);
    await audiences.getByLabel('Extra audiences').fill(exports);
    await audiences.getByRole('button', { name: 'Save audiences' }).click();
    await row.getByText(exports).waitFor();
    await preview.getByLabel('Scopes asked for').fill(scopeName);
    await preview.getByLabel('Resources (RFC 8707)').fill(`${exports} ${audience}`);
    // Behind the load balancer the other instance takes the change when it is announced: a
    // moment, during which it does not know the new audience yet.
    let several = '';
    for (let tries = 0; tries < 20 && !several.includes('one audience only'); tries += 1) {
      if (tries > 0) await new Promise((resolve) => setTimeout(resolve, 100));
      await preview.getByRole('button', { name: 'Preview' }).click();
      several = await page.getByTestId('preview-error').innerText();
    }
    assert.ok(several.includes('invalid_target') && several.includes('one audience only'), several);
    await preview.getByLabel('Resources (RFC 8707)').fill(exports);
    await preview.getByRole('button', { name: 'Preview' }).click();
    await page.getByTestId('preview-issued').or(page.getByTestId('preview-error')).waitFor();
    assert.equal(await page.getByTestId('preview-error').count(), 0, 'every instance knows the audience by now');
    const aimed = JSON.parse(await page.getByTestId('preview-claims').innerText());
    assert.equal(aimed.aud, exports);

    // A login previewed for a user: the ID token's claims and the refresh token too.
    await preview.getByLabel('Resources (RFC 8707)').fill('');
    await preview.locator('select[name=server]').selectOption('');
    await preview.locator('select[name=client]').selectOption('demo-spa');
    await preview.locator('select[name=grant_type]').selectOption('authorization_code');
    await preview.getByLabel('Scopes asked for').fill('openid profile offline_access');
    await preview.getByRole('button', { name: 'Preview' }).click();
    await assertAlert(preview, /enter a username/);
    await preview.getByLabel('User who logs in').fill('user0');
    await preview.getByRole('button', { name: 'Preview' }).click();
    const idClaims = JSON.parse(await page.getByTestId('preview-id-token').innerText());
    assert.equal(idClaims.aud, 'demo-spa');
    assert.equal(idClaims.preferred_username, 'user0');
    await page.getByTestId('preview-refresh').waitFor();
  });

  // An OAuth client and a JWT library that share no code with this project: discovery at the
  // server's issuer (RFC 8414), client credentials, and verification with its JWKS, EdDSA only.
  const issuer = new URL(`${API}/oauth2/${serverId}`);
  const insecure = { [oauth.allowInsecureRequests]: true };
  let as;
  // Through a load balancer the other instance may take a moment to serve the new server.
  for (let tries = 0; ; tries += 1) {
    const response = await oauth.discoveryRequest(issuer, { algorithm: 'oauth2', ...insecure });
    if (response.status === 200 || tries >= 30) {
      as = await oauth.processDiscoveryResponse(issuer, response);
      break;
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  assert.equal(as.token_endpoint, `${issuer.href}/v1/token`);
  const client = { client_id: clientId };
  const response = await oauth.clientCredentialsGrantRequest(
    as, client, oauth.ClientSecretBasic(secret), new URLSearchParams({ scope: scopeName }), insecure,
  );
  const tokens = await oauth.processClientCredentialsResponse(as, client, response);
  assert.equal(tokens.expires_in, 120);
  const { payload, protectedHeader } = await jose.jwtVerify(
    tokens.access_token,
    jose.createRemoteJWKSet(new URL(as.jwks_uri)),
    { issuer: issuer.href, audience, algorithms: ['EdDSA'], typ: 'at+jwt' },
  );
  assert.equal(protectedHeader.alg, 'EdDSA');
  assert.equal(payload.scope, scopeName);
  assert.equal(payload.client_id, clientId);
  assert.equal(payload.tier, 'gold', 'the custom claim made in the console');
  assert.equal(payload.login, undefined, "a client's own token has no user to take it from");
  // The deny rule, at the endpoint itself.
  const denied = await oauth.clientCredentialsGrantRequest(
    as, client, oauth.ClientSecretBasic(secret), new URLSearchParams({ scope: 'products:read' }), insecure,
  );
  assert.equal(denied.status, 400);
  const error = await denied.json();
  assert.equal(error.error, 'unauthorized_client');
  assert.match(error.error_description, /policy "Reporters", rule "No catalogue"/);
});

test('a user made in groups in the console, moved to another and given custom attributes, as the admin API reads them', async () => {
  const page = await adminTab();
  const username = `grouped-${RUN}`;
  await openSection(page, 'Users');
  const form = page.getByRole('form', { name: 'New user' });
  await form.getByLabel('Username').fill(username);
  await form.getByLabel('Full name').fill('Grouped User');
  await form.getByLabel('Email').fill(`${username}@example.com`);
  await form.getByLabel('Password').fill('a-long-password-1');
  // Checked in the browser first, with the server's words.
  await form.getByLabel('Groups').fill('finance!');
  await form.getByRole('button', { name: 'Create user' }).click();
  await assertAlert(form, /group's name is 1 to 32/);
  await form.getByLabel('Groups').fill('eu-west eu');
  await form.getByRole('button', { name: 'Create user' }).click();
  const row = page.getByTestId(`user-${username}`);
  await row.waitFor();
  assert.match(await row.textContent(), /eu eu-west/, 'stored sorted');

  await row.getByRole('button', { name: 'Groups & attributes' }).click();
  const groupsForm = page.getByRole('form', { name: `Groups and attributes of ${username}` });
  assert.equal(await groupsForm.getByLabel('Groups').inputValue(), 'eu eu-west');
  await groupsForm.getByLabel('Groups').fill('staff');
  // A built-in attribute's name is refused in the browser, with the server's words.
  await groupsForm.getByLabel('Custom attributes').fill('email=x@example.com');
  await groupsForm.getByRole('button', { name: 'Save groups and attributes' }).click();
  await assertAlert(groupsForm, /the attribute email every user has/);
  await groupsForm.getByLabel('Custom attributes').fill('department = sales\ncost_center=4711');
  await groupsForm.getByRole('button', { name: 'Save groups and attributes' }).click();
  await page.getByText(`${username} is in staff and has 2 custom attributes now.`).waitFor();
  const { token } = await accessToken(page);
  const users = await (await fetch(`${API}/admin/users`, { headers: { authorization: `Bearer ${token}` } })).json();
  const stored = users.find((u) => u.username === username);
  assert.deepEqual(stored.groups, ['staff']);
  assert.deepEqual(stored.attributes, { cost_center: '4711', department: 'sales' });
  // The table, reloaded after the notice, shows them too.
  await page.getByTestId(`user-${username}`).getByText('cost_center=4711 department=sales').waitFor();
});

test('a trusted issuer added in the console: its keys shown, its token accepted, read again, removed', async () => {
  const page = await adminTab();
  const id = `idp-${RUN}`;
  const audience = `api://console-${RUN}`;
  const provider = await startProvider(await freePort(), [rsaKey('console-key')], audience);
  try {
    await withScreenshot('admin-trusted-issuer', page, async () => {
      await openSection(page, 'Trusted issuers');
      const form = page.getByRole('form', { name: 'New trusted issuer' });
      await form.getByLabel('Id').fill(id);
      await form.getByLabel('Name').fill('Console IdP');
      await form.getByLabel('Issuer').fill('http://idp.example.com');
      await form.getByLabel('Audience').fill(audience);
      await form.getByRole('button', { name: 'Trust issuer' }).click();
      await assertAlert(form, /https URL/);
      await form.getByLabel('Issuer').fill(provider.issuer);
      await form.getByRole('button', { name: 'Trust issuer' }).click();
      const row = page.getByTestId(`issuer-${id}`);
      await row.waitFor();
      assert.match(await row.innerText(), /1 key\(s\)/);
      assert.match(await row.innerText(), new RegExp(provider.issuer.replaceAll('.', '\\.')));

      // Document 001's flow: the provider's client-credentials token calls the API.
      const token = await providerToken(provider);
      const products = await fetch(`${API}/api/products`, { headers: { Authorization: `Bearer ${token}` } });
      assert.equal(products.status, 200);

      await row.getByRole('button', { name: `Read the keys of ${id} again` }).click();
      await page.getByText(`Read the keys of ${id} again: 1 key(s).`).waitFor();

      await page.getByTestId(`issuer-${id}`).getByRole('button', { name: 'Remove' }).click();
      await page.getByTestId(`issuer-${id}`).getByRole('button', { name: 'Confirm remove' }).click();
      await page.getByText(`No longer trusting ${id}.`).waitFor();
      const after = await fetch(`${API}/api/products`, { headers: { Authorization: `Bearer ${token}` } });
      assert.equal(after.status, 401, 'removed, its tokens are refused');
    });
  } finally {
    await provider.close();
  }
});

test('user0 is not an administrator: no console after the step-up, and the admin API says 403', async () => {
  const page = await newTab();
  await withScreenshot('admin-not-admin', page, async () => {
    await page.goto(APP);
    await page.getByRole('button', { name: 'Log in' }).click();
    await logInOnServerPage(page, 'user0', 'password0');
    await page.locator('.product').first().waitFor();
    assert.equal(await page.getByRole('link', { name: 'Admin', exact: true }).count(), 0, 'no Admin link');

    await stepUp(page, 'user0', 'password0');
    await page.getByRole('heading', { name: 'Your account (user0) is not an administrator' }).waitFor();
    assert.equal(await page.getByRole('button', { name: 'Sign in as administrator' }).count(), 0, 'no loop');
    assert.equal(await page.getByRole('navigation', { name: 'Admin sections' }).count(), 0, 'no console');
    const { token, scopes } = await accessToken(page);
    assert.ok(!scopes.includes('admin'), `the server left admin out (${scopes})`);

    const requestId = `e2e-admin-${RUN}`;
    const direct = await fetch(`${API}/admin/users`, {
      headers: { Authorization: `Bearer ${token}`, 'X-Request-Id': requestId },
    });
    assert.equal(direct.status, 403, 'the admin API refuses user0');
    assert.equal(direct.headers.get('x-request-id'), requestId, 'the answer carries the caller’s request id');

    // user0 reads why, by that id, on the app's Refusals page.
    await page.getByRole('link', { name: 'Refusals', exact: true }).click();
    await page.locator('input[name="request_id"]').fill(requestId);
    await page.getByRole('button', { name: 'Find' }).click();
    await page.waitForURL((url) => url.searchParams.get('id') === requestId);
    const mine = page.locator(`.explained[data-request-id="${requestId}"]`);
    await reloadUntil(page, mine, page.locator('.card.empty'));
    // Until the filtered answer arrives, the page keeps showing the unfiltered list it had (a
    // transition), in which this refusal may already be: wait for the list to be replaced.
    await eventually('only that request is listed', async () => (await page.locator('.explained').count()) === 1);
    const text = await mine.innerText();
    assert.match(text, /GET \/admin\/users/, text);
    assert.match(text, /403/, text);
    assert.match(text, /insufficient_scope/, text);
    assert.equal(await mine.getAttribute('data-check'), 'scope');

    // The administrator finds it in the console by the same id.
    const admin = await adminTab();
    await admin.goto(`${APP}/admin/events?request_id=${requestId}`);
    const row = admin.locator(`tr.event[data-kind="request_refused"] .explained[data-request-id="${requestId}"]`);
    await reloadUntil(admin, row, admin.getByText('No events match.'));
    assert.match(await row.innerText(), /GET \/admin\/users/);
    assert.equal(await admin.locator('tr.event').count(), 1, 'the filter shows that request alone');
    await screenshot(admin, 'console-refusal');
  });
  await page.context().close();
});

test('three bundles: the first page loads the app alone; the inspector and the console load when opened, and within a bundle the router moves', async () => {
  const page = await newTab();
  const wasm = [];
  page.on('request', (r) => {
    const url = new URL(r.url());
    if (url.pathname.endsWith('.wasm')) wasm.push(url.pathname);
  });
  const loaded = () => wasm.splice(0).join(' ');
  const APP_WASM = /^\/frontend-[0-9a-f]+_bg\.wasm$/;
  const INSPECTOR_WASM = /^\/inspect\/inspector-[0-9a-f]+_bg\.wasm$/;
  const CONSOLE_WASM = /^\/admin\/console-[0-9a-f]+_bg\.wasm$/;
  await page.goto(APP);
  await page.getByRole('heading', { name: 'A shop behind OAuth 2.0' }).waitFor();
  assert.match(loaded(), APP_WASM, 'the first page loads the app bundle alone');

  await stepUp(page, 'admin', 'admin-password');
  await page.getByRole('navigation', { name: 'Admin sections' }).waitFor();
  assert.match(loaded(), /\/admin\/console-[0-9a-f]+_bg\.wasm$/, 'the console loads its own bundle');
  const to = async (link, ready) => {
    await page.getByRole('link', { name: link, exact: true }).click();
    await ready();
    return loaded();
  };
  const products = () => page.locator('.product').first().waitFor();
  const heading = (name) => () => page.getByRole('heading', { name, level: 1 }).waitFor();
  const sections = () => page.getByRole('navigation', { name: 'Admin sections' }).waitFor();
  // Between bundles, a page load: the console's links load the app, the app's the inspector...
  assert.match(await to('Products', products), APP_WASM);
  assert.match(await to('Timeline', heading('Timeline')), INSPECTOR_WASM);
  assert.match(await to('Admin', sections), CONSOLE_WASM);
  assert.match(await to('Token', heading('Your access token')), INSPECTOR_WASM);
  // ... and within one, the router's move, with nothing loaded.
  assert.equal(await to('Debugger', heading('Token debugger')), '', 'the inspector moves within itself');
  assert.equal(await to('Labs', heading('Labs')), '');
  assert.match(await to('Orders', heading('Your orders')), APP_WASM);
  assert.equal(await to('Products', products), '', 'the app moves within itself');
  assert.match(await to('Admin', sections), CONSOLE_WASM);
  // The Users section is shown first: wait for the Clients section itself, and for the page
  // this test marked to be the same document (a page load would forget the mark).
  await page.evaluate(() => { window.stillThisPage = true; });
  await page.getByRole('navigation', { name: 'Admin sections' }).getByRole('link', { name: 'Clients', exact: true }).click();
  await page.getByRole('heading', { name: 'Clients', level: 2 }).waitFor();
  assert.equal(await page.evaluate(() => window.stillThisPage === true), true, 'no page load');
  assert.equal(loaded(), '', 'the console moves within itself');
  await page.context().close();
});

async function assertAlert(scope, expected) {
  const alert = scope.getByRole('alert');
  await alert.first().waitFor();
  const text = await alert.first().innerText();
  if (expected instanceof RegExp) assert.match(text, expected);
  else assert.ok(text.toLowerCase().includes(expected.toLowerCase()), `the form shows "${expected}" (it shows "${text}")`);
}
