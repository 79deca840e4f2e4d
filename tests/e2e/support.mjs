// What the browser test files share: the addresses of the system under test, how Chromium is
// started, the mode guard, and small page helpers.
//
// E2E_API and E2E_APP are the backend's two origins (scripts/test.sh starts the backend and sets
// both); E2E_MODE says which version of the app it serves (`rest`, the default, or `mvc`).

import assert from 'node:assert/strict';
import * as nodeTest from 'node:test';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

export const API = requiredEnv('E2E_API');
export const APP = requiredEnv('E2E_APP');
export const MODE = process.env.E2E_MODE || 'rest';
export const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
/** Where a failing test leaves a screenshot. */
export const ARTIFACTS =
  process.env.E2E_ARTIFACTS || fileURLToPath(new URL('../../target/e2e-artifacts/', import.meta.url));
export const TIMEOUT = 20_000;

/** Without the networking flags Chromium floods the closed network with refused connections. */
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export const JWT = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;

function requiredEnv(name) {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set (scripts/test.sh sets it)`);
  return value.replace(/\/+$/, '');
}

/**
 * node:test's `test`, `before` and `after` for a file about one mode of the app: in the other
 * mode its tests are reported as skipped and its hooks (which start browsers) never run.
 */
export function forMode(mode) {
  if (MODE === mode) return { test: nodeTest.test, before: nodeTest.before, after: nodeTest.after };
  const skip = `runs against the app in ${mode} mode (E2E_MODE is ${MODE})`;
  const nothing = () => {};
  return { test: (name) => nodeTest.test(name, { skip }), before: nothing, after: nothing };
}

export function launchChromium() {
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
}

/** Prints the page's errors, except console messages that match `expected`. */
export function reportPageErrors(page, expected) {
  page.on('pageerror', (err) => console.error(`[page error] ${err.message}`));
  page.on('console', (msg) => {
    if (msg.type() === 'error' && !expected?.test(msg.text())) console.error(`[console] ${msg.text()}`);
  });
}

/**
 * Runs a step; on failure saves a screenshot of `page` (a page, or a function that returns the
 * one to shoot) and its URL before rethrowing.
 */
export async function withScreenshot(name, page, fn) {
  try {
    await fn();
  } catch (err) {
    try {
      await mkdir(ARTIFACTS, { recursive: true });
      const file = path.join(ARTIFACTS, `${name}.png`);
      const failed = typeof page === 'function' ? page() : page;
      await failed.screenshot({ path: file, fullPage: true });
      console.error(`screenshot of the failure: ${file} (page was ${failed.url()})`);
    } catch {
      // The screenshot is a bonus; the original error is what matters.
    }
    throw err;
  }
}

export function clickable(page, name) {
  return page.getByRole('button', { name }).or(page.getByRole('link', { name })).first();
}

/** Polls `check` until it returns something truthy, and returns that. */
export async function eventually(what, check, timeout = TIMEOUT) {
  const deadline = Date.now() + timeout;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Whether `url` is a callback of the app's login: REST's `/callback`, MVC's `/bff/callback`. */
function isCallback(url) {
  return url.href.startsWith(`${APP}/`) && /^\/(bff\/)?callback/.test(url.pathname);
}

/** Fills the authorization server's own login page and waits until the app has the user back. */
export async function logInOnServerPage(page, username, password) {
  await page.waitForURL((url) => url.href.startsWith(`${API}/`));
  await page.locator('input[name="username"]').fill(username);
  await page.locator('input[name="password"]').fill(password);
  await page.locator('form button[type="submit"], form input[type="submit"], form button:not([type])').first().click();
  await page.waitForURL((url) => url.href.startsWith(`${APP}/`) && !isCallback(url));
}

/**
 * Waits until `wanted` shows on `page`, reloading while the page has settled without it
 * (`settled`: what the page shows once loaded either way). For what the server stores just
 * after it answers, such as a refusal's event.
 */
export async function reloadUntil(page, wanted, settled) {
  await eventually(`${wanted} shows`, async () => {
    await wanted.or(settled).first().waitFor();
    if (await wanted.count()) return true;
    await page.reload();
    return false;
  });
}

/**
 * Saves what `page` shows as `{name}.png` in E2E_SCREENSHOTS (the test command sets it to
 * docs/screenshots, whose pictures the README shows): the pictures are taken by the tests that
 * check the pages, so they show the pages as they are. Does nothing without E2E_SCREENSHOTS.
 */
export async function screenshot(page, name, part) {
  const dir = process.env.E2E_SCREENSHOTS;
  if (!dir) return;
  await mkdir(dir, { recursive: true });
  await page.setViewportSize({ width: 1280, height: 720 });
  const file = path.join(dir, `${name}.png`);
  if (part) {
    // One section of the page (a lab): the sticky navigation bar stays out of it.
    await part.screenshot({ path: file, style: 'header.topbar { visibility: hidden !important; }' });
  } else {
    // From the top, so the sticky navigation bar is drawn where it belongs.
    await page.evaluate(() => window.scrollTo(0, 0));
    await page.screenshot({ path: file, fullPage: true });
  }
}

/** Sets the clock lab's offset from here, with a token of the demo service (the cleanup of a test that moved it). */
export async function setServerClock(offsetSecs) {
  const token = await fetch(`${API}/token`, {
    method: 'POST',
    headers: { authorization: `Basic ${Buffer.from('demo-service:demo-service-secret').toString('base64')}` },
    body: new URLSearchParams({ grant_type: 'client_credentials' }),
  });
  assert.equal(token.status, 200);
  const { access_token: access } = await token.json();
  const moved = await fetch(`${API}/api/lab/clock`, {
    method: 'POST',
    headers: { authorization: `Bearer ${access}`, 'content-type': 'application/json' },
    body: JSON.stringify({ offset_secs: offsetSecs }),
  });
  assert.equal(moved.status, 200);
  // Every instance reads it within the revocation list's delay (2.5 s at most).
  await new Promise((resolve) => setTimeout(resolve, 2500));
}
