// Command build writes Keystore Lab's static site: every registered page
// (package site and the packages imported in pages.go), the static files,
// the WASI shim and engine.wasm.
//
//	go run ./site/cmd/build -o dist -wasm build/engine.wasm -static web/static \
//		-shim web/node_modules/@bjorn3/browser_wasi_shim/dist
package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"flag"
	"fmt"
	"io/fs"
	"log"
	"os"
	"path/filepath"

	"keystorelab/site"
)

func main() {
	out := flag.String("o", "dist", "output directory")
	wasm := flag.String("wasm", "build/engine.wasm", "engine.wasm to copy to <o>/engine.wasm (and .gz)")
	static := flag.String("static", "web/static", "folder copied to <o>/static")
	shim := flag.String("shim", "web/node_modules/@bjorn3/browser_wasi_shim/dist", "browser_wasi_shim's dist folder, copied to <o>/vendor/browser_wasi_shim")
	flag.Parse()
	log.SetFlags(0)
	log.SetPrefix("build: ")
	if err := build(*out, *wasm, *static, *shim); err != nil {
		log.Fatal(err)
	}
}

func build(out, wasm, static, shim string) error {
	n := 0
	for _, p := range site.Pages() {
		var buf bytes.Buffer
		if err := site.Layout(p).Render(context.Background(), &buf); err != nil {
			return fmt.Errorf("page %s: %w", p.Path, err)
		}
		if err := write(filepath.Join(out, filepath.FromSlash(p.File())), buf.Bytes()); err != nil {
			return err
		}
		n++
	}
	if err := copyDir(static, filepath.Join(out, "static")); err != nil {
		return err
	}
	if err := copyDir(shim, filepath.Join(out, "vendor", "browser_wasi_shim")); err != nil {
		return err
	}
	mod, err := os.ReadFile(wasm)
	if err != nil {
		return err
	}
	if err := write(filepath.Join(out, "engine.wasm"), mod); err != nil {
		return err
	}
	var gz bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&gz, gzip.BestCompression)
	if _, err := zw.Write(mod); err != nil {
		return err
	}
	if err := zw.Close(); err != nil {
		return err
	}
	if err := write(filepath.Join(out, "engine.wasm.gz"), gz.Bytes()); err != nil {
		return err
	}
	log.Printf("%d pages, engine.wasm %d bytes (%d gzip) in %s", n, len(mod), gz.Len(), out)
	return nil
}

func write(path string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, data, 0o644)
}

func copyDir(src, dst string) error {
	return filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, err := filepath.Rel(src, path)
		if err != nil {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return write(filepath.Join(dst, rel), data)
	})
}
