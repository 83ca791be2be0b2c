package subgate

import "time"

// max_concurrency across nodes: a node holds connection slots of a capped
// sub-user in the store, like a lease on bytes. It admits a connection
// while it holds more slots than it has connections open, asks the store
// for one more otherwise, and shrinks its holds to its open connections
// about every flush interval. Holds expire unless renewed, so a dead
// node's slots return after the lease TTL.

// SlotRequest asks the store to grow a node's hold on a sub-user's
// connection slots.
type SlotRequest struct {
	Node      string
	SubUserID int64
	Want      int64
	Cap       int64 // the sub-user's max_concurrency as the node knows it
	TTL       time.Duration
	Now       time.Time
}

// SlotHold is a node's hold on a sub-user's connection slots.
type SlotHold struct {
	SubUserID int64
	Slots     int64
}

// SlotSync shrinks a node's holds to Holds and renews them to Now+TTL.
type SlotSync struct {
	Node  string
	Holds []SlotHold
	TTL   time.Duration
	Now   time.Time
}

// SlotGrant is the rule stores apply, in the transaction that serialises a
// sub-user's slot requests: grow by at most what the cap leaves once every
// node's live holds are counted.
func SlotGrant(cap, heldByAll, want int64) int64 {
	if cap <= 0 {
		return max(want, 0)
	}
	return max(min(want, cap-heldByAll), 0)
}
