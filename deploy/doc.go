// Package deploy holds the artifacts operators deploy Latchkey with, and
// the tests that check them; it has no code of its own.
//
//   - Containerfile (and container/build.sh): a static, non-root image FROM
//     scratch, checked by parsing it, by inspecting the binary it ships and,
//     with podman, by building it and running it.
//   - helm/latchkey: the Helm chart, linted and rendered by the real helm
//     with several value sets, every manifest decoded strictly into the
//     Kubernetes API types.
//   - systemd/latchkey.service: a hardened unit, checked by
//     systemd-analyze verify and security.
//   - nginx, traefik, envoy: gateway configurations, tested where the
//     gateway tests live (internal/gateway).
//
// docs/operations.md describes how to run them.
package deploy
