// Shared helpers for Linkway's page scripts (run by `linkway_testkit::browser`).
//
//   import { launch, checkA11y, screenshot, signIn, assert } from './lib.mjs';
//   const { browser, page } = await launch();            // or launch({ javaScript: false })
//   try {
//     await signIn(page, process.env.INTAKE_URL, { username: 'ada', password: 'pw' });
//     await checkA11y(page, 'intake-home');
//     await screenshot(page, 'intake-home');
//   } finally { await browser.close(); }
//
// Chromium is Debian's (`CHROMIUM`, default /usr/bin/chromium), never a downloaded build.
// Screenshots and axe results go to `SCREENSHOT_DIR` (default <repo>/target/browser-screenshots).

import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

import AxeBuilder from '@axe-core/playwright';
import { chromium } from 'playwright-core';

const here = dirname(fileURLToPath(import.meta.url));

/// Flags for this machine's closed network: without the background-networking ones
/// Chromium keeps trying to reach Google's hosts. Playwright adds --headless,
/// --no-sandbox (it runs as root here) and a fresh user data dir itself.
export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-default-apps',
  '--disable-extensions',
];

export const SCREENSHOT_DIR = process.env.SCREENSHOT_DIR
  ?? resolve(here, '../../target/browser-screenshots');

/// Starts headless Chromium with one context and one page.
/// `javaScript: false` disables JavaScript in the pages (see `checkA11y` for how axe
/// still runs on them). Other options go to `browser.newContext`.
export async function launch({ javaScript = true, ...contextOptions } = {}) {
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: CHROMIUM_ARGS,
  });
  const context = await browser.newContext({
    javaScriptEnabled: javaScript,
    viewport: { width: 1280, height: 900 },
    ...contextOptions,
  });
  if (!javaScript) noScript.add(context);
  const page = await context.newPage();
  page.setDefaultTimeout(Number(process.env.BROWSER_TIMEOUT_MS ?? 15000));
  return { browser, context, page };
}

/// Contexts launched with JavaScript disabled. Playwright's `evaluate` (and so axe, and
/// `locator.evaluate`) hangs in them; locators, `fill`, `click`, `keyboard`, `content`
/// and screenshots work.
const noScript = new WeakSet();

function fileName(name) {
  return name.replace(/[^A-Za-z0-9._-]+/g, '-');
}

/// Saves a full-page PNG as `<SCREENSHOT_DIR>/<name>.png`; returns its path.
export async function screenshot(page, name) {
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  const path = join(SCREENSHOT_DIR, `${fileName(name)}.png`);
  await page.screenshot({ path, fullPage: true });
  return path;
}

/// WCAG 2.0/2.1/2.2 A and AA rules.
export const WCAG_TAGS = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa'];

/// Runs axe-core on the page as it is now; throws listing every serious or critical
/// violation. The full result is kept as `<SCREENSHOT_DIR>/<name>.axe.json`.
/// `options.exclude`: selectors axe should skip; `options.tags`: rule tags (WCAG_TAGS).
///
/// axe needs JavaScript. On a page whose context has it disabled, the page's DOM as it is
/// (no script has run, so the server's HTML) is served again at the same URL to a twin
/// page with JavaScript on, the same cookies and viewport, and a CSP of `script-src 'none'`
/// so none of the page's own scripts runs there either; its styles and images load from
/// the service as usual. axe runs on the twin.
export async function checkA11y(page, name, { tags = WCAG_TAGS, exclude = [] } = {}) {
  const analyze = async (target) => {
    let builder = new AxeBuilder({ page: target }).withTags(tags);
    for (const selector of exclude) builder = builder.exclude(selector);
    return builder.analyze();
  };
  let results;
  if (noScript.has(page.context())) {
    const url = page.url();
    const html = await page.content();
    const twin = await page.context().browser().newContext({
      storageState: await page.context().storageState(),
      viewport: page.viewportSize() ?? undefined,
    });
    try {
      const twinPage = await twin.newPage();
      await twinPage.route((u) => u.href === url, (route) => route.fulfill({
        status: 200,
        contentType: 'text/html; charset=utf-8',
        headers: { 'content-security-policy': "script-src 'none'" },
        body: html,
      }));
      await twinPage.goto(url);
      results = await analyze(twinPage);
    } finally {
      await twin.close();
    }
  } else {
    results = await analyze(page);
  }
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  writeFileSync(
    join(SCREENSHOT_DIR, `${fileName(name)}.axe.json`),
    JSON.stringify({ url: results.url, violations: results.violations }, null, 2),
  );
  const bad = results.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  if (bad.length) {
    const lines = bad.map((v) => `  - ${v.id} (${v.impact}): ${v.help}\n`
      + v.nodes.map((n) => `      at ${n.target.join(' ')}: ${n.failureSummary?.split('\n').join(' ')}`).join('\n'));
    throw new Error(`axe: ${bad.length} serious or critical violation(s) on ${name} (${page.url()}):\n${lines.join('\n')}`);
  }
  return results;
}

/// The test identity provider's cookies (oidc-provider's `_session`, `_interaction*`).
/// Cookies ignore ports, so they sit beside Linkway's on 127.0.0.1: clear them by name.
const PROVIDER_COOKIE = /^_(session|interaction)/;

/// Signs in on a Linkway service through the test provider's login form:
/// opens `<serviceUrl>/auth/login?provider=<provider>` (or `<serviceUrl>/sign-in` and
/// follows its first link or button to `/auth/login` when no provider is given), fills
/// the provider's `username` and `password`, submits, and waits to be back on the
/// service. Works with JavaScript disabled. The provider's own session is forgotten
/// first (`keepProviderSession: true` keeps it), so each call signs in afresh as the
/// given person. `returnTo` is passed on as `return_to`.
export async function signIn(page, serviceUrl, {
  username, password, provider, returnTo, keepProviderSession = false,
}) {
  const origin = new URL(serviceUrl).origin;
  if (!keepProviderSession) await page.context().clearCookies({ name: PROVIDER_COOKIE });
  const query = new URLSearchParams();
  if (returnTo) query.set('return_to', returnTo);
  if (provider) {
    query.set('provider', provider);
    await page.goto(`${origin}/auth/login?${query}`);
  } else {
    await page.goto(`${origin}/sign-in${query.size ? `?${query}` : ''}`);
    const start = page.locator('a[href*="/auth/login"], form[action*="/auth/login"] button').first();
    await start.click();
  }
  await page.waitForURL((url) => url.origin !== origin || url.pathname !== '/sign-in');
  if (new URL(page.url()).origin !== origin) {
    await page.locator('#username').fill(username);
    await page.locator('#password').fill(password);
    await Promise.all([
      page.waitForURL((url) => url.origin === origin || url.pathname.endsWith('/login')),
      page.locator('#sign-in').click(),
    ]);
    if (new URL(page.url()).origin !== origin) {
      const error = await page.locator('#error').textContent().catch(() => null);
      throw new Error(`the test provider refused ${username}'s sign-in: ${error ?? page.url()}`);
    }
  }
  return page;
}

/// Throws with `message` unless `condition` holds (scripts fail by throwing).
export function assert(condition, message) {
  if (!condition) throw new Error(`assertion failed: ${message}`);
}

/// Runs `main` and exits non-zero with the error on stderr if it throws, so the Rust
/// harness fails the test with that message.
export function run(main) {
  main().then(
    () => process.exit(0),
    (err) => {
      console.error(err?.stack ?? String(err));
      process.exit(1);
    },
  );
}
