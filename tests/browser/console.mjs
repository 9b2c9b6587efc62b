// Drives Holdfast's console in a real headless Chromium, as a person would: signs in through
// the form, works the inbox with the keyboard, opens a ticket, replies with the keyboard only,
// and checks each page with axe-core (no serious or critical violations). It listens for any
// dialog (an XSS payload that ran) and any Content-Security-Policy report. Screenshots of the
// inbox and the ticket at desktop and phone width go to HF_SCREENSHOTS (a gitignored folder).
//
// Input (environment): HF_BASE (the server), HF_WORKSPACE, HF_EMAIL, HF_PASSWORD,
//   HF_SUBJECT (the ticket to open, found by its subject), HF_REPLY (the text to send),
//   HF_SCREENSHOTS (folder), HF_TIMEOUT_MS (default 20000).
// Output: one JSON object on stdout, {"ok": true|false, ...}.
// The system's Chromium is used; no browser is ever downloaded.
import { audit, base, drive, result, shoot, timeout } from "./kit.mjs";

await drive(async (page) => {

  // A stranger is sent to sign in, and comes back to the page they asked for.
  await page.goto(`${base}/app/inbox`, { waitUntil: "load", timeout });
  result.steps.push(`landed on ${new URL(page.url()).pathname}`);
  await audit(page, "sign-in");
  await page.getByLabel("Workspace").fill(process.env.HF_WORKSPACE);
  await page.getByLabel("Email").fill(process.env.HF_EMAIL);
  await page.getByLabel("Password").fill(process.env.HF_PASSWORD);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.waitForURL(`${base}/app/inbox`, { timeout });
  result.steps.push("signed in");
  await page.locator("table.list").waitFor({ timeout });
  await audit(page, "inbox");
  await shoot(page, "inbox");
  // The hostile subject is shown as text.
  result.xss_shown_as_text = await page
    .locator("table.list")
    .innerText()
    .then((t) => t.includes("<script>alert(1)</script>"));

  // Live arrival: a ticket opened elsewhere (through the API) shows up without a reload.
  await page.evaluate(() => {
    window.__stayed = true;
  });
  await page.waitForTimeout(500);
  const opened = await fetch(`${base}/api/v1/tickets`, {
    method: "POST",
    headers: { Authorization: `Bearer ${process.env.HF_KEY}`, "Content-Type": "application/json" },
    body: JSON.stringify({
      subject: "Arrived while watching",
      contact: { email: "live@example.com" },
      message: "Hello",
    }),
  });
  if (opened.status !== 201) throw new Error(`opening a ticket: ${opened.status}`);
  await page
    .locator("#inbox-list [data-row]", { hasText: "Arrived while watching" })
    .waitFor({ state: "visible", timeout });
  result.live_without_reload = await page.evaluate(() => window.__stayed === true);
  result.steps.push("a new ticket arrived live");

  // Keyboard: j moves down, Enter opens the selected ticket.
  const subjects = await page.locator("[data-row] a").allTextContents();
  const target = subjects.indexOf(process.env.HF_SUBJECT);
  if (target < 0) throw new Error(`no ticket "${process.env.HF_SUBJECT}" in ${subjects}`);
  for (let i = 0; i < target; i++) await page.keyboard.press("j");
  await page.keyboard.press("Enter");
  await page.waitForURL(/\/app\/tickets\//, { timeout });
  result.steps.push("opened the ticket with the keyboard");
  await audit(page, "ticket");
  await shoot(page, "ticket");

  // Keyboard-only reply: r focuses the box, type, Tab to Send, Enter.
  await page.keyboard.press("r");
  const focused = await page.evaluate(() => document.activeElement && document.activeElement.id);
  if (focused !== "message-body") throw new Error(`r focused ${focused}`);
  await page.keyboard.type(process.env.HF_REPLY, { delay: 5 });
  await page.keyboard.press("Tab");
  await page.keyboard.press("Enter");
  await page
    .locator("#conversation .message.reply", { hasText: process.env.HF_REPLY })
    .waitFor({ state: "visible", timeout });
  result.reply_delivery = await page
    .locator("#conversation .message.reply", { hasText: process.env.HF_REPLY })
    .locator(".delivery")
    .innerText();
  result.steps.push("replied with the keyboard");

  // Back in the inbox, the ticket just worked is read; the others are still unread.
  await page.goto(`${base}/app/inbox`, { waitUntil: "load", timeout });
  const row = (subject) => page.locator("tr[data-row]", { hasText: subject });
  result.worked_ticket_unread = await row(process.env.HF_SUBJECT).locator("td.unread").count();
  result.unread_rows = await page.locator("tr[data-row] td.unread").count();
  result.rows = await page.locator("tr[data-row]").count();
  result.steps.push("the worked ticket reads as read");
});
