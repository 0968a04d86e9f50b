// Package wire holds what every AWS JSON 1.1 service in Keystore Lab shares:
// the error type with its wire name and HTTP status, the "1 validation error
// detected" message that AWS front ends produce, and the timestamp encoding.
//
// It is a leaf package (standard library only) so that the engine and the
// simulators can speak the same dialect without importing each other.
package wire

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Error is an AWS API exception: Type is the wire name ("__type"), Message
// the human text, Status the HTTP status code. CapitalMessage marks services
// whose error shape names the field "Message" (CloudHSM v2) instead of
// "message" (KMS).
type Error struct {
	Type           string
	Message        string
	Status         int
	CapitalMessage bool
}

func (e *Error) Error() string { return e.Type + ": " + e.Message }

// Is reports whether target is an *Error of the same Type, so that
// errors.Is(err, &wire.Error{Type: "X"}) works.
func (e *Error) Is(target error) bool {
	var t *Error
	return errors.As(target, &t) && t.Type == e.Type
}

// Errorf returns a 400 error of the given type.
func Errorf(typ, format string, args ...any) *Error {
	return &Error{Type: typ, Message: fmt.Sprintf(format, args...), Status: 400}
}

// Validator collects constraint violations in the order the members are
// checked and renders them the way AWS does:
//
//	1 validation error detected: Value 'x' at 'customKeyStoreName' failed to satisfy constraint: Member must have length less than or equal to 256
//
// Sensitive members are reported without their value.
type Validator struct {
	errs []string
}

func (v *Validator) add(member string, value *string, constraint string) {
	if value == nil {
		v.errs = append(v.errs, fmt.Sprintf("Value at '%s' failed to satisfy constraint: %s", member, constraint))
		return
	}
	v.errs = append(v.errs, fmt.Sprintf("Value '%s' at '%s' failed to satisfy constraint: %s", *value, member, constraint))
}

// Required records a missing required member.
func (v *Validator) Required(member string, present bool) {
	if !present {
		v.errs = append(v.errs, fmt.Sprintf("Value null at '%s' failed to satisfy constraint: Member must not be null", member))
	}
}

// String checks an optional string member's length (in characters) and, if
// pattern is not nil, that the whole value matches it. A nil s is absent
// and passes.
func (v *Validator) String(member string, s *string, min, max int, pattern *regexp.Regexp, sensitive bool) {
	if s == nil {
		return
	}
	shown := s
	if sensitive {
		shown = nil
	}
	n := utf8.RuneCountInString(*s)
	if n < min {
		v.add(member, shown, fmt.Sprintf("Member must have length greater than or equal to %d", min))
	}
	if n > max {
		v.add(member, shown, fmt.Sprintf("Member must have length less than or equal to %d", max))
	}
	if pattern != nil && !pattern.MatchString(*s) {
		v.add(member, shown, "Member must satisfy regular expression pattern: "+strings.TrimSuffix(strings.TrimPrefix(pattern.String(), "^(?:"), ")$"))
	}
}

// List checks the length of an optional list member. A nil list is absent
// and passes.
func (v *Validator) List(member string, list []string, min, max int) {
	if list == nil {
		return
	}
	shown := "[" + strings.Join(list, ", ") + "]"
	if len(list) < min {
		v.add(member, &shown, fmt.Sprintf("Member must have length greater than or equal to %d", min))
	}
	if len(list) > max {
		v.add(member, &shown, fmt.Sprintf("Member must have length less than or equal to %d", max))
	}
}

// Enum checks an optional string member against its allowed values.
func (v *Validator) Enum(member string, s *string, allowed ...string) {
	if s == nil {
		return
	}
	for _, a := range allowed {
		if *s == a {
			return
		}
	}
	v.add(member, s, "Member must satisfy enum value set: ["+strings.Join(allowed, ", ")+"]")
}

// Int checks an optional integer member's range.
func (v *Validator) Int(member string, n *int64, min, max int64) {
	if n == nil {
		return
	}
	s := strconv.FormatInt(*n, 10)
	if *n < min {
		v.add(member, &s, fmt.Sprintf("Member must have value greater than or equal to %d", min))
	}
	if *n > max {
		v.add(member, &s, fmt.Sprintf("Member must have value less than or equal to %d", max))
	}
}

// Custom records a violation with a constraint text of the caller's own.
func (v *Validator) Custom(member string, value *string, constraint string) {
	v.add(member, value, constraint)
}

// Err returns the ValidationException for what was collected, or nil.
func (v *Validator) Err() error {
	switch n := len(v.errs); n {
	case 0:
		return nil
	case 1:
		return &Error{Type: "ValidationException", Status: 400, Message: "1 validation error detected: " + v.errs[0]}
	default:
		return &Error{Type: "ValidationException", Status: 400,
			Message: fmt.Sprintf("%d validation errors detected: %s", n, strings.Join(v.errs, "; "))}
	}
}

// Pattern compiles an AWS model pattern so that it must match the whole
// value, keeping the model's own spelling for messages.
func Pattern(p string) *regexp.Regexp {
	return regexp.MustCompile("^(?:" + p + ")$")
}

// Timestamp is a point in time encoded as AWS JSON services encode it:
// epoch seconds with milliseconds, as a Java double would print it
// (1.499288695918E9).
type Timestamp time.Time

// MarshalJSON implements json.Marshaler.
func (t Timestamp) MarshalJSON() ([]byte, error) {
	return []byte(FormatEpoch(time.Time(t))), nil
}

// UnmarshalJSON implements json.Unmarshaler, accepting any JSON number.
func (t *Timestamp) UnmarshalJSON(b []byte) error {
	f, err := strconv.ParseFloat(string(b), 64)
	if err != nil {
		return fmt.Errorf("timestamp %s is not a number", b)
	}
	sec, frac := math.Modf(f)
	*t = Timestamp(time.Unix(int64(sec), int64(math.Round(frac*1000))*int64(time.Millisecond)).UTC())
	return nil
}

// FormatEpoch renders t as epoch seconds with millisecond precision in the
// shortest form Java's Double.toString gives (1.499288695918E9, 1.5E9).
func FormatEpoch(t time.Time) string {
	ms := t.UnixMilli()
	f := float64(ms) / 1000
	if f < 1e7 && f >= 1e-3 || f == 0 {
		s := strconv.FormatFloat(f, 'f', -1, 64)
		if !strings.Contains(s, ".") {
			s += ".0"
		}
		return s
	}
	s := strconv.FormatFloat(f, 'E', -1, 64) // 1.499288695918E+09
	mant, exp, _ := strings.Cut(s, "E")
	if !strings.Contains(mant, ".") {
		mant += ".0"
	}
	e, _ := strconv.Atoi(exp)
	return mant + "E" + strconv.Itoa(e)
}

// SyntheticIV returns a 12-byte AES-GCM IV drawn from 16 bytes of r and a
// hash of everything the encryption binds: the additional authenticated
// data and the plaintext. Should r ever repeat (a host that replays a
// random stream after a crash), the IV repeats only for the very same
// plaintext and AAD, which leaks that the two are equal and nothing else;
// it never pairs one IV with two different messages under a key.
func SyntheticIV(r interface{ Read([]byte) (int, error) }, aad, plaintext []byte) []byte {
	var seed [16]byte
	_, _ = r.Read(seed[:])
	h := sha256.New()
	h.Write(seed[:])
	var n [8]byte
	binary.BigEndian.PutUint64(n[:], uint64(len(aad)))
	h.Write(n[:])
	h.Write(aad)
	h.Write(plaintext)
	return h.Sum(nil)[:12]
}
