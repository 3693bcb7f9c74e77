// One referral across every role's pages (services/linkway/tests/pages_journey.rs): a GP
// referrer makes it on intake's page; it is on the link worker's caseload page, who accepts,
// takes, contacts and closes it; the commissioner's dashboard then counts one more closed
// case, after disclosure control. Then sessions: the referrer signs out on one service and
// the old cookie is refused on all three; a page answer carries its security headers.
//   INTAKE_URL, LINK_WORKER_URL, REPORTING_URL, PEOPLE (the Pages fixture);
//   REFERRER, LINK_WORKER, COMMISSIONER: usernames; CLOSED_BEFORE, CLOSED_AFTER: what the
//   dashboard shows for "Cases closed" before and after (rounded).
import { assert, checkA11y, launch, run, screenshot, signIn } from './lib.mjs';

const env = process.env;
const people = JSON.parse(env.PEOPLE);

function as(username) {
  return { username, password: people[username].password };
}

async function look(page, name) {
  await checkA11y(page, name);
  await screenshot(page, name);
}

/// The "Cases closed" figure of the dashboard's journey table.
async function closedOnDashboard(page) {
  const row = page.locator('tr', { hasText: 'Cases closed' }).first();
  const cells = await row.locator('td').allTextContents();
  if (cells.length === 0) {
    const main = ((await page.locator("header").textContent().catch(() => "")) ?? "") + " / " + ((await page.locator("main").textContent().catch(() => "")) ?? "");
    throw new Error(`no "Cases closed" row on ${page.url()} (${await page.title()}): ${main.slice(0, 600)}`);
  }
  return cells[cells.length - 1].trim();
}

const PERSON = {
  nhs_number: '943 476 5870',
  given_name: 'Wren',
  family_name: 'Journeyman',
  birth_date: '1958-03-09',
  address_line1: '3 Pathway Close',
  address_line3: 'Leeds',
  postcode: 'LS6 1AA',
  phone: '07700 900456',
  needs_text: 'Would like company on walks',
  practitioner_name: 'Dr Placeholder',
};
const CHOICES = {
  preferred_contact_method: 'phone',
  need: '422650009',
  urgency: 'routine',
  safeguarding_concern: 'no',
  legal_basis: 'public_task_health_care',
  consent_status: 'active',
  referral_agreed: 'yes',
  share_details: 'yes',
};

run(async () => {
  const { browser, page } = await launch({ javaScript: true });
  try {
    // The commissioner's dashboard before.
    await signIn(page, env.REPORTING_URL, { ...as(env.COMMISSIONER), returnTo: '/' });
    const before = await closedOnDashboard(page);
    assert(before === env.CLOSED_BEFORE, `cases closed before: ${before}, not ${env.CLOSED_BEFORE}`);
    await look(page, 'journey-dashboard-before');

    // The referrer makes the referral on intake's page.
    await signIn(page, env.INTAKE_URL, { ...as(env.REFERRER), returnTo: '/referrals/new' });
    for (const [name, value] of Object.entries(PERSON)) await page.locator(`#${name}`).fill(value);
    for (const [name, value] of Object.entries(CHOICES)) {
      await page.locator(`input[name="${name}"][value="${value}"]`).check();
    }
    await Promise.all([page.waitForNavigation(), page.getByRole('button', { name: 'Send referral' }).click()]);
    const referral = new URL(page.url()).pathname.split('/')[2];
    assert(/^[0-9a-f-]{36}$/.test(referral), `the referral's page: ${page.url()}`);
    await look(page, 'journey-referral-sent');

    // The link worker finds it on the team caseload page and works it to the end.
    await signIn(page, env.LINK_WORKER_URL, { ...as(env.LINK_WORKER), returnTo: '/?filtered=1&link_worker=' });
    const link = page.getByRole('link', { name: 'Wren Journeyman' });
    assert((await link.count()) === 1, 'the referral is on the caseload page');
    await look(page, 'journey-caseload');
    await link.click();
    assert(new URL(page.url()).pathname === `/cases/${referral}/view`, `opened ${page.url()}`);
    await page.getByRole('button', { name: 'Accept referral' }).click();
    await page.getByRole('button', { name: 'Allocate to me' }).click();
    await page.selectOption('#made_channel', 'phone');
    await page.fill('#minutes', '30');
    await page.fill('#notes', 'Talked about walking groups');
    await page.getByRole('button', { name: 'Record contact' }).click();
    await page.waitForURL(/done=made/);
    await page.check('#close_reason');
    await page.getByRole('button', { name: 'Close case' }).click();
    assert((await page.locator('dl').first().textContent()).includes('Closed'), 'the case is closed');
    await look(page, 'journey-case-closed');

    // The dashboard counts it, after disclosure control (rounded counts).
    await signIn(page, env.REPORTING_URL, { ...as(env.COMMISSIONER), returnTo: '/' });
    let after = await closedOnDashboard(page);
    for (let i = 0; i < 50 && after !== env.CLOSED_AFTER; i += 1) {
      await page.waitForTimeout(200);
      await page.reload();
      after = await closedOnDashboard(page);
    }
    assert(after === env.CLOSED_AFTER, `cases closed after: ${after}, not ${env.CLOSED_AFTER}`);
    assert(!(await page.content()).includes('Journeyman'), 'no name on the dashboard');
    await look(page, 'journey-dashboard-after');

    // A page answer says what may load and that it may not be framed.
    const answer = await page.request.get(`${env.INTAKE_URL}/sign-in`);
    const csp = answer.headers()['content-security-policy'] ?? '';
    assert(csp.includes("frame-ancestors 'none'"), `CSP: ${csp}`);
    assert(answer.headers()['x-content-type-options'] === 'nosniff', 'nosniff');

    // Signing out on one service ends the session on all three: the old cookie is refused.
    await signIn(page, env.INTAKE_URL, { ...as(env.REFERRER), returnTo: '/referrals/view' });
    const cookies = await page.context().cookies();
    const session = cookies.find((c) => c.name === 'linkway_session');
    assert(session, 'a session cookie');
    await page.getByRole('button', { name: 'Sign out' }).click();
    assert(new URL(page.url()).pathname === '/signed-out', `signed out: ${page.url()}`);
    for (const base of [env.INTAKE_URL, env.LINK_WORKER_URL, env.REPORTING_URL]) {
      const reused = await page.request.get(`${base}/`, {
        headers: { cookie: `linkway_session=${session.value}` },
        maxRedirects: 0,
      });
      const to = reused.headers().location ?? '';
      assert(reused.status() === 303 && to.startsWith('/sign-in'), `${base}: the old cookie got ${reused.status()} ${to}`);
    }
  } finally {
    await browser.close();
  }
});
