// The harness's own check of the test identity provider, with JavaScript off: lib.mjs's
// signIn through the provider's form (a wrong password first), then what a relying party
// does with the code: the token request with the PKCE verifier, the ID token's RS256
// signature against the provider's JWKS, and its claims.
//   SERVICE_URL: the test's stand-in service (/auth/login redirects to the provider with
//     the PKCE challenge of CODE_VERIFIER, state STATE, nonce NONCE; /auth/callback is a page)
//   ISSUER, CLIENT_ID, CLIENT_SECRET, REDIRECT_URI, USERNAME, PASSWORD, SUB, NAME, EMAIL
import { createPublicKey, verify } from 'node:crypto';

import { assert, checkA11y, launch, run, screenshot, signIn } from '../lib.mjs';

const env = process.env;

function decode(part) {
  return JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
}

run(async () => {
  const discovery = await (await fetch(`${env.ISSUER}/.well-known/openid-configuration`)).json();
  const { browser, page } = await launch({ javaScript: false });
  try {
    // The provider's own page: wrong password, then its error.
    await page.goto(`${env.SERVICE_URL}/auth/login?provider=test`);
    assert(page.url().startsWith(`${env.ISSUER}/interaction/`), `not at the provider: ${page.url()}`);
    await checkA11y(page, 'oidc-provider-sign-in');
    await screenshot(page, 'oidc-provider-sign-in');
    await page.locator('#username').fill(env.USERNAME);
    await page.locator('#password').fill('not-the-password');
    await page.locator('#sign-in').click();
    const error = await page.locator('#error').textContent();
    assert(error === 'Wrong username or password.', `error was ${error}`);
    await checkA11y(page, 'oidc-provider-sign-in-error');

    // signIn from a fresh start, back on the service's callback with a code.
    await signIn(page, env.SERVICE_URL, {
      username: env.USERNAME, password: env.PASSWORD, provider: 'test',
    });
    const callback = new URL(page.url());
    assert(callback.pathname === '/auth/callback', `signed in at ${page.url()}`);
    assert(callback.searchParams.get('state') === env.STATE, 'state returned');
    assert(callback.searchParams.get('iss') === env.ISSUER, 'iss returned (RFC 9207)');
    const code = callback.searchParams.get('code');
    assert(code, `no code: ${page.url()}`);

    const basic = Buffer.from(`${env.CLIENT_ID}:${env.CLIENT_SECRET}`).toString('base64');
    const token = async (verifier) => fetch(discovery.token_endpoint, {
      method: 'POST',
      headers: { authorization: `Basic ${basic}`, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'authorization_code', code, redirect_uri: env.REDIRECT_URI, code_verifier: verifier,
      }),
    });
    const wrong = await token('x'.repeat(43));
    assert(wrong.status === 400, `a wrong code_verifier answered ${wrong.status}`);
    // A fresh code for the real exchange (signIn forgets the provider session, so the
    // form is filled again).
    await signIn(page, env.SERVICE_URL, {
      username: env.USERNAME, password: env.PASSWORD, provider: 'test',
    });
    const fresh = new URL(page.url()).searchParams.get('code');
    const answer = await fetch(discovery.token_endpoint, {
      method: 'POST',
      headers: { authorization: `Basic ${basic}`, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'authorization_code', code: fresh, redirect_uri: env.REDIRECT_URI, code_verifier: env.CODE_VERIFIER,
      }),
    });
    const tokens = await answer.json();
    assert(answer.status === 200, `token answer ${answer.status}: ${JSON.stringify(tokens)}`);

    const [header, payload, signature] = tokens.id_token.split('.');
    const { alg, kid } = decode(header);
    assert(alg === 'RS256', `alg ${alg}`);
    const jwks = await (await fetch(discovery.jwks_uri)).json();
    const jwk = jwks.keys.find((k) => k.kid === kid);
    assert(jwk, `kid ${kid} not in the JWKS`);
    const valid = verify('RSA-SHA256', Buffer.from(`${header}.${payload}`), createPublicKey({ key: jwk, format: 'jwk' }), Buffer.from(signature, 'base64url'));
    assert(valid, 'ID token signature verifies');
    const claims = decode(payload);
    for (const [claim, expected] of Object.entries({
      iss: env.ISSUER, aud: env.CLIENT_ID, nonce: env.NONCE, sub: env.SUB, name: env.NAME, email: env.EMAIL,
    })) {
      assert(claims[claim] === expected, `${claim} is ${claims[claim]}, not ${expected}`);
    }
    const me = await (await fetch(discovery.userinfo_endpoint, {
      headers: { authorization: `Bearer ${tokens.access_token}` },
    })).json();
    assert(me.sub === env.SUB && me.email === env.EMAIL, `userinfo ${JSON.stringify(me)}`);
    console.log(`signed in as ${claims.sub} (${claims.name}); ID token RS256 kid ${kid}`);
  } finally {
    await browser.close();
  }
});
