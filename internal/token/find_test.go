package token_test

import (
	"bytes"
	"reflect"
	"strings"
	"testing"

	"github.com/latchkey/latchkey/internal/token"
)

const (
	pat = "lk_pat_0123456789ABCDEFGHIJKLMNOPQRST1IhAgY"
	adm = "lk_adm_UVWXYZabcdefghijklmnopqrstuvwx43GfYn"
	ses = "op_ses_yz0123456789ABCDEFGHIJKLMNOPQR4JiVrT"
	// lookalike has the right shape but a wrong checksum.
	lookalike = "lk_pat_0123456789ABCDEFGHIJKLMNOPQRST1IhAgZ"
)

func TestFindLocatesTokensInTextFiles(t *testing.T) {
	env := "# deploy settings\n" +
		"LATCHKEY_URL=https://keys.example.com\n" +
		"LATCHKEY_TOKEN=" + pat + "\n" +
		"OLD_TOKEN=\"" + lookalike + "\"\n" +
		"export CI_TOKEN='" + adm + "'\n"
	json := `{"items": [` + "\n" +
		`  {"secret": "` + ses + `"},` + "\n" +
		`  {"secret": "x` + pat + `"},` + "\n" +
		`  {"secret": "` + pat + `_v2"},` + "\n" +
		`  {"auth": "Bearer ` + adm + `", "url": "https://h/?t=` + pat + `&x=1"}` + "\n" +
		`]}`
	tests := []struct {
		name, text, prefix string
		want               []token.Found
	}{
		{".env file", env, "lk", []token.Found{
			{Token: pat, Offset: strings.Index(env, pat), Line: 3},
			{Token: adm, Offset: strings.Index(env, adm), Line: 5},
		}},
		{"JSON, any prefix", json, "", []token.Found{
			{Token: ses, Offset: strings.Index(json, ses), Line: 2},
			{Token: adm, Offset: strings.Index(json, adm), Line: 5},
			{Token: pat, Offset: strings.LastIndex(json, pat), Line: 5},
		}},
		{"JSON, other prefix only", json, "op", []token.Found{
			{Token: ses, Offset: strings.Index(json, ses), Line: 2},
		}},
		{"token is the whole text", pat, "lk", []token.Found{{Token: pat, Offset: 0, Line: 1}}},
		{"tokens side by side", pat + "," + pat + "\r\n" + adm, "", []token.Found{
			{Token: pat, Offset: 0, Line: 1},
			{Token: pat, Offset: len(pat) + 1, Line: 1},
			{Token: adm, Offset: 2*len(pat) + 3, Line: 2},
		}},
		{"only lookalikes", lookalike + " " + strings.ToUpper(pat) + " " + pat[:len(pat)-1], "", nil},
		{"glued to word characters", "a" + pat + " " + pat + "0 _" + pat + " " + pat + "_", "", nil},
		{"invalid prefix finds nothing", pat, "L_K", nil},
		{"empty text", "", "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := token.Find([]byte(tt.text), tt.prefix)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Find = %+v\nwant   %+v", got, tt.want)
			}
		})
	}
}

func TestFindCopiesTokensOutOfTheText(t *testing.T) {
	text := []byte("t=" + pat)
	found := token.Find(text, "lk")
	copy(text, bytes.Repeat([]byte("x"), len(text)))
	if len(found) != 1 || found[0].Token != pat {
		t.Fatalf("Find result changed when the text was overwritten: %+v", found)
	}
}
