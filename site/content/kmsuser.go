package content

// KmsuserProcedure is AWS's "How to log out and reconnect": how to use the
// kmsuser crypto user yourself (to audit the key material of the key
// store's KMS keys, or to delete orphaned key material) and hand it back to
// AWS KMS. While the key store is connected, AWS KMS stays logged in as
// kmsuser, so nobody else can log in as kmsuser or change its password.
var KmsuserProcedure = []Step{
	{
		Text:   "Disconnect the key store. While it is connected, AWS KMS is logged in as kmsuser, and you can neither log in as kmsuser nor change its password.",
		Action: Disconnect,
	},
	stepWaitDisconnected,
	{
		Text:   "Log in to the cluster as a crypto officer (admin) and change the kmsuser password to a value you know (7 to 32 alphanumeric characters). AWS KMS rotated it to a value only it knew.",
		Action: ChangeKmsuserPassword,
	},
	{
		Text:   "Log in as kmsuser and do the work: audit the keys, or delete orphaned key material by its key handle.",
		Action: LoginKmsuser,
	},
	{
		Text:   "Log out. If kmsuser stays logged in, the next connection attempt fails with USER_LOGGED_IN.",
		Action: LogoutKmsuser,
	},
	{
		Text:   "Edit the key store's kmsuser password setting to the password you set (console: Edit, then Save; API: UpdateCustomKeyStore with KeyStorePassword). If you skip this, the next connection attempt fails with INVALID_CREDENTIALS.",
		Action: UpdatePassword,
	},
	{
		Text:   "Connect the key store. AWS KMS logs in as kmsuser and rotates its password to a value only AWS KMS knows.",
		Action: Connect,
	},
	{
		Text:   "Confirm that the connection state is CONNECTED. Connecting can take up to 20 minutes; in the sandbox, jump the clock.",
		Action: WaitConnect,
	},
}
