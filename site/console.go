package site

import (
	"encoding/json"
	"strconv"
	"strings"

	"keystorelab/engine"
	"keystorelab/site/content"
)

func init() {
	Register(Page{
		Path:    "/",
		Title:   "Custom key stores",
		Section: "keystores",
		Body:    Console(NewConsoleModel()),
		Scripts: []string{"/static/console.js"},
	})
}

// ConsoleModel is what the console's markup is rendered from at build
// time: AWS's connection-state rules and the troubleshooting content.
// Everything that changes at run time comes from the engine's JSON through
// the binder.
type ConsoleModel struct {
	// Rules is engine.StoreActionRules(): operation (or
	// "UpdateCustomKeyStore.<Field>") to the connection states allowing it.
	Rules map[string][]string
	// ErrorCodes is content.ErrorCodes.
	ErrorCodes []content.ErrorCode
	// XKSErrorCodes is content.XKSErrorCodes (external key stores).
	XKSErrorCodes []content.ErrorCode
}

// NewConsoleModel returns the model the generator renders.
func NewConsoleModel() ConsoleModel {
	return ConsoleModel{Rules: engine.StoreActionRules(), ErrorCodes: content.ErrorCodes, XKSErrorCodes: content.XKSErrorCodes}
}

// States returns the states allowing op, space-separated, for a
// data-allowed-states attribute.
func (m ConsoleModel) States(op ...string) string {
	seen := map[string]bool{}
	var out []string
	for _, st := range []string{"CONNECTED", "CONNECTING", "DISCONNECTED", "DISCONNECTING", "FAILED"} {
		for _, o := range op {
			for _, s := range m.Rules[o] {
				if s == st && !seen[st] {
					seen[st] = true
					out = append(out, st)
				}
			}
		}
	}
	return strings.Join(out, " ")
}

// editStates are the states in which at least one field can be edited.
func (m ConsoleModel) editStates() string {
	return m.States("UpdateCustomKeyStore.NewCustomKeyStoreName", "UpdateCustomKeyStore.KeyStorePassword", "UpdateCustomKeyStore.CloudHsmClusterId")
}

// xksEditStates are the states in which at least one field of an external
// key store can be edited.
func (m ConsoleModel) xksEditStates() string {
	return m.States("UpdateCustomKeyStore.NewCustomKeyStoreName", "UpdateCustomKeyStore.XksProxyUriPath",
		"UpdateCustomKeyStore.XksProxyAuthenticationCredential", "UpdateCustomKeyStore.XksProxyConnectivity",
		"UpdateCustomKeyStore.XksProxyUriEndpoint", "UpdateCustomKeyStore.XksProxyVpcEndpointServiceName")
}

// actionBody is an action's request body as JSON, placeholders included.
func actionBody(a *content.Action) string {
	b, err := json.Marshal(a.Body)
	if err != nil {
		return "{}"
	}
	return string(b)
}

// times is how many times to make an action's call.
func times(a *content.Action) string {
	return strconv.Itoa(max(a.Times, 1))
}

// itoa is strconv.Itoa for templates.
func itoa(i int) string { return strconv.Itoa(i) }

// stepID is the data-testid of a fix step's button.
func stepID(code string, i int) string {
	return "ts-step-" + code + "-" + strconv.Itoa(i)
}
