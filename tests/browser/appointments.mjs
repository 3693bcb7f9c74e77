// The appointments page (services/linkway/tests/pages_appointments.rs), with JavaScript on
// and then off: sign in through the test provider, accept and take the case, open the
// appointments page from the case page, a booking without its minutes refused (the error
// summary links to the field, what was typed kept), booked, cancelled. axe and a
// screenshot on every page.
//   LINK_WORKER_URL, PEOPLE (from the Pages fixture); LINK_WORKER: username;
//   CASE_JS, CASE_NO_JS: referral ids; DATE: a date three days ahead (YYYY-MM-DD).
import { assert, checkA11y, launch, run, screenshot, signIn } from './lib.mjs';

const env = process.env;
const people = JSON.parse(env.PEOPLE);
const base = env.LINK_WORKER_URL;
const TITLE = 'Appointments - Caseload - Linkway';

async function look(page, name) {
  await checkA11y(page, name);
  await screenshot(page, name);
}

async function submit(page, button) {
  await Promise.all([page.waitForNavigation(), page.getByRole('button', { name: button }).click()]);
}

async function flow(javaScript) {
  const mode = javaScript ? 'js' : 'no-js';
  const id = javaScript ? env.CASE_JS : env.CASE_NO_JS;
  const { browser, page } = await launch({ javaScript });
  try {
    const who = env.LINK_WORKER;
    await signIn(page, base, { username: who, password: people[who].password, returnTo: `/cases/${id}/view` });
    await submit(page, 'Accept referral');
    await submit(page, 'Allocate to me');
    await Promise.all([
      page.waitForNavigation(),
      page.getByRole('link', { name: 'Book, move or cancel appointments' }).click(),
    ]);
    assert((await page.title()) === TITLE, `title ${await page.title()}`);
    assert((await page.locator('main').textContent()).includes('No appointments yet.'), 'none yet');
    await look(page, `appointments-empty-${mode}`);

    // Without its minutes: refused, the summary linking to the field, the place kept.
    await page.fill('#book-date', env.DATE);
    await page.fill('#book-time', '10:30');
    await page.fill('#book-minutes', '');
    await page.fill('#book-place', 'Room 2, Northfield Centre');
    await submit(page, 'Book the appointment');
    const summary = page.locator('.nhsuk-error-summary');
    assert((await summary.count()) === 1, 'an error summary');
    assert((await summary.locator('a[href="#book-minutes"]').count()) === 1, 'it links to the minutes');
    assert((await page.inputValue('#book-place')) === 'Room 2, Northfield Centre', 'what was typed stays');
    assert((await page.title()).startsWith('Error: '), 'the title says there is an error');
    await look(page, `appointments-refused-${mode}`);

    await page.fill('#book-minutes', '45');
    await submit(page, 'Book the appointment');
    const table = page.locator('table');
    const booked = await table.textContent();
    assert(booked.includes('Room 2, Northfield Centre') && booked.includes('Booked'), `the table: ${booked}`);
    await look(page, `appointments-booked-${mode}`);

    await page.locator('select[id^="cancel-"]').selectOption('person_cancelled');
    await submit(page, 'Cancel the appointment');
    assert((await table.textContent()).includes('Cancelled'), 'cancelled');
    assert((await page.getByRole('button', { name: 'Cancel the appointment' }).count()) === 0, 'no more forms');
    await look(page, `appointments-cancelled-${mode}`);
  } finally {
    await browser.close();
  }
}

run(async () => {
  await flow(true);
  await flow(false);
});
