// Drives the console's field-service pages in a real headless Chromium, as the people who use
// them would: a technician on a phone (390 px wide) signs in, finds the day's job on their
// board, opens it, taps "On my way", ticks the checklist, records a material, adds a note for
// the customer and uploads a photo; the dispatcher, on a desktop, looks at the board and books
// a job through the form. The customer's public job page is checked too. Every page is
// checked with axe-core (no serious or critical violations); any dialog (an XSS payload that
// ran) and any Content-Security-Policy report are recorded. Screenshots go to HF_SCREENSHOTS.
//
// Input (environment): HF_BASE, HF_WORKSPACE, HF_TECH_EMAIL, HF_OWNER_EMAIL, HF_PASSWORD (the
//   technician's), HF_OWNER_PASSWORD, HF_DAY (the board's day), HF_JOB (the job's title),
//   HF_CONTACT_EMAIL (the customer to book for), HF_PUBLIC (a public job page's path),
//   HF_PHOTO (a PNG file's path), HF_SCREENSHOTS, HF_TIMEOUT_MS (default 20000).
// Output: one JSON object on stdout, {"ok": true|false, ...}.
// The system's Chromium is used; no browser is ever downloaded.
import { audit, base, drive, result, shoot, timeout } from "./kit.mjs";

async function signIn(page, email, password, next) {
  await page.goto(`${base}${next}`, { waitUntil: "load", timeout });
  await page.getByLabel("Workspace").fill(process.env.HF_WORKSPACE);
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.waitForURL((url) => url.pathname === next, { timeout });
}

await drive(async (page, context) => {
  const day = process.env.HF_DAY;

  // The technician, on a phone.
  await page.setViewportSize({ width: 390, height: 844 });
  await signIn(page, process.env.HF_TECH_EMAIL, process.env.HF_PASSWORD, "/app/jobs");
  await page.goto(`${base}/app/jobs?day=${day}`, { waitUntil: "load", timeout });
  await page.locator(".board").waitFor({ timeout });
  result.tech_heading = await page.locator("h1").innerText();
  await audit(page, "tech-board");
  await page.getByRole("link", { name: process.env.HF_JOB }).click();
  await page.waitForURL(/\/app\/jobs\/job_/, { timeout });
  await audit(page, "job");
  await shoot(page, "job-before");
  result.steps.push("the technician opened the day's job on a phone");

  await page.getByRole("button", { name: "On my way" }).click();
  await page.locator("#job-status", { hasText: "On the way" }).waitFor({ timeout });
  result.status_after_tap = await page.locator("#job-status").innerText();
  await page.getByRole("button", { name: /Shut off water/ }).click();
  await page.locator("li.ticked", { hasText: "Shut off water" }).waitFor({ timeout });
  result.ticked = await page.locator("li.ticked").count();
  await page.getByLabel("Kind").selectOption("material");
  await page.getByLabel("What", { exact: true }).fill("Copper pipe 15 mm");
  await page.getByLabel("Quantity").fill("2.5");
  await page.getByRole("button", { name: "Add", exact: true }).click();
  await page.locator("table.list", { hasText: "Copper pipe 15 mm" }).waitFor({ timeout });
  await page.getByLabel("Note", { exact: true }).fill("<img src=x onerror=alert(1)> Parts ordered");
  await page.getByLabel("Also the customer (on their link)").check();
  await page.getByRole("button", { name: "Add the note" }).click();
  await page.locator(".notes .body", { hasText: "Parts ordered" }).waitFor({ timeout });
  result.note_as_text = await page
    .locator(".notes .body")
    .first()
    .innerText()
    .then((t) => t.includes("<img src=x onerror=alert(1)>"));
  if (process.env.HF_PHOTO) {
    await page.locator("#photo-file").setInputFiles(process.env.HF_PHOTO);
    await page.getByRole("button", { name: "Upload" }).click();
    await page.locator(".photos img").first().waitFor({ timeout });
    result.photo_loaded = await page
      .locator(".photos img")
      .first()
      .evaluate((img) => img.complete && img.naturalWidth > 0);
  }
  await audit(page, "job-worked");
  await shoot(page, "job-worked");
  result.steps.push("on the way, ticked, material, note, photo");

  // The dispatcher, on a desktop, in a browser of their own.
  const desk = await context.browser().newContext({ viewport: { width: 1280, height: 800 } });
  const office = await desk.newPage();
  office.on("dialog", async (d) => {
    result.dialogs.push(d.message());
    await d.dismiss();
  });
  office.on("console", (m) => {
    const text = `${m.type()}: ${m.text()}`.slice(0, 300);
    if (/Content Security Policy/i.test(text)) result.csp.push(text);
  });
  await signIn(office, process.env.HF_OWNER_EMAIL, process.env.HF_OWNER_PASSWORD, "/app/inbox");
  await office.goto(`${base}/app/jobs?day=${day}`, { waitUntil: "load", timeout });
  await office.locator(".board").waitFor({ timeout });
  result.lanes = await office.locator("section.lane").count();
  result.overlap_marked = await office.locator(".warn", { hasText: "Overlaps another job" }).count();
  await audit(office, "board");
  await shoot(office, "board");
  await office.getByRole("link", { name: "Book a job" }).click();
  await office.waitForURL(/\/app\/jobs\/new/, { timeout });
  await audit(office, "book");
  await office.getByLabel("Customer (contact id or email)").fill(process.env.HF_CONTACT_EMAIL);
  await office.getByLabel("What is to be done").fill("Annual gas safety check");
  await office.getByLabel("From", { exact: true }).fill(`${day}T14:00`);
  await office.getByLabel("To", { exact: true }).fill(`${day}T15:00`);
  await office.getByRole("button", { name: "Book the job" }).click();
  await office.waitForURL(/\/app\/jobs\/job_/, { timeout });
  result.booked_title = await office.locator("h1").innerText();
  result.steps.push("the dispatcher saw the board and booked a job");

  // The customer's page.
  await office.goto(`${base}${process.env.HF_PUBLIC}`, { waitUntil: "load", timeout });
  result.public_status = await office.locator(".status").innerText();
  await audit(office, "public-job");
  await shoot(office, "public-job");
  await desk.close();
});
