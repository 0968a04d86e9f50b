package site

import (
	"strconv"
	"strings"
)

// storeColumn is an optional column of the AWS CloudHSM key stores table.
// Key names the column in data-col, in data-hidden-cols and in the
// browser's saved preferences (localStorage "keystorelab.columns").
type storeColumn struct {
	Key, Label string
	// Shown is whether the column is visible before the user chooses.
	Shown bool
}

// storeColumns are StoreTable's optional columns, in table order, as AWS's
// console offers them in its Preferences. "Custom key store name" is always
// shown and is not listed.
var storeColumns = []storeColumn{
	{"id", "Custom key store ID", true},
	{"cluster", "AWS CloudHSM cluster ID", true},
	{"hsms", "Number of HSMs", true},
	{"status", "Status", true},
	{"created", "Creation date", false},
}

// defaultHiddenColumns is the table's data-hidden-cols before the user
// chooses: the keys of the columns not shown by default, space-separated.
func defaultHiddenColumns() string {
	var out []string
	for _, c := range storeColumns {
		if !c.Shown {
			out = append(out, c.Key)
		}
	}
	return strings.Join(out, " ")
}

// storeTableSpan is the colspan of the table's "no key stores" cell when
// every column is shown; prefs.js lowers it as columns are hidden.
func storeTableSpan() string {
	return strconv.Itoa(2 + len(storeColumns))
}
