// A real OpenID Connect provider (panva's `oidc-provider`) for Holdfast's integration tests.
//
// Test-only. Binds 127.0.0.1 alone; every secret and key lives in memory and dies with the
// process. Driven by crates/holdfast-testkit/src/oidc.rs, which reads the one line
// `LISTENING <port>` this prints on stdout; everything else goes to stderr.
//
// Environment:
//   PORT            port to bind on 127.0.0.1 (0 or unset: any free port)
//   HF_OIDC_CLIENTS JSON array of {client_id, client_secret, redirect_uris}
//   HF_OIDC_ALG     RS256 (default) or ES256: the ID token signing algorithm and key type
//
// Accounts: any login name is accepted and the password is ignored. The login name is the
// email address; `unverified:<email>` signs in with email_verified = false. The subject is
// derived from the email alone, so it is stable across restarts.
//
// Routes added next to the provider's own:
//   GET  /interaction/:uid        the sign-in page (an HTML form)
//   POST /interaction/:uid/login  the form's target (fields `login`, `password`)
//   GET  /interaction/:uid/abort  gives up: the client receives error=access_denied
//   GET  /__stats                 {"discovery": n, "jwks": n, "token": n, "authorize": n}

import * as crypto from 'node:crypto';
import * as http from 'node:http';

// oidc-provider prints its notices with console.info; stdout is reserved for LISTENING.
const toStderr = (...args) => console.error(...args);
console.log = toStderr;
console.info = toStderr;
console.debug = toStderr;

const { default: Provider } = await import('oidc-provider');

function fail(message) {
  console.error(`provider.mjs: ${message}`);
  process.exit(2);
}

const port = Number.parseInt(process.env.PORT ?? '0', 10);
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  fail(`PORT must be a port number, got ${JSON.stringify(process.env.PORT)}`);
}

const alg = (process.env.HF_OIDC_ALG ?? 'RS256').toUpperCase();
if (alg !== 'RS256' && alg !== 'ES256') {
  fail(`HF_OIDC_ALG must be RS256 or ES256, got ${JSON.stringify(process.env.HF_OIDC_ALG)}`);
}

let clientSpecs;
try {
  clientSpecs = JSON.parse(process.env.HF_OIDC_CLIENTS ?? '[]');
} catch (err) {
  fail(`HF_OIDC_CLIENTS is not JSON: ${err.message}`);
}
if (!Array.isArray(clientSpecs)) {
  fail('HF_OIDC_CLIENTS must be a JSON array');
}

const clients = clientSpecs.map((spec) => ({
  client_id: String(spec.client_id),
  client_secret: String(spec.client_secret),
  redirect_uris: spec.redirect_uris.map(String),
  response_types: ['code'],
  grant_types: ['authorization_code'],
  token_endpoint_auth_method: 'client_secret_basic',
  id_token_signed_response_alg: alg,
}));

// A fresh signing key at every start: a restart on the same port is a key rotation.
function freshSigningKey() {
  const { privateKey } = alg === 'ES256'
    ? crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' })
    : crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
  const jwk = privateKey.export({ format: 'jwk' });
  return {
    ...jwk, alg, use: 'sig', kid: `hf-${crypto.randomBytes(8).toString('hex')}`,
  };
}

// sub -> { email, email_verified }, filled in at sign-in. The sub depends on the email only;
// the verified flag is whatever the latest sign-in with that email said.
const accounts = new Map();

function accountFromLogin(login) {
  const raw = String(login ?? '').trim();
  const unverified = raw.startsWith('unverified:');
  const email = unverified ? raw.slice('unverified:'.length) : raw;
  const digest = crypto.createHash('sha256').update(email).digest('hex');
  return { sub: `sub-${digest.slice(0, 16)}`, email, email_verified: !unverified };
}

const stats = {
  discovery: 0, jwks: 0, token: 0, authorize: 0,
};

const routes = {
  authorization: '/auth',
  token: '/token',
  jwks: '/jwks',
  userinfo: '/me',
};

function escapeHtml(value) {
  return String(value).replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);
}

function page(title, body) {
  return `<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title>${escapeHtml(title)}</title></head>
<body>
${body}
</body>
</html>
`;
}

function loginPage(uid, clientId, hint) {
  return page('Sign in', `<h1>Sign in to ${escapeHtml(clientId)}</h1>
<form method="post" action="/interaction/${escapeHtml(uid)}/login" autocomplete="off">
  <label>Email <input type="text" name="login" value="${escapeHtml(hint ?? '')}" autofocus></label>
  <label>Password <input type="password" name="password" value=""></label>
  <button type="submit">Sign in</button>
</form>
<p><a href="/interaction/${escapeHtml(uid)}/abort">Cancel</a></p>`);
}

async function readForm(req, limit = 64 * 1024) {
  let size = 0;
  const chunks = [];
  for await (const chunk of req) {
    size += chunk.length;
    if (size > limit) {
      throw Object.assign(new Error('request body too large'), { status: 413 });
    }
    chunks.push(chunk);
  }
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

// Everything the request asks for is granted, so there is never a consent screen.
async function grantEverythingRequested(ctx) {
  const { oidc } = ctx;
  const { Grant } = oidc.provider;
  const accountId = oidc.account.accountId;
  const clientId = oidc.client.clientId;

  const grantId = oidc.result?.consent?.grantId || oidc.session.grantIdFor(clientId);
  let grant = grantId ? await Grant.find(grantId) : undefined;
  if (!grant || grant.accountId !== accountId || grant.clientId !== clientId) {
    grant = new Grant({ accountId, clientId });
  }
  grant.addOIDCScope(oidc.requestParamOIDCScopes);
  const claims = [...oidc.requestParamClaims];
  if (claims.length) {
    grant.addOIDCClaims(claims);
  }
  await grant.save();
  return grant;
}

const configuration = {
  clients,
  jwks: { keys: [freshSigningKey()] },
  routes,
  scopes: ['openid', 'email', 'profile'],
  claims: {
    openid: ['sub'],
    email: ['email', 'email_verified'],
    profile: ['name'],
  },
  // Put the scope-derived claims (email, email_verified) in the ID token itself, even though
  // the code flow also issues an access token for the userinfo endpoint.
  conformIdTokenClaims: false,
  // Holdfast always sends an S256 challenge; demanding one catches a client that stops.
  pkce: { required: () => true },
  // Plain http on 127.0.0.1: the cookies must not be Secure (they are not, since the request
  // is not https), and they are signed with a per-process key.
  cookies: {
    keys: [crypto.randomBytes(32).toString('base64url')],
    long: { httpOnly: true, sameSite: 'lax', signed: true },
    short: { httpOnly: true, sameSite: 'lax', signed: true },
  },
  features: {
    devInteractions: { enabled: false },
    rpInitiatedLogout: { enabled: false },
  },
  interactions: {
    url: (_ctx, interaction) => `/interaction/${interaction.uid}`,
  },
  loadExistingGrant: grantEverythingRequested,
  async findAccount(_ctx, sub) {
    const account = accounts.get(sub);
    if (!account) {
      return undefined;
    }
    return {
      accountId: sub,
      async claims() {
        return {
          sub,
          email: account.email,
          email_verified: account.email_verified,
          name: account.email,
        };
      },
    };
  },
  async renderError(ctx, out) {
    ctx.type = 'html';
    const rows = Object.entries(out)
      .map(([key, value]) => `<dt>${escapeHtml(key)}</dt><dd>${escapeHtml(value)}</dd>`)
      .join('\n');
    ctx.body = page('Error', `<h1>Sign-in error</h1>\n<dl>\n${rows}\n</dl>`);
  },
  clientBasedCORS: () => false,
  ttl: {
    AccessToken: 3600,
    AuthorizationCode: 600,
    IdToken: 3600,
    Interaction: 3600,
    Session: 86400,
    Grant: 86400,
  },
};

// Bind first: the issuer has to name the port, and PORT may be 0.
const server = http.createServer();
server.on('error', (err) => fail(`cannot listen on 127.0.0.1:${port}: ${err.message}`));
await new Promise((resolve) => server.listen(port, '127.0.0.1', resolve));
const boundPort = server.address().port;
const issuer = `http://127.0.0.1:${boundPort}`;

const provider = new Provider(issuer, configuration);
provider.on('server_error', (_ctx, err) => console.error('oidc-provider server_error:', err));

const interactionPath = /^\/interaction\/([A-Za-z0-9_-]+)(\/login|\/abort)?$/;

provider.use(async (ctx, next) => {
  const { method, path } = ctx;

  if (path === '/.well-known/openid-configuration') {
    stats.discovery += 1;
  } else if (path === routes.jwks) {
    stats.jwks += 1;
  } else if (path === routes.token) {
    stats.token += 1;
  } else if (path === routes.authorization) {
    stats.authorize += 1;
  }

  if (path === '/__stats' && method === 'GET') {
    ctx.set('Cache-Control', 'no-store');
    ctx.body = { ...stats };
    return;
  }

  const match = interactionPath.exec(path);
  if (!match) {
    await next();
    return;
  }
  ctx.set('Cache-Control', 'no-store');
  const action = match[2] ?? '';

  let details;
  try {
    details = await provider.interactionDetails(ctx.req, ctx.res);
  } catch (err) {
    ctx.status = 400;
    ctx.type = 'html';
    ctx.body = page('Error', `<h1>Sign-in error</h1><p>${escapeHtml(err.message)}</p>`);
    return;
  }
  if (details.uid !== match[1]) {
    ctx.status = 400;
    ctx.type = 'html';
    ctx.body = page('Error', '<h1>Sign-in error</h1><p>interaction mismatch</p>');
    return;
  }

  const finish = async (result, merge) => {
    const returnTo = await provider.interactionResult(ctx.req, ctx.res, result, {
      mergeWithLastSubmission: merge,
    });
    ctx.status = 303;
    ctx.redirect(returnTo);
  };

  if (action === '/abort' && method === 'GET') {
    await finish({ error: 'access_denied', error_description: 'End-User aborted interaction' }, false);
    return;
  }

  if (action === '' && method === 'GET') {
    if (details.prompt.name === 'login') {
      ctx.type = 'html';
      ctx.body = loginPage(details.uid, details.params.client_id, details.params.login_hint);
      return;
    }
    // loadExistingGrant grants everything, so this is a fallback only.
    if (details.prompt.name === 'consent') {
      const { Grant } = provider;
      const grant = details.grantId
        ? await Grant.find(details.grantId)
        : new Grant({ accountId: details.session.accountId, clientId: details.params.client_id });
      const missing = details.prompt.details;
      if (missing.missingOIDCScope) grant.addOIDCScope(missing.missingOIDCScope.join(' '));
      if (missing.missingOIDCClaims) grant.addOIDCClaims(missing.missingOIDCClaims);
      await finish({ consent: { grantId: await grant.save() } }, true);
      return;
    }
    ctx.throw(501, `prompt ${details.prompt.name} is not implemented`);
  }

  if (action === '/login' && method === 'POST') {
    if (details.prompt.name !== 'login') {
      ctx.throw(400, 'this interaction is not asking for a login');
    }
    const form = await readForm(ctx.req);
    const login = form.get('login') ?? '';
    const account = accountFromLogin(login);
    if (!account.email) {
      ctx.type = 'html';
      ctx.status = 400;
      ctx.body = loginPage(details.uid, details.params.client_id, login);
      return;
    }
    accounts.set(account.sub, { email: account.email, email_verified: account.email_verified });
    await finish({ login: { accountId: account.sub } }, false);
    return;
  }

  ctx.throw(405, 'method not allowed');
});

server.on('request', provider.callback());
process.stdout.write(`LISTENING ${boundPort}\n`);

const shutdown = () => {
  server.close();
  server.closeAllConnections();
  process.exit(0);
};
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);
