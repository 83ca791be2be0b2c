package storetest

import (
	"bytes"
	"sync"
	"testing"

	"github.com/subgate/subgate"
)

// storedRoutesTests check the stored routing configuration: versions grow
// with every change, a drop included, and the configuration reads back.
var storedRoutesTests = []test{
	{"StoreReadDrop", func(t *testing.T, e *env) {
		st := e.s.(subgate.RoutesStore)
		got, err := st.StoredRoutes(e.ctx)
		e.must(err)
		if got.Version != 0 || got.Config != nil {
			t.Fatalf("fresh store holds %+v", got)
		}
		if v, err := st.RoutesVersion(e.ctx); err != nil || v != 0 {
			t.Fatalf("fresh version = %d, %v", v, err)
		}
		one := []byte(`{"routes":{"res":{"kind":"direct"}}}`)
		set, err := st.SetStoredRoutes(e.ctx, one)
		e.must(err)
		if set.Version != 1 {
			t.Fatalf("first version = %d, want 1", set.Version)
		}
		got, err = st.StoredRoutes(e.ctx)
		e.must(err)
		if got.Version != 1 || !bytes.Equal(got.Config, one) {
			t.Fatalf("read back %d %s", got.Version, got.Config)
		}
		dropped, err := st.SetStoredRoutes(e.ctx, nil)
		e.must(err)
		got, err = st.StoredRoutes(e.ctx)
		e.must(err)
		if dropped.Version != 2 || got.Version != 2 || got.Config != nil {
			t.Fatalf("after drop: set %+v, read %d %s", dropped, got.Version, got.Config)
		}
		if v, _ := st.RoutesVersion(e.ctx); v != 2 {
			t.Fatalf("version after drop = %d, want 2", v)
		}
	}},
	{"ConcurrentWritersGetDistinctVersions", func(t *testing.T, e *env) {
		st := e.s.(subgate.RoutesStore)
		const writers = 8
		versions := make([]int64, writers)
		var wg sync.WaitGroup
		for i := range writers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				got, err := st.SetStoredRoutes(e.ctx, []byte(`{"routes":{}}`))
				if err != nil {
					t.Error(err)
					return
				}
				versions[i] = got.Version
			}()
		}
		wg.Wait()
		seen := map[int64]bool{}
		for _, v := range versions {
			if v < 1 || v > writers || seen[v] {
				t.Fatalf("versions %v: want each of 1..%d once", versions, writers)
			}
			seen[v] = true
		}
	}},
	{"ServiceLetsOnlyTheAdmin", func(t *testing.T, e *env) {
		_, err := e.svc.StoreRoutes(e.ctx, subgate.Principal{ResellerID: 1}, []byte(`{}`))
		wantCode(t, err, subgate.EFORBIDDEN)
		_, err = e.svc.DropStoredRoutes(e.ctx, subgate.Principal{ResellerID: 1})
		wantCode(t, err, subgate.EFORBIDDEN)
		if v, _ := e.s.(subgate.RoutesStore).RoutesVersion(e.ctx); v != 0 {
			t.Fatalf("refused calls changed the version to %d", v)
		}
		got, err := e.svc.StoreRoutes(e.ctx, admin, []byte(`{"routes":{}}`))
		if err != nil || got.Version != 1 {
			t.Fatalf("admin store = %+v, %v", got, err)
		}
	}},
}
