package genealogytest

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"

	"github.com/interlock-mes/interlock/genealogy"

	"github.com/shopspring/decimal"

	"github.com/interlock-mes/interlock/storage"
)

// PlantConfig shapes a synthetic plant. The zero value of every field but
// Lots takes the default named on it.
type PlantConfig struct {
	// Seed makes the plant reproducible: one seed, one plant.
	Seed uint64
	// Lots is about how many lots the plant has (raw, intermediate and
	// finished; pallets and shipments come on top). At least 100.
	Lots int
	// Levels is how many production levels follow receiving, so a lot's
	// genealogy is Levels+1 lots deep. Default 5.
	Levels int
	// BulkInputs are received lots (a solvent, a resin) that feed
	// BulkFanout batches of level BulkLevel each. Default 1.
	BulkInputs int
	// BulkFanout defaults to Lots/100.
	BulkFanout int
	// BulkLevel is the level whose batches the bulk inputs feed: the
	// levels above multiply its reach. Default: Levels/2+1, capped at
	// Levels; with the other defaults a bulk input reaches about a fifth
	// of the plant.
	BulkLevel int
	// Suppliers, Customers and Materials default to 50, 200 and 100.
	Suppliers, Customers, Materials int
}

// Plant is a generated plant: call Append to write it to a store.
type Plant struct {
	cfg PlantConfig
	// perLevel[i] is the number of lots of level i; level 0 is received.
	perLevel []int
	// Bulk are the bulk raw lots.
	Bulk []string
}

// NewPlant checks cfg and returns the plant it describes. It returns an
// error naming the field for a value out of range.
func NewPlant(cfg PlantConfig) (*Plant, error) {
	c := cfg
	def := func(v *int, d int) {
		if *v == 0 {
			*v = d
		}
	}
	def(&c.Levels, 5)
	def(&c.BulkInputs, 1)
	def(&c.BulkFanout, c.Lots/100)
	def(&c.BulkLevel, min(c.Levels, c.Levels/2+1))
	def(&c.Suppliers, 50)
	def(&c.Customers, 200)
	def(&c.Materials, 100)
	switch {
	case c.Lots < 100:
		return nil, fmt.Errorf("genealogy: plant: PlantConfig.Lots: %d, want at least 100", c.Lots)
	case c.Levels < 1 || c.Levels > 50:
		return nil, fmt.Errorf("genealogy: plant: PlantConfig.Levels: %d is outside 1..50", c.Levels)
	case c.BulkLevel < 1 || c.BulkLevel > c.Levels:
		return nil, fmt.Errorf("genealogy: plant: PlantConfig.BulkLevel: %d is outside 1..Levels", c.BulkLevel)
	case c.BulkInputs < 0 || c.BulkFanout < 0:
		return nil, errors.New("genealogy: plant: PlantConfig.BulkInputs and BulkFanout must not be negative")
	case c.Suppliers < 1 || c.Customers < 1 || c.Materials < 1:
		return nil, errors.New("genealogy: plant: PlantConfig.Suppliers, Customers and Materials must be positive")
	}
	p := &Plant{cfg: c}
	raw := c.Lots * 3 / 10
	p.perLevel = append(p.perLevel, raw)
	for i := 1; i <= c.Levels; i++ {
		p.perLevel = append(p.perLevel, (c.Lots-raw)/c.Levels)
	}
	for i := range c.BulkInputs {
		p.Bulk = append(p.Bulk, fmt.Sprintf("BULK-%02d", i))
	}
	return p, nil
}

// Lot returns the name of lot i of level (0: received).
func (p *Plant) Lot(level, i int) string {
	if level == 0 {
		return fmt.Sprintf("RAW-%07d", i)
	}
	return fmt.Sprintf("L%d-%07d", level, i)
}

// Finished returns the name of finished lot i, 0 <= i < FinishedLots.
func (p *Plant) Finished(i int) string { return p.Lot(p.cfg.Levels, i) }

// FinishedLots returns how many finished lots the plant has.
func (p *Plant) FinishedLots() int { return p.perLevel[p.cfg.Levels] }

// RawLots returns how many received lots the plant has, bulk lots aside.
func (p *Plant) RawLots() int { return p.perLevel[0] }

// Append writes the plant to store, one append per received lot, batch,
// pallet and shipment, all with the vocabulary's builders, and returns the
// number of appends. Each batch consumes two or three lots of the level
// below (and at the first level maybe a bulk lot) and produces one or two;
// one batch in a hundred of each level is still in progress and has
// produced nothing; finished lots are packed ten to a pallet (nine in ten
// of them) and pallets shipped five to a shipment.
func (p *Plant) Append(ctx context.Context, store storage.Store) (int, error) {
	return p.Each(func(req storage.AppendRequest) error {
		_, err := store.Append(ctx, req)
		return err
	})
}

// Each calls fn with every append of the plant, in order; Append is Each
// with store.Append.
func (p *Plant) Each(fn func(storage.AppendRequest) error) (int, error) {
	c := p.cfg
	rng := rand.New(rand.NewPCG(c.Seed, c.Seed^0x9e3779b97f4a7c15))
	n := 0
	emit := func(stream string, evs ...storage.Event) error {
		n++
		return fn(storage.AppendRequest{Streams: []storage.StreamAppend{{Stream: stream, Events: evs}}})
	}
	qty := func() decimal.Decimal { return decimal.New(int64(10+rng.IntN(9990)), -1) }
	receive := func(lot string, i int) error {
		ev, err := ReceiveEvent("receiving", Receipt{
			Lot: lot, Material: fmt.Sprintf("MAT-%03d", i%c.Materials),
			Supplier: fmt.Sprintf("SUP-%02d", i%c.Suppliers), SupplierLot: fmt.Sprintf("S%d-%06d", i%c.Suppliers, i),
			Quantity: qty(), Unit: "kg", IdentitySource: genealogy.SourceScan,
		})
		if err != nil {
			return err
		}
		return emit(lot, ev)
	}
	for i, b := range p.Bulk {
		if err := receive(b, c.Lots+i); err != nil {
			return n, err
		}
	}
	for i := range p.perLevel[0] {
		if err := receive(p.Lot(0, i), i); err != nil {
			return n, err
		}
	}
	for level := 1; level <= c.Levels; level++ {
		lots, below := p.perLevel[level], p.perLevel[level-1]
		batches := lots * 2 / 3
		bulkEvery := 0
		if level == c.BulkLevel && c.BulkFanout > 0 {
			bulkEvery = max(1, batches/c.BulkFanout)
		}
		out := 0
		for b := range batches {
			batch := fmt.Sprintf("B%d-%07d", level, b)
			// Two inputs, sometimes three: a lot's genealogy reaches about
			// a hundred lots each way at six levels.
			fanIn := 2
			if rng.IntN(5) == 0 {
				fanIn = 3
			}
			inputs := make([]Portion, 0, fanIn+1)
			seen := map[int]bool{}
			for range fanIn {
				i := rng.IntN(below)
				if seen[i] {
					continue
				}
				seen[i] = true
				inputs = append(inputs, Portion{Lot: p.Lot(level-1, i), Quantity: qty()})
			}
			if bulkEvery > 0 && b%bulkEvery == 0 && b/bulkEvery < c.BulkFanout {
				for _, bulk := range p.Bulk {
					inputs = append(inputs, Portion{Lot: bulk, Quantity: qty()})
				}
			}
			consume, err := FlowEvent("operator", Flow{
				Kind: genealogy.Consumed, Inputs: inputs, Unit: "kg", To: batch, ToKind: genealogy.NodeBatch,
				Step: "charge", Critical: true, IdentitySource: genealogy.SourceScan,
			})
			if err != nil {
				return n, err
			}
			outputs := 1
			if b < lots-batches {
				outputs = 2
			}
			if b%100 == 99 || out >= lots {
				// In progress: consumed, nothing produced yet.
				if err := emit(batch, consume); err != nil {
					return n, err
				}
				continue
			}
			prod, err := p.produce(batch, level, out, min(outputs, lots-out), qty)
			if err != nil {
				return n, err
			}
			out += outputs
			if err := emit(batch, consume, prod); err != nil {
				return n, err
			}
		}
	}
	// Pack and ship the finished lots.
	fin := p.perLevel[c.Levels]
	shipment, inShipment := 0, 0
	var pallets []Portion
	ship := func() error {
		s := fmt.Sprintf("SHP-%06d", shipment)
		ev, err := FlowEvent("shipping", Flow{
			Kind: genealogy.Shipped, Inputs: pallets, To: s, ToKind: genealogy.NodeShipment,
			Customer: fmt.Sprintf("CUST-%03d", rng.IntN(c.Customers)), IdentitySource: genealogy.SourceScan,
		})
		if err != nil {
			return err
		}
		shipment++
		pallets = pallets[:0]
		return emit(s, ev)
	}
	for first := 0; first+10 <= fin*9/10; first += 10 {
		pal := fmt.Sprintf("PAL-%07d", first/10)
		items := make([]Portion, 10)
		for i := range items {
			items[i] = Portion{Lot: p.Finished(first + i)}
		}
		ev, err := FlowEvent("packing", Flow{Kind: genealogy.Packed, Inputs: items, To: pal, ToKind: genealogy.NodeContainer, IdentitySource: genealogy.SourceScan})
		if err != nil {
			return n, err
		}
		if err := emit(pal, ev); err != nil {
			return n, err
		}
		pallets = append(pallets, Portion{Lot: pal})
		if inShipment++; inShipment%5 == 0 {
			if err := ship(); err != nil {
				return n, err
			}
		}
	}
	if len(pallets) > 0 {
		if err := ship(); err != nil {
			return n, err
		}
	}
	return n, nil
}

func (p *Plant) produce(batch string, level, first, count int, qty func() decimal.Decimal) (storage.Event, error) {
	outs := make([]Output, count)
	for i := range outs {
		mat := fmt.Sprintf("INT%d-%03d", level, (first+i)%p.cfg.Materials)
		if level == p.cfg.Levels {
			mat = fmt.Sprintf("FG-%03d", (first+i)%p.cfg.Materials)
		}
		outs[i] = Output{Lot: p.Lot(level, first+i), Material: mat, Quantity: qty()}
	}
	return ProduceEvent("operator", batch, "kg", "discharge", outs, genealogy.SourceDevice)
}
