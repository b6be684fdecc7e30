//go:build linux

package scalesim

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/shopspring/decimal"
)

// Errors returned by the simulator.
var (
	// ErrUnplugged is returned by Emit while the cable is pulled.
	ErrUnplugged = errors.New("scalesim: cable unplugged")
	// ErrClosed is returned by calls on a closed simulator.
	ErrClosed = errors.New("scalesim: closed")
)

// Condition is the state of the weighing cell beyond its load.
type Condition string

// The conditions a test can put the scale in.
const (
	Normal    Condition = "normal"
	Overload  Condition = "overload"  // load above the weighing range
	Underload Condition = "underload" // load below the weighing range (pan removed)
	Busy      Condition = "busy"      // commands are understood but not executable now
)

// Config configures a Simulator. A nil *Config means all defaults.
type Config struct {
	// Dir is the directory that holds the stable link. Default: a new
	// temporary directory, removed by Close.
	Dir string
	// LinkName is the name of the link inside Dir. Default: "scale".
	LinkName string
	// SerialNumber is what I4 and @ report. Default: "0123456789".
	SerialNumber string
	// Model is what I2 reports. Default: "Interlock SIM".
	Model string
	// Unit is the weight unit. Default: "g".
	Unit string
	// Decimals is the number of decimals in weight values. Default: 2.
	Decimals int32
	// Stream, when set, makes the simulator a continuous-output scale
	// instead of an MT-SICS one: it ignores what it receives.
	Stream *Stream
}

// Stream configures continuous output.
type Stream struct {
	// Interval between two weight lines. Zero means no periodic output:
	// the test writes each line with Emit.
	Interval time.Duration
	// Format renders one line, without its line ending. Default: CommaLine.
	Format func(Snapshot) string
}

// Snapshot is the displayed state of the scale at one moment.
type Snapshot struct {
	Net       decimal.Decimal // load minus zero offset minus tare
	Unit      string
	Decimals  int32
	Stable    bool
	Condition Condition
}

// CommaLine renders a snapshot in the common comma format of weighing
// indicators: "ST,GS,+00012.34kg" (stable), "US,GS,…" (unstable) and
// "OL,GS,…" (out of range).
func CommaLine(s Snapshot) string {
	status := "US"
	switch {
	case s.Condition == Overload || s.Condition == Underload:
		status = "OL"
	case s.Stable:
		status = "ST"
	}
	sign := "+"
	if s.Net.IsNegative() {
		sign = "-"
	}
	v := s.Net.Abs().StringFixed(s.Decimals)
	if len(v) < 8 {
		v = strings.Repeat("0", 8-len(v)) + v
	}
	return status + ",GS," + sign + v + s.Unit
}

// Simulator is a scale on a pseudo-terminal. Its methods are safe for
// concurrent use.
type Simulator struct {
	cfg       Config
	link      string
	removeDir bool

	mu       sync.Mutex
	load     decimal.Decimal
	zero     decimal.Decimal
	tare     decimal.Decimal
	stable   bool
	cond     Condition
	serial   string
	silent   bool
	delay    time.Duration
	scripted map[string][][]string
	commands []string
	pending  int
	overlaps int
	changed  chan struct{} // closed and replaced whenever the state changes

	plugMu sync.Mutex // serialises Plug, Unplug and Close
	conn   *conn
	closed bool
}

// conn is the life of one pty, from plug to unplug.
type conn struct {
	pty     *pty
	stop    chan struct{}
	wg      sync.WaitGroup
	writeMu sync.Mutex // keeps lines from the responder, streamer and Emit whole
}

// New creates a simulator with its cable plugged in: Path is ready to open.
// The load starts at zero, stable, in the Normal condition.
func New(cfg *Config) (*Simulator, error) {
	c := Config{}
	if cfg != nil {
		c = *cfg
	}
	if c.LinkName == "" {
		c.LinkName = "scale"
	}
	if strings.ContainsRune(c.LinkName, '/') {
		return nil, fmt.Errorf("scalesim: Config.LinkName %q must not contain a slash", c.LinkName)
	}
	if c.SerialNumber == "" {
		c.SerialNumber = "0123456789"
	}
	if c.Model == "" {
		c.Model = "Interlock SIM"
	}
	if c.Unit == "" {
		c.Unit = "g"
	}
	if c.Decimals == 0 {
		c.Decimals = 2
	}
	if c.Decimals < 0 || c.Decimals > 6 {
		return nil, fmt.Errorf("scalesim: Config.Decimals %d is outside 0..6", c.Decimals)
	}
	if c.Stream != nil {
		st := *c.Stream
		if st.Interval < 0 {
			return nil, fmt.Errorf("scalesim: Config.Stream.Interval %s is negative", st.Interval)
		}
		if st.Format == nil {
			st.Format = CommaLine
		}
		c.Stream = &st
	}
	s := &Simulator{
		cfg:      c,
		stable:   true,
		cond:     Normal,
		serial:   c.SerialNumber,
		scripted: map[string][][]string{},
		changed:  make(chan struct{}),
	}
	dir := c.Dir
	if dir == "" {
		d, err := os.MkdirTemp("", "scalesim-")
		if err != nil {
			return nil, fmt.Errorf("scalesim: %w", err)
		}
		dir, s.removeDir = d, true
	}
	s.link = filepath.Join(dir, c.LinkName)
	if err := s.Plug(); err != nil {
		if s.removeDir {
			os.RemoveAll(dir)
		}
		return nil, err
	}
	return s, nil
}

// Path is the stable name of the serial port: a link to the current pty
// slave. It does not exist while the cable is pulled.
func (s *Simulator) Path() string { return s.link }

// Plug plugs the cable back: a new pty is created and Path re-pointed to it.
// Plugging a plugged cable does nothing.
func (s *Simulator) Plug() error {
	s.plugMu.Lock()
	defer s.plugMu.Unlock()
	if s.closed {
		return ErrClosed
	}
	if s.conn != nil {
		return nil
	}
	p, err := openPTY()
	if err != nil {
		return fmt.Errorf("scalesim: %w", err)
	}
	// A rename replaces the link atomically, so an adapter never sees a
	// half-made one.
	tmp := s.link + ".new"
	os.Remove(tmp)
	if err := os.Symlink(p.slavePath, tmp); err != nil {
		p.close()
		return fmt.Errorf("scalesim: %w", err)
	}
	if err := os.Rename(tmp, s.link); err != nil {
		os.Remove(tmp)
		p.close()
		return fmt.Errorf("scalesim: %w", err)
	}
	c := &conn{pty: p, stop: make(chan struct{})}
	s.conn = c
	s.mu.Lock()
	s.pending = 0
	s.mu.Unlock()
	if s.cfg.Stream != nil {
		c.wg.Add(1)
		go s.discard(c)
		if s.cfg.Stream.Interval > 0 {
			c.wg.Add(1)
			go s.stream(c)
		}
		return nil
	}
	cmds := make(chan string, 64)
	c.wg.Add(2)
	go s.read(c, cmds)
	go s.respond(c, cmds)
	return nil
}

// Unplug pulls the cable: the pty is closed, so the adapter's next read or
// write fails, and Path vanishes. Unplugging an unplugged cable does nothing.
func (s *Simulator) Unplug() error {
	s.plugMu.Lock()
	defer s.plugMu.Unlock()
	return s.unplug()
}

func (s *Simulator) unplug() error {
	c := s.conn
	if c == nil {
		return nil
	}
	s.conn = nil
	errLink := os.Remove(s.link)
	close(c.stop)
	err := c.pty.close()
	c.wg.Wait()
	if err != nil {
		return fmt.Errorf("scalesim: %w", err)
	}
	if errLink != nil {
		return fmt.Errorf("scalesim: %w", errLink)
	}
	return nil
}

// Close unplugs the cable and stops every goroutine of the simulator.
func (s *Simulator) Close() error {
	s.plugMu.Lock()
	defer s.plugMu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	err := s.unplug()
	if s.removeDir {
		if rmErr := os.RemoveAll(filepath.Dir(s.link)); err == nil && rmErr != nil {
			err = fmt.Errorf("scalesim: %w", rmErr)
		}
	}
	return err
}

// SetLoad sets the gross load on the pan.
func (s *Simulator) SetLoad(v decimal.Decimal) { s.update(func() { s.load = v }) }

// SetStable sets whether the weight has settled. S, T and Z wait for it.
func (s *Simulator) SetStable(stable bool) { s.update(func() { s.stable = stable }) }

// SetCondition puts the scale in overload, underload, busy or back to normal.
func (s *Simulator) SetCondition(c Condition) { s.update(func() { s.cond = c }) }

// SetSerialNumber sets what I4 and @ report.
func (s *Simulator) SetSerialNumber(sn string) { s.update(func() { s.serial = sn }) }

// SetSilent makes the scale swallow commands without answering, or answer
// again.
func (s *Simulator) SetSilent(silent bool) { s.update(func() { s.silent = silent }) }

// SetDelay sets how long the scale takes before each reply.
func (s *Simulator) SetDelay(d time.Duration) { s.update(func() { s.delay = d }) }

// Script makes the next command cmd (such as "S" or "I4") be answered with
// exactly the given lines, each sent with CR LF, whatever the state. Scripts
// for one command queue up in call order.
func (s *Simulator) Script(cmd string, lines ...string) {
	s.update(func() { s.scripted[cmd] = append(s.scripted[cmd], lines) })
}

// Commands returns every command line received so far, in order.
func (s *Simulator) Commands() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.commands...)
}

// Overlaps counts the commands that arrived while an earlier one was still
// unanswered: an adapter that keeps one command at a time on the wire leaves
// it at zero.
func (s *Simulator) Overlaps() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.overlaps
}

// Snapshot returns the displayed state.
func (s *Simulator) Snapshot() Snapshot {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.snapshot()
}

func (s *Simulator) snapshot() Snapshot {
	return Snapshot{
		Net:       s.load.Sub(s.zero).Sub(s.tare),
		Unit:      s.cfg.Unit,
		Decimals:  s.cfg.Decimals,
		Stable:    s.stable,
		Condition: s.cond,
	}
}

// Emit writes one raw line, followed by CR LF, as the scale would. It
// returns ErrUnplugged while the cable is pulled.
func (s *Simulator) Emit(line string) error {
	s.plugMu.Lock()
	c := s.conn
	closed := s.closed
	s.plugMu.Unlock()
	if closed {
		return ErrClosed
	}
	if c == nil {
		return ErrUnplugged
	}
	return c.writeLines([]string{line})
}

func (s *Simulator) update(f func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f()
	close(s.changed)
	s.changed = make(chan struct{})
}

func (c *conn) writeLines(lines []string) error {
	var b bytes.Buffer
	for _, l := range lines {
		b.WriteString(l)
		b.WriteString("\r\n")
	}
	c.writeMu.Lock()
	defer c.writeMu.Unlock()
	if _, err := c.pty.master.Write(b.Bytes()); err != nil {
		return fmt.Errorf("scalesim: write: %w", err)
	}
	return nil
}

// read splits what the adapter sends into command lines.
func (s *Simulator) read(c *conn, cmds chan<- string) {
	defer c.wg.Done()
	buf := make([]byte, 256)
	var line []byte
	for {
		n, err := c.pty.master.Read(buf)
		for _, b := range buf[:n] {
			switch b {
			case '\r':
			case '\n':
				cmd := string(line)
				line = line[:0]
				s.mu.Lock()
				s.commands = append(s.commands, cmd)
				if s.pending > 0 {
					s.overlaps++
				}
				s.pending++
				s.mu.Unlock()
				select {
				case cmds <- cmd:
				case <-c.stop:
					return
				}
			default:
				if len(line) < 1024 {
					line = append(line, b)
				}
			}
		}
		if err != nil {
			return
		}
	}
}

// discard drains what a streaming scale receives, as such scales ignore it.
func (s *Simulator) discard(c *conn) {
	defer c.wg.Done()
	buf := make([]byte, 256)
	for {
		if _, err := c.pty.master.Read(buf); err != nil {
			return
		}
	}
}

func (s *Simulator) stream(c *conn) {
	defer c.wg.Done()
	t := time.NewTicker(s.cfg.Stream.Interval)
	defer t.Stop()
	for {
		select {
		case <-c.stop:
			return
		case <-t.C:
		}
		if err := c.writeLines([]string{s.cfg.Stream.Format(s.Snapshot())}); err != nil {
			return
		}
	}
}

func (s *Simulator) respond(c *conn, cmds <-chan string) {
	defer c.wg.Done()
	for {
		var cmd string
		select {
		case <-c.stop:
			return
		case cmd = <-cmds:
		}
		s.mu.Lock()
		delay := s.delay
		s.mu.Unlock()
		if delay > 0 {
			t := time.NewTimer(delay)
			select {
			case <-c.stop:
				t.Stop()
				return
			case <-t.C:
			}
		}
		lines, ok := s.reply(cmd, c.stop)
		if !ok {
			return
		}
		// The command counts as answered before the reply is written: the
		// adapter may send its next one as soon as the reply arrives.
		s.mu.Lock()
		if s.pending > 0 {
			s.pending--
		}
		s.mu.Unlock()
		if len(lines) > 0 {
			if err := c.writeLines(lines); err != nil {
				return
			}
		}
	}
}

// reply computes the answer to one command, waiting for stability where
// the command needs it. It returns false when stop closes while waiting.
func (s *Simulator) reply(cmd string, stop <-chan struct{}) ([]string, bool) {
	id := cmd
	if i := strings.IndexByte(cmd, ' '); i >= 0 {
		id = cmd[:i]
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.silent {
		return nil, true
	}
	if q := s.scripted[id]; len(q) > 0 {
		s.scripted[id] = q[1:]
		return q[0], true
	}
	// rid is the identifier of the reply: SI answers as S.
	rid := id
	if id == "SI" {
		rid = "S"
	}
	switch id {
	case "S", "SI", "T", "TI", "Z", "ZI":
		switch s.cond {
		case Busy:
			return []string{rid + " I"}, true
		case Overload:
			return []string{rid + " +"}, true
		case Underload:
			return []string{rid + " -"}, true
		}
	case "TA", "I2", "I4":
		if s.cond == Busy {
			return []string{id + " I"}, true
		}
	}
	if id == "S" || id == "T" || id == "Z" {
		// These commands act on a stable weight only: like the device, wait.
		for !s.stable {
			ch := s.changed
			s.mu.Unlock()
			select {
			case <-stop:
				s.mu.Lock()
				return nil, false
			case <-ch:
			}
			s.mu.Lock()
			if s.silent {
				return nil, true
			}
		}
	}
	weight := func(v decimal.Decimal) string {
		return fmt.Sprintf("%10s %s", v.StringFixed(s.cfg.Decimals), s.cfg.Unit)
	}
	stableFlag := "S"
	if !s.stable {
		stableFlag = "D"
	}
	switch id {
	case "S":
		return []string{"S S " + weight(s.snapshot().Net)}, true
	case "SI":
		return []string{"S " + stableFlag + " " + weight(s.snapshot().Net)}, true
	case "T", "TI":
		s.tare = s.load.Sub(s.zero)
		flag := "S"
		if id == "TI" {
			flag = stableFlag
		}
		return []string{id + " " + flag + " " + weight(s.tare)}, true
	case "TA":
		return []string{"TA A " + weight(s.tare)}, true
	case "Z":
		s.zero, s.tare = s.load, decimal.Zero
		return []string{"Z A"}, true
	case "ZI":
		s.zero, s.tare = s.load, decimal.Zero
		return []string{"ZI " + stableFlag}, true
	case "@":
		s.tare = decimal.Zero
		return []string{"I4 A \"" + s.serial + "\""}, true
	case "I4":
		return []string{"I4 A \"" + s.serial + "\""}, true
	case "I2":
		return []string{"I2 A \"" + s.cfg.Model + "\""}, true
	}
	return []string{"ES"}, true
}
