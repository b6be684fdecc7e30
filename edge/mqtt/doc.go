// Package mqtt ingests device messages from an MQTT broker and runs each
// one as a command through the engine, so that a reading or a state change
// published by a scale, a PLC or an edge gateway passes the same gates as
// any other write: an uncalibrated scale, a state the record does not
// allow, or equipment nothing runs on is denied and on the record, or
// dead-lettered; never dropped.
//
// # Topics
//
// Under a root (Config.Prefix, default "interlock") and a site
// (Config.Site), devices publish at QoS 1:
//
//	interlock/<site>/<equipment>/reading   a weighed value (Reading)
//	interlock/<site>/<equipment>/state     a PackML state change (State)
//
// and the Ingester publishes what it could not record, at QoS 1, on
//
//	interlock/<site>/deadletter
//
// <equipment> is one topic level, an id in Config.Equipment (the
// allow-list). The Ingester subscribes at QoS 1 on a persistent session
// (clean session off, Config.ClientID), and acknowledges a message only
// once the engine has recorded it or it has been dead-lettered: a crash in
// between leaves the message unacknowledged, and the broker delivers it
// again.
//
// # Payloads
//
// Payloads are JSON objects of at most Config.MaxPayload bytes (default
// 16 KiB). Unknown fields, trailing data, and missing required fields make
// a message malformed. Decimals are JSON strings, never numbers, so that
// no value passes through a float.
//
// A reading:
//
//	{
//	  "id": "SC-01-000123",              // required: the message id
//	  "instrument": "SC-01",             // required: equals <equipment>
//	  "value": "12.500",                 // required: decimal string
//	  "unit": "kg",                      // required
//	  "stable": true,                    // required
//	  "tare": {"value": "1.250", "stable": true}, // optional: the tare in the same unit
//	  "time": "2026-11-25T09:00:00Z",    // required: the device's time, RFC 3339
//	  "raw": "S S     12.500 kg"         // optional: the frame it was parsed from
//	}
//
// A PackML state change:
//
//	{
//	  "id": "PK-01-000045",              // required: the message id
//	  "equipment": "PK-01",              // required: equals <equipment>
//	  "from": "Idle",                    // required: a PackML state
//	  "to": "Starting",                  // required: a PackML state
//	  "time": "2026-11-25T09:00:00Z"     // required: the device's time, RFC 3339
//	}
//
// A message id is 1 to 128 characters of letters, digits and ". _ : -",
// unique per equipment: it makes the command id (Message.CommandID), so
// that a message delivered twice runs one command, and the engine replays
// the second. A device that reuses an id for other content is refused by
// the engine (mes.ErrCommandReused) and dead-lettered.
//
// The device's time is kept on the record as data; the evidence and the
// record are timed by the engine's clock, never by a device.
//
// # Binding
//
// A message names equipment, not a batch. The integrator's Binder maps it
// to the command to run: the model, subject, step and command of what is
// running on that equipment now, with the actor, references and material.
// The Ingester fills what the message gives: the command id, the evidence
// (source device), the device's data, the PackML command that explains a
// state change, and the actor "device:<equipment>" when the Binder names
// none. A Binder returns ErrUnbound when nothing runs on the equipment.
//
// # Dead letters
//
// A DeadLetter carries the original topic, the payload (base64), a Code
// and a reason a person understands, and for a denial the gate reasons:
// malformed, oversized, unauthorised (the payload's instrument is not the
// topic's equipment, or the equipment is not allowed), unbound,
// unexplained (no PackML command makes the change), denied (the engine
// recorded the denial) or refused (the engine decided nothing: an invalid
// or reused request). A denial is on the record and dead-lettered.
//
// Dead letters are published at least once: a message whose
// acknowledgement is lost after its dead letter went out is delivered
// again and dead-lettered again, with the same command id, by which a
// consumer of the dead-letter topic tells the two apart. A denial is on
// the record once, whatever the deliveries: the engine replays it.
//
// A message that fails for a reason that may pass (the store is down, the
// outcome is unknown, the Binder failed, the dead letter could not be
// published) is not acknowledged; the Ingester tries it again with
// backoff, with the same command id, until it is recorded or Run stops.
// Messages are handled one at a time in the order they arrive, so a
// message that keeps failing holds back the ones behind it rather than
// letting a later state change overtake it; its failures are logged at
// Error.
//
// # Running
//
// New checks a Config and names every wrong field; Run connects,
// subscribes and handles messages until its context ends. Config.Logger
// receives dead letters at Warn and failures that will be retried at
// Error; Config.OnHandled receives each message's Result once it is
// acknowledged, for metrics or for a test to wait on.
package mqtt
