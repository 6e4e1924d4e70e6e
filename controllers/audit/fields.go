package audit

import "sort"

// checkFields names the arguments each check gives its findings, in the order the checks pass
// them. The plugin's message catalogues (cmd/kubectl-mutualis/i18n/locales) fill each check's
// problem and remedy by these names ({{.Container}}), so a translator sees what a sentence may say.
var checkFields = map[Check][]string{
	CheckPodSecurityMissing:     {"Found", "Want"},
	CheckPodSecurityWeaker:      {"Enforced", "Want"},
	CheckNetworkPolicyMissing:   nil,
	CheckNetworkPolicyModified:  {"Manager", "Fields"},
	CheckNetworkPolicyUnmanaged: nil,
	CheckTenantReachable:        {"Tenant", "Others", "Ports"},
	CheckReachesTenant:          {"Tenant", "Others", "Ports"},
	// Direction is "in" (the partner may come in) or "out" (the tenant may reach the partner)
	CheckPartnerPortOpen:      {"Partner", "Ports", "Direction"},
	CheckRunAsRoot:            {"Container"},
	CheckPrivileged:           {"Container"},
	CheckCapabilitiesAdded:    {"Container", "Capability"},
	CheckLimitsMissing:        {"Container", "Resources"},
	CheckWritableRootFS:       {"Container"},
	CheckMutableImage:         {"Container", "Image"},
	CheckRegistryNotAllowed:   {"Container", "Image", "Allowed"},
	CheckServiceOutside:       {"Type"},
	CheckIngressWithoutTLS:    {"Host"},
	CheckBackupFailing:        {"Message"},
	CheckBackupStale:          {"Last"},
	CheckBackupMissing:        {"Message"},
	CheckLicenceExpired:       {"Application", "Until"},
	CheckLicenceExpiring:      {"Application", "Until"},
	CheckRoleBindingUnmanaged: {"Role"},
	CheckAccess:               {"Subject", "Role"},
	CheckExcludedFromBackup:   nil,
	CheckRestoreDrillFailed:   {"Message"},
	// Last is empty when no drill ever passed
	CheckRestoreNotVerified: {"Last", "Period"},
	// Since is empty when the namespace was kept before mutualis recorded the date
	CheckRetainedNamespaceOverdue: {"Since", "ReviewAfter"},
}

// Checks are every check of the audit, sorted by name.
func Checks() []Check {
	out := make([]Check, 0, len(checkFields))
	for c := range checkFields {
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

// FieldNames are the names of a check's arguments.
func FieldNames(c Check) []string { return checkFields[c] }

// Fields are the finding's arguments by their names, as the message catalogues use them.
func (f Finding) Fields() map[string]string {
	out := map[string]string{}
	for i, name := range checkFields[f.Check] {
		if i < len(f.Args) {
			out[name] = f.Args[i]
		}
	}
	return out
}
