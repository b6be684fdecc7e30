package genealogy

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/shopspring/decimal"
)

// EPCISEvent is one EPCIS 2.0 event as this package writes it in JSON-LD:
// the fields a genealogy export uses, in the standard's names.
type EPCISEvent struct {
	Type                string             `json:"type"`
	EventID             string             `json:"eventID,omitempty"`
	EventTime           string             `json:"eventTime"`
	EventTimeZoneOffset string             `json:"eventTimeZoneOffset"`
	EPCList             []string           `json:"epcList,omitempty"`
	ParentID            string             `json:"parentID,omitempty"`
	InputEPCList        []string           `json:"inputEPCList,omitempty"`
	ChildEPCs           []string           `json:"childEPCs,omitempty"`
	QuantityList        []QuantityElement  `json:"quantityList,omitempty"`
	ChildQuantityList   []QuantityElement  `json:"childQuantityList,omitempty"`
	InputQuantityList   []QuantityElement  `json:"inputQuantityList,omitempty"`
	OutputEPCList       []string           `json:"outputEPCList,omitempty"`
	OutputQuantityList  []QuantityElement  `json:"outputQuantityList,omitempty"`
	Action              string             `json:"action,omitempty"`
	TransformationID    string             `json:"transformationID,omitempty"`
	BizStep             string             `json:"bizStep,omitempty"`
	Disposition         string             `json:"disposition,omitempty"`
	ReadPoint           *Location          `json:"readPoint,omitempty"`
	BizLocation         *Location          `json:"bizLocation,omitempty"`
	BizTransactionList  []BizTransaction   `json:"bizTransactionList,omitempty"`
	SourceList          []EPCISSource      `json:"sourceList,omitempty"`
	DestinationList     []EPCISDestination `json:"destinationList,omitempty"`
}

// QuantityElement is an EPCIS quantity of an EPC class; Quantity nil means
// the event does not say how much.
type QuantityElement struct {
	EPCClass string           `json:"epcClass"`
	Quantity *decimal.Decimal `json:"quantity,omitempty"`
	UOM      string           `json:"uom,omitempty"`
}

// Location is a read point or business location.
type Location struct {
	ID string `json:"id"`
}

// BizTransaction is a business transaction an event belongs to.
type BizTransaction struct {
	Type           string `json:"type,omitempty"`
	BizTransaction string `json:"bizTransaction"`
}

// EPCISSource is a source of an event, such as the owning party it came
// from.
type EPCISSource struct {
	Type   string `json:"type"`
	Source string `json:"source"`
}

// EPCISDestination is a destination of an event, such as the customer that
// owns what was shipped.
type EPCISDestination struct {
	Type        string `json:"type"`
	Destination string `json:"destination"`
}

// cbvPrefix turns a bare CBV value into its web URI, as the hash needs.
const cbvPrefix = "https://ref.gs1.org/cbv/"

func cbv(kind, v string) string {
	if v == "" || strings.Contains(v, ":") {
		return v
	}
	return cbvPrefix + kind + "-" + v
}

// PreHash returns the canonical pre-hash string of e by the GS1 CBV 2.0
// event hash algorithm: the event's fields in the standard's order, each as
// name=value without separators, list elements sorted lexically, times in
// UTC with milliseconds, bare CBV values as their web URIs, quantities
// without trailing zeros, and the eventID left out.
//
// It covers the fields EPCISEvent has. It does not rewrite EPC URNs
// (urn:epc:id:...) to GS1 Digital Link as the algorithm asks, so an event
// naming things by URN hashes differently from the reference; this
// package's exports use Digital Link or private URIs, which need no rewrite.
// It returns an error for an eventTime that is not RFC 3339.
func PreHash(e *EPCISEvent) (string, error) {
	var b strings.Builder
	b.WriteString("eventType=" + e.Type)
	t, err := time.Parse(time.RFC3339Nano, e.EventTime)
	if err != nil {
		return "", fmt.Errorf("genealogy: pre-hash: eventTime: %w", err)
	}
	b.WriteString("eventTime=" + hashTime(t))
	if e.EventTimeZoneOffset != "" {
		b.WriteString("eventTimeZoneOffset=" + e.EventTimeZoneOffset)
	}
	list := func(name, child string, vs []string) {
		if len(vs) == 0 {
			return
		}
		parts := make([]string, len(vs))
		for i, v := range vs {
			parts[i] = child + "=" + strings.TrimSpace(v)
		}
		slices.Sort(parts)
		b.WriteString(name + strings.Join(parts, ""))
	}
	quantities := func(name string, qs []QuantityElement) {
		if len(qs) == 0 {
			return
		}
		parts := make([]string, len(qs))
		for i, q := range qs {
			s := "quantityElementepcClass=" + q.EPCClass
			if q.Quantity != nil {
				s += "quantity=" + q.Quantity.String()
			}
			if q.UOM != "" {
				s += "uom=" + q.UOM
			}
			parts[i] = s
		}
		slices.Sort(parts)
		b.WriteString(name + strings.Join(parts, ""))
	}
	field := func(name, v string) {
		if v != "" {
			b.WriteString(name + "=" + strings.TrimSpace(v))
		}
	}
	list("epcList", "epc", e.EPCList)
	field("parentID", e.ParentID)
	list("inputEPCList", "epc", e.InputEPCList)
	list("childEPCs", "epc", e.ChildEPCs)
	quantities("quantityList", e.QuantityList)
	quantities("childQuantityList", e.ChildQuantityList)
	quantities("inputQuantityList", e.InputQuantityList)
	list("outputEPCList", "epc", e.OutputEPCList)
	quantities("outputQuantityList", e.OutputQuantityList)
	field("action", e.Action)
	field("transformationID", e.TransformationID)
	field("bizStep", cbv("BizStep", e.BizStep))
	field("disposition", cbv("Disp", e.Disposition))
	if e.ReadPoint != nil {
		b.WriteString("readPointid=" + e.ReadPoint.ID)
	}
	if e.BizLocation != nil {
		b.WriteString("bizLocationid=" + e.BizLocation.ID)
	}
	typed := func(name, valueName, prefix string, items [][2]string) {
		if len(items) == 0 {
			return
		}
		parts := make([]string, len(items))
		for i, it := range items {
			s := ""
			if it[0] != "" {
				s = "type=" + cbv(prefix, it[0])
			}
			parts[i] = s + valueName + "=" + it[1]
		}
		slices.Sort(parts)
		b.WriteString(name + strings.Join(parts, ""))
	}
	var bt, src, dst [][2]string
	for _, x := range e.BizTransactionList {
		bt = append(bt, [2]string{x.Type, x.BizTransaction})
	}
	for _, x := range e.SourceList {
		src = append(src, [2]string{x.Type, x.Source})
	}
	for _, x := range e.DestinationList {
		dst = append(dst, [2]string{x.Type, x.Destination})
	}
	typed("bizTransactionList", "bizTransaction", "BTT", bt)
	typed("sourceList", "source", "SDT", src)
	typed("destinationList", "destination", "SDT", dst)
	return b.String(), nil
}

// hashTime writes t in UTC with exactly three decimals, rounding the fourth
// half up, as the algorithm asks.
func hashTime(t time.Time) string {
	return t.UTC().Round(time.Millisecond).Format("2006-01-02T15:04:05.000Z")
}

// EventHash returns e's EPCIS event hash, ni:///sha-256;<hex>?ver=CBV2.0,
// the SHA-256 of PreHash(e).
func EventHash(e *EPCISEvent) (string, error) {
	pre, err := PreHash(e)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256([]byte(pre))
	return "ni:///sha-256;" + hex.EncodeToString(sum[:]) + "?ver=CBV2.0", nil
}
