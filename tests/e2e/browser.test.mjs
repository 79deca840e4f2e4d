// The whole system through its real UI, in headless Debian Chromium driven by playwright-core:
// log in with authorization code + PKCE, see and order products, log out, survive a bad token;
// on a fake clock, the refresh before the access token expires and the revocation at logout; and
// the consent screen a third-party client gets.
//
// Needs E2E_API and E2E_APP (scripts/test.sh starts the backend and sets both) and Chromium at
// /usr/bin/chromium (or CHROMIUM).

import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';
import {
  API,
  APP,
  CHROMIUM,
  CHROMIUM_ARGS,
  JWT,
  TIMEOUT,
  clickable,
  eventually,
  forMode,
  launchChromium,
  logInOnServerPage,
  reportPageErrors,
  screenshot,
  setServerClock,
  withScreenshot,
} from './support.mjs';

const { test, before, after } = forMode('rest');

const BEARER = /^Bearer [A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;

let userDataDir;
/** @type {import('playwright-core').BrowserContext} */
let context;
/** @type {import('playwright-core').Page} */
let page;
/** Every request the page made to the API: method, url and headers. */
const apiRequests = [];

before(async () => {
  userDataDir = await mkdtemp(path.join(tmpdir(), 'e2e-chromium-'));
  context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_ARGS,
  });
  context.setDefaultTimeout(TIMEOUT);
  page = context.pages()[0] ?? (await context.newPage());
  page.on('request', (request) => {
    if (!request.url().startsWith(`${API}/api/`) || request.method() === 'OPTIONS') return;
    apiRequests.push({ method: request.method(), url: request.url(), headers: request.headers() });
  });
  reportPageErrors(page);
});

after(async () => {
  await context?.close();
  if (userDataDir) await rm(userDataDir, { recursive: true, force: true });
});

async function accessTokenCookie(of = context) {
  const cookies = await of.cookies(APP);
  return cookies.find((c) => c.name === 'access_token');
}

/** The form body of a request, as an object. */
function formOf(request) {
  return Object.fromEntries(new URLSearchParams(request.postData() ?? ''));
}

test('log in through the login page and see the products with a Bearer token', async () => {
  await withScreenshot('login', page, async () => {
    // The backend's own login page, on the API origin, is Leptos components rendered by the
    // server, with no script; its one stylesheet (the app's palette and buttons) is allowed by its
    // hash in the page's CSP. Chromium applies it and reports no violation on that origin: a
    // wrong hash would leave the page unstyled and log one.
    const violations = [];
    const onConsole = (msg) => {
      if (msg.location().url.startsWith(API) && /Content Security Policy/i.test(msg.text())) {
        violations.push(msg.text());
      }
    };
    page.on('console', onConsole);
    await page.goto(APP);
    await clickable(page, 'Log in').click();
    await page.waitForURL((url) => url.href.startsWith(`${API}/authorize`));
    await page.locator('input[name="username"]').waitFor();
    const look = await page.evaluate(() => ({
      radius: getComputedStyle(document.querySelector('main.card')).borderTopLeftRadius,
      accent: getComputedStyle(document.documentElement).getPropertyValue('--accent').trim(),
      primary: getComputedStyle(document.querySelector('button.primary')).color,
      scripts: document.scripts.length,
    }));
    page.off('console', onConsole);
    assert.deepEqual(look, { radius: '12px', accent: '#4f46e5', primary: 'rgb(255, 255, 255)', scripts: 0 });
    assert.deepEqual(violations, [], 'the login page breaks none of its CSP');

    // Back on the app, which exchanged the code and shows the products.
    const loginTime = Date.now();
    await logInOnServerPage(page, 'user0', 'password0');
    await page.locator('.product').first().waitFor();
    assert.ok((await page.locator('.product').count()) > 0);
    assert.ok(!page.url().includes('code='), `the code does not linger in the address bar: ${page.url()}`);

    const productCalls = apiRequests.filter((r) => r.url.startsWith(`${API}/api/products`));
    assert.ok(productCalls.length > 0, 'the app called /api/products');
    for (const call of productCalls) {
      assert.match(call.headers.authorization ?? '', BEARER, `${call.method} ${call.url} carries a Bearer JWT`);
    }

    const cookie = await accessTokenCookie();
    assert.ok(cookie, 'the access_token cookie is set');
    assert.match(cookie.value, JWT);
    assert.equal(cookie.sameSite, 'Strict');
    assert.equal(cookie.path, '/');
    assert.equal(cookie.httpOnly, false, 'the app itself reads the cookie');
    const expectedExpiry = loginTime / 1000 + 15 * 60;
    assert.ok(
      Math.abs(cookie.expires - expectedExpiry) <= 60,
      `the cookie expires with the token, in about 15 minutes (expires ${cookie.expires}, expected about ${expectedExpiry})`,
    );
  });
});

test('order a product and find it on the orders page', async () => {
  await withScreenshot('order', page, async () => {
    const product = page.locator('.product').first();
    await product.waitFor();
    const orderPosts = () => apiRequests.filter((r) => r.method === 'POST' && r.url.startsWith(`${API}/api/orders`));
    const before = orderPosts().length;
    const posted = page.waitForResponse(
      (r) => r.request().method() === 'POST' && r.url().startsWith(`${API}/api/orders`),
    );
    await product.getByRole('button', { name: 'Order' }).click();
    const response = await posted;
    assert.ok(response.ok(), `POST /api/orders answered ${response.status()}`);
    assert.equal(orderPosts().length, before + 1);
    assert.match(orderPosts().at(-1).headers.authorization ?? '', BEARER);

    const ordersLink = page.getByRole('link', { name: /orders/i }).first();
    if (await ordersLink.isVisible()) {
      await ordersLink.click();
    } else {
      await page.goto(`${APP}/orders`);
    }
    await page.locator('.order').first().waitFor();
    assert.ok((await page.locator('.order').count()) >= 1);
  });
});

test('the timeline shows every exchange of this login, with PKCE side by side, the preflights, and exports as HAR', async () => {
  await page.getByRole('link', { name: 'Timeline' }).click();
  const entries = page.locator('[data-testid="timeline"] .timeline-entry');
  await entries.first().waitFor();
  const steps = await entries.evaluateAll((items) => items.map((item) => item.dataset.step));
  assert.equal(steps[0], 'authorize', steps.join(' '));
  assert.equal(steps[1], 'callback', steps.join(' '));
  assert.equal(steps[2], 'token', steps.join(' '));
  assert.ok(steps.includes('api'), steps.join(' '));
  await page.locator('.timeline-gap').first().waitFor();

  // The sequence diagram lights the newest exchange's step, then the one opened.
  const lit = () => page.locator('[data-testid="sequence"] g.lit').evaluateAll((gs) => [...new Set(gs.map((g) => g.dataset.step))]);
  assert.deepEqual(await lit(), [steps.at(-1)]);
  assert.ok((await page.locator('[data-testid="sequence"] g.seen[data-step="authorize"]').count()) === 1);

  // The authorize redirect: each parameter explained; the verifier's S256 beside the challenge.
  const authorize = entries.nth(0);
  await authorize.locator('summary').click();
  await eventually('the authorize arrow is lit', async () => JSON.stringify(await lit()) === '["authorize"]');
  const param = (name) => authorize.locator('table.params tr', { has: page.locator(`td:first-child code:text-is("${name}")`) });
  const challenge = (await param('code_challenge').locator('td').nth(1).innerText()).trim();
  assert.match(challenge, /^[A-Za-z0-9_-]{43}$/);
  assert.match(await param('state').innerText(), /CSRF/);
  const note = (entry, label) => entry.locator('dl.timeline-notes dt', { hasText: label }).locator('xpath=following-sibling::dd[1]');
  assert.equal((await note(authorize, 'S256(code_verifier)').innerText()).trim(), challenge);
  assert.match(await note(authorize, /^code_verifier/).innerText(), /hidden/);
  await screenshot(page, 'timeline');

  // The callback's checks, and the token request: the verifier sent, the tokens decoded.
  const callback = entries.nth(1);
  await callback.locator('summary').click();
  assert.match(await note(callback, 'state').innerText(), /^✓/);
  assert.match(await note(callback, 'iss').innerText(), /^✓/);
  const token = entries.nth(2);
  await token.locator('summary').click();
  assert.match(await token.locator('summary').innerText(), /POST[\s\S]*\/token[\s\S]*200/);
  assert.ok((await note(token, 'S256(code_verifier)').innerText()).startsWith(challenge));
  const body = token.locator('pre.json').nth(1);
  assert.match(await body.innerText(), /"access_token": "eyJ[^"]*hidden\)"/);
  assert.match(await token.locator('[data-testid="decoded-jwt"]').first().innerText(), /at\+jwt/);
  await token.getByTestId('show-secrets').click();
  const shown = JSON.parse(await body.innerText());
  assert.match(shown.access_token, JWT);

  // The order: POST /api/orders with its Bearer header, masked until shown.
  const order = entries.filter({ has: page.locator('summary', { hasText: /POST[\s\S]*\/api\/orders/ }) }).last();
  await order.locator('summary').click();
  const authorization = order.locator('table.headers tr', { hasText: 'Authorization' }).locator('td').nth(1);
  assert.match(await authorization.innerText(), /^Bearer eyJ\S*… \(\d+ characters, hidden\)$/);
  await order.getByTestId('show-secrets').click();
  assert.match(await authorization.innerText(), BEARER);
  assert.equal((await order.locator('summary .status').innerText()).trim(), '201');

  // The preflight of that POST, as the API answered it (behind a load balancer, the instance
  // that answered it has it: reload until it shows).
  await eventually('the preflight of POST /api/orders shows', async () => {
    const showAll = page.getByRole('button', { name: /^Show all/ });
    if (await showAll.count()) await showAll.click();
    const row = page.locator('tr.preflight', { hasText: 'POST /api/orders' });
    if (await row.count()) return true;
    await page.getByTestId('reload-preflights').click();
    await page.waitForTimeout(200);
    return false;
  });
  const preflight = page.locator('tr.preflight', { hasText: 'POST /api/orders' }).first();
  assert.match(await preflight.innerText(), new RegExp(`access-control-allow-origin: ${APP.replace(/[.]/g, '\\.')}`));
  assert.match(await preflight.locator('td').nth(2).innerText(), /authorization/, 'the headers the browser asked about');

  // The HAR export: credentials masked, unless asked.
  const exported = async () => {
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('export-har').click()]);
    assert.equal(download.suggestedFilename(), 'oauth-timeline.har');
    const { readFile } = await import('node:fs/promises');
    return JSON.parse(await readFile(await download.path(), 'utf8'));
  };
  const har = await exported();
  assert.equal(har.log.version, '1.2');
  assert.ok(har.log.entries.length >= steps.length);
  const tokenEntry = har.log.entries.find((e) => e.request.method === 'POST' && e.request.url.endsWith('/token'));
  assert.equal(tokenEntry.response.status, 200);
  assert.match(tokenEntry.request.postData.mimeType, /application\/x-www-form-urlencoded/);
  assert.ok(har.log.entries.every((e) => typeof e.startedDateTime === 'string' && !Number.isNaN(Date.parse(e.startedDateTime))));
  assert.ok(!JSON.stringify(har).includes(shown.access_token), 'no token in the masked export');
  await page.getByTestId('har-secrets').check();
  const full = await exported();
  assert.ok(JSON.stringify(full).includes(shown.access_token), 'the token is in the export with credentials');
  // The verifier is in the export with credentials only; the refresh token in neither (the
  // timeline never keeps it, only its first characters).
  const redeemed = full.log.entries.find((e) => e.request.method === 'POST' && e.request.url.endsWith('/token'));
  const verifier = new URLSearchParams(redeemed.request.postData.text).get('code_verifier');
  assert.match(verifier, /^[A-Za-z0-9_-]{43,128}$/);
  assert.ok(!JSON.stringify(har).includes(verifier), 'no verifier in the masked export');
  assert.match(JSON.parse(redeemed.response.content.text).refresh_token, /not kept by the timeline/);
  await page.getByTestId('har-secrets').uncheck();
});

test('log out: no more token, and the app offers to log in again', async () => {
  await withScreenshot('logout', page, async () => {
    // From a page of the inspector: going home is a page load of the app's bundle, which must
    // not cut off the revocation (it is sent with keepalive).
    assert.equal(new URL(page.url()).pathname, '/timeline');
    const grant = JSON.parse(await page.evaluate(() => sessionStorage.getItem('oauth.refresh')));
    assert.ok(grant?.refresh_token, 'the tab holds a refresh token');
    await clickable(page, 'Log out').click();
    await clickable(page, 'Log in').waitFor();
    assert.equal(new URL(page.url()).pathname, '/');
    const cookie = await accessTokenCookie();
    assert.ok(!cookie || cookie.value === '', 'the access_token cookie is gone');
    // One try (a second would be a reuse, refused either way), after the request had time to land.
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const reuse = await fetch(`${API}/token`, {
      method: 'POST',
      body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: grant.refresh_token, client_id: 'demo-spa' }),
    });
    assert.equal(reuse.status, 400, 'the server revoked the refresh token');
    assert.equal((await reuse.json()).error, 'invalid_grant');

    const seen = apiRequests.length;
    await page.goto(`${APP}/products`);
    await clickable(page, 'Log in').waitFor();
    // Give any late API call the chance to show up before checking.
    await page.waitForLoadState('networkidle');
    const withToken = apiRequests.slice(seen).filter((r) => r.headers.authorization);
    assert.deepEqual(withToken, [], 'no API call carries a token after logging out');
  });
});

test('a garbage token leads to a message and a "Log in" button', async () => {
  await withScreenshot('garbage-token', page, async () => {
    const { hostname } = new URL(APP);
    await context.addCookies([
      {
        name: 'access_token',
        value: 'garbage.not-a.token',
        domain: hostname,
        path: '/',
        sameSite: 'Strict',
        expires: Math.floor(Date.now() / 1000) + 600,
      },
    ]);
    await page.goto(`${APP}/products`);
    await page.locator('.flash').first().waitFor();
    assert.notEqual((await page.locator('.flash').first().innerText()).trim(), '', 'the message says something');
    await clickable(page, 'Log in').waitFor();
    assert.equal(await page.locator('.product').count(), 0, 'no products are shown');
  });
});

test('a revoked token: the home page asks why, and the Refusals page explains it after logging in again', async () => {
  await withScreenshot('refusal-explained', page, async () => {
    await page.goto(APP);
    await clickable(page, 'Log in').click();
    await logInOnServerPage(page, 'user0', 'password0');
    await page.locator('.product').first().waitFor();
    const token = (await accessTokenCookie()).value;
    const revoked = await fetch(`${API}/revoke`, {
      method: 'POST',
      body: new URLSearchParams({ token, client_id: 'demo-spa' }),
    });
    assert.equal(revoked.status, 200);
    // Behind a load balancer, the other instance learns of the revocation within the delay the
    // README states (it reads the revocation list every second): wait until every instance
    // refuses it, several calls in a row.
    await eventually('every instance refuses the revoked token', async () => {
      for (let i = 0; i < 4; i += 1) {
        const r = await fetch(`${API}/api/whoami`, { headers: { Authorization: `Bearer ${token}` } });
        if (r.status !== 401) return false;
      }
      return true;
    });

    const answered = page.waitForResponse((r) => r.url() === `${API}/api/orders`);
    await page.getByRole('link', { name: 'Orders', exact: true }).click();
    const answer = await answered;
    assert.equal(answer.status(), 401, 'the API refuses the revoked token');
    const requestId = answer.headers()['x-request-id'];
    assert.ok(requestId, 'the refusal carries its request id, readable by the app (CORS exposes it)');

    await page.getByRole('link', { name: 'Why?' }).click();
    await page.waitForURL((url) => url.pathname === '/refusals' && url.searchParams.get('id') === requestId);
    await clickable(page, 'Log in').click();
    await logInOnServerPage(page, 'user0', 'password0');
    await page.waitForURL((url) => url.pathname === '/refusals');
    const explained = page.locator(`.explained[data-request-id="${requestId}"]`);
    await explained.waitFor();
    assert.equal(await explained.getAttribute('data-check'), 'revocation');
    const text = await explained.innerText();
    assert.match(text, /GET \/api\/orders/, text);
    assert.match(text, /invalid_token/, text);
    assert.match(text, /log in again/i, 'the remedy');
    assert.ok(!text.includes(token), 'never the token');
    await screenshot(page, 'refusals');
  });
});

test('the token debugger: the session’s token passes every check, a tampered one fails at the signature', async () => {
  await withScreenshot('token-debugger', page, async () => {
    await page.getByRole('link', { name: 'Debugger', exact: true }).click();
    await page.getByRole('button', { name: 'Use my access token' }).click();
    await page.locator('select[name="endpoint"]').selectOption('POST /api/orders');
    await page.getByRole('button', { name: 'Check', exact: true }).click();
    const verdict = page.locator('.verdict');
    await verdict.waitFor();
    assert.equal(await verdict.getAttribute('data-accepted'), 'true', await verdict.innerText());
    const checks = page.locator('tr.token-check');
    const names = await checks.evaluateAll((rows) => rows.map((r) => [r.dataset.check, r.dataset.passed]));
    assert.deepEqual(
      names.map(([name]) => name),
      ['format', 'issuer', 'alg', 'typ', 'header', 'kid', 'signature', 'claims', 'exp', 'iat', 'revocation', 'audience', 'scope'],
    );
    assert.ok(names.every(([, passed]) => passed === 'true'), JSON.stringify(names));
    await page.getByRole('heading', { name: 'Claims' }).waitFor();

    // One character of the signature changed.
    const token = await page.locator('textarea[name="token"]').inputValue();
    const tampered = token.slice(0, -2) + (token.at(-2) === 'A' ? 'B' : 'A') + token.at(-1);
    await page.locator('textarea[name="token"]').fill(tampered);
    await page.getByRole('button', { name: 'Check', exact: true }).click();
    await page.locator('.verdict[data-accepted="false"]').waitFor();
    const signature = page.locator('tr.token-check[data-check="signature"]');
    assert.equal(await signature.getAttribute('data-passed'), 'false');
    assert.match(await signature.innerText(), /does not verify/);
    assert.equal(await page.locator('tr.token-check').count(), 7, 'nothing after the signature means anything');
    await screenshot(page, 'debugger');
  });
});

test('the refresh family: a rotation extends the chain, a replayed spent token ends the whole family', async () => {
  await page.getByRole('link', { name: 'Labs', exact: true }).click();
  const families = page.getByTestId('family');
  await families.first().waitFor();
  const current = families.filter({ has: page.locator('[data-held="true"]') });
  assert.equal(await current.count(), 1, 'the family of this tab’s token is marked');
  const grant = await current.getAttribute('data-grant');
  const family = page.locator(`[data-testid="family"][data-grant="${grant}"]`);
  const states = () => family.getByTestId('family-token').evaluateAll((rows) => rows.map((r) => r.dataset.state));
  const before = await states();
  assert.equal(before.at(-1), 'live');
  assert.ok(before.slice(0, -1).every((state) => state === 'spent'), before.join(' '));

  await page.getByTestId('refresh-now').click();
  await eventually('the chain grows by one', async () => (await states()).length === before.length + 1);
  const after = await states();
  assert.deepEqual(after, [...before.slice(0, -1), 'spent', 'live']);
  assert.equal(await family.locator('[data-testid="family-token"]').last().getAttribute('data-held'), 'true');
  assert.match(await family.locator('svg.chain').getAttribute('aria-label'), /the last one live/);
  await screenshot(page, 'refresh-family', page.getByTestId('lab-family'));

  const replayed = page.waitForResponse((r) => r.request().method() === 'POST' && r.url() === `${API}/token`);
  await page.getByTestId('replay').click();
  const answer = await replayed;
  assert.equal(answer.status(), 400);
  assert.equal((await answer.json()).error, 'invalid_grant');
  const outcome = page.getByTestId('replay-outcome');
  await outcome.waitFor();
  assert.match(await outcome.innerText(), /invalid_grant/);

  // The family's tokens are refused now: logging in again shows the chain as the server left it.
  await outcome.getByRole('button', { name: 'Log in again' }).click();
  await logInOnServerPage(page, 'user0', 'password0');
  await page.waitForURL(`${APP}/labs`);
  await family.waitFor();
  assert.equal(await family.getAttribute('data-revoked'), 'true');
  assert.match(await family.innerText(), /reuse/);
  assert.deepEqual(await states(), [...after.slice(0, -1), 'revoked']);
  assert.equal(await family.locator('[data-held="true"]').count(), 0);
  assert.equal(await families.filter({ has: page.locator('[data-held="true"]') }).count(), 1, 'the new login holds a live token');
});

test('a link to another bundle clicked while a refresh is on its way waits for its answer: the next page holds the rotated token', async () => {
  assert.equal(new URL(page.url()).pathname, '/labs');
  const storedGrant = async () => JSON.parse((await page.evaluate(() => sessionStorage.getItem('oauth.refresh'))) ?? 'null');
  const spent = (await storedGrant())?.refresh_token;
  assert.ok(spent, 'the tab holds a refresh token');
  // The server answers the refresh at once (and rotates); its answer reaches the page 1.5 s later.
  let answered;
  const landed = new Promise((resolve) => (answered = resolve));
  await page.route(`${API}/token`, async (route) => {
    const response = await route.fetch();
    answered();
    await new Promise((resolve) => setTimeout(resolve, 1500));
    await route.fulfill({ response }).catch(() => {});
  }, { times: 1 });
  await page.evaluate(() => { window.stillThisPage = true; });
  await page.getByTestId('refresh-now').click();
  await landed;
  // The Products page is the app's bundle: a page load, which would cut the answer off.
  await page.getByRole('link', { name: 'Products', exact: true }).click();
  await page.waitForURL(`${APP}/products`);
  await page.locator('.product').first().waitFor();
  assert.equal(await page.evaluate(() => window.stillThisPage), undefined, 'the app’s bundle was loaded');
  const now = await storedGrant();
  assert.ok(now?.refresh_token, 'still logged in');
  assert.notEqual(now.refresh_token, spent, 'the new page holds the rotated refresh token, not the spent one');
  // And the server agrees: the rotated token is live (a spent one would be refused as reuse).
  await page.getByRole('link', { name: 'Labs', exact: true }).click();
  await page.getByTestId('family').first().waitFor();
  const refreshed = page.waitForResponse((r) => r.request().method() === 'POST' && r.url() === `${API}/token`);
  await page.getByTestId('refresh-now').click();
  assert.equal((await refreshed).status(), 200);
});

test('the key lab: a rotation refused while unsafe, forced, and the next token’s key already in the JWKS cached before', async () => {
  await page.getByRole('link', { name: 'Labs', exact: true }).click();
  const keys = page.getByTestId('lab-key');
  await keys.first().waitFor();
  await page.getByText(/JWKS cached at/).waitFor();
  const rows = () => keys.evaluateAll((all) => all.map((r) => ({ kid: r.querySelector('code').textContent, ...r.dataset })));
  const before = await rows();
  const next = before.filter((k) => k.state === 'next').map((k) => k.kid);
  assert.ok(next.length > 0, JSON.stringify(before));
  assert.ok(before.every((k) => k.cached === 'true'), 'the cache holds every published key');
  assert.ok(before.some((k) => k.signs === 'true' && k.state === 'current'), 'a current key signs the token');
  // The life cycle drawn: every key in its stage, the stage of the key signing this tab's token marked.
  const stage = (name) => page.locator(`[data-testid="key-life"] g[data-stage="${name}"]`);
  assert.equal(Number(await stage('next').getAttribute('data-keys')), next.length);
  assert.match(await stage('current').getAttribute('class'), /signer/);

  // A next key published less than a JWKS cache lifetime ago: refused, unless forced.
  await page.getByTestId('rotate').click();
  const refused = page.getByTestId('rotation-refused');
  await refused.waitFor();
  assert.match(await refused.innerText(), /force/);
  await refused.getByTestId('rotate-force').click();
  await eventually('the next keys sign', async () => {
    const now = await rows();
    return next.every((kid) => now.some((k) => k.kid === kid && k.state === 'current'));
  });

  await page.getByTestId('new-token').click();
  await eventually('the new token is signed by a former next key', async () => {
    const now = await rows();
    return now.some((k) => k.signs === 'true' && next.includes(k.kid) && k.cached === 'true');
  });
  await screenshot(page, 'key-lab', page.getByTestId('lab-keys'));
});

test('the clock lab: a token expired by the server’s clock is renewed and the call made again; past the refresh token’s life, the app asks to log in', async () => {
  try {
    await page.getByRole('link', { name: 'Labs', exact: true }).click();
    const clock = page.getByTestId('server-clock');
    await clock.waitFor();
    assert.equal(await clock.getAttribute('data-offset'), '0');
    await page.getByRole('button', { name: '+16 min' }).click();
    await page.locator('[data-testid="server-clock"][data-offset="960"]').waitFor();
    // Behind a load balancer the other instance follows within the delay (until then it would
    // find a token the first one renewed "issued in the future"): wait for it, then call until
    // a call has met the expired token.
    await new Promise((resolve) => setTimeout(resolve, 2500));
    const outcome = page.getByTestId('call-outcome');
    await eventually('a call meets the expired token and renews it', async () => {
      await page.getByTestId('call-api').click();
      await outcome.waitFor();
      await page.locator('[data-testid="call-api"]:not([disabled])').waitFor();
      return /→ 401/.test(await outcome.innerText());
    }, 10_000);
    // Refused as expired, renewed once, called again (the nav bar may read /api/me too when
    // the token changes).
    const steps = (await outcome.locator('li').allInnerTexts()).map((step) => step.replace(' → ', ' '));
    assert.deepEqual(steps.slice(0, 2), ['GET /api/me 401', 'POST /token 200'], steps.join(', '));
    assert.ok(steps.length >= 3 && steps.slice(2).every((step) => step === 'GET /api/me 200'), steps.join(', '));
    assert.match(await outcome.innerText(), /The API answered: User Number 0/);
    await screenshot(page, 'clock-lab', page.getByTestId('lab-clock'));

    // A day later the refresh token has expired too: the app ends the session and says why.
    await page.getByRole('button', { name: '+25 h' }).click();
    await page.locator('[data-testid="server-clock"][data-offset="90960"]').waitFor();
    await new Promise((resolve) => setTimeout(resolve, 2500));
    await page.getByTestId('call-api').click();
    // The home page is the app's bundle: a page load, once the refused refresh has settled.
    await page.waitForURL(`${APP}/`);
    await clickable(page, 'Log in').waitFor();
    assert.match(await page.locator('main').innerText(), /refresh token[^.]*expired|expired[^.]*log in again/i);
  } finally {
    await setServerClock(0);
  }
  // Tokens issued while the clock was ahead are refused now (iat in the future): a fresh login
  // for the rest.
  await clickable(page, 'Log in').click();
  await logInOnServerPage(page, 'user0', 'password0');
});

test('the API-token lab: a token created, used, revoked and refused; another expired by the server’s clock', async () => {
  await page.getByRole('link', { name: 'Labs', exact: true }).click();
  const outcome = page.getByTestId('lab-token-outcome');
  const row = (name) => page.getByTestId('lab-api-token').filter({ hasText: name });
  const create = async (name) => {
    await page.getByTestId('lab-token-name').fill(name);
    await page.getByTestId('lab-token-create').click();
    await page.getByTestId('secret-value').waitFor();
    const token = (await page.getByTestId('secret-value').innerText()).trim();
    assert.match(token, /^amt_[0-9a-f]{16}_/);
    await page.getByRole('button', { name: 'Done, hide it' }).click();
    await row(name).waitFor();
    return token;
  };
  const useIt = async () => {
    // The answer to this call, then the message it leaves (not one left by an earlier action).
    await Promise.all([
      page.waitForResponse((r) => r.url() === `${API}/api/whoami` && r.request().headers().authorization?.startsWith('Token ')),
      page.getByTestId('lab-token-use').click(),
    ]);
    await outcome.waitFor();
    await page.locator('[data-testid="lab-token-use"]:not([disabled])').waitFor();
    return outcome.innerText();
  };
  const script = `script-${Date.now()}`;
  const token = await create(script);
  // Sent straight at the API as a script would, with the whole token.
  await Promise.all([
    page.waitForRequest((r) => r.url() === `${API}/api/whoami` && r.headers().authorization === `Token ${token}`),
    useIt(),
  ]);
  assert.match(await outcome.innerText(), /^200: the API took it as .* \(Token scheme\) with scope products:read/);
  await page.locator(`[data-testid="lab-api-token"][data-used="true"]`).filter({ hasText: script }).waitFor();
  assert.equal(await row(script).getAttribute('data-state'), 'active');
  await screenshot(page, 'api-token-lab', page.getByTestId('lab-api-tokens'));

  await row(script).getByTestId('lab-token-revoke').click();
  await page.locator('[data-testid="lab-api-token"][data-state="revoked"]').filter({ hasText: script }).waitFor();
  assert.match(await useIt(), /^401: .*revoked/i);

  // The timeline keeps the token's id, never its secret.
  const stored = await page.evaluate(() => sessionStorage.getItem('oauth.timeline'));
  assert.ok(stored.includes(token.slice(0, 20)), 'the id is in the timeline');
  assert.ok(!stored.includes(token.slice(21)), 'the secret is not');

  const cron = `cron-${Date.now()}`;
  await create(cron);
  try {
    await setServerClock(180);
    assert.match(await useIt(), /^401: .*expired/i);
    await page.locator('[data-testid="lab-api-token"][data-state="expired"]').filter({ hasText: cron }).waitFor();
  } finally {
    await setServerClock(0);
  }
});

test('the app refreshes the access token before it expires, and logging out revokes the refresh token', async () => {
  const metadata = await (await fetch(`${API}/.well-known/oauth-authorization-server`)).json();
  assert.ok(metadata.revocation_endpoint, 'the server publishes a revocation endpoint');

  // A browser of its own: the fake clock belongs to a whole context, and the tests above run on
  // real time.
  const browser = await launchChromium();
  /** @type {import('playwright-core').Page | undefined} */
  let tab;
  try {
    const clocked = await browser.newContext();
    clocked.setDefaultTimeout(TIMEOUT);
    // Installed before any page loads; time then runs at real speed until fast-forwarded.
    await clocked.clock.install();
    tab = await clocked.newPage();
    reportPageErrors(tab);

    const refreshes = [];
    const revocations = [];
    tab.on('request', (request) => {
      if (request.method() !== 'POST') return;
      if (request.url() === metadata.token_endpoint && formOf(request).grant_type === 'refresh_token') {
        refreshes.push(formOf(request));
      }
      if (request.url() === metadata.revocation_endpoint) revocations.push(formOf(request));
    });
    const storedGrant = async () => JSON.parse((await tab.evaluate(() => sessionStorage.getItem('oauth.refresh'))) ?? 'null');

    await withScreenshot(
      'refresh',
      () => tab ?? page,
      async () => {
        await tab.goto(APP);
        await clickable(tab, 'Log in').click();
        await logInOnServerPage(tab, 'user0', 'password0');
        await tab.locator('.product').first().waitFor();

        const first = await accessTokenCookie(clocked);
        assert.ok(first?.value, 'logged in: the access_token cookie is set');
        const grant = await storedGrant();
        assert.ok(grant?.refresh_token, 'the refresh token is in sessionStorage');
        const inCookies = (await clocked.cookies()).filter((c) => c.value.includes(grant.refresh_token));
        assert.deepEqual(inCookies, [], 'the refresh token is in no cookie');
        assert.deepEqual(refreshes, [], 'no refresh right after logging in');

        // 80 % of the 900 s lifetime: the refresh is due 720 s after login. Jump just past it.
        const refreshed = tab.waitForResponse(
          (r) => r.url() === metadata.token_endpoint && formOf(r.request()).grant_type === 'refresh_token',
        );
        await tab.clock.fastForward('12:05');
        const response = await refreshed;
        assert.equal(response.status(), 200, 'the refresh succeeded');
        assert.equal(refreshes.length, 1, 'exactly one refresh');
        assert.equal(refreshes[0].refresh_token, grant.refresh_token, 'it presented the stored refresh token');
        assert.equal(refreshes[0].client_id, 'demo-spa');

        const second = await eventually('the cookie holds the new access token', async () => {
          const cookie = await accessTokenCookie(clocked);
          return cookie?.value && cookie.value !== first.value ? cookie : undefined;
        });
        assert.match(second.value, JWT, 'a JWT');
        const rotated = await eventually('the new refresh token is stored', async () => {
          const now = await storedGrant();
          return now?.refresh_token && now.refresh_token !== grant.refresh_token ? now : undefined;
        });

        // The token page says when the next refresh runs: 720 s after this one.
        await clickable(tab, 'Token').click();
        const next = tab.locator('.next-refresh time');
        await next.waitFor();
        const nextAt = Date.parse(await next.getAttribute('datetime'));
        const pageNow = await tab.evaluate(() => Date.now());
        const inSeconds = (nextAt - pageNow) / 1000;
        assert.ok(inSeconds > 690 && inSeconds <= 720, `the next refresh is about 12 min away (${inSeconds} s)`);
        assert.match(await tab.locator('.next-refresh').innerText(), /in 1[12] min/);
        const shown = await tab.locator('.refresh-token').innerText();
        assert.ok(!shown.includes(rotated.refresh_token), 'the refresh token is never shown whole');

        // The API answers the new access token.
        const products = tab.waitForRequest((r) => r.url().startsWith(`${API}/api/products`) && r.method() === 'GET');
        await clickable(tab, 'Products').click();
        assert.equal((await products).headers().authorization, `Bearer ${second.value}`);
        await tab.locator('.product').first().waitFor();
        assert.equal(refreshes.length, 1, 'still exactly one refresh');

        // Logging out revokes the current refresh token and forgets every token.
        const revoked = tab.waitForRequest((r) => r.url() === metadata.revocation_endpoint && r.method() === 'POST');
        await clickable(tab, 'Log out').click();
        const revocationRequest = await revoked;
        const revocation = formOf(revocationRequest);
        assert.equal(revocation.token, rotated.refresh_token, 'logout revokes the current refresh token');
        assert.equal(revocation.client_id, 'demo-spa');
        assert.equal(revocations.length, 1, 'one revocation');
        await clickable(tab, 'Log in').waitFor();
        const cookie = await accessTokenCookie(clocked);
        assert.ok(!cookie || cookie.value === '', 'the access_token cookie is gone');
        assert.equal(await storedGrant(), null, 'the refresh token is gone from sessionStorage');

        // The server agrees: the revoked refresh token no longer works. The revocation is sent
        // with keepalive while the home page loads: its answer first (behind the load balancer
        // the check could otherwise overtake it).
        assert.equal((await revocationRequest.response())?.status(), 200, 'the revocation was answered');
        const reuse = await fetch(metadata.token_endpoint, {
          method: 'POST',
          body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: rotated.refresh_token, client_id: 'demo-spa' }),
        });
        assert.equal(reuse.status, 400);
        assert.equal((await reuse.json()).error, 'invalid_grant');
      },
    );
  } finally {
    await browser.close();
  }
});

test('a page the browser restores from its back/forward cache after a logout elsewhere loads again, logged out', async () => {
  // Playwright turns the cache off by default; browsers keep it on.
  const dir = await mkdtemp(path.join(tmpdir(), 'e2e-bfcache-'));
  const ctx = await chromium.launchPersistentContext(dir, {
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_ARGS,
    ignoreDefaultArgs: ['--disable-back-forward-cache'],
  });
  try {
    ctx.setDefaultTimeout(TIMEOUT);
    // Records, in the tab's sessionStorage (which outlives the reload), that a page was restored
    // from the cache: without it, a page the browser did not keep would pass as well.
    await ctx.addInitScript(() => {
      window.addEventListener('pageshow', (event) => {
        if (event.persisted) sessionStorage.setItem('e2e.restored', location.pathname);
      });
    });
    const tab = ctx.pages()[0] ?? (await ctx.newPage());
    reportPageErrors(tab);
    await tab.goto(`${APP}/token`);
    await clickable(tab, 'Log in').click();
    await logInOnServerPage(tab, 'user0', 'password0');
    await tab.waitForURL(`${APP}/token`);
    await tab.getByRole('link', { name: 'Products', exact: true }).waitFor();
    // A page with a request still open is not kept in the cache.
    await tab.waitForLoadState('networkidle');
    await tab.evaluate(() => { window.stillThisPage = true; });
    // To the app's bundle (a page load), and log out there.
    await tab.getByRole('link', { name: 'Products', exact: true }).click();
    await tab.waitForURL(`${APP}/products`);
    await tab.locator('.product').first().waitFor();
    await clickable(tab, 'Log out').click();
    await clickable(tab, 'Log in').waitFor();
    // Back to /products (the same page), then to /token: the inspector's page, from the cache
    // (which fires no load event: wait for the commit).
    await tab.goBack({ waitUntil: 'commit' });
    await tab.waitForURL(`${APP}/products`, { waitUntil: 'commit' });
    await tab.goBack({ waitUntil: 'commit' });
    await tab.waitForURL(`${APP}/token`, { waitUntil: 'commit' });
    await clickable(tab, 'Log in').waitFor();
    assert.equal(await tab.evaluate(() => sessionStorage.getItem('e2e.restored')), '/token', 'the browser restored /token from its cache');
    assert.equal(await tab.evaluate(() => window.stillThisPage), undefined, 'the restored page was loaded again');
    assert.equal(await tab.getByRole('button', { name: 'Log out', exact: true }).count(), 0);
    assert.equal(await tab.evaluate(() => sessionStorage.getItem('oauth.refresh')), null);
  } finally {
    await ctx.close();
    await rm(dir, { recursive: true, force: true });
  }
});

test('a third-party app gets a consent screen: Deny answers access_denied, Allow a code', async () => {
  const tab = await context.newPage();
  // The redirect back is what is under test (not the app's handling of a foreign client's
  // code), so the request the browser makes is recorded as it leaves.
  const landed = [];
  tab.on('request', (request) => {
    if (request.url().startsWith(`${APP}/callback`)) landed.push(new URL(request.url()));
  });
  const authorize = async (state) => {
    const { createHash, randomBytes } = await import('node:crypto');
    const verifier = randomBytes(32).toString('base64url');
    const url = new URL(`${API}/authorize`);
    url.search = new URLSearchParams({
      response_type: 'code',
      client_id: 'demo-partner',
      redirect_uri: `${APP}/callback`,
      scope: 'openid profile orders:read',
      state,
      code_challenge: createHash('sha256').update(verifier).digest('base64url'),
      code_challenge_method: 'S256',
    }).toString();
    await tab.goto(url.href);
    await tab.locator('input[name="username"]').fill('user1');
    await tab.locator('input[name="password"]').fill('password1');
    await tab.getByRole('button', { name: 'Log in' }).click();
    await tab.getByRole('heading', { name: 'Allow access?' }).waitFor();
    const text = await tab.locator('main').innerText();
    for (const words of ['Partner shop (third-party app)', 'See your name and username', 'See the orders you have placed']) {
      assert.ok(text.includes(words), `the consent screen says ${words}`);
    }
  };
  await withScreenshot('consent', tab, async () => {
    await authorize('deny-me');
    await tab.getByRole('button', { name: 'Deny' }).click();
    await tab.waitForURL((url) => url.href.startsWith(`${APP}/callback`));
    let back = landed.at(-1);
    assert.equal(back.searchParams.get('error'), 'access_denied');
    assert.equal(back.searchParams.get('state'), 'deny-me');
    assert.equal(back.searchParams.get('code'), null);

    await authorize('allow-me');
    await tab.getByRole('button', { name: 'Allow' }).click();
    await tab.waitForURL((url) => url.href.startsWith(`${APP}/callback`));
    back = landed.at(-1);
    assert.equal(back.searchParams.get('state'), 'allow-me');
    assert.match(back.searchParams.get('code') ?? '', /^[A-Za-z0-9_-]{43}$/);
    assert.equal(back.searchParams.get('iss'), API);
  });
  await tab.close();
});

test('sender-constrained (DPoP): the browser keeps a non-extractable key, its proofs are in the Network tab, and a copied token is worth nothing', async () => {
  const { createHash } = await import('node:crypto');
  const jose = await import('jose');
  const metadata = await (await fetch(`${API}/.well-known/oauth-authorization-server`)).json();
  const browser = await launchChromium();
  const tabContext = await browser.newContext();
  tabContext.setDefaultTimeout(TIMEOUT);
  const tab = await tabContext.newPage();
  reportPageErrors(tab);
  const sent = [];
  tab.on('request', (request) => {
    if (request.method() !== 'OPTIONS') sent.push(request);
  });
  try {
    await withScreenshot('dpop', tab, async () => {
      await tab.goto(APP);
      await tab.getByLabel('Sender-constrained tokens (DPoP, RFC 9449)').check();
      await clickable(tab, 'Log in').click();
      await logInOnServerPage(tab, 'user0', 'password0');
      await tab.locator('.product').first().waitFor();

      // The code exchange carried a proof for the token endpoint, and got a DPoP token.
      const exchanges = sent.filter((r) => r.url() === metadata.token_endpoint && r.method() === 'POST');
      const exchange = exchanges.at(-1);
      const tokenProof = await exchange.headerValue('dpop');
      assert.match(tokenProof ?? '', JWT, 'the token request carries a DPoP proof');
      const { jwk } = jose.decodeProtectedHeader(tokenProof);
      const key = await jose.importJWK(jwk, 'ES256');
      const proofed = await jose.jwtVerify(tokenProof, key, { typ: 'dpop+jwt', algorithms: ['ES256'] });
      assert.equal(proofed.payload.htm, 'POST');
      assert.equal(proofed.payload.htu, metadata.token_endpoint);
      if (exchanges.length > 1) {
        // Nonces required (the run through the load balancer): the first proof was sent back
        // for one (RFC 9449 §8), and the app signed a new proof carrying it.
        const first = await exchanges[0].response();
        assert.equal(first.status(), 400);
        assert.equal((await first.json()).error, 'use_dpop_nonce');
        assert.ok(proofed.payload.nonce, 'the second proof carries the nonce');
      }
      const answer = await (await exchange.response()).json();
      assert.equal(answer.token_type, 'DPoP');
      const jkt = await jose.calculateJwkThumbprint(jwk);
      assert.equal(jose.decodeJwt(answer.access_token).cnf.jkt, jkt, 'the token is bound to the key');

      // The API call: Authorization: DPoP, with a proof by the same key, hashing the token.
      const call = sent.filter((r) => r.url().startsWith(`${API}/api/products`)).at(-1);
      const headers = await call.allHeaders();
      assert.match(headers.authorization, /^DPoP /);
      const token = headers.authorization.slice('DPoP '.length);
      const apiProof = await jose.jwtVerify(headers.dpop, key, { typ: 'dpop+jwt', algorithms: ['ES256'] });
      assert.equal(apiProof.payload.htm, 'GET');
      assert.equal(apiProof.payload.htu, `${API}/api/products`);
      assert.equal(apiProof.payload.ath, createHash('sha256').update(token).digest('base64url'));
      assert.notEqual(apiProof.payload.jti, proofed.payload.jti, 'a new proof for each request');

      // The key cannot leave the browser: the page itself cannot export it.
      const extractable = await tab.evaluate(
        () =>
          new Promise((resolve, reject) => {
            const open = indexedDB.open('oauth-shop', 1);
            open.onerror = () => reject(open.error);
            open.onsuccess = () => {
              const get = open.result.transaction('dpop-keys').objectStore('dpop-keys').get('current');
              get.onerror = () => reject(get.error);
              get.onsuccess = async () => {
                if (!get.result) return reject(new Error('no key is kept'));
                const privateKey = get.result.private;
                const exported = await crypto.subtle.exportKey('pkcs8', privateKey).then(
                  () => 'exported',
                  (e) => e.name,
                );
                resolve({ extractable: privateKey.extractable, exported, x: get.result.x });
              };
            };
          }),
      );
      assert.deepEqual(extractable, { extractable: false, exported: 'InvalidAccessError', x: jwk.x });

      // After a reload the key comes back from IndexedDB and signs as before.
      const before = sent.length;
      await tab.reload();
      await tab.locator('.product').first().waitFor();
      const again = sent.slice(before).filter((r) => r.url().startsWith(`${API}/api/products`)).at(-1);
      const reloaded = await again.allHeaders();
      assert.equal(await jose.calculateJwkThumbprint(jose.decodeProtectedHeader(reloaded.dpop).jwk), jkt);
      await jose.jwtVerify(reloaded.dpop, key, { typ: 'dpop+jwt', algorithms: ['ES256'] });
      // A proof by another key, however well formed, does not make a copied token usable.
      const thief = await jose.generateKeyPair('ES256');
      const thiefCall = async (nonce) => {
        const thiefProof = await new jose.SignJWT({
          htm: 'GET',
          htu: `${API}/api/products`,
          jti: crypto.randomUUID(),
          ath: createHash('sha256').update(token).digest('base64url'),
          ...(nonce ? { nonce } : {}),
        })
          .setProtectedHeader({ typ: 'dpop+jwt', alg: 'ES256', jwk: await jose.exportJWK(thief.publicKey) })
          .setIssuedAt()
          .sign(thief.privateKey);
        return fetch(`${API}/api/products`, { headers: { authorization: `DPoP ${token}`, dpop: thiefProof } });
      };
      let withThiefKey = await thiefCall();
      if (/use_dpop_nonce/.test(withThiefKey.headers.get('www-authenticate') ?? '')) {
        // Nonces required: the thief gets one too, and is refused for the key all the same.
        withThiefKey = await thiefCall(withThiefKey.headers.get('dpop-nonce'));
      }
      assert.equal(withThiefKey.status, 401);
      const challenge = withThiefKey.headers.get('www-authenticate') ?? '';
      assert.match(challenge, /^DPoP /);
      assert.doesNotMatch(challenge, /use_dpop_nonce/);
      assert.match(challenge, /error="invalid_dpop_proof"|error="invalid_token"/);

      // A copy of the token, taken from the cookie, is refused without a proof by the key.
      const copied = (await tabContext.cookies(APP)).find((c) => c.name === 'access_token').value;
      for (const authorization of [`Bearer ${copied}`, `DPoP ${copied}`]) {
        const stolen = await fetch(`${API}/api/products`, { headers: { authorization } });
        assert.equal(stolen.status, 401, authorization.split(' ')[0]);
      }

      // The token page says so, naming the key's thumbprint.
      await tab.getByRole('link', { name: 'Token', exact: true }).first().click();
      const bound = tab.getByTestId('dpop-bound');
      await bound.waitFor();
      assert.match(await bound.innerText(), new RegExp(jkt));
      await screenshot(tab, 'dpop-token-page');
    });
  } finally {
    await browser.close();
  }
});
