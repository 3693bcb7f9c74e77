// The administrator's pages (services/linkway/tests/pages_admin.rs), with JavaScript on
// (on intake) and off (on link-worker: the pages are on every service): sign in through
// the test provider; register an organisation, a mistake first (the error summary and its
// link to the field); add a user; add a routing rule and preview where a referral would
// go; add and remove a second rule; issue a token (its secret shown once, never listed)
// and revoke it; the dead letters page. axe and a screenshot on every page; a form posted
// without its CSRF token is refused and changes nothing.
//   INTAKE_URL, LINK_WORKER_URL, PEOPLE (from the Pages fixture); ADMIN: username;
//   ISSUER: the provider's issuer (for the user added).
import { assert, checkA11y, launch, run, screenshot, signIn } from './lib.mjs';

const env = process.env;
const people = JSON.parse(env.PEOPLE);
const SERVICE = 'Administration - Linkway';

async function title(page, expected) {
  const actual = await page.title();
  assert(actual === `${expected} - ${SERVICE}`, `title is "${actual}", not "${expected} - ${SERVICE}"`);
}

async function check(page, name) {
  await checkA11y(page, name);
  await screenshot(page, name);
}

async function press(page, button) {
  await Promise.all([page.waitForNavigation(), page.getByRole('button', { name: button, exact: true }).click()]);
}

async function go(page, link, path) {
  await Promise.all([page.waitForNavigation(), page.getByRole('link', { name: link, exact: true }).first().click()]);
  assert(new URL(page.url()).pathname === path, `at ${page.url()}, not ${path}`);
}

async function banner(page, text) {
  const said = await page.locator('.nhsuk-notification-banner').textContent();
  assert(said.includes(text), `the banner says "${said}"`);
}

async function registerOrganisation(page, { id, name, kind, area = '', service }) {
  await page.locator('#organisation_id').fill(id);
  await page.locator('#name').fill(name);
  await page.locator('#kind').selectOption(kind);
  await page.locator('#area').fill(area);
  await page.locator(`input[name="link_worker_service"][value="${service ? 'yes' : 'no'}"]`).check();
  await press(page, 'Register organisation');
}

async function flow(javaScript) {
  const mode = javaScript ? 'js' : 'no-js';
  const base = javaScript ? env.INTAKE_URL : env.LINK_WORKER_URL;
  const { browser, page } = await launch({ javaScript });
  const gp = `gp-admin-${mode}`;
  const lw = `lw-admin-${mode}`;
  try {
    // Straight to the pages: sent to sign in, and back afterwards.
    await page.goto(`${base}/admin`);
    assert(new URL(page.url()).pathname === '/sign-in', `not sent to sign in: ${page.url()}`);
    await signIn(page, base, { username: env.ADMIN, password: people[env.ADMIN].password, returnTo: '/admin' });
    assert(new URL(page.url()).pathname === '/admin', `signed in at ${page.url()}`);
    await title(page, 'Administration');
    await check(page, `admin-home-${mode}`);

    // Organisations: a commissioner without an area first.
    await go(page, 'Organisations', '/admin/organisations');
    await title(page, 'Organisations');
    await check(page, `admin-organisations-${mode}`);
    await registerOrganisation(page, { id: `icb-admin-${mode}`, name: 'An ICB', kind: 'commissioner', service: false });
    await title(page, 'Error: Organisations');
    const link = page.locator('.nhsuk-error-summary a[href="#area"]');
    assert((await link.count()) === 1, 'the summary links to the area');
    assert((await link.textContent()).includes('A commissioner needs a commissioner area'), await link.textContent());
    assert((await page.locator('#organisation_id').inputValue()) === `icb-admin-${mode}`, 'what was typed is kept');
    await check(page, `admin-organisations-error-${mode}`);
    await registerOrganisation(page, { id: gp, name: `Admin ${mode} Surgery`, kind: 'gp_practice', area: 'QAP', service: false });
    assert(new URL(page.url()).searchParams.has('min_sequence'), `after registering at ${page.url()}`);
    await banner(page, 'Organisation saved');
    await registerOrganisation(page, { id: lw, name: `Admin ${mode} Link Service`, kind: 'pcn', area: 'QAP', service: true });
    const organisations = await page.locator('table').textContent();
    assert(organisations.includes(`Admin ${mode} Surgery`) && organisations.includes(`Admin ${mode} Link Service`), organisations);
    await check(page, `admin-organisations-saved-${mode}`);
    await Promise.all([page.waitForNavigation(), page.locator(`a[href="/admin/organisations/${lw}"]`).click()]);
    await title(page, 'Change an organisation');
    assert((await page.locator('#name').inputValue()) === `Admin ${mode} Link Service`, 'the form is filled');
    await check(page, `admin-organisation-change-${mode}`);

    // Users: a link worker of the new service.
    await go(page, 'Users', '/admin/users');
    await title(page, 'Users');
    await check(page, `admin-users-${mode}`);
    await page.locator('#organisation_id').selectOption(lw);
    await page.locator('#display_name').fill(`Sam ${mode}`);
    await page.locator('input[name="roles"][value="link_worker"]').check();
    await page.locator('#issuer').fill(env.ISSUER);
    await page.locator('#subject').fill(`sub-sam-${mode}`);
    await press(page, 'Add user');
    await banner(page, 'User saved');
    await Promise.all([page.waitForNavigation(), page.getByRole('link', { name: `View Sam ${mode}` }).click()]);
    await title(page, `Sam ${mode}`);
    await page.locator('input[name="roles"][value="service_manager"]').check();
    await press(page, 'Save roles');
    assert((await page.locator('.nhsuk-summary-list').textContent()).includes('Link worker, Service manager'), 'roles changed');
    await check(page, `admin-user-${mode}`);

    // Routing rules: the GP's referrals to the new service, and a preview.
    await go(page, 'Routing rules', '/admin/routing-rules');
    await title(page, 'Routing rules');
    await check(page, `admin-rules-${mode}`);
    await page.locator('#to').selectOption(lw);
    await page.locator('#from_org').selectOption(gp);
    await press(page, 'Add rule');
    await banner(page, 'Routing rules saved');
    await page.locator('#preview_from').selectOption(gp);
    await page.locator('#preview_postcode').fill('ls6 4qx');
    await press(page, 'Preview');
    const answer = await page.locator('#preview-answer').textContent();
    assert(answer.includes(`would go to Admin ${mode} Link Service (${lw})`), answer);
    await check(page, `admin-rules-preview-${mode}`);
    // A district rule added, then removed.
    await page.locator('#to').selectOption(lw);
    await page.locator('#postcode_district').fill('ZE3');
    await press(page, 'Add rule');
    assert((await page.locator('table').textContent()).includes('postcode district ZE3'), 'the district rule is listed');
    const row = page.locator('tr', { hasText: 'postcode district ZE3' });
    await Promise.all([page.waitForNavigation(), row.getByRole('button', { name: /^Remove/ }).click()]);
    assert(!(await page.locator('table').textContent()).includes('postcode district ZE3'), 'the district rule is gone');

    // Tokens: issued (the secret once), listed without it, revoked.
    await go(page, 'Tokens', '/admin/tokens');
    await title(page, 'API tokens');
    await check(page, `admin-tokens-${mode}`);
    await page.locator('#organisation_id').selectOption(gp);
    await page.locator('#role').selectOption('referrer');
    await page.locator('#label').fill(`EMIS ${mode}`);
    await press(page, 'Issue token');
    await title(page, 'Token issued');
    const secret = (await page.locator('#token-secret').textContent()).trim();
    assert(secret.length > 20, 'the secret is shown');
    await check(page, `admin-token-issued-${mode}`);
    await go(page, 'Back to tokens', '/admin/tokens');
    assert(!(await page.content()).includes(secret.slice(3)), 'the list never shows a secret');
    const token = page.locator('tr', { hasText: `EMIS ${mode}` });
    await Promise.all([page.waitForNavigation(), token.getByRole('button', { name: `Revoke token EMIS ${mode}` }).click()]);
    assert((await page.locator('tr', { hasText: `EMIS ${mode}` }).textContent()).includes('Revoked'), 'revoked');
    await check(page, `admin-tokens-revoked-${mode}`);

    // Dead letters: what resolves one, and nothing that edits the log.
    await go(page, 'Dead letters', '/admin/dead-letters');
    await title(page, 'Dead letters');
    assert((await page.locator('main').textContent()).includes('linkway rebuild'), 'says how one is resolved');
    assert((await page.locator('main form').count()) === 0, 'no action on the log');
    await check(page, `admin-dead-letters-${mode}`);

    // A form posted without its CSRF token: refused, nothing registered.
    const forged = await page.request.post(`${base}/admin/organisations`, {
      form: { organisation_id: `forged-${mode}`, name: 'Forged', kind: 'vcse', link_worker_service: 'no' },
      maxRedirects: 0,
    });
    assert(forged.status() === 403, `a post without its CSRF token got ${forged.status()}`);
    assert((await forged.text()).includes('This form could not be sent'), 'the refusal page');
    await page.goto(`${base}/admin/organisations`);
    assert(!(await page.locator('table').textContent()).includes(`forged-${mode}`), 'nothing registered');
  } finally {
    await browser.close();
  }
}

run(async () => {
  await flow(true);
  await flow(false);
});
