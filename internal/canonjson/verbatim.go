package canonjson

// canonicalEnd returns the end of the value at i when it stands in src
// exactly as its canonical form writes it, in the subset appendFlat copies
// (strings and keys of plain ASCII, true, false, null, short canonical
// numbers) nested in arrays and objects whose keys ascend strictly, with
// no white space; or -1. depth is the nesting the value is at, bounded by
// MaxDepth as the parser bounds it.
//
// A payload that a program wrote canonically (the engine writes its
// records so) is then copied as it is, checked in one pass without
// building any intermediate output; anything else, errors included, falls
// to the other paths.
func canonicalEnd(src []byte, i, depth int) int {
	if i >= len(src) {
		return -1
	}
	switch src[i] {
	case '{':
		if depth >= MaxDepth {
			return -1
		}
		i++
		if i < len(src) && src[i] == '}' {
			return i + 1
		}
		prevStart, prevEnd := -1, -1
		for {
			if i >= len(src) || src[i] != '"' {
				return -1
			}
			keyEnd := plainString(src, i+1)
			if keyEnd < 0 {
				return -1
			}
			if prevStart >= 0 && compareKeyBytes(src[prevStart:prevEnd], src[i+1:keyEnd]) >= 0 {
				return -1 // out of order, or a duplicate for the parser to name
			}
			prevStart, prevEnd = i+1, keyEnd
			i = keyEnd + 1
			if i >= len(src) || src[i] != ':' {
				return -1
			}
			if i = canonicalEnd(src, i+1, depth+1); i < 0 || i >= len(src) {
				return -1
			}
			switch src[i] {
			case '}':
				return i + 1
			case ',':
				i++
			default:
				return -1
			}
		}
	case '[':
		if depth >= MaxDepth {
			return -1
		}
		i++
		if i < len(src) && src[i] == ']' {
			return i + 1
		}
		for {
			if i = canonicalEnd(src, i, depth+1); i < 0 || i >= len(src) {
				return -1
			}
			switch src[i] {
			case ']':
				return i + 1
			case ',':
				i++
			default:
				return -1
			}
		}
	}
	return flatValue(src, i)
}
