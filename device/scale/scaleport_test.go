package scale

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestLineSplitter(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("x", maxLineLen+1)
	tests := []struct {
		name  string
		end   string
		feeds []string
		want  []string
	}{
		{"CRLF", "\r\n", []string{"S S 1 g\r\nZ A\r\n"}, []string{"S S 1 g", "Z A"}},
		{"SplitAcrossReads", "\r\n", []string{"S S", " 1 g\r", "\nZ", " A\r\n"}, []string{"S S 1 g", "Z A"}},
		{"BareLFUnderCRLF", "\r\n", []string{"a\nb\r\n"}, []string{"a", "b"}},
		{"IncompleteHeld", "\r\n", []string{"a\r\nb"}, []string{"a"}},
		{"EmptyLine", "\r\n", []string{"\r\n"}, []string{""}},
		{"LF", "\n", []string{"a\r\nb\n"}, []string{"a\r", "b"}},
		{"CR", "\r", []string{"a\rb\r"}, []string{"a", "b"}},
		{"OverlongDropped", "\r\n", []string{long[:100], long[100:] + "\r\nok\r\n"}, []string{"ok"}},
		{"LongestKept", "\r\n", []string{long[1:] + "\r\n"}, []string{long[1:]}},
	}
	for _, tt := range tests {
		s := lineSplitter{end: tt.end}
		for _, f := range tt.feeds {
			s.feed([]byte(f))
		}
		var got []string
		for {
			l, ok := s.next()
			if !ok {
				break
			}
			got = append(got, string(l))
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tt.name, diff)
		}
	}
}

func TestLineSplitterLinesDoNotAlias(t *testing.T) {
	t.Parallel()
	s := lineSplitter{end: "\r\n"}
	s.feed([]byte("first\r\n"))
	first, _ := s.next()
	s.feed([]byte("other\r\n"))
	if got := string(first); got != "first" {
		t.Errorf("first line became %q after more input", got)
	}
}

func TestBackoffDoublesUpToMax(t *testing.T) {
	t.Parallel()
	b := backoff{min: time.Millisecond, max: 5 * time.Millisecond}
	defer b.stop()
	var got []time.Duration
	for range 5 {
		if err := b.wait(t.Context(), nil); err != nil {
			t.Fatal(err)
		}
		b.failed()
		got = append(got, b.next)
	}
	want := []time.Duration{1, 2, 4, 5, 5}
	for i := range want {
		want[i] *= time.Millisecond
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("waits (-want +got):\n%s", diff)
	}
	b.reset()
	if b.ready != nil || b.next != 0 {
		t.Errorf("after reset: ready %v, next %s; want an attempt allowed at once", b.ready, b.next)
	}
}

func TestBackoffWaitEnds(t *testing.T) {
	t.Parallel()
	b := backoff{min: time.Hour, max: time.Hour}
	b.failed()
	defer b.stop()
	ctx, cancel := context.WithCancelCause(t.Context())
	cause := errors.New("operator left")
	cancel(cause)
	if err := b.wait(ctx, nil); !errors.Is(err, cause) {
		t.Errorf("wait with a cancelled context = %v; want its cause", err)
	}
	stop := make(chan struct{})
	close(stop)
	if err := b.wait(t.Context(), stop); !errors.Is(err, ErrClosed) {
		t.Errorf("wait after stop = %v; want ErrClosed", err)
	}
}
