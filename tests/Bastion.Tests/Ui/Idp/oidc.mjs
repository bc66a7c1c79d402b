// A real OpenID Connect provider (oidc-provider) on loopback for Bastion's SSO tests. Reads its configuration from
// the JSON file named by the first argument: { "clientId", "clientSecret", "redirectUri", "accounts": { login: {
// "email", "email_verified", "groups", "amr" } } }. Listens on a free port of 127.0.0.1 and prints one JSON line,
// {"issuer": "http://127.0.0.1:port"}. Its login page asks only for the login (no password: a test identity
// provider). POST /__test/tamper {"mode": "issuer"|"audience"|"key"|"expired"} makes the next ID token the token
// endpoint returns claim another issuer or audience, carry a signature of a key the provider never published, or be
// expired; it is otherwise the real token (same nonce, subject, claims), re-signed.
import { readFileSync } from 'node:fs';
import http from 'node:http';
import { decodeJwt, exportJWK, generateKeyPair, SignJWT } from 'jose';
import Provider from 'oidc-provider';

const config = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const server = http.createServer();
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
const issuer = `http://127.0.0.1:${server.address().port}`;

const signing = await generateKeyPair('RS256', { extractable: true });
const foreign = await generateKeyPair('RS256', { extractable: true });
const jwk = { ...(await exportJWK(signing.privateKey)), kid: 'test-signing', alg: 'RS256', use: 'sig' };

const accounts = config.accounts ?? {};
const provider = new Provider(issuer, {
  clients: [
    {
      client_id: config.clientId,
      client_secret: config.clientSecret,
      redirect_uris: [config.redirectUri],
      response_types: ['code'],
      grant_types: ['authorization_code'],
      token_endpoint_auth_method: 'client_secret_post',
    },
  ],
  jwks: { keys: [jwk] },
  claims: { openid: ['sub', 'acr', 'amr', 'auth_time'], email: ['email', 'email_verified'], groups: ['groups'] },
  scopes: ['openid', 'email', 'groups'],
  conformIdTokenClaims: false, // the claims ride in the ID token, where Bastion reads them
  pkce: { required: () => true },
  cookies: { keys: ['bastion-test-idp-cookie-key'] },
  features: { devInteractions: { enabled: false } },
  interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
  async findAccount(_ctx, id) {
    const account = accounts[id] ?? { email: id, email_verified: true };
    return {
      accountId: id,
      async claims() {
        return { sub: id, email: account.email, email_verified: account.email_verified, groups: account.groups ?? [] };
      },
    };
  },
});

let tamper = 'none';
provider.use(async (ctx, next) => {
  await next();
  if (ctx.path !== '/token' || tamper === 'none' || !ctx.body?.id_token) return;
  const claims = decodeJwt(ctx.body.id_token);
  const now = Math.floor(Date.now() / 1000);
  if (tamper === 'issuer') claims.iss = 'http://127.0.0.1:9/another-issuer';
  if (tamper === 'audience') claims.aud = 'another-client';
  if (tamper === 'expired') Object.assign(claims, { iat: now - 3600, exp: now - 1800 });
  const key = tamper === 'key' ? foreign.privateKey : signing.privateKey;
  ctx.body = { ...ctx.body, id_token: await new SignJWT(claims).setProtectedHeader({ alg: 'RS256', kid: 'test-signing' }).sign(key) };
  tamper = 'none';
});

const page = (body) => `<!doctype html><html><head><title>Test IdP</title></head><body>${body}</body></html>`;

async function readBody(req) {
  let text = '';
  for await (const chunk of req) text += chunk;
  return text;
}

async function interaction(req, res) {
  const details = await provider.interactionDetails(req, res);
  if (details.prompt.name === 'login') {
    if (req.method === 'POST') {
      const login = new URLSearchParams(await readBody(req)).get('login');
      const amr = accounts[login]?.amr ?? ['pwd'];
      await provider.interactionFinished(req, res, { login: { accountId: login, amr } }, { mergeWithLastSubmission: false });
      return;
    }
    res.setHeader('content-type', 'text/html');
    res.end(page(`<h1>Test identity provider</h1><form method="post"><label>Login <input name="login" autofocus></label> <button type="submit">Continue</button></form>`));
    return;
  }
  // Consent: granted at once for what was asked (a test provider).
  const grant = details.grantId
    ? await provider.Grant.find(details.grantId)
    : new provider.Grant({ accountId: details.session.accountId, clientId: details.params.client_id });
  const missing = details.prompt.details;
  if (missing.missingOIDCScope) grant.addOIDCScope(missing.missingOIDCScope.join(' '));
  if (missing.missingOIDCClaims) grant.addOIDCClaims(missing.missingOIDCClaims);
  const grantId = await grant.save();
  await provider.interactionFinished(req, res, { consent: { grantId } }, { mergeWithLastSubmission: true });
}

const callback = provider.callback();
server.on('request', async (req, res) => {
  try {
    if (req.url === '/__test/tamper' && req.method === 'POST') {
      tamper = JSON.parse(await readBody(req)).mode;
      res.end('{}');
    } else if (req.url.startsWith('/interaction/')) {
      await interaction(req, res);
    } else {
      callback(req, res);
    }
  } catch (e) {
    res.statusCode = 500;
    res.end(String(e));
  }
});

console.log(JSON.stringify({ issuer }));
