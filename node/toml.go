package node

import (
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// This file reads the TOML that config.toml is written in. CometBFT reads
// its file through viper, which this module does not depend on, so mykeyd
// parses the subset of TOML the file uses: [table] and [table.sub] headers,
// bare keys, basic and literal strings, integers, floats, booleans and
// arrays of those (on one or several lines), and # comments. Values are
// decoded into structs by their mapstructure tags, converting the way
// viper does (a duration from a string, a number from a quoted number, a
// list from a comma-separated string), and a key that names no field is an
// error, so that a typo in the file does not silently keep a default.

// tomlValue is one parsed value and the line it was on.
type tomlValue struct {
	v    any // string, int64, float64, bool or []any
	line int
}

// parseTOML returns the file's values by dotted key ("p2p.laddr").
func parseTOML(src string) (map[string]tomlValue, error) {
	p := &tomlParser{src: src, line: 1}
	out := map[string]tomlValue{}
	table := ""
	for {
		p.skipSpaceAndComments(true)
		if p.eof() {
			return out, nil
		}
		if p.peek() == '[' {
			p.pos++
			name, err := p.dottedKey(']')
			if err != nil {
				return nil, err
			}
			if p.eof() || p.peek() != ']' {
				return nil, p.errorf("expected ] after table name")
			}
			p.pos++
			table = name + "."
		} else {
			key, err := p.dottedKey('=')
			if err != nil {
				return nil, err
			}
			p.skipSpace()
			if p.eof() || p.peek() != '=' {
				return nil, p.errorf("expected = after key %q", key)
			}
			p.pos++
			p.skipSpace()
			line := p.line
			v, err := p.value()
			if err != nil {
				return nil, err
			}
			full := table + key
			if _, dup := out[full]; dup {
				return nil, fmt.Errorf("line %d: %s is set twice", line, full)
			}
			out[full] = tomlValue{v: v, line: line}
		}
		p.skipSpace()
		if !p.eof() && p.peek() != '\n' && p.peek() != '#' && p.peek() != '\r' {
			return nil, p.errorf("unexpected %q after value", p.peek())
		}
	}
}

type tomlParser struct {
	src  string
	pos  int
	line int
}

func (p *tomlParser) eof() bool  { return p.pos >= len(p.src) }
func (p *tomlParser) peek() byte { return p.src[p.pos] }

func (p *tomlParser) errorf(format string, args ...any) error {
	return fmt.Errorf("line %d: "+format, append([]any{p.line}, args...)...)
}

func (p *tomlParser) skipSpace() {
	for !p.eof() && (p.peek() == ' ' || p.peek() == '\t') {
		p.pos++
	}
}

// skipSpaceAndComments skips blanks and comments, and newlines if nl.
func (p *tomlParser) skipSpaceAndComments(nl bool) {
	for !p.eof() {
		switch c := p.peek(); {
		case c == ' ' || c == '\t' || c == '\r':
			p.pos++
		case c == '\n' && nl:
			p.pos++
			p.line++
		case c == '#':
			for !p.eof() && p.peek() != '\n' {
				p.pos++
			}
		default:
			return
		}
	}
}

func isBareKeyChar(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-'
}

// dottedKey reads a bare dotted key up to end ('=' or ']').
func (p *tomlParser) dottedKey(end byte) (string, error) {
	var parts []string
	for {
		p.skipSpace()
		start := p.pos
		for !p.eof() && isBareKeyChar(p.peek()) {
			p.pos++
		}
		if p.pos == start {
			if p.eof() {
				return "", p.errorf("unexpected end of file, expected a key")
			}
			return "", p.errorf("unexpected %q, expected a key", p.peek())
		}
		parts = append(parts, p.src[start:p.pos])
		p.skipSpace()
		if p.eof() || p.peek() != '.' {
			break
		}
		p.pos++
	}
	if !p.eof() && p.peek() != end {
		return "", p.errorf("unexpected %q in key", p.peek())
	}
	return strings.Join(parts, "."), nil
}

func (p *tomlParser) value() (any, error) {
	if p.eof() {
		return nil, p.errorf("missing value")
	}
	switch c := p.peek(); {
	case c == '"':
		return p.basicString()
	case c == '\'':
		p.pos++
		start := p.pos
		for !p.eof() && p.peek() != '\'' && p.peek() != '\n' {
			p.pos++
		}
		if p.eof() || p.peek() != '\'' {
			return nil, p.errorf("unterminated string")
		}
		s := p.src[start:p.pos]
		p.pos++
		return s, nil
	case c == '[':
		p.pos++
		var arr []any
		for {
			p.skipSpaceAndComments(true)
			if p.eof() {
				return nil, p.errorf("unterminated array")
			}
			if p.peek() == ']' {
				p.pos++
				return arr, nil
			}
			v, err := p.value()
			if err != nil {
				return nil, err
			}
			arr = append(arr, v)
			p.skipSpaceAndComments(true)
			if p.eof() {
				return nil, p.errorf("unterminated array")
			}
			switch p.peek() {
			case ',':
				p.pos++
			case ']':
			default:
				return nil, p.errorf("unexpected %q in array", p.peek())
			}
		}
	default:
		start := p.pos
		for !p.eof() && !strings.ContainsRune(" \t\r\n#,]", rune(p.peek())) {
			p.pos++
		}
		word := p.src[start:p.pos]
		switch word {
		case "true":
			return true, nil
		case "false":
			return false, nil
		}
		clean := strings.ReplaceAll(word, "_", "")
		if i, err := strconv.ParseInt(clean, 10, 64); err == nil {
			return i, nil
		}
		if f, err := strconv.ParseFloat(clean, 64); err == nil {
			return f, nil
		}
		return nil, p.errorf("cannot read value %q (strings need quotes)", word)
	}
}

// basicString reads a "..." string with TOML escapes (and \' which
// CometBFT's template may write through its js escaping).
func (p *tomlParser) basicString() (string, error) {
	p.pos++ // opening quote
	var b strings.Builder
	for {
		if p.eof() || p.peek() == '\n' {
			return "", p.errorf("unterminated string")
		}
		c := p.peek()
		p.pos++
		switch c {
		case '"':
			return b.String(), nil
		case '\\':
			if p.eof() {
				return "", p.errorf("unterminated string")
			}
			e := p.peek()
			p.pos++
			switch e {
			case 'b':
				b.WriteByte('\b')
			case 't':
				b.WriteByte('\t')
			case 'n':
				b.WriteByte('\n')
			case 'f':
				b.WriteByte('\f')
			case 'r':
				b.WriteByte('\r')
			case '"', '\\', '\'', '/':
				b.WriteByte(e)
			case 'u', 'U':
				n := 4
				if e == 'U' {
					n = 8
				}
				if p.pos+n > len(p.src) {
					return "", p.errorf("short \\%c escape", e)
				}
				r, err := strconv.ParseUint(p.src[p.pos:p.pos+n], 16, 32)
				if err != nil || !utf8.ValidRune(rune(r)) {
					return "", p.errorf("bad \\%c escape", e)
				}
				p.pos += n
				b.WriteRune(rune(r))
			default:
				return "", p.errorf("unknown escape \\%c", e)
			}
		default:
			b.WriteByte(c)
		}
	}
}

var durationType = reflect.TypeOf(time.Duration(0))

// decodeInto sets the fields of the struct dst points to from vals, by
// mapstructure tag under prefix ("" or "mykey."), and marks the keys used.
func decodeInto(dst any, prefix string, vals map[string]tomlValue, used map[string]bool) error {
	return decodeStruct(reflect.ValueOf(dst).Elem(), prefix, vals, used)
}

func decodeStruct(sv reflect.Value, prefix string, vals map[string]tomlValue, used map[string]bool) error {
	st := sv.Type()
	for i := 0; i < st.NumField(); i++ {
		f := st.Field(i)
		tag := f.Tag.Get("mapstructure")
		if tag == "" || tag == "-" || !f.IsExported() {
			continue
		}
		fv := sv.Field(i)
		if tag == ",squash" {
			if err := decodeStruct(fv, prefix, vals, used); err != nil {
				return err
			}
			continue
		}
		key := prefix + tag
		switch {
		case f.Type.Kind() == reflect.Pointer && f.Type.Elem().Kind() == reflect.Struct:
			if fv.IsNil() {
				fv.Set(reflect.New(f.Type.Elem()))
			}
			if err := decodeStruct(fv.Elem(), key+".", vals, used); err != nil {
				return err
			}
			continue
		case f.Type.Kind() == reflect.Struct:
			if err := decodeStruct(fv, key+".", vals, used); err != nil {
				return err
			}
			continue
		}
		tv, ok := vals[key]
		if !ok {
			continue
		}
		used[key] = true
		if err := setValue(fv, tv.v); err != nil {
			return fmt.Errorf("line %d: %s: %w", tv.line, key, err)
		}
	}
	return nil
}

// setValue converts v to the field's type, weakly as viper does.
func setValue(fv reflect.Value, v any) error {
	t := fv.Type()
	if t == durationType {
		switch x := v.(type) {
		case string:
			d, err := time.ParseDuration(x)
			if err != nil {
				return fmt.Errorf("want a duration such as \"500ms\": %v", err)
			}
			fv.SetInt(int64(d))
		case int64:
			fv.SetInt(x)
		default:
			return fmt.Errorf("want a duration such as \"500ms\", got %v", v)
		}
		return nil
	}
	switch t.Kind() {
	case reflect.String:
		s, ok := v.(string)
		if !ok {
			return fmt.Errorf("want a string, got %v", v)
		}
		fv.SetString(s)
	case reflect.Bool:
		switch x := v.(type) {
		case bool:
			fv.SetBool(x)
		case string:
			b, err := strconv.ParseBool(x)
			if err != nil {
				return fmt.Errorf("want true or false, got %q", x)
			}
			fv.SetBool(b)
		default:
			return fmt.Errorf("want true or false, got %v", v)
		}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		n, err := toInt(v)
		if err != nil {
			return err
		}
		if fv.OverflowInt(n) {
			return fmt.Errorf("%d is out of range", n)
		}
		fv.SetInt(n)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		n, err := toInt(v)
		if err != nil {
			return err
		}
		if n < 0 || fv.OverflowUint(uint64(n)) {
			return fmt.Errorf("%d is out of range", n)
		}
		fv.SetUint(uint64(n))
	case reflect.Float32, reflect.Float64:
		switch x := v.(type) {
		case float64:
			fv.SetFloat(x)
		case int64:
			fv.SetFloat(float64(x))
		default:
			return fmt.Errorf("want a number, got %v", v)
		}
	case reflect.Slice:
		if t.Elem().Kind() != reflect.String {
			return fmt.Errorf("unsupported list type %s", t)
		}
		var items []string
		switch x := v.(type) {
		case string:
			items = []string{}
			for _, s := range strings.Split(x, ",") {
				if s = strings.TrimSpace(s); s != "" {
					items = append(items, s)
				}
			}
		case []any:
			items = make([]string, 0, len(x))
			for _, e := range x {
				s, ok := e.(string)
				if !ok {
					return fmt.Errorf("want a list of strings, got %v", e)
				}
				items = append(items, s)
			}
		default:
			return fmt.Errorf("want a list of strings, got %v", v)
		}
		fv.Set(reflect.ValueOf(items).Convert(t))
	default:
		return fmt.Errorf("unsupported field type %s", t)
	}
	return nil
}

func toInt(v any) (int64, error) {
	switch x := v.(type) {
	case int64:
		return x, nil
	case string:
		n, err := strconv.ParseInt(strings.TrimSpace(x), 10, 64)
		if err != nil {
			return 0, fmt.Errorf("want an integer, got %q", x)
		}
		return n, nil
	}
	return 0, fmt.Errorf("want an integer, got %v", v)
}
