package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/interlock-mes/interlock/device/gs1"
)

// materialGTINs are the GTINs printed on the labels of the materials' lots.
var materialGTINs = map[string]string{"API-100": "09506000134369", "EXC-200": "09506000134376"}

// scanRead is the scanner's last read, as the server parsed it.
type scanRead struct {
	Lot, GTIN string
	Data      string // the line as the scanner sent it
	At        time.Time
	Err       string // why the read is not a lot label; "" when it is
}

// liveScanner is barcode scanner SCN-1 as the app reaches it: a scanner
// that sends one GS1 element string per line, here written by the
// simulator into a pipe and read by device/gs1's Scanner and Parser.
// The server holds the last read; a lot id the browser sends is typed,
// never the scanner's.
type liveScanner struct {
	w    *os.File // the simulator's end
	r    *os.File
	sc   *gs1.Scanner
	stop context.CancelFunc
	done chan struct{}

	mu   sync.Mutex
	last *scanRead
	seq  int
	read chan struct{} // closed and replaced on every read
}

func newLiveScanner() (*liveScanner, error) {
	r, w, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	now := func() time.Time { return time.Now().UTC() }
	parser, err := gs1.NewParser(&gs1.Config{Clock: now})
	if err != nil {
		return nil, errors.Join(err, r.Close(), w.Close())
	}
	sc, err := gs1.NewScanner(r, &gs1.ScannerConfig{Clock: now, Instrument: scannerID, Parser: parser})
	if err != nil {
		return nil, errors.Join(err, r.Close(), w.Close())
	}
	ctx, stop := context.WithCancel(context.Background())
	l := &liveScanner{w: w, r: r, sc: sc, stop: stop, done: make(chan struct{}), read: make(chan struct{})}
	go l.loop(ctx)
	return l, nil
}

// loop reads the scanner until it is closed.
func (l *liveScanner) loop(ctx context.Context) {
	defer close(l.done)
	for {
		scan, err := l.sc.Next(ctx)
		if scan.Data == "" && err != nil {
			var tooLong *gs1.LineTooLongError
			if errors.As(err, &tooLong) {
				continue
			}
			return // closed, or the pipe broke
		}
		rd := &scanRead{Data: scan.Data, At: scan.Time, Lot: scan.Parsed.Batch, GTIN: scan.Parsed.GTIN}
		switch {
		case err != nil:
			rd.Err = "not a GS1 label: " + err.Error()
		case rd.Lot == "":
			rd.Err = "the label carries no lot (AI 10)"
		}
		l.mu.Lock()
		l.last, l.seq = rd, l.seq+1
		close(l.read)
		l.read = make(chan struct{})
		l.mu.Unlock()
	}
}

// Close stops the scanner.
func (l *liveScanner) Close() error {
	l.stop()
	err := errors.Join(l.w.Close(), l.r.Close())
	<-l.done
	return err
}

// scanMaxAge is how old a read may be for a completion to take it: an
// older one was scanned for something else, or long before.
const scanMaxAge = 10 * time.Minute

// used forgets rd once a completion has taken it, so that the next
// weighing needs a scan of its own; a newer read stays.
func (l *liveScanner) used(rd *scanRead) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.last != nil && l.last.At.Equal(rd.At) && l.last.Data == rd.Data {
		l.last = nil
	}
}

// lastRead returns the scanner's last read, or nil.
func (l *liveScanner) lastRead() *scanRead {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.last == nil {
		return nil
	}
	c := *l.last
	return &c
}

// scan has the simulated scanner read line, and waits until the server
// has it.
func (l *liveScanner) scan(ctx context.Context, line string) (*scanRead, error) {
	l.mu.Lock()
	seq, read := l.seq, l.read
	l.mu.Unlock()
	if _, err := l.w.WriteString(line + "\r\n"); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	for {
		select {
		case <-read:
		case <-ctx.Done():
			return nil, fmt.Errorf("the scanner did not read the label: %w", ctx.Err())
		}
		l.mu.Lock()
		if l.seq > seq {
			rd := *l.last
			l.mu.Unlock()
			return &rd, nil
		}
		read = l.read
		l.mu.Unlock()
	}
}

// lotLabel is the GS1 DataMatrix on lot's label: its material's GTIN (01)
// and the lot (10), as a scanner sends it.
func lotLabel(material, lot string) (string, error) {
	gtin, ok := materialGTINs[material]
	if !ok {
		return "", fmt.Errorf("material %s has no GTIN for a label", material)
	}
	return gs1.EncodeElementString(gs1.SymbologyGS1DataMatrix, []gs1.Element{{AI: "01", Value: gtin}, {AI: "10", Value: lot}})
}

// simulateScan has scanner SCN-1 read the label of a lot on the record:
// the demo's stand-in for a person scanning it. It records nothing; the
// read goes on the record only when the step is completed with it.
func (a *app) simulateScan(w http.ResponseWriter, r *http.Request) {
	if a.scanner == nil {
		http.Error(w, "no simulated scanner", http.StatusNotFound)
		return
	}
	lot := strings.TrimSpace(r.PostFormValue("lot"))
	rows, err := a.lotRows(r.Context())
	if err != nil {
		a.fail(w, r, err)
		return
	}
	material := ""
	for _, row := range rows {
		if row.ID == lot {
			material = row.Material
		}
	}
	if material == "" {
		http.Error(w, "no lot "+lot+" on the record to scan the label of", http.StatusBadRequest)
		return
	}
	label, err := lotLabel(material, lot)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	if _, err := a.scanner.scan(r.Context(), label); err != nil {
		http.Error(w, err.Error(), http.StatusServiceUnavailable)
		return
	}
	back := r.PostFormValue("back")
	if !strings.HasPrefix(back, "/") || strings.HasPrefix(back, "//") {
		back = "/"
	}
	http.Redirect(w, r, back, http.StatusSeeOther)
}
