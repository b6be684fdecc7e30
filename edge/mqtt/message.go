package mqtt

import (
	"encoding/json"
	"time"

	"github.com/interlock-mes/interlock/device"
	pml "github.com/interlock-mes/interlock/device/packml"
	"github.com/interlock-mes/interlock/gate"
	"github.com/interlock-mes/interlock/mes"
	"github.com/interlock-mes/interlock/mes/weigh"
)

// EvidenceReading is the name of a reading's evidence when it carries no
// tare; a reading with a tare is a weighing, named as weigh.Evidence names
// it (weigh.EvidenceTare, weigh.EvidenceGross, weigh.EvidenceNet).
const EvidenceReading = "reading"

// EvidenceState is the name of a state change's evidence: the state the
// equipment reports it entered, as Identity.
const EvidenceState = "packml-state"

// Message is a device message that was well formed and authorised: what
// a Binder is given to bind.
type Message struct {
	Topic     string    // the topic it came on
	Site      string    // Config.Site
	Equipment string    // the topic's equipment, which the payload names too
	Kind      Kind      // the topic's last level
	ID        string    // the payload's message id
	Payload   []byte    // as received
	Received  time.Time // the Ingester's clock when the message arrived, UTC
	// DeviceTime is the time the device gave. It is data, kept on the
	// record; gates and records use the engine's clock.
	DeviceTime time.Time

	// Reading is a reading's value (KindReading), timed at Received, with
	// the payload's raw frame (or the payload itself) as Raw; Tare is its
	// tare when the payload gave one.
	Reading *device.Reading
	Tare    *device.Reading

	// Change is a state change (KindState), and Command the PackML command
	// (or state complete) that explains it, by packml.Explain.
	Change  *pml.Change
	Command mes.Command
}

// CommandID returns the id of the command a message runs:
// "mqtt:<site>/<equipment>/<kind>/<message id>". It is the same every time
// the message is delivered, so a redelivery replays instead of writing
// again, and a message id is unique only within its equipment and kind.
func (m *Message) CommandID() string {
	return "mqtt:" + m.Site + "/" + m.Equipment + "/" + string(m.Kind) + "/" + m.ID
}

// Evidence returns the evidence the message gives, from source device:
// for a reading with a tare, weigh.Evidence's tare, gross and net; for one
// without, one value named EvidenceReading; for a state change, the state
// entered as the Identity of EvidenceState. It depends only on the
// payload, so a redelivered message gives the same evidence.
func (m *Message) Evidence() ([]gate.Evidence, error) {
	switch {
	case m.Reading != nil && m.Tare != nil:
		return weigh.Evidence(*m.Tare, *m.Reading)
	case m.Reading != nil:
		r := m.Reading
		return []gate.Evidence{{Name: EvidenceReading, HasValue: true, Value: r.Value, Unit: r.Unit,
			Source: gate.SourceDevice, Instrument: r.Instrument, Stable: r.Stable, Raw: r.RawText(), At: r.Time}}, nil
	case m.Change != nil:
		return []gate.Evidence{{Name: EvidenceState, Identity: string(m.Change.To),
			Source: gate.SourceDevice, Instrument: m.Equipment, Stable: true}}, nil
	}
	return nil, nil
}

// data is what the ingester records with the transition: where the
// message came from, and the device's own time. Everything in it comes
// from the message, so a redelivery repeats the request exactly.
func (m *Message) data() (json.RawMessage, error) {
	d := struct {
		MQTT struct {
			Topic      string `json:"topic"`
			MessageID  string `json:"message_id"`
			DeviceTime string `json:"device_time"`
			From       string `json:"from,omitempty"`
			To         string `json:"to,omitempty"`
		} `json:"mqtt"`
	}{}
	d.MQTT.Topic, d.MQTT.MessageID = m.Topic, m.ID
	d.MQTT.DeviceTime = m.DeviceTime.Format(time.RFC3339Nano)
	if m.Change != nil {
		d.MQTT.From, d.MQTT.To = string(m.Change.From), string(m.Change.To)
	}
	return json.Marshal(d)
}
