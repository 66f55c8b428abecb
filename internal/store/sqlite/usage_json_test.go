package sqlite

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/store"
)

// hostileText is text a client controls (its User-Agent above all) or a
// stored value holds, each needing something of the encoder: escapes,
// HTML-safe escapes, U+FFFD for invalid UTF-8, U+2028 and U+2029, or none.
var hostileText = []string{
	"", "curl/8.5.0", "10.0.0.1", "2001:db8::1", "2031-03-04",
	"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36",
	`agent "quoted"`, `back\slash`, `\"`, `"`, `\`, "line\nbreak", "\r\n\t\b\f", "\x00\x01\x1f\x7f",
	"</script><script>alert(1)</script>", "a&b<c>d", "\xff", "ok\xc3", "\xed\xa0\x80", "caf\u00e9",
	"\U0001F600 emoji agent", "\u2028\u2029", "a\u2028b", "\ufffd", "\\u003c", `["10.0.0.1"]`,
}

// journalShapes is how many shapes journalCase builds.
const journalShapes = 64

// journalCase builds a journaled use of a shape from a few values: each
// bit of shape says whether an optional field is present or left out, the
// short forms and the lists and maps they stand for.
func journalCase(shape uint8, id, ip, agent, day string, at, n int64) journalArg {
	j := journalUse{IP: ip, Agent: agent}
	if shape&1 != 0 {
		j.At = &at
	}
	if shape&2 != 0 {
		j.IPs = []string{ip, agent, day}
	}
	if shape&4 != 0 {
		j.Counts = map[string]int64{day: n, ip: at, agent: -n}
	}
	if shape&8 != 0 {
		j.New = []journalAddress{{IP: ip, Agent: agent, At: at}, {IP: agent, At: n}}
	}
	if shape&16 != 0 {
		j.Same = sameIPs | sameNew
	}
	if shape&32 != 0 {
		j.N = n
	}
	return journalArg{ID: id, Use: j}
}

// journalCases is a use of every shape journalCase builds.
func journalCases(id, ip, agent, day string, at, n int64) []journalArg {
	var out []journalArg
	for shape := range uint8(journalShapes) {
		out = append(out, journalCase(shape, id, ip, agent, day, at, n))
	}
	return out
}

// TestUsageEncodersWriteWhatEncodingJSONWrites pins every encoder of the
// usage pipeline to json.Marshal, byte for byte, on text of every kind.
func TestUsageEncodersWriteWhatEncodingJSONWrites(t *testing.T) {
	for i, s := range hostileText {
		t.Run(fmt.Sprintf("%d:%q", i, s), func(t *testing.T) {
			rows := journalCases(s, hostileText[(i+1)%len(hostileText)], s, s, 1930435199999999, int64(i)-3)
			checkEncoders(t, rows, s, hostileText[(i+1)%len(hostileText)], s, s, 1930435199999999, int64(i)-3)
		})
	}
	t.Run("empty and nil", func(t *testing.T) {
		checkEncoded(t, []journalArg{}, appendJournalArgs(nil, []journalArg{}))
		checkEncoded(t, []journalArg(nil), appendJournalArgs(nil, nil))
		checkEncoded(t, []lastUseArg(nil), appendLastUseArgs(nil, nil))
		checkEncoded(t, []countArg(nil), appendCountArgs(nil, nil))
		checkEncoded(t, []int64(nil), appendJSONInts(nil, nil))
		checkEncoded(t, []string(nil), appendJSONStrings(nil, nil))
		checkEncoded(t, []string{}, appendJSONStrings(nil, []string{}))
		checkEncoded(t, map[string]int64(nil), appendJSONCounts(nil, nil))
		checkEncoded(t, map[string]int64{}, appendJSONCounts(nil, map[string]int64{}))
	})
	t.Run("counts of many days", func(t *testing.T) {
		m := map[string]int64{}
		for d := range 40 {
			m[time.Date(2031, 3, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, -d).Format(time.DateOnly)] = int64(d)
		}
		checkEncoded(t, m, appendJSONCounts(nil, m))
	})
}

// checkEncoders compares each encoder with json.Marshal on rows and on
// values built from the other arguments, and the decoder with
// json.Unmarshal on what json.Marshal writes of each journaled use.
func checkEncoders(t *testing.T, rows []journalArg, id, ip, agent, day string, at, n int64) {
	t.Helper()
	prefix := []byte("prefix") // the encoders append, leaving dst alone
	got := appendJournalArgs(prefix, rows)
	if !bytes.HasPrefix(got, prefix) {
		t.Fatalf("appendJournalArgs changed dst: %q", got)
	}
	checkEncoded(t, rows, got[len(prefix):])
	checkEncoded(t, []lastUseArg{{ID: id, At: at, IP: ip, Agent: agent, Recent: encodeList([]string{ip, agent}), Day: day,
		DayCount: n}, {}}, appendLastUseArgs(nil, []lastUseArg{{ID: id, At: at, IP: ip, Agent: agent,
		Recent: encodeList([]string{ip, agent}), Day: day, DayCount: n}, {}}))
	checkEncoded(t, []countArg{{ID: id, Day: day, N: n}, {}}, appendCountArgs(nil, []countArg{{ID: id, Day: day, N: n}, {}}))
	checkEncoded(t, []int64{at, n, 0, -1}, appendJSONInts(nil, []int64{at, n, 0, -1}))
	checkEncoded(t, []string{id, ip, agent, day}, appendJSONStrings(nil, []string{id, ip, agent, day}))
	var d journalDecoder
	for _, r := range rows {
		b, err := json.Marshal(r.Use)
		if err != nil {
			t.Fatal(err)
		}
		checkDecoded(t, &d, b)
	}
}

func checkEncoded(t *testing.T, v any, got []byte) {
	t.Helper()
	want, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("encoded %#v as\n%s\nencoding/json writes\n%s", v, got, want)
	}
}

// checkDecoded compares d.decode with json.Unmarshal into a zero
// journalUse: both fail, or both read the same use. It also checks that
// the use read shares no memory with b, which the fold reuses for the
// next row.
func checkDecoded(t *testing.T, d *journalDecoder, b []byte) {
	t.Helper()
	var want journalUse
	wantErr := json.Unmarshal(b, &want)
	row := bytes.Clone(b)
	var got journalUse
	gotErr := d.decode(row, &got)
	if (gotErr != nil) != (wantErr != nil) {
		t.Fatalf("decode(%q) error = %v, encoding/json: %v", b, gotErr, wantErr)
	}
	if gotErr != nil {
		return
	}
	clear(row)
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("decode(%q) =\n%s\nencoding/json reads\n%s", b, dumpUse(got), dumpUse(want))
	}
}

func dumpUse(j journalUse) string {
	at := "nil"
	if j.At != nil {
		at = fmt.Sprint(*j.At)
	}
	return fmt.Sprintf("At=%s IP=%q Agent=%q IPs=%#v Counts=%#v New=%#v Same=%d N=%d",
		at, j.IP, j.Agent, j.IPs, j.Counts, j.New, j.Same, j.N)
}

// TestJournalDecoderReadsWhatEncodingJSONReads pins the decoder to
// json.Unmarshal on rows it reads itself and on rows it must leave to
// encoding/json: rows of earlier versions, escapes, numbers of other
// forms or out of range, keys of another case or unknown, duplicate keys,
// whitespace, nulls and malformed JSON.
func TestJournalDecoderReadsWhatEncodingJSONReads(t *testing.T) {
	var d journalDecoder
	for _, row := range journalRowCorpus {
		t.Run(row, func(t *testing.T) { checkDecoded(t, &d, []byte(row)) })
	}
}

// TestTheJournalsOwnFormIsReadWithoutEncodingJSON: the rows the journal
// writes, short form or spelled out, are read by the decoder's own
// parser; were they left to encoding/json, the comparisons above would
// pass and the fold be as slow as before.
func TestTheJournalsOwnFormIsReadWithoutEncodingJSON(t *testing.T) {
	rows := journalCases("t1", "10.0.0.1", "curl/8 (x; y) caf\u00e9", "2031-03-04", 1930435199999999, 3)
	rows = append(rows, journalCases("t1", "", "", "2031-03-04", -1, -2)...)
	for _, row := range append(rows, journalArg{}) {
		b, err := json.Marshal(row.Use)
		if err != nil {
			t.Fatal(err)
		}
		var j journalUse
		p := journalParser{d: &journalDecoder{}, b: b}
		if !p.use(&j) || p.i != len(b) {
			t.Errorf("the fast path does not read %s", b)
		}
	}
	for _, row := range []string{
		`{"t":1930435199999999,"i":"10.0.0.1","a":"curl/8","r":["10.0.0.1"],"c":{"2031-03-04":1},` +
			`"n":[{"i":"10.0.0.1","a":"curl/8","t":1930435199999999}]}`, // before the short form
		`{"k":1,"s":3,"i":"10.0.0.1","t":0}`, // keys in another order
	} {
		var j journalUse
		p := journalParser{d: &journalDecoder{}, b: []byte(row)}
		if !p.use(&j) || p.i != len(row) {
			t.Errorf("the fast path does not read %s", row)
		}
	}
}

var journalRowCorpus = []string{
	// What the journal writes, and wrote before the short form.
	`{"t":1930435199999999,"i":"127.0.0.1","s":3,"k":1}`,
	`{"t":1930435199999999,"i":"10.0.0.1","a":"curl/8","s":3,"k":7}`,
	`{"t":1930435199999999,"i":"10.0.0.1","a":"curl/8","r":["10.0.0.1"],"c":{"2031-03-04":1},` +
		`"n":[{"i":"10.0.0.1","a":"curl/8","t":1930435199999999}]}`,
	`{"t":-1,"r":["a","b",""],"c":{"2031-03-04":1,"2031-03-03":-2},"n":[{"i":"x","t":5},{"t":6,"i":"y","a":""}]}`,
	`{}`, `{"c":{}}`, `{"r":[]}`, `{"n":[]}`, `{"n":[{}]}`, `{"t":0}`, `{"t":-0}`, `{"k":-0}`, `{"s":0}`,
	`{"s":255}`, `{"k":-999999999999999999}`, `{"k":999999999999999999}`, `{"a":"caf` + "\u00e9" + `"}`,
	`{"a":"` + "\U0001F600" + `"}`, `{"a":"` + "\u2028" + `"}`, "{\"a\":\"\x7f\"}", `{"c":{"x":1,"x":2}}`,
	// Left to encoding/json: each reads or fails as it did before.
	`{"a":"a\"b"}`, `{"a":"\u003c/script\u003e"}`, `{"i":"\ud800"}`, `{"a":"` + "\xff" + `"}`,
	`{"a":"` + "\xed\xa0\x80" + `"}`, "{\"a\":\"a\tb\"}", `{"c":{"a\u0062":1}}`,
	`{"t":1.5}`, `{"t":1e3}`, `{"t":1.0}`, `{"t":01}`, `{"t":-}`, `{"t":+1}`, `{"t":9223372036854775807}`,
	`{"t":9223372036854775808}`, `{"k":-9223372036854775808}`, `{"k":-9223372036854775809}`,
	`{"t":1234567890123456789}`, `{"s":-0}`, `{"s":-1}`, `{"s":256}`, `{"s":1.0}`, `{"t":"1"}`, `{"i":1}`,
	`{"T":5}`, `{"I":"x","A":"y","K":2}`, `{"x":1}`, `{"ip":"x"}`, `{"":1}`, `{"t":1,"t":2}`, `{"i":"a","i":"b"}`,
	`{"r":["a"],"r":["b","c"]}`, `{"c":{"x":1},"c":{"y":2}}`, `{"n":[{"i":"a","i":"b"}]}`,
	`{"n":[{"i":"a","x":1}]}`, `{"n":[{"I":"a"}]}`, `{"t":null}`, `{"i":null}`, `{"r":null}`, `{"c":null}`,
	`{"n":null}`, `{"r":[null]}`, `{"n":[null]}`, `{"c":{"x":null}}`, `{"r":[1]}`, `{"c":{"x":"1"}}`,
	`{"n":{}}`, `{"r":{}}`, `{"c":[]}`, `{"s":true}`, `{"u":{"t":1}}`, `null`, `[]`, `1`, `"x"`, `true`,
	` {"t":1}`, `{"t":1} `, `{ "t":1}`, `{"t" :1}`, `{"t": 1}`, `{"t":1 }`, "{\"t\":1}\n", `{"r":[ "a"]}`,
	`{"t":1}{}`, `{"t":1},`, `{"t":1,}`, `{,"t":1}`, `{"t"}`, `{"t":}`, `{"t":1`, `{"r":["a"`, `{"r":["a",]}`,
	`{"c":{"x":1,}}`, `{"n":[{"i":"a",}]}`, `{"a":"x`, `{"a":x"}`, `{'a':'x'}`, ``, `{`, `}`, "\xef\xbb\xbf{}",
}

// FuzzJournalCodec builds values of the usage pipeline from the fuzzer's
// input and checks the encoders against json.Marshal and the decoder
// against json.Unmarshal, on what json.Marshal writes and on raw bytes.
func FuzzJournalCodec(f *testing.F) {
	for i, s := range hostileText {
		f.Add(uint8(i), "00000000-0000-7000-8000-000000000001", "10.0.0.1", s, "2031-03-04", int64(1930435199999999),
			int64(i), []byte(`{"t":1930435199999999,"i":"10.0.0.1","a":"`+s+`","s":3,"k":1}`))
	}
	for i, row := range journalRowCorpus {
		f.Add(uint8(i), "t", "10.0.0.1", "curl/8", "2031-03-04", int64(-1), int64(1), []byte(row))
	}
	f.Fuzz(func(t *testing.T, shape uint8, id, ip, agent, day string, at, n int64, raw []byte) {
		// Two rows, of two shapes: a batch joins rows with commas.
		rows := []journalArg{journalCase(shape, id, ip, agent, day, at, n), journalCase(^shape, ip, agent, day, id, n, at)}
		checkEncoders(t, rows, id, ip, agent, day, at, n)
		var d journalDecoder
		checkDecoded(t, &d, raw)
	})
}

// journalBench is a batch of 5,000 journaled uses as auth.Usage journals
// them under load: each a token's first use, from one address, with a
// browser's agent.
func journalBench() []journalArg {
	at := time.Date(2031, 3, 4, 12, 0, 0, 0, time.UTC)
	rows := make([]journalArg, 5_000)
	for i := range rows {
		rows[i] = journalArg{ID: seedTokenID(i), Use: toJournal(store.TokenUse{
			At: at.Add(time.Duration(i) * time.Millisecond), IP: fmt.Sprintf("10.0.%d.%d", i/250, i%250),
			Agent: "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36",
			IPs:   []string{fmt.Sprintf("10.0.%d.%d", i/250, i%250)}, Counts: map[string]int64{at.Format(time.DateOnly): 1},
			NewAddresses: []store.AddressUse{{IP: fmt.Sprintf("10.0.%d.%d", i/250, i%250), At: at}},
		})}
	}
	return rows
}

// BenchmarkJournalCodec encodes a batch of 5,000 journaled uses as
// JournalTokenUse does, and decodes its uses one by one as the fold does,
// with encoding/json and with the usage pipeline's own code.
func BenchmarkJournalCodec(b *testing.B) {
	rows := journalBench()
	uses := make([][]byte, len(rows))
	for i, r := range rows {
		uses[i], _ = json.Marshal(r.Use)
	}
	b.Run("encode/encoding-json", func(b *testing.B) {
		for b.Loop() {
			_ = jsonText(rows)
		}
	})
	b.Run("encode/append", func(b *testing.B) {
		var text []byte
		for b.Loop() {
			text = appendJournalArgs(text[:0], rows)
			_ = string(text)
		}
	})
	b.Run("decode/encoding-json", func(b *testing.B) {
		for b.Loop() {
			for _, u := range uses {
				var j journalUse
				if err := json.Unmarshal(u, &j); err != nil {
					b.Fatal(err)
				}
			}
		}
	})
	b.Run("decode/journalDecoder", func(b *testing.B) {
		for b.Loop() {
			var d journalDecoder // one per fold
			for _, u := range uses {
				var j journalUse
				if err := d.decode(u, &j); err != nil {
					b.Fatal(err)
				}
			}
		}
	})
}

// TestUsesWithHostileTextFoldAsTheyRecord journals uses whose agent and
// address are text of every kind, folds them, and records them directly
// on another store: every token reads the same on both, and its agent as
// it was sent (as encoding/json reads it back: invalid UTF-8 is U+FFFD).
// The journal holds what SQLite renders of the encoded batch, which the
// fold then decodes.
func TestUsesWithHostileTextFoldAsTheyRecord(t *testing.T) {
	ctx := t.Context()
	direct, journaled := openTest(t, options{}), openTest(t, options{})
	n := 2 * len(hostileText)
	dTokens, jTokens := seedJournalTokens(t, direct, n), seedJournalTokens(t, journaled, n)
	at := time.Date(2031, 3, 4, 12, 0, 0, 0, time.UTC)
	batch := func(tokens []*store.Token) []store.TokenUse {
		var out []store.TokenUse
		for i, tk := range tokens {
			ip, agent := "10.0.0.1", hostileText[i%len(hostileText)]
			if i >= len(hostileText) {
				ip, agent = agent, "curl/8"
			}
			out = append(out, store.TokenUse{TokenID: tk.ID, At: at, IP: ip, Agent: agent, IPs: []string{ip, "10.9.9.9"},
				Counts: map[string]int64{"2031-03-04": 2}, NewAddresses: []store.AddressUse{{IP: ip, Agent: agent, At: at}}})
		}
		return out
	}
	if err := direct.RecordTokenUse(ctx, batch(dTokens)); err != nil {
		t.Fatal(err)
	}
	if err := journaled.JournalTokenUse(ctx, batch(jTokens)); err != nil {
		t.Fatal(err)
	}
	if got, err := journaled.FoldTokenUse(ctx); err != nil || got != n {
		t.Fatalf("fold: %d uses, %v; want %d", got, err, n)
	}
	want, got := readUsage(t, direct, dTokens), readUsage(t, journaled, jTokens)
	for i := range want {
		if fmt.Sprint(want[i]) != fmt.Sprint(got[i]) {
			t.Errorf("token %d:\nrecorded %+v\nfolded   %+v", i, want[i], got[i])
		}
		if i >= len(hostileText) {
			continue
		}
		var sent string
		if err := json.Unmarshal(must(json.Marshal(hostileText[i])), &sent); err != nil {
			t.Fatal(err)
		}
		if got[i].agent != sent {
			t.Errorf("token %d: agent %q folded as %q", i, sent, got[i].agent)
		}
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}
