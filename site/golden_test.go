package site

import (
	"bytes"
	"context"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/a-h/templ"

	"keystorelab/site/content"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// fixedModel is a ConsoleModel that does not change when the engine or the
// content does, so the golden files test rendering alone.
func fixedModel() ConsoleModel {
	return ConsoleModel{
		Rules: map[string][]string{
			"ConnectCustomKeyStore":                                 {"CONNECTED", "CONNECTING", "DISCONNECTED"},
			"DisconnectCustomKeyStore":                              {"CONNECTED", "CONNECTING", "FAILED"},
			"UpdateCustomKeyStore.NewCustomKeyStoreName":            {"CONNECTED", "CONNECTING", "DISCONNECTED", "DISCONNECTING", "FAILED"},
			"UpdateCustomKeyStore.KeyStorePassword":                 {"DISCONNECTED"},
			"UpdateCustomKeyStore.CloudHsmClusterId":                {"DISCONNECTED"},
			"DeleteCustomKeyStore":                                  {"DISCONNECTED"},
			"UpdateCustomKeyStore.XksProxyUriPath":                  {"CONNECTED", "CONNECTING", "DISCONNECTED", "DISCONNECTING", "FAILED"},
			"UpdateCustomKeyStore.XksProxyAuthenticationCredential": {"CONNECTED", "CONNECTING", "DISCONNECTED", "DISCONNECTING", "FAILED"},
			"UpdateCustomKeyStore.XksProxyConnectivity":             {"DISCONNECTED"},
			"UpdateCustomKeyStore.XksProxyUriEndpoint":              {"DISCONNECTED"},
		},
		ErrorCodes: []content.ErrorCode{fixedCode()},
	}
}

func fixedCode() content.ErrorCode {
	return content.ErrorCode{
		Code:    "USER_LOGGED_IN",
		Title:   "kmsuser is logged in",
		Summary: "KMS cannot log in as kmsuser <while> it is logged in.",
		Cause:   "Someone forgot to log out.",
		Steps: []content.Step{
			{Text: "Disconnect.", Action: &content.Action{Label: "Disconnect", Target: "TrentService.DisconnectCustomKeyStore", Body: map[string]any{"CustomKeyStoreId": "$store"}}},
			{Text: "Log out kmsuser.", Action: &content.Action{Label: "Log out", Target: "Simulator.LogoutCryptoUser", Body: map[string]any{"ClusterId": "$cluster", "Username": "kmsuser"}}},
			{Text: "Check by hand."},
		},
		AWSDoc:    "https://docs.aws.amazon.com/kms/latest/developerguide/fix-keystore.html",
		Reproduce: []content.Step{{Text: "Fail five logins.", Action: &content.Action{Label: "Fail", Target: "Simulator.LoginCryptoUser", Body: map[string]any{"ClusterId": "$cluster", "Username": "kmsuser", "Password": "wrong"}, Times: 5}}},
	}
}

func TestGolden(t *testing.T) {
	m := fixedModel()
	tests := []struct {
		name string
		c    templ.Component
	}{
		{"store-table", StoreTable()},
		{"keystores", KeyStoresView(m)},
		{"create-form", CreateStoreForm()},
		{"edit-form", EditStoreForm(m)},
		{"detail", DetailView(m)},
		{"clusters", ClustersView()},
		{"simulator", SimulatorView()},
		{"activity", ActivityPanel()},
		{"status-badge", StatusBadge()},
		{"preferences", templ.Join(PreferencesButton(), ColumnPreferences(), PasswordToggle("create-password"))},
		{"troubleshoot-section", ErrorCodeSection(fixedCode())},
		{"xks-create-form", CreateExternalStoreForm()},
		{"xks-edit-form", EditExternalStoreForm(m)},
		{"xks-simulator", XksSimulatorPanel()},
		{"xks-troubleshoot-section", xksErrorCodeSection(fixedCode())},
		{"keys", KeysView()},
		{"key-create-wizard", CreateKeyWizard()},
		{"key-detail", KeyDetailView()},
		{"store-keys", StoreKeysSection()},
		{"monitoring", MonitoringSection()},
		{"hsm-keys", HsmKeysPanel()},
		{"layout", Layout(Page{Path: "/x", Title: "Example", Section: "clusters", Body: templ.Raw("<p>body</p>"), Scripts: []string{"/static/x.js"}})},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := tt.c.Render(context.Background(), &buf); err != nil {
				t.Fatal(err)
			}
			got := buf.Bytes()
			golden := filepath.Join("testdata", tt.name+".html")
			actual := filepath.Join("testdata", tt.name+".actual.html")
			if *update {
				if err := os.WriteFile(golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test ./site -update to create it)", err)
			}
			if !bytes.Equal(got, want) {
				_ = os.WriteFile(actual, got, 0o644)
				t.Errorf("%s differs from %s; the rendering is in %s (go test ./site -update accepts it)", tt.name, golden, actual)
				return
			}
			_ = os.Remove(actual)
		})
	}
}

// TestRulesReachMarkup checks that the engine's rules, not a copy, end up
// in the menu: every state list of engine.StoreActionRules is rendered.
func TestRulesReachMarkup(t *testing.T) {
	m := NewConsoleModel()
	var buf bytes.Buffer
	if err := ActionsMenu(m).Render(context.Background(), &buf); err != nil {
		t.Fatal(err)
	}
	for _, op := range []string{"ConnectCustomKeyStore", "DisconnectCustomKeyStore", "DeleteCustomKeyStore"} {
		want := `data-allowed-states="` + strings.Join(m.Rules[op], " ") + `"`
		if !strings.Contains(buf.String(), want) {
			t.Errorf("the menu lacks %s for %s", want, op)
		}
	}
}

func TestPageFile(t *testing.T) {
	for path, want := range map[string]string{"/": "index.html", "/docs/": "docs/index.html", "/docs/connect": "docs/connect.html", "/embed/x.html": "embed/x.html"} {
		if got := (Page{Path: path}).File(); got != want {
			t.Errorf("Page{Path: %q}.File() = %q, want %q", path, got, want)
		}
	}
}
