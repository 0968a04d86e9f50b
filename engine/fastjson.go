package engine

// The engine's hot paths read and write JSON without reflection: the
// cryptographic operations' requests and answers, and the XKS proxy
// exchange. Each fast path accepts only compact JSON of plain strings and
// writes exactly what encoding/json would; anything else falls back to
// encoding/json, so the bytes and the errors are the same either way.

import (
	"encoding/base64"
	"encoding/json"
	"strconv"

	"keystorelab/hsmsim/wire"
)

// decodeCrypto is decode for a cryptoInput, with a fast path for the
// bodies SDKs send: compact JSON whose members are the string, Base64 and
// integer members of cryptoInput (see wire.ScanObject). Anything else, or
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
	end, ok := wire.ScanObject(b, 0, func(key []byte, i int) (int, bool) {
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
		v, next, ok := wire.PlainString(b, i)
		if !ok {
			return 0, false
		}
		if str != nil {
			s := string(v)
			*str = &s
			return next, true
		}
		*raw, ok = wire.PlainBytes(v)
		return next, ok
	})
	return ok && end == len(b)
}

// appendJSONString appends s as a JSON string: as json.Marshal writes it,
// or, with html false, as the engine's responses do (an encoder without
// HTML escaping). A string with nothing to escape is copied as it is.
func appendJSONString(dst []byte, s string, html bool) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c > 0x7e || c == '"' || c == '\\' || html && (c == '<' || c == '>' || c == '&') {
			if html {
				q, _ := json.Marshal(s)
				return append(dst, q...)
			}
			return append(dst, quote(s)...)
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

// appendJSON writes the outputs as encoding/json would, without reflection:
// they are the answers of the calls that run most often.
func (o encryptOutput) appendJSON(b []byte) []byte {
	b = append(b, `{"CiphertextBlob":`...)
	b = appendJSONBytes(b, o.CiphertextBlob)
	b = append(b, `,"EncryptionAlgorithm":`...)
	b = appendJSONString(b, o.EncryptionAlgorithm, false)
	b = append(b, `,"KeyId":`...)
	b = appendJSONString(b, o.KeyId, false)
	return append(b, '}')
}

func (o decryptOutput) appendJSON(b []byte) []byte {
	b = append(b, `{"EncryptionAlgorithm":`...)
	b = appendJSONString(b, o.EncryptionAlgorithm, false)
	b = append(b, `,"KeyId":`...)
	b = appendJSONString(b, o.KeyId, false)
	b = append(b, `,"Plaintext":`...)
	b = appendJSONBytes(b, o.Plaintext)
	return append(b, '}')
}

func (o dataKeyOutput) appendJSON(b []byte) []byte {
	b = append(b, `{"CiphertextBlob":`...)
	b = appendJSONBytes(b, o.CiphertextBlob)
	b = append(b, `,"KeyId":`...)
	b = appendJSONString(b, o.KeyId, false)
	if len(o.Plaintext) > 0 {
		b = append(b, `,"Plaintext":`...)
		b = appendJSONBytes(b, o.Plaintext)
	}
	return append(b, '}')
}

func (m *xksRequestMetadata) appendJSON(dst []byte) []byte {
	dst = append(dst, `{"awsPrincipalArn":`...)
	dst = appendJSONString(dst, m.AwsPrincipalArn, true)
	dst = append(dst, `,"kmsKeyArn":`...)
	dst = appendJSONString(dst, m.KmsKeyArn, true)
	dst = append(dst, `,"kmsOperation":`...)
	dst = appendJSONString(dst, m.KmsOperation, true)
	dst = append(dst, `,"kmsRequestId":`...)
	dst = appendJSONString(dst, m.KmsRequestId, true)
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
	dst = appendJSONString(dst, r.EncryptionAlgorithm, true)
	dst = append(dst, `,"additionalAuthenticatedData":`...)
	dst = appendJSONBytes(dst, r.AdditionalAuthenticatedData)
	dst = append(dst, `,"ciphertextDataIntegrityValueAlgorithm":`...)
	dst = appendJSONString(dst, r.CiphertextDataIntegrityValueAlgorithm, true)
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
	dst = appendJSONString(dst, r.EncryptionAlgorithm, true)
	dst = append(dst, `,"additionalAuthenticatedData":`...)
	dst = appendJSONBytes(dst, r.AdditionalAuthenticatedData)
	return append(dst, '}')
}

// parseEncryptResponse reads a proxy's Encrypt response written compactly
// with plain strings, as json.Unmarshal would; it reports false for any
// other body.
func parseEncryptResponse(body []byte, ct, md, iv, tag, cdiv *[]byte) bool {
	var seen uint8
	return wire.PlainObject(body, func(key, v []byte) bool {
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
		*dst, ok = wire.PlainBytes(v)
		return ok
	})
}

// base64Len is the length of n bytes in Base64, for sizing.
func base64Len(n int) int { return base64.StdEncoding.EncodedLen(n) }
