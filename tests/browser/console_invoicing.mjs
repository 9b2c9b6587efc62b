// Drives the console's invoicing pages in a real headless Chromium, as an office person would:
// signs in, opens the invoices, starts a new invoice for a contact found by a search, adds a
// line and types it while the totals update without a reload (a bad quantity names its line),
// saves, issues (a checkbox confirms it: no dialog), checks the PDF preview is a PDF opened in
// a new tab, records a payment and sees the invoice paid; then the payments list, the invoicing
// settings, and an invoice's public page for the customer. Every page is checked with axe-core
// (no serious or critical violations); any dialog and any Content-Security-Policy report are
// recorded. Screenshots of the editor and the issued invoice at desktop and phone width go to
// HF_SCREENSHOTS (a gitignored folder).
//
// Input (environment): HF_BASE, HF_WORKSPACE, HF_EMAIL, HF_PASSWORD, HF_SEARCH (words that
//   find the contact to bill), HF_TOTAL (the total the typed lines make, like "200.47 EUR"),
//   HF_PUBLIC (the path of an invoice's public page), HF_SCREENSHOTS, HF_TIMEOUT_MS.
// Output: one JSON object on stdout, {"ok": true|false, ...}.
// The system's Chromium is used; no browser is ever downloaded.
import { audit, base, drive, result, shoot, timeout } from "./kit.mjs";

await drive(async (page) => {
  // Sign in, coming back to the invoices.
  await page.goto(`${base}/app/invoices`, { waitUntil: "load", timeout });
  await page.getByLabel("Workspace").fill(process.env.HF_WORKSPACE);
  await page.getByLabel("Email").fill(process.env.HF_EMAIL);
  await page.getByLabel("Password").fill(process.env.HF_PASSWORD);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.waitForURL(`${base}/app/invoices`, { timeout });
  await page.getByRole("heading", { name: "Invoices", level: 1 }).waitFor({ timeout });
  result.steps.push("signed in to the invoices");
  await audit(page, "invoices");

  // A new invoice: find the contact, one line, create the draft.
  await page.locator("nav.views").getByRole("link", { name: "New invoice" }).click();
  await page.waitForURL(/\/app\/invoices\/new/, { timeout });
  await page.getByLabel("Find the contact").fill(process.env.HF_SEARCH);
  await page.getByRole("button", { name: "Find" }).click();
  await page.waitForURL(/\/app\/invoices\/new\?q=/, { timeout });
  result.contacts_found = await page.locator("input[name='contact_id']").count();
  await audit(page, "invoice-new");
  await page.getByLabel("Description").fill("Boiler service");
  await page.getByLabel("Quantity").fill("1");
  await page.getByLabel("Unit price").fill("120.00");
  await page.getByLabel("Tax %").fill("20");
  await page.getByRole("button", { name: "Create the draft" }).click();
  await page.waitForURL(/\/app\/invoices\/ivc_/, { timeout });
  await page.locator("#totals").waitFor({ timeout });
  result.steps.push("created a draft");
  await audit(page, "editor");

  // A second line, typed: the totals follow without a reload.
  await page.evaluate(() => {
    window.__stayed = true;
  });
  await page.getByRole("button", { name: "Add a line" }).click();
  await page.locator("#line-1-description").waitFor({ timeout });
  await page.locator("#line-1-description").fill("Filters");
  await page.locator("#line-1-quantity").fill("0");
  await page.waitForFunction(
    () => {
      const error = document.querySelector("#totals .error");
      return error && error.textContent.includes("Line 2, quantity");
    },
    null,
    { timeout }
  );
  result.bad_line = await page.locator("#totals .error").innerText();
  await page.locator("#line-1-quantity").fill("3");
  await page.locator("#line-1-price").fill("19.99");
  await page.locator("#line-1-tax").fill("7.625");
  await page.locator("#line-1-discount").fill("12.5");
  const expected = process.env.HF_TOTAL;
  await page.waitForFunction(
    (want) => {
      const total = document.querySelector("#total");
      return total && total.textContent.trim() === want;
    },
    expected,
    { timeout }
  );
  result.live_total = (await page.locator("#total").innerText()).trim();
  result.totals_without_reload = await page.evaluate(() => window.__stayed === true);
  result.steps.push("typed a line, the totals followed");
  await audit(page, "editor-typed");
  await shoot(page, "invoice-editor");

  // Save, then issue (a checkbox confirms it).
  await page.getByRole("button", { name: "Save the draft" }).click();
  await page.waitForURL(/done=saved/, { timeout });
  result.saved_total = (await page.locator("#total").innerText()).trim();
  await page.getByText("Issue this invoice…").click();
  await page.getByLabel("I have checked the lines and the customer").check();
  await page.getByRole("button", { name: "Issue the invoice" }).click();
  await page.waitForURL(/done=issued/, { timeout });
  result.issued_title = await page.locator("h1").innerText();
  result.steps.push("saved and issued");
  await audit(page, "issued");
  await shoot(page, "invoice-issued");

  // The PDF preview: a link to a new tab, answering a PDF.
  const pdf = page.getByRole("link", { name: "Preview PDF" });
  result.pdf_target = await pdf.getAttribute("target");
  const href = await pdf.getAttribute("href");
  const answer = await page.request.get(`${base}${href}`);
  result.pdf_status = answer.status();
  result.pdf_type = answer.headers()["content-type"];
  result.pdf_disposition = answer.headers()["content-disposition"];
  result.steps.push("checked the PDF preview");

  // Record the payment of the balance: the invoice is paid.
  await page.locator("#pay-method").selectOption("bank_transfer");
  await page.getByLabel(/^Reference \(a cheque number/).fill("BT-2026-001");
  await page.getByRole("button", { name: "Record the payment" }).click();
  await page.waitForURL(/done=payment/, { timeout });
  result.status_after_payment = (await page.locator("#invoice-status").innerText()).trim();
  result.balance_after_payment = (await page.locator("#invoice-balance").innerText()).trim();
  result.steps.push("recorded a payment");
  await audit(page, "paid");

  // The payments, the settings, and an invoice's public page for the customer.
  await page.goto(`${base}/app/payments`, { waitUntil: "load", timeout });
  result.payments_listed = await page.locator("[data-row]").count();
  await audit(page, "payments");
  await page.goto(`${base}/app/settings/invoicing`, { waitUntil: "load", timeout });
  await audit(page, "settings-invoicing");
  await page.goto(`${base}/app/settings/payments`, { waitUntil: "load", timeout });
  await audit(page, "settings-payments");
  await page.goto(`${base}${process.env.HF_PUBLIC}`, { waitUntil: "load", timeout });
  result.public_title = await page.locator("h1").innerText();
  await audit(page, "public-invoice");
  result.steps.push("looked at the payments, the settings and the public page");
});
