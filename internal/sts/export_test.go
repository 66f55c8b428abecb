package sts

// EncodeIntrospection is Introspection.appendJSON, for the tests of the
// sts_test package.
func EncodeIntrospection(ans *Introspection) []byte { return ans.appendJSON(nil) }
