// Package docs is Keystore Lab's documentation: pages that explain AWS KMS
// custom key stores, each with a live widget (a small sandbox running
// engine.wasm in the page), and the same widgets as bare embed pages for
// an iframe.
//
// Pages register themselves with site.Register; site/cmd/build imports
// this package for its side effect. The troubleshooting text comes from
// package content and the connection-state rules from
// engine.StoreActionRules, so neither can drift from the console or the
// engine.
package docs

import (
	"encoding/json"
	"slices"
	"strconv"
	"strings"

	"github.com/a-h/templ"

	"keystorelab/engine"
	"keystorelab/site"
	"keystorelab/site/content"
)

// widgetsScript is the one script every docs and embed page loads.
const widgetsScript = "/static/widgets.js"

// A doc is one documentation page.
type doc struct {
	Slug   string // the file name under /docs/
	Title  string
	Blurb  string // one line for the index
	Widget widget
}

// A widget is one live sandbox that a docs page embeds and that is also
// served alone at /embed/<Name>.html.
type widget struct {
	Name  string // "connection-state", "error-codes", "kmsuser"
	Title string
	Blurb string
}

var (
	connectionWidget = widget{"connection-state", "Connect and disconnect a key store",
		"One AWS CloudHSM key store and its cluster: connect, disconnect, jump the clock, and watch the connection state."}
	errorWidget = widget{"error-codes", "Cause and fix a connection error",
		"Pick a cause, connect, watch the connection fail with its ConnectionErrorCode, and apply AWS's fix step by step."}
	kmsuserWidget = widget{"kmsuser", "Log in as kmsuser and reconnect",
		"AWS's \"How to log out and reconnect\" procedure, one button per step, against a connected key store."}
)

// widgets are every widget, in the order of the embed index.
var widgets = []widget{connectionWidget, errorWidget, kmsuserWidget}

// docs are the documentation pages, in reading order.
var docs = []doc{
	{"custom-key-stores", "What custom key stores are",
		"AWS CloudHSM key stores and external key stores, and what AWS KMS does when it connects one.", connectionWidget},
	{"connection-states", "Connection states",
		"The five ConnectionState values, how a key store moves between them, and what each state allows.", connectionWidget},
	{"connection-error-codes", "Connection error codes",
		"The ten ConnectionErrorCode values of an AWS CloudHSM key store: cause and fix.", errorWidget},
	{"kmsuser", "The kmsuser procedure",
		"How to log in to the cluster as kmsuser yourself, log out, and reconnect.", kmsuserWidget},
	{"ciphertext-blob", "The ciphertext blob",
		"What Encrypt returns, byte by byte: the cleartext header, one layer for AWS KMS and CloudHSM keys, two for external key store keys.", widget{}},
}

// blobScript is the ciphertext blob page's own inspector.
const blobScript = "/static/blobwidget.js"

func init() {
	// The index loads widgets.js too, only to show its own host in the
	// iframe snippets.
	pages := []site.Page{{Path: "/docs/", Title: "Docs", Section: "docs", Body: Index(), Scripts: []string{widgetsScript}}}
	for _, d := range docs {
		scripts := []string{widgetsScript}
		if d.Slug == "ciphertext-blob" {
			scripts = append(scripts, blobScript)
		}
		pages = append(pages, site.Page{Path: "/docs/" + d.Slug, Title: d.Title, Section: "docs",
			Body: docPage(d), Scripts: scripts})
	}
	for _, w := range widgets {
		pages = append(pages, site.Page{Path: "/embed/" + w.Name, Title: w.Title, Bare: true,
			Body: EmbedPage(w), Scripts: []string{widgetsScript}})
	}
	site.Register(pages...)
}

// docPage picks a page's body.
func docPage(d doc) templ.Component {
	switch d.Slug {
	case "custom-key-stores":
		return CustomKeyStoresPage(d)
	case "connection-states":
		return ConnectionStatesPage(d)
	case "connection-error-codes":
		return ErrorCodesPage(d)
	case "ciphertext-blob":
		return CiphertextBlobPage(d)
	default:
		return KmsuserPage(d)
	}
}

// embedURL is a widget's embed page, root-absolute.
func embedURL(w widget) string { return "/embed/" + w.Name + ".html" }

// iframeSnippet is the HTML a reader pastes to embed w on their own site;
// origin is where Keystore Lab is hosted.
func iframeSnippet(w widget, origin string) string {
	height := map[string]string{"connection-state": "540", "error-codes": "960", "kmsuser": "960"}[w.Name]
	return `<iframe src="` + origin + embedURL(w) + `" title="Keystore Lab: ` + w.Title +
		`" width="100%" height="` + height + `" style="border:1px solid #ccc" loading="lazy"></iframe>`
}

// A ruleRow is one row of the connection-state rule table.
type ruleRow struct {
	Key     string          // engine.StoreActionRules key, e.g. "UpdateCustomKeyStore.KeyStorePassword"
	Label   string          // what the console calls it
	For     string          // forBoth, forCloudHSM or forExternal
	Allowed map[string]bool // connection state -> allowed
}

// ruleLabels names each rule the way the AWS KMS console does (the
// Key store actions menu, and the fields of Edit); a rule the engine adds
// later shows with its API name alone until it gets a label here.
var ruleLabels = map[string]string{
	"ConnectCustomKeyStore":                                 "Connect",
	"DisconnectCustomKeyStore":                              "Disconnect",
	"UpdateCustomKeyStore.NewCustomKeyStoreName":            "Edit: Key store name",
	"UpdateCustomKeyStore.KeyStorePassword":                 "Edit: kmsuser password",
	"UpdateCustomKeyStore.CloudHsmClusterId":                "Edit: Cluster",
	"UpdateCustomKeyStore.XksProxyUriPath":                  "Edit: Proxy URI path",
	"UpdateCustomKeyStore.XksProxyAuthenticationCredential": "Edit: Proxy credential",
	"UpdateCustomKeyStore.XksProxyConnectivity":             "Edit: Proxy connectivity",
	"UpdateCustomKeyStore.XksProxyUriEndpoint":              "Edit: Proxy URI endpoint",
	"UpdateCustomKeyStore.XksProxyVpcEndpointServiceName":   "Edit: VPC endpoint service name",
	"UpdateCustomKeyStore.XksProxyVpcEndpointServiceOwner":  "(API only)",
	"DeleteCustomKeyStore":                                  "Delete",
	"DescribeCustomKeyStores":                               "Viewing the key store",
}

// Which key stores a rule applies to.
const (
	forBoth     = "Both"
	forCloudHSM = "AWS CloudHSM"
	forExternal = "External"
)

// storeTypeOf tells from a rule key which type of key store it concerns:
// the kmsuser password and the cluster belong to AWS CloudHSM key stores,
// the XksProxy fields to external key stores, the rest to both.
func storeTypeOf(key string) string {
	switch f := field(key); {
	case f == "KeyStorePassword" || f == "CloudHsmClusterId":
		return forCloudHSM
	case strings.HasPrefix(f, "Xks"):
		return forExternal
	}
	return forBoth
}

// ruleOrder is the order of the table's rows; keys not listed follow,
// sorted.
var ruleOrder = []string{"ConnectCustomKeyStore", "DisconnectCustomKeyStore", "UpdateCustomKeyStore.NewCustomKeyStoreName",
	"UpdateCustomKeyStore.KeyStorePassword", "UpdateCustomKeyStore.CloudHsmClusterId",
	"UpdateCustomKeyStore.XksProxyUriPath", "UpdateCustomKeyStore.XksProxyAuthenticationCredential",
	"UpdateCustomKeyStore.XksProxyConnectivity", "UpdateCustomKeyStore.XksProxyUriEndpoint",
	"UpdateCustomKeyStore.XksProxyVpcEndpointServiceName", "UpdateCustomKeyStore.XksProxyVpcEndpointServiceOwner",
	"DeleteCustomKeyStore", "DescribeCustomKeyStores"}

// ruleRows turns engine.StoreActionRules into table rows.
func ruleRows() []ruleRow {
	rules := engine.StoreActionRules()
	keys := make([]string, 0, len(rules))
	for k := range rules {
		keys = append(keys, k)
	}
	rank := func(k string) int {
		if i := slices.Index(ruleOrder, k); i >= 0 {
			return i
		}
		return len(ruleOrder)
	}
	slices.SortFunc(keys, func(a, b string) int {
		if d := rank(a) - rank(b); d != 0 {
			return d
		}
		return strings.Compare(a, b)
	})
	rows := make([]ruleRow, 0, len(keys))
	for _, k := range keys {
		row := ruleRow{Key: k, Label: ruleLabels[k], For: storeTypeOf(k), Allowed: map[string]bool{}}
		for _, st := range rules[k] {
			row.Allowed[st] = true
		}
		rows = append(rows, row)
	}
	return rows
}

// states are the ConnectionState names in the engine's order.
func states() []string {
	out := make([]string, 0, len(engine.ConnectionStates))
	for _, s := range engine.ConnectionStates {
		out = append(out, string(s))
	}
	return out
}

// operation and field split a rule key: "UpdateCustomKeyStore.KeyStorePassword"
// is the operation UpdateCustomKeyStore with the field KeyStorePassword.
func operation(key string) string { op, _, _ := strings.Cut(key, "."); return op }

func field(key string) string { _, f, _ := strings.Cut(key, "."); return f }

// actionJSON is an action's request body as JSON, for a data- attribute.
func actionJSON(a *content.Action) string {
	b, err := json.Marshal(a.Body)
	if err != nil {
		panic(err) // content's bodies are plain JSON values; a test renders them all
	}
	return string(b)
}

func times(a *content.Action) string { return strconv.Itoa(max(a.Times, 1)) }

// playable are the error codes the error-code widget offers.
func playable() []content.ErrorCode {
	var out []content.ErrorCode
	for _, e := range content.ErrorCodes {
		if e.Playable() {
			out = append(out, e)
		}
	}
	return out
}

// stepID is a stable id for a step's heading or button.
func stepID(prefix string, i int) string { return prefix + "-" + strconv.Itoa(i+1) }

func plus1(i int) string { return strconv.Itoa(i + 1) }

func ariaCurrent(on bool) string {
	if on {
		return "page"
	}
	return "false"
}

// timesNote marks an action made more than once.
func timesNote(a *content.Action) string {
	if a.Times > 1 {
		return " × " + times(a)
	}
	return ""
}

// snippetOrigin is the host the iframe snippets show at build time: the
// local server's default address. widgets.js replaces it with the page's
// own origin, so a deployed copy shows its own.
const snippetOrigin = "http://127.0.0.1:8080"

// docFor is the documentation page that explains a widget.
func docFor(w widget) string {
	for _, d := range docs {
		if d.Widget == w {
			return "/docs/" + d.Slug + ".html"
		}
	}
	return "/docs/"
}

// headingLevel is the level of a widget heading (see heading).
func headingLevel(embed, top bool) int {
	level := 3
	if embed {
		level--
	}
	if top {
		level--
	}
	return level
}

func headingAttrs(id, class string) templ.Attributes {
	a := templ.Attributes{"class": class}
	if id != "" {
		a["id"] = id
	}
	return a
}

// allowedIn lists, in the rule table's order, what a connection state
// allows an AWS CloudHSM key store, by console label (or API name when it
// has none).
func allowedIn(state string) string {
	var out []string
	for _, r := range ruleRows() {
		if r.Allowed[state] && r.Key != "DescribeCustomKeyStores" && r.For != forExternal {
			label := r.Label
			if label == "" {
				label = r.Key
			}
			out = append(out, label)
		}
	}
	if len(out) == 0 {
		return "nothing but viewing it"
	}
	return strings.Join(out, ", ")
}

// A diagramNode is one state box of StateDiagram.
type diagramNode struct {
	State, X, Y, TextX, TextY, Fill, Ink string
}

func node(state string, x, y int, fill, ink string) diagramNode {
	return diagramNode{state, strconv.Itoa(x), strconv.Itoa(y), strconv.Itoa(x + 75), strconv.Itoa(y + 25), fill, ink}
}

var diagramNodes = []diagramNode{
	node("DISCONNECTED", 10, 10, "#eaeded", "#16191f"),
	node("CONNECTING", 245, 10, "#0073bb", "#ffffff"),
	node("CONNECTED", 480, 10, "#1d8102", "#ffffff"),
	node("DISCONNECTING", 10, 170, "#0073bb", "#ffffff"),
	node("FAILED", 245, 170, "#d13212", "#ffffff"),
}
