package sts

import "net/http"

// ReadFormRepeated is ReadForm that also says which parameter was sent
// more than once ("" for none).
func (in *Introspector) ReadFormRepeated(w http.ResponseWriter, r *http.Request, limit int64) (form bool, token, clientSecret, repeated string, err error) {
	f, err := in.readForm(w, r, limit)
	return f.form, f.token, f.clientSecret, f.repeated, err
}
