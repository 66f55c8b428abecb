package auth

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// cleanAgent is the User-Agent as Latchkey keeps it: at most maxAgentLen
// bytes of valid UTF-8 (a PostgreSQL text column refuses anything else)
// without control or invisible formatting characters. Any client writes
// this header, and it is shown to admins in sessions, token details and
// the audit log, in the console and in terminals: net/http lets through
// UTF-8 C1 controls such as U+009B (CSI), and right-to-left overrides that
// make "exe.txt" read as "txt.exe". Printable ASCII of a normal length,
// what every real client sends, is returned as it is, without allocating:
// this runs on every request.
func cleanAgent(s string) string {
	plain := len(s) <= maxAgentLen
	for i := 0; plain && i < len(s); i++ {
		plain = s[i] >= 0x20 && s[i] < 0x7f
	}
	if plain {
		return s
	}
	var b strings.Builder
	for _, r := range strings.ToValidUTF8(s, "\uFFFD") {
		switch {
		case r == '\t':
			r = ' '
		case unicode.IsControl(r), r != '\u200d' && unicode.Is(unicode.Cf, r):
			r = utf8.RuneError
		}
		if b.Len()+utf8.RuneLen(r) > maxAgentLen {
			break
		}
		b.WriteRune(r)
	}
	return b.String()
}
