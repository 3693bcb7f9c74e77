// The referrer's pages (services/linkway/tests/pages_referrer.rs), with JavaScript on and
// off: sign in through the test provider; make a referral with a mistake first (the error
// summary, its link to the field, focus), then corrected; see it in the organisation's
// list and filter by status; open it; withdraw it (without a reason first). With JavaScript
// on the referral form is filled keyboard-only (Tab order is the page's order). axe and a
// screenshot on every page; a form posted without its CSRF token is refused and appends
// nothing; another organisation's referral is the same 404 page as a missing one.
//   INTAKE_URL, PEOPLE (from the Pages fixture); REFERRER: username; OTHER_REFERRAL: a
//   referral of another organisation; MISSING_REFERRAL: an id no referral has.
import { assert, checkA11y, launch, run, screenshot, signIn } from './lib.mjs';

const env = process.env;
const people = JSON.parse(env.PEOPLE);
const base = env.INTAKE_URL;
const SERVICE = 'Referrals - Linkway';

function as(username) {
  return { username, password: people[username].password };
}

/// What the referral form is given, in the page's order: text for a field, `choose` for
/// a radio group or a tick box. The postcode is the mistake: left out at first.
const TYPED = [
  ['nhs_number', '943 476 5919'],
  ['given_name', 'Robin'],
  ['family_name', 'Example'],
  ['birth_date', '1961-05-17'],
  ['address_line1', '14 Imaginary Row'],
  ['address_line3', 'Leeds'],
  ['phone', '07700 900123'],
  ['preferred_contact_method', { choose: 'phone' }],
  ['need', { choose: '422650009' }],
  ['needs_text', 'Lonely since moving'],
  ['urgency', { choose: 'routine' }],
  ['safeguarding_concern', { choose: 'no' }],
  ['legal_basis', { choose: 'public_task_health_care' }],
  ['consent_status', { choose: 'active' }],
  ['referral_agreed', { choose: 'yes' }],
  ['share_details', { choose: 'no' }],
  ['practitioner_name', 'Dr Placeholder'],
];
const FIELDS = Object.fromEntries(TYPED.map(([name, v]) => [name, v.choose ?? v]));

async function title(page, expected) {
  const actual = await page.title();
  assert(actual === expected, `title is "${actual}", not "${expected}"`);
}

async function check(page, name) {
  await checkA11y(page, name);
  await screenshot(page, name);
}

/// The id of the element with focus (JavaScript on only).
function focused(page) {
  return page.evaluate(() => document.activeElement?.id || document.activeElement?.tagName);
}

/// Presses Tab until the element `selector` matches has focus; every element passed on
/// the way must come later in the page than the one before it (focus order is the page's
/// order). A bare name is an id.
async function tabTo(page, selector) {
  const wanted = /^[a-z_0-9-]+$/.test(selector) ? `#${selector}` : selector;
  let last = -1;
  for (let i = 0; i < 300; i += 1) {
    await page.keyboard.press('Tab');
    const at = await page.evaluate((sel) => {
      const all = [...document.querySelectorAll('*')];
      const active = document.activeElement;
      return { id: active?.id ?? '', index: all.indexOf(active), matches: !!active?.matches(sel) };
    }, wanted);
    assert(at.index > last, `focus went back up the page at #${at.id}`);
    last = at.index;
    if (at.matches) return;
  }
  throw new Error(`Tab never reached ${wanted}`);
}

/// Fills the referral form with the keyboard alone (Tab, typing, Space, arrows).
async function fillByKeyboard(page) {
  for (const [name, value] of TYPED) {
    await tabTo(page, name);
    if (!value.choose) {
      await page.keyboard.type(value);
      continue;
    }
    // Tab reaches a radio group once (its first radio when none is chosen), Space
    // chooses, the arrows move; Space ticks a box.
    const wanted = page.locator(`input[name="${name}"][value="${value.choose}"]`);
    await page.keyboard.press('Space');
    for (let i = 0; i < 6 && !(await wanted.isChecked()); i += 1) {
      await page.keyboard.press('ArrowDown');
    }
    assert(await wanted.isChecked(), `${name} chosen by keyboard`);
  }
}

async function fillByMouse(page) {
  for (const [name, value] of TYPED) {
    if (value.choose) {
      await page.locator(`input[name="${name}"][value="${value.choose}"]`).check();
    } else {
      await page.locator(`#${name}`).fill(value);
    }
  }
}

async function send(page, { keyboard }) {
  if (keyboard) {
    await tabTo(page, 'practitioner_email');
    await page.keyboard.press('Tab');
    const button = await page.evaluate(() => document.activeElement?.textContent?.trim());
    assert(button === 'Send referral', `after the last field comes ${button}`);
    await Promise.all([page.waitForNavigation(), page.keyboard.press('Enter')]);
  } else {
    await Promise.all([page.waitForNavigation(), page.getByRole('button', { name: 'Send referral' }).click()]);
  }
}

async function flow(javaScript) {
  const mode = javaScript ? 'js' : 'no-js';
  const { browser, page } = await launch({ javaScript });
  try {
    // Straight to a page: sent to sign in, and back to it afterwards.
    await page.goto(`${base}/`);
    assert(new URL(page.url()).pathname === '/sign-in', `not sent to sign in: ${page.url()}`);
    await signIn(page, base, { ...as(env.REFERRER), returnTo: '/' });
    assert(new URL(page.url()).pathname === '/', `signed in at ${page.url()}`);
    await title(page, `Social prescribing referrals - ${SERVICE}`);
    await check(page, `referrer-home-${mode}`);

    await page.getByRole('link', { name: 'Make a referral' }).first().click();
    await page.waitForURL((url) => url.pathname === '/referrals/new');
    await title(page, `Make a referral - ${SERVICE}`);
    assert((await page.locator('input[name="access_token"]').count()) === 0, 'no token to paste');
    await check(page, `referrer-new-${mode}`);

    // The mistake: no postcode.
    if (javaScript) {
      await page.locator('body').focus();
      await fillByKeyboard(page);
    } else {
      await fillByMouse(page);
    }
    await send(page, { keyboard: javaScript });
    await title(page, `Error: Make a referral - ${SERVICE}`);
    const link = page.locator('.nhsuk-error-summary a[href="#postcode"]');
    assert((await link.count()) === 1, 'the summary links to the postcode');
    assert((await link.textContent()).trim() === 'Postcode is required', await link.textContent());
    assert((await page.locator('#postcode-error').textContent()).includes('Postcode is required'), 'the message beside the field');
    assert((await page.locator('#given_name').inputValue()) === FIELDS.given_name, 'what was typed is kept');
    assert(await page.locator('input[name="share_details"][value="no"]').isChecked(), 'what was chosen is kept');
    await check(page, `referrer-new-error-${mode}`);
    if (javaScript) {
      // From the top of the page: Tab to the summary's link, Enter goes to the field
      // (nhsuk-frontend's script would focus it; without it the browser's fragment
      // navigation makes it the next stop).
      await tabTo(page, '.nhsuk-error-summary a[href="#postcode"]');
      await page.keyboard.press('Enter');
      assert(new URL(page.url()).hash === '#postcode', 'the link goes to the field');
      if ((await focused(page)) !== 'postcode') await page.keyboard.press('Tab');
      assert((await focused(page)) === 'postcode', `the link leads to the field, not ${await focused(page)}`);
      await page.keyboard.type('LS6 9ZZ');
    } else {
      await link.click();
      assert(new URL(page.url()).hash === '#postcode', 'the link goes to the field');
      await page.locator('#postcode').fill('LS6 9ZZ');
    }
    await send(page, { keyboard: false });

    // Sent: the referral's page, once the read model has it.
    assert(/^\/referrals\/[0-9a-f-]{36}\/view$/.test(new URL(page.url()).pathname), `at ${page.url()}`);
    const id = new URL(page.url()).pathname.split('/')[2];
    await title(page, `Referral - ${SERVICE}`);
    const banner = await page.locator('.nhsuk-notification-banner').textContent();
    assert(banner.includes('Referral sent'), banner);
    const details = await page.locator('.nhsuk-summary-list').textContent();
    assert(details.includes('Sent to a link worker service'), details);
    await check(page, `referrer-sent-${mode}`);

    // The organisation's list, and its filter.
    await page.getByRole('link', { name: "Your organisation's referrals" }).first().click();
    await page.waitForURL((url) => url.pathname === '/referrals/view');
    await title(page, `Your organisation's referrals - ${SERVICE}`);
    const row = page.locator(`a[href="/referrals/${id}/view"]`);
    assert((await row.count()) === 1, 'the referral is listed');
    assert((await page.locator(`a[href="/referrals/${env.OTHER_REFERRAL}/view"]`).count()) === 0, 'not the other organisation\'s');
    await check(page, `referrer-list-${mode}`);
    await page.getByLabel('Status').selectOption('routed');
    await Promise.all([page.waitForNavigation(), page.getByRole('button', { name: 'Show referrals' }).click()]);
    assert(new URL(page.url()).searchParams.get('status') === 'routed', `filtered at ${page.url()}`);
    assert((await row.count()) === 1, 'listed under routed');
    await check(page, `referrer-list-routed-${mode}`);

    // Open it and withdraw it: first without a reason.
    await Promise.all([page.waitForNavigation(), row.click()]);
    await Promise.all([page.waitForNavigation(), page.getByRole('button', { name: 'Withdraw referral' }).click()]);
    await title(page, `Error: Referral - ${SERVICE}`);
    assert((await page.locator('.nhsuk-error-summary a[href="#reason"]').textContent()).trim() === 'Reason is required', 'the reason is asked for');
    await check(page, `referrer-withdraw-error-${mode}`);
    await page.getByLabel('Why are you withdrawing it?').fill('Referred to the wrong service');
    await Promise.all([page.waitForNavigation(), page.getByRole('button', { name: 'Withdraw referral' }).click()]);
    assert((await page.locator('.nhsuk-notification-banner').textContent()).includes('Referral withdrawn'), 'withdrawn');
    assert((await page.locator('.nhsuk-summary-list').textContent()).includes('Withdrawn'), 'the status says so');
    assert((await page.locator('table').textContent()).includes('Referred to the wrong service'), 'the timeline has it');
    assert((await page.getByRole('button', { name: 'Withdraw referral' }).count()) === 0, 'no withdraw form once withdrawn');
    await check(page, `referrer-withdrawn-${mode}`);

    // A form posted without its CSRF token: refused, nothing appended.
    await page.goto(`${base}/referrals/view`);
    const count = await page.locator('main p').first().textContent();
    const forged = await page.request.post(`${base}/referrals/new`, {
      form: { ...FIELDS, postcode: 'LS6 9ZZ' },
      maxRedirects: 0,
    });
    assert(forged.status() === 403, `a post without its CSRF token got ${forged.status()}`);
    assert((await forged.text()).includes('This form could not be sent'), 'the refusal page');
    await page.goto(`${base}/referrals/view`);
    assert((await page.locator('main p').first().textContent()) === count, `nothing appended: ${count}`);

    // Another organisation's referral is the page of one that does not exist.
    const theirs = await page.goto(`${base}/referrals/${env.OTHER_REFERRAL}/view`);
    const theirsPage = await page.locator('main').innerHTML();
    assert(theirs.status() === 404, `another organisation's referral got ${theirs.status()}`);
    await title(page, 'Page not found - Linkway');
    await check(page, `referrer-not-found-${mode}`);
    const missing = await page.goto(`${base}/referrals/${env.MISSING_REFERRAL}/view`);
    assert(missing.status() === 404, `a missing referral got ${missing.status()}`);
    assert((await page.locator('main').innerHTML()) === theirsPage, 'the same page');
  } finally {
    await browser.close();
  }
}

run(async () => {
  await flow(true);
  await flow(false);
});
