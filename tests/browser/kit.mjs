// What the console's browser scripts share: the system's Chromium (never a downloaded one),
// one page that records every dialog (an XSS payload that ran), console line and
// Content-Security-Policy report, axe-core checks (serious and critical violations only), and
// screenshots at desktop and phone width into HF_SCREENSHOTS (a gitignored folder).
//
// A script imports `drive` and its steps; `drive` prints the one JSON result on stdout,
// {"ok": true|false, ...}, and exits 0 only when every step ran.
import { chromium } from "playwright-core";
import AxeBuilder from "@axe-core/playwright";
import { mkdirSync } from "node:fs";

export const base = process.env.HF_BASE;
export const timeout = Number(process.env.HF_TIMEOUT_MS || 20000);
const shots = process.env.HF_SCREENSHOTS || "";
const desktop = { width: 1280, height: 800 };

/// What the run found; scripts add their own observations to it.
export const result = { ok: false, dialogs: [], csp: [], console: [], axe: {}, steps: [] };

/// Checks the page with axe-core: its serious and critical violations, under `name`.
export async function audit(page, name) {
  const found = await new AxeBuilder({ page }).analyze();
  const bad = found.violations.filter((v) => v.impact === "serious" || v.impact === "critical");
  result.axe[name] = bad.map((v) => `${v.id}: ${v.help} (${v.nodes.length})`);
}

/// Screenshots of the page at desktop and phone width (the whole page unless `fullPage` is
/// false), when HF_SCREENSHOTS names a folder.
export async function shoot(page, name, fullPage = true) {
  if (!shots) return;
  mkdirSync(shots, { recursive: true });
  for (const [label, width, height] of [["desktop", 1280, 800], ["phone", 390, 844]]) {
    await page.setViewportSize({ width, height });
    await page.screenshot({ path: `${shots}/${name}-${label}.png`, fullPage });
  }
  await page.setViewportSize(desktop);
}

/// Runs `steps(page, context)` in a fresh browser and reports: ok when they all ran.
/// `context` adds to the browser context's options (a phone: `viewport`, `isMobile`, `hasTouch`).
export async function drive(steps, context = {}) {
  const browser = await chromium.launch({
    executablePath: process.env.HF_CHROMIUM || "/usr/bin/chromium",
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
  });
  try {
    const opened = await browser.newContext({ viewport: desktop, ...context });
    const page = await opened.newPage();
    page.on("dialog", async (d) => {
      result.dialogs.push(d.message());
      await d.dismiss();
    });
    page.on("console", (m) => {
      const text = `${m.type()}: ${m.text()}`.slice(0, 300);
      result.console.push(text);
      if (/Content Security Policy/i.test(text)) {
        const where = `${new URL(page.url()).pathname} ${JSON.stringify(m.location())}`;
        result.csp.push(`${where} ${text}`.slice(0, 500));
      }
    });
    page.on("pageerror", (e) => result.console.push(`pageerror: ${String(e)}`.slice(0, 300)));
    await steps(page, opened);
    result.ok = true;
  } catch (e) {
    result.error = String(e && e.message ? e.message : e).slice(0, 2000);
  } finally {
    await browser.close();
  }
  process.stdout.write(JSON.stringify(result) + "\n");
  process.exit(result.ok ? 0 : 1);
}
