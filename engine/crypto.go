package engine

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"strconv"
	"time"

	"keystorelab/hsmsim/wire"
)

// Limits of the KMS API model.
const (
	maxPlaintext  = 4096
	maxCiphertext = 6144
	maxRandom     = 1024
)

// storeQuota is the per-custom-key-store quota of cryptographic requests
// per second, on top of the account's.
const storeQuota = 1800

type cryptoInput struct {
	KeyId               *string
	Plaintext           []byte
	CiphertextBlob      []byte
	EncryptionContext   map[string]string
	GrantTokens         []string
	EncryptionAlgorithm *string
	NumberOfBytes       *int64
	KeySpec             *string
	DryRun              *bool
	// ReEncrypt
	SourceKeyId                    *string
	SourceEncryptionContext        map[string]string
	SourceEncryptionAlgorithm      *string
	DestinationKeyId               *string
	DestinationEncryptionContext   map[string]string
	DestinationEncryptionAlgorithm *string
	// GenerateRandom
	CustomKeyStoreId *string
}

var encryptionAlgorithms = []string{"SYMMETRIC_DEFAULT", "RSAES_OAEP_SHA_1", "RSAES_OAEP_SHA_256", "SM2PKE"}

func validateCrypto(v *wire.Validator, in *cryptoInput) {
	v.List("grantTokens", in.GrantTokens, 0, 10)
	v.Enum("encryptionAlgorithm", in.EncryptionAlgorithm, encryptionAlgorithms...)
	v.Enum("sourceEncryptionAlgorithm", in.SourceEncryptionAlgorithm, encryptionAlgorithms...)
	v.Enum("destinationEncryptionAlgorithm", in.DestinationEncryptionAlgorithm, encryptionAlgorithms...)
}

func blobLength(v *wire.Validator, member string, b []byte, max int) {
	if b == nil {
		v.Required(member, false)
		return
	}
	if len(b) < 1 {
		v.Custom(member, nil, "Member must have length greater than or equal to 1")
	}
	if len(b) > max {
		v.Custom(member, nil, "Member must have length less than or equal to "+strconv.Itoa(max))
	}
}

// decodeCrypto is decode for a cryptoInput, with a fast path for the
// bodies SDKs send: compact JSON whose members are the string, Base64 and
// integer members of cryptoInput (see scanObject). Anything else, or
// anything the fast path cannot read exactly as encoding/json would, goes
// to decode.
func decodeCrypto(body []byte, in *cryptoInput) error {
	if in.parse(body) {
		return nil
	}
	*in = cryptoInput{}
	return decode(body, in)
}

func (in *cryptoInput) parse(b []byte) bool {
	var seen uint32
	end, ok := scanObject(b, 0, func(key []byte, i int) (int, bool) {
		var bit uint32
		var str **string
		var raw *[]byte
		switch string(key) {
		case "KeyId":
			bit, str = 1<<0, &in.KeyId
		case "Plaintext":
			bit, raw = 1<<1, &in.Plaintext
		case "CiphertextBlob":
			bit, raw = 1<<2, &in.CiphertextBlob
		case "EncryptionAlgorithm":
			bit, str = 1<<3, &in.EncryptionAlgorithm
		case "KeySpec":
			bit, str = 1<<4, &in.KeySpec
		case "SourceKeyId":
			bit, str = 1<<5, &in.SourceKeyId
		case "SourceEncryptionAlgorithm":
			bit, str = 1<<6, &in.SourceEncryptionAlgorithm
		case "DestinationKeyId":
			bit, str = 1<<7, &in.DestinationKeyId
		case "DestinationEncryptionAlgorithm":
			bit, str = 1<<8, &in.DestinationEncryptionAlgorithm
		case "CustomKeyStoreId":
			bit, str = 1<<9, &in.CustomKeyStoreId
		case "NumberOfBytes":
			if seen&(1<<10) != 0 {
				return 0, false
			}
			seen |= 1 << 10
			// Digits only, no sign, exponent or leading zero, and small
			// enough for an int64.
			j := i
			for j < len(b) && j-i < 10 && '0' <= b[j] && b[j] <= '9' {
				j++
			}
			if j == i || j-i >= 10 || b[i] == '0' && j-i > 1 {
				return 0, false
			}
			n, err := strconv.ParseInt(string(b[i:j]), 10, 64)
			if err != nil {
				return 0, false
			}
			in.NumberOfBytes = &n
			return j, true
		default:
			return 0, false
		}
		if seen&bit != 0 {
			return 0, false
		}
		seen |= bit
		v, next, ok := plainString(b, i)
		if !ok {
			return 0, false
		}
		if str != nil {
			s := string(v)
			*str = &s
			return next, true
		}
		// encoding/json's decoding of a []byte member.
		out := make([]byte, base64.StdEncoding.DecodedLen(len(v)))
		n, err := base64.StdEncoding.Decode(out, v)
		if err != nil {
			return 0, false
		}
		*raw = out[:n]
		return next, true
	})
	return ok && end == len(b)
}

// scanObject walks the JSON object at b[i:], written without whitespace,
// calling member with each key (a plain string) and the index of its
// value, which member reads; it returns the index after the object. It
// reports false for anything else. What it accepts is valid JSON in which
// every string reads as exactly its bytes, so callers that also accept
// only plain strings decode a body exactly as encoding/json does.
func scanObject(b []byte, i int, member func(key []byte, i int) (int, bool)) (int, bool) {
	if i >= len(b) || b[i] != '{' {
		return 0, false
	}
	i++
	if i < len(b) && b[i] == '}' {
		return i + 1, true
	}
	for {
		key, next, ok := plainString(b, i)
		if !ok || next >= len(b) || b[next] != ':' {
			return 0, false
		}
		if i, ok = member(key, next+1); !ok || i >= len(b) {
			return 0, false
		}
		switch b[i] {
		case ',':
			i++
		case '}':
			return i + 1, true
		default:
			return 0, false
		}
	}
}

// plainString reads the JSON string at b[i:] if it holds only printable
// ASCII and no escapes; it returns its contents and the index after it.
func plainString(b []byte, i int) ([]byte, int, bool) {
	if i >= len(b) || b[i] != '"' {
		return nil, 0, false
	}
	for j := i + 1; j < len(b); j++ {
		switch c := b[j]; {
		case c == '"':
			return b[i+1 : j], j + 1, true
		case c < 0x20 || c > 0x7e || c == '\\':
			return nil, 0, false
		}
	}
	return nil, 0, false
}

// plainObject reports whether b is a compact JSON object of plain string
// members (so valid JSON), calling member for each.
func plainObject(b []byte, member func(key, value []byte) bool) bool {
	end, ok := scanObject(b, 0, func(key []byte, i int) (int, bool) {
		v, next, ok := plainString(b, i)
		return next, ok && member(key, v)
	})
	return ok && end == len(b)
}

// jsonBytes decodes a plain string as encoding/json decodes a []byte.
func jsonBytes(v []byte) ([]byte, bool) {
	out := make([]byte, base64.StdEncoding.DecodedLen(len(v)))
	n, err := base64.StdEncoding.Decode(out, v)
	return out[:n], err == nil
}

// appendJSONString appends s as encoding/json.Marshal writes a string.
func appendJSONString(dst []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c > 0x7e || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			q, _ := json.Marshal(s)
			return append(dst, q...)
		}
	}
	dst = append(dst, '"')
	dst = append(dst, s...)
	return append(dst, '"')
}

// appendJSONBytes appends b as encoding/json.Marshal writes a []byte.
func appendJSONBytes(dst []byte, b []byte) []byte {
	if b == nil {
		return append(dst, "null"...)
	}
	dst = append(dst, '"')
	dst = base64.StdEncoding.AppendEncode(dst, b)
	return append(dst, '"')
}

// symmetricOnly refuses an asymmetric encryption algorithm for a symmetric key.
func (e *Engine) symmetricOnly(k *kmsKey, alg *string) error {
	if alg != nil && *alg != "SYMMETRIC_DEFAULT" {
		return exception("InvalidKeyUsageException", "The encryption algorithm %s is not valid for KMS key %s, a symmetric encryption key (SYMMETRIC_DEFAULT).", *alg, e.keyARN(k.ID))
	}
	return nil
}

func dryRun(in *cryptoInput) error {
	if in.DryRun != nil && *in.DryRun {
		return exception("DryRunOperationException", "The request would have succeeded, but the DryRun option is set.")
	}
	return nil
}

// usableKey finds the key of a cryptographic operation, applies the key
// state table, the algorithm check and the store's request quota.
func (e *Engine) usableKey(op, member string, id *string, alg *string) (*kmsKey, error) {
	k, err := e.findKey(member, id, true)
	if err != nil {
		return nil, err
	}
	if err := e.checkKeyState(op, k); err != nil {
		return nil, err
	}
	if err := e.symmetricOnly(k, alg); err != nil {
		return nil, err
	}
	if err := e.admit(op, k.StoreID); err != nil {
		return nil, err
	}
	return k, nil
}

// admit counts a cryptographic request against its custom key store's
// quota of 1,800 per second of virtual time.
func (e *Engine) admit(op, storeID string) error {
	if storeID == "" {
		return nil
	}
	ks := e.store(storeID)
	if ks == nil {
		return nil
	}
	sec := e.now.Unix()
	if ks.quotaSecond != sec {
		ks.quotaSecond, ks.quotaCount = sec, 0
	}
	if ks.quotaCount >= storeQuota {
		name := MetricExternalKeyStoreThrottle
		if ks.Type == TypeCloudHSM {
			name = MetricCloudHSMKeyStoreThrottle
		}
		e.metrics.record(e.now, name, dims{CustomKeyStoreId: ks.ID, KmsOperation: op, KeySpec: "SYMMETRIC_DEFAULT"}, 1)
		return exception("ThrottlingException", "You have exceeded the rate at which you may call KMS. Reduce the frequency of your calls.")
	}
	ks.quotaCount++
	return nil
}

// encrypt is TrentService.Encrypt.
func (e *Engine) encrypt(_ time.Time, body []byte) (any, error) {
	var in cryptoInput
	if err := decodeCrypto(body, &in); err != nil {
		return nil, err
	}
	var v wire.Validator
	v.Required("keyId", in.KeyId != nil)
	blobLength(&v, "plaintext", in.Plaintext, maxPlaintext)
	validateCrypto(&v, &in)
	if err := v.Err(); err != nil {
		return nil, err
	}
	k, err := e.usableKey("Encrypt", "keyId", in.KeyId, in.EncryptionAlgorithm)
	if err != nil {
		return nil, err
	}
	if err := dryRun(&in); err != nil {
		return nil, err
	}
	ct, err := e.seal("Encrypt", k, in.Plaintext, in.EncryptionContext)
	if err != nil {
		return nil, err
	}
	return encryptOutput{CiphertextBlob: ct, EncryptionAlgorithm: "SYMMETRIC_DEFAULT", KeyId: e.keyARN(k.ID)}, nil
}

// The outputs of the cryptographic operations, as structs whose members
// are in the order encoding/json gives a map's keys, so that the bytes are
// those of the maps they replace, without the map.
type (
	encryptOutput struct {
		CiphertextBlob      []byte
		EncryptionAlgorithm string
		KeyId               string
	}
	decryptOutput struct {
		EncryptionAlgorithm string
		KeyId               string
		Plaintext           []byte
	}
	dataKeyOutput struct {
		CiphertextBlob []byte
		KeyId          string
		Plaintext      []byte `json:",omitempty"` // never empty when present: NumberOfBytes is at least 1
	}
)

// appendJSON writes the outputs as encoding/json would, without reflection:
// they are the answers of the calls that run most often.
func (o encryptOutput) appendJSON(b []byte) []byte {
	b = append(b, `{"CiphertextBlob":`...)
	b = appendJSONBytes(b, o.CiphertextBlob)
	b = append(b, `,"EncryptionAlgorithm":`...)
	b = appendResultString(b, o.EncryptionAlgorithm)
	b = append(b, `,"KeyId":`...)
	b = appendResultString(b, o.KeyId)
	return append(b, '}')
}

func (o decryptOutput) appendJSON(b []byte) []byte {
	b = append(b, `{"EncryptionAlgorithm":`...)
	b = appendResultString(b, o.EncryptionAlgorithm)
	b = append(b, `,"KeyId":`...)
	b = appendResultString(b, o.KeyId)
	b = append(b, `,"Plaintext":`...)
	b = appendJSONBytes(b, o.Plaintext)
	return append(b, '}')
}

func (o dataKeyOutput) appendJSON(b []byte) []byte {
	b = append(b, `{"CiphertextBlob":`...)
	b = appendJSONBytes(b, o.CiphertextBlob)
	b = append(b, `,"KeyId":`...)
	b = appendResultString(b, o.KeyId)
	if len(o.Plaintext) > 0 {
		b = append(b, `,"Plaintext":`...)
		b = appendJSONBytes(b, o.Plaintext)
	}
	return append(b, '}')
}

// appendResultString writes a string member as the engine's responses do
// (encoding/json without HTML escaping): directly when nothing needs
// escaping, else through quote.
func appendResultString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == '"' || c == '\\' || c >= 0x7f {
			return append(b, quote(s)...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

// decrypt is TrentService.Decrypt. The blob names its key; a KeyId, if
// given, must name the same one.
func (e *Engine) decrypt(_ time.Time, body []byte) (any, error) {
	var in cryptoInput
	if err := decodeCrypto(body, &in); err != nil {
		return nil, err
	}
	var v wire.Validator
	blobLength(&v, "ciphertextBlob", in.CiphertextBlob, maxCiphertext)
	v.String("keyId", in.KeyId, 1, 2048, nil, false)
	validateCrypto(&v, &in)
	if err := v.Err(); err != nil {
		return nil, err
	}
	k, b, err := e.blobKey("Decrypt", in.CiphertextBlob, in.KeyId, in.EncryptionAlgorithm)
	if err != nil {
		return nil, err
	}
	if err := dryRun(&in); err != nil {
		return nil, err
	}
	pt, err := e.open("Decrypt", k, b, in.EncryptionContext)
	if err != nil {
		return nil, err
	}
	return decryptOutput{EncryptionAlgorithm: "SYMMETRIC_DEFAULT", KeyId: e.keyARN(k.ID), Plaintext: pt}, nil
}

// blobKey parses a ciphertext blob and finds, checks and admits its key.
func (e *Engine) blobKey(op string, raw []byte, keyID *string, alg *string) (*kmsKey, *blob, error) {
	if keyID != nil {
		named, err := e.findKey("keyId", keyID, true)
		if err != nil {
			return nil, nil, err
		}
		b, err := parseBlob(raw)
		if err != nil {
			return nil, nil, invalidCiphertext()
		}
		if b.keyID != named.ID {
			return nil, nil, exception("IncorrectKeyException", "The key ID in the request does not identify a KMS key that can perform this operation.")
		}
	}
	b, err := parseBlob(raw)
	if err != nil {
		return nil, nil, invalidCiphertext()
	}
	k := e.keys[b.keyID]
	if k == nil || k.Origin != b.origin {
		return nil, nil, invalidCiphertext()
	}
	if err := e.checkKeyState(op, k); err != nil {
		return nil, nil, err
	}
	if err := e.symmetricOnly(k, alg); err != nil {
		return nil, nil, err
	}
	if err := e.admit(op, k.StoreID); err != nil {
		return nil, nil, err
	}
	return k, b, nil
}

func invalidCiphertext() error {
	return exception("InvalidCiphertextException", "The ciphertext is not valid: it was changed, was not produced by this sandbox, or the encryption context does not match the one it was encrypted with.")
}

// reEncrypt is TrentService.ReEncrypt: decrypt under the source key and
// encrypt under the destination key, without the plaintext leaving KMS.
func (e *Engine) reEncrypt(_ time.Time, body []byte) (any, error) {
	var in cryptoInput
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	var v wire.Validator
	blobLength(&v, "ciphertextBlob", in.CiphertextBlob, maxCiphertext)
	v.String("sourceKeyId", in.SourceKeyId, 1, 2048, nil, false)
	v.Required("destinationKeyId", in.DestinationKeyId != nil)
	v.String("destinationKeyId", in.DestinationKeyId, 1, 2048, nil, false)
	validateCrypto(&v, &in)
	if err := v.Err(); err != nil {
		return nil, err
	}
	src, b, err := e.blobKey("ReEncrypt", in.CiphertextBlob, in.SourceKeyId, in.SourceEncryptionAlgorithm)
	if err != nil {
		return nil, err
	}
	dst, err := e.usableKey("ReEncrypt", "destinationKeyId", in.DestinationKeyId, in.DestinationEncryptionAlgorithm)
	if err != nil {
		return nil, err
	}
	if err := dryRun(&in); err != nil {
		return nil, err
	}
	pt, err := e.open("ReEncrypt", src, b, in.SourceEncryptionContext)
	if err != nil {
		return nil, err
	}
	ct, err := e.seal("ReEncrypt", dst, pt, in.DestinationEncryptionContext)
	if err != nil {
		return nil, err
	}
	return map[string]any{"CiphertextBlob": ct, "SourceKeyId": e.keyARN(src.ID), "KeyId": e.keyARN(dst.ID),
		"SourceEncryptionAlgorithm": "SYMMETRIC_DEFAULT", "DestinationEncryptionAlgorithm": "SYMMETRIC_DEFAULT"}, nil
}

// generateDataKey is TrentService.GenerateDataKey and, with plaintext
// false, GenerateDataKeyWithoutPlaintext.
func (e *Engine) generateDataKey(plaintext bool) func(time.Time, []byte) (any, error) {
	op := "GenerateDataKey"
	if !plaintext {
		op = "GenerateDataKeyWithoutPlaintext"
	}
	return func(_ time.Time, body []byte) (any, error) {
		var in cryptoInput
		if err := decodeCrypto(body, &in); err != nil {
			return nil, err
		}
		var v wire.Validator
		v.Required("keyId", in.KeyId != nil)
		v.Int("numberOfBytes", in.NumberOfBytes, 1, maxRandom)
		v.Enum("keySpec", in.KeySpec, "AES_256", "AES_128")
		validateCrypto(&v, &in)
		if err := v.Err(); err != nil {
			return nil, err
		}
		var n int
		switch {
		case in.KeySpec != nil && in.NumberOfBytes != nil:
			return nil, exception("ValidationException", "Please specify either number of bytes or key spec, not both.")
		case in.KeySpec != nil && *in.KeySpec == "AES_128":
			n = 16
		case in.KeySpec != nil:
			n = 32
		case in.NumberOfBytes != nil:
			n = int(*in.NumberOfBytes)
		default:
			return nil, exception("ValidationException", "Please specify either number of bytes or key spec.")
		}
		k, err := e.usableKey(op, "keyId", in.KeyId, nil)
		if err != nil {
			return nil, err
		}
		if err := dryRun(&in); err != nil {
			return nil, err
		}
		dataKey := e.random(n)
		ct, err := e.seal(op, k, dataKey, in.EncryptionContext)
		if err != nil {
			return nil, err
		}
		out := dataKeyOutput{CiphertextBlob: ct, KeyId: e.keyARN(k.ID)}
		if plaintext {
			out.Plaintext = dataKey
		}
		return out, nil
	}
}

// generateRandom is TrentService.GenerateRandom: from KMS's RNG, or from the
// HSMs of a connected AWS CloudHSM key store.
func (e *Engine) generateRandom(_ time.Time, body []byte) (any, error) {
	var in cryptoInput
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	var v wire.Validator
	v.Int("numberOfBytes", in.NumberOfBytes, 1, maxRandom)
	v.String("customKeyStoreId", in.CustomKeyStoreId, 1, 64, nil, false)
	if err := v.Err(); err != nil {
		return nil, err
	}
	if in.NumberOfBytes == nil {
		return nil, exception("ValidationException", "Please specify NumberOfBytes.")
	}
	n := int(*in.NumberOfBytes)
	if in.CustomKeyStoreId == nil {
		return map[string]any{"Plaintext": e.random(n)}, nil
	}
	ks := e.store(*in.CustomKeyStoreId)
	if ks == nil {
		return nil, storeNotFound(*in.CustomKeyStoreId)
	}
	if ks.Type == TypeExternal {
		return nil, exception("UnsupportedOperationException", "GenerateRandom does not support external key stores: custom key store %s is an EXTERNAL_KEY_STORE.", ks.ID)
	}
	if ks.State != Connected {
		return nil, exception("CustomKeyStoreInvalidStateException",
			"AWS KMS cannot generate random bytes in custom key store %s because its connection state is %s.", ks.ID, ks.State)
	}
	if err := e.admit("GenerateRandom", ks.ID); err != nil {
		return nil, err
	}
	b, err := e.hsm.GenerateRandomKMS(e.now, ks.ClusterID, ks.ID, n)
	if err != nil {
		return nil, e.hsmCryptoError(nil, ks, err)
	}
	return map[string]any{"Plaintext": b}, nil
}

// random draws n bytes from the sandbox's random stream.
func (e *Engine) random(n int) []byte {
	b := make([]byte, n)
	_, _ = e.rng.Read(b)
	return b
}

// kmsIV draws the IV of a KMS-side AES-GCM layer. It hashes the plaintext
// with fresh bytes from the random stream, so that even if a crashed host
// replays that stream, two different plaintexts never share an IV under
// one key.
func (e *Engine) kmsIV(plaintext []byte) []byte {
	h := sha256.New()
	var seed [16]byte
	_, _ = e.rng.Read(seed[:])
	h.Write(seed[:])
	h.Write(plaintext)
	return h.Sum(nil)[:gcmIVSize]
}

// seal encrypts plaintext under k (see the blob format in blob.go).
func (e *Engine) seal(op string, k *kmsKey, plaintext []byte, ctx map[string]string) ([]byte, error) {
	context := canonicalContext(ctx)
	header := blobHeader(k.Origin, k.ID)
	aad := append(header[:blobHeaderSize:blobHeaderSize], context...)
	switch k.Origin {
	case OriginCloudHSM:
		ks := e.store(k.StoreID)
		iv, sealed, err := e.hsm.EncryptKMS(e.now, k.ClusterID, ks.ID, k.Handle, plaintext, aad)
		if err != nil {
			return nil, e.hsmCryptoError(k, ks, err)
		}
		out := append(header, iv...)
		return append(out, sealed...), nil
	case OriginXKS:
		iv := e.kmsIV(plaintext)
		inner := k.gcm().Seal(append(make([]byte, 0, gcmIVSize+len(plaintext)+gcmTagSize), iv...), iv, plaintext, aad)
		return e.xksSeal(op, k, header, inner, context)
	default:
		iv := e.kmsIV(plaintext)
		out := append(header, iv...)
		return k.gcm().Seal(out, iv, plaintext, aad), nil
	}
}

// open decrypts a parsed blob of key k.
func (e *Engine) open(op string, k *kmsKey, b *blob, ctx map[string]string) ([]byte, error) {
	context := canonicalContext(ctx)
	aad := append(bytes.Clone(b.header()), context...)
	switch k.Origin {
	case OriginCloudHSM:
		ks := e.store(k.StoreID)
		pt, err := e.hsm.DecryptKMS(e.now, k.ClusterID, ks.ID, k.Handle, b.iv, b.sealed, aad)
		if err != nil {
			return nil, e.hsmCryptoError(k, ks, err)
		}
		return pt, nil
	case OriginXKS:
		body := b.raw[:len(b.raw)-blobMACSize]
		if !hmacEqual(blobMAC(macKeyOf(k.Material), body, context), b.mac) {
			return nil, invalidCiphertext()
		}
		inner, err := e.xksOpen(op, k, b, context)
		if err != nil {
			return nil, err
		}
		if len(inner) < gcmIVSize+gcmTagSize {
			return nil, e.xksCryptoError(k, outBadCiphertext)
		}
		pt, err := k.gcm().Open(nil, inner[:gcmIVSize], inner[gcmIVSize:], aad)
		if err != nil {
			return nil, e.xksCryptoError(k, outBadCiphertext)
		}
		return pt, nil
	default:
		pt, err := k.gcm().Open(nil, b.iv, b.sealed, aad)
		if err != nil {
			return nil, invalidCiphertext()
		}
		return pt, nil
	}
}

// xksAAD is the AAD KMS sends the proxy: the blob header and a digest of
// the encryption context.
func xksAAD(header, context []byte) []byte {
	sum := sha256.Sum256(context)
	return append(bytes.Clone(header[:blobHeaderSize]), sum[:]...)
}

// xksRequestMetadata is the requestMetadata of an XKS crypto call.
type xksRequestMetadata struct {
	AwsPrincipalArn string `json:"awsPrincipalArn"`
	KmsKeyArn       string `json:"kmsKeyArn"`
	KmsOperation    string `json:"kmsOperation"`
	KmsRequestId    string `json:"kmsRequestId"`
}

type xksEncryptRequest struct {
	RequestMetadata                       xksRequestMetadata `json:"requestMetadata"`
	Plaintext                             []byte             `json:"plaintext"`
	EncryptionAlgorithm                   string             `json:"encryptionAlgorithm"`
	AdditionalAuthenticatedData           []byte             `json:"additionalAuthenticatedData"`
	CiphertextDataIntegrityValueAlgorithm string             `json:"ciphertextDataIntegrityValueAlgorithm"`
}

type xksDecryptRequest struct {
	RequestMetadata             xksRequestMetadata `json:"requestMetadata"`
	Ciphertext                  []byte             `json:"ciphertext"`
	CiphertextMetadata          []byte             `json:"ciphertextMetadata,omitempty"`
	InitializationVector        []byte             `json:"initializationVector"`
	AuthenticationTag           []byte             `json:"authenticationTag"`
	EncryptionAlgorithm         string             `json:"encryptionAlgorithm"`
	AdditionalAuthenticatedData []byte             `json:"additionalAuthenticatedData"`
}

// xksRequest is an XKS crypto request; appendJSON writes what
// json.Marshal would.
type xksRequest interface{ appendJSON([]byte) []byte }

func (m *xksRequestMetadata) appendJSON(dst []byte) []byte {
	dst = append(dst, `{"awsPrincipalArn":`...)
	dst = appendJSONString(dst, m.AwsPrincipalArn)
	dst = append(dst, `,"kmsKeyArn":`...)
	dst = appendJSONString(dst, m.KmsKeyArn)
	dst = append(dst, `,"kmsOperation":`...)
	dst = appendJSONString(dst, m.KmsOperation)
	dst = append(dst, `,"kmsRequestId":`...)
	dst = appendJSONString(dst, m.KmsRequestId)
	return append(dst, '}')
}

func (r *xksEncryptRequest) appendJSON(dst []byte) []byte {
	if dst == nil {
		dst = make([]byte, 0, 384+len(r.RequestMetadata.KmsKeyArn)+base64Len(len(r.Plaintext))+base64Len(len(r.AdditionalAuthenticatedData)))
	}
	dst = append(dst, `{"requestMetadata":`...)
	dst = r.RequestMetadata.appendJSON(dst)
	dst = append(dst, `,"plaintext":`...)
	dst = appendJSONBytes(dst, r.Plaintext)
	dst = append(dst, `,"encryptionAlgorithm":`...)
	dst = appendJSONString(dst, r.EncryptionAlgorithm)
	dst = append(dst, `,"additionalAuthenticatedData":`...)
	dst = appendJSONBytes(dst, r.AdditionalAuthenticatedData)
	dst = append(dst, `,"ciphertextDataIntegrityValueAlgorithm":`...)
	dst = appendJSONString(dst, r.CiphertextDataIntegrityValueAlgorithm)
	return append(dst, '}')
}

func (r *xksDecryptRequest) appendJSON(dst []byte) []byte {
	if dst == nil {
		dst = make([]byte, 0, 384+len(r.RequestMetadata.KmsKeyArn)+base64Len(len(r.Ciphertext))+base64Len(len(r.AdditionalAuthenticatedData)))
	}
	dst = append(dst, `{"requestMetadata":`...)
	dst = r.RequestMetadata.appendJSON(dst)
	dst = append(dst, `,"ciphertext":`...)
	dst = appendJSONBytes(dst, r.Ciphertext)
	if len(r.CiphertextMetadata) > 0 {
		dst = append(dst, `,"ciphertextMetadata":`...)
		dst = appendJSONBytes(dst, r.CiphertextMetadata)
	}
	dst = append(dst, `,"initializationVector":`...)
	dst = appendJSONBytes(dst, r.InitializationVector)
	dst = append(dst, `,"authenticationTag":`...)
	dst = appendJSONBytes(dst, r.AuthenticationTag)
	dst = append(dst, `,"encryptionAlgorithm":`...)
	dst = appendJSONString(dst, r.EncryptionAlgorithm)
	dst = append(dst, `,"additionalAuthenticatedData":`...)
	dst = appendJSONBytes(dst, r.AdditionalAuthenticatedData)
	return append(dst, '}')
}

func (e *Engine) xksMetadata(k *kmsKey, op string) xksRequestMetadata {
	return xksRequestMetadata{AwsPrincipalArn: "arn:aws:iam::" + e.st.AccountID + ":root", KmsKeyArn: e.keyARN(k.ID),
		KmsOperation: op, KmsRequestId: e.requestID()}
}

// xksCrypto sends one crypto request for key k to its store's proxy,
// retrying once after a timeout as KMS does, and records the metrics.
func (e *Engine) xksCrypto(k *kmsKey, op, xksOp, path string, req xksRequest) (outcome, []byte) {
	ks := e.store(k.StoreID)
	b := req.appendJSON(nil)
	out, body, took := e.xksSend(ks, path, b)
	if out == outTimeout {
		var again time.Duration
		out, body, again = e.xksSend(ks, path, b)
		took += again
	}
	e.recordXks(ks, op, xksOp, out, took)
	return out, body
}

// xksSeal has the proxy wrap the inner layer with the external key.
func (e *Engine) xksSeal(op string, k *kmsKey, header, inner, context []byte) ([]byte, error) {
	aad := xksAAD(header, context)
	req := xksEncryptRequest{RequestMetadata: e.xksMetadata(k, op), Plaintext: inner, EncryptionAlgorithm: "AES_GCM",
		AdditionalAuthenticatedData: aad, CiphertextDataIntegrityValueAlgorithm: "SHA_256"}
	out, body := e.xksCrypto(k, op, "Encrypt", "/keys/"+k.XksKeyID+"/encrypt", &req)
	if out != outOK {
		return nil, e.xksCryptoError(k, out)
	}
	var r struct {
		Ciphertext                   []byte `json:"ciphertext"`
		CiphertextMetadata           []byte `json:"ciphertextMetadata"`
		InitializationVector         []byte `json:"initializationVector"`
		AuthenticationTag            []byte `json:"authenticationTag"`
		CiphertextDataIntegrityValue []byte `json:"ciphertextDataIntegrityValue"`
	}
	if !parseEncryptResponse(body, &r.Ciphertext, &r.CiphertextMetadata, &r.InitializationVector, &r.AuthenticationTag,
		&r.CiphertextDataIntegrityValue) {
		r.Ciphertext, r.CiphertextMetadata, r.InitializationVector, r.AuthenticationTag, r.CiphertextDataIntegrityValue = nil, nil, nil, nil, nil
		if json.Unmarshal(body, &r) != nil {
			return nil, e.xksCryptoError(k, outMalformed)
		}
	}
	if len(r.Ciphertext) != len(inner) || (len(r.InitializationVector) != 12 && len(r.InitializationVector) != 16) ||
		len(r.AuthenticationTag) != gcmTagSize || len(r.CiphertextMetadata) > 20 ||
		(r.CiphertextDataIntegrityValue != nil && !bytes.Equal(r.CiphertextDataIntegrityValue,
			cdiv(aad, r.CiphertextMetadata, r.InitializationVector, r.Ciphertext, r.AuthenticationTag))) {
		return nil, e.xksCryptoError(k, outBadCiphertext)
	}
	return xksBlob(header, r.InitializationVector, r.CiphertextMetadata, r.Ciphertext, r.AuthenticationTag,
		macKeyOf(k.Material), context), nil
}

// parseEncryptResponse reads a proxy's Encrypt response written compactly
// with plain strings, as json.Unmarshal would; it reports false for any
// other body.
func parseEncryptResponse(body []byte, ct, md, iv, tag, cdiv *[]byte) bool {
	var seen uint8
	return plainObject(body, func(key, v []byte) bool {
		var bit uint8
		var dst *[]byte
		switch string(key) {
		case "ciphertext":
			bit, dst = 1, ct
		case "ciphertextMetadata":
			bit, dst = 2, md
		case "initializationVector":
			bit, dst = 4, iv
		case "authenticationTag":
			bit, dst = 8, tag
		case "ciphertextDataIntegrityValue":
			bit, dst = 16, cdiv
		default:
			return false
		}
		if seen&bit != 0 {
			return false
		}
		seen |= bit
		var ok bool
		*dst, ok = jsonBytes(v)
		return ok
	})
}

// xksOpen has the proxy remove the outer layer; it returns the inner one.
func (e *Engine) xksOpen(op string, k *kmsKey, b *blob, context []byte) ([]byte, error) {
	req := xksDecryptRequest{RequestMetadata: e.xksMetadata(k, op), Ciphertext: b.outerCT, CiphertextMetadata: b.metadata,
		InitializationVector: b.outerIV, AuthenticationTag: b.outerTag, EncryptionAlgorithm: "AES_GCM",
		AdditionalAuthenticatedData: xksAAD(b.header(), context)}
	out, body := e.xksCrypto(k, op, "Decrypt", "/keys/"+k.XksKeyID+"/decrypt", &req)
	if out != outOK {
		return nil, e.xksCryptoError(k, out)
	}
	var r struct {
		Plaintext []byte `json:"plaintext"`
	}
	fast := plainObject(body, func(key, v []byte) bool {
		if string(key) != "plaintext" || r.Plaintext != nil {
			return false
		}
		var ok bool
		r.Plaintext, ok = jsonBytes(v)
		return ok
	})
	if !fast {
		r.Plaintext = nil
		if json.Unmarshal(body, &r) != nil {
			return nil, e.xksCryptoError(k, outMalformed)
		}
	}
	if r.Plaintext == nil {
		return nil, e.xksCryptoError(k, outMalformed)
	}
	return r.Plaintext, nil
}

// outBadCiphertext is a proxy answer whose ciphertext KMS cannot use.
const outBadCiphertext outcome = "invalid ciphertext from the proxy"

// xksCryptoError is the KMSInvalidStateException a cryptographic operation
// fails with when the proxy does not do its part, with a message for each
// cause (the XKS proxy API specification's mapping table).
func (e *Engine) xksCryptoError(k *kmsKey, o outcome) error {
	ks := e.store(k.StoreID)
	where := ks.XKS.UriEndpoint + ks.XKS.UriPath
	arn := e.keyARN(k.ID)
	var why string
	switch o {
	case "ValidationException", outMalformed:
		why = "AWS KMS cannot interpret the response from the external key store proxy at " + where + ". If you see this error repeatedly, report it to your proxy vendor"
	case "InvalidStateException":
		why = "the external key " + k.XksKeyID + " is not enabled in the external key manager"
	case "InvalidCiphertextException":
		why = "the external key store proxy reports that the ciphertext or its additional authenticated data is not valid for external key " + k.XksKeyID
	case outBadCiphertext:
		why = "the external key store proxy returned a ciphertext that is not valid"
	case "InvalidKeyUsageException":
		why = "the external key " + k.XksKeyID + " does not support the requested operation; check its key usage in the external key manager"
	case "AuthenticationFailedException":
		why = "the external key store proxy rejected the request because it could not authenticate AWS KMS. Verify the XksProxyAuthenticationCredential of custom key store " + ks.ID
	case "AccessDeniedException":
		why = "the external key store proxy denied access to this request; check the proxy's authorization rules"
	case "KeyNotFoundException":
		why = "the external key store proxy cannot find the external key " + k.XksKeyID
	case "InvalidUriPathException":
		why = "the external key store proxy does not recognise the URI path " + ks.XKS.UriPath
	case "UnsupportedOperationException":
		why = "the external key store proxy does not support this operation"
	case "DependencyTimeoutException", outTimeout:
		why = "the external key store proxy at " + where + " did not respond in time (250 ms)"
	case "ThrottlingException":
		why = "the external key store proxy is throttling requests because of a very high request rate"
	case "InternalException":
		why = "the external key store proxy reported an internal error; it might not be able to reach the external key manager"
	case outTLS:
		why = "AWS KMS cannot establish a TLS connection to the external key store proxy at " + ks.XKS.UriEndpoint
	default: // outUnreachable, outAllUnavailable
		why = "AWS KMS cannot communicate with the external key store proxy at " + where
	}
	return exception("KMSInvalidStateException", "%s is unusable: %s.", arn, why)
}

func cdiv(aad, md, iv, ct, tag []byte) []byte {
	h := sha256.New()
	for _, part := range [][]byte{aad, md, iv, ct, tag} {
		h.Write(part)
	}
	return h.Sum(nil)
}

func hmacEqual(a, b []byte) bool {
	if len(a) != len(b) {
		return false
	}
	var d byte
	for i := range a {
		d |= a[i] ^ b[i]
	}
	return d == 0
}

type inspectInput struct {
	CiphertextBlob []byte
}

// simInspectCiphertext shows a blob's cleartext structure, for the console.
func (e *Engine) simInspectCiphertext(_ time.Time, body []byte) (any, error) {
	var in inspectInput
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	var v wire.Validator
	blobLength(&v, "CiphertextBlob", in.CiphertextBlob, maxCiphertext)
	if err := v.Err(); err != nil {
		return nil, err
	}
	b, err := parseBlob(in.CiphertextBlob)
	if err != nil {
		return nil, exception("InvalidCiphertextException", "This is not a Keystore Lab ciphertext blob (version 1).")
	}
	return map[string]any{"Version": blobVersion, "Origin": b.origin, "KeyId": b.keyID, "KeyArn": e.keyARN(b.keyID),
		"Size": len(b.raw), "Layers": b.layers(), "Fields": b.fields()}, nil
}

// base64Len is the length of n bytes in Base64, for sizing.
func base64Len(n int) int { return base64.StdEncoding.EncodedLen(n) }
