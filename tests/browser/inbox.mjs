// The community service's inbox pages (services/linkway/tests/pages_inbox.rs), with
// JavaScript on and off: sign in on link-worker through the test provider (its home `/`
// leads a community service to the inbox); the inbox
// (both onward referrals, "Reminder sent" on the first while it waits); one referral's
// page (the shared name, phone and plan, the lawful basis, never the NHS number); a
// decline without a reason refused (the error summary, its link to the field); then with
// JavaScript on the first is accepted and its attendance recorded, with it off the second
// is declined with a reason. axe and a screenshot on every page; a form posted without its
// CSRF token is refused; another community service's inbox holds neither, and its page
// for one is the same 404 page as a missing connection's.
//   LINK_WORKER_URL, PEOPLE (from the Pages fixture); SERVICE_USER, OTHER_SERVICE_USER:
//   usernames; FIRST, SECOND: `<referral id>/<connection id>`; MISSING: a connection no
//   referral has; FIRST_NAME, SECOND_NAME: the people's given names; NHS_NUMBER.
import { assert, checkA11y, launch, run, screenshot, signIn } from './lib.mjs';

const env = process.env;
const people = JSON.parse(env.PEOPLE);
const base = env.LINK_WORKER_URL;
const itemPage = (ids) => `/inbox/${ids}/view`;

function as(username) {
  return { username, password: people[username].password };
}

async function check(page, name) {
  await checkA11y(page, name);
  await screenshot(page, name);
}

async function title(page, { error = false } = {}) {
  const actual = await page.title();
  assert(actual.startsWith('Error: ') === error, `title is "${actual}"`);
}

async function submit(page, name) {
  await Promise.all([page.waitForNavigation(), page.getByRole('button', { name }).click()]);
}

async function list(page, mode) {
  await page.goto(`${base}/inbox/view`);
  await title(page);
  const table = await page.locator('table').textContent();
  for (const name of [env.FIRST_NAME, env.SECOND_NAME]) {
    assert(table.includes(name), `the inbox lists ${name}: ${table}`);
  }
  if (mode === 'js') {
    const first = page.locator('table tbody tr', { hasText: env.FIRST_NAME });
    assert((await first.textContent()).includes('Reminder sent'), 'the reminder tag');
  }
  await check(page, `inbox-list-${mode}`);
}

async function item(page, ids, name, mode) {
  const response = await page.goto(`${base}${itemPage(ids)}`);
  assert(response.status() === 200, `the page got ${response.status()}`);
  await title(page);
  const main = await page.locator('main').textContent();
  for (const shown of [name, '07700 900456', 'Getting out and meeting people', 'Walk every week', 'Explicit consent']) {
    assert(main.includes(shown), `the page shows ${shown}`);
  }
  for (const hidden of [env.NHS_NUMBER, '3 Imaginary Close', 'Would like to get out more']) {
    assert(!main.includes(hidden), `the page does not show ${hidden}`);
  }
  await check(page, `inbox-item-${mode}`);
  // A decline without a reason.
  await submit(page, 'Decline the referral');
  await title(page, { error: true });
  const link = page.locator('.nhsuk-error-summary a[href="#reason"]');
  assert((await link.count()) === 1, 'the summary links to #reason');
  assert((await page.locator('#reason-error').textContent()).includes('Select why you are declining'), 'the message beside the field');
  await check(page, `inbox-decline-error-${mode}`);
}

async function notSeen(page, mode) {
  await page.goto(`${base}/inbox/view`);
  const main = await page.locator('main').textContent();
  for (const name of [env.FIRST_NAME, env.SECOND_NAME]) {
    assert(!main.includes(name), `another service's inbox holds ${name}`);
  }
  await check(page, `inbox-other-list-${mode}`);
  const theirs = await page.goto(`${base}${itemPage(env.FIRST)}`);
  assert(theirs.status() === 404, `another service got ${theirs.status()}`);
  const theirsPage = await page.locator('main').innerHTML();
  assert(!theirsPage.includes(env.FIRST_NAME), 'no name on the 404');
  await check(page, `inbox-other-not-found-${mode}`);
  const missing = await page.goto(`${base}${itemPage(env.MISSING)}`);
  assert(missing.status() === 404, `a missing connection got ${missing.status()}`);
  assert((await page.locator('main').innerHTML()) === theirsPage, 'the same page');
}

async function flow(javaScript) {
  const mode = javaScript ? 'js' : 'no-js';
  const { browser, page } = await launch({ javaScript });
  try {
    await page.goto(`${base}/inbox/view`);
    assert(new URL(page.url()).pathname === '/sign-in', `not sent to sign in: ${page.url()}`);
    await signIn(page, base, { ...as(env.SERVICE_USER), returnTo: '/inbox/view' });
    assert(new URL(page.url()).pathname === '/inbox/view', `signed in at ${page.url()}`);
    // The service's home is the inbox for a community service.
    await page.goto(`${base}/`);
    assert(new URL(page.url()).pathname === '/inbox/view', `home is ${page.url()}`);
    await list(page, mode);
    if (javaScript) {
      await item(page, env.FIRST, env.FIRST_NAME, mode);
      const forged = await page.request.post(`${base}${itemPage(env.FIRST)}`, {
        form: { action: 'accept' },
        maxRedirects: 0,
      });
      assert(forged.status() === 403, `a form without its CSRF token got ${forged.status()}`);
      await submit(page, 'Accept the referral');
      await title(page);
      assert((await page.locator('.nhsuk-notification-banner').textContent()).includes('You accepted the referral'), 'the accept banner');
      assert((await page.getByRole('button', { name: 'Decline the referral' }).count()) === 0, 'no decline once accepted');
      await check(page, `inbox-accepted-${mode}`);
      await submit(page, 'The person attended');
      assert((await page.locator('.nhsuk-notification-banner').textContent()).includes('Attendance recorded'), 'the attendance banner');
      assert((await page.locator('main').textContent()).includes('Attended'), 'the status');
      await check(page, `inbox-attended-${mode}`);
    } else {
      await item(page, env.SECOND, env.SECOND_NAME, mode);
      await page.getByLabel('No capacity at the moment').check();
      await submit(page, 'Decline the referral');
      await title(page);
      assert((await page.locator('.nhsuk-notification-banner').textContent()).includes('You declined the referral'), 'the decline banner');
      const main = await page.locator('main').textContent();
      assert(main.includes('No capacity at the moment'), 'the reason is shown');
      assert((await page.getByRole('button', { name: 'Accept the referral' }).count()) === 0, 'no answer once declined');
      await check(page, `inbox-declined-${mode}`);
    }
    await signIn(page, base, { ...as(env.OTHER_SERVICE_USER), returnTo: '/inbox/view' });
    await notSeen(page, mode);
  } finally {
    await browser.close();
  }
}

run(async () => {
  await flow(true);
  await flow(false);
});
