package wire

import (
	"encoding/json"
	"testing"
	"time"
)

func TestFormatEpoch(t *testing.T) {
	for _, tc := range []struct {
		t    time.Time
		want string
	}{
		{time.UnixMilli(1499288695918), "1.499288695918E9"}, // the example in AWS's documentation
		{time.Unix(1500000000, 0), "1.5E9"},
		{time.Unix(1767225600, 0), "1.7672256E9"},
		{time.UnixMilli(1767225600001), "1.767225600001E9"},
		{time.Unix(0, 0), "0.0"},
		{time.Unix(12, 500e6), "12.5"},
	} {
		if got := FormatEpoch(tc.t); got != tc.want {
			t.Errorf("FormatEpoch(%d ms) = %s, want %s", tc.t.UnixMilli(), got, tc.want)
		}
		var back Timestamp
		if err := json.Unmarshal([]byte(FormatEpoch(tc.t)), &back); err != nil || !time.Time(back).Equal(tc.t) {
			t.Errorf("%s reads back as %v (%v)", tc.want, time.Time(back), err)
		}
	}
}

func TestValidator(t *testing.T) {
	var v Validator
	if v.Err() != nil {
		t.Fatal("an empty validator reports an error")
	}
	name, pw, kind := "", "hunter2hunter2hunter2hunter2hunter2", "X"
	v.String("name", &name, 1, 5, nil, false)
	v.String("password", &pw, 7, 32, Pattern(`[a-z]+`), true)
	v.Enum("kind", &kind, "A", "B")
	v.String("absent", nil, 1, 2, nil, false)
	want := "4 validation errors detected: Value '' at 'name' failed to satisfy constraint: Member must have length greater than or equal to 1; " +
		"Value at 'password' failed to satisfy constraint: Member must have length less than or equal to 32; " +
		"Value at 'password' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-z]+; " +
		"Value 'X' at 'kind' failed to satisfy constraint: Member must satisfy enum value set: [A, B]"
	err := v.Err().(*Error)
	if err.Type != "ValidationException" || err.Status != 400 || err.Message != want {
		t.Fatalf("got %s %d %q\nwant %q", err.Type, err.Status, err.Message, want)
	}
}
