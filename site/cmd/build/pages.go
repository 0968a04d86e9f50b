package main

// The packages whose init functions register pages with site.Register.
// Add a blank import here for every package that defines pages, e.g.
// _ "keystorelab/site/docs".
import (
	_ "keystorelab/site"      // the console (index.html)
	_ "keystorelab/site/docs" // documentation and embed pages
)
