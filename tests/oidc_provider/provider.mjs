// A real OpenID Connect provider (oidc-provider, certified) for Rollcall's single sign-on tests: loopback only.
//
// Settings come from the environment, as JSON, so each test run picks its port and redirect URIs:
//   OIDC_PORT      the port to listen on (127.0.0.1)
//   OIDC_CLIENTS   [{"client_id", "client_secret", "redirect_uris": [...]}]
//   OIDC_ACCOUNTS  {"<login>": {"email", "email_verified", "name", "hd"}}
// The sign-in form is the package's development one: any login named in OIDC_ACCOUNTS signs in as that account,
// whatever password is typed. Consent is granted at once (a first-party client), as a district's own provider does.
import Provider from 'oidc-provider';

const port = Number(process.env.OIDC_PORT);
const clients = JSON.parse(process.env.OIDC_CLIENTS || '[]');
const accounts = JSON.parse(process.env.OIDC_ACCOUNTS || '{}');
const issuer = `http://127.0.0.1:${port}`;

const configuration = {
  clients: clients.map((c) => ({
    client_id: c.client_id,
    client_secret: c.client_secret,
    redirect_uris: c.redirect_uris,
    grant_types: ['authorization_code'],
    response_types: ['code'],
  })),
  // Every client must send a PKCE challenge: a client that forgot one is refused, which the tests rely on.
  pkce: { required: () => true },
  cookies: { keys: ['rollcall-tests-only-cookie-key'] },
  claims: {
    openid: ['sub'],
    email: ['email', 'email_verified', 'hd'],
    profile: ['name'],
  },
  async findAccount(_ctx, id) {
    const account = accounts[id];
    if (!account) return undefined;
    return {
      accountId: id,
      async claims() {
        return { sub: id, ...account };
      },
    };
  },
  async loadExistingGrant(ctx) {
    const grantId = ctx.oidc.result?.consent?.grantId || ctx.oidc.session.grantIdFor(ctx.oidc.client.clientId);
    if (grantId) return ctx.oidc.provider.Grant.find(grantId);
    const grant = new ctx.oidc.provider.Grant({ clientId: ctx.oidc.client.clientId, accountId: ctx.oidc.session.accountId });
    grant.addOIDCScope('openid email profile');
    await grant.save();
    return grant;
  },
};

const provider = new Provider(issuer, configuration);

// Google and Microsoft take prompt=select_account, which Rollcall sends them; this provider, standing in for them,
// answers it as they do for a browser with no account signed in: with its sign-in form (prompt=login).
provider.use(async (ctx, next) => {
  if (ctx.path === '/auth' && ctx.query.prompt === 'select_account') {
    ctx.query = { ...ctx.query, prompt: 'login' };
  }
  await next();
});
provider.listen(port, '127.0.0.1', () => {
  console.log(`oidc-provider listening on ${issuer}`);
});
