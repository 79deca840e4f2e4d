// An external OpenID provider for the tests of trusted issuers: node-oidc-provider (panva's
// certified provider, which shares no code with this project) on a loopback port, and a client
// that gets its client-credentials tokens with oauth4webapi.

import { createServer } from 'node:net';
import { generateKeyPairSync } from 'node:crypto';
import * as oauth from 'oauth4webapi';
import Provider from 'oidc-provider';

import { insecure } from './oauth-client.mjs';

export const CLIENT = { client_id: 'batch-job' };
const SECRET = 'batch-job-secret-of-the-provider';

export function rsaKey(kid) {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return { ...privateKey.export({ format: 'jwk' }), kid, alg: 'RS256', use: 'sig' };
}

export function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/**
 * node-oidc-provider on `port` signing with `keys` (private JWKs): one confidential client
 * (CLIENT, SECRET) with the client-credentials grant, JWT access tokens (RFC 9068) for `audience`.
 */
export async function startProvider(port, keys, audience) {
  const issuer = `http://127.0.0.1:${port}`;
  const provider = new Provider(issuer, {
    clients: [
      {
        ...CLIENT,
        client_secret: SECRET,
        grant_types: ['client_credentials'],
        response_types: [],
        redirect_uris: [],
        token_endpoint_auth_method: 'client_secret_basic',
        scope: 'products:read orders:read',
      },
    ],
    jwks: { keys },
    scopes: ['products:read', 'orders:read'],
    features: {
      clientCredentials: { enabled: true },
      devInteractions: { enabled: false },
      // A token for a resource server is what makes it a JWT (RFC 9068) in node-oidc-provider.
      resourceIndicators: {
        enabled: true,
        defaultResource: () => audience,
        useGrantedResource: () => true,
        getResourceServerInfo: () => ({
          scope: 'products:read orders:read',
          audience,
          accessTokenTTL: 600,
          accessTokenFormat: 'jwt',
          jwt: { sign: { alg: 'RS256' } },
        }),
      },
    },
  });
  provider.on('server_error', (_ctx, error) => console.error('oidc-provider server_error', error));
  const server = await new Promise((resolve) => {
    const s = provider.listen(port, '127.0.0.1', () => resolve(s));
  });
  const close = () =>
    new Promise((resolve) => {
      server.closeAllConnections?.();
      server.close(() => resolve());
    });
  return { issuer, port, keys, close };
}

/** A client-credentials token from `provider`, obtained by oauth4webapi as any client would. */
export async function providerToken(provider, scope = 'products:read') {
  try {
    return await requestToken(provider, scope);
  } catch (error) {
    // A connection kept alive to the provider before it restarted is gone: once more, anew.
    if (!(error instanceof TypeError)) throw error;
    return requestToken(provider, scope);
  }
}

async function requestToken(provider, scope) {
  const url = new URL(provider.issuer);
  const as = await oauth.processDiscoveryResponse(url, await oauth.discoveryRequest(url, { algorithm: 'oidc', ...insecure }));
  const response = await oauth.clientCredentialsGrantRequest(
    as,
    CLIENT,
    oauth.ClientSecretBasic(SECRET),
    new URLSearchParams({ scope }),
    insecure,
  );
  const tokens = await oauth.processClientCredentialsResponse(as, CLIENT, response);
  return tokens.access_token;
}

