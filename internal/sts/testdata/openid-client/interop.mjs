// Drives Latchkey's OAuth endpoints with openid-client v6, a standard
// client, with no workaround: discovery (RFC 8414), token exchange
// (RFC 8693) and introspection (RFC 7662) with client_secret_basic, and the
// errors of each (RFC 6749 §5.2). Prints one JSON object of results.
//
// Environment: LK_URL (the issuer), LK_CLIENT_ID (any name; "_" in it
// checks RFC 6749 §2.3.1 form-encoding), LK_CLIENT_SECRET (a token with the
// introspect scope), LK_SUBJECT (a PAT of the same user), NODE_PATH (where
// openid-client is installed).
import { createRequire } from 'node:module'
import path from 'node:path'

const require = createRequire(path.join(process.env.NODE_PATH || '.', 'x.js'))
const client = await import(require.resolve('openid-client'))

const issuer = new URL(process.env.LK_URL)
const out = {}
// errorOf reads an error the way openid-client reports it: the RFC 6749
// body (ResponseBodyError), or for a 401 with WWW-Authenticate
// (WWWAuthenticateChallengeError) the challenge's parameters, and the body
// still held in its response.
const errorOf = async (e) => {
  const body = e.response && !e.response.bodyUsed ? await e.response.json().catch(() => undefined) : undefined
  const challenge = Array.isArray(e.cause) ? e.cause.find((c) => c.parameters?.error)?.parameters : undefined
  return {
    name: e.name, status: e.status,
    error: e.error ?? body?.error, error_description: e.error_description ?? body?.error_description,
    challenge_error: challenge?.error, challenge_description: challenge?.error_description,
  }
}

const config = await client.discovery(issuer, process.env.LK_CLIENT_ID, undefined,
  client.ClientSecretBasic(process.env.LK_CLIENT_SECRET), { algorithm: 'oauth2', execute: [client.allowInsecureRequests] })
out.discovered = {
  issuer: config.serverMetadata().issuer,
  token_endpoint: config.serverMetadata().token_endpoint,
  introspection_endpoint: config.serverMetadata().introspection_endpoint,
}

const exchanged = await client.genericGrantRequest(config, 'urn:ietf:params:oauth:grant-type:token-exchange', {
  subject_token: process.env.LK_SUBJECT,
  subject_token_type: 'urn:ietf:params:oauth:token-type:access_token',
  audience: 'billing-api',
})
out.exchanged = { token_type: exchanged.token_type, expires_in: exchanged.expires_in, scope: exchanged.scope, has_token: typeof exchanged.access_token === 'string' }

const jwt = await client.tokenIntrospection(config, exchanged.access_token)
out.introspected_jwt = jwt
out.introspected_pat = await client.tokenIntrospection(config, process.env.LK_SUBJECT)
out.introspected_junk = await client.tokenIntrospection(config, 'lk_pat_not-a-token')

try {
  await client.genericGrantRequest(config, 'urn:ietf:params:oauth:grant-type:token-exchange', {
    subject_token: 'lk_pat_000000000000000000000000000000000000',
    subject_token_type: 'urn:ietf:params:oauth:token-type:access_token',
  })
  out.bad_grant = 'no error'
} catch (e) { out.bad_grant = await errorOf(e) }

const wrong = await client.discovery(issuer, process.env.LK_CLIENT_ID, undefined,
  client.ClientSecretBasic('lk_pat_wrong'), { algorithm: 'oauth2', execute: [client.allowInsecureRequests] })
try {
  await client.tokenIntrospection(wrong, process.env.LK_SUBJECT)
  out.bad_client = 'no error'
} catch (e) { out.bad_client = await errorOf(e) }

console.log(JSON.stringify(out))
