package engine

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"slices"
	"sync"
)

// # The ciphertext blob, version 1
//
// AWS KMS's ciphertext format is proprietary. Keystore Lab's is its own,
// and carries what Decrypt needs without a KeyId: the key, and for each
// layer of encryption its IV and tag. All integers are big-endian.
//
//	offset  size  field
//	0       1     version, 0x01
//	1       1     origin: 0x01 AWS_KMS, 0x02 AWS_CLOUDHSM, 0x03 EXTERNAL_KEY_STORE
//	2       16    key ID (the UUID's 16 bytes)
//	                                                    -- the header is bytes 0-17
//
// AWS_KMS and AWS_CLOUDHSM keys: one layer of AES-256-GCM, by the KMS key
// material (AWS_KMS) or by the key in the CloudHSM cluster (AWS_CLOUDHSM):
//
//	18      12    IV
//	30      n     ciphertext (n = length of the plaintext)
//	30+n    16    GCM tag
//
// The GCM's additional authenticated data is header || context, where
// context is the encryption context in canonical form: uint16 pair count,
// then for each pair, sorted by key, uint16 len(key) || key || uint16
// len(value) || value.
//
// EXTERNAL_KEY_STORE keys: double encryption. The inner layer is the
// AES-256-GCM of the KMS key material exactly as above (IV || ciphertext ||
// tag, 28+n bytes, same AAD); the proxy's Encrypt (AES_GCM with the
// external key) wraps that inner layer:
//
//	18      1     L, length of the proxy's IV (12 or 16)
//	19      L     IV of the outer layer
//	19+L    1     M, length of the proxy's ciphertextMetadata (0-20)
//	20+L    M     ciphertextMetadata
//	20+L+M  2     C, length of the outer ciphertext (= 28+n)
//	22+L+M  C     outer ciphertext: the inner layer, encrypted by the external key
//	22+L+M+C 16   outer GCM tag
//	38+L+M+C 32   HMAC-SHA256 over every byte before it, then context, keyed
//	              with a key derived from the KMS key material
//
// The AAD sent to the proxy is header || SHA-256(context), which binds the
// outer layer to the key and the encryption context. The HMAC lets KMS
// reject a changed blob or a wrong encryption context before it calls the
// proxy (InvalidCiphertextException); a proxy that then fails to decrypt is
// a proxy problem (KMSInvalidStateException).
const (
	blobVersion    = 1
	blobHeaderSize = 18
	gcmIVSize      = 12
	gcmTagSize     = 16
	blobMACSize    = 32
)

var originCodes = map[string]byte{OriginAWSKMS: 1, OriginCloudHSM: 2, OriginXKS: 3}

// blob is a parsed ciphertext blob.
type blob struct {
	raw    []byte
	origin string
	keyID  string
	// one-layer blobs
	iv, sealed []byte // sealed is ciphertext || tag
	// external key store blobs
	outerIV, metadata, outerCT, outerTag, mac []byte
}

var errBadBlob = errors.New("not a Keystore Lab ciphertext blob")

func (b *blob) header() []byte { return b.raw[:blobHeaderSize] }

// parseBlob checks a blob's structure; it does not decrypt.
func parseBlob(raw []byte) (*blob, error) {
	if len(raw) < blobHeaderSize || raw[0] != blobVersion {
		return nil, errBadBlob
	}
	b := &blob{raw: raw, keyID: formatUUID(raw[2:18])}
	for name, code := range originCodes {
		if raw[1] == code {
			b.origin = name
		}
	}
	rest := raw[blobHeaderSize:]
	switch b.origin {
	case OriginAWSKMS, OriginCloudHSM:
		if len(rest) < gcmIVSize+gcmTagSize {
			return nil, errBadBlob
		}
		b.iv, b.sealed = rest[:gcmIVSize], rest[gcmIVSize:]
	case OriginXKS:
		take := func(n int) []byte {
			if n < 0 || len(rest) < n {
				rest = nil
				return nil
			}
			out := rest[:n]
			rest = rest[n:]
			return out
		}
		l := take(1)
		if l == nil || (l[0] != 12 && l[0] != 16) {
			return nil, errBadBlob
		}
		b.outerIV = take(int(l[0]))
		m := take(1)
		if m == nil || m[0] > 20 {
			return nil, errBadBlob
		}
		b.metadata = take(int(m[0]))
		c := take(2)
		if c == nil {
			return nil, errBadBlob
		}
		b.outerCT = take(int(binary.BigEndian.Uint16(c)))
		b.outerTag = take(gcmTagSize)
		b.mac = take(blobMACSize)
		if b.mac == nil || len(rest) != 0 || len(b.outerCT) < gcmIVSize+gcmTagSize {
			return nil, errBadBlob
		}
	default:
		return nil, errBadBlob
	}
	return b, nil
}

func blobHeader(origin, keyID string) []byte {
	h := make([]byte, blobHeaderSize, 256)
	h[0] = blobVersion
	h[1] = originCodes[origin]
	parseUUID(keyID, h[2:18])
	return h
}

// xksBlob assembles an external key store blob from the proxy's answer.
func xksBlob(header, iv, md, ct, tag []byte, macKey, context []byte) []byte {
	out := append(header, byte(len(iv)))
	out = append(out, iv...)
	out = append(out, byte(len(md)))
	out = append(out, md...)
	out = binary.BigEndian.AppendUint16(out, uint16(len(ct)))
	out = append(out, ct...)
	out = append(out, tag...)
	return append(out, blobMAC(macKey, out, context)...)
}

func blobMAC(macKey, body, context []byte) []byte {
	m := hmac.New(sha256.New, macKey)
	m.Write(body)
	m.Write(context)
	return m.Sum(nil)
}

// macKeyOf derives the key of an external key store blob's HMAC from the
// KMS key material, so that the MAC key is never the encryption key.
func macKeyOf(material []byte) []byte {
	macKeys.Lock()
	k, ok := macKeys.m[string(material)]
	macKeys.Unlock()
	if ok {
		return k
	}
	m := hmac.New(sha256.New, material)
	m.Write([]byte("keystorelab ciphertext blob v1 integrity"))
	k = m.Sum(nil)
	macKeys.Lock()
	if macKeys.m == nil || len(macKeys.m) >= maxMacKeys {
		macKeys.m = make(map[string][]byte)
	}
	macKeys.m[string(material)] = k
	macKeys.Unlock()
	return k
}

// macKeys caches macKeyOf, a pure function of the key material, for the
// keys in use; it is emptied when it fills. Callers never change the
// slices it returns.
var macKeys struct {
	sync.Mutex
	m map[string][]byte
}

const maxMacKeys = 1024

// canonicalContext encodes an encryption context for use as AAD.
func canonicalContext(ctx map[string]string) []byte {
	keys := make([]string, 0, len(ctx))
	for k := range ctx {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	out := binary.BigEndian.AppendUint16(nil, uint16(len(keys)))
	for _, k := range keys {
		out = binary.BigEndian.AppendUint16(out, uint16(len(k)))
		out = append(out, k...)
		out = binary.BigEndian.AppendUint16(out, uint16(len(ctx[k])))
		out = append(out, ctx[k]...)
	}
	return out
}

func formatUUID(b []byte) string {
	var s [36]byte
	hex.Encode(s[0:8], b[0:4])
	s[8] = '-'
	hex.Encode(s[9:13], b[4:6])
	s[13] = '-'
	hex.Encode(s[14:18], b[6:8])
	s[18] = '-'
	hex.Encode(s[19:23], b[8:10])
	s[23] = '-'
	hex.Encode(s[24:36], b[10:16])
	return string(s[:])
}

func parseUUID(id string, out []byte) {
	var compact [32]byte
	n := 0
	for i := 0; i < len(id) && n < 32; i++ {
		if id[i] != '-' {
			compact[n] = id[i]
			n++
		}
	}
	_, _ = hex.Decode(out, compact[:])
}

// blobField is one byte range of a blob, for Simulator.InspectCiphertext.
type blobField struct {
	Offset int
	Length int
	Name   string
	Hex    string
}

type blobLayer struct {
	Name               string
	Algorithm          string
	Iv                 []byte `json:",omitempty"`
	CiphertextMetadata []byte `json:",omitempty"`
	Ciphertext         []byte `json:",omitempty"`
	AuthenticationTag  []byte `json:",omitempty"`
	Sealed             bool   `json:",omitempty"`
}

// fields lists every byte range of the blob in order.
func (b *blob) fields() []blobField {
	var out []blobField
	off := 0
	add := func(name string, n int) {
		out = append(out, blobField{off, n, name, hex.EncodeToString(b.raw[off : off+n])})
		off += n
	}
	add("version", 1)
	add("origin", 1)
	add("key ID", 16)
	switch b.origin {
	case OriginXKS:
		add("outer IV length", 1)
		add("outer IV (proxy)", len(b.outerIV))
		add("ciphertextMetadata length", 1)
		if len(b.metadata) > 0 {
			add("ciphertextMetadata (proxy)", len(b.metadata))
		}
		add("outer ciphertext length", 2)
		add("outer ciphertext (external key over the inner KMS layer)", len(b.outerCT))
		add("outer GCM tag (proxy)", gcmTagSize)
		add("HMAC-SHA256 (KMS integrity)", blobMACSize)
	default:
		add("IV", gcmIVSize)
		add("ciphertext", len(b.sealed)-gcmTagSize)
		add("GCM tag", gcmTagSize)
	}
	return out
}

func (b *blob) layers() []blobLayer {
	switch b.origin {
	case OriginXKS:
		return []blobLayer{
			{Name: "External key (XKS proxy Encrypt, AES_GCM)", Algorithm: "AES_GCM", Iv: b.outerIV,
				CiphertextMetadata: b.metadata, Ciphertext: b.outerCT, AuthenticationTag: b.outerTag},
			{Name: "AWS KMS key material (AES-256-GCM), inside the outer ciphertext", Algorithm: "AES_256_GCM", Sealed: true},
		}
	case OriginCloudHSM:
		return []blobLayer{{Name: "Key material in the AWS CloudHSM cluster (AES-256-GCM)", Algorithm: "AES_256_GCM",
			Iv: b.iv, Ciphertext: b.sealed[:len(b.sealed)-gcmTagSize], AuthenticationTag: b.sealed[len(b.sealed)-gcmTagSize:]}}
	default:
		return []blobLayer{{Name: "AWS KMS key material (AES-256-GCM)", Algorithm: "AES_256_GCM",
			Iv: b.iv, Ciphertext: b.sealed[:len(b.sealed)-gcmTagSize], AuthenticationTag: b.sealed[len(b.sealed)-gcmTagSize:]}}
	}
}
