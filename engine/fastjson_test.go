package engine

import (
	"encoding/json"
	"reflect"
	"testing"
)

// TestFastJSONMatchesEncodingJSON: the fast paths read and write exactly
// what encoding/json does, and give way to it for anything else.
func TestFastJSONMatchesEncodingJSON(t *testing.T) {
	for _, s := range []string{"", "plain", "arn:aws:kms:us-east-1:111122223333:key/x", `q"uote`, `back\slash`,
		"<tag>&", "tab\t", "é", "\x7f"} {
		want, _ := json.Marshal(s)
		if got := appendJSONString(nil, s, true); string(got) != string(want) {
			t.Errorf("appendJSONString(%q, html) = %s, want %s", s, got, want)
		}
		if got := appendJSONString(nil, s, false); string(got) != quote(s) {
			t.Errorf("appendJSONString(%q) = %s, want %s", s, got, quote(s))
		}
	}
	for _, body := range []string{
		`{"KeyId":"alias/a","Plaintext":"aGk=","NumberOfBytes":32}`,
		`{"KeyId":"a","KeyId":"b"}`,
		`{"keyid":"lower case"}`,
		`{ "KeyId": "spaced" }`,
		`{"KeyId":"esc\u0041ped"}`,
		`{"Plaintext":"not base64!"}`,
		`{"NumberOfBytes":012}`,
		`{"NumberOfBytes":-1}`,
		`{"EncryptionContext":{"a":"b"},"KeyId":"k"}`,
		`{}`,
	} {
		var fast, slow cryptoInput
		errFast := decodeCrypto([]byte(body), &fast)
		errSlow := decode([]byte(body), &slow)
		if (errFast == nil) != (errSlow == nil) || !reflect.DeepEqual(fast, slow) {
			t.Errorf("%s: fast path %+v (%v), encoding/json %+v (%v)", body, fast, errFast, slow, errSlow)
		}
	}
}
