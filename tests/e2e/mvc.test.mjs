// The app's MVC mode (source document 000) through its real UI, in headless Chromium: the
// backend-for-frontend on the app's origin logs the user in as a confidential client and keeps
// the tokens, so the browser never holds one. Checked from the browser's side:
// - logging in, the products, an order, the orders page, the mode shown, the token page's
//   server-side exchanges; a refused step-up; a failed login's message on the home page;
// - no request the browser makes carries `Authorization`, no script-readable cookie or storage
//   holds a token, and the session cookie is HttpOnly, SameSite=Strict, Path=/, host-only;
// - forged requests from another origin (same site, and another site) and a same-origin call
//   without the CSRF header change nothing;
// - logging out ends the session (its cookie is dead even replayed by hand) and the server
//   revokes the tokens, which an administrator (logged in through the same app, stepping up to
//   the admin scope) reads in the security event log.
//
// Runs only with E2E_MODE=mvc, against a backend started with `--demo --app-mode mvc`
// (scripts/test.sh).

import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import {
  API,
  APP,
  TIMEOUT,
  clickable,
  eventually,
  forMode,
  launchChromium,
  logInOnServerPage,
  reloadUntil,
  reportPageErrors,
  screenshot,
  setServerClock,
  withScreenshot,
} from './support.mjs';
import { userTokens } from './oauth-client.mjs';

const { test, before, after } = forMode('mvc');

/** A JWT anywhere in a text: three base64url segments, the first a JSON object's (`eyJ`). */
const JWT_INSIDE = /eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+/;
const ORDERS = `${APP}/bff/api/orders`;

/** @type {import('playwright-core').Browser} */
let browser;
/** @type {import('playwright-core').BrowserContext} */
let context;
/** user0's tab. */
/** @type {import('playwright-core').Page} */
let page;
/** The administrator's tab, in a context of its own. */
/** @type {import('playwright-core').Page | undefined} */
let adminPage;
let metadata;
/** Every request any page of this file made, in every context. */
const requests = [];
/** Every response of the app's origin, for the cookies it set. */
const appResponses = [];

before(async () => {
  metadata = await (await fetch(`${API}/.well-known/oauth-authorization-server`)).json();
  browser = await launchChromium();
  ({ context, page } = await newTab());
});

after(async () => {
  await browser?.close();
});

async function newTab() {
  const tabContext = await browser.newContext();
  tabContext.setDefaultTimeout(TIMEOUT);
  tabContext.on('request', (request) => requests.push(request));
  tabContext.on('response', (response) => {
    if (response.url().startsWith(`${APP}/`)) appResponses.push(response);
  });
  const tab = await tabContext.newPage();
  // The forged requests and the CSRF check provoke refusals on purpose.
  reportPageErrors(tab, /status of (401|403)/);
  return { context: tabContext, page: tab };
}

/** What `GET /bff/session` answers the page now: its status and body. */
async function serverSession(on = page) {
  return on.evaluate(async () => {
    const response = await fetch('/bff/session');
    return { status: response.status, body: await response.json().catch(() => null) };
  });
}

/** How many orders the session whose cookie is `cookie` has, through the backend-for-frontend. */
async function orderCount(cookie) {
  const response = await fetch(ORDERS, { headers: { Cookie: `${cookie.name}=${cookie.value}` } });
  assert.equal(response.status, 200, 'GET /bff/api/orders');
  return (await response.json()).length;
}

/** The session cookie: `session` over http, `__Host-session` over https. */
async function sessionCookie(of = context) {
  return (await of.cookies(APP)).find((c) => c.name === 'session' || c.name === '__Host-session');
}

test('log in through the app’s server, see the products, order one and find it on the orders page', async () => {
  await withScreenshot('mvc-login', page, async () => {
    await page.goto(APP);
    assert.equal((await page.getByTestId('app-mode').innerText()).trim(), 'MVC mode', 'the nav bar shows the mode');
    assert.match(
      await page.getByTestId('footer').innerText(),
      /tokens kept on the server \(backend-for-frontend\)/,
      'so does the footer',
    );

    const login = page.waitForRequest((r) => r.url().startsWith(`${APP}/bff/login`));
    const authorize = page.waitForRequest((r) => r.url().startsWith(metadata.authorization_endpoint));
    await clickable(page, 'Log in').click();
    const started = new URL((await login).url());
    assert.equal(started.searchParams.get('return_to'), '/products', 'a login from the home page returns to the products');
    const asked = new URL((await authorize).url()).searchParams;
    assert.equal(asked.get('client_id'), 'demo-bff', 'the server logs in as its own client');
    assert.equal(asked.get('redirect_uri'), `${APP}/bff/callback`);
    assert.equal(asked.get('code_challenge_method'), 'S256');

    await logInOnServerPage(page, 'user0', 'password0');
    await page.waitForURL(`${APP}/products`);
    await page.locator('.product').first().waitFor();
    assert.equal((await page.locator('.user').innerText()).trim(), 'user0', 'the nav bar names the user');

    const cookie = await sessionCookie();
    const before = await orderCount(cookie);
    const posted = page.waitForResponse((r) => r.request().method() === 'POST' && r.url() === ORDERS);
    await page.locator('.product').first().getByRole('button', { name: 'Order' }).click();
    const response = await posted;
    assert.ok(response.ok(), `POST /bff/api/orders answered ${response.status()}`);
    const { body } = await serverSession();
    assert.equal(
      await response.request().headerValue('x-csrf-token'),
      body.csrf_token,
      'the order carries the session’s CSRF token',
    );
    await page.getByRole('status').filter({ hasText: 'Ordered' }).waitFor();
    assert.equal(await orderCount(cookie), before + 1, 'one more order');

    await page.getByRole('link', { name: 'Orders', exact: true }).click();
    await page.locator('.order').first().waitFor();
    assert.equal(await page.locator('.order').count(), before + 1, 'the orders page lists it');
  });
});

test('an order the API refuses is explained on the Refusals page, under the id the browser saw', async () => {
  await withScreenshot('mvc-refusal', page, async () => {
    const requestId = `mvc-refused-${Date.now()}`;
    const answer = await page.evaluate(async (id) => {
      const session = await (await fetch('/bff/session')).json();
      const response = await fetch('/bff/api/orders', {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-csrf-token': session.csrf_token, 'x-request-id': id },
        body: JSON.stringify({ product_id: 1, quantity: 1000 }),
      });
      return { status: response.status, id: response.headers.get('x-request-id') };
    }, requestId);
    assert.equal(answer.status, 422, 'a quantity out of range is refused');
    assert.equal(answer.id, requestId, 'the app’s server kept the browser’s request id and passed it on');

    await page.getByRole('link', { name: 'Refusals', exact: true }).click();
    const explained = page.locator(`.explained[data-request-id="${requestId}"]`).first();
    await reloadUntil(page, explained, page.locator('.card.refusal, .card.empty').first());
    const text = await explained.innerText();
    assert.match(text, /POST \/api\/orders/, text);
    assert.match(text, /422/, text);
    assert.match(text, /quantity/, text);
  });
});

test('the token debugger works through the app’s server: a pasted non-JWT fails the format check', async () => {
  await withScreenshot('mvc-debugger', page, async () => {
    await page.getByRole('link', { name: 'Debugger', exact: true }).click();
    assert.equal(await page.getByRole('button', { name: 'Use my access token' }).count(), 0, 'no token in this browser to use');
    await page.locator('textarea[name="token"]').fill('abc.def');
    const asked = page.waitForResponse((r) => r.url() === `${APP}/bff/api/debug/token`);
    await page.getByRole('button', { name: 'Check', exact: true }).click();
    assert.equal((await asked).status(), 200);
    await page.locator('.verdict[data-accepted="false"]').waitFor();
    const rows = await page.locator('tr.token-check').evaluateAll((r) => r.map((row) => [row.dataset.check, row.dataset.passed]));
    assert.deepEqual(rows, [['format', 'false']]);
  });
});

test('the timeline shows the server login, each call to the app’s server and the server’s own exchanges, never a token', async () => {
  await page.getByRole('link', { name: 'Timeline', exact: true }).click();
  const entries = page.locator('[data-testid="timeline"] .timeline-entry');
  await entries.first().waitFor();
  const steps = await entries.evaluateAll((items) => items.map((item) => item.dataset.step));
  assert.equal(steps[0], 'serverlogin', steps.join(' '));
  assert.ok(steps.includes('server'), steps.join(' '));
  const login = entries.first();
  await login.locator('summary').click();
  assert.match(await login.locator('table.params').innerText(), /return_to\s+\/products/);
  const lit = () => page.locator('[data-testid="sequence"] g.lit').evaluateAll((gs) => [...new Set(gs.map((g) => g.dataset.step))]);
  await eventually('the server login is lit', async () => JSON.stringify(await lit()) === '["serverlogin"]');
  await screenshot(page, 'mvc-timeline');

  const order = entries.filter({ has: page.locator('summary', { hasText: /POST[\s\S]*\/bff\/api\/orders/ }) }).first();
  await order.locator('summary').click();
  const csrf = order.locator('table.headers tr', { hasText: 'x-csrf-token' }).locator('td').nth(1);
  assert.match(await csrf.innerText(), /hidden/);
  await order.getByTestId('show-secrets').click();
  const { body } = await serverSession();
  assert.equal((await csrf.innerText()).trim(), body.csrf_token);
  assert.match(await order.innerText(), /HttpOnly/);

  const exchanges = page.getByRole('table', { name: 'Server-side token exchanges' }).locator('tr.exchange');
  await exchanges.first().waitFor();
  assert.match(await exchanges.first().innerText(), /authorization_code/);
  assert.doesNotMatch(await page.content(), JWT_INSIDE, 'no token anywhere in the page');

  const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('export-har').click()]);
  const { readFile } = await import('node:fs/promises');
  const har = JSON.parse(await readFile(await download.path(), 'utf8'));
  assert.equal(har.log.version, '1.2');
  assert.ok(har.log.entries.some((e) => e.request.method === 'POST' && e.request.url === ORDERS));
  assert.ok(!JSON.stringify(har).includes(body.csrf_token), 'the CSRF token is masked in the export');
});

test('the labs show the server’s login as a refresh family, without a token or a replay button', async () => {
  await page.getByRole('link', { name: 'Labs', exact: true }).click();
  const family = page.getByTestId('family').first();
  await family.waitFor();
  assert.match(await family.innerText(), /demo-bff/);
  const states = await family.getByTestId('family-token').evaluateAll((rows) => rows.map((r) => r.dataset.state));
  assert.equal(states.at(-1), 'live', states.join(' '));
  assert.equal(await page.getByTestId('replay').count(), 0, 'this browser holds no refresh token to replay');
  assert.doesNotMatch(await page.content(), JWT_INSIDE);
});

test('the API-token lab: a token created through the app’s server, used from outside the browser, its use and revocation shown', async () => {
  await page.getByRole('link', { name: 'Labs', exact: true }).click();
  const name = `mvc-script-${Date.now()}`;
  await page.getByTestId('lab-token-name').fill(name);
  await page.getByTestId('lab-token-create').click();
  const token = (await page.getByTestId('secret-value').innerText()).trim();
  assert.match(token, /^amt_[0-9a-f]{16}_/);
  assert.match(await page.getByTestId('secret-box').innerText(), /curl -H 'Authorization: Token amt_/);
  await page.getByRole('button', { name: 'Done, hide it' }).click();
  assert.equal(await page.getByTestId('lab-token-use').count(), 0, 'the browser never calls the API in MVC mode');
  // A script uses it.
  const whoami = () => fetch(`${API}/api/whoami`, { headers: { authorization: `Token ${token}` } });
  assert.equal((await whoami()).status, 200);
  const row = page.getByTestId('lab-api-token').filter({ hasText: name });
  await eventually('the use is shown', async () => {
    await page.getByTestId('lab-token-reload').click();
    return (await row.getAttribute('data-used')) === 'true';
  });
  await row.getByTestId('lab-token-revoke').click();
  await page.locator('[data-testid="lab-api-token"][data-state="revoked"]').filter({ hasText: name }).waitFor();
  assert.equal((await whoami()).status, 401);
  assert.doesNotMatch(await page.content(), JWT_INSIDE);
});

test('the clock lab: the app’s server renews a token expired by the server’s clock by itself', async () => {
  try {
    await page.getByRole('link', { name: 'Labs', exact: true }).click();
    await page.getByTestId('server-clock').waitFor();
    await page.getByRole('button', { name: '+16 min' }).click();
    await page.locator('[data-testid="server-clock"][data-offset="960"]').waitFor();
    await page.getByTestId('call-api').click();
    const outcome = page.getByTestId('call-outcome');
    await outcome.waitFor();
    assert.match(await outcome.innerText(), /The API answered: User Number 0/);
    assert.deepEqual(await outcome.locator('li').allInnerTexts(), ['GET /bff/api/me → 200'], 'the browser saw one call');
    const { body } = await serverSession();
    assert.ok(
      body.exchanges.some((exchange) => exchange.grant_type === 'refresh_token' && exchange.status === 200),
      `the server renewed the token: ${JSON.stringify(body.exchanges)}`,
    );
  } finally {
    await setServerClock(0);
  }
  // The server's session holds a token issued while the clock was ahead, refused now (its iat
  // is in the future): log out and in again for the tests that follow.
  await page.goto(APP);
  const [logIn, logOut] = [clickable(page, 'Log in'), clickable(page, 'Log out')];
  await logIn.or(logOut).first().waitFor();
  if (await logOut.isVisible()) await logOut.click();
  await logIn.click();
  await logInOnServerPage(page, 'user0', 'password0');
  await page.locator('.product').first().waitFor();
});

test('the token page shows the claims and the server’s exchanges, never a token', async () => {
  await withScreenshot('mvc-token-page', page, async () => {
    await page.getByRole('link', { name: 'Token', exact: true }).click();
    await page.getByRole('heading', { name: 'Where is your access token?' }).waitFor();
    const rows = page.getByRole('table', { name: 'Server-side token exchanges' }).locator('tr.exchange');
    await rows.first().waitFor();
    const first = await rows.first().innerText();
    for (const words of ['authorization_code', 'client_secret_basic', '200']) {
      assert.ok(first.includes(words), `the login's exchange shows ${words} (${first})`);
    }
    const { body } = await serverSession();
    const text = await page.locator('main').innerText();
    assert.ok(text.includes(body.claims.sub), 'the claims are shown');
    assert.ok(text.includes('HttpOnly'), 'the page says why there is no token');
    assert.doesNotMatch(await page.content(), JWT_INSIDE, 'no token anywhere in the page');
  });
});

test('no script can read a token, and the session cookie is HttpOnly, SameSite=Strict and host-only', async () => {
  await withScreenshot('mvc-cookies', page, async () => {
    const readable = await page.evaluate(() => ({
      cookies: document.cookie,
      storage: JSON.stringify({ ...localStorage }) + JSON.stringify({ ...sessionStorage }),
    }));
    assert.ok(!readable.cookies.includes('access_token'), `no access_token cookie (${readable.cookies})`);
    assert.ok(!readable.cookies.includes('eyJ'), `no JWT in document.cookie (${readable.cookies})`);
    // The timeline (sessionStorage) holds the exchanges' bodies: refresh-token hints of eight
    // characters at most and hash prefixes, never a refresh token (no member or form field
    // named refresh_token), never a JWT.
    assert.doesNotMatch(readable.storage, /eyJ|refresh_token(\\*":|=)/, 'no token in web storage');

    const cookie = await sessionCookie();
    assert.ok(cookie, 'the session cookie is set');
    assert.equal(cookie.name, APP.startsWith('https:') ? '__Host-session' : 'session');
    assert.equal(cookie.httpOnly, true, 'HttpOnly: scripts cannot read it');
    assert.equal(cookie.sameSite, 'Strict');
    assert.equal(cookie.path, '/');
    assert.equal(cookie.domain, new URL(APP).hostname, 'host-only');
    assert.ok(!readable.cookies.includes(cookie.value), 'document.cookie does not show it');
    for (const other of await context.cookies()) {
      if (!other.httpOnly) assert.doesNotMatch(other.value, /eyJ/, `the readable cookie ${other.name} holds no JWT`);
    }

    // As the server set it: no Domain attribute (which would widen it to other hosts).
    const setCookies = [];
    for (const response of appResponses) {
      const values = (await response.headerValues('set-cookie').catch(() => [])).join('\n').split('\n');
      setCookies.push(...values.filter((v) => v.startsWith(`${cookie.name}=`) && !/Max-Age=0/i.test(v)));
    }
    assert.ok(setCookies.length > 0, 'the Set-Cookie of the session was seen');
    for (const value of setCookies) {
      const attributes = value.split(';').slice(1).map((a) => a.trim().toLowerCase());
      assert.ok(attributes.includes('httponly'), value);
      assert.ok(attributes.includes('samesite=strict'), value);
      assert.ok(attributes.includes('path=/'), value);
      assert.ok(!attributes.some((a) => a.startsWith('domain=')), `no Domain: ${value}`);
    }
  });
});

/** A page that forges requests to the app's server from its own origin. */
function attackerPages(productId) {
  const json = JSON.stringify({ product_id: productId, quantity: 1 });
  // text/plain form fields can spell JSON: `{"product_id":1,"quantity":1,"x":"=` + `"}`.
  const field = `${json.slice(0, -1)},"x":"`;
  const pages = {
    '/form': `<!doctype html><body><form method="POST" action="${ORDERS}" enctype="text/plain">
      <input type="hidden" name='${field}' value='"}'></form>
      <script>document.forms[0].submit()</script></body>`,
    '/fetch': `<!doctype html><body><script>
      fetch(${JSON.stringify(ORDERS)}, { method: 'POST', credentials: 'include', mode: 'no-cors',
        headers: { 'Content-Type': 'text/plain' }, body: ${JSON.stringify(json)} })
        .finally(() => { document.title = 'sent'; });
      </script></body>`,
  };
  return createServer((request, response) => {
    const body = pages[new URL(request.url, 'http://x').pathname];
    response.writeHead(body ? 200 : 404, { 'Content-Type': 'text/html' });
    response.end(body ?? '');
  });
}

test('forged requests from another origin or site, and calls without the CSRF header, create no order', async () => {
  const products = await page.evaluate(async () => (await fetch('/bff/api/products')).json());
  const cookie = await sessionCookie();
  const before = await orderCount(cookie);

  // The app's own origin, without the header or with a wrong one.
  const answers = await page.evaluate(async (productId) => {
    const post = async (headers) => {
      const response = await fetch('/bff/api/orders', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', ...headers },
        body: JSON.stringify({ product_id: productId, quantity: 1 }),
      });
      return { status: response.status, body: await response.json().catch(() => null) };
    };
    return {
      'without the header': await post({}),
      'with a wrong one': await post({ 'x-csrf-token': 'not-the-token' }),
    };
  }, products[0].id);
  for (const [what, answer] of Object.entries(answers)) {
    assert.equal(answer.status, 403, `a same-origin POST ${what} is refused`);
    assert.equal(answer.body?.error, 'access_denied');
  }

  // Pages elsewhere: an auto-submitting form and a no-cors fetch each. Another port of the same
  // host is another origin but the same site, so SameSite=Strict lets the cookie go along and the
  // server must refuse by itself; `localhost` is another site, which the cookie does not reach.
  const server = attackerPages(products[0].id);
  await new Promise((resolve) => server.listen(0, resolve));
  const { port } = server.address();
  const tab = await context.newPage();
  try {
    await withScreenshot('mvc-csrf', tab, async () => {
      const forged = () => appResponses.filter((r) => r.url() === ORDERS && r.request().method() === 'POST');
      const seen = forged().length;
      for (const origin of [`http://127.0.0.1:${port}`, `http://localhost:${port}`]) {
        const submitted = tab.waitForResponse((r) => r.url() === ORDERS);
        await tab.goto(`${origin}/form`);
        await submitted;
        await tab.goto(`${origin}/fetch`);
        await eventually('the forged fetch is answered', async () => (await tab.title()) === 'sent');
      }
      const refusals = forged().slice(seen);
      assert.equal(refusals.length, 4, 'four forged POSTs reached the server');
      for (const response of refusals) {
        assert.ok([401, 403].includes(response.status()), `a forged POST was refused (${response.status()})`);
      }
    });
  } finally {
    await tab.close();
    server.close();
  }
  assert.equal(await orderCount(cookie), before, 'no order was created');
});

test('a page on another site cannot log the user out', async () => {
  // The forged requests above included a cross-site form POST, a top-level navigation: an answer
  // to it that clears the cookie would end the user's session in this browser.
  assert.ok(await sessionCookie(), 'the session cookie is still in the browser');
  assert.equal((await serverSession()).status, 200, 'and the session still works');
});

test('a refused step-up: user0 asks for the admin scope and the console says they are not an administrator', async () => {
  await withScreenshot('mvc-not-admin', page, async () => {
    await page.goto(`${APP}/admin`);
    await page.getByRole('heading', { name: 'The console needs the admin scope' }).waitFor();
    const login = page.waitForRequest((r) => r.url().startsWith(`${APP}/bff/login`));
    const authorize = page.waitForRequest((r) => r.url().startsWith(metadata.authorization_endpoint));
    await page.getByRole('button', { name: 'Sign in as administrator' }).click();
    const started = new URL((await login).url()).searchParams;
    assert.equal(started.get('admin'), 'true');
    assert.equal(started.get('return_to'), '/admin');
    const scope = new URL((await authorize).url()).searchParams.get('scope').split(' ');
    assert.ok(scope.includes('admin'), `the step-up asks for admin (${scope})`);

    await logInOnServerPage(page, 'user0', 'password0');
    await page.waitForURL(`${APP}/admin`);
    await page.getByRole('heading', { name: 'Your account (user0) is not an administrator' }).waitFor();
    assert.equal(await page.getByRole('navigation', { name: 'Admin sections' }).count(), 0, 'no console');
    const { body } = await serverSession();
    assert.ok(!body.claims.scope.split(' ').includes('admin'), 'the server left admin out');
    const direct = await page.evaluate(async () => (await fetch('/bff/admin/users')).status);
    assert.equal(direct, 403, 'the admin API refuses user0');
  });
});

/** An administrator, logged in through this app with the step-up, in the console. */
async function administrator() {
  if (adminPage) return adminPage;
  ({ page: adminPage } = await newTab());
  await withScreenshot('mvc-admin', adminPage, async () => {
    await adminPage.goto(`${APP}/admin`);
    await adminPage.getByRole('button', { name: 'Sign in as administrator' }).click();
    await logInOnServerPage(adminPage, 'admin', 'admin-password');
    await adminPage.waitForURL(`${APP}/admin`);
    const sections = adminPage.getByRole('navigation', { name: 'Admin sections' });
    await sections.getByRole('link', { name: 'Events', exact: true }).click();
    await adminPage.getByRole('table').first().waitFor();
  });
  return adminPage;
}

/** The `token_revoked` events of `userId`'s logins at the backend-for-frontend's client. */
async function revocations(userId) {
  const admin = await administrator();
  const events = await admin.evaluate(async () => {
    const response = await fetch('/bff/admin/events?kind=token_revoked&client=demo-bff');
    return response.json();
  });
  assert.ok(Array.isArray(events), `the admin API lists events (${JSON.stringify(events)})`);
  return events.filter((event) => event.user_id === userId);
}

test('logging out ends the session and the server revokes the tokens', async () => {
  await withScreenshot('mvc-logout', page, async () => {
    const { body } = await serverSession();
    const userId = body.claims.sub;
    const before = (await revocations(userId)).length;
    const cookie = await sessionCookie();

    const loggedOut = page.waitForResponse((r) => r.url() === `${APP}/bff/logout`);
    await clickable(page, 'Log out').click();
    const response = await loggedOut;
    assert.equal(response.status(), 204);
    assert.equal(await response.request().headerValue('x-csrf-token'), body.csrf_token, 'with the CSRF header');
    await clickable(page, 'Log in').waitFor();

    assert.equal((await serverSession()).status, 401, 'no session any more');
    assert.equal(await sessionCookie(), undefined, 'the cookie is gone');
    // A copy of the cookie (taken before, as malware in the browser could) opens nothing either.
    const replayed = await fetch(`${APP}/bff/session`, { headers: { Cookie: `${cookie.name}=${cookie.value}` } });
    assert.equal(replayed.status, 401, 'the old session cookie is dead on the server');

    const revoked = await eventually('the security log shows the revocation', async () => {
      const now = await revocations(userId);
      return now.length > before ? now : undefined;
    });
    assert.match(revoked.at(-1).detail, /refresh token; grant .* revoked/, revoked.at(-1).detail);
  });
});

test('a login the server could not complete is explained on the home page', async () => {
  await withScreenshot('mvc-failed-login', page, async () => {
    // No login was started in this browser: the server sends it home with the error.
    await page.goto(`${APP}/bff/callback?code=forged&state=forged`);
    await page.waitForURL(`${APP}/`);
    const alert = page.getByRole('alert');
    await alert.first().waitFor();
    assert.match(await alert.first().innerText(), /^The login failed: this browser did not start a login/);
    assert.equal(new URL(page.url()).search, '', 'the error is gone from the address bar');
  });
});

test('no request the browser made carried an Authorization header', async () => {
  const carrying = [];
  let toTheApi = 0;
  for (const request of requests) {
    const headers = await request.allHeaders().catch(() => request.headers());
    if ('authorization' in headers) carrying.push(`${request.method()} ${request.url()}`);
    const url = request.url();
    if (['fetch', 'xhr'].includes(request.resourceType()) && (url.startsWith(`${API}/api/`) || url.startsWith(`${API}/admin/`))) {
      toTheApi += 1;
    }
  }
  assert.deepEqual(carrying, [], 'no Authorization header, anywhere');
  assert.equal(toTheApi, 0, 'no script called the API origin: everything went through /bff');
  const passwordPosts = requests.filter((r) => r.method() === 'POST' && r.url().startsWith(`${API}/`));
  assert.ok(passwordPosts.length >= 3, 'the login pages of the authorization server were recorded too');
  assert.ok(requests.length > 50, `every request was recorded (${requests.length})`);
});

test('logging out of every app elsewhere ends this browser’s session at once (back-channel logout)', async () => {
  // user1 shops in a browser of their own, through the app's server.
  const { context: shopContext, page: shop } = await newTab();
  await withScreenshot('mvc-backchannel', shop, async () => {
    await shop.goto(APP);
    await clickable(shop, 'Log in').click();
    await logInOnServerPage(shop, 'user1', 'password1');
    await shop.locator('.product').first().waitFor();
    assert.equal((await serverSession(shop)).status, 200);

    // Elsewhere (another app, another device), user1 logs out of every app at the
    // authorization server's end-session endpoint, in a real browser page.
    const { id_token: idToken } = await userTokens({ scope: 'openid profile', username: 'user1', password: 'password1' });
    const { context: elsewhereContext, page: elsewhere } = await newTab();
    const endSession = new URL(metadata.end_session_endpoint);
    endSession.search = new URLSearchParams({ id_token_hint: idToken }).toString();
    await elsewhere.goto(endSession.href);
    await elsewhere.getByRole('heading', { name: 'Log out?' }).waitFor();
    await elsewhere.locator('input[name="password"]').fill('password1');
    await elsewhere.getByRole('button', { name: 'Log out of every app' }).click();
    await elsewhere.getByRole('heading', { name: 'You are logged out' }).waitFor();
    // The page names the app's server among those told, and what it answered.
    assert.match(await elsewhere.locator('main').innerText(), /backend-for-frontend, MVC mode\): answered 200/);
    await screenshot(elsewhere, 'mvc-backchannel-logged-out');
    await elsewhereContext.close();

    // The app's server ended the session when it was told, not at its next refresh.
    assert.equal((await serverSession(shop)).status, 401, 'the session ended by back channel');
    await shop.reload();
    await clickable(shop, 'Log in').waitFor();
  });
  await shopContext.close();
});
