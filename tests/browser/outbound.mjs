// Intake's outbox page for administrators (services/linkway/tests/pages_outbound.rs), with
// JavaScript on and then off: sign in through the test provider; the dead list shows the
// message (ids, codes, endpoint, its delivery log in a details element, a Retry form);
// the other states' lists; then, without JavaScript, Retry answers with the pending list's
// banner. axe and a screenshot on every page.
//   INTAKE_URL, PEOPLE (from the Pages fixture); ADMIN: username; MESSAGE_ID: the dead one.
import { assert, checkA11y, launch, run, screenshot, signIn } from './lib.mjs';

const env = process.env;
const people = JSON.parse(env.PEOPLE);
const LIST = '/admin/outbound/view';
const TITLE = 'Messages back to referrers - Administration - Linkway';

async function check(page, name) {
  const title = await page.title();
  assert(title === TITLE, `title is "${title}"`);
  await checkA11y(page, name);
  await screenshot(page, name);
}

async function flow(javaScript) {
  const mode = javaScript ? 'js' : 'no-js';
  const base = env.INTAKE_URL;
  const { browser, page } = await launch({ javaScript });
  try {
    await signIn(page, base, { username: env.ADMIN, password: people[env.ADMIN].password, returnTo: `${LIST}?state=dead` });
    assert(new URL(page.url()).pathname === LIST, `signed in at ${page.url()}`);
    const main = page.locator('main');
    const row = page.locator('tr', { hasText: env.MESSAGE_ID });
    assert((await row.count()) === 1, 'the dead message is listed');
    assert((await row.textContent()).includes('could not contact'), 'its update');
    await check(page, `outbound-dead-${mode}`);
    // Its delivery log, opened (a details element: no script needed).
    await row.locator('summary', { hasText: 'Delivery log' }).click();
    const log = await row.locator('.nhsuk-details__text').textContent();
    assert(log.includes('HTTP 503') && log.includes('timeout'), `the log: ${log}`);
    await check(page, `outbound-dead-log-${mode}`);
    for (const state of ['pending', 'delivered', 'erased']) {
      await Promise.all([page.waitForNavigation(), main.getByRole('link', { name: state, exact: true }).click()]);
      assert(new URL(page.url()).searchParams.get('state') === state, `at ${page.url()}`);
      await check(page, `outbound-${state}-${mode}`);
    }
    if (!javaScript) {
      await page.goto(`${base}${LIST}?state=dead`);
      await Promise.all([
        page.waitForNavigation(),
        page.locator('tr', { hasText: env.MESSAGE_ID }).getByRole('button', { name: 'Retry' }).click(),
      ]);
      const said = await page.locator('.nhsuk-notification-banner').textContent();
      assert(said.includes('Message will be sent again'), `the banner says "${said}"`);
      await check(page, `outbound-retried-${mode}`);
    }
  } finally {
    await browser.close();
  }
}

run(async () => {
  await flow(true);
  await flow(false);
});
