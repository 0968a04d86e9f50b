package docs

import (
	"bytes"
	"context"
	"regexp"
	"strings"
	"testing"

	"keystorelab/engine"
	"keystorelab/site"
	"keystorelab/site/content"
)

func render(t *testing.T, p site.Page) string {
	t.Helper()
	var buf bytes.Buffer
	if err := site.Layout(p).Render(context.Background(), &buf); err != nil {
		t.Fatalf("%s: %v", p.Path, err)
	}
	return buf.String()
}

func page(t *testing.T, path string) string {
	t.Helper()
	for _, p := range site.Pages() {
		if p.Path == path {
			return render(t, p)
		}
	}
	t.Fatalf("no page %s", path)
	return ""
}

func TestPagesRegistered(t *testing.T) {
	want := []string{"/docs/", "/docs/custom-key-stores", "/docs/connection-states", "/docs/connection-error-codes", "/docs/kmsuser",
		"/embed/connection-state", "/embed/error-codes", "/embed/kmsuser"}
	for _, w := range want {
		html := page(t, w)
		if n := strings.Count(html, "<h1"); n != 1 {
			t.Errorf("%s has %d h1 elements, want 1", w, n)
		}
		if strings.Contains(html, ` id=""`) {
			t.Errorf("%s has an empty id", w)
		}
		if !strings.Contains(html, `src="/static/widgets.js"`) {
			t.Errorf("%s does not load widgets.js", w)
		}
	}
}

// TestRuleTableFollowsEngine checks every cell of the rendered table
// against engine.StoreActionRules.
func TestRuleTableFollowsEngine(t *testing.T) {
	html := page(t, "/docs/connection-states")
	rules := engine.StoreActionRules()
	for key, allowed := range rules {
		row := regexp.MustCompile(`(?s)<tr data-rule="` + regexp.QuoteMeta(key) + `">(.*?)</tr>`).FindStringSubmatch(html)
		if row == nil {
			t.Errorf("no row for %s", key)
			continue
		}
		for _, st := range engine.ConnectionStates {
			want := "false"
			for _, a := range allowed {
				if a == string(st) {
					want = "true"
				}
			}
			cell := `data-state="` + string(st) + `" data-allowed="` + want + `"`
			if !strings.Contains(row[1], cell) {
				t.Errorf("%s in %s: want allowed=%s", key, st, want)
			}
		}
	}
	if n := strings.Count(html, "<tr data-rule="); n != len(rules) {
		t.Errorf("%d rows for %d rules", n, len(rules))
	}
	for key := range rules {
		if ruleLabels[key] == "" {
			t.Errorf("rule %s has no console label: add one to ruleLabels in site/docs/docs.go", key)
		}
	}
}

func TestErrorCodesPageHasEveryCode(t *testing.T) {
	html := page(t, "/docs/connection-error-codes")
	for _, c := range engine.CloudHSMConnectionErrorCodes {
		if !strings.Contains(html, `id="`+string(c)+`"`) {
			t.Errorf("no section for %s", c)
		}
	}
}

func TestWidgetsRenderEveryPlayableCode(t *testing.T) {
	html := page(t, "/embed/error-codes")
	for _, e := range content.ErrorCodes {
		has := strings.Contains(html, `data-testid="widget-panel-`+e.Code+`"`)
		if has != e.Playable() {
			t.Errorf("%s: panel %v, playable %v", e.Code, has, e.Playable())
		}
	}
	if strings.Contains(page(t, "/embed/kmsuser"), `class="skip"`) {
		t.Error("an embed page has the site's chrome")
	}
}
