package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"io"
	"time"

	"github.com/interlock-mes/interlock/audit"
	"github.com/interlock-mes/interlock/storage"
)

// feedPage is how many records one read of the feed asks for.
const feedPage = 1000

// feedLine is one record as the feed prints it: what a consumer needs to
// find and check the record, not its payload.
type feedLine struct {
	Stream   string     `json:"stream"`
	Version  int64      `json:"version"`
	Position int64      `json:"position"`
	Type     string     `json:"type"`
	Actor    string     `json:"actor"`
	Time     time.Time  `json:"time"`
	Hash     audit.Hash `json:"hash"`
}

func (c *cli) feed(ctx context.Context, args []string) int {
	cmd := c.command("feed", "feed [-database-url URL] -schema NAME [-from POSITION] [-follow [-interval DURATION]]",
		`Feed prints the records after a global position, in global order, one JSON
object a line: stream, version, position, type, actor, time and hash. To
resume, give -from the last position printed. Records are printed only once
every record before them is visible, so a reader that resumes from the last
position it saw never misses one.

Without -follow it prints what is there and exits; with -follow it keeps
polling until interrupted, which is a clean exit (0).`)
	db := cmd.readFlags()
	from := cmd.fs.Int64("from", 0, "print the records after this global position (0: from the first record)")
	follow := cmd.fs.Bool("follow", false, "keep polling for new records until interrupted")
	interval := cmd.fs.Duration("interval", time.Second, "with -follow, how long to wait after reaching the end before polling again")
	if ok, code := cmd.parse(args); !ok {
		return code
	}
	if code := db.check(cmd); code != 0 {
		return code
	}
	if *from < 0 {
		return cmd.usageError("-from must not be negative, not %d", *from)
	}
	if *interval <= 0 {
		return cmd.usageError("-interval must be positive, not %s", *interval)
	}
	intervalSet := false
	cmd.fs.Visit(func(f *flag.Flag) { intervalSet = intervalSet || f.Name == "interval" })
	if intervalSet && !*follow {
		return cmd.usageError("-interval applies only with -follow")
	}
	store, pool, err := db.open(ctx)
	if err != nil {
		return cmd.fail(err)
	}
	defer pool.Close()

	err = tail(ctx, store, *from, *follow, *interval, c.stdout)
	if *follow && ctx.Err() != nil && errors.Is(err, ctx.Err()) {
		return exitOK // interrupted: the way a follow ends
	}
	if err != nil {
		return cmd.fail(err)
	}
	return exitOK
}

// tail writes the records after position after, page by page, and with
// follow polls for more every interval until ctx ends.
func tail(ctx context.Context, r storage.Reader, after int64, follow bool, interval time.Duration, out io.Writer) error {
	w := bufio.NewWriter(out)
	enc := json.NewEncoder(w)
	var timer *time.Timer
	for {
		recs, err := r.ReadAll(ctx, after, feedPage)
		if err != nil {
			return err
		}
		for i := range recs {
			rec := &recs[i]
			if err := enc.Encode(feedLine{Stream: rec.Stream, Version: rec.Version, Position: rec.Position, Type: rec.Type,
				Actor: rec.Actor, Time: rec.Time.UTC(), Hash: rec.Hash}); err != nil {
				return err
			}
			after = rec.Position
		}
		// A follower sees each page as it comes, not when a buffer fills.
		if err := w.Flush(); err != nil {
			return err
		}
		if len(recs) == feedPage {
			continue
		}
		if !follow {
			return nil
		}
		if timer == nil {
			timer = time.NewTimer(interval)
			defer timer.Stop()
		} else {
			timer.Reset(interval)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-timer.C:
		}
	}
}
