package site

import (
	"strconv"
	"strings"
)

// keyColumns are the optional columns of the Customer managed keys table, in
// table order, as AWS's console offers them in its Preferences. "Aliases" is
// always shown and is not listed; Origin and Custom key store ID are off until
// the user turns them on (localStorage "keystorelab.keyColumns").
var keyColumns = []storeColumn{
	{"id", "Key ID", true},
	{"status", "Status", true},
	{"spec", "Key spec", true},
	{"usage", "Key usage", true},
	{"origin", "Origin", false},
	{"cks", "Custom key store ID", false},
}

// defaultHiddenKeyColumns is the key table's data-hidden-cols before the
// user chooses.
func defaultHiddenKeyColumns() string {
	var out []string
	for _, c := range keyColumns {
		if !c.Shown {
			out = append(out, c.Key)
		}
	}
	return strings.Join(out, " ")
}

// keyTableSpan is the colspan of the "no keys" cell with every column shown
// (the selection radio and Aliases are always there).
func keyTableSpan() string {
	return strconv.Itoa(2 + len(keyColumns))
}

// keyActions are the Key actions menu's items with the key states that
// allow each, as AWS's key-state table has them: Enable and Disable work on
// an Unavailable key (they take effect when its store reconnects), and only
// a key pending deletion can have its deletion cancelled.
var keyActions = []struct {
	Action, Label, States string
}{
	{"enable", "Enable", "Disabled Unavailable"},
	{"disable", "Disable", "Enabled Unavailable"},
	{"schedule-deletion", "Schedule key deletion", "Enabled Disabled Unavailable"},
	{"cancel-deletion", "Cancel key deletion", "PendingDeletion"},
}

// keyOrigins are the Key material origin choices of the Create key wizard.
// Disabled ones are shown, with why, as AWS shows what an account cannot use.
var keyOrigins = []struct {
	Value, Label, Hint string
	Disabled           bool
}{
	{"AWS_KMS", "KMS - recommended", "AWS KMS creates and manages the key material in its own HSMs.", false},
	{"EXTERNAL", "External (Import key material)", "Not available in Keystore Lab: importing key material is not simulated.", true},
	{"AWS_CLOUDHSM", "AWS CloudHSM key store", "AWS KMS creates the key material in the AWS CloudHSM cluster of a custom key store you own.", false},
	{"EXTERNAL_KEY_STORE", "External key store", "The key material stays in your external key manager, outside AWS; AWS KMS reaches it through your external key store proxy.", false},
}

// monitoringRanges are the Monitoring section's time ranges (AWS's 1h 3h 12h
// 1d 3d 1w buttons) in seconds; 3 hours is the default.
var monitoringRanges = []struct {
	Label   string
	Seconds int
}{
	{"1h", 3600}, {"3h", 3 * 3600}, {"12h", 12 * 3600}, {"1d", 86400}, {"3d", 3 * 86400}, {"1w", 7 * 86400},
}

// monitoringGraphs are AWS's five graphs of an external key store's
// Monitoring section.
var monitoringGraphs = []struct {
	Key, Title, Hint string
}{
	{"requests", "Total requests", "The number of requests AWS KMS sent to the external key store proxy: the sum of XksProxyErrors, successes included."},
	{"reliability", "Reliability", "The percentage of proxy responses that were successes or non-retryable errors; only retryable errors lower it."},
	{"latency", "Latency", "The average time the proxy took to answer (XksProxyLatency, milliseconds), by KMS operation and XKS operation, highest first."},
	{"exceptions", "Top 5 exceptions", "The most frequent exceptions in proxy responses (XksProxyErrors by ExceptionName)."},
	{"certificate", "Certificate days to expire", "The days until the proxy's TLS certificate expires (XksProxyCertificateDaysToExpire)."},
}
