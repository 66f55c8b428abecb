// Drives Latchkey's revocation endpoint (RFC 7009) with openid-client v6, a
// standard client, with no workaround: discovery finds revocation_endpoint
// (RFC 8414), and tokenRevocation revokes what the client holds, as a
// public client (no client authentication: the token is the proof) and as
// a confidential one (client_secret_basic). Prints one JSON object of
// results: "revoked" for a 200, or the error as the client reports it.
//
// Environment: LK_URL (the issuer), LK_PAT and LK_SESSION (tokens to
// revoke as a public client), LK_UNKNOWN (a well-formed token no server
// issued), LK_JWT (a JWT from token exchange), LK_CLIENT_SECRET (a live
// token, the confidential client's secret) and LK_PAT2 (revoked by that
// client), NODE_PATH (where openid-client is installed).
import { createRequire } from 'node:module'
import path from 'node:path'

const require = createRequire(path.join(process.env.NODE_PATH || '.', 'x.js'))
const client = await import(require.resolve('openid-client'))

const issuer = new URL(process.env.LK_URL)
const opts = { algorithm: 'oauth2', execute: [client.allowInsecureRequests] }
const out = {}
const errorOf = async (e) => {
  const body = e.response && !e.response.bodyUsed ? await e.response.json().catch(() => undefined) : undefined
  return { name: e.name, message: e.message, status: e.status, error: e.error ?? body?.error, error_description: e.error_description ?? body?.error_description }
}
const revoke = async (config, token, params) => {
  try {
    await client.tokenRevocation(config, token, params)
    return 'revoked'
  } catch (e) { return await errorOf(e) }
}

const pub = await client.discovery(issuer, 'my-cli', undefined, client.None(), opts)
out.discovered = {
  revocation_endpoint: pub.serverMetadata().revocation_endpoint,
  revocation_endpoint_auth_methods_supported: pub.serverMetadata().revocation_endpoint_auth_methods_supported,
}
out.pat = await revoke(pub, process.env.LK_PAT, { token_type_hint: 'access_token' })
out.pat_again = await revoke(pub, process.env.LK_PAT)
out.session = await revoke(pub, process.env.LK_SESSION, { token_type_hint: 'refresh_token' })
out.unknown = await revoke(pub, process.env.LK_UNKNOWN)
out.garbage = await revoke(pub, 'not a token at all')
out.unknown_hint = await revoke(pub, process.env.LK_UNKNOWN, { token_type_hint: 'saml_assertion' })
out.jwt = await revoke(pub, process.env.LK_JWT)

const conf = await client.discovery(issuer, 'resource_server', undefined, client.ClientSecretBasic(process.env.LK_CLIENT_SECRET), opts)
out.confidential = await revoke(conf, process.env.LK_PAT2)
const wrong = await client.discovery(issuer, 'resource_server', undefined, client.ClientSecretBasic('lk_pat_wrong'), opts)
out.bad_client = await revoke(wrong, process.env.LK_UNKNOWN)

console.log(JSON.stringify(out))
