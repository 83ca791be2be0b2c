// Package settle holds the metering settlement rules both stores apply to a
// usage batch: usage is charged against the node's lease and the balance it
// draws on (a sub-user's own, or its reseller's pool when it is shared),
// usage past that balance is overdraft, released lease of a deleted sub-user
// goes back to the pool, and the day and month windows advance. It is pure:
// a store loads the locked rows into Books, calls Apply, and writes what
// Books says changed.
package settle

import (
	"cmp"
	"slices"
	"time"

	"github.com/subgate/subgate"
)

// BalanceKey names one balance of one sub-user.
type BalanceKey struct {
	SubUserID int64
	Product   subgate.Product
}

// HourKey names one hourly usage bucket of a balance.
type HourKey struct {
	BalanceKey
	Hour time.Time // start of the UTC hour
}

// PoolKey names one pool of one reseller.
type PoolKey struct {
	ResellerID int64
	Product    subgate.Product
}

// Row is a locked sub-user row; Apply changes its windows and deltas.
type Row struct {
	ResellerID      int64
	Deleted, Shared bool
	DayKey, Day     int64
	MonthKey, Month int64
	// AvailableDelta and UsedDelta are what the batch changed the row's
	// totals over all products by.
	AvailableDelta, UsedDelta int64
}

// Books is what a batch reads and what it changes. The store fills the
// inputs, Apply fills the outputs.
type Books struct {
	// Inputs.
	Rows     map[int64]*Row
	Balances map[BalanceKey]*subgate.Traffic // allocated balances, changed in place
	Leases   map[BalanceKey]int64            // the node's leases, changed in place
	Pools    map[PoolKey]int64               // pools of shared rows (PoolsNeeded), changed in place

	// Outputs.
	DirtyBalances map[BalanceKey]bool
	DirtyLeases   map[BalanceKey]bool
	Usage         map[HourKey]int64    // charged to an allocated balance
	PoolUsage     map[HourKey]int64    // charged to a pool for a shared sub-user
	Overdraft     map[HourKey]int64    // used past the balance: recorded, not charged
	SharedUsed    map[BalanceKey]int64 // added to shared sub-users' used bytes
	PoolCharged   map[PoolKey]int64    // taken from pools by shared usage
	Returns       []subgate.LedgerEntry
}

// NewBooks returns empty books.
func NewBooks() *Books {
	return &Books{
		Rows: map[int64]*Row{}, Balances: map[BalanceKey]*subgate.Traffic{}, Leases: map[BalanceKey]int64{},
		Pools: map[PoolKey]int64{}, DirtyBalances: map[BalanceKey]bool{}, DirtyLeases: map[BalanceKey]bool{},
		Usage: map[HourKey]int64{}, PoolUsage: map[HourKey]int64{}, Overdraft: map[HourKey]int64{},
		SharedUsed: map[BalanceKey]int64{}, PoolCharged: map[PoolKey]int64{},
	}
}

// SubUserIDs lists the sub-users a batch touches, ascending and distinct:
// the order stores lock them in.
func SubUserIDs(b subgate.UsageBatch) []int64 {
	ids := make([]int64, 0, len(b.Items)+len(b.Release))
	for _, it := range b.Items {
		ids = append(ids, it.SubUserID)
	}
	for _, r := range b.Release {
		ids = append(ids, r.SubUserID)
	}
	slices.Sort(ids)
	return slices.Compact(ids)
}

// PoolsNeeded lists, in (reseller, product) order, every pool the batch
// may change: those its shared usage charges and those the released leases
// of its deleted sub-users go back to. A store locks them all at once, in
// that order, before it changes anything else, as every transaction that
// takes two pools does.
func (bk *Books) PoolsNeeded(b subgate.UsageBatch) []PoolKey {
	var keys []PoolKey
	for _, it := range b.Items {
		if r := bk.Rows[it.SubUserID]; r != nil && r.Shared && it.Bytes > 0 {
			keys = append(keys, PoolKey{r.ResellerID, it.Product})
		}
	}
	for _, rel := range b.Release {
		if r := bk.Rows[rel.SubUserID]; r != nil && r.Deleted && rel.Bytes > 0 {
			keys = append(keys, PoolKey{r.ResellerID, rel.Product})
		}
	}
	slices.SortFunc(keys, comparePools)
	return slices.Compact(keys)
}

func comparePools(a, b PoolKey) int {
	return cmp.Or(cmp.Compare(a.ResellerID, b.ResellerID), cmp.Compare(a.Product, b.Product))
}

// Apply settles the batch's usage, then its releases. Usage and releases of
// sub-users not in Rows (unknown ones) are dropped.
func (bk *Books) Apply(b subgate.UsageBatch) {
	for _, it := range b.Items {
		bk.item(it, b.Windows)
	}
	for _, rel := range b.Release {
		bk.release(rel, b.Now)
	}
}

// item settles usage against the lease and the balance it draws on, and
// counts it in the row's window counters.
func (bk *Books) item(it subgate.UsageItem, ws subgate.Windows) {
	row := bk.Rows[it.SubUserID]
	if row == nil || it.Bytes <= 0 {
		return
	}
	k := BalanceKey{it.SubUserID, it.Product}
	if l, ok := bk.Leases[k]; ok {
		bk.Leases[k] = l - min(it.Bytes, l)
		bk.DirtyLeases[k] = true
	}
	h := HourKey{k, subgate.HourOf(it.Hour)}
	var charged, over int64
	switch bal := bk.Balances[k]; {
	case row.Shared:
		pk := PoolKey{row.ResellerID, it.Product}
		charged, over = subgate.Charge(bk.Pools[pk], it.Bytes)
		if charged > 0 {
			bk.Pools[pk] -= charged
			bk.PoolCharged[pk] += charged
			bk.SharedUsed[k] += charged
			bk.PoolUsage[h] += charged
		}
	case bal != nil:
		charged, over = subgate.Charge(bal.Available, it.Bytes)
		bal.Available -= charged
		bal.Used += charged
		bk.DirtyBalances[k] = true
		row.AvailableDelta -= charged
		if charged > 0 {
			bk.Usage[h] += charged
		}
	default:
		over = it.Bytes
	}
	row.UsedDelta += charged
	if over > 0 {
		bk.Overdraft[h] += over
	}
	row.DayKey, row.Day = AdvanceWindow(row.DayKey, row.Day, ws.DayKey(it.Hour), it.Bytes)
	row.MonthKey, row.Month = AdvanceWindow(row.MonthKey, row.Month, ws.MonthKey(it.Hour), it.Bytes)
}

// AdvanceWindow adds n to a window counter when key is its window, starts a
// new window when key is later and ignores usage of a past window.
func AdvanceWindow(stored, count, key, n int64) (int64, int64) {
	switch {
	case key == stored:
		return stored, count + n
	case key > stored:
		return key, n
	}
	return stored, count
}

// release shrinks the lease; for a deleted sub-user the released bytes go
// back to the pool, since nothing can use them any more.
func (bk *Books) release(rel subgate.LeaseRelease, now time.Time) {
	k := BalanceKey{rel.SubUserID, rel.Product}
	l, ok := bk.Leases[k]
	row := bk.Rows[rel.SubUserID]
	if !ok || row == nil || rel.Bytes <= 0 {
		return
	}
	freed := min(rel.Bytes, l)
	bk.Leases[k] = l - freed
	bk.DirtyLeases[k] = true
	bal := bk.Balances[k]
	if !row.Deleted || bal == nil {
		return
	}
	back := min(freed, bal.Available)
	if back <= 0 {
		return
	}
	bal.Available -= back
	bk.DirtyBalances[k] = true
	row.AvailableDelta -= back
	bk.Returns = append(bk.Returns, subgate.LedgerEntry{ResellerID: row.ResellerID, SubUserID: rel.SubUserID,
		Product: rel.Product, Kind: subgate.LedgerReturn, Bytes: back, CreatedAt: now})
}

// ReturnedToPools sums Returns per pool, in (reseller, product) order so
// concurrent flushes lock pools alike.
func (bk *Books) ReturnedToPools() ([]PoolKey, map[PoolKey]int64) {
	sums := map[PoolKey]int64{}
	var keys []PoolKey
	for _, e := range bk.Returns {
		pk := PoolKey{e.ResellerID, e.Product}
		if _, ok := sums[pk]; !ok {
			keys = append(keys, pk)
		}
		sums[pk] += e.Bytes
	}
	slices.SortFunc(keys, comparePools)
	return keys, sums
}

// Dry lists, ascending, the resellers whose pool this batch's shared usage
// emptied: their shared sub-users must be told at once.
func (bk *Books) Dry() []int64 {
	var dry []int64
	for pk := range bk.PoolCharged {
		if bk.Pools[pk] == 0 {
			dry = append(dry, pk.ResellerID)
		}
	}
	slices.Sort(dry)
	return slices.Compact(dry)
}
