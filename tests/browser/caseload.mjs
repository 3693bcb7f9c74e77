// The link worker's and service manager's pages (services/linkway/tests/pages_caseload.rs):
// sign in through the test provider, find the referral on the caseload, open it, accept
// and take it, record a contact keyboard-only, answer a SWEMWBS questionnaire, close it;
// the same with JavaScript disabled; a service manager accepts and allocates a case from
// the team page and uploads an Open Referral UK file on the directory import page; a form without its CSRF token refused and nothing changed; another
// organisation's case the same 404 page as a missing one; axe and a screenshot on every page.
//   LINK_WORKER_URL, PEOPLE (from the Pages fixture); LINK_WORKER, MANAGER: usernames;
//   CASE_JS, CASE_NO_JS, CASE_ALLOCATE, CASE_OTHER_ORG: referral ids.
import { fileURLToPath } from 'node:url';
import { assert, checkA11y, launch, run, screenshot, signIn } from './lib.mjs';

const env = process.env;
const people = JSON.parse(env.PEOPLE);
const base = env.LINK_WORKER_URL;

/// An Open Referral UK example the link-worker's tests import too.
function fixture(name) {
  return fileURLToPath(new URL(`../../services/link-worker/tests/fixtures/openreferral/${name}`, import.meta.url));
}

function as(username) {
  return { username, password: people[username].password };
}

/// axe and a screenshot of the page as it is now.
async function look(page, name) {
  await checkA11y(page, name);
  await screenshot(page, name);
}

async function banner(page, text) {
  const found = await page.locator('.nhsuk-notification-banner__heading').textContent();
  assert(found.includes(text), `banner says "${found}", not "${text}"`);
}

/// Presses Tab until the element matching `selector` has focus.
async function tabTo(page, selector) {
  for (let i = 0; i < 300; i += 1) {
    await page.keyboard.press('Tab');
    if (await page.locator(selector).evaluate((el) => el === document.activeElement)) return;
  }
  throw new Error(`Tab never reached ${selector}`);
}

async function mainFlow(javaScript) {
  const mode = javaScript ? 'js' : 'no-js';
  const id = javaScript ? env.CASE_JS : env.CASE_NO_JS;
  const name = javaScript ? 'Juniper Brightwater' : 'Nettle Brightwater';
  const { browser, page } = await launch({ javaScript });
  try {
    await page.goto(`${base}/`);
    assert(new URL(page.url()).pathname === '/sign-in', `not sent to sign in: ${page.url()}`);
    await signIn(page, base, { ...as(env.LINK_WORKER), returnTo: '/' });
    assert((await page.title()) === 'My cases - Caseload - Linkway', `title ${await page.title()}`);
    await look(page, `caseload-mine-${mode}`);

    // The team's caseload, through the filter form.
    await page.selectOption('#link_worker', '');
    await page.getByRole('button', { name: 'Apply filters' }).click();
    assert((await page.title()) === 'Team caseload - Caseload - Linkway', 'the team caseload');
    const row = page.locator('tr', { has: page.getByRole('link', { name }) });
    assert((await row.count()) === 1, `${name} is on the caseload`);
    assert((await row.textContent()).includes('New referral'), 'its state is a tag with words');
    await look(page, `caseload-team-${mode}`);

    await page.getByRole('link', { name }).click();
    assert(new URL(page.url()).pathname === `/cases/${id}/view`, `opened ${page.url()}`);
    assert((await page.title()) === 'Case - Caseload - Linkway', 'no name in the title');
    await look(page, `case-new-${mode}`);

    await page.getByRole('button', { name: 'Accept referral' }).click();
    await banner(page, 'Referral accepted');
    assert(page.url().includes('min_sequence='), 'read your write');
    await page.getByRole('button', { name: 'Allocate to me' }).click();
    await banner(page, 'Case allocated');
    await look(page, `case-allocated-${mode}`);

    // A contact attempt, then a contact made.
    await page.selectOption('#attempt_channel', 'phone');
    await page.check('#attempt_outcome-2'); // voicemail left
    await page.getByRole('button', { name: 'Record attempt' }).click();
    await banner(page, 'Contact attempt recorded');
    if (javaScript) {
      // Keyboard only: Tab to each control, type, Enter.
      await page.locator('h1').click();
      await tabTo(page, '#made_channel');
      await page.keyboard.press('p'); // Phone
      await page.keyboard.press('Tab');
      await page.keyboard.type('45');
      await page.keyboard.press('Tab');
      await page.keyboard.type('Talked about the choir');
      await page.keyboard.press('Tab');
      await page.keyboard.press('Enter');
    } else {
      await page.selectOption('#made_channel', 'phone');
      await page.fill('#minutes', '45');
      await page.fill('#notes', 'Talked about the choir');
      await page.getByRole('button', { name: 'Record contact' }).click();
    }
    await page.waitForURL(/done=made/);
    await banner(page, 'Contact recorded');
    const timeline = await page.locator('ol').last().textContent();
    assert(timeline.includes('Contact made') && timeline.includes('45 minutes'), `timeline: ${timeline}`);
    assert(timeline.includes('voicemail left'), 'the attempt and its outcome');

    // A refused form: the error summary links to the field, what was typed stays.
    await page.selectOption('#made_channel', 'phone');
    await page.fill('#minutes', '900');
    await page.getByRole('button', { name: 'Record contact' }).click();
    assert((await page.title()).startsWith('Error: '), 'the title says error');
    const summary = page.locator('.nhsuk-error-summary a[href="#minutes"]');
    assert((await summary.count()) === 1, 'the summary links to the minutes');
    assert((await page.inputValue('#minutes')) === '900', 'what was typed stays');
    await look(page, `case-error-${mode}`);

    // The directory search page.
    await page.goto(`${base}/cases/${id}/view/connect`);
    await look(page, `case-connect-${mode}`);

    // SWEMWBS, answered item by item: "Often" (4) for each of the 7: raw 28, metric 25.03.
    await page.goto(`${base}/cases/${id}/view`);
    await page.getByRole('link', { name: 'SWEMWBS' }).click();
    assert((await page.locator('fieldset').count()) === 8, 'timepoint and 7 items');
    await look(page, `outcome-swemwbs-${mode}`);
    await page.check('#timepoint');
    for (let i = 1; i <= 7; i += 1) await page.check(`#item_${i}-4`);
    await page.getByRole('button', { name: 'Record measure' }).click();
    await banner(page, 'Outcome measure recorded');
    const outcomes = await page.locator('table', { has: page.locator('caption', { hasText: 'Outcome measures recorded' }) }).textContent();
    assert(outcomes.includes('Raw 28, metric 25.03') && outcomes.includes('Baseline'), `outcomes: ${outcomes}`);

    await page.check('#close_reason');
    await page.getByRole('button', { name: 'Close case' }).click();
    await banner(page, 'Case closed');
    assert((await page.locator('dl').first().textContent()).includes('Closed'), 'the state is closed');
    await look(page, `case-closed-${mode}`);

    if (javaScript) await security(page);
  } finally {
    await browser.close();
  }
}

/// A form without its CSRF token changes nothing; another organisation's case is the
/// same 404 page as a missing one.
async function security(page) {
  const url = `${base}/cases/${env.CASE_ALLOCATE}/view`;
  const forged = await page.request.post(url, { form: { action: 'accept' }, maxRedirects: 0 });
  assert(forged.status() === 403, `a form without csrf got ${forged.status()}`);
  await page.goto(url);
  assert((await page.getByRole('button', { name: 'Accept referral' }).count()) === 1, 'still a new referral');
  const theirs = await page.goto(`${base}/cases/${env.CASE_OTHER_ORG}/view`);
  assert(theirs.status() === 404, `another organisation's case: ${theirs.status()}`);
  const theirsPage = await page.locator('main').innerHTML();
  await look(page, 'case-not-found');
  const missing = await page.goto(`${base}/cases/00000000-0000-7000-8000-000000000000/view`);
  assert(missing.status() === 404, `a missing case: ${missing.status()}`);
  assert((await page.locator('main').innerHTML()) === theirsPage, 'the same not-found page');
}

async function manager() {
  const { browser, page } = await launch();
  try {
    await signIn(page, base, { ...as(env.MANAGER), returnTo: '/' });
    assert((await page.title()) === 'Team caseload - Caseload - Linkway', 'a manager starts on the team');
    await page.goto(`${base}/cases/${env.CASE_ALLOCATE}/view`);
    await page.getByRole('button', { name: 'Accept referral' }).click();
    await banner(page, 'Referral accepted');
    await page.getByRole('link', { name: 'Team', exact: true }).click();
    await look(page, 'team');
    const row = page.locator('tr', { has: page.getByRole('link', { name: 'Alder Brightwater' }) });
    await row.locator('select').selectOption({ label: 'Lena Linkworker' });
    await row.getByRole('button', { name: 'Allocate' }).click();
    await banner(page, 'Case allocated');
    const workload = await page.locator('table', { has: page.locator('caption', { hasText: 'Open cases by link worker' }) }).textContent();
    assert(workload.includes('Lena Linkworker'), `workload: ${workload}`);
    await look(page, 'team-allocated');
    await page.getByRole('link', { name: 'Directory import' }).click();
    await look(page, 'directory-import');
    // A file that is not JSON is named in the error summary; an Open Referral UK file is imported.
    await page.getByLabel('Upload a file').setInputFiles({ name: 'services.txt', mimeType: 'text/plain', buffer: Buffer.from('Community Counselling') });
    await page.getByRole('button', { name: 'Import services' }).click();
    const problem = await page.locator('.nhsuk-error-summary').textContent();
    assert(problem.includes('The selected file must be JSON'), `the summary says "${problem}"`);
    await look(page, 'directory-import-error');
    await page.getByLabel('Upload a file').setInputFiles(fixture('service_list.json'));
    await page.getByRole('button', { name: 'Import services' }).click();
    await banner(page, '1 service imported');
    await look(page, 'directory-imported');
  } finally {
    await browser.close();
  }
}

run(async () => {
  await mainFlow(true);
  await manager();
  await mainFlow(false);
});
