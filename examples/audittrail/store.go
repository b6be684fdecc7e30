package main

import (
	"context"
	"errors"

	"github.com/interlock-mes/interlock/storage"
)

// openStore returns the store the example keeps its records in.
func openStore(_ context.Context, url string) (storage.Store, func(), error) {
	if url == "" {
		return memoryStore(), func() {}, nil
	}
	return nil, nil, errors.New("-database-url is not supported yet")
}
