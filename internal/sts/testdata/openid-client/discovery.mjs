// Drives a Latchkey server whose token exchange is off (PostgreSQL without a
// signing-key secret) with openid-client v6, a standard client, with no
// workaround: discovery (RFC 8414) must succeed and name only what works
// there, and introspection (RFC 7662) and revocation (RFC 7009) must then
// work through what discovery found. Prints one JSON object of results, or
// {"failed": {...}} when a step throws.
//
// Environment: LK_URL (the issuer), LK_CLIENT_SECRET (a token with the
// introspect scope), LK_PAT (a token to introspect, then revoke as a public
// client), NODE_PATH (where openid-client is installed).
import { createRequire } from 'node:module'
import path from 'node:path'

const require = createRequire(path.join(process.env.NODE_PATH || '.', 'x.js'))
const client = await import(require.resolve('openid-client'))

const issuer = new URL(process.env.LK_URL)
const opts = { algorithm: 'oauth2', execute: [client.allowInsecureRequests] }
const out = {}
try {
  const rs = await client.discovery(issuer, 'resource_server', undefined, client.ClientSecretBasic(process.env.LK_CLIENT_SECRET), opts)
  out.metadata = rs.serverMetadata()
  out.introspected = await client.tokenIntrospection(rs, process.env.LK_PAT)
  const pub = await client.discovery(issuer, 'my-cli', undefined, client.None(), opts)
  await client.tokenRevocation(pub, process.env.LK_PAT)
  out.revoked = true
  out.introspected_after = await client.tokenIntrospection(rs, process.env.LK_PAT)
} catch (e) {
  out.failed = { name: e.name, message: e.message, status: e.status, error: e.error }
}
console.log(JSON.stringify(out))
