package postgres_test

import (
	"context"
	"testing"

	"github.com/subgate/subgate"
	"github.com/subgate/subgate/postgres"
	"github.com/subgate/subgate/route/routetest"
	"github.com/subgate/subgate/storetest"
)

// openRepeatableRead opens a store on a fresh schema whose connections
// default to REPEATABLE READ, as a database or URL may set.
func openRepeatableRead(t *testing.T) *postgres.Store {
	t.Helper()
	db := newTestDB(t)
	st, err := postgres.Open(context.Background(), db.url+"&default_transaction_isolation=repeatable%20read", testCipher(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// The store keeps its contract whatever the database's default isolation:
// the racing cases and static IP allocation, which count rows after taking
// a lock, run again on connections defaulting to REPEATABLE READ.
func TestContractUnderRepeatableReadDefault(t *testing.T) {
	open := func(t *testing.T) subgate.Store { return openRepeatableRead(t) }
	storetest.RunExtra(t, open)
	routetest.RunStaticIPs(t, func(t *testing.T) routetest.Store { return openRepeatableRead(t) })
}
