package sqlite

import (
	"encoding/json"
	"unicode/utf8"
)

// journalDecoder reads the journaled uses of one fold.
//
// Its fast path reads a use as the journal writes it: an object without
// whitespace of the keys t, i, a, r, c, n, s and k, each at most once, in
// any order; integers; strings of valid UTF-8 without escapes; lists of
// such strings, a map of counts, a list of addresses of the keys i, a and
// t. Anything else, an escape, a number that is not a plain integer of
// the field's range, a null, another key (encoding/json also matches keys
// of another case), a key twice, whitespace, malformed JSON, is read by
// json.Unmarshal from the start.
type journalDecoder struct {
	// ats holds the journalUse.At of decoded uses, handed out one
	// element at a time: one allocation per block instead of per use.
	ats []int64
	// text holds strings already read (addresses, agents, days), so that
	// a string the journal repeats in every use is allocated once per
	// fold. The decoded uses share them; none aliases the row read.
	text map[string]string
}

// journalTextMax bounds the strings a journalDecoder keeps: past it, new
// strings are allocated each time they are read.
const journalTextMax = 4096

// decode reads the journaled use b into j, as json.Unmarshal(b, j) reads
// it into a zero journalUse. j holds nothing of b's memory afterwards.
func (d *journalDecoder) decode(b []byte, j *journalUse) error {
	*j = journalUse{}
	p := journalParser{d: d, b: b}
	if p.use(j) && p.i == len(b) {
		return nil
	}
	// Decoded by encoding/json, a journalUse of its own escapes to the
	// heap; j, which the fold keeps in a variable of its loop, then does
	// not for every row.
	var u journalUse
	err := json.Unmarshal(b, &u)
	*j = u
	return err
}

// at returns a new *int64 of v.
func (d *journalDecoder) at(v int64) *int64 {
	if len(d.ats) == cap(d.ats) {
		d.ats = make([]int64, 0, 256)
	}
	d.ats = append(d.ats, v)
	return &d.ats[len(d.ats)-1]
}

// str returns b as a string of its own.
func (d *journalDecoder) str(b []byte) string {
	if s, ok := d.text[string(b)]; ok { // no allocation to look up
		return s
	}
	s := string(b)
	if d.text == nil {
		d.text = make(map[string]string)
	}
	if len(d.text) < journalTextMax {
		d.text[s] = s
	}
	return s
}

// journalParser is the fast path of journalDecoder.decode, reading b from
// i on. Each method returns false for what it does not read; decode then
// starts over with encoding/json.
type journalParser struct {
	d *journalDecoder
	b []byte
	i int
}

func (p *journalParser) use(j *journalUse) bool {
	var seen keySet
	return p.object(func(key byte) bool {
		if !seen.add(key) {
			return false
		}
		switch key {
		case 't':
			v, ok := p.int()
			if ok {
				j.At = p.d.at(v)
			}
			return ok
		case 'i':
			return p.text(&j.IP)
		case 'a':
			return p.text(&j.Agent)
		case 'r':
			return p.textList(&j.IPs)
		case 'c':
			return p.counts(&j.Counts)
		case 'n':
			return p.addresses(&j.New)
		case 's':
			// encoding/json refuses a negative number, -0 included, for
			// an unsigned field.
			if p.peek() == '-' {
				return false
			}
			v, ok := p.int()
			j.Same = journalSame(v)
			return ok && v <= 0xff
		case 'k':
			v, ok := p.int()
			j.N = v
			return ok
		}
		return false
	})
}

// keySet is the one-byte keys of an object read so far. Two keys can share
// a bit (a key and another 64 bytes away), but the keys the parser knows
// do not: a false duplicate only sends a row to encoding/json.
type keySet uint64

// add adds key to the set; it returns false when the set had it.
func (s *keySet) add(key byte) bool {
	bit := keySet(1) << (key & 63)
	had := *s&bit != 0
	*s |= bit
	return !had
}

// object reads an object whose keys are one byte, calling value with
// each key to read its value.
func (p *journalParser) object(value func(key byte) bool) bool {
	return p.members(func(key []byte) bool { return len(key) == 1 && value(key[0]) })
}

// members reads an object whose keys are plain strings, calling value
// with each key (in the row's memory) once its colon is read, to read its
// value.
func (p *journalParser) members(value func(key []byte) bool) bool {
	if !p.skip('{') {
		return false
	}
	if p.skip('}') {
		return true
	}
	for {
		key, ok := p.plain()
		if !ok || !p.skip(':') || !value(key) {
			return false
		}
		if p.skip('}') {
			return true
		}
		if !p.skip(',') {
			return false
		}
	}
}

// list reads an array, calling elem to read each element.
func (p *journalParser) list(elem func() bool) bool {
	if !p.skip('[') {
		return false
	}
	if p.skip(']') {
		return true
	}
	for {
		if !elem() {
			return false
		}
		if p.skip(']') {
			return true
		}
		if !p.skip(',') {
			return false
		}
	}
}

func (p *journalParser) textList(l *[]string) bool {
	*l = []string{} // encoding/json reads [] as an empty list, not nil
	return p.list(func() bool {
		var s string
		ok := p.text(&s)
		*l = append(*l, s)
		return ok
	})
}

func (p *journalParser) counts(m *map[string]int64) bool {
	*m = map[string]int64{}
	return p.members(func(key []byte) bool {
		n, ok := p.int()
		if ok {
			(*m)[p.d.str(key)] = n // a later duplicate wins, as in encoding/json
		}
		return ok
	})
}

func (p *journalParser) addresses(l *[]journalAddress) bool {
	*l = []journalAddress{}
	return p.list(func() bool {
		var (
			a    journalAddress
			seen keySet
		)
		ok := p.object(func(key byte) bool {
			if !seen.add(key) {
				return false
			}
			switch key {
			case 'i':
				return p.text(&a.IP)
			case 'a':
				return p.text(&a.Agent)
			case 't':
				var ok bool
				a.At, ok = p.int()
				return ok
			}
			return false
		})
		*l = append(*l, a)
		return ok
	})
}

func (p *journalParser) peek() byte {
	if p.i < len(p.b) {
		return p.b[p.i]
	}
	return 0
}

func (p *journalParser) skip(c byte) bool {
	if p.i < len(p.b) && p.b[p.i] == c {
		p.i++
		return true
	}
	return false
}

// text reads a string into *s, a string of its own.
func (p *journalParser) text(s *string) bool {
	b, ok := p.plain()
	if ok {
		*s = p.d.str(b)
	}
	return ok
}

// plain reads a string without escapes, returning its bytes in p.b.
// encoding/json reads such a string as these very bytes when they are
// valid UTF-8 (it would replace invalid UTF-8 with U+FFFD); control
// characters are not allowed in JSON strings.
func (p *journalParser) plain() ([]byte, bool) {
	if !p.skip('"') {
		return nil, false
	}
	start, ascii := p.i, true
	for ; p.i < len(p.b); p.i++ {
		switch c := p.b[p.i]; {
		case c == '"':
			s := p.b[start:p.i]
			p.i++
			return s, ascii || utf8.Valid(s)
		case c == '\\' || c < 0x20:
			return nil, false
		case c >= utf8.RuneSelf:
			ascii = false
		}
	}
	return nil, false
}

// int reads an integer of at most 18 digits (every one fits an int64):
// no fraction or exponent, no leading zero.
func (p *journalParser) int() (int64, bool) {
	neg := p.skip('-')
	start := p.i
	var n int64
	for p.i < len(p.b) && p.b[p.i] >= '0' && p.b[p.i] <= '9' {
		n = n*10 + int64(p.b[p.i]-'0')
		p.i++
	}
	digits := p.i - start
	if digits == 0 || digits > 18 || (digits > 1 && p.b[start] == '0') {
		return 0, false
	}
	if neg {
		n = -n
	}
	return n, true
}
