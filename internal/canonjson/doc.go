// Package canonjson turns JSON text into its canonical form: the one byte
// sequence that every logically equal JSON value encodes to. Interlock hashes
// canonical bytes, so two writers that mean the same payload produce the same
// hash.
//
// The rules follow RFC 8785 (JSON Canonicalization Scheme) except for numbers,
// which are kept as exact decimals instead of passing through float64, because
// quantities must never lose precision on the record:
//
//   - no insignificant white space;
//   - object members sorted by key, comparing UTF-16 code units as RFC 8785
//     does; a duplicate key is an error;
//   - strings must be valid UTF-8 and are written with the shortest escapes:
//     \" \\ \b \f \n \r \t, other control characters as \u00xx (lower-case
//     hex), everything else as the literal UTF-8; escapes in the input are
//     decoded first, and a lone surrogate is an error;
//   - numbers are exact decimals written without exponent, without a '+',
//     without leading zeros, without trailing fractional zeros and without a
//     trailing '.', and negative zero is written 0 (so 1.50, 15E-1 and
//     0.15e1 all become 1.5); an exponent beyond ±MaxExponent is an error;
//   - nesting deeper than MaxDepth is an error.
package canonjson
