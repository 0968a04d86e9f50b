package server

import "keystorelab/engine"

// Native returns the native engine as a Backend.
func Native(e *engine.Engine) Backend { return native{e} }

type native struct{ *engine.Engine }

// Snapshot returns e.Snapshot(); the native engine's never fails.
func (n native) Snapshot() ([]byte, error) { return n.Engine.Snapshot(), nil }
