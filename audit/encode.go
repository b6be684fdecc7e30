package audit

import (
	"crypto/sha256"
	"fmt"
	"strconv"
	"time"

	"github.com/interlock-mes/interlock/internal/canonjson"
)

// timeLayout fixes the time text: UTC, always six fractional digits.
const timeLayout = "2006-01-02T15:04:05.000000Z"

// Encode appends the canonical encoding of r's content to dst. The encoding
// is a canonical JSON object (RFC 8785 key order, no white space) with
// exactly these members:
//
//	{"actor":…,"evidence":…,"links":[{"from":…,"kind":…,"to":…},…],
//	 "payload":…,"stream":…,"time":"2006-01-02T15:04:05.000000Z",
//	 "type":…,"version":N}
//
// Payload and Evidence are embedded as they are stored; the store accepts only
// canonical JSON there, so any later change to their bytes changes the hash.
// An empty Payload or Evidence is encoded as null. The time is UTC with six
// fractional digits. Global position, PrevHash and Hash are not part of the
// content: the position is assigned by the database when the event commits,
// and the hashes chain the content.
//
// Encode returns an error only for strings that are not valid UTF-8.
func Encode(dst []byte, r *Record) ([]byte, error) {
	var err error
	dst = append(dst, `{"actor":`...)
	if dst, err = canonjson.AppendString(dst, r.Actor); err != nil {
		return dst, fmt.Errorf("actor: %w", err)
	}
	dst = append(dst, `,"evidence":`...)
	dst = appendRaw(dst, r.Evidence)
	dst = append(dst, `,"links":[`...)
	for i, l := range r.Links {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, `{"from":`...)
		if dst, err = canonjson.AppendString(dst, l.From); err != nil {
			return dst, fmt.Errorf("link from: %w", err)
		}
		dst = append(dst, `,"kind":`...)
		if dst, err = canonjson.AppendString(dst, l.Kind); err != nil {
			return dst, fmt.Errorf("link kind: %w", err)
		}
		dst = append(dst, `,"to":`...)
		if dst, err = canonjson.AppendString(dst, l.To); err != nil {
			return dst, fmt.Errorf("link to: %w", err)
		}
		dst = append(dst, '}')
	}
	dst = append(dst, `],"payload":`...)
	dst = appendRaw(dst, r.Payload)
	dst = append(dst, `,"stream":`...)
	if dst, err = canonjson.AppendString(dst, r.Stream); err != nil {
		return dst, fmt.Errorf("stream: %w", err)
	}
	dst = append(dst, `,"time":"`...)
	dst = appendTime(dst, r.Time)
	dst = append(dst, `","type":`...)
	if dst, err = canonjson.AppendString(dst, r.Type); err != nil {
		return dst, fmt.Errorf("type: %w", err)
	}
	dst = append(dst, `,"version":`...)
	dst = strconv.AppendInt(dst, r.Version, 10)
	return append(dst, '}'), nil
}

// appendTime writes t in UTC as timeLayout does, without the cost of a
// general formatter: encoding runs once per record on every append and
// every verification.
func appendTime(dst []byte, t time.Time) []byte {
	secs := t.Unix()
	days := secs / 86400
	rem := secs % 86400
	if rem < 0 {
		days, rem = days-1, rem+86400
	}
	year, month, day := civil(days)
	if year < 0 || year > 9999 {
		return t.UTC().AppendFormat(dst, timeLayout)
	}
	dst = append2(append2(dst, int(year/100)), int(year%100))
	dst = append2(append(dst, '-'), month)
	dst = append2(append(dst, '-'), day)
	dst = append2(append(dst, 'T'), int(rem/3600))
	dst = append2(append(dst, ':'), int(rem/60%60))
	dst = append2(append(dst, ':'), int(rem%60))
	micro := t.Nanosecond() / 1000
	dst = append2(append(dst, '.'), micro/10000)
	dst = append2(dst, micro/100%100)
	dst = append2(dst, micro%100)
	return append(dst, 'Z')
}

// civil converts days since 1970-01-01 to a proleptic Gregorian date, after
// Howard Hinnant's days_from_civil inverse.
func civil(days int64) (year int64, month, day int) {
	z := days + 719468
	era := z / 146097
	if z < 0 && z%146097 != 0 {
		era--
	}
	doe := z - era*146097
	yoe := (doe - doe/1460 + doe/36524 - doe/146096) / 365
	doy := doe - (365*yoe + yoe/4 - yoe/100)
	mp := (5*doy + 2) / 153
	d := doy - (153*mp+2)/5 + 1
	m := mp + 3
	if m > 12 {
		m -= 12
	}
	y := yoe + era*400
	if m <= 2 {
		y++
	}
	return y, int(m), int(d)
}

func append2(dst []byte, v int) []byte {
	return append(dst, byte('0'+v/10), byte('0'+v%10))
}

func appendRaw(dst, raw []byte) []byte {
	if len(raw) == 0 {
		return append(dst, "null"...)
	}
	return append(dst, raw...)
}

// Genesis is the PrevHash of the first record of a stream. Binding it to the
// stream id means a stream's records cannot be passed off as another's.
func Genesis(stream string) Hash {
	h := sha256.New()
	h.Write([]byte("interlock/audit/v1/genesis\x00"))
	h.Write([]byte(stream))
	var out Hash
	h.Sum(out[:0])
	return out
}

// ChainHash returns SHA-256(prev || canonical), the hash of a record whose
// canonical encoding is canonical and whose predecessor's hash is prev.
func ChainHash(prev Hash, canonical []byte) Hash {
	h := sha256.New()
	h.Write(prev[:])
	h.Write(canonical)
	var out Hash
	h.Sum(out[:0])
	return out
}

// ComputeHash returns the hash r should carry given its PrevHash and content.
// buf is scratch space reused across calls; the grown buffer is returned
// with the hash, so a loop allocates nothing once it is large enough.
func ComputeHash(buf []byte, r *Record) (Hash, []byte, error) {
	buf = append(buf[:0], r.PrevHash[:]...)
	buf, err := Encode(buf, r)
	if err != nil {
		return Hash{}, buf, err
	}
	return sha256.Sum256(buf), buf, nil
}
