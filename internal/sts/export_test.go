package sts

import "net/http"

// EncodeIntrospection is Introspection.appendJSON, for the tests of the
// sts_test package.
func EncodeIntrospection(ans *Introspection) []byte { return ans.appendJSON(nil) }

// ReadForm is readForm, for the tests of the sts_test package: what the
// handler reads of r's form body of at most limit bytes.
func (in *Introspector) ReadForm(w http.ResponseWriter, r *http.Request, limit int64) (form bool, token, clientSecret string, err error) {
	f, err := in.readForm(w, r, limit)
	return f.form, f.token, f.clientSecret, err
}

// MaxFormBytes is the most a form body may hold.
const MaxFormBytes = maxFormBytes
