// Debian's Chromium driven by playwright-core (never a downloaded browser), the flags the closed
// network here needs, and the page served by scripts/serve.mjs.
import assert from 'node:assert/strict';
import { chromium } from 'playwright-core';
import { mkdtempSync, rmSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startServer } from '../../scripts/serve.mjs';

export const ARTIFACTS = fileURLToPath(new URL('../artifacts/', import.meta.url));

// `extraMounts`: [URL prefix, absolute path] pairs served before the usual ones (see serve.mjs).
export async function openBrowser({ viewport = { width: 1200, height: 900 }, isMobile = false, hasTouch = false, extraMounts = [] } = {}) {
  const profile = mkdtempSync(join(tmpdir(), 'qkv-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: '/usr/bin/chromium',
    headless: true,
    viewport, isMobile, hasTouch,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync'],
  });
  const { server, url } = await startServer({ extraMounts });
  mkdirSync(ARTIFACTS, { recursive: true });
  return {
    context, url,
    async close() {
      await context.close();
      await new Promise((r) => server.close(r));
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

// Records CSP violations, console errors and every request, to check the page stays in its origin.
export async function watchPage(page, origin) {
  const seen = { violations: [], errors: [], foreign: [] };
  await page.addInitScript(() => {
    window.__cspViolations = [];
    document.addEventListener('securitypolicyviolation', (e) => window.__cspViolations.push(`${e.violatedDirective} ${e.blockedURI}`));
  });
  page.on('console', (m) => { if (m.type() === 'error') seen.errors.push(m.text()); });
  page.on('pageerror', (e) => seen.errors.push(String(e)));
  page.on('request', (r) => {
    const u = r.url();
    if (!u.startsWith(origin) && !u.startsWith('data:') && !u.startsWith('blob:')) seen.foreign.push(u);
  });
  seen.cspViolations = () => page.evaluate(() => window.__cspViolations);
  return seen;
}

/**
 * After a test, for each { page, seen } it opened (emptying the list): no CSP violation in any frame,
 * no console or page error, no request outside the origin; then the page is closed.
 */
export async function closeCleanPages(pages) {
  for (const { page, seen } of pages.splice(0)) {
    for (const frame of page.frames()) {
      assert.deepEqual(await frame.evaluate(() => window.__cspViolations ?? []), [], `no CSP violation in ${frame.url()}`);
    }
    assert.deepEqual(seen.errors, [], 'no console or page errors');
    assert.deepEqual(seen.foreign, [], 'no request leaves the origin');
    await page.close();
  }
}
