// The standards-following client's side of this server's login, shared by the test files that
// need a user's tokens: discovery of the root issuer with oauth4webapi, and the authorization
// code + PKCE flow of the demo-spa client through the server's own login page, over plain HTTP
// as a browser would (GET the authorization URL, POST the login form with its hidden fields).

import assert from 'node:assert/strict';
import * as oauth from 'oauth4webapi';

export const API = requiredEnv('E2E_API');
export const APP = requiredEnv('E2E_APP');
export const ISSUER = new URL(API);
// Everything runs on loopback over plain http; oauth4webapi refuses http unless told.
export const insecure = { [oauth.allowInsecureRequests]: true };

function requiredEnv(name) {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set (scripts/test.sh sets it)`);
  return value.replace(/\/+$/, '');
}

/** @type {oauth.AuthorizationServer} */
let as;

/** The root issuer's metadata (RFC 8414), discovered once. */
export async function rootServer() {
  if (!as) {
    const response = await oauth.discoveryRequest(ISSUER, { algorithm: 'oauth2', ...insecure });
    as = await oauth.processDiscoveryResponse(ISSUER, response);
  }
  return as;
}

export const SPA = { client_id: 'demo-spa' };

/**
 * Starts an authorization code + PKCE request for demo-spa at `server` (metadata; the root
 * issuer's by default) and logs in on its login page as a browser would, over plain HTTP: GET
 * the authorization URL, POST the login form with its hidden fields. With `pushed`, the request
 * is first pushed to the server's PAR endpoint (RFC 9126) by oauth4webapi, and the
 * authorization URL carries only client_id and the request_uri. Returns the answer to that POST
 * and what the client kept.
 */
export async function logIn({ scope, username, password, server, nonce, pushed = false, client = SPA }) {
  const redirectUri = `${APP}/callback`;
  const codeVerifier = oauth.generateRandomCodeVerifier();
  const state = oauth.generateRandomState();
  server ??= await rootServer();
  const authorizationUrl = new URL(server.authorization_endpoint);
  const request = new URLSearchParams({
    response_type: 'code',
    client_id: client.client_id,
    redirect_uri: redirectUri,
    scope,
    code_challenge: await oauth.calculatePKCECodeChallenge(codeVerifier),
    code_challenge_method: 'S256',
    state,
    ...(nonce ? { nonce } : {}),
  });
  let requestUri;
  if (pushed) {
    const response = await oauth.pushedAuthorizationRequest(server, client, oauth.None(), request, insecure);
    ({ request_uri: requestUri } = await oauth.processPushedAuthorizationResponse(server, client, response));
    authorizationUrl.search = new URLSearchParams({ client_id: client.client_id, request_uri: requestUri }).toString();
  } else {
    authorizationUrl.search = request.toString();
  }

  const jar = new CookieJar();
  const page = await fetch(authorizationUrl, { redirect: 'manual' });
  jar.store(page);
  assert.equal(page.status, 200, 'the authorization endpoint answers with the login page');
  assert.match(page.headers.get('content-type') ?? '', /text\/html/);
  const form = parseLoginForm(await page.text(), authorizationUrl);
  assert.equal(form.method, 'post');
  assert.ok(form.inputNames.includes('username'), 'the form has a username input');
  assert.ok(form.inputNames.includes('password'), 'the form has a password input');

  const fields = new URLSearchParams(form.fields);
  fields.set('username', username);
  fields.set('password', password);
  const submitted = await fetch(form.action, {
    method: 'POST',
    redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...jar.header() },
    body: fields,
  });
  return { submitted, form, redirectUri, codeVerifier, state, server, authorizationUrl, requestUri, client };
}

/** Checks the redirect back to the client (RFC 6749 §4.1.2, RFC 9207) and returns its parameters. */
export function callbackParameters({ submitted, form, redirectUri, state, server = as, client = SPA }) {
  assert.equal(submitted.status, 303, 'a successful login answers 303 See Other');
  const location = new URL(submitted.headers.get('location'), form.action);
  assert.equal(`${location.origin}${location.pathname}`, redirectUri);
  for (const name of ['code', 'state', 'iss']) {
    assert.ok(location.searchParams.get(name), `the redirect carries ${name}`);
  }
  assert.equal(location.searchParams.get('state'), state);
  assert.equal(new URL(location.searchParams.get('iss')).href, new URL(server.issuer).href, 'RFC 9207 iss is the issuer');
  // oauth4webapi's own checks of state and iss.
  return oauth.validateAuthResponse(server, client, location, state);
}

export function redeem(params, { redirectUri, server = as, client = SPA }, codeVerifier) {
  return oauth.authorizationCodeGrantRequest(server, client, oauth.None(), params, redirectUri, codeVerifier, insecure);
}

/** An access token of `username` for `scope`, through the whole flow. */
export async function userTokens({ scope, username, password }) {
  const login = await logIn({ scope, username, password });
  const params = callbackParameters(login);
  return oauth.processAuthorizationCodeResponse(as, SPA, await redeem(params, login, login.codeVerifier), {
    requireIdToken: false,
  });
}

/**
 * What a person does on the device verification page (RFC 8628 §3.3) opened at `url` (the
 * `verification_uri_complete`, or the `verification_uri` with the code typed in): the page names
 * the client and the code; the person logs in and allows, or denies. Returns the approval page's
 * text and the answer to its form.
 */
export async function answerDevicePage({ url, username = '', password = '', decision }) {
  return answerPage(url, ['user_code', 'csrf_token'], { username, password, decision });
}

/**
 * What a person does on the end-session endpoint's confirmation page (OpenID Connect
 * RP-Initiated Logout 1.0 §2) opened at `url`: the page names the client and the user; the
 * person logs out of this app, of every app (with their password), or stays. Returns the
 * page's text and the answer to its form.
 */
export async function answerLogoutPage({ url, decision, password }) {
  return answerPage(url, ['id_token_hint', 'csrf_token'], { decision, ...(password === undefined ? {} : { password }) });
}

/**
 * Opens one of the server's own pages at `url` (with its anti-forgery cookie), checks that its
 * form carries the hidden fields `carried`, and posts the form with `values` filled in. Returns
 * the page's text and the answer to its form.
 */
async function answerPage(url, carried, values) {
  const jar = new CookieJar();
  const page = await fetch(url, { redirect: 'manual' });
  jar.store(page);
  assert.equal(page.status, 200, `the page at ${url} shows the request`);
  const html = await page.text();
  const form = parseLoginForm(html, url);
  assert.equal(form.method, 'post');
  for (const name of carried) assert.ok(form.fields.has(name), `the form carries ${name}`);
  const fields = new URLSearchParams(form.fields);
  for (const [name, value] of Object.entries(values)) fields.set(name, value);
  const answered = await fetch(form.action, {
    method: 'POST',
    redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...jar.header() },
    body: fields,
  });
  return { html, answered };
}

/**
 * The login page's first form: its absolute action, method, the names of all its inputs and the
 * values of its hidden inputs (CSRF token, the authorization request's parameters, ...).
 */
function parseLoginForm(html, base) {
  const formMatch = html.match(/<form\b([^>]*)>([\s\S]*?)<\/form>/i);
  assert.ok(formMatch, 'the page has a form');
  const formAttrs = attributes(formMatch[1]);
  const fields = new Map();
  const inputNames = [];
  for (const [, attrText] of formMatch[2].matchAll(/<input\b([^>]*)>/gi)) {
    const attrs = attributes(attrText);
    if (!attrs.name) continue;
    inputNames.push(attrs.name);
    if ((attrs.type ?? 'text').toLowerCase() === 'hidden') fields.set(attrs.name, attrs.value ?? '');
  }
  return {
    action: new URL(formAttrs.action ?? '', base).href,
    method: (formAttrs.method ?? 'get').toLowerCase(),
    fields,
    inputNames,
  };
}

function attributes(text) {
  const attrs = {};
  for (const [, name, dq, sq, bare] of text.matchAll(/([^\s=/>]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+)))?/g)) {
    attrs[name.toLowerCase()] = decodeEntities(dq ?? sq ?? bare ?? '');
  }
  return attrs;
}

function decodeEntities(s) {
  return s.replace(/&(#x[0-9a-f]+|#[0-9]+|amp|lt|gt|quot|apos|#39);/gi, (_, e) => {
    const lower = e.toLowerCase();
    if (lower.startsWith('#x')) return String.fromCodePoint(parseInt(lower.slice(2), 16));
    if (lower.startsWith('#')) return String.fromCodePoint(parseInt(lower.slice(1), 10));
    return { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" }[lower];
  });
}

/** Just enough of a cookie jar for one origin's session or CSRF cookie. */
class CookieJar {
  #cookies = new Map();
  store(response) {
    for (const line of response.headers.getSetCookie()) {
      const [pair] = line.split(';');
      const eq = pair.indexOf('=');
      if (eq > 0) this.#cookies.set(pair.slice(0, eq).trim(), pair.slice(eq + 1).trim());
    }
  }
  header() {
    if (this.#cookies.size === 0) return {};
    return { cookie: [...this.#cookies].map(([k, v]) => `${k}=${v}`).join('; ') };
  }
}
