// Package content is the troubleshooting and reference text of Keystore
// Lab's site as plain data: one entry per CloudHSM connection error code,
// the meaning of each connection state, and AWS's "How to log out and
// reconnect" procedure for kmsuser. The console's troubleshooting view and
// the documentation pages (package docs) both render it, so the two never
// say different things.
//
// The prose is Keystore Lab's own wording of AWS's troubleshooting guide;
// names of states, codes, exceptions, operations and console labels are
// spelled exactly as AWS spells them.
package content

import (
	"sort"
	"strings"
)

// A Step is one instruction of a procedure. Action, when not nil, is the
// sandbox call that carries the step out, which a page can offer as a
// button next to Text.
type Step struct {
	Text   string
	Action *Action
}

// An Action is one call to the sandbox engine: Target is the X-Amz-Target
// (for example "TrentService.DisconnectCustomKeyStore"), Body the JSON
// request body, and Label the button text.
//
// String values in Body that start with "$" are placeholders the page
// fills in before making the call (see [Placeholders]); a placeholder may
// also stand alone as an element of a list. Everything else is sent as is.
type Action struct {
	Label  string
	Target string
	Body   map[string]any
	// Times is how many times to make the call; 0 means once. Only the
	// steps that reproduce USER_LOCKED_OUT use it (five failed logins).
	Times int `json:",omitempty"`
}

// Placeholders documents every placeholder an [Action] body may contain.
var Placeholders = map[string]string{
	"$store":       "the CustomKeyStoreId of the key store being repaired",
	"$cluster":     "the ClusterId of the key store's AWS CloudHSM cluster (CloudHsmClusterId)",
	"$newPassword": "a kmsuser password the page chooses once (7-32 alphanumeric characters, e.g. \"known12345\") and reuses in every later step of the same procedure",
	"$az":          "an Availability Zone of the cluster's subnets, e.g. \"us-east-1a\"",
	"$subnet":      "the cluster subnet the step is about (the one with no free addresses)",
	// External key stores.
	"$xksEndpoint":  "the XksProxyUriEndpoint of the external key store being repaired, e.g. \"https://xks.example.com\"",
	"$xksPath":      "the XksProxyUriPath of the external key store being repaired",
	"$vpcService":   "the XksProxyVpcEndpointServiceName of the external key store being repaired",
	"$kmsPrincipal": "the principal AWS KMS uses for VPC endpoint services in the sandbox's Region, cks.kms.<region>.amazonaws.com",
	"$zoneA":        "an Availability Zone of the sandbox's Region, e.g. \"us-east-1a\"",
	"$zoneB":        "a second Availability Zone of the sandbox's Region, e.g. \"us-east-1b\"",
}

// Uses returns the placeholders a's body refers to, sorted and without
// repeats, so that a page can tell whether it can fill them all.
func (a *Action) Uses() []string {
	if a == nil {
		return nil
	}
	seen := map[string]bool{}
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case string:
			if strings.HasPrefix(v, "$") {
				seen[v] = true
			}
		case []any:
			for _, e := range v {
				walk(e)
			}
		case []string:
			for _, e := range v {
				walk(e)
			}
		case map[string]any:
			for _, e := range v {
				walk(e)
			}
		}
	}
	walk(a.Body)
	out := make([]string, 0, len(seen))
	for p := range seen {
		out = append(out, p)
	}
	sort.Strings(out)
	return out
}

// Fill returns a copy of a's body with each placeholder replaced by
// values[placeholder]; a placeholder missing from values is left as is.
func (a *Action) Fill(values map[string]string) map[string]any {
	var fill func(v any) any
	fill = func(v any) any {
		switch v := v.(type) {
		case string:
			if r, ok := values[v]; ok && strings.HasPrefix(v, "$") {
				return r
			}
			return v
		case []any:
			out := make([]any, len(v))
			for i, e := range v {
				out[i] = fill(e)
			}
			return out
		case []string:
			out := make([]any, len(v))
			for i, e := range v {
				out[i] = fill(e)
			}
			return out
		case map[string]any:
			out := make(map[string]any, len(v))
			for k, e := range v {
				out[k] = fill(e)
			}
			return out
		}
		return v
	}
	if a == nil {
		return nil
	}
	return fill(a.Body).(map[string]any)
}

// Actions every procedure shares.
var (
	// Disconnect is DisconnectCustomKeyStore: a FAILED store must be
	// disconnected before it can be connected again.
	Disconnect = &Action{Label: "Disconnect", Target: "TrentService.DisconnectCustomKeyStore",
		Body: map[string]any{"CustomKeyStoreId": "$store"}}
	// Connect is ConnectCustomKeyStore.
	Connect = &Action{Label: "Connect", Target: "TrentService.ConnectCustomKeyStore",
		Body: map[string]any{"CustomKeyStoreId": "$store"}}
	// Describe is DescribeCustomKeyStores for the one store.
	Describe = &Action{Label: "Describe", Target: "TrentService.DescribeCustomKeyStores",
		Body: map[string]any{"CustomKeyStoreId": "$store"}}
	// WaitDisconnect jumps the sandbox clock past a disconnection (2
	// virtual minutes).
	WaitDisconnect = &Action{Label: "Jump the clock 2 minutes", Target: "Simulator.AdvanceClock",
		Body: map[string]any{"Seconds": 120}}
	// WaitConnect jumps the sandbox clock past the longest connection (20
	// virtual minutes).
	WaitConnect = &Action{Label: "Jump the clock 20 minutes", Target: "Simulator.AdvanceClock",
		Body: map[string]any{"Seconds": 1200}}
	// UpdatePassword is UpdateCustomKeyStore with KeyStorePassword: it
	// tells KMS the current kmsuser password; it does not change the
	// password in the cluster.
	UpdatePassword = &Action{Label: "Update the key store password", Target: "TrentService.UpdateCustomKeyStore",
		Body: map[string]any{"CustomKeyStoreId": "$store", "KeyStorePassword": "$newPassword"}}
	// ChangeKmsuserPassword is the CloudHSM CLI's user change-password for
	// kmsuser, run by an admin.
	ChangeKmsuserPassword = &Action{Label: "Change the kmsuser password", Target: "Simulator.ChangeCryptoUserPassword",
		Body: map[string]any{"ClusterId": "$cluster", "Username": "kmsuser", "NewPassword": "$newPassword"}}
	// LoginKmsuser is the CloudHSM CLI's login as kmsuser.
	LoginKmsuser = &Action{Label: "Log in as kmsuser", Target: "Simulator.LoginCryptoUser",
		Body: map[string]any{"ClusterId": "$cluster", "Username": "kmsuser", "Password": "$newPassword"}}
	// LogoutKmsuser is the CloudHSM CLI's logout for kmsuser.
	LogoutKmsuser = &Action{Label: "Log out kmsuser", Target: "Simulator.LogoutCryptoUser",
		Body: map[string]any{"ClusterId": "$cluster", "Username": "kmsuser"}}
)

// Links into AWS's documentation.
const (
	AWSTroubleshooting    = "https://docs.aws.amazon.com/kms/latest/developerguide/fix-keystore.html"
	AWSConnectionFailure  = AWSTroubleshooting + "#fix-keystore-failed"
	AWSInvalidCredentials = AWSTroubleshooting + "#fix-keystore-password"
	AWSLogOutAndReconnect = AWSTroubleshooting + "#login-kmsuser-2"
	AWSConnectKeyStore    = "https://docs.aws.amazon.com/kms/latest/developerguide/disconnect-keystore.html"
	AWSKeyStoreConcepts   = "https://docs.aws.amazon.com/kms/latest/developerguide/hsm-key-store-concepts.html"
	AWSKeyStoreOverview   = "https://docs.aws.amazon.com/kms/latest/developerguide/custom-key-store-overview.html"
	AWSCreateFromBackup   = "https://docs.aws.amazon.com/cloudhsm/latest/userguide/create-cluster-from-backup.html"
)
