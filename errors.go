package interlock

import "errors"

// ErrInvalid is the root of every bad-input error in the library: a
// request, definition, identifier or encoding that can never succeed as
// given. Nothing was written when it is returned. Packages wrap it in their
// own sentinels and typed errors, which name the field at fault.
var ErrInvalid = errors.New("invalid input")
