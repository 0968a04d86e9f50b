package content

import (
	"reflect"
	"slices"
	"strings"
	"testing"

	"keystorelab/engine"
)

func TestErrorCodesMatchEngine(t *testing.T) {
	var want, got []string
	for _, c := range engine.CloudHSMConnectionErrorCodes {
		want = append(want, string(c))
	}
	seen := map[string]bool{}
	for _, e := range ErrorCodes {
		if seen[e.Code] {
			t.Errorf("%s appears twice", e.Code)
		}
		seen[e.Code] = true
		got = append(got, e.Code)
	}
	if !slices.Equal(got, want) {
		t.Errorf("ErrorCodes has %v, want engine.CloudHSMConnectionErrorCodes %v (same order)", got, want)
	}
}

func TestStatesMatchEngine(t *testing.T) {
	var want, got []string
	for _, s := range engine.ConnectionStates {
		want = append(want, string(s))
	}
	for _, s := range States {
		got = append(got, s.State)
		if s.Meaning == "" {
			t.Errorf("%s has no meaning", s.State)
		}
	}
	if !slices.Equal(got, want) {
		t.Errorf("States has %v, want %v", got, want)
	}
}

// TestErrorCodeEntries checks that every entry is complete, that every fix
// starts with a disconnect and ends with a connect, and that every
// placeholder is documented.
func TestErrorCodeEntries(t *testing.T) {
	for _, e := range ErrorCodes {
		if e.Title == "" || e.Summary == "" || e.Cause == "" || !strings.HasPrefix(e.AWSDoc, "https://docs.aws.amazon.com/") {
			t.Errorf("%s: incomplete entry", e.Code)
		}
		if len(e.Steps) < 2 || e.Steps[0].Action != Disconnect || e.Steps[len(e.Steps)-2].Action != Connect {
			t.Errorf("%s: the fix must start with Disconnect and end with Connect (and a wait)", e.Code)
		}
		for _, list := range [][]Step{e.Steps, e.Reproduce} {
			for _, s := range list {
				if s.Text == "" {
					t.Errorf("%s: a step has no text", e.Code)
				}
				checkAction(t, e.Code, s.Action)
			}
		}
	}
	for _, s := range KmsuserProcedure {
		checkAction(t, "KmsuserProcedure", s.Action)
	}
}

func checkAction(t *testing.T, where string, a *Action) {
	t.Helper()
	if a == nil {
		return
	}
	if a.Label == "" || !strings.Contains(a.Target, ".") {
		t.Errorf("%s: action %+v needs a label and a target", where, a)
	}
	for _, p := range a.Uses() {
		if _, ok := Placeholders[p]; !ok {
			t.Errorf("%s: undocumented placeholder %s", where, p)
		}
	}
}

func TestPlayable(t *testing.T) {
	var got []string
	for _, e := range ErrorCodes {
		if e.Playable() {
			got = append(got, e.Code)
		}
	}
	want := []string{"INVALID_CREDENTIALS", "NETWORK_ERRORS", "INTERNAL_ERROR", "USER_LOCKED_OUT", "USER_NOT_FOUND", "USER_LOGGED_IN", "INSUFFICIENT_FREE_ADDRESSES_IN_SUBNET"}
	if !slices.Equal(got, want) {
		t.Errorf("playable codes %v, want %v", got, want)
	}
}

func TestFill(t *testing.T) {
	a := &Action{Body: map[string]any{"ClusterId": "$cluster", "Filters": map[string]any{"clusterIds": []any{"$cluster"}}, "Seconds": 5, "Name": "$unknown"}}
	got := a.Fill(map[string]string{"$cluster": "cluster-abc"})
	want := map[string]any{"ClusterId": "cluster-abc", "Filters": map[string]any{"clusterIds": []any{"cluster-abc"}}, "Seconds": 5, "Name": "$unknown"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Fill = %v, want %v", got, want)
	}
	if u := a.Uses(); !slices.Equal(u, []string{"$cluster", "$unknown"}) {
		t.Errorf("Uses = %v", u)
	}
	if a.Body["ClusterId"] != "$cluster" {
		t.Error("Fill changed the action")
	}
}

func TestLookupAndMeaning(t *testing.T) {
	if e, ok := Lookup("USER_LOGGED_IN"); !ok || e.AWSDoc != AWSLogOutAndReconnect {
		t.Errorf("Lookup(USER_LOGGED_IN) = %+v, %v", e, ok)
	}
	if _, ok := Lookup("XKS_PROXY_TIMED_OUT"); ok {
		t.Error("Lookup found an XKS code")
	}
	if Meaning("FAILED") == "" || Meaning("nope") != "" {
		t.Error("Meaning")
	}
}

// TestXKSErrorCodes checks that every external key store connection error
// code has a complete entry whose fix starts with a disconnect and ends
// with a connect, and that the CloudHSM list is not affected.
func TestXKSErrorCodes(t *testing.T) {
	want := []string{"INVALID_CREDENTIALS", "XKS_PROXY_ACCESS_DENIED", "XKS_PROXY_INVALID_CONFIGURATION", "XKS_PROXY_INVALID_RESPONSE",
		"XKS_PROXY_INVALID_TLS_CONFIGURATION", "XKS_PROXY_NOT_REACHABLE", "XKS_PROXY_TIMED_OUT",
		"XKS_VPC_ENDPOINT_SERVICE_INVALID_CONFIGURATION", "XKS_VPC_ENDPOINT_SERVICE_NOT_FOUND"}
	for _, code := range want {
		e, ok := LookupXKS(code)
		if !ok {
			t.Errorf("no external key store content for %s", code)
			continue
		}
		if e.Title == "" || e.Summary == "" || e.Cause == "" || !strings.HasPrefix(e.AWSDoc, "https://docs.aws.amazon.com/") {
			t.Errorf("%s: incomplete entry", code)
		}
	}
	seen := map[string]bool{}
	for _, e := range XKSErrorCodes {
		if seen[e.Code] {
			t.Errorf("%s appears twice", e.Code)
		}
		seen[e.Code] = true
		if len(e.Steps) < 4 || e.Steps[0].Action != Disconnect || e.Steps[len(e.Steps)-2].Action != Connect {
			t.Errorf("%s: the fix must start with Disconnect and end with Connect (and a wait)", e.Code)
		}
		for _, list := range [][]Step{e.Steps, e.Reproduce} {
			for _, s := range list {
				if s.Text == "" {
					t.Errorf("%s: a step has no text", e.Code)
				}
				checkAction(t, "XKS "+e.Code, s.Action)
			}
		}
	}
	if e, _ := Lookup("INVALID_CREDENTIALS"); strings.Contains(e.Summary, "proxy") {
		t.Error("the CloudHSM INVALID_CREDENTIALS entry changed")
	}
	if _, ok := LookupXKS("USER_LOGGED_IN"); ok {
		t.Error("LookupXKS found a CloudHSM-only code")
	}
}
