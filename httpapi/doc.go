// Package httpapi is Interlock's HTTP front door: an http.Handler that
// serves the engine's commands and its read side as JSON, so that a
// service built on Interlock, or a system in another language, drives
// the shop floor over HTTP without a way around the gates.
//
// # Routes
//
// Every route but GET /openapi.json needs an authenticated caller: the
// integrator's Config.Authenticate hook names the actor from the request
// (a session cookie, a bearer token, a client certificate), and the actor
// is never read from the body. Subjects, batches and graph nodes are path
// segments; a name holding a "/" (such as "lot/L7") is percent-encoded
// ("lot%2FL7").
//
//	POST /subjects/{subject}/commands   run a command through the engine (Idempotency-Key required)
//	POST /subjects/{subject}/checks     the dry run: would it be allowed (?at= for then; ?signer= judges
//	                                    a would-be signer too); writes nothing
//	GET  /subjects/{subject}/state      the state now, or ?at= an instant
//	GET  /subjects/{subject}/records    the subject's audit trail, a page from a version on (?from=, ?limit=)
//	POST /dispatch                      what the caller could do next with each subject
//	GET  /genealogy/{node}/backward     everything that went into a lot
//	GET  /genealogy/{node}/forward      everywhere a lot went
//	GET  /genealogy/{node}/recall       a recall's scope: shipped, in stock, in progress
//	GET  /genealogy/{node}/epcis        a trace as an EPCIS 2.0 document (application/ld+json)
//	GET  /genealogy/{node}/export       a trace as CSV, DOT, EPCIS or an FSMA 204 spreadsheet (?format=, or Accept)
//	GET  /genealogy/epcis               every event recorded in [?from=, ?to=) as one EPCIS document
//	GET  /batches/{batch}/review        the batch record reviewed by exception
//	GET  /records                       the whole record by global position (?after=, ?through=, ?limit=)
//	GET  /audit/trail                   the audit trail query (review.Find), as JSON or CSV
//	POST /audit/reviews                 sign off a review of the audit trail (Idempotency-Key required)
//	GET  /verification                  every hash chain, against the latest trusted checkpoint
//	GET  /openapi.json                  the OpenAPI 3.1 document of all of these
//
// The OpenAPI document (OpenAPI) is the contract: every route, every
// body and every status is in it, and the package's tests fail when the
// handler and the document disagree.
//
// # Commands and their idempotency key
//
// A command's body carries what a mes.Request carries (the model by name
// and version, step, command, references, evidence, data, material
// consumed and produced, declarations, signatures, override) and nothing
// else: a body with a member the request does not have, "actor" among
// them, is refused, as is one that names a member in another case or
// twice. The Idempotency-Key header is the command's id
// (mes.Request.ID) and is required: the same key sent again returns the
// recorded outcome and writes nothing, whatever happened to the first
// response, and the same key with a different command is refused (409).
// A key is at most MaxKeyBytes long; pick one per command, such as a
// UUID, before the first attempt, and keep it for every retry.
//
// The dry run takes the same body and needs no key; signatures given to
// it are neither checked nor recorded.
//
// # Sign-off
//
// Every signature re-authenticates: its body member carries the
// signer's user id and secret (or a signing session), which the engine's
// signer checks, and a signature the signer cannot give denies the
// command (422, on the record). A batch is released, or a step verified,
// by a command with its signatures, through the engine's gates like any
// other: register the release model (mes/release.Model) in Config.Models
// and send its command. A review of the audit trail (Annex 11 §9) has a
// route of its own, POST /audit/reviews, which runs the trail query and
// records the review with the SHA-256 of the CSV it exports through
// review.SignAuditReview, with the review.AuditModel of Config.Models
// (without one, it answers 404).
//
// # Audit trail and exports
//
// The audit trail is read as it stands: each record with its stream,
// version, position, time, actor, type, payload, evidence, links and the
// hashes that chain it. Pages are at most MaxPageSize records; a page's
// next member says where the next one starts. GET /audit/trail selects
// by actor, subject (a trailing "*" is a prefix), type, time and
// position, and answers with the query as run, its through set, so that
// running it again selects the same records. Time ranges are [from, to):
// a bound is an RFC 3339 time or a date, meaning its midnight in UTC.
//
// # Authorisation and the request log
//
// Config.Authorize is the integrator's coarse gate on routes: asked with
// the actor and the route's Operation (its operationId), it may refuse a
// request with 403 before anything runs (only QA may sign an audit
// review, say). The engine's gates still apply to every command it lets
// through. Config.Logger receives one line per request: method,
// operation, status, duration, actor and the Idempotency-Key; never a
// body, a query or a credential.
//
// # Errors
//
// Every error is an RFC 9457 problem (application/problem+json, Problem)
// whose type says what went wrong, so that a client branches on the type,
// not on the text:
//
//	400 TypeInvalid          the body, a parameter or the request is malformed, or a query
//	                         parameter is one the route does not declare (or, not an array,
//	                         is given twice); field names it
//	401 TypeUnauthenticated  Config.Authenticate named nobody
//	403 TypeForbidden        Config.Authorize refused the caller the route; nothing ran
//	404 TypeNotFound         no such route or model, no record of the subject, node or batch, or none yet at that instant
//	405 TypeMethod           the route exists under other methods (Allow lists them)
//	409 TypeConflict         the streams the gates read kept moving; run the command again
//	409 TypeCommandReused    the Idempotency-Key was used for another command
//	409 TypeModelVersion     the subject runs another version of the model
//	409 TypeUnproven         the subject's record does not prove its state; it needs attention
//	413 TypeTooLarge         the body is over Config.MaxBodyBytes
//	415 TypeMediaType        the body is not application/json
//	422 TypeDenied           the gates denied the command; reasons lists every failure, and the denial is on the record
//	500 TypeInternal         a failure of the service, logged; nothing in the request can fix it
//	503 TypeOutcomeUnknown   the command may or may not have been recorded: send it again with the same key (Retry-After)
//	503 TypeUnavailable      the store cannot take the command now; nothing was recorded (Retry-After)
//
// # Trust
//
// The handler holds no store that it writes to: commands run through
// mes.Engine.Execute, with its gates, its attestation and its recording
// of denied attempts, the audit review through review.SignAuditReview,
// which runs it through Execute too, and every other route reads.
// Authorisation beyond the engine's own gates (who may read which batch's
// review) is the integrator's, in Config.Authorize. GET /verification,
// GET /records and GET /audit/trail read every record of the store: give
// them to the people and schedules that need them, not to every caller.
package httpapi
