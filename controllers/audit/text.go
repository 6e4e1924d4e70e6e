package audit

import (
	"fmt"
	"strings"
)

// Lang is the language of a report: French by default (the cell's), English on request, German for
// the communes of the German-speaking Community.
type Lang string

const (
	French  Lang = "fr"
	English Lang = "en"
	German  Lang = "de"
)

// ParseLang reads a language flag.
func ParseLang(s string) (Lang, error) {
	switch l := Lang(strings.ToLower(s)); l {
	case French, English, German:
		return l, nil
	}
	return "", fmt.Errorf("language %q: fr, en or de", s)
}

// sentences of one check in one language: the problem and the remedy, formatted with the finding's
// arguments (%[1]s is the first).
type sentences struct{ problem, remedy string }

var texts = map[Check]map[Lang]sentences{
	CheckPodSecurityMissing: {
		French:  {"le namespace n'impose pas de niveau Pod Security (trouvé « %[1]s », attendu « %[2]s »)", "rétablir le label pod-security.kubernetes.io/enforce=%[2]s ; l'opérateur le remet à chaque réconciliation, vérifier qu'il tourne"},
		English: {"the namespace enforces no Pod Security level (found %[1]q, want %[2]q)", "restore the label pod-security.kubernetes.io/enforce=%[2]s; the operator sets it on every reconcile: check that it runs"},
		German:  {"der Namespace erzwingt keine Pod-Security-Stufe (gefunden „%[1]s“, erwartet „%[2]s“)", "das Label pod-security.kubernetes.io/enforce=%[2]s wiederherstellen; der Operator setzt es bei jedem Abgleich: prüfen, ob er läuft"},
	},
	CheckPodSecurityWeaker: {
		French:  {"le niveau Pod Security imposé (%[1]s) est plus faible que celui de la politique (%[2]s)", "rétablir pod-security.kubernetes.io/enforce=%[2]s"},
		English: {"the enforced Pod Security level (%[1]s) is weaker than the policy's (%[2]s)", "restore pod-security.kubernetes.io/enforce=%[2]s"},
		German:  {"die erzwungene Pod-Security-Stufe (%[1]s) ist schwächer als die der Richtlinie (%[2]s)", "pod-security.kubernetes.io/enforce=%[2]s wiederherstellen"},
	},
	CheckNetworkPolicyMissing: {
		French:  {"la NetworkPolicy gérée est absente : l'isolation du locataire est incomplète", "vérifier que l'opérateur tourne et lire la condition NetworkReady du locataire ; il recrée la politique"},
		English: {"the managed NetworkPolicy is missing: the tenant's isolation is incomplete", "check that the operator runs and read the tenant's NetworkReady condition; it recreates the policy"},
		German:  {"die verwaltete NetworkPolicy fehlt: die Isolation des Mandanten ist unvollständig", "prüfen, ob der Operator läuft, und die Bedingung NetworkReady lesen; er legt die Richtlinie neu an"},
	},
	CheckNetworkPolicyModified: {
		French:  {"la spec de la NetworkPolicy gérée a été modifiée par %[1]q (%[2]s)", "retirer la modification (kubectl apply --server-side avec le gestionnaire %[1]s, ou supprimer la politique pour que l'opérateur la recrée) et chercher qui l'a faite"},
		English: {"the managed NetworkPolicy's spec was changed by %[1]q (%[2]s)", "take the change back (apply again as %[1]s without the field, or delete the policy so that the operator recreates it) and find out who made it"},
		German:  {"die spec der verwalteten NetworkPolicy wurde von %[1]q geändert (%[2]s)", "die Änderung zurücknehmen (oder die Richtlinie löschen, damit der Operator sie neu anlegt) und klären, wer sie vorgenommen hat"},
	},
	CheckNetworkPolicyUnmanaged: {
		French:  {"une NetworkPolicy non gérée par mutualis ajoute ses autorisations à celles du contrat", "la supprimer, ou déclarer le besoin dans le Commune/CPAS (spec.network) pour que l'opérateur le porte"},
		English: {"a NetworkPolicy that mutualis does not manage adds its allowances to the contract's", "delete it, or declare the need in the tenant's spec.network so that the operator carries it"},
		German:  {"eine nicht von mutualis verwaltete NetworkPolicy fügt den Regeln des Vertrags eigene Freigaben hinzu", "sie löschen oder den Bedarf in spec.network des Mandanten erklären"},
	},
	CheckTenantReachable: {
		French:  {"le locataire %[1]s (et %[2]s autres du même profil) peut joindre ce namespace sur les ports %[3]s", "retirer la règle qui l'autorise : seul le partenaire (commune ou CPAS) peut entrer, sur les ports exposés"},
		English: {"tenant %[1]s (and %[2]s others alike) can reach this namespace on ports %[3]s", "remove the rule that allows it: only the partner (commune or CPAS) may come in, on exposed ports"},
		German:  {"der Mandant %[1]s (und %[2]s gleichartige) erreicht diesen Namespace auf den Ports %[3]s", "die erlaubende Regel entfernen: nur der Partner darf auf freigegebenen Ports zugreifen"},
	},
	CheckReachesTenant: {
		French:  {"ce namespace peut joindre le locataire %[1]s (et %[2]s autres du même profil) sur les ports %[3]s", "retirer la règle de sortie qui l'autorise : seul le partenaire est joignable, sur ses ports exposés"},
		English: {"this namespace can reach tenant %[1]s (and %[2]s others alike) on ports %[3]s", "remove the egress rule that allows it: only the partner is reachable, on its exposed ports"},
		German:  {"dieser Namespace erreicht den Mandanten %[1]s (und %[2]s gleichartige) auf den Ports %[3]s", "die erlaubende Egress-Regel entfernen: nur der Partner ist auf seinen freigegebenen Ports erreichbar"},
	},
	CheckPartnerPortOpen: {
		French:  {"le partenaire %[1]s est autorisé sur les ports %[2]s (%[3]s), qu'aucun Service n'expose", "limiter la règle du partenaire aux ports exposés (spec.exposes du catalogue)"},
		English: {"the partner %[1]s is allowed on ports %[2]s (%[3]s), which no Service exposes", "limit the partner's rule to the exposed ports (the catalogue's spec.exposes)"},
		German:  {"der Partner %[1]s ist auf den Ports %[2]s (%[3]s) erlaubt, die kein Service freigibt", "die Partnerregel auf die freigegebenen Ports beschränken"},
	},
	CheckRunAsRoot: {
		French:  {"le conteneur %[1]s peut tourner en root (runAsNonRoot absent)", "mettre securityContext.runAsNonRoot: true (et un runAsUser non nul) au pod ou au conteneur"},
		English: {"container %[1]s may run as root (no runAsNonRoot)", "set securityContext.runAsNonRoot: true (and a non-zero runAsUser) on the pod or the container"},
		German:  {"der Container %[1]s kann als root laufen (runAsNonRoot fehlt)", "securityContext.runAsNonRoot: true (und eine runAsUser ungleich 0) setzen"},
	},
	CheckPrivileged: {
		French:  {"le conteneur %[1]s est privilégié : il a accès au nœud", "retirer securityContext.privileged ; aucune application du catalogue n'en a besoin"},
		English: {"container %[1]s is privileged: it has access to the node", "remove securityContext.privileged; no catalogue application needs it"},
		German:  {"der Container %[1]s ist privilegiert: er hat Zugriff auf den Knoten", "securityContext.privileged entfernen"},
	},
	CheckCapabilitiesAdded: {
		French:  {"le conteneur %[1]s ajoute la capacité %[2]s", "retirer la capacité (capabilities.drop: [ALL], sans add)"},
		English: {"container %[1]s adds capability %[2]s", "remove the capability (capabilities.drop: [ALL], no add)"},
		German:  {"der Container %[1]s fügt die Capability %[2]s hinzu", "die Capability entfernen (capabilities.drop: [ALL], kein add)"},
	},
	CheckLimitsMissing: {
		French:  {"le conteneur %[1]s n'a pas de limite de %[2]s", "donner resources.limits au conteneur (la LimitRange du locataire le fait par défaut : vérifier qu'elle est en place)"},
		English: {"container %[1]s has no %[2]s limit", "give the container resources.limits (the tenant's LimitRange does by default: check that it is in place)"},
		German:  {"der Container %[1]s hat kein Limit für %[2]s", "resources.limits setzen (die LimitRange des Mandanten tut es standardmäßig)"},
	},
	CheckWritableRootFS: {
		French:  {"le système de fichiers racine du conteneur %[1]s est inscriptible", "mettre securityContext.readOnlyRootFilesystem: true et monter un emptyDir là où l'application écrit"},
		English: {"container %[1]s has a writable root file system", "set securityContext.readOnlyRootFilesystem: true and mount an emptyDir where the application writes"},
		German:  {"das Root-Dateisystem des Containers %[1]s ist beschreibbar", "securityContext.readOnlyRootFilesystem: true setzen und ein emptyDir für Schreibzugriffe einhängen"},
	},
	CheckMutableImage: {
		French:  {"le conteneur %[1]s utilise l'image %[2]s, sans tag fixe ni digest", "épingler l'image par une version (ou un digest) dans le catalogue (spec.images)"},
		English: {"container %[1]s runs image %[2]s, with no fixed tag or digest", "pin the image by a version (or a digest) in the catalogue (spec.images)"},
		German:  {"der Container %[1]s nutzt das Image %[2]s ohne festen Tag oder Digest", "das Image mit einer Version (oder einem Digest) festlegen"},
	},
	CheckRegistryNotAllowed: {
		French:  {"l'image %[2]s du conteneur %[1]s ne vient pas d'un registre autorisé (%[3]s)", "reprendre l'image d'un registre autorisé, ou l'ajouter à spec.allowedRegistries de la TenancyPolicy"},
		English: {"image %[2]s of container %[1]s comes from no allowed registry (%[3]s)", "take the image from an allowed registry, or add it to the TenancyPolicy's spec.allowedRegistries"},
		German:  {"das Image %[2]s des Containers %[1]s stammt aus keiner erlaubten Registry (%[3]s)", "das Image aus einer erlaubten Registry beziehen oder sie in spec.allowedRegistries aufnehmen"},
	},
	CheckServiceOutside: {
		French:  {"le Service est exposé hors du cluster (%[1]s), sans garantie de TLS", "publier par une Ingress avec TLS, ou s'assurer que le service chiffre lui-même"},
		English: {"the Service is exposed outside the cluster (%[1]s), with no guarantee of TLS", "publish through an Ingress with TLS, or make sure the service encrypts itself"},
		German:  {"der Service ist außerhalb des Clusters erreichbar (%[1]s), ohne TLS-Garantie", "über einen Ingress mit TLS veröffentlichen oder sicherstellen, dass der Dienst selbst verschlüsselt"},
	},
	CheckIngressWithoutTLS: {
		French:  {"l'hôte %[1]s est publié sans TLS : les données circulent en clair", "ajouter l'hôte à spec.tls de l'Ingress avec son certificat"},
		English: {"host %[1]s is published without TLS: data travels in clear", "add the host to the Ingress's spec.tls with its certificate"},
		German:  {"der Host %[1]s wird ohne TLS veröffentlicht: Daten gehen unverschlüsselt", "den Host mit Zertifikat in spec.tls des Ingress aufnehmen"},
	},
	CheckBackupFailing: {
		French:  {"la dernière sauvegarde a échoué : %[1]s", "lire les journaux de la sauvegarde Velero (velero backup logs) et corriger la cause ; la prochaine planification réessaie"},
		English: {"the last backup failed: %[1]s", "read the Velero backup's logs (velero backup logs) and fix the cause; the next schedule tries again"},
		German:  {"die letzte Sicherung ist fehlgeschlagen: %[1]s", "die Velero-Protokolle lesen (velero backup logs) und die Ursache beheben"},
	},
	CheckBackupStale: {
		French:  {"la dernière sauvegarde réussie (%[1]s) est trop ancienne", "vérifier la Schedule Velero du locataire et l'emplacement de sauvegarde"},
		English: {"the last successful backup (%[1]s) is too old", "check the tenant's Velero Schedule and the backup location"},
		German:  {"die letzte erfolgreiche Sicherung (%[1]s) ist zu alt", "den Velero-Zeitplan des Mandanten und den Sicherungsort prüfen"},
	},
	CheckBackupMissing: {
		French:  {"le locataire n'est pas sauvegardé : %[1]s", "rétablir les sauvegardes (spec.backup du locataire, Velero installé, planification valide)"},
		English: {"the tenant is not backed up: %[1]s", "restore backups (the tenant's spec.backup, Velero installed, a valid schedule)"},
		German:  {"der Mandant wird nicht gesichert: %[1]s", "die Sicherungen wiederherstellen (spec.backup, Velero installiert, gültiger Zeitplan)"},
	},
	CheckLicenceExpired: {
		French:  {"les licences de %[1]s ont expiré le %[2]s", "renouveler le contrat et prolonger spec.validUntil de la LicencePool"},
		English: {"the licences of %[1]s expired on %[2]s", "renew the contract and extend the LicencePool's spec.validUntil"},
		German:  {"die Lizenzen für %[1]s sind am %[2]s abgelaufen", "den Vertrag verlängern und spec.validUntil des LicencePool anpassen"},
	},
	CheckLicenceExpiring: {
		French:  {"les licences de %[1]s expirent le %[2]s, dans moins de 30 jours", "renouveler le contrat à temps et prolonger spec.validUntil de la LicencePool"},
		English: {"the licences of %[1]s expire on %[2]s, within 30 days", "renew the contract in time and extend the LicencePool's spec.validUntil"},
		German:  {"die Lizenzen für %[1]s laufen am %[2]s ab, in weniger als 30 Tagen", "den Vertrag rechtzeitig verlängern"},
	},
	CheckRoleBindingUnmanaged: {
		French:  {"un RoleBinding que mutualis n'a pas créé donne %[1]s dans le namespace", "le supprimer, ou déclarer l'accès dans spec.admins / spec.viewers du locataire"},
		English: {"a RoleBinding that mutualis did not make grants %[1]s in the namespace", "delete it, or declare the access in the tenant's spec.admins / spec.viewers"},
		German:  {"ein nicht von mutualis angelegtes RoleBinding vergibt %[1]s im Namespace", "es löschen oder den Zugriff in spec.admins / spec.viewers erklären"},
	},
	CheckAccess: {
		French:  {"%[1]s a le rôle %[2]s dans le namespace", "vérifier que cette personne ou ce groupe doit encore y avoir accès"},
		English: {"%[1]s has role %[2]s in the namespace", "check that this person or group should still have access"},
		German:  {"%[1]s hat die Rolle %[2]s im Namespace", "prüfen, ob diese Person oder Gruppe noch Zugriff haben soll"},
	},
}

// Text is the finding's problem and remedy in the language.
func Text(f Finding, lang Lang) (problem, remedy string) {
	byLang, ok := texts[f.Check]
	if !ok {
		return string(f.Check), ""
	}
	s, ok := byLang[lang]
	if !ok {
		s = byLang[French]
	}
	return format(s.problem, f.Args), format(s.remedy, f.Args)
}

// format fills a sentence with the arguments it names (a sentence that names none takes none, so
// that fmt does not append the unused ones).
func format(sentence string, args []string) string {
	if !strings.Contains(sentence, "%[") {
		return sentence
	}
	a := make([]any, len(args))
	for i, v := range args {
		a[i] = v
	}
	return fmt.Sprintf(sentence, a...)
}

// SeverityName is the severity in the language.
func SeverityName(s Severity, lang Lang) string {
	names := map[Lang]map[Severity]string{
		French:  {High: "élevée", Medium: "moyenne", Low: "faible", Info: "info"},
		English: {High: "high", Medium: "medium", Low: "low", Info: "info"},
		German:  {High: "hoch", Medium: "mittel", Low: "niedrig", Info: "Info"},
	}
	if n, ok := names[lang][s]; ok {
		return n
	}
	return string(s)
}
