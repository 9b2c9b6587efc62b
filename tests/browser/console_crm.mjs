// Drives the console's CRM pages in a real headless Chromium, as a person would: signs in,
// searches the contacts, opens one, erases another after confirming the password on the
// step-up page, looks at the companies, and imports a small CSV through the wizard (file,
// column mapping, dry run) until the progress bar reaches 100 % without a reload. Every page
// is checked with axe-core (no serious or critical violations); any dialog (an XSS payload
// that ran) and any Content-Security-Policy report are recorded. Screenshots of the contacts
// and a contact at desktop and phone width go to HF_SCREENSHOTS (a gitignored folder).
//
// Input (environment): HF_BASE, HF_WORKSPACE, HF_EMAIL, HF_PASSWORD, HF_SEARCH (words that
//   find the contact to open), HF_CONTACT (its name), HF_ERASE (the name of the contact to
//   erase), HF_CSV (the file to import), HF_SCREENSHOTS, HF_TIMEOUT_MS (default 20000).
// Output: one JSON object on stdout, {"ok": true|false, ...}.
// The system's Chromium is used; no browser is ever downloaded.
import { audit, base, drive, result, shoot, timeout } from "./kit.mjs";

await drive(async (page) => {

  // Sign in, coming back to the contacts.
  await page.goto(`${base}/app/contacts`, { waitUntil: "load", timeout });
  await page.getByLabel("Workspace").fill(process.env.HF_WORKSPACE);
  await page.getByLabel("Email").fill(process.env.HF_EMAIL);
  await page.getByLabel("Password").fill(process.env.HF_PASSWORD);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.waitForURL(`${base}/app/contacts`, { timeout });
  await page.locator("table.list").waitFor({ timeout });
  result.steps.push("signed in to the contacts");
  await audit(page, "contacts");
  await shoot(page, "contacts");
  result.xss_shown_as_text = await page
    .locator("table.list")
    .innerText()
    .then((t) => t.includes("<img src=x onerror=alert(1)>"));

  // Search, then open the contact found.
  await page.keyboard.press("/");
  await page.keyboard.type(process.env.HF_SEARCH, { delay: 5 });
  await page.keyboard.press("Enter");
  await page.waitForURL(/\/app\/contacts\?q=/, { timeout });
  result.found = await page.locator("[data-row]").count();
  await page.getByRole("link", { name: process.env.HF_CONTACT }).click();
  await page.waitForURL(/\/app\/contacts\/ct_/, { timeout });
  await page.locator("#consent-heading").waitFor({ timeout });
  result.contact_title = await page.locator("h1").innerText();
  result.steps.push("searched and opened a contact");
  await audit(page, "contact");
  await shoot(page, "contact");

  // Its company.
  await page.locator("dl.details a[href^='/app/companies/']").click();
  await page.waitForURL(/\/app\/companies\/co_/, { timeout });
  await audit(page, "company");
  await page.goto(`${base}/app/companies`, { waitUntil: "load", timeout });
  await audit(page, "companies");
  result.steps.push("looked at the companies");

  // Erasure: refused for want of a recent password, confirmed on the step-up page, then done.
  await page.goto(`${base}/app/contacts?q=${encodeURIComponent(process.env.HF_ERASE)}`, {
    waitUntil: "load",
    timeout,
  });
  await page.getByRole("link", { name: process.env.HF_ERASE }).click();
  await page.waitForURL(/\/app\/contacts\/ct_/, { timeout });
  const contactUrl = page.url();
  await page.getByLabel(/^Reason \(kept/).last().fill("asked by the person");
  await page.getByRole("button", { name: "Erase this contact" }).click();
  // A refused htmx action that needs the password goes straight to the step-up form.
  await page.waitForURL(/\/app\/step-up\?back=/, { timeout });
  await page.getByRole("heading", { name: "Confirm it is you" }).waitFor({ timeout });
  result.steps.push("erasure asked for the password");
  await audit(page, "step-up");
  await page.getByLabel("Password").fill(process.env.HF_PASSWORD);
  await page.getByRole("button", { name: "Confirm and continue" }).click();
  await page.waitForURL(contactUrl, { timeout });
  await page.getByLabel(/^Reason \(kept/).last().fill("asked by the person");
  await page.getByRole("button", { name: "Erase this contact" }).click();
  await page.waitForURL(/\/app\/contacts\?erased=1/, { timeout });
  result.erased_notice = await page.locator(".notice").innerText();
  result.steps.push("erased a contact after the step-up");

  // The import wizard: the file, the mapping, the dry run, the import and its progress.
  await page.goto(`${base}/app/contacts/import`, { waitUntil: "load", timeout });
  await audit(page, "import-file");
  await page.locator("#csv-file").setInputFiles({
    name: "people.csv",
    mimeType: "text/csv",
    buffer: Buffer.from(process.env.HF_CSV, "utf8"),
  });
  await page.getByRole("button", { name: "Next: map the columns" }).click();
  await page.locator("select[name='map.0']").waitFor({ timeout });
  result.mapped = await page.locator("select[name='map.1']").inputValue();
  await audit(page, "import-mapping");
  await page.getByRole("button", { name: /check the file/ }).click();
  await page.locator("#report-heading").waitFor({ timeout });
  result.would_create = await page.locator("#report-create").innerText();
  await audit(page, "import-report");
  await page.getByRole("button", { name: "Import now" }).click();
  await page.waitForURL(/\/app\/contacts\/imports\/imp_/, { timeout });
  await page.evaluate(() => {
    window.__stayed = true;
  });
  await audit(page, "import-progress");
  await page.locator("#import-bar[value='100']").waitFor({ timeout });
  await page.locator("#import-created").waitFor({ timeout });
  result.progress = await page.locator("#import-bar").getAttribute("value");
  result.import_status = await page.locator("#import-status").innerText();
  result.import_created = await page.locator("#import-created").innerText();
  result.progress_without_reload = await page.evaluate(() => window.__stayed === true);
  await audit(page, "import-done");
  result.steps.push("imported a CSV, the progress bar at 100 %");
});
