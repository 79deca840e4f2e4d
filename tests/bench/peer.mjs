// The peer of scripts/bench.sh: node-oidc-provider, configured as this project's server is for
// the machine-to-machine benchmark: one confidential client (`demo-service`, client_secret_basic)
// with the client-credentials grant and the `products:read` scope, JWT access tokens (RFC 9068)
// signed with ES256, its default in-memory storage.
//
//   node peer.mjs PORT
import { generateKeyPairSync } from 'node:crypto';
import Provider from 'oidc-provider';

const port = Number(process.argv[2]);
if (!Number.isInteger(port) || port <= 0) {
  console.error('usage: node peer.mjs PORT');
  process.exit(2);
}
const issuer = `http://127.0.0.1:${port}`;
const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const signingKey = { ...privateKey.export({ format: 'jwk' }), kid: 'bench', alg: 'ES256', use: 'sig' };
const audience = 'http://127.0.0.1/api';

const provider = new Provider(issuer, {
  clients: [
    {
      client_id: 'demo-service',
      client_secret: 'demo-service-secret',
      grant_types: ['client_credentials'],
      response_types: [],
      redirect_uris: [],
      token_endpoint_auth_method: 'client_secret_basic',
      scope: 'products:read',
      // Only ES256 keys exist here; the default (RS256) would make the client invalid.
      id_token_signed_response_alg: 'ES256',
    },
  ],
  jwks: { keys: [signingKey] },
  scopes: ['products:read'],
  features: {
    clientCredentials: { enabled: true },
    devInteractions: { enabled: false },
    // A token for an API (a resource server) is what makes it a JWT in node-oidc-provider.
    resourceIndicators: {
      enabled: true,
      defaultResource: () => audience,
      useGrantedResource: () => true,
      getResourceServerInfo: () => ({
        scope: 'products:read',
        audience,
        accessTokenTTL: 900,
        accessTokenFormat: 'jwt',
        jwt: { sign: { alg: 'ES256' } },
      }),
    },
  },
});
provider.on('server_error', (_ctx, error) => console.error('server_error', error));
provider.listen(port, '127.0.0.1', () => console.log(`peer listening on ${issuer}`));
