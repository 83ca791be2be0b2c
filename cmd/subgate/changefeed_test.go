package main

import (
	"bytes"
	"context"
	"path/filepath"
	"testing"

	"github.com/subgate/subgate/postgres"
	"github.com/subgate/subgate/secret"
	"github.com/subgate/subgate/sqlite"
)

// The gateway follows PostgreSQL's change feed; SQLite has none (changes
// of other processes on the file arrive by polling).
func TestChangeFeedChosenByStore(t *testing.T) {
	c, err := secret.New(bytes.Repeat([]byte{3}, secret.KeySize))
	if err != nil {
		t.Fatal(err)
	}
	pg, err := postgres.Open(context.Background(), freshSchema(t), c)
	if err != nil {
		t.Fatal(err)
	}
	defer pg.Close()
	lite, err := sqlite.Open(filepath.Join(t.TempDir(), "subgate.db"), c)
	if err != nil {
		t.Fatal(err)
	}
	defer lite.Close()
	if changeFeed(pg) == nil {
		t.Fatal("no change feed for PostgreSQL")
	}
	if f := changeFeed(lite); f != nil {
		t.Fatalf("a change feed for SQLite: %T", f)
	}
}
