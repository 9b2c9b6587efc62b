// Drives Holdfast's console settings in a real headless Chromium, as a person would: signs in,
// enrols an authenticator through the two-factor page (the code computed here from the key the
// page shows for typing in by hand, as an authenticator app would), reads the recovery codes,
// rotates a webhook endpoint's secret (sent to the step-up form first, then back), makes a
// custom role that hides emails and an API key of that role (shown once), and checks with that
// key that the API leaves the emails out. axe-core checks every settings page (no serious or
// critical violations). It listens for any dialog (a script that ran) and any
// Content-Security-Policy report. Screenshots go to HF_SCREENSHOTS (a gitignored folder).
//
// Input (environment): HF_BASE (the server), HF_WORKSPACE, HF_EMAIL, HF_PASSWORD,
//   HF_ENDPOINT (a webhook endpoint's id), HF_SCREENSHOTS (folder), HF_TIMEOUT_MS.
// Output: one JSON object on stdout, {"ok": true|false, ...}.
// The system's Chromium is used; no browser is ever downloaded.
import { audit, base, drive, result, shoot, timeout } from "./kit.mjs";
import { createHmac } from "node:crypto";

const password = process.env.HF_PASSWORD;
const endpoint = process.env.HF_ENDPOINT;

// RFC 6238 with SHA-1, six digits, 30-second steps: what an authenticator app computes.
function base32(text) {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  let bits = 0;
  let value = 0;
  const out = [];
  for (const c of text.replace(/[=\s]/g, "").toUpperCase()) {
    const at = alphabet.indexOf(c);
    if (at < 0) throw new Error(`not base32: ${c}`);
    value = (value << 5) | at;
    bits += 5;
    if (bits >= 8) {
      out.push((value >>> (bits - 8)) & 255);
      bits -= 8;
    }
  }
  return Buffer.from(out);
}

function totp(secret) {
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(Math.floor(Date.now() / 1000 / 30)));
  const h = createHmac("sha1", base32(secret)).update(counter).digest();
  const o = h[h.length - 1] & 15;
  const n = ((h[o] & 127) << 24) | (h[o + 1] << 16) | (h[o + 2] << 8) | h[o + 3];
  return String(n % 1000000).padStart(6, "0");
}

async function visit(page, path, name) {
  await page.goto(`${base}${path}`, { waitUntil: "load", timeout });
  await page.locator("h1").first().waitFor({ timeout });
  await audit(page, name);
}

await drive(async (page) => {

  // Sign in, coming back to the settings.
  await page.goto(`${base}/app/settings`, { waitUntil: "load", timeout });
  await page.getByLabel("Workspace").fill(process.env.HF_WORKSPACE);
  await page.getByLabel("Email").fill(process.env.HF_EMAIL);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.waitForURL(`${base}/app/settings`, { timeout });
  await audit(page, "settings");
  await shoot(page, "settings");
  result.steps.push("signed in to the settings");
  await visit(page, "/app/settings/profile", "profile");
  await visit(page, "/app/settings/sessions", "sessions");

  // Two-factor enrolment: the password, then the QR code (an image) and the key as text.
  await visit(page, "/app/settings/two-factor", "two-factor");
  await page.locator("#enrol-password").fill(password);
  await page.getByRole("button", { name: "Show the QR code" }).click();
  await page.locator("#totp-secret").waitFor({ timeout });
  result.qr_shown = await page
    .locator("img.qr")
    .evaluate((img) => img.complete && img.naturalWidth > 0 && img.src.startsWith("data:image/svg+xml;base64,"));
  result.svg_inline = (await page.locator("#content svg").count()) > 0;
  await audit(page, "two-factor-scan");
  const secret = (await page.locator("#totp-secret").innerText()).trim();
  await page.locator("#confirm-password").fill(password);
  await page.locator("#confirm-code").fill(totp(secret));
  await page.getByRole("button", { name: "Turn two-factor sign-in on" }).click();
  await page.locator("#recovery-codes").waitFor({ timeout });
  const codes = await page.locator("#recovery-codes code").allInnerTexts();
  result.recovery_codes = codes.length;
  await audit(page, "recovery-codes");
  result.steps.push("enrolled an authenticator");

  // Rotate a webhook secret: first sent to confirm (password and code), then back.
  await visit(page, "/app/settings/webhooks", "webhooks");
  await page.locator(`a[href="/app/settings/webhooks/${endpoint}"]`).click();
  await page.waitForURL(`${base}/app/settings/webhooks/${endpoint}`, { timeout });
  await audit(page, "webhook");
  await page.locator("#overlap").selectOption("0");
  await page.locator("#rotate-secret").click();
  await page.waitForURL(/\/app\/step-up\?back=/, { timeout });
  result.step_up_asked = new URL(page.url()).searchParams.get("back");
  await audit(page, "step-up");
  await page.locator("#step-up-password").fill(password);
  await page.locator("#step-up-code").fill(codes[0]);
  await page.getByRole("button", { name: "Confirm and continue" }).click();
  await page.waitForURL(`${base}/app/settings/webhooks/${endpoint}`, { timeout });
  await page.locator("#overlap").selectOption("0");
  await page.locator("#rotate-secret").click();
  await page.locator("#webhook-secret").waitFor({ timeout });
  result.rotated_secret = (await page.locator("#webhook-secret").innerText()).trim();
  result.steps.push("rotated the webhook secret after stepping up");

  // A custom role that hides emails.
  await visit(page, "/app/settings/roles", "roles");
  await page.getByRole("link", { name: "New role" }).click();
  await page.waitForURL(`${base}/app/settings/roles/new`, { timeout });
  await audit(page, "role-form");
  await page.locator("#role-name").fill("Front desk");
  await page.locator("#role-description").fill("Sees contacts, not their emails");
  await page.locator('[id="perm-contacts.read"]').check();
  await page.locator('[id="field-contacts.email"]').selectOption("hidden");
  await page.getByRole("button", { name: "Create the role" }).click();
  await page.waitForURL(`${base}/app/settings/roles?done=created`, { timeout });
  result.role_listed = await page.locator("table.list").innerText().then((t) => t.includes("Front desk"));
  result.steps.push("made a role that hides emails");

  // An API key of that role, shown once; with it, the API leaves emails out.
  await visit(page, "/app/settings/api-keys", "api-keys");
  await page.locator("#key-name").fill("Front desk script");
  await page.locator("#key-role").selectOption({ label: "Front desk (custom)" });
  await page.getByRole("button", { name: "Create the key" }).click();
  await page.locator("#new-api-key").waitFor({ timeout });
  const key = (await page.locator("#new-api-key").innerText()).trim();
  const seen = await fetch(`${base}/api/v1/contacts`, { headers: { Authorization: `Bearer ${key}` } });
  const body = await seen.json();
  result.contacts_seen = body.data ? body.data.length : -1;
  result.emails_hidden =
    seen.status === 200 && body.data.length > 0 && body.data.every((c) => c.name && !("email" in c));
  result.steps.push("a key of the role sees no emails");

  await visit(page, "/app/settings/members", "members");
  await shoot(page, "settings-members");
  for (const [path, name] of [
    ["/app/settings/inbound-hooks", "inbound-hooks"],
    ["/app/settings/widget", "widget"],
    ["/app/settings/privacy", "privacy"],
    ["/app/settings/retention", "retention"],
    ["/app/settings/modules", "modules"],
    ["/app/settings/security", "security"],
  ]) {
    await visit(page, path, name);
  }
  // The embed snippet is text: no script element came from it.
  result.snippet_as_text = await page.evaluate(async () => {
    const r = await fetch("/app/settings/widget");
    const doc = new DOMParser().parseFromString(await r.text(), "text/html");
    const pre = doc.getElementById("embed-snippet");
    return !!pre && pre.textContent.startsWith("<script") && pre.querySelector("script") === null;
  });
  await visit(page, "/app/settings/widget", "widget");
  await shoot(page, "settings-widget");
});
