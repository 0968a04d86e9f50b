// Command wasm is engine.wasm: Keystore Lab's engine as a WASI preview 1
// reactor that the browser, the Cloudflare Worker and wazero all load.
//
// Build it with
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -trimpath -ldflags='-s -w' -o build/engine.wasm ./wasm
//
// (-s -w drops only the name section, which nothing reads: Go's own
// tables still name the functions of a trapped call.)
//
// # ABI
//
// This comment is the one description of the ABI; package
// keystorelab/wasm/abi implements the frames for Go, and the JavaScript
// hosts follow this text. All integers are little-endian; pointers and
// lengths are unsigned 32-bit offsets into the module's exported memory.
//
// Exports:
//
//	_initialize()                        the WASI reactor start function
//	alloc(size i32) -> ptr i32           a buffer of size bytes
//	free(ptr i32)                        releases a buffer from alloc or call
//	call(ptr i32, len i32) -> i64        one engine call; returns outPtr<<32 | outLen
//	memory                               the linear memory
//
// A host first calls _initialize, exactly once (wazero:
// WithStartFunctions("_initialize"); browser_wasi_shim:
// wasi.initialize(instance)). No other export may be called before it.
//
// To make a call, the host allocs len bytes, writes a request frame there,
// and calls call(ptr, len). The request frame is
//
//	[0:8]    host time, int64 milliseconds since the Unix epoch
//	[8:12]   n, the length of the target, uint32
//	[12:12+n] the target, e.g. "TrentService.CreateKey" (an X-Amz-Target value)
//	[12+n:]  the JSON request body (may be empty, meaning {})
//
// call returns outPtr<<32 | outLen (an i64, which JavaScript sees as a
// BigInt), locating the response frame
//
//	[0:4]    HTTP status, uint32
//	[4:12]   the engine's generation after the call, uint64; it moves
//	         whenever the call may have changed state, so a host that
//	         persists snapshots saves one when it moves
//	[12:]    the JSON response body
//
// The host copies the response frame out and then frees both buffers:
// free(outPtr) and free(ptr). Every buffer handed to the host, from alloc or
// from call, stays allocated (and unmoved) until the host frees it; freeing
// an unknown pointer does nothing. Memory may grow during any call, which
// detaches views taken before it (a JavaScript Uint8Array over
// memory.buffer, a wazero Memory().Read slice): take a fresh view after each
// call.
//
// The engine is created on the first call as engine.New(engine.Config{},
// now), with now the frame's host time: a zero seed, so every host gets the
// same deterministic sandbox until it calls Simulator.ResetSandbox or
// Simulator.ImportSnapshot.
//
// # Traps
//
// A malformed frame (shorter than its declared lengths, or not inside a
// buffer from alloc) is a host bug and traps. The engine itself never
// panics, but a Go runtime failure (out of memory, a deadlock) also traps.
// After any trap the instance's state is undefined: the host must throw the
// instance away and build a new one, restoring the last snapshot it saved
// (Simulator.ImportSnapshot). One instance must never be called by two
// threads or goroutines at once.
package main

import (
	"fmt"
	"time"
	"unsafe"

	"keystorelab/engine"
	"keystorelab/wasm/abi"
)

// main is never run: the module is a reactor, entered through its exports.
func main() {}

// pinned holds every buffer the host may still use, keyed by its address,
// so that the garbage collector neither frees nor reuses it. (The collector
// does not move objects; only reachability matters.) No mutex is needed:
// GOMAXPROCS is 1 and exports never run concurrently.
var pinned = map[unsafe.Pointer][]byte{}

// eng is the sandbox, created by the first call.
var eng *engine.Engine

// pin keeps b alive until the host frees it and returns its address.
// Empty buffers get one byte of capacity so that every address is distinct.
func pin(b []byte) unsafe.Pointer {
	if cap(b) == 0 {
		b = make([]byte, 0, 1)
	}
	p := unsafe.Pointer(unsafe.SliceData(b))
	pinned[p] = b
	return p
}

//go:wasmexport alloc
func alloc(size uint32) unsafe.Pointer {
	return pin(make([]byte, size))
}

//go:wasmexport free
func free(ptr unsafe.Pointer) {
	delete(pinned, ptr)
}

//go:wasmexport call
func call(ptr unsafe.Pointer, n uint32) uint64 {
	buf, ok := pinned[ptr]
	if !ok || uint64(n) > uint64(len(buf)) {
		panic(fmt.Sprintf("engine.wasm: call(%p, %d) is not inside a buffer from alloc", ptr, n))
	}
	req, err := abi.DecodeRequest(buf[:n])
	if err != nil {
		panic("engine.wasm: " + err.Error())
	}
	status, body := handle(req.Now, req.Target, req.Body)
	out := abi.AppendResponse(make([]byte, 0, abi.ResponseHeaderSize+len(body)), abi.Response{
		Status:     status,
		Generation: eng.Generation(),
		Body:       body,
	})
	return abi.Pack(uint32(uintptr(pin(out))), uint32(len(out)))
}

// handle passes one call to the engine, creating it on first use.
func handle(now time.Time, target string, body []byte) (int, []byte) {
	if eng == nil {
		eng = engine.New(engine.Config{}, now)
	}
	return eng.Handle(now, target, body)
}
