package storetest

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/subgate/subgate"
)

// CheckNoCreateMissed has writers goroutines create creates sub-users each
// of reseller resellerID while a reader follows SubUsersChanged in small
// pages, going on after the highest Seq it got, as gateway nodes do. Creates
// commit in any order; t fails if the reader misses one of them.
func CheckNoCreateMissed(t *testing.T, s subgate.Store, resellerID int64, writers, creates int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	created := make(chan int64, writers*creates)
	var wg sync.WaitGroup
	for range writers {
		wg.Go(func() {
			for range creates {
				u := &subgate.SubUser{ResellerID: resellerID, Hash: subgate.NewHash(), Username: name("user"),
					Password: subgate.NewProxyPassword(), Status: subgate.StatusActive}
				if err := s.CreateSubUser(ctx, u, nil, ""); err != nil {
					t.Error(err)
					return
				}
				created <- u.ID
			}
		})
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	seen := map[int64]bool{}
	var after int64
	poll := func() int {
		changes, err := s.SubUsersChanged(ctx, after, 3)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range changes {
			after = max(after, c.Seq)
			seen[c.ID] = true
		}
		return len(changes)
	}
	for writing := true; writing; {
		select {
		case <-done:
			writing = false
		case <-ctx.Done():
			t.Fatal("writers did not finish in time")
		default:
			poll()
		}
	}
	for poll() > 0 { // what is left, a page at a time
	}
	close(created)
	missed := 0
	for id := range created {
		if !seen[id] {
			missed++
		}
	}
	if missed > 0 {
		t.Fatalf("the reader missed %d of %d created sub-users", missed, writers*creates)
	}
}
