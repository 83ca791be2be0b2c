package storetest

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/subgate/subgate"
)

// bulkTests check UpdateSubUsers: one transaction, all or nothing, within
// scope, a new Seq for each sub-user changed.
var bulkTests = []test{
	// Every named sub-user, by id or hash, gets the fields and a Seq of its
	// own above every earlier change, and the change feed returns each once.
	{"AppliesToEachWithItsOwnSeq", func(t *testing.T, e *env) {
		r := e.reseller(map[subgate.Product]int64{res: 1000})
		us := e.subUsers(r.ID, 5)
		before, err := e.s.SubUsersSeq(e.ctx)
		e.must(err)
		exp := time.Now().Add(24 * time.Hour).UTC().Truncate(time.Second)
		expPtr := &exp
		daily := int64(500)
		b := subgate.SubUserBulkUpdate{
			Refs:   []string{fmt.Sprint(us[0].ID), us[1].Hash, fmt.Sprint(us[2].ID), us[3].Hash, us[4].Hash, us[0].Hash},
			Update: subgate.SubUserUpdate{Status: ptr(subgate.StatusDisabled), Note: ptr("bulk"), ExpiresAt: &expPtr},
			Limits: &subgate.LimitsPatch{Daily: &daily},
		}
		got, err := e.s.UpdateSubUsers(e.ctx, subgate.Scope(r.ID), b, func(*subgate.SubUser) error { return nil }, time.Now())
		e.must(err)
		if len(got) != len(us) {
			t.Fatalf("updated %d sub-users, want %d (a sub-user named twice counts once)", len(got), len(us))
		}
		seqs := map[int64]bool{}
		for i, u := range got {
			if u.ID != us[i].ID {
				t.Fatalf("result %d is sub-user %d, want %d (by id)", i, u.ID, us[i].ID)
			}
			stored := e.get(u.ID)
			if stored.Status != subgate.StatusDisabled || stored.Note != "bulk" || stored.ExpiresAt == nil || !stored.ExpiresAt.Equal(exp) {
				t.Fatalf("sub-user %d after the bulk update: status %s note %q expires %v", u.ID, stored.Status, stored.Note, stored.ExpiresAt)
			}
			if want := (subgate.Limits{Daily: 500, Monthly: 2000}); stored.Limits != want {
				t.Fatalf("limits of sub-user %d = %+v, want %+v (only the daily limit given)", u.ID, stored.Limits, want)
			}
			if stored.Seq <= before || seqs[stored.Seq] || stored.Seq != u.Seq {
				t.Fatalf("sub-user %d Seq %d (returned %d): want a Seq of its own above %d", u.ID, stored.Seq, u.Seq, before)
			}
			seqs[stored.Seq] = true
		}
		changed, err := e.s.SubUsersChanged(e.ctx, before, 100)
		e.must(err)
		seen := map[int64]int{}
		for _, u := range changed {
			seen[u.ID]++
			if u.Status != subgate.StatusDisabled {
				t.Fatalf("change feed shows sub-user %d %s, want disabled", u.ID, u.Status)
			}
		}
		for _, u := range us {
			if seen[u.ID] != 1 {
				t.Fatalf("change feed returned sub-user %d %d times, want once", u.ID, seen[u.ID])
			}
		}
		CheckInvariant(t, e.s, r.ID)
	}},
	// A ref that names another reseller's sub-user, an unknown one or a
	// deleted one is ENOTFOUND, and none of the others changes.
	{"AllOrNothing", func(t *testing.T, e *env) {
		r := e.reseller(map[subgate.Product]int64{res: 1000})
		other := e.reseller(map[subgate.Product]int64{res: 1000})
		us := e.subUsers(r.ID, 3)
		foreign := e.subUser(other.ID, nil)
		gone := e.subUser(r.ID, nil)
		e.must(e.s.DeleteSubUser(e.ctx, 0, gone.ID, time.Now()))
		seq, err := e.s.SubUsersSeq(e.ctx)
		e.must(err)
		for _, bad := range []string{fmt.Sprint(foreign.ID), foreign.Hash, "999999999", subgate.NewHash(), fmt.Sprint(gone.ID)} {
			b := subgate.SubUserBulkUpdate{Refs: []string{us[0].Hash, bad, fmt.Sprint(us[2].ID)},
				Update: subgate.SubUserUpdate{Status: ptr(subgate.StatusDisabled)}}
			_, err := e.s.UpdateSubUsers(e.ctx, subgate.Scope(r.ID), b, func(*subgate.SubUser) error { return nil }, time.Now())
			wantCode(t, err, subgate.ENOTFOUND)
		}
		// A refusal of the check leaves everything unchanged too.
		b := subgate.SubUserBulkUpdate{Refs: []string{us[0].Hash, us[1].Hash}, Update: subgate.SubUserUpdate{Note: ptr("x")}}
		_, err = e.s.UpdateSubUsers(e.ctx, subgate.Scope(r.ID), b, func(u *subgate.SubUser) error {
			if u.ID == us[1].ID {
				return subgate.Invalidf("status", "refused")
			}
			return nil
		}, time.Now())
		wantCode(t, err, subgate.EINVALID)
		for _, u := range append(us, foreign) {
			got := e.get(u.ID)
			if got.Status != subgate.StatusActive || got.Note != "" || got.Seq > seq {
				t.Fatalf("sub-user %d changed by a refused bulk update: status %s note %q seq %d (was at most %d)",
					u.ID, got.Status, got.Note, got.Seq, seq)
			}
		}
		changed, err := e.s.SubUsersChanged(e.ctx, seq, 10)
		e.must(err)
		if len(changed) != 0 {
			t.Fatalf("refused bulk updates left %d changes in the feed", len(changed))
		}
		// The admin's scope reaches every reseller's sub-users.
		b = subgate.SubUserBulkUpdate{Refs: []string{us[0].Hash, foreign.Hash}, Update: subgate.SubUserUpdate{Note: ptr("admin")}}
		got, err := e.s.UpdateSubUsers(e.ctx, 0, b, func(*subgate.SubUser) error { return nil }, time.Now())
		e.must(err)
		if len(got) != 2 || e.get(foreign.ID).Note != "admin" {
			t.Fatalf("admin bulk update: %d sub-users, foreign note %q", len(got), e.get(foreign.ID).Note)
		}
	}},
	// No refs (the domain refuses that) changes nothing and fails nothing.
	{"NoRefs", func(t *testing.T, e *env) {
		b := subgate.SubUserBulkUpdate{Update: subgate.SubUserUpdate{Note: ptr("x")}}
		got, err := e.s.UpdateSubUsers(e.ctx, 0, b, func(*subgate.SubUser) error { return nil }, time.Now())
		if err != nil || len(got) != 0 {
			t.Fatalf("no refs: %d sub-users, %v", len(got), err)
		}
	}},
	// The check sees each sub-user's current status.
	{"CheckSeesLockedSubUsers", func(t *testing.T, e *env) {
		r := e.reseller(map[subgate.Product]int64{res: 1000})
		us := e.subUsers(r.ID, 3)
		_, err := e.s.UpdateSubUser(e.ctx, 0, us[1].ID, subgate.SubUserUpdate{Status: ptr(subgate.StatusBlocked)}, time.Now())
		e.must(err)
		seen := map[int64]subgate.Status{}
		b := subgate.SubUserBulkUpdate{Refs: []string{us[0].Hash, us[1].Hash, us[2].Hash}, Update: subgate.SubUserUpdate{Name: ptr("n")}}
		_, err = e.s.UpdateSubUsers(e.ctx, subgate.Scope(r.ID), b, func(u *subgate.SubUser) error {
			if u.ResellerID != r.ID || u.Hash == "" {
				t.Errorf("check got sub-user %d of reseller %d hash %q", u.ID, u.ResellerID, u.Hash)
			}
			seen[u.ID] = u.Status
			return nil
		}, time.Now())
		e.must(err)
		if seen[us[0].ID] != subgate.StatusActive || seen[us[1].ID] != subgate.StatusBlocked || len(seen) != 3 {
			t.Fatalf("check saw %v", seen)
		}
	}},
	// The service refuses a reseller's status change of a blocked sub-user
	// in a bulk update as in a single one, and changes none of the others.
	{"ServiceStatusRules", func(t *testing.T, e *env) {
		r := e.reseller(map[subgate.Product]int64{res: 1000})
		us := e.subUsers(r.ID, 2)
		p := subgate.Principal{ResellerID: r.ID}
		_, err := e.svc.UpdateSubUser(e.ctx, admin, us[1].Hash, subgate.SubUserUpdate{Status: ptr(subgate.StatusBlocked)})
		e.must(err)
		b := subgate.SubUserBulkUpdate{Refs: []string{us[0].Hash, us[1].Hash}, Update: subgate.SubUserUpdate{Status: ptr(subgate.StatusDisabled)}}
		_, err = e.svc.UpdateSubUsers(e.ctx, p, b)
		wantCode(t, err, subgate.EINVALID)
		if got := e.get(us[0].ID).Status; got != subgate.StatusActive {
			t.Fatalf("sub-user beside a blocked one became %s", got)
		}
		got, err := e.svc.UpdateSubUsers(e.ctx, admin, b)
		e.must(err)
		if len(got) != 2 || got[1].Status != subgate.StatusDisabled {
			t.Fatalf("admin bulk update: %+v", got)
		}
	}},
	// Bulk updates of overlapping sets, named in opposite orders, racing
	// single updates of the same sub-users, neither deadlock nor slip past
	// a reader of the change feed: the reader ends with every sub-user's
	// stored note.
	{"RacingBulksMissNothing", func(t *testing.T, e *env) {
		r := e.reseller(map[subgate.Product]int64{res: 1000})
		us := e.subUsers(r.ID, 12)
		var refs []string
		for _, u := range us {
			refs = append(refs, fmt.Sprint(u.ID))
		}
		ctx, cancel := context.WithTimeout(e.ctx, 30*time.Second)
		defer cancel()
		seen := map[int64]string{}
		var after int64
		poll := func() {
			changes, err := e.s.SubUsersChanged(ctx, after, 7)
			e.must(err)
			for _, c := range changes {
				after, seen[c.ID] = c.Seq, c.Note
			}
		}
		var wg sync.WaitGroup
		for w := range 4 {
			wg.Go(func() {
				set := slices.Clone(refs[w*2 : w*2+6]) // overlaps its neighbours
				if w%2 == 1 {
					slices.Reverse(set)
				}
				for i := range 8 {
					note := fmt.Sprintf("bulk%d-%d", w, i)
					b := subgate.SubUserBulkUpdate{Refs: set, Update: subgate.SubUserUpdate{Note: &note}}
					if _, err := e.s.UpdateSubUsers(ctx, 0, b, func(*subgate.SubUser) error { return nil }, time.Now()); err != nil {
						t.Error(err)
						return
					}
					note = fmt.Sprintf("single%d-%d", w, i)
					if _, err := e.s.UpdateSubUser(ctx, 0, us[(w*3+i)%len(us)].ID, subgate.SubUserUpdate{Note: &note}, time.Now()); err != nil {
						t.Error(err)
						return
					}
				}
			})
		}
		pollWhileWriting(t, ctx, &wg, poll, func() int64 { return after }, 200)
		for _, u := range us {
			if want := e.get(u.ID).Note; seen[u.ID] != want {
				t.Fatalf("reader's view of sub-user %d is %q, stored %q: a change was missed", u.ID, seen[u.ID], want)
			}
		}
	}},
}

// subUsers creates n active sub-users with some traffic and a monthly limit.
func (e *env) subUsers(resellerID int64, n int) []*subgate.SubUser {
	e.t.Helper()
	out := make([]*subgate.SubUser, n)
	for i := range out {
		out[i] = e.subUser(resellerID, map[subgate.Product]int64{res: 10})
		_, err := e.s.UpdateSubUser(e.ctx, 0, out[i].ID, subgate.SubUserUpdate{Limits: &subgate.Limits{Monthly: 2000}}, time.Now())
		e.must(err)
	}
	return out
}
