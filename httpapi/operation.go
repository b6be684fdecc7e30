package httpapi

// Operation names a route of the handler by its operationId in the
// OpenAPI document, such as "execute" for POST
// /subjects/{subject}/commands. Config.Authorize is asked about one, and
// the request log names one.
type Operation string

// The operations, one per route; the OpenAPI document gives each its
// operationId.
const (
	OpExecute        Operation = "execute"        // POST /subjects/{subject}/commands
	OpCheck          Operation = "check"          // POST /subjects/{subject}/checks
	OpState          Operation = "state"          // GET /subjects/{subject}/state
	OpSubjectRecords Operation = "subjectRecords" // GET /subjects/{subject}/records
	OpDispatch       Operation = "dispatch"       // POST /dispatch
	OpBackward       Operation = "backward"       // GET /genealogy/{node}/backward
	OpForward        Operation = "forward"        // GET /genealogy/{node}/forward
	OpRecall         Operation = "recall"         // GET /genealogy/{node}/recall
	OpEPCIS          Operation = "epcis"          // GET /genealogy/{node}/epcis
	OpExport         Operation = "export"         // GET /genealogy/{node}/export
	OpEPCISRange     Operation = "epcisRange"     // GET /genealogy/epcis
	OpReview         Operation = "review"         // GET /batches/{batch}/review
	OpRecords        Operation = "records"        // GET /records
	OpAuditTrail     Operation = "auditTrail"     // GET /audit/trail
	OpAuditReview    Operation = "auditReview"    // POST /audit/reviews
	OpVerify         Operation = "verify"         // GET /verification
	OpOpenAPI        Operation = "openapi"        // GET /openapi.json, which needs no authentication
)
