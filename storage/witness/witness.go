// Package witness keeps signed checkpoints outside the database, where the
// database's writers cannot reach them.
//
// A checkpoint stored only beside the records protects them from nobody
// who can write the database: such a writer can rewrite the records and
// delete every checkpoint since, and verification against the newest one
// left then finds nothing (a signature proves who made a checkpoint, not
// that it is the newest). Handed to storage.Checkpoint, a witness gets
// every checkpoint as it is signed; verification takes the witness's
// newest (Latest) rather than the store's.
//
// File is the simplest witness: one JSON line per checkpoint appended to a
// file, synced before Witness returns. It is only as far from the attacker
// as the file is: put it on another machine, a write-once mount or a
// volume the database's administrators cannot write, or copy it there.
package witness

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/interlock-mes/interlock/audit"
	"github.com/interlock-mes/interlock/storage"
)

// ErrOlder means a checkpoint was refused because the witness holds one at
// a higher position: a checkpoint that goes back is a rollback, not news.
var ErrOlder = errors.New("witness: checkpoint is older than the newest one held")

// MaxLine bounds one line of a witness file: a checkpoint of about 10 000
// streams. Longer lines are reported, not read.
const MaxLine = 4 << 20

// line is a checkpoint as a witness file holds it.
type line struct {
	Position  int64        `json:"position"`
	Time      time.Time    `json:"time"`
	Heads     []audit.Head `json:"heads"`
	KeyID     string       `json:"key_id"`
	Signature []byte       `json:"signature"`
}

// File appends checkpoints to a file, one JSON object per line. It is safe
// for concurrent use within one process; two processes must not share a
// file.
type File struct {
	path   string
	mu     sync.Mutex
	loaded bool  // last was read from the file
	last   *line // the newest checkpoint held, nil for none
}

var _ storage.Witness = (*File)(nil)

// NewFile returns a witness that appends to path, which is created (mode
// 0600) on the first checkpoint if it does not exist.
func NewFile(path string) (*File, error) {
	if path == "" {
		return nil, fmt.Errorf("witness: NewFile: path: %w", storage.ErrInvalid)
	}
	return &File{path: path}, nil
}

// Witness implements storage.Witness: it appends cp to the file and syncs
// it. It refuses, with ErrOlder, a checkpoint at a lower position than the
// newest held, and one at the same position with other content; the same
// checkpoint again is a no-op. cp must be signed (it is not verified here:
// the witness keeps what it is given, and Latest verifies).
func (f *File) Witness(ctx context.Context, cp *audit.Checkpoint) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if cp == nil || len(cp.Signature) == 0 {
		return fmt.Errorf("witness: checkpoint is nil or unsigned: %w", storage.ErrInvalid)
	}
	b, err := json.Marshal(line{Position: cp.Position, Time: cp.Time.UTC(), Heads: cp.Heads, KeyID: cp.KeyID, Signature: cp.Signature})
	if err != nil {
		return fmt.Errorf("witness: %w", err)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.loaded {
		all, err := f.read()
		if err != nil {
			return err
		}
		if len(all) > 0 {
			f.last = &all[len(all)-1]
		}
		f.loaded = true
	}
	if last := f.last; last != nil {
		switch {
		case last.Position > cp.Position:
			return fmt.Errorf("witness: checkpoint at %d, newest held at %d: %w", cp.Position, last.Position, ErrOlder)
		case last.Position == cp.Position:
			lb, err := json.Marshal(last)
			if err == nil && bytes.Equal(lb, b) {
				return nil
			}
			return fmt.Errorf("witness: another checkpoint at %d is held: %w", cp.Position, ErrOlder)
		}
	}
	fh, err := os.OpenFile(f.path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("witness: %w", err)
	}
	if _, err := fh.Write(append(b, '\n')); err != nil {
		fh.Close()
		return fmt.Errorf("witness: write %s: %w", f.path, err)
	}
	if err := fh.Sync(); err != nil {
		fh.Close()
		return fmt.Errorf("witness: sync %s: %w", f.path, err)
	}
	if err := fh.Close(); err != nil {
		return fmt.Errorf("witness: close %s: %w", f.path, err)
	}
	var l line
	if err := json.Unmarshal(b, &l); err != nil {
		return fmt.Errorf("witness: %w", err)
	}
	f.last = &l
	return nil
}

// Latest returns the checkpoint with the highest position that a key of
// keys signed, or an error matching storage.ErrNotFound when there is none.
// A line that does not parse is an error naming its line number: a witness
// file that was edited is itself evidence.
func (f *File) Latest(keys *audit.Keys) (*audit.Checkpoint, error) {
	if keys == nil {
		return nil, fmt.Errorf("witness: Latest: nil keys: %w", storage.ErrInvalid)
	}
	f.mu.Lock()
	all, err := f.read()
	f.mu.Unlock()
	if err != nil {
		return nil, err
	}
	for i := len(all) - 1; i >= 0; i-- {
		l := all[i]
		cp := &audit.Checkpoint{Position: l.Position, Time: l.Time.UTC(), Heads: l.Heads, KeyID: l.KeyID, Signature: l.Signature}
		if keys.Verify(cp) == nil {
			return cp, nil
		}
	}
	return nil, fmt.Errorf("witness: %s holds no checkpoint signed by a trusted key: %w", f.path, storage.ErrNotFound)
}

// read parses the whole file; a missing file holds nothing.
func (f *File) read() ([]line, error) {
	fh, err := os.Open(f.path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("witness: %w", err)
	}
	defer fh.Close()
	return parse(fh, f.path)
}

func parse(r interface{ Read([]byte) (int, error) }, name string) ([]line, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), MaxLine)
	var out []line
	for n := 1; sc.Scan(); n++ {
		var l line
		dec := json.NewDecoder(bytes.NewReader(sc.Bytes()))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&l); err != nil {
			return nil, fmt.Errorf("witness: %s line %d: %w", name, n, err)
		}
		if len(out) > 0 && l.Position <= out[len(out)-1].Position {
			return nil, fmt.Errorf("witness: %s line %d: position %d does not follow %d", name, n, l.Position, out[len(out)-1].Position)
		}
		out = append(out, l)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("witness: %s: %w", name, err)
	}
	return out, nil
}
