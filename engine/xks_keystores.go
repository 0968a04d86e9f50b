package engine

import (
	"strings"
)

// createExternalKeyStore is CreateCustomKeyStore for EXTERNAL_KEY_STORE.
// Fields were validated by the caller. A store with PUBLIC_ENDPOINT
// connectivity is tested at once with GetHealthStatus; KMS first calls a
// VPC_ENDPOINT_SERVICE store's proxy when it connects.
func (e *Engine) createExternalKeyStore(in createInput) (any, error) {
	if in.CloudHsmClusterId != nil || in.TrustAnchorCertificate != nil || in.KeyStorePassword != nil {
		return nil, exception("ValidationException", "CloudHsmClusterId, TrustAnchorCertificate and KeyStorePassword are valid only for a custom key store of type AWS_CLOUDHSM.")
	}
	var missing []string
	if in.XksProxyConnectivity == nil {
		missing = append(missing, "XksProxyConnectivity")
	}
	if in.XksProxyUriEndpoint == nil {
		missing = append(missing, "XksProxyUriEndpoint")
	}
	if in.XksProxyUriPath == nil {
		missing = append(missing, "XksProxyUriPath")
	}
	if in.XksProxyAuthenticationCredential == nil {
		missing = append(missing, "XksProxyAuthenticationCredential")
	}
	if in.XksProxyConnectivity != nil && *in.XksProxyConnectivity == "VPC_ENDPOINT_SERVICE" && in.XksProxyVpcEndpointServiceName == nil {
		missing = append(missing, "XksProxyVpcEndpointServiceName")
	}
	if len(missing) > 0 {
		return nil, exception("ValidationException", "A custom key store of type EXTERNAL_KEY_STORE requires %s.", strings.Join(missing, ", "))
	}
	name := *in.CustomKeyStoreName
	if err := e.roomForStore(name); err != nil {
		return nil, err
	}
	cfg := &xksConfig{Connectivity: *in.XksProxyConnectivity, UriEndpoint: *in.XksProxyUriEndpoint, UriPath: *in.XksProxyUriPath,
		AccessKeyID: *in.XksProxyAuthenticationCredential.AccessKeyId, Secret: *in.XksProxyAuthenticationCredential.RawSecretAccessKey,
		CredentialSet: e.now}
	if in.XksProxyVpcEndpointServiceName != nil {
		cfg.VpcEndpointServiceName = *in.XksProxyVpcEndpointServiceName
		cfg.VpcEndpointServiceOwner = e.st.AccountID
	}
	if in.XksProxyVpcEndpointServiceOwner != nil {
		cfg.VpcEndpointServiceOwner = *in.XksProxyVpcEndpointServiceOwner
	}
	ks := &keyStore{Name: name, Type: TypeExternal, State: Disconnected, Created: e.now, XKS: cfg}
	if err := e.checkProxyConfiguration(ks, cfg, "CreateCustomKeyStore"); err != nil {
		return nil, err
	}
	e.st.Seq++
	ks.ID, ks.Seq = "cks-"+e.hex(17), e.st.Seq
	e.st.KeyStores = append(e.st.KeyStores, ks)
	return map[string]string{"CustomKeyStoreId": ks.ID}, nil
}

// checkProxyConfiguration applies KMS's rules to an external key store's
// proxy configuration cfg (for store ks, which may not exist yet): the
// connectivity's own requirements, uniqueness in the account and Region,
// and for a public endpoint a GetHealthStatus call through the proxy.
func (e *Engine) checkProxyConfiguration(ks *keyStore, cfg *xksConfig, kmsOperation string) error {
	vpc := cfg.Connectivity == "VPC_ENDPOINT_SERVICE"
	if !vpc && (cfg.VpcEndpointServiceName != "" || cfg.VpcEndpointServiceOwner != "") {
		return exception("ValidationException", "XksProxyVpcEndpointServiceName and XksProxyVpcEndpointServiceOwner are valid only with VPC_ENDPOINT_SERVICE connectivity.")
	}
	for _, other := range e.st.KeyStores {
		o := other.XKS
		if other == ks || o == nil {
			continue
		}
		sameEndpoint := strings.EqualFold(o.UriEndpoint, cfg.UriEndpoint)
		switch {
		case sameEndpoint && o.UriPath == cfg.UriPath:
			return exception("XksProxyUriInUseException", "The proxy URI %s%s is already used by custom key store %s in this account and Region.", cfg.UriEndpoint, cfg.UriPath, other.ID)
		case sameEndpoint && (vpc || o.Connectivity == "VPC_ENDPOINT_SERVICE"):
			return exception("XksProxyUriEndpointInUseException", "The proxy URI endpoint %s is already used by custom key store %s; a VPC endpoint service store needs an endpoint of its own.", cfg.UriEndpoint, other.ID)
		case vpc && o.VpcEndpointServiceName != "" && o.VpcEndpointServiceName == cfg.VpcEndpointServiceName:
			return exception("XksProxyVpcEndpointServiceInUseException", "The VPC endpoint service %s is already associated with custom key store %s.", cfg.VpcEndpointServiceName, other.ID)
		}
	}
	if vpc {
		// KMS checks the endpoint service now and calls the proxy only
		// when the store connects.
		found, problem := e.xks.ServiceProblem(cfg.VpcEndpointServiceName, cfg.VpcEndpointServiceOwner, cfg.UriEndpoint)
		if !found {
			return exception("XksProxyVpcEndpointServiceNotFoundException",
				"AWS KMS cannot find the VPC endpoint service %s owned by %s, or cks.kms.%s.amazonaws.com is not one of its allowed principals.",
				cfg.VpcEndpointServiceName, cfg.VpcEndpointServiceOwner, e.st.Region)
		}
		if problem != "" {
			return exception("XksProxyVpcEndpointServiceInvalidConfigurationException",
				"The VPC endpoint service %s does not meet the requirements for an external key store: %s.", cfg.VpcEndpointServiceName, problem)
		}
		return nil
	}
	probe := &keyStore{XKS: cfg}
	if ks != nil {
		probe.ID = ks.ID
	}
	if out := e.healthCheck(probe, kmsOperation); out != outOK {
		return storeManagementError(out, probe)
	}
	return nil
}

// updateExternalKeyStore is UpdateCustomKeyStore for an external key store:
// the name, credential and URI path can change in any state; the
// connectivity, endpoint and VPC endpoint service only while DISCONNECTED.
// A changed proxy configuration is tested first; nothing changes unless the
// whole update is allowed.
func (e *Engine) updateExternalKeyStore(ks *keyStore, in updateInput) (any, error) {
	if in.KeyStorePassword != nil || in.CloudHsmClusterId != nil {
		return nil, exception("ValidationException", "KeyStorePassword and CloudHsmClusterId are valid only for an AWS_CLOUDHSM key store; %s is an EXTERNAL_KEY_STORE.", ks.ID)
	}
	if err := e.nameFree(in.NewCustomKeyStoreName, ks); err != nil {
		return nil, err
	}
	for _, f := range []struct {
		act storeAction
		set bool
	}{
		{actXksConnectivity, in.XksProxyConnectivity != nil},
		{actXksEndpoint, in.XksProxyUriEndpoint != nil},
		{actXksVpcService, in.XksProxyVpcEndpointServiceName != nil},
		{actXksVpcOwner, in.XksProxyVpcEndpointServiceOwner != nil},
		{actXksPath, in.XksProxyUriPath != nil},
		{actXksCredential, in.XksProxyAuthenticationCredential != nil},
	} {
		if f.set {
			if err := check(f.act, ks); err != nil {
				return nil, err
			}
		}
	}
	next := *ks.XKS
	if in.XksProxyConnectivity != nil {
		if *in.XksProxyConnectivity == next.Connectivity {
			// unchanged
		} else if in.XksProxyUriEndpoint == nil {
			return nil, exception("ValidationException", "To change XksProxyConnectivity, also specify a new XksProxyUriEndpoint.")
		}
		next.Connectivity = *in.XksProxyConnectivity
		if next.Connectivity == "PUBLIC_ENDPOINT" {
			if in.XksProxyVpcEndpointServiceName != nil && *in.XksProxyVpcEndpointServiceName != "" {
				return nil, exception("ValidationException", "To switch to PUBLIC_ENDPOINT connectivity, specify an empty XksProxyVpcEndpointServiceName.")
			}
			next.VpcEndpointServiceName, next.VpcEndpointServiceOwner = "", ""
		} else if in.XksProxyVpcEndpointServiceName == nil && next.VpcEndpointServiceName == "" {
			return nil, exception("ValidationException", "VPC_ENDPOINT_SERVICE connectivity requires an XksProxyVpcEndpointServiceName.")
		}
	}
	if in.XksProxyUriEndpoint != nil {
		next.UriEndpoint = *in.XksProxyUriEndpoint
	}
	if in.XksProxyUriPath != nil {
		next.UriPath = *in.XksProxyUriPath
	}
	if in.XksProxyVpcEndpointServiceName != nil && next.Connectivity == "VPC_ENDPOINT_SERVICE" {
		next.VpcEndpointServiceName = *in.XksProxyVpcEndpointServiceName
	}
	if in.XksProxyVpcEndpointServiceOwner != nil {
		next.VpcEndpointServiceOwner = *in.XksProxyVpcEndpointServiceOwner
	}
	if c := in.XksProxyAuthenticationCredential; c != nil {
		next.AccessKeyID, next.Secret, next.CredentialSet = *c.AccessKeyId, *c.RawSecretAccessKey, e.now
	}
	changed := next != *ks.XKS
	if changed {
		if err := e.checkProxyConfiguration(ks, &next, "UpdateCustomKeyStore"); err != nil {
			return nil, err
		}
	}
	if in.NewCustomKeyStoreName != nil {
		ks.Name = *in.NewCustomKeyStoreName
	}
	if changed {
		*ks.XKS = next
	}
	return struct{}{}, nil
}

// completeExternalConnect ends an external key store's CONNECTING: KMS
// tests the proxy with GetHealthStatus.
func (e *Engine) completeExternalConnect(ks *keyStore) {
	c := ks.XKS
	if c.Connectivity == "VPC_ENDPOINT_SERVICE" {
		// Verify the domain, then create the interface endpoint and the
		// private hosted zone.
		found, problem := e.xks.ServiceProblem(c.VpcEndpointServiceName, c.VpcEndpointServiceOwner, c.UriEndpoint)
		switch {
		case !found:
			ks.State, ks.ErrorCode = Failed, ErrXksVpcEndpointServiceNotFound
			return
		case problem != "":
			ks.State, ks.ErrorCode = Failed, ErrXksVpcEndpointServiceInvalidConfiguration
			return
		}
		e.xks.Connect(c.VpcEndpointServiceName, c.VpcEndpointServiceOwner, ks.ID)
	}
	if out := e.healthCheck(ks, "ConnectCustomKeyStore"); out != outOK {
		e.xks.Disconnect(ks.ID)
		ks.State, ks.ErrorCode = Failed, connectErrorCode(out)
		return
	}
	ks.State, ks.ErrorCode = Connected, ""
	ks.NextHealthCheck = e.now.Add(healthCheckInterval)
}
