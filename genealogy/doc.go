// Package genealogy is the lot graph: which lots, containers, batches and
// shipments material went through, built from the links of the record, with
// the event that proves each link. It answers a recall in milliseconds: from
// a suspect supplier lot forward to the finished lots, shipments and
// customers it reached, and from a finished lot back to everything that went
// into it and the steps that consumed it.
//
// # Vocabulary
//
// The graph reads events, not inventory. A link always points the way
// material flows, From into To, and its kind says how:
//
//	consumed     lot or container → batch       (event.LotConsumed, in the batch's stream)
//	produced     batch → lot                    (event.LotProduced)
//	transferred  lot or container → lot or container
//	split        parent lot → child lot         (event.LotSplit: quantities conserved)
//	merged       parent lot → new lot           (event.LotMerged: one link per parent)
//	packed       lot or item → container        (event.LotPacked: EPCIS aggregation)
//	shipped      lot or container → shipment    (event.ShipmentShipped: the customer on the shipment)
//	concerns     hold, deviation or rework → lot (not followed; an annotation)
//
// The payload fields the graph reads are those of Payload: the identity
// source of the event's links (scan, device, manual), the step and whether
// it is critical, the quantity and unit of each link, and declarations of
// the nodes named (kind, material, GTIN, supplier and the supplier's lot
// number, customer, quantity). A receipt (event.LotReceived) has no links: it
// declares a received lot with its supplier lot. ReceiveEvent, FlowEvent,
// ProduceEvent, SplitEvent, MergeEvent and AnnotationEvent build these
// events and check them (SplitEvent refuses a split whose parts do not add
// up). Links of other kinds are ignored, so the engine may link other
// things through the same index.
//
// # The graph
//
// Build reads every record once (through the store's Scan when it has one)
// and Update or Apply keep the graph current. Node ids are interned to dense
// integers and adjacency is kept in CSR arrays both ways, with the proving
// event of each edge in side arrays: a million lots and two million links
// take under 300 MB, and a typical trace takes microseconds (see
// BENCHMARKS.md). Trace follows backend.Walk's rules exactly, each node
// expanded once at its shortest distance, so cycles end and the answers
// equal the store's own Traverse, which a test checks on the memory and
// Postgres stores.
//
// On Postgres, package storage/postgres/pgwalk walks an integer copy of the link
// index kept by a trigger, for callers that query the database directly.
//
// # Export
//
// An Exporter writes a trace, or every event in a time range, as a GS1 EPCIS
// 2.0 JSON-LD document (each event with its CBV 2.0 event hash as eventID),
// as a sortable CSV of the key data elements of each tracking event, and as
// Graphviz DOT.
//
// [Exporter.FSMA204] writes the FDA's sortable spreadsheet per tracking event.
//
// NewPlant generates a synthetic plant, seeded and reproducible, for tests
// and benchmarks.
package genealogy
