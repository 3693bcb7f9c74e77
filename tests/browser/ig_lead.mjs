// The information governance lead's pages (services/linkway/tests/pages_ig_lead.rs), with
// JavaScript on and off: sign in on intake through the test provider; the audit trail,
// filtered by the referral (a GET form), then with a bad date and with `to` before `from`
// (the error summary, its link to the field); the person page (every event, the person's
// details and the link worker's notes, who saw the record); an erase posted without its
// CSRF token is refused. With JavaScript off the person is erased from the page's form (its
// ground and tick missing first), and the page then says erased and holds neither their
// name nor the notes. axe and a screenshot on every page; another organisation's referral's
// person page is the same 404 page as a missing one's; a referrer gets 403 on both pages.
//   INTAKE_URL, PEOPLE (from the Pages fixture); IG_LEAD, REFERRER: usernames; REFERRAL:
//   the GP practice's referral; OTHER_REFERRAL: another organisation's; MISSING_REFERRAL:
//   an id no referral has; GIVEN_NAME, NOTES: the person's given name, the contact's notes.
import { assert, checkA11y, launch, run, screenshot, signIn } from './lib.mjs';

const env = process.env;
const people = JSON.parse(env.PEOPLE);
const base = env.INTAKE_URL;
const id = env.REFERRAL;
const personPage = `/referrals/${id}/person/view`;

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
  return actual;
}

async function submit(page, name) {
  await Promise.all([page.waitForNavigation(), page.getByRole('button', { name }).click()]);
}

/// The error summary links to `field` with `message`, and the message is beside the field.
async function summaryLinks(page, field, message) {
  const link = page.locator(`.nhsuk-error-summary a[href="#${field}"]`);
  assert((await link.count()) === 1, `the summary links to #${field}`);
  const text = (await link.textContent()).trim();
  assert(text.includes(message), `the summary says "${text}"`);
  assert((await page.locator(`#${field}-error`).textContent()).includes(message), `the message beside #${field}`);
  assert((await page.locator(`#${field}`).count()) === 1, `#${field} is on the page`);
}

async function auditTrail(page, mode) {
  await page.goto(`${base}/audit/view`);
  assert(new URL(page.url()).pathname === '/audit/view', `at ${page.url()}`);
  await title(page);
  await check(page, `ig-lead-audit-${mode}`);

  // Filtered by the referral: every entry is about it; the link worker's steps are there.
  await page.locator('#referral_id').fill(id);
  await submit(page, 'Show entries');
  assert(new URL(page.url()).searchParams.get('referral_id') === id, `filtered at ${page.url()}`);
  const rows = page.locator('table tbody tr');
  assert((await rows.count()) > 0, 'entries about the referral');
  for (const cell of await page.locator('table tbody tr td:nth-child(6)').allTextContents()) {
    assert(cell.trim() === id, `an entry about ${cell}`);
  }
  const table = await page.locator('table').textContent();
  for (const step of ['referral.received', 'case.accepted', 'case.contact_made']) {
    assert(table.includes(step), `the trail has ${step}: ${table}`);
  }
  assert((await page.locator('#referral_id').inputValue()) === id, 'the filter is kept');
  await check(page, `ig-lead-audit-filtered-${mode}`);

  // A date that is not one (asked for in the address, as a kept link would).
  await page.goto(`${base}/audit/view?referral_id=${id}&from=2026-02-30`);
  await title(page, { error: true });
  await summaryLinks(page, 'from', 'From must be a date');
  await check(page, `ig-lead-audit-bad-date-${mode}`);
  // `to` before `from`, through the form.
  await page.goto(`${base}/audit/view`);
  await page.locator('#from').fill('2026-12-01');
  await page.locator('#to').fill('2026-11-01');
  await submit(page, 'Show entries');
  await title(page, { error: true });
  await summaryLinks(page, 'to', 'To must be after');
  await page.locator('.nhsuk-error-summary a[href="#to"]').click();
  assert(new URL(page.url()).hash === '#to', 'the link goes to the field');
  await check(page, `ig-lead-audit-to-before-from-${mode}`);
}

async function personDetails(page, mode) {
  const response = await page.goto(`${base}${personPage}`);
  assert(response.status() === 200, `the person page got ${response.status()}`);
  await title(page);
  const main = await page.locator('main').textContent();
  for (const held of ['referral.received', 'referral.routed', 'case.accepted', 'case.contact_made', env.GIVEN_NAME, env.NOTES]) {
    assert(main.includes(held), `the page shows ${held}`);
  }
  const seen = await page.locator('table').textContent();
  assert(seen.includes('case.accepted'), `who changed the record: ${seen}`);
  assert((await page.getByRole('button', { name: 'Erase this person' }).count()) === 1, 'the erase form');
  assert((await page.locator('.nhsuk-warning-callout').textContent()).includes('cannot be undone'), 'the warning');
  await check(page, `ig-lead-person-${mode}`);
}

async function erase(page, mode) {
  // Nothing chosen: both problems, nothing erased.
  await submit(page, 'Erase this person');
  await title(page, { error: true });
  await summaryLinks(page, 'reason', 'Choose why the person is erased');
  await summaryLinks(page, 'confirm', 'cannot be undone');
  assert((await page.locator('main').textContent()).includes(env.GIVEN_NAME), 'not erased');
  await check(page, `ig-lead-erase-error-${mode}`);

  await page.getByLabel('The person asked to be erased').check();
  await page.getByLabel('I understand that erasure cannot be undone').check();
  await submit(page, 'Erase this person');
  assert(new URL(page.url()).pathname === personPage, `back at ${page.url()}`);
  await title(page);
  assert((await page.locator('.nhsuk-notification-banner').textContent()).includes('Person erased'), 'the banner');
  const main = await page.locator('main').textContent();
  assert(main.includes('Yes: their details are gone from every record'), 'the page says erased');
  assert(main.includes('person.erased'), 'the erasure is an event on the page');
  assert(!main.includes(env.GIVEN_NAME), 'the name is gone');
  assert(!main.includes(env.NOTES), 'the notes are gone');
  assert((await page.getByRole('button', { name: 'Erase this person' }).count()) === 0, 'no erase form once erased');
  await check(page, `ig-lead-erased-${mode}`);
  // Opened again: still erased, no banner.
  await page.goto(`${base}${personPage}`);
  assert(!(await page.locator('main').textContent()).includes(env.GIVEN_NAME), 'still gone');
  assert((await page.locator('.nhsuk-notification-banner').count()) === 0, 'no banner when only opened');
}

async function notFound(page, mode) {
  const theirs = await page.goto(`${base}/referrals/${env.OTHER_REFERRAL}/person/view`);
  assert(theirs.status() === 404, `another organisation's referral got ${theirs.status()}`);
  const theirsPage = await page.locator('main').innerHTML();
  await check(page, `ig-lead-not-found-${mode}`);
  const missing = await page.goto(`${base}/referrals/${env.MISSING_REFERRAL}/person/view`);
  assert(missing.status() === 404, `a missing referral got ${missing.status()}`);
  assert((await page.locator('main').innerHTML()) === theirsPage, 'the same page');
}

async function flow(javaScript) {
  const mode = javaScript ? 'js' : 'no-js';
  const { browser, page } = await launch({ javaScript });
  try {
    await page.goto(`${base}/audit/view`);
    assert(new URL(page.url()).pathname === '/sign-in', `not sent to sign in: ${page.url()}`);
    await signIn(page, base, { ...as(env.IG_LEAD), returnTo: '/audit/view' });
    assert(new URL(page.url()).pathname === '/audit/view', `signed in at ${page.url()}`);

    await auditTrail(page, mode);
    await personDetails(page, mode);

    if (javaScript) {
      // An erase posted without its CSRF token: refused, nothing erased.
      const forged = await page.request.post(`${base}${personPage}/erase`, {
        form: { reason: 'person_asked', confirm: 'yes' },
        maxRedirects: 0,
      });
      assert(forged.status() === 403, `an erase without its CSRF token got ${forged.status()}`);
      await page.goto(`${base}${personPage}`);
      assert((await page.locator('main').textContent()).includes(env.GIVEN_NAME), 'not erased');
    } else {
      await erase(page, mode);
    }
    await notFound(page, mode);

    // A referrer: neither page.
    await signIn(page, base, { ...as(env.REFERRER), returnTo: '/' });
    for (const [path, name] of [['/audit/view', 'audit'], [personPage, 'person']]) {
      const refused = await page.goto(`${base}${path}`);
      assert(refused.status() === 403, `a referrer got ${refused.status()} on ${path}`);
      await check(page, `ig-lead-referrer-forbidden-${name}-${mode}`);
    }
  } finally {
    await browser.close();
  }
}

run(async () => {
  await flow(true);
  await flow(false);
});
