package content

// AWSXksTroubleshooting is AWS's "Troubleshooting external key stores"
// guide, whose connection-error section explains the XKS codes.
const (
	AWSXksTroubleshooting = "https://docs.aws.amazon.com/kms/latest/developerguide/xks-troubleshooting.html"
	AWSXksConnectionError = AWSXksTroubleshooting + "#fix-xks-connection"
)

// Actions of the external key store procedures.
var (
	// WaitXks jumps the sandbox clock past an external key store's
	// connection or disconnection (about 5 virtual minutes).
	WaitXks = &Action{Label: "Jump the clock 5 minutes", Target: "Simulator.AdvanceClock",
		Body: map[string]any{"Seconds": 300}}
	// ClearProxyFaults removes every fault of the store's simulated proxy.
	ClearProxyFaults = &Action{Label: "Clear the proxy's faults", Target: "Simulator.SetXksProxyFaults",
		Body: map[string]any{"UriEndpoint": "$xksEndpoint"}}
	// DescribeProxies shows the simulated proxies, their paths and access
	// key IDs (never a secret).
	DescribeProxies = &Action{Label: "Describe the proxies", Target: "Simulator.DescribeXksProxies", Body: map[string]any{}}
)

func faultAction(label string, body map[string]any) *Action {
	body["UriEndpoint"] = "$xksEndpoint"
	return &Action{Label: label, Target: "Simulator.SetXksProxyFaults", Body: body}
}

// xksFix wraps the repair steps of an external key store code: disconnect,
// wait, repair, connect, wait.
func xksFix(repair ...Step) []Step {
	steps := []Step{stepDisconnect, {
		Text:   "Wait until the connection state is DISCONNECTED (about 5 minutes for an external key store). In the sandbox, jump the clock.",
		Action: WaitXks,
	}}
	steps = append(steps, repair...)
	return append(steps, stepConnect, Step{
		Text:   "Wait for the connection to finish (about 5 minutes) and confirm that the connection state is CONNECTED. In the sandbox, jump the clock.",
		Action: WaitXks,
	})
}

// XKSErrorCodes explains the connection error codes of an external key
// store, in the order of AWS's troubleshooting guide. INVALID_CREDENTIALS,
// NETWORK_ERRORS and INTERNAL_ERROR also apply to AWS CloudHSM key stores,
// where ErrorCodes explains them; here they have their external key store
// meaning.
var XKSErrorCodes = []ErrorCode{
	{
		Code:    "INVALID_CREDENTIALS",
		Title:   "The proxy rejected the proxy authentication credential",
		Summary: "The external key store proxy could not authenticate AWS KMS: the SigV4 signature made with the key store's proxy authentication credential is not one the proxy accepts.",
		Cause: "The access key ID or the secret access key that AWS KMS holds for the key store is not a credential the proxy has for the key store's URI path, " +
			"for example because the credential was rotated on the proxy and the key store was not updated.",
		Steps: xksFix(
			Step{
				Text:   "Find the credential the proxy has for the key store's URI path (in the sandbox, the proxy's access key IDs; its secrets are never shown).",
				Action: DescribeProxies,
			},
			Step{
				Text: "Edit the key store's proxy credential (console: Edit, Proxy credential, then Update external key store; API: UpdateCustomKeyStore with XksProxyAuthenticationCredential, both the access key ID and the secret access key). " +
					"This edit is allowed in every connection state, even while the key store is connected.",
			},
		),
		AWSDoc: AWSXksConnectionError,
	},
	{
		Code:    "XKS_PROXY_ACCESS_DENIED",
		Title:   "The proxy's authorization rules refuse AWS KMS",
		Summary: "The external key store proxy authenticated AWS KMS but denied the request: AccessDeniedException.",
		Cause:   "The proxy has secondary authorization rules (on the requesting principal, the KMS operation or the AWS service the request came through) that do not allow this request.",
		Steps: xksFix(
			Step{
				Text:   "Ask your proxy administrator to review the proxy's authorization rules and let AWS KMS through. In the sandbox, clear the proxy's faults.",
				Action: ClearProxyFaults,
			},
			Step{
				Text:   "Remove the proxy's secondary authorization rules if they refuse the request.",
				Action: &Action{Label: "Clear the proxy's rules", Target: "Simulator.SetXksProxyRules", Body: map[string]any{"UriEndpoint": "$xksEndpoint"}},
			},
		),
		AWSDoc: AWSXksConnectionError,
		Reproduce: []Step{{
			Text:   "Make the proxy deny every request.",
			Action: faultAction("Make the proxy deny access", map[string]any{"AccessDenied": true}),
		}},
	},
	{
		Code:    "XKS_PROXY_INVALID_CONFIGURATION",
		Title:   "The proxy does not serve the key store's URI path",
		Summary: "The external key store proxy answered InvalidUriPathException: it does not recognise the key store's proxy URI path.",
		Cause:   "The key store's XksProxyUriPath is wrong, or the path was removed from the proxy's configuration.",
		Steps: xksFix(
			Step{
				Text:   "Compare the key store's proxy URI path with the paths the proxy serves.",
				Action: DescribeProxies,
			},
			Step{
				Text: "Correct the proxy URI path of the key store (console: Edit, Proxy URI path prefix; API: UpdateCustomKeyStore with XksProxyUriPath; allowed in every connection state), " +
					"or configure the path on the proxy again (in the sandbox: Simulator, Add or update path).",
			},
		),
		AWSDoc: AWSXksConnectionError,
		Reproduce: []Step{{
			Text:   "Remove the key store's path from the proxy.",
			Action: &Action{Label: "Remove the path from the proxy", Target: "Simulator.DeleteXksProxyPath", Body: map[string]any{"UriEndpoint": "$xksEndpoint", "UriPath": "$xksPath"}},
		}},
	},
	{
		Code:    "XKS_PROXY_INVALID_RESPONSE",
		Title:   "AWS KMS cannot interpret the proxy's response",
		Summary: "The external key store proxy answered with something AWS KMS cannot parse, or with an error it does not expect (ValidationException, InternalException).",
		Cause:   "A defect or a misconfiguration in the proxy. If it happens repeatedly, report it to your proxy vendor.",
		Steps: xksFix(Step{
			Text:   "Have the proxy vendor or administrator repair the proxy. In the sandbox, clear the proxy's faults.",
			Action: ClearProxyFaults,
		}),
		AWSDoc: AWSXksConnectionError,
		Reproduce: []Step{{
			Text:   "Make the proxy answer with malformed JSON.",
			Action: faultAction("Make the proxy answer malformed JSON", map[string]any{"Malformed": true}),
		}},
	},
	{
		Code:    "XKS_PROXY_INVALID_TLS_CONFIGURATION",
		Title:   "AWS KMS cannot establish a TLS connection to the proxy",
		Summary: "The TLS handshake with the external key store proxy failed.",
		Cause: "The proxy does not support TLS 1.2 or TLS 1.3, its TLS certificate has expired, the certificate does not name the proxy URI endpoint's host name, " +
			"or it was not issued by a certificate authority on AWS KMS's list of trusted public CAs.",
		Steps: xksFix(Step{
			Text: "Repair the proxy's TLS configuration: a current certificate for the endpoint's host name (or the VPC endpoint service's private DNS name) from a public CA, and TLS 1.2 or 1.3. " +
				"In the sandbox, clear the proxy's faults.",
			Action: ClearProxyFaults,
		}),
		AWSDoc: AWSXksConnectionError,
		Reproduce: []Step{{
			Text:   "Give the proxy an expired TLS certificate.",
			Action: faultAction("Expire the proxy's certificate", map[string]any{"Tls": "EXPIRED_CERTIFICATE"}),
		}},
	},
	{
		Code:    "XKS_PROXY_NOT_REACHABLE",
		Title:   "AWS KMS cannot reach the proxy",
		Summary: "AWS KMS cannot communicate with the external key store proxy, or the proxy reports that no external key manager can serve.",
		Cause: "The proxy URI endpoint or path is wrong, the proxy is not running, a firewall blocks port 443, every external key manager instance reports UNAVAILABLE, " +
			"or the network round trip is too long (AWS recommends 35 ms or less).",
		Steps: xksFix(
			Step{
				Text:   "Make sure the proxy is running and reachable at the proxy URI endpoint on port 443. In the sandbox, clear the proxy's faults.",
				Action: ClearProxyFaults,
			},
			Step{
				Text: "Make sure at least one external key manager instance is ACTIVE or DEGRADED.",
				Action: &Action{Label: "Report a healthy key manager", Target: "Simulator.SetXksProxyFleet",
					Body: map[string]any{"UriEndpoint": "$xksEndpoint", "EkmFleetDetails": []any{map[string]any{"Id": "ekm-1", "Model": "Keystore Lab EKM", "HealthStatus": "ACTIVE"}}}},
			},
		),
		AWSDoc: AWSXksConnectionError,
		Reproduce: []Step{{
			Text:   "Make the proxy refuse connections.",
			Action: faultAction("Make the proxy unreachable", map[string]any{"Unreachable": true}),
		}},
	},
	{
		Code:    "XKS_PROXY_TIMED_OUT",
		Title:   "The proxy did not answer in time",
		Summary: "AWS KMS reached the external key store proxy, but it did not answer within 250 milliseconds, or it answered ThrottlingException or DependencyTimeoutException.",
		Cause:   "The proxy or its external key manager is slow or overloaded, or the network between them is slow.",
		Steps: xksFix(Step{
			Text:   "Have the proxy vendor or administrator find and remove the delay (move the external key manager closer, add capacity). In the sandbox, clear the proxy's faults.",
			Action: ClearProxyFaults,
		}),
		AWSDoc: AWSXksConnectionError,
		Reproduce: []Step{{
			Text:   "Slow the proxy down to 300 ms, above AWS KMS's 250 ms timeout.",
			Action: faultAction("Slow the proxy to 300 ms", map[string]any{"LatencyMs": 300}),
		}},
	},
	{
		Code:    "XKS_VPC_ENDPOINT_SERVICE_INVALID_CONFIGURATION",
		Title:   "The VPC endpoint service does not meet the requirements",
		Summary: "AWS KMS found the key store's VPC endpoint service, but its configuration does not meet the requirements for an external key store.",
		Cause: "An external key store's VPC endpoint service must be an interface endpoint service in your account, with a Network Load Balancer in subnets of at least two Availability Zones, " +
			"cks.kms.<region>.amazonaws.com as an allowed principal, acceptance not required, a private DNS name unique in the Region whose verification state is verified, " +
			"and a TLS certificate on the proxy for that private DNS name.",
		Steps: xksFix(Step{
			Text: "Restore each requirement: no acceptance, a verified private DNS name, and load balancer subnets in two Availability Zones.",
			Action: &Action{Label: "Restore the endpoint service's requirements", Target: "Simulator.UpdateVpcEndpointService",
				Body: map[string]any{"ServiceName": "$vpcService", "AcceptanceRequired": false, "DnsVerification": "verified", "LoadBalancerAZs": []any{"$zoneA", "$zoneB"}}},
		}),
		AWSDoc: AWSXksConnectionError,
		Reproduce: []Step{{
			Text:   "Require acceptance of endpoint connections.",
			Action: &Action{Label: "Require acceptance", Target: "Simulator.UpdateVpcEndpointService", Body: map[string]any{"ServiceName": "$vpcService", "AcceptanceRequired": true}},
		}},
	},
	{
		Code:    "XKS_VPC_ENDPOINT_SERVICE_NOT_FOUND",
		Title:   "AWS KMS cannot find the VPC endpoint service",
		Summary: "AWS KMS cannot find the VPC endpoint service named in the key store, or is not allowed to use it.",
		Cause:   "The VPC endpoint service name is wrong, the service was deleted, or cks.kms.<region>.amazonaws.com is not one of its allowed principals.",
		Steps: xksFix(
			Step{
				Text:   "Allow the AWS KMS principal on the endpoint service.",
				Action: &Action{Label: "Allow the AWS KMS principal", Target: "Simulator.UpdateVpcEndpointService", Body: map[string]any{"ServiceName": "$vpcService", "AllowedPrincipals": []any{"$kmsPrincipal"}}},
			},
			Step{
				Text: "If the name is wrong, disconnect the key store and correct its VPC endpoint service name (console: Edit; API: UpdateCustomKeyStore with XksProxyVpcEndpointServiceName; only while DISCONNECTED).",
			},
		),
		AWSDoc: AWSXksConnectionError,
		Reproduce: []Step{{
			Text:   "Remove the AWS KMS principal from the endpoint service's allowed principals.",
			Action: &Action{Label: "Remove the AWS KMS principal", Target: "Simulator.UpdateVpcEndpointService", Body: map[string]any{"ServiceName": "$vpcService", "AllowedPrincipals": []any{}}},
		}},
	},
	{
		Code:    "NETWORK_ERRORS",
		Title:   "Network errors",
		Summary: "Network problems kept AWS KMS from reaching the external key store proxy.",
		Cause:   "Usually a transient problem, which clears by itself.",
		Steps: xksFix(Step{
			Text:   "Wait a few minutes before connecting again.",
			Action: WaitXks,
		}),
		AWSDoc: AWSXksConnectionError,
		Reproduce: []Step{{
			Text: "Make the next connection attempt meet network errors.",
			Action: &Action{Label: "Inject NETWORK_ERRORS", Target: "Simulator.InjectConnectFault",
				Body: map[string]any{"CustomKeyStoreId": "$store", "ConnectionErrorCode": "NETWORK_ERRORS"}},
		}},
	},
	{
		Code:    "INTERNAL_ERROR",
		Title:   "An internal error in AWS KMS",
		Summary: "AWS KMS could not complete the connection because of an internal error.",
		Cause:   "A problem on AWS's side. Retry; a FAILED key store must be disconnected first.",
		Steps:   xksFix(),
		AWSDoc:  AWSXksConnectionError,
		Reproduce: []Step{{
			Text: "Make the next connection attempt meet an internal error.",
			Action: &Action{Label: "Inject INTERNAL_ERROR", Target: "Simulator.InjectConnectFault",
				Body: map[string]any{"CustomKeyStoreId": "$store", "ConnectionErrorCode": "INTERNAL_ERROR"}},
		}},
	},
}

// LookupXKS returns the external key store entry for a ConnectionErrorCode.
func LookupXKS(code string) (ErrorCode, bool) {
	for _, e := range XKSErrorCodes {
		if e.Code == code {
			return e, true
		}
	}
	return ErrorCode{}, false
}
