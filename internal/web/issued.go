package web

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net/http"
	"strings"
)

// A new secret reaches its page by post/redirect/get, so reloading "Token
// created" never sends the form again: the POST that makes the token puts
// the secret in a short-lived cookie scoped to /tokens/{id}/issued, sealed
// (AES-GCM) under a key derived from the visitor's session secret, and
// redirects there; the GET opens it, clears the cookie and shows the secret
// once. A reload finds no cookie and says the secret was already shown.
// Nothing is kept on the server, so any replica can serve the GET, and the
// cookie is useless without the session it was sealed for. /cli-auth hands
// its new session token over the same way, to /cli-auth/issued.

const issuedCookie = "latchkey_issued"

// issuedPath is the page that shows token id's new secret once.
func issuedPath(id string) string { return "/tokens/" + id + "/issued" }

func (h *Handler) issuedAEAD(r *http.Request) (cipher.AEAD, error) {
	sess := h.sessionSecretOf(r)
	if sess == "" {
		return nil, errors.New("no session")
	}
	key := sha256.Sum256([]byte("latchkey console: new secret hand-over\x00" + sess))
	block, err := aes.NewCipher(key[:])
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

// handOver seals secret for the issued page of token id and redirects
// there. regenerated says which heading the page shows.
func (h *Handler) handOver(w http.ResponseWriter, r *http.Request, id, secret string, regenerated bool) error {
	flag := "c"
	if regenerated {
		flag = "r"
	}
	return h.sealAndRedirect(w, r, issuedPath(id), id, flag+secret)
}

// takeHandOver opens and clears the sealed secret of token id, if any.
func (h *Handler) takeHandOver(w http.ResponseWriter, r *http.Request, id string) (secret string, regenerated, ok bool) {
	s, ok := h.unseal(w, r, issuedPath(id), id)
	if !ok || len(s) < 2 {
		return "", false, false
	}
	return s[1:], strings.HasPrefix(s, "r"), true
}

// sealAndRedirect puts payload in the hand-over cookie of the page at path
// (a console path, without the base path), sealed with aad, which the page
// must name again to open it, and redirects there.
func (h *Handler) sealAndRedirect(w http.ResponseWriter, r *http.Request, path, aad, payload string) error {
	aead, err := h.issuedAEAD(r)
	if err != nil {
		return err
	}
	nonce := make([]byte, aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return err
	}
	sealed := aead.Seal(nonce, nonce, []byte(payload), []byte(aad))
	http.SetCookie(w, &http.Cookie{
		Name: issuedCookie, Value: base64.RawURLEncoding.EncodeToString(sealed),
		Path: basePath(r) + path, MaxAge: 300,
		HttpOnly: true, Secure: h.overHTTPS(r), SameSite: http.SameSiteStrictMode,
	})
	seeOther(w, r, path)
	return nil
}

// unseal opens and clears the hand-over cookie of the page at path, if
// any: whatever it held is gone after this, so a reload finds nothing.
func (h *Handler) unseal(w http.ResponseWriter, r *http.Request, path, aad string) (payload string, ok bool) {
	c, err := r.Cookie(issuedCookie)
	if err != nil {
		return "", false
	}
	http.SetCookie(w, &http.Cookie{
		Name: issuedCookie, Value: "", Path: basePath(r) + path, MaxAge: -1,
		HttpOnly: true, Secure: h.overHTTPS(r), SameSite: http.SameSiteStrictMode,
	})
	raw, err := base64.RawURLEncoding.DecodeString(c.Value)
	aead, aerr := h.issuedAEAD(r)
	if err != nil || aerr != nil || len(raw) < aead.NonceSize() {
		return "", false
	}
	plain, err := aead.Open(nil, raw[:aead.NonceSize()], raw[aead.NonceSize():], []byte(aad))
	if err != nil {
		return "", false
	}
	return string(plain), true
}

// showIssued is GET /tokens/{id}/issued: the new secret, once.
func (h *Handler) showIssued(w http.ResponseWriter, r *http.Request, v *visit) {
	id := r.PathValue("id")
	t, err := h.d.Services.Tokens.Get(r.Context(), v.actor, id)
	if err != nil {
		h.fail(w, r, v, err)
		return
	}
	secret, regenerated, ok := h.takeHandOver(w, r, id)
	if !ok {
		seeOther(w, r, "/tokens/"+id+"?msg=shown")
		return
	}
	owner, err := h.tokenOwner(r.Context(), v, t.UserID)
	if err != nil {
		h.fail(w, r, v, err)
		return
	}
	title := "Token created"
	if regenerated {
		title = "Token regenerated"
	}
	h.render(w, r, v, http.StatusOK, "token_issued", title, &issuedData{
		Token: h.row(r.Context(), t, owner.Username), Secret: secret, Regenerated: regenerated,
		APIURL: h.publicURL(r) + "/api/v1/me",
	})
}
