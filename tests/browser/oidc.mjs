// A real OpenID Connect provider for Linkway's tests: `oidc-provider` (OpenID Certified),
// on plain http at 127.0.0.1, with its clients and accounts from a JSON file.
//
//   node oidc.mjs --port 43123 --config provider.json
//
// provider.json:
//   { "clients":  [{ "client_id": "intake", "client_secret": "s3cret",
//                    "redirect_uris": ["http://127.0.0.1:40001/auth/callback"] }],
//     "accounts": [{ "sub": "u-1", "name": "Ada Link", "email": "ada@example.org",
//                    "username": "ada", "password": "pw" }] }
//
// Authorization code flow only, PKCE (S256) required of every client, scopes
// `openid profile email`, ID tokens signed RS256 with a key made at start (so every run
// has its own), claims of the granted scopes in the ID token as well as at userinfo.
// Sign-in is this file's own form (fields `username`, `password`, button "Sign in");
// consent is granted without a page. Prints `oidc-provider ready <issuer>` once listening.
// Everything is in memory: a restart forgets sessions, codes and tokens.

import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { parseArgs } from 'node:util';

import Provider from 'oidc-provider';

const { values: args } = parseArgs({
  options: {
    port: { type: 'string' },
    config: { type: 'string' },
    host: { type: 'string', default: '127.0.0.1' },
  },
});
if (!args.port || !args.config) {
  console.error('usage: node oidc.mjs --port PORT --config FILE.json');
  process.exit(2);
}

const settings = JSON.parse(readFileSync(args.config, 'utf8'));
const accounts = settings.accounts ?? [];
const issuer = `http://${args.host}:${args.port}`;

const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const signingKey = {
  ...privateKey.export({ format: 'jwk' }),
  kid: `linkway-test-${randomBytes(4).toString('hex')}`,
  use: 'sig',
  alg: 'RS256',
};

const clients = (settings.clients ?? []).map((c) => ({
  grant_types: ['authorization_code'],
  response_types: ['code'],
  token_endpoint_auth_method: 'client_secret_basic',
  id_token_signed_response_alg: 'RS256',
  ...c,
}));

function claimsOf(account) {
  return {
    sub: account.sub,
    name: account.name,
    email: account.email,
    email_verified: true,
  };
}

const provider = new Provider(issuer, {
  clients,
  jwks: { keys: [signingKey] },
  cookies: { keys: [randomBytes(32).toString('base64url')] },
  scopes: ['openid', 'profile', 'email'],
  claims: {
    openid: ['sub'],
    profile: ['name'],
    email: ['email', 'email_verified'],
  },
  responseTypes: ['code'],
  pkce: { required: () => true },
  enabledJWA: { idTokenSigningAlgValues: ['RS256'] },
  // Scope claims in the ID token too, not only at userinfo.
  conformIdTokenClaims: false,
  features: {
    devInteractions: { enabled: false },
    rpInitiatedLogout: { enabled: true },
  },
  interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
  clientBasedCORS: () => false,
  async findAccount(_ctx, sub) {
    const account = accounts.find((a) => a.sub === sub);
    if (!account) return undefined;
    return { accountId: sub, claims: async () => claimsOf(account) };
  },
  ttl: {
    AccessToken: 3600,
    AuthorizationCode: 60,
    ClientCredentials: 600,
    DeviceCode: 600,
    BackchannelAuthenticationRequest: 600,
    PreAuthorizedCode: 600,
    IdToken: 3600,
    RefreshToken: 86400,
    Interaction: 3600,
    Session: 86400,
    Grant: 86400,
  },
  renderError(ctx, out) {
    ctx.type = 'html';
    ctx.body = page('Sign-in error', `<h1>Sign-in error</h1>
<dl>${Object.entries(out).map(([k, v]) => `<dt>${escape(k)}</dt><dd>${escape(v)}</dd>`).join('')}</dl>`);
  },
});

function escape(text) {
  return String(text).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function page(title, body) {
  return `<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escape(title)} - Test identity provider</title>
<style>body{font-family:sans-serif;margin:2rem;color:#212b32}label{display:block;margin-top:1rem}
input{font-size:1rem;padding:.3rem}button{margin-top:1rem;font-size:1rem;padding:.4rem 1rem;background:#007f3b;color:#fff;border:0}
.error{color:#d5281b;font-weight:bold}</style></head>
<body><main>${body}</main></body></html>`;
}

function loginPage(uid, client, error) {
  return page('Sign in', `<h1>Sign in to ${escape(client?.clientName ?? client?.clientId ?? 'the service')}</h1>
<p>Test identity provider for Linkway (not for real accounts).</p>
${error ? `<p class="error" role="alert" id="error">${escape(error)}</p>` : ''}
<form method="post" action="/interaction/${escape(uid)}/login" autocomplete="off">
  <label for="username">Username</label>
  <input id="username" name="username" type="text" autocapitalize="none" spellcheck="false" required>
  <label for="password">Password</label>
  <input id="password" name="password" type="password" required>
  <div><button type="submit" id="sign-in">Sign in</button></div>
</form>
<p><a href="/interaction/${escape(uid)}/abort">Cancel</a></p>`);
}

async function readForm(req) {
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

function send(res, status, html) {
  res.writeHead(status, {
    'content-type': 'text/html; charset=utf-8',
    'cache-control': 'no-store',
  });
  res.end(html);
}

// The consent prompt: grant what was asked for, no page.
async function grantConsent(req, res, details) {
  const { prompt, params, session, grantId } = details;
  const grant = grantId
    ? await provider.Grant.find(grantId)
    : new provider.Grant({ accountId: session.accountId, clientId: params.client_id });
  if (prompt.details.missingOIDCScope) grant.addOIDCScope(prompt.details.missingOIDCScope.join(' '));
  if (prompt.details.missingOIDCClaims) grant.addOIDCClaims(prompt.details.missingOIDCClaims);
  for (const [indicator, scope] of Object.entries(prompt.details.missingResourceScopes ?? {})) {
    grant.addResourceScope(indicator, scope.join(' '));
  }
  await provider.interactionFinished(req, res, { consent: { grantId: await grant.save() } }, {
    mergeWithLastSubmission: true,
  });
}

async function interaction(req, res, uid, action) {
  const details = await provider.interactionDetails(req, res);
  if (details.uid !== uid) return send(res, 400, page('Sign-in error', '<h1>Unknown sign-in attempt</h1>'));
  const client = await provider.Client.find(details.params.client_id);
  if (action === 'abort') {
    return provider.interactionFinished(req, res, {
      error: 'access_denied',
      error_description: 'End-User aborted interaction',
    }, { mergeWithLastSubmission: false });
  }
  if (details.prompt.name === 'consent') return grantConsent(req, res, details);
  if (details.prompt.name !== 'login') return send(res, 501, page('Sign-in error', '<h1>Not implemented</h1>'));
  if (action === 'login' && req.method === 'POST') {
    const form = await readForm(req);
    const account = accounts.find(
      (a) => a.username === form.get('username') && a.password === form.get('password'),
    );
    if (!account) return send(res, 401, loginPage(uid, client, 'Wrong username or password.'));
    return provider.interactionFinished(req, res, { login: { accountId: account.sub } }, {
      mergeWithLastSubmission: false,
    });
  }
  return send(res, 200, loginPage(uid, client));
}

const callback = provider.callback();
const interactionPath = /^\/interaction\/([^/]+)(?:\/(login|abort))?$/;

const server = createServer((req, res) => {
  const { pathname } = new URL(req.url, issuer);
  const m = interactionPath.exec(pathname);
  if (!m) return callback(req, res);
  interaction(req, res, m[1], m[2]).catch((err) => {
    console.error('interaction failed:', err?.message ?? err);
    if (!res.headersSent) send(res, 400, page('Sign-in error', `<h1>Sign-in error</h1><p>${escape(err?.message ?? 'failed')}</p>`));
  });
});

// Why a request failed, for the test's log (the answers say only e.g. invalid_grant).
provider.on('server_error', (_ctx, err) => console.error('server_error:', err));
for (const event of ['authorization.error', 'grant.error', 'userinfo.error', 'end_session.error']) {
  provider.on(event, (_ctx, err) => console.error(`${event}: ${err.error}: ${err.error_detail ?? err.error_description ?? err.message}`));
}

server.listen(Number(args.port), args.host, () => {
  console.log(`oidc-provider ready ${issuer}`);
});

for (const signal of ['SIGTERM', 'SIGINT']) {
  process.on(signal, () => process.exit(0));
}
