package engine

import (
	"bytes"
	"crypto/hmac"
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
	contextSize(v, "encryptionContext", in.EncryptionContext)
	contextSize(v, "sourceEncryptionContext", in.SourceEncryptionContext)
	contextSize(v, "destinationEncryptionContext", in.DestinationEncryptionContext)
}

// contextSize keeps an encryption context within what its canonical form
// (see canonicalContext) can encode: fewer than 65,536 pairs, and keys and
// values shorter than 65,536 bytes.
func contextSize(v *wire.Validator, member string, ctx map[string]string) {
	if len(ctx) > 0xffff {
		v.Custom(member, nil, "Member must have at most 65535 entries")
	}
	for k, val := range ctx {
		if len(k) > 0xffff || len(val) > 0xffff {
			v.Custom(member, nil, "Member's keys and values must be shorter than 65536 bytes")
			return
		}
	}
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
	if ks.QuotaSecond != sec {
		ks.QuotaSecond, ks.QuotaCount = sec, 0
	}
	if ks.QuotaCount >= storeQuota {
		name := MetricExternalKeyStoreThrottle
		if ks.Type == TypeCloudHSM {
			name = MetricCloudHSMKeyStoreThrottle
		}
		e.metrics.record(e.now, name, dims{CustomKeyStoreId: ks.ID, KmsOperation: op, KeySpec: "SYMMETRIC_DEFAULT"}, 1)
		return exception("ThrottlingException", "You have exceeded the rate at which you may call KMS. Reduce the frequency of your calls.")
	}
	ks.QuotaCount++
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
		iv := wire.SyntheticIV(e.rng, aad, plaintext)
		inner := k.gcm().Seal(append(make([]byte, 0, gcmIVSize+len(plaintext)+gcmTagSize), iv...), iv, plaintext, aad)
		return e.xksSeal(op, k, header, inner, context)
	default:
		iv := wire.SyntheticIV(e.rng, aad, plaintext)
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
		if !hmac.Equal(blobMAC(macKeyOf(k.Material), body, context), b.mac) {
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
