// The whole system through its real UI, in headless Debian Chromium driven by playwright-core:
// log in with authorization code + PKCE, see and order products, log out, survive a bad token.
//
// Needs E2E_API and E2E_APP (scripts/test.sh starts the backend and sets both) and Chromium at
// /usr/bin/chromium (or CHROMIUM).

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const API = requiredEnv('E2E_API');
const APP = requiredEnv('E2E_APP');
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
// Where a failing test leaves a screenshot.
const ARTIFACTS =
  process.env.E2E_ARTIFACTS || fileURLToPath(new URL('../../target/e2e-artifacts/', import.meta.url));
const TIMEOUT = 20_000;

const BEARER = /^Bearer [A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;

function requiredEnv(name) {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set (scripts/test.sh sets it)`);
  return value.replace(/\/+$/, '');
}

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
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  context.setDefaultTimeout(TIMEOUT);
  page = context.pages()[0] ?? (await context.newPage());
  page.on('request', (request) => {
    if (!request.url().startsWith(`${API}/api/`) || request.method() === 'OPTIONS') return;
    apiRequests.push({ method: request.method(), url: request.url(), headers: request.headers() });
  });
  page.on('pageerror', (err) => console.error(`[page error] ${err.message}`));
  page.on('console', (msg) => {
    if (msg.type() === 'error') console.error(`[console] ${msg.text()}`);
  });
});

after(async () => {
  await context?.close();
  if (userDataDir) await rm(userDataDir, { recursive: true, force: true });
});

/** Runs a step; on failure saves a screenshot and the page's URL before rethrowing. */
async function withScreenshot(name, fn) {
  try {
    await fn();
  } catch (err) {
    try {
      await mkdir(ARTIFACTS, { recursive: true });
      const file = path.join(ARTIFACTS, `${name}.png`);
      await page.screenshot({ path: file, fullPage: true });
      console.error(`screenshot of the failure: ${file} (page was ${page.url()})`);
    } catch {
      // The screenshot is a bonus; the original error is what matters.
    }
    throw err;
  }
}

function clickable(name) {
  return page.getByRole('button', { name }).or(page.getByRole('link', { name })).first();
}

async function accessTokenCookie() {
  const cookies = await context.cookies(APP);
  return cookies.find((c) => c.name === 'access_token');
}

test('log in through the login page and see the products with a Bearer token', async () => {
  await withScreenshot('login', async () => {
    await page.goto(APP);
    await clickable('Log in').click();

    // The backend's own login page, on the API origin.
    await page.waitForURL((url) => url.href.startsWith(`${API}/`));
    await page.locator('input[name="username"]').fill('user0');
    await page.locator('input[name="password"]').fill('password0');
    const loginTime = Date.now();
    await page.locator('form button[type="submit"], form input[type="submit"], form button:not([type])').first().click();

    // Back on the app, which exchanged the code and shows the products.
    await page.waitForURL((url) => url.href.startsWith(`${APP}/`));
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
    assert.match(cookie.value, /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/);
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
  await withScreenshot('order', async () => {
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

test('log out: no more token, and the app offers to log in again', async () => {
  await withScreenshot('logout', async () => {
    await clickable('Log out').click();
    await clickable('Log in').waitFor();
    const cookie = await accessTokenCookie();
    assert.ok(!cookie || cookie.value === '', 'the access_token cookie is gone');

    const seen = apiRequests.length;
    await page.goto(`${APP}/products`);
    await clickable('Log in').waitFor();
    // Give any late API call the chance to show up before checking.
    await page.waitForLoadState('networkidle');
    const withToken = apiRequests.slice(seen).filter((r) => r.headers.authorization);
    assert.deepEqual(withToken, [], 'no API call carries a token after logging out');
  });
});

test('a garbage token leads to a message and a "Log in" button', async () => {
  await withScreenshot('garbage-token', async () => {
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
    await clickable('Log in').waitFor();
    assert.equal(await page.locator('.product').count(), 0, 'no products are shown');
  });
});
