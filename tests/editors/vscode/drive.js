#!/usr/bin/env node
/*
 * Drives code-server (real VS Code in the browser) with Chromium through playwright-core, for
 * tests/editors/test_vscode.py. Reads a JSON config file (argv[2]); prints one JSON line per
 * step and a final `{"result": ...}` line; exits non-zero on failure after saving a screenshot
 * of what the browser showed.
 *
 * Config: url, file (workspace-relative name to open), type (text typed at the end of the
 * file), expectGhost, balanceText, screenshots (dir for docs images), artifacts (dir for
 * failure shots), chromium, chat (optional {question, expect}).
 */
'use strict';

const fs = require('fs');
const path = require('path');
const { chromium } = require('playwright-core');

const config = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
const started = Date.now();
const timings = {};
const result = { timings };

function log(step, extra) {
  const line = { step, ms: Date.now() - started, ...extra };
  timings[step] = line.ms;
  process.stdout.write(JSON.stringify(line) + '\n');
}

/** Chromium flags for this machine: no network beyond loopback, no sandbox as root, no GPU. */
const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-dev-shm-usage',
];

async function openWorkbench(page) {
  let lastError;
  for (let attempt = 1; attempt <= 4; attempt++) {
    try {
      await page.goto(config.url, { waitUntil: 'domcontentloaded', timeout: 60000 });
      await page.waitForSelector('.monaco-workbench', { timeout: 60000 });
      return attempt;
    } catch (error) {
      lastError = error;
      log('workbench-retry', { attempt, error: String(error).slice(0, 200) });
      await page.waitForTimeout(2000 * attempt);
    }
  }
  throw lastError;
}

/** Text of the ghost-text spans VS Code draws for an inline suggestion. */
async function ghostText(page) {
  return page.$$eval('.monaco-editor .ghost-text-decoration, .monaco-editor .ghost-text', (els) =>
    els.map((e) => e.textContent || '').join(''),
  );
}

/** The editor's visible lines without any ghost text (what the buffer holds). */
async function visibleLines(page) {
  return page.$eval('.monaco-editor .view-lines', (el) => {
    const copy = el.cloneNode(true);
    for (const g of copy.querySelectorAll('.ghost-text-decoration, .ghost-text, .ghost-text-decoration-preview')) {
      g.remove();
    }
    return [...copy.querySelectorAll('.view-line')]
      .map((line) => ({ top: parseFloat(line.style.top || '0'), text: (line.textContent || '').replace(/\u00a0/g, ' ') }))
      .sort((a, b) => a.top - b.top)
      .map((line) => line.text);
  });
}

async function shot(page, name) {
  if (!config.screenshots) {
    return;
  }
  fs.mkdirSync(config.screenshots, { recursive: true });
  const file = path.join(config.screenshots, name);
  await page.screenshot({ path: file });
  log('screenshot', { file });
}

async function runCommand(page, title) {
  await page.keyboard.press('Escape');
  await page.keyboard.press('F1');
  const input = page.locator('.quick-input-widget input');
  await input.waitFor({ state: 'visible', timeout: 15000 });
  await input.fill(`>${title}`);
  const row = page.locator('.quick-input-list .monaco-list-row', { hasText: title }).first();
  await row.waitFor({ state: 'visible', timeout: 15000 });
  return row;
}

async function notification(page, text, timeout) {
  const toast = page.locator('.notifications-toasts .notification-toast', { hasText: text }).first();
  await toast.waitFor({ state: 'visible', timeout });
  return (await toast.textContent()) || '';
}

async function main() {
  const browser = await chromium.launch({
    executablePath: config.chromium || '/usr/bin/chromium',
    headless: true,
    args: CHROMIUM_ARGS,
  });
  const context = await browser.newContext({ viewport: { width: 1280, height: 760 } });
  const page = await context.newPage();
  page.setDefaultTimeout(30000);
  try {
    result.loadAttempts = await openWorkbench(page);
    log('workbench');

    // The inline provider exists only once the server answered `initialize`: wait for the
    // status bar item to say so before typing.
    await page.waitForSelector('[aria-label="DeepSeek ready"]', { timeout: 90000 });
    log('server-ready');

    // Open the file through Quick Open.
    await page.keyboard.press('Control+P');
    const quickInput = page.locator('.quick-input-widget input');
    await quickInput.waitFor({ state: 'visible' });
    await quickInput.fill(config.file);
    await page.locator('.quick-input-list .monaco-list-row', { hasText: config.file }).first().waitFor();
    await page.keyboard.press('Enter');
    await page.locator(`.tab.active[aria-label*="${config.file}"]`).first().waitFor({ timeout: 30000 });
    await page.locator('.monaco-editor .view-lines').first().click();
    await page.keyboard.press('Control+End');
    log('file-open');

    // Type, then wait for the ghost text from deepseek-lsp.
    await page.keyboard.type(config.type, { delay: 40 });
    await page.waitForFunction(
      (expected) => [...document.querySelectorAll('.monaco-editor .ghost-text-decoration, .monaco-editor .ghost-text')]
        .map((e) => e.textContent || '').join('').replace(/\u00a0/g, ' ').includes(expected),
      config.expectGhost,
      { timeout: 45000, polling: 100 },
    );
    result.ghostText = (await ghostText(page)).replace(/\u00a0/g, ' ');
    log('ghost-text', { ghost: result.ghostText });
    await shot(page, 'vscode-ghost-text.png');

    // Tab accepts; the buffer (not the ghost) must now hold the suggestion.
    await page.keyboard.press('Tab');
    await page.waitForFunction(
      (expected) => [...document.querySelectorAll('.monaco-editor .view-line')].some((line) => {
        const copy = line.cloneNode(true);
        copy.querySelectorAll('.ghost-text-decoration, .ghost-text').forEach((g) => g.remove());
        return (copy.textContent || '').replace(/\u00a0/g, ' ').includes(expected);
      }),
      config.expectGhost,
      { timeout: 15000 },
    );
    await page.keyboard.press('Escape'); // dismiss a follow-up suggestion, if any
    result.linesAfterTab = await visibleLines(page);
    log('accepted', { lines: result.linesAfterTab });
    await page.keyboard.press('Control+S');
    await page.waitForSelector('.tab.active:not(.dirty)', { timeout: 15000 });
    log('saved');

    // The status bar item: hover shows tokens and cost from deepseek.status.
    const item = page.locator('[aria-label^="DeepSeek "]').first();
    await item.hover();
    try {
      const hover = page.locator('.monaco-hover, .workbench-hover', { hasText: 'Requests to DeepSeek' }).first();
      await hover.waitFor({ state: 'visible', timeout: 10000 });
      result.statusTooltip = (await hover.textContent()) || '';
      log('status-tooltip');
      await shot(page, 'vscode-status-tooltip.png');
    } catch (error) {
      result.statusTooltip = null; // informative, not required: hovers are timing-sensitive
      log('status-tooltip-missing', { error: String(error).slice(0, 200) });
    }
    await page.mouse.move(600, 300);

    // The palette lists the DeepSeek commands.
    await page.keyboard.press('Escape');
    await page.keyboard.press('F1');
    const paletteInput = page.locator('.quick-input-widget input');
    await paletteInput.waitFor({ state: 'visible' });
    await paletteInput.fill('>DeepSeek: ');
    await page.locator('.quick-input-list .monaco-list-row', { hasText: 'DeepSeek: Show Balance' }).first().waitFor();
    result.paletteEntries = await page.$$eval('.quick-input-list .monaco-list-row', (rows) =>
      rows.map((r) => (r.getAttribute('aria-label') || r.textContent || '').trim()),
    );
    log('palette', { entries: result.paletteEntries.length });
    await shot(page, 'vscode-palette.png');

    // DeepSeek: Show Balance, from the palette.
    const balanceRow = await runCommand(page, 'DeepSeek: Show Balance');
    await balanceRow.click();
    result.balanceMessage = await notification(page, config.balanceText, 30000);
    log('balance', { message: result.balanceMessage });
    await shot(page, 'vscode-balance.png');

    if (config.chat) {
      await page.keyboard.press('Escape');
      await page.locator('.monaco-editor .view-lines').first().click();
      await page.keyboard.press('Control+A');
      const askRow = await runCommand(page, 'DeepSeek: Ask About Selection…');
      await askRow.click();
      const question = page.locator('.quick-input-widget input');
      await question.waitFor({ state: 'visible' });
      await page.waitForTimeout(300);
      await question.fill(config.chat.question);
      await page.keyboard.press('Enter');
      const frame = page.frameLocator('iframe.webview').frameLocator('iframe#active-frame');
      await frame.locator('.turn.done .answer', { hasText: config.chat.expect }).first().waitFor({ timeout: 60000 });
      result.chatAnswer = (await frame.locator('.turn.done .answer').first().textContent()) || '';
      log('chat', { chars: result.chatAnswer.length });
      await shot(page, 'vscode-chat.png');
    }

    // Setting the key: the masked input (not submitted).
    const keyRow = await runCommand(page, 'DeepSeek: Set API Key');
    await keyRow.click();
    await page.locator('.quick-input-widget input[type="password"]').waitFor({ state: 'visible', timeout: 15000 });
    log('set-key-input');
    await shot(page, 'vscode-set-api-key.png');
    await page.keyboard.press('Escape');

    result.ok = true;
  } catch (error) {
    result.ok = false;
    result.error = String(error && error.stack ? error.stack : error);
    if (config.artifacts) {
      fs.mkdirSync(config.artifacts, { recursive: true });
      const file = path.join(config.artifacts, 'failure.png');
      await page.screenshot({ path: file }).catch(() => undefined);
      result.failureScreenshot = file;
    }
  } finally {
    await browser.close().catch(() => undefined);
  }
  process.stdout.write(JSON.stringify({ result }) + '\n');
  process.exit(result.ok ? 0 : 1);
}

main().catch((error) => {
  process.stdout.write(JSON.stringify({ result: { ok: false, error: String(error) } }) + '\n');
  process.exit(1);
});
