package postgres

import "testing"

func TestWithParamHandlesBothDSNForms(t *testing.T) {
	for in, want := range map[string]string{
		"postgres://u@h:5432/db?sslmode=disable":   "postgres://u@h:5432/db?search_path=lk_x&sslmode=disable",
		"postgresql://u@h/db":                      "postgresql://u@h/db?search_path=lk_x",
		"host=h user=u dbname=db sslmode=disable ": "host=h user=u dbname=db sslmode=disable search_path=lk_x",
	} {
		if got := withParam(in, "search_path", "lk_x"); got != want {
			t.Errorf("withParam(%q) = %q, want %q", in, got, want)
		}
	}
}
