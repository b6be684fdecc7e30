// Package genealogytest writes lot graphs for tests and benchmarks: a
// seeded synthetic plant (NewPlant: receipts, multi-level transformations
// with bulk and traced inputs, splits, merges, packing and shipping, sized
// by the number of lots) and the builders it uses (ReceiveEvent,
// FlowEvent, ProduceEvent, SplitEvent, MergeEvent, AnnotationEvent), which
// write events in the form the genealogy package reads. Production records
// come from the engine; these builders exist so that the graph, its
// exports and the Postgres walker can be tested and measured at a scale no
// test would drive through the engine.
//
// # Sizes
//
// NewPlant's PlantConfig sets the seed, the number of lots, the levels of
// transformation and the fan-out of bulk inputs; the same seed gives the
// same plant, so benchmark runs compare.
package genealogytest
