// Drives a workspace's client portal in a real headless Chromium on a phone (390 × 844, touch),
// as a customer would: asks for a sign-in link with their email, opens the link from the mail
// (the confirmation page spends nothing: it opens again), signs in, reads their request (the
// team's reply, never an internal note) and answers it, opens their invoice, downloads its PDF,
// presses Pay and lands on the payment provider's checkout page; once the provider's webhook has
// recorded the payment, comes back to the invoice and sees it paid. Then types another
// customer's request's address (the portal's 404 page, without a word of theirs), signs out, and
// finds that a portal page asks to sign in again.
//
// Every page is checked with axe-core (no serious or critical violations), for a page wider
// than the phone's screen or a table or button spilling out of its box, and for buttons
// smaller than a thumb (44 × 44 CSS pixels); any dialog, Content-Security-Policy report and
// console error is recorded. Phone screenshots of each page go to HF_SCREENSHOTS (a gitignored
// folder).
//
// The Rust test answers what only it can know, over stdin and stdout, one JSON object a line:
//   {"want": "link"}                       → {"path": "/portal/…/sign-in/hfml_…"} (from the mail)
//   {"want": "paid", "checkout": "<url>"}  → {"back": "/portal/…/invoices/…?paid=1"} once the
//                                             provider's signed webhook recorded the payment
// The provider's checkout host (checkout.stripe.com) is answered by the test's local page
// server (HF_CHECKOUT); any other address off the app is refused and recorded.
//
// Input (environment): HF_BASE, HF_WORKSPACE (slug), HF_EMAIL, HF_TICKET_SUBJECT, HF_REPLY (the
//   team's reply), HF_NOTE (the internal note), HF_ANSWER (what the customer writes),
//   HF_INVOICE_NUMBER, HF_OTHER_TICKET (another customer's ticket id), HF_OTHER_SUBJECT,
//   HF_CHECKOUT, HF_SCREENSHOTS, HF_TIMEOUT_MS.
// Output: the questions above, then one JSON object, {"ok": true|false, ...}.
// The system's Chromium is used; no browser is ever downloaded.
import { audit, base, drive, result, timeout } from "./kit.mjs";
import { createInterface } from "node:readline";
import { mkdirSync, readFileSync } from "node:fs";

const env = process.env;
const slug = env.HF_WORKSPACE;
const portal = `${base}/portal/${slug}`;
const shots = env.HF_SCREENSHOTS || "";
const phone = {
  viewport: { width: 390, height: 844 },
  deviceScaleFactor: 2,
  isMobile: true,
  hasTouch: true,
};

const answers = createInterface({ input: process.stdin })[Symbol.asyncIterator]();

/// Asks the Rust test for what only it knows; its answer.
async function ask(want, extra = {}) {
  process.stdout.write(JSON.stringify({ want, ...extra }) + "\n");
  const next = await answers.next();
  if (next.done) throw new Error(`no answer to ${want}`);
  return JSON.parse(next.value);
}

result.overflow = {};
result.small_buttons = {};
result.errors = [];
result.external = [];
/// The one page expected to answer 404 (its "failed to load" line is no error).
let expected404 = "";

/// axe-core, a page no wider than the phone, and a screenshot.
async function check(page, name) {
  await audit(page, name);
  result.overflow[name] = await page.evaluate(() => {
    const wide = document.documentElement.scrollWidth;
    if (wide > window.innerWidth) return `${wide}px wide on a ${window.innerWidth}px screen`;
    // A table or a button that spills out of the box it sits in (its panel's padding).
    for (const el of document.querySelectorAll("main table, main button, main textarea")) {
      const box = el.parentElement;
      const style = getComputedStyle(box);
      const inner = box.getBoundingClientRect().right - parseFloat(style.paddingRight) - parseFloat(style.borderRightWidth);
      const right = el.getBoundingClientRect().right;
      if (right > inner + 0.5) return `a ${el.tagName.toLowerCase()} ends at ${right}px, its box at ${inner}px`;
    }
    return "";
  });
  // Buttons a thumb can hit: at least 44 × 44 CSS pixels.
  result.small_buttons[name] = await page.evaluate(() =>
    [...document.querySelectorAll("button")]
      .filter((b) => b.offsetParent !== null)
      .map((b) => [b.textContent.trim(), b.getBoundingClientRect()])
      .filter(([, r]) => r.height < 44 || r.width < 44)
      .map(([text, r]) => `${text}: ${Math.round(r.width)} × ${Math.round(r.height)}`)
  );
  if (shots) {
    mkdirSync(shots, { recursive: true });
    await page.screenshot({ path: `${shots}/portal-${name}-phone.png`, fullPage: true });
  }
}

/// The visible text of `selector`'s elements.
async function texts(page, selector) {
  return (await page.locator(selector).allInnerTexts()).map((t) => t.trim());
}

await drive(async (page, context) => {
  page.on("console", (m) => {
    if (m.type() !== "error") return;
    const where = m.location().url || page.url();
    if (where === expected404 && /status of 404/.test(m.text())) return;
    result.errors.push(`${new URL(page.url()).pathname}: ${m.text()}`.slice(0, 300));
  });
  page.on("pageerror", (e) => result.errors.push(`pageerror: ${String(e)}`.slice(0, 300)));
  // The app itself; the provider's checkout page from the test's local server; nothing else.
  await context.route("**/*", async (route) => {
    const url = new URL(route.request().url());
    if (url.origin === base) return route.continue();
    if (url.protocol === "https:" && url.host === "checkout.stripe.com") {
      const local = await route.fetch({ url: `${env.HF_CHECKOUT}${url.pathname}` });
      return route.fulfill({ response: local });
    }
    result.external.push(url.href.slice(0, 200));
    return route.abort();
  });

  // The portal's front page: asking for a link.
  await page.goto(portal, { waitUntil: "load", timeout });
  await check(page, "sign-in");
  // The workspace's brand: its logo shown, its colour on the main button with readable ink.
  result.sign_in_logo = await page.locator("h1 img.portal-logo").evaluate((img) => img.complete && img.naturalWidth > 0);
  result.primary_button = await page.getByRole("button", { name: "Send me a sign-in link" })
    .evaluate((b) => [getComputedStyle(b).backgroundColor, getComputedStyle(b).color]);
  await page.locator("#email").fill(env.HF_EMAIL);
  await page.getByRole("button", { name: "Send me a sign-in link" }).tap();
  await page.getByRole("heading", { name: "Check your email" }).waitFor({ timeout });
  result.link_sent = await page.getByRole("status").innerText();
  await check(page, "link-sent");
  result.steps.push("asked for a link");

  // The link from the mail: a confirmation page that spends nothing (it opens again).
  const { path } = await ask("link");
  const first = await page.goto(`${base}${path}`, { waitUntil: "load", timeout });
  result.confirm_status = first.status();
  const again = await page.reload({ waitUntil: "load", timeout });
  result.confirm_again_status = again.status();
  await check(page, "confirm");
  await page.getByRole("button", { name: "Sign in" }).tap();
  await page.waitForURL(`${portal}/home`, { timeout });
  result.welcome = await page.locator("h1").innerText();
  result.home_requests = await texts(page, "[data-ticket] a");
  result.home_invoices = await texts(page, "[data-invoice] a");
  result.home_shows_other = (await page.content()).includes(env.HF_OTHER_SUBJECT);
  result.bar = await page.locator(".portal-bar").evaluate((bar) => [getComputedStyle(bar).backgroundColor, getComputedStyle(bar).color]);
  result.bar_logo = await page.locator(".portal-bar img.portal-logo").evaluate((img) => img.complete && img.naturalWidth > 0);
  await check(page, "home");
  result.steps.push("signed in");

  // Their request: the team's reply, never the note; their answer appears.
  await page.getByRole("link", { name: env.HF_TICKET_SUBJECT }).tap();
  await page.waitForURL(/\/tickets\/tk_/, { timeout });
  result.ticket_title = await page.locator("h1").innerText();
  result.ticket_messages = await texts(page, ".message .body");
  result.note_shown = (await page.content()).includes(env.HF_NOTE);
  await check(page, "ticket");
  await page.getByLabel("Your message").fill(env.HF_ANSWER);
  await page.getByRole("button", { name: "Send" }).tap();
  await page
    .locator(".message.inbound .body", { hasText: env.HF_ANSWER })
    .waitFor({ timeout });
  result.ticket_messages_after = await texts(page, ".message .body");
  result.ticket_status_after = await page.locator(".status").first().innerText();
  await check(page, "ticket-answered");
  result.steps.push("read and answered the request");

  // Their invoice: its PDF, then Pay.
  await page.getByRole("link", { name: "Your overview" }).tap();
  await page.waitForURL(`${portal}/home`, { timeout });
  await page.getByRole("link", { name: env.HF_INVOICE_NUMBER }).tap();
  await page.waitForURL(/\/invoices\/ivc_/, { timeout });
  const invoicePath = new URL(page.url()).pathname;
  result.invoice_title = await page.locator("h1").innerText();
  result.invoice_status = await page.locator("dd.status").innerText();
  await check(page, "invoice");
  const pdfLink = page.getByRole("link", { name: "Download the PDF" });
  const [download] = await Promise.all([
    page.waitForEvent("download", { timeout }),
    pdfLink.tap(),
  ]);
  result.pdf_filename = download.suggestedFilename();
  result.pdf_magic = readFileSync(await download.path()).subarray(0, 5).toString("latin1");
  const pdf = await page.request.get(`${base}${await pdfLink.getAttribute("href")}`);
  result.pdf_status = pdf.status();
  result.pdf_type = pdf.headers()["content-type"];
  result.steps.push("downloaded the PDF");
  await page.getByRole("button", { name: /^Pay .* online$/ }).tap();
  await page.waitForURL(/^https:\/\/checkout\.stripe\.com\//, { timeout });
  result.checkout_url = page.url();
  result.checkout_heading = await page.locator("h1").innerText();
  result.steps.push("pressed Pay, on the provider's page");

  // Paid at the provider: back to the invoice, paid.
  const { back } = await ask("paid", { checkout: result.checkout_url });
  result.back = back;
  await page.goto(`${base}${back}`, { waitUntil: "load", timeout });
  result.invoice_status_paid = await page.locator("dd.status").innerText();
  result.pay_button_after = await page.getByRole("button", { name: /^Pay / }).count();
  result.payments_after = await texts(page, "[data-payment]");
  await check(page, "invoice-paid");
  await page.goto(`${base}${invoicePath}`, { waitUntil: "load", timeout });
  result.invoice_status_reloaded = await page.locator("dd.status").innerText();
  result.steps.push("saw the invoice paid");

  // Another customer's request, typed in: the portal's 404 page, nothing of theirs.
  expected404 = `${portal}/tickets/${env.HF_OTHER_TICKET}`;
  const other = await page.goto(expected404, { waitUntil: "load", timeout });
  result.other_status = other.status();
  result.other_title = await page.locator("h1").innerText();
  result.other_shows_subject = (await page.content()).includes(env.HF_OTHER_SUBJECT);
  result.other_back = await page.getByRole("link", { name: "Back to the portal" }).getAttribute("href");
  await check(page, "not-found");
  result.steps.push("was refused another customer's request");

  // Signing out; a portal page then asks to sign in again.
  await page.goto(`${portal}/home`, { waitUntil: "load", timeout });
  await page.getByRole("button", { name: "Sign out" }).tap();
  await page.waitForURL(`${portal}?signed_out=1`, { timeout });
  result.signed_out = await page.getByRole("status").innerText();
  await check(page, "signed-out");
  await page.goto(`${base}${invoicePath}`, { waitUntil: "load", timeout });
  result.after_sign_out_url = page.url();
  result.after_sign_out_asks = await page.locator("#email").isVisible();
  result.steps.push("signed out");
}, phone);
