// Command keystorelab serves a Keystore Lab sandbox on a local endpoint that
// the AWS CLI and the AWS SDKs talk to unchanged:
//
//	keystorelab [-addr 127.0.0.1:8080] [-state .keystorelab/state.json | -no-state]
//	            [-seed FILE] [-clock-speed 60] [-engine native|wasm] [-wasm build/engine.wasm]
//	            [-site dist]
//
//	export AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_DEFAULT_REGION=us-east-1
//	aws kms describe-custom-key-stores --endpoint-url http://127.0.0.1:8080
//
// Requests are not authenticated: any credentials work.
//
// The sandbox is saved to the state file after every change and loaded from
// it on start; a state file that cannot be loaded stops the server, and is
// left as it is. -seed applies a seed file (see package keystorelab/web/seed)
// to a fresh sandbox, which replaces the saved one once the seed has been
// applied without error.
//
// Every request that is not an API call is served from the browser
// playground that make site builds into -site (default dist), when that
// directory exists; otherwise GET / answers a plain-text page about the
// endpoint.
//
// The engine runs as native Go code, or as build/engine.wasm under wazero
// with -engine wasm (or KEYSTORELAB_ENGINE=wasm). Both read and write the
// same state file.
package main

import (
	"context"
	"crypto/rand"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"keystorelab/engine"
	"keystorelab/web/seed"
	"keystorelab/web/server"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	switch {
	case errors.Is(err, flag.ErrHelp):
		os.Exit(0)
	case errors.Is(err, errUsage):
		os.Exit(2)
	case err != nil:
		fmt.Fprintln(os.Stderr, "keystorelab:", err)
		os.Exit(1)
	}
}

// errUsage reports bad flags, which the flag package has already printed.
var errUsage = errors.New("usage")

// options are the command's flags.
type options struct {
	addr       string
	statePath  string // "" keeps the sandbox in memory
	seedPath   string
	clockSpeed float64
	speedSet   bool // -clock-speed was given
	engine     string
	wasmPath   string
	siteDir    string
	// XKS proxies outside the sandbox (native engine only).
	xksExternal bool
	xksCABundle string
	xksResolve  map[string]string
	allowHosts  []string
}

// parseFlags reads args; getenv supplies KEYSTORELAB_ENGINE.
func parseFlags(args []string, getenv func(string) string, stderr io.Writer) (*options, error) {
	o := &options{}
	fs := flag.NewFlagSet("keystorelab", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.addr, "addr", "127.0.0.1:8080", "`address` to listen on (keep it on loopback: requests are not authenticated)")
	fs.StringVar(&o.statePath, "state", ".keystorelab/state.json", "`file` the sandbox is saved to and loaded from; empty keeps it in memory")
	noState := fs.Bool("no-state", false, "keep the sandbox in memory only (same as -state \"\")")
	fs.StringVar(&o.seedPath, "seed", "", "apply the seed `file` to a fresh sandbox, replacing the saved one")
	fs.Float64Var(&o.clockSpeed, "clock-speed", 60, "virtual seconds per real second (0 pauses the clock); a loaded sandbox keeps its own unless this is given")
	engineDefault := getenv("KEYSTORELAB_ENGINE")
	if engineDefault == "" {
		engineDefault = "native"
	}
	fs.StringVar(&o.engine, "engine", engineDefault, "engine `kind`: native, or wasm to run engine.wasm under wazero; KEYSTORELAB_ENGINE sets the default")
	fs.StringVar(&o.wasmPath, "wasm", "build/engine.wasm", "`file` of the engine module, for -engine wasm")
	fs.StringVar(&o.siteDir, "site", "dist", "`directory` of the built browser playground (make site) to serve")
	fs.BoolVar(&o.xksExternal, "xks-external", false, "let external key stores reach XKS proxies that are not simulated, over HTTPS (native engine only)")
	fs.StringVar(&o.xksCABundle, "xks-ca-bundle", "", "with -xks-external: PEM `file` of CA certificates to trust besides the system's")
	o.xksResolve = map[string]string{}
	fs.Func("xks-resolve", "with -xks-external: dial `host=address` instead of host:443 (repeatable), like curl --resolve", func(v string) error {
		host, addr, ok := strings.Cut(v, "=")
		if !ok || host == "" || addr == "" {
			return errors.New("want host=address, e.g. xks.example.com=127.0.0.1:8443")
		}
		o.xksResolve[strings.ToLower(host)] = addr
		return nil
	})
	fs.Func("allow-host", "also answer requests whose Host is `name` (repeatable; * for any), besides loopback addresses and localhost", func(v string) error {
		if v == "" {
			return errors.New("want a host name")
		}
		o.allowHosts = append(o.allowHosts, v)
		return nil
	})
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil, err
		}
		return nil, errUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "keystorelab: unexpected argument %q\n", fs.Arg(0))
		fs.Usage()
		return nil, errUsage
	}
	fs.Visit(func(f *flag.Flag) { o.speedSet = o.speedSet || f.Name == "clock-speed" })
	if *noState {
		o.statePath = ""
	}
	if o.clockSpeed < 0 {
		return nil, fmt.Errorf("-clock-speed %v: must be 0 or more", o.clockSpeed)
	}
	if o.engine != "native" && o.engine != "wasm" {
		return nil, fmt.Errorf("-engine %q: want native or wasm", o.engine)
	}
	return o, nil
}

// run serves until ctx is cancelled, then shuts down and saves.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	o, err := parseFlags(args, getenv, stderr)
	if err != nil {
		return err
	}
	logger := log.New(stderr, "", log.LstdFlags)

	var doc *seed.File
	if o.seedPath != "" {
		data, err := os.ReadFile(o.seedPath)
		if err != nil {
			return err
		}
		if doc, err = seed.Parse(data); err != nil {
			return fmt.Errorf("%s: %w", o.seedPath, err)
		}
	}

	// Listen first: a busy port must fail before the saved state is touched.
	ln, err := net.Listen("tcp", o.addr)
	if err != nil {
		return err
	}
	defer ln.Close()

	var transport engine.XKSTransport
	if o.xksExternal {
		client, err := server.NewXKSClient(o.xksCABundle, o.xksResolve)
		if err != nil {
			return err
		}
		transport = client.RoundTrip
	}
	k, err := newKind(ctx, o.engine, o.wasmPath, transport, o.statePath != "")
	if err != nil {
		return err
	}
	defer k.close()

	backend, durable, err := openSandbox(k, o, doc, logger)
	if err != nil {
		return err
	}
	if durable != nil {
		defer durable.Close()
	}
	cfg := server.Config{Backend: backend, Durable: durable, Logger: logger, AllowedHosts: o.allowHosts,
		CompactAlways: o.xksExternal}
	site := hasSite(o.siteDir)
	if site {
		cfg.Fallback = server.Static(o.siteDir)
	} else {
		logger.Printf("no site in %s: run make site to build the browser playground; serving a plain-text page on /", o.siteDir)
	}
	srv := server.New(cfg)
	if o.speedSet && doc == nil && durable != nil {
		body := fmt.Appendf(nil, `{"Speed":%v}`, o.clockSpeed)
		if status, resp := srv.Call("Simulator.SetClockSpeed", body); status != 200 {
			return fmt.Errorf("-clock-speed: Simulator.SetClockSpeed answered %d: %s", status, resp)
		}
	}

	url := "http://" + displayAddr(ln.Addr())
	fmt.Fprintf(stdout, "Keystore Lab is serving %s (%s engine)\n", url, o.engine)
	fmt.Fprintf(stdout, "Try: aws kms describe-custom-key-stores --endpoint-url %s\n", url)
	if site {
		fmt.Fprintf(stdout, "Or open %s/ in a browser for the playground\n", url)
	}

	hs := &http.Server{Handler: srv, ReadHeaderTimeout: 10 * time.Second, ErrorLog: logger}
	served := make(chan error, 1)
	go func() { served <- hs.Serve(ln) }()
	select {
	case err = <-served:
	case <-ctx.Done():
		shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		err = hs.Shutdown(shutdownCtx)
		cancel()
		if err != nil {
			hs.Close() // requests still running after 5 s are cut off
		}
		<-served
	}
	if ferr := srv.Flush(); ferr != nil {
		err = errors.Join(err, ferr)
	}
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
}

const moveAway = "move the file away, or choose another with -state, to start a fresh sandbox"

// openSandbox loads the saved sandbox (its state file and journal) or makes
// a fresh one, and applies the seed file doc (which always starts from a
// fresh sandbox) if there is one. Without a state file the sandbox lives in
// memory and the Durable is nil.
func openSandbox(k kind, o *options, doc *seed.File, logger *log.Logger) (server.Backend, *server.Durable, error) {
	now := time.Now()
	fresh := func(now time.Time) (server.Backend, error) {
		var s [32]byte
		rand.Read(s[:])
		return k.fresh(now, s, o.clockSpeed)
	}
	if doc == nil && o.statePath == "" {
		b, err := fresh(now)
		return b, nil, err
	}
	var d *server.Durable
	var b server.Backend
	if doc == nil {
		var err error
		d, b, err = server.OpenDurable(o.statePath, server.Opener{Restore: k.restore, Fresh: fresh}, now)
		if err != nil {
			return nil, nil, fmt.Errorf("%w (%s)", err, moveAway)
		}
		logger.Printf("loaded the sandbox from %s", o.statePath)
		return b, d, nil
	}

	// Seed a fresh sandbox without saving, so that a seed that fails
	// halfway leaves the saved sandbox as it was.
	b, err := fresh(now)
	if err != nil {
		return nil, nil, err
	}
	logger.Printf("applying seed file %s to a fresh sandbox", o.seedPath)
	res, err := doc.Apply(server.New(server.Config{Backend: b, Logger: logger}).Call)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", o.seedPath, err)
	}
	for _, c := range res.Clusters {
		logger.Printf("seeded cluster %s: %s", c.Ref, c.ClusterID)
	}
	for _, ks := range res.KeyStores {
		line := fmt.Sprintf("seeded key store %s: %s %s", ks.Name, ks.CustomKeyStoreID, ks.ConnectionState)
		if ks.ConnectionErrorCode != "" {
			line += " (" + ks.ConnectionErrorCode + ")"
		}
		logger.Print(line)
	}
	if o.statePath != "" {
		d = server.NewDurable(o.statePath, server.Opener{Restore: k.restore, Fresh: fresh})
		if err := d.Replace(b, time.Now()); err != nil {
			return nil, nil, fmt.Errorf("%w (%s)", err, moveAway)
		}
		logger.Printf("seeded sandbox saved to %s, replacing any sandbox saved there", o.statePath)
	}
	return b, d, nil
}

// hasSite reports whether dir is a directory, which -site serves.
func hasSite(dir string) bool {
	info, err := os.Stat(dir)
	return err == nil && info.IsDir()
}

// displayAddr is the address a client on this machine uses to reach a
// listener on addr.
func displayAddr(addr net.Addr) string {
	tcp, ok := addr.(*net.TCPAddr)
	if !ok {
		return addr.String()
	}
	host := tcp.IP.String()
	switch {
	case tcp.IP.Equal(net.IPv4zero):
		host = "127.0.0.1"
	case tcp.IP.IsUnspecified():
		host = "localhost"
	}
	return net.JoinHostPort(host, fmt.Sprint(tcp.Port))
}
