package subgate

// CheckHeld refuses a credit of b bytes of p to a reseller that holds held
// bytes of p when the holding would pass MaxBytes. Both stores call it inside
// the credit's transaction, so the message is the same from either.
//
// A reseller's holding of a product is its pool plus the available and used
// bytes of every sub-user it ever had; by the ledger invariant it equals its
// credits minus its debits. A credit is the only movement that grows it, so
// capping it here bounds every balance of the product, every sum over the
// reseller's sub-users and, with len(Products)·MaxBytes inside int64 (see
// the test), every sum over products.
func CheckHeld(p Product, held, b int64) error {
	if b > MaxBytes-held {
		return Invalidf("bytes", "would make the reseller hold more than the maximum of %d bytes (1 EB) of %s: "+
			"its pool and its sub-users' available and used traffic hold %d bytes, at most %d more can be credited",
			MaxBytes, p, held, max(MaxBytes-held, 0))
	}
	return nil
}
