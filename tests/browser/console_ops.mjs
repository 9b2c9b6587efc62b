// Drives the console's first-run, account, audit and API-documentation pages in a real
// headless Chromium, as a newcomer and a team member would, checking each page with axe-core
// (no serious or critical violations) and listening for any dialog (an XSS payload that ran)
// and any Content-Security-Policy report. Screenshots go to HF_SCREENSHOTS (gitignored).
//
// Two phases (HF_PHASE):
//   first-run: open the setup link HF_SETUP, make the workspace (HF_WORKSPACE_NAME, HF_SLUG)
//     and its owner (HF_EMAIL, HF_PASSWORD), land on the inbox, open the audit page from the
//     navigation (the sign-in entry, the chain verified), filter it, open /api/docs.
//   accounts: /sign-in → "Forgot your password?" → ask for a link for HF_EMAIL; open the reset
//     link HF_RESET and set HF_NEW_PASSWORD; sign in with it (HF_SLUG); sign out; open the
//     invitation HF_INVITE and join with HF_INVITEE_PASSWORD.
//   sso: /sign-in → single sign-on for HF_SLUG → the provider at HF_ISSUER (sign in there as
//     HF_EMAIL) → back to /sign-in/confirm → the account's password HF_PASSWORD → the inbox.
// Output: one JSON object on stdout, {"ok": true|false, ...}.
// The system's Chromium is used; no browser is ever downloaded.
import { audit, base, drive, result, shoot, timeout } from "./kit.mjs";

const env = process.env;

async function firstRun(page) {
  await page.goto(`${base}${env.HF_SETUP}`, { waitUntil: "load", timeout });
  await audit(page, "setup");
  await shoot(page, "setup");
  await page.getByLabel("Workspace name").fill(env.HF_WORKSPACE_NAME);
  await page.getByLabel("Workspace slug").fill(env.HF_SLUG);
  await page.getByLabel("Your email").fill(env.HF_EMAIL);
  await page.getByLabel("Password", { exact: true }).fill(env.HF_PASSWORD);
  await page.getByLabel("Password again").fill(env.HF_PASSWORD);
  await page.getByRole("button", { name: "Create the workspace" }).click();
  await page.waitForURL(`${base}/app/inbox`, { timeout });
  result.steps.push("made the workspace and landed on the inbox");
  result.workspace_shown_as_text = await page
    .locator("header.top .who")
    .innerText()
    .then((t) => t.includes(env.HF_WORKSPACE_NAME));

  await page.getByRole("link", { name: "Audit", exact: true }).click();
  await page.waitForURL(`${base}/app/audit`, { timeout });
  await page.locator("#chain", { hasText: "The chain is intact" }).waitFor({ timeout });
  result.chain_intact = true;
  const trail = await page.locator("table.list").innerText();
  result.audit_shows_sign_in = trail.includes("auth.sign_in") && trail.includes("setup_link");
  result.audit_shows_creation = trail.includes("workspace.created");
  await audit(page, "audit");
  await shoot(page, "audit");
  result.steps.push("saw the sign-in in the audit trail");

  await page.getByLabel("Action").fill("auth.sign_in");
  await page.getByRole("button", { name: "Filter" }).click();
  await page.waitForURL(/\/app\/audit\?/, { timeout });
  result.filtered_rows = await page.locator("table.list tbody tr").count();

  await page.goto(`${base}/api/docs`, { waitUntil: "load", timeout });
  await audit(page, "api-docs");
  await shoot(page, "api-docs", false);
  // The contents lead to a tag's page, with each operation in full.
  await page.getByRole("navigation", { name: "Contents" }).getByRole("link", { name: "audit", exact: true }).click();
  await page.waitForURL(`${base}/api/docs/audit`, { timeout });
  result.docs_show_audit = await page
    .locator("#op-get_api_v1_audit")
    .innerText()
    .then((t) => t.includes("List audit entries"));
  await audit(page, "api-docs-tag");
  await shoot(page, "api-docs-tag", false);
  result.steps.push("read the API documentation");
}

async function accounts(page) {
  await page.goto(`${base}/sign-in`, { waitUntil: "load", timeout });
  await page.getByRole("link", { name: "Forgot your password?" }).click();
  await page.waitForURL(`${base}/sign-in/forgot`, { timeout });
  await audit(page, "forgot");
  await page.getByLabel("Email").fill(env.HF_EMAIL);
  await page.getByRole("button", { name: "Send the link" }).click();
  await page.locator(".notice", { hasText: "is on its way" }).waitFor({ timeout });
  result.steps.push("asked for a reset link");

  await page.goto(`${base}${env.HF_RESET}`, { waitUntil: "load", timeout });
  await audit(page, "reset");
  await page.getByLabel("New password", { exact: true }).fill(env.HF_NEW_PASSWORD);
  await page.getByLabel("New password again").fill(env.HF_NEW_PASSWORD);
  await page.getByRole("button", { name: "Set the password" }).click();
  await page.waitForURL(`${base}/sign-in?done=reset`, { timeout });
  await page.locator(".notice", { hasText: "Your password is changed" }).waitFor({ timeout });
  await page.getByLabel("Workspace").fill(env.HF_SLUG);
  await page.getByLabel("Email").fill(env.HF_EMAIL);
  await page.getByLabel("Password").fill(env.HF_NEW_PASSWORD);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.waitForURL(`${base}/app/inbox`, { timeout });
  result.steps.push("reset the password and signed in with it");
  await page.getByRole("button", { name: "Sign out" }).click();
  await page.waitForURL(`${base}/sign-in`, { timeout });

  await page.goto(`${base}${env.HF_INVITE}`, { waitUntil: "load", timeout });
  await audit(page, "invite");
  await shoot(page, "invite");
  await page.getByLabel("Choose a password").fill(env.HF_INVITEE_PASSWORD);
  await page.getByLabel("Password again").fill(env.HF_INVITEE_PASSWORD);
  await page.getByRole("button", { name: "Create my account and join" }).click();
  await page.waitForURL(`${base}/app/inbox`, { timeout });
  result.invitee_signed_in = await page
    .locator("header.top .who")
    .innerText()
    .then((t) => t.includes(env.HF_INVITEE));
  result.steps.push("joined through the invitation");
}

async function singleSignOn(page) {
  await page.goto(`${base}/sign-in`, { waitUntil: "load", timeout });
  await audit(page, "sign-in-sso");
  await page.locator("#sso-workspace").fill(env.HF_SLUG);
  await page.getByRole("button", { name: "Sign in with your identity provider" }).click();
  await page.waitForURL((url) => url.href.startsWith(env.HF_ISSUER), { timeout });
  result.steps.push("handed on to the identity provider");
  await page.locator('input[name="login"]').fill(env.HF_EMAIL);
  await page.locator('input[name="password"]').fill("anything");
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.waitForURL(`${base}/sign-in/confirm`, { timeout });
  result.steps.push("back to confirm the account");
  await audit(page, "confirm");
  await shoot(page, "sso-confirm");
  await page.getByLabel("Password").fill(env.HF_PASSWORD);
  await page.getByRole("button", { name: "Continue" }).click();
  await page.waitForURL(`${base}/app/inbox`, { timeout });
  result.steps.push("signed in through single sign-on");
}

await drive(async (page) => {
  if (env.HF_PHASE === "first-run") {
    await firstRun(page);
  } else if (env.HF_PHASE === "sso") {
    await singleSignOn(page);
  } else {
    await accounts(page);
  }
});
