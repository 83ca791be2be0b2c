package postgres_test

import (
	"context"
	"testing"
	"time"

	"github.com/subgate/subgate"
	"github.com/subgate/subgate/storetest"
)

// Changes numbered in one order commit in another when their commits are
// slow (a trigger sleeps after the Seq is drawn); a reader going on after the
// highest Seq it got still gets every one of them.
func TestChangesNotMissedWhenCommitsOvertake(t *testing.T) {
	db := newTestDB(t)
	st := db.open(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for _, q := range []string{
		`CREATE FUNCTION ` + db.schema + `.slow_commit() RETURNS trigger LANGUAGE plpgsql AS
			$$ BEGIN PERFORM pg_sleep(random() * 0.02); RETURN NEW; END $$`,
		`CREATE TRIGGER slow_commit AFTER UPDATE OF seq ON ` + db.schema + `.subusers
			FOR EACH ROW EXECUTE FUNCTION ` + db.schema + `.slow_commit()`,
	} {
		if _, err := db.admin.Exec(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	r := &subgate.Reseller{Name: "acme"}
	if err := st.CreateReseller(ctx, r); err != nil {
		t.Fatal(err)
	}
	storetest.CheckNoCreateMissed(t, st, r.ID, 6, 15)
}
