package mqtt

import (
	"time"

	"github.com/interlock-mes/interlock/gate"
)

// Code says why a message was dead-lettered.
type Code string

// The dead-letter codes.
const (
	CodeMalformed    Code = "malformed"    // not a payload of its kind (see the package doc)
	CodeOversized    Code = "oversized"    // over Config.MaxPayload
	CodeUnauthorised Code = "unauthorised" // equipment not allowed, or the payload names other equipment than the topic
	CodeUnbound      Code = "unbound"      // the Binder found nothing running on the equipment
	CodeUnexplained  Code = "unexplained"  // no PackML command makes the reported change
	CodeDenied       Code = "denied"       // the engine denied the command; the denial is on the record
	CodeRefused      Code = "refused"      // the engine decided nothing: an invalid or reused request
)

// DeadLetter is what the Ingester publishes on the dead-letter topic for
// a message it could not record as a transition. Its JSON form is:
//
//	{"topic": "...", "payload": "<base64>", "payload_size": 231, "code": "denied",
//	 "reason": "...", "message_id": "...", "command_id": "...",
//	 "reasons": [{"gate": "...", "code": "...", "message": "..."}],
//	 "time": "2026-11-25T09:00:00Z"}
type DeadLetter struct {
	Topic string `json:"topic"` // the topic the message came on
	// Payload is the original payload, base64 in JSON; for an oversized
	// one, its first Config.MaxPayload bytes, and PayloadSize its size.
	Payload     []byte `json:"payload"`
	PayloadSize int    `json:"payload_size"`
	Code        Code   `json:"code"`
	Reason      string `json:"reason"`
	MessageID   string `json:"message_id,omitempty"` // when the payload gave a valid one
	CommandID   string `json:"command_id,omitempty"` // when a command was built
	// Reasons are the failed gates of a denial (CodeDenied), as recorded.
	Reasons []GateReason `json:"reasons,omitempty"`
	Time    time.Time    `json:"time"` // the Ingester's clock
}

// GateReason is a failed gate of a denial, as a dead letter carries it.
type GateReason struct {
	Gate    string    `json:"gate,omitempty"`
	Code    gate.Code `json:"code"`
	Message string    `json:"message"`
}
