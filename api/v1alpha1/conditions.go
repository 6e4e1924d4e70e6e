package v1alpha1

// Condition types of a tenant. Ready, Reconciling and Stalled are the kstatus set that Flux and
// Argo CD read; the others report one part of the tenant contract each.
const (
	ConditionReady             = "Ready"
	ConditionReconciling       = "Reconciling"
	ConditionStalled           = "Stalled"
	ConditionNamespaceReady    = "NamespaceReady"
	ConditionQuotaReady        = "QuotaReady"
	ConditionNetworkReady      = "NetworkReady"
	ConditionAccessReady       = "AccessReady"
	ConditionApplicationsReady = "ApplicationsReady"
	ConditionLicencesReady     = "LicencesReady"
	ConditionBackupReady       = "BackupReady"
	ConditionNISCurrent        = "NISCurrent"
)

// Condition reasons. Each names what happened in one word, so that events and alerts can key on it.
const (
	ReasonReady             = "Ready"
	ReasonProgressing       = "Progressing"
	ReasonApplied           = "Applied"
	ReasonUnknownNIS        = "UnknownNIS"
	ReasonRetiredNIS        = "RetiredNIS"
	ReasonCurrentNIS        = "CurrentNIS"
	ReasonPopulationMissing = "PopulationRequired"
	ReasonDuplicateNIS      = "DuplicateNIS"
	ReasonDuplicateCPAS     = "DuplicateCPAS"
	ReasonCommuneNotFound   = "CommuneNotFound"
	ReasonCommuneNotReady   = "CommuneNotReady"
	ReasonUnknownTier       = "UnknownTier"
	ReasonNamespaceConflict = "NamespaceConflict"
	ReasonNamespaceDeleting = "NamespaceTerminating"
	ReasonTenantRolesAbsent = "TenantRolesMissing"
	ReasonSuspended         = "Suspended"
	ReasonDeleting          = "Deleting"
	ReasonNoApplications    = "NoApplications"
	ReasonNoLicences        = "NoLicensedApplications"
	ReasonPoolExhausted     = "PoolExhausted"
	ReasonApplyFailed       = "ApplyFailed"
	ReasonDuplicateDomain   = "DuplicateDomain"
	ReasonDomainNotAllowed  = "DomainNotAllowed"
	// ReasonNotChecked marks a part condition that the latest reconcile did not check.
	ReasonNotChecked = "NotChecked"
)
