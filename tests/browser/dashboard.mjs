// The commissioner's dashboard (services/linkway/tests/pages_dashboard.rs), with
// JavaScript on and off: sign in through the test provider, the dashboard's charts and
// tables, axe, screenshots, the months filter, the CSV download, nothing personal in the
// page or the file, and a referrer refused with the 403 page.
//   REPORTING_URL, PEOPLE (from the Pages fixture); COMMISSIONER, REFERRER: usernames;
//   AREA: the commissioner's area; PERSONAL: JSON list of values no page may show.
import { readFileSync } from 'node:fs';

import { assert, checkA11y, launch, run, screenshot, signIn } from './lib.mjs';

const env = process.env;
const people = JSON.parse(env.PEOPLE);
const personal = JSON.parse(env.PERSONAL);
const base = env.REPORTING_URL;
const TITLE = 'Social prescribing in your area - Reports - Linkway';

function nothingPersonal(text, where) {
  for (const value of personal) {
    assert(!text.includes(value), `a personal value (${personal.indexOf(value)}) is in ${where}`);
  }
}

function as(username) {
  return { username, password: people[username].password };
}

async function downloadCsv(page) {
  const [download] = await Promise.all([
    page.waitForEvent('download'),
    page.getByRole('link', { name: 'Download these figures as a spreadsheet (CSV)' }).click(),
  ]);
  assert(download.suggestedFilename() === `linkway-${env.AREA}.csv`, `file ${download.suggestedFilename()}`);
  return readFileSync(await download.path(), 'utf8');
}

async function dashboard(javaScript) {
  const mode = javaScript ? 'js' : 'no-js';
  const { browser, page } = await launch({ javaScript });
  try {
    // Straight to the dashboard: sent to sign in, and back to it afterwards.
    await page.goto(`${base}/`);
    assert(new URL(page.url()).pathname === '/sign-in', `not sent to sign in: ${page.url()}`);
    await signIn(page, base, { ...as(env.COMMISSIONER), returnTo: '/' });
    assert(new URL(page.url()).pathname === '/', `signed in at ${page.url()}`);
    assert((await page.title()) === TITLE, `title is ${await page.title()}`);
    const lede = await page.locator('.nhsuk-lede-text').textContent();
    assert(lede.includes(env.AREA), `the area is named: ${lede}`);

    // Charts: images with a name and a description, each beside its table.
    const charts = page.locator('svg.linkway-chart');
    const count = await charts.count();
    assert(count >= 7, `${count} charts`);
    for (let i = 0; i < count; i += 1) {
      const chart = charts.nth(i);
      assert((await chart.getAttribute('role')) === 'img', 'a chart is an image');
      const names = (await chart.getAttribute('aria-labelledby')).split(' ');
      assert(names.length === 2, 'named by its title and desc');
    }
    const sections = page.locator('section.linkway-dashboard__section');
    let withCharts = 0;
    for (let i = 0; i < await sections.count(); i += 1) {
      const section = sections.nth(i);
      if ((await section.locator('svg.linkway-chart').count()) === 0) continue;
      withCharts += 1;
      assert((await section.locator('table caption').count()) === 1, `section ${i}'s chart has its table`);
    }
    assert(withCharts === count, 'every chart is in a section with its table');
    const needs = page.locator('#needs-heading + p + figure + table');
    const needsText = await needs.textContent();
    assert(needsText.includes('Social isolation') && needsText.includes('422650009'), needsText);
    assert(needsText.includes('Stress') && needsText.includes('73595000'), needsText);
    // Stress had 3 referrals: a star in the table, a gap in the chart.
    const stressRow = needs.locator('tr', { hasText: 'Stress' });
    assert((await stressRow.textContent()).includes('*'), 'suppressed in the table');
    const needsChart = page.locator('section[aria-labelledby="needs-heading"] svg');
    assert((await needsChart.locator('desc').textContent()).includes('Stress: suppressed'), 'gap in the chart');
    nothingPersonal(await page.content(), `the dashboard (${mode})`);
    await checkA11y(page, `dashboard-${mode}`);
    await screenshot(page, `dashboard-${mode}`);

    // The months filter is a plain GET form.
    const month = new Date().toISOString().slice(0, 7);
    await page.getByLabel('First month').fill(month);
    await page.getByLabel('Last month').fill(month);
    await Promise.all([
      page.waitForURL((url) => url.searchParams.get('from') === month),
      page.getByRole('button', { name: 'Show figures' }).click(),
    ]);
    assert((await page.locator('.nhsuk-lede-text').textContent()).includes('referrals from'), 'the period is said');
    await checkA11y(page, `dashboard-month-${mode}`);
    await screenshot(page, `dashboard-month-${mode}`);

    // A month written wrongly: the error summary links to the field.
    await page.getByLabel('First month').fill('March');
    await page.getByRole('button', { name: 'Show figures' }).click();
    assert((await page.title()) === `Error: ${TITLE}`, `title is ${await page.title()}`);
    const summary = page.locator('.nhsuk-error-summary a[href="#from"]');
    assert((await summary.count()) === 1, 'the summary links to the first month');
    await checkA11y(page, `dashboard-error-${mode}`);
    await screenshot(page, `dashboard-error-${mode}`);

    // The CSV of the figures shown.
    await page.goto(`${base}/`);
    const csv = await downloadCsv(page);
    const lines = csv.trim().split('\n');
    assert(lines[0] === 'table,key,label,column,value', `header ${lines[0]}`);
    assert(lines.some((l) => l.startsWith('needs,73595000,Stress,Referrals,*')), 'the star in the CSV');
    assert(lines.some((l) => l === 'journey,referrals,Referrals received,Number,15'), 'the total in the CSV');
    nothingPersonal(csv, `the CSV (${mode})`);
  } finally {
    await browser.close();
  }
}

async function refused(javaScript) {
  const mode = javaScript ? 'js' : 'no-js';
  const { browser, page } = await launch({ javaScript });
  try {
    await signIn(page, base, { ...as(env.REFERRER), returnTo: '/' });
    const response = await page.goto(`${base}/`);
    assert(response.status() === 403, `a referrer got ${response.status()}`);
    assert((await page.locator('h1').textContent()) === 'You cannot use this page', 'the 403 page');
    const csv = await page.goto(`${base}/dashboard.csv`);
    assert(csv.status() === 403, `a referrer's CSV got ${csv.status()}`);
    await checkA11y(page, `dashboard-forbidden-${mode}`);
    await screenshot(page, `dashboard-forbidden-${mode}`);
  } finally {
    await browser.close();
  }
}

run(async () => {
  await dashboard(true);
  await refused(true);
  await dashboard(false);
  await refused(false);
});
