package interlock

import "errors"

// ErrInvalid is the root of every bad-input error in the library: a
// request, definition, identifier or encoding that can never succeed as
// given. Nothing was written when it is returned. Packages wrap it in their
// own sentinels and typed errors, which name the field at fault.
var ErrInvalid = errors.New("invalid input")

// NewInvalid returns an error whose text is text and that matches
// ErrInvalid: packages declare their bad-input sentinels with it, so that
// errors.Is(err, pkg.ErrX) and errors.Is(err, interlock.ErrInvalid) both
// hold and the text stays the package's own.
func NewInvalid(text string) error { return &invalid{text} }

type invalid struct{ text string }

func (e *invalid) Error() string { return e.text }

// Unwrap makes errors.Is(err, ErrInvalid) true.
func (e *invalid) Unwrap() error { return ErrInvalid }
