package engine

// The cryptographic operations of external key store keys: the proxy's
// Encrypt and Decrypt around the KMS layer, and KMS's error for each way the
// proxy can fail.

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"time"

	"keystorelab/hsmsim/wire"
)

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

// outBadCiphertext is a proxy answer whose ciphertext KMS cannot use.
const outBadCiphertext outcome = "invalid ciphertext from the proxy"

func cdiv(aad, md, iv, ct, tag []byte) []byte {
	h := sha256.New()
	for _, part := range [][]byte{aad, md, iv, ct, tag} {
		h.Write(part)
	}
	return h.Sum(nil)
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
	fast := wire.PlainObject(body, func(key, v []byte) bool {
		if string(key) != "plaintext" || r.Plaintext != nil {
			return false
		}
		var ok bool
		r.Plaintext, ok = wire.PlainBytes(v)
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
