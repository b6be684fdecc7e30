package event

// Event types of the record. A transition's own record has the type its
// model records (a command name such as "start", or a type given with
// mes.Recording); the types below are the ones the engine and its models
// write whatever the model.
const (
	// Denied is the record a denied attempt leaves on its subject: a
	// Transition with no To and every failed gate's reason.
	Denied = "attempt.denied"
	// SignatureApplied holds one electronic signature (Signature), right
	// after the transition it signs.
	SignatureApplied = "signature.applied"
	// AuthPrefix starts the type of every authentication event (a signing
	// attempt, a lockout, a credential change): "auth." followed by the
	// signature.EventKind.
	AuthPrefix = "auth."
)

// Event types of lot streams (LotStream). Each is the own record of a
// transition of the lot model, with its Data as noted, except LotConsumed.
const (
	LotReceived     = "lot.received"      // Data: Receipt
	LotReleased     = "lot.released"      // Data: {}
	LotRejected     = "lot.rejected"      // Data: {}
	LotHeld         = "lot.held"          // Data: {"reason"}
	LotHoldReleased = "lot.hold-released" // Data: {}
	// LotConsumed is written on the lot with a consuming transition of
	// another subject: a Consumed.
	LotConsumed = "lot.consumed"
	LotProduced = "lot.produced" // Data: Receipt; written with a producing transition
	LotSplit    = "lot.split"    // the parent's own split transition
	LotMerged   = "lot.merged"   // the new lot's own merge transition
)

// Event types of equipment streams (EquipmentStream).
const (
	EquipmentRegistered = "equipment.registered" // Data: {"status"}
	EquipmentStatus     = "equipment.status"     // Data: {"status"}
	EquipmentCalibrated = "equipment.calibrated" // Data: {"status","due","min_weight","min_weight_unit"}
	EquipmentCleaned    = "equipment.cleaned"    // Data: {"status","until"}
)

// Event types of person streams (PersonStream).
const (
	PersonRegistered  = "person.registered"   // Data: {"name"}
	PersonRoleGranted = "person.role-granted" // Data: {"role"}
	PersonRoleRevoked = "person.role-revoked" // Data: {"role"}
	PersonTrained     = "person.trained"      // Data: {"skill","until"}

	// The credential commands: an administrator sets or unlocks a
	// person's signature credential, or the person changes their own
	// secret. Each authorises one change of the credential
	// (CredentialStream); the secret is never in the record.
	PersonCredentialSet      = "person.credential-set"
	PersonSecretChanged      = "person.secret-changed"
	PersonCredentialUnlocked = "person.credential-unlocked"
)

// Event types of exceptions. ExceptionOpened and ExceptionClosed are the
// own records of the exception model's transitions in the exception's
// stream (ExceptionStream), and also the types of the Markers that mirror
// them on the subject the exception concerns.
const (
	ExceptionOpened        = "exception.opened"               // Data: ExceptionContext
	ExceptionClosed        = "exception.closed"               // Data: {"id"}
	ExceptionDispositioned = "exception.dispositioned"        // Data: the disposition
	ExceptionRejected      = "exception.disposition-rejected" // Data: {"reason"}
	ExceptionApproved      = "exception.approved"             // Data: {}, followed by the approval signature
	ExceptionCAPA          = "exception.capa-attached"        // Data: {"capa"}
)

// Event types of route streams (master data).
const (
	RouteDrafted  = "route.drafted"
	RouteApproved = "route.approved"
	RouteRetired  = "route.retired"
)

// Event types of corrections and reviews.
const (
	ValueCorrected     = "value.corrected"
	CorrectionReviewed = "correction.reviewed"
	BatchQAReleased    = "batch.qa-released"
	BatchQARejected    = "batch.qa-rejected"
	AuditReviewed      = "audit.reviewed"
)

// Event types the lot graph (package genealogy) reads beside the engine's
// own: material moved, packed or shipped, and annotations of a lot (a
// deviation, rework). A model records them by naming them in
// mes.Recording; the graph maps them to EPCIS.
const (
	LotTransferred  = "lot.transferred"
	LotPacked       = "lot.packed"
	ShipmentShipped = "shipment.shipped"
	DeviationOpened = "deviation.opened"
	LotReworked     = "lot.reworked"
)

// Link kinds the engine writes for material flow. A link points the way
// material flows: From went into, or became part of, To.
const (
	LinkConsumed    = "consumed"    // lot → subject (a batch)
	LinkProduced    = "produced"    // subject (a batch) → new lot
	LinkSplit       = "split"       // subject (the parent lot) → child lot
	LinkMerged      = "merged"      // parent lot → subject (the new lot)
	LinkShipped     = "shipped"     // lot → subject (a shipment)
	LinkPacked      = "packed"      // lot → subject (a container)
	LinkTransferred = "transferred" // lot → subject (a lot or container)
	// LinkConcerns links an exception to the lot it is about. It is not
	// material flow: traces report it as an annotation of the lot.
	LinkConcerns = "concerns"
)

// The streams that hold facts gates read. Every fact has its own stream, so
// every fact has its own audit trail.
func LotStream(id string) string       { return "lot/" + id }
func EquipmentStream(id string) string { return "equipment/" + id }
func PersonStream(id string) string    { return "person/" + id }

// ContainerStream is the stream of a container (a pallet or case): lots
// are packed into it as its subject, and it records ContainerMoved when it
// leaves as a whole (mes Consumption.Container).
func ContainerStream(id string) string { return "container/" + id }

// ContainerMoved is the type of a container's record that it left, whole,
// into another subject (a shipment, or another container); its payload is a
// Consumed naming the container.
const ContainerMoved = "container.moved"

// ExceptionStream is the stream of one exception.
func ExceptionStream(id string) string { return "exception/" + id }

// AuthStream is the stream that holds the authentication events of one
// user id: every signing attempt, failed or not, every lockout, unlock and
// credential change (21 CFR 11.300(d); EU GMP Annex 11 §12.4).
func AuthStream(userID string) string { return "auth/" + userID }

// SigningKeyStream is the stream that records every key that seals
// electronic signatures, one record per rotation (mes.AuthTrail).
const SigningKeyStream = "auth/signing-key"

// SigningKeySet is the type of a record of SigningKeyStream: from its time
// on, signatures are sealed by the key it holds.
const SigningKeySet = AuthPrefix + "signing_key_set"

// CredentialStream is the stream that holds one user's signature
// credential as it changes: the hash of the secret, never the secret, and
// the lockout state (mes.Credentials).
func CredentialStream(userID string) string { return "credential/" + userID }

// The types of a credential's records: the first, and each change after.
const (
	CredentialCreated = "credential.created"
	CredentialUpdated = "credential.updated"
)
