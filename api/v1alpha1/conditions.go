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
	// ConditionAuditClean is True when the latest security audit found nothing of high severity.
	// It is informative: it never makes the tenant not Ready.
	ConditionAuditClean = "AuditClean"
	// ConditionRestoreVerified is True when the latest restore drill restored the tenant's latest
	// backup and found in it what the tenant held. It is informative: it never makes the tenant not
	// Ready.
	ConditionRestoreVerified = "RestoreVerified"
	// ConditionOffboarding is True while kubectl mutualis offboard takes the tenant out of the cell
	// (the annotation mutualis.crtpl.be/offboarding), with the step as its reason. Informative.
	ConditionOffboarding = "Offboarding"
)

// Condition types of a SharedApplication and of a LicencePool (besides Ready).
const (
	// ConditionBaseValid says whether the catalogue entry renders and follows the tenant contract.
	ConditionBaseValid = "BaseValid"
	// ConditionExpiringSoon warns that a pool ends within 30 days.
	ConditionExpiringSoon = "ExpiringSoon"
	// ConditionExhausted says that a pool has no seat left.
	ConditionExhausted = "Exhausted"
	// ConditionInstanceReady says whether the instance of a Shared application runs.
	ConditionInstanceReady = "InstanceReady"
	// ConditionEndpointsApproved says whether the cell approved every external endpoint the
	// application declares (TenancyPolicy spec.network.externalEndpoints). Informative: an
	// endpoint not approved stays closed, and the entry stays Ready.
	ConditionEndpointsApproved = "EndpointsApproved"
)

// Condition reasons. Each names what happened in one word, so that events and alerts can key on
// it; a Warning event carries the reason of the condition it reports.
const (
	// Summary and every part.
	ReasonReady       = "Ready"       // nothing in progress, nothing wrong
	ReasonProgressing = "Progressing" // waiting for the cache or for a retry
	ReasonApplied     = "Applied"     // the part is in place as desired
	ReasonApplyFailed = "ApplyFailed" // an error of the API server; retried with backoff
	ReasonNotChecked  = "NotChecked"  // a part the latest reconcile did not check
	ReasonSuspended   = "Suspended"   // spec.suspend is true
	ReasonDeleting    = "Deleting"    // the tenant is being deleted

	// Identity of the tenant (Stalled: nothing is created).
	ReasonUnknownNIS        = "UnknownNIS"         // not a current code of the registry
	ReasonRetiredNIS        = "RetiredNIS"         // NISCurrent=False: a merged commune's old code
	ReasonCurrentNIS        = "CurrentNIS"         // NISCurrent=True
	ReasonPopulationMissing = "PopulationRequired" // the registry is disabled and spec.population is empty
	ReasonDuplicateNIS      = "DuplicateNIS"       // an older Commune has the code
	ReasonDuplicateCPAS     = "DuplicateCPAS"      // the commune already has an older CPAS
	ReasonUnknownTier       = "UnknownTier"        // spec.tier names no tier of the policy
	ReasonDuplicateDomain   = "DuplicateDomain"    // an older tenant holds an overlapping domain
	ReasonDomainReleasing   = "DomainReleasing"    // another namespace still publishes a domain the tenant gained (waits)
	ReasonDomainNotAllowed  = "DomainNotAllowed"   // a declared domain lies under the cell's baseDomain
	ReasonEgressNotAllowed  = "EgressNotAllowed"   // an egress CIDR touches the cluster's own networks
	ReasonCommuneNotFound   = "CommuneNotFound"    // a CPAS waits for its Commune
	ReasonCommuneNotReady   = "CommuneNotReady"    // a CPAS waits until its Commune can be served

	// NamespaceReady and AccessReady.
	ReasonNamespaceConflict = "NamespaceConflict"    // an unmanaged namespace has the name
	ReasonNamespaceDeleting = "NamespaceTerminating" // the old namespace is still going
	ReasonTenantRolesAbsent = "TenantRolesMissing"   // the tenant ClusterRoles are not installed

	// ApplicationsReady and LicencesReady.
	ReasonApplicationsReady       = "ApplicationsReady"
	ReasonApplicationsProgressing = "ApplicationsProgressing" // workloads not available yet
	ReasonApplicationMissing      = "ApplicationMissing"      // no SharedApplication of that name
	ReasonApplicationInvalid      = "ApplicationInvalid"      // a bad base or subscription (Stalled)
	ReasonKindNotInstalled        = "KindNotInstalled"        // the render uses a kind whose CRD is missing (waits)
	ReasonObjectConflict          = "ObjectConflict"          // an object of the render exists and mutualis did not make it (waits)
	ReasonQuotaTooSmall           = "QuotaTooSmall"           // the subscriptions together exceed the tier's quota (Stalled)
	ReasonNoApplications          = "NoApplications"
	ReasonNoLicences              = "NoLicensedApplications"
	ReasonPoolExhausted           = "PoolExhausted" // no pool, or not enough seats in it

	// BackupReady.
	ReasonBackupSucceeded       = "BackupSucceeded"
	ReasonBackupFailed          = "BackupFailed"
	ReasonBackupStale           = "BackupStale"
	ReasonBackupPending         = "BackupPending"
	ReasonVeleroNotInstalled    = "VeleroNotInstalled"
	ReasonBackupsDisabled       = "BackupsDisabled"
	ReasonInvalidSchedule       = "InvalidSchedule"       // the cron schedule does not parse
	ReasonFinalBackupInProgress = "FinalBackupInProgress" // a Delete tenant waits for its final backup
	ReasonFinalBackupFailed     = "FinalBackupFailed"     // the final backup ended badly (Stalled)
	ReasonFinalBackupForeign    = "FinalBackupForeign"    // a Backup of that name was not taken for this tenant (Stalled)
	ReasonFinalBackupSkipped    = "FinalBackupSkipped"    // event: deleted without final backup, as annotated

	// Events of a tenant's namespace (the tenant's other events carry its condition reasons).
	ReasonNamespaceCreated  = "NamespaceCreated"  // event: the tenant's namespace was created
	ReasonNamespaceAdopted  = "NamespaceAdopted"  // event: an existing namespace was adopted, as annotated
	ReasonNamespaceReleased = "NamespaceReleased" // event: the owner reference of an earlier version was taken off the namespace
	ReasonNamespaceDeleted  = "NamespaceDeleted"  // event: the namespace is being deleted (deletionPolicy Delete)
	ReasonNamespaceRetained = "NamespaceRetained" // event: the namespace and its data are kept, labelled orphaned
	ReasonBackupRequested   = "BackupRequested"   // event: an on-demand backup was requested by annotation
	ReasonAccessRevoked     = "AccessRevoked"     // event: a RoleBinding naming someone the spec no longer names was deleted
	ReasonWithdrawn         = "Withdrawn"         // event: an Ingress for a lost domain, or a Service towards a namespace no longer reachable, was deleted

	// RestoreVerified, and the events of restore drills.
	ReasonRestoreDrillPassed = "RestoreDrillPassed" // the latest drill found the tenant's objects in the restore
	ReasonRestoreDrillFailed = "RestoreDrillFailed" // the latest drill's restore failed, timed out or missed objects
	// ReasonIncident is the Warning event of an incident touching a tenant's data (a high audit
	// finding, a failed restore drill, a failed final backup), which names the DPO to tell.
	ReasonIncident = "Incident"
	// ReasonIncidentNotDelivered is the Warning event of a notice the cell's incident hook refused.
	ReasonIncidentNotDelivered = "IncidentNotDelivered"
	ReasonRestoreDrillPending  = "RestoreDrillPending"   // no drill yet: the first is due in the policy's period
	ReasonRestoreDrillRunning  = "RestoreDrillRunning"   // a drill's restore is under way, or waits for a free slot
	ReasonRestoreDrillStarted  = "RestoreDrillStarted"   // event: a drill began
	ReasonRestoreDrillsOff     = "RestoreDrillsOff"      // backups are disabled or Velero is not installed: nothing to drill
	ReasonRestoreDrillCleaned  = "RestoreDrillCleanedUp" // event: the scratch namespace of a drill was deleted

	// Offboarding (its reason is the step kubectl mutualis offboard is at).
	ReasonOffboardingExport = "Exporting"
	ReasonOffboardingPurge  = "Purging"
	ReasonOffboardingDelete = "Deleting"

	// AuditClean.
	ReasonNoHighFinding = "NoHighFinding" // the audit found nothing of high severity
	ReasonHighFindings  = "HighFindings"  // the audit found something of high severity
	ReasonAuditPending  = "AuditPending"  // the tenant has not been audited yet
	ReasonAuditFailed   = "AuditFailed"   // the audit could not read what it checks; retried

	// A warning of kubectl mutualis validate: a subscribed catalogue entry without dataProtection.
	ReasonDataProtectionMissing = "DataProtectionMissing"

	// SharedApplication (BaseValid) and LicencePool.
	ReasonBaseValid     = "BaseValid"
	ReasonInvalidBase   = "InvalidBase"
	ReasonAllocated     = "Allocated"
	ReasonExpired       = "Expired"
	ReasonNotExpiring   = "NotExpiring"
	ReasonDuplicatePool = "DuplicatePool"
	ReasonSeatsLeft     = "SeatsLeft"

	// SharedApplication (EndpointsApproved).
	ReasonEndpointsApproved = "EndpointsApproved" // every external endpoint is approved
	ReasonEndpointsWaiting  = "EndpointsWaiting"  // some wait for the cell's approval, or were refused
)
