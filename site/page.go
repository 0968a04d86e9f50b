// Package site is Keystore Lab's browser console: the page layout, the
// console's templ components, and the registry of pages the generator
// (site/cmd/build) writes as static HTML.
//
// Every page is registered once with [Register], usually from an init
// function of the package that defines it; site/cmd/build imports those
// packages and writes each registered page to dist/<path>.html.
package site

import (
	"slices"
	"strings"
	"sync"

	"github.com/a-h/templ"
)

// A Page is one static HTML file of the site.
type Page struct {
	// Path is the URL path, root-absolute: "/" and "/docs/" are index
	// pages (dist/index.html, dist/docs/index.html); "/docs/connect" is
	// written as dist/docs/connect.html.
	Path string
	// Title goes into <title> after "Keystore Lab – ".
	Title string
	// Section is the navigation entry shown as current: "keystores",
	// "clusters", "simulator" or "docs".
	Section string
	// Body is the page's main content.
	Body templ.Component
	// Bare drops the header and navigation (pages made for an iframe).
	Bare bool
	// Scripts are extra ES module scripts, root-absolute
	// ("/static/widgets.js").
	Scripts []string
}

// File is the page's file name under the output directory.
func (p Page) File() string {
	path := strings.TrimPrefix(p.Path, "/")
	if path == "" || strings.HasSuffix(path, "/") {
		return path + "index.html"
	}
	return strings.TrimSuffix(path, ".html") + ".html"
}

var (
	mu    sync.Mutex
	pages []Page
)

// Register adds pages to the site. Call it from an init function:
//
//	func init() { site.Register(site.Page{Path: "/docs/", Title: "Docs", Section: "docs", Body: Index()}) }
func Register(p ...Page) {
	mu.Lock()
	defer mu.Unlock()
	pages = append(pages, p...)
}

// Pages returns every registered page, sorted by path.
func Pages() []Page {
	mu.Lock()
	defer mu.Unlock()
	out := slices.Clone(pages)
	slices.SortFunc(out, func(a, b Page) int { return strings.Compare(a.Path, b.Path) })
	return out
}
