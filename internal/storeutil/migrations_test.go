package storeutil_test

import (
	"strings"
	"testing"
	"testing/fstest"

	"github.com/subgate/subgate/internal/storeutil"
)

func TestMigrationsInVersionOrder(t *testing.T) {
	fsys := fstest.MapFS{
		"m/100_routes.sql": {Data: []byte("CREATE TABLE r (id int);")},
		"m/002_more.sql":   {Data: []byte("ALTER TABLE t ADD c int;")},
		"m/001_init.sql":   {Data: []byte("CREATE TABLE t (id int);")},
	}
	ms, err := storeutil.Migrations(fsys, "m")
	if err != nil {
		t.Fatal(err)
	}
	want := []storeutil.Migration{
		{Version: 1, File: "001_init.sql", Name: "init", SQL: "CREATE TABLE t (id int);"},
		{Version: 2, File: "002_more.sql", Name: "more", SQL: "ALTER TABLE t ADD c int;"},
		{Version: 100, File: "100_routes.sql", Name: "routes", SQL: "CREATE TABLE r (id int);"},
	}
	if len(ms) != len(want) {
		t.Fatalf("got %d migrations, want %d", len(ms), len(want))
	}
	for i := range want {
		if ms[i] != want[i] {
			t.Errorf("migration %d = %+v, want %+v", i, ms[i], want[i])
		}
	}
}

func TestMigrationsRefuseBadNames(t *testing.T) {
	for name, fsys := range map[string]fstest.MapFS{
		"no number":     {"m/init.sql": {}},
		"not a number":  {"m/abc_init.sql": {}},
		"not sql":       {"m/001_init.txt": {}},
		"shared number": {"m/001_init.sql": {}, "m/1_other.sql": {}},
	} {
		_, err := storeutil.Migrations(fsys, "m")
		if err == nil || !strings.Contains(err.Error(), "migration") {
			t.Errorf("%s: err %v, want a migration naming error", name, err)
		}
	}
}

func TestCheckAppliedNamesTheFirstMissing(t *testing.T) {
	ms := []storeutil.Migration{{Version: 1, Name: "init"}, {Version: 2, Name: "more"}}
	if err := storeutil.CheckApplied(ms, []int{1, 2, 100}); err != nil {
		t.Fatalf("all applied: %v", err)
	}
	err := storeutil.CheckApplied(ms, []int{1})
	if err == nil || !strings.Contains(err.Error(), "002_more") {
		t.Fatalf("one missing: %v, want it named", err)
	}
}
