package wire

import "encoding/base64"

// The hot paths of the engine and the XKS proxy read the compact JSON that
// SDKs and KMS send without reflection. These scanners accept only JSON
// written without whitespace whose strings are plain (printable ASCII, no
// escapes), which reads as exactly its bytes; a caller that gets false
// hands the body to encoding/json, so the result is the same either way.

// ScanObject walks the JSON object at b[i:], calling member with each key
// (a plain string) and the index of its value, which member reads and
// returns the index after; ScanObject returns the index after the object.
// It reports false for anything else.
func ScanObject(b []byte, i int, member func(key []byte, i int) (int, bool)) (int, bool) {
	if i >= len(b) || b[i] != '{' {
		return 0, false
	}
	i++
	if i < len(b) && b[i] == '}' {
		return i + 1, true
	}
	for {
		key, next, ok := PlainString(b, i)
		if !ok || next >= len(b) || b[next] != ':' {
			return 0, false
		}
		if i, ok = member(key, next+1); !ok || i >= len(b) {
			return 0, false
		}
		switch b[i] {
		case ',':
			i++
		case '}':
			return i + 1, true
		default:
			return 0, false
		}
	}
}

// PlainString reads the JSON string at b[i:] if it holds only printable
// ASCII and no escapes; it returns its contents and the index after it.
func PlainString(b []byte, i int) ([]byte, int, bool) {
	if i >= len(b) || b[i] != '"' {
		return nil, 0, false
	}
	for j := i + 1; j < len(b); j++ {
		switch c := b[j]; {
		case c == '"':
			return b[i+1 : j], j + 1, true
		case c < 0x20 || c > 0x7e || c == '\\':
			return nil, 0, false
		}
	}
	return nil, 0, false
}

// PlainObject reports whether b is a compact JSON object whose members are
// all plain strings, calling member for each.
func PlainObject(b []byte, member func(key, value []byte) bool) bool {
	end, ok := ScanObject(b, 0, func(key []byte, i int) (int, bool) {
		v, next, ok := PlainString(b, i)
		return next, ok && member(key, v)
	})
	return ok && end == len(b)
}

// PlainBytes decodes a plain string's contents as encoding/json decodes a
// []byte member (standard Base64).
func PlainBytes(v []byte) ([]byte, bool) {
	out := make([]byte, base64.StdEncoding.DecodedLen(len(v)))
	n, err := base64.StdEncoding.Decode(out, v)
	return out[:n], err == nil
}
