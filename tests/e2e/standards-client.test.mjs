// An OAuth 2.0 client and resource server that share no code with this project: panva's
// oauth4webapi (an OpenID-certified client library) and jose talk to the running authorization
// server the way any standards-following party would.
//
// Needs E2E_API (the issuer / API origin) and E2E_APP (the app origin, whose /callback is the
// demo-spa client's redirect URI); scripts/test.sh starts the backend and sets both.

import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import * as oauth from 'oauth4webapi';
import * as jose from 'jose';

import { createServer } from 'node:http';
import { randomBytes } from 'node:crypto';

import {
  API,
  APP,
  ISSUER,
  SPA,
  answerDevicePage,
  answerLogoutPage,
  callbackParameters,
  insecure,
  logIn,
  redeem,
  rootServer,
  userTokens,
} from './oauth-client.mjs';

const AUDIENCE = process.env.E2E_AUDIENCE ?? 'api://default';
const JWT_SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;

/** @type {oauth.AuthorizationServer} */
let as;

before(async () => {
  as = await rootServer();
});

test('discovery: RFC 8414 metadata names the endpoints and what they support', async () => {
  for (const key of ['authorization_endpoint', 'token_endpoint', 'jwks_uri']) {
    assert.equal(typeof as[key], 'string', `metadata has ${key}`);
  }
  assert.ok(as.code_challenge_methods_supported?.includes('S256'), 'S256 PKCE is supported');
  assert.ok(as.grant_types_supported?.includes('authorization_code'));
  assert.ok(as.grant_types_supported?.includes('client_credentials'));

  // The OpenID Connect discovery document describes the same issuer.
  const oidc = await oauth.processDiscoveryResponse(
    ISSUER,
    await oauth.discoveryRequest(ISSUER, { algorithm: 'oidc', ...insecure }),
  );
  assert.equal(oidc.token_endpoint, as.token_endpoint);

  const jwks = await (await fetch(as.jwks_uri)).json();
  assert.ok(Array.isArray(jwks.keys) && jwks.keys.length > 0, 'the JWKS has keys');
  for (const key of jwks.keys) {
    assert.equal(key.d, undefined, 'no private key material is published');
  }
});

test('client_credentials (client_secret_basic) gets a token the API accepts', async () => {
  const client = { client_id: 'demo-service' };
  const response = await oauth.clientCredentialsGrantRequest(
    as,
    client,
    oauth.ClientSecretBasic('demo-service-secret'),
    new URLSearchParams({ scope: 'products:read' }),
    insecure,
  );
  assert.match(response.headers.get('cache-control') ?? '', /no-store/);
  const tokens = await oauth.processClientCredentialsResponse(as, client, response);
  assert.equal(tokens.token_type.toLowerCase(), 'bearer');
  assert.match(tokens.access_token, JWT_SHAPE);
  assert.ok(tokens.expires_in > 0);

  const whoami = await oauth.protectedResourceRequest(
    tokens.access_token,
    'GET',
    new URL(`${API}/api/whoami`),
    undefined,
    undefined,
    insecure,
  );
  assert.equal(whoami.status, 200);
  const body = await whoami.json();
  assert.equal(body.client_id, 'demo-service');
  assert.equal(body.subject_type, 'client');
  assert.equal(body.auth_scheme, 'Bearer');

  const claims = await verifyAccessToken(tokens.access_token);
  assert.equal(claims.client_id, 'demo-service');
});

test('the default authorization server: discovered at its issuer, its RS256 token verified with RS256 only and accepted by the API', async () => {
  const issuer = new URL(`${API}/oauth2/default`);
  const server = await oauth.processDiscoveryResponse(
    issuer,
    await oauth.discoveryRequest(issuer, { algorithm: 'oauth2', ...insecure }),
  );
  assert.equal(server.issuer, issuer.href);
  assert.equal(server.token_endpoint, `${issuer.href}/v1/token`);
  assert.equal(server.jwks_uri, `${issuer.href}/v1/keys`);
  const client = { client_id: 'demo-service' };
  const response = await oauth.clientCredentialsGrantRequest(
    server,
    client,
    oauth.ClientSecretBasic('demo-service-secret'),
    new URLSearchParams({ scope: 'products:read' }),
    insecure,
  );
  const tokens = await oauth.processClientCredentialsResponse(server, client, response);
  // What a resource server built on a verifier that accepts RS256 only does (Okta's own).
  const { payload, protectedHeader } = await jose.jwtVerify(
    tokens.access_token,
    jose.createRemoteJWKSet(new URL(server.jwks_uri)),
    { issuer: issuer.href, audience: AUDIENCE, algorithms: ['RS256'], typ: 'at+jwt' },
  );
  assert.equal(protectedHeader.alg, 'RS256');
  assert.equal(payload.client_id, 'demo-service');
  // Its tokens are verified only with its own keys: the root issuer's key set has no such kid.
  const rootKeys = await (await fetch(as.jwks_uri)).json();
  assert.ok(!rootKeys.keys.some((k) => k.kid === protectedHeader.kid), 'the root JWKS does not hold the key');
  const whoami = await fetch(`${API}/api/whoami`, { headers: { Authorization: `Bearer ${tokens.access_token}` } });
  assert.equal(whoami.status, 200);
  assert.equal((await whoami.json()).issuer, issuer.href);
});

test('the default authorization server runs the code flow: OpenID discovery, login at its /v1/authorize, RS256 ID token, userinfo, refresh', async () => {
  const issuer = new URL(`${API}/oauth2/default`);
  // OpenID Connect Discovery at {issuer}/.well-known/openid-configuration, as Okta's clients do.
  const server = await oauth.processDiscoveryResponse(
    issuer,
    await oauth.discoveryRequest(issuer, { algorithm: 'oidc', ...insecure }),
  );
  assert.equal(server.authorization_endpoint, `${issuer.href}/v1/authorize`);
  assert.equal(server.userinfo_endpoint, `${issuer.href}/v1/userinfo`);
  assert.deepEqual(server.id_token_signing_alg_values_supported, ['RS256']);
  const nonce = oauth.generateRandomNonce();
  const login = await logIn({
    scope: 'openid profile offline_access products:read',
    username: 'user1',
    password: 'password1',
    server,
    nonce,
  });
  // RFC 9207: the redirect names this server as the issuer, and oauth4webapi checks it.
  const params = callbackParameters(login);
  const response = await redeem(params, login, login.codeVerifier);
  // oauth4webapi validates the ID token's claims (iss, aud, nonce, exp, iat) itself.
  const tokens = await oauth.processAuthorizationCodeResponse(server, SPA, response, { expectedNonce: nonce });
  const idClaims = oauth.getValidatedIdTokenClaims(tokens);
  assert.equal(idClaims.iss, issuer.href);
  assert.equal(idClaims.preferred_username, 'user1');
  // Both tokens verify with the server's keys, each with one algorithm allowed.
  const keys = jose.createRemoteJWKSet(new URL(server.jwks_uri));
  const id = await jose.jwtVerify(tokens.id_token, keys, { issuer: issuer.href, audience: SPA.client_id, algorithms: ['RS256'] });
  assert.equal(id.payload.nonce, nonce);
  const access = await jose.jwtVerify(tokens.access_token, keys, {
    issuer: issuer.href,
    audience: AUDIENCE,
    algorithms: ['RS256'],
    typ: 'at+jwt',
  });
  assert.equal(access.payload.sub, idClaims.sub);
  // Its userinfo, through oauth4webapi (which checks sub against the ID token's).
  const info = await oauth.processUserInfoResponse(
    server,
    SPA,
    idClaims.sub,
    await oauth.userInfoRequest(server, SPA, tokens.access_token, insecure),
  );
  assert.equal(info.preferred_username, 'user1');
  // The API accepts it, and says which issuer it came from.
  const whoami = await fetch(`${API}/api/whoami`, { headers: { Authorization: `Bearer ${tokens.access_token}` } });
  assert.equal(whoami.status, 200);
  assert.equal((await whoami.json()).issuer, issuer.href);
  // A refresh at its token endpoint rotates; the root issuer does not know this refresh token.
  const atRoot = await oauth.refreshTokenGrantRequest(as, SPA, oauth.None(), tokens.refresh_token, insecure);
  await assert.rejects(oauth.processRefreshTokenResponse(as, SPA, atRoot), (err) =>
    err instanceof oauth.ResponseBodyError && err.error === 'invalid_grant' && /authorization server default/.test(err.error_description),
  );
  const refreshed = await oauth.processRefreshTokenResponse(
    server,
    SPA,
    await oauth.refreshTokenGrantRequest(server, SPA, oauth.None(), tokens.refresh_token, insecure),
  );
  assert.notEqual(refreshed.refresh_token, tokens.refresh_token);
  assert.equal(jose.decodeJwt(refreshed.access_token).iss, issuer.href);
});

test('PAR (RFC 9126): oauth4webapi pushes the request, the browser carries only its request_uri, once', async () => {
  assert.equal(as.pushed_authorization_request_endpoint, `${API}/par`);
  const login = await logIn({ scope: 'openid products:read', username: 'user0', password: 'password0', pushed: true });
  assert.match(login.requestUri, /^urn:ietf:params:oauth:request_uri:[A-Za-z0-9_-]{43}$/);
  assert.deepEqual([...login.authorizationUrl.searchParams.keys()], ['client_id', 'request_uri']);
  // The login form carries the reference, not a copy of the request.
  assert.deepEqual([...login.form.fields.keys()].sort(), ['client_id', 'csrf_token', 'request_uri']);
  const params = callbackParameters(login);
  const tokens = await oauth.processAuthorizationCodeResponse(as, SPA, await redeem(params, login, login.codeVerifier));
  assert.equal(tokens.scope, 'openid products:read');
  await verifyAccessToken(tokens.access_token);
  // Used once: the same URL again is an error page, not a login.
  const again = await fetch(login.authorizationUrl, { redirect: 'manual' });
  assert.equal(again.status, 400);
  assert.match(await again.text(), /already used|unknown/);
  // What the authorization endpoint would refuse, the push refuses with the RFC's code.
  const refused = await oauth.pushedAuthorizationRequest(
    as,
    SPA,
    oauth.None(),
    new URLSearchParams({ response_type: 'code', redirect_uri: `${APP}/callback`, scope: 'openid', code_challenge_method: 'plain' }),
    insecure,
  );
  await assert.rejects(oauth.processPushedAuthorizationResponse(as, SPA, refused), (err) =>
    err instanceof oauth.ResponseBodyError && err.error === 'invalid_request' && /PKCE/.test(err.error_description),
  );
});

test('PAR at the default authorization server: its own endpoint, its own issuer in the redirect', async () => {
  const issuer = new URL(`${API}/oauth2/default`);
  const server = await oauth.processDiscoveryResponse(
    issuer,
    await oauth.discoveryRequest(issuer, { algorithm: 'oauth2', ...insecure }),
  );
  assert.equal(server.pushed_authorization_request_endpoint, `${issuer.href}/v1/par`);
  const login = await logIn({ scope: 'openid products:read', username: 'user1', password: 'password1', server, pushed: true });
  const params = callbackParameters(login);
  const tokens = await oauth.processAuthorizationCodeResponse(server, SPA, await redeem(params, login, login.codeVerifier));
  assert.equal(jose.decodeJwt(tokens.access_token).iss, issuer.href);
});

/** The demo's command line: a public client of the device authorization grant (RFC 8628). */
const CLI = { client_id: 'demo-cli' };

/** The protocol error oauth4webapi rejected `promise` with (RFC 6749 §5.2 body), or null. */
async function protocolError(promise) {
  try {
    await promise;
    return null;
  } catch (error) {
    if (error instanceof oauth.ResponseBodyError) return error.error;
    throw error;
  }
}

/** One poll of the token endpoint with `deviceCode`, as oauth4webapi makes and reads it. */
async function pollOnce(server, deviceCode) {
  const response = await oauth.deviceCodeGrantRequest(server, CLI, oauth.None(), deviceCode, insecure);
  return oauth.processDeviceCodeResponse(server, CLI, response);
}

test('device authorization (RFC 8628): oauth4webapi asks for codes and polls; the user types the code on another device and allows it', async () => {
  assert.equal(as.device_authorization_endpoint, `${API}/device/authorize`);
  assert.ok(as.grant_types_supported.includes('urn:ietf:params:oauth:grant-type:device_code'));
  const started = await oauth.processDeviceAuthorizationResponse(
    as,
    CLI,
    await oauth.deviceAuthorizationRequest(as, CLI, oauth.None(), { scope: 'openid offline_access products:read' }, insecure),
  );
  assert.match(started.user_code, /^[B-DF-HJ-NP-TV-XZ]{4}-[B-DF-HJ-NP-TV-XZ]{4}$/);
  assert.equal(started.verification_uri, `${API}/device`);
  assert.equal(started.interval, 5);
  // Nobody has answered yet.
  assert.equal(await protocolError(pollOnce(as, started.device_code)), 'authorization_pending');

  // On another device: the bare page, the code typed as a person would (lower case, no dash).
  const typed = new URL(started.verification_uri);
  typed.searchParams.set('user_code', started.user_code.replace('-', '').toLowerCase());
  const { html, answered } = await answerDevicePage({ url: typed, username: 'user0', password: 'password0', decision: 'allow' });
  assert.match(html, /Demo command line/);
  assert.ok(html.includes(started.user_code), 'the page shows the code as the device does');
  assert.equal(answered.status, 200);
  assert.match(await answered.text(), /Device connected/);

  // The device keeps to its interval (RFC 8628 §3.5), then gets its tokens once; oauth4webapi
  // validates the ID token.
  await new Promise((resolve) => setTimeout(resolve, started.interval * 1000));
  const tokens = await pollOnce(as, started.device_code);
  assert.equal(tokens.token_type.toLowerCase(), 'bearer');
  assert.ok(tokens.refresh_token, 'offline_access gives a refresh token');
  const claims = oauth.getValidatedIdTokenClaims(tokens);
  assert.equal(claims.aud, CLI.client_id);
  const products = await fetch(`${API}/api/products`, { headers: { Authorization: `Bearer ${tokens.access_token}` } });
  assert.equal(products.status, 200);
  await new Promise((resolve) => setTimeout(resolve, started.interval * 1000));
  assert.equal(await protocolError(pollOnce(as, started.device_code)), 'invalid_grant', 'a device code is redeemed once');
});

test('device authorization at the default authorization server: its own endpoints; the user denies, the device hears access_denied', async () => {
  const issuer = new URL(`${API}/oauth2/default`);
  const server = await oauth.processDiscoveryResponse(
    issuer,
    await oauth.discoveryRequest(issuer, { algorithm: 'oauth2', ...insecure }),
  );
  assert.equal(server.device_authorization_endpoint, `${issuer.href}/v1/device/authorize`);
  const started = await oauth.processDeviceAuthorizationResponse(
    server,
    CLI,
    await oauth.deviceAuthorizationRequest(server, CLI, oauth.None(), { scope: 'openid products:read' }, insecure),
  );
  assert.equal(started.verification_uri_complete, `${issuer.href}/v1/device?user_code=${started.user_code}`);
  const { answered } = await answerDevicePage({ url: new URL(started.verification_uri_complete), decision: 'deny' });
  assert.match(await answered.text(), /Device not connected/);
  assert.equal(await protocolError(pollOnce(server, started.device_code)), 'access_denied');
});

test('private_key_jwt (RFC 7523): a service registered with a jwks_uri, its assertions signed by oauth4webapi, once each', async () => {
  assert.ok(as.token_endpoint_auth_methods_supported.includes('private_key_jwt'));
  assert.ok(as.token_endpoint_auth_signing_alg_values_supported.includes('ES256'));
  // The service's key pair: the private key never leaves it; its public JWK Set is served over
  // real HTTP, where the authorization server reads it.
  const kid = `e2e-${randomBytes(4).toString('hex')}`;
  const { publicKey, privateKey } = await jose.generateKeyPair('ES256');
  const jwks = { keys: [{ ...(await jose.exportJWK(publicKey)), kid, alg: 'ES256', use: 'sig' }] };
  const keyServer = createServer((_, response) => {
    response.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'max-age=300' });
    response.end(JSON.stringify(jwks));
  });
  await new Promise((resolve) => keyServer.listen(0, '127.0.0.1', resolve));
  try {
    const jwksUri = `http://127.0.0.1:${keyServer.address().port}/jwks.json`;
    const admin = await userTokens({ scope: 'openid admin', username: 'admin', password: 'admin-password' });
    const clientId = `signer-${kid}`;
    const registered = await fetch(`${API}/admin/clients`, {
      method: 'POST',
      headers: { authorization: `Bearer ${admin.access_token}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        kind: 'service',
        name: 'E2E signer',
        client_id: clientId,
        scope: 'products:read',
        token_endpoint_auth_method: 'private_key_jwt',
        jwks_uri: jwksUri,
      }),
    });
    assert.equal(registered.status, 201, await registered.clone().text());
    const created = await registered.json();
    assert.equal(created.client_secret, undefined, 'no secret is made');
    assert.equal(created.client.token_endpoint_auth_method, 'private_key_jwt');

    const client = { client_id: clientId };
    const auth = oauth.PrivateKeyJwt({ key: privateKey, kid });
    const tokens = await oauth.processClientCredentialsResponse(
      as,
      client,
      await oauth.clientCredentialsGrantRequest(as, client, auth, new URLSearchParams({ scope: 'products:read' }), insecure),
    );
    const claims = await verifyAccessToken(tokens.access_token);
    assert.equal(claims.client_id, clientId);
    const whoami = await fetch(`${API}/api/whoami`, { headers: { authorization: `Bearer ${tokens.access_token}` } });
    assert.equal((await whoami.json()).client_id, clientId);

    // The same assertion twice: the second is refused (RFC 7523 §3: a jti is used once).
    let sent;
    const first = await oauth.clientCredentialsGrantRequest(as, client, auth, new URLSearchParams({ scope: 'products:read' }), {
      ...insecure,
      [oauth.customFetch]: (url, init) => {
        sent = init.body;
        return fetch(url, init);
      },
    });
    assert.equal(first.status, 200);
    const replay = await fetch(as.token_endpoint, { method: 'POST', body: sent });
    assert.equal(replay.status, 401);
    const refusal = await replay.json();
    assert.equal(refusal.error, 'invalid_client');
    assert.match(refusal.error_description, /used before/);

    // A key the service never registered: refused, saying so.
    const other = await jose.generateKeyPair('ES256');
    const forged = await oauth.clientCredentialsGrantRequest(
      as,
      client,
      oauth.PrivateKeyJwt({ key: other.privateKey, kid }),
      new URLSearchParams({ scope: 'products:read' }),
      insecure,
    );
    // A 401 with a challenge (RFC 6749 §5.2), which the library reports as such.
    const err = await oauth.processClientCredentialsResponse(as, client, forged).then(
      () => assert.fail('an assertion signed with another key is refused'),
      (e) => e,
    );
    assert.ok(err instanceof oauth.WWWAuthenticateChallengeError, String(err));
    const body = await err.response.json();
    assert.equal(body.error, 'invalid_client');
    assert.match(body.error_description, /signature is invalid/);
  } finally {
    keyServer.close();
  }
});

/**
 * Runs `request` once more if the server asked for a DPoP nonce (RFC 9449 §8, §9): the handle
 * keeps the nonce of the answer's `DPoP-Nonce` and puts it in the next proof. With
 * DPOP_NONCE_REQUIRED (the cluster run) the first proof of each handle is sent back for one.
 */
async function withNonce(request) {
  try {
    return await request();
  } catch (e) {
    if (oauth.isDPoPNonceError(e)) return await request();
    throw e;
  }
}

test('DPoP (RFC 9449): oauth4webapi binds a service token to a non-extractable key and calls the API with proofs', async () => {
  assert.deepEqual(as.dpop_signing_alg_values_supported, ['ES256', 'EdDSA', 'Ed25519']);
  const client = { client_id: 'demo-service' };
  const auth = oauth.ClientSecretBasic('demo-service-secret');
  for (const alg of ['ES256', 'EdDSA']) {
    // The private key cannot be exported (WebCrypto's extractable: false): only proofs leave.
    const keyPair = await oauth.generateKeyPair(alg);
    assert.equal(keyPair.privateKey.extractable, false);
    const DPoP = oauth.DPoP(client, keyPair);
    const tokens = await withNonce(async () =>
      oauth.processClientCredentialsResponse(
        as,
        client,
        await oauth.clientCredentialsGrantRequest(as, client, auth, new URLSearchParams({ scope: 'products:read' }), {
          ...insecure,
          DPoP,
        }),
      ),
    );
    assert.equal(tokens.token_type, 'dpop', alg);
    // (oauth4webapi's own token validation wants the proof of a request for a DPoP token: the
    // claims are read here, the API checks the rest.)
    const claims = jose.decodeJwt(tokens.access_token);
    const jkt = await jose.calculateJwkThumbprint(await jose.exportJWK(keyPair.publicKey));
    assert.deepEqual(claims.cnf, { jkt }, 'RFC 9449 §6.1');
    // The library signs a proof for each call (htm, htu, ath); the API takes it.
    const url = new URL(`${API}/api/products`);
    for (let i = 0; i < 2; i++) {
      const response = await withNonce(() =>
        oauth.protectedResourceRequest(tokens.access_token, 'GET', url, undefined, undefined, { ...insecure, DPoP }),
      );
      assert.equal(response.status, 200, await response.clone().text());
    }
    // The same token as Bearer, or with another key's proof, is refused.
    const bearer = await fetch(url, { headers: { authorization: `Bearer ${tokens.access_token}` } });
    assert.equal(bearer.status, 401);
    assert.match(bearer.headers.get('www-authenticate') ?? '', /^DPoP realm="api", algs="ES256 EdDSA Ed25519", error="invalid_dpop_proof"/);
    const thief = oauth.DPoP(client, await oauth.generateKeyPair(alg));
    // The library reports the 401's challenge, which it parsed: DPoP's, with the error.
    const stolen = await withNonce(() =>
      oauth.protectedResourceRequest(tokens.access_token, 'GET', url, undefined, undefined, { ...insecure, DPoP: thief }),
    ).then(
      () => assert.fail('a proof by another key is refused'),
      (e) => e,
    );
    assert.ok(stolen instanceof oauth.WWWAuthenticateChallengeError, String(stolen));
    const challenge = stolen.cause.find((c) => c.scheme === 'dpop');
    assert.equal(challenge?.parameters.error, 'invalid_dpop_proof');
    assert.match(challenge?.parameters.error_description ?? '', /bound to/);
  }
});

test('token exchange (RFC 8693): oauth4webapi exchanges a user\'s token; the new one names the service as the actor', async () => {
  assert.ok(as.grant_types_supported.includes('urn:ietf:params:oauth:grant-type:token-exchange'));
  const user = await userTokens({ scope: 'openid products:read orders:read', username: 'user0', password: 'password0' });
  const service = { client_id: 'demo-service' };
  const auth = oauth.ClientSecretBasic('demo-service-secret');
  const exchange = (parameters) =>
    oauth.genericTokenEndpointRequest(
      as,
      service,
      auth,
      'urn:ietf:params:oauth:grant-type:token-exchange',
      new URLSearchParams({
        subject_token: user.access_token,
        subject_token_type: 'urn:ietf:params:oauth:token-type:access_token',
        ...parameters,
      }),
      insecure,
    );
  const response = await exchange({ audience: AUDIENCE, scope: 'products:read' });
  assert.match(response.headers.get('cache-control') ?? '', /no-store/);
  const tokens = await oauth.processGenericTokenEndpointResponse(as, service, response);
  assert.equal(tokens.issued_token_type, 'urn:ietf:params:oauth:token-type:access_token');
  assert.equal(tokens.token_type.toLowerCase(), 'bearer');
  assert.equal(tokens.scope, 'products:read');
  assert.equal(tokens.refresh_token, undefined, 'an exchange issues no refresh token');

  // A resource server validating it as RFC 9068 says, with oauth4webapi, sees who acts.
  const request = new Request(`${API}/api/whoami`, { headers: { authorization: `Bearer ${tokens.access_token}` } });
  const claims = await oauth.validateJwtAccessToken(as, request, AUDIENCE, insecure);
  const userClaims = await verifyAccessToken(user.access_token);
  assert.equal(claims.sub, userClaims.sub);
  assert.equal(claims.client_id, 'demo-service');
  assert.deepEqual(claims.act, { sub: 'demo-service' });
  const whoami = await (await fetch(request)).json();
  assert.deepEqual(whoami.act, { sub: 'demo-service' });

  // Wider than the user's token, or in the wrong shape: the RFC's errors, with the reason.
  for (const [parameters, error, words] of [
    [{ scope: 'orders:write' }, 'invalid_scope', 'does not hold orders:write'],
    [{ scope: 'orders:read' }, 'invalid_scope', 'may not be granted: orders:read'],
    [{ subject_token_type: 'urn:ietf:params:oauth:token-type:saml2' }, 'invalid_request', 'not a type this server exchanges'],
    [{ subject_token: 'x.y.z' }, 'invalid_request', 'the subject_token is refused'],
  ]) {
    await assert.rejects(
      oauth.processGenericTokenEndpointResponse(as, service, await exchange(parameters)),
      (err) => {
        assert.ok(err instanceof oauth.ResponseBodyError, String(err));
        assert.equal(err.error, error);
        assert.match(err.error_description, new RegExp(words));
        return true;
      },
    );
  }
});

test('dynamic registration (RFC 7591, RFC 7592): oauth4webapi registers a service with an initial access token, uses it, reads and deletes it', async () => {
  assert.equal(as.registration_endpoint, `${ISSUER.href.replace(/\/$/, '')}/register`);
  // An administrator makes an initial access token (the admin API; the console or the command
  // line would do the same).
  const admin = await userTokens({ scope: 'openid admin', username: 'admin', password: 'admin-password' });
  const made = await fetch(`${API}/admin/registration-tokens`, {
    method: 'POST',
    headers: { authorization: `Bearer ${admin.access_token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'standards client', expires_in: 600 }),
  });
  assert.equal(made.status, 201);
  const { token: initialAccessToken } = await made.json();

  // Without it: refused with a Bearer challenge.
  await assert.rejects(
    oauth.processDynamicClientRegistrationResponse(
      await oauth.dynamicClientRegistrationRequest(as, { scope: 'products:read', grant_types: ['client_credentials'] }, insecure),
    ),
  );
  const registered = await oauth.processDynamicClientRegistrationResponse(
    await oauth.dynamicClientRegistrationRequest(
      as,
      { client_name: 'Registered by oauth4webapi', grant_types: ['client_credentials'], scope: 'products:read' },
      { initialAccessToken, ...insecure },
    ),
  );
  assert.match(registered.client_id, /^dyn-/);
  assert.equal(typeof registered.client_secret, 'string');
  assert.equal(registered.token_endpoint_auth_method, 'client_secret_basic');

  // It works at once.
  const client = { client_id: registered.client_id };
  const tokens = await oauth.processClientCredentialsResponse(
    as,
    client,
    await oauth.clientCredentialsGrantRequest(as, client, oauth.ClientSecretBasic(registered.client_secret), new URLSearchParams({ scope: 'products:read' }), insecure),
  );
  const claims = await verifyAccessToken(tokens.access_token);
  assert.equal(claims.client_id, registered.client_id);

  // RFC 7592: its registration access token reads it and deletes it; then the client is gone.
  const manage = (method, token) =>
    fetch(registered.registration_client_uri, { method, headers: { authorization: `Bearer ${token}` } });
  const read = await manage('GET', registered.registration_access_token);
  assert.equal(read.status, 200);
  const current = await read.json();
  assert.equal(current.client_name, 'Registered by oauth4webapi');
  // Each answer brings the next registration access token; the one used is spent.
  assert.notEqual(current.registration_access_token, registered.registration_access_token);
  assert.equal((await manage('GET', registered.registration_access_token)).status, 401);
  assert.equal((await manage('DELETE', current.registration_access_token)).status, 204);
  const gone = await oauth.clientCredentialsGrantRequest(as, client, oauth.ClientSecretBasic(registered.client_secret), new URLSearchParams(), insecure);
  assert.equal(gone.status, 401);
  assert.equal((await gone.json()).error, 'invalid_client');
  assert.equal((await manage('GET', current.registration_access_token)).status, 401);
});

test('logout (OpenID Connect RP-Initiated and Back-Channel Logout): the client sends the browser to end_session_endpoint, its back channel receives a logout token jose verifies', async () => {
  assert.equal(as.end_session_endpoint, `${API}/logout`);
  assert.equal(as.backchannel_logout_supported, true);
  assert.equal(as.backchannel_logout_session_supported, true);
  // The client's back channel: a real HTTP server that keeps what it is posted.
  const received = [];
  const backChannel = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk) => (body += chunk));
    request.on('end', () => {
      received.push({ contentType: request.headers['content-type'], body: new URLSearchParams(body) });
      response.writeHead(200, { 'cache-control': 'no-store' });
      response.end();
    });
  });
  await new Promise((resolve) => backChannel.listen(0, '127.0.0.1', resolve));
  const admin = await userTokens({ scope: 'openid admin', username: 'admin', password: 'admin-password' });
  const clientId = `rp-${randomBytes(4).toString('hex')}`;
  const adminCall = (method, path, body) =>
    fetch(`${API}/admin/clients${path}`, {
      method,
      headers: { authorization: `Bearer ${admin.access_token}`, 'content-type': 'application/json' },
      body: body && JSON.stringify(body),
    });
  try {
    const registered = await adminCall('POST', '', {
      kind: 'browser',
      name: 'E2E relying party',
      client_id: clientId,
      scope: 'openid profile',
      first_party: true,
      redirect_uris: [`${APP}/callback`],
      post_logout_redirect_uris: [`${APP}/`],
      backchannel_logout_uri: `http://127.0.0.1:${backChannel.address().port}/backchannel-logout`,
    });
    assert.equal(registered.status, 201, await registered.clone().text());
    const client = { client_id: clientId };
    const nonce = oauth.generateRandomNonce();
    const login = await logIn({ scope: 'openid profile', username: 'user1', password: 'password1', nonce, client });
    const tokens = await oauth.processAuthorizationCodeResponse(
      as,
      client,
      await redeem(callbackParameters(login), login, login.codeVerifier),
      { expectedNonce: nonce },
    );
    const idClaims = oauth.getValidatedIdTokenClaims(tokens);
    assert.ok(idClaims.sid, 'the ID token names its login (sid)');

    // RP-Initiated Logout 1.0 §2: the client builds the request; the user confirms.
    const endSession = new URL(as.end_session_endpoint);
    const state = oauth.generateRandomState();
    endSession.search = new URLSearchParams({
      id_token_hint: tokens.id_token,
      post_logout_redirect_uri: `${APP}/`,
      state,
    }).toString();
    const { html, answered } = await answerLogoutPage({ url: endSession, decision: 'this' });
    assert.match(html, /E2E relying party/);
    assert.equal(answered.status, 303);
    const back = new URL(answered.headers.get('location'));
    assert.equal(`${back.origin}${back.pathname}`, `${APP}/`);
    assert.equal(back.searchParams.get('state'), state, '§3: state comes back');

    // Back-Channel Logout 1.0 §2.5: one form post with a logout token, which an independent
    // library verifies as §2.6 says: the issuer's keys, the ID-token algorithm, explicit typ.
    assert.equal(received.length, 1);
    assert.match(received[0].contentType, /application\/x-www-form-urlencoded/);
    const { payload, protectedHeader } = await jose.jwtVerify(
      received[0].body.get('logout_token'),
      jose.createRemoteJWKSet(new URL(as.jwks_uri)),
      { issuer: as.issuer, audience: clientId, algorithms: as.id_token_signing_alg_values_supported, typ: 'logout+jwt', maxTokenAge: '2 minutes' },
    );
    assert.equal(protectedHeader.typ, 'logout+jwt');
    assert.deepEqual(payload.events, { 'http://schemas.openid.net/event/backchannel-logout': {} });
    assert.equal(payload.sid, idClaims.sid);
    assert.equal(payload.sub, idClaims.sub);
    assert.equal(payload.nonce, undefined, '§2.4: a logout token has no nonce');
    assert.ok(payload.jti && payload.exp > payload.iat);
    // The login has ended: its access token is refused by the API.
    const me = await fetch(`${API}/api/whoami`, { headers: { authorization: `Bearer ${tokens.access_token}` } });
    assert.equal(me.status, 401);
  } finally {
    backChannel.close();
    await adminCall('DELETE', `/${clientId}`);
  }
});

test('a wrong client secret is refused', async () => {
  const response = await oauth.clientCredentialsGrantRequest(
    as,
    { client_id: 'demo-service' },
    oauth.ClientSecretBasic('not-the-secret'),
    new URLSearchParams({ scope: 'products:read' }),
    insecure,
  );
  assert.equal(response.status, 401);
  assert.equal((await response.json()).error, 'invalid_client');
});

test('the API refuses a request without a token, with a Bearer challenge', async () => {
  const response = await fetch(`${API}/api/whoami`);
  assert.equal(response.status, 401);
  assert.match(response.headers.get('www-authenticate') ?? '', /^Bearer\b/);

  const garbage = await fetch(`${API}/api/whoami`, { headers: { authorization: 'Bearer not.a.token' } });
  assert.equal(garbage.status, 401);
  assert.match(garbage.headers.get('www-authenticate') ?? '', /^Bearer\b.*invalid_token/);
});

test('RFC 9728: from a bare 401 to a token, knowing nothing but the URL called', async () => {
  const url = new URL(`${API}/api/products`);
  // The bare 401 (no credentials): its Bearer challenge names the metadata (RFC 9728 §5.1).
  const refused = await fetch(url);
  assert.equal(refused.status, 401);
  const bearer = (refused.headers.get('www-authenticate') ?? '').split(/,\s*(?=Token )/)[0];
  const metadataUrl = /resource_metadata="([^"]+)"/.exec(bearer)?.[1];
  assert.ok(metadataUrl, `the Bearer challenge names the resource metadata: ${bearer}`);
  // oauth4webapi, meeting a refused token, parses the same parameter out of the challenge.
  const parsed = await oauth
    .protectedResourceRequest('not-a-token', 'GET', url, undefined, undefined, insecure)
    .then(() => assert.fail('a garbage token is refused'))
    .catch((err) => {
      assert.ok(err instanceof oauth.WWWAuthenticateChallengeError, String(err));
      return err.cause.find((c) => c.scheme === 'bearer');
    });
  assert.equal(parsed.parameters.error, 'invalid_token');
  assert.equal(parsed.parameters.resource_metadata, metadataUrl);
  // The metadata, checked by oauth4webapi as RFC 9728 §3.3 says: its `resource` is the URL called.
  const resource = await oauth.processResourceDiscoveryResponse(url, await fetch(metadataUrl));
  assert.deepEqual(resource.bearer_methods_supported, ['header']);
  assert.ok(resource.scopes_supported.includes('products:read'));
  // The authorization server it names, discovered as any other (RFC 8414), and a token from it
  // for that resource (RFC 8707, as a Model Context Protocol client asks).
  const issuer = new URL(resource.authorization_servers[0]);
  const server = await oauth.processDiscoveryResponse(
    issuer,
    await oauth.discoveryRequest(issuer, { algorithm: 'oauth2', ...insecure }),
  );
  assert.equal(server.resource_indicators_supported, true);
  const client = { client_id: 'demo-service' };
  const ask = (resourceIndicator) =>
    oauth.clientCredentialsGrantRequest(
      server,
      client,
      oauth.ClientSecretBasic('demo-service-secret'),
      new URLSearchParams({ scope: 'products:read', resource: resourceIndicator }),
      insecure,
    );
  const tokens = await oauth.processClientCredentialsResponse(server, client, await ask(resource.resource));
  const claims = await verifyAccessToken(tokens.access_token);
  assert.equal(claims.aud, AUDIENCE, 'the resource identifier stands for the API\'s audience');
  const retried = await oauth.protectedResourceRequest(tokens.access_token, 'GET', url, undefined, undefined, insecure);
  assert.equal(retried.status, 200);
  assert.ok(Array.isArray(await retried.json()));
  // A resource the server does not issue for: the RFC's error, read by the library.
  await assert.rejects(
    oauth.processClientCredentialsResponse(server, client, await ask('https://elsewhere.example/api')),
    (err) => err instanceof oauth.ResponseBodyError && err.error === 'invalid_target' && /elsewhere\.example/.test(err.error_description),
  );
});


test('authorization code + PKCE over plain HTTP: log in, exchange, validate as a resource server', async () => {
  // 1-2. The login page, and the redirect back with code, state and iss.
  const login = await logIn({ scope: 'products:read orders:read orders:write', username: 'user0', password: 'password0' });
  const params = callbackParameters(login);

  // 3. The code is redeemed with the PKCE verifier.
  const response = await redeem(params, login, login.codeVerifier);
  assert.match(response.headers.get('cache-control') ?? '', /no-store/, 'token responses are not cached');
  const tokens = await oauth.processAuthorizationCodeResponse(as, SPA, response);
  assert.equal(tokens.token_type.toLowerCase(), 'bearer');
  assert.match(tokens.access_token, JWT_SHAPE);

  // 4. A resource server validates the token (RFC 9068) with both libraries.
  const claims = await verifyAccessToken(tokens.access_token);
  assert.equal(claims.client_id, 'demo-spa');
  assert.ok(claims.sub, 'the token names its user');
  assert.deepEqual(String(claims.scope).split(' ').sort(), ['orders:read', 'orders:write', 'products:read']);

  // 5. The API serves the user with it.
  const auth = { authorization: `Bearer ${tokens.access_token}` };
  const whoami = await (await fetch(`${API}/api/whoami`, { headers: auth })).json();
  assert.equal(whoami.subject_type, 'user');
  assert.equal(whoami.client_id, 'demo-spa');
  // /api/me needs the `profile` scope, which this token lacks: RFC 6750 §3.1 insufficient_scope.
  const me = await fetch(`${API}/api/me`, { headers: auth });
  assert.equal(me.status, 403);
  assert.match(me.headers.get('www-authenticate') ?? '', /^Bearer\b.*error="insufficient_scope"/);
  const products = await fetch(`${API}/api/products`, { headers: auth });
  assert.equal(products.status, 200);
  const list = await products.json();
  assert.ok(Array.isArray(list) && list.length > 0, 'the demo data has products');
  const ordered = await fetch(`${API}/api/orders`, {
    method: 'POST',
    headers: { ...auth, 'content-type': 'application/json' },
    body: JSON.stringify({ product_id: list[0].id, quantity: 2 }),
  });
  assert.ok(ordered.status === 200 || ordered.status === 201, `POST /api/orders answered ${ordered.status}`);
  const orders = await (await fetch(`${API}/api/orders`, { headers: auth })).json();
  assert.ok(orders.some((o) => o.product_id === list[0].id && o.quantity === 2), 'the new order is listed');

  // 6. A code is good once only.
  const replay = await redeem(params, login, login.codeVerifier);
  assert.equal(replay.status, 400);
  assert.equal((await replay.json()).error, 'invalid_grant');
});

test('with the profile scope, /api/me tells who logged in', async () => {
  const login = await logIn({ scope: 'openid profile email', username: 'user1', password: 'password1' });
  const params = callbackParameters(login);
  const response = await redeem(params, login, login.codeVerifier);
  const tokens = await oauth.processAuthorizationCodeResponse(as, SPA, response, { requireIdToken: false });
  await verifyAccessToken(tokens.access_token);
  // The ID token is RS256 (OpenID Connect's default, whatever signs the access tokens), and
  // jose verifies it with the key the JWKS publishes for it, allowing RS256 only.
  const { payload, protectedHeader } = await jose.jwtVerify(tokens.id_token, jose.createRemoteJWKSet(new URL(as.jwks_uri)), {
    issuer: as.issuer,
    audience: SPA.client_id,
    algorithms: ['RS256'],
  });
  assert.equal(protectedHeader.alg, 'RS256');
  assert.equal(payload.preferred_username, 'user1');
  const me = await fetch(`${API}/api/me`, { headers: { authorization: `Bearer ${tokens.access_token}` } });
  assert.equal(me.status, 200);
  assert.equal((await me.json()).username, 'user1');
});

test('a wrong password shows the login page again, with no redirect', async () => {
  const { submitted } = await logIn({ scope: 'products:read', username: 'user0', password: 'wrong' });
  assert.notEqual(submitted.status, 303);
  assert.equal(submitted.headers.get('location'), null);
});

test('the code exchange fails without the right PKCE verifier', async () => {
  const login = await logIn({ scope: 'products:read', username: 'user1', password: 'password1' });
  const params = callbackParameters(login);
  const response = await redeem(params, login, oauth.generateRandomCodeVerifier());
  assert.equal(response.status, 400);
  assert.equal((await response.json()).error, 'invalid_grant');
});

/** Validates an access token as an RFC 9068 resource server, once per library; returns its claims. */
async function verifyAccessToken(accessToken) {
  const request = new Request(`${API}/api/whoami`, { headers: { authorization: `Bearer ${accessToken}` } });
  const claims = await oauth.validateJwtAccessToken(as, request, AUDIENCE, insecure);
  assert.equal(claims.iss, as.issuer);

  const jwks = jose.createRemoteJWKSet(new URL(as.jwks_uri));
  const { payload, protectedHeader } = await jose.jwtVerify(accessToken, jwks, {
    issuer: as.issuer,
    audience: AUDIENCE,
    typ: 'at+jwt',
  });
  assert.ok(protectedHeader.kid, 'the token names its signing key');
  assert.notEqual(protectedHeader.alg, 'none');
  for (const claim of ['iss', 'sub', 'aud', 'exp', 'iat', 'jti', 'client_id']) {
    assert.ok(payload[claim] !== undefined, `the token has ${claim}`);
  }
  assert.ok(payload.exp > Date.now() / 1000);
  assert.deepEqual(payload, claims);
  return payload;
}
