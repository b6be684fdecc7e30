package natsjs

import (
	"fmt"
	"strings"
)

// Subject returns the subject tokens that stand for the record stream
// stream, without the prefix (see the package documentation): "lot/L-1"
// gives "lot.L-1", "batch/B 7.2" gives "batch.B%207%2E2".
func Subject(stream string) string {
	var b strings.Builder
	b.Grow(len(stream) + 8)
	for i, part := range strings.Split(stream, "/") {
		if i > 0 {
			b.WriteByte('.')
		}
		if part == "" {
			b.WriteByte('%')
			continue
		}
		for j := 0; j < len(part); j++ {
			c := part[j]
			if plain(c) {
				b.WriteByte(c)
				continue
			}
			const hex = "0123456789ABCDEF"
			b.WriteByte('%')
			b.WriteByte(hex[c>>4])
			b.WriteByte(hex[c&0xF])
		}
	}
	return b.String()
}

// plain reports whether c stands for itself in a subject token.
func plain(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_'
}

// checkPrefix reports why prefix cannot begin the relay's subjects: it
// must be one or more literal tokens, without wildcards or white space.
func checkPrefix(prefix string) error {
	if prefix == "" {
		return fmt.Errorf("is empty")
	}
	for tok := range strings.SplitSeq(prefix, ".") {
		if tok == "" {
			return fmt.Errorf("%q has an empty token", prefix)
		}
		for _, c := range []byte(tok) {
			if c <= ' ' || c == 0x7f || c == '*' || c == '>' {
				return fmt.Errorf("%q holds %q; a prefix is literal tokens without white space or wildcards", prefix, c)
			}
		}
	}
	return nil
}

// checkStreamName reports why name cannot name a JetStream stream.
func checkStreamName(name string) error {
	if name == "" {
		return fmt.Errorf("is empty")
	}
	if i := strings.IndexFunc(name, func(r rune) bool {
		return r <= ' ' || r == 0x7f || strings.ContainsRune(".*>/\\", r)
	}); i >= 0 {
		return fmt.Errorf("%q holds %q, which a JetStream stream name may not", name, name[i])
	}
	return nil
}
