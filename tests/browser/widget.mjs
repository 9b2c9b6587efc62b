// Drives Holdfast's website widget in a real headless Chromium, like a person would: opens the
// page, opens the widget, types name, email and message, sends, and waits for the outcome.
// Then, if asked, waits for a staff reply to appear in the widget.
//
// Input (environment, or argv[2] for the page URL):
//   HF_PAGE_URL    the page that embeds the widget
//   HF_MESSAGE     the message to type (default "Hello from the browser test")
//   HF_NAME, HF_EMAIL
//   HF_REPLY_TEXT  a staff reply to wait for after sending (optional)
//   HF_TIMEOUT_MS  how long to wait for each outcome (default 20000)
// Output: one JSON object per line on stdout.
//   {"event":"sent", ...}  once the widget confirmed (or {"event":"refused", ...} with the error)
//   {"event":"done", ...}  at the end, with every result
// The system's Chromium is used; no browser is ever downloaded.
import { chromium } from "playwright-core";

const pageUrl = process.argv[2] || process.env.HF_PAGE_URL;
const message = process.env.HF_MESSAGE || "Hello from the browser test";
const name = process.env.HF_NAME || "Browser Visitor";
const email = process.env.HF_EMAIL || "";
const replyText = process.env.HF_REPLY_TEXT || "";
const timeout = Number(process.env.HF_TIMEOUT_MS || 20000);

function emit(obj) {
  process.stdout.write(JSON.stringify(obj) + "\n");
}

if (!pageUrl) {
  emit({ event: "done", ok: false, error: "no page URL (HF_PAGE_URL or argv[2])" });
  process.exit(2);
}

const result = { event: "done", ok: false, sent: false, reply_seen: false, console: [] };
const browser = await chromium.launch({
  executablePath: process.env.HF_CHROMIUM || "/usr/bin/chromium",
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
});
try {
  const page = await browser.newPage();
  page.on("console", (m) => result.console.push(`${m.type()}: ${m.text()}`.slice(0, 300)));
  page.on("pageerror", (e) => result.console.push(`pageerror: ${String(e)}`.slice(0, 300)));
  await page.goto(pageUrl, { waitUntil: "load", timeout });

  // Locators pierce the widget's open shadow root.
  const launcher = page.getByRole("button", { name: "Chat with us" });
  await launcher.waitFor({ state: "visible", timeout });
  await launcher.click();
  await page.getByLabel("Your name").pressSequentially(name, { delay: 20 });
  if (email) await page.getByLabel("Email (optional)").pressSequentially(email, { delay: 20 });
  await page.getByLabel("Message").pressSequentially(message, { delay: 15 });
  // A person takes a moment; the server refuses forms sent faster than its minimum.
  await page.waitForTimeout(1500);
  await page.getByRole("button", { name: "Send" }).click();

  const status = page.locator("p.status");
  await page.waitForFunction(
    () => {
      const host = document.querySelector("[data-holdfast-widget]");
      const p = host && host.shadowRoot && host.shadowRoot.querySelector("p.status");
      return p && p.textContent && p.textContent !== "Sending…";
    },
    null,
    { timeout },
  );
  result.status_text = (await status.textContent()) || "";
  result.status_is_error = ((await status.getAttribute("class")) || "").includes("error");
  result.sent = !result.status_is_error && result.status_text.startsWith("Thanks");
  result.stored_token = await page.evaluate(() => {
    for (let i = 0; i < localStorage.length; i++) {
      const k = localStorage.key(i);
      if (k && k.startsWith("holdfast-widget:")) return true;
    }
    return false;
  });
  emit({ event: result.sent ? "sent" : "refused", status_text: result.status_text });

  if (result.sent && replyText) {
    // The widget polls; the reply must show up as the team's message.
    await page
      .locator("li.team", { hasText: replyText })
      .waitFor({ state: "visible", timeout });
    result.reply_seen = true;
    result.log = await page.locator("ul.log li").allTextContents();
  }
  result.ok = true;
} catch (e) {
  result.error = String(e && e.message ? e.message : e).slice(0, 2000);
} finally {
  await browser.close();
}
emit(result);
process.exit(result.ok ? 0 : 1);
