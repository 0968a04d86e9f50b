// Package abi encodes and decodes the frames that cross the boundary of
// engine.wasm. The module (package keystorelab/wasm) and every Go host
// (package keystorelab/wasm/host) use it, so the two sides cannot drift
// apart; the layouts themselves are documented once, in package
// keystorelab/wasm.
//
// All integers are little-endian. The package has no build tags and uses the
// standard library only.
package abi

import (
	"encoding/binary"
	"errors"
	"fmt"
	"time"
)

// Fixed sizes of the frame headers.
const (
	// RequestHeaderSize is the size of a request frame before the target:
	// 8 bytes of host time and 4 bytes of target length.
	RequestHeaderSize = 12
	// ResponseHeaderSize is the size of a response frame before the body:
	// 4 bytes of status and 8 bytes of generation.
	ResponseHeaderSize = 12
)

// ErrShortFrame reports a frame too short for the lengths it declares.
var ErrShortFrame = errors.New("abi: frame too short")

// Request is one call into the engine.
type Request struct {
	// Now is the host's time. It crosses the boundary in whole
	// milliseconds since the Unix epoch; DecodeRequest returns it in UTC.
	Now    time.Time
	Target string // an X-Amz-Target value, e.g. "TrentService.ListKeys"
	Body   []byte // the JSON request body
}

// Response is the engine's answer to one call.
type Response struct {
	Status     int    // HTTP status, e.g. 200 or 400
	Generation uint64 // the engine's Generation after the call
	Body       []byte // the JSON response body
}

// AppendRequest appends the request frame for r to dst and returns the
// extended slice.
func AppendRequest(dst []byte, r Request) []byte {
	dst = binary.LittleEndian.AppendUint64(dst, uint64(r.Now.UnixMilli()))
	dst = binary.LittleEndian.AppendUint32(dst, uint32(len(r.Target)))
	dst = append(dst, r.Target...)
	return append(dst, r.Body...)
}

// DecodeRequest parses a request frame. The returned Body aliases frame.
func DecodeRequest(frame []byte) (Request, error) {
	if len(frame) < RequestHeaderSize {
		return Request{}, fmt.Errorf("%w: request of %d bytes has no complete header", ErrShortFrame, len(frame))
	}
	ms := int64(binary.LittleEndian.Uint64(frame[0:8]))
	n := binary.LittleEndian.Uint32(frame[8:12])
	rest := frame[RequestHeaderSize:]
	if uint64(n) > uint64(len(rest)) {
		return Request{}, fmt.Errorf("%w: target of %d bytes declared, %d bytes left", ErrShortFrame, n, len(rest))
	}
	return Request{
		Now:    time.UnixMilli(ms).UTC(),
		Target: string(rest[:n]),
		Body:   rest[n:],
	}, nil
}

// AppendResponse appends the response frame for r to dst and returns the
// extended slice. Status must fit in 32 bits.
func AppendResponse(dst []byte, r Response) []byte {
	dst = binary.LittleEndian.AppendUint32(dst, uint32(r.Status))
	dst = binary.LittleEndian.AppendUint64(dst, r.Generation)
	return append(dst, r.Body...)
}

// DecodeResponse parses a response frame. The returned Body aliases frame.
func DecodeResponse(frame []byte) (Response, error) {
	if len(frame) < ResponseHeaderSize {
		return Response{}, fmt.Errorf("%w: response of %d bytes has no complete header", ErrShortFrame, len(frame))
	}
	return Response{
		Status:     int(binary.LittleEndian.Uint32(frame[0:4])),
		Generation: binary.LittleEndian.Uint64(frame[4:12]),
		Body:       frame[ResponseHeaderSize:],
	}, nil
}

// Pack joins a guest pointer and a length into the uint64 that the call
// export returns: ptr<<32 | n.
func Pack(ptr, n uint32) uint64 { return uint64(ptr)<<32 | uint64(n) }

// Unpack splits the result of the call export into pointer and length.
func Unpack(v uint64) (ptr, n uint32) { return uint32(v >> 32), uint32(v) }
