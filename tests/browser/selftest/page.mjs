// The harness's own check (tests/tests/browser_harness.rs): a page served by the test,
// with JavaScript on and off: axe, a screenshot, and the keyboard reaching the form's
// button through its fields in order, then submitting it.
//   PAGE_URL: the page (a form posting to /submitted).
import { assert, checkA11y, launch, run, screenshot } from '../lib.mjs';

// The id of the element with focus ('none' without one).
async function focusedElement(page) {
  const el = page.locator(':focus');
  if ((await el.count()) === 0) return 'none';
  return (await el.getAttribute('id')) ?? '(no id)';
}

async function check(javaScript) {
  const mode = javaScript ? 'js' : 'no-js';
  const { browser, page } = await launch({ javaScript });
  try {
    await page.goto(process.env.PAGE_URL);
    assert((await page.title()) === 'Harness check - Linkway', `title is ${await page.title()}`);
    await checkA11y(page, `harness-${mode}`);
    const shot = await screenshot(page, `harness-${mode}`);

    // Keyboard only: Tab from the top of the page until the button has focus.
    const order = [];
    for (let i = 0; i < 10; i += 1) {
      await page.keyboard.press('Tab');
      // A locator, not page.evaluate: evaluate hangs with JavaScript off.
      const focused = await focusedElement(page);
      order.push(focused);
      if (focused === 'submit') break;
    }
    assert(
      order.join(' ') === 'skip name submit',
      `focus order was ${order.join(' ')}`,
    );
    await page.keyboard.press('Shift+Tab');
    await page.keyboard.type('Ada');
    await page.keyboard.press('Tab');
    await Promise.all([page.waitForURL('**/submitted'), page.keyboard.press('Enter')]);
    const text = await page.locator('h1').textContent();
    assert(text === 'Thank you, Ada', `after submitting: ${text}`);
    await checkA11y(page, `harness-${mode}-submitted`);
    console.log(`${mode}: focus ${order.join(' -> ')}; screenshot ${shot}`);
  } finally {
    await browser.close();
  }
}

run(async () => {
  await check(true);
  await check(false);
});
