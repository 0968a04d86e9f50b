package content

// An ErrorCode explains one ConnectionErrorCode of an AWS CloudHSM key
// store: what it means, what causes it, and AWS's documented fix as
// ordered steps (disconnect, repair, update the key store if needed,
// connect).
type ErrorCode struct {
	Code    string // the ConnectionErrorCode, e.g. "USER_LOGGED_IN"
	Title   string // a short heading
	Summary string // one sentence: what KMS ran into
	Cause   string // what usually leads there
	Steps   []Step // the fix, in order
	AWSDoc  string // the section of AWS's troubleshooting guide

	// Reproduce is how to cause the code in a Keystore Lab sandbox that
	// has a connected-once, now DISCONNECTED key store; connecting it
	// afterwards ends FAILED with Code. Empty when it takes more than
	// single calls with the documented placeholders.
	Reproduce []Step
}

// Playable reports whether a page can both cause and fix e with buttons
// alone: every step of Reproduce and Steps has an Action.
func (e ErrorCode) Playable() bool {
	if len(e.Reproduce) == 0 {
		return false
	}
	for _, list := range [][]Step{e.Reproduce, e.Steps} {
		for _, s := range list {
			if s.Action == nil {
				return false
			}
		}
	}
	return true
}

// Lookup returns the entry for a ConnectionErrorCode.
func Lookup(code string) (ErrorCode, bool) {
	for _, e := range ErrorCodes {
		if e.Code == code {
			return e, true
		}
	}
	return ErrorCode{}, false
}

// The steps that open and close every fix.
var (
	stepDisconnect = Step{
		Text:   "Disconnect the key store (Key store actions, Disconnect; or DisconnectCustomKeyStore). A key store whose connection state is FAILED cannot be connected again until it is disconnected.",
		Action: Disconnect,
	}
	stepWaitDisconnected = Step{
		Text:   "Wait until the connection state is DISCONNECTED. In the sandbox, jump the clock instead of waiting.",
		Action: WaitDisconnect,
	}
	stepConnect = Step{
		Text:   "Connect the key store (Key store actions, Connect; or ConnectCustomKeyStore).",
		Action: Connect,
	}
	stepWaitConnected = Step{
		Text:   "Wait for the connection to finish, which can take up to 20 minutes, and confirm that the connection state is CONNECTED. In the sandbox, jump the clock.",
		Action: WaitConnect,
	}
	stepUpdatePassword = Step{
		Text:   "Edit the key store's kmsuser password setting (console: Edit, then Save; API: UpdateCustomKeyStore with KeyStorePassword) so that it matches the current kmsuser password in the cluster. This tells AWS KMS which password to log in with; it does not change the password in the cluster.",
		Action: UpdatePassword,
	}
)

// fix wraps the repair steps of a code in AWS's order: disconnect, wait,
// repair (and update the key store), connect, wait.
func fix(repair ...Step) []Step {
	steps := []Step{stepDisconnect, stepWaitDisconnected}
	steps = append(steps, repair...)
	return append(steps, stepConnect, stepWaitConnected)
}

// ErrorCodes has one entry for each of the ten connection error codes of
// an AWS CloudHSM key store, in the order of
// engine.CloudHSMConnectionErrorCodes.
var ErrorCodes = []ErrorCode{
	{
		Code:    "INVALID_CREDENTIALS",
		Title:   "AWS KMS has the wrong kmsuser password",
		Summary: "AWS KMS could not log in to the cluster as the kmsuser crypto user (CU) because the password it holds is not the current one.",
		Cause: "AWS KMS knows only the kmsuser password it set itself on its last connection, or the one you gave it in the key store's password setting. " +
			"If someone changes the kmsuser password in the cluster while the key store is disconnected (for example to log in as kmsuser and audit keys) " +
			"and does not update the key store to match, every connection attempt fails with this code.",
		Steps: fix(
			Step{
				Text:   "Find out the current kmsuser password. If nobody knows it, log in to the cluster as a crypto officer (admin) and change the kmsuser password to a known value (7 to 32 alphanumeric characters).",
				Action: ChangeKmsuserPassword,
			},
			stepUpdatePassword,
		),
		AWSDoc: AWSInvalidCredentials,
		Reproduce: []Step{{
			Text:   "Change the kmsuser password in the cluster and do not tell AWS KMS.",
			Action: ChangeKmsuserPassword,
		}},
	},
	{
		Code:    "CLUSTER_NOT_FOUND",
		Title:   "The AWS CloudHSM cluster cannot be found",
		Summary: "AWS KMS cannot find an AWS CloudHSM cluster with the cluster ID in the key store's settings.",
		Cause:   "The key store's cluster ID is wrong, or its cluster was deleted and not replaced.",
		Steps: fix(
			Step{
				Text: "Check the cluster ID in the AWS CloudHSM console or with DescribeClusters.",
				Action: &Action{Label: "Describe the cluster", Target: "BaldrApiService.DescribeClusters",
					Body: map[string]any{"Filters": map[string]any{"clusterIds": []any{"$cluster"}}}},
			},
			Step{
				Text: "If the cluster was deleted, create a cluster from a recent backup of it (find the backup with DescribeBackups; create the cluster with CreateCluster and SourceBackupId). " +
					"Add HSMs to it: to accept a new cluster ID, AWS KMS needs at least two active HSMs in different Availability Zones.",
				Action: &Action{Label: "Find the backups", Target: "BaldrApiService.DescribeBackups",
					Body: map[string]any{"Filters": map[string]any{"clusterIds": []any{"$cluster"}}}},
			},
			Step{
				Text: "Edit the key store's cluster ID (console: Edit, then Save; API: UpdateCustomKeyStore with CloudHsmClusterId) to the new cluster. " +
					"It must share backup history with the original cluster, or the update fails with CloudHsmClusterNotRelatedException.",
			},
		),
		AWSDoc: AWSConnectionFailure,
	},
	{
		Code:    "NETWORK_ERRORS",
		Title:   "Network errors",
		Summary: "Network problems kept AWS KMS from reaching the cluster.",
		Cause:   "Usually a transient problem between AWS KMS and the cluster's network, which clears by itself.",
		Steps: fix(Step{
			Text:   "Wait a few minutes before connecting again.",
			Action: &Action{Label: "Jump the clock 5 minutes", Target: "Simulator.AdvanceClock", Body: map[string]any{"Seconds": 300}},
		}),
		AWSDoc: AWSConnectionFailure,
		Reproduce: []Step{{
			Text: "Make the next connection attempt meet network errors (the sandbox's stand-in for trouble on AWS's side).",
			Action: &Action{Label: "Inject NETWORK_ERRORS", Target: "Simulator.InjectConnectFault",
				Body: map[string]any{"CustomKeyStoreId": "$store", "ConnectionErrorCode": "NETWORK_ERRORS"}},
		}},
	},
	{
		Code:    "INTERNAL_ERROR",
		Title:   "Internal error",
		Summary: "AWS KMS could not complete the connection because of an internal error on its side.",
		Cause:   "A problem inside AWS KMS, not in your cluster or your settings.",
		Steps:   fix(),
		AWSDoc:  AWSConnectionFailure,
		Reproduce: []Step{{
			Text: "Make the next connection attempt meet an internal error (the sandbox's stand-in for trouble on AWS's side).",
			Action: &Action{Label: "Inject INTERNAL_ERROR", Target: "Simulator.InjectConnectFault",
				Body: map[string]any{"CustomKeyStoreId": "$store", "ConnectionErrorCode": "INTERNAL_ERROR"}},
		}},
	},
	{
		Code:    "INSUFFICIENT_CLOUDHSM_HSMS",
		Title:   "The cluster has no active HSMs",
		Summary: "The key store's AWS CloudHSM cluster has no active HSM, and AWS KMS needs at least one to connect.",
		Cause:   "Every HSM of the cluster was deleted (or none was ever added). DescribeClusters shows how many HSMs the cluster has.",
		Steps: fix(
			Step{
				Text: "Add at least one HSM to the cluster (CreateHsm). If you add more than one, put them in different Availability Zones.",
				Action: &Action{Label: "Add an HSM", Target: "BaldrApiService.CreateHsm",
					Body: map[string]any{"ClusterId": "$cluster", "AvailabilityZone": "$az"}},
			},
			Step{
				Text:   "Wait until the HSM is ACTIVE. In the sandbox, jump the clock.",
				Action: &Action{Label: "Jump the clock 10 minutes", Target: "Simulator.AdvanceClock", Body: map[string]any{"Seconds": 600}},
			},
		),
		AWSDoc: AWSConnectionFailure,
	},
	{
		Code:    "USER_LOCKED_OUT",
		Title:   "kmsuser is locked out",
		Summary: "The kmsuser crypto user is locked out of the cluster after too many failed login attempts.",
		Cause: "AWS CloudHSM locks a user out after five failed logins (twenty for clusters created before February 2018), " +
			"whether they come from someone typing the wrong password or from AWS KMS connecting with an outdated one. A locked-out user can log in again only after its password is changed.",
		Steps: fix(
			Step{
				Text:   "Log in to the cluster as a crypto officer (admin) and change the kmsuser password. This clears the lockout.",
				Action: ChangeKmsuserPassword,
			},
			stepUpdatePassword,
		),
		AWSDoc: AWSInvalidCredentials,
		Reproduce: []Step{{
			Text: "Try to log in as kmsuser with a wrong password five times.",
			Action: &Action{Label: "Log in with a wrong password, five times", Target: "Simulator.LoginCryptoUser", Times: 5,
				Body: map[string]any{"ClusterId": "$cluster", "Username": "kmsuser", "Password": "wrongPassword1"}},
		}},
	},
	{
		Code:    "USER_NOT_FOUND",
		Title:   "There is no kmsuser",
		Summary: "AWS KMS cannot log in because the cluster has no kmsuser crypto user (CU).",
		Cause: "The kmsuser account was deleted from the cluster, or the key store was pointed at a cluster that never had one. " +
			"AWS KMS needs a CU named kmsuser, without two-factor authentication, in the cluster.",
		Steps: fix(
			Step{
				Text: "Log in to the cluster as a crypto officer (admin) and create a crypto user named kmsuser with a password you choose.",
				Action: &Action{Label: "Create kmsuser", Target: "Simulator.CreateCryptoUser",
					Body: map[string]any{"ClusterId": "$cluster", "Username": "kmsuser", "Password": "$newPassword"}},
			},
			stepUpdatePassword,
		),
		AWSDoc: AWSConnectionFailure,
		Reproduce: []Step{{
			Text: "Delete the kmsuser crypto user from the cluster.",
			Action: &Action{Label: "Delete kmsuser", Target: "Simulator.DeleteCryptoUser",
				Body: map[string]any{"ClusterId": "$cluster", "Username": "kmsuser"}},
		}},
	},
	{
		Code:    "USER_LOGGED_IN",
		Title:   "kmsuser is logged in",
		Summary: "The kmsuser crypto user is logged in to the cluster, so AWS KMS cannot log in as kmsuser and rotate its password.",
		Cause: "Someone logged in as kmsuser while the key store was disconnected, usually to audit or manage its keys, " +
			"and did not log out before the key store was connected again.",
		Steps: fix(Step{
			Text: "Log kmsuser out of every CloudHSM client where it is logged in. " +
				"If you also changed the kmsuser password, edit the key store's password setting to match before you connect (see INVALID_CREDENTIALS).",
			Action: LogoutKmsuser,
		}),
		AWSDoc: AWSLogOutAndReconnect,
		Reproduce: []Step{
			{Text: "Change the kmsuser password to one you know.", Action: ChangeKmsuserPassword},
			{Text: "Log in as kmsuser, and do not log out.", Action: LoginKmsuser},
			{Text: "Tell AWS KMS the new password, as the procedure says.", Action: UpdatePassword},
		},
	},
	{
		Code:    "SUBNET_NOT_FOUND",
		Title:   "A cluster subnet was deleted",
		Summary: "At least one of the private subnets in the cluster's configuration no longer exists, so AWS KMS cannot create its network interface there.",
		Cause:   "A subnet of the cluster was deleted in Amazon VPC after the cluster was created.",
		Steps: fix(
			Step{
				Text: "Create a cluster from a recent backup of the cluster (find it with DescribeBackups; create it with CreateCluster and SourceBackupId). " +
					"This gives it a new configuration, in new private subnets. Add HSMs in at least two Availability Zones and check that it meets the requirements of a key store.",
				Action: &Action{Label: "Find the backups", Target: "BaldrApiService.DescribeBackups",
					Body: map[string]any{"Filters": map[string]any{"clusterIds": []any{"$cluster"}}}},
			},
			Step{
				Text: "Edit the key store's cluster ID (console: Edit, then Save; API: UpdateCustomKeyStore with CloudHsmClusterId) to the new cluster.",
			},
		),
		AWSDoc: AWSConnectionFailure,
	},
	{
		Code:    "INSUFFICIENT_FREE_ADDRESSES_IN_SUBNET",
		Title:   "A cluster subnet has no free addresses",
		Summary: "A private subnet of the cluster has no free IP address for the network interface AWS KMS creates in it.",
		Cause: "AWS KMS creates one network interface in each Availability Zone of the cluster's subnets when it connects, so it needs at least one free address in each; two are recommended. " +
			"Usually other resources in the subnet have taken its addresses.",
		Steps: fix(Step{
			Text: "Free addresses in the subnet, for example by deleting network interfaces nobody uses. " +
				"Or create a cluster from a backup in larger subnets and edit the key store's cluster ID to it.",
			Action: &Action{Label: "Free two addresses", Target: "Simulator.SetSubnetFreeAddresses",
				Body: map[string]any{"SubnetId": "$subnet", "FreeAddresses": 2}},
		}),
		AWSDoc: AWSConnectionFailure,
		Reproduce: []Step{{
			Text: "Let other workloads use up every free address of a cluster subnet.",
			Action: &Action{Label: "Use up the addresses", Target: "Simulator.SetSubnetFreeAddresses",
				Body: map[string]any{"SubnetId": "$subnet", "FreeAddresses": 0}},
		}},
	},
}
