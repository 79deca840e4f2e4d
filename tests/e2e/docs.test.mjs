// The API documentation page (`/docs`: Swagger UI, served by the backend from bundled files)
// in Chromium: a user authorizes with OAuth from the page (client credentials as a service,
// and the authorization code with PKCE as a user, through the server's own login page in a
// popup) and calls the API with "Try it out".

import assert from 'node:assert/strict';
import { API, forMode, launchChromium, reportPageErrors, withScreenshot } from './support.mjs';

const { test, before, after } = forMode('rest');

let browser;
before(async () => {
  browser = await launchChromium();
});
after(async () => {
  await browser?.close();
});

/** The page, with the Authorize dialog open. */
async function openAuthorizations() {
  const page = await browser.newPage();
  // The stylesheet names a source map that is not bundled.
  reportPageErrors(page, /404|source map/i);
  await page.goto(`${API}/docs`);
  await page.locator('button.authorize').first().click();
  await page.locator('.auth-container').first().waitFor();
  return page;
}

/** The dialog's section of one OAuth flow. */
function flow(page, name) {
  return page.locator('.auth-container').filter({ hasText: new RegExp(`OAuth2, ${name}`) });
}

/** Opens an operation, runs it with "Try it out", and returns the status the page shows. */
async function tryIt(page, operationId) {
  const operation = page.locator(`[id$="-${operationId}"]`).first();
  await operation.locator('.opblock-summary').first().click();
  await operation.getByRole('button', { name: 'Try it out' }).click();
  await operation.getByRole('button', { name: 'Execute' }).click();
  const status = operation.locator('.live-responses-table tbody .response-col_status').first();
  await status.waitFor();
  return (await status.textContent()).trim();
}

test('docs: the page is served from this origin with a strict policy', async () => {
  const response = await fetch(`${API}/docs`);
  assert.equal(response.status, 200);
  const csp = response.headers.get('content-security-policy');
  assert.match(csp, /script-src 'self';/);
  assert.match(csp, /frame-ancestors 'none'/);
  const document = await (await fetch(`${API}/openapi.json`)).json();
  assert.equal(document.openapi, '3.1.0');
  assert.ok(document.paths['/api/products'].get, 'the API is described');
  const ids = Object.values(document.paths).flatMap((item) => Object.values(item).map((op) => op.operationId));
  assert.equal(new Set(ids).size, ids.length, 'operation ids are unique');
});

test('docs: a service authorizes with client credentials and lists the products', async () => {
  const page = await openAuthorizations();
  await withScreenshot('docs-client-credentials', page, async () => {
    const section = flow(page, 'clientCredentials');
    await section.locator('#client_id_clientCredentials').fill('demo-service');
    await section.locator('#client_secret_clientCredentials').fill('demo-service-secret');
    await section.locator('label[for="products:read-clientCredentials-checkbox-oauth2"]').click();
    await section.locator('button.authorize').click();
    await section.locator('button', { hasText: 'Logout' }).waitFor();
    await page.locator('.modal-ux').getByRole('button', { name: 'Close' }).last().click();
    assert.equal(await tryIt(page, 'get_api_products'), '200');
    // The service's token has no orders:read: the page shows the API's 403.
    assert.equal(await tryIt(page, 'get_api_orders'), '403');
  });
  await page.close();
});

test('docs: a user logs in with the authorization code and PKCE in a popup and reads their orders', async () => {
  const page = await openAuthorizations();
  await withScreenshot('docs-authorization-code', page, async () => {
    const section = flow(page, 'authorizationCode');
    assert.equal(await section.locator('#client_id_authorizationCode').inputValue(), 'demo-docs');
    for (const scope of ['openid', 'products:read', 'orders:read']) {
      await section.locator(`label[for="${scope}-authorizationCode-checkbox-oauth2"]`).click();
    }
    const [popup] = await Promise.all([
      page.waitForEvent('popup'),
      section.locator('button.authorize').click(),
    ]);
    await popup.waitForURL((url) => url.pathname === '/authorize');
    await popup.locator('input[name="username"]').fill('user0');
    await popup.locator('input[name="password"]').fill('password0');
    await popup.locator('form button[type="submit"], form button:not([type])').first().click();
    // Swagger UI's redirect page hands the code to the opener, which redeems it and closes it.
    await section.locator('button', { hasText: 'Logout' }).waitFor();
    await page.locator('.modal-ux').getByRole('button', { name: 'Close' }).last().click();
    assert.equal(await tryIt(page, 'get_api_orders'), '200');
    assert.equal(await tryIt(page, 'get_api_products'), '200');
  });
  await page.close();
});
