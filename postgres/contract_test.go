package postgres_test

import (
	"testing"

	"github.com/subgate/subgate"
	"github.com/subgate/subgate/storetest"
)

// TestContract runs the shared store suite, each case on a fresh schema.
func TestContract(t *testing.T) {
	storetest.Run(t, func(t *testing.T) subgate.Store { return openStore(t) })
}

// BenchmarkStore runs the shared store benchmarks.
func BenchmarkStore(b *testing.B) {
	storetest.Bench(b, func(b *testing.B) subgate.Store { return openStore(b) })
}

// TestContractExtra runs the suite's racing cases.
func TestContractExtra(t *testing.T) {
	storetest.RunExtra(t, func(t *testing.T) subgate.Store { return openStore(t) })
}
