// Drives Latchkey's device flow (RFC 8628) with openid-client v6 as a
// client that polls faster than the interval it was given: it must be told
// slow_down, slow down, and then get its token once the code is approved.
//
// Prints one JSON line per event on stdout: {"user_code"} once the code is
// issued, {"poll": <error or "token">} for each answer of the token
// endpoint, and finally {"result": {...}} or {"failed": {...}}.
//
// Environment: LK_URL (the issuer), LK_INTERVAL (the polling interval to
// start with, in seconds), LK_TIMEOUT (seconds before giving up),
// NODE_PATH (where openid-client is installed).
import { createRequire } from 'node:module'
import path from 'node:path'

const require = createRequire(path.join(process.env.NODE_PATH || '.', 'x.js'))
const client = await import(require.resolve('openid-client'))
const say = (o) => process.stdout.write(JSON.stringify(o) + '\n')

const config = await client.discovery(new URL(process.env.LK_URL), 'latchkey-cli', undefined, client.None(),
  { algorithm: 'oauth2', execute: [client.allowInsecureRequests] })
// Report each answer of the token endpoint, as the library sees it.
config[client.customFetch] = async (url, options) => {
  const resp = await fetch(url, options)
  if (new URL(url).pathname === '/oauth2/token') {
    const body = await resp.clone().json().catch(() => ({}))
    say({ poll: body.error ?? (body.access_token ? 'token' : 'unknown'), status: resp.status, retry_after: resp.headers.get('retry-after') })
  }
  return resp
}
try {
  const auth = await client.initiateDeviceAuthorization(config, {})
  say({ user_code: auth.user_code, interval: auth.interval })
  const tok = await client.pollDeviceAuthorizationGrant(config, { ...auth, interval: Number(process.env.LK_INTERVAL) }, undefined,
    { signal: AbortSignal.timeout(Number(process.env.LK_TIMEOUT) * 1000) })
  say({ result: { token_type: tok.token_type, has_token: typeof tok.access_token === 'string' } })
} catch (e) {
  say({ failed: { name: e.name, message: e.message, error: e.error, status: e.status } })
}
