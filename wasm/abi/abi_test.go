package abi

import (
	"bytes"
	"errors"
	"testing"
	"time"
)

func TestRequestRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		req  Request
	}{
		{"typical", Request{
			Now:    time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC),
			Target: "TrentService.DescribeCustomKeyStores",
			Body:   []byte(`{"CustomKeyStoreName":"ks"}`),
		}},
		{"empty target and body", Request{Now: time.UnixMilli(0).UTC()}},
		{"before the epoch", Request{Now: time.Date(1969, 7, 20, 20, 17, 40, 0, time.UTC), Target: "x"}},
		{"far future", Request{Now: time.Date(9999, 12, 31, 23, 59, 59, 999e6, time.UTC), Target: "y", Body: []byte("{}")}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			frame := AppendRequest(nil, tc.req)
			if want := RequestHeaderSize + len(tc.req.Target) + len(tc.req.Body); len(frame) != want {
				t.Fatalf("frame length = %d, want %d", len(frame), want)
			}
			got, err := DecodeRequest(frame)
			if err != nil {
				t.Fatal(err)
			}
			if !got.Now.Equal(tc.req.Now) || got.Now.Location() != time.UTC {
				t.Errorf("Now = %v, want %v in UTC", got.Now, tc.req.Now)
			}
			if got.Target != tc.req.Target {
				t.Errorf("Target = %q, want %q", got.Target, tc.req.Target)
			}
			if !bytes.Equal(got.Body, tc.req.Body) {
				t.Errorf("Body = %q, want %q", got.Body, tc.req.Body)
			}
		})
	}
}

// TestRequestLayout pins the byte layout that the JavaScript hosts rely on.
func TestRequestLayout(t *testing.T) {
	frame := AppendRequest([]byte("prefix"), Request{
		Now:    time.UnixMilli(0x0102030405060708),
		Target: "T.x",
		Body:   []byte("{}"),
	})
	want := []byte("prefix\x08\x07\x06\x05\x04\x03\x02\x01\x03\x00\x00\x00T.x{}")
	if !bytes.Equal(frame, want) {
		t.Fatalf("frame = %q\nwant    %q", frame, want)
	}
}

func TestRequestTruncatesToMilliseconds(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 123456789, time.UTC)
	got, err := DecodeRequest(AppendRequest(nil, Request{Now: now}))
	if err != nil {
		t.Fatal(err)
	}
	if want := now.Truncate(time.Millisecond); !got.Now.Equal(want) {
		t.Fatalf("Now = %v, want %v", got.Now, want)
	}
}

func TestDecodeRequestShort(t *testing.T) {
	full := AppendRequest(nil, Request{Now: time.UnixMilli(1), Target: "TrentService.ListKeys"})
	for _, n := range []int{0, 1, 11, 12, len(full) - 1} {
		if _, err := DecodeRequest(full[:n]); !errors.Is(err, ErrShortFrame) {
			t.Errorf("DecodeRequest(%d of %d bytes) error = %v, want ErrShortFrame", n, len(full), err)
		}
	}
	// A declared length near 2^32 must not wrap around.
	huge := append(make([]byte, 8), 0xff, 0xff, 0xff, 0xff)
	if _, err := DecodeRequest(huge); !errors.Is(err, ErrShortFrame) {
		t.Errorf("DecodeRequest(target length 2^32-1) error = %v, want ErrShortFrame", err)
	}
}

func TestResponseRoundTrip(t *testing.T) {
	for _, r := range []Response{
		{Status: 200, Generation: 7, Body: []byte(`{"CustomKeyStores":[]}`)},
		{Status: 400, Generation: 1<<64 - 1, Body: []byte(`{"__type":"X","message":"m"}`)},
		{Status: 500},
	} {
		got, err := DecodeResponse(AppendResponse(nil, r))
		if err != nil {
			t.Fatal(err)
		}
		if got.Status != r.Status || got.Generation != r.Generation || !bytes.Equal(got.Body, r.Body) {
			t.Errorf("round trip of %+v gave %+v", r, got)
		}
	}
}

func TestResponseLayout(t *testing.T) {
	frame := AppendResponse(nil, Response{Status: 404, Generation: 0x0102030405060708, Body: []byte("{}")})
	want := []byte("\x94\x01\x00\x00\x08\x07\x06\x05\x04\x03\x02\x01{}")
	if !bytes.Equal(frame, want) {
		t.Fatalf("frame = %q\nwant    %q", frame, want)
	}
}

func TestDecodeResponseShort(t *testing.T) {
	for _, n := range []int{0, 4, 11} {
		if _, err := DecodeResponse(make([]byte, n)); !errors.Is(err, ErrShortFrame) {
			t.Errorf("DecodeResponse(%d bytes) error = %v, want ErrShortFrame", n, err)
		}
	}
}

func TestPack(t *testing.T) {
	for _, c := range [][2]uint32{{0, 0}, {1, 2}, {0xdeadbeef, 0xffffffff}, {0xffffffff, 0}} {
		v := Pack(c[0], c[1])
		if p, n := Unpack(v); p != c[0] || n != c[1] {
			t.Errorf("Unpack(Pack(%#x, %#x)) = %#x, %#x", c[0], c[1], p, n)
		}
	}
	if got := Pack(0x10, 0x20); got != 0x10_0000_0020 {
		t.Errorf("Pack(0x10, 0x20) = %#x, want ptr in the high word", got)
	}
}
